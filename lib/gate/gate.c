/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The boot gate, step by step (docs/gate.md). Each step either succeeds or
 * records the failure (step, error, one-line reason naming the device and
 * the check) and stops the run: nothing after a failed step runs, so no
 * gpu-attestation event and no ready state follow a failure. The bundle is
 * written on every outcome the run directory allows.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/cleanup.h"
#include "core/jsonconst.h"
#include "dga/eat.h"
#include "dga/util.h"
#include "gate/internal.h"

#define PEM_FILE_MAX (64u << 10)

const char *dga_gate_step_name(enum dga_gate_step s)
{
    static const char *const names[] = {
#define DGA_X_NAME(id, name) [DGA_GATE_STEP_##id] = name,
        DGA_GATE_STEPS(DGA_X_NAME)
#undef DGA_X_NAME
    };
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

const char *dga_gate_outcome_name(enum dga_gate_outcome o)
{
    static const char *const names[] = {
#define DGA_X_NAME(id, name) [DGA_GATE_OUTCOME_##id] = name,
        DGA_GATE_OUTCOMES(DGA_X_NAME)
#undef DGA_X_NAME
    };
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "unknown";
}

/*
 * A setup step that failed on a file the config names: a malformed one (a policy,
 * the gpu_policy, an argument) is a configuration error like the config itself;
 * anything else (reading it, memory) is I/O.
 */
static enum dga_gate_outcome setup_outcome(dga_err e)
{
    switch (e) {
    case DGA_E_GATE_CONFIG:
    case DGA_E_POLICY:
    case DGA_E_BAD_ARGUMENT:
    case DGA_E_JCS_NUMBER:
    case DGA_E_JCS_DEPTH:
        return DGA_GATE_OUTCOME_CONFIG;
    default:
        return DGA_GATE_OUTCOME_IO;
    }
}

/* Records the failure of a step; returns err so a step can `return fail(...)`. */
__attribute__((format(printf, 5, 6))) static dga_err fail(struct gate_state *g,
                                                          enum dga_gate_step step, dga_err err,
                                                          enum dga_gate_outcome outcome,
                                                          const char *fmt, ...)
{
    struct dga_gate_result *r = g->res;
    r->err = err;
    r->step = step;
    r->outcome = outcome;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    return err;
}

void gate_device_name(const struct gate_state *g, size_t index, char *out, size_t size)
{
    size_t n_gpus = g->collected ? g->col->n : 0;
    if (g->switches_collected && index >= n_gpus && index - n_gpus < g->sw->n) {
        snprintf(out, size, "SWITCH-%zu (%s)", index - n_gpus, g->sw->sw[index - n_gpus].label);
        return;
    }
    const char *address = g->collected && index < g->col->n ? g->col->gpu[index].pci_address
                          : g->inventory_read && index < g->inv->n_gpus ? g->inv->gpu[index].address
                                                                        : NULL;
    if (address != NULL) {
        snprintf(out, size, "GPU-%zu (%s)", index, address);
    } else {
        snprintf(out, size, "GPU-%zu", index);
    }
}

/* ---- setup: everything read from files before the first side effect ---- */

/* The policy file the config names; a failure names the file. */
static dga_err load_policy_file(struct gate_state *g, const char *path)
{
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    struct dga_diag diag = {0};
    dga_err e = dga_file_read(path, DGA_POLICY_MAX_BYTES, &text, &len);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_SETUP, e, setup_outcome(e), "policy: %s: %s: %s", path,
                    dga_err_name(e), dga_err_message(e));
    }
    e = dga_policy_parse((const char *)text, len, &g->policy, &diag);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_SETUP, e, setup_outcome(e), "policy: %s: %s: %s (%s)", path,
                    dga_err_name(e), dga_err_message(e), diag.field ? diag.field : "document");
    }
    return DGA_E_OK;
}

/* The config's policy, else the built-in one; then its SHA-256. */
static dga_err load_policy(struct gate_state *g)
{
    const char *path = g->cfg->policy;
    if (path != NULL) {
        dga_err e = load_policy_file(g, path);
        if (e != DGA_E_OK) {
            return e;
        }
    } else {
        dga_err e = dga_policy_default(&g->policy);
        if (e != DGA_E_OK) {
            return fail(g, DGA_GATE_STEP_SETUP, e, setup_outcome(e), "policy: %s", dga_err_name(e));
        }
    }
    dga_policy_sha256(g->policy, g->policy_sha256);
    return DGA_E_OK;
}

/*
 * dstack's GpuPolicy keys (deny_unknown_fields there too), with their JSON types. A key
 * the gate does not understand is a check it does not run: refused, as a wrong type is.
 */
static const struct {
    const char *name;
    bool string; /* else a boolean */
} gpu_policy_keys[] = {
    {"attest_gpu", false},  {"allow_devtools", false},
    {"allow_debug", false}, {"allow_insecure_boot", false},
    {"rego", true},
};

/* A gpu_policy key for the reason line: printable ASCII, cut after 64 characters. */
static void printable_key(const char *key, char *out, size_t cap)
{
    size_t n = 0;
    for (; key[n] != '\0' && n + 1 < cap && n < 64; n++) {
        out[n] = key[n] >= 0x20 && key[n] < 0x7f ? key[n] : '?';
    }
    out[n] = '\0';
}

static dga_err check_gpu_policy_keys(struct gate_state *g, const json_t *gp)
{
    const char *name;
    json_t *v;
    json_object_foreach(json_iterable(gp), name, v)
    {
        size_t i = 0;
        while (i < sizeof gpu_policy_keys / sizeof gpu_policy_keys[0] &&
               strcmp(gpu_policy_keys[i].name, name) != 0) {
            i++;
        }
        char key[72];
        printable_key(name, key, sizeof key);
        if (i == sizeof gpu_policy_keys / sizeof gpu_policy_keys[0]) {
            return fail(g, DGA_GATE_STEP_SETUP, DGA_E_GATE_CONFIG, DGA_GATE_OUTCOME_CONFIG,
                        "config: gpu_policy.%s: unknown key: the gate does not run a check it "
                        "does not understand",
                        key);
        }
        if (gpu_policy_keys[i].string ? !json_is_string(v) : !json_is_boolean(v)) {
            return fail(g, DGA_GATE_STEP_SETUP, DGA_E_GATE_CONFIG, DGA_GATE_OUTCOME_CONFIG,
                        "config: gpu_policy.%s: must be a %s", key,
                        gpu_policy_keys[i].string ? "string" : "boolean");
        }
    }
    return DGA_E_OK;
}

/* A policy document from a file the config names. */
static dga_err read_policy_file(const char *path, struct dga_policy **ret, struct dga_diag *diag)
{
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    dga_err e = dga_file_read(path, DGA_POLICY_MAX_BYTES, &text, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    return dga_policy_parse((const char *)text, len, ret, diag);
}

static dga_err load_rego_equivalent(struct gate_state *g, const struct dga_gate_rego_equivalent *r)
{
    struct dga_diag diag = {0};
    const char *path = r->policy;
    dga_err e = r->text != NULL ? dga_policy_parse(r->text, r->text_len, &g->rego_policy, &diag)
                                : read_policy_file(path, &g->rego_policy, &diag);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_SETUP, e, setup_outcome(e),
                    "config: gpu_policy.rego: equivalent policy %s: %s: %s (%s)", path,
                    dga_err_name(e), dga_err_message(e), diag.field ? diag.field : "file");
    }
    g->rego_policy_path = path;
    dga_policy_sha256(g->rego_policy, g->rego_policy_sha256);
    return DGA_E_OK;
}

