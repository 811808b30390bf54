/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy layer (docs/policy.md):
 * the built-in default over hand-built claims v3 arrays, one test per claim
 * it reads; each NVIDIA example policy as its JSON equivalent
 * (the .json files of tests/fixtures/policies) passing exactly what the Rego passes;
 * dstack's knobs, counts and allow-lists; the parser's errors and fields;
 * and real nvattest output.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dga/policy.h"
#include "dga/util.h"

#define GPU_AR "x-nvidia-gpu-attestation-report-cert-chain"
#define GPU_DRV "x-nvidia-gpu-driver-rim-cert-chain"
#define GPU_VBIOS "x-nvidia-gpu-vbios-rim-cert-chain"
#define SW_AR "x-nvidia-switch-attestation-report-cert-chain"
#define SW_BIOS "x-nvidia-switch-bios-rim-cert-chain"

/* ------------------------------------------------------------ claims builders */

/* A chain object as libnvat emits it after a good OCSP check. */
static json_t *chain(void)
{
    json_t *c =
        json_pack("{s:s,s:s,s:s,s:n,s:b,s:b}", "x-nvidia-cert-expiration-date",
                  "2028-04-23T05:31:21Z", "x-nvidia-cert-status", "valid",
                  "x-nvidia-cert-ocsp-status", "good", "x-nvidia-cert-revocation-reason",
                  "x-nvidia-cert-ocsp-nonce-matches", 1, "x-nvidia-cert-ocsp-response-valid", 1);
    assert_non_null(c);
    return c;
}

static json_t *common(const char *type, const char *hwmodel)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:n}", "eat_nonce", NONCE_N1, "measres",
                          "success", "dbgstat", "disabled", "hwmodel", hwmodel, "secboot", 1,
                          "ueid", "457723480349051719100670602112458195243836813799",
                          "x-nvidia-device-type", type, "x-nvidia-mismatch-measurement-records");
    assert_non_null(o);
    return o;
}

static void set_true(json_t *o, const char *key)
{
    assert_int_equal(json_object_set_new(o, key, json_true()), 0);
}

static void set_str(json_t *o, const char *key, const char *value)
{
    assert_int_equal(json_object_set_new(o, key, json_string(value)), 0);
}

/* A fully good GPU claims object (claims v3, docs/formats.md §11). */
static json_t *gpu(void)
{
    json_t *g = common("gpu", "GH100 A01 GSP BROM");
    set_str(g, "oemid", "5703");
    set_str(g, "x-nvidia-gpu-claims-version", "3.0");
    set_str(g, "x-nvidia-gpu-driver-version", "580.159.03");
    set_str(g, "x-nvidia-gpu-vbios-version", "96.00.D9.00.01");
    set_true(g, "x-nvidia-gpu-arch-check");
    json_object_set_new(g, GPU_AR, chain());
    json_object_set_new(g, GPU_DRV, chain());
    json_object_set_new(g, GPU_VBIOS, chain());
    set_true(g, "x-nvidia-gpu-attestation-report-cert-chain-fwid-match");
    set_true(g, "x-nvidia-gpu-attestation-report-parsed");
    set_true(g, "x-nvidia-gpu-attestation-report-nonce-match");
    set_true(g, "x-nvidia-gpu-attestation-report-signature-verified");
    set_true(g, "x-nvidia-gpu-driver-rim-fetched");
    set_true(g, "x-nvidia-gpu-driver-rim-signature-verified");
    set_true(g, "x-nvidia-gpu-driver-rim-version-match");
    set_true(g, "x-nvidia-gpu-vbios-rim-fetched");
    set_true(g, "x-nvidia-gpu-vbios-rim-signature-verified");
    set_true(g, "x-nvidia-gpu-vbios-rim-version-match");
    set_true(g, "x-nvidia-gpu-vbios-index-no-conflict");
    return g;
}

/* A fully good NVSwitch claims object (claims v3, docs/formats.md §11). */
static json_t *nvswitch(void)
{
    json_t *s = common("nvswitch", "LS_10 A01 FSP BROM");
    set_str(s, "x-nvidia-version", "3.0");
    set_str(s, "x-nvidia-switch-bios-version", "96.10.6D.00.01");
    set_true(s, "x-nvidia-switch-arch-check");
    json_object_set_new(s, SW_AR, chain());
    json_object_set_new(s, SW_BIOS, chain());
    set_true(s, "x-nvidia-switch-attestation-report-cert-chain-fwid-match");
    set_true(s, "x-nvidia-switch-attestation-report-parsed");
    set_true(s, "x-nvidia-switch-attestation-report-nonce-match");
    set_true(s, "x-nvidia-switch-attestation-report-signature-verified");
    set_true(s, "x-nvidia-switch-bios-rim-fetched");
    set_true(s, "x-nvidia-switch-bios-rim-signature-verified");
    set_true(s, "x-nvidia-switch-bios-rim-version-match");
    return s;
}

