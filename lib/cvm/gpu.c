/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The GPU binding: the one measured gpu-attestation event (its payload read
 * strictly), the gpu-policy-hash, and the bundle that event committed to (its
 * SHA-256, then its own nonce, device lists and verdict against the event).
 * Only then the re-appraisal callback. GPU facts come from the measured event
 * and the bundle it names, never from report_data, which the application
 * chooses.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "cvm/internal.h"
#include "dga/evidence.h"
#include "dga/util.h"

/* ---- the payload ------------------------------------------------------------------------- */

static dga_err bad(struct dga_diag *diag, const char *field)
{
    return dga_diag_set(diag, DGA_E_CVM_GPU_PAYLOAD, 0, field);
}

static bool take_count(json_t *o, const char *k, unsigned *ret)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1024) {
        return false;
    }
    *ret = (unsigned)json_integer_value(v);
    return true;
}

/* An optional lowercase hex SHA-256 member; false when present and malformed. */
static bool take_sha(json_t *o, const char *k, bool *has, uint8_t out[32])
{
    json_t *v = json_object_get(o, k);
    if (v == NULL) {
        return true;
    }
    const char *s = json_string_value(v);
    for (size_t i = 0; s != NULL && i < json_string_length(v); i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    *has = s != NULL && json_string_length(v) == 64 && dga_hex_decode_exact(s, out, 32) == DGA_E_OK;
    return *has;
}

/* An optional string member among the allowed values, copied into out ("" when absent). */
static bool take_word(json_t *o, const char *k, const char *const *allowed, char *out, size_t n)
{
    json_t *v = json_object_get(o, k);
    out[0] = '\0';
    if (v == NULL) {
        return true;
    }
    for (size_t i = 0; json_is_string(v) && allowed[i] != NULL; i++) {
        if (strcmp(json_string_value(v), allowed[i]) == 0) {
            snprintf(out, n, "%s", allowed[i]);
            return true;
        }
    }
    return false;
}

static const char *unknown_member(json_t *o)
{
    static const char *const known[] = {
        "version",     "provider",           "devices",
        "cc_mode",     "devtools",           "evidence_sha256",
        "nvswitches",  "policy_sha256",      "gpu_policy_sha256",
        "rego_sha256", "rego_policy_sha256", "trust_roots",
        "ocsp",
    };
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool found = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            found = found || strcmp(k, known[i]) == 0;
        }
        if (!found) {
            return "unknown member";
        }
    }
    return NULL;
}

static dga_err payload_fields(json_t *o, struct dga_cvm_gpu_payload *p, struct dga_diag *diag)
{
    static const char *const cc[] = {"on", "ppcie", "none", NULL};
    static const char *const roots[] = {"nvidia", "test", NULL};
    static const char *const ocsp[] = {"online", "cache", "off", NULL};
    json_t *version = json_object_get(o, "version");
    if (!json_is_integer(version) || json_integer_value(version) != 2) {
        return bad(diag, "version");
    }
    p->version = 2;
    const char *provider = json_string_value(json_object_get(o, "provider"));
    if (provider == NULL || strcmp(provider, "nvidia") != 0) {
        return bad(diag, "provider");
    }
    if (!take_count(o, "devices", &p->devices)) {
        return bad(diag, "devices");
    }
    if (json_object_get(o, "cc_mode") == NULL ||
        !take_word(o, "cc_mode", cc, p->cc_mode, sizeof p->cc_mode)) {
        return bad(diag, "cc_mode");
    }
    json_t *devtools = json_object_get(o, "devtools");
    if (!json_is_boolean(devtools)) {
        return bad(diag, "devtools");
    }
    p->devtools = json_is_true(devtools);
    bool has_evidence = false;
    if (!take_sha(o, "evidence_sha256", &has_evidence, p->evidence_sha256) || !has_evidence) {
        return bad(diag, "evidence_sha256");
    }
    p->has_nvswitches = json_object_get(o, "nvswitches") != NULL;
    if (p->has_nvswitches && !take_count(o, "nvswitches", &p->nvswitches)) {
        return bad(diag, "nvswitches");
    }
    bool has_rego_policy = false;
    if (!take_sha(o, "policy_sha256", &p->has_policy_sha256, p->policy_sha256) ||
        !take_sha(o, "gpu_policy_sha256", &p->has_gpu_policy_sha256, p->gpu_policy_sha256) ||
        !take_sha(o, "rego_sha256", &p->has_rego, p->rego_sha256) ||
        !take_sha(o, "rego_policy_sha256", &has_rego_policy, p->rego_policy_sha256) ||
        p->has_rego != has_rego_policy) {
        return bad(diag, "sha256");
    }
    if (!take_word(o, "trust_roots", roots, p->trust_roots, sizeof p->trust_roots)) {
        return bad(diag, "trust_roots");
    }
    if (!take_word(o, "ocsp", ocsp, p->ocsp, sizeof p->ocsp)) {
        return bad(diag, "ocsp");
    }
    return DGA_E_OK;
}

