/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest collateral fetch-tdx: a TDX quote's DCAP collateral from
 * a PCCS, verified, stored in a TDX collateral directory for
 * `quote verify --collateral-dir` (docs/quote.md, Collateral directory and
 * fetching). What is stored is exactly what made the quote verify: the
 * whole verification runs on the fetched collateral before the write, and
 * a document that fails it is never written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "cli.h"
#include "collateral.h"
#include "dga/cleanup.h"
#include "dga/collateral.h"
#include "dga/quote.h"
#include "dga/util.h"

#define FETCH_TDX_TIMEOUT_MAX 600

struct fetch_tdx_args {
    const char *quote, *pccs_url, *dir, *at;
    long timeout; /* seconds for each request */
};

static void fetch_tdx_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s collateral fetch-tdx --quote QUOTE --pccs-url URL --dir DIR\n"
            "                               [--timeout SECONDS] [--at TIME]\n"
            "\n"
            "Fetches the DCAP collateral of a TDX quote's platform from a PCCS (Intel's\n"
            "API v4 paths under URL: PCK CRL, TDX TCB info for the FMSPC, TDX QE identity,\n"
            "root CA CRL, and the issuer chains of their response headers), verifies the\n"
            "quote against it at TIME (default now; TD attribute policy aside), and stores\n"
            "it atomically as DIR/tdx/<FMSPC>-<platform|processor>.json for\n"
            "quote verify --collateral-dir DIR. Nothing is stored unless it verifies.\n"
            "Each request has --timeout seconds (default 30, at most %d).\n"
            "Exit 0 stored, 1 fetch or verification failed, 2 usage, 3 I/O.\n",
            PROGRAM, FETCH_TDX_TIMEOUT_MAX);
}

