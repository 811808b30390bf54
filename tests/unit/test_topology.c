/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PPCIe topology views and checker (docs/ppcie.md). Views: extracted
 * from the real H100 PPCIe and LS10 vectors, compared with NVIDIA's expected
 * parse and the values the reference states; bounded on corrupt fields.
 * Checker: a synthetic 8 GPU x 4 NVSwitch board passes; each broken variant
 * fails with its own error name and text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dga/policy.h"
#include "dga/topology.h"
#include "dga/util.h"
#include "dga/verify.h"
#include "evidence/testing.h"
#include "testutil.h"

#define NG 8
#define NS 4
#define PPCIE_GPU "gpu/h100_590.12_ppcie/evidence.json"
#define LS10_DIR "nvswitch/ls10_96.10.55.00.01/"
#define AT_2026 1780272000 /* 2026-06-01T00:00:00Z: inside every certificate's window */

static void pdi_from_hex(const char *h, uint8_t out[DGA_PDI_LEN])
{
    assert_int_equal(dga_hex_decode_exact(h, out, DGA_PDI_LEN), DGA_E_OK);
}

static void assert_pdi(const uint8_t *pdi, const char *want)
{
    char got[2 * DGA_PDI_LEN + 1];
    dga_hex_encode(pdi, DGA_PDI_LEN, got);
    assert_string_equal(got, want);
}

/* ------------------------------------------------------------ views of the real vectors */

/* Verifies one device of a set at report level (nonce, chain to NVIDIA's root). */
static void verify_one(const struct dga_device_evidence *ev, const char *nonce,
                       struct dga_device_result *res)
{
    struct dga_trust trust = {0};
    struct dga_verify_options opt = {0};
    assert_int_equal(dga_trust_nvidia_device(&trust), DGA_E_OK);
    assert_int_equal(dga_hex_decode_fixed(nonce, opt.nonce, DGA_NONCE_LEN), DGA_E_OK);
    opt.at = AT_2026;
    opt.trust = &trust;
    assert_int_equal(dga_verify_device(ev, &opt, res), DGA_E_OK);
    dga_trust_clear(&trust);
}

static void test_gpu_view_real(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)fixture_read(PPCIE_GPU, &len);
    static struct dga_evidence_set set;
    static struct dga_device_result res;
    assert_int_equal(dga_evidence_json_parse(text, len, &set, NULL), DGA_E_OK);
    verify_one(&set.dev[0], NONCE_N2, &res);
    static struct dga_topology_gpu g;
    assert_int_equal(dga_topology_gpu_view(&res.report, &res.chain, &g, NULL), DGA_E_OK);
    /* §4.3: PROTECTED_PCIE_STATUS 0xAA, FEATURE_FLAG 2; 18 NVLink entries of 8 bytes. */
    assert_int_equal(g.protected_pcie, 1);
    assert_true(g.has_feature_flag);
    assert_int_equal(g.feature_flag, 2);
    assert_true(g.has_switch_pdis);
    assert_int_equal(g.n_links, 18);
    /* §5.1: the reversed set S; link 0 is stored 77e911d843b7533a; 5+5+4+4 links. */
    assert_int_equal(g.n_switches, 4);
    assert_pdi(g.switches[0].pdi, "3a53b743d811e977");
    unsigned total = 0;
    const char *const s[] = {"03dba23b3c11bd8a", "3a53b743d811e977", "666e93e19dec7d2d",
                             "9ae3beba9e673275"};
    const unsigned links[] = {5, 5, 4, 4};
    for (size_t k = 0; k < 4; k++) {
        uint8_t want[DGA_PDI_LEN];
        pdi_from_hex(s[k], want);
        size_t i = 0;
        while (i < g.n_switches && memcmp(g.switches[i].pdi, want, DGA_PDI_LEN) != 0) {
            i++;
        }
        assert_true(i < g.n_switches);
        assert_int_equal(g.switches[i].links, links[k]);
        total += g.switches[i].links;
    }
    assert_int_equal(total, 18);
    /* §3.7/§5.1: the GPU's own PDI from its BROM certificate (serialNumber 412921CE551E4EEDA3). */
    assert_true(g.has_cert_pdi);
    assert_pdi(g.cert_pdi, "2921ce551e4eeda3");
    assert_true(res.chain_verified);
    dga_evidence_set_clear(&set);
    free(text);
}

