/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every HTTP server of this project shares (docs/architecture.md, the
 * service layer): libmicrohttpd, loaded on first use; a thread per
 * connection; connection limits; an idle timeout and, against slow clients,
 * a deadline for receiving each whole request; request bodies accumulated
 * under a cap. A server is a handler per request (method, raw target,
 * Content-Type, body) that fills in a response. The collateral proxy
 * (dga/proxy.h) and the relying-party verifier server (dga/verifier.h) are
 * built on it.
 */
#ifndef DGA_SERVICE_H
#define DGA_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dga/error.h"

/* "ADDR:PORT" or "[ADDR6]:PORT" (a numeric address; port 0 = any) to a socket address. */
dga_err dga_service_parse_listen(const char *text, struct sockaddr_storage *ret,
                                 socklen_t *ret_len);

/* Why a server logs: the library never prints, the program decides where lines go. */
typedef void (*dga_service_log_fn)(void *cls, const char *line);

/* One request as the handlers see it. */
struct dga_service_request {
    const char *method;
    const char *uri;          /* the request target as sent, before any unescaping */
    const char *content_type; /* the Content-Type header, NULL when absent */
    const uint8_t *body;      /* the whole body (handle only; NULL in head) */
    size_t body_len;
};

#define DGA_SERVICE_HEADERS_MAX 8
#define DGA_SERVICE_HEADER_NAME_MAX 32
#define DGA_SERVICE_HEADER_VALUE_MAX 128

/*
 * The answer a handler fills in (zeroed by the service before each call).
 * The body is borrowed: when release is set, the service calls
 * release(release_cls) once libmicrohttpd is done with it (or the answer is
 * dropped); when release is NULL the body is copied after the handler
 * returns, so it must outlive the call (static text).
 */
struct dga_service_response {
    unsigned status;
    char content_type[DGA_SERVICE_HEADER_VALUE_MAX];
    size_t n_headers;
    struct {
        char name[DGA_SERVICE_HEADER_NAME_MAX];
        char value[DGA_SERVICE_HEADER_VALUE_MAX];
    } headers[DGA_SERVICE_HEADERS_MAX];
    const void *body;
    size_t len;
    void (*release)(void *cls);
    void *release_cls;
};

/* Adds a header; DGA_E_TOO_LARGE when the table is full or name or value does not fit. */
dga_err dga_service_response_header(struct dga_service_response *r, const char *name,
                                    const char *value);
/*
 * Resets r to a text/plain answer that no one may cache (Cache-Control:
 * no-store) whose body is text (borrowed: static, or set release).
 */
void dga_service_response_text(struct dga_service_response *r, unsigned status, const char *text);

struct dga_service_handlers {
    /*
     * After the request line and headers, before any body is read: 0 to go
     * on, else the status to answer (through error). NULL: always go on.
     */
    unsigned (*head)(void *cls, const struct dga_service_request *req);
    /*
     * The whole request: fills *ret. A failure (out of memory) closes the
     * connection without an answer.
     */
    dga_err (*handle)(void *cls, const struct dga_service_request *req,
                      struct dga_service_response *ret);
    /*
     * The answer for a status decided without handle: what head returned,
     * 400 for a target longer than max_uri, 413 for a body over max_body
     * (by Content-Length, or as it arrives), 503 when the service has no
     * memory for the request.
     */
    void (*error)(void *cls, unsigned status, struct dga_service_response *ret);
    void *cls;
};

struct dga_service_config {
    const char *listen;                  /* dga_service_parse_listen's form; read at start only */
    unsigned max_connections;            /* concurrent client connections */
    unsigned max_connections_per_client; /* concurrent connections from one IP address */
    int64_t client_timeout;              /* seconds a connection may stay idle */
    /* seconds within which a whole request (headers and body) must arrive, counted from
     * the connection's start or the end of the previous response on it */
    int64_t client_request_timeout;
    size_t max_body; /* request body cap */
    size_t max_uri;  /* request target cap */
    dga_service_log_fn log;
    void *log_cls;
};

struct dga_service;

/*
 * Loads libmicrohttpd (DGA_E_RUNTIME_LIBRARY, diag->field naming the file,
 * when it cannot be), binds the listen address (DGA_E_SERVICE_LISTEN;
 * DGA_E_BAD_ARGUMENT for one that does not parse or a zero bound) and serves
 * with the handlers until dga_service_stop. c and h are copied.
 */
dga_err dga_service_start(const struct dga_service_config *c, const struct dga_service_handlers *h,
                          struct dga_service **ret, struct dga_diag *diag);
/* The bound TCP port (useful with port 0). */
unsigned dga_service_port(const struct dga_service *s);
/* Stops serving: closes every connection, waits for the threads, frees s. NULL is fine. */
void dga_service_stop(struct dga_service *s);

/* Loads libmicrohttpd now (what dga_service_start does first); DGA_E_RUNTIME_LIBRARY. */
dga_err dga_service_load(struct dga_diag *diag);

#endif
