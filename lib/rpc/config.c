/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RPC service's flags: one table of options (dga/service.h). Where the
 * bundle, the event log and NVML are comes from the gate's config file, not
 * from here, so the two never disagree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dga/rpc.h"

static const struct dga_service_scale durations = {DGA_SERVICE_DURATION_UNITS,
                                                   dga_service_duration_mult, INT32_MAX};
static const struct dga_service_scale sizes = {DGA_SERVICE_SIZE_UNITS, dga_service_size_mult,
                                               DGA_RPC_MAX_REQUEST_MAX};
static const struct dga_service_scale counts = {"Kk", dga_service_size_mult, 65536};

/* "unix:PATH" or "ADDR:PORT", checked as the server will bind it. */
static dga_err set_listen(void *config, const struct dga_service_option *o, const char *value)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (dga_service_parse_listen(value, &ss, &sl) != DGA_E_OK) {
        return DGA_E_BAD_ARGUMENT;
    }
    return dga_service_set_string(config, o, value);
}

/* An octal file mode, at most 0777 ("0660", "660"). */
static dga_err set_mode(void *config, const struct dga_service_option *o, const char *value)
{
    char *end = NULL;
    errno = 0;
    unsigned long m = strtoul(value, &end, 8);
    if (value[0] < '0' || value[0] > '7' || errno != 0 || *end != '\0' || m > 0777 || m == 0) {
        return DGA_E_BAD_ARGUMENT;
    }
    *(unsigned *)dga_service_option_field(config, o) = (unsigned)m;
    return DGA_E_OK;
}

/* A count of at least 1: a burst of 0 would refuse every AttestGpu call. */
static dga_err set_burst(void *config, const struct dga_service_option *o, const char *value)
{
    unsigned saved = *(unsigned *)dga_service_option_field(config, o);
    dga_err e = dga_service_set_unsigned(config, o, value);
    if (e == DGA_E_OK && *(unsigned *)dga_service_option_field(config, o) == 0) {
        *(unsigned *)dga_service_option_field(config, o) = saved;
        return DGA_E_BAD_ARGUMENT;
    }
    return e;
}

#define F(field) DGA_SERVICE_FIELD(struct dga_rpc_config, field)

static const struct dga_service_option options[] = {
    {"config", "GATE.json", "the gate's config file (required)", dga_service_set_string,
     F(gate_config), NULL},
    {"listen", "unix:PATH", "where to listen (" DGA_RPC_DEFAULT_LISTEN ")", set_listen, F(listen),
     NULL},
    {"socket-mode", "MODE", "the socket file's mode, octal (0666)", set_mode, F(socket_mode), NULL},
    {"socket-group", "NAME", "the socket file's group (the service's own)", dga_service_set_string,
     F(socket_group), NULL},
    {"client-timeout", "DURATION", "idle client connection timeout (10s)", dga_service_set_int64,
     F(limits.client_timeout), &durations},
    {"client-request-timeout", "DURATION",
     "whole request (headers and body) must arrive within this (30s)", dga_service_set_int64,
     F(limits.client_request_timeout), &durations},
    {"max-request", "SIZE", "request body limit, at most 1M (64K)", dga_service_set_size,
     F(limits.max_request), &sizes},
    {"max-connections", "N", "concurrent client connections (64)", dga_service_set_unsigned,
     F(limits.max_connections), &counts},
    {"attest-burst", "N", "AttestGpu calls allowed at once, at least 1 (2)", set_burst,
     F(attest_burst), &counts},
    {"attest-interval", "DURATION", "one more AttestGpu call per this, 0 for no limit (10s)",
     dga_service_set_int64, F(attest_interval), &durations},
};

static const struct dga_service_options table = {
    .options = options,
    .n = sizeof options / sizeof options[0],
    .err = DGA_E_BAD_ARGUMENT,
    .file_max = 1u << 16,
    .line_limit = DGA_RPC_PATH_MAX + 64,
};

const struct dga_service_options *dga_rpc_config_options(void)
{
    return &table;
}

void dga_rpc_config_defaults(struct dga_rpc_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "%s", DGA_RPC_DEFAULT_LISTEN);
    c->socket_mode = 0666;
    /* per client: the same as the whole, one "client" on a Unix socket (dga_rpc_serve) */
    dga_service_limits_defaults(&c->limits, 64, 64, 64u << 10);
    c->attest_burst = 2;
    c->attest_interval = 10;
}

const char *dga_rpc_config_help(void)
{
    static char text[2048];
    static bool done;
    if (!done) {
        (void)dga_service_options_help(&table, text, sizeof text);
        done = true;
    }
    return text;
}

dga_err dga_rpc_config_check(const struct dga_rpc_config *c, struct dga_diag *diag)
{
    dga_err e =
        dga_service_limits_check(&c->limits, DGA_RPC_MAX_REQUEST_MAX, DGA_E_BAD_ARGUMENT, diag);
    if (e == DGA_E_OK && c->attest_burst == 0) {
        e = dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "attest-burst");
    }
    return e;
}
