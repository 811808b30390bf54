/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier server's configuration: one table of options shared by the
 * command-line flags and the config file, so the two cannot drift.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dga/cvm.h"
#include "dga/util.h"
#include "dga/verifier.h"

enum opt_type { OPT_STRING, OPT_DURATION, OPT_SIZE, OPT_UINT, OPT_TIME };

struct option_def {
    const char *name;
    enum opt_type type;
    size_t offset;
    size_t size; /* OPT_STRING: buffer size */
    const char *meta;
    const char *help;
};

#define STR(field)                                                                                 \
    OPT_STRING, offsetof(struct dga_verifier_config, field),                                       \
        sizeof(((struct dga_verifier_config *)0)->field)
#define NUM(t, field) t, offsetof(struct dga_verifier_config, field), 0

static const struct option_def options[] = {
    {"listen", STR(listen), "ADDR:PORT", "address to listen on (127.0.0.1:8080)"},
    {"expect", STR(expect), "FILE", "the expectations document (required)"},
    {"collateral", STR(collateral), "FILE", "the quote's collateral (QuoteCollateralV3 JSON)"},
    {"collateral-dir", STR(collateral_dir), "DIR", "a TDX collateral directory"},
    {"pccs-url", STR(pccs_url), "URL", "fetch the quote's collateral from this PCCS"},
    {"test-trusted-root", STR(test_trusted_root), "FILE",
     "TESTS ONLY: verify quotes to this root instead of Intel's"},
    {"at", NUM(OPT_TIME, at), "TIME", "TESTS ONLY: a fixed verification time (default: now)"},
    {"client-timeout", NUM(OPT_DURATION, client_timeout), "DURATION",
     "idle client connection timeout (10s)"},
    {"client-request-timeout", NUM(OPT_DURATION, client_request_timeout), "DURATION",
     "whole request (headers and body) must arrive within this (30s)"},
    {"max-request", NUM(OPT_SIZE, max_request), "SIZE", "POST /verify body limit, at most 8M (8M)"},
    {"max-connections", NUM(OPT_UINT, max_connections), "N", "concurrent client connections (256)"},
    {"max-connections-per-client", NUM(OPT_UINT, max_connections_per_client), "N",
     "concurrent connections from one IP address (64)"},
    {"collateral-cache", NUM(OPT_SIZE, collateral_cache), "N",
     "parsed collateral documents kept (64)"},
};

#define N_OPTIONS (sizeof options / sizeof options[0])

