/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The webhook server: auth-simple's three routes on the service layer, and
 * the configuration kept as an immutable, reference-counted snapshot that is
 * replaced whenever the file changed. Every request stat()s the file; the
 * snapshot is reused only when device, inode, size, mtime and ctime are the
 * ones it was read with and the file was not written within the last
 * RACY_SECONDS (a write in the same clock tick as the read leaves the times
 * unchanged: then the bytes are read again and compared by SHA-256, as git
 * treats a "racily clean" index entry). A file that cannot be read or does
 * not parse becomes a snapshot that denies everything with the reason, and
 * is logged once; the previous configuration is never served in its place.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/sha.h>

#include "core/cleanup.h"
#include "dga/util.h"
#include "kms/internal.h"

#define RACY_SECONDS 2

/* The configuration as one request sees it. */
struct snapshot {
    unsigned refs;                  /* under hook->lock */
    bool ok;                        /* cfg parsed */
    struct dga_kms_config cfg;      /* when ok */
    char error[DGA_KMS_REASON_LEN]; /* when not ok: why everything is denied */
};

/* What identifies the file's bytes without reading them. */
struct file_id {
    bool valid;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
};

struct dga_kms_hook {
    struct dga_kms_hook_config cfg;
    pthread_mutex_t lock;
    struct snapshot *cur; /* under lock */
    struct file_id id;    /* of the bytes cur was made from; under lock */
    bool has_sha;
    uint8_t sha[32];
    struct dga_service *svc;
};

#define hook_log(h, ...) dga_service_logf((h)->cfg.log, (h)->cfg.log_cls, __VA_ARGS__)

/* ---- snapshots ---------------------------------------------------------------------------- */

static void snapshot_free(struct snapshot *s)
{
    if (s != NULL) {
        dga_kms_config_clear(&s->cfg);
        free(s);
    }
}

static struct snapshot *snapshot_take(struct dga_kms_hook *h)
{
    struct snapshot *s = h->cur;
    s->refs++;
    return s;
}

static void snapshot_put(struct dga_kms_hook *h, struct snapshot *s)
{
    pthread_mutex_lock(&h->lock);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&h->lock);
    if (last) {
        snapshot_free(s);
    }
}

/* Installs s as the current snapshot (under lock); the old one goes when its last user does. */
static void install(struct dga_kms_hook *h, struct snapshot *s)
{
    struct snapshot *old = h->cur;
    s->refs = 1; /* the hook's own reference */
    h->cur = s;
    if (old != NULL && --old->refs == 0) {
        snapshot_free(old);
    }
}

