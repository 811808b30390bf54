/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service layer's option table (dga/service.h): the "key = value" reader
 * every server's config file goes through, its errors with their line, its
 * limits, the help text, and the shared value parsers. A toy config of its
 * own, so that what is tested is the reader and not a server's options.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dga/service.h"
#include "testutil.h"

struct toy {
    char name[8];
    char text[64];
    bool on;
    int64_t wait;
    size_t bytes;
    unsigned count;
    unsigned sets; /* how many times set_name succeeded */
};

static dga_err set_name(void *config, const struct dga_service_option *o, const char *value)
{
    dga_err e = dga_service_set_string(config, o, value);
    ((struct toy *)config)->sets += e == DGA_E_OK;
    return e;
}

/* Fails for "bad" with an error of its own, which the reader must not pass on. */
static dga_err set_text(void *config, const struct dga_service_option *o, const char *value)
{
    if (strcmp(value, "bad") == 0) {
        return DGA_E_BAD_HEX;
    }
    return dga_service_set_string(config, o, value);
}

static const uint64_t seconds[] = {1, 60};
static const struct dga_service_scale waits = {"sm", seconds, 3600};
static const uint64_t kilo[] = {1024};
static const struct dga_service_scale sizes = {"K", kilo, 1u << 20};
static const struct dga_service_scale counts = {"", NULL, 10};

#define F(field) DGA_SERVICE_FIELD(struct toy, field)

static const struct dga_service_option toy_options[] = {
    {"name", "NAME", "a short name (none)", set_name, F(name), NULL},
    {"text", "TEXT", "any text", set_text, F(text), NULL},
    {"on", "", "a switch (off)", dga_service_set_bool, F(on), NULL},
    {"wait", "DURATION", "s or m, at most 1h", dga_service_set_int64, F(wait), &waits},
    {"bytes", "SIZE", "K, at most 1M", dga_service_set_size, F(bytes), &sizes},
    {"count", "N", "at most 10", dga_service_set_unsigned, F(count), &counts},
};

#define TOY_FILE_MAX 128
#define TOY_LINE_LIMIT 48

static const struct dga_service_options toy = {
    .options = toy_options,
    .n = sizeof toy_options / sizeof toy_options[0],
    .err = DGA_E_PROXY_CONFIG,
    .file_max = TOY_FILE_MAX,
    .line_limit = TOY_LINE_LIMIT,
};

/* The same options, another server's error. */
static const struct dga_service_options toy_verifier = {
    .options = toy_options,
    .n = sizeof toy_options / sizeof toy_options[0],
    .err = DGA_E_VERIFIER_CONFIG,
    .file_max = TOY_FILE_MAX,
    .line_limit = TOY_LINE_LIMIT,
};

/* Loads text (a C string) into a fresh toy; returns the error, diag in *d. */
static dga_err load(const struct dga_service_options *t, const char *text, struct toy *c,
                    struct dga_diag *d)
{
    memset(c, 0, sizeof *c);
    memset(d, 0, sizeof *d);
    return dga_service_options_load_text(t, c, text, strlen(text), d);
}

static void assert_failed_at(const struct dga_diag *d, dga_err e, size_t line, const char *field)
{
    assert_int_equal(d->err, e);
    assert_int_equal(d->offset, line);
    assert_string_equal(d->field, field);
}

static void test_load_good(void **state)
{
    (void)state;
    struct toy c;
    struct dga_diag d;
    static const char text[] = "# a comment\n"
                               "\n"
                               "   \t\n"
                               "  # indented, with = in it\n"
                               "name=a\n"
                               "\ttext  =  x = y # not a comment \t\n"
                               "wait = 2m\n"
                               "bytes = 3K\n"
                               "count = 10\n"
                               "on = true";
    assert_int_equal(load(&toy, text, &c, &d), DGA_E_OK);
    assert_string_equal(c.name, "a");
    assert_string_equal(c.text, "x = y # not a comment");
    assert_true(c.on);
    assert_int_equal(c.wait, 120);
    assert_int_equal(c.bytes, 3072);
    assert_int_equal(c.count, 10);
    assert_int_equal(c.sets, 1);
    /* the last one wins; no text at all is fine */
    assert_int_equal(load(&toy, "name = a\nname = b\n", &c, &d), DGA_E_OK);
    assert_string_equal(c.name, "b");
    assert_int_equal(load(&toy, "", &c, &d), DGA_E_OK);
    assert_int_equal(c.sets, 0);
}

