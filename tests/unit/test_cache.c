/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verification cache (dga_verify_cache): how many ECDSA verifications
 * an appraisal performs with and without it, that cached results equal
 * fresh ones (at every verification time one cache serves, and for RIM
 * documents that fail), and that it is never fooled by different bytes.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>

#include "dga/appraise.h"
#include "dga/stats.h"
#include "dga/util.h"

#define AT_2024 "2024-06-01T00:00:00Z"
#define H545 "gpu/h100_545.00/"
#define H580 "gpu/h100_580.159.03/"
#define DRIVER "NV_GPU_DRIVER_GH100_545.00.xml"
#define VBIOS "NV_GPU_VBIOS_1010_0200_882_96005E0001.xml"
#define N_GPUS 8

/* One GPU, without OCSP or cache: report 1 + device chain 4 + RIM signatures 2 + RIM chains 2 x 3.
 */
#define ECDSA_ONE_GPU 13
/*
 * With a cache, the VBIOS RIM's L3 and L2 are the driver RIM's (byte for byte):
 * its chain costs the L4 signature only. 11 distinct signatures, each checked once.
 */
#define ECDSA_ONE_GPU_CACHED 11
/* A further GPU with the same RIMs and CAs: report 1 + leaf + BROM. */
#define ECDSA_CACHED_GPU 3
/*
 * The same GPU again (its chain cached whole, byte for byte, with the root):
 * the report signature only, which signs this call's nonce.
 */
#define ECDSA_SAME_GPU 1

struct run {
    char store[64];
    struct dga_evidence_set set;
    struct dga_trust device_root, rim_root;
    struct dga_appraise_options opt;
    struct dga_appraisal a;
};

static void copy_rim(const char *dir, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, H545 "rims/%s", name);
    fixture_copy(rel, dir, name);
}

static struct run *run_new(void)
{
    struct run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    snprintf(r->store, sizeof r->store, "/tmp/dga-cache-XXXXXX");
    assert_non_null(mkdtemp(r->store));
    copy_rim(r->store, DRIVER);
    copy_rim(r->store, VBIOS);
    fixture_evidence(H545, DGA_ARCH_HOPPER, NULL, &r->set);
    assert_int_equal(dga_trust_nvidia_device(&r->device_root), DGA_E_OK);
    assert_int_equal(dga_trust_nvidia_rim(&r->rim_root), DGA_E_OK);
    r->opt.verify.trust = &r->device_root;
    assert_int_equal(dga_hex_decode_fixed(NONCE_N3, r->opt.verify.nonce, DGA_NONCE_LEN), DGA_E_OK);
    assert_int_equal(dga_time_parse(AT_2024, &r->opt.verify.at), DGA_E_OK);
    r->opt.rim_trust = &r->rim_root;
    r->opt.rim_dir = r->store;
    return r;
}

static void with_cache(struct run *r)
{
    assert_int_equal(dga_verify_cache_new(&r->rim_root, &r->opt.cache), DGA_E_OK);
}

static void run_free(struct run *r)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->store);
    assert_int_equal(system(cmd), 0);
    dga_appraisal_clear(&r->a);
    dga_verify_cache_free(r->opt.cache);
    dga_evidence_set_clear(&r->set);
    dga_trust_clear(&r->device_root);
    dga_trust_clear(&r->rim_root);
    free(r);
}

/* Appraises device 0 (freeing the previous appraisal) and returns its claims. */
static json_t *appraise(struct run *r, dga_err want)
{
    dga_appraisal_clear(&r->a);
    assert_int_equal(dga_appraise_device(&r->set.dev[0], &r->opt, &r->a), want);
    dga_label_devices(&r->a.report, 1);
    return dga_claims_device(&r->a);
}

