/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The collateral directory: OCSP responses as <dir>/ocsp/<key>.der, where
 * key is the lowercase hex SHA-256 of the response's DER CertID
 * (dga_ocsp_cert_key). Files are written atomically by core's writer
 * (dga_file_write_atomic: temporary file, fsync, rename, fsync of the
 * directory), so a crash or a concurrent reader never sees half a response. What a file holds is
 * never trusted: every read is verified like a response from the network.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dga/collateral.h"
#include "dga/util.h"

dga_err dga_collateral_write_atomic(const char *path, const uint8_t *data, size_t len)
{
    dga_err e = dga_file_write_atomic(path, data, len, 0644);
    return e == DGA_E_OK || e == DGA_E_BAD_ARGUMENT ? e : DGA_E_COLLATERAL_STORE;
}

static bool key_ok(const char *key)
{
    if (key == NULL || strlen(key) != 2 * 32) {
        return false;
    }
    for (const char *p = key; *p != '\0'; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
            return false;
        }
    }
    return true;
}

dga_err dga_collateral_ocsp_path(const char *dir, const char *key, char *out, size_t cap)
{
    if (dir == NULL || !key_ok(key)) {
        return DGA_E_BAD_ARGUMENT;
    }
    int n = snprintf(out, cap, "%s/ocsp/%s.der", dir, key);
    return n > 0 && (size_t)n < cap ? DGA_E_OK : DGA_E_BAD_ARGUMENT;
}

dga_err dga_collateral_ocsp_read(const char *dir, const char *key, uint8_t **ret, size_t *ret_len)
{
    char path[4096];
    dga_err e = dga_collateral_ocsp_path(dir, key, path, sizeof path);
    if (e != DGA_E_OK) {
        return e;
    }
    /*
     * One open, O_NOFOLLOW, then fstat of that descriptor: no check by path before it,
     * which another process could make stale. Missing at that open is no response.
     */
    e = dga_file_read_flags(path, DGA_OCSP_RESPONSE_MAX, DGA_FILE_NOFOLLOW, ret, ret_len);
    if (e == DGA_E_IO) {
        return errno == ENOENT ? DGA_E_OCSP_NO_RESPONSE : DGA_E_COLLATERAL_STORE;
    }
    return e;
}

static dga_err ensure_dir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? DGA_E_OK : DGA_E_COLLATERAL_STORE;
    }
    return DGA_E_COLLATERAL_STORE;
}

dga_err dga_collateral_ocsp_store(const char *dir, const uint8_t *der, size_t len)
{
    char key[DGA_OCSP_KEY_LEN], sub[4096], path[4096];
    dga_err e = dga_ocsp_response_key(der, len, key);
    if (e != DGA_E_OK) {
        return e;
    }
    if (dir == NULL || snprintf(sub, sizeof sub, "%s/ocsp", dir) >= (int)sizeof sub) {
        return DGA_E_BAD_ARGUMENT;
    }
    e = ensure_dir(dir);
    if (e != DGA_E_OK) {
        return e;
    }
    e = ensure_dir(sub);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_collateral_ocsp_path(dir, key, path, sizeof path);
    if (e != DGA_E_OK) {
        return e;
    }
    return dga_collateral_write_atomic(path, der, len);
}