/*
 * No Rego engine here: the Rego text is refused unless the config names, for
 * its exact bytes' SHA-256, a policy document that stands in for it.
 */
static dga_err read_rego(struct gate_state *g, const json_t *rego)
{
    if (rego == NULL) {
        return DGA_E_OK;
    }
    if (EVP_Digest(json_string_value(rego), json_string_length(rego), g->rego_sha256, NULL,
                   EVP_sha256(), NULL) != 1) {
        return fail(g, DGA_GATE_STEP_SETUP, DGA_E_INTERNAL, DGA_GATE_OUTCOME_IO,
                    "gpu_policy.rego: SHA-256 failed");
    }
    g->has_rego = true;
    const struct dga_gate_config *c = g->cfg;
    for (size_t i = 0; i < c->n_rego_equivalents; i++) {
        if (CRYPTO_memcmp(c->rego_equivalents[i].rego_sha256, g->rego_sha256, 32) == 0) {
            return load_rego_equivalent(g, &c->rego_equivalents[i]);
        }
    }
    char hex[65];
    dga_hex_encode(g->rego_sha256, 32, hex);
    return fail(g, DGA_GATE_STEP_SETUP, DGA_E_GATE_CONFIG, DGA_GATE_OUTCOME_CONFIG,
                "config: gpu_policy.rego needs a Rego engine; give the equivalent policy "
                "document (rego_equivalents has none for its SHA-256 %s)",
                hex);
}

/* The app-compose member that must be an object when present; NULL when absent. */
static dga_err compose_object(struct gate_state *g, json_t *parent, const char *name, json_t **ret)
{
    json_t *v = json_object_get(parent, name);
    if (v != NULL && !json_is_object(v)) {
        return fail(g, DGA_GATE_STEP_SETUP, DGA_E_GATE_CONFIG, DGA_GATE_OUTCOME_CONFIG,
                    "app_compose: %s: %s must be an object", g->cfg->app_compose, name);
    }
    *ret = v;
    return DGA_E_OK;
}

/*
 * dstack-util writes the digest-version file from app-compose's event_log_version (default
 * 1) and refuses a different one already there: the gate, which writes it first, must agree.
 */
static dga_err check_event_log_version(struct gate_state *g, const json_t *compose)
{
    const json_t *v = json_object_get(compose, "event_log_version");
    json_int_t want = v == NULL ? 1 : json_is_integer(v) ? json_integer_value(v) : 0;
    if (want != 1 && want != 2) {
        return fail(g, DGA_GATE_STEP_SETUP, DGA_E_GATE_CONFIG, DGA_GATE_OUTCOME_CONFIG,
                    "app_compose: %s: event_log_version must be 1 or 2", g->cfg->app_compose);
    }
    if ((unsigned)want != g->cfg->event_version) {
        return fail(g, DGA_GATE_STEP_SETUP, DGA_E_GATE_CONFIG, DGA_GATE_OUTCOME_CONFIG,
                    "app_compose: %s: event_log_version %d but event_version %u: dstack-util "
                    "would refuse the digest-version file the gate writes",
                    g->cfg->app_compose, (int)want, g->cfg->event_version);
    }
    return DGA_E_OK;
}

/*
 * As dstack-util: the JSON value at /requirements/gpu_policy of the raw app-compose.json,
 * {} when absent. Fail closed where dstack's typed reading would fail too (a requirements
 * or gpu_policy that is not an object, duplicate keys).
 */
static dga_err policy_from_compose(struct gate_state *g, json_t *compose)
{
    json_t *req = NULL, *gp = NULL;
    dga_err e = compose_object(g, compose, "requirements", &req);
    if (e == DGA_E_OK && req != NULL) {
        e = compose_object(g, req, "gpu_policy", &gp);
    }
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_event_log_version(g, compose);
    if (e != DGA_E_OK) {
        return e;
    }
    g->gpu_policy = gp != NULL ? json_incref(gp) : json_object();
    return g->gpu_policy != NULL ? DGA_E_OK
                                 : fail(g, DGA_GATE_STEP_SETUP, DGA_E_NOMEM, DGA_GATE_OUTCOME_IO,
                                        "app_compose: out of memory");
}

static dga_err read_app_compose(struct gate_state *g)
{
    const char *path = g->cfg->app_compose;
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    dga_err e = dga_file_read(path, DGA_GATE_APP_COMPOSE_MAX_BYTES, &text, &len);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_SETUP, e, DGA_GATE_OUTCOME_IO, "app_compose: %s: %s: %s", path,
                    dga_err_name(e), dga_err_message(e));
    }
    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *compose =
        json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(compose)) {
        return fail(g, DGA_GATE_STEP_SETUP, DGA_E_GATE_CONFIG, DGA_GATE_OUTCOME_CONFIG,
                    "app_compose: %s: not a JSON object (byte %d)", path,
                    compose == NULL ? jerr.position : 0);
    }
    e = policy_from_compose(g, compose);
    if (e == DGA_E_OK &&
        gate_json_depth(g->gpu_policy, GATE_GPU_POLICY_MAX_DEPTH + 1) > GATE_GPU_POLICY_MAX_DEPTH) {
        return fail(g, DGA_GATE_STEP_SETUP, DGA_E_GATE_CONFIG, DGA_GATE_OUTCOME_CONFIG,
                    "app_compose: %s: gpu_policy nested deeper than %d", path,
                    GATE_GPU_POLICY_MAX_DEPTH);
    }
    return e;
}

/* The gpu_policy: the app-compose file's when the config names one, else the config's. */
static dga_err take_gpu_policy(struct gate_state *g)
{
    if (g->cfg->app_compose != NULL) {
        return read_app_compose(g);
    }
    g->gpu_policy = json_incref(g->cfg->gpu_policy);
    return DGA_E_OK;
}

/* dstack's gpu_policy: hashed as written, every key understood, its knobs applied. */
static dga_err read_gpu_policy(struct gate_state *g)
{
    dga_err e = take_gpu_policy(g);
    if (e != DGA_E_OK) {
        return e;
    }
    const json_t *gp = g->gpu_policy;
    _cleanup_(freep) char *jcs = NULL;
    size_t len = 0;
    struct dga_diag diag = {0};
    e = dga_jcs_encode(gp, &jcs, &len, &diag);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_SETUP, e, setup_outcome(e), "gpu_policy: %s: %s",
                    dga_err_name(e), dga_err_message(e));
    }
    if (EVP_Digest(jcs, len, g->gpu_policy_sha256, NULL, EVP_sha256(), NULL) != 1) {
        return fail(g, DGA_GATE_STEP_SETUP, DGA_E_INTERNAL, DGA_GATE_OUTCOME_IO,
                    "gpu_policy: SHA-256 failed");
    }
    e = check_gpu_policy_keys(g, gp);
    if (e != DGA_E_OK) {
        return e;
    }
    if (json_is_false(json_object_get(gp, "attest_gpu")) || !dga_policy_attest_gpu(g->policy)) {
        /* dstack would then set the ready state unverified; the gate never does. */
        return fail(g, DGA_GATE_STEP_SETUP, DGA_E_GATE_CONFIG, DGA_GATE_OUTCOME_CONFIG,
                    "config: attest_gpu is false: the gate attests or refuses, it never skips");
    }
    g->allow_devtools =
        dga_policy_allow_devtools(g->policy) || json_is_true(json_object_get(gp, "allow_devtools"));
    /* As dstack's basic policy: they drop the dbgstat / secboot requirement. */
    dga_policy_relax_measurements(g->policy, json_is_true(json_object_get(gp, "allow_debug")),
                                  json_is_true(json_object_get(gp, "allow_insecure_boot")));
    return read_rego(g, json_object_get(gp, "rego"));
}

