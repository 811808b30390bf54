/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest attest: full offline appraisal of every device in the
 * evidence (report, certificate chain, RIMs from a store, measurements),
 * revocation (OCSP) from an explicitly chosen source, claims v3, the
 * policy's verdict, and an optional signed detached EAT.
 * Exit 0 only if the verdict passes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest.h"
#include "dga/cleanup.h"
#include "dga/eat.h"
#include "dga/util.h"

static void attest_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s attest (--evidence JSON | --report FILE --cert-chain PEM --arch ARCH)\n"
            "                         --nonce HEX --rim-dir DIR [--at TIME] [--policy FILE]\n"
            "                         [--eat-key PEM [--eat-kid KID] [--eat-issuer ISS] |\n"
            "                          --unsigned-eat] [--format json|text] [--jobs N]\n"
            "                         [--switch-evidence JSON] [--mode any|cc|ppcie]\n"
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
            "  --ocsp MODE            revocation: online (ask the responder, with a nonce),\n"
            "                         cache (only --collateral-dir), bundle (only the\n"
            "                         responses of --ocsp-bundle), off (only with a policy\n"
            "                         saying \"ocsp\": \"not-required\"). Default: online, or\n"
            "                         off when the policy does not require OCSP\n"
            "  --ocsp-url URL         OCSP responder or proxy (default %s)\n"
            "  --collateral-dir DIR   stored OCSP responses; online mode files its answers\n"
            "                         there and falls back to them when no responder answers\n"
            "  --ocsp-max-age SECONDS oldest acceptable response (default 604800; 0 = no\n"
            "                         limit but nextUpdate)\n"
            "  --ocsp-bundle FILE     an earlier JSON output whose collateral.ocsp to re-use\n"
            "  --trust-root FILE      device root instead of NVIDIA's (labs and tests)\n"
            "  --rim-trust-root FILE  RIM root instead of NVIDIA's (labs and tests)\n"
            "  --format json|text     output (default text)\n"
            "  --jobs N               threads for the devices' report and RIM checks: 1\n"
            "                         serial, 0 (default) the online CPUs; at most 64 and\n"
            "                         three per device\n"
            "  --switch-evidence FILE nvattest's NVSwitch evidence JSON, appraised after the\n"
            "                         GPUs of --evidence\n"
            "  --mode MODE            the set's mode: any (no mode rule), cc (single-GPU CC:\n"
            "                         PPCIe GPU evidence and NVSwitches are refused), ppcie\n"
            "                         (the topology check; counts from the policy's \"ppcie\"\n"
            "                         object, default 8 and 4). Default: ppcie with\n"
            "                         --switch-evidence, else any\n",
            PROGRAM, DGA_OCSP_DEFAULT_URL);
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

/* --jobs: 0 (the online CPUs) to DGA_APPRAISE_MAX_JOBS; the output is the same for each. */
static int parse_jobs(const char *s, unsigned *ret)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < 0 || v > (long)DGA_APPRAISE_MAX_JOBS) {
        cli_error("--jobs: expected 0 (the online CPUs) to %u", DGA_APPRAISE_MAX_JOBS);
        return EXIT_USAGE;
    }
    *ret = (unsigned)v;
    return EXIT_VERIFIED;
}

