/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The relying-party verifier's core (lib/cvm, docs/verify.md): dstack's real
 * GetQuote fixture, and synthetic event logs built here with lib/measure's
 * digests and the gate's own payload builder, each breaking one rule.
 * The quote's signature is verified elsewhere (unit_quote_verify); here the
 * quote layer's verdict is handed in as "verified, UpToDate".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "dga/cvm.h"
#include "dga/gate.h"
#include "dga/quote.h"
#include "dga/util.h"
#include "testutil.h"

#define FIXTURE "dstack/quote-report.json"

/* ---- dstack's fixture ----------------------------------------------------------------------- */

struct fx {
    uint8_t *text;
    size_t len;
    struct dga_cvm_input in;
    struct dga_quote quote;
};

static void fx_load(struct fx *f)
{
    memset(f, 0, sizeof *f);
    f->text = fixture_read(FIXTURE, &f->len);
    assert_non_null(f->text);
    assert_int_equal(dga_cvm_input_parse((const char *)f->text, f->len, &f->in, NULL), DGA_E_OK);
    assert_int_equal(dga_quote_parse(f->in.quote, f->in.quote_len, &f->quote, NULL), DGA_E_OK);
}

static void fx_free(struct fx *f)
{
    dga_cvm_input_clear(&f->in);
    free(f->text);
}

static void expect_parse(const char *json, struct dga_cvm_expect *x)
{
    struct dga_diag d = {0};
    dga_err e = dga_cvm_expect_parse(json, strlen(json), x, &d);
    if (e != DGA_E_OK) {
        fail_msg("expectations: %s at %s", dga_err_name(e), d.field);
    }
}

static void hex_is(const uint8_t *v, size_t n, const char *want)
{
    char hex[129];
    dga_hex_encode(v, n, hex);
    assert_string_equal(hex, want);
}

static void fx_verify(struct fx *f, const char *expect, struct dga_cvm_result *r)
{
    struct dga_cvm_expect x;
    expect_parse(expect, &x);
    struct dga_cvm_quote_facts q = {.td = &f->quote.td, .verified = true};
    struct dga_cvm_options opt = {.at = 1767225600};
    assert_int_equal(dga_cvm_verify(&q, &f->in, NULL, 0, &x, &opt, r), DGA_E_OK);
    dga_cvm_expect_clear(&x);
}

static void test_fixture_event_log(void **state)
{
    (void)state;
    struct fx f;
    fx_load(&f);
    struct dga_cvm_result r;
    memset(&r, 0, sizeof r);
    fx_verify(&f, "{}", &r);
    assert_true(r.event_log_verified);
    assert_true(r.valid);
    assert_int_equal(r.err, DGA_E_OK);
    assert_int_equal(r.checks[DGA_CVM_CHECK_BOOT_REPLAY].status, DGA_CVM_PASS);
    assert_int_equal(r.checks[DGA_CVM_CHECK_RUNTIME_REPLAY].status, DGA_CVM_PASS);
    assert_int_equal(r.checks[DGA_CVM_CHECK_BOOT_SEQUENCE].status, DGA_CVM_PASS);
    assert_int_equal(r.checks[DGA_CVM_CHECK_GPU_EVENT].status, DGA_CVM_SKIPPED);
    /* tests/fixtures/PROVENANCE.md: the replay equals the quote's RTMR3 at offset 520. */
    hex_is(r.replayed[3], 48,
           "0f787c3877f3e95095d5a4d13dd0fe0233803b30120d8469866719dc28f519ce021fe1e53459121e7a5a444"
           "3147185a8");
    /*
     * dstack's verifier takes app_id, compose_hash and instance_id as the payloads of
     * the first app-id, compose-hash and instance-id events (find_event); these are the
     * fixture's event_payload hex of those three events, read from the JSON.
     */
    hex_is(r.app_id, 20, "3763bc34552cf3a27ff71ad5f7a90471562a1a2d");
    hex_is(r.compose_hash, 32, "3763bc34552cf3a27ff71ad5f7a90471562a1a2df552dfc1998cba2d60da27e7");
    assert_int_equal(r.instance_id_len, 20);
    hex_is(r.instance_id, 20, "c3714eb66990eace777b4e664c16e09375dec4c9");
    assert_string_equal(r.key_provider_name, "local-sgx");
    assert_string_equal(r.key_provider_id,
                        "1b7a49378403249b6986a907844cab0921eca32dd47e657f3c10311ccaeccf8b");
    /* device_id = SHA-256("") on TDX. */
    hex_is(r.device_id, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /*
     * mr_system = SHA-256(MRTD || RTMR0 || RTMR1 || RTMR2 || SHA-256(key-provider payload))
     * and mr_aggregated = SHA-256(MRTD || RTMR0..3) (MRCONFIGID, MROWNER, MROWNERCONFIG
     * are zero in this quote, so not appended): computed from the quote's bytes at offsets
     * 184, 376.. by a one-off Python script (hashlib), independently of this library.
     */
    hex_is(r.mr_system, 32, "e1ae776a1492d4f87937b7e563d265c16300be4aba5d748207587023bb7dbb75");
    hex_is(r.mr_aggregated, 32, "233c659f83048505bb1ef7f105245aa80f5d04e3d096c329da272d7ee13fbf38");
    assert_false(r.has_gpu_event);
    dga_cvm_result_clear(&r);
    fx_free(&f);
}

static void test_fixture_expectations(void **state)
{
    (void)state;
    struct fx f;
    fx_load(&f);
    struct dga_cvm_result r;
    memset(&r, 0, sizeof r);
    fx_verify(
        &f,
        "{\"report_data\":\"1234\","
        "\"app_id\":[\"3763bc34552cf3a27ff71ad5f7a90471562a1a2d\"],"
        "\"compose_hash\":[\"3763bc34552cf3a27ff71ad5f7a90471562a1a2df552dfc1998cba2d60da27e7\"],"
        "\"mr_system\":[\"e1ae776a1492d4f87937b7e563d265c16300be4aba5d748207587023bb7dbb75\"],"
        "\"mr_aggregated\":[\"233c659f83048505bb1ef7f105245aa80f5d04e3d096c329da272d7ee13fbf38\"],"
        "\"mrtd\":["
        "\"b24d3b24e9e3c16012376b52362ca09856c4adecb709d5fac33addf1c47e193da075b125b6c364115771390a"
        "5461e217\"],"
        "\"key_provider\":[\"local-sgx\"]}",
        &r);
    assert_true(r.valid);
    assert_int_equal(r.checks[DGA_CVM_CHECK_REPORT_DATA].status, DGA_CVM_PASS);
    assert_int_equal(r.checks[DGA_CVM_CHECK_APP].status, DGA_CVM_PASS);
    assert_int_equal(r.checks[DGA_CVM_CHECK_MR_SYSTEM].status, DGA_CVM_PASS);
    assert_int_equal(r.checks[DGA_CVM_CHECK_MR_AGGREGATED].status, DGA_CVM_PASS);
    assert_int_equal(r.checks[DGA_CVM_CHECK_REGISTERS].status, DGA_CVM_PASS);
    assert_int_equal(r.checks[DGA_CVM_CHECK_KEY_PROVIDER].status, DGA_CVM_PASS);
    dga_cvm_result_clear(&r);

    /* A wrong challenge, another app, another key provider: each named. */
    fx_verify(&f, "{\"report_data\":\"5678\"}", &r);
    assert_false(r.valid);
    assert_int_equal(r.err, DGA_E_CVM_REPORT_DATA);
    assert_string_equal(r.reason, "Quote verification failed: report-data: report-data-mismatch: "
                                  "the quote's report_data is not the expected challenge");
    dga_cvm_result_clear(&r);
    fx_verify(&f, "{\"app_id\":[\"0000000000000000000000000000000000000000\"]}", &r);
    assert_int_equal(r.err, DGA_E_CVM_NOT_ALLOWED);
    assert_string_equal(r.checks[DGA_CVM_CHECK_APP].detail,
                        "app_id 3763bc34552cf3a27ff71ad5f7a90471562a1a2d not allowed");
    dga_cvm_result_clear(&r);
    fx_verify(&f, "{\"key_provider\":[\"kms\"]}", &r);
    assert_int_equal(r.err, DGA_E_CVM_NOT_ALLOWED);
    assert_int_equal(r.checks[DGA_CVM_CHECK_KEY_PROVIDER].status, DGA_CVM_FAIL);
    dga_cvm_result_clear(&r);
    /* The quote layer's verdict is needed for a valid verdict. */
    struct dga_cvm_expect x;
    expect_parse("{}", &x);
    struct dga_cvm_quote_facts q = {.td = &f.quote.td, .verified = false};
    struct dga_cvm_options opt = {.at = 0};
    assert_int_equal(dga_cvm_verify(&q, &f.in, NULL, 0, &x, &opt, &r), DGA_E_OK);
    assert_false(r.valid);
    assert_true(r.event_log_verified);
    assert_int_equal(r.err, DGA_E_CVM_QUOTE_UNVERIFIED);
    dga_cvm_result_clear(&r);
    dga_cvm_expect_clear(&x);
    fx_free(&f);
}

static void test_fixture_gpu_required(void **state)
{
    (void)state;
    struct fx f;
    fx_load(&f);
    struct dga_cvm_result r;
    memset(&r, 0, sizeof r);
    fx_verify(&f, "{\"gpu\":{\"required\":true}}", &r);
    assert_false(r.valid);
    assert_true(r.event_log_verified);
    assert_false(r.gpu_verified);
    assert_int_equal(r.err, DGA_E_CVM_GPU_EVENT_ABSENT);
    assert_string_equal(r.reason, "GPU verification failed: gpu-attestation: gpu-event-absent: "
                                  "no gpu-attestation event before system-ready (0 after it, "
                                  "ignored)");
    dga_cvm_result_clear(&r);
    fx_free(&f);
}

/* ---- synthetic logs ------------------------------------------------------------------------- */

struct tev {
    const char *name;
    uint8_t payload[1024];
    size_t len;
};

struct tlog {
    struct tev ev[40];
    size_t n;
};

static void add(struct tlog *l, const char *name, const void *payload, size_t len)
{
    assert_true(l->n < 40 && len <= 1024);
    l->ev[l->n].name = name;
    memcpy(l->ev[l->n].payload, payload, len);
    l->ev[l->n].len = len;
    l->n++;
}

static void add_fill(struct tlog *l, const char *name, uint8_t byte, size_t len)
{
    uint8_t b[64];
    memset(b, byte, sizeof b);
    add(l, name, b, len);
}

static void remove_at(struct tlog *l, size_t i)
{
    memmove(&l->ev[i], &l->ev[i + 1], (l->n - i - 1) * sizeof l->ev[0]);
    l->n--;
}

static void insert_at(struct tlog *l, size_t i, const char *name, const void *p, size_t len)
{
    add(l, name, p, len);
    struct tev t = l->ev[l->n - 1];
    memmove(&l->ev[i + 1], &l->ev[i], (l->n - 1 - i) * sizeof l->ev[0]);
    l->ev[i] = t;
}

static const uint8_t policy_hash[32] = {0x81, 0xf5, 0xd3, 0xad, 1, 2, 3};
static const char nonce_hex[] = "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e";

/*
 * The gate's bundle shape (docs/gate.md), the keys the binding reads; compact, sorted, newline.
 * gpus GPU entries, then switches NVSwitch entries (arch ls10), the inventory listing the
 * NVSwitches; gate.mode and the set's mode when given (NULL: absent).
 */
static char *make_mode_bundle(unsigned gpus, unsigned switches, const char *gate_mode,
                              const char *set_mode, size_t *ret_len)
{
    char ph[65];
    dga_hex_encode(policy_hash, 32, ph);
    json_t *claims = json_array(), *list = json_array(), *ev = json_array(), *inv = json_array();
    for (unsigned i = 0; i < gpus + switches; i++) {
        json_array_append_new(claims, json_pack("{s:s}", "eat_nonce", nonce_hex));
        json_array_append_new(list, json_pack("{s:s}", "result", "pass"));
        json_array_append_new(
            ev, json_pack("{s:s,s:s}", "arch", i < gpus ? "hopper" : "ls10", "report", "00"));
    }
    for (unsigned i = 0; i < switches; i++) {
        json_array_append_new(inv, json_string("0000:05:00.0"));
    }
    json_t *b = json_pack("{s:i,s:o,s:o,s:o,s:{s:{s:[],s:o}},s:s,s:s,s:{s:s,s:s},s:{s:b,s:[]},"
                          "s:s}",
                          "bundle_version", 1, "claims", claims, "devices", list, "evidence", ev,
                          "gate", "inventory", "gpus", "nvswitches", inv, "gpu_policy_sha256", ph,
                          "nonce", nonce_hex, "trust_roots", "device", "nvidia", "rim", "nvidia",
                          "verdict", "pass", 1, "reasons", "verified_at", "2026-01-01T00:00:00Z");
    assert_non_null(b);
    if (gate_mode != NULL) {
        json_object_set_new(json_object_get(b, "gate"), "mode", json_string(gate_mode));
    }
    if (set_mode != NULL) {
        json_object_set_new(b, "mode", json_string(set_mode));
    }
    char *text = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(b);
    size_t n = strlen(text);
    char *out = malloc(n + 2);
    memcpy(out, text, n);
    out[n] = '\n';
    out[n + 1] = '\0';
    free(text);
    *ret_len = n + 1;
    return out;
}

/* The gate's bundle shape (docs/gate.md), the keys the binding reads; compact, sorted, newline. */
static char *make_bundle(unsigned devices, const char *root, const char *nonce_of_claims,
                         size_t *ret_len)
{
    char ph[65];
    dga_hex_encode(policy_hash, 32, ph);
    json_t *claims = json_array(), *list = json_array(), *ev = json_array();
    for (unsigned i = 0; i < devices; i++) {
        json_array_append_new(claims, json_pack("{s:s}", "eat_nonce", nonce_of_claims));
        json_array_append_new(list, json_pack("{s:s}", "result", "pass"));
        json_array_append_new(ev, json_pack("{s:s}", "report", "00"));
    }
    json_t *b = json_pack("{s:i,s:o,s:o,s:o,s:{s:{s:[],s:[]}},s:s,s:s,s:{s:s,s:s},s:{s:b,s:[]},"
                          "s:s}",
                          "bundle_version", 1, "claims", claims, "devices", list, "evidence", ev,
                          "gate", "inventory", "gpus", "nvswitches", "gpu_policy_sha256", ph,
                          "nonce", nonce_hex, "trust_roots", "device", root, "rim", "nvidia",
                          "verdict", "pass", 1, "reasons", "verified_at", "2026-01-01T00:00:00Z");
    assert_non_null(b);
    char *text = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(b);
    size_t n = strlen(text);
    char *out = malloc(n + 2);
    memcpy(out, text, n);
    out[n] = '\n';
    out[n + 1] = '\0';
    free(text);
    *ret_len = n + 1;
    return out;
}

static void make_payload(const char *bundle, size_t len, unsigned devices, bool devtools,
                         bool test_roots, char **ret, size_t *ret_len)
{
    struct dga_gate_event_fields f = {
        .devices = devices,
        .cc_mode = devices > 0 ? "on" : "none",
        .devtools = devtools,
        .test_roots = test_roots,
        .ocsp = "cache",
    };
    assert_int_equal(EVP_Digest(bundle, len, f.evidence_sha256, NULL, EVP_sha256(), NULL), 1);
    memcpy(f.gpu_policy_sha256, policy_hash, 32);
    assert_int_equal(dga_gate_event_payload(&f, ret, ret_len), DGA_E_OK);
}

/* dstack's order, the gate's two events first (its unit runs before dstack-prepare). */
static void std_log(struct tlog *l, const char *payload, size_t payload_len)
{
    static const char kp[] = "{\"name\":\"kms\",\"id\":\"abcd\"}";
    memset(l, 0, sizeof *l);
    if (payload != NULL) {
        add(l, DGA_EVENT_GPU_POLICY_HASH, policy_hash, 32);
        add(l, DGA_EVENT_GPU_ATTESTATION, payload, payload_len);
    }
    add(l, "system-preparing", "", 0);
    add_fill(l, "app-id", 0x11, 20);
    add_fill(l, "compose-hash", 0x22, 32);
    add_fill(l, "instance-id", 0x44, 20);
    add(l, "boot-mr-done", "", 0);
    add(l, "key-provider", kp, strlen(kp));
    add(l, "system-ready", "", 0);
    add(l, "app-event", "x", 1);
}

static size_t find(const struct tlog *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->ev[i].name, name) == 0) {
            return i;
        }
    }
    fail_msg("no %s", name);
    return 0;
}