/* NVIDIA's device root, or the test root the config names. */
static dga_err read_device_root(const char *path, struct dga_trust *ret)
{
    if (path == NULL) {
        return dga_trust_nvidia_device(ret);
    }
    _cleanup_(freep) uint8_t *pem = NULL;
    size_t len = 0;
    dga_err e = dga_file_read(path, PEM_FILE_MAX, &pem, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    return dga_trust_from_pem((const char *)pem, len, ret);
}

static dga_err load_roots(struct gate_state *g)
{
    dga_err e = dga_trust_nvidia_rim(&g->rim_root);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_SETUP, e, setup_outcome(e), "trust roots: rim: %s: %s",
                    dga_err_name(e), dga_err_message(e));
    }
    const char *path = g->cfg->test_device_root;
    e = read_device_root(path, &g->device_root);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_SETUP, e, setup_outcome(e), "trust roots: %s%s%s: %s",
                    path != NULL ? "test_device_root " : "", path != NULL ? path : "",
                    dga_err_name(e), dga_err_message(e));
    }
    return DGA_E_OK;
}

static dga_err load_eat_key(struct gate_state *g)
{
    const char *path = g->cfg->eat_key;
    if (path == NULL) {
        return DGA_E_OK;
    }
    dga_err e = dga_eat_key_load(path, &g->eat_key);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_SETUP, e, setup_outcome(e), "eat_key: %s: %s: %s", path,
                    dga_err_name(e), dga_err_message(e));
    }
    return DGA_E_OK;
}

static dga_err open_backend(struct gate_state *g)
{
    const struct dga_gate_config *c = g->cfg;
    struct dga_event_paths paths = {.log_dir = c->event_log_dir,
                                    .lock_path = c->event_lock,
                                    .tdx_sysfs_dir = c->tdx_sysfs_dir,
                                    .tdx_device = c->tdx_device,
                                    .tpm_tcti = c->tpm_tcti};
    struct dga_diag diag = {0};
    dga_err e = dga_event_backend_open(c->event_backend, &paths, &g->backend, &diag);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_SETUP, e, setup_outcome(e), "event_backend: %s: %s (%s)",
                    dga_err_name(e), dga_err_message(e), diag.field ? diag.field : "spec");
    }
    return DGA_E_OK;
}

/*
 * Revocation, chosen as attest chooses it: the config's "ocsp", else online
 * when the policy, or the document standing in for gpu_policy.rego, requires
 * OCSP, and off when both say "not-required". Off under a document that
 * requires OCSP, or cache without a collateral_dir, is a config error found
 * here, before anything is measured or collected: the gate never checks less
 * than its policies ask for.
 */
static dga_err setup_ocsp(struct gate_state *g)
{
    const struct dga_gate_config *c = g->cfg;
    struct dga_ocsp_source *src = &g->ocsp;
    dga_ocsp_source_init(src);
    bool required = dga_policy_ocsp_required(g->policy);
    bool rego_required = g->rego_policy != NULL && dga_policy_ocsp_required(g->rego_policy);
    src->mode = required || rego_required ? DGA_OCSP_MODE_ONLINE : DGA_OCSP_MODE_OFF;
    if (c->ocsp != NULL && dga_ocsp_mode_parse(c->ocsp, &src->mode) != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_SETUP, DGA_E_GATE_CONFIG, DGA_GATE_OUTCOME_CONFIG, "ocsp: %s",
                    c->ocsp);
    }
    bool off = src->mode == DGA_OCSP_MODE_OFF;
    if (off && !required && rego_required) {
        return fail(g, DGA_GATE_STEP_SETUP, DGA_E_GATE_CONFIG, DGA_GATE_OUTCOME_CONFIG,
                    "ocsp: \"off\" contradicts rego_equivalents: the document standing in for "
                    "gpu_policy.rego (%s) requires OCSP",
                    g->rego_policy_path);
    }
    const char *why = off && required ? "\"off\" needs a policy with \"ocsp\": \"not-required\""
                      : src->mode == DGA_OCSP_MODE_CACHE && c->collateral_dir == NULL
                          ? "\"cache\" needs collateral_dir"
                          : NULL;
    if (why != NULL) {
        return fail(g, DGA_GATE_STEP_SETUP, DGA_E_GATE_CONFIG, DGA_GATE_OUTCOME_CONFIG, "ocsp: %s",
                    why);
    }
    src->url = c->ocsp_url;
    src->dir = c->collateral_dir;
    if (c->has_ocsp_max_age) {
        src->max_age = (long)c->ocsp_max_age;
        src->unlimited_age = c->ocsp_max_age == 0;
    }
    if (src->mode != DGA_OCSP_MODE_OFF && dga_ocsp_memo_new(&src->memo) != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_SETUP, DGA_E_NOMEM, DGA_GATE_OUTCOME_IO,
                    "ocsp: out of memory");
    }
    return DGA_E_OK;
}

typedef dga_err (*gate_step)(struct gate_state *g);

/* Runs n steps in order and returns the first failure. */
static dga_err run_in_order(struct gate_state *g, const gate_step *steps, size_t n)
{
    dga_err e = DGA_E_OK;
    for (size_t i = 0; i < n && e == DGA_E_OK; i++) {
        e = steps[i](g);
    }
    return e;
}

static dga_err setup(struct gate_state *g)
{
    /* setup_ocsp after read_gpu_policy: its rego's document may require OCSP. */
    static const gate_step steps[] = {load_policy, read_gpu_policy, setup_ocsp,
                                      load_roots,  load_eat_key,    open_backend};
    g->at = g->cfg->has_verify_at ? g->cfg->verify_at : time(NULL);
    return run_in_order(g, steps, sizeof steps / sizeof steps[0]);
}

/* ---- the measured events ---- */

/* The digest-version file (once per boot), then the event unless dstack-util emits it. */
static dga_err policy_hash_event(struct gate_state *g)
{
    struct dga_diag diag = {0};
    enum dga_event_version v = g->cfg->event_version == 2 ? DGA_EVENT_V2 : DGA_EVENT_V1;
    dga_err e = dga_event_version_set(g->backend, v, &diag);
    if (e != DGA_E_OK || g->cfg->policy_hash_by_dstack) {
        return e;
    }
    return dga_event_emit(g->backend, DGA_EVENT_GPU_POLICY_HASH, g->gpu_policy_sha256,
                          sizeof g->gpu_policy_sha256, &diag);
}

/* The runtime event log as it is now; *ret stays NULL when there is none yet. */
static dga_err read_log(struct gate_state *g, struct dga_eventlog **ret)
{
    const char *dir = g->cfg->event_log_dir != NULL ? g->cfg->event_log_dir : DGA_EVENT_LOG_DIR;
    char path[DGA_GATE_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dir, DGA_EVENT_LOG_FILE);
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        return DGA_E_OK;
    }
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    dga_err e = dga_file_read(path, DGA_GATE_BUNDLE_MAX_BYTES, &text, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    return dga_eventlog_parse((const char *)text, len, ret, NULL);
}

