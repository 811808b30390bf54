/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/collect against the fake NVML (tests/fake_nvml, loaded through the
 * collector's own dlopen path, $DGA_FAKE_NVML) and sysfs trees built in a
 * temporary directory. Every failure is asserted by its exact error name and,
 * for NVML, by the function and NVML's code.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collect/testing.h"
#include "dga/appraise.h"
#include "dga/collect.h"
#include "dga/util.h"
#include "dga/verify.h"
#include "dga/x509.h"
#include "testutil.h"

#define H545 "gpu/h100_545.00/"
#define VBIOS_535 "NV_GPU_VBIOS_1010_0200_882_96005E0001"
#define AT_2024 "2024-06-01T00:00:00Z"
#define NVML_GPU_IS_LOST 15
#define REPORT_545_LEN 4049

static const uint8_t test_nonce[DGA_NONCE_LEN] = {
    0xd6, 0xa1, 0x7e, 0x57, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
    0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
};

struct tmp {
    char dir[64];
};

static void tmp_new(struct tmp *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/dga-collect-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
}

static void tmp_free(struct tmp *t)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
}

static const char *fake_lib(void)
{
    const char *p = getenv("DGA_FAKE_NVML");
    if (p == NULL) {
        fail_msg("DGA_FAKE_NVML is not set (run through ctest)");
    }
    return p;
}

/*
 * Writes a scenario: the 545.00 report re-signed under the test PKI, plus
 * `extra` (JSON members without braces, may be ""), and points the fake at it.
 */
static void scenario(struct tmp *t, const char *extra)
{
    char text[8192], fx_report[1024], fx_chain[1024], fx_key[1024], name[128];
    snprintf(fx_report, sizeof fx_report, "%s", fixture_path(H545 "report.hex"));
    snprintf(fx_chain, sizeof fx_chain, "%s", fixture_path("testpki/certchain.pem"));
    snprintf(fx_key, sizeof fx_key, "%s", fixture_path("testpki/leaf.key"));
    int n = snprintf(text, sizeof text,
                     "{\"report\":\"%s\",\"chain\":\"%s\",\"key\":\"%s\","
                     "\"ready_record\":\"ready.log\"%s%s}",
                     fx_report, fx_chain, fx_key, extra[0] != '\0' ? "," : "", extra);
    assert_true(n > 0 && (size_t)n < sizeof text);
    test_write_file(t->dir, "scenario.json", text, (size_t)n);
    snprintf(name, sizeof name, "%s/scenario.json", t->dir);
    assert_int_equal(setenv("DGA_FAKE_NVML_SCENARIO", name, 1), 0);
}

/* Opens the fake and collects; returns the collection error, *err says more. */
static dga_err collect_from(const char *lib, struct dga_collection *c, struct dga_nvml_error *err)
{
    struct dga_nvml *nvml = NULL;
    dga_err e = dga_nvml_open(lib, &nvml, err);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_nvml_collect(nvml, test_nonce, c, err);
    dga_nvml_close(nvml);
    return e;
}

static void collect_ok(struct tmp *t, const char *extra, struct dga_collection *c)
{
    struct dga_nvml_error err;
    scenario(t, extra);
    dga_err e = collect_from(fake_lib(), c, &err);
    if (e != DGA_E_OK) {
        fail_msg("collect: %s in %s (rc %d)", dga_err_name(e), err.function, err.nvml_rc);
    }
}

/* ---- scenarios ---- */

