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
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/cleanup.h"
#include "dga/x509.h"
#include "x509/internal.h"

#define POOL_MAX_CERTS 64

struct pooled_cert {
    unsigned char *der;
    size_t len;
    X509 *x;
};

struct dga_cert_pool {
    pthread_mutex_t lock;
    bool frozen; /* lookups only */
    size_t n;
    struct pooled_cert c[POOL_MAX_CERTS];
};

dga_err dga_cert_pool_new(struct dga_cert_pool **ret)
{
    if (ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct dga_cert_pool *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return DGA_E_NOMEM;
    }
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
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
    for (size_t i = 0; i < p->n; i++) {
        free(p->c[i].der);
        X509_free(p->c[i].x);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Call with p->lock held. */
static X509 *find_locked(const struct dga_cert_pool *p, const unsigned char *der, size_t len)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->c[i].len == len && memcmp(p->c[i].der, der, len) == 0) {
            return p->c[i].x;
        }
    }
    return NULL;
}

/* The certificate decoded from these bytes before, as a new reference; NULL if none. */
static X509 *pool_get(struct dga_cert_pool *p, const unsigned char *der, size_t len)
{
    if (p == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&p->lock);
    X509 *x = find_locked(p, der, len);
    if (x != NULL && X509_up_ref(x) != 1) {
        x = NULL; /* decoded afresh instead */
    }
    pthread_mutex_unlock(&p->lock);
    return x;
}

/*
 * Remembers x under a copy of der (made before taking the lock); a full or
 * frozen pool (or no memory) just stops remembering, and so does one where
 * another thread remembered the same bytes meanwhile: the first entry stays.
 */
static void pool_remember(struct dga_cert_pool *p, const unsigned char *der, size_t len, X509 *x)
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
    bool keep = !p->frozen && p->n < POOL_MAX_CERTS && find_locked(p, der, len) == NULL &&
                X509_up_ref(x) == 1;
    if (keep) {
        p->c[p->n++] = (struct pooled_cert){.der = copy, .len = len, .x = x};
    }
    pthread_mutex_unlock(&p->lock);
    if (!keep) {
        free(copy);
    }
}

dga_err dga_cert_pool_decode(struct dga_cert_pool *p, const unsigned char *der, size_t len,
                             X509 **ret)
{
    if (der == NULL || len == 0 || len > LONG_MAX || ret == NULL) {
        return DGA_E_BAD_CERT;
    }
    X509 *x = pool_get(p, der, len);
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
    pool_remember(p, der, len, x);
    *ret = x;
    return DGA_E_OK;
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
    pool_remember(p, der, (size_t)len, x); /* not when the same bytes are there already */
    return DGA_E_OK;
}
