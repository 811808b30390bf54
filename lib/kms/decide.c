/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The decision: auth-simple's checks in auth-simple's order with its reason
 * strings (TCB status, advisories, OS image; then for /bootAuth/kms the
 * aggregated MR, for /bootAuth/app the app and its compose hash; then the
 * device), then the endpoint's GPU rule when one is configured, in the order
 * the relying-party verifier checks the same event (docs/verify.md): the
 * payload, its counts, cc_mode, devtools, trust roots, then the policy hash.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dga/util.h"
#include "kms/internal.h"

static const char *const check_names[] = {
#define DGA_X_KMS_CHECK(id, name) name,
    DGA_KMS_CHECKS(DGA_X_KMS_CHECK)
#undef DGA_X_KMS_CHECK
};

const char *dga_kms_check_name(enum dga_kms_check c)
{
    return (unsigned)c < DGA_KMS_CHECK__COUNT ? check_names[c] : "unknown";
}

/* Records a denial; returns false so a check reads `return deny(...)`. */
__attribute__((format(printf, 3, 4))) static bool deny(struct dga_kms_decision *d,
                                                       enum dga_kms_check c, const char *fmt, ...)
{
    d->allowed = false;
    d->check = c;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason, sizeof d->reason, fmt, ap);
    va_end(ap);
    return false;
}

/* ---- auth-simple's checks ---------------------------------------------------------------- */

static bool common_checks(const struct dga_kms_config *c, const struct dga_kms_boot_info *b,
                          struct dga_kms_decision *d)
{
    if (!kms_listed(&c->tcb_statuses, b->tcb_status)) {
        return deny(d, DGA_KMS_CHECK_TCB_STATUS, "TCB status is not allowed");
    }
    for (size_t i = 0; i < json_array_size(b->advisory_ids); i++) {
        if (!kms_listed(&c->advisory_ids, json_string_value(json_array_get(b->advisory_ids, i)))) {
            return deny(d, DGA_KMS_CHECK_ADVISORY, "advisory ID is not allowed");
        }
    }
    if (!kms_hex_listed(&c->os_images, b->os_image_hash)) {
        return deny(d, DGA_KMS_CHECK_OS_IMAGE, "OS image is not allowed");
    }
    return true;
}

/* An empty list allows any device, as does allowAnyDevice (auth-simple's rule). */
static bool device_allowed(const struct dga_kms_device_rule *r, const char *device_id)
{
    return r->allow_any || r->devices.n == 0 || kms_hex_listed(&r->devices, device_id);
}

static const struct dga_kms_app *find_app(const struct dga_kms_config *c, const char *app_id)
{
    for (size_t i = 0; i < c->n_apps; i++) {
        if (kms_hex_eq(c->apps[i].id, app_id)) {
            return &c->apps[i];
        }
    }
    return NULL;
}

/* ---- the GPU rule ------------------------------------------------------------------------ */

static bool count_ok(const struct dga_cvm_count *c, unsigned n)
{
    return c->kind == DGA_CVM_COUNT_ANY || (c->kind == DGA_CVM_COUNT_EXACT && n == c->n) ||
           (c->kind == DGA_CVM_COUNT_MIN && n >= c->n);
}

static const char *count_word(const struct dga_cvm_count *c)
{
    return c->kind == DGA_CVM_COUNT_EXACT ? "exactly" : "at least";
}

/* The fields are there when the rule needs them. */
static bool gpu_forwarded(const struct dga_kms_gpu_rule *g, const struct dga_kms_boot_info *b,
                          struct dga_kms_decision *d)
{
    static const char *const why = " (a GPU-aware KMS adds it to BootInfo; see docs/kms.md)";
    if (g->required && b->gpu_attestation_kind == DGA_KMS_FIELD_ABSENT) {
        return deny(d, DGA_KMS_CHECK_GPU_FORWARDED,
                    "GPU attestation is required but the KMS did not forward gpuAttestation%s",
                    why);
    }
    if ((g->required || g->n_policy_hashes > 0) &&
        b->gpu_policy_hash_kind == DGA_KMS_FIELD_ABSENT) {
        return deny(d, DGA_KMS_CHECK_GPU_FORWARDED,
                    "GPU rules need the GPU policy hash but the KMS did not forward "
                    "gpuPolicyHash%s",
                    why);
    }
    if (b->gpu_attestation_kind == DGA_KMS_FIELD_NOT_STRING) {
        return deny(d, DGA_KMS_CHECK_GPU_PAYLOAD, "gpuAttestation is not a string");
    }
    if (b->gpu_policy_hash_kind == DGA_KMS_FIELD_NOT_STRING) {
        return deny(d, DGA_KMS_CHECK_GPU_POLICY_HASH, "gpuPolicyHash is not a string");
    }
    return true;
}

