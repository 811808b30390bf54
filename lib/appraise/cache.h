/* SPDX-License-Identifier: Apache-2.0 */
/* The verification cache (dga_verify_cache): internal to lib/appraise. */
#ifndef DGA_APPRAISE_CACHE_H
#define DGA_APPRAISE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "dga/appraise.h"

/*
 * What a RIM document's bytes alone decide under the cache's fixed trust
 * root, at no time in particular: chain.expired and chain.not_yet_valid are
 * those of the time it was computed at, and every use sets them again at its
 * own time (dga_chain_info_at).
 */
struct rim_verdict {
    struct dga_rim *rim; /* NULL when parse_err is set */
    dga_err parse_err, chain_err, sig_err;
    struct dga_diag parse_diag, chain_diag, sig_diag;
    struct dga_chain_info chain; /* valid when chain_err is DGA_E_OK */
};

/* True when opt uses the RIM root the cache was made for (any verification time). */
bool verify_cache_matches(const struct dga_verify_cache *c, const struct dga_appraise_options *opt);
struct dga_chain_cache *verify_cache_chains(struct dga_verify_cache *c);
struct dga_cert_pool *verify_cache_certs(struct dga_verify_cache *c);

/*
 * The cached verdict of the document with this SHA-256, or NULL. The
 * verdict is never changed nor freed before the cache: read it unlocked.
 */
const struct rim_verdict *verify_cache_find(struct dga_verify_cache *c, const uint8_t key[32]);

/*
 * Moves *v (and its rim) into the cache and returns the cached copy. When
 * another thread added the same key meanwhile, that entry is returned and
 * v's rim is freed (v->rim set to NULL). NULL (v untouched, still the
 * caller's) when the cache is full or out of memory.
 */
const struct rim_verdict *verify_cache_add(struct dga_verify_cache *c, const uint8_t key[32],
                                           struct rim_verdict *v);

#endif
