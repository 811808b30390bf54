/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verification cache: RIM verdicts keyed by the SHA-256 of the document
 * bytes, the verified device and RIM chain suffixes, and the decoded
 * certificates (lib/x509). Sound for one RIM root, fixed at creation, and
 * for any verification time: nothing it keeps depends on time.
 *
 *   - A RIM verdict keeps the parse, the chain's path result, the XML
 *     signature result and the chain's validity window (dga_chain_info's
 *     not_after_min and not_before_max); the flags expired/not_yet_valid
 *     are recomputed at each use, at that appraisal's time
 *     (dga_chain_info_at, in appraise.c). The chain check itself never
 *     reads the time: dga_rim_chain_verify_cached uses `at` only for those
 *     flags, and path validation runs with X509_V_FLAG_NO_CHECK_TIME.
 *   - A chain suffix says that a path was valid, with the same flag
 *     (lib/x509/path.c); the device chain's validity is read per call from
 *     the presented certificates (lib/x509/chain.c read_info).
 *   - A pooled certificate is the decode of its bytes.
 *
 * Thread-safe: each structure has its own lock around its lookups and
 * insertions, never held during a parse or a signature verification.
 * Entries are never evicted while the cache lives, so what a lookup returned
 * stays valid until dga_verify_cache_free. Once per key: a document whose
 * verdict another thread is computing is waited for (a claim and a
 * condition variable), never computed twice, so the parallel appraisal of a
 * set (appraise_set.c) verifies each signature once, as the serial one.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "appraise/cache.h"

/*
 * Distinct RIM documents remembered: a server meets one driver and one
 * VBIOS (or BIOS) document per driver version and board it serves; 256
 * covers many, and bounds the memory (each parsed document holds its XML
 * tree, at most DGA_RIM_MAX_BYTES of text). A full table stops remembering:
 * later documents are verified per use, as without a cache.
 */
#define CACHE_MAX_RIMS 256
/* Documents being computed at once (claims); past that they compute unclaimed. */
#define CACHE_MAX_PENDING 64

struct cached_rim {
    uint8_t key[32];
    struct rim_verdict v;
};

struct dga_verify_cache {
    X509 *rim_root;
    struct dga_chain_cache *chains; /* its own lock */
    struct dga_cert_pool *certs;    /* its own lock */
    pthread_mutex_t lock;           /* n_rims, rims[], n_pending and pending[] */
    pthread_cond_t released;        /* a claim ended: waiters look again */
    size_t n_rims;
    struct cached_rim *rims[CACHE_MAX_RIMS];
    size_t n_pending;
    uint8_t pending[CACHE_MAX_PENDING][32]; /* keys some thread is computing */
};

/* The parts; c->rim_root and the lock are set by the caller. */
static dga_err cache_parts(const struct dga_trust *rim_trust, struct dga_verify_cache *c)
{
    dga_err e = dga_chain_cache_new(&c->chains);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_cert_pool_new(&c->certs);
    if (e != DGA_E_OK) {
        return e;
    }
    return dga_cert_pool_add(c->certs, rim_trust->root); /* the copy each RIM presents */
}

dga_err dga_verify_cache_new(const struct dga_trust *rim_trust, struct dga_verify_cache **ret)
{
    if (rim_trust == NULL || rim_trust->root == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct dga_verify_cache *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return DGA_E_NOMEM;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return DGA_E_NOMEM;
    }
    if (pthread_cond_init(&c->released, NULL) != 0) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return DGA_E_NOMEM;
    }
    dga_err e = cache_parts(rim_trust, c);
    if (e == DGA_E_OK && X509_up_ref(rim_trust->root) != 1) {
        e = DGA_E_INTERNAL;
    }
    if (e != DGA_E_OK) {
        dga_verify_cache_free(c);
        return e;
    }
    c->rim_root = rim_trust->root;
    *ret = c;
    return DGA_E_OK;
}

void dga_verify_cache_free(struct dga_verify_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n_rims; i++) {
        dga_rim_free(c->rims[i]->v.rim);
        free(c->rims[i]);
    }
    dga_chain_cache_free(c->chains);
    dga_cert_pool_free(c->certs);
    X509_free(c->rim_root);
    pthread_cond_destroy(&c->released);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

