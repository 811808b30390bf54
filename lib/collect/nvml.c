/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NVML through dlopen (docs/formats.md §18): resolve the subset,
 * collect every GPU's report and chain for a nonce, read CC settings, get and
 * set the ready state. Every NVML return code other than success is a named
 * error with the function and NVML's code and message; every size NVML hands
 * back is checked against the buffer it describes before it is used.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/internal.h"
#include "collect/nvml_api.h"
#include "core/buf.h"
#include "core/cleanup.h"
#include "core/dynlib.h"
#include "dga/x509.h"

struct dga_nvml {
    struct dynlib dl; /* dlclose'd with the handle, unlike the libraries loaded once */
    bool initialized;
#define DGA_NVML_FIELD(name, rt, params) rt(*name) params;
    DGA_NVML_FUNCTIONS(DGA_NVML_FIELD)
#undef DGA_NVML_FIELD
};

/* src's first cap - 1 bytes and a NUL (a longer text, dynlib's failure, is cut at the end). */
static void copy_bounded(char *dst, size_t cap, const char *src)
{
    size_t len = src != NULL ? strnlen(src, cap - 1) : 0;
    if (len > 0) {
        memcpy(dst, src, len);
    }
    dst[len] = '\0';
}

dga_err nvml_error_set(struct dga_nvml_error *err, dga_err e, const char *function, int device)
{
    if (err != NULL) {
        memset(err, 0, sizeof *err);
        err->err = e;
        err->device = device;
        copy_bounded(err->function, sizeof err->function, function);
    }
    return e;
}

/* An NVML return code other than success: DGA_E_NVML_CALL with NVML's code and message. */
static dga_err call_failed(const struct dga_nvml *n, struct dga_nvml_error *err,
                           const char *function, int device, nvmlReturn_t rc)
{
    nvml_error_set(err, DGA_E_NVML_CALL, function, device);
    if (err != NULL) {
        err->nvml_rc = rc;
        copy_bounded(err->nvml_message, sizeof err->nvml_message, n->nvmlErrorString(rc));
    }
    return DGA_E_NVML_CALL;
}

