/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nvattest drop-in's runs that do not go through the gate (docs/nvattest.md):
 * `collect-evidence --device gpu|nvswitch`, which prints nvattest's
 * {"evidences": [...], "result_code": 0, "result_message": "Ok"} from the library's own
 * serializers (the ones `collect` writes), and `attest --device nvswitch`, which collects every
 * NVSwitch through NSCQ for the nonce and appraises the switches offline as the gate appraises
 * GPUs: the same configuration, trust roots, RIM store, OCSP source, set appraisal, policy,
 * relying-party policy and JSON core. NVIDIA's nvattest collects each switch's TNVL status
 * and never checks it; neither does this (the bundle records it): the gate enforces LOCKED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "dga/appraise.h"
#include "dga/appraise_set.h"
#include "dga/cleanup.h"
#include "dga/collateral.h"
#include "dga/collect.h"
#include "dga/eat.h"
#include "dga/policy.h"
#include "dga/util.h"
#include "nvattest.h"

#define PEM_FILE_MAX (64u << 10)

/* ---- collection ---- */

static int nonce_for(const struct nv_args *a, uint8_t nonce[DGA_NONCE_LEN])
{
    if (a->nonce != NULL) {
        memcpy(nonce, a->nonce_bytes, DGA_NONCE_LEN);
        return 0;
    }
    if (dga_collect_nonce(nonce) != DGA_E_OK) {
        return nv_fail(a, RC_INTERNAL, "nonce: getrandom: no random bytes");
    }
    return 0;
}

/* The PCI inventory, allocated (*ret, the caller frees it); 0 or nvattest's failure. */
static int scan_inventory(const struct nv_args *a, const struct dga_gate_config *cfg,
                          struct dga_inventory **ret)
{
    struct dga_inventory *inv = calloc(1, sizeof *inv);
    if (inv == NULL) {
        return nv_fail(a, RC_INTERNAL, "out of memory");
    }
    *ret = inv;
    struct dga_inventory_error err;
    memset(&err, 0, sizeof err);
    dga_err e = dga_inventory_scan(cfg->sysfs_pci, inv, &err);
    if (e == DGA_E_OK) {
        return 0;
    }
    /* A foreign display device is a finding about the machine (503, as the gate's); else I/O. */
    return nv_fail(a, e == DGA_E_PCI_FOREIGN_DISPLAY ? RC_EVIDENCE_INVALID : RC_INTERNAL,
                   "inventory: %s: %s%s%s%s", dga_err_name(e), dga_err_message(e),
                   err.entry[0] != '\0' ? " (" : "", err.entry, err.entry[0] != '\0' ? ")" : "");
}

/*
 * nvattest's codes for an NSCQ failure: 600 when the library cannot be used at all (load,
 * symbols, session), 602 for a switch that is not an LS10, 601 for every other NSCQ error,
 * a callback's included, and for a collection that timed out.
 */
static int nscq_result_code(const struct dga_nscq_error *err)
{
    if (err->err == DGA_E_NSCQ_LOAD || err->err == DGA_E_NSCQ_SYMBOL ||
        strcmp(err->function, "nscq_session_create") == 0) {
        return RC_NSCQ_INIT_FAILED;
    }
    if (err->err == DGA_E_NSCQ_ARCH) {
        return RC_SWITCH_ARCH_NOT_SUPPORTED;
    }
    return err->err == DGA_E_NOMEM ? RC_INTERNAL : RC_NSCQ_ERROR;
}

/*
 * Every NVSwitch through NSCQ for the nonce, in a child with the collection deadline; as
 * strict as the GPU path: NSCQ must see exactly the PCI inventory's NVSwitches, and at least
 * one (libnvat: "No switch UUIDs found", 601).
 */
