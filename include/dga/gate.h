/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The boot gate (docs/gate.md): emit gpu-policy-hash, PCI inventory, CC
 * settings (which decide CC or PPCIe mode), fresh nonce, collection (in PPCIe
 * mode the NVSwitches through NSCQ too), inventory vs NVML vs evidence, offline
 * appraisal of every device (in PPCIe mode with the topology), policy, the evidence bundle (written
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
#include "dga/appraise_set.h"
#include "dga/collateral.h"
#include "dga/eat.h"
#include "dga/error.h"
#include "dga/evidence.h"
#include "dga/policy.h"

/* ---- configuration (a JSON file; docs/gate.md lists every key) ------------------------- */

#define DGA_GATE_CONFIG_MAX_BYTES (64u << 10)
#define DGA_GATE_PATH_MAX 4096u         /* bytes of any path or spec in the config */
#define DGA_GATE_TIMEOUT_MAX_MS 600000u /* 10 minutes per NVML step */
#define DGA_GATE_RUN_DIR "/run/dstack-gpu-attest"
#define DGA_GATE_BUNDLE_FILE "evidence.json"
#define DGA_GATE_BUNDLE_MAX_BYTES (16u << 20) /* 64 GPUs of evidence fit easily */

#define DGA_GATE_REGO_EQUIVALENTS_MAX 16u
#define DGA_GATE_APP_COMPOSE_MAX_BYTES (1u << 20) /* dstack's app-compose.json */
/* dstack's default: dstack-util setup reads the app's compose file from the host-shared dir. */
#define DGA_GATE_APP_COMPOSE_DEFAULT "/dstack/.host-shared/app-compose.json"

/*
 * There is no Rego engine: a gpu_policy "rego" is accepted only when the
 * config names, for the SHA-256 of its exact text, a JSON policy document
 * (docs/policy.md) that stands in for it.
 */
struct dga_gate_rego_equivalent {
    uint8_t rego_sha256[32]; /* SHA-256 of the Rego text's bytes, as in gpu_policy */
    char *policy;            /* path of the policy document that stands in for it */
    /*
     * Or the document itself (a program's built-in one, added with
     * dga_gate_config_add_rego_equivalent); then policy is its name, as the
     * bundle records it. NULL: read the file at policy.
     */
    char *text;
    size_t text_len;
};

struct dga_gate_config {
    char *rim_dir;      /* required: the RIM store */
    char *policy;       /* policy document (docs/policy.md); NULL: the built-in default */
    json_t *gpu_policy; /* dstack's gpu_policy value (hashed as gpu-policy-hash); {} if absent */
    /*
     * dstack's app-compose.json: the gpu_policy is read from it as dstack-util reads it
     * (/requirements/gpu_policy, {} if absent); NULL: the gpu_policy key above. The two
     * together are a config error (one source of truth).
     */
    char *app_compose;
    /*
     * "policy_hash_event": false ("emit", the default) emits gpu-policy-hash; true
     * ("dstack") leaves it to dstack-util setup, which emits it on every launch.
     */
    bool policy_hash_by_dstack;
    char *nvml; /* NULL: libnvidia-ml.so.1 */
    /*
     * libnvidia-nscq.so.2: the NVSwitches of a protected-PCIe (PPCIe) machine are attested
     * through it; NULL: a PPCIe machine is refused (CC mode never loads it).
     */
    char *nscq;
    char *sysfs_pci;     /* NULL: /sys/bus/pci/devices */
    char *run_dir;       /* DGA_GATE_RUN_DIR */
    char *event_backend; /* "tdx" (default), "tpm[:PCR[:BANK]]", "sim:PATH" */
    char *event_log_dir, *event_lock, *tdx_sysfs_dir, *tdx_device, *tpm_tcti; /* NULL: defaults */
    unsigned event_version; /* 1 (default, as dstack) or 2 */
    unsigned cc_timeout_ms, collect_timeout_ms, ready_timeout_ms;
    unsigned nscq_timeout_ms; /* the NSCQ collection's deadline (PPCIe mode) */
    char *eat_key;            /* P-384 private key PEM: sign the detached EAT; NULL: no token */
    char *eat_kid;
    char *test_device_root; /* the only way to accept a non-NVIDIA device root */
    char *ocsp;           /* "online", "cache" or "off"; NULL: online if the policy requires OCSP */
    char *ocsp_url;       /* NULL: DGA_OCSP_DEFAULT_URL (or the collateral proxy's /ocsp) */
    char *collateral_dir; /* stored responses (required for cache; online falls back to it) */
    bool has_ocsp_max_age;
    unsigned ocsp_max_age; /* seconds; 0 = only nextUpdate bounds a response */
    unsigned jobs;         /* devices appraised at once (dga_appraise_options.jobs); 0: CPUs */
    bool has_verify_at;    /* tests and re-appraisal only */
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
/*
 * Adds a built-in equivalent document: name (recorded in the bundle, e.g.
 * "builtin:trust_outpost.json") and its bytes, both copied, for the Rego
 * text with SHA-256 rego_sha256. DGA_E_GATE_CONFIG when the table is full or
 * the digest already has an entry (one document per Rego text), or name is
 * empty or longer than DGA_GATE_PATH_MAX; text is parsed when the run uses it.
 */
dga_err dga_gate_config_add_rego_equivalent(struct dga_gate_config *c,
                                            const uint8_t rego_sha256[32], const char *name,
                                            const void *text, size_t len);

/* Frees c and everything it holds; NULL is fine. */
void dga_gate_config_free(struct dga_gate_config *c);
/* For _cleanup_: dga_gate_config_free(*p), then *p = NULL. */
static inline void dga_gate_config_freep(struct dga_gate_config **p)
{
    dga_gate_config_free(*p);
    *p = NULL;
}

/* ---- the gate run ---------------------------------------------------------------------- */

/* The steps, in the order they run. */
#define DGA_GATE_STEPS(X)                                                                          \
    X(SETUP, "setup")                 /* config files: policy, roots, keys, event backend */       \
    X(POLICY_HASH, "gpu-policy-hash") /* the event, emitted on every launch */                     \
    X(INVENTORY, "inventory")         /* sysfs PCI scan */                                         \
    X(CC, "cc-mode")                  /* NVML CC settings */                                       \
    X(NONCE, "nonce")                                                                              \
    X(COLLECT, "collect")       /* reports and chains from NVML */                                 \
    X(NSCQ, "nscq")             /* PPCIe: the NVSwitches' reports and chains from NSCQ */          \
    X(MATCH, "inventory-match") /* sysfs vs NVML vs evidence */                                    \
    X(APPRAISE, "appraise")     /* reports, chains, RIMs, measurements */                          \
    X(VERDICT, "policy")        /* the policy over the claims, device counts */                    \
    X(BUNDLE, "bundle")         /* the evidence bundle written */                                  \
    X(EVENT, "gpu-attestation") /* the measured event */                                           \
    X(READY, "ready-state")     /* NVML ready state */                                             \
    X(DONE, "done")

enum dga_gate_step {
#define DGA_X_STEP(id, name) DGA_GATE_STEP_##id,
    DGA_GATE_STEPS(DGA_X_STEP)
#undef DGA_X_STEP
};
const char *dga_gate_step_name(enum dga_gate_step s);

/*
 * What kind of failure ended the run, decided where the step fails, so that a
 * program maps it to its exit status once (`gate`: 0, 1, 2, 3).
 */
#define DGA_GATE_OUTCOMES(X)                                                                       \
    X(PASS, "pass")       /* the run passed */                                                     \
    X(REFUSED, "refused") /* a finding about the GPUs or the machine */                            \
    X(CONFIG, "config")   /* the config or a file it names is malformed (setup) */                 \
    X(IO, "io")           /* NVML, the register, a file, memory: the run could not decide */

enum dga_gate_outcome {
#define DGA_X_OUTCOME(id, name) DGA_GATE_OUTCOME_##id,
    DGA_GATE_OUTCOMES(DGA_X_OUTCOME)
#undef DGA_X_OUTCOME
};
/* The outcome's stable name (above); "unknown" outside the enum. */
const char *dga_gate_outcome_name(enum dga_gate_outcome o);

#define DGA_GATE_REASON_LEN 512

struct dga_gate_result {
    dga_err err;             /* DGA_E_OK: passed (and, unless dry run, event and ready state set) */
    enum dga_gate_step step; /* the step that failed, or DGA_GATE_STEP_DONE */
    enum dga_gate_outcome outcome;    /* PASS exactly when err is DGA_E_OK */
    char reason[DGA_GATE_REASON_LEN]; /* "GPU-0 (0000:41:00.0): cc-mode: cc-off: ..." */
    size_t n_gpus, n_nvswitches;      /* in the PCI inventory */
    /*
     * The CC settings put the machine in protected-PCIe mode: the NVSwitches were collected
     * through NSCQ (n_nvswitches of them, as the inventory) and, on a pass, attested.
     */
    bool ppcie;
    bool bundle_written;
    char bundle_path[DGA_GATE_PATH_MAX + 32];
    uint8_t bundle_sha256[32];
    bool policy_hash_emitted, event_emitted, ready_set;
    char event_payload[1024]; /* the gpu-attestation payload, when built */
    char *bundle; /* the bundle's bytes (opt->bundle_in_memory), NUL after them, else NULL */
    size_t bundle_len;
};
/* Frees what a run left in r (the in-memory bundle); the rest of r stays readable. */
void dga_gate_result_clear(struct dga_gate_result *r);
static inline void dga_gate_result_clearp(struct dga_gate_result *r)
{
    dga_gate_result_clear(r);
}

struct dga_gate_options {
    bool dry_run; /* verify and write the bundle; emit nothing, set no ready state */
    /*
     * The caller's nonce (a relying party's challenge: AttestGpu, the nvattest
     * front end) instead of a fresh random one; NULL: fresh. Points at
     * DGA_NONCE_LEN bytes.
     */
    const uint8_t *nonce;
    /* The bundle's file name in run_dir (NULL: DGA_GATE_BUNDLE_FILE); a plain name, no '/'. */
    const char *bundle_file;
    /*
     * Keep the bundle's bytes in ret->bundle (malloc'd: dga_gate_result_clear)
     * and write no file: a run that must change nothing on disk.
     */
    bool bundle_in_memory;
    /* The measured event's name (NULL: gpu-attestation): a re-attestation's own name. */
    const char *event_name;
    /* Emit no gpu-policy-hash: a re-attestation, after the boot's run emitted it. */
    bool skip_policy_hash;
};

/*
 * Runs the gate. Always fills *ret and returns ret->err. On any failure no
 * gpu-attestation event is emitted and the ready state is not set, except
 * that a failing ready-state setter runs after the event (dstack has the
 * same residual; docs/gate.md). The bundle is written whenever the run dir
 * can be written, with the failing verdict on failure (or kept in memory,
 * opt->bundle_in_memory). opt may be NULL (all defaults). A run with a
 * bundle in memory must be cleared with dga_gate_result_clear.
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