/*
 * What this run's gpu-policy-hash means next to one already in the log: in "emit" mode a
 * second event (refused by any strict verifier); in "dstack" mode dstack-util's own, which
 * must be the gate's value (the gate runs first in the shipped units: normally none yet).
 */
static dga_err check_logged_policy_hash(struct gate_state *g, const struct dga_event *ev)
{
    if (!g->cfg->policy_hash_by_dstack) {
        return fail(g, DGA_GATE_STEP_POLICY_HASH, DGA_E_CVM_EVENT_DUPLICATE,
                    DGA_GATE_OUTCOME_REFUSED,
                    "event: gpu-policy-hash: event %zu of the log is one already: set "
                    "policy_hash_event \"dstack\" when dstack-util emits it",
                    ev->where);
    }
    if (ev->payload_len != 32 || CRYPTO_memcmp(ev->payload, g->gpu_policy_sha256, 32) != 0) {
        return fail(g, DGA_GATE_STEP_POLICY_HASH, DGA_E_GATE_REJECTED, DGA_GATE_OUTCOME_REFUSED,
                    "event: gpu-policy-hash: event %zu of the log is not the gate's gpu_policy "
                    "hash: dstack-util read another policy",
                    ev->where);
    }
    return DGA_E_OK;
}

/*
 * Before a boot run's first event: a gpu-attestation already in the log (dstack's own GPU
 * step ran first, or the gate ran twice) would make a second one, which no strict verifier
 * accepts; the gate refuses rather than measure an unverifiable log.
 */
static dga_err check_log(struct gate_state *g)
{
    _cleanup_(dga_eventlog_freep) struct dga_eventlog *log = NULL;
    dga_err e = read_log(g, &log);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_POLICY_HASH, e, DGA_GATE_OUTCOME_IO,
                    "event: the runtime event log cannot be read: %s: %s", dga_err_name(e),
                    dga_err_message(e));
    }
    for (size_t i = 0; log != NULL && i < log->n; i++) {
        const struct dga_event *ev = &log->events[i];
        if (strcmp(ev->name, DGA_EVENT_GPU_ATTESTATION) == 0) {
            return fail(g, DGA_GATE_STEP_POLICY_HASH, DGA_E_CVM_EVENT_DUPLICATE,
                        DGA_GATE_OUTCOME_REFUSED,
                        "event: gpu-attestation: event %zu of the log is one already: a second "
                        "would leave a log no verifier accepts (is dstack's GPU step active?)",
                        ev->where);
        }
    }
    for (size_t i = 0; log != NULL && i < log->n; i++) {
        const struct dga_event *ev = &log->events[i];
        if (strcmp(ev->name, DGA_EVENT_GPU_POLICY_HASH) == 0) {
            return check_logged_policy_hash(g, ev);
        }
    }
    return DGA_E_OK;
}

static dga_err emit_policy_hash(struct gate_state *g)
{
    dga_err e = check_log(g);
    if (e != DGA_E_OK) {
        return e;
    }
    e = policy_hash_event(g);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_POLICY_HASH, e, DGA_GATE_OUTCOME_IO,
                    "event: gpu-policy-hash: %s: %s", dga_err_name(e), dga_err_message(e));
    }
    g->res->policy_hash_emitted = !g->cfg->policy_hash_by_dstack;
    return DGA_E_OK;
}

static const char *event_cc_mode(const struct gate_state *g)
{
    if (g->inv->n_gpus == 0) {
        return "none";
    }
    return g->ppcie ? "ppcie" : "on"; /* dga_cc_check_mode passed */
}

/*
 * PPCIe mode: the NVSwitches attested (NSCQ = inventory, each appraised, the topology passed);
 * CC mode: the inventory's, which are not attested (nothing relies on them there).
 */
static size_t event_nvswitches(const struct gate_state *g)
{
    return g->ppcie ? g->sw->n : g->inv->n_switches;
}

static dga_err build_payload(struct gate_state *g, char **ret, size_t *ret_len)
{
    struct dga_gate_event_fields f = {
        .devices = g->inv->n_gpus,
        .nvswitches = event_nvswitches(g),
        .cc_mode = event_cc_mode(g),
        .devtools = g->inv->n_gpus > 0 && g->col->cc.devtools_mode == 1,
        .test_roots = g->cfg->test_device_root != NULL,
        .ocsp = dga_ocsp_mode_name(g->ocsp.mode),
    };
    memcpy(f.evidence_sha256, g->res->bundle_sha256, 32);
    memcpy(f.policy_sha256, g->policy_sha256, 32);
    memcpy(f.gpu_policy_sha256, g->gpu_policy_sha256, 32);
    f.has_rego = g->has_rego;
    memcpy(f.rego_sha256, g->rego_sha256, 32);
    memcpy(f.rego_policy_sha256, g->rego_policy_sha256, 32);
    return dga_gate_event_payload(&f, ret, ret_len);
}

static const char *event_name(const struct gate_state *g)
{
    return g->opt->event_name != NULL ? g->opt->event_name : DGA_EVENT_GPU_ATTESTATION;
}

/* The payload, recorded in the result, then emitted (not on a dry run). */
static dga_err attestation_event(struct gate_state *g)
{
    _cleanup_(freep) char *payload = NULL;
    size_t len = 0;
    dga_err e = build_payload(g, &payload, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    snprintf(g->res->event_payload, sizeof g->res->event_payload, "%s", payload);
    if (g->opt->dry_run) {
        return DGA_E_OK;
    }
    struct dga_diag diag = {0};
    return dga_event_emit(g->backend, event_name(g), (const uint8_t *)payload, len, &diag);
}

static dga_err emit_attestation(struct gate_state *g)
{
    dga_err e = attestation_event(g);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_EVENT, e, DGA_GATE_OUTCOME_IO, "event: %s: %s: %s",
                    event_name(g), dga_err_name(e), dga_err_message(e));
    }
    g->res->event_emitted = !g->opt->dry_run;
    return DGA_E_OK;
}

/* ---- NVML steps ---- */

static dga_err fail_nvml(struct gate_state *g, enum dga_gate_step step,
                         const struct dga_nvml_error *n)
{
    char who[64] = "nvml";
    if (n->device >= 0) {
        gate_device_name(g, (size_t)n->device, who, sizeof who);
    }
    const char *step_name = dga_gate_step_name(step);
    if (n->err == DGA_E_NVML_CALL || n->err == DGA_E_NVML_LOAD) {
        return fail(g, step, n->err, DGA_GATE_OUTCOME_IO, "%s: %s: %s: %s: %s (NVML code %d)", who,
                    step_name, dga_err_name(n->err), n->function, n->nvml_message, n->nvml_rc);
    }
    return fail(g, step, n->err, DGA_GATE_OUTCOME_IO, "%s: %s: %s: %s: %s", who, step_name,
                dga_err_name(n->err), n->function, dga_err_message(n->err));
}

