/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NVSwitch evidence through NSCQ against the fake NSCQ (tests/fake_nscq, loaded through the
 * collector's own dlopen path, $DGA_FAKE_NSCQ): the switches, their reports (nonce, PDIs,
 * signature, chain under the test root), every injected NSCQ error by its exact name with the
 * function and switch, hangs killed at the deadline with the child reaped, the bounds, and the
 * switch evidence JSON both ways.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "dga/collect.h"
#include "dga/util.h"
#include "dga/x509.h"
#include "testutil.h"

#define LS10 "nvswitch/ls10_96.10.55.00.01/"
#define LS10_REPORT_LEN 2168
#define LABEL(i) "SWITCH-505152535455565758595a5b5c5d5e0" #i
#define CB "nscq_session_path_observe callback"

static const uint8_t test_nonce[DGA_NONCE_LEN] = {
    0x5c, 0x17, 0x7e, 0x57, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
    0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
};

/* The repository's scenario ppcie_4sw.json: own PDI and 8 GPU PDIs per switch. */
static const char *const own_pdis[4] = {"666e93e19dec7d2d", "3a53b743d811e977", "9ae3beba9e673275",
                                        "03dba23b3c11bd8a"};
static const char *const gpu_pdis_0[8] = {
    "5a16bcd6465b2415", "a6cba1e9d9c7924e", "444a500c0208a298", "2e7aa130caa058dd",
    "f99ff1905d0bb266", "8d8735ca47d6fc15", "2921ce551e4eeda3", "9bdffe09391c64d4"};
static const char *const gpu_pdis_1[8] = {
    "2921ce551e4eeda3", "9bdffe09391c64d4", "8d8735ca47d6fc15", "a6cba1e9d9c7924e",
    "5a16bcd6465b2415", "444a500c0208a298", "f99ff1905d0bb266", "2e7aa130caa058dd"};

static char tmp_dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/dga-nscq-XXXXXX");
    return mkdtemp(tmp_dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *env_or_fail(const char *name)
{
    const char *p = getenv(name);
    if (p == NULL) {
        fail_msg("%s is not set (run through ctest)", name);
    }
    return p;
}

static const char *fake_lib(void)
{
    return env_or_fail("DGA_FAKE_NSCQ");
}

/* The repository's scenario file `name` (tests/fake_nscq/scenarios). */
static void use_scenario(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", env_or_fail("DGA_NSCQ_SCENARIOS"), name);
    assert_int_equal(setenv("DGA_FAKE_NSCQ_SCENARIO", path, 1), 0);
}

/* A scenario: the LS10 report and the test chain, 4 switches, plus `extra` JSON members. */
static void scenario(const char *extra)
{
    char text[4096], report[1024], chain[1024], path[128];
    snprintf(report, sizeof report, "%s", fixture_path(LS10 "report.hex"));
    snprintf(chain, sizeof chain, "%s", fixture_path("testpki/certchain.pem"));
    int n = snprintf(text, sizeof text, "{\"report\":\"%s\",\"chain\":\"%s\"%s%s}", report, chain,
                     extra[0] != '\0' ? "," : "", extra);
    assert_true(n > 0 && (size_t)n < sizeof text);
    test_write_file(tmp_dir, "scenario.json", text, (size_t)n);
    snprintf(path, sizeof path, "%s/scenario.json", tmp_dir);
    assert_int_equal(setenv("DGA_FAKE_NSCQ_SCENARIO", path, 1), 0);
}

static void collect_ok(struct dga_switch_collection *c)
{
    struct dga_nscq_error err;
    dga_err e = dga_nscq_collect(fake_lib(), test_nonce, c, &err);
    if (e != DGA_E_OK) {
        fail_msg("collect: %s in %s %s (rc %d, switch %d)", dga_err_name(e), err.function, err.path,
                 err.nscq_rc, err.switch_index);
    }
}

/* The TLV's value in a parsed report, as lowercase hex of its first n bytes. */
static void tlv_hex(const struct dga_report *r, unsigned id, size_t n, char *out)
{
    assert_true(r->opaque.present[id]);
    assert_true(r->opaque.known[id].len >= n);
    dga_hex_encode(r->opaque.known[id].data, n, out);
}

/* The report verifies with its chain's leaf, and the chain under the test root as an LS10's. */
static void assert_switch_verifies(const struct dga_switch_collected *s)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
    _cleanup_(dga_trust_clearp) struct dga_trust trust = {0};
    struct dga_chain_info info;
    size_t root_len;
    char *root = (char *)fixture_read("testpki/root.pem", &root_len);
    assert_int_equal(dga_trust_from_pem(root, root_len, &trust), DGA_E_OK);
    free(root);
    assert_int_equal(dga_pem_chain_parse(s->chain_pem, s->chain_pem_len, &chain, NULL), DGA_E_OK);
    assert_int_equal(dga_device_chain_verify(chain, DGA_ARCH_LS10, &trust, time(NULL), &info, NULL),
                     DGA_E_OK);
    size_t signed_len = s->report_len - DGA_SIGNATURE_LEN;
    assert_int_equal(dga_report_signature_verify(sk_X509_value(chain, 0), s->report, signed_len,
                                                 s->report + signed_len),
                     DGA_E_OK);
}

