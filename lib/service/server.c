/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An HTTP server on libmicrohttpd (a thread per connection, so a slow answer
 * blocks only its own client) and the watcher that bounds the time a client
 * may take to send a request. libmicrohttpd is loaded when a server starts
 * (mhd_api.h), not linked: other commands do not pay for it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "dga/service.h"
#include "service/listen.h"
#include "service/mhd_api.h"

struct dga_service {
    struct dga_service_config cfg;
    struct dga_service_handlers h;
    struct MHD_Daemon *mhd;
    unsigned port;
    char unix_path[sizeof(
        ((struct sockaddr_un *)0)->sun_path)]; /* removed at stop; "" if not ours */
    bool unix_socket;                          /* peers have credentials (SO_PEERCRED) */
    bool activated;                            /* the socket systemd passed */
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
 * timeout (client_timeout) is an idle timeout: a client that sends one byte
 * a second keeps its connection, and its thread, for as long as it likes.
 * So each connection is watched from its start: while a request is being
 * received it must be complete by `deadline` (client_request_timeout after
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
    bool has_peer;    /* a Unix socket's peer credentials, read at connect */
    struct dga_service_peer peer;
    struct watch *prev, *next;
};

/* Per-connection request state, created from the raw request target. */
struct request_ctx {
    char *uri; /* as sent, before any unescaping: the handlers see the client's bytes */
    bool started;
    bool uri_too_long;
    bool too_large;
    struct buf body;
};

/* libmicrohttpd's functions: loaded by dga_service_start before the daemon and its threads. */
static const struct mhd_api *mhd(void)
{
    const struct mhd_api *m = NULL;
    (void)mhd_api_load(&m, NULL); /* pthread_once: a cheap, synchronized read after the first */
    return m;
}

dga_err dga_service_load(struct dga_diag *diag)
{
    return mhd_api_load(NULL, diag);
}

static int64_t monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

#define service_log(s, ...) dga_service_logf((s)->cfg.log, (s)->cfg.log_cls, __VA_ARGS__)

/* ---- slow clients: the watcher ---- */

#define WATCH_TICK_MS 250

static int64_t request_deadline(const struct dga_service *s)
{
    return monotonic_ms() + s->cfg.limits.client_request_timeout * 1000;
}

static void unwatch(struct dga_service *s, struct watch *w)
{
    pthread_mutex_lock(&s->watch_mu);
    *(w->prev != NULL ? &w->prev->next : &s->watched) = w->next;
    if (w->next != NULL) {
        w->next->prev = w->prev;
    }
    pthread_mutex_unlock(&s->watch_mu);
    free(w);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct dga_service *s = cls;
    struct watch *w = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (w != NULL) {
            unwatch(s, w);
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
    struct ucred uc;
    socklen_t ul = sizeof uc;
    if (s->unix_socket && getsockopt(w->fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0 &&
        ul == sizeof uc) {
        w->has_peer = true;
        w->peer = (struct dga_service_peer){.pid = uc.pid, .uid = uc.uid, .gid = uc.gid};
    }
    w->reading = true;
    w->deadline = request_deadline(s);
    pthread_mutex_lock(&s->watch_mu);
    w->next = s->watched;
    if (w->next != NULL) {
        w->next->prev = w;
    }
    s->watched = w;
    pthread_mutex_unlock(&s->watch_mu);
    *socket_context = w;
}

/* A request is complete (reading false), or the next one may start (true). */
static void watch_reading(struct dga_service *s, struct MHD_Connection *conn, bool reading)
{
    const union MHD_ConnectionInfo *info =
        mhd()->get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct watch *w = info != NULL ? info->socket_context : NULL;
    if (w == NULL) {
        return;
    }
    pthread_mutex_lock(&s->watch_mu);
    w->reading = reading;
    if (reading) {
        w->deadline = request_deadline(s);
    }
    pthread_mutex_unlock(&s->watch_mu);
}

/* Shuts down every connection whose request is overdue; how many. */
static unsigned cut_overdue(struct dga_service *s)
{
    unsigned n = 0;
    int64_t now = monotonic_ms();
    for (struct watch *w = s->watched; w != NULL; w = w->next) {
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
    struct dga_service *s = arg;
    pthread_mutex_lock(&s->watch_mu);
    while (!s->watch_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += WATCH_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&s->watch_cv, &s->watch_mu, &until);
        unsigned n = s->watch_stop ? 0 : cut_overdue(s);
        if (n > 0) {
            pthread_mutex_unlock(&s->watch_mu);
            service_log(s, "closed %u connection(s) past client-request-timeout", n);
            pthread_mutex_lock(&s->watch_mu);
        }
    }
    pthread_mutex_unlock(&s->watch_mu);
    return NULL;
}

static dga_err start_watcher(struct dga_service *s)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0) {
        return DGA_E_INTERNAL;
    }
    bool ok = pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&s->watch_cv, &a) == 0;
    pthread_condattr_destroy(&a);
    if (!ok) {
        return DGA_E_INTERNAL;
    }
    s->watcher_started = pthread_create(&s->watcher, NULL, watcher, s) == 0;
    if (!s->watcher_started) {
        pthread_cond_destroy(&s->watch_cv);
        return DGA_E_INTERNAL;
    }
    return DGA_E_OK;
}

