/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sysfs attribute parser and the state reader's child pid: entry points of lib/collect
 * that are not API. The layer's own files use them; tests/unit and fuzz/ call them directly to
 * reach one parser on its own (through the dga_testing CMake target, which puts lib/ on their
 * include path). Programs and other layers never include this header.
 */
#ifndef DGA_COLLECT_TESTING_H
#define DGA_COLLECT_TESTING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dga/error.h"

/* Parses one sysfs hex attribute ("0x10de\n"): at most max, strictly (dga_inventory_scan). */
dga_err dga_sysfs_hex_parse(const char *text, size_t len, uint32_t max, uint32_t *ret);

struct dga_nvml_state_reader;
/* The state reader's running child, -1 when none is (tests: one child across reads, respawn). */
pid_t dga_nvml_state_reader_pid(const struct dga_nvml_state_reader *r);

#endif
