/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every HTTP server of this project shares (docs/architecture.md, the
 * service layer): libmicrohttpd, loaded on first use; a thread per
 * connection; connection limits; an idle timeout and, against slow clients,
 * a deadline for receiving each whole request; request bodies accumulated
 * under a cap. A server is a handler per request (method, raw target,
 * Content-Type, body) that fills in a response. And a server's
 * configuration: one table of options for its flags and its "key = value"
 * config file. The collateral proxy (dga/proxy.h) and the relying-party
 * verifier server (dga/verifier.h) are built on it.
 */
#ifndef DGA_SERVICE_H
#define DGA_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dga/error.h"

/*
 * "ADDR:PORT" or "[ADDR6]:PORT" (a numeric address; port 0 = any), or
 * "unix:PATH" (a Unix socket; PATH non-empty and shorter than sun_path), to a
 * socket address.
 */
dga_err dga_service_parse_listen(const char *text, struct sockaddr_storage *ret,
                                 socklen_t *ret_len);

/* Why a server logs: the library never prints, the program decides where lines go. */
typedef void (*dga_service_log_fn)(void *cls, const char *line);
/*
 * One formatted line to log (nothing when log is NULL), cut at
 * DGA_SERVICE_LOG_LINE_MAX bytes: every server's log helper.
 */
#define DGA_SERVICE_LOG_LINE_MAX 8192
__attribute__((format(printf, 3, 4))) void dga_service_logf(dga_service_log_fn log, void *cls,
                                                            const char *fmt, ...);

/* The peer of a Unix-socket connection (SO_PEERCRED), as the kernel recorded it at connect. */
struct dga_service_peer {
    long pid;
    unsigned long uid, gid;
};

/* One request as the handlers see it. */
struct dga_service_request {
    const char *method;
    const char *uri;          /* the request target as sent, before any unescaping */
    const char *content_type; /* the Content-Type header, NULL when absent */
    const uint8_t *body;      /* the whole body (handle only; NULL in head) */
    size_t body_len;
    const struct dga_service_peer *peer; /* Unix sockets only; NULL on TCP or when unknown */
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
/* dga_service_response_text with Content-Type application/json. */
void dga_service_response_json(struct dga_service_response *r, unsigned status, const char *text);
/*
 * dga_service_response_json with a malloc'd body of len bytes that the
 * response owns (freed with free() once sent, or if it cannot be).
 */
void dga_service_response_json_owned(struct dga_service_response *r, unsigned status, char *body,
                                     size_t len);
/*
 * What a handler answers with the result of a function that yields a status
 * and a malloc'd JSON body (or fails, having made nothing): e DGA_E_OK is
 * dga_service_response_json_owned(r, status, body, len); anything else is
 * 500 {"error":"out of memory"} (body, if any, freed).
 */
void dga_service_answer_owned(struct dga_service_response *r, dga_err e, unsigned status,
                              char *body, size_t len);
/*
 * The JSON body of an answer the service gives without asking the server's
 * own code ({"error":"not found"}, ...: 400, 404, 405, 413, 500 "out of
 * memory", anything else "service unavailable"); static text.
 */
const char *dga_service_status_json(unsigned status);
/*
 * An error handler (struct dga_service_handlers.error) for a JSON server:
 * dga_service_status_json(status) as the body. cls is not used.
 */
void dga_service_error_json(void *cls, unsigned status, const struct dga_service_request *req,
                            struct dga_service_response *ret);

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
     * 400 for a target longer than max_uri, 413 for a body over
     * limits.max_request (by Content-Length, or as it arrives), 503 when the
     * service has no memory for the request. req is the request's head
     * (method, Content-Type; uri NULL when it was too long or could not be
     * kept; never a body or a peer), so that an answer can follow the
     * encoding the request chose.
     */
    void (*error)(void *cls, unsigned status, const struct dga_service_request *req,
                  struct dga_service_response *ret);
    void *cls;
};

/*
 * The limits every server puts on its clients. Each server's configuration
 * embeds one (its options "max-connections", "max-connections-per-client",
 * "client-timeout", "client-request-timeout", "max-request" write into it)
 * and hands it to the service as it is.
 */
struct dga_service_limits {
    unsigned max_connections;            /* concurrent client connections */
    unsigned max_connections_per_client; /* concurrent connections from one IP address */
    int64_t client_timeout;              /* seconds a connection may stay idle */
    /* seconds within which a whole request (headers and body) must arrive, counted from
     * the connection's start or the end of the previous response on it */
    int64_t client_request_timeout;
    size_t max_request; /* request body cap */
};

