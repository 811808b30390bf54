/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RPC service: the gate's config read once at start, dstack's prpc router
 * (one route per method, "/<Method>", GET and POST; the encoding chosen as
 * prpc chooses it; protobuf through rpc/pbjson.h) and the HTTP handlers on the
 * service layer. Every error is HTTP 400 with dstack's pretty-printed
 * {"error": "..."} or, in protobuf mode, a PrpcError with the same text; the
 * ones the service decides alone (a body over the cap, a target too long) are
 * JSON whatever the mode: the service layer answers them before the request is
 * read.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cleanup.h"
#include "dga/measure.h"
#include "dga/util.h"
#include "dstack_gpu_attest.pb-c.h"
#include "rpc/internal.h"
#include "rpc/pbjson.h"
#include "rpc/testing.h"

#define rpc_log(r, ...) dga_service_logf((r)->cfg.log, (r)->cfg.log_cls, __VA_ARGS__)

/* ---- start ---- */

static dga_err read_gate_config(const char *path, struct dga_gate_config **ret,
                                struct dga_diag *diag)
{
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    dga_err e = dga_file_read(path, DGA_GATE_CONFIG_MAX_BYTES, &text, &len);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "config");
    }
    return dga_gate_config_parse((const char *)text, len, ret, diag);
}

