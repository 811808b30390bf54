/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded cursor, capped buffer, codecs, time and the error table. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cursor.h"
#include "dga/util.h"

static void test_cursor_failed_read_does_not_move(void **state)
{
    (void)state;
    const uint8_t data[] = {1, 2, 3};
    struct cursor c = cursor_init(data, sizeof data);
    uint8_t b;
    uint16_t h;
    uint32_t w;
    const uint8_t *p;
    assert_int_equal(cursor_u8(&c, &b), DGA_E_OK);
    assert_int_equal(b, 1);
    assert_int_equal(cursor_u24le(&c, &w), DGA_E_TRUNCATED);
    assert_int_equal(cursor_u32le(&c, &w), DGA_E_TRUNCATED);
    assert_int_equal(cursor_bytes(&c, 3, &p), DGA_E_TRUNCATED);
    assert_int_equal(cursor_bytes(&c, SIZE_MAX, &p), DGA_E_TRUNCATED);
    assert_int_equal(c.off, 1);
    assert_int_equal(cursor_u16le(&c, &h), DGA_E_OK);
    assert_int_equal(h, 0x0302);
    assert_int_equal(cursor_end(&c), DGA_E_OK);
    assert_int_equal(cursor_u8(&c, &b), DGA_E_TRUNCATED);
    assert_int_equal(c.off, 3);
}

static void test_cursor_sub_and_end(void **state)
{
    (void)state;
    const uint8_t data[] = {0xAA, 0x01, 0x02, 0x03, 0x04, 0xBB};
    struct cursor c = cursor_init(data, sizeof data);
    struct cursor sub;
    uint8_t b;
    uint32_t w;
    assert_int_equal(cursor_u8(&c, &b), DGA_E_OK);
    assert_int_equal(cursor_sub(&c, 6, &sub), DGA_E_TRUNCATED);
    assert_int_equal(cursor_sub(&c, 4, &sub), DGA_E_OK);
    assert_int_equal(sub.base, 1);
    assert_int_equal(cursor_u24le(&sub, &w), DGA_E_OK);
    assert_int_equal(w, 0x030201);
    assert_int_equal(cursor_pos(&sub), 4);
    assert_int_equal(cursor_end(&sub), DGA_E_TRAILING_BYTES);
    assert_int_equal(cursor_end(&c), DGA_E_TRAILING_BYTES);
    assert_int_equal(load_le(data + 1, 4), 0x04030201u);
}

static void test_buf_cap(void **state)
{
    (void)state;
    struct buf b = buf_init(5);
    assert_int_equal(buf_append(&b, "abc", 3), DGA_E_OK);
    assert_int_equal(buf_append(&b, "def", 3), DGA_E_TOO_LARGE);
    assert_int_equal(b.len, 3);
    assert_int_equal(buf_append(&b, "de", 2), DGA_E_OK);
    assert_int_equal(buf_append(&b, "", SIZE_MAX), DGA_E_TOO_LARGE);
    assert_int_equal(buf_terminate(&b), DGA_E_OK);
    uint8_t *p = buf_take(&b);
    assert_string_equal((char *)p, "abcde");
    assert_null(b.data);
    free(p);
    buf_free(&b);
}

static void test_hex(void **state)
{
    (void)state;
    uint8_t *out = NULL;
    size_t n = 0;
    assert_int_equal(dga_hex_decode(" 0aFf\n", 6, &out, &n), DGA_E_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 0x0a);
    assert_int_equal(out[1], 0xff);
    char text[5];
    dga_hex_encode(out, n, text);
    assert_string_equal(text, "0aff");
    dga_hex_encode_upper(out, n, text);
    assert_string_equal(text, "0AFF");
    free(out);
    out = NULL;
    assert_int_equal(dga_hex_decode("abc", 3, &out, &n), DGA_E_BAD_HEX);
    assert_int_equal(dga_hex_decode("zz", 2, &out, &n), DGA_E_BAD_HEX);
    assert_int_equal(dga_hex_decode("0 a", 3, &out, &n), DGA_E_BAD_HEX);
    assert_null(out);
    uint8_t fixed[2];
    assert_int_equal(dga_hex_decode_fixed("abcd", fixed, 2), DGA_E_OK);
    assert_int_equal(dga_hex_decode_fixed("abcdef", fixed, 2), DGA_E_BAD_HEX);
    assert_int_equal(dga_hex_decode_fixed(" abcd\n", fixed, 2), DGA_E_OK);
    assert_int_equal(dga_hex_decode_exact(" abcd\n", fixed, 2), DGA_E_BAD_HEX);
    assert_int_equal(dga_hex_decode_exact("ABcd", fixed, 2), DGA_E_OK);
    assert_int_equal(fixed[0], 0xab);
    assert_int_equal(dga_hex_decode_exact("abcg", fixed, 2), DGA_E_BAD_HEX);
}

