/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pool of decoded certificates, keyed by their exact DER bytes.
 *
 * Why: OpenSSL 3.0 decodes a certificate's public key through its provider
 * decoder framework, which costs about a sixth of a P-384 signature
 * verification per certificate, and one run meets the same CA certificates
 * again and again: every GPU's chain above its BROM certificate, the L3 and
 * L2 of both RIMs of a GPU, and the compiled-in roots that chains present a
 * copy of. A hit returns the certificate decoded from the same bytes before,
 * so every check on the result sees exactly what a fresh decode would give.
 *
 * Thread-safe: `lock` guards the table (a lookup, an insertion), never a
 * decode. Entries are never removed while the pool lives. The certificates
 * are handed out as new references and read by several threads at once,
 * as this project has always shared decoded certificates: OpenSSL 3 fills a
 * certificate's extension cache under the certificate's own lock, and the
 * pool fills it before inserting (x509_cache_extensions), so that no two
 * threads' first path validations race to fill it.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/cleanup.h"
#include "dga/x509.h"
#include "x509/internal.h"

/*
 * Two tiers, so that per-device certificates never crowd out the shared
 * ones: a long-running server meets a new GPU leaf and BROM (or a new
 * platform's PCK certificate) with every new machine, but the same few CA
 * certificates all the time. Each tier is an open-addressed table of twice
 * its bound in slots.
 */
#define POOL_SHARED_MAX 256
#define POOL_DEVICE_MAX 1024

struct pooled_cert {
    unsigned char *der; /* NULL: an empty slot */
    size_t len;
    uint64_t hash;
    X509 *x;
};

struct pool_tier {
    size_t n, max, mask;
    struct pooled_cert *slot; /* 2 * max */
};

struct dga_cert_pool {
    pthread_mutex_t lock;
    bool frozen; /* the shared tier answers lookups only */
    struct pool_tier shared, device;
};

static bool tier_init(struct pool_tier *t, size_t max)
{
    t->max = max;
    t->mask = 2 * max - 1;
    t->slot = calloc(2 * max, sizeof *t->slot);
    return t->slot != NULL;
}

static void tier_clear(struct pool_tier *t)
{
    for (size_t i = 0; t->slot != NULL && i <= t->mask; i++) {
        free(t->slot[i].der);
        X509_free(t->slot[i].x);
    }
    free(t->slot);
}

dga_err dga_cert_pool_new(struct dga_cert_pool **ret)
{
    if (ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct dga_cert_pool *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return DGA_E_NOMEM;
    }
    if (!tier_init(&p->shared, POOL_SHARED_MAX) || !tier_init(&p->device, POOL_DEVICE_MAX) ||
        pthread_mutex_init(&p->lock, NULL) != 0) {
        tier_clear(&p->shared);
        tier_clear(&p->device);
        free(p);
        return DGA_E_NOMEM;
    }
    *ret = p;
    return DGA_E_OK;
}

void dga_cert_pool_free(struct dga_cert_pool *p)
{
    if (p == NULL) {
        return;
    }
    tier_clear(&p->shared);
    tier_clear(&p->device);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

uint64_t x509_key_hash(const unsigned char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ key[i]) * 0x100000001b3u;
    }
    return h;
}

/*
 * The slot holding exactly these bytes, else the empty slot where they would
 * go (a tier never fills more than half its slots). Call with p->lock held.
 */
static struct pooled_cert *slot_locked(const struct pool_tier *t, const unsigned char *der,
                                       size_t len, uint64_t hash)
{
    for (size_t k = 0; k <= t->mask; k++) {
        struct pooled_cert *c = &t->slot[(hash + k) & t->mask];
        if (c->der == NULL || (c->hash == hash && c->len == len && memcmp(c->der, der, len) == 0)) {
            return c;
        }
    }
    return NULL;
}

/* Call with p->lock held: the certificate of these bytes in either tier, or NULL. */
static X509 *find_locked(const struct dga_cert_pool *p, const unsigned char *der, size_t len,
                         uint64_t hash)
{
    const struct pooled_cert *c = slot_locked(&p->shared, der, len, hash);
    if (c != NULL && c->der != NULL) {
        return c->x;
    }
    c = slot_locked(&p->device, der, len, hash);
    return c != NULL ? c->x : NULL; /* an empty slot's x is NULL */
}

