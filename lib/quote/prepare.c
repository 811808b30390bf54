/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The prepared collateral (docs/quote.md, Speed): what verification needs
 * from the collateral alone, done once when it is parsed rather than for
 * every quote. Decoding (CRLs, the PEM chains, the two JSON documents) and
 * the two signatures over the TCB info and QE identity text depend on
 * nothing but the collateral's bytes, so their outcomes, failures included,
 * are recorded here and replayed by verify.c at the step that would have
 * computed them; everything that depends on the time, the root or the quote
 * (windows, chain and CRL validation, the quote's own chain and signatures)
 * still runs at every verification. The bytes it was made from are copied,
 * and verify.c uses a prepared object only while the collateral's members
 * still equal them.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "core/cleanup.h"
#include "dga/quote.h"
#include "dga/x509.h"
#include "quote/testing.h"

dga_err prep_step_replay(const struct prep_step *s, struct dga_diag *diag)
{
    if (s->err != DGA_E_OK && diag != NULL && s->diag.field != NULL) {
        *diag = s->diag;
    }
    return s->err;
}

/* ---- The key: exact copies of the members ---- */

static bool copy_bytes(const void *src, size_t len, void *ret)
{
    void **out = ret;
    *out = NULL;
    if (src == NULL) {
        return true;
    }
    char *p = malloc(len + 1);
    if (p == NULL) {
        return false;
    }
    memcpy(p, src, len);
    p[len] = '\0';
    *out = p;
    return true;
}

static size_t str_len(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

static bool copy_key(const struct dga_quote_collateral *c, struct dga_quote_collateral *k)
{
    *k = *c; /* lengths and signatures; every pointer is replaced below */
    k->prepared = NULL;
    bool ok = copy_bytes(c->pck_crl_issuer_chain, str_len(c->pck_crl_issuer_chain),
                         &k->pck_crl_issuer_chain);
    ok = copy_bytes(c->root_ca_crl, c->root_ca_crl_len, &k->root_ca_crl) && ok;
    ok = copy_bytes(c->pck_crl, c->pck_crl_len, &k->pck_crl) && ok;
    ok = copy_bytes(c->tcb_info_issuer_chain, str_len(c->tcb_info_issuer_chain),
                    &k->tcb_info_issuer_chain) &&
         ok;
    ok = copy_bytes(c->tcb_info, c->tcb_info_len, &k->tcb_info) && ok;
    ok = copy_bytes(c->qe_identity_issuer_chain, str_len(c->qe_identity_issuer_chain),
                    &k->qe_identity_issuer_chain) &&
         ok;
    ok = copy_bytes(c->qe_identity, c->qe_identity_len, &k->qe_identity) && ok;
    ok = copy_bytes(c->pck_certificate_chain, str_len(c->pck_certificate_chain),
                    &k->pck_certificate_chain) &&
         ok;
    return ok;
}

static bool same_bytes(const void *a, size_t la, const void *b, size_t lb)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return la == lb && memcmp(a, b, la) == 0;
}

static bool same_string(const char *a, const char *b)
{
    return same_bytes(a, str_len(a), b, str_len(b));
}

bool quote_prepared_matches(const struct dga_quote_prepared *p,
                            const struct dga_quote_collateral *c)
{
    const struct dga_quote_collateral *k = &p->key;
    return same_string(k->pck_crl_issuer_chain, c->pck_crl_issuer_chain) &&
           same_bytes(k->root_ca_crl, k->root_ca_crl_len, c->root_ca_crl, c->root_ca_crl_len) &&
           same_bytes(k->pck_crl, k->pck_crl_len, c->pck_crl, c->pck_crl_len) &&
           same_string(k->tcb_info_issuer_chain, c->tcb_info_issuer_chain) &&
           same_bytes(k->tcb_info, k->tcb_info_len, c->tcb_info, c->tcb_info_len) &&
           memcmp(k->tcb_info_signature, c->tcb_info_signature, DGA_QUOTE_SIG_LEN) == 0 &&
           same_string(k->qe_identity_issuer_chain, c->qe_identity_issuer_chain) &&
           same_bytes(k->qe_identity, k->qe_identity_len, c->qe_identity, c->qe_identity_len) &&
           memcmp(k->qe_identity_signature, c->qe_identity_signature, DGA_QUOTE_SIG_LEN) == 0 &&
           same_string(k->pck_certificate_chain, c->pck_certificate_chain);
}

/* ---- The pieces ---- */

/*
 * The pool every chain decodes through: the Intel root first (so that a
 * chain's copy of it is the pinned object itself), then the PCK CRL issuer
 * chain (the PCK CA that quotes' own PCK chains carry). Only a cache: a
 * failure here decodes nothing in advance, and no verdict reads it.
 */
static void seed_pool(struct dga_quote_prepared *p, const struct dga_quote_collateral *c,
                      X509 *intel)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *certs = NULL;
    if (dga_cert_pool_new(&p->pool) != DGA_E_OK) {
        return;
    }
    if (intel != NULL) {
        (void)dga_cert_pool_add(p->pool, intel);
    }
    if (c->pck_crl_issuer_chain != NULL) {
        (void)dga_pem_chain_parse_pooled(c->pck_crl_issuer_chain, strlen(c->pck_crl_issuer_chain),
                                         p->pool, &certs, NULL);
    }
    ERR_clear_error();
}

