/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier server without HTTP (lib/verifier): its strict config, and the
 * collateral cache, which must never change a verdict: each answer, cold or
 * warm, from several threads at once, is byte for byte the document
 * dga_cvm_run gives for the same input and source, and a document whose
 * bytes change is parsed anew. dstack's fixture (tests/fixtures/dstack/
 * quote-report.json) with its FMSPC's collateral, as tests/cli/test_verify_cli.sh.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dga/cvm.h"
#include "dga/util.h"
#include "dga/verifier.h"
#include "testutil.h"
#include "verifier/testing.h"

#define ATTESTATION "dstack/quote-report.json"
#define COLLATERAL "tdx/tdx_quote_outdated_collateral.json"
#define AT 1772323200      /* 2026-03-01T00:00:00Z: the collateral is current */
#define AT_LATE 1774051200 /* 2026-03-21T00:00:00Z: its TCB info has expired */

struct env {
    char dir[64];
    char expect[128];
    char cdir[128];
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    snprintf(e->dir, sizeof e->dir, "/tmp/dga-verifier-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    test_write_file(e->dir, "none.json", "{}", 2);
    snprintf(e->expect, sizeof e->expect, "%s/none.json", e->dir);
    snprintf(e->cdir, sizeof e->cdir, "%s/cdir", e->dir);
    char tdx[160];
    snprintf(tdx, sizeof tdx, "%s/tdx", e->cdir);
    assert_int_equal(mkdir(e->cdir, 0700), 0);
    assert_int_equal(mkdir(tdx, 0700), 0);
    fixture_copy(COLLATERAL, tdx, "90C06F000000-platform.json");
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    assert_int_equal(system(cmd), 0);
    free(e);
    return 0;
}

static struct dga_verifier *new_dir_verifier(const struct env *e)
{
    struct dga_verifier_config c;
    dga_verifier_config_defaults(&c);
    assert_int_equal(dga_verifier_config_set(&c, "expect", e->expect), DGA_E_OK);
    assert_int_equal(dga_verifier_config_set(&c, "collateral-dir", e->cdir), DGA_E_OK);
    struct dga_verifier *v = NULL;
    struct dga_diag d = {0};
    assert_int_equal(dga_verifier_new(&c, &v, &d), DGA_E_OK);
    return v;
}

/* What dga_cvm_run with the same source gives, as the server serializes it. */
static char *reference(const struct env *e, const char *request, size_t len, time_t at)
{
    struct dga_cvm_input in = {0};
    struct dga_diag d = {0};
    assert_int_equal(dga_cvm_input_parse(request, len, &in, &d), DGA_E_OK);
    uint8_t *xt = NULL;
    size_t xl = 0;
    assert_int_equal(dga_file_read(e->expect, 1024, &xt, &xl), DGA_E_OK);
    struct dga_cvm_expect x = {0};
    assert_int_equal(dga_cvm_expect_parse((const char *)xt, xl, &x, &d), DGA_E_OK);
    const struct dga_cvm_options opt = {.at = at};
    const struct dga_cvm_run_params p = {
        .in = &in,
        .bundle = in.gpu_bundle,
        .bundle_len = in.gpu_bundle_len,
        .x = &x,
        .collateral = {.kind = DGA_CVM_COLLATERAL_DIR, .dir = e->cdir},
        .opt = &opt,
    };
    struct dga_cvm_run r = {0};
    assert_int_equal(dga_cvm_run(&p, &r, &d), DGA_E_OK);
    json_t *j = dga_cvm_run_json(&r);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    json_decref(j);
    dga_cvm_run_clear(&r);
    dga_cvm_expect_clear(&x);
    dga_cvm_input_clear(&in);
    free(xt);
    return text;
}

static char *verify(struct dga_verifier *v, const char *request, size_t len, time_t at,
                    unsigned want_status)
{
    unsigned status = 0;
    char *body = NULL;
    size_t blen = 0;
    assert_int_equal(
        dga_verifier_verify(v, (const uint8_t *)request, len, at, &status, &body, &blen), DGA_E_OK);
    assert_int_equal(status, want_status);
    assert_int_equal(strlen(body), blen);
    return body;
}

static void assert_counts(struct dga_verifier *v, size_t hits, size_t misses, size_t entries)
{
    size_t h = 0, m = 0, n = 0;
    verifier_cache_counts(v, &h, &m, &n);
    assert_int_equal(h, hits);
    assert_int_equal(m, misses);
    assert_int_equal(n, entries);
}

/* Cold, then warm: the same bytes as dga_cvm_run's, valid at AT and invalid once expired. */
static void test_cache_cold_warm(void **state)
{
    const struct env *e = *state;
    size_t len = 0;
    char *req = (char *)fixture_read(ATTESTATION, &len);
    struct dga_verifier *v = new_dir_verifier(e);
    assert_counts(v, 0, 0, 0);
    char *want = reference(e, req, len, AT);
    char *cold = verify(v, req, len, AT, 200);
    assert_counts(v, 0, 1, 1);
    char *warm = verify(v, req, len, AT, 200);
    assert_counts(v, 1, 1, 1);
    assert_string_equal(cold, want);
    assert_string_equal(warm, want);
    assert_non_null(strstr(warm, "\"is_valid\":true"));
    /* Warm, past the TCB info's window: the window is checked at the request's time. */
    char *late_want = reference(e, req, len, AT_LATE);
    char *late = verify(v, req, len, AT_LATE, 200);
    assert_counts(v, 2, 1, 1);
    assert_string_equal(late, late_want);
    assert_non_null(strstr(late, "tcb-info-expired"));
    free(late_want);
    free(late);
    free(want);
    free(cold);
    free(warm);
    dga_verifier_free(v);
    free(req);
}

/* A document whose bytes change on disk is parsed anew; the old entry is kept until evicted. */
static void test_cache_keyed_by_bytes(void **state)
{
    const struct env *e = *state;
    size_t len = 0;
    char *req = (char *)fixture_read(ATTESTATION, &len);
    struct dga_verifier *v = new_dir_verifier(e);
    free(verify(v, req, len, AT, 200));
    assert_counts(v, 0, 1, 1);
    char path[256];
    snprintf(path, sizeof path, "%s/tdx/90C06F000000-platform.json", e->cdir);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("\n", f); /* the same document, other bytes */
    fclose(f);
    char *want = reference(e, req, len, AT);
    char *got = verify(v, req, len, AT, 200);
    assert_counts(v, 0, 2, 2);
    assert_string_equal(got, want);
    free(want);
    free(got);
    dga_verifier_free(v);
    free(req);
}

/* A quote that does not parse reads no collateral: dga_cvm_run's own verdict. */
static void test_unparsed_quote(void **state)
{
    const struct env *e = *state;
    size_t len = 0;
    char *fixture = (char *)fixture_read(ATTESTATION, &len);
    json_t *j = json_loads(fixture, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_object_set_new(j, "quote", json_string("0400")), 0);
    char *req = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    struct dga_verifier *v = new_dir_verifier(e);
    char *want = reference(e, req, strlen(req), AT);
    char *got = verify(v, req, strlen(req), AT, 200);
    assert_counts(v, 0, 0, 0);
    assert_string_equal(got, want);
    assert_non_null(strstr(got, "\"is_valid\":false"));
    free(want);
    free(got);
    free(req);
    free(fixture);
    dga_verifier_free(v);
}

/* A request that does not parse: 400 naming the member. */
static void test_bad_request(void **state)
{
    const struct env *e = *state;
    struct dga_verifier *v = new_dir_verifier(e);
    const char *req = "{\"quote\":\"zz\",\"event_log\":\"[]\"}";
    char *got = verify(v, req, strlen(req), AT, 400);
    assert_string_equal(got, "{\"is_valid\":false,\"reason\":\"Input verification failed: "
                             "attestation: cvm-input: the attestation input is not a GetQuote "
                             "response or verifier request (field quote)\",\"error\":\"cvm-input\","
                             "\"field\":\"quote\"}");
    free(got);
    dga_verifier_free(v);
}

/*
 * The collateral directory without the quote's entry: no verdict, 503 naming the source's
 * error, not 200 (a check not carried out is not a failed check); nothing cached.
 */
static void test_not_carried_out(void **state)
{
    const struct env *e = *state;
    char empty[160];
    snprintf(empty, sizeof empty, "%s/empty", e->dir);
    assert_int_equal(mkdir(empty, 0700), 0);
    struct dga_verifier_config c;
    dga_verifier_config_defaults(&c);
    assert_int_equal(dga_verifier_config_set(&c, "expect", e->expect), DGA_E_OK);
    assert_int_equal(dga_verifier_config_set(&c, "collateral-dir", empty), DGA_E_OK);
    struct dga_verifier *v = NULL;
    struct dga_diag d = {0};
    assert_int_equal(dga_verifier_new(&c, &v, &d), DGA_E_OK);
    size_t len = 0;
    char *req = (char *)fixture_read(ATTESTATION, &len);
    char *got = verify(v, req, len, AT, 503);
    assert_string_equal(got, "{\"is_valid\":false,\"reason\":\"Verification could not be carried "
                             "out: collateral: quote-collateral-missing: no TDX collateral is "
                             "stored for the quote's platform (FMSPC and PCK CA) (field "
                             "collateral_dir)\",\"error\":\"quote-collateral-missing\","
                             "\"field\":\"collateral_dir\"}");
    assert_counts(v, 0, 0, 0);
    free(got);
    free(req);
    dga_verifier_free(v);
}

struct worker {
    struct dga_verifier *v;
    const char *req;
    size_t len;
    char *out[8];
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 8; i++) {
        unsigned status = 0;
        size_t blen = 0;
        if (dga_verifier_verify(w->v, (const uint8_t *)w->req, w->len, AT, &status, &w->out[i],
                                &blen) != DGA_E_OK ||
            status != 200) {
            w->out[i] = NULL;
        }
    }
    return NULL;
}