/* The GetQuote response for the log, three boot events first; parsed into in. */
static void build_input(const struct tlog *l, const char *report_data, struct dga_cvm_input *in)
{
    json_t *arr = json_array();
    char digest[97];
    for (int i = 0; i < 3; i++) {
        uint8_t d[48];
        memset(d, 0x60 + i, sizeof d);
        dga_hex_encode(d, 48, digest);
        json_array_append_new(arr, json_pack("{s:i,s:I,s:s,s:s,s:s}", "imr", i, "event_type",
                                             (json_int_t)0x80000001, "digest", digest, "event", "",
                                             "event_payload", ""));
    }
    for (size_t i = 0; i < l->n; i++) {
        char hex[2049];
        dga_hex_encode(l->ev[i].payload, l->ev[i].len, hex);
        json_array_append_new(arr, json_pack("{s:i,s:I,s:s,s:s,s:s}", "imr", 3, "event_type",
                                             (json_int_t)DGA_EVENT_TYPE, "digest", "", "event",
                                             l->ev[i].name, "event_payload", hex));
    }
    char *log = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    json_t *o = json_pack("{s:s,s:s,s:s}", "quote", "00", "event_log", log, "vm_config",
                          "{\"os_image_hash\":\""
                          "5555555555555555555555555555555555555555555555555555555555555555"
                          "\"}");
    free(log);
    if (report_data != NULL) {
        json_object_set_new(o, "report_data", json_string(report_data));
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    struct dga_diag d = {0};
    dga_err e = dga_cvm_input_parse(text, strlen(text), in, &d);
    free(text);
    if (e != DGA_E_OK) {
        fail_msg("input: %s at %s %zu", dga_err_name(e), d.field, d.offset);
    }
}

/* A TD report whose registers are what the log replays to (a quote of this boot). */
static void registers_of(const struct dga_cvm_input *in, struct dga_td_report *td)
{
    uint8_t rtmr[4][DGA_EVENT_DIGEST_LEN];
    dga_eventlog_replay(in->log, rtmr);
    memset(td, 0, sizeof *td);
    memcpy(td->rt_mr, rtmr, sizeof rtmr);
    memset(td->mr_td, 0x77, 48);
}

static dga_err reappraise_ok(void *ctx, const uint8_t *bundle, size_t len, const json_t *doc,
                             const struct dga_cvm_expect *x,
                             const struct dga_cvm_gpu_payload *payload, time_t at,
                             struct dga_cvm_reappraisal *out, char *detail)
{
    (void)out;
    (void)bundle;
    (void)len;
    (void)doc;
    (void)x;
    (void)detail;
    (void)payload;
    *(time_t *)ctx = at;
    return DGA_E_OK;
}

struct run {
    struct tlog log;
    char *bundle;
    size_t bundle_len;
    char *payload;
    size_t payload_len;
    const char *report_data; /* for the input and the quote */
    bool no_callback;
    time_t reappraised_at;
    struct dga_cvm_result r;
};

static void run_setup(struct run *t, unsigned devices, bool devtools, const char *root)
{
    memset(t, 0, sizeof *t);
    t->bundle = make_bundle(devices, root, nonce_hex, &t->bundle_len);
    make_payload(t->bundle, t->bundle_len, devices, devtools, strcmp(root, "test") == 0,
                 &t->payload, &t->payload_len);
    std_log(&t->log, t->payload, t->payload_len);
}

static void run_verify(struct run *t, const char *expect)
{
    struct dga_cvm_input in;
    struct dga_td_report td;
    build_input(&t->log, t->report_data, &in);
    registers_of(&in, &td);
    if (t->report_data != NULL) {
        assert_int_equal(
            dga_hex_decode_fixed(t->report_data, td.report_data, strlen(t->report_data) / 2),
            DGA_E_OK);
    }
    struct dga_cvm_expect x;
    expect_parse(expect, &x);
    struct dga_cvm_quote_facts q = {.td = &td, .verified = true};
    struct dga_cvm_options opt = {.at = 1767229200, /* 2026-01-01T01:00:00Z */
                                  .reappraise = t->no_callback ? NULL : reappraise_ok,
                                  .reappraise_ctx = &t->reappraised_at};
    assert_int_equal(dga_cvm_verify(&q, &in, (const uint8_t *)t->bundle,
                                    t->bundle != NULL ? t->bundle_len : 0, &x, &opt, &t->r),
                     DGA_E_OK);
    dga_cvm_expect_clear(&x);
    dga_cvm_input_clear(&in);
}

static void run_free(struct run *t)
{
    dga_cvm_result_clear(&t->r);
    free(t->bundle);
    free(t->payload);
}

#define REQ2 "{\"gpu\":{\"required\":true,\"gpus\":{\"exact\":2}}}"

static void assert_fails(struct run *t, enum dga_cvm_check_id c, dga_err e, const char *detail)
{
    assert_false(t->r.valid);
    assert_int_equal(t->r.checks[c].status, DGA_CVM_FAIL);
    assert_string_equal(dga_err_name(t->r.checks[c].err), dga_err_name(e));
    assert_int_equal(t->r.err, e);
    if (detail != NULL) {
        assert_string_equal(t->r.checks[c].detail, detail);
    }
}

static void test_gpu_pass(void **state)
{
    (void)state;
    struct run t;
    run_setup(&t, 2, false, "nvidia");
    run_verify(&t, REQ2);
    for (int c = 0; c < (int)DGA_CVM_CHECK__COUNT; c++) {
        if (t.r.checks[c].status == DGA_CVM_FAIL) {
            fail_msg("%s: %s", dga_cvm_check_name((enum dga_cvm_check_id)c), t.r.checks[c].detail);
        }
    }
    assert_true(t.r.valid);
    assert_true(t.r.gpu_verified);
    assert_true(t.r.has_gpu_event);
    assert_int_equal(t.r.gpu.devices, 2);
    assert_string_equal(t.r.gpu_event_payload, t.payload);
    /* reappraise_at "bundle" (default): the bundle's own verified_at. */
    assert_int_equal(t.reappraised_at, 1767225600);
    dga_cvm_result_clear(&t.r);
    run_verify(&t, "{\"gpu\":{\"required\":true,\"reappraise_at\":\"now\",\"gpu_policy_hashes\":"
                   "[\"81f5d3ad01020300000000000000000000000000000000000000000000000000\"]}}");
    assert_true(t.r.valid);
    assert_int_equal(t.reappraised_at, 1767229200);
    dga_cvm_result_clear(&t.r);
    /* dstack's own position for the two events (after compose-hash) is accepted too. */
    remove_at(&t.log, 0);
    remove_at(&t.log, 0);
    size_t at = find(&t.log, "instance-id");
    insert_at(&t.log, at, DGA_EVENT_GPU_POLICY_HASH, policy_hash, 32);
    insert_at(&t.log, at + 1, DGA_EVENT_GPU_ATTESTATION, t.payload, t.payload_len);
    run_verify(&t, REQ2);
    assert_true(t.r.valid);
    dga_cvm_result_clear(&t.r);
    /* Without a re-appraisal the GPUs are bound but not verified. */
    t.no_callback = true;
    run_verify(&t, REQ2);
    assert_false(t.r.valid);
    assert_false(t.r.gpu_verified);
    assert_int_equal(t.r.checks[DGA_CVM_CHECK_GPU_BUNDLE].status, DGA_CVM_PASS);
    assert_int_equal(t.r.checks[DGA_CVM_CHECK_GPU_REAPPRAISE].status, DGA_CVM_NOT_RUN);
    assert_int_equal(t.r.err, DGA_E_CVM_NOT_RUN);
    run_free(&t);
}

static void test_two_gpu_events(void **state)
{
    (void)state;
    struct run t;
    run_setup(&t, 2, false, "nvidia");
    insert_at(&t.log, find(&t.log, "instance-id"), DGA_EVENT_GPU_ATTESTATION, t.payload,
              t.payload_len);
    run_verify(&t, REQ2);
    assert_fails(&t, DGA_CVM_CHECK_BOOT_SEQUENCE, DGA_E_CVM_EVENT_DUPLICATE,
                 "event 9: gpu-attestation more than 1 time(s)");
    assert_false(t.r.event_log_verified);
    run_free(&t);
}

static void test_gpu_event_after_ready(void **state)
{
    (void)state;
    struct run t;
    run_setup(&t, 2, false, "nvidia");
    remove_at(&t.log, 1);
    add(&t.log, DGA_EVENT_GPU_ATTESTATION, t.payload, t.payload_len);
    run_verify(&t, REQ2);
    assert_true(t.r.event_log_verified);
    assert_fails(&t, DGA_CVM_CHECK_GPU_EVENT, DGA_E_CVM_GPU_EVENT_ABSENT,
                 "no gpu-attestation event before system-ready (1 after it, ignored)");
    run_free(&t);
}

/*
 * A re-attestation after boot (the RPC service's EnsureGpuReady) measures a gpu-reattestation
 * event after system-ready: it is informational, feeds the replay and never binds. Before
 * system-ready it is no event of dstack's boot and breaks the sequence.
 */
static void test_gpu_reattestation(void **state)
{
    (void)state;
    struct run t;
    run_setup(&t, 2, false, "nvidia");
    /* a payload committing to another bundle: were it bound, the bundle check would fail */
    char *other = malloc(t.payload_len + 1);
    assert_non_null(other);
    memcpy(other, t.payload, t.payload_len);
    other[t.payload_len] = '\0';
    char *sha = strstr(other, "\"evidence_sha256\":\"");
    assert_non_null(sha);
    sha[strlen("\"evidence_sha256\":\"")] ^= 0x01;
    add(&t.log, DGA_EVENT_GPU_REATTESTATION, other, t.payload_len);
    run_verify(&t, REQ2);
    assert_true(t.r.valid);
    assert_true(t.r.gpu_verified);
    assert_true(t.r.event_log_verified);
    assert_string_equal(t.r.gpu_event_payload, t.payload); /* the boot's event, not the later one */
    dga_cvm_result_clear(&t.r);
    /* it never replaces the boot's gpu-attestation */
    remove_at(&t.log, find(&t.log, DGA_EVENT_GPU_ATTESTATION));
    run_verify(&t, REQ2);
    assert_true(t.r.event_log_verified);
    assert_fails(&t, DGA_CVM_CHECK_GPU_EVENT, DGA_E_CVM_GPU_EVENT_ABSENT,
                 "no gpu-attestation event before system-ready (0 after it, ignored)");
    run_free(&t);
    /* before system-ready: refused by the strict sequence */
    run_setup(&t, 2, false, "nvidia");
    insert_at(&t.log, find(&t.log, "system-ready"), DGA_EVENT_GPU_REATTESTATION, other,
              t.payload_len);
    run_verify(&t, REQ2);
    assert_fails(&t, DGA_CVM_CHECK_BOOT_SEQUENCE, DGA_E_CVM_EVENT_UNKNOWN,
                 "event 12 (gpu-reattestation) before system-ready");
    assert_false(t.r.event_log_verified);
    free(other);
    run_free(&t);
}

static void test_edited_log(void **state)
{
    (void)state;
    struct run t;
    run_setup(&t, 2, false, "nvidia");
    struct dga_cvm_input in;
    struct dga_td_report td;
    build_input(&t.log, NULL, &in);
    registers_of(&in, &td); /* the quote of the boot as it happened */
    dga_cvm_input_clear(&in);
    t.log.ev[find(&t.log, "app-event")].payload[0] = 'y'; /* the log as edited afterwards */
    build_input(&t.log, NULL, &in);
    struct dga_cvm_expect x;
    expect_parse(REQ2, &x);
    struct dga_cvm_quote_facts q = {.td = &td, .verified = true};
    struct dga_cvm_options opt = {
        .at = 1767229200, .reappraise = reappraise_ok, .reappraise_ctx = &t.reappraised_at};
    assert_int_equal(
        dga_cvm_verify(&q, &in, (const uint8_t *)t.bundle, t.bundle_len, &x, &opt, &t.r), DGA_E_OK);
    assert_fails(&t, DGA_CVM_CHECK_RUNTIME_REPLAY, DGA_E_RTMR_MISMATCH, NULL);
    assert_non_null(strstr(t.r.reason, "Event log verification failed: rtmr3-replay: "
                                       "rtmr-mismatch: RTMR3 mismatch, quoted: "));
    assert_int_equal(t.r.checks[DGA_CVM_CHECK_BOOT_REPLAY].status, DGA_CVM_PASS);
    dga_cvm_expect_clear(&x);
    dga_cvm_input_clear(&in);
    run_free(&t);
}

static void test_policy_hash_not_allowed(void **state)
{
    (void)state;
    struct run t;
    run_setup(&t, 2, false, "nvidia");
    run_verify(&t, "{\"gpu\":{\"required\":true,\"gpu_policy_hashes\":"
                   "[\"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"]}}");
    assert_fails(&t, DGA_CVM_CHECK_GPU_POLICY, DGA_E_CVM_NOT_ALLOWED,
                 "gpu-policy-hash 81f5d3ad01020300000000000000000000000000000000000000000000000000 "
                 "not allowed");
    dga_cvm_result_clear(&t.r);
    /* Required GPUs need the gpu-policy-hash event. */
    remove_at(&t.log, 0);
    run_verify(&t, REQ2);
    assert_fails(&t, DGA_CVM_CHECK_GPU_POLICY, DGA_E_CVM_EVENT_MISSING,
                 "no gpu-policy-hash event before system-ready");
    run_free(&t);
}

