/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nvattest's result codes (libnvat NVAT_RC_*, as NVIDIA's attestation-sdk
 * numbers them; docs/formats.md §13), so that our JSON output can stand
 * where nvattest's
 * did. Where no NVIDIA code applies, the closest one is used and the message
 * is ours.
 */
#include "dga/appraise.h"

#define RC_OK 0
#define RC_INTERNAL 2
#define RC_OCSP_INVALID_RESPONSE 201
#define RC_OCSP_SERVER_ERROR 202
#define RC_RIM_NOT_FOUND 104
#define RC_RIM_INVALID_SIGNATURE 105
#define RC_RIM_INVALID_SCHEMA 106
#define RC_RIM_CONFLICT 108
#define RC_EVIDENCE_INVALID 503
#define RC_NONCE_MISMATCH 504
#define RC_DRIVER_RIM_VERSION 505
#define RC_VBIOS_RIM_VERSION 506
#define RC_FWID_MISMATCH 507
#define RC_INVALID_SIGNATURE 508
#define RC_FW_NOT_SUPPORTED 510
#define RC_FWID_NOT_FOUND 800
#define RC_CHAIN_FAILURE 802
#define RC_SWITCH_NONCE_MISMATCH 603
#define RC_SWITCH_BIOS_RIM_VERSION 604
#define RC_SWITCH_FWID_MISMATCH 605
#define RC_SWITCH_INVALID_SIGNATURE 606

static int rim_code(dga_err e)
{
    switch (e) {
    case DGA_E_RIM_NOT_FOUND:
    case DGA_E_RIM_PINNED_ABSENT:
    case DGA_E_RIM_STORE:
        return RC_RIM_NOT_FOUND;
    case DGA_E_RIM_SIGNATURE_PROFILE:
    case DGA_E_RIM_DIGEST_MISMATCH:
    case DGA_E_RIM_SIGNATURE_INVALID:
        return RC_RIM_INVALID_SIGNATURE;
    case DGA_E_RIM_XML:
    case DGA_E_RIM_DTD:
    case DGA_E_RIM_STRUCTURE:
    case DGA_E_RIM_ATTRIBUTE:
    case DGA_E_RIM_DUPLICATE_INDEX:
        return RC_RIM_INVALID_SCHEMA;
    case DGA_E_RIM_CONFLICT:
        return RC_RIM_CONFLICT;
    default:
        return -1;
    }
}

static int evidence_code(dga_err e, bool sw)
{
    switch (e) {
    case DGA_E_NONCE_MISMATCH:
        return sw ? RC_SWITCH_NONCE_MISMATCH : RC_NONCE_MISMATCH;
    case DGA_E_SIGNATURE_INVALID:
        return sw ? RC_SWITCH_INVALID_SIGNATURE : RC_INVALID_SIGNATURE;
    case DGA_E_FWID_MISMATCH:
        return sw ? RC_SWITCH_FWID_MISMATCH : RC_FWID_MISMATCH;
    case DGA_E_FWID_NOT_FOUND:
        return RC_FWID_NOT_FOUND;
    case DGA_E_UNSUPPORTED_FIRMWARE:
        return RC_FW_NOT_SUPPORTED;
    case DGA_E_BAD_PEM:
    case DGA_E_BAD_CERT:
    case DGA_E_CHAIN_LENGTH:
    case DGA_E_CHAIN_ROOT:
    case DGA_E_CHAIN_INVALID:
    case DGA_E_CHAIN_ORDER:
    case DGA_E_CHAIN_ALGORITHM:
    case DGA_E_CHAIN_EXPIRED:
    case DGA_E_ARCH_MISMATCH:
        return RC_CHAIN_FAILURE;
    default:
        return -1;
    }
}

int dga_appraisal_result_code(const struct dga_appraisal *a, const char **ret_message)
{
    dga_err e = a->err;
    bool sw = dga_arch_is_switch(a->report.arch);
    *ret_message = e == DGA_E_OK ? "Ok" : dga_err_message(e);
    if (e == DGA_E_OK) {
        return RC_OK;
    }
    if (e == DGA_E_RIM_VERSION_MISMATCH) {
        bool driver = a->driver.wanted && a->driver.err == e;
        return sw       ? RC_SWITCH_BIOS_RIM_VERSION
               : driver ? RC_DRIVER_RIM_VERSION
                        : RC_VBIOS_RIM_VERSION;
    }
    if (e == DGA_E_COLLATERAL_UNREACHABLE || e == DGA_E_COLLATERAL_HTTP) {
        return RC_OCSP_SERVER_ERROR; /* no OCSP response could be fetched */
    }
    if (dga_appraisal_ocsp_failure(a) != NULL) {
        return RC_OCSP_INVALID_RESPONSE; /* none stored, or none usable */
    }
    int code = rim_code(e);
    if (code < 0) {
        code = evidence_code(e, sw);
    }
    if (code < 0) {
        code = e == DGA_E_NOMEM || e == DGA_E_INTERNAL || e == DGA_E_IO ? RC_INTERNAL
                                                                        : RC_EVIDENCE_INVALID;
    }
    return code;
}
