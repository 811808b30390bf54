/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a dstack CVM hands a relying party: the GetQuote response (or
 * dstack-verifier's request, the same members) and the GPU evidence bundle,
 * as a file or inside dstack's GpuInfo response. Parsed strictly: a member
 * we do not understand would be a claim we silently ignore.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/cleanup.h"
#include "dga/cvm.h"
#include "dga/util.h"

void dga_cvm_input_clear(struct dga_cvm_input *in)
{
    if (in == NULL) {
        return;
    }
    free(in->quote);
    dga_eventlog_free(in->log);
    free(in->vm_config);
    free(in->gpu_bundle);
    memset(in, 0, sizeof *in);
}

static dga_err bad(struct dga_diag *diag, const char *field)
{
    return dga_diag_set(diag, DGA_E_CVM_INPUT, 0, field);
}

/* A string member: NULL when absent; DGA_E_CVM_INPUT when not a string or holding a NUL. */
static dga_err string_member(json_t *o, const char *name, const char **ret, size_t *ret_len,
                             struct dga_diag *diag)
{
    json_t *v = json_object_get(o, name);
    *ret = NULL;
    *ret_len = 0;
    if (v == NULL) {
        return DGA_E_OK;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        return bad(diag, name);
    }
    *ret = json_string_value(v);
    *ret_len = json_string_length(v);
    return DGA_E_OK;
}

static dga_err only_known(json_t *o, struct dga_diag *diag)
{
    static const char *const known[] = {"quote", "event_log",   "vm_config", "report_data",
                                        "debug", "attestation", "gpu_bundle"};
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        bool found = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            found = found || strcmp(key, known[i]) == 0;
        }
        if (!found) {
            return bad(diag, "unknown member");
        }
    }
    /* dstack's msgpack container would replace quote, event_log and vm_config: not read yet. */
    if (json_object_get(o, "attestation") != NULL) {
        return bad(diag, "attestation");
    }
    json_t *debug = json_object_get(o, "debug");
    if (debug != NULL && !json_is_boolean(debug)) {
        return bad(diag, "debug");
    }
    return DGA_E_OK;
}

static dga_err take_quote(json_t *o, struct dga_cvm_input *in, struct dga_diag *diag)
{
    const char *hex;
    size_t len;
    dga_err e = string_member(o, "quote", &hex, &len, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (hex == NULL || len == 0 || len > 2 * (size_t)DGA_QUOTE_MAX_LEN) {
        return bad(diag, "quote");
    }
    if (dga_hex_decode(hex, len, &in->quote, &in->quote_len) != DGA_E_OK) {
        return bad(diag, "quote");
    }
    return DGA_E_OK;
}

static dga_err take_log(json_t *o, struct dga_cvm_input *in, struct dga_diag *diag)
{
    const char *text;
    size_t len;
    dga_err e = string_member(o, "event_log", &text, &len, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    size_t i = 0;
    while (text != NULL && i < len && strchr(" \t\r\n", text[i]) != NULL) {
        i++;
    }
    /* Only the GetQuote array form: the other forms dga_eventlog_parse reads lack boot events. */
    if (text == NULL || i == len || text[i] != '[') {
        return bad(diag, "event_log");
    }
    return dga_eventlog_parse(text, len, &in->log, diag);
}

static dga_err take_vm_config(json_t *o, struct dga_cvm_input *in, struct dga_diag *diag)
{
    const char *text;
    size_t len;
    dga_err e = string_member(o, "vm_config", &text, &len, diag);
    if (e != DGA_E_OK || text == NULL) {
        return e;
    }
    if (len > DGA_CVM_VM_CONFIG_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, len, "vm_config");
    }
    _cleanup_(json_decrefp) json_t *cfg = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(cfg)) {
        return bad(diag, "vm_config");
    }
    json_t *h = json_object_get(cfg, "os_image_hash");
    if (h != NULL) {
        if (!json_is_string(h) ||
            dga_hex_decode_exact(json_string_value(h), in->os_image_hash, 32) != DGA_E_OK) {
            return bad(diag, "vm_config.os_image_hash");
        }
        in->has_os_image_hash = true;
    }
    in->vm_config = malloc(len + 1);
    if (in->vm_config == NULL) {
        return DGA_E_NOMEM;
    }
    memcpy(in->vm_config, text, len);
    in->vm_config[len] = '\0';
    in->vm_config_len = len;
    return DGA_E_OK;
}

