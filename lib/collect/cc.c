/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CC-mode decision and the collection nonce. CC state and DEVTOOLS are
 * system-wide (docs/formats.md §18). DEVTOOLS keeps the CC APIs working with
 * memory encryption off, so it is refused unless a policy allows it.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "dga/collect.h"

#define CC_FEATURE_DISABLED 0u
#define CC_FEATURE_ENABLED 1u
#define CC_ENVIRONMENT_PROD 2u
#define CC_DEVTOOLS_OFF 0u
#define CC_DEVTOOLS_ON 1u
#define CC_MULTI_GPU_PROTECTED_PCIE 1u
#define CC_MULTI_GPU_MAX 2u /* 0 none, 1 protected PCIe, 2 NVLink encryption */

/*
 * Every field the gate reads is allow-listed: a value NVML may add later (or
 * a simulated environment, or "unavailable") is not taken for one we know.
 */
bool dga_cc_unknown_field(const struct dga_cc_settings *cc, struct dga_cc_field *ret)
{
    struct dga_cc_field f = {NULL, 0, NULL};
    if (cc->cc_feature != CC_FEATURE_DISABLED && cc->cc_feature != CC_FEATURE_ENABLED) {
        f = (struct dga_cc_field){"ccFeature", cc->cc_feature, "1 (enabled)"};
    } else if (cc->environment != CC_ENVIRONMENT_PROD) {
        f = (struct dga_cc_field){"environment", cc->environment, "2 (production hardware)"};
    } else if (cc->devtools_mode != CC_DEVTOOLS_OFF && cc->devtools_mode != CC_DEVTOOLS_ON) {
        f = (struct dga_cc_field){"devToolsMode", cc->devtools_mode,
                                  "0 (or 1 where DEVTOOLS is allowed)"};
    } else if (cc->multi_gpu_mode > CC_MULTI_GPU_MAX) {
        f = (struct dga_cc_field){"multiGpuMode", cc->multi_gpu_mode, "0, 1 or 2"};
    }
    if (f.name == NULL) {
        return false;
    }
    *ret = f;
    return true;
}

/*
 * The gate's rule (docs/gate.md): the CC feature on is single-GPU CC mode; the CC
 * feature off is allowed only in protected-PCIe mode (NVIDIA's 8-GPU PPCIe), whose
 * trust rests on NVLink and the NVSwitches: the caller must then attest the
 * NVSwitches (NSCQ) and the board's topology. Every field is allow-listed either way.
 */
dga_err dga_cc_check_mode(const struct dga_cc_settings *cc, bool allow_devtools, bool *ret_ppcie)
{
    struct dga_cc_field f;
    bool ppcie =
        cc->cc_feature == CC_FEATURE_DISABLED && cc->multi_gpu_mode == CC_MULTI_GPU_PROTECTED_PCIE;
    if (cc->cc_feature == CC_FEATURE_DISABLED && !ppcie) {
        return DGA_E_CC_OFF;
    }
    if (dga_cc_unknown_field(cc, &f)) {
        return DGA_E_CC_UNKNOWN;
    }
    if (cc->devtools_mode == CC_DEVTOOLS_ON && !allow_devtools) {
        return DGA_E_CC_DEVTOOLS;
    }
    *ret_ppcie = ppcie;
    return DGA_E_OK;
}

/* Protected PCIe is CC off for a caller that does not attest the NVSwitches. */
dga_err dga_cc_check(const struct dga_cc_settings *cc, bool allow_devtools)
{
    bool ppcie = false;
    if (cc->cc_feature == CC_FEATURE_DISABLED) {
        return DGA_E_CC_OFF;
    }
    return dga_cc_check_mode(cc, allow_devtools, &ppcie);
}

const char *dga_cc_mode_name(const struct dga_cc_settings *cc)
{
    struct dga_cc_field f;
    if (cc->cc_feature == CC_FEATURE_DISABLED) {
        return cc->multi_gpu_mode == CC_MULTI_GPU_PROTECTED_PCIE ? "ppcie" : "off";
    }
    if (dga_cc_unknown_field(cc, &f)) {
        return "unknown";
    }
    return cc->devtools_mode == CC_DEVTOOLS_ON ? "devtools" : "on";
}

dga_err dga_collect_nonce(uint8_t out[DGA_NONCE_LEN])
{
    uint8_t buf[DGA_NONCE_LEN];
    size_t got = 0;
    while (got < DGA_NONCE_LEN) {
        /* Blocks until the pool is initialized: a boot-time nonce must not be guessable. */
        ssize_t n = getrandom(buf + got, DGA_NONCE_LEN - got, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return DGA_E_IO; /* out untouched */
        }
        got += (size_t)n;
    }
    memcpy(out, buf, DGA_NONCE_LEN);
    return DGA_E_OK;
}
