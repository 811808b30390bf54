/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client side of the RPC service (the `rpc` command): one POST over the
 * service's Unix socket through the project's one HTTP client (libcurl,
 * dga/collateral.h), JSON or protobuf both ways, the answer decoded by the
 * same descriptor walk the server uses (rpc/pbjson.h).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "dga/collateral.h"
#include "dga/rpc.h"
#include "dstack_gpu_attest.pb-c.h"
#include "rpc/internal.h"
#include "rpc/pbjson.h"

#define RPC_CLIENT_CONNECT_MS 5000L

static dga_err client_fail(char *detail, dga_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static dga_err client_fail(char *detail, dga_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, DGA_RPC_DETAIL_MAX, fmt, ap);
    va_end(ap);
    return e;
}

static bool method_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* "field=value" arguments as the request's JSON object, typed by m's request message if known. */
static dga_err build_args(const struct dga_rpc_client_request *req, const struct rpc_method *m,
                          json_t **ret, char *detail)
{
    _cleanup_(json_decrefp) json_t *args = json_object();
    if (args == NULL) {
        return DGA_E_NOMEM;
    }
    for (size_t i = 0; i < req->n_args; i++) {
        const char *eq = strchr(req->args[i], '=');
        if (eq == NULL || eq == req->args[i]) {
            return client_fail(detail, DGA_E_RPC_ARGUMENT, "%.200s", req->args[i]);
        }
        _cleanup_(freep) char *key = strndup(req->args[i], (size_t)(eq - req->args[i]));
        if (key == NULL) {
            return DGA_E_NOMEM;
        }
        struct rpc_failure f = {0};
        dga_err e = DGA_E_OK;
        if (m != NULL) {
            e = pbjson_arg(m->request, key, eq + 1, false, args, DGA_E_RPC_ARGUMENT, &f);
        } else if (json_object_get(args, key) != NULL) {
            e = client_fail(f.detail, DGA_E_RPC_ARGUMENT, "%.100s: given twice", key);
        } else if (json_object_set_new(args, key, json_string(eq + 1)) != 0) {
            e = client_fail(f.detail, DGA_E_RPC_ARGUMENT, "%.100s: not UTF-8", key);
        }
        if (e != DGA_E_OK) {
            return e == DGA_E_NOMEM ? e : client_fail(detail, e, "%s", f.detail);
        }
    }
    *ret = TAKE_PTR(args);
    return DGA_E_OK;
}

/* The request body: the arguments as compact JSON, or packed as the method's request message. */
static dga_err build_body(const struct dga_rpc_client_request *req, const struct rpc_method *m,
                          json_t *args, uint8_t **ret, size_t *ret_len, char *detail)
{
    if (!req->proto) {
        char *text = json_dumps(args, JSON_COMPACT);
        if (text == NULL) {
            return DGA_E_NOMEM;
        }
        *ret = (uint8_t *)text;
        *ret_len = strlen(text);
        return DGA_E_OK;
    }
    if (m == NULL && json_object_size(args) > 0) {
        return client_fail(detail, DGA_E_RPC_ARGUMENT,
                           "%s: a method unknown here takes no arguments in protobuf mode",
                           req->method);
    }
    if (m == NULL) {
        *ret = calloc(1, 1); /* Empty: no bytes */
        *ret_len = 0;
        return *ret != NULL ? DGA_E_OK : DGA_E_NOMEM;
    }
    struct rpc_failure f = {0};
    dga_err e = pbjson_encode(m->request, args, ret, ret_len, &f);
    return e == DGA_E_OK || e == DGA_E_NOMEM
               ? e
               : client_fail(detail, DGA_E_RPC_ARGUMENT, "%s", f.detail);
}

/* The error an answer's "<name>: ..." text names. */
static dga_err error_named(const char *text)
{
    size_t n = strcspn(text, ":");
    for (int e = 0; e < (int)DGA_E__COUNT; e++) {
        const char *name = dga_err_name((dga_err)e);
        if (strlen(name) == n && strncmp(name, text, n) == 0) {
            return (dga_err)e;
        }
    }
    return DGA_E_INTERNAL;
}