dga_err dga_rpc_new(const struct dga_rpc_config *c, const char *gate_config_path,
                    struct dga_rpc **ret, struct dga_diag *diag)
{
    dga_err e = dga_rpc_config_check(c, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    struct dga_gate_config *g = NULL;
    e = read_gate_config(gate_config_path, &g, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    struct dga_nvml_state_reader *state = NULL;
    e = dga_nvml_state_reader_new(g->nvml, g->cc_timeout_ms, &state);
    struct dga_rpc *r = e == DGA_E_OK ? calloc(1, sizeof *r) : NULL;
    if (r == NULL) {
        dga_nvml_state_reader_free(state);
        dga_gate_config_free(g);
        return e != DGA_E_OK ? dga_diag_set(diag, e, 0, "nvml") : DGA_E_NOMEM;
    }
    r->state = state; /* its child starts at the first read */
    r->cfg = *c;
    r->gate = g;
    /* the gate's defaults when its config leaves them out (dga/gate.h, dga/measure.h) */
    snprintf(r->bundle_path, sizeof r->bundle_path, "%s/%s",
             g->run_dir != NULL ? g->run_dir : DGA_GATE_RUN_DIR, DGA_GATE_BUNDLE_FILE);
    snprintf(r->log_path, sizeof r->log_path, "%s/%s",
             g->event_log_dir != NULL ? g->event_log_dir : DGA_EVENT_LOG_DIR, DGA_EVENT_LOG_FILE);
    pthread_mutex_init(&r->attest_mu, NULL);
    pthread_mutex_init(&r->ensure_mu, NULL);
    pthread_cond_init(&r->ensure_cv, NULL);
    pthread_mutex_init(&r->bucket_mu, NULL);
    pthread_mutex_init(&r->answer_mu, NULL);
    r->reattest_next = 1;
    r->bucket =
        (struct rpc_bucket){.burst = c->attest_burst, .interval_ms = c->attest_interval * 1000};
    *ret = r;
    return DGA_E_OK;
}

void dga_rpc_free(struct dga_rpc *r)
{
    if (r == NULL) {
        return;
    }
    dga_service_stop(r->svc); /* no request runs past this */
    pthread_mutex_destroy(&r->answer_mu);
    free(r->answer_text);
    free(r->att_head);
    free(r->att_verdict);
    pthread_mutex_destroy(&r->bucket_mu);
    pthread_cond_destroy(&r->ensure_cv);
    pthread_mutex_destroy(&r->ensure_mu);
    pthread_mutex_destroy(&r->attest_mu);
    dga_nvml_state_reader_free(r->state); /* no request runs now: no read holds it */
    dga_gate_config_free(r->gate);
    free(r);
}

/* ---- the router ---- */

#define METHOD_NAME_MAX 64

/* "/<Method>[?query]": the method (letters, digits, '_') into name; false for anything else. */
static bool method_of(const char *uri, char name[METHOD_NAME_MAX], const char **ret_query)
{
    if (uri[0] != '/') {
        return false;
    }
    size_t n = strcspn(uri + 1, "?");
    if (n == 0 || n >= METHOD_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = uri[1 + i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '_';
        if (!ok) {
            return false;
        }
    }
    memcpy(name, uri + 1, n);
    name[n] = '\0';
    *ret_query = uri[1 + n] == '?' ? uri + 2 + n : "";
    return true;
}

/* prpc: "json" in the query, empty, "true" or "1", selects JSON. */
static bool query_json(const char *query)
{
    for (const char *p = query; *p != '\0';) {
        size_t n = strcspn(p, "&");
        if ((n == 4 && strncmp(p, "json", 4) == 0) || (n == 5 && strncmp(p, "json=", 5) == 0) ||
            (n == 9 && strncmp(p, "json=true", 9) == 0) ||
            (n == 6 && strncmp(p, "json=1", 6) == 0)) {
            return true;
        }
        p += n + (p[n] == '&');
    }
    return false;
}

/* "application/json", any case, with or without parameters. */
static bool content_type_json(const char *ct)
{
    if (ct == NULL) {
        return false;
    }
    ct += strspn(ct, " \t");
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

bool dga_rpc_request_json(const struct dga_service_request *req)
{
    const char *q = req->uri != NULL ? strchr(req->uri, '?') : NULL;
    return strcmp(req->method, "GET") == 0 || (q != NULL && query_json(q + 1)) ||
           content_type_json(req->content_type);
}

/*
 * A JSON request body as the method's arguments: an empty (or blank) body is
 * {}, anything else must be one JSON object (duplicate keys refused). NULL
 * for anything else; *ret_nomem tells running out of memory apart.
 */
static json_t *json_args(const uint8_t *body, size_t len, bool *ret_nomem)
{
    *ret_nomem = false;
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) {
        i++;
    }
    if (i == len) {
        json_t *o = json_object();
        *ret_nomem = o == NULL;
        return o;
    }
    json_t *j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* A malloc'd answer of n bytes (an empty message is a 1-byte allocation); NULL: no memory. */
static dga_err answer(unsigned status, char *body, size_t n, unsigned *ret_status, char **ret_body,
                      size_t *ret_len)
{
    if (body == NULL) {
        return DGA_E_NOMEM;
    }
    *ret_status = status;
    *ret_len = n;
    *ret_body = body;
    return DGA_E_OK;
}

/* dstack's PrpcError message: what {"error": ...} says, packed. */
static dga_err prpc_error(char *message, unsigned *ret_status, char **ret_body, size_t *ret_len)
{
    DstackGpuAttest__PrpcError pe;
    dstack_gpu_attest__prpc_error__init(&pe); /* the INIT macro casts const away */
    pe.message = message;
    size_t n = dstack_gpu_attest__prpc_error__get_packed_size(&pe);
    uint8_t *out = malloc(n + 1);
    if (out != NULL) {
        dstack_gpu_attest__prpc_error__pack(&pe, out);
    }
    return answer(400, (char *)out, n, ret_status, ret_body, ret_len);
}

/* dstack's error answer: HTTP 400, {"error": "..."} pretty-printed, or a PrpcError. */
static dga_err error_answer(const struct rpc_failure *f, bool json, unsigned *ret_status,
                            char **ret_body, size_t *ret_len)
{
    char message[512];
    snprintf(message, sizeof message, "%s: %s%s%s", dga_err_name(f->err), dga_err_message(f->err),
             f->detail[0] != '\0' ? ": " : "", f->detail);
    if (!json) {
        return prpc_error(message, ret_status, ret_body, ret_len);
    }
    _cleanup_(json_decrefp) json_t *j = json_pack("{s:s}", "error", message);
    char *text = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;
    return answer(400, text, text != NULL ? strlen(text) : 0, ret_status, ret_body, ret_len);
}

static dga_err failed(struct rpc_failure *f, dga_err e, const char *name, const char *detail)
{
    f->err = e;
    snprintf(f->detail, sizeof f->detail, "%.64s%s%.180s", name,
             name[0] != '\0' && detail[0] != '\0' ? ": " : "", detail);
    return e;
}

static const struct rpc_method methods[] = {
    {"GpuInfo", rpc_gpu_info, &dstack_gpu_attest__empty__descriptor,
     &dstack_gpu_attest__gpu_info_response__descriptor, rpc_gpu_info_text},
    {"GetGpuAttestation", rpc_get_gpu_attestation, &dstack_gpu_attest__empty__descriptor,
     &dstack_gpu_attest__get_gpu_attestation_response__descriptor, rpc_get_gpu_attestation_text},
    {"EnsureGpuReady", rpc_ensure_gpu_ready, &dstack_gpu_attest__empty__descriptor,
     &dstack_gpu_attest__ensure_gpu_ready_response__descriptor, NULL},
    {"AttestGpu", rpc_attest_gpu, &dstack_gpu_attest__attest_gpu_request__descriptor,
     &dstack_gpu_attest__attest_gpu_response__descriptor, NULL},
};

const struct rpc_method *rpc_method_at(size_t i)
{
    return i < sizeof methods / sizeof methods[0] ? &methods[i] : NULL;
}

const struct rpc_method *rpc_method_find(const char *name)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (strcmp(methods[i].name, name) == 0) {
            return &methods[i];
        }
    }
    return NULL;
}

/* The method's arguments as JSON, from the query (GET), a JSON body or a protobuf body. */
static dga_err request_args(const struct rpc_method *m, const struct dga_service_request *req,
                            const char *query, bool json, json_t **ret, struct rpc_failure *f)
{
    if (strcmp(req->method, "GET") == 0) {
        dga_err e = rpc_query_args(m->request, query, ret, f);
        if (e != DGA_E_OK && e != DGA_E_NOMEM) {
            char why[sizeof f->detail];
            snprintf(why, sizeof why, "query: %.200s", f->detail);
            return failed(f, e, m->name, why);
        }
        return e;
    }
    if (!json) {
        dga_err e = pbjson_decode(m->request, req->body, req->body_len, ret, f);
        if (e != DGA_E_OK && e != DGA_E_NOMEM) {
            char why[sizeof f->detail];
            snprintf(why, sizeof why, "%s", f->detail);
            return failed(f, e, m->name, why);
        }
        return e;
    }
    bool nomem = false;
    *ret = json_args(req->body, req->body_len, &nomem);
    if (*ret == NULL) {
        return nomem ? DGA_E_NOMEM : failed(f, DGA_E_RPC_REQUEST, m->name, "not a JSON object");
    }
    return DGA_E_OK;
}

/* Routes req: *ret_m its method, *ret_args its arguments in the JSON mapping. */
static dga_err route(const struct dga_service_request *req, bool json,
                     const struct rpc_method **ret_m, json_t **ret_args, struct rpc_failure *f)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0) {
        return failed(f, DGA_E_RPC_HTTP_METHOD, req->method, "");
    }
    char name[METHOD_NAME_MAX];
    const char *query = NULL;
    if (!method_of(req->uri, name, &query)) {
        return failed(f, DGA_E_RPC_METHOD, "the path is not /<Method>", "");
    }
    const struct rpc_method *m = rpc_method_find(name);
    if (m == NULL) {
        return failed(f, DGA_E_RPC_METHOD, name, "");
    }
    dga_err e = request_args(m, req, query, json, ret_args, f);
    if (e == DGA_E_OK) {
        *ret_m = m;
    }
    return e;
}

