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
#include "dstack_gpu_attest.pb-c.h"
#include "rpc/internal.h"
#include "rpc/pbjson.h"
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

/* One call with a body of n bytes: the status, the body (the caller frees) and its length. */
static char *call_n(const char *method, const char *uri, const char *ct, const void *body, size_t n,
                    unsigned *ret_status, size_t *ret_len)
{
    const struct dga_service_request req = {
        .method = method,
        .uri = uri,
        .content_type = ct,
        .body = body,
        .body_len = n,
    };
    char *out = NULL;
    assert_int_equal(dga_rpc_call(rpc, &req, ret_status, &out, ret_len), DGA_E_OK);
    return out;
}

/* One JSON-mode call: the status and the body, which the caller frees. */
static char *call(const char *method, const char *uri, const char *ct, const char *body,
                  unsigned *ret_status)
{
    size_t len = 0;
    char *out = call_n(method, uri, ct, body, body != NULL ? strlen(body) : 0, ret_status, &len);
    assert_int_equal(strlen(out), len);
    return out;
}

/* One call and what it must answer: the whole text, or (part) a piece of it. */
struct row {
    const char *method, *uri, *ct, *body;
    unsigned status;
    const char *want;
    bool part;
};

static void expect_row(const struct row *r)
{
    unsigned got = 0;
    char *out = call(r->method, r->uri, r->ct, r->body, &got);
    bool same = r->part ? strstr(out, r->want) != NULL : strcmp(out, r->want) == 0;
    if (got != r->status || !same) {
        fail_msg("%s %s: %u %s, want %u %s%s", r->method, r->uri, got, out, r->status,
                 r->part ? "... " : "", r->want);
    }
    free(out);
}

static void expect_rows(const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        expect_row(&rows[i]);
    }
}

#define EXPECT_ROWS(rows) expect_rows(rows, sizeof rows / sizeof rows[0])

static void expect(const char *method, const char *uri, const char *ct, const char *body,
                   unsigned status, const char *want)
{
    expect_row(&(struct row){method, uri, ct, body, status, want, false});
}

/* A call whose answer holds want somewhere. */
static void expect_part(const char *method, const char *uri, const char *body, unsigned status,
                        const char *want)
{
    expect_row(&(struct row){method, uri, NULL, body, status, want, true});
}

#define EMPTY "{\"attestation\":\"\"}"
#define ERR(m) "{\n  \"error\": \"" m "\"\n}"
#define BAD_JSON                                                                                   \
    ERR("rpc-request: the RPC request is not the method's request message: GpuInfo: not a JSON "   \
        "object")

/* A protobuf-mode call answering 200 with an empty GpuInfoResponse (no bytes: attestation ""). */
static void expect_pb_empty(const char *uri, const char *ct)
{
    unsigned status = 0;
    size_t len = 0;
    free(call_n("POST", uri, ct, "", 0, &status, &len));
    if (status != 200 || len != 0) {
        fail_msg("POST %s (%s): %u, %zu bytes: not protobuf mode", uri, ct != NULL ? ct : "-",
                 status, len);
    }
}

/* A protobuf-mode call answering 400 with a PrpcError whose message is want. */
static void expect_pb_error(const char *method, const char *uri, const void *body, size_t n,
                            const char *want)
{
    unsigned status = 0;
    size_t len = 0;
    char *out = call_n(method, uri, "application/octet-stream", body, n, &status, &len);
    DstackGpuAttest__PrpcError *pe =
        dstack_gpu_attest__prpc_error__unpack(NULL, len, (const uint8_t *)out);
    if (status != 400 || pe == NULL || strcmp(pe->message, want) != 0) {
        fail_msg("%s %s: %u, %s, want PrpcError %s", method, uri, status,
                 pe != NULL ? pe->message : "(not a PrpcError)", want);
    }
    dstack_gpu_attest__prpc_error__free_unpacked(pe, NULL);
    free(out);
}

