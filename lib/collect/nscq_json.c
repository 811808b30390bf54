/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The switch collection as JSON: nvattest's switch evidence objects (arch "LS10", nonce hex,
 * evidence = base64 report, certificate = base64 PEM text) in its collect-evidence wrapper, so
 * dga_evidence_json_parse reads it unchanged, with what NSCQ said added (uuid, label,
 * tnvl_status). The reader is strict and capped: it is also how the deadline child hands its
 * result to the parent, so every value is bounded as the collector bounds it.
 */
#include <stdlib.h>
#include <string.h>

#include "collect/internal.h"
#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "dga/util.h"

#define REPORT_B64_MAX (DGA_NSCQ_REPORT_MAX / 3 * 4 + 4)
#define CHAIN_B64_MAX (DGA_NSCQ_CHAIN_MAX / 3 * 4 + 4)

static json_t *switch_json(const struct dga_switch_collected *s, const char *nonce_hex)
{
    char uuid[2 * DGA_NSCQ_UUID_LEN + 1];
    dga_hex_encode(s->uuid, DGA_NSCQ_UUID_LEN, uuid);
    return json_pack("{s:s,s:s,s:o,s:o,s:s,s:s,s:i}", "arch", "LS10", "nonce", nonce_hex,
                     "evidence", base64_json(s->report, s->report_len), "certificate",
                     base64_json((const uint8_t *)s->chain_pem, s->chain_pem_len), "uuid", uuid,
                     "label", s->label, "tnvl_status", s->tnvl_status);
}

json_t *dga_switch_collection_to_json(const struct dga_switch_collection *c)
{
    char nonce_hex[2 * DGA_NONCE_LEN + 1];
    dga_hex_encode(c->nonce, DGA_NONCE_LEN, nonce_hex);
    _cleanup_(json_decrefp) json_t *arr = json_array();
    if (arr == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < c->n; i++) {
        json_t *d = switch_json(&c->sw[i], nonce_hex);
        if (d == NULL || json_array_append_new(arr, d) != 0) {
            return NULL;
        }
    }
    return json_pack("{s:O,s:i,s:s,s:s}", "evidences", arr, "result_code", 0, "result_message",
                     "Ok", "nonce", nonce_hex);
}

/* ---- reading it back ---- */

static dga_err get_string(json_t *obj, const char *key, size_t cap, const char **ret,
                          size_t *ret_len)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) {
        return DGA_E_BAD_JSON;
    }
    if (json_string_length(v) > cap) {
        return DGA_E_TOO_LARGE;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        return DGA_E_BAD_JSON; /* an embedded NUL */
    }
    *ret = json_string_value(v);
    *ret_len = json_string_length(v);
    return DGA_E_OK;
}

static dga_err get_nonce(json_t *obj, uint8_t out[DGA_NONCE_LEN])
{
    const char *s;
    size_t len;
    dga_err e = get_string(obj, "nonce", 2 * DGA_NONCE_LEN, &s, &len);
    return e != DGA_E_OK ? e : dga_hex_decode_exact(s, out, DGA_NONCE_LEN);
}

static dga_err blob(json_t *obj, const char *key, size_t cap, uint8_t **ret, size_t *ret_len)
{
    const char *text;
    size_t len;
    dga_err e = get_string(obj, key, cap, &text, &len);
    return e != DGA_E_OK ? e : dga_base64_decode(text, len, ret, ret_len);
}

