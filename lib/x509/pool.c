/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A per-run pool of decoded certificates, keyed by their exact DER bytes.
 *
 * Why: OpenSSL 3.0 decodes a certificate's public key through its provider
 * decoder framework, which costs about a sixth of a P-384 signature
 * verification per certificate, and one run meets the same CA certificates
 * again and again: every GPU's chain above its BROM certificate, the L3 and
 * L2 of both RIMs of a GPU, and the compiled-in roots that chains present a
 * copy of. A hit returns the certificate decoded from the same bytes before,
 * so every check on the result sees exactly what a fresh decode would give.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "core/cleanup.h"
#include "dga/x509.h"

#define POOL_MAX_CERTS 64

struct pooled_cert {
    unsigned char *der;
    size_t len;
    X509 *x;
};

struct dga_cert_pool {
    bool frozen; /* lookups only: shared read-only between threads */
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
    free(p);
}

static X509 *pool_find(const struct dga_cert_pool *p, const unsigned char *der, size_t len)
{
    for (size_t i = 0; p != NULL && i < p->n; i++) {
        if (p->c[i].len == len && memcmp(p->c[i].der, der, len) == 0) {
            return p->c[i].x;
        }
    }
    return NULL;
}

/* Remembers x under a copy of der; a full pool (or no memory) just stops remembering. */
static void pool_remember(struct dga_cert_pool *p, const unsigned char *der, size_t len, X509 *x)
{
    if (p == NULL || p->frozen || p->n == POOL_MAX_CERTS) {
        return;
    }
    unsigned char *copy = malloc(len);
    if (copy == NULL) {
        return;
    }
    if (X509_up_ref(x) != 1) {
        free(copy);
        return;
    }
    memcpy(copy, der, len);
    p->c[p->n++] = (struct pooled_cert){.der = copy, .len = len, .x = x};
}

dga_err dga_cert_pool_decode(struct dga_cert_pool *p, const unsigned char *der, size_t len,
                             X509 **ret)
{
    if (der == NULL || len == 0 || len > LONG_MAX || ret == NULL) {
        return DGA_E_BAD_CERT;
    }
    X509 *x = pool_find(p, der, len);
    if (x != NULL) {
        if (X509_up_ref(x) != 1) {
            return DGA_E_INTERNAL;
        }
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

void dga_cert_pool_freeze(struct dga_cert_pool *p)
{
    if (p != NULL) {
        p->frozen = true;
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
    if (pool_find(p, der, (size_t)len) == NULL) {
        pool_remember(p, der, (size_t)len, x);
    }
    return DGA_E_OK;
}
