/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Full offline appraisal of one device (docs/architecture.md, data flow 1): the
 * report-level checks, the driver and VBIOS (or NVSwitch BIOS) RIMs from a
 * store, the measurement comparison, and the revocation (OCSP) of every
 * verified chain. Hard failures stop the device; expired RIM signers,
 * mismatches and OCSP answers become claims for the policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "appraise/appraise_parts.h"
#include "appraise/cache.h"
#include "appraise/verify_steps.h"
#include "core/cleanup.h"
#include "dga/appraise.h"
#include "dga/util.h"

/* How good a RIM candidate is; higher wins, the store's order breaks ties. */
enum candidate_rank {
    RANK_UNUSABLE, /* does not parse, chain or signature broken, wrong version */
    RANK_EXPIRED,  /* sound but a signer certificate is not valid at the time */
    RANK_MISMATCH, /* sound and valid, but its measurements differ from the report */
    RANK_BEST,     /* sound, valid, and every golden value matches */
};

struct candidate {
    struct dga_rim_use use;
    enum candidate_rank rank;
};

const char *dga_appraisal_check_name(enum dga_appraisal_check c)
{
    static const char *const names[] = {
        [DGA_APPRAISAL_CHECK_NONE] = "none",
        [DGA_APPRAISAL_CHECK_OPTIONS] = "options",
        [DGA_APPRAISAL_CHECK_REPORT_PARSE] = "report-parse",
        [DGA_APPRAISAL_CHECK_CERT_CHAIN] = "cert-chain",
        [DGA_APPRAISAL_CHECK_SIGNATURE] = "signature",
        [DGA_APPRAISAL_CHECK_NONCE] = "nonce",
        [DGA_APPRAISAL_CHECK_FWID] = "fwid",
        [DGA_APPRAISAL_CHECK_CERT_VALIDITY] = "cert-validity",
        [DGA_APPRAISAL_CHECK_OCSP_DEVICE_CHAIN] = "ocsp-device-chain",
        [DGA_APPRAISAL_CHECK_DRIVER_RIM] = "driver-rim",
        [DGA_APPRAISAL_CHECK_VBIOS_RIM] = "vbios-rim",
        [DGA_APPRAISAL_CHECK_BIOS_RIM] = "bios-rim",
        [DGA_APPRAISAL_CHECK_OCSP_DRIVER_RIM_CHAIN] = "ocsp-driver-rim-chain",
        [DGA_APPRAISAL_CHECK_OCSP_VBIOS_RIM_CHAIN] = "ocsp-vbios-rim-chain",
        [DGA_APPRAISAL_CHECK_OCSP_BIOS_RIM_CHAIN] = "ocsp-bios-rim-chain",
        [DGA_APPRAISAL_CHECK_MEASUREMENTS] = "measurements",
    };
    _Static_assert(sizeof names / sizeof names[0] == DGA_APPRAISAL_CHECK__COUNT,
                   "a name for every check");
    return (unsigned)c < DGA_APPRAISAL_CHECK__COUNT ? names[c] : "unknown";
}

/* A report-level check as the device's check (the same names, dga_check_name). */
static enum dga_appraisal_check report_check(enum dga_check c)
{
    switch (c) {
    case DGA_CHECK_PARSE:
        return DGA_APPRAISAL_CHECK_REPORT_PARSE;
    case DGA_CHECK_CHAIN:
        return DGA_APPRAISAL_CHECK_CERT_CHAIN;
    case DGA_CHECK_SIGNATURE:
        return DGA_APPRAISAL_CHECK_SIGNATURE;
    case DGA_CHECK_NONCE:
        return DGA_APPRAISAL_CHECK_NONCE;
    case DGA_CHECK_FWID:
        return DGA_APPRAISAL_CHECK_FWID;
    case DGA_CHECK_VALIDITY:
        return DGA_APPRAISAL_CHECK_CERT_VALIDITY;
    case DGA_CHECK_NONE:
        break;
    }
    return DGA_APPRAISAL_CHECK_NONE;
}

