/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The evidence bundle (docs/gate.md, docs/architecture.md): a superset of attest's JSON
 * with the raw evidence, the collateral used, the nonce, the verdict, the
 * policy and the roots, plus what the gate saw (inventory, CC settings, the
 * step reached). Serialized compact with sorted keys, because the
 * gpu-attestation event commits to its exact bytes; written through a
 * temporary file, fsync and rename, so a reader never sees half of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/cleanup.h"
#include "gate/internal.h"
#include "dga/util.h"

static json_t *hex_or_null(const uint8_t *p, size_t n, bool present)
{
    if (!present) {
        return json_null();
    }
    char *hex = malloc(2 * n + 1);
    if (hex == NULL) {
        return NULL;
    }
    dga_hex_encode(p, n, hex);
    json_t *s = json_string(hex);
    free(hex);
    return s;
}

static json_t *sha_json(const uint8_t sha[32])
{
    return hex_or_null(sha, 32, true);
}

static json_t *cc_json(const struct gate_state *g)
{
    if (!g->cc_read) {
        return json_null();
    }
    const struct dga_cc_settings *cc = &g->cc;
    return json_pack("{s:I,s:I,s:I,s:I,s:s}", "environment", (json_int_t)cc->environment,
                     "cc_feature", (json_int_t)cc->cc_feature, "devtools_mode",
                     (json_int_t)cc->devtools_mode, "multi_gpu_mode", (json_int_t)cc->multi_gpu_mode,
                     "mode", dga_cc_mode_name(cc));
}

static json_t *inventory_json(const struct gate_state *g)
{
    if (!g->inventory_read) {
        return json_null();
    }
    json_t *gpus = json_array(), *switches = json_array();
    for (size_t i = 0; i < g->inv->n_gpus; i++) {
        json_array_append_new(gpus, json_string(g->inv->gpu[i].address));
    }
    for (size_t i = 0; i < g->inv->n_switches; i++) {
        json_array_append_new(switches, json_string(g->inv->nvswitch[i].address));
    }
    return json_pack("{s:o,s:o}", "gpus", gpus, "nvswitches", switches);
}

/* Per device: what NVML returned, raw. Labels are GPU-<NVML index>, as the appraisal's. */
static json_t *evidence_json(const struct gate_state *g)
{
    json_t *a = json_array();
    for (size_t i = 0; g->collected && a != NULL && i < g->col->n; i++) {
        const struct dga_gpu_collected *d = &g->col->gpu[i];
        char label[32];
        snprintf(label, sizeof label, "GPU-%zu", i);
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:o,s:s%}", "label", label, "arch",
                              dga_arch_name(d->arch), "pci_address", d->pci_address, "uuid",
                              d->uuid, "board_id", (json_int_t)d->board_id, "vbios_version",
                              d->vbios_version, "cc_mode", dga_cc_mode_name(&g->col->cc),
                              "report", hex_or_null(d->report, d->report_len, true),
                              "certificate_chain", d->chain_pem, d->chain_pem_len);
        json_array_append_new(a, o);
    }
    return a;
}

/* The RIM documents and OCSP responses used (lib/gate/collateral.c); empty before appraisal. */
static json_t *collateral_json(const struct gate_state *g)
{
    if (!g->appraised) {
        return json_pack("{s:[],s:[]}", "rims", "ocsp");
    }
    return dga_set_appraisal_collateral(g->ap, &g->ocsp);
}

static json_t *devices_json(const struct gate_state *g)
{
    json_t *a = json_array();
    for (size_t i = 0; g->appraised && a != NULL && i < g->ap->n; i++) {
        const struct dga_appraisal *d = &g->ap->dev[i];
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o}", "label", d->report.label, "arch",
                              dga_arch_name(d->report.arch), "pci_address",
                              g->col->gpu[i].pci_address, "result",
                              d->err == DGA_E_OK ? "appraised" : "failed", "claims",
                              dga_claims_device(d));
        if (o != NULL && d->err != DGA_E_OK) {
            json_object_set_new(o, "failed_check", json_string(dga_appraisal_check_name(d->failed_check)));
            json_object_set_new(o, "error", json_string(dga_err_name(d->err)));
            json_object_set_new(o, "message", json_string(dga_err_message(d->err)));
        }
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *verdict_json(const struct gate_state *g)
{
    const struct dga_gate_result *r = g->res;
    bool pass = r->err == DGA_E_OK;
    json_t *reasons = json_array();
    if (g->appraised) {
        for (size_t i = 0; reasons != NULL && i < g->ap->verdict.n_reasons; i++) {
            json_array_append_new(reasons, json_string(g->ap->verdict.reasons[i]));
        }
    }
    if (!pass && reasons != NULL && json_array_size(reasons) == 0) {
        json_array_append_new(reasons, json_string(r->reason));
    }
    return json_pack("{s:b,s:s,s:o}", "pass", pass, "result", pass ? "pass" : "fail", "reasons",
                     reasons);
}

