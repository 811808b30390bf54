/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in default policy and the JSON policy document (docs/policy.md).
 * Phases: bound the size and hash the bytes as given; read the JSON strictly
 * (duplicate keys rejected, nothing after the top-level object); then walk
 * every object against its whitelist of keys, each key with its own reader.
 * Every malformed document is DGA_E_POLICY with diag->field naming the key
 * (for an unknown key, the object that holds it: "policy" at the top level).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/cleanup.h"
#include "core/jsonconst.h"
#include "dga/policy.h"
#include "policy/internal.h"

/* Device counts above this are surely a mistake (evidence holds at most 64 devices). */
#define POLICY_MAX_COUNT 1024

const char *const policy_status_names[POLICY_N_STATUS] = {"valid", "expired"};
const char *const policy_ocsp_names[POLICY_N_OCSP] = {"good", "revoked", "unknown"};

#define CHAIN_DEF(name, claim, gpu, identity)                                                      \
    {                                                                                              \
        name, claim, gpu, identity, "chains." name, "chains." name ".status",                      \
            "chains." name ".ocsp_status", "chains." name ".revocation_reasons"                    \
    }

const struct policy_chain_def policy_chains[POLICY_CHAIN__COUNT] = {
    CHAIN_DEF("gpu-attestation-report", "x-nvidia-gpu-attestation-report-cert-chain", true, true),
    CHAIN_DEF("gpu-driver-rim", "x-nvidia-gpu-driver-rim-cert-chain", true, false),
    CHAIN_DEF("gpu-vbios-rim", "x-nvidia-gpu-vbios-rim-cert-chain", true, false),
    CHAIN_DEF("switch-attestation-report", "x-nvidia-switch-attestation-report-cert-chain", false,
              true),
    CHAIN_DEF("switch-bios-rim", "x-nvidia-switch-bios-rim-cert-chain", false, false),
};

static const char *const chain_keys[] = {"status", "ocsp_status", "revocation_reasons"};
static const char *const count_keys[] = {"exact", "min", "max"};
static const char *const devices_keys[] = {"gpus", "nvswitches"};
static const char *const mismatch_keys[] = {"driver", "firmware"};
static const char *const ppcie_keys[] = {"gpus", "switches", "gpu_pdi_in_cert"};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

void policy_set_defaults(struct dga_policy *p)
{
    memset(p, 0, sizeof *p);
    p->attest_gpu = true;
    p->ocsp_required = true;
    p->ocsp_nonce_required = true;
    /* An HGX board: 8 GPUs, 4 NVSwitches; the certificate-PDI rule on (docs/ppcie.md). */
    p->ppcie.gpus = 8;
    p->ppcie.switches = 4;
    p->ppcie.gpu_pdi_in_cert = true;
    for (size_t i = 0; i < POLICY_CHAIN__COUNT; i++) {
        p->chains[i].status = POLICY_STATUS_VALID;
        p->chains[i].ocsp = POLICY_OCSP_GOOD;
    }
}

static dga_err bad(struct dga_diag *d, const char *field)
{
    return dga_diag_set(d, DGA_E_POLICY, 0, field);
}

