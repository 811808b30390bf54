/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest RPC service (docs/rpc.md): inside the CVM, apps ask over a Unix
 * socket what the boot gate committed, on dstack's prpc conventions (one
 * route per method, "/<Method>", GET and POST; JSON when the method is GET,
 * "?json" is set or the Content-Type is JSON; bytes fields as lowercase hex;
 * every error HTTP 400 {"error": "..."}). It reads the gate's own config
 * file (dga/gate.h) for where the bundle, the event log and NVML are, so the
 * two never disagree. Methods: GpuInfo (dstack's), GetGpuAttestation,
 * EnsureGpuReady (re-attests a lost ready state), AttestGpu (a caller's nonce).
 * Protobuf mode speaks proto/dstack_gpu_attest.proto (protobuf-c), errors
 * as its PrpcError. The client side (dga_rpc_client_call) is the `rpc`
 * command's.
 */
#ifndef DGA_RPC_H
#define DGA_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dga/error.h"
#include "dga/service.h"

#define DGA_RPC_DEFAULT_LISTEN "unix:/run/dstack-gpu-attest.sock"
#define DGA_RPC_PATH_MAX 4096u
#define DGA_RPC_MAX_REQUEST_MAX (1u << 20) /* every method takes at most a small JSON object */

#define DGA_RPC_GROUP_MAX 256u

struct dga_rpc_config {
    /*
     * The gate's config file ("--config": the option table fills it in; dga_rpc_new
     * takes the path as its own argument, so a program passes this field).
     */
    char gate_config[DGA_RPC_PATH_MAX];
    char listen[DGA_RPC_PATH_MAX + 8];    /* "unix:PATH" (or ADDR:PORT, for tests) */
    unsigned socket_mode;                 /* the socket file's mode (0666) */
    char socket_group[DGA_RPC_GROUP_MAX]; /* the socket file's group ("": the service's own) */
    /*
     * max-connections (64), client-timeout (10s), client-request-timeout (30s), max-request
     * (64K, at most DGA_RPC_MAX_REQUEST_MAX). max_connections_per_client is no option here:
     * every client of a Unix socket is the same "address", so the service takes
     * max_connections for it.
     */
    struct dga_service_limits limits;
    unsigned attest_burst;   /* AttestGpu calls at once (2) */
    int64_t attest_interval; /* seconds per AttestGpu after those (10) */
    dga_service_log_fn log;  /* one line per request, peer included */
    void *log_cls;
};

/* The option table for the flags (dga/service.h); "config" is the gate's file's path. */
const struct dga_service_options *dga_rpc_config_options(void);
/* The defaults above. */
void dga_rpc_config_defaults(struct dga_rpc_config *c);
/* The help text of the table, one line per option (static storage). */
const char *dga_rpc_config_help(void);
/*
 * The config as a whole (the table checks each value alone): DGA_E_BAD_ARGUMENT, diag->field
 * the option's key, for a limit dga_service_limits_check refuses (max-request over
 * DGA_RPC_MAX_REQUEST_MAX included) or an attest-burst of 0. dga_rpc_new checks it too.
 */
dga_err dga_rpc_config_check(const struct dga_rpc_config *c, struct dga_diag *diag);

struct dga_rpc;

/*
 * Checks c (dga_rpc_config_check), then reads the gate's config file
 * (dga_gate_config_parse: its errors, diag->field
 * naming the key; a file that cannot be read: dga_file_read's error, field
 * "config") and keeps it: where the bundle (run_dir/evidence.json), the
 * runtime event log (event_log_dir) and NVML are, and everything a
 * re-attestation or AttestGpu runs the gate with. Nothing else is read until
 * a request asks. c is copied; free with dga_rpc_free.
 */
dga_err dga_rpc_new(const struct dga_rpc_config *c, const char *gate_config_path,
                    struct dga_rpc **ret, struct dga_diag *diag);
/* Stops serving (if it did) and frees r; NULL is fine. */
void dga_rpc_free(struct dga_rpc *r);
/* For _cleanup_: dga_rpc_free(*p), then *p = NULL. */
static inline void dga_rpc_freep(struct dga_rpc **p)
{
    dga_rpc_free(*p);
    *p = NULL;
}

/*
 * Listens on c->listen, or on the socket systemd passed (socket activation:
 * then c->listen, socket_mode and socket_group are not used; dga_service_start's
 * errors, DGA_E_SERVICE_LISTEN, DGA_E_SERVICE_IN_USE, DGA_E_SERVICE_GROUP,
 * DGA_E_SERVICE_ACTIVATION, ...). Logs which one it serves on.
 */
dga_err dga_rpc_serve(struct dga_rpc *r, struct dga_diag *diag);

/*
 * prpc's choice of encoding for req: JSON when the HTTP method is GET, the
 * query has "json" (empty, "true" or "1") or the Content-Type is
 * application/json; protobuf otherwise.
 */
bool dga_rpc_request_json(const struct dga_service_request *req);

/*
 * One request through the router, as the server answers it: *ret_status 200
 * or 400, *ret_body malloc'd (*ret_len bytes): in JSON mode a JSON text
 * (compact on success, dstack's pretty-printed {"error": "..."} on failure),
 * in protobuf mode (dga_rpc_request_json false) the packed response message
 * or PrpcError. DGA_E_NOMEM only when no answer could be made.
 */
dga_err dga_rpc_call(struct dga_rpc *r, const struct dga_service_request *req, unsigned *ret_status,
                     char **ret_body, size_t *ret_len);

/* ---- the client (the `rpc` command) ---- */

#define DGA_RPC_DEFAULT_SOCKET "/run/dstack-gpu-attest.sock"
#define DGA_RPC_CLIENT_ANSWER_MAX (32u << 20) /* an answer's body: a bundle, and its hex */
#define DGA_RPC_CLIENT_TIMEOUT_MS 120000L     /* one call, connecting included */

struct dga_rpc_client_request {
    const char *socket; /* the service's Unix socket */
    const char *method; /* "GpuInfo": letters, digits, '_' */
    char *const *args;  /* n_args "field=value" of the request message */
    size_t n_args;
    bool proto; /* protobuf both ways (else JSON) */
};

struct dga_rpc_client_answer {
    unsigned status;  /* 200 or 400 */
    json_t *response; /* 200: the response message in prpc's JSON mapping */
    char *error;      /* 400: the service's "<name>: <message>[: <detail>]" */
    dga_err err;      /* 400: the error that names (DGA_E_INTERNAL for a name unknown here) */
};

/*
 * POSTs one call to the service over its Unix socket (libcurl, loaded on
 * first use) and decodes the answer into *ret (clear with
 * dga_rpc_client_answer_clear). Arguments are typed by the method's request
 * message as the JSON mapping has them (bytes as hex, bool true/false,
 * integers in decimal); in protobuf mode they are packed as that message and
 * the answer unpacked as its response message or PrpcError. A method this
 * build does not know is still sent in JSON mode (its arguments as strings;
 * the service decides), in protobuf mode only without arguments. Errors
 * (detail, DGA_RPC_DETAIL_MAX bytes, says more; *ret untouched):
 * DGA_E_RPC_ARGUMENT for a bad argument or method name, DGA_E_RPC_CONNECT
 * when the socket does not answer, DGA_E_TOO_LARGE past
 * DGA_RPC_CLIENT_ANSWER_MAX, DGA_E_RPC_ANSWER for an answer that does not
 * decode or a status other than 200 and 400, DGA_E_RUNTIME_LIBRARY (libcurl).
 */
#define DGA_RPC_DETAIL_MAX 256
dga_err dga_rpc_client_call(const struct dga_rpc_client_request *req,
                            struct dga_rpc_client_answer *ret, char detail[DGA_RPC_DETAIL_MAX]);
/* Frees what a holds and zeroes it; NULL is fine. */
void dga_rpc_client_answer_clear(struct dga_rpc_client_answer *a);
static inline void dga_rpc_client_answer_clearp(struct dga_rpc_client_answer *a)
{
    dga_rpc_client_answer_clear(a);
}

#endif