/* Sets key to the JSON text value (NULL removes it) in dev, or in dev[chain_key]. */
static void set(json_t *dev, const char *chain_key, const char *key, const char *value)
{
    json_t *o = chain_key != NULL ? json_object_get(dev, chain_key) : dev;
    json_t *v;
    assert_non_null(o);
    if (value == NULL) {
        json_object_del(o, key);
        return;
    }
    v = json_loads(value, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    assert_int_equal(json_object_set_new(o, key, v), 0);
}

/* A claims array of the given devices (references stolen), NULL-terminated. */
static json_t *devices(json_t *first, ...)
{
    va_list ap;
    json_t *a = json_array();
    assert_non_null(a);
    va_start(ap, first);
    for (json_t *d = first; d != NULL; d = va_arg(ap, json_t *)) {
        json_array_append_new(a, d);
    }
    va_end(ap);
    return a;
}

/* Our own claims today (lib/appraise/claims.c): OCSP not checked, no OCSP booleans. */
static void ocsp_not_checked(json_t *dev, const char *chain_key)
{
    set(dev, chain_key, "x-nvidia-cert-ocsp-status", "\"not-checked\"");
    set(dev, chain_key, "x-nvidia-cert-ocsp-nonce-matches", NULL);
    set(dev, chain_key, "x-nvidia-cert-ocsp-response-valid", NULL);
}

/* A GPU mismatching at (index, source) pairs, as libnvat reports it (docs/formats.md §9). */
static json_t *gpu_mismatch(const char *records)
{
    json_t *g = gpu();
    set(g, NULL, "measres", "\"fail\"");
    set(g, NULL, "secboot", "null");
    set(g, NULL, "dbgstat", "null");
    set(g, NULL, "x-nvidia-mismatch-measurement-records", records);
    return g;
}

#define RECORD(index, source)                                                                      \
    "{\"index\": " #index ", \"goldenSize\": 48, \"goldenValue\": \"00\", \"runtimeSize\": "       \
    "48, \"runtimeValue\": \"11\", \"measurementSource\": \"" source "\"}"

/* ------------------------------------------------------------ policies and verdicts */

static struct dga_policy *builtin(void)
{
    struct dga_policy *p = NULL;
    assert_int_equal(dga_policy_default(&p), DGA_E_OK);
    assert_non_null(p);
    return p;
}

static struct dga_policy *policy(const char *text)
{
    struct dga_policy *p = NULL;
    struct dga_diag d = {0};
    dga_err e = dga_policy_parse(text, strlen(text), &p, &d);
    if (e != DGA_E_OK) {
        fail_msg("policy %s: %s at %s", text, dga_err_name(e), d.field);
    }
    return p;
}

static struct dga_policy *fixture_policy(const char *name)
{
    char rel[256];
    size_t len;
    char *text;
    struct dga_policy *p = NULL;
    struct dga_diag d = {0};
    dga_err e;
    snprintf(rel, sizeof rel, "policies/%s", name);
    text = (char *)fixture_read(rel, &len);
    e = dga_policy_parse(text, len, &p, &d);
    free(text);
    if (e != DGA_E_OK) {
        fail_msg("%s: %s at %s", name, dga_err_name(e), d.field);
    }
    assert_string_equal(dga_policy_source(p), "file");
    return p;
}

static struct dga_verdict verdict;

static void evaluate(const struct dga_policy *p, const json_t *claims)
{
    assert_int_equal(dga_policy_evaluate(p, claims, &verdict), DGA_E_OK);
}

static void print_reasons(void)
{
    for (size_t i = 0; i < verdict.n_reasons; i++) {
        print_message("  reason %zu: %s\n", i, verdict.reasons[i]);
    }
}

/* Evaluates and consumes claims; the verdict must pass. */
static void expect_pass(const struct dga_policy *p, json_t *claims)
{
    evaluate(p, claims);
    json_decref(claims);
    if (!verdict.pass || verdict.n_reasons != 0) {
        print_reasons();
        fail_msg("expected pass, got %zu reasons", verdict.n_reasons);
    }
}

static bool has_reason(const char *reason)
{
    for (size_t i = 0; i < verdict.n_reasons; i++) {
        if (strcmp(verdict.reasons[i], reason) == 0) {
            return true;
        }
    }
    return false;
}

/* Evaluates and consumes claims; exactly n reasons, one of them `reason`. */
static void expect_fail_n(const struct dga_policy *p, json_t *claims, size_t n, const char *reason)
{
    evaluate(p, claims);
    json_decref(claims);
    if (verdict.pass || verdict.n_reasons != n || (reason != NULL && !has_reason(reason))) {
        print_reasons();
        fail_msg("expected %zu reasons including \"%s\"", n, reason != NULL ? reason : "");
    }
}

static void expect_fail(const struct dga_policy *p, json_t *claims, const char *reason)
{
    expect_fail_n(p, claims, 1, reason);
}

/* ------------------------------------------------------------ the built-in default */

static void test_default_identity(void **state)
{
    static const char empty_sha[] =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    uint8_t sha[32];
    char hex[65];
    struct dga_policy *p = builtin();
    (void)state;
    assert_int_equal(dga_policy_origin(p), DGA_POLICY_BUILTIN);
    assert_string_equal(dga_policy_source(p), "builtin");
    dga_policy_sha256(p, sha);
    dga_hex_encode(sha, 32, hex);
    assert_string_equal(hex, empty_sha);
    assert_true(dga_policy_attest_gpu(p));
    assert_false(dga_policy_allow_devtools(p));
    dga_policy_free(p);
}

static void test_default_passes_good_devices(void **state)
{
    struct dga_policy *p = builtin();
    (void)state;
    expect_pass(p, devices(gpu(), NULL));
    expect_pass(p, devices(nvswitch(), NULL));
    expect_pass(p, devices(gpu(), gpu(), gpu(), gpu(), gpu(), gpu(), gpu(), gpu(), nvswitch(),
                           nvswitch(), nvswitch(), nvswitch(), NULL));
    dga_policy_free(p);
}

struct deviation {
    bool nvswitch;
    const char *chain; /* NULL: a claim of the device itself */
    const char *key;
    const char *value; /* JSON text; NULL removes the key */
    const char *reason;
};

#define L_GPU "GPU-0: "
#define L_SW "SWITCH-0: "
#define REQ_TRUE ", policy requires true"

/* The chain checks of the default, for one chain of one device. */
#define CHAIN_DEVIATIONS(sw, label, c)                                                             \
    {sw, c, "x-nvidia-cert-status", "\"expired\"",                                                 \
     label c ".x-nvidia-cert-status is \"expired\", policy allows [\"valid\"]"},                   \
        {sw, c, "x-nvidia-cert-status", "\"invalid\"",                                             \
         label c ".x-nvidia-cert-status is \"invalid\", policy allows [\"valid\"]"},               \
        {sw, c, "x-nvidia-cert-status", NULL,                                                      \
         label c ".x-nvidia-cert-status is missing, policy allows [\"valid\"]"},                   \
        {sw, c, "x-nvidia-cert-ocsp-status", "\"revoked\"",                                        \
         label c ".x-nvidia-cert-ocsp-status is \"revoked\", policy allows [\"good\"]"},           \
        {sw, c, "x-nvidia-cert-ocsp-status", "\"unknown\"",                                        \
         label c ".x-nvidia-cert-ocsp-status is \"unknown\", policy allows [\"good\"]"},           \
        {sw, c, "x-nvidia-cert-ocsp-status", "null",                                               \
         label c ".x-nvidia-cert-ocsp-status is null, policy allows [\"good\"]"},                  \
        {sw, c, "x-nvidia-cert-ocsp-nonce-matches", "false",                                       \
         label c ".x-nvidia-cert-ocsp-nonce-matches is false" REQ_TRUE},                           \
        {sw, c, "x-nvidia-cert-ocsp-nonce-matches", NULL,                                          \
         label c ".x-nvidia-cert-ocsp-nonce-matches is missing" REQ_TRUE},                         \
        {sw, c, "x-nvidia-cert-ocsp-response-valid", "false",                                      \
         label c ".x-nvidia-cert-ocsp-response-valid is false" REQ_TRUE},                          \
        {sw, c, "x-nvidia-cert-ocsp-response-valid", "\"true\"",                                   \
         label c ".x-nvidia-cert-ocsp-response-valid is \"true\"" REQ_TRUE},                       \
        {sw, NULL, c, NULL, label c " is missing, policy requires a certificate-chain object"},    \
    {                                                                                              \
        sw, NULL, c, "\"valid\"",                                                                  \
            label c " is \"valid\", policy requires a certificate-chain object"                    \
    }

#define REPORT_DEVIATIONS(sw, label, prefix)                                                       \
    {sw, NULL, prefix "attestation-report-parsed", "false",                                        \
     label prefix "attestation-report-parsed is false" REQ_TRUE},                                  \
        {sw, NULL, prefix "attestation-report-nonce-match", "false",                               \
         label prefix "attestation-report-nonce-match is false" REQ_TRUE},                         \
        {sw, NULL, prefix "attestation-report-signature-verified", "false",                        \
         label prefix "attestation-report-signature-verified is false" REQ_TRUE},                  \
    {                                                                                              \
        sw, NULL, prefix "attestation-report-cert-chain-fwid-match", NULL,                         \
            label prefix "attestation-report-cert-chain-fwid-match is missing" REQ_TRUE            \
    }

#define MEASUREMENT_DEVIATIONS(sw, label)                                                          \
    {sw, NULL, "measres", "\"fail\"", label "measres is \"fail\", policy requires \"success\""},   \
        {sw, NULL, "measres", "\"not-run\"",                                                       \
         label "measres is \"not-run\", policy requires \"success\""},                             \
        {sw, NULL, "measres", NULL, label "measres is missing, policy requires \"success\""},      \
        {sw, NULL, "secboot", "null", label "secboot is null" REQ_TRUE},                           \
        {sw, NULL, "secboot", "false", label "secboot is false" REQ_TRUE},                         \
        {sw, NULL, "dbgstat", "\"enabled\"",                                                       \
         label "dbgstat is \"enabled\", policy requires \"disabled\""},                            \
    {                                                                                              \
        sw, NULL, "dbgstat", "null", label "dbgstat is null, policy requires \"disabled\""         \
    }

static const struct deviation deviations[] = {
    MEASUREMENT_DEVIATIONS(false, L_GPU),
    REPORT_DEVIATIONS(false, L_GPU, "x-nvidia-gpu-"),
    CHAIN_DEVIATIONS(false, L_GPU, GPU_AR),
    CHAIN_DEVIATIONS(false, L_GPU, GPU_DRV),
    CHAIN_DEVIATIONS(false, L_GPU, GPU_VBIOS),
    MEASUREMENT_DEVIATIONS(true, L_SW),
    REPORT_DEVIATIONS(true, L_SW, "x-nvidia-switch-"),
    CHAIN_DEVIATIONS(true, L_SW, SW_AR),
    CHAIN_DEVIATIONS(true, L_SW, SW_BIOS),
    {false, NULL, "x-nvidia-device-type", "\"cpu\"",
     "DEVICE-0: x-nvidia-device-type is \"cpu\", policy allows [\"gpu\", \"nvswitch\"]"},
    {false, NULL, "x-nvidia-device-type", "\"GPU\"",
     "DEVICE-0: x-nvidia-device-type is \"GPU\", policy allows [\"gpu\", \"nvswitch\"]"},
    {true, NULL, "x-nvidia-device-type", NULL,
     "DEVICE-0: x-nvidia-device-type is missing, policy allows [\"gpu\", \"nvswitch\"]"},
};
#define N_DEVIATIONS (sizeof deviations / sizeof deviations[0])

/* One claim off a good device: the default fails with exactly that one reason. */
static void test_default_deviation(void **state)
{
    const struct deviation *d = *state;
    struct dga_policy *p = builtin();
    json_t *dev = d->nvswitch ? nvswitch() : gpu();
    set(dev, d->chain, d->key, d->value);
    expect_fail(p, devices(dev, NULL), d->reason);
    dga_policy_free(p);
}

static void test_default_collects_every_reason(void **state)
{
    struct dga_policy *p = builtin();
    json_t *g = gpu(), *s = nvswitch(), *bad = gpu();
    (void)state;
    set(bad, GPU_VBIOS, "x-nvidia-cert-status", "\"expired\"");
    set(bad, NULL, "dbgstat", "\"enabled\"");
    set(s, SW_BIOS, "x-nvidia-cert-ocsp-status", "\"revoked\"");
    expect_fail_n(p, json_pack("[o,o,o,o,s]", g, s, bad, nvswitch(), "not a device"), 4, NULL);
    assert_int_equal(verdict.n_reasons, 4);
    assert_string_equal(verdict.reasons[0],
                        "SWITCH-0: " SW_BIOS ".x-nvidia-cert-ocsp-status is \"revoked\", policy "
                        "allows [\"good\"]");
    assert_string_equal(verdict.reasons[1], "GPU-1: dbgstat is \"enabled\", policy requires "
                                            "\"disabled\"");
    assert_string_equal(verdict.reasons[2], "GPU-1: " GPU_VBIOS ".x-nvidia-cert-status is "
                                            "\"expired\", policy allows [\"valid\"]");
    assert_string_equal(verdict.reasons[3], "DEVICE-4: the claims are not an object");
    /* Each reason says which device of the array it names and where its finding starts. */
    static const long device[4] = {1, 2, 2, 4};
    static const size_t text_at[4] = {10, 7, 7, 10};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(verdict.about[i].device, device[i]);
        assert_int_equal(verdict.about[i].text_at, text_at[i]);
    }
    assert_string_equal(verdict.reasons[1] + verdict.about[1].text_at,
                        "dbgstat is \"enabled\", policy requires \"disabled\"");
    dga_policy_free(p);
}

