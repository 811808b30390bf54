/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a fake's JSON scenario and the files it names, shared by the fake NVML
 * (tests/fake_nvml) and the fake NSCQ (tests/fake_nscq): paths relative to the scenario,
 * whole small files, hex text, typed keys with defaults, a device's chain spliced from its
 * own leaf and a recorded chain, and the sleep of an injected hang.
 */
#ifndef DGA_TESTS_FAKE_SCENARIO_H
#define DGA_TESTS_FAKE_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* rel as is when absolute, else next to the scenario file (the current folder if it has none). */
void fake_path_join(const char *scenario, const char *rel, char *out, size_t cap);

/* A file's first 1 MiB - 1 bytes, NUL-terminated (malloc'd); NULL if it cannot be read. */
char *fake_read_file(const char *path, size_t *ret_len);

/*
 * Hex text (whitespace ignored) to bytes in out[cap]; the byte count, or -1 on a non-hex
 * character, an odd digit count or more than cap bytes. out may be text itself (in place).
 */
long fake_unhex(const char *text, size_t len, unsigned char *out, size_t cap);

/* A scenario key's value, or dflt when it is absent or of another type. */
long fake_get_long(json_t *s, const char *key, long dflt);
unsigned fake_get_uint(json_t *s, const char *key, unsigned dflt);
const char *fake_get_str(json_t *s, const char *key, const char *dflt);

/*
 * A device's own chain: the PEM leaf in leaf_path, then chain after its first certificate
 * (the recorded leaf replaced). malloc'd and NUL-terminated, its length in *ret_len; NULL if
 * the leaf cannot be read or chain has no certificate.
 */
char *fake_leaf_chain(const char *leaf_path, const char *chain, size_t chain_len, size_t *ret_len);

/* Sleeps ms milliseconds, through interruptions (an injected hang). */
void fake_sleep_ms(long ms);

#endif