static void test_switch_view_real(void **state)
{
    (void)state;
    static struct dga_evidence_set set;
    static struct dga_device_result res;
    fixture_evidence(LS10_DIR, DGA_ARCH_LS10, NULL, &set);
    verify_one(&set.dev[0], NONCE_N1, &res);
    assert_int_equal(res.err, DGA_E_OK);
    static struct dga_topology_switch s;
    assert_int_equal(dga_topology_switch_view(&res.report, &res.chain, &s, NULL), DGA_E_OK);
    /* NVIDIA's expected parse (expected_parse.json): DEVICE_PDI, GPU PDIs as stored. */
    assert_true(s.has_pdi);
    assert_pdi(s.pdi, "203eb31ad9ed0008");
    assert_true(s.has_gpu_pdis);
    const char *const gpus[] = {"40b9c6b3d748fd90", "e2d85b590e713298", "d0f69d028e150aaa",
                                "31649cf11c820858", "fdb529f1473cb225", "1043c14e83599663",
                                "6b811687a0a7ee7c", "6b811687a0a7ee7c"};
    for (size_t k = 0; k < DGA_TOPOLOGY_SWITCH_GPUS; k++) {
        assert_pdi(s.gpu_pdis[k], gpus[k]);
    }
    assert_int_equal(s.position, 2); /* "0x0200" */
    assert_int_equal(s.lock, 1);     /* "0x0100" */
    assert_false(s.has_tnvl);
    assert_int_equal(s.tnvl, -1);
    /* §3.7: serialNumber 50203EB31AD9ED0008 equals the switch's own PDI. */
    assert_true(s.has_cert_pdi);
    assert_pdi(s.cert_pdi, "203eb31ad9ed0008");
    dga_evidence_set_clear(&set);
}

/* The BROM pattern alone names a PDI: not the leaf, not a BROM read as the other device kind. */
static void test_cert_pdi_pattern(void **state)
{
    (void)state;
    size_t len;
    char *pem = (char *)fixture_read(LS10_DIR "certchain.pem", &len);
    STACK_OF(X509) *chain = NULL;
    assert_int_equal(dga_pem_chain_parse(pem, len, &chain, NULL), DGA_E_OK);
    uint8_t pdi[DGA_PDI_LEN];
    bool present = true;
    assert_int_equal(dga_cert_device_pdi(sk_X509_value(chain, 1), DGA_ARCH_LS10, &present, pdi),
                     DGA_E_OK);
    assert_true(present);
    assert_pdi(pdi, "203eb31ad9ed0008");
    memset(pdi, 0xEE, sizeof pdi);
    assert_int_equal(dga_cert_device_pdi(sk_X509_value(chain, 1), DGA_ARCH_HOPPER, &present, pdi),
                     DGA_E_OK);
    assert_false(present);
    assert_pdi(pdi, "eeeeeeeeeeeeeeee"); /* untouched */
    for (int i = 0; i < DGA_DEVICE_CHAIN_LEN; i++) {
        if (i != 1) {
            assert_int_equal(
                dga_cert_device_pdi(sk_X509_value(chain, i), DGA_ARCH_LS10, &present, pdi),
                DGA_E_OK);
            assert_false(present);
        }
    }
    assert_int_equal(dga_cert_device_pdi(NULL, DGA_ARCH_LS10, &present, pdi), DGA_E_BAD_ARGUMENT);
    sk_X509_pop_free(chain, X509_free);
    free(pem);
}

