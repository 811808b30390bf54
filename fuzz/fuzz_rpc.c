/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the RPC service's router, its JSON and protobuf modes
 * and the GET query parser (docs/rpc.md): the input is
 * "METHOD\nURI\nCONTENT-TYPE\nBODY"; dga_rpc_call answers it over a run
 * directory made once. When the first byte is odd, the body is also written as
 * the bundle with an event log committing to it, so the UTF-8 check and the
 * bundle's JSON (GetGpuAttestation's verdict) see it too. When its second bit
 * is set, the body is also read as a JSON object and converted to every
 * response message (pbjson_encode), whose output must unpack and convert back
 * to the same bytes. Beyond the sanitizers it traps when an answer is not 200
 * or 400; in JSON mode when it is not JSON or a 400 is not {"error": "..."};
 * in protobuf mode when a 200 does not unpack as the method's response
 * message or a 400 as a PrpcError; or when GpuInfo's attestation is not the
 * committed bundle byte for byte.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "dga/measure.h"
#include "dga/rpc.h"
#include "dga/util.h"
#include "dstack_gpu_attest.pb-c.h"
#include "rpc/internal.h"
#include "rpc/pbjson.h"
#include "rpc/testing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dga_rpc *rpc;
static char dir[64];

static void write_file(const char *name, const void *p, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        abort();
    }
}

