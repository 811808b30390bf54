/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded cursor, capped buffer, codecs, time and the error table. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/err.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/codec.h"
#include "core/cursor.h"
#include "core/json.h"
#include "core/utc.h"
#include "dga/util.h"

/*
 * fsync, interposed for this test program (the library is linked in
 * statically): records the inode of the last file and the last directory
 * flushed, so the atomic writer's directory fsync after the rename is seen.
 */
static ino_t last_fsync_dir, last_fsync_file;
static int fsyncs_after_dir; /* file fsyncs since the last directory fsync */

int fsync(int fd)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        last_fsync_dir = st.st_ino;
        fsyncs_after_dir = 0;
    } else if (fstat(fd, &st) == 0) {
        last_fsync_file = st.st_ino;
        fsyncs_after_dir++;
    }
    return (int)syscall(SYS_fsync, fd);
}

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

/* Exactly len bytes, embedded NULs kept, one NUL after; the source is not read past len. */
static void test_bytes_dup_text(void **state)
{
    (void)state;
    static const char src[] = {'a', '\0', 'b', 'c', 'X'};
    char *t = bytes_dup_text(src, 4);
    assert_non_null(t);
    assert_memory_equal(t, "a\0bc\0", 5);
    free(t);
    /* A source with no NUL at all, in its own allocation (ASan sees a read past it). */
    char *heap = malloc(3);
    assert_non_null(heap);
    memcpy(heap, "xyz", 3);
    t = bytes_dup_text(heap, 3);
    assert_string_equal(t, "xyz");
    free(t);
    free(heap);
    /* Empty, from a pointer or from NULL. */
    t = bytes_dup_text(src, 0);
    assert_string_equal(t, "");
    free(t);
    t = bytes_dup_text(NULL, 0);
    assert_string_equal(t, "");
    free(t);
    /* No length leaves room for the NUL. */
    assert_null(bytes_dup_text(src, SIZE_MAX));
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
    /* The second timegm reports as its error (-1) is a time like any other. */
    assert_int_equal(dga_time_parse("1969-12-31T23:59:59Z", &t), DGA_E_OK);
    assert_int_equal(t, -1);
    assert_int_equal(dga_time_parse("2000-02-29T23:59:60Z", &t), DGA_E_OK);
    assert_int_equal(t, 951868800);
}

/* ASN.1 times (certificates, OCSP) through the same arithmetic; OpenSSL's queue left empty. */
static void test_utc_from_asn1(void **state)
{
    (void)state;
    ASN1_TIME *a = ASN1_TIME_new();
    assert_non_null(a);
    time_t t = 7;
    assert_int_equal(ASN1_TIME_set_string(a, "19691231235959Z"), 1);
    assert_int_equal(utc_from_asn1(a, &t), DGA_E_OK);
    assert_int_equal(t, -1);
    assert_int_equal(ASN1_TIME_set_string(a, "261128090031Z"), 1); /* UTCTime */
    assert_int_equal(utc_from_asn1(a, &t), DGA_E_OK);
    assert_int_equal(t, 1795856431);
    assert_int_equal(ASN1_TIME_set_string(a, "20261128090031Z"), 1);
    assert_int_equal(utc_from_asn1(a, &t), DGA_E_OK);
    assert_int_equal(t, 1795856431);
    /* Not a time: an error, nothing left on OpenSSL's queue, *ret untouched. */
    t = 7;
    assert_int_equal(ASN1_STRING_set(a, "2026112809003", -1), 1);
    assert_int_equal(utc_from_asn1(a, &t), DGA_E_BAD_DER);
    assert_int_equal(ERR_peek_error(), 0);
    assert_int_equal(t, 7);
    assert_int_equal(utc_from_asn1(NULL, &t), DGA_E_BAD_DER);
    ASN1_TIME_free(a);
    struct tm bad = {.tm_year = 100, .tm_mon = 12, .tm_mday = 1};
    assert_int_equal(utc_from_tm(&bad, &t), DGA_E_BAD_ARGUMENT);
    assert_int_equal(t, 7);
}

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

static void assert_file(const char *path, const char *text, mode_t mode)
{
    uint8_t *data = NULL;
    size_t n = 0;
    struct stat st;
    assert_int_equal(dga_file_read(path, 1024, &data, &n), DGA_E_OK);
    assert_int_equal(n, strlen(text));
    assert_memory_equal(data, text, n);
    free(data);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, mode);
}

