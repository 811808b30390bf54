/* SPDX-License-Identifier: Apache-2.0 */
/* The RPC service's parts (lib/rpc): what the router and the methods share. */
#ifndef DGA_RPC_INTERNAL_H
#define DGA_RPC_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "dga/collect.h"
#include "dga/gate.h"
#include "dga/measure.h"
#include "dga/rpc.h"
#include "dga/service.h"
#include "rpc/testing.h"

#define RPC_REASON_LEN 512

/* EnsureGpuReady's answer (EnsureGpuReadyResponse). */
struct rpc_ensure_outcome {
    const char *outcome; /* "already-ready", "reattested", "refused" */
    char reason[RPC_REASON_LEN];
    bool has_sha256;
    uint8_t sha256[32]; /* the re-attestation bundle's (reattested) */
};

struct dga_rpc {
    struct dga_rpc_config cfg;
    struct dga_gate_config *gate; /* the gate's own config: where everything is */
    char bundle_path[DGA_GATE_PATH_MAX + 32];
    char log_path[DGA_GATE_PATH_MAX + 32];
    /*
     * One NVML job at a time, and the one lock for all of them: an
     * attestation (AttestGpu's, a re-attestation: a spawned child each) or a
     * state read (the state reader's long-lived child). So NVML is never
     * called from two processes at once (the state reader's child sits idle
     * between reads), the ready state has one writer, and a state read never
     * sees an attestation half done: EnsureGpuReady's read after a
     * re-attestation sees the state it set. It also serialises the state
     * reader, which is not thread-safe. The children are not forked copies
     * of this threaded process, which could inherit a lock another thread
     * held: `serve` sets a child program (dga_collect_set_child_program), so
     * each is a fresh image of the program, spawned.
     */
    pthread_mutex_t attest_mu;
    /*
     * The CC settings and the ready state, read now (GetGpuAttestation,
     * EnsureGpuReady) by one long-lived child with the gate's cc_timeout_ms
     * per read (dga_nvml_state_reader_*); under attest_mu.
     */
    struct dga_nvml_state_reader *state;
    /*
     * The re-attestation's single flight: while one runs, later callers wait on
     * ensure_cv and take its outcome; reattest_gen counts the completed ones,
     * so a caller whose state read predates the latest one takes its outcome
     * instead of starting another.
     */
    pthread_mutex_t ensure_mu;
    pthread_cond_t ensure_cv;
    bool reattesting;
    uint64_t reattest_gen;
    struct rpc_ensure_outcome reattest_last;
    unsigned reattest_next; /* the next reattestation-<N>.json to try */
    pthread_mutex_t bucket_mu;
    struct rpc_bucket bucket; /* AttestGpu's rate */
    /*
     * GpuInfo's JSON answer for the bundle served last, keyed by that bundle's
     * SHA-256. The key is computed from the bytes read on every request (and
     * bound to the log before the cache is looked at), so an edited bundle can
     * never hit it; what it saves is jansson escaping the same ~40 KB again.
     */
    pthread_mutex_t answer_mu;
    uint8_t answer_sha256[32];
    char *answer_text; /* NULL: nothing cached yet */
    size_t answer_len;
    /*
     * GetGpuAttestation's parts that follow from the bundle's bytes alone (the
     * bundle as a JSON string, its hash, the verdict), as JSON text, keyed the
     * same way under answer_mu. The events (the log, read and bound on every
     * request) and the state (read now) are never kept.
     */
    uint8_t att_sha256[32];
    char *att_head; /* {"bundle":...,"bundle_sha256":"...","events": ; NULL: none yet */
    char *att_verdict;
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

dga_err rpc_failed(struct rpc_failure *f, dga_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* What the gate left: the bundle (NULL when there is none) and the log's events. */
struct rpc_committed {
    uint8_t *bundle;
    size_t bundle_len;
    uint8_t sha256[32];
    struct dga_eventlog *log;    /* NULL when there is no log yet */
    const struct dga_event *att; /* the one gpu-attestation event, or NULL */
};
void rpc_committed_clear(struct rpc_committed *c);

/*
 * Reads the bundle and the log and binds them (docs/rpc.md, GpuInfo): no
 * bundle and no event is the gate never having run (c->bundle NULL); a
 * bundle stands only when it is valid UTF-8 and its SHA-256 is the one
 * gpu-attestation event's evidence_sha256. Clear c whatever it returns.
 */
dga_err rpc_load_committed(const struct dga_rpc *r, struct rpc_committed *c, struct rpc_failure *f);

/*
 * CC settings and the ready state read now by the state reader, with the
 * gate's cc_timeout_ms per read, so a wedged driver costs a request its
 * deadline, never the service a thread (the reader's child is killed and the
 * next read spawns another); under attest_mu, so a read waits for a running
 * attestation. ne says what failed.
 */
dga_err rpc_read_state(struct dga_rpc *r, struct dga_cc_settings *ret_cc, unsigned *ret_ready,
                       struct dga_nvml_error *ne);

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
dga_err rpc_gpu_info_text(struct dga_rpc *r, const json_t *args, char **ret, size_t *ret_len,
                          struct rpc_failure *f);
dga_err rpc_get_gpu_attestation(struct dga_rpc *r, const json_t *args, json_t **ret,
                                struct rpc_failure *f);
dga_err rpc_get_gpu_attestation_text(struct dga_rpc *r, const json_t *args, char **ret,
                                     size_t *ret_len, struct rpc_failure *f);
dga_err rpc_ensure_gpu_ready(struct dga_rpc *r, const json_t *args, json_t **ret,
                             struct rpc_failure *f);
dga_err rpc_attest_gpu(struct dga_rpc *r, const json_t *args, json_t **ret, struct rpc_failure *f);

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing past U+10FFFF, no cut sequence. */
bool rpc_utf8_valid(const uint8_t *p, size_t n);

typedef dga_err (*rpc_method_fn)(struct dga_rpc *r, const json_t *args, json_t **ret,
                                 struct rpc_failure *f);

/*
 * A method's whole JSON answer as text (malloc'd, compact), byte for byte
 * what json_dumps(JSON_COMPACT) makes of fn's answer; for a method whose
 * answer is costly to serialise and worth keeping. Same errors as fn.
 */
typedef dga_err (*rpc_json_text_fn)(struct dga_rpc *r, const json_t *args, char **ret,
                                    size_t *ret_len, struct rpc_failure *f);

/*
 * A method of the table (server.c): its function, its messages in the
 * .proto, and optionally its JSON answer as text (used in JSON mode).
 */
struct rpc_method {
    const char *name;
    rpc_method_fn fn;
    const ProtobufCMessageDescriptor *request, *response;
    rpc_json_text_fn json_text;
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
