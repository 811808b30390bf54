/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The set appraisal's mode rule (dga_appraise_options.mode, lib/appraise/set_mode.c):
 * single-GPU CC refuses NVIDIA's real PPCIe H100 and any NVSwitch and passes a CC GPU;
 * PPCIe runs the topology check over the fake 8 x 4 board (tests/fixtures/ppcie), which
 * passes, and each broken board fails with its own finding in the verdict; ANY changes
 * nothing. Every refusal is asserted by its exact reason.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dga/appraise.h"
#include "dga/appraise_set.h"
#include "dga/stats.h"
#include "dga/util.h"

#define AT_2024 1717200000 /* 2024-06-01T00:00:00Z: the 545.00 GPU's RIMs are valid */
#define AT_2026 1780272000 /* 2026-06-01T00:00:00Z: the LS10 BIOS RIM is valid */
#define H545_RIMS "gpu/h100_545.00/rims"
#define LS10 "nvswitch/ls10_96.10.55.00.01/"
#define POLICY "{\"ocsp\":\"not-required\"}"

struct mode_run {
    struct dga_evidence_set set;
    struct dga_trust dev, rim;
    struct dga_appraise_options opt;
    struct dga_policy *policy;
    struct dga_ocsp_source src;
    struct dga_set_appraisal ap;
    char rim_dir[512]; /* fixture_path's buffer is reused by the next call */
};

static struct mode_run *run_new(const char *nonce, time_t at, const char *rim_dir, bool test_root)
{
    struct mode_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    if (test_root) {
        size_t len = 0;
        char *root = (char *)fixture_read("testpki/root.pem", &len);
        assert_int_equal(dga_trust_from_pem(root, len, &r->dev), DGA_E_OK);
        free(root);
    } else {
        assert_int_equal(dga_trust_nvidia_device(&r->dev), DGA_E_OK);
    }
    assert_int_equal(dga_trust_nvidia_rim(&r->rim), DGA_E_OK);
    assert_int_equal(dga_policy_parse(POLICY, strlen(POLICY), &r->policy, NULL), DGA_E_OK);
    dga_ocsp_source_init(&r->src);
    r->opt.verify.trust = &r->dev;
    r->opt.verify.at = at;
    assert_int_equal(dga_hex_decode_fixed(nonce, r->opt.verify.nonce, DGA_NONCE_LEN), DGA_E_OK);
    r->opt.rim_trust = &r->rim;
    snprintf(r->rim_dir, sizeof r->rim_dir, "%s", fixture_path(rim_dir));
    r->opt.rim_dir = r->rim_dir;
    r->opt.ocsp = &r->src;
    r->opt.jobs = 1;
    r->opt.topology = (struct dga_topology_options){
        .gpus = BOARD_GPUS, .switches = BOARD_SWITCHES, .gpu_pdi_in_cert = true};
    return r;
}

static void appraise(struct mode_run *r, enum dga_set_mode mode)
{
    dga_set_appraisal_clear(&r->ap);
    r->opt.mode = mode;
    assert_int_equal(dga_appraise_set(&r->set, &r->opt, r->policy, &r->ap), DGA_E_OK);
    assert_int_equal(r->ap.mode, mode);
}

static void run_free(struct mode_run *r)
{
    dga_set_appraisal_clear(&r->ap);
    dga_evidence_set_clear(&r->set);
    dga_trust_clear(&r->dev);
    dga_trust_clear(&r->rim);
    dga_policy_free(r->policy);
    free(r);
}

static bool has_reason(const struct dga_set_appraisal *ap, const char *text)
{
    for (size_t i = 0; i < ap->verdict.n_reasons; i++) {
        if (strcmp(ap->verdict.reasons[i], text) == 0) {
            return true;
        }
    }
    return false;
}

/* The index of the reason TEXT in the verdict; fails the test when absent. */
static size_t reason_index(const struct dga_set_appraisal *ap, const char *text)
{
    for (size_t i = 0; i < ap->verdict.n_reasons; i++) {
        if (strcmp(ap->verdict.reasons[i], text) == 0) {
            return i;
        }
    }
    fail_msg("no reason \"%s\"", text);
    return 0;
}