/*
 * docs/dstack.md's combinations, as the strict sequence sees them. The gate with
 * policy_hash_event "dstack" beside a dstack-util that emits gpu-policy-hash but no
 * gpu-attestation: the gate's event before system-preparing, dstack's hash at its own
 * place; accepted. The gate beside dstack's active GPU step (a second gpu-attestation at
 * dstack's place): refused, whichever position the first one took.
 */
static void test_dstack_combinations(void **state)
{
    (void)state;
    struct run t;
    run_setup(&t, 2, false, "nvidia");
    remove_at(&t.log, 0); /* the gate's gpu-policy-hash: dstack-util emits it instead */
    insert_at(&t.log, find(&t.log, "instance-id"), DGA_EVENT_GPU_POLICY_HASH, policy_hash, 32);
    run_verify(&t, REQ2);
    for (int c = 0; c < (int)DGA_CVM_CHECK__COUNT; c++) {
        if (t.r.checks[c].status == DGA_CVM_FAIL) {
            fail_msg("%s: %s", dga_cvm_check_name((enum dga_cvm_check_id)c), t.r.checks[c].detail);
        }
    }
    assert_true(t.r.valid);
    assert_true(t.r.gpu_verified);
    dga_cvm_result_clear(&t.r);
    /* dstack's GPU step still active: its own gpu-attestation after its gpu-policy-hash. */
    insert_at(&t.log, find(&t.log, "instance-id"), DGA_EVENT_GPU_ATTESTATION, t.payload,
              t.payload_len);
    run_verify(&t, REQ2);
    assert_fails(&t, DGA_CVM_CHECK_BOOT_SEQUENCE, DGA_E_CVM_EVENT_DUPLICATE,
                 "event 9: gpu-attestation more than 1 time(s)");
    dga_cvm_result_clear(&t.r);
    /* The gate alone in a non-dstack image: no dstack boot events, not dstack's sequence. */
    while (t.log.n > 2) {
        remove_at(&t.log, 1);
    }
    insert_at(&t.log, 0, DGA_EVENT_GPU_POLICY_HASH, policy_hash, 32);
    remove_at(&t.log, 2);
    run_verify(&t, REQ2);
    assert_fails(&t, DGA_CVM_CHECK_BOOT_SEQUENCE, DGA_E_CVM_EVENT_MISSING,
                 "no system-preparing event before system-ready");
    run_free(&t);
}

/* Sequence failures on the GPU-less log: the broken rule and its detail. */
static void sequence_case(void (*edit)(struct tlog *), dga_err want, const char *detail)
{
    struct run t;
    memset(&t, 0, sizeof t);
    std_log(&t.log, NULL, 0);
    edit(&t.log);
    run_verify(&t, "{}");
    assert_fails(&t, DGA_CVM_CHECK_BOOT_SEQUENCE, want, detail);
    assert_false(t.r.event_log_verified);
    assert_false(t.r.has_app_info);
    run_free(&t);
}

static void dup_app_id(struct tlog *l)
{
    insert_at(l, find(l, "compose-hash"), "app-id", l->ev[find(l, "app-id")].payload, 20);
}

static void swap_instance(struct tlog *l)
{
    struct tev tmp = l->ev[find(l, "compose-hash")];
    size_t a = find(l, "compose-hash"), b = find(l, "instance-id");
    l->ev[a] = l->ev[b];
    l->ev[b] = tmp;
}

static void unknown_name(struct tlog *l)
{
    insert_at(l, find(l, "boot-mr-done"), "LIUM_MINER_HOTKEY", "k", 1);
}

static void no_key_provider(struct tlog *l)
{
    remove_at(l, find(l, "key-provider"));
}

static void six_init_scripts(struct tlog *l)
{
    for (int i = 0; i < 6; i++) {
        uint8_t h[32] = {(uint8_t)i};
        insert_at(l, find(l, "instance-id"), "init-script-hash", h, 32);
    }
}

