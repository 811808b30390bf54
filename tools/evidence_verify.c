/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest evidence verify: report-level verification of every
 * device in the evidence. Exit 0 only if every device passed every check.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "dga/cleanup.h"
#include "dga/util.h"

struct verify_args {
    struct evidence_args ev;
    const char *nonce;
    const char *at;
    const char *trust_root;
    bool json;
};

static void verify_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s evidence verify (--evidence JSON | --report FILE --cert-chain PEM\n"
            "                          --arch hopper|blackwell|ls10) --nonce HEX\n"
            "                          [--at YYYY-MM-DDTHH:MM:SSZ] [--trust-root PEM] [--json]\n"
            "\n"
            "Checks, per device: the report parses strictly; the certificate chain leads\n"
            "to the compiled-in NVIDIA Device Identity CA; the report signature verifies\n"
            "with the leaf key; the report nonce equals --nonce; the report FWID equals\n"
            "the leaf certificate's; every certificate is valid at the verification time.\n"
            "\n"
            "  --evidence FILE     NVIDIA serialized evidence JSON (one or many devices)\n"
            "  --report FILE       raw report, hex text or binary\n"
            "  --cert-chain FILE   device certificate chain, PEM, leaf first\n"
            "  --arch ARCH         architecture of --report\n"
            "  --nonce HEX         the 32-byte nonce the evidence must carry (64 hex digits)\n"
            "  --at TIME           verification time (default: now)\n"
            "  --trust-root FILE   trust this root instead of NVIDIA's (labs and tests;\n"
            "                      the output then says \"trust_roots\": \"custom\")\n"
            "  --json              machine-readable output\n",
            PROGRAM);
}

static int parse_args(int argc, char **argv, struct verify_args *a)
{
    const struct cli_option opts[] = {
        CLI_EVIDENCE_VALUES(&a->ev), CLI_VALUE("nonce", &a->nonce),
        CLI_VALUE("at", &a->at),     CLI_VALUE("trust-root", &a->trust_root),
        CLI_FLAG("json", &a->json),  CLI_END,
    };
    int rc = cli_parse_options(argc, argv, opts, verify_usage);
    if (rc == EXIT_VERIFIED && (optind != argc || a->nonce == NULL)) {
        cli_error("evidence verify: %s",
                  optind != argc ? "unexpected argument" : "--nonce is required");
        rc = EXIT_USAGE;
    }
    return rc;
}

static int build_options(const struct verify_args *a, struct dga_trust *trust,
                         struct dga_verify_options *opt)
{
    if (dga_hex_decode_fixed(a->nonce, opt->nonce, DGA_NONCE_LEN) != DGA_E_OK) {
        cli_error("--nonce: expected 64 hexadecimal digits");
        return EXIT_USAGE;
    }
    opt->at = time(NULL);
    if (a->at != NULL && dga_time_parse(a->at, &opt->at) != DGA_E_OK) {
        cli_error("--at: expected YYYY-MM-DDTHH:MM:SSZ");
        return EXIT_USAGE;
    }
    opt->trust = trust;
    return cli_load_trust(a->trust_root, dga_trust_nvidia_device, trust);
}

static const char *mark(bool ok, bool ran)
{
    return !ran ? "not run" : ok ? "pass" : "FAIL";
}

/* The first failure, with where it was found when that adds something. */
static void print_reason(const struct dga_device_result *r, const uint8_t *expected_nonce)
{
    if (r->err == DGA_E_OK) {
        return;
    }
    printf("  reason: %s: %s", dga_check_name(r->failed_check), dga_err_message(r->err));
    if (r->failed_check == DGA_CHECK_PARSE) {
        printf(" (%s at byte %zu)", r->diag.field, r->diag.offset);
    } else if (strcmp(r->diag.field, dga_check_name(r->failed_check)) != 0) {
        printf(" (%s)", r->diag.field);
    }
    printf("\n");
    if (r->failed_check == DGA_CHECK_NONCE) {
        char got[2 * DGA_NONCE_LEN + 1], want[2 * DGA_NONCE_LEN + 1];
        dga_hex_encode(r->report.nonce, DGA_NONCE_LEN, got);
        dga_hex_encode(expected_nonce, DGA_NONCE_LEN, want);
        printf("  report nonce   %s\n  expected nonce %s\n", got, want);
    }
}

