/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded whole-file reads (the one way input files are opened) and RFC 3339 time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "dga/util.h"

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

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
    __attribute__((cleanup(close_fd))) int fd = open(path, oflags);
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
    __attribute__((cleanup(close_fd))) int fd = -1;
    dga_err e = open_regular(path, flags, &fd);
    if (e != DGA_E_OK) {
        return e;
    }
    struct buf b = buf_init(cap);
    e = read_all(fd, &b);
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

dga_err dga_file_read(const char *path, size_t cap, uint8_t **ret, size_t *ret_len)
{
    return dga_file_read_flags(path, cap, 0, ret, ret_len);
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
    time_t t = timegm(&tm);
    if (t == (time_t)-1) {
        return DGA_E_BAD_ARGUMENT;
    }
    *ret = t;
    return DGA_E_OK;
}

void dga_time_format(time_t t, char out[21])
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, 21, "invalid-time");
    }
}
