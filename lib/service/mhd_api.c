/* SPDX-License-Identifier: Apache-2.0 */
/* libmicrohttpd on first use: dlopen once, resolve (core/dynlib.h). */
#include "service/mhd_api.h"
#include "core/dynlib.h"

static struct dynlib lib = DYNLIB_INIT(DGA_LIBMHD_FILE, DGA_LIBMHD_TEST_ENV);
static struct mhd_api api;

static void load(void)
{
    bool ok = dynlib_open(&lib);
#define MHD_API_RESOLVE(member, fn) ok = ok && DYNLIB_RESOLVE(&lib, api, member, fn);
    MHD_API_FUNCTIONS(MHD_API_RESOLVE)
#undef MHD_API_RESOLVE
}

dga_err mhd_api_load(const struct mhd_api **ret, struct dga_diag *diag)
{
    pthread_once(&lib.once, load);
    dga_err e = dynlib_status(&lib, diag);
    if (e == DGA_E_OK && ret != NULL) {
        *ret = &api;
    }
    return e;
}
