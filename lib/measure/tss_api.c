/* SPDX-License-Identifier: Apache-2.0 */
/* tpm2-tss on first use: dlopen ESYS and the TCTI loader once, resolve (core/dynlib.h). */
#include "measure/tss_api.h"
#include "core/dynlib.h"

static struct dynlib esys = DYNLIB_INIT(DGA_LIBTSS2_ESYS_FILE, DGA_LIBTSS2_ESYS_TEST_ENV);
static struct dynlib tctildr = DYNLIB_INIT(DGA_LIBTSS2_TCTILDR_FILE, DGA_LIBTSS2_TCTILDR_TEST_ENV);
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct tss_api api;

static void load(void)
{
    bool ok = dynlib_open(&esys);
#define TSS_API_RESOLVE_ESYS(member, fn) ok = ok && DYNLIB_RESOLVE(&esys, api, member, fn);
    TSS_ESYS_FUNCTIONS(TSS_API_RESOLVE_ESYS)
#undef TSS_API_RESOLVE_ESYS
    ok = ok && dynlib_open(&tctildr);
#define TSS_API_RESOLVE_TCTILDR(member, fn) ok = ok && DYNLIB_RESOLVE(&tctildr, api, member, fn);
    TSS_TCTILDR_FUNCTIONS(TSS_API_RESOLVE_TCTILDR)
#undef TSS_API_RESOLVE_TCTILDR
}

dga_err tss_api_load(const struct tss_api **ret, struct dga_diag *diag)
{
    pthread_once(&once, load);
    dga_err e = dynlib_status(&esys, diag);
    if (e == DGA_E_OK) {
        e = dynlib_status(&tctildr, diag);
    }
    if (e == DGA_E_OK && ret != NULL) {
        *ret = &api;
    }
    return e;
}
