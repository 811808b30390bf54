/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The relying party's expectations (docs/verify.md): one strict JSON object.
 * Each key is one row of a table (name, kind, where it goes), so the parser
 * and the unknown-key check read the same list. Absent allow-lists are "not
 * checked"; present ones must be non-empty lists of lowercase hex of the
 * value's exact length, because an empty list would refuse everything and a
 * wrong length could never match: both are mistakes to report, not verdicts.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/cleanup.h"
#include "core/jsonconst.h"
#include "dga/cvm.h"
#include "dga/util.h"

enum kind {
    K_HEXLIST, /* array of lowercase hex, `len` bytes each */
    K_NAMES,   /* array of non-empty strings */
    K_CHALLENGE,
    K_TCB,
    K_BOOL,
    K_GPU,
};

struct key {
    const char *name;
    enum kind kind;
    size_t offset;
    size_t len;
};

#define LIST(n, member, l)                                                                         \
    {                                                                                              \
        n, K_HEXLIST, offsetof(struct dga_cvm_expect, member), l                                   \
    }

static const struct key top_keys[] = {
    {"report_data", K_CHALLENGE, 0, 0},
    LIST("mrtd", mrtd, 48),
    LIST("rtmr0", rtmr0, 48),
    LIST("rtmr1", rtmr1, 48),
    LIST("rtmr2", rtmr2, 48),
    LIST("mr_system", mr_system, 32),
    LIST("mr_aggregated", mr_aggregated, 32),
    LIST("os_image_hash", os_image_hash, 32),
    LIST("app_id", app_id, 20),
    LIST("compose_hash", compose_hash, 32),
    {"key_provider", K_NAMES, offsetof(struct dga_cvm_expect, key_provider), 0},
    {"tcb_statuses", K_TCB, 0, 0},
    {"advisory_ids", K_NAMES, offsetof(struct dga_cvm_expect, advisory_ids), 0},
    {"allow_debug", K_BOOL, offsetof(struct dga_cvm_expect, allow_debug), 0},
    {"gpu", K_GPU, 0, 0},
};

static const char *const gpu_keys[] = {
    "required",       "gpus",           "nvswitches",     "gpu_policy_hashes",
    "allow_devtools", "trust_roots",    "max_bundle_age", "reappraise_at",
    "rim_dir",        "collateral_dir", "policy",         "test_device_root",
    "mode",
};

static dga_err bad(struct dga_diag *diag, const char *field)
{
    return dga_diag_set(diag, DGA_E_CVM_EXPECT, 0, field);
}

static void list_clear(struct dga_cvm_list *l)
{
    for (size_t i = 0; l->names != NULL && i < l->n; i++) {
        free(l->names[i]);
    }
    free(l->names);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void dga_cvm_expect_clear(struct dga_cvm_expect *x)
{
    if (x == NULL) {
        return;
    }
    struct dga_cvm_list *lists[] = {&x->mrtd,          &x->rtmr0,        &x->rtmr1,
                                    &x->rtmr2,         &x->mr_system,    &x->mr_aggregated,
                                    &x->os_image_hash, &x->app_id,       &x->compose_hash,
                                    &x->key_provider,  &x->advisory_ids, &x->gpu.gpu_policy_hashes};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        list_clear(lists[i]);
    }
    free(x->gpu.rim_dir);
    free(x->gpu.collateral_dir);
    free(x->gpu.policy);
    free(x->gpu.test_device_root);
    memset(x, 0, sizeof *x);
}

/* Lowercase hex only: the documents are compared as written by tools that print lowercase. */
static bool lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

static bool clean_string(const json_t *v, size_t max)
{
    return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= max &&
           strlen(json_string_value(v)) == json_string_length(v);
}