static void two_policy_hashes(struct tlog *l)
{
    insert_at(l, 0, DGA_EVENT_GPU_POLICY_HASH, policy_hash, 32);
    insert_at(l, find(l, "instance-id"), DGA_EVENT_GPU_POLICY_HASH, policy_hash, 32);
}

static void short_app_id(struct tlog *l)
{
    l->ev[find(l, "app-id")].len = 19;
}

static void no_ready(struct tlog *l)
{
    remove_at(l, find(l, "system-ready"));
}

static void test_sequence(void **state)
{
    (void)state;
    /* Element numbers count the three boot events first. */
    sequence_case(dup_app_id, DGA_E_CVM_EVENT_DUPLICATE, "event 6: app-id more than 1 time(s)");
    sequence_case(swap_instance, DGA_E_CVM_EVENT_ORDER,
                  "event 7: compose-hash out of dstack's order");
    sequence_case(unknown_name, DGA_E_CVM_EVENT_UNKNOWN,
                  "event 8 (LIUM_MINER_HOTKEY) before system-ready");
    sequence_case(no_key_provider, DGA_E_CVM_EVENT_MISSING,
                  "no key-provider event before system-ready");
    sequence_case(six_init_scripts, DGA_E_CVM_EVENT_DUPLICATE,
                  "event 12: init-script-hash more than 5 time(s)");
    sequence_case(two_policy_hashes, DGA_E_CVM_EVENT_DUPLICATE,
                  "event 8: gpu-policy-hash more than 1 time(s)");
    sequence_case(short_app_id, DGA_E_CVM_EVENT_PAYLOAD, "event 5: app-id payload of 19 bytes");
    sequence_case(no_ready, DGA_E_CVM_EVENT_UNKNOWN, "event 10 (app-event) before system-ready");
}

static void test_bundle_byte_changed(void **state)
{
    (void)state;
    struct run t;
    run_setup(&t, 2, false, "nvidia");
    t.bundle[t.bundle_len - 2] ^= 0x01; /* '}' before the newline */
    run_verify(&t, REQ2);
    assert_fails(&t, DGA_CVM_CHECK_GPU_BUNDLE, DGA_E_CVM_BUNDLE_DIGEST, NULL);
    assert_int_equal(t.r.checks[DGA_CVM_CHECK_GPU_REAPPRAISE].status, DGA_CVM_NOT_RUN);
    dga_cvm_result_clear(&t.r);
    free(t.bundle);
    t.bundle = NULL;
    run_verify(&t, REQ2);
    assert_fails(&t, DGA_CVM_CHECK_GPU_BUNDLE, DGA_E_CVM_BUNDLE_ABSENT,
                 "no GPU evidence bundle given");
    run_free(&t);
}

static void test_bundle_inconsistent(void **state)
{
    (void)state;
    struct run t;
    memset(&t, 0, sizeof t);
    /* The event commits to a bundle whose claims carry another nonce. */
    t.bundle = make_bundle(2, "nvidia", NONCE_N1, &t.bundle_len);
    make_payload(t.bundle, t.bundle_len, 2, false, false, &t.payload, &t.payload_len);
    std_log(&t.log, t.payload, t.payload_len);
    run_verify(&t, REQ2);
    assert_fails(&t, DGA_CVM_CHECK_GPU_BUNDLE, DGA_E_CVM_BUNDLE_MISMATCH,
                 "a claim's eat_nonce is not the bundle's nonce");
    dga_cvm_result_clear(&t.r);
    /* Too old for max_bundle_age (verified an hour before the verification time). */
    run_free(&t);
    run_setup(&t, 2, false, "nvidia");
    run_verify(&t, "{\"gpu\":{\"required\":true,\"max_bundle_age\":600}}");
    assert_fails(&t, DGA_CVM_CHECK_GPU_BUNDLE, DGA_E_CVM_BUNDLE_AGE,
                 "verified 3600 s before the verification time");
    run_free(&t);
}

static void test_devices(void **state)
{
    (void)state;
    struct run t;
    run_setup(&t, 1, false, "nvidia");
    run_verify(&t, REQ2);
    assert_fails(&t, DGA_CVM_CHECK_GPU_EVENT, DGA_E_CVM_GPU_DEVICES,
                 "devices 1, expected exactly 2");
    dga_cvm_result_clear(&t.r);
    run_verify(&t,
               "{\"gpu\":{\"required\":true,\"gpus\":{\"min\":1},\"nvswitches\":{\"exact\":4}}}");
    assert_fails(&t, DGA_CVM_CHECK_GPU_EVENT, DGA_E_CVM_GPU_DEVICES,
                 "nvswitches 0, expected exactly 4");
    run_free(&t);
}

/* A run on a bundle of make_mode_bundle, its payload saying cc_mode with these counts. */
static void mode_setup(struct run *t, unsigned gpus, unsigned switches, const char *gate_mode,
                       const char *set_mode, const char *cc_mode, unsigned nvswitches)
{
    memset(t, 0, sizeof *t);
    t->bundle = make_mode_bundle(gpus, switches, gate_mode, set_mode, &t->bundle_len);
    struct dga_gate_event_fields f = {
        .devices = gpus, .nvswitches = nvswitches, .cc_mode = cc_mode, .ocsp = "cache"};
    assert_int_equal(
        EVP_Digest(t->bundle, t->bundle_len, f.evidence_sha256, NULL, EVP_sha256(), NULL), 1);
    memcpy(f.gpu_policy_sha256, policy_hash, 32);
    assert_int_equal(dga_gate_event_payload(&f, &t->payload, &t->payload_len), DGA_E_OK);
    std_log(&t->log, t->payload, t->payload_len);
}

#define REQ_8X4                                                                                    \
    "{\"gpu\":{\"required\":true,\"mode\":\"ppcie\",\"gpus\":{\"exact\":8},\"nvswitches\":{"       \
    "\"exact\":4}}}"
#define REQ_8X4_ANY                                                                                \
    "{\"gpu\":{\"required\":true,\"mode\":\"any\",\"gpus\":{\"exact\":8},\"nvswitches\":{"         \
    "\"exact\":4}}}"
#define REQ_8 "{\"gpu\":{\"required\":true,\"mode\":\"any\",\"gpus\":{\"exact\":8}}}"

/*
 * cc_mode "ppcie" (the gate's PPCIe mode) binds to a bundle appraised in PPCIe mode, whose
 * device lists hold the GPUs and the NVSwitches; "on" to one that is neither PPCIe nor holds
 * NVSwitch evidence. Each mismatch is its own named refusal.
 */
