/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protobuf mode (docs/rpc.md): a generic conversion between a protobuf-c
 * message, walked through its descriptor, and prpc's JSON mapping of it
 * (snake_case members, bytes as lowercase hex, integers as JSON numbers,
 * every field present with its proto3 default, an absent sub-message null).
 * The methods speak the JSON mapping only; the router converts at the edge.
 */
#ifndef DGA_RPC_PBJSON_H
#define DGA_RPC_PBJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "rpc/internal.h"

#define PBJSON_DEPTH_MAX 8            /* sub-message nesting (the .proto nests 3) */
#define PBJSON_REPEATED_MAX 65536u    /* elements of one repeated field */
#define PBJSON_PACKED_MAX (32u << 20) /* one packed message */

/*
 * n protobuf bytes of message d as a new JSON object in the mapping (every
 * field of d; unknown fields are ignored, as prost does). Failures fill f:
 * DGA_E_RPC_REQUEST when the bytes do not unpack, a string is not UTF-8 or a
 * uint64 does not fit a JSON number (the detail says which); DGA_E_NOMEM alone
 * leaves f.
 */
dga_err pbjson_decode(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, json_t **ret,
                      struct rpc_failure *f);

/*
 * The JSON object o, in the mapping, packed as message d (*ret malloc'd;
 * an empty message is a valid 0-byte answer, *ret then a 1-byte allocation).
 * A member d lacks, a value of the wrong type or out of its field's range,
 * hex that is not lowercase and even, a string holding U+0000, nesting past
 * PBJSON_DEPTH_MAX, a repeated field past PBJSON_REPEATED_MAX or a message past
 * PBJSON_PACKED_MAX fill f with DGA_E_RPC_RESPONSE, the detail naming the
 * member ("verdict.devices[0].label"). JSON null is the field unset.
 */
dga_err pbjson_encode(const ProtobufCMessageDescriptor *d, json_t *o, uint8_t **ret,
                      size_t *ret_len, struct rpc_failure *f);

/*
 * One "key=value" argument of message d (a GET query's pair, decoded; an
 * argument of the `rpc` client) into the object args, typed as the mapping
 * has it: string as is, bytes as hex (either case in, lowercase out), bool
 * "true"/"false", integers in decimal. A key d lacks is skipped when
 * skip_unknown (serde ignores unknown members), else an error; a key already
 * in args is an error. Failures fill f with err and a detail naming the key.
 */
dga_err pbjson_arg(const ProtobufCMessageDescriptor *d, const char *key, const char *value,
                   bool skip_unknown, json_t *args, dga_err err, struct rpc_failure *f);

#endif