static bool name_in(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(name, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* v is an object whose keys are all in `allowed`; else `field` names the object. */
static dga_err object_keys(const json_t *v, const char *const *allowed, size_t n, const char *field,
                           struct dga_diag *d)
{
    const char *key;
    json_t *value;
    if (!json_is_object(v)) {
        return bad(d, field);
    }
    json_object_foreach(json_iterable(v), key, value)
    {
        if (!name_in(key, allowed, n)) {
            return bad(d, field);
        }
    }
    return DGA_E_OK;
}

/* ------------------------------------------------------------ value readers */

static dga_err read_bool(const json_t *v, const char *field, bool *out, struct dga_diag *d)
{
    if (!json_is_boolean(v)) {
        return bad(d, field);
    }
    *out = json_is_true(v);
    return DGA_E_OK;
}

/* "required" (true) or "not-required" (false). */
static dga_err read_required(const json_t *v, const char *field, bool *out, struct dga_diag *d)
{
    const char *s = json_string_value(v);
    if (s == NULL) {
        return bad(d, field);
    }
    if (strcmp(s, "required") == 0) {
        *out = true;
    } else if (strcmp(s, "not-required") == 0) {
        *out = false;
    } else {
        return bad(d, field);
    }
    return DGA_E_OK;
}

/* A non-empty array of names from `names`, as a bitmask (bit i = names[i]). */
static dga_err read_set(const json_t *v, const char *const *names, size_t n, const char *field,
                        unsigned *out, struct dga_diag *d)
{
    size_t i;
    json_t *e;
    unsigned mask = 0;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        return bad(d, field);
    }
    json_array_foreach(v, i, e)
    {
        size_t k;
        const char *s = json_string_value(e);
        for (k = 0; s != NULL && k < n && strcmp(s, names[k]) != 0; k++) {
        }
        if (s == NULL || k == n) {
            return bad(d, field);
        }
        mask |= 1u << k;
    }
    *out = mask;
    return DGA_E_OK;
}

/* An array of strings, non-empty unless allow_empty. */
static dga_err read_strings(const json_t *v, bool allow_empty, const char *field,
                            const json_t **out, struct dga_diag *d)
{
    size_t i;
    json_t *e;
    if (!json_is_array(v) || (!allow_empty && json_array_size(v) == 0)) {
        return bad(d, field);
    }
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e)) {
            return bad(d, field);
        }
    }
    *out = v;
    return DGA_E_OK;
}

static dga_err read_uint(const json_t *v, json_int_t max, const char *field, uint32_t *out,
                         struct dga_diag *d)
{
    json_int_t x;
    if (!json_is_integer(v)) {
        return bad(d, field);
    }
    x = json_integer_value(v);
    if (x < 0 || x > max) {
        return bad(d, field);
    }
    *out = (uint32_t)x;
    return DGA_E_OK;
}

/* ------------------------------------------------------------ "chains" */

static dga_err read_chain_ocsp(const struct policy_chain_def *def, const json_t *v,
                               struct policy_chain_rule *rule, struct dga_diag *d)
{
    dga_err e =
        read_set(v, policy_ocsp_names, N_ELEMS(policy_ocsp_names), def->f_ocsp, &rule->ocsp, d);
    if (e != DGA_E_OK) {
        return e;
    }
    /* A revoked or unknown device identity is never acceptable. */
    if (def->identity && rule->ocsp != POLICY_OCSP_GOOD) {
        return bad(d, def->f_ocsp);
    }
    return DGA_E_OK;
}

static dga_err read_chain_reasons(const struct policy_chain_def *def, const json_t *v,
                                  struct policy_chain_rule *rule, struct dga_diag *d)
{
    const json_t *list = NULL;
    dga_err e = read_strings(v, true, def->f_reasons, &list, d);
    if (e != DGA_E_OK) {
        return e;
    }
    /* Reasons narrow an allowed "revoked"; without it they would be dead text. */
    if ((rule->ocsp & POLICY_OCSP_REVOKED) == 0) {
        return bad(d, def->f_reasons);
    }
    rule->reasons = json_array_size(list) > 0 ? list : NULL;
    return DGA_E_OK;
}

