/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry points of lib/quote that are not API: the verification's building
 * blocks (the CRLs, a chain with its CRLs). verify.c uses them; tests/unit
 * calls them directly. Programs and other layers never include this header.
 */
#ifndef DGA_QUOTE_TESTING_H
#define DGA_QUOTE_TESTING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "dga/error.h"
#include "dga/x509.h"

/* The compiled-in Intel SGX Root CA (lib/quote/root.c), DER. */
extern const unsigned char dga_intel_sgx_root_der[];
extern const size_t dga_intel_sgx_root_der_len;

/* The collateral's two CRLs, decoded. */
struct quote_crls {
    X509_CRL *root_ca_crl;
    X509_CRL *pck_crl;
};
void quote_crls_clear(struct quote_crls *crls);

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
};

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

#endif
