/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The collateral proxy: an HTTP/1.1 caching relay for NVIDIA's OCSP and RIM
 * services, protocol-compatible with dstack's nvidia-attest-proxy (docs/proxy.md).
 * It never signs, verifies or rewrites collateral: clients verify what they get.
 *
 * The parts are public so that they can be tested and fuzzed one by one:
 * configuration (flags, environment and a config file share one key table),
 * request parsing (pure: no I/O), the OCSP cache lifetime rule, and the server.
 */
#ifndef DGA_PROXY_H
#define DGA_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dga/error.h"
#include "dga/evidence.h" /* DGA_RIM_ID_MAX */
#include "dga/service.h"

/* ---- configuration ---------------------------------------------------------------- */

#define DGA_PROXY_URL_MAX 1024
#define DGA_PROXY_PATH_MAX 1024
#define DGA_PROXY_CONFIG_FILE_MAX (64 * 1024)

/* Why the proxy logs: the library never prints, the program decides where lines go. */
typedef void (*dga_proxy_log_fn)(void *cls, const char *line);

struct dga_proxy_config {
    char listen[DGA_PROXY_URL_MAX]; /* "ADDR:PORT" or "[ADDR6]:PORT"; port 0 = any */
    char cache_dir[DGA_PROXY_PATH_MAX];
    char ocsp_url[DGA_PROXY_URL_MAX]; /* the OCSP request is POSTed to this URL as is */
    char rim_url[DGA_PROXY_URL_MAX];  /* base: <rim_url>/v1/rim/<id> */
    char service_key[512];            /* NVIDIA service key: Authorization: Bearer, RIM only */
    bool allow_insecure_service_key;  /* also send it when rim_url is http:// (false) */
    /* durations, in seconds */
    int64_t ocsp_max_ttl;        /* cap on an OCSP entry's lifetime (24h) */
    int64_t ocsp_default_ttl;    /* lifetime from thisUpdate when nextUpdate is absent (1h) */
    int64_t ocsp_refresh_before; /* synchronous refresh this long before expiry (5m) */
    int64_t rim_ttl;             /* RIM freshness (30d) */
    int64_t rim_max_stale;    /* serve an expired RIM this much longer on upstream failure (7d) */
    int64_t refresh_interval; /* background refresher period, 0 = off (10m) */
    int64_t upstream_timeout; /* whole upstream request (30s) */
    int64_t connect_timeout;  /* upstream connect (10s) */
    /* bounds */
    size_t max_entries_per_kind; /* entries per kind (OCSP, RIM); the oldest is evicted (10000) */
    size_t max_cache_bytes;      /* all bodies together (1 GiB) */
    size_t max_ocsp_response;    /* upstream OCSP body (1 MiB) */
    size_t max_rim_response;     /* upstream RIM body (16 MiB) */
    unsigned refresh_parallel;   /* background refresh upstream requests at once (4) */
    /*
     * the clients: client-timeout (idle, 10s), client-request-timeout (a whole
     * request, 30s), max-request (the POST /ocsp body, at most
     * DGA_PROXY_REQUEST_MAX: 64 KiB), max-connections (1024),
     * max-connections-per-client (one IP address, 128)
     */
    struct dga_service_limits limits;
    /* where log lines go; NULL = nowhere */
    dga_proxy_log_fn log;
    void *log_cls;
};

/* dstack-nvidia-attest-proxy's defaults (docs/proxy.md). */
void dga_proxy_config_defaults(struct dga_proxy_config *c);

/*
 * Sets one option by its long name without "--" ("listen", "cache-dir",
 * "ocsp-max-ttl", ...; the list is in docs/proxy.md and `proxy --help`).
 * Durations take s/m/h/d suffixes (bare numbers are seconds), sizes K/M/G.
 * DGA_E_PROXY_CONFIG for an unknown key or a bad value; c is then unchanged.
 */
dga_err dga_proxy_config_set(struct dga_proxy_config *c, const char *key, const char *value);
/* Whether key names an option (so a CLI can tell unknown flags from bad values). */
bool dga_proxy_config_known(const char *key);
/* Whether key is an on/off switch: "--key" alone means "true" ("true"/"false" as values). */
bool dga_proxy_config_is_switch(const char *key);
/* One line per option for usage text: "  --key VALUE   help" (static storage). */
const char *dga_proxy_config_help(void);
/*
 * The option table behind these functions (dga/service.h), so that a program
 * parses its flags with the service layer's helpers (dga_service_options_*).
 */
struct dga_service_options;
const struct dga_service_options *dga_proxy_config_options(void);

/*
 * Reads a config file: one "key = value" per line, '#' starts a comment line,
 * blank lines ignored, keys as for dga_proxy_config_set. An unknown key, a
 * line without '=', or a bad value is DGA_E_PROXY_CONFIG with diag->offset =
 * line number (1-based). Keys applied before the failing line stay applied.
 */
dga_err dga_proxy_config_load_file(struct dga_proxy_config *c, const char *path,
                                   struct dga_diag *diag);
/* The same on text in memory (the file reader and the tests use it). */
dga_err dga_proxy_config_load_text(struct dga_proxy_config *c, const char *text, size_t len,
                                   struct dga_diag *diag);
/* Applies dstack's environment variables (NVIDIA_ATTEST_PROXY_*, NV_ATTESTATION_SERVICE_KEY). */
dga_err dga_proxy_config_from_env(struct dga_proxy_config *c, struct dga_diag *diag);
/*
 * Cross-field checks (non-empty URLs and dir, parseable listen address, sane
 * bounds), and a service key with an http:// rim-url only with
 * allow_insecure_service_key.
 */
dga_err dga_proxy_config_check(const struct dga_proxy_config *c, struct dga_diag *diag);

