/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the certificate layer's own files only (docs/layers.md): what
 * another layer needs from this one is in dga/x509.h.
 */
#ifndef DGA_X509_INTERNAL_H
#define DGA_X509_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/* Adds n to the ECDSA verification counter (dga/stats.h). */
void x509_stats_add(unsigned long n);

/*
 * Fills x's extension cache (OpenSSL's, under x's own lock) now, before x is
 * handed to other threads: a certificate shared through the pool, the chain
 * cache or a trust root is then only ever read by them. Without it the
 * first path validations of two threads race to fill it, and ThreadSanitizer
 * sees one thread's key identifiers read unsynchronized with the other's
 * write. A certificate whose extensions do not decode is left as it is:
 * every check on it still fails as before.
 */
void x509_cache_extensions(X509 *x);

/* FNV-1a of a cache key: a table index only, every hit is confirmed byte for byte. */
uint64_t x509_key_hash(const unsigned char *key, size_t len);

#endif
