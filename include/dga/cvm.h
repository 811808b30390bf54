/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The relying-party verifier of a dstack CVM (docs/verify.md): what the CVM
 * hands out (dstack's GetQuote response or dstack-verifier's request: quote,
 * event log, vm_config, report_data; and the GPU evidence bundle the gate
 * wrote), the relying party's expectations document, and one verdict built
 * from named checks: the event log replays to the quoted registers, the boot
 * events come in dstack's order, the derived values (app id, compose hash,
 * mr_system, ...) match the expectations, exactly one measured
 * gpu-attestation event before system-ready, and the bundle is the one that
 * event committed to. The quote's signature and TCB come from the quote layer
 * (dga/quote.h) and are handed in; the re-appraisal of the bundle's raw
 * evidence is a callback (struct dga_cvm_options). GPU facts are never read
 * from report_data.
 */
#ifndef DGA_CVM_H
#define DGA_CVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "dga/error.h"
#include "dga/measure.h"
#include "dga/quote.h"

/* ---- caps on untrusted input ----------------------------------------------------------- */

#define DGA_CVM_INPUT_MAX (8u << 20)      /* a GetQuote response or verifier request */
#define DGA_CVM_VM_CONFIG_MAX (64u << 10) /* the vm_config string */
#define DGA_CVM_EXPECT_MAX (256u << 10)   /* an expectations document */
#define DGA_CVM_BUNDLE_MAX (16u << 20)    /* as the gate's DGA_GATE_BUNDLE_MAX_BYTES */
#define DGA_CVM_LIST_MAX 256u             /* entries of one allow-list */
#define DGA_CVM_STRING_MAX 4096u          /* a string of the expectations (paths, names) */
#define DGA_CVM_GPU_PAYLOAD_MAX 4096u     /* the gpu-attestation event payload */
#define DGA_CVM_INIT_SCRIPTS_MAX 5u       /* init-script-hash events before system-ready */

/* ---- the attestation input ------------------------------------------------------------- */

/*
 * What a CVM hands out: dstack's GetQuote response JSON or dstack-verifier's
 * VerificationRequest (members quote, event_log, vm_config, report_data; a
 * request's "debug" is read and ignored; "attestation", dstack's msgpack
 * container, is refused as not supported yet; any other member is refused),
 * plus this project's gpu_bundle (the bundle the guest served, as a string).
 */
struct dga_cvm_input {
    uint8_t *quote; /* the quote's bytes (hex-decoded); parse with dga_quote_parse */
    size_t quote_len;
    struct dga_eventlog *log; /* event_log, the JSON array held in a string */
    char *vm_config;          /* the vm_config string as given (a JSON object), or NULL */
    size_t vm_config_len;
    bool has_os_image_hash; /* vm_config's os_image_hash (unmeasured, host-supplied) */
    uint8_t os_image_hash[32];
    bool has_report_data; /* report_data as the response states it, zero-padded to 64 */
    uint8_t report_data[64];
    uint8_t *gpu_bundle; /* a request's gpu_bundle: the string's exact UTF-8 bytes, or NULL */
    size_t gpu_bundle_len;
};

/*
 * Parses the input (at most DGA_CVM_INPUT_MAX bytes): one JSON object without
 * duplicate keys; quote required (hex, at most DGA_QUOTE_MAX_LEN bytes);
 * event_log required (a string holding the GetQuote array form, parsed by
 * dga_eventlog_parse: its errors pass up with diag->offset the element);
 * vm_config optional (a string holding a JSON object of at most
 * DGA_CVM_VM_CONFIG_MAX bytes; its os_image_hash, when present, 32 bytes of
 * hex); report_data optional (hex, at most 64 bytes); gpu_bundle optional
 * (a string, kept as its exact UTF-8 bytes, never re-serialized; "" is no
 * bundle, as in GpuInfo; more than DGA_CVM_BUNDLE_MAX bytes DGA_E_TOO_LARGE).
 * A string member holding U+0000 is refused with that member's name (C
 * string use would cut it). Anything else is DGA_E_CVM_INPUT with
 * diag->field naming the member. ret is untouched on failure.
 */
dga_err dga_cvm_input_parse(const char *text, size_t len, struct dga_cvm_input *ret,
                            struct dga_diag *diag);
