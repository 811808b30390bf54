/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The report-level pipeline on every GPU and NVSwitch fixture, with the
 * outcome tests/fixtures/PROVENANCE.md states, and claims against NVIDIA's
 * remote verifier (NRAS) on the same evidence.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dga/util.h"
#include "dga/verify.h"

#define AT_2024 "2024-06-01T00:00:00Z"

struct run {
    struct dga_evidence_set set;
    struct dga_trust trust;
    struct dga_verify_options opt;
    struct dga_device_result res[4];
};

static struct run *run_new(const char *nonce_hex, const char *at)
{
    struct run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(dga_trust_nvidia_device(&r->trust), DGA_E_OK);
    r->opt.trust = &r->trust;
    assert_int_equal(dga_hex_decode_fixed(nonce_hex, r->opt.nonce, DGA_NONCE_LEN), DGA_E_OK);
    assert_int_equal(dga_time_parse(at, &r->opt.at), DGA_E_OK);
    return r;
}

static void run_free(struct run *r)
{
    dga_evidence_set_clear(&r->set);
    dga_trust_clear(&r->trust);
    free(r);
}

static void load_raw(struct run *r, const char *dir, const char *chain, enum dga_arch arch)
{
    char rel[256];
    size_t hex_len, pem_len;
    snprintf(rel, sizeof rel, "%s/report.hex", dir);
    uint8_t *hex = fixture_read(rel, &hex_len);
    snprintf(rel, sizeof rel, "%s", chain);
    char *pem = (char *)fixture_read(rel, &pem_len);
    assert_int_equal(dga_evidence_raw(hex, hex_len, pem, pem_len, arch, &r->set), DGA_E_OK);
    free(hex);
    free(pem);
}

static dga_err verify_raw(const char *dir, enum dga_arch arch, const char *nonce, const char *at,
                          struct run **ret)
{
    struct run *r = run_new(nonce, at);
    char chain[256];
    snprintf(chain, sizeof chain, "%s/certchain.pem", dir);
    load_raw(r, dir, chain, arch);
    dga_err e = dga_verify_device(&r->set.dev[0], &r->opt, &r->res[0]);
    dga_label_devices(r->res, 1);
    *ret = r;
    return e;
}

static void expect_pass(const char *dir, enum dga_arch arch, const char *nonce, const char *at)
{
    struct run *r;
    dga_err e = verify_raw(dir, arch, nonce, at, &r);
    if (e != DGA_E_OK) {
        fail_msg("%s at %s: %s: %s (%s)", dir, at, dga_check_name(r->res[0].failed_check),
                 dga_err_name(e), r->res[0].diag.field);
    }
    const struct dga_device_result *d = &r->res[0];
    assert_true(d->parsed && d->chain_verified && d->signature_verified && d->nonce_match &&
                d->fwid_match && d->time_valid);
    assert_string_equal(d->chain.expiration_date, "9999-12-31T23:59:59Z");
    run_free(r);
}

static void test_all_fixtures_pass(void **state)
{
    (void)state;
    const char *times[] = {AT_2024, "2026-11-28T00:00:00Z"};
    for (size_t t = 0; t < 2; t++) {
        expect_pass("gpu/h100_580.159.03", DGA_ARCH_HOPPER, NONCE_580, times[t]);
        expect_pass("gpu/h100_535.86.09", DGA_ARCH_HOPPER, NONCE_535, times[t]);
        expect_pass("gpu/h100_545.00", DGA_ARCH_HOPPER, NONCE_N3, times[t]);
        expect_pass("gpu/h100_550.90.07", DGA_ARCH_HOPPER, NONCE_N1, times[t]);
        expect_pass("nvswitch/ls10_96.10.55.00.01", DGA_ARCH_LS10, NONCE_N1, times[t]);
    }
}

static void test_ppcie_evidence_json(void **state)
{
    (void)state;
    struct run *r = run_new(NONCE_N2, AT_2024);
    size_t len;
    char *text = (char *)fixture_read("gpu/h100_590.12_ppcie/evidence.json", &len);
    assert_int_equal(dga_evidence_json_parse(text, len, &r->set, NULL), DGA_E_OK);
    free(text);
    assert_int_equal(dga_verify_device(&r->set.dev[0], &r->opt, &r->res[0]), DGA_E_OK);
    dga_label_devices(r->res, 1);
    assert_string_equal(r->res[0].label, "GPU-0");
    json_t *c = dga_claims_report_level(&r->res[0]);
    json_t *pdis = json_object_get(c, "x-nvidia-gpu-switch-pdis");
    assert_true(json_is_array(pdis));
    assert_true(json_array_size(pdis) > 0);
    assert_true(
        json_is_true(json_object_get(c, "x-nvidia-gpu-attestation-report-cert-chain-fwid-match")));
    json_decref(c);
    run_free(r);
}