static int parse_args(int argc, char **argv, struct attest_args *a)
{
    static const struct option opts[] = {
        CLI_EVIDENCE_OPTIONS,
        {"nonce", required_argument, NULL, 'n'},
        {"rim-dir", required_argument, NULL, 'd'},
        {"at", required_argument, NULL, 't'},
        {"policy", required_argument, NULL, 'p'},
        {"eat-key", required_argument, NULL, 'k'},
        {"eat-kid", required_argument, NULL, 'K'},
        {"eat-issuer", required_argument, NULL, 'I'},
        {"unsigned-eat", no_argument, NULL, 'u'},
        {"trust-root", required_argument, NULL, 'R'},
        {"rim-trust-root", required_argument, NULL, 'T'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {"ocsp", required_argument, NULL, 'O'},
        {"ocsp-url", required_argument, NULL, 'U'},
        {"collateral-dir", required_argument, NULL, 'C'},
        {"ocsp-max-age", required_argument, NULL, 'M'},
        {"ocsp-bundle", required_argument, NULL, 'B'},
        {"jobs", required_argument, NULL, 'j'},
        {"switch-evidence", required_argument, NULL, 'S'},
        {"mode", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    int ch, rc = EXIT_VERIFIED;
    while (rc == EXIT_VERIFIED && (ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (cli_evidence_option(ch, optarg, &a->ev)) {
            continue;
        }
        switch (ch) {
        case 'n':
            a->nonce = optarg;
            break;
        case 'd':
            a->rim_dir = optarg;
            break;
        case 't':
            a->at = optarg;
            break;
        case 'p':
            a->policy = optarg;
            break;
        case 'k':
            a->eat_key = optarg;
            break;
        case 'K':
            a->eat_kid = optarg;
            break;
        case 'I':
            a->eat_issuer = optarg;
            break;
        case 'u':
            a->unsigned_eat = true;
            break;
        case 'R':
            a->trust_root = optarg;
            break;
        case 'T':
            a->rim_trust_root = optarg;
            break;
        case 'f':
            rc = parse_format(optarg, a);
            break;
        case 'O':
            a->ocsp = optarg;
            break;
        case 'U':
            a->ocsp_url = optarg;
            break;
        case 'C':
            a->collateral_dir = optarg;
            break;
        case 'M':
            a->ocsp_max_age = optarg;
            break;
        case 'B':
            a->ocsp_bundle = optarg;
            break;
        case 'j':
            rc = parse_jobs(optarg, &a->jobs);
            break;
        case 'S':
            a->switch_evidence = optarg;
            break;
        case 'm':
            a->mode = optarg;
            break;
        case 'h':
            attest_usage(stdout);
            exit(EXIT_VERIFIED);
        default:
            attest_usage(stderr);
            rc = EXIT_USAGE;
            break;
        }
    }
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    const char *missing = a->nonce == NULL ? "--nonce" : a->rim_dir == NULL ? "--rim-dir" : NULL;
    if (optind != argc || missing != NULL || (a->eat_key != NULL && a->unsigned_eat)) {
        cli_error("attest: %s",
                  optind != argc ? "unexpected argument"
                  : missing != NULL
                      ? (a->nonce == NULL ? "--nonce is required" : "--rim-dir is required")
                      : "--eat-key and --unsigned-eat exclude each other");
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

/* --ocsp-max-age: seconds, 0 (explicitly unlimited, nextUpdate still bounds) to 10 years. */
static int parse_max_age(const char *s, struct dga_ocsp_source *src)
{
    char *end = NULL;
    errno = 0;
    long v = s != NULL ? strtol(s, &end, 10) : -1;
    if (s == NULL || *s == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 3650L * 86400) {
        cli_error("--ocsp-max-age: expected seconds, 0 to 315360000");
        return EXIT_USAGE;
    }
    src->max_age = v;
    src->unlimited_age = v == 0;
    return EXIT_VERIFIED;
}

static int load_bundle(const char *path, struct dga_ocsp_bundle *b)
{
    uint8_t *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, DGA_EVIDENCE_JSON_MAX, &text, &len);
    if (rc == EXIT_VERIFIED) {
        struct dga_diag diag = {0};
        dga_err e = dga_ocsp_bundle_from_json((const char *)text, len, b, &diag);
        if (e != DGA_E_OK) {
            cli_error("%s: %s [%s] (%s %zu)", path, dga_err_message(e), dga_err_name(e),
                      diag.field != NULL ? diag.field : "document", diag.offset);
            rc = EXIT_USAGE;
        }
    }
    free(text);
    return rc;
}

/*
 * Which OCSP source, chosen explicitly: --ocsp, else online (off when the
 * policy does not require OCSP). Off needs such a policy; cache needs a
 * directory; bundle needs a bundle.
 */
static int setup_ocsp(struct attest_run *run)
{
    const struct attest_args *a = &run->args;
    struct dga_ocsp_source *src = &run->ocsp;
    dga_ocsp_source_init(src);
    bool required = dga_policy_ocsp_required(run->policy);
    src->mode = required ? DGA_OCSP_MODE_ONLINE : DGA_OCSP_MODE_OFF;
    if (a->ocsp != NULL && dga_ocsp_mode_parse(a->ocsp, &src->mode) != DGA_E_OK) {
        cli_error("--ocsp: expected online, cache, bundle or off");
        return EXIT_USAGE;
    }
    const char *why = src->mode == DGA_OCSP_MODE_OFF && required
                          ? "--ocsp off needs a policy with \"ocsp\": \"not-required\""
                      : src->mode == DGA_OCSP_MODE_CACHE && a->collateral_dir == NULL
                          ? "--ocsp cache needs --collateral-dir"
                      : src->mode == DGA_OCSP_MODE_BUNDLE && a->ocsp_bundle == NULL
                          ? "--ocsp bundle needs --ocsp-bundle"
                          : NULL;
    if (why != NULL) {
        cli_error("attest: %s", why);
        return EXIT_USAGE;
    }
    src->url = a->ocsp_url;
    src->dir = a->collateral_dir;
    if (src->mode != DGA_OCSP_MODE_OFF && dga_ocsp_memo_new(&src->memo) != DGA_E_OK) {
        cli_error("out of memory");
        return EXIT_IO;
    }
    src->bundle = &run->bundle;
    run->opt.ocsp = src;
    int rc = a->ocsp_max_age != NULL ? parse_max_age(a->ocsp_max_age, src) : EXIT_VERIFIED;
    if (rc == EXIT_VERIFIED && src->mode == DGA_OCSP_MODE_BUNDLE) {
        rc = load_bundle(a->ocsp_bundle, &run->bundle);
    }
    return rc;
}

/*
 * --switch-evidence: every item an NVSwitch, appended after the GPUs (the
 * devices move into the set: labels stay GPU-n and SWITCH-n per type).
 */
static int load_switches(const char *path, struct dga_evidence_set *set)
{
    _cleanup_(dga_evidence_set_freep) struct dga_evidence_set *sw = calloc(1, sizeof *sw);
    if (sw == NULL) {
        cli_error("out of memory");
        return EXIT_IO;
    }
    int rc = cli_load_evidence_kind("--switch-evidence", path, true, sw);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    if (set->n + sw->n > DGA_MAX_DEVICES) {
        cli_error("--switch-evidence: %zu devices in all, at most %d", set->n + sw->n,
                  DGA_MAX_DEVICES);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < sw->n; i++) {
        set->dev[set->n++] = sw->dev[i];
    }
    sw->n = 0; /* moved: nothing left to free */
    return EXIT_VERIFIED;
}

/* --mode, else ppcie when NVSwitch evidence is given, else any; the topology from the policy. */
static int setup_mode(struct attest_run *run)
{
    const struct attest_args *a = &run->args;
    run->opt.mode = a->switch_evidence != NULL ? DGA_SET_MODE_PPCIE : DGA_SET_MODE_ANY;
    if (a->mode != NULL && dga_set_mode_parse(a->mode, &run->opt.mode) != DGA_E_OK) {
        cli_error("--mode: expected any, cc or ppcie");
        return EXIT_USAGE;
    }
    cli_topology_options(run->policy, &run->opt.topology);
    /* nvattest's files never carry the NSCQ pcie_mode (unsigned anyway): docs/ppcie.md. */
    run->opt.topology.require_tnvl = false;
    return EXIT_VERIFIED;
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
    run->opt.jobs = a->jobs;
    int rc = cli_load_trust(a->trust_root, dga_trust_nvidia_device, &run->device_root);
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_trust(a->rim_trust_root, dga_trust_nvidia_rim, &run->rim_root);
    }
    if (rc == EXIT_VERIFIED && dga_verify_cache_new(&run->rim_root, &run->opt.cache) != DGA_E_OK) {
        cli_error("out of memory");
        rc = EXIT_IO;
    }
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_policy(a->policy, &run->policy);
    }
    if (rc == EXIT_VERIFIED) {
        rc = setup_ocsp(run);
    }
    if (rc == EXIT_VERIFIED) {
        rc = setup_mode(run);
    }
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_evidence(&a->ev, run->set);
    }
    if (rc == EXIT_VERIFIED && a->switch_evidence != NULL) {
        rc = load_switches(a->switch_evidence, run->set);
    }
    return rc;
}

/* Every device, the claims, the policy's verdict and the result code (lib/appraise/appraise_set.c).
 */
static int appraise_all(struct attest_run *run)
{
    if (dga_appraise_set(run->set, &run->opt, run->policy, &run->ap) != DGA_E_OK) {
        cli_error("attest: the policy could not be evaluated");
        return EXIT_IO;
    }
    return EXIT_VERIFIED;
}

static int build_eat(struct attest_run *run)
{
    const struct attest_args *a = &run->args;
    struct dga_eat_options o = {.kid = a->eat_kid,
                                .issuer = a->eat_issuer,
                                .iat = time(NULL),
                                .allow_unsigned = a->unsigned_eat};
    int rc = EXIT_VERIFIED;
    if (a->eat_key != NULL) {
        errno = 0;
        dga_err e = dga_eat_key_load(a->eat_key, &o.key);
        if (e == DGA_E_BAD_PEM || e == DGA_E_BAD_ARGUMENT) {
            cli_error("%s: not a P-384 private key", a->eat_key);
            rc = EXIT_USAGE;
        } else if (e != DGA_E_OK) {
            rc = cli_file_error(a->eat_key, e);
        }
    }
    if (rc == EXIT_VERIFIED &&
        dga_set_appraisal_eat(&run->ap, run->policy, run->opt.verify.nonce, &o) != DGA_E_OK) {
        cli_error("attest: cannot build the detached EAT");
        rc = EXIT_IO;
    }
    EVP_PKEY_free(o.key);
    return rc;
}

/* A run and everything it holds. */
static void run_freep(struct attest_run **p)
{
    struct attest_run *run = *p;
    if (run == NULL) {
        return;
    }
    dga_set_appraisal_clear(&run->ap);
    dga_verify_cache_freep(&run->opt.cache); /* after the appraisals that borrow its RIMs */
    dga_evidence_set_freep(&run->set);
    dga_policy_freep(&run->policy);
    dga_trust_clear(&run->device_root);
    dga_trust_clear(&run->rim_root);
    dga_ocsp_bundle_clear(&run->bundle);
    dga_ocsp_memo_freep(&run->ocsp.memo);
    free(run);
    *p = NULL;
}

int cmd_attest(int argc, char **argv)
{
    _cleanup_(run_freep) struct attest_run *run = calloc(1, sizeof *run);
    if (run == NULL) {
        return EXIT_IO;
    }
    run->set = calloc(1, sizeof *run->set);
    int rc = run->set != NULL ? parse_args(argc, argv, &run->args) : EXIT_IO;
    if (rc == EXIT_VERIFIED) {
        rc = setup(run);
    }
    if (rc == EXIT_VERIFIED) {
        rc = appraise_all(run);
    }
    if (rc == EXIT_VERIFIED) {
        rc = build_eat(run);
    }
    if (rc == EXIT_VERIFIED) {
        rc = run->args.json ? attest_print_json(run) : attest_print_text(run);
    }
    if (rc == EXIT_VERIFIED && !run->ap.verdict.pass) {
        for (size_t i = 0; i < run->ap.verdict.n_reasons; i++) {
            cli_error("%s", run->ap.verdict.reasons[i]);
        }
        rc = EXIT_REJECTED;
    }
    return rc;
}
