/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest topology check: the PPCIe topology of an HGX board
 * (docs/ppcie.md). Every GPU and NVSwitch of nvattest's evidence files is
 * verified at report level (parse, chain to the pinned device root,
 * signature, nonce, FWID, validity), then the topology checker runs over
 * what their reports say. Exit 0 only if every device and the topology pass.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "dga/cleanup.h"
#include "dga/policy.h"
#include "dga/topology.h"
#include "dga/util.h"

struct topo_args {
    const char *gpu_evidence;
    const char *switch_evidence;
    const char *nonce;
    const char *policy;
    const char *at;
    const char *trust_root;
    bool json;
};

/* Everything one run holds: the devices (GPUs first), their results and views. */
struct topo_run {
    struct dga_evidence_set gpus, switches;
    size_t n; /* devices: gpus.n + switches.n */
    struct dga_device_result res[2 * DGA_MAX_DEVICES];
    struct dga_topology_views views;
    struct dga_topology_options opt;
    struct dga_topology_result check;
    json_t *json; /* dga_topology_json: what both outputs print */
};

static void topo_run_freep(struct topo_run **p)
{
    if (*p != NULL) {
        dga_evidence_set_clear(&(*p)->gpus);
        dga_evidence_set_clear(&(*p)->switches);
        json_decref((*p)->json);
        free(*p);
        *p = NULL;
    }
}

static void topology_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s topology check --gpu-evidence JSON --switch-evidence JSON --nonce HEX\n"
            "                         [--policy FILE] [--at YYYY-MM-DDTHH:MM:SSZ]\n"
            "                         [--trust-root PEM] [--json]\n"
            "\n"
            "Verifies every GPU and NVSwitch at report level (certificate chain to the\n"
            "NVIDIA Device Identity CA, signature, nonce, FWID, validity), then checks the\n"
            "protected-PCIe topology: NVIDIA's check (8 GPUs, 4 NVSwitches, every GPU sees\n"
            "the same 4 switches, every switch names the same 8 GPUs) and the stricter\n"
            "rules of docs/ppcie.md (distinct switches, exactly LOCKED, one nonce, no\n"
            "CC-only GPU, the switches' GPUs are the attested GPUs).\n"
            "\n"
            "  --gpu-evidence FILE     nvattest's GPU evidence JSON\n"
            "  --switch-evidence FILE  nvattest's NVSwitch evidence JSON\n"
            "  --nonce HEX             the 32-byte nonce every device must carry\n"
            "  --policy FILE           JSON policy document: its \"ppcie\" object sets the\n"
            "                          counts and the certificate-PDI rule (default 8, 4, on)\n"
            "  --at TIME               verification time (default: now)\n"
            "  --trust-root FILE       trust this root instead of NVIDIA's (labs and tests)\n"
            "  --json                  machine-readable output\n",
            PROGRAM);
}

static int parse_args(int argc, char **argv, struct topo_args *a)
{
    const struct cli_option opts[] = {
        CLI_VALUE("gpu-evidence", &a->gpu_evidence),
        CLI_VALUE("switch-evidence", &a->switch_evidence),
        CLI_VALUE("nonce", &a->nonce),
        CLI_VALUE("policy", &a->policy),
        CLI_VALUE("at", &a->at),
        CLI_VALUE("trust-root", &a->trust_root),
        CLI_FLAG("json", &a->json),
        CLI_END,
    };
    int rc = cli_parse_options(argc, argv, opts, topology_usage);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    const char *missing = a->gpu_evidence == NULL      ? "--gpu-evidence"
                          : a->switch_evidence == NULL ? "--switch-evidence"
                          : a->nonce == NULL           ? "--nonce"
                                                       : NULL;
    if (optind != argc || missing != NULL) {
        cli_error("topology check: %s%s", missing != NULL ? missing : "unexpected argument",
                  missing != NULL ? " is required" : "");
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

static int load_inputs(const struct topo_args *a, struct dga_trust *trust,
                       struct dga_verify_options *vo, struct topo_run *run)
{
    if (dga_hex_decode_fixed(a->nonce, vo->nonce, DGA_NONCE_LEN) != DGA_E_OK) {
        cli_error("--nonce: expected 64 hexadecimal digits");
        return EXIT_USAGE;
    }
    vo->at = time(NULL);
    if (a->at != NULL && dga_time_parse(a->at, &vo->at) != DGA_E_OK) {
        cli_error("--at: expected YYYY-MM-DDTHH:MM:SSZ");
        return EXIT_USAGE;
    }
    _cleanup_(dga_policy_freep) struct dga_policy *policy = NULL;
    int rc = cli_load_policy(a->policy, &policy);
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_trust(a->trust_root, dga_trust_nvidia_device, trust);
    }
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_evidence_kind("--gpu-evidence", a->gpu_evidence, false, &run->gpus);
    }
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_evidence_kind("--switch-evidence", a->switch_evidence, true, &run->switches);
    }
    vo->trust = trust;
    memcpy(run->opt.nonce, vo->nonce, DGA_NONCE_LEN);
    cli_topology_options(policy, &run->opt);
    /* nvattest's files never carry the NSCQ pcie_mode (unsigned anyway): docs/ppcie.md. */
    run->opt.require_tnvl = false;
    return rc;
}

