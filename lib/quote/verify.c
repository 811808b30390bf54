/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dga_quote_verify: a parsed TDX quote against its collateral at a given
 * time, in the order docs/quote.md (Verification) gives, one short function
 * per step; the first failure is the answer. The policy rules themselves are
 * the pure functions of dga/quote.h (tcb.c, qe_identity.c); the chains and
 * CRLs are pki.c. What depends on the collateral's bytes alone comes from
 * its prepared object (prepare.c), whose recorded outcomes each step
 * replays where it would have computed them.
 */
#include <string.h>

#include <openssl/evp.h>

#include "core/cleanup.h"
#include "dga/quote.h"
#include "dga/x509.h"
#include "quote/testing.h"

struct vctx {
    const struct dga_quote *q;
    const struct dga_quote_collateral *c;
    const struct dga_quote_prepared *p;
    const struct dga_quote_verify_opts *opts;
    const struct dga_trust *root;
    struct dga_diag *diag;
    /* owned, freed by vctx_clear */
    struct dga_quote_prepared *own_p; /* prepared for this call only */
    struct quote_chain pck_own;       /* the quote's own PCK chain */
    X509 *pck_leaf;                   /* borrowed: pck_own's or the prepared chain's leaf */
    /* results */
    struct dga_pck_ext pck;
    struct dga_tcb_result qe;
    struct dga_tcb_result platform;
    struct dga_tcb_result final;
};

static void vctx_clear(struct vctx *v)
{
    quote_chain_clear(&v->pck_own);
    quote_prepared_free(v->own_p);
    v->own_p = NULL;
    v->pck_leaf = NULL;
}

/* Byte offset of p inside the quote (the signed region starts at byte 0). */
static size_t quote_off(const struct dga_quote *q, const uint8_t *p)
{
    return p != NULL && p >= q->signed_data ? (size_t)(p - q->signed_data) : 0;
}

/* Byte offset of the TD report body: after the header, and the v5 body descriptor. */
static size_t body_off(const struct dga_quote *q)
{
    return DGA_QUOTE_HEADER_LEN + (q->version == 5 ? DGA_QUOTE_BODY_DESCRIPTOR_LEN : 0);
}