static const char *mode_name(enum dga_kms_gpu_mode m)
{
    return m == DGA_KMS_GPU_MODE_PPCIE ? "ppcie" : m == DGA_KMS_GPU_MODE_ANY ? "any" : "cc";
}

/*
 * cc_mode against the device count and gpu.mode. The gate measures "ppcie" only after the
 * NVSwitches were attested and the topology passed (docs/gate.md); the hook sees the measured
 * payload, not the bundle, so it takes that word as it takes "on".
 */
static bool cc_mode_ok(const struct dga_kms_gpu_rule *g, const struct dga_cvm_gpu_payload *p,
                       struct dga_kms_decision *d)
{
    bool on = strcmp(p->cc_mode, "on") == 0, ppcie = strcmp(p->cc_mode, "ppcie") == 0;
    if (p->devices > 0 ? !(on || ppcie) : strcmp(p->cc_mode, "none") != 0) {
        return deny(d, DGA_KMS_CHECK_GPU_CC_MODE, "GPU cc_mode \"%s\" with %u device(s)",
                    p->cc_mode, p->devices);
    }
    if ((on && g->mode == DGA_KMS_GPU_MODE_PPCIE) || (ppcie && g->mode == DGA_KMS_GPU_MODE_CC)) {
        return deny(d, DGA_KMS_CHECK_GPU_CC_MODE, "GPU cc_mode \"%s\" is not allowed (gpu.mode %s)",
                    p->cc_mode, mode_name(g->mode));
    }
    if (ppcie && !p->has_nvswitches) {
        return deny(d, DGA_KMS_CHECK_GPU_PAYLOAD,
                    "the PPCIe GPU attestation does not state an NVSwitch count");
    }
    return true;
}

/* The payload against the rule: what the relying-party verifier's gpu-attestation check asks. */
static bool gpu_payload_ok(const struct dga_kms_gpu_rule *g, const struct dga_cvm_gpu_payload *p,
                           struct dga_kms_decision *d)
{
    struct dga_cvm_count gpus = g->gpus;
    if (gpus.kind == DGA_CVM_COUNT_ANY && g->required) {
        gpus = (struct dga_cvm_count){DGA_CVM_COUNT_MIN, 1}; /* required means some GPU */
    }
    if (!count_ok(&gpus, p->devices)) {
        return deny(d, DGA_KMS_CHECK_GPU_DEVICES, "GPU count %u is not allowed (expected %s %u)",
                    p->devices, count_word(&gpus), gpus.n);
    }
    if (g->nvswitches.kind != DGA_CVM_COUNT_ANY && !p->has_nvswitches) {
        return deny(d, DGA_KMS_CHECK_GPU_DEVICES,
                    "the GPU attestation does not state an NVSwitch count (expected %s %u)",
                    count_word(&g->nvswitches), g->nvswitches.n);
    }
    if (!count_ok(&g->nvswitches, p->nvswitches)) {
        return deny(d, DGA_KMS_CHECK_GPU_DEVICES,
                    "NVSwitch count %u is not allowed (expected %s %u)", p->nvswitches,
                    count_word(&g->nvswitches), g->nvswitches.n);
    }
    if (!cc_mode_ok(g, p, d)) {
        return false;
    }
    if (p->devtools && !g->allow_devtools) {
        return deny(d, DGA_KMS_CHECK_GPU_DEVTOOLS, "GPUs in DevTools mode are not allowed");
    }
    /* dstack's own gate names no root: it has only NVIDIA's */
    const char *root = p->trust_roots[0] != '\0' ? p->trust_roots : "nvidia";
    if (!(strcmp(root, "nvidia") == 0 ? g->trust_nvidia : g->trust_test)) {
        return deny(d, DGA_KMS_CHECK_GPU_TRUST_ROOTS, "GPU trust root \"%s\" is not allowed", root);
    }
    return true;
}

static bool policy_hash_listed(const struct dga_kms_gpu_rule *g, const uint8_t h[32])
{
    bool found = false;
    for (size_t i = 0; i < g->n_policy_hashes; i++) {
        found = dga_mem_equal(g->policy_hashes[i], h, 32) || found;
    }
    return found;
}

