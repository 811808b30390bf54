/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Evidence containers (docs/formats.md §1): NVIDIA's serialized
 * evidence JSON and the raw report + PEM chain pair. Everything is copied
 * out of the container; sizes are capped before decoding.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "dga/evidence.h"
#include "dga/util.h"

#define CHAIN_B64_MAX (DGA_CHAIN_PEM_MAX / 3 * 4 + 4)
#define REPORT_B64_MAX (DGA_REPORT_MAX / 3 * 4 + 4)

void dga_evidence_set_clear(struct dga_evidence_set *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->dev[i].report);
        free(s->dev[i].chain_pem);
    }
    memset(s, 0, sizeof *s);
}

static dga_err member_string(json_t *obj, const char *key, size_t cap, const char **ret,
                             size_t *ret_len)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) {
        return DGA_E_BAD_JSON;
    }
    size_t n = json_string_length(v);
    if (n > cap) {
        return DGA_E_TOO_LARGE;
    }
    *ret = json_string_value(v);
    *ret_len = n;
    return DGA_E_OK;
}

static dga_err device_nonce(json_t *obj, struct dga_device_evidence *dev)
{
    const char *text;
    size_t len;
    dev->has_nonce = false;
    dga_err e = member_string(obj, "nonce", 2 * DGA_NONCE_LEN, &text, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_hex_decode_fixed(text, dev->nonce, DGA_NONCE_LEN);
    if (e != DGA_E_OK) {
        return e;
    }
    dev->has_nonce = true;
    return DGA_E_OK;
}

static dga_err device_blobs(json_t *obj, struct dga_device_evidence *dev)
{
    const char *text;
    size_t len;
    /* What is decoded stays in dev on failure: the caller's set frees it. */
    dga_err e = member_string(obj, "evidence", REPORT_B64_MAX, &text, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_base64_decode(text, len, &dev->report, &dev->report_len);
    if (e != DGA_E_OK) {
        return e;
    }
    e = member_string(obj, "certificate", CHAIN_B64_MAX, &text, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_base64_decode(text, len, (uint8_t **)&dev->chain_pem, &dev->chain_pem_len);
    if (e != DGA_E_OK) {
        return e;
    }
    if (memchr(dev->chain_pem, 0, dev->chain_pem_len) != NULL) {
        return DGA_E_BAD_PEM; /* PEM text with an embedded NUL */
    }
    return DGA_E_OK;
}

static dga_err device_from_json(json_t *obj, struct dga_device_evidence *dev)
{
    if (!json_is_object(obj)) {
        return DGA_E_BAD_JSON;
    }
    const char *arch;
    size_t arch_len;
    dga_err e = member_string(obj, "arch", 16, &arch, &arch_len);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_arch_parse(arch, &dev->arch);
    if (e != DGA_E_OK) {
        return e;
    }
    e = device_nonce(obj, dev);
    if (e != DGA_E_OK) {
        return e;
    }
    return device_blobs(obj, dev);
}

/* The collect-evidence wrapper {"evidences": [...]} or the bare array. */
static json_t *device_array(json_t *root)
{
    if (json_is_object(root)) {
        root = json_object_get(root, "evidences");
    }
    return json_is_array(root) ? root : NULL;
}

static dga_err devices_from_array(json_t *arr, struct dga_evidence_set *s, struct dga_diag *diag)
{
    size_t n = json_array_size(arr);
    if (n == 0) {
        return dga_diag_set(diag, DGA_E_NO_DEVICES, 0, "evidence");
    }
    if (n > DGA_MAX_DEVICES) {
        return dga_diag_set(diag, DGA_E_TOO_MANY_DEVICES, DGA_MAX_DEVICES, "evidence");
    }
    for (size_t i = 0; i < n; i++) {
        dga_err e = device_from_json(json_array_get(arr, i), &s->dev[i]);
        s->n = i + 1; /* so that a failure frees what this device already holds */
        if (e != DGA_E_OK) {
            return dga_diag_set(diag, e, i, "evidence[device]");
        }
    }
    return DGA_E_OK;
}

dga_err dga_evidence_json_parse(const char *text, size_t len, struct dga_evidence_set *ret,
                                struct dga_diag *diag)
{
    if (len > DGA_EVIDENCE_JSON_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, DGA_EVIDENCE_JSON_MAX, "evidence");
    }
    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_JSON, (size_t)jerr.position, "evidence");
    }
    json_t *arr = device_array(root);
    if (arr == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_JSON, 0, "evidence");
    }
    _cleanup_(dga_evidence_set_freep) struct dga_evidence_set *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = devices_from_array(arr, s, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = *s;
    memset(s, 0, sizeof *s); /* what it held is *ret's now */
    return DGA_E_OK;
}

static bool all_hex_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit(p[i]) && !isspace(p[i])) {
            return false;
        }
    }
    return n > 0;
}

dga_err dga_report_bytes_from_file(const uint8_t *content, size_t len, uint8_t **ret,
                                   size_t *ret_len)
{
    if (all_hex_text(content, len)) {
        if (len > 2 * DGA_REPORT_MAX + 64) {
            return DGA_E_TOO_LARGE;
        }
        return dga_hex_decode((const char *)content, len, ret, ret_len);
    }
    if (len > DGA_REPORT_MAX) {
        return DGA_E_TOO_LARGE;
    }
    uint8_t *copy = malloc(len + 1);
    if (copy == NULL) {
        return DGA_E_NOMEM;
    }
    memcpy(copy, content, len);
    *ret = copy;
    *ret_len = len;
    return DGA_E_OK;
}

dga_err dga_evidence_raw(const uint8_t *report_file, size_t report_file_len, const char *chain_pem,
                         size_t chain_pem_len, enum dga_arch arch, struct dga_evidence_set *ret)
{
    if (chain_pem_len > DGA_CHAIN_PEM_MAX) {
        return DGA_E_TOO_LARGE;
    }
    struct dga_device_evidence dev = {.arch = arch, .has_nonce = false};
    dga_err e =
        dga_report_bytes_from_file(report_file, report_file_len, &dev.report, &dev.report_len);
    if (e != DGA_E_OK) {
        return e;
    }
    dev.chain_pem = bytes_dup_text(chain_pem, chain_pem_len);
    if (dev.chain_pem == NULL) {
        free(dev.report);
        return DGA_E_NOMEM;
    }
    dev.chain_pem_len = chain_pem_len;
    memset(ret, 0, sizeof *ret);
    ret->n = 1;
    ret->dev[0] = dev;
    return DGA_E_OK;
}
