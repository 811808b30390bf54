/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A chain over certificates to a pinned root (dga/x509.h, struct
 * dga_chain_path): OpenSSL path validation with the pinned root as the only
 * anchor, the cache of verified suffixes, and the small readers every
 * chain needs (DER equality, CN, validity window, algorithms). The rules of a
 * particular chain live with its caller: the device identity chain in
 * chain.c, the RIM signing chain in lib/rim/chain.c. This file knows no kind
 * of chain: the cache tells kinds apart only by the caller's tag.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>

#include "core/cleanup.h"
#include "core/utc.h"
#include "dga/util.h"
#include "dga/x509.h"
#include "x509/internal.h"

#define CHAIN_CACHE_MAX 16
/*
 * Whole chains: at most WHOLE_MAX, in an open-addressed table of twice as
 * many slots (a probe stays short). An entry is its key (the DER of every
 * certificate and of the root: about 3.5 KiB for a device chain, so about
 * 4 MiB for a full table) and a hash of it.
 */
#define WHOLE_MAX 1024
#define WHOLE_SLOTS (2 * WHOLE_MAX)

/*
 * A chain suffix verified in full to a pinned root, keyed by its exact bytes:
 * a kind tag, then the DER of its certificates and of the root. The anchor is
 * the suffix's lowest certificate; a later chain with the same suffix is
 * verified only from its own lower certificates up to the anchor.
 */
struct verified_suffix {
    unsigned char *key;
    size_t len;
    X509 *anchor;
};

/*
 * Shared by concurrent verifications: `lock` guards n and s[] (a lookup and
 * an insertion), never a path validation. Entries are never removed while
 * the cache lives, so an anchor a lookup returned stays valid (and is
 * up-referenced by the X509_STORE that trusts it). The anchors themselves are
 * read by several threads at once, as the certificate pool's certificates
 * are: OpenSSL 3 caches a certificate's extensions under its own lock.
 */
/*
 * A whole chain verified to a pinned root, keyed by its exact bytes: the
 * kind tag, the DER of every certificate used, then of the root. The key is
 * all there is: on a hit the path is the presented chain itself.
 */
struct verified_whole {
    unsigned char *key; /* NULL: an empty slot */
    size_t len;
    uint64_t hash;
};

/*
 * A key some thread is verifying right now (its bytes are that thread's
 * p->key or p->whole_key, alive until it releases the claim). At most one
 * claim per key; a thread that misses a claimed key waits on `released`.
 * A full table just stops claiming: the path is then verified unclaimed,
 * perhaps twice, never wrongly.
 */
#define PENDING_MAX 128

struct pending_key {
    const unsigned char *key;
    size_t len;
    bool whole; /* of the whole-chain table, else of the suffix table */
};

struct dga_chain_cache {
    pthread_mutex_t lock;
    pthread_cond_t released; /* a claim ended: waiters look again */
    size_t n_pending;
    struct pending_key pending[PENDING_MAX];
    size_t n;
    struct verified_suffix s[CHAIN_CACHE_MAX];
    size_t n_whole;
    struct verified_whole w[WHOLE_SLOTS];
};

dga_err dga_chain_cache_new(struct dga_chain_cache **ret)
{
    struct dga_chain_cache *c = calloc(1, sizeof *c);
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
    *ret = c;
    return DGA_E_OK;
}

void dga_chain_cache_free(struct dga_chain_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        free(c->s[i].key);
        X509_free(c->s[i].anchor);
    }
    for (size_t i = 0; i < WHOLE_SLOTS; i++) {
        free(c->w[i].key);
    }
    pthread_cond_destroy(&c->released);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* ---- once per key: claims (call with c->lock held) ---- */

static struct pending_key *pending_find_locked(struct dga_chain_cache *c, const unsigned char *key,
                                               size_t len, bool whole)
{
    for (size_t i = 0; i < c->n_pending; i++) {
        struct pending_key *k = &c->pending[i];
        if (k->whole == whole && k->len == len && memcmp(k->key, key, len) == 0) {
            return k;
        }
    }
    return NULL;
}

