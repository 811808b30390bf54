/* SPDX-License-Identifier: Apache-2.0 */
/* The child-process core of the NVML jobs (collect/child.h). */
#define _GNU_SOURCE /* environ, the GNU strerror_r */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect/child.h"
#include "collect/internal.h"

int64_t child_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The file actions: a given stdin is placed before stdout, /dev/null after it. */
static int child_file_actions(posix_spawn_file_actions_t *fa, int in_fd, int out_fd)
{
    int rc = in_fd >= 0 ? posix_spawn_file_actions_adddup2(fa, in_fd, STDIN_FILENO) : 0;
    rc = rc != 0 ? rc : posix_spawn_file_actions_adddup2(fa, out_fd, STDOUT_FILENO);
    if (rc == 0 && in_fd < 0) {
        rc = posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    }
    return rc;
}

static int spawn(const char *program, char *const argv[], int in_fd, int out_fd, pid_t *ret_pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    sigemptyset(&none);
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0) {
        return rc;
    }
    rc = posix_spawnattr_init(&attr);
    if (rc == 0) {
        rc = child_file_actions(&fa, in_fd, out_fd);
        rc = rc != 0 ? rc : posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
        rc = rc != 0 ? rc : posix_spawnattr_setsigmask(&attr, &none);
        rc = rc != 0 ? rc : posix_spawn(ret_pid, program, &fa, &attr, argv, environ);
        posix_spawnattr_destroy(&attr);
    }
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

dga_err child_spawn(const char *program, char *const argv[], int in_fd, int out_fd, pid_t *ret_pid,
                    struct dga_nvml_error *err)
{
    int rc = spawn(program, argv, in_fd, out_fd, ret_pid);
    if (rc == 0) {
        return DGA_E_OK;
    }
    char buf[96];
    nvml_error_set(err, DGA_E_IO, CHILD_FUNCTION, -1);
    if (err != NULL) {
        snprintf(err->nvml_message, sizeof err->nvml_message, "posix_spawn: %s",
                 strerror_r(rc, buf, sizeof buf));
    }
    return DGA_E_IO;
}

dga_err child_wait_readable(int fd, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - child_now_ms();
        if (left <= 0) {
            return DGA_E_NVML_TIMEOUT;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
        if (n > 0) {
            return DGA_E_OK;
        }
        if (n < 0 && errno != EINTR) {
            return DGA_E_IO;
        }
        /* interrupted, or the 60 s slice ran out: re-check the deadline */
    }
}

int child_reap(pid_t pid, bool kill_first)
{
    int status = -1;
    if (kill_first) {
        kill(pid, SIGKILL);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return status;
}

dga_err child_exit_failed(int status, struct dga_nvml_error *err)
{
    nvml_error_set(err, DGA_E_NVML_CALL, CHILD_FUNCTION, -1);
    if (err != NULL) {
        err->nvml_rc = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
        snprintf(err->nvml_message, sizeof err->nvml_message, "%s %d",
                 WIFSIGNALED(status) ? "terminated by signal" : "exited with status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    return DGA_E_NVML_CALL;
}
