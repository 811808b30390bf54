/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KMS webhook without HTTP (lib/kms, docs/kms.md): auth-simple's
 * configuration keys, defaults and types; the BootInfo request; every check
 * of the decision in auth-simple's order with auth-simple's reason; the GPU
 * rules on the forwarded gpu-attestation payload; and the server's answer,
 * with the configuration rewritten between requests (within one clock tick,
 * so the times alone cannot tell), broken, removed, and rewritten while
 * several threads ask.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dga/cleanup.h"
#include "dga/kms.h"
#include "testutil.h"

#define OS "0x1111111111111111111111111111111111111111111111111111111111111111"
#define APP "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define COMPOSE "0xcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define DEVICE "0xdddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define MR "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define POLICY "5555555555555555555555555555555555555555555555555555555555555555"
#define EVIDENCE "9999999999999999999999999999999999999999999999999999999999999999"

/* dstack's own gate's payload (no trust_roots, no gpu_policy_sha256), one GPU. */
#define PAYLOAD_DSTACK                                                                             \
    "{\"version\":2,\"provider\":\"nvidia\",\"devices\":1,\"cc_mode\":\"on\",\"devtools\":false,"  \
    "\"evidence_sha256\":\"" EVIDENCE "\"}"

/* ---- helpers ---------------------------------------------------------------------------- */

static void config_ok(const char *text, struct dga_kms_config *c)
{
    char msg[256] = "";
    struct dga_diag d = {0};
    dga_err e = dga_kms_config_parse(text, strlen(text), c, &d, msg, sizeof msg);
    if (e != DGA_E_OK) {
        fail_msg("config refused: %s: %s", d.field, msg);
    }
}

/* The config is refused with field and a message that contains want. */
static void config_bad(const char *text, const char *field, const char *want)
{
    struct dga_kms_config c = {.n_apps = 77};
    char msg[256] = "";
    struct dga_diag d = {0};
    assert_int_equal(dga_kms_config_parse(text, strlen(text), &c, &d, msg, sizeof msg),
                     DGA_E_KMS_CONFIG);
    assert_int_equal(c.n_apps, 77); /* untouched */
    assert_string_equal(d.field, field);
    if (strstr(msg, want) == NULL) {
        fail_msg("message '%s' lacks '%s'", msg, want);
    }
}

/* A BootInfo that passes the base config, with extra members (a JSON object's inside) merged. */
static char *request(const char *extra)
{
    char *s = NULL;
    assert_true(asprintf(&s,
                         "{\"teeVariant\":\"dstack-tdx\",\"mrAggregated\":\"%s\","
                         "\"osImageHash\":\"%s\",\"mrSystem\":\"00\",\"appId\":\"%s\","
                         "\"composeHash\":\"%s\",\"instanceId\":\"0102\",\"deviceId\":\"%s\","
                         "\"keyProviderInfo\":\"7b7d\",\"tcbStatus\":\"UpToDate\","
                         "\"advisoryIds\":[]%s%s}",
                         MR + 2, OS + 2, APP + 2, COMPOSE + 2, DEVICE + 2,
                         extra[0] != '\0' ? "," : "", extra) > 0);
    return s;
}

/*
 * Replaces the first occurrence of "key":"..." or "key":[...] in req's JSON
 * with "key":value: a request differing in one member.
 */
