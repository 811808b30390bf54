/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the RPC service's router and JSON layer (docs/rpc.md):
 * the input is "METHOD\nURI\nCONTENT-TYPE\nBODY"; dga_rpc_call answers it over
 * a run directory made once. When the first byte is odd, the body is also
 * written as the bundle with an event log committing to it, so the UTF-8
 * check and the bundle's JSON (GetGpuAttestation's verdict) see it too.
 * Beyond the sanitizers it traps when an answer is not 200 or 400, is not
 * JSON, a 400 is not {"error": "..."}, or GpuInfo's attestation is not the
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
        if (dga_rpc_call(rpc, &req, &status, &body, &len) == DGA_E_OK &&
            !answer_ok(status, body, len, (data[0] & 1) != 0 ? p : NULL, (size_t)(end - p))) {
            __builtin_trap();
        }
        free(body);
    }
    free(method);
    free(uri);
    free(ct);
    return 0;
}
