/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ownership read from a name: a *_clear frees what a caller-owned struct
 * holds, accepts NULL and leaves the struct zeroed, so that clearing twice
 * is harmless (the sanitizer build sees any double free or leak); a *_freep
 * or *_clearp is what _cleanup_ takes.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "dga/appraise.h"
#include "dga/appraise_set.h"
#include "dga/cleanup.h"
#include "dga/collateral.h"
#include "dga/collect.h"
#include "dga/evidence.h"
#include "dga/gate.h"
#include "dga/measure.h"
#include "dga/ocsp.h"
#include "dga/policy.h"
#include "dga/proxy.h"
#include "dga/rim.h"
#include "dga/x509.h"

static void assert_zeroed(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            fail_msg("byte %zu of %zu is %u, not 0", i, n, b[i]);
        }
    }
}

static void *bytes(size_t n)
{
    void *p = malloc(n);
    assert_non_null(p);
    memset(p, 0xa5, n);
    return p;
}

static void test_clear_null(void **state)
{
    (void)state;
    dga_appraisal_clear(NULL);
    dga_set_appraisal_clear(NULL);
    dga_http_response_clear(NULL);
    dga_ocsp_bundle_clear(NULL);
    dga_collection_clear(NULL);
    dga_evidence_set_clear(NULL);
    dga_ocsp_chain_result_clear(NULL);
    dga_proxy_request_clear(NULL);
    dga_rim_candidates_clear(NULL);
    dga_trust_clear(NULL);
    dga_chain_path_clear(NULL);
}

static void test_trust_clear_zeroes(void **state)
{
    (void)state;
    struct dga_trust t = {0};
    assert_int_equal(dga_trust_nvidia_device(&t), DGA_E_OK);
    assert_non_null(t.root);
    dga_trust_clear(&t);
    assert_zeroed(&t, sizeof t);
    dga_trust_clear(&t);
    assert_zeroed(&t, sizeof t);
}

static void test_evidence_set_clear_zeroes(void **state)
{
    (void)state;
    struct dga_evidence_set *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->n = 2;
    for (size_t i = 0; i < s->n; i++) {
        s->dev[i].arch = DGA_ARCH_HOPPER;
        s->dev[i].report = bytes(8);
        s->dev[i].report_len = 8;
        s->dev[i].chain_pem = bytes(4);
        s->dev[i].chain_pem_len = 4;
    }
    dga_evidence_set_clear(s);
    assert_zeroed(s, sizeof *s);
    dga_evidence_set_clear(s);
    free(s);
}

static void test_collection_clear_zeroes(void **state)
{
    (void)state;
    struct dga_collection *c = calloc(1, sizeof *c);
    assert_non_null(c);
    memset(c->nonce, 7, sizeof c->nonce);
    c->n = 1;
    c->gpu[0].report = bytes(8);
    c->gpu[0].report_len = 8;
    c->gpu[0].chain_pem = bytes(4);
    dga_collection_clear(c);
    assert_zeroed(c, sizeof *c);
    dga_collection_clear(c);
    free(c);
}

static void test_ocsp_bundle_clear_zeroes(void **state)
{
    (void)state;
    struct dga_ocsp_bundle b = {.n = 1};
    b.items = calloc(1, sizeof *b.items);
    assert_non_null(b.items);
    b.items[0].der = bytes(16);
    b.items[0].len = 16;
    dga_ocsp_bundle_clear(&b);
    assert_zeroed(&b, sizeof b);
    dga_ocsp_bundle_clear(&b);
}

static void test_http_response_clear_zeroes(void **state)
{
    (void)state;
    struct dga_http_response r = {.status = 200, .body = bytes(3), .len = 2};
    dga_http_response_clear(&r);
    assert_zeroed(&r, sizeof r);
    dga_http_response_clear(&r);
}

static void test_proxy_request_clear_zeroes(void **state)
{
    (void)state;
    struct dga_proxy_request r = {
        .route = DGA_PROXY_ROUTE_OCSP_POST, .ocsp = bytes(5), .ocsp_len = 5};
    memset(r.key, 1, sizeof r.key);
    dga_proxy_request_clear(&r);
    assert_zeroed(&r, sizeof r);
    dga_proxy_request_clear(&r);
}