/* True when this caller now holds the claim; false when the table is full. */
static bool claim_locked(struct dga_chain_cache *c, const unsigned char *key, size_t len,
                         bool whole)
{
    if (c->n_pending >= PENDING_MAX) {
        return false;
    }
    c->pending[c->n_pending++] = (struct pending_key){.key = key, .len = len, .whole = whole};
    return true;
}

static void release_locked(struct dga_chain_cache *c, const unsigned char *key, size_t len,
                           bool whole)
{
    struct pending_key *k = pending_find_locked(c, key, len, whole);
    if (k != NULL) {
        *k = c->pending[--c->n_pending];
        pthread_cond_broadcast(&c->released);
    }
}

/* Ends p's claims (the keys are still p's here); the entries, if any, are in the tables. */
static void release_claims(struct dga_chain_path *p)
{
    if (p->cache == NULL || (!p->claimed_suffix && !p->claimed_whole)) {
        return;
    }
    pthread_mutex_lock(&p->cache->lock);
    if (p->claimed_suffix) {
        release_locked(p->cache, p->key, p->key_len, false);
    }
    if (p->claimed_whole) {
        release_locked(p->cache, p->whole_key, p->whole_len, true);
    }
    pthread_mutex_unlock(&p->cache->lock);
    p->claimed_suffix = false;
    p->claimed_whole = false;
}

/* The store trusts root alone. */
static dga_err store_new(X509 *root, X509_STORE **ret)
{
    _cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
    if (store == NULL) {
        return DGA_E_NOMEM;
    }
    if (X509_STORE_add_cert(store, root) != 1) {
        return DGA_E_INTERNAL;
    }
    *ret = TAKE_PTR(store);
    return DGA_E_OK;
}

/* Time checks are off: validity is reported, never enforced (docs/evidence.md). */
static dga_err ctx_setup(X509_STORE_CTX *ctx, X509_STORE *store, X509 *leaf,
                         STACK_OF(X509) *untrusted, unsigned long flags)
{
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        return DGA_E_INTERNAL;
    }
    /*
     * No X509_VERIFY_PARAM_set_time(param, at) here: it sets X509_V_FLAG_USE_CHECK_TIME,
     * which OpenSSL 3 honours before X509_V_FLAG_NO_CHECK_TIME, so validity would be
     * enforced at `at`. Time is read and reported by dga_chain_validity() instead.
     */
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    if (param == NULL || X509_VERIFY_PARAM_set_flags(param, flags) != 1) {
        return DGA_E_INTERNAL;
    }
    return DGA_E_OK;
}

/*
 * Success counts (path length - 1) ECDSA verifications: OpenSSL checks each
 * certificate's signature with its issuer's key, but not the self-signed
 * root's own (only with X509_V_FLAG_CHECK_SS_SIGNATURE) nor a partial
 * chain's trusted top, which has no issuer in the path.
 */
