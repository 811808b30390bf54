/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The opaque-data parser: entry points of lib/evidence that are not API. The layer's own
 * files use them; tests/unit and fuzz/ call them directly to reach one parser
 * on its own (through the dga_testing CMake target, which puts lib/ on their
 * include path). Programs and other layers never include this header.
 */
#ifndef DGA_EVIDENCE_TESTING_H
#define DGA_EVIDENCE_TESTING_H

#include <stddef.h>
#include <stdint.h>

#include "dga/error.h"
#include "dga/evidence.h"

/* Parses opaque data alone (dga_report_parse parses it inside a report). */
dga_err dga_opaque_parse(const uint8_t *bytes, size_t len, size_t base_offset, enum dga_arch arch,
                         struct dga_opaque *ret, struct dga_diag *diag);

#endif
