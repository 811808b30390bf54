/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Option parsing for the subcommands: each one states its options as a table
 * of what each sets, and cli_parse_options does the rest (getopt_long, --help,
 * the usage text on a bad option), the same way for every subcommand.
 */
#ifndef DGA_TOOLS_ARGS_H
#define DGA_TOOLS_ARGS_H

#include <stdbool.h>
#include <stdio.h>

/*
 * One long option and where it goes: a flag sets *flag; an option with a
 * value stores it in *value, or hands it to parse with dest (parse prints its
 * own error and returns an exit code).
 */
struct cli_option {
    const char *name;
    bool *flag;
    const char **value;
    int (*parse)(const char *text, void *dest);
    void *dest;
};

#define CLI_FLAG(name, p)                                                                          \
    {                                                                                              \
        (name), (p), NULL, NULL, NULL                                                              \
    }
#define CLI_VALUE(name, p)                                                                         \
    {                                                                                              \
        (name), NULL, (p), NULL, NULL                                                              \
    }
#define CLI_PARSED(name, fn, p)                                                                    \
    {                                                                                              \
        (name), NULL, NULL, (fn), (p)                                                              \
    }
#define CLI_END                                                                                    \
    {                                                                                              \
        NULL, NULL, NULL, NULL, NULL                                                               \
    }

/* The four evidence options, into a struct evidence_args (cli.h). */
#define CLI_EVIDENCE_VALUES(ev)                                                                    \
    CLI_VALUE("evidence", &(ev)->evidence), CLI_VALUE("report", &(ev)->report),                    \
        CLI_VALUE("cert-chain", &(ev)->cert_chain), CLI_VALUE("arch", &(ev)->arch)

/*
 * Parses the options of argv by the table (ended by CLI_END, at most
 * CLI_OPTIONS_MAX rows), in the order given, with GNU getopt_long: unique
 * abbreviations, --name=value, operands anywhere. --help is added to every
 * table: usage on stdout, exit 0. An unknown option or a missing value:
 * getopt's message, usage on stderr, EXIT_USAGE. Returns an exit code; optind
 * is then the first operand.
 */
#define CLI_OPTIONS_MAX 32
int cli_parse_options(int argc, char **argv, const struct cli_option *opts, void (*usage)(FILE *));

/*
 * cli_parse_options for a subcommand that takes exactly one operand (a file):
 * then *ret is it; else "<command>: exactly one <what> is required" and
 * EXIT_USAGE. Returns an exit code.
 */
int cli_parse_one(int argc, char **argv, const struct cli_option *opts, void (*usage)(FILE *),
                  const char *command, const char *what, const char **ret);

#endif