static void test_cc_on_one_gpu(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_collection c;
    size_t chain_len;
    tmp_new(&t);
    collect_ok(&t, "\"gpus\":1", &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(dga_cc_check(&c.cc, false), DGA_E_OK);
    assert_string_equal(dga_cc_mode_name(&c.cc), "on");
    assert_int_equal(c.cc.environment, 2);
    assert_string_equal(c.driver_version, "545.00");
    const struct dga_gpu_collected *g = &c.gpu[0];
    assert_int_equal(g->arch, DGA_ARCH_HOPPER);
    assert_int_equal(g->nvml_arch, 9);
    assert_string_equal(g->uuid, "GPU-7e570000-0000-4000-8000-000000000000");
    assert_string_equal(g->vbios_version, "96.00.5E.00.01");
    assert_string_equal(g->pci_address, "0000:18:00.0");
    assert_int_equal(g->board_id, 0x1010);
    assert_int_equal(g->report_len, REPORT_545_LEN);
    assert_memory_equal(g->report + 4, test_nonce, DGA_NONCE_LEN);
    char *chain = (char *)fixture_read("testpki/certchain.pem", &chain_len);
    assert_int_equal(g->chain_pem_len, chain_len);
    assert_memory_equal(g->chain_pem, chain, chain_len);
    free(chain);
    dga_collection_clear(&c);
    tmp_free(&t);
}

static void test_cc_off(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_collection c;
    tmp_new(&t);
    collect_ok(&t, "\"cc_feature\":0", &c);
    assert_int_equal(dga_cc_check(&c.cc, false), DGA_E_CC_OFF);
    assert_int_equal(dga_cc_check(&c.cc, true), DGA_E_CC_OFF);
    assert_string_equal(dga_cc_mode_name(&c.cc), "off");
    dga_collection_clear(&c);
    tmp_free(&t);
}

static void test_devtools(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_collection c;
    tmp_new(&t);
    collect_ok(&t, "\"devtools_mode\":1", &c);
    assert_int_equal(dga_cc_check(&c.cc, false), DGA_E_CC_DEVTOOLS);
    assert_int_equal(dga_cc_check(&c.cc, true), DGA_E_OK);
    assert_string_equal(dga_cc_mode_name(&c.cc), "devtools");
    dga_collection_clear(&c);
    tmp_free(&t);
}

static void test_protected_pcie(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_collection c;
    tmp_new(&t);
    collect_ok(&t, "\"cc_feature\":0,\"multi_gpu_mode\":1,\"gpus\":8", &c);
    assert_int_equal(c.cc.multi_gpu_mode, 1);
    assert_string_equal(dga_cc_mode_name(&c.cc), "ppcie");
    /* A caller that does not attest the NVSwitches refuses PPCIe as CC off; the gate's check
     * passes it as PPCIe mode (it then attests them), under the same allow-list. */
    assert_int_equal(dga_cc_check(&c.cc, false), DGA_E_CC_OFF);
    bool ppcie = false;
    assert_int_equal(dga_cc_check_mode(&c.cc, false, &ppcie), DGA_E_OK);
    assert_true(ppcie);
    struct dga_cc_settings cc = c.cc;
    cc.devtools_mode = 1;
    assert_int_equal(dga_cc_check_mode(&cc, false, &ppcie), DGA_E_CC_DEVTOOLS);
    assert_int_equal(dga_cc_check_mode(&cc, true, &ppcie), DGA_E_OK);
    cc.environment = 1;
    assert_int_equal(dga_cc_check_mode(&cc, true, &ppcie), DGA_E_CC_UNKNOWN);
    cc = c.cc;
    cc.multi_gpu_mode = 2; /* CC off without PPCIe stays CC off */
    assert_int_equal(dga_cc_check_mode(&cc, true, &ppcie), DGA_E_CC_OFF);
    cc.multi_gpu_mode = 0;
    cc.cc_feature = 1; /* CC on: single-GPU CC mode */
    assert_int_equal(dga_cc_check_mode(&cc, false, &ppcie), DGA_E_OK);
    assert_false(ppcie);
    dga_collection_clear(&c);
    tmp_free(&t);
}

/*
 * Every CC field the gate reads is allow-listed (issue 9, finding 5): anything but
 * ccFeature 1, environment 2 (production), devToolsMode 0 (1 when allowed) and a known
 * multiGpuMode is cc-unknown, naming the first such field and its value.
 */
static void test_cc_allow_list(void **state)
{
    (void)state;
    static const struct {
        struct dga_cc_settings cc;
        const char *field;
        unsigned value;
        const char *mode;
    } cases[] = {
        {{2, 1, 2, 0}, "devToolsMode", 2, "unknown"},
        {{2, 1, 4294967295u, 0}, "devToolsMode", 4294967295u, "unknown"},
        {{1, 1, 0, 0}, "environment", 1, "unknown"},
        {{0, 1, 0, 0}, "environment", 0, "unknown"},
        {{3, 1, 0, 0}, "environment", 3, "unknown"},
        {{2, 2, 0, 0}, "ccFeature", 2, "unknown"},
        {{2, 4294967295u, 0, 0}, "ccFeature", 4294967295u, "unknown"},
        {{2, 1, 0, 3}, "multiGpuMode", 3, "unknown"},
        {{1, 2, 7, 0}, "ccFeature", 2, "unknown"}, /* the first field in order is named */
        {{0, 1, 1, 0}, "environment", 0, "unknown"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dga_cc_field f = {"untouched", 99, NULL};
        assert_true(dga_cc_unknown_field(&cases[i].cc, &f));
        assert_string_equal(f.name, cases[i].field);
        assert_int_equal(f.value, cases[i].value);
        assert_non_null(f.allowed);
        assert_int_equal(dga_cc_check(&cases[i].cc, false), DGA_E_CC_UNKNOWN);
        assert_int_equal(dga_cc_check(&cases[i].cc, true), DGA_E_CC_UNKNOWN);
        assert_string_equal(dga_cc_mode_name(&cases[i].cc), cases[i].mode);
    }
    /* The known values: on, DEVTOOLS (allowed or not), every multi-GPU mode, and off. */
    struct dga_cc_settings on = {2, 1, 0, 0}, dev = {2, 1, 1, 0}, nvle = {2, 1, 0, 2};
    struct dga_cc_settings off_sim = {1, 0, 0, 0};
    struct dga_cc_field f = {"untouched", 99, NULL};
    assert_false(dga_cc_unknown_field(&on, &f));
    assert_string_equal(f.name, "untouched");
    assert_int_equal(dga_cc_check(&on, false), DGA_E_OK);
    assert_int_equal(dga_cc_check(&dev, false), DGA_E_CC_DEVTOOLS);
    assert_int_equal(dga_cc_check(&dev, true), DGA_E_OK);
    assert_int_equal(dga_cc_check(&nvle, false), DGA_E_OK);
    assert_string_equal(dga_cc_mode_name(&nvle), "on");
    /* The CC feature off is cc-off first, whatever else is set. */
    assert_int_equal(dga_cc_check(&off_sim, true), DGA_E_CC_OFF);
    assert_string_equal(dga_cc_mode_name(&off_sim), "off");
}

static void test_zero_gpus(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_collection c;
    tmp_new(&t);
    collect_ok(&t, "\"gpus\":0", &c);
    assert_int_equal(c.n, 0);
    assert_int_equal(dga_cc_check(&c.cc, false), DGA_E_OK);
    dga_collection_clear(&c);
    tmp_free(&t);
}

/*
 * Eight GPUs: distinct addresses, UUIDs and leaves (each GPU signs with its own
 * key: distinct ueids), and every report verifies under the test root.
 */
static void test_eight_gpus_verify(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_collection c;
    struct dga_evidence_set set;
    struct dga_trust root;
    struct dga_verify_options opt;
    size_t len;
    tmp_new(&t);
    collect_ok(&t, "\"gpus\":8", &c);
    assert_int_equal(c.n, 8);
    char *pem = (char *)fixture_read("testpki/root.pem", &len);
    assert_int_equal(dga_trust_from_pem(pem, len, &root), DGA_E_OK);
    free(pem);
    memset(&opt, 0, sizeof opt);
    memcpy(opt.nonce, test_nonce, DGA_NONCE_LEN);
    assert_int_equal(dga_time_parse(AT_2024, &opt.at), DGA_E_OK);
    opt.trust = &root;
    assert_int_equal(dga_collection_to_evidence(&c, &set), DGA_E_OK);
    char ueid[8][64];
    for (size_t i = 0; i < c.n; i++) {
        struct dga_device_result *r = calloc(1, sizeof *r);
        assert_int_equal(dga_verify_device(&set.dev[i], &opt, r), DGA_E_OK);
        assert_true(r->custom_root);
        snprintf(ueid[i], sizeof ueid[i], "%s", r->chain.ueid);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(c.gpu[i].pci_address, c.gpu[j].pci_address);
            assert_string_not_equal(c.gpu[i].uuid, c.gpu[j].uuid);
            assert_string_not_equal(ueid[i], ueid[j]);
        }
        free(r);
    }
    assert_string_equal(ueid[0], "4100"); /* testpki/certchain.pem's leaf, serial 0x1004 */
    assert_string_equal(ueid[7], "8199"); /* testpki/leaves/gpu7.pem, serial 0x2007 */
    assert_string_equal(c.gpu[7].pci_address, "0000:1f:00.0");
    dga_evidence_set_clear(&set);
    dga_trust_clear(&root);
    dga_collection_clear(&c);
    tmp_free(&t);
}

/* The fake's duplicate-device knobs: one leaf for every GPU, a re-issued leaf, UUIDs. */
static void test_fake_duplicate_knobs(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_collection c;
    char extra[1200];
    tmp_new(&t);
    collect_ok(&t, "\"gpus\":2", &c);
    assert_false(c.gpu[0].chain_pem_len == c.gpu[1].chain_pem_len &&
                 memcmp(c.gpu[0].chain_pem, c.gpu[1].chain_pem, c.gpu[0].chain_pem_len) == 0);
    dga_collection_clear(&c);
    collect_ok(&t, "\"gpus\":2,\"shared_leaf\":true,\"uuids\":[\"GPU-a\",\"GPU-b\"]", &c);
    assert_int_equal(c.gpu[0].chain_pem_len, c.gpu[1].chain_pem_len);
    assert_memory_equal(c.gpu[0].chain_pem, c.gpu[1].chain_pem, c.gpu[0].chain_pem_len);
    assert_string_equal(c.gpu[0].uuid, "GPU-a");
    assert_string_equal(c.gpu[1].uuid, "GPU-b");
    dga_collection_clear(&c);
    snprintf(extra, sizeof extra, "\"gpus\":2,\"leaves\":\"%s\"",
             fixture_path("testpki/leaves-same-ueid"));
    collect_ok(&t, extra, &c);
    size_t len = 0;
    char *leaf = (char *)fixture_read("testpki/leaves-same-ueid/gpu1.pem", &len);
    assert_memory_equal(c.gpu[1].chain_pem, leaf, len);
    free(leaf);
    dga_collection_clear(&c);
    /* A leaf the directory lacks: NVML does not come up (nvmlInit_v2 fails). */
    struct dga_nvml_error err;
    snprintf(extra, sizeof extra, "\"gpus\":3,\"leaves\":\"%s\"",
             fixture_path("testpki/leaves-same-ueid"));
    scenario(&t, extra);
    assert_int_equal(collect_from(fake_lib(), &c, &err), DGA_E_NVML_CALL);
    assert_string_equal(err.function, "nvmlInit_v2");
    tmp_free(&t);
}

/*
 * The whole path: collect from the fake, write nvattest's JSON, read it back
 * as any evidence file is read, appraise offline with the real 545.00 RIMs.
 * Under the explicitly chosen test root it passes with 0 mismatches and is
 * marked custom; under the pinned NVIDIA root the chain fails.
 */
static dga_err appraise_collected(const struct dga_trust *device_root, struct dga_appraisal *a,
                                  struct tmp *t)
{
    struct dga_collection c;
    struct dga_evidence_set set;
    struct dga_trust rim_root;
    struct dga_appraise_options opt;
    collect_ok(t, "\"gpus\":1", &c);
    json_t *j = dga_collection_to_json(&c);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_INDENT(4) | JSON_SORT_KEYS);
    assert_non_null(text);
    assert_int_equal(dga_evidence_json_parse(text, strlen(text), &set, NULL), DGA_E_OK);
    assert_int_equal(set.n, 1);
    assert_true(set.dev[0].has_nonce);
    assert_memory_equal(set.dev[0].nonce, test_nonce, DGA_NONCE_LEN);
    fixture_copy(H545 "rims/NV_GPU_DRIVER_GH100_545.00.xml", t->dir,
                 "NV_GPU_DRIVER_GH100_545.00.xml");
    fixture_copy(H545 "rims/" VBIOS_535 ".xml", t->dir, VBIOS_535 ".xml");
    assert_int_equal(dga_trust_nvidia_rim(&rim_root), DGA_E_OK);
    memset(&opt, 0, sizeof opt);
    memcpy(opt.verify.nonce, test_nonce, DGA_NONCE_LEN);
    assert_int_equal(dga_time_parse(AT_2024, &opt.verify.at), DGA_E_OK);
    opt.verify.trust = device_root;
    opt.rim_trust = &rim_root;
    opt.rim_dir = t->dir;
    dga_err e = dga_appraise_device(&set.dev[0], &opt, a);
    dga_trust_clear(&rim_root);
    dga_evidence_set_clear(&set);
    free(text);
    json_decref(j);
    dga_collection_clear(&c);
    return e;
}

static void test_appraise_with_test_root(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_trust root;
    struct dga_appraisal *a = calloc(1, sizeof *a);
    size_t len;
    tmp_new(&t);
    char *pem = (char *)fixture_read("testpki/root.pem", &len);
    assert_int_equal(dga_trust_from_pem(pem, len, &root), DGA_E_OK);
    free(pem);
    assert_true(root.custom);
    assert_int_equal(appraise_collected(&root, a, &t), DGA_E_OK);
    assert_true(a->report.custom_root);
    assert_true(a->report.signature_verified);
    assert_true(a->report.nonce_match);
    assert_true(a->report.fwid_match);
    assert_true(a->report.chain.leaf_has_fwid);
    assert_string_equal(a->report.chain.hwmodel, "GH100 A01 GSP BROM");
    assert_true(a->measured);
    assert_int_equal(a->measure.n_golden, 33);
    assert_int_equal(a->measure.n_mismatches, 0);
    dga_appraisal_clear(a);
    free(a);
    dga_trust_clear(&root);
    tmp_free(&t);
}

static void test_appraise_with_nvidia_root_fails(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_trust root;
    struct dga_appraisal *a = calloc(1, sizeof *a);
    tmp_new(&t);
    assert_int_equal(dga_trust_nvidia_device(&root), DGA_E_OK);
    assert_false(root.custom);
    assert_int_equal(appraise_collected(&root, a, &t), DGA_E_CHAIN_ROOT);
    assert_int_equal(a->report.failed_check, DGA_CHECK_CHAIN);
    assert_false(a->report.chain_verified);
    dga_appraisal_clear(a);
    free(a);
    dga_trust_clear(&root);
    tmp_free(&t);
}

