/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Emitting a runtime event the way dstack's emit_runtime_event does
 * (docs/measure.md, docs/formats.md §14):
 *   1. exclusive flock on the lock file, held to the end (unbounded wait);
 *   2. the digest version from the version file (missing: refuse);
 *   3. extend the register;
 *   4. only after the extend succeeded, append the JSON line to the log.
 * Everything that can fail without side effects (name, payload, the line
 * itself) is checked before step 3, so the only failure left after the
 * extend is the append, reported as DGA_E_EVENT_LOG_WRITE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "dga/util.h"
#include "measure/internal.h"

#define VERSION_FILE_MAX 16

/* mkdir -p of the log directory (dstack creates it if missing). */
static bool make_dirs(const char *dir)
{
    char *path = strdup(dir);
    bool ok = path != NULL;
    for (char *p = path != NULL ? path + 1 : NULL; ok && p != NULL && *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            ok = mkdir(path, 0755) == 0 || errno == EEXIST;
            *p = '/';
        }
    }
    ok = ok && (mkdir(path, 0755) == 0 || errno == EEXIST);
    free(path);
    return ok;
}

static dga_err take_lock(const struct dga_event_backend *b, int *ret_fd, struct dga_diag *diag)
{
    if (!make_dirs(b->log_dir)) {
        return dga_diag_set(diag, DGA_E_EVENT_LOCK, (size_t)errno, "log directory");
    }
    int fd = open(b->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return dga_diag_set(diag, DGA_E_EVENT_LOCK, (size_t)errno, "lock file");
    }
    int rc;
    do {
        rc = flock(fd, LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        int err = errno;
        close(fd);
        return dga_diag_set(diag, DGA_E_EVENT_LOCK, (size_t)err, "flock");
    }
    *ret_fd = fd;
    return DGA_E_OK;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* The version file holds "1" or "2" (surrounding whitespace tolerated). ENOENT -> *ret = 0. */
static dga_err read_version(const char *path, int *ret)
{
    uint8_t *text = NULL;
    size_t len = 0;
    errno = 0;
    dga_err e = dga_file_read(path, VERSION_FILE_MAX, &text, &len);
    if (e != DGA_E_OK) {
        *ret = 0;
        return errno == ENOENT ? DGA_E_OK : DGA_E_EVENT_VERSION_FILE;
    }
    size_t start = 0, end = len;
    while (start < end && strchr(" \t\r\n", text[start]) != NULL) {
        start++;
    }
    while (end > start && strchr(" \t\r\n", text[end - 1]) != NULL) {
        end--;
    }
    bool one = end - start == 1 && (text[start] == '1' || text[start] == '2');
    *ret = one ? text[start] - '0' : -1;
    free(text);
    return one ? DGA_E_OK : DGA_E_EVENT_VERSION_FILE;
}

/* Written once, atomically and durably (dga_file_write_atomic: the directory is flushed too). */
static dga_err write_version(const char *path, int version)
{
    char text = (char)('0' + version);
    return dga_file_write_atomic(path, &text, 1, 0644) == DGA_E_OK ? DGA_E_OK
                                                                   : DGA_E_EVENT_VERSION_FILE;
}

/* Writes the version when there is none yet; the same value again is a no-op. */
static dga_err settle_version(const char *path, int version)
{
    int current;
    dga_err e = read_version(path, &current);
    if (e != DGA_E_OK) {
        return e;
    }
    if (current == 0) {
        return write_version(path, version);
    }
    if (current != version) {
        return DGA_E_EVENT_VERSION_FILE; /* set once per boot; another value needs a restart */
    }
    return DGA_E_OK;
}

dga_err dga_event_version_set(const struct dga_event_backend *b, enum dga_event_version v,
                              struct dga_diag *diag)
{
    if (v != DGA_EVENT_V1 && v != DGA_EVENT_V2) {
        return dga_diag_set(diag, DGA_E_EVENT_VERSION, 0, "version");
    }
    _cleanup_(closep) int lock = -1; /* closing it releases the flock */
    dga_err e = take_lock(b, &lock, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    _cleanup_(freep) char *path = path_in(b->log_dir, DGA_EVENT_VERSION_FILE);
    if (path == NULL) {
        return DGA_E_NOMEM;
    }
    e = settle_version(path, (int)v);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, DGA_EVENT_VERSION_FILE);
    }
    return DGA_E_OK;
}

static dga_err append_line(const char *path, const char *line)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return DGA_E_EVENT_LOG_WRITE;
    }
    dga_err e = dga_write_all(fd, line, strlen(line));
    return close(fd) == 0 && e == DGA_E_OK ? DGA_E_OK : DGA_E_EVENT_LOG_WRITE;
}