#define NVML_CALL(n, err, device, fn, ...)                                                         \
    ({                                                                                             \
        nvmlReturn_t _rc = (n)->fn(__VA_ARGS__);                                                   \
        _rc == NVML_SUCCESS ? DGA_E_OK : call_failed((n), (err), #fn, (device), _rc);              \
    })

static const struct dynlib_sym nvml_syms[] = {
#define DGA_NVML_SYM(name, rt, params) DYNLIB_SYM(struct dga_nvml, name, name),
    DGA_NVML_FUNCTIONS(DGA_NVML_SYM)
#undef DGA_NVML_SYM
};

static dga_err resolve(struct dga_nvml *n, struct dga_nvml_error *err)
{
    const char *missing = NULL;
    if (!dynlib_resolve_all(&n->dl, n, nvml_syms, DYNLIB_N(nvml_syms), &missing)) {
        return nvml_error_set(err, DGA_E_NVML_SYMBOL, missing, -1);
    }
    return DGA_E_OK;
}

void dga_nvml_close(struct dga_nvml *nvml)
{
    if (nvml == NULL) {
        return;
    }
    if (nvml->initialized) {
        (void)nvml->nvmlShutdown(); /* nothing useful to do if teardown fails */
    }
    if (nvml->dl.handle != NULL) {
        dlclose(nvml->dl.handle);
    }
    free(nvml);
}

dga_err dga_nvml_open(const char *path, struct dga_nvml **ret, struct dga_nvml_error *err)
{
    _cleanup_(dga_nvml_closep) struct dga_nvml *n = calloc(1, sizeof *n);
    if (n == NULL) {
        return nvml_error_set(err, DGA_E_NOMEM, NULL, -1);
    }
    struct dynlib dl = DYNLIB_INIT(path != NULL ? path : DGA_NVML_DEFAULT_PATH, NULL);
    n->dl = dl;
    if (!dynlib_open(&n->dl)) { /* its failure text is dlerror's, which names the file */
        nvml_error_set(err, DGA_E_NVML_LOAD, "dlopen", -1);
        if (err != NULL) {
            copy_bounded(err->nvml_message, sizeof err->nvml_message, n->dl.failure);
        }
        return DGA_E_NVML_LOAD;
    }
    dga_err e = resolve(n, err);
    if (e != DGA_E_OK) {
        return e;
    }
    e = NVML_CALL(n, err, -1, nvmlInit_v2);
    if (e != DGA_E_OK) {
        return e;
    }
    n->initialized = true;
    *ret = TAKE_PTR(n);
    return DGA_E_OK;
}

dga_err dga_nvml_cc_settings(struct dga_nvml *nvml, struct dga_cc_settings *ret,
                             struct dga_nvml_error *err)
{
    nvmlConfComputeSystemState_t state;
    nvmlSystemConfComputeSettings_t settings;
    memset(&state, 0, sizeof state);
    memset(&settings, 0, sizeof settings);
    settings.version = nvmlSystemConfComputeSettings_v1;
    dga_err e = NVML_CALL(nvml, err, -1, nvmlSystemGetConfComputeState, &state);
    if (e != DGA_E_OK) {
        return e;
    }
    e = NVML_CALL(nvml, err, -1, nvmlSystemGetConfComputeSettings, &settings);
    if (e != DGA_E_OK) {
        return e;
    }
    /* The CC feature and DEVTOOLS come from the state call, as libnvat reads them. */
    ret->environment = state.environment;
    ret->cc_feature = state.ccFeature;
    ret->devtools_mode = state.devToolsMode;
    ret->multi_gpu_mode = settings.multiGpuMode;
    return DGA_E_OK;
}

dga_err dga_nvml_ready_get(struct dga_nvml *nvml, unsigned *ret, struct dga_nvml_error *err)
{
    unsigned state = 0;
    dga_err e = NVML_CALL(nvml, err, -1, nvmlSystemGetConfComputeGpusReadyState, &state);
    if (e != DGA_E_OK) {
        return e;
    }
    if (state > NVML_CC_ACCEPTING_CLIENT_REQUESTS_TRUE) {
        return nvml_error_set(err, DGA_E_NVML_SIZE, "nvmlSystemGetConfComputeGpusReadyState", -1);
    }
    *ret = state;
    return DGA_E_OK;
}

dga_err dga_nvml_ready_set(struct dga_nvml *nvml, unsigned state, struct dga_nvml_error *err)
{
    if (state > NVML_CC_ACCEPTING_CLIENT_REQUESTS_TRUE) {
        return nvml_error_set(err, DGA_E_BAD_ARGUMENT, "nvmlSystemSetConfComputeGpusReadyState",
                              -1);
    }
    return NVML_CALL(nvml, err, -1, nvmlSystemSetConfComputeGpusReadyState, state);
}

/* A string NVML wrote into buf[cap]: it must be NUL-terminated inside the buffer and not empty. */
static dga_err check_string(const char *buf, size_t cap, struct dga_nvml_error *err,
                            const char *function, int device)
{
    size_t len = strnlen(buf, cap);
    if (len == 0 || len == cap) {
        return nvml_error_set(err, DGA_E_NVML_SIZE, function, device);
    }
    return DGA_E_OK;
}

static dga_err arch_from_nvml(unsigned nvml_arch, enum dga_arch *ret)
{
    switch (nvml_arch) {
    case NVML_DEVICE_ARCH_HOPPER:
        *ret = DGA_ARCH_HOPPER;
        return DGA_E_OK;
    case NVML_DEVICE_ARCH_BLACKWELL:
        *ret = DGA_ARCH_BLACKWELL;
        return DGA_E_OK;
    default:
        return DGA_E_NVML_ARCH;
    }
}

/* Architecture, board id, UUID, VBIOS version. */
static dga_err device_identity(struct dga_nvml *n, nvmlDevice_t h, int idx,
                               struct dga_gpu_collected *g, struct dga_nvml_error *err)
{
    dga_err e = NVML_CALL(n, err, idx, nvmlDeviceGetArchitecture, h, &g->nvml_arch);
    if (e != DGA_E_OK) {
        return e;
    }
    if (arch_from_nvml(g->nvml_arch, &g->arch) != DGA_E_OK) {
        return nvml_error_set(err, DGA_E_NVML_ARCH, "nvmlDeviceGetArchitecture", idx);
    }
    e = NVML_CALL(n, err, idx, nvmlDeviceGetBoardId, h, &g->board_id);
    if (e != DGA_E_OK) {
        return e;
    }
    e = NVML_CALL(n, err, idx, nvmlDeviceGetUUID, h, g->uuid, (unsigned)sizeof g->uuid);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_string(g->uuid, sizeof g->uuid, err, "nvmlDeviceGetUUID", idx);
    if (e != DGA_E_OK) {
        return e;
    }
    e = NVML_CALL(n, err, idx, nvmlDeviceGetVbiosVersion, h, g->vbios_version,
                  (unsigned)sizeof g->vbios_version);
    if (e != DGA_E_OK) {
        return e;
    }
    return check_string(g->vbios_version, sizeof g->vbios_version, err, "nvmlDeviceGetVbiosVersion",
                        idx);
}

static dga_err device_pci(struct dga_nvml *n, nvmlDevice_t h, int idx, struct dga_gpu_collected *g,
                          struct dga_nvml_error *err)
{
    nvmlPciInfo_t pci;
    memset(&pci, 0, sizeof pci);
    dga_err e = NVML_CALL(n, err, idx, nvmlDeviceGetPciInfo_v3, h, &pci);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_string(pci.busId, sizeof pci.busId, err, "nvmlDeviceGetPciInfo_v3", idx);
    if (e != DGA_E_OK) {
        return e;
    }
    if (pci_address_normalize(pci.busId, strlen(pci.busId), g->pci_address) != DGA_E_OK) {
        return nvml_error_set(err, DGA_E_PCI_ADDRESS, "nvmlDeviceGetPciInfo_v3", idx);
    }
    return DGA_E_OK;
}

static dga_err device_report(struct dga_nvml *n, nvmlDevice_t h, int idx,
                             const uint8_t nonce[DGA_NONCE_LEN], struct dga_gpu_collected *g,
                             struct dga_nvml_error *err)
{
    _cleanup_(freep) nvmlConfComputeGpuAttestationReport_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return nvml_error_set(err, DGA_E_NOMEM, NULL, idx);
    }
    memcpy(r->nonce, nonce, DGA_NONCE_LEN);
    dga_err e = NVML_CALL(n, err, idx, nvmlDeviceGetConfComputeGpuAttestationReport, h, r);
    if (e != DGA_E_OK) {
        return e;
    }
    if (r->attestationReportSize < DGA_REPORT_MIN ||
        r->attestationReportSize > sizeof r->attestationReport) {
        return nvml_error_set(err, DGA_E_NVML_SIZE, "nvmlDeviceGetConfComputeGpuAttestationReport",
                              idx);
    }
    g->report = malloc(r->attestationReportSize);
    if (g->report == NULL) {
        return nvml_error_set(err, DGA_E_NOMEM, NULL, idx);
    }
    memcpy(g->report, r->attestationReport, r->attestationReportSize);
    g->report_len = r->attestationReportSize;
    return DGA_E_OK;
}

