/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy's HTTP side, on the service layer's server (dga/service.h: a
 * thread per connection, so an upstream fetch blocks only its own client,
 * and the slow-client watcher), and the background refresher. libcurl is
 * loaded when the proxy starts (collateral/curl_api.h), not linked: other
 * commands do not pay for it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dga/collateral.h"
#include "dga/service.h"
#include "dga/util.h"
#include "proxy/resolve.h"

struct dga_proxy {
    struct dga_proxy_config cfg;
    struct proxy_core core;
    struct dga_service *svc;
    pthread_t refresher;
    bool refresher_started;
    bool stopping;          /* guarded by core.mu */
    pthread_cond_t stop_cv; /* wakes the refresher to stop */
};

/* ---- responses ---- */

static void release_body(void *cls)
{
    body_unref(cls);
}

static void http_date(time_t t, char out[40])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static const char *status_text(unsigned status)
{
    switch (status) {
    case 400:
        return "bad request\n";
    case 404:
        return "not found\n";
    case 405:
        return "method not allowed\n";
    case 413:
        return "payload too large\n";
    case 415:
        return "unsupported media type: want application/ocsp-request\n";
    default:
        return "service unavailable\n";
    }
}

static void on_error(void *cls, unsigned status, const struct dga_service_request *req,
                     struct dga_service_response *ret)
{
    (void)cls;
    (void)req;
    dga_service_response_text(ret, status, status_text(status));
}

/*
 * Headers of a cached answer. dstack's endpoints forbid downstream caching;
 * the RFC 5019 GET invites it, for no longer than the answer stays valid.
 */
static void add_cache_headers(struct dga_service_response *r, const struct outcome *o,
                              bool http_cacheable)
{
    char v[96], date[40]; /* 96: "public, max-age=" + 20 digits + the directives */
    time_t now = time(NULL);
    (void)dga_service_response_header(r, "X-Dstack-Cache", o->cache);
    if (!o->cached) {
        (void)dga_service_response_header(r, "Cache-Control", "no-store");
        return;
    }
    snprintf(v, sizeof v, "%lld", (long long)(now > o->fetched_at ? now - o->fetched_at : 0));
    (void)dga_service_response_header(r, "Age", v);
    snprintf(v, sizeof v, "%lld", (long long)o->expires_at);
    (void)dga_service_response_header(r, "X-Dstack-Cache-Expires", v);
    if (!http_cacheable || o->expires_at <= now) {
        (void)dga_service_response_header(r, "Cache-Control", "no-store");
        return;
    }
    snprintf(v, sizeof v, "public, max-age=%lld, no-transform, must-revalidate",
             (long long)(o->expires_at - now));
    (void)dga_service_response_header(r, "Cache-Control", v);
    http_date(o->expires_at, date);
    (void)dga_service_response_header(r, "Expires", date);
    if (o->this_update > 0) {
        http_date(o->this_update, date);
        (void)dga_service_response_header(r, "Last-Modified", date);
    }
}

/* The outcome's body goes out by reference: the service unrefs it once sent. */
static dga_err outcome_response(struct outcome *o, bool http_cacheable,
                                struct dga_service_response *ret)
{
    struct body *b = o->body != NULL ? o->body : body_new(NULL, 0);
    o->body = NULL;
    if (b == NULL) {
        return DGA_E_NOMEM;
    }
    ret->status = (unsigned)o->status;
    snprintf(ret->content_type, sizeof ret->content_type, "%s", o->content_type);
    add_cache_headers(ret, o, http_cacheable && o->status == 200);
    ret->body = b->data;
    ret->len = b->len;
    ret->release = release_body;
    ret->release_cls = b;
    return DGA_E_OK;
}

static dga_err info_response(struct dga_proxy *p, struct dga_service_response *ret)
{
    size_t fresh[DGA_PROXY_KIND__COUNT], stale[DGA_PROXY_KIND__COUNT];
    time_t now = time(NULL);
    pthread_mutex_lock(&p->core.mu);
    for (int k = 0; k < DGA_PROXY_KIND__COUNT; k++) {
        cache_counts(p->core.cache, (enum dga_proxy_kind)k, now, &fresh[k], &stale[k]);
    }
    pthread_mutex_unlock(&p->core.mu);
    char *text = NULL;
    if (asprintf(&text, "ocsp: %zu fresh, %zu stale\nrim: %zu fresh, %zu stale\n",
                 fresh[DGA_PROXY_KIND_OCSP], stale[DGA_PROXY_KIND_OCSP], fresh[DGA_PROXY_KIND_RIM],
                 stale[DGA_PROXY_KIND_RIM]) < 0) {
        return DGA_E_NOMEM;
    }
    dga_service_response_text(ret, 200, text);
    ret->release = free; /* the service frees it once sent */
    ret->release_cls = text;
    return DGA_E_OK;
}

