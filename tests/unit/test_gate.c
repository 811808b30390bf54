/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/gate: the config parser (every key, every rejection, truncation), the
 * gpu-attestation payload bytes, the set appraisal on real fixture evidence
 * (what attest computes), devices counted twice (duplicate-device: the same
 * report, leaf certificate or ueid, and in the gate the same NVML UUID), and
 * dga_gate_run itself on the fake NVML
 * ($DGA_FAKE_NVML), a sysfs tree and the simulated register: the result
 * struct, the files, the replay. The scenario matrix is tests/cli/test_gate_cli.sh.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dga/gate.h"
#include "dga/measure.h"
#include "dga/util.h"
#include "dga/x509.h"
#include "gate/testing.h"
#include "testutil.h"

#define EMPTY_POLICY_HASH "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define ATTEST_TRUE_HASH "81f5d3ad40653341232238c4ca656bddddc297d6382ae2ab391e4bb36dd80b66"

static dga_err parse(const char *text, struct dga_gate_config **ret, struct dga_diag *diag)
{
    return dga_gate_config_parse(text, strlen(text), ret, diag);
}

static void expect_config_error(const char *text, dga_err want, const char *field)
{
    struct dga_gate_config *c = NULL;
    struct dga_diag diag = {0};
    dga_err e = parse(text, &c, &diag);
    if (e != want) {
        fail_msg("%s: got %s, want %s", text, dga_err_name(e), dga_err_name(want));
    }
    assert_null(c);
    if (field != NULL) {
        assert_non_null(diag.field);
        assert_string_equal(diag.field, field);
    }
}

static void test_config_defaults(void **state)
{
    (void)state;
    struct dga_gate_config *c = NULL;
    assert_int_equal(parse("{\"rim_dir\":\"/rims\"}", &c, NULL), DGA_E_OK);
    assert_string_equal(c->rim_dir, "/rims");
    assert_null(c->policy);
    assert_null(c->nvml);
    assert_null(c->nscq);
    assert_null(c->test_device_root);
    assert_string_equal(c->run_dir, DGA_GATE_RUN_DIR);
    assert_string_equal(c->event_backend, "tdx");
    assert_int_equal(c->event_version, 1);
    assert_int_equal(c->cc_timeout_ms, 30000);
    assert_int_equal(c->collect_timeout_ms, 300000);
    assert_int_equal(c->ready_timeout_ms, 30000);
    assert_int_equal(c->nscq_timeout_ms, 300000);
    assert_false(c->has_verify_at);
    assert_true(json_is_object(c->gpu_policy));
    assert_int_equal(json_object_size(c->gpu_policy), 0);
    dga_gate_config_free(c);
}

static const char *const full_config =
    "{\"version\":1,\"rim_dir\":\"r\",\"policy\":\"p.json\",\"gpu_policy\":{\"attest_gpu\":true},"
    "\"nvml\":\"n.so\",\"nscq\":\"q.so\",\"nscq_timeout_ms\":9,\"sysfs_pci\":\"s\",\"run_dir\":"
    "\"d\",\"event_backend\":\"tpm:14:sha384\","
    "\"event_log_dir\":\"l\",\"event_lock\":\"l.lock\",\"tdx_sysfs_dir\":\"t\","
    "\"tdx_device\":\"/dev/x\",\"tpm_tcti\":\"swtpm:port=1\",\"event_version\":2,"
    "\"cc_timeout_ms\":1,\"collect_timeout_ms\":600000,\"ready_timeout_ms\":7,"
    "\"eat_key\":\"k.pem\",\"eat_kid\":\"kid\",\"test_device_root\":\"root.pem\","
    "\"verify_at\":\"2024-06-01T00:00:00Z\",\"ocsp\":\"cache\",\"ocsp_url\":\"http://p/ocsp\","
    "\"collateral_dir\":\"c\",\"ocsp_max_age\":0,\"jobs\":3,\"rego_equivalents\":{"
    "\"" EMPTY_POLICY_HASH "\":\"eq.json\"}}";

static void test_config_every_key(void **state)
{
    (void)state;
    struct dga_gate_config *c = NULL;
    assert_int_equal(parse(full_config, &c, NULL), DGA_E_OK);
    assert_string_equal(c->policy, "p.json");
    assert_true(json_is_true(json_object_get(c->gpu_policy, "attest_gpu")));
    assert_string_equal(c->nvml, "n.so");
    assert_string_equal(c->nscq, "q.so");
    assert_int_equal(c->nscq_timeout_ms, 9);
    assert_string_equal(c->sysfs_pci, "s");
    assert_string_equal(c->run_dir, "d");
    assert_string_equal(c->event_backend, "tpm:14:sha384");
    assert_string_equal(c->event_log_dir, "l");
    assert_string_equal(c->event_lock, "l.lock");
    assert_string_equal(c->tdx_sysfs_dir, "t");
    assert_string_equal(c->tdx_device, "/dev/x");
    assert_string_equal(c->tpm_tcti, "swtpm:port=1");
    assert_int_equal(c->event_version, 2);
    assert_int_equal(c->cc_timeout_ms, 1);
    assert_int_equal(c->collect_timeout_ms, 600000);
    assert_int_equal(c->ready_timeout_ms, 7);
    assert_string_equal(c->eat_key, "k.pem");
    assert_string_equal(c->eat_kid, "kid");
    assert_string_equal(c->test_device_root, "root.pem");
    assert_true(c->has_verify_at);
    assert_int_equal(c->verify_at, 1717200000);
    assert_string_equal(c->ocsp, "cache");
    assert_string_equal(c->ocsp_url, "http://p/ocsp");
    assert_string_equal(c->collateral_dir, "c");
    assert_true(c->has_ocsp_max_age);
    assert_int_equal(c->ocsp_max_age, 0);
    assert_int_equal(c->jobs, 3);
    assert_int_equal(c->n_rego_equivalents, 1);
    char hex[65];
    dga_hex_encode(c->rego_equivalents[0].rego_sha256, 32, hex);
    assert_string_equal(hex, EMPTY_POLICY_HASH);
    assert_string_equal(c->rego_equivalents[0].policy, "eq.json");
    dga_gate_config_free(c);
}