dga_err dga_cvm_gpu_payload_parse(const uint8_t *text, size_t len, struct dga_cvm_gpu_payload *ret,
                                  struct dga_diag *diag)
{
    if (text == NULL || len == 0 || len > DGA_CVM_GPU_PAYLOAD_MAX) {
        return bad(diag, "payload");
    }
    _cleanup_(json_decrefp) json_t *o =
        json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        return bad(diag, "payload");
    }
    const char *unknown = unknown_member(o);
    if (unknown != NULL) {
        return bad(diag, unknown);
    }
    struct dga_cvm_gpu_payload p = {0};
    dga_err e = payload_fields(o, &p, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = p;
    return DGA_E_OK;
}

/* ---- the event against the expectations ------------------------------------------------- */

static bool count_ok(const struct dga_cvm_count *c, unsigned n)
{
    return c->kind == DGA_CVM_COUNT_ANY || (c->kind == DGA_CVM_COUNT_EXACT && n == c->n) ||
           (c->kind == DGA_CVM_COUNT_MIN && n >= c->n);
}

static const char *count_word(const struct dga_cvm_count *c)
{
    return c->kind == DGA_CVM_COUNT_EXACT ? "exactly" : "at least";
}

static bool root_allowed(const char *root, const struct dga_cvm_gpu_expect *g)
{
    return strcmp(root, "nvidia") == 0 ? g->trust_nvidia : g->trust_test;
}

static bool is_ppcie(const struct dga_cvm_gpu_payload *p)
{
    return strcmp(p->cc_mode, "ppcie") == 0;
}

/* "none" without GPUs; with GPUs "on" (CC) or "ppcie" (protected PCIe, the gate's PPCIe mode). */
static bool cc_mode_fits(const struct dga_cvm_gpu_payload *p)
{
    return p->devices == 0 ? strcmp(p->cc_mode, "none") == 0
                           : strcmp(p->cc_mode, "on") == 0 || is_ppcie(p);
}

/*
 * The relying party's gpu.mode: "cc" (the default) takes only CC GPUs, "ppcie" only a
 * protected-PCIe board, "any" either; a payload without GPUs ("none") is for the counts.
 */
static bool mode_expected(const struct dga_cvm_gpu_payload *p, const struct dga_cvm_gpu_expect *g)
{
    if (p->devices == 0 || g->mode == DGA_CVM_GPU_MODE_ANY) {
        return true;
    }
    return is_ppcie(p) == (g->mode == DGA_CVM_GPU_MODE_PPCIE);
}

static void check_event(const struct dga_cvm_gpu_payload *p, const struct dga_cvm_gpu_expect *g,
                        struct dga_cvm_result *r)
{
    const enum dga_cvm_check_id c = DGA_CVM_CHECK_GPU_EVENT;
    struct dga_cvm_count gpus = g->gpus;
    if (gpus.kind == DGA_CVM_COUNT_ANY) {
        gpus = (struct dga_cvm_count){DGA_CVM_COUNT_MIN, 1}; /* required means some GPU */
    }
    if (!count_ok(&gpus, p->devices)) {
        cvm_fail(r, c, DGA_E_CVM_GPU_DEVICES, "devices %u, expected %s %u", p->devices,
                 count_word(&gpus), gpus.n);
    } else if (g->nvswitches.kind != DGA_CVM_COUNT_ANY && p->has_nvswitches &&
               !count_ok(&g->nvswitches, p->nvswitches)) {
        /* a payload counting none (dstack's own) takes the committed bundle's: check_bundle */
        cvm_fail(r, c, DGA_E_CVM_GPU_DEVICES, "nvswitches %u, expected %s %u", p->nvswitches,
                 count_word(&g->nvswitches), g->nvswitches.n);
    } else if (!cc_mode_fits(p)) {
        cvm_fail(r, c, DGA_E_CVM_GPU_CC_MODE, "cc_mode \"%s\" with %u device(s)", p->cc_mode,
                 p->devices);
    } else if (!mode_expected(p, g)) {
        cvm_fail(r, c, DGA_E_CVM_GPU_CC_MODE, "cc_mode \"%s\" is not allowed (gpu.mode %s)",
                 p->cc_mode, g->mode == DGA_CVM_GPU_MODE_PPCIE ? "ppcie" : "cc");
    } else if (is_ppcie(p) && !p->has_nvswitches) {
        /* the NVSwitches attested are part of what a PPCIe payload states */
        cvm_fail(r, c, DGA_E_CVM_GPU_PAYLOAD, "cc_mode \"ppcie\" without an nvswitches count");
    } else if (p->devtools && !g->allow_devtools) {
        cvm_fail(r, c, DGA_E_CVM_GPU_DEVTOOLS, "devtools true, not allowed");
    } else if (p->trust_roots[0] != '\0' && !root_allowed(p->trust_roots, g)) {
        cvm_fail(r, c, DGA_E_CVM_GPU_TRUST_ROOTS, "trust roots \"%s\" not allowed", p->trust_roots);
    } else {
        /* a payload naming none (dstack's own) takes the committed bundle's: check_bundle */
        cvm_pass(r, c);
    }
}