static void assert_switch(const struct dga_switch_collection *c, size_t i,
                          const char *const gpus[8])
{
    const struct dga_switch_collected *s = &c->sw[i];
    static const char *const labels[] = {LABEL(0), LABEL(1), LABEL(2), LABEL(3)};
    struct dga_report *r = malloc(sizeof *r);
    char hex[2 * 64 + 1], want[2 * 64 + 1] = "";
    assert_non_null(r);
    assert_int_equal(s->index, i);
    assert_string_equal(s->label, labels[i]);
    assert_int_equal(s->uuid[0], 0x50);
    assert_int_equal(s->uuid[15], i);
    assert_int_equal(s->arch, DGA_ARCH_LS10);
    assert_int_equal(s->tnvl_status, 3);
    assert_int_equal(s->report_len, LS10_REPORT_LEN);
    assert_memory_equal(s->report + 4, test_nonce, DGA_NONCE_LEN);
    assert_int_equal(dga_report_parse(s->report, s->report_len, DGA_ARCH_LS10, r, NULL), DGA_E_OK);
    assert_memory_equal(r->nonce, test_nonce, DGA_NONCE_LEN);
    tlv_hex(r, DGA_TLV_SWITCH_PDI, 8, hex);
    assert_string_equal(hex, own_pdis[i]);
    for (size_t g = 0; g < 8; g++) {
        strcat(want, gpus[g]);
    }
    tlv_hex(r, DGA_TLV_SWITCH_GPU_PDIS, 64, hex);
    assert_string_equal(hex, want);
    free(r);
    assert_switch_verifies(s);
}

static void assert_ppcie_4sw(const struct dga_switch_collection *c)
{
    assert_int_equal(c->n, 4);
    assert_memory_equal(c->nonce, test_nonce, DGA_NONCE_LEN);
    assert_switch(c, 0, gpu_pdis_0);
    for (size_t i = 1; i < 4; i++) {
        assert_switch(c, i, gpu_pdis_1);
    }
}

/* ---- collection ---- */

static void test_four_switches(void **state)
{
    (void)state;
    struct dga_switch_collection c;
    use_scenario("ppcie_4sw.json");
    collect_ok(&c);
    assert_ppcie_4sw(&c);
    dga_switch_collection_clear(&c);
    dga_switch_collection_clear(&c); /* twice is harmless */
}

