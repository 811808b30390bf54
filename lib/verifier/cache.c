/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsed quote collateral shared across requests. The key is the SHA-256 of
 * the document's exact bytes, so a document that changes on disk (a refresh
 * by `collateral fetch-tdx`) is parsed anew, and what a request gets is what
 * parsing its bytes would give. Only the parse is kept: dga_quote_verify
 * still checks every signature and time window at each request's time, so
 * a cached entry can never change a verdict.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "verifier/internal.h"

struct coll_entry {
    atomic_size_t refs; /* the cache's own reference, and one per user */
    uint8_t key[32];
    struct dga_quote_collateral c;
    struct coll_entry *prev, *next; /* most recently used first */
};

struct coll_cache {
    pthread_mutex_t mu;
    size_t max, n;
    size_t hits, misses;
    struct coll_entry *head, *tail;
};

dga_err coll_cache_new(size_t max_entries, struct coll_cache **ret)
{
    if (max_entries == 0) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct coll_cache *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return DGA_E_NOMEM;
    }
    pthread_mutex_init(&c->mu, NULL);
    c->max = max_entries;
    *ret = c;
    return DGA_E_OK;
}

void coll_entry_put(struct coll_entry *e)
{
    if (e != NULL && atomic_fetch_sub(&e->refs, 1) == 1) {
        dga_quote_collateral_clear(&e->c);
        free(e);
    }
}

void coll_cache_free(struct coll_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (struct coll_entry *e = c->head, *next = NULL; e != NULL; e = next) {
        next = e->next;
        coll_entry_put(e);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- the list, under mu ---- */

static void unlink_entry(struct coll_cache *c, struct coll_entry *e)
{
    *(e->prev != NULL ? &e->prev->next : &c->head) = e->next;
    *(e->next != NULL ? &e->next->prev : &c->tail) = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(struct coll_cache *c, struct coll_entry *e)
{
    e->next = c->head;
    e->prev = NULL;
    *(c->head != NULL ? &c->head->prev : &c->tail) = e;
    c->head = e;
}

static struct coll_entry *find(struct coll_cache *c, const uint8_t key[32])
{
    for (struct coll_entry *e = c->head; e != NULL; e = e->next) {
        if (memcmp(e->key, key, 32) == 0) {
            return e;
        }
    }
    return NULL;
}

/* A hit: the entry moves to the front and gains the caller's reference. */
static struct coll_entry *lookup(struct coll_cache *c, const uint8_t key[32])
{
    pthread_mutex_lock(&c->mu);
    struct coll_entry *e = find(c, key);
    if (e != NULL) {
        unlink_entry(c, e);
        push_front(c, e);
        atomic_fetch_add(&e->refs, 1);
        c->hits++;
    }
    pthread_mutex_unlock(&c->mu);
    return e;
}

/*
 * Keeps a fresh parse (refs: the caller's); when another request parsed the
 * same bytes meanwhile, the caller gets that one and *fresh is dropped.
 */
static struct coll_entry *insert(struct coll_cache *c, struct coll_entry *fresh)
{
    struct coll_entry *evicted = NULL;
    pthread_mutex_lock(&c->mu);
    c->misses++;
    struct coll_entry *e = find(c, fresh->key);
    if (e != NULL) {
        atomic_fetch_add(&e->refs, 1);
    } else {
        e = fresh;
        fresh = NULL;
        atomic_fetch_add(&e->refs, 1); /* the cache's */
        push_front(c, e);
        if (++c->n > c->max) {
            evicted = c->tail;
            unlink_entry(c, evicted);
            c->n--;
        }
    }
    pthread_mutex_unlock(&c->mu);
    coll_entry_put(fresh);
    coll_entry_put(evicted); /* freed once its last user is done */
    return e;
}

dga_err coll_cache_get(struct coll_cache *c, const char *text, size_t len,
                       const struct dga_quote_collateral **ret, struct coll_entry **ret_entry,
                       struct dga_diag *diag)
{
    uint8_t key[32];
    if (EVP_Digest(text, len, key, NULL, EVP_sha256(), NULL) != 1) {
        return DGA_E_NOMEM;
    }
    struct coll_entry *e = lookup(c, key);
    if (e == NULL) {
        struct coll_entry *fresh = calloc(1, sizeof *fresh);
        if (fresh == NULL) {
            return DGA_E_NOMEM;
        }
        atomic_init(&fresh->refs, 1);
        memcpy(fresh->key, key, 32);
        dga_err err = dga_quote_collateral_parse(text, len, &fresh->c, diag);
        if (err != DGA_E_OK) {
            coll_entry_put(fresh);
            return err;
        }
        e = insert(c, fresh);
    }
    *ret = &e->c;
    *ret_entry = e;
    return DGA_E_OK;
}

void coll_cache_counts(struct coll_cache *c, size_t *ret_hits, size_t *ret_misses,
                       size_t *ret_entries)
{
    pthread_mutex_lock(&c->mu);
    *ret_hits = c->hits;
    *ret_misses = c->misses;
    *ret_entries = c->n;
    pthread_mutex_unlock(&c->mu);
}