/* The certificate decoded from these bytes before, as a new reference; NULL if none. */
static X509 *pool_get(struct dga_cert_pool *p, const unsigned char *der, size_t len, uint64_t hash)
{
    if (p == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&p->lock);
    X509 *x = find_locked(p, der, len, hash);
    if (x != NULL && X509_up_ref(x) != 1) {
        x = NULL; /* decoded afresh instead */
    }
    pthread_mutex_unlock(&p->lock);
    return x;
}

/* Call with p->lock held: x kept in tier t under copy (taken), unless full or there already. */
static bool keep_locked(struct dga_cert_pool *p, struct pool_tier *t, unsigned char *copy,
                        size_t len, uint64_t hash, X509 *x)
{
    if (t->n >= t->max || find_locked(p, copy, len, hash) != NULL) {
        return false;
    }
    struct pooled_cert *c = slot_locked(t, copy, len, hash);
    if (c == NULL || X509_up_ref(x) != 1) {
        return false;
    }
    *c = (struct pooled_cert){.der = copy, .len = len, .hash = hash, .x = x};
    t->n++;
    return true;
}

/*
 * Remembers x under a copy of der (made before taking the lock), in the
 * shared tier or the per-device one; a full tier, a frozen pool's shared
 * tier (or no memory) just stops remembering, and so does one where another
 * thread remembered the same bytes meanwhile: the first entry stays.
 */
static void pool_remember(struct dga_cert_pool *p, bool device, const unsigned char *der,
                          size_t len, uint64_t hash, X509 *x)
{
    if (p == NULL) {
        return;
    }
    unsigned char *copy = malloc(len);
    if (copy == NULL) {
        return;
    }
    memcpy(copy, der, len);
    x509_cache_extensions(x); /* before another thread can get x */
    pthread_mutex_lock(&p->lock);
    bool kept = device ? keep_locked(p, &p->device, copy, len, hash, x)
                       : !p->frozen && keep_locked(p, &p->shared, copy, len, hash, x);
    pthread_mutex_unlock(&p->lock);
    if (!kept) {
        free(copy);
    }
}

static dga_err pool_decode(struct dga_cert_pool *p, bool device, const unsigned char *der,
                           size_t len, X509 **ret)
{
    if (der == NULL || len == 0 || len > LONG_MAX || ret == NULL) {
        return DGA_E_BAD_CERT;
    }
    uint64_t hash = p != NULL ? x509_key_hash(der, len) : 0;
    X509 *x = pool_get(p, der, len, hash);
    if (x != NULL) {
        *ret = x;
        return DGA_E_OK;
    }
    const unsigned char *cur = der;
    x = d2i_X509(NULL, &cur, (long)len);
    if (x == NULL || cur != der + len) {
        X509_free(x);
        ERR_clear_error();
        return DGA_E_BAD_CERT;
    }
    pool_remember(p, device, der, len, hash, x);
    *ret = x;
    return DGA_E_OK;
}

dga_err dga_cert_pool_decode(struct dga_cert_pool *p, const unsigned char *der, size_t len,
                             X509 **ret)
{
    return pool_decode(p, false, der, len, ret);
}

dga_err dga_cert_pool_decode_device(struct dga_cert_pool *p, const unsigned char *der, size_t len,
                                    X509 **ret)
{
    return pool_decode(p, true, der, len, ret);
}

void x509_cache_extensions(X509 *x)
{
    (void)X509_check_purpose(x, -1, 0); /* -1: only the extension cache */
    ERR_clear_error();
}

void dga_cert_pool_freeze(struct dga_cert_pool *p)
{
    if (p != NULL) {
        pthread_mutex_lock(&p->lock);
        p->frozen = true;
        pthread_mutex_unlock(&p->lock);
    }
}

dga_err dga_cert_pool_add(struct dga_cert_pool *p, X509 *x)
{
    if (p == NULL || x == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    if (len <= 0) {
        ERR_clear_error();
        return DGA_E_BAD_CERT;
    }
    /* not when the same bytes are there already */
    pool_remember(p, false, der, (size_t)len, x509_key_hash(der, (size_t)len), x);
    return DGA_E_OK;
}