static void test_default_empty_array(void **state)
{
    struct dga_policy *p = builtin();
    (void)state;
    expect_fail(p, json_array(),
                "devices: the claims array is empty, policy requires at least one device");
    /* About the set, no device: the subject "devices" and the finding after it. */
    assert_int_equal(verdict.about[0].device, -1);
    assert_int_equal(verdict.about[0].text_at, strlen("devices: "));
    dga_policy_free(p);
}

/* Our claims say "not-checked" until OCSP is implemented: the default fails closed. */
static void test_ocsp_not_checked(void **state)
{
    struct dga_policy *def = builtin();
    struct dga_policy *off = fixture_policy("offline_no_ocsp.json");
    json_t *g = gpu();
    (void)state;
    ocsp_not_checked(g, GPU_AR);
    ocsp_not_checked(g, GPU_DRV);
    ocsp_not_checked(g, GPU_VBIOS);
    expect_fail_n(def, devices(json_deep_copy(g), NULL), 9,
                  L_GPU GPU_DRV ".x-nvidia-cert-ocsp-status is \"not-checked\", policy allows "
                                "[\"good\"]");
    assert_true(has_reason(L_GPU GPU_AR ".x-nvidia-cert-ocsp-nonce-matches is missing" REQ_TRUE));
    assert_true(
        has_reason(L_GPU GPU_VBIOS ".x-nvidia-cert-ocsp-response-valid is missing" REQ_TRUE));
    expect_pass(off, devices(json_deep_copy(g), NULL));

    /* "not-required": absent status is fine, and other failures say nothing about OCSP. */
    set(g, GPU_AR, "x-nvidia-cert-ocsp-status", NULL);
    set(g, GPU_DRV, "x-nvidia-cert-status", "\"expired\"");
    expect_fail(off, devices(json_deep_copy(g), NULL),
                L_GPU GPU_DRV ".x-nvidia-cert-status is \"expired\", policy allows [\"valid\"]");
    assert_null(strstr(verdict.reasons[0], "ocsp"));

    /* A claimed revocation is never ignored. */
    set(g, GPU_DRV, "x-nvidia-cert-status", "\"valid\"");
    set(g, GPU_VBIOS, "x-nvidia-cert-ocsp-status", "\"revoked\"");
    expect_fail(off, devices(json_deep_copy(g), NULL),
                L_GPU GPU_VBIOS ".x-nvidia-cert-ocsp-status is \"revoked\", policy allows "
                                "[\"good\"]");
    json_decref(g);
    dga_policy_free(off);
    dga_policy_free(def);
}

/* With OCSP not required, an explicitly allowed revocation still honours its reasons. */
static void test_ocsp_not_required_revoked_allowed(void **state)
{
    struct dga_policy *p =
        policy("{\"ocsp\": \"not-required\", \"chains\": {\"gpu-driver-rim\": {\"ocsp_status\": "
               "[\"good\", \"revoked\"], \"revocation_reasons\": [\"certificateHold\"]}}}");
    json_t *g = gpu();
    (void)state;
    ocsp_not_checked(g, GPU_AR);
    ocsp_not_checked(g, GPU_VBIOS);
    set(g, GPU_DRV, "x-nvidia-cert-ocsp-status", "\"revoked\"");
    set(g, GPU_DRV, "x-nvidia-cert-revocation-reason", "\"certificateHold\"");
    expect_pass(p, devices(json_deep_copy(g), NULL));
    set(g, GPU_DRV, "x-nvidia-cert-revocation-reason", "\"keyCompromise\"");
    expect_fail(p, devices(g, NULL),
                L_GPU GPU_DRV ".x-nvidia-cert-revocation-reason is \"keyCompromise\", policy "
                              "allows [\"certificateHold\"]");
    dga_policy_free(p);
}

/*
 * "not-required" allows not checking at all, nothing more: a device identity chain that
 * was checked must have a fresh "good" answer whatever the policy (issue 9, finding 9).
 */
static void test_ocsp_not_required_checked_device_chain(void **state)
{
    struct dga_policy *off = fixture_policy("offline_no_ocsp.json");
    json_t *g = gpu();
    json_t *s = nvswitch();
    (void)state;
    ocsp_not_checked(g, GPU_DRV);
    ocsp_not_checked(g, GPU_VBIOS);
    ocsp_not_checked(s, SW_BIOS);
    expect_pass(off, devices(json_deep_copy(g), json_deep_copy(s), NULL)); /* good, with nonce */
    /* "unknown" from the responder. */
    set(g, GPU_AR, "x-nvidia-cert-ocsp-status", "\"unknown\"");
    expect_fail(off, devices(json_deep_copy(g), NULL),
                L_GPU GPU_AR ".x-nvidia-cert-ocsp-status is \"unknown\", policy allows [\"good\"]");
    /* A stale stored response: invalid, and not valid. */
    set(g, GPU_AR, "x-nvidia-cert-ocsp-status", "\"invalid\"");
    set(g, GPU_AR, "x-nvidia-cert-ocsp-response-valid", "false");
    expect_fail_n(off, devices(json_deep_copy(g), NULL), 2,
                  L_GPU GPU_AR ".x-nvidia-cert-ocsp-status is \"invalid\", policy allows "
                               "[\"good\"]");
    assert_true(has_reason(L_GPU GPU_AR ".x-nvidia-cert-ocsp-response-valid is false" REQ_TRUE));
    /* "good" from a store with no maximum age and no nonce: its freshness is unbounded. */
    set(g, GPU_AR, "x-nvidia-cert-ocsp-status", "\"good\"");
    set(g, GPU_AR, "x-nvidia-cert-ocsp-response-valid", "true");
    set(g, GPU_AR, "x-nvidia-cert-ocsp-nonce-matches", "false");
    set(g, GPU_AR, "x-dstack-cert-ocsp-source", "\"cache\"");
    set(g, GPU_AR, "x-dstack-cert-ocsp-max-age", "0");
    expect_fail(off, devices(json_deep_copy(g), NULL),
                L_GPU GPU_AR ".x-dstack-cert-ocsp-max-age is 0, policy requires a stored OCSP "
                             "response held to a maximum age (or a matching nonce)");
    set(g, GPU_AR, "x-dstack-cert-ocsp-max-age", "604800");
    expect_pass(off, devices(json_deep_copy(g), NULL));
    /* Not checked at all is what "not-required" allows. */
    ocsp_not_checked(g, GPU_AR);
    expect_pass(off, devices(json_deep_copy(g), NULL));
    /* The same for an NVSwitch's identity chain; RIM chains stay relaxed. */
    set(s, SW_AR, "x-nvidia-cert-ocsp-status", "\"unknown\"");
    set(s, SW_BIOS, "x-nvidia-cert-ocsp-status", "\"unknown\"");
    expect_fail(off, devices(json_deep_copy(s), NULL),
                "SWITCH-0: " SW_AR ".x-nvidia-cert-ocsp-status is \"unknown\", policy allows "
                "[\"good\"]");
    json_decref(s);
    json_decref(g);
    dga_policy_free(off);
}

