/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Appraisal of a whole evidence set, shared by `attest` and the gate: every
 * device appraised, labels per type in evidence order, claims v3, the
 * verdict with hard failures first, then every reason the policy gives, and
 * nvattest's result code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dga/gate.h"

#define RC_RP_POLICY_MISMATCH 11
#define RC_OVERALL_RESULT_FALSE 12

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

static void add_reason(struct dga_verdict *v, const char *text)
{
    if (v->n_reasons < DGA_VERDICT_MAX_REASONS) {
        snprintf(v->reasons[v->n_reasons++], DGA_VERDICT_REASON_LEN, "%s", text);
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
                     dga_appraisal_check_name(d->failed_check), c->index, c->subject, dga_ocsp_failure_text(c, d->err),
                     dga_err_name(d->err));
            add_reason(&a->verdict, text);
            continue;
        }
        const struct dga_rim_use *u = dga_appraisal_failed_rim(d);
        snprintf(text, sizeof text, "%s: %s: %s%s%s", d->report.label,
                 dga_appraisal_check_name(d->failed_check),
                 dga_err_message(d->err), u != NULL ? ": " : "", u != NULL ? u->id : "");
        add_reason(&a->verdict, text);
    }
}

static dga_err decide(const struct dga_policy *policy, struct dga_set_appraisal *a)
{
    struct dga_verdict *policy_verdict = calloc(1, sizeof *policy_verdict);
    struct dga_verdict *nvidia_verdict = calloc(1, sizeof *nvidia_verdict);
    struct dga_policy *nvidia = NULL;
    dga_err e = DGA_E_NOMEM;
    if (policy_verdict != NULL && nvidia_verdict != NULL &&
        (e = dga_policy_evaluate(policy, a->claims, policy_verdict)) == DGA_E_OK &&
        (e = dga_policy_default(&nvidia)) == DGA_E_OK &&
        (e = dga_policy_evaluate(nvidia, a->claims, nvidia_verdict)) == DGA_E_OK) {
        a->nvidia_default_pass = nvidia_verdict->pass;
        hard_failure_reasons(a);
        for (size_t i = 0; i < policy_verdict->n_reasons; i++) {
            add_reason(&a->verdict, policy_verdict->reasons[i]);
        }
        a->verdict.pass = a->verdict.n_reasons == 0 && policy_verdict->pass;
    }
    free(policy_verdict);
    free(nvidia_verdict);
    dga_policy_free(nvidia);
    return e;
}

/* nvattest's numbering: the first hard failure, else 11/12 when the policy says no. */
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
    if (!a->verdict.pass) {
        bool rp = strcmp(dga_policy_source(policy), "file") == 0;
        a->result_code = rp ? RC_RP_POLICY_MISMATCH : RC_OVERALL_RESULT_FALSE;
        a->result_message = rp ? "Relying party policy mismatch" : "Overall result false";
    }
}

dga_err dga_appraise_set(const struct dga_evidence_set *set,
                              const struct dga_appraise_options *opt,
                              const struct dga_policy *policy, struct dga_set_appraisal *ret)
{
    struct dga_set_appraisal *a = ret;
    memset(a, 0, sizeof *a);
    if (set->n > 0 && (a->dev = calloc(set->n, sizeof *a->dev)) == NULL) {
        return DGA_E_NOMEM;
    }
    a->n = set->n;
    for (size_t i = 0; i < a->n; i++) {
        dga_appraise_device(&set->dev[i], opt, &a->dev[i]);
    }
    label_devices(a);
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
    dga_err e = decide(policy, a);
    if (e == DGA_E_OK) {
        result_code(policy, a);
    }
    return e;
}

void dga_set_appraisal_free(struct dga_set_appraisal *a)
{
    for (size_t i = 0; i < a->n; i++) {
        dga_appraisal_free(&a->dev[i]);
    }
    free(a->dev);
    a->dev = NULL;
    json_decref(a->claims);
    json_decref(a->detached_eat);
    a->claims = a->detached_eat = NULL;
    a->n = 0;
}

dga_err dga_set_appraisal_eat(struct dga_set_appraisal *ap, const struct dga_policy *policy,
                              const uint8_t nonce[DGA_NONCE_LEN],
                              const struct dga_eat_options *o)
{
    if (o->key == NULL && !o->allow_unsigned) {
        ap->detached_eat = json_object();
        return ap->detached_eat != NULL ? DGA_E_OK : DGA_E_NOMEM;
    }
    uint8_t policy_sha256[32];
    dga_policy_sha256(policy, policy_sha256);
    struct dga_eat_options t = {.key = o->key, .allow_unsigned = o->allow_unsigned,
                                .kid = o->kid, .issuer = o->issuer, .iat = o->iat,
                                .overall_result = ap->nvidia_default_pass,
                                .verdict = ap->verdict.pass ? "pass" : "fail",
                                .policy_sha256 = policy_sha256};
    memcpy(t.nonce, nonce, DGA_NONCE_LEN);
    return dga_eat_build(ap->claims, &t, &ap->detached_eat);
}