/* The TNVL status is kept as NSCQ gave it: -1 (unknown) is not turned into anything else. */
static void test_tnvl_raw(void **state)
{
    (void)state;
    struct dga_switch_collection c;
    struct dga_nscq_error err;
    use_scenario("tnvl_mixed.json");
    collect_ok(&c);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.sw[0].tnvl_status, -1);
    assert_int_equal(c.sw[1].tnvl_status, 0);
    assert_int_equal(c.sw[2].tnvl_status, 1);
    assert_int_equal(c.sw[3].tnvl_status, 2);
    dga_switch_collection_clear(&c);
    /* and through the child's JSON */
    assert_int_equal(dga_nscq_collect_with_deadline(fake_lib(), test_nonce, 20000, &c, &err),
                     DGA_E_OK);
    assert_int_equal(c.sw[0].tnvl_status, -1);
    assert_int_equal(c.sw[3].tnvl_status, 2);
    dga_switch_collection_clear(&c);
}

static void test_zero_switches(void **state)
{
    (void)state;
    struct dga_switch_collection c;
    scenario("\"switches\":0");
    collect_ok(&c);
    assert_int_equal(c.n, 0);
    dga_switch_collection_clear(&c);
}

/* ---- errors ---- */

struct error_case {
    const char *fail; /* the fake's "fail" object */
    dga_err want;
    const char *function;
    const char *path;
    int rc;
    int sw;
};

static const struct error_case error_cases[] = {
    {"{\"call\":\"nscq_session_create\",\"rc\":-7}", DGA_E_NSCQ_DRIVER, "nscq_session_create", "",
     -7, -1},
    {"{\"call\":\"nscq_session_create\",\"rc\":1}", DGA_E_NSCQ_WARNING, "nscq_session_create", "",
     1, -1},
    {"{\"call\":\"nscq_session_create\",\"rc\":-3}", DGA_E_NSCQ_NOT_MOUNTABLE,
     "nscq_session_create", "", -3, -1},
    {"{\"call\":\"nscq_uuid_to_label\",\"rc\":-2,\"switch\":2}", DGA_E_NSCQ_INVALID_UUID,
     "nscq_uuid_to_label", "/drv/nvswitch/{device}/uuid", -2, 2},
    {"{\"call\":\"nscq_session_path_observe\",\"path\":\"/drv/\",\"rc\":-5}",
     DGA_E_NSCQ_UNEXPECTED_VALUE, "nscq_session_path_observe", "/drv/nvswitch/{device}/uuid", -5,
     -1},
    {"{\"call\":\"nscq_session_path_observe\",\"path\":\"/drv/\",\"rc\":-7,\"callback\":true}",
     DGA_E_NSCQ_DRIVER, CB, "/drv/nvswitch/{device}/uuid", -7, -1},
    {"{\"call\":\"nscq_session_path_observe\",\"path\":\"id/arch\",\"rc\":-6}",
     DGA_E_NSCQ_UNSUPPORTED_DRIVER, "nscq_session_path_observe", "/{nvswitch}/id/arch", -6, -1},
    {"{\"call\":\"nscq_session_set_input\",\"rc\":-8,\"switch\":1}", DGA_E_NSCQ_DRIVER_TIMEOUT,
     "nscq_session_set_input", "", -8, 1},
    {"{\"call\":\"nscq_session_path_observe\",\"path\":\"attestation_report\",\"rc\":-127,"
     "\"switch\":3}",
     DGA_E_NSCQ_EXT, "nscq_session_path_observe", "/" LABEL(3) "/config/attestation_report", -127,
     3},
    {"{\"call\":\"nscq_session_path_observe\",\"path\":\"attestation_report\",\"rc\":-4,"
     "\"switch\":1,\"callback\":true}",
     DGA_E_NSCQ_OVERFLOW, CB, "/" LABEL(1) "/config/attestation_report", -4, 1},
    {"{\"call\":\"nscq_session_path_observe\",\"path\":\"certificate\",\"rc\":-128,\"switch\":0}",
     DGA_E_NSCQ_UNSPECIFIED, "nscq_session_path_observe", "/" LABEL(0) "/config/certificate", -128,
     0},
    {"{\"call\":\"nscq_session_path_observe\",\"path\":\"certificate\",\"rc\":2,\"switch\":2,"
     "\"callback\":true}",
     DGA_E_NSCQ_WARNING, CB, "/" LABEL(2) "/config/certificate", 2, 2},
    {"{\"call\":\"nscq_session_path_observe\",\"path\":\"pcie_mode\",\"rc\":-1,\"switch\":2}",
     DGA_E_NSCQ_NOT_IMPLEMENTED, "nscq_session_path_observe", "/" LABEL(2) "/config/pcie_mode", -1,
     2},
    {"{\"call\":\"nscq_session_path_observe\",\"path\":\"pcie_mode\",\"rc\":-50,\"switch\":3,"
     "\"callback\":true}",
     DGA_E_NSCQ_RC_UNKNOWN, CB, "/" LABEL(3) "/config/pcie_mode", -50, 3},
};

