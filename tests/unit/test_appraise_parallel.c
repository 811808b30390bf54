/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The parallel appraisal of a set (dga_appraise_options.jobs): the same
 * sets appraised with 1 and with N threads give byte-identical JSON (claims,
 * reasons and their order, result code) and the same ECDSA count, each
 * signature verified once per run; and the shared caches are once per key
 * when many threads need the same chain or RIM at the same instant. Run
 * under ThreadSanitizer by `make check-tsan`.
 */
#define _GNU_SOURCE 1 /* memmem */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dga/appraise.h"
#include "dga/appraise_set.h"
#include "dga/stats.h"
#include "dga/util.h"

#define AT_2024 1717200000 /* 2024-06-01T00:00:00Z */
#define RIMS "gpu/h100_545.00/rims"
#define N_GPUS 8
#define POLICY "{\"ocsp\":\"not-required\"}"
/* One GPU: report 1 + device chain 4 + RIM signatures 2 + RIM chains 3 + 1 (shared suffix). */
#define ECDSA_FIRST_GPU 11
/* A further GPU under the same CAs and RIMs: report 1 + leaf + BROM. */
#define ECDSA_FURTHER_GPU 3

struct set_run {
    struct dga_evidence_set set;
    struct dga_trust dev, rim;
    enum dga_set_mode mode; /* ANY, or PPCIe for the board (its nonce, its counts) */
    char rim_dir[64];       /* a store of the test's own; "": the 545.00 fixtures' */
};

/* ---- sets ---- */

static void add_device(struct set_run *r, uint8_t *report, size_t len, char *pem)
{
    struct dga_device_evidence *ev = &r->set.dev[r->set.n++];
    ev->arch = DGA_ARCH_HOPPER;
    ev->report = report;
    ev->report_len = len;
    ev->chain_pem = pem;
    ev->chain_pem_len = strlen(pem);
}

/* Signs report[0..len-96) with the test key key_rel into its last 96 bytes (r || s). */
static void sign_report(uint8_t *r, size_t len, const char *key_rel)
{
    size_t key_len = 0;
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
}

/* The test chain with fake-NVML GPU i's leaf (GPU 0: certchain.pem's own). */
static char *test_chain(int i)
{
    size_t len = 0, leaf_len = 0;
    char *chain = (char *)fixture_read("testpki/certchain.pem", &len);
    if (i == 0) {
        return chain;
    }
    static const char end[] = "-----END CERTIFICATE-----\n";
    const char *rest = strstr(chain, end);
    assert_non_null(rest);
    rest += sizeof end - 1;
    char rel[64];
    snprintf(rel, sizeof rel, "testpki/leaves/gpu%d.pem", i);
    char *leaf = (char *)fixture_read(rel, &leaf_len);
    char *out = malloc(leaf_len + strlen(rest) + 1);
    assert_non_null(out);
    memcpy(out, leaf, leaf_len);
    memcpy(out + leaf_len, rest, strlen(rest) + 1);
    free(leaf);
    free(chain);
    return out;
}

enum tamper { TAMPER_NONE, TAMPER_MEASUREMENT, TAMPER_NONCE };

/*
 * The 545.00 report (nonce N3) as fake-NVML GPU `key` signs it, with leaf
 * `key`'s chain; TAMPER_MEASUREMENT changes a measured value (a RIM
 * mismatch), TAMPER_NONCE the requester nonce (a hard failure), both before
 * signing so the signature still verifies.
 */
static void add_gpu(struct set_run *r, int key, enum tamper t)
{
    size_t len = 0;
    uint8_t *rep = fixture_report("gpu/h100_545.00/report.hex", &len);
    if (t == TAMPER_MEASUREMENT) {
        struct dga_report parsed;
        assert_int_equal(dga_report_parse(rep, len, DGA_ARCH_HOPPER, &parsed, NULL), DGA_E_OK);
        /* block 2 (RIM index 1): a digest the driver RIM holds, unlike any other bytes */
        const struct dga_block *b = dga_report_block(&parsed, 2);
        assert_non_null(b);
        assert_int_equal(b->value_size, 48);
        uint8_t *at = memmem(rep, len, b->value, b->value_size);
        assert_non_null(at);
        assert_null(memmem(at + 1, len - (size_t)(at + 1 - rep), b->value, b->value_size));
        at[47] ^= 0x01;
    }
    if (t == TAMPER_NONCE) {
        rep[4] ^= 0x01; /* the request's nonce follows its 4-byte header */
    }
    char rel[64];
    snprintf(rel, sizeof rel, key == 0 ? "testpki/leaf.key" : "testpki/leaves/gpu%d.key", key);
    sign_report(rep, len, rel);
    add_device(r, rep, len, test_chain(key));
}

