/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the GPU evidence bundle as the relying-party verifier
 * reads it (lib/cvm): dga_cvm_bundle_read in both explicit forms (RAW: the
 * input itself; GPUINFO: the "attestation" string of dstack's GpuInfo
 * response), then the whole verification with a gpu-attestation event built
 * here that commits to exactly those bytes, so that the bundle's own
 * statements (bundle_version, verdict, nonce, device lists, claims' nonces,
 * trust roots, gpu_policy_sha256, NVSwitch inventory, verified_at, age) are
 * parsed and checked. fuzz_cvm_input cannot get there: a fuzzed input never
 * holds the SHA-256 of itself. The event's device count, trust root, policy
 * hash and NVSwitch count are taken from the bundle when it states them, so a
 * genuine bundle passes every binding check and reaches the re-appraisal
 * callback (a stub here). Invariant: a bundle whose check passed says
 * bundle_version 1 and verdict.pass true. Seeds (fuzz/run-smoke.sh): a gate
 * bundle of the fake NVML (tests/fixtures/gate) and it as a GpuInfo response.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dga/cvm.h"
#include "dga/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char expect_json[] =
    "{\"gpu\":{\"required\":true,\"trust_roots\":[\"nvidia\",\"test\"],\"allow_devtools\":true,"
    "\"max_bundle_age\":315360000}}";

#define EMPTY_POLICY "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

static dga_err reappraise_stub(void *ctx, const uint8_t *bundle, size_t len, const json_t *doc,
                               const struct dga_cvm_expect *x,
                               const struct dga_cvm_gpu_payload *payload, time_t at,
                               struct dga_cvm_reappraisal *out, char *detail)
{
    (void)ctx, (void)bundle, (void)len, (void)x, (void)payload, (void)at, (void)out, (void)detail;
    if (!json_is_object(doc)) {
        abort(); /* called only with the parsed bundle */
    }
    return DGA_E_OK;
}

/* A string member of the bundle when it is 64 lowercase hex digits, else fallback. */
static const char *hex64_or(const json_t *v, const char *fallback)
{
    const char *s = json_string_value(v);
    uint8_t raw[32];
    if (s == NULL || strlen(s) != 64 || dga_hex_decode_exact(s, raw, sizeof raw) != DGA_E_OK) {
        return fallback;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'F') {
            return fallback;
        }
    }
    return s;
}

static json_t *runtime_event(const char *name, const char *payload_hex)
{
    return json_pack("{s:i,s:I,s:s,s:s,s:s}", "imr", 3, "event_type", (json_int_t)DGA_EVENT_TYPE,
                     "digest", "", "event", name, "event_payload", payload_hex);
}

static char *hex_of(const char *s)
{
    size_t n = strlen(s);
    char *h = malloc(2 * n + 1);
    if (h != NULL) {
        dga_hex_encode((const uint8_t *)s, n, h);
    }
    return h;
}

/* The gpu-attestation payload committing to the bundle, shaped by what the bundle states. */
static char *payload_for(const uint8_t *bundle, size_t len, char policy_hash[65])
{
    uint8_t sha[32];
    char sha_hex[65];
    if (EVP_Digest(bundle, len, sha, NULL, EVP_sha256(), NULL) != 1) {
        return NULL;
    }
    dga_hex_encode(sha, sizeof sha, sha_hex);
    json_t *b = json_loadb((const char *)bundle, len, JSON_REJECT_DUPLICATES, NULL);
    size_t devices = json_array_size(json_object_get(b, "evidence"));
    size_t nvswitches = json_array_size(
        json_object_get(json_object_get(json_object_get(b, "gate"), "inventory"), "nvswitches"));
    const char *root =
        json_string_value(json_object_get(json_object_get(b, "trust_roots"), "device"));
    root = root != NULL && strcmp(root, "nvidia") == 0 ? "nvidia" : "test";
    snprintf(policy_hash, 65, "%s",
             hex64_or(json_object_get(b, "gpu_policy_sha256"), EMPTY_POLICY));
    json_decref(b);
    devices = devices > 1024 ? 1024 : devices; /* the payload parser's range */
    nvswitches = nvswitches > 1024 ? 1024 : nvswitches;
    char *p = malloc(512);
    if (p == NULL ||
        snprintf(p, 512,
                 "{\"version\":2,\"provider\":\"nvidia\",\"devices\":%zu,\"cc_mode\":\"%s\","
                 "\"devtools\":false,\"evidence_sha256\":\"%s\",\"nvswitches\":%zu,"
                 "\"gpu_policy_sha256\":\"%s\",\"trust_roots\":\"%s\"}",
                 devices, devices > 0 ? "on" : "none", sha_hex, nvswitches, policy_hash,
                 root) >= 512) {
        free(p);
        return NULL;
    }
    return p;
}

