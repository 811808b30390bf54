/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Extending TDX RTMR3 (docs/formats.md §14, dstack
 * tdx-attest linux.rs extend_rtmr):
 *  - if the sysfs measurement directory exists, write the 48 digest bytes to
 *    <dir>/rtmr3:sha384, and that is the only path tried: a failed write does
 *    not fall back (dstack does the same);
 *  - otherwise, if the TDX guest device exists, the downstream-kernel ioctl
 *    TDX_CMD_EXTEND_RTMR with struct { u8 data[48]; u8 index; } (49 bytes);
 *  - otherwise DGA_E_REGISTER_UNAVAILABLE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "measure/internal.h"

#define RTMR_SYSFS_FILE "rtmr3:sha384"
#define EXTEND_REQ_LEN (DGA_EVENT_DIGEST_LEN + 1)

static dga_err extend_sysfs(const char *dir, const uint8_t *digest, struct dga_diag *diag)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, RTMR_SYSFS_FILE) < 0) {
        return DGA_E_NOMEM;
    }
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    free(path);
    if (fd < 0) {
        return dga_diag_set(diag, register_errno(errno), (size_t)errno, RTMR_SYSFS_FILE);
    }
    /* The kernel takes the digest in one write; a short write is a failed extend. */
    ssize_t w = write(fd, digest, DGA_EVENT_DIGEST_LEN);
    int err = w < 0 ? errno : EIO;
    close(fd);
    if (w != DGA_EVENT_DIGEST_LEN) {
        return dga_diag_set(diag, register_errno(err), (size_t)err, RTMR_SYSFS_FILE);
    }
    return DGA_E_OK;
}

static dga_err extend_ioctl(const char *device, const uint8_t *digest, struct dga_diag *diag)
{
    uint8_t req[EXTEND_REQ_LEN]; /* data[48], index: no padding by construction */
    memcpy(req, digest, DGA_EVENT_DIGEST_LEN);
    req[DGA_EVENT_DIGEST_LEN] = DGA_EVENT_IMR;
    int fd = open(device, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return dga_diag_set(diag, register_errno(errno), (size_t)errno, "tdx device");
    }
    int rc = ioctl(fd, (unsigned long)DGA_TDX_CMD_EXTEND_RTMR, req);
    int err = errno;
    close(fd);
    if (rc != 0) {
        /* ENOTTY/EINVAL: the node is not a TDX guest device that knows this ioctl. */
        return dga_diag_set(diag, register_errno(err == ENOENT ? EIO : err), (size_t)err,
                            "TDX_CMD_EXTEND_RTMR");
    }
    return DGA_E_OK;
}

dga_err tdx_extend(const struct dga_event_backend *b, const uint8_t *digest, struct dga_diag *diag)
{
    struct stat st;
    if (stat(b->tdx_sysfs_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        return extend_sysfs(b->tdx_sysfs_dir, digest, diag);
    }
    if (stat(b->tdx_device, &st) == 0) {
        return extend_ioctl(b->tdx_device, digest, diag);
    }
    return dga_diag_set(diag, DGA_E_REGISTER_UNAVAILABLE, 0, "tdx");
}