/* The bundle the guest served, as the request's string: its exact bytes; "" is none (GpuInfo's). */
static dga_err take_gpu_bundle(json_t *o, struct dga_cvm_input *in, struct dga_diag *diag)
{
    const char *text;
    size_t len;
    dga_err e = string_member(o, "gpu_bundle", &text, &len, diag);
    if (e != DGA_E_OK || text == NULL || len == 0) {
        return e;
    }
    /* Unreachable while DGA_CVM_INPUT_MAX is the smaller cap; kept so the bound holds alone. */
    if (len > DGA_CVM_BUNDLE_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, len, "gpu_bundle");
    }
    in->gpu_bundle = malloc(len);
    if (in->gpu_bundle == NULL) {
        return DGA_E_NOMEM;
    }
    memcpy(in->gpu_bundle, text, len);
    in->gpu_bundle_len = len;
    return DGA_E_OK;
}

static dga_err take_report_data(json_t *o, struct dga_cvm_input *in, struct dga_diag *diag)
{
    const char *hex;
    size_t len;
    dga_err e = string_member(o, "report_data", &hex, &len, diag);
    if (e != DGA_E_OK || hex == NULL) {
        return e;
    }
    _cleanup_(freep) uint8_t *bytes = NULL;
    size_t n = 0;
    if (len > 128 || dga_hex_decode(hex, len, &bytes, &n) != DGA_E_OK || n > 64) {
        return bad(diag, "report_data");
    }
    memset(in->report_data, 0, 64);
    if (n > 0) {
        memcpy(in->report_data, bytes, n);
    }
    in->has_report_data = true;
    return DGA_E_OK;
}

static dga_err parse_members(json_t *o, struct dga_cvm_input *in, struct dga_diag *diag)
{
    dga_err e = only_known(o, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = take_quote(o, in, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = take_log(o, in, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = take_vm_config(o, in, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = take_report_data(o, in, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return take_gpu_bundle(o, in, diag);
}

dga_err dga_cvm_input_parse(const char *text, size_t len, struct dga_cvm_input *ret,
                            struct dga_diag *diag)
{
    if (text == NULL || ret == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "input");
    }
    if (len > DGA_CVM_INPUT_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, len, "input");
    }
    json_error_t jerr;
    /*
     * U+0000 is let through the JSON reader so that string_member refuses it
     * naming the member (vm_config, gpu_bundle, ...), not the whole input.
     */
    _cleanup_(json_decrefp) json_t *o =
        json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!json_is_object(o)) {
        return dga_diag_set(diag, DGA_E_CVM_INPUT, o == NULL ? (size_t)jerr.position : 0, "input");
    }
    _cleanup_(dga_cvm_input_clearp) struct dga_cvm_input in = {0};
    dga_err e = parse_members(o, &in, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = in;
    memset(&in, 0, sizeof in);
    return DGA_E_OK;
}

/* ---- the bundle --------------------------------------------------------------------------- */

/* GpuInfo: exactly {"attestation": "<string>"}; the string's exact bytes (NULs refused). */
static bool gpuinfo_string(json_t *o, const char **ret, size_t *ret_len)
{
    json_t *a = json_object_get(o, "attestation");
    if (!json_is_object(o) || json_object_size(o) != 1 || !json_is_string(a)) {
        return false;
    }
    *ret = json_string_value(a);
    *ret_len = json_string_length(a);
    return strlen(*ret) == *ret_len;
}

static dga_err copy_out(const void *p, size_t len, uint8_t **ret, size_t *ret_len,
                        struct dga_diag *diag)
{
    if (len == 0) {
        return dga_diag_set(diag, DGA_E_CVM_BUNDLE_ABSENT, 0, "bundle");
    }
    if (len > DGA_CVM_BUNDLE_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, len, "bundle");
    }
    uint8_t *b = malloc(len);
    if (b == NULL) {
        return DGA_E_NOMEM;
    }
    memcpy(b, p, len);
    *ret = b;
    *ret_len = len;
    return DGA_E_OK;
}

dga_err dga_cvm_bundle_read(const uint8_t *in, size_t len, enum dga_cvm_bundle_form form,
                            uint8_t **ret, size_t *ret_len, struct dga_diag *diag)
{
    if (in == NULL && len > 0) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "bundle");
    }
    /* The GpuInfo wrapper escapes the bundle, so it may be a few times larger. */
    if (len > 4 * (size_t)DGA_CVM_BUNDLE_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, len, "bundle");
    }
    if (form == DGA_CVM_BUNDLE_RAW) {
        return copy_out(in, len, ret, ret_len, diag);
    }
    _cleanup_(json_decrefp) json_t *o =
        len > 0 ? json_loadb((const char *)in, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    const char *s;
    size_t n;
    if (o != NULL && gpuinfo_string(o, &s, &n)) {
        return copy_out(s, n, ret, ret_len, diag);
    }
    if (form == DGA_CVM_BUNDLE_GPUINFO) {
        return dga_diag_set(diag, DGA_E_CVM_BUNDLE_INPUT, 0, "attestation");
    }
    return copy_out(in, len, ret, ret_len, diag);
}
