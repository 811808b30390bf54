/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EnsureGpuReady: ready only when the boot gate passed (the committed
 * bundle's verdict is a pass and its gpu-attestation event precedes
 * system-ready) and NVML reports the CC mode the gate booted in (CC on, or
 * protected PCIe) and the ready state set now. A lost
 * ready state (a driver reload, a GPU reset) is re-attested: the gate runs
 * again with a fresh nonce under the boot's config and policy, writes its
 * own bundle (reattestation-<N>.json, N the next free number) and measures a
 * gpu-reattestation event, and sets the ready state only on a pass.
 * Concurrent callers share one re-attestation. NVML is read in children with
 * the gate's deadlines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cleanup.h"
#include "dga/util.h"
#include "rpc/internal.h"

#define REATTEST_FILE_MAX 64
#define REATTEST_N_MAX 1000000u

static const char *const OUTCOME_ALREADY = "already-ready";
static const char *const OUTCOME_REATTESTED = "reattested";
static const char *const OUTCOME_REFUSED = "refused";

__attribute__((format(printf, 2, 3))) static void refuse(struct rpc_ensure_outcome *o,
                                                         const char *fmt, ...)
{
    o->outcome = OUTCOME_REFUSED;
    o->has_sha256 = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->reason, sizeof o->reason, fmt, ap);
    va_end(ap);
}

/* What the boot's gpu-attestation payload committed to that the state now must match. */
struct boot {
    json_int_t devices;
    bool devtools;
    bool ppcie; /* the payload's cc_mode: "ppcie" (NVSwitches attested) or "on" */
};

/* The event precedes every system-ready of the log: only such an event binds (docs/formats.md). */
static const struct dga_event *system_ready_before(const struct rpc_committed *c)
{
    for (size_t i = 0; i < c->log->n && &c->log->events[i] != c->att; i++) {
        if (strcmp(c->log->events[i].name, "system-ready") == 0) {
            return &c->log->events[i];
        }
    }
    return NULL;
}

/* The verdict and the payload of a bundle that passed rpc_load_committed's binding checks. */
static dga_err boot_record(const struct rpc_committed *c, struct boot *b,
                           struct rpc_ensure_outcome *o)
{
    _cleanup_(json_decrefp) json_t *bundle =
        json_loadb((const char *)c->bundle, c->bundle_len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_true(json_object_get(json_object_get(bundle, "verdict"), "pass"))) {
        refuse(o, "boot gate: the committed bundle's verdict is not a pass");
        return DGA_E_RPC_BUNDLE_JSON;
    }
    _cleanup_(json_decrefp) json_t *p = json_loadb(
        (const char *)c->att->payload, c->att->payload_len, JSON_REJECT_DUPLICATES, NULL);
    const json_t *devices = json_object_get(p, "devices");
    const json_t *devtools = json_object_get(p, "devtools");
    const char *cc_mode = json_string_value(json_object_get(p, "cc_mode"));
    if (!json_is_integer(devices) || !json_is_boolean(devtools) || cc_mode == NULL) {
        refuse(o,
               "boot gate: the gpu-attestation payload (log line %zu) has no "
               "devices/devtools/cc_mode",
               c->att->where);
        return DGA_E_RPC_EVENT_PAYLOAD;
    }
    b->devices = json_integer_value(devices);
    b->devtools = json_is_true(devtools);
    if (b->devices <= 0) {
        refuse(o, "boot gate: no GPU was attested (devices %lld)", (long long)b->devices);
        return DGA_E_RPC_EVENT_PAYLOAD;
    }
    if (strcmp(cc_mode, "on") != 0 && strcmp(cc_mode, "ppcie") != 0) {
        refuse(o, "boot gate: the gpu-attestation payload (log line %zu) has cc_mode \"%.32s\"",
               c->att->where, cc_mode);
        return DGA_E_RPC_EVENT_PAYLOAD;
    }
    b->ppcie = strcmp(cc_mode, "ppcie") == 0;
    return DGA_E_OK;
}

