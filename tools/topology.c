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
    struct dga_topology_gpu gv[DGA_MAX_DEVICES];
    size_t ngv;
    struct dga_topology_switch sv[DGA_MAX_DEVICES];
    size_t nsv;
    struct dga_topology_options opt;
    struct dga_topology_result check;
};

static void topo_run_freep(struct topo_run **p)
{
    if (*p != NULL) {
        dga_evidence_set_clear(&(*p)->gpus);
        dga_evidence_set_clear(&(*p)->switches);
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

static int load_policy(const char *path, struct dga_policy_ppcie *ret)
{
    if (path == NULL) {
        dga_policy_ppcie(NULL, ret);
        return EXIT_VERIFIED;
    }
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, DGA_POLICY_MAX_BYTES, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    struct dga_diag diag = {0};
    _cleanup_(dga_policy_freep) struct dga_policy *p = NULL;
    dga_err e = dga_policy_parse((const char *)text, len, &p, &diag);
    if (e != DGA_E_OK) {
        cli_error("%s: %s [%s] (%s)", path, dga_err_message(e), dga_err_name(e),
                  diag.field != NULL ? diag.field : "document");
        return EXIT_USAGE;
    }
    dga_policy_ppcie(p, ret);
    return EXIT_VERIFIED;
}

/* One evidence file, every item of the kind the option names. */
static int load_kind(const char *opt, const char *path, bool want_switch,
                     struct dga_evidence_set *set)
{
    struct evidence_args ev = {.evidence = path};
    int rc = cli_load_evidence(&ev, set);
    for (size_t i = 0; rc == EXIT_VERIFIED && i < set->n; i++) {
        if (dga_arch_is_switch(set->dev[i].arch) != want_switch) {
            cli_error("%s: item %zu is %s evidence, expected %s", opt, i,
                      dga_arch_name(set->dev[i].arch), want_switch ? "NVSwitch" : "GPU");
            rc = EXIT_USAGE;
        }
    }
    return rc;
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
    struct dga_policy_ppcie pp;
    int rc = load_policy(a->policy, &pp);
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_trust(a->trust_root, dga_trust_nvidia_device, trust);
    }
    if (rc == EXIT_VERIFIED) {
        rc = load_kind("--gpu-evidence", a->gpu_evidence, false, &run->gpus);
    }
    if (rc == EXIT_VERIFIED) {
        rc = load_kind("--switch-evidence", a->switch_evidence, true, &run->switches);
    }
    vo->trust = trust;
    memcpy(run->opt.nonce, vo->nonce, DGA_NONCE_LEN);
    run->opt.gpus = pp.gpus;
    run->opt.switches = pp.switches;
    run->opt.gpu_pdi_in_cert = pp.gpu_pdi_in_cert;
    /* nvattest's files never carry the NSCQ pcie_mode (unsigned anyway): docs/ppcie.md. */
    run->opt.require_tnvl = false;
    return rc;
}

/* The view of one verified device: from its report, and its chain when the chain verified. */
static void add_view(struct topo_run *run, const struct dga_device_result *r)
{
    const struct dga_chain_info *chain = r->chain_verified ? &r->chain : NULL;
    struct dga_diag diag = {0};
    dga_err e;
    if (dga_arch_is_switch(r->arch)) {
        e = dga_topology_switch_view(&r->report, chain, &run->sv[run->nsv], &diag);
        if (e == DGA_E_OK) {
            snprintf(run->sv[run->nsv++].label, sizeof run->sv[0].label, "%s", r->label);
        }
    } else {
        e = dga_topology_gpu_view(&r->report, chain, &run->gv[run->ngv], &diag);
        if (e == DGA_E_OK) {
            snprintf(run->gv[run->ngv++].label, sizeof run->gv[0].label, "%s", r->label);
        }
    }
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
            add_view(run, r);
        }
    }
    (void)dga_topology_check(run->gv, run->ngv, run->sv, run->nsv, &run->opt, &run->check);
    if (!run->check.pass) {
        cli_error("topology: %s: %s (%zu finding%s)", dga_err_name(run->check.err),
                  run->check.findings[0].text, run->check.n_findings,
                  run->check.n_findings == 1 ? "" : "s");
    }
    return devices_ok && run->ngv + run->nsv == run->n && run->check.pass;
}

/* ------------------------------------------------------------ output */

static const char *pdi_hex(const uint8_t *pdi, char out[2 * DGA_PDI_LEN + 1])
{
    dga_hex_encode(pdi, DGA_PDI_LEN, out);
    return out;
}

static const char *switch_label(const struct topo_run *run, const uint8_t *pdi)
{
    for (size_t j = 0; j < run->nsv; j++) {
        if (run->sv[j].has_pdi && memcmp(run->sv[j].pdi, pdi, DGA_PDI_LEN) == 0) {
            return run->sv[j].label;
        }
    }
    return "no attested NVSwitch";
}

static const char *gpu_label(const struct topo_run *run, const uint8_t *pdi)
{
    for (size_t i = 0; i < run->ngv; i++) {
        if (run->gv[i].has_cert_pdi && memcmp(run->gv[i].cert_pdi, pdi, DGA_PDI_LEN) == 0) {
            return run->gv[i].label;
        }
    }
    return "no attested GPU";
}

static void print_gpu(const struct topo_run *run, const struct dga_topology_gpu *g)
{
    char h[2 * DGA_PDI_LEN + 1];
    printf("%s: PDI %s (certificate), %zu NVLinks to %zu NVSwitches\n", g->label,
           g->has_cert_pdi ? pdi_hex(g->cert_pdi, h) : "unknown", g->n_links, g->n_switches);
    for (size_t k = 0; k < g->n_switches; k++) {
        printf("  -> %s x%u: %s\n", pdi_hex(g->switches[k].pdi, h), g->switches[k].links,
               switch_label(run, g->switches[k].pdi));
    }
}

static void print_switch(const struct topo_run *run, const struct dga_topology_switch *s)
{
    char h[2 * DGA_PDI_LEN + 1];
    printf("%s: PDI %s, position %d, lock status %d\n", s->label,
           s->has_pdi ? pdi_hex(s->pdi, h) : "absent", s->position, s->lock);
    for (size_t k = 0; s->has_gpu_pdis && k < DGA_TOPOLOGY_SWITCH_GPUS; k++) {
        printf("  names %s: %s\n", pdi_hex(s->gpu_pdis[k], h), gpu_label(run, s->gpu_pdis[k]));
    }
}

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
    for (size_t i = 0; i < run->ngv; i++) {
        print_gpu(run, &run->gv[i]);
    }
    for (size_t j = 0; j < run->nsv; j++) {
        print_switch(run, &run->sv[j]);
    }
    printf("topology: expected %zu GPUs and %zu NVSwitches, seen %zu and %zu: %s\n", run->opt.gpus,
           run->opt.switches, run->ngv, run->nsv, run->check.pass ? "PASS" : "FAIL");
    for (size_t i = 0; i < run->check.n_findings; i++) {
        printf("  %s: %s\n", dga_err_name(run->check.findings[i].err), run->check.findings[i].text);
    }
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
                  "devices", devices, "topology",
                  dga_topology_json(run->gv, run->ngv, run->sv, run->nsv, &run->opt, &run->check));
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
