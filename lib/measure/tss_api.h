/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tpm2-tss (ESYS and the TCTI loader), loaded on first use (core/dynlib.h):
 * the functions the TPM backend calls, typed from tss2_esys.h and
 * tss2_tctildr.h themselves (__typeof__ of each declaration: no hand-written
 * prototypes, no link-time reference).
 */
#ifndef DGA_MEASURE_TSS_API_H
#define DGA_MEASURE_TSS_API_H

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "dga/error.h"

#define DGA_LIBTSS2_ESYS_FILE "libtss2-esys.so.0"
#define DGA_LIBTSS2_TCTILDR_FILE "libtss2-tctildr.so.0"
/* tests only: replace the file names */
#define DGA_LIBTSS2_ESYS_TEST_ENV "DGA_TEST_LIBTSS2_ESYS"
#define DGA_LIBTSS2_TCTILDR_TEST_ENV "DGA_TEST_LIBTSS2_TCTILDR"

/* X(member, function): libtss2-esys */
#define TSS_ESYS_FUNCTIONS(X)                                                                      \
    X(esys_initialize, Esys_Initialize)                                                            \
    X(esys_finalize, Esys_Finalize)                                                                \
    X(esys_pcr_extend, Esys_PCR_Extend)                                                            \
    X(esys_pcr_read, Esys_PCR_Read)                                                                \
    X(esys_free, Esys_Free)

/* X(member, function): libtss2-tctildr */
#define TSS_TCTILDR_FUNCTIONS(X)                                                                   \
    X(tctildr_initialize, Tss2_TctiLdr_Initialize)                                                 \
    X(tctildr_finalize, Tss2_TctiLdr_Finalize)

struct tss_api {
#define TSS_API_FIELD(member, fn) __typeof__(fn) *member;
    TSS_ESYS_FUNCTIONS(TSS_API_FIELD)
    TSS_TCTILDR_FUNCTIONS(TSS_API_FIELD)
#undef TSS_API_FIELD
};

/*
 * Loads both libraries once per process (thread-safe). *ret: the functions,
 * valid for the process's life. DGA_E_RUNTIME_LIBRARY (diag->field names the
 * file and what failed) when either cannot be loaded: that is not "no TPM"
 * (DGA_E_REGISTER_UNAVAILABLE), which needs the libraries to be told.
 */
dga_err tss_api_load(const struct tss_api **ret, struct dga_diag *diag);

#endif
