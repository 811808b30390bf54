/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gate's configuration file: one strict JSON object. Every key is
 * described by one row of a table (name, type, where it goes, bounds), so
 * the parser, the unknown-key check and docs/gate.md list the same keys.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/jsonconst.h"
#include "dga/gate.h"
#include "dga/util.h"
#include "gate/internal.h"

#define DEFAULT_CC_TIMEOUT_MS 30000u
#define DEFAULT_COLLECT_TIMEOUT_MS 300000u /* dstack's nvattest timeout */
#define DEFAULT_NSCQ_TIMEOUT_MS 300000u    /* the NVSwitches' share of the same collection */
#define DEFAULT_READY_TIMEOUT_MS 30000u

enum key_type {
    KEY_PATH,
    KEY_STRING,
    KEY_TIMEOUT,
    KEY_VERSION,
    KEY_EVENT_VERSION,
    KEY_TIME,
    KEY_OBJECT,
    KEY_OCSP_MODE,
    KEY_MAX_AGE,
    KEY_REGO_EQUIVALENTS,
    KEY_HASH_EVENT,
    KEY_JOBS
};

#define OCSP_MAX_AGE_MAX 315360000 /* ten years, as attest --ocsp-max-age */

struct key {
    const char *name;
    enum key_type type;
    size_t offset; /* into struct dga_gate_config */
};

#define PATH_KEY(n, member)                                                                        \
    {                                                                                              \
        n, KEY_PATH, offsetof(struct dga_gate_config, member)                                      \
    }

static const struct key keys[] = {
    {"version", KEY_VERSION, 0},
    PATH_KEY("rim_dir", rim_dir),
    PATH_KEY("policy", policy),
    {"gpu_policy", KEY_OBJECT, offsetof(struct dga_gate_config, gpu_policy)},
    PATH_KEY("app_compose", app_compose),
    {"policy_hash_event", KEY_HASH_EVENT, 0},
    PATH_KEY("nvml", nvml),
    PATH_KEY("nscq", nscq),
    PATH_KEY("sysfs_pci", sysfs_pci),
    PATH_KEY("run_dir", run_dir),
    {"event_backend", KEY_STRING, offsetof(struct dga_gate_config, event_backend)},
    PATH_KEY("event_log_dir", event_log_dir),
    PATH_KEY("event_lock", event_lock),
    PATH_KEY("tdx_sysfs_dir", tdx_sysfs_dir),
    PATH_KEY("tdx_device", tdx_device),
    {"tpm_tcti", KEY_STRING, offsetof(struct dga_gate_config, tpm_tcti)},
    {"event_version", KEY_EVENT_VERSION, offsetof(struct dga_gate_config, event_version)},
    {"cc_timeout_ms", KEY_TIMEOUT, offsetof(struct dga_gate_config, cc_timeout_ms)},
    {"collect_timeout_ms", KEY_TIMEOUT, offsetof(struct dga_gate_config, collect_timeout_ms)},
    {"ready_timeout_ms", KEY_TIMEOUT, offsetof(struct dga_gate_config, ready_timeout_ms)},
    {"nscq_timeout_ms", KEY_TIMEOUT, offsetof(struct dga_gate_config, nscq_timeout_ms)},
    PATH_KEY("eat_key", eat_key),
    {"eat_kid", KEY_STRING, offsetof(struct dga_gate_config, eat_kid)},
    PATH_KEY("test_device_root", test_device_root),
    {"verify_at", KEY_TIME, offsetof(struct dga_gate_config, verify_at)},
    {"ocsp", KEY_OCSP_MODE, offsetof(struct dga_gate_config, ocsp)},
    {"ocsp_url", KEY_STRING, offsetof(struct dga_gate_config, ocsp_url)},
    PATH_KEY("collateral_dir", collateral_dir),
    {"ocsp_max_age", KEY_MAX_AGE, offsetof(struct dga_gate_config, ocsp_max_age)},
    {"rego_equivalents", KEY_REGO_EQUIVALENTS, 0},
    {"jobs", KEY_JOBS, offsetof(struct dga_gate_config, jobs)},
};

static const struct key *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(keys[i].name, name) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}

static dga_err take_string(const struct key *k, const json_t *v, struct dga_gate_config *c)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (!json_is_string(v) || len == 0 || len > DGA_GATE_PATH_MAX || strlen(s) != len) {
        return DGA_E_GATE_CONFIG;
    }
    char **slot = (char **)((char *)c + k->offset);
    *slot = strdup(s);
    return *slot != NULL ? DGA_E_OK : DGA_E_NOMEM;
}

static dga_err take_uint(const json_t *v, json_int_t min, json_int_t max, unsigned *ret)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        return DGA_E_GATE_CONFIG;
    }
    *ret = (unsigned)json_integer_value(v);
    return DGA_E_OK;
}