/* Frees what in holds and zeroes it; NULL is fine. */
void dga_cvm_input_clear(struct dga_cvm_input *in);
/* For _cleanup_ on a struct variable: dga_cvm_input_clear(in). */
static inline void dga_cvm_input_clearp(struct dga_cvm_input *in)
{
    dga_cvm_input_clear(in);
}

enum dga_cvm_bundle_form {
    DGA_CVM_BUNDLE_AUTO,    /* GPUINFO when the text is exactly {"attestation": string}, else RAW */
    DGA_CVM_BUNDLE_RAW,     /* the file as the gate wrote it */
    DGA_CVM_BUNDLE_GPUINFO, /* dstack's GpuInfo response: {"attestation": "<the bundle>"} */
};

/*
 * The bundle's exact bytes, never re-serialized: the input itself (RAW), or
 * the exact UTF-8 bytes of GpuInfo's "attestation" string (a JSON object with
 * that one member and no duplicate). An empty bundle (GpuInfo's "" when the
 * guest has none) is DGA_E_CVM_BUNDLE_ABSENT; a GpuInfo document of another
 * shape DGA_E_CVM_BUNDLE_INPUT; more than DGA_CVM_BUNDLE_MAX bytes
 * DGA_E_TOO_LARGE. *ret is malloc'd, untouched on failure.
 */
dga_err dga_cvm_bundle_read(const uint8_t *in, size_t len, enum dga_cvm_bundle_form form,
                            uint8_t **ret, size_t *ret_len, struct dga_diag *diag);

/* ---- the expectations document --------------------------------------------------------- */

/* An allow-list of byte strings of one length; absent = not checked. */
struct dga_cvm_list {
    bool present;
    size_t n;
    size_t len;   /* bytes of each entry */
    uint8_t *v;   /* n * len bytes */
    char **names; /* string lists (key_provider, advisory_ids): n strings; else NULL */
};

enum dga_cvm_count_kind {
    DGA_CVM_COUNT_ANY,   /* not given */
    DGA_CVM_COUNT_EXACT, /* {"exact": N} */
    DGA_CVM_COUNT_MIN,   /* {"min": N} */
};

struct dga_cvm_count {
    enum dga_cvm_count_kind kind;
    unsigned n;
};

enum dga_cvm_reappraise_at {
    DGA_CVM_REAPPRAISE_BUNDLE, /* the bundle's own verified_at (default) */
    DGA_CVM_REAPPRAISE_NOW,    /* the verification time */
};

/* gpu.mode: which GPU mode a relying party accepts (the KMS hook's gpu.mode, the same words). */
enum dga_cvm_gpu_mode {
    DGA_CVM_GPU_MODE_CC,    /* "cc", the default: cc_mode "on" (or "none" without GPUs) */
    DGA_CVM_GPU_MODE_PPCIE, /* "ppcie": cc_mode "ppcie" (or "none" without GPUs) */
    DGA_CVM_GPU_MODE_ANY,   /* "any": either */
};

struct dga_cvm_gpu_expect {
    bool required;                         /* default false */
    struct dga_cvm_count gpus, nvswitches; /* required and gpus not given: at least 1 */
    struct dga_cvm_list gpu_policy_hashes; /* 32 bytes each */
    bool allow_devtools;                   /* default false */
    enum dga_cvm_gpu_mode mode;            /* default cc: PPCIe only when asked for */
    bool trust_nvidia, trust_test;         /* trust_roots, default ["nvidia"] */
    bool has_max_bundle_age;
    uint64_t max_bundle_age; /* seconds between the bundle's verified_at and now */
    enum dga_cvm_reappraise_at reappraise_at;
    char *rim_dir, *collateral_dir, *policy; /* for the re-appraisal; NULL when absent */
    char *test_device_root; /* the test device root's PEM (only with trust_roots "test") */
};

struct dga_cvm_expect {
    uint8_t sha256[32]; /* of the document's exact bytes */
    bool has_report_data;
    uint8_t report_data[64];                       /* the caller's challenge, zero-padded */
    struct dga_cvm_list mrtd, rtmr0, rtmr1, rtmr2; /* 48 bytes each */
    struct dga_cvm_list mr_system, mr_aggregated, os_image_hash; /* 32 */
    struct dga_cvm_list app_id;                                  /* 20 */
    struct dga_cvm_list compose_hash;                            /* 32 */
    struct dga_cvm_list key_provider;                            /* names */
    unsigned tcb_statuses;            /* bit (1 << enum dga_tcb_status); default UpToDate only */
    struct dga_cvm_list advisory_ids; /* names: every advisory of the quote must be listed */
    bool allow_debug;                 /* default false */
    struct dga_cvm_gpu_expect gpu;
};

