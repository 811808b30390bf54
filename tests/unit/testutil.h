/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for the unit tests: fixture paths and loaders, failing allocations. */
#ifndef DGA_TESTUTIL_H
#define DGA_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "dga/evidence.h"

/* Nonces used by the fixtures (see tests/fixtures/PROVENANCE.md). */
#define NONCE_N1 "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb"
#define NONCE_N2 "e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576"
#define NONCE_N3 "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e"
#define NONCE_580 "5bb22e377702d4e1e8215a903ba094826b9ac7f731dee1fe8102958bf2840aca"
#define NONCE_535 "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66"
/* The fake PPCIe board's collection (ppcie/board_8x4.json): "b0a2d" 12 times, then "abcd". */
#define NONCE_BOARD "b0a2db0a2db0a2db0a2db0a2db0a2db0a2db0a2db0a2db0a2db0a2db0a2dabcd"
#define BOARD_GPUS 8
#define BOARD_SWITCHES 4

/* Absolute path of a fixture (relative to tests/fixtures); static buffer. */
const char *fixture_path(const char *rel);
/* Reads a fixture file whole (NUL-terminated); fails the test if it cannot. */
uint8_t *fixture_read(const char *rel, size_t *ret_len);
/* Reads a report.hex fixture and decodes it. */
uint8_t *fixture_report(const char *rel, size_t *ret_len);

/* Writes len bytes to dir/name; fails the test if it cannot. */
void test_write_file(const char *dir, const char *name, const void *data, size_t len);
/* Copies a fixture (relative to tests/fixtures) to dir/name. */
void fixture_copy(const char *rel, const char *dir, const char *name);
/*
 * The raw evidence pair of a fixture directory (dir ends in '/': report.hex and
 * certchain.pem), optionally with another PEM chain text instead.
 */
void fixture_evidence(const char *dir, enum dga_arch arch, const char *pem_override,
                      struct dga_evidence_set *set);
/*
 * The fake PPCIe board (ppcie/board_8x4.json, nonce NONCE_BOARD, under
 * testpki/root.pem): its 8 GPUs, then its 4 NVSwitches as
 * dga_switch_collection_to_evidence gives them (NSCQ tnvl 3 each).
 */
void fixture_board(struct dga_evidence_set *set);

/* Builds a JSON value from ctx (new reference, NULL on failure). */
typedef json_t *(*test_json_build_fn)(const void *ctx);
/*
 * Calls build once for each allocation it makes, with jansson's allocator failing
 * that allocation only: every such call must return NULL, never a value with a part
 * missing (the test fails naming `what` and the allocation). The first call in which
 * no allocation failed must return a value equal to full. Returns how many
 * allocations that call made.
 */
long test_json_alloc_failures(test_json_build_fn build, const void *ctx, const json_t *full,
                              const char *what);

#endif