static void test_roots(struct set_run *r)
{
    size_t len = 0;
    char *root = (char *)fixture_read("testpki/root.pem", &len);
    assert_int_equal(dga_trust_from_pem(root, len, &r->dev), DGA_E_OK);
    free(root);
    assert_int_equal(dga_trust_nvidia_rim(&r->rim), DGA_E_OK);
}

/* NVIDIA's genuine 545.00 GPU under NVIDIA's roots. */
static void set_one(struct set_run *r)
{
    fixture_evidence("gpu/h100_545.00/", DGA_ARCH_HOPPER, NULL, &r->set);
    assert_int_equal(dga_trust_nvidia_device(&r->dev), DGA_E_OK);
    assert_int_equal(dga_trust_nvidia_rim(&r->rim), DGA_E_OK);
}

/* Eight distinct GPUs of the fake NVML, every one sound. */
static void set_eight(struct set_run *r)
{
    test_roots(r);
    for (int i = 0; i < N_GPUS; i++) {
        add_gpu(r, i, TAMPER_NONE);
    }
}

/*
 * Eight devices that fail in every way the verdict orders: GPU-3's
 * measurement differs from the RIM (a policy reason), GPU-5 is GPU-1's leaf
 * again (a duplicate), GPU-6's nonce is wrong (a hard failure).
 */
static void set_failing(struct set_run *r)
{
    test_roots(r);
    for (int i = 0; i < N_GPUS; i++) {
        enum tamper t = i == 3 ? TAMPER_MEASUREMENT : i == 6 ? TAMPER_NONCE : TAMPER_NONE;
        add_gpu(r, i == 5 ? 1 : i, t);
    }
}

/* The fake PPCIe board, 8 GPUs and 4 NVSwitches, appraised in PPCIe mode. */
static void set_board(struct set_run *r)
{
    test_roots(r);
    fixture_board(&r->set);
    r->mode = DGA_SET_MODE_PPCIE;
}

/* The genuine GPU's report with one byte of its signature's s changed. */
static void break_report_signature(struct set_run *r)
{
    struct dga_device_evidence *ev = &r->set.dev[0];
    ev->report[ev->report_len - DGA_SIGNATURE_LEN / 2] ^= 0x01;
}

#define DRIVER_RIM "NV_GPU_DRIVER_GH100_545.00"
#define VBIOS_RIM "NV_GPU_VBIOS_1010_0200_882_96005E0001"

/* A store of the 545.00 RIMs whose driver RIM has one base64 digit of its SignatureValue changed.
 */
static void break_driver_rim_signature(struct set_run *r)
{
    snprintf(r->rim_dir, sizeof r->rim_dir, "/tmp/dga-parallel-XXXXXX");
    assert_non_null(mkdtemp(r->rim_dir));
    fixture_copy(RIMS "/" VBIOS_RIM ".xml", r->rim_dir, VBIOS_RIM ".xml");
    size_t len = 0;
    char *xml = (char *)fixture_read(RIMS "/" DRIVER_RIM ".xml", &len);
    char *value = strstr(xml, "<ds:SignatureValue>");
    assert_non_null(value);
    char *digit = value + strlen("<ds:SignatureValue>") + 20; /* inside r: still below n */
    *digit = *digit == 'A' ? 'B' : 'A';
    test_write_file(r->rim_dir, DRIVER_RIM ".xml", xml, len);
    free(xml);
}

static void set_free(struct set_run *r)
{
    if (r->rim_dir[0] != '\0') {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->rim_dir);
        assert_int_equal(system(cmd), 0);
    }
    dga_evidence_set_clear(&r->set);
    dga_trust_clear(&r->dev);
    dga_trust_clear(&r->rim);
}

/* ---- one appraisal, as `attest --format json` prints it ---- */

#define KEPT_REASONS 8

struct outcome {
    char *json;
    unsigned long ecdsa;
    bool pass;
    size_t n_reasons;
    char reasons[KEPT_REASONS][DGA_VERDICT_REASON_LEN]; /* the first ones */
};