/*
 * Parses an expectations document (docs/verify.md has the schema): one JSON
 * object, at most DGA_CVM_EXPECT_MAX bytes, snake_case keys; duplicate or
 * unknown keys, wrong types, hex that is not lowercase or not the value's
 * length, empty or over-long lists, and contradictions (os_image_hash without
 * mrtd and rtmr0-2, whose values alone bind the image) are DGA_E_CVM_EXPECT
 * with diag->field naming the key ("gpu.gpus.exact"). Text that is not JSON
 * is DGA_E_CVM_EXPECT with field "expectations" and diag->offset the byte
 * position. ret is untouched on failure.
 */
dga_err dga_cvm_expect_parse(const char *text, size_t len, struct dga_cvm_expect *ret,
                             struct dga_diag *diag);
void dga_cvm_expect_clear(struct dga_cvm_expect *x);
static inline void dga_cvm_expect_clearp(struct dga_cvm_expect *x)
{
    dga_cvm_expect_clear(x);
}

/* ---- the verification ------------------------------------------------------------------ */

/* Every check, in the order they run; each result names its check. */
#define DGA_CVM_CHECKS(X)                                                                          \
    X(QUOTE, "quote")                   /* the quote layer's verdict, handed in */                 \
    X(TCB, "tcb-status")                /* status and advisories against the allow-lists */        \
    X(TD_DEBUG, "td-debug")             /* TD attribute DEBUG unless allow_debug */                \
    X(REPORT_DATA, "report-data")       /* the challenge; the input's report_data */               \
    X(BOOT_REPLAY, "rtmr0-2-replay")    /* boot events replay to RTMR0-2 */                        \
    X(RUNTIME_REPLAY, "rtmr3-replay")   /* runtime events replay to RTMR3 */                       \
    X(RUNTIME_EVENTS, "runtime-events") /* imr 3 and type 0x08000001 only */                       \
    X(BOOT_SEQUENCE, "boot-sequence")   /* dstack's order up to system-ready */                    \
    X(REGISTERS, "registers")           /* mrtd, rtmr0-2 allow-lists */                            \
    X(APP, "app")                       /* app_id, compose_hash allow-lists */                     \
    X(MR_SYSTEM, "mr-system")                                                                      \
    X(MR_AGGREGATED, "mr-aggregated")                                                              \
    X(OS_IMAGE, "os-image-hash")                                                                   \
    X(KEY_PROVIDER, "key-provider")                                                                \
    X(GPU_EVENT, "gpu-attestation")      /* the event and its payload */                           \
    X(GPU_POLICY, "gpu-policy-hash")     /* present, allowed, the payload's */                     \
    X(GPU_BUNDLE, "gpu-bundle")          /* SHA-256, nonce, devices, verdict */                    \
    X(GPU_REAPPRAISE, "gpu-reappraisal") /* the raw evidence re-appraised (callback) */

enum dga_cvm_check_id {
#define DGA_X_CHECK(id, name) DGA_CVM_CHECK_##id,
    DGA_CVM_CHECKS(DGA_X_CHECK)
#undef DGA_X_CHECK
        DGA_CVM_CHECK__COUNT
};
const char *dga_cvm_check_name(enum dga_cvm_check_id c);

enum dga_cvm_status {
    DGA_CVM_NOT_RUN, /* could not run (an earlier failure, or no callback/verdict given) */
    DGA_CVM_SKIPPED, /* nothing to check: the expectation is absent */
    DGA_CVM_PASS,
    DGA_CVM_FAIL,
};
const char *dga_cvm_status_name(enum dga_cvm_status s); /* not-run, skipped, pass, fail */

#define DGA_CVM_DETAIL_LEN 256

struct dga_cvm_check {
    enum dga_cvm_status status;
    dga_err err;                     /* the named failure when FAIL */
    char detail[DGA_CVM_DETAIL_LEN]; /* one line: what differed, which event */
};