/* A CC state the policy refuses (e): the field that is not as allowed, and the whole state. */
static dga_err fail_cc(struct gate_state *g, enum dga_gate_step step,
                       const struct dga_cc_settings *cc, dga_err e)
{
    char who[64], field[128] = "";
    struct dga_cc_field f;
    gate_device_name(g, 0, who, sizeof who);
    if (e == DGA_E_CC_UNKNOWN && dga_cc_unknown_field(cc, &f)) {
        snprintf(field, sizeof field, ": %s is %u, allowed %s", f.name, f.value, f.allowed);
    }
    return fail(g, step, e, DGA_GATE_OUTCOME_REFUSED,
                "%s: cc-mode: %s: %s%s (ccFeature %u, devToolsMode %u, multiGpuMode %u; "
                "system-wide, %zu GPU(s))",
                who, dga_err_name(e), dga_err_message(e), field, cc->cc_feature, cc->devtools_mode,
                cc->multi_gpu_mode, g->inv->n_gpus);
}

/* The CC settings passed but put the machine in PPCIe mode without an NSCQ library to use. */
static dga_err fail_no_nscq(struct gate_state *g, const struct dga_cc_settings *cc)
{
    char who[64];
    gate_device_name(g, 0, who, sizeof who);
    return fail(g, DGA_GATE_STEP_CC, DGA_E_GATE_CONFIG, DGA_GATE_OUTCOME_CONFIG,
                "%s: cc-mode: %s: PPCIe mode needs the nscq library in the gate config (ccFeature "
                "%u, devToolsMode %u, multiGpuMode %u; system-wide, %zu GPU(s))",
                who, dga_err_name(DGA_E_GATE_CONFIG), cc->cc_feature, cc->devtools_mode,
                cc->multi_gpu_mode, g->inv->n_gpus);
}

/* The CC settings read again with the reports put the machine in the other mode. */
static dga_err fail_mode_changed(struct gate_state *g, const struct dga_cc_settings *cc)
{
    char who[64];
    gate_device_name(g, 0, who, sizeof who);
    return fail(g, DGA_GATE_STEP_COLLECT, DGA_E_GATE_REJECTED, DGA_GATE_OUTCOME_REFUSED,
                "%s: cc-mode: %s: the mode changed during collection, from %s to %s (ccFeature "
                "%u, devToolsMode %u, multiGpuMode %u; system-wide, %zu GPU(s))",
                who, dga_err_name(DGA_E_GATE_REJECTED), g->ppcie ? "PPCIe" : "CC",
                g->ppcie ? "CC" : "PPCIe", cc->cc_feature, cc->devtools_mode, cc->multi_gpu_mode,
                g->inv->n_gpus);
}

/*
 * The CC settings decide the mode (step CC); read again with the reports (step COLLECT) they
 * must still pass, in the same mode.
 */
static dga_err check_cc(struct gate_state *g, enum dga_gate_step step,
                        const struct dga_cc_settings *cc)
{
    bool ppcie = false;
    dga_err e = dga_cc_check_mode(cc, g->allow_devtools, &ppcie);
    if (e != DGA_E_OK) {
        return fail_cc(g, step, cc, e);
    }
    if (step != DGA_GATE_STEP_CC) {
        return ppcie == g->ppcie ? DGA_E_OK : fail_mode_changed(g, cc);
    }
    g->ppcie = ppcie;
    g->res->ppcie = ppcie;
    g->mode_decided = true;
    return ppcie && g->cfg->nscq == NULL ? fail_no_nscq(g, cc) : DGA_E_OK;
}

static dga_err read_cc(struct gate_state *g)
{
    struct dga_nvml_error n;
    memset(&n, 0, sizeof n);
    dga_err e = dga_nvml_cc_settings_with_deadline(g->cfg->nvml, g->cfg->cc_timeout_ms, &g->cc, &n);
    if (e != DGA_E_OK) {
        return fail_nvml(g, DGA_GATE_STEP_CC, &n);
    }
    g->cc_read = true;
    return check_cc(g, DGA_GATE_STEP_CC, &g->cc);
}

static dga_err scan_inventory(struct gate_state *g)
{
    struct dga_inventory_error err;
    memset(&err, 0, sizeof err);
    dga_err e = dga_inventory_scan(g->cfg->sysfs_pci, g->inv, &err);
    if (e == DGA_E_PCI_FOREIGN_DISPLAY) {
        return fail(g, DGA_GATE_STEP_INVENTORY, e, DGA_GATE_OUTCOME_REFUSED,
                    "%s: inventory: %s: %s", err.entry, dga_err_name(e), dga_err_message(e));
    }
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_INVENTORY, e, DGA_GATE_OUTCOME_IO, "%s%s%s: inventory: %s: %s",
                    err.entry[0] != '\0' ? err.entry : "sysfs",
                    err.file != NULL && err.file[0] != '\0' ? "/" : "",
                    err.file != NULL ? err.file : "", dga_err_name(e), dga_err_message(e));
    }
    g->inventory_read = true;
    g->res->n_gpus = g->inv->n_gpus;
    g->res->n_nvswitches = g->inv->n_switches;
    return DGA_E_OK;
}

/*
 * Two NVML handles with one UUID are one GPU counted twice (a hostile or broken
 * NVML): refused before anything is appraised. NVML prints UUIDs in lowercase;
 * any case is taken as the same UUID.
 */
static dga_err check_uuids(struct gate_state *g)
{
    for (size_t i = 1; i < g->col->n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(g->col->gpu[i].uuid, g->col->gpu[j].uuid) != 0) {
                continue;
            }
            char who[64], other[64];
            gate_device_name(g, i, who, sizeof who);
            gate_device_name(g, j, other, sizeof other);
            return fail(g, DGA_GATE_STEP_COLLECT, DGA_E_DUPLICATE_DEVICE, DGA_GATE_OUTCOME_REFUSED,
                        "%s: collect: %s: same NVML UUID %s as %s", who,
                        dga_err_name(DGA_E_DUPLICATE_DEVICE), g->col->gpu[i].uuid, other);
        }
    }
    return DGA_E_OK;
}

static dga_err collect(struct gate_state *g)
{
    if (g->opt->nonce != NULL) {
        memcpy(g->nonce, g->opt->nonce, DGA_NONCE_LEN);
    } else if (dga_collect_nonce(g->nonce) != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_NONCE, DGA_E_IO, DGA_GATE_OUTCOME_IO,
                    "nonce: getrandom failed");
    }
    g->has_nonce = true;
    struct dga_nvml_error n;
    memset(&n, 0, sizeof n);
    dga_err e =
        dga_collect_with_deadline(g->cfg->nvml, g->nonce, g->cfg->collect_timeout_ms, g->col, &n);
    if (e != DGA_E_OK) {
        return fail_nvml(g, DGA_GATE_STEP_COLLECT, &n);
    }
    g->collected = true;
    e = check_uuids(g);
    if (e != DGA_E_OK) {
        return e;
    }
    /* CC state is read again with the reports: it must still pass. */
    return check_cc(g, DGA_GATE_STEP_COLLECT, &g->col->cc);
}

/* ---- NSCQ (PPCIe mode): the NVSwitches ---- */

/* "nvswitch: nscq: nscq-driver: nscq_session_path_observe PATH (NVSwitch 3 LABEL): ..." */
static dga_err fail_nscq(struct gate_state *g, const struct dga_nscq_error *n)
{
    char where[96] = "", code[32] = "";
    if (n->switch_index >= 0) {
        snprintf(where, sizeof where, " (NVSwitch %d%s%s)", n->switch_index,
                 n->label[0] != '\0' ? " " : "", n->label);
    }
    if (n->nscq_rc != 0) {
        snprintf(code, sizeof code, " (NSCQ code %d)", n->nscq_rc);
    }
    return fail(g, DGA_GATE_STEP_NSCQ, n->err, DGA_GATE_OUTCOME_IO,
                "nvswitch: nscq: %s: %s%s%s%s: %s%s%s%s", dga_err_name(n->err), n->function,
                n->path[0] != '\0' ? " " : "", n->path, where, dga_err_message(n->err), code,
                n->message[0] != '\0' ? ": " : "", n->message);
}

