/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest verifier: the relying-party verifier as an HTTP server
 * (docs/verify.md, Server). Options come from, in increasing precedence:
 * built-in defaults, --config FILE, then flags. Runs until SIGINT/SIGTERM.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dga/cleanup.h"
#include "dga/verifier.h"

static void verifier_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s verifier [--config FILE] [--OPTION VALUE | --OPTION=VALUE]...\n"
            "\n"
            "Serves `verify` over HTTP, as dstack-verifier does: POST /verify takes its\n"
            "VerificationRequest JSON (quote, event_log, vm_config, report_data) plus an\n"
            "optional gpu_bundle string, and answers 200 with the verdict, valid or not;\n"
            "GET /health. The expectations and the collateral source are the server's.\n"
            "\n"
            "Options (durations take s/m/h/d, sizes K/M):\n"
            "  --config FILE                         'key = value' lines, keys as below\n"
            "%s"
            "  --help                                this text\n"
            "\n"
            "Logs go to stderr. Exit status: 0 stopped by SIGINT/SIGTERM, 2 usage or\n"
            "configuration error, 3 cannot listen or out of memory.\n",
            PROGRAM, dga_verifier_config_help());
}

static void log_line(void *cls, const char *line)
{
    (void)cls;
    fprintf(stderr, "%s verifier: %s\n", PROGRAM, line);
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

static bool is_config_flag(const char *arg)
{
    return strncmp(arg, "--config", 8) == 0 && (arg[8] == '\0' || arg[8] == '=');
}

/* First pass: --help and --config, which must act before the other flags. */
static int early_flags(int argc, char **argv, struct dga_verifier_config *c)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            verifier_usage(stdout);
            return -1;
        }
        if (!is_config_flag(argv[i])) {
            continue;
        }
        const char *path = option_value(argc, argv, &i, strchr(argv[i], '='));
        struct dga_diag d = {0};
        if (path == NULL) {
            cli_error("verifier: --config needs a FILE");
            return EXIT_USAGE;
        }
        if (dga_verifier_config_load_file(c, path, &d) != DGA_E_OK) {
            cli_error("verifier: %s: line %zu: %s: %s", path, d.offset, d.field,
                      dga_err_message(d.err));
            return EXIT_USAGE;
        }
    }
    return 0;
}

static int apply_flags(int argc, char **argv, struct dga_verifier_config *c)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            cli_error("verifier: unexpected argument '%s' (try --help)", arg);
            return EXIT_USAGE;
        }
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t n = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (n >= sizeof name) {
            cli_error("verifier: unknown option '%s' (try --help)", arg);
            return EXIT_USAGE;
        }
        memcpy(name, arg + 2, n);
        name[n] = '\0';
        const char *value = option_value(argc, argv, &i, eq);
        if (strcmp(name, "config") == 0) {
            continue; /* applied first */
        }
        if (!dga_verifier_config_known(name)) {
            cli_error("verifier: unknown option '--%s' (try --help)", name);
            return EXIT_USAGE;
        }
        if (value == NULL || dga_verifier_config_set(c, name, value) != DGA_E_OK) {
            cli_error("verifier: --%s: invalid value '%s'", name, value != NULL ? value : "");
            return EXIT_USAGE;
        }
    }
    return 0;
}

static int load_config(int argc, char **argv, struct dga_verifier_config *c)
{
    dga_verifier_config_defaults(c);
    int rc = early_flags(argc, argv, c);
    if (rc == 0) {
        rc = apply_flags(argc, argv, c);
    }
    struct dga_diag d = {0};
    if (rc == 0 && dga_verifier_config_check(c, &d) != DGA_E_OK) {
        cli_error("verifier: %s: %s", d.field, dga_err_message(d.err));
        rc = EXIT_USAGE;
    }
    c->log = log_line;
    return rc;
}

/* What stopped the start: the relying party's files are configuration (2); else 3. */
static int start_error(const char *step, dga_err e, const struct dga_diag *d)
{
    cli_error("verifier: %s: %s: %s: %s", step, d->field != NULL ? d->field : "?", dga_err_name(e),
              dga_err_message(e));
    return e == DGA_E_NOMEM || e == DGA_E_SERVICE_LISTEN || e == DGA_E_RUNTIME_LIBRARY ? EXIT_IO
                                                                                       : EXIT_USAGE;
}

int cmd_verifier(int argc, char **argv)
{
    struct dga_verifier_config c;
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

    _cleanup_(dga_verifier_freep) struct dga_verifier *v = NULL;
    struct dga_diag d = {0};
    dga_err e = dga_verifier_new(&c, &v, &d);
    if (e != DGA_E_OK) {
        return start_error("load", e, &d);
    }
    e = dga_verifier_serve(v, &d);
    if (e != DGA_E_OK) {
        return start_error("serve", e, &d);
    }
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "%s verifier: stopping (signal %d)\n", PROGRAM, sig);
    return EXIT_VERIFIED;
}