const char *dga_rim_role(const struct dga_appraisal *a, const struct dga_rim_use *u)
{
    if (u == &a->driver) {
        return "driver-rim";
    }
    return dga_arch_is_switch(a->report.arch) ? "bios-rim" : "vbios-rim";
}

static void use_fail(struct dga_rim_use *u, dga_err e, const struct dga_diag *diag,
                     const char *field)
{
    if (u->err != DGA_E_OK) {
        return;
    }
    u->err = e;
    if (diag != NULL && diag->err == e) {
        u->diag = *diag;
    } else {
        dga_diag_set(&u->diag, e, 0, field);
    }
}

/*
 * Parse, chain and signature of one document: what its bytes alone decide
 * (`at` sets only v->chain's flags, which every use sets again at its time).
 */
static void verdict_compute(const struct dga_rim_candidate *doc, const struct dga_trust *trust,
                            time_t at, struct dga_verify_cache *cache, struct rim_verdict *v)
{
    struct dga_chain_cache *chains = cache != NULL ? verify_cache_chains(cache) : NULL;
    struct dga_cert_pool *certs = cache != NULL ? verify_cache_certs(cache) : NULL;
    v->parse_err = dga_rim_parse_pooled(doc->bytes, doc->len, certs, &v->rim, &v->parse_diag);
    if (v->parse_err != DGA_E_OK) {
        return;
    }
    v->chain_err =
        dga_rim_chain_verify_cached(v->rim, trust, at, chains, &v->chain, &v->chain_diag);
    X509 *signer = sk_X509_num(v->rim->certs) > 0 ? sk_X509_value(v->rim->certs, 0) : NULL;
    v->sig_err = signer != NULL ? dga_rim_signature_verify(v->rim, signer, &v->sig_diag)
                                : DGA_E_RIM_STRUCTURE;
}

/*
 * The verdict at this appraisal's time and this device's version check, into
 * u (which does not take the rim). A cached verdict may have been computed at
 * another time: the chain's validity is read from its window, at `at`.
 */
static void use_verdict(const struct rim_verdict *v, const char *want_version, time_t at,
                        struct dga_rim_use *u)
{
    if (v->parse_err != DGA_E_OK) {
        use_fail(u, v->parse_err, &v->parse_diag, "RIM document");
        return;
    }
    memcpy(u->sha256, v->rim->sha256, sizeof u->sha256);
    u->chain = v->chain;
    u->chain_verified = v->chain_err == DGA_E_OK;
    if (u->chain_verified) {
        dga_chain_info_at(&u->chain, at);
    } else {
        use_fail(u, v->chain_err, &v->chain_diag, "signer chain");
    }
    u->time_valid = u->chain_verified && !u->chain.expired && !u->chain.not_yet_valid;
    u->signature_verified = v->sig_err == DGA_E_OK;
    if (!u->signature_verified) {
        use_fail(u, v->sig_err, &v->sig_diag, "XML signature");
    }
    u->version_match = strcmp(v->rim->colloquial_version, want_version) == 0;
    if (!u->version_match) {
        use_fail(u, DGA_E_RIM_VERSION_MISMATCH, NULL, "colloquialVersion");
    }
}

/* The cache key of a document: SHA-256 of its bytes. */
static bool doc_key(const struct dga_rim_candidate *doc, uint8_t key[32])
{
    unsigned int len = 0;
    return EVP_Digest(doc->bytes, doc->len, key, &len, EVP_sha256(), NULL) == 1 && len == 32;
}

/*
 * Parse, chain, signature and version of one document: fills c->use. With a
 * cache, a document seen before (same bytes), at any time and by any thread,
 * is neither parsed nor verified again, and the cache keeps the rim. Two
 * threads meeting new bytes at once compute them once: the second waits for
 * the first's verdict (verify_cache_find).
 */
