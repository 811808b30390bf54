/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The caching decisions: serve from the cache, or fetch once for every
 * client that wants the same key at the same time (a "flight"), then decide
 * what to answer and what to keep, with dstack's rules:
 *   OCSP: only successful, currently valid responses are kept; an expired
 *         entry is never served; within refresh-before of expiry the entry
 *         is refreshed synchronously and, if that fails, still served.
 *   RIM:  fresh for rim-ttl; on a network error or 5xx an expired entry is
 *         served for up to rim-max-stale more (STALE); a 4xx passes through.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/codec.h"
#include "dga/util.h"
#include "proxy/resolve.h"

struct flight {
    enum dga_proxy_kind kind;
    uint8_t key[32];
    bool done;
    unsigned users; /* the leader and every waiter */
    struct outcome out;
    struct flight *next;
};

void outcome_clear(struct outcome *o)
{
    body_unref(o->body);
    memset(o, 0, sizeof *o);
}

static void outcome_copy(struct outcome *dst, const struct outcome *src)
{
    *dst = *src;
    if (dst->body != NULL) {
        body_ref(dst->body);
    }
}

static void outcome_from_entry(struct outcome *o, const struct entry *e, const char *cache)
{
    memset(o, 0, sizeof *o);
    o->status = 200;
    o->body = body_ref(e->body);
    memcpy(o->content_type, e->content_type, sizeof o->content_type);
    o->cache = cache;
    o->cached = true;
    o->fetched_at = e->fetched_at;
    o->expires_at = e->expires_at;
    o->this_update = e->this_update;
}

/* A pass-through of what upstream said (or 502), not cached. */
static void outcome_pass(struct outcome *o, long status, const uint8_t *body, size_t len,
                         const char *content_type)
{
    memset(o, 0, sizeof *o);
    o->status = status >= 100 && status <= 599 ? (int)status : 502;
    o->body = body_new(body, len);
    snprintf(o->content_type, sizeof o->content_type, "%s", content_type);
    o->cache = "MISS";
}

/* ---- upstream ---- */

static dga_err fetch(struct proxy_core *pc, const struct want *w, struct upstream_response *r)
{
    const struct dga_proxy_config *c = pc->cfg;
    struct upstream_request req = {0};
    char url[DGA_PROXY_URL_MAX + DGA_RIM_ID_MAX + 16];
    if (w->kind == DGA_PROXY_KIND_OCSP) {
        req.url = c->ocsp_url;
        req.post = w->ocsp;
        req.post_len = w->ocsp_len;
        req.content_type = "application/ocsp-request";
        req.accept = "application/ocsp-response";
        req.cap = c->max_ocsp_response;
    } else {
        size_t n = strlen(c->rim_url);
        bool slash = n > 0 && c->rim_url[n - 1] == '/';
        snprintf(url, sizeof url, "%s%sv1/rim/%s", c->rim_url, slash ? "" : "/", w->rim_id);
        req.url = url;
        req.accept = "application/json";
        req.cap = c->max_rim_response;
        req.service_key = true;
    }
    return upstream_fetch(c, &req, r);
}

/* A new cache entry for a body that upstream returned. */
static struct entry *new_entry(const struct want *w, const struct upstream_response *r, time_t now,
                               time_t expires, time_t this_update)
{
    struct entry *e = calloc(1, sizeof *e);
    if (e == NULL) {
        return NULL;
    }
    e->kind = w->kind;
    memcpy(e->key, w->key, 32);
    e->fetched_at = now;
    e->expires_at = expires;
    e->this_update = this_update;
    const char *ct = w->kind == DGA_PROXY_KIND_OCSP ? "application/ocsp-response"
                     : r->content_type[0] != '\0'   ? r->content_type
                                                    : "application/json";
    snprintf(e->content_type, sizeof e->content_type, "%s", ct);
    e->body = body_new(r->body, r->len);
    if (w->kind == DGA_PROXY_KIND_OCSP) {
        base64_encode(w->ocsp, w->ocsp_len, &e->source); /* NULL on failure, checked below */
    } else {
        e->source = strdup(w->rim_id);
    }
    if (e->body == NULL || e->source == NULL ||
        EVP_Digest(r->body, r->len, e->body_sha256, NULL, EVP_sha256(), NULL) != 1) {
        entry_free(e);
        return NULL;
    }
    return e;
}

