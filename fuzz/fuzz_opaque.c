/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the opaque-data TLV parser alone. The input is the raw
 * opaque-data bytes (what follows OpaqueLength in a MEASUREMENTS response);
 * each input is parsed as a GPU (Hopper, Blackwell) and as an NVSwitch (LS10),
 * since field rules differ by device kind.
 */
#include <stddef.h>
#include <stdint.h>

#include "dga/error.h"
#include "dga/evidence.h"
#include "evidence/testing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum dga_arch arches[3] = {DGA_ARCH_HOPPER, DGA_ARCH_BLACKWELL, DGA_ARCH_LS10};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dga_opaque opaque;

    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++) {
        struct dga_diag diag = {0};
        (void)dga_opaque_parse(data, size, 0, arches[i], &opaque, &diag);
    }
    return 0;
}