static void check_candidate(const struct dga_rim_candidate *doc, const char *want_version,
                            const struct dga_appraise_options *opt, struct candidate *c)
{
    struct rim_verdict local;
    const struct rim_verdict *v = NULL;
    uint8_t key[32];
    memset(&local, 0, sizeof local);
    bool hashed = doc_key(doc, key);
    bool keyed = opt->cache != NULL && hashed;
    bool claimed = false;
    if (keyed) {
        v = verify_cache_find(opt->cache, key, &claimed);
    }
    bool shared = v != NULL;
    if (v == NULL) {
        verdict_compute(doc, opt->rim_trust, opt->verify.at, opt->cache, &local);
        v = keyed ? verify_cache_add(opt->cache, key, &local, claimed) : NULL;
        shared = v != NULL;
        v = shared ? v : &local;
    }
    use_verdict(v, want_version, opt->verify.at, &c->use);
    if (hashed) {
        /* the bytes' digest, also of a document that did not parse: what an auditor looks up */
        memcpy(c->use.sha256, key, sizeof c->use.sha256);
    }
    c->use.rim = v->rim;
    c->use.rim_borrowed = shared;
}

static enum candidate_rank rank_of(const struct dga_report *r, const struct dga_derived *d,
                                   const struct candidate *c)
{
    if (c->use.err != DGA_E_OK) {
        return RANK_UNUSABLE;
    }
    if (!c->use.time_valid) {
        return RANK_EXPIRED;
    }
    /* This document alone against the report: its own mismatches decide between issues. */
    struct dga_measure_result *m = malloc(sizeof *m);
    bool match = m != NULL && dga_measure_compare(r, d, NULL, c->use.rim, m) == DGA_E_OK &&
                 m->n_mismatches == 0;
    free(m);
    return match ? RANK_BEST : RANK_MISMATCH;
}

static void use_release(struct dga_rim_use *u)
{
    if (!u->rim_borrowed) {
        dga_rim_free(u->rim);
    }
    u->rim = NULL;
    u->rim_borrowed = false;
}

/* Tries every issue of the id; keeps the best-ranked one (the first among equals). */
static void choose_rim(const struct dga_report *r, const struct dga_derived *d,
                       const struct dga_rim_candidates *docs, const char *want_version,
                       const struct dga_appraise_options *opt, struct dga_rim_use *out)
{
    struct candidate best = {.rank = RANK_UNUSABLE};
    bool have = false;
    for (size_t i = 0; i < docs->n; i++) {
        struct candidate c = {0};
        check_candidate(&docs->c[i], want_version, opt, &c);
        c.rank = rank_of(r, d, &c);
        if (!have || c.rank > best.rank) {
            use_release(&best.use);
            best = c;
            have = true;
        } else {
            use_release(&c.use);
        }
    }
    struct dga_rim_use keep = *out;
    *out = best.use;
    memcpy(out->id, keep.id, sizeof out->id);
    out->wanted = true;
    out->fetched = true;
    out->n_candidates = docs->n;
}

/*
 * Keeps only the documents whose bytes have the pinned SHA-256 (in store
 * order), freeing the others; returns how many are left.
 */
static size_t keep_pinned(struct dga_rim_candidates *docs, const uint8_t sha256[32])
{
    size_t kept = 0;
    for (size_t i = 0; i < docs->n; i++) {
        uint8_t key[32];
        struct dga_rim_candidate *c = &docs->c[i];
        if (doc_key(c, key) && dga_mem_equal(key, sha256, 32)) {
            docs->c[kept++] = *c;
            continue;
        }
        free(c->path);
        free(c->bytes);
    }
    memset(&docs->c[kept], 0, (docs->n - kept) * sizeof docs->c[0]);
    docs->n = kept;
    return kept;
}

/*
 * The store's issues of id, or with pins only the pinned one: a role not
 * pinned, pinned to another id, or whose pinned document the store lacks is
 * DGA_E_RIM_PINNED_ABSENT, never a fall-back to another issue.
 */
static dga_err read_candidates(const struct dga_appraise_options *opt, const char *id,
                               const struct dga_rim_pin *pin, struct dga_rim_candidates *docs,
                               struct dga_diag *diag)
{
    bool pinned = opt->rim_pins != NULL;
    if (pinned && (pin == NULL || !pin->set || strcmp(pin->id, id) != 0)) {
        return dga_diag_set(diag, DGA_E_RIM_PINNED_ABSENT, 0, "RIM pin");
    }
    dga_err e = dga_rim_store_read(opt->rim_dir, id, docs, diag);
    if (pinned &&
        (e == DGA_E_RIM_NOT_FOUND || (e == DGA_E_OK && keep_pinned(docs, pin->sha256) == 0))) {
        return dga_diag_set(diag, DGA_E_RIM_PINNED_ABSENT, 0, "RIM pin");
    }
    return e;
}

