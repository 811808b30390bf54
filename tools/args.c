/* SPDX-License-Identifier: Apache-2.0 */
/* Option parsing by table for the subcommands (tools/args.h). */
#include "args.h"

#include <getopt.h>
#include <stdlib.h>

#include "cli.h"

/* getopt_long's value for row i of a table: above every character getopt can return. */
#define ROW_BASE 256

/* Takes the value of one row; returns an exit code. */
static int take(const struct cli_option *o, const char *text)
{
    if (o->flag != NULL) {
        *o->flag = true;
        return EXIT_VERIFIED;
    }
    if (o->value != NULL) {
        *o->value = text;
        return EXIT_VERIFIED;
    }
    return o->parse(text, o->dest);
}

int cli_parse_options(int argc, char **argv, const struct cli_option *opts, void (*usage)(FILE *))
{
    struct option longopts[CLI_OPTIONS_MAX + 2];
    size_t n = 0;
    for (; opts[n].name != NULL; n++) {
        if (n == CLI_OPTIONS_MAX) {
            cli_error("internal error: more than %d options", CLI_OPTIONS_MAX);
            return EXIT_IO;
        }
        longopts[n] =
            (struct option){opts[n].name, opts[n].flag != NULL ? no_argument : required_argument,
                            NULL, ROW_BASE + (int)n};
    }
    longopts[n] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n + 1] = (struct option){NULL, 0, NULL, 0};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'h') {
            usage(stdout);
            exit(EXIT_VERIFIED);
        }
        if (ch < ROW_BASE) {
            usage(stderr);
            return EXIT_USAGE;
        }
        int rc = take(&opts[ch - ROW_BASE], optarg);
        if (rc != EXIT_VERIFIED) {
            return rc;
        }
    }
    return EXIT_VERIFIED;
}

int cli_parse_one(int argc, char **argv, const struct cli_option *opts, void (*usage)(FILE *),
                  const char *command, const char *what, const char **ret)
{
    int rc = cli_parse_options(argc, argv, opts, usage);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    if (optind + 1 != argc) {
        cli_error("%s: exactly one %s is required", command, what);
        return EXIT_USAGE;
    }
    *ret = argv[optind];
    return EXIT_VERIFIED;
}