/* The chain must be PEM text that parses as exactly the 5 device certificates. */
static dga_err check_chain(const char *pem, size_t len, struct dga_nvml_error *err, int idx)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
    if (memchr(pem, 0, len) != NULL || dga_pem_chain_parse(pem, len, &chain, NULL) != DGA_E_OK ||
        sk_X509_num(chain) != DGA_DEVICE_CHAIN_LEN) {
        return nvml_error_set(err, DGA_E_NVML_CHAIN, "nvmlDeviceGetConfComputeGpuCertificate", idx);
    }
    return DGA_E_OK;
}

static dga_err device_chain(struct dga_nvml *n, nvmlDevice_t h, int idx,
                            struct dga_gpu_collected *g, struct dga_nvml_error *err)
{
    static const char *const fn = "nvmlDeviceGetConfComputeGpuCertificate";
    _cleanup_(freep) nvmlConfComputeGpuCertificate_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return nvml_error_set(err, DGA_E_NOMEM, NULL, idx);
    }
    dga_err e = NVML_CALL(n, err, idx, nvmlDeviceGetConfComputeGpuCertificate, h, c);
    if (e != DGA_E_OK) {
        return e;
    }
    if (c->attestationCertChainSize == 0 ||
        c->attestationCertChainSize > sizeof c->attestationCertChain ||
        c->certChainSize > sizeof c->certChain) {
        return nvml_error_set(err, DGA_E_NVML_SIZE, fn, idx);
    }
    size_t len = c->attestationCertChainSize;
    e = check_chain((const char *)c->attestationCertChain, len, err, idx);
    if (e != DGA_E_OK) {
        return e;
    }
    g->chain_pem = bytes_dup_text(c->attestationCertChain, len);
    if (g->chain_pem == NULL) {
        return nvml_error_set(err, DGA_E_NOMEM, NULL, idx);
    }
    g->chain_pem_len = len;
    return DGA_E_OK;
}

