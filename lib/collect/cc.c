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

#define CC_FEATURE_ENABLED 1u
#define CC_DEVTOOLS_ON 1u
#define CC_MULTI_GPU_PROTECTED_PCIE 1u

/*
 * The gate's rule (docs/gate.md): the CC feature must be on. libnvat also takes
 * protected-PCIe mode without it, but that configuration (NVIDIA's 8-GPU
 * PPCIe) moves trust to NVLink and the NVSwitches, whose evidence comes from
 * NSCQ, not NVML, and which this project cannot attest yet: refusing it is
 * the fail-closed choice until it can.
 */
dga_err dga_cc_check(const struct dga_cc_settings *cc, bool allow_devtools)
{
    if (cc->cc_feature != CC_FEATURE_ENABLED) {
        return DGA_E_CC_OFF;
    }
    if (cc->devtools_mode == CC_DEVTOOLS_ON && !allow_devtools) {
        return DGA_E_CC_DEVTOOLS;
    }
    return DGA_E_OK;
}

const char *dga_cc_mode_name(const struct dga_cc_settings *cc)
{
    if (cc->cc_feature != CC_FEATURE_ENABLED && cc->multi_gpu_mode != CC_MULTI_GPU_PROTECTED_PCIE) {
        return "off";
    }
    if (cc->devtools_mode == CC_DEVTOOLS_ON) {
        return "devtools";
    }
    return cc->cc_feature == CC_FEATURE_ENABLED ? "on" : "ppcie";
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