/* The gpu-attestation payload, parsed strictly (docs/formats.md §16). */
struct dga_cvm_gpu_payload {
    unsigned version;
    unsigned devices;
    /*
     * Absent from dstack's own payload: the verification then takes the
     * count of the committed bundle's gate.inventory.nvswitches once the
     * bundle's SHA-256 matched, and says so.
     */
    bool has_nvswitches, nvswitches_from_bundle;
    unsigned nvswitches;
    char cc_mode[8]; /* "on", "ppcie" (the gate's PPCIe mode) or "none" */
    bool devtools;
    uint8_t evidence_sha256[32];
    bool has_policy_sha256, has_gpu_policy_sha256, has_rego;
    uint8_t policy_sha256[32], gpu_policy_sha256[32], rego_sha256[32], rego_policy_sha256[32];
    /*
     * "nvidia", "test", or "" when the payload names none (dstack's own). The
     * verification fills an empty one from the committed bundle's
     * trust_roots.device once the bundle's SHA-256 matched, and says so.
     */
    char trust_roots[8];
    bool trust_roots_from_bundle;
    char ocsp[8]; /* "online", "cache", "off", or "" */
};

/*
 * One device as the re-appraisal saw it (our appraisal of the bundle's raw
 * evidence, not the guest's word): what details.gpu.devices prints.
 */
struct dga_cvm_gpu_device {
    char label[16]; /* GPU-0, SWITCH-0, ... as the bundle's evidence orders them */
    char arch[16];  /* hopper, blackwell, ls10 */
    char ueid[80];  /* decimal, from the device certificate; "" when not read */
    char driver_version[32], vbios_version[32]; /* from the report; "" when not read */
    bool pass;                                  /* appraised and passed the caller's policy */
    char measres[16];      /* "success", "fail" or "" when the comparison did not run */
    char failed_check[32]; /* the hard failure's check, "duplicate-device", "mode", "topology",
                              "policy", "" */
    dga_err err;           /* DGA_E_OK when pass */
};

/* What the re-appraisal did: filled by the callback, freed by dga_cvm_result_clear. */
struct dga_cvm_reappraisal {
    bool ran;                  /* the callback was called */
    time_t at;                 /* the verification time it used */
    uint8_t policy_sha256[32]; /* of the policy it evaluated (the built-in default's too) */
    size_t n_devices;
    struct dga_cvm_gpu_device *devices; /* malloc'd, n_devices */
    /*
     * The set mode it appraised in: "cc" for a payload's cc_mode "on" (an
     * NVSwitch or a GPU whose signed report says PPCIe is refused), "ppcie"
     * for "ppcie" (GPUs, NVSwitches and the topology); "" when it stopped
     * before the appraisal.
     */
    char mode[8];
    size_t gpus, nvswitches; /* devices of each kind in the bundle's evidence */
    bool topology_checked;   /* PPCIe: the topology check ran */
    bool topology_pass;
    dga_err topology_err;                      /* its first finding's error, DGA_E_OK when none */
    char topology_finding[DGA_CVM_DETAIL_LEN]; /* that finding's text, "" when none */
};

struct dga_cvm_result {
    bool valid;              /* every check passed or was skipped, and quote and event log passed */
    bool quote_verified;     /* QUOTE, TCB, TD_DEBUG, REPORT_DATA */
    bool event_log_verified; /* the replays, runtime events, boot sequence */
    bool gpu_verified;       /* required and every GPU check passed (re-appraisal included) */
    dga_err err;             /* the first failed check's error; DGA_E_OK when valid */
    char reason[DGA_CVM_DETAIL_LEN +
                64]; /* dstack's prefixes: "Event log verification failed: ..." */
    struct dga_cvm_check checks[DGA_CVM_CHECK__COUNT];

