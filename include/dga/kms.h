/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KMS authorization webhook (docs/kms.md): a drop-in for dstack's
 * auth-simple. dstack's KMS POSTs the BootInfo of every CVM that asks for
 * its keys to /bootAuth/app (or /bootAuth/kms for another KMS) and releases
 * the keys only when the answer is {"isAllowed": true}. The configuration is
 * auth-simple's auth-config.json, with the same keys, defaults, check order,
 * hex normalisation and reason wording, plus optional GPU rules
 * (apps.<appId>.gpu, kms.gpu) evaluated on two fields a GPU-aware KMS adds
 * to BootInfo: gpuPolicyHash and gpuAttestation (the measured gpu-attestation
 * payload, parsed by the relying-party verifier's parser,
 * dga_cvm_gpu_payload_parse). Without a GPU rule the answer is auth-simple's.
 * The server re-reads its configuration whenever the file changed and
 * denies everything, saying why, while it does not parse.
 */
#ifndef DGA_KMS_H
#define DGA_KMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dga/cvm.h"
#include "dga/error.h"
#include "dga/service.h"

#define DGA_KMS_CONFIG_MAX (1u << 20)   /* the configuration file */
#define DGA_KMS_REQUEST_MAX (64u << 10) /* a BootInfo body (the GPU payload is at most 4 KiB) */
#define DGA_KMS_REASON_LEN 384
#define DGA_KMS_PATH_MAX 4096

/* ---- the configuration: auth-simple's keys, plus the gpu sections ---------------------- */

/*
 * A list of the configuration's strings. Hex lists hold each value
 * normalised as auth-simple compares them, without the "0x" it adds: ASCII
 * lowercase, one leading "0x" removed ("0xAB", "ab" and "0Xab" are all "ab").
 */
struct dga_kms_strings {
    size_t n;
    char **v;
};

/* gpu.mode: the GPU modes a rule admits (the measured cc_mode). */
enum dga_kms_gpu_mode {
    DGA_KMS_GPU_MODE_CC,    /* "cc", the default: cc_mode "on" (or "none" without GPUs) */
    DGA_KMS_GPU_MODE_PPCIE, /* "ppcie": cc_mode "ppcie" (or "none" without GPUs) */
    DGA_KMS_GPU_MODE_ANY,   /* "any": either */
};

/* apps.<appId>.gpu or kms.gpu (docs/kms.md, GPU rules). */
struct dga_kms_gpu_rule {
    bool present;                          /* the section was given */
    bool required;                         /* default false */
    struct dga_cvm_count gpus, nvswitches; /* required and gpus not given: at least 1 */
    size_t n_policy_hashes;                /* gpuPolicyHashes; 0 = not checked */
    uint8_t (*policy_hashes)[32];
    bool allow_devtools;           /* default false */
    bool trust_nvidia, trust_test; /* trustRoots, default ["nvidia"] */
    enum dga_kms_gpu_mode mode;    /* mode, default "cc" */
};

struct dga_kms_device_rule {
    struct dga_kms_strings devices; /* hex; empty allows any device (auth-simple's rule) */
    bool allow_any;                 /* allowAnyDevice, default false */
};

struct dga_kms_app {
    char *id; /* the key of apps, normalised */
    struct dga_kms_strings compose_hashes;
    struct dga_kms_device_rule devices;
    struct dga_kms_gpu_rule gpu;
};

struct dga_kms_config {
    char *gateway_app_id;                 /* default "" */
    char *kms_contract_addr;              /* default "0x" + 40 zeros */
    json_t *chain_id;                     /* a JSON number, default 0 */
    char *app_implementation;             /* default "0x" + 40 zeros */
    struct dga_kms_strings os_images;     /* hex, default [] */
    struct dga_kms_strings tcb_statuses;  /* as given, default ["UpToDate"] */
    struct dga_kms_strings advisory_ids;  /* as given, default [] */
    struct dga_kms_strings mr_aggregated; /* kms.mrAggregated, hex, default [] */
    struct dga_kms_device_rule kms_devices;
    struct dga_kms_gpu_rule kms_gpu;
    size_t n_apps;
    struct dga_kms_app *apps;
    char ignored[160]; /* the unknown keys auth-simple would ignore too ("" when none) */
};

