/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest attest: full offline appraisal of every device in the
 * evidence (report, certificate chain, RIMs from a store, measurements),
 * claims v3, the policy's verdict, and an optional signed detached EAT.
 * Exit 0 only if the verdict passes.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest.h"
#include "dga/eat.h"
#include "dga/util.h"

#define RC_RP_POLICY_MISMATCH 11
#define RC_OVERALL_RESULT_FALSE 12

static void attest_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s attest (--evidence JSON | --report FILE --cert-chain PEM --arch ARCH)\n"
            "                         --nonce HEX --rim-dir DIR [--at TIME] [--policy FILE]\n"
            "                         [--eat-key PEM [--eat-kid KID] [--eat-issuer ISS] |\n"
            "                          --unsigned-eat] [--format json|text]\n"
            "\n"
            "Appraises every device offline: the report-level checks of 'evidence verify',\n"
            "then the driver and VBIOS (NVSwitch: BIOS) RIMs from DIR (<id>.xml and\n"
            "re-issues in <id>.d/*.xml), their signatures and signer chains, and the\n"
            "measurement comparison; then the policy (built-in default, or --policy FILE,\n"
            "see docs/policy.md) decides. Exit 0 only if the verdict passes.\n"
            "\n"
            "  --rim-dir DIR          RIM store\n"
            "  --at TIME              verification time YYYY-MM-DDTHH:MM:SSZ (default: now)\n"
            "  --policy FILE          JSON policy document\n"
            "  --eat-key FILE         sign a detached EAT (ES384) with this P-384 private key\n"
            "  --eat-kid KID          JWS header kid\n"
            "  --eat-issuer ISS       token issuer (default dstack-gpu-attest)\n"
            "  --unsigned-eat         emit an unsigned (alg none) EAT, marked so\n"
            "  --trust-root FILE      device root instead of NVIDIA's (labs and tests)\n"
            "  --rim-trust-root FILE  RIM root instead of NVIDIA's (labs and tests)\n"
            "  --format json|text     output (default text)\n",
            PROGRAM);
}