static const char *tnvl_name(int tnvl)
{
    switch (tnvl) {
    case DGA_NSCQ_TNVL_UNKNOWN:
        return "unknown";
    case 0:
        return "disabled";
    case 1:
        return "enabled";
    case 2:
        return "failure";
    case DGA_TOPOLOGY_TNVL_LOCKED:
        return "locked";
    default:
        return "not a TNVL status";
    }
}

/*
 * Every NVSwitch must say exactly LOCKED. The value is compared, never bit-tested: NVIDIA's
 * check tests two bits, which -1 (unknown) passes. Not signed (docs/gate.md, residuals).
 */
static dga_err check_tnvl(struct gate_state *g)
{
    for (size_t j = 0; j < g->sw->n; j++) {
        int tnvl = g->sw->sw[j].tnvl_status;
        if (tnvl == DGA_TOPOLOGY_TNVL_LOCKED) {
            continue;
        }
        char who[96];
        gate_device_name(g, g->col->n + j, who, sizeof who);
        return fail(g, DGA_GATE_STEP_NSCQ, DGA_E_TOPOLOGY_SWITCH_LOCK, DGA_GATE_OUTCOME_REFUSED,
                    "%s: nscq: %s: NSCQ TNVL status is %d (%s), the gate requires exactly %d "
                    "(locked)",
                    who, dga_err_name(DGA_E_TOPOLOGY_SWITCH_LOCK), tnvl, tnvl_name(tnvl),
                    DGA_TOPOLOGY_TNVL_LOCKED);
    }
    return DGA_E_OK;
}

/*
 * PPCIe mode: after the GPUs, the NVSwitches' reports for the SAME nonce (one nonce ties the
 * board to one moment), in a child with nscq_timeout_ms; NSCQ must see exactly the inventory's
 * NVSwitches, each one LOCKED. CC mode loads no NSCQ.
 */
static dga_err collect_switches(struct gate_state *g)
{
    if (!g->ppcie) {
        return DGA_E_OK;
    }
    struct dga_nscq_error n;
    memset(&n, 0, sizeof n);
    dga_err e =
        dga_nscq_collect_with_deadline(g->cfg->nscq, g->nonce, g->cfg->nscq_timeout_ms, g->sw, &n);
    if (e != DGA_E_OK) {
        return fail_nscq(g, &n);
    }
    g->switches_collected = true;
    if (g->sw->n != g->inv->n_switches) {
        return fail(g, DGA_GATE_STEP_NSCQ, DGA_E_INVENTORY_MISMATCH, DGA_GATE_OUTCOME_REFUSED,
                    "devices: nscq: %s: NSCQ sees %zu NVSwitch(es), the PCI inventory %zu",
                    dga_err_name(DGA_E_INVENTORY_MISMATCH), g->sw->n, g->inv->n_switches);
    }
    return check_tnvl(g);
}

/* PPCIe mode: the NVSwitches' evidence after the GPUs' (the set appraisal's order). */
static dga_err append_switch_evidence(struct gate_state *g)
{
    _cleanup_(dga_evidence_set_freep) struct dga_evidence_set *sw = calloc(1, sizeof *sw);
    dga_err e = sw != NULL ? dga_switch_collection_to_evidence(g->sw, sw) : DGA_E_NOMEM;
    if (e == DGA_E_OK && g->set->n + sw->n > DGA_MAX_DEVICES) {
        e = DGA_E_TOO_LARGE;
    }
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_MATCH, e, DGA_GATE_OUTCOME_IO,
                    "devices: inventory-match: %s: %s (NVSwitch evidence)", dga_err_name(e),
                    dga_err_message(e));
    }
    for (size_t j = 0; j < sw->n; j++) {
        g->set->dev[g->set->n++] = sw->dev[j]; /* owned by g->set from here */
    }
    sw->n = 0;
    return DGA_E_OK;
}

static dga_err match_inventory(struct gate_state *g)
{
    struct dga_diag diag = {0};
    dga_err e = dga_inventory_check_collection(g->inv, g->col, &diag);
    if (e != DGA_E_OK && strcmp(diag.field, "gpu-count") == 0) {
        return fail(g, DGA_GATE_STEP_MATCH, e, DGA_GATE_OUTCOME_REFUSED,
                    "devices: inventory-match: %s: NVML sees %zu GPU(s), the PCI inventory %zu",
                    dga_err_name(e), g->col->n, g->inv->n_gpus);
    }
    if (e != DGA_E_OK) {
        char who[64];
        gate_device_name(g, diag.offset, who, sizeof who);
        return fail(g, DGA_GATE_STEP_MATCH, e, DGA_GATE_OUTCOME_REFUSED,
                    "%s: inventory-match: %s: this NVML GPU is not in the PCI inventory (or "
                    "appears twice)",
                    who, dga_err_name(e));
    }
    e = dga_collection_to_evidence(g->col, g->set);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_MATCH, e, DGA_GATE_OUTCOME_IO,
                    "devices: inventory-match: %s: %s", dga_err_name(e), dga_err_message(e));
    }
    if (g->ppcie && append_switch_evidence(g) != DGA_E_OK) {
        return g->res->err;
    }
    e = dga_inventory_check_evidence(g->inv, g->set, g->ppcie, &diag);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_MATCH, e,
                    e == DGA_E_INVENTORY_MISMATCH ? DGA_GATE_OUTCOME_REFUSED : DGA_GATE_OUTCOME_IO,
                    "devices: inventory-match: %s: the evidence does not match the inventory",
                    dga_err_name(e));
    }
    return DGA_E_OK;
}

/* ---- appraisal and verdict ---- */

/*
 * Policy reasons start with the device label; the gate's reason adds the PCI address.
 * `check` is "policy" or "gpu_policy.rego" (the document standing in for the app's Rego).
 * The verdict says which device reason i names and where its finding starts.
 */
static dga_err fail_policy(struct gate_state *g, const char *check, const struct dga_verdict *v)
{
    if (v->n_reasons == 0) {
        return fail(g, DGA_GATE_STEP_VERDICT, DGA_E_GATE_REJECTED, DGA_GATE_OUTCOME_REFUSED,
                    "%s: %s", check, "the policy says no");
    }
    const char *reason = v->reasons[0];
    const struct dga_verdict_about *about = &v->about[0];
    if (about->device >= 0 && (size_t)about->device < g->ap->n) {
        char who[64];
        gate_device_name(g, (size_t)about->device, who, sizeof who);
        return fail(g, DGA_GATE_STEP_VERDICT, DGA_E_GATE_REJECTED, DGA_GATE_OUTCOME_REFUSED,
                    "%s: %s: %s", who, check, reason + about->text_at);
    }
    if (about->text_at >= 2) {
        return fail(g, DGA_GATE_STEP_VERDICT, DGA_E_GATE_REJECTED, DGA_GATE_OUTCOME_REFUSED,
                    "%.*s: %s: %s", (int)(about->text_at - 2), reason, check,
                    reason + about->text_at);
    }
    return fail(g, DGA_GATE_STEP_VERDICT, DGA_E_GATE_REJECTED, DGA_GATE_OUTCOME_REFUSED, "%s: %s",
                check, reason);
}