/* A program's built-in equivalent document: copied, named, one per Rego digest, bounded. */
static void test_config_add_rego_equivalent(void **state)
{
    (void)state;
    struct dga_gate_config *c = NULL;
    assert_int_equal(parse("{\"rim_dir\":\"r\",\"rego_equivalents\":{\"" EMPTY_POLICY_HASH
                           "\":\"b.json\"}}",
                           &c, NULL),
                     DGA_E_OK);
    uint8_t sha[32], taken[32];
    memset(sha, 0xab, sizeof sha);
    char doc[] = "{\"version\":1}";
    assert_int_equal(dga_gate_config_add_rego_equivalent(c, sha, "builtin:x.json", doc, 14),
                     DGA_E_OK);
    doc[0] = 'X'; /* the config holds its own copy */
    assert_int_equal(c->n_rego_equivalents, 2);
    assert_string_equal(c->rego_equivalents[1].policy, "builtin:x.json");
    assert_int_equal(c->rego_equivalents[1].text_len, 14);
    assert_string_equal(c->rego_equivalents[1].text, "{\"version\":1}");
    assert_null(c->rego_equivalents[0].text); /* the config's: a path */
    /* the same digest again (either source), an empty or overlong name: refused, unchanged */
    memcpy(taken, c->rego_equivalents[0].rego_sha256, 32);
    assert_int_equal(dga_gate_config_add_rego_equivalent(c, sha, "builtin:y.json", "{}", 2),
                     DGA_E_GATE_CONFIG);
    assert_int_equal(dga_gate_config_add_rego_equivalent(c, taken, "builtin:y.json", "{}", 2),
                     DGA_E_GATE_CONFIG);
    sha[0] = 1;
    assert_int_equal(dga_gate_config_add_rego_equivalent(c, sha, "", "{}", 2), DGA_E_GATE_CONFIG);
    char long_name[DGA_GATE_PATH_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(dga_gate_config_add_rego_equivalent(c, sha, long_name, "{}", 2),
                     DGA_E_GATE_CONFIG);
    assert_int_equal(c->n_rego_equivalents, 2);
    /* the table's bound holds for both sources together */
    for (unsigned i = 2; i < DGA_GATE_REGO_EQUIVALENTS_MAX; i++) {
        sha[0] = (uint8_t)(0x10 + i);
        assert_int_equal(dga_gate_config_add_rego_equivalent(c, sha, "builtin:z.json", "{}", 2),
                         DGA_E_OK);
    }
    sha[0] = 0xff;
    assert_int_equal(dga_gate_config_add_rego_equivalent(c, sha, "builtin:z.json", "{}", 2),
                     DGA_E_GATE_CONFIG);
    dga_gate_config_free(c);
}

/* rego_equivalents: {"<SHA-256 of a Rego text>": "<policy document>"} (issue 9, finding 2). */
static void test_config_rego_equivalents(void **state)
{
    (void)state;
#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    struct dga_gate_config *c = NULL;
    assert_int_equal(parse("{\"rim_dir\":\"r\",\"rego_equivalents\":{\"" H64
                           "\":\"a.json\",\"" EMPTY_POLICY_HASH "\":\"b.json\"}}",
                           &c, NULL),
                     DGA_E_OK);
    assert_int_equal(c->n_rego_equivalents, 2);
    assert_int_equal(c->rego_equivalents[0].rego_sha256[0], 0x01);
    assert_int_equal(c->rego_equivalents[0].rego_sha256[31], 0xef);
    assert_string_equal(c->rego_equivalents[0].policy, "a.json");
    assert_int_equal(c->rego_equivalents[1].rego_sha256[0], 0x44);
    assert_string_equal(c->rego_equivalents[1].policy, "b.json");
    dga_gate_config_free(c);
    static const char *const bad[] = {
        "[]",
        "{}",
        "\"x\"",
        "{\"" H64 "\":7}",
        "{\"" H64 "\":\"\"}",
        "{\"" H64 "\":null}",
        "{\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\":\"a\"}",
        "{\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\":\"a\"}",
        "{\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0\":\"a\"}",
        "{\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\":\"a\"}",
        "{\" 123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\":\"a\"}",
        "{\"\":\"a\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"rim_dir\":\"r\",\"rego_equivalents\":%s}", bad[i]);
        expect_config_error(text, DGA_E_GATE_CONFIG, "rego_equivalents");
    }
    /* Duplicate digests are duplicate keys; at most 16 entries. */
    expect_config_error("{\"rim_dir\":\"r\",\"rego_equivalents\":{\"" H64 "\":\"a\",\"" H64
                        "\":\"b\"}}",
                        DGA_E_GATE_CONFIG, "config");
    for (unsigned n = 16; n <= 17; n++) {
        char text[4096] = "{\"rim_dir\":\"r\",\"rego_equivalents\":{";
        for (unsigned i = 0; i < n; i++) {
            char entry[96];
            snprintf(entry, sizeof entry, "%s\"%02x%.62s\":\"p%u.json\"", i > 0 ? "," : "", i, H64,
                     i);
            strcat(text, entry);
        }
        strcat(text, "}}");
        c = NULL;
        assert_int_equal(parse(text, &c, NULL), n == 16 ? DGA_E_OK : DGA_E_GATE_CONFIG);
        if (n == 16) {
            assert_int_equal(c->n_rego_equivalents, 16);
            assert_string_equal(c->rego_equivalents[15].policy, "p15.json");
        }
        dga_gate_config_free(c);
    }
#undef H64
}

static void test_config_rejections(void **state)
{
    (void)state;
    expect_config_error("{}", DGA_E_GATE_CONFIG, "rim_dir");
    expect_config_error("[]", DGA_E_GATE_CONFIG, "config");
    expect_config_error("{\"rim_dir\":\"r\"} x", DGA_E_GATE_CONFIG, "config");
    expect_config_error("{\"rim_dir\":\"r\",\"rim_dir\":\"s\"}", DGA_E_GATE_CONFIG, "config");
    expect_config_error("{\"rim_dir\":\"r\",\"extra\":1}", DGA_E_GATE_CONFIG, "config");
    expect_config_error("{\"rim_dir\":\"\"}", DGA_E_GATE_CONFIG, "rim_dir");
    expect_config_error("{\"rim_dir\":\"a\\u0000b\"}", DGA_E_GATE_CONFIG, "config");
    expect_config_error("{\"rim_dir\":7}", DGA_E_GATE_CONFIG, "rim_dir");
    expect_config_error("{\"rim_dir\":\"r\",\"version\":2}", DGA_E_GATE_CONFIG, "version");
    expect_config_error("{\"rim_dir\":\"r\",\"event_version\":0}", DGA_E_GATE_CONFIG,
                        "event_version");
    expect_config_error("{\"rim_dir\":\"r\",\"event_version\":3}", DGA_E_GATE_CONFIG,
                        "event_version");
    expect_config_error("{\"rim_dir\":\"r\",\"cc_timeout_ms\":0}", DGA_E_GATE_CONFIG,
                        "cc_timeout_ms");
    expect_config_error("{\"rim_dir\":\"r\",\"collect_timeout_ms\":600001}", DGA_E_GATE_CONFIG,
                        "collect_timeout_ms");
    expect_config_error("{\"rim_dir\":\"r\",\"ready_timeout_ms\":1.5}", DGA_E_GATE_CONFIG,
                        "ready_timeout_ms");
    expect_config_error("{\"rim_dir\":\"r\",\"nscq_timeout_ms\":600001}", DGA_E_GATE_CONFIG,
                        "nscq_timeout_ms");
    expect_config_error("{\"rim_dir\":\"r\",\"nscq\":\"\"}", DGA_E_GATE_CONFIG, "nscq");
    expect_config_error("{\"rim_dir\":\"r\",\"verify_at\":\"2024-06-01\"}", DGA_E_GATE_CONFIG,
                        "verify_at");
    expect_config_error("{\"rim_dir\":\"r\",\"gpu_policy\":[]}", DGA_E_GATE_CONFIG, "gpu_policy");
    expect_config_error("{\"rim_dir\":\"r\",\"ocsp\":\"bundle\"}", DGA_E_GATE_CONFIG, "ocsp");
    expect_config_error("{\"rim_dir\":\"r\",\"ocsp\":\"maybe\"}", DGA_E_GATE_CONFIG, "ocsp");
    expect_config_error("{\"rim_dir\":\"r\",\"ocsp_max_age\":-1}", DGA_E_GATE_CONFIG,
                        "ocsp_max_age");
    expect_config_error("{\"rim_dir\":\"r\",\"ocsp_max_age\":315360001}", DGA_E_GATE_CONFIG,
                        "ocsp_max_age");
    expect_config_error("{\"rim_dir\":\"r\",\"jobs\":65}", DGA_E_GATE_CONFIG, "jobs");
    expect_config_error("{\"rim_dir\":\"r\",\"jobs\":-1}", DGA_E_GATE_CONFIG, "jobs");
    expect_config_error("{\"rim_dir\":\"r\",\"gpu_policy\":{\"a\":1,\"a\":2}}", DGA_E_GATE_CONFIG,
                        "config");
    expect_config_error("{\"rim_dir\":\"r\",\"test_device_root\":true}", DGA_E_GATE_CONFIG,
                        "test_device_root");
}

