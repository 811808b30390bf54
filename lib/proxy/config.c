/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Proxy configuration: one table of options (dga/service.h) shared by the
 * command-line flags, the environment and the config file, so the three
 * cannot drift; the reader of the file is the service layer's.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dga/proxy.h"
#include "dga/service.h"
#include "dga/util.h"
#include "proxy/internal.h"

/* Ten years: far beyond any sensible lifetime, small enough for time_t arithmetic. */
#define DURATION_MAX ((uint64_t)10 * 366 * 86400)

static const uint64_t seconds[] = {1, 60, 3600, 86400};
static const uint64_t bytes[] = {1024, (uint64_t)1 << 20, (uint64_t)1 << 30};
static const struct dga_service_scale durations = {"smhd", seconds, DURATION_MAX};
static const struct dga_service_scale sizes = {"KMG", bytes, SIZE_MAX / 2};
static const struct dga_service_scale counts = {"KMG", bytes, 1000000};

static dga_err set_service_key(void *config, const struct dga_service_option *o, const char *value);

#define F(field) DGA_SERVICE_FIELD(struct dga_proxy_config, field)

static const struct dga_service_option options[] = {
    {"listen", "ADDR:PORT", "address to listen on (0.0.0.0:8090)", dga_service_set_string,
     F(listen), NULL},
    {"cache-dir", "DIR", "cache directory (/var/cache/dstack/nvidia-attest-proxy)",
     dga_service_set_string, F(cache_dir), NULL},
    {"ocsp-url", "URL", "upstream OCSP responder (https://ocsp.ndis.nvidia.com)",
     dga_service_set_string, F(ocsp_url), NULL},
    {"rim-url", "URL", "upstream RIM service (https://rim.attestation.nvidia.com)",
     dga_service_set_string, F(rim_url), NULL},
    {"ocsp-max-ttl", "DURATION", "longest OCSP entry lifetime (24h)", dga_service_set_int64,
     F(ocsp_max_ttl), &durations},
    {"ocsp-default-ttl", "DURATION", "OCSP lifetime from thisUpdate without nextUpdate (1h)",
     dga_service_set_int64, F(ocsp_default_ttl), &durations},
    {"ocsp-refresh-before", "DURATION", "refresh OCSP synchronously this long before expiry (5m)",
     dga_service_set_int64, F(ocsp_refresh_before), &durations},
    {"rim-ttl", "DURATION", "RIM freshness (30d)", dga_service_set_int64, F(rim_ttl), &durations},
    {"rim-max-stale", "DURATION",
     "serve an expired RIM this long if upstream fails, 0 = never (7d)", dga_service_set_int64,
     F(rim_max_stale), &durations},
    {"refresh-interval", "DURATION", "background refresh period, 0 = off (10m)",
     dga_service_set_int64, F(refresh_interval), &durations},
    {"upstream-timeout", "DURATION", "upstream request timeout (30s)", dga_service_set_int64,
     F(upstream_timeout), &durations},
    {"connect-timeout", "DURATION", "upstream connect timeout (10s)", dga_service_set_int64,
     F(connect_timeout), &durations},
    {"client-timeout", "DURATION", "idle client connection timeout (10s)", dga_service_set_int64,
     F(limits.client_timeout), &durations},
    {"client-request-timeout", "DURATION",
     "whole request (headers and body) must arrive within this (30s)", dga_service_set_int64,
     F(limits.client_request_timeout), &durations},
    {"max-cache-entries-per-kind", "SIZE", "cached entries per kind, oldest evicted (10000)",
     dga_service_set_size, F(max_entries_per_kind), &sizes},
    {"max-cache-bytes", "SIZE", "cached bodies in all (1G)", dga_service_set_size,
     F(max_cache_bytes), &sizes},
    {"max-request", "SIZE", "POST /ocsp body limit, at most 64K (64K)", dga_service_set_size,
     F(limits.max_request), &sizes},
    {"max-ocsp-response", "SIZE", "upstream OCSP body limit (1M)", dga_service_set_size,
     F(max_ocsp_response), &sizes},
    {"max-rim-response", "SIZE", "upstream RIM body limit (16M)", dga_service_set_size,
     F(max_rim_response), &sizes},
    {"max-connections", "N", "concurrent client connections (1024)", dga_service_set_unsigned,
     F(limits.max_connections), &counts},
    {"max-connections-per-client", "N", "concurrent connections from one IP address (128)",
     dga_service_set_unsigned, F(limits.max_connections_per_client), &counts},
    {"refresh-parallel", "N", "background refresh upstream requests at once (4)",
     dga_service_set_unsigned, F(refresh_parallel), &counts},
    {"service-key-file", "FILE",
     "NVIDIA service key, sent to the RIM service as Authorization: Bearer", set_service_key,
     F(service_key), NULL},
    {"allow-insecure-service-key", "", "send the service key even to an http:// rim-url (off)",
     dga_service_set_bool, F(allow_insecure_service_key), NULL},
};

