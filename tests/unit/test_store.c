/* SPDX-License-Identifier: Apache-2.0 */
/* The filesystem RIM store, in a temporary directory built by each test. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dga/rim.h"

#define ID "NV_GPU_VBIOS_1010_0200_882_96005E0001"

static void write_file(const char *dir, const char *name, const char *content)
{
    test_write_file(dir, name, content, strlen(content));
}

static int setup(void **state)
{
    char *dir = strdup("/tmp/dga-store-XXXXXX");
    assert_non_null(mkdtemp(dir));
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", (char *)*state);
    assert_int_equal(system(cmd), 0);
    free(*state);
    return 0;
}

static void test_main_then_reissues_in_order(void **state)
{
    const char *dir = *state;
    char sub[4096];
    write_file(dir, ID ".xml", "main");
    snprintf(sub, sizeof sub, "%s/%s.d", dir, ID);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(sub, "b-2024.xml", "second");
    write_file(sub, "a-2023.xml", "first");
    write_file(sub, "notes.txt", "ignored");
    write_file(sub, ".hidden.xml", "ignored");
    struct dga_rim_candidates c;
    assert_int_equal(dga_rim_store_read(dir, ID, &c, NULL), DGA_E_OK);
    assert_int_equal(c.n, 3);
    assert_string_equal((char *)c.c[0].bytes, "main");
    assert_string_equal((char *)c.c[1].bytes, "first");
    assert_string_equal((char *)c.c[2].bytes, "second");
    assert_non_null(strstr(c.c[2].path, ID ".d/b-2024.xml"));
    dga_rim_candidates_clear(&c);
}

static void test_reissues_only(void **state)
{
    const char *dir = *state;
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/%s.d", dir, ID);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(sub, "x.xml", "only");
    struct dga_rim_candidates c;
    assert_int_equal(dga_rim_store_read(dir, ID, &c, NULL), DGA_E_OK);
    assert_int_equal(c.n, 1);
    dga_rim_candidates_clear(&c);
}

static void test_not_found_and_unreadable(void **state)
{
    const char *dir = *state;
    struct dga_rim_candidates c;
    struct dga_diag diag = {0};
    assert_int_equal(dga_rim_store_read(dir, ID, &c, &diag), DGA_E_RIM_NOT_FOUND);
    assert_int_equal(dga_rim_store_read("/nonexistent/store", ID, &c, &diag), DGA_E_RIM_STORE);
    char file[4096];
    snprintf(file, sizeof file, "%s/plain", dir);
    write_file(dir, "plain", "x");
    assert_int_equal(dga_rim_store_read(file, ID, &c, &diag), DGA_E_RIM_STORE);
    /* A directory where the document should be is an error, not "not found". */
    char odd[4096];
    snprintf(odd, sizeof odd, "%s/%s.xml", dir, ID);
    assert_int_equal(mkdir(odd, 0700), 0);
    assert_int_equal(dga_rim_store_read(dir, ID, &c, &diag), DGA_E_NOT_REGULAR_FILE);
}

/*
 * A FIFO named like a RIM is refused at once, not waited on (alarm: the test
 * dies instead of hanging if the open blocks); a symbolic link planted in the
 * store is refused, not followed, for the main document and a re-issue alike.
 */
static void test_fifo_and_symlink_refused(void **state)
{
    const char *dir = *state;
    char path[4200], sub[4096], target[4096];
    struct dga_rim_candidates c;
    struct dga_diag diag = {0};
    snprintf(path, sizeof path, "%s/%s.xml", dir, ID);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(10);
    assert_int_equal(dga_rim_store_read(dir, ID, &c, &diag), DGA_E_NOT_REGULAR_FILE);
    alarm(0);
    assert_string_equal(diag.field, "RIM document");
    assert_int_equal(unlink(path), 0);

    write_file(dir, "elsewhere", "<doc/>");
    snprintf(target, sizeof target, "%s/elsewhere", dir);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(dga_rim_store_read(dir, ID, &c, NULL), DGA_E_NOT_REGULAR_FILE);
    assert_int_equal(unlink(path), 0);

    snprintf(sub, sizeof sub, "%s/%s.d", dir, ID);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/a.xml", sub);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(dga_rim_store_read(dir, ID, &c, NULL), DGA_E_NOT_REGULAR_FILE);
}

static void test_unsafe_ids(void **state)
{
    const char *dir = *state;
    struct dga_rim_candidates c;
    const char *bad[] = {"", "../etc/passwd", "a/b", ".hidden", "a b", "x\n", NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        assert_false(dga_rim_id_valid(bad[i]));
        assert_int_equal(dga_rim_store_read(dir, bad[i], &c, NULL), DGA_E_BAD_ARGUMENT);
    }
    char long_id[200];
    memset(long_id, 'A', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_false(dga_rim_id_valid(long_id));
    assert_true(dga_rim_id_valid(ID));
    assert_true(dga_rim_id_valid("NV_GPU_DRIVER_GH100_550.144.03"));
}

static void test_candidate_limit(void **state)
{
    const char *dir = *state;
    char sub[4096], name[32];
    snprintf(sub, sizeof sub, "%s/%s.d", dir, ID);
    assert_int_equal(mkdir(sub, 0700), 0);
    for (int i = 0; i <= DGA_RIM_STORE_MAX_CANDIDATES; i++) {
        snprintf(name, sizeof name, "%02d.xml", i);
        write_file(sub, name, "x");
    }
    struct dga_rim_candidates c;
    assert_int_equal(dga_rim_store_read(dir, ID, &c, NULL), DGA_E_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_main_then_reissues_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reissues_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_and_symlink_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_candidate_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
