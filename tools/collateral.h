/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `collateral fetch` and `collateral status` share: one option table,
 * so that an option one of them has no use for is refused by name (exit 2),
 * never accepted silently; and the --at time.
 */
#ifndef DGA_TOOLS_COLLATERAL_H
#define DGA_TOOLS_COLLATERAL_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"

struct collateral_args {
    struct evidence_args ev;
    const char *dir, *rim_url, *ocsp_url, *at, *trust_root, *rim_trust_root;
    long max_age;
    bool json;
};

/*
 * Parses the options of `collateral fetch` (fetch) or `collateral status`;
 * usage is the subcommand's help text. Returns an exit code.
 */
int collateral_parse_args(int argc, char **argv, bool fetch, void (*usage)(FILE *),
                          struct collateral_args *a);

/* --at, or now when it is absent. Returns an exit code. */
int collateral_parse_time(const char *s, time_t *ret);

#endif
