/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest kms-hook: the KMS authorization webhook (docs/kms.md), a
 * drop-in for dstack's auth-simple with GPU rules. Options come from, in
 * increasing precedence: built-in defaults, the environment auth-simple
 * reads (PORT, AUTH_CONFIG_PATH), then flags. Runs until SIGINT/SIGTERM.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dga/cleanup.h"
#include "dga/kms.h"

static void kms_hook_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s kms-hook [--listen ADDR:PORT] [--config FILE] [OPTION VALUE]...\n"
            "\n"
            "dstack KMS authorization webhook, compatible with auth-simple: GET / (health\n"
            "and info), POST /bootAuth/app, POST /bootAuth/kms with dstack's BootInfo JSON,\n"
            "answered {\"isAllowed\", \"reason\", \"gatewayAppId\"}. The configuration is\n"
            "auth-simple's auth-config.json plus optional GPU rules (apps.<appId>.gpu,\n"
            "kms.gpu) on the gpuPolicyHash and gpuAttestation fields a GPU-aware KMS adds.\n"
            "It is re-read whenever the file changes; while it does not parse, every\n"
            "request is denied with the reason.\n"
            "\n"
            "Options (durations take s/m/h/d, sizes K/M):\n"
            "  --listen ADDR:PORT                 address to listen on (127.0.0.1:3000;\n"
            "                                     env PORT sets the port)\n"
            "  --config FILE                      auth-config.json (./auth-config.json;\n"
            "                                     env AUTH_CONFIG_PATH)\n"
            "  --client-timeout DURATION          idle client connection timeout (10s)\n"
            "  --client-request-timeout DURATION  whole request (headers and body) must\n"
            "                                     arrive within this (30s)\n"
            "  --max-request SIZE                 request body limit, at most 64K (64K)\n"
            "  --max-connections N                concurrent client connections (1024)\n"
            "  --max-connections-per-client N     concurrent connections from one IP (128)\n"
            "  --quiet                            no log line per decision\n"
            "  --help                             this text\n"
            "\n"
            "Logs go to stderr. Exit status: 0 stopped by SIGINT/SIGTERM, 2 usage or\n"
            "configuration error, 3 cannot listen or out of memory.\n",
            PROGRAM);
}

static void log_line(void *cls, const char *line)
{
    (void)cls;
    fprintf(stderr, "%s kms-hook: %s\n", PROGRAM, line);
}

