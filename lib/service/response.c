/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building a server's answer (struct dga_service_response): headers, plain
 * text and JSON bodies, and the JSON of the answers the service layer gives
 * on its own. No libmicrohttpd here: the answers of a server's handler can
 * be built and tested without a daemon.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dga/service.h"

dga_err dga_service_response_header(struct dga_service_response *r, const char *name,
                                    const char *value)
{
    if (r->n_headers >= DGA_SERVICE_HEADERS_MAX || strlen(name) >= DGA_SERVICE_HEADER_NAME_MAX ||
        strlen(value) >= DGA_SERVICE_HEADER_VALUE_MAX) {
        return DGA_E_TOO_LARGE;
    }
    memcpy(r->headers[r->n_headers].name, name, strlen(name) + 1);
    memcpy(r->headers[r->n_headers].value, value, strlen(value) + 1);
    r->n_headers++;
    return DGA_E_OK;
}

void dga_service_response_text(struct dga_service_response *r, unsigned status, const char *text)
{
    memset(r, 0, sizeof *r);
    r->status = status;
    snprintf(r->content_type, sizeof r->content_type, "text/plain; charset=utf-8");
    (void)dga_service_response_header(r, "Cache-Control", "no-store");
    r->body = text;
    r->len = strlen(text);
}

void dga_service_response_json(struct dga_service_response *r, unsigned status, const char *text)
{
    dga_service_response_text(r, status, text);
    snprintf(r->content_type, sizeof r->content_type, "application/json");
}

void dga_service_response_json_owned(struct dga_service_response *r, unsigned status, char *body,
                                     size_t len)
{
    dga_service_response_json(r, status, "");
    r->body = body;
    r->len = len;
    r->release = free;
    r->release_cls = body;
}

void dga_service_answer_owned(struct dga_service_response *r, dga_err e, unsigned status,
                              char *body, size_t len)
{
    if (e != DGA_E_OK) {
        free(body);
        dga_service_response_json(r, 500, dga_service_status_json(500));
        return;
    }
    dga_service_response_json_owned(r, status, body, len);
}

const char *dga_service_status_json(unsigned status)
{
    switch (status) {
    case 400:
        return "{\"error\":\"bad request\"}";
    case 404:
        return "{\"error\":\"not found\"}";
    case 405:
        return "{\"error\":\"method not allowed\"}";
    case 413:
        return "{\"error\":\"payload too large\"}";
    case 500:
        return "{\"error\":\"out of memory\"}";
    default:
        return "{\"error\":\"service unavailable\"}";
    }
}

void dga_service_error_json(void *cls, unsigned status, const struct dga_service_request *req,
                            struct dga_service_response *ret)
{
    (void)cls;
    (void)req;
    dga_service_response_json(ret, status, dga_service_status_json(status));
}

void dga_service_logf(dga_service_log_fn log, void *cls, const char *fmt, ...)
{
    if (log == NULL) {
        return;
    }
    char line[DGA_SERVICE_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log(cls, line);
}