/* A report whose opaque data alone is given: what the views read. */
static dga_err opaque_report(enum dga_arch arch, const uint8_t *opaque, size_t len,
                             struct dga_report *r, struct dga_diag *diag)
{
    memset(r, 0, sizeof *r);
    r->arch = arch;
    return dga_opaque_parse(opaque, len, 0, arch, &r->opaque, diag);
}

static void test_view_bounds(void **state)
{
    (void)state;
    static struct dga_report r;
    static struct dga_topology_gpu g;
    static struct dga_topology_switch s;
    struct dga_diag diag = {0};
    /* GPU TLV 22 empty: NVIDIA's layout needs at least one 8-byte entry. */
    const uint8_t empty22[] = {22, 0, 0, 0};
    assert_int_equal(opaque_report(DGA_ARCH_HOPPER, empty22, sizeof empty22, &r, NULL), DGA_E_OK);
    assert_int_equal(dga_topology_gpu_view(&r, NULL, &g, &diag), DGA_E_TLV_SIZE);
    assert_string_equal(diag.field, "OPAQUE_FIELD_ID_SWITCH_PDI");
    assert_int_equal(diag.offset, 2);
    /* More entries than DGA_TOPOLOGY_MAX_LINKS. */
    static uint8_t big[4 + 8 * (DGA_TOPOLOGY_MAX_LINKS + 1)];
    big[0] = 22;
    big[2] = (uint8_t)((sizeof big - 4) & 0xFF);
    big[3] = (uint8_t)((sizeof big - 4) >> 8);
    assert_int_equal(opaque_report(DGA_ARCH_HOPPER, big, sizeof big, &r, NULL), DGA_E_OK);
    assert_int_equal(dga_topology_gpu_view(&r, NULL, &g, &diag), DGA_E_TLV_SIZE);
    /* Switch position and lock: exactly 2 bytes. */
    const uint8_t pos3[] = {24, 0, 3, 0, 1, 0, 0};
    assert_int_equal(opaque_report(DGA_ARCH_LS10, pos3, sizeof pos3, &r, NULL), DGA_E_OK);
    assert_int_equal(dga_topology_switch_view(&r, NULL, &s, &diag), DGA_E_TLV_SIZE);
    assert_string_equal(diag.field, "OPAQUE_FIELD_ID_SWITCH_POSITION_ID");
    const uint8_t lock1[] = {25, 0, 1, 0, 1};
    assert_int_equal(opaque_report(DGA_ARCH_LS10, lock1, sizeof lock1, &r, NULL), DGA_E_OK);
    assert_int_equal(dga_topology_switch_view(&r, NULL, &s, &diag), DGA_E_TLV_SIZE);
    assert_string_equal(diag.field, "OPAQUE_FIELD_ID_SWITCH_LOCK_STATUS");
    /* Switch TLV 26 shorter than 8 GPU PDIs, TLV 22 not 8 bytes: the opaque parser refuses. */
    static uint8_t short26[4 + 63] = {26, 0, 63, 0};
    assert_int_equal(opaque_report(DGA_ARCH_LS10, short26, sizeof short26, &r, &diag),
                     DGA_E_TLV_SIZE);
    assert_string_equal(diag.field, "OPAQUE_FIELD_ID_SWITCH_GPU_PDIS");
    const uint8_t pdi7[] = {22, 0, 7, 0, 1, 2, 3, 4, 5, 6, 7};
    assert_int_equal(opaque_report(DGA_ARCH_LS10, pdi7, sizeof pdi7, &r, &diag), DGA_E_TLV_SIZE);
    /* A view of the other kind of device. */
    assert_int_equal(opaque_report(DGA_ARCH_LS10, lock1 + 5, 0, &r, NULL), DGA_E_OK);
    assert_int_equal(dga_topology_gpu_view(&r, NULL, &g, &diag), DGA_E_BAD_ARCH);
    r.arch = DGA_ARCH_HOPPER;
    assert_int_equal(dga_topology_switch_view(&r, NULL, &s, &diag), DGA_E_BAD_ARCH);
    /* Absent fields: no links, no PDI, position and lock -1. */
    assert_int_equal(dga_topology_gpu_view(&r, NULL, &g, NULL), DGA_E_OK);
    assert_false(g.has_switch_pdis);
    assert_int_equal(g.protected_pcie, -1);
    r.arch = DGA_ARCH_LS10;
    assert_int_equal(dga_topology_switch_view(&r, NULL, &s, NULL), DGA_E_OK);
    assert_false(s.has_pdi);
    assert_int_equal(s.position, -1);
    assert_int_equal(s.lock, -1);
}

