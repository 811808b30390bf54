/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Appraisal of a whole evidence set, shared by `attest` and the gate: every
 * device appraised, labels per type in evidence order, claims v3, devices
 * counted twice, the verdict in the gate's order (each device's own failures,
 * then devices counted twice, then the set's mode and topology refusals, then
 * every reason the policy gives), and nvattest's result code.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "appraise/appraise_parts.h"
#include "dga/appraise_set.h"
#include "dga/x509.h"
#include "set_mode.h"

#define RC_RP_POLICY_MISMATCH 11
#define RC_OVERALL_RESULT_FALSE 12
#define RC_EVIDENCE_INVALID 503 /* libnvat's code for evidence it refuses; it has none for this */

static void label_devices(struct dga_set_appraisal *a)
{
    /* dga_label_devices numbers per type over dga_device_result; the appraisals hold one each. */
    struct dga_device_result *labels = calloc(a->n > 0 ? a->n : 1, sizeof *labels);
    if (labels == NULL) {
        return; /* labels stay empty; the verdict still fails on every device below */
    }
    for (size_t i = 0; i < a->n; i++) {
        labels[i].arch = a->dev[i].report.arch;
    }
    dga_label_devices(labels, a->n);
    for (size_t i = 0; i < a->n; i++) {
        memcpy(a->dev[i].report.label, labels[i].label, sizeof labels[i].label);
    }
    free(labels);
}

/* One reason with what it is about (device -1: the set; text_at 0: no subject). */
static void add_reason(struct dga_verdict *v, const char *text, struct dga_verdict_about about)
{
    if (v->n_reasons < DGA_VERDICT_MAX_REASONS) {
        v->about[v->n_reasons] = about;
        snprintf(v->reasons[v->n_reasons++], DGA_VERDICT_REASON_LEN, "%s", text);
    }
}

/* What a reason starting "<label>: " says about device i. */
static struct dga_verdict_about about_device(const struct dga_set_appraisal *a, size_t i)
{
    return (struct dga_verdict_about){.device = (long)i,
                                      .text_at = strlen(a->dev[i].report.label) + 2};
}

/* ---- one physical device counted as many ---- */

/* Each device's leaf certificate DER; NULL where the chain has no decodable first block. */
struct leaves {
    unsigned char *der[DGA_MAX_DEVICES];
    size_t len[DGA_MAX_DEVICES];
};

static void leaves_free(struct leaves *l)
{
    for (size_t i = 0; i < DGA_MAX_DEVICES; i++) {
        OPENSSL_free(l->der[i]);
    }
}

static dga_err leaves_read(const struct dga_evidence_set *set, struct leaves *ret)
{
    for (size_t i = 0; i < set->n; i++) {
        const struct dga_device_evidence *ev = &set->dev[i];
        dga_err e = dga_pem_leaf_der(ev->chain_pem, ev->chain_pem_len, &ret->der[i], &ret->len[i]);
        if (e == DGA_E_NOMEM) {
            return e;
        }
        /* Any other error: the device's own chain check fails it; nothing to compare. */
    }
    return DGA_E_OK;
}

static bool same_bytes(const unsigned char *x, size_t x_len, const unsigned char *y, size_t y_len)
{
    return x != NULL && y != NULL && x_len > 0 && x_len == y_len && memcmp(x, y, x_len) == 0;
}

/*
 * Whether devices i and j are one device: the same signed report, the same
 * leaf certificate (one device key), or the same ueid, the leaf's serial
 * number, which names one physical device of an architecture whatever its
 * leaf (a leaf can be re-issued; the ueid of a verified chain cannot be made up).
 */
static enum dga_duplicate_kind duplicate_kind(const struct dga_evidence_set *set,
                                              const struct dga_set_appraisal *a,
                                              const struct leaves *l, size_t i, size_t j)
{
    const struct dga_device_evidence *x = &set->dev[i], *y = &set->dev[j];
    if (same_bytes(x->report, x->report_len, y->report, y->report_len)) {
        return DGA_DUPLICATE_REPORT;
    }
    if (same_bytes(l->der[i], l->len[i], l->der[j], l->len[j])) {
        return DGA_DUPLICATE_LEAF;
    }
    const struct dga_device_result *rx = &a->dev[i].report, *ry = &a->dev[j].report;
    if (rx->chain_verified && ry->chain_verified && rx->arch == ry->arch &&
        strcmp(rx->chain.ueid, ry->chain.ueid) == 0) {
        return DGA_DUPLICATE_UEID;
    }
    return DGA_DUPLICATE_NONE;
}