static dga_err extend(const struct dga_event_backend *b, const uint8_t *digest,
                      struct dga_diag *diag)
{
    switch (b->kind) {
    case BACKEND_SIM:
        return sim_extend(b, digest, diag);
    case BACKEND_TDX:
        return tdx_extend(b, digest, diag);
    case BACKEND_TPM:
        return tpm_extend(b, digest, diag);
    }
    return DGA_E_INTERNAL;
}

/* Checks that need no lock: the name, the payload size, a line we can build. */
static dga_err check_event(const char *name, const uint8_t *payload, size_t len,
                           struct dga_diag *diag)
{
    if (dga_event_name_check(name) != DGA_E_OK) {
        return dga_diag_set(diag, DGA_E_EVENT_NAME, 0, "name");
    }
    if (len > DGA_EVENT_PAYLOAD_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, len, "payload");
    }
    if (payload == NULL && len > 0) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "payload");
    }
    return DGA_E_OK;
}

/* The event's log line with its newline. */
static dga_err log_line_nl(enum dga_event_version v, const char *name, const uint8_t *payload,
                           size_t len, char **ret)
{
    _cleanup_(freep) char *line = NULL;
    dga_err e = dga_event_log_line(v, name, payload, len, &line);
    if (e != DGA_E_OK) {
        return e;
    }
    char *line_nl = NULL;
    if (asprintf(&line_nl, "%s\n", line) < 0) {
        return DGA_E_NOMEM;
    }
    *ret = line_nl;
    return DGA_E_OK;
}

dga_err dga_event_emit(const struct dga_event_backend *b, const char *name, const uint8_t *payload,
                       size_t len, struct dga_diag *diag)
{
    dga_err e = check_event(name, payload, len, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    _cleanup_(closep) int lock = -1; /* closing it releases the flock */
    e = take_lock(b, &lock, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    _cleanup_(freep) char *version_path = path_in(b->log_dir, DGA_EVENT_VERSION_FILE);
    _cleanup_(freep) char *log_path = path_in(b->log_dir, DGA_EVENT_LOG_FILE);
    if (version_path == NULL || log_path == NULL) {
        return DGA_E_NOMEM;
    }
    int version;
    e = read_version(version_path, &version);
    if (e != DGA_E_OK || version == 0) {
        return dga_diag_set(diag, DGA_E_EVENT_VERSION_FILE, 0, DGA_EVENT_VERSION_FILE);
    }
    enum dga_event_version v = version == 2 ? DGA_EVENT_V2 : DGA_EVENT_V1;
    uint8_t digest[DGA_EVENT_DIGEST_LEN];
    e = dga_event_digest(v, b->alg, name, payload, len, digest);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "event");
    }
    _cleanup_(freep) char *line_nl = NULL;
    e = log_line_nl(v, name, payload, len, &line_nl);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "event");
    }
    e = extend(b, digest, diag); /* a failure here leaves the log untouched */
    if (e != DGA_E_OK) {
        return e;
    }
    e = append_line(log_path, line_nl);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, (size_t)errno, DGA_EVENT_LOG_FILE);
    }
    return DGA_E_OK;
}
