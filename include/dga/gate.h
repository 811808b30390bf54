/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The boot gate (docs/gate.md): emit gpu-policy-hash, PCI inventory, CC
 * settings, fresh nonce, collection, inventory vs NVML vs evidence, offline
 * appraisal of every device, policy, the evidence bundle (written
 * atomically), the measured gpu-attestation event, the NVML ready state.
 * Any failure stops the run before the event and the ready state. The
 * library never prints: the run's outcome, with a one-line reason naming the
 * device and the check, comes back in struct dga_gate_result.
 */
#ifndef DGA_GATE_H
#define DGA_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "dga/appraise.h"
#include "dga/collateral.h"
#include "dga/eat.h"
#include "dga/error.h"
#include "dga/evidence.h"
#include "dga/policy.h"

/* ---- configuration (a JSON file; docs/gate.md lists every key) ------------------------- */

#define DGA_GATE_CONFIG_MAX_BYTES (64u << 10)
#define DGA_GATE_PATH_MAX 4096u             /* bytes of any path or spec in the config */
#define DGA_GATE_TIMEOUT_MAX_MS 600000u     /* 10 minutes per NVML step */
#define DGA_GATE_RUN_DIR "/run/dstack-gpu-attest"
#define DGA_GATE_BUNDLE_FILE "evidence.json"
#define DGA_GATE_BUNDLE_MAX_BYTES (16u << 20) /* 64 GPUs of evidence fit easily */

#define DGA_GATE_REGO_EQUIVALENTS_MAX 16u

/*
 * There is no Rego engine: a gpu_policy "rego" is accepted only when the
 * config names, for the SHA-256 of its exact text, a JSON policy document
 * (docs/policy.md) that stands in for it.
 */
struct dga_gate_rego_equivalent {
    uint8_t rego_sha256[32]; /* SHA-256 of the Rego text's bytes, as in gpu_policy */
    char *policy;            /* path of the policy document that stands in for it */
};

struct dga_gate_config {
    char *rim_dir;          /* required: the RIM store */
    char *policy;           /* policy document (docs/policy.md); NULL: the built-in default */
    json_t *gpu_policy;     /* dstack's gpu_policy value (hashed as gpu-policy-hash); {} if absent */
    char *nvml;             /* NULL: libnvidia-ml.so.1 */
    char *sysfs_pci;        /* NULL: /sys/bus/pci/devices */
    char *run_dir;          /* DGA_GATE_RUN_DIR */
    char *event_backend;    /* "tdx" (default), "tpm[:PCR[:BANK]]", "sim:PATH" */
    char *event_log_dir, *event_lock, *tdx_sysfs_dir, *tdx_device, *tpm_tcti; /* NULL: defaults */
    unsigned event_version; /* 1 (default, as dstack) or 2 */
    unsigned cc_timeout_ms, collect_timeout_ms, ready_timeout_ms;
    char *eat_key;          /* P-384 private key PEM: sign the detached EAT; NULL: no token */
    char *eat_kid;
    char *test_device_root; /* the only way to accept a non-NVIDIA device root */
    char *ocsp;             /* "online", "cache" or "off"; NULL: online if the policy requires OCSP */
    char *ocsp_url;         /* NULL: DGA_OCSP_DEFAULT_URL (or the collateral proxy's /ocsp) */
    char *collateral_dir;   /* stored responses (required for cache; online falls back to it) */
    bool has_ocsp_max_age;
    unsigned ocsp_max_age;  /* seconds; 0 = only nextUpdate bounds a response */
    bool has_verify_at;     /* tests and re-appraisal only */
    time_t verify_at;
    size_t n_rego_equivalents; /* "rego_equivalents": {"<sha256 hex>": "policy.json", ...} */
    struct dga_gate_rego_equivalent rego_equivalents[DGA_GATE_REGO_EQUIVALENTS_MAX];
};

/*
 * Parses a config document: a JSON object (duplicate keys, unknown keys,
 * wrong types, out-of-range numbers, empty strings or strings longer than
 * DGA_GATE_PATH_MAX are DGA_E_GATE_CONFIG with diag->field naming the key;
 * a document over DGA_GATE_CONFIG_MAX_BYTES is DGA_E_TOO_LARGE; text that is
 * not JSON DGA_E_GATE_CONFIG with field "config" and diag->offset the byte
 * position). Relative paths are taken as they are (the caller's working
 * directory). *ret is untouched on failure; free with dga_gate_config_free.
 */
