/* SPDX-License-Identifier: Apache-2.0 */
/* What the server commands share (tools/server_cmd.h). */
#include "server_cmd.h"

#include <stdbool.h>
#include <string.h>

#include "cli.h"

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
static int early_flags(int argc, char **argv, const struct server_command *cmd, void *config)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cmd->usage(stdout);
            return SERVER_HELP;
        }
        if (cmd->config_is_path || !is_config_flag(argv[i])) {
            continue;
        }
        const char *path = option_value(argc, argv, &i, strchr(argv[i], '='));
        struct dga_diag d = {0};
        if (path == NULL) {
            cli_error("%s: --config needs a FILE", cmd->name);
            return EXIT_USAGE;
        }
        if (dga_service_options_load_file(cmd->options, config, path, &d) != DGA_E_OK) {
            cli_error("%s: %s: line %zu: %s: %s", cmd->name, path, d.offset, d.field,
                      dga_err_message(d.err));
            return EXIT_USAGE;
        }
    }
    return EXIT_VERIFIED;
}

/* One flag at argv[*i], "--" checked; advances *i past its value. */
static int apply_flag(int argc, char **argv, int *i, const struct server_command *cmd, void *config)
{
    const char *arg = argv[*i];
    char name[64];
    const char *eq = strchr(arg, '=');
    size_t n = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    if (n >= sizeof name) {
        cli_error("%s: unknown option '%s' (try --help)", cmd->name, arg);
        return EXIT_USAGE;
    }
    memcpy(name, arg + 2, n);
    name[n] = '\0';
    const struct dga_service_option *o = dga_service_options_find(cmd->options, name);
    /* a switch alone is "true"; it never takes the next argument as its value */
    const char *value = o != NULL && dga_service_option_is_switch(o) && eq == NULL
                            ? "true"
                            : option_value(argc, argv, i, eq);
    if (strcmp(name, "config") == 0 && !cmd->config_is_path) {
        return EXIT_VERIFIED; /* applied first */
    }
    if (o == NULL) {
        cli_error("%s: unknown option '--%s' (try --help)", cmd->name, name);
        return EXIT_USAGE;
    }
    if (value == NULL || dga_service_options_set(cmd->options, config, name, value) != DGA_E_OK) {
        cli_error("%s: --%s: invalid value '%s'", cmd->name, name, value != NULL ? value : "");
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

int server_parse_args(int argc, char **argv, const struct server_command *cmd, void *config)
{
    int rc = early_flags(argc, argv, cmd, config);
    if (rc == EXIT_VERIFIED && cmd->environment != NULL) {
        rc = cmd->environment(config);
    }
    for (int i = 1; i < argc && rc == EXIT_VERIFIED; i++) {
        if (strncmp(argv[i], "--", 2) != 0) {
            cli_error("%s: unexpected argument '%s' (try --help)", cmd->name, argv[i]);
            return EXIT_USAGE;
        }
        rc = apply_flag(argc, argv, &i, cmd, config);
    }
    return rc;
}

void server_block_signals(sigset_t *ret_stop)
{
    sigemptyset(ret_stop);
    sigaddset(ret_stop, SIGINT);
    sigaddset(ret_stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, ret_stop, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void server_wait(const char *name, const sigset_t *stop)
{
    int sig = 0;
    sigwait(stop, &sig);
    fprintf(stderr, "%s %s: stopping (signal %d)\n", PROGRAM, name, sig);
}

int server_start_exit(dga_err e)
{
    return e == DGA_E_NOMEM || e == DGA_E_SERVICE_LISTEN || e == DGA_E_SERVICE_IN_USE ||
                   e == DGA_E_RUNTIME_LIBRARY
               ? EXIT_IO
               : EXIT_USAGE;
}
