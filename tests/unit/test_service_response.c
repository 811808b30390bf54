/* SPDX-License-Identifier: Apache-2.0 */
/* The answers' builders of the service layer (lib/service/response.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dga/service.h"

static void test_text_and_json(void **state)
{
    (void)state;
    struct dga_service_response r;
    dga_service_response_text(&r, 404, "no");
    assert_int_equal(r.status, 404);
    assert_string_equal(r.content_type, "text/plain; charset=utf-8");
    assert_int_equal(r.n_headers, 1);
    assert_string_equal(r.headers[0].name, "Cache-Control");
    assert_string_equal(r.headers[0].value, "no-store");
    assert_int_equal(r.len, 2);
    assert_null(r.release);

    dga_service_response_json(&r, 200, "{\"status\":\"ok\"}");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_int_equal(r.n_headers, 1); /* reset, not appended */
    assert_int_equal(r.len, strlen("{\"status\":\"ok\"}"));
    assert_memory_equal(r.body, "{\"status\":\"ok\"}", r.len);
    assert_null(r.release);
}

static void test_json_owned(void **state)
{
    (void)state;
    struct dga_service_response r;
    char *body = strdup("{\"a\":1}xyz"); /* len says where the body ends, not a NUL */
    assert_non_null(body);
    dga_service_response_json_owned(&r, 503, body, 7);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.headers[0].value, "no-store");
    assert_ptr_equal(r.body, body);
    assert_int_equal(r.len, 7);
    assert_ptr_equal(r.release, free);
    assert_ptr_equal(r.release_cls, body);
    r.release(r.release_cls); /* what the server does once it is sent; ASan checks the free */
}

/* The glue of a handler whose function yields a status and a malloc'd body, or fails. */
static void test_answer_owned(void **state)
{
    (void)state;
    struct dga_service_response r;
    char *body = strdup("{\"is_valid\":false}");
    assert_non_null(body);
    dga_service_answer_owned(&r, DGA_E_OK, 400, body, strlen(body));
    assert_int_equal(r.status, 400);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.headers[0].value, "no-store");
    assert_ptr_equal(r.body, body);
    assert_int_equal(r.len, strlen("{\"is_valid\":false}"));
    assert_ptr_equal(r.release, free);
    r.release(r.release_cls);

    dga_service_answer_owned(&r, DGA_E_NOMEM, 200, NULL, 0); /* nothing made: 500, static */
    assert_int_equal(r.status, 500);
    assert_string_equal(r.content_type, "application/json");
    assert_int_equal(r.len, strlen("{\"error\":\"out of memory\"}"));
    assert_memory_equal(r.body, "{\"error\":\"out of memory\"}", r.len);
    assert_null(r.release);

    body = strdup("partial"); /* a body given with a failure is the answer's to free */
    assert_non_null(body);
    dga_service_answer_owned(&r, DGA_E_NOMEM, 200, body, 7);
    assert_int_equal(r.status, 500);
    assert_null(r.release);
}

static void test_error_json(void **state)
{
    (void)state;
    struct dga_service_response r;
    dga_service_error_json(NULL, 413, NULL, &r);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.headers[0].value, "no-store");
    assert_memory_equal(r.body, "{\"error\":\"payload too large\"}", r.len);
    assert_null(r.release);
}

static void test_status_json(void **state)
{
    (void)state;
    assert_string_equal(dga_service_status_json(400), "{\"error\":\"bad request\"}");
    assert_string_equal(dga_service_status_json(404), "{\"error\":\"not found\"}");
    assert_string_equal(dga_service_status_json(405), "{\"error\":\"method not allowed\"}");
    assert_string_equal(dga_service_status_json(413), "{\"error\":\"payload too large\"}");
    assert_string_equal(dga_service_status_json(500), "{\"error\":\"out of memory\"}");
    assert_string_equal(dga_service_status_json(503), "{\"error\":\"service unavailable\"}");
    assert_string_equal(dga_service_status_json(0), "{\"error\":\"service unavailable\"}");
}

static void test_header_bounds(void **state)
{
    (void)state;
    struct dga_service_response r;
    dga_service_response_text(&r, 200, "");
    char long_name[DGA_SERVICE_HEADER_NAME_MAX + 1];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(dga_service_response_header(&r, long_name, "v"), DGA_E_TOO_LARGE);
    long_name[sizeof long_name - 2] = '\0'; /* the longest that fits */
    assert_int_equal(dga_service_response_header(&r, long_name, "v"), DGA_E_OK);
    while (r.n_headers < DGA_SERVICE_HEADERS_MAX) {
        assert_int_equal(dga_service_response_header(&r, "X-A", "b"), DGA_E_OK);
    }
    assert_int_equal(dga_service_response_header(&r, "X-A", "b"), DGA_E_TOO_LARGE);
    assert_int_equal(r.n_headers, DGA_SERVICE_HEADERS_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_and_json), cmocka_unit_test(test_json_owned),
        cmocka_unit_test(test_answer_owned),  cmocka_unit_test(test_error_json),
        cmocka_unit_test(test_status_json),   cmocka_unit_test(test_header_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
