/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The whole verification of a dstack CVM, shared by the verify command and
 * the verifier server (docs/verify.md, Programs): the quote through the
 * quote layer with its collateral, then every check of dga_cvm_verify. A
 * quote that fails is a verdict, not an error: its facts go in unverified,
 * so the event-log checks still run and are reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/cleanup.h"
#include "cvm/internal.h"
#include "dga/collateral.h"
#include "dga/util.h"

void dga_cvm_run_clear(struct dga_cvm_run *r)
{
    if (r == NULL) {
        return;
    }
    dga_cvm_result_clear(&r->result);
    memset(r, 0, sizeof *r);
}

static void quote_failed(struct dga_cvm_quote_outcome *q, dga_err e, const struct dga_diag *d)
{
    q->verified = false;
    q->err = e;
    snprintf(q->field, sizeof q->field, "%s", d->field != NULL ? d->field : "");
}

/* The collateral document the source delivers for the quote's key; *ret malloc'd. */
static dga_err fetch_collateral(const struct dga_cvm_collateral *c,
                                const struct dga_tdx_collateral_key *k, struct dga_cvm_run *r,
                                char **ret, size_t *ret_len, struct dga_diag *diag)
{
    if (c->kind == DGA_CVM_COLLATERAL_PCCS) {
        struct dga_http_options http;
        dga_http_options_init(&http);
        return dga_tdx_collateral_fetch(c->pccs_url, k, c->http != NULL ? c->http : &http, ret,
                                        ret_len, NULL, diag);
    }
    dga_err e = dga_tdx_collateral_path(c->dir, k, r->collateral_path, sizeof r->collateral_path);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "collateral_dir");
    }
    e = dga_tdx_collateral_read(c->dir, k, ret, ret_len);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "collateral_dir");
    }
    return DGA_E_OK;
}

/*
 * The quote verified at p->opt->at with the collateral of these bytes,
 * parsed here or taken from p->cache. A document that does not parse is the
 * source's failure (returned); a quote that fails is recorded in r->quote.
 * DEBUG is allowed here: the td-debug check decides it against the
 * expectations.
 */
