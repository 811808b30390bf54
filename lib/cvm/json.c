/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verdict as a relying party reads it (docs/verify.md, Output): a JSON
 * superset of dstack-verifier's VerificationResponse, so a client of
 * dstack's verifier reads ours unchanged, with this project's checks, quote
 * outcome, GPU facts and the BootInfo a GPU-aware KMS would forward; and a
 * one-line-per-check text view. Byte values are lowercase hex, as dstack's
 * serde-human-bytes writes them.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "dga/cvm.h"
#include "dga/util.h"

/* Sets key to v; a NULL v (out of memory) or a failed set clears *ok. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (o == NULL || v == NULL || json_object_set_new(o, key, v) != 0) {
        *ok = false;
    }
}

static json_t *hex_if(bool has, const uint8_t *p, size_t n)
{
    return has ? hex_json(p, n) : json_null();
}

/*
 * A string that may hold the CVM's bytes (an event name in a detail, cut at a
 * byte count, can end inside a UTF-8 sequence): as it is when it is UTF-8,
 * else with every byte past ASCII replaced by '?', so that the verdict is
 * still written. NULL only when out of memory.
 */
static json_t *text(const char *s)
{
    json_t *j = json_string(s);
    if (j != NULL) {
        return j;
    }
    char *copy = strdup(s);
    if (copy == NULL) {
        return NULL;
    }
    for (char *c = copy; *c != '\0'; c++) {
        *c = (unsigned char)*c >= 0x80 ? '?' : *c;
    }
    j = json_string(copy);
    free(copy);
    return j;
}

/* "" (a value that was not read) is null. */
static json_t *str_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? text(s) : json_null();
}

static json_t *time_json(time_t t)
{
    char when[21];
    dga_time_format(t, when);
    return json_string(when);
}

