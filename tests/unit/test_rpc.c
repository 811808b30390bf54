/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RPC service's router and JSON layer (dga_rpc_call, docs/rpc.md) with no
 * socket: prpc's encoding selection, the route, the Empty argument, dstack's
 * error answer, and the binding of the bundle to the gpu-attestation event,
 * over a run directory and an event log written here (bundles with non-ASCII
 * and with invalid UTF-8 bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dga/measure.h"
#include "dga/rpc.h"
#include "dga/util.h"
#include "rpc/testing.h"
#include "testutil.h"

static char dir[64];
static struct dga_rpc *rpc;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dga-rpc-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char cfg[512];
    int n = snprintf(cfg, sizeof cfg,
                     "{\"rim_dir\":\"%s\",\"run_dir\":\"%s\",\"event_log_dir\":\"%s\","
                     "\"nvml\":\"%s/no-nvml.so\"}",
                     dir, dir, dir, dir);
    test_write_file(dir, "gate.json", cfg, (size_t)n);
    char path[128];
    snprintf(path, sizeof path, "%s/gate.json", dir);
    struct dga_rpc_config c;
    dga_rpc_config_defaults(&c);
    assert_int_equal(dga_rpc_new(&c, path, &rpc, NULL), DGA_E_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dga_rpc_free(rpc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* One call: the status and the body, which the caller frees. */
static char *call(const char *method, const char *uri, const char *ct, const char *body,
                  unsigned *ret_status)
{
    const struct dga_service_request req = {
        .method = method,
        .uri = uri,
        .content_type = ct,
        .body = (const uint8_t *)body,
        .body_len = body != NULL ? strlen(body) : 0,
    };
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(dga_rpc_call(rpc, &req, ret_status, &out, &len), DGA_E_OK);
    assert_int_equal(strlen(out), len);
    return out;
}

static void expect(const char *method, const char *uri, const char *ct, const char *body,
                   unsigned status, const char *want)
{
    unsigned got = 0;
    char *out = call(method, uri, ct, body, &got);
    if (got != status || strcmp(out, want) != 0) {
        fail_msg("%s %s: %u %s, want %u %s", method, uri, got, out, status, want);
    }
    free(out);
}

#define EMPTY "{\"attestation\":\"\"}"
#define ERR(m) "{\n  \"error\": \"" m "\"\n}"
#define PROTOBUF                                                                                   \
    ERR("rpc-protobuf: protobuf is not supported yet: send ?json or Content-Type: "                \
        "application/json")

static void test_encoding_selection(void **state)
{
    (void)state;
    expect("GET", "/GpuInfo", NULL, NULL, 200, EMPTY);
    expect("GET", "/GpuInfo?json=0", "application/octet-stream", NULL, 200, EMPTY); /* GET: JSON */
    expect("POST", "/GpuInfo?json", NULL, NULL, 200, EMPTY);
    expect("POST", "/GpuInfo?json=", NULL, NULL, 200, EMPTY);
    expect("POST", "/GpuInfo?a=b&json=true", NULL, NULL, 200, EMPTY);
    expect("POST", "/GpuInfo?json=1", NULL, NULL, 200, EMPTY);
    expect("POST", "/GpuInfo", "application/json", "{}", 200, EMPTY);
    expect("POST", "/GpuInfo", " Application/JSON; charset=utf-8", "", 200, EMPTY);
    expect("POST", "/GpuInfo", NULL, NULL, 400, PROTOBUF);
    expect("POST", "/GpuInfo?json=0", NULL, NULL, 400, PROTOBUF);
    expect("POST", "/GpuInfo?jsonx", NULL, NULL, 400, PROTOBUF);
    expect("POST", "/GpuInfo", "application/jsonx", NULL, 400, PROTOBUF);
    expect("POST", "/GpuInfo", "application/octet-stream", NULL, 400, PROTOBUF);
}

static void test_routes_and_bodies(void **state)
{
    (void)state;
    expect("GET", "/Nope", NULL, NULL, 400, ERR("rpc-method: no such RPC method: Nope"));
    expect("POST", "/Nope", NULL, NULL, 400, ERR("rpc-method: no such RPC method: Nope"));
    expect("GET", "/", NULL, NULL, 400,
           ERR("rpc-method: no such RPC method: the path is not /<Method>"));
    expect("GET", "/Gpu-Info", NULL, NULL, 400,
           ERR("rpc-method: no such RPC method: the path is not /<Method>"));
    expect("GET", "/GpuInfo/x", NULL, NULL, 400,
           ERR("rpc-method: no such RPC method: the path is not /<Method>"));
    expect("GET", "/prpc/GpuInfo", NULL, NULL, 400,
           ERR("rpc-method: no such RPC method: the path is not /<Method>"));
    expect("DELETE", "/GpuInfo", NULL, NULL, 400,
           ERR("rpc-http-method: RPC methods take GET or POST: DELETE"));
    expect("POST", "/GpuInfo?json", NULL, " \r\n", 200, EMPTY);
    expect("POST", "/GpuInfo?json", NULL, "{\"unknown\":1}", 200, EMPTY); /* serde: ignored */
    expect("POST", "/GpuInfo?json", NULL, "[]", 400,
           ERR("rpc-request: the RPC request body is not a JSON object: GpuInfo"));
    expect("POST", "/GpuInfo?json", NULL, "{\"a\":1,\"a\":2}", 400,
           ERR("rpc-request: the RPC request body is not a JSON object: GpuInfo"));
    expect("POST", "/GpuInfo?json", NULL, "{", 400,
           ERR("rpc-request: the RPC request body is not a JSON object: GpuInfo"));
}

/* Writes a bundle and a log whose gpu-attestation event commits to commit_to (NULL: no event). */
static void write_state(const char *bundle, size_t len, const char *commit_to, size_t commit_len)
{
    if (bundle != NULL) {
        test_write_file(dir, "evidence.json", bundle, len);
    }
    char log[4096] = "";
    if (commit_to != NULL) {
        uint8_t sha[32];
        char hex[65], payload[256];
        assert_int_equal(EVP_Digest(commit_to, commit_len, sha, NULL, EVP_sha256(), NULL), 1);
        dga_hex_encode(sha, 32, hex);
        int n =
            snprintf(payload, sizeof payload, "{\"version\":2,\"evidence_sha256\":\"%s\"}", hex);
        char *line = NULL;
        assert_int_equal(dga_event_log_line(DGA_EVENT_V1, DGA_EVENT_GPU_ATTESTATION,
                                            (const uint8_t *)payload, (size_t)n, &line),
                         DGA_E_OK);
        snprintf(log, sizeof log, "%s\n", line);
        free(line);
    }
    test_write_file(dir, "runtime_events.log", log, strlen(log));
}

static void test_bundle_binding(void **state)
{
    (void)state;
    /* non-ASCII bytes served exactly: JSON escapes only what it must */
    const char b[] = "{\"name\":\"caf\xc3\xa9 \xf0\x9f\x94\x92\"}\n";
    write_state(b, strlen(b), b, strlen(b));
    expect("GET", "/GpuInfo", NULL, NULL, 200,
           "{\"attestation\":\"{\\\"name\\\":\\\"caf\xc3\xa9 \xf0\x9f\x94\x92\\\"}\\n\"}");
    /* U+0000 is UTF-8 too: served escaped, and it decodes to the same bytes */
    const char nul[] = "\"a\0b\"";
    write_state(nul, sizeof nul - 1, nul, sizeof nul - 1);
    expect("GET", "/GpuInfo", NULL, NULL, 200, "{\"attestation\":\"\\\"a\\u0000b\\\"\"}");
    /* one byte different from what the event commits to */
    write_state(b, strlen(b) - 1, b, strlen(b));
    unsigned status = 0;
    char *out = call("GET", "/GpuInfo", NULL, NULL, &status);
    assert_int_equal(status, 400);
    assert_non_null(strstr(out, "rpc-bundle-mismatch"));
    free(out);
    out = call("GET", "/GetGpuAttestation", NULL, NULL, &status);
    assert_int_equal(status, 400);
    assert_non_null(strstr(out, "rpc-bundle-mismatch"));
    free(out);
    /* a bundle but no event: never committed */
    write_state(b, strlen(b), NULL, 0);
    out = call("GET", "/GpuInfo", NULL, NULL, &status);
    assert_int_equal(status, 400);
    assert_non_null(strstr(out, "\"error\": \"rpc-bundle-uncommitted: "));
    free(out);
}

static void test_bundle_utf8(void **state)
{
    (void)state;
    static const char *const invalid[] = {
        "\xff",             /* never a lead byte */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, three bytes */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xc3",             /* cut */
        "\xe2\x82",         /* cut */
        "\xc3\x28",         /* not a continuation */
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        char b[32];
        int n = snprintf(b, sizeof b, "\"%s\"", invalid[i]);
        write_state(b, (size_t)n, b, (size_t)n);
        unsigned status = 0;
        char *out = call("GET", "/GpuInfo", NULL, NULL, &status);
        if (status != 400 || strstr(out, "\"error\": \"rpc-bundle-utf8: ") == NULL) {
            fail_msg("invalid[%zu]: %u %s", i, status, out);
        }
        free(out);
    }
    const char ok[] = "\"\xef\xbf\xbf \xf4\x8f\xbf\xbf \xed\x9f\xbf\"";
    write_state(ok, strlen(ok), ok, strlen(ok));
    unsigned status = 0;
    free(call("GET", "/GpuInfo", NULL, NULL, &status));
    assert_int_equal(status, 200);
}

static void test_state_missing(void **state)
{
    (void)state;
    /* an event but the bundle gone; then neither: the gate never ran */
    char path[128];
    snprintf(path, sizeof path, "%s/evidence.json", dir);
    write_state(NULL, 0, "x", 1);
    unlink(path);
    unsigned status = 0;
    char *out = call("GET", "/GpuInfo", NULL, NULL, &status);
    assert_int_equal(status, 400);
    assert_non_null(strstr(out, "\"error\": \"rpc-bundle-missing: "));
    free(out);
    write_state(NULL, 0, NULL, 0);
    expect("GET", "/GpuInfo", NULL, NULL, 200, EMPTY);
    out = call("GET", "/GetGpuAttestation", NULL, NULL, &status);
    assert_int_equal(status, 200);
    assert_non_null(strstr(out, "\"bundle\":\"\",\"bundle_sha256\":\"\",\"events\":[],"
                                "\"verdict\":null,\"state\":{\"error\":\"nvml-"));
    free(out);
}

/* AttestGpuRequest's nonce: exactly 32 bytes of hex, each refusal naming the field and why. */
static void test_attest_args(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *detail; /* NULL: accepted */
    } cases[] = {
        {"{}", "nonce: missing (32 bytes as hex)"},
        {"{\"nonce\":null}", "nonce: missing (32 bytes as hex)"},
        {"{\"nonce\":7}", "nonce: not a string (32 bytes as hex)"},
        {"{\"nonce\":[]}", "nonce: not a string (32 bytes as hex)"},
        {"{\"nonce\":\"\"}", "nonce: 0 bytes, want 32"},
        {"{\"nonce\":\"0g\"}", "nonce: not hex"},
        {"{\"nonce\":\" 00\"}", "nonce: not hex"},
        {"{\"nonce\":\"00\\u00000\"}", "nonce: not hex"},
        {"{\"nonce\":\"000\"}", "nonce: an odd number of hex digits"},
        {"{\"nonce\":\""
         "00000000000000000000000000000000000000000000000000000000000000"
         "\"}",
         "nonce: 31 bytes, want 32"},
        {"{\"nonce\":\""
         "000000000000000000000000000000000000000000000000000000000000000000"
         "\"}",
         "nonce: 33 bytes, want 32"},
        {"{\"nonce\":\""
         "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F"
         "\"}",
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *args = json_loads(cases[i].json, JSON_ALLOW_NUL, NULL);
        assert_non_null(args);
        uint8_t nonce[DGA_NONCE_LEN];
        memset(nonce, 0xee, sizeof nonce);
        char detail[128] = "";
        dga_err e = rpc_attest_args(args, nonce, detail);
        json_decref(args);
        if (cases[i].detail == NULL) {
            assert_int_equal(e, DGA_E_OK);
            for (size_t k = 0; k < sizeof nonce; k++) {
                assert_int_equal(nonce[k], k);
            }
            continue;
        }
        if (e != DGA_E_RPC_FIELD || strcmp(detail, cases[i].detail) != 0) {
            fail_msg("%s: %s %s, want %s", cases[i].json, dga_err_name(e), detail, cases[i].detail);
        }
        assert_int_equal(nonce[0], 0xee); /* untouched */
    }
}

/* The token bucket: burst 2, one token per 10 s, on a clock of the test's own. */
static void test_bucket(void **state)
{
    (void)state;
    struct rpc_bucket b = {.burst = 2, .interval_ms = 10000};
    int64_t wait = -1;
    const int64_t t0 = 1000000;
    assert_true(rpc_bucket_take(&b, t0, &wait));
    assert_true(rpc_bucket_take(&b, t0, &wait));
    assert_int_equal(wait, -1);
    assert_false(rpc_bucket_take(&b, t0, &wait));
    assert_int_equal(wait, 10000);
    assert_false(rpc_bucket_take(&b, t0 + 9999, &wait)); /* refused calls cost nothing */
    assert_int_equal(wait, 1);
    assert_true(rpc_bucket_take(&b, t0 + 10000, &wait)); /* one token back per interval */
    assert_false(rpc_bucket_take(&b, t0 + 10000, &wait));
    assert_int_equal(wait, 10000);
    assert_true(rpc_bucket_take(&b, t0 + 100000, &wait)); /* a long pause refills only the burst */
    assert_true(rpc_bucket_take(&b, t0 + 100000, &wait));
    assert_false(rpc_bucket_take(&b, t0 + 100000, &wait));
    struct rpc_bucket unlimited = {.burst = 1, .interval_ms = 0};
    for (int i = 0; i < 100; i++) {
        assert_true(rpc_bucket_take(&unlimited, t0, &wait));
    }
    struct rpc_bucket zero = {.burst = 0, .interval_ms = 1000}; /* a burst of 0 is 1 */
    assert_true(rpc_bucket_take(&zero, t0, &wait));
    assert_false(rpc_bucket_take(&zero, t0, &wait));
    assert_int_equal(wait, 1000);
}

/* The two options and their defaults; a burst of 0 is refused. */
static void test_attest_options(void **state)
{
    (void)state;
    struct dga_rpc_config c;
    dga_rpc_config_defaults(&c);
    assert_int_equal(c.attest_burst, 2);
    assert_int_equal(c.attest_interval, 10);
    const struct dga_service_options *t = dga_rpc_config_options();
    assert_int_equal(dga_service_options_set(t, &c, "attest-burst", "5"), DGA_E_OK);
    assert_int_equal(c.attest_burst, 5);
    assert_int_equal(dga_service_options_set(t, &c, "attest-burst", "0"), DGA_E_BAD_ARGUMENT);
    assert_int_equal(c.attest_burst, 5);
    assert_int_equal(dga_service_options_set(t, &c, "attest-interval", "2m"), DGA_E_OK);
    assert_int_equal(c.attest_interval, 120);
    assert_int_equal(dga_service_options_set(t, &c, "attest-interval", "0"), DGA_E_OK);
    assert_int_equal(c.attest_interval, 0);
    assert_non_null(strstr(dga_rpc_config_help(), "--attest-interval"));
}

/* Through the router: a bad nonce is 400 naming the field; a boot that did not pass is refused
 * before NVML is touched (this config's NVML does not exist). */
static void test_ensure_attest_routes(void **state)
{
    (void)state;
    expect("GET", "/AttestGpu", NULL, NULL, 400,
           ERR("rpc-field: an RPC request field is missing or invalid: nonce: missing (32 bytes "
               "as hex)"));
    expect("POST", "/AttestGpu?json", NULL, "{\"nonce\":\"abc\"}", 400,
           ERR("rpc-field: an RPC request field is missing or invalid: nonce: an odd number of "
               "hex digits"));
    write_state(NULL, 0, NULL, 0);
    expect("GET", "/EnsureGpuReady", NULL, NULL, 200,
           "{\"ready\":false,\"outcome\":\"refused\",\"reason\":\"boot gate: the gate never "
           "ran (no bundle, no gpu-attestation event)\",\"reattestation_sha256\":\"\"}");
    const char b[] = "{\"verdict\":{\"pass\":true}}\n";
    write_state(b, strlen(b), NULL, 0);
    unsigned status = 0;
    char *out = call("POST", "/EnsureGpuReady?json", NULL, "{}", &status);
    assert_int_equal(status, 200);
    assert_non_null(strstr(out, "\"ready\":false,\"outcome\":\"refused\",\"reason\":\"boot "
                                "gate: rpc-bundle-uncommitted: "));
    free(out);
    /* committed, but the verdict is not a pass: never re-attested */
    const char f[] = "{\"verdict\":{\"pass\":false}}\n";
    write_state(f, strlen(f), f, strlen(f));
    expect("GET", "/EnsureGpuReady", NULL, NULL, 200,
           "{\"ready\":false,\"outcome\":\"refused\",\"reason\":\"boot gate: the committed "
           "bundle's verdict is not a pass\",\"reattestation_sha256\":\"\"}");
    /* a pass whose payload names no devices */
    write_state(b, strlen(b), b, strlen(b));
    expect("GET", "/EnsureGpuReady", NULL, NULL, 200,
           "{\"ready\":false,\"outcome\":\"refused\",\"reason\":\"boot gate: the "
           "gpu-attestation payload (log line 1) has no devices/devtools\","
           "\"reattestation_sha256\":\"\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_encoding_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routes_and_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_missing, setup, teardown),
        cmocka_unit_test(test_attest_args),
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_attest_options),
        cmocka_unit_test_setup_teardown(test_ensure_attest_routes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