    /* derived as dstack derives them (valid when event_log_verified, else as far as read) */
    bool has_app_info; /* the events up to system-ready were read */
    uint8_t app_id[20];
    uint8_t compose_hash[32];
    size_t instance_id_len; /* 0 (no_instance_id) or 20 */
    uint8_t instance_id[20];
    uint8_t device_id[32]; /* SHA-256("") on TDX */
    uint8_t mr_system[32], mr_aggregated[32];
    bool has_os_image_hash;
    uint8_t os_image_hash[32];
    bool os_image_hash_measured; /* from the os-image-hash event; else from vm_config */
    uint8_t *key_provider_info;  /* the key-provider payload's raw bytes */
    size_t key_provider_info_len;
    char key_provider_name[65];
    char *key_provider_id; /* hex as the payload states it */
    size_t n_init_scripts;
    uint8_t init_script_hashes[DGA_CVM_INIT_SCRIPTS_MAX][32];
    bool has_gpu_policy_hash;
    uint8_t gpu_policy_hash[32];
    bool has_gpu_event;      /* one gpu-attestation before system-ready, payload parsed */
    char *gpu_event_payload; /* the payload as measured (NUL-terminated copy) */
    struct dga_cvm_gpu_payload gpu;
    bool has_bundle;
    uint8_t bundle_sha256[32];
    uint8_t replayed[4][DGA_EVENT_DIGEST_LEN]; /* RTMR0-3 as the log replays them */
    struct dga_cvm_reappraisal reappraisal;    /* ran: what the callback reported */
};
void dga_cvm_result_clear(struct dga_cvm_result *r);
static inline void dga_cvm_result_clearp(struct dga_cvm_result *r)
{
    dga_cvm_result_clear(r);
}

/* What the quote layer established about the quote (dga_quote_parse, then verification). */
struct dga_cvm_quote_facts {
    const struct dga_td_report *td; /* required: the registers and report data */
    bool verified;                  /* the quote verified to Intel's root with its collateral */
    struct dga_tcb_result tcb;      /* its TCB status and advisories (when verified) */
    const char *why; /* not verified: the quote layer's error, for the check's detail; or NULL */
};

/*
 * The seam for the re-appraisal of the bundle's raw evidence (reports, chains,
 * RIMs, OCSP) under the caller's policy. Called only after every binding
 * check of the bundle passed; bundle is the bundle's exact bytes and doc its
 * parsed JSON. Returns DGA_E_OK when every device re-appraises to a pass,
 * else the named failure, with detail (DGA_CVM_DETAIL_LEN) naming the device.
 */
typedef dga_err (*dga_cvm_reappraise_fn)(void *ctx, const uint8_t *bundle, size_t len,
                                         const json_t *doc, const struct dga_cvm_expect *x,
                                         const struct dga_cvm_gpu_payload *payload, time_t at,
                                         struct dga_cvm_reappraisal *out, char *detail);

struct dga_cvm_options {
    time_t at;                        /* the verification time (max_bundle_age, reappraise "now") */
    dga_cvm_reappraise_fn reappraise; /* NULL: the check is not run, so a GPU is not verified */
    void *reappraise_ctx;
};

/*
 * Runs every check over the quote's facts, the input's event log (and
 * report_data, vm_config), the bundle's exact bytes (NULL when none was
 * given) and the expectations, and fills *ret (cleared first). Returns
 * DGA_E_OK when the verdict was reached (ret->valid says what it is) and
 * DGA_E_NOMEM / DGA_E_BAD_ARGUMENT when it could not be.
 */
dga_err dga_cvm_verify(const struct dga_cvm_quote_facts *q, const struct dga_cvm_input *in,
                       const uint8_t *bundle, size_t bundle_len, const struct dga_cvm_expect *x,
                       const struct dga_cvm_options *opt, struct dga_cvm_result *ret);

/* ---- the whole verification: the quote layer, then dga_cvm_verify (lib/cvm/run.c) ------ */

struct dga_http_options;

/* Where the quote's DCAP collateral comes from. */
enum dga_cvm_collateral_kind {
    DGA_CVM_COLLATERAL_JSON, /* a QuoteCollateralV3 document's text */
    DGA_CVM_COLLATERAL_DIR, /* a TDX collateral directory: the entry of the quote's FMSPC, PCK CA */
    DGA_CVM_COLLATERAL_PCCS, /* fetched from a PCCS by dga_tdx_collateral_fetch */
};

struct dga_cvm_collateral {
    enum dga_cvm_collateral_kind kind;
    const char *json; /* JSON: the document, json_len bytes */
    size_t json_len;
    const char *dir;                     /* DIR */
    const char *pccs_url;                /* PCCS */
    const struct dga_http_options *http; /* PCCS; NULL: dga_http_options_init's defaults */
};