static json_t *verdict_of(const struct dga_verdict *v)
{
    json_t *reasons = json_array();
    for (size_t i = 0; reasons != NULL && i < v->n_reasons; i++) {
        json_array_append_new(reasons, json_string(v->reasons[i]));
    }
    return json_pack("{s:b,s:o}", "pass", v->pass, "reasons", reasons);
}

/*
 * gpu_policy.rego: null without one; else the SHA-256 of its text and the policy
 * document standing in for it (path and SHA-256 of its bytes, null when the config
 * names none: the run was refused), with that document's verdict once evaluated.
 */
static json_t *rego_json(const struct gate_state *g)
{
    if (!g->has_rego) {
        return json_null();
    }
    json_t *equivalent = g->rego_policy == NULL
                             ? json_null()
                             : json_pack("{s:s,s:o,s:o}", "path", g->rego_policy_path, "sha256",
                                         sha_json(g->rego_policy_sha256), "verdict",
                                         g->rego_verdict != NULL ? verdict_of(g->rego_verdict)
                                                                 : json_null());
    return json_pack("{s:o,s:o}", "sha256", sha_json(g->rego_sha256), "equivalent_policy",
                     equivalent);
}

static json_t *gate_json(const struct gate_state *g)
{
    const struct dga_gate_result *r = g->res;
    return json_pack("{s:b,s:s,s:o,s:s,s:o,s:o,s:s,s:I,s:b,s:b,s:b,s:s}", "dry_run",
                     g->opt->dry_run, "step",
                     r->err == DGA_E_OK ? "passed" : dga_gate_step_name(r->step), "error",
                     r->err == DGA_E_OK ? json_null() : json_string(dga_err_name(r->err)),
                     "reason", r->reason, "inventory", inventory_json(g), "cc", cc_json(g),
                     "driver_version", g->collected ? g->col->driver_version : "",
                     "event_version", (json_int_t)g->cfg->event_version, "devtools_allowed",
                     g->allow_devtools, "debug_allowed", dga_policy_allow_debug(g->policy),
                     "insecure_boot_allowed", dga_policy_allow_insecure_boot(g->policy), "ocsp",
                     dga_ocsp_mode_name(g->ocsp.mode));
}

static json_t *bundle_json(const struct gate_state *g)
{
    char at[21];
    dga_time_format(g->at, at);
    int code = g->appraised ? g->ap->result_code : -1;
    const char *message = g->appraised ? g->ap->result_message : "not appraised";
    bool filled = g->appraised && (code == 0 || code == 11 || code == 12);
    json_t *claims = filled ? json_incref(g->ap->claims) : json_object();
    json_t *eat = filled && g->ap->detached_eat != NULL ? json_incref(g->ap->detached_eat)
                                                        : json_object();
    return json_pack("{s:i,s:i,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:{s:o,s:s},s:o,s:o,s:o,s:s,"
                     "s:o}",
                     "bundle_version", 1, "result_code", code, "result_message", message,
                     "claims", claims, "detached_eat", eat, "evidence", evidence_json(g),
                     "collateral", collateral_json(g), "devices", devices_json(g), "nonce",
                     hex_or_null(g->nonce, DGA_NONCE_LEN, g->has_nonce), "verified_at", at,
                     "policy", "sha256", sha_json(g->policy_sha256), "source",
                     g->policy != NULL ? dga_policy_source(g->policy) : "unloaded",
                     "gpu_policy_sha256", sha_json(g->gpu_policy_sha256), "gpu_policy_rego",
                     rego_json(g), "verdict", verdict_json(g), "trust_roots",
                     g->cfg->test_device_root != NULL ? "test" : "nvidia", "gate", gate_json(g));
}

/* The run directory (0700, made if missing), then core's atomic writer, mode 0600. */
static dga_err write_atomically(const char *dir, const char *path, const char *text, size_t len)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return DGA_E_IO;
    }
    return dga_file_write_atomic(path, text, len, 0600) == DGA_E_OK ? DGA_E_OK : DGA_E_IO;
}

dga_err gate_bundle_write(struct gate_state *g)
{
    struct dga_gate_result *r = g->res;
    _cleanup_(json_decrefp) json_t *bundle = bundle_json(g);
    _cleanup_(freep) char *text =
        bundle != NULL ? json_dumps(bundle, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (text == NULL) {
        return DGA_E_NOMEM;
    }
    size_t len = strlen(text);
    if (len + 1 > DGA_GATE_BUNDLE_MAX_BYTES) {
        return DGA_E_TOO_LARGE;
    }
    text[len] = '\n'; /* json_dumps leaves room: the NUL becomes the newline */
    if ((size_t)snprintf(r->bundle_path, sizeof r->bundle_path, "%s/%s", g->cfg->run_dir,
                         DGA_GATE_BUNDLE_FILE) >= sizeof r->bundle_path) {
        return DGA_E_IO;
    }
    if (EVP_Digest(text, len + 1, r->bundle_sha256, NULL, EVP_sha256(), NULL) != 1) {
        return DGA_E_INTERNAL;
    }
    dga_err e = write_atomically(g->cfg->run_dir, r->bundle_path, text, len + 1);
    r->bundle_written = e == DGA_E_OK;
    return e;
}