static const struct dga_service_options table = {
    .options = options,
    .n = sizeof options / sizeof options[0],
    .err = DGA_E_PROXY_CONFIG,
    .file_max = DGA_PROXY_CONFIG_FILE_MAX,
    .line_limit = 2048,
};

const struct dga_service_options *dga_proxy_config_options(void)
{
    return &table;
}

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
    c->max_entries_per_kind = 10000;
    c->max_cache_bytes = (size_t)1 << 30;
    c->max_ocsp_response = (size_t)1 << 20;
    c->max_rim_response = (size_t)16 << 20;
    c->refresh_parallel = 4;
    dga_service_limits_defaults(&c->limits, 1024, 128, DGA_PROXY_REQUEST_MAX);
}

bool dga_proxy_config_known(const char *key)
{
    return dga_service_options_find(&table, key) != NULL;
}

bool dga_proxy_config_is_switch(const char *key)
{
    const struct dga_service_option *o = dga_service_options_find(&table, key);
    return o != NULL && dga_service_option_is_switch(o);
}

dga_err dga_proxy_parse_duration(const char *text, int64_t *ret)
{
    uint64_t v = 0;
    if (!dga_service_parse_number(text, &durations, &v)) {
        return DGA_E_PROXY_CONFIG;
    }
    *ret = (int64_t)v;
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

static dga_err set_service_key(void *config, const struct dga_service_option *o, const char *value)
{
    (void)o;
    return load_service_key(config, value);
}

dga_err dga_proxy_config_set(struct dga_proxy_config *c, const char *key, const char *value)
{
    return dga_service_options_set(&table, c, key, value);
}

const char *dga_proxy_config_help(void)
{
    static char text[6144];
    static bool done;
    if (!done) {
        dga_service_options_help(&table, text, sizeof text);
        done = true;
    }
    return text;
}

dga_err dga_proxy_config_load_text(struct dga_proxy_config *c, const char *text, size_t len,
                                   struct dga_diag *diag)
{
    return dga_service_options_load_text(&table, c, text, len, diag);
}

dga_err dga_proxy_config_load_file(struct dga_proxy_config *c, const char *path,
                                   struct dga_diag *diag)
{
    return dga_service_options_load_file(&table, c, path, diag);
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
    /* DGA_PROXY_REQUEST_MAX: the OCSP request parser's own ceiling */
    dga_err e =
        dga_service_limits_check(&c->limits, DGA_PROXY_REQUEST_MAX, DGA_E_PROXY_CONFIG, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (c->max_entries_per_kind == 0 || c->max_cache_bytes == 0 || c->max_ocsp_response == 0 ||
        c->max_rim_response == 0 || c->refresh_parallel == 0 || c->refresh_parallel > 64) {
        return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "a bound is 0 or out of range");
    }
    if (c->upstream_timeout == 0 || c->connect_timeout == 0 || c->ocsp_max_ttl == 0 ||
        c->ocsp_default_ttl == 0 || c->rim_ttl == 0) {
        return dga_diag_set(diag, DGA_E_PROXY_CONFIG, 0, "a timeout or ttl is 0");
    }
    return DGA_E_OK;
}
