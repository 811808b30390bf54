/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Proxy configuration: one table of options shared by the command-line
 * flags, the environment and the config file, so the three cannot drift.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dga/proxy.h"
#include "dga/service.h"
#include "dga/util.h"
#include "proxy/internal.h"

enum opt_type { OPT_STRING, OPT_DURATION, OPT_SIZE, OPT_UINT, OPT_BOOL };

struct option_def {
    const char *name;
    enum opt_type type;
    size_t offset;
    size_t size; /* OPT_STRING: buffer size */
    const char *help;
    const char *meta; /* for usage text; NULL: from the type */
};

#define STR(field)                                                                                 \
    OPT_STRING, offsetof(struct dga_proxy_config, field),                                          \
        sizeof(((struct dga_proxy_config *)0)->field)
#define NUM(t, field) t, offsetof(struct dga_proxy_config, field), 0

static const struct option_def options[] = {
    {"listen", STR(listen), "address to listen on (0.0.0.0:8090)", "ADDR:PORT"},
    {"cache-dir", STR(cache_dir), "cache directory (/var/cache/dstack/nvidia-attest-proxy)", "DIR"},
    {"ocsp-url", STR(ocsp_url), "upstream OCSP responder (https://ocsp.ndis.nvidia.com)", "URL"},
    {"rim-url", STR(rim_url), "upstream RIM service (https://rim.attestation.nvidia.com)", "URL"},
    {"ocsp-max-ttl", NUM(OPT_DURATION, ocsp_max_ttl), "longest OCSP entry lifetime (24h)", NULL},
    {"ocsp-default-ttl", NUM(OPT_DURATION, ocsp_default_ttl),
     "OCSP lifetime from thisUpdate without nextUpdate (1h)", NULL},
    {"ocsp-refresh-before", NUM(OPT_DURATION, ocsp_refresh_before),
     "refresh OCSP synchronously this long before expiry (5m)", NULL},
    {"rim-ttl", NUM(OPT_DURATION, rim_ttl), "RIM freshness (30d)", NULL},
    {"rim-max-stale", NUM(OPT_DURATION, rim_max_stale),
     "serve an expired RIM this long if upstream fails, 0 = never (7d)", NULL},
    {"refresh-interval", NUM(OPT_DURATION, refresh_interval),
     "background refresh period, 0 = off (10m)", NULL},
    {"upstream-timeout", NUM(OPT_DURATION, upstream_timeout), "upstream request timeout (30s)",
     NULL},
    {"connect-timeout", NUM(OPT_DURATION, connect_timeout), "upstream connect timeout (10s)", NULL},
    {"client-timeout", NUM(OPT_DURATION, client_timeout), "idle client connection timeout (10s)",
     NULL},
    {"client-request-timeout", NUM(OPT_DURATION, client_request_timeout),
     "whole request (headers and body) must arrive within this (30s)", NULL},
    {"max-cache-entries-per-kind", NUM(OPT_SIZE, max_entries_per_kind),
     "cached entries per kind, oldest evicted (10000)", NULL},
    {"max-cache-bytes", NUM(OPT_SIZE, max_cache_bytes), "cached bodies in all (1G)", NULL},
    {"max-request", NUM(OPT_SIZE, max_request), "POST /ocsp body limit, at most 64K (64K)", NULL},
    {"max-ocsp-response", NUM(OPT_SIZE, max_ocsp_response), "upstream OCSP body limit (1M)", NULL},
    {"max-rim-response", NUM(OPT_SIZE, max_rim_response), "upstream RIM body limit (16M)", NULL},
    {"max-connections", NUM(OPT_UINT, max_connections), "concurrent client connections (1024)",
     NULL},
    {"max-connections-per-client", NUM(OPT_UINT, max_connections_per_client),
     "concurrent connections from one IP address (128)", NULL},
    {"refresh-parallel", NUM(OPT_UINT, refresh_parallel),
     "background refresh upstream requests at once (4)", NULL},
    {"service-key-file", OPT_STRING, 0, 0,
     "NVIDIA service key, sent to the RIM service as Authorization: Bearer", "FILE"},
    {"allow-insecure-service-key", NUM(OPT_BOOL, allow_insecure_service_key),
     "send the service key even to an http:// rim-url (off)", ""},
};

