/* SPDX-License-Identifier: Apache-2.0 */
/* tpm2-tss on first use: dlopen ESYS and the TCTI loader once, resolve (core/dynlib.h). */
#include "measure/tss_api.h"
#include "core/dynlib.h"

static struct dynlib esys = DYNLIB_INIT(DGA_LIBTSS2_ESYS_FILE, DGA_LIBTSS2_ESYS_TEST_ENV);
static struct dynlib tctildr = DYNLIB_INIT(DGA_LIBTSS2_TCTILDR_FILE, DGA_LIBTSS2_TCTILDR_TEST_ENV);
static struct tss_api api;

#define TSS_API_SYM(member, fn) DYNLIB_SYM(struct tss_api, member, fn),
static const struct dynlib_sym esys_syms[] = {TSS_ESYS_FUNCTIONS(TSS_API_SYM)};
static const struct dynlib_sym tctildr_syms[] = {TSS_TCTILDR_FUNCTIONS(TSS_API_SYM)};
#undef TSS_API_SYM

/* The TCTI loader is opened only once ESYS is complete: its status stays OK otherwise. */
static void load(void)
{
    (void)(dynlib_open(&esys) &&
           dynlib_resolve_all(&esys, &api, esys_syms, DYNLIB_N(esys_syms), NULL) &&
           dynlib_open(&tctildr) &&
           dynlib_resolve_all(&tctildr, &api, tctildr_syms, DYNLIB_N(tctildr_syms), NULL));
}

dga_err tss_api_load(const struct tss_api **ret, struct dga_diag *diag)
{
    dga_err e = dynlib_load(&esys, load, diag); /* loads both, once */
    if (e == DGA_E_OK) {
        e = dynlib_status(&tctildr, diag);
    }
    if (e == DGA_E_OK && ret != NULL) {
        *ret = &api;
    }
    return e;
}