/* ------------------------------------------------------------ NVIDIA's examples */

/* allow_gpu_driver_rim_cert_expired.rego: only the driver RIM chain may be expired. */
static void test_example_expired(void **state)
{
    struct dga_policy *p = fixture_policy("allow_gpu_driver_rim_cert_expired.json");
    json_t *g = gpu(), *s = nvswitch();
    (void)state;
    set(g, GPU_DRV, "x-nvidia-cert-status", "\"expired\"");
    expect_pass(p, devices(json_deep_copy(g), NULL));
    set(g, GPU_VBIOS, "x-nvidia-cert-status", "\"expired\"");
    expect_fail(p, devices(json_deep_copy(g), NULL),
                L_GPU GPU_VBIOS ".x-nvidia-cert-status is \"expired\", policy allows [\"valid\"]");
    set(g, GPU_VBIOS, "x-nvidia-cert-status", "\"valid\"");
    set(g, GPU_AR, "x-nvidia-cert-status", "\"expired\"");
    expect_fail(p, devices(json_deep_copy(g), NULL),
                L_GPU GPU_AR ".x-nvidia-cert-status is \"expired\", policy allows [\"valid\"]");
    set(g, GPU_AR, "x-nvidia-cert-status", "\"valid\"");
    set(g, GPU_DRV, "x-nvidia-cert-status", "\"invalid\"");
    expect_fail(p, devices(g, NULL),
                L_GPU GPU_DRV ".x-nvidia-cert-status is \"invalid\", policy allows [\"valid\", "
                              "\"expired\"]");
    set(s, SW_BIOS, "x-nvidia-cert-status", "\"expired\"");
    expect_fail(p, devices(s, NULL),
                L_SW SW_BIOS ".x-nvidia-cert-status is \"expired\", policy allows [\"valid\"]");
    dga_policy_free(p);
}

/* allow_gpu_driver_rim_cert_revoked.rego: driver RIM chain revoked for any reason. */
static void test_example_revoked(void **state)
{
    struct dga_policy *p = fixture_policy("allow_gpu_driver_rim_cert_revoked.json");
    json_t *g = gpu();
    (void)state;
    set(g, GPU_DRV, "x-nvidia-cert-ocsp-status", "\"revoked\"");
    set(g, GPU_DRV, "x-nvidia-cert-revocation-reason", "\"keyCompromise\"");
    expect_pass(p, devices(json_deep_copy(g), NULL));
    set(g, GPU_DRV, "x-nvidia-cert-ocsp-status", "\"unknown\"");
    expect_fail(p, devices(json_deep_copy(g), NULL),
                L_GPU GPU_DRV ".x-nvidia-cert-ocsp-status is \"unknown\", policy allows "
                              "[\"good\", \"revoked\"]");
    set(g, GPU_DRV, "x-nvidia-cert-ocsp-status", "\"good\"");
    set(g, GPU_VBIOS, "x-nvidia-cert-ocsp-status", "\"revoked\"");
    expect_fail(p, devices(g, NULL),
                L_GPU GPU_VBIOS ".x-nvidia-cert-ocsp-status is \"revoked\", policy allows "
                                "[\"good\"]");
    dga_policy_free(p);
}

/* The recommended narrowing: certificateHold only. */
static void test_certificate_hold_only(void **state)
{
    struct dga_policy *hold = fixture_policy("allow_gpu_driver_rim_cert_on_hold.json");
    struct dga_policy *def = builtin();
    json_t *g = gpu();
    (void)state;
    set(g, GPU_DRV, "x-nvidia-cert-ocsp-status", "\"revoked\"");
    set(g, GPU_DRV, "x-nvidia-cert-revocation-reason", "\"certificateHold\"");
    expect_pass(hold, devices(json_deep_copy(g), NULL));
    expect_fail(def, devices(json_deep_copy(g), NULL),
                L_GPU GPU_DRV ".x-nvidia-cert-ocsp-status is \"revoked\", policy allows "
                              "[\"good\"]");
    set(g, GPU_DRV, "x-nvidia-cert-revocation-reason", "\"certificate_hold\"");
    expect_fail(hold, devices(json_deep_copy(g), NULL),
                L_GPU GPU_DRV ".x-nvidia-cert-revocation-reason is \"certificate_hold\", policy "
                              "allows [\"certificateHold\"]");
    set(g, GPU_DRV, "x-nvidia-cert-revocation-reason", "null");
    expect_fail(hold, devices(g, NULL),
                L_GPU GPU_DRV ".x-nvidia-cert-revocation-reason is null, policy allows "
                              "[\"certificateHold\"]");
    dga_policy_free(def);
    dga_policy_free(hold);
}

/* allow_gpu_driver_rim_cert_unknown.rego */
static void test_example_unknown(void **state)
{
    struct dga_policy *p = fixture_policy("allow_gpu_driver_rim_cert_unknown.json");
    json_t *g = gpu();
    (void)state;
    set(g, GPU_DRV, "x-nvidia-cert-ocsp-status", "\"unknown\"");
    expect_pass(p, devices(json_deep_copy(g), NULL));
    set(g, GPU_DRV, "x-nvidia-cert-ocsp-status", "\"revoked\"");
    expect_fail(p, devices(json_deep_copy(g), NULL),
                L_GPU GPU_DRV ".x-nvidia-cert-ocsp-status is \"revoked\", policy allows "
                              "[\"good\", \"unknown\"]");
    set(g, GPU_DRV, "x-nvidia-cert-ocsp-status", "\"good\"");
    set(g, GPU_VBIOS, "x-nvidia-cert-ocsp-status", "\"unknown\"");
    expect_fail(p, devices(g, NULL),
                L_GPU GPU_VBIOS ".x-nvidia-cert-ocsp-status is \"unknown\", policy allows "
                                "[\"good\"]");
    dga_policy_free(p);
}

/* allow_gpu_measurement_mismatch_index_7.rego: GPU index 7 only; switches strict. */
static void test_example_mismatch_index_7(void **state)
{
    struct dga_policy *p = fixture_policy("allow_gpu_measurement_mismatch_index_7.json");
    struct dga_policy *def = builtin();
    json_t *s;
    (void)state;
    expect_pass(p, devices(gpu_mismatch("[" RECORD(7, "Driver") "]"), NULL));
    expect_pass(
        p, devices(gpu_mismatch("[" RECORD(7, "Firmware") ", " RECORD(7, "Driver") "]"), NULL));
    expect_pass(p, devices(gpu(), nvswitch(), NULL));
    expect_fail_n(def, devices(gpu_mismatch("[" RECORD(7, "Driver") "]"), NULL), 3,
                  L_GPU "measres is \"fail\", policy requires \"success\"");
    expect_fail(p, devices(gpu_mismatch("[" RECORD(9, "Driver") "]"), NULL),
                L_GPU "x-nvidia-mismatch-measurement-records[0].index is 9 (measurementSource "
                      "\"Driver\"), policy allows [7]");
    expect_fail(p,
                devices(gpu_mismatch("[" RECORD(7, "Driver") ", " RECORD(9, "Firmware") "]"), NULL),
                L_GPU "x-nvidia-mismatch-measurement-records[1].index is 9 (measurementSource "
                      "\"Firmware\"), policy allows [7]");
    expect_fail(p, devices(gpu_mismatch("null"), NULL),
                L_GPU "measres is \"fail\" and x-nvidia-mismatch-measurement-records is null, "
                      "policy requires a non-empty list of allowed mismatches");
    expect_fail(p, devices(gpu_mismatch("[]"), NULL),
                L_GPU "measres is \"fail\" and x-nvidia-mismatch-measurement-records is empty, "
                      "policy requires a non-empty list of allowed mismatches");
    expect_fail(
        p, devices(gpu_mismatch("[{\"index\": \"7\", \"measurementSource\": \"Driver\"}]"), NULL),
        L_GPU "x-nvidia-mismatch-measurement-records[0] is malformed, policy requires "
              "an index 0-255 and a measurementSource \"Driver\" or \"Firmware\"");
    /* NVSwitches stay strict. */
    s = nvswitch();
    set(s, NULL, "measres", "\"fail\"");
    set(s, NULL, "secboot", "null");
    set(s, NULL, "dbgstat", "null");
    set(s, NULL, "x-nvidia-mismatch-measurement-records", "[" RECORD(7, "Firmware") "]");
    expect_fail_n(p, devices(s, NULL), 3, L_SW "measres is \"fail\", policy requires \"success\"");
    dga_policy_free(def);
    dga_policy_free(p);
}

