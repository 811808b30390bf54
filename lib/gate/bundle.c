/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The evidence bundle (docs/gate.md, docs/architecture.md): attest's JSON, the
 * library's core of an appraised set (dga_set_appraisal_json: claims, verdict,
 * collateral, devices, nonce, policy, roots), extended with the raw evidence, the
 * gpu_policy, the run's verdict and what the gate saw (inventory, CC settings, the
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
#include "core/json.h"
#include "dga/util.h"
#include "gate/internal.h"
#include "gate/testing.h"

static json_t *hex_or_null(const uint8_t *p, size_t n, bool present)
{
    if (!present) {
        return json_null();
    }
    return hex_json(p, n);
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
                     (json_int_t)cc->devtools_mode, "multi_gpu_mode",
                     (json_int_t)cc->multi_gpu_mode, "mode", dga_cc_mode_name(cc));
}

/* Builders below return the whole value or NULL (json_put, json_push: core/json.h). */

static json_t *addresses_json(const struct dga_pci_device *dev, size_t n)
{
    dga_err e = DGA_E_OK;
    _cleanup_(json_decrefp) json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_push(a, json_string(dev[i].address), &e);
    }
    if (e != DGA_E_OK) {
        return NULL;
    }
    return TAKE_PTR(a);
}

static json_t *inventory_json(const struct gate_state *g)
{
    if (!g->inventory_read) {
        return json_null();
    }
    dga_err e = DGA_E_OK;
    _cleanup_(json_decrefp) json_t *o = json_object();
    json_put(o, "gpus", addresses_json(g->inv->gpu, g->inv->n_gpus), &e);
    json_put(o, "nvswitches", addresses_json(g->inv->nvswitch, g->inv->n_switches), &e);
    if (e != DGA_E_OK) {
        return NULL;
    }
    return TAKE_PTR(o);
}

/* What NVML returned for device i, raw; json_pack makes all of it or nothing. */
static json_t *device_evidence_json(const struct gate_state *g, size_t i)
{
    const struct dga_gpu_collected *d = &g->col->gpu[i];
    char label[32];
    snprintf(label, sizeof label, "GPU-%zu", i);
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:o,s:s%}", "label", label, "arch",
                     dga_arch_name(d->arch), "pci_address", d->pci_address, "uuid", d->uuid,
                     "board_id", (json_int_t)d->board_id, "vbios_version", d->vbios_version,
                     "cc_mode", dga_cc_mode_name(&g->col->cc), "report",
                     hex_or_null(d->report, d->report_len, true), "certificate_chain", d->chain_pem,
                     d->chain_pem_len);
}

/*
 * What NSCQ returned for NVSwitch j, raw: its UUID and label, the TNVL status as read (not
 * signed: docs/gate.md, residuals), the report and the chain.
 */
static json_t *switch_evidence_json(const struct gate_state *g, size_t j)
{
    const struct dga_switch_collected *d = &g->sw->sw[j];
    char label[32];
    snprintf(label, sizeof label, "SWITCH-%zu", j);
    return json_pack("{s:s,s:s,s:o,s:s,s:i,s:o,s:s%}", "label", label, "arch",
                     dga_arch_name(d->arch), "uuid", hex_json(d->uuid, sizeof d->uuid),
                     "nscq_label", d->label, "tnvl_status", d->tnvl_status, "report",
                     hex_or_null(d->report, d->report_len, true), "certificate_chain", d->chain_pem,
                     d->chain_pem_len);
}

/*
 * Per device: what NVML returned, raw, then (PPCIe mode) what NSCQ returned. Labels are
 * GPU-<NVML index> and SWITCH-<NSCQ index>, as the appraisal's.
 */
static json_t *evidence_json(const struct gate_state *g)
{
    dga_err e = DGA_E_OK;
    _cleanup_(json_decrefp) json_t *a = json_array();
    for (size_t i = 0; g->collected && i < g->col->n; i++) {
        json_push(a, device_evidence_json(g, i), &e);
    }
    for (size_t j = 0; g->switches_collected && j < g->sw->n; j++) {
        json_push(a, switch_evidence_json(g, j), &e);
    }
    if (e != DGA_E_OK || a == NULL) {
        return NULL;
    }
    return TAKE_PTR(a);
}

/* The appraisal's devices with the PCI address each was collected at. */
/* Each device's PCI address; false when one cannot be recorded. */
static bool add_pci_addresses(const struct gate_state *g, json_t *devices)
{
    size_t i;
    json_t *d;
    json_array_foreach(devices, i, d)
    {
        if (g->collected && i < g->col->n &&
            json_object_set_new(d, "pci_address", json_string(g->col->gpu[i].pci_address)) != 0) {
            return false;
        }
    }
    return true;
}

/*
 * The run's verdict replaces the appraisal's: it passes only when the run did, and
 * names the gate's reason when the appraisal gave none (a step before or after it failed).
 * False when the verdict is missing or cannot be rewritten: the bundle is then not written.
 */
static bool set_run_verdict(const struct gate_state *g, json_t *verdict)
{
    const struct dga_gate_result *r = g->res;
    bool pass = r->err == DGA_E_OK;
    json_t *reasons = json_object_get(verdict, "reasons");
    if (reasons == NULL) {
        return false;
    }
    if (!pass && json_array_size(reasons) == 0 &&
        json_array_append_new(reasons, json_string(r->reason)) != 0) {
        return false;
    }
    return json_object_set_new(verdict, "pass", json_boolean(pass)) == 0 &&
           json_object_set_new(verdict, "result", json_string(pass ? "pass" : "fail")) == 0;
}