static void test_encoding_selection(void **state)
{
    (void)state;
    static const struct row json[] = {
        {"GET", "/GpuInfo", NULL, NULL, 200, EMPTY, false},
        {"GET", "/GpuInfo?json=0", "application/octet-stream", NULL, 200, EMPTY, false}, /* GET */
        {"POST", "/GpuInfo?json", NULL, NULL, 200, EMPTY, false},
        {"POST", "/GpuInfo?json=", NULL, NULL, 200, EMPTY, false},
        {"POST", "/GpuInfo?a=b&json=true", NULL, NULL, 200, EMPTY, false},
        {"POST", "/GpuInfo?json=1", NULL, NULL, 200, EMPTY, false},
        {"POST", "/GpuInfo", "application/json", "{}", 200, EMPTY, false},
        {"POST", "/GpuInfo", " Application/JSON; charset=utf-8", "", 200, EMPTY, false},
    };
    EXPECT_ROWS(json);
    static const struct {
        const char *uri, *ct;
    } protobuf[] = {
        {"/GpuInfo", NULL},
        {"/GpuInfo?json=0", NULL},
        {"/GpuInfo?jsonx", NULL},
        {"/GpuInfo", "application/jsonx"},
        {"/GpuInfo", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof protobuf / sizeof protobuf[0]; i++) {
        expect_pb_empty(protobuf[i].uri, protobuf[i].ct);
    }
}

#define NO_METHOD ERR("rpc-method: no such RPC method: the path is not /<Method>")
#define BAD_REQUEST(m)                                                                             \
    ERR("rpc-request: the RPC request is not the method's request message: GpuInfo: " m)

static void test_routes_and_bodies(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"GET", "/Nope", NULL, NULL, 400, ERR("rpc-method: no such RPC method: Nope"), false},
        {"POST", "/Nope?json", NULL, NULL, 400, ERR("rpc-method: no such RPC method: Nope"), false},
        {"GET", "/", NULL, NULL, 400, NO_METHOD, false},
        {"GET", "/Gpu-Info", NULL, NULL, 400, NO_METHOD, false},
        {"GET", "/GpuInfo/x", NULL, NULL, 400, NO_METHOD, false},
        {"GET", "/prpc/GpuInfo", NULL, NULL, 400, NO_METHOD, false},
        {"DELETE", "/GpuInfo?json", NULL, NULL, 400,
         ERR("rpc-http-method: RPC methods take GET or POST: DELETE"), false},
        {"POST", "/GpuInfo?json", NULL, " \r\n", 200, EMPTY, false},
        {"POST", "/GpuInfo?json", NULL, "{\"unknown\":1}", 200, EMPTY, false}, /* serde: ignored */
        {"POST", "/GpuInfo?json", NULL, "[]", 400, BAD_JSON, false},
        {"POST", "/GpuInfo?json", NULL, "{\"a\":1,\"a\":2}", 400, BAD_JSON, false},
        {"POST", "/GpuInfo?json", NULL, "{", 400, BAD_JSON, false},
        /* GET: the arguments are the query's; unknown keys are ignored, as serde_qs does */
        {"GET", "/GpuInfo?x=1&json&y=%41", NULL, NULL, 200, EMPTY, false},
        {"GET", "/GpuInfo?x=1&x=2", NULL, NULL, 400, BAD_REQUEST("query: a key given twice"),
         false},
        {"GET", "/GpuInfo?x=%4", NULL, NULL, 400,
         BAD_REQUEST("query: a bad %-escape, U+0000 or not UTF-8"), false},
    };
    EXPECT_ROWS(rows);
}