#define N_OPTIONS (sizeof options / sizeof options[0])

void dga_proxy_config_defaults(struct dga_proxy_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "0.0.0.0:8090");
    snprintf(c->cache_dir, sizeof c->cache_dir, "/var/cache/dstack/nvidia-attest-proxy");
    snprintf(c->ocsp_url, sizeof c->ocsp_url, "https://ocsp.ndis.nvidia.com");
    snprintf(c->rim_url, sizeof c->rim_url, "https://rim.attestation.nvidia.com");
    c->ocsp_max_ttl = 24 * 3600;
    c->ocsp_default_ttl = 3600;
    c->ocsp_refresh_before = 5 * 60;
    c->rim_ttl = 30 * 86400;
    c->rim_max_stale = 7 * 86400;
    c->refresh_interval = 10 * 60;
    c->upstream_timeout = 30;
    c->connect_timeout = 10;
    c->client_timeout = 10;
    c->client_request_timeout = 30;
    c->max_entries_per_kind = 10000;
    c->max_cache_bytes = (size_t)1 << 30;
    c->max_request = DGA_PROXY_REQUEST_MAX;
    c->max_ocsp_response = (size_t)1 << 20;
    c->max_rim_response = (size_t)16 << 20;
    c->max_connections = 1024;
    c->max_connections_per_client = 128;
    c->refresh_parallel = 4;
}

static const struct option_def *find_option(const char *key)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (strcmp(options[i].name, key) == 0) {
            return &options[i];
        }
    }
    return NULL;
}

bool dga_proxy_config_known(const char *key)
{
    return find_option(key) != NULL;
}

bool dga_proxy_config_is_switch(const char *key)
{
    const struct option_def *o = find_option(key);
    return o != NULL && o->type == OPT_BOOL;
}

static dga_err parse_bool(const char *text, bool *ret)
{
    if (strcmp(text, "true") == 0) {
        *ret = true;
        return DGA_E_OK;
    }
    if (strcmp(text, "false") == 0) {
        *ret = false;
        return DGA_E_OK;
    }
    return DGA_E_PROXY_CONFIG;
}

/* A decimal number, then an optional one-letter unit from `units` with its multiplier. */
static dga_err parse_scaled(const char *text, const char *units, const uint64_t *mult,
                            uint64_t *ret)
{
    if (!isdigit((unsigned char)text[0])) {
        return DGA_E_PROXY_CONFIG;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0) {
        return DGA_E_PROXY_CONFIG;
    }
    uint64_t m = 1;
    if (*end != '\0') {
        const char *u = strchr(units, *end);
        if (u == NULL || end[1] != '\0') {
            return DGA_E_PROXY_CONFIG;
        }
        m = mult[u - units];
    }
    if (v > UINT64_MAX / m) {
        return DGA_E_PROXY_CONFIG;
    }
    *ret = (uint64_t)v * m;
    return DGA_E_OK;
}

/* Ten years: far beyond any sensible lifetime, small enough for time_t arithmetic. */
#define DURATION_MAX ((uint64_t)10 * 366 * 86400)

dga_err dga_proxy_parse_duration(const char *text, int64_t *ret)
{
    static const uint64_t mult[] = {1, 60, 3600, 86400};
    uint64_t v;
    dga_err e = parse_scaled(text, "smhd", mult, &v);
    if (e != DGA_E_OK || v > DURATION_MAX) {
        return DGA_E_PROXY_CONFIG;
    }
    *ret = (int64_t)v;
    return DGA_E_OK;
}

static dga_err parse_size(const char *text, uint64_t *ret)
{
    static const uint64_t mult[] = {1024, (uint64_t)1 << 20, (uint64_t)1 << 30};
    uint64_t v;
    dga_err e = parse_scaled(text, "KMG", mult, &v);
    if (e != DGA_E_OK || v > SIZE_MAX / 2) {
        return DGA_E_PROXY_CONFIG;
    }
    *ret = v;
    return DGA_E_OK;
}

/*
 * The key goes upstream as "Authorization: Bearer <key>": printable ASCII
 * without spaces, so no CR or LF can end the header line and inject another.
 */
static bool service_key_ok(const uint8_t *key, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (key[i] < 0x21 || key[i] > 0x7e) {
            return false;
        }
    }
    return true;
}