/* The evidence device i of the run was verified from (GPUs first). */
static const struct dga_device_evidence *evidence_of(const struct topo_run *run, size_t i)
{
    return i < run->gpus.n ? &run->gpus.dev[i] : &run->switches.dev[i - run->gpus.n];
}

/* The view of one parsed device (lib/appraise/topology.c), from its report and verified chain. */
static void add_view(struct topo_run *run, size_t i)
{
    const struct dga_device_result *r = &run->res[i];
    struct dga_diag diag = {0};
    dga_err e = dga_topology_add_view(&run->views, r, evidence_of(run, i), &diag);
    if (e != DGA_E_OK) {
        cli_error("%s: topology fields: %s [%s] (%s)", r->label, dga_err_message(e),
                  dga_err_name(e), diag.field);
    }
}

/* Report level for every device, then the views of those that parsed, then the checker. */
static bool run_checks(struct topo_run *run, const struct dga_verify_options *vo)
{
    bool devices_ok = true;
    for (size_t i = 0; i < run->gpus.n; i++) {
        dga_verify_device(&run->gpus.dev[i], vo, &run->res[run->n++]);
    }
    for (size_t i = 0; i < run->switches.n; i++) {
        dga_verify_device(&run->switches.dev[i], vo, &run->res[run->n++]);
    }
    dga_label_devices(run->res, run->n);
    for (size_t i = 0; i < run->n; i++) {
        const struct dga_device_result *r = &run->res[i];
        if (r->err != DGA_E_OK) {
            devices_ok = false;
            cli_error("%s: %s: %s", r->label, dga_check_name(r->failed_check),
                      dga_err_message(r->err));
        }
        if (r->parsed) {
            add_view(run, i);
        }
    }
    const struct dga_topology_views *v = &run->views;
    (void)dga_topology_check(v->gpus, v->n_gpus, v->switches, v->n_switches, &run->opt,
                             &run->check);
    run->json =
        dga_topology_json(v->gpus, v->n_gpus, v->switches, v->n_switches, &run->opt, &run->check);
    if (!run->check.pass) {
        cli_error("topology: %s: %s (%zu finding%s)", dga_err_name(run->check.err),
                  run->check.findings[0].text, run->check.n_findings,
                  run->check.n_findings == 1 ? "" : "s");
    }
    return devices_ok && v->n_gpus + v->n_switches == run->n && run->check.pass;
}

/* ------------------------------------------------------------ output */

static void print_text(const struct topo_run *run, bool pass, const struct dga_trust *trust)
{
    for (size_t i = 0; i < run->n; i++) {
        const struct dga_device_result *r = &run->res[i];
        if (r->err == DGA_E_OK) {
            printf("%s (%s): report PASS\n", r->label, dga_arch_name(r->arch));
        } else {
            printf("%s (%s): report FAIL (%s: %s)\n", r->label, dga_arch_name(r->arch),
                   dga_check_name(r->failed_check), dga_err_name(r->err));
        }
    }
    cli_print_topology(run->json);
    printf("note: the NVSwitch TNVL/lock status from NSCQ is not in the evidence (nor signed); "
           "the signed lock status (TLV 25) is checked\n");
    printf("verdict: %s%s\n", pass ? "PASS" : "FAIL",
           trust->custom ? " (CUSTOM trust root, not NVIDIA's)" : "");
}

static json_t *device_json(const struct dga_device_result *r)
{
    bool ok = r->err == DGA_E_OK;
    json_t *d = json_pack("{s:s,s:s,s:s}", "label", r->label, "arch", dga_arch_name(r->arch),
                          "result", ok ? "pass" : "fail");
    if (d != NULL && !ok) {
        json_object_set_new(d, "failed_check", json_string(dga_check_name(r->failed_check)));
        json_object_set_new(d, "error", json_string(dga_err_name(r->err)));
    }
    return d;
}

static int print_json(const struct topo_run *run, bool pass, const struct topo_args *a,
                      const struct dga_verify_options *vo)
{
    char at[21];
    dga_time_format(vo->at, at);
    json_t *devices = json_array();
    for (size_t i = 0; devices != NULL && i < run->n; i++) {
        json_array_append_new(devices, device_json(&run->res[i]));
    }
    _cleanup_(json_decrefp) json_t *out =
        json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "result", pass ? "pass" : "fail", "trust_roots",
                  vo->trust->custom ? "custom" : "nvidia", "verified_at", at, "nonce", a->nonce,
                  "devices", devices, "topology", json_incref(run->json));
    return cli_print_json(out);
}

int cmd_topology_check(int argc, char **argv)
{
    struct topo_args a = {0};
    _cleanup_(dga_trust_clearp) struct dga_trust trust = {0};
    struct dga_verify_options vo = {0};
    _cleanup_(topo_run_freep) struct topo_run *run = calloc(1, sizeof *run);
    int rc = run != NULL ? parse_args(argc, argv, &a) : EXIT_IO;
    if (rc == EXIT_VERIFIED) {
        rc = load_inputs(&a, &trust, &vo, run);
    }
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    bool pass = run_checks(run, &vo);
    if (run->json == NULL) {
        cli_error("out of memory");
        return EXIT_IO;
    }
    if (a.json) {
        rc = print_json(run, pass, &a, &vo);
    } else {
        print_text(run, pass, &trust);
    }
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    return pass ? EXIT_VERIFIED : EXIT_REJECTED;
}