/* All-zero entries are unused links; repeats count as links to one switch. */
static void test_gpu_view_zero_links(void **state)
{
    (void)state;
    static struct dga_report r;
    static struct dga_topology_gpu g;
    uint8_t o[4 + 4 * 8] = {22, 0, 32, 0};
    const uint8_t a[8] = {0x40, 0xb9, 0xc6, 0xb3, 0xd7, 0x48, 0xfd, 0x90};
    memcpy(o + 4, a, 8);
    memcpy(o + 4 + 16, a, 8); /* entries 1 and 3 stay zero */
    assert_int_equal(opaque_report(DGA_ARCH_HOPPER, o, sizeof o, &r, NULL), DGA_E_OK);
    assert_int_equal(dga_topology_gpu_view(&r, NULL, &g, NULL), DGA_E_OK);
    assert_int_equal(g.n_links, 4);
    assert_int_equal(g.n_switches, 1);
    assert_int_equal(g.switches[0].links, 2);
    /* nvtrust's test pattern: stored 40 b9 c6 b3 d7 48 fd 90 is switch 90fd48d7b3c6b940. */
    assert_pdi(g.switches[0].pdi, "90fd48d7b3c6b940");
}

/* ------------------------------------------------------------ the checker */

struct board {
    struct dga_topology_gpu g[NG + 1];
    struct dga_topology_switch s[NS + 1];
    struct dga_topology_options opt;
    struct dga_topology_result res;
};

static void gpu_pdi(size_t i, uint8_t out[DGA_PDI_LEN])
{
    const uint8_t p[DGA_PDI_LEN] = {0x29, 0x21, 0xce, 0x55, 0x1e, 0x4e, 0xed, (uint8_t)(0xa0 + i)};
    memcpy(out, p, DGA_PDI_LEN);
}

static void switch_pdi(size_t j, uint8_t out[DGA_PDI_LEN])
{
    const uint8_t p[DGA_PDI_LEN] = {0x66, 0x6e, 0x93, 0xe1, 0x9d, 0xec, 0x7d, (uint8_t)(0x20 + j)};
    memcpy(out, p, DGA_PDI_LEN);
}

static void make_gpu(struct board *b, size_t i)
{
    struct dga_topology_gpu *g = &b->g[i];
    memset(g, 0, sizeof *g);
    snprintf(g->label, sizeof g->label, "GPU-%zu", i);
    memcpy(g->nonce, b->opt.nonce, DGA_NONCE_LEN);
    g->protected_pcie = 1;
    g->has_feature_flag = true;
    g->feature_flag = 2;
    g->has_switch_pdis = true;
    g->n_links = 18;
    g->n_switches = NS;
    for (size_t j = 0; j < NS; j++) {
        switch_pdi(j, g->switches[j].pdi);
        g->switches[j].links = j < 2 ? 5 : 4;
    }
    g->has_cert_pdi = true;
    gpu_pdi(i, g->cert_pdi);
}

static void make_switch(struct board *b, size_t j)
{
    struct dga_topology_switch *s = &b->s[j];
    memset(s, 0, sizeof *s);
    snprintf(s->label, sizeof s->label, "SWITCH-%zu", j);
    memcpy(s->nonce, b->opt.nonce, DGA_NONCE_LEN);
    s->has_pdi = true;
    switch_pdi(j, s->pdi);
    s->has_gpu_pdis = true;
    for (size_t k = 0; k < NG; k++) {
        gpu_pdi((k + j) % NG, s->gpu_pdis[k]); /* each switch lists them in its own order */
    }
    s->position = (int)(NS - 1 - j);
    s->lock = DGA_TOPOLOGY_SWITCH_LOCKED;
    s->tnvl = -1;
    s->has_cert_pdi = true;
    switch_pdi(j, s->cert_pdi);
}