/* How many reasons name the mode rule ("<label>: mode: ", "<label>: topology: ", "topology: "). */
static size_t mode_reasons(const struct dga_set_appraisal *ap)
{
    size_t n = 0;
    for (size_t i = 0; i < ap->verdict.n_reasons; i++) {
        const char *s = ap->verdict.reasons[i];
        n += strstr(s, ": mode: ") != NULL || strstr(s, ": topology: ") != NULL ||
             strncmp(s, "topology: ", 10) == 0;
    }
    return n;
}

/* The refusal the gate and attest print, and the error it carries. */
static void assert_mode_failure(const struct dga_set_appraisal *ap, dga_err want, const char *text)
{
    char line[DGA_VERDICT_REASON_LEN];
    dga_err e = DGA_E_INTERNAL;
    assert_true(dga_set_appraisal_mode_failure(ap, line, sizeof line, &e));
    assert_int_equal(e, want);
    assert_string_equal(line, text);
    assert_true(has_reason(ap, text));
    assert_false(ap->verdict.pass);
    assert_false(ap->nvidia_default_pass);
}

static void assert_no_mode_failure(const struct dga_set_appraisal *ap)
{
    char line[DGA_VERDICT_REASON_LEN] = "x";
    dga_err e = DGA_E_INTERNAL;
    assert_false(dga_set_appraisal_mode_failure(ap, line, sizeof line, &e));
    assert_int_equal(e, DGA_E_OK);
    assert_string_equal(line, "");
    assert_int_equal(mode_reasons(ap), 0);
}

/* The set JSON's "mode", and "topology" exactly when the check ran. */
static void assert_json_mode(struct mode_run *r, const char *mode)
{
    struct dga_set_json_context c = {.ocsp = &r->src, .device_root = "test", .rim_root = "nvidia"};
    json_t *j = dga_set_appraisal_json(&r->ap, &c);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "mode")), mode);
    json_t *t = json_object_get(j, "topology");
    if (r->ap.topology_checked) {
        assert_non_null(t);
        assert_true(json_equal(t, r->ap.topology_json));
    } else {
        assert_null(t);
        assert_null(r->ap.topology_json);
    }
    json_decref(j);
}

static void test_mode_names(void **state)
{
    (void)state;
    static const char *const names[] = {"any", "cc", "ppcie"};
    for (int m = DGA_SET_MODE_ANY; m <= DGA_SET_MODE_PPCIE; m++) {
        enum dga_set_mode got = DGA_SET_MODE_ANY;
        assert_string_equal(dga_set_mode_name((enum dga_set_mode)m), names[m]);
        assert_int_equal(dga_set_mode_parse(names[m], &got), DGA_E_OK);
        assert_int_equal(got, m);
    }
    enum dga_set_mode got = DGA_SET_MODE_CC;
    assert_int_equal(dga_set_mode_parse("PPCIe", &got), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_set_mode_parse("", &got), DGA_E_BAD_ARGUMENT);
    assert_int_equal(got, DGA_SET_MODE_CC);
    assert_string_equal(dga_set_mode_name((enum dga_set_mode)7), "unknown");
}