static void check_policy_hash(const struct cvm_events *ev, const struct dga_cvm_gpu_payload *p,
                              const struct dga_cvm_gpu_expect *g, struct dga_cvm_result *r)
{
    const enum dga_cvm_check_id c = DGA_CVM_CHECK_GPU_POLICY;
    if (ev->policy_hash == NULL) {
        cvm_fail(r, c, DGA_E_CVM_EVENT_MISSING, "no gpu-policy-hash event before system-ready");
    } else if (g->gpu_policy_hashes.present &&
               !cvm_list_has(&g->gpu_policy_hashes, r->gpu_policy_hash)) {
        char hex[65];
        dga_hex_encode(r->gpu_policy_hash, 32, hex);
        cvm_fail(r, c, DGA_E_CVM_NOT_ALLOWED, "gpu-policy-hash %s not allowed", hex);
    } else if (p->has_gpu_policy_sha256 &&
               !dga_mem_equal(p->gpu_policy_sha256, r->gpu_policy_hash, 32)) {
        cvm_fail(r, c, DGA_E_CVM_GPU_PAYLOAD,
                 "the gpu-attestation payload's gpu_policy_sha256 is not the gpu-policy-hash");
    } else {
        cvm_pass(r, c);
    }
}

/* ---- the bundle ---------------------------------------------------------------------------- */

static const char *hex_sha(const json_t *v, uint8_t out[32])
{
    const char *s = json_string_value(v);
    if (s == NULL || json_string_length(v) != 64 || dga_hex_decode_exact(s, out, 32) != DGA_E_OK) {
        return "malformed";
    }
    return NULL;
}

/* Each claim of the bundle must carry the bundle's nonce; claims is an array of objects. */
static bool claims_nonce(const json_t *claims, const char *nonce, size_t devices)
{
    if (!json_is_array(claims) || json_array_size(claims) != devices) {
        return false;
    }
    for (size_t i = 0; i < devices; i++) {
        const char *n = json_string_value(json_object_get(json_array_get(claims, i), "eat_nonce"));
        if (n == NULL || strcmp(n, nonce) != 0) {
            return false;
        }
    }
    return true;
}

/* The NVSwitch entries of the bundle's evidence (by their arch). */
static size_t switch_entries(const json_t *b)
{
    const json_t *list = json_object_get(b, "evidence");
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *arch = json_string_value(json_object_get(json_array_get(list, i), "arch"));
        enum dga_arch a;
        n += arch != NULL && dga_arch_parse(arch, &a) == DGA_E_OK && dga_arch_is_switch(a);
    }
    return n;
}

static bool member_is(const json_t *o, const char *k, const char *want)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v != NULL && strcmp(v, want) == 0;
}

/*
 * The event's cc_mode against the mode the committed bundle was appraised in: "ppcie" only
 * with a bundle whose gate.mode and set mode are "ppcie"; "on" only with one that is not
 * PPCIe and holds no NVSwitch evidence (dstack-util's drop-in bundle has no gate object).
 * NULL when they agree.
 */