/* dstack coexistence (docs/dstack.md): the app-compose source and who emits gpu-policy-hash. */
static void test_config_app_compose(void **state)
{
    (void)state;
    struct dga_gate_config *c = NULL;
    assert_int_equal(parse("{\"rim_dir\":\"r\",\"app_compose\":\"" DGA_GATE_APP_COMPOSE_DEFAULT
                           "\",\"policy_hash_event\":\"dstack\"}",
                           &c, NULL),
                     DGA_E_OK);
    assert_string_equal(c->app_compose, "/dstack/.host-shared/app-compose.json");
    assert_true(c->policy_hash_by_dstack);
    dga_gate_config_free(c);
    c = NULL;
    assert_int_equal(parse("{\"rim_dir\":\"r\",\"policy_hash_event\":\"emit\"}", &c, NULL),
                     DGA_E_OK);
    assert_null(c->app_compose);
    assert_false(c->policy_hash_by_dstack);
    dga_gate_config_free(c);
    expect_config_error("{\"rim_dir\":\"r\",\"policy_hash_event\":\"both\"}", DGA_E_GATE_CONFIG,
                        "policy_hash_event");
    expect_config_error("{\"rim_dir\":\"r\",\"policy_hash_event\":true}", DGA_E_GATE_CONFIG,
                        "policy_hash_event");
    expect_config_error("{\"rim_dir\":\"r\",\"app_compose\":\"\"}", DGA_E_GATE_CONFIG,
                        "app_compose");
    /* One source of truth: the app-compose's gpu_policy, or the config's, never both. */
    expect_config_error("{\"rim_dir\":\"r\",\"app_compose\":\"a.json\",\"gpu_policy\":{}}",
                        DGA_E_GATE_CONFIG, "gpu_policy");
    expect_config_error("{\"rim_dir\":\"r\",\"gpu_policy\":{},\"app_compose\":\"a.json\"}",
                        DGA_E_GATE_CONFIG, "gpu_policy");
}

static void test_config_caps(void **state)
{
    (void)state;
    /* A path of DGA_GATE_PATH_MAX bytes is fine, one more is not. */
    char *text = malloc(DGA_GATE_PATH_MAX + 64);
    assert_non_null(text);
    for (size_t extra = 0; extra < 2; extra++) {
        size_t n = DGA_GATE_PATH_MAX + extra;
        memcpy(text, "{\"rim_dir\":\"", 12);
        memset(text + 12, 'a', n);
        memcpy(text + 12 + n, "\"}", 3);
        struct dga_gate_config *c = NULL;
        struct dga_diag diag = {0};
        dga_err e = parse(text, &c, &diag);
        assert_int_equal(e, extra == 0 ? DGA_E_OK : DGA_E_GATE_CONFIG);
        dga_gate_config_free(c);
    }
    free(text);
    /* A document over the cap is too-large before it is parsed. */
    size_t big = DGA_GATE_CONFIG_MAX_BYTES + 1;
    char *doc = malloc(big);
    assert_non_null(doc);
    memset(doc, ' ', big);
    struct dga_gate_config *c = NULL;
    assert_int_equal(dga_gate_config_parse(doc, big, &c, NULL), DGA_E_TOO_LARGE);
    free(doc);
    /* gpu_policy nesting is capped (16 levels; 17 is refused). */
    char nest[256] = "{\"rim_dir\":\"r\",\"gpu_policy\":";
    for (int depth = 16; depth <= 17; depth++) {
        char v[128] = "";
        for (int i = 0; i < depth - 1; i++) {
            strcat(v, "{\"a\":");
        }
        strcat(v, "{}");
        for (int i = 0; i < depth - 1; i++) {
            strcat(v, "}");
        }
        char doc2[512];
        snprintf(doc2, sizeof doc2, "%s%s}", nest, v);
        c = NULL;
        assert_int_equal(parse(doc2, &c, NULL), depth == 16 ? DGA_E_OK : DGA_E_GATE_CONFIG);
        dga_gate_config_free(c);
    }
}

