/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Full offline appraisal of one device against RIM stores built from the
 * fixtures, at pinned times (tests/fixtures/PROVENANCE.md).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "dga/appraise.h"
#include "dga/util.h"

#define AT_2024 "2024-06-01T00:00:00Z"
#define AT_NOW "2026-11-28T00:00:00Z"
#define H545 "gpu/h100_545.00/"
#define H535 "gpu/h100_535.86.09/"
#define LS10 "nvswitch/ls10_96.10.55.00.01/"
#define VBIOS_535 "NV_GPU_VBIOS_1010_0200_882_96005E0001"

struct run {
    char store[64];
    struct dga_evidence_set set;
    struct dga_trust device_root, rim_root;
    struct dga_appraise_options opt;
    struct dga_appraisal a;
};

static struct run *run_new(const char *dir, enum dga_arch arch, const char *nonce, const char *at)
{
    struct run *r = calloc(1, sizeof *r);
    snprintf(r->store, sizeof r->store, "/tmp/dga-appraise-XXXXXX");
    assert_non_null(mkdtemp(r->store));
    fixture_evidence(dir, arch, NULL, &r->set);
    assert_int_equal(dga_trust_nvidia_device(&r->device_root), DGA_E_OK);
    assert_int_equal(dga_trust_nvidia_rim(&r->rim_root), DGA_E_OK);
    r->opt.verify.trust = &r->device_root;
    assert_int_equal(dga_hex_decode_fixed(nonce, r->opt.verify.nonce, DGA_NONCE_LEN), DGA_E_OK);
    assert_int_equal(dga_time_parse(at, &r->opt.verify.at), DGA_E_OK);
    r->opt.rim_trust = &r->rim_root;
    r->opt.rim_dir = r->store;
    return r;
}

static dga_err appraise(struct run *r)
{
    dga_err e = dga_appraise_device(&r->set.dev[0], &r->opt, &r->a);
    dga_label_devices(&r->a.report, 1);
    return e;
}

static void run_free(struct run *r)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->store);
    assert_int_equal(system(cmd), 0);
    dga_appraisal_clear(&r->a);
    dga_evidence_set_clear(&r->set);
    dga_trust_clear(&r->device_root);
    dga_trust_clear(&r->rim_root);
    free(r);
}

static struct run *h545(const char *at)
{
    struct run *r = run_new(H545, DGA_ARCH_HOPPER, NONCE_N3, at);
    fixture_copy(H545 "rims/NV_GPU_DRIVER_GH100_545.00.xml", r->store,
                 "NV_GPU_DRIVER_GH100_545.00.xml");
    fixture_copy(H545 "rims/" VBIOS_535 ".xml", r->store, VBIOS_535 ".xml");
    return r;
}

static const char *chain_status(json_t *claims, const char *key)
{
    return json_string_value(json_object_get(json_object_get(claims, key), "x-nvidia-cert-status"));
}

/* The complete offline vector: every claim true, 33 golden values, no mismatch. */
static void test_h545_in_window(void **state)
{
    (void)state;
    struct run *r = h545(AT_2024);
    assert_int_equal(appraise(r), DGA_E_OK);
    assert_true(r->a.measured);
    assert_int_equal(r->a.measure.n_golden, 33);
    assert_int_equal(r->a.measure.n_mismatches, 0);
    json_t *c = dga_claims_device(&r->a);
    assert_string_equal(json_string_value(json_object_get(c, "measres")), "success");
    assert_true(json_is_true(json_object_get(c, "secboot")));
    assert_string_equal(json_string_value(json_object_get(c, "dbgstat")), "disabled");
    assert_string_equal(json_string_value(json_object_get(c, "oemid")), "5703");
    assert_true(json_is_null(json_object_get(c, "x-nvidia-mismatch-measurement-records")));
    assert_string_equal(chain_status(c, "x-nvidia-gpu-driver-rim-cert-chain"), "valid");
    assert_string_equal(chain_status(c, "x-nvidia-gpu-vbios-rim-cert-chain"), "valid");
    static const char *const trues[] = {
        "x-nvidia-gpu-driver-rim-fetched",
        "x-nvidia-gpu-driver-rim-signature-verified",
        "x-nvidia-gpu-driver-rim-version-match",
        "x-nvidia-gpu-driver-rim-measurements-available",
        "x-nvidia-gpu-vbios-rim-fetched",
        "x-nvidia-gpu-vbios-rim-signature-verified",
        "x-nvidia-gpu-vbios-rim-version-match",
        "x-nvidia-gpu-vbios-rim-measurements-available",
        "x-nvidia-gpu-vbios-index-no-conflict",
        "x-nvidia-gpu-attestation-report-signature-verified",
        NULL,
    };
    for (size_t i = 0; trues[i] != NULL; i++) {
        if (!json_is_true(json_object_get(c, trues[i]))) {
            fail_msg("%s is not true", trues[i]);
        }
    }
    const char *msg;
    assert_int_equal(dga_appraisal_result_code(&r->a, &msg), 0);
    json_decref(c);
    run_free(r);
}