static int collect_switches(const struct nv_args *a, const struct dga_gate_config *cfg,
                            const uint8_t nonce[DGA_NONCE_LEN], struct dga_switch_collection *sw)
{
    _cleanup_(freep) struct dga_inventory *inv = NULL;
    int rc = scan_inventory(a, cfg, &inv);
    if (rc != 0) {
        return rc;
    }
    struct dga_nscq_error err;
    memset(&err, 0, sizeof err);
    if (dga_nscq_collect_with_deadline(a->nscq, nonce, cfg->collect_timeout_ms, sw, &err) !=
        DGA_E_OK) {
        char text[768];
        cli_nscq_error_text(&err, text, sizeof text);
        return nv_fail(a, nscq_result_code(&err), "collect: %s", text);
    }
    if (sw->n == 0) {
        return nv_fail(a, RC_NSCQ_ERROR,
                       "collect: NSCQ found no NVSwitch (nscq_session_path_observe "
                       "/drv/nvswitch/{device}/uuid)");
    }
    if (sw->n != inv->n_switches) {
        return nv_fail(a, RC_EVIDENCE_INVALID,
                       "collect: %s: NSCQ sees %zu NVSwitch(es), the PCI inventory %zu",
                       dga_err_name(DGA_E_INVENTORY_MISMATCH), sw->n, inv->n_switches);
    }
    return 0;
}

/* libnvat's NVML collection: the CC feature on, or protected PCIe; else 509. */
static int check_gpu_mode(const struct nv_args *a, const struct dga_cc_settings *cc)
{
    if (cc->cc_feature == 1 || cc->multi_gpu_mode == 1) {
        return 0;
    }
    return nv_fail(a, RC_GPU_MODE_NOT_SUPPORTED,
                   "cc-mode: neither CC (ccFeature %u) nor protected PCIe (multiGpuMode %u)",
                   cc->cc_feature, cc->multi_gpu_mode);
}

/* Every GPU through NVML for the nonce, checked against the PCI inventory as `collect` does. */
static int collect_gpus(const struct nv_args *a, const struct dga_gate_config *cfg,
                        const uint8_t nonce[DGA_NONCE_LEN], struct dga_collection *c)
{
    _cleanup_(freep) struct dga_inventory *inv = NULL;
    int rc = scan_inventory(a, cfg, &inv);
    if (rc != 0) {
        return rc;
    }
    struct dga_nvml_error err;
    memset(&err, 0, sizeof err);
    if (dga_collect_with_deadline(cfg->nvml, nonce, cfg->collect_timeout_ms, c, &err) != DGA_E_OK) {
        char text[512];
        cli_nvml_error_text(&err, text, sizeof text);
        return nv_fail(a, RC_INTERNAL, "collect: %s", text);
    }
    struct dga_diag diag = {0};
    if (c->n == 0) {
        return nv_fail(a, RC_EVIDENCE_INVALID, "collect: NVML found no GPU");
    }
    if (dga_inventory_check_collection(inv, c, &diag) != DGA_E_OK) {
        return nv_fail(a, RC_EVIDENCE_INVALID,
                       "collect: %s: NVML sees %zu GPU(s), the PCI inventory %zu%s",
                       dga_err_name(DGA_E_INVENTORY_MISMATCH), c->n, inv->n_gpus,
                       strcmp(diag.field, "gpu-count") == 0 ? "" : ", at other addresses");
    }
    return check_gpu_mode(a, &c->cc);
}

/* nvattest's collect-evidence output, as the library serializes it, compact, sorted keys. */
static int print_evidence(const struct nv_args *a, json_t *j)
{
    if (j == NULL) {
        return nv_fail(a, RC_INTERNAL, "out of memory");
    }
    nv_print_object(j);
    json_decref(j);
    return 0;
}