static void assert_error(const struct error_case *k, dga_err e, const struct dga_nscq_error *err)
{
    if (e != k->want) {
        fail_msg("%s: got %s, want %s", k->fail, dga_err_name(e), dga_err_name(k->want));
    }
    assert_int_equal(err->err, k->want);
    assert_string_equal(err->function, k->function);
    assert_string_equal(err->path, k->path);
    assert_int_equal(err->nscq_rc, k->rc);
    assert_int_equal(err->switch_index, k->sw);
}

/* Every NSCQ call, returning or calling back with an error: the named error, function, switch. */
static void test_errors(void **state)
{
    (void)state;
    static const char *const labels[] = {LABEL(0), LABEL(1), LABEL(2), LABEL(3)};
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *k = &error_cases[i];
        struct dga_switch_collection c;
        struct dga_nscq_error err;
        char extra[512];
        memset(&c, 0x5a, sizeof c);
        snprintf(extra, sizeof extra, "\"fail\":%s", k->fail);
        scenario(extra);
        assert_error(k, dga_nscq_collect(fake_lib(), test_nonce, &c, &err), &err);
        /* a switch whose label was being read has none yet */
        bool labelled = k->sw >= 0 && strcmp(k->function, "nscq_uuid_to_label") != 0;
        assert_string_equal(err.label, labelled ? labels[k->sw] : "");
        assert_int_equal(c.n, 0x5a5a5a5a5a5a5a5a); /* untouched */
        /* the same error back from the deadline's child */
        memset(&err, 0, sizeof err);
        assert_error(k, dga_nscq_collect_with_deadline(fake_lib(), test_nonce, 20000, &c, &err),
                     &err);
    }
}

static void test_library_errors(void **state)
{
    (void)state;
    struct dga_switch_collection c;
    struct dga_nscq_error err;
    assert_int_equal(dga_nscq_collect("/nonexistent/libnvidia-nscq.so.2", test_nonce, &c, &err),
                     DGA_E_NSCQ_LOAD);
    assert_string_equal(err.function, "dlopen");
    assert_non_null(strstr(err.message, "/nonexistent/libnvidia-nscq.so.2"));
    assert_int_equal(err.switch_index, -1);
    /* a library without the NSCQ functions: the first one missing is named */
    assert_int_equal(dga_nscq_collect(env_or_fail("DGA_FAKE_NVML"), test_nonce, &c, &err),
                     DGA_E_NSCQ_SYMBOL);
    assert_string_equal(err.function, "nscq_uuid_to_label");
    assert_int_equal(dga_nscq_collect_with_deadline("/nonexistent/libnvidia-nscq.so.2", test_nonce,
                                                    20000, &c, &err),
                     DGA_E_NSCQ_LOAD);
    assert_string_equal(err.function, "dlopen");
}

