/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The re-appraisal of a GPU evidence bundle (lib/cvm/reappraise.c,
 * docs/verify.md): real NVIDIA evidence (the H100 545.00 vector with its
 * nonce N3 and RIMs, inside the RIM signers' window 2024-06-01; the LS10
 * NVSwitch vector at 2026-06-01) placed in a bundle-shaped document built
 * here, passing, then each way it must fail with its exact error and detail;
 * bundles the gate wrote on the fake NVML under the test PKI (1, 2 and 8
 * GPUs); the reappraiser's shared verification cache (its ECDSA counts, its
 * reuse across bundles, roots and times, and threads sharing it, each result
 * equal to a fresh reappraiser's); the expectations' test_device_root and
 * the reappraiser's refusals; and a hostile document (every member of the
 * wrong type) answered with errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "dga/appraise_set.h"
#include "dga/cvm.h"
#include "dga/gate.h"
#include "dga/stats.h"
#include "dga/util.h"
#include "testutil.h"

#define AT_545 "2024-06-01T00:00:00Z"
#define AT_LS10 "2026-06-01T00:00:00Z"
#define DRIVER_545 "NV_GPU_DRIVER_GH100_545.00"
#define VBIOS_545 "NV_GPU_VBIOS_1010_0200_882_96005E0001"
#define DRIVER_545_SHA "1b939fae0138ceda87c434820e1e118739861b070c0043677a68807049eae668"
#define VBIOS_545_SHA "3f9877de674d57ead7095bf3d32f8aa3fb1881d524bf4c7e5cf504fcac47c6bf"
#define BIOS_LS10 "NV_SWITCH_BIOS_5612_0002_890_9610550001"
#define BIOS_LS10_SHA "c0f2e7f20da21da7287390c08c2641388595cd6929baaf0b5f728c4751a1f1d6"
/* rims/valid/NV_GPU_VBIOS_1010_0205_862_96005E0004.xml: genuine, another VBIOS version */
#define OTHER_VBIOS_SHA "5dc12514ec779a3f3858a40efa4d76404502d81871d364c47084549f87fc93c1"
#define OFFLINE_SHA "a261390ff2abc7819bc157f95a0cb0aa914852143f68fefad3edd20749b61362"
#define UEID_545 "460032006552296075780760406069494258829212062021"
#define POLICY_550_SHA "db6ffb2b9cb6c081cada6cffc50035a2b52690225865fe7662d5c14255402be3"

/* The signature check matches the callback type. */
static const dga_cvm_reappraise_fn callback = dga_cvm_reappraise;

/* ---- a bundle built from real evidence ------------------------------------------------ */

static json_t *string_fixture(const char *rel)
{
    size_t len = 0;
    uint8_t *text = fixture_read(rel, &len);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ')) {
        len--;
    }
    json_t *s = json_stringn((const char *)text, len);
    free(text);
    assert_non_null(s);
    return s;
}

static json_t *evidence_entry(const char *label, const char *arch, const char *dir)
{
    char rel[256];
    snprintf(rel, sizeof rel, "%s/report.hex", dir);
    json_t *report = string_fixture(rel);
    snprintf(rel, sizeof rel, "%s/certchain.pem", dir);
    json_t *chain = string_fixture(rel);
    return json_pack("{s:s,s:s,s:o,s:o}", "label", label, "arch", arch, "report", report,
                     "certificate_chain", chain);
}

static json_t *rim_entry(const char *label, const char *role, const char *id, const char *sha)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:i}", "device", label, "role", role, "id", id, "sha256",
                     sha, "issues_in_store", 1);
}

/* What the gate's bundle holds that the re-appraisal reads, for the H100 545.00 vector. */
static json_t *h100_bundle(void)
{
    json_t *b = json_pack(
        "{s:i,s:s,s:s,s:{s:s,s:s},s:[o],s:{s:[o,o],s:[],s:{s:s}},s:{s:{s:[s],s:[]}}}",
        "bundle_version", 1, "nonce", NONCE_N3, "verified_at", AT_545, "trust_roots", "device",
        "nvidia", "rim", "nvidia", "evidence", evidence_entry("GPU-0", "hopper", "gpu/h100_545.00"),
        "collateral", "rims", rim_entry("GPU-0", "driver-rim", DRIVER_545, DRIVER_545_SHA),
        rim_entry("GPU-0", "vbios-rim", VBIOS_545, VBIOS_545_SHA), "ocsp", "ocsp_source", "mode",
        "off", "gate", "inventory", "gpus", "0000:18:00.0", "nvswitches");
    assert_non_null(b);
    return b;
}

static struct dga_cvm_gpu_payload payload(unsigned devices, const char *roots)
{
    struct dga_cvm_gpu_payload p = {.version = 2, .devices = devices, .has_nvswitches = true};
    snprintf(p.cc_mode, sizeof p.cc_mode, "on");
    snprintf(p.trust_roots, sizeof p.trust_roots, "%s", roots);
    return p;
}

/* A fixture path (relative to tests/fixtures) or an absolute path, as given. */
static const char *path_of(const char *p, char *buf, size_t n)
{
    snprintf(buf, n, "%s", p[0] == '/' ? p : fixture_path(p));
    return buf;
}

/*
 * The expectations {"gpu": {"rim_dir": R, "policy": P, "trust_roots": ["test"],
 * "test_device_root": T, <more>}}; policy and test_root optional (NULL).
 */
static char *gpu_expect(const char *rims, const char *policy, const char *test_root,
                        const char *more)
{
    char r[1024], pol[1100] = "", root[1200] = "", buf[1024];
    path_of(rims, r, sizeof r);
    if (policy != NULL) {
        snprintf(pol, sizeof pol, ",\"policy\":\"%s\"", path_of(policy, buf, sizeof buf));
    }
    if (test_root != NULL) {
        snprintf(root, sizeof root, ",\"trust_roots\":[\"test\"],\"test_device_root\":\"%s\"",
                 path_of(test_root, buf, sizeof buf));
    }
    char *text = malloc(8192);
    assert_non_null(text);
    snprintf(text, 8192, "{\"gpu\":{\"rim_dir\":\"%s\"%s%s%s}}", r, pol, root,
             more != NULL ? more : "");
    return text;
}

#define OFFLINE "policies/offline_no_ocsp.json"
#define RIMS_545 "gpu/h100_545.00/rims"
#define OFFLINE_545 RIMS_545, OFFLINE, NULL, NULL

struct outcome {
    dga_err err;
    char detail[DGA_CVM_DETAIL_LEN];
    struct dga_cvm_reappraisal out;
};

static void outcome_clear(struct outcome *o)
{
    free(o->out.devices);
    memset(o, 0, sizeof *o);
}

/*
 * The bundle's exact bytes (compact, sorted, as the gate writes them) and
 * their parse are handed in, as dga_cvm_verify hands them to the callback.
 */