static void test_wrong_nonce(void **state)
{
    (void)state;
    struct run *r;
    const char *zero = "0000000000000000000000000000000000000000000000000000000000000000";
    assert_int_equal(verify_raw("gpu/h100_535.86.09", DGA_ARCH_HOPPER, zero, AT_2024, &r),
                     DGA_E_NONCE_MISMATCH);
    assert_int_equal(r->res[0].failed_check, DGA_CHECK_NONCE);
    /* Everything else still ran and passed, and the claims say so. */
    assert_true(r->res[0].signature_verified && r->res[0].chain_verified);
    json_t *c = dga_claims_report_level(&r->res[0]);
    assert_true(json_is_false(json_object_get(c, "x-nvidia-gpu-attestation-report-nonce-match")));
    assert_true(
        json_is_true(json_object_get(c, "x-nvidia-gpu-attestation-report-signature-verified")));
    json_decref(c);
    run_free(r);
}

/* The container's nonce must agree with the caller's too. */
static void test_container_nonce_disagrees(void **state)
{
    (void)state;
    struct run *r;
    verify_raw("gpu/h100_580.159.03", DGA_ARCH_HOPPER, NONCE_580, AT_2024, &r);
    r->set.dev[0].has_nonce = true;
    memset(r->set.dev[0].nonce, 0x11, DGA_NONCE_LEN);
    assert_int_equal(dga_verify_device(&r->set.dev[0], &r->opt, &r->res[0]), DGA_E_NONCE_MISMATCH);
    run_free(r);
}

static void test_missing_brom_chain(void **state)
{
    (void)state;
    struct run *r = run_new(NONCE_N3, AT_2024);
    load_raw(r, "gpu/h100_545.00", "gpu/invalid_certchain_missing_brom.pem", DGA_ARCH_HOPPER);
    assert_int_equal(dga_verify_device(&r->set.dev[0], &r->opt, &r->res[0]), DGA_E_CHAIN_LENGTH);
    assert_int_equal(r->res[0].failed_check, DGA_CHECK_CHAIN);
    assert_false(r->res[0].signature_verified);
    run_free(r);
}

/* A report verified with another device's chain: the signature cannot verify. */
static void test_foreign_chain(void **state)
{
    (void)state;
    struct run *r = run_new(NONCE_580, AT_2024);
    load_raw(r, "gpu/h100_580.159.03", "gpu/h100_550.90.07/certchain.pem", DGA_ARCH_HOPPER);
    assert_int_equal(dga_verify_device(&r->set.dev[0], &r->opt, &r->res[0]),
                     DGA_E_SIGNATURE_INVALID);
    assert_true(r->res[0].chain_verified);
    run_free(r);
}

static void test_wrong_arch(void **state)
{
    (void)state;
    struct run *r;
    assert_int_equal(verify_raw("gpu/h100_580.159.03", DGA_ARCH_BLACKWELL, NONCE_580, AT_2024, &r),
                     DGA_E_ARCH_MISMATCH);
    assert_int_equal(r->res[0].failed_check, DGA_CHECK_CHAIN);
    run_free(r);
}

/* A custom root is recorded; NVIDIA's chains do not verify under an unrelated root. */
static void test_custom_root(void **state)
{
    (void)state;
    struct run *r = run_new(NONCE_580, AT_2024);
    dga_trust_clear(&r->trust);
    size_t len;
    char *pem = (char *)fixture_read("roots/nvidia_corim_signing_root_ca.pem", &len);
    assert_int_equal(dga_trust_from_pem(pem, len, &r->trust), DGA_E_OK);
    free(pem);
    assert_true(r->trust.custom);
    load_raw(r, "gpu/h100_580.159.03", "gpu/h100_580.159.03/certchain.pem", DGA_ARCH_HOPPER);
    assert_int_equal(dga_verify_device(&r->set.dev[0], &r->opt, &r->res[0]), DGA_E_CHAIN_ROOT);
    assert_true(r->res[0].custom_root);
    run_free(r);
}

/*
 * Every report-level claim we emit for h100_550.90.07 that NRAS also emits
 * has NRAS's value. The cert-chain object is compared on its non-OCSP keys:
 * revocation is not checked at this level and says "not-checked".
 */