static void test_one_gpu_thirteen(void **state)
{
    (void)state;
    struct run *r = run_new();
    dga_stats_reset();
    json_decref(appraise(r, DGA_E_OK));
    assert_int_equal(dga_stats_ecdsa_verifications(), ECDSA_ONE_GPU);
    json_t *uncached = appraise(r, DGA_E_OK);
    with_cache(r); /* the RIM chains share L3 and L2: the second is checked from L4 to L3 */
    dga_stats_reset();
    json_t *cached = appraise(r, DGA_E_OK);
    assert_int_equal(dga_stats_ecdsa_verifications(), ECDSA_ONE_GPU_CACHED);
    assert_true(json_equal(uncached, cached)); /* the same claims, expiry dates included */
    json_decref(uncached);
    json_decref(cached);
    run_free(r);
}

static unsigned long eight_gpus(bool cached)
{
    struct run *r = run_new();
    if (cached) {
        with_cache(r);
    }
    dga_stats_reset();
    json_t *first = appraise(r, DGA_E_OK);
    for (int i = 1; i < N_GPUS; i++) {
        json_t *claims = appraise(r, DGA_E_OK);
        assert_true(json_equal(first, claims));
        json_decref(claims);
    }
    unsigned long n = dga_stats_ecdsa_verifications();
    json_decref(first);
    run_free(r);
    return n;
}

static void test_eight_gpus_cached(void **state)
{
    (void)state;
    /* 11 for the first; then the report only: the RIMs and the whole chain come from the cache. */
    assert_int_equal(eight_gpus(true), ECDSA_ONE_GPU_CACHED + (N_GPUS - 1) * ECDSA_SAME_GPU);
    assert_int_equal(eight_gpus(true), 18);
}

static void test_eight_gpus_uncached(void **state)
{
    (void)state;
    assert_int_equal(eight_gpus(false), N_GPUS * ECDSA_ONE_GPU);
}

/* 580.159.03's certificates 2..4 are byte-identical to 545.00's (same GH100 ICA, CA, root). */
static void test_other_gpu_same_suffix(void **state)
{
    (void)state;
    struct run *r = run_new();
    with_cache(r);
    json_decref(appraise(r, DGA_E_OK));
    struct dga_evidence_set set;
    memset(&set, 0, sizeof set);
    fixture_evidence(H580, DGA_ARCH_HOPPER, NULL, &set);
    struct dga_appraise_options opt = r->opt;
    assert_int_equal(dga_hex_decode_fixed(NONCE_580, opt.verify.nonce, DGA_NONCE_LEN), DGA_E_OK);
    struct dga_appraisal *a = calloc(1, sizeof *a);
    assert_non_null(a);
    dga_stats_reset();
    (void)dga_appraise_device(&set.dev[0], &opt, a); /* its RIMs are not in this store */
    assert_true(a->report.chain_verified);
    assert_true(a->report.signature_verified);
    assert_int_equal(a->report.err, DGA_E_OK);
    assert_int_equal(dga_stats_ecdsa_verifications(), ECDSA_CACHED_GPU);
    dga_appraisal_clear(a);
    free(a);
    dga_evidence_set_clear(&set);
    run_free(r);
}

/* 545.00's chain with the last byte of the ICA's DER (its signature's s) changed, as PEM. */
static char *chain_with_bad_ica(void)
{
    size_t len;
    char *pem = (char *)fixture_read(H545 "certchain.pem", &len);
    STACK_OF(X509) *chain = NULL;
    assert_int_equal(dga_pem_chain_parse(pem, len, &chain, NULL), DGA_E_OK);
    free(pem);
    unsigned char *der = NULL;
    int der_len = i2d_X509(sk_X509_value(chain, 2), &der);
    assert_true(der_len > 0);
    der[der_len - 1] ^= 0x01;
    const unsigned char *p = der;
    X509 *bad = d2i_X509(NULL, &p, der_len);
    assert_non_null(bad);
    OPENSSL_free(der);
    X509_free(sk_X509_value(chain, 2));
    assert_ptr_equal(sk_X509_set(chain, 2, bad), bad);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    for (int i = 0; i < sk_X509_num(chain); i++) {
        assert_int_equal(PEM_write_bio_X509(bio, sk_X509_value(chain, i)), 1);
    }
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *out = calloc(1, (size_t)n + 1);
    assert_non_null(out);
    memcpy(out, data, (size_t)n);
    BIO_free(bio);
    sk_X509_pop_free(chain, X509_free);
    return out;
}