static void test_rim_candidates_clear_zeroes(void **state)
{
    (void)state;
    struct dga_rim_candidates c = {.n = 1};
    c.c[0].path = strdup("/x.xml");
    assert_non_null(c.c[0].path);
    c.c[0].bytes = bytes(2);
    c.c[0].len = 1;
    dga_rim_candidates_clear(&c);
    assert_zeroed(&c, sizeof c);
    dga_rim_candidates_clear(&c);
}

/* Its empty state is "not checked", where failed is -1 (no failure), not 0. */
static void test_ocsp_chain_result_clear_not_checked(void **state)
{
    (void)state;
    struct dga_ocsp_chain_result c = {.checked = true, .n = 1, .failed = 0};
    c.certs[0].der = bytes(9);
    c.certs[0].der_len = 9;
    c.status = DGA_OCSP_CHAIN_REVOKED;
    dga_ocsp_chain_result_clear(&c);
    assert_int_equal(c.failed, -1);
    assert_int_equal(c.status, DGA_OCSP_CHAIN_NOT_CHECKED);
    c.failed = 0;
    assert_zeroed(&c, sizeof c);
    c.failed = -1;
    dga_ocsp_chain_result_clear(&c);
    assert_int_equal(c.failed, -1);
}

static void test_appraisal_clear_zeroes(void **state)
{
    (void)state;
    struct dga_appraisal *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->err = DGA_E_RIM_NOT_FOUND;
    a->ocsp.n = 1;
    a->ocsp.certs[0].der = bytes(3);
    a->driver.ocsp.n = 1;
    a->driver.ocsp.certs[0].der = bytes(3);
    a->firmware.ocsp.n = 1;
    a->firmware.ocsp.certs[0].der = bytes(3);
    dga_appraisal_clear(a);
    assert_zeroed(a, sizeof *a);
    dga_appraisal_clear(a);
    free(a);
}

static void test_set_appraisal_clear_zeroes(void **state)
{
    (void)state;
    struct dga_set_appraisal *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->n = 2;
    s->dev = calloc(s->n, sizeof *s->dev);
    assert_non_null(s->dev);
    s->dev[1].ocsp.n = 1;
    s->dev[1].ocsp.certs[0].der = bytes(3);
    s->claims = json_array();
    s->detached_eat = json_object();
    s->n_duplicates = 1;
    s->dup[1].of = 0;
    s->verdict.n_reasons = 1;
    s->result_code = 503;
    s->result_message = "x";
    dga_set_appraisal_clear(s);
    assert_zeroed(s, sizeof *s);
    dga_set_appraisal_clear(s);
    free(s);
}

static void test_chain_path_clear_keeps_inputs(void **state)
{
    (void)state;
    struct dga_trust t = {0};
    assert_int_equal(dga_trust_nvidia_device(&t), DGA_E_OK);
    struct dga_chain_path p = {.root = t.root, .n = 1, .kind = 'd', .depth = 2};
    p.built = sk_X509_new_null();
    assert_non_null(p.built);
    p.key = bytes(4);
    p.key_len = 4;
    p.top = t.root;
    dga_chain_path_clear(&p);
    assert_null(p.built);
    assert_null(p.top);
    assert_null(p.key);
    assert_int_equal(p.key_len, 0);
    assert_ptr_equal(p.root, t.root);
    assert_int_equal(p.n, 1);
    dga_chain_path_clear(&p);
    dga_trust_clear(&t);
}