static void test_claims_equal_nras(void **state)
{
    (void)state;
    struct run *r;
    assert_int_equal(verify_raw("gpu/h100_550.90.07", DGA_ARCH_HOPPER, NONCE_N1, AT_2024, &r),
                     DGA_E_OK);
    json_t *ours = dga_claims_report_level(&r->res[0]);
    json_error_t err;
    json_t *file = json_load_file(fixture_path("gpu/h100_550.90.07/nras_claims_v3.json"), 0, &err);
    json_t *nras = json_object_get(file, "GPU-0");
    assert_non_null(nras);
    static const char *const must_compare[] = {
        "eat_nonce",
        "hwmodel",
        "ueid",
        "x-nvidia-gpu-arch-check",
        "x-nvidia-gpu-driver-version",
        "x-nvidia-gpu-vbios-version",
        "x-nvidia-gpu-attestation-report-parsed",
        "x-nvidia-gpu-attestation-report-nonce-match",
        "x-nvidia-gpu-attestation-report-signature-verified",
        "x-nvidia-gpu-attestation-report-cert-chain-fwid-match",
        "x-nvidia-gpu-attestation-report-cert-chain",
        NULL,
    };
    for (size_t i = 0; must_compare[i] != NULL; i++) {
        assert_non_null(json_object_get(ours, must_compare[i]));
        assert_non_null(json_object_get(nras, must_compare[i]));
    }
    const char *key;
    json_t *value;
    size_t compared = 0;
    json_object_foreach(ours, key, value)
    {
        json_t *theirs = json_object_get(nras, key);
        if (theirs == NULL) {
            continue;
        }
        compared++;
        if (strcmp(key, "x-nvidia-gpu-attestation-report-cert-chain") == 0) {
            assert_true(json_equal(json_object_get(value, "x-nvidia-cert-expiration-date"),
                                   json_object_get(theirs, "x-nvidia-cert-expiration-date")));
            assert_true(json_equal(json_object_get(value, "x-nvidia-cert-status"),
                                   json_object_get(theirs, "x-nvidia-cert-status")));
            assert_string_equal(
                json_string_value(json_object_get(value, "x-nvidia-cert-ocsp-status")),
                "not-checked");
        } else if (!json_equal(value, theirs)) {
            fail_msg("claim %s differs from NRAS", key);
        }
    }
    assert_true(compared >= 11);
    json_decref(file);
    json_decref(ours);
    run_free(r);
}

static void test_switch_claims(void **state)
{
    (void)state;
    struct run *r;
    assert_int_equal(
        verify_raw("nvswitch/ls10_96.10.55.00.01", DGA_ARCH_LS10, NONCE_N1, AT_2024, &r), DGA_E_OK);
    json_t *c = dga_claims_report_level(&r->res[0]);
    assert_string_equal(json_string_value(json_object_get(c, "x-nvidia-device-type")), "nvswitch");
    assert_string_equal(json_string_value(json_object_get(c, "x-nvidia-version")), "3.0");
    assert_string_equal(json_string_value(json_object_get(c, "hwmodel")), "LS_10 A01 FSP BROM");
    assert_string_equal(json_string_value(json_object_get(c, "x-nvidia-switch-bios-version")),
                        "96.10.55.00.01");
    assert_string_equal(json_string_value(json_object_get(c, "x-nvidia-switch-pdi")),
                        "203EB31AD9ED0008");
    assert_int_equal(json_array_size(json_object_get(c, "x-nvidia-switch-gpu-pdis")), 7);
    assert_true(
        json_is_true(json_object_get(c, "x-nvidia-switch-attestation-report-signature-verified")));
    assert_null(json_object_get(c, "x-nvidia-gpu-driver-version"));
    json_decref(c);
    run_free(r);
}

/* Labels count GPUs and switches separately, in evidence order. */
static void test_labels(void **state)
{
    (void)state;
    struct dga_device_result *res = calloc(4, sizeof *res);
    res[0].arch = DGA_ARCH_HOPPER;
    res[1].arch = DGA_ARCH_LS10;
    res[2].arch = DGA_ARCH_BLACKWELL;
    res[3].arch = DGA_ARCH_LS10;
    dga_label_devices(res, 4);
    assert_string_equal(res[0].label, "GPU-0");
    assert_string_equal(res[1].label, "SWITCH-0");
    assert_string_equal(res[2].label, "GPU-1");
    assert_string_equal(res[3].label, "SWITCH-1");
    free(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_fixtures_pass),
        cmocka_unit_test(test_ppcie_evidence_json),
        cmocka_unit_test(test_wrong_nonce),
        cmocka_unit_test(test_container_nonce_disagrees),
        cmocka_unit_test(test_missing_brom_chain),
        cmocka_unit_test(test_foreign_chain),
        cmocka_unit_test(test_wrong_arch),
        cmocka_unit_test(test_custom_root),
        cmocka_unit_test(test_claims_equal_nras),
        cmocka_unit_test(test_switch_claims),
        cmocka_unit_test(test_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
