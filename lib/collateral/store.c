/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The collateral directory: OCSP responses as <dir>/ocsp/<key>.der, where
 * key is the lowercase hex SHA-256 of the response's DER CertID
 * (dga_ocsp_cert_key). Files are written atomically (temporary file, fsync,
 * rename, fsync of the directory), so a crash or a concurrent reader never
 * sees half a response. What a file holds is never trusted: every read is
 * verified like a response from the network.
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

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static bool write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The directory part of path ("." when there is none), for the fsync after rename. */
static void parent_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(out, cap, ".");
    } else if (slash == path) {
        snprintf(out, cap, "/");
    } else {
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
    }
}

static bool fsync_dir(const char *dir)
{
    __attribute__((cleanup(close_fd))) int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd >= 0 && fsync(fd) == 0;
}

dga_err dga_collateral_write_atomic(const char *path, const uint8_t *data, size_t len)
{
    char tmp[4096], dir[4096];
    if (path == NULL || (data == NULL && len > 0) ||
        snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp) {
        return DGA_E_BAD_ARGUMENT;
    }
    parent_of(path, dir, sizeof dir);
    __attribute__((cleanup(close_fd))) int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        return DGA_E_COLLATERAL_STORE;
    }
    bool ok = fchmod(fd, 0644) == 0 && write_all(fd, data, len) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    fd = -1;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        unlink(tmp);
        return DGA_E_COLLATERAL_STORE;
    }
    return fsync_dir(dir) ? DGA_E_OK : DGA_E_COLLATERAL_STORE;
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

dga_err dga_collateral_ocsp_read(const char *dir, const char *key, uint8_t **ret,
                                 size_t *ret_len)
{
    char path[4096];
    dga_err e = dga_collateral_ocsp_path(dir, key, path, sizeof path);
    if (e != DGA_E_OK) {
        return e;
    }
    struct stat st;
    if (lstat(path, &st) != 0) {
        return errno == ENOENT ? DGA_E_OCSP_NO_RESPONSE : DGA_E_COLLATERAL_STORE;
    }
    e = dga_file_read_flags(path, DGA_OCSP_RESPONSE_MAX, DGA_FILE_NOFOLLOW, ret, ret_len);
    return e == DGA_E_IO ? DGA_E_COLLATERAL_STORE : e;
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
    if (e == DGA_E_OK) {
        e = ensure_dir(sub);
    }
    if (e == DGA_E_OK) {
        e = dga_collateral_ocsp_path(dir, key, path, sizeof path);
    }
    return e == DGA_E_OK ? dga_collateral_write_atomic(path, der, len) : e;
}