static dga_err verify_cert(X509 *leaf, STACK_OF(X509) *untrusted, X509 *root, unsigned long flags,
                           STACK_OF(X509) **ret_path, int *ret_depth)
{
    _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
    /* declared after the store, so freed before it */
    _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (ctx == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = store_new(root, &store);
    if (e != DGA_E_OK) {
        return e;
    }
    e = ctx_setup(ctx, store, leaf, untrusted, flags);
    if (e != DGA_E_OK) {
        return e;
    }
    if (X509_verify_cert(ctx) != 1) {
        *ret_depth = X509_STORE_CTX_get_error_depth(ctx);
        return DGA_E_CHAIN_INVALID;
    }
    STACK_OF(X509) *path = X509_STORE_CTX_get1_chain(ctx);
    if (path == NULL) {
        return DGA_E_NOMEM;
    }
    x509_stats_add(sk_X509_num(path) > 1 ? (unsigned long)(sk_X509_num(path) - 1) : 0);
    *ret_path = path;
    return DGA_E_OK;
}

static dga_err path_build(X509 *leaf, STACK_OF(X509) *untrusted, X509 *root, unsigned long flags,
                          STACK_OF(X509) **ret_path, int *ret_depth)
{
    *ret_depth = -1;
    dga_err e = verify_cert(leaf, untrusted, root, flags, ret_path, ret_depth);
    ERR_clear_error(); /* what OpenSSL queued on the way, failure or not, is not the caller's */
    return e;
}

/*
 * The lookup key of a chain's suffix: the kind tag, the DER of
 * certs[from..to), then the DER of root.
 */
static dga_err suffix_key(char kind, STACK_OF(X509) *certs, int from, int to, X509 *root,
                          unsigned char **ret, size_t *ret_len)
{
    size_t total = 1;
    for (int i = from; i <= to; i++) {
        X509 *x = i < to ? sk_X509_value(certs, i) : root;
        int len = i2d_X509(x, NULL);
        if (len <= 0) {
            ERR_clear_error();
            return DGA_E_BAD_CERT;
        }
        total += (size_t)len;
    }
    unsigned char *key = malloc(total);
    if (key == NULL) {
        return DGA_E_NOMEM;
    }
    unsigned char *p = key;
    *p++ = (unsigned char)kind;
    for (int i = from; i <= to; i++) {
        if (i2d_X509(i < to ? sk_X509_value(certs, i) : root, &p) <= 0) {
            ERR_clear_error();
            free(key);
            return DGA_E_BAD_CERT;
        }
    }
    *ret = key;
    *ret_len = total;
    return DGA_E_OK;
}

/* The anchor of the cached suffix with exactly this key, or NULL. Call with c->lock held. */
static X509 *cache_find_locked(const struct dga_chain_cache *c, const unsigned char *key,
                               size_t len)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->s[i].len == len && memcmp(c->s[i].key, key, len) == 0) {
            return c->s[i].anchor;
        }
    }
    return NULL;
}

/* certs[from..to) as a new stack (shallow: no references taken); NULL when empty. */
static dga_err slice_new(STACK_OF(X509) *certs, int from, int to, STACK_OF(X509) **ret)
{
    STACK_OF(X509) *s = sk_X509_new_null();
    if (s == NULL) {
        return DGA_E_NOMEM;
    }
    for (int i = from; i < to; i++) {
        if (sk_X509_push(s, sk_X509_value(certs, i)) <= 0) {
            sk_X509_free(s);
            return DGA_E_NOMEM;
        }
    }
    *ret = s;
    return DGA_E_OK;
}

/*
 * The suffix of p is cached: look its anchor up (NULL: not cached, or no
 * cache). While another thread verifies the same suffix, wait for it; a miss
 * claims the suffix for this path (released by remember or clear).
 */
static X509 *suffix_lookup(struct dga_chain_path *p)
{
    if (p->cache == NULL || p->anchor < 1 || p->anchor >= p->n ||
        suffix_key(p->kind, p->certs, p->anchor, p->n, p->root, &p->key, &p->key_len) != DGA_E_OK) {
        return NULL;
    }
    struct dga_chain_cache *c = p->cache;
    pthread_mutex_lock(&c->lock);
    X509 *anchor = cache_find_locked(c, p->key, p->key_len);
    while (anchor == NULL && pending_find_locked(c, p->key, p->key_len, false) != NULL) {
        pthread_cond_wait(&c->released, &c->lock);
        anchor = cache_find_locked(c, p->key, p->key_len);
    }
    if (anchor == NULL) {
        p->claimed_suffix = claim_locked(c, p->key, p->key_len, false);
    }
    pthread_mutex_unlock(&c->lock);
    return anchor; /* never freed before the cache: no reference needed */
}

static bool path_args_ok(const struct dga_chain_path *p)
{
    if (p->certs == NULL || p->root == NULL || p->n < 1 || p->n > sk_X509_num(p->certs)) {
        return false;
    }
    for (int i = 0; i < p->n; i++) {
        if (sk_X509_value(p->certs, i) == NULL) {
            return false;
        }
    }
    return true;
}

