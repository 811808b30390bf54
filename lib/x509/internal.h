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

/*
 * The lookup key of a chain suffix: the kind tag ('D' device, 'R' RIM), the
 * DER of certs[from..to), then the DER of `extra` (may be NULL).
 */
dga_err x509_suffix_key(char kind, STACK_OF(X509) *certs, int from, int to, X509 *extra,
                        unsigned char **ret, size_t *ret_len);
/* The anchor of the cached suffix with exactly this key, or NULL (also for c == NULL). */
X509 *x509_chain_cache_find(const struct dga_chain_cache *c, const unsigned char *key, size_t len);
/* True when certs[from..to) carry no path length, name or policy constraints. */
bool x509_suffix_reusable(STACK_OF(X509) *certs, int from, int to);
/*
 * Remembers a suffix just verified in full to a pinned root, anchored at
 * `anchor` (up-referenced); takes key. A full cache (or c == NULL) just
 * stops remembering.
 */
void x509_chain_cache_add(struct dga_chain_cache *c, X509 *anchor, unsigned char *key, size_t len);

#endif
