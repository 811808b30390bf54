/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcurl, libmicrohttpd and tpm2-tss are loaded on first use (core/dynlib.h).
 * Run once per failure kind with the test-only overrides pointing every
 * library at the same file (tests/CMakeLists.txt): /nonexistent (cannot be
 * loaded) or the fake NVML (loads, lacks every function). Each user of a
 * library must then answer DGA_E_RUNTIME_LIBRARY naming the file, the same on
 * every later call and from every thread, and never crash.
 *   DGA_TEST_LIBCURL, DGA_TEST_LIBMICROHTTPD, DGA_TEST_LIBTSS2_ESYS: the file
 *   DGA_EXPECT_FAILURE: what the failure text must also say
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dga/collateral.h"
#include "dga/measure.h"
#include "dga/proxy.h"
#include "testutil.h"

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fail_msg("%s is not set: run this test through ctest", name);
    }
    return v;
}

/* A failure text names the overriding file and says what failed. */
static void assert_names_library(const char *text, const char *env)
{
    assert_non_null(text);
    if (strstr(text, env_or_fail(env)) == NULL ||
        strstr(text, env_or_fail("DGA_EXPECT_FAILURE")) == NULL) {
        fail_msg("'%s' does not name %s or say '%s'", text, getenv(env),
                 getenv("DGA_EXPECT_FAILURE"));
    }
}

static struct dga_http_options quick_options(void)
{
    struct dga_http_options o;
    dga_http_options_init(&o);
    o.max_attempts = 1;
    return o;
}

static void test_http_get_names_libcurl(void **state)
{
    (void)state;
    struct dga_http_options o = quick_options();
    for (int round = 0; round < 2; round++) { /* loaded once: the same answer again */
        struct dga_http_info info;
        uint8_t *body = NULL;
        size_t len = 0;
        assert_int_equal(dga_http_get("http://127.0.0.1:1/", "*/*", &o, &body, &len, &info),
                         DGA_E_RUNTIME_LIBRARY);
        assert_null(body);
        assert_int_equal(info.attempts, 0); /* nothing was sent */
        assert_names_library(info.error, "DGA_TEST_LIBCURL");
    }
}

static void test_http_post_without_info(void **state)
{
    (void)state;
    struct dga_http_options o = quick_options();
    uint8_t *body = NULL;
    size_t len = 0;
    assert_int_equal(dga_http_post("http://127.0.0.1:1/", "application/ocsp-request", "*/*",
                                   (const uint8_t *)"x", 1, &o, &body, &len, NULL),
                     DGA_E_RUNTIME_LIBRARY);
    assert_null(body);
}

static void test_rim_fetch_names_libcurl(void **state)
{
    (void)state;
    struct dga_http_options o = quick_options();
    struct dga_diag diag = {0};
    uint8_t *xml = NULL;
    size_t len = 0;
    assert_int_equal(dga_collateral_rim_fetch("http://127.0.0.1:1", "NV_GPU_DRIVER_GH100_545.00",
                                              &o, &xml, &len, &diag),
                     DGA_E_RUNTIME_LIBRARY);
    assert_null(xml);
    assert_int_equal(diag.err, DGA_E_RUNTIME_LIBRARY);
    assert_names_library(diag.field, "DGA_TEST_LIBCURL");
}

static void *get_in_thread(void *arg)
{
    (void)arg;
    struct dga_http_options o = quick_options();
    struct dga_http_info info;
    uint8_t *body = NULL;
    size_t len = 0;
    dga_err e = dga_http_get("http://127.0.0.1:1/", "*/*", &o, &body, &len, &info);
    free(body);
    return (void *)(intptr_t)e;
}

/* First use from many threads at once: one load, every thread the same named error. */
static void test_first_use_from_threads(void **state)
{
    (void)state;
    pthread_t t[8];
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, get_in_thread, NULL), 0);
    }
    for (size_t i = 0; i < 8; i++) {
        void *r = NULL;
        assert_int_equal(pthread_join(t[i], &r), 0);
        assert_int_equal((dga_err)(intptr_t)r, DGA_E_RUNTIME_LIBRARY);
    }
}

static void test_proxy_start_names_libmicrohttpd(void **state)
{
    (void)state;
    char dir[] = "/tmp/dga-runtime-libs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct dga_proxy_config c;
    dga_proxy_config_defaults(&c);
    assert_int_equal(dga_proxy_config_set(&c, "listen", "127.0.0.1:0"), DGA_E_OK);
    assert_int_equal(dga_proxy_config_set(&c, "cache-dir", dir), DGA_E_OK);
    struct dga_proxy *p = NULL;
    struct dga_diag diag = {0};
    assert_int_equal(dga_proxy_start(&c, &p, &diag), DGA_E_RUNTIME_LIBRARY);
    assert_null(p);
    assert_names_library(diag.field, "DGA_TEST_LIBMICROHTTPD");
    rmdir(dir);
}

static void test_tpm_backend_names_tss(void **state)
{
    (void)state;
    char dir[] = "/tmp/dga-runtime-libs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct dga_event_paths paths = {.log_dir = dir, .tpm_tcti = "swtpm:port=1"};
    struct dga_event_backend *b = NULL;
    struct dga_diag diag = {0};
    assert_int_equal(dga_event_backend_open("tpm:14:sha256", &paths, &b, &diag),
                     DGA_E_RUNTIME_LIBRARY);
    assert_null(b);
    assert_names_library(diag.field, "DGA_TEST_LIBTSS2_ESYS");
    /* The simulated register needs no library: still there. */
    char sim[sizeof dir + 16];
    snprintf(sim, sizeof sim, "sim:%s/r.bin", dir);
    assert_int_equal(dga_event_backend_open(sim, &paths, &b, &diag), DGA_E_OK);
    dga_event_backend_free(b);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_use_from_threads),
        cmocka_unit_test(test_http_get_names_libcurl),
        cmocka_unit_test(test_http_post_without_info),
        cmocka_unit_test(test_rim_fetch_names_libcurl),
        cmocka_unit_test(test_proxy_start_names_libmicrohttpd),
        cmocka_unit_test(test_tpm_backend_names_tss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