static const char *mode_disagrees(const json_t *b, const struct dga_cvm_gpu_payload *p)
{
    const json_t *gate = json_object_get(b, "gate");
    if (is_ppcie(p)) {
        if (!member_is(gate, "mode", "ppcie") || !member_is(b, "mode", "ppcie")) {
            return "the event says cc_mode \"ppcie\", the bundle's gate.mode or mode is not "
                   "\"ppcie\"";
        }
        return NULL;
    }
    if (strcmp(p->cc_mode, "on") != 0) {
        return NULL; /* "none": no device lists to disagree with (bundle_disagrees) */
    }
    if (member_is(gate, "mode", "ppcie") || member_is(b, "mode", "ppcie")) {
        return "the event says cc_mode \"on\", the bundle was appraised in PPCIe mode";
    }
    if (switch_entries(b) > 0) {
        return "the event says cc_mode \"on\", the bundle holds NVSwitch evidence";
    }
    return NULL;
}

/* The devices a bundle for this event lists: the GPUs, and in PPCIe mode the NVSwitches. */
static size_t listed_devices(const struct dga_cvm_gpu_payload *p)
{
    return (size_t)p->devices + (is_ppcie(p) ? p->nvswitches : 0);
}

/* The bundle's own statements against each other and the event; NULL when they agree. */
static const char *bundle_disagrees(const json_t *b, const struct dga_cvm_gpu_payload *p)
{
    const json_t *ver = json_object_get(b, "bundle_version");
    if (!json_is_integer(ver) || json_integer_value(ver) != 1) {
        return "bundle_version is not 1";
    }
    if (!json_is_true(json_object_get(json_object_get(b, "verdict"), "pass"))) {
        return "the bundle's verdict is not a pass";
    }
    const char *nonce = json_string_value(json_object_get(b, "nonce"));
    uint8_t raw[32];
    if (nonce == NULL || strlen(nonce) != 64 || dga_hex_decode_exact(nonce, raw, 32) != DGA_E_OK) {
        return "the bundle has no 32-byte nonce";
    }
    size_t listed = listed_devices(p);
    if (json_array_size(json_object_get(b, "evidence")) != listed ||
        json_array_size(json_object_get(b, "devices")) != listed) {
        return "the bundle's device lists are not the event's device count";
    }
    if (listed > 0 && !claims_nonce(json_object_get(b, "claims"), nonce, listed)) {
        return "a claim's eat_nonce is not the bundle's nonce";
    }
    const char *root =
        json_string_value(json_object_get(json_object_get(b, "trust_roots"), "device"));
    if (root == NULL || strcmp(root, p->trust_roots) != 0) {
        return "the bundle's device trust root is not the event's";
    }
    uint8_t sha[32];
    if (p->has_gpu_policy_sha256 &&
        (hex_sha(json_object_get(b, "gpu_policy_sha256"), sha) != NULL ||
         !dga_mem_equal(sha, p->gpu_policy_sha256, 32))) {
        return "the bundle's gpu_policy_sha256 is not the event's";
    }
    const json_t *inv =
        json_object_get(json_object_get(json_object_get(b, "gate"), "inventory"), "nvswitches");
    if (p->has_nvswitches && (!json_is_array(inv) || json_array_size(inv) != p->nvswitches)) {
        return "the bundle's NVSwitch inventory is not the event's count";
    }
    return NULL;
}

static dga_err bundle_time(const json_t *b, time_t *ret)
{
    const char *at = json_string_value(json_object_get(b, "verified_at"));
    return at != NULL ? dga_time_parse(at, ret) : DGA_E_CVM_BUNDLE_MISMATCH;
}

/*
 * dstack's own payload names no trust roots (dstack-util builds it from the
 * nvattest drop-in's stdout). The bundle it commits to does, under the same
 * SHA-256 just checked: its trust_roots.device becomes the payload's, and
 * must be one the expectations allow. False after failing the check.
 */
static bool adopt_bundle_root(const json_t *b, struct dga_cvm_gpu_payload *p,
                              const struct dga_cvm_gpu_expect *g, struct dga_cvm_result *r)
{
    const enum dga_cvm_check_id c = DGA_CVM_CHECK_GPU_BUNDLE;
    const char *root =
        json_string_value(json_object_get(json_object_get(b, "trust_roots"), "device"));
    if (root == NULL || (strcmp(root, "nvidia") != 0 && strcmp(root, "test") != 0)) {
        cvm_fail(r, c, DGA_E_CVM_GPU_TRUST_ROOTS,
                 "neither the event nor the bundle names a device trust root");
        return false;
    }
    if (!root_allowed(root, g)) {
        cvm_fail(r, c, DGA_E_CVM_GPU_TRUST_ROOTS, "trust roots \"%s\" (the bundle's) not allowed",
                 root);
        return false;
    }
    snprintf(p->trust_roots, sizeof p->trust_roots, "%s", root);
    p->trust_roots_from_bundle = true;
    return true;
}

