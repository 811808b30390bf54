/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The filesystem RIM store: <dir>/<id>.xml and re-issues in <dir>/<id>.d/.
 * The file name is the only binding between an id and a document (as in
 * libnvat's store), so ids are restricted to a safe alphabet before they touch a path.
 * A store that cannot be read is an error, never an empty store.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "dga/rim.h"
#include "dga/util.h"

#define RIM_ID_MAX 127
#define XML_SUFFIX ".xml"

bool dga_rim_id_valid(const char *rim_id)
{
    size_t n = strlen(rim_id);
    if (n == 0 || n > RIM_ID_MAX || rim_id[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = rim_id[i];
        bool ok = (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= 'a' && ch <= 'z') || ch == '_' || ch == '.' || ch == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

void dga_rim_candidates_clear(struct dga_rim_candidates *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        free(c->c[i].path);
        free(c->c[i].bytes);
    }
    memset(c, 0, sizeof *c);
}

/* Reads one document into the next slot. */
static dga_err add_candidate(struct dga_rim_candidates *c, char *path)
{
    if (c->n == DGA_RIM_STORE_MAX_CANDIDATES) {
        free(path);
        return DGA_E_TOO_LARGE;
    }
    struct dga_rim_candidate *slot = &c->c[c->n];
    /* A store entry: a symbolic link planted in the store is refused, not followed. */
    dga_err e =
        dga_file_read_flags(path, DGA_RIM_MAX_BYTES, DGA_FILE_NOFOLLOW, &slot->bytes, &slot->len);
    if (e != DGA_E_OK) {
        free(path);
        return e == DGA_E_IO ? DGA_E_RIM_STORE : e;
    }
    slot->path = path;
    c->n++;
    return DGA_E_OK;
}

static char *path_join(const char *a, const char *b, const char *suffix)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s%s", a, b, suffix) < 0) {
        return NULL;
    }
    return p;
}

static bool has_xml_suffix(const char *name)
{
    size_t n = strlen(name), s = strlen(XML_SUFFIX);
    return n > s && name[0] != '.' && strcmp(name + n - s, XML_SUFFIX) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.xml names of a re-issue directory, sorted; a missing directory is empty. */
static dga_err list_reissues(const char *dir, char **names, size_t *ret_n)
{
    DIR *d = opendir(dir);
    *ret_n = 0;
    if (d == NULL) {
        return errno == ENOENT ? DGA_E_OK : DGA_E_RIM_STORE;
    }
    dga_err e = DGA_E_OK;
    struct dirent *ent;
    while (e == DGA_E_OK && (ent = readdir(d)) != NULL) {
        if (!has_xml_suffix(ent->d_name)) {
            continue;
        }
        if (*ret_n == DGA_RIM_STORE_MAX_CANDIDATES) {
            e = DGA_E_TOO_LARGE;
        } else if ((names[*ret_n] = strdup(ent->d_name)) == NULL) {
            e = DGA_E_NOMEM;
        } else {
            (*ret_n)++;
        }
    }
    closedir(d);
    qsort(names, *ret_n, sizeof names[0], cmp_str);
    return e;
}

/* The file names list_reissues found. */
struct names {
    char *v[DGA_RIM_STORE_MAX_CANDIDATES];
    size_t n;
};

static void names_clearp(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++) {
        free(ns->v[i]);
    }
    ns->n = 0;
}

static dga_err read_reissues(const char *dir, const char *rim_id, struct dga_rim_candidates *c)
{
    _cleanup_(freep) char *sub = path_join(dir, rim_id, ".d");
    if (sub == NULL) {
        return DGA_E_NOMEM;
    }
    _cleanup_(names_clearp) struct names ns = {.n = 0};
    dga_err e = list_reissues(sub, ns.v, &ns.n);
    if (e != DGA_E_OK) {
        return e;
    }
    for (size_t i = 0; i < ns.n; i++) {
        char *path = path_join(sub, ns.v[i], "");
        if (path == NULL) {
            return DGA_E_NOMEM;
        }
        e = add_candidate(c, path); /* takes path, also on failure */
        if (e != DGA_E_OK) {
            return e;
        }
    }
    return DGA_E_OK;
}

static dga_err read_main(const char *dir, const char *rim_id, struct dga_rim_candidates *c)
{
    char *path = path_join(dir, rim_id, XML_SUFFIX);
    if (path == NULL) {
        return DGA_E_NOMEM;
    }
    struct stat st;
    if (lstat(path, &st) != 0) {
        dga_err e = errno == ENOENT ? DGA_E_OK : DGA_E_RIM_STORE;
        free(path);
        return e;
    }
    return add_candidate(c, path);
}

/* The main document, then the reissues; at least one of them. */
static dga_err read_candidates(const char *dir, const char *rim_id, struct dga_rim_candidates *c)
{
    dga_err e = read_main(dir, rim_id, c);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_reissues(dir, rim_id, c);
    if (e != DGA_E_OK) {
        return e;
    }
    if (c->n == 0) {
        return DGA_E_RIM_NOT_FOUND;
    }
    return DGA_E_OK;
}

/* A set on the heap (it is large): cleared, then freed. */
static void candidates_freep(struct dga_rim_candidates **p)
{
    dga_rim_candidates_clear(*p);
    free(*p);
    *p = NULL;
}

dga_err dga_rim_store_read(const char *dir, const char *rim_id, struct dga_rim_candidates *ret,
                           struct dga_diag *diag)
{
    if (!dga_rim_id_valid(rim_id)) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "RIM id");
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return dga_diag_set(diag, DGA_E_RIM_STORE, 0, "RIM store directory");
    }
    _cleanup_(candidates_freep) struct dga_rim_candidates *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = read_candidates(dir, rim_id, c);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "RIM document");
    }
    *ret = *c;
    memset(c, 0, sizeof *c); /* what it held is *ret's now */
    return DGA_E_OK;
}