static void fetch_rim(const struct dga_report *r, const struct dga_derived *d, const char *id,
                      const char *want_version, const struct dga_appraise_options *opt,
                      const struct dga_rim_pin *pin, struct dga_rim_use *u)
{
    memset(u, 0, sizeof *u);
    dga_ocsp_chain_aggregate(&u->ocsp); /* "not-checked" until it runs */
    u->wanted = true;
    snprintf(u->id, sizeof u->id, "%s", id);
    struct dga_rim_candidates *docs = calloc(1, sizeof *docs);
    struct dga_diag diag = {0};
    dga_err e = docs != NULL ? read_candidates(opt, id, pin, docs, &diag) : DGA_E_NOMEM;
    if (e != DGA_E_OK) {
        dga_rim_candidates_clear(docs);
        use_fail(u, e, &diag, "RIM store");
    } else {
        choose_rim(r, d, docs, want_version, opt, u);
        dga_rim_candidates_clear(docs);
    }
    free(docs);
}

static void fail_device(struct dga_appraisal *a, dga_err e, enum dga_appraisal_check check)
{
    if (a->err == DGA_E_OK) {
        a->err = e;
        a->failed_check = check;
    }
}

/* ------------------------------------------------------------ revocation */

static bool ocsp_enabled(const struct dga_appraise_options *opt)
{
    return opt->ocsp != NULL && opt->ocsp->mode != DGA_OCSP_MODE_OFF;
}

/*
 * The device identity chain, verified already: certificates 3, 2, 1 under
 * the pinned root. Returns the failure for appraise_finish to apply.
 */
static dga_err ocsp_device(const struct dga_device_evidence *ev,
                           const struct dga_appraise_options *opt, struct dga_appraisal *a)
{
    if (!ocsp_enabled(opt) || !a->report.chain_verified) {
        return DGA_E_OK;
    }
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
    dga_err e = dga_pem_chain_parse(ev->chain_pem, ev->chain_pem_len, &chain, NULL);
    if (e == DGA_E_OK) {
        e = dga_ocsp_check_chain(opt->ocsp, chain, DGA_OCSP_CHAIN_DEVICE, opt->verify.trust->root,
                                 opt->verify.at, &a->ocsp);
    }
    return e;
}

/* A verified RIM chain's revocation into u->ocsp; returns the failure for appraise_finish. */
static dga_err ocsp_rim(const struct dga_appraise_options *opt, struct dga_rim_use *u)
{
    if (!ocsp_enabled(opt) || !u->chain_verified || u->rim == NULL) {
        return DGA_E_OK;
    }
    return dga_ocsp_check_rim(opt->ocsp, u->rim, opt->rim_trust->root, opt->verify.at, &u->ocsp);
}

const struct dga_ocsp_chain_result *dga_appraisal_ocsp_failure(const struct dga_appraisal *a)
{
    if (a->err == DGA_E_OK) {
        return NULL;
    }
    switch (a->failed_check) {
    case DGA_APPRAISAL_CHECK_OCSP_DEVICE_CHAIN:
        return &a->ocsp;
    case DGA_APPRAISAL_CHECK_OCSP_DRIVER_RIM_CHAIN:
        return &a->driver.ocsp;
    case DGA_APPRAISAL_CHECK_OCSP_VBIOS_RIM_CHAIN:
    case DGA_APPRAISAL_CHECK_OCSP_BIOS_RIM_CHAIN:
        return &a->firmware.ocsp;
    default:
        return NULL;
    }
}

