/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest proxy: the collateral caching proxy (docs/proxy.md).
 * Options come from, in increasing precedence: built-in defaults, dstack's
 * environment variables, --config FILE, then flags. Runs until SIGINT/SIGTERM.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dga/proxy.h"

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

/* The value of "--name=value" or "--name value"; advances *i past what it used. */
static const char *option_value(int argc, char **argv, int *i, const char *eq)
{
    if (eq != NULL) {
        return eq + 1;
    }
    if (*i + 1 >= argc) {
        return NULL;
    }
    return argv[++*i];
}

/* First pass: --help and --config, which must act before the other flags. */
static int early_flags(int argc, char **argv, struct dga_proxy_config *c)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            proxy_usage(stdout);
            return -1;
        }
        const char *eq = strchr(argv[i], '=');
        bool is_config =
            strncmp(argv[i], "--config", 8) == 0 && (argv[i][8] == '\0' || argv[i][8] == '=');
        if (!is_config) {
            continue;
        }
        const char *path = option_value(argc, argv, &i, eq);
        struct dga_diag d = {0};
        if (path == NULL) {
            cli_error("proxy: --config needs a FILE");
            return EXIT_USAGE;
        }
        if (dga_proxy_config_load_file(c, path, &d) != DGA_E_OK) {
            cli_error("proxy: %s: line %zu: %s: %s", path, d.offset, d.field,
                      dga_err_message(d.err));
            return EXIT_USAGE;
        }
    }
    return 0;
}

static int apply_flags(int argc, char **argv, struct dga_proxy_config *c)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            cli_error("proxy: unexpected argument '%s' (try --help)", arg);
            return EXIT_USAGE;
        }
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t n = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (n >= sizeof name) {
            cli_error("proxy: unknown option '%s' (try --help)", arg);
            return EXIT_USAGE;
        }
        memcpy(name, arg + 2, n);
        name[n] = '\0';
        /* a switch alone is "true"; it never takes the next argument as its value */
        const char *value = dga_proxy_config_is_switch(name) && eq == NULL
                                ? "true"
                                : option_value(argc, argv, &i, eq);
        if (strcmp(name, "config") == 0) {
            continue; /* applied first */
        }
        if (!dga_proxy_config_known(name)) {
            cli_error("proxy: unknown option '--%s' (try --help)", name);
            return EXIT_USAGE;
        }
        if (value == NULL || dga_proxy_config_set(c, name, value) != DGA_E_OK) {
            cli_error("proxy: --%s: invalid value '%s'", name, value != NULL ? value : "");
            return EXIT_USAGE;
        }
    }
    return 0;
}

static int load_config(int argc, char **argv, struct dga_proxy_config *c)
{
    dga_proxy_config_defaults(c);
    struct dga_diag d = {0};
    if (dga_proxy_config_from_env(c, &d) != DGA_E_OK) {
        cli_error("proxy: environment %s: %s", d.field, dga_err_message(d.err));
        return EXIT_USAGE;
    }
    int rc = early_flags(argc, argv, c);
    if (rc == 0) {
        rc = apply_flags(argc, argv, c);
    }
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
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct dga_proxy *p = NULL;
    struct dga_diag d = {0};
    dga_err e = dga_proxy_start(&c, &p, &d);
    if (e != DGA_E_OK) {
        cli_error("proxy: %s: %s", d.field != NULL ? d.field : "start", dga_err_message(e));
        return e == DGA_E_PROXY_CONFIG ? EXIT_USAGE : EXIT_IO;
    }
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "%s proxy: stopping (signal %d)\n", PROGRAM, sig);
    dga_proxy_stop(p);
    return EXIT_VERIFIED;
}