int nv_collect_evidence(const struct nv_args *a, const struct dga_gate_config *cfg)
{
    uint8_t nonce[DGA_NONCE_LEN];
    int rc = nonce_for(a, nonce);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(a->device, "nvswitch") == 0) {
        _cleanup_(dga_switch_collection_freep) struct dga_switch_collection *sw =
            calloc(1, sizeof *sw);
        rc = sw != NULL ? collect_switches(a, cfg, nonce, sw)
                        : nv_fail(a, RC_INTERNAL, "out of memory");
        return rc != 0 ? rc : print_evidence(a, dga_switch_collection_to_json(sw));
    }
    _cleanup_(dga_collection_freep) struct dga_collection *c = calloc(1, sizeof *c);
    rc = c != NULL ? collect_gpus(a, cfg, nonce, c) : nv_fail(a, RC_INTERNAL, "out of memory");
    return rc != 0 ? rc : print_evidence(a, dga_collection_to_json(c));
}

/* ---- attest --device nvswitch ---- */

struct switch_run {
    const struct nv_args *a;
    const struct dga_gate_config *cfg;
    uint8_t nonce[DGA_NONCE_LEN];
    time_t at;
    struct dga_trust device_root, rim_root;
    struct dga_policy *policy;    /* the configured one, else the built-in default: the floor */
    struct dga_policy *rp_policy; /* --relying-party-policy's equivalent document, or NULL */
    struct dga_verdict rp_verdict;
    bool rp_evaluated;
    struct dga_ocsp_source ocsp;
    EVP_PKEY *eat_key;
    struct dga_switch_collection *sw;
    struct dga_evidence_set *set;
    struct dga_verify_cache *cache;
    struct dga_set_appraisal ap;
    bool appraised;
    char reason[1024];
};

static void switch_run_free(struct switch_run *r)
{
    dga_set_appraisal_clear(&r->ap);
    dga_verify_cache_free(r->cache); /* after the appraisal that borrows its RIMs */
    dga_evidence_set_freep(&r->set);
    dga_switch_collection_freep(&r->sw);
    dga_policy_free(r->policy);
    dga_policy_free(r->rp_policy);
    dga_ocsp_memo_free(r->ocsp.memo);
    EVP_PKEY_free(r->eat_key);
    dga_trust_clear(&r->device_root);
    dga_trust_clear(&r->rim_root);
}

/* A file of the configuration that cannot be used: 2 when it cannot be read, else 4. */
static int setup_fail(const struct switch_run *r, dga_err e, const char *what, const char *path)
{
    return nv_fail(r->a, e == DGA_E_IO || e == DGA_E_NOMEM ? RC_INTERNAL : RC_BAD_ARGUMENT,
                   "%s %s: %s: %s", what, path, dga_err_name(e), dga_err_message(e));
}

static int load_policies(struct switch_run *r)
{
    dga_err e;
    const char *path = r->cfg->policy;
    if (path == NULL) {
        e = dga_policy_default(&r->policy);
    } else {
        _cleanup_(freep) uint8_t *text = NULL;
        size_t len = 0;
        struct dga_diag diag = {0};
        e = dga_file_read(path, DGA_POLICY_MAX_BYTES, &text, &len);
        if (e == DGA_E_OK) {
            e = dga_policy_parse((const char *)text, len, &r->policy, &diag);
        }
    }
    if (e != DGA_E_OK) {
        return setup_fail(r, e, "policy", path != NULL ? path : "(built-in)");
    }
    if (r->a->rp != NULL) {
        struct dga_diag diag = {0};
        e = dga_policy_parse((const char *)r->a->rp->text, r->a->rp->len, &r->rp_policy, &diag);
        if (e != DGA_E_OK) {
            return setup_fail(r, e, "relying-party policy", r->a->rp->document);
        }
    }
    return 0;
}

/*
 * Revocation as the gate chooses it: the config's "ocsp", else online when the configured
 * policy or the relying-party policy's document requires OCSP, off when neither does. Off
 * under a policy that requires it, or cache without collateral_dir, is a usage error.
 */