/*
 * A server's defaults: its own connection counts and body cap, and the
 * timeouts every server starts with (client-timeout 10 s,
 * client-request-timeout 30 s).
 */
void dga_service_limits_defaults(struct dga_service_limits *l, unsigned max_connections,
                                 unsigned max_connections_per_client, size_t max_request);
/*
 * err, with diag->field the option's key, for a limit that is 0 (or a
 * negative timeout) or a max_request over request_cap (the server's parser's
 * own ceiling); checked in the order max-request, client-timeout,
 * client-request-timeout, max-connections, max-connections-per-client.
 */
dga_err dga_service_limits_check(const struct dga_service_limits *l, size_t request_cap,
                                 dga_err err, struct dga_diag *diag);

struct dga_service_config {
    const char *listen; /* dga_service_parse_listen's form; read at start only */
    /*
     * A Unix socket: its file's mode (0: 0666) and group (NULL or "": the
     * process's), both set before it accepts anyone; an unknown group is
     * DGA_E_SERVICE_GROUP. A socket file already at the path is probed: one
     * that accepts a connection is a running instance's, DGA_E_SERVICE_IN_USE;
     * one that refuses it (ECONNREFUSED) is an earlier run's and is replaced;
     * anything else there is DGA_E_SERVICE_LISTEN. The file is removed when
     * the server stops.
     */
    unsigned socket_mode;
    const char *socket_group; /* read at start only */
    /*
     * Take the socket systemd passed (socket activation, sd_listen_fds(3))
     * when there is one: LISTEN_PID names this process, LISTEN_FDS is 1 and
     * fd 3 is a listening Unix stream socket. listen, socket_mode and
     * socket_group are then not used (the .socket unit sets the file's mode
     * and group) and the file is not removed at stop (systemd owns it).
     * LISTEN_PID names this process but anything else does not hold:
     * DGA_E_SERVICE_ACTIVATION. LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are
     * unset at start, whatever they said, so that children do not inherit them.
     */
    bool socket_activation;
    struct dga_service_limits limits;
    size_t max_uri; /* request target cap */
    dga_service_log_fn log;
    void *log_cls;
};

struct dga_service;

/*
 * Loads libmicrohttpd (DGA_E_RUNTIME_LIBRARY, diag->field naming the file,
 * when it cannot be), binds the listen address or takes systemd's socket
 * (DGA_E_SERVICE_LISTEN, DGA_E_SERVICE_IN_USE, DGA_E_SERVICE_GROUP,
 * DGA_E_SERVICE_ACTIVATION: see the config; DGA_E_BAD_ARGUMENT for an address
 * that does not parse or a zero bound) and serves with the handlers until
 * dga_service_stop. c and h are copied.
 */
dga_err dga_service_start(const struct dga_service_config *c, const struct dga_service_handlers *h,
                          struct dga_service **ret, struct dga_diag *diag);
/* The bound TCP port (useful with port 0); 0 on a Unix socket. */
unsigned dga_service_port(const struct dga_service *s);
/* Whether s serves on the socket systemd passed (socket_activation), not on listen. */
bool dga_service_activated(const struct dga_service *s);
/* Stops serving: closes every connection, waits for the threads, frees s. NULL is fine. */
void dga_service_stop(struct dga_service *s);

/* Loads libmicrohttpd now (what dga_service_start does first); DGA_E_RUNTIME_LIBRARY. */
dga_err dga_service_load(struct dga_diag *diag);

/* ---- configuration: one table of options for a server's flags and config file ---- */

/*
 * How a number option reads: decimal digits, then at most one unit letter
 * (as written here: case matters, list both cases to take either) that
 * multiplies by its mult; the result at most max.
 */
struct dga_service_scale {
    const char *units;
    const uint64_t *mult; /* one per unit letter */
    uint64_t max;
};

/*
 * The units most servers take, in either case: durations s, m, h, d (in
 * seconds) and sizes K, M (in bytes, powers of 1024). A table writes, for
 * example, {DGA_SERVICE_DURATION_UNITS, dga_service_duration_mult, INT32_MAX}.
 */
#define DGA_SERVICE_DURATION_UNITS "SMHDsmhd"
extern const uint64_t dga_service_duration_mult[8];
#define DGA_SERVICE_SIZE_UNITS "KMkm"
extern const uint64_t dga_service_size_mult[4];

/*
 * One option of a server's configuration. The same table names the
 * command-line flags ("--name VALUE", "--name=VALUE") and the keys of the
 * config file ("name = value"), so the two cannot drift.
 */