dga_err dga_gate_config_parse(const char *text, size_t len, struct dga_gate_config **ret,
                              struct dga_diag *diag);
void dga_gate_config_free(struct dga_gate_config *c);

/* ---- appraisal of a collected set (the work of `attest`, as a library call) ------------ */

/*
 * Why a device of a set is an earlier device of the same set counted again:
 * a set of devices must be a set of distinct physical devices.
 */
enum dga_duplicate_kind {
    DGA_DUPLICATE_NONE,
    DGA_DUPLICATE_REPORT, /* the same report bytes */
    DGA_DUPLICATE_LEAF,   /* the same leaf certificate (its DER) */
    DGA_DUPLICATE_UEID,   /* the same ueid (leaf serial) on two devices of one architecture */
};

struct dga_duplicate {
    enum dga_duplicate_kind kind;
    size_t of; /* the earliest device it repeats (an index below its own) */
};

/*
 * Everything one appraisal of an evidence set produces. The gate and
 * `attest` compute the same thing: every device appraised with one
 * verification cache, labelled GPU-n / SWITCH-n in evidence order, claims v3,
 * duplicate devices, the verdict (hard failures first, then duplicates, then
 * every policy reason), nvattest's result code, and the detached EAT.
 */
struct dga_set_appraisal {
    size_t n;
    struct dga_appraisal *dev; /* n of them (about 80 KiB each: allocated, never 64 up front) */
    /*
     * Per device: the earlier device of the set it repeats (report, else leaf
     * certificate, else ueid), or kind NONE. A duplicate is a hard failure of
     * the set ("GPU-1: duplicate-device: same leaf certificate as GPU-0"),
     * result code 503, and x-nvidia-overall-att-result false.
     */
    struct dga_duplicate dup[DGA_MAX_DEVICES];
    size_t n_duplicates;
    json_t *claims;             /* array, one claims v3 object per device */
    struct dga_verdict verdict; /* hard failures first, then the policy's reasons */
    bool nvidia_default_pass;   /* x-nvidia-overall-att-result */
    int result_code;            /* nvattest's numbering */
    const char *result_message;
    json_t *detached_eat;       /* {} when no token was asked for */
};

/*
 * Appraises every device of set with opt (opt->cache must be set, for speed,
 * or NULL), then evaluates policy. policy_is_file selects result code 11
 * (relying-party policy) over 12 when the policy alone says no. Fills *ret
 * (free with dga_set_appraisal_free) even when devices fail; returns an
 * error only when the verdict could not be computed (DGA_E_NOMEM).
 */
dga_err dga_appraise_set(const struct dga_evidence_set *set,
                              const struct dga_appraise_options *opt,
                              const struct dga_policy *policy, struct dga_set_appraisal *ret);
void dga_set_appraisal_free(struct dga_set_appraisal *a);

/*
 * What device i shares with the device it repeats: "same report", "same leaf
 * certificate" or "same ueid <decimal serial>" ("" when it repeats none).
 */
void dga_duplicate_text(const struct dga_set_appraisal *a, size_t i, char *out, size_t size);

/*
 * The detached EAT over ap->claims into ap->detached_eat: the overall
 * token's nonce, NVIDIA's default result (x-nvidia-overall-att-result) and
 * the applied policy's verdict and SHA-256 come from the appraisal; key,
 * allow_unsigned, kid, issuer and iat from `o` (its other fields are
 * ignored). With neither a key nor allow_unsigned: {} (no token asked for).
 */
dga_err dga_set_appraisal_eat(struct dga_set_appraisal *ap, const struct dga_policy *policy,
                              const uint8_t nonce[DGA_NONCE_LEN],
                              const struct dga_eat_options *o);

/*
 * The collateral the appraisal used: {"rims": [{device, role, id, sha256,
 * issues_in_store}], "ocsp": [{device, chain, index, subject, certid_sha256,
 * source, status, revocation_reason, error, this_update, next_update,
 * response (DER, base64)}], "ocsp_source": {mode, url, collateral_dir,
 * max_age}}. The "ocsp" list is what `attest --ocsp bundle` re-reads. New
 * reference, NULL on allocation failure.
 */
