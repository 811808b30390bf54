/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the server commands (proxy, verifier, and any other server on the
 * service layer) share: their flags parsed into the config through its
 * option table (dga/service.h), one way for all, and the wait for the stop
 * signals.
 */
#ifndef DGA_TOOLS_SERVER_CMD_H
#define DGA_TOOLS_SERVER_CMD_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "dga/service.h"

struct server_command {
    const char *name;                          /* "proxy": the start of every message */
    const struct dga_service_options *options; /* the config's table (dga_*_config_options) */
    void (*usage)(FILE *out);                  /* the --help text */
    /*
     * --config FILE is an option of the table like any other (kms-hook's
     * auth-config.json path), applied in order with the others; false: a
     * "key = value" file read through the table before the other flags.
     */
    bool config_is_path;
    /*
     * NULL, or what the environment sets (auth-simple's PORT, ...): called
     * after the --help pass, before the flags, which win; EXIT_VERIFIED, or
     * an exit code after its one line on stderr.
     */
    int (*environment)(void *config);
};

/* What server_parse_args returns after --help: exit 0 without serving. */
#define SERVER_HELP (-1)

/*
 * Applies argv (argv[0] the command's name) to config, over what it holds
 * already (defaults, the environment):
 *   1. --help or -h, wherever it stands: usage on stdout, SERVER_HELP; and,
 *      in order, each "--config FILE" or "--config=FILE": the file through
 *      the table (dga_service_options_load_file), unless config_is_path;
 *   2. cmd->environment, when there is one;
 *   3. then the other flags in order: "--name VALUE" or "--name=VALUE", a
 *      switch alone is "true" and never takes the next argument.
 * EXIT_USAGE, after one line on stderr: "<name>: --config needs a FILE",
 * "<name>: FILE: line N: FIELD: MESSAGE", "<name>: unexpected argument 'ARG'
 * (try --help)", "<name>: unknown option '--KEY' (try --help)", "<name>:
 * --KEY: invalid value 'VALUE'". Else EXIT_VERIFIED: the caller then checks
 * the config as a whole.
 */
int server_parse_args(int argc, char **argv, const struct server_command *cmd, void *config);

/*
 * Blocks SIGINT and SIGTERM in this thread and every thread it starts after
 * (call it before starting the server), so that server_wait receives them;
 * ignores SIGPIPE (a client gone mid-answer).
 */
void server_block_signals(sigset_t *ret_stop);
/*
 * The exit code for a server's failed start: 3 when it could not listen (a
 * live instance on its socket included), load libmicrohttpd or allocate;
 * else 2 (its configuration or the files it names).
 */
int server_start_exit(dga_err e);

/* Waits for SIGINT or SIGTERM, then "<PROGRAM> <name>: stopping (signal N)" on stderr. */
void server_wait(const char *name, const sigset_t *stop);

#endif