static json_t *ids_json(const struct dga_tcb_result *t)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && t != NULL && i < t->n_advisories; i++) {
        if (json_array_append_new(a, json_string(t->advisory_ids[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static const struct dga_tcb_result *tcb_of(const struct dga_cvm_run *r)
{
    return r->quote.verified ? &r->quote.verdict.status : NULL;
}

/* ---- dstack's keys ---------------------------------------------------------------------------
 */

static json_t *init_scripts_json(const struct dga_cvm_result *res)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < res->n_init_scripts; i++) {
        if (json_array_append_new(a, hex_json(res->init_script_hashes[i], 32)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* dstack's AppInfo: the values derived from the quote and the events up to system-ready. */
static json_t *app_info_json(const struct dga_cvm_result *res, bool *ok)
{
    json_t *o = json_object();
    put(o, "app_id", hex_json(res->app_id, sizeof res->app_id), ok);
    put(o, "compose_hash", hex_json(res->compose_hash, sizeof res->compose_hash), ok);
    put(o, "instance_id", hex_json(res->instance_id, res->instance_id_len), ok);
    put(o, "device_id", hex_json(res->device_id, sizeof res->device_id), ok);
    put(o, "mr_system", hex_json(res->mr_system, sizeof res->mr_system), ok);
    put(o, "mr_aggregated", hex_json(res->mr_aggregated, sizeof res->mr_aggregated), ok);
    put(o, "os_image_hash", hex_json(res->os_image_hash, res->has_os_image_hash ? 32 : 0), ok);
    put(o, "key_provider_info", hex_json(res->key_provider_info, res->key_provider_info_len), ok);
    put(o, "init_script_hashes", init_scripts_json(res), ok);
    return o;
}

static json_t *key_provider_json(const struct dga_cvm_result *res)
{
    const char *id = res->key_provider_id != NULL ? res->key_provider_id : "";
    return json_pack("{s:o,s:o}", "name", text(res->key_provider_name), "id", text(id));
}

/* dstack's PolicyBootInfo (camelCase, what its KMS posts to the webhook) and the GPU fields. */
static json_t *boot_info_json(const struct dga_cvm_run *r, bool *ok)
{
    const struct dga_cvm_result *res = &r->result;
    const struct dga_tcb_result *t = tcb_of(r);
    json_t *o = json_object();
    put(o, "teeVariant", json_string("dstack-tdx"), ok);
    put(o, "mrAggregated", hex_json(res->mr_aggregated, 32), ok);
    put(o, "osImageHash", hex_json(res->os_image_hash, res->has_os_image_hash ? 32 : 0), ok);
    put(o, "mrSystem", hex_json(res->mr_system, 32), ok);
    put(o, "appId", hex_json(res->app_id, sizeof res->app_id), ok);
    put(o, "composeHash", hex_json(res->compose_hash, sizeof res->compose_hash), ok);
    put(o, "instanceId", hex_json(res->instance_id, res->instance_id_len), ok);
    put(o, "deviceId", hex_json(res->device_id, sizeof res->device_id), ok);
    put(o, "keyProviderInfo", hex_json(res->key_provider_info, res->key_provider_info_len), ok);
    put(o, "tcbStatus", json_string(t != NULL ? dga_tcb_status_name(t->status) : ""), ok);
    put(o, "advisoryIds", ids_json(t), ok);
    /* Absent events, absent fields: the KMS webhook then says the KMS did not forward them. */
    if (res->has_gpu_policy_hash) {
        put(o, "gpuPolicyHash", hex_json(res->gpu_policy_hash, 32), ok);
    }
    /*
     * Only a payload that parsed (so JSON text: UTF-8, no NUL, the copy exact);
     * one that does not is named by the gpu-attestation check, not forwarded.
     */
    if (res->has_gpu_event) {
        put(o, "gpuAttestation", json_string(res->gpu_event_payload), ok);
    }
    return o;
}

/* ---- ours ------------------------------------------------------------------------------------
 */

static json_t *checks_json(const struct dga_cvm_result *res, bool *ok)
{
    json_t *a = json_array();
    for (int c = 0; c < (int)DGA_CVM_CHECK__COUNT; c++) {
        const struct dga_cvm_check *k = &res->checks[c];
        json_t *o = json_object();
        put(o, "name", json_string(dga_cvm_check_name((enum dga_cvm_check_id)c)), ok);
        put(o, "status", json_string(dga_cvm_status_name(k->status)), ok);
        put(o, "error", k->status == DGA_CVM_FAIL ? json_string(dga_err_name(k->err)) : json_null(),
            ok);
        put(o, "detail", text(k->detail), ok);
        if (a == NULL || o == NULL || json_array_append_new(a, o) != 0) {
            *ok = false;
        }
    }
    return a;
}

static json_t *status_json(const struct dga_tcb_result *t)
{
    return json_pack("{s:s,s:o}", "status", dga_tcb_status_name(t->status), "advisory_ids",
                     ids_json(t));
}

/* The quote layer's named error, for a quote that did not verify. */
static void quote_error_json(json_t *o, const struct dga_cvm_quote_outcome *q, bool *ok)
{
    put(o, "error", json_string(dga_err_name(q->err)), ok);
    put(o, "message", json_string(dga_err_message(q->err)), ok);
    put(o, "field", text(q->field), ok);
}

/* The status pieces of a quote that verified. */
static void quote_status_json(json_t *o, const struct dga_quote_verdict *v, bool *ok)
{
    char fmspc[13];
    dga_hex_encode_upper(v->pck.fmspc, sizeof v->pck.fmspc, fmspc);
    put(o, "status", json_string(dga_tcb_status_name(v->status.status)), ok);
    put(o, "advisory_ids", ids_json(&v->status), ok);
    put(o, "qe_status", status_json(&v->qe), ok);
    put(o, "platform_status", status_json(&v->platform), ok);
    put(o, "fmspc", json_string(fmspc), ok);
    put(o, "pck_ca", json_string(v->pck.processor_ca ? "processor" : "platform"), ok);
}

/*
 * The quote layer's outcome: its status pieces when verified, its named error
 * when not; last, the custom root's name when the run was given one.
 */
static json_t *quote_json(const struct dga_cvm_run *r, bool *ok)
{
    const struct dga_cvm_quote_outcome *q = &r->quote;
    json_t *o = json_object();
    put(o, "parsed", json_boolean(q->parsed), ok);
    put(o, "verified", json_boolean(q->verified), ok);
    put(o, "custom_root", json_boolean(r->custom_root), ok);
    if (q->verified) {
        quote_status_json(o, &q->verdict, ok);
    } else {
        quote_error_json(o, q, ok);
    }
    if (r->trusted_root[0] != '\0') {
        put(o, "trusted_root", text(r->trusted_root), ok);
    }
    return o;
}

static json_t *device_json(const struct dga_cvm_gpu_device *d)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o}", "label", text(d->label), "arch",
                     text(d->arch), "ueid", str_or_null(d->ueid), "driver_version",
                     str_or_null(d->driver_version), "vbios_version", str_or_null(d->vbios_version),
                     "measres", str_or_null(d->measres), "pass", d->pass, "failed_check",
                     str_or_null(d->failed_check), "error",
                     d->pass ? json_null() : json_string(dga_err_name(d->err)));
}

static json_t *devices_json(const struct dga_cvm_reappraisal *a, bool *ok)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < a->n_devices; i++) {
        json_t *d = device_json(&a->devices[i]);
        if (arr == NULL || d == NULL || json_array_append_new(arr, d) != 0) {
            *ok = false;
        }
    }
    return arr;
}

/* PPCIe: the re-appraisal's topology outcome and its first finding; null when not checked. */
static json_t *topology_json(const struct dga_cvm_reappraisal *a)
{
    if (!a->topology_checked) {
        return json_null();
    }
    return json_pack("{s:s,s:I,s:I,s:o,s:o}", "result", a->topology_pass ? "pass" : "fail", "gpus",
                     (json_int_t)a->gpus, "nvswitches", (json_int_t)a->nvswitches, "error",
                     a->topology_pass ? json_null() : json_string(dga_err_name(a->topology_err)),
                     "finding", str_or_null(a->topology_finding));
}

static json_t *gpu_json(const struct dga_cvm_run *r, bool *ok)
{
    const struct dga_cvm_result *res = &r->result;
    const struct dga_cvm_reappraisal *a = &res->reappraisal;
    json_t *o = json_object();
    put(o, "required", json_boolean(r->gpu_required), ok);
    put(o, "verified", json_boolean(res->gpu_verified), ok);
    put(o, "devices", devices_json(a, ok), ok);
    put(o, "mode", str_or_null(a->mode), ok);
    put(o, "topology", topology_json(a), ok);
    /* Parsed strictly already (dga_cvm_gpu_payload_parse): the measured members, as measured. */
    json_t *payload = res->has_gpu_event
                          ? json_loads(res->gpu_event_payload, JSON_REJECT_DUPLICATES, NULL)
                          : json_null();
    put(o, "payload", payload != NULL ? payload : json_null(), ok);
    put(o, "evidence_sha256", hex_if(res->has_gpu_event, res->gpu.evidence_sha256, 32), ok);
    put(o, "bundle_sha256", hex_if(r->has_bundle, r->bundle_sha256, 32), ok);
    put(o, "reappraised_at", a->ran ? time_json(a->at) : json_null(), ok);
    put(o, "policy_sha256", hex_if(a->ran, a->policy_sha256, 32), ok);
    put(o, "gpu_policy_hash", hex_if(res->has_gpu_policy_hash, res->gpu_policy_hash, 32), ok);
    return o;
}

/* ---- the response ----------------------------------------------------------------------------
 */

static bool passed(const struct dga_cvm_result *res, enum dga_cvm_check_id c)
{
    return res->checks[c].status == DGA_CVM_PASS;
}

static json_t *details_json(const struct dga_cvm_run *r, bool *ok)
{
    const struct dga_cvm_result *res = &r->result;
    const struct dga_tcb_result *t = tcb_of(r);
    json_t *o = json_object();
    put(o, "quote_verified", json_boolean(res->quote_verified), ok);
    put(o, "event_log_verified", json_boolean(res->event_log_verified), ok);
    /* Only pinned registers bind an image here (no image is measured): both checks passed. */
    put(o, "os_image_hash_verified",
        json_boolean(passed(res, DGA_CVM_CHECK_OS_IMAGE) && passed(res, DGA_CVM_CHECK_REGISTERS)),
        ok);
    put(o, "acpi_tables_verified", json_false(), ok);
    put(o, "os_image_is_dev", json_null(), ok);
    put(o, "os_image_version", json_null(), ok);
    put(o, "tee_variant", r->quote.parsed ? json_string("dstack-tdx") : json_null(), ok);
    put(o, "report_data", hex_if(r->quote.verified, r->quote.td.report_data, 64), ok);
    put(o, "tcb_status", t != NULL ? json_string(dga_tcb_status_name(t->status)) : json_null(), ok);
    put(o, "advisory_ids", ids_json(t), ok);
    put(o, "key_provider", res->has_app_info ? key_provider_json(res) : json_null(), ok);
    put(o, "app_info", res->has_app_info ? app_info_json(res, ok) : json_null(), ok);
    if (res->has_app_info) {
        put(o, "boot_info", boot_info_json(r, ok), ok);
    }
    put(o, "checks", checks_json(res, ok), ok);
    put(o, "quote", quote_json(r, ok), ok);
    put(o, "gpu", gpu_json(r, ok), ok);
    return o;
}

json_t *dga_cvm_run_json(const struct dga_cvm_run *r)
{
    if (r == NULL) {
        return NULL;
    }
    bool ok = true;
    json_t *o = json_object();
    put(o, "is_valid", json_boolean(r->result.valid), &ok);
    put(o, "reason", r->result.valid ? json_null() : text(r->result.reason), &ok);
    put(o, "details", details_json(r, &ok), &ok);
    put(o, "expectations_sha256", hex_json(r->expectations_sha256, 32), &ok);
    put(o, "verified_at", time_json(r->at), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- the text view ---------------------------------------------------------------------------
 */

char *dga_cvm_run_text(const struct dga_cvm_run *r)
{
    if (r == NULL) {
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL) {
        return NULL;
    }
    for (int c = 0; c < (int)DGA_CVM_CHECK__COUNT; c++) {
        const struct dga_cvm_check *k = &r->result.checks[c];
        fprintf(f, "%s %s", dga_cvm_status_name(k->status),
                dga_cvm_check_name((enum dga_cvm_check_id)c));
        if (k->status == DGA_CVM_FAIL) {
            fprintf(f, ": %s", dga_err_name(k->err));
        }
        fprintf(f, "%s%s\n", k->detail[0] != '\0' ? ": " : "", k->detail);
    }
    if (r->result.valid) {
        fprintf(f, "valid\n");
    } else {
        fprintf(f, "invalid: %s\n", r->result.reason);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
