/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest verify: the relying party's verdict over a dstack CVM
 * (docs/verify.md): its attestation (dstack's GetQuote response or
 * dstack-verifier's request), the GPU bundle the guest served, the caller's
 * expectations and the quote's DCAP collateral, through dga_cvm_run.
 * Exit 0 only when valid; 1 invalid (or the CVM's input malformed); 2 usage
 * or configuration (expectations, a collateral source that does not deliver);
 * 3 I/O or out of memory.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "dga/cleanup.h"
#include "dga/collateral.h"
#include "dga/cvm.h"
#include "dga/util.h"
#include "quote_json.h"

struct verify_args {
    const char *attestation;
    const char *gpu_bundle;
    const char *expect;
    const char *collateral;
    const char *collateral_dir;
    const char *pccs_url;
    const char *at;
    const char *trusted_root;
    bool json;
};

static void verify_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s verify --attestation FILE [--gpu-bundle FILE] --expect FILE\n"
            "          (--collateral FILE | --collateral-dir DIR | --pccs-url URL)\n"
            "          [--at TIME] [--json] [--trusted-root FILE]\n"
            "\n"
            "Verifies a dstack CVM as a relying party: the TDX quote against its DCAP\n"
            "collateral, the event log against the quoted registers, dstack's boot order, the\n"
            "derived values and, when the expectations require GPUs, the measured\n"
            "gpu-attestation event and the bundle it committed to.\n"
            "\n"
            "  --attestation FILE    dstack's GetQuote response or dstack-verifier's request\n"
            "                        (which may carry the bundle as gpu_bundle)\n"
            "  --gpu-bundle FILE     the bundle as the gate wrote it, or dstack's GpuInfo\n"
            "                        response {\"attestation\": \"...\"}\n"
            "  --expect FILE         the expectations document (docs/verify.md)\n"
            "  --collateral FILE     the quote's collateral (QuoteCollateralV3 JSON)\n"
            "  --collateral-dir DIR  a TDX collateral directory (collateral fetch-tdx)\n"
            "  --pccs-url URL        fetch the collateral from this PCCS\n"
            "  --at TIME             verification time: YYYY-MM-DDTHH:MM:SSZ or @UNIX_SECONDS\n"
            "                        (default: now)\n"
            "  --json                dstack-verifier's response, with this project's details\n"
            "  --trusted-root FILE   verify the quote to this root instead of Intel's (tests)\n"
            "\n"
            "Exit 0 valid, 1 invalid, 2 usage or configuration, 3 I/O.\n",
            PROGRAM);
}

static int usage_error(const char *what)
{
    cli_error("verify: %s", what);
    verify_usage(stderr);
    return EXIT_USAGE;
}

static int check_args(int argc, const struct verify_args *a)
{
    int sources = (a->collateral != NULL) + (a->collateral_dir != NULL) + (a->pccs_url != NULL);
    if (optind != argc) {
        return usage_error("no operands are taken");
    }
    if (a->attestation == NULL || a->expect == NULL) {
        return usage_error("--attestation FILE and --expect FILE are required");
    }
    if (sources != 1) {
        return usage_error("exactly one of --collateral, --collateral-dir, --pccs-url is required");
    }
    return EXIT_VERIFIED;
}

/* The CVM's own data (attestation, bundle) does not parse: an invalid verdict, said so. */
static int input_refused(const struct verify_args *a, const char *what, dga_err e,
                         const struct dga_diag *d)
{
    const char *field = d->field != NULL ? d->field : what;
    if (!a->json) {
        printf("invalid: %s: %s: %s (field %s)\n", what, dga_err_name(e), dga_err_message(e),
               field);
        return EXIT_REJECTED;
    }
    char reason[512];
    snprintf(reason, sizeof reason, "Input verification failed: %s: %s: %s (field %s)", what,
             dga_err_name(e), dga_err_message(e), field);
    _cleanup_(json_decrefp) json_t *j = json_pack("{s:b,s:s,s:s,s:s}", "is_valid", 0, "reason",
                                                  reason, "error", dga_err_name(e), "field", field);
    int rc = cli_print_json(j);
    return rc == EXIT_VERIFIED ? EXIT_REJECTED : rc;
}