/* dstack's GetQuote response whose log holds the gate's two events and dstack's boot events. */
static char *response_for(const char *payload, const char *policy_hash)
{
    char *gpa = hex_of(payload);
    char *kp = hex_of("{\"name\":\"kms\",\"id\":\"\"}");
    json_t *log = json_array();
    json_array_append_new(log, runtime_event("gpu-policy-hash", policy_hash));
    json_array_append_new(log, runtime_event("gpu-attestation", gpa != NULL ? gpa : ""));
    json_array_append_new(log, runtime_event("system-preparing", ""));
    json_array_append_new(log, runtime_event("app-id", "7e570000000000000000000000000000000000a1"));
    json_array_append_new(log, runtime_event("compose-hash", EMPTY_POLICY));
    json_array_append_new(log, runtime_event("instance-id", ""));
    json_array_append_new(log, runtime_event("boot-mr-done", ""));
    json_array_append_new(log, runtime_event("key-provider", kp != NULL ? kp : ""));
    json_array_append_new(log, runtime_event("system-ready", ""));
    char *log_text = json_dumps(log, JSON_COMPACT);
    json_t *resp = json_pack("{s:s,s:s?}", "quote", "00", "event_log", log_text);
    char *text = resp != NULL ? json_dumps(resp, JSON_COMPACT) : NULL;
    json_decref(resp);
    free(log_text);
    json_decref(log);
    free(kp);
    free(gpa);
    return text;
}

/* Whether the bundle's own verdict is a pass, as the gpu-bundle check must have required. */
static bool says_pass(const uint8_t *bundle, size_t len)
{
    json_t *b = json_loadb((const char *)bundle, len, JSON_REJECT_DUPLICATES, NULL);
    const json_t *v = json_object_get(b, "bundle_version");
    bool ok = json_is_integer(v) && json_integer_value(v) == 1 &&
              json_is_true(json_object_get(json_object_get(b, "verdict"), "pass"));
    json_decref(b);
    return ok;
}

static void verify_bundle(const uint8_t *bundle, size_t len, const struct dga_cvm_expect *x)
{
    char policy_hash[65];
    char *payload = payload_for(bundle, len, policy_hash);
    char *text = payload != NULL ? response_for(payload, policy_hash) : NULL;
    struct dga_cvm_input in;
    if (text == NULL || dga_cvm_input_parse(text, strlen(text), &in, NULL) != DGA_E_OK) {
        abort(); /* built here: always well formed */
    }
    struct dga_td_report td;
    memset(&td, 0, sizeof td);
    uint8_t rtmr[4][DGA_EVENT_DIGEST_LEN];
    dga_eventlog_replay(in.log, rtmr);
    memcpy(td.rt_mr, rtmr, sizeof rtmr);
    struct dga_cvm_quote_facts q = {.td = &td, .verified = true};
    struct dga_cvm_options opt = {.at = 1767225600, .reappraise = reappraise_stub};
    struct dga_cvm_result r;
    memset(&r, 0, sizeof r);
    if (dga_cvm_verify(&q, &in, bundle, len, x, &opt, &r) == DGA_E_OK &&
        r.checks[DGA_CVM_CHECK_GPU_BUNDLE].status == DGA_CVM_PASS && !says_pass(bundle, len)) {
        abort();
    }
    dga_cvm_result_clear(&r);
    dga_cvm_input_clear(&in);
    free(text);
    free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dga_cvm_expect x;
    static bool ready;
    if (!ready) {
        if (dga_cvm_expect_parse(expect_json, sizeof expect_json - 1, &x, NULL) != DGA_E_OK) {
            abort();
        }
        ready = true;
    }
    static const enum dga_cvm_bundle_form forms[] = {DGA_CVM_BUNDLE_RAW, DGA_CVM_BUNDLE_GPUINFO};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        uint8_t *b = NULL;
        size_t n = 0;
        if (dga_cvm_bundle_read(data, size, forms[i], &b, &n, NULL) == DGA_E_OK) {
            verify_bundle(b, n, &x);
            free(b);
        }
    }
    return 0;
}