static dga_err hex_list(const json_t *a, size_t len, struct dga_cvm_list *l)
{
    size_t n = json_array_size(a);
    if (!json_is_array(a) || n == 0 || n > DGA_CVM_LIST_MAX) {
        return DGA_E_CVM_EXPECT;
    }
    l->v = calloc(n, len);
    if (l->v == NULL) {
        return DGA_E_NOMEM;
    }
    l->present = true;
    l->len = len;
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(a, i);
        if (!json_is_string(s) || json_string_length(s) != 2 * len ||
            !lower_hex(json_string_value(s), 2 * len) ||
            dga_hex_decode_exact(json_string_value(s), l->v + i * len, len) != DGA_E_OK) {
            return DGA_E_CVM_EXPECT;
        }
        l->n = i + 1;
    }
    return DGA_E_OK;
}

static dga_err name_list(const json_t *a, struct dga_cvm_list *l)
{
    size_t n = json_array_size(a);
    if (!json_is_array(a) || n == 0 || n > DGA_CVM_LIST_MAX) {
        return DGA_E_CVM_EXPECT;
    }
    l->names = calloc(n, sizeof *l->names);
    if (l->names == NULL) {
        return DGA_E_NOMEM;
    }
    l->present = true;
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(a, i);
        if (!clean_string(s, DGA_CVM_STRING_MAX)) {
            return DGA_E_CVM_EXPECT;
        }
        l->names[i] = strdup(json_string_value(s));
        if (l->names[i] == NULL) {
            return DGA_E_NOMEM;
        }
        l->n = i + 1;
    }
    return DGA_E_OK;
}

static dga_err challenge(const json_t *v, struct dga_cvm_expect *x)
{
    _cleanup_(freep) uint8_t *bytes = NULL;
    size_t n = 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 128 ||
        !lower_hex(json_string_value(v), json_string_length(v)) ||
        dga_hex_decode(json_string_value(v), json_string_length(v), &bytes, &n) != DGA_E_OK) {
        return DGA_E_CVM_EXPECT;
    }
    memset(x->report_data, 0, 64);
    memcpy(x->report_data, bytes, n);
    x->has_report_data = true;
    return DGA_E_OK;
}

static dga_err tcb_list(const json_t *a, struct dga_cvm_expect *x)
{
    size_t n = json_array_size(a);
    if (!json_is_array(a) || n == 0 || n > DGA_CVM_LIST_MAX) {
        return DGA_E_CVM_EXPECT;
    }
    x->tcb_statuses = 0;
    for (size_t i = 0; i < n; i++) {
        enum dga_tcb_status s;
        const json_t *v = json_array_get(a, i);
        if (!json_is_string(v) || dga_tcb_status_from_name(json_string_value(v), &s) != DGA_E_OK) {
            return DGA_E_CVM_EXPECT;
        }
        x->tcb_statuses |= 1u << s;
    }
    return DGA_E_OK;
}

/* {"exact": N} or {"min": N}, N in 0..1024. */
static dga_err count(const json_t *o, struct dga_cvm_count *c, const char **field)
{
    const json_t *exact = json_object_get(o, "exact"), *min = json_object_get(o, "min");
    const json_t *v = exact != NULL ? exact : min;
    if (!json_is_object(o) || json_object_size(o) != 1 || v == NULL) {
        return DGA_E_CVM_EXPECT;
    }
    *field = exact != NULL ? "exact" : "min";
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1024) {
        return DGA_E_CVM_EXPECT;
    }
    c->kind = exact != NULL ? DGA_CVM_COUNT_EXACT : DGA_CVM_COUNT_MIN;
    c->n = (unsigned)json_integer_value(v);
    return DGA_E_OK;
}

static dga_err trust_roots(const json_t *a, struct dga_cvm_gpu_expect *g)
{
    size_t n = json_array_size(a);
    if (!json_is_array(a) || n == 0 || n > 2) {
        return DGA_E_CVM_EXPECT;
    }
    g->trust_nvidia = g->trust_test = false;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        bool *slot = s == NULL                  ? NULL
                     : strcmp(s, "nvidia") == 0 ? &g->trust_nvidia
                     : strcmp(s, "test") == 0   ? &g->trust_test
                                                : NULL;
        if (slot == NULL || *slot) {
            return DGA_E_CVM_EXPECT;
        }
        *slot = true;
    }
    return DGA_E_OK;
}