/* What to answer after an OCSP fetch; *ret_new is set when the answer is to be kept. */
static void decide_ocsp(struct proxy_core *pc, const struct want *w, dga_err fe,
                        const struct upstream_response *r, const struct entry *old, time_t now,
                        struct outcome *o, struct entry **ret_new)
{
    const struct dga_proxy_config *c = pc->cfg;
    time_t expires = 0, this_update = 0;
    bool usable = fe == DGA_E_OK && r->status == 200 &&
                  dga_proxy_ocsp_expiry(r->body, r->len, now, c->ocsp_max_ttl, c->ocsp_default_ttl,
                                        &expires, &this_update) == DGA_E_OK &&
                  dga_proxy_ocsp_answers(w->ocsp, w->ocsp_len, r->body, r->len) == DGA_E_OK;
    if (usable && (*ret_new = new_entry(w, r, now, expires, this_update)) != NULL) {
        outcome_from_entry(o, *ret_new, old != NULL ? "REFRESH" : "MISS");
        return;
    }
    if (old != NULL) { /* the refresh failed; the entry is still valid (checked by the caller) */
        proxy_log(c, "ocsp: refresh failed (%s, HTTP %ld); serving the cached answer",
                  dga_err_name(fe), r->status);
        outcome_from_entry(o, old, "HIT");
        return;
    }
    if (fe != DGA_E_OK) {
        proxy_log(c, "ocsp: upstream %s: %s", c->ocsp_url, dga_err_name(fe));
        outcome_pass(o, 502, (const uint8_t *)"bad gateway\n", 12, "text/plain");
        return;
    }
    outcome_pass(o, r->status, r->body, r->len, "application/ocsp-response");
}

static void decide_rim(struct proxy_core *pc, const struct want *w, dga_err fe,
                       const struct upstream_response *r, const struct entry *old, time_t now,
                       struct outcome *o, struct entry **ret_new)
{
    const struct dga_proxy_config *c = pc->cfg;
    /* only an answer for the id asked for is kept: else it is relayed, uncached */
    if (fe == DGA_E_OK && r->status == 200 &&
        dga_proxy_rim_answers(r->body, r->len, w->rim_id) == DGA_E_OK &&
        (*ret_new = new_entry(w, r, now, now + (time_t)c->rim_ttl, 0)) != NULL) {
        outcome_from_entry(o, *ret_new, old != NULL ? "REFRESH" : "MISS");
        return;
    }
    bool upstream_failed = fe != DGA_E_OK || r->status >= 500;
    if (old != NULL && upstream_failed) {
        proxy_log(c, "rim %s: upstream failed (%s, HTTP %ld); serving the cached copy", w->rim_id,
                  dga_err_name(fe), r->status);
        outcome_from_entry(o, old, now < old->expires_at ? "HIT" : "STALE");
        return;
    }
    if (fe != DGA_E_OK) {
        proxy_log(c, "rim %s: upstream %s: %s", w->rim_id, c->rim_url, dga_err_name(fe));
        outcome_pass(o, 502, (const uint8_t *)"bad gateway\n", 12, "text/plain");
        return;
    }
    outcome_pass(o, r->status, r->body, r->len,
                 r->content_type[0] != '\0' ? r->content_type : "application/json");
}

/* ---- flights ---- */

static struct flight *find_flight(struct proxy_core *pc, const struct want *w)
{
    struct flight *f = pc->flights;
    while (f != NULL && (f->kind != w->kind || memcmp(f->key, w->key, 32) != 0)) {
        f = f->next;
    }
    return f;
}

static void leave_flight(struct proxy_core *pc, struct flight *f)
{
    if (--f->users > 0) {
        return;
    }
    struct flight **l = &pc->flights;
    while (*l != f) {
        l = &(*l)->next;
    }
    *l = f->next;
    outcome_clear(&f->out);
    free(f);
}

/*
 * Leader's work, without the lock: fetch, decide, persist. `old` is a
 * private copy of the entry as it was (or NULL).
 */
