/* SPDX-License-Identifier: Apache-2.0 */
/* The options `collateral fetch` and `collateral status` share (tools/collateral.h). */
#include "collateral.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

#include "dga/collateral.h"
#include "dga/util.h"

/* An option the subcommand has no use for is an error, not a silent no-op. */
static int refuse_unused(bool fetch, const struct collateral_args *a)
{
    const char *unused = fetch && a->json            ? "--json (the report is text only)"
                         : !fetch && a->trust_root   ? "--trust-root (status verifies no device chain)"
                         : !fetch && a->rim_url      ? "--rim-url (status fetches nothing)"
                         : !fetch && a->ocsp_url     ? "--ocsp-url (status fetches nothing)"
                                                     : NULL;
    if (unused != NULL) {
        cli_error("collateral %s: %s is not supported", fetch ? "fetch" : "status", unused);
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

int collateral_parse_args(int argc, char **argv, bool fetch, void (*usage)(FILE *),
                          struct collateral_args *a)
{
    static const struct option opts[] = {
        CLI_EVIDENCE_OPTIONS,
        {"dir", required_argument, NULL, 'd'},          {"rim-url", required_argument, NULL, 'u'},
        {"ocsp-url", required_argument, NULL, 'o'},     {"at", required_argument, NULL, 't'},
        {"ocsp-max-age", required_argument, NULL, 'M'}, {"json", no_argument, NULL, 'j'},
        {"trust-root", required_argument, NULL, 'R'},   {"rim-trust-root", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},               {NULL, 0, NULL, 0},
    };
    int ch;
    char *end = NULL;
    a->max_age = DGA_OCSP_DEFAULT_MAX_AGE;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (cli_evidence_option(ch, optarg, &a->ev)) {
            continue;
        }
        switch (ch) {
        case 'd': a->dir = optarg; break;
        case 'u': a->rim_url = optarg; break;
        case 'o': a->ocsp_url = optarg; break;
        case 't': a->at = optarg; break;
        case 'R': a->trust_root = optarg; break;
        case 'T': a->rim_trust_root = optarg; break;
        case 'j': a->json = true; break;
        case 'M':
            errno = 0;
            a->max_age = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || errno != 0 || a->max_age < 0) {
                cli_error("--ocsp-max-age: expected seconds");
                return EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); exit(EXIT_VERIFIED);
        default: usage(stderr); return EXIT_USAGE;
        }
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
