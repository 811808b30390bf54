/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The methods: what the gate committed (the bundle, checked against the one
 * gpu-attestation event of the runtime event log before it is served) and
 * the GPUs' state read now. Nothing is cached: each request reads the files
 * again, so an edited bundle is refused from the next request on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "dga/collect.h"
#include "dga/measure.h"
#include "dga/util.h"
#include "rpc/internal.h"

void rpc_committed_clear(struct rpc_committed *c)
{
    free(c->bundle);
    dga_eventlog_free(c->log);
}

dga_err rpc_failed(struct rpc_failure *f, dga_err e, const char *fmt, ...)
{
    f->err = e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof f->detail, fmt, ap);
    va_end(ap);
    return e;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 || errno != ENOENT;
}

/* A file that may not be there yet: *ret NULL then. */
static dga_err read_optional(const char *path, size_t cap, uint8_t **ret, size_t *ret_len,
                             struct rpc_failure *f)
{
    *ret = NULL;
    *ret_len = 0;
    if (!exists(path)) {
        return DGA_E_OK;
    }
    dga_err e = dga_file_read(path, cap, ret, ret_len);
    return e == DGA_E_OK || e == DGA_E_NOMEM ? e : rpc_failed(f, e, "%s", path);
}

/* The log's gpu-attestation event: at most one (the binding recipe wants exactly one). */
static dga_err find_attestation(struct rpc_committed *c, struct rpc_failure *f)
{
    for (size_t i = 0; c->log != NULL && i < c->log->n; i++) {
        const struct dga_event *ev = &c->log->events[i];
        if (strcmp(ev->name, DGA_EVENT_GPU_ATTESTATION) != 0) {
            continue;
        }
        if (c->att != NULL) {
            return rpc_failed(f, DGA_E_RPC_EVENTS, "lines %zu and %zu", c->att->where, ev->where);
        }
        c->att = ev;
    }
    return DGA_E_OK;
}

/* The event's evidence_sha256 (64 lowercase hex digits) into out. */
static dga_err event_sha256(const struct dga_event *ev, uint8_t out[32], struct rpc_failure *f)
{
    _cleanup_(json_decrefp) json_t *p =
        json_loadb((const char *)ev->payload, ev->payload_len, JSON_REJECT_DUPLICATES, NULL);
    const char *hex = json_string_value(json_object_get(p, "evidence_sha256"));
    if (hex == NULL || strlen(hex) != 64 || dga_hex_decode_exact(hex, out, 32) != DGA_E_OK) {
        return rpc_failed(f, DGA_E_RPC_EVENT_PAYLOAD, "log line %zu", ev->where);
    }
    return DGA_E_OK;
}

dga_err rpc_load_committed(const struct dga_rpc *r, struct rpc_committed *c, struct rpc_failure *f)
{
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    dga_err e = read_optional(r->log_path, DGA_EVENTLOG_MAX_BYTES, &text, &len, f);
    if (e == DGA_E_OK && text != NULL) {
        struct dga_diag d = {0};
        e = dga_eventlog_parse((const char *)text, len, &c->log, &d);
        if (e != DGA_E_OK && e != DGA_E_NOMEM) {
            return rpc_failed(f, e, "%s: line %zu: %s", r->log_path, d.offset,
                              d.field != NULL ? d.field : "?");
        }
    }
    if (e == DGA_E_OK) {
        e = find_attestation(c, f);
    }
    if (e == DGA_E_OK) {
        e = read_optional(r->bundle_path, DGA_GATE_BUNDLE_MAX_BYTES, &c->bundle, &c->bundle_len, f);
    }
    if (e != DGA_E_OK) {
        return e;
    }
    if (c->bundle == NULL) {
        return c->att == NULL ? DGA_E_OK
                              : rpc_failed(f, DGA_E_RPC_BUNDLE_MISSING, "%s", r->bundle_path);
    }
    if (!rpc_utf8_valid(c->bundle, c->bundle_len)) {
        return rpc_failed(f, DGA_E_RPC_BUNDLE_UTF8, "%s", r->bundle_path);
    }
    if (c->att == NULL) {
        return rpc_failed(f, DGA_E_RPC_BUNDLE_UNCOMMITTED, "%s", r->bundle_path);
    }
    if (EVP_Digest(c->bundle, c->bundle_len, c->sha256, NULL, EVP_sha256(), NULL) != 1) {
        return rpc_failed(f, DGA_E_INTERNAL, "sha256");
    }
    uint8_t want[32];
    e = event_sha256(c->att, want, f);
    if (e == DGA_E_OK && memcmp(want, c->sha256, 32) != 0) {
        char got_hex[65], want_hex[65];
        dga_hex_encode(c->sha256, 32, got_hex);
        dga_hex_encode(want, 32, want_hex);
        return rpc_failed(f, DGA_E_RPC_BUNDLE_MISMATCH, "%s has %s, log line %zu commits to %s",
                          r->bundle_path, got_hex, c->att->where, want_hex);
    }
    return e;
}

