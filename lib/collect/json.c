/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The collection as JSON: nvattest's `collect-evidence --format json` wrapper
 * ({"evidences": [...], "result_code": 0, "result_message": "Ok"}) whose
 * devices are NVIDIA's serialized evidence objects (docs/formats.md §1),
 * with what the collection saw added: per device the PCI address, UUID,
 * board id, VBIOS and driver versions and the (system-wide) CC settings; at
 * the top the nonce, driver version and CC settings again. Readers of NVIDIA's
 * format ignore extra keys. The reader here is strict: it is also how the
 * deadline child hands its result to the parent.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "collect/internal.h"
#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "dga/util.h"

#define REPORT_B64_MAX (DGA_REPORT_MAX / 3 * 4 + 4)
#define CHAIN_B64_MAX (DGA_CHAIN_PEM_MAX / 3 * 4 + 4)

static const char *arch_upper(enum dga_arch a)
{
    return a == DGA_ARCH_BLACKWELL ? "BLACKWELL" : a == DGA_ARCH_LS10 ? "LS10" : "HOPPER";
}

json_t *cc_json(const struct dga_cc_settings *cc)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:s}", "environment", (json_int_t)cc->environment,
                     "cc_feature", (json_int_t)cc->cc_feature, "devtools_mode",
                     (json_int_t)cc->devtools_mode, "multi_gpu_mode",
                     (json_int_t)cc->multi_gpu_mode, "mode", dga_cc_mode_name(cc));
}

static json_t *device_json(const struct dga_collection *c, const struct dga_gpu_collected *g,
                           const char *nonce_hex)
{
    return json_pack("{s:s,s:s,s:o,s:o,s:s,s:s,s:I,s:s,s:s,s:o}", "arch", arch_upper(g->arch),
                     "nonce", nonce_hex, "evidence", base64_json(g->report, g->report_len),
                     "certificate", base64_json((const uint8_t *)g->chain_pem, g->chain_pem_len),
                     "pci_address", g->pci_address, "uuid", g->uuid, "board_id",
                     (json_int_t)g->board_id, "vbios_version", g->vbios_version, "driver_version",
                     c->driver_version, "cc", cc_json(&c->cc));
}

json_t *dga_collection_to_json(const struct dga_collection *c)
{
    char nonce_hex[2 * DGA_NONCE_LEN + 1];
    dga_hex_encode(c->nonce, DGA_NONCE_LEN, nonce_hex);
    _cleanup_(json_decrefp) json_t *devices = json_array();
    if (devices == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < c->n; i++) {
        json_t *d = device_json(c, &c->gpu[i], nonce_hex);
        if (d == NULL || json_array_append_new(devices, d) != 0) {
            return NULL;
        }
    }
    return json_pack("{s:O,s:i,s:s,s:s,s:s,s:o}", "evidences", devices, "result_code", 0,
                     "result_message", "Ok", "nonce", nonce_hex, "driver_version",
                     c->driver_version, "cc", cc_json(&c->cc));
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
    *ret = json_string_value(v);
    if (ret_len != NULL) {
        *ret_len = json_string_length(v);
    }
    return DGA_E_OK;
}

/* A string that must fit (with its NUL, without an embedded one) into out[cap]. */
static dga_err get_fixed_string(json_t *obj, const char *key, char *out, size_t cap)
{
    const char *s;
    size_t len;
    dga_err e = get_string(obj, key, cap - 1, &s, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    if (strlen(s) != len) {
        return DGA_E_BAD_JSON;
    }
    memcpy(out, s, len + 1);
    return DGA_E_OK;
}

static dga_err get_uint(json_t *obj, const char *key, unsigned *ret)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > (json_int_t)UINT_MAX) {
        return DGA_E_BAD_JSON;
    }
    *ret = (unsigned)json_integer_value(v);
    return DGA_E_OK;
}

