/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hand-declared NSCQ attestation subset (NVSwitch Configuration and
 * Query, libnvidia-nscq.so.2, API 2.0.0): the five functions of NVIDIA's
 * nscq_attestation.h, its types, return codes and observe paths. NSCQ takes
 * every callback as an untyped nscq_fn_t; the callback prototypes below are
 * what libnvat, go-nvtrust and pynscq agree on (no NVIDIA header declares
 * them). The report and certificate reach their callbacks BY VALUE (8196- and
 * 5124-byte structs): the parameters are declared as the struct types, so
 * the C ABI copies them. The fake NSCQ (tests/fake_nscq) includes this same
 * file, so a layout change here changes both sides; the assertions pin them.
 */
#ifndef DGA_COLLECT_NSCQ_API_H
#define DGA_COLLECT_NSCQ_API_H

#include <assert.h>
#include <stdint.h>

typedef int8_t nscq_rc_t;
typedef struct nscq_session_st *nscq_session_t;
typedef void (*nscq_fn_t)(void);

#define NSCQ_RC_SUCCESS 0
#define NSCQ_RC_WARNING_RDT_INIT_FAILURE 1
#define NSCQ_RC_ERROR_NOT_IMPLEMENTED (-1)
#define NSCQ_RC_ERROR_INVALID_UUID (-2)
#define NSCQ_RC_ERROR_RESOURCE_NOT_MOUNTABLE (-3)
#define NSCQ_RC_ERROR_OVERFLOW (-4)
#define NSCQ_RC_ERROR_UNEXPECTED_VALUE (-5)
#define NSCQ_RC_ERROR_UNSUPPORTED_DRV (-6)
#define NSCQ_RC_ERROR_DRV (-7)
#define NSCQ_RC_ERROR_TIMEOUT (-8)
#define NSCQ_RC_ERROR_EXT (-127)
#define NSCQ_RC_ERROR_UNSPECIFIED (-128)

#define NSCQ_SESSION_CREATE_MOUNT_DEVICES 0x1u

typedef struct {
    uint8_t bytes[16];
} nscq_uuid_t;

typedef struct {
    char data[64];
} nscq_label_t;

typedef int8_t nscq_arch_t;
#define NSCQ_ARCH_SV10 0
#define NSCQ_ARCH_LR10 1
#define NSCQ_ARCH_LS10 2

typedef int8_t nscq_tnvl_status_t;
#define NSCQ_DEVICE_TNVL_MODE_UNKNOWN (-1)
#define NSCQ_DEVICE_TNVL_MODE_DISABLED 0
#define NSCQ_DEVICE_TNVL_MODE_ENABLED 1
#define NSCQ_DEVICE_TNVL_MODE_FAILURE 2
#define NSCQ_DEVICE_TNVL_MODE_LOCKED 3

#define NSCQ_ATTESTATION_REPORT_NONCE_SIZE 0x20
#define NSCQ_ATTESTATION_REPORT_SIZE 0x2000
#define NSCQ_CERTIFICATE_CERT_CHAIN_MAX_SIZE 0x1400

typedef struct {
    uint32_t report_size;
    uint8_t report[NSCQ_ATTESTATION_REPORT_SIZE];
} nscq_attestation_report_t;

/* The size AFTER the buffer: the opposite order of the report struct. */
typedef struct {
    uint8_t cert_chain[NSCQ_CERTIFICATE_CERT_CHAIN_MAX_SIZE];
    uint32_t cert_chain_size;
} nscq_attestation_certificate_t;

typedef struct {
    nscq_rc_t rc;
    nscq_session_t session;
} nscq_session_result_t;

static_assert(sizeof(nscq_uuid_t) == 16, "layout");
static_assert(sizeof(nscq_label_t) == 64, "layout");
static_assert(sizeof(nscq_attestation_report_t) == 8196, "layout");
static_assert(sizeof(nscq_attestation_certificate_t) == 5124, "layout");

/* The observe paths (nscq_attestation_path.h); per switch, "/{nvswitch}" becomes "/" LABEL. */
#define NSCQ_PATH_DEVICE_UUID "/drv/nvswitch/{device}/uuid"
#define NSCQ_PATH_ARCH "/{nvswitch}/id/arch"
#define NSCQ_PATH_PCIE_MODE_SUFFIX "/config/pcie_mode"
#define NSCQ_PATH_REPORT_SUFFIX "/config/attestation_report"
#define NSCQ_PATH_CERTIFICATE_SUFFIX "/config/certificate"

/* The callbacks: the device, NSCQ's rc, the value, the caller's user data. */
typedef void (*nscq_uuid_cb_t)(const nscq_uuid_t *device, nscq_rc_t rc, const nscq_uuid_t *uuid,
                               void *user);
typedef void (*nscq_arch_cb_t)(const nscq_uuid_t *device, nscq_rc_t rc, nscq_arch_t arch,
                               void *user);
typedef void (*nscq_tnvl_cb_t)(const nscq_uuid_t *device, nscq_rc_t rc, nscq_tnvl_status_t status,
                               void *user);
typedef void (*nscq_report_cb_t)(const nscq_uuid_t *device, nscq_rc_t rc,
                                 nscq_attestation_report_t report, void *user);
typedef void (*nscq_cert_cb_t)(const nscq_uuid_t *device, nscq_rc_t rc,
                               nscq_attestation_certificate_t cert, void *user);

/* The function subset: X(name, return type, parameters). */
#define DGA_NSCQ_FUNCTIONS(X)                                                                      \
    X(nscq_uuid_to_label, nscq_rc_t, (const nscq_uuid_t *, nscq_label_t *, uint32_t))              \
    X(nscq_session_create, nscq_session_result_t, (uint32_t))                                      \
    X(nscq_session_destroy, void, (nscq_session_t))                                                \
    X(nscq_session_path_observe, nscq_rc_t,                                                        \
      (nscq_session_t, const char *, nscq_fn_t, void *, uint32_t))                                 \
    X(nscq_session_set_input, nscq_rc_t, (nscq_session_t, uint32_t, void *, uint32_t))

#endif