static struct snapshot *broken(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct snapshot *broken(const char *fmt, ...)
{
    struct snapshot *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- reading the file ------------------------------------------------------------------- */

static struct file_id id_of(const struct stat *st)
{
    return (struct file_id){.valid = true,
                            .dev = st->st_dev,
                            .ino = st->st_ino,
                            .size = st->st_size,
                            .mtime = st->st_mtim,
                            .ctime = st->st_ctim};
}

static bool same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool same_id(const struct file_id *a, const struct file_id *b)
{
    return a->valid && b->valid && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           same_time(a->mtime, b->mtime) && same_time(a->ctime, b->ctime);
}

/* Written so recently that a further write may not move the times. */
static bool racy(const struct file_id *id)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    time_t newest = id->mtime.tv_sec > id->ctime.tv_sec ? id->mtime.tv_sec : id->ctime.tv_sec;
    return now.tv_sec - newest < RACY_SECONDS;
}

static struct snapshot *parse_snapshot(const struct dga_kms_hook *h, const uint8_t *text,
                                       size_t len)
{
    struct snapshot *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    struct dga_diag d = {0};
    char msg[DGA_KMS_REASON_LEN - 64];
    msg[0] = '\0';
    dga_err e = dga_kms_config_parse((const char *)text, len, &s->cfg, &d, msg, sizeof msg);
    if (e == DGA_E_NOMEM) {
        free(s);
        return NULL;
    }
    s->ok = e == DGA_E_OK;
    if (!s->ok) {
        snprintf(s->error, sizeof s->error, "configuration error: %s", msg);
    }
    (void)h;
    return s;
}

/*
 * Reads the file again (under lock): a new snapshot when its bytes are not
 * those of the current one. Logs what changed.
 */
static void reload(struct dga_kms_hook *h, const struct file_id *id)
{
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    dga_err e = dga_file_read(h->cfg.config, DGA_KMS_CONFIG_MAX, &text, &len);
    if (e != DGA_E_OK) {
        int err = errno;
        struct snapshot *s = broken("configuration error: cannot read %s: %s", h->cfg.config,
                                    e == DGA_E_IO ? strerror(err) : dga_err_message(e));
        h->id.valid = false;
        h->has_sha = false;
        if (s != NULL && strcmp(s->error, h->cur->error) != 0) {
            hook_log(h, "%s; denying every request", s->error);
        }
        if (s != NULL) {
            install(h, s);
        }
        return;
    }
    uint8_t sha[32];
    SHA256(text, len, sha);
    if (h->has_sha && memcmp(sha, h->sha, 32) == 0) {
        h->id = *id; /* the same bytes: the times moved only */
        return;
    }
    struct snapshot *s = parse_snapshot(h, text, len);
    if (s == NULL) {
        return; /* out of memory: keep what we have, try again next request */
    }
    h->id = *id;
    h->has_sha = true;
    memcpy(h->sha, sha, 32);
    if (s->ok) {
        hook_log(h, "configuration %s loaded: %zu app(s)%s%s", h->cfg.config, s->cfg.n_apps,
                 s->cfg.ignored[0] != '\0' ? "; ignored keys: " : "", s->cfg.ignored);
    } else {
        hook_log(h, "%s: %s; denying every request", h->cfg.config, s->error);
    }
    install(h, s);
}

/* The snapshot for one request: the current one, re-read first if the file changed. */
static struct snapshot *acquire(struct dga_kms_hook *h)
{
    struct stat st;
    struct file_id now = {0};
    bool stat_ok = stat(h->cfg.config, &st) == 0;
    if (stat_ok) {
        now = id_of(&st);
    }
    pthread_mutex_lock(&h->lock);
    if (!stat_ok || !same_id(&h->id, &now) || racy(&now)) {
        reload(h, &now);
    }
    struct snapshot *s = snapshot_take(h);
    pthread_mutex_unlock(&h->lock);
    return s;
}

/* ---- answers ------------------------------------------------------------------------------ */

static dga_err dump(json_t *j, unsigned status, unsigned *ret_status, char **ret, size_t *ret_len)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL) {
        return DGA_E_NOMEM;
    }
    *ret_status = status;
    *ret_len = strlen(text);
    *ret = text;
    return DGA_E_OK;
}

/* auth-simple's BootResponse, its members in auth-simple's order. */
static json_t *boot_response(bool allowed, const char *reason, const char *gateway_app_id)
{
    return json_pack("{s:b,s:s,s:s}", "isAllowed", allowed, "reason", reason, "gatewayAppId",
                     gateway_app_id);
}

static json_t *info(const struct snapshot *s)
{
    if (!s->ok) {
        return json_pack("{s:s,s:s}", "status", "error", "message", s->error);
    }
    const struct dga_kms_config *c = &s->cfg;
    return json_pack("{s:s,s:s,s:s,s:O,s:s,s:s}", "status", "ok", "kmsContractAddr",
                     c->kms_contract_addr, "gatewayAppId", c->gateway_app_id, "chainId",
                     c->chain_id, "appAuthImplementation", c->app_implementation,
                     "appImplementation", c->app_implementation);
}

static bool is_json(const char *content_type)
{
    if (content_type == NULL) {
        return false;
    }
    size_t n = strcspn(content_type, ";");
    while (n > 0 && (content_type[n - 1] == ' ' || content_type[n - 1] == '\t')) {
        n--;
    }
    return n == strlen("application/json") && strncasecmp(content_type, "application/json", n) == 0;
}

/* A request's value as a log line may show it: printable ASCII, at most 80 bytes. */
static const char *shown(const char *s, char out[81])
{
    size_t i = 0;
    for (; s[i] != '\0' && i < 80; i++) {
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    }
    out[i] = '\0';
    return out;
}

