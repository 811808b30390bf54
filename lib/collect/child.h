/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The child-process core the NVML jobs share (deadline.c: one child per job; state_reader.c:
 * one long-lived child): spawn a program on pipes, wait for its output until a deadline, kill
 * and reap it, and its failures as the "collection child" errors both report.
 */
#ifndef DGA_COLLECT_CHILD_H
#define DGA_COLLECT_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dga/collect.h"

/* The function a child's failure is reported under. */
#define CHILD_FUNCTION "collection child"

/* Milliseconds on the monotonic clock: what a child's deadline is measured on. */
int64_t child_now_ms(void);

/*
 * posix_spawn()s program with argv: stdin from in_fd (-1: /dev/null), stdout to out_fd,
 * stderr and the environment inherited (the fake NVML's scenario variable), no signal
 * blocked. Pipe ends made O_CLOEXEC are closed by the exec (dup2 clears the flag on the
 * copy). On failure DGA_E_IO, function "collection child", "posix_spawn: why" in nvml_message.
 */
dga_err child_spawn(const char *program, char *const argv[], int in_fd, int out_fd, pid_t *ret_pid,
                    struct dga_nvml_error *err);

/* Waits until fd can be read: DGA_E_OK, DGA_E_NVML_TIMEOUT at the deadline, DGA_E_IO. */
dga_err child_wait_readable(int fd, int64_t deadline);

/* SIGKILLs (when kill_first) and reaps the child: its wait status, -1 if it cannot be reaped. */
int child_reap(pid_t pid, bool kill_first);

/*
 * A child that died or exited without its answer: DGA_E_NVML_CALL, function "collection
 * child", nvml_rc its exit status (or minus the signal) and the reason in nvml_message.
 */
dga_err child_exit_failed(int status, struct dga_nvml_error *err);

#endif