/*
 * Parses auth-config.json (at most DGA_KMS_CONFIG_MAX bytes): one JSON object
 * without duplicate keys (auth-simple would take the last); every key of
 * auth-simple with its type and default; unknown keys are ignored as
 * auth-simple ignores them and listed in ret->ignored, except inside a gpu
 * section, which is strict. A value of the wrong type, a null, two apps keys
 * that normalise to one app, and a gpu section that does not hold are
 * DGA_E_KMS_CONFIG with diag->field the key ("apps.gpu.gpus"; the app is in
 * msg) and msg (msg_len bytes, may be NULL) a sentence naming the value;
 * JSON that does not parse gives line and column in msg. *ret untouched on
 * failure.
 */
dga_err dga_kms_config_parse(const char *text, size_t len, struct dga_kms_config *ret,
                             struct dga_diag *diag, char *msg, size_t msg_len);
void dga_kms_config_clear(struct dga_kms_config *c);
static inline void dga_kms_config_clearp(struct dga_kms_config *c)
{
    dga_kms_config_clear(c);
}

/* ---- the request: dstack's BootInfo --------------------------------------------------- */

/* How a field a GPU-aware KMS adds was sent. */
enum dga_kms_field {
    DGA_KMS_FIELD_ABSENT,     /* missing or null: not forwarded */
    DGA_KMS_FIELD_STRING,     /* a string */
    DGA_KMS_FIELD_NOT_STRING, /* another type: judged only when a GPU rule reads it */
};

/*
 * A BootInfo request. The strings point into doc and live as long as it does;
 * they are as sent (auth-simple normalises when it compares).
 */
struct dga_kms_boot_info {
    json_t *doc;
    const char *mr_aggregated, *os_image_hash, *app_id, *compose_hash, *instance_id, *device_id;
    const char *tcb_status; /* "" when absent */
    json_t *advisory_ids;   /* an array of strings (borrowed from doc), or NULL when absent */
    enum dga_kms_field gpu_policy_hash_kind, gpu_attestation_kind;
    const char *gpu_policy_hash; /* when a string */
    const char *gpu_attestation; /* when a string: the payload as measured */
    size_t gpu_attestation_len;
};

/*
 * Parses a request body (at most DGA_KMS_REQUEST_MAX bytes) as auth-simple's
 * schema does: one JSON object; mrAggregated, osImageHash, appId,
 * composeHash, instanceId and deviceId required strings; tcbStatus, mrSystem,
 * attestationMode optional strings; advisoryIds an optional array of strings;
 * every other key ignored, gpuPolicyHash and gpuAttestation kept for the GPU
 * rules. Stricter than auth-simple: duplicate keys are refused. Anything else
 * is DGA_E_KMS_REQUEST with diag->field the key ("body" for the document)
 * and msg (may be NULL) a sentence. *ret untouched on failure.
 */
dga_err dga_kms_boot_info_parse(const uint8_t *body, size_t len, struct dga_kms_boot_info *ret,
                                struct dga_diag *diag, char *msg, size_t msg_len);
void dga_kms_boot_info_clear(struct dga_kms_boot_info *b);
static inline void dga_kms_boot_info_clearp(struct dga_kms_boot_info *b)
{
    dga_kms_boot_info_clear(b);
}

/* ---- the decision --------------------------------------------------------------------- */

enum dga_kms_endpoint {
    DGA_KMS_BOOT_APP, /* POST /bootAuth/app */
    DGA_KMS_BOOT_KMS, /* POST /bootAuth/kms */
};

/* The checks, in the order they run (auth-simple's, then ours); each denial names one. */
#define DGA_KMS_CHECKS(X)                                                                          \
    X(NONE, "none")                                                                                \
    X(CONFIG, "config")               /* the configuration does not parse */                       \
    X(TCB_STATUS, "tcb-status")       /* both endpoints */                                         \
    X(ADVISORY, "advisory")           /* both endpoints */                                         \
    X(OS_IMAGE, "os-image")           /* both endpoints */                                         \
    X(MR_AGGREGATED, "mr-aggregated") /* /bootAuth/kms */                                          \
    X(APP, "app")                     /* /bootAuth/app: registered */                              \
    X(COMPOSE_HASH, "compose-hash")   /* /bootAuth/app */                                          \
    X(DEVICE, "device")               /* both, after the endpoint's own */                         \
    X(GPU_FORWARDED, "gpu-forwarded") /* a GPU rule needs a field the KMS did not send */          \
    X(GPU_PAYLOAD, "gpu-payload")     /* gpuAttestation does not parse or is inconsistent */       \
    X(GPU_DEVICES, "gpu-devices")                                                                  \
    X(GPU_CC_MODE, "gpu-cc-mode")                                                                  \
    X(GPU_DEVTOOLS, "gpu-devtools")                                                                \
    X(GPU_TRUST_ROOTS, "gpu-trust-roots")                                                          \
    X(GPU_POLICY_HASH, "gpu-policy-hash")