dga_err dga_rpc_call(struct dga_rpc *r, const struct dga_service_request *req, unsigned *ret_status,
                     char **ret_body, size_t *ret_len)
{
    bool json = dga_rpc_request_json(req);
    const struct rpc_method *m = NULL;
    struct rpc_failure f = {0};
    _cleanup_(json_decrefp) json_t *args = NULL;
    _cleanup_(json_decrefp) json_t *out = NULL;
    dga_err e = route(req, json, &m, &args, &f);
    if (e == DGA_E_OK && json && m->json_text != NULL) {
        char *text = NULL;
        size_t len = 0;
        e = m->json_text(r, args, &text, &len, &f);
        if (e == DGA_E_OK) {
            return answer(200, text, len, ret_status, ret_body, ret_len);
        }
    } else if (e == DGA_E_OK) {
        e = m->fn(r, args, &out, &f);
    }
    if (e == DGA_E_NOMEM) {
        return e;
    }
    if (e != DGA_E_OK) {
        return error_answer(&f, json, ret_status, ret_body, ret_len);
    }
    if (json) {
        char *text = json_dumps(out, JSON_COMPACT);
        return answer(200, text, text != NULL ? strlen(text) : 0, ret_status, ret_body, ret_len);
    }
    uint8_t *packed = NULL;
    size_t n = 0;
    e = pbjson_encode(m->response, out, &packed, &n, &f);
    if (e == DGA_E_NOMEM) {
        return e;
    }
    if (e != DGA_E_OK) {
        return error_answer(&f, json, ret_status, ret_body, ret_len);
    }
    return answer(200, (char *)packed, n, ret_status, ret_body, ret_len);
}