static void stop_watcher(struct dga_service *s)
{
    if (!s->watcher_started) {
        return;
    }
    pthread_mutex_lock(&s->watch_mu);
    s->watch_stop = true;
    pthread_cond_broadcast(&s->watch_cv);
    pthread_mutex_unlock(&s->watch_mu);
    pthread_join(s->watcher, NULL);
    pthread_cond_destroy(&s->watch_cv);
    s->watcher_started = false;
}

/* ---- responses ---- */

/* Queues r on conn; its body is released whatever happens. */
static enum MHD_Result send_response(struct MHD_Connection *conn, struct dga_service_response *r)
{
    const struct mhd_api *m = mhd();
    struct MHD_Response *mr = NULL;
    if (r->release != NULL) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual" /* libmicrohttpd only reads a response body */
        mr = m->create_response_from_buffer_with_free_callback_cls(r->len, (void *)r->body,
                                                                   r->release, r->release_cls);
#pragma GCC diagnostic pop
        if (mr == NULL) {
            r->release(r->release_cls);
        }
    } else {
        mr = mhd_response_copy(m, r->body != NULL ? r->body : "", r->len);
    }
    if (mr == NULL) {
        return MHD_NO;
    }
    if (r->content_type[0] != '\0') {
        m->add_response_header(mr, "Content-Type", r->content_type);
    }
    for (size_t i = 0; i < r->n_headers && i < DGA_SERVICE_HEADERS_MAX; i++) {
        m->add_response_header(mr, r->headers[i].name, r->headers[i].value);
    }
    enum MHD_Result ret = m->queue_response(conn, r->status, mr);
    m->destroy_response(mr);
    return ret;
}

static const char *content_type(struct MHD_Connection *conn)
{
    return mhd()->lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
}

/* uri: NULL when it was too long or could not be kept. */
static enum MHD_Result send_error(struct dga_service *s, struct MHD_Connection *conn,
                                  const char *method, const char *uri, unsigned status)
{
    const struct dga_service_request head = {
        .method = method, .uri = uri, .content_type = content_type(conn)};
    struct dga_service_response r;
    memset(&r, 0, sizeof r);
    s->h.error(s->h.cls, status, &head, &r);
    return send_response(conn, &r);
}

/* ---- request handling ---- */

/* Checks that need only the request line and headers: answered before any body is read. */
static unsigned early_status(struct dga_service *s, struct MHD_Connection *conn, const char *method,
                             const char *uri)
{
    const struct dga_service_request head = {
        .method = method, .uri = uri, .content_type = content_type(conn)};
    unsigned status = s->h.head != NULL ? s->h.head(s->h.cls, &head) : 0;
    if (status != 0) {
        return status;
    }
    const char *cl = mhd()->lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl != NULL && strtoull(cl, NULL, 10) > s->cfg.limits.max_request) {
        return 413;
    }
    return 0;
}

/* The connection's peer credentials (a Unix socket's), NULL when unknown. */
static const struct dga_service_peer *peer_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        mhd()->get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const struct watch *w = info != NULL ? info->socket_context : NULL;
    return w != NULL && w->has_peer ? &w->peer : NULL;
}