static struct board *board(void)
{
    struct board *b = calloc(1, sizeof *b);
    assert_non_null(b);
    memset(b->opt.nonce, 0x5a, DGA_NONCE_LEN);
    b->opt.gpus = NG;
    b->opt.switches = NS;
    b->opt.gpu_pdi_in_cert = true;
    for (size_t i = 0; i < NG; i++) {
        make_gpu(b, i);
    }
    for (size_t j = 0; j < NS; j++) {
        make_switch(b, j);
    }
    return b;
}

static void run(struct board *b, size_t ng, size_t ns)
{
    assert_int_equal(dga_topology_check(b->g, ng, b->s, ns, &b->opt, &b->res), DGA_E_OK);
}

/* The first finding is `err` with exactly `text`. */
static void expect_first(struct board *b, dga_err err, const char *text)
{
    run(b, NG, NS);
    assert_false(b->res.pass);
    assert_true(b->res.n_findings > 0);
    assert_string_equal(dga_err_name(b->res.err), dga_err_name(err));
    assert_string_equal(dga_err_name(b->res.findings[0].err), dga_err_name(err));
    assert_string_equal(b->res.findings[0].text, text);
    free(b);
}

static void test_check_pass(void **state)
{
    (void)state;
    struct board *b = board();
    run(b, NG, NS);
    assert_true(b->res.pass);
    assert_int_equal(b->res.err, DGA_E_OK);
    assert_int_equal(b->res.n_findings, 0);
    /* The JSON resolves links both ways. */
    json_t *j = dga_topology_json(b->g, NG, b->s, NS, &b->opt, &b->res);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "result")), "pass");
    json_t *link = json_array_get(
        json_object_get(json_array_get(json_object_get(j, "gpus"), 3), "switches"), 2);
    assert_string_equal(json_string_value(json_object_get(link, "switch")), "SWITCH-2");
    assert_string_equal(json_string_value(json_object_get(link, "pdi")), "666e93e19dec7d22");
    assert_int_equal(json_integer_value(json_object_get(link, "links")), 4);
    json_t *named = json_array_get(
        json_object_get(json_array_get(json_object_get(j, "switches"), 1), "gpus"), 0);
    assert_string_equal(json_string_value(json_object_get(named, "gpu")), "GPU-1");
    json_decref(j);
    free(b);
}

/* NVIDIA's check takes 4 copies of one switch; the distinct-PDI rule does not. */
static void test_check_switch_copies(void **state)
{
    (void)state;
    struct board *b = board();
    for (size_t j = 1; j < NS; j++) {
        b->s[j] = b->s[0];
        snprintf(b->s[j].label, sizeof b->s[j].label, "SWITCH-%zu", j);
    }
    expect_first(b, DGA_E_TOPOLOGY_SWITCH_DUPLICATE,
                 "SWITCH-1 has PDI 0x666e93e19dec7d20, as SWITCH-0 does");
}

static void test_check_unknown_gpu(void **state)
{
    (void)state;
    struct board *b = board();
    for (size_t j = 0; j < NS; j++) {
        for (size_t k = 0; k < NG; k++) {
            uint8_t p[DGA_PDI_LEN];
            gpu_pdi(5, p);
            if (memcmp(b->s[j].gpu_pdis[k], p, DGA_PDI_LEN) == 0) {
                b->s[j].gpu_pdis[k][0] = 0x77; /* every switch names one GPU that is not ours */
            }
        }
    }
    run(b, NG, NS);
    assert_string_equal(dga_err_name(b->res.err), "topology-unknown-gpu");
    assert_int_equal(b->res.n_findings, 2);
    assert_string_equal(b->res.findings[0].text,
                        "SWITCH-0 names GPU PDI 0x7721ce551e4eeda5 that no attested GPU has");
    assert_string_equal(dga_err_name(b->res.findings[1].err), "topology-gpu-unlisted");
    assert_string_equal(
        b->res.findings[1].text,
        "GPU-5 (PDI 0x2921ce551e4eeda5 in its certificate) is named by no NVSwitch");
    /* NVIDIA's check alone (the certificate-PDI rule off) passes the same board. */
    b->opt.gpu_pdi_in_cert = false;
    run(b, NG, NS);
    assert_true(b->res.pass);
    free(b);
}

