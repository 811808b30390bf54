/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hand-declared NVML subset (docs/formats.md §18; no NVIDIA
 * headers exist here). Layouts match libnvat's declarations, nvtrust's ctypes
 * structs and NVIDIA's NVML reference; nvmlPciInfo_t (v3) matches pynvml's
 * ctypes struct. The fake NVML (tests/fake_nvml) includes this same file, so
 * a layout change here changes both sides: the size assertions below pin them.
 */
#ifndef DGA_COLLECT_NVML_API_H
#define DGA_COLLECT_NVML_API_H

#include <assert.h>

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;

#define NVML_SUCCESS 0
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9
#define NVML_ERROR_UNKNOWN 999

#define NVML_DEVICE_ARCH_HOPPER 9
#define NVML_DEVICE_ARCH_BLACKWELL 10

#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 80
#define NVML_DEVICE_VBIOS_VERSION_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32

#define NVML_CC_GPU_CEC_NONCE_SIZE 0x20
#define NVML_CC_GPU_ATTESTATION_REPORT_SIZE 0x2000
#define NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE 0x1000
#define NVML_GPU_CERT_CHAIN_SIZE 0x1000
#define NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE 0x1400

#define NVML_CC_ACCEPTING_CLIENT_REQUESTS_FALSE 0
#define NVML_CC_ACCEPTING_CLIENT_REQUESTS_TRUE 1

typedef struct {
    unsigned int environment;
    unsigned int ccFeature;
    unsigned int devToolsMode;
} nvmlConfComputeSystemState_t;

typedef struct {
    unsigned int version;
    unsigned int environment;
    unsigned int ccFeature;
    unsigned int devToolsMode;
    unsigned int multiGpuMode;
} nvmlSystemConfComputeSettings_t;

/* sizeof | (1 << 24) */
#define nvmlSystemConfComputeSettings_v1 0x01000014u

typedef struct {
    unsigned int certChainSize;
    unsigned int attestationCertChainSize;
    unsigned char certChain[NVML_GPU_CERT_CHAIN_SIZE];
    unsigned char attestationCertChain[NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE];
} nvmlConfComputeGpuCertificate_t;

typedef struct {
    unsigned int isCecAttestationReportPresent;
    unsigned int attestationReportSize;
    unsigned int cecAttestationReportSize;
    unsigned char nonce[NVML_CC_GPU_CEC_NONCE_SIZE];
    unsigned char attestationReport[NVML_CC_GPU_ATTESTATION_REPORT_SIZE];
    unsigned char cecAttestationReport[NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE];
} nvmlConfComputeGpuAttestationReport_t;

typedef struct {
    char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
    unsigned int domain;
    unsigned int bus;
    unsigned int device;
    unsigned int pciDeviceId; /* (device id << 16) | vendor id */
    unsigned int pciSubSystemId;
    char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE]; /* "00000000:01:00.0" */
} nvmlPciInfo_t;

static_assert(sizeof(nvmlConfComputeSystemState_t) == 12, "layout");
static_assert(sizeof(nvmlSystemConfComputeSettings_t) == 20, "layout");
static_assert(sizeof(nvmlConfComputeGpuCertificate_t) == 9224, "layout");
static_assert(sizeof(nvmlConfComputeGpuAttestationReport_t) == 12332, "layout");
static_assert(sizeof(nvmlPciInfo_t) == 68, "layout");

/* The function subset: X(name, return type, parameters). */
#define DGA_NVML_FUNCTIONS(X)                                                                      \
    X(nvmlInit_v2, nvmlReturn_t, (void))                                                           \
    X(nvmlShutdown, nvmlReturn_t, (void))                                                          \
    X(nvmlErrorString, const char *, (nvmlReturn_t))                                               \
    X(nvmlSystemGetDriverVersion, nvmlReturn_t, (char *, unsigned int))                            \
    X(nvmlSystemGetConfComputeState, nvmlReturn_t, (nvmlConfComputeSystemState_t *))               \
    X(nvmlSystemGetConfComputeSettings, nvmlReturn_t, (nvmlSystemConfComputeSettings_t *))         \
    X(nvmlSystemGetConfComputeGpusReadyState, nvmlReturn_t, (unsigned int *))                      \
    X(nvmlSystemSetConfComputeGpusReadyState, nvmlReturn_t, (unsigned int))                        \
    X(nvmlDeviceGetCount_v2, nvmlReturn_t, (unsigned int *))                                       \
    X(nvmlDeviceGetHandleByIndex_v2, nvmlReturn_t, (unsigned int, nvmlDevice_t *))                 \
    X(nvmlDeviceGetArchitecture, nvmlReturn_t, (nvmlDevice_t, unsigned int *))                     \
    X(nvmlDeviceGetBoardId, nvmlReturn_t, (nvmlDevice_t, unsigned int *))                          \
    X(nvmlDeviceGetUUID, nvmlReturn_t, (nvmlDevice_t, char *, unsigned int))                       \
    X(nvmlDeviceGetVbiosVersion, nvmlReturn_t, (nvmlDevice_t, char *, unsigned int))               \
    X(nvmlDeviceGetPciInfo_v3, nvmlReturn_t, (nvmlDevice_t, nvmlPciInfo_t *))                      \
    X(nvmlDeviceGetConfComputeGpuCertificate, nvmlReturn_t,                                        \
      (nvmlDevice_t, nvmlConfComputeGpuCertificate_t *))                                           \
    X(nvmlDeviceGetConfComputeGpuAttestationReport, nvmlReturn_t,                                  \
      (nvmlDevice_t, nvmlConfComputeGpuAttestationReport_t *))

#endif
