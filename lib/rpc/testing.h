/* SPDX-License-Identifier: Apache-2.0 */
/* For the RPC service's tests and fuzz target only: its parts, and the method table walked. */
#ifndef DGA_RPC_TESTING_H
#define DGA_RPC_TESTING_H

#include <stddef.h>

#include "dstack_gpu_attest.pb-c.h"
#include "rpc/internal.h"
#include "rpc/pbjson.h"

/* The i-th method of the table, NULL past its end: a test runs every method's real answer. */
const struct rpc_method *rpc_method_at(size_t i);

#endif
