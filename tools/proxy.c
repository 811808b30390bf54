/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest proxy: the collateral caching proxy (docs/proxy.md).
 * Options come from, in increasing precedence: built-in defaults, dstack's
 * environment variables, --config FILE, then flags. Runs until SIGINT/SIGTERM.
 */
#include <stdlib.h>

#include "cli.h"
#include "dga/proxy.h"
#include "server_cmd.h"

static void proxy_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s proxy [--config FILE] [--OPTION VALUE | --OPTION=VALUE]...\n"
            "\n"
            "A caching HTTP/1.1 relay for NVIDIA's OCSP and RIM services, protocol-compatible\n"
            "with dstack's nvidia-attest-proxy: POST /ocsp, GET /ocsp/<base64> (RFC 5019),\n"
            "GET /v1/rim/<id>, GET /healthz, GET /info. It never verifies or rewrites\n"
            "collateral; clients verify what they receive.\n"
            "\n"
            "Options (durations take s/m/h/d, sizes K/M/G):\n"
            "  --config FILE                         'key = value' lines, keys as below\n"
            "%s"
            "  --help                                this text\n"
            "\n"
            "Environment: NVIDIA_ATTEST_PROXY_LISTEN, _CACHE_DIR, _OCSP_URL, _RIM_URL,\n"
            "GPU_ATTEST_PROXY_OCSP_REFRESH_BEFORE, NV_ATTESTATION_SERVICE_KEY.\n"
            "Logs go to stderr. Exit status: 0 stopped by SIGINT/SIGTERM, 2 usage or\n"
            "configuration error, 3 cannot listen or use the cache directory.\n",
            PROGRAM, dga_proxy_config_help());
}

static void log_line(void *cls, const char *line)
{
    (void)cls;
    fprintf(stderr, "%s proxy: %s\n", PROGRAM, line);
}

static int load_config(int argc, char **argv, struct dga_proxy_config *c)
{
    dga_proxy_config_defaults(c);
    struct dga_diag d = {0};
    if (dga_proxy_config_from_env(c, &d) != DGA_E_OK) {
        cli_error("proxy: environment %s: %s", d.field, dga_err_message(d.err));
        return EXIT_USAGE;
    }
    const struct server_command cmd = {
        .name = "proxy", .options = dga_proxy_config_options(), .usage = proxy_usage};
    int rc = server_parse_args(argc, argv, &cmd, c);
    if (rc == 0 && dga_proxy_config_check(c, &d) != DGA_E_OK) {
        cli_error("proxy: %s: %s", d.field, dga_err_message(d.err));
        rc = EXIT_USAGE;
    }
    c->log = log_line;
    return rc;
}

int cmd_proxy(int argc, char **argv)
{
    struct dga_proxy_config c;
    int rc = load_config(argc, argv, &c);
    if (rc != 0) {
        return rc < 0 ? EXIT_VERIFIED : rc;
    }
    /* Block the stop signals in every thread; the main thread waits for them. */
    sigset_t stop;
    server_block_signals(&stop);

    struct dga_proxy *p = NULL;
    struct dga_diag d = {0};
    dga_err e = dga_proxy_start(&c, &p, &d);
    if (e != DGA_E_OK) {
        cli_error("proxy: %s: %s", d.field != NULL ? d.field : "start", dga_err_message(e));
        return e == DGA_E_PROXY_CONFIG ? EXIT_USAGE : EXIT_IO;
    }
    server_wait("proxy", &stop);
    dga_proxy_stop(p);
    return EXIT_VERIFIED;
}