/* CRLF lines read as LF ones (the CR is a trailing blank); a lone CR ends no line. */
static void test_load_crlf(void **state)
{
    (void)state;
    struct toy c;
    struct dga_diag d;
    assert_int_equal(load(&toy, "# c\r\n\r\nname = a\r\ntext = b\r\n", &c, &d), DGA_E_OK);
    assert_string_equal(c.name, "a");
    assert_string_equal(c.text, "b");
    assert_int_equal(load(&toy, "text = a\rname = b\n", &c, &d), DGA_E_OK);
    assert_string_equal(c.text, "a\rname = b");
    assert_string_equal(c.name, "");
    /* the line count is the LFs': line 3 here */
    assert_int_equal(load(&toy, "name = a\r\n\r\nbogus = 1\r\n", &c, &d), DGA_E_PROXY_CONFIG);
    assert_failed_at(&d, DGA_E_PROXY_CONFIG, 3, "config line");
}

static void test_load_errors(void **state)
{
    (void)state;
    struct toy c;
    struct dga_diag d;
    static const struct {
        const char *text;
        size_t line;
    } bad[] = {
        {"name = a\n# ok\nbogus = 1\n", 3}, /* an unknown key */
        {"name a\n", 1},                    /* no '=' */
        {"\n\n  = a\n", 3},                 /* no key */
        {"name = a\nname =\n", 2},          /* an empty value */
        {"name = toolong8\n", 1},           /* a value its setter refuses */
        {"text = bad\n", 1},                /* the setter's own error is not passed on */
        {"on\n", 1},                        /* a switch takes "true" in a file */
        {"on = yes\n", 1},
        {"wait = 61m\n", 1},           /* over its scale's max */
        {"count = 1K\n", 1},           /* a unit its scale has not */
        {"NAME = a\n", 1},             /* keys are case-sensitive */
        {"#\nname = a\nno equals", 3}, /* the last line, without its newline */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(load(&toy, bad[i].text, &c, &d), DGA_E_PROXY_CONFIG);
        assert_failed_at(&d, DGA_E_PROXY_CONFIG, bad[i].line, "config line");
        assert_int_equal(load(&toy_verifier, bad[i].text, &c, &d), DGA_E_VERIFIER_CONFIG);
        assert_failed_at(&d, DGA_E_VERIFIER_CONFIG, bad[i].line, "config line");
    }
    /* what came before the failing line stays set; what failed changed nothing */
    assert_int_equal(load(&toy, "name = a\nname = toolong8\n", &c, &d), DGA_E_PROXY_CONFIG);
    assert_string_equal(c.name, "a");
    assert_int_equal(c.sets, 1);
    assert_int_equal(load(&toy, "wait = 5\nwait = 5h\n", &c, &d), DGA_E_PROXY_CONFIG);
    assert_int_equal(c.wait, 5);
    /* a NUL anywhere refuses the whole text, before any line is applied */
    static const char nul[] = "name = a\nname = b\0\n";
    memset(&c, 0, sizeof c);
    assert_int_equal(dga_service_options_load_text(&toy, &c, nul, sizeof nul - 1, &d),
                     DGA_E_PROXY_CONFIG);
    assert_failed_at(&d, DGA_E_PROXY_CONFIG, 0, "config file");
    assert_int_equal(c.sets, 0);
    /* a NULL diag is fine */
    assert_int_equal(dga_service_options_load_text(&toy, &c, "x\n", 2, NULL), DGA_E_PROXY_CONFIG);
}

