/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy's HTTP side on libmicrohttpd (a thread per connection, so an
 * upstream fetch blocks only its own client), the watcher that bounds the
 * time a client may take to send a request, and the background refresher.
 * libmicrohttpd and libcurl are loaded when the proxy starts (mhd_api.h,
 * collateral/curl_api.h), not linked: other commands do not pay for them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "dga/collateral.h"
#include "dga/util.h"
#include "proxy/mhd_api.h"
#include "proxy/resolve.h"

struct dga_proxy {
    struct dga_proxy_config cfg;
    struct proxy_core core;
    struct MHD_Daemon *mhd;
    unsigned port;
    pthread_t refresher;
    bool refresher_started;
    bool stopping;          /* guarded by core.mu */
    pthread_cond_t stop_cv; /* wakes the refresher to stop */
    /* the watcher (slow clients), all guarded by watch_mu */
    pthread_mutex_t watch_mu;
    pthread_cond_t watch_cv; /* wakes the watcher to stop; monotonic clock */
    struct watch *watched;   /* every open client connection */
    pthread_t watcher;
    bool watcher_started;
    bool watch_stop;
};

/*
 * One client connection as the watcher sees it. libmicrohttpd's connection
 * timeout (client-timeout) is an idle timeout: a client that sends one byte
 * a second keeps its connection, and its thread, for as long as it likes.
 * So each connection is watched from its start: while a request is being
 * received it must be complete by `deadline` (client-request-timeout after
 * the connection opened or the previous response on it ended), or the
 * watcher shuts its socket down. shutdown() only wakes the connection's own
 * thread, which then closes the connection as if the client had gone:
 * libmicrohttpd tells us a connection is closed (on_connection) before it
 * closes the descriptor, so the watcher never touches a reused one.
 */
struct watch {
    int fd;
    bool reading;     /* a request is being received */
    bool cut;         /* already shut down */
    int64_t deadline; /* CLOCK_MONOTONIC, milliseconds */
    struct watch *prev, *next;
};

/* Per-connection request state, created from the raw request target. */
struct request_ctx {
    char *uri; /* as sent, before any unescaping: the parser sees the client's bytes */
    bool started;
    bool uri_too_long;
    bool too_large;
    struct buf body;
};

/* libmicrohttpd's functions: loaded by dga_proxy_start before the daemon and its threads exist. */
static const struct mhd_api *mhd(void)
{
    const struct mhd_api *m = NULL;
    (void)mhd_api_load(&m, NULL); /* pthread_once: a cheap, synchronized read after the first */
    return m;
}

static int64_t monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- slow clients: the watcher ---- */

#define WATCH_TICK_MS 250

static int64_t request_deadline(const struct dga_proxy *p)
{
    return monotonic_ms() + p->cfg.client_request_timeout * 1000;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct dga_proxy *p = cls;
    struct watch *w = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (w != NULL) {
            pthread_mutex_lock(&p->watch_mu);
            *(w->prev != NULL ? &w->prev->next : &p->watched) = w->next;
            if (w->next != NULL) {
                w->next->prev = w->prev;
            }
            pthread_mutex_unlock(&p->watch_mu);
            free(w);
            *socket_context = NULL;
        }
        return;
    }
    const union MHD_ConnectionInfo *info =
        mhd()->get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info == NULL || (w = calloc(1, sizeof *w)) == NULL) {
        return; /* unwatched: only the idle timeout applies to it */
    }
    w->fd = info->connect_fd;
    w->reading = true;
    w->deadline = request_deadline(p);
    pthread_mutex_lock(&p->watch_mu);
    w->next = p->watched;
    if (w->next != NULL) {
        w->next->prev = w;
    }
    p->watched = w;
    pthread_mutex_unlock(&p->watch_mu);
    *socket_context = w;
}

/* A request is complete (reading false), or the next one may start (true). */
static void watch_reading(struct dga_proxy *p, struct MHD_Connection *conn, bool reading)
{
    const union MHD_ConnectionInfo *info =
        mhd()->get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct watch *w = info != NULL ? info->socket_context : NULL;
    if (w == NULL) {
        return;
    }
    pthread_mutex_lock(&p->watch_mu);
    w->reading = reading;
    if (reading) {
        w->deadline = request_deadline(p);
    }
    pthread_mutex_unlock(&p->watch_mu);
}