/* The fake's tampering knobs reach the verifier as a GPU's would: wrong nonce, bad signature. */
static dga_err verify_first(struct tmp *t, const char *extra)
{
    struct dga_collection c;
    struct dga_evidence_set set;
    struct dga_trust root;
    struct dga_verify_options opt;
    size_t len;
    collect_ok(t, extra, &c);
    char *pem = (char *)fixture_read("testpki/root.pem", &len);
    assert_int_equal(dga_trust_from_pem(pem, len, &root), DGA_E_OK);
    free(pem);
    memset(&opt, 0, sizeof opt);
    memcpy(opt.nonce, test_nonce, DGA_NONCE_LEN);
    assert_int_equal(dga_time_parse(AT_2024, &opt.at), DGA_E_OK);
    opt.trust = &root;
    assert_int_equal(dga_collection_to_evidence(&c, &set), DGA_E_OK);
    struct dga_device_result *r = calloc(1, sizeof *r);
    dga_err e = dga_verify_device(&set.dev[0], &opt, r);
    free(r);
    dga_evidence_set_clear(&set);
    dga_trust_clear(&root);
    dga_collection_clear(&c);
    return e;
}

static void test_fake_tampering_detected(void **state)
{
    (void)state;
    struct tmp t;
    tmp_new(&t);
    assert_int_equal(verify_first(&t, ""), DGA_E_OK);
    assert_int_equal(verify_first(&t, "\"nonce_override\":\"" NONCE_N1 "\""), DGA_E_NONCE_MISMATCH);
    assert_int_equal(verify_first(&t, "\"corrupt_signature\":true"), DGA_E_SIGNATURE_INVALID);
    tmp_free(&t);
}

static void test_blackwell_and_unknown_arch(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_collection c;
    struct dga_nvml_error err;
    tmp_new(&t);
    collect_ok(&t, "\"arch\":10", &c);
    assert_int_equal(c.gpu[0].arch, DGA_ARCH_BLACKWELL);
    dga_collection_clear(&c);
    scenario(&t, "\"arch\":7"); /* Ampere */
    assert_int_equal(collect_from(fake_lib(), &c, &err), DGA_E_NVML_ARCH);
    assert_string_equal(err.function, "nvmlDeviceGetArchitecture");
    assert_int_equal(err.device, 0);
    tmp_free(&t);
}

static void test_nvml_missing(void **state)
{
    (void)state;
    struct dga_nvml *nvml = NULL;
    struct dga_nvml_error err;
    assert_int_equal(dga_nvml_open("/nonexistent/libnvidia-ml.so.1", &nvml, &err), DGA_E_NVML_LOAD);
    assert_null(nvml);
    assert_int_equal(err.err, DGA_E_NVML_LOAD);
    assert_string_equal(err.function, "dlopen");
    assert_non_null(strstr(err.nvml_message, "/nonexistent/libnvidia-ml.so.1"));
}

static void test_symbol_missing(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_nvml *nvml = NULL;
    struct dga_nvml_error err;
    const char *lib = getenv("DGA_FAKE_NVML_NOSYM");
    assert_non_null(lib);
    tmp_new(&t);
    scenario(&t, "");
    assert_int_equal(dga_nvml_open(lib, &nvml, &err), DGA_E_NVML_SYMBOL);
    assert_null(nvml);
    assert_string_equal(err.function, "nvmlDeviceGetConfComputeGpuAttestationReport");
    tmp_free(&t);
}

/* Without a scenario the fake's init fails the way a host without the driver does. */
static void test_init_fails(void **state)
{
    (void)state;
    struct dga_nvml *nvml = NULL;
    struct dga_nvml_error err;
    assert_int_equal(unsetenv("DGA_FAKE_NVML_SCENARIO"), 0);
    assert_int_equal(dga_nvml_open(fake_lib(), &nvml, &err), DGA_E_NVML_CALL);
    assert_string_equal(err.function, "nvmlInit_v2");
    assert_int_equal(err.nvml_rc, 9);
    assert_string_equal(err.nvml_message, "Driver Not Loaded");
}

/* An NVML error injected at each call in turn (device calls on the second of two GPUs). */
static void test_error_at_each_call(void **state)
{
    (void)state;
    static const char *const calls[] = {
        "nvmlInit_v2",
        "nvmlSystemGetConfComputeState",
        "nvmlSystemGetConfComputeSettings",
        "nvmlSystemGetDriverVersion",
        "nvmlDeviceGetCount_v2",
        "nvmlDeviceGetHandleByIndex_v2",
        "nvmlDeviceGetArchitecture",
        "nvmlDeviceGetBoardId",
        "nvmlDeviceGetUUID",
        "nvmlDeviceGetVbiosVersion",
        "nvmlDeviceGetPciInfo_v3",
        "nvmlDeviceGetConfComputeGpuAttestationReport",
        "nvmlDeviceGetConfComputeGpuCertificate",
    };
    struct tmp t;
    tmp_new(&t);
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        char extra[256];
        struct dga_collection c;
        struct dga_nvml_error err;
        bool device_call = strncmp(calls[i], "nvmlDevice", 10) == 0 &&
                           strcmp(calls[i], "nvmlDeviceGetCount_v2") != 0;
        snprintf(extra, sizeof extra,
                 "\"gpus\":2,\"fail\":{\"call\":\"%s\",\"rc\":%d,\"device\":1}", calls[i],
                 NVML_GPU_IS_LOST);
        scenario(&t, extra);
        dga_err e = collect_from(fake_lib(), &c, &err);
        if (e != DGA_E_NVML_CALL || strcmp(err.function, calls[i]) != 0) {
            fail_msg("%s: got %s in %s", calls[i], dga_err_name(e), err.function);
        }
        assert_int_equal(err.nvml_rc, NVML_GPU_IS_LOST);
        assert_string_equal(err.nvml_message, "GPU is lost");
        assert_int_equal(err.device, device_call ? 1 : -1);
    }
    tmp_free(&t);
}

static void expect_collect_error(struct tmp *t, const char *extra, dga_err want,
                                 const char *function)
{
    struct dga_collection c;
    struct dga_nvml_error err;
    scenario(t, extra);
    dga_err e = collect_from(fake_lib(), &c, &err);
    if (e != want || strcmp(err.function, function) != 0) {
        fail_msg("%s: got %s in %s, want %s in %s", extra, dga_err_name(e), err.function,
                 dga_err_name(want), function);
    }
}

static void test_report_sizes(void **state)
{
    (void)state;
    static const char *const fn = "nvmlDeviceGetConfComputeGpuAttestationReport";
    struct tmp t;
    tmp_new(&t);
    expect_collect_error(&t, "\"report_size\":8193", DGA_E_NVML_SIZE, fn); /* > 0x2000 */
    expect_collect_error(&t, "\"report_size\":4294967295", DGA_E_NVML_SIZE, fn);
    expect_collect_error(&t, "\"report_size\":0", DGA_E_NVML_SIZE, fn);
    expect_collect_error(&t, "\"report_size\":100", DGA_E_NVML_SIZE, fn); /* < minimum */
    tmp_free(&t);
}

static void test_chain_sizes(void **state)
{
    (void)state;
    static const char *const fn = "nvmlDeviceGetConfComputeGpuCertificate";
    struct tmp t;
    tmp_new(&t);
    expect_collect_error(&t, "\"chain_size\":5121", DGA_E_NVML_SIZE, fn); /* > 0x1400 */
    expect_collect_error(&t, "\"chain_size\":0", DGA_E_NVML_SIZE, fn);
    expect_collect_error(&t, "\"chain_size\":2000", DGA_E_NVML_CHAIN, fn); /* cut short */
    char extra[512];
    snprintf(extra, sizeof extra, "\"chain\":\"%s\"",
             fixture_path("roots/nvidia_device_identity_ca.pem"));
    expect_collect_error(&t, extra, DGA_E_NVML_CHAIN, fn); /* one certificate */
    tmp_free(&t);
}

static char *read_record(struct tmp *t)
{
    char path[128];
    uint8_t *data = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/ready.log", t->dir);
    if (dga_file_read(path, 4096, &data, &len) != DGA_E_OK) {
        return strdup("");
    }
    return (char *)data;
}

static void test_ready_state_record(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_nvml *nvml = NULL;
    struct dga_nvml_error err;
    unsigned ready = 99;
    tmp_new(&t);
    scenario(&t, "");
    assert_int_equal(dga_nvml_open(fake_lib(), &nvml, &err), DGA_E_OK);
    assert_int_equal(dga_nvml_ready_get(nvml, &ready, &err), DGA_E_OK);
    assert_int_equal(ready, 0);
    assert_int_equal(dga_nvml_ready_set(nvml, 2, &err),
                     DGA_E_BAD_ARGUMENT); /* never reaches NVML */
    assert_int_equal(dga_nvml_ready_set(nvml, 1, &err), DGA_E_OK);
    assert_int_equal(dga_nvml_ready_get(nvml, &ready, &err), DGA_E_OK);
    assert_int_equal(ready, 1);
    dga_nvml_close(nvml);
    char *rec = read_record(&t);
    assert_string_equal(rec, "get 0 0\nset 1 0\nget 1 0\n");
    free(rec);
    /* A failing setter is an error and the record shows the attempt. */
    scenario(&t, "\"fail\":{\"call\":\"nvmlSystemSetConfComputeGpusReadyState\",\"rc\":4}");
    assert_int_equal(dga_nvml_open(fake_lib(), &nvml, &err), DGA_E_OK);
    assert_int_equal(dga_nvml_ready_set(nvml, 1, &err), DGA_E_NVML_CALL);
    assert_string_equal(err.function, "nvmlSystemSetConfComputeGpusReadyState");
    assert_int_equal(err.nvml_rc, 4);
    dga_nvml_close(nvml);
    rec = read_record(&t);
    assert_string_equal(rec, "get 0 0\nset 1 0\nget 1 0\nset 1 4\n");
    free(rec);
    /* Collection alone never touches the ready state. */
    struct dga_collection c;
    char path[128];
    snprintf(path, sizeof path, "%s/ready.log", t.dir);
    unlink(path);
    collect_ok(&t, "\"gpus\":2", &c);
    dga_collection_clear(&c);
    rec = read_record(&t);
    assert_string_equal(rec, "");
    free(rec);
    tmp_free(&t);
}