static void test_protobuf_errors(void **state)
{
    (void)state;
    /* every error of protobuf mode is a PrpcError, the same text as JSON mode's */
    expect_pb_error("POST", "/Nope", "", 0, "rpc-method: no such RPC method: Nope");
    expect_pb_error("PUT", "/GpuInfo", "", 0, "rpc-http-method: RPC methods take GET or POST: PUT");
    static const struct {
        const char *bytes;
        size_t n;
    } corrupt[] = {
        {"\xff", 1}, /* a key with its continuation bit and nothing after */
        {"\x0a\x05"
         "ab",
         4},                                                      /* a length past the end */
        {"\x08", 1},                                              /* a varint field cut */
        {"\x0f\x00", 2},                                          /* wire type 7 */
        {"\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 12}, /* an 11-byte varint */
    };
    for (size_t i = 0; i < sizeof corrupt / sizeof corrupt[0]; i++) {
        expect_pb_error("POST", "/GpuInfo", corrupt[i].bytes, corrupt[i].n,
                        "rpc-request: the RPC request is not the method's request message: "
                        "GpuInfo: not a protobuf Empty message");
    }
    /* a well-formed field Empty does not have: ignored, as prost does */
    unsigned status = 0;
    size_t len = 0;
    free(call_n("POST", "/GpuInfo", NULL, "\x08\x01\x12\x01x", 5, &status, &len));
    assert_int_equal(status, 200);
    assert_int_equal(len, 0);
}

/* Writes a bundle and a log whose gpu-attestation event commits to commit_to (NULL: no event). */
/* As write_state, the event's payload carrying EXTRA members (",\"devices\":1") too. */
static void write_state_with(const char *bundle, size_t len, const char *commit_to,
                             size_t commit_len, const char *extra)
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
        int n = snprintf(payload, sizeof payload, "{\"version\":2,\"evidence_sha256\":\"%s\"%s}",
                         hex, extra);
        char *line = NULL;
        assert_int_equal(dga_event_log_line(DGA_EVENT_V1, DGA_EVENT_GPU_ATTESTATION,
                                            (const uint8_t *)payload, (size_t)n, &line),
                         DGA_E_OK);
        snprintf(log, sizeof log, "%s\n", line);
        free(line);
    }
    test_write_file(dir, "runtime_events.log", log, strlen(log));
}

static void write_state(const char *bundle, size_t len, const char *commit_to, size_t commit_len)
{
    write_state_with(bundle, len, commit_to, commit_len, "");
}

/*
 * GpuInfo keeps its JSON answer for the bundle served last, keyed by the
 * bundle's SHA-256 from the bytes read on each request: a hit, a miss after
 * another bundle, and a cached bundle cut by one byte refused (the binding
 * runs before the cache is looked at).
 */
static void test_gpu_info_answer_cache(void **state)
{
    (void)state;
    const char a[] = "{\"a\":\"\\\"q\\\"\"}\n", b[] = "{\"b\":1}\n";
    const char *want_a = "{\"attestation\":\"{\\\"a\\\":\\\"\\\\\\\"q\\\\\\\"\\\"}\\n\"}";
    const char *want_b = "{\"attestation\":\"{\\\"b\\\":1}\\n\"}";
    write_state(a, strlen(a), a, strlen(a));
    expect("GET", "/GpuInfo", NULL, NULL, 200, want_a);
    expect("GET", "/GpuInfo", NULL, NULL, 200, want_a); /* served from the cache */
    write_state(b, strlen(b), b, strlen(b));
    expect("GET", "/GpuInfo", NULL, NULL, 200, want_b);
    write_state(a, strlen(a), a, strlen(a));
    expect("GET", "/GpuInfo", NULL, NULL, 200, want_a);
    write_state(a, strlen(a) - 1, a, strlen(a)); /* cut, the log still commits to a */
    expect_part("GET", "/GpuInfo", NULL, 400, "rpc-bundle-mismatch");
    /* protobuf mode does not use the JSON text: the same bundle as a GpuInfoResponse */
    write_state(a, strlen(a), a, strlen(a));
    unsigned status = 0;
    size_t len = 0;
    char *out = call_n("POST", "/GpuInfo", NULL, "", 0, &status, &len);
    assert_int_equal(status, 200);
    DstackGpuAttest__GpuInfoResponse *m =
        dstack_gpu_attest__gpu_info_response__unpack(NULL, len, (const uint8_t *)out);
    assert_non_null(m);
    assert_string_equal(m->attestation, a);
    dstack_gpu_attest__gpu_info_response__free_unpacked(m, NULL);
    free(out);
}

/* GetGpuAttestation straight from the method, as json_dumps writes it (the reference). */
static char *get_gpu_attestation_dumped(void)
{
    json_t *o = NULL;
    struct rpc_failure f = {0};
    assert_int_equal(rpc_get_gpu_attestation(rpc, NULL, &o, &f), DGA_E_OK);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(text);
    return text;
}