static int parse_timeout(const char *text, void *ret)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    *(long *)ret = v;
    if (*text == '\0' || *end != '\0' || errno != 0 || v < 1 || v > FETCH_TDX_TIMEOUT_MAX) {
        cli_error("--timeout: expected seconds, 1 to %d", FETCH_TDX_TIMEOUT_MAX);
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

static int parse_args(int argc, char **argv, struct fetch_tdx_args *a)
{
    const struct cli_option opts[] = {
        CLI_VALUE("quote", &a->quote),
        CLI_VALUE("pccs-url", &a->pccs_url),
        CLI_VALUE("dir", &a->dir),
        CLI_VALUE("at", &a->at),
        CLI_PARSED("timeout", parse_timeout, &a->timeout),
        CLI_END,
    };
    a->timeout = 30;
    int rc = cli_parse_options(argc, argv, opts, fetch_tdx_usage);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    const char *missing = a->quote == NULL      ? "--quote"
                          : a->pccs_url == NULL ? "--pccs-url"
                          : a->dir == NULL      ? "--dir"
                                                : NULL;
    if (optind != argc || missing != NULL) {
        cli_error("collateral fetch-tdx: %s%s", optind != argc ? "unexpected argument" : missing,
                  optind != argc ? "" : " is required");
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

/* A failure to get or verify the collateral: its name, the item, what the server said. */
static int fail(dga_err e, const struct dga_diag *d, const struct dga_http_info *info)
{
    fprintf(stderr, "error: %s: %s (%s", dga_err_name(e), dga_err_message(e),
            d->field != NULL ? d->field : "input");
    if (e == DGA_E_COLLATERAL_HTTP) {
        fprintf(stderr, ": HTTP %ld", info->status);
    } else if ((e == DGA_E_COLLATERAL_UNREACHABLE || e == DGA_E_RUNTIME_LIBRARY) &&
               info->error[0] != '\0') {
        fprintf(stderr, ": %s", info->error);
    }
    fprintf(stderr, ")\n");
    return e == DGA_E_NOMEM || e == DGA_E_RUNTIME_LIBRARY ? EXIT_IO : EXIT_REJECTED;
}

/* The quote (any input form) and its directory key. */
static int load_quote(const char *file, uint8_t **bytes, struct dga_quote *q,
                      struct dga_tdx_collateral_key *k)
{
    _cleanup_(freep) uint8_t *in = NULL;
    size_t in_len = 0;
    size_t len = 0;
    enum dga_quote_form form;
    struct dga_diag d = {0};
    struct dga_http_info none = {0};
    int rc = cli_read_file(file, DGA_QUOTE_MAX_LEN, &in, &in_len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    dga_err e = dga_quote_input_decode(in, in_len, bytes, &len, &form, &d);
    if (e == DGA_E_OK) {
        e = dga_quote_parse(*bytes, len, q, &d);
    }
    if (e == DGA_E_OK) {
        e = dga_tdx_collateral_key(q, k, &d);
    }
    return e == DGA_E_OK ? EXIT_VERIFIED : fail(e, &d, &none);
}

/* The whole verification of the quote on the fetched document; TD policy is the verifier's. */
static dga_err verify(const struct dga_quote *q, const char *json, size_t len, time_t at,
                      struct dga_quote_verdict *v, struct dga_diag *d)
{
    _cleanup_(dga_quote_collateral_clearp) struct dga_quote_collateral c = {0};
    const struct dga_quote_verify_opts opts = {
        .at = at, .allow_debug = true, .allow_service_td = true};
    dga_err e = dga_quote_collateral_parse(json, len, &c, d);
    return e == DGA_E_OK ? dga_quote_verify(q, &c, &opts, v, d) : e;
}

int cmd_collateral_fetch_tdx(int argc, char **argv)
{
    struct fetch_tdx_args a = {0};
    time_t at = 0;
    int rc = parse_args(argc, argv, &a);
    if (rc == EXIT_VERIFIED) {
        rc = collateral_parse_time(a.at, &at);
    }
    _cleanup_(freep) uint8_t *bytes = NULL;
    struct dga_quote q;
    struct dga_tdx_collateral_key k;
    if (rc != EXIT_VERIFIED || (rc = load_quote(a.quote, &bytes, &q, &k)) != EXIT_VERIFIED) {
        return rc;
    }
    struct dga_http_options o;
    dga_http_options_init(&o);
    o.total_timeout_ms = a.timeout * 1000;
    o.connect_timeout_ms = o.total_timeout_ms < 5000 ? o.total_timeout_ms : 5000;
    o.max_body = DGA_QUOTE_COLLATERAL_MAX;
    _cleanup_(freep) char *json = NULL;
    size_t len = 0;
    struct dga_http_info info = {0};
    struct dga_diag d = {0};
    struct dga_quote_verdict v;
    dga_err e = dga_tdx_collateral_fetch(a.pccs_url, &k, &o, &json, &len, &info, &d);
    if (e == DGA_E_BAD_ARGUMENT) {
        cli_error("--pccs-url: expected an http:// or https:// URL");
        return EXIT_USAGE;
    }
    if (e != DGA_E_OK) {
        return fail(e, &d, &info);
    }
    info = (struct dga_http_info){0};
    if ((e = verify(&q, json, len, at, &v, &d)) != DGA_E_OK) {
        fprintf(stderr, "collateral fetch-tdx: the fetched collateral does not verify; "
                        "nothing stored\n");
        return fail(e, &d, &info);
    }
    char path[4096];
    e = dga_tdx_collateral_path(a.dir, &k, path, sizeof path);
    if (e == DGA_E_OK) {
        e = dga_tdx_collateral_store(a.dir, &k, json, len);
    }
    if (e != DGA_E_OK) {
        cli_error("%s/tdx: %s [%s]", a.dir, dga_err_message(e), dga_err_name(e));
        return EXIT_IO;
    }
    printf("stored: %s\nfmspc: %s\npck_ca: %s\nstatus: %s\n", path, k.fmspc,
           dga_tdx_collateral_ca_name(k.processor_ca), dga_tcb_status_name(v.status.status));
    return EXIT_VERIFIED;
}