/* Shuts down every connection whose request is overdue; how many. */
static unsigned cut_overdue(struct dga_proxy *p)
{
    unsigned n = 0;
    int64_t now = monotonic_ms();
    for (struct watch *w = p->watched; w != NULL; w = w->next) {
        if (w->reading && !w->cut && now >= w->deadline) {
            shutdown(w->fd, SHUT_RDWR);
            w->cut = true;
            n++;
        }
    }
    return n;
}

static void *watcher(void *arg)
{
    struct dga_proxy *p = arg;
    pthread_mutex_lock(&p->watch_mu);
    while (!p->watch_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += WATCH_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&p->watch_cv, &p->watch_mu, &until);
        unsigned n = p->watch_stop ? 0 : cut_overdue(p);
        if (n > 0) {
            pthread_mutex_unlock(&p->watch_mu);
            proxy_log(&p->cfg, "closed %u connection(s) past client-request-timeout", n);
            pthread_mutex_lock(&p->watch_mu);
        }
    }
    pthread_mutex_unlock(&p->watch_mu);
    return NULL;
}

static dga_err start_watcher(struct dga_proxy *p)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0) {
        return DGA_E_INTERNAL;
    }
    bool ok = pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&p->watch_cv, &a) == 0;
    pthread_condattr_destroy(&a);
    if (!ok) {
        return DGA_E_INTERNAL;
    }
    p->watcher_started = pthread_create(&p->watcher, NULL, watcher, p) == 0;
    if (!p->watcher_started) {
        pthread_cond_destroy(&p->watch_cv);
        return DGA_E_INTERNAL;
    }
    return DGA_E_OK;
}

static void stop_watcher(struct dga_proxy *p)
{
    if (!p->watcher_started) {
        return;
    }
    pthread_mutex_lock(&p->watch_mu);
    p->watch_stop = true;
    pthread_cond_broadcast(&p->watch_cv);
    pthread_mutex_unlock(&p->watch_mu);
    pthread_join(p->watcher, NULL);
    pthread_cond_destroy(&p->watch_cv);
    p->watcher_started = false;
}

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

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    const struct mhd_api *m = mhd();
    struct MHD_Response *r = mhd_response_copy(m, text, strlen(text));
    if (r == NULL) {
        return MHD_NO;
    }
    m->add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    m->add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = m->queue_response(conn, status, r);
    m->destroy_response(r);
    return ret;
}

static const char *status_text(int status)
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

/*
 * Headers of a cached answer. dstack's endpoints forbid downstream caching;
 * the RFC 5019 GET invites it, for no longer than the answer stays valid.
 */
static void add_cache_headers(struct MHD_Response *r, const struct outcome *o, bool http_cacheable)
{
    const struct mhd_api *m = mhd();
    char v[96], date[40]; /* 96: "public, max-age=" + 20 digits + the directives */
    time_t now = time(NULL);
    m->add_response_header(r, "X-Dstack-Cache", o->cache);
    if (!o->cached) {
        m->add_response_header(r, "Cache-Control", "no-store");
        return;
    }
    snprintf(v, sizeof v, "%lld", (long long)(now > o->fetched_at ? now - o->fetched_at : 0));
    m->add_response_header(r, "Age", v);
    snprintf(v, sizeof v, "%lld", (long long)o->expires_at);
    m->add_response_header(r, "X-Dstack-Cache-Expires", v);
    if (!http_cacheable || o->expires_at <= now) {
        m->add_response_header(r, "Cache-Control", "no-store");
        return;
    }
    snprintf(v, sizeof v, "public, max-age=%lld, no-transform, must-revalidate",
             (long long)(o->expires_at - now));
    m->add_response_header(r, "Cache-Control", v);
    http_date(o->expires_at, date);
    m->add_response_header(r, "Expires", date);
    if (o->this_update > 0) {
        http_date(o->this_update, date);
        m->add_response_header(r, "Last-Modified", date);
    }
}