static void expect(const char *extra, dga_err want, const char *function, int sw)
{
    struct dga_switch_collection c;
    struct dga_nscq_error err;
    scenario(extra);
    dga_err e = dga_nscq_collect(fake_lib(), test_nonce, &c, &err);
    if (e != want) {
        fail_msg("%s: got %s (%s), want %s", extra, dga_err_name(e), err.function,
                 dga_err_name(want));
    }
    assert_string_equal(err.function, function);
    assert_int_equal(err.switch_index, sw);
}

static void test_bounds(void **state)
{
    (void)state;
    struct dga_switch_collection c;
    /* the cap is 16 switches: 16 are collected, 17 are too many */
    scenario("\"switches\":16");
    collect_ok(&c);
    assert_int_equal(c.n, 16);
    dga_switch_collection_clear(&c);
    expect("\"switches\":17", DGA_E_TOO_LARGE, CB, -1);
    expect("\"report_size\":8193", DGA_E_NSCQ_SIZE, CB, 0);
    expect("\"report_size\":4294967295", DGA_E_NSCQ_SIZE, CB, 0);
    expect("\"report_size\":174", DGA_E_NSCQ_SIZE, CB, 0);
    expect("\"chain_size\":5121", DGA_E_NSCQ_SIZE, CB, 0);
    expect("\"chain_size\":0", DGA_E_NSCQ_SIZE, CB, 0);
    expect("\"chain_size\":900", DGA_E_NSCQ_CHAIN, CB, 0);
}

static void test_callbacks_and_labels(void **state)
{
    (void)state;
    expect("\"callback_twice\":true", DGA_E_NSCQ_CALLBACK, CB, 0);
    expect("\"arch\":[2,2,1,2]", DGA_E_NSCQ_ARCH, CB, 2);
    expect("\"labels\":[\"a\",\"b/c\"]", DGA_E_NSCQ_LABEL, "nscq_uuid_to_label", 1);
    expect("\"labels\":[\"a\",\"b\",\"a\"]", DGA_E_NSCQ_LABEL, "nscq_uuid_to_label", 2);
    expect("\"labels\":[\"\"]", DGA_E_NSCQ_LABEL, "nscq_uuid_to_label", 0);
}

/* ---- the deadline ---- */

static void test_deadline_ok(void **state)
{
    (void)state;
    struct dga_switch_collection c;
    struct dga_nscq_error err;
    use_scenario("ppcie_4sw.json");
    assert_int_equal(dga_nscq_collect_with_deadline(fake_lib(), test_nonce, 20000, &c, &err),
                     DGA_E_OK);
    assert_ppcie_4sw(&c);
    dga_switch_collection_clear(&c);
}