/* A JSON string of the bundle's exact bytes (valid UTF-8: checked); "" when there is none. */
static json_t *bundle_string(const struct rpc_committed *c)
{
    return c->bundle != NULL ? json_stringn((const char *)c->bundle, c->bundle_len)
                             : json_string("");
}

dga_err rpc_gpu_info(struct dga_rpc *r, const json_t *args, json_t **ret, struct rpc_failure *f)
{
    (void)args; /* google.protobuf.Empty: unknown members are ignored, as serde does */
    _cleanup_(rpc_committed_clear) struct rpc_committed c = {0};
    dga_err e = rpc_load_committed(r, &c, f);
    if (e != DGA_E_OK) {
        return e;
    }
    json_t *o = json_pack("{s:o}", "attestation", bundle_string(&c)); /* GpuInfoResponse */
    if (o == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = o;
    return DGA_E_OK;
}

/* The cached answer when it is for this bundle (a copy), else NULL. */
static char *cached_answer(struct dga_rpc *r, const uint8_t sha256[32], size_t *ret_len)
{
    char *copy = NULL;
    pthread_mutex_lock(&r->answer_mu);
    if (r->answer_text != NULL && dga_mem_equal(r->answer_sha256, sha256, 32)) {
        copy = malloc(r->answer_len + 1);
        if (copy != NULL) {
            memcpy(copy, r->answer_text, r->answer_len + 1);
            *ret_len = r->answer_len;
        }
    }
    pthread_mutex_unlock(&r->answer_mu);
    return copy;
}

static void cache_answer(struct dga_rpc *r, const uint8_t sha256[32], const char *text, size_t len)
{
    char *keep = malloc(len + 1);
    if (keep == NULL) {
        return; /* not kept: the next request serialises again */
    }
    memcpy(keep, text, len + 1);
    pthread_mutex_lock(&r->answer_mu);
    free(r->answer_text);
    r->answer_text = keep;
    r->answer_len = len;
    memcpy(r->answer_sha256, sha256, 32);
    pthread_mutex_unlock(&r->answer_mu);
}

dga_err rpc_gpu_info_text(struct dga_rpc *r, const json_t *args, char **ret, size_t *ret_len,
                          struct rpc_failure *f)
{
    (void)args;
    _cleanup_(rpc_committed_clear) struct rpc_committed c = {0};
    dga_err e = rpc_load_committed(r, &c, f); /* the binding checks, on every request */
    if (e != DGA_E_OK) {
        return e;
    }
    size_t len = 0;
    char *text = c.bundle != NULL ? cached_answer(r, c.sha256, &len) : NULL;
    if (text == NULL) {
        _cleanup_(json_decrefp) json_t *o = json_pack("{s:o}", "attestation", bundle_string(&c));
        text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
        if (text == NULL) {
            return DGA_E_NOMEM;
        }
        len = strlen(text);
        if (c.bundle != NULL) {
            cache_answer(r, c.sha256, text, len);
        }
    }
    *ret = text;
    *ret_len = len;
    return DGA_E_OK;
}

/* ---- GetGpuAttestation ---- */

/* The gpu-policy-hash and gpu-attestation events, each as the log has it, digest recomputed. */
static json_t *events_json(const struct rpc_committed *c)
{
    dga_err e = DGA_E_OK;
    _cleanup_(json_decrefp) json_t *a = json_array();
    bool ready_seen = false;
    for (size_t i = 0; c->log != NULL && i < c->log->n; i++) {
        const struct dga_event *ev = &c->log->events[i];
        if (strcmp(ev->name, "system-ready") == 0) {
            ready_seen = true;
        }
        if (strcmp(ev->name, DGA_EVENT_GPU_ATTESTATION) != 0 &&
            strcmp(ev->name, DGA_EVENT_GPU_POLICY_HASH) != 0) {
            continue;
        }
        json_push(a,
                  json_pack("{s:I,s:s,s:o,s:o,s:I,s:b}", "index", (json_int_t)ev->where, "name",
                            ev->name, "payload", hex_json(ev->payload, ev->payload_len), "digest",
                            hex_json(ev->digest, DGA_EVENT_DIGEST_LEN), "version",
                            (json_int_t)ev->version, "before_system_ready", !ready_seen),
                  &e);
    }
    return e == DGA_E_OK ? TAKE_PTR(a) : NULL;
}

static const char *str_at(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

/* One device: what NVML reported (the bundle's evidence) and the appraisal's claims. */
static json_t *device_json(const json_t *bundle, size_t i)
{
    const json_t *ev = json_array_get(json_object_get(bundle, "evidence"), i);
    const json_t *claims =
        json_object_get(json_array_get(json_object_get(bundle, "devices"), i), "claims");
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "label", str_at(ev, "label"), "pci_address",
                     str_at(ev, "pci_address"), "uuid", str_at(ev, "uuid"), "ueid",
                     str_at(claims, "ueid"), "arch", str_at(ev, "arch"), "driver_version",
                     str_at(claims, "x-nvidia-gpu-driver-version"), "vbios_version",
                     str_at(ev, "vbios_version"));
}

/* The verdict summary from the bundle: pass, reasons, devices. */
static dga_err verdict_json(const struct rpc_committed *c, json_t **ret, struct rpc_failure *f)
{
    if (c->bundle == NULL) {
        *ret = json_null();
        return DGA_E_OK;
    }
    _cleanup_(json_decrefp) json_t *b =
        json_loadb((const char *)c->bundle, c->bundle_len, JSON_REJECT_DUPLICATES, NULL);
    const json_t *v = json_object_get(b, "verdict");
    const json_t *reasons = json_object_get(v, "reasons");
    if (!json_is_boolean(json_object_get(v, "pass")) || !json_is_array(reasons) ||
        !json_is_array(json_object_get(b, "evidence"))) {
        return rpc_failed(f, DGA_E_RPC_BUNDLE_JSON, "verdict");
    }
    dga_err e = DGA_E_OK;
    _cleanup_(json_decrefp) json_t *devices = json_array();
    for (size_t i = 0; i < json_array_size(json_object_get(b, "evidence")); i++) {
        json_push(devices, device_json(b, i), &e);
    }
    json_t *o = e == DGA_E_OK ? json_pack("{s:O,s:O,s:O}", "pass", json_object_get(v, "pass"),
                                          "reasons", reasons, "devices", devices)
                              : NULL;
    if (o == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = o;
    return DGA_E_OK;
}

dga_err rpc_read_state(struct dga_rpc *r, struct dga_cc_settings *ret_cc, unsigned *ret_ready,
                       struct dga_nvml_error *ne)
{
    pthread_mutex_lock(&r->attest_mu); /* one NVML job at a time: see struct dga_rpc */
    dga_err e = dga_nvml_state_reader_read(r->state, ret_cc, ret_ready, ne);
    pthread_mutex_unlock(&r->attest_mu);
    return e;
}

/* CC settings and the ready state, read now. A failure is part of the answer, not an error. */
static json_t *state_json(struct dga_rpc *r)
{
    struct dga_nvml_error ne = {0};
    struct dga_cc_settings cc = {0};
    unsigned ready = 0;
    dga_err e = rpc_read_state(r, &cc, &ready, &ne);
    if (e != DGA_E_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s: %s (NVML %d)", dga_err_name(e), ne.function, ne.nvml_rc);
        return json_pack("{s:s}", "error", why);
    }
    return json_pack("{s:s,s:b,s:{s:I,s:I,s:I,s:I}}", "cc_mode", dga_cc_mode_name(&cc), "ready",
                     ready == 1, "cc", "environment", (json_int_t)cc.environment, "cc_feature",
                     (json_int_t)cc.cc_feature, "devtools_mode", (json_int_t)cc.devtools_mode,
                     "multi_gpu_mode", (json_int_t)cc.multi_gpu_mode);
}

dga_err rpc_get_gpu_attestation(struct dga_rpc *r, const json_t *args, json_t **ret,
                                struct rpc_failure *f)
{
    (void)args; /* google.protobuf.Empty: unknown members are ignored, as serde does */
    _cleanup_(rpc_committed_clear) struct rpc_committed c = {0};
    dga_err e = rpc_load_committed(r, &c, f);
    json_t *verdict = NULL;
    if (e == DGA_E_OK) {
        e = verdict_json(&c, &verdict, f);
    }
    if (e != DGA_E_OK) {
        return e;
    }
    char sha_hex[65] = "";
    if (c.bundle != NULL) {
        dga_hex_encode(c.sha256, 32, sha_hex);
    }
    json_t *o =
        json_pack("{s:o,s:s,s:o,s:o,s:o}", "bundle", bundle_string(&c), "bundle_sha256", sha_hex,
                  "events", events_json(&c), "verdict", verdict, "state", state_json(r));
    if (o == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = o;
    return DGA_E_OK;
}

/* ---- GetGpuAttestation's JSON text ---- */

/* The parts of the answer that follow from the bundle's bytes alone, as compact JSON text. */
struct att_parts {
    char *head;    /* {"bundle":<string>,"bundle_sha256":"<hex>","events": */
    char *verdict; /* the verdict object, or null */
};

static void att_parts_clear(struct att_parts *p)
{
    free(p->head);
    free(p->verdict);
    *p = (struct att_parts){0};
}

/* j as compact JSON text (any value, not only objects); NULL on no memory. Steals j. */
static char *dump_any(json_t *j)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    return text;
}

static dga_err att_parts_make(const struct rpc_committed *c, struct att_parts *p,
                              struct rpc_failure *f)
{
    json_t *verdict = NULL;
    dga_err e = verdict_json(c, &verdict, f);
    if (e != DGA_E_OK) {
        return e;
    }
    char sha_hex[65] = "";
    if (c->bundle != NULL) {
        dga_hex_encode(c->sha256, 32, sha_hex);
    }
    _cleanup_(freep) char *bundle = dump_any(bundle_string(c));
    p->verdict = dump_any(verdict);
    if (bundle == NULL || p->verdict == NULL ||
        asprintf(&p->head, "{\"bundle\":%s,\"bundle_sha256\":\"%s\",\"events\":", bundle, sha_hex) <
            0) {
        p->head = NULL;
        return DGA_E_NOMEM;
    }
    return DGA_E_OK;
}

/* The cached parts when they are for this bundle (copies); false on a miss. */
static bool att_cached(struct dga_rpc *r, const uint8_t sha256[32], struct att_parts *p)
{
    pthread_mutex_lock(&r->answer_mu);
    if (r->att_head != NULL && dga_mem_equal(r->att_sha256, sha256, 32)) {
        p->head = strdup(r->att_head);
        p->verdict = strdup(r->att_verdict);
    }
    pthread_mutex_unlock(&r->answer_mu);
    if (p->head == NULL || p->verdict == NULL) {
        att_parts_clear(p); /* a miss, or no memory for the copy: made again */
        return false;
    }
    return true;
}

static void att_cache(struct dga_rpc *r, const uint8_t sha256[32], const struct att_parts *p)
{
    char *head = strdup(p->head), *verdict = strdup(p->verdict);
    if (head == NULL || verdict == NULL) {
        free(head);
        free(verdict);
        return; /* not kept: the next request makes them again */
    }
    pthread_mutex_lock(&r->answer_mu);
    free(r->att_head);
    free(r->att_verdict);
    r->att_head = head;
    r->att_verdict = verdict;
    memcpy(r->att_sha256, sha256, 32);
    pthread_mutex_unlock(&r->answer_mu);
}

/*
 * Byte for byte what json_dumps(JSON_COMPACT) makes of rpc_get_gpu_attestation's answer (its
 * members in the same order), in the same steps: the binding checks, the verdict, then the
 * state read now. What saves the time (jansson parsing the ~40 KB bundle for its verdict and
 * escaping it again) is keyed by the SHA-256 of the bytes read on this request, as GpuInfo's.
 */
dga_err rpc_get_gpu_attestation_text(struct dga_rpc *r, const json_t *args, char **ret,
                                     size_t *ret_len, struct rpc_failure *f)
{
    (void)args;
    _cleanup_(rpc_committed_clear) struct rpc_committed c = {0};
    dga_err e = rpc_load_committed(r, &c, f);
    if (e != DGA_E_OK) {
        return e;
    }
    _cleanup_(att_parts_clear) struct att_parts p = {0};
    if (c.bundle == NULL || !att_cached(r, c.sha256, &p)) {
        e = att_parts_make(&c, &p, f);
        if (e != DGA_E_OK) {
            return e;
        }
        if (c.bundle != NULL) {
            att_cache(r, c.sha256, &p);
        }
    }
    _cleanup_(freep) char *events = dump_any(events_json(&c));
    _cleanup_(freep) char *state = dump_any(state_json(r));
    char *text = NULL;
    int n = events != NULL && state != NULL ? asprintf(&text, "%s%s,\"verdict\":%s,\"state\":%s}",
                                                       p.head, events, p.verdict, state)
                                            : -1;
    if (n < 0) {
        return DGA_E_NOMEM;
    }
    *ret = text;
    *ret_len = (size_t)n;
    return DGA_E_OK;
}