/* Marks every device that repeats an earlier one, with the earliest it repeats. */
static dga_err find_duplicates(const struct dga_evidence_set *set, struct dga_set_appraisal *a)
{
    struct leaves *l = calloc(1, sizeof *l);
    dga_err e = l != NULL ? leaves_read(set, l) : DGA_E_NOMEM;
    for (size_t i = 1; e == DGA_E_OK && i < a->n; i++) {
        for (size_t j = 0; j < i; j++) {
            enum dga_duplicate_kind k = duplicate_kind(set, a, l, i, j);
            if (k != DGA_DUPLICATE_NONE) {
                a->dup[i] = (struct dga_duplicate){.kind = k, .of = j};
                a->n_duplicates++;
                break;
            }
        }
    }
    if (l != NULL) {
        leaves_free(l);
    }
    free(l);
    return e;
}

void dga_duplicate_text(const struct dga_set_appraisal *a, size_t i, char *out, size_t size)
{
    enum dga_duplicate_kind k = i < a->n ? a->dup[i].kind : DGA_DUPLICATE_NONE;
    switch (k) {
    case DGA_DUPLICATE_REPORT:
        snprintf(out, size, "same report");
        break;
    case DGA_DUPLICATE_LEAF:
        snprintf(out, size, "same leaf certificate");
        break;
    case DGA_DUPLICATE_UEID:
        snprintf(out, size, "same ueid %s", a->dev[i].report.chain.ueid);
        break;
    default:
        snprintf(out, size, "%s", "");
        break;
    }
}

/* "<label>: duplicate-device: same leaf certificate as <label>", after the hard failures. */
static void duplicate_reasons(struct dga_set_appraisal *a)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->dup[i].kind == DGA_DUPLICATE_NONE) {
            continue;
        }
        char what[96], text[DGA_VERDICT_REASON_LEN];
        dga_duplicate_text(a, i, what, sizeof what);
        snprintf(text, sizeof text, "%s: %s: %s as %s", a->dev[i].report.label,
                 dga_err_name(DGA_E_DUPLICATE_DEVICE), what, a->dev[a->dup[i].of].report.label);
        add_reason(&a->verdict, text, about_device(a, i));
    }
}

/*
 * "<label>: <check>: <message>[: <RIM id>]", or for a certificate without a
 * usable OCSP response "<label>: <check>: certificate <i> "<subject>": ...".
 */
static void hard_failure_reasons(struct dga_set_appraisal *a)
{
    for (size_t i = 0; i < a->n; i++) {
        const struct dga_appraisal *d = &a->dev[i];
        if (d->err == DGA_E_OK) {
            continue;
        }
        char text[DGA_VERDICT_REASON_LEN];
        const struct dga_ocsp_chain_result *o = dga_appraisal_ocsp_failure(d);
        if (o != NULL && o->failed >= 0) {
            const struct dga_ocsp_cert_result *c = &o->certs[o->failed];
            snprintf(text, sizeof text, "%s: %s: certificate %d \"%s\": %s [%s]", d->report.label,
                     dga_appraisal_check_name(d->failed_check), c->index, c->subject,
                     dga_ocsp_failure_text(c, d->err), dga_err_name(d->err));
            add_reason(&a->verdict, text, about_device(a, i));
            continue;
        }
        const struct dga_rim_use *u = dga_appraisal_failed_rim(d);
        snprintf(text, sizeof text, "%s: %s: %s%s%s", d->report.label,
                 dga_appraisal_check_name(d->failed_check), dga_err_message(d->err),
                 u != NULL ? ": " : "", u != NULL ? u->id : "");
        add_reason(&a->verdict, text, about_device(a, i));
    }
}

/*
 * The mode rule's refusals, after the devices' own failures and the duplicates: hard
 * failures of the set, but a device counted twice is more basic (a topology over it
 * cannot hold), so it comes first, as the gate reports it.
 */
static void mode_reasons(struct dga_set_appraisal *a, const struct set_mode_refusals *r)
{
    for (size_t k = 0; k < r->n; k++) {
        add_reason(&a->verdict, r->text[k], r->about[k]);
    }
}