static enum MHD_Result answer(struct dga_service *s, struct MHD_Connection *conn,
                              const char *method, struct request_ctx *ctx)
{
    const struct dga_service_request req = {
        .peer = peer_of(conn),
        .method = method,
        .uri = ctx->uri,
        .content_type = content_type(conn),
        .body = ctx->body.data,
        .body_len = ctx->body.len,
    };
    struct dga_service_response r;
    memset(&r, 0, sizeof r);
    if (s->h.handle(s->h.cls, &req, &r) != DGA_E_OK) {
        if (r.release != NULL) {
            r.release(r.release_cls);
        }
        return MHD_NO;
    }
    return send_response(conn, &r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)url;
    (void)version;
    struct dga_service *s = cls;
    struct request_ctx *ctx = *con_cls;
    if (ctx != NULL && ctx->uri_too_long) {
        watch_reading(s, conn, false);
        return send_error(s, conn, method, NULL, 400);
    }
    if (ctx == NULL || ctx->uri == NULL) {
        watch_reading(s, conn, false);
        return send_error(s, conn, method, NULL, 503);
    }
    if (!ctx->started) {
        ctx->started = true;
        ctx->body = buf_init(s->cfg.limits.max_request);
        unsigned status = early_status(s, conn, method, ctx->uri);
        if (status == 0) {
            return MHD_YES; /* the body, if any, is still to come: still watched */
        }
        watch_reading(s, conn, false);
        return send_error(s, conn, method, ctx->uri, status);
    }
    if (*upload_data_size > 0) {
        if (!ctx->too_large && buf_append(&ctx->body, upload_data, *upload_data_size) != DGA_E_OK) {
            ctx->too_large = true;
            buf_free(&ctx->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    watch_reading(s, conn, false); /* the whole request is in: answering may take long */
    if (ctx->too_large) {
        return send_error(s, conn, method, ctx->uri, 413);
    }
    return answer(s, conn, method, ctx);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    const struct dga_service *s = cls;
    struct request_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx != NULL) {
        ctx->uri_too_long = strlen(uri) > s->cfg.max_uri;
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

/* ---- lifecycle ---- */

/*
 * The socket libmicrohttpd is handed, as it binds only IP sockets itself:
 * systemd's (socket activation) or a Unix one bound here; -1 for an IP
 * address. *ss is the parsed listen address, filled in unless activated.
 */
static dga_err own_socket(struct dga_service *s, const struct dga_service_config *c,
                          struct sockaddr_storage *ss, int *ret_fd, struct dga_diag *diag)
{
    int fd = -1;
    dga_err e = c->socket_activation ? service_listen_fds(&fd, diag) : DGA_E_OK;
    if (e != DGA_E_OK) {
        return e;
    }
    if (fd >= 0) {
        s->activated = s->unix_socket = true;
        *ret_fd = fd;
        return DGA_E_OK;
    }
    socklen_t sl;
    if (dga_service_parse_listen(c->listen, ss, &sl) != DGA_E_OK) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "listen");
    }
    if (ss->ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
        e = service_unix_listen(un, sl, c->socket_mode, c->socket_group, &fd, diag);
        if (e != DGA_E_OK) {
            return e;
        }
        memcpy(s->unix_path, un->sun_path, strlen(un->sun_path) + 1);
        s->unix_socket = true;
    }
    *ret_fd = fd;
    return DGA_E_OK;
}

static dga_err start_http(struct dga_service *s, const struct dga_service_config *c,
                          struct dga_diag *diag)
{
    const struct mhd_api *m = mhd();
    struct sockaddr_storage ss = {0};
    int lfd = -1;
    dga_err e = own_socket(s, c, &ss, &lfd, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO;
    if (lfd < 0 && ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
/* The options after the address: the same for both kinds of socket. */
#define DAEMON_OPTIONS(s)                                                                          \
    MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,          \
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_CONNECTION_LIMIT,               \
        s->cfg.limits.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,                         \
        s->cfg.limits.max_connections_per_client, MHD_OPTION_CONNECTION_TIMEOUT,                   \
        (unsigned)s->cfg.limits.client_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, \
        MHD_OPTION_END
    if (lfd >= 0) {
        s->mhd = m->start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, lfd,
                                 DAEMON_OPTIONS(s));
    } else {
        s->mhd = m->start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&ss, DAEMON_OPTIONS(s));
    }
#undef DAEMON_OPTIONS
    if (s->mhd == NULL) {
        if (lfd >= 0) {
            close(lfd);
        }
        return dga_diag_set(diag, DGA_E_SERVICE_LISTEN, 0, c->listen);
    }
    const union MHD_DaemonInfo *info = m->get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : 0;
    return DGA_E_OK;
}

static bool config_ok(const struct dga_service_config *c, const struct dga_service_handlers *h)
{
    return c->listen != NULL &&
           dga_service_limits_check(&c->limits, SIZE_MAX, DGA_E_BAD_ARGUMENT, NULL) == DGA_E_OK &&
           c->max_uri > 0 && h->handle != NULL && h->error != NULL;
}

dga_err dga_service_start(const struct dga_service_config *c, const struct dga_service_handlers *h,
                          struct dga_service **ret, struct dga_diag *diag)
{
    if (c == NULL || h == NULL || !config_ok(c, h)) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "service config");
    }
    dga_err e = mhd_api_load(NULL, diag); /* now, not at the first request */
    if (e != DGA_E_OK) {
        return e;
    }
    struct dga_service *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return DGA_E_NOMEM;
    }
    s->cfg = *c;
    s->cfg.listen = NULL; /* the caller's strings: read at start only */
    s->cfg.socket_group = NULL;
    s->h = *h;
    pthread_mutex_init(&s->watch_mu, NULL);
    e = start_watcher(s);
    if (e == DGA_E_OK) {
        e = start_http(s, c, diag);
    }
    if (e != DGA_E_OK) {
        dga_service_stop(s);
        return e;
    }
    *ret = s;
    return DGA_E_OK;
}

unsigned dga_service_port(const struct dga_service *s)
{
    return s->port;
}

bool dga_service_activated(const struct dga_service *s)
{
    return s->activated;
}

void dga_service_stop(struct dga_service *s)
{
    if (s == NULL) {
        return;
    }
    if (s->mhd != NULL) {
        mhd()->stop_daemon(s->mhd); /* every connection closed: nothing left to watch */
    }
    if (s->unix_path[0] != '\0') {
        unlink(s->unix_path);
    }
    stop_watcher(s);
    pthread_mutex_destroy(&s->watch_mu);
    free(s);
}