/*
 * GetGpuAttestation's JSON text (the bundle's parts kept for the bundle served last) is
 * byte for byte json_dumps of the method's answer: with a verdict, from the cache, after
 * another bundle, with no bundle; a bundle edited under the cache is refused, and a bundle
 * without a verdict is the method's error.
 */
static void test_get_gpu_attestation_text(void **state)
{
    (void)state;
    const char a[] = "{\"verdict\":{\"pass\":true,\"reasons\":[]},\"evidence\":[{\"label\":"
                     "\"GPU-0\",\"arch\":\"hopper\",\"uuid\":\"GPU-\\\"q\\\"\"}],\"devices\":"
                     "[{\"claims\":{\"ueid\":\"41\"}}]}\n";
    const char b[] = "{\"verdict\":{\"pass\":false,\"reasons\":[\"x\"]},\"evidence\":[]}";
    const char *bundles[] = {a, a, b, a};
    for (size_t i = 0; i < sizeof bundles / sizeof bundles[0]; i++) {
        write_state(bundles[i], strlen(bundles[i]), bundles[i], strlen(bundles[i]));
        char *want = get_gpu_attestation_dumped();
        expect("GET", "/GetGpuAttestation", NULL, NULL, 200, want);
        expect("GET", "/GetGpuAttestation", NULL, NULL, 200, want); /* from the cache */
        free(want);
    }
    /* what the answer says, once: the verdict's device, the bundle's hash, the state's error */
    unsigned status = 0;
    char *out = call("GET", "/GetGpuAttestation", NULL, NULL, &status);
    assert_int_equal(status, 200);
    assert_non_null(strstr(out, "\"verdict\":{\"pass\":true,\"reasons\":[],\"devices\":[{\"label\":"
                                "\"GPU-0\",\"pci_address\":\"\",\"uuid\":\"GPU-\\\"q\\\"\","
                                "\"ueid\":\"41\",\"arch\":\"hopper\",\"driver_version\":\"\","
                                "\"vbios_version\":\"\"}]},\"state\":{\"error\":\"nvml-load: "));
    assert_non_null(strstr(out, ",\"bundle_sha256\":\""));
    free(out);
    /* cut by a byte under the cache: the binding refuses it before the cache is looked at */
    write_state(a, strlen(a) - 1, a, strlen(a));
    expect_part("GET", "/GetGpuAttestation", NULL, 400, "rpc-bundle-mismatch");
    const char nv[] = "{\"evidence\":[]}";
    write_state(nv, strlen(nv), nv, strlen(nv));
    expect("GET", "/GetGpuAttestation", NULL, NULL, 400,
           ERR("rpc-bundle-json: the committed bundle is not the JSON the gate writes: verdict"));
    write_state(NULL, 0, NULL, 0);
    char path[128];
    snprintf(path, sizeof path, "%s/evidence.json", dir);
    unlink(path);
    char *want = get_gpu_attestation_dumped();
    expect("GET", "/GetGpuAttestation", NULL, NULL, 200, want);
    free(want);
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
    expect_part("GET", "/GpuInfo", NULL, 400, "rpc-bundle-mismatch");
    expect_part("GET", "/GetGpuAttestation", NULL, 400, "rpc-bundle-mismatch");
    /* a bundle but no event: never committed */
    write_state(b, strlen(b), NULL, 0);
    expect_part("GET", "/GpuInfo", NULL, 400, "\"error\": \"rpc-bundle-uncommitted: ");
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
    expect_part("GET", "/GpuInfo", NULL, 400, "\"error\": \"rpc-bundle-missing: ");
    write_state(NULL, 0, NULL, 0);
    expect("GET", "/GpuInfo", NULL, NULL, 200, EMPTY);
    expect_part("GET", "/GetGpuAttestation", NULL, 200,
                "\"bundle\":\"\",\"bundle_sha256\":\"\",\"events\":[],"
                "\"verdict\":null,\"state\":{\"error\":\"nvml-");
}

/* ---- the JSON mapping and protobuf (rpc/pbjson.h) ---- */