/*
 * The boot gate passed: DGA_E_OK, *b filled. DGA_E_NOMEM alone is an error;
 * any other failure is a refusal whose reason is in *o.
 */
static dga_err boot_passed(const struct dga_rpc *r, struct boot *b, struct rpc_ensure_outcome *o)
{
    _cleanup_(rpc_committed_clear) struct rpc_committed c = {0};
    struct rpc_failure f = {0};
    dga_err e = rpc_load_committed(r, &c, &f);
    if (e == DGA_E_NOMEM) {
        return e;
    }
    if (e != DGA_E_OK) {
        refuse(o, "boot gate: %s: %s%s%s", dga_err_name(f.err), dga_err_message(f.err),
               f.detail[0] != '\0' ? ": " : "", f.detail);
        return e;
    }
    if (c.bundle == NULL) {
        refuse(o, "boot gate: the gate never ran (no bundle, no gpu-attestation event)");
        return DGA_E_RPC_BUNDLE_MISSING;
    }
    const struct dga_event *ready = system_ready_before(&c);
    if (ready != NULL) {
        refuse(o,
               "boot gate: the gpu-attestation event (log line %zu) is after system-ready (log "
               "line %zu)",
               c.att->where, ready->where);
        return DGA_E_RPC_EVENTS;
    }
    return boot_record(&c, b, o);
}

/*
 * CC as the boot attested it, never the other mode: a boot in CC mode attested no
 * NVSwitches and no topology, so protected PCIe now (CC off on each GPU) is not what it
 * vouched for; a PPCIe boot's trust rests on the switches, so single-GPU CC now is not
 * either. CC mode: on, or DEVTOOLS when the boot's policy allowed it then.
 */
static bool cc_as_booted(const struct dga_cc_settings *cc, const struct boot *b)
{
    const char *mode = dga_cc_mode_name(cc);
    if (b->ppcie) {
        return strcmp(mode, "ppcie") == 0;
    }
    return strcmp(mode, "on") == 0 || (b->devtools && strcmp(mode, "devtools") == 0);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 || errno != ENOENT;
}

/* The next reattestation-<N>.json not in run_dir yet (a restarted service keeps counting). */
static dga_err next_file(struct dga_rpc *r, char name[REATTEST_FILE_MAX], unsigned *ret_n)
{
    char path[DGA_GATE_PATH_MAX + REATTEST_FILE_MAX + 2];
    for (unsigned n = r->reattest_next; n < REATTEST_N_MAX; n++) {
        snprintf(name, REATTEST_FILE_MAX, "reattestation-%u.json", n);
        snprintf(path, sizeof path, "%s/%s", r->gate->run_dir, name);
        if (!exists(path)) {
            *ret_n = n;
            return DGA_E_OK;
        }
    }
    return DGA_E_TOO_LARGE;
}

/* One re-attestation under the attestation lock; its outcome into *o. */
static void reattest(struct dga_rpc *r, struct rpc_ensure_outcome *o)
{
    char name[REATTEST_FILE_MAX];
    unsigned n = 0;
    _cleanup_(dga_gate_result_clearp) struct dga_gate_result res = {0};
    pthread_mutex_lock(&r->attest_mu);
    if (next_file(r, name, &n) != DGA_E_OK) {
        pthread_mutex_unlock(&r->attest_mu);
        refuse(o, "re-attestation: no free reattestation-<N>.json below %u", REATTEST_N_MAX);
        return;
    }
    const struct dga_gate_options opt = {
        .bundle_file = name,
        .event_name = DGA_EVENT_GPU_REATTESTATION,
        .skip_policy_hash = true, /* the boot's run measured it; the policy is the same */
    };
    dga_gate_run(r->gate, &opt, &res);
    r->reattest_next = n + 1;
    pthread_mutex_unlock(&r->attest_mu);
    if (res.err != DGA_E_OK) {
        refuse(o, "re-attestation failed (%s): %s", name, res.reason);
        return;
    }
    o->outcome = OUTCOME_REATTESTED;
    o->reason[0] = '\0';
    o->has_sha256 = true;
    memcpy(o->sha256, res.bundle_sha256, 32);
}

