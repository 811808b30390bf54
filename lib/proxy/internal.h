/* SPDX-License-Identifier: Apache-2.0 */
/* What the proxy's modules share: bodies, cache entries, the store, the upstream client. */
#ifndef DGA_PROXY_INTERNAL_H
#define DGA_PROXY_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "dga/proxy.h"

/*
 * An immutable, reference-counted response body: a request being answered
 * keeps its body alive while a refresh replaces the cache entry.
 */
struct body {
    atomic_size_t refs;
    size_t len;
    uint8_t data[];
};

struct body *body_new(const uint8_t *data, size_t len);
struct body *body_ref(struct body *b);
void body_unref(struct body *b);

#define CONTENT_TYPE_MAX 128
#define SOURCE_MAX (4 * (DGA_PROXY_REQUEST_MAX / 3 + 3) + 1) /* base64 of a request */

/* One cached response. */
struct entry {
    enum dga_proxy_kind kind;
    uint8_t key[32];
    struct body *body;
    uint8_t body_sha256[32];
    char content_type[CONTENT_TYPE_MAX];
    time_t fetched_at;
    time_t expires_at;
    time_t this_update; /* OCSP: earliest thisUpdate (Last-Modified); 0 for RIMs */
    char *source;       /* OCSP: base64 of the request; RIM: the id (for refresh) */
    struct entry *next; /* hash chain */
};

void entry_free(struct entry *e);

/*
 * The instant from which an entry may no longer be served in any way: its
 * expiry for OCSP; for a RIM, its expiry plus rim-max-stale (STALE answers).
 */
time_t entry_servable_until(const struct dga_proxy_config *c, const struct entry *e);

/* ---- the on-disk store: <dir>/{ocsp,rim}/<hex key>.body + .json ---- */

extern const char *const proxy_kind_dir[DGA_PROXY_KIND__COUNT];

/* Creates <dir>, <dir>/ocsp and <dir>/rim (0700) when missing. */
dga_err store_prepare(const char *dir);
/*
 * Writes body then metadata, each with dga_file_write_atomic (temporary file,
 * fsync, rename, fsync of the directory).
 */
dga_err store_write(const char *dir, const struct entry *e);
/* Removes an entry's files (missing files are fine). */
void store_remove(const char *dir, enum dga_proxy_kind kind, const uint8_t key[32]);
/*
 * Reads one entry by its metadata file name (<hex>.json): the JSON must be
 * well-formed with every field, the body within body_cap and its SHA-256
 * equal to body_sha256. DGA_E_PROXY_CACHE_CORRUPT otherwise (the caller
 * deletes it).
 */
dga_err store_read(const char *dir, enum dga_proxy_kind kind, const char *json_name,
                   size_t body_cap, struct entry **ret);

/* ---- the upstream client (dga_http_exchange, lib/collateral/http.c) ---- */

struct upstream_request {
    const char *url;
    const uint8_t *post; /* NULL = GET */
    size_t post_len;
    const char *content_type; /* of post */
    const char *accept;
    size_t cap;       /* response body limit */
    bool service_key; /* send the configured service key (the RIM service only) */
};

struct upstream_response {
    long status;   /* HTTP status; 0 when the request failed */
    uint8_t *body; /* malloc'd */
    size_t len;
    char content_type[CONTENT_TYPE_MAX];
};

/* DGA_E_PROXY_UPSTREAM (network error, timeout), DGA_E_TOO_LARGE, DGA_E_NOMEM. */
dga_err upstream_fetch(const struct dga_proxy_config *c, const struct upstream_request *r,
                       struct upstream_response *ret);
void upstream_response_free(struct upstream_response *r);

/* ---- the in-memory index (cache.c); every call is made under the proxy's lock ---- */

struct cache;

dga_err cache_new(const struct dga_proxy_config *cfg, struct cache **ret);
void cache_free(struct cache *c);
struct entry *cache_find(struct cache *c, enum dga_proxy_kind kind, const uint8_t key[32]);
/*
 * Takes e (replacing an entry with the same key) and evicts the oldest
 * fetched_at entries, files included, until the bounds hold. False (e is
 * freed) when e alone exceeds max-cache-bytes.
 */
bool cache_insert(struct cache *c, struct entry *e);
/*
 * Drops an entry from memory and, with_files, from disk (not while a flight
 * for the key may be writing new files).
 */
void cache_forget(struct cache *c, enum dga_proxy_kind kind, const uint8_t key[32],
                  bool with_files);
/* Reads the directory at startup; corrupt and useless entries are deleted and logged. */
dga_err cache_load(struct cache *c, time_t now);
/* Fresh (now < expires_at) and held-but-expired entries of one kind. */
void cache_counts(struct cache *c, enum dga_proxy_kind kind, time_t now, size_t *ret_fresh,
                  size_t *ret_stale);

/* What the background refresher renews: a copy of an entry's identity and source. */
struct refresh_item {
    enum dga_proxy_kind kind;
    uint8_t key[32];
    char *source;
};
/*
 * Deletes entries past their usefulness (OCSP: expired; RIM: expired longer
 * than rim-max-stale) and lists those past half their lifetime. *ret is
 * malloc'd; free each source and the array.
 */
dga_err cache_sweep(struct cache *c, time_t now, struct refresh_item **ret, size_t *ret_n);

/* Logs through the configured callback (printf format; log.c). */
__attribute__((format(printf, 2, 3))) void proxy_log(const struct dga_proxy_config *c,
                                                     const char *fmt, ...);

#endif
