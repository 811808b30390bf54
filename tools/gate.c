/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest gate: the boot gate (docs/gate.md). Reads the config,
 * runs dga_gate_run, prints one line on success and the one-line reason on
 * failure. Exit 0 passed; 1 rejected (a finding about the GPUs or the
 * machine); 2 usage or a malformed config; 3 NVML, register or I/O error.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dga/cleanup.h"
#include "dga/gate.h"
#include "dga/util.h"

#define DEFAULT_CONFIG "/etc/dstack-gpu-attest/gate.json"

struct gate_args {
    const char *config;
    bool dry_run;
};

static void gate_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s gate [--config FILE] [--dry-run]\n"
            "\n"
            "The boot gate: emits gpu-policy-hash, checks the PCI inventory and the CC mode,\n"
            "collects every GPU's report for a fresh nonce, appraises it offline (RIM store,\n"
            "policy), writes the evidence bundle to the run directory, emits the measured\n"
            "gpu-attestation event and only then sets the GPUs' ready state. Any failure:\n"
            "no event, no ready state, non-zero exit. See docs/gate.md.\n"
            "\n"
            "  --config FILE   JSON configuration (default %s)\n"
            "  --dry-run       verify and write the bundle; emit nothing, set no ready state\n",
            PROGRAM, DEFAULT_CONFIG);
}

static int parse_args(int argc, char **argv, struct gate_args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    a->config = DEFAULT_CONFIG;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            a->config = optarg;
            break;
        case 'n':
            a->dry_run = true;
            break;
        case 'h':
            gate_usage(stdout);
            exit(EXIT_VERIFIED);
        default:
            gate_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_error("gate: unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

static int load_config(const char *path, struct dga_gate_config **ret)
{
    uint8_t *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, DGA_GATE_CONFIG_MAX_BYTES, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    struct dga_diag diag = {0};
    dga_err e = dga_gate_config_parse((const char *)text, len, ret, &diag);
    free(text);
    if (e != DGA_E_OK) {
        cli_error("gate: %s: %s: %s (key %s, offset %zu)", path, dga_err_name(e),
                  dga_err_message(e), diag.field != NULL ? diag.field : "config", diag.offset);
        return e == DGA_E_NOMEM ? EXIT_IO : EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

static void print_outcome(const struct dga_gate_result *r, bool dry_run)
{
    char sha[65] = "";
    if (r->bundle_written) {
        dga_hex_encode(r->bundle_sha256, sizeof r->bundle_sha256, sha);
    }
    if (r->err != DGA_E_OK) {
        cli_error("gate: %s", r->reason);
        if (r->bundle_written) {
            fprintf(stderr, "%s: gate: bundle %s (sha256 %s)\n", PROGRAM, r->bundle_path, sha);
        }
        return;
    }
    printf("gate: PASS: %zu GPU(s), %zu NVSwitch(es)%s%s\n", r->n_gpus, r->n_nvswitches,
           r->ppcie ? " attested (PPCIe, topology checked)" : "",
           dry_run ? " (dry run: no event, no ready state)" : "");
    printf("bundle: %s sha256 %s\n", r->bundle_path, sha);
    if (!dry_run) {
        printf("event: gpu-attestation %s\n", r->event_payload);
        printf("ready state: %s\n", r->ready_set ? "set" : "not set (no GPU)");
    }
}

/* The run's outcome, decided by the library where the step failed, as an exit status. */
static int exit_code(const struct dga_gate_result *r)
{
    if (r->err != DGA_E_OK && r->outcome == DGA_GATE_OUTCOME_PASS) {
        return EXIT_IO; /* an error no step classified: never exit 0 on doubt */
    }
    switch (r->outcome) {
    case DGA_GATE_OUTCOME_PASS:
        return EXIT_VERIFIED;
    case DGA_GATE_OUTCOME_REFUSED:
        return EXIT_REJECTED;
    case DGA_GATE_OUTCOME_CONFIG:
        return EXIT_USAGE;
    case DGA_GATE_OUTCOME_IO:
        return EXIT_IO;
    }
    return EXIT_IO;
}

int cmd_gate(int argc, char **argv)
{
    struct gate_args a = {0};
    _cleanup_(dga_gate_config_freep) struct dga_gate_config *cfg = NULL;
    int rc = parse_args(argc, argv, &a);
    if (rc == EXIT_VERIFIED) {
        rc = load_config(a.config, &cfg);
    }
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    _cleanup_(freep) struct dga_gate_result *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return EXIT_IO;
    }
    struct dga_gate_options opt = {.dry_run = a.dry_run};
    dga_gate_run(cfg, &opt, r);
    print_outcome(r, a.dry_run);
    return exit_code(r);
}
