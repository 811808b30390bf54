/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack's runtime event protocol (docs/formats.md §14-15):
 * event digests V1/V2, the measured emission (lock, version file, extend the
 * register, then append the log line), the register backends (TDX RTMR3,
 * TPM PCR, a file-backed simulated register), event-log replay and the
 * RFC 8785 canonical JSON behind dstack's gpu-policy-hash. docs/measure.md
 * says what each part does and what was exercised where.
 */
#ifndef DGA_MEASURE_H
#define DGA_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dga/error.h"

/* ---- constants (dstack cc-eventlog runtime_events.rs, dstack-attest) ------------------ */

#define DGA_EVENT_TYPE 0x08000001u /* every dstack runtime event */
#define DGA_EVENT_IMR 3u           /* zero-based: TDX RTMR3 */
#define DGA_EVENT_DIGEST_LEN 48    /* SHA-384, the RTMR width */
#define DGA_EVENT_LOG_DIR "/run/log/dstack"
#define DGA_EVENT_LOG_FILE "runtime_events.log"
#define DGA_EVENT_VERSION_FILE "runtime_event_version"
#define DGA_EVENT_LOCK_FILE "runtime_event.lock"
#define DGA_TDX_RTMR_SYSFS_DIR "/sys/devices/virtual/misc/tdx_guest/measurements"
#define DGA_TDX_RTMR_SYSFS_ENV "DCAP_TDX_RTMR_SYSFS_PATH"
#define DGA_TDX_DEVICE "/dev/tdx_guest"
#define DGA_TDX_CMD_EXTEND_RTMR 0x80315403u /* _IOR('T', 3, 49): the driver's own encoding */
#define DGA_TPM_DEFAULT_PCR 14u

/* Event names this project emits (dstack's boot order: docs/formats.md §14). */
#define DGA_EVENT_GPU_POLICY_HASH "gpu-policy-hash" /* payload: the 32-byte hash below */
#define DGA_EVENT_GPU_ATTESTATION "gpu-attestation" /* payload: JSON, docs/formats.md §16 */
/*
 * A re-attestation after boot (the RPC service's EnsureGpuReady, docs/rpc.md):
 * the gpu-attestation payload's format. Emitted after system-ready, so it is
 * informational for verifiers: it never binds (docs/verify.md).
 */
#define DGA_EVENT_GPU_REATTESTATION "gpu-reattestation"

/* ---- caps on untrusted input ----------------------------------------------------------- */

#define DGA_EVENT_NAME_MAX 255             /* bytes of an event name */
#define DGA_EVENT_PAYLOAD_MAX (64u << 10)  /* decoded payload bytes of one event */
#define DGA_EVENTLOG_MAX_BYTES (4u << 20)  /* a whole log (any of the three forms) */
#define DGA_EVENTLOG_MAX_LINE (128u << 10) /* one JSON line, newline excluded */
#define DGA_EVENTLOG_MAX_EVENTS 4096
#define DGA_JCS_MAX_DEPTH 64 /* nesting of arrays and objects */
#define DGA_APP_COMPOSE_MAX_BYTES (4u << 20)

/* ---- digests ----------------------------------------------------------------------------- */

enum dga_event_version {
    DGA_EVENT_V1 = 1, /* SHA-384(le32(type) ":" name ":" payload) */
    DGA_EVENT_V2 = 2, /* SHA-384(JCS({"name","payload":hex,"type"})) */
};

enum dga_hash_alg {
    DGA_HASH_SHA256, /* TPM SHA-256 bank (GCP PCR14) */
    DGA_HASH_SHA384, /* RTMR, TPM SHA-384 bank (AWS PCR14) */
};

/* Digest length of an algorithm: 32 or 48. */
size_t dga_hash_len(enum dga_hash_alg alg);

/*
 * The bytes a runtime event's digest is taken over. V1 refuses a name that
 * contains ':' (the preimage would be ambiguous; DGA_E_EVENT_NAME). *ret is
 * malloc'd, untouched on failure.
 */
dga_err dga_event_preimage(enum dga_event_version v, const char *name, const uint8_t *payload,
                           size_t len, uint8_t **ret, size_t *ret_len);
/* The digest of that preimage with alg; out holds dga_hash_len(alg) bytes. */
dga_err dga_event_digest(enum dga_event_version v, enum dga_hash_alg alg, const char *name,
                         const uint8_t *payload, size_t len, uint8_t *out);

/*
 * One log line as dstack writes it, without the newline:
 * {"event":"NAME","payload":"<base64>"} plus ,"version":2 for V2.
 * Names must pass dga_event_name_check. *ret is malloc'd and NUL-terminated.
 */
