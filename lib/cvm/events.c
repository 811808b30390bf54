/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack's boot events, up to the first system-ready (docs/verify.md, "Event
 * order"): dstack's verifier takes the first event of a name and enforces
 * neither "exactly one" nor the order, so a second app-id or gpu-attestation
 * would go unseen by it. Here every event before the boundary must be one of
 * dstack's, at its place, no more often than dstack emits it. Events after
 * system-ready are the application's: they feed the RTMR3 replay and nothing
 * else. That includes the RPC service's gpu-reattestation (a lost ready state
 * re-attested after boot): informational, it never binds and never stands in
 * for the boot's gpu-attestation; before system-ready it is no event of
 * dstack's boot, so the sequence refuses it as unknown.
 *
 * One position beyond dstack's own: this project's gate runs as its own unit
 * before dstack-prepare.service (systemd/), so its gpu-policy-hash and
 * gpu-attestation come before system-preparing. They are accepted there or at
 * dstack's place, never both (at most one of each in all).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/cleanup.h"
#include "cvm/internal.h"
#include "dga/util.h"

#define ANY_LEN ((size_t)-1)

enum payload_rule {
    P_EXACT,       /* exactly len bytes */
    P_EMPTY_OR_20, /* instance-id: empty when no_instance_id */
    P_JSON,        /* parsed by its own reader */
    P_ASCII,       /* storage-fs: 1..16 printable ASCII */
};

struct rule {
    const char *name;
    unsigned rank; /* dstack's order; equal ranks only for a repeatable event */
    unsigned min, max;
    enum payload_rule payload;
    size_t len;
};

/* dstack-util setup's order (docs/formats.md §14); the gate's two GPU events take rank 1, 2 early.
 */
static const struct rule rules[] = {
    {"system-preparing", 10, 1, 1, P_EXACT, 0},
    {"app-id", 20, 1, 1, P_EXACT, 20},
    {"compose-hash", 30, 1, 1, P_EXACT, 32},
    {"init-script-hash", 40, 0, DGA_CVM_INIT_SCRIPTS_MAX, P_EXACT, 32},
    {DGA_EVENT_GPU_POLICY_HASH, 50, 0, 1, P_EXACT, 32},
    {DGA_EVENT_GPU_ATTESTATION, 60, 0, 1, P_JSON, ANY_LEN},
    {"instance-id", 70, 1, 1, P_EMPTY_OR_20, 0},
    {"boot-mr-done", 80, 1, 1, P_EXACT, 0},
    {"os-image-hash", 90, 0, 1, P_EXACT, 32},
    {"key-provider", 100, 1, 1, P_JSON, ANY_LEN},
    {"storage-fs", 110, 0, 1, P_ASCII, 0},
    {"system-ready", 120, 1, 1, P_EXACT, 0},
};
#define N_RULES (sizeof rules / sizeof rules[0])
#define GATE_POLICY_RANK 1u
#define GATE_EVENT_RANK 2u

static const struct rule *find_rule(const char *name)
{
    for (size_t i = 0; i < N_RULES; i++) {
        if (strcmp(rules[i].name, name) == 0) {
            return &rules[i];
        }
    }
    return NULL;
}

static bool payload_ok(const struct rule *ru, const struct dga_event *e)
{
    switch (ru->payload) {
    case P_EXACT:
        return e->payload_len == ru->len;
    case P_EMPTY_OR_20:
        return e->payload_len == 0 || e->payload_len == 20;
    case P_JSON:
        return e->payload_len > 0 && e->payload_len <= DGA_CVM_GPU_PAYLOAD_MAX;
    case P_ASCII:
        for (size_t i = 0; i < e->payload_len; i++) {
            if (e->payload[i] < 0x21 || e->payload[i] > 0x7e) {
                return false;
            }
        }
        return e->payload_len > 0 && e->payload_len <= 16;
    }
    return false;
}