/* NVIDIA's real PPCIe H100 (TLV 21 0xAA, TLV 36 2): CC refuses it; ANY does not. */
static void test_cc_refuses_ppcie_gpu(void **state)
{
    (void)state;
    struct mode_run *r = run_new(NONCE_N2, AT_2026, H545_RIMS, false);
    size_t len = 0;
    char *text = (char *)fixture_read("gpu/h100_590.12_ppcie/evidence.json", &len);
    assert_int_equal(dga_evidence_json_parse(text, len, &r->set, NULL), DGA_E_OK);
    free(text);
    appraise(r, DGA_SET_MODE_ANY);
    assert_no_mode_failure(&r->ap);
    size_t any_reasons = r->ap.verdict.n_reasons;
    int any_code = r->ap.result_code;
    assert_json_mode(r, "any");

    appraise(r, DGA_SET_MODE_CC);
    assert_mode_failure(&r->ap, DGA_E_MODE_PPCIE_EVIDENCE,
                        "GPU-0: mode: mode-ppcie-evidence: TLV 21 (protected PCIe status) is 0xAA");
    /* the one new reason, right after the device's own (no 590.12 RIM here) */
    assert_int_equal(r->ap.verdict.n_reasons, any_reasons + 1);
    assert_int_equal(r->ap.dev[0].err, DGA_E_RIM_NOT_FOUND);
    assert_int_equal(r->ap.result_code, any_code); /* the device's own failure comes first */
    assert_false(r->ap.topology_checked);
    assert_json_mode(r, "cc");
    run_free(r);
}

/* A CC GPU (the genuine 545.00) passes in CC mode, as in ANY. */
static void test_cc_passes_cc_gpu(void **state)
{
    (void)state;
    struct mode_run *r = run_new(NONCE_N3, AT_2024, H545_RIMS, false);
    fixture_evidence("gpu/h100_545.00/", DGA_ARCH_HOPPER, NULL, &r->set);
    appraise(r, DGA_SET_MODE_ANY);
    bool any_nvidia = r->ap.nvidia_default_pass; /* false: NVIDIA's policy wants OCSP */
    appraise(r, DGA_SET_MODE_CC);
    assert_no_mode_failure(&r->ap);
    assert_true(r->ap.verdict.pass);
    assert_int_equal(r->ap.nvidia_default_pass, any_nvidia);
    assert_int_equal(r->ap.result_code, 0);
    assert_json_mode(r, "cc");
    run_free(r);
}

/* An NVSwitch in a CC set is refused: 503, overall false; ANY passes it. */
static void test_cc_refuses_switch(void **state)
{
    (void)state;
    struct mode_run *r = run_new(NONCE_N1, AT_2026, LS10 "rims", false);
    fixture_evidence(LS10, DGA_ARCH_LS10, NULL, &r->set);
    appraise(r, DGA_SET_MODE_ANY);
    assert_no_mode_failure(&r->ap);
    assert_true(r->ap.verdict.pass);
    assert_int_equal(r->ap.result_code, 0);

    appraise(r, DGA_SET_MODE_CC);
    assert_int_equal(r->ap.dev[0].err, DGA_E_OK);
    assert_mode_failure(&r->ap, DGA_E_MODE_SWITCH_IN_CC,
                        "SWITCH-0: mode: mode-switch-in-cc: an NVSwitch in a single-GPU CC set");
    assert_int_equal(r->ap.verdict.n_reasons, 1);
    assert_int_equal(r->ap.result_code, 503);
    assert_string_equal(r->ap.result_message, dga_err_message(DGA_E_MODE_SWITCH_IN_CC));
    /* the refusal is the switch's own, as "mode"; the set as a whole is refused by none */
    assert_int_equal(r->ap.mode_device_err[0], DGA_E_MODE_SWITCH_IN_CC);
    assert_string_equal(r->ap.mode_device_check[0], "mode");
    assert_int_equal(r->ap.mode_set_err, DGA_E_OK);
    assert_null(r->ap.mode_set_check);
    run_free(r);
}

/* ---- PPCIe on the fake 8 x 4 board ---- */

static struct mode_run *board(void)
{
    struct mode_run *r = run_new(NONCE_BOARD, AT_2026, LS10 "rims", true);
    fixture_board(&r->set);
    return r;
}

/* Every finding of the check is a verdict reason "topology: <error>: <text>". */
static void assert_findings_in_verdict(const struct dga_set_appraisal *ap)
{
    for (size_t k = 0; k < ap->topology.n_findings; k++) {
        /* Formatted whole, then cut where a verdict reason is cut. */
        char text[DGA_TOPOLOGY_FINDING_LEN + 64];
        snprintf(text, sizeof text, "topology: %s: %s", dga_err_name(ap->topology.findings[k].err),
                 ap->topology.findings[k].text);
        text[DGA_VERDICT_REASON_LEN - 1] = '\0';
        assert_true(has_reason(ap, text));
    }
}

