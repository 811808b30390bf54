/* SPDX-License-Identifier: Apache-2.0 */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dga/collect.h"
#include "dga/util.h"

const char *fixture_path(const char *rel)
{
    static char path[4096];
    const char *dir = getenv("DGA_FIXTURES");
    snprintf(path, sizeof path, "%s/%s", dir != NULL ? dir : "tests/fixtures", rel);
    return path;
}

uint8_t *fixture_read(const char *rel, size_t *ret_len)
{
    uint8_t *data = NULL;
    size_t len = 0;
    dga_err e = dga_file_read(fixture_path(rel), 16u << 20, &data, &len);
    if (e != DGA_E_OK) {
        fail_msg("cannot read fixture %s: %s", fixture_path(rel), dga_err_message(e));
    }
    if (ret_len != NULL) {
        *ret_len = len;
    }
    return data;
}

uint8_t *fixture_report(const char *rel, size_t *ret_len)
{
    size_t len;
    uint8_t *text = fixture_read(rel, &len);
    uint8_t *bytes = NULL;
    dga_err e = dga_hex_decode((const char *)text, len, &bytes, ret_len);
    free(text);
    assert_int_equal(e, DGA_E_OK);
    return bytes;
}

void test_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

void fixture_copy(const char *rel, const char *dir, const char *name)
{
    size_t len;
    uint8_t *data = fixture_read(rel, &len);
    test_write_file(dir, name, data, len);
    free(data);
}

void fixture_evidence(const char *dir, enum dga_arch arch, const char *pem_override,
                      struct dga_evidence_set *set)
{
    char rel[512];
    size_t hex_len, pem_len;
    snprintf(rel, sizeof rel, "%sreport.hex", dir);
    uint8_t *hex = fixture_read(rel, &hex_len);
    snprintf(rel, sizeof rel, "%scertchain.pem", dir);
    char *pem = (char *)fixture_read(rel, &pem_len);
    const char *use = pem_override != NULL ? pem_override : pem;
    size_t use_len = pem_override != NULL ? strlen(pem_override) : pem_len;
    assert_int_equal(dga_evidence_raw(hex, hex_len, use, use_len, arch, set), DGA_E_OK);
    free(hex);
    free(pem);
}

/* jansson's allocator, failing the nth allocation from now on (counting from 0). */
static long alloc_countdown;
static bool alloc_failed;
static void *failing_malloc(size_t n)
{
    if (alloc_countdown-- == 0) {
        alloc_failed = true;
        return NULL;
    }
    return malloc(n);
}

long test_json_alloc_failures(test_json_build_fn build, const void *ctx, const json_t *full,
                              const char *what)
{
    for (long n = 0;; n++) {
        alloc_countdown = n;
        alloc_failed = false;
        json_set_alloc_funcs(failing_malloc, free);
        json_t *v = build(ctx);
        json_set_alloc_funcs(malloc, free);
        if (!alloc_failed) {
            assert_true(json_equal(v, full));
            json_decref(v);
            return n;
        }
        if (v != NULL) {
            print_error("allocation %ld failed, %s still returned\n", n, what);
        }
        assert_null(v);
    }
}

/* One member of the board's collect output, dumped, as the parser of its kind reads it. */
static char *board_member(const json_t *root, const char *key, bool wrap)
{
    json_t *m = json_object_get(root, key);
    assert_non_null(m);
    json_t *doc = wrap ? json_pack("{s:O}", "evidences", m) : json_incref(m);
    assert_non_null(doc);
    char *text = json_dumps(doc, JSON_COMPACT);
    assert_non_null(text);
    json_decref(doc);
    return text;
}

void fixture_board(struct dga_evidence_set *set)
{
    size_t len = 0;
    char *text = (char *)fixture_read("ppcie/board_8x4.json", &len);
    json_t *root = json_loadb(text, len, 0, NULL);
    assert_non_null(root);
    free(text);
    char *gpus = board_member(root, "evidences", true);
    assert_int_equal(dga_evidence_json_parse(gpus, strlen(gpus), set, NULL), DGA_E_OK);
    free(gpus);
    char *switches = board_member(root, "switches", false);
    json_decref(root);
    struct dga_switch_collection *c = calloc(1, sizeof *c);
    struct dga_evidence_set *sw = calloc(1, sizeof *sw);
    assert_non_null(c);
    assert_non_null(sw);
    assert_int_equal(dga_switch_collection_from_json(switches, strlen(switches), c, NULL),
                     DGA_E_OK);
    free(switches);
    assert_int_equal(dga_switch_collection_to_evidence(c, sw), DGA_E_OK);
    assert_int_equal(set->n, BOARD_GPUS);
    assert_int_equal(sw->n, BOARD_SWITCHES);
    for (size_t i = 0; i < sw->n; i++) {
        set->dev[set->n++] = sw->dev[i]; /* moved */
    }
    sw->n = 0;
    dga_switch_collection_clear(c);
    free(c);
    free(sw);
}