/* Every proper prefix of a valid config is refused. */
/* The shipped examples ($DGA_SYSTEMD_DIR): each parses, and the PPCIe one names NSCQ. */
static struct dga_gate_config *shipped_example(const char *name)
{
    const char *dir = getenv("DGA_SYSTEMD_DIR");
    assert_non_null(dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    assert_true(n > 0 && n < sizeof text);
    struct dga_gate_config *c = NULL;
    struct dga_diag diag = {0};
    dga_err e = dga_gate_config_parse(text, n, &c, &diag);
    if (e != DGA_E_OK) {
        fail_msg("%s: %s at %s", name, dga_err_name(e), diag.field != NULL ? diag.field : "?");
    }
    return c;
}

static void test_config_shipped_examples(void **state)
{
    (void)state;
    struct dga_gate_config *cc = shipped_example("gate.example.json");
    assert_null(cc->nscq); /* CC mode never loads NSCQ */
    dga_gate_config_free(cc);
    dga_gate_config_free(shipped_example("gate-dstack.example.json"));
    struct dga_gate_config *ppcie = shipped_example("gate-ppcie.example.json");
    assert_non_null(ppcie->nscq);
    assert_string_equal(ppcie->nscq, "libnvidia-nscq.so.2");
    assert_int_equal(ppcie->nscq_timeout_ms, 300000);
    dga_gate_config_free(ppcie);
}

static void test_config_truncation(void **state)
{
    (void)state;
    size_t len = strlen(full_config);
    for (size_t n = 0; n < len; n++) {
        struct dga_gate_config *c = NULL;
        dga_err e = dga_gate_config_parse(full_config, n, &c, NULL);
        if (e == DGA_E_OK) {
            fail_msg("prefix of %zu bytes accepted", n);
        }
        assert_null(c);
    }
}

static void test_event_payload(void **state)
{
    (void)state;
    struct dga_gate_event_fields f = {.devices = 8,
                                      .nvswitches = 4,
                                      .cc_mode = "on",
                                      .devtools = false,
                                      .test_roots = true,
                                      .ocsp = "off"};
    memset(f.evidence_sha256, 0xab, 32);
    memset(f.policy_sha256, 0x01, 32);
    memset(f.gpu_policy_sha256, 0xff, 32);
    char *p = NULL;
    size_t len = 0;
    assert_int_equal(dga_gate_event_payload(&f, &p, &len), DGA_E_OK);
    const char *want = "{\"version\":2,\"provider\":\"nvidia\",\"devices\":8,\"cc_mode\":\"on\","
                       "\"devtools\":false,\"evidence_sha256\":"
                       "\"abababababababababababababababababababababababababababababababab\","
                       "\"nvswitches\":4,\"policy_sha256\":"
                       "\"0101010101010101010101010101010101010101010101010101010101010101\","
                       "\"gpu_policy_sha256\":"
                       "\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\","
                       "\"trust_roots\":\"test\",\"ocsp\":\"off\"}";
    assert_string_equal(p, want);
    assert_int_equal(len, strlen(want));
    free(p);
    /* With a gpu_policy rego: its hash and its stand-in's, after gpu_policy_sha256. */
    f.has_rego = true;
    memset(f.rego_sha256, 0x22, 32);
    memset(f.rego_policy_sha256, 0x33, 32);
    f.ocsp = "cache";
    assert_int_equal(dga_gate_event_payload(&f, &p, &len), DGA_E_OK);
    const char *want_rego =
        "\"gpu_policy_sha256\":"
        "\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\","
        "\"rego_sha256\":\"2222222222222222222222222222222222222222222222222222222222222222\","
        "\"rego_policy_sha256\":"
        "\"3333333333333333333333333333333333333333333333333333333333333333\","
        "\"trust_roots\":\"test\",\"ocsp\":\"cache\"}";
    assert_non_null(strstr(p, want_rego));
    assert_string_equal(p + strlen(p) - strlen(want_rego), want_rego);
    free(p);
    f.ocsp = NULL;
    assert_int_equal(dga_gate_event_payload(&f, &p, &len), DGA_E_BAD_ARGUMENT);
    f.ocsp = "cache";
    f.cc_mode = NULL;
    assert_int_equal(dga_gate_event_payload(&f, &p, &len), DGA_E_BAD_ARGUMENT);
}

static void test_step_names(void **state)
{
    (void)state;
    assert_string_equal(dga_gate_step_name(DGA_GATE_STEP_CC), "cc-mode");
    assert_string_equal(dga_gate_step_name(DGA_GATE_STEP_EVENT), "gpu-attestation");
    assert_string_equal(dga_gate_step_name(DGA_GATE_STEP_DONE), "done");
    assert_string_equal(dga_gate_step_name((enum dga_gate_step)99), "unknown");
    assert_string_equal(dga_gate_outcome_name(DGA_GATE_OUTCOME_PASS), "pass");
    assert_string_equal(dga_gate_outcome_name(DGA_GATE_OUTCOME_REFUSED), "refused");
    assert_string_equal(dga_gate_outcome_name(DGA_GATE_OUTCOME_CONFIG), "config");
    assert_string_equal(dga_gate_outcome_name(DGA_GATE_OUTCOME_IO), "io");
    assert_string_equal(dga_gate_outcome_name((enum dga_gate_outcome)99), "unknown");
}

/* ---- the set appraisal on the real 545.00 vector (what `attest` computes) ---- */

static void appraise_545(const char *policy_json, struct dga_set_appraisal *ap,
                         struct dga_verify_cache **cache, struct dga_trust *dev,
                         struct dga_trust *rim, struct dga_evidence_set *set)
{
    fixture_evidence("gpu/h100_545.00/", DGA_ARCH_HOPPER, NULL, set);
    struct dga_policy *p = NULL;
    assert_int_equal(dga_policy_parse(policy_json, strlen(policy_json), &p, NULL), DGA_E_OK);
    assert_int_equal(dga_trust_nvidia_device(dev), DGA_E_OK);
    assert_int_equal(dga_trust_nvidia_rim(rim), DGA_E_OK);
    time_t at = 1717200000; /* 2024-06-01 */
    assert_int_equal(dga_verify_cache_new(rim, cache), DGA_E_OK);
    struct dga_appraise_options opt = {
        .rim_trust = rim, .cache = *cache, .rim_dir = fixture_path("gpu/h100_545.00/rims")};
    opt.verify.at = at;
    opt.verify.trust = dev;
    assert_int_equal(dga_hex_decode_fixed(NONCE_N3, opt.verify.nonce, DGA_NONCE_LEN), DGA_E_OK);
    assert_int_equal(dga_appraise_set(set, &opt, p, ap), DGA_E_OK);
    dga_policy_free(p);
}

static void appraise_545_free(struct dga_set_appraisal *ap, struct dga_verify_cache *cache,
                              struct dga_trust *dev, struct dga_trust *rim,
                              struct dga_evidence_set *set)
{
    dga_set_appraisal_clear(ap);
    dga_verify_cache_free(cache);
    dga_trust_clear(dev);
    dga_trust_clear(rim);
    dga_evidence_set_clear(set);
}

static void test_appraise_set(void **state)
{
    (void)state;
    struct dga_set_appraisal *ap = calloc(1, sizeof *ap);
    struct dga_evidence_set *set = calloc(1, sizeof *set);
    struct dga_verify_cache *cache = NULL;
    struct dga_trust dev = {0}, rim = {0};
    assert_non_null(ap);
    assert_non_null(set);
    appraise_545("{\"ocsp\":\"not-required\"}", ap, &cache, &dev, &rim, set);
    assert_int_equal(ap->n, 1);
    assert_string_equal(ap->dev[0].report.label, "GPU-0");
    assert_int_equal(ap->dev[0].err, DGA_E_OK);
    assert_true(ap->verdict.pass);
    assert_int_equal(ap->result_code, 0);
    assert_string_equal(ap->result_message, "Ok");
    assert_false(ap->nvidia_default_pass); /* OCSP not checked: NVIDIA's default says no */
    assert_int_equal(json_array_size(ap->claims), 1);
    appraise_545_free(ap, cache, &dev, &rim, set);

    /* The policy alone says no: result code 11 (a policy file), reasons kept. */
    appraise_545("{\"ocsp\":\"not-required\",\"driver_versions\":[\"550.90.07\"]}", ap, &cache,
                 &dev, &rim, set);
    assert_false(ap->verdict.pass);
    assert_int_equal(ap->result_code, 11);
    assert_int_equal(ap->verdict.n_reasons, 1);
    assert_non_null(strstr(ap->verdict.reasons[0], "GPU-0: x-nvidia-gpu-driver-version"));
    appraise_545_free(ap, cache, &dev, &rim, set);
    free(ap);
    free(set);
}

/* ---- one device counted as many (duplicate-device) ---- */

#define POLICY_GPUS(n) "{\"ocsp\":\"not-required\",\"devices\":{\"gpus\":{\"exact\":" #n "}}}"

struct dup_run {
    struct dga_evidence_set set;
    struct dga_set_appraisal ap;
    struct dga_verify_cache *cache;
    struct dga_trust dev, rim;
};

static void dup_add(struct dup_run *d, const uint8_t *report, size_t len, const char *pem)
{
    struct dga_device_evidence *ev = &d->set.dev[d->set.n++];
    ev->arch = DGA_ARCH_HOPPER;
    ev->report = malloc(len);
    ev->chain_pem = strdup(pem);
    assert_non_null(ev->report);
    assert_non_null(ev->chain_pem);
    memcpy(ev->report, report, len);
    ev->report_len = len;
    ev->chain_pem_len = strlen(pem);
}

/* The 545.00 report (nonce N3) re-signed with a test leaf key, as the fake NVML signs. */
static uint8_t *sign_545(const char *key_rel, size_t *ret_len)
{
    size_t len = 0, key_len = 0;
    uint8_t *r = fixture_report("gpu/h100_545.00/report.hex", &len);
    char *pem = (char *)fixture_read(key_rel, &key_len);
    BIO *bio = BIO_new_mem_buf(pem, (int)key_len);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    assert_non_null(key);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[160];
    size_t der_len = sizeof der;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(md, der, &der_len, r, len - DGA_SIGNATURE_LEN), 1);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    assert_non_null(sig);
    uint8_t *out = r + len - DGA_SIGNATURE_LEN;
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 48), 48);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 48, 48), 48);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    BIO_free(bio);
    free(pem);
    *ret_len = len;
    return r;
}

/* A test-PKI chain: leaf_rel's certificate (NULL: certchain.pem's own), then BROM .. root. */
static char *test_chain(const char *leaf_rel)
{
    size_t len = 0, leaf_len = 0;
    char *chain = (char *)fixture_read("testpki/certchain.pem", &len);
    if (leaf_rel == NULL) {
        return chain;
    }
    static const char end[] = "-----END CERTIFICATE-----\n";
    const char *rest = strstr(chain, end);
    assert_non_null(rest);
    rest += sizeof end - 1;
    char *leaf = (char *)fixture_read(leaf_rel, &leaf_len);
    char *out = malloc(leaf_len + strlen(rest) + 1);
    assert_non_null(out);
    memcpy(out, leaf, leaf_len);
    memcpy(out + leaf_len, rest, strlen(rest) + 1);
    free(leaf);
    free(chain);
    return out;
}

static void dup_appraise(struct dup_run *d, const char *policy_json, bool test_root)
{
    struct dga_policy *p = NULL;
    assert_int_equal(dga_policy_parse(policy_json, strlen(policy_json), &p, NULL), DGA_E_OK);
    if (test_root) {
        size_t len = 0;
        char *root = (char *)fixture_read("testpki/root.pem", &len);
        assert_int_equal(dga_trust_from_pem(root, len, &d->dev), DGA_E_OK);
        free(root);
    } else {
        assert_int_equal(dga_trust_nvidia_device(&d->dev), DGA_E_OK);
    }
    assert_int_equal(dga_trust_nvidia_rim(&d->rim), DGA_E_OK);
    time_t at = 1717200000; /* 2024-06-01 */
    assert_int_equal(dga_verify_cache_new(&d->rim, &d->cache), DGA_E_OK);
    struct dga_appraise_options opt = {
        .rim_trust = &d->rim, .cache = d->cache, .rim_dir = fixture_path("gpu/h100_545.00/rims")};
    opt.verify.at = at;
    opt.verify.trust = &d->dev;
    assert_int_equal(dga_hex_decode_fixed(NONCE_N3, opt.verify.nonce, DGA_NONCE_LEN), DGA_E_OK);
    assert_int_equal(dga_appraise_set(&d->set, &opt, p, &d->ap), DGA_E_OK);
    dga_policy_free(p);
}