struct dga_service_option {
    const char *name;    /* the key, and the flag without "--" */
    const char *metavar; /* the value in the help text ("DURATION"); "" for a switch */
    const char *help;    /* one line, the default in parentheses */
    /*
     * Parses value into the caller's config (the pointer given to the
     * functions below, of the type the table was written for). Any error
     * value on failure, and the config then unchanged: the callers report
     * the table's own error.
     */
    dga_err (*set)(void *config, const struct dga_service_option *o, const char *value);
    size_t offset; /* for setters that fill one field: offsetof it in the config */
    size_t size;   /* and its size (a string's buffer) */
    const struct dga_service_scale *scale; /* the number setters': how values read */
};

/* A row's offset and size for a field of the config type: DGA_SERVICE_FIELD(struct x, name). */
#define DGA_SERVICE_FIELD(type, field) offsetof(type, field), sizeof(((type *)0)->field)

/* Where a setter writes: o's field in config. */
static inline void *dga_service_option_field(void *config, const struct dga_service_option *o)
{
    return (char *)config + o->offset;
}

/* The longest line a config file may have, whatever the table asks for. */
#define DGA_SERVICE_CONFIG_LINE_MAX 8192

struct dga_service_options {
    const struct dga_service_option *options;
    size_t n;
    dga_err err;       /* what every failure returns (DGA_E_PROXY_CONFIG, ...) */
    size_t file_max;   /* the largest config file, in bytes */
    size_t line_limit; /* a line, newline excluded, must be shorter than this (and than
                        * DGA_SERVICE_CONFIG_LINE_MAX) */
};

/* The option called name (no "--"), NULL when there is none. */
const struct dga_service_option *dga_service_options_find(const struct dga_service_options *t,
                                                          const char *name);
/* Whether o is a switch: "--name" alone means "true", it takes no next argument. */
bool dga_service_option_is_switch(const struct dga_service_option *o);
/* Sets one option by name: t->err for an unknown name, a NULL or a bad value (config unchanged). */
dga_err dga_service_options_set(const struct dga_service_options *t, void *config, const char *name,
                                const char *value);
/*
 * Reads "key = value" text: one option per line, blanks around key and value
 * ignored (so CRLF lines read as LF ones), blank lines and lines whose first
 * non-blank is '#' skipped. t->err with diag->field:
 *   "config file"          text over t->file_max, or a NUL byte in it (offset 0);
 *   "config line too long" a line of t->line_limit bytes or more (offset = line, 1-based);
 *   "config line"          no '=', an unknown key or a bad value (offset = line).
 * Options set before the failing line stay set.
 */
dga_err dga_service_options_load_text(const struct dga_service_options *t, void *config,
                                      const char *text, size_t len, struct dga_diag *diag);
/*
 * The same on a file of at most t->file_max bytes; when it cannot be read,
 * dga_file_read's error with diag->field "config file", offset 0.
 */
dga_err dga_service_options_load_file(const struct dga_service_options *t, void *config,
                                      const char *path, struct dga_diag *diag);
/*
 * The help text, a line per option: printf's "  --%-35s %s\n" of "name
 * METAVAR" (the name alone for a switch) and the help. Written into buf
 * (terminated when size > 0); DGA_E_TOO_LARGE when it had to be cut.
 */
dga_err dga_service_options_help(const struct dga_service_options *t, char *buf, size_t size);
/* A number as scale says; false for anything else (nothing stored). */
bool dga_service_parse_number(const char *text, const struct dga_service_scale *scale,
                              uint64_t *ret);

/*
 * Setters for the common kinds of option, on the field at o->offset; on a
 * bad value DGA_E_BAD_ARGUMENT and the field unchanged:
 *   string:   non-empty and shorter than o->size (char[o->size]);
 *   int64:    a number as o->scale says (int64_t: durations in seconds);
 *   size:     the same into a size_t;
 *   unsigned: the same into an unsigned;
 *   (a number the field's type cannot hold is refused whatever o->scale says)
 *   bool:     "true" or "false" (a switch: its metavar is "").
 */
dga_err dga_service_set_string(void *config, const struct dga_service_option *o, const char *value);
dga_err dga_service_set_int64(void *config, const struct dga_service_option *o, const char *value);
dga_err dga_service_set_size(void *config, const struct dga_service_option *o, const char *value);
dga_err dga_service_set_unsigned(void *config, const struct dga_service_option *o,
                                 const char *value);
dga_err dga_service_set_bool(void *config, const struct dga_service_option *o, const char *value);

#endif