static const ProtobufCMessageDescriptor *const messages[] = {
    &dstack_gpu_attest__empty__descriptor,
    &dstack_gpu_attest__prpc_error__descriptor,
    &dstack_gpu_attest__gpu_info_response__descriptor,
    &dstack_gpu_attest__gpu_event__descriptor,
    &dstack_gpu_attest__gpu_device__descriptor,
    &dstack_gpu_attest__gpu_verdict__descriptor,
    &dstack_gpu_attest__cc_settings__descriptor,
    &dstack_gpu_attest__gpu_state__descriptor,
    &dstack_gpu_attest__get_gpu_attestation_response__descriptor,
    &dstack_gpu_attest__ensure_gpu_ready_response__descriptor,
    &dstack_gpu_attest__attest_gpu_request__descriptor,
    &dstack_gpu_attest__attest_gpu_response__descriptor,
};

static json_t *sample(const ProtobufCMessageDescriptor *d);

/* A value of fd's type far from its default: non-ASCII text, the integer bounds. */
static json_t *sample_value(const ProtobufCFieldDescriptor *fd)
{
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
        return json_string("caf\xc3\xa9 \xf0\x9f\x94\x92");
    case PROTOBUF_C_TYPE_BYTES:
        return json_string("00ff7f");
    case PROTOBUF_C_TYPE_BOOL:
        return json_true();
    case PROTOBUF_C_TYPE_UINT32:
        return json_integer(4294967295LL);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sample(fd->descriptor);
    default:
        fail_msg("field %s: a type the .proto did not use before", fd->name);
        return NULL;
    }
}

/* Every field of d set (repeated ones twice), as the JSON mapping writes it. */
static json_t *sample(const ProtobufCMessageDescriptor *d)
{
    json_t *o = json_object();
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        json_t *v = sample_value(fd);
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            v = json_pack("[o,O]", v, v);
        }
        assert_int_equal(json_object_set_new(o, fd->name, v), 0);
    }
    return o;
}

/* o as message d, packed, then unpacked as JSON again. */
static json_t *round_trip(const ProtobufCMessageDescriptor *d, json_t *o)
{
    struct rpc_failure f = {0};
    uint8_t *packed = NULL;
    size_t n = 0;
    assert_int_equal(pbjson_encode(d, o, &packed, &n, &f), DGA_E_OK);
    json_t *back = NULL;
    assert_int_equal(pbjson_decode(d, packed, n, &back, &f), DGA_E_OK);
    free(packed);
    return back;
}

static void test_pbjson_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
        json_t *o = sample(messages[i]);
        json_t *back = round_trip(messages[i], o);
        if (!json_equal(o, back)) {
            char *a = json_dumps(o, JSON_COMPACT), *b = json_dumps(back, JSON_COMPACT);
            fail_msg("%s: %s came back as %s", messages[i]->name, a, b);
        }
        json_decref(back);
        json_decref(o);
    }
    /* absent and null are the proto3 defaults, every field present on the way back */
    json_t *o = json_pack("{s:n,s:[]}", "verdict", "events");
    json_t *back = round_trip(&dstack_gpu_attest__get_gpu_attestation_response__descriptor, o);
    char *text = json_dumps(back, JSON_COMPACT);
    assert_string_equal(text, "{\"bundle\":\"\",\"bundle_sha256\":\"\",\"events\":[],"
                              "\"verdict\":null,\"state\":null}");
    free(text);
    json_decref(back);
    json_decref(o);
}

/* pbjson_encode of the JSON text j as d must fail with want (name, message and detail). */
static void expect_encode_error(const ProtobufCMessageDescriptor *d, const char *j,
                                const char *want)
{
    json_t *o = json_loads(j, JSON_ALLOW_NUL, NULL);
    assert_non_null(o);
    struct rpc_failure f = {0};
    uint8_t *packed = NULL;
    size_t n = 0;
    dga_err e = pbjson_encode(d, o, &packed, &n, &f);
    if (e != DGA_E_RPC_RESPONSE || strcmp(f.detail, want) != 0) {
        fail_msg("%s: %s (%s), want rpc-response (%s)", j, dga_err_name(e), f.detail, want);
    }
    json_decref(o);
}