/*
 * Parsed collateral kept across runs (the verifier server's cache): get
 * returns the parsed document of exactly these bytes (parsing it when they
 * are new: its errors are dga_quote_collateral_parse's) and a handle that
 * keeps it alive until put. Keyed by the bytes, so it never changes a
 * verdict: every time window is still checked at each run's time.
 */
struct dga_cvm_collateral_cache {
    dga_err (*get)(void *ctx, const char *text, size_t len, const struct dga_quote_collateral **ret,
                   void **ret_handle, struct dga_diag *diag);
    void (*put)(void *ctx, void *handle);
    void *ctx;
};

struct dga_cvm_run_params {
    const struct dga_cvm_input *in;
    const uint8_t *bundle; /* the bundle's exact bytes, or NULL */
    size_t bundle_len;
    const struct dga_cvm_expect *x;
    struct dga_cvm_collateral collateral;
    const struct dga_trust *root; /* NULL: the Intel SGX Root CA; another root in tests only */
    /* with root: how the verdict names it (details.quote.trusted_root, the file), or NULL */
    const char *root_name;
    const struct dga_cvm_collateral_cache *cache; /* NULL: the collateral is parsed per run */
    /* opt->at: the verification time of the quote, its collateral and the bundle's age */
    const struct dga_cvm_options *opt;
};

/* What the quote layer said: kept whether or not the quote verified. */
struct dga_cvm_quote_outcome {
    bool parsed;             /* dga_quote_parse accepted it (td is its report) */
    bool verified;           /* dga_quote_verify accepted it with the collateral at the time */
    dga_err err;             /* DGA_E_OK when verified, else the quote layer's named error */
    char field[128];         /* diag->field of the failure, or "" */
    struct dga_td_report td; /* when parsed */
    struct dga_quote_verdict verdict; /* when verified */
};

struct dga_cvm_run {
    time_t at;
    uint8_t expectations_sha256[32];
    bool has_bundle; /* a bundle was given: its SHA-256, whether or not GPUs are required */
    uint8_t bundle_sha256[32];
    bool custom_root;           /* the quote was checked against a root other than Intel's */
    char trusted_root[4096];    /* custom_root: p->root_name, or "" when none was given */
    bool gpu_required;          /* the expectations' gpu.required */
    char collateral_path[4096]; /* DIR: the entry read (or missing), else "" */
    struct dga_cvm_quote_outcome quote;
    struct dga_cvm_result result; /* every check, even when the quote did not verify */
};
void dga_cvm_run_clear(struct dga_cvm_run *r);
static inline void dga_cvm_run_clearp(struct dga_cvm_run *r)
{
    dga_cvm_run_clear(r);
}

/*
 * The pipeline the verify command and the verifier server share: parse the
 * input's quote, source its collateral, verify it with the quote layer at
 * p->opt->at (DEBUG left to the td-debug check), then dga_cvm_verify over the
 * facts. A quote that does not parse or verify still yields a verdict
 * (ret->result: the quote check failed naming the quote layer's error; the
 * event-log checks still run when the quote parsed). Returns DGA_E_OK with
 * the verdict in ret->result.valid; else no verdict: DGA_E_BAD_ARGUMENT,
 * DGA_E_NOMEM, or a collateral source that does not deliver (a document that
 * does not parse, a directory without the entry, a PCCS fetch that fails:
 * those functions' errors, diag->field naming the member, path or item).
 * A root_name longer than ret->trusted_root holds is DGA_E_BAD_ARGUMENT.
 * ret is cleared first.
 */
dga_err dga_cvm_run(const struct dga_cvm_run_params *p, struct dga_cvm_run *ret,
                    struct dga_diag *diag);

/*
 * The verdict as JSON (docs/verify.md, Output): a superset of
 * dstack-verifier's VerificationResponse (is_valid, reason, details with
 * dstack's keys) plus details.checks, details.quote, details.gpu,
 * details.boot_info (dstack's PolicyBootInfo with gpuPolicyHash and
 * gpuAttestation), expectations_sha256 and verified_at; details.quote ends
 * with trusted_root when the run named its custom root. NULL when out of
 * memory.
 */
json_t *dga_cvm_run_json(const struct dga_cvm_run *r);