/* Threads sharing the cache (the server's thread per connection) all get the reference. */
static void test_cache_threads(void **state)
{
    const struct env *e = *state;
    size_t len = 0;
    char *req = (char *)fixture_read(ATTESTATION, &len);
    struct dga_verifier *v = new_dir_verifier(e);
    char *want = reference(e, req, len, AT);
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.v = v, .req = req, .len = len};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        for (int k = 0; k < 8; k++) {
            assert_non_null(w[i].out[k]);
            assert_string_equal(w[i].out[k], want);
            free(w[i].out[k]);
        }
    }
    size_t h = 0, m = 0, n = 0;
    verifier_cache_counts(v, &h, &m, &n);
    assert_int_equal(h + m, 32);
    assert_int_equal(n, 1);
    free(want);
    dga_verifier_free(v);
    free(req);
}

static void test_config(void **state)
{
    const struct env *e = *state;
    struct dga_verifier_config c;
    dga_verifier_config_defaults(&c);
    assert_string_equal(c.listen, "127.0.0.1:8080");
    assert_int_equal(c.limits.max_request, DGA_CVM_INPUT_MAX);
    assert_int_equal(dga_verifier_config_set(&c, "nope", "1"), DGA_E_VERIFIER_CONFIG);
    assert_int_equal(dga_verifier_config_set(&c, "client-request-timeout", "5x"),
                     DGA_E_VERIFIER_CONFIG);
    assert_int_equal(dga_verifier_config_set(&c, "client-request-timeout", "2m"), DGA_E_OK);
    assert_int_equal(c.limits.client_request_timeout, 120);
    assert_int_equal(dga_verifier_config_set(&c, "at", "2026-03-01T00:00:00Z"), DGA_E_OK);
    assert_true(c.has_at);
    assert_int_equal(c.at, AT);
    assert_int_equal(dga_verifier_config_set(&c, "at", "yesterday"), DGA_E_VERIFIER_CONFIG);
    struct dga_diag d = {0};
    assert_int_equal(dga_verifier_config_check(&c, &d), DGA_E_VERIFIER_CONFIG);
    assert_string_equal(d.field, "expect (required)");
    const char text[] = "# comment\n\nexpect = /x.json\ncollateral=/c.json\nbogus = 1\n";
    assert_int_equal(dga_verifier_config_load_text(&c, text, sizeof text - 1, &d),
                     DGA_E_VERIFIER_CONFIG);
    assert_int_equal(d.offset, 5);
    assert_string_equal(c.expect, "/x.json");
    assert_int_equal(dga_verifier_config_check(&c, &d), DGA_E_OK);
    assert_int_equal(dga_verifier_config_set(&c, "pccs-url", "https://pccs"), DGA_E_OK);
    assert_int_equal(dga_verifier_config_check(&c, &d), DGA_E_VERIFIER_CONFIG);
    assert_string_equal(d.field, "exactly one of collateral, collateral-dir, pccs-url");
    dga_verifier_config_defaults(&c);
    assert_int_equal(dga_verifier_config_set(&c, "expect", e->expect), DGA_E_OK);
    assert_int_equal(dga_verifier_config_set(&c, "collateral", "/nonexistent.json"), DGA_E_OK);
    assert_int_equal(dga_verifier_config_set(&c, "max-request", "9M"), DGA_E_OK);
    assert_int_equal(dga_verifier_config_check(&c, &d), DGA_E_VERIFIER_CONFIG);
    assert_string_equal(d.field, "max-request");
    assert_int_equal(dga_verifier_config_set(&c, "max-request", "8M"), DGA_E_OK);
    /* a limit of 0 is named by its key (the service layer's one check) */
    assert_int_equal(dga_verifier_config_set(&c, "max-connections-per-client", "0"), DGA_E_OK);
    assert_int_equal(dga_verifier_config_check(&c, &d), DGA_E_VERIFIER_CONFIG);
    assert_string_equal(d.field, "max-connections-per-client");
    assert_int_equal(dga_verifier_config_set(&c, "max-connections-per-client", "64"), DGA_E_OK);
    assert_int_equal(dga_verifier_config_set(&c, "collateral-cache", "0"), DGA_E_OK);
    assert_int_equal(dga_verifier_config_check(&c, &d), DGA_E_VERIFIER_CONFIG);
    assert_string_equal(d.field, "collateral-cache");
    assert_int_equal(dga_verifier_config_set(&c, "collateral-cache", "64"), DGA_E_OK);
    struct dga_verifier *v = NULL;
    assert_int_not_equal(dga_verifier_new(&c, &v, &d), DGA_E_OK);
    assert_null(v);
    assert_string_equal(d.field, "collateral");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cache_cold_warm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_keyed_by_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unparsed_quote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_carried_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