static void reappraise(const char *expect, const json_t *bundle,
                       const struct dga_cvm_gpu_payload *p, const char *at, struct outcome *o)
{
    struct dga_cvm_expect x;
    struct dga_diag d = {0};
    dga_err e = dga_cvm_expect_parse(expect, strlen(expect), &x, &d);
    if (e != DGA_E_OK) {
        fail_msg("expectations: %s at %s", dga_err_name(e), d.field);
    }
    struct dga_cvm_reappraiser *r = NULL;
    e = dga_cvm_reappraiser_new(&x, &r, &d);
    if (e != DGA_E_OK) {
        fail_msg("reappraiser: %s at %s", dga_err_name(e), d.field);
    }
    /* (a caller may parse with JSON_ALLOW_NUL: the strings the re-appraisal reads are checked) */
    char *text = json_dumps(bundle, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    assert_non_null(doc);
    time_t t = 0;
    assert_int_equal(dga_time_parse(at, &t), DGA_E_OK);
    memset(o, 0, sizeof *o);
    o->err = callback(r, (const uint8_t *)text, strlen(text), doc, &x, p, t, &o->out, o->detail);
    assert_true(o->out.ran);
    assert_int_equal(o->out.at, t);
    json_decref(doc);
    free(text);
    dga_cvm_reappraiser_free(r);
    dga_cvm_expect_clear(&x);
}

static void expect_failure(const struct outcome *o, dga_err want, const char *detail)
{
    if (o->err != want || strcmp(o->detail, detail) != 0) {
        fail_msg("got %s \"%s\", want %s \"%s\"", dga_err_name(o->err), o->detail,
                 dga_err_name(want), detail);
    }
}

static void sha_is(const uint8_t sha[32], const char *want)
{
    char hex[65];
    dga_hex_encode(sha, 32, hex);
    assert_string_equal(hex, want);
}

/* ---- real NVIDIA evidence --------------------------------------------------------------- */

static void test_h100_pass(void **state)
{
    (void)state;
    json_t *b = h100_bundle();
    struct dga_cvm_gpu_payload p = payload(1, "nvidia");
    char *x = gpu_expect(OFFLINE_545);
    struct outcome o;
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_OK, "");
    sha_is(o.out.policy_sha256, OFFLINE_SHA);
    assert_int_equal(o.out.n_devices, 1);
    const struct dga_cvm_gpu_device *d = &o.out.devices[0];
    assert_string_equal(d->label, "GPU-0");
    assert_string_equal(d->arch, "hopper");
    assert_string_equal(d->ueid, UEID_545);
    assert_string_equal(d->driver_version, "545.00");
    assert_string_equal(d->vbios_version, "96.00.5E.00.01");
    assert_string_equal(d->measres, "success");
    assert_string_equal(d->failed_check, "");
    assert_int_equal(d->err, DGA_E_OK);
    assert_true(d->pass);
    outcome_clear(&o);
    /* The same evidence after the RIM signers expired: the policy refuses, naming the device. */
    reappraise(x, b, &p, "2026-11-28T00:00:00Z", &o);
    expect_failure(&o, DGA_E_CVM_REAPPRAISAL,
                   "GPU-0: policy: x-nvidia-gpu-driver-rim-cert-chain.x-nvidia-cert-status is "
                   "\"expired\", policy allows [\"valid\"]");
    assert_string_equal(o.out.devices[0].failed_check, "policy");
    assert_int_equal(o.out.devices[0].err, DGA_E_CVM_REAPPRAISAL);
    assert_false(o.out.devices[0].pass);
    assert_string_equal(o.out.devices[0].measres, "success");
    outcome_clear(&o);
    free(x);
    json_decref(b);
}

/* One bit of the signed report flipped (in its signature): the guest's "pass" is not taken. */
static void test_h100_bit_flipped(void **state)
{
    (void)state;
    json_t *b = h100_bundle();
    json_t *ev = json_array_get(json_object_get(b, "evidence"), 0);
    char *hex = strdup(json_string_value(json_object_get(ev, "report")));
    size_t n = strlen(hex);
    static const char digits[] = "0123456789abcdef";
    const char *at = strchr(digits, hex[n - 1]);
    assert_non_null(at);
    hex[n - 1] = digits[(at - digits) ^ 1]; /* the lowest bit of the signature's last byte */
    json_object_set_new(ev, "report", json_string(hex));
    free(hex);
    struct dga_cvm_gpu_payload p = payload(1, "nvidia");
    char *x = gpu_expect(OFFLINE_545);
    struct outcome o;
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_SIGNATURE_INVALID,
                   "GPU-0: signature: signature-invalid: report signature verification failed");
    assert_string_equal(o.out.devices[0].failed_check, "signature");
    assert_int_equal(o.out.devices[0].err, DGA_E_SIGNATURE_INVALID);
    assert_false(o.out.devices[0].pass);
    outcome_clear(&o);
    free(x);
    json_decref(b);
}

static void test_h100_nonce_differs(void **state)
{
    (void)state;
    json_t *b = h100_bundle();
    json_object_set_new(b, "nonce", json_string(NONCE_N1));
    struct dga_cvm_gpu_payload p = payload(1, "nvidia");
    char *x = gpu_expect(OFFLINE_545);
    struct outcome o;
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_NONCE_MISMATCH, "GPU-0: nonce: nonce-mismatch: nonce mismatch");
    outcome_clear(&o);
    free(x);
    json_decref(b);
}

static char *make_store(void)
{
    char *dir = strdup("/tmp/dga-reappraise-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void rm_dir(char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

/* The store lacks the driver RIM the bundle names: the device fails naming its id and SHA-256. */
static void test_h100_rim_absent(void **state)
{
    (void)state;
    char *store = make_store();
    fixture_copy("gpu/h100_545.00/rims/" VBIOS_545 ".xml", store, VBIOS_545 ".xml");
    json_t *b = h100_bundle();
    struct dga_cvm_gpu_payload p = payload(1, "nvidia");
    char *x = gpu_expect(store, OFFLINE, NULL, NULL);
    struct outcome o;
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_RIM_PINNED_ABSENT,
                   "GPU-0: driver-rim: rim-pinned-absent: " DRIVER_545 " sha256 " DRIVER_545_SHA);
    assert_string_equal(o.out.devices[0].failed_check, "driver-rim");
    assert_string_equal(o.out.devices[0].measres, "");
    outcome_clear(&o);
    free(x);
    json_decref(b);
    rm_dir(store);
}

/* The bundle names another SHA-256 than the store's document: never the store's document. */
static void test_h100_other_sha(void **state)
{
    (void)state;
    static const char other[] = "0b939fae0138ceda87c434820e1e118739861b070c0043677a68807049eae668";
    json_t *b = h100_bundle();
    json_t *rim = json_array_get(json_object_get(json_object_get(b, "collateral"), "rims"), 0);
    json_object_set_new(rim, "sha256", json_string(other));
    struct dga_cvm_gpu_payload p = payload(1, "nvidia");
    char *x = gpu_expect(OFFLINE_545);
    struct outcome o;
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_RIM_PINNED_ABSENT,
                   "GPU-0: driver-rim: rim-pinned-absent: " DRIVER_545 " sha256 " /**/
                   "0b939fae0138ceda87c434820e1e118739861b070c0043677a68807049eae668");
    outcome_clear(&o);
    /* No document named for a role (sha256 null, or no entry): the role is not pinned. */
    json_object_set_new(rim, "sha256", json_null());
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_RIM_PINNED_ABSENT,
                   "GPU-0: driver-rim: rim-pinned-absent: " DRIVER_545 " sha256 none named");
    outcome_clear(&o);
    json_array_remove(json_object_get(json_object_get(b, "collateral"), "rims"), 0);
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_RIM_PINNED_ABSENT,
                   "GPU-0: driver-rim: rim-pinned-absent: " DRIVER_545 " sha256 none named");
    outcome_clear(&o);
    free(x);
    json_decref(b);
}

/*
 * A store holding two issues of the VBIOS id (the genuine one, and another
 * genuine NVIDIA document filed as a re-issue): the pinned one is used,
 * whichever it is. Naming the other fails the device although the store could
 * have made a pass of the genuine one.
 */
static void test_h100_store_with_another_issue(void **state)
{
    (void)state;
    char *store = make_store();
    char d[512];
    fixture_copy("gpu/h100_545.00/rims/" DRIVER_545 ".xml", store, DRIVER_545 ".xml");
    fixture_copy("gpu/h100_545.00/rims/" VBIOS_545 ".xml", store, VBIOS_545 ".xml");
    snprintf(d, sizeof d, "%s/" VBIOS_545 ".d", store);
    assert_int_equal(mkdir(d, 0700), 0);
    fixture_copy("rims/valid/NV_GPU_VBIOS_1010_0205_862_96005E0004.xml", d, OTHER_VBIOS_SHA ".xml");
    char *x = gpu_expect(store, OFFLINE, NULL, NULL);
    struct dga_cvm_gpu_payload p = payload(1, "nvidia");
    json_t *b = h100_bundle();
    struct outcome o;
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_OK, "");
    outcome_clear(&o);
    json_t *rim = json_array_get(json_object_get(json_object_get(b, "collateral"), "rims"), 1);
    json_object_set_new(rim, "sha256", json_string(OTHER_VBIOS_SHA));
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_RIM_VERSION_MISMATCH,
                   "GPU-0: vbios-rim: rim-version-mismatch: " VBIOS_545);
    outcome_clear(&o);
    free(x);
    json_decref(b);
    rm_dir(store);
}

