/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the relying party's expectations document
 * (dga_cvm_expect_parse, docs/verify.md): every key, nested gpu object,
 * allow-lists, counts. Seeds (fuzz/run-smoke.sh): documents using every key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dga/cvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dga_cvm_expect x;
    dga_err e = dga_cvm_expect_parse((const char *)data, size, &x, NULL);
    if (e == DGA_E_OK) {
        /* Parsed lists are never empty and always of their value's length. */
        if ((x.app_id.present && (x.app_id.n == 0 || x.app_id.len != 20)) ||
            (x.gpu.gpu_policy_hashes.present && x.gpu.gpu_policy_hashes.len != 32)) {
            abort();
        }
        dga_cvm_expect_clear(&x);
    }
    return 0;
}