/* A hang at any call is killed at the deadline and the child reaped: no child is left. */
static void test_hangs(void **state)
{
    (void)state;
    static const char *const hangs[] = {
        "{\"call\":\"nscq_session_create\",\"ms\":20000}",
        "{\"call\":\"nscq_uuid_to_label\",\"ms\":20000,\"switch\":3}",
        "{\"call\":\"nscq_session_path_observe\",\"path\":\"/drv/\",\"ms\":20000}",
        "{\"call\":\"nscq_session_path_observe\",\"path\":\"id/arch\",\"ms\":20000}",
        "{\"call\":\"nscq_session_set_input\",\"ms\":20000,\"switch\":2}",
        "{\"call\":\"nscq_session_path_observe\",\"path\":\"attestation_report\",\"ms\":20000}",
        "{\"call\":\"nscq_session_path_observe\",\"path\":\"certificate\",\"ms\":20000}",
        "{\"call\":\"nscq_session_path_observe\",\"path\":\"pcie_mode\",\"ms\":20000}",
        "{\"call\":\"nscq_session_destroy\",\"ms\":20000}",
    };
    for (size_t i = 0; i < sizeof hangs / sizeof hangs[0]; i++) {
        struct dga_switch_collection c;
        struct dga_nscq_error err;
        struct timespec t0, t1;
        char extra[256];
        snprintf(extra, sizeof extra, "\"hang\":%s", hangs[i]);
        scenario(extra);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        dga_err e = dga_nscq_collect_with_deadline(fake_lib(), test_nonce, 300, &c, &err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (e != DGA_E_NSCQ_TIMEOUT) {
            fail_msg("%s: got %s", hangs[i], dga_err_name(e));
        }
        assert_string_equal(err.function, "collection child");
        assert_true(t1.tv_sec - t0.tv_sec < 10); /* killed, not waited for */
        errno = 0;
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* reaped: no child at all */
        assert_int_equal(errno, ECHILD);
    }
}

/* Spawned as the program's `__nvml-child nscq-collect` (a threaded process's way). */
static void test_spawned_child(void **state)
{
    (void)state;
    struct dga_switch_collection c;
    struct dga_nscq_error err;
    const char *program = getenv("DGA_PROGRAM");
    if (program == NULL) {
        skip();
    }
    assert_int_equal(dga_collect_set_child_program(program), DGA_E_OK);
    use_scenario("ppcie_4sw.json");
    dga_err e = dga_nscq_collect_with_deadline(fake_lib(), test_nonce, 20000, &c, &err);
    scenario("\"fail\":{\"call\":\"nscq_session_set_input\",\"rc\":-7,\"switch\":1}");
    struct dga_switch_collection untouched;
    memset(&untouched, 0x5a, sizeof untouched);
    dga_err failed =
        dga_nscq_collect_with_deadline(fake_lib(), test_nonce, 20000, &untouched, &err);
    assert_int_equal(dga_collect_set_child_program(NULL), DGA_E_OK);
    assert_int_equal(e, DGA_E_OK);
    assert_ppcie_4sw(&c);
    dga_switch_collection_clear(&c);
    assert_int_equal(untouched.n, 0x5a5a5a5a5a5a5a5a);
    assert_int_equal(failed, DGA_E_NSCQ_DRIVER);
    assert_string_equal(err.function, "nscq_session_set_input");
    assert_int_equal(err.switch_index, 1);
}

/* ---- JSON ---- */

static char *collection_text(size_t *len)
{
    struct dga_switch_collection c;
    use_scenario("ppcie_4sw.json");
    collect_ok(&c);
    _cleanup_(json_decrefp) json_t *j = dga_switch_collection_to_json(&c);
    dga_switch_collection_clear(&c);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    *len = strlen(text);
    return text;
}

static void test_json_round_trip(void **state)
{
    (void)state;
    size_t len;
    _cleanup_(freep) char *text = collection_text(&len);
    struct dga_switch_collection c;
    assert_int_equal(dga_switch_collection_from_json(text, len, &c, NULL), DGA_E_OK);
    assert_ppcie_4sw(&c);
    _cleanup_(json_decrefp) json_t *again = dga_switch_collection_to_json(&c);
    _cleanup_(freep) char *text2 = json_dumps(again, JSON_COMPACT);
    assert_string_equal(text, text2);
    /* NVIDIA's evidence reader takes it as 4 LS10 items with the nonce */
    struct dga_evidence_set set, copy;
    assert_int_equal(dga_evidence_json_parse(text, len, &set, NULL), DGA_E_OK);
    assert_int_equal(dga_switch_collection_to_evidence(&c, &copy), DGA_E_OK);
    assert_int_equal(set.n, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(set.dev[i].arch, DGA_ARCH_LS10);
        assert_true(set.dev[i].has_nonce);
        assert_memory_equal(set.dev[i].nonce, test_nonce, DGA_NONCE_LEN);
        assert_int_equal(set.dev[i].report_len, c.sw[i].report_len);
        assert_memory_equal(set.dev[i].report, c.sw[i].report, c.sw[i].report_len);
        assert_string_equal(set.dev[i].chain_pem, c.sw[i].chain_pem);
        assert_memory_equal(copy.dev[i].report, c.sw[i].report, c.sw[i].report_len);
        assert_string_equal(copy.dev[i].chain_pem, c.sw[i].chain_pem);
    }
    assert_int_equal(copy.n, 4);
    dga_evidence_set_clear(&set);
    dga_evidence_set_clear(&copy);
    dga_switch_collection_clear(&c);
}

/* Replaces the first `from` in text by `to`, in place (text must have room). */
static void replace(char *text, const char *from, const char *to)
{
    char *p = strstr(text, from);
    assert_non_null(p);
    memmove(p + strlen(to), p + strlen(from), strlen(p + strlen(from)) + 1);
    memcpy(p, to, strlen(to));
}

static void expect_json(const char *text, dga_err want, size_t at)
{
    struct dga_switch_collection c;
    struct dga_diag diag = {0};
    memset(&c, 0x5a, sizeof c);
    dga_err e = dga_switch_collection_from_json(text, strlen(text), &c, &diag);
    if (e != want) {
        fail_msg("got %s, want %s", dga_err_name(e), dga_err_name(want));
    }
    if (at != SIZE_MAX) {
        assert_int_equal(diag.offset, at);
    }
    assert_int_equal(c.n, 0x5a5a5a5a5a5a5a5a);
}

static void test_json_strict(void **state)
{
    (void)state;
    size_t len;
    _cleanup_(freep) char *text = collection_text(&len);
    _cleanup_(freep) char *t = malloc(len + 256);
    assert_non_null(t);
#define MUTATE(from, to, want, at)                                                                 \
    do {                                                                                           \
        memcpy(t, text, len + 1);                                                                  \
        replace(t, from, to);                                                                      \
        expect_json(t, want, at);                                                                  \
    } while (0)
    MUTATE("\"arch\":\"LS10\"", "\"arch\":\"HOPPER\"", DGA_E_BAD_ARCH, 0);
    MUTATE("\"tnvl_status\":3", "\"tnvl_status\":128", DGA_E_BAD_JSON, 0);
    MUTATE("\"tnvl_status\":3", "\"tnvl_status\":\"3\"", DGA_E_BAD_JSON, 0);
    MUTATE("\"label\":\"" LABEL(1) "\"", "\"label\":\"a/b\"", DGA_E_NSCQ_LABEL, 1);
    MUTATE("\"label\":\"" LABEL(1) "\"", "\"label\":\"" LABEL(0) "\"", DGA_E_NSCQ_LABEL, 1);
    MUTATE("\"uuid\":\"505152535455565758595a5b5c5d5e02\"",
           "\"uuid\":\"505152535455565758595a5b5c5d5e01\"", DGA_E_NSCQ_LABEL, 2);
    MUTATE("\"uuid\":\"505152535455565758595a5b5c5d5e02\"", "\"uuid\":\"5051\"", DGA_E_BAD_HEX, 2);
    /* a duplicate key: a parse error, at its position */
    MUTATE("\"result_code\"", "\"evidences\":[],\"result_code\"", DGA_E_BAD_JSON, SIZE_MAX);
    /* a nonce of the items that is not the collection's */
    MUTATE(",\"nonce\":\"5c177e57", ",\"nonce\":\"5c177e58", DGA_E_NONCE_MISMATCH, 0);
#undef MUTATE
    expect_json("[]", DGA_E_BAD_JSON, 0);
    char many[4096] =
        "{\"nonce\":\"5c177e57000102030405060708090a0b0c0d0e0f101112131415161718191a1b\","
        "\"evidences\":[";
    for (int i = 0; i < 17; i++) {
        strcat(many, i == 0 ? "{}" : ",{}");
    }
    strcat(many, "]}");
    expect_json(many, DGA_E_TOO_LARGE, DGA_NSCQ_MAX_SWITCHES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_four_switches),
        cmocka_unit_test(test_tnvl_raw),
        cmocka_unit_test(test_zero_switches),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_library_errors),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_callbacks_and_labels),
        cmocka_unit_test(test_deadline_ok),
        cmocka_unit_test(test_hangs),
        cmocka_unit_test(test_spawned_child),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_strict),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
