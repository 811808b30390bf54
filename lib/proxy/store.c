/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy's on-disk cache, laid out as dstack's: <dir>/{ocsp,rim}/<hex key>.body
 * and <hex key>.json ({content_type, fetched_at, expires_at, body_sha256, source}).
 * Each file is written to a temporary name, fsync'd and renamed, so a crash
 * leaves either the old or the new file; a body whose SHA-256 differs from
 * its metadata (torn pair, bit rot, tampering) is refused on read.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/cleanup.h"
#include "dga/util.h"
#include "proxy/internal.h"

#define META_MAX (SOURCE_MAX + 4096)

const char *const proxy_kind_dir[DGA_PROXY_KIND__COUNT] = {"ocsp", "rim"};

struct body *body_new(const uint8_t *data, size_t len)
{
    struct body *b = malloc(sizeof *b + len);
    if (b == NULL) {
        return NULL;
    }
    atomic_init(&b->refs, 1);
    b->len = len;
    if (len > 0) {
        memcpy(b->data, data, len);
    }
    return b;
}

struct body *body_ref(struct body *b)
{
    atomic_fetch_add(&b->refs, 1);
    return b;
}

void body_unref(struct body *b)
{
    if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1) {
        free(b);
    }
}

time_t entry_servable_until(const struct dga_proxy_config *c, const struct entry *e)
{
    return e->kind == DGA_PROXY_KIND_RIM ? e->expires_at + (time_t)c->rim_max_stale : e->expires_at;
}

void entry_free(struct entry *e)
{
    if (e != NULL) {
        body_unref(e->body);
        free(e->source);
        free(e);
    }
}

static dga_err make_dir(const char *path)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        return DGA_E_IO;
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? DGA_E_OK : DGA_E_IO;
}

dga_err store_prepare(const char *dir)
{
    char path[DGA_PROXY_PATH_MAX + 16];
    dga_err e = make_dir(dir);
    for (int k = 0; k < DGA_PROXY_KIND__COUNT && e == DGA_E_OK; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, proxy_kind_dir[k]);
        e = make_dir(path);
    }
    return e;
}

/* <dir>/<kind>/<hex key><suffix> */
static void entry_path(char *out, size_t n, const char *dir, enum dga_proxy_kind kind,
                       const uint8_t key[32], const char *suffix)
{
    char hex[65];
    dga_hex_encode(key, 32, hex);
    snprintf(out, n, "%s/%s/%s%s", dir, proxy_kind_dir[kind], hex, suffix);
}

/*
 * Core's atomic writer: ".<name>.XXXXXX" beside path (cache_load removes
 * leftovers by that prefix), owner-only, fsync, rename, fsync of the folder.
 */
static dga_err write_atomic(const char *path, const uint8_t *data, size_t len)
{
    return dga_file_write_atomic(path, data, len, 0600) == DGA_E_OK ? DGA_E_OK : DGA_E_IO;
}

static json_t *meta_json(const struct entry *e)
{
    char sha[65];
    dga_hex_encode(e->body_sha256, 32, sha);
    json_t *source = e->kind == DGA_PROXY_KIND_OCSP
                         ? json_pack("{s:s}", "ocsp_request_b64", e->source)
                         : json_pack("{s:s}", "rim_id", e->source);
    return json_pack("{s:s,s:I,s:I,s:I,s:s,s:o}", "content_type", e->content_type, "fetched_at",
                     (json_int_t)e->fetched_at, "expires_at", (json_int_t)e->expires_at,
                     "this_update", (json_int_t)e->this_update, "body_sha256", sha, "source",
                     source);
}

dga_err store_write(const char *dir, const struct entry *e)
{
    char path[DGA_PROXY_PATH_MAX + 128];
    json_t *j = meta_json(e);
    _cleanup_(freep) char *text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    if (text == NULL) {
        return DGA_E_NOMEM;
    }
    /* Body first: until the metadata is renamed in, a reader sees a digest mismatch. */
    entry_path(path, sizeof path, dir, e->kind, e->key, ".body");
    dga_err err = write_atomic(path, e->body->data, e->body->len);
    if (err != DGA_E_OK) {
        return err;
    }
    entry_path(path, sizeof path, dir, e->kind, e->key, ".json");
    return write_atomic(path, (const uint8_t *)text, strlen(text));
}

