/* SPDX-License-Identifier: Apache-2.0 */
/* What the verifier server's modules share: the server state, the collateral cache, the run. */
#ifndef DGA_VERIFIER_INTERNAL_H
#define DGA_VERIFIER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dga/cvm.h"
#include "dga/quote.h"
#include "dga/verifier.h"
#include "dga/x509.h"

/* ---- parsed quote collateral, keyed by the SHA-256 of its bytes (cache.c) ---- */

struct coll_cache;
struct coll_entry;

dga_err coll_cache_new(size_t max_entries, struct coll_cache **ret);
void coll_cache_free(struct coll_cache *c);
/*
 * The document text parsed: the cached parse of the same bytes, or a new
 * one (dga_quote_collateral_parse's errors, diag->field naming the member)
 * kept for the next request, the least recently used entry dropped beyond
 * max_entries. *ret_entry holds a reference: coll_entry_put it after use;
 * *ret is valid until then and only read (concurrent users share it).
 */
dga_err coll_cache_get(struct coll_cache *c, const char *text, size_t len,
                       const struct dga_quote_collateral **ret, struct coll_entry **ret_entry,
                       struct dga_diag *diag);
void coll_entry_put(struct coll_entry *e);
/* Lookups that found the bytes parsed, lookups that parsed them, entries held. */
void coll_cache_counts(struct coll_cache *c, size_t *ret_hits, size_t *ret_misses,
                       size_t *ret_entries);

/* ---- the server ---- */

struct dga_verifier {
    struct dga_verifier_config cfg;
    struct dga_cvm_expect x;
    struct dga_cvm_reappraiser *reappraiser; /* NULL when GPUs are not required */
    bool has_root;
    struct dga_trust root; /* the test root (test-trusted-root) */
    char *collateral;      /* the collateral file's text (source JSON) */
    size_t collateral_len;
    struct coll_cache *cache;
    struct dga_service *svc;
};

/*
 * dga_cvm_run with the server's collateral source and its cache of parsed
 * collateral (every source, the PCCS's answers included) (run.c).
 */
dga_err verifier_run(struct dga_verifier *v, const struct dga_cvm_input *in, time_t at,
                     struct dga_cvm_run *ret, struct dga_diag *diag);

#endif