static dga_err read_chain(struct dga_policy *p, enum policy_chain c, const json_t *v,
                          struct dga_diag *d)
{
    const struct policy_chain_def *def = &policy_chains[c];
    struct policy_chain_rule *rule = &p->chains[c];
    const json_t *status = json_object_get(v, "status");
    const json_t *ocsp = json_object_get(v, "ocsp_status");
    const json_t *reasons = json_object_get(v, "revocation_reasons");
    dga_err e = object_keys(v, chain_keys, N_ELEMS(chain_keys), def->f_chain, d);
    if (e != DGA_E_OK) {
        return e;
    }
    if (status != NULL) {
        e = read_set(status, policy_status_names, N_ELEMS(policy_status_names), def->f_status,
                     &rule->status, d);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    if (ocsp != NULL) {
        e = read_chain_ocsp(def, ocsp, rule, d);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    if (reasons != NULL) {
        return read_chain_reasons(def, reasons, rule, d);
    }
    return DGA_E_OK;
}

static dga_err key_chains(struct dga_policy *p, const json_t *v, const char *field,
                          struct dga_diag *d)
{
    const char *key;
    json_t *value;
    if (!json_is_object(v)) {
        return bad(d, field);
    }
    json_object_foreach(json_iterable(v), key, value)
    {
        size_t c;
        for (c = 0; c < POLICY_CHAIN__COUNT && strcmp(key, policy_chains[c].name) != 0; c++) {
        }
        if (c == POLICY_CHAIN__COUNT) {
            return bad(d, field);
        }
        dga_err e = read_chain(p, (enum policy_chain)c, value, d);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    return DGA_E_OK;
}

/* ------------------------------------------------------------ "devices" */

struct count_fields {
    const char *obj, *exact, *min, *max;
};

static const struct count_fields gpu_fields = {"devices.gpus", "devices.gpus.exact",
                                               "devices.gpus.min", "devices.gpus.max"};
static const struct count_fields switch_fields = {"devices.nvswitches", "devices.nvswitches.exact",
                                                  "devices.nvswitches.min",
                                                  "devices.nvswitches.max"};

/* A bound present or absent (left as it is). */
static dga_err read_bound(const json_t *v, const char *field, uint32_t *out, struct dga_diag *d)
{
    if (v == NULL) {
        return DGA_E_OK;
    }
    return read_uint(v, POLICY_MAX_COUNT, field, out, d);
}

static dga_err read_count(const json_t *v, const struct count_fields *f, struct policy_count *out,
                          struct dga_diag *d)
{
    const json_t *exact = json_object_get(v, "exact");
    const json_t *min = json_object_get(v, "min");
    const json_t *max = json_object_get(v, "max");
    struct policy_count c = {.set = true, .min = 0, .max = UINT32_MAX};
    dga_err e = object_keys(v, count_keys, N_ELEMS(count_keys), f->obj, d);
    if (e != DGA_E_OK) {
        return e;
    }
    if (exact != NULL) {
        if (min != NULL || max != NULL) {
            return bad(d, f->exact);
        }
        e = read_uint(exact, POLICY_MAX_COUNT, f->exact, &c.min, d);
        if (e != DGA_E_OK) {
            return e;
        }
        c.max = c.min;
    } else if (min == NULL && max == NULL) {
        return bad(d, f->obj);
    }
    e = read_bound(min, f->min, &c.min, d);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_bound(max, f->max, &c.max, d);
    if (e != DGA_E_OK) {
        return e;
    }
    if (c.min > c.max) {
        return bad(d, f->max);
    }
    *out = c;
    return DGA_E_OK;
}

static dga_err key_devices(struct dga_policy *p, const json_t *v, const char *field,
                           struct dga_diag *d)
{
    const json_t *gpus = json_object_get(v, "gpus");
    const json_t *switches = json_object_get(v, "nvswitches");
    dga_err e = object_keys(v, devices_keys, N_ELEMS(devices_keys), field, d);
    if (e != DGA_E_OK) {
        return e;
    }
    if (gpus != NULL) {
        e = read_count(gpus, &gpu_fields, &p->gpus, d);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    if (switches != NULL) {
        return read_count(switches, &switch_fields, &p->switches, d);
    }
    return DGA_E_OK;
}

/* ------------------------------------------------------------ "ppcie" */

/* The PPCIe topology check's counts and rules (docs/ppcie.md); each key may be left out. */
static dga_err key_ppcie(struct dga_policy *p, const json_t *v, const char *field,
                         struct dga_diag *d)
{
    const json_t *gpus = json_object_get(v, "gpus");
    const json_t *switches = json_object_get(v, "switches");
    const json_t *in_cert = json_object_get(v, "gpu_pdi_in_cert");
    dga_err e = object_keys(v, ppcie_keys, N_ELEMS(ppcie_keys), field, d);
    if (e == DGA_E_OK && gpus != NULL) {
        e = read_uint(gpus, DGA_POLICY_PPCIE_MAX_DEVICES, "ppcie.gpus", &p->ppcie.gpus, d);
    }
    if (e == DGA_E_OK && switches != NULL) {
        e = read_uint(switches, DGA_POLICY_PPCIE_MAX_DEVICES, "ppcie.switches", &p->ppcie.switches,
                      d);
    }
    if (e == DGA_E_OK && in_cert != NULL) {
        e = read_bool(in_cert, "ppcie.gpu_pdi_in_cert", &p->ppcie.gpu_pdi_in_cert, d);
    }
    if (e == DGA_E_OK && p->ppcie.gpus == 0) {
        e = bad(d, "ppcie.gpus");
    }
    return e;
}

/* ------------------------------------------------------------ "allow_mismatch_indices" */

/* An array of measurement indices (absent: nothing) into the bitmap. */
static dga_err read_indices(const json_t *v, const char *field, uint8_t *map, struct dga_diag *d)
{
    size_t i;
    json_t *item;
    if (v == NULL) {
        return DGA_E_OK;
    }
    if (!json_is_array(v)) {
        return bad(d, field);
    }
    json_array_foreach(v, i, item)
    {
        uint32_t index;
        dga_err e = read_uint(item, POLICY_MAX_INDEX, field, &index, d);
        if (e != DGA_E_OK) {
            return e;
        }
        map[index / 8] = (uint8_t)(map[index / 8] | (1u << (index % 8)));
    }
    return DGA_E_OK;
}

static dga_err key_mismatch(struct dga_policy *p, const json_t *v, const char *field,
                            struct dga_diag *d)
{
    dga_err e = object_keys(v, mismatch_keys, N_ELEMS(mismatch_keys), field, d);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_indices(json_object_get(v, "driver"), "allow_mismatch_indices.driver",
                     p->mismatch[POLICY_SOURCE_DRIVER], d);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_indices(json_object_get(v, "firmware"), "allow_mismatch_indices.firmware",
                     p->mismatch[POLICY_SOURCE_FIRMWARE], d);
    if (e != DGA_E_OK) {
        return e;
    }
    p->mismatch_allowed = true;
    return DGA_E_OK;
}

/* ------------------------------------------------------------ scalar keys */

static dga_err key_version(struct dga_policy *p, const json_t *v, const char *field,
                           struct dga_diag *d)
{
    (void)p;
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        return bad(d, field);
    }
    return DGA_E_OK;
}

static dga_err key_attest_gpu(struct dga_policy *p, const json_t *v, const char *field,
                              struct dga_diag *d)
{
    return read_bool(v, field, &p->attest_gpu, d);
}

static dga_err key_allow_devtools(struct dga_policy *p, const json_t *v, const char *field,
                                  struct dga_diag *d)
{
    return read_bool(v, field, &p->allow_devtools, d);
}

static dga_err key_allow_debug(struct dga_policy *p, const json_t *v, const char *field,
                               struct dga_diag *d)
{
    return read_bool(v, field, &p->allow_debug, d);
}

static dga_err key_allow_insecure_boot(struct dga_policy *p, const json_t *v, const char *field,
                                       struct dga_diag *d)
{
    return read_bool(v, field, &p->allow_insecure_boot, d);
}

static dga_err key_protected_pcie(struct dga_policy *p, const json_t *v, const char *field,
                                  struct dga_diag *d)
{
    return read_bool(v, field, &p->require_protected_pcie, d);
}

static dga_err key_ocsp(struct dga_policy *p, const json_t *v, const char *field,
                        struct dga_diag *d)
{
    return read_required(v, field, &p->ocsp_required, d);
}

/* "required" (default), "strict" (a matching nonce only) or "not-required". */
static dga_err key_ocsp_nonce(struct dga_policy *p, const json_t *v, const char *field,
                              struct dga_diag *d)
{
    if (json_is_string(v) && strcmp(json_string_value(v), "strict") == 0) {
        p->ocsp_nonce_required = true;
        p->ocsp_nonce_strict = true;
        return DGA_E_OK;
    }
    p->ocsp_nonce_strict = false;
    return read_required(v, field, &p->ocsp_nonce_required, d);
}

/* Seconds, 1 .. a year: the largest maximum age a stored OCSP response may have been held to. */
static dga_err key_ocsp_max_age(struct dga_policy *p, const json_t *v, const char *field,
                                struct dga_diag *d)
{
    dga_err e = read_uint(v, 366L * 86400, field, &p->ocsp_max_age, d);
    if (e != DGA_E_OK) {
        return e;
    }
    return p->ocsp_max_age == 0 ? bad(d, field) : DGA_E_OK;
}

static dga_err key_driver_versions(struct dga_policy *p, const json_t *v, const char *field,
                                   struct dga_diag *d)
{
    return read_strings(v, false, field, &p->driver_versions, d);
}

static dga_err key_vbios_versions(struct dga_policy *p, const json_t *v, const char *field,
                                  struct dga_diag *d)
{
    return read_strings(v, false, field, &p->vbios_versions, d);
}

static dga_err key_switch_bios_versions(struct dga_policy *p, const json_t *v, const char *field,
                                        struct dga_diag *d)
{
    return read_strings(v, false, field, &p->switch_bios_versions, d);
}

static dga_err key_hwmodels(struct dga_policy *p, const json_t *v, const char *field,
                            struct dga_diag *d)
{
    return read_strings(v, false, field, &p->hwmodels, d);
}

/* ------------------------------------------------------------ the document */

struct top_key {
    const char *name; /* also the diag field */
    dga_err (*read)(struct dga_policy *p, const json_t *v, const char *field, struct dga_diag *d);
};

static const struct top_key top_keys[] = {
    {"version", key_version},
    {"attest_gpu", key_attest_gpu},
    {"allow_devtools", key_allow_devtools},
    {"allow_debug", key_allow_debug},
    {"allow_insecure_boot", key_allow_insecure_boot},
    {"ocsp", key_ocsp},
    {"ocsp_nonce", key_ocsp_nonce},
    {"ocsp_max_age", key_ocsp_max_age},
    {"chains", key_chains},
    {"allow_mismatch_indices", key_mismatch},
    {"devices", key_devices},
    {"driver_versions", key_driver_versions},
    {"vbios_versions", key_vbios_versions},
    {"switch_bios_versions", key_switch_bios_versions},
    {"require_protected_pcie", key_protected_pcie},
    {"hwmodels", key_hwmodels},
    {"ppcie", key_ppcie},
};

static dga_err read_document(struct dga_policy *p, const json_t *doc, struct dga_diag *d)
{
    const char *key;
    json_t *value;
    if (!json_is_object(doc)) {
        return bad(d, "policy");
    }
    json_object_foreach(json_iterable(doc), key, value)
    {
        size_t k;
        for (k = 0; k < N_ELEMS(top_keys) && strcmp(key, top_keys[k].name) != 0; k++) {
        }
        if (k == N_ELEMS(top_keys)) {
            return bad(d, "policy");
        }
        dga_err e = top_keys[k].read(p, value, top_keys[k].name, d);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    return DGA_E_OK;
}

/* The static spelling of a known key name, or NULL. */
static const char *known_key(const char *name)
{
    static const char *const *const lists[] = {chain_keys, count_keys, devices_keys, mismatch_keys,
                                               ppcie_keys};
    static const size_t sizes[] = {N_ELEMS(chain_keys), N_ELEMS(count_keys), N_ELEMS(devices_keys),
                                   N_ELEMS(mismatch_keys), N_ELEMS(ppcie_keys)};
    for (size_t k = 0; k < N_ELEMS(top_keys); k++) {
        if (strcmp(name, top_keys[k].name) == 0) {
            return top_keys[k].name;
        }
    }
    for (size_t c = 0; c < POLICY_CHAIN__COUNT; c++) {
        if (strcmp(name, policy_chains[c].name) == 0) {
            return policy_chains[c].name;
        }
    }
    for (size_t l = 0; l < N_ELEMS(lists); l++) {
        for (size_t i = 0; i < sizes[l]; i++) {
            if (strcmp(name, lists[l][i]) == 0) {
                return lists[l][i];
            }
        }
    }
    return NULL;
}

/*
 * jansson says which key is duplicated only in its message text
 * (`duplicate object key near '"KEY"'`); a known key is named by its static
 * spelling, anything else by "policy".
 */
static const char *duplicate_field(const json_error_t *err)
{
    char name[64];
    const char *at = strstr(err->text, "near '\"");
    const char *end;
    const char *known;
    if (at == NULL) {
        return "policy";
    }
    at += strlen("near '\"");
    end = strstr(at, "\"'");
    if (end == NULL || (size_t)(end - at) >= sizeof name) {
        return "policy";
    }
    memcpy(name, at, (size_t)(end - at));
    name[end - at] = '\0';
    known = known_key(name);
    return known != NULL ? known : "policy";
}

static dga_err load_json(const char *text, size_t len, json_t **ret, struct dga_diag *d)
{
    json_error_t err;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (doc == NULL) {
        const char *field = "policy";
        if (json_error_code(&err) == json_error_duplicate_key) {
            field = duplicate_field(&err);
        }
        return dga_diag_set(d, DGA_E_POLICY, err.position > 0 ? (size_t)err.position : 0, field);
    }
    *ret = doc;
    return DGA_E_OK;
}

static dga_err sha256(const void *data, size_t len, uint8_t out[32])
{
    static const char empty[1] = "";
    if (EVP_Digest(len > 0 ? data : empty, len, out, NULL, EVP_sha256(), NULL) != 1) {
        return DGA_E_INTERNAL;
    }
    return DGA_E_OK;
}

dga_err dga_policy_default(struct dga_policy **ret)
{
    struct dga_policy *p;
    if (ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    p = malloc(sizeof *p);
    if (p == NULL) {
        return DGA_E_NOMEM;
    }
    policy_set_defaults(p);
    p->origin = DGA_POLICY_BUILTIN;
    if (sha256("", 0, p->sha256) != DGA_E_OK) {
        free(p);
        return DGA_E_INTERNAL;
    }
    *ret = p;
    return DGA_E_OK;
}

dga_err dga_policy_parse(const char *json, size_t len, struct dga_policy **ret,
                         struct dga_diag *diag)
{
    _cleanup_(dga_policy_freep) struct dga_policy *p = NULL;
    if (ret == NULL || (json == NULL && len > 0)) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "policy");
    }
    if (len > DGA_POLICY_MAX_BYTES) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, DGA_POLICY_MAX_BYTES, "policy");
    }
    p = malloc(sizeof *p);
    if (p == NULL) {
        return dga_diag_set(diag, DGA_E_NOMEM, 0, "policy");
    }
    policy_set_defaults(p);
    p->origin = DGA_POLICY_FILE;
    if (sha256(json, len, p->sha256) != DGA_E_OK) {
        return dga_diag_set(diag, DGA_E_INTERNAL, 0, "policy");
    }
    dga_err e = load_json(json != NULL ? json : "", len, &p->doc, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_document(p, p->doc, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = TAKE_PTR(p);
    return DGA_E_OK;
}

void dga_policy_free(struct dga_policy *p)
{
    if (p == NULL) {
        return;
    }
    json_decref(p->doc);
    free(p);
}

enum dga_policy_origin dga_policy_origin(const struct dga_policy *p)
{
    return p != NULL ? p->origin : DGA_POLICY_FILE;
}

const char *dga_policy_source(const struct dga_policy *p)
{
    return dga_policy_origin(p) == DGA_POLICY_BUILTIN ? "builtin" : "file";
}

void dga_policy_sha256(const struct dga_policy *p, uint8_t out[32])
{
    if (p == NULL) {
        memset(out, 0, 32);
        return;
    }
    memcpy(out, p->sha256, 32);
}

bool dga_policy_attest_gpu(const struct dga_policy *p)
{
    return p == NULL || p->attest_gpu;
}

bool dga_policy_ocsp_required(const struct dga_policy *p)
{
    return p->ocsp_required;
}

bool dga_policy_allow_devtools(const struct dga_policy *p)
{
    return p != NULL && p->allow_devtools;
}

bool dga_policy_allow_debug(const struct dga_policy *p)
{
    return p != NULL && p->allow_debug;
}

bool dga_policy_allow_insecure_boot(const struct dga_policy *p)
{
    return p != NULL && p->allow_insecure_boot;
}

void dga_policy_relax_measurements(struct dga_policy *p, bool allow_debug, bool allow_insecure_boot)
{
    p->allow_debug = p->allow_debug || allow_debug;
    p->allow_insecure_boot = p->allow_insecure_boot || allow_insecure_boot;
}

void dga_policy_set_nvswitch_inventory(struct dga_policy *p, size_t n)
{
    p->has_switch_inventory = true;
    p->switch_inventory = n;
}

void dga_policy_ppcie(const struct dga_policy *p, struct dga_policy_ppcie *ret)
{
    struct dga_policy defaults;
    if (p == NULL) {
        policy_set_defaults(&defaults);
        p = &defaults;
    }
    *ret = p->ppcie;
}