static void init(void)
{
    snprintf(dir, sizeof dir, "/tmp/dga-fuzz-rpc-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    char cfg[512];
    int n = snprintf(cfg, sizeof cfg,
                     "{\"rim_dir\":\"%s\",\"run_dir\":\"%s\",\"event_log_dir\":\"%s\","
                     "\"nvml\":\"%s/no-nvml.so\"}",
                     dir, dir, dir, dir);
    write_file("gate.json", cfg, (size_t)n);
    char path[128];
    snprintf(path, sizeof path, "%s/gate.json", dir);
    struct dga_rpc_config c;
    dga_rpc_config_defaults(&c);
    if (dga_rpc_new(&c, path, &rpc, NULL) != DGA_E_OK) {
        abort();
    }
}

/* The bundle and a log line committing to it, or neither. */
static void set_bundle(const uint8_t *p, size_t n, bool present)
{
    char path[128];
    snprintf(path, sizeof path, "%s/evidence.json", dir);
    if (!present) {
        unlink(path);
        write_file("runtime_events.log", "", 0);
        return;
    }
    write_file("evidence.json", p, n);
    uint8_t sha[32];
    char hex[65], payload[128], *line = NULL;
    EVP_Digest(p, n, sha, NULL, EVP_sha256(), NULL);
    dga_hex_encode(sha, 32, hex);
    int len = snprintf(payload, sizeof payload, "{\"evidence_sha256\":\"%s\"}", hex);
    if (dga_event_log_line(DGA_EVENT_V1, DGA_EVENT_GPU_ATTESTATION, (const uint8_t *)payload,
                           (size_t)len, &line) != DGA_E_OK) {
        abort();
    }
    write_file("runtime_events.log", line, strlen(line));
    free(line);
}

/* The next '\n'-terminated field, NUL-terminated into a copy; NULL when there is none. */
static char *field(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (nl == NULL) {
        return NULL;
    }
    char *s = strndup((const char *)*p, (size_t)(nl - *p));
    *p = nl + 1;
    return s;
}

/*
 * A JSON answer (NUL allowed: a bundle may hold U+0000, served as \u0000), 200 or
 * 400 with an error string; a GpuInfo 200 over a committed bundle gives exactly its bytes.
 */
static bool answer_ok(unsigned status, const char *body, size_t len, const uint8_t *bundle,
                      size_t bundle_len)
{
    json_t *j = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
    bool ok = j != NULL && (status == 200 || status == 400) &&
              (status == 200 || json_is_string(json_object_get(j, "error")));
    const json_t *att = json_object_get(j, "attestation");
    if (ok && bundle != NULL && att != NULL) {
        ok = json_string_length(att) == bundle_len &&
             memcmp(json_string_value(att), bundle, bundle_len) == 0;
    }
    json_decref(j);
    return ok;
}

/* A protobuf-mode answer: a 200 unpacks as the method's response, a 400 as a PrpcError. */
static bool pb_answer_ok(const char *uri, unsigned status, const char *body, size_t len,
                         const uint8_t *bundle, size_t bundle_len)
{
    char name[64] = "";
    sscanf(uri, "/%63[A-Za-z0-9_]", name);
    const struct rpc_method *m = rpc_method_find(name);
    if (status == 400) {
        DstackGpuAttest__PrpcError *e =
            dstack_gpu_attest__prpc_error__unpack(NULL, len, (const uint8_t *)body);
        bool ok = e != NULL && e->message[0] != '\0';
        dstack_gpu_attest__prpc_error__free_unpacked(e, NULL);
        return ok;
    }
    if (status != 200 || m == NULL) {
        return false;
    }
    ProtobufCMessage *r = protobuf_c_message_unpack(m->response, NULL, len, (const uint8_t *)body);
    bool ok = r != NULL;
    if (ok && bundle != NULL && m->response == &dstack_gpu_attest__gpu_info_response__descriptor) {
        const char *att = ((DstackGpuAttest__GpuInfoResponse *)r)->attestation;
        ok = strlen(att) == bundle_len && memcmp(att, bundle, bundle_len) == 0;
    }
    protobuf_c_message_free_unpacked(r, NULL);
    return ok;
}

/* The body as a JSON object into every response message: what packs, unpacks to the same. */
static void convert_responses(const uint8_t *p, size_t n)
{
    json_t *o = json_loadb((const char *)p, n, JSON_ALLOW_NUL, NULL);
    for (size_t i = 0; o != NULL && rpc_method_at(i) != NULL; i++) {
        const ProtobufCMessageDescriptor *d = rpc_method_at(i)->response;
        struct rpc_failure f = {0};
        uint8_t *packed = NULL, *again = NULL;
        size_t len = 0, len2 = 0;
        json_t *back = NULL;
        if (pbjson_encode(d, o, &packed, &len, &f) != DGA_E_OK) {
            continue;
        }
        if (pbjson_decode(d, packed, len, &back, &f) != DGA_E_OK ||
            pbjson_encode(d, back, &again, &len2, &f) != DGA_E_OK || len2 != len ||
            memcmp(again, packed, len) != 0) {
            __builtin_trap();
        }
        json_decref(back);
        free(packed);
        free(again);
    }
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (rpc == NULL) {
        init();
    }
    if (size == 0) {
        return 0;
    }
    const uint8_t *p = data + 1, *end = data + size;
    char *method = field(&p, end);
    char *uri = method != NULL ? field(&p, end) : NULL;
    char *ct = uri != NULL ? field(&p, end) : NULL;
    if (ct != NULL) {
        set_bundle(p, (size_t)(end - p), (data[0] & 1) != 0);
        const struct dga_service_request req = {.method = method,
                                                .uri = uri,
                                                .content_type = ct[0] != '\0' ? ct : NULL,
                                                .body = p,
                                                .body_len = (size_t)(end - p)};
        unsigned status = 0;
        char *body = NULL;
        size_t len = 0;
        const uint8_t *bundle = (data[0] & 1) != 0 ? p : NULL;
        bool json = dga_rpc_request_json(&req);
        if (dga_rpc_call(rpc, &req, &status, &body, &len) == DGA_E_OK &&
            !(json ? answer_ok(status, body, len, bundle, (size_t)(end - p))
                   : pb_answer_ok(uri, status, body, len, bundle, (size_t)(end - p)))) {
            __builtin_trap();
        }
        free(body);
        if ((data[0] & 2) != 0) {
            convert_responses(p, (size_t)(end - p));
        }
    }
    free(method);
    free(uri);
    free(ct);
    return 0;
}
