/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest rim verify: exit 0 only if the RIM's signer chain reaches
 * the compiled-in NVIDIA CoRIM signing Root CA, every certificate of it is
 * valid at the verification time, and the XML signature verifies under
 * NVIDIA's XML-DSig profile with the chain's leaf key.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "cli.h"
#include "dga/cleanup.h"
#include "dga/rim.h"
#include "dga/util.h"

struct rim_verify_args {
    const char *file;
    const char *at;
    const char *trust_root;
    bool json;
};

struct rim_outcome {
    bool chain_ok, time_ok, signature_ok;
    dga_err chain_err, signature_err;
    struct dga_diag chain_diag, signature_diag;
    struct dga_chain_info chain;
};

static void verify_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s rim verify FILE [--at YYYY-MM-DDTHH:MM:SSZ] [--trust-root PEM] [--json]\n"
            "\n"
            "Exit 0 only if the signer chain in the RIM's KeyInfo reaches the compiled-in\n"
            "NVIDIA CoRIM signing Root CA, every certificate is valid at the verification\n"
            "time (--at, default now), and the XML signature verifies under NVIDIA's\n"
            "XML-DSig profile (enveloped, C14N 1.1, ECDSA P-384/SHA-384) with the leaf key.\n"
            "\n"
            "  --at TIME          verification time (default: now)\n"
            "  --trust-root FILE  trust this root instead of NVIDIA's (labs and tests)\n"
            "  --json             machine-readable output\n",
            PROGRAM);
}

static int parse_args(int argc, char **argv, struct rim_verify_args *a)
{
    const struct cli_option opts[] = {
        CLI_VALUE("at", &a->at),
        CLI_VALUE("trust-root", &a->trust_root),
        CLI_FLAG("json", &a->json),
        CLI_END,
    };
    return cli_parse_one(argc, argv, opts, verify_usage, "rim verify", "FILE", &a->file);
}

/*
 * The chain decides; the signature is also checked with the first
 * certificate's key when the chain fails, so that the output can say whether
 * the document itself is intact. Only both together pass.
 */
static void verify_rim(const struct dga_rim *rim, const struct dga_trust *trust, time_t at,
                       struct rim_outcome *o)
{
    o->chain_err = dga_rim_chain_verify(rim, trust, at, &o->chain, &o->chain_diag);
    o->chain_ok = o->chain_err == DGA_E_OK;
    o->time_ok = o->chain_ok && !o->chain.expired && !o->chain.not_yet_valid;
    X509 *signer = sk_X509_num(rim->certs) > 0 ? sk_X509_value(rim->certs, 0) : NULL;
    o->signature_err = signer != NULL ? dga_rim_signature_verify(rim, signer, &o->signature_diag)
                                      : DGA_E_RIM_STRUCTURE;
    o->signature_ok = o->signature_err == DGA_E_OK;
}

static const char *cert_status(const struct rim_outcome *o)
{
    return !o->chain_ok ? "invalid" : o->time_ok ? "valid" : "expired";
}

static json_t *outcome_json(const struct rim_verify_args *a, const struct dga_rim *rim,
                            const struct rim_outcome *o, bool pass, bool custom, time_t at)
{
    char sha[65], when[21];
    dga_hex_encode(rim->sha256, sizeof rim->sha256, sha);
    dga_time_format(at, when);
    json_t *chain = json_pack("{s:s,s:o}", "x-nvidia-cert-status", cert_status(o),
                              "x-nvidia-cert-expiration-date",
                              o->chain_ok ? json_string(o->chain.expiration_date) : json_null());
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:b,s:s}", "result", pass ? "pass" : "fail",
                          "file", a->file, "sha256", sha, "colloquialVersion",
                          rim->colloquial_version, "verified_at", when, "trust_roots",
                          custom ? "custom" : "nvidia", "cert_chain", chain, "signature_verified",
                          o->signature_ok, "signer", o->chain_ok ? o->chain.hwmodel : "");
    if (j != NULL && !o->chain_ok) {
        json_object_set_new(j, "chain_error", json_string(dga_err_name(o->chain_err)));
    }
    if (j != NULL && !o->signature_ok) {
        json_object_set_new(j, "signature_error", json_string(dga_err_name(o->signature_err)));
    }
    return j;
}

static void print_text(const struct rim_verify_args *a, const struct dga_rim *rim,
                       const struct rim_outcome *o, bool pass)
{
    printf("%s: RIM %s\n", a->file, rim->colloquial_version);
    printf("  signer chain         %s", o->chain_ok ? "pass" : "FAIL");
    if (o->chain_ok) {
        printf(" (signer %s)\n", o->chain.hwmodel);
        printf("  certificate validity %s (chain expires %s)\n", o->time_ok ? "pass" : "FAIL",
               o->chain.expiration_date);
    } else {
        printf(": %s (%s)\n", dga_err_message(o->chain_err), o->chain_diag.field);
    }
    printf("  XML signature        %s", o->signature_ok ? "pass" : "FAIL");
    if (!o->signature_ok) {
        printf(": %s (%s)", dga_err_message(o->signature_err), o->signature_diag.field);
    } else if (!o->chain_ok) {
        printf(" (with the first certificate's key; the chain is not trusted)");
    }
    printf("\nverdict: %s\n", pass ? "PASS" : "FAIL");
}

/* One line per failed part, each with the stable error name in brackets. */
static void report_failure(const struct rim_verify_args *a, const struct rim_outcome *o)
{
    if (!o->chain_ok) {
        cli_error("%s: signer chain: %s [%s] (%s)", a->file, dga_err_message(o->chain_err),
                  dga_err_name(o->chain_err), o->chain_diag.field);
    } else if (!o->time_ok) {
        cli_error("%s: signer chain: %s [%s] (expires %s)", a->file,
                  dga_err_message(DGA_E_CHAIN_EXPIRED), dga_err_name(DGA_E_CHAIN_EXPIRED),
                  o->chain.expiration_date);
    }
    if (!o->signature_ok) {
        cli_error("%s: XML signature: %s [%s] (%s)", a->file, dga_err_message(o->signature_err),
                  dga_err_name(o->signature_err), o->signature_diag.field);
    }
}

int cmd_rim_verify(int argc, char **argv)
{
    struct rim_verify_args a = {0};
    _cleanup_(dga_trust_clearp) struct dga_trust trust = {0};
    _cleanup_(dga_rim_freep) struct dga_rim *rim = NULL;
    time_t at = time(NULL);
    int rc = parse_args(argc, argv, &a);
    if (rc == EXIT_VERIFIED && a.at != NULL && dga_time_parse(a.at, &at) != DGA_E_OK) {
        cli_error("--at: expected YYYY-MM-DDTHH:MM:SSZ");
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_trust(a.trust_root, dga_trust_nvidia_rim, &trust);
    }
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_rim(a.file, &rim);
    }
    if (rc == EXIT_VERIFIED) {
        struct rim_outcome o = {0};
        verify_rim(rim, &trust, at, &o);
        bool pass = o.chain_ok && o.time_ok && o.signature_ok;
        if (!pass) {
            report_failure(&a, &o);
        }
        if (a.json) {
            _cleanup_(json_decrefp) json_t *j = outcome_json(&a, rim, &o, pass, trust.custom, at);
            rc = cli_print_json(j);
        } else {
            print_text(&a, rim, &o, pass);
        }
        rc = rc != EXIT_VERIFIED ? rc : pass ? EXIT_VERIFIED : EXIT_REJECTED;
    }
    return rc;
}