dga_err dga_event_log_line(enum dga_event_version v, const char *name, const uint8_t *payload,
                           size_t len, char **ret);

/*
 * Names this library emits: 1..DGA_EVENT_NAME_MAX bytes of printable ASCII
 * (0x21-0x7e) other than ':', '"' and '\'. Every dstack event name fits.
 * Logs being replayed may hold any UTF-8 name (except ':' under V1).
 */
dga_err dga_event_name_check(const char *name);

/* ---- register backends and emission --------------------------------------------------------- */

struct dga_event_backend; /* opaque */

/* Where everything lives; NULL members take the defaults shown. Tests redirect them all. */
struct dga_event_paths {
    const char *log_dir;       /* DGA_EVENT_LOG_DIR: log and version file */
    const char *lock_path;     /* <log_dir>/DGA_EVENT_LOCK_FILE */
    const char *tdx_sysfs_dir; /* $DCAP_TDX_RTMR_SYSFS_PATH, else DGA_TDX_RTMR_SYSFS_DIR */
    const char *tdx_device;    /* DGA_TDX_DEVICE */
    const char *tpm_tcti;      /* tpm2-tss TCTI config ("device:/dev/tpmrm0", "swtpm:port=2321");
                                  NULL: the TSS's default search */
};

/*
 * A backend from a spec:
 *   sim:PATH           a file holding the 48-byte register; extend =
 *                      SHA-384(old || digest), replaced atomically; a missing
 *                      file reads as 48 zero bytes (the replay start)
 *   tdx                RTMR3 via the sysfs measurement file, else the legacy ioctl
 *   tpm[:PCR[:BANK]]   a TPM PCR through tpm2-tss ESYS; PCR 0-23 (default 14),
 *                      BANK sha256 (default) or sha384
 * A bad spec is DGA_E_BAD_ARGUMENT with diag->field naming the part. Nothing
 * is opened here; paths is copied (may be NULL). For tpm, tpm2-tss is loaded
 * (on first use, once per process): DGA_E_RUNTIME_LIBRARY, diag->field
 * naming the file, when it cannot be.
 */
dga_err dga_event_backend_open(const char *spec, const struct dga_event_paths *paths,
                               struct dga_event_backend **ret, struct dga_diag *diag);
/* Frees b and everything it holds; NULL is fine. */
void dga_event_backend_free(struct dga_event_backend *b);
/* For _cleanup_: dga_event_backend_free(*p), then *p = NULL. */
static inline void dga_event_backend_freep(struct dga_event_backend **p)
{
    dga_event_backend_free(*p);
    *p = NULL;
}

/* The hash the backend extends with (SHA-384 for sim/tdx, the bank for tpm). */
enum dga_hash_alg dga_event_backend_alg(const struct dga_event_backend *b);

/*
 * Reads the register's current value into out (dga_hash_len bytes). sim and
 * tpm only; tdx registers are read from a quote, not here (DGA_E_BAD_ARGUMENT).
 */
dga_err dga_event_backend_read(const struct dga_event_backend *b, uint8_t *out,
                               struct dga_diag *diag);

/*
 * Writes the digest-version file once, as dstack's setup does, under the
 * lock: created if absent; an existing file holding another version is
 * DGA_E_EVENT_VERSION_FILE ("restart the CVM").
 */
dga_err dga_event_version_set(const struct dga_event_backend *b, enum dga_event_version v,
                              struct dga_diag *diag);

/*
 * Emits one runtime event exactly as dstack's emit_runtime_event: validate
 * the name and payload, take the exclusive flock on the lock file (unbounded
 * wait), read the digest version (missing or malformed file:
 * DGA_E_EVENT_VERSION_FILE), extend the register, and only after the extend
 * succeeded append the log line (0600, created with its directory). A failed
 * extend returns its error and leaves the log untouched. If the extend
 * succeeded but the append failed, DGA_E_EVENT_LOG_WRITE: the register now
 * disagrees with the log, which nobody can repair before the next boot.
 */
dga_err dga_event_emit(const struct dga_event_backend *b, const char *name, const uint8_t *payload,
                       size_t len, struct dga_diag *diag);

/* ---- event logs and replay --------------------------------------------------------------------
 */

struct dga_event {
    uint32_t imr;        /* zero-based register index */
    uint32_t event_type; /* DGA_EVENT_TYPE for runtime events */
    char *name;          /* "" for boot (CCEL) events */
    uint8_t *payload;    /* may be NULL when len is 0 */
    size_t payload_len;
    enum dga_event_version version;       /* runtime events */
    uint8_t digest[DGA_EVENT_DIGEST_LEN]; /* recomputed (runtime) or as recorded (boot) */
    size_t where;                         /* 1-based line (JSON lines) or element index */
};