static void test_ppcie_board_passes(void **state)
{
    (void)state;
    struct mode_run *r = board();
    r->opt.topology.require_tnvl = true; /* the switches' NSCQ tnvl (3) travels with them */
    unsigned long before = dga_stats_ecdsa_verifications();
    appraise(r, DGA_SET_MODE_ANY);
    unsigned long any = dga_stats_ecdsa_verifications() - before;
    before = dga_stats_ecdsa_verifications();
    appraise(r, DGA_SET_MODE_PPCIE);
    /* the views read the appraisal's verified chains: not one signature more */
    assert_int_equal(dga_stats_ecdsa_verifications() - before, any);
    assert_true(r->ap.topology_checked);
    assert_true(r->ap.topology.pass);
    assert_int_equal(r->ap.topology.n_findings, 0);
    assert_no_mode_failure(&r->ap);
    assert_string_equal(json_string_value(json_object_get(r->ap.topology_json, "result")), "pass");
    json_t *sw = json_array_get(json_object_get(r->ap.topology_json, "switches"), 3);
    assert_int_equal(json_integer_value(json_object_get(sw, "pcie_mode")), 3);
    /* the switches appraise whole; the GPUs lack a 590.12 driver RIM here (a device failure) */
    for (size_t i = 0; i < r->set.n; i++) {
        assert_int_equal(r->ap.dev[i].err, i < BOARD_GPUS ? DGA_E_RIM_NOT_FOUND : DGA_E_OK);
    }
    assert_json_mode(r, "ppcie");
    run_free(r);
}

static void copy_device(struct dga_device_evidence *to, const struct dga_device_evidence *from)
{
    free(to->report);
    free(to->chain_pem);
    *to = *from;
    to->report = malloc(from->report_len);
    to->chain_pem = strdup(from->chain_pem);
    assert_non_null(to->report);
    assert_non_null(to->chain_pem);
    memcpy(to->report, from->report, from->report_len);
}

/* SWITCH-1 is SWITCH-0 again: four switches, three distinct. */
static void test_ppcie_duplicate_switch(void **state)
{
    (void)state;
    struct mode_run *r = board();
    copy_device(&r->set.dev[BOARD_GPUS + 1], &r->set.dev[BOARD_GPUS]);
    appraise(r, DGA_SET_MODE_PPCIE);
    assert_false(r->ap.topology.pass);
    assert_true(has_reason(&r->ap, "topology: topology-switch-duplicate: SWITCH-1 has PDI "
                                   "0x5e57c0de00000000, as SWITCH-0 does"));
    assert_true(has_reason(&r->ap, "SWITCH-1: duplicate-device: same report as SWITCH-0"));
    /* The gate's order: the duplicate before the topology it breaks. */
    assert_true(reason_index(&r->ap, "SWITCH-1: duplicate-device: same report as SWITCH-0") <
                reason_index(&r->ap, "topology: topology-switch-duplicate: SWITCH-1 has PDI "
                                     "0x5e57c0de00000000, as SWITCH-0 does"));
    assert_findings_in_verdict(&r->ap);
    char line[DGA_VERDICT_REASON_LEN];
    dga_err e = DGA_E_OK;
    assert_true(dga_set_appraisal_mode_failure(&r->ap, line, sizeof line, &e));
    assert_int_equal(e, r->ap.topology.err);
    assert_false(r->ap.nvidia_default_pass);
    run_free(r);
}

