/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A shared library loaded on first use (dlopen) instead of linked: libcurl,
 * libmicrohttpd and tpm2-tss cost every command ~6 ms and ~9 MB at load time
 * (their constructors: gnutls, p11-kit, krb5, ...), though only a few commands
 * call them. Each user keeps a static struct dynlib, a struct of typed
 * function pointers and a table of them (DYNLIB_SYM), and fills the struct
 * once (dynlib_load: pthread_once, as the proxy is multithreaded) with
 * dynlib_open and dynlib_resolve_all; a missing library or function is
 * DGA_E_RUNTIME_LIBRARY with the library's file name in diag->field, never a
 * crash. NVML and NSCQ, opened per use and closed, share the open and the
 * table resolution and report their own errors.
 *
 * Tests only: the environment variable test_env (e.g. DGA_TEST_LIBCURL), when
 * set, replaces the file name, so that the failure paths can be exercised
 * (/nonexistent, or a library lacking the functions). secure_getenv: ignored
 * in setuid or otherwise privileged-on-exec processes.
 */
#ifndef DGA_CORE_DYNLIB_H
#define DGA_CORE_DYNLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "dga/error.h"

#define DYNLIB_FAILURE_MAX 256

struct dynlib {
    const char *file;     /* the soname, e.g. "libcurl.so.4" */
    const char *test_env; /* the test-only override of file */
    pthread_once_t once;
    void *handle;                     /* kept for the process's life: never dlclose'd */
    dga_err err;                      /* DGA_E_OK once loaded and every function resolved */
    char failure[DYNLIB_FAILURE_MAX]; /* what failed, naming the file */
};

#define DYNLIB_INIT(file_, env_)                                                                   \
    {                                                                                              \
        .file = (file_), .test_env = (env_), .once = PTHREAD_ONCE_INIT, .handle = NULL,            \
        .err = DGA_E_OK, .failure = ""                                                             \
    }

/* dlopen(RTLD_NOW | RTLD_LOCAL); false (l->err, l->failure set) if it cannot be loaded. */
bool dynlib_open(struct dynlib *l);

/* dlsym; NULL (l->err, l->failure set, naming the file and the function) if it is missing. */
void *dynlib_sym(struct dynlib *l, const char *name);

/* After the once routine: l->err, with diag->field naming what failed. */
dga_err dynlib_status(const struct dynlib *l, struct dga_diag *diag);

/* Runs load once per process (l->once), then dynlib_status: every user's *_api_load. */
dga_err dynlib_load(struct dynlib *l, void (*load)(void), struct dga_diag *diag);

/*
 * One function of a library's table: its name there, and where its pointer goes in the
 * struct of typed function pointers the user keeps. DYNLIB_SYM(struct curl_api, easy_init,
 * curl_easy_init) builds one; it does not compile unless the member is pointer-sized.
 */
struct dynlib_sym {
    const char *name;
    size_t offset;
};

#define DYNLIB_SYM(api_type, member, fn)                                                           \
    {                                                                                              \
        .name = #fn,                                                                               \
        .offset = offsetof(api_type, member) +                                                     \
                  0 * sizeof(char[sizeof(((api_type *)0)->member) == sizeof(void *) ? 1 : -1])     \
    }

/*
 * Resolves every function of table[0..n) into the struct at api, stopping at the first
 * missing one: false then (l->err, l->failure set by dynlib_sym, naming the file and the
 * function), with *missing (if not NULL) its name for callers that report their own error.
 */
bool dynlib_resolve_all(struct dynlib *l, void *api, const struct dynlib_sym *table, size_t n,
                        const char **missing);

#define DYNLIB_N(table) (sizeof(table) / sizeof((table)[0]))

#endif
