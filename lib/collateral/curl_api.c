/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl on first use: dlopen once, resolve, curl_global_init (core/dynlib.h). */
#include <stdio.h>

#include "collateral/curl_api.h"
#include "core/dynlib.h"

static struct dynlib lib = DYNLIB_INIT(DGA_LIBCURL_FILE, DGA_LIBCURL_TEST_ENV);
static struct curl_api api;

static const struct dynlib_sym syms[] = {
#define CURL_API_SYM(member, fn) DYNLIB_SYM(struct curl_api, member, fn),
    CURL_API_FUNCTIONS(CURL_API_SYM)
#undef CURL_API_SYM
};

static void load(void)
{
    bool ok = dynlib_open(&lib) && dynlib_resolve_all(&lib, &api, syms, DYNLIB_N(syms), NULL);
    /* Once, before any thread makes a handle: curl_easy_init's implicit init is not thread-safe. */
    CURLcode c = ok ? api.global_init(CURL_GLOBAL_DEFAULT) : CURLE_OK;
    if (ok && c != CURLE_OK) {
        lib.err = DGA_E_RUNTIME_LIBRARY;
        snprintf(lib.failure, sizeof lib.failure, "%s: curl_global_init failed (%d)", lib.file,
                 (int)c);
    }
}

dga_err curl_api_load(const struct curl_api **ret, struct dga_diag *diag)
{
    dga_err e = dynlib_load(&lib, load, diag);
    if (e == DGA_E_OK && ret != NULL) {
        *ret = &api;
    }
    return e;
}