const struct dga_rim_use *dga_appraisal_failed_rim(const struct dga_appraisal *a)
{
    if (a->err == DGA_E_OK) {
        return NULL;
    }
    switch (a->failed_check) {
    case DGA_APPRAISAL_CHECK_DRIVER_RIM:
    case DGA_APPRAISAL_CHECK_OCSP_DRIVER_RIM_CHAIN:
        return &a->driver;
    case DGA_APPRAISAL_CHECK_VBIOS_RIM:
    case DGA_APPRAISAL_CHECK_BIOS_RIM:
    case DGA_APPRAISAL_CHECK_OCSP_VBIOS_RIM_CHAIN:
    case DGA_APPRAISAL_CHECK_OCSP_BIOS_RIM_CHAIN:
        return &a->firmware;
    default:
        return NULL;
    }
}

void dga_appraisal_failure_text(const struct dga_appraisal *a, char *out, size_t size)
{
    if (a->err == DGA_E_OK) {
        snprintf(out, size, "%s", "");
        return;
    }
    const struct dga_rim_use *u = dga_appraisal_failed_rim(a);
    const struct dga_ocsp_chain_result *o = dga_appraisal_ocsp_failure(a);
    bool cert = o != NULL && o->failed >= 0;
    /* A runtime library that could not be loaded (libcurl for online OCSP) says which. */
    const char *why =
        cert ? dga_ocsp_failure_text(&o->certs[o->failed], a->err) : dga_err_message(a->err);
    if (cert) {
        snprintf(out, size, "%s: %s: %s: certificate %d \"%s\"",
                 dga_appraisal_check_name(a->failed_check), dga_err_name(a->err), why,
                 o->certs[o->failed].index, o->certs[o->failed].subject);
    } else {
        snprintf(out, size, "%s: %s: %s%s%s", dga_appraisal_check_name(a->failed_check),
                 dga_err_name(a->err), why, u != NULL ? ": " : "", u != NULL ? u->id : "");
    }
}

static void appraise_driver_rim(struct dga_appraisal *a, struct appraise_parts *parts)
{
    const struct dga_appraise_options *opt = &parts->opt;
    const struct dga_derived *d = &a->report.derived;
    if (dga_arch_is_switch(a->report.report.arch)) {
        return; /* an NVSwitch has no driver RIM */
    }
    fetch_rim(&a->report.report, d, d->driver_rim_id, d->driver_version, opt,
              opt->rim_pins != NULL ? &opt->rim_pins->driver : NULL, &a->driver);
    parts->ocsp_driver = ocsp_rim(opt, &a->driver);
}

static void appraise_firmware_rim(struct dga_appraisal *a, struct appraise_parts *parts)
{
    const struct dga_appraise_options *opt = &parts->opt;
    const struct dga_derived *d = &a->report.derived;
    fetch_rim(&a->report.report, d, d->vbios_rim_id, d->vbios_version, opt,
              opt->rim_pins != NULL ? &opt->rim_pins->firmware : NULL, &a->firmware);
    parts->ocsp_firmware = ocsp_rim(opt, &a->firmware);
}

/* The RIM failures in the serial order: driver, its OCSP, firmware, its OCSP. */
static void rim_failures(struct dga_appraisal *a, const struct appraise_parts *parts)
{
    bool is_switch = dga_arch_is_switch(a->report.report.arch);
    if (!is_switch) {
        if (a->driver.err != DGA_E_OK) {
            fail_device(a, a->driver.err, DGA_APPRAISAL_CHECK_DRIVER_RIM);
        }
        if (parts->ocsp_driver != DGA_E_OK) {
            fail_device(a, parts->ocsp_driver, DGA_APPRAISAL_CHECK_OCSP_DRIVER_RIM_CHAIN);
        }
    }
    if (a->firmware.err != DGA_E_OK) {
        fail_device(a, a->firmware.err,
                    is_switch ? DGA_APPRAISAL_CHECK_BIOS_RIM : DGA_APPRAISAL_CHECK_VBIOS_RIM);
    }
    if (parts->ocsp_firmware != DGA_E_OK) {
        fail_device(a, parts->ocsp_firmware,
                    is_switch ? DGA_APPRAISAL_CHECK_OCSP_BIOS_RIM_CHAIN
                              : DGA_APPRAISAL_CHECK_OCSP_VBIOS_RIM_CHAIN);
    }
}