static void dup_free(struct dup_run *d)
{
    dga_set_appraisal_clear(&d->ap);
    dga_verify_cache_free(d->cache);
    dga_trust_clear(&d->dev);
    dga_trust_clear(&d->rim);
    dga_evidence_set_clear(&d->set);
    free(d);
}

static struct dup_run *dup_new(void)
{
    struct dup_run *d = calloc(1, sizeof *d);
    assert_non_null(d);
    return d;
}

static void add_fixture(struct dup_run *d, const char *dir)
{
    char rel[256];
    size_t len = 0, pem_len = 0;
    snprintf(rel, sizeof rel, "%sreport.hex", dir);
    uint8_t *r = fixture_report(rel, &len);
    snprintf(rel, sizeof rel, "%scertchain.pem", dir);
    char *pem = (char *)fixture_read(rel, &pem_len);
    dup_add(d, r, len, pem);
    free(r);
    free(pem);
}

/* The case: one real H100's evidence four times under a policy wanting exactly 4. */
static void test_duplicate_same_report(void **state)
{
    (void)state;
    struct dup_run *d = dup_new();
    for (int i = 0; i < 4; i++) {
        add_fixture(d, "gpu/h100_545.00/");
    }
    dup_appraise(d, POLICY_GPUS(4), false);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(d->ap.dev[i].err, DGA_E_OK); /* each copy alone is sound */
    }
    assert_int_equal(d->ap.dup[0].kind, DGA_DUPLICATE_NONE);
    for (size_t i = 1; i < 4; i++) {
        assert_int_equal(d->ap.dup[i].kind, DGA_DUPLICATE_REPORT);
        assert_int_equal(d->ap.dup[i].of, 0);
    }
    assert_int_equal(d->ap.n_duplicates, 3);
    assert_false(d->ap.verdict.pass);
    assert_int_equal(d->ap.verdict.n_reasons, 3);
    assert_string_equal(d->ap.verdict.reasons[0], "GPU-1: duplicate-device: same report as GPU-0");
    assert_string_equal(d->ap.verdict.reasons[2], "GPU-3: duplicate-device: same report as GPU-0");
    assert_int_equal(d->ap.result_code, 503);
    assert_string_equal(d->ap.result_message, dga_err_message(DGA_E_DUPLICATE_DEVICE));
    assert_false(d->ap.nvidia_default_pass);
    dup_free(d);
}

/*
 * Reordered and mixed with another GPU: the duplicate names the earliest copy,
 * and a duplicate whose own report is broken (one signature byte flipped: a
 * different report, the same leaf) is still one: after the hard failures.
 */
static void test_duplicate_mixed(void **state)
{
    (void)state;
    struct dup_run *d = dup_new();
    add_fixture(d, "gpu/h100_535.86.09/");
    add_fixture(d, "gpu/h100_545.00/");
    add_fixture(d, "gpu/h100_545.00/");
    dup_appraise(d, POLICY_GPUS(3), false);
    assert_int_equal(d->ap.dup[1].kind, DGA_DUPLICATE_NONE); /* 535 and 545: two GPUs */
    assert_int_equal(d->ap.dup[2].kind, DGA_DUPLICATE_REPORT);
    assert_int_equal(d->ap.dup[2].of, 1);
    assert_int_equal(d->ap.dev[0].err, DGA_E_NONCE_MISMATCH); /* 535 carries another nonce */
    assert_int_equal(d->ap.result_code, 504);                 /* the first hard failure wins */
    /* Hard failures, then duplicates, then the policy's reasons. */
    assert_true(d->ap.verdict.n_reasons > 2);
    assert_non_null(strstr(d->ap.verdict.reasons[0], "GPU-0: "));
    assert_string_equal(d->ap.verdict.reasons[1], "GPU-2: duplicate-device: same report as GPU-1");
    dup_free(d);

    d = dup_new();
    add_fixture(d, "gpu/h100_545.00/");
    add_fixture(d, "gpu/h100_545.00/");
    d->set.dev[1].report[d->set.dev[1].report_len - 1] ^= 0x01;
    dup_appraise(d, POLICY_GPUS(2), false);
    assert_int_equal(d->ap.dev[1].err, DGA_E_SIGNATURE_INVALID);
    assert_int_equal(d->ap.dup[1].kind, DGA_DUPLICATE_LEAF);
    assert_non_null(strstr(d->ap.verdict.reasons[0], "GPU-1: "));
    assert_string_equal(d->ap.verdict.reasons[1],
                        "GPU-1: duplicate-device: same leaf certificate as GPU-0");
    assert_int_equal(d->ap.result_code, 508);
    dup_free(d);
}

/* Distinct test-PKI leaves pass; a leaf used twice, or its ueid re-issued, does not. */
static void test_duplicate_leaf_and_ueid(void **state)
{
    (void)state;
    size_t l0 = 0, l0b = 0, l1 = 0, lu = 0;
    uint8_t *r0 = sign_545("testpki/leaf.key", &l0);
    uint8_t *r0b = sign_545("testpki/leaf.key", &l0b); /* another signature: another report */
    uint8_t *r1 = sign_545("testpki/leaves/gpu1.key", &l1);
    uint8_t *ru = sign_545("testpki/leaves-same-ueid/gpu1.key", &lu);
    char *c0 = test_chain(NULL), *c1 = test_chain("testpki/leaves/gpu1.pem");
    char *cu = test_chain("testpki/leaves-same-ueid/gpu1.pem");
    assert_true(l0 == l0b && memcmp(r0, r0b, l0) != 0);

    struct dup_run *d = dup_new();
    dup_add(d, r0, l0, c0);
    dup_add(d, r1, l1, c1);
    dup_appraise(d, POLICY_GPUS(2), true);
    assert_int_equal(d->ap.n_duplicates, 0);
    assert_true(d->ap.verdict.pass);
    assert_int_equal(d->ap.result_code, 0);
    dup_free(d);

    d = dup_new();
    dup_add(d, r0, l0, c0);
    dup_add(d, r0b, l0b, c0);
    dup_appraise(d, POLICY_GPUS(2), true);
    assert_int_equal(d->ap.dev[1].err, DGA_E_OK);
    assert_int_equal(d->ap.dup[1].kind, DGA_DUPLICATE_LEAF);
    assert_false(d->ap.verdict.pass);
    assert_string_equal(d->ap.verdict.reasons[0],
                        "GPU-1: duplicate-device: same leaf certificate as GPU-0");
    assert_int_equal(d->ap.result_code, 503);
    dup_free(d);

    /* The same leaf in other PEM text (CRLF line ends): the DER decides, not the text. */
    char *crlf = malloc(2 * strlen(c0) + 1), *q = crlf;
    assert_non_null(crlf);
    for (const char *p = c0; *p != '\0'; p++) {
        if (*p == '\n') {
            *q++ = '\r';
        }
        *q++ = *p;
    }
    *q = '\0';
    d = dup_new();
    dup_add(d, r0, l0, c0);
    dup_add(d, r0b, l0b, crlf);
    dup_appraise(d, POLICY_GPUS(2), true);
    assert_int_equal(d->ap.dev[1].err, DGA_E_OK);
    assert_int_equal(d->ap.dup[1].kind, DGA_DUPLICATE_LEAF);
    dup_free(d);
    free(crlf);

    d = dup_new();
    dup_add(d, r0, l0, c0);
    dup_add(d, ru, lu, cu);
    dup_appraise(d, POLICY_GPUS(2), true);
    assert_int_equal(d->ap.dev[1].err, DGA_E_OK);
    assert_int_equal(d->ap.dup[1].kind, DGA_DUPLICATE_UEID);
    assert_string_equal(d->ap.verdict.reasons[0],
                        "GPU-1: duplicate-device: same ueid 4100 as GPU-0");
    assert_int_equal(d->ap.result_code, 503);
    dup_free(d);
    free(r0);
    free(r0b);
    free(r1);
    free(ru);
    free(c0);
    free(c1);
    free(cu);
}