dga_err cc_from_json(json_t *obj, struct dga_cc_settings *cc)
{
    if (!json_is_object(obj)) {
        return DGA_E_BAD_JSON;
    }
    dga_err e = get_uint(obj, "environment", &cc->environment);
    if (e != DGA_E_OK) {
        return e;
    }
    e = get_uint(obj, "cc_feature", &cc->cc_feature);
    if (e != DGA_E_OK) {
        return e;
    }
    e = get_uint(obj, "devtools_mode", &cc->devtools_mode);
    if (e != DGA_E_OK) {
        return e;
    }
    return get_uint(obj, "multi_gpu_mode", &cc->multi_gpu_mode);
}

static dga_err blob(json_t *obj, const char *key, size_t cap, uint8_t **ret, size_t *ret_len)
{
    const char *text;
    size_t len;
    dga_err e = get_string(obj, key, cap, &text, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    return dga_base64_decode(text, len, ret, ret_len);
}

static dga_err device_arch(json_t *obj, struct dga_gpu_collected *g)
{
    const char *s;
    dga_err e = get_string(obj, "arch", 16, &s, NULL);
    if (e == DGA_E_OK) {
        e = dga_arch_parse(s, &g->arch);
    }
    if (e == DGA_E_OK && dga_arch_is_switch(g->arch)) {
        e = DGA_E_BAD_ARCH; /* NVML collects GPUs only */
    }
    g->nvml_arch = g->arch == DGA_ARCH_BLACKWELL ? 10 : 9;
    return e;
}

static dga_err device_identity(json_t *obj, const struct dga_collection *c,
                               struct dga_gpu_collected *g)
{
    uint8_t nonce[DGA_NONCE_LEN];
    const char *s;
    dga_err e = get_string(obj, "nonce", 2 * DGA_NONCE_LEN, &s, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_hex_decode_exact(s, nonce, DGA_NONCE_LEN);
    if (e != DGA_E_OK) {
        return e;
    }
    if (!dga_mem_equal(nonce, c->nonce, DGA_NONCE_LEN)) {
        return DGA_E_NONCE_MISMATCH;
    }
    e = get_string(obj, "pci_address", DGA_PCI_ADDR_MAX, &s, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    e = pci_address_normalize(s, strlen(s), g->pci_address);
    if (e != DGA_E_OK) {
        return e;
    }
    e = get_fixed_string(obj, "uuid", g->uuid, sizeof g->uuid);
    if (e != DGA_E_OK) {
        return e;
    }
    e = get_fixed_string(obj, "vbios_version", g->vbios_version, sizeof g->vbios_version);
    if (e != DGA_E_OK) {
        return e;
    }
    return get_uint(obj, "board_id", &g->board_id);
}

static dga_err device_from_json(json_t *obj, const struct dga_collection *c,
                                struct dga_gpu_collected *g)
{
    if (!json_is_object(obj)) {
        return DGA_E_BAD_JSON;
    }
    dga_err e = device_arch(obj, g);
    if (e != DGA_E_OK) {
        return e;
    }
    e = device_identity(obj, c, g);
    if (e != DGA_E_OK) {
        return e;
    }
    e = blob(obj, "evidence", REPORT_B64_MAX, &g->report, &g->report_len);
    if (e != DGA_E_OK) {
        return e;
    }
    if (g->report_len < DGA_REPORT_MIN || g->report_len > DGA_REPORT_MAX) {
        return DGA_E_NVML_SIZE;
    }
    e = blob(obj, "certificate", CHAIN_B64_MAX, (uint8_t **)&g->chain_pem, &g->chain_pem_len);
    if (e != DGA_E_OK) {
        return e;
    }
    if (memchr(g->chain_pem, 0, g->chain_pem_len) != NULL) {
        return DGA_E_BAD_PEM;
    }
    return DGA_E_OK;
}

static dga_err top_from_json(json_t *root, struct dga_collection *c)
{
    const char *s;
    dga_err e = get_string(root, "nonce", 2 * DGA_NONCE_LEN, &s, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_hex_decode_exact(s, c->nonce, DGA_NONCE_LEN);
    if (e != DGA_E_OK) {
        return e;
    }
    e = get_fixed_string(root, "driver_version", c->driver_version, sizeof c->driver_version);
    if (e != DGA_E_OK) {
        return e;
    }
    return cc_from_json(json_object_get(root, "cc"), &c->cc);
}

static dga_err devices_from_json(json_t *arr, struct dga_collection *c, struct dga_diag *diag)
{
    if (!json_is_array(arr)) {
        return dga_diag_set(diag, DGA_E_BAD_JSON, 0, "evidences");
    }
    if (json_array_size(arr) > DGA_MAX_DEVICES) {
        return dga_diag_set(diag, DGA_E_TOO_MANY_DEVICES, DGA_MAX_DEVICES, "evidences");
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        c->gpu[i].index = (unsigned)i;
        dga_err e = device_from_json(json_array_get(arr, i), c, &c->gpu[i]);
        c->n = i + 1; /* so that a failure frees what this device already holds */
        if (e != DGA_E_OK) {
            return dga_diag_set(diag, e, i, "evidences[device]");
        }
    }
    return DGA_E_OK;
}

dga_err collection_json_root(const char *text, size_t len, size_t cap, json_t **ret,
                             struct dga_diag *diag)
{
    if (len > cap) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, cap, "collection");
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        /* jerr only describes a parse failure: valid JSON that is not an object is at 0 */
        size_t at = root == NULL ? (size_t)jerr.position : 0;
        json_decref(root);
        return dga_diag_set(diag, DGA_E_BAD_JSON, at, "collection");
    }
    *ret = root;
    return DGA_E_OK;
}

dga_err dga_collection_from_json(const char *text, size_t len, struct dga_collection *ret,
                                 struct dga_diag *diag)
{
    _cleanup_(json_decrefp) json_t *root = NULL;
    dga_err e = collection_json_root(text, len, DGA_COLLECTION_JSON_MAX, &root, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    _cleanup_(freep) struct dga_collection *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return DGA_E_NOMEM;
    }
    e = top_from_json(root, c);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "collection");
    }
    e = devices_from_json(json_object_get(root, "evidences"), c, diag);
    if (e != DGA_E_OK) {
        dga_collection_clear(c);
        return e;
    }
    *ret = *c;
    return DGA_E_OK;
}