static void appraise_measurements(struct dga_appraisal *a)
{
    const struct dga_rim *driver = a->driver.wanted ? a->driver.rim : NULL;
    a->measure_err = dga_measure_compare(&a->report.report, &a->report.derived, driver,
                                         a->firmware.rim, &a->measure);
    a->measured = a->measure_err == DGA_E_OK;
    if (!a->measured) {
        fail_device(a, a->measure_err, DGA_APPRAISAL_CHECK_MEASUREMENTS);
    }
}

void appraise_begin(const struct dga_device_evidence *ev, const struct dga_appraise_options *opt,
                    struct dga_appraisal *a, struct appraise_parts *parts)
{
    memset(a, 0, sizeof *a);
    memset(parts, 0, sizeof *parts);
    dga_ocsp_chain_aggregate(&a->ocsp); /* "not-checked" until it runs */
    dga_ocsp_chain_aggregate(&a->driver.ocsp);
    dga_ocsp_chain_aggregate(&a->firmware.ocsp);
    if ((opt->cache != NULL && !verify_cache_matches(opt->cache, opt)) ||
        (opt->rim_pins != NULL && opt->n_rim_pins < 1)) {
        fail_device(a, DGA_E_BAD_ARGUMENT, DGA_APPRAISAL_CHECK_OPTIONS);
        return; /* the cache was made for another RIM root; no pin for it */
    }
    parts->opt = *opt;
    struct dga_verify_options *verify = &parts->opt.verify;
    if (opt->cache != NULL && verify->chain_cache == NULL) {
        verify->chain_cache = verify_cache_chains(opt->cache);
    }
    if (opt->cache != NULL && verify->cert_pool == NULL) {
        verify->cert_pool = verify_cache_certs(opt->cache);
    }
    parts->ready = true;
    verify_device_parse(ev, verify, &a->report);
}

void appraise_part(const struct dga_device_evidence *ev, struct dga_appraisal *a,
                   struct appraise_parts *parts, enum appraise_part part)
{
    if (!parts->ready) {
        return;
    }
    switch (part) {
    case APPRAISE_PART_REPORT:
        verify_device_checks(ev, &parts->opt.verify, &a->report);
        parts->ocsp_device = ocsp_device(ev, &parts->opt, a);
        break;
    case APPRAISE_PART_DRIVER_RIM:
        if (a->report.parsed) { /* no versions, no RIM ids: nothing to appraise */
            appraise_driver_rim(a, parts);
        }
        break;
    case APPRAISE_PART_FIRMWARE_RIM:
        if (a->report.parsed) {
            appraise_firmware_rim(a, parts);
        }
        break;
    case APPRAISE_PARTS:
        break;
    }
}

dga_err appraise_finish(struct dga_appraisal *a, const struct appraise_parts *parts)
{
    if (!parts->ready) {
        return a->err;
    }
    if (a->report.err != DGA_E_OK) {
        fail_device(a, a->report.err, report_check(a->report.failed_check));
    }
    if (parts->ocsp_device != DGA_E_OK) {
        fail_device(a, parts->ocsp_device, DGA_APPRAISAL_CHECK_OCSP_DEVICE_CHAIN);
    }
    if (!a->report.parsed) {
        return a->err;
    }
    rim_failures(a, parts);
    if (a->firmware.err == DGA_E_OK && (!a->driver.wanted || a->driver.err == DGA_E_OK)) {
        appraise_measurements(a);
    }
    return a->err;
}

dga_err dga_appraise_device(const struct dga_device_evidence *ev,
                            const struct dga_appraise_options *opt, struct dga_appraisal *ret)
{
    struct appraise_parts parts;
    appraise_begin(ev, opt, ret, &parts);
    for (int part = 0; part < APPRAISE_PARTS; part++) {
        appraise_part(ev, ret, &parts, (enum appraise_part)part);
    }
    return appraise_finish(ret, &parts);
}

void dga_appraisal_clear(struct dga_appraisal *a)
{
    if (a == NULL) {
        return;
    }
    use_release(&a->driver);
    use_release(&a->firmware);
    dga_ocsp_chain_result_clear(&a->ocsp);
    dga_ocsp_chain_result_clear(&a->driver.ocsp);
    dga_ocsp_chain_result_clear(&a->firmware.ocsp);
    memset(a, 0, sizeof *a);
}
