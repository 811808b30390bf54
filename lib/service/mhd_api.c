/* SPDX-License-Identifier: Apache-2.0 */
/* libmicrohttpd on first use: dlopen once, resolve (core/dynlib.h). */
#include "service/mhd_api.h"
#include "core/dynlib.h"

static struct dynlib lib = DYNLIB_INIT(DGA_LIBMHD_FILE, DGA_LIBMHD_TEST_ENV);
static struct mhd_api api;

static const struct dynlib_sym syms[] = {
#define MHD_API_SYM(member, fn) DYNLIB_SYM(struct mhd_api, member, fn),
    MHD_API_FUNCTIONS(MHD_API_SYM)
#undef MHD_API_SYM
};

static void load(void)
{
    (void)(dynlib_open(&lib) && dynlib_resolve_all(&lib, &api, syms, DYNLIB_N(syms), NULL));
}

dga_err mhd_api_load(const struct mhd_api **ret, struct dga_diag *diag)
{
    dga_err e = dynlib_load(&lib, load, diag);
    if (e == DGA_E_OK && ret != NULL) {
        *ret = &api;
    }
    return e;
}