void store_remove(const char *dir, enum dga_proxy_kind kind, const uint8_t key[32])
{
    char path[DGA_PROXY_PATH_MAX + 128];
    entry_path(path, sizeof path, dir, kind, key, ".json");
    unlink(path);
    entry_path(path, sizeof path, dir, kind, key, ".body");
    unlink(path);
}

/* A JSON integer that fits time_t and is not negative. */
static bool get_time(json_t *o, const char *name, time_t *ret)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return false;
    }
    *ret = (time_t)json_integer_value(v);
    return true;
}

static dga_err parse_meta(json_t *j, enum dga_proxy_kind kind, struct entry *e)
{
    const char *ct = json_string_value(json_object_get(j, "content_type"));
    const char *sha = json_string_value(json_object_get(j, "body_sha256"));
    const char *src = json_string_value(json_object_get(
        json_object_get(j, "source"), kind == DGA_PROXY_KIND_OCSP ? "ocsp_request_b64" : "rim_id"));
    if (ct == NULL || strlen(ct) >= sizeof e->content_type || sha == NULL || src == NULL ||
        strlen(src) >= SOURCE_MAX || !get_time(j, "fetched_at", &e->fetched_at) ||
        !get_time(j, "expires_at", &e->expires_at) ||
        dga_hex_decode_exact(sha, e->body_sha256, 32) != DGA_E_OK) {
        return DGA_E_PROXY_CACHE_CORRUPT;
    }
    if (!get_time(j, "this_update", &e->this_update)) {
        e->this_update = 0; /* written by dstack's proxy, which does not keep it */
    }
    memcpy(e->content_type, ct, strlen(ct) + 1);
    e->source = strdup(src);
    return e->source != NULL ? DGA_E_OK : DGA_E_NOMEM;
}

static dga_err read_meta(const char *path, enum dga_proxy_kind kind, struct entry *e)
{
    uint8_t *text = NULL;
    size_t len = 0;
    if (dga_file_read_flags(path, META_MAX, DGA_FILE_NOFOLLOW, &text, &len) != DGA_E_OK) {
        return DGA_E_PROXY_CACHE_CORRUPT;
    }
    json_t *j = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    dga_err err = json_is_object(j) ? parse_meta(j, kind, e) : DGA_E_PROXY_CACHE_CORRUPT;
    json_decref(j);
    return err;
}

static dga_err read_body(const char *path, size_t cap, struct entry *e)
{
    uint8_t *data = NULL;
    size_t len = 0;
    uint8_t digest[32];
    if (dga_file_read_flags(path, cap, DGA_FILE_NOFOLLOW, &data, &len) != DGA_E_OK) {
        return DGA_E_PROXY_CACHE_CORRUPT;
    }
    dga_err err = DGA_E_PROXY_CACHE_CORRUPT;
    if (EVP_Digest(data, len, digest, NULL, EVP_sha256(), NULL) == 1 &&
        dga_mem_equal(digest, e->body_sha256, 32)) {
        e->body = body_new(data, len);
        err = e->body != NULL ? DGA_E_OK : DGA_E_NOMEM;
    }
    free(data);
    return err;
}

dga_err store_read(const char *dir, enum dga_proxy_kind kind, const char *json_name,
                   size_t body_cap, struct entry **ret)
{
    size_t n = strlen(json_name);
    if (n != 64 + 5 || strcmp(json_name + 64, ".json") != 0) {
        return DGA_E_PROXY_CACHE_CORRUPT;
    }
    struct entry *e = calloc(1, sizeof *e);
    if (e == NULL) {
        return DGA_E_NOMEM;
    }
    e->kind = kind;
    char hex[65];
    memcpy(hex, json_name, 64);
    hex[64] = '\0';
    char path[DGA_PROXY_PATH_MAX + 128];
    dga_err err =
        dga_hex_decode_exact(hex, e->key, 32) == DGA_E_OK ? DGA_E_OK : DGA_E_PROXY_CACHE_CORRUPT;
    if (err == DGA_E_OK) {
        entry_path(path, sizeof path, dir, kind, e->key, ".json");
        err = read_meta(path, kind, e);
    }
    if (err == DGA_E_OK) {
        entry_path(path, sizeof path, dir, kind, e->key, ".body");
        err = read_body(path, body_cap, e);
    }
    if (err != DGA_E_OK) {
        entry_free(e);
        return err;
    }
    *ret = e;
    return DGA_E_OK;
}