static void test_pbjson_refused(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *ev = &dstack_gpu_attest__gpu_event__descriptor;
    const ProtobufCMessageDescriptor *get =
        &dstack_gpu_attest__get_gpu_attestation_response__descriptor;
    /* bytes: lowercase hex of whole bytes only */
    expect_encode_error(ev, "{\"digest\":\"ABCD\"}", "digest: not lowercase hex of whole bytes");
    expect_encode_error(ev, "{\"digest\":\"abc\"}", "digest: not lowercase hex of whole bytes");
    expect_encode_error(ev, "{\"digest\":\"zz\"}", "digest: not lowercase hex of whole bytes");
    expect_encode_error(ev, "{\"digest\":12}", "digest: not lowercase hex of whole bytes");
    /* wrong types and ranges */
    expect_encode_error(ev, "{\"name\":1}", "name: not a string");
    expect_encode_error(ev, "{\"name\":\"a\\u0000b\"}", "name: holds U+0000");
    expect_encode_error(ev, "{\"before_system_ready\":\"true\"}",
                        "before_system_ready: not a boolean");
    expect_encode_error(ev, "{\"index\":-1}", "index: -1 is out of range");
    expect_encode_error(ev, "{\"index\":4294967296}", "index: 4294967296 is out of range");
    expect_encode_error(ev, "{\"index\":1.5}", "index: not an integer");
    expect_encode_error(get, "{\"verdict\":[]}", "verdict: not an object");
    expect_encode_error(get, "{\"events\":{}}", "events: not an array");
    expect_encode_error(get, "{\"events\":[{},null]}", "events[1]: null in a repeated field");
    /* a member the message lacks: drift between a method and the .proto */
    expect_encode_error(get, "{\"events\":[{\"bogus\":1}]}",
                        "events[0].bogus: no such field in GpuEvent");
    expect_encode_error(get, "{\"verdict\":{\"devices\":[{},{\"serial\":\"x\"}]}}",
                        "verdict.devices[1].serial: no such field in GpuDevice");
    expect_encode_error(get, "{\"state\":{\"cc\":{\"environment\":true}}}",
                        "state.cc.environment: not an integer");
}

/* rpc_query_args over AttestGpuRequest or GpuEvent: the object, or the error's detail. */
static void expect_query(const ProtobufCMessageDescriptor *d, const char *query, const char *want)
{
    struct rpc_failure f = {0};
    json_t *args = NULL;
    dga_err e = rpc_query_args(d, query, &args, &f);
    char *got = e == DGA_E_OK ? json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *text = e == DGA_E_OK ? got : f.detail;
    if ((e != DGA_E_OK && e != DGA_E_RPC_REQUEST) || strcmp(text, want) != 0) {
        fail_msg("?%s: %s %s, want %s", query, dga_err_name(e), text, want);
    }
    free(got);
    json_decref(args);
}

static void test_query_args(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *att = &dstack_gpu_attest__attest_gpu_request__descriptor;
    const ProtobufCMessageDescriptor *ev = &dstack_gpu_attest__gpu_event__descriptor;
    expect_query(att, "", "{}");
    expect_query(att, "nonce=ABcd&json&other=1&&", "{\"nonce\":\"abcd\"}");
    expect_query(att, "%6eonce=%41%42", "{\"nonce\":\"ab\"}");
    expect_query(att, "nonce=abc", "nonce: not a value of its type");
    expect_query(att, "nonce=ab&nonce=ab", "a key given twice");
    expect_query(att, "json&json=1", "a key given twice");
    expect_query(att, "nonce=%zz", "a bad %-escape, U+0000 or not UTF-8");
    expect_query(att, "nonce=%4", "a bad %-escape, U+0000 or not UTF-8");
    expect_query(att, "x=%00", "a bad %-escape, U+0000 or not UTF-8");
    expect_query(att, "x=%ff", "a bad %-escape, U+0000 or not UTF-8");
    expect_query(ev, "name=a+b%20c%C3%A9&index=7&version=0&before_system_ready=true",
                 "{\"before_system_ready\":true,\"index\":7,\"name\":\"a b c\xc3\xa9\","
                 "\"version\":0}");
    expect_query(ev, "index=-1", "index: -1 is out of range");
    expect_query(ev, "index=4294967296", "index: 4294967296 is out of range");
    expect_query(ev, "index=99999999999999999999", "index: not a value of its type");
    expect_query(ev, "index=", "index: not a value of its type");
    expect_query(ev, "index=1x", "index: not a value of its type");
    expect_query(ev, "before_system_ready=1", "before_system_ready: not a value of its type");
    char many[512] = "";
    for (int i = 0; i <= RPC_QUERY_PAIRS_MAX; i++) {
        char one[16];
        snprintf(one, sizeof one, "k%d=1&", i);
        strcat(many, one);
    }
    expect_query(att, many, "too many arguments");
}

