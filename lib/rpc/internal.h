/* SPDX-License-Identifier: Apache-2.0 */
/* The RPC service's parts (lib/rpc): what the router and the methods share. */
#ifndef DGA_RPC_INTERNAL_H
#define DGA_RPC_INTERNAL_H

#include <pthread.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "dga/gate.h"
#include "dga/rpc.h"
#include "dga/service.h"

struct dga_rpc {
    struct dga_rpc_config cfg;
    struct dga_gate_config *gate; /* the gate's own config: where everything is */
    char bundle_path[DGA_GATE_PATH_MAX + 32];
    char log_path[DGA_GATE_PATH_MAX + 32];
    pthread_mutex_t nvml_mu; /* one NVML session at a time */
    struct dga_service *svc;
};

/*
 * A method's failure: the error and a detail (or ""), answered as
 * {"error": "<name>: <message>[: <detail>]"}.
 */
struct rpc_failure {
    dga_err err;
    char detail[256];
};

/*
 * The methods. args is the request message in prpc's JSON mapping (a JSON
 * object: snake_case field names, bytes as lowercase hex; {} for Empty),
 * whichever encoding the request came in; unknown members are ignored, as
 * serde does. *ret a new JSON object in the same mapping on success
 * (DGA_E_OK), the response message of proto/dstack_gpu_attest.proto; any
 * other error fills *f (DGA_E_NOMEM alone leaves it: the caller answers no
 * memory).
 */
dga_err rpc_gpu_info(struct dga_rpc *r, const json_t *args, json_t **ret, struct rpc_failure *f);
dga_err rpc_get_gpu_attestation(struct dga_rpc *r, const json_t *args, json_t **ret,
                                struct rpc_failure *f);

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing past U+10FFFF, no cut sequence. */
bool rpc_utf8_valid(const uint8_t *p, size_t n);

typedef dga_err (*rpc_method_fn)(struct dga_rpc *r, const json_t *args, json_t **ret,
                                 struct rpc_failure *f);

/* A method of the table (server.c): its function and its messages in the .proto. */
struct rpc_method {
    const char *name;
    rpc_method_fn fn;
    const ProtobufCMessageDescriptor *request, *response;
};

/* The method called name, NULL when there is none. */
const struct rpc_method *rpc_method_find(const char *name);

/*
 * A GET's query ("a=1&b=x%20y", without '?') as the method's arguments,
 * serde_qs's way: '+' is a space, %XX escapes decoded (the text must be UTF-8
 * without U+0000), each key at most once, the "json" key skipped, keys the
 * request message d lacks ignored, values typed as pbjson_arg does. At most
 * RPC_QUERY_PAIRS_MAX pairs. Failures fill f with DGA_E_RPC_REQUEST.
 */
#define RPC_QUERY_PAIRS_MAX 32
dga_err rpc_query_args(const ProtobufCMessageDescriptor *d, const char *query, json_t **ret,
                       struct rpc_failure *f);

#endif