static json_t *verdict_of(const struct dga_verdict *v)
{
    json_t *reasons = json_array();
    for (size_t i = 0; reasons != NULL && i < v->n_reasons; i++) {
        if (json_array_append_new(reasons, json_string(v->reasons[i])) != 0) {
            json_decref(reasons);
            return NULL; /* json_pack below then fails: never a verdict short of a reason */
        }
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
    json_t *equivalent =
        g->rego_policy == NULL
            ? json_null()
            : json_pack("{s:s,s:o,s:o}", "path", g->rego_policy_path, "sha256",
                        sha_json(g->rego_policy_sha256), "verdict",
                        g->rego_verdict != NULL ? verdict_of(g->rego_verdict) : json_null());
    return json_pack("{s:o,s:o}", "sha256", sha_json(g->rego_sha256), "equivalent_policy",
                     equivalent);
}

/*
 * The mode the CC settings decided: "cc" or "ppcie"; "none" with no GPU; null when the CC
 * settings were not read or were refused.
 */
static json_t *mode_json(const struct gate_state *g)
{
    if (g->inventory_read && g->inv->n_gpus == 0) {
        return json_string("none");
    }
    if (!g->mode_decided) {
        return json_null();
    }
    return json_string(g->ppcie ? "ppcie" : "cc");
}

static json_t *gate_json(const struct gate_state *g)
{
    const struct dga_gate_result *r = g->res;
    return json_pack(
        "{s:o,s:b,s:s,s:o,s:s,s:o,s:o,s:s,s:I,s:b,s:b,s:b,s:s,s:s}", "mode", mode_json(g),
        "dry_run", g->opt->dry_run, "step",
        r->err == DGA_E_OK ? "passed" : dga_gate_step_name(r->step), "error",
        r->err == DGA_E_OK ? json_null() : json_string(dga_err_name(r->err)), "reason", r->reason,
        "inventory", inventory_json(g), "cc", cc_json(g), "driver_version",
        g->collected ? g->col->driver_version : "", "event_version",
        (json_int_t)g->cfg->event_version, "devtools_allowed", g->allow_devtools, "debug_allowed",
        dga_policy_allow_debug(g->policy), "insecure_boot_allowed",
        dga_policy_allow_insecure_boot(g->policy), "ocsp", dga_ocsp_mode_name(g->ocsp.mode),
        /* who emits gpu-policy-hash: the gate, or dstack-util (the same gpu_policy_sha256) */
        "policy_hash_event", g->cfg->policy_hash_by_dstack ? "dstack" : "emit");
}

/*
 * The JSON core of the appraised set (dga_set_appraisal_json, what `attest` prints),
 * extended with what the gate adds: bundle_version, the raw evidence, the gpu_policy,
 * the run's verdict, the PCI address of each device and the gate's own record.
 */
json_t *gate_bundle_json(const struct gate_state *g)
{
    struct dga_set_json_context c = {
        .policy = g->policy,
        .ocsp = &g->ocsp,
        .nonce = g->has_nonce ? g->nonce : NULL,
        .verified_at = g->at,
        .device_root = g->cfg->test_device_root != NULL ? "test" : "nvidia",
        .rim_root = "nvidia",
    };
    json_t *b = dga_set_appraisal_json(g->appraised ? g->ap : NULL, &c);
    if (b == NULL) {
        return NULL;
    }
    if (!add_pci_addresses(g, json_object_get(b, "devices")) ||
        !set_run_verdict(g, json_object_get(b, "verdict")) ||
        json_object_set_new(b, "bundle_version", json_integer(1)) != 0 ||
        json_object_set_new(b, "evidence", evidence_json(g)) != 0 ||
        json_object_set_new(b, "gpu_policy_sha256", sha_json(g->gpu_policy_sha256)) != 0 ||
        json_object_set_new(b, "gpu_policy_rego", rego_json(g)) != 0 ||
        json_object_set_new(b, "gate", gate_json(g)) != 0) {
        json_decref(b);
        return NULL;
    }
    return b;
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
    _cleanup_(json_decrefp) json_t *bundle = gate_bundle_json(g);
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
    if (EVP_Digest(text, len + 1, r->bundle_sha256, NULL, EVP_sha256(), NULL) != 1) {
        return DGA_E_INTERNAL;
    }
    if (g->opt->bundle_in_memory) {
        char *kept = realloc(text, len + 2); /* a NUL after the newline, not counted */
        if (kept == NULL) {
            return DGA_E_NOMEM;
        }
        text = NULL;
        kept[len + 1] = '\0';
        free(r->bundle);
        r->bundle_len = len + 1;
        r->bundle = kept;
        return DGA_E_OK;
    }
    const char *file = g->opt->bundle_file != NULL ? g->opt->bundle_file : DGA_GATE_BUNDLE_FILE;
    if (strchr(file, '/') != NULL ||
        (size_t)snprintf(r->bundle_path, sizeof r->bundle_path, "%s/%s", g->cfg->run_dir, file) >=
            sizeof r->bundle_path) {
        return DGA_E_IO;
    }
    dga_err e = write_atomically(g->cfg->run_dir, r->bundle_path, text, len + 1);
    r->bundle_written = e == DGA_E_OK;
    return e;
}