static void test_changed_ica_verified_in_full(void **state)
{
    (void)state;
    struct run *r = run_new();
    with_cache(r);
    json_decref(appraise(r, DGA_E_OK));
    char *pem = chain_with_bad_ica();
    dga_evidence_set_clear(&r->set);
    memset(&r->set, 0, sizeof r->set);
    fixture_evidence(H545, DGA_ARCH_HOPPER, pem, &r->set);
    free(pem);
    /* Leaf and BROM are unchanged, so a partial path under the cached ICA would pass. */
    json_decref(appraise(r, DGA_E_CHAIN_INVALID));
    assert_false(r->a.report.chain_verified);
    assert_int_equal(r->a.report.failed_check, DGA_CHECK_CHAIN);
    run_free(r);
}

static void test_changed_rim_verified_again(void **state)
{
    (void)state;
    struct run *r = run_new();
    with_cache(r);
    json_decref(appraise(r, DGA_E_OK));
    uint8_t first[32];
    memcpy(first, r->a.driver.sha256, sizeof first);
    /* The same document with one more trailing newline: other bytes, same signed content. */
    size_t len;
    uint8_t *data = fixture_read(H545 "rims/" DRIVER, &len);
    uint8_t *more = malloc(len + 1);
    assert_non_null(more);
    memcpy(more, data, len);
    more[len] = '\n';
    test_write_file(r->store, DRIVER, more, len + 1);
    free(more);
    free(data);
    dga_stats_reset();
    json_decref(appraise(r, DGA_E_OK));
    assert_memory_not_equal(first, r->a.driver.sha256, sizeof first);
    /*
     * The report (its chain cached whole), then the changed driver RIM: its signature only (its
     * chain is the same certificates, cached whole).
     */
    assert_int_equal(dga_stats_ecdsa_verifications(), ECDSA_SAME_GPU + 1);
    run_free(r);
}

/* A parsed fixture RIM of h100_545.00 whose certificate i is replaced by `x` (taken). */
static struct dga_rim *rim_with_cert(const char *name, int i, X509 *x)
{
    char rel[256];
    size_t len;
    struct dga_rim *rim = NULL;
    snprintf(rel, sizeof rel, H545 "rims/%s", name);
    uint8_t *xml = fixture_read(rel, &len);
    assert_int_equal(dga_rim_parse(xml, len, &rim, NULL), DGA_E_OK);
    free(xml);
    if (x != NULL) {
        X509_free(sk_X509_value(rim->certs, i));
        assert_ptr_equal(sk_X509_set(rim->certs, i, x), x);
    }
    return rim;
}

/* A copy of certificate i of a fixture RIM with the last signature bit flipped. */
static X509 *rim_cert_corrupted(const char *name, int i)
{
    struct dga_rim *rim = rim_with_cert(name, 0, NULL);
    unsigned char *der = NULL;
    int der_len = i2d_X509(sk_X509_value(rim->certs, i), &der);
    assert_true(der_len > 0);
    der[der_len - 1] ^= 0x01;
    const unsigned char *p = der;
    X509 *bad = d2i_X509(NULL, &p, der_len);
    assert_non_null(bad);
    OPENSSL_free(der);
    dga_rim_free(rim);
    return bad;
}

static dga_err rim_chain(struct dga_rim *rim, const struct dga_trust *root, time_t at,
                         struct dga_chain_cache *cache, struct dga_chain_info *info)
{
    struct dga_diag d;
    memset(info, 0, sizeof *info);
    dga_err e = dga_rim_chain_verify_cached(rim, root, at, cache, info, &d);
    dga_rim_free(rim);
    return e;
}