/* Today the RIM signers have expired: a claim for the policy, not a hard failure. */
static void test_h545_today_expired_signers(void **state)
{
    (void)state;
    struct run *r = h545(AT_NOW);
    assert_int_equal(appraise(r), DGA_E_OK);
    json_t *c = dga_claims_device(&r->a);
    assert_string_equal(chain_status(c, "x-nvidia-gpu-driver-rim-cert-chain"), "expired");
    assert_string_equal(chain_status(c, "x-nvidia-gpu-vbios-rim-cert-chain"), "expired");
    assert_string_equal(chain_status(c, "x-nvidia-gpu-attestation-report-cert-chain"), "valid");
    assert_string_equal(json_string_value(json_object_get(c, "measres")), "success");
    json_decref(c);
    run_free(r);
}

static void test_rim_not_found(void **state)
{
    (void)state;
    struct run *r = run_new(H545, DGA_ARCH_HOPPER, NONCE_N3, AT_2024);
    assert_int_equal(appraise(r), DGA_E_RIM_NOT_FOUND);
    assert_int_equal(r->a.failed_check, DGA_APPRAISAL_CHECK_DRIVER_RIM);
    assert_false(r->a.measured);
    const char *msg;
    assert_int_equal(dga_appraisal_result_code(&r->a, &msg), 104);
    json_t *c = dga_claims_device(&r->a);
    assert_true(json_is_false(json_object_get(c, "x-nvidia-gpu-driver-rim-fetched")));
    assert_string_equal(json_string_value(json_object_get(c, "measres")), "not-run");
    assert_true(json_is_null(json_object_get(c, "secboot")));
    json_decref(c);
    run_free(r);
}

/*
 * A driver RIM cut short does not parse; the use still names the document
 * by the SHA-256 of its bytes (it read all zeros before), as attest prints it.
 */
static void test_unparsed_rim_digest(void **state)
{
    (void)state;
    struct run *r = run_new(H545, DGA_ARCH_HOPPER, NONCE_N3, AT_2024);
    size_t len = 0;
    uint8_t *xml = fixture_read(H545 "rims/NV_GPU_DRIVER_GH100_545.00.xml", &len);
    assert_true(len > 3000);
    char path[128];
    snprintf(path, sizeof path, "%s/NV_GPU_DRIVER_GH100_545.00.xml", r->store);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(xml, 1, 3000, f), 3000);
    assert_int_equal(fclose(f), 0);
    fixture_copy(H545 "rims/" VBIOS_535 ".xml", r->store, VBIOS_535 ".xml");
    assert_int_equal(appraise(r), DGA_E_RIM_XML);
    assert_int_equal(r->a.failed_check, DGA_APPRAISAL_CHECK_DRIVER_RIM);
    uint8_t want[32];
    assert_int_equal(EVP_Digest(xml, 3000, want, NULL, EVP_sha256(), NULL), 1);
    assert_memory_equal(r->a.driver.sha256, want, 32);
    free(xml);
    run_free(r);
}