/*
 * dstack's own payload counts no NVSwitches either. The bundle it commits to
 * lists the ones found (gate.inventory.nvswitches), under the SHA-256 just
 * checked: that count becomes the payload's, against the expectations. False
 * after failing the check.
 */
static bool adopt_bundle_nvswitches(const json_t *b, struct dga_cvm_gpu_payload *p,
                                    const struct dga_cvm_gpu_expect *g, struct dga_cvm_result *r)
{
    const enum dga_cvm_check_id c = DGA_CVM_CHECK_GPU_BUNDLE;
    const json_t *inv =
        json_object_get(json_object_get(json_object_get(b, "gate"), "inventory"), "nvswitches");
    if (!json_is_array(inv)) {
        if (g->nvswitches.kind == DGA_CVM_COUNT_ANY) {
            return true; /* nothing to count against, nothing adopted */
        }
        cvm_fail(r, c, DGA_E_CVM_GPU_DEVICES,
                 "nvswitches: neither the event nor the bundle counts them");
        return false;
    }
    size_t n = json_array_size(inv);
    if (g->nvswitches.kind != DGA_CVM_COUNT_ANY &&
        (n > UINT_MAX || !count_ok(&g->nvswitches, (unsigned)n))) {
        cvm_fail(r, c, DGA_E_CVM_GPU_DEVICES, "nvswitches %zu (the bundle's), expected %s %u", n,
                 count_word(&g->nvswitches), g->nvswitches.n);
        return false;
    }
    p->has_nvswitches = true;
    p->nvswitches = (unsigned)n;
    p->nvswitches_from_bundle = true;
    return true;
}

/* The bundle's checks; *doc is its parsed JSON when they all passed. */
static void check_bundle(const uint8_t *bundle, size_t len, struct dga_cvm_gpu_payload *p,
                         const struct dga_cvm_expect *x, const struct dga_cvm_options *opt,
                         struct dga_cvm_result *r, json_t **doc, time_t *verified_at)
{
    const enum dga_cvm_check_id c = DGA_CVM_CHECK_GPU_BUNDLE;
    if (bundle == NULL) {
        cvm_fail(r, c, DGA_E_CVM_BUNDLE_ABSENT, "no GPU evidence bundle given");
        return;
    }
    if (EVP_Digest(bundle, len, r->bundle_sha256, NULL, EVP_sha256(), NULL) != 1) {
        cvm_fail(r, c, DGA_E_INTERNAL, "SHA-256");
        return;
    }
    r->has_bundle = true;
    if (!dga_mem_equal(r->bundle_sha256, p->evidence_sha256, 32)) {
        char got[65], want[65];
        dga_hex_encode(r->bundle_sha256, 32, got);
        dga_hex_encode(p->evidence_sha256, 32, want);
        cvm_fail(r, c, DGA_E_CVM_BUNDLE_DIGEST, "bundle sha256 %.16s..., event %.16s...", got,
                 want);
        return;
    }
    json_t *b = json_loadb((const char *)bundle, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(b) && ((p->trust_roots[0] == '\0' && !adopt_bundle_root(b, p, &x->gpu, r)) ||
                              (!p->has_nvswitches && !adopt_bundle_nvswitches(b, p, &x->gpu, r)))) {
        json_decref(b);
        return;
    }
    const char *mode = json_is_object(b) ? mode_disagrees(b, p) : NULL;
    if (mode != NULL) {
        json_decref(b);
        cvm_fail(r, c, DGA_E_CVM_GPU_MODE, "%s", mode);
        return;
    }
    const char *why =
        json_is_object(b) ? bundle_disagrees(b, p) : "the bundle is not a JSON object";
    if (why == NULL && bundle_time(b, verified_at) != DGA_E_OK) {
        why = "the bundle's verified_at is malformed";
    }
    if (why != NULL) {
        json_decref(b);
        cvm_fail(r, c, DGA_E_CVM_BUNDLE_MISMATCH, "%s", why);
        return;
    }
    if (x->gpu.has_max_bundle_age &&
        (*verified_at > opt->at || (uint64_t)(opt->at - *verified_at) > x->gpu.max_bundle_age)) {
        json_decref(b);
        cvm_fail(r, c, DGA_E_CVM_BUNDLE_AGE, "verified %lld s before the verification time",
                 (long long)(opt->at - *verified_at));
        return;
    }
    *doc = b;
    cvm_pass(r, c);
}