/* The key-provider payload: compact JSON {"name": ..., "id": "<hex or empty>"}, nothing else. */
static dga_err key_provider(const struct dga_event *e, struct dga_cvm_result *r)
{
    _cleanup_(json_decrefp) json_t *o =
        json_loadb((const char *)e->payload, e->payload_len, JSON_REJECT_DUPLICATES, NULL);
    json_t *name = json_object_get(o, "name"), *id = json_object_get(o, "id");
    if (!json_is_object(o) || json_object_size(o) != 2 || !json_is_string(name) ||
        !json_is_string(id) || json_string_length(name) == 0 ||
        json_string_length(name) >= sizeof r->key_provider_name ||
        strlen(json_string_value(name)) != json_string_length(name)) {
        return DGA_E_CVM_EVENT_PAYLOAD;
    }
    const char *hex = json_string_value(id);
    for (size_t i = 0; i < json_string_length(id); i++) {
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'))) {
            return DGA_E_CVM_EVENT_PAYLOAD;
        }
    }
    if (json_string_length(id) % 2 != 0) {
        return DGA_E_CVM_EVENT_PAYLOAD;
    }
    r->key_provider_info = malloc(e->payload_len);
    r->key_provider_id = strdup(hex);
    if (r->key_provider_info == NULL || r->key_provider_id == NULL) {
        return DGA_E_NOMEM;
    }
    memcpy(r->key_provider_info, e->payload, e->payload_len);
    r->key_provider_info_len = e->payload_len;
    snprintf(r->key_provider_name, sizeof r->key_provider_name, "%s", json_string_value(name));
    return DGA_E_OK;
}

/* Copies what the event states into the result (its payload passed payload_ok). */
static dga_err take_value(const struct dga_event *e, struct dga_cvm_result *r,
                          struct cvm_events *ev)
{
    const char *n = e->name;
    if (strcmp(n, "app-id") == 0) {
        memcpy(r->app_id, e->payload, 20);
    } else if (strcmp(n, "compose-hash") == 0) {
        memcpy(r->compose_hash, e->payload, 32);
    } else if (strcmp(n, "instance-id") == 0) {
        r->instance_id_len = e->payload_len;
        if (e->payload_len > 0) {
            memcpy(r->instance_id, e->payload, e->payload_len);
        }
    } else if (strcmp(n, "init-script-hash") == 0) {
        memcpy(r->init_script_hashes[r->n_init_scripts++], e->payload, 32);
    } else if (strcmp(n, "os-image-hash") == 0) {
        memcpy(r->os_image_hash, e->payload, 32);
        r->has_os_image_hash = r->os_image_hash_measured = true;
    } else if (strcmp(n, DGA_EVENT_GPU_POLICY_HASH) == 0) {
        memcpy(r->gpu_policy_hash, e->payload, 32);
        r->has_gpu_policy_hash = true;
        ev->policy_hash = e;
    } else if (strcmp(n, DGA_EVENT_GPU_ATTESTATION) == 0) {
        ev->gpu_event = e;
    } else if (strcmp(n, "key-provider") == 0) {
        return key_provider(e, r);
    }
    return DGA_E_OK;
}

struct walk {
    unsigned count[N_RULES];
    unsigned last_rank;
    bool preparing_seen;
    bool ready_seen;
};

static unsigned rank_of(const struct walk *w, const struct rule *ru)
{
    if (!w->preparing_seen && strcmp(ru->name, DGA_EVENT_GPU_POLICY_HASH) == 0) {
        return GATE_POLICY_RANK;
    }
    if (!w->preparing_seen && strcmp(ru->name, DGA_EVENT_GPU_ATTESTATION) == 0) {
        return GATE_EVENT_RANK;
    }
    return ru->rank;
}

/* One pre-boundary event; false (and the check failed) when it breaks a rule. */
static bool step(struct walk *w, const struct dga_event *e, struct dga_cvm_result *r,
                 struct cvm_events *ev)
{
    const enum dga_cvm_check_id c = DGA_CVM_CHECK_BOOT_SEQUENCE;
    const struct rule *ru = find_rule(e->name);
    if (ru == NULL) {
        cvm_fail(r, c, DGA_E_CVM_EVENT_UNKNOWN, "event %zu (%.64s) before system-ready", e->where,
                 e->name);
        return false;
    }
    unsigned *count = &w->count[ru - rules];
    if (*count >= ru->max) {
        cvm_fail(r, c, DGA_E_CVM_EVENT_DUPLICATE, "event %zu: %s more than %u time(s)", e->where,
                 ru->name, ru->max);
        return false;
    }
    unsigned rank = rank_of(w, ru);
    if (rank < w->last_rank || (rank == w->last_rank && ru->max == 1)) {
        cvm_fail(r, c, DGA_E_CVM_EVENT_ORDER, "event %zu: %s out of dstack's order", e->where,
                 ru->name);
        return false;
    }
    if (!payload_ok(ru, e)) {
        cvm_fail(r, c, DGA_E_CVM_EVENT_PAYLOAD, "event %zu: %s payload of %zu bytes", e->where,
                 ru->name, e->payload_len);
        return false;
    }
    dga_err err = take_value(e, r, ev);
    if (err != DGA_E_OK) {
        cvm_fail(r, c, err, "event %zu: %s payload", e->where, ru->name);
        return false;
    }
    (*count)++;
    w->last_rank = rank;
    w->preparing_seen = w->preparing_seen || rank == 10;
    w->ready_seen = strcmp(ru->name, "system-ready") == 0;
    return true;
}