/* ---- HTTP ---- */

/*
 * What the service decides alone: prpc answers every error 400, an oversize
 * body included, in the encoding the request chose (a PrpcError in binary
 * mode; a target too long to keep is judged by its method and Content-Type).
 */
static void on_error(void *cls, unsigned status, const struct dga_service_request *head,
                     struct dga_service_response *ret)
{
    (void)cls;
    if (status == 503) {
        dga_service_response_json(ret, 503, "{\n  \"error\": \"out of memory\"\n}");
        return;
    }
    char message[64];
    snprintf(message, sizeof message, "%s",
             status == 413 ? "rpc-request: the request body is too large"
                           : "rpc-request: bad request");
    unsigned st = 0;
    char *body = NULL;
    size_t len = 0;
    if (!dga_rpc_request_json(head) && prpc_error(message, &st, &body, &len) == DGA_E_OK) {
        dga_service_response_json_owned(ret, st, body, len);
        snprintf(ret->content_type, sizeof ret->content_type, "application/octet-stream");
        return;
    }
    dga_service_response_json(
        ret, 400,
        status == 413 ? "{\n  \"error\": \"rpc-request: the request body is too large\"\n}"
                      : "{\n  \"error\": \"rpc-request: bad request\"\n}");
}

static void log_request(const struct dga_rpc *r, const struct dga_service_request *req,
                        unsigned status)
{
    const struct dga_service_peer *p = req->peer;
    if (p != NULL) {
        rpc_log(r, "pid=%ld uid=%lu gid=%lu %s %.200s %u", p->pid, p->uid, p->gid, req->method,
                req->uri, status);
    } else {
        rpc_log(r, "peer=unknown %s %.200s %u", req->method, req->uri, status);
    }
}

static dga_err on_request(void *cls, const struct dga_service_request *req,
                          struct dga_service_response *ret)
{
    struct dga_rpc *r = cls;
    unsigned status = 0;
    char *body = NULL;
    size_t len = 0;
    if (dga_rpc_call(r, req, &status, &body, &len) != DGA_E_OK) {
        log_request(r, req, 503);
        dga_service_response_json(ret, 503, "{\n  \"error\": \"out of memory\"\n}");
        return DGA_E_OK;
    }
    log_request(r, req, status);
    dga_service_response_json_owned(ret, status, body, len);
    if (!dga_rpc_request_json(req)) {
        /* the same owned answer, only its type differs: what prpc's binary mode sends */
        snprintf(ret->content_type, sizeof ret->content_type, "application/octet-stream");
    }
    return DGA_E_OK;
}

static void log_line(void *cls, const char *line)
{
    rpc_log((const struct dga_rpc *)cls, "%s", line);
}

dga_err dga_rpc_serve(struct dga_rpc *r, struct dga_diag *diag)
{
    struct dga_service_config sc = {
        .listen = r->cfg.listen,
        .socket_mode = r->cfg.socket_mode,
        .socket_group = r->cfg.socket_group,
        .socket_activation = true,
        .limits = r->cfg.limits,
        .max_uri = 1024,
        .log = log_line,
        .log_cls = r,
    };
    /* one "client" on a Unix socket: it may use every connection */
    sc.limits.max_connections_per_client = sc.limits.max_connections;
    const struct dga_service_handlers h = {.handle = on_request, .error = on_error, .cls = r};
    dga_err e = dga_service_start(&sc, &h, &r->svc, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (dga_service_activated(r->svc)) {
        rpc_log(r,
                "listening on the socket systemd passed (fd 3; --listen %s not used), bundle %s, "
                "event log %s",
                r->cfg.listen, r->bundle_path, r->log_path);
    } else {
        rpc_log(r, "listening on %s, bundle %s, event log %s", r->cfg.listen, r->bundle_path,
                r->log_path);
    }
    return DGA_E_OK;
}