static void test_load_sizes(void **state)
{
    (void)state;
    struct toy c;
    struct dga_diag d;
    /* the file: file_max bytes are read, one more is refused whole */
    char text[TOY_FILE_MAX + 2];
    memset(text, '\n', sizeof text);
    text[sizeof text - 1] = '\0';
    memcpy(text, "name = a", 8);
    assert_int_equal(strlen(text), TOY_FILE_MAX + 1);
    assert_int_equal(load(&toy, text, &c, &d), DGA_E_PROXY_CONFIG);
    assert_failed_at(&d, DGA_E_PROXY_CONFIG, 0, "config file");
    assert_int_equal(c.sets, 0);
    text[TOY_FILE_MAX] = '\0';
    assert_int_equal(load(&toy, text, &c, &d), DGA_E_OK);
    assert_int_equal(c.sets, 1);

    /* a line: line_limit - 1 bytes (newline excluded) are read, line_limit refused */
    char line[TOY_LINE_LIMIT + 8];
    snprintf(line, sizeof line, "\n# %0*d\n", TOY_LINE_LIMIT - 3, 0);
    assert_int_equal(strlen(line), TOY_LINE_LIMIT + 1);
    assert_int_equal(load(&toy, line, &c, &d), DGA_E_OK);
    snprintf(line, sizeof line, "\n# %0*d\n", TOY_LINE_LIMIT - 2, 0);
    assert_int_equal(load(&toy, line, &c, &d), DGA_E_PROXY_CONFIG);
    assert_failed_at(&d, DGA_E_PROXY_CONFIG, 2, "config line too long");
    /* the CR of a CRLF line counts */
    snprintf(line, sizeof line, "# %0*d\r\n", TOY_LINE_LIMIT - 3, 0);
    assert_int_equal(load(&toy, line, &c, &d), DGA_E_PROXY_CONFIG);
    assert_failed_at(&d, DGA_E_PROXY_CONFIG, 1, "config line too long");
    /* so does the last line without a newline */
    snprintf(line, sizeof line, "# %0*d", TOY_LINE_LIMIT - 2, 0);
    assert_int_equal(load(&toy_verifier, line, &c, &d), DGA_E_VERIFIER_CONFIG);
    assert_failed_at(&d, DGA_E_VERIFIER_CONFIG, 1, "config line too long");
}

/* A table may ask for longer lines than the reader's own ceiling: the ceiling wins. */
static void test_load_line_ceiling(void **state)
{
    (void)state;
    const struct dga_service_options big = {
        .options = toy_options,
        .n = sizeof toy_options / sizeof toy_options[0],
        .err = DGA_E_PROXY_CONFIG,
        .file_max = 4 * DGA_SERVICE_CONFIG_LINE_MAX,
        .line_limit = SIZE_MAX,
    };
    char *text = malloc(DGA_SERVICE_CONFIG_LINE_MAX + 2);
    assert_non_null(text);
    memset(text, ' ', DGA_SERVICE_CONFIG_LINE_MAX + 1);
    text[DGA_SERVICE_CONFIG_LINE_MAX - 1] = '\n';
    struct toy c = {0};
    struct dga_diag d = {0};
    assert_int_equal(dga_service_options_load_text(&big, &c, text, DGA_SERVICE_CONFIG_LINE_MAX, &d),
                     DGA_E_OK);
    text[DGA_SERVICE_CONFIG_LINE_MAX - 1] = ' ';
    text[DGA_SERVICE_CONFIG_LINE_MAX] = '\n';
    assert_int_equal(
        dga_service_options_load_text(&big, &c, text, DGA_SERVICE_CONFIG_LINE_MAX + 1, &d),
        DGA_E_PROXY_CONFIG);
    assert_failed_at(&d, DGA_E_PROXY_CONFIG, 1, "config line too long");
    free(text);
}

static void test_load_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/dga-test-options-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[sizeof dir + 16];
    snprintf(path, sizeof path, "%s/x.conf", dir);
    struct toy c = {0};
    struct dga_diag d = {0};

    static const char good[] = "# x\r\nname = f\n";
    test_write_file(dir, "x.conf", good, sizeof good - 1);
    assert_int_equal(dga_service_options_load_file(&toy, &c, path, &d), DGA_E_OK);
    assert_string_equal(c.name, "f");
    /* its errors are the text's, with the line */
    static const char bad[] = "name = f\nbogus\n";
    test_write_file(dir, "x.conf", bad, sizeof bad - 1);
    assert_int_equal(dga_service_options_load_file(&toy_verifier, &c, path, &d),
                     DGA_E_VERIFIER_CONFIG);
    assert_failed_at(&d, DGA_E_VERIFIER_CONFIG, 2, "config line");
    /* one that cannot be read: the file error, not the table's */
    char big[TOY_FILE_MAX + 1];
    memset(big, '\n', sizeof big);
    test_write_file(dir, "x.conf", big, sizeof big);
    assert_int_equal(dga_service_options_load_file(&toy, &c, path, &d), DGA_E_TOO_LARGE);
    assert_failed_at(&d, DGA_E_TOO_LARGE, 0, "config file");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(dga_service_options_load_file(&toy, &c, path, &d), DGA_E_IO);
    assert_failed_at(&d, DGA_E_IO, 0, "config file");
    assert_int_equal(dga_service_options_load_file(&toy, &c, dir, &d), DGA_E_NOT_REGULAR_FILE);
    assert_failed_at(&d, DGA_E_NOT_REGULAR_FILE, 0, "config file");
    assert_int_equal(rmdir(dir), 0);
}