/* The document standing in for gpu_policy.rego could not be evaluated (not a refusal). */
static dga_err fail_rego(struct gate_state *g, dga_err e)
{
    return fail(g, DGA_GATE_STEP_VERDICT, e, DGA_GATE_OUTCOME_IO, "gpu_policy.rego: %s: %s",
                dga_err_name(e), dga_err_message(e));
}

/* The document standing in for gpu_policy.rego, over the same claims (dstack: after its own). */
static dga_err evaluate_rego(struct gate_state *g)
{
    if (g->rego_policy == NULL) {
        return DGA_E_OK;
    }
    _cleanup_(freep) struct dga_verdict *v = calloc(1, sizeof *v);
    if (v == NULL) {
        return fail_rego(g, DGA_E_NOMEM);
    }
    dga_err e = dga_policy_evaluate(g->rego_policy, g->ap->claims, v);
    if (e != DGA_E_OK) {
        return fail_rego(g, e);
    }
    g->rego_verdict = TAKE_PTR(v);
    if (!g->rego_verdict->pass) {
        dga_set_appraisal_rp_refused(g->ap); /* result code 11, as the policy's own refusal */
        return fail_policy(g, "gpu_policy.rego", g->rego_verdict);
    }
    return DGA_E_OK;
}

/*
 * The certificate of the device identity chain whose OCSP answer is not "good" (the
 * chain's status decides which: a revocation first, then a response that failed a
 * check, then "unknown"), or NULL when the chain is good or was not checked.
 */
static const struct dga_ocsp_cert_result *device_chain_refusal(const struct dga_appraisal *d)
{
    const struct dga_ocsp_chain_result *o = &d->ocsp;
    bool revoked = o->status == DGA_OCSP_CHAIN_REVOKED;
    if (!o->checked ||
        (!revoked && o->status != DGA_OCSP_CHAIN_INVALID && o->status != DGA_OCSP_CHAIN_UNKNOWN)) {
        return NULL;
    }
    if (!revoked && o->failed >= 0) {
        return &o->certs[o->failed];
    }
    for (size_t k = 0; k < o->n; k++) {
        enum dga_ocsp_status st = o->certs[k].r.status;
        if (st == (revoked ? DGA_OCSP_STATUS_REVOKED : DGA_OCSP_STATUS_UNKNOWN)) {
            return &o->certs[k];
        }
    }
    return NULL;
}

/*
 * A refused device whose identity chain is not "good" is reported by that chain: it is
 * checked before the RIMs and no policy can relax it, so a stale, revoked or unknown
 * device certificate is what the operator must see, not a later failure of the same
 * device (the RIM chains' missing responses, say). This chooses the reason only: whether
 * the device is refused is the appraisal's and the policy's decision.
 */
static dga_err fail_device_chain(struct gate_state *g, size_t i,
                                 const struct dga_ocsp_cert_result *c)
{
    char who[64];
    gate_device_name(g, i, who, sizeof who);
    if (c->r.err != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_APPRAISE, c->r.err, DGA_GATE_OUTCOME_REFUSED,
                    "%s: ocsp-device-chain: %s: %s: certificate %d \"%s\"", who,
                    dga_err_name(c->r.err), dga_err_message(c->r.err), c->index, c->subject);
    }
    return fail(g, DGA_GATE_STEP_APPRAISE, DGA_E_GATE_REJECTED, DGA_GATE_OUTCOME_REFUSED,
                "%s: ocsp-device-chain: %s%s%s%s: certificate %d \"%s\"", who,
                dga_ocsp_status_name(c->r.status), c->r.reason[0] != '\0' ? " (" : "", c->r.reason,
                c->r.reason[0] != '\0' ? ")" : "", c->index, c->subject);
}

/* "<device>: <check>: <error>: <message>", naming the RIM or the certificate without OCSP. */
static dga_err fail_device(struct gate_state *g, size_t i)
{
    const struct dga_appraisal *d = &g->ap->dev[i];
    const struct dga_ocsp_cert_result *refused = device_chain_refusal(d);
    if (refused != NULL) {
        return fail_device_chain(g, i, refused);
    }
    char who[64], what[DGA_GATE_REASON_LEN];
    gate_device_name(g, i, who, sizeof who);
    dga_appraisal_failure_text(d, what, sizeof what);
    return fail(g, DGA_GATE_STEP_APPRAISE, d->err, DGA_GATE_OUTCOME_REFUSED, "%s: %s", who, what);
}

/* "<device>: duplicate-device: same leaf certificate as <device>" (the set appraisal's finding). */
static dga_err fail_duplicate(struct gate_state *g, size_t i)
{
    char who[64], other[64], what[96];
    gate_device_name(g, i, who, sizeof who);
    gate_device_name(g, g->ap->dup[i].of, other, sizeof other);
    dga_duplicate_text(g->ap, i, what, sizeof what);
    return fail(g, DGA_GATE_STEP_APPRAISE, DGA_E_DUPLICATE_DEVICE, DGA_GATE_OUTCOME_REFUSED,
                "%s: %s: %s as %s", who, dga_err_name(DGA_E_DUPLICATE_DEVICE), what, other);
}

/*
 * A signed token when a key is configured and there is a device to vouch for; else {}.
 * Only for a run every check passed (the rego's document included): the gate's key
 * never signs a set the gate refused.
 */
static dga_err build_eat(struct gate_state *g)
{
    struct dga_eat_options o = {
        .key = g->ap->n > 0 ? g->eat_key : NULL, .kid = g->cfg->eat_kid, .iat = time(NULL)};
    dga_err e = dga_set_appraisal_eat(g->ap, g->policy, g->nonce, &o);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_APPRAISE, e, DGA_GATE_OUTCOME_IO, "appraise: eat: %s: %s",
                    dga_err_name(e), dga_err_message(e));
    }
    return DGA_E_OK;
}

/*
 * The set's mode or topology refusal, one line: "topology: <error>: <finding>", or a device's
 * "<label>: mode: <error>: <text>" with the label as the gate names devices (its PCI address).
 */
static dga_err fail_mode(struct gate_state *g, const char *what, dga_err e)
{
    const struct dga_verdict_about *about = &g->ap->mode_about;
    if (about->device >= 0 && (size_t)about->device < g->ap->n && about->text_at <= strlen(what)) {
        char who[96];
        gate_device_name(g, (size_t)about->device, who, sizeof who);
        return fail(g, DGA_GATE_STEP_APPRAISE, e, DGA_GATE_OUTCOME_REFUSED, "%s: %s", who,
                    what + about->text_at);
    }
    return fail(g, DGA_GATE_STEP_APPRAISE, e, DGA_GATE_OUTCOME_REFUSED, "%s", what);
}

/* The set's devices, duplicates, the policy, then the rego's document: the first refusal. */
static dga_err judge(struct gate_state *g)
{
    for (size_t i = 0; i < g->ap->n; i++) {
        if (g->ap->dev[i].err != DGA_E_OK) {
            return fail_device(g, i);
        }
    }
    for (size_t i = 0; i < g->ap->n; i++) {
        if (g->ap->dup[i].kind != DGA_DUPLICATE_NONE) {
            return fail_duplicate(g, i);
        }
    }
    char what[DGA_GATE_REASON_LEN];
    dga_err e = DGA_E_OK;
    if (dga_set_appraisal_mode_failure(g->ap, what, sizeof what, &e)) {
        return fail_mode(g, what, e);
    }
    if (!g->ap->verdict.pass) {
        return fail_policy(g, "policy", &g->ap->verdict);
    }
    return evaluate_rego(g);
}