static dga_err decide(const struct dga_policy *policy, const struct set_mode_refusals *refusals,
                      struct dga_set_appraisal *a)
{
    struct dga_verdict *policy_verdict = calloc(1, sizeof *policy_verdict);
    struct dga_verdict *nvidia_verdict = calloc(1, sizeof *nvidia_verdict);
    struct dga_policy *nvidia = NULL;
    dga_err e = DGA_E_NOMEM;
    if (policy_verdict != NULL && nvidia_verdict != NULL &&
        (e = dga_policy_evaluate(policy, a->claims, policy_verdict)) == DGA_E_OK &&
        (e = dga_policy_default(&nvidia)) == DGA_E_OK &&
        (e = dga_policy_evaluate(nvidia, a->claims, nvidia_verdict)) == DGA_E_OK) {
        /* One device counted as many, or a set in the wrong mode, is no result NVIDIA's policy
         * could pass either. */
        a->nvidia_default_pass =
            nvidia_verdict->pass && a->n_duplicates == 0 && a->mode_err == DGA_E_OK;
        hard_failure_reasons(a);
        duplicate_reasons(a);
        mode_reasons(a, refusals);
        for (size_t i = 0; i < policy_verdict->n_reasons; i++) {
            add_reason(&a->verdict, policy_verdict->reasons[i], policy_verdict->about[i]);
        }
        a->verdict.pass = a->verdict.n_reasons == 0 && a->n_duplicates == 0 &&
                          a->mode_err == DGA_E_OK && policy_verdict->pass;
    }
    free(policy_verdict);
    free(nvidia_verdict);
    dga_policy_free(nvidia);
    return e;
}

/*
 * nvattest's numbering: the first hard failure, else 503 for a device counted
 * twice or a set refused by its mode rule, in the verdict's order (libnvat
 * refuses such evidence and has no code of its own for either), else 11/12
 * when the policy says no.
 */
static void result_code(const struct dga_policy *policy, struct dga_set_appraisal *a)
{
    a->result_code = 0;
    a->result_message = "Ok";
    for (size_t i = 0; i < a->n; i++) {
        if (a->dev[i].err != DGA_E_OK) {
            a->result_code = dga_appraisal_result_code(&a->dev[i], &a->result_message);
            return;
        }
    }
    if (a->n_duplicates > 0) {
        a->result_code = RC_EVIDENCE_INVALID;
        a->result_message = dga_err_message(DGA_E_DUPLICATE_DEVICE);
        return;
    }
    if (a->mode_err != DGA_E_OK) {
        a->result_code = RC_EVIDENCE_INVALID;
        a->result_message = dga_err_message(a->mode_err);
        return;
    }
    if (!a->verdict.pass) {
        bool rp = dga_policy_origin(policy) == DGA_POLICY_FILE;
        a->result_code = rp ? RC_RP_POLICY_MISMATCH : RC_OVERALL_RESULT_FALSE;
        a->result_message = rp ? "Relying party policy mismatch" : "Overall result false";
    }
}

/* ---- the devices, on a small pool of threads ---- */

unsigned dga_appraise_jobs(unsigned jobs, size_t n)
{
    unsigned long want = jobs;
    if (want == DGA_APPRAISE_JOBS_AUTO) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        want = cpus > 0 ? (unsigned long)cpus : 1;
    }
    if (want > DGA_APPRAISE_MAX_JOBS) {
        want = DGA_APPRAISE_MAX_JOBS;
    }
    if (want > n) {
        want = n;
    }
    return want > 0 ? (unsigned)want : 1;
}

/*
 * The work of one set: each device parsed first (cheap), then its three
 * parts (appraise_parts.h) are the work items, taken in order (device 0's
 * report, driver RIM, firmware RIM, then device 1's...) by whichever thread
 * is free; an item writes only its own part of its device's appraisal.
 * What they share (the verification cache, the OCSP memo) is thread-safe and
 * once per key, so the signatures verified do not depend on which thread
 * took what. Then each device's parts are combined serially, in the order
 * dga_appraise_device applies them.
 */
struct pool {
    const struct dga_evidence_set *set;
    struct dga_set_appraisal *a;
    struct appraise_parts *parts; /* per device */
    atomic_size_t next;
};

/* Device i's own options: its RIM pins; none left for it fails it at "options". */
static struct dga_appraise_options device_options(const struct dga_appraise_options *opt, size_t i)
{
    struct dga_appraise_options o = *opt;
    bool pinned = opt->rim_pins != NULL && i < opt->n_rim_pins;
    o.rim_pins = pinned ? &opt->rim_pins[i] : opt->rim_pins;
    o.n_rim_pins = pinned ? 1 : 0;
    return o;
}

static void *pool_work(void *arg)
{
    struct pool *p = arg;
    size_t items = p->a->n * APPRAISE_PARTS;
    for (;;) {
        size_t k = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (k >= items) {
            return NULL;
        }
        size_t i = k / APPRAISE_PARTS;
        appraise_part(&p->set->dev[i], &p->a->dev[i], &p->parts[i],
                      (enum appraise_part)(k % APPRAISE_PARTS));
    }
}

/* jobs 1: each device whole, one after the other, on the caller's thread. */
static void appraise_serially(const struct dga_evidence_set *set,
                              const struct dga_appraise_options *opt, struct dga_set_appraisal *a)
{
    for (size_t i = 0; i < a->n; i++) {
        struct dga_appraise_options o = device_options(opt, i);
        dga_appraise_device(&set->dev[i], &o, &a->dev[i]);
    }
}

