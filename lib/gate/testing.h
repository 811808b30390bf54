/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The evidence bundle's JSON: an entry point of lib/gate that is not API. The layer's own
 * files use it; tests/unit calls it directly to build the bundle from a run state of its
 * own (through the dga_testing CMake target, which puts lib/ on their include path).
 * Programs and other layers never include this header.
 */
#ifndef DGA_GATE_TESTING_H
#define DGA_GATE_TESTING_H

#include <jansson.h>

#include "gate/internal.h"

/*
 * The bundle gate_bundle_write serializes: every member, or NULL when one of them
 * cannot be made (memory), never an object with a member or an element missing.
 */
json_t *gate_bundle_json(const struct gate_state *g);

#endif