/* "cc" (the default), "ppcie" or "any", as the KMS hook's gpu.mode. */
static dga_err gpu_mode(const json_t *v, enum dga_cvm_gpu_mode *ret)
{
    static const char *const names[] = {[DGA_CVM_GPU_MODE_CC] = "cc",
                                        [DGA_CVM_GPU_MODE_PPCIE] = "ppcie",
                                        [DGA_CVM_GPU_MODE_ANY] = "any"};
    const char *s = json_string_value(v);
    for (size_t i = 0; s != NULL && i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *ret = (enum dga_cvm_gpu_mode)i;
            return DGA_E_OK;
        }
    }
    return DGA_E_CVM_EXPECT;
}

static dga_err path(const json_t *v, char **slot)
{
    if (!clean_string(v, DGA_CVM_STRING_MAX)) {
        return DGA_E_CVM_EXPECT;
    }
    *slot = strdup(json_string_value(v));
    return *slot != NULL ? DGA_E_OK : DGA_E_NOMEM;
}

static dga_err gpu_key(const char *k, const json_t *v, struct dga_cvm_gpu_expect *g,
                       const char **sub)
{
    if (strcmp(k, "required") == 0 || strcmp(k, "allow_devtools") == 0) {
        if (!json_is_boolean(v)) {
            return DGA_E_CVM_EXPECT;
        }
        *(k[0] == 'r' ? &g->required : &g->allow_devtools) = json_is_true(v);
        return DGA_E_OK;
    }
    if (strcmp(k, "gpus") == 0 || strcmp(k, "nvswitches") == 0) {
        return count(v, k[0] == 'g' ? &g->gpus : &g->nvswitches, sub);
    }
    if (strcmp(k, "gpu_policy_hashes") == 0) {
        return hex_list(v, 32, &g->gpu_policy_hashes);
    }
    if (strcmp(k, "trust_roots") == 0) {
        return trust_roots(v, g);
    }
    if (strcmp(k, "max_bundle_age") == 0) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            return DGA_E_CVM_EXPECT;
        }
        g->has_max_bundle_age = true;
        g->max_bundle_age = (uint64_t)json_integer_value(v);
        return DGA_E_OK;
    }
    if (strcmp(k, "mode") == 0) {
        return gpu_mode(v, &g->mode);
    }
    if (strcmp(k, "reappraise_at") == 0) {
        const char *s = json_string_value(v);
        if (s == NULL || (strcmp(s, "bundle") != 0 && strcmp(s, "now") != 0)) {
            return DGA_E_CVM_EXPECT;
        }
        g->reappraise_at = s[0] == 'n' ? DGA_CVM_REAPPRAISE_NOW : DGA_CVM_REAPPRAISE_BUNDLE;
        return DGA_E_OK;
    }
    char **slot = strcmp(k, "rim_dir") == 0            ? &g->rim_dir
                  : strcmp(k, "collateral_dir") == 0   ? &g->collateral_dir
                  : strcmp(k, "test_device_root") == 0 ? &g->test_device_root
                                                       : &g->policy;
    return path(v, slot);
}

/* Field names of gpu members, static for the diag: "gpu.<key>" and "gpu.<key>.<exact|min>". */
static const char *gpu_field(const char *k, const char *sub)
{
    static const char *const plain[] = {
        "gpu.required",       "gpu.gpus",           "gpu.nvswitches",     "gpu.gpu_policy_hashes",
        "gpu.allow_devtools", "gpu.trust_roots",    "gpu.max_bundle_age", "gpu.reappraise_at",
        "gpu.rim_dir",        "gpu.collateral_dir", "gpu.policy",         "gpu.test_device_root",
        "gpu.mode",
    };
    if (sub != NULL && strcmp(k, "gpus") == 0) {
        return strcmp(sub, "exact") == 0 ? "gpu.gpus.exact" : "gpu.gpus.min";
    }
    if (sub != NULL && strcmp(k, "nvswitches") == 0) {
        return strcmp(sub, "exact") == 0 ? "gpu.nvswitches.exact" : "gpu.nvswitches.min";
    }
    for (size_t i = 0; i < sizeof gpu_keys / sizeof gpu_keys[0]; i++) {
        if (strcmp(k, gpu_keys[i]) == 0) {
            return plain[i];
        }
    }
    return "gpu";
}

