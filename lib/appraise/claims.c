/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Report-level claims with NVIDIA claims v3 key names
 * (docs/formats.md §11). GPU keys use "x-nvidia-gpu-",
 * NVSwitch keys "x-nvidia-switch-". Values that could not be established
 * (a check that could not run) are false or null, never a guess. A claim
 * that cannot be built (memory) fails the whole object: never one missing.
 */
#include <stdio.h>

#include "core/json.h"
#include "dga/appraise.h"
#include "dga/util.h"
#include "dga/verify.h"

static json_t *string_or_null(bool have, const char *s)
{
    return have ? json_string(s) : json_null();
}

enum dga_cert_status dga_cert_status_of(bool verified, bool time_valid)
{
    if (!verified) {
        return DGA_CERT_STATUS_INVALID;
    }
    return time_valid ? DGA_CERT_STATUS_VALID : DGA_CERT_STATUS_EXPIRED;
}

const char *dga_cert_status_name(enum dga_cert_status s)
{
    switch (s) {
    case DGA_CERT_STATUS_INVALID:
        return "invalid";
    case DGA_CERT_STATUS_VALID:
        return "valid";
    case DGA_CERT_STATUS_EXPIRED:
        return "expired";
    }
    return "unknown";
}

/*
 * The nested certificate-chain object (docs/formats.md §11), with the
 * chain's OCSP outcome (docs/revocation.md). NULL ocsp (report-level claims,
 * which know nothing of revocation) reads as not checked. Beside NVIDIA's
 * keys, x-dstack-cert-ocsp-source says where the responses came from
 * ("online", "cache", "bundle", "not-checked"), x-dstack-cert-ocsp-max-age
 * the maximum age they were held to (seconds; 0 = unlimited) and
 * x-dstack-cert-ocsp-error the first failed check (an error name) or null.
 */
