/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request: dstack's BootInfo as auth-simple's schema reads it (six
 * required strings, three optional strings, an optional array of strings,
 * every other key ignored), with duplicate keys refused. The two GPU fields
 * are only kept here; their form is judged by a GPU rule that reads them, so
 * that without one the answer stays auth-simple's.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "core/cleanup.h"
#include "kms/internal.h"

static dga_err required_string(json_t *o, const char *key, const char **ret, struct dga_diag *diag)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (s == NULL) {
        return dga_diag_set(diag, DGA_E_KMS_REQUEST, 0, key);
    }
    *ret = s;
    return DGA_E_OK;
}

/* An optional string: absent is dflt; null or another type is refused, as zod refuses it. */
static dga_err optional_string(json_t *o, const char *key, const char *dflt, const char **ret,
                               struct dga_diag *diag)
{
    json_t *v = json_object_get(o, key);
    if (v != NULL && !json_is_string(v)) {
        return dga_diag_set(diag, DGA_E_KMS_REQUEST, 0, key);
    }
    *ret = v != NULL ? json_string_value(v) : dflt;
    return DGA_E_OK;
}

static dga_err advisories(json_t *o, json_t **ret, struct dga_diag *diag)
{
    json_t *v = json_object_get(o, "advisoryIds");
    if (v == NULL) {
        *ret = NULL;
        return DGA_E_OK;
    }
    if (!json_is_array(v)) {
        return dga_diag_set(diag, DGA_E_KMS_REQUEST, 0, "advisoryIds");
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (!json_is_string(json_array_get(v, i))) {
            return dga_diag_set(diag, DGA_E_KMS_REQUEST, i, "advisoryIds");
        }
    }
    *ret = v;
    return DGA_E_OK;
}

/* A field a GPU-aware KMS adds: null is "not forwarded" (an Option serialised as null). */
static enum dga_kms_field gpu_field(json_t *o, const char *key, const char **ret, size_t *ret_len)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v)) {
        return DGA_KMS_FIELD_ABSENT;
    }
    if (!json_is_string(v)) {
        return DGA_KMS_FIELD_NOT_STRING;
    }
    *ret = json_string_value(v);
    if (ret_len != NULL) {
        *ret_len = json_string_length(v);
    }
    return DGA_KMS_FIELD_STRING;
}

static dga_err fields(json_t *o, struct dga_kms_boot_info *b, struct dga_diag *diag)
{
    const char *unused = NULL;
    dga_err e = required_string(o, "mrAggregated", &b->mr_aggregated, diag);
    if (e == DGA_E_OK) {
        e = required_string(o, "osImageHash", &b->os_image_hash, diag);
    }
    if (e == DGA_E_OK) {
        e = required_string(o, "appId", &b->app_id, diag);
    }
    if (e == DGA_E_OK) {
        e = required_string(o, "composeHash", &b->compose_hash, diag);
    }
    if (e == DGA_E_OK) {
        e = required_string(o, "instanceId", &b->instance_id, diag);
    }
    if (e == DGA_E_OK) {
        e = required_string(o, "deviceId", &b->device_id, diag);
    }
    if (e == DGA_E_OK) {
        e = optional_string(o, "tcbStatus", "", &b->tcb_status, diag);
    }
    if (e == DGA_E_OK) {
        e = optional_string(o, "mrSystem", "", &unused, diag);
    }
    if (e == DGA_E_OK) {
        e = optional_string(o, "attestationMode", "", &unused, diag);
    }
    if (e == DGA_E_OK) {
        e = advisories(o, &b->advisory_ids, diag);
    }
    if (e != DGA_E_OK) {
        return e;
    }
    b->gpu_policy_hash_kind = gpu_field(o, "gpuPolicyHash", &b->gpu_policy_hash, NULL);
    b->gpu_attestation_kind =
        gpu_field(o, "gpuAttestation", &b->gpu_attestation, &b->gpu_attestation_len);
    return DGA_E_OK;
}

static void explain(const struct dga_diag *d, char *msg, size_t msg_len)
{
    if (msg == NULL || msg_len == 0) {
        return;
    }
    const char *f = d->field != NULL ? d->field : "body";
    if (strcmp(f, "body") == 0) {
        snprintf(msg, msg_len, "the body is not one JSON object without duplicate keys");
    } else if (strcmp(f, "advisoryIds") == 0) {
        snprintf(msg, msg_len, "advisoryIds must be an array of strings");
    } else {
        snprintf(msg, msg_len, "%s must be a string", f);
    }
}

dga_err dga_kms_boot_info_parse(const uint8_t *body, size_t len, struct dga_kms_boot_info *ret,
                                struct dga_diag *diag, char *msg, size_t msg_len)
{
    struct dga_diag d = {0};
    dga_err e = DGA_E_OK;
    _cleanup_(json_decrefp) json_t *o = NULL;
    if (body == NULL || len > DGA_KMS_REQUEST_MAX) {
        e = dga_diag_set(&d, DGA_E_KMS_REQUEST, 0, "body");
    } else {
        o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
        e = json_is_object(o) ? DGA_E_OK : dga_diag_set(&d, DGA_E_KMS_REQUEST, 0, "body");
    }
    struct dga_kms_boot_info b = {0};
    if (e == DGA_E_OK) {
        e = fields(o, &b, &d);
    }
    if (e != DGA_E_OK) {
        explain(&d, msg, msg_len);
        if (diag != NULL) {
            *diag = d;
        }
        return e;
    }
    b.doc = TAKE_PTR(o);
    *ret = b;
    return DGA_E_OK;
}

void dga_kms_boot_info_clear(struct dga_kms_boot_info *b)
{
    if (b == NULL) {
        return;
    }
    json_decref(b->doc);
    *b = (struct dga_kms_boot_info){0};
}