/* ---- collection with a deadline (forked child) ---- */

static void test_deadline_ok(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_collection direct, child;
    struct dga_nvml_error err;
    tmp_new(&t);
    collect_ok(&t, "\"gpus\":3,\"devtools_mode\":1", &direct);
    assert_int_equal(dga_collect_with_deadline(fake_lib(), test_nonce, 10000, &child, &err),
                     DGA_E_OK);
    assert_int_equal(child.n, 3);
    assert_int_equal(child.cc.devtools_mode, 1);
    assert_string_equal(child.driver_version, direct.driver_version);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(child.gpu[i].pci_address, direct.gpu[i].pci_address);
        assert_string_equal(child.gpu[i].uuid, direct.gpu[i].uuid);
        assert_int_equal(child.gpu[i].board_id, direct.gpu[i].board_id);
        /* Signatures are randomized; everything before them is the same. */
        assert_int_equal(child.gpu[i].report_len, direct.gpu[i].report_len);
        assert_memory_equal(child.gpu[i].report, direct.gpu[i].report,
                            direct.gpu[i].report_len - DGA_SIGNATURE_LEN);
        assert_string_equal(child.gpu[i].chain_pem, direct.gpu[i].chain_pem);
    }
    dga_collection_clear(&child);
    dga_collection_clear(&direct);
    tmp_free(&t);
}

static void test_deadline_timeout(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_collection c;
    struct dga_nvml_error err;
    struct timespec t0, t1;
    tmp_new(&t);
    scenario(&t,
             "\"hang\":{\"call\":\"nvmlDeviceGetConfComputeGpuAttestationReport\",\"ms\":20000}");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(dga_collect_with_deadline(fake_lib(), test_nonce, 300, &c, &err),
                     DGA_E_NVML_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 10); /* killed, not waited for */
    assert_string_equal(err.function, "collection child");
    tmp_free(&t);
}

static void test_deadline_child_error(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_collection c;
    struct dga_nvml_error err;
    tmp_new(&t);
    scenario(&t, "\"gpus\":2,\"fail\":{\"call\":\"nvmlDeviceGetUUID\",\"rc\":15,\"device\":1}");
    assert_int_equal(dga_collect_with_deadline(fake_lib(), test_nonce, 10000, &c, &err),
                     DGA_E_NVML_CALL);
    assert_string_equal(err.function, "nvmlDeviceGetUUID");
    assert_int_equal(err.nvml_rc, 15);
    assert_int_equal(err.device, 1);
    assert_string_equal(err.nvml_message, "GPU is lost");
    assert_int_equal(dga_collect_with_deadline("/nonexistent.so", test_nonce, 10000, &c, &err),
                     DGA_E_NVML_LOAD);
    tmp_free(&t);
}

static void test_ready_set_with_deadline(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_nvml_error err;
    char path[128];
    tmp_new(&t);
    snprintf(path, sizeof path, "%s/ready.log", t.dir);
    scenario(&t, "");
    assert_int_equal(dga_nvml_ready_set_with_deadline(fake_lib(), 2, 10000, &err),
                     DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_nvml_ready_set_with_deadline(fake_lib(), 1, 10000, &err), DGA_E_OK);
    char *rec = read_record(&t);
    assert_string_equal(rec, "set 1 0\n");
    free(rec);
    unlink(path);
    scenario(&t, "\"fail\":{\"call\":\"nvmlSystemSetConfComputeGpusReadyState\",\"rc\":3}");
    assert_int_equal(dga_nvml_ready_set_with_deadline(fake_lib(), 1, 10000, &err), DGA_E_NVML_CALL);
    assert_string_equal(err.function, "nvmlSystemSetConfComputeGpusReadyState");
    assert_int_equal(err.nvml_rc, 3);
    assert_string_equal(err.nvml_message, "Not Supported");
    rec = read_record(&t);
    assert_string_equal(rec, "set 1 3\n");
    free(rec);
    unlink(path);
    /* A setter that hangs is killed at the deadline, before it recorded anything. */
    scenario(&t, "\"hang\":{\"call\":\"nvmlSystemSetConfComputeGpusReadyState\",\"ms\":20000}");
    assert_int_equal(dga_nvml_ready_set_with_deadline(fake_lib(), 1, 300, &err),
                     DGA_E_NVML_TIMEOUT);
    rec = read_record(&t);
    assert_string_equal(rec, "");
    free(rec);
    tmp_free(&t);
}

/* The state read now, in a child; the fake's state file carries a set over to the next process. */
static void test_ready_get_with_deadline(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_nvml_error err;
    unsigned ready = 7;
    tmp_new(&t);
    scenario(&t, "\"ready_state\":1");
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 10000, &ready, &err), DGA_E_OK);
    assert_int_equal(ready, 1);
    scenario(&t, "\"ready_state_file\":\"state.txt\"");
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 10000, &ready, &err), DGA_E_OK);
    assert_int_equal(ready, 0);
    assert_int_equal(dga_nvml_ready_set_with_deadline(fake_lib(), 1, 10000, &err), DGA_E_OK);
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 10000, &ready, &err), DGA_E_OK);
    assert_int_equal(ready, 1);
    char *rec = read_record(&t);
    assert_string_equal(rec, "get 1 0\nget 0 0\nset 1 0\nget 1 0\n");
    free(rec);
    test_write_file(t.dir, "state.txt", "2\n", 2); /* not a state NVML defines */
    ready = 7;
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 10000, &ready, &err),
                     DGA_E_NVML_SIZE);
    assert_string_equal(err.function, "nvmlSystemGetConfComputeGpusReadyState");
    assert_int_equal(ready, 7);
    scenario(&t, "\"fail\":{\"call\":\"nvmlSystemGetConfComputeGpusReadyState\",\"rc\":3}");
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 10000, &ready, &err),
                     DGA_E_NVML_CALL);
    assert_string_equal(err.function, "nvmlSystemGetConfComputeGpusReadyState");
    assert_int_equal(err.nvml_rc, 3);
    scenario(&t, "\"hang\":{\"call\":\"nvmlSystemGetConfComputeGpusReadyState\",\"ms\":20000}");
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 300, &ready, &err),
                     DGA_E_NVML_TIMEOUT);
    tmp_free(&t);
}

static void test_cc_settings_with_deadline(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_cc_settings cc;
    struct dga_nvml_error err;
    tmp_new(&t);
    scenario(&t, "\"environment\":1,\"cc_feature\":0,\"devtools_mode\":1,\"multi_gpu_mode\":1");
    assert_int_equal(dga_nvml_cc_settings_with_deadline(fake_lib(), 10000, &cc, &err), DGA_E_OK);
    assert_int_equal(cc.environment, 1);
    assert_int_equal(cc.cc_feature, 0);
    assert_int_equal(cc.devtools_mode, 1);
    assert_int_equal(cc.multi_gpu_mode, 1);
    assert_int_equal(dga_cc_check(&cc, false), DGA_E_CC_OFF); /* PPCIe without the CC feature */
    cc.cc_feature = 1;
    assert_int_equal(dga_cc_check(&cc, true), DGA_E_CC_UNKNOWN); /* a simulated environment */
    cc.environment = 2;
    assert_int_equal(dga_cc_check(&cc, false), DGA_E_CC_DEVTOOLS);
    scenario(&t, "\"fail\":{\"call\":\"nvmlSystemGetConfComputeSettings\",\"rc\":3}");
    assert_int_equal(dga_nvml_cc_settings_with_deadline(fake_lib(), 10000, &cc, &err),
                     DGA_E_NVML_CALL);
    assert_string_equal(err.function, "nvmlSystemGetConfComputeSettings");
    scenario(&t, "\"hang\":{\"call\":\"nvmlSystemGetConfComputeState\",\"ms\":20000}");
    assert_int_equal(dga_nvml_cc_settings_with_deadline(fake_lib(), 300, &cc, &err),
                     DGA_E_NVML_TIMEOUT);
    tmp_free(&t);
}

/* ---- the deadline's children spawned as a fresh image of the program ($DGA_PROGRAM) ---- */

static const char *program_or_skip(void)
{
    const char *p = getenv("DGA_PROGRAM");
    if (p == NULL) {
        skip(); /* run outside ctest: no built program to spawn */
    }
    return p;
}

static int fork_again(void **state)
{
    (void)state;
    return dga_collect_set_child_program(NULL) == DGA_E_OK ? 0 : -1;
}