static void log_decision(const struct dga_kms_hook *h, enum dga_kms_endpoint ep,
                         const struct dga_kms_boot_info *b, const struct dga_kms_decision *d)
{
    if (!h->cfg.log_decisions) {
        return;
    }
    char app[81], compose[81], instance[81];
    hook_log(h, "%s boot: appId=%s composeHash=%s instanceId=%s: %s%s%s%s",
             ep == DGA_KMS_BOOT_KMS ? "KMS" : "app", shown(b->app_id, app),
             shown(b->compose_hash, compose), shown(b->instance_id, instance),
             d->allowed ? "allowed" : "denied (", d->allowed ? "" : dga_kms_check_name(d->check),
             d->allowed ? "" : "): ", d->reason);
}

static dga_err boot(struct dga_kms_hook *h, enum dga_kms_endpoint ep, const char *content_type,
                    const uint8_t *body, size_t len, unsigned *ret_status, char **ret,
                    size_t *ret_len)
{
    char msg[DGA_KMS_REASON_LEN - 32];
    char reason[DGA_KMS_REASON_LEN];
    _cleanup_(dga_kms_boot_info_clearp) struct dga_kms_boot_info b = {0};
    if (!is_json(content_type)) {
        return dump(
            boot_response(false, "invalid request: Content-Type must be application/json", ""), 400,
            ret_status, ret, ret_len);
    }
    dga_err e = dga_kms_boot_info_parse(body, len, &b, NULL, msg, sizeof msg);
    if (e != DGA_E_OK) {
        snprintf(reason, sizeof reason, "invalid request: %s", msg);
        return dump(boot_response(false, reason, ""), 400, ret_status, ret, ret_len);
    }
    struct snapshot *s = acquire(h);
    struct dga_kms_decision d = {0};
    json_t *j = NULL;
    if (!s->ok) {
        d = (struct dga_kms_decision){.allowed = false, .check = DGA_KMS_CHECK_CONFIG};
        snprintf(d.reason, sizeof d.reason, "%s", s->error);
        j = boot_response(false, s->error, "");
    } else {
        dga_kms_decide(&s->cfg, ep, &b, &d);
        j = boot_response(d.allowed, d.reason, s->cfg.gateway_app_id);
    }
    log_decision(h, ep, &b, &d);
    snapshot_put(h, s);
    return dump(j, 200, ret_status, ret, ret_len);
}

enum route { ROUTE_INFO, ROUTE_APP, ROUTE_KMS };

/* 0 and the route, or the status for a path we do not serve or a method it does not take. */
static unsigned route_of(const char *method, const char *target, enum route *ret)
{
    size_t n = strcspn(target, "?"); /* the route is the path; a query is ignored, as by Hono */
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0;
    if (n == 1 && target[0] == '/') {
        *ret = ROUTE_INFO;
        return get ? 0 : 405;
    }
    if (n == strlen("/bootAuth/app") && strncmp(target, "/bootAuth/app", n) == 0) {
        *ret = ROUTE_APP;
        return post ? 0 : 405;
    }
    if (n == strlen("/bootAuth/kms") && strncmp(target, "/bootAuth/kms", n) == 0) {
        *ret = ROUTE_KMS;
        return post ? 0 : 405;
    }
    return 404;
}

static dga_err static_answer(unsigned status, unsigned *ret_status, char **ret, size_t *ret_len)
{
    char *text = strdup(dga_service_status_json(status));
    if (text == NULL) {
        return DGA_E_NOMEM;
    }
    *ret_status = status;
    *ret_len = strlen(text);
    *ret = text;
    return DGA_E_OK;
}