/* ---- request handling ---- */

static dga_err answer(struct dga_proxy *p, const struct dga_proxy_request *req,
                      struct dga_service_response *ret)
{
    if (req->route == DGA_PROXY_ROUTE_HEALTHZ) {
        dga_service_response_text(ret, 200, "ok\n");
        return DGA_E_OK;
    }
    if (req->route == DGA_PROXY_ROUTE_INFO) {
        return info_response(p, ret);
    }
    struct want w = {.ocsp = req->ocsp, .ocsp_len = req->ocsp_len, .rim_id = req->rim_id};
    w.kind = req->route == DGA_PROXY_ROUTE_RIM ? DGA_PROXY_KIND_RIM : DGA_PROXY_KIND_OCSP;
    memcpy(w.key, req->key, 32);
    struct outcome o;
    proxy_resolve(&p->core, &w, false, &o);
    dga_err e = outcome_response(&o, req->route == DGA_PROXY_ROUTE_OCSP_GET, ret);
    outcome_clear(&o);
    return e;
}

/* Checks that need only the request line and headers: answered before any body is read. */
static unsigned on_head(void *cls, const struct dga_service_request *r)
{
    (void)cls;
    enum dga_proxy_route route;
    int status = dga_proxy_route(r->method, r->uri, &route);
    if (status != 0 || route != DGA_PROXY_ROUTE_OCSP_POST) {
        return (unsigned)status;
    }
    struct dga_proxy_request probe;
    if (dga_proxy_parse(r->method, r->uri, r->content_type, (const uint8_t *)"", 0, 0, &probe) ==
        415) {
        return 415;
    }
    return 0; /* the service answers 413 for a Content-Length over max-request */
}

static dga_err on_request(void *cls, const struct dga_service_request *r,
                          struct dga_service_response *ret)
{
    struct dga_proxy *p = cls;
    struct dga_proxy_request req;
    int status = dga_proxy_parse(r->method, r->uri, r->content_type, r->body, r->body_len,
                                 p->cfg.limits.max_request, &req);
    if (status != 0) {
        dga_service_response_text(ret, (unsigned)status, status_text((unsigned)status));
        return DGA_E_OK;
    }
    dga_err e = answer(p, &req, ret);
    dga_proxy_request_clear(&req);
    return e;
}

static void log_line(void *cls, const char *line)
{
    proxy_log(cls, "%s", line);
}

/* ---- background refresh ---- */

struct refresh_run {
    struct dga_proxy *p;
    struct refresh_item *items;
    size_t n;
    atomic_size_t next;
};

static void refresh_one(struct dga_proxy *p, const struct refresh_item *it)
{
    struct want w = {.kind = it->kind};
    memcpy(w.key, it->key, 32);
    uint8_t *der = NULL;
    if (it->kind == DGA_PROXY_KIND_OCSP) {
        if (dga_base64_decode(it->source, strlen(it->source), &der, &w.ocsp_len) != DGA_E_OK) {
            return;
        }
        w.ocsp = der;
    } else {
        w.rim_id = it->source;
    }
    struct outcome o;
    proxy_resolve(&p->core, &w, true, &o);
    proxy_log(&p->cfg, "refresh %s: %s (HTTP %d)", proxy_kind_dir[it->kind], o.cache, o.status);
    outcome_clear(&o);
    free(der);
}

static void *refresh_worker(void *arg)
{
    struct refresh_run *run = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&run->next, 1);
        if (i >= run->n) {
            return NULL;
        }
        refresh_one(run->p, &run->items[i]);
    }
}

