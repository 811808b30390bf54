/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For the RPC service's tests and fuzz target only: its parts (the method
 * table walked, AttestGpu's rate limit and argument reader). The layer's own
 * files use them; tests/unit calls them directly, with a clock of its own
 * (through the dga_testing CMake target, which puts lib/ on their include
 * path). Programs and other layers never include this header.
 */
#ifndef DGA_RPC_TESTING_H
#define DGA_RPC_TESTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dga/error.h"
#include "dga/evidence.h"

struct rpc_method; /* rpc/internal.h */

/* The i-th method of the table, NULL past its end: a test runs every method's real answer. */
const struct rpc_method *rpc_method_at(size_t i);
/*
 * A token bucket of `burst` tokens, one more every interval_ms, kept as the
 * time the bucket will next be full (GCRA: no timer, one number). burst 0
 * is treated as 1; interval_ms 0 is no limit.
 */
struct rpc_bucket {
    unsigned burst;
    int64_t interval_ms;
    int64_t full_at_ms; /* 0: full since the start */
};

/*
 * Takes one token at now_ms (a monotonic clock): true, or false with
 * *ret_wait_ms (> 0) until one is there again; the bucket is unchanged then.
 */
bool rpc_bucket_take(struct rpc_bucket *b, int64_t now_ms, int64_t *ret_wait_ms);

/*
 * AttestGpuRequest in prpc's JSON mapping: "nonce", lowercase or uppercase
 * hex of exactly DGA_NONCE_LEN bytes. Missing, not a string, not hex or
 * another length is DGA_E_RPC_FIELD with detail naming the field and why
 * (detail has room for 128 bytes). out is untouched on failure.
 */
dga_err rpc_attest_args(const json_t *args, uint8_t out[DGA_NONCE_LEN], char detail[128]);

#endif