enum dga_kms_check {
#define DGA_X_KMS_CHECK(id, name) DGA_KMS_CHECK_##id,
    DGA_KMS_CHECKS(DGA_X_KMS_CHECK)
#undef DGA_X_KMS_CHECK
        DGA_KMS_CHECK__COUNT
};
const char *dga_kms_check_name(enum dga_kms_check c);

struct dga_kms_decision {
    bool allowed;
    enum dga_kms_check check;        /* DGA_KMS_CHECK_NONE when allowed */
    char reason[DGA_KMS_REASON_LEN]; /* "" when allowed; auth-simple's wording for its checks */
};

/* Runs the checks for the endpoint in their order; the first that fails decides. */
void dga_kms_decide(const struct dga_kms_config *c, enum dga_kms_endpoint ep,
                    const struct dga_kms_boot_info *b, struct dga_kms_decision *ret);

/* ---- the server ----------------------------------------------------------------------- */

struct dga_kms_hook_config {
    char listen[256];              /* "ADDR:PORT" or "[ADDR6]:PORT"; port 0 = any */
    char config[DGA_KMS_PATH_MAX]; /* auth-config.json */
    /*
     * client-timeout (10 s), client-request-timeout (30 s), max-request (the
     * request body, at most DGA_KMS_REQUEST_MAX: 64K), max-connections
     * (1024), max-connections-per-client (128)
     */
    struct dga_service_limits limits;
    bool log_decisions;     /* a line per decision (true) */
    dga_service_log_fn log; /* NULL = nowhere */
    void *log_cls;
};

/* listen 127.0.0.1:3000, config ./auth-config.json (auth-simple's), the limits above. */
void dga_kms_hook_config_defaults(struct dga_kms_hook_config *c);
/*
 * kms-hook's options (listen, config, client-timeout, client-request-timeout,
 * max-request, max-connections, max-connections-per-client, the switch
 * quiet) for its flags: no bound or timeout 0, durations s/m/h/d up to
 * INT32_MAX seconds, max-request K/M up to DGA_KMS_REQUEST_MAX, connection
 * counts up to 1000000; failures DGA_E_BAD_ARGUMENT. No "key = value" file
 * reads through it (file_max 0): "config" is the auth-config.json path.
 */
const struct dga_service_options *dga_kms_hook_config_options(void);

struct dga_kms_hook;

/*
 * Checks the limits (DGA_E_BAD_ARGUMENT, diag->field the option), then reads
 * and parses the configuration once: a file that cannot be read or does not
 * parse is DGA_E_KMS_CONFIG, its reason logged (a server that starts on a
 * broken configuration would only deny). Serves nothing yet.
 */
dga_err dga_kms_hook_new(const struct dga_kms_hook_config *c, struct dga_kms_hook **ret,
                         struct dga_diag *diag);
/* Starts serving (dga_service_start's errors). */
dga_err dga_kms_hook_serve(struct dga_kms_hook *h, struct dga_diag *diag);
/* The bound TCP port once serving. */
unsigned dga_kms_hook_port(const struct dga_kms_hook *h);
/* Stops serving, waits for the threads, frees everything. NULL is fine. */
void dga_kms_hook_free(struct dga_kms_hook *h);
static inline void dga_kms_hook_freep(struct dga_kms_hook **p)
{
    dga_kms_hook_free(*p);
    *p = NULL;
}

/*
 * One request without HTTP (what the server answers): the configuration
 * re-read if the file changed, then GET / (health and info), POST
 * /bootAuth/app or /bootAuth/kms. *ret_status is 200 with
 * {"isAllowed","reason","gatewayAppId"} (denials included, and every request
 * while the configuration does not parse), 400 for a body that is not a
 * BootInfo or not sent as application/json, 404/405 for other targets, 500
 * from GET / while the configuration does not parse. *ret_body is malloc'd
 * JSON. DGA_E_NOMEM otherwise (nothing returned).
 */
dga_err dga_kms_hook_answer(struct dga_kms_hook *h, const char *method, const char *target,
                            const char *content_type, const uint8_t *body, size_t len,
                            unsigned *ret_status, char **ret_body, size_t *ret_len);

#endif