static void test_spawn_jobs(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_collection direct, child;
    struct dga_nvml_error err;
    struct dga_cc_settings cc;
    unsigned ready = 7;
    tmp_new(&t);
    collect_ok(&t, "\"gpus\":2,\"devtools_mode\":1,\"ready_state_file\":\"state.txt\"", &direct);
    assert_int_equal(dga_collect_set_child_program(program_or_skip()), DGA_E_OK);
    assert_int_equal(dga_collect_with_deadline(fake_lib(), test_nonce, 20000, &child, &err),
                     DGA_E_OK);
    assert_int_equal(child.n, 2);
    assert_int_equal(child.cc.devtools_mode, 1);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(child.gpu[i].uuid, direct.gpu[i].uuid);
        assert_int_equal(child.gpu[i].report_len, direct.gpu[i].report_len);
        /* the nonce crossed the command line: the same report up to the signature */
        assert_memory_equal(child.gpu[i].report, direct.gpu[i].report,
                            direct.gpu[i].report_len - DGA_SIGNATURE_LEN);
    }
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 20000, &ready, &err), DGA_E_OK);
    assert_int_equal(ready, 0);
    assert_int_equal(dga_nvml_ready_set_with_deadline(fake_lib(), 1, 20000, &err), DGA_E_OK);
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 20000, &ready, &err), DGA_E_OK);
    assert_int_equal(ready, 1);
    assert_int_equal(dga_nvml_cc_settings_with_deadline(fake_lib(), 20000, &cc, &err), DGA_E_OK);
    assert_int_equal(cc.devtools_mode, 1);
    char *rec = read_record(&t);
    assert_string_equal(rec, "get 0 0\nset 1 0\nget 1 0\n");
    free(rec);
    /* an NVML error travels back the same way */
    scenario(&t, "\"fail\":{\"call\":\"nvmlSystemGetConfComputeGpusReadyState\",\"rc\":3}");
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 20000, &ready, &err),
                     DGA_E_NVML_CALL);
    assert_string_equal(err.function, "nvmlSystemGetConfComputeGpusReadyState");
    assert_string_equal(err.nvml_message, "Not Supported");
    dga_collection_clear(&child);
    dga_collection_clear(&direct);
    tmp_free(&t);
}

/* Watches for the test's child and records its command line and image once it has exec'd. */
struct child_watch {
    pid_t parent;
    char cmdline[1024];
    size_t cmdline_len;
    char exe[PATH_MAX];
};

static pid_t parent_of(const char *pid)
{
    char path[300], stat[512];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(stat, 1, sizeof stat - 1, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    stat[n] = '\0';
    const char *close_paren = strrchr(stat, ')'); /* the name may hold spaces */
    int ppid = -1;
    return close_paren != NULL && sscanf(close_paren, ") %*c %d", &ppid) == 1 ? ppid : -1;
}

static bool watch_once(struct child_watch *w)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    bool found = false;
    while (d != NULL && !found && (de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9' || parent_of(de->d_name) != w->parent) {
            continue;
        }
        char path[300];
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        FILE *f = fopen(path, "r");
        w->cmdline_len = f != NULL ? fread(w->cmdline, 1, sizeof w->cmdline - 1, f) : 0;
        if (f != NULL) {
            fclose(f);
        }
        w->cmdline[w->cmdline_len] = '\0';
        snprintf(path, sizeof path, "/proc/%s/exe", de->d_name);
        ssize_t n = readlink(path, w->exe, sizeof w->exe - 1);
        w->exe[n > 0 ? n : 0] = '\0';
        /* until exec the child is a copy of this test */
        found = strcmp(w->cmdline, "dstack-gpu-attest-nvml-child") == 0;
    }
    if (d != NULL) {
        closedir(d);
    }
    return found;
}

static void *watch_child(void *arg)
{
    struct child_watch *w = arg;
    for (int i = 0; i < 1000 && !watch_once(w); i++) {
        usleep(5000);
    }
    return NULL;
}

/* A hang in the spawned child is killed at the deadline; the child was an exec'd image. */
static void test_spawn_hang_is_an_exec_image(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_nvml_error err;
    struct child_watch w = {.parent = getpid()};
    unsigned ready = 7;
    pthread_t watcher;
    char want_exe[PATH_MAX];
    tmp_new(&t);
    const char *program = program_or_skip();
    assert_non_null(realpath(program, want_exe));
    assert_int_equal(dga_collect_set_child_program(program), DGA_E_OK);
    scenario(&t, "\"hang\":{\"call\":\"nvmlSystemGetConfComputeGpusReadyState\",\"ms\":20000}");
    /* the watcher thread also makes this a threaded process, as the service is */
    assert_int_equal(pthread_create(&watcher, NULL, watch_child, &w), 0);
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 3000, &ready, &err),
                     DGA_E_NVML_TIMEOUT);
    assert_int_equal(pthread_join(watcher, NULL), 0);
    assert_string_equal(err.function, "collection child");
    assert_int_equal(ready, 7);
    char want[1024];
    int n =
        snprintf(want, sizeof want, "dstack-gpu-attest-nvml-child%c__nvml-child%cready-get%c%s%c",
                 0, 0, 0, fake_lib(), 0);
    assert_int_equal(w.cmdline_len, (size_t)n);
    assert_memory_equal(w.cmdline, want, (size_t)n);
    assert_string_equal(w.exe, want_exe);
    tmp_free(&t);
}

static void test_spawn_failures(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_nvml_error err;
    unsigned ready = 7;
    char long_path[PATH_MAX + 1];
    tmp_new(&t);
    scenario(&t, "");
    assert_int_equal(dga_collect_set_child_program(""), DGA_E_BAD_ARGUMENT);
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[PATH_MAX] = '\0';
    assert_int_equal(dga_collect_set_child_program(long_path), DGA_E_BAD_ARGUMENT);
    long_path[PATH_MAX - 1] = '\0'; /* PATH_MAX - 1 bytes: taken; no such program */
    assert_int_equal(dga_collect_set_child_program(long_path), DGA_E_OK);
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 10000, &ready, &err), DGA_E_IO);
    assert_string_equal(err.nvml_message, "posix_spawn: File name too long");
    /* a program that does not exist: found at the first job */
    assert_int_equal(dga_collect_set_child_program("/nonexistent/dstack-gpu-attest"), DGA_E_OK);
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 10000, &ready, &err), DGA_E_IO);
    assert_string_equal(err.function, "collection child");
    assert_string_equal(err.nvml_message, "posix_spawn: No such file or directory");
    /* a program that is not our child: exits non-zero with nothing, or writes something else */
    assert_int_equal(dga_collect_set_child_program("/bin/false"), DGA_E_OK);
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 10000, &ready, &err),
                     DGA_E_NVML_CALL);
    assert_string_equal(err.nvml_message, "exited with status 1");
    assert_int_equal(dga_collect_set_child_program("/bin/echo"), DGA_E_OK);
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 10000, &ready, &err),
                     DGA_E_BAD_JSON);
    assert_int_equal(ready, 7);
    /* a library path no child could be given is refused before spawning */
    assert_int_equal(dga_collect_set_child_program(program_or_skip()), DGA_E_OK);
    assert_int_equal(dga_nvml_ready_get_with_deadline("", 10000, &ready, &err), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 10000, &ready, &err), DGA_E_OK);
    assert_int_equal(dga_collect_set_child_program(NULL), DGA_E_OK); /* fork again */
    assert_int_equal(dga_nvml_ready_get_with_deadline(fake_lib(), 10000, &ready, &err), DGA_E_OK);
    tmp_free(&t);
}