/* Each source has its own list: driver [7] does not allow firmware index 7. */
static void test_mismatch_per_source(void **state)
{
    struct dga_policy *p = policy("{\"allow_mismatch_indices\": {\"driver\": [7, 21]}}");
    json_t *g;
    (void)state;
    expect_pass(p,
                devices(gpu_mismatch("[" RECORD(21, "Driver") ", " RECORD(7, "Driver") "]"), NULL));
    expect_fail(p, devices(gpu_mismatch("[" RECORD(7, "Firmware") "]"), NULL),
                L_GPU "x-nvidia-mismatch-measurement-records[0].index is 7 (measurementSource "
                      "\"Firmware\"), policy allows []");
    /* An allowed mismatch excuses nothing else. */
    g = gpu_mismatch("[" RECORD(7, "Driver") "]");
    set(g, GPU_AR, "x-nvidia-cert-status", "\"expired\"");
    expect_fail(p, devices(g, NULL),
                L_GPU GPU_AR ".x-nvidia-cert-status is \"expired\", policy allows [\"valid\"]");
    dga_policy_free(p);
}

/* allow_trust_outpost_ocsp.rego: no OCSP nonce checks, everything else stays. */
static void test_example_trust_outpost(void **state)
{
    struct dga_policy *p = fixture_policy("trust_outpost.json");
    json_t *g = gpu(), *s = nvswitch();
    (void)state;
    set(g, GPU_AR, "x-nvidia-cert-ocsp-nonce-matches", "false");
    set(g, GPU_DRV, "x-nvidia-cert-ocsp-nonce-matches", "false");
    set(g, GPU_VBIOS, "x-nvidia-cert-ocsp-nonce-matches", NULL);
    set(s, SW_AR, "x-nvidia-cert-ocsp-nonce-matches", "false");
    set(s, SW_BIOS, "x-nvidia-cert-ocsp-nonce-matches", "false");
    expect_pass(p, devices(json_deep_copy(g), json_deep_copy(s), NULL));
    set(g, GPU_DRV, "x-nvidia-cert-ocsp-response-valid", "false");
    expect_fail(p, devices(json_deep_copy(g), NULL),
                L_GPU GPU_DRV ".x-nvidia-cert-ocsp-response-valid is false" REQ_TRUE);
    set(g, GPU_DRV, "x-nvidia-cert-ocsp-response-valid", "true");
    ocsp_not_checked(g, GPU_DRV);
    expect_fail_n(p, devices(g, NULL), 2,
                  L_GPU GPU_DRV ".x-nvidia-cert-ocsp-status is \"not-checked\", policy allows "
                                "[\"good\"]");
    json_decref(s);
    dga_policy_free(p);
}

/* The three "permissive" examples, which also accept an empty input. */
static void test_example_permissive(void **state)
{
    struct dga_policy *gpus = fixture_policy("rp-policy-permissive.json");
    struct dga_policy *sws = fixture_policy("switch_relying_party_policy.json");
    struct dga_policy *any = fixture_policy("relying_party_policy.json");
    json_t *g = gpu(), *s = nvswitch();
    (void)state;
    set(g, GPU_AR, "x-nvidia-cert-status", "\"expired\"");
    set(g, GPU_VBIOS, "x-nvidia-cert-ocsp-status", "\"unknown\"");
    ocsp_not_checked(g, GPU_DRV);
    set(s, SW_BIOS, "x-nvidia-cert-status", "\"expired\"");
    ocsp_not_checked(s, SW_AR);
    expect_pass(gpus, json_array());
    expect_pass(sws, json_array());
    expect_pass(any, json_array());
    expect_pass(gpus, devices(json_deep_copy(g), NULL));
    expect_pass(sws, devices(json_deep_copy(s), NULL));
    expect_pass(any, devices(json_deep_copy(g), json_deep_copy(s), NULL));
    expect_fail(gpus, devices(nvswitch(), NULL),
                "devices: NVSwitch count is 1, policy requires exactly 0");
    expect_fail(sws, devices(gpu(), NULL), "devices: GPU count is 1, policy requires exactly 0");
    set(g, NULL, "secboot", "false");
    expect_fail(gpus, devices(g, NULL), L_GPU "secboot is false" REQ_TRUE);
    json_decref(s);
    dga_policy_free(any);
    dga_policy_free(sws);
    dga_policy_free(gpus);
}

/* ------------------------------------------------------------ dstack knobs and extras */

static void test_knobs(void **state)
{
    struct dga_policy *p = policy("{\"attest_gpu\": false, \"allow_devtools\": true}");
    struct dga_policy *debug = policy("{\"allow_debug\": true}");
    struct dga_policy *boot = policy("{\"allow_insecure_boot\": true}");
    json_t *g = gpu();
    (void)state;
    assert_false(dga_policy_attest_gpu(p));
    assert_true(dga_policy_allow_devtools(p));
    assert_true(dga_policy_attest_gpu(debug));
    assert_false(dga_policy_allow_devtools(debug));
    set(g, NULL, "dbgstat", "\"enabled\"");
    expect_pass(debug, devices(json_deep_copy(g), NULL));
    expect_fail(boot, devices(json_deep_copy(g), NULL),
                L_GPU "dbgstat is \"enabled\", policy requires \"disabled\"");
    set(g, NULL, "dbgstat", "\"disabled\"");
    set(g, NULL, "secboot", "false");
    expect_pass(boot, devices(json_deep_copy(g), NULL));
    expect_fail(debug, devices(json_deep_copy(g), NULL), L_GPU "secboot is false" REQ_TRUE);
    /* Neither knob excuses measres. */
    set(g, NULL, "measres", "\"fail\"");
    expect_fail(boot, devices(g, NULL), L_GPU "measres is \"fail\", policy requires \"success\"");
    dga_policy_free(boot);
    dga_policy_free(debug);
    dga_policy_free(p);
}

static void test_device_counts(void **state)
{
    struct dga_policy *exact = policy("{\"devices\": {\"gpus\": {\"exact\": 2}}}");
    struct dga_policy *range = policy("{\"devices\": {\"gpus\": {\"min\": 2, \"max\": 4}}}");
    struct dga_policy *min = policy("{\"devices\": {\"gpus\": {\"min\": 1}}}");
    struct dga_policy *max = policy("{\"devices\": {\"nvswitches\": {\"max\": 1}}}");
    (void)state;
    expect_pass(exact, devices(gpu(), gpu(), NULL));
    expect_pass(exact, devices(gpu(), nvswitch(), gpu(), NULL));
    expect_fail(exact, devices(gpu(), NULL), "devices: GPU count is 1, policy requires exactly 2");
    expect_fail(exact, devices(gpu(), gpu(), gpu(), NULL),
                "devices: GPU count is 3, policy requires exactly 2");
    expect_fail(exact, json_array(), "devices: GPU count is 0, policy requires exactly 2");
    expect_pass(range, devices(gpu(), gpu(), gpu(), NULL));
    expect_fail(range, devices(gpu(), NULL),
                "devices: GPU count is 1, policy requires between 2 and 4");
    expect_fail(range, devices(gpu(), gpu(), gpu(), gpu(), gpu(), NULL),
                "devices: GPU count is 5, policy requires between 2 and 4");
    expect_fail(min, devices(nvswitch(), NULL),
                "devices: GPU count is 0, policy requires at least 1");
    expect_pass(max, devices(nvswitch(), gpu(), NULL));
    expect_fail(max, devices(nvswitch(), nvswitch(), NULL),
                "devices: NVSwitch count is 2, policy requires at most 1");
    dga_policy_free(max);
    dga_policy_free(min);
    dga_policy_free(range);
    dga_policy_free(exact);
}