static void test_h100_policy_refuses(void **state)
{
    (void)state;
    json_t *b = h100_bundle();
    struct dga_cvm_gpu_payload p = payload(1, "nvidia");
    char *x = gpu_expect(RIMS_545, "cvm/policy_driver_550.json", NULL, NULL);
    struct outcome o;
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_CVM_REAPPRAISAL,
                   "GPU-0: policy: x-nvidia-gpu-driver-version is \"545.00\", policy allows "
                   "[\"550.90.07\"]");
    assert_string_equal(o.out.devices[0].failed_check, "policy");
    sha_is(o.out.policy_sha256, POLICY_550_SHA);
    outcome_clear(&o);
    free(x);
    json_decref(b);
}

static void test_h100_trust_root(void **state)
{
    (void)state;
    json_t *b = h100_bundle();
    struct dga_cvm_gpu_payload p = payload(1, "nvidia");
    /* The event names nvidia; the expectations admit only the test root. */
    char *x = gpu_expect(RIMS_545, OFFLINE, "testpki/root.pem", NULL);
    struct outcome o;
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_CVM_GPU_TRUST_ROOTS, "trust root \"nvidia\" not allowed");
    assert_int_equal(o.out.n_devices, 0);
    outcome_clear(&o);
    /* The event names test, admitted, but the chain ends at NVIDIA's root, not the test root. */
    json_object_set_new(json_object_get(b, "trust_roots"), "device", json_string("test"));
    p = payload(1, "test");
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_CHAIN_ROOT,
                   "GPU-0: cert-chain: chain-root: the chain's root is not the pinned trust root");
    outcome_clear(&o);
    free(x);
    /* The bundle's own trust root must be the event's. */
    p = payload(1, "nvidia");
    x = gpu_expect(OFFLINE_545);
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_CVM_GPU_TRUST_ROOTS,
                   "the bundle's device trust root is not the event's");
    outcome_clear(&o);
    free(x);
    json_decref(b);
}

/* The policy requires OCSP: the bundle's own responses (none here), or the collateral directory. */
static void test_h100_ocsp(void **state)
{
    (void)state;
    json_t *b = h100_bundle();
    struct dga_cvm_gpu_payload p = payload(1, "nvidia");
    static const char want[] = "GPU-0: ocsp-device-chain: ocsp-no-response: certificate 3 "
                               "\"NVIDIA GH100 Identity\"";
    char *x = gpu_expect(RIMS_545, NULL, NULL, NULL);
    struct outcome o;
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_OCSP_NO_RESPONSE, want);
    assert_string_equal(o.out.devices[0].failed_check, "ocsp-device-chain");
    sha_is(o.out.policy_sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    outcome_clear(&o);
    free(x);
    /* A response that is not base64: the bundle is malformed. */
    json_t *list = json_object_get(json_object_get(b, "collateral"), "ocsp");
    json_array_append_new(list, json_pack("{s:s}", "response", "not base64!"));
    x = gpu_expect(RIMS_545, NULL, NULL, NULL);
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_CVM_BUNDLE_EVIDENCE, "collateral.ocsp[0]: bad-base64");
    outcome_clear(&o);
    free(x);
    /* The collateral directory instead (cache mode): the bundle's list is not read. */
    char *dir = make_store(), more[256];
    snprintf(more, sizeof more, ",\"collateral_dir\":\"%s\"", dir);
    x = gpu_expect(RIMS_545, NULL, NULL, more);
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_OCSP_NO_RESPONSE, want);
    outcome_clear(&o);
    free(x);
    rm_dir(dir);
    json_decref(b);
}

/* The same GPU twice: one physical device counted as two. */
static void test_h100_duplicate(void **state)
{
    (void)state;
    json_t *b = h100_bundle();
    json_array_append_new(json_object_get(b, "evidence"),
                          evidence_entry("GPU-1", "hopper", "gpu/h100_545.00"));
    json_t *rims = json_object_get(json_object_get(b, "collateral"), "rims");
    json_array_append_new(rims, rim_entry("GPU-1", "driver-rim", DRIVER_545, DRIVER_545_SHA));
    json_array_append_new(rims, rim_entry("GPU-1", "vbios-rim", VBIOS_545, VBIOS_545_SHA));
    struct dga_cvm_gpu_payload p = payload(2, "nvidia");
    char *x = gpu_expect(OFFLINE_545);
    struct outcome o;
    reappraise(x, b, &p, AT_545, &o);
    expect_failure(&o, DGA_E_DUPLICATE_DEVICE, "GPU-1: duplicate-device: same report as GPU-0");
    assert_int_equal(o.out.n_devices, 2);
    assert_true(o.out.devices[0].pass);
    assert_false(o.out.devices[1].pass);
    assert_string_equal(o.out.devices[1].failed_check, "duplicate-device");
    outcome_clear(&o);
    free(x);
    json_decref(b);
}

/* The NVSwitch vector: an LS10 with its BIOS RIM and the bundle's NVSwitch inventory. */
static void test_ls10(void **state)
{
    (void)state;
    json_t *sw = evidence_entry("SWITCH-0", "ls10", "nvswitch/ls10_96.10.55.00.01");
    json_object_set_new(sw, "tnvl_status", json_integer(3));
    json_t *b = json_pack("{s:s,s:{s:s},s:[o],s:{s:[o],s:[]},s:{s:{s:[],s:[s]}}}", "nonce",
                          NONCE_N1, "trust_roots", "device", "nvidia", "evidence", sw, "collateral",
                          "rims", rim_entry("SWITCH-0", "bios-rim", BIOS_LS10, BIOS_LS10_SHA),
                          "ocsp", "gate", "inventory", "gpus", "nvswitches", "0000:05:00.0");
    assert_non_null(b);
    /* A PPCIe payload: the NVSwitch appraises (its BIOS RIM 31/31), the lone switch is no board. */
    struct dga_cvm_gpu_payload p = payload(0, "nvidia");
    snprintf(p.cc_mode, sizeof p.cc_mode, "ppcie");
    p.nvswitches = 1;
    char *x = gpu_expect("nvswitch/ls10_96.10.55.00.01/rims", OFFLINE, NULL, NULL);
    struct outcome o;
    reappraise(x, b, &p, AT_LS10, &o);
    expect_failure(&o, DGA_E_TOPOLOGY_GPU_COUNT,
                   "topology: topology-gpu-count: GPUs attested: 0, expected 8");
    assert_string_equal(o.out.devices[0].label, "SWITCH-0");
    assert_string_equal(o.out.devices[0].arch, "ls10");
    assert_string_equal(o.out.devices[0].driver_version, "");
    assert_string_equal(o.out.devices[0].vbios_version, "96.10.55.00.01");
    assert_string_equal(o.out.devices[0].measres, "success");
    /* A refusal of the set as a whole refuses each of its devices, naming the topology (the
     * switch's own appraisal passed: no "policy" reason stands behind it). */
    assert_false(o.out.devices[0].pass);
    assert_string_equal(o.out.devices[0].failed_check, "topology");
    assert_int_equal(o.out.devices[0].err, DGA_E_TOPOLOGY_GPU_COUNT);
    assert_string_equal(o.out.mode, "ppcie");
    assert_true(o.out.topology_checked);
    assert_false(o.out.topology_pass);
    assert_int_equal(o.out.topology_err, DGA_E_TOPOLOGY_GPU_COUNT);
    assert_int_equal(o.out.nvswitches, 1);
    assert_int_equal(o.out.gpus, 0);
    outcome_clear(&o);
    /* A switch entry without its NSCQ status (or outside -1..3) is no PPCIe evidence. */
    json_t *e0 = json_array_get(json_object_get(b, "evidence"), 0);
    json_object_set_new(e0, "tnvl_status", json_integer(4));
    reappraise(x, b, &p, AT_LS10, &o);
    expect_failure(&o, DGA_E_CVM_BUNDLE_EVIDENCE, "evidence[0].tnvl_status: not an integer -1..3");
    outcome_clear(&o);
    json_object_del(e0, "tnvl_status");
    reappraise(x, b, &p, AT_LS10, &o);
    expect_failure(&o, DGA_E_CVM_BUNDLE_EVIDENCE, "evidence[0].tnvl_status: not an integer -1..3");
    outcome_clear(&o);
    json_object_set_new(e0, "tnvl_status", json_integer(3));
    /* The event's counts are the evidence's kinds: one device that is no GPU. */
    struct dga_cvm_gpu_payload cc = payload(1, "nvidia");
    reappraise(x, b, &cc, AT_LS10, &o);
    expect_failure(&o, DGA_E_CVM_GPU_DEVICES,
                   "evidence: 0 GPU(s) and 1 NVSwitch(es), the event says 1 and 0");
    outcome_clear(&o);
    /* A GPU role on a switch is no entry of this bundle. */
    json_t *rim = json_array_get(json_object_get(json_object_get(b, "collateral"), "rims"), 0);
    json_object_set_new(rim, "role", json_string("vbios-rim"));
    reappraise(x, b, &p, AT_LS10, &o);
    expect_failure(&o, DGA_E_CVM_BUNDLE_EVIDENCE,
                   "collateral.rims[0]: malformed, unknown device or role, or repeated");
    outcome_clear(&o);
    free(x);
    json_decref(b);
}

