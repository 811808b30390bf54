/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel's certificate chains with their CRLs (docs/quote.md, Verification):
 * a store that trusts only the pinned root, the chain's other certificates as
 * untrusted candidates, both CRLs for every certificate of the chain, root
 * included, at the caller's time. OpenSSL's verify errors are mapped to our
 * names here, and nowhere else.
 */
#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "core/cleanup.h"
#include "dga/x509.h"
#include "quote/testing.h"

DEFINE_FREEP(X509_CRL, X509_CRL_free)

static const char field_root_crl[] = "root_ca_crl";
static const char field_pck_crl[] = "pck_crl";

void quote_crls_clear(struct quote_crls *crls)
{
    if (crls == NULL) {
        return;
    }
    X509_CRL_free(crls->root_ca_crl);
    X509_CRL_free(crls->pck_crl);
    X509_STORE_free(crls->store);
    X509_free(crls->store_root);
    crls->root_ca_crl = NULL;
    crls->pck_crl = NULL;
    crls->store = NULL;
    crls->store_root = NULL;
}

/* One CRL: exactly the DER of one CertificateList, with a nextUpdate (expiry is enforced). */
static dga_err crl_decode(const uint8_t *der, size_t len, const char *field, X509_CRL **ret,
                          struct dga_diag *diag)
{
    if (der == NULL || len == 0 || len > (size_t)LONG_MAX) {
        return dga_diag_set(diag, DGA_E_CRL_INVALID, 0, field);
    }
    const unsigned char *p = der;
    _cleanup_(X509_CRL_freep) X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    if (crl == NULL || p != der + len || X509_CRL_get0_nextUpdate(crl) == NULL) {
        ERR_clear_error();
        return dga_diag_set(diag, DGA_E_CRL_INVALID, crl == NULL ? 0 : (size_t)(p - der), field);
    }
    *ret = TAKE_PTR(crl);
    return DGA_E_OK;
}

/* The CRL that covers cert: the root CA CRL for what the root issued, else the PCK CRL. */
static const char *crl_field_for(X509 *cert, const struct dga_trust *root)
{
    if (cert != NULL &&
        X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(root->root)) == 0) {
        return field_root_crl;
    }
    return field_pck_crl;
}

/* An OpenSSL verify error as our error; *crl_error tells that diag names a CRL. */
static dga_err map_verify_error(int err, const struct quote_chain_spec *spec, bool *crl_error)
{
    *crl_error = true;
    switch (err) {
    case X509_V_ERR_CRL_HAS_EXPIRED:
        return DGA_E_CRL_EXPIRED;
    case X509_V_ERR_CRL_NOT_YET_VALID:
        return DGA_E_CRL_NOT_YET_VALID;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
        return DGA_E_CRL_INVALID;
    default:
        break;
    }
    *crl_error = false;
    switch (err) {
    case X509_V_ERR_CERT_REVOKED:
        return DGA_E_CERT_REVOKED;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return DGA_E_CHAIN_EXPIRED;
    default:
        return spec->chain_err;
    }
}

/* A store that trusts only root and holds both CRLs. */
static X509_STORE *store_new(X509 *root, const struct quote_crls *crls)
{
    _cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
    if (store == NULL || X509_STORE_add_cert(store, root) != 1 ||
        X509_STORE_add_crl(store, crls->root_ca_crl) != 1 ||
        X509_STORE_add_crl(store, crls->pck_crl) != 1) {
        ERR_clear_error();
        return NULL;
    }
    return TAKE_PTR(store);
}

