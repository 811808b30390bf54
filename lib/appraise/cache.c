/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-run verification cache: RIM verdicts keyed by the SHA-256 of the
 * document bytes, the verified device and RIM chain suffixes, and the
 * decoded certificates (lib/x509). The verdicts and suffixes are only sound
 * for one RIM root and one verification time, fixed at creation.
 */
#include <stdlib.h>
#include <string.h>

#include "appraise/cache.h"

#define CACHE_MAX_RIMS 64

struct cached_rim {
    uint8_t key[32];
    struct rim_verdict v;
};

struct dga_verify_cache {
    X509 *rim_root;
    time_t at;
    struct dga_chain_cache *chains;
    struct dga_cert_pool *certs;
    size_t n_rims;
    struct cached_rim *rims[CACHE_MAX_RIMS];
};

dga_err dga_verify_cache_new(const struct dga_trust *rim_trust, time_t at,
                             struct dga_verify_cache **ret)
{
    if (rim_trust == NULL || rim_trust->root == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct dga_verify_cache *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = dga_chain_cache_new(&c->chains);
    if (e == DGA_E_OK) {
        e = dga_cert_pool_new(&c->certs);
    }
    if (e == DGA_E_OK) {
        e = dga_cert_pool_add(c->certs, rim_trust->root); /* the copy each RIM presents */
    }
    if (e == DGA_E_OK && X509_up_ref(rim_trust->root) != 1) {
        e = DGA_E_INTERNAL;
    }
    if (e != DGA_E_OK) {
        dga_cert_pool_free(c->certs);
        dga_chain_cache_free(c->chains);
        free(c);
        return e;
    }
    c->rim_root = rim_trust->root;
    c->at = at;
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
    free(c);
}

bool verify_cache_matches(const struct dga_verify_cache *c, const struct dga_appraise_options *opt)
{
    return opt->rim_trust != NULL && opt->rim_trust->root != NULL && opt->verify.at == c->at &&
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

const struct rim_verdict *verify_cache_find(const struct dga_verify_cache *c, const uint8_t key[32])
{
    for (size_t i = 0; i < c->n_rims; i++) {
        if (memcmp(c->rims[i]->key, key, sizeof c->rims[i]->key) == 0) {
            return &c->rims[i]->v;
        }
    }
    return NULL;
}

const struct rim_verdict *verify_cache_add(struct dga_verify_cache *c, const uint8_t key[32],
                                           const struct rim_verdict *v)
{
    if (c->n_rims == CACHE_MAX_RIMS) {
        return NULL;
    }
    struct cached_rim *r = malloc(sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    memcpy(r->key, key, sizeof r->key);
    r->v = *v;
    c->rims[c->n_rims++] = r;
    return &r->v;
}