size_t gate_json_depth(const json_t *v, size_t cap)
{
    if (cap == 0 || !(json_is_object(v) || json_is_array(v))) {
        return 0;
    }
    size_t deepest = 0;
    if (json_is_object(v)) {
        const char *name;
        json_t *m;
        json_object_foreach(json_iterable(v), name, m)
        {
            size_t d = gate_json_depth(m, cap - 1);
            deepest = d > deepest ? d : deepest;
        }
    } else {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            size_t d = gate_json_depth(m, cap - 1);
            deepest = d > deepest ? d : deepest;
        }
    }
    return deepest + 1;
}

/* 64 lowercase hex digits (as sha256sum prints them) into out. */
static bool parse_sha256_hex(const char *s, uint8_t out[32])
{
    static const char digits[] = "0123456789abcdef";
    if (strlen(s) != 64) {
        return false;
    }
    for (size_t i = 0; i < 64; i += 2) {
        const char *hi = strchr(digits, s[i]), *lo = strchr(digits, s[i + 1]);
        if (hi == NULL || lo == NULL) { /* no NUL before 64: strchr never matches the terminator */
            return false;
        }
        out[i / 2] = (uint8_t)(((hi - digits) << 4) | (lo - digits));
    }
    return true;
}

/*
 * {"<SHA-256 of a Rego text, lowercase hex>": "<policy document path>", ...}:
 * at most DGA_GATE_REGO_EQUIVALENTS_MAX entries, each a well-formed digest and
 * a non-empty path (duplicate digests are duplicate keys, refused by the parser).
 */
static dga_err take_rego_equivalents(const json_t *v, struct dga_gate_config *c)
{
    const char *name;
    json_t *path;
    if (!json_is_object(v) || json_object_size(v) == 0 ||
        json_object_size(v) > DGA_GATE_REGO_EQUIVALENTS_MAX) {
        return DGA_E_GATE_CONFIG;
    }
    json_object_foreach(json_iterable(v), name, path)
    {
        struct dga_gate_rego_equivalent *r = &c->rego_equivalents[c->n_rego_equivalents];
        size_t len = json_string_length(path);
        if (!parse_sha256_hex(name, r->rego_sha256) || !json_is_string(path) || len == 0 ||
            len > DGA_GATE_PATH_MAX || strlen(json_string_value(path)) != len) {
            return DGA_E_GATE_CONFIG;
        }
        r->policy = strdup(json_string_value(path));
        if (r->policy == NULL) {
            return DGA_E_NOMEM;
        }
        c->n_rego_equivalents++;
    }
    return DGA_E_OK;
}

dga_err dga_gate_config_add_rego_equivalent(struct dga_gate_config *c,
                                            const uint8_t rego_sha256[32], const char *name,
                                            const void *text, size_t len)
{
    size_t name_len = name != NULL ? strlen(name) : 0;
    if (c->n_rego_equivalents >= DGA_GATE_REGO_EQUIVALENTS_MAX || name_len == 0 ||
        name_len > DGA_GATE_PATH_MAX || text == NULL) {
        return DGA_E_GATE_CONFIG;
    }
    for (size_t i = 0; i < c->n_rego_equivalents; i++) {
        if (memcmp(c->rego_equivalents[i].rego_sha256, rego_sha256, 32) == 0) {
            return DGA_E_GATE_CONFIG;
        }
    }
    struct dga_gate_rego_equivalent r = {.policy = strdup(name), .text = malloc(len + 1)};
    if (r.policy == NULL || r.text == NULL) {
        free(r.policy);
        free(r.text);
        return DGA_E_NOMEM;
    }
    memcpy(r.rego_sha256, rego_sha256, 32);
    memcpy(r.text, text, len);
    r.text[len] = '\0';
    r.text_len = len;
    c->rego_equivalents[c->n_rego_equivalents++] = r;
    return DGA_E_OK;
}

