/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The re-appraisal of a GPU evidence bundle's raw evidence (docs/verify.md):
 * the relying party does not take the guest's verdict. The bundle's reports
 * and chains, with its nonce, go through the appraisal `attest` and the gate
 * run (dga_appraise_set with a verification cache), under roots, RIMs and a
 * policy the relying party chose: the device root the event names (NVIDIA's
 * compiled-in one, or the test root the expectations name), only the RIM
 * documents whose SHA-256 the bundle names (pinned, so another issue of the
 * same id in the store can never stand in for them), OCSP from the bundle's
 * own responses or the caller's collateral directory, and the caller's
 * policy with the bundle's NVSwitch inventory.
 *
 * The reappraiser holds what is loaded once (roots, the policy's text, the
 * paths) and one verification cache (dga_verify_cache, for its RIM root):
 * every call shares it, so a warm call verifies a device's report signature
 * (its chain is cached whole, its checks still run) and nothing of its RIMs. The
 * cache is time-free (calls at different times share it) and thread-safe,
 * and its chain suffixes are keyed by the root too (the NVIDIA and the test
 * device root never share one). Everything else is built per call (the
 * policy object, which carries the bundle's NVSwitch inventory; the OCSP
 * source; the device evidence): one reappraiser can serve concurrent calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "core/cleanup.h"
#include "dga/appraise_set.h"
#include "dga/collateral.h"
#include "dga/cvm.h"
#include "dga/policy.h"
#include "dga/util.h"
#include "dga/x509.h"

#define ROOT_PEM_MAX (64u << 10)

struct dga_cvm_reappraiser {
    bool has_nvidia, has_test;
    struct dga_trust nvidia_root, test_root, rim_root;
    char *rim_dir, *collateral_dir;
    char *policy_text; /* NULL: the built-in default */
    size_t policy_len;
    uint8_t policy_sha256[32];
    struct dga_verify_cache *cache; /* for rim_root; shared by every call (thread-safe) */
};

void dga_cvm_reappraiser_free(struct dga_cvm_reappraiser *r)
{
    if (r == NULL) {
        return;
    }
    dga_verify_cache_free(r->cache);
    dga_trust_clear(&r->nvidia_root);
    dga_trust_clear(&r->test_root);
    dga_trust_clear(&r->rim_root);
    free(r->rim_dir);
    free(r->collateral_dir);
    free(r->policy_text);
    free(r);
}

/* ---- loading once ---------------------------------------------------------------------- */

static dga_err load_test_root(const char *path, struct dga_trust *ret, struct dga_diag *diag)
{
    _cleanup_(freep) uint8_t *pem = NULL;
    size_t len = 0;
    dga_err e = dga_file_read(path, ROOT_PEM_MAX, &pem, &len);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "gpu.test_device_root");
    }
    e = dga_trust_from_pem((const char *)pem, len, ret);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "gpu.test_device_root");
    }
    return DGA_E_OK;
}

static dga_err load_roots(const struct dga_cvm_gpu_expect *g, struct dga_cvm_reappraiser *r,
                          struct dga_diag *diag)
{
    if (g->trust_test && g->test_device_root == NULL) {
        /* "test" admitted with no root to check against would pass nothing, or worse */
        return dga_diag_set(diag, DGA_E_CVM_EXPECT, 0, "gpu.test_device_root");
    }
    dga_err e = dga_trust_nvidia_rim(&r->rim_root);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "gpu.trust_roots");
    }
    if (g->trust_nvidia) {
        e = dga_trust_nvidia_device(&r->nvidia_root);
        if (e != DGA_E_OK) {
            return dga_diag_set(diag, e, 0, "gpu.trust_roots");
        }
        r->has_nvidia = true;
    }
    if (g->trust_test) {
        e = load_test_root(g->test_device_root, &r->test_root, diag);
        if (e != DGA_E_OK) {
            return e;
        }
        r->has_test = true;
    }
    return DGA_E_OK;
}

static dga_err is_dir(const char *path, dga_err fail, const char *key, struct dga_diag *diag)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return dga_diag_set(diag, fail, 0, key);
    }
    return DGA_E_OK;
}

