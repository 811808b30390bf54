/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verification of one request: dga_cvm_run's pipeline with the quote's
 * collateral parsed once per distinct document (cache.c). It follows
 * lib/cvm/run.c step for step (the unit test compares both documents on the
 * same inputs); a quote that does not parse, and the PCCS source, go through
 * dga_cvm_run itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dga/cleanup.h"
#include "dga/collateral.h"
#include "verifier/internal.h"

static void quote_failed(struct dga_cvm_quote_outcome *q, dga_err e, const struct dga_diag *d)
{
    q->verified = false;
    q->err = e;
    snprintf(q->field, sizeof q->field, "%s", d->field != NULL ? d->field : "");
}

/* The collateral document's text for the quote: the file's, or the directory's entry. */
static dga_err collateral_text(struct dga_verifier *v, const struct dga_tdx_collateral_key *k,
                               struct dga_cvm_run *r, char **ret_owned, const char **ret,
                               size_t *ret_len, struct dga_diag *diag)
{
    if (v->cfg.collateral_dir[0] == '\0') {
        *ret = v->collateral;
        *ret_len = v->collateral_len;
        return DGA_E_OK;
    }
    const char *dir = v->cfg.collateral_dir;
    dga_err e = dga_tdx_collateral_path(dir, k, r->collateral_path, sizeof r->collateral_path);
    if (e == DGA_E_OK) {
        e = dga_tdx_collateral_read(dir, k, ret_owned, ret_len);
    }
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "collateral_dir");
    }
    *ret = *ret_owned;
    return DGA_E_OK;
}

/* As lib/cvm/run.c's verify_quote: the source's failure is returned, the quote's recorded. */
static dga_err verify_quote(struct dga_verifier *v, const struct dga_quote *q, time_t at,
                            struct dga_cvm_run *r, struct dga_diag *diag)
{
    struct dga_diag qd = {0};
    struct dga_tdx_collateral_key k = {0};
    if (v->cfg.collateral_dir[0] != '\0') {
        dga_err e = dga_tdx_collateral_key(q, &k, &qd);
        if (e != DGA_E_OK) {
            quote_failed(&r->quote, e, &qd);
            return e == DGA_E_NOMEM ? e : DGA_E_OK;
        }
    }
    _cleanup_(freep) char *owned = NULL;
    const char *text = NULL;
    size_t len = 0;
    dga_err e = collateral_text(v, &k, r, &owned, &text, &len, diag);
    const struct dga_quote_collateral *c = NULL;
    struct coll_entry *entry = NULL;
    if (e == DGA_E_OK) {
        e = coll_cache_get(v->cache, text, len, &c, &entry, diag);
    }
    if (e != DGA_E_OK) {
        return e;
    }
    struct dga_quote_verify_opts vo = {
        .at = at, .root = v->has_root ? &v->root : NULL, .allow_debug = true};
    e = dga_quote_verify(q, c, &vo, &r->quote.verdict, &qd);
    coll_entry_put(entry);
    if (e != DGA_E_OK) {
        quote_failed(&r->quote, e, &qd);
        return e == DGA_E_NOMEM ? e : DGA_E_OK;
    }
    r->quote.verified = true;
    return DGA_E_OK;
}

static dga_err run_checks(const struct dga_cvm_run_params *p, struct dga_cvm_run *r)
{
    char why[DGA_CVM_DETAIL_LEN];
    const struct dga_cvm_quote_outcome *q = &r->quote;
    snprintf(why, sizeof why, "%s: %s%s%s%s", dga_err_name(q->err), dga_err_message(q->err),
             q->field[0] != '\0' ? " (" : "", q->field, q->field[0] != '\0' ? ")" : "");
    struct dga_cvm_quote_facts f = {
        .td = &r->quote.td,
        .verified = r->quote.verified,
        .why = r->quote.verified ? NULL : why,
    };
    if (r->quote.verified) {
        f.tcb = r->quote.verdict.status;
    }
    return dga_cvm_verify(&f, p->in, p->bundle, p->bundle_len, p->x, p->opt, &r->result);
}

/* The run's header, as dga_cvm_run writes it before the quote. */
static dga_err start_run(const struct dga_cvm_run_params *p, struct dga_cvm_run *r)
{
    dga_cvm_run_clear(r);
    r->at = p->opt->at;
    r->custom_root = p->root != NULL;
    r->gpu_required = p->x->gpu.required;
    memcpy(r->expectations_sha256, p->x->sha256, 32);
    if (p->bundle != NULL) {
        if (EVP_Digest(p->bundle, p->bundle_len, r->bundle_sha256, NULL, EVP_sha256(), NULL) != 1) {
            return DGA_E_NOMEM;
        }
        r->has_bundle = true;
    }
    return DGA_E_OK;
}

dga_err verifier_run(struct dga_verifier *v, const struct dga_cvm_input *in, time_t at,
                     struct dga_cvm_run *ret, struct dga_diag *diag)
{
    struct dga_cvm_options opt = {.at = at};
    if (v->reappraiser != NULL) {
        opt.reappraise = dga_cvm_reappraise;
        opt.reappraise_ctx = v->reappraiser;
    }
    struct dga_cvm_run_params p = {
        .in = in,
        .bundle = in->gpu_bundle,
        .bundle_len = in->gpu_bundle_len,
        .x = &v->x,
        .collateral = {.kind = DGA_CVM_COLLATERAL_PCCS, .pccs_url = v->cfg.pccs_url},
        .root = v->has_root ? &v->root : NULL,
        .opt = &opt,
    };
    struct dga_quote q;
    struct dga_diag qd = {0};
    if (in->quote == NULL || v->cfg.pccs_url[0] != '\0' ||
        dga_quote_parse(in->quote, in->quote_len, &q, &qd) != DGA_E_OK) {
        return dga_cvm_run(&p, ret, diag); /* no collateral is read for a quote that fails */
    }
    dga_err e = start_run(&p, ret);
    if (e != DGA_E_OK) {
        return e;
    }
    ret->quote.parsed = true;
    ret->quote.td = q.td;
    e = verify_quote(v, &q, at, ret, diag);
    if (e == DGA_E_OK) {
        e = run_checks(&p, ret);
    }
    if (e != DGA_E_OK) {
        dga_cvm_result_clear(&ret->result); /* no verdict; collateral_path still names the entry */
    }
    return e;
}
