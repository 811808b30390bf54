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
 */
#ifndef DGA_RPC_H
#define DGA_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dga/error.h"
#include "dga/service.h"

#define DGA_RPC_DEFAULT_LISTEN "unix:/run/dstack-gpu-attest.sock"
#define DGA_RPC_PATH_MAX 4096u
#define DGA_RPC_MAX_REQUEST_MAX (1u << 20) /* every method takes at most a small JSON object */

struct dga_rpc_config {
    char listen[DGA_RPC_PATH_MAX + 8];              /* "unix:PATH" (or ADDR:PORT, for tests) */
    unsigned socket_mode;                           /* the socket file's mode (0666) */
    int64_t client_timeout, client_request_timeout; /* seconds (10, 30) */
    size_t max_request;                             /* request body cap (64K) */
    unsigned max_connections;                       /* (64) */
    unsigned attest_burst;                          /* AttestGpu calls at once (2) */
    int64_t attest_interval;                        /* seconds per AttestGpu after those (10) */
    dga_service_log_fn log;                         /* one line per request, peer included */
    void *log_cls;
};

/* The option table for the flags (dga/service.h); "--config" is the gate's file, not here. */
const struct dga_service_options *dga_rpc_config_options(void);
/* The defaults above. */
void dga_rpc_config_defaults(struct dga_rpc_config *c);
/* The help text of the table, one line per option (static storage). */
const char *dga_rpc_config_help(void);

struct dga_rpc;

/*
 * Reads the gate's config file (dga_gate_config_parse: its errors, diag->field
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

/* Listens on c->listen (DGA_E_SERVICE_LISTEN, ...: dga_service_start's errors). */
dga_err dga_rpc_serve(struct dga_rpc *r, struct dga_diag *diag);

/*
 * One request through the router, as the server answers it: *ret_status 200
 * or 400, *ret_body a malloc'd JSON text (compact on success, dstack's
 * pretty-printed {"error": "..."} on failure). DGA_E_NOMEM only when no
 * answer could be made.
 */
dga_err dga_rpc_call(struct dga_rpc *r, const struct dga_service_request *req, unsigned *ret_status,
                     char **ret_body, size_t *ret_len);

#endif