void dga_verifier_config_defaults(struct dga_verifier_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
    c->client_timeout = 10;
    c->client_request_timeout = 30;
    c->max_request = DGA_CVM_INPUT_MAX;
    c->max_connections = 256;
    c->max_connections_per_client = 64;
    c->collateral_cache = 64;
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

bool dga_verifier_config_known(const char *key)
{
    return find_option(key) != NULL;
}

/* Digits, then at most one unit letter of `units` whose multiplier is mult[i]. */
static dga_err parse_scaled(const char *text, const char *units, const uint64_t *mult,
                            uint64_t *ret)
{
    if (!isdigit((unsigned char)text[0])) {
        return DGA_E_VERIFIER_CONFIG;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0) {
        return DGA_E_VERIFIER_CONFIG;
    }
    uint64_t m = 1;
    if (*end != '\0') {
        const char *u = strchr(units, toupper((unsigned char)*end));
        if (u == NULL || end[1] != '\0') {
            return DGA_E_VERIFIER_CONFIG;
        }
        m = mult[u - units];
    }
    if (v > UINT64_MAX / m) {
        return DGA_E_VERIFIER_CONFIG;
    }
    *ret = (uint64_t)v * m;
    return DGA_E_OK;
}

static dga_err parse_time(const char *text, time_t *ret)
{
    if (text[0] != '@') {
        return dga_time_parse(text, ret) == DGA_E_OK ? DGA_E_OK : DGA_E_VERIFIER_CONFIG;
    }
    uint64_t v = 0;
    static const uint64_t none[] = {1};
    if (parse_scaled(text + 1, "", none, &v) != DGA_E_OK || v > INT64_MAX / 2) {
        return DGA_E_VERIFIER_CONFIG;
    }
    *ret = (time_t)v;
    return DGA_E_OK;
}

static dga_err set_number(struct dga_verifier_config *c, const struct option_def *o,
                          const char *value)
{
    static const uint64_t secs[] = {1, 60, 3600, 86400};
    static const uint64_t bytes[] = {1u << 10, 1u << 20};
    char *field = (char *)c + o->offset;
    uint64_t v = 0;
    bool dur = o->type == OPT_DURATION;
    dga_err e = dur ? parse_scaled(value, "SMHD", secs, &v) : parse_scaled(value, "KM", bytes, &v);
    if (e != DGA_E_OK || v > (dur ? (uint64_t)INT32_MAX : (uint64_t)1 << 40)) {
        return DGA_E_VERIFIER_CONFIG;
    }
    if (dur) {
        int64_t d = (int64_t)v;
        memcpy(field, &d, sizeof d);
    } else if (o->type == OPT_SIZE) {
        size_t s = (size_t)v;
        memcpy(field, &s, sizeof s);
    } else {
        if (v > 1000000) {
            return DGA_E_VERIFIER_CONFIG;
        }
        unsigned u = (unsigned)v;
        memcpy(field, &u, sizeof u);
    }
    return DGA_E_OK;
}

dga_err dga_verifier_config_set(struct dga_verifier_config *c, const char *key, const char *value)
{
    const struct option_def *o = find_option(key);
    if (o == NULL || value == NULL) {
        return DGA_E_VERIFIER_CONFIG;
    }
    char *field = (char *)c + o->offset;
    time_t t = 0;
    switch (o->type) {
    case OPT_STRING:
        if (value[0] == '\0' || strlen(value) >= o->size) {
            return DGA_E_VERIFIER_CONFIG;
        }
        memcpy(field, value, strlen(value) + 1);
        return DGA_E_OK;
    case OPT_TIME:
        if (parse_time(value, &t) != DGA_E_OK) {
            return DGA_E_VERIFIER_CONFIG;
        }
        c->at = t;
        c->has_at = true;
        return DGA_E_OK;
    default:
        return set_number(c, o, value);
    }
}

const char *dga_verifier_config_help(void)
{
    static char text[4096];
    static bool done;
    if (!done) {
        size_t at = 0;
        for (size_t i = 0; i < N_OPTIONS && at < sizeof text; i++) {
            char flag[64];
            snprintf(flag, sizeof flag, "%s %s", options[i].name, options[i].meta);
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
static dga_err load_line(struct dga_verifier_config *c, char *line)
{
    char *t = trim(line);
    if (t[0] == '\0' || t[0] == '#') {
        return DGA_E_OK;
    }
    char *eq = strchr(t, '=');
    if (eq == NULL) {
        return DGA_E_VERIFIER_CONFIG;
    }
    *eq = '\0';
    return dga_verifier_config_set(c, trim(t), trim(eq + 1));
}

dga_err dga_verifier_config_load_text(struct dga_verifier_config *c, const char *text, size_t len,
                                      struct dga_diag *diag)
{
    if (len > DGA_VERIFIER_CONFIG_FILE_MAX || memchr(text, '\0', len) != NULL) {
        return dga_diag_set(diag, DGA_E_VERIFIER_CONFIG, 0, "config file");
    }
    size_t line_no = 0;
    size_t at = 0;
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
        char line[DGA_VERIFIER_PATH_MAX + 64];
        line_no++;
        if (n >= sizeof line) {
            return dga_diag_set(diag, DGA_E_VERIFIER_CONFIG, line_no, "config line too long");
        }
        memcpy(line, text + at, n);
        line[n] = '\0';
        if (load_line(c, line) != DGA_E_OK) {
            return dga_diag_set(diag, DGA_E_VERIFIER_CONFIG, line_no, "config line");
        }
        at += n + 1;
    }
    return DGA_E_OK;
}

dga_err dga_verifier_config_load_file(struct dga_verifier_config *c, const char *path,
                                      struct dga_diag *diag)
{
    uint8_t *data = NULL;
    size_t len = 0;
    dga_err e = dga_file_read(path, DGA_VERIFIER_CONFIG_FILE_MAX, &data, &len);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "config file");
    }
    e = dga_verifier_config_load_text(c, (const char *)data, len, diag);
    free(data);
    return e;
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
    if (c->max_request == 0 || c->max_request > DGA_CVM_INPUT_MAX) {
        return dga_diag_set(diag, DGA_E_VERIFIER_CONFIG, 0, "max-request (1 to 8M)");
    }
    if (c->max_connections == 0 || c->max_connections_per_client == 0 || c->collateral_cache == 0 ||
        c->client_timeout == 0 || c->client_request_timeout == 0) {
        return dga_diag_set(diag, DGA_E_VERIFIER_CONFIG, 0, "a bound or timeout is 0");
    }
    return DGA_E_OK;
}