static struct outcome appraise(struct set_run *r, unsigned jobs)
{
    struct dga_policy *policy = NULL;
    assert_int_equal(dga_policy_parse(POLICY, strlen(POLICY), &policy, NULL), DGA_E_OK);
    struct dga_ocsp_source src;
    dga_ocsp_source_init(&src);
    struct dga_appraise_options opt = {.rim_trust = &r->rim,
                                       .rim_dir =
                                           r->rim_dir[0] != '\0' ? r->rim_dir : fixture_path(RIMS),
                                       .ocsp = &src,
                                       .jobs = jobs};
    assert_int_equal(dga_verify_cache_new(&r->rim, &opt.cache), DGA_E_OK);
    opt.verify.at = AT_2024;
    opt.verify.trust = &r->dev;
    bool board = r->mode == DGA_SET_MODE_PPCIE;
    assert_int_equal(
        dga_hex_decode_fixed(board ? NONCE_BOARD : NONCE_N3, opt.verify.nonce, DGA_NONCE_LEN),
        DGA_E_OK);
    opt.mode = r->mode;
    opt.topology = (struct dga_topology_options){
        .gpus = BOARD_GPUS, .switches = BOARD_SWITCHES, .gpu_pdi_in_cert = true};
    struct dga_set_appraisal *ap = calloc(1, sizeof *ap);
    assert_non_null(ap);
    unsigned long before = dga_stats_ecdsa_verifications();
    assert_int_equal(dga_appraise_set(&r->set, &opt, policy, ap), DGA_E_OK);
    struct outcome o = {.ecdsa = dga_stats_ecdsa_verifications() - before,
                        .pass = ap->verdict.pass,
                        .n_reasons = ap->verdict.n_reasons};
    for (size_t i = 0; i < ap->verdict.n_reasons && i < KEPT_REASONS; i++) {
        snprintf(o.reasons[i], sizeof o.reasons[i], "%s", ap->verdict.reasons[i]);
    }
    /* No token: its jti is random. The claims it would carry are in the JSON. */
    assert_int_equal(
        dga_set_appraisal_eat(ap, policy, opt.verify.nonce, &(struct dga_eat_options){0}),
        DGA_E_OK);
    struct dga_set_json_context ctx = {.policy = policy,
                                       .ocsp = &src,
                                       .nonce = opt.verify.nonce,
                                       .verified_at = AT_2024,
                                       .device_root = "test",
                                       .rim_root = "nvidia"};
    json_t *j = dga_set_appraisal_json(ap, &ctx);
    assert_non_null(j);
    o.json = json_dumps(j, JSON_INDENT(1));
    assert_non_null(o.json);
    json_decref(j);
    dga_set_appraisal_clear(ap);
    free(ap);
    dga_verify_cache_free(opt.cache);
    dga_policy_free(policy);
    return o;
}

/* Serial, then with each of jobs[] three times (a different interleaving each time): all the same.
 */
static struct outcome same_for_jobs(struct set_run *r, const unsigned *jobs, size_t n_jobs)
{
    struct outcome serial = appraise(r, 1);
    for (size_t k = 0; k < n_jobs; k++) {
        for (int round = 0; round < 3; round++) {
            struct outcome o = appraise(r, jobs[k]);
            assert_string_equal(o.json, serial.json);
            assert_int_equal(o.ecdsa, serial.ecdsa);
            free(o.json);
        }
    }
    return serial;
}

/* Every thread count up to and past the devices. */
static struct outcome same_for_every_jobs(struct set_run *r)
{
    static const unsigned jobs[] = {2, 4, 8, 64, DGA_APPRAISE_JOBS_AUTO};
    return same_for_jobs(r, jobs, sizeof jobs / sizeof jobs[0]);
}

/*
 * One GPU: its report, driver RIM and VBIOS RIM are three work items, so
 * every count from 1 to 8 (more threads than items too) runs them differently.
 */
static void test_one_gpu(void **state)
{
    (void)state;
    struct set_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    set_one(r);
    static const unsigned jobs[] = {2, 3, 4, 5, 6, 7, 8, 64, DGA_APPRAISE_JOBS_AUTO};
    struct outcome o = same_for_jobs(r, jobs, sizeof jobs / sizeof jobs[0]);
    assert_true(o.pass);
    assert_int_equal(o.ecdsa, ECDSA_FIRST_GPU);
    assert_non_null(strstr(o.json, "\"result_code\": 0"));
    free(o.json);
    set_free(r);
    free(r);
}

/* Jobs 1 and 3 (one thread per part of the lone GPU). */
static struct outcome same_for_jobs_1_and_3(struct set_run *r)
{
    static const unsigned jobs[] = {3};
    return same_for_jobs(r, jobs, 1);
}

/*
 * The report's signature fails; its RIMs are appraised all the same (as
 * they are serially): their claims are in the output, the device's check
 * is the report's.
 */