/*
 * The gate's PCI inventory: NVSwitches are not attested yet, so the policy's NVSwitch
 * count applies to the inventory (issue 9, finding 4), and to the claims when they hold any.
 */
static void test_nvswitch_inventory(void **state)
{
    struct dga_policy *none = policy("{\"devices\": {\"nvswitches\": {\"exact\": 0}}}");
    struct dga_policy *one = policy("{\"devices\": {\"nvswitches\": {\"exact\": 1}}}");
    struct dga_policy *any = policy("{\"devices\": {\"gpus\": {\"min\": 0}}}");
    (void)state;
    expect_pass(none, devices(gpu(), NULL)); /* no inventory known: the claims decide */
    dga_policy_set_nvswitch_inventory(none, 1);
    expect_fail(none, devices(gpu(), NULL),
                "devices: NVSwitch count in the PCI inventory is 1, policy requires exactly 0");
    expect_fail(one, devices(gpu(), NULL),
                "devices: NVSwitch count is 0, policy requires exactly 1");
    dga_policy_set_nvswitch_inventory(one, 1);
    expect_pass(one, devices(gpu(), NULL));
    /* Attested NVSwitches are counted too. */
    expect_fail(one, devices(gpu(), nvswitch(), nvswitch(), NULL),
                "devices: NVSwitch count is 2, policy requires exactly 1");
    dga_policy_set_nvswitch_inventory(one, 0);
    expect_fail(one, devices(gpu(), NULL),
                "devices: NVSwitch count in the PCI inventory is 0, policy requires exactly 1");
    /* No NVSwitch count in the policy: the inventory is not constrained. */
    dga_policy_set_nvswitch_inventory(any, 8);
    expect_pass(any, devices(gpu(), NULL));
    dga_policy_free(any);
    dga_policy_free(one);
    dga_policy_free(none);
}

/* The gate's gpu_policy knobs: allow_debug and allow_insecure_boot, ORed into the policy. */
static void test_relax_measurements(void **state)
{
    struct dga_policy *p = builtin();
    uint8_t before[32], after[32];
    json_t *g = gpu();
    (void)state;
    dga_policy_sha256(p, before);
    set(g, NULL, "dbgstat", "\"enabled\"");
    set(g, NULL, "secboot", "false");
    dga_policy_relax_measurements(p, false, false);
    assert_false(dga_policy_allow_debug(p));
    assert_false(dga_policy_allow_insecure_boot(p));
    expect_fail_n(p, devices(json_deep_copy(g), NULL), 2, L_GPU "secboot is false" REQ_TRUE);
    assert_true(has_reason(L_GPU "dbgstat is \"enabled\", policy requires \"disabled\""));
    dga_policy_relax_measurements(p, true, false);
    assert_true(dga_policy_allow_debug(p));
    expect_fail(p, devices(json_deep_copy(g), NULL), L_GPU "secboot is false" REQ_TRUE);
    dga_policy_relax_measurements(p, false, true);
    assert_true(dga_policy_allow_debug(p)); /* ORed: nothing is taken back */
    assert_true(dga_policy_allow_insecure_boot(p));
    expect_pass(p, devices(json_deep_copy(g), NULL));
    set(g, NULL, "measres", "\"fail\"");
    expect_fail(p, devices(g, NULL), L_GPU "measres is \"fail\", policy requires \"success\"");
    dga_policy_sha256(p, after);
    assert_memory_equal(before, after, 32);
    dga_policy_free(p);
}

/* An empty array passes only when both counts are given and both admit zero. */
static void test_empty_array(void **state)
{
    struct dga_policy *both =
        policy("{\"devices\": {\"gpus\": {\"min\": 0}, \"nvswitches\": {\"exact\": 0}}}");
    struct dga_policy *one = policy("{\"devices\": {\"gpus\": {\"min\": 0}}}");
    (void)state;
    expect_pass(both, json_array());
    expect_fail(one, json_array(),
                "devices: the claims array is empty, policy requires at least one device");
    dga_policy_free(one);
    dga_policy_free(both);
}

static void test_version_allow_lists(void **state)
{
    struct dga_policy *p = fixture_policy("everything.json");
    json_t *g = gpu(), *s = nvswitch();
    (void)state;
    expect_pass(p, devices(json_deep_copy(g), json_deep_copy(s), NULL));
    set(g, NULL, "x-nvidia-gpu-driver-version", "\"570.124.06\"");
    expect_fail(p, devices(json_deep_copy(g), NULL),
                L_GPU "x-nvidia-gpu-driver-version is \"570.124.06\", policy allows "
                      "[\"580.159.03\", \"590.12\"]");
    set(g, NULL, "x-nvidia-gpu-driver-version", "\"590.12\"");
    set(g, NULL, "x-nvidia-gpu-vbios-version", NULL);
    expect_fail(p, devices(json_deep_copy(g), NULL),
                L_GPU "x-nvidia-gpu-vbios-version is missing, policy allows [\"96.00.D9.00.01\"]");
    set(g, NULL, "x-nvidia-gpu-vbios-version", "\"96.00.D9.00.01\"");
    set(g, NULL, "hwmodel", "\"GB100 A01 GSP BROM\"");
    expect_fail(p, devices(json_deep_copy(g), NULL),
                L_GPU "hwmodel is \"GB100 A01 GSP BROM\", policy allows [\"GH100 A01 GSP BROM\", "
                      "\"LS_10 A01 FSP BROM\"]");
    set(s, NULL, "x-nvidia-switch-bios-version", "\"x\"");
    expect_fail(p, devices(gpu(), s, NULL),
                L_SW "x-nvidia-switch-bios-version is \"x\", policy allows [\"96.10.6D.00.01\"]");
    json_decref(g);
    dga_policy_free(p);
}

static void test_require_protected_pcie(void **state)
{
    struct dga_policy *p = policy("{\"require_protected_pcie\": true}");
    json_t *g = gpu();
    (void)state;
    expect_fail(p, devices(json_deep_copy(g), NULL),
                L_GPU "x-dstack-gpu-mode is missing, policy requires \"ppcie\"");
    set(g, NULL, "x-dstack-gpu-mode", "\"spt\"");
    expect_fail(p, devices(json_deep_copy(g), NULL),
                L_GPU "x-dstack-gpu-mode is \"spt\", policy requires \"ppcie\"");
    set(g, NULL, "x-dstack-gpu-mode", "\"ppcie\"");
    expect_pass(p, devices(g, nvswitch(), NULL));
    dga_policy_free(p);
}

/* Reasons are bounded: 63 and a final "... more"; values are quoted escaped and cut. */
static void test_reason_bounds(void **state)
{
    struct dga_policy *def = builtin();
    struct dga_policy *list = policy("{\"driver_versions\": [\"1\"]}");
    json_t *a = json_array(), *g = gpu();
    char long_text[400];
    (void)state;
    for (int i = 0; i < 70; i++) {
        json_t *bad = gpu();
        set(bad, NULL, "measres", "\"fail\"");
        json_array_append_new(a, bad);
    }
    expect_fail_n(def, a, DGA_VERDICT_MAX_REASONS,
                  "GPU-20: measres is \"fail\", policy requires \"success\"");
    assert_string_equal(verdict.reasons[DGA_VERDICT_MAX_REASONS - 1], "... more");
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    set_str(g, "x-nvidia-gpu-driver-version", long_text);
    expect_fail_n(list, devices(json_deep_copy(g), NULL), 1, NULL);
    assert_true(strlen(verdict.reasons[0]) < DGA_VERDICT_REASON_LEN);
    assert_non_null(strstr(verdict.reasons[0], "xxx...,"));
    set_str(g, "x-nvidia-gpu-driver-version", "a\nb");
    expect_fail(list, devices(g, NULL),
                L_GPU "x-nvidia-gpu-driver-version is \"a\\nb\", policy allows [\"1\"]");
    dga_policy_free(list);
    dga_policy_free(def);
}