/* 535.86.09: the tampered driver RIM is rejected as badly signed (105). */
static void test_h535_tampered_driver_rim(void **state)
{
    (void)state;
    struct run *r = run_new(H535, DGA_ARCH_HOPPER, NONCE_535, AT_2024);
    fixture_copy(H535 "rims_tampered/NV_GPU_DRIVER_GH100_535.86.09.xml", r->store,
                 "NV_GPU_DRIVER_GH100_535.86.09.xml");
    fixture_copy(H535 "rims/" VBIOS_535 ".xml", r->store, VBIOS_535 ".xml");
    assert_int_equal(appraise(r), DGA_E_RIM_DIGEST_MISMATCH);
    assert_int_equal(r->a.failed_check, DGA_APPRAISAL_CHECK_DRIVER_RIM);
    const char *msg;
    assert_int_equal(dga_appraisal_result_code(&r->a, &msg), 105);
    json_t *c = dga_claims_device(&r->a);
    assert_true(json_is_false(json_object_get(c, "x-nvidia-gpu-driver-rim-signature-verified")));
    assert_true(json_is_true(json_object_get(c, "x-nvidia-gpu-vbios-rim-signature-verified")));
    json_decref(c);
    run_free(r);
}

/*
 * Two issues of the 535 VBIOS RIM in one store: the one that matches the
 * report is chosen, whichever order the store lists them in.
 */
static void test_reissue_choice(void **state)
{
    (void)state;
    for (int order = 0; order < 2; order++) {
        struct run *r = run_new(H535, DGA_ARCH_HOPPER, NONCE_535, AT_2024);
        char sub[128];
        snprintf(sub, sizeof sub, "%s/%s.d", r->store, VBIOS_535);
        assert_int_equal(mkdir(sub, 0700), 0);
        const char *genuine = H535 "rims/" VBIOS_535 ".xml";
        const char *reissued = H535 "rims_reissued/" VBIOS_535 ".xml";
        fixture_copy(order == 0 ? reissued : genuine, r->store, VBIOS_535 ".xml");
        fixture_copy(order == 0 ? genuine : reissued, sub, "other.xml");
        appraise(r);
        /* No driver RIM is public for 535.86.09: the device fails on it, but the VBIOS choice
         * stands. */
        assert_int_equal(r->a.err, DGA_E_RIM_NOT_FOUND);
        assert_int_equal(r->a.firmware.err, DGA_E_OK);
        assert_int_equal(r->a.firmware.n_candidates, 2);
        size_t len;
        uint8_t *doc = fixture_read(genuine, &len);
        struct dga_rim *g = NULL;
        assert_int_equal(dga_rim_parse(doc, len, &g, NULL), DGA_E_OK);
        assert_memory_equal(r->a.firmware.sha256, g->sha256, 32);
        dga_rim_free(g);
        free(doc);
        run_free(r);
    }
}

/* The version in the RIM must be the report's: a VBIOS RIM of another version is refused. */
static void test_version_mismatch(void **state)
{
    (void)state;
    struct run *r = h545(AT_2024);
    fixture_copy("rims/valid/NV_GPU_VBIOS_1010_0205_862_9600740020.xml", r->store,
                 VBIOS_535 ".xml");
    assert_int_equal(appraise(r), DGA_E_RIM_VERSION_MISMATCH);
    assert_int_equal(r->a.failed_check, DGA_APPRAISAL_CHECK_VBIOS_RIM);
    const char *msg;
    assert_int_equal(dga_appraisal_result_code(&r->a, &msg), 506);
    run_free(r);
}

