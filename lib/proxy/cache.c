/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy's in-memory index over the on-disk store: a fixed hash table of
 * entries (bodies held in memory, so a hit costs no I/O), bounded by entry
 * count per kind and total body bytes; the oldest fetched_at goes first, as
 * in dstack. The caller holds the proxy's lock around every call.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/cleanup.h"
#include "dga/rim.h"
#include "dga/util.h"
#include "proxy/internal.h"

#define BUCKETS 16384 /* power of two */

struct cache {
    const struct dga_proxy_config *cfg;
    struct entry *bucket[BUCKETS];
    size_t count[DGA_PROXY_KIND__COUNT];
    size_t bytes;
};

dga_err cache_new(const struct dga_proxy_config *cfg, struct cache **ret)
{
    struct cache *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return DGA_E_NOMEM;
    }
    c->cfg = cfg;
    *ret = c;
    return DGA_E_OK;
}

void cache_free(struct cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < BUCKETS; i++) {
        while (c->bucket[i] != NULL) {
            struct entry *e = c->bucket[i];
            c->bucket[i] = e->next;
            entry_free(e);
        }
    }
    free(c);
}

static size_t bucket_of(enum dga_proxy_kind kind, const uint8_t key[32])
{
    return (((size_t)key[0] << 8 | key[1]) * 2 + (size_t)kind) & (BUCKETS - 1);
}

static struct entry **find_link(struct cache *c, enum dga_proxy_kind kind, const uint8_t key[32])
{
    struct entry **l = &c->bucket[bucket_of(kind, key)];
    while (*l != NULL && ((*l)->kind != kind || memcmp((*l)->key, key, 32) != 0)) {
        l = &(*l)->next;
    }
    return l;
}

struct entry *cache_find(struct cache *c, enum dga_proxy_kind kind, const uint8_t key[32])
{
    return *find_link(c, kind, key);
}

/* Unlinks and frees; with_files also deletes them. */
static void drop(struct cache *c, struct entry **link, bool with_files)
{
    struct entry *e = *link;
    *link = e->next;
    c->count[e->kind]--;
    c->bytes -= e->body->len;
    if (with_files) {
        store_remove(c->cfg->cache_dir, e->kind, e->key);
    }
    entry_free(e);
}

void cache_forget(struct cache *c, enum dga_proxy_kind kind, const uint8_t key[32], bool with_files)
{
    struct entry **l = find_link(c, kind, key);
    if (*l != NULL) {
        drop(c, l, with_files);
    } else if (with_files) {
        store_remove(c->cfg->cache_dir, kind, key);
    }
}

/* The link of the oldest entry of a kind, or of any kind when any_kind. */
static struct entry **oldest(struct cache *c, enum dga_proxy_kind kind, bool any_kind)
{
    struct entry **best = NULL;
    for (size_t i = 0; i < BUCKETS; i++) {
        for (struct entry **l = &c->bucket[i]; *l != NULL; l = &(*l)->next) {
            if ((any_kind || (*l)->kind == kind) &&
                (best == NULL || (*l)->fetched_at < (*best)->fetched_at)) {
                best = l;
            }
        }
    }
    return best;
}

bool cache_insert(struct cache *c, struct entry *e)
{
    struct entry **l = find_link(c, e->kind, e->key);
    if (*l != NULL) {
        drop(c, l, false); /* replaced: the store already holds the new files */
    }
    if (e->body->len > c->cfg->max_cache_bytes) {
        store_remove(c->cfg->cache_dir, e->kind, e->key);
        entry_free(e);
        return false;
    }
    while (c->count[e->kind] >= c->cfg->max_entries_per_kind) {
        drop(c, oldest(c, e->kind, false), true);
    }
    while (c->bytes > c->cfg->max_cache_bytes - e->body->len) {
        drop(c, oldest(c, e->kind, true), true);
    }
    size_t b = bucket_of(e->kind, e->key);
    e->next = c->bucket[b];
    c->bucket[b] = e;
    c->count[e->kind]++;
    c->bytes += e->body->len;
    return true;
}

/*
 * An OCSP entry read from disk must be what its name says (the key is the
 * hash of its request's requestList) and may not live longer than the
 * response allows, whatever its metadata claims.
 */
static dga_err check_ocsp_entry(const struct dga_proxy_config *cfg, struct entry *e)
{
    _cleanup_(freep) uint8_t *der = NULL;
    uint8_t key[32];
    size_t len = 0;
    if (dga_base64_decode(e->source, strlen(e->source), &der, &len) != DGA_E_OK ||
        dga_proxy_ocsp_key(der, len, key) != DGA_E_OK ||
        dga_proxy_ocsp_answers(der, len, e->body->data, e->body->len) != DGA_E_OK ||
        !dga_mem_equal(key, e->key, 32)) {
        return DGA_E_PROXY_CACHE_CORRUPT;
    }
    time_t bound, this_update;
    if (dga_proxy_ocsp_expiry(e->body->data, e->body->len, e->fetched_at, cfg->ocsp_max_ttl,
                              cfg->ocsp_default_ttl, &bound, &this_update) != DGA_E_OK) {
        return DGA_E_PROXY_CACHE_CORRUPT;
    }
    e->expires_at = e->expires_at < bound ? e->expires_at : bound;
    e->this_update = this_update;
    return DGA_E_OK;
}