json_t *dga_set_appraisal_collateral(const struct dga_set_appraisal *ap,
                                     const struct dga_ocsp_source *src);

/* ---- the gate run ---------------------------------------------------------------------- */

/* The steps, in the order they run. */
#define DGA_GATE_STEPS(X)                                                                   \
    X(SETUP, "setup")               /* config files: policy, roots, keys, event backend */  \
    X(POLICY_HASH, "gpu-policy-hash") /* the event, emitted on every launch */               \
    X(INVENTORY, "inventory")       /* sysfs PCI scan */                                    \
    X(CC, "cc-mode")                /* NVML CC settings */                                  \
    X(NONCE, "nonce")                                                                       \
    X(COLLECT, "collect")           /* reports and chains from NVML */                      \
    X(MATCH, "inventory-match")     /* sysfs vs NVML vs evidence */                         \
    X(APPRAISE, "appraise")         /* reports, chains, RIMs, measurements */               \
    X(VERDICT, "policy")            /* the policy over the claims, device counts */         \
    X(BUNDLE, "bundle")             /* the evidence bundle written */                       \
    X(EVENT, "gpu-attestation")     /* the measured event */                                \
    X(READY, "ready-state")         /* NVML ready state */                                  \
    X(DONE, "done")

enum dga_gate_step {
#define DGA_X_STEP(id, name) DGA_GATE_STEP_##id,
    DGA_GATE_STEPS(DGA_X_STEP)
#undef DGA_X_STEP
};
const char *dga_gate_step_name(enum dga_gate_step s);

#define DGA_GATE_REASON_LEN 512

struct dga_gate_result {
    dga_err err;               /* DGA_E_OK: passed (and, unless dry run, event and ready state set) */
    enum dga_gate_step step;   /* the step that failed, or DGA_GATE_STEP_DONE */
    bool rejected;             /* a finding about the machine (exit 1), not I/O (exit 3) */
    char reason[DGA_GATE_REASON_LEN]; /* "GPU-0 (0000:41:00.0): cc-mode: cc-off: ..." */
    size_t n_gpus, n_nvswitches;      /* in the PCI inventory */
    bool bundle_written;
    char bundle_path[DGA_GATE_PATH_MAX + 32];
    uint8_t bundle_sha256[32];
    bool policy_hash_emitted, event_emitted, ready_set;
    char event_payload[1024];  /* the gpu-attestation payload, when built */
};

struct dga_gate_options {
    bool dry_run; /* verify and write the bundle; emit nothing, set no ready state */
};

/*
 * Runs the gate. Always fills *ret and returns ret->err. On any failure no
 * gpu-attestation event is emitted and the ready state is not set, except
 * that a failing ready-state setter runs after the event (dstack has the
 * same residual; docs/gate.md). The bundle is written whenever the run dir
 * can be written, with the failing verdict on failure.
 */
dga_err dga_gate_run(const struct dga_gate_config *cfg, const struct dga_gate_options *opt,
                     struct dga_gate_result *ret);

/*
 * The gpu-attestation payload: {"version":2,"provider":"nvidia","devices":N,
 * "cc_mode":MODE,"devtools":B,"evidence_sha256":HEX} in dstack's field order,
 * then "nvswitches", "policy_sha256", "gpu_policy_sha256", with a gpu_policy
 * "rego" "rego_sha256" (of its text) and "rego_policy_sha256" (of the
 * document standing in for it), then "trust_roots", "ocsp". Compact, no
 * newline. *ret is malloc'd.
 */
struct dga_gate_event_fields {
    size_t devices, nvswitches;
    const char *cc_mode; /* "on", "ppcie", or "none" when there is no GPU */
    bool devtools;
    uint8_t evidence_sha256[32];
    uint8_t policy_sha256[32];
    uint8_t gpu_policy_sha256[32];
    bool has_rego;
    uint8_t rego_sha256[32], rego_policy_sha256[32];
    bool test_roots;
    /*
     * The revocation source: "online" or "cache" (every device identity chain
     * had a fresh "good" answer), "off" (no chain's revocation was checked:
     * only a policy with "ocsp": "not-required" allows it).
     */
    const char *ocsp;
};
dga_err dga_gate_event_payload(const struct dga_gate_event_fields *f, char **ret, size_t *ret_len);

#endif
