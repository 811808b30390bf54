/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The simulated register: a file holding the 48 raw bytes of an RTMR.
 * Extend = SHA-384(old || digest), written to a temporary file in the same
 * directory, flushed, then renamed over the register and the directory
 * flushed (dga_file_write_atomic), so a reader sees the old or the new value
 * and never a torn one, and a crash does not roll the register back. A missing file reads as 48
 * zero bytes, the value every replay starts from.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "dga/util.h"
#include "measure/internal.h"

dga_err sim_read(const struct dga_event_backend *b, uint8_t *out, struct dga_diag *diag)
{
    _cleanup_(closep) int fd =
        open(b->sim_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK); /* a FIFO: no wait */
    if (fd < 0 && errno == ENOENT) {
        memset(out, 0, DGA_EVENT_DIGEST_LEN);
        return DGA_E_OK;
    }
    struct stat st;
    uint8_t value[DGA_EVENT_DIGEST_LEN + 1];
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        read(fd, value, sizeof value) != DGA_EVENT_DIGEST_LEN) {
        return dga_diag_set(diag, DGA_E_REGISTER_STATE, 0, "sim register");
    }
    memcpy(out, value, DGA_EVENT_DIGEST_LEN);
    return DGA_E_OK;
}

/* The new value beside the register, renamed into place, the directory flushed (core's writer). */
static dga_err replace_register(const char *path, const uint8_t value[DGA_EVENT_DIGEST_LEN])
{
    dga_err e = dga_file_write_atomic(path, value, DGA_EVENT_DIGEST_LEN, 0600);
    return e == DGA_E_OK ? DGA_E_OK : DGA_E_REGISTER_EXTEND;
}

dga_err sim_extend(const struct dga_event_backend *b, const uint8_t *digest, struct dga_diag *diag)
{
    uint8_t in[2 * DGA_EVENT_DIGEST_LEN], value[DGA_EVENT_DIGEST_LEN];
    dga_err e = sim_read(b, in, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    memcpy(in + DGA_EVENT_DIGEST_LEN, digest, DGA_EVENT_DIGEST_LEN);
    if (measure_hash(DGA_HASH_SHA384, in, sizeof in, value) != 1) {
        return DGA_E_INTERNAL;
    }
    e = replace_register(b->sim_path, value);
    return e == DGA_E_OK ? DGA_E_OK : dga_diag_set(diag, e, 0, "sim register");
}