static int setup_ocsp(struct switch_run *r)
{
    const struct dga_gate_config *c = r->cfg;
    struct dga_ocsp_source *src = &r->ocsp;
    dga_ocsp_source_init(src);
    bool required = dga_policy_ocsp_required(r->policy) ||
                    (r->rp_policy != NULL && dga_policy_ocsp_required(r->rp_policy));
    src->mode = required ? DGA_OCSP_MODE_ONLINE : DGA_OCSP_MODE_OFF;
    if (c->ocsp != NULL && dga_ocsp_mode_parse(c->ocsp, &src->mode) != DGA_E_OK) {
        return nv_fail(r->a, RC_BAD_ARGUMENT, "config: ocsp: %s", c->ocsp);
    }
    const char *why = src->mode == DGA_OCSP_MODE_OFF && required
                          ? "\"off\" needs policies with \"ocsp\": \"not-required\""
                      : src->mode == DGA_OCSP_MODE_CACHE && c->collateral_dir == NULL
                          ? "\"cache\" needs collateral_dir"
                          : NULL;
    if (why != NULL) {
        return nv_fail(r->a, RC_BAD_ARGUMENT, "config: ocsp: %s", why);
    }
    src->url = c->ocsp_url;
    src->dir = c->collateral_dir;
    if (c->has_ocsp_max_age) {
        src->max_age = (long)c->ocsp_max_age;
        src->unlimited_age = c->ocsp_max_age == 0;
    }
    if (src->mode != DGA_OCSP_MODE_OFF && dga_ocsp_memo_new(&src->memo) != DGA_E_OK) {
        return nv_fail(r->a, RC_INTERNAL, "out of memory");
    }
    return 0;
}

/* NVIDIA's RIM root; NVIDIA's device root, or the test root the configuration names. */
static int load_roots(struct switch_run *r)
{
    dga_err e = dga_trust_nvidia_rim(&r->rim_root);
    if (e != DGA_E_OK) {
        return setup_fail(r, e, "trust root", "rim");
    }
    const char *path = r->cfg->test_device_root;
    if (path == NULL) {
        e = dga_trust_nvidia_device(&r->device_root);
        return e == DGA_E_OK ? 0 : setup_fail(r, e, "trust root", "device");
    }
    _cleanup_(freep) uint8_t *pem = NULL;
    size_t len = 0;
    e = dga_file_read(path, PEM_FILE_MAX, &pem, &len);
    if (e == DGA_E_OK) {
        e = dga_trust_from_pem((const char *)pem, len, &r->device_root);
    }
    return e == DGA_E_OK ? 0 : setup_fail(r, e, "test_device_root", path);
}

static int setup(struct switch_run *r)
{
    r->at = r->cfg->has_verify_at ? r->cfg->verify_at : time(NULL);
    int rc = load_policies(r);
    if (rc == 0) {
        rc = setup_ocsp(r);
    }
    if (rc == 0) {
        rc = load_roots(r);
    }
    if (rc == 0 && r->cfg->eat_key != NULL) {
        dga_err e = dga_eat_key_load(r->cfg->eat_key, &r->eat_key);
        rc = e == DGA_E_OK ? 0 : setup_fail(r, e, "eat_key", r->cfg->eat_key);
    }
    if (rc == 0 && dga_verify_cache_new(&r->rim_root, &r->cache) != DGA_E_OK) {
        rc = nv_fail(r->a, RC_INTERNAL, "out of memory");
    }
    return rc;
}

/* "SWITCH-<i> (<NSCQ label>)": the appraisal's label and the switch NSCQ named. */
static void switch_name(const struct switch_run *r, size_t i, char *out, size_t size)
{
    snprintf(out, size, "SWITCH-%zu (%s)", i, r->sw->sw[i].label);
}

/* "<switch>: <check>: <error>: <message>[: <RIM id> | : certificate <n> "<subject>"]". */
static void device_reason(struct switch_run *r, size_t i)
{
    const struct dga_appraisal *d = &r->ap.dev[i];
    char who[128], what[384];
    switch_name(r, i, who, sizeof who);
    dga_appraisal_failure_text(d, what, sizeof what);
    snprintf(r->reason, sizeof r->reason, "%s: %s", who, what);
}

