/* SPDX-License-Identifier: Apache-2.0 */
/* The limits every server shares (lib/service/limits.c): defaults and the one check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dga/service.h"

static void test_defaults(void **state)
{
    (void)state;
    struct dga_service_limits l;
    dga_service_limits_defaults(&l, 1024, 128, 65536);
    assert_int_equal(l.max_connections, 1024);
    assert_int_equal(l.max_connections_per_client, 128);
    assert_int_equal(l.client_timeout, 10);
    assert_int_equal(l.client_request_timeout, 30);
    assert_int_equal(l.max_request, 65536);
    struct dga_diag d = {0};
    assert_int_equal(dga_service_limits_check(&l, 65536, DGA_E_PROXY_CONFIG, &d), DGA_E_OK);
    assert_null(d.field);
}

/* Each limit out of range on its own: the caller's error, and the option's key. */
static void test_check_names_the_key(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        struct dga_service_limits l;
    } bad[] = {
        {"max-request", {1, 1, 1, 1, 0}},
        {"max-request", {1, 1, 1, 1, 101}},
        {"client-timeout", {1, 1, 0, 1, 1}},
        {"client-timeout", {1, 1, -1, 1, 1}},
        {"client-request-timeout", {1, 1, 1, 0, 1}},
        {"client-request-timeout", {1, 1, 1, INT64_MIN, 1}},
        {"max-connections", {0, 1, 1, 1, 1}},
        {"max-connections-per-client", {1, 0, 1, 1, 1}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct dga_diag d = {0};
        assert_int_equal(dga_service_limits_check(&bad[i].l, 100, DGA_E_VERIFIER_CONFIG, &d),
                         DGA_E_VERIFIER_CONFIG);
        assert_string_equal(d.field, bad[i].key);
        assert_int_equal(d.offset, 0);
    }
    const struct dga_service_limits edge = {1, 1, 1, 1, 100}; /* every bound at its edge */
    assert_int_equal(dga_service_limits_check(&edge, 100, DGA_E_BAD_ARGUMENT, NULL), DGA_E_OK);
}

/* Several wrong at once: the first in the documented order is named. */
static void test_check_order(void **state)
{
    (void)state;
    const struct dga_service_limits all_zero = {0};
    struct dga_diag d = {0};
    assert_int_equal(dga_service_limits_check(&all_zero, 100, DGA_E_BAD_ARGUMENT, &d),
                     DGA_E_BAD_ARGUMENT);
    assert_string_equal(d.field, "max-request");
    const struct dga_service_limits conns = {0, 0, 1, 1, 1};
    assert_int_equal(dga_service_limits_check(&conns, 100, DGA_E_BAD_ARGUMENT, &d),
                     DGA_E_BAD_ARGUMENT);
    assert_string_equal(d.field, "max-connections");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_check_names_the_key),
        cmocka_unit_test(test_check_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