static bool all_present(const struct walk *w, struct dga_cvm_result *r)
{
    for (size_t i = 0; i < N_RULES; i++) {
        if (w->count[i] < rules[i].min) {
            cvm_fail(r, DGA_CVM_CHECK_BOOT_SEQUENCE, DGA_E_CVM_EVENT_MISSING,
                     "no %s event before system-ready", rules[i].name);
            return false;
        }
    }
    return true;
}

void cvm_check_sequence(const struct dga_eventlog *log, struct dga_cvm_result *r,
                        struct cvm_events *ev)
{
    struct walk w = {0};
    size_t i = 0;
    for (; i < log->n && !w.ready_seen; i++) {
        const struct dga_event *e = &log->events[i];
        if (e->event_type == DGA_EVENT_TYPE && !step(&w, e, r, ev)) {
            return;
        }
    }
    for (; i < log->n; i++) {
        ev->n_gpu_events_after += strcmp(log->events[i].name, DGA_EVENT_GPU_ATTESTATION) == 0;
    }
    if (all_present(&w, r)) {
        r->has_app_info = true;
        cvm_pass(r, DGA_CVM_CHECK_BOOT_SEQUENCE);
    }
}

/* ---- values derived from the registers (dstack's decode_mr_tdx_from_quote) -------------- */

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

static dga_err sha256_parts(const uint8_t *const *parts, const size_t *lens, size_t n,
                            uint8_t out[32])
{
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < n; i++) {
        ok = EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
    return ok ? DGA_E_OK : DGA_E_NOMEM;
}

/* mr_system = SHA-256(MRTD || RTMR0 || RTMR1 || RTMR2 || SHA-256(key-provider payload)). */
static dga_err derive_mr_system(const struct dga_td_report *td, struct dga_cvm_result *r)
{
    uint8_t mr_kp[32] = {0};
    if (r->key_provider_info != NULL) {
        const uint8_t *kp = r->key_provider_info;
        dga_err e = sha256_parts(&kp, &r->key_provider_info_len, 1, mr_kp);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    const uint8_t *sys[] = {td->mr_td, td->rt_mr[0], td->rt_mr[1], td->rt_mr[2], mr_kp};
    const size_t sys_len[] = {48, 48, 48, 48, 32};
    return sha256_parts(sys, sys_len, 5, r->mr_system);
}

/*
 * mr_aggregated = SHA-256(MRTD || RTMR0..3 [|| MRCONFIGID || MROWNER || MROWNERCONFIG when any
 * is non-zero]), RTMR3 as quoted (the full log, dstack's verifier and KMS: use_boottime_mr off).
 */
static dga_err derive_mr_aggregated(const struct dga_td_report *td, struct dga_cvm_result *r)
{
    const uint8_t *agg[] = {td->mr_td,    td->rt_mr[0],     td->rt_mr[1], td->rt_mr[2],
                            td->rt_mr[3], td->mr_config_id, td->mr_owner, td->mr_owner_config};
    const size_t agg_len[] = {48, 48, 48, 48, 48, 48, 48, 48};
    bool extra = !all_zero(td->mr_config_id, 48) || !all_zero(td->mr_owner, 48) ||
                 !all_zero(td->mr_owner_config, 48);
    return sha256_parts(agg, agg_len, extra ? 8 : 5, r->mr_aggregated);
}

/* device_id = SHA-256("") on TDX; then mr_system and mr_aggregated. */
dga_err cvm_derive(const struct dga_td_report *td, struct dga_cvm_result *r)
{
    const uint8_t *none = (const uint8_t *)"";
    dga_err e = sha256_parts(&none, (const size_t[]){0}, 1, r->device_id);
    if (e != DGA_E_OK) {
        return e;
    }
    e = derive_mr_system(td, r);
    if (e != DGA_E_OK) {
        return e;
    }
    return derive_mr_aggregated(td, r);
}