static void test_rim_suffix_shared(void **state)
{
    (void)state;
    struct dga_trust root;
    struct dga_chain_cache *cache = NULL;
    struct dga_chain_info plain, first, second;
    time_t at;
    assert_int_equal(dga_time_parse(AT_2024, &at), DGA_E_OK);
    assert_int_equal(dga_trust_nvidia_rim(&root), DGA_E_OK);
    assert_int_equal(dga_chain_cache_new(&cache), DGA_E_OK);
    assert_int_equal(rim_chain(rim_with_cert(VBIOS, 0, NULL), &root, at, NULL, &plain), DGA_E_OK);
    dga_stats_reset();
    assert_int_equal(rim_chain(rim_with_cert(DRIVER, 0, NULL), &root, at, cache, &first), DGA_E_OK);
    assert_int_equal(dga_stats_ecdsa_verifications(), 3);
    assert_int_equal(rim_chain(rim_with_cert(VBIOS, 0, NULL), &root, at, cache, &second), DGA_E_OK);
    assert_int_equal(dga_stats_ecdsa_verifications(), 4); /* the VBIOS L4 only */
    assert_memory_equal(&plain, &second, sizeof plain);   /* same outputs as in full */
    /* The same L3 with a broken signature is other bytes: verified in full, and fails. */
    assert_int_equal(
        rim_chain(rim_with_cert(VBIOS, 1, rim_cert_corrupted(VBIOS, 1)), &root, at, cache, &second),
        DGA_E_CHAIN_INVALID);
    /* A broken signer under the cached L3 fails too (its own signature is checked). */
    assert_int_equal(
        rim_chain(rim_with_cert(VBIOS, 0, rim_cert_corrupted(VBIOS, 0)), &root, at, cache, &second),
        DGA_E_CHAIN_INVALID);
    /*
     * The key includes the pinned root: without its presented root copy, the
     * VBIOS chain checked against the device root has the cached L3 and L2
     * above the signer but must not reuse them (a partial path would pass).
     */
    struct dga_trust device;
    assert_int_equal(dga_trust_nvidia_device(&device), DGA_E_OK);
    struct dga_rim *rootless = rim_with_cert(VBIOS, 0, NULL);
    X509_free(sk_X509_pop(rootless->certs));
    assert_int_equal(rim_chain(rootless, &device, at, cache, &second), DGA_E_CHAIN_INVALID);
    dga_trust_clear(&device);
    dga_chain_cache_free(cache);
    dga_trust_clear(&root);
}

/* What one appraisal decided, as text: error, failed check, the claims JSON. */
struct result {
    dga_err err;
    enum dga_appraisal_check check;
    char *claims;
};

static struct result appraise_result(struct run *r)
{
    dga_appraisal_clear(&r->a);
    struct result out = {.err = dga_appraise_device(&r->set.dev[0], &r->opt, &r->a)};
    out.check = r->a.failed_check;
    dga_label_devices(&r->a.report, 1);
    json_t *claims = dga_claims_device(&r->a);
    assert_non_null(claims);
    out.claims = json_dumps(claims, JSON_SORT_KEYS | JSON_COMPACT);
    assert_non_null(out.claims);
    json_decref(claims);
    return out;
}

/* The appraisal with the run's cache equals one without any cache, at the run's time. */
static struct result cached_equals_uncached(struct run *r, const char *at)
{
    assert_int_equal(dga_time_parse(at, &r->opt.verify.at), DGA_E_OK);
    struct dga_verify_cache *cache = r->opt.cache;
    r->opt.cache = NULL;
    struct result plain = appraise_result(r);
    r->opt.cache = cache;
    struct result cached = appraise_result(r);
    if (plain.err != cached.err || plain.check != cached.check ||
        strcmp(plain.claims, cached.claims) != 0) {
        fail_msg("at %s: uncached %s %s %s\ncached %s %s %s", at, dga_err_name(plain.err),
                 dga_appraisal_check_name(plain.check), plain.claims, dga_err_name(cached.err),
                 dga_appraisal_check_name(cached.check), cached.claims);
    }
    free(plain.claims);
    return cached;
}

