/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the two parsers of lib/collect that read bytes from
 * outside. The first input byte picks one: even, the collection JSON (what
 * the deadline child hands the parent, and what `collect` writes); odd, one
 * sysfs hex attribute ("0x10de\n"). The rest is the input, passed with its
 * exact length and no terminating NUL. A collection that parses is freed, so
 * LeakSanitizer checks ownership on both paths.
 */
#include <stddef.h>
#include <stdint.h>

#include "collect/testing.h"
#include "dga/collect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dga_collection c;
    struct dga_diag diag = {0};
    uint32_t v;

    if (size == 0) {
        return 0;
    }
    const char *text = (const char *)data + 1;
    if ((data[0] & 1) == 0) {
        if (dga_collection_from_json(text, size - 1, &c, &diag) == DGA_E_OK) {
            dga_collection_clear(&c);
        }
    } else {
        (void)dga_sysfs_hex_parse(text, size - 1, 0xffffff, &v);
    }
    return 0;
}