/* Duration text ("90", "5m", "24h", "30d") to seconds; DGA_E_PROXY_CONFIG. */
dga_err dga_proxy_parse_duration(const char *text, int64_t *ret);

/* ---- requests --------------------------------------------------------------------- */

#define DGA_PROXY_REQUEST_MAX (64 * 1024) /* dstack's POST /ocsp body limit */
#define DGA_PROXY_URI_MAX 8192            /* raw request target */

enum dga_proxy_route {
    DGA_PROXY_ROUTE_OCSP_POST, /* POST /ocsp */
    DGA_PROXY_ROUTE_OCSP_GET,  /* GET /ocsp/<base64 request> (RFC 5019) */
    DGA_PROXY_ROUTE_RIM,       /* GET /v1/rim/<id> */
    DGA_PROXY_ROUTE_HEALTHZ,   /* GET /healthz */
    DGA_PROXY_ROUTE_INFO,      /* GET /info */
};

enum dga_proxy_kind { DGA_PROXY_KIND_OCSP, DGA_PROXY_KIND_RIM, DGA_PROXY_KIND__COUNT };

struct dga_proxy_request {
    enum dga_proxy_route route;
    uint8_t key[32]; /* cache key (OCSP and RIM routes) */
    uint8_t *ocsp;   /* the DER OCSPRequest (OCSP routes), malloc'd */
    size_t ocsp_len;
    char rim_id[DGA_RIM_ID_MAX];
};

/*
 * The route of a request line, before any body is read: 0 when it names an
 * endpoint, else the HTTP status to answer (404 unknown path, 405 wrong
 * method on a known path, 400 for a query string or an over-long target).
 * uri is the raw request target as the client sent it.
 */
int dga_proxy_route(const char *method, const char *uri, enum dga_proxy_route *ret);

/*
 * Parses a whole request: route, content type, body. Returns 0 and fills
 * *ret (free with dga_proxy_request_clear) or the HTTP status to answer:
 * 404/405 as above, 415 a POST /ocsp without Content-Type
 * application/ocsp-request, 413 a body over max_body, 400 a malformed OCSP
 * request, base64 or RIM id. Pure: no I/O, no allocation survives a failure.
 */
int dga_proxy_parse(const char *method, const char *uri, const char *content_type,
                    const uint8_t *body, size_t body_len, size_t max_body,
                    struct dga_proxy_request *ret);
/*
 * Frees what *r holds, not r itself (the caller's), and leaves it zeroed:
 * clearing twice is harmless. NULL is fine.
 */
void dga_proxy_request_clear(struct dga_proxy_request *r);
/* For _cleanup_ on a struct variable: dga_proxy_request_clear(r). */
static inline void dga_proxy_request_clearp(struct dga_proxy_request *r)
{
    dga_proxy_request_clear(r);
}

/*
 * The OCSP cache key: SHA-256 of the DER TLV of tbsRequest.requestList, so
 * that the nonce (a request extension) is not part of it. The request must
 * be one DER OCSPRequest that OpenSSL accepts, with nothing after it
 * (DGA_E_BAD_DER otherwise).
 */
dga_err dga_proxy_ocsp_key(const uint8_t *der, size_t len, uint8_t ret_key[32]);

/* ---- OCSP cache lifetime ---------------------------------------------------------- */

/*
 * When a cached OCSP response must stop being served:
 *   min(now + max_ttl, min over SingleResponses of (nextUpdate or thisUpdate + default_ttl)).
 * DGA_E_PROXY_UNCACHEABLE for a response that is not "successful", has no
 * SingleResponse, has a thisUpdate after now, or is already expired;
 * DGA_E_BAD_DER if OpenSSL cannot parse it. Also returns the earliest
 * thisUpdate (for Last-Modified) when ret_this_update is not NULL.
 */
dga_err dga_proxy_ocsp_expiry(const uint8_t *der, size_t len, time_t now, int64_t max_ttl,
                              int64_t default_ttl, time_t *ret_expires, time_t *ret_this_update);

/*
 * Whether a response answers a request: it is successful and holds a
 * SingleResponse for every CertID of the request. The proxy keeps nothing
 * else, so one misdirected answer cannot be replayed under another key.
 * DGA_E_PROXY_UNCACHEABLE or DGA_E_BAD_DER otherwise.
 */
dga_err dga_proxy_ocsp_answers(const uint8_t *req_der, size_t req_len, const uint8_t *resp_der,
                               size_t resp_len);

/*
 * Whether a RIM service answer is for rim_id: what the client accepts
 * (dga_collateral_rim_answer: a JSON object, no duplicate keys, whose "id"
 * is the string rim_id and whose "rim" decodes), as NVIDIA's service returns. The
 * proxy caches no other answer, and drops a cached one that is not, so that
 * a document cannot be served under another id's key.
 * DGA_E_PROXY_UNCACHEABLE otherwise.
 */
dga_err dga_proxy_rim_answers(const uint8_t *body, size_t len, const char *rim_id);

/* ---- the server ------------------------------------------------------------------- */

struct dga_proxy;

/*
 * Loads the on-disk cache (dropping entries whose body digest does not
 * match, and anything beyond the bounds), binds the listen address and
 * starts serving and the background refresher. libmicrohttpd and libcurl
 * are loaded here, on first use: DGA_E_RUNTIME_LIBRARY, diag->field naming
 * the file, when either cannot be.
 */
dga_err dga_proxy_start(const struct dga_proxy_config *c, struct dga_proxy **ret,
                        struct dga_diag *diag);
/* The bound TCP port (useful with port 0). */
unsigned dga_proxy_port(const struct dga_proxy *p);
/* Stops serving, waits for the threads and frees everything. NULL is fine. */
void dga_proxy_stop(struct dga_proxy *p);

#endif