static void test_check_gpu_three_switches(void **state)
{
    (void)state;
    struct board *b = board();
    b->g[6].n_switches = 3; /* its links to the 4th switch read as all-zero */
    expect_first(b, DGA_E_TOPOLOGY_GPU_SWITCH_COUNT,
                 "GPU-6 links to 3 distinct NVSwitches, expected 4");
}

static void test_check_gpu_other_switch(void **state)
{
    (void)state;
    struct board *b = board();
    b->g[2].switches[1].pdi[0] = 0x11;
    expect_first(b, DGA_E_TOPOLOGY_GPU_SWITCH_SET,
                 "GPU-2 links to NVSwitch PDI 0x116e93e19dec7d21, GPU-0 does not");
}

static void test_check_not_locked(void **state)
{
    (void)state;
    const int locks[] = {0, 2, 3, -1};
    const char *const texts[] = {
        "SWITCH-2 signed lock status (TLV 25) is 0, expected 1",
        "SWITCH-2 signed lock status (TLV 25) is 2, expected 1",
        "SWITCH-2 signed lock status (TLV 25) is 3, expected 1",
        "SWITCH-2 signed lock status (TLV 25) is absent, expected 1",
    };
    for (size_t k = 0; k < 4; k++) {
        struct board *b = board();
        b->s[2].lock = locks[k];
        expect_first(b, DGA_E_TOPOLOGY_SWITCH_LOCK, texts[k]);
    }
    /* The NSCQ pcie_mode: only 3 (LOCKED); -1 (UNKNOWN) passes a bit test, not this one. */
    for (int v = -1; v <= 3; v++) {
        struct board *b = board();
        b->s[1].has_tnvl = true;
        b->s[1].tnvl = v;
        if (v == DGA_TOPOLOGY_TNVL_LOCKED) {
            run(b, NG, NS);
            assert_true(b->res.pass);
            free(b);
            continue;
        }
        char want[96];
        snprintf(want, sizeof want, "SWITCH-1 NSCQ pcie_mode is %d, expected 3 (LOCKED)", v);
        expect_first(b, DGA_E_TOPOLOGY_SWITCH_LOCK, want);
    }
    struct board *b = board();
    b->opt.require_tnvl = true;
    expect_first(b, DGA_E_TOPOLOGY_SWITCH_LOCK, "SWITCH-0 NSCQ pcie_mode was not collected");
}

static void test_check_mixed_mode(void **state)
{
    (void)state;
    struct board *b = board();
    b->g[3].protected_pcie = 0;
    b->g[3].feature_flag = 0;
    expect_first(b, DGA_E_TOPOLOGY_MIXED_MODE,
                 "GPU-3 is CC-only (protected PCIe status 0x55, feature flag 0, switch PDIs "
                 "present) among 7 PPCIe GPUs");
    /* PPCIe status with a CC feature flag: the signals disagree. */
    b = board();
    b->g[4].feature_flag = 1;
    expect_first(b, DGA_E_TOPOLOGY_GPU_MODE,
                 "GPU-4 mode signals disagree (protected PCIe status 0xAA, feature flag 1, switch "
                 "PDIs present)");
    /* PPCIe signals without switch PDIs. */
    b = board();
    b->g[0].has_switch_pdis = false;
    b->g[0].n_switches = 0;
    expect_first(b, DGA_E_TOPOLOGY_GPU_MODE,
                 "GPU-0 mode signals disagree (protected PCIe status 0xAA, feature flag 2, no "
                 "switch PDIs)");
    /* No GPU in PPCIe mode at all. */
    b = board();
    for (size_t i = 0; i < NG; i++) {
        b->g[i].protected_pcie = -1;
        b->g[i].has_feature_flag = false;
    }
    expect_first(b, DGA_E_TOPOLOGY_GPU_MODE,
                 "GPU-0 is not in PPCIe mode (protected PCIe status absent, feature flag absent, "
                 "switch PDIs present)");
}