static void lead(struct proxy_core *pc, const struct want *w, const struct entry *snap,
                 struct outcome *o, struct entry **ret_new)
{
    struct upstream_response r;
    dga_err fe = fetch(pc, w, &r);
    time_t now = time(NULL); /* after the fetch, which may take long */
    const struct entry *old =
        snap != NULL && now < entry_servable_until(pc->cfg, snap) ? snap : NULL;
    if (w->kind == DGA_PROXY_KIND_OCSP) {
        decide_ocsp(pc, w, fe, &r, old, now, o, ret_new);
    } else {
        decide_rim(pc, w, fe, &r, old, now, o, ret_new);
    }
    upstream_response_free(&r);
    if (*ret_new != NULL && store_write(pc->cfg->cache_dir, *ret_new) != DGA_E_OK) {
        proxy_log(pc->cfg, "cache: cannot write %s entry; serving it from memory only",
                  proxy_kind_dir[w->kind]);
    }
}

/* A private snapshot of an entry, so that the leader can work without the lock. */
static struct entry *snapshot(const struct entry *e)
{
    if (e == NULL) {
        return NULL;
    }
    struct entry *s = malloc(sizeof *s);
    if (s != NULL) {
        *s = *e;
        s->source = NULL;
        s->next = NULL;
        body_ref(s->body);
    }
    return s;
}

/* Called with pc->mu held; returns with it held. */
static void fly(struct proxy_core *pc, const struct want *w, const struct entry *cached,
                struct outcome *o)
{
    struct flight *f = find_flight(pc, w);
    if (f != NULL) { /* someone is already fetching this key: wait for their answer */
        f->users++;
        while (!f->done) {
            pthread_cond_wait(&pc->cv, &pc->mu);
        }
        outcome_copy(o, &f->out);
        leave_flight(pc, f);
        return;
    }
    f = calloc(1, sizeof *f);
    struct entry *old = snapshot(cached);
    if (f == NULL || (cached != NULL && old == NULL)) {
        free(f);
        entry_free(old);
        outcome_pass(o, 503, (const uint8_t *)"out of memory\n", 14, "text/plain");
        return;
    }
    f->kind = w->kind;
    memcpy(f->key, w->key, 32);
    f->users = 1;
    f->next = pc->flights;
    pc->flights = f;
    pthread_mutex_unlock(&pc->mu);

    struct entry *fresh = NULL;
    lead(pc, w, old, &f->out, &fresh);
    entry_free(old);

    pthread_mutex_lock(&pc->mu);
    if (fresh != NULL) {
        cache_insert(pc->cache, fresh);
    }
    f->done = true;
    pthread_cond_broadcast(&pc->cv);
    outcome_copy(o, &f->out);
    leave_flight(pc, f);
}

/*
 * Whether a cached entry is bound to what is asked: a RIM entry records the
 * id it was fetched for (its key is that id's SHA-256, checked on load).
 */
static bool entry_is_for(const struct entry *e, const struct want *w)
{
    return w->kind != DGA_PROXY_KIND_RIM ||
           (e->source != NULL && w->rim_id != NULL && strcmp(e->source, w->rim_id) == 0);
}

void proxy_resolve(struct proxy_core *pc, const struct want *w, bool force, struct outcome *o)
{
    time_t now = time(NULL);
    const struct dga_proxy_config *c = pc->cfg;
    pthread_mutex_lock(&pc->mu);
    struct entry *e = cache_find(pc->cache, w->kind, w->key);
    if (e != NULL && now >= entry_servable_until(c, e)) {
        /* an expired OCSP answer is never served, nor a RIM past rim-max-stale */
        cache_forget(pc->cache, w->kind, w->key, find_flight(pc, w) == NULL);
        e = NULL;
    }
    if (e != NULL && !entry_is_for(e, w)) {
        /* cannot happen through the checks on load and fetch; never served if it does */
        cache_forget(pc->cache, w->kind, w->key, find_flight(pc, w) == NULL);
        e = NULL;
    }
    bool hit =
        e != NULL && now < e->expires_at && !force &&
        !(w->kind == DGA_PROXY_KIND_OCSP && now >= e->expires_at - (time_t)c->ocsp_refresh_before);
    if (hit) {
        outcome_from_entry(o, e, "HIT");
    } else {
        fly(pc, w, e, o);
    }
    pthread_mutex_unlock(&pc->mu);
}