static dga_err load_dirs(const struct dga_cvm_gpu_expect *g, struct dga_cvm_reappraiser *r,
                         struct dga_diag *diag)
{
    if (g->rim_dir == NULL) {
        return dga_diag_set(diag, DGA_E_CVM_EXPECT, 0, "gpu.rim_dir"); /* no RIM, no appraisal */
    }
    dga_err e = is_dir(g->rim_dir, DGA_E_RIM_STORE, "gpu.rim_dir", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (g->collateral_dir != NULL) {
        e = is_dir(g->collateral_dir, DGA_E_COLLATERAL_STORE, "gpu.collateral_dir", diag);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    r->rim_dir = strdup(g->rim_dir);
    r->collateral_dir = g->collateral_dir != NULL ? strdup(g->collateral_dir) : NULL;
    if (r->rim_dir == NULL || (g->collateral_dir != NULL && r->collateral_dir == NULL)) {
        return DGA_E_NOMEM;
    }
    return DGA_E_OK;
}

/* The built-in policy, or the file's (its text kept in r, for each call to parse again). */
static dga_err read_policy(const char *path, struct dga_cvm_reappraiser *r, struct dga_policy **ret)
{
    if (path == NULL) {
        return dga_policy_default(ret);
    }
    uint8_t *text = NULL;
    dga_err e = dga_file_read(path, DGA_POLICY_MAX_BYTES, &text, &r->policy_len);
    r->policy_text = (char *)text;
    if (e != DGA_E_OK) {
        return e;
    }
    return dga_policy_parse(r->policy_text, r->policy_len, ret, NULL);
}

/* The policy's text, checked by parsing it once; its SHA-256 (of "" for the built-in one). */
static dga_err load_policy(const char *path, struct dga_cvm_reappraiser *r, struct dga_diag *diag)
{
    _cleanup_(dga_policy_freep) struct dga_policy *p = NULL;
    dga_err e = read_policy(path, r, &p);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "gpu.policy");
    }
    dga_policy_sha256(p, r->policy_sha256);
    return DGA_E_OK;
}