static void test_base64(void **state)
{
    (void)state;
    uint8_t *out = NULL;
    size_t n = 0;
    assert_int_equal(dga_base64_decode("aGVsbG8=", 8, &out, &n), DGA_E_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "hello", 5);
    free(out);
    assert_int_equal(dga_base64_decode("aGVsbA==", 8, &out, &n), DGA_E_OK);
    assert_int_equal(n, 4);
    free(out);
    assert_int_equal(dga_base64_decode("", 0, &out, &n), DGA_E_OK);
    assert_int_equal(n, 0);
    free(out);
    out = NULL;
    assert_int_equal(dga_base64_decode("aGVsbG8", 7, &out, &n), DGA_E_BAD_BASE64);
    assert_int_equal(dga_base64_decode("aGV=bG8=", 8, &out, &n), DGA_E_BAD_BASE64);
    assert_int_equal(dga_base64_decode("aGVs\nbG8", 8, &out, &n), DGA_E_BAD_BASE64);
    assert_int_equal(dga_base64_decode("a===", 4, &out, &n), DGA_E_BAD_BASE64);
    assert_null(out);
}

static void test_time(void **state)
{
    (void)state;
    time_t t;
    assert_int_equal(dga_time_parse("2024-06-01T00:00:00Z", &t), DGA_E_OK);
    assert_int_equal(t, 1717200000);
    char out[21];
    dga_time_format(t, out);
    assert_string_equal(out, "2024-06-01T00:00:00Z");
    assert_int_equal(dga_time_parse("2024-06-01 00:00:00Z", &t), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_time_parse("2024-06-01T00:00:00", &t), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_time_parse("2024-13-01T00:00:00Z", &t), DGA_E_BAD_ARGUMENT);
}

static void test_file_read_cap(void **state)
{
    (void)state;
    uint8_t *data = NULL;
    size_t n = 0;
    const char *path = fixture_path("gpu/h100_580.159.03/report.hex");
    assert_int_equal(dga_file_read(path, 100, &data, &n), DGA_E_TOO_LARGE);
    assert_null(data);
    assert_int_equal(dga_file_read(path, 1u << 20, &data, &n), DGA_E_OK);
    assert_int_equal(n, 8260);
    assert_int_equal(data[n], 0);
    free(data);
    assert_int_equal(dga_file_read("/nonexistent/x", 10, &data, &n), DGA_E_IO);
    assert_int_equal(dga_file_read("/", 10, &data, &n), DGA_E_NOT_REGULAR_FILE);
    assert_int_equal(dga_file_read("/dev/null", 10, &data, &n), DGA_E_NOT_REGULAR_FILE);
}

/*
 * A FIFO is refused at once instead of blocking the open until a writer
 * comes (alarm: the test dies rather than hangs if it blocks). A symbolic
 * link is followed unless DGA_FILE_NOFOLLOW.
 */
static void test_file_read_fifo_and_symlink(void **state)
{
    (void)state;
    char dir[] = "/tmp/dga-file-XXXXXX", fifo[64], link[64], file[64];
    assert_non_null(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    snprintf(file, sizeof file, "%s/file", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    uint8_t *data = NULL;
    size_t n = 0;
    alarm(10);
    assert_int_equal(dga_file_read(fifo, 10, &data, &n), DGA_E_NOT_REGULAR_FILE);
    assert_int_equal(dga_file_read_flags(fifo, 10, DGA_FILE_NOFOLLOW, &data, &n),
                     DGA_E_NOT_REGULAR_FILE);
    alarm(0);
    assert_null(data);
    test_write_file(dir, "file", "abc", 3);
    assert_int_equal(symlink(file, link), 0);
    assert_int_equal(dga_file_read(link, 10, &data, &n), DGA_E_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(data, "abc", 3);
    free(data);
    data = NULL;
    assert_int_equal(dga_file_read_flags(link, 10, DGA_FILE_NOFOLLOW, &data, &n),
                     DGA_E_NOT_REGULAR_FILE);
    assert_null(data);
    assert_int_equal(dga_file_read_flags(file, 10, DGA_FILE_NOFOLLOW, &data, &n), DGA_E_OK);
    free(data);
    assert_int_equal(unlink(fifo) | unlink(link) | unlink(file) | rmdir(dir), 0);
}

static void test_error_table(void **state)
{
    (void)state;
    assert_string_equal(dga_err_name(DGA_E_TRUNCATED), "truncated");
    assert_string_equal(dga_err_message(DGA_E_NONCE_MISMATCH), "nonce mismatch");
    assert_string_equal(dga_err_name((dga_err)9999), "unknown-error");
    /* Every error has a distinct name. */
    for (int i = 0; i < DGA_E__COUNT; i++) {
        for (int j = i + 1; j < DGA_E__COUNT; j++) {
            assert_string_not_equal(dga_err_name((dga_err)i), dga_err_name((dga_err)j));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_failed_read_does_not_move),
        cmocka_unit_test(test_cursor_sub_and_end),
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_file_read_cap),
        cmocka_unit_test(test_file_read_fifo_and_symlink),
        cmocka_unit_test(test_error_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