/* ---- dga_gate_run on the fake NVML ---- */

struct env {
    char dir[64];
    char path[512];
};

static const char *envpath(struct env *e, const char *name)
{
    snprintf(e->path, sizeof e->path, "%s/%s", e->dir, name);
    return e->path;
}

static void make_env(struct env *e, const char *scenario_extra)
{
    snprintf(e->dir, sizeof e->dir, "/tmp/dga-gate-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    const char *addrs[] = {"0000:18:00.0", "0000:19:00.0"};
    for (size_t i = 0; i < 2; i++) {
        char d[256];
        snprintf(d, sizeof d, "%s/pci", e->dir);
        mkdir(d, 0700);
        snprintf(d, sizeof d, "%s/pci/%s", e->dir, addrs[i]);
        assert_int_equal(mkdir(d, 0700), 0);
        test_write_file(d, "vendor", "0x10de\n", 7);
        test_write_file(d, "device", "0x2330\n", 7);
        test_write_file(d, "class", "0x030200\n", 9);
    }
    char sc[2048];
    char report[512], chain[512], key[512], record[256];
    snprintf(report, sizeof report, "%s", fixture_path("gpu/h100_545.00/report.hex"));
    snprintf(chain, sizeof chain, "%s", fixture_path("testpki/certchain.pem"));
    snprintf(key, sizeof key, "%s", fixture_path("testpki/leaf.key"));
    snprintf(record, sizeof record, "%s/ready.txt", e->dir);
    int n = snprintf(sc, sizeof sc,
                     "{\"report\":\"%s\",\"chain\":\"%s\",\"key\":\"%s\",\"gpus\":2,"
                     "\"ready_record\":\"%s\"%s}",
                     report, chain, key, record, scenario_extra);
    test_write_file(e->dir, "scenario.json", sc, (size_t)n);
    assert_int_equal(setenv("DGA_FAKE_NVML_SCENARIO", envpath(e, "scenario.json"), 1), 0);
}

static struct dga_gate_config *make_config(struct env *e, const char *gpu_policy)
{
    const char *lib = getenv("DGA_FAKE_NVML");
    if (lib == NULL) {
        fail_msg("DGA_FAKE_NVML is not set (run through ctest)");
    }
    char policy[256];
    snprintf(policy, sizeof policy, "%s/policy.json", e->dir);
    static const char pol[] = "{\"ocsp\":\"not-required\"}";
    test_write_file(e->dir, "policy.json", pol, strlen(pol));
    char root[512], rims[512];
    snprintf(root, sizeof root, "%s", fixture_path("testpki/root.pem"));
    snprintf(rims, sizeof rims, "%s", fixture_path("gpu/h100_545.00/rims"));
    char text[4096];
    snprintf(text, sizeof text,
             "{\"rim_dir\":\"%s\",\"policy\":\"%s\",\"nvml\":\"%s\",\"sysfs_pci\":\"%s/pci\","
             "\"run_dir\":\"%s/run\",\"event_backend\":\"sim:%s/rtmr3.bin\","
             "\"event_log_dir\":\"%s/log\",\"test_device_root\":\"%s\","
             "\"verify_at\":\"2024-06-01T00:00:00Z\"%s%s}",
             rims, policy, lib, e->dir, e->dir, e->dir, e->dir, root,
             gpu_policy != NULL ? ",\"gpu_policy\":" : "", gpu_policy != NULL ? gpu_policy : "");
    struct dga_gate_config *c = NULL;
    assert_int_equal(parse(text, &c, NULL), DGA_E_OK);
    return c;
}

static void rm_env(struct env *e)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
    assert_int_equal(system(cmd), 0);
}

static char *read_text(struct env *e, const char *name, size_t *len)
{
    uint8_t *p = NULL;
    size_t n = 0;
    if (dga_file_read(envpath(e, name), 1u << 24, &p, &n) != DGA_E_OK) {
        return NULL;
    }
    if (len != NULL) {
        *len = n;
    }
    return (char *)p;
}

static void test_run_pass(void **state)
{
    (void)state;
    struct env e;
    make_env(&e, "");
    struct dga_gate_config *c = make_config(&e, "{\"attest_gpu\":true}");
    struct dga_gate_result r;
    struct dga_gate_options opt = {.dry_run = false};
    assert_int_equal(dga_gate_run(c, &opt, &r), DGA_E_OK);
    assert_int_equal(r.step, DGA_GATE_STEP_DONE);
    assert_int_equal(r.outcome, DGA_GATE_OUTCOME_PASS);
    assert_true(r.policy_hash_emitted && r.event_emitted && r.ready_set && r.bundle_written);
    assert_int_equal(r.n_gpus, 2);
    /* The bundle's bytes are what the event commits to. */
    size_t len = 0;
    char *bundle = read_text(&e, "run/evidence.json", &len);
    assert_non_null(bundle);
    uint8_t sha[32];
    char hex[65];
    assert_int_equal(EVP_Digest(bundle, len, sha, NULL, EVP_sha256(), NULL), 1);
    assert_memory_equal(sha, r.bundle_sha256, 32);
    dga_hex_encode(sha, 32, hex);
    assert_non_null(strstr(r.event_payload, hex));
    assert_non_null(strstr(r.event_payload, "\"gpu_policy_sha256\":\"" ATTEST_TRUE_HASH "\""));
    assert_int_equal(bundle[len - 1], '\n');
    free(bundle);
    /* The ready state was set once, and the register is the replay of the log. */
    char *ready = read_text(&e, "ready.txt", NULL);
    assert_string_equal(ready, "set 1 0\n");
    free(ready);
    char *log = read_text(&e, "log/runtime_events.log", &len);
    assert_non_null(log);
    struct dga_eventlog *el = NULL;
    assert_int_equal(dga_eventlog_parse(log, len, &el, NULL), DGA_E_OK);
    assert_int_equal(el->n, 2);
    assert_string_equal(el->events[0].name, "gpu-policy-hash");
    assert_string_equal(el->events[1].name, "gpu-attestation");
    assert_memory_equal(el->events[1].payload, r.event_payload, el->events[1].payload_len);
    uint8_t rtmr[4][DGA_EVENT_DIGEST_LEN];
    dga_eventlog_replay(el, rtmr);
    uint8_t *reg = NULL;
    size_t reg_len = 0;
    assert_int_equal(dga_file_read(envpath(&e, "rtmr3.bin"), 64, &reg, &reg_len), DGA_E_OK);
    assert_int_equal(reg_len, DGA_EVENT_DIGEST_LEN);
    assert_memory_equal(reg, rtmr[3], DGA_EVENT_DIGEST_LEN);
    free(reg);
    dga_eventlog_free(el);
    free(log);
    dga_gate_config_free(c);
    rm_env(&e);
}

/* A relying party's nonce, the bundle kept in memory: nothing on disk, nothing measured. */
static void test_run_caller_nonce_in_memory(void **state)
{
    (void)state;
    struct env e;
    make_env(&e, "");
    struct dga_gate_config *c = make_config(&e, NULL);
    uint8_t nonce[DGA_NONCE_LEN];
    for (size_t i = 0; i < sizeof nonce; i++) {
        nonce[i] = (uint8_t)(0xa0 + i);
    }
    struct dga_gate_result r;
    struct dga_gate_options opt = {.dry_run = true, .nonce = nonce, .bundle_in_memory = true};
    assert_int_equal(dga_gate_run(c, &opt, &r), DGA_E_OK);
    assert_false(r.policy_hash_emitted || r.event_emitted || r.ready_set || r.bundle_written);
    assert_non_null(r.bundle);
    assert_int_equal(r.bundle[r.bundle_len - 1], '\n');
    uint8_t sha[32];
    assert_int_equal(EVP_Digest(r.bundle, r.bundle_len, sha, NULL, EVP_sha256(), NULL), 1);
    assert_memory_equal(sha, r.bundle_sha256, 32);
    char hex[2 * DGA_NONCE_LEN + 1];
    dga_hex_encode(nonce, sizeof nonce, hex);
    char want[160];
    snprintf(want, sizeof want, "\"nonce\":\"%s\"", hex);
    assert_non_null(strstr(r.bundle, want));
    assert_int_equal(access(envpath(&e, "run/evidence.json"), F_OK), -1);
    assert_int_equal(access(envpath(&e, "log/runtime_events.log"), F_OK), -1);
    assert_int_equal(access(envpath(&e, "ready.txt"), F_OK), -1);
    dga_gate_result_clear(&r);
    assert_null(r.bundle);
    dga_gate_config_free(c);
    rm_env(&e);
}