/*
 * A RIM entry read from disk must be what its name says: the key is the
 * SHA-256 of the id it records, and the document is the service's answer
 * for that id. A pair renamed to another id's key is dropped, not served.
 */
static dga_err check_rim_entry(struct entry *e)
{
    uint8_t key[32];
    if (!dga_rim_id_valid(e->source) ||
        EVP_Digest(e->source, strlen(e->source), key, NULL, EVP_sha256(), NULL) != 1 ||
        !dga_mem_equal(key, e->key, 32) ||
        dga_proxy_rim_answers(e->body->data, e->body->len, e->source) != DGA_E_OK) {
        return DGA_E_PROXY_CACHE_CORRUPT;
    }
    return DGA_E_OK;
}

static void load_one(struct cache *c, enum dga_proxy_kind kind, const char *name, time_t now)
{
    const struct dga_proxy_config *cfg = c->cfg;
    size_t cap = kind == DGA_PROXY_KIND_OCSP ? cfg->max_ocsp_response : cfg->max_rim_response;
    struct entry *e = NULL;
    dga_err err = store_read(cfg->cache_dir, kind, name, cap, &e);
    if (err == DGA_E_OK) {
        err = kind == DGA_PROXY_KIND_OCSP ? check_ocsp_entry(cfg, e) : check_rim_entry(e);
    }
    if (err != DGA_E_OK) {
        /* Never served: deleted, so the next request refetches it. */
        proxy_log(cfg, "cache: dropping %s/%s: %s", proxy_kind_dir[kind], name, dga_err_name(err));
        char path[DGA_PROXY_PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s/%s", cfg->cache_dir, proxy_kind_dir[kind], name);
        unlink(path);
        if (strlen(name) == 64 + 5) {
            snprintf(path, sizeof path, "%s/%s/%.64s.body", cfg->cache_dir, proxy_kind_dir[kind],
                     name);
            unlink(path);
        }
        entry_free(e);
        return;
    }
    if (now >= entry_servable_until(c->cfg, e)) {
        store_remove(cfg->cache_dir, kind, e->key);
        entry_free(e);
        return;
    }
    cache_insert(c, e);
}

/* Leftovers of interrupted writes (".<name>.XXXXXX") and bodies without metadata. */
static void remove_orphan(const char *dir, const char *name)
{
    char path[DGA_PROXY_PATH_MAX + 300];
    size_t n = strlen(name);
    bool tmp = name[0] == '.' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
    bool body = n > 5 && strcmp(name + n - 5, ".body") == 0;
    if (!tmp && !body) {
        return;
    }
    if (body) {
        snprintf(path, sizeof path, "%s/%.*s.json", dir, (int)(n - 5), name);
        if (access(path, F_OK) == 0) {
            return;
        }
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

static dga_err load_kind(struct cache *c, enum dga_proxy_kind kind, time_t now)
{
    char dir[DGA_PROXY_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/%s", c->cfg->cache_dir, proxy_kind_dir[kind]);
    DIR *d = opendir(dir);
    if (d == NULL) {
        return DGA_E_IO;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0 && de->d_name[0] != '.') {
            load_one(c, kind, de->d_name, now);
        }
    }
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        remove_orphan(dir, de->d_name);
    }
    closedir(d);
    return DGA_E_OK;
}

dga_err cache_load(struct cache *c, time_t now)
{
    dga_err e = store_prepare(c->cfg->cache_dir);
    for (int k = 0; k < DGA_PROXY_KIND__COUNT && e == DGA_E_OK; k++) {
        e = load_kind(c, (enum dga_proxy_kind)k, now);
    }
    return e;
}

void cache_counts(struct cache *c, enum dga_proxy_kind kind, time_t now, size_t *ret_fresh,
                  size_t *ret_stale)
{
    size_t fresh = 0, stale = 0;
    for (size_t i = 0; i < BUCKETS; i++) {
        for (struct entry *e = c->bucket[i]; e != NULL; e = e->next) {
            if (e->kind == kind) {
                fresh += now < e->expires_at;
                stale += now >= e->expires_at;
            }
        }
    }
    *ret_fresh = fresh;
    *ret_stale = stale;
}

static bool half_life_passed(const struct entry *e, time_t now)
{
    time_t life = e->expires_at - e->fetched_at;
    return life <= 0 || now - e->fetched_at >= life / 2;
}

dga_err cache_sweep(struct cache *c, time_t now, struct refresh_item **ret, size_t *ret_n)
{
    size_t total = c->count[0] + c->count[1], n = 0;
    struct refresh_item *items = calloc(total + 1, sizeof *items);
    if (items == NULL) {
        return DGA_E_NOMEM;
    }
    for (size_t i = 0; i < BUCKETS; i++) {
        struct entry **l = &c->bucket[i];
        while (*l != NULL) {
            struct entry *e = *l;
            if (now >= entry_servable_until(c->cfg, e)) {
                drop(c, l, true);
                continue;
            }
            if (half_life_passed(e, now) && (items[n].source = strdup(e->source)) != NULL) {
                items[n].kind = e->kind;
                memcpy(items[n].key, e->key, 32);
                n++;
            }
            l = &e->next;
        }
    }
    *ret = items;
    *ret_n = n;
    return DGA_E_OK;
}