/* A 400's error text: {"error": "..."} or a PrpcError. */
static dga_err decode_error(const struct dga_http_response *h, bool proto, char **ret, char *detail)
{
    const char *msg = NULL;
    _cleanup_(json_decrefp) json_t *j = NULL;
    DstackGpuAttest__PrpcError *pe = NULL;
    if (proto) {
        pe = dstack_gpu_attest__prpc_error__unpack(NULL, h->len, h->body);
        msg = pe != NULL ? pe->message : NULL;
    } else {
        j = json_loadb((const char *)h->body, h->len, JSON_REJECT_DUPLICATES, NULL);
        msg = json_string_value(json_object_get(j, "error"));
    }
    char *copy = msg != NULL ? strdup(msg) : NULL;
    dstack_gpu_attest__prpc_error__free_unpacked(pe, NULL);
    if (msg == NULL) {
        return client_fail(detail, DGA_E_RPC_ANSWER, "HTTP 400 without an error %s",
                           proto ? "PrpcError" : "object");
    }
    if (copy == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = copy;
    return DGA_E_OK;
}

/* A 200's response message as JSON. */
static dga_err decode_response(const struct dga_http_response *h, const struct rpc_method *m,
                               bool proto, json_t **ret, char *detail)
{
    if (!proto) {
        json_t *j = json_loadb((const char *)h->body, h->len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(j)) {
            json_decref(j);
            return client_fail(detail, DGA_E_RPC_ANSWER, "HTTP 200 without a JSON object");
        }
        *ret = j;
        return DGA_E_OK;
    }
    if (m == NULL) {
        return client_fail(detail, DGA_E_RPC_ANSWER, "no response message known for this method");
    }
    struct rpc_failure f = {0};
    dga_err e = pbjson_decode(m->response, h->body, h->len, ret, &f);
    return e == DGA_E_OK || e == DGA_E_NOMEM
               ? e
               : client_fail(detail, DGA_E_RPC_ANSWER, "%s", f.detail);
}

/* The exchange: one attempt, no retries (a method may not be idempotent). */
static dga_err post(const struct dga_rpc_client_request *req, const uint8_t *body, size_t len,
                    struct dga_http_response *ret, char *detail)
{
    char url[128];
    snprintf(url, sizeof url, "http://localhost/%s", req->method);
    const char *type = req->proto ? "application/octet-stream" : "application/json";
    const struct dga_http_request r = {
        .url = url,
        .body = body,
        .body_len = len,
        .content_type = type,
        .accept = type,
        .unix_socket = req->socket,
    };
    struct dga_http_options o;
    dga_http_options_init(&o);
    o.connect_timeout_ms = RPC_CLIENT_CONNECT_MS;
    o.total_timeout_ms = DGA_RPC_CLIENT_TIMEOUT_MS;
    o.max_body = DGA_RPC_CLIENT_ANSWER_MAX;
    o.max_attempts = 1;
    struct dga_http_info info = {0};
    dga_err e = dga_http_exchange(&r, &o, ret, &info);
    if (e == DGA_E_COLLATERAL_UNREACHABLE) {
        return client_fail(detail, DGA_E_RPC_CONNECT, "%s: %s", req->socket, info.error);
    }
    if (e != DGA_E_OK) {
        return client_fail(detail, e, "%s", info.error);
    }
    return DGA_E_OK;
}

/* The answer of a 200 or 400 into ret. */
static dga_err decode_answer(const struct dga_rpc_client_request *req, const struct rpc_method *m,
                             const struct dga_http_response *h, struct dga_rpc_client_answer *ret,
                             char *detail)
{
    struct dga_rpc_client_answer a = {.status = (unsigned)h->status};
    dga_err e = DGA_E_OK;
    if (h->status == 200) {
        e = decode_response(h, m, req->proto, &a.response, detail);
    } else if (h->status == 400) {
        e = decode_error(h, req->proto, &a.error, detail);
        a.err = e == DGA_E_OK ? error_named(a.error) : DGA_E_OK;
    } else {
        e = client_fail(detail, DGA_E_RPC_ANSWER, "HTTP %ld", h->status);
    }
    if (e == DGA_E_OK) {
        *ret = a;
    }
    return e;
}

dga_err dga_rpc_client_call(const struct dga_rpc_client_request *req,
                            struct dga_rpc_client_answer *ret, char detail[DGA_RPC_DETAIL_MAX])
{
    detail[0] = '\0';
    if (!method_name_ok(req->method)) {
        return client_fail(detail, DGA_E_RPC_ARGUMENT, "method %.100s: letters, digits, _",
                           req->method);
    }
    const struct rpc_method *m = rpc_method_find(req->method);
    _cleanup_(json_decrefp) json_t *args = NULL;
    _cleanup_(freep) uint8_t *body = NULL;
    size_t len = 0;
    dga_err e = build_args(req, m, &args, detail);
    if (e == DGA_E_OK) {
        e = build_body(req, m, args, &body, &len, detail);
    }
    _cleanup_(dga_http_response_clearp) struct dga_http_response h = {0};
    if (e == DGA_E_OK) {
        e = post(req, body, len, &h, detail);
    }
    return e == DGA_E_OK ? decode_answer(req, m, &h, ret, detail) : e;
}

void dga_rpc_client_answer_clear(struct dga_rpc_client_answer *a)
{
    if (a != NULL) {
        json_decref(a->response);
        free(a->error);
        memset(a, 0, sizeof *a);
    }
}
