/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Report-level verification pipeline for one device. The report is
 * untrusted until parse, chain, signature, nonce and FWID have all passed;
 * each check that can run does run, so the claims show every outcome, and
 * the first failure (in enum dga_check order) is the device's error.
 */
#include <stdio.h>
#include <string.h>

#include "core/cleanup.h"
#include "dga/util.h"
#include "dga/verify.h"
#include "verify_steps.h"

const char *dga_check_name(enum dga_check c)
{
    static const char *const names[] = {
        [DGA_CHECK_NONE] = "none",
        [DGA_CHECK_PARSE] = "report-parse",
        [DGA_CHECK_CHAIN] = "cert-chain",
        [DGA_CHECK_SIGNATURE] = "signature",
        [DGA_CHECK_NONCE] = "nonce",
        [DGA_CHECK_FWID] = "fwid",
        [DGA_CHECK_VALIDITY] = "cert-validity",
    };
    return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "unknown";
}

static void fail(struct dga_device_result *r, enum dga_check check, dga_err e,
                 const struct dga_diag *diag)
{
    if (r->err != DGA_E_OK) {
        return; /* keep the first failure */
    }
    r->err = e;
    r->failed_check = check;
    if (diag != NULL && diag->err == e) {
        r->diag = *diag;
    } else {
        dga_diag_set(&r->diag, e, 0, dga_check_name(check));
    }
}

static void check_parse(const struct dga_device_evidence *ev, struct dga_device_result *r)
{
    struct dga_diag diag = {0};
    dga_err e = dga_report_parse(ev->report, ev->report_len, ev->arch, &r->report, &diag);
    if (e == DGA_E_OK) {
        e = dga_report_derive(&r->report, &r->derived, &diag);
    }
    r->parsed = e == DGA_E_OK;
    if (!r->parsed) {
        fail(r, DGA_CHECK_PARSE, e, &diag);
    }
}

static X509 *check_chain(const struct dga_device_evidence *ev, const struct dga_verify_options *opt,
                         struct dga_device_result *r, STACK_OF(X509) **chain)
{
    struct dga_diag diag = {0};
    dga_err e = DGA_E_OK;
    if (opt->cert_pool != NULL && opt->trust != NULL && opt->trust->root != NULL) {
        e = dga_cert_pool_add(opt->cert_pool, opt->trust->root); /* its presented copy */
    }
    if (e == DGA_E_OK) {
        e = dga_pem_chain_parse_pooled_from(ev->chain_pem, ev->chain_pem_len, opt->cert_pool,
                                            DGA_DEVICE_CHAIN_SHARED_FROM, chain, &diag);
    }
    if (e == DGA_E_OK) {
        e = dga_device_chain_verify_cached(*chain, ev->arch, opt->trust, opt->at, opt->chain_cache,
                                           &r->chain, &diag);
    }
    r->chain_verified = e == DGA_E_OK;
    if (!r->chain_verified) {
        fail(r, DGA_CHECK_CHAIN, e, &diag);
        return NULL;
    }
    return sk_X509_value(*chain, 0);
}

static void check_signature(X509 *leaf, struct dga_device_result *r)
{
    dga_err e = dga_report_signature_verify(leaf, r->report.bytes, r->report.signed_len,
                                            r->report.signature);
    r->signature_verified = e == DGA_E_OK;
    if (!r->signature_verified) {
        fail(r, DGA_CHECK_SIGNATURE, e, NULL);
    }
}

/* The report's request nonce, and the container's nonce when it states one. */
static void check_nonce(const struct dga_device_evidence *ev, const struct dga_verify_options *opt,
                        struct dga_device_result *r)
{
    bool ok = dga_mem_equal(r->report.nonce, opt->nonce, DGA_NONCE_LEN);
    if (ev->has_nonce && !dga_mem_equal(ev->nonce, opt->nonce, DGA_NONCE_LEN)) {
        ok = false;
    }
    r->nonce_match = ok;
    if (!ok) {
        fail(r, DGA_CHECK_NONCE, DGA_E_NONCE_MISMATCH, NULL);
    }
}

/* A report FWID must equal the leaf's; no FWID in the report is a match (libnvat). */
static void check_fwid(struct dga_device_result *r)
{
    dga_err e = DGA_E_OK;
    if (r->derived.has_fwid && !r->chain.leaf_has_fwid) {
        e = DGA_E_FWID_NOT_FOUND;
    } else if (r->derived.has_fwid &&
               !dga_mem_equal(r->derived.fwid, r->chain.leaf_fwid, DGA_DIGEST_LEN)) {
        e = DGA_E_FWID_MISMATCH;
    }
    r->fwid_match = e == DGA_E_OK;
    if (!r->fwid_match) {
        fail(r, DGA_CHECK_FWID, e, NULL);
    }
}

static void check_validity(struct dga_device_result *r)
{
    r->time_valid = !r->chain.expired && !r->chain.not_yet_valid;
    if (!r->time_valid) {
        fail(r, DGA_CHECK_VALIDITY, DGA_E_CHAIN_EXPIRED, NULL);
    }
}

void verify_device_parse(const struct dga_device_evidence *ev, const struct dga_verify_options *opt,
                         struct dga_device_result *r)
{
    memset(r, 0, sizeof *r);
    r->arch = ev->arch;
    r->custom_root = opt->trust->custom;
    check_parse(ev, r);
}

/*
 * Writes only what the checks after the parse decide (chain, flags, err):
 * r->report and r->derived stay as the parse left them, so other threads
 * may read them meanwhile (the device's RIM parts).
 */
dga_err verify_device_checks(const struct dga_device_evidence *ev,
                             const struct dga_verify_options *opt, struct dga_device_result *r)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
    X509 *leaf = check_chain(ev, opt, r, &chain);
    if (r->parsed && leaf != NULL) {
        check_signature(leaf, r);
    }
    if (r->parsed) {
        check_nonce(ev, opt, r);
    }
    if (r->parsed && leaf != NULL) {
        check_fwid(r);
    }
    if (leaf != NULL) {
        check_validity(r);
    }
    return r->err;
}

dga_err dga_verify_device(const struct dga_device_evidence *ev,
                          const struct dga_verify_options *opt, struct dga_device_result *ret)
{
    verify_device_parse(ev, opt, ret);
    return verify_device_checks(ev, opt, ret);
}

void dga_label_devices(struct dga_device_result *results, size_t n)
{
    unsigned gpus = 0, switches = 0;
    for (size_t i = 0; i < n; i++) {
        struct dga_device_result *r = &results[i];
        if (dga_arch_is_switch(r->arch)) {
            snprintf(r->label, sizeof r->label, "SWITCH-%u", switches++);
        } else {
            snprintf(r->label, sizeof r->label, "GPU-%u", gpus++);
        }
    }
}