/* Bundles whose lists do not parse or disagree with the event: bounded, named refusals. */
static void test_bundle_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value; /* a top-level or evidence[0] member set to a JSON value */
        bool in_evidence;
        unsigned devices;
        const char *detail;
    } cases[] = {
        {NULL, NULL, false, 2, "evidence: 1 entries, the event says 2 devices"},
        {"nonce", "\"" NONCE_N3 "00\"", false, 1, "nonce: not 32 bytes of hex"},
        {"nonce", "\"4cff\"", false, 1, "nonce: not 32 bytes of hex"},
        {"nonce", "null", false, 1, "nonce: not 32 bytes of hex"},
        {"evidence", "{}", false, 1, "evidence: 0 entries, the event says 1 devices"},
        {"evidence", "[1]", false, 1, "evidence[0]: not an object"},
        {"arch", "\"volta\"", true, 1, "evidence[0].arch: unknown architecture"},
        {"arch", "7", true, 1, "evidence[0].arch: unknown architecture"},
        {"report", "\"zz\"", true, 1, "evidence[0].report: not hex"},
        {"report", "\"\"", true, 1, "evidence[0].report: not hex"},
        {"report", "[]", true, 1, "evidence[0].report: not hex"},
        {"certificate_chain", "false", true, 1, "evidence[0].certificate_chain: not a PEM string"},
        {"certificate_chain", "\"a\\u0000b\"", true, 1,
         "evidence[0].certificate_chain: not a PEM string"},
        {"collateral", "{\"rims\":{}}", false, 1, "collateral.rims: not a list of RIMs"},
        {"collateral", "[]", false, 1, "collateral.rims: not a list of RIMs"},
        {"collateral",
         "{\"rims\":[{\"device\":\"GPU-7\",\"role\":\"driver-rim\",\"id\":\"x\","
         "\"sha256\":null}]}",
         false, 1, "collateral.rims[0]: malformed, unknown device or role, or repeated"},
        {"collateral",
         "{\"rims\":[{\"device\":\"GPU-0\",\"role\":\"driver-rim\",\"id\":\"../x\","
         "\"sha256\":null}]}",
         false, 1, "collateral.rims[0]: malformed, unknown device or role, or repeated"},
        {"collateral",
         "{\"rims\":[{\"device\":\"GPU-0\",\"role\":\"driver-rim\",\"id\":\"x\","
         "\"sha256\":\"12\"}]}",
         false, 1, "collateral.rims[0]: malformed, unknown device or role, or repeated"},
        {"collateral",
         "{\"rims\":[{\"device\":\"GPU-0\",\"role\":\"driver-rim\",\"id\":\"x\","
         "\"sha256\":null},{\"device\":\"GPU-0\",\"role\":\"driver-rim\","
         "\"id\":\"x\",\"sha256\":null}]}",
         false, 1, "collateral.rims[1]: malformed, unknown device or role, or repeated"},
        {"gate", "{\"inventory\":{\"nvswitches\":[\"a\"]}}", false, 1,
         "gate.inventory.nvswitches: not a list of the event's count"},
        {"gate", "{}", false, 1, "gate.inventory.nvswitches: not a list of the event's count"},
    };
    char *x = gpu_expect(OFFLINE_545);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *b = h100_bundle();
        if (cases[i].key != NULL) {
            json_t *v = json_loads(cases[i].value, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
            assert_non_null(v);
            json_t *o =
                cases[i].in_evidence ? json_array_get(json_object_get(b, "evidence"), 0) : b;
            json_object_set_new(o, cases[i].key, v);
        }
        struct dga_cvm_gpu_payload p = payload(cases[i].devices, "nvidia");
        struct outcome o;
        reappraise(x, b, &p, AT_545, &o);
        expect_failure(&o, DGA_E_CVM_BUNDLE_EVIDENCE, cases[i].detail);
        outcome_clear(&o);
        json_decref(b);
    }
    free(x);
}

/*
 * Every member the re-appraisal reads, and the whole document's members,
 * replaced by each JSON type in turn: an error (never a pass, never a crash);
 * under the sanitizers this is the fuzz-safety check.
 */
static void test_hostile_types(void **state)
{
    (void)state;
    static const char *const values[] = {"null",  "true", "0",  "-1",   "1e308",     "\"\"",
                                         "\"x\"", "[]",   "{}", "[[]]", "{\"a\":{}}"};
    static const char *const top[] = {"nonce", "evidence", "collateral", "trust_roots", "gate"};
    static const char *const in_evidence[] = {"arch", "report", "certificate_chain"};
    char *x = gpu_expect(OFFLINE_545);
    struct dga_cvm_gpu_payload p = payload(1, "nvidia");
    for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
        for (size_t k = 0;
             k < sizeof top / sizeof top[0] + sizeof in_evidence / sizeof in_evidence[0]; k++) {
            json_t *b = h100_bundle();
            bool ev = k >= sizeof top / sizeof top[0];
            const char *key = ev ? in_evidence[k - sizeof top / sizeof top[0]] : top[k];
            json_t *o = ev ? json_array_get(json_object_get(b, "evidence"), 0) : b;
            json_object_set_new(o, key, json_loads(values[v], JSON_DECODE_ANY, NULL));
            struct outcome out;
            reappraise(x, b, &p, AT_545, &out);
            if (out.err == DGA_E_OK) {
                fail_msg("%s = %s passed", key, values[v]);
            }
            outcome_clear(&out);
            json_decref(b);
        }
        /* evidence[0] and collateral.rims[0] themselves of every type */
        json_t *b = h100_bundle();
        json_array_set_new(json_object_get(b, "evidence"), 0,
                           json_loads(values[v], JSON_DECODE_ANY, NULL));
        json_array_set_new(json_object_get(json_object_get(b, "collateral"), "rims"), 0,
                           json_loads(values[v], JSON_DECODE_ANY, NULL));
        struct outcome out;
        reappraise(x, b, &p, AT_545, &out);
        assert_int_equal(out.err, DGA_E_CVM_BUNDLE_EVIDENCE);
        outcome_clear(&out);
        json_decref(b);
    }
    /* The document is no object, and arguments are missing. */
    struct dga_cvm_expect xp;
    assert_int_equal(dga_cvm_expect_parse(x, strlen(x), &xp, NULL), DGA_E_OK);
    struct dga_cvm_reappraiser *r = NULL;
    assert_int_equal(dga_cvm_reappraiser_new(&xp, &r, NULL), DGA_E_OK);
    json_t *arr = json_array();
    struct dga_cvm_reappraisal out = {0};
    char detail[DGA_CVM_DETAIL_LEN];
    assert_int_equal(dga_cvm_reappraise(r, (const uint8_t *)"[]", 2, arr, &xp, &p, 0, &out, detail),
                     DGA_E_BAD_ARGUMENT);
    assert_int_equal(
        dga_cvm_reappraise(NULL, (const uint8_t *)"[]", 2, arr, &xp, &p, 0, &out, detail),
        DGA_E_BAD_ARGUMENT);
    assert_int_equal(
        dga_cvm_reappraise(r, (const uint8_t *)"{}", 2, NULL, &xp, &p, 0, &out, detail),
        DGA_E_BAD_ARGUMENT);
    json_decref(arr);
    dga_cvm_reappraiser_free(r);
    dga_cvm_expect_clear(&xp);
    free(x);
}

