/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier server's configuration: one table of options (dga/service.h)
 * shared by the command-line flags and the config file, so the two cannot
 * drift; the reader of the file is the service layer's.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dga/cvm.h"
#include "dga/util.h"
#include "dga/verifier.h"

/* Either case of the unit letters, each with its multiplier. */
static const struct dga_service_scale durations = {DGA_SERVICE_DURATION_UNITS,
                                                   dga_service_duration_mult, INT32_MAX};
static const struct dga_service_scale sizes = {DGA_SERVICE_SIZE_UNITS, dga_service_size_mult,
                                               (uint64_t)1 << 40};
static const struct dga_service_scale counts = {DGA_SERVICE_SIZE_UNITS, dga_service_size_mult,
                                                1000000};

static dga_err set_time(void *config, const struct dga_service_option *o, const char *value);

#define F(field) DGA_SERVICE_FIELD(struct dga_verifier_config, field)

static const struct dga_service_option options[] = {
    {"listen", "ADDR:PORT", "address to listen on (127.0.0.1:8080)", dga_service_set_string,
     F(listen), NULL},
    {"expect", "FILE", "the expectations document (required)", dga_service_set_string, F(expect),
     NULL},
    {"collateral", "FILE", "the quote's collateral (QuoteCollateralV3 JSON)",
     dga_service_set_string, F(collateral), NULL},
    {"collateral-dir", "DIR", "a TDX collateral directory", dga_service_set_string,
     F(collateral_dir), NULL},
    {"pccs-url", "URL", "fetch the quote's collateral from this PCCS", dga_service_set_string,
     F(pccs_url), NULL},
    {"test-trusted-root", "FILE", "TESTS ONLY: verify quotes to this root instead of Intel's",
     dga_service_set_string, F(test_trusted_root), NULL},
    {"at", "TIME", "TESTS ONLY: a fixed verification time (default: now)", set_time, F(at), NULL},
    {"client-timeout", "DURATION", "idle client connection timeout (10s)", dga_service_set_int64,
     F(limits.client_timeout), &durations},
    {"client-request-timeout", "DURATION",
     "whole request (headers and body) must arrive within this (30s)", dga_service_set_int64,
     F(limits.client_request_timeout), &durations},
    {"max-request", "SIZE", "POST /verify body limit, at most 8M (8M)", dga_service_set_size,
     F(limits.max_request), &sizes},
    {"max-connections", "N", "concurrent client connections (256)", dga_service_set_unsigned,
     F(limits.max_connections), &counts},
    {"max-connections-per-client", "N", "concurrent connections from one IP address (64)",
     dga_service_set_unsigned, F(limits.max_connections_per_client), &counts},
    {"collateral-cache", "N", "parsed collateral documents kept (64)", dga_service_set_size,
     F(collateral_cache), &sizes},
};

static const struct dga_service_options table = {
    .options = options,
    .n = sizeof options / sizeof options[0],
    .err = DGA_E_VERIFIER_CONFIG,
    .file_max = DGA_VERIFIER_CONFIG_FILE_MAX,
    .line_limit = DGA_VERIFIER_PATH_MAX + 64, /* a path and its key */
};

const struct dga_service_options *dga_verifier_config_options(void)
{
    return &table;
}

void dga_verifier_config_defaults(struct dga_verifier_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
    dga_service_limits_defaults(&c->limits, 256, 64, DGA_CVM_INPUT_MAX);
    c->collateral_cache = 64;
}

bool dga_verifier_config_known(const char *key)
{
    return dga_service_options_find(&table, key) != NULL;
}

static dga_err parse_time(const char *text, time_t *ret)
{
    if (text[0] != '@') {
        return dga_time_parse(text, ret) == DGA_E_OK ? DGA_E_OK : DGA_E_VERIFIER_CONFIG;
    }
    static const struct dga_service_scale unix_seconds = {"", NULL, INT64_MAX / 2};
    uint64_t v = 0;
    if (!dga_service_parse_number(text + 1, &unix_seconds, &v)) {
        return DGA_E_VERIFIER_CONFIG;
    }
    *ret = (time_t)v;
    return DGA_E_OK;
}

static dga_err set_time(void *config, const struct dga_service_option *o, const char *value)
{
    (void)o;
    struct dga_verifier_config *c = config;
    time_t t = 0;
    if (parse_time(value, &t) != DGA_E_OK) {
        return DGA_E_VERIFIER_CONFIG;
    }
    c->at = t;
    c->has_at = true;
    return DGA_E_OK;
}

dga_err dga_verifier_config_set(struct dga_verifier_config *c, const char *key, const char *value)
{
    return dga_service_options_set(&table, c, key, value);
}

const char *dga_verifier_config_help(void)
{
    static char text[4096];
    static bool done;
    if (!done) {
        dga_service_options_help(&table, text, sizeof text);
        done = true;
    }
    return text;
}

dga_err dga_verifier_config_load_text(struct dga_verifier_config *c, const char *text, size_t len,
                                      struct dga_diag *diag)
{
    return dga_service_options_load_text(&table, c, text, len, diag);
}

dga_err dga_verifier_config_load_file(struct dga_verifier_config *c, const char *path,
                                      struct dga_diag *diag)
{
    return dga_service_options_load_file(&table, c, path, diag);
}

static bool is_http_url(const char *u)
{
    return strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0;
}

static dga_err check_sources(const struct dga_verifier_config *c, struct dga_diag *diag)
{
    int sources =
        (c->collateral[0] != '\0') + (c->collateral_dir[0] != '\0') + (c->pccs_url[0] != '\0');
    if (sources != 1) {
        return dga_diag_set(diag, DGA_E_VERIFIER_CONFIG, 0,
                            "exactly one of collateral, collateral-dir, pccs-url");
    }
    if (c->pccs_url[0] != '\0' && !is_http_url(c->pccs_url)) {
        return dga_diag_set(diag, DGA_E_VERIFIER_CONFIG, 0, "pccs-url");
    }
    return DGA_E_OK;
}

dga_err dga_verifier_config_check(const struct dga_verifier_config *c, struct dga_diag *diag)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (strnlen(c->listen, sizeof c->listen) == sizeof c->listen ||
        dga_service_parse_listen(c->listen, &ss, &sl) != DGA_E_OK) {
        return dga_diag_set(diag, DGA_E_VERIFIER_CONFIG, 0, "listen");
    }
    if (c->expect[0] == '\0') {
        return dga_diag_set(diag, DGA_E_VERIFIER_CONFIG, 0, "expect (required)");
    }
    dga_err e = check_sources(c, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_service_limits_check(&c->limits, DGA_CVM_INPUT_MAX, DGA_E_VERIFIER_CONFIG, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (c->collateral_cache == 0) {
        return dga_diag_set(diag, DGA_E_VERIFIER_CONFIG, 0, "collateral-cache");
    }
    return DGA_E_OK;
}