/*
 * One cache at many times, in an order that puts every validity state of the
 * RIM signer chains and of the device chain both before and after a valid
 * time: each result is the uncached one at that time, and after the first
 * appraisal no RIM is verified again (1 ECDSA: the report; the chain is cached whole). The
 * windows: device chain 2022-03-01 (BROM) .. 9999-12-31T23:59:59Z; driver
 * RIM signer 2023-06-27T06:10:12Z .. 2025-06-26T06:10:12Z; VBIOS RIM signer
 * 2023-06-23T09:38:54Z .. 2025-06-22T09:38:54Z (notAfter itself expired).
 */
static void test_one_cache_every_time(void **state)
{
    (void)state;
    static const struct {
        const char *at;
        dga_err err;
        bool device_valid, driver_valid, vbios_valid;
    } times[] = {
        {AT_2024, DGA_E_OK, true, true, true},
        {"2025-06-24T00:00:00Z", DGA_E_OK, true, true, false}, /* VBIOS signer expired */
        {AT_2024, DGA_E_OK, true, true, true},
        {"2023-06-25T00:00:00Z", DGA_E_OK, true, false, true}, /* driver signer not yet valid */
        {AT_2024, DGA_E_OK, true, true, true},
        {"9999-12-31T23:59:59Z", DGA_E_CHAIN_EXPIRED, false, false, false}, /* all expired */
        {AT_2024, DGA_E_OK, true, true, true},
        {"2021-06-01T00:00:00Z", DGA_E_CHAIN_EXPIRED, false, false, false}, /* none valid yet */
        {"2025-06-22T09:38:54Z", DGA_E_OK, true, true, false}, /* the notAfter second */
        {"2025-06-22T09:38:53Z", DGA_E_OK, true, true, true},
        {"2023-06-27T06:10:11Z", DGA_E_OK, true, false, true},
        {"2023-06-27T06:10:12Z", DGA_E_OK, true, true, true}, /* the notBefore second */
        {"2025-06-24T00:00:00Z", DGA_E_OK, true, true, false},
    };
    struct run *r = run_new();
    with_cache(r);
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        dga_stats_reset();
        struct result res = cached_equals_uncached(r, times[i].at);
        unsigned long ecdsa = dga_stats_ecdsa_verifications();
        if (res.err != times[i].err || r->a.report.time_valid != times[i].device_valid ||
            r->a.driver.time_valid != times[i].driver_valid ||
            r->a.firmware.time_valid != times[i].vbios_valid) {
            fail_msg("at %s: %s, device %d driver %d vbios %d", times[i].at, dga_err_name(res.err),
                     r->a.report.time_valid, r->a.driver.time_valid, r->a.firmware.time_valid);
        }
        /* uncached 13, then cached: the first fills the cache (11), every later one 1 */
        assert_int_equal(ecdsa, ECDSA_ONE_GPU + (i == 0 ? ECDSA_ONE_GPU_CACHED : ECDSA_SAME_GPU));
        free(res.claims);
    }
    run_free(r);
}

/* The fixture document `name` with one base64 character after `marker` + skip changed. */
static uint8_t *rim_edited(const char *name, const char *marker, long skip, size_t *ret_len)
{
    char rel[256];
    snprintf(rel, sizeof rel, H545 "rims/%s", name);
    uint8_t *xml = fixture_read(rel, ret_len);
    const char *at = strstr((const char *)xml, marker);
    assert_non_null(at);
    char *c = (char *)xml + (at - (const char *)xml) + (long)strlen(marker) + skip;
    assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", *c));
    *c = *c == 'A' ? 'B' : 'A';
    return xml;
}

/*
 * The signer certificate (the first X509Certificate) with a base64 character
 * of its signature changed: a chain that fails. The character is the 12th
 * from the end of the base64 text, inside the signature's s.
 */