static void test_ls10_today(void **state)
{
    (void)state;
    struct run *r = run_new(LS10, DGA_ARCH_LS10, NONCE_N1, "2026-06-01T00:00:00Z");
    fixture_copy(LS10 "rims/NV_SWITCH_BIOS_5612_0002_890_9610550001.xml", r->store,
                 "NV_SWITCH_BIOS_5612_0002_890_9610550001.xml");
    assert_int_equal(appraise(r), DGA_E_OK);
    assert_int_equal(r->a.measure.n_compared, 31);
    assert_int_equal(r->a.measure.n_mismatches, 0);
    json_t *c = dga_claims_device(&r->a);
    assert_string_equal(json_string_value(json_object_get(c, "measres")), "success");
    assert_string_equal(chain_status(c, "x-nvidia-switch-bios-rim-cert-chain"), "valid");
    assert_true(json_is_true(json_object_get(c, "x-nvidia-switch-bios-rim-signature-verified")));
    assert_null(json_object_get(c, "oemid"));
    json_decref(c);
    run_free(r);
}

/* The tampered LS10 BIOS RIM is refused (digest), with the switch's claims. */
static void test_ls10_tampered(void **state)
{
    (void)state;
    struct run *r = run_new(LS10, DGA_ARCH_LS10, NONCE_N1, "2026-06-01T00:00:00Z");
    fixture_copy(LS10 "rims_tampered/NV_SWITCH_BIOS_5612_0002_890_9610550001.xml", r->store,
                 "NV_SWITCH_BIOS_5612_0002_890_9610550001.xml");
    assert_int_equal(appraise(r), DGA_E_RIM_DIGEST_MISMATCH);
    assert_int_equal(r->a.failed_check, DGA_APPRAISAL_CHECK_BIOS_RIM);
    run_free(r);
}

/* The check names are a stable output table: every value has its own. */
static void test_check_names(void **state)
{
    (void)state;
    static const char *const want[] = {
        "none",
        "options",
        "report-parse",
        "cert-chain",
        "signature",
        "nonce",
        "fwid",
        "cert-validity",
        "ocsp-device-chain",
        "driver-rim",
        "vbios-rim",
        "bios-rim",
        "ocsp-driver-rim-chain",
        "ocsp-vbios-rim-chain",
        "ocsp-bios-rim-chain",
        "measurements",
    };
    assert_int_equal(sizeof want / sizeof want[0], DGA_APPRAISAL_CHECK__COUNT);
    for (int i = 0; i < DGA_APPRAISAL_CHECK__COUNT; i++) {
        assert_string_equal(dga_appraisal_check_name((enum dga_appraisal_check)i), want[i]);
    }
    assert_string_equal(dga_appraisal_check_name(DGA_APPRAISAL_CHECK__COUNT), "unknown");
}

/* x-nvidia-cert-status: decided once from (verified, time_valid), named by a stable table. */
static void test_cert_status(void **state)
{
    (void)state;
    assert_int_equal(dga_cert_status_of(false, true), DGA_CERT_STATUS_INVALID);
    assert_int_equal(dga_cert_status_of(false, false), DGA_CERT_STATUS_INVALID);
    assert_int_equal(dga_cert_status_of(true, true), DGA_CERT_STATUS_VALID);
    assert_int_equal(dga_cert_status_of(true, false), DGA_CERT_STATUS_EXPIRED);
    assert_string_equal(dga_cert_status_name(DGA_CERT_STATUS_INVALID), "invalid");
    assert_string_equal(dga_cert_status_name(DGA_CERT_STATUS_VALID), "valid");
    assert_string_equal(dga_cert_status_name(DGA_CERT_STATUS_EXPIRED), "expired");
    assert_string_equal(dga_cert_status_name((enum dga_cert_status)7), "unknown");
}

/*
 * The RIM a failure is about comes from the check, not from its name: an OCSP
 * failure on the driver RIM's signer chain that names no certificate (as when
 * the chain could not even be assembled) is the driver RIM's, never the VBIOS
 * RIM's (the old strstr(name, "rim") mapping reported the VBIOS RIM id).
 */