static enum MHD_Result send_outcome(struct MHD_Connection *conn, struct outcome *o,
                                    bool http_cacheable)
{
    const struct mhd_api *m = mhd();
    struct body *b = o->body != NULL ? o->body : body_new(NULL, 0);
    o->body = NULL;
    if (b == NULL) {
        return MHD_NO;
    }
    struct MHD_Response *r =
        m->create_response_from_buffer_with_free_callback_cls(b->len, b->data, release_body, b);
    if (r == NULL) {
        body_unref(b);
        return MHD_NO;
    }
    m->add_response_header(r, "Content-Type", o->content_type);
    add_cache_headers(r, o, http_cacheable && o->status == 200);
    enum MHD_Result ret = m->queue_response(conn, (unsigned)o->status, r);
    m->destroy_response(r);
    return ret;
}

static enum MHD_Result send_info(struct dga_proxy *p, struct MHD_Connection *conn)
{
    size_t fresh[DGA_PROXY_KIND__COUNT], stale[DGA_PROXY_KIND__COUNT];
    time_t now = time(NULL);
    pthread_mutex_lock(&p->core.mu);
    for (int k = 0; k < DGA_PROXY_KIND__COUNT; k++) {
        cache_counts(p->core.cache, (enum dga_proxy_kind)k, now, &fresh[k], &stale[k]);
    }
    pthread_mutex_unlock(&p->core.mu);
    char text[256];
    snprintf(text, sizeof text, "ocsp: %zu fresh, %zu stale\nrim: %zu fresh, %zu stale\n",
             fresh[DGA_PROXY_KIND_OCSP], stale[DGA_PROXY_KIND_OCSP], fresh[DGA_PROXY_KIND_RIM],
             stale[DGA_PROXY_KIND_RIM]);
    return send_text(conn, 200, text);
}

/* ---- request handling ---- */

static enum MHD_Result answer(struct dga_proxy *p, struct MHD_Connection *conn,
                              const struct dga_proxy_request *req)
{
    if (req->route == DGA_PROXY_ROUTE_HEALTHZ) {
        return send_text(conn, 200, "ok\n");
    }
    if (req->route == DGA_PROXY_ROUTE_INFO) {
        return send_info(p, conn);
    }
    struct want w = {.ocsp = req->ocsp, .ocsp_len = req->ocsp_len, .rim_id = req->rim_id};
    w.kind = req->route == DGA_PROXY_ROUTE_RIM ? DGA_PROXY_KIND_RIM : DGA_PROXY_KIND_OCSP;
    memcpy(w.key, req->key, 32);
    struct outcome o;
    proxy_resolve(&p->core, &w, false, &o);
    enum MHD_Result ret = send_outcome(conn, &o, req->route == DGA_PROXY_ROUTE_OCSP_GET);
    outcome_clear(&o);
    return ret;
}