static dga_err verify_with(const struct dga_cvm_run_params *p, const struct dga_quote *q,
                           const char *text, size_t len, struct dga_cvm_run *r,
                           struct dga_diag *diag)
{
    _cleanup_(dga_quote_collateral_clearp) struct dga_quote_collateral own = {0};
    const struct dga_quote_collateral *c = &own;
    void *handle = NULL;
    dga_err e = p->cache != NULL ? p->cache->get(p->cache->ctx, text, len, &c, &handle, diag)
                                 : dga_quote_collateral_parse(text, len, &own, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    struct dga_diag qd = {0};
    struct dga_quote_verify_opts vo = {.at = p->opt->at, .root = p->root, .allow_debug = true};
    e = dga_quote_verify(q, c, &vo, &r->quote.verdict, &qd);
    if (p->cache != NULL) {
        p->cache->put(p->cache->ctx, handle);
    }
    if (e != DGA_E_OK) {
        quote_failed(&r->quote, e, &qd);
        return e == DGA_E_NOMEM ? e : DGA_E_OK;
    }
    r->quote.verified = true;
    return DGA_E_OK;
}

/*
 * The collateral for the parsed quote: the document given, or the one the
 * source delivers for the quote's key. A source that does not deliver is the
 * caller's error (returned); a quote without a key is recorded in r->quote.
 */
static dga_err verify_quote(const struct dga_cvm_run_params *p, const struct dga_quote *q,
                            struct dga_cvm_run *r, struct dga_diag *diag)
{
    if (p->collateral.kind == DGA_CVM_COLLATERAL_JSON) {
        return verify_with(p, q, p->collateral.json, p->collateral.json_len, r, diag);
    }
    struct dga_diag qd = {0};
    struct dga_tdx_collateral_key k;
    dga_err e = dga_tdx_collateral_key(q, &k, &qd);
    if (e != DGA_E_OK) {
        quote_failed(&r->quote, e, &qd);
        return e == DGA_E_NOMEM ? e : DGA_E_OK;
    }
    _cleanup_(freep) char *text = NULL;
    size_t len = 0;
    e = fetch_collateral(&p->collateral, &k, r, &text, &len, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return verify_with(p, q, text, len, r, diag);
}

/* "<error>: <message> (<field>)": the quote check's detail when the quote failed. */
static void quote_why(const struct dga_cvm_quote_outcome *q, char *out)
{
    snprintf(out, DGA_CVM_DETAIL_LEN, "%s: %s%s%s%s", dga_err_name(q->err), dga_err_message(q->err),
             q->field[0] != '\0' ? " (" : "", q->field, q->field[0] != '\0' ? ")" : "");
}

/* A quote that does not parse has no registers: only the quote check can say anything. */
static void unparsed_verdict(struct dga_cvm_run *r)
{
    struct dga_cvm_result *res = &r->result;
    char why[DGA_CVM_DETAIL_LEN];
    quote_why(&r->quote, why);
    for (int c = 0; c < (int)DGA_CVM_CHECK__COUNT; c++) {
        snprintf(res->checks[c].detail, DGA_CVM_DETAIL_LEN, "the quote did not parse");
    }
    cvm_fail(res, DGA_CVM_CHECK_QUOTE, DGA_E_CVM_QUOTE_UNVERIFIED, "%s", why);
    res->err = DGA_E_CVM_QUOTE_UNVERIFIED;
    snprintf(res->reason, sizeof res->reason, "Quote verification failed: %s: %s: %s",
             dga_cvm_check_name(DGA_CVM_CHECK_QUOTE), dga_err_name(res->err), why);
}

static dga_err run_checks(const struct dga_cvm_run_params *p, struct dga_cvm_run *r)
{
    char why[DGA_CVM_DETAIL_LEN];
    quote_why(&r->quote, why);
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

dga_err dga_cvm_run(const struct dga_cvm_run_params *p, struct dga_cvm_run *ret,
                    struct dga_diag *diag)
{
    if (p == NULL || p->in == NULL || p->in->quote == NULL || p->x == NULL || p->opt == NULL ||
        ret == NULL || (p->bundle == NULL && p->bundle_len > 0)) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "run");
    }
    dga_cvm_run_clear(ret);
    ret->at = p->opt->at;
    ret->custom_root = p->root != NULL;
    if (ret->custom_root && p->root_name != NULL) {
        int n = snprintf(ret->trusted_root, sizeof ret->trusted_root, "%s", p->root_name);
        if (n < 0 || (size_t)n >= sizeof ret->trusted_root) {
            return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "root_name");
        }
    }
    ret->gpu_required = p->x->gpu.required;
    memcpy(ret->expectations_sha256, p->x->sha256, 32);
    if (p->bundle != NULL) {
        if (EVP_Digest(p->bundle, p->bundle_len, ret->bundle_sha256, NULL, EVP_sha256(), NULL) !=
            1) {
            return DGA_E_NOMEM;
        }
        ret->has_bundle = true;
    }
    struct dga_quote q;
    struct dga_diag qd = {0};
    dga_err e = dga_quote_parse(p->in->quote, p->in->quote_len, &q, &qd);
    if (e != DGA_E_OK) {
        quote_failed(&ret->quote, e, &qd);
        unparsed_verdict(ret);
        return DGA_E_OK;
    }
    ret->quote.parsed = true;
    ret->quote.td = q.td;
    e = verify_quote(p, &q, ret, diag);
    if (e != DGA_E_OK) {
        return e; /* no verdict (ret->result is still clear); collateral_path names the entry */
    }
    e = run_checks(p, ret);
    if (e != DGA_E_OK) {
        dga_cvm_result_clear(&ret->result); /* no verdict; collateral_path still names the entry */
        return e;
    }
    return DGA_E_OK;
}