static int load_input(const struct verify_args *a, struct dga_cvm_input *ret)
{
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(a->attestation, DGA_CVM_INPUT_MAX, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    struct dga_diag d = {0};
    dga_err e = dga_cvm_input_parse((const char *)text, len, ret, &d);
    if (e == DGA_E_NOMEM) {
        return cli_file_error(a->attestation, e);
    }
    if (e != DGA_E_OK) {
        return input_refused(a, "attestation", e, &d);
    }
    if (ret->gpu_bundle != NULL && a->gpu_bundle != NULL) {
        cli_error("verify: the attestation carries gpu_bundle and --gpu-bundle was given too");
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

/* --gpu-bundle's exact bytes (RAW or GpuInfo); GpuInfo's "" is no bundle (then *ret NULL). */
static int load_bundle(const struct verify_args *a, uint8_t **ret, size_t *ret_len)
{
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(a->gpu_bundle, 4 * (size_t)DGA_CVM_BUNDLE_MAX, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    struct dga_diag d = {0};
    dga_err e = dga_cvm_bundle_read(text, len, DGA_CVM_BUNDLE_AUTO, ret, ret_len, &d);
    if (e == DGA_E_CVM_BUNDLE_ABSENT) {
        return EXIT_VERIFIED; /* the gpu-bundle check reports it when GPUs are required */
    }
    if (e == DGA_E_NOMEM) {
        return cli_file_error(a->gpu_bundle, e);
    }
    return e == DGA_E_OK ? EXIT_VERIFIED : input_refused(a, "gpu-bundle", e, &d);
}

static int load_expect(const char *path, struct dga_cvm_expect *ret)
{
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, DGA_CVM_EXPECT_MAX, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    struct dga_diag d = {0};
    dga_err e = dga_cvm_expect_parse((const char *)text, len, ret, &d);
    if (e == DGA_E_NOMEM) {
        return cli_file_error(path, e);
    }
    if (e != DGA_E_OK) {
        cli_error("%s: %s: %s (key %s, offset %zu)", path, dga_err_name(e), dga_err_message(e),
                  d.field != NULL ? d.field : "?", d.offset);
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

/*
 * The re-appraisal's files (RIM store, policy, test device root), loaded
 * before anything of the CVM is read: a relying party's configuration error
 * is exit 2, whatever the CVM sent. Only when GPUs are required: otherwise
 * the GPU checks are skipped and nothing is re-appraised.
 */
static int load_reappraiser(const char *path, const struct dga_cvm_expect *x,
                            struct dga_cvm_reappraiser **ret)
{
    if (!x->gpu.required) {
        return EXIT_VERIFIED;
    }
    struct dga_diag d = {0};
    dga_err e = dga_cvm_reappraiser_new(x, ret, &d);
    if (e == DGA_E_NOMEM) {
        return cli_file_error(path, e);
    }
    if (e != DGA_E_OK) {
        cli_error("%s: %s: %s (key %s)", path, dga_err_name(e), dga_err_message(e),
                  d.field != NULL ? d.field : "?");
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

/* The verification's options: its time and the re-appraisal of the bundle's evidence. */
static struct dga_cvm_options make_options(time_t at, struct dga_cvm_reappraiser *r)
{
    struct dga_cvm_options o = {.at = at};
    if (r != NULL) {
        o.reappraise = dga_cvm_reappraise;
        o.reappraise_ctx = r;
    }
    return o;
}

/* A collateral source that did not deliver: the operator's configuration (or memory). */
static int run_error(const struct dga_cvm_run *r, dga_err e, const struct dga_diag *d)
{
    if (e == DGA_E_NOMEM) {
        cli_error("%s", dga_err_message(e));
        return EXIT_IO;
    }
    cli_error("collateral: %s: %s (%s%s%s)", dga_err_name(e), dga_err_message(e),
              d->field != NULL ? d->field : "?", r->collateral_path[0] != '\0' ? " " : "",
              r->collateral_path);
    return EXIT_USAGE;
}

static int report(const struct verify_args *a, const struct dga_cvm_run *r)
{
    int verdict = r->result.valid ? EXIT_VERIFIED : EXIT_REJECTED;
    if (a->json) {
        _cleanup_(json_decrefp) json_t *j = dga_cvm_run_json(r);
        if (j == NULL) {
            cli_error("%s", dga_err_message(DGA_E_NOMEM));
            return EXIT_IO;
        }
        int rc = cli_print_json(j);
        return rc == EXIT_VERIFIED ? verdict : rc;
    }
    _cleanup_(freep) char *text = dga_cvm_run_text(r);
    if (text == NULL) {
        cli_error("%s", dga_err_message(DGA_E_NOMEM));
        return EXIT_IO;
    }
    fputs(text, stdout);
    return verdict;
}

struct verify_state {
    struct dga_cvm_input in;
    struct dga_cvm_expect x;
    uint8_t *bundle;
    size_t bundle_len;
    uint8_t *collateral;
    size_t collateral_len;
    struct dga_trust root;
    struct dga_cvm_reappraiser *reappraiser; /* NULL when GPUs are not required */
    struct dga_cvm_run run;
};

static void verify_state_clear(struct verify_state *s)
{
    dga_cvm_input_clear(&s->in);
    dga_cvm_expect_clear(&s->x);
    free(s->bundle);
    free(s->collateral);
    dga_trust_clear(&s->root);
    dga_cvm_run_clear(&s->run);
    dga_cvm_reappraiser_free(s->reappraiser);
}

/* Everything the run needs, read in the order a user would fix it: config, then the CVM's data. */
static int load_all(const struct verify_args *a, struct verify_state *s, time_t *at)
{
    int rc = quote_parse_at(a->at, at);
    if (rc == EXIT_VERIFIED) {
        rc = load_expect(a->expect, &s->x);
    }
    if (rc == EXIT_VERIFIED) {
        rc = load_reappraiser(a->expect, &s->x, &s->reappraiser);
    }
    if (rc == EXIT_VERIFIED && a->trusted_root != NULL &&
        (rc = quote_load_root(a->trusted_root, &s->root)) == EXIT_VERIFIED) {
        fprintf(stderr, "warning: verifying the quote to a custom root (%s), not Intel's\n",
                a->trusted_root);
    }
    if (rc == EXIT_VERIFIED && a->collateral != NULL) {
        rc = cli_read_file(a->collateral, DGA_QUOTE_COLLATERAL_MAX, &s->collateral,
                           &s->collateral_len);
    }
    if (rc == EXIT_VERIFIED) {
        rc = load_input(a, &s->in);
    }
    if (rc == EXIT_VERIFIED && a->gpu_bundle != NULL) {
        rc = load_bundle(a, &s->bundle, &s->bundle_len);
    }
    return rc;
}

static struct dga_cvm_collateral collateral_source(const struct verify_args *a,
                                                   const struct verify_state *s)
{
    if (a->collateral_dir != NULL) {
        return (struct dga_cvm_collateral){.kind = DGA_CVM_COLLATERAL_DIR,
                                           .dir = a->collateral_dir};
    }
    if (a->pccs_url != NULL) {
        return (struct dga_cvm_collateral){.kind = DGA_CVM_COLLATERAL_PCCS,
                                           .pccs_url = a->pccs_url};
    }
    return (struct dga_cvm_collateral){.kind = DGA_CVM_COLLATERAL_JSON,
                                       .json = (const char *)s->collateral,
                                       .json_len = s->collateral_len};
}

int cmd_verify(int argc, char **argv)
{
    struct verify_args a = {0};
    const struct cli_option opts[] = {CLI_VALUE("attestation", &a.attestation),
                                      CLI_VALUE("gpu-bundle", &a.gpu_bundle),
                                      CLI_VALUE("expect", &a.expect),
                                      CLI_VALUE("collateral", &a.collateral),
                                      CLI_VALUE("collateral-dir", &a.collateral_dir),
                                      CLI_VALUE("pccs-url", &a.pccs_url),
                                      CLI_VALUE("at", &a.at),
                                      CLI_VALUE("trusted-root", &a.trusted_root),
                                      CLI_FLAG("json", &a.json),
                                      CLI_END};
    int rc = cli_parse_options(argc, argv, opts, verify_usage);
    if (rc != EXIT_VERIFIED || (rc = check_args(argc, &a)) != EXIT_VERIFIED) {
        return rc;
    }
    _cleanup_(verify_state_clear) struct verify_state s = {0};
    time_t at = 0;
    if ((rc = load_all(&a, &s, &at)) != EXIT_VERIFIED) {
        return rc;
    }
    const struct dga_cvm_options opt = make_options(at, s.reappraiser);
    bool own = s.bundle != NULL;
    const struct dga_cvm_run_params p = {
        .in = &s.in,
        .bundle = own ? s.bundle : s.in.gpu_bundle,
        .bundle_len = own ? s.bundle_len : s.in.gpu_bundle_len,
        .x = &s.x,
        .collateral = collateral_source(&a, &s),
        .root = a.trusted_root != NULL ? &s.root : NULL,
        .root_name = a.trusted_root,
        .opt = &opt,
    };
    struct dga_diag d = {0};
    dga_err e = dga_cvm_run(&p, &s.run, &d);
    if (e != DGA_E_OK) {
        return run_error(&s.run, e, &d);
    }
    return report(&a, &s.run);
}