/* arch "LS10" exactly as written (the only architecture collected), nonce = the collection's. */
static dga_err switch_header(json_t *obj, const struct dga_switch_collection *c,
                             struct dga_switch_collected *s)
{
    const char *text;
    size_t len;
    uint8_t nonce[DGA_NONCE_LEN];
    dga_err e = get_string(obj, "arch", 8, &text, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    if (strcmp(text, "LS10") != 0) {
        return DGA_E_BAD_ARCH;
    }
    s->arch = DGA_ARCH_LS10;
    e = get_nonce(obj, nonce);
    if (e != DGA_E_OK) {
        return e;
    }
    return dga_mem_equal(nonce, c->nonce, DGA_NONCE_LEN) ? DGA_E_OK : DGA_E_NONCE_MISMATCH;
}

/* uuid (32 hex), label (as the collector accepts it), tnvl_status (an int8_t). */
static dga_err switch_identity(json_t *obj, struct dga_switch_collected *s)
{
    const char *text;
    size_t len;
    dga_err e = get_string(obj, "uuid", 2 * DGA_NSCQ_UUID_LEN, &text, &len);
    e = e != DGA_E_OK ? e : dga_hex_decode_exact(text, s->uuid, DGA_NSCQ_UUID_LEN);
    e = e != DGA_E_OK ? e : get_string(obj, "label", DGA_NSCQ_LABEL_MAX - 1, &text, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    if (len == 0 || memchr(text, '/', len) != NULL) {
        return DGA_E_NSCQ_LABEL;
    }
    memcpy(s->label, text, len + 1);
    json_t *v = json_object_get(obj, "tnvl_status");
    if (!json_is_integer(v) || json_integer_value(v) < -128 || json_integer_value(v) > 127) {
        return DGA_E_BAD_JSON;
    }
    s->tnvl_status = (int)json_integer_value(v);
    return DGA_E_OK;
}

static dga_err switch_from_json(json_t *obj, const struct dga_switch_collection *c,
                                struct dga_switch_collected *s)
{
    if (!json_is_object(obj)) {
        return DGA_E_BAD_JSON;
    }
    dga_err e = switch_header(obj, c, s);
    e = e != DGA_E_OK ? e : switch_identity(obj, s);
    e = e != DGA_E_OK ? e : blob(obj, "evidence", REPORT_B64_MAX, &s->report, &s->report_len);
    if (e != DGA_E_OK) {
        return e;
    }
    if (s->report_len < DGA_REPORT_MIN || s->report_len > DGA_NSCQ_REPORT_MAX) {
        return DGA_E_NSCQ_SIZE;
    }
    e = blob(obj, "certificate", CHAIN_B64_MAX, (uint8_t **)&s->chain_pem, &s->chain_pem_len);
    if (e != DGA_E_OK) {
        return e;
    }
    if (s->chain_pem_len == 0 || s->chain_pem_len > DGA_NSCQ_CHAIN_MAX) {
        return DGA_E_NSCQ_SIZE;
    }
    return memchr(s->chain_pem, 0, s->chain_pem_len) != NULL ? DGA_E_BAD_PEM : DGA_E_OK;
}

/* Two switches with one UUID or label: NSCQ never enumerates a device twice. */
static bool duplicate(const struct dga_switch_collection *c, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (memcmp(c->sw[j].uuid, c->sw[i].uuid, DGA_NSCQ_UUID_LEN) == 0 ||
            strcmp(c->sw[j].label, c->sw[i].label) == 0) {
            return true;
        }
    }
    return false;
}

static dga_err switches_from_json(json_t *arr, struct dga_switch_collection *c,
                                  struct dga_diag *diag)
{
    if (!json_is_array(arr)) {
        return dga_diag_set(diag, DGA_E_BAD_JSON, 0, "evidences");
    }
    if (json_array_size(arr) > DGA_NSCQ_MAX_SWITCHES) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, DGA_NSCQ_MAX_SWITCHES, "evidences");
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        c->sw[i].index = (unsigned)i;
        dga_err e = switch_from_json(json_array_get(arr, i), c, &c->sw[i]);
        c->n = i + 1; /* so that a failure frees what this switch already holds */
        if (e == DGA_E_OK && duplicate(c, i)) {
            e = DGA_E_NSCQ_LABEL;
        }
        if (e != DGA_E_OK) {
            return dga_diag_set(diag, e, i, "evidences[switch]");
        }
    }
    return DGA_E_OK;
}

dga_err dga_switch_collection_from_json(const char *text, size_t len,
                                        struct dga_switch_collection *ret, struct dga_diag *diag)
{
    if (len > DGA_SWITCH_COLLECTION_JSON_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, DGA_SWITCH_COLLECTION_JSON_MAX, "collection");
    }
    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        /* jerr only describes a parse failure: valid JSON that is not an object is at 0 */
        size_t at = root == NULL ? (size_t)jerr.position : 0;
        return dga_diag_set(diag, DGA_E_BAD_JSON, at, "collection");
    }
    _cleanup_(freep) struct dga_switch_collection *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = get_nonce(root, c->nonce);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "collection");
    }
    e = switches_from_json(json_object_get(root, "evidences"), c, diag);
    if (e != DGA_E_OK) {
        dga_switch_collection_clear(c);
        return e;
    }
    *ret = *c;
    return DGA_E_OK;
}

static dga_err copy_switch(const struct dga_switch_collected *s, const uint8_t *nonce,
                           struct dga_device_evidence *d)
{
    d->arch = DGA_ARCH_LS10;
    d->has_nonce = true;
    memcpy(d->nonce, nonce, DGA_NONCE_LEN);
    d->report = malloc(s->report_len);
    d->chain_pem = bytes_dup_text(s->chain_pem, s->chain_pem_len);
    if (d->report == NULL || d->chain_pem == NULL) {
        return DGA_E_NOMEM;
    }
    memcpy(d->report, s->report, s->report_len);
    d->report_len = s->report_len;
    d->chain_pem_len = s->chain_pem_len;
    /* Read with the report, so it travels with it (unsigned: the topology check's own rule). */
    d->has_tnvl = true;
    d->tnvl = s->tnvl_status;
    return DGA_E_OK;
}

dga_err dga_switch_collection_to_evidence(const struct dga_switch_collection *c,
                                          struct dga_evidence_set *ret)
{
    _cleanup_(freep) struct dga_evidence_set *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return DGA_E_NOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        s->n = i + 1;
        if (copy_switch(&c->sw[i], c->nonce, &s->dev[i]) != DGA_E_OK) {
            dga_evidence_set_clear(s);
            return DGA_E_NOMEM;
        }
    }
    *ret = *s;
    return DGA_E_OK;
}