static void print_device_text(const struct dga_device_result *r, const uint8_t *expected_nonce)
{
    bool chain = r->chain_verified, parsed = r->parsed;
    printf("%s (%s): %s\n", r->label, dga_arch_name(r->arch), r->err == DGA_E_OK ? "PASS" : "FAIL");
    printf("  report parsed          %s\n", mark(parsed, true));
    printf("  certificate chain      %s\n", mark(chain, true));
    printf("  report signature       %s\n", mark(r->signature_verified, parsed && chain));
    printf("  nonce                  %s\n", mark(r->nonce_match, parsed));
    printf("  FWID binding           %s\n", mark(r->fwid_match, parsed && chain));
    printf("  certificate validity   %s\n", mark(r->time_valid, chain));
    if (chain) {
        printf("  hwmodel %s, ueid %s, chain expires %s\n", r->chain.hwmodel, r->chain.ueid,
               r->chain.expiration_date);
    }
    if (parsed) {
        printf("  %s %s%s%s\n", dga_arch_is_switch(r->arch) ? "BIOS" : "VBIOS",
               r->derived.vbios_version, dga_arch_is_switch(r->arch) ? "" : ", driver ",
               r->derived.driver_version);
    }
    print_reason(r, expected_nonce);
}

static json_t *device_json(const struct dga_device_result *r)
{
    bool ok = r->err == DGA_E_OK;
    json_t *d = json_pack("{s:s,s:s,s:s,s:o}", "label", r->label, "arch", dga_arch_name(r->arch),
                          "result", ok ? "pass" : "fail", "claims", dga_claims_report_level(r));
    if (d != NULL && !ok) {
        json_object_set_new(d, "failed_check", json_string(dga_check_name(r->failed_check)));
        json_object_set_new(d, "error", json_string(dga_err_name(r->err)));
        json_object_set_new(d, "message", json_string(dga_err_message(r->err)));
        json_object_set_new(d, "field", json_string(r->diag.field));
        json_object_set_new(d, "offset", json_integer((json_int_t)r->diag.offset));
    }
    return d;
}

static int print_json(const struct dga_device_result *res, size_t n, bool pass,
                      const struct verify_args *a, const struct dga_verify_options *opt)
{
    char at[21];
    dga_time_format(opt->at, at);
    json_t *devices = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(devices, device_json(&res[i]));
    }
    _cleanup_(json_decrefp) json_t *out =
        json_pack("{s:s,s:s,s:s,s:s,s:o}", "result", pass ? "pass" : "fail", "trust_roots",
                  opt->trust->custom ? "custom" : "nvidia", "verified_at", at, "nonce", a->nonce,
                  "devices", devices);
    return cli_print_json(out);
}

static int report(const struct dga_device_result *res, size_t n, const struct verify_args *a,
                  const struct dga_verify_options *opt)
{
    bool pass = true;
    for (size_t i = 0; i < n; i++) {
        if (res[i].err != DGA_E_OK) {
            pass = false;
            cli_error("%s: %s: %s", res[i].label, dga_check_name(res[i].failed_check),
                      dga_err_message(res[i].err));
        }
    }
    int rc = EXIT_VERIFIED;
    if (a->json) {
        rc = print_json(res, n, pass, a, opt);
    } else {
        for (size_t i = 0; i < n; i++) {
            print_device_text(&res[i], opt->nonce);
        }
        printf("verdict: %s (%zu device%s%s)\n", pass ? "PASS" : "FAIL", n, n == 1 ? "" : "s",
               opt->trust->custom ? ", CUSTOM trust root, not NVIDIA's" : "");
    }
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    return pass ? EXIT_VERIFIED : EXIT_REJECTED;
}

int cmd_evidence_verify(int argc, char **argv)
{
    struct verify_args a = {0};
    _cleanup_(dga_trust_clearp) struct dga_trust trust = {0};
    struct dga_verify_options opt = {0};
    _cleanup_(dga_evidence_set_freep) struct dga_evidence_set *set = calloc(1, sizeof *set);
    _cleanup_(freep) struct dga_device_result *res = calloc(DGA_MAX_DEVICES, sizeof *res);
    int rc = set != NULL && res != NULL ? parse_args(argc, argv, &a) : EXIT_IO;
    if (rc == EXIT_VERIFIED) {
        rc = build_options(&a, &trust, &opt);
    }
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_evidence(&a.ev, set);
    }
    if (rc == EXIT_VERIFIED) {
        for (size_t i = 0; i < set->n; i++) {
            dga_verify_device(&set->dev[i], &opt, &res[i]);
        }
        dga_label_devices(res, set->n);
        rc = report(res, set->n, &a, &opt);
    }
    return rc;
}