/* Below the cached anchor: certs[1..anchor) are the candidates, none at all for anchor 1. */
static dga_err verify_partial(struct dga_chain_path *p, X509 *anchor)
{
    _cleanup_(sk_X509_freep) STACK_OF(X509) *untrusted = NULL;
    p->partial = true;
    p->top = anchor;
    if (p->anchor > 1) {
        dga_err e = slice_new(p->certs, 1, p->anchor, &untrusted);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    return path_build(sk_X509_value(p->certs, 0), untrusted, anchor,
                      X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_PARTIAL_CHAIN, &p->built, &p->depth);
}

/* Up to the pinned root: certs[1..n) are the candidates, a presented root never is. */
static dga_err verify_full(struct dga_chain_path *p)
{
    _cleanup_(sk_X509_freep) STACK_OF(X509) *untrusted = NULL;
    p->top = p->root;
    dga_err e = slice_new(p->certs, 1, p->n, &untrusted);
    if (e != DGA_E_OK) {
        return e;
    }
    return path_build(sk_X509_value(p->certs, 0), untrusted, p->root, X509_V_FLAG_NO_CHECK_TIME,
                      &p->built, &p->depth);
}

/*
 * The slot of the whole chain with exactly this key, else the empty slot
 * where it would go (the table never holds more than half its slots, so
 * there is one). Call with c->lock held.
 */
static struct verified_whole *whole_slot_locked(struct dga_chain_cache *c, const unsigned char *key,
                                                size_t len, uint64_t hash)
{
    for (size_t k = 0; k < WHOLE_SLOTS; k++) {
        struct verified_whole *w = &c->w[(hash + k) & (WHOLE_SLOTS - 1)];
        if (w->key == NULL || (w->hash == hash && w->len == len && memcmp(w->key, key, len) == 0)) {
            return w;
        }
    }
    return NULL;
}

/* The whole chain (certs[0..n), root) is cached: computes p's whole key and looks it up. */
static bool whole_lookup(struct dga_chain_path *p)
{
    if (p->cache == NULL ||
        suffix_key(p->kind, p->certs, 0, p->n, p->root, &p->whole_key, &p->whole_len) != DGA_E_OK) {
        return false;
    }
    p->whole_hash = x509_key_hash(p->whole_key, p->whole_len);
    struct dga_chain_cache *c = p->cache;
    pthread_mutex_lock(&c->lock);
    const struct verified_whole *w =
        whole_slot_locked(c, p->whole_key, p->whole_len, p->whole_hash);
    /* The same chain being verified by another thread (a GPU twice in a set): wait for it. */
    while ((w == NULL || w->key == NULL) &&
           pending_find_locked(c, p->whole_key, p->whole_len, true) != NULL) {
        pthread_cond_wait(&c->released, &c->lock);
        w = whole_slot_locked(c, p->whole_key, p->whole_len, p->whole_hash);
    }
    bool hit = w != NULL && w->key != NULL;
    if (!hit) {
        p->claimed_whole = claim_locked(c, p->whole_key, p->whole_len, true);
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

/*
 * A cached whole chain: no path validation, p->built is the presented
 * certs[0..n), then the root (new references), exactly the path a full
 * validation built when the entry was made.
 */
static dga_err whole_path(struct dga_chain_path *p)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *built = sk_X509_new_reserve(NULL, p->n + 1);
    if (built == NULL) {
        return DGA_E_NOMEM;
    }
    for (int i = 0; i <= p->n; i++) {
        X509 *x = i < p->n ? sk_X509_value(p->certs, i) : p->root;
        if (X509_up_ref(x) != 1) {
            return DGA_E_INTERNAL;
        }
        if (sk_X509_push(built, x) <= 0) {
            X509_free(x);
            return DGA_E_NOMEM;
        }
    }
    p->built = TAKE_PTR(built);
    p->top = p->root;
    p->whole = true;
    return DGA_E_OK;
}

dga_err dga_chain_path_verify(struct dga_chain_path *p)
{
    if (p == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    p->built = NULL;
    p->top = NULL;
    p->partial = false;
    p->whole = false;
    p->depth = -1;
    p->key = NULL;
    p->key_len = 0;
    p->whole_key = NULL;
    p->whole_len = 0;
    p->claimed_suffix = false;
    p->claimed_whole = false;
    if (!path_args_ok(p)) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (whole_lookup(p)) {
        return whole_path(p);
    }
    X509 *anchor = suffix_lookup(p);
    return anchor != NULL ? verify_partial(p, anchor) : verify_full(p);
}

/*
 * A partial path under the anchor checks everything a full one does about
 * the certificates below it, except constraints that the certificates above
 * the anchor could put on them: only a suffix whose certificates above the
 * anchor carry no path length, name or policy constraint is reused.
 */
static bool cert_unconstrained(X509 *x)
{
    static const int constraints[] = {NID_name_constraints, NID_policy_constraints,
                                      NID_inhibit_any_policy};
    if (X509_get_pathlen(x) != -1) {
        return false;
    }
    for (size_t k = 0; k < sizeof constraints / sizeof constraints[0]; k++) {
        if (X509_get_ext_by_NID(x, constraints[k], -1) >= 0) {
            return false;
        }
    }
    return true;
}

static bool suffix_reusable(const struct dga_chain_path *p)
{
    for (int i = p->anchor + 1; i < p->n; i++) {
        if (!cert_unconstrained(sk_X509_value(p->certs, i))) {
            return false;
        }
    }
    return cert_unconstrained(p->root);
}

/* True when OpenSSL built exactly certs[0..n), then the root. */
static bool built_is_presented(const struct dga_chain_path *p)
{
    if (sk_X509_num(p->built) != p->n + 1 ||
        X509_cmp(sk_X509_value(p->built, p->n), p->root) != 0) {
        return false;
    }
    for (int i = 0; i < p->n; i++) {
        if (X509_cmp(sk_X509_value(p->built, i), sk_X509_value(p->certs, i)) != 0) {
            return false;
        }
    }
    return true;
}

/* True when OpenSSL built exactly certs[0..anchor), then the cached anchor. */
static bool built_is_presented_partial(const struct dga_chain_path *p)
{
    if (sk_X509_num(p->built) != p->anchor + 1 ||
        X509_cmp(sk_X509_value(p->built, p->anchor), p->top) != 0) {
        return false;
    }
    for (int i = 0; i < p->anchor; i++) {
        if (X509_cmp(sk_X509_value(p->built, i), sk_X509_value(p->certs, i)) != 0) {
            return false;
        }
    }
    return true;
}

static void remember_suffix(struct dga_chain_path *p)
{
    X509 *anchor = sk_X509_value(p->built, p->anchor);
    struct dga_chain_cache *c = p->cache;
    x509_cache_extensions(anchor); /* filled by the path validation already: a no-op */
    /*
     * Another thread may have verified the same suffix in full meanwhile: its
     * entry stays, this one is not added (p->key is freed by the clear).
     */
    pthread_mutex_lock(&c->lock);
    if (p->claimed_suffix) {
        release_locked(c, p->key, p->key_len, false); /* the waiters find the entry below */
        p->claimed_suffix = false;
    }
    if (c->n < CHAIN_CACHE_MAX && cache_find_locked(c, p->key, p->key_len) == NULL &&
        X509_up_ref(anchor) == 1) {
        c->s[c->n++] =
            (struct verified_suffix){.key = TAKE_PTR(p->key), .len = p->key_len, .anchor = anchor};
        p->key_len = 0;
    }
    pthread_mutex_unlock(&c->lock); /* a full cache just stops remembering */
}

static void remember_whole(struct dga_chain_path *p)
{
    struct dga_chain_cache *c = p->cache;
    pthread_mutex_lock(&c->lock);
    if (p->claimed_whole) {
        release_locked(c, p->whole_key, p->whole_len, true); /* the waiters find the entry below */
        p->claimed_whole = false;
    }
    struct verified_whole *w = whole_slot_locked(c, p->whole_key, p->whole_len, p->whole_hash);
    if (c->n_whole < WHOLE_MAX && w != NULL && w->key == NULL) {
        *w = (struct verified_whole){
            .key = TAKE_PTR(p->whole_key), .len = p->whole_len, .hash = p->whole_hash};
        p->whole_len = 0;
        c->n_whole++;
    }
    pthread_mutex_unlock(&c->lock); /* a full table just stops remembering */
}

/*
 * A whole chain is remembered after a full path in the presented order
 * (OpenSSL saw every constraint: the same bytes give the same path again,
 * time never being checked), or after a partial one in the presented order
 * under a cached anchor: that anchor's suffix was verified in full to this
 * root and carries no constraint on what is below it, the argument the
 * partial path itself rests on.
 */
void dga_chain_path_remember(struct dga_chain_path *p)
{
    if (p == NULL || p->cache == NULL || p->built == NULL || p->whole) {
        return;
    }
    bool presented = p->partial ? built_is_presented_partial(p) : built_is_presented(p);
    if (!presented) {
        return;
    }
    if (p->whole_key != NULL) {
        remember_whole(p);
    }
    if (!p->partial && p->key != NULL && suffix_reusable(p)) {
        remember_suffix(p);
    }
}

void dga_chain_path_clear(struct dga_chain_path *p)
{
    if (p == NULL) {
        return;
    }
    release_claims(p); /* a path that failed, or was not remembered: a waiter verifies it */
    sk_X509_pop_free(p->built, X509_free);
    p->built = NULL;
    p->top = NULL;
    free(p->key);
    p->key = NULL;
    p->key_len = 0;
    free(p->whole_key);
    p->whole_key = NULL;
    p->whole_len = 0;
    p->whole = false;
}

bool dga_cert_algorithms_ok(X509 *x)
{
    return x != NULL && dga_key_is_p384(X509_get0_pubkey(x)) &&
           X509_get_signature_nid(x) == NID_ecdsa_with_SHA384;
}

dga_err dga_cert_der_equal(X509 *a, X509 *b, bool *ret)
{
    _cleanup_(OPENSSL_freep) unsigned char *da = NULL;
    _cleanup_(OPENSSL_freep) unsigned char *db = NULL;
    int la = i2d_X509(a, &da);
    int lb = i2d_X509(b, &db);
    if (la <= 0 || lb <= 0) {
        ERR_clear_error();
        return DGA_E_BAD_CERT;
    }
    *ret = la == lb && memcmp(da, db, (size_t)la) == 0;
    return DGA_E_OK;
}

dga_err dga_cert_first_cn(X509 *x, char *out, size_t cap)
{
    const X509_NAME *name = X509_get_subject_name(x);
    int idx = name != NULL ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    const X509_NAME_ENTRY *entry = idx >= 0 ? X509_NAME_get_entry(name, idx) : NULL;
    const ASN1_STRING *cn = entry != NULL ? X509_NAME_ENTRY_get_data(entry) : NULL;
    if (cn == NULL || ASN1_STRING_length(cn) <= 0) {
        return DGA_E_BAD_CERT;
    }
    size_t len = (size_t)ASN1_STRING_length(cn);
    const unsigned char *data = ASN1_STRING_get0_data(cn);
    if (len >= cap || memchr(data, '\0', len) != NULL) {
        return DGA_E_BAD_CERT;
    }
    memcpy(out, data, len);
    out[len] = '\0';
    return DGA_E_OK;
}

void dga_chain_info_at(struct dga_chain_info *info, time_t at)
{
    /*
     * The notAfter second itself counts as expired, as OpenSSL (and so xmlsec1)
     * counts it: one second stricter than RFC 5280's inclusive reading, so that
     * our verdict and theirs never differ at the boundary. Over a chain, "some
     * certificate's notAfter <= at" is "the minimum notAfter <= at", and "some
     * notBefore > at" is "the maximum notBefore > at".
     */
    info->expired = info->not_after_min <= at;
    info->not_yet_valid = info->not_before_max > at;
}

dga_err dga_chain_validity(STACK_OF(X509) *certs, time_t at, struct dga_chain_info *info,
                           int *ret_index)
{
    int n = sk_X509_num(certs);
    if (n < 1) {
        *ret_index = 0;
        return DGA_E_BAD_CERT;
    }
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(certs, i);
        time_t not_before, not_after;
        if (x == NULL || utc_from_asn1(X509_get0_notBefore(x), &not_before) != DGA_E_OK ||
            utc_from_asn1(X509_get0_notAfter(x), &not_after) != DGA_E_OK) {
            *ret_index = i;
            return DGA_E_BAD_CERT;
        }
        if (i == 0 || not_after < info->not_after_min) {
            info->not_after_min = not_after;
        }
        if (i == 0 || not_before > info->not_before_max) {
            info->not_before_max = not_before;
        }
    }
    dga_chain_info_at(info, at);
    dga_time_format(info->not_after_min, info->expiration_date);
    return DGA_E_OK;
}