/* A re-attestation's shape: its own bundle file and event name, no second gpu-policy-hash. */
static void test_run_reattestation_shape(void **state)
{
    (void)state;
    struct env e;
    make_env(&e, "");
    struct dga_gate_config *c = make_config(&e, NULL);
    struct dga_gate_result r;
    assert_int_equal(dga_gate_run(c, NULL, &r), DGA_E_OK); /* the boot's run first */
    assert_int_equal(unlink(envpath(&e, "ready.txt")), 0);
    struct dga_gate_options opt = {
        .bundle_file = "reattestation-1.json",
        .event_name = "gpu-reattestation",
        .skip_policy_hash = true,
    };
    assert_int_equal(dga_gate_run(c, &opt, &r), DGA_E_OK);
    assert_true(r.event_emitted && r.ready_set && r.bundle_written);
    assert_false(r.policy_hash_emitted);
    assert_non_null(strstr(r.bundle_path, "/run/reattestation-1.json"));
    char *ready = read_text(&e, "ready.txt", NULL);
    assert_string_equal(ready, "set 1 0\n");
    free(ready);
    size_t len = 0;
    char *log = read_text(&e, "log/runtime_events.log", &len);
    struct dga_eventlog *el = NULL;
    assert_int_equal(dga_eventlog_parse(log, len, &el, NULL), DGA_E_OK);
    assert_int_equal(el->n, 3);
    assert_string_equal(el->events[0].name, "gpu-policy-hash");
    assert_string_equal(el->events[1].name, "gpu-attestation");
    assert_string_equal(el->events[2].name, "gpu-reattestation");
    assert_memory_equal(el->events[2].payload, r.event_payload, el->events[2].payload_len);
    dga_eventlog_free(el);
    free(log);
    /* A file name that is a path is refused before anything is written. */
    struct dga_gate_options bad = {.dry_run = true, .bundle_file = "../x.json"};
    assert_int_equal(dga_gate_run(c, &bad, &r), DGA_E_IO);
    assert_int_equal(r.step, DGA_GATE_STEP_BUNDLE);
    dga_gate_config_free(c);
    rm_env(&e);
}

static void test_run_cc_off(void **state)
{
    (void)state;
    struct env e;
    make_env(&e, ",\"cc_feature\":0");
    struct dga_gate_config *c = make_config(&e, NULL);
    struct dga_gate_result r;
    struct dga_gate_options opt = {.dry_run = false};
    assert_int_equal(dga_gate_run(c, &opt, &r), DGA_E_CC_OFF);
    assert_int_equal(r.step, DGA_GATE_STEP_CC);
    assert_int_equal(r.outcome, DGA_GATE_OUTCOME_REFUSED);
    assert_true(r.policy_hash_emitted);
    assert_false(r.event_emitted);
    assert_false(r.ready_set);
    assert_true(r.bundle_written);
    assert_non_null(strstr(r.reason, "GPU-0 (0000:18:00.0): cc-mode: cc-off: "));
    assert_int_equal(access(envpath(&e, "ready.txt"), F_OK), -1);
    char *bundle = read_text(&e, "run/evidence.json", NULL);
    assert_non_null(strstr(bundle, "\"verdict\":{\"pass\":false"));
    assert_non_null(strstr(bundle, "\"nonce\":null"));
    free(bundle);
    dga_gate_config_free(c);
    rm_env(&e);
}

/*
 * The app's gpu_policy is read in full before anything is measured (issue 9, finding 2): a
 * Rego text without a stand-in document, an unknown key or a mistyped one is gate-config.
 */
