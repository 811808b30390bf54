/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kms-hook's options as one table (dga/service.h), so its flags are parsed
 * as the proxy's and the verifier's are. The values it takes are those it
 * always took: no bound or timeout may be 0, the units read in either case,
 * the request body at most DGA_KMS_REQUEST_MAX.
 */
#include <string.h>

#include "dga/kms.h"

static const struct dga_service_scale durations = {DGA_SERVICE_DURATION_UNITS,
                                                   dga_service_duration_mult, INT32_MAX};
static const struct dga_service_scale sizes = {DGA_SERVICE_SIZE_UNITS, dga_service_size_mult,
                                               DGA_KMS_REQUEST_MAX};
static const struct dga_service_scale counts = {"", NULL, 1000000};

/* Whether value is a number as o->scale says other than 0 (auth-simple has no "off"). */
static bool positive(const struct dga_service_option *o, const char *value)
{
    uint64_t v = 0;
    return dga_service_parse_number(value, o->scale, &v) && v > 0;
}

static dga_err set_seconds(void *config, const struct dga_service_option *o, const char *value)
{
    return positive(o, value) ? dga_service_set_int64(config, o, value) : DGA_E_BAD_ARGUMENT;
}

static dga_err set_bytes(void *config, const struct dga_service_option *o, const char *value)
{
    return positive(o, value) ? dga_service_set_size(config, o, value) : DGA_E_BAD_ARGUMENT;
}

static dga_err set_count(void *config, const struct dga_service_option *o, const char *value)
{
    return positive(o, value) ? dga_service_set_unsigned(config, o, value) : DGA_E_BAD_ARGUMENT;
}

/* The switch --quiet turns the decision log off ("--quiet=false" leaves it on). */
static dga_err set_quiet(void *config, const struct dga_service_option *o, const char *value)
{
    (void)o;
    bool quiet = strcmp(value, "true") == 0;
    if (!quiet && strcmp(value, "false") != 0) {
        return DGA_E_BAD_ARGUMENT;
    }
    ((struct dga_kms_hook_config *)config)->log_decisions = !quiet;
    return DGA_E_OK;
}

#define F(field) DGA_SERVICE_FIELD(struct dga_kms_hook_config, field)

static const struct dga_service_option options[] = {
    {"listen", "ADDR:PORT", "address to listen on (127.0.0.1:3000; env PORT sets the port)",
     dga_service_set_string, F(listen), NULL},
    {"config", "FILE", "auth-config.json (./auth-config.json; env AUTH_CONFIG_PATH)",
     dga_service_set_string, F(config), NULL},
    {"client-timeout", "DURATION", "idle client connection timeout (10s)", set_seconds,
     F(limits.client_timeout), &durations},
    {"client-request-timeout", "DURATION",
     "whole request (headers and body) must arrive within this (30s)", set_seconds,
     F(limits.client_request_timeout), &durations},
    {"max-request", "SIZE", "request body limit, at most 64K (64K)", set_bytes,
     F(limits.max_request), &sizes},
    {"max-connections", "N", "concurrent client connections (1024)", set_count,
     F(limits.max_connections), &counts},
    {"max-connections-per-client", "N", "concurrent connections from one IP (128)", set_count,
     F(limits.max_connections_per_client), &counts},
    {"quiet", "", "no log line per decision", set_quiet, 0, 0, NULL},
};

static const struct dga_service_options table = {
    .options = options,
    .n = sizeof options / sizeof options[0],
    .err = DGA_E_BAD_ARGUMENT, /* what dga_kms_hook_new answers for a bad limit */
    .file_max = 0,             /* no "key = value" file: --config is auth-config.json */
    .line_limit = 0,
};

const struct dga_service_options *dga_kms_hook_config_options(void)
{
    return &table;
}