static void gpu_free(struct dga_gpu_collected *g)
{
    free(g->report);
    free(g->chain_pem);
    memset(g, 0, sizeof *g);
}

static dga_err collect_device(struct dga_nvml *n, unsigned i, const uint8_t nonce[DGA_NONCE_LEN],
                              struct dga_gpu_collected *g, struct dga_nvml_error *err)
{
    int idx = (int)i;
    nvmlDevice_t h = NULL;
    g->index = i;
    /* Every failure frees what the device got so far (gpu_free): the steps are chained. */
    dga_err e = NVML_CALL(n, err, idx, nvmlDeviceGetHandleByIndex_v2, i, &h);
    if (e == DGA_E_OK) {
        e = device_identity(n, h, idx, g, err);
    }
    if (e == DGA_E_OK) {
        e = device_pci(n, h, idx, g, err);
    }
    if (e == DGA_E_OK) {
        e = device_report(n, h, idx, nonce, g, err);
    }
    if (e == DGA_E_OK) {
        e = device_chain(n, h, idx, g, err);
    }
    if (e != DGA_E_OK) {
        gpu_free(g);
    }
    return e;
}

void dga_collection_clear(struct dga_collection *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n && i < DGA_MAX_DEVICES; i++) {
        gpu_free(&c->gpu[i]);
    }
    memset(c, 0, sizeof *c);
}

static dga_err collect_system(struct dga_nvml *n, struct dga_collection *c, unsigned *count,
                              struct dga_nvml_error *err)
{
    dga_err e = dga_nvml_cc_settings(n, &c->cc, err);
    if (e != DGA_E_OK) {
        return e;
    }
    e = NVML_CALL(n, err, -1, nvmlSystemGetDriverVersion, c->driver_version,
                  (unsigned)sizeof c->driver_version);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_string(c->driver_version, sizeof c->driver_version, err, "nvmlSystemGetDriverVersion",
                     -1);
    if (e != DGA_E_OK) {
        return e;
    }
    e = NVML_CALL(n, err, -1, nvmlDeviceGetCount_v2, count);
    if (e != DGA_E_OK) {
        return e;
    }
    if (*count > DGA_MAX_DEVICES) {
        return nvml_error_set(err, DGA_E_TOO_LARGE, "nvmlDeviceGetCount_v2", -1);
    }
    return DGA_E_OK;
}

dga_err dga_nvml_collect(struct dga_nvml *nvml, const uint8_t nonce[DGA_NONCE_LEN],
                         struct dga_collection *ret, struct dga_nvml_error *err)
{
    _cleanup_(freep) struct dga_collection *c = calloc(1, sizeof *c);
    unsigned count = 0;
    if (c == NULL) {
        return nvml_error_set(err, DGA_E_NOMEM, NULL, -1);
    }
    memcpy(c->nonce, nonce, DGA_NONCE_LEN);
    dga_err e = collect_system(nvml, c, &count, err);
    for (unsigned i = 0; e == DGA_E_OK && i < count; i++) {
        e = collect_device(nvml, i, nonce, &c->gpu[i], err);
        if (e == DGA_E_OK) {
            c->n = i + 1;
        }
    }
    if (e != DGA_E_OK) {
        dga_collection_clear(c);
        return e;
    }
    *ret = *c;
    return DGA_E_OK;
}
