/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest kms-hook: the KMS authorization webhook (docs/kms.md), a
 * drop-in for dstack's auth-simple with GPU rules. Options come from, in
 * increasing precedence: built-in defaults, the environment auth-simple
 * reads (PORT, AUTH_CONFIG_PATH), then flags. Runs until SIGINT/SIGTERM.
 */
#include <ctype.h>
#include <stdlib.h>

#include "cli.h"
#include "dga/cleanup.h"
#include "dga/kms.h"
#include "server_cmd.h"

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

/* auth-simple's environment: PORT (on the default address) and AUTH_CONFIG_PATH. */
static int apply_env(void *config)
{
    struct dga_kms_hook_config *c = config;
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
    if (path != NULL && path[0] != '\0' &&
        dga_service_options_set(dga_kms_hook_config_options(), c, "config", path) != DGA_E_OK) {
        cli_error("kms-hook: AUTH_CONFIG_PATH: invalid value");
        return EXIT_USAGE;
    }
    return 0;
}

/* SERVER_HELP: --help was printed; 0: c is ready; else an exit code. */
static int load_options(int argc, char **argv, struct dga_kms_hook_config *c)
{
    dga_kms_hook_config_defaults(c);
    const struct server_command cmd = {.name = "kms-hook",
                                       .options = dga_kms_hook_config_options(),
                                       .usage = kms_hook_usage,
                                       .config_is_path = true,
                                       .environment = apply_env};
    c->log = log_line;
    return server_parse_args(argc, argv, &cmd, c);
}

static int start_error(const char *step, dga_err e, const struct dga_diag *d)
{
    cli_error("kms-hook: %s: %s: %s: %s", step, d->field != NULL ? d->field : "?", dga_err_name(e),
              dga_err_message(e));
    return server_start_exit(e);
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
    server_block_signals(&stop);

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
    server_wait("kms-hook", &stop);
    return EXIT_VERIFIED;
}