/* The child's command line is exact: anything else exits 2 before it writes a byte. */
static void test_child_main_arguments(void **state)
{
    (void)state;
    char *bad[][6] = {
        {"__nvml-child", "ready-get", NULL},
        {"__nvml-kid", "ready-get", "/x.so", NULL},
        {"__nvml-child", "ready-got", "/x.so", NULL},
        {"__nvml-child", "ready-get", "", NULL},
        {"__nvml-child", "ready-get", "/x.so", "1", NULL},
        {"__nvml-child", "cc-settings", "/x.so", "0", NULL},
        {"__nvml-child", "state", "/x.so", "0", NULL},
        {"__nvml-child", "state", "", NULL},
        {"__nvml-child", "state-server", NULL},
        {"__nvml-child", "state-server", "", NULL},
        {"__nvml-child", "state-server", "/x.so", "1", NULL},
        {"__nvml-child", "ready-set", "/x.so", NULL},
        {"__nvml-child", "ready-set", "/x.so", "2", NULL},
        {"__nvml-child", "ready-set", "/x.so", "01", NULL},
        {"__nvml-child", "ready-set", "/x.so", "", NULL},
        {"__nvml-child", "collect", "/x.so", NULL},
        {"__nvml-child", "collect", "/x.so", "00", NULL},
        {"__nvml-child", "collect", "/x.so",
         "d6a17e57000102030405060708090a0b0c0d0e0f101112131415161718191a1g", NULL},
        {"__nvml-child", "collect", "/x.so",
         "d6a17e57000102030405060708090a0b0c0d0e0f101112131415161718191a1b00", NULL},
        {"__nvml-child", "collect", "/x.so",
         "d6a17e57000102030405060708090a0b0c0d0e0f101112131415161718191a1", NULL},
        {"__nvml-child", "collect", "/x.so",
         "d6a17e57000102030405060708090a0b0c0d0e0f101112131415161718191a1b", "x", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int argc = 0;
        while (bad[i][argc] != NULL) {
            argc++;
        }
        if (dga_collect_child_main(argc, bad[i]) != 2) {
            fail_msg("argument set %zu was accepted", i);
        }
    }
}

/* ---- the state reader: one long-lived child for many reads ---- */

static int64_t ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The process's state letter from /proc (R, S, Z...), '?' when it is gone. */
static char proc_state(pid_t pid)
{
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(stat, 1, sizeof stat - 1, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    stat[n] = '\0';
    const char *close_paren = strrchr(stat, ')');
    return close_paren != NULL && close_paren[1] == ' ' ? close_paren[2] : '?';
}

/* pid is no process any more: killed, and reaped by the reader (no zombie left). */
static void assert_reaped(pid_t pid)
{
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

static void read_state_ok(struct dga_nvml_state_reader *r, struct dga_cc_settings *cc,
                          unsigned *ready)
{
    struct dga_nvml_error err = {0};
    dga_err e = dga_nvml_state_reader_read(r, cc, ready, &err);
    if (e != DGA_E_OK) {
        fail_msg("state read: %s in %s (%s)", dga_err_name(e), err.function, err.nvml_message);
    }
}

/* Many reads, one child; each read asks the driver again (the ready state's file). */
static void test_state_reader_reads(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_nvml_state_reader *r = NULL;
    struct dga_cc_settings cc = {0};
    unsigned ready = 7;
    tmp_new(&t);
    scenario(&t, "\"devtools_mode\":1,\"ready_state_file\":\"state.txt\"");
    assert_int_equal(dga_collect_set_child_program(program_or_skip()), DGA_E_OK);
    assert_int_equal(dga_nvml_state_reader_new(fake_lib(), 20000, &r), DGA_E_OK);
    assert_int_equal(dga_nvml_state_reader_pid(r), -1); /* started by the first read */
    read_state_ok(r, &cc, &ready);
    assert_int_equal(cc.devtools_mode, 1);
    assert_int_equal(cc.cc_feature, 1);
    assert_int_equal(cc.environment, 2);
    assert_int_equal(ready, 0);
    pid_t pid = dga_nvml_state_reader_pid(r);
    assert_true(pid > 0);
    assert_true(pid != getpid());
    for (int i = 0; i < 20; i++) {
        read_state_ok(r, &cc, &ready);
        assert_int_equal(dga_nvml_state_reader_pid(r), pid);
    }
    /* a set from another process (the gate's child) is seen at the next read */
    struct dga_nvml_error err = {0};
    assert_int_equal(dga_nvml_ready_set_with_deadline(fake_lib(), 1, 20000, &err), DGA_E_OK);
    read_state_ok(r, &cc, &ready);
    assert_int_equal(ready, 1);
    test_write_file(t.dir, "state.txt", "0\n", 2); /* a driver reload */
    read_state_ok(r, &cc, &ready);
    assert_int_equal(ready, 0);
    assert_int_equal(dga_nvml_state_reader_pid(r), pid);
    char *rec = read_record(&t);
    assert_string_equal(rec, "get 0 0\nget 0 0\nget 0 0\nget 0 0\nget 0 0\nget 0 0\nget 0 0\n"
                             "get 0 0\nget 0 0\nget 0 0\nget 0 0\nget 0 0\nget 0 0\nget 0 0\n"
                             "get 0 0\nget 0 0\nget 0 0\nget 0 0\nget 0 0\nget 0 0\nget 0 0\n"
                             "set 1 0\nget 1 0\nget 0 0\n");
    free(rec);
    /* NVML's errors are answers: the read fails with them, the child stays */
    test_write_file(t.dir, "state.txt", "2\n", 2); /* not a state NVML defines */
    ready = 7;
    assert_int_equal(dga_nvml_state_reader_read(r, &cc, &ready, &err), DGA_E_NVML_SIZE);
    assert_string_equal(err.function, "nvmlSystemGetConfComputeGpusReadyState");
    assert_int_equal(ready, 7);
    scenario(&t, "\"fail\":{\"call\":\"nvmlSystemGetConfComputeSettings\",\"rc\":3}");
    assert_int_equal(dga_nvml_state_reader_read(r, &cc, &ready, &err), DGA_E_NVML_CALL);
    assert_string_equal(err.function, "nvmlSystemGetConfComputeSettings");
    assert_int_equal(err.nvml_rc, 3);
    assert_string_equal(err.nvml_message, "Not Supported");
    assert_int_equal(dga_nvml_state_reader_pid(r), pid);
    /* the scenario rewritten: the child reopened NVML after the error and reads it now */
    scenario(&t, "\"cc_feature\":0,\"ready_state\":1");
    read_state_ok(r, &cc, &ready);
    assert_int_equal(cc.cc_feature, 0);
    assert_int_equal(cc.devtools_mode, 0);
    assert_int_equal(ready, 1);
    assert_int_equal(dga_nvml_state_reader_pid(r), pid);
    dga_nvml_state_reader_free(r); /* the child exits at EOF, and is reaped */
    assert_reaped(pid);
    tmp_free(&t);
}

/* A hang costs that read its deadline, the child is killed and reaped; the next read respawns. */
static void test_state_reader_hang(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_nvml_state_reader *r = NULL;
    struct dga_cc_settings cc = {0};
    struct dga_nvml_error err = {0};
    struct timespec t0;
    unsigned ready = 7;
    tmp_new(&t);
    scenario(&t, "");
    assert_int_equal(dga_collect_set_child_program(program_or_skip()), DGA_E_OK);
    assert_int_equal(dga_nvml_state_reader_new(fake_lib(), 5000, &r), DGA_E_OK);
    read_state_ok(r, &cc, &ready);
    read_state_ok(r, &cc, &ready);
    pid_t first = dga_nvml_state_reader_pid(r);
    /* the third read hangs in the driver: the running child reloads the rewritten scenario */
    scenario(&t, "\"hang\":{\"call\":\"nvmlSystemGetConfComputeGpusReadyState\",\"ms\":60000}");
    ready = 7;
    cc.environment = 9;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(dga_nvml_state_reader_read(r, &cc, &ready, &err), DGA_E_NVML_TIMEOUT);
    int64_t took = ms_since(&t0);
    assert_true(took >= 4900 && took < 8000); /* its deadline, not the hang's minute */
    assert_string_equal(err.function, "collection child");
    assert_int_equal(ready, 7);
    assert_int_equal(cc.environment, 9);
    assert_int_equal(dga_nvml_state_reader_pid(r), -1);
    assert_reaped(first);
    scenario(&t, "\"ready_state\":1");
    read_state_ok(r, &cc, &ready);
    assert_int_equal(ready, 1);
    pid_t second = dga_nvml_state_reader_pid(r);
    assert_true(second > 0 && second != first);
    /* killed between reads: the next read replaces it and succeeds */
    assert_int_equal(kill(second, SIGKILL), 0);
    for (int i = 0; i < 500 && proc_state(second) != 'Z'; i++) {
        usleep(10000);
    }
    assert_int_equal(proc_state(second), 'Z');
    read_state_ok(r, &cc, &ready);
    pid_t third = dga_nvml_state_reader_pid(r);
    assert_true(third > 0 && third != second);
    assert_reaped(second);
    dga_nvml_state_reader_free(r);
    assert_reaped(third);
    tmp_free(&t);
}

/* Children that are not a state server, and paths no child could be given. */
static void test_state_reader_failures(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_nvml_state_reader *r = NULL;
    struct dga_cc_settings cc = {0};
    struct dga_nvml_error err = {0};
    unsigned ready = 7;
    char long_path[PATH_MAX + 1];
    tmp_new(&t);
    scenario(&t, "");
    assert_int_equal(dga_nvml_state_reader_new("", 5000, &r), DGA_E_BAD_ARGUMENT);
    memset(long_path, 'a', PATH_MAX);
    long_path[PATH_MAX] = '\0';
    assert_int_equal(dga_nvml_state_reader_new(long_path, 5000, &r), DGA_E_BAD_ARGUMENT);
    assert_null(r);
    assert_int_equal(dga_nvml_state_reader_new(fake_lib(), 5000, &r), DGA_E_OK);
    /* a program that does not exist: the exact error, at the read */
    assert_int_equal(dga_collect_set_child_program("/nonexistent/dstack-gpu-attest"), DGA_E_OK);
    assert_int_equal(dga_nvml_state_reader_read(r, &cc, &ready, &err), DGA_E_IO);
    assert_string_equal(err.function, "collection child");
    assert_string_equal(err.nvml_message, "posix_spawn: No such file or directory");
    assert_int_equal(dga_nvml_state_reader_pid(r), -1);
    /* a program that exits without an answer */
    assert_int_equal(dga_collect_set_child_program("/bin/false"), DGA_E_OK);
    assert_int_equal(dga_nvml_state_reader_read(r, &cc, &ready, &err), DGA_E_NVML_CALL);
    assert_string_equal(err.function, "collection child");
    assert_string_equal(err.nvml_message, "exited with status 1");
    assert_int_equal(dga_nvml_state_reader_pid(r), -1);
    /* a program that answers something else (cat: the request itself), killed and reaped */
    assert_int_equal(dga_collect_set_child_program("/bin/cat"), DGA_E_OK);
    assert_int_equal(dga_nvml_state_reader_read(r, &cc, &ready, &err), DGA_E_BAD_JSON);
    assert_string_equal(err.function, "collection child");
    assert_int_equal(dga_nvml_state_reader_pid(r), -1);
    assert_int_equal(ready, 7);
    /* the real child again: the next read works */
    assert_int_equal(dga_collect_set_child_program(program_or_skip()), DGA_E_OK);
    read_state_ok(r, &cc, &ready);
    assert_int_equal(ready, 0);
    dga_nvml_state_reader_free(r);
    /* no child program (a forking program): one child per read, nothing kept */
    assert_int_equal(dga_collect_set_child_program(NULL), DGA_E_OK);
    assert_int_equal(dga_nvml_state_reader_new(fake_lib(), 5000, &r), DGA_E_OK);
    read_state_ok(r, &cc, &ready);
    assert_int_equal(dga_nvml_state_reader_pid(r), -1);
    dga_nvml_state_reader_free(r);
    dga_nvml_state_reader_free(NULL);
    tmp_free(&t);
}

/* Both values in one child (the one-shot `state` job), its errors and its deadline. */
static void test_state_with_deadline(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_cc_settings cc = {0};
    struct dga_nvml_error err = {0};
    unsigned ready = 7;
    tmp_new(&t);
    scenario(&t, "\"multi_gpu_mode\":1,\"ready_state\":1");
    assert_int_equal(dga_nvml_state_with_deadline(fake_lib(), 10000, &cc, &ready, &err), DGA_E_OK);
    assert_int_equal(cc.multi_gpu_mode, 1);
    assert_int_equal(ready, 1);
    char *rec = read_record(&t);
    assert_string_equal(rec, "get 1 0\n");
    free(rec);
    scenario(&t, "\"fail\":{\"call\":\"nvmlSystemGetConfComputeGpusReadyState\",\"rc\":3}");
    ready = 7;
    assert_int_equal(dga_nvml_state_with_deadline(fake_lib(), 10000, &cc, &ready, &err),
                     DGA_E_NVML_CALL);
    assert_string_equal(err.function, "nvmlSystemGetConfComputeGpusReadyState");
    assert_int_equal(ready, 7);
    scenario(&t, "\"hang\":{\"call\":\"nvmlSystemGetConfComputeState\",\"ms\":20000}");
    assert_int_equal(dga_nvml_state_with_deadline(fake_lib(), 300, &cc, &ready, &err),
                     DGA_E_NVML_TIMEOUT);
    assert_int_equal(dga_nvml_state_with_deadline("/nonexistent.so", 10000, &cc, &ready, &err),
                     DGA_E_NVML_LOAD);
    tmp_free(&t);
}

/* The state server's protocol on its own: one answer line per request line, strictly. */
static void test_state_server_protocol(void **state)
{
    (void)state;
    struct tmp t;
    char cmd[2048], path[128];
    tmp_new(&t);
    scenario(&t, "\"ready_state\":1");
    const char *program = program_or_skip();
    const char *cases[][2] = {
        {"state\\n", "{\"cc\":{\"environment\":2,\"cc_feature\":1,\"devtools_mode\":0,"
                     "\"multi_gpu_mode\":0,\"mode\":\"on\"},\"ready\":1}\n0\n"},
        /* a second request before the answer (one write: one read gets both) */
        {"state\\nstate\\n", "2\n"},
        {"", "0\n"}, /* EOF at once: NVML never opened */
        {"stat\\n", "2\n"},
        {"state", "2\n"}, /* EOF inside a line */
        {"statestatestatestate\\n", "2\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(cmd, sizeof cmd,
                 "printf '%s' | '%s' __nvml-child state-server '%s' >'%s/out' 2>/dev/null; "
                 "echo $? >>'%s/out'",
                 cases[i][0], program, fake_lib(), t.dir, t.dir);
        assert_int_equal(system(cmd), 0);
        snprintf(path, sizeof path, "%s/out", t.dir);
        size_t len = 0;
        char *out = NULL;
        assert_int_equal(dga_file_read(path, 1 << 16, (uint8_t **)&out, &len), DGA_E_OK);
        assert_string_equal(out, cases[i][1]);
        free(out);
    }
    tmp_free(&t);
}

/* ---- the collection JSON ---- */

static void test_json_round_trip_and_tamper(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_collection c, back;
    struct dga_diag diag;
    tmp_new(&t);
    collect_ok(&t, "\"gpus\":2", &c);
    json_t *j = dga_collection_to_json(&c);
    json_t *dev = json_array_get(json_object_get(j, "evidences"), 1);
    assert_string_equal(json_string_value(json_object_get(dev, "arch")), "HOPPER");
    assert_string_equal(json_string_value(json_object_get(dev, "pci_address")), "0000:19:00.0");
    assert_string_equal(json_string_value(json_object_get(json_object_get(dev, "cc"), "mode")),
                        "on");
    char *text = json_dumps(j, JSON_COMPACT);
    assert_int_equal(dga_collection_from_json(text, strlen(text), &back, &diag), DGA_E_OK);
    assert_int_equal(back.n, 2);
    assert_memory_equal(back.gpu[1].report, c.gpu[1].report, c.gpu[1].report_len);
    assert_string_equal(back.gpu[1].uuid, c.gpu[1].uuid);
    dga_collection_clear(&back);
    free(text);

    /* A device whose nonce is not the collection's. */
    json_object_set_new(dev, "nonce", json_string(NONCE_N1));
    text = json_dumps(j, JSON_COMPACT);
    assert_int_equal(dga_collection_from_json(text, strlen(text), &back, &diag),
                     DGA_E_NONCE_MISMATCH);
    assert_int_equal(diag.offset, 1);
    free(text);
    /* A malformed PCI address. */
    json_object_set_new(dev, "nonce", json_string(json_string_value(json_object_get(j, "nonce"))));
    json_object_set_new(dev, "pci_address", json_string("0000:19:00"));
    text = json_dumps(j, JSON_COMPACT);
    assert_int_equal(dga_collection_from_json(text, strlen(text), &back, &diag), DGA_E_PCI_ADDRESS);
    free(text);
    /* A UUID longer than NVML's buffer. */
    json_object_set_new(dev, "pci_address", json_string("0000:19:00.0"));
    char long_uuid[DGA_NVML_UUID_MAX + 1];
    memset(long_uuid, 'a', DGA_NVML_UUID_MAX);
    long_uuid[DGA_NVML_UUID_MAX] = '\0';
    json_object_set_new(dev, "uuid", json_string(long_uuid));
    text = json_dumps(j, JSON_COMPACT);
    assert_int_equal(dga_collection_from_json(text, strlen(text), &back, &diag), DGA_E_TOO_LARGE);
    free(text);
    /* Truncated text. */
    text = json_dumps(j, JSON_COMPACT);
    assert_int_equal(dga_collection_from_json(text, strlen(text) / 2, &back, &diag),
                     DGA_E_BAD_JSON);
    free(text);
    json_decref(j);
    dga_collection_clear(&c);
    tmp_free(&t);
}

/* ---- sysfs inventory ---- */

static void pci_entry(struct tmp *t, const char *addr, const char *vendor, const char *device,
                      const char *class_code)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/pci/%s", t->dir, addr);
    assert_int_equal(mkdir(dir, 0755), 0);
    if (vendor != NULL) {
        test_write_file(dir, "vendor", vendor, strlen(vendor));
    }
    if (device != NULL) {
        test_write_file(dir, "device", device, strlen(device));
    }
    if (class_code != NULL) {
        test_write_file(dir, "class", class_code, strlen(class_code));
    }
}

static const char *pci_root(struct tmp *t)
{
    static char root[128];
    snprintf(root, sizeof root, "%s/pci", t->dir);
    mkdir(root, 0755);
    return root;
}

/* A host bridge, an NVIDIA audio function and two GPUs (VGA and 3D class). */
static void base_tree(struct tmp *t)
{
    pci_root(t);
    pci_entry(t, "0000:00:00.0", "0x8086\n", "0x1237\n", "0x060000\n");
    pci_entry(t, "0000:19:00.0", "0x10de\n", "0x2330\n", "0x030200\n");
    pci_entry(t, "0000:18:00.0", "0x10de\n", "0x2330\n", "0x030000\n");
    pci_entry(t, "0000:18:00.1", "0x10de\n", "0x22a3\n", "0x040300\n");
}

static void test_inventory_gpus(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_inventory inv;
    struct dga_inventory_error err;
    tmp_new(&t);
    base_tree(&t);
    assert_int_equal(dga_inventory_scan(pci_root(&t), &inv, &err), DGA_E_OK);
    assert_int_equal(inv.n_gpus, 2);
    assert_int_equal(inv.n_switches, 0);
    assert_string_equal(inv.gpu[0].address, "0000:18:00.0"); /* sorted */
    assert_string_equal(inv.gpu[1].address, "0000:19:00.0");
    assert_int_equal(inv.gpu[1].class_code, 0x030200);
    assert_int_equal(inv.gpu[0].device, 0x2330);
    tmp_free(&t);
}

static void test_inventory_nvswitch(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_inventory inv;
    struct dga_inventory_error err;
    tmp_new(&t);
    base_tree(&t);
    pci_entry(&t, "0000:05:00.0", "0x10de\n", "0x22a3\n", "0x068000\n");
    pci_entry(&t, "0000:06:00.0", "0x10de\n", "0x22a3\n", "0x068000\n");
    pci_entry(&t, "0000:07:00.0", "0x1000\n", "0xc010\n", "0x068000\n"); /* not NVIDIA */
    assert_int_equal(dga_inventory_scan(pci_root(&t), &inv, &err), DGA_E_OK);
    assert_int_equal(inv.n_gpus, 2);
    assert_int_equal(inv.n_switches, 2);
    assert_string_equal(inv.nvswitch[0].address, "0000:05:00.0");
    assert_int_equal(inv.nvswitch[1].kind, DGA_PCI_NVSWITCH);
    tmp_free(&t);
}

static void test_inventory_foreign_display(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_inventory inv;
    struct dga_inventory_error err;
    tmp_new(&t);
    base_tree(&t);
    pci_entry(&t, "0000:00:02.0", "0x1234\n", "0x1111\n", "0x030000\n"); /* a VGA device */
    assert_int_equal(dga_inventory_scan(pci_root(&t), &inv, &err), DGA_E_PCI_FOREIGN_DISPLAY);
    assert_string_equal(err.entry, "0000:00:02.0");
    assert_string_equal(err.file, "class");
    tmp_free(&t);
}

static void test_inventory_unreadable(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_inventory inv;
    struct dga_inventory_error err;
    char path[256];
    tmp_new(&t);
    base_tree(&t);
    /* A class attribute that cannot be read (a directory: root reads any mode). */
    pci_entry(&t, "0000:20:00.0", "0x10de\n", "0x2330\n", NULL);
    snprintf(path, sizeof path, "%s/pci/0000:20:00.0/class", t.dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(dga_inventory_scan(pci_root(&t), &inv, &err), DGA_E_PCI_UNREADABLE);
    assert_string_equal(err.entry, "0000:20:00.0");
    assert_string_equal(err.file, "class");
    tmp_free(&t);

    tmp_new(&t);
    base_tree(&t);
    pci_entry(&t, "0000:21:00.0", NULL, "0x2330\n", "0x030200\n"); /* no vendor */
    assert_int_equal(dga_inventory_scan(pci_root(&t), &inv, &err), DGA_E_PCI_UNREADABLE);
    assert_string_equal(err.file, "vendor");
    tmp_free(&t);

    tmp_new(&t);
    base_tree(&t);
    pci_entry(&t, "0000:22:00.0", "0x10de\n", "0x2330\n", "0x03020\x01\n"); /* garbage */
    assert_int_equal(dga_inventory_scan(pci_root(&t), &inv, &err), DGA_E_PCI_UNREADABLE);
    tmp_free(&t);

    assert_int_equal(dga_inventory_scan("/nonexistent/pci", &inv, &err), DGA_E_PCI_UNREADABLE);
}

static void test_inventory_bad_entry_name(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_inventory inv;
    struct dga_inventory_error err;
    tmp_new(&t);
    base_tree(&t);
    pci_entry(&t, "not-a-device", "0x10de\n", "0x2330\n", "0x030200\n");
    assert_int_equal(dga_inventory_scan(pci_root(&t), &inv, &err), DGA_E_PCI_ADDRESS);
    assert_string_equal(err.entry, "not-a-device");
    tmp_free(&t);
}

static void test_inventory_vs_nvml_and_evidence(void **state)
{
    (void)state;
    struct tmp t;
    struct dga_inventory inv;
    struct dga_collection c;
    struct dga_evidence_set set;
    struct dga_diag diag;
    tmp_new(&t);
    base_tree(&t); /* GPUs at 18:00.0 and 19:00.0, where the fake puts its two */
    assert_int_equal(dga_inventory_scan(pci_root(&t), &inv, NULL), DGA_E_OK);
    collect_ok(&t, "\"gpus\":2", &c);
    assert_int_equal(dga_inventory_check_collection(&inv, &c, &diag), DGA_E_OK);
    assert_int_equal(dga_collection_to_evidence(&c, &set), DGA_E_OK);
    assert_int_equal(dga_inventory_check_evidence(&inv, &set, true, &diag), DGA_E_OK);
    dga_evidence_set_clear(&set);
    dga_collection_clear(&c);

    /* NVML sees one GPU fewer than sysfs (a GPU hidden from the guest driver). */
    collect_ok(&t, "\"gpus\":1", &c);
    assert_int_equal(dga_inventory_check_collection(&inv, &c, &diag), DGA_E_INVENTORY_MISMATCH);
    assert_string_equal(diag.field, "gpu-count");
    assert_int_equal(dga_collection_to_evidence(&c, &set), DGA_E_OK);
    assert_int_equal(dga_inventory_check_evidence(&inv, &set, false, &diag),
                     DGA_E_INVENTORY_MISMATCH);
    dga_evidence_set_clear(&set);
    dga_collection_clear(&c);

    /* Same count, but NVML's second GPU is not one sysfs lists. */
    collect_ok(&t, "\"gpus\":2,\"pci_bus_ids\":[\"00000000:18:00.0\",\"00000000:42:00.0\"]", &c);
    assert_int_equal(dga_inventory_check_collection(&inv, &c, &diag), DGA_E_INVENTORY_MISMATCH);
    assert_string_equal(diag.field, "gpu-pci-address");
    assert_int_equal(diag.offset, 1);
    dga_collection_clear(&c);

    /* NVML reporting one address twice. */
    collect_ok(&t, "\"gpus\":2,\"pci_bus_ids\":[\"00000000:18:00.0\",\"00000000:18:00.0\"]", &c);
    assert_int_equal(dga_inventory_check_collection(&inv, &c, &diag), DGA_E_INVENTORY_MISMATCH);
    dga_collection_clear(&c);

    /* A malformed bus id from NVML. */
    expect_collect_error(&t, "\"pci_bus_ids\":[\"00000000:18:00\"]", DGA_E_PCI_ADDRESS,
                         "nvmlDeviceGetPciInfo_v3");

    /* NVSwitches in the inventory but none in the evidence: only when switches are required. */
    pci_entry(&t, "0000:05:00.0", "0x10de\n", "0x22a3\n", "0x068000\n");
    assert_int_equal(dga_inventory_scan(pci_root(&t), &inv, NULL), DGA_E_OK);
    collect_ok(&t, "\"gpus\":2", &c);
    assert_int_equal(dga_collection_to_evidence(&c, &set), DGA_E_OK);
    assert_int_equal(dga_inventory_check_evidence(&inv, &set, true, &diag),
                     DGA_E_INVENTORY_MISMATCH);
    assert_string_equal(diag.field, "nvswitch-count");
    assert_int_equal(dga_inventory_check_evidence(&inv, &set, false, &diag), DGA_E_OK);
    dga_evidence_set_clear(&set);
    dga_collection_clear(&c);
    tmp_free(&t);
}

static void test_sysfs_hex_parse(void **state)
{
    (void)state;
    uint32_t v = 0;
    assert_int_equal(dga_sysfs_hex_parse("0x10de\n", 7, 0xffff, &v), DGA_E_OK);
    assert_int_equal(v, 0x10de);
    assert_int_equal(dga_sysfs_hex_parse("0x030200", 8, 0xffffff, &v), DGA_E_OK);
    assert_int_equal(v, 0x030200);
    assert_int_equal(dga_sysfs_hex_parse("0x10000", 7, 0xffff, &v), DGA_E_TOO_LARGE);
    assert_int_equal(dga_sysfs_hex_parse("10de\n", 5, 0xffff, &v), DGA_E_BAD_HEX);
    assert_int_equal(dga_sysfs_hex_parse("0x\n", 3, 0xffff, &v), DGA_E_BAD_HEX);
    assert_int_equal(dga_sysfs_hex_parse("0x10de\n\n", 8, 0xffff, &v), DGA_E_BAD_HEX);
    assert_int_equal(dga_sysfs_hex_parse("0x 10de", 7, 0xffff, &v), DGA_E_BAD_HEX);
    assert_int_equal(dga_sysfs_hex_parse("0x123456789", 11, 0xffffffff, &v), DGA_E_BAD_HEX);
}

static void test_collect_nonce(void **state)
{
    (void)state;
    uint8_t a[DGA_NONCE_LEN], b[DGA_NONCE_LEN];
    assert_int_equal(dga_collect_nonce(a), DGA_E_OK);
    assert_int_equal(dga_collect_nonce(b), DGA_E_OK);
    assert_memory_not_equal(a, b, DGA_NONCE_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cc_on_one_gpu),
        cmocka_unit_test(test_cc_off),
        cmocka_unit_test(test_devtools),
        cmocka_unit_test(test_protected_pcie),
        cmocka_unit_test(test_cc_allow_list),
        cmocka_unit_test(test_zero_gpus),
        cmocka_unit_test(test_eight_gpus_verify),
        cmocka_unit_test(test_fake_duplicate_knobs),
        cmocka_unit_test(test_appraise_with_test_root),
        cmocka_unit_test(test_appraise_with_nvidia_root_fails),
        cmocka_unit_test(test_fake_tampering_detected),
        cmocka_unit_test(test_blackwell_and_unknown_arch),
        cmocka_unit_test(test_nvml_missing),
        cmocka_unit_test(test_symbol_missing),
        cmocka_unit_test(test_init_fails),
        cmocka_unit_test(test_error_at_each_call),
        cmocka_unit_test(test_report_sizes),
        cmocka_unit_test(test_chain_sizes),
        cmocka_unit_test(test_ready_state_record),
        cmocka_unit_test(test_deadline_ok),
        cmocka_unit_test(test_deadline_timeout),
        cmocka_unit_test(test_deadline_child_error),
        cmocka_unit_test(test_ready_set_with_deadline),
        cmocka_unit_test(test_ready_get_with_deadline),
        cmocka_unit_test(test_cc_settings_with_deadline),
        cmocka_unit_test_teardown(test_spawn_jobs, fork_again),
        cmocka_unit_test_teardown(test_spawn_hang_is_an_exec_image, fork_again),
        cmocka_unit_test_teardown(test_spawn_failures, fork_again),
        cmocka_unit_test(test_child_main_arguments),
        cmocka_unit_test_teardown(test_state_reader_reads, fork_again),
        cmocka_unit_test_teardown(test_state_reader_hang, fork_again),
        cmocka_unit_test_teardown(test_state_reader_failures, fork_again),
        cmocka_unit_test(test_state_with_deadline),
        cmocka_unit_test(test_state_server_protocol),
        cmocka_unit_test(test_json_round_trip_and_tamper),
        cmocka_unit_test(test_inventory_gpus),
        cmocka_unit_test(test_inventory_nvswitch),
        cmocka_unit_test(test_inventory_foreign_display),
        cmocka_unit_test(test_inventory_unreadable),
        cmocka_unit_test(test_inventory_bad_entry_name),
        cmocka_unit_test(test_inventory_vs_nvml_and_evidence),
        cmocka_unit_test(test_sysfs_hex_parse),
        cmocka_unit_test(test_collect_nonce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