/* The method's answer in protobuf mode, unpacked again as JSON; NULL when it answered 400. */
static json_t *pb_answer(const struct rpc_method *m)
{
    char uri[80];
    snprintf(uri, sizeof uri, "/%s", m->name);
    unsigned status = 0;
    size_t len = 0;
    char *out = call_n("POST", uri, "application/octet-stream", "", 0, &status, &len);
    json_t *o = NULL;
    struct rpc_failure f = {0};
    if (status == 200) {
        assert_int_equal(pbjson_decode(m->response, (const uint8_t *)out, len, &o, &f), DGA_E_OK);
    }
    free(out);
    return o;
}

static void test_every_method_fits_its_message(void **state)
{
    (void)state;
    const char b[] = "{\"verdict\":{\"pass\":true,\"reasons\":[\"r\"]},\"evidence\":[{"
                     "\"label\":\"GPU-0\",\"uuid\":\"GPU-1\"}],\"devices\":[{\"claims\":{"
                     "\"ueid\":\"41\"}}]}\n";
    write_state(b, strlen(b), b, strlen(b));
    size_t answered = 0;
    for (size_t i = 0; rpc_method_at(i) != NULL; i++) {
        const struct rpc_method *m = rpc_method_at(i);
        char uri[80];
        snprintf(uri, sizeof uri, "/%s", m->name);
        unsigned status = 0;
        char *out = call("GET", uri, NULL, NULL, &status);
        json_t *j = json_loads(out, 0, NULL);
        json_t *pb = pb_answer(m);
        if (status == 200) {
            /* what the JSON mode answered fits the response message exactly */
            struct rpc_failure f = {0};
            uint8_t *packed = NULL;
            size_t n = 0;
            dga_err e = pbjson_encode(m->response, j, &packed, &n, &f);
            if (e != DGA_E_OK) {
                fail_msg("%s: %s: %s", m->name, dga_err_name(e), f.detail);
            }
            free(packed);
            assert_non_null(pb);
            answered++;
        }
        json_decref(pb);
        json_decref(j);
        free(out);
    }
    assert_true(answered >= 2);
    /* GpuInfo in protobuf mode: the bundle byte for byte */
    unsigned status = 0;
    size_t len = 0;
    char *out = call_n("POST", "/GpuInfo", NULL, "", 0, &status, &len);
    DstackGpuAttest__GpuInfoResponse *r =
        dstack_gpu_attest__gpu_info_response__unpack(NULL, len, (const uint8_t *)out);
    assert_int_equal(status, 200);
    assert_non_null(r);
    assert_string_equal(r->attestation, b);
    dstack_gpu_attest__gpu_info_response__free_unpacked(r, NULL);
    free(out);
}