bool verify_cache_matches(const struct dga_verify_cache *c, const struct dga_appraise_options *opt)
{
    /* c->rim_root is set once at creation and never changes: read without the lock */
    return opt->rim_trust != NULL && opt->rim_trust->root != NULL &&
           X509_cmp(opt->rim_trust->root, c->rim_root) == 0;
}

struct dga_chain_cache *verify_cache_chains(struct dga_verify_cache *c)
{
    return c->chains;
}

struct dga_cert_pool *verify_cache_certs(struct dga_verify_cache *c)
{
    return c->certs;
}

/* Call with c->lock held. */
static const struct rim_verdict *find_locked(const struct dga_verify_cache *c,
                                             const uint8_t key[32])
{
    for (size_t i = 0; i < c->n_rims; i++) {
        if (memcmp(c->rims[i]->key, key, sizeof c->rims[i]->key) == 0) {
            return &c->rims[i]->v;
        }
    }
    return NULL;
}

/* The claim on key, or -1. Call with c->lock held. */
static long pending_find_locked(const struct dga_verify_cache *c, const uint8_t key[32])
{
    for (size_t i = 0; i < c->n_pending; i++) {
        if (memcmp(c->pending[i], key, sizeof c->pending[i]) == 0) {
            return (long)i;
        }
    }
    return -1;
}

/* Call with c->lock held. */
static void release_locked(struct dga_verify_cache *c, const uint8_t key[32])
{
    long i = pending_find_locked(c, key);
    if (i >= 0) {
        memcpy(c->pending[i], c->pending[--c->n_pending], sizeof c->pending[i]);
        pthread_cond_broadcast(&c->released);
    }
}

const struct rim_verdict *verify_cache_find(struct dga_verify_cache *c, const uint8_t key[32],
                                            bool *ret_claimed)
{
    pthread_mutex_lock(&c->lock);
    const struct rim_verdict *v = find_locked(c, key);
    while (v == NULL && pending_find_locked(c, key) >= 0) {
        pthread_cond_wait(&c->released, &c->lock);
        v = find_locked(c, key);
    }
    *ret_claimed = v == NULL && c->n_pending < CACHE_MAX_PENDING;
    if (*ret_claimed) {
        memcpy(c->pending[c->n_pending++], key, sizeof c->pending[0]);
    }
    pthread_mutex_unlock(&c->lock);
    return v;
}

/* Ends a claim without a verdict (out of memory): a waiter computes it. */
static void release(struct dga_verify_cache *c, const uint8_t key[32], bool claimed)
{
    if (claimed) {
        pthread_mutex_lock(&c->lock);
        release_locked(c, key);
        pthread_mutex_unlock(&c->lock);
    }
}

const struct rim_verdict *verify_cache_add(struct dga_verify_cache *c, const uint8_t key[32],
                                           struct rim_verdict *v, bool claimed)
{
    struct cached_rim *r = malloc(sizeof *r); /* outside the lock */
    if (r == NULL) {
        release(c, key, claimed);
        return NULL;
    }
    memcpy(r->key, key, sizeof r->key);
    r->v = *v;
    pthread_mutex_lock(&c->lock);
    if (claimed) {
        release_locked(c, key); /* the waiters find the entry below, or compute it */
    }
    const struct rim_verdict *kept = find_locked(c, key);
    bool added = kept == NULL && c->n_rims < CACHE_MAX_RIMS;
    if (added) {
        c->rims[c->n_rims++] = r;
        kept = &r->v;
    }
    pthread_mutex_unlock(&c->lock);
    if (added) {
        return kept;
    }
    free(r);
    if (kept != NULL) {
        /*
         * Another thread cached the same bytes while this one computed them
         * unclaimed (too many claims at once):
         * the same verdict (it depends on the bytes and the root only). The
         * first entry stays; this one's rim is freed, never kept twice.
         */
        dga_rim_free(v->rim);
        v->rim = NULL;
    }
    return kept;
}