static dga_err take_key(const struct key *k, json_t *v, struct dga_gate_config *c)
{
    unsigned *u = (unsigned *)((char *)c + k->offset);
    switch (k->type) {
    case KEY_PATH:
    case KEY_STRING:
        return take_string(k, v, c);
    case KEY_TIMEOUT:
        return take_uint(v, 1, DGA_GATE_TIMEOUT_MAX_MS, u);
    case KEY_EVENT_VERSION:
        return take_uint(v, 1, 2, u);
    case KEY_VERSION: {
        unsigned version = 0;
        return take_uint(v, 1, 1, &version);
    }
    case KEY_TIME:
        c->has_verify_at =
            json_is_string(v) && dga_time_parse(json_string_value(v), &c->verify_at) == DGA_E_OK;
        return c->has_verify_at ? DGA_E_OK : DGA_E_GATE_CONFIG;
    case KEY_OCSP_MODE: {
        /* The gate has no earlier bundle to read: online, cache or off. */
        enum dga_ocsp_mode mode;
        if (!json_is_string(v) || dga_ocsp_mode_parse(json_string_value(v), &mode) != DGA_E_OK ||
            mode == DGA_OCSP_MODE_BUNDLE) {
            return DGA_E_GATE_CONFIG;
        }
        return take_string(k, v, c);
    }
    case KEY_MAX_AGE:
        c->has_ocsp_max_age = true;
        return take_uint(v, 0, OCSP_MAX_AGE_MAX, u);
    case KEY_REGO_EQUIVALENTS:
        return take_rego_equivalents(v, c);
    case KEY_JOBS:
        /* 0: the online CPUs (dga_appraise_jobs); the verdict is the same for every value. */
        return take_uint(v, 0, DGA_APPRAISE_MAX_JOBS, u);
    case KEY_HASH_EVENT:
        /* "emit" (the gate's own event) or "dstack" (dstack-util setup emits it). */
        if (json_is_string(v) && strcmp(json_string_value(v), "emit") == 0) {
            return DGA_E_OK;
        }
        c->policy_hash_by_dstack = json_is_string(v) && strcmp(json_string_value(v), "dstack") == 0;
        return c->policy_hash_by_dstack ? DGA_E_OK : DGA_E_GATE_CONFIG;
    case KEY_OBJECT:
        /* dstack's gpu_policy is an object; its depth is capped below JCS's own cap. */
        if (!json_is_object(v) ||
            gate_json_depth(v, GATE_GPU_POLICY_MAX_DEPTH + 1) > GATE_GPU_POLICY_MAX_DEPTH) {
            return DGA_E_GATE_CONFIG;
        }
        c->gpu_policy = json_incref(v);
        return DGA_E_OK;
    }
    return DGA_E_INTERNAL;
}

static dga_err set_defaults(struct dga_gate_config *c)
{
    c->event_version = c->event_version != 0 ? c->event_version : 1;
    c->cc_timeout_ms = c->cc_timeout_ms != 0 ? c->cc_timeout_ms : DEFAULT_CC_TIMEOUT_MS;
    c->collect_timeout_ms =
        c->collect_timeout_ms != 0 ? c->collect_timeout_ms : DEFAULT_COLLECT_TIMEOUT_MS;
    c->ready_timeout_ms = c->ready_timeout_ms != 0 ? c->ready_timeout_ms : DEFAULT_READY_TIMEOUT_MS;
    c->nscq_timeout_ms = c->nscq_timeout_ms != 0 ? c->nscq_timeout_ms : DEFAULT_NSCQ_TIMEOUT_MS;
    if (c->gpu_policy == NULL) {
        c->gpu_policy = json_object();
        if (c->gpu_policy == NULL) {
            return DGA_E_NOMEM;
        }
    }
    if (c->run_dir == NULL) {
        c->run_dir = strdup(DGA_GATE_RUN_DIR);
        if (c->run_dir == NULL) {
            return DGA_E_NOMEM;
        }
    }
    if (c->event_backend == NULL) {
        c->event_backend = strdup("tdx");
        if (c->event_backend == NULL) {
            return DGA_E_NOMEM;
        }
    }
    return DGA_E_OK;
}

static dga_err parse_object(json_t *root, struct dga_gate_config *c, struct dga_diag *diag)
{
    const char *name;
    json_t *v;
    json_object_foreach(root, name, v)
    {
        const struct key *k = find_key(name);
        if (k == NULL) {
            return dga_diag_set(diag, DGA_E_GATE_CONFIG, 0, "config");
        }
        dga_err e = take_key(k, v, c);
        if (e != DGA_E_OK) {
            return dga_diag_set(diag, e, 0, k->name);
        }
    }
    if (c->rim_dir == NULL) {
        return dga_diag_set(diag, DGA_E_GATE_CONFIG, 0, "rim_dir");
    }
    if (c->app_compose != NULL && c->gpu_policy != NULL) {
        /* One source of truth: the policy dstack-util hashes is the app-compose file's. */
        return dga_diag_set(diag, DGA_E_GATE_CONFIG, 0, "gpu_policy");
    }
    return set_defaults(c);
}

dga_err dga_gate_config_parse(const char *text, size_t len, struct dga_gate_config **ret,
                              struct dga_diag *diag)
{
    if (len > DGA_GATE_CONFIG_MAX_BYTES) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, DGA_GATE_CONFIG_MAX_BYTES, "config");
    }
    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        return dga_diag_set(diag, DGA_E_GATE_CONFIG, root == NULL ? (size_t)jerr.position : 0,
                            "config");
    }
    _cleanup_(dga_gate_config_freep) struct dga_gate_config *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = parse_object(root, c, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = TAKE_PTR(c);
    return DGA_E_OK;
}

void dga_gate_config_free(struct dga_gate_config *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (keys[i].type == KEY_PATH || keys[i].type == KEY_STRING ||
            keys[i].type == KEY_OCSP_MODE) {
            free(*(char **)((char *)c + keys[i].offset));
        }
    }
    for (size_t i = 0; i < c->n_rego_equivalents; i++) {
        free(c->rego_equivalents[i].policy);
        free(c->rego_equivalents[i].text);
    }
    json_decref(c->gpu_policy);
    free(c);
}