/*
 * jobs - 1 threads and the caller's over the parts. A thread that cannot be
 * created just leaves its share to the others: fewer threads, the same
 * result. Without memory for the pool's state, the serial path.
 */
static void appraise_devices(const struct dga_evidence_set *set,
                             const struct dga_appraise_options *opt, struct dga_set_appraisal *a)
{
    unsigned jobs = dga_appraise_jobs(opt->jobs, a->n * APPRAISE_PARTS);
    struct pool p = {.set = set, .a = a};
    if (jobs > 1) {
        p.parts = calloc(a->n, sizeof *p.parts);
    }
    if (p.parts == NULL) {
        appraise_serially(set, opt, a);
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        struct dga_appraise_options o = device_options(opt, i);
        appraise_begin(&set->dev[i], &o, &a->dev[i], &p.parts[i]);
    }
    atomic_init(&p.next, 0);
    pthread_t threads[DGA_APPRAISE_MAX_JOBS];
    unsigned started = 0;
    while (started + 1 < jobs && pthread_create(&threads[started], NULL, pool_work, &p) == 0) {
        started++;
    }
    pool_work(&p);
    for (unsigned k = 0; k < started; k++) {
        pthread_join(threads[k], NULL);
    }
    for (size_t i = 0; i < a->n; i++) {
        appraise_finish(&a->dev[i], &p.parts[i]);
    }
    free(p.parts);
}

dga_err dga_appraise_set(const struct dga_evidence_set *set, const struct dga_appraise_options *opt,
                         const struct dga_policy *policy, struct dga_set_appraisal *ret)
{
    struct dga_set_appraisal *a = ret;
    memset(a, 0, sizeof *a);
    if (set->n > 0 && (a->dev = calloc(set->n, sizeof *a->dev)) == NULL) {
        return DGA_E_NOMEM;
    }
    a->n = set->n;
    appraise_devices(set, opt, a);
    /* From here on serial, in evidence order: the output is the serial run's. */
    label_devices(a);
    dga_err e = find_duplicates(set, a);
    if (e != DGA_E_OK) {
        return e;
    }
    a->claims = json_array();
    for (size_t i = 0; a->claims != NULL && i < a->n; i++) {
        json_t *c = dga_claims_device(&a->dev[i]);
        if (c == NULL || json_array_append_new(a->claims, c) != 0) {
            return DGA_E_NOMEM;
        }
    }
    if (a->claims == NULL) {
        return DGA_E_NOMEM;
    }
    struct set_mode_refusals *refusals = calloc(1, sizeof *refusals);
    e = refusals != NULL ? set_mode_check(set, opt, a, refusals) : DGA_E_NOMEM;
    if (e == DGA_E_OK) {
        e = decide(policy, refusals, a);
    }
    if (e == DGA_E_OK) {
        result_code(policy, a);
    }
    free(refusals);
    return e;
}

void dga_set_appraisal_rp_refused(struct dga_set_appraisal *ap)
{
    ap->verdict.pass = false;
    ap->result_code = RC_RP_POLICY_MISMATCH;
    ap->result_message = "Relying party policy mismatch";
}

void dga_set_appraisal_clear(struct dga_set_appraisal *a)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        dga_appraisal_clear(&a->dev[i]);
    }
    free(a->dev);
    json_decref(a->claims);
    json_decref(a->detached_eat);
    json_decref(a->topology_json);
    memset(a, 0, sizeof *a);
}

dga_err dga_set_appraisal_eat(struct dga_set_appraisal *ap, const struct dga_policy *policy,
                              const uint8_t nonce[DGA_NONCE_LEN], const struct dga_eat_options *o)
{
    if (o->key == NULL && !o->allow_unsigned) {
        ap->detached_eat = json_object();
        return ap->detached_eat != NULL ? DGA_E_OK : DGA_E_NOMEM;
    }
    uint8_t policy_sha256[32];
    dga_policy_sha256(policy, policy_sha256);
    struct dga_eat_options t = {.key = o->key,
                                .allow_unsigned = o->allow_unsigned,
                                .kid = o->kid,
                                .issuer = o->issuer,
                                .iat = o->iat,
                                .overall_result = ap->nvidia_default_pass,
                                .verdict = ap->verdict.pass ? "pass" : "fail",
                                .policy_sha256 = policy_sha256};
    memcpy(t.nonce, nonce, DGA_NONCE_LEN);
    return dga_eat_build(ap->claims, &t, &ap->detached_eat);
}