/* The service key is a secret: it comes from a file, never from argv. */
static dga_err load_service_key(struct dga_proxy_config *c, const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (dga_file_read(path, sizeof c->service_key - 1, &data, &len) != DGA_E_OK) {
        return DGA_E_PROXY_CONFIG;
    }
    while (len > 0 && isspace(data[len - 1])) {
        len--;
    }
    if (!service_key_ok(data, len)) {
        free(data);
        return DGA_E_PROXY_CONFIG;
    }
    memcpy(c->service_key, data, len);
    c->service_key[len] = '\0';
    free(data);
    return DGA_E_OK;
}

dga_err dga_proxy_config_set(struct dga_proxy_config *c, const char *key, const char *value)
{
    const struct option_def *o = find_option(key);
    if (o == NULL || value == NULL) {
        return DGA_E_PROXY_CONFIG;
    }
    if (strcmp(key, "service-key-file") == 0) {
        return load_service_key(c, value);
    }
    char *field = (char *)c + o->offset;
    uint64_t v = 0;
    int64_t d = 0;
    bool b = false;
    size_t s = 0;
    unsigned u = 0;
    switch (o->type) {
    case OPT_STRING:
        if (value[0] == '\0' || strlen(value) >= o->size) {
            return DGA_E_PROXY_CONFIG;
        }
        memcpy(field, value, strlen(value) + 1);
        return DGA_E_OK;
    case OPT_DURATION:
        if (dga_proxy_parse_duration(value, &d) != DGA_E_OK) {
            return DGA_E_PROXY_CONFIG;
        }
        memcpy(field, &d, sizeof d);
        return DGA_E_OK;
    case OPT_SIZE:
        if (parse_size(value, &v) != DGA_E_OK) {
            return DGA_E_PROXY_CONFIG;
        }
        s = (size_t)v;
        memcpy(field, &s, sizeof s);
        return DGA_E_OK;
    case OPT_UINT:
        if (parse_size(value, &v) != DGA_E_OK || v > 1000000) {
            return DGA_E_PROXY_CONFIG;
        }
        u = (unsigned)v;
        memcpy(field, &u, sizeof u);
        return DGA_E_OK;
    case OPT_BOOL:
        if (parse_bool(value, &b) != DGA_E_OK) {
            return DGA_E_PROXY_CONFIG;
        }
        memcpy(field, &b, sizeof b);
        return DGA_E_OK;
    }
    return DGA_E_PROXY_CONFIG;
}

const char *dga_proxy_config_help(void)
{
    static char text[6144];
    static bool done;
    if (!done) {
        size_t at = 0;
        static const char *const meta[] = {"VALUE", "DURATION", "SIZE", "N", ""};
        for (size_t i = 0; i < N_OPTIONS && at < sizeof text; i++) {
            char flag[64];
            const char *m = options[i].meta != NULL ? options[i].meta : meta[options[i].type];
            snprintf(flag, sizeof flag, "%s%s%s", options[i].name, m[0] != '\0' ? " " : "", m);
            int n = snprintf(text + at, sizeof text - at, "  --%-35s %s\n", flag, options[i].help);
            if (n < 0) {
                break;
            }
            at += (size_t)n;
        }
        done = true;
    }
    return text;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        s[--n] = '\0';
    }
    return s;
}

/* One line of a config file; line is modified in place. */
static dga_err load_line(struct dga_proxy_config *c, char *line)
{
    char *t = trim(line);
    if (t[0] == '\0' || t[0] == '#') {
        return DGA_E_OK;
    }
    char *eq = strchr(t, '=');
    if (eq == NULL) {
        return DGA_E_PROXY_CONFIG;
    }
    *eq = '\0';
    return dga_proxy_config_set(c, trim(t), trim(eq + 1));
}

dga_err dga_proxy_config_load_text(struct dga_proxy_config *c, const char *text, size_t len,
                                   struct dga_diag *diag)
{
    if (len > DGA_PROXY_CONFIG_FILE_MAX || memchr(text, '\0', len) != NULL) {
        return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "config file");
    }
    size_t line_no = 0;
    size_t at = 0;
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
        char line[2048];
        line_no++;
        if (n >= sizeof line) {
            return dga_diag_set(diag, DGA_E_PROXY_CONFIG, line_no, "config line too long");
        }
        memcpy(line, text + at, n);
        line[n] = '\0';
        if (load_line(c, line) != DGA_E_OK) {
            return dga_diag_set(diag, DGA_E_PROXY_CONFIG, line_no, "config line");
        }
        at += n + 1;
    }
    return DGA_E_OK;
}