/*
 * The set's mode. CC: any NVSwitch or PPCIe evidence is refused, and the policy's NVSwitch
 * count applies to the inventory's (not attested: nothing relies on them). PPCIe: the topology
 * over the GPUs and the NVSwitches, with the policy's counts and TNVL required; the policy's
 * NVSwitch count applies to the attested NVSwitches in the claims.
 */
static void set_mode(struct gate_state *g, struct dga_appraise_options *opt)
{
    if (!g->ppcie) {
        opt->mode = DGA_SET_MODE_CC;
        dga_policy_set_nvswitch_inventory(g->policy, g->inv->n_switches);
        if (g->rego_policy != NULL) {
            dga_policy_set_nvswitch_inventory(g->rego_policy, g->inv->n_switches);
        }
        return;
    }
    struct dga_policy_ppcie pp;
    dga_policy_ppcie(g->policy, &pp);
    opt->mode = DGA_SET_MODE_PPCIE;
    opt->topology.gpus = pp.gpus;
    opt->topology.switches = pp.switches;
    opt->topology.gpu_pdi_in_cert = pp.gpu_pdi_in_cert;
    opt->topology.require_tnvl = true;
}

static dga_err appraise(struct gate_state *g)
{
    dga_err e = dga_verify_cache_new(&g->rim_root, &g->cache);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_APPRAISE, e, DGA_GATE_OUTCOME_IO, "appraise: %s: %s",
                    dga_err_name(e), dga_err_message(e));
    }
    struct dga_appraise_options opt = {.rim_trust = &g->rim_root,
                                       .rim_dir = g->cfg->rim_dir,
                                       .cache = g->cache,
                                       .ocsp = &g->ocsp,
                                       .jobs = g->cfg->jobs};
    opt.verify.at = g->at;
    opt.verify.trust = &g->device_root;
    memcpy(opt.verify.nonce, g->nonce, DGA_NONCE_LEN);
    set_mode(g, &opt);
    e = dga_appraise_set(g->set, &opt, g->policy, g->ap);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_APPRAISE, e, DGA_GATE_OUTCOME_IO, "appraise: %s: %s",
                    dga_err_name(e), dga_err_message(e));
    }
    g->appraised = true;
    e = judge(g);
    if (e != DGA_E_OK) {
        return e;
    }
    return build_eat(g);
}

/* ---- the run ---- */

/* Inventory through verdict. With no GPU in the inventory NVML is not touched (as dstack). */
static dga_err verify(struct gate_state *g)
{
    static const gate_step gpu_steps[] = {read_cc, collect, collect_switches, match_inventory};
    dga_err e = scan_inventory(g);
    if (e != DGA_E_OK) {
        return e;
    }
    if (g->inv->n_gpus > 0) {
        e = run_in_order(g, gpu_steps, sizeof gpu_steps / sizeof gpu_steps[0]);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    return appraise(g);
}

static dga_err set_ready(struct gate_state *g)
{
    if (g->opt->dry_run || g->inv->n_gpus == 0) {
        return DGA_E_OK;
    }
    struct dga_nvml_error n;
    memset(&n, 0, sizeof n);
    dga_err e = dga_nvml_ready_set_with_deadline(g->cfg->nvml, 1, g->cfg->ready_timeout_ms, &n);
    if (e != DGA_E_OK) {
        return fail_nvml(g, DGA_GATE_STEP_READY, &n);
    }
    g->res->ready_set = true;
    return DGA_E_OK;
}

/* Setup through verdict; whatever happens, run_steps writes the bundle after it. */
static dga_err check_steps(struct gate_state *g)
{
    dga_err e = setup(g);
    if (e != DGA_E_OK) {
        return e;
    }
    if (!g->opt->dry_run && !g->opt->skip_policy_hash) {
        e = emit_policy_hash(g); /* every launch, before any GPU check: it commits to the policy */
        if (e != DGA_E_OK) {
            return e;
        }
    }
    return verify(g);
}

static dga_err run_steps(struct gate_state *g)
{
    dga_err e = check_steps(g);
    if (e != DGA_E_OK) {
        gate_bundle_write(g); /* diagnosis: best effort, res->bundle_written says */
        return e;
    }
    e = gate_bundle_write(g);
    if (e != DGA_E_OK) {
        return fail(g, DGA_GATE_STEP_BUNDLE, e, DGA_GATE_OUTCOME_IO, "bundle: %s: %s: %s",
                    g->res->bundle_path, dga_err_name(e), dga_err_message(e));
    }
    e = emit_attestation(g);
    if (e != DGA_E_OK) {
        gate_bundle_write(g); /* no event commits to the passing bundle: record the failure */
        return e;
    }
    /* After the event: a failure here leaves the event in place (docs/gate.md, residuals). */
    return set_ready(g);
}

static void state_free(struct gate_state *g)
{
    if (g->ap != NULL) {
        dga_set_appraisal_clear(g->ap);
    }
    free(g->ap);
    dga_verify_cache_free(g->cache); /* after the appraisals that borrow its RIMs */
    if (g->set != NULL) {
        dga_evidence_set_clear(g->set);
    }
    free(g->set);
    if (g->col != NULL) {
        dga_collection_clear(g->col);
    }
    free(g->col);
    if (g->sw != NULL) {
        dga_switch_collection_clear(g->sw);
    }
    free(g->sw);
    free(g->inv);
    dga_event_backend_free(g->backend);
    EVP_PKEY_free(g->eat_key);
    dga_ocsp_memo_free(g->ocsp.memo);
    dga_policy_free(g->policy);
    dga_policy_free(g->rego_policy);
    free(g->rego_verdict);
    dga_trust_clear(&g->device_root);
    dga_trust_clear(&g->rim_root);
    json_decref(g->gpu_policy);
}

void dga_gate_result_clear(struct dga_gate_result *r)
{
    free(r->bundle);
    r->bundle = NULL;
    r->bundle_len = 0;
}

dga_err dga_gate_run(const struct dga_gate_config *cfg, const struct dga_gate_options *opt,
                     struct dga_gate_result *ret)
{
    static const struct dga_gate_options defaults = {0};
    memset(ret, 0, sizeof *ret);
    ret->step = DGA_GATE_STEP_DONE;
    struct gate_state g = {.cfg = cfg, .opt = opt != NULL ? opt : &defaults, .res = ret};
    g.inv = calloc(1, sizeof *g.inv);
    g.col = calloc(1, sizeof *g.col);
    g.set = calloc(1, sizeof *g.set);
    g.ap = calloc(1, sizeof *g.ap);
    g.sw = calloc(1, sizeof *g.sw);
    if (g.inv == NULL || g.col == NULL || g.set == NULL || g.ap == NULL || g.sw == NULL) {
        fail(&g, DGA_GATE_STEP_SETUP, DGA_E_NOMEM, DGA_GATE_OUTCOME_IO, "out of memory");
    } else {
        run_steps(&g);
    }
    state_free(&g);
    return ret->err;
}