/* The first refusal, in the gate's order: a device, a duplicate, the policy, the RP policy. */
static bool judge(struct switch_run *r)
{
    const struct dga_set_appraisal *ap = &r->ap;
    char who[128], other[128], what[96];
    for (size_t i = 0; i < ap->n; i++) {
        if (ap->dev[i].err != DGA_E_OK) {
            device_reason(r, i);
            return false;
        }
    }
    for (size_t i = 0; i < ap->n; i++) {
        if (ap->dup[i].kind != DGA_DUPLICATE_NONE) {
            switch_name(r, i, who, sizeof who);
            switch_name(r, ap->dup[i].of, other, sizeof other);
            dga_duplicate_text(ap, i, what, sizeof what);
            snprintf(r->reason, sizeof r->reason, "%s: %s: %s as %s", who,
                     dga_err_name(DGA_E_DUPLICATE_DEVICE), what, other);
            return false;
        }
    }
    if (!ap->verdict.pass) {
        snprintf(r->reason, sizeof r->reason, "policy: %s",
                 ap->verdict.n_reasons > 0 ? ap->verdict.reasons[0] : "refused");
        return false;
    }
    return true;
}

/* --relying-party-policy's document, after the configured policy passed: both must pass. */
static int evaluate_rp(struct switch_run *r)
{
    if (r->rp_policy == NULL) {
        return 0;
    }
    if (dga_policy_evaluate(r->rp_policy, r->ap.claims, &r->rp_verdict) != DGA_E_OK) {
        return nv_fail(r->a, RC_POLICY_EVALUATION_ERROR,
                       "relying-party policy %s: could not be evaluated", r->a->rp->rego);
    }
    r->rp_evaluated = true;
    if (!r->rp_verdict.pass) {
        dga_set_appraisal_rp_refused(&r->ap);
        snprintf(r->reason, sizeof r->reason, "relying-party policy %s (builtin:%s): %s",
                 r->a->rp->rego, r->a->rp->document,
                 r->rp_verdict.n_reasons > 0 ? r->rp_verdict.reasons[0] : "refused");
    }
    return 0;
}

static int appraise(struct switch_run *r)
{
    r->set = calloc(1, sizeof *r->set);
    dga_err e = r->set != NULL ? dga_switch_collection_to_evidence(r->sw, r->set) : DGA_E_NOMEM;
    if (e != DGA_E_OK) {
        return nv_fail(r->a, RC_INTERNAL, "appraise: %s: %s", dga_err_name(e), dga_err_message(e));
    }
    struct dga_appraise_options opt = {.rim_trust = &r->rim_root,
                                       .rim_dir = r->cfg->rim_dir,
                                       .cache = r->cache,
                                       .ocsp = &r->ocsp,
                                       .jobs = r->cfg->jobs};
    opt.verify.at = r->at;
    opt.verify.trust = &r->device_root;
    memcpy(opt.verify.nonce, r->nonce, DGA_NONCE_LEN);
    e = dga_appraise_set(r->set, &opt, r->policy, &r->ap);
    if (e != DGA_E_OK) {
        return nv_fail(r->a, RC_INTERNAL, "appraise: %s: %s", dga_err_name(e), dga_err_message(e));
    }
    r->appraised = true;
    if (judge(r)) {
        return evaluate_rp(r);
    }
    return 0;
}

/* The configured key signs only a set every check passed (as the gate's). */
static int sign(struct switch_run *r)
{
    bool pass = r->ap.verdict.pass && r->reason[0] == '\0';
    struct dga_eat_options o = {
        .key = pass ? r->eat_key : NULL, .kid = r->cfg->eat_kid, .iat = time(NULL)};
    if (dga_set_appraisal_eat(&r->ap, r->policy, r->nonce, &o) != DGA_E_OK) {
        return nv_fail(r->a, RC_INTERNAL, "appraise: cannot build the detached EAT");
    }
    return 0;
}

static json_t *sha_json(const uint8_t sha[32])
{
    char hex[65];
    dga_hex_encode(sha, 32, hex);
    return json_string(hex);
}