static void test_verdict_json(void **state)
{
    struct dga_policy *def = builtin();
    json_t *j, *g = gpu();
    (void)state;
    set(g, NULL, "secboot", "null");
    expect_fail(def, devices(g, NULL), L_GPU "secboot is null" REQ_TRUE);
    j = dga_verdict_json(&verdict);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "result")), "fail");
    assert_int_equal(json_array_size(json_object_get(j, "reasons")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "reasons"), 0)),
                        L_GPU "secboot is null" REQ_TRUE);
    json_decref(j);
    expect_pass(def, devices(gpu(), NULL));
    j = dga_verdict_json(&verdict);
    assert_string_equal(json_string_value(json_object_get(j, "result")), "pass");
    assert_int_equal(json_array_size(json_object_get(j, "reasons")), 0);
    json_decref(j);
    dga_policy_free(def);
}

static void test_evaluate_arguments(void **state)
{
    struct dga_policy *def = builtin();
    json_t *o = json_object();
    (void)state;
    assert_int_equal(dga_policy_evaluate(def, o, &verdict), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_policy_evaluate(def, NULL, &verdict), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_policy_evaluate(NULL, o, &verdict), DGA_E_BAD_ARGUMENT);
    assert_null(dga_verdict_json(NULL));
    dga_policy_free(NULL);
    json_decref(o);
    dga_policy_free(def);
}

/* ------------------------------------------------------------ real nvattest output */

static json_t *nvattest_claims(void)
{
    size_t len;
    uint8_t *text = fixture_read("dstack/nvattest_output_h100.json", &len);
    json_t *doc = json_loadb((const char *)text, len, 0, NULL);
    json_t *claims;
    free(text);
    assert_non_null(doc);
    claims = json_incref(json_object_get(doc, "claims"));
    json_decref(doc);
    assert_true(json_is_array(claims));
    return claims;
}

/*
 * One H100, measres "success", all three chains "valid" with OCSP "good",
 * the OCSP nonce matched and the responses valid: the default passes (as
 * nvattest's own result_code 0 says), and so does dstack's documented
 * one-H100 policy. Its claims carry no x-dstack-gpu-mode, so PPCIe fails.
 */
static void test_nvattest_output(void **state)
{
    struct dga_policy *def = builtin();
    struct dga_policy *one = fixture_policy("dstack_one_h100.json");
    struct dga_policy *ppcie = policy("{\"require_protected_pcie\": true}");
    struct dga_policy *drv = policy("{\"driver_versions\": [\"570.124.06\"]}");
    json_t *c = nvattest_claims(), *g;
    (void)state;
    expect_pass(def, json_deep_copy(c));
    expect_pass(one, json_deep_copy(c));
    expect_fail(ppcie, json_deep_copy(c),
                L_GPU "x-dstack-gpu-mode is missing, policy requires \"ppcie\"");
    expect_fail(drv, json_deep_copy(c),
                L_GPU "x-nvidia-gpu-driver-version is \"580.159.03\", policy allows "
                      "[\"570.124.06\"]");
    expect_fail(
        one,
        devices(json_deep_copy(json_array_get(c, 0)), json_deep_copy(json_array_get(c, 0)), NULL),
        "devices: GPU count is 2, policy requires exactly 1");
    g = json_array_get(c, 0);
    ocsp_not_checked(g, GPU_DRV);
    expect_fail_n(def, json_deep_copy(c), 3,
                  L_GPU GPU_DRV ".x-nvidia-cert-ocsp-status is \"not-checked\", policy allows "
                                "[\"good\"]");
    json_decref(c);
    dga_policy_free(drv);
    dga_policy_free(ppcie);
    dga_policy_free(one);
    dga_policy_free(def);
}

/* ------------------------------------------------------------ the parser */

struct bad_policy {
    const char *doc;
    const char *field;
};

static const struct bad_policy bad_policies[] = {
    {"", "policy"},
    {"[]", "policy"},
    {"\"x\"", "policy"},
    {"{} {}", "policy"},
    {"{\"nope\": 1}", "policy"},
    {"{\"Version\": 1}", "policy"},
    {"{\"version\": 2}", "version"},
    {"{\"version\": 0}", "version"},
    {"{\"version\": \"1\"}", "version"},
    {"{\"version\": 1.0}", "version"},
    {"{\"attest_gpu\": true, \"attest_gpu\": false}", "attest_gpu"},
    {"{\"chains\": {\"gpu-driver-rim\": {\"status\": [\"valid\"], \"status\": [\"expired\"]}}}",
     "status"},
    {"{\"attest_gpu\": \"yes\"}", "attest_gpu"},
    {"{\"attest_gpu\": 1}", "attest_gpu"},
    {"{\"allow_devtools\": null}", "allow_devtools"},
    {"{\"allow_debug\": \"true\"}", "allow_debug"},
    {"{\"allow_insecure_boot\": 0}", "allow_insecure_boot"},
    {"{\"require_protected_pcie\": []}", "require_protected_pcie"},
    {"{\"ocsp\": \"maybe\"}", "ocsp"},
    {"{\"ocsp\": false}", "ocsp"},
    {"{\"ocsp_nonce\": \"Required\"}", "ocsp_nonce"},
    {"{\"chains\": []}", "chains"},
    {"{\"chains\": {\"gpu-rim\": {}}}", "chains"},
    {"{\"chains\": {\"gpu-driver-rim\": []}}", "chains.gpu-driver-rim"},
    {"{\"chains\": {\"gpu-driver-rim\": {\"expired\": true}}}", "chains.gpu-driver-rim"},
    {"{\"chains\": {\"gpu-driver-rim\": {\"status\": [\"valid\", \"revoked\"]}}}",
     "chains.gpu-driver-rim.status"},
    {"{\"chains\": {\"gpu-vbios-rim\": {\"status\": []}}}", "chains.gpu-vbios-rim.status"},
    {"{\"chains\": {\"gpu-vbios-rim\": {\"status\": \"valid\"}}}", "chains.gpu-vbios-rim.status"},
    {"{\"chains\": {\"switch-bios-rim\": {\"ocsp_status\": [\"good\", \"not-checked\"]}}}",
     "chains.switch-bios-rim.ocsp_status"},
    {"{\"chains\": {\"gpu-attestation-report\": {\"ocsp_status\": [\"good\", \"revoked\"]}}}",
     "chains.gpu-attestation-report.ocsp_status"},
    {"{\"chains\": {\"gpu-attestation-report\": {\"ocsp_status\": [\"good\", \"unknown\"]}}}",
     "chains.gpu-attestation-report.ocsp_status"},
    {"{\"chains\": {\"switch-attestation-report\": {\"ocsp_status\": [\"revoked\"]}}}",
     "chains.switch-attestation-report.ocsp_status"},
    {"{\"chains\": {\"gpu-attestation-report\": {\"revocation_reasons\": [\"certificateHold\"]}}}",
     "chains.gpu-attestation-report.revocation_reasons"},
    {"{\"chains\": {\"gpu-driver-rim\": {\"revocation_reasons\": [\"certificateHold\"]}}}",
     "chains.gpu-driver-rim.revocation_reasons"},
    {"{\"chains\": {\"gpu-driver-rim\": {\"ocsp_status\": [\"revoked\"], "
     "\"revocation_reasons\": [1]}}}",
     "chains.gpu-driver-rim.revocation_reasons"},
    {"{\"allow_mismatch_indices\": [7]}", "allow_mismatch_indices"},
    {"{\"allow_mismatch_indices\": {\"vbios\": [7]}}", "allow_mismatch_indices"},
    {"{\"allow_mismatch_indices\": {\"driver\": [256]}}", "allow_mismatch_indices.driver"},
    {"{\"allow_mismatch_indices\": {\"driver\": [-1]}}", "allow_mismatch_indices.driver"},
    {"{\"allow_mismatch_indices\": {\"firmware\": [\"7\"]}}", "allow_mismatch_indices.firmware"},
    {"{\"allow_mismatch_indices\": {\"firmware\": 7}}", "allow_mismatch_indices.firmware"},
    {"{\"devices\": {\"cpus\": {\"exact\": 1}}}", "devices"},
    {"{\"devices\": {\"gpus\": 1}}", "devices.gpus"},
    {"{\"devices\": {\"gpus\": {}}}", "devices.gpus"},
    {"{\"devices\": {\"gpus\": {\"at_least\": 1}}}", "devices.gpus"},
    {"{\"devices\": {\"gpus\": {\"exact\": 1, \"min\": 1}}}", "devices.gpus.exact"},
    {"{\"devices\": {\"gpus\": {\"exact\": -1}}}", "devices.gpus.exact"},
    {"{\"devices\": {\"nvswitches\": {\"min\": 3, \"max\": 2}}}", "devices.nvswitches.max"},
    {"{\"devices\": {\"nvswitches\": {\"min\": 1.5}}}", "devices.nvswitches.min"},
    {"{\"devices\": {\"nvswitches\": {\"max\": 100000}}}", "devices.nvswitches.max"},
    {"{\"driver_versions\": []}", "driver_versions"},
    {"{\"driver_versions\": [580]}", "driver_versions"},
    {"{\"vbios_versions\": \"96.00.D9.00.01\"}", "vbios_versions"},
    {"{\"switch_bios_versions\": [null]}", "switch_bios_versions"},
    {"{\"hwmodels\": {}}", "hwmodels"},
    {"{\"hwmodels\": [\"a\\u0000b\"]}", "policy"},
};
#define N_BAD_POLICIES (sizeof bad_policies / sizeof bad_policies[0])

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_BAD_POLICIES; i++) {
        struct dga_policy *p = NULL;
        struct dga_diag d = {0};
        const char *doc = bad_policies[i].doc;
        dga_err e = dga_policy_parse(doc, strlen(doc), &p, &d);
        if (e != DGA_E_POLICY || p != NULL || d.err != DGA_E_POLICY ||
            strcmp(d.field, bad_policies[i].field) != 0) {
            fail_msg("%s: got %s at \"%s\", want policy-invalid at \"%s\"", doc, dga_err_name(e),
                     d.field != NULL ? d.field : "(null)", bad_policies[i].field);
        }
    }
}