static void test_failed_rim(void **state)
{
    (void)state;
    struct dga_appraisal *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->report.arch = DGA_ARCH_HOPPER;
    snprintf(a->driver.id, sizeof a->driver.id, "NV_GPU_DRIVER_GH100_545.00");
    snprintf(a->firmware.id, sizeof a->firmware.id, "NV_GPU_VBIOS_1010_0200_882_96005E0001");
    dga_ocsp_chain_aggregate(&a->driver.ocsp); /* failed = -1: no certificate to name */
    a->err = DGA_E_NOMEM;
    a->failed_check = DGA_APPRAISAL_CHECK_OCSP_DRIVER_RIM_CHAIN;
    assert_ptr_equal(dga_appraisal_failed_rim(a), &a->driver);
    assert_string_equal(dga_appraisal_failed_rim(a)->id, "NV_GPU_DRIVER_GH100_545.00");
    assert_ptr_equal(dga_appraisal_ocsp_failure(a), &a->driver.ocsp);
    a->failed_check = DGA_APPRAISAL_CHECK_OCSP_VBIOS_RIM_CHAIN;
    assert_ptr_equal(dga_appraisal_failed_rim(a), &a->firmware);
    assert_ptr_equal(dga_appraisal_ocsp_failure(a), &a->firmware.ocsp);
    a->failed_check = DGA_APPRAISAL_CHECK_DRIVER_RIM;
    assert_ptr_equal(dga_appraisal_failed_rim(a), &a->driver);
    assert_null(dga_appraisal_ocsp_failure(a));
    a->failed_check = DGA_APPRAISAL_CHECK_BIOS_RIM;
    assert_ptr_equal(dga_appraisal_failed_rim(a), &a->firmware);
    /* Not about a RIM, or no failure at all. */
    a->failed_check = DGA_APPRAISAL_CHECK_OCSP_DEVICE_CHAIN;
    assert_null(dga_appraisal_failed_rim(a));
    assert_ptr_equal(dga_appraisal_ocsp_failure(a), &a->ocsp);
    a->failed_check = DGA_APPRAISAL_CHECK_MEASUREMENTS;
    assert_null(dga_appraisal_failed_rim(a));
    a->err = DGA_E_OK;
    a->failed_check = DGA_APPRAISAL_CHECK_DRIVER_RIM;
    assert_null(dga_appraisal_failed_rim(a));
    free(a);
}

static json_t *build_claims(const void *a)
{
    return dga_claims_device(a);
}

/*
 * Every allocation of the claims in turn fails: the claims are then NULL, never an
 * object with a claim missing; with no failure they equal the full claims.
 */
static void claims_never_short(const struct dga_appraisal *a)
{
    json_t *full = dga_claims_device(a);
    assert_non_null(full);
    /* the claims took that many allocations */
    assert_true(test_json_alloc_failures(build_claims, a, full, "claims") > 20);
    json_decref(full);
}

static void test_claims_never_short(void **state)
{
    (void)state;
    struct run *r = h545(AT_2024);
    assert_int_equal(appraise(r), DGA_E_OK);
    claims_never_short(&r->a);
    run_free(r);
    /* a switch, and a device with mismatch records */
    r = run_new(LS10, DGA_ARCH_LS10, NONCE_N1, "2026-06-01T00:00:00Z");
    fixture_copy(LS10 "rims_tampered/NV_SWITCH_BIOS_5612_0002_890_9610550001.xml", r->store,
                 "NV_SWITCH_BIOS_5612_0002_890_9610550001.xml");
    appraise(r);
    claims_never_short(&r->a);
    run_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cert_status),
        cmocka_unit_test(test_h545_in_window),
        cmocka_unit_test(test_h545_today_expired_signers),
        cmocka_unit_test(test_rim_not_found),
        cmocka_unit_test(test_unparsed_rim_digest),
        cmocka_unit_test(test_h535_tampered_driver_rim),
        cmocka_unit_test(test_reissue_choice),
        cmocka_unit_test(test_version_mismatch),
        cmocka_unit_test(test_ls10_today),
        cmocka_unit_test(test_ls10_tampered),
        cmocka_unit_test(test_check_names),
        cmocka_unit_test(test_failed_rim),
        cmocka_unit_test(test_claims_never_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
