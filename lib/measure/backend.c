/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Register backends from a spec string ("sim:PATH", "tdx", "tpm[:PCR[:BANK]]")
 * and the paths they use. Opening checks arguments only; the register is
 * touched when an event is emitted, so a missing device shows up there as a
 * named error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure/internal.h"
#include "measure/tss_api.h"

#define TDX_SYSFS_ENV_MAX 240 /* dstack: an absolute directory shorter than 240 characters */
#define TPM_PCR_MAX 23

void dga_event_backend_free(struct dga_event_backend *b)
{
    if (b == NULL) {
        return;
    }
    free(b->sim_path);
    free(b->log_dir);
    free(b->lock_path);
    free(b->tdx_sysfs_dir);
    free(b->tdx_device);
    free(b->tpm_tcti);
    free(b);
}

enum dga_hash_alg dga_event_backend_alg(const struct dga_event_backend *b)
{
    return b->alg;
}

/* strdup of s, or of fallback when s is NULL; false on allocation failure. */
static bool dup_or(char **dst, const char *s, const char *fallback)
{
    const char *v = s != NULL ? s : fallback;
    *dst = v != NULL ? strdup(v) : NULL;
    return v == NULL || *dst != NULL;
}

static dga_err tdx_sysfs_dir(const struct dga_event_paths *paths, char **ret, struct dga_diag *diag)
{
    const char *dir = paths->tdx_sysfs_dir;
    if (dir == NULL) {
        const char *env = getenv(DGA_TDX_RTMR_SYSFS_ENV);
        if (env != NULL && (env[0] != '/' || strlen(env) >= TDX_SYSFS_ENV_MAX)) {
            return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, DGA_TDX_RTMR_SYSFS_ENV);
        }
        dir = env;
    }
    return dup_or(ret, dir, DGA_TDX_RTMR_SYSFS_DIR) ? DGA_E_OK : DGA_E_NOMEM;
}

static dga_err set_paths(struct dga_event_backend *b, const struct dga_event_paths *paths,
                         struct dga_diag *diag)
{
    static const struct dga_event_paths none;
    if (paths == NULL) {
        paths = &none;
    }
    if (!dup_or(&b->log_dir, paths->log_dir, DGA_EVENT_LOG_DIR) ||
        !dup_or(&b->tdx_device, paths->tdx_device, DGA_TDX_DEVICE) ||
        !dup_or(&b->tpm_tcti, paths->tpm_tcti, NULL)) {
        return DGA_E_NOMEM;
    }
    if (paths->lock_path != NULL) {
        b->lock_path = strdup(paths->lock_path);
    } else if (asprintf(&b->lock_path, "%s/%s", b->log_dir, DGA_EVENT_LOCK_FILE) < 0) {
        b->lock_path = NULL;
    }
    if (b->lock_path == NULL) {
        return DGA_E_NOMEM;
    }
    return tdx_sysfs_dir(paths, &b->tdx_sysfs_dir, diag);
}

/* "14" -> 14: decimal, 0..23, nothing else. */
static bool parse_pcr(const char *s, size_t n, uint32_t *ret)
{
    uint32_t v = 0;
    if (n == 0 || n > 2) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    *ret = v;
    return v <= TPM_PCR_MAX;
}

/* After "tpm": "" | ":PCR" | ":PCR:BANK". */
static dga_err parse_tpm(const char *rest, struct dga_event_backend *b, struct dga_diag *diag)
{
    b->kind = BACKEND_TPM;
    b->pcr = DGA_TPM_DEFAULT_PCR;
    b->alg = DGA_HASH_SHA256;
    if (*rest == '\0') {
        return DGA_E_OK;
    }
    if (*rest != ':') {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "backend");
    }
    rest++;
    const char *colon = strchr(rest, ':');
    size_t n = colon != NULL ? (size_t)(colon - rest) : strlen(rest);
    if (!parse_pcr(rest, n, &b->pcr)) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "pcr");
    }
    if (colon == NULL) {
        return DGA_E_OK;
    }
    if (strcmp(colon + 1, "sha256") == 0) {
        b->alg = DGA_HASH_SHA256;
    } else if (strcmp(colon + 1, "sha384") == 0) {
        b->alg = DGA_HASH_SHA384;
    } else {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "bank");
    }
    return DGA_E_OK;
}

static dga_err parse_spec(const char *spec, struct dga_event_backend *b, struct dga_diag *diag)
{
    if (strncmp(spec, "sim:", 4) == 0) {
        b->kind = BACKEND_SIM;
        b->alg = DGA_HASH_SHA384;
        if (spec[4] == '\0') {
            return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "sim path");
        }
        b->sim_path = strdup(spec + 4);
        return b->sim_path != NULL ? DGA_E_OK : DGA_E_NOMEM;
    }
    if (strcmp(spec, "tdx") == 0) {
        b->kind = BACKEND_TDX;
        b->alg = DGA_HASH_SHA384;
        return DGA_E_OK;
    }
    if (strncmp(spec, "tpm", 3) == 0) {
        return parse_tpm(spec + 3, b, diag);
    }
    return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "backend");
}

dga_err dga_event_backend_open(const char *spec, const struct dga_event_paths *paths,
                               struct dga_event_backend **ret, struct dga_diag *diag)
{
    if (spec == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "backend");
    }
    struct dga_event_backend *b = calloc(1, sizeof *b);
    if (b == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = parse_spec(spec, b, diag);
    if (e == DGA_E_OK) {
        e = set_paths(b, paths, diag);
    }
    if (e == DGA_E_OK && b->kind == BACKEND_TPM) {
        e = tss_api_load(NULL, diag); /* a missing tpm2-tss fails here, before any event */
    }
    if (e != DGA_E_OK) {
        dga_event_backend_free(b);
        return e;
    }
    *ret = b;
    return DGA_E_OK;
}

dga_err dga_event_backend_read(const struct dga_event_backend *b, uint8_t *out,
                               struct dga_diag *diag)
{
    switch (b->kind) {
    case BACKEND_SIM:
        return sim_read(b, out, diag);
    case BACKEND_TPM:
        return tpm_read(b, out, diag);
    case BACKEND_TDX:
        break;
    }
    return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "backend");
}

dga_err register_errno(int err)
{
    switch (err) {
    case EPERM:
    case EACCES:
        return DGA_E_REGISTER_PERMISSION;
    case ENOENT:
    case ENODEV:
    case ENXIO:
        return DGA_E_REGISTER_UNAVAILABLE;
    default:
        return DGA_E_REGISTER_EXTEND;
    }
}
