/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcurl, loaded on first use (core/dynlib.h): the functions the one HTTP
 * client (http.c, which the proxy's upstream calls too) uses, typed from curl/curl.h itself
 * (__typeof__ of each declaration: no hand-written prototypes, no link-time
 * reference). curl_global_init runs once, with the load.
 */
#ifndef DGA_COLLATERAL_CURL_API_H
#define DGA_COLLATERAL_CURL_API_H

#include <curl/curl.h>

#include "dga/error.h"

#define DGA_LIBCURL_FILE "libcurl.so.4"
#define DGA_LIBCURL_TEST_ENV "DGA_TEST_LIBCURL" /* tests only: replaces the file name */

/* X(member, libcurl function) */
#define CURL_API_FUNCTIONS(X)                                                                      \
    X(global_init, curl_global_init)                                                               \
    X(easy_init, curl_easy_init)                                                                   \
    X(easy_setopt, curl_easy_setopt)                                                               \
    X(easy_perform, curl_easy_perform)                                                             \
    X(easy_getinfo, curl_easy_getinfo)                                                             \
    X(easy_strerror, curl_easy_strerror)                                                           \
    X(easy_cleanup, curl_easy_cleanup)                                                             \
    X(slist_append, curl_slist_append)                                                             \
    X(slist_free_all, curl_slist_free_all)

struct curl_api {
#define CURL_API_FIELD(member, fn) __typeof__(fn) *member;
    CURL_API_FUNCTIONS(CURL_API_FIELD)
#undef CURL_API_FIELD
};

/*
 * Loads libcurl once per process (thread-safe) and initializes it. *ret: the
 * functions, valid for the process's life. DGA_E_RUNTIME_LIBRARY (diag->field
 * names the file and what failed) when it cannot be loaded or initialized.
 */
dga_err curl_api_load(const struct curl_api **ret, struct dga_diag *diag);

#endif
