/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the certificate layer's files; not part of the public API. */
#ifndef DGA_X509_INTERNAL_H
#define DGA_X509_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dga/error.h"
#include "dga/x509.h"

/* True when pkey is an EC key on secp384r1 (P-384). */
bool x509_key_is_p384(const EVP_PKEY *pkey);

/* True when x has a P-384 key and an ecdsa-with-SHA384 signature. */
bool x509_algorithms_ok(X509 *x);

/*
 * ECDSA P-384/SHA-384 over msg with pkey; sig is raw r||s (48+48, big-endian).
 * DGA_E_SIGNATURE_INVALID on any mismatch, DGA_E_CHAIN_ALGORITHM if the key
 * is not EC P-384. Leaves no OpenSSL error queued.
 */
dga_err x509_verify_raw_p384(EVP_PKEY *pkey, const uint8_t *msg, size_t len,
                             const uint8_t sig[DGA_SIGNATURE_LEN]);

/* Full DER equality of two certificates. */
dga_err x509_der_equal(X509 *a, X509 *b, bool *ret);

/* First CN of x's subject as a C string: bounded, no embedded NUL (else DGA_E_BAD_CERT). */
dga_err x509_first_cn(X509 *x, char *out, size_t cap);

/*
 * OpenSSL path validation of leaf with only `root` trusted and `untrusted`
 * (may be NULL) as candidate intermediates. Time is never checked
 * (X509_V_FLAG_NO_CHECK_TIME; see the comment in chain.c). On success
 * *ret_path is the built path leaf..root (caller frees with
 * sk_X509_pop_free). DGA_E_CHAIN_INVALID with *ret_depth = the depth
 * OpenSSL failed at; DGA_E_NOMEM / DGA_E_INTERNAL with *ret_depth = -1.
 */
dga_err x509_path_build(X509 *leaf, STACK_OF(X509) *untrusted, X509 *root,
                        STACK_OF(X509) **ret_path, int *ret_depth);

/*
 * As x509_path_build, but `anchor` need not be self-signed: it is trusted as
 * it is (X509_V_FLAG_PARTIAL_CHAIN) and its own signature is not checked.
 * Only for an anchor this process has already validated to a pinned root.
 */
dga_err x509_path_build_partial(X509 *leaf, STACK_OF(X509) *untrusted, X509 *anchor,
                                STACK_OF(X509) **ret_path, int *ret_depth);

/* Adds n to the ECDSA verification counter (dga/stats.h). */
void x509_stats_add(unsigned long n);

/*
 * Validity of every certificate of `certs` at `at`: sets info->not_after_min,
 * expiration_date, expired and not_yet_valid. DGA_E_BAD_CERT with *ret_index
 * at the certificate whose times cannot be read.
 */
dga_err x509_read_validity(STACK_OF(X509) *certs, time_t at, struct dga_chain_info *info,
                           int *ret_index);

#endif
