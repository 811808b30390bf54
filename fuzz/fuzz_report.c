/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the attestation report parser. The first input byte
 * chooses the architecture (byte % 3: Hopper, Blackwell, LS10); the rest is
 * the report. A report that parses is also derived and rendered as JSON, so
 * the code that walks a parsed report sees fuzzed values too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "dga/error.h"
#include "dga/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum dga_arch arches[3] = {DGA_ARCH_HOPPER, DGA_ARCH_BLACKWELL, DGA_ARCH_LS10};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Large structs: keep them off the stack and out of ASan's stack frames. */
    static struct dga_report report;
    static struct dga_derived derived;
    struct dga_diag diag = {0};

    if (size < 1) {
        return 0;
    }
    enum dga_arch arch = arches[data[0] % 3];
    if (dga_report_parse(data + 1, size - 1, arch, &report, &diag) != DGA_E_OK) {
        return 0;
    }
    if (dga_report_derive(&report, &derived, &diag) != DGA_E_OK) {
        return 0;
    }
    json_t *j = dga_report_to_json(&report, &derived);
    if (j != NULL) {
        char *text = json_dumps(j, JSON_COMPACT);
        free(text);
        json_decref(j);
    }
    return 0;
}