static void test_file_write_atomic(void **state)
{
    (void)state;
    char dir[] = "/tmp/dga-core-XXXXXX", path[64], link[64], target[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/value", dir);
    struct stat dst;
    assert_int_equal(stat(dir, &dst), 0);
    /* A new file: exact mode, every byte, then the directory flushed after the file. */
    last_fsync_dir = 0;
    assert_int_equal(dga_file_write_atomic(path, "first", 5, 0640), DGA_E_OK);
    assert_file(path, "first", 0640);
    assert_int_equal(last_fsync_dir, dst.st_ino);
    assert_int_equal(fsyncs_after_dir, 0);
    struct stat fst;
    assert_int_equal(stat(path, &fst), 0);
    assert_int_equal(last_fsync_file, fst.st_ino);
    /* Replaced whole, mode included; no temporary file left behind. */
    assert_int_equal(dga_file_write_atomic(path, "2nd", 3, 0600), DGA_E_OK);
    assert_file(path, "2nd", 0600);
    assert_int_equal(dga_file_write_atomic(path, NULL, 0, 0644), DGA_E_OK);
    assert_file(path, "", 0644);
    assert_int_equal(dir_entries(dir), 1);
    /* A link at the target is replaced, never followed. */
    snprintf(link, sizeof link, "%s/link", dir);
    snprintf(target, sizeof target, "%s/target", dir);
    assert_int_equal(dga_file_write_atomic(target, "keep", 4, 0600), DGA_E_OK);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(dga_file_write_atomic(link, "new", 3, 0600), DGA_E_OK);
    assert_file(link, "new", 0600);
    assert_file(target, "keep", 0600);
    assert_int_equal(dir_entries(dir), 3);
    /* Failures: nothing written, nothing left. */
    char missing[96];
    snprintf(missing, sizeof missing, "%s/no/such", dir);
    assert_int_equal(dga_file_write_atomic(missing, "x", 1, 0600), DGA_E_IO);
    assert_int_equal(dga_file_write_atomic(path, "x", 1, 010000), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_file_write_atomic("/tmp/", "x", 1, 0600), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_file_write_atomic(path, NULL, 1, 0600), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_file_write_atomic(NULL, "x", 1, 0600), DGA_E_BAD_ARGUMENT);
    assert_file(path, "", 0644);
    assert_int_equal(dir_entries(dir), 3);
    unlink(link);
    unlink(target);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

static void test_write_all(void **state)
{
    (void)state;
    char path[] = "/tmp/dga-write-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    /* Every byte of a buffer larger than one write usually takes; nothing for 0 bytes. */
    size_t n = 3u << 20;
    uint8_t *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++) {
        big[i] = (uint8_t)(i * 7);
    }
    assert_int_equal(dga_write_all(fd, big, n), DGA_E_OK);
    assert_int_equal(dga_write_all(fd, NULL, 0), DGA_E_OK);
    assert_int_equal(close(fd), 0);
    uint8_t *back = NULL;
    size_t len = 0;
    assert_int_equal(dga_file_read(path, n, &back, &len), DGA_E_OK);
    assert_int_equal(len, n);
    assert_memory_equal(back, big, n);
    free(back);
    /* A descriptor that refuses writes. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(dga_write_all(fd, "x", 1), DGA_E_IO);
    assert_int_equal(dga_write_all(-1, "x", 1), DGA_E_IO);
    close(fd);
    free(big);
    unlink(path);
}

static void test_closep(void **state)
{
    (void)state;
    int seen = -1;
    {
        _cleanup_(closep) int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        seen = fd;
    }
    /* Closed at the end of its scope; closing "none" (-1) does nothing and stays -1. */
    errno = 0;
    assert_int_equal(fcntl(seen, F_GETFD), -1);
    assert_int_equal(errno, EBADF);
    int none = -1;
    closep(&none);
    assert_int_equal(none, -1);
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

/* The one base64 encoder (RFC 4648 §10 vectors), and as a JSON string. */
static void test_base64_encode(void **state)
{
    (void)state;
    static const char *const vec[][2] = {{"", ""},
                                         {"f", "Zg=="},
                                         {"fo", "Zm8="},
                                         {"foo", "Zm9v"},
                                         {"foob", "Zm9vYg=="},
                                         {"fooba", "Zm9vYmE="},
                                         {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        char *out = NULL;
        assert_int_equal(base64_encode((const uint8_t *)vec[i][0], strlen(vec[i][0]), &out),
                         DGA_E_OK);
        assert_string_equal(out, vec[i][1]);
        free(out);
        json_t *j = base64_json((const uint8_t *)vec[i][0], strlen(vec[i][0]));
        assert_string_equal(json_string_value(j), vec[i][1]);
        json_decref(j);
    }
    char *out = NULL;
    assert_int_equal(base64_encode(NULL, 1, &out), DGA_E_BAD_ARGUMENT);
    assert_int_equal(base64_encode((const uint8_t *)"x", (size_t)INT_MAX, &out), DGA_E_TOO_LARGE);
    assert_null(out);
    assert_null(base64_json(NULL, 1));
}

/* json_put / json_push: the first failure sticks and nothing is set after it. */
static void test_json_put(void **state)
{
    (void)state;
    json_t *o = json_object(), *a = json_array();
    dga_err e = DGA_E_OK;
    json_put(o, "a", json_true(), &e);
    json_push(a, json_true(), &e);
    assert_int_equal(e, DGA_E_OK);
    json_put(o, "b", NULL, &e); /* a value that could not be made */
    assert_int_equal(e, DGA_E_NOMEM);
    json_put(o, "c", json_string("x"), &e); /* taken and released, not set */
    json_push(a, json_string("y"), &e);
    assert_int_equal(e, DGA_E_NOMEM);
    assert_int_equal(json_object_size(o), 1);
    assert_int_equal(json_array_size(a), 1);
    e = DGA_E_OK;
    json_push(a, NULL, &e);
    assert_int_equal(e, DGA_E_NOMEM);
    json_decref(o);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_failed_read_does_not_move),
        cmocka_unit_test(test_cursor_sub_and_end),
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_bytes_dup_text),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_base64_encode),
        cmocka_unit_test(test_json_put),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_utc_from_asn1),
        cmocka_unit_test(test_file_write_atomic),
        cmocka_unit_test(test_write_all),
        cmocka_unit_test(test_closep),
        cmocka_unit_test(test_file_read_cap),
        cmocka_unit_test(test_file_read_fifo_and_symlink),
        cmocka_unit_test(test_error_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