dga_err dga_proxy_config_load_file(struct dga_proxy_config *c, const char *path,
                                   struct dga_diag *diag)
{
    uint8_t *data = NULL;
    size_t len = 0;
    dga_err e = dga_file_read(path, DGA_PROXY_CONFIG_FILE_MAX, &data, &len);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "config file");
    }
    e = dga_proxy_config_load_text(c, (const char *)data, len, diag);
    free(data);
    return e;
}

dga_err dga_proxy_config_from_env(struct dga_proxy_config *c, struct dga_diag *diag)
{
    static const struct {
        const char *env, *key;
    } vars[] = {
        {"NVIDIA_ATTEST_PROXY_LISTEN", "listen"},
        {"NVIDIA_ATTEST_PROXY_CACHE_DIR", "cache-dir"},
        {"NVIDIA_ATTEST_PROXY_OCSP_URL", "ocsp-url"},
        {"NVIDIA_ATTEST_PROXY_RIM_URL", "rim-url"},
        {"GPU_ATTEST_PROXY_OCSP_REFRESH_BEFORE", "ocsp-refresh-before"},
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i].env);
        if (v != NULL && dga_proxy_config_set(c, vars[i].key, v) != DGA_E_OK) {
            return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, vars[i].env);
        }
    }
    const char *key = getenv("NV_ATTESTATION_SERVICE_KEY");
    if (key != NULL) {
        size_t n = strlen(key);
        if (n >= sizeof c->service_key || !service_key_ok((const uint8_t *)key, n)) {
            return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "NV_ATTESTATION_SERVICE_KEY");
        }
        memcpy(c->service_key, key, n + 1);
    }
    return DGA_E_OK;
}

/* The scheme is case-insensitive (RFC 3986 §3.1), as the HTTP client compares it. */
static bool is_https_url(const char *u)
{
    return strncasecmp(u, "https://", 8) == 0;
}

static bool is_http_url(const char *u)
{
    return strncasecmp(u, "http://", 7) == 0 || is_https_url(u);
}

dga_err dga_proxy_config_check(const struct dga_proxy_config *c, struct dga_diag *diag)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (dga_service_parse_listen(c->listen, &ss, &sl) != DGA_E_OK) {
        return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "listen");
    }
    if (!is_http_url(c->ocsp_url)) {
        return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "ocsp-url");
    }
    if (!is_http_url(c->rim_url)) {
        return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "rim-url");
    }
    size_t key_len = strnlen(c->service_key, sizeof c->service_key);
    if (key_len == sizeof c->service_key || /* not terminated */
        !service_key_ok((const uint8_t *)c->service_key, key_len)) {
        return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "service key (printable, no spaces)");
    }
    /* The key goes to the RIM service only, and in clear text only when asked for. */
    if (key_len > 0 && !is_https_url(c->rim_url) && !c->allow_insecure_service_key) {
        return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0,
                            "service key with an http:// rim-url "
                            "(use https, or --allow-insecure-service-key)");
    }
    if (c->cache_dir[0] != '/') {
        return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "cache-dir (must be absolute)");
    }
    if (c->max_request > DGA_PROXY_REQUEST_MAX) { /* the parser's own ceiling */
        return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "max-request (at most 64K)");
    }
    if (c->max_entries_per_kind == 0 || c->max_cache_bytes == 0 || c->max_request == 0 ||
        c->max_ocsp_response == 0 || c->max_rim_response == 0 || c->max_connections == 0 ||
        c->max_connections_per_client == 0 || c->refresh_parallel == 0 ||
        c->refresh_parallel > 64) {
        return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "a bound is 0 or out of range");
    }
    if (c->upstream_timeout == 0 || c->connect_timeout == 0 || c->client_timeout == 0 ||
        c->client_request_timeout == 0 || c->ocsp_max_ttl == 0 || c->ocsp_default_ttl == 0 ||
        c->rim_ttl == 0) {
        return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "a timeout or ttl is 0");
    }
    return DGA_E_OK;
}