static void test_set_find(void **state)
{
    (void)state;
    struct toy c = {0};
    assert_int_equal(dga_service_options_set(&toy, &c, "name", "abc"), DGA_E_OK);
    assert_string_equal(c.name, "abc");
    assert_int_equal(dga_service_options_set(&toy, &c, "nope", "1"), DGA_E_PROXY_CONFIG);
    assert_int_equal(dga_service_options_set(&toy, &c, "name", NULL), DGA_E_PROXY_CONFIG);
    assert_int_equal(dga_service_options_set(&toy_verifier, &c, "text", "bad"),
                     DGA_E_VERIFIER_CONFIG);
    assert_int_equal(dga_service_options_set(&toy, &c, "--name", "x"), DGA_E_PROXY_CONFIG);
    assert_string_equal(c.name, "abc");

    assert_ptr_equal(dga_service_options_find(&toy, "text"), &toy_options[1]);
    assert_null(dga_service_options_find(&toy, "tex"));
    assert_null(dga_service_options_find(&toy, ""));
    assert_false(dga_service_option_is_switch(dga_service_options_find(&toy, "name")));
    assert_true(dga_service_option_is_switch(dga_service_options_find(&toy, "on")));
}

static void test_setters(void **state)
{
    (void)state;
    struct toy c = {0};
    const struct dga_service_option *o = &toy_options[0]; /* char name[8] */
    assert_int_equal(dga_service_set_string(&c, o, "1234567"), DGA_E_OK);
    assert_string_equal(c.name, "1234567");
    assert_int_equal(dga_service_set_string(&c, o, "12345678"), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_service_set_string(&c, o, ""), DGA_E_BAD_ARGUMENT);
    assert_string_equal(c.name, "1234567");

    o = &toy_options[2]; /* bool on */
    assert_int_equal(dga_service_set_bool(&c, o, "true"), DGA_E_OK);
    assert_true(c.on);
    assert_int_equal(dga_service_set_bool(&c, o, "TRUE"), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_service_set_bool(&c, o, "1"), DGA_E_BAD_ARGUMENT);
    assert_true(c.on);
    assert_int_equal(dga_service_set_bool(&c, o, "false"), DGA_E_OK);
    assert_false(c.on);

    o = &toy_options[3]; /* int64_t wait, s or m, at most 3600 */
    assert_int_equal(dga_service_set_int64(&c, o, "60m"), DGA_E_OK);
    assert_int_equal(c.wait, 3600);
    assert_int_equal(dga_service_set_int64(&c, o, "3601"), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_service_set_int64(&c, o, "1h"), DGA_E_BAD_ARGUMENT);
    assert_int_equal(c.wait, 3600);
    o = &toy_options[4]; /* size_t bytes, K, at most 1M */
    assert_int_equal(dga_service_set_size(&c, o, "1024K"), DGA_E_OK);
    assert_int_equal(c.bytes, 1u << 20);
    assert_int_equal(dga_service_set_size(&c, o, "1025K"), DGA_E_BAD_ARGUMENT);
    assert_int_equal(c.bytes, 1u << 20);
    o = &toy_options[5]; /* unsigned count, at most 10 */
    assert_int_equal(dga_service_set_unsigned(&c, o, "0"), DGA_E_OK);
    assert_int_equal(c.count, 0);
    assert_int_equal(dga_service_set_unsigned(&c, o, "11"), DGA_E_BAD_ARGUMENT);
    assert_int_equal(c.count, 0);

    /* the field's own range stands whatever the scale allows */
    static const struct dga_service_scale any = {"", NULL, UINT64_MAX};
    struct dga_service_option wide = toy_options[3];
    wide.scale = &any;
    assert_int_equal(dga_service_set_int64(&c, &wide, "9223372036854775807"), DGA_E_OK);
    assert_true(c.wait == INT64_MAX);
    assert_int_equal(dga_service_set_int64(&c, &wide, "9223372036854775808"), DGA_E_BAD_ARGUMENT);
    assert_true(c.wait == INT64_MAX);
    wide = toy_options[5];
    wide.scale = &any;
    assert_int_equal(dga_service_set_unsigned(&c, &wide, "4294967295"), DGA_E_OK);
    assert_true(c.count == 4294967295u);
    assert_int_equal(dga_service_set_unsigned(&c, &wide, "4294967296"), DGA_E_BAD_ARGUMENT);
    assert_true(c.count == 4294967295u);
}