static dga_err gpu_object(const json_t *o, struct dga_cvm_gpu_expect *g, struct dga_diag *diag)
{
    if (!json_is_object(o)) {
        return bad(diag, "gpu");
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_iterable(o), k, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof gpu_keys / sizeof gpu_keys[0]; i++) {
            known = known || strcmp(k, gpu_keys[i]) == 0;
        }
        if (!known) {
            return bad(diag, "gpu: unknown key");
        }
        const char *sub = NULL;
        dga_err e = gpu_key(k, v, g, &sub);
        if (e != DGA_E_OK) {
            return e == DGA_E_NOMEM ? e : bad(diag, gpu_field(k, sub));
        }
    }
    /* A test root the trust roots do not admit would be a root nothing may chain to. */
    if (g->test_device_root != NULL && !g->trust_test) {
        return bad(diag, "gpu.test_device_root");
    }
    return DGA_E_OK;
}

static dga_err top_key(const struct key *key, const json_t *v, struct dga_cvm_expect *x,
                       struct dga_diag *diag)
{
    struct dga_cvm_list *l = (struct dga_cvm_list *)(void *)((char *)x + key->offset);
    dga_err e = DGA_E_CVM_EXPECT;
    switch (key->kind) {
    case K_HEXLIST:
        e = hex_list(v, key->len, l);
        break;
    case K_NAMES:
        e = name_list(v, l);
        break;
    case K_CHALLENGE:
        e = challenge(v, x);
        break;
    case K_TCB:
        e = tcb_list(v, x);
        break;
    case K_BOOL:
        if (json_is_boolean(v)) {
            *(bool *)(void *)((char *)x + key->offset) = json_is_true(v);
            e = DGA_E_OK;
        }
        break;
    case K_GPU:
        return gpu_object(v, &x->gpu, diag);
    }
    if (e == DGA_E_CVM_EXPECT) {
        return bad(diag, key->name);
    }
    return e;
}

static const struct key *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof top_keys / sizeof top_keys[0]; i++) {
        if (strcmp(top_keys[i].name, name) == 0) {
            return &top_keys[i];
        }
    }
    return NULL;
}

static dga_err parse_object(json_t *o, struct dga_cvm_expect *x, struct dga_diag *diag)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        const struct key *key = find_key(k);
        if (key == NULL) {
            return bad(diag, "unknown key");
        }
        dga_err e = top_key(key, v, x, diag);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    /* vm_config's os_image_hash is the host's word: only the registers bind the image. */
    if (x->os_image_hash.present &&
        !(x->mrtd.present && x->rtmr0.present && x->rtmr1.present && x->rtmr2.present)) {
        return bad(diag, "os_image_hash");
    }
    return DGA_E_OK;
}

dga_err dga_cvm_expect_parse(const char *text, size_t len, struct dga_cvm_expect *ret,
                             struct dga_diag *diag)
{
    if (text == NULL || ret == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "expectations");
    }
    if (len > DGA_CVM_EXPECT_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, len, "expectations");
    }
    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(o)) {
        return dga_diag_set(diag, DGA_E_CVM_EXPECT, o == NULL ? (size_t)jerr.position : 0,
                            "expectations");
    }
    _cleanup_(dga_cvm_expect_clearp) struct dga_cvm_expect x = {
        .tcb_statuses = 1u << DGA_TCB_UP_TO_DATE,
        .gpu = {.trust_nvidia = true, .reappraise_at = DGA_CVM_REAPPRAISE_BUNDLE},
    };
    dga_err e = parse_object(o, &x, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (EVP_Digest(text, len, x.sha256, NULL, EVP_sha256(), NULL) != 1) {
        return DGA_E_INTERNAL;
    }
    *ret = x;
    memset(&x, 0, sizeof x);
    return DGA_E_OK;
}