static int parse_format(const char *s, struct attest_args *a)
{
    if (strcmp(s, "json") == 0 || strcmp(s, "text") == 0) {
        a->json = strcmp(s, "json") == 0;
        return EXIT_VERIFIED;
    }
    cli_error("--format: expected json or text");
    return EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct attest_args *a)
{
    static const struct option opts[] = {
        CLI_EVIDENCE_OPTIONS,
        {"nonce", required_argument, NULL, 'n'},      {"rim-dir", required_argument, NULL, 'd'},
        {"at", required_argument, NULL, 't'},         {"policy", required_argument, NULL, 'p'},
        {"eat-key", required_argument, NULL, 'k'},    {"eat-kid", required_argument, NULL, 'K'},
        {"eat-issuer", required_argument, NULL, 'I'}, {"unsigned-eat", no_argument, NULL, 'u'},
        {"trust-root", required_argument, NULL, 'R'}, {"rim-trust-root", required_argument, NULL, 'T'},
        {"format", required_argument, NULL, 'f'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch, rc = EXIT_VERIFIED;
    while (rc == EXIT_VERIFIED && (ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (cli_evidence_option(ch, optarg, &a->ev)) {
            continue;
        }
        switch (ch) {
        case 'n': a->nonce = optarg; break;
        case 'd': a->rim_dir = optarg; break;
        case 't': a->at = optarg; break;
        case 'p': a->policy = optarg; break;
        case 'k': a->eat_key = optarg; break;
        case 'K': a->eat_kid = optarg; break;
        case 'I': a->eat_issuer = optarg; break;
        case 'u': a->unsigned_eat = true; break;
        case 'R': a->trust_root = optarg; break;
        case 'T': a->rim_trust_root = optarg; break;
        case 'f': rc = parse_format(optarg, a); break;
        case 'h': attest_usage(stdout); exit(EXIT_VERIFIED);
        default: attest_usage(stderr); rc = EXIT_USAGE; break;
        }
    }
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    const char *missing = a->nonce == NULL ? "--nonce" : a->rim_dir == NULL ? "--rim-dir" : NULL;
    if (optind != argc || missing != NULL || (a->eat_key != NULL && a->unsigned_eat)) {
        cli_error("attest: %s", optind != argc      ? "unexpected argument"
                                : missing != NULL ? (a->nonce == NULL ? "--nonce is required"
                                                                      : "--rim-dir is required")
                                                  : "--eat-key and --unsigned-eat exclude each other");
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

static int load_policy(const char *path, struct dga_policy **ret)
{
    if (path == NULL) {
        return dga_policy_default(ret) == DGA_E_OK ? EXIT_VERIFIED : EXIT_IO;
    }
    uint8_t *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, DGA_POLICY_MAX_BYTES, &text, &len);
    if (rc == EXIT_VERIFIED) {
        struct dga_diag diag = {0};
        dga_err e = dga_policy_parse((const char *)text, len, ret, &diag);
        if (e != DGA_E_OK) {
            cli_error("%s: %s [%s] (%s)", path, dga_err_message(e), dga_err_name(e),
                      diag.field != NULL ? diag.field : "document");
            rc = EXIT_USAGE;
        }
    }
    free(text);
    return rc;
}

static int setup(struct attest_run *run)
{
    struct attest_args *a = &run->args;
    struct dga_verify_options *v = &run->opt.verify;
    if (dga_hex_decode_fixed(a->nonce, v->nonce, DGA_NONCE_LEN) != DGA_E_OK) {
        cli_error("--nonce: expected 64 hexadecimal digits");
        return EXIT_USAGE;
    }
    v->at = time(NULL);
    if (a->at != NULL && dga_time_parse(a->at, &v->at) != DGA_E_OK) {
        cli_error("--at: expected YYYY-MM-DDTHH:MM:SSZ");
        return EXIT_USAGE;
    }
    v->trust = &run->device_root;
    run->opt.rim_trust = &run->rim_root;
    run->opt.rim_dir = a->rim_dir;
    int rc = cli_load_trust(a->trust_root, dga_trust_nvidia_device, &run->device_root);
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_trust(a->rim_trust_root, dga_trust_nvidia_rim, &run->rim_root);
    }
    if (rc == EXIT_VERIFIED && dga_verify_cache_new(&run->rim_root, v->at, &run->opt.cache) !=
                                   DGA_E_OK) {
        cli_error("out of memory");
        rc = EXIT_IO;
    }
    if (rc == EXIT_VERIFIED) {
        rc = load_policy(a->policy, &run->policy);
    }
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_evidence(&a->ev, run->set);
    }
    return rc;
}

/* Appraise every device; hard failures become the verdict's first reasons. */
static void appraise_all(struct attest_run *run)
{
    run->n = run->set->n;
    for (size_t i = 0; i < run->n; i++) {
        dga_appraise_device(&run->set->dev[i], &run->opt, &run->dev[i]);
    }
    /* Labels are per type, in evidence order (GPU-0, SWITCH-0, ...). */
    struct dga_device_result *labels = calloc(run->n, sizeof *labels);
    for (size_t i = 0; labels != NULL && i < run->n; i++) {
        labels[i].arch = run->dev[i].report.arch;
    }
    if (labels != NULL) {
        dga_label_devices(labels, run->n);
        for (size_t i = 0; i < run->n; i++) {
            memcpy(run->dev[i].report.label, labels[i].label, sizeof labels[i].label);
        }
    }
    free(labels);
    run->claims = json_array();
    for (size_t i = 0; i < run->n; i++) {
        json_array_append_new(run->claims, dga_claims_device(&run->dev[i]));
    }
}

static void add_reason(struct dga_verdict *v, const char *text)
{
    if (v->n_reasons < DGA_VERDICT_MAX_REASONS) {
        snprintf(v->reasons[v->n_reasons++], DGA_VERDICT_REASON_LEN, "%s", text);
    }
}

static void hard_failure_reasons(const struct attest_run *run, struct dga_verdict *v)
{
    for (size_t i = 0; i < run->n; i++) {
        const struct dga_appraisal *d = &run->dev[i];
        if (d->err == DGA_E_OK) {
            continue;
        }
        char text[DGA_VERDICT_REASON_LEN];
        const struct dga_rim_use *u = strcmp(d->failed_check, "driver-rim") == 0 ? &d->driver
                                      : strstr(d->failed_check, "rim") != NULL ? &d->firmware
                                                                                : NULL;
        snprintf(text, sizeof text, "%s: %s: %s%s%s", d->report.label, d->failed_check,
                 dga_err_message(d->err), u != NULL ? ": " : "", u != NULL ? u->id : "");
        add_reason(v, text);
    }
}

/* Hard failures first, then every reason the policy gives. */
static int decide(struct attest_run *run)
{
    struct dga_verdict *policy_verdict = calloc(1, sizeof *policy_verdict);
    struct dga_policy *nvidia = NULL;
    struct dga_verdict *nvidia_verdict = calloc(1, sizeof *nvidia_verdict);
    if (policy_verdict == NULL || nvidia_verdict == NULL ||
        dga_policy_evaluate(run->policy, run->claims, policy_verdict) != DGA_E_OK ||
        dga_policy_default(&nvidia) != DGA_E_OK ||
        dga_policy_evaluate(nvidia, run->claims, nvidia_verdict) != DGA_E_OK) {
        free(policy_verdict);
        free(nvidia_verdict);
        dga_policy_free(nvidia);
        cli_error("attest: the policy could not be evaluated");
        return EXIT_IO;
    }
    run->nvidia_default_pass = nvidia_verdict->pass;
    hard_failure_reasons(run, &run->verdict);
    for (size_t i = 0; i < policy_verdict->n_reasons; i++) {
        add_reason(&run->verdict, policy_verdict->reasons[i]);
    }
    run->verdict.pass = run->verdict.n_reasons == 0 && policy_verdict->pass;
    free(policy_verdict);
    free(nvidia_verdict);
    dga_policy_free(nvidia);
    return EXIT_VERIFIED;
}

/* nvattest's numbering: the first hard failure, else 11/12 when the policy says no. */
static void result_code(struct attest_run *run)
{
    run->result_code = 0;
    run->result_message = "Ok";
    for (size_t i = 0; i < run->n; i++) {
        if (run->dev[i].err != DGA_E_OK) {
            run->result_code = dga_appraisal_result_code(&run->dev[i], &run->result_message);
            return;
        }
    }
    if (!run->verdict.pass) {
        bool rp = run->args.policy != NULL;
        run->result_code = rp ? RC_RP_POLICY_MISMATCH : RC_OVERALL_RESULT_FALSE;
        run->result_message = rp ? "Relying party policy mismatch" : "Overall result false";
    }
}

static int build_eat(struct attest_run *run)
{
    const struct attest_args *a = &run->args;
    if (a->eat_key == NULL && !a->unsigned_eat) {
        run->detached_eat = json_object();
        return EXIT_VERIFIED;
    }
    struct dga_eat_options o = {.kid = a->eat_kid, .issuer = a->eat_issuer,
                                .iat = time(NULL), .allow_unsigned = a->unsigned_eat,
                                .overall_result = run->nvidia_default_pass};
    memcpy(o.nonce, run->opt.verify.nonce, DGA_NONCE_LEN);
    uint8_t policy_sha[32];
    dga_policy_sha256(run->policy, policy_sha);
    o.verdict = run->verdict.pass ? "pass" : "fail";
    o.policy_sha256 = policy_sha;
    int rc = EXIT_VERIFIED;
    if (a->eat_key != NULL) {
        uint8_t *pem = NULL;
        size_t len = 0;
        rc = cli_read_file(a->eat_key, DGA_CHAIN_PEM_MAX, &pem, &len);
        if (rc == EXIT_VERIFIED && dga_eat_key_from_pem((const char *)pem, len, &o.key) != DGA_E_OK) {
            cli_error("%s: not a P-384 private key", a->eat_key);
            rc = EXIT_USAGE;
        }
        OPENSSL_cleanse(pem, len);
        free(pem);
    }
    if (rc == EXIT_VERIFIED && dga_eat_build(run->claims, &o, &run->detached_eat) != DGA_E_OK) {
        cli_error("attest: cannot build the detached EAT");
        rc = EXIT_IO;
    }
    EVP_PKEY_free(o.key);
    return rc;
}

static void run_free(struct attest_run *run)
{
    for (size_t i = 0; run->dev != NULL && i < run->n; i++) {
        dga_appraisal_free(&run->dev[i]);
    }
    free(run->dev);
    dga_verify_cache_free(run->opt.cache); /* after the appraisals that borrow its RIMs */
    if (run->set != NULL) {
        dga_evidence_set_free(run->set);
    }
    free(run->set);
    json_decref(run->claims);
    json_decref(run->detached_eat);
    dga_policy_free(run->policy);
    dga_trust_free(&run->device_root);
    dga_trust_free(&run->rim_root);
    free(run);
}

int cmd_attest(int argc, char **argv)
{
    struct attest_run *run = calloc(1, sizeof *run);
    if (run == NULL) {
        return EXIT_IO;
    }
    run->set = calloc(1, sizeof *run->set);
    run->dev = calloc(DGA_MAX_DEVICES, sizeof *run->dev);
    int rc = run->set != NULL && run->dev != NULL ? parse_args(argc, argv, &run->args) : EXIT_IO;
    if (rc == EXIT_VERIFIED) {
        rc = setup(run);
    }
    if (rc == EXIT_VERIFIED) {
        appraise_all(run);
        rc = decide(run);
    }
    if (rc == EXIT_VERIFIED) {
        result_code(run);
        rc = build_eat(run);
    }
    if (rc == EXIT_VERIFIED) {
        rc = run->args.json ? attest_print_json(run) : attest_print_text(run);
    }
    if (rc == EXIT_VERIFIED && !run->verdict.pass) {
        for (size_t i = 0; i < run->verdict.n_reasons; i++) {
            cli_error("%s", run->verdict.reasons[i]);
        }
        rc = EXIT_REJECTED;
    }
    run_free(run);
    return rc;
}