static uint8_t *rim_bad_chain(const char *name, size_t *ret_len)
{
    char rel[256];
    snprintf(rel, sizeof rel, H545 "rims/%s", name);
    uint8_t *xml = fixture_read(rel, ret_len);
    char *end = strstr((char *)xml, "</ds:X509Certificate>");
    assert_non_null(end);
    int left = 12;
    char *c = end;
    while (left > 0) {
        c--;
        if (*c != '\n' && *c != '=') {
            left--;
        }
    }
    *c = *c == 'A' ? 'B' : 'A';
    return xml;
}

/*
 * RIM documents that fail (a broken XML signature, a broken signer chain)
 * fail on their first use and on every later one, the good document keeps
 * passing between and after them, and each result is the uncached one.
 */
static void test_broken_rims_stay_broken(void **state)
{
    (void)state;
    size_t good_len, sig_len, chain_len;
    char rel[256];
    snprintf(rel, sizeof rel, H545 "rims/%s", DRIVER);
    uint8_t *good = fixture_read(rel, &good_len);
    uint8_t *bad_sig = rim_edited(DRIVER, "<ds:SignatureValue>", 10, &sig_len);
    uint8_t *bad_chain = rim_bad_chain(DRIVER, &chain_len);
    static const struct {
        int doc; /* 0 good, 1 broken signature, 2 broken chain */
        dga_err err;
    } steps[] = {
        {1, DGA_E_RIM_SIGNATURE_INVALID},
        {1, DGA_E_RIM_SIGNATURE_INVALID},
        {0, DGA_E_OK},
        {1, DGA_E_RIM_SIGNATURE_INVALID},
        {2, DGA_E_CHAIN_INVALID},
        {2, DGA_E_CHAIN_INVALID},
        {0, DGA_E_OK},
        {2, DGA_E_CHAIN_INVALID},
        {1, DGA_E_RIM_SIGNATURE_INVALID},
        {0, DGA_E_OK},
    };
    const uint8_t *docs[] = {good, bad_sig, bad_chain};
    const size_t lens[] = {good_len, sig_len, chain_len};
    struct run *r = run_new();
    with_cache(r);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        test_write_file(r->store, DRIVER, docs[steps[i].doc], lens[steps[i].doc]);
        struct result res = cached_equals_uncached(r, AT_2024);
        if (res.err != steps[i].err) {
            fail_msg("step %zu: %s, want %s", i, dga_err_name(res.err), dga_err_name(steps[i].err));
        }
        assert_int_equal(res.check, steps[i].err == DGA_E_OK ? DGA_APPRAISAL_CHECK_NONE
                                                             : DGA_APPRAISAL_CHECK_DRIVER_RIM);
        assert_int_equal(r->a.driver.err, steps[i].err);
        free(res.claims);
    }
    run_free(r);
    free(good);
    free(bad_sig);
    free(bad_chain);
}

static void test_other_root_refused(void **state)
{
    (void)state;
    struct run *r = run_new();
    with_cache(r);
    json_decref(appraise(r, DGA_E_OK));
    struct dga_trust device_as_rim_root = r->device_root;
    r->opt.rim_trust = &device_as_rim_root;
    json_decref(appraise(r, DGA_E_BAD_ARGUMENT));
    assert_int_equal(r->a.failed_check, DGA_APPRAISAL_CHECK_OPTIONS);
    r->opt.rim_trust = &r->rim_root;
    json_decref(appraise(r, DGA_E_OK));
    assert_int_equal(dga_verify_cache_new(NULL, &(struct dga_verify_cache *){NULL}),
                     DGA_E_BAD_ARGUMENT);
    run_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_gpu_thirteen),
        cmocka_unit_test(test_eight_gpus_cached),
        cmocka_unit_test(test_eight_gpus_uncached),
        cmocka_unit_test(test_other_gpu_same_suffix),
        cmocka_unit_test(test_changed_ica_verified_in_full),
        cmocka_unit_test(test_changed_rim_verified_again),
        cmocka_unit_test(test_rim_suffix_shared),
        cmocka_unit_test(test_one_cache_every_time),
        cmocka_unit_test(test_broken_rims_stay_broken),
        cmocka_unit_test(test_other_root_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