static bool passed(const struct dga_cvm_result *r, enum dga_cvm_check_id c)
{
    return r->checks[c].status == DGA_CVM_PASS;
}

static void reappraise(const uint8_t *bundle, size_t len, const json_t *doc, time_t verified_at,
                       const struct dga_cvm_expect *x, const struct dga_cvm_options *opt,
                       struct dga_cvm_result *r)
{
    const enum dga_cvm_check_id c = DGA_CVM_CHECK_GPU_REAPPRAISE;
    if (opt->reappraise == NULL) {
        snprintf(r->checks[c].detail, sizeof r->checks[c].detail, "no re-appraisal configured");
        return;
    }
    char detail[DGA_CVM_DETAIL_LEN] = "";
    time_t at = x->gpu.reappraise_at == DGA_CVM_REAPPRAISE_NOW ? opt->at : verified_at;
    r->reappraisal.ran = true;
    r->reappraisal.at = at;
    dga_err e = opt->reappraise(opt->reappraise_ctx, bundle, len, doc, x, &r->gpu, at,
                                &r->reappraisal, detail);
    if (e != DGA_E_OK) {
        cvm_fail(r, c, e, "%s", detail);
        return;
    }
    cvm_pass(r, c);
}

static dga_err keep_payload(const struct dga_event *e, struct dga_cvm_result *r)
{
    /* The payload bytes are not NUL-terminated. */
    char *text = bytes_dup_text(e->payload, e->payload_len);
    if (text == NULL) {
        return DGA_E_NOMEM;
    }
    r->gpu_event_payload = text;
    return DGA_E_OK;
}

dga_err cvm_check_gpu(const struct cvm_events *ev, const uint8_t *bundle, size_t bundle_len,
                      const struct dga_cvm_expect *x, const struct dga_cvm_options *opt,
                      struct dga_cvm_result *r)
{
    const struct dga_event *e = ev->gpu_event;
    dga_err err = e != NULL ? keep_payload(e, r) : DGA_E_OK;
    bool parsed = e != NULL &&
                  dga_cvm_gpu_payload_parse(e->payload, e->payload_len, &r->gpu, NULL) == DGA_E_OK;
    r->has_gpu_event = parsed;
    if (err != DGA_E_OK || !x->gpu.required) {
        for (int c = (int)DGA_CVM_CHECK_GPU_EVENT; c <= (int)DGA_CVM_CHECK_GPU_REAPPRAISE; c++) {
            cvm_skip(r, (enum dga_cvm_check_id)c);
        }
        return err;
    }
    if (e == NULL) {
        cvm_fail(r, DGA_CVM_CHECK_GPU_EVENT, DGA_E_CVM_GPU_EVENT_ABSENT,
                 "no gpu-attestation event before system-ready (%zu after it, ignored)",
                 ev->n_gpu_events_after);
        return DGA_E_OK;
    }
    if (!parsed) {
        struct dga_diag d = {0};
        (void)dga_cvm_gpu_payload_parse(e->payload, e->payload_len, &r->gpu, &d);
        cvm_fail(r, DGA_CVM_CHECK_GPU_EVENT, DGA_E_CVM_GPU_PAYLOAD, "event %zu: payload: %s",
                 e->where, d.field != NULL ? d.field : "?");
        return DGA_E_OK;
    }
    check_event(&r->gpu, &x->gpu, r);
    check_policy_hash(ev, &r->gpu, &x->gpu, r);
    _cleanup_(json_decrefp) json_t *doc = NULL;
    time_t verified_at = 0;
    check_bundle(bundle, bundle_len, &r->gpu, x, opt, r, &doc, &verified_at);
    if (passed(r, DGA_CVM_CHECK_GPU_EVENT) && passed(r, DGA_CVM_CHECK_GPU_POLICY) &&
        passed(r, DGA_CVM_CHECK_GPU_BUNDLE)) {
        reappraise(bundle, bundle_len, doc, verified_at, x, opt, r);
    }
    return DGA_E_OK;
}
