/* SPDX-License-Identifier: Apache-2.0 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

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