static void test_parse_arguments(void **state)
{
    struct dga_policy *p = NULL;
    struct dga_diag d = {0};
    char *big = malloc(DGA_POLICY_MAX_BYTES + 2);
    (void)state;
    assert_int_equal(dga_policy_parse("{}", 2, NULL, &d), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_policy_parse(NULL, 1, &p, &d), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_policy_parse(NULL, 0, &p, &d), DGA_E_POLICY);
    assert_non_null(big);
    memset(big, ' ', DGA_POLICY_MAX_BYTES + 1);
    big[0] = '{';
    big[DGA_POLICY_MAX_BYTES] = '}';
    assert_int_equal(dga_policy_parse(big, DGA_POLICY_MAX_BYTES + 1, &p, &d), DGA_E_TOO_LARGE);
    assert_string_equal(d.field, "policy");
    assert_null(p);
    /* Exactly at the cap is accepted. */
    big[DGA_POLICY_MAX_BYTES - 1] = '}';
    assert_int_equal(dga_policy_parse(big, DGA_POLICY_MAX_BYTES, &p, NULL), DGA_E_OK);
    dga_policy_free(p);
    free(big);
    /* "{}" is the default with another hash and source. */
    p = policy("{}");
    assert_int_equal(dga_policy_origin(p), DGA_POLICY_FILE);
    assert_string_equal(dga_policy_source(p), "file");
    expect_pass(p, devices(gpu(), NULL));
    dga_policy_free(p);
}

static const char *const fixture_policies[] = {
    "allow_gpu_driver_rim_cert_expired.json",
    "allow_gpu_driver_rim_cert_on_hold.json",
    "allow_gpu_driver_rim_cert_revoked.json",
    "allow_gpu_driver_rim_cert_unknown.json",
    "allow_gpu_measurement_mismatch_index_7.json",
    "dstack_one_h100.json",
    "everything.json",
    "offline_no_ocsp.json",
    "relying_party_policy.json",
    "rp-policy-permissive.json",
    "switch_relying_party_policy.json",
    "trust_outpost.json",
};
#define N_FIXTURE_POLICIES (sizeof fixture_policies / sizeof fixture_policies[0])

/* Every prefix that cuts before the final '}' is malformed; each is copied to an exact-size buffer.
 */
static void test_truncations(void **state)
{
    (void)state;
    for (size_t f = 0; f < N_FIXTURE_POLICIES; f++) {
        char rel[256];
        size_t len, end;
        char *text;
        snprintf(rel, sizeof rel, "policies/%s", fixture_policies[f]);
        text = (char *)fixture_read(rel, &len);
        for (end = len; end > 0 && text[end - 1] != '}'; end--) {
        }
        assert_true(end > 0);
        for (size_t n = 0; n < end; n++) {
            struct dga_policy *p = NULL;
            struct dga_diag d = {0};
            char *copy = malloc(n > 0 ? n : 1);
            assert_non_null(copy);
            memcpy(copy, text, n);
            if (dga_policy_parse(copy, n, &p, &d) != DGA_E_POLICY || p != NULL) {
                fail_msg("%s cut at %zu was not rejected", fixture_policies[f], n);
            }
            free(copy);
        }
        free(text);
    }
}

static void sha256sum(const char *path, char out[65])
{
    char cmd[4200];
    FILE *f;
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(out, 65, f));
    assert_int_equal(pclose(f), 0);
    assert_int_equal(strlen(out), 64);
}

static void test_sha256_of_file(void **state)
{
    (void)state;
    for (size_t f = 0; f < N_FIXTURE_POLICIES; f++) {
        char rel[256], want[65], got[65];
        uint8_t sha[32];
        struct dga_policy *p;
        snprintf(rel, sizeof rel, "policies/%s", fixture_policies[f]);
        sha256sum(fixture_path(rel), want);
        p = fixture_policy(fixture_policies[f]);
        dga_policy_sha256(p, sha);
        dga_hex_encode(sha, 32, got);
        assert_string_equal(got, want);
        dga_policy_free(p);
    }
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_default_identity),
        cmocka_unit_test(test_default_passes_good_devices),
        cmocka_unit_test(test_default_collects_every_reason),
        cmocka_unit_test(test_default_empty_array),
        cmocka_unit_test(test_ocsp_not_checked),
        cmocka_unit_test(test_ocsp_not_required_revoked_allowed),
        cmocka_unit_test(test_ocsp_not_required_checked_device_chain),
        cmocka_unit_test(test_example_expired),
        cmocka_unit_test(test_example_revoked),
        cmocka_unit_test(test_certificate_hold_only),
        cmocka_unit_test(test_example_unknown),
        cmocka_unit_test(test_example_mismatch_index_7),
        cmocka_unit_test(test_mismatch_per_source),
        cmocka_unit_test(test_example_trust_outpost),
        cmocka_unit_test(test_example_permissive),
        cmocka_unit_test(test_knobs),
        cmocka_unit_test(test_device_counts),
        cmocka_unit_test(test_empty_array),
        cmocka_unit_test(test_nvswitch_inventory),
        cmocka_unit_test(test_relax_measurements),
        cmocka_unit_test(test_version_allow_lists),
        cmocka_unit_test(test_require_protected_pcie),
        cmocka_unit_test(test_reason_bounds),
        cmocka_unit_test(test_verdict_json),
        cmocka_unit_test(test_evaluate_arguments),
        cmocka_unit_test(test_nvattest_output),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_arguments),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_sha256_of_file),
    };
    /* One test per claim deviation, named after the claim and the value. */
    static struct CMUnitTest deviation_tests[N_DEVIATIONS];
    static char names[N_DEVIATIONS][160];
    int failed;
    for (size_t i = 0; i < N_DEVIATIONS; i++) {
        const struct deviation *d = &deviations[i];
        snprintf(names[i], sizeof names[i], "default_%s_%s%s%s=%s", d->nvswitch ? "switch" : "gpu",
                 d->chain != NULL ? d->chain : "", d->chain != NULL ? "." : "", d->key,
                 d->value != NULL ? d->value : "(absent)");
        deviation_tests[i] = (struct CMUnitTest){.name = names[i],
                                                 .test_func = test_default_deviation,
                                                 .initial_state = (void *)(uintptr_t)d};
    }
    failed = cmocka_run_group_tests_name("policy", fixed, NULL, NULL);
    failed += _cmocka_run_group_tests("policy_default_deviations", deviation_tests, N_DEVIATIONS,
                                      NULL, NULL);
    return failed;
}
