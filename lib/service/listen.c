/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The listen address, "ADDR:PORT", "[ADDR6]:PORT" or "unix:PATH": a config
 * value that a server's config check validates and the server binds, so it
 * sits apart from the server (dga_service_parse, no libmicrohttpd). And the
 * Unix sockets themselves (service/listen.h): bound here, or passed by
 * systemd.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dga/service.h"
#include "service/listen.h"

/* "unix:PATH": the path must fit sun_path with its NUL (no abstract names: no NUL inside). */
static dga_err parse_unix(const char *path, struct sockaddr_storage *ret, socklen_t *ret_len)
{
    struct sockaddr_un *un = (struct sockaddr_un *)ret;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof un->sun_path) {
        return DGA_E_BAD_ARGUMENT;
    }
    memset(ret, 0, sizeof *ret);
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n + 1);
    *ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return DGA_E_OK;
}

dga_err dga_service_parse_listen(const char *text, struct sockaddr_storage *ret, socklen_t *ret_len)
{
    if (strncmp(text, "unix:", 5) == 0) {
        return parse_unix(text + 5, ret, ret_len);
    }
    char host[256];
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof host || colon[1] == '\0') {
        return DGA_E_BAD_ARGUMENT;
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port > 65535 || colon[1] < '0' || colon[1] > '9') {
        return DGA_E_BAD_ARGUMENT;
    }
    memset(ret, 0, sizeof *ret);
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ret;
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) {
            return DGA_E_BAD_ARGUMENT;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *ret_len = sizeof *a6;
        return DGA_E_OK;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ret;
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
        return DGA_E_BAD_ARGUMENT;
    }
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *ret_len = sizeof *a4;
    return DGA_E_OK;
}

/* ---- Unix sockets ---- */

/* getgrnam_r's buffer grows on ERANGE up to this (a group with very many members). */
#define GROUP_BUF_MAX (1u << 20)

dga_err service_group_lookup(const char *name, gid_t *ret, struct dga_diag *diag)
{
    size_t size = 4096;
    for (;;) {
        char *buf = malloc(size);
        if (buf == NULL) {
            return DGA_E_NOMEM;
        }
        struct group gr, *found = NULL;
        int rc = getgrnam_r(name, &gr, buf, size, &found);
        gid_t gid = found != NULL ? gr.gr_gid : 0;
        free(buf);
        if (rc == ERANGE && size < GROUP_BUF_MAX) {
            size *= 2;
            continue;
        }
        if (rc != 0 || found == NULL) {
            return dga_diag_set(diag, DGA_E_SERVICE_GROUP, 0, "socket-group");
        }
        *ret = gid;
        return DGA_E_OK;
    }
}

/*
 * A socket file already at the path: a live instance's (a connection is
 * accepted, or would be but the backlog is full) or an earlier run's (refused:
 * nothing listens), which is removed. The probe does not block.
 */
static dga_err clear_stale(const struct sockaddr_un *un, socklen_t len, struct dga_diag *diag)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return dga_diag_set(diag, DGA_E_SERVICE_LISTEN, 0, "socket");
    }
    int err = connect(fd, (const struct sockaddr *)un, len) == 0 ? 0 : errno;
    close(fd);
    if (err == 0 || err == EAGAIN || err == EINPROGRESS) {
        return dga_diag_set(diag, DGA_E_SERVICE_IN_USE, 0, "socket path");
    }
    if (err == ENOENT) {
        return DGA_E_OK; /* gone since lstat */
    }
    if (err != ECONNREFUSED || (unlink(un->sun_path) != 0 && errno != ENOENT)) {
        return dga_diag_set(diag, DGA_E_SERVICE_LISTEN, 0, "socket path");
    }
    return DGA_E_OK;
}

/* The path is free: nothing there, or an earlier run's socket file now removed. */
static dga_err free_path(const struct sockaddr_un *un, socklen_t len, struct dga_diag *diag)
{
    struct stat st;
    if (lstat(un->sun_path, &st) != 0) {
        return errno == ENOENT ? DGA_E_OK
                               : dga_diag_set(diag, DGA_E_SERVICE_LISTEN, 0, "socket path");
    }
    if (!S_ISSOCK(st.st_mode)) {
        return dga_diag_set(diag, DGA_E_SERVICE_LISTEN, 0, "socket path");
    }
    return clear_stale(un, len, diag);
}

