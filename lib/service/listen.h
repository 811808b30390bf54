/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The servers' Unix sockets (lib/service/listen.c): one bound here, with its
 * file's mode and group set before it accepts anyone and a stale file from
 * an earlier run told apart from a live instance's; or one systemd passed
 * (socket activation). No libmicrohttpd: the unit tests drive these alone.
 */
#ifndef DGA_SERVICE_LISTEN_H
#define DGA_SERVICE_LISTEN_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "dga/error.h"

/* The fd systemd passes first (SD_LISTEN_FDS_START). */
#define SERVICE_LISTEN_FDS_START 3

/*
 * A group's id by name: DGA_E_SERVICE_GROUP (diag->field "socket-group")
 * when there is no such group.
 */
dga_err service_group_lookup(const char *name, gid_t *ret, struct dga_diag *diag);

/*
 * A listening Unix stream socket (close-on-exec) at un->sun_path, its file
 * given mode (0: 0666) and, when group is non-NULL and non-empty, that
 * group, both before listen(): no one connects through a wider mode or the
 * wrong group. A socket file already at the path is probed first: when
 * something accepts a connection there (or its backlog is full) it belongs
 * to a running instance, DGA_E_SERVICE_IN_USE, and is left alone; only a
 * refused connection (ECONNREFUSED: no listener) makes it an earlier run's,
 * which is removed. Anything else at the path, or a probe that fails
 * otherwise, is DGA_E_SERVICE_LISTEN; an unknown group DGA_E_SERVICE_GROUP
 * (nothing touched). On failure no file of ours is left at the path.
 */
dga_err service_unix_listen(const struct sockaddr_un *un, socklen_t len, unsigned mode,
                            const char *group, int *ret_fd, struct dga_diag *diag);

/*
 * Socket activation, as sd_listen_fds(3) reads it, always unsetting
 * LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES so that children do not inherit
 * them (this changes the environment: call it before starting threads that
 * read it). *ret_fd = -1 when LISTEN_PID is unset or names another process
 * (the sockets were not meant for this one); else LISTEN_FDS must be 1 and
 * fd 3 a listening Unix stream socket, *ret_fd = 3 (made close-on-exec).
 * DGA_E_SERVICE_ACTIVATION otherwise, diag->field "LISTEN_PID" (not a
 * number), "LISTEN_FDS" (not 1) or "fd 3" (not a listening Unix stream
 * socket).
 */
dga_err service_listen_fds(int *ret_fd, struct dga_diag *diag);

#endif