static void test_bad_report_signature(void **state)
{
    (void)state;
    struct set_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    set_one(r);
    break_report_signature(r);
    struct outcome o = same_for_jobs_1_and_3(r);
    assert_false(o.pass);
    assert_string_equal(o.reasons[0], "GPU-0: signature: report signature verification failed");
    assert_non_null(strstr(o.json, "\"x-nvidia-gpu-driver-rim-signature-verified\": true"));
    assert_non_null(strstr(o.json, "\"x-nvidia-gpu-vbios-rim-signature-verified\": true"));
    assert_non_null(strstr(o.json, "\"result_code\": 508")); /* nvattest's invalid signature */
    /* The same signatures as the sound GPU: the broken one is verified (and fails) too. */
    assert_int_equal(o.ecdsa, ECDSA_FIRST_GPU);
    free(o.json);
    set_free(r);
    free(r);
}

/* The driver RIM's signature fails: its check, whichever thread finished first. */
static void test_bad_rim_signature(void **state)
{
    (void)state;
    struct set_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    set_one(r);
    break_driver_rim_signature(r);
    struct outcome o = same_for_jobs_1_and_3(r);
    assert_false(o.pass);
    assert_string_equal(o.reasons[0], "GPU-0: driver-rim: the RIM signature value does not "
                                      "verify: " DRIVER_RIM);
    assert_non_null(strstr(o.json, "\"x-nvidia-gpu-driver-rim-signature-verified\": false"));
    assert_non_null(strstr(o.json, "\"x-nvidia-gpu-vbios-rim-signature-verified\": true"));
    assert_non_null(strstr(o.json, "\"result_code\": 105")); /* nvattest's RIM signature */
    assert_int_equal(o.ecdsa, ECDSA_FIRST_GPU);
    free(o.json);
    set_free(r);
    free(r);
}

/* Both broken: the report's failure comes first, as serially, even when the RIM's part ends first.
 */
static void test_bad_report_and_rim_signature(void **state)
{
    (void)state;
    struct set_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    set_one(r);
    break_report_signature(r);
    break_driver_rim_signature(r);
    struct outcome o = same_for_jobs_1_and_3(r);
    assert_false(o.pass);
    assert_string_equal(o.reasons[0], "GPU-0: signature: report signature verification failed");
    assert_non_null(strstr(o.json, "\"x-nvidia-gpu-driver-rim-signature-verified\": false"));
    assert_non_null(strstr(o.json, "\"result_code\": 508"));
    free(o.json);
    set_free(r);
    free(r);
}

static void test_eight_gpus(void **state)
{
    (void)state;
    struct set_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    set_eight(r);
    struct outcome o = same_for_every_jobs(r);
    assert_true(o.pass);
    /* The 32: each of the set's distinct signatures once. */
    assert_int_equal(o.ecdsa, ECDSA_FIRST_GPU + (N_GPUS - 1) * ECDSA_FURTHER_GPU);
    assert_non_null(strstr(o.json, "\"label\": \"GPU-7\""));
    free(o.json);
    set_free(r);
    free(r);
}

/* The PPCIe board: the views, the topology check and its JSON do not depend on the threads. */
static void test_ppcie_board(void **state)
{
    (void)state;
    struct set_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    set_board(r);
    struct outcome o = same_for_every_jobs(r);
    json_t *j = json_loads(o.json, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "mode")), "ppcie");
    json_t *t = json_object_get(j, "topology");
    assert_string_equal(json_string_value(json_object_get(t, "result")), "pass");
    assert_int_equal(json_array_size(json_object_get(t, "gpus")), BOARD_GPUS);
    assert_int_equal(json_array_size(json_object_get(t, "switches")), BOARD_SWITCHES);
    json_decref(j);
    free(o.json);
    set_free(r);
    free(r);
}

/* The reasons of the failing set, in the verdict's order: hard, duplicate, policy. */
static void test_failing_set(void **state)
{
    (void)state;
    struct set_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    set_failing(r);
    struct outcome o = same_for_every_jobs(r);
    assert_false(o.pass);
    static const char *const want[] = {
        "GPU-6: nonce: nonce mismatch",
        "GPU-5: duplicate-device: same leaf certificate as GPU-1",
        "GPU-3: measres is \"fail\", policy requires \"success\"",
        "GPU-3: secboot is null, policy requires true",
        "GPU-3: dbgstat is null, policy requires \"disabled\"",
        "GPU-6: x-nvidia-gpu-attestation-report-nonce-match is false, policy requires true",
    };
    assert_int_equal(o.n_reasons, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_string_equal(o.reasons[i], want[i]);
    }
    assert_non_null(strstr(o.json, "\"result_code\": 504")); /* the nonce's, first hard failure */
    free(o.json);
    set_free(r);
    free(r);
}