struct dga_eventlog {
    struct dga_event *events;
    size_t n;
    bool boot_events; /* the GetQuote form: boot events are present and RTMR0-2 can be replayed */
};

/*
 * Parses a dstack event log in any of its three forms, told apart by content:
 *  - runtime_events.log: JSON lines {"event","payload"(base64)[,"version"]};
 *    blank lines are skipped; diag->offset is the 1-based line;
 *  - the GetQuote event_log array of {"imr","event_type","digest","event",
 *    "event_payload"(hex)[,"version"][,"preimage"]}; diag->offset is the
 *    1-based element;
 *  - a GetQuote response object whose "event_log" member is that array as a
 *    string (the quote itself is read by dga_tdx_quote_rtmr).
 * Runtime event digests are always recomputed; a recorded non-empty digest
 * that differs is DGA_E_EVENT_DIGEST_MISMATCH, a V2 preimage that is not the
 * canonical one DGA_E_EVENT_PREIMAGE, a runtime event off RTMR3 or a V1 name
 * with ':' DGA_E_EVENT_TYPE / DGA_E_EVENT_NAME. Malformed JSON is
 * DGA_E_EVENTLOG_SYNTAX, a missing, mistyped or unknown member
 * DGA_E_EVENTLOG_FIELD (diag->field names it), caps DGA_E_TOO_LARGE.
 */
dga_err dga_eventlog_parse(const char *text, size_t len, struct dga_eventlog **ret,
                           struct dga_diag *diag);
/* Frees log and everything it holds; NULL is fine. */
void dga_eventlog_free(struct dga_eventlog *log);
/* For _cleanup_: dga_eventlog_free(*p), then *p = NULL. */
static inline void dga_eventlog_freep(struct dga_eventlog **p)
{
    dga_eventlog_free(*p);
    *p = NULL;
}

/*
 * Replays every event from 48 zero bytes per register: rtmr[i] =
 * SHA-384(rtmr[i] || digest). rtmr[3] is the RTMR3 that a quote must hold.
 */
void dga_eventlog_replay(const struct dga_eventlog *log, uint8_t rtmr[4][DGA_EVENT_DIGEST_LEN]);

/* Replays only the runtime events, with alg, from zero: a TPM PCR's expected value. */
dga_err dga_eventlog_replay_runtime(const struct dga_eventlog *log, enum dga_hash_alg alg,
                                    uint8_t *out);

/*
 * RTMR index (0-3) of a TDX quote, v4 or v5 (TD report 1.0 or 1.5 body), as
 * dga_quote_parse reads it (docs/formats.md §19); its errors are returned as they are
 * (DGA_E_TRUNCATED, DGA_E_QUOTE_VERSION, DGA_E_QUOTE_PADDING, ...). The signature is not
 * checked: dga_quote_verify does that.
 */
dga_err dga_tdx_quote_rtmr(const uint8_t *quote, size_t len, unsigned index,
                           uint8_t out[DGA_EVENT_DIGEST_LEN]);

/* ---- RFC 8785 canonical JSON and gpu-policy-hash ----------------------------------------------
 */

/*
 * RFC 8785 (JCS) of a JSON value: object members sorted by their UTF-16 code
 * units, no whitespace, strings with only the mandatory escapes and non-ASCII
 * raw, numbers in ECMAScript's Number-to-String form of the IEEE double.
 * Integer literals (jansson keeps them exact) must lie within +-2^53, else
 * DGA_E_JCS_NUMBER: strict JCS rounds them to a double, serde-based encoders
 * print them exactly, so their hash has no single answer. Nesting deeper than
 * DGA_JCS_MAX_DEPTH is DGA_E_JCS_DEPTH. *ret is malloc'd and NUL-terminated.
 */
dga_err dga_jcs_encode(const json_t *value, char **ret, size_t *ret_len, struct dga_diag *diag);

/*
 * dstack's gpu-policy-hash: SHA-256(JCS(value at /requirements/gpu_policy of
 * the raw app-compose.json)), or SHA-256("{}") when absent. Malformed or
 * duplicate-key JSON is DGA_E_BAD_JSON (diag->offset the byte position).
 */
dga_err dga_gpu_policy_hash_compose(const char *app_compose, size_t len, uint8_t out[32],
                                    struct dga_diag *diag);
/* The same over the policy value itself (a JSON text; the whole text is the value). */
dga_err dga_gpu_policy_hash_value(const char *policy_json, size_t len, uint8_t out[32],
                                  struct dga_diag *diag);

#endif