static void test_run_gpu_policy_refused(void **state)
{
    (void)state;
    static const struct {
        const char *gpu_policy, *reason;
    } cases[] = {
        {"{\"rego\":\"package policy\\ndefault nv_match := false\"}",
         "config: gpu_policy.rego needs a Rego engine; give the equivalent policy document "
         "(rego_equivalents has none for its SHA-256 "
         "11826101f2c4a36772e19a164d2edfd8aff422b71df4cf634972b92a54b3c696)"},
        {"{\"allow_devtools\":true,\"nv_match\":true}",
         "config: gpu_policy.nv_match: unknown key: the gate does not run a check it does not "
         "understand"},
        {"{\"allow_debug\":\"true\"}", "config: gpu_policy.allow_debug: must be a boolean"},
        {"{\"rego\":[]}", "config: gpu_policy.rego: must be a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct env e;
        make_env(&e, "");
        struct dga_gate_config *c = make_config(&e, cases[i].gpu_policy);
        struct dga_gate_result r;
        struct dga_gate_options opt = {.dry_run = false};
        assert_int_equal(dga_gate_run(c, &opt, &r), DGA_E_GATE_CONFIG);
        assert_int_equal(r.step, DGA_GATE_STEP_SETUP);
        assert_int_equal(r.outcome, DGA_GATE_OUTCOME_CONFIG);
        assert_string_equal(r.reason, cases[i].reason);
        assert_false(r.policy_hash_emitted || r.event_emitted || r.ready_set);
        assert_int_equal(access(envpath(&e, "ready.txt"), F_OK), -1);
        dga_gate_config_free(c);
        rm_env(&e);
    }
}

static void test_run_dry(void **state)
{
    (void)state;
    struct env e;
    make_env(&e, "");
    struct dga_gate_config *c = make_config(&e, NULL);
    struct dga_gate_result r;
    struct dga_gate_options opt = {.dry_run = true};
    assert_int_equal(dga_gate_run(c, &opt, &r), DGA_E_OK);
    assert_false(r.policy_hash_emitted || r.event_emitted || r.ready_set);
    assert_true(r.bundle_written);
    assert_int_equal(access(envpath(&e, "log"), F_OK), -1);
    assert_int_equal(access(envpath(&e, "rtmr3.bin"), F_OK), -1);
    assert_int_equal(access(envpath(&e, "ready.txt"), F_OK), -1);
    struct stat st;
    assert_int_equal(stat(envpath(&e, "run/evidence.json"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    dga_gate_config_free(c);
    rm_env(&e);
}

/* The run directory cannot be written: the gate fails at the bundle, before any event. */
static void test_run_bundle_unwritable(void **state)
{
    (void)state;
    struct env e;
    make_env(&e, "");
    test_write_file(e.dir, "run", "a file, not a directory", 23);
    struct dga_gate_config *c = make_config(&e, NULL);
    struct dga_gate_result r;
    struct dga_gate_options opt = {.dry_run = false};
    assert_int_equal(dga_gate_run(c, &opt, &r), DGA_E_IO);
    assert_int_equal(r.step, DGA_GATE_STEP_BUNDLE);
    assert_int_equal(r.outcome, DGA_GATE_OUTCOME_IO);
    assert_false(r.event_emitted || r.ready_set || r.bundle_written);
    assert_int_equal(access(envpath(&e, "ready.txt"), F_OK), -1);
    dga_gate_config_free(c);
    rm_env(&e);
}

/* Two NVML GPUs with one UUID: refused at collection, before any appraisal or event. */
static void test_run_duplicate_uuid(void **state)
{
    (void)state;
    struct env e;
    make_env(&e, ",\"uuids\":[\"GPU-7e57\",\"GPU-7E57\"]");
    struct dga_gate_config *c = make_config(&e, NULL);
    struct dga_gate_result r;
    struct dga_gate_options opt = {.dry_run = false};
    assert_int_equal(dga_gate_run(c, &opt, &r), DGA_E_DUPLICATE_DEVICE);
    assert_int_equal(r.step, DGA_GATE_STEP_COLLECT);
    assert_int_equal(r.outcome, DGA_GATE_OUTCOME_REFUSED);
    assert_false(r.event_emitted || r.ready_set);
    assert_string_equal(r.reason, "GPU-1 (0000:19:00.0): collect: duplicate-device: same NVML "
                                  "UUID GPU-7E57 as GPU-0 (0000:18:00.0)");
    assert_int_equal(access(envpath(&e, "ready.txt"), F_OK), -1);
    dga_gate_config_free(c);
    rm_env(&e);
}

/* Two NVML GPUs answering with one GPU's leaf: each report verifies, the set does not. */
static void test_run_shared_leaf(void **state)
{
    (void)state;
    struct env e;
    make_env(&e, ",\"shared_leaf\":true");
    struct dga_gate_config *c = make_config(&e, NULL);
    struct dga_gate_result r;
    struct dga_gate_options opt = {.dry_run = false};
    assert_int_equal(dga_gate_run(c, &opt, &r), DGA_E_DUPLICATE_DEVICE);
    assert_int_equal(r.step, DGA_GATE_STEP_APPRAISE);
    assert_int_equal(r.outcome, DGA_GATE_OUTCOME_REFUSED);
    assert_false(r.event_emitted || r.ready_set);
    assert_string_equal(r.reason, "GPU-1 (0000:19:00.0): duplicate-device: same leaf certificate "
                                  "as GPU-0 (0000:18:00.0)");
    char *bundle = read_text(&e, "run/evidence.json", NULL);
    assert_non_null(strstr(bundle, "\"result_code\":503,"));
    free(bundle);
    assert_int_equal(access(envpath(&e, "ready.txt"), F_OK), -1);
    dga_gate_config_free(c);
    rm_env(&e);
}

/* ---- the bundle never loses a member ---- */

/* A run that reached every part of the bundle: inventory, CC, evidence, the rego stand-in. */
struct bundle_run {
    struct dga_gate_config *cfg;
    struct dga_policy *policy;
    struct dga_gate_options opt;
    struct dga_gate_result res;
    struct dga_inventory inv;
    struct dga_collection col;
    struct dga_verdict verdict;
    uint8_t report[2][16];
    char chain[2][64];
    struct gate_state g;
};

static void bundle_run_init(struct bundle_run *b)
{
    memset(b, 0, sizeof *b);
    assert_int_equal(parse("{\"rim_dir\":\"/rims\"}", &b->cfg, NULL), DGA_E_OK);
    static const char pol[] = "{\"ocsp\":\"not-required\"}";
    assert_int_equal(dga_policy_parse(pol, strlen(pol), &b->policy, NULL), DGA_E_OK);
    b->res.err = DGA_E_CC_OFF;
    b->res.step = DGA_GATE_STEP_CC;
    snprintf(b->res.reason, sizeof b->res.reason, "GPU-0 (0000:18:00.0): cc-mode: cc-off");
    b->inv.n_gpus = 2;
    b->inv.n_switches = 1;
    snprintf(b->inv.gpu[0].address, sizeof b->inv.gpu[0].address, "0000:18:00.0");
    snprintf(b->inv.gpu[1].address, sizeof b->inv.gpu[1].address, "0000:19:00.0");
    snprintf(b->inv.nvswitch[0].address, sizeof b->inv.nvswitch[0].address, "0000:a0:00.0");
    b->col.n = 2;
    snprintf(b->col.driver_version, sizeof b->col.driver_version, "545.00");
    for (size_t i = 0; i < 2; i++) {
        struct dga_gpu_collected *d = &b->col.gpu[i];
        d->arch = DGA_ARCH_HOPPER;
        d->board_id = 0x1000u + (unsigned)i;
        snprintf(d->uuid, sizeof d->uuid, "GPU-%zu-uuid", i);
        snprintf(d->vbios_version, sizeof d->vbios_version, "96.00.5E.00.0%zu", i);
        snprintf(d->pci_address, sizeof d->pci_address, "%s", b->inv.gpu[i].address);
        memset(b->report[i], 0x11 * (int)(i + 1), sizeof b->report[i]);
        d->report = b->report[i];
        d->report_len = sizeof b->report[i];
        snprintf(b->chain[i], sizeof b->chain[i], "-----BEGIN CERTIFICATE-----\nchain %zu\n", i);
        d->chain_pem = b->chain[i];
        d->chain_pem_len = strlen(b->chain[i]);
    }
    b->verdict.n_reasons = 1;
    snprintf(b->verdict.reasons[0], sizeof b->verdict.reasons[0], "gpu count: 2 < 3");
    b->opt.dry_run = true;
    b->g = (struct gate_state){
        .cfg = b->cfg,
        .opt = &b->opt,
        .res = &b->res,
        .at = 1717200000,
        .policy = b->policy,
        .has_rego = true,
        .rego_policy_path = "/etc/dstack/rego-equivalent.json",
        .rego_policy = b->policy,
        .rego_verdict = &b->verdict,
        .inv = &b->inv,
        .inventory_read = true,
        .cc = {.environment = 2, .cc_feature = 0},
        .cc_read = true,
        .has_nonce = true,
        .col = &b->col,
        .collected = true,
    };
}

static json_t *build_bundle(const void *g)
{
    return gate_bundle_json(g);
}

/*
 * Every allocation of the bundle in turn fails: the bundle is then NULL (the gate
 * writes none and fails at the bundle step), never an object with a member, a
 * device's evidence or an inventory address missing; with no failure it equals
 * the full bundle.
 */
static void test_bundle_never_short(void **state)
{
    (void)state;
    struct bundle_run *b = malloc(sizeof *b);
    assert_non_null(b);
    bundle_run_init(b);
    json_t *full = gate_bundle_json(&b->g);
    assert_non_null(full);
    json_t *evidence = json_object_get(full, "evidence");
    assert_int_equal(json_array_size(evidence), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(evidence, 1), "uuid")),
                        "GPU-1-uuid");
    json_t *inventory = json_object_get(json_object_get(full, "gate"), "inventory");
    assert_int_equal(json_array_size(json_object_get(inventory, "gpus")), 2);
    assert_int_equal(json_array_size(json_object_get(inventory, "nvswitches")), 1);
    /* the bundle took that many allocations */
    assert_true(test_json_alloc_failures(build_bundle, &b->g, full, "bundle") > 50);
    json_decref(full);
    dga_policy_free(b->policy);
    dga_gate_config_free(b->cfg);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_every_key),
        cmocka_unit_test(test_config_rejections),
        cmocka_unit_test(test_config_rego_equivalents),
        cmocka_unit_test(test_config_add_rego_equivalent),
        cmocka_unit_test(test_config_app_compose),
        cmocka_unit_test(test_config_caps),
        cmocka_unit_test(test_config_truncation),
        cmocka_unit_test(test_config_shipped_examples),
        cmocka_unit_test(test_event_payload),
        cmocka_unit_test(test_step_names),
        cmocka_unit_test(test_appraise_set),
        cmocka_unit_test(test_duplicate_same_report),
        cmocka_unit_test(test_duplicate_mixed),
        cmocka_unit_test(test_duplicate_leaf_and_ueid),
        cmocka_unit_test(test_run_pass),
        cmocka_unit_test(test_run_cc_off),
        cmocka_unit_test(test_run_gpu_policy_refused),
        cmocka_unit_test(test_run_dry),
        cmocka_unit_test(test_run_caller_nonce_in_memory),
        cmocka_unit_test(test_run_reattestation_shape),
        cmocka_unit_test(test_run_bundle_unwritable),
        cmocka_unit_test(test_run_duplicate_uuid),
        cmocka_unit_test(test_run_shared_leaf),
        cmocka_unit_test(test_bundle_never_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
