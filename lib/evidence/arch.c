/* SPDX-License-Identifier: Apache-2.0 */
/* Architecture names and NVIDIA's opaque-data field names. */
#include <strings.h>

#include "dga/evidence.h"

const char *dga_arch_name(enum dga_arch a)
{
    switch (a) {
    case DGA_ARCH_HOPPER:
        return "hopper";
    case DGA_ARCH_BLACKWELL:
        return "blackwell";
    case DGA_ARCH_LS10:
        return "ls10";
    }
    return "unknown";
}

dga_err dga_arch_parse(const char *s, enum dga_arch *ret)
{
    static const struct {
        const char *name;
        enum dga_arch arch;
    } names[] = {
        {"hopper", DGA_ARCH_HOPPER},
        {"blackwell", DGA_ARCH_BLACKWELL},
        {"ls10", DGA_ARCH_LS10},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *ret = names[i].arch;
            return DGA_E_OK;
        }
    }
    return DGA_E_BAD_ARCH;
}

/* Ids 1..21 mean the same on GPUs and NVSwitches (attestation-sdk, nvtrust). */
#define SHARED_TLV_MAX 21

static const char *const shared_tlv_names[SHARED_TLV_MAX + 1] = {
    [1] = "OPAQUE_FIELD_ID_CERT_ISSUER_NAME",
    [2] = "OPAQUE_FIELD_ID_CERT_AUTHORITY_KEY_IDENTIFIER",
    [3] = "OPAQUE_FIELD_ID_DRIVER_VERSION",
    [4] = "OPAQUE_FIELD_ID_GPU_INFO",
    [5] = "OPAQUE_FIELD_ID_SKU",
    [6] = "OPAQUE_FIELD_ID_VBIOS_VERSION",
    [7] = "OPAQUE_FIELD_ID_MANUFACTURER_ID",
    [8] = "OPAQUE_FIELD_ID_TAMPER_DETECTION",
    [9] = "OPAQUE_FIELD_ID_SMC",
    [10] = "OPAQUE_FIELD_ID_VPR",
    [11] = "OPAQUE_FIELD_ID_NVDEC0_STATUS",
    [12] = "OPAQUE_FIELD_ID_MSRSCNT",
    [13] = "OPAQUE_FIELD_ID_CPRINFO",
    [14] = "OPAQUE_FIELD_ID_BOARD_ID",
    [15] = "OPAQUE_FIELD_ID_CHIP_SKU",
    [16] = "OPAQUE_FIELD_ID_CHIP_SKU_MOD",
    [17] = "OPAQUE_FIELD_ID_PROJECT",
    [18] = "OPAQUE_FIELD_ID_PROJECT_SKU",
    [19] = "OPAQUE_FIELD_ID_PROJECT_SKU_MOD",
    [20] = "OPAQUE_FIELD_ID_FWID",
    [21] = "OPAQUE_FIELD_ID_PROTECTED_PCIE_STATUS",
};

/* GpuOpaqueDataType from 22 on; ids 26..31 are unnamed on GPUs. */
static const char *const gpu_tlv_names[DGA_TLV_MAX_KNOWN + 1] = {
    [22] = "OPAQUE_FIELD_ID_SWITCH_PDI",          [23] = "OPAQUE_FIELD_ID_FLOORSWEPT_PORTS",
    [24] = "OPAQUE_FIELD_ID_POSITION_ID",         [25] = "OPAQUE_FIELD_ID_LOCK_SWITCH_STATUS",
    [32] = "OPAQUE_FIELD_ID_GPU_LINK_CONN",       [33] = "OPAQUE_FIELD_ID_SYS_ENABLE_STATUS",
    [34] = "OPAQUE_FIELD_ID_OPAQUE_DATA_VERSION", [35] = "OPAQUE_FIELD_ID_CHIP_INFO",
    [36] = "OPAQUE_FIELD_ID_FEATURE_FLAG",
};

/* SwitchOpaqueDataType from 22 on; NVSwitch ids end at 27. */
static const char *const switch_tlv_names[DGA_TLV_MAX_KNOWN + 1] = {
    [22] = "OPAQUE_FIELD_ID_DEVICE_PDI",         [23] = "OPAQUE_FIELD_ID_DISABLED_PORTS",
    [24] = "OPAQUE_FIELD_ID_SWITCH_POSITION_ID", [25] = "OPAQUE_FIELD_ID_SWITCH_LOCK_STATUS",
    [26] = "OPAQUE_FIELD_ID_SWITCH_GPU_PDIS",    [27] = "OPAQUE_FIELD_ID_SWITCH_PORTS",
};

const char *dga_tlv_name(enum dga_arch arch, unsigned id)
{
    if (id <= SHARED_TLV_MAX) {
        return shared_tlv_names[id];
    }
    if (id > DGA_TLV_MAX_KNOWN) {
        return NULL;
    }
    return dga_arch_is_switch(arch) ? switch_tlv_names[id] : gpu_tlv_names[id];
}

const char *dga_gpu_mode_name(enum dga_gpu_mode m)
{
    switch (m) {
    case DGA_MODE_NONE:
        return "none";
    case DGA_MODE_MPT:
        return "mpt";
    case DGA_MODE_SPT:
        return "spt";
    case DGA_MODE_PPCIE:
        return "ppcie";
    case DGA_MODE_INVALID:
        return "invalid";
    }
    return "invalid";
}