static char *with(const char *req, const char *key, const char *value)
{
    _cleanup_(json_decrefp) json_t *o = json_loads(req, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(o);
    json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    assert_int_equal(json_object_set_new(o, key, v), 0);
    char *s = json_dumps(o, JSON_COMPACT);
    assert_non_null(s);
    return s;
}

static void decide(const char *config, enum dga_kms_endpoint ep, const char *req,
                   struct dga_kms_decision *ret)
{
    _cleanup_(dga_kms_config_clearp) struct dga_kms_config c = {0};
    config_ok(config, &c);
    _cleanup_(dga_kms_boot_info_clearp) struct dga_kms_boot_info b = {0};
    char msg[256] = "";
    struct dga_diag d = {0};
    if (dga_kms_boot_info_parse((const uint8_t *)req, strlen(req), &b, &d, msg, sizeof msg) !=
        DGA_E_OK) {
        fail_msg("request refused: %s", msg);
    }
    dga_kms_decide(&c, ep, &b, ret);
}

static void expect_allowed(const char *config, enum dga_kms_endpoint ep, const char *req)
{
    struct dga_kms_decision d;
    decide(config, ep, req, &d);
    if (!d.allowed) {
        fail_msg("denied (%s): %s", dga_kms_check_name(d.check), d.reason);
    }
    assert_int_equal(d.check, DGA_KMS_CHECK_NONE);
    assert_string_equal(d.reason, "");
}

static void expect_denied(const char *config, enum dga_kms_endpoint ep, const char *req,
                          enum dga_kms_check check, const char *reason)
{
    struct dga_kms_decision d;
    decide(config, ep, req, &d);
    assert_false(d.allowed);
    assert_string_equal(dga_kms_check_name(d.check), dga_kms_check_name(check));
    assert_string_equal(d.reason, reason);
}

#define BASE_APP                                                                                   \
    "\"osImages\":[\"" OS "\"],\"apps\":{\"" APP "\":{\"composeHashes\":[\"" COMPOSE "\"]"
/* The base config: the request's OS image and app allowed; app_extra inside the app's object. */
static char *config_with(const char *top_extra, const char *app_extra)
{
    char *s = NULL;
    assert_true(asprintf(&s, "{%s%s%s%s}}}", top_extra, top_extra[0] != '\0' ? "," : "", BASE_APP,
                         app_extra) > 0);
    return s;
}

/* ---- the configuration ---------------------------------------------------------------------- */

static void test_config_defaults(void **state)
{
    (void)state;
    _cleanup_(dga_kms_config_clearp) struct dga_kms_config c = {0};
    config_ok("{}", &c);
    assert_string_equal(c.gateway_app_id, "");
    assert_string_equal(c.kms_contract_addr, "0x0000000000000000000000000000000000000000");
    assert_string_equal(c.app_implementation, "0x0000000000000000000000000000000000000000");
    assert_true(json_is_integer(c.chain_id));
    assert_int_equal(json_integer_value(c.chain_id), 0);
    assert_int_equal(c.tcb_statuses.n, 1);
    assert_string_equal(c.tcb_statuses.v[0], "UpToDate");
    assert_int_equal(c.os_images.n, 0);
    assert_int_equal(c.advisory_ids.n, 0);
    assert_int_equal(c.mr_aggregated.n, 0);
    assert_false(c.kms_devices.allow_any);
    assert_false(c.kms_gpu.present);
    assert_int_equal(c.n_apps, 0);
    assert_string_equal(c.ignored, "");
}

static void test_config_values(void **state)
{
    (void)state;
    _cleanup_(dga_kms_config_clearp) struct dga_kms_config c = {0};
    config_ok("{\"gatewayAppId\":\"0xGW\",\"chainId\":8453,\"osImages\":[\"0xAB\",\"Cd\",\"0Xef\"],"
              "\"allowedTcbStatuses\":[\"UpToDate\",\"OutOfDate\"],"
              "\"allowedAdvisoryIds\":[\"INTEL-SA-00837\"],"
              "\"kms\":{\"mrAggregated\":[\"0xFF\"],\"allowAnyDevice\":true},"
              "\"apps\":{\"0xAA\":{\"composeHashes\":[\"0xC1\"],\"devices\":[\"D1\"],"
              "\"gpu\":{\"required\":true,\"gpus\":{\"exact\":8},\"nvswitches\":{\"min\":4},"
              "\"gpuPolicyHashes\":[\"0x" POLICY "\"],\"allowDevtools\":true,"
              "\"trustRoots\":[\"test\"]}}}}",
              &c);
    assert_string_equal(c.gateway_app_id, "0xGW"); /* echoed as given */
    assert_int_equal(json_integer_value(c.chain_id), 8453);
    assert_int_equal(c.os_images.n, 3);
    assert_string_equal(c.os_images.v[0], "ab");
    assert_string_equal(c.os_images.v[1], "cd");
    assert_string_equal(c.os_images.v[2], "ef");
    assert_int_equal(c.tcb_statuses.n, 2);
    assert_string_equal(c.advisory_ids.v[0], "INTEL-SA-00837"); /* not hex: as given */
    assert_string_equal(c.mr_aggregated.v[0], "ff");
    assert_true(c.kms_devices.allow_any);
    assert_int_equal(c.n_apps, 1);
    assert_string_equal(c.apps[0].id, "aa");
    assert_string_equal(c.apps[0].compose_hashes.v[0], "c1");
    assert_string_equal(c.apps[0].devices.devices.v[0], "d1");
    const struct dga_kms_gpu_rule *g = &c.apps[0].gpu;
    assert_true(g->present && g->required && g->allow_devtools);
    assert_int_equal(g->gpus.kind, DGA_CVM_COUNT_EXACT);
    assert_int_equal(g->gpus.n, 8);
    assert_int_equal(g->nvswitches.kind, DGA_CVM_COUNT_MIN);
    assert_int_equal(g->nvswitches.n, 4);
    assert_int_equal(g->n_policy_hashes, 1);
    assert_int_equal(g->policy_hashes[0][31], 0x55);
    assert_false(g->trust_nvidia);
    assert_true(g->trust_test);
}

static void test_config_unknown_keys_ignored(void **state)
{
    (void)state;
    _cleanup_(dga_kms_config_clearp) struct dga_kms_config c = {0};
    config_ok("{\"comment\":1,\"kms\":{\"note\":\"x\"},\"apps\":{\"aa\":{\"name\":\"demo\"}}}", &c);
    assert_string_equal(c.ignored, "kms.note, apps[\"aa\"].name, comment");
}

static void test_config_refused(void **state)
{
    (void)state;
    config_bad("{\"osImages\":[}", "config", "JSON: line 1 column 14");
    config_bad("[]", "config", "must be a JSON object");
    config_bad("{\"osImages\":[],\"osImages\":[]}", "config", "duplicate");
    config_bad("{\"osImages\":\"0x11\"}", "osImages", "osImages must be an array of strings");
    config_bad("{\"osImages\":[17]}", "osImages", "osImages[0] must be a string");
    config_bad("{\"osImages\":null}", "osImages", "must be an array");
    config_bad("{\"gatewayAppId\":7}", "gatewayAppId", "gatewayAppId must be a string");
    config_bad("{\"chainId\":\"1\"}", "chainId", "chainId must be a number");
    config_bad("{\"allowedTcbStatuses\":[null]}", "allowedTcbStatuses", "[0] must be a string");
    config_bad("{\"kms\":[]}", "kms", "kms must be an object");
    config_bad("{\"kms\":{\"allowAnyDevice\":\"true\"}}", "kms.allowAnyDevice",
               "kms.allowAnyDevice must be true or false");
    config_bad("{\"apps\":{\"aa\":{\"devices\":\"x\"}}}", "apps.devices",
               "apps[\"aa\"].devices must be an array");
    config_bad("{\"apps\":{\"0xAA\":{},\"aa\":{}}}", "apps",
               "apps[\"aa\"] names the same app as another key");
    config_bad("{\"apps\":{\"aa\":3}}", "apps", "apps[\"aa\"]. must be an object");
}

static void test_config_gpu_refused(void **state)
{
    (void)state;
    config_bad("{\"kms\":{\"gpu\":{\"requird\":true}}}", "gpu",
               "kms.gpu.requird is not a key of a gpu section");
    config_bad("{\"kms\":{\"gpu\":{\"required\":1}}}", "gpu.required", "must be true or false");
    config_bad("{\"apps\":{\"aa\":{\"gpu\":{\"required\":true,\"gpus\":{\"exact\":1,\"min\":1}}}}}",
               "gpu.gpus", "apps[\"aa\"].gpu.gpus must be {\"exact\": N} or {\"min\": N}");
    config_bad("{\"kms\":{\"gpu\":{\"required\":true,\"gpus\":{\"exact\":1025}}}}", "gpu.gpus",
               "N 0..1024");
    config_bad("{\"kms\":{\"gpu\":{\"gpus\":{\"min\":1}}}}", "gpu.gpus",
               "kms.gpu.gpus asks for GPUs but gpu.required is not true");
    config_bad("{\"kms\":{\"gpu\":{\"gpuPolicyHashes\":[]}}}", "gpu.gpuPolicyHashes",
               "must be a non-empty array");
    config_bad("{\"kms\":{\"gpu\":{\"gpuPolicyHashes\":[\"0x1234\"]}}}", "gpu.gpuPolicyHashes",
               "gpuPolicyHashes[0] must be 32 bytes of hex");
    config_bad("{\"kms\":{\"gpu\":{\"trustRoots\":[\"intel\"]}}}", "gpu.trustRoots",
               "must be \"nvidia\" or \"test\"");
    config_bad("{\"kms\":{\"gpu\":{\"trustRoots\":[]}}}", "gpu.trustRoots", "non-empty");
    config_bad("{\"kms\":{\"gpu\":{\"mode\":\"PPCIe\"}}}", "gpu.mode",
               "kms.gpu.mode must be \"cc\", \"ppcie\" or \"any\"");
    config_bad("{\"kms\":{\"gpu\":{\"mode\":1}}}", "gpu.mode", "must be \"cc\"");
}

/* ---- the request ---------------------------------------------------------------------------- */

static void request_bad(const char *body, const char *field, const char *msg_want)
{
    struct dga_kms_boot_info b = {.tcb_status = "untouched"};
    char msg[256] = "";
    struct dga_diag d = {0};
    assert_int_equal(
        dga_kms_boot_info_parse((const uint8_t *)body, strlen(body), &b, &d, msg, sizeof msg),
        DGA_E_KMS_REQUEST);
    assert_string_equal(b.tcb_status, "untouched");
    assert_string_equal(d.field, field);
    assert_string_equal(msg, msg_want);
}

static void test_request(void **state)
{
    (void)state;
    _cleanup_(freep) char *req = request("\"futureKey\":{\"a\":1},\"gpuPolicyHash\":null");
    _cleanup_(dga_kms_boot_info_clearp) struct dga_kms_boot_info b = {0};
    assert_int_equal(dga_kms_boot_info_parse((const uint8_t *)req, strlen(req), &b, NULL, NULL, 0),
                     DGA_E_OK);
    assert_string_equal(b.app_id, APP + 2);
    assert_string_equal(b.tcb_status, "UpToDate");
    assert_int_equal(json_array_size(b.advisory_ids), 0);
    assert_int_equal(b.gpu_policy_hash_kind, DGA_KMS_FIELD_ABSENT); /* null: not forwarded */
    assert_int_equal(b.gpu_attestation_kind, DGA_KMS_FIELD_ABSENT);

    request_bad("", "body", "the body is not one JSON object without duplicate keys");
    request_bad("[1]", "body", "the body is not one JSON object without duplicate keys");
    _cleanup_(freep) char *dup = request("\"appId\":\"00\"");
    request_bad(dup, "body", "the body is not one JSON object without duplicate keys");
    request_bad("{\"mrAggregated\":\"\",\"osImageHash\":\"\",\"composeHash\":\"\","
                "\"instanceId\":\"\",\"deviceId\":\"\"}",
                "appId", "appId must be a string");
    _cleanup_(freep) char *num = with(req, "deviceId", "12");
    request_bad(num, "deviceId", "deviceId must be a string");
    _cleanup_(freep) char *tcb = with(req, "tcbStatus", "null");
    request_bad(tcb, "tcbStatus", "tcbStatus must be a string");
    _cleanup_(freep) char *adv = with(req, "advisoryIds", "[\"a\",1]");
    request_bad(adv, "advisoryIds", "advisoryIds must be an array of strings");
    _cleanup_(freep) char *mode = with(req, "attestationMode", "2");
    request_bad(mode, "attestationMode", "attestationMode must be a string");

    /* absent optional fields take auth-simple's defaults */
    _cleanup_(dga_kms_boot_info_clearp) struct dga_kms_boot_info m = {0};
    const char *minimal = "{\"mrAggregated\":\"\",\"osImageHash\":\"\",\"appId\":\"\","
                          "\"composeHash\":\"\",\"instanceId\":\"\",\"deviceId\":\"\"}";
    assert_int_equal(
        dga_kms_boot_info_parse((const uint8_t *)minimal, strlen(minimal), &m, NULL, NULL, 0),
        DGA_E_OK);
    assert_string_equal(m.tcb_status, "");
    assert_null(m.advisory_ids);
}

/* ---- auth-simple's checks -------------------------------------------------------------------- */

static void test_app_checks(void **state)
{
    (void)state;
    _cleanup_(freep) char *cfg = config_with("", "");
    _cleanup_(freep) char *req = request("");
    expect_allowed(cfg, DGA_KMS_BOOT_APP, req);

    _cleanup_(freep) char *tcb = with(req, "tcbStatus", "\"OutOfDate\"");
    expect_denied(cfg, DGA_KMS_BOOT_APP, tcb, DGA_KMS_CHECK_TCB_STATUS,
                  "TCB status is not allowed");
    _cleanup_(freep) char *tcb_absent = NULL;
    {
        _cleanup_(json_decrefp) json_t *o = json_loads(req, 0, NULL);
        json_object_del(o, "tcbStatus");
        tcb_absent = json_dumps(o, JSON_COMPACT);
    }
    expect_denied(cfg, DGA_KMS_BOOT_APP, tcb_absent, DGA_KMS_CHECK_TCB_STATUS,
                  "TCB status is not allowed");
    _cleanup_(freep) char *tcb_cfg = config_with("\"allowedTcbStatuses\":[\"OutOfDate\"]", "");
    expect_allowed(tcb_cfg, DGA_KMS_BOOT_APP, tcb);
    expect_denied(tcb_cfg, DGA_KMS_BOOT_APP, req, DGA_KMS_CHECK_TCB_STATUS,
                  "TCB status is not allowed");

    _cleanup_(freep) char *adv =
        with(req, "advisoryIds", "[\"INTEL-SA-00837\",\"INTEL-SA-00960\"]");
    expect_denied(cfg, DGA_KMS_BOOT_APP, adv, DGA_KMS_CHECK_ADVISORY, "advisory ID is not allowed");
    _cleanup_(freep) char *adv_one = config_with("\"allowedAdvisoryIds\":[\"INTEL-SA-00837\"]", "");
    expect_denied(adv_one, DGA_KMS_BOOT_APP, adv, DGA_KMS_CHECK_ADVISORY,
                  "advisory ID is not allowed");
    _cleanup_(freep) char *adv_both =
        config_with("\"allowedAdvisoryIds\":[\"INTEL-SA-00960\",\"INTEL-SA-00837\"]", "");
    expect_allowed(adv_both, DGA_KMS_BOOT_APP, adv);
    _cleanup_(freep) char *adv_case = with(req, "advisoryIds", "[\"intel-sa-00837\"]");
    expect_denied(adv_both, DGA_KMS_BOOT_APP, adv_case, DGA_KMS_CHECK_ADVISORY,
                  "advisory ID is not allowed"); /* advisories are not hex: exact */

    _cleanup_(freep) char *os = with(req, "osImageHash", "\"12\"");
    expect_denied(cfg, DGA_KMS_BOOT_APP, os, DGA_KMS_CHECK_OS_IMAGE, "OS image is not allowed");

    _cleanup_(freep) char *app = with(req, "appId", "\"ab\"");
    expect_denied(cfg, DGA_KMS_BOOT_APP, app, DGA_KMS_CHECK_APP, "app not registered");

    _cleanup_(freep) char *compose = with(req, "composeHash", "\"0xcd\"");
    expect_denied(cfg, DGA_KMS_BOOT_APP, compose, DGA_KMS_CHECK_COMPOSE_HASH,
                  "compose hash not allowed");
}

static void test_check_order(void **state)
{
    (void)state;
    _cleanup_(freep) char *cfg = config_with("", "");
    /* everything wrong: the TCB status is named, then each in turn as the earlier ones pass */
    _cleanup_(freep) char *r0 = request("");
    _cleanup_(freep) char *r1 = with(r0, "composeHash", "\"00\"");
    _cleanup_(freep) char *r2 = with(r1, "appId", "\"00\"");
    _cleanup_(freep) char *r3 = with(r2, "osImageHash", "\"00\"");
    _cleanup_(freep) char *r4 = with(r3, "advisoryIds", "[\"X\"]");
    _cleanup_(freep) char *r5 = with(r4, "tcbStatus", "\"Revoked\"");
    expect_denied(cfg, DGA_KMS_BOOT_APP, r5, DGA_KMS_CHECK_TCB_STATUS, "TCB status is not allowed");
    expect_denied(cfg, DGA_KMS_BOOT_APP, r4, DGA_KMS_CHECK_ADVISORY, "advisory ID is not allowed");
    expect_denied(cfg, DGA_KMS_BOOT_APP, r3, DGA_KMS_CHECK_OS_IMAGE, "OS image is not allowed");
    expect_denied(cfg, DGA_KMS_BOOT_APP, r2, DGA_KMS_CHECK_APP, "app not registered");
    expect_denied(cfg, DGA_KMS_BOOT_APP, r1, DGA_KMS_CHECK_COMPOSE_HASH,
                  "compose hash not allowed");
}

static void test_devices(void **state)
{
    (void)state;
    _cleanup_(freep) char *req = request("");
    _cleanup_(freep) char *other = config_with("", ",\"devices\":[\"0x01\"]");
    expect_denied(other, DGA_KMS_BOOT_APP, req, DGA_KMS_CHECK_DEVICE,
                  "app is not allowed to boot on this device");
    _cleanup_(freep) char *any = config_with("", ",\"devices\":[\"0x01\"],\"allowAnyDevice\":true");
    expect_allowed(any, DGA_KMS_BOOT_APP, req);
    _cleanup_(freep) char *listed = config_with("", ",\"devices\":[\"0x01\",\"" DEVICE "\"]");
    expect_allowed(listed, DGA_KMS_BOOT_APP, req);
    _cleanup_(freep) char *empty = config_with("", ",\"devices\":[]");
    expect_allowed(empty, DGA_KMS_BOOT_APP, req); /* an empty list allows any device */
}

static void test_hex_normalisation(void **state)
{
    (void)state;
    /* config in upper case without 0x, request with 0X and mixed case: one value */
    const char *cfg = "{\"osImages\":[\"1111111111111111111111111111111111111111111111111111111111"
                      "111111\"],\"apps\":{\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\":{"
                      "\"composeHashes\":[\"0XCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
                      "CCCCCCCCCCCC\"],\"devices\":[\"DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"
                      "DDDDDDDDDDDDDDDDDDD\"]}}}";
    _cleanup_(freep) char *r0 = request("");
    _cleanup_(freep) char *r1 = with(r0, "appId", "\"0XaAaAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
    _cleanup_(freep) char *r2 = with(r1, "composeHash", "\"0x" COMPOSE "\"");
    expect_allowed(cfg, DGA_KMS_BOOT_APP, r1);
    /* "0x0xcc..." keeps its second 0x: not the same value, as in auth-simple */
    expect_denied(cfg, DGA_KMS_BOOT_APP, r2, DGA_KMS_CHECK_COMPOSE_HASH,
                  "compose hash not allowed");
    /* a leading zero is a digit, never dropped */
    _cleanup_(freep) char *r3 = with(r0, "osImageHash", "\"0" OS "\"");
    expect_denied(cfg, DGA_KMS_BOOT_APP, r3, DGA_KMS_CHECK_OS_IMAGE, "OS image is not allowed");
}

static void test_kms_checks(void **state)
{
    (void)state;
    const char *cfg = "{\"osImages\":[\"" OS "\"],\"kms\":{\"mrAggregated\":[\"" MR "\"]}}";
    _cleanup_(freep) char *req = request("");
    expect_allowed(cfg, DGA_KMS_BOOT_KMS, req);
    /* the app endpoint reads apps, not kms */
    expect_denied(cfg, DGA_KMS_BOOT_APP, req, DGA_KMS_CHECK_APP, "app not registered");
    _cleanup_(freep) char *mr = with(req, "mrAggregated", "\"00\"");
    expect_denied(cfg, DGA_KMS_BOOT_KMS, mr, DGA_KMS_CHECK_MR_AGGREGATED,
                  "aggregated MR not allowed");
    const char *devs = "{\"osImages\":[\"" OS "\"],\"kms\":{\"mrAggregated\":[\"" MR "\"],"
                       "\"devices\":[\"0x02\"]}}";
    expect_denied(devs, DGA_KMS_BOOT_KMS, req, DGA_KMS_CHECK_DEVICE,
                  "KMS is not allowed to boot on this device");
    const char *any = "{\"osImages\":[\"" OS "\"],\"kms\":{\"mrAggregated\":[\"" MR "\"],"
                      "\"devices\":[\"0x02\"],\"allowAnyDevice\":true}}";
    expect_allowed(any, DGA_KMS_BOOT_KMS, req);
    _cleanup_(freep) char *os = with(req, "osImageHash", "\"00\"");
    expect_denied(cfg, DGA_KMS_BOOT_KMS, os, DGA_KMS_CHECK_OS_IMAGE, "OS image is not allowed");
    /* the default config denies every KMS: no OS image is listed */
    expect_denied("{}", DGA_KMS_BOOT_KMS, req, DGA_KMS_CHECK_OS_IMAGE, "OS image is not allowed");
}

/* ---- the GPU rules ------------------------------------------------------------------------- */

/* A request forwarding the payload (a JSON string's contents, escaped) and the policy hash. */
static char *gpu_request(const char *payload, const char *policy_hash)
{
    _cleanup_(freep) char *base = request("");
    _cleanup_(json_decrefp) json_t *o = json_loads(base, 0, NULL);
    if (payload != NULL) {
        json_object_set_new(o, "gpuAttestation", json_string(payload));
    }
    if (policy_hash != NULL) {
        json_object_set_new(o, "gpuPolicyHash", json_string(policy_hash));
    }
    char *s = json_dumps(o, JSON_COMPACT);
    assert_non_null(s);
    return s;
}

static char *payload_with(const char *extra)
{
    char *s = NULL;
    assert_true(asprintf(&s,
                         "{\"version\":2,\"provider\":\"nvidia\",\"devices\":1,\"cc_mode\":\"on\","
                         "\"devtools\":false,\"evidence_sha256\":\"" EVIDENCE "\"%s}",
                         extra) > 0);
    return s;
}

/* Replaces from with to (the same length) in s, in place. */
static void replace(char *s, const char *from, const char *to)
{
    assert_int_equal(strlen(from), strlen(to));
    char *at = strstr(s, from);
    assert_non_null(at);
    for (size_t i = 0; to[i] != '\0'; i++) {
        at[i] = to[i];
    }
}

#define GPU_RULE ",\"gpu\":{\"required\":true,\"gpus\":{\"exact\":1}}"

static void test_gpu_allowed(void **state)
{
    (void)state;
    _cleanup_(freep) char *cfg = config_with("", GPU_RULE);
    _cleanup_(freep) char *req = gpu_request(PAYLOAD_DSTACK, POLICY);
    expect_allowed(cfg, DGA_KMS_BOOT_APP, req);
    /* ours, naming its root and the policy hash */
    _cleanup_(freep) char *ours = payload_with(",\"nvswitches\":0,\"gpu_policy_sha256\":\"" POLICY
                                               "\",\"trust_roots\":\"nvidia\"");
    _cleanup_(freep) char *req2 = gpu_request(ours, "0x" POLICY);
    expect_allowed(cfg, DGA_KMS_BOOT_APP, req2);
    /* the KMS endpoint's own rule */
    const char *kcfg = "{\"osImages\":[\"" OS "\"],\"kms\":{\"mrAggregated\":[\"" MR "\"],"
                       "\"gpu\":{\"required\":true}}}";
    expect_allowed(kcfg, DGA_KMS_BOOT_KMS, req);
    _cleanup_(freep) char *none = request("");
    expect_denied(kcfg, DGA_KMS_BOOT_KMS, none, DGA_KMS_CHECK_GPU_FORWARDED,
                  "GPU attestation is required but the KMS did not forward gpuAttestation (a "
                  "GPU-aware KMS adds it to BootInfo; see docs/kms.md)");
}

static void test_gpu_not_forwarded(void **state)
{
    (void)state;
    _cleanup_(freep) char *cfg = config_with("", GPU_RULE);
    _cleanup_(freep) char *plain = request("");
    expect_denied(cfg, DGA_KMS_BOOT_APP, plain, DGA_KMS_CHECK_GPU_FORWARDED,
                  "GPU attestation is required but the KMS did not forward gpuAttestation (a "
                  "GPU-aware KMS adds it to BootInfo; see docs/kms.md)");
    _cleanup_(freep) char *no_hash = gpu_request(PAYLOAD_DSTACK, NULL);
    expect_denied(cfg, DGA_KMS_BOOT_APP, no_hash, DGA_KMS_CHECK_GPU_FORWARDED,
                  "GPU rules need the GPU policy hash but the KMS did not forward gpuPolicyHash (a "
                  "GPU-aware KMS adds it to BootInfo; see docs/kms.md)");
    _cleanup_(freep) char *nulls = request("\"gpuAttestation\":null,\"gpuPolicyHash\":null");
    expect_denied(cfg, DGA_KMS_BOOT_APP, nulls, DGA_KMS_CHECK_GPU_FORWARDED,
                  "GPU attestation is required but the KMS did not forward gpuAttestation (a "
                  "GPU-aware KMS adds it to BootInfo; see docs/kms.md)");
    _cleanup_(freep) char *obj =
        request("\"gpuAttestation\":{\"version\":2},\"gpuPolicyHash\":\"" POLICY "\"");
    expect_denied(cfg, DGA_KMS_BOOT_APP, obj, DGA_KMS_CHECK_GPU_PAYLOAD,
                  "gpuAttestation is not a string");
    /* not required: a CVM without GPUs passes, one with GPUs is checked */
    _cleanup_(freep) char *opt = config_with("", ",\"gpu\":{}");
    expect_allowed(opt, DGA_KMS_BOOT_APP, plain);
    _cleanup_(freep) char *dtp = payload_with("");
    replace(dtp, "\"devtools\":false", "\"devtools\":true ");
    _cleanup_(freep) char *dreq = gpu_request(dtp, POLICY);
    expect_denied(opt, DGA_KMS_BOOT_APP, dreq, DGA_KMS_CHECK_GPU_DEVTOOLS,
                  "GPUs in DevTools mode are not allowed");
}

static void test_gpu_denied(void **state)
{
    (void)state;
    _cleanup_(freep) char *cfg = config_with("", GPU_RULE);

    _cleanup_(freep) char *two = payload_with("");
    replace(two, "\"devices\":1", "\"devices\":2");
    _cleanup_(freep) char *r_two = gpu_request(two, POLICY);
    expect_denied(cfg, DGA_KMS_BOOT_APP, r_two, DGA_KMS_CHECK_GPU_DEVICES,
                  "GPU count 2 is not allowed (expected exactly 1)");

    _cleanup_(freep) char *dt = payload_with("");
    replace(dt, "\"devtools\":false", "\"devtools\":true ");
    _cleanup_(freep) char *r_dt = gpu_request(dt, POLICY);
    expect_denied(cfg, DGA_KMS_BOOT_APP, r_dt, DGA_KMS_CHECK_GPU_DEVTOOLS,
                  "GPUs in DevTools mode are not allowed");
    _cleanup_(freep) char *dt_ok =
        config_with("", ",\"gpu\":{\"required\":true,\"allowDevtools\":true}");
    expect_allowed(dt_ok, DGA_KMS_BOOT_APP, r_dt);

    _cleanup_(freep) char *pinned =
        config_with("", ",\"gpu\":{\"required\":true,\"gpuPolicyHashes\":[\"0X" POLICY "\"]}");
    _cleanup_(freep) char *r_ok = gpu_request(PAYLOAD_DSTACK, POLICY);
    expect_allowed(pinned, DGA_KMS_BOOT_APP, r_ok);
    _cleanup_(freep) char *r_other = gpu_request(
        PAYLOAD_DSTACK, "6666666666666666666666666666666666666666666666666666666666666666");
    expect_denied(pinned, DGA_KMS_BOOT_APP, r_other, DGA_KMS_CHECK_GPU_POLICY_HASH,
                  "GPU policy hash is not allowed");
    _cleanup_(freep) char *r_short = gpu_request(PAYLOAD_DSTACK, "0x5555");
    expect_denied(pinned, DGA_KMS_BOOT_APP, r_short, DGA_KMS_CHECK_GPU_POLICY_HASH,
                  "gpuPolicyHash is not 32 bytes of hex");
    _cleanup_(freep) char *mismatch =
        payload_with(",\"gpu_policy_sha256\":"
                     "\"6666666666666666666666666666666666666666666666666666666666666666\"");
    _cleanup_(freep) char *r_mm = gpu_request(mismatch, POLICY);
    expect_denied(cfg, DGA_KMS_BOOT_APP, r_mm, DGA_KMS_CHECK_GPU_POLICY_HASH,
                  "the GPU attestation's gpu_policy_sha256 is not the forwarded gpuPolicyHash");

    _cleanup_(freep) char *test_root = payload_with(",\"trust_roots\":\"test\"");
    _cleanup_(freep) char *r_test = gpu_request(test_root, POLICY);
    expect_denied(cfg, DGA_KMS_BOOT_APP, r_test, DGA_KMS_CHECK_GPU_TRUST_ROOTS,
                  "GPU trust root \"test\" is not allowed");
    _cleanup_(freep) char *test_ok =
        config_with("", ",\"gpu\":{\"required\":true,\"trustRoots\":[\"test\"]}");
    expect_allowed(test_ok, DGA_KMS_BOOT_APP, r_test);
    /* dstack's payload names no root: it counts as nvidia, which test_ok does not trust */
    expect_denied(test_ok, DGA_KMS_BOOT_APP, r_ok, DGA_KMS_CHECK_GPU_TRUST_ROOTS,
                  "GPU trust root \"nvidia\" is not allowed");

    _cleanup_(freep) char *v3 = payload_with("");
    replace(v3, "\"version\":2", "\"version\":3");
    _cleanup_(freep) char *r_v3 = gpu_request(v3, POLICY);
    expect_denied(cfg, DGA_KMS_BOOT_APP, r_v3, DGA_KMS_CHECK_GPU_PAYLOAD,
                  "the GPU attestation payload is malformed (version)");
    _cleanup_(freep) char *dup = payload_with(",\"devices\":1");
    _cleanup_(freep) char *r_dup = gpu_request(dup, POLICY);
    expect_denied(cfg, DGA_KMS_BOOT_APP, r_dup, DGA_KMS_CHECK_GPU_PAYLOAD,
                  "the GPU attestation payload is malformed (payload)");
    _cleanup_(freep) char *unknown = payload_with(",\"extra\":1");
    _cleanup_(freep) char *r_unknown = gpu_request(unknown, POLICY);
    expect_denied(cfg, DGA_KMS_BOOT_APP, r_unknown, DGA_KMS_CHECK_GPU_PAYLOAD,
                  "the GPU attestation payload is malformed (unknown member)");
    _cleanup_(freep) char *ccnone = NULL;
    assert_true(
        asprintf(&ccnone,
                 "{\"version\":2,\"provider\":\"nvidia\",\"devices\":1,\"cc_mode\":\"none\","
                 "\"devtools\":false,\"evidence_sha256\":\"" EVIDENCE "\"}") > 0);
    _cleanup_(freep) char *r_cc = gpu_request(ccnone, POLICY);
    expect_denied(cfg, DGA_KMS_BOOT_APP, r_cc, DGA_KMS_CHECK_GPU_CC_MODE,
                  "GPU cc_mode \"none\" with 1 device(s)");

    _cleanup_(freep) char *sw =
        config_with("", ",\"gpu\":{\"required\":true,\"nvswitches\":{\"exact\":4}}");
    expect_denied(sw, DGA_KMS_BOOT_APP, r_ok, DGA_KMS_CHECK_GPU_DEVICES,
                  "the GPU attestation does not state an NVSwitch count (expected exactly 4)");
    _cleanup_(freep) char *sw4 = payload_with(",\"nvswitches\":4");
    _cleanup_(freep) char *r_sw4 = gpu_request(sw4, POLICY);
    expect_allowed(sw, DGA_KMS_BOOT_APP, r_sw4);
    _cleanup_(freep) char *sw2 = payload_with(",\"nvswitches\":2");
    _cleanup_(freep) char *r_sw2 = gpu_request(sw2, POLICY);
    expect_denied(sw, DGA_KMS_BOOT_APP, r_sw2, DGA_KMS_CHECK_GPU_DEVICES,
                  "NVSwitch count 2 is not allowed (expected exactly 4)");
}

/* A PPCIe CVM (the gate's cc_mode "ppcie", its NVSwitches counted) under each gpu.mode. */
static void test_gpu_mode(void **state)
{
    (void)state;
    _cleanup_(freep) char *ppcie = NULL;
    assert_true(asprintf(&ppcie,
                         "{\"version\":2,\"provider\":\"nvidia\",\"devices\":8,\"cc_mode\":"
                         "\"ppcie\",\"devtools\":false,\"evidence_sha256\":\"" EVIDENCE "\","
                         "\"nvswitches\":4,\"trust_roots\":\"nvidia\"}") > 0);
    _cleanup_(freep) char *r_ppcie = gpu_request(ppcie, POLICY);
    _cleanup_(freep) char *r_cc = gpu_request(PAYLOAD_DSTACK, POLICY);
    /* no mode: "cc", what a gpu section always meant */
    _cleanup_(freep) char *dflt = config_with("", ",\"gpu\":{\"required\":true}");
    expect_denied(dflt, DGA_KMS_BOOT_APP, r_ppcie, DGA_KMS_CHECK_GPU_CC_MODE,
                  "GPU cc_mode \"ppcie\" is not allowed (gpu.mode cc)");
    expect_allowed(dflt, DGA_KMS_BOOT_APP, r_cc);
    _cleanup_(freep) char *cc = config_with("", ",\"gpu\":{\"required\":true,\"mode\":\"cc\"}");
    expect_denied(cc, DGA_KMS_BOOT_APP, r_ppcie, DGA_KMS_CHECK_GPU_CC_MODE,
                  "GPU cc_mode \"ppcie\" is not allowed (gpu.mode cc)");
    _cleanup_(freep) char *pp =
        config_with("", ",\"gpu\":{\"required\":true,\"mode\":\"ppcie\",\"gpus\":{\"exact\":8},"
                        "\"nvswitches\":{\"exact\":4}}");
    expect_allowed(pp, DGA_KMS_BOOT_APP, r_ppcie);
    expect_denied(pp, DGA_KMS_BOOT_APP, r_cc, DGA_KMS_CHECK_GPU_DEVICES,
                  "GPU count 1 is not allowed (expected exactly 8)");
    _cleanup_(freep) char *pp1 = config_with("", ",\"gpu\":{\"required\":true,\"mode\":\"ppcie\"}");
    expect_denied(pp1, DGA_KMS_BOOT_APP, r_cc, DGA_KMS_CHECK_GPU_CC_MODE,
                  "GPU cc_mode \"on\" is not allowed (gpu.mode ppcie)");
    _cleanup_(freep) char *any = config_with("", ",\"gpu\":{\"required\":true,\"mode\":\"any\"}");
    expect_allowed(any, DGA_KMS_BOOT_APP, r_ppcie);
    expect_allowed(any, DGA_KMS_BOOT_APP, r_cc);
    /* the KMS endpoint's own rule takes the key too */
    const char *kcfg = "{\"osImages\":[\"" OS "\"],\"kms\":{\"mrAggregated\":[\"" MR "\"],"
                       "\"gpu\":{\"required\":true,\"mode\":\"ppcie\"}}}";
    expect_allowed(kcfg, DGA_KMS_BOOT_KMS, r_ppcie);
    /* a PPCIe payload that does not count its NVSwitches */
    _cleanup_(freep) char *uncounted = strdup(ppcie);
    replace(uncounted, "\"nvswitches\":4,", "               ");
    _cleanup_(freep) char *r_uncounted = gpu_request(uncounted, POLICY);
    expect_denied(any, DGA_KMS_BOOT_APP, r_uncounted, DGA_KMS_CHECK_GPU_PAYLOAD,
                  "the PPCIe GPU attestation does not state an NVSwitch count");
}

static void test_gpu_rule_absent_is_auth_simple(void **state)
{
    (void)state;
    /* no gpu section: malformed GPU fields are unknown keys, as auth-simple sees them */
    _cleanup_(freep) char *cfg = config_with("", "");
    _cleanup_(freep) char *req = request("\"gpuAttestation\":17,\"gpuPolicyHash\":\"zz\"");
    expect_allowed(cfg, DGA_KMS_BOOT_APP, req);
    /* a gpu rule on another app does not reach this one */
    _cleanup_(freep) char *other =
        config_with("", "},\"0x01\":{\"composeHashes\":[],\"gpu\":{\"required\":true}");
    expect_allowed(other, DGA_KMS_BOOT_APP, req);
}

/* ---- the server's answer, and the configuration changing under it ------------------------- */

struct hook_env {
    char dir[64];
    char path[128];
    struct dga_kms_hook *h;
};

static void write_config(struct hook_env *e, const char *text)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", e->path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, e->path), 0);
}

/* Overwrites in place, keeping the inode: only size, times and bytes can tell. */
static void overwrite_config(struct hook_env *e, const char *text)
{
    FILE *f = fopen(e->path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static int hook_setup(void **state)
{
    struct hook_env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    snprintf(e->dir, sizeof e->dir, "/tmp/dga-kms-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->path, sizeof e->path, "%s/auth-config.json", e->dir);
    *state = e;
    return 0;
}

static int hook_teardown(void **state)
{
    struct hook_env *e = *state;
    dga_kms_hook_free(e->h);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    assert_int_equal(system(cmd), 0);
    free(e);
    return 0;
}

static void hook_start(struct hook_env *e)
{
    struct dga_kms_hook_config c;
    dga_kms_hook_config_defaults(&c);
    snprintf(c.config, sizeof c.config, "%s", e->path);
    c.log_decisions = false;
    struct dga_diag d = {0};
    assert_int_equal(dga_kms_hook_new(&c, &e->h, &d), DGA_E_OK);
}

/* POST /bootAuth/app: the status and body. */
static unsigned answer(struct hook_env *e, const char *method, const char *target, const char *body,
                       char **ret)
{
    unsigned status = 0;
    size_t len = 0;
    assert_int_equal(dga_kms_hook_answer(e->h, method, target, "application/json",
                                         (const uint8_t *)body, body != NULL ? strlen(body) : 0,
                                         &status, ret, &len),
                     DGA_E_OK);
    assert_int_equal(strlen(*ret), len);
    return status;
}

static void expect_answer(struct hook_env *e, const char *body, const char *want)
{
    _cleanup_(freep) char *got = NULL;
    assert_int_equal(answer(e, "POST", "/bootAuth/app", body, &got), 200);
    assert_string_equal(got, want);
}

#define ALLOWED "{\"isAllowed\":true,\"reason\":\"\",\"gatewayAppId\":\"gw\"}"

static void test_hook_answers(void **state)
{
    struct hook_env *e = *state;
    _cleanup_(freep) char *cfg = config_with("\"gatewayAppId\":\"gw\",\"chainId\":1", "");
    write_config(e, cfg);
    hook_start(e);
    _cleanup_(freep) char *req = request("");
    expect_answer(e, req, ALLOWED);

    _cleanup_(freep) char *info = NULL;
    assert_int_equal(answer(e, "GET", "/", NULL, &info), 200);
    assert_string_equal(info,
                        "{\"status\":\"ok\",\"kmsContractAddr\":\"0x00000000000000000000000000"
                        "00000000000000\",\"gatewayAppId\":\"gw\",\"chainId\":1,"
                        "\"appAuthImplementation\":\"0x0000000000000000000000000000000000000000\","
                        "\"appImplementation\":\"0x0000000000000000000000000000000000000000\"}");

    _cleanup_(freep) char *bad = NULL;
    assert_int_equal(answer(e, "POST", "/bootAuth/app", "{\"appId\":1}", &bad), 400);
    assert_string_equal(bad, "{\"isAllowed\":false,\"reason\":\"invalid request: mrAggregated must "
                             "be a string\",\"gatewayAppId\":\"\"}");
    _cleanup_(freep) char *nf = NULL;
    assert_int_equal(answer(e, "POST", "/bootAuth/other", req, &nf), 404);
    _cleanup_(freep) char *na = NULL;
    assert_int_equal(answer(e, "GET", "/bootAuth/app", NULL, &na), 405);
    _cleanup_(freep) char *q = NULL;
    assert_int_equal(answer(e, "POST", "/bootAuth/app?x=1", req, &q), 200);

    unsigned status = 0;
    size_t len = 0;
    _cleanup_(freep) char *ct = NULL;
    assert_int_equal(dga_kms_hook_answer(e->h, "POST", "/bootAuth/app", "text/plain",
                                         (const uint8_t *)req, strlen(req), &status, &ct, &len),
                     DGA_E_OK);
    assert_int_equal(status, 400);
    assert_string_equal(ct,
                        "{\"isAllowed\":false,\"reason\":\"invalid request: Content-Type must be "
                        "application/json\",\"gatewayAppId\":\"\"}");
    _cleanup_(freep) char *ct2 = NULL;
    assert_int_equal(dga_kms_hook_answer(e->h, "POST", "/bootAuth/app",
                                         "Application/JSON; charset=utf-8", (const uint8_t *)req,
                                         strlen(req), &status, &ct2, &len),
                     DGA_E_OK);
    assert_int_equal(status, 200);
}

static void test_hook_config_changes(void **state)
{
    struct hook_env *e = *state;
    _cleanup_(freep) char *allow = config_with("\"gatewayAppId\":\"gw\"", "");
    write_config(e, allow);
    hook_start(e);
    _cleanup_(freep) char *req = request("");
    expect_answer(e, req, ALLOWED);

    /* the same size, in place, within the same second: the bytes decide */
    _cleanup_(freep) char *deny = strdup(allow);
    deny[strlen(deny) - 8] = deny[strlen(deny) - 8] == 'c' ? 'd' : 'c'; /* a compose hash digit */
    assert_int_equal(strlen(deny), strlen(allow));
    overwrite_config(e, deny);
    expect_answer(
        e, req,
        "{\"isAllowed\":false,\"reason\":\"compose hash not allowed\",\"gatewayAppId\":\"gw\"}");
    overwrite_config(e, allow);
    expect_answer(e, req, ALLOWED);

    /* broken: everything is denied with the reason, GET / fails, never the old config */
    overwrite_config(e, "{\"osImages\":[");
    expect_answer(e, req,
                  "{\"isAllowed\":false,\"reason\":\"configuration error: JSON: line 1 "
                  "column 13: ']' expected near end of file\",\"gatewayAppId\":\"\"}");
    _cleanup_(freep) char *info = NULL;
    assert_int_equal(answer(e, "GET", "/", NULL, &info), 500);
    assert_non_null(strstr(info, "\"status\":\"error\""));
    write_config(e, "{\"osImages\":\"x\"}");
    expect_answer(e, req,
                  "{\"isAllowed\":false,\"reason\":\"configuration error: osImages must "
                  "be an array of strings\",\"gatewayAppId\":\"\"}");

    /* removed, then back */
    assert_int_equal(unlink(e->path), 0);
    _cleanup_(freep) char *gone = NULL;
    assert_int_equal(answer(e, "POST", "/bootAuth/app", req, &gone), 200);
    assert_non_null(
        strstr(gone, "\"isAllowed\":false,\"reason\":\"configuration error: cannot read "));
    assert_non_null(strstr(gone, "No such file or directory"));
    write_config(e, allow);
    expect_answer(e, req, ALLOWED);
}

static void test_hook_refuses_broken_start(void **state)
{
    struct hook_env *e = *state;
    write_config(e, "{\"apps\":{\"gpu\":1}}");
    struct dga_kms_hook_config c;
    dga_kms_hook_config_defaults(&c);
    snprintf(c.config, sizeof c.config, "%s", e->path);
    struct dga_diag d = {0};
    struct dga_kms_hook *h = NULL;
    assert_int_equal(dga_kms_hook_new(&c, &h, &d), DGA_E_KMS_CONFIG);
    assert_null(h);
    snprintf(c.config, sizeof c.config, "%s/missing.json", e->dir);
    assert_int_equal(dga_kms_hook_new(&c, &h, &d), DGA_E_KMS_CONFIG);
    c.limits.max_request = DGA_KMS_REQUEST_MAX + 1;
    assert_int_equal(dga_kms_hook_new(&c, &h, &d), DGA_E_BAD_ARGUMENT);
    assert_string_equal(d.field, "max-request");
}

struct asker {
    struct hook_env *e;
    const char *req;
    int allowed, denied, other;
};

static void *ask(void *arg)
{
    struct asker *a = arg;
    for (int i = 0; i < 1500; i++) {
        unsigned status = 0;
        size_t len = 0;
        char *body = NULL;
        if (dga_kms_hook_answer(a->e->h, "POST", "/bootAuth/app", "application/json",
                                (const uint8_t *)a->req, strlen(a->req), &status, &body,
                                &len) != DGA_E_OK) {
            a->other++;
            continue;
        }
        if (status == 200 && strcmp(body, ALLOWED) == 0) {
            a->allowed++;
        } else if (status == 200 && strstr(body, "compose hash not allowed") != NULL) {
            a->denied++;
        } else {
            a->other++;
        }
        free(body);
    }
    return NULL;
}

/* Threads asking while the file is replaced: each answer is one of the two configurations'. */
static void test_hook_threads(void **state)
{
    struct hook_env *e = *state;
    _cleanup_(freep) char *allow = config_with("\"gatewayAppId\":\"gw\"", "");
    _cleanup_(freep) char *deny = config_with("\"gatewayAppId\":\"gw\"", "");
    deny[strlen(deny) - 8] = deny[strlen(deny) - 8] == 'c' ? 'd' : 'c';
    write_config(e, allow);
    hook_start(e);
    _cleanup_(freep) char *req = request("");
    struct asker a[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct asker){.e = e, .req = req};
        assert_int_equal(pthread_create(&t[i], NULL, ask, &a[i]), 0);
    }
    for (int i = 0; i < 60; i++) {
        write_config(e, i % 2 == 0 ? deny : allow);
        usleep(1000);
    }
    int allowed = 0, denied = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(a[i].other, 0);
        allowed += a[i].allowed;
        denied += a[i].denied;
    }
    assert_int_equal(allowed + denied, 4 * 1500);
    /* the last write was allow: the next request sees it */
    expect_answer(e, req, ALLOWED);
}

/* The flags' table: each option's bounds, a refusal leaving the config as it was. */
static void test_hook_options(void **state)
{
    (void)state;
    const struct dga_service_options *t = dga_kms_hook_config_options();
    struct dga_kms_hook_config c;
    dga_kms_hook_config_defaults(&c);
    assert_int_equal(dga_service_options_set(t, &c, "client-timeout", "2d"), DGA_E_OK);
    assert_int_equal(c.limits.client_timeout, 2 * 86400);
    assert_int_equal(dga_service_options_set(t, &c, "client-request-timeout", "0"),
                     DGA_E_BAD_ARGUMENT);
    assert_int_equal(c.limits.client_request_timeout, 30);
    assert_int_equal(dga_service_options_set(t, &c, "max-request", "64k"), DGA_E_OK);
    assert_int_equal(c.limits.max_request, DGA_KMS_REQUEST_MAX);
    assert_int_equal(dga_service_options_set(t, &c, "max-request", "1M"), DGA_E_BAD_ARGUMENT);
    assert_int_equal(c.limits.max_request, DGA_KMS_REQUEST_MAX);
    assert_int_equal(dga_service_options_set(t, &c, "max-connections", "1000000"), DGA_E_OK);
    assert_int_equal(c.limits.max_connections, 1000000);
    assert_int_equal(dga_service_options_set(t, &c, "max-connections-per-client", "1K"),
                     DGA_E_BAD_ARGUMENT);
    assert_int_equal(c.limits.max_connections_per_client, 128);
    assert_int_equal(dga_service_options_set(t, &c, "config", "/etc/a.json"), DGA_E_OK);
    assert_string_equal(c.config, "/etc/a.json");
    assert_int_equal(dga_service_options_set(t, &c, "listen", ""), DGA_E_BAD_ARGUMENT);
    assert_string_equal(c.listen, "127.0.0.1:3000");
    assert_true(dga_service_option_is_switch(dga_service_options_find(t, "quiet")));
    assert_int_equal(dga_service_options_set(t, &c, "quiet", "true"), DGA_E_OK);
    assert_false(c.log_decisions);
    assert_int_equal(dga_service_options_set(t, &c, "quiet", "yes"), DGA_E_BAD_ARGUMENT);
    assert_false(c.log_decisions);
    assert_int_equal(dga_service_options_set(t, &c, "port", "1"), DGA_E_BAD_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_values),
        cmocka_unit_test(test_config_unknown_keys_ignored),
        cmocka_unit_test(test_config_refused),
        cmocka_unit_test(test_config_gpu_refused),
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_app_checks),
        cmocka_unit_test(test_check_order),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_hex_normalisation),
        cmocka_unit_test(test_kms_checks),
        cmocka_unit_test(test_gpu_allowed),
        cmocka_unit_test(test_gpu_not_forwarded),
        cmocka_unit_test(test_gpu_denied),
        cmocka_unit_test(test_gpu_mode),
        cmocka_unit_test(test_gpu_rule_absent_is_auth_simple),
        cmocka_unit_test(test_hook_options),
        cmocka_unit_test_setup_teardown(test_hook_answers, hook_setup, hook_teardown),
        cmocka_unit_test_setup_teardown(test_hook_config_changes, hook_setup, hook_teardown),
        cmocka_unit_test_setup_teardown(test_hook_refuses_broken_start, hook_setup, hook_teardown),
        cmocka_unit_test_setup_teardown(test_hook_threads, hook_setup, hook_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