/* ---- the caches under contention: many threads, one key, one verification ---- */

#define N_THREADS 8

struct racer {
    pthread_barrier_t *start;
    const struct dga_device_evidence *ev;
    const struct dga_appraise_options *opt;
    struct dga_appraisal a;
};

static void *race(void *arg)
{
    struct racer *w = arg;
    pthread_barrier_wait(w->start);
    dga_appraise_device(w->ev, w->opt, &w->a);
    return NULL;
}

/*
 * The same GPU appraised by 8 threads released at once against one cache:
 * its device chain, RIM chains and RIM signatures are each verified by one
 * thread while the others wait for it; every thread checks its own report
 * signature. 11 + 7, the serial count, however the threads interleave.
 */
static void test_same_key_at_once(void **state)
{
    (void)state;
    struct set_run *r = calloc(1, sizeof *r);
    struct racer *w = calloc(N_THREADS, sizeof *w);
    assert_non_null(r);
    assert_non_null(w);
    set_one(r);
    struct dga_appraise_options opt = {.rim_trust = &r->rim, .rim_dir = fixture_path(RIMS)};
    assert_int_equal(dga_verify_cache_new(&r->rim, &opt.cache), DGA_E_OK);
    opt.verify.at = AT_2024;
    opt.verify.trust = &r->dev;
    bool board = r->mode == DGA_SET_MODE_PPCIE;
    assert_int_equal(
        dga_hex_decode_fixed(board ? NONCE_BOARD : NONCE_N3, opt.verify.nonce, DGA_NONCE_LEN),
        DGA_E_OK);
    opt.mode = r->mode;
    opt.topology = (struct dga_topology_options){
        .gpus = BOARD_GPUS, .switches = BOARD_SWITCHES, .gpu_pdi_in_cert = true};
    for (int round = 0; round < 5; round++) {
        pthread_barrier_t start;
        pthread_t t[N_THREADS];
        assert_int_equal(pthread_barrier_init(&start, NULL, N_THREADS), 0);
        unsigned long before = dga_stats_ecdsa_verifications();
        for (int i = 0; i < N_THREADS; i++) {
            w[i] = (struct racer){.start = &start, .ev = &r->set.dev[0], .opt = &opt};
            assert_int_equal(pthread_create(&t[i], NULL, race, &w[i]), 0);
        }
        for (int i = 0; i < N_THREADS; i++) {
            assert_int_equal(pthread_join(t[i], NULL), 0);
            assert_int_equal(w[i].a.err, DGA_E_OK);
        }
        /* Round 0 verifies the chains once; later rounds find them all cached. */
        unsigned long want = (round == 0 ? ECDSA_FIRST_GPU - 1 : 0) + N_THREADS;
        assert_int_equal(dga_stats_ecdsa_verifications() - before, want);
        for (int i = 0; i < N_THREADS; i++) {
            dga_appraisal_clear(&w[i].a);
        }
        pthread_barrier_destroy(&start);
    }
    dga_verify_cache_free(opt.cache);
    set_free(r);
    free(w);
    free(r);
}

static void test_jobs_count(void **state)
{
    (void)state;
    assert_int_equal(dga_appraise_jobs(1, 8), 1);
    assert_int_equal(dga_appraise_jobs(4, 8), 4);
    assert_int_equal(dga_appraise_jobs(4, 2), 2); /* never more threads than work items */
    assert_int_equal(dga_appraise_jobs(4, 0), 1); /* an empty set: the serial path */
    assert_int_equal(dga_appraise_jobs(200, 255), DGA_APPRAISE_MAX_JOBS);
    unsigned auto_jobs = dga_appraise_jobs(DGA_APPRAISE_JOBS_AUTO, 255);
    assert_true(auto_jobs >= 1 && auto_jobs <= DGA_APPRAISE_MAX_JOBS);
    assert_int_equal(dga_appraise_jobs(DGA_APPRAISE_JOBS_AUTO, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs_count),
        cmocka_unit_test(test_one_gpu),
        cmocka_unit_test(test_eight_gpus),
        cmocka_unit_test(test_failing_set),
        cmocka_unit_test(test_same_key_at_once),
        cmocka_unit_test(test_ppcie_board),
        cmocka_unit_test(test_bad_report_signature),
        cmocka_unit_test(test_bad_rim_signature),
        cmocka_unit_test(test_bad_report_and_rim_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