static void test_protobuf_nul_bundle(void **state)
{
    (void)state;
    /* JSON can carry U+0000, a protobuf-c string cannot: refused, never cut short */
    const char nul[] = "\"a\0b\"";
    write_state(nul, sizeof nul - 1, nul, sizeof nul - 1);
    expect_pb_error("POST", "/GpuInfo", "", 0,
                    "rpc-response: the RPC method's answer does not fit its response message: "
                    "attestation: holds U+0000");
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

/*
 * The limits are the service's own struct: the defaults, each option writing into it, and
 * the one check naming the option it refuses (dga_rpc_new runs it too, before any file).
 */
static void test_config_check(void **state)
{
    (void)state;
    struct dga_rpc_config c;
    dga_rpc_config_defaults(&c);
    assert_int_equal(c.limits.max_connections, 64);
    assert_int_equal(c.limits.max_connections_per_client, 64);
    assert_int_equal(c.limits.client_timeout, 10);
    assert_int_equal(c.limits.client_request_timeout, 30);
    assert_int_equal(c.limits.max_request, 64u << 10);
    assert_int_equal(dga_rpc_config_check(&c, NULL), DGA_E_OK);
    const struct dga_service_options *t = dga_rpc_config_options();
    assert_int_equal(dga_service_options_set(t, &c, "max-request", "1M"), DGA_E_OK);
    assert_int_equal(c.limits.max_request, 1u << 20);
    assert_int_equal(dga_service_options_set(t, &c, "max-request", "2M"), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_rpc_config_check(&c, NULL), DGA_E_OK);
    static const char *const keys[] = {"max-request", "client-timeout", "client-request-timeout",
                                       "max-connections"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        dga_rpc_config_defaults(&c);
        assert_int_equal(dga_service_options_set(t, &c, keys[i], "0"), DGA_E_OK);
        struct dga_diag d = {0};
        assert_int_equal(dga_rpc_config_check(&c, &d), DGA_E_BAD_ARGUMENT);
        assert_string_equal(d.field, keys[i]);
    }
    dga_rpc_config_defaults(&c);
    c.attest_burst = 0; /* the option refuses it; a program's own config is checked too */
    struct dga_diag d = {0};
    assert_int_equal(dga_rpc_config_check(&c, &d), DGA_E_BAD_ARGUMENT);
    assert_string_equal(d.field, "attest-burst");
    dga_rpc_config_defaults(&c);
    c.limits.max_connections = 0;
    struct dga_rpc *r = (struct dga_rpc *)&c; /* untouched on failure */
    d = (struct dga_diag){0};
    assert_int_equal(dga_rpc_new(&c, "/nonexistent/gate.json", &r, &d), DGA_E_BAD_ARGUMENT);
    assert_string_equal(d.field, "max-connections");
    assert_ptr_equal(r, (struct dga_rpc *)&c);
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
    expect_part("POST", "/EnsureGpuReady?json", "{}", 200,
                "\"ready\":false,\"outcome\":\"refused\",\"reason\":\"boot "
                "gate: rpc-bundle-uncommitted: ");
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
           "gpu-attestation payload (log line 1) has no devices/devtools/cc_mode\","
           "\"reattestation_sha256\":\"\"}");
    /* devices and devtools but no cc_mode: the mode NVML must report now is unknown */
    write_state_with(b, strlen(b), b, strlen(b), ",\"devices\":2,\"devtools\":false");
    expect("GET", "/EnsureGpuReady", NULL, NULL, 200,
           "{\"ready\":false,\"outcome\":\"refused\",\"reason\":\"boot gate: the "
           "gpu-attestation payload (log line 1) has no devices/devtools/cc_mode\","
           "\"reattestation_sha256\":\"\"}");
    /* a mode the gate never passes in (it emits "on" or "ppcie" with devices) */
    write_state_with(b, strlen(b), b, strlen(b),
                     ",\"devices\":2,\"devtools\":false,\"cc_mode\":\"off\"");
    expect("GET", "/EnsureGpuReady", NULL, NULL, 200,
           "{\"ready\":false,\"outcome\":\"refused\",\"reason\":\"boot gate: the "
           "gpu-attestation payload (log line 1) has cc_mode \\\"off\\\"\","
           "\"reattestation_sha256\":\"\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_encoding_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routes_and_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protobuf_errors, setup, teardown),
        cmocka_unit_test(test_pbjson_round_trip),
        cmocka_unit_test(test_pbjson_refused),
        cmocka_unit_test(test_query_args),
        cmocka_unit_test_setup_teardown(test_every_method_fits_its_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protobuf_nul_bundle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpu_info_answer_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_gpu_attestation_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_missing, setup, teardown),
        cmocka_unit_test(test_attest_args),
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_attest_options),
        cmocka_unit_test(test_config_check),
        cmocka_unit_test_setup_teardown(test_ensure_attest_routes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
