/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: NVIDIA's serialized evidence JSON (array of devices or the
 * {"evidences": [...]} wrapper). The input is passed with its exact length and
 * no terminating NUL, as the API allows; a set that parses is freed, so
 * LeakSanitizer checks ownership on both the success and the failure paths.
 */
#include <stddef.h>
#include <stdint.h>

#include "dga/error.h"
#include "dga/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dga_evidence_set set;
    struct dga_diag diag = {0};

    if (dga_evidence_json_parse((const char *)data, size, &set, &diag) == DGA_E_OK) {
        dga_evidence_set_clear(&set);
    }
    return 0;
}