dga_err collected_to_evidence(enum dga_arch arch, const uint8_t *nonce, const uint8_t *report,
                              size_t report_len, const char *chain_pem, size_t chain_pem_len,
                              struct dga_device_evidence *d)
{
    d->arch = arch;
    d->has_nonce = true;
    memcpy(d->nonce, nonce, DGA_NONCE_LEN);
    d->report = malloc(report_len);
    d->chain_pem = bytes_dup_text(chain_pem, chain_pem_len);
    if (d->report == NULL || d->chain_pem == NULL) {
        return DGA_E_NOMEM;
    }
    memcpy(d->report, report, report_len);
    d->report_len = report_len;
    d->chain_pem_len = chain_pem_len;
    return DGA_E_OK;
}

dga_err collected_set_to_evidence(const void *collection, size_t n, collected_copy_fn copy,
                                  struct dga_evidence_set *ret)
{
    _cleanup_(freep) struct dga_evidence_set *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return DGA_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        s->n = i + 1; /* so that a failure frees what this device already holds */
        if (copy(collection, i, &s->dev[i]) != DGA_E_OK) {
            dga_evidence_set_clear(s);
            return DGA_E_NOMEM;
        }
    }
    *ret = *s;
    return DGA_E_OK;
}

static dga_err copy_device(const void *collection, size_t i, struct dga_device_evidence *d)
{
    const struct dga_collection *c = collection;
    const struct dga_gpu_collected *g = &c->gpu[i];
    return collected_to_evidence(g->arch, c->nonce, g->report, g->report_len, g->chain_pem,
                                 g->chain_pem_len, d);
}

dga_err dga_collection_to_evidence(const struct dga_collection *c, struct dga_evidence_set *ret)
{
    return collected_set_to_evidence(c, c->n, copy_device, ret);
}