/* An issuer chain decoded, and the signature over text by its leaf, as verify.c checked them. */
static void prepare_signed(struct dga_quote_prepared *p, const char *chain, const char *field,
                           const char *text, size_t text_len, const uint8_t sig[DGA_QUOTE_SIG_LEN],
                           struct prep_signed *ret)
{
    const struct quote_chain_spec spec = {DGA_E_TCB_SIGNING_CHAIN, field, 0};
    ret->chain.err =
        quote_chain_decode(chain, str_len(chain), &spec, p->pool, &ret->decoded, &ret->chain.diag);
    if (ret->chain.err == DGA_E_OK) {
        ret->signature_ok = dga_p256_verify_raw(X509_get0_pubkey(ret->decoded.leaf),
                                                (const uint8_t *)text, text_len, sig) == DGA_E_OK;
    }
    ERR_clear_error();
}

static void prepare_pieces(struct dga_quote_prepared *p, const struct dga_quote_collateral *c,
                           X509 *intel)
{
    p->crls_step.err = quote_crls_decode(c->root_ca_crl, c->root_ca_crl_len, c->pck_crl,
                                         c->pck_crl_len, &p->crls, &p->crls_step.diag);
    if (p->crls_step.err == DGA_E_OK && intel != NULL) {
        (void)quote_crls_store_for(&p->crls, intel); /* only set-up saved: none is fine */
    }
    p->tcb_step.err = dga_tcb_info_parse(c->tcb_info, c->tcb_info_len, &p->tcb, &p->tcb_step.diag);
    if (p->tcb_step.err == DGA_E_OK) {
        dga_tcb_levels_sort(&p->tcb);
    }
    prepare_signed(p, c->tcb_info_issuer_chain, "tcb_info_issuer_chain", c->tcb_info,
                   c->tcb_info_len, c->tcb_info_signature, &p->tcb_signed);
    p->qe_step.err =
        dga_qe_identity_parse(c->qe_identity, c->qe_identity_len, &p->qe_id, &p->qe_step.diag);
    prepare_signed(p, c->qe_identity_issuer_chain, "qe_identity_issuer_chain", c->qe_identity,
                   c->qe_identity_len, c->qe_identity_signature, &p->qe_signed);
    p->same_chain = c->tcb_info_issuer_chain != NULL &&
                    same_string(c->tcb_info_issuer_chain, c->qe_identity_issuer_chain);
    if (c->pck_certificate_chain != NULL) {
        const struct quote_chain_spec spec = {DGA_E_PCK_CHAIN, "pck_certificate_chain", 1};
        p->pck_step.err =
            quote_chain_decode(c->pck_certificate_chain, strlen(c->pck_certificate_chain), &spec,
                               p->pool, &p->pck, &p->pck_step.diag);
    }
    ERR_clear_error();
}

dga_err quote_prepare(const struct dga_quote_collateral *c, struct dga_quote_prepared **ret)
{
    if (c == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct dga_quote_prepared *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return DGA_E_NOMEM;
    }
    if (!copy_key(c, &p->key)) {
        quote_prepared_free(p);
        return DGA_E_NOMEM;
    }
    _cleanup_(dga_trust_clearp) struct dga_trust intel = {0};
    (void)dga_trust_intel_sgx_root(&intel); /* NULL root on failure: no shared store, no seed */
    seed_pool(p, c, intel.root);
    prepare_pieces(p, c, intel.root);
    dga_cert_pool_freeze(p->pool); /* shared read-only by concurrent verifications from now on */
    *ret = p;
    return DGA_E_OK;
}

void quote_prepared_free(struct dga_quote_prepared *p)
{
    if (p == NULL) {
        return;
    }
    dga_quote_collateral_clear(&p->key);
    quote_crls_clear(&p->crls);
    dga_tcb_info_clear(&p->tcb);
    dga_qe_identity_clear(&p->qe_id);
    quote_chain_clear(&p->tcb_signed.decoded);
    quote_chain_clear(&p->qe_signed.decoded);
    quote_chain_clear(&p->pck);
    dga_cert_pool_free(p->pool);
    free(p);
}