static void test_help(void **state)
{
    (void)state;
    static const char want[] = "  --name NAME                           a short name (none)\n"
                               "  --text TEXT                           any text\n"
                               "  --on                                  a switch (off)\n"
                               "  --wait DURATION                       s or m, at most 1h\n"
                               "  --bytes SIZE                          K, at most 1M\n"
                               "  --count N                             at most 10\n";
    char buf[sizeof want + 8];
    assert_int_equal(dga_service_options_help(&toy, buf, sizeof buf), DGA_E_OK);
    assert_string_equal(buf, want);
    assert_int_equal(dga_service_options_help(&toy, buf, sizeof want), DGA_E_OK);
    assert_string_equal(buf, want);
    /* one byte short: cut, still terminated, and said so */
    assert_int_equal(dga_service_options_help(&toy, buf, sizeof want - 1), DGA_E_TOO_LARGE);
    assert_int_equal(strlen(buf), sizeof want - 2);
    assert_memory_equal(buf, want, sizeof want - 2);
    assert_int_equal(dga_service_options_help(&toy, buf, 1), DGA_E_TOO_LARGE);
    assert_string_equal(buf, "");
}

static void test_parse_number(void **state)
{
    (void)state;
    static const uint64_t mult[] = {60, 1024};
    static const struct dga_service_scale any = {"mK", mult, UINT64_MAX};
    static const struct dga_service_scale small = {"mK", mult, 300};
    static const struct {
        const char *text;
        const struct dga_service_scale *scale;
        bool ok;
        uint64_t want;
    } cases[] = {
        {"0", &any, true, 0},
        {"007", &any, true, 7},
        {"5m", &any, true, 300},
        {"2K", &any, true, 2048},
        {"18446744073709551615", &any, true, UINT64_MAX},
        {"5M", &any, false, 0}, /* units are case-sensitive */
        {"5k", &any, false, 0},
        {"5x", &any, false, 0},
        {"5mm", &any, false, 0},
        {"m", &any, false, 0},
        {"", &any, false, 0},
        {" 5", &any, false, 0},
        {"+5", &any, false, 0},
        {"-5", &any, false, 0},
        {"5 ", &any, false, 0},
        {"18446744073709551616", &any, false, 0}, /* over UINT64_MAX */
        {"307445734561825861m", &any, false, 0},  /* over UINT64_MAX once multiplied */
        {"307445734561825860m", &any, true, (uint64_t)307445734561825860 * 60},
        {"5m", &small, true, 300}, /* max is the value after the unit */
        {"300", &small, true, 300},
        {"301", &small, false, 0},
        {"1K", &small, false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 42;
        assert_int_equal(dga_service_parse_number(cases[i].text, cases[i].scale, &v), cases[i].ok);
        assert_true(v == (cases[i].ok ? cases[i].want : 42)); /* untouched on failure */
    }
    static const struct dga_service_scale digits = {"", NULL, 10};
    uint64_t v = 0;
    assert_false(dga_service_parse_number("5m", &digits, &v)); /* no units: digits only */
    assert_true(dga_service_parse_number("5", &digits, &v));
    assert_int_equal(v, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_good),
        cmocka_unit_test(test_load_crlf),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_load_sizes),
        cmocka_unit_test(test_load_line_ceiling),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_set_find),
        cmocka_unit_test(test_setters),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_parse_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
