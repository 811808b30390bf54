/* SPDX-License-Identifier: Apache-2.0 */
/* The options `collateral fetch` and `collateral status` share (tools/collateral.h). */
#include "collateral.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

#include "args.h"
#include "dga/collateral.h"
#include "dga/util.h"

/* An option the subcommand has no use for is an error, not a silent no-op. */
static int refuse_unused(bool fetch, const struct collateral_args *a)
{
    const char *unused = fetch && a->json ? "--json (the report is text only)"
                         : !fetch && a->trust_root
                             ? "--trust-root (status verifies no device chain)"
                         : !fetch && a->rim_url  ? "--rim-url (status fetches nothing)"
                         : !fetch && a->ocsp_url ? "--ocsp-url (status fetches nothing)"
                                                 : NULL;
    if (unused != NULL) {
        cli_error("collateral %s: %s is not supported", fetch ? "fetch" : "status", unused);
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

/* --ocsp-max-age: whole seconds, 0 or more. */
static int parse_max_age(const char *text, void *ret)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    *(long *)ret = v;
    if (*text == '\0' || *end != '\0' || errno != 0 || v < 0) {
        cli_error("--ocsp-max-age: expected seconds");
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

int collateral_parse_args(int argc, char **argv, bool fetch, void (*usage)(FILE *),
                          struct collateral_args *a)
{
    const struct cli_option opts[] = {
        CLI_EVIDENCE_VALUES(&a->ev),
        CLI_VALUE("dir", &a->dir),
        CLI_VALUE("rim-url", &a->rim_url),
        CLI_VALUE("ocsp-url", &a->ocsp_url),
        CLI_VALUE("at", &a->at),
        CLI_PARSED("ocsp-max-age", parse_max_age, &a->max_age),
        CLI_FLAG("json", &a->json),
        CLI_VALUE("trust-root", &a->trust_root),
        CLI_VALUE("rim-trust-root", &a->rim_trust_root),
        CLI_END,
    };
    a->max_age = DGA_OCSP_DEFAULT_MAX_AGE;
    int rc = cli_parse_options(argc, argv, opts, usage);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    if (optind != argc || a->dir == NULL) {
        cli_error("collateral: %s", optind != argc ? "unexpected argument" : "--dir is required");
        return EXIT_USAGE;
    }
    return refuse_unused(fetch, a);
}

int collateral_parse_time(const char *s, time_t *ret)
{
    *ret = time(NULL);
    if (s != NULL && dga_time_parse(s, ret) != DGA_E_OK) {
        cli_error("--at: expected YYYY-MM-DDTHH:MM:SSZ");
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}