dga_err quote_crls_store_for(struct quote_crls *crls, X509 *root)
{
    if (crls == NULL || root == NULL || crls->store != NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    crls->store = store_new(root, crls);
    if (crls->store == NULL || X509_up_ref(root) != 1) {
        X509_STORE_free(crls->store);
        crls->store = NULL;
        return DGA_E_NOMEM;
    }
    crls->store_root = root;
    return DGA_E_OK;
}

/*
 * X509_verify_cert of leaf over untrusted, trusting only the root, with both
 * CRLs checked for every certificate (CRL_CHECK_ALL reaches the root too).
 * The CRLs' own store when it was made for this root object (the same
 * trusted certificate and CRLs: only the set-up is saved), else a new one.
 * On success *ret_chain is the built chain, leaf first.
 */
static dga_err store_verify(X509 *leaf, STACK_OF(X509) *untrusted,
                            const struct quote_chain_spec *spec, const struct dga_trust *root,
                            const struct quote_crls *crls, time_t at, STACK_OF(X509) **ret_chain,
                            struct dga_diag *diag)
{
    _cleanup_(X509_STORE_freep) X509_STORE *own = NULL;
    X509_STORE *store = crls->store;
    if (store == NULL || crls->store_root != root->root) {
        store = own = store_new(root->root, crls);
    }
    _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (store == NULL || ctx == NULL || X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        ERR_clear_error();
        return DGA_E_NOMEM;
    }
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    X509_STORE_CTX_set_time(ctx, 0, at);
    if (X509_verify_cert(ctx) == 1) {
        *ret_chain = X509_STORE_CTX_get1_chain(ctx);
        return *ret_chain != NULL ? DGA_E_OK : DGA_E_NOMEM;
    }
    ERR_clear_error();
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    bool crl_error = false;
    dga_err e = map_verify_error(X509_STORE_CTX_get_error(ctx), spec, &crl_error);
    const char *field =
        crl_error ? crl_field_for(X509_STORE_CTX_get_current_cert(ctx), root) : spec->field;
    return dga_diag_set(diag, e, depth < 0 ? 0 : (size_t)depth, field);
}

/* The DER of a and b are the same bytes. */
static bool cert_same_der(X509 *a, X509 *b)
{
    if (a == b) {
        return true; /* one object (the pool's, or the pinned root): one encoding */
    }
    _cleanup_(OPENSSL_freep) unsigned char *da = NULL;
    _cleanup_(OPENSSL_freep) unsigned char *db = NULL;
    int la = i2d_X509(a, &da);
    int lb = i2d_X509(b, &db);
    return la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;
}

/*
 * The certificates presented after the leaf must be the built path above
 * it, in order, the root's copy optional: a stray certificate, or a copy of
 * the root that is not byte for byte the pinned one (the quote's own root
 * is never trusted, and a corrupted copy is refused rather than ignored, as
 * dcap-qvl and Intel's library refuse it). Returns the presented index
 * (leaf = 0) of the first certificate that does not fit, or -1.
 */
static int presented_mismatch(STACK_OF(X509) *rest, STACK_OF(X509) *built)
{
    int n_rest = sk_X509_num(rest);
    int n_built = sk_X509_num(built);
    if (n_rest > n_built - 1) {
        return n_built;
    }
    for (int i = 0; i < n_rest; i++) {
        if (!cert_same_der(sk_X509_value(rest, i), sk_X509_value(built, i + 1))) {
            return i + 1;
        }
    }
    return -1;
}

dga_err quote_crls_decode(const uint8_t *root_ca_crl, size_t root_ca_crl_len,
                          const uint8_t *pck_crl, size_t pck_crl_len, struct quote_crls *ret,
                          struct dga_diag *diag)
{
    _cleanup_(quote_crls_clearp) struct quote_crls crls = {0};
    if (ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = crl_decode(root_ca_crl, root_ca_crl_len, field_root_crl, &crls.root_ca_crl, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = crl_decode(pck_crl, pck_crl_len, field_pck_crl, &crls.pck_crl, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = crls;
    memset(&crls, 0, sizeof crls);
    return DGA_E_OK;
}

dga_err quote_crls_check_root(const struct quote_crls *crls, const struct dga_trust *root,
                              time_t at, struct dga_diag *diag)
{
    static const struct quote_chain_spec root_spec = {DGA_E_CRL_INVALID, field_root_crl, 0};
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
    if (crls == NULL || root == NULL || root->root == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    /* The root alone, as its own leaf: its CRL must be signed by it, current, and not list it. */
    return store_verify(root->root, NULL, &root_spec, root, crls, at, &chain, diag);
}

dga_err quote_crls_load(const uint8_t *root_ca_crl, size_t root_ca_crl_len, const uint8_t *pck_crl,
                        size_t pck_crl_len, const struct dga_trust *root, time_t at,
                        struct quote_crls *ret, struct dga_diag *diag)
{
    _cleanup_(quote_crls_clearp) struct quote_crls crls = {0};
    if (root == NULL || root->root == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = quote_crls_decode(root_ca_crl, root_ca_crl_len, pck_crl, pck_crl_len, &crls, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = quote_crls_check_root(&crls, root, at, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = crls;
    memset(&crls, 0, sizeof crls);
    return DGA_E_OK;
}

void quote_chain_clear(struct quote_chain *ch)
{
    if (ch == NULL) {
        return;
    }
    X509_free(ch->leaf);
    sk_X509_pop_free(ch->rest, X509_free);
    ch->leaf = NULL;
    ch->rest = NULL;
}

dga_err quote_chain_decode(const char *pem, size_t len, const struct quote_chain_spec *spec,
                           struct dga_cert_pool *pool, struct quote_chain *ret,
                           struct dga_diag *diag)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *certs = NULL;
    _cleanup_(X509_freep) X509 *leaf = NULL;
    if (spec == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct dga_diag pem_diag = {0};
    if (pem == NULL || dga_pem_chain_parse_pooled_from(pem, len, pool, spec->shared_from, &certs,
                                                       &pem_diag) != DGA_E_OK) {
        return dga_diag_set(diag, spec->chain_err, pem_diag.offset, spec->field);
    }
    /* A leaf alone cannot reach the root: Intel always sends leaf, (CA,) root. */
    if (sk_X509_num(certs) < 2) {
        return dga_diag_set(diag, spec->chain_err, 0, spec->field);
    }
    leaf = sk_X509_shift(certs);
    /* webpki's CaUsedAsEndEntity: a signing or PCK certificate is never a CA. */
    if (X509_check_ca(leaf) != 0) {
        ERR_clear_error();
        return dga_diag_set(diag, spec->chain_err, 0, spec->field);
    }
    ret->leaf = TAKE_PTR(leaf);
    ret->rest = TAKE_PTR(certs);
    return DGA_E_OK;
}

dga_err quote_chain_check(const struct quote_chain *ch, const struct quote_chain_spec *spec,
                          const struct dga_trust *root, const struct quote_crls *crls, time_t at,
                          struct dga_diag *diag)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
    if (ch == NULL || ch->leaf == NULL || spec == NULL || root == NULL || root->root == NULL ||
        crls == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = store_verify(ch->leaf, ch->rest, spec, root, crls, at, &chain, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    int n = sk_X509_num(chain);
    if (n < 2 || !cert_same_der(sk_X509_value(chain, n - 1), root->root)) {
        return dga_diag_set(diag, spec->chain_err, n > 0 ? (size_t)(n - 1) : 0, spec->field);
    }
    int bad = presented_mismatch(ch->rest, chain);
    if (bad >= 0) {
        return dga_diag_set(diag, spec->chain_err, (size_t)bad, spec->field);
    }
    return DGA_E_OK;
}

dga_err quote_chain_verify(const char *pem, size_t len, const struct quote_chain_spec *spec,
                           const struct dga_trust *root, const struct quote_crls *crls, time_t at,
                           X509 **ret_leaf, struct dga_diag *diag)
{
    _cleanup_(quote_chain_clearp) struct quote_chain ch = {0};
    if (spec == NULL || root == NULL || root->root == NULL || crls == NULL || ret_leaf == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = quote_chain_decode(pem, len, spec, NULL, &ch, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = quote_chain_check(&ch, spec, root, crls, at, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret_leaf = TAKE_PTR(ch.leaf);
    return DGA_E_OK;
}
