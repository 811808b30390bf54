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
 * Once per key: while another thread computes this key's verdict, waits
 * for it; on NULL *ret_claimed says whether this caller now computes it
 * for every other (it must then call verify_cache_add, which ends the
 * claim); false only when too many keys are being computed at once (then
 * it computes unclaimed, as without a cache).
 */
const struct rim_verdict *verify_cache_find(struct dga_verify_cache *c, const uint8_t key[32],
                                            bool *ret_claimed);

/*
 * Moves *v (and its rim) into the cache and returns the cached copy, and
 * ends the caller's claim (claimed: verify_cache_find's). When another
 * thread added the same key meanwhile (an unclaimed computation), that
 * entry is returned and v's rim is freed (v->rim set to NULL). NULL (v
 * untouched, still the caller's) when the cache is full or out of memory:
 * a waiter then computes the verdict itself.
 */
const struct rim_verdict *verify_cache_add(struct dga_verify_cache *c, const uint8_t key[32],
                                           struct rim_verdict *v, bool claimed);

#endif