/* Step 0: both CRLs decode, and the root CRL is the root's own, current, not listing it. */
static dga_err step_crls(struct vctx *v)
{
    dga_err e = prep_step_replay(&v->p->crls_step, v->diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return quote_crls_check_root(&v->p->crls, v->root, v->opts->at, v->diag);
}

/* Step 1: the header (the parser checked the structure; these are its meaning). */
static dga_err step_header(struct vctx *v)
{
    const struct dga_quote *q = v->q;
    if (q->version != 4 && q->version != 5) {
        return dga_diag_set(v->diag, DGA_E_QUOTE_VERSION, 0, "quote.version");
    }
    if (q->att_key_type != DGA_QUOTE_KEY_ECDSA_P256) {
        return dga_diag_set(v->diag, DGA_E_QUOTE_KEY_TYPE, 2, "quote.att_key_type");
    }
    if (q->tee_type != DGA_QUOTE_TEE_TDX) {
        return dga_diag_set(v->diag, DGA_E_QUOTE_TEE_TYPE, 4, "quote.tee_type");
    }
    if (memcmp(q->qe_vendor_id, dga_quote_intel_qe_vendor_id, sizeof q->qe_vendor_id) != 0) {
        return dga_diag_set(v->diag, DGA_E_QUOTE_VENDOR, 12, "quote.qe_vendor_id");
    }
    return DGA_E_OK;
}

/* issueDate <= at <= nextUpdate, both bounds inclusive. */
static dga_err time_window(time_t issue, time_t next, time_t at, dga_err not_yet, dga_err expired,
                           const char *field, struct dga_diag *diag)
{
    if (at < issue) {
        return dga_diag_set(diag, not_yet, 0, field);
    }
    if (at > next) {
        return dga_diag_set(diag, expired, 0, field);
    }
    return DGA_E_OK;
}

/*
 * A TCB signing chain with its CRLs at the time, then its leaf's signature
 * over the exact signed text (checked when prepared: it depends on the
 * bytes alone). check_chain false: the same chain bytes passed this check
 * in step 2 with the same root, CRLs and time, so it would pass again.
 */
static dga_err signed_json_check(struct vctx *v, const struct prep_signed *s,
                                 const char *chain_field, bool check_chain, dga_err sig_err,
                                 const char *sig_field)
{
    const struct quote_chain_spec spec = {DGA_E_TCB_SIGNING_CHAIN, chain_field, 0};
    dga_err e = prep_step_replay(&s->chain, v->diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (check_chain) {
        e = quote_chain_check(&s->decoded, &spec, v->root, &v->p->crls, v->opts->at, v->diag);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    if (!s->signature_ok) {
        return dga_diag_set(v->diag, sig_err, 0, sig_field);
    }
    return DGA_E_OK;
}

/* Step 2: the TCB info: parsed, current, signed by the TCB signing chain; levels sorted. */
static dga_err step_tcb_info(struct vctx *v)
{
    const struct dga_quote_prepared *p = v->p;
    dga_err e = prep_step_replay(&p->tcb_step, v->diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = time_window(p->tcb.issue_date, p->tcb.next_update, v->opts->at,
                    DGA_E_TCB_INFO_NOT_YET_VALID, DGA_E_TCB_INFO_EXPIRED, "tcb_info", v->diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return signed_json_check(v, &p->tcb_signed, "tcb_info_issuer_chain", true,
                             DGA_E_TCB_INFO_SIGNATURE, "tcb_info_signature");
}

/*
 * Step 3: the QE identity, as step 2, and a TDX quote's kind of identity (TD_QE v2 or v3).
 * dga_qe_identity_match checks the kind again in step 7; checking it here keeps dcap-qvl's
 * order, so that SGX collateral given for a TDX quote says so, not that a CRL is missing.
 */
static dga_err step_qe_identity(struct vctx *v)
{
    const struct dga_quote_prepared *p = v->p;
    dga_err e = prep_step_replay(&p->qe_step, v->diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = time_window(p->qe_id.issue_date, p->qe_id.next_update, v->opts->at,
                    DGA_E_QE_IDENTITY_NOT_YET_VALID, DGA_E_QE_IDENTITY_EXPIRED, "qe_identity",
                    v->diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = signed_json_check(v, &p->qe_signed, "qe_identity_issuer_chain", !p->same_chain,
                          DGA_E_QE_IDENTITY_SIGNATURE, "qe_identity_signature");
    if (e != DGA_E_OK) {
        return e;
    }
    if (strcmp(p->qe_id.id, "TD_QE") != 0 || p->qe_id.version < 2 || p->qe_id.version > 3) {
        return dga_diag_set(v->diag, DGA_E_QE_IDENTITY_TEE, 0, "qe_identity");
    }
    return DGA_E_OK;
}

/*
 * Step 4: the PCK chain (the collateral's when given, decoded when prepared; else the quote's
 * type 5 PEM, decoded through the prepared pool: the CAs from its shared tier, the PCK
 * certificate from its per-device tier once seen), then its leaf's SGX extension.
 */
static dga_err step_pck_chain(struct vctx *v)
{
    const struct dga_quote *q = v->q;
    struct quote_chain_spec spec = {DGA_E_PCK_CHAIN, "pck_certificate_chain", 0};
    const struct quote_chain *chain = &v->p->pck;
    dga_err e = DGA_E_OK;
    if (v->c->pck_certificate_chain != NULL) {
        e = prep_step_replay(&v->p->pck_step, v->diag);
    } else if (q->inner_cert_type != DGA_QUOTE_CERT_PCK_CHAIN || q->inner_cert_data == NULL) {
        return dga_diag_set(v->diag, DGA_E_QUOTE_CERT_DATA, quote_off(q, q->inner_cert_data),
                            "quote.cert_data");
    } else {
        spec.field = "quote.cert_data";
        spec.shared_from = 1; /* the platform's PCK certificate: its own, not the pool's CAs */
        e = quote_chain_decode((const char *)q->inner_cert_data, q->pem_len, &spec, v->p->pool,
                               &v->pck_own, v->diag);
        chain = &v->pck_own;
    }
    if (e != DGA_E_OK) {
        return e;
    }
    e = quote_chain_check(chain, &spec, v->root, &v->p->crls, v->opts->at, v->diag);
    if (e != DGA_E_OK) {
        return e;
    }
    v->pck_leaf = chain->leaf;
    return dga_pck_ext_parse(v->pck_leaf, &v->pck, v->diag);
}

/* Step 5: the PCK key signed the 384 raw bytes of the QE report. */
static dga_err step_qe_report_signature(struct vctx *v)
{
    const struct dga_quote *q = v->q;
    if (dga_p256_verify_raw(X509_get0_pubkey(v->pck_leaf), q->qe_report_raw, DGA_SGX_REPORT_LEN,
                            q->qe_report_signature) != DGA_E_OK) {
        return dga_diag_set(v->diag, DGA_E_QE_REPORT_SIGNATURE, quote_off(q, q->qe_report_raw),
                            "quote.qe_report_signature");
    }
    return DGA_E_OK;
}

/*
 * Step 6: the QE report binds the attestation key: report_data is
 * SHA-256(attestation key || QE auth data) then 32 zero bytes. dcap-qvl does
 * not look at the second half; Intel's QE writes zeros there, and we require them.
 */
static dga_err step_qe_report_data(struct vctx *v)
{
    const struct dga_quote *q = v->q;
    static const uint8_t zero[32] = {0};
    uint8_t digest[32];
    unsigned digest_len = 0;
    size_t off = quote_off(q, q->qe_report_raw) + 320; /* report_data in an SGX report */
    if (q->qe_auth_len != DGA_QUOTE_QE_AUTH_LEN || q->qe_auth_data == NULL) {
        return dga_diag_set(v->diag, DGA_E_QUOTE_AUTH_DATA, quote_off(q, q->qe_auth_data),
                            "quote.qe_auth_data");
    }
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, q->att_key, sizeof q->att_key) != 1 ||
        EVP_DigestUpdate(md, q->qe_auth_data, q->qe_auth_len) != 1 ||
        EVP_DigestFinal_ex(md, digest, &digest_len) != 1 || digest_len != sizeof digest) {
        return DGA_E_NOMEM;
    }
    if (memcmp(q->qe_report.report_data, digest, sizeof digest) != 0) {
        return dga_diag_set(v->diag, DGA_E_QE_REPORT_DATA, off, "quote.qe_report.report_data");
    }
    if (memcmp(q->qe_report.report_data + 32, zero, sizeof zero) != 0) {
        return dga_diag_set(v->diag, DGA_E_QE_REPORT_DATA, off + 32, "quote.qe_report.report_data");
    }
    return DGA_E_OK;
}

/* Step 7: the QE identity's rules on the QE report, and its TCB level. */
static dga_err step_qe_policy(struct vctx *v)
{
    dga_err e = dga_qe_identity_match(&v->p->qe_id, &v->q->qe_report, true, &v->qe);
    if (e != DGA_E_OK) {
        return dga_diag_set(v->diag, e, quote_off(v->q, v->q->qe_report_raw), "qe_identity");
    }
    return DGA_E_OK;
}

/* Step 8: the attestation key signed header (+ descriptor) + body. */
static dga_err step_quote_signature(struct vctx *v)
{
    const struct dga_quote *q = v->q;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
    if (dga_p256_key_from_raw(q->att_key, &key) != DGA_E_OK ||
        dga_p256_verify_raw(key, q->signed_data, q->signed_len, q->signature) != DGA_E_OK) {
        return dga_diag_set(v->diag, DGA_E_QUOTE_SIGNATURE, q->signed_len + 4, "quote.signature");
    }
    return DGA_E_OK;
}

/* Steps 9 and 10: the platform's TCB level, merged with the TDX module identity's level. */
static dga_err step_platform_tcb(struct vctx *v)
{
    struct dga_tcb_result module = {0};
    bool applied = false;
    dga_err e = dga_tcb_match_platform(&v->p->tcb, &v->pck, v->q->td.tee_tcb_svn, &v->platform);
    if (e != DGA_E_OK) {
        return dga_diag_set(v->diag, e, 0, "tcb_info");
    }
    e = dga_tcb_match_tdx_module(&v->p->tcb, &v->q->td, &applied, &module);
    if (e != DGA_E_OK) {
        return dga_diag_set(v->diag, e, body_off(v->q), "tcb_info");
    }
    if (applied) {
        e = dga_tcb_result_converge(&v->platform, &module);
    }
    return e;
}

/* Step 11: the final status (platform converged with QE); Revoked is a failure, never a status. */
static dga_err step_merge(struct vctx *v)
{
    v->final = v->platform;
    dga_err e = dga_tcb_result_converge(&v->final, &v->qe);
    if (e != DGA_E_OK) {
        return e;
    }
    if (v->final.status == DGA_TCB_REVOKED) {
        return dga_diag_set(v->diag, DGA_E_TCB_REVOKED, 0,
                            v->platform.status == DGA_TCB_REVOKED ? "tcb_info" : "qe_identity");
    }
    return DGA_E_OK;
}

/* Step 12: the TD's own attributes (after the status, as dcap-qvl). */
static dga_err step_td_attributes(struct vctx *v)
{
    const struct dga_quote *q = v->q;
    dga_err e = dga_td_attributes_check(q, v->opts->allow_debug, v->opts->allow_service_td);
    if (e == DGA_E_TD_SERVICE_TD) {
        return dga_diag_set(v->diag, e, body_off(q) + 600, "quote.td.mr_service_td");
    }
    if (e != DGA_E_OK) {
        return dga_diag_set(v->diag, e, body_off(q) + 120, "quote.td.td_attributes");
    }
    return DGA_E_OK;
}

typedef dga_err (*vstep)(struct vctx *v);

static const vstep steps[] = {
    step_crls,           step_header,    step_tcb_info,
    step_qe_identity,    step_pck_chain, step_qe_report_signature,
    step_qe_report_data, step_qe_policy, step_quote_signature,
    step_platform_tcb,   step_merge,     step_td_attributes,
};

dga_err dga_quote_verify(const struct dga_quote *q, const struct dga_quote_collateral *c,
                         const struct dga_quote_verify_opts *opts, struct dga_quote_verdict *ret,
                         struct dga_diag *diag)
{
    _cleanup_(dga_trust_clearp) struct dga_trust intel = {0};
    if (q == NULL || c == NULL || opts == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    /* vctx_clear: the steps' parsed inputs, on every exit. */
    _cleanup_(vctx_clear) struct vctx v = {
        .q = q, .c = c, .opts = opts, .root = opts->root, .diag = diag};
    if (v.root == NULL) {
        dga_err e = dga_trust_intel_sgx_root(&intel);
        if (e != DGA_E_OK) {
            return e;
        }
        v.root = &intel;
    }
    /* The collateral's own preparation, unless its members changed since (or it has none). */
    v.p = c->prepared;
    if (v.p == NULL || !quote_prepared_matches(v.p, c)) {
        dga_err e = quote_prepare(c, &v.own_p);
        if (e != DGA_E_OK) {
            return e;
        }
        v.p = v.own_p;
    }
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        dga_err e = steps[i](&v);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    *ret = (struct dga_quote_verdict){
        .status = v.final,
        .platform = v.platform,
        .qe = v.qe,
        .pck = v.pck,
        .custom_root = v.root->custom,
    };
    return DGA_E_OK;
}
