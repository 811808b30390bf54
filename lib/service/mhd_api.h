/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libmicrohttpd, loaded on first use (core/dynlib.h): the functions the
 * servers (lib/service/server.c) call, typed from microhttpd.h itself (__typeof__ of each
 * declaration: no hand-written prototypes, no link-time reference).
 */
#ifndef DGA_SERVICE_MHD_API_H
#define DGA_SERVICE_MHD_API_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "dga/error.h"

#define DGA_LIBMHD_FILE "libmicrohttpd.so.12"
#define DGA_LIBMHD_TEST_ENV "DGA_TEST_LIBMICROHTTPD" /* tests only: replaces the file name */

/* X(member, libmicrohttpd function) */
#define MHD_API_FUNCTIONS(X)                                                                       \
    X(start_daemon, MHD_start_daemon)                                                              \
    X(stop_daemon, MHD_stop_daemon)                                                                \
    X(get_daemon_info, MHD_get_daemon_info)                                                        \
    X(lookup_connection_value, MHD_lookup_connection_value)                                        \
    X(get_connection_info, MHD_get_connection_info)                                                \
    X(create_response_from_buffer, MHD_create_response_from_buffer)                                \
    X(create_response_from_buffer_with_free_callback_cls,                                          \
      MHD_create_response_from_buffer_with_free_callback_cls)                                      \
    X(add_response_header, MHD_add_response_header)                                                \
    X(queue_response, MHD_queue_response)                                                          \
    X(destroy_response, MHD_destroy_response)

struct mhd_api {
#define MHD_API_FIELD(member, fn) __typeof__(fn) *member;
    MHD_API_FUNCTIONS(MHD_API_FIELD)
#undef MHD_API_FIELD
};

/*
 * Loads libmicrohttpd once per process (thread-safe). *ret: the functions,
 * valid for the process's life. DGA_E_RUNTIME_LIBRARY (diag->field names
 * the file and what failed) when it cannot be loaded.
 */
dga_err mhd_api_load(const struct mhd_api **ret, struct dga_diag *diag);

/*
 * A response holding its own copy of len bytes. MHD_RESPMEM_MUST_COPY only
 * reads the buffer, but MHD_create_response_from_buffer takes a void *: this
 * is the one place that drops the const for it.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
static inline struct MHD_Response *mhd_response_copy(const struct mhd_api *m, const void *data,
                                                     size_t len)
{
    return m->create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
}
#pragma GCC diagnostic pop

#endif