/* Digits, then at most one unit letter of `units` whose multiplier is mult[i]. */
static bool parse_scaled(const char *text, const char *units, const uint64_t *mult, uint64_t max,
                         uint64_t *ret)
{
    if (!isdigit((unsigned char)text[0])) {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    uint64_t m = 1;
    if (errno != 0) {
        return false;
    }
    if (*end != '\0') {
        const char *u = strchr(units, toupper((unsigned char)*end));
        if (u == NULL || *u == '\0' || end[1] != '\0') {
            return false;
        }
        m = mult[u - units];
    }
    if (v > max / m) {
        return false;
    }
    *ret = (uint64_t)v * m;
    return true;
}

static bool set_option(struct dga_kms_hook_config *c, const char *name, const char *value)
{
    static const uint64_t secs[] = {1, 60, 3600, 86400};
    static const uint64_t bytes[] = {1u << 10, 1u << 20};
    static const uint64_t one[] = {1};
    uint64_t v = 0;
    if (strcmp(name, "listen") == 0 || strcmp(name, "config") == 0) {
        char *field = strcmp(name, "listen") == 0 ? c->listen : c->config;
        size_t size = strcmp(name, "listen") == 0 ? sizeof c->listen : sizeof c->config;
        return value[0] != '\0' && (size_t)snprintf(field, size, "%s", value) < size;
    }
    if (strcmp(name, "client-timeout") == 0 || strcmp(name, "client-request-timeout") == 0) {
        if (!parse_scaled(value, "SMHD", secs, INT32_MAX, &v) || v == 0) {
            return false;
        }
        *(strcmp(name, "client-timeout") == 0 ? &c->client_timeout : &c->client_request_timeout) =
            (int64_t)v;
        return true;
    }
    if (strcmp(name, "max-request") == 0) {
        bool ok = parse_scaled(value, "KM", bytes, DGA_KMS_REQUEST_MAX, &v) && v > 0;
        c->max_request = ok ? (size_t)v : c->max_request;
        return ok;
    }
    if (strcmp(name, "max-connections") == 0 || strcmp(name, "max-connections-per-client") == 0) {
        if (!parse_scaled(value, "", one, 1000000, &v) || v == 0) {
            return false;
        }
        *(strcmp(name, "max-connections") == 0 ? &c->max_connections
                                               : &c->max_connections_per_client) = (unsigned)v;
        return true;
    }
    return false;
}

static bool known_option(const char *name)
{
    static const char *const names[] = {"listen",
                                        "config",
                                        "client-timeout",
                                        "client-request-timeout",
                                        "max-request",
                                        "max-connections",
                                        "max-connections-per-client"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* auth-simple's environment: PORT (on the default address) and AUTH_CONFIG_PATH. */
static int apply_env(struct dga_kms_hook_config *c)
{
    const char *port = getenv("PORT");
    const char *path = getenv("AUTH_CONFIG_PATH");
    if (port != NULL && port[0] != '\0') {
        char *end = NULL;
        unsigned long p = strtoul(port, &end, 10);
        if (!isdigit((unsigned char)port[0]) || *end != '\0' || p > 65535) {
            cli_error("kms-hook: PORT: invalid value '%s'", port);
            return EXIT_USAGE;
        }
        snprintf(c->listen, sizeof c->listen, "127.0.0.1:%lu", p);
    }
    if (path != NULL && path[0] != '\0' && !set_option(c, "config", path)) {
        cli_error("kms-hook: AUTH_CONFIG_PATH: invalid value");
        return EXIT_USAGE;
    }
    return 0;
}

/* One flag: "--name value" or "--name=value"; advances *i past what it used. */
static int apply_flag(int argc, char **argv, int *i, struct dga_kms_hook_config *c)
{
    const char *arg = argv[*i];
    if (strcmp(arg, "--quiet") == 0) {
        c->log_decisions = false;
        return 0;
    }
    char name[64];
    const char *eq = strchr(arg, '=');
    size_t n = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    if (strncmp(arg, "--", 2) != 0 || n >= sizeof name) {
        cli_error("kms-hook: unexpected argument '%s' (try --help)", arg);
        return EXIT_USAGE;
    }
    memcpy(name, arg + 2, n);
    name[n] = '\0';
    if (!known_option(name)) {
        cli_error("kms-hook: unknown option '--%s' (try --help)", name);
        return EXIT_USAGE;
    }
    const char *value = eq != NULL ? eq + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
    if (value == NULL || !set_option(c, name, value)) {
        cli_error("kms-hook: --%s: invalid value '%s'", name, value != NULL ? value : "");
        return EXIT_USAGE;
    }
    return 0;
}

/* -1: --help was printed; 0: c is ready; else an exit code. */
static int load_options(int argc, char **argv, struct dga_kms_hook_config *c)
{
    dga_kms_hook_config_defaults(c);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            kms_hook_usage(stdout);
            return -1;
        }
    }
    int rc = apply_env(c);
    for (int i = 1; rc == 0 && i < argc; i++) {
        rc = apply_flag(argc, argv, &i, c);
    }
    c->log = log_line;
    return rc;
}

static int start_error(const char *step, dga_err e, const struct dga_diag *d)
{
    cli_error("kms-hook: %s: %s: %s: %s", step, d->field != NULL ? d->field : "?", dga_err_name(e),
              dga_err_message(e));
    return e == DGA_E_NOMEM || e == DGA_E_SERVICE_LISTEN || e == DGA_E_RUNTIME_LIBRARY ? EXIT_IO
                                                                                       : EXIT_USAGE;
}

int cmd_kms_hook(int argc, char **argv)
{
    struct dga_kms_hook_config c;
    int rc = load_options(argc, argv, &c);
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

    _cleanup_(dga_kms_hook_freep) struct dga_kms_hook *h = NULL;
    struct dga_diag d = {0};
    dga_err e = dga_kms_hook_new(&c, &h, &d);
    if (e != DGA_E_OK) {
        return start_error("start", e, &d);
    }
    e = dga_kms_hook_serve(h, &d);
    if (e != DGA_E_OK) {
        return start_error("serve", e, &d);
    }
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "%s kms-hook: stopping (signal %d)\n", PROGRAM, sig);
    return EXIT_VERIFIED;
}