dga_err dga_kms_hook_answer(struct dga_kms_hook *h, const char *method, const char *target,
                            const char *content_type, const uint8_t *body, size_t len,
                            unsigned *ret_status, char **ret_body, size_t *ret_len)
{
    enum route route;
    unsigned status = route_of(method, target, &route);
    if (status != 0) {
        return static_answer(status, ret_status, ret_body, ret_len);
    }
    if (route == ROUTE_INFO) {
        struct snapshot *s = acquire(h);
        json_t *j = info(s);
        unsigned st = s->ok ? 200 : 500;
        snapshot_put(h, s);
        return dump(j, st, ret_status, ret_body, ret_len);
    }
    return boot(h, route == ROUTE_KMS ? DGA_KMS_BOOT_KMS : DGA_KMS_BOOT_APP, content_type, body,
                len, ret_status, ret_body, ret_len);
}

/* ---- HTTP --------------------------------------------------------------------------------- */

static unsigned on_head(void *cls, const struct dga_service_request *r)
{
    (void)cls;
    enum route route;
    return route_of(r->method, r->uri, &route);
}

static dga_err on_request(void *cls, const struct dga_service_request *r,
                          struct dga_service_response *ret)
{
    struct dga_kms_hook *h = cls;
    unsigned status = 0;
    char *body = NULL;
    size_t len = 0;
    dga_err e = dga_kms_hook_answer(h, r->method, r->uri, r->content_type, r->body, r->body_len,
                                    &status, &body, &len);
    dga_service_answer_owned(ret, e, status, body, len);
    return DGA_E_OK;
}

static void log_line(void *cls, const char *line)
{
    hook_log((const struct dga_kms_hook *)cls, "%s", line);
}

dga_err dga_kms_hook_serve(struct dga_kms_hook *h, struct dga_diag *diag)
{
    const struct dga_service_config sc = {
        .listen = h->cfg.listen,
        .limits = h->cfg.limits,
        .max_uri = 1024,
        .log = log_line,
        .log_cls = h,
    };
    const struct dga_service_handlers handlers = {
        .head = on_head, .handle = on_request, .error = dga_service_error_json, .cls = h};
    dga_err e = dga_service_start(&sc, &handlers, &h->svc, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    hook_log(h, "listening on %s (port %u), configuration %s", h->cfg.listen,
             dga_service_port(h->svc), h->cfg.config);
    return DGA_E_OK;
}

unsigned dga_kms_hook_port(const struct dga_kms_hook *h)
{
    return h->svc != NULL ? dga_service_port(h->svc) : 0;
}

/* ---- start and stop ----------------------------------------------------------------------- */

void dga_kms_hook_config_defaults(struct dga_kms_hook_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:3000");
    snprintf(c->config, sizeof c->config, "./auth-config.json");
    dga_service_limits_defaults(&c->limits, 1024, 128, DGA_KMS_REQUEST_MAX);
    c->log_decisions = true;
}

static dga_err check_config(const struct dga_kms_hook_config *c, struct dga_diag *diag)
{
    struct sockaddr_storage ss;
    socklen_t ss_len = 0;
    if (dga_service_parse_listen(c->listen, &ss, &ss_len) != DGA_E_OK) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "listen");
    }
    if (c->config[0] == '\0') {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "config");
    }
    return dga_service_limits_check(&c->limits, DGA_KMS_REQUEST_MAX, DGA_E_BAD_ARGUMENT, diag);
}

dga_err dga_kms_hook_new(const struct dga_kms_hook_config *c, struct dga_kms_hook **ret,
                         struct dga_diag *diag)
{
    dga_err e = check_config(c, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    struct dga_kms_hook *h = calloc(1, sizeof *h);
    struct snapshot *none = broken("configuration error: not read yet");
    if (h == NULL || none == NULL) {
        free(h);
        free(none);
        return DGA_E_NOMEM;
    }
    h->cfg = *c;
    pthread_mutex_init(&h->lock, NULL);
    install(h, none);
    struct snapshot *s = acquire(h);
    bool ok = s->ok;
    snapshot_put(h, s);
    if (!ok) {
        dga_kms_hook_free(h);
        return dga_diag_set(diag, DGA_E_KMS_CONFIG, 0, "config");
    }
    *ret = h;
    return DGA_E_OK;
}

void dga_kms_hook_free(struct dga_kms_hook *h)
{
    if (h == NULL) {
        return;
    }
    dga_service_stop(h->svc); /* no request runs past this */
    snapshot_free(h->cur);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
