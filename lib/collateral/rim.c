/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RIM documents from NVIDIA's RIM service or a proxy speaking its protocol
 * (docs/formats.md §8), filed in a RIM store. What is fetched is only
 * bytes: the caller verifies them (dga_rim_parse, dga_rim_chain_verify,
 * dga_rim_signature_verify) before filing, and every reader verifies again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "collateral/curl_api.h"
#include "core/cleanup.h"
#include "dga/collateral.h"
#include "dga/rim.h"
#include "dga/util.h"

/* DGA_RIM_ID_PATTERN: safe as a path component and in a URL. */
static bool rim_id_ok(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n == 0 || n >= DGA_RIM_ID_MAX || id[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

dga_err dga_collateral_rim_answer(const uint8_t *body, size_t len, const char *id, uint8_t **ret,
                                  size_t *ret_len, struct dga_diag *diag)
{
    json_error_t jerr;
    if (len > DGA_RIM_RESPONSE_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, len, "answer");
    }
    _cleanup_(json_decrefp) json_t *doc =
        json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        return dga_diag_set(diag, DGA_E_BAD_JSON, doc == NULL ? (size_t)jerr.position : 0,
                            "answer");
    }
    const json_t *got_id = json_object_get(doc, "id");
    if (!json_is_string(got_id) || strcmp(json_string_value(got_id), id) != 0) {
        return dga_diag_set(diag, DGA_E_BAD_JSON, 0, "id");
    }
    const json_t *rim = json_object_get(doc, "rim");
    if (!json_is_string(rim) || json_string_length(rim) > 2 * DGA_RIM_MAX_BYTES) {
        return dga_diag_set(diag, DGA_E_BAD_JSON, 0, "rim");
    }
    _cleanup_(freep) uint8_t *xml = NULL;
    size_t xml_len = 0;
    dga_err e = dga_base64_decode(json_string_value(rim), json_string_length(rim), &xml, &xml_len);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "rim");
    }
    if (xml_len > DGA_RIM_MAX_BYTES) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, 0, "rim");
    }
    *ret = TAKE_PTR(xml);
    *ret_len = xml_len;
    return DGA_E_OK;
}

dga_err dga_collateral_rim_fetch(const char *base_url, const char *id,
                                 const struct dga_http_options *o, uint8_t **ret, size_t *ret_len,
                                 struct dga_diag *diag)
{
    char url[2048];
    const char *base = base_url != NULL ? base_url : DGA_RIM_SERVICE_DEFAULT_URL;
    size_t bl = strlen(base);
    if (!rim_id_ok(id)) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "RIM id");
    }
    /* No double slash when the base ends in one. */
    int n = snprintf(url, sizeof url, "%.*s/v1/rim/%s",
                     (int)(bl > 0 && base[bl - 1] == '/' ? bl - 1 : bl), base, id);
    if (n < 0 || (size_t)n >= sizeof url) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "URL");
    }
    struct dga_http_options local = *o;
    local.max_body = DGA_RIM_RESPONSE_MAX;
    struct dga_http_info info;
    _cleanup_(freep) uint8_t *body = NULL;
    size_t len = 0;
    dga_err e = dga_http_get(url, "application/json", &local, &body, &len, &info);
    if (e == DGA_E_COLLATERAL_HTTP && info.status == 404) {
        e = DGA_E_RIM_NOT_FOUND;
    }
    if (e == DGA_E_RUNTIME_LIBRARY) {
        return curl_api_load(NULL, diag); /* the same failure again, diag->field naming the file */
    }
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, (size_t)info.status, "RIM service");
    }
    return dga_collateral_rim_answer(body, len, id, ret, ret_len, diag);
}

/* A path holds <id>.d plus "/<64 hex>.xml": sized so that gcc can see it fits. */
#define RIM_STORE_DIR_MAX 4096
#define RIM_STORE_PATH_MAX (RIM_STORE_DIR_MAX + 80)

static dga_err ensure_dir(const char *path)
{
    struct stat st;
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        return DGA_E_COLLATERAL_STORE;
    }
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? DGA_E_OK : DGA_E_COLLATERAL_STORE;
}

/* The same bytes as the file at path (a missing file is not the same). */
static bool same_file(const char *path, const uint8_t *xml, size_t len)
{
    uint8_t *old = NULL;
    size_t old_len = 0;
    bool same = dga_file_read_flags(path, DGA_RIM_MAX_BYTES, DGA_FILE_NOFOLLOW, &old, &old_len) ==
                    DGA_E_OK &&
                old_len == len && memcmp(old, xml, len) == 0;
    free(old);
    return same;
}

/*
 * Another issue of the same id (NVIDIA re-issues RIMs): kept beside the first, as
 * <dir>/<id>.d/<SHA-256 hex>.xml, unless that file already holds these bytes.
 */
static dga_err store_reissue(const char *dir, const char *id, const char *sha_hex,
                             const uint8_t *xml, size_t len, bool *added)
{
    char sub[RIM_STORE_DIR_MAX], path[RIM_STORE_PATH_MAX];
    int n = snprintf(sub, sizeof sub, "%s/%s.d", dir, id);
    if (n <= 0 || (size_t)n >= sizeof sub) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = ensure_dir(sub);
    if (e != DGA_E_OK) {
        return e;
    }
    n = snprintf(path, sizeof path, "%s/%s.xml", sub, sha_hex);
    if (n < 0 || (size_t)n >= sizeof path) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (same_file(path, xml, len)) {
        return DGA_E_OK;
    }
    e = dga_collateral_write_atomic(path, xml, len);
    if (e != DGA_E_OK) {
        return e;
    }
    *added = true;
    return DGA_E_OK;
}

/* <dir>/<id>.xml when there is none; nothing when it holds these bytes; else a re-issue. */
static dga_err store_in(const char *dir, const char *id, const char *sha_hex, const uint8_t *xml,
                        size_t len, bool *added)
{
    char path[RIM_STORE_PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s.xml", dir, id);
    if (n < 0 || (size_t)n >= sizeof path) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = ensure_dir(dir);
    if (e != DGA_E_OK) {
        return e;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        e = dga_collateral_write_atomic(path, xml, len);
        if (e != DGA_E_OK) {
            return e;
        }
        *added = true;
        return DGA_E_OK;
    }
    if (same_file(path, xml, len)) {
        return DGA_E_OK;
    }
    return store_reissue(dir, id, sha_hex, xml, len, added);
}

dga_err dga_collateral_rim_store(const char *dir, const char *id, const uint8_t *xml, size_t len,
                                 bool *ret_added)
{
    char sha_hex[65];
    uint8_t sha[32];
    unsigned int sha_len = 0;
    if (dir == NULL || !rim_id_ok(id) || xml == NULL || len == 0 || len > DGA_RIM_MAX_BYTES ||
        EVP_Digest(xml, len, sha, &sha_len, EVP_sha256(), NULL) != 1) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_hex_encode(sha, sizeof sha, sha_hex);
    if (strlen(dir) > RIM_STORE_PATH_MAX - 2 * DGA_RIM_ID_MAX - 80) {
        return DGA_E_BAD_ARGUMENT;
    }
    bool added = false;
    dga_err e = store_in(dir, id, sha_hex, xml, len, &added);
    /* Also on a failure (false): only a file this call wrote counts as added. */
    if (ret_added != NULL) {
        *ret_added = added;
    }
    return e;
}