/* ---- the gate's own bundle on the fake NVML, under the test PKI -------------------------- */

struct gate_env {
    char dir[64];
    char path[512];
    unsigned gpus;
};

static const char *gpath(struct gate_env *e, const char *name)
{
    snprintf(e->path, sizeof e->path, "%s/%s", e->dir, name);
    return e->path;
}

/* A fake NVML with `gpus` H100s (0000:18:00.0 and on), the test PKI's leaves. */
static void gate_env_make(struct gate_env *e, unsigned gpus)
{
    snprintf(e->dir, sizeof e->dir, "/tmp/dga-reappraise-gate-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    e->gpus = gpus;
    char d[256];
    snprintf(d, sizeof d, "%s/pci", e->dir);
    assert_int_equal(mkdir(d, 0700), 0);
    for (unsigned i = 0; i < gpus; i++) {
        snprintf(d, sizeof d, "%s/pci/0000:%02x:00.0", e->dir, 0x18 + i);
        assert_int_equal(mkdir(d, 0700), 0);
        test_write_file(d, "vendor", "0x10de\n", 7);
        test_write_file(d, "device", "0x2330\n", 7);
        test_write_file(d, "class", "0x030200\n", 9);
    }
    char report[512], chain[512], key[512], sc[2048];
    snprintf(report, sizeof report, "%s", fixture_path("gpu/h100_545.00/report.hex"));
    snprintf(chain, sizeof chain, "%s", fixture_path("testpki/certchain.pem"));
    snprintf(key, sizeof key, "%s", fixture_path("testpki/leaf.key"));
    int n = snprintf(sc, sizeof sc,
                     "{\"report\":\"%s\",\"chain\":\"%s\",\"key\":\"%s\",\"gpus\":%u,"
                     "\"ready_record\":\"%s/ready.txt\"}",
                     report, chain, key, gpus, e->dir);
    test_write_file(e->dir, "scenario.json", sc, (size_t)n);
    assert_int_equal(setenv("DGA_FAKE_NVML_SCENARIO", gpath(e, "scenario.json"), 1), 0);
}

/* Runs the gate (its GPUs, test PKI, 2024-06-01, OCSP not required); the bundle and payload. */
static void gate_run(struct gate_env *e, char **ret_bundle, size_t *ret_len,
                     struct dga_cvm_gpu_payload *ret_payload)
{
    const char *lib = getenv("DGA_FAKE_NVML");
    if (lib == NULL) {
        fail_msg("DGA_FAKE_NVML is not set (run through ctest)");
    }
    char root[512], rims[512], policy[512], text[4096];
    snprintf(root, sizeof root, "%s", fixture_path("testpki/root.pem"));
    snprintf(rims, sizeof rims, "%s", fixture_path("gpu/h100_545.00/rims"));
    snprintf(policy, sizeof policy, "%s", fixture_path("policies/offline_no_ocsp.json"));
    snprintf(text, sizeof text,
             "{\"rim_dir\":\"%s\",\"policy\":\"%s\",\"nvml\":\"%s\",\"sysfs_pci\":\"%s/pci\","
             "\"run_dir\":\"%s/run\",\"event_backend\":\"sim:%s/rtmr3.bin\","
             "\"event_log_dir\":\"%s/log\",\"test_device_root\":\"%s\","
             "\"verify_at\":\"" AT_545 "\",\"gpu_policy\":{\"attest_gpu\":true}}",
             rims, policy, lib, e->dir, e->dir, e->dir, e->dir, root);
    struct dga_gate_config *c = NULL;
    assert_int_equal(dga_gate_config_parse(text, strlen(text), &c, NULL), DGA_E_OK);
    struct dga_gate_result r;
    struct dga_gate_options opt = {.dry_run = false};
    assert_int_equal(dga_gate_run(c, &opt, &r), DGA_E_OK);
    dga_gate_config_free(c);
    uint8_t *bundle = NULL;
    assert_int_equal(dga_file_read(gpath(e, "run/evidence.json"), 1u << 24, &bundle, ret_len),
                     DGA_E_OK);
    *ret_bundle = (char *)bundle;
    assert_int_equal(dga_cvm_gpu_payload_parse((const uint8_t *)r.event_payload,
                                               strlen(r.event_payload), ret_payload, NULL),
                     DGA_E_OK);
}

static dga_err gate_reappraise(const char *expect, const char *bundle, size_t len,
                               const struct dga_cvm_gpu_payload *p, struct dga_cvm_reappraisal *out,
                               char *detail)
{
    struct dga_cvm_expect x;
    assert_int_equal(dga_cvm_expect_parse(expect, strlen(expect), &x, NULL), DGA_E_OK);
    struct dga_cvm_reappraiser *r = NULL;
    assert_int_equal(dga_cvm_reappraiser_new(&x, &r, NULL), DGA_E_OK);
    json_t *doc = json_loadb(bundle, len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(doc);
    time_t at = 0;
    assert_int_equal(dga_time_parse(AT_545, &at), DGA_E_OK);
    dga_err e = dga_cvm_reappraise(r, (const uint8_t *)bundle, len, doc, &x, p, at, out, detail);
    json_decref(doc);
    dga_cvm_reappraiser_free(r);
    dga_cvm_expect_clear(&x);
    return e;
}

static void test_gate_bundle(void **state)
{
    (void)state;
    struct gate_env e;
    gate_env_make(&e, 2);
    char *bundle = NULL;
    size_t len = 0;
    struct dga_cvm_gpu_payload p;
    gate_run(&e, &bundle, &len, &p);
    assert_string_equal(p.trust_roots, "test");
    assert_int_equal(p.devices, 2);
    char *x = gpu_expect(RIMS_545, OFFLINE, "testpki/root.pem", NULL);
    struct dga_cvm_reappraisal out = {0};
    char detail[DGA_CVM_DETAIL_LEN];
    assert_int_equal(gate_reappraise(x, bundle, len, &p, &out, detail), DGA_E_OK);
    free(x);
    assert_int_equal(out.n_devices, 2);
    assert_string_equal(out.devices[0].label, "GPU-0");
    assert_string_equal(out.devices[1].label, "GPU-1");
    assert_string_equal(out.devices[0].ueid, "4100"); /* the test leaves' serials 0x1004, 0x2001 */
    assert_string_equal(out.devices[1].ueid, "8193");
    assert_true(out.devices[0].pass && out.devices[1].pass);
    sha_is(out.policy_sha256, OFFLINE_SHA);
    free(out.devices);
    memset(&out, 0, sizeof out);
    /* Without "test" in the trust roots the same bundle is refused. */
    x = gpu_expect(OFFLINE_545);
    assert_int_equal(gate_reappraise(x, bundle, len, &p, &out, detail), DGA_E_CVM_GPU_TRUST_ROOTS);
    free(x);
    assert_string_equal(detail, "trust root \"test\" not allowed");
    free(out.devices);
    free(bundle);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", e.dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- the reappraiser's shared verification cache ---------------------------------------- */

/* One bundle as dga_cvm_verify hands it to the callback, with its payload and time. */
struct input {
    char *text;
    size_t len;
    json_t *doc;
    struct dga_cvm_gpu_payload p;
    time_t at;
};

static void input_clear(struct input *in)
{
    json_decref(in->doc);
    free(in->text);
    memset(in, 0, sizeof *in);
}

/* A bundle the gate writes with `gpus` GPUs under the test PKI, re-appraised at AT_545. */
static void gate_input(unsigned gpus, struct input *in)
{
    struct gate_env e;
    gate_env_make(&e, gpus);
    gate_run(&e, &in->text, &in->len, &in->p);
    in->doc = json_loadb(in->text, in->len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(in->doc);
    assert_int_equal(dga_time_parse(AT_545, &in->at), DGA_E_OK);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", e.dir);
    assert_int_equal(system(cmd), 0);
}

/* The real H100 545.00 bundle (NVIDIA root), optionally with its report's last bit flipped. */
static void h100_input(const char *at, bool flipped, struct input *in)
{
    json_t *b = h100_bundle();
    if (flipped) {
        json_t *ev = json_array_get(json_object_get(b, "evidence"), 0);
        char *hex = strdup(json_string_value(json_object_get(ev, "report")));
        size_t n = strlen(hex);
        hex[n - 1] = hex[n - 1] == '0' ? '1' : '0';
        json_object_set_new(ev, "report", json_string(hex));
        free(hex);
    }
    in->text = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(in->text);
    in->len = strlen(in->text);
    in->doc = json_loads(in->text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(in->doc);
    in->p = payload(1, "nvidia");
    assert_int_equal(dga_time_parse(at, &in->at), DGA_E_OK);
    json_decref(b);
}

/* Expectations admitting both device roots, so that one reappraiser takes every input. */
static char *both_roots_expect(void)
{
    char rims[512], policy[512], root[512];
    snprintf(rims, sizeof rims, "%s", fixture_path(RIMS_545));
    snprintf(policy, sizeof policy, "%s", fixture_path(OFFLINE));
    snprintf(root, sizeof root, "%s", fixture_path("testpki/root.pem"));
    char *text = malloc(4096);
    assert_non_null(text);
    snprintf(text, 4096,
             "{\"gpu\":{\"rim_dir\":\"%s\",\"policy\":\"%s\",\"trust_roots\":[\"nvidia\",\"test\"],"
             "\"test_device_root\":\"%s\"}}",
             rims, policy, root);
    return text;
}

struct shared {
    struct dga_cvm_expect x;
    struct dga_cvm_reappraiser *r;
};

static void shared_new(const char *expect, struct shared *s)
{
    assert_int_equal(dga_cvm_expect_parse(expect, strlen(expect), &s->x, NULL), DGA_E_OK);
    s->r = NULL;
    assert_int_equal(dga_cvm_reappraiser_new(&s->x, &s->r, NULL), DGA_E_OK);
}

static void shared_free(struct shared *s)
{
    dga_cvm_reappraiser_free(s->r);
    dga_cvm_expect_clear(&s->x);
}

/* No cmocka assertion here: threads call it. */
static void run_on(const struct shared *s, const struct input *in, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    o->err = dga_cvm_reappraise(s->r, (const uint8_t *)in->text, in->len, in->doc, &s->x, &in->p,
                                in->at, &o->out, o->detail);
}

/* The same input on a reappraiser of its own, made and freed for this one call. */
static void run_fresh(const char *expect, const struct input *in, struct outcome *o)
{
    struct shared s;
    shared_new(expect, &s);
    run_on(&s, in, o);
    shared_free(&s);
}

static bool device_equal(const struct dga_cvm_gpu_device *a, const struct dga_cvm_gpu_device *b)
{
    return strcmp(a->label, b->label) == 0 && strcmp(a->arch, b->arch) == 0 &&
           strcmp(a->ueid, b->ueid) == 0 && strcmp(a->driver_version, b->driver_version) == 0 &&
           strcmp(a->vbios_version, b->vbios_version) == 0 && strcmp(a->measres, b->measres) == 0 &&
           strcmp(a->failed_check, b->failed_check) == 0 && a->err == b->err && a->pass == b->pass;
}

/* Everything a re-appraisal answers; no cmocka assertion (threads call it). */
static bool outcome_equal(const struct outcome *a, const struct outcome *b)
{
    if (a->err != b->err || strcmp(a->detail, b->detail) != 0 || a->out.ran != b->out.ran ||
        a->out.at != b->out.at || a->out.n_devices != b->out.n_devices ||
        memcmp(a->out.policy_sha256, b->out.policy_sha256, 32) != 0) {
        return false;
    }
    for (size_t i = 0; i < a->out.n_devices; i++) {
        if (!device_equal(&a->out.devices[i], &b->out.devices[i])) {
            return false;
        }
    }
    return true;
}

static void expect_same(const struct outcome *got, const struct outcome *want, const char *what)
{
    if (!outcome_equal(got, want)) {
        fail_msg("%s: got %s \"%s\" (%zu devices), want %s \"%s\" (%zu devices)", what,
                 dga_err_name(got->err), got->detail, got->out.n_devices, dga_err_name(want->err),
                 want->detail, want->out.n_devices);
    }
}

/*
 * ECDSA per re-appraisal of the gate's bundles (test device PKI, the 545.00
 * RIMs). A cold call (what every call cost before the reappraiser kept its
 * cache): per GPU the report and 4 chain signatures, then for the RIMs 2 XML
 * signatures, the driver RIM's chain (3) and the VBIOS RIM's signer (its L3
 * and L2 are the driver RIM's): 11 for one GPU, and each further GPU of the
 * call 3 (report, leaf, BROM under the cached ICA): 32 for eight. A warm
 * call: 1 per GPU, the report signature (it signs this call's nonce); each
 * GPU's whole chain is cached by its exact bytes and the pinned root (a
 * path validation is time-free), the RIMs by document.
 */
#define ECDSA_COLD_1 11
#define ECDSA_WARM_PER_GPU 1
#define ECDSA_COLD_PER_GPU 3
#define ECDSA_COLD_8 (ECDSA_COLD_1 + 7 * ECDSA_COLD_PER_GPU)

static unsigned long counted(const struct shared *s, const struct input *in, dga_err want)
{
    struct outcome o;
    dga_stats_reset();
    run_on(s, in, &o);
    unsigned long n = dga_stats_ecdsa_verifications();
    expect_failure(&o, want, "");
    assert_int_equal(o.out.n_devices, in->p.devices);
    outcome_clear(&o);
    return n;
}

static void test_shared_cache_ecdsa(void **state)
{
    (void)state;
    struct input one = {0}, eight = {0};
    gate_input(1, &one);
    gate_input(8, &eight);
    char *x = gpu_expect(RIMS_545, OFFLINE, "testpki/root.pem", NULL);
    struct shared s;
    shared_new(x, &s);
    assert_int_equal(counted(&s, &one, DGA_E_OK), ECDSA_COLD_1);
    assert_int_equal(counted(&s, &one, DGA_E_OK), ECDSA_WARM_PER_GPU); /* 1 */
    /* its first GPU is the one-GPU bundle's; the 7 others: leaf and BROM under the cached ICA */
    assert_int_equal(counted(&s, &eight, DGA_E_OK),
                     ECDSA_WARM_PER_GPU + 7 * ECDSA_COLD_PER_GPU); /* 22 */
    assert_int_equal(counted(&s, &eight, DGA_E_OK), 8 * ECDSA_WARM_PER_GPU);
    assert_int_equal(counted(&s, &one, DGA_E_OK), ECDSA_WARM_PER_GPU);
    shared_free(&s);
    shared_new(x, &s); /* the 8-GPU bundle first: 32 cold, 8 warm */
    assert_int_equal(counted(&s, &eight, DGA_E_OK), ECDSA_COLD_8);
    assert_int_equal(counted(&s, &eight, DGA_E_OK), 8 * ECDSA_WARM_PER_GPU);
    shared_free(&s);
    free(x);
    input_clear(&one);
    input_clear(&eight);
}

/*
 * One reappraiser across bundles of 1 and 8 GPUs, both device roots, several
 * times (the RIM signers valid, then expired: the policy refuses) and a
 * failing report: every answer is a fresh reappraiser's.
 */
static void test_reappraiser_reused(void **state)
{
    (void)state;
    struct input in[6] = {0};
    gate_input(1, &in[0]);
    gate_input(8, &in[1]);
    h100_input(AT_545, false, &in[2]);
    h100_input("2026-11-28T00:00:00Z", false, &in[3]);
    h100_input(AT_545, true, &in[4]);
    gate_input(1, &in[5]);
    assert_int_equal(dga_time_parse("2026-11-28T00:00:00Z", &in[5].at), DGA_E_OK);
    static const size_t order[] = {0, 1, 2, 3, 4, 5, 1, 0, 3, 2, 5, 4, 1, 3, 0};
    static const dga_err want[] = {DGA_E_OK,
                                   DGA_E_OK,
                                   DGA_E_OK,
                                   DGA_E_CVM_REAPPRAISAL,
                                   DGA_E_SIGNATURE_INVALID,
                                   DGA_E_CVM_REAPPRAISAL};
    char *x = both_roots_expect();
    struct outcome fresh[6];
    for (size_t i = 0; i < 6; i++) {
        run_fresh(x, &in[i], &fresh[i]);
        assert_int_equal(fresh[i].err, want[i]);
    }
    struct shared s;
    shared_new(x, &s);
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        struct outcome o;
        char what[32];
        run_on(&s, &in[order[k]], &o);
        snprintf(what, sizeof what, "call %zu (input %zu)", k, order[k]);
        expect_same(&o, &fresh[order[k]], what);
        outcome_clear(&o);
    }
    shared_free(&s);
    for (size_t i = 0; i < 6; i++) {
        outcome_clear(&fresh[i]);
        input_clear(&in[i]);
    }
    free(x);
}

#define N_THREADS 4
#define CALLS_PER_THREAD 25
#define ROUNDS 5 /* a cold reappraiser per round: the first calls race to fill its cache */
#define N_INPUTS 3

struct worker {
    const struct shared *s;
    const struct input *in;     /* N_INPUTS */
    const struct outcome *want; /* the serial answer per input */
    pthread_barrier_t *start;
    size_t first, calls, mismatches;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    pthread_barrier_wait(w->start);
    for (size_t k = 0; k < w->calls; k++) {
        size_t i = (w->first + k) % N_INPUTS;
        struct outcome o;
        run_on(w->s, &w->in[i], &o);
        w->mismatches += outcome_equal(&o, &w->want[i]) ? 0 : 1;
        outcome_clear(&o);
    }
    return NULL;
}

/* One round: N_THREADS threads, CALLS_PER_THREAD / ROUNDS calls each, one cold reappraiser. */
static size_t threads_round(const char *x, const struct input *in, const struct outcome *want,
                            size_t round)
{
    struct shared s;
    shared_new(x, &s);
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, N_THREADS), 0);
    pthread_t t[N_THREADS];
    struct worker w[N_THREADS];
    for (size_t i = 0; i < N_THREADS; i++) {
        w[i] = (struct worker){.s = &s,
                               .in = in,
                               .want = want,
                               .start = &start,
                               .first = i + round,
                               .calls = CALLS_PER_THREAD / ROUNDS};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    size_t mismatches = 0;
    for (size_t i = 0; i < N_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        mismatches += w[i].mismatches;
    }
    pthread_barrier_destroy(&start);
    shared_free(&s);
    return mismatches;
}

/*
 * 4 threads x 25 re-appraisals of the 1-GPU and the 8-GPU gate bundles and
 * the real H100 one, sharing one reappraiser (one cache) per round: every
 * answer equals the serial one. Also run under ASan and TSan.
 */
static void test_reappraiser_threads(void **state)
{
    (void)state;
    struct input in[N_INPUTS] = {0};
    gate_input(1, &in[0]);
    gate_input(8, &in[1]);
    h100_input(AT_545, false, &in[2]);
    char *x = both_roots_expect();
    struct outcome want[N_INPUTS];
    struct shared s;
    shared_new(x, &s);
    for (size_t i = 0; i < N_INPUTS; i++) {
        run_on(&s, &in[i], &want[i]);
        expect_failure(&want[i], DGA_E_OK, "");
    }
    shared_free(&s);
    for (size_t round = 0; round < ROUNDS; round++) {
        assert_int_equal(threads_round(x, in, want, round), 0);
    }
    for (size_t i = 0; i < N_INPUTS; i++) {
        outcome_clear(&want[i]);
        input_clear(&in[i]);
    }
    free(x);
}

/* ---- the expectations' test_device_root, the reappraiser's refusals ---------------------- */

static void test_expect_test_device_root(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        dga_err err;
        const char *field;
    } cases[] = {
        {"{\"gpu\":{\"trust_roots\":[\"test\"],\"test_device_root\":\"/r.pem\"}}", DGA_E_OK, NULL},
        {"{\"gpu\":{\"test_device_root\":\"/r.pem\",\"trust_roots\":[\"nvidia\",\"test\"]}}",
         DGA_E_OK, NULL},
        {"{\"gpu\":{\"test_device_root\":\"/r.pem\"}}", DGA_E_CVM_EXPECT, "gpu.test_device_root"},
        {"{\"gpu\":{\"trust_roots\":[\"nvidia\"],\"test_device_root\":\"/r.pem\"}}",
         DGA_E_CVM_EXPECT, "gpu.test_device_root"},
        {"{\"gpu\":{\"trust_roots\":[\"test\"],\"test_device_root\":\"\"}}", DGA_E_CVM_EXPECT,
         "gpu.test_device_root"},
        {"{\"gpu\":{\"trust_roots\":[\"test\"],\"test_device_root\":1}}", DGA_E_CVM_EXPECT,
         "gpu.test_device_root"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dga_cvm_expect x;
        struct dga_diag d = {0};
        dga_err e = dga_cvm_expect_parse(cases[i].text, strlen(cases[i].text), &x, &d);
        if (e != cases[i].err) {
            fail_msg("%s: got %s, want %s", cases[i].text, dga_err_name(e),
                     dga_err_name(cases[i].err));
        }
        if (e == DGA_E_OK) {
            assert_string_equal(x.gpu.test_device_root, "/r.pem");
            dga_cvm_expect_clear(&x);
        } else {
            assert_string_equal(d.field, cases[i].field);
        }
    }
}

static void expect_new_fails(const char *text, dga_err want, const char *field)
{
    struct dga_cvm_expect x;
    assert_int_equal(dga_cvm_expect_parse(text, strlen(text), &x, NULL), DGA_E_OK);
    struct dga_cvm_reappraiser *r = (struct dga_cvm_reappraiser *)&x; /* must stay untouched */
    struct dga_diag d = {0};
    dga_err e = dga_cvm_reappraiser_new(&x, &r, &d);
    if (e != want || d.field == NULL || strcmp(d.field, field) != 0) {
        fail_msg("%s: got %s at %s, want %s at %s", text, dga_err_name(e),
                 d.field != NULL ? d.field : "-", dga_err_name(want), field);
    }
    assert_ptr_equal(r, (struct dga_cvm_reappraiser *)&x);
    dga_cvm_expect_clear(&x);
}

static void test_reappraiser_refusals(void **state)
{
    (void)state;
    char rims[1024], pem[1024], policy[1024], t[4096];
    snprintf(rims, sizeof rims, "%s", fixture_path("gpu/h100_545.00/rims"));
    snprintf(pem, sizeof pem, "%s", fixture_path("gpu/h100_545.00/certchain.pem"));
    snprintf(policy, sizeof policy, "%s", fixture_path("cvm/policy_driver_550.json"));
    expect_new_fails("{}", DGA_E_CVM_EXPECT, "gpu.rim_dir");
    snprintf(t, sizeof t, "{\"gpu\":{\"rim_dir\":\"%s\",\"trust_roots\":[\"test\"]}}", rims);
    expect_new_fails(t, DGA_E_CVM_EXPECT, "gpu.test_device_root");
    snprintf(t, sizeof t,
             "{\"gpu\":{\"rim_dir\":\"%s\",\"trust_roots\":[\"test\"],"
             "\"test_device_root\":\"/nonexistent/root.pem\"}}",
             rims);
    expect_new_fails(t, DGA_E_IO, "gpu.test_device_root");
    /* a chain of five certificates is no root */
    snprintf(
        t, sizeof t,
        "{\"gpu\":{\"rim_dir\":\"%s\",\"trust_roots\":[\"test\"],\"test_device_root\":\"%s\"}}",
        rims, pem);
    expect_new_fails(t, DGA_E_BAD_PEM, "gpu.test_device_root");
    expect_new_fails("{\"gpu\":{\"rim_dir\":\"/nonexistent\"}}", DGA_E_RIM_STORE, "gpu.rim_dir");
    snprintf(t, sizeof t, "{\"gpu\":{\"rim_dir\":\"%s\"}}", pem);
    expect_new_fails(t, DGA_E_RIM_STORE, "gpu.rim_dir");
    snprintf(t, sizeof t, "{\"gpu\":{\"rim_dir\":\"%s\",\"collateral_dir\":\"%s\"}}", rims, pem);
    expect_new_fails(t, DGA_E_COLLATERAL_STORE, "gpu.collateral_dir");
    snprintf(t, sizeof t, "{\"gpu\":{\"rim_dir\":\"%s\",\"policy\":\"/nonexistent.json\"}}", rims);
    expect_new_fails(t, DGA_E_IO, "gpu.policy");
    snprintf(t, sizeof t, "{\"gpu\":{\"rim_dir\":\"%s\",\"policy\":\"%s\"}}", rims, pem);
    expect_new_fails(t, DGA_E_POLICY, "gpu.policy");
    /* and one that loads */
    snprintf(t, sizeof t, "{\"gpu\":{\"rim_dir\":\"%s\",\"policy\":\"%s\"}}", rims, policy);
    struct dga_cvm_expect x;
    assert_int_equal(dga_cvm_expect_parse(t, strlen(t), &x, NULL), DGA_E_OK);
    struct dga_cvm_reappraiser *r = NULL;
    assert_int_equal(dga_cvm_reappraiser_new(&x, &r, NULL), DGA_E_OK);
    dga_cvm_reappraiser_free(r);
    dga_cvm_reappraiser_free(NULL);
    dga_cvm_expect_clear(&x);
    assert_int_equal(dga_cvm_reappraiser_new(NULL, &r, NULL), DGA_E_BAD_ARGUMENT);
}

/* The pins' own contract (dga/appraise.h): a device with no pin left is refused at "options". */
static void test_appraise_pins_options(void **state)
{
    (void)state;
    struct dga_evidence_set *set = calloc(1, sizeof *set);
    assert_non_null(set);
    struct dga_evidence_set *second = calloc(1, sizeof *second);
    assert_non_null(second);
    fixture_evidence("gpu/h100_545.00/", DGA_ARCH_HOPPER, NULL, set);
    fixture_evidence("gpu/h100_545.00/", DGA_ARCH_HOPPER, NULL, second);
    set->dev[1] = second->dev[0]; /* moved: the set of two owns both */
    set->n = 2;
    free(second);
    struct dga_trust dev = {0}, rim = {0};
    assert_int_equal(dga_trust_nvidia_device(&dev), DGA_E_OK);
    assert_int_equal(dga_trust_nvidia_rim(&rim), DGA_E_OK);
    struct dga_rim_pins pins = {0};
    pins.driver.set = pins.firmware.set = true;
    snprintf(pins.driver.id, sizeof pins.driver.id, DRIVER_545);
    snprintf(pins.firmware.id, sizeof pins.firmware.id, VBIOS_545);
    assert_int_equal(dga_hex_decode_exact(DRIVER_545_SHA, pins.driver.sha256, 32), DGA_E_OK);
    assert_int_equal(dga_hex_decode_exact(VBIOS_545_SHA, pins.firmware.sha256, 32), DGA_E_OK);
    struct dga_appraise_options opt = {
        .rim_trust = &rim, .rim_dir = fixture_path(RIMS_545), .rim_pins = &pins, .n_rim_pins = 0};
    assert_int_equal(dga_time_parse(AT_545, &opt.verify.at), DGA_E_OK);
    opt.verify.trust = &dev;
    assert_int_equal(dga_hex_decode_exact(NONCE_N3, opt.verify.nonce, 32), DGA_E_OK);
    struct dga_appraisal a;
    assert_int_equal(dga_appraise_device(&set->dev[0], &opt, &a), DGA_E_BAD_ARGUMENT);
    assert_int_equal(a.failed_check, DGA_APPRAISAL_CHECK_OPTIONS);
    dga_appraisal_clear(&a);
    opt.n_rim_pins = 1;
    assert_int_equal(dga_appraise_device(&set->dev[0], &opt, &a), DGA_E_OK);
    dga_appraisal_clear(&a);
    /* A set of two with one pin: the second device has none. */
    struct dga_policy *policy = NULL;
    assert_int_equal(dga_policy_default(&policy), DGA_E_OK);
    struct dga_set_appraisal ap;
    assert_int_equal(dga_appraise_set(set, &opt, policy, &ap), DGA_E_OK);
    assert_int_equal(ap.dev[0].err, DGA_E_OK);
    assert_int_equal(ap.dev[1].err, DGA_E_BAD_ARGUMENT);
    assert_int_equal(ap.dev[1].failed_check, DGA_APPRAISAL_CHECK_OPTIONS);
    dga_set_appraisal_clear(&ap);
    dga_policy_free(policy);
    dga_trust_clear(&dev);
    dga_trust_clear(&rim);
    dga_evidence_set_freep(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h100_pass),
        cmocka_unit_test(test_h100_bit_flipped),
        cmocka_unit_test(test_h100_nonce_differs),
        cmocka_unit_test(test_h100_rim_absent),
        cmocka_unit_test(test_h100_other_sha),
        cmocka_unit_test(test_h100_store_with_another_issue),
        cmocka_unit_test(test_h100_policy_refuses),
        cmocka_unit_test(test_h100_trust_root),
        cmocka_unit_test(test_h100_ocsp),
        cmocka_unit_test(test_h100_duplicate),
        cmocka_unit_test(test_ls10),
        cmocka_unit_test(test_bundle_malformed),
        cmocka_unit_test(test_hostile_types),
        cmocka_unit_test(test_gate_bundle),
        cmocka_unit_test(test_shared_cache_ecdsa),
        cmocka_unit_test(test_reappraiser_reused),
        cmocka_unit_test(test_reappraiser_threads),
        cmocka_unit_test(test_expect_test_device_root),
        cmocka_unit_test(test_reappraiser_refusals),
        cmocka_unit_test(test_appraise_pins_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
