/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runtime event digests and log lines (docs/formats.md §14):
 *   V1: H( le32(0x08000001) || ":" || name || ":" || payload )
 *   V2: H( JCS({"name":name,"payload":lowercase hex,"type":134217729}) )
 * H is SHA-384 for RTMR3 and the bank's hash for a TPM PCR (same preimage).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/codec.h"
#include "dga/util.h"
#include "measure/internal.h"

size_t dga_hash_len(enum dga_hash_alg alg)
{
    return alg == DGA_HASH_SHA256 ? 32 : 48;
}

int measure_hash(enum dga_hash_alg alg, const uint8_t *in, size_t len, uint8_t *out)
{
    const EVP_MD *md = alg == DGA_HASH_SHA256 ? EVP_sha256() : EVP_sha384();
    return EVP_Digest(in, len, out, NULL, md, NULL);
}

dga_err dga_event_name_check(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > DGA_EVENT_NAME_MAX) {
        return DGA_E_EVENT_NAME;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c < 0x21 || c > 0x7e || c == ':' || c == '"' || c == '\\') {
            return DGA_E_EVENT_NAME;
        }
    }
    return DGA_E_OK;
}

static dga_err preimage_v1(const char *name, const uint8_t *payload, size_t len, struct buf *out)
{
    static const uint8_t type_le[4] = {0x01, 0x00, 0x00, 0x08};
    if (strchr(name, ':') != NULL) {
        return DGA_E_EVENT_NAME; /* "a:b" + ":" + "c" would equal "a" + ":" + "b:c" */
    }
    dga_err e = buf_append(out, type_le, sizeof type_le);
    if (e != DGA_E_OK) {
        return e;
    }
    e = buf_append(out, ":", 1);
    if (e != DGA_E_OK) {
        return e;
    }
    e = buf_append_str(out, name);
    if (e != DGA_E_OK) {
        return e;
    }
    e = buf_append(out, ":", 1);
    if (e != DGA_E_OK) {
        return e;
    }
    if (len == 0) {
        return DGA_E_OK; /* payload may be NULL */
    }
    return buf_append(out, payload, len);
}

static dga_err preimage_v2(const char *name, const uint8_t *payload, size_t len, struct buf *out)
{
    _cleanup_(freep) char *hex = malloc(2 * len + 1);
    if (hex == NULL) {
        return DGA_E_NOMEM;
    }
    dga_hex_encode(payload, len, hex);
    _cleanup_(json_decrefp) json_t *obj = json_pack("{s:s,s:s,s:I}", "name", name, "payload", hex,
                                                    "type", (json_int_t)DGA_EVENT_TYPE);
    if (obj == NULL) {
        return DGA_E_EVENT_NAME; /* json_pack refuses a name that is not UTF-8 */
    }
    _cleanup_(freep) char *canon = NULL;
    size_t n = 0;
    dga_err e = dga_jcs_encode(obj, &canon, &n, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    return buf_append(out, canon, n);
}

dga_err dga_event_preimage(enum dga_event_version v, const char *name, const uint8_t *payload,
                           size_t len, uint8_t **ret, size_t *ret_len)
{
    if (name == NULL || (payload == NULL && len > 0)) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (v != DGA_EVENT_V1 && v != DGA_EVENT_V2) {
        return DGA_E_EVENT_VERSION;
    }
    if (len > DGA_EVENT_PAYLOAD_MAX) {
        return DGA_E_TOO_LARGE;
    }
    _cleanup_(buf_freep) struct buf out =
        buf_init(2 * DGA_EVENT_PAYLOAD_MAX + 8 * DGA_EVENT_NAME_MAX + 256);
    dga_err e = v == DGA_EVENT_V1 ? preimage_v1(name, payload, len, &out)
                                  : preimage_v2(name, payload, len, &out);
    if (e != DGA_E_OK) {
        return e;
    }
    e = buf_terminate(&out);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret_len = out.len;
    *ret = buf_take(&out);
    return DGA_E_OK;
}

dga_err dga_event_digest(enum dga_event_version v, enum dga_hash_alg alg, const char *name,
                         const uint8_t *payload, size_t len, uint8_t *out)
{
    uint8_t *pre = NULL;
    size_t n = 0;
    dga_err e = dga_event_preimage(v, name, payload, len, &pre, &n);
    if (e != DGA_E_OK) {
        return e;
    }
    int ok = measure_hash(alg, pre, n, out);
    free(pre);
    return ok == 1 ? DGA_E_OK : DGA_E_INTERNAL;
}

dga_err dga_event_log_line(enum dga_event_version v, const char *name, const uint8_t *payload,
                           size_t len, char **ret)
{
    dga_err e = dga_event_name_check(name);
    if (e != DGA_E_OK) {
        return e;
    }
    if (v != DGA_EVENT_V1 && v != DGA_EVENT_V2) {
        return DGA_E_EVENT_VERSION;
    }
    if (len > DGA_EVENT_PAYLOAD_MAX || (payload == NULL && len > 0)) {
        return len > DGA_EVENT_PAYLOAD_MAX ? DGA_E_TOO_LARGE : DGA_E_BAD_ARGUMENT;
    }
    char *b64 = NULL; /* standard, padded, no newlines */
    e = base64_encode(payload, len, &b64);
    if (e != DGA_E_OK) {
        return e;
    }
    size_t cap = strlen(b64) + strlen(name) + 64;
    char *line = malloc(cap);
    if (line == NULL) {
        free(b64);
        return DGA_E_NOMEM;
    }
    /* The name needs no escaping: dga_event_name_check allows no '"', '\' or controls. */
    snprintf(line, cap, "{\"event\":\"%s\",\"payload\":\"%s\"%s}", name, b64,
             v == DGA_EVENT_V2 ? ",\"version\":2" : "");
    free(b64);
    *ret = line;
    return DGA_E_OK;
}