/* Checks that need only the request line and headers: answered before any body is read. */
static int early_status(struct dga_proxy *p, struct MHD_Connection *conn, const char *method,
                        const char *uri)
{
    const struct mhd_api *m = mhd();
    enum dga_proxy_route route;
    int status = dga_proxy_route(method, uri, &route);
    if (status != 0 || route != DGA_PROXY_ROUTE_OCSP_POST) {
        return status;
    }
    const char *ct = m->lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    struct dga_proxy_request probe;
    if (dga_proxy_parse(method, uri, ct, (const uint8_t *)"", 0, 0, &probe) == 415) {
        return 415;
    }
    const char *cl = m->lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl != NULL && strtoull(cl, NULL, 10) > p->cfg.max_request) {
        return 413;
    }
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    const struct mhd_api *m = mhd();
    (void)url;
    (void)version;
    struct dga_proxy *p = cls;
    struct request_ctx *ctx = *con_cls;
    if (ctx != NULL && ctx->uri_too_long) {
        watch_reading(p, conn, false);
        return send_text(conn, 400, status_text(400));
    }
    if (ctx == NULL || ctx->uri == NULL) {
        watch_reading(p, conn, false);
        return send_text(conn, 503, status_text(503));
    }
    if (!ctx->started) {
        ctx->started = true;
        ctx->body = buf_init(p->cfg.max_request);
        int status = early_status(p, conn, method, ctx->uri);
        if (status == 0) {
            return MHD_YES; /* the body, if any, is still to come: still watched */
        }
        watch_reading(p, conn, false);
        return send_text(conn, (unsigned)status, status_text(status));
    }
    if (*upload_data_size > 0) {
        if (!ctx->too_large && buf_append(&ctx->body, upload_data, *upload_data_size) != DGA_E_OK) {
            ctx->too_large = true;
            buf_free(&ctx->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    watch_reading(p, conn, false); /* the whole request is in: answering may take long */
    if (ctx->too_large) {
        return send_text(conn, 413, status_text(413));
    }
    const char *ct = m->lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    struct dga_proxy_request req;
    int status = dga_proxy_parse(method, ctx->uri, ct, ctx->body.data, ctx->body.len,
                                 p->cfg.max_request, &req);
    if (status != 0) {
        return send_text(conn, (unsigned)status, status_text(status));
    }
    enum MHD_Result ret = answer(p, conn, &req);
    dga_proxy_request_clear(&req);
    return ret;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    struct request_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx != NULL) {
        ctx->uri_too_long = strlen(uri) > DGA_PROXY_URI_MAX;
        ctx->uri = ctx->uri_too_long ? NULL : strdup(uri);
    }
    return ctx;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    watch_reading(cls, conn, true); /* a kept-alive connection's next request starts now */
    struct request_ctx *ctx = *con_cls;
    if (ctx != NULL) {
        buf_free(&ctx->body);
        free(ctx->uri);
        free(ctx);
        *con_cls = NULL;
    }
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
    const struct mhd_api *m = mhd();
    struct sockaddr_storage ss;
    socklen_t sl;
    if (proxy_parse_listen(p->cfg.listen, &ss, &sl) != DGA_E_OK) {
        return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "listen");
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO;
    if (ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    p->mhd =
        m->start_daemon(flags, 0, NULL, NULL, on_request, p, MHD_OPTION_SOCK_ADDR,
                        (struct sockaddr *)&ss, MHD_OPTION_URI_LOG_CALLBACK, on_uri, p,
                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, p, MHD_OPTION_NOTIFY_CONNECTION,
                        on_connection, p, MHD_OPTION_CONNECTION_LIMIT, p->cfg.max_connections,
                        MHD_OPTION_PER_IP_CONNECTION_LIMIT, p->cfg.max_connections_per_client,
                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)p->cfg.client_timeout,
                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_END);
    if (p->mhd == NULL) {
        return dga_diag_set(diag, DGA_E_PROXY_LISTEN, 0, p->cfg.listen);
    }
    const union MHD_DaemonInfo *info = m->get_daemon_info(p->mhd, MHD_DAEMON_INFO_BIND_PORT);
    p->port = info != NULL ? info->port : 0;
    return DGA_E_OK;
}

dga_err dga_proxy_start(const struct dga_proxy_config *c, struct dga_proxy **ret,
                        struct dga_diag *diag)
{
    dga_err e = dga_proxy_config_check(c, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = mhd_api_load(NULL, diag); /* both libraries now, not at the first request */
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
    pthread_mutex_init(&p->watch_mu, NULL);
    /* From here every failure leaves through dga_proxy_stop: the steps are chained. */
    e = cache_new(&p->cfg, &p->core.cache);
    if (e == DGA_E_OK) {
        e = cache_load(p->core.cache, time(NULL));
        if (e != DGA_E_OK) {
            dga_diag_set(diag, e, 0, "cache-dir");
        }
    }
    if (e == DGA_E_OK) {
        e = start_watcher(p);
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
    proxy_log(&p->cfg, "listening on %s (port %u), cache %s", p->cfg.listen, p->port,
              p->cfg.cache_dir);
    *ret = p;
    return DGA_E_OK;
}

unsigned dga_proxy_port(const struct dga_proxy *p)
{
    return p->port;
}

void dga_proxy_stop(struct dga_proxy *p)
{
    const struct mhd_api *m = mhd();
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
    if (p->mhd != NULL) {
        m->stop_daemon(p->mhd); /* every connection closed: nothing left to watch */
    }
    stop_watcher(p);
    pthread_mutex_destroy(&p->watch_mu);
    cache_free(p->core.cache);
    pthread_cond_destroy(&p->stop_cv);
    pthread_cond_destroy(&p->core.cv);
    pthread_mutex_destroy(&p->core.mu);
    free(p); /* libcurl stays initialized: curl_api_load did it once for the process */
}
