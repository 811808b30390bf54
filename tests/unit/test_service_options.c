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
    unsigned sets; /* how many setters succeeded */
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
    return set_name(config, o, value);
}

static dga_err set_on(void *config, const struct dga_service_option *o, const char *value)
{
    (void)o;
    if (strcmp(value, "true") != 0) {
        return DGA_E_BAD_ARGUMENT;
    }
    ((struct toy *)config)->on = true;
    return DGA_E_OK;
}

static const struct dga_service_option toy_options[] = {
    {"name", "NAME", "a short name (none)", set_name, offsetof(struct toy, name),
     sizeof(((struct toy *)0)->name)},
    {"text", "TEXT", "any text", set_text, offsetof(struct toy, text),
     sizeof(((struct toy *)0)->text)},
    {"on", "", "a switch (off)", set_on, 0, 0},
};

#define TOY_FILE_MAX 128
#define TOY_LINE_LIMIT 48

static const struct dga_service_options toy = {
    .options = toy_options,
    .n = 3,
    .err = DGA_E_PROXY_CONFIG,
    .file_max = TOY_FILE_MAX,
    .line_limit = TOY_LINE_LIMIT,
};

/* The same options, another server's error. */
static const struct dga_service_options toy_verifier = {
    .options = toy_options,
    .n = 3,
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
                               "on = true";
    assert_int_equal(load(&toy, text, &c, &d), DGA_E_OK);
    assert_string_equal(c.name, "a");
    assert_string_equal(c.text, "x = y # not a comment");
    assert_true(c.on);
    assert_int_equal(c.sets, 2);
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
        {"NAME = a\n", 1},                  /* keys are case-sensitive */
        {"#\nname = a\nno equals", 3},      /* the last line, without its newline */
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
        .n = 3,
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

static void test_set_string(void **state)
{
    (void)state;
    struct toy c = {0};
    const struct dga_service_option *o = &toy_options[0]; /* char name[8] */
    assert_int_equal(dga_service_set_string(&c, o, "1234567"), DGA_E_OK);
    assert_string_equal(c.name, "1234567");
    assert_int_equal(dga_service_set_string(&c, o, "12345678"), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_service_set_string(&c, o, ""), DGA_E_BAD_ARGUMENT);
    assert_string_equal(c.name, "1234567");
}

static void test_help(void **state)
{
    (void)state;
    static const char want[] = "  --name NAME                           a short name (none)\n"
                               "  --text TEXT                           any text\n"
                               "  --on                                  a switch (off)\n";
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

static void test_parse_scaled(void **state)
{
    (void)state;
    static const uint64_t mult[] = {60, 1024};
    static const struct {
        const char *text;
        bool ok;
        uint64_t want;
    } cases[] = {
        {"0", true, 0},
        {"007", true, 7},
        {"5m", true, 300},
        {"2K", true, 2048},
        {"18446744073709551615", true, UINT64_MAX},
        {"5M", false, 0}, /* units are case-sensitive */
        {"5k", false, 0},
        {"5x", false, 0},
        {"5mm", false, 0},
        {"m", false, 0},
        {"", false, 0},
        {" 5", false, 0},
        {"+5", false, 0},
        {"-5", false, 0},
        {"5 ", false, 0},
        {"18446744073709551616", false, 0}, /* over UINT64_MAX */
        {"307445734561825861m", false, 0},  /* over UINT64_MAX once multiplied */
        {"307445734561825860m", true, (uint64_t)307445734561825860 * 60},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 42;
        assert_int_equal(dga_service_parse_scaled(cases[i].text, "mK", mult, &v), cases[i].ok);
        assert_true(v == (cases[i].ok ? cases[i].want : 42)); /* untouched on failure */
    }
    uint64_t v = 0;
    assert_false(dga_service_parse_scaled("5m", "", NULL, &v)); /* no units: digits only */
    assert_true(dga_service_parse_scaled("5", "", NULL, &v));
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
        cmocka_unit_test(test_set_string),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_parse_scaled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