/*
 * The single flight: waits out a re-attestation in progress; one that
 * completed after this caller began (seen_gen) answers it too, since its
 * state read is no newer; else this caller runs the next one.
 */
static void reattest_shared(struct dga_rpc *r, uint64_t seen_gen, struct rpc_ensure_outcome *o)
{
    pthread_mutex_lock(&r->ensure_mu);
    while (r->reattesting) {
        pthread_cond_wait(&r->ensure_cv, &r->ensure_mu);
    }
    if (r->reattest_gen != seen_gen) {
        *o = r->reattest_last;
        pthread_mutex_unlock(&r->ensure_mu);
        return;
    }
    r->reattesting = true;
    pthread_mutex_unlock(&r->ensure_mu);
    reattest(r, o);
    pthread_mutex_lock(&r->ensure_mu);
    r->reattest_last = *o;
    r->reattest_gen++;
    r->reattesting = false;
    pthread_cond_broadcast(&r->ensure_cv);
    pthread_mutex_unlock(&r->ensure_mu);
}

static json_t *outcome_json(const struct rpc_ensure_outcome *o)
{
    char sha_hex[65] = "";
    if (o->has_sha256) {
        dga_hex_encode(o->sha256, 32, sha_hex);
    }
    return json_pack("{s:b,s:s,s:s,s:s}", "ready", o->outcome != OUTCOME_REFUSED, "outcome",
                     o->outcome, "reason", o->reason, "reattestation_sha256", sha_hex);
}

/* The outcome, or an NVML failure of the state read (*f). */
static dga_err ensure(struct dga_rpc *r, struct rpc_ensure_outcome *o, struct rpc_failure *f)
{
    pthread_mutex_lock(&r->ensure_mu);
    uint64_t seen_gen = r->reattest_gen; /* before the state read: see reattest_shared */
    pthread_mutex_unlock(&r->ensure_mu);
    struct boot b = {0};
    dga_err e = boot_passed(r, &b, o);
    if (e == DGA_E_NOMEM) {
        return e;
    }
    if (e != DGA_E_OK) {
        return DGA_E_OK; /* refused: never re-attest on a boot that did not pass */
    }
    struct dga_cc_settings cc = {0};
    unsigned ready = 0;
    struct dga_nvml_error ne = {0};
    e = rpc_read_state(r, &cc, &ready, &ne);
    if (e != DGA_E_OK) {
        return rpc_failed(f, e, "%s (NVML %d)", ne.function, ne.nvml_rc);
    }
    if (!cc_as_booted(&cc, &b)) {
        refuse(o, "cc-mode: %s (ccFeature %u, environment %u, devToolsMode %u, multiGpuMode %u)",
               dga_cc_mode_name(&cc), cc.cc_feature, cc.environment, cc.devtools_mode,
               cc.multi_gpu_mode);
        return DGA_E_OK;
    }
    if (ready == 1) {
        o->outcome = OUTCOME_ALREADY;
        return DGA_E_OK;
    }
    reattest_shared(r, seen_gen, o);
    return DGA_E_OK;
}

dga_err rpc_ensure_gpu_ready(struct dga_rpc *r, const json_t *args, json_t **ret,
                             struct rpc_failure *f)
{
    (void)args; /* Empty: unknown members are ignored, as serde does */
    struct rpc_ensure_outcome o = {0};
    dga_err e = ensure(r, &o, f);
    if (e != DGA_E_OK) {
        return e;
    }
    json_t *j = outcome_json(&o);
    if (j == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = j;
    return DGA_E_OK;
}
