/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded whole-file reads (the one way input files are opened), atomic whole-file
 * writes and RFC 3339 time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/utc.h"
#include "dga/util.h"

static dga_err read_all(int fd, struct buf *b)
{
    uint8_t chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return DGA_E_IO;
        }
        if (n == 0) {
            return DGA_E_OK;
        }
        dga_err e = buf_append(b, chunk, (size_t)n);
        if (e != DGA_E_OK) {
            return e;
        }
    }
}

/*
 * Opens path for reading without blocking on a FIFO or a device, and keeps
 * it only when it is a regular file; then makes reads blocking again.
 */
static dga_err open_regular(const char *path, unsigned flags, int *ret_fd)
{
    int oflags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    if ((flags & DGA_FILE_NOFOLLOW) != 0) {
        oflags |= O_NOFOLLOW;
    }
    _cleanup_(closep) int fd = open(path, oflags);
    if (fd < 0) {
        /* O_NOFOLLOW on a symbolic link fails with ELOOP: a refusal, not an I/O error */
        return errno == ELOOP && (flags & DGA_FILE_NOFOLLOW) != 0 ? DGA_E_NOT_REGULAR_FILE
                                                                  : DGA_E_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return DGA_E_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        return DGA_E_NOT_REGULAR_FILE;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        return DGA_E_IO;
    }
    *ret_fd = fd;
    fd = -1;
    return DGA_E_OK;
}

dga_err dga_file_read_flags(const char *path, size_t cap, unsigned flags, uint8_t **ret,
                            size_t *ret_len)
{
    _cleanup_(closep) int fd = -1;
    dga_err e = open_regular(path, flags, &fd);
    if (e != DGA_E_OK) {
        return e;
    }
    return dga_fd_read(fd, cap, ret, ret_len);
}

dga_err dga_write_all(int fd, const void *p, size_t len)
{
    const uint8_t *at = p;
    while (len > 0) {
        ssize_t n = write(fd, at, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return DGA_E_IO;
        }
        at += n;
        len -= (size_t)n;
    }
    return DGA_E_OK;
}

/*
 * The directory of path ("." when it has none) and the temporary name
 * "<dir>/.<name>.XXXXXX" beside it: hidden, so that listings by suffix never
 * see half a file. False when either does not fit.
 */
static bool temp_name(const char *path, char *dir, char *tmp, size_t cap)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash != NULL ? slash + 1 : path;
    int n = slash == NULL   ? snprintf(dir, cap, ".")
            : slash == path ? snprintf(dir, cap, "/")
                            : snprintf(dir, cap, "%.*s", (int)(slash - path), path);
    if (n < 0 || (size_t)n >= cap || *name == '\0') {
        return false;
    }
    n = snprintf(tmp, cap, "%.*s.%s.XXXXXX", (int)(name - path), path, name);
    return n > 0 && (size_t)n < cap;
}

static bool fsync_dir(const char *dir)
{
    _cleanup_(closep) int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd >= 0 && fsync(fd) == 0;
}

dga_err dga_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char dir[4096], tmp[4096];
    if (path == NULL || (data == NULL && len > 0) || (mode & ~(mode_t)07777) != 0 ||
        !temp_name(path, dir, tmp, sizeof tmp)) {
        return DGA_E_BAD_ARGUMENT;
    }
    /* mkostemp opens with O_CREAT | O_EXCL: never an existing file or a planted link. */
    int fd = mkostemp(tmp, O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return DGA_E_IO;
    }
    bool ok = fchmod(fd, mode) == 0 && dga_write_all(fd, data, len) == DGA_E_OK && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        unlink(tmp);
        return DGA_E_IO;
    }
    /* The rename itself is durable only once the directory is. */
    return fsync_dir(dir) ? DGA_E_OK : DGA_E_IO;
}

dga_err dga_file_read(const char *path, size_t cap, uint8_t **ret, size_t *ret_len)
{
    return dga_file_read_flags(path, cap, 0, ret, ret_len);
}

dga_err dga_fd_read(int fd, size_t cap, uint8_t **ret, size_t *ret_len)
{
    struct buf b = buf_init(cap);
    dga_err e = read_all(fd, &b);
    if (e == DGA_E_OK) {
        e = buf_terminate(&b);
    }
    if (e != DGA_E_OK) {
        buf_free(&b);
        return e;
    }
    *ret_len = b.len;
    *ret = buf_take(&b);
    return DGA_E_OK;
}

dga_err dga_time_parse(const char *text, time_t *ret)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (strlen(text) != 20) {
        return DGA_E_BAD_ARGUMENT;
    }
    const char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0') {
        return DGA_E_BAD_ARGUMENT;
    }
    return utc_from_tm(&tm, ret);
}

void dga_time_format(time_t t, char out[21])
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, 21, "invalid-time");
    }
}