/* null, or the Rego's SHA-256 and its equivalent document with that document's verdict. */
static json_t *rp_json(const struct switch_run *r)
{
    const struct rp_policy *p = r->a->rp;
    if (p == NULL) {
        return json_null();
    }
    uint8_t doc_sha[32];
    dga_policy_sha256(r->rp_policy, doc_sha);
    char name[128];
    snprintf(name, sizeof name, "builtin:%s", p->document);
    return json_pack("{s:s,s:o,s:{s:s,s:o,s:o}}", "rego", p->rego, "sha256",
                     sha_json(r->a->rp_sha256), "equivalent_policy", "path", name, "sha256",
                     sha_json(doc_sha), "verdict",
                     r->rp_evaluated ? dga_verdict_json(&r->rp_verdict) : json_null());
}

/*
 * The appraised set's JSON core (what `attest` prints and the GPU bundle extends), with the
 * switches' raw evidence as collect-evidence prints it (each with its NSCQ label, UUID and
 * unchecked TNVL status), the relying-party policy, and the run's verdict and reason.
 */
static json_t *bundle_json(const struct switch_run *r)
{
    struct dga_set_json_context c = {
        .policy = r->policy,
        .ocsp = &r->ocsp,
        .nonce = r->nonce,
        .verified_at = r->at,
        .device_root = r->cfg->test_device_root != NULL ? "test" : "nvidia",
        .rim_root = "nvidia",
    };
    _cleanup_(json_decrefp) json_t *b = dga_set_appraisal_json(&r->ap, &c);
    _cleanup_(json_decrefp) json_t *ev = dga_switch_collection_to_json(r->sw);
    json_t *verdict = json_object_get(b, "verdict");
    bool pass = r->reason[0] == '\0';
    if (b == NULL || ev == NULL || verdict == NULL ||
        json_object_set(b, "evidence", json_object_get(ev, "evidences")) != 0 ||
        json_object_set_new(b, "relying_party_policy", rp_json(r)) != 0 ||
        json_object_set_new(b, "device", json_string("nvswitch")) != 0 ||
        json_object_set_new(verdict, "pass", json_boolean(pass)) != 0 ||
        json_object_set_new(verdict, "result", json_string(pass ? "pass" : "fail")) != 0) {
        return NULL;
    }
    json_t *reasons = json_object_get(verdict, "reasons");
    if (!pass && json_array_size(reasons) == 0 &&
        json_array_append_new(reasons, json_string(r->reason)) != 0) {
        return NULL;
    }
    return TAKE_PTR(b);
}

static int report(const struct switch_run *r)
{
    _cleanup_(json_decrefp) json_t *b = bundle_json(r);
    if (b == NULL) {
        return nv_fail(r->a, RC_INTERNAL, "out of memory");
    }
    if (r->reason[0] != '\0' && !r->a->quiet) {
        fprintf(stderr, "nvattest: %s\n", r->reason);
    }
    nv_print_object(b);
    return r->reason[0] == '\0' ? EXIT_VERIFIED : nv_exit_status(r->ap.result_code);
}

int nv_attest_switches(const struct nv_args *a, const struct dga_gate_config *cfg)
{
    struct switch_run *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return nv_fail(a, RC_INTERNAL, "out of memory");
    }
    r->a = a;
    r->cfg = cfg;
    r->sw = calloc(1, sizeof *r->sw);
    int rc = r->sw != NULL ? setup(r) : nv_fail(a, RC_INTERNAL, "out of memory");
    if (rc == 0) {
        rc = nonce_for(a, r->nonce);
    }
    if (rc == 0) {
        rc = collect_switches(a, cfg, r->nonce, r->sw);
    }
    if (rc == 0) {
        rc = appraise(r);
    }
    if (rc == 0) {
        rc = sign(r);
    }
    if (rc == 0) {
        rc = report(r);
    }
    switch_run_free(r);
    free(r);
    return rc;
}
