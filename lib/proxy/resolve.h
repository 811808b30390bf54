/* SPDX-License-Identifier: Apache-2.0 */
/* The proxy's caching decisions (resolve.c), shared by the HTTP handler and the refresher. */
#ifndef DGA_PROXY_RESOLVE_H
#define DGA_PROXY_RESOLVE_H

#include <pthread.h>

#include "proxy/internal.h"

struct flight;

/* The state the HTTP threads and the refresher share; mu guards cache and flights. */
struct proxy_core {
    const struct dga_proxy_config *cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a flight finished */
    struct cache *cache;
    struct flight *flights;
};

/* What a client wants: the key and what to ask upstream for it. */
struct want {
    enum dga_proxy_kind kind;
    uint8_t key[32];
    const uint8_t *ocsp; /* OCSP: the DER request to forward */
    size_t ocsp_len;
    const char *rim_id; /* RIM */
};

/* What to answer. */
struct outcome {
    int status;
    struct body *body; /* one reference, released by outcome_clear */
    char content_type[CONTENT_TYPE_MAX];
    const char *cache; /* X-Dstack-Cache: HIT, MISS, REFRESH or STALE */
    bool cached;       /* from a cache entry: the times below are meaningful */
    time_t fetched_at, expires_at, this_update;
};

/*
 * Answers a want from the cache or upstream (one upstream request for all
 * concurrent wants of the same key). force: refetch even a fresh entry
 * (the background refresher).
 */
void proxy_resolve(struct proxy_core *pc, const struct want *w, bool force, struct outcome *o);
void outcome_clear(struct outcome *o);

#endif