static void test_ppcie_payload(void **state)
{
    (void)state;
    struct run t;
    mode_setup(&t, 8, 4, "ppcie", "ppcie", "ppcie", 4);
    run_verify(&t, REQ_8X4);
    assert_true(t.r.valid);
    assert_string_equal(t.r.gpu.cc_mode, "ppcie");
    assert_int_equal(t.r.gpu.nvswitches, 4);
    assert_int_equal(t.r.checks[DGA_CVM_CHECK_GPU_REAPPRAISE].status, DGA_CVM_PASS);
    run_free(&t);
    static const struct {
        const char *what;
        unsigned gpus, switches;
        const char *gate_mode, *set_mode, *cc_mode;
        unsigned nvswitches;
        const char *request;
        enum dga_cvm_check_id check;
        dga_err err;
        const char *text; /* NULL: the error alone */
    } refused[] = {
        {"a PPCIe payload committing to a CC bundle (the GPUs alone)", 8, 0, "cc", "cc", "ppcie", 0,
         REQ_8, DGA_CVM_CHECK_GPU_BUNDLE, DGA_E_CVM_GPU_MODE,
         "the event says cc_mode \"ppcie\", the bundle's gate.mode or mode is not \"ppcie\""},
        {"the set's mode alone says otherwise", 8, 4, "ppcie", "any", "ppcie", 4, REQ_8X4,
         DGA_CVM_CHECK_GPU_BUNDLE, DGA_E_CVM_GPU_MODE, NULL},
        {"a CC payload committing to a PPCIe bundle", 8, 4, "ppcie", "ppcie", "on", 4, REQ_8X4_ANY,
         DGA_CVM_CHECK_GPU_BUNDLE, DGA_E_CVM_GPU_MODE,
         "the event says cc_mode \"on\", the bundle was appraised in PPCIe mode"},
        {"a CC payload whose bundle says cc but holds an NVSwitch's evidence", 7, 1, "cc", "cc",
         "on", 1, "{\"gpu\":{\"required\":true,\"gpus\":{\"exact\":7}}}", DGA_CVM_CHECK_GPU_BUNDLE,
         DGA_E_CVM_GPU_MODE, "the event says cc_mode \"on\", the bundle holds NVSwitch evidence"},
        {"the NVSwitch count the payload states is the bundle's", 8, 4, "ppcie", "ppcie", "ppcie",
         3, REQ_8, DGA_CVM_CHECK_GPU_BUNDLE, DGA_E_CVM_BUNDLE_MISMATCH,
         "the bundle's device lists are not the event's device count"},
        {"ppcie needs GPUs", 0, 0, "ppcie", "ppcie", "ppcie", 0,
         "{\"gpu\":{\"required\":true,\"gpus\":{\"exact\":0}}}", DGA_CVM_CHECK_GPU_EVENT,
         DGA_E_CVM_GPU_CC_MODE, "cc_mode \"ppcie\" with 0 device(s)"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        print_message("refused: %s\n", refused[i].what);
        mode_setup(&t, refused[i].gpus, refused[i].switches, refused[i].gate_mode,
                   refused[i].set_mode, refused[i].cc_mode, refused[i].nvswitches);
        run_verify(&t, refused[i].request);
        assert_fails(&t, refused[i].check, refused[i].err, refused[i].text);
        run_free(&t);
    }
}

/* gpu.mode: a relying party takes a PPCIe board only when it says so (the default is cc). */
static void test_ppcie_needs_expected_mode(void **state)
{
    (void)state;
    struct run t;
    mode_setup(&t, 8, 4, "ppcie", "ppcie", "ppcie", 4);
    run_verify(&t, "{\"gpu\":{\"required\":true,\"gpus\":{\"exact\":8}}}");
    assert_fails(&t, DGA_CVM_CHECK_GPU_EVENT, DGA_E_CVM_GPU_CC_MODE,
                 "cc_mode \"ppcie\" is not allowed (gpu.mode cc)");
    dga_cvm_result_clear(&t.r);
    run_verify(&t, REQ_8X4_ANY);
    assert_true(t.r.valid);
    run_free(&t);
    /* A CC board under gpu.mode ppcie. */
    run_setup(&t, 2, false, "nvidia");
    run_verify(&t, "{\"gpu\":{\"required\":true,\"mode\":\"ppcie\"}}");
    assert_fails(&t, DGA_CVM_CHECK_GPU_EVENT, DGA_E_CVM_GPU_CC_MODE,
                 "cc_mode \"on\" is not allowed (gpu.mode ppcie)");
    run_free(&t);
}

/* A PPCIe payload states the NVSwitches attested: one without the count is refused. */
static void test_ppcie_payload_needs_nvswitches(void **state)
{
    (void)state;
    struct run t;
    mode_setup(&t, 8, 4, "ppcie", "ppcie", "ppcie", 4);
    uint8_t sha[32];
    char hex[65];
    assert_int_equal(EVP_Digest(t.bundle, t.bundle_len, sha, NULL, EVP_sha256(), NULL), 1);
    dga_hex_encode(sha, 32, hex);
    free(t.payload);
    t.payload = malloc(512);
    assert_non_null(t.payload);
    t.payload_len = (size_t)snprintf(t.payload, 512,
                                     "{\"version\":2,\"provider\":\"nvidia\",\"devices\":8,"
                                     "\"cc_mode\":\"ppcie\",\"devtools\":false,"
                                     "\"evidence_sha256\":\"%s\"}",
                                     hex);
    std_log(&t.log, t.payload, t.payload_len);
    run_verify(&t, REQ_8);
    assert_fails(&t, DGA_CVM_CHECK_GPU_EVENT, DGA_E_CVM_GPU_PAYLOAD,
                 "cc_mode \"ppcie\" without an nvswitches count");
    run_free(&t);
}

static void test_devtools(void **state)
{
    (void)state;
    struct run t;
    run_setup(&t, 2, true, "nvidia");
    run_verify(&t, REQ2);
    assert_fails(&t, DGA_CVM_CHECK_GPU_EVENT, DGA_E_CVM_GPU_DEVTOOLS, "devtools true, not allowed");
    dga_cvm_result_clear(&t.r);
    run_verify(&t, "{\"gpu\":{\"required\":true,\"allow_devtools\":true}}");
    assert_true(t.r.valid);
    run_free(&t);
}

static void test_trust_roots(void **state)
{
    (void)state;
    struct run t;
    run_setup(&t, 2, false, "test");
    run_verify(&t, REQ2);
    assert_fails(&t, DGA_CVM_CHECK_GPU_EVENT, DGA_E_CVM_GPU_TRUST_ROOTS,
                 "trust roots \"test\" not allowed");
    dga_cvm_result_clear(&t.r);
    run_verify(&t, "{\"gpu\":{\"required\":true,\"trust_roots\":[\"test\"]}}");
    assert_true(t.r.valid);
    run_free(&t);
}

/*
 * dstack's own payload (dstack-util builds it from the nvattest drop-in's
 * stdout) names no trust roots: the committed bundle's trust_roots.device
 * stands for it, under the expectations' allow-list, after the hash matched.
 */
static void dstack_payload_commit(struct run *t)
{
    uint8_t sha[32];
    char hex[65];
    assert_int_equal(EVP_Digest(t->bundle, t->bundle_len, sha, NULL, EVP_sha256(), NULL), 1);
    dga_hex_encode(sha, 32, hex);
    char text[256];
    snprintf(text, sizeof text,
             "{\"version\":2,\"provider\":\"nvidia\",\"devices\":2,\"cc_mode\":\"on\","
             "\"devtools\":false,\"evidence_sha256\":\"%s\"}",
             hex);
    t->payload = strdup(text);
    t->payload_len = strlen(text);
    std_log(&t->log, t->payload, t->payload_len);
}

static void dstack_payload_run(struct run *t, const char *root)
{
    memset(t, 0, sizeof *t);
    t->bundle = make_bundle(2, root, nonce_hex, &t->bundle_len);
    dstack_payload_commit(t);
}

static void test_dstack_payload_trust_roots(void **state)
{
    (void)state;
    struct run t;
    dstack_payload_run(&t, "nvidia");
    run_verify(&t, REQ2);
    assert_true(t.r.valid);
    assert_string_equal(t.r.gpu.trust_roots, "nvidia");
    assert_true(t.r.gpu.trust_roots_from_bundle);
    run_free(&t);
    /* a bundle on the test root: only where the expectations allow it */
    dstack_payload_run(&t, "test");
    run_verify(&t, REQ2);
    assert_fails(&t, DGA_CVM_CHECK_GPU_BUNDLE, DGA_E_CVM_GPU_TRUST_ROOTS,
                 "trust roots \"test\" (the bundle's) not allowed");
    assert_int_equal(t.r.checks[DGA_CVM_CHECK_GPU_REAPPRAISE].status, DGA_CVM_NOT_RUN);
    dga_cvm_result_clear(&t.r);
    run_verify(&t, "{\"gpu\":{\"required\":true,\"trust_roots\":[\"test\"]}}");
    assert_true(t.r.valid);
    assert_string_equal(t.r.gpu.trust_roots, "test");
    run_free(&t);
    /* a bundle that names no root either (nvattest's own output has none) */
    dstack_payload_run(&t, "");
    run_verify(&t, REQ2);
    assert_fails(&t, DGA_CVM_CHECK_GPU_BUNDLE, DGA_E_CVM_GPU_TRUST_ROOTS,
                 "neither the event nor the bundle names a device trust root");
    run_free(&t);
}

/*
 * dstack's own payload counts no NVSwitches: the committed bundle's
 * gate.inventory.nvswitches stands for it, after the hash matched.
 */
#define REQ2_SW(n)                                                                                 \
    "{\"gpu\":{\"required\":true,\"gpus\":{\"exact\":2},\"nvswitches\":{\"exact\":" n "}}}"

static void test_dstack_payload_nvswitches(void **state)
{
    (void)state;
    struct run t;
    dstack_payload_run(&t, "nvidia");
    run_verify(&t, REQ2_SW("0"));
    assert_true(t.r.valid);
    assert_true(t.r.gpu.has_nvswitches);
    assert_true(t.r.gpu.nvswitches_from_bundle);
    assert_int_equal(t.r.gpu.nvswitches, 0);
    dga_cvm_result_clear(&t.r);
    run_verify(&t, REQ2_SW("4"));
    assert_fails(&t, DGA_CVM_CHECK_GPU_BUNDLE, DGA_E_CVM_GPU_DEVICES,
                 "nvswitches 0 (the bundle's), expected exactly 4");
    assert_int_equal(t.r.checks[DGA_CVM_CHECK_GPU_EVENT].status, DGA_CVM_PASS);
    assert_int_equal(t.r.checks[DGA_CVM_CHECK_GPU_REAPPRAISE].status, DGA_CVM_NOT_RUN);
    run_free(&t);
    /* a bundle without an NVSwitch inventory cannot stand for the count */
    memset(&t, 0, sizeof t);
    t.bundle = make_bundle(2, "nvidia", nonce_hex, &t.bundle_len);
    char *at = strstr((char *)t.bundle, "\"nvswitches\":[]");
    assert_non_null(at);
    memcpy(at, "\"nvswitchez\"", 12);
    dstack_payload_commit(&t);
    run_verify(&t, REQ2_SW("0"));
    assert_fails(&t, DGA_CVM_CHECK_GPU_BUNDLE, DGA_E_CVM_GPU_DEVICES,
                 "nvswitches: neither the event nor the bundle counts them");
    dga_cvm_result_clear(&t.r);
    run_verify(&t, REQ2); /* no count expected: nothing to adopt */
    assert_true(t.r.valid);
    assert_false(t.r.gpu.has_nvswitches);
    run_free(&t);
}

/* The application chooses report_data: GPU claims there count for nothing. */
static void test_report_data_gpu_claims(void **state)
{
    (void)state;
    struct run t;
    memset(&t, 0, sizeof t);
    std_log(&t.log, NULL, 0);
    /* "gpu-attestation:devices=2,cc=on" as hex */
    t.report_data = "6770752d6174746573746174696f6e3a646576696365733d322c63633d6f6e";
    run_verify(&t, REQ2);
    assert_true(t.r.event_log_verified);
    assert_int_equal(t.r.checks[DGA_CVM_CHECK_REPORT_DATA].status, DGA_CVM_SKIPPED);
    assert_fails(&t, DGA_CVM_CHECK_GPU_EVENT, DGA_E_CVM_GPU_EVENT_ABSENT,
                 "no gpu-attestation event before system-ready (0 after it, ignored)");
    assert_false(t.r.has_gpu_event);
    run_free(&t);
}

static void test_payload_strict(void **state)
{
    (void)state;
    struct dga_cvm_gpu_payload p;
    struct dga_diag d = {0};
    static const char *const bad[][2] = {
        {"{\"version\":1,\"provider\":\"nvidia\",\"devices\":1,\"cc_mode\":\"on\",\"devtools\":"
         "false,"
         "\"evidence_sha256\":\""
         "0000000000000000000000000000000000000000000000000000000000000000"
         "\"}",
         "version"},
        {"{\"version\":2,\"provider\":\"amd\",\"devices\":1,\"cc_mode\":\"on\",\"devtools\":false,"
         "\"evidence_sha256\":\""
         "0000000000000000000000000000000000000000000000000000000000000000"
         "\"}",
         "provider"},
        {"{\"version\":2,\"provider\":\"nvidia\",\"devices\":1,\"cc_mode\":\"off\",\"devtools\":"
         "false,"
         "\"evidence_sha256\":\""
         "0000000000000000000000000000000000000000000000000000000000000000"
         "\"}",
         "cc_mode"},
        {"{\"version\":2,\"provider\":\"nvidia\",\"devices\":1,\"cc_mode\":\"on\",\"devtools\":"
         "false,"
         "\"evidence_sha256\":\""
         "000000000000000000000000000000000000000000000000000000000000000A"
         "\"}",
         "evidence_sha256"},
        {"{\"version\":2,\"provider\":\"nvidia\",\"devices\":1,\"cc_mode\":\"on\",\"devtools\":"
         "false,"
         "\"evidence_sha256\":\""
         "0000000000000000000000000000000000000000000000000000000000000000"
         "\",\"policy\":\"x\"}",
         "unknown member"},
        {"{\"version\":2,\"version\":2}", "payload"},
        {"{\"version\":2,\"provider\":\"nvidia\",\"devices\":8,\"cc_mode\":\"PPCIe\",\"devtools\":"
         "false,"
         "\"evidence_sha256\":\""
         "0000000000000000000000000000000000000000000000000000000000000000"
         "\",\"nvswitches\":4}",
         "cc_mode"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            dga_cvm_gpu_payload_parse((const uint8_t *)bad[i][0], strlen(bad[i][0]), &p, &d),
            DGA_E_CVM_GPU_PAYLOAD);
        assert_string_equal(d.field, bad[i][1]);
    }
    /* The gate's PPCIe payload parses: cc_mode "ppcie", its NVSwitches counted. */
    const char *ppcie = "{\"version\":2,\"provider\":\"nvidia\",\"devices\":8,\"cc_mode\":"
                        "\"ppcie\",\"devtools\":false,\"evidence_sha256\":\""
                        "00000000000000000000000000000000000000000000000000000000000000ff\","
                        "\"nvswitches\":4}";
    assert_int_equal(dga_cvm_gpu_payload_parse((const uint8_t *)ppcie, strlen(ppcie), &p, NULL),
                     DGA_E_OK);
    assert_string_equal(p.cc_mode, "ppcie");
    assert_true(p.has_nvswitches);
    assert_int_equal(p.nvswitches, 4);
    /* dstack's own v2 payload parses; it names no trust roots. */
    const char *dstack = "{\"version\":2,\"provider\":\"nvidia\",\"devices\":1,\"cc_mode\":\"on\","
                         "\"devtools\":false,\"evidence_sha256\":\""
                         "00000000000000000000000000000000000000000000000000000000000000ff\"}";
    assert_int_equal(dga_cvm_gpu_payload_parse((const uint8_t *)dstack, strlen(dstack), &p, NULL),
                     DGA_E_OK);
    assert_string_equal(p.trust_roots, "");
    assert_int_equal(p.evidence_sha256[31], 0xff);
}

/* ---- the expectations and input parsers ------------------------------------------------------ */

static void test_expect_parse(void **state)
{
    (void)state;
    struct dga_cvm_expect x;
    const char *doc = "{}";
    expect_parse(doc, &x);
    assert_int_equal(x.tcb_statuses, 1u << DGA_TCB_UP_TO_DATE);
    assert_false(x.allow_debug || x.gpu.required || x.gpu.allow_devtools || x.gpu.trust_test);
    assert_true(x.gpu.trust_nvidia);
    assert_false(x.app_id.present);
    assert_int_equal(x.gpu.reappraise_at, DGA_CVM_REAPPRAISE_BUNDLE);
    assert_int_equal(x.gpu.mode, DGA_CVM_GPU_MODE_CC);
    /* SHA-256("{}") */
    hex_is(x.sha256, 32, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    dga_cvm_expect_clear(&x);
    expect_parse(
        "{\"tcb_statuses\":[\"UpToDate\",\"SWHardeningNeeded\"],\"advisory_ids\":"
        "[\"INTEL-SA-00837\"],\"allow_debug\":true,\"gpu\":{\"required\":true,\"gpus\":"
        "{\"min\":2},\"nvswitches\":{\"exact\":0},\"max_bundle_age\":60,\"rim_dir\":\"r\","
        "\"collateral_dir\":\"c\",\"policy\":\"p.json\",\"trust_roots\":[\"test\",\"nvidia\"]}}",
        &x);
    assert_int_equal(x.tcb_statuses,
                     (1u << DGA_TCB_UP_TO_DATE) | (1u << DGA_TCB_SW_HARDENING_NEEDED));
    assert_string_equal(x.advisory_ids.names[0], "INTEL-SA-00837");
    assert_int_equal(x.gpu.gpus.kind, DGA_CVM_COUNT_MIN);
    assert_int_equal(x.gpu.gpus.n, 2);
    assert_int_equal(x.gpu.nvswitches.kind, DGA_CVM_COUNT_EXACT);
    assert_string_equal(x.gpu.policy, "p.json");
    assert_true(x.gpu.trust_test && x.gpu.trust_nvidia);
    dga_cvm_expect_clear(&x);

    static const char *const bad[][2] = {
        {"{\"appid\":[]}", "unknown key"},
        {"{\"app_id\":[]}", "app_id"},
        {"{\"app_id\":[\"3763BC34552CF3A27FF71AD5F7A90471562A1A2D\"]}", "app_id"},
        {"{\"app_id\":[\"3763bc34\"]}", "app_id"},
        {"{\"mrtd\":\"00\"}", "mrtd"},
        {"{\"tcb_statuses\":[\"uptodate\"]}", "tcb_statuses"},
        {"{\"allow_debug\":1}", "allow_debug"},
        {"{\"report_data\":\""
         "00000000000000000000000000000000000000000000000000000000000000000"
         "000000000000000000000000000000000000000000000000000000000000000000\"}",
         "report_data"},
        {"{\"gpu\":{\"gpus\":{\"exact\":1,\"min\":1}}}", "gpu.gpus"},
        {"{\"gpu\":{\"gpus\":{\"exact\":-1}}}", "gpu.gpus.exact"},
        {"{\"gpu\":{\"required\":\"yes\"}}", "gpu.required"},
        {"{\"gpu\":{\"trust_roots\":[\"nvidia\",\"nvidia\"]}}", "gpu.trust_roots"},
        {"{\"gpu\":{\"reappraise_at\":\"later\"}}", "gpu.reappraise_at"},
        {"{\"gpu\":{\"mode\":\"PPCIe\"}}", "gpu.mode"},
        {"{\"gpu\":{\"mode\":true}}", "gpu.mode"},
        {"{\"gpu\":{\"ocsp\":\"off\"}}", "gpu: unknown key"},
        {"{\"os_image_hash\":[\"5555555555555555555555555555555555555555555555555555555555555555\"]"
         "}",
         "os_image_hash"},
        {"{\"allow_debug\":true,\"allow_debug\":false}", "expectations"},
        {"[]", "expectations"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct dga_diag d = {0};
        assert_int_equal(dga_cvm_expect_parse(bad[i][0], strlen(bad[i][0]), &x, &d),
                         DGA_E_CVM_EXPECT);
        assert_string_equal(d.field, bad[i][1]);
    }
}

static void test_input_parse(void **state)
{
    (void)state;
    struct dga_cvm_input in;
    static const char *const bad[][2] = {
        {"{\"quote\":\"00\",\"event_log\":\"[]\",\"extra\":1}", "unknown member"},
        {"{\"quote\":\"00\",\"event_log\":\"[]\",\"attestation\":\"00\"}", "attestation"},
        {"{\"event_log\":\"[]\"}", "quote"},
        {"{\"quote\":\"0g\",\"event_log\":\"[]\"}", "quote"},
        {"{\"quote\":\"00\",\"event_log\":\"{\\\"event\\\":\\\"a\\\",\\\"payload\\\":\\\"\\\"}\"}",
         "event_log"},
        {"{\"quote\":\"00\",\"event_log\":[]}", "event_log"},
        {"{\"quote\":\"00\",\"event_log\":\"[]\",\"vm_config\":\"[]\"}", "vm_config"},
        {"{\"quote\":\"00\",\"event_log\":\"[]\",\"report_data\":\""
         "00000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "0"
         "0000000000\"}",
         "report_data"},
        /* U+0000 in a string member: refused naming the member, never cut at the NUL */
        {"{\"quote\":\"00\",\"event_log\":\"[]\",\"vm_config\":\"{}\\u0000x\"}", "vm_config"},
        {"{\"quote\":\"00\\u0000\",\"event_log\":\"[]\"}", "quote"},
        {"{\"quote\":\"00\",\"event_log\":\"[]\\u0000\"}", "event_log"},
        {"{\"quote\":\"00\",\"event_log\":\"[]\",\"report_data\":\"12\\u0000\"}", "report_data"},
        {"{\"quote\":\"00\",\"event_log\":\"[]\",\"gpu_bundle\":\"{}\\u0000\"}", "gpu_bundle"},
        {"{\"quote\":\"00\",\"event_log\":\"[]\",\"gpu_bundle\":{}}", "gpu_bundle"},
        {"{\"quote\":\"00\",\"event_log\":\"[]\",\"gpu_bundle\":null}", "gpu_bundle"},
        /* a NUL inside a key is still the reader's refusal */
        {"{\"quote\":\"00\",\"event_log\":\"[]\",\"a\\u0000\":1}", "input"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct dga_diag d = {0};
        assert_int_equal(dga_cvm_input_parse(bad[i][0], strlen(bad[i][0]), &in, &d),
                         DGA_E_CVM_INPUT);
        assert_string_equal(d.field, bad[i][1]);
    }
    const char *ok = "{\"quote\":\"0102\",\"event_log\":\"[]\",\"report_data\":\"1234\",\"debug\":"
                     "false}";
    assert_int_equal(dga_cvm_input_parse(ok, strlen(ok), &in, NULL), DGA_E_OK);
    assert_int_equal(in.quote_len, 2);
    assert_true(in.has_report_data);
    assert_int_equal(in.report_data[1], 0x34);
    assert_int_equal(in.report_data[2], 0);
    assert_int_equal(in.log->n, 0);
    assert_null(in.gpu_bundle);
    dga_cvm_input_clear(&in);

    /* gpu_bundle: the string's exact UTF-8 bytes, escapes decoded, newline kept. */
    const char *req = "{\"quote\":\"01\",\"event_log\":\"[]\",\"vm_config\":\"{}\","
                      "\"gpu_bundle\":\"{\\\"a\\\":\\\"\\u00e9\\\"}\\n\"}";
    assert_int_equal(dga_cvm_input_parse(req, strlen(req), &in, NULL), DGA_E_OK);
    assert_int_equal(in.gpu_bundle_len, 11);
    assert_memory_equal(in.gpu_bundle, "{\"a\":\"\xc3\xa9\"}\n", 11);
    assert_int_equal(in.vm_config_len, 2);
    assert_string_equal(in.vm_config, "{}");
    dga_cvm_input_clear(&in);
    /* "" is no bundle, as GpuInfo's empty attestation */
    const char *none = "{\"quote\":\"01\",\"event_log\":\"[]\",\"gpu_bundle\":\"\"}";
    assert_int_equal(dga_cvm_input_parse(none, strlen(none), &in, NULL), DGA_E_OK);
    assert_null(in.gpu_bundle);
    assert_int_equal(in.gpu_bundle_len, 0);
    dga_cvm_input_clear(&in);
}

static void test_bundle_read(void **state)
{
    (void)state;
    uint8_t *b = NULL;
    size_t n = 0;
    /* GpuInfo: the string's exact UTF-8 bytes, escapes decoded, newline kept. */
    const char *gi = "{\"attestation\":\"{\\\"a\\\":\\\"\\u00e9\\\"}\\n\"}";
    assert_int_equal(
        dga_cvm_bundle_read((const uint8_t *)gi, strlen(gi), DGA_CVM_BUNDLE_AUTO, &b, &n, NULL),
        DGA_E_OK);
    assert_int_equal(n, 11);
    assert_memory_equal(b, "{\"a\":\"\xc3\xa9\"}\n", 11);
    free(b);
    /* The raw form is taken as it is, byte for byte. */
    assert_int_equal(
        dga_cvm_bundle_read((const uint8_t *)gi, strlen(gi), DGA_CVM_BUNDLE_RAW, &b, &n, NULL),
        DGA_E_OK);
    assert_int_equal(n, strlen(gi));
    free(b);
    const char *bundle = "{\"bundle_version\":1}\n";
    assert_int_equal(dga_cvm_bundle_read((const uint8_t *)bundle, strlen(bundle),
                                         DGA_CVM_BUNDLE_AUTO, &b, &n, NULL),
                     DGA_E_OK);
    assert_memory_equal(b, bundle, strlen(bundle));
    free(b);
    assert_int_equal(dga_cvm_bundle_read((const uint8_t *)bundle, strlen(bundle),
                                         DGA_CVM_BUNDLE_GPUINFO, &b, &n, NULL),
                     DGA_E_CVM_BUNDLE_INPUT);
    const char *empty = "{\"attestation\":\"\"}";
    assert_int_equal(dga_cvm_bundle_read((const uint8_t *)empty, strlen(empty), DGA_CVM_BUNDLE_AUTO,
                                         &b, &n, NULL),
                     DGA_E_CVM_BUNDLE_ABSENT);
}

/* ---- the pipeline and its output (run.c, json.c) on dstack's fixture ------------------------- */

#define MAR1_2026 1772323200 /* the fixture's collateral is current then (unit_quote_verify) */
#define COLLATERAL                                                                                 \
    "tdx/tdx_quote_outdated_collateral.json" /* FMSPC 90C06F000000, the fixture's                  \
                                              */

struct run_fx {
    struct fx f;
    uint8_t *coll;
    size_t coll_len;
    struct dga_cvm_expect x;
    struct dga_cvm_options opt;
    struct dga_cvm_run_params p;
    struct dga_cvm_run run;
};

static void run_fx_load(struct run_fx *r, const char *expect, time_t at)
{
    memset(r, 0, sizeof *r);
    fx_load(&r->f);
    r->coll = fixture_read(COLLATERAL, &r->coll_len);
    assert_non_null(r->coll);
    expect_parse(expect, &r->x);
    r->opt = (struct dga_cvm_options){.at = at};
    r->p = (struct dga_cvm_run_params){
        .in = &r->f.in,
        .x = &r->x,
        .collateral = {.kind = DGA_CVM_COLLATERAL_JSON,
                       .json = (const char *)r->coll,
                       .json_len = r->coll_len},
        .opt = &r->opt,
    };
}

static void run_fx_free(struct run_fx *r)
{
    dga_cvm_run_clear(&r->run);
    dga_cvm_expect_clear(&r->x);
    free(r->coll);
    fx_free(&r->f);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The object's keys, sorted, comma-separated. */
static void keys_are(json_t *o, const char *want)
{
    assert_true(json_is_object(o));
    const char *names[64];
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        assert_true(n < 64);
        names[n++] = key;
    }
    qsort(names, n, sizeof names[0], by_name);
    char got[1024] = "";
    for (size_t i = 0; i < n; i++) {
        strcat(got, i > 0 ? "," : "");
        strcat(got, names[i]);
    }
    assert_string_equal(got, want);
}

static const char *str_at(const json_t *o, const char *path1, const char *path2)
{
    const json_t *v = json_object_get(o, path1);
    v = path2 != NULL ? json_object_get(v, path2) : v;
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void test_run_json_fixture(void **state)
{
    (void)state;
    struct run_fx r;
    run_fx_load(&r, "{}", MAR1_2026);
    assert_int_equal(dga_cvm_run(&r.p, &r.run, NULL), DGA_E_OK);
    assert_true(r.run.result.valid);
    json_t *j = dga_cvm_run_json(&r.run);
    assert_non_null(j);
    keys_are(j, "details,expectations_sha256,is_valid,reason,verified_at");
    assert_true(json_is_true(json_object_get(j, "is_valid")));
    assert_true(json_is_null(json_object_get(j, "reason")));
    assert_string_equal(str_at(j, "verified_at", NULL), "2026-03-01T00:00:00Z");
    /* SHA-256("{}") */
    assert_string_equal(str_at(j, "expectations_sha256", NULL),
                        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    json_t *d = json_object_get(j, "details");
    /* dstack-verifier's VerificationDetails (its optional acpi_tables, rtmr_debug omitted), ours */
    keys_are(d, "acpi_tables_verified,advisory_ids,app_info,boot_info,checks,event_log_verified,"
                "gpu,key_provider,os_image_hash_verified,os_image_is_dev,os_image_version,quote,"
                "quote_verified,report_data,tcb_status,tee_variant");
    assert_true(json_is_true(json_object_get(d, "quote_verified")));
    assert_true(json_is_true(json_object_get(d, "event_log_verified")));
    assert_true(json_is_false(json_object_get(d, "os_image_hash_verified")));
    assert_string_equal(str_at(d, "tcb_status", NULL), "UpToDate");
    assert_string_equal(str_at(d, "tee_variant", NULL), "dstack-tdx");
    assert_string_equal(str_at(d, "report_data", NULL),
                        "1234000000000000000000000000000000000000000000000000000000000000"
                        "0000000000000000000000000000000000000000000000000000000000000000");
    keys_are(json_object_get(d, "app_info"),
             "app_id,compose_hash,device_id,init_script_hashes,instance_id,key_provider_info,"
             "mr_aggregated,mr_system,os_image_hash");
    /* the fixture's event payloads and the values test_fixture_event_log derives */
    assert_string_equal(str_at(d, "app_info", "app_id"),
                        "3763bc34552cf3a27ff71ad5f7a90471562a1a2d");
    assert_string_equal(str_at(d, "app_info", "instance_id"),
                        "c3714eb66990eace777b4e664c16e09375dec4c9");
    assert_string_equal(str_at(d, "app_info", "mr_aggregated"),
                        "233c659f83048505bb1ef7f105245aa80f5d04e3d096c329da272d7ee13fbf38");
    /* vm_config's os_image_hash, as dstack's verifier reports it */
    assert_string_equal(str_at(d, "app_info", "os_image_hash"),
                        "14ad42d0270b444eaeb53918a5a94d9b17eec7a817cd336173b17c5327541c67");
    keys_are(json_object_get(d, "key_provider"), "id,name");
    assert_string_equal(str_at(d, "key_provider", "name"), "local-sgx");
    /* dstack's PolicyBootInfo; no GPU events in the fixture, so no GPU fields */
    keys_are(json_object_get(d, "boot_info"),
             "advisoryIds,appId,composeHash,deviceId,instanceId,keyProviderInfo,mrAggregated,"
             "mrSystem,osImageHash,tcbStatus,teeVariant");
    assert_string_equal(str_at(d, "boot_info", "keyProviderInfo"),
                        str_at(d, "app_info", "key_provider_info"));
    json_t *checks = json_object_get(d, "checks");
    assert_int_equal(json_array_size(checks), DGA_CVM_CHECK__COUNT);
    keys_are(json_array_get(checks, 0), "detail,error,name,status");
    assert_string_equal(str_at(json_array_get(checks, 0), "name", NULL), "quote");
    assert_string_equal(str_at(json_array_get(checks, 17), "name", NULL), "gpu-reappraisal");
    assert_string_equal(str_at(json_array_get(checks, 17), "status", NULL), "skipped");
    keys_are(json_object_get(d, "quote"), "advisory_ids,custom_root,fmspc,parsed,pck_ca,"
                                          "platform_status,qe_status,status,verified");
    assert_string_equal(str_at(d, "quote", "fmspc"), "90C06F000000");
    keys_are(json_object_get(d, "gpu"),
             "bundle_sha256,devices,evidence_sha256,gpu_policy_hash,mode,payload,policy_sha256,"
             "reappraised_at,required,topology,verified");
    json_decref(j);
    char *text = dga_cvm_run_text(&r.run);
    assert_non_null(text);
    assert_non_null(strstr(text, "pass quote\npass tcb-status\npass td-debug\n"
                                 "skipped report-data\npass rtmr0-2-replay\n"));
    assert_non_null(strstr(text, "skipped gpu-reappraisal\nvalid\n"));
    free(text);
    run_fx_free(&r);
}

/* GPUs required, a bundle given: the bundle's SHA-256 is reported, the event's absence named. */
static void test_run_json_gpu_required(void **state)
{
    (void)state;
    struct run_fx r;
    run_fx_load(&r, "{\"gpu\":{\"required\":true}}", MAR1_2026);
    r.p.bundle = (const uint8_t *)"{}";
    r.p.bundle_len = 2;
    assert_int_equal(dga_cvm_run(&r.p, &r.run, NULL), DGA_E_OK);
    assert_false(r.run.result.valid);
    json_t *j = dga_cvm_run_json(&r.run);
    assert_non_null(j);
    assert_string_equal(str_at(j, "reason", NULL),
                        "GPU verification failed: gpu-attestation: gpu-event-absent: "
                        "no gpu-attestation event before system-ready (0 after it, ignored)");
    json_t *g = json_object_get(json_object_get(j, "details"), "gpu");
    assert_true(json_is_true(json_object_get(g, "required")));
    assert_true(json_is_false(json_object_get(g, "verified")));
    /* SHA-256("{}") */
    assert_string_equal(str_at(g, "bundle_sha256", NULL),
                        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    assert_true(json_is_null(json_object_get(g, "payload")));
    json_decref(j);
    char *text = dga_cvm_run_text(&r.run);
    assert_non_null(strstr(text, "\nfail gpu-attestation: gpu-event-absent: no gpu-attestation "
                                 "event before system-ready (0 after it, ignored)\n"));
    assert_non_null(strstr(text, "\nnot-run gpu-reappraisal\ninvalid: GPU verification failed: "));
    free(text);
    run_fx_free(&r);
}

/* A quote that fails verification is a verdict: its error in the quote check, the log still read.
 */
static void test_run_quote_fails(void **state)
{
    (void)state;
    struct run_fx r;
    run_fx_load(&r, "{}", 1774051200 /* 2026-03-21: the TCB info has expired */);
    assert_int_equal(dga_cvm_run(&r.p, &r.run, NULL), DGA_E_OK);
    assert_false(r.run.result.valid);
    assert_true(r.run.quote.parsed);
    assert_false(r.run.quote.verified);
    assert_int_equal(r.run.quote.err, DGA_E_TCB_INFO_EXPIRED);
    assert_string_equal(r.run.quote.field, "tcb_info");
    assert_true(r.run.result.event_log_verified);
    assert_int_equal(r.run.result.err, DGA_E_CVM_QUOTE_UNVERIFIED);
    assert_string_equal(r.run.result.reason,
                        "Quote verification failed: quote: quote-not-verified: tcb-info-expired: "
                        "the TCB info nextUpdate is before the verification time (tcb_info)");
    json_t *j = dga_cvm_run_json(&r.run);
    json_t *d = json_object_get(j, "details");
    assert_true(json_is_null(json_object_get(d, "tcb_status")));
    assert_true(json_is_null(json_object_get(d, "report_data")));
    keys_are(json_object_get(d, "quote"), "custom_root,error,field,message,parsed,verified");
    assert_string_equal(str_at(d, "quote", "error"), "tcb-info-expired");
    json_decref(j);
    dga_cvm_run_clear(&r.run);

    /* A quote that does not parse: only the quote check can say anything. */
    static const char bad[] = "{\"quote\":\"0400\",\"event_log\":\"[]\"}";
    struct dga_cvm_input in;
    assert_int_equal(dga_cvm_input_parse(bad, strlen(bad), &in, NULL), DGA_E_OK);
    r.p.in = &in;
    r.opt.at = MAR1_2026;
    assert_int_equal(dga_cvm_run(&r.p, &r.run, NULL), DGA_E_OK);
    assert_false(r.run.quote.parsed);
    assert_int_equal(r.run.quote.err, DGA_E_TRUNCATED);
    assert_int_equal(r.run.result.checks[DGA_CVM_CHECK_QUOTE].status, DGA_CVM_FAIL);
    assert_int_equal(r.run.result.checks[DGA_CVM_CHECK_RUNTIME_REPLAY].status, DGA_CVM_NOT_RUN);
    assert_string_equal(r.run.result.reason, "Quote verification failed: quote: "
                                             "quote-not-verified: truncated: input is truncated "
                                             "(att_key_type)");
    j = dga_cvm_run_json(&r.run);
    d = json_object_get(j, "details");
    assert_true(json_is_false(json_object_get(d, "event_log_verified")));
    assert_true(json_is_null(json_object_get(d, "app_info")));
    assert_null(json_object_get(d, "boot_info"));
    assert_true(json_is_null(json_object_get(d, "tee_variant")));
    json_decref(j);
    dga_cvm_input_clear(&in);
    r.p.in = &r.f.in;
    run_fx_free(&r);
}

/*
 * A root named in the run is the last member of details.quote (the one place that writes
 * it, for the verify command and the server alike); no name, no member; too long a name
 * is refused before anything is read.
 */
static void test_run_json_trusted_root(void **state)
{
    (void)state;
    struct run_fx r;
    run_fx_load(&r, "{}", MAR1_2026);
    struct dga_trust root = {0};
    assert_int_equal(dga_trust_intel_sgx_root(&root), DGA_E_OK);
    r.p.root = &root;
    r.p.root_name = "/etc/test-root.der";
    assert_int_equal(dga_cvm_run(&r.p, &r.run, NULL), DGA_E_OK);
    assert_true(r.run.result.valid);
    json_t *j = dga_cvm_run_json(&r.run);
    json_t *q = json_object_get(json_object_get(j, "details"), "quote");
    assert_true(json_is_true(json_object_get(q, "custom_root")));
    assert_string_equal(str_at(q, "trusted_root", NULL), "/etc/test-root.der");
    char *text = json_dumps(q, JSON_COMPACT);
    assert_non_null(text);
    assert_non_null(
        strstr(text, ",\"pck_ca\":\"platform\",\"trusted_root\":\"/etc/test-root.der\"}"));
    free(text);
    json_decref(j);

    r.p.root_name = NULL;
    assert_int_equal(dga_cvm_run(&r.p, &r.run, NULL), DGA_E_OK);
    j = dga_cvm_run_json(&r.run);
    q = json_object_get(json_object_get(j, "details"), "quote");
    assert_true(json_is_true(json_object_get(q, "custom_root")));
    assert_null(json_object_get(q, "trusted_root"));
    json_decref(j);

    static char long_name[4097];
    memset(long_name, 'a', sizeof long_name - 1);
    r.p.root_name = long_name;
    struct dga_diag d = {0};
    assert_int_equal(dga_cvm_run(&r.p, &r.run, &d), DGA_E_BAD_ARGUMENT);
    assert_string_equal(d.field, "root_name");
    dga_trust_clear(&root);
    run_fx_free(&r);
}

/* A collateral source that does not deliver is no verdict: the caller's error. */
static void test_run_collateral_errors(void **state)
{
    (void)state;
    struct run_fx r;
    run_fx_load(&r, "{}", MAR1_2026);
    struct dga_diag d = {0};
    r.p.collateral.json = "{}";
    r.p.collateral.json_len = 2;
    assert_int_equal(dga_cvm_run(&r.p, &r.run, &d), DGA_E_QUOTE_COLLATERAL);
    assert_false(r.run.result.valid);
    r.p.collateral =
        (struct dga_cvm_collateral){.kind = DGA_CVM_COLLATERAL_DIR, .dir = "/nonexistent-dga-dir"};
    assert_int_equal(dga_cvm_run(&r.p, &r.run, &d), DGA_E_QUOTE_COLLATERAL_MISSING);
    assert_string_equal(d.field, "collateral_dir");
    assert_string_equal(r.run.collateral_path,
                        "/nonexistent-dga-dir/tdx/90C06F000000-platform.json");
    r.p.opt = NULL;
    assert_int_equal(dga_cvm_run(&r.p, &r.run, &d), DGA_E_BAD_ARGUMENT);
    run_fx_free(&r);
}

/* A re-appraisal that reports two devices, the second failing: what details.gpu.devices prints. */
static dga_err reappraise_devices(void *ctx, const uint8_t *bundle, size_t len, const json_t *doc,
                                  const struct dga_cvm_expect *x,
                                  const struct dga_cvm_gpu_payload *payload, time_t at,
                                  struct dga_cvm_reappraisal *out, char *detail)
{
    (void)ctx;
    (void)bundle;
    (void)len;
    (void)doc;
    (void)x;
    (void)payload;
    (void)at;
    out->devices = calloc(2, sizeof out->devices[0]);
    assert_non_null(out->devices);
    out->n_devices = 2;
    memset(out->policy_sha256, 0xab, 32);
    struct dga_cvm_gpu_device *d = out->devices;
    snprintf(d[0].label, sizeof d[0].label, "GPU-0");
    snprintf(d[0].arch, sizeof d[0].arch, "hopper");
    snprintf(d[0].ueid, sizeof d[0].ueid, "123");
    snprintf(d[0].driver_version, sizeof d[0].driver_version, "550.54.15");
    snprintf(d[0].measres, sizeof d[0].measres, "success");
    d[0].pass = true;
    snprintf(d[1].label, sizeof d[1].label, "GPU-1");
    snprintf(d[1].arch, sizeof d[1].arch, "hopper");
    snprintf(d[1].failed_check, sizeof d[1].failed_check, "signature");
    d[1].err = DGA_E_SIGNATURE_INVALID;
    snprintf(detail, DGA_CVM_DETAIL_LEN, "GPU-1: signature");
    return DGA_E_SIGNATURE_INVALID;
}

/* The synthetic GPU CVM's result as the pipeline would hold it, and its JSON. */
static json_t *gpu_run_json(struct run *t, struct dga_cvm_run *run)
{
    memset(run, 0, sizeof *run);
    run->result = t->r;
    memset(&t->r, 0, sizeof t->r); /* the run owns it now */
    run->gpu_required = true;
    run->has_bundle = true;
    assert_int_equal(
        EVP_Digest(t->bundle, t->bundle_len, run->bundle_sha256, NULL, EVP_sha256(), NULL), 1);
    json_t *j = dga_cvm_run_json(run);
    assert_non_null(j);
    return j;
}

static dga_err call_reappraise_devices(void *ctx, const uint8_t *bundle, size_t len,
                                       const json_t *doc, const struct dga_cvm_expect *x,
                                       const struct dga_cvm_gpu_payload *payload, time_t at,
                                       struct dga_cvm_reappraisal *out, char *detail)
{
    return reappraise_devices(ctx, bundle, len, doc, x, payload, at, out, detail);
}

static void test_run_json_gpu(void **state)
{
    (void)state;
    struct run t;
    run_setup(&t, 2, false, "nvidia");
    struct dga_cvm_input in;
    struct dga_td_report td;
    build_input(&t.log, NULL, &in);
    registers_of(&in, &td);
    struct dga_cvm_expect x;
    expect_parse(REQ2, &x);
    struct dga_cvm_quote_facts q = {.td = &td, .verified = true};
    struct dga_cvm_options opt = {.at = 1767229200, .reappraise = call_reappraise_devices};
    assert_int_equal(
        dga_cvm_verify(&q, &in, (const uint8_t *)t.bundle, t.bundle_len, &x, &opt, &t.r), DGA_E_OK);
    dga_cvm_expect_clear(&x);
    dga_cvm_input_clear(&in);
    struct dga_cvm_run run;
    json_t *j = gpu_run_json(&t, &run);
    assert_string_equal(str_at(j, "reason", NULL), "GPU verification failed: gpu-reappraisal: "
                                                   "signature-invalid: GPU-1: signature");
    json_t *g = json_object_get(json_object_get(j, "details"), "gpu");
    assert_true(json_is_false(json_object_get(g, "verified")));
    /* the payload's evidence_sha256 is the bundle's: the binding passed */
    assert_string_equal(str_at(g, "evidence_sha256", NULL), str_at(g, "bundle_sha256", NULL));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(g, "payload"), "devices")),
                     2);
    assert_string_equal(str_at(g, "reappraised_at", NULL), "2026-01-01T00:00:00Z");
    assert_string_equal(str_at(g, "gpu_policy_hash", NULL),
                        "81f5d3ad01020300000000000000000000000000000000000000000000000000");
    assert_string_equal(str_at(g, "policy_sha256", NULL),
                        "abababababababababababababababababababababababababababababababab");
    json_t *devs = json_object_get(g, "devices");
    assert_int_equal(json_array_size(devs), 2);
    keys_are(json_array_get(devs, 0), "arch,driver_version,error,failed_check,label,measres,pass,"
                                      "ueid,vbios_version");
    assert_string_equal(str_at(json_array_get(devs, 0), "driver_version", NULL), "550.54.15");
    assert_true(json_is_null(json_object_get(json_array_get(devs, 0), "vbios_version")));
    assert_true(json_is_null(json_object_get(json_array_get(devs, 0), "error")));
    assert_string_equal(str_at(json_array_get(devs, 1), "error", NULL), "signature-invalid");
    assert_string_equal(str_at(json_array_get(devs, 1), "failed_check", NULL), "signature");
    /* what a GPU-aware KMS would forward: the two events, the payload exactly as measured */
    json_t *b = json_object_get(json_object_get(j, "details"), "boot_info");
    assert_string_equal(str_at(b, "gpuPolicyHash", NULL),
                        "81f5d3ad01020300000000000000000000000000000000000000000000000000");
    assert_string_equal(str_at(b, "gpuAttestation", NULL), t.payload);
    json_decref(j);
    dga_cvm_run_clear(&run);
    run_free(&t);
}

/* A detail cut inside a UTF-8 sequence (an event name, "%.64s") still yields the verdict. */
static void test_run_json_cut_utf8(void **state)
{
    (void)state;
    struct run t;
    run_setup(&t, 1, false, "nvidia");
    char name[80];
    memset(name, 'a', 63);
    strcpy(name + 63, "\xc3\xa9"); /* é: byte 64 of the name is its first byte */
    insert_at(&t.log, find(&t.log, "boot-mr-done"), name, "", 0);
    run_verify(&t, "{}");
    assert_int_equal(t.r.checks[DGA_CVM_CHECK_BOOT_SEQUENCE].err, DGA_E_CVM_EVENT_UNKNOWN);
    struct dga_cvm_run run;
    json_t *j = gpu_run_json(&t, &run);
    json_t *checks = json_object_get(json_object_get(j, "details"), "checks");
    const char *detail =
        str_at(json_array_get(checks, DGA_CVM_CHECK_BOOT_SEQUENCE), "detail", NULL);
    char want[128];
    snprintf(want, sizeof want, "event 10 (%.63s?) before system-ready", name);
    assert_string_equal(detail, want);
    json_decref(j);
    dga_cvm_run_clear(&run);
    run_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_event_log),
        cmocka_unit_test(test_fixture_expectations),
        cmocka_unit_test(test_fixture_gpu_required),
        cmocka_unit_test(test_gpu_pass),
        cmocka_unit_test(test_two_gpu_events),
        cmocka_unit_test(test_gpu_event_after_ready),
        cmocka_unit_test(test_gpu_reattestation),
        cmocka_unit_test(test_edited_log),
        cmocka_unit_test(test_policy_hash_not_allowed),
        cmocka_unit_test(test_dstack_combinations),
        cmocka_unit_test(test_sequence),
        cmocka_unit_test(test_bundle_byte_changed),
        cmocka_unit_test(test_bundle_inconsistent),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_devtools),
        cmocka_unit_test(test_trust_roots),
        cmocka_unit_test(test_dstack_payload_trust_roots),
        cmocka_unit_test(test_dstack_payload_nvswitches),
        cmocka_unit_test(test_ppcie_payload),
        cmocka_unit_test(test_ppcie_payload_needs_nvswitches),
        cmocka_unit_test(test_ppcie_needs_expected_mode),
        cmocka_unit_test(test_report_data_gpu_claims),
        cmocka_unit_test(test_payload_strict),
        cmocka_unit_test(test_expect_parse),
        cmocka_unit_test(test_input_parse),
        cmocka_unit_test(test_bundle_read),
        cmocka_unit_test(test_run_json_fixture),
        cmocka_unit_test(test_run_json_gpu_required),
        cmocka_unit_test(test_run_quote_fails),
        cmocka_unit_test(test_run_json_trusted_root),
        cmocka_unit_test(test_run_collateral_errors),
        cmocka_unit_test(test_run_json_gpu),
        cmocka_unit_test(test_run_json_cut_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