/* A switch whose NSCQ status is -1 (UNKNOWN) with require_tnvl; none collected at all. */
static void test_ppcie_tnvl(void **state)
{
    (void)state;
    struct mode_run *r = board();
    r->opt.topology.require_tnvl = true;
    r->set.dev[BOARD_GPUS + 2].tnvl = -1;
    appraise(r, DGA_SET_MODE_PPCIE);
    assert_mode_failure(
        &r->ap, DGA_E_TOPOLOGY_SWITCH_LOCK,
        "topology: topology-switch-not-locked: SWITCH-2 NSCQ pcie_mode is -1, expected 3 (LOCKED)");
    assert_int_equal(r->ap.topology.n_findings, 1);

    for (size_t j = 0; j < BOARD_SWITCHES; j++) {
        r->set.dev[BOARD_GPUS + j].has_tnvl = false; /* as nvattest's files: never carried */
    }
    appraise(r, DGA_SET_MODE_PPCIE);
    assert_mode_failure(&r->ap, DGA_E_TOPOLOGY_SWITCH_LOCK,
                        "topology: topology-switch-not-locked: SWITCH-0 NSCQ pcie_mode was not "
                        "collected");
    assert_int_equal(r->ap.topology.n_findings, BOARD_SWITCHES);
    assert_findings_in_verdict(&r->ap);
    r->opt.topology.require_tnvl = false;
    appraise(r, DGA_SET_MODE_PPCIE);
    assert_true(r->ap.topology.pass);
    run_free(r);
}

/* Seven GPUs on a board of eight. */
static void test_ppcie_seven_gpus(void **state)
{
    (void)state;
    struct mode_run *r = board();
    struct dga_device_evidence gone = r->set.dev[BOARD_GPUS - 1];
    memmove(&r->set.dev[BOARD_GPUS - 1], &r->set.dev[BOARD_GPUS],
            BOARD_SWITCHES * sizeof r->set.dev[0]);
    r->set.n--;
    free(gone.report);
    free(gone.chain_pem);
    appraise(r, DGA_SET_MODE_PPCIE);
    assert_mode_failure(&r->ap, DGA_E_TOPOLOGY_GPU_COUNT,
                        "topology: topology-gpu-count: GPUs attested: 7, expected 8");
    assert_true(has_reason(&r->ap, "topology: topology-unknown-gpu: SWITCH-0 names GPU PDI "
                                   "0x7e570c1e00000007 that no attested GPU has"));
    assert_findings_in_verdict(&r->ap);
    /* findings refuse the set as a whole ("topology"), no device on its own */
    assert_int_equal(r->ap.mode_set_err, DGA_E_TOPOLOGY_GPU_COUNT);
    assert_string_equal(r->ap.mode_set_check, "topology");
    for (size_t i = 0; i < r->ap.n; i++) {
        assert_int_equal(r->ap.mode_device_err[i], DGA_E_OK);
    }
    run_free(r);
}

/* The board in ANY mode: no topology, no mode reason (today's behaviour). */
static void test_ppcie_board_any(void **state)
{
    (void)state;
    struct mode_run *r = board();
    appraise(r, DGA_SET_MODE_ANY);
    assert_false(r->ap.topology_checked);
    assert_no_mode_failure(&r->ap);
    assert_json_mode(r, "any");
    /* in CC mode the same board is refused on every GPU and every switch */
    appraise(r, DGA_SET_MODE_CC);
    assert_int_equal(mode_reasons(&r->ap), BOARD_GPUS + BOARD_SWITCHES);
    assert_mode_failure(&r->ap, DGA_E_MODE_PPCIE_EVIDENCE,
                        "GPU-0: mode: mode-ppcie-evidence: TLV 21 (protected PCIe status) is 0xAA");
    assert_true(has_reason(
        &r->ap, "SWITCH-3: mode: mode-switch-in-cc: an NVSwitch in a single-GPU CC set"));
    run_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_names),         cmocka_unit_test(test_cc_refuses_ppcie_gpu),
        cmocka_unit_test(test_cc_passes_cc_gpu),   cmocka_unit_test(test_cc_refuses_switch),
        cmocka_unit_test(test_ppcie_board_passes), cmocka_unit_test(test_ppcie_duplicate_switch),
        cmocka_unit_test(test_ppcie_tnvl),         cmocka_unit_test(test_ppcie_seven_gpus),
        cmocka_unit_test(test_ppcie_board_any),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