/*
 * The operator's view: one line per check "<status> <check>: <detail>",
 * then "valid" or "invalid: <reason>". malloc'd, NUL-terminated; NULL when
 * out of memory.
 */
char *dga_cvm_run_text(const struct dga_cvm_run *r);

/* ---- the re-appraisal of a bundle's raw evidence (lib/cvm/reappraise.c) ---------------- */

/*
 * What a re-appraisal is bound to, loaded once from the expectations' gpu
 * section: the device root (NVIDIA's compiled-in one; with trust_roots
 * "test", the PEM at gpu.test_device_root), the RIM root, the RIM store
 * (gpu.rim_dir, required), the OCSP source (the bundle's own responses, or
 * gpu.collateral_dir), the policy (gpu.policy, else the built-in default).
 * A file that cannot be read or parsed is its error with diag->field naming
 * the key ("gpu.policy"; the path is that key's value in x): DGA_E_IO and
 * the other errors of dga_file_read, DGA_E_BAD_PEM, DGA_E_POLICY,
 * DGA_E_RIM_STORE or DGA_E_COLLATERAL_STORE for a path that is not a
 * directory; no gpu.rim_dir, or trust_roots "test" without
 * gpu.test_device_root, is DGA_E_CVM_EXPECT. *ret is untouched on failure.
 * The reappraiser also owns one verification cache (dga_verify_cache: RIM
 * verdicts, chain suffixes, decoded certificates) that every call shares:
 * time-free and thread-safe, it never changes a verdict, and a warm call
 * verifies per device only the report signature and the chain's leaf and
 * BROM. Otherwise the reappraiser is only read by dga_cvm_reappraise:
 * concurrent calls may share it.
 */
struct dga_cvm_reappraiser;
dga_err dga_cvm_reappraiser_new(const struct dga_cvm_expect *x, struct dga_cvm_reappraiser **ret,
                                struct dga_diag *diag);
void dga_cvm_reappraiser_free(struct dga_cvm_reappraiser *r);
static inline void dga_cvm_reappraiser_freep(struct dga_cvm_reappraiser **p)
{
    dga_cvm_reappraiser_free(*p);
    *p = NULL;
}

/*
 * A dga_cvm_reappraise_fn (ctx: a struct dga_cvm_reappraiser): the bundle's
 * evidence re-appraised by this library at `at` (dga_appraise_set), each
 * device's report, chain to the root the payload's trust_roots names, RIMs
 * (only the documents whose SHA-256 the bundle's collateral.rims names),
 * OCSP when the policy requires it, and the policy with the bundle's
 * NVSwitch inventory. Fills *out (out->devices replaced: one entry per
 * device). Returns DGA_E_OK when every device passed; else the first failure
 * in the verdict's order, with detail naming the device and check: a
 * device's own error ("GPU-0: signature: signature-invalid: ..."),
 * DGA_E_DUPLICATE_DEVICE, DGA_E_CVM_REAPPRAISAL for the policy ("GPU-0:
 * policy: ..."); DGA_E_CVM_GPU_TRUST_ROOTS for a root not admitted;
 * DGA_E_CVM_BUNDLE_EVIDENCE for lists that are malformed or disagree with
 * the payload (evidence count, arch, report, chain, nonce, collateral);
 * DGA_E_BAD_ARGUMENT, DGA_E_NOMEM.
 */
dga_err dga_cvm_reappraise(void *ctx, const uint8_t *bundle, size_t len, const json_t *doc,
                           const struct dga_cvm_expect *x,
                           const struct dga_cvm_gpu_payload *payload, time_t at,
                           struct dga_cvm_reappraisal *out, char *detail);

/*
 * The gpu-attestation payload parsed strictly: a JSON object without
 * duplicates; version 2, provider "nvidia", devices, cc_mode, devtools,
 * evidence_sha256 required; this project's members (nvswitches,
 * policy_sha256, gpu_policy_sha256, rego_sha256 with rego_policy_sha256,
 * trust_roots, ocsp) optional; any other member, type or value is
 * DGA_E_CVM_GPU_PAYLOAD with diag->field naming it.
 */
dga_err dga_cvm_gpu_payload_parse(const uint8_t *p, size_t len, struct dga_cvm_gpu_payload *ret,
                                  struct dga_diag *diag);

#endif