/* The clearp helpers run at scope exit: the sanitizer build sees a leak if they do not. */
static void test_clearp_in_scope(void **state)
{
    (void)state;
    {
        _cleanup_(dga_trust_clearp) struct dga_trust t = {0};
        assert_int_equal(dga_trust_nvidia_rim(&t), DGA_E_OK);
        _cleanup_(dga_http_response_clearp) struct dga_http_response r = {.body = bytes(1)};
        _cleanup_(dga_proxy_request_clearp) struct dga_proxy_request q = {.ocsp = bytes(1)};
        (void)r; /* used only by its cleanup, which clang does not count as a use */
        (void)q;
        _cleanup_(dga_ocsp_chain_result_clearp) struct dga_ocsp_chain_result o = {.n = 1};
        o.certs[0].der = bytes(1);
        _cleanup_(dga_rim_candidates_clearp) struct dga_rim_candidates c = {.n = 1};
        c.c[0].bytes = bytes(1);
        _cleanup_(dga_ocsp_bundle_clearp) struct dga_ocsp_bundle b = {.n = 1};
        b.items = calloc(1, sizeof *b.items);
        assert_non_null(b.items);
        b.items[0].der = bytes(1);
        _cleanup_(dga_evidence_set_freep) struct dga_evidence_set *s = calloc(1, sizeof *s);
        assert_non_null(s);
        s->n = 1;
        s->dev[0].report = bytes(1);
        _cleanup_(dga_collection_freep) struct dga_collection *col = calloc(1, sizeof *col);
        assert_non_null(col);
        col->n = 1;
        col->gpu[0].chain_pem = bytes(1);
    }
}

/* Each freep frees the object, resets the variable, and accepts NULL. */
static void test_freep(void **state)
{
    (void)state;
    struct dga_cert_pool *pool = NULL;
    assert_int_equal(dga_cert_pool_new(&pool), DGA_E_OK);
    dga_cert_pool_freep(&pool);
    assert_null(pool);
    dga_cert_pool_freep(&pool);

    struct dga_chain_cache *cc = NULL;
    assert_int_equal(dga_chain_cache_new(&cc), DGA_E_OK);
    dga_chain_cache_freep(&cc);
    assert_null(cc);

    struct dga_ocsp_memo *memo = NULL;
    assert_int_equal(dga_ocsp_memo_new(&memo), DGA_E_OK);
    dga_ocsp_memo_freep(&memo);
    assert_null(memo);

    struct dga_policy *policy = NULL;
    assert_int_equal(dga_policy_default(&policy), DGA_E_OK);
    dga_policy_freep(&policy);
    assert_null(policy);

    _cleanup_(dga_trust_clearp) struct dga_trust rim_root = {0};
    assert_int_equal(dga_trust_nvidia_rim(&rim_root), DGA_E_OK);
    struct dga_verify_cache *vc = NULL;
    assert_int_equal(dga_verify_cache_new(&rim_root, &vc), DGA_E_OK);
    dga_verify_cache_freep(&vc);
    assert_null(vc);

    struct dga_evidence_set *s = NULL;
    dga_evidence_set_freep(&s);
    struct dga_collection *col = NULL;
    dga_collection_freep(&col);
    struct dga_rim *rim = NULL;
    dga_rim_freep(&rim);
    struct dga_eventlog *log = NULL;
    dga_eventlog_freep(&log);
    struct dga_event_backend *be = NULL;
    dga_event_backend_freep(&be);
    struct dga_gate_config *cfg = NULL;
    dga_gate_config_freep(&cfg);
    struct dga_ocsp_request *req = NULL;
    dga_ocsp_request_freep(&req);
    struct dga_nvml *nvml = NULL;
    dga_nvml_closep(&nvml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clear_null),
        cmocka_unit_test(test_trust_clear_zeroes),
        cmocka_unit_test(test_evidence_set_clear_zeroes),
        cmocka_unit_test(test_collection_clear_zeroes),
        cmocka_unit_test(test_ocsp_bundle_clear_zeroes),
        cmocka_unit_test(test_http_response_clear_zeroes),
        cmocka_unit_test(test_proxy_request_clear_zeroes),
        cmocka_unit_test(test_rim_candidates_clear_zeroes),
        cmocka_unit_test(test_ocsp_chain_result_clear_not_checked),
        cmocka_unit_test(test_appraisal_clear_zeroes),
        cmocka_unit_test(test_set_appraisal_clear_zeroes),
        cmocka_unit_test(test_chain_path_clear_keeps_inputs),
        cmocka_unit_test(test_clearp_in_scope),
        cmocka_unit_test(test_freep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