static void refresh_pass(struct dga_proxy *p)
{
    struct refresh_run run = {.p = p};
    atomic_init(&run.next, 0);
    pthread_mutex_lock(&p->core.mu);
    dga_err e = cache_sweep(p->core.cache, time(NULL), &run.items, &run.n);
    pthread_mutex_unlock(&p->core.mu);
    if (e != DGA_E_OK) {
        return;
    }
    pthread_t t[64];
    size_t workers = run.n < p->cfg.refresh_parallel ? run.n : p->cfg.refresh_parallel;
    size_t started = 0;
    for (; started < workers; started++) {
        if (pthread_create(&t[started], NULL, refresh_worker, &run) != 0) {
            break;
        }
    }
    if (started == 0) {
        refresh_worker(&run);
    }
    for (size_t i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
    }
    for (size_t i = 0; i < run.n; i++) {
        free(run.items[i].source);
    }
    free(run.items);
}

static void *refresher(void *arg)
{
    struct dga_proxy *p = arg;
    pthread_mutex_lock(&p->core.mu);
    while (!p->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)p->cfg.refresh_interval;
        while (!p->stopping &&
               pthread_cond_timedwait(&p->stop_cv, &p->core.mu, &until) != ETIMEDOUT) {
        }
        if (p->stopping) {
            break;
        }
        pthread_mutex_unlock(&p->core.mu);
        refresh_pass(p);
        pthread_mutex_lock(&p->core.mu);
    }
    pthread_mutex_unlock(&p->core.mu);
    return NULL;
}

/* ---- lifecycle ---- */

static dga_err start_http(struct dga_proxy *p, struct dga_diag *diag)
{
    const struct dga_service_config sc = {
        .listen = p->cfg.listen,
        .limits = p->cfg.limits,
        .max_uri = DGA_PROXY_URI_MAX,
        .log = log_line,
        .log_cls = &p->cfg,
    };
    const struct dga_service_handlers h = {
        .head = on_head, .handle = on_request, .error = on_error, .cls = p};
    dga_err e = dga_service_start(&sc, &h, &p->svc, diag);
    if (e == DGA_E_SERVICE_LISTEN) {
        return dga_diag_set(diag, DGA_E_PROXY_LISTEN, 0, p->cfg.listen);
    }
    return e == DGA_E_BAD_ARGUMENT ? dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "listen") : e;
}

dga_err dga_proxy_start(const struct dga_proxy_config *c, struct dga_proxy **ret,
                        struct dga_diag *diag)
{
    dga_err e = dga_proxy_config_check(c, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_service_load(diag); /* both libraries now, not at the first request */
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_http_load(diag);
    if (e != DGA_E_OK) {
        return e;
    }
    struct dga_proxy *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return DGA_E_NOMEM;
    }
    p->cfg = *c;
    p->core.cfg = &p->cfg;
    pthread_mutex_init(&p->core.mu, NULL);
    pthread_cond_init(&p->core.cv, NULL);
    pthread_cond_init(&p->stop_cv, NULL);
    /* From here every failure leaves through dga_proxy_stop: the steps are chained. */
    e = cache_new(&p->cfg, &p->core.cache);
    if (e == DGA_E_OK) {
        e = cache_load(p->core.cache, time(NULL));
        if (e != DGA_E_OK) {
            dga_diag_set(diag, e, 0, "cache-dir");
        }
    }
    if (e == DGA_E_OK) {
        e = start_http(p, diag);
    }
    if (e == DGA_E_OK && p->cfg.refresh_interval > 0) {
        p->refresher_started = pthread_create(&p->refresher, NULL, refresher, p) == 0;
        e = p->refresher_started ? DGA_E_OK : DGA_E_INTERNAL;
    }
    if (e != DGA_E_OK) {
        dga_proxy_stop(p);
        return e;
    }
    proxy_log(&p->cfg, "listening on %s (port %u), cache %s", p->cfg.listen,
              dga_service_port(p->svc), p->cfg.cache_dir);
    *ret = p;
    return DGA_E_OK;
}

unsigned dga_proxy_port(const struct dga_proxy *p)
{
    return dga_service_port(p->svc);
}

void dga_proxy_stop(struct dga_proxy *p)
{
    if (p == NULL) {
        return;
    }
    if (p->refresher_started) {
        pthread_mutex_lock(&p->core.mu);
        p->stopping = true;
        pthread_cond_broadcast(&p->stop_cv);
        pthread_mutex_unlock(&p->core.mu);
        pthread_join(p->refresher, NULL);
    }
    dga_service_stop(p->svc); /* every connection closed */
    cache_free(p->core.cache);
    pthread_cond_destroy(&p->stop_cv);
    pthread_cond_destroy(&p->core.cv);
    pthread_mutex_destroy(&p->core.mu);
    free(p); /* libcurl stays initialized: curl_api_load did it once for the process */
}