static void test_check_nonce(void **state)
{
    (void)state;
    struct board *b = board();
    memset(b->s[3].nonce, 0x11, DGA_NONCE_LEN);
    expect_first(b, DGA_E_TOPOLOGY_NONCE,
                 "SWITCH-3 reports nonce "
                 "1111111111111111111111111111111111111111111111111111111111111111, the set's "
                 "nonce is 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
}

static void test_check_counts(void **state)
{
    (void)state;
    struct board *b = board();
    run(b, NG - 1, NS);
    assert_string_equal(dga_err_name(b->res.err), "topology-gpu-count");
    assert_string_equal(b->res.findings[0].text, "GPUs attested: 7, expected 8");
    /* The switches name GPU-7, which is not in the set. */
    assert_string_equal(dga_err_name(b->res.findings[1].err), "topology-unknown-gpu");
    run(b, NG, NS - 1);
    assert_string_equal(dga_err_name(b->res.err), "topology-switch-count");
    assert_string_equal(b->res.findings[0].text, "NVSwitches attested: 3, expected 4");
    free(b);
}

static void test_check_invalid_gpu_pdi(void **state)
{
    (void)state;
    const uint8_t fill[] = {0x00, 0xFF};
    const char *const texts[] = {"SWITCH-0 names GPU PDI 0x0000000000000000 (entry 0)",
                                 "SWITCH-0 names GPU PDI 0xffffffffffffffff (entry 0)"};
    for (size_t f = 0; f < 2; f++) {
        struct board *b = board();
        for (size_t j = 0; j < NS; j++) {
            memset(b->s[j].gpu_pdis[(NG - j) % NG], fill[f], DGA_PDI_LEN); /* GPU-0 everywhere */
        }
        expect_first(b, DGA_E_TOPOLOGY_GPU_PDI_INVALID, texts[f]);
    }
    struct board *b = board();
    memset(b->g[7].cert_pdi, 0xFF, DGA_PDI_LEN);
    expect_first(b, DGA_E_TOPOLOGY_GPU_PDI_INVALID,
                 "GPU-7 certificate names PDI 0xffffffffffffffff");
}

static void test_check_switch_rules(void **state)
{
    (void)state;
    struct board *b = board();
    b->s[1].pdi[0] = 0x20;
    expect_first(b, DGA_E_TOPOLOGY_SWITCH_UNKNOWN,
                 "SWITCH-1 has PDI 0x206e93e19dec7d21, which is not an NVSwitch GPU-0 links to");
    b = board();
    b->s[2].gpu_pdis[3][7] = 0x01;
    expect_first(b, DGA_E_TOPOLOGY_SWITCH_GPU_SET,
                 "SWITCH-2 names GPU PDI 0x2921ce551e4eed01, SWITCH-0 does not");
    b = board();
    memcpy(b->s[1].gpu_pdis[7], b->s[1].gpu_pdis[6], DGA_PDI_LEN);
    expect_first(b, DGA_E_TOPOLOGY_SWITCH_GPU_COUNT, "SWITCH-1 names 7 distinct GPUs, expected 8");
    b = board();
    b->s[3].position = b->s[0].position;
    expect_first(b, DGA_E_TOPOLOGY_SWITCH_POSITION, "SWITCH-3 has position 3, as SWITCH-0 does");
    b = board();
    b->s[3].position = 4;
    expect_first(b, DGA_E_TOPOLOGY_SWITCH_POSITION,
                 "SWITCH-3 position (TLV 24) is 4, expected 0..3");
    b = board();
    b->g[1].has_cert_pdi = false;
    expect_first(b, DGA_E_TOPOLOGY_GPU_CERT_PDI, "GPU-1 certificate names no PDI");
    b = board();
    b->g[1].has_cert_pdi = false;
    b->opt.gpu_pdi_in_cert = false;
    run(b, NG, NS);
    assert_true(b->res.pass);
    free(b);
}

static void test_check_bounds(void **state)
{
    (void)state;
    struct board *b = board();
    assert_int_equal(dga_topology_check(NULL, 1, b->s, NS, &b->opt, &b->res), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_topology_check(b->g, DGA_MAX_DEVICES + 1, b->s, NS, &b->opt, &b->res),
                     DGA_E_BAD_ARGUMENT);
    /* Findings are bounded: 8 GPUs x 4 switches all on another nonce is more than fits. */
    b->opt.nonce[0] ^= 1;
    b->opt.gpus = 60;
    memset(b->s, 0, sizeof b->s);
    assert_int_equal(dga_topology_check(b->g, NG, b->s, NS, &b->opt, &b->res), DGA_E_OK);
    assert_false(b->res.pass);
    assert_true(b->res.n_findings <= DGA_TOPOLOGY_MAX_FINDINGS);
    free(b);
}

/* ------------------------------------------------------------ policy keys */

static void test_policy_ppcie(void **state)
{
    (void)state;
    struct dga_policy_ppcie pp;
    dga_policy_ppcie(NULL, &pp);
    assert_int_equal(pp.gpus, 8);
    assert_int_equal(pp.switches, 4);
    assert_true(pp.gpu_pdi_in_cert);
    struct dga_policy *p = NULL;
    const char *doc = "{\"ppcie\": {\"gpus\": 1, \"switches\": 1, \"gpu_pdi_in_cert\": false}}";
    assert_int_equal(dga_policy_parse(doc, strlen(doc), &p, NULL), DGA_E_OK);
    dga_policy_ppcie(p, &pp);
    assert_int_equal(pp.gpus, 1);
    assert_int_equal(pp.switches, 1);
    assert_false(pp.gpu_pdi_in_cert);
    dga_policy_free(p);
    const char *const bad[] = {"{\"ppcie\": {\"gpus\": 0}}", "{\"ppcie\": {\"switches\": 65}}",
                               "{\"ppcie\": {\"gpu_pdi_in_cert\": 1}}", "{\"ppcie\": {\"x\": 1}}",
                               "{\"ppcie\": 8}"};
    const char *const fields[] = {"ppcie.gpus", "ppcie.switches", "ppcie.gpu_pdi_in_cert", "ppcie",
                                  "ppcie"};
    for (size_t i = 0; i < 5; i++) {
        struct dga_diag diag = {0};
        p = NULL;
        assert_int_equal(dga_policy_parse(bad[i], strlen(bad[i]), &p, &diag), DGA_E_POLICY);
        assert_string_equal(diag.field, fields[i]);
        assert_null(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpu_view_real),
        cmocka_unit_test(test_switch_view_real),
        cmocka_unit_test(test_cert_pdi_pattern),
        cmocka_unit_test(test_view_bounds),
        cmocka_unit_test(test_gpu_view_zero_links),
        cmocka_unit_test(test_check_pass),
        cmocka_unit_test(test_check_switch_copies),
        cmocka_unit_test(test_check_unknown_gpu),
        cmocka_unit_test(test_check_gpu_three_switches),
        cmocka_unit_test(test_check_gpu_other_switch),
        cmocka_unit_test(test_check_not_locked),
        cmocka_unit_test(test_check_mixed_mode),
        cmocka_unit_test(test_check_nonce),
        cmocka_unit_test(test_check_counts),
        cmocka_unit_test(test_check_invalid_gpu_pdi),
        cmocka_unit_test(test_check_switch_rules),
        cmocka_unit_test(test_check_bounds),
        cmocka_unit_test(test_policy_ppcie),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
