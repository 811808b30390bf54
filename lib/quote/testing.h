/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry points of lib/quote that are not API: the verification's building
 * blocks (the CRLs, a chain with its CRLs, the prepared collateral). verify.c uses them; tests/unit
 * calls them directly. Programs and other layers never include this header.
 */
#ifndef DGA_QUOTE_TESTING_H
#define DGA_QUOTE_TESTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "dga/error.h"
#include "dga/quote.h"
#include "dga/x509.h"

/* The compiled-in Intel SGX Root CA (lib/quote/root.c), DER. */
extern const unsigned char dga_intel_sgx_root_der[];
extern const size_t dga_intel_sgx_root_der_len;

/* The collateral's two CRLs, decoded. */
struct quote_crls {
    X509_CRL *root_ca_crl;
    X509_CRL *pck_crl;
    X509_STORE *store; /* NULL, or trusting store_root with both CRLs (quote_crls_store_for) */
    X509 *store_root;
};
void quote_crls_clear(struct quote_crls *crls);
/* For _cleanup_ on a struct variable: quote_crls_clear(crls). */
static inline void quote_crls_clearp(struct quote_crls *crls)
{
    quote_crls_clear(crls);
}
/*
 * Makes crls->store for root (a new reference kept): chains checked to that
 * same root object use it instead of setting up a store each time.
 */
dga_err quote_crls_store_for(struct quote_crls *crls, X509 *root);

/*
 * Both CRLs decoded (strict DER, a nextUpdate required; DGA_E_CRL_INVALID
 * with diag->field "root_ca_crl" or "pck_crl"): no time, no signature.
 */
dga_err quote_crls_decode(const uint8_t *root_ca_crl, size_t root_ca_crl_len,
                          const uint8_t *pck_crl, size_t pck_crl_len, struct quote_crls *ret,
                          struct dga_diag *diag);
/*
 * The root itself against the root CA CRL at `at`: signed by the root, in
 * its validity window, the root not listed.
 */
dga_err quote_crls_check_root(const struct quote_crls *crls, const struct dga_trust *root,
                              time_t at, struct dga_diag *diag);

/*
 * Step 0: decodes both CRLs (strict DER, a nextUpdate required;
 * DGA_E_CRL_INVALID with diag->field "root_ca_crl" or "pck_crl") and checks
 * the root itself against the root CA CRL at `at` (signed by the root, in
 * its validity window, the root not listed).
 */
dga_err quote_crls_load(const uint8_t *root_ca_crl, size_t root_ca_crl_len, const uint8_t *pck_crl,
                        size_t pck_crl_len, const struct dga_trust *root, time_t at,
                        struct quote_crls *ret, struct dga_diag *diag);

/* Which chain quote_chain_verify checks: its error and the input it names. */
struct quote_chain_spec {
    dga_err chain_err; /* DGA_E_PCK_CHAIN or DGA_E_TCB_SIGNING_CHAIN */
    const char *field; /* the input the PEM came from */
    int shared_from;   /* certificates before it are one machine's (the pool's per-device tier) */
};

/* A chain as decoded from its PEM: the leaf, and the certificates presented after it. */
struct quote_chain {
    X509 *leaf;
    STACK_OF(X509) *rest;
};
void quote_chain_clear(struct quote_chain *ch);
/* For _cleanup_ on a struct variable: quote_chain_clear(ch). */
static inline void quote_chain_clearp(struct quote_chain *ch)
{
    quote_chain_clear(ch);
}

/*
 * The time-independent half of quote_chain_verify: the PEM decoded (through
 * `pool`, which may be NULL), at least one certificate after the leaf, the
 * leaf not a CA. spec->chain_err with diag->field spec->field.
 */
dga_err quote_chain_decode(const char *pem, size_t len, const struct quote_chain_spec *spec,
                           struct dga_cert_pool *pool, struct quote_chain *ret,
                           struct dga_diag *diag);
/* The other half: a decoded chain to `root` at `at` with both CRLs, as quote_chain_verify. */
dga_err quote_chain_check(const struct quote_chain *ch, const struct quote_chain_spec *spec,
                          const struct dga_trust *root, const struct quote_crls *crls, time_t at,
                          struct dga_diag *diag);

/*
 * A PEM chain (leaf first, at least one certificate after it) verified to
 * `root` at `at` with both CRLs for every certificate, the root included.
 * The leaf must not be a CA; the top of the built chain must be the root's
 * exact DER. Errors: DGA_E_CRL_EXPIRED, DGA_E_CRL_NOT_YET_VALID,
 * DGA_E_CRL_INVALID (diag->field the CRL), DGA_E_CERT_REVOKED,
 * DGA_E_CHAIN_EXPIRED, else spec->chain_err (diag->field spec->field);
 * diag->offset is the depth of the certificate. *ret_leaf is the leaf.
 */
dga_err quote_chain_verify(const char *pem, size_t len, const struct quote_chain_spec *spec,
                           const struct dga_trust *root, const struct quote_crls *crls, time_t at,
                           X509 **ret_leaf, struct dga_diag *diag);

/* ---- The prepared collateral (prepare.c) ---- */

/* The outcome of one piece of preparation: replayed at the verification step it belongs to. */
struct prep_step {
    dga_err err;
    struct dga_diag diag;
};

/* tcb_info or qe_identity with its issuer chain. */
struct prep_signed {
    struct prep_step chain; /* quote_chain_decode of the issuer chain */
    struct quote_chain decoded;
    bool signature_ok; /* the text's signature by decoded.leaf's key (chain decoded only) */
};

struct dga_quote_prepared {
    struct dga_quote_collateral key; /* copies of the members it was made from */
    struct prep_step crls_step;
    struct quote_crls crls;
    struct prep_step tcb_step;
    struct dga_tcb_info tcb; /* levels sorted (dga_tcb_levels_sort) */
    struct prep_signed tcb_signed;
    struct prep_step qe_step;
    struct dga_qe_identity qe_id;
    struct prep_signed qe_signed;
    bool same_chain;           /* both issuer chains are the same bytes */
    struct prep_step pck_step; /* pck_certificate_chain, when the collateral has one */
    struct quote_chain pck;
    struct dga_cert_pool *pool; /* frozen: the collateral's certificates and the Intel root */
};

/*
 * Prepares c (c->prepared is ignored): only an allocation failure of the
 * object itself fails; what a member's decoding or signature check says is
 * recorded. *ret is quote_prepared_free'd.
 */
dga_err quote_prepare(const struct dga_quote_collateral *c, struct dga_quote_prepared **ret);
void quote_prepared_free(struct dga_quote_prepared *p);
/* Every member of c has exactly the bytes p was prepared from. */
bool quote_prepared_matches(const struct dga_quote_prepared *p,
                            const struct dga_quote_collateral *c);
/* A recorded outcome as if the step ran now: its error, and diag as the step set it. */
dga_err prep_step_replay(const struct prep_step *s, struct dga_diag *diag);

#endif