static json_t *chain_object(bool verified, bool time_valid, const char *expiration_date,
                            const struct dga_ocsp_chain_result *ocsp)
{
    const char *status = dga_cert_status_name(dga_cert_status_of(verified, time_valid));
    bool checked = ocsp != NULL && ocsp->checked;
    const char *ocsp_status =
        dga_ocsp_chain_status_name(checked ? ocsp->status : DGA_OCSP_CHAIN_NOT_CHECKED);
    json_t *o =
        json_pack("{s:o,s:s,s:s,s:o,s:b,s:b,s:s}", "x-nvidia-cert-expiration-date",
                  string_or_null(verified, expiration_date), "x-nvidia-cert-status", status,
                  "x-nvidia-cert-ocsp-status", ocsp_status, "x-nvidia-cert-revocation-reason",
                  string_or_null(checked && ocsp->reason[0] != '\0', checked ? ocsp->reason : ""),
                  "x-nvidia-cert-ocsp-nonce-matches", checked && ocsp->nonce_matches,
                  "x-nvidia-cert-ocsp-response-valid", checked && ocsp->response_valid,
                  "x-dstack-cert-ocsp-source",
                  dga_ocsp_origin_name(checked ? ocsp->origin : DGA_OCSP_ORIGIN_NONE));
    dga_err e = DGA_E_OK;
    if (o != NULL && checked) {
        json_put(o, "x-dstack-cert-ocsp-max-age", json_integer(ocsp->max_age), &e);
        json_put(o, "x-dstack-cert-ocsp-error",
                 ocsp->err != DGA_E_OK ? json_string(dga_err_name(ocsp->err)) : json_null(), &e);
    }
    if (e != DGA_E_OK) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *chain_claims(const struct dga_device_result *r)
{
    return chain_object(r->chain_verified, r->time_valid, r->chain.expiration_date, NULL);
}

static json_t *pdi_list(const struct dga_derived *d)
{
    dga_err e = DGA_E_OK;
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < d->n_pdis; i++) {
        json_push(a, json_string(d->pdis[i]), &e);
    }
    if (e != DGA_E_OK) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* Sets "<prefix><suffix>" = v, as json_put sets a member. */
static void set_prefixed(json_t *o, const char *prefix, const char *suffix, json_t *v, dga_err *e)
{
    char key[96];
    snprintf(key, sizeof key, "%s%s", prefix, suffix);
    json_put(o, key, v, e);
}

static void report_checks(json_t *o, const char *p, const struct dga_device_result *r, dga_err *e)
{
    set_prefixed(o, p, "attestation-report-parsed", json_boolean(r->parsed), e);
    set_prefixed(o, p, "attestation-report-nonce-match", json_boolean(r->nonce_match), e);
    set_prefixed(o, p, "attestation-report-signature-verified", json_boolean(r->signature_verified),
                 e);
    set_prefixed(o, p, "attestation-report-cert-chain", chain_claims(r), e);
    set_prefixed(o, p, "attestation-report-cert-chain-fwid-match", json_boolean(r->fwid_match), e);
}

static void common_claims(json_t *o, const struct dga_device_result *r, dga_err *e)
{
    char nonce[2 * DGA_NONCE_LEN + 1];
    dga_hex_encode(r->report.nonce, DGA_NONCE_LEN, nonce);
    json_put(o, "eat_nonce", string_or_null(r->parsed, nonce), e);
    json_put(o, "hwmodel", string_or_null(r->chain_verified, r->chain.hwmodel), e);
    json_put(o, "ueid", string_or_null(r->chain_verified, r->chain.ueid), e);
}

static void gpu_claims(json_t *o, const struct dga_device_result *r, dga_err *e)
{
    const char *p = "x-nvidia-gpu-";
    json_put(o, "x-nvidia-device-type", json_string("gpu"), e);
    json_put(o, "x-nvidia-gpu-claims-version", json_string("3.0"), e);
    json_put(o, "x-nvidia-gpu-arch-check", json_boolean(r->chain_verified), e);
    json_put(o, "x-nvidia-gpu-driver-version", string_or_null(r->parsed, r->derived.driver_version),
             e);
    json_put(o, "x-nvidia-gpu-vbios-version", string_or_null(r->parsed, r->derived.vbios_version),
             e);
    if (r->parsed && r->derived.has_pdis) {
        json_put(o, "x-nvidia-gpu-switch-pdis", pdi_list(&r->derived), e);
    }
    report_checks(o, p, r, e);
}

static void switch_claims(json_t *o, const struct dga_device_result *r, dga_err *e)
{
    const char *p = "x-nvidia-switch-";
    json_put(o, "x-nvidia-device-type", json_string("nvswitch"), e);
    json_put(o, "x-nvidia-version", json_string("3.0"), e);
    json_put(o, "x-nvidia-switch-arch-check", json_boolean(r->chain_verified), e);
    json_put(o, "x-nvidia-switch-bios-version", string_or_null(r->parsed, r->derived.vbios_version),
             e);
    if (r->parsed && r->derived.has_own_pdi) {
        json_put(o, "x-nvidia-switch-pdi", json_string(r->derived.own_pdi), e);
    }
    if (r->parsed && r->derived.has_pdis) {
        json_put(o, "x-nvidia-switch-gpu-pdis", pdi_list(&r->derived), e);
    }
    report_checks(o, p, r, e);
}

/* The report-level claims into o; *e says whether every one was set. */
static void report_level(json_t *o, const struct dga_device_result *r, dga_err *e)
{
    common_claims(o, r, e);
    if (dga_arch_is_switch(r->arch)) {
        switch_claims(o, r, e);
    } else {
        gpu_claims(o, r, e);
    }
}

/* o when every claim was set; else NULL, o released. */
static json_t *complete(json_t *o, dga_err e)
{
    if (e != DGA_E_OK) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *dga_claims_report_level(const struct dga_device_result *r)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    dga_err e = DGA_E_OK;
    report_level(o, r, &e);
    return complete(o, e);
}

/* ---- full claims of an appraised device ---- */

static const char *measres(const struct dga_appraisal *a)
{
    if (!a->measured) {
        return "not-run";
    }
    return a->measure.n_mismatches == 0 ? "success" : "fail";
}

/* x-nvidia-<kind>-<role>-{fetched,cert-chain,signature-verified,version-match,measurements-available}
 */
static void rim_claims(json_t *o, const char *prefix, const char *role, const struct dga_rim_use *u,
                       dga_err *e)
{
    char p[64];
    snprintf(p, sizeof p, "%s%s-", prefix, role);
    set_prefixed(o, p, "fetched", json_boolean(u->fetched), e);
    set_prefixed(o, p, "cert-chain",
                 chain_object(u->chain_verified, u->time_valid, u->chain.expiration_date, &u->ocsp),
                 e);
    set_prefixed(o, p, "signature-verified", json_boolean(u->signature_verified), e);
    set_prefixed(o, p, "version-match", json_boolean(u->version_match), e);
    set_prefixed(o, p, "measurements-available", json_boolean(u->rim != NULL && u->err == DGA_E_OK),
                 e);
}

/* measres and what NVIDIA derives from it (secboot, dbgstat), and the mismatch records. */
static void measurement_claims(json_t *o, const struct dga_appraisal *a, dga_err *e)
{
    bool success = a->measured && a->measure.n_mismatches == 0;
    json_put(o, "measres", json_string(measres(a)), e);
    json_put(o, "secboot", success ? json_true() : json_null(), e);
    json_put(o, "dbgstat", success ? json_string("disabled") : json_null(), e);
    json_put(o, "x-nvidia-mismatch-measurement-records",
             a->measured ? dga_mismatch_records_json(&a->measure) : json_null(), e);
}

/* The GPU's RIM claims and what only a GPU has. */
static void gpu_rim_claims(json_t *o, const struct dga_appraisal *a, dga_err *e)
{
    bool have_driver = a->driver.rim != NULL && a->driver.err == DGA_E_OK;
    json_put(o, "oemid",
             string_or_null(have_driver, have_driver ? a->driver.rim->manufacturer_id : ""), e);
    rim_claims(o, "x-nvidia-gpu-", "driver-rim", &a->driver, e);
    rim_claims(o, "x-nvidia-gpu-", "vbios-rim", &a->firmware, e);
    json_put(o, "x-nvidia-gpu-vbios-index-no-conflict",
             json_boolean(a->measure_err != DGA_E_RIM_CONFLICT && a->measured), e);
    /* Not an NVIDIA claim (libnvat computes the mode but does not serialize it). */
    json_put(o, "x-dstack-gpu-mode",
             json_string(a->report.parsed ? dga_gpu_mode_name(a->report.derived.mode) : "unknown"),
             e);
}

json_t *dga_claims_device(const struct dga_appraisal *a)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    dga_err e = DGA_E_OK;
    const struct dga_device_result *r = &a->report;
    bool sw = dga_arch_is_switch(r->arch);
    report_level(o, r, &e);
    measurement_claims(o, a, &e);
    /* the report's chain again, now with its OCSP outcome */
    set_prefixed(o, sw ? "x-nvidia-switch-" : "x-nvidia-gpu-", "attestation-report-cert-chain",
                 chain_object(r->chain_verified, r->time_valid, r->chain.expiration_date, &a->ocsp),
                 &e);
    if (sw) {
        rim_claims(o, "x-nvidia-switch-", "bios-rim", &a->firmware, &e);
    } else {
        gpu_rim_claims(o, a, &e);
    }
    return complete(o, e);
}