/* Bound at path: mode and group, then listen. On failure the file is removed. */
static dga_err finish_socket(int fd, const char *path, unsigned mode, const gid_t *gid,
                             struct dga_diag *diag)
{
    const char *step = NULL;
    if (chmod(path, mode != 0 ? mode : 0666) != 0) {
        step = "chmod";
    } else if (gid != NULL && chown(path, (uid_t)-1, *gid) != 0) {
        step = "chown";
    } else if (listen(fd, 64) != 0) {
        step = "listen";
    }
    if (step != NULL) {
        unlink(path);
        return dga_diag_set(diag, DGA_E_SERVICE_LISTEN, 0, step);
    }
    return DGA_E_OK;
}

dga_err service_unix_listen(const struct sockaddr_un *un, socklen_t len, unsigned mode,
                            const char *group, int *ret_fd, struct dga_diag *diag)
{
    gid_t gid = 0;
    bool has_group = group != NULL && group[0] != '\0';
    dga_err e = has_group ? service_group_lookup(group, &gid, diag) : DGA_E_OK;
    if (e == DGA_E_OK) {
        e = free_path(un, len, diag);
    }
    if (e != DGA_E_OK) {
        return e;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return dga_diag_set(diag, DGA_E_SERVICE_LISTEN, 0, "socket");
    }
    if (bind(fd, (const struct sockaddr *)un, len) != 0) {
        close(fd);
        return dga_diag_set(diag, DGA_E_SERVICE_LISTEN, 0, "bind");
    }
    e = finish_socket(fd, un->sun_path, mode, has_group ? &gid : NULL, diag);
    if (e != DGA_E_OK) {
        close(fd);
        return e;
    }
    *ret_fd = fd;
    return DGA_E_OK;
}

/* Decimal digits only, as sd_listen_fds reads them (no sign, no blanks). */
static bool parse_decimal(const char *text, unsigned long *ret)
{
    if (text == NULL || text[0] < '0' || text[0] > '9') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *ret = v;
    return true;
}

static bool is_listening_unix_stream(int fd)
{
    int type = 0, accepting = 0;
    socklen_t tl = sizeof type, al = sizeof accepting;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM &&
           getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &al) == 0 && accepting == 1 &&
           getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_UNIX;
}

/* An environment variable's value copied (unsetenv may drop it); false when unset or too long. */
static bool env_copy(const char *name, char *buf, size_t size)
{
    const char *v = getenv(name);
    if (v == NULL) {
        return false;
    }
    int n = snprintf(buf, size, "%s", v);
    if (n < 0 || (size_t)n >= size) {
        buf[0] = 'x'; /* kept, so that the value reads as invalid, not absent */
        buf[1] = '\0';
    }
    return true;
}

dga_err service_listen_fds(int *ret_fd, struct dga_diag *diag)
{
    char pid[32], fds[32];
    bool has_pid = env_copy("LISTEN_PID", pid, sizeof pid);
    bool has_fds = env_copy("LISTEN_FDS", fds, sizeof fds);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    unsigned long p = 0, n = 0;
    if (!has_pid) {
        *ret_fd = -1;
        return DGA_E_OK;
    }
    if (!parse_decimal(pid, &p)) {
        return dga_diag_set(diag, DGA_E_SERVICE_ACTIVATION, 0, "LISTEN_PID");
    }
    if (p != (unsigned long)getpid()) {
        *ret_fd = -1; /* meant for another process (a parent that did not unset them) */
        return DGA_E_OK;
    }
    if (!has_fds || !parse_decimal(fds, &n) || n != 1) {
        return dga_diag_set(diag, DGA_E_SERVICE_ACTIVATION, 0, "LISTEN_FDS");
    }
    int fd = SERVICE_LISTEN_FDS_START;
    if (!is_listening_unix_stream(fd) || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        return dga_diag_set(diag, DGA_E_SERVICE_ACTIVATION, 0, "fd 3");
    }
    *ret_fd = fd;
    return DGA_E_OK;
}