static bool gpu_policy_ok(const struct dga_kms_gpu_rule *g, const struct dga_kms_boot_info *b,
                          const struct dga_cvm_gpu_payload *p, struct dga_kms_decision *d)
{
    if (b->gpu_policy_hash_kind != DGA_KMS_FIELD_STRING) {
        return true; /* not forwarded and not needed (gpu_forwarded) */
    }
    uint8_t h[32];
    const char *s = b->gpu_policy_hash;
    s += s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 2 : 0;
    if (strlen(s) != 64 || dga_hex_decode_exact(s, h, 32) != DGA_E_OK) {
        return deny(d, DGA_KMS_CHECK_GPU_POLICY_HASH, "gpuPolicyHash is not 32 bytes of hex");
    }
    if (g->n_policy_hashes > 0 && !policy_hash_listed(g, h)) {
        return deny(d, DGA_KMS_CHECK_GPU_POLICY_HASH, "GPU policy hash is not allowed");
    }
    if (p != NULL && p->has_gpu_policy_sha256 && !dga_mem_equal(p->gpu_policy_sha256, h, 32)) {
        return deny(d, DGA_KMS_CHECK_GPU_POLICY_HASH,
                    "the GPU attestation's gpu_policy_sha256 is not the forwarded gpuPolicyHash");
    }
    return true;
}

static bool gpu_checks(const struct dga_kms_gpu_rule *g, const struct dga_kms_boot_info *b,
                       struct dga_kms_decision *d)
{
    if (!g->present) {
        return true; /* no GPU rule: auth-simple's answer */
    }
    if (!gpu_forwarded(g, b, d)) {
        return false;
    }
    struct dga_cvm_gpu_payload p;
    bool has_payload = b->gpu_attestation_kind == DGA_KMS_FIELD_STRING;
    if (has_payload) {
        struct dga_diag pd = {0};
        if (dga_cvm_gpu_payload_parse((const uint8_t *)b->gpu_attestation, b->gpu_attestation_len,
                                      &p, &pd) != DGA_E_OK) {
            return deny(d, DGA_KMS_CHECK_GPU_PAYLOAD,
                        "the GPU attestation payload is malformed (%s)",
                        pd.field != NULL ? pd.field : "payload");
        }
        if (!gpu_payload_ok(g, &p, d)) {
            return false;
        }
    }
    return gpu_policy_ok(g, b, has_payload ? &p : NULL, d);
}

/* ---- the endpoints ------------------------------------------------------------------------ */

static bool kms_checks(const struct dga_kms_config *c, const struct dga_kms_boot_info *b,
                       struct dga_kms_decision *d)
{
    if (!kms_hex_listed(&c->mr_aggregated, b->mr_aggregated)) {
        return deny(d, DGA_KMS_CHECK_MR_AGGREGATED, "aggregated MR not allowed");
    }
    if (!device_allowed(&c->kms_devices, b->device_id)) {
        return deny(d, DGA_KMS_CHECK_DEVICE, "KMS is not allowed to boot on this device");
    }
    return gpu_checks(&c->kms_gpu, b, d);
}

static bool app_checks(const struct dga_kms_config *c, const struct dga_kms_boot_info *b,
                       struct dga_kms_decision *d)
{
    const struct dga_kms_app *app = find_app(c, b->app_id);
    if (app == NULL) {
        return deny(d, DGA_KMS_CHECK_APP, "app not registered");
    }
    if (!kms_hex_listed(&app->compose_hashes, b->compose_hash)) {
        return deny(d, DGA_KMS_CHECK_COMPOSE_HASH, "compose hash not allowed");
    }
    if (!device_allowed(&app->devices, b->device_id)) {
        return deny(d, DGA_KMS_CHECK_DEVICE, "app is not allowed to boot on this device");
    }
    return gpu_checks(&app->gpu, b, d);
}

void dga_kms_decide(const struct dga_kms_config *c, enum dga_kms_endpoint ep,
                    const struct dga_kms_boot_info *b, struct dga_kms_decision *ret)
{
    struct dga_kms_decision d = {.allowed = true, .check = DGA_KMS_CHECK_NONE};
    if (common_checks(c, b, &d)) {
        (void)(ep == DGA_KMS_BOOT_KMS ? kms_checks(c, b, &d) : app_checks(c, b, &d));
    }
    *ret = d;
}
