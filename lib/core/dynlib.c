/* SPDX-License-Identifier: Apache-2.0 */
/* Shared libraries loaded on first use: dlopen, dlsym, and the failure as a named error. */
#define _GNU_SOURCE
#include <assert.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dynlib.h"

static const char *file_name(const struct dynlib *l)
{
    const char *over = l->test_env != NULL ? secure_getenv(l->test_env) : NULL;
    return over != NULL && over[0] != '\0' ? over : l->file;
}

/*
 * The failure text names the file: glibc's dlerror() already starts with it,
 * else it is put first. A long text is cut at the end, the file name kept.
 */
static void set_failure(struct dynlib *l, const char *file, const char *why)
{
    l->err = DGA_E_RUNTIME_LIBRARY;
    bool named = why != NULL && strstr(why, file) != NULL;
    int n = snprintf(l->failure, sizeof l->failure, "%s%s%s", named ? "" : file, named ? "" : ": ",
                     why != NULL ? why : "not loaded");
    if (n < 0) {
        snprintf(l->failure, sizeof l->failure, "%s", l->file);
    }
}

bool dynlib_open(struct dynlib *l)
{
    const char *file = file_name(l);
    l->handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (l->handle == NULL) {
        set_failure(l, file, dlerror());
        return false;
    }
    l->err = DGA_E_OK;
    return true;
}

void *dynlib_sym(struct dynlib *l, const char *name)
{
    if (l->handle == NULL) {
        return NULL;
    }
    (void)dlerror(); /* clear: a NULL symbol value is told apart from a missing one below */
    void *p = dlsym(l->handle, name);
    if (p == NULL) {
        const char *e = dlerror();
        char lacks[128];
        if (e == NULL || strstr(e, name) == NULL) { /* say which function, whatever dlerror says */
            int n = snprintf(lacks, sizeof lacks, "lacks %s", name);
            e = n > 0 ? lacks : "lacks a required function";
        }
        set_failure(l, file_name(l), e);
    }
    return p;
}

dga_err dynlib_status(const struct dynlib *l, struct dga_diag *diag)
{
    if (l->err != DGA_E_OK) {
        return dga_diag_set(diag, l->err, 0, l->failure);
    }
    return DGA_E_OK;
}

dga_err dynlib_load(struct dynlib *l, void (*load)(void), struct dga_diag *diag)
{
    pthread_once(&l->once, load);
    return dynlib_status(l, diag);
}

/* dlsym hands back an object pointer; POSIX guarantees it converts to a function pointer. */
static_assert(sizeof(void (*)(void)) == sizeof(void *), "function and object pointers differ");

bool dynlib_resolve_all(struct dynlib *l, void *api, const struct dynlib_sym *table, size_t n,
                        const char **missing)
{
    for (size_t i = 0; i < n; i++) {
        void *p = dynlib_sym(l, table[i].name);
        if (p == NULL) {
            if (missing != NULL) {
                *missing = table[i].name;
            }
            return false;
        }
        memcpy((char *)api + table[i].offset, &p, sizeof p);
    }
    return true;
}