dga_err dga_cvm_reappraiser_new(const struct dga_cvm_expect *x, struct dga_cvm_reappraiser **ret,
                                struct dga_diag *diag)
{
    if (x == NULL || ret == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "reappraiser");
    }
    _cleanup_(dga_cvm_reappraiser_freep) struct dga_cvm_reappraiser *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = load_roots(&x->gpu, r, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = load_dirs(&x->gpu, r, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = load_policy(x->gpu.policy, r, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_verify_cache_new(&r->rim_root, &r->cache); /* DGA_E_NOMEM only: no file named */
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = TAKE_PTR(r);
    return DGA_E_OK;
}

/* ---- one call: the bundle's lists ----------------------------------------------------- */

/* Everything one re-appraisal builds; freed by call_clear (the reappraiser's cache outlives it). */
struct call {
    uint8_t nonce[DGA_NONCE_LEN];
    struct dga_evidence_set *set;
    char labels[DGA_MAX_DEVICES][16];
    struct dga_rim_pins pins[DGA_MAX_DEVICES];
    struct dga_policy *policy;
    struct dga_ocsp_bundle ocsp_bundle;
    struct dga_ocsp_source ocsp;
    struct dga_set_appraisal ap; /* borrows RIMs of the reappraiser's cache */
};

static void call_clear(struct call *c)
{
    dga_set_appraisal_clear(&c->ap);
    dga_evidence_set_freep(&c->set);
    dga_policy_free(c->policy);
    dga_ocsp_bundle_clear(&c->ocsp_bundle);
    dga_ocsp_memo_free(c->ocsp.memo);
    free(c);
}

static void call_freep(struct call **p)
{
    if (*p != NULL) {
        call_clear(*p);
    }
    *p = NULL;
}

/* "<list>[<i>]<what>" into detail. */
static dga_err evidence_bad(char *detail, const char *list, size_t i, const char *what)
{
    snprintf(detail, DGA_CVM_DETAIL_LEN, "%s[%zu]%s", list, i, what);
    return DGA_E_CVM_BUNDLE_EVIDENCE;
}

/* A JSON string without NUL bytes, at most max bytes. */
static const char *plain_string(const json_t *v, size_t max)
{
    const char *s = json_string_value(v);
    if (s == NULL || json_string_length(v) > max || strlen(s) != json_string_length(v)) {
        return NULL;
    }
    return s;
}

static dga_err device_report(const json_t *e, struct dga_device_evidence *d)
{
    const char *hex = plain_string(json_object_get(e, "report"), 2u * DGA_REPORT_MAX);
    if (hex == NULL || hex[0] == '\0') {
        return DGA_E_CVM_BUNDLE_EVIDENCE;
    }
    return dga_hex_decode(hex, strlen(hex), &d->report, &d->report_len);
}

static dga_err device_chain(const json_t *e, struct dga_device_evidence *d)
{
    const char *pem = plain_string(json_object_get(e, "certificate_chain"), DGA_CHAIN_PEM_MAX);
    if (pem == NULL || pem[0] == '\0') {
        return DGA_E_CVM_BUNDLE_EVIDENCE;
    }
    d->chain_pem_len = strlen(pem);
    d->chain_pem = strdup(pem);
    return d->chain_pem != NULL ? DGA_E_OK : DGA_E_NOMEM;
}

static bool payload_ppcie(const struct dga_cvm_gpu_payload *p)
{
    return strcmp(p->cc_mode, "ppcie") == 0;
}

/*
 * An NVSwitch entry's tnvl_status, what NSCQ said on the guest (-1..3): the
 * guest's word, not signed, checked by the topology's lock rule as the gate did.
 */
static dga_err switch_tnvl(const json_t *e, size_t i, struct dga_device_evidence *d, char *detail)
{
    const json_t *v = json_object_get(e, "tnvl_status");
    if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > 3) {
        return evidence_bad(detail, "evidence", i, ".tnvl_status: not an integer -1..3");
    }
    d->has_tnvl = true;
    d->tnvl = (int)json_integer_value(v);
    return DGA_E_OK;
}

/* Entry i of the evidence list: arch, report (hex), certificate_chain (PEM). */
static dga_err one_device(const json_t *e, size_t i, struct dga_device_evidence *d, char *detail)
{
    const char *arch = plain_string(json_object_get(e, "arch"), 32);
    if (!json_is_object(e)) {
        return evidence_bad(detail, "evidence", i, ": not an object");
    }
    if (arch == NULL || dga_arch_parse(arch, &d->arch) != DGA_E_OK) {
        return evidence_bad(detail, "evidence", i, ".arch: unknown architecture");
    }
    dga_err err = device_report(e, d);
    if (err != DGA_E_OK) {
        return err == DGA_E_NOMEM ? err : evidence_bad(detail, "evidence", i, ".report: not hex");
    }
    err = device_chain(e, d);
    if (err != DGA_E_OK) {
        return err == DGA_E_NOMEM
                   ? err
                   : evidence_bad(detail, "evidence", i, ".certificate_chain: not a PEM string");
    }
    return dga_arch_is_switch(d->arch) ? switch_tnvl(e, i, d, detail) : DGA_E_OK;
}

/* GPU-<n> / SWITCH-<n> per type in evidence order, as dga_appraise_set labels them. */
static void label_devices(struct call *c)
{
    size_t gpus = 0, switches = 0;
    for (size_t i = 0; i < c->set->n; i++) {
        bool sw = dga_arch_is_switch(c->set->dev[i].arch);
        snprintf(c->labels[i], sizeof c->labels[i], "%s-%zu", sw ? "SWITCH" : "GPU",
                 sw ? switches++ : gpus++);
    }
}

/*
 * The attested devices of each kind against the event: its GPUs (devices), and its NVSwitches
 * (nvswitches in PPCIe mode, none otherwise).
 */
static dga_err count_kinds(const struct dga_cvm_gpu_payload *p, struct call *c, char *detail)
{
    size_t gpus = 0, switches = 0;
    for (size_t i = 0; i < c->set->n; i++) {
        switches += dga_arch_is_switch(c->set->dev[i].arch);
    }
    gpus = c->set->n - switches;
    unsigned want_switches = payload_ppcie(p) ? p->nvswitches : 0;
    if (gpus != p->devices || switches != want_switches) {
        snprintf(detail, DGA_CVM_DETAIL_LEN,
                 "evidence: %zu GPU(s) and %zu NVSwitch(es), the event says %u and %u", gpus,
                 switches, p->devices, want_switches);
        return DGA_E_CVM_GPU_DEVICES;
    }
    return DGA_E_OK;
}

static dga_err read_evidence(const json_t *doc, const struct dga_cvm_gpu_payload *p, struct call *c,
                             char *detail)
{
    const json_t *list = json_object_get(doc, "evidence");
    size_t n = json_array_size(list);
    size_t want = (size_t)p->devices + (payload_ppcie(p) ? p->nvswitches : 0);
    if (!json_is_array(list) || n != want || n > DGA_MAX_DEVICES) {
        snprintf(detail, DGA_CVM_DETAIL_LEN, "evidence: %zu entries, the event says %zu devices", n,
                 want);
        return DGA_E_CVM_BUNDLE_EVIDENCE;
    }
    c->set = calloc(1, sizeof *c->set);
    if (c->set == NULL) {
        return DGA_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        c->set->n = i + 1; /* what is cleared on failure */
        dga_err e = one_device(json_array_get(list, i), i, &c->set->dev[i], detail);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    label_devices(c);
    return count_kinds(p, c, detail);
}

static dga_err read_nonce(const json_t *doc, struct call *c, char *detail)
{
    const char *hex = plain_string(json_object_get(doc, "nonce"), 2 * DGA_NONCE_LEN);
    if (hex == NULL || strlen(hex) != 2 * DGA_NONCE_LEN ||
        dga_hex_decode_exact(hex, c->nonce, DGA_NONCE_LEN) != DGA_E_OK) {
        snprintf(detail, DGA_CVM_DETAIL_LEN, "nonce: not 32 bytes of hex");
        return DGA_E_CVM_BUNDLE_EVIDENCE;
    }
    return DGA_E_OK;
}

/* The device index a label names, or -1. */
static long device_of(const struct call *c, const char *label)
{
    for (size_t i = 0; label != NULL && i < c->set->n; i++) {
        if (strcmp(c->labels[i], label) == 0) {
            return (long)i;
        }
    }
    return -1;
}

/* The pin slot a role names for device i: driver-rim and vbios-rim (GPU), bios-rim (NVSwitch). */
static struct dga_rim_pin *pin_slot(struct call *c, size_t i, const char *role)
{
    bool sw = dga_arch_is_switch(c->set->dev[i].arch);
    if (role == NULL) {
        return NULL;
    }
    if (!sw && strcmp(role, "driver-rim") == 0) {
        return &c->pins[i].driver;
    }
    if (strcmp(role, sw ? "bios-rim" : "vbios-rim") == 0) {
        return &c->pins[i].firmware;
    }
    return NULL;
}

/* One collateral.rims entry: {device, role, id, sha256 (null when the guest had none)}. */
static bool one_pin(const json_t *e, struct call *c, bool seen[][2])
{
    long i = device_of(c, plain_string(json_object_get(e, "device"), 16));
    struct dga_rim_pin *pin =
        i >= 0 ? pin_slot(c, (size_t)i, plain_string(json_object_get(e, "role"), 16)) : NULL;
    const char *id = plain_string(json_object_get(e, "id"), DGA_RIM_ID_MAX - 1);
    const json_t *sha = json_object_get(e, "sha256");
    if (pin == NULL || id == NULL || !dga_rim_id_valid(id) ||
        (!json_is_null(sha) && !json_is_string(sha))) {
        return false;
    }
    bool *once = &seen[i][pin == &c->pins[i].driver ? 0 : 1];
    if (*once) {
        return false; /* two documents for one role: which one the guest used is unclear */
    }
    *once = true;
    if (json_is_null(sha)) {
        return true; /* no document named: the role stays unpinned and fails */
    }
    const char *hex = plain_string(sha, 64);
    snprintf(pin->id, sizeof pin->id, "%s", id);
    pin->set =
        hex != NULL && strlen(hex) == 64 && dga_hex_decode_exact(hex, pin->sha256, 32) == DGA_E_OK;
    return pin->set;
}

static dga_err read_pins(const json_t *doc, struct call *c, char *detail)
{
    const json_t *list = json_object_get(json_object_get(doc, "collateral"), "rims");
    bool seen[DGA_MAX_DEVICES][2];
    memset(seen, 0, sizeof seen);
    if (!json_is_array(list) || json_array_size(list) > 2u * DGA_MAX_DEVICES) {
        snprintf(detail, DGA_CVM_DETAIL_LEN, "collateral.rims: not a list of RIMs");
        return DGA_E_CVM_BUNDLE_EVIDENCE;
    }
    for (size_t k = 0; k < json_array_size(list); k++) {
        if (!one_pin(json_array_get(list, k), c, seen)) {
            return evidence_bad(detail, "collateral.rims", k,
                                ": malformed, unknown device or role, or repeated");
        }
    }
    return DGA_E_OK;
}

/* ---- one call: roots, policy, OCSP ---------------------------------------------------- */

/* The root the event names, when the expectations admit it and it was loaded. */
static dga_err choose_root(const struct dga_cvm_reappraiser *r, const json_t *doc,
                           const struct dga_cvm_gpu_payload *p, const struct dga_trust **ret,
                           char *detail)
{
    const char *bundle_root =
        json_string_value(json_object_get(json_object_get(doc, "trust_roots"), "device"));
    bool nvidia = strcmp(p->trust_roots, "nvidia") == 0, test = strcmp(p->trust_roots, "test") == 0;
    if (bundle_root == NULL || strcmp(bundle_root, p->trust_roots) != 0) {
        snprintf(detail, DGA_CVM_DETAIL_LEN, "the bundle's device trust root is not the event's");
        return DGA_E_CVM_GPU_TRUST_ROOTS;
    }
    if ((nvidia && r->has_nvidia) || (test && r->has_test)) {
        *ret = nvidia ? &r->nvidia_root : &r->test_root;
        return DGA_E_OK;
    }
    snprintf(detail, DGA_CVM_DETAIL_LEN, "trust root \"%s\" not allowed", p->trust_roots);
    return DGA_E_CVM_GPU_TRUST_ROOTS;
}

/* A policy object of this call's own (the NVSwitch inventory is set on it). */
static dga_err make_policy(const struct dga_cvm_reappraiser *r, const json_t *doc,
                           const struct dga_cvm_gpu_payload *p, struct call *c, char *detail)
{
    dga_err e = r->policy_text != NULL
                    ? dga_policy_parse(r->policy_text, r->policy_len, &c->policy, NULL)
                    : dga_policy_default(&c->policy);
    if (e != DGA_E_OK) {
        return e;
    }
    if (payload_ppcie(p)) {
        return DGA_E_OK; /* as the gate: the policy counts the attested NVSwitches of the claims */
    }
    const json_t *inv =
        json_object_get(json_object_get(json_object_get(doc, "gate"), "inventory"), "nvswitches");
    if (inv == NULL && !p->has_nvswitches) {
        return DGA_E_OK; /* no inventory: the policy counts the NVSwitches of the claims */
    }
    if (!json_is_array(inv) || (p->has_nvswitches && json_array_size(inv) != p->nvswitches)) {
        snprintf(detail, DGA_CVM_DETAIL_LEN,
                 "gate.inventory.nvswitches: not a list of the event's count");
        return DGA_E_CVM_BUNDLE_EVIDENCE;
    }
    dga_policy_set_nvswitch_inventory(c->policy, json_array_size(inv));
    return DGA_E_OK;
}

/*
 * Revocation as the policy requires it: not checked when it does not;
 * otherwise the bundle's own responses, or the caller's collateral directory.
 */
static dga_err make_ocsp(const struct dga_cvm_reappraiser *r, const uint8_t *bundle, size_t len,
                         struct call *c, char *detail)
{
    dga_ocsp_source_init(&c->ocsp);
    if (!dga_policy_ocsp_required(c->policy)) {
        return DGA_E_OK;
    }
    c->ocsp.mode = r->collateral_dir != NULL ? DGA_OCSP_MODE_CACHE : DGA_OCSP_MODE_BUNDLE;
    c->ocsp.dir = r->collateral_dir;
    c->ocsp.bundle = &c->ocsp_bundle;
    dga_err e = dga_ocsp_memo_new(&c->ocsp.memo);
    if (e != DGA_E_OK || c->ocsp.mode == DGA_OCSP_MODE_CACHE) {
        return e;
    }
    struct dga_diag d = {0};
    e = dga_ocsp_bundle_from_json((const char *)bundle, len, &c->ocsp_bundle, &d);
    if (e == DGA_E_NOMEM) {
        return e;
    }
    if (e != DGA_E_OK) {
        snprintf(detail, DGA_CVM_DETAIL_LEN, "collateral.ocsp[%zu]: %s", d.offset, dga_err_name(e));
        return DGA_E_CVM_BUNDLE_EVIDENCE;
    }
    return DGA_E_OK;
}

/* ---- one call: the verdict ------------------------------------------------------------ */

/* Whether the verdict names device i, or refuses the set as a whole. */
static bool policy_names(const struct dga_verdict *v, size_t i)
{
    for (size_t k = 0; !v->pass && k < v->n_reasons; k++) {
        if (v->about[k].device < 0 || (size_t)v->about[k].device == i) {
            return true;
        }
    }
    return false;
}

/*
 * Device i's error and failed check, in the verdict's order: its own hard failure, its
 * duplicate, a mode or topology refusal naming it, the set's mode or topology refusal (which
 * refuses every device of the set, as "mode" or "topology", not "policy": the device's own
 * appraisal may have passed), then a policy reason naming it or the set.
 */
static void device_failure(const struct dga_set_appraisal *ap, size_t i, dga_err *err, char *check,
                           size_t size)
{
    const struct dga_appraisal *a = &ap->dev[i];
    const char *name = "";
    if (a->err != DGA_E_OK) {
        *err = a->err;
        name = dga_appraisal_check_name(a->failed_check);
    } else if (ap->dup[i].kind != DGA_DUPLICATE_NONE) {
        *err = DGA_E_DUPLICATE_DEVICE;
        name = "duplicate-device";
    } else if (ap->mode_device_err[i] != DGA_E_OK) {
        *err = ap->mode_device_err[i];
        name = ap->mode_device_check[i];
    } else if (ap->mode_set_err != DGA_E_OK) {
        *err = ap->mode_set_err;
        name = ap->mode_set_check;
    } else if (policy_names(&ap->verdict, i)) {
        *err = DGA_E_CVM_REAPPRAISAL;
        name = "policy";
    } else {
        *err = DGA_E_OK;
    }
    snprintf(check, size, "%s", name != NULL ? name : "mode");
}

static void fill_device(const struct call *c, size_t i, struct dga_cvm_gpu_device *o)
{
    const struct dga_appraisal *a = &c->ap.dev[i];
    snprintf(o->label, sizeof o->label, "%s", a->report.label);
    snprintf(o->arch, sizeof o->arch, "%s", dga_arch_name(c->set->dev[i].arch));
    if (a->report.chain_verified) {
        snprintf(o->ueid, sizeof o->ueid, "%s", a->report.chain.ueid);
    }
    if (a->report.parsed) {
        snprintf(o->driver_version, sizeof o->driver_version, "%.31s",
                 a->report.derived.driver_version);
        snprintf(o->vbios_version, sizeof o->vbios_version, "%.31s",
                 a->report.derived.vbios_version);
    }
    if (a->measured) {
        snprintf(o->measres, sizeof o->measres, "%s",
                 a->measure.n_mismatches == 0 ? "success" : "fail");
    }
    device_failure(&c->ap, i, &o->err, o->failed_check, sizeof o->failed_check);
    o->pass = o->err == DGA_E_OK;
}

/* "GPU-0: signature: signature-invalid: <message>", naming the RIM or certificate when it is one.
 */
static void hard_detail(const struct call *c, size_t i, char *detail)
{
    const struct dga_appraisal *a = &c->ap.dev[i];
    const char *label = a->report.label, *check = dga_appraisal_check_name(a->failed_check);
    const struct dga_ocsp_chain_result *o = dga_appraisal_ocsp_failure(a);
    const struct dga_rim_use *u = dga_appraisal_failed_rim(a);
    if (o != NULL && o->failed >= 0) {
        snprintf(detail, DGA_CVM_DETAIL_LEN, "%s: %s: %s: certificate %d \"%.80s\"", label, check,
                 dga_err_name(a->err), o->certs[o->failed].index, o->certs[o->failed].subject);
    } else if (u != NULL && a->err == DGA_E_RIM_PINNED_ABSENT) {
        const struct dga_rim_pin *pin = u == &a->driver ? &c->pins[i].driver : &c->pins[i].firmware;
        char hex[65] = "none named";
        if (pin->set) {
            dga_hex_encode(pin->sha256, 32, hex);
        }
        snprintf(detail, DGA_CVM_DETAIL_LEN, "%s: %s: %s: %.100s sha256 %s", label, check,
                 dga_err_name(a->err), u->id, hex);
    } else if (u != NULL) {
        snprintf(detail, DGA_CVM_DETAIL_LEN, "%s: %s: %s: %.120s", label, check,
                 dga_err_name(a->err), u->id);
    } else {
        snprintf(detail, DGA_CVM_DETAIL_LEN, "%s: %s: %s: %s", label, check, dga_err_name(a->err),
                 dga_err_message(a->err));
    }
}

/* The first failure in the verdict's order: hard failures, duplicates, the policy's reasons. */
static dga_err verdict(const struct call *c, char *detail)
{
    const struct dga_set_appraisal *ap = &c->ap;
    for (size_t i = 0; i < ap->n; i++) {
        if (ap->dev[i].err != DGA_E_OK) {
            hard_detail(c, i, detail);
            return ap->dev[i].err;
        }
    }
    for (size_t i = 0; i < ap->n; i++) {
        if (ap->dup[i].kind != DGA_DUPLICATE_NONE) {
            char what[96];
            dga_duplicate_text(ap, i, what, sizeof what);
            snprintf(detail, DGA_CVM_DETAIL_LEN, "%s: duplicate-device: %s as %s",
                     ap->dev[i].report.label, what, ap->dev[ap->dup[i].of].report.label);
            return DGA_E_DUPLICATE_DEVICE;
        }
    }
    char what[DGA_VERDICT_REASON_LEN];
    dga_err mode_err = DGA_E_OK;
    if (dga_set_appraisal_mode_failure(ap, what, sizeof what, &mode_err)) {
        snprintf(detail, DGA_CVM_DETAIL_LEN, "%s", what);
        return mode_err;
    }
    if (ap->verdict.pass) {
        return DGA_E_OK;
    }
    const struct dga_verdict *v = &ap->verdict;
    if (v->n_reasons == 0) {
        snprintf(detail, DGA_CVM_DETAIL_LEN, "policy: refused");
    } else if (v->about[0].device >= 0 && (size_t)v->about[0].device < ap->n) {
        snprintf(detail, DGA_CVM_DETAIL_LEN, "%s: policy: %s",
                 ap->dev[v->about[0].device].report.label, v->reasons[0] + v->about[0].text_at);
    } else {
        snprintf(detail, DGA_CVM_DETAIL_LEN, "policy: %s", v->reasons[0]);
    }
    return DGA_E_CVM_REAPPRAISAL;
}

/* The mode and, in PPCIe mode, the topology's outcome with its first finding. */
static void report_mode(const struct call *c, struct dga_cvm_reappraisal *out)
{
    const struct dga_set_appraisal *ap = &c->ap;
    snprintf(out->mode, sizeof out->mode, "%s", dga_set_mode_name(ap->mode));
    out->topology_checked = ap->topology_checked;
    out->topology_pass = ap->topology_checked && ap->topology.pass;
    out->topology_err = ap->topology_checked ? ap->topology.err : DGA_E_OK;
    out->topology_finding[0] = '\0';
    if (ap->topology_checked && ap->topology.n_findings > 0) {
        snprintf(out->topology_finding, sizeof out->topology_finding, "%s",
                 ap->topology.findings[0].text);
    }
}

static dga_err report_devices(const struct call *c, struct dga_cvm_reappraisal *out)
{
    out->devices = calloc(c->ap.n > 0 ? c->ap.n : 1, sizeof *out->devices);
    if (out->devices == NULL) {
        return DGA_E_NOMEM;
    }
    out->n_devices = c->ap.n;
    for (size_t i = 0; i < c->ap.n; i++) {
        fill_device(c, i, &out->devices[i]);
        out->nvswitches += dga_arch_is_switch(c->set->dev[i].arch);
    }
    out->gpus = c->ap.n - out->nvswitches;
    report_mode(c, out);
    return DGA_E_OK;
}

/* The bundle's lists: the nonce, the evidence, the RIM pins. */
static dga_err read_lists(const json_t *doc, const struct dga_cvm_gpu_payload *p, struct call *c,
                          char *detail)
{
    dga_err e = read_nonce(doc, c, detail);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_evidence(doc, p, c, detail);
    if (e != DGA_E_OK) {
        return e;
    }
    return read_pins(doc, c, detail);
}

/* This call's policy and OCSP source (the verification cache is the reappraiser's). */
static dga_err prepare_call(const struct dga_cvm_reappraiser *r, const uint8_t *bundle, size_t len,
                            const json_t *doc, const struct dga_cvm_gpu_payload *p, struct call *c,
                            char *detail)
{
    dga_err e = make_policy(r, doc, p, c, detail);
    if (e != DGA_E_OK) {
        return e;
    }
    return make_ocsp(r, bundle, len, c, detail);
}

/*
 * The gate's mode rule again. "on": CC, so an NVSwitch or a GPU whose signed report says PPCIe
 * is refused. "ppcie": the topology over the GPUs and NVSwitches with the counts and the
 * certificate-PDI rule of the relying party's policy, and TNVL required (each switch's
 * tnvl_status from the bundle, which the gate required LOCKED).
 */
static void set_mode(const struct dga_cvm_gpu_payload *p, const struct dga_policy *policy,
                     struct dga_appraise_options *opt)
{
    if (!payload_ppcie(p)) {
        opt->mode = DGA_SET_MODE_CC;
        return;
    }
    struct dga_policy_ppcie pp;
    dga_policy_ppcie(policy, &pp);
    opt->mode = DGA_SET_MODE_PPCIE;
    opt->topology.gpus = pp.gpus;
    opt->topology.switches = pp.switches;
    opt->topology.gpu_pdi_in_cert = pp.gpu_pdi_in_cert;
    opt->topology.require_tnvl = true;
}

/* Reads the bundle's lists and builds what the appraisal needs; then appraises. */
static dga_err appraise(const struct dga_cvm_reappraiser *r, const uint8_t *bundle, size_t len,
                        const json_t *doc, const struct dga_cvm_gpu_payload *p, time_t at,
                        struct call *c, char *detail)
{
    const struct dga_trust *root = NULL;
    dga_err e = choose_root(r, doc, p, &root, detail);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_lists(doc, p, c, detail);
    if (e != DGA_E_OK) {
        return e;
    }
    e = prepare_call(r, bundle, len, doc, p, c, detail);
    if (e != DGA_E_OK) {
        return e;
    }
    struct dga_appraise_options opt = {.rim_trust = &r->rim_root,
                                       .rim_dir = r->rim_dir,
                                       .cache = r->cache,
                                       .ocsp = &c->ocsp,
                                       .rim_pins = c->pins,
                                       .n_rim_pins = c->set->n,
                                       /* servers are concurrent per request already */
                                       .jobs = 1};
    opt.verify.at = at;
    opt.verify.trust = root;
    memcpy(opt.verify.nonce, c->nonce, DGA_NONCE_LEN);
    set_mode(p, c->policy, &opt);
    return dga_appraise_set(c->set, &opt, c->policy, &c->ap);
}

/* e, with its message as the detail when no step wrote one. */
static dga_err failed(dga_err e, char *detail)
{
    if (detail[0] == '\0') {
        snprintf(detail, DGA_CVM_DETAIL_LEN, "%s", dga_err_message(e));
    }
    return e;
}

dga_err dga_cvm_reappraise(void *ctx, const uint8_t *bundle, size_t len, const json_t *doc,
                           const struct dga_cvm_expect *x,
                           const struct dga_cvm_gpu_payload *payload, time_t at,
                           struct dga_cvm_reappraisal *out, char *detail)
{
    (void)x; /* what the expectations decide was loaded by dga_cvm_reappraiser_new */
    const struct dga_cvm_reappraiser *r = ctx;
    if (r == NULL || bundle == NULL || !json_is_object(doc) || payload == NULL || out == NULL ||
        detail == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    detail[0] = '\0';
    free(out->devices);
    out->devices = NULL;
    out->n_devices = 0;
    out->gpus = out->nvswitches = 0;
    out->mode[0] = '\0';
    out->topology_checked = out->topology_pass = false;
    out->topology_err = DGA_E_OK;
    out->topology_finding[0] = '\0';
    out->ran = true;
    out->at = at;
    memcpy(out->policy_sha256, r->policy_sha256, 32);
    _cleanup_(call_freep) struct call *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = appraise(r, bundle, len, doc, payload, at, c, detail);
    if (e != DGA_E_OK) {
        return failed(e, detail);
    }
    e = report_devices(c, out);
    if (e != DGA_E_OK) {
        return failed(e, detail);
    }
    return verdict(c, detail);
}
