/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NVML state reader (dga/collect.h): one long-lived child answers "state" requests over
 * a pair of pipes, so a read costs two pipe round trips instead of a program image, a dlopen
 * and an nvmlInit. What a child per job gives (deadline.c) stays: the parent waits at most the
 * read's deadline, and a child that misses it, garbles its answer or dies is SIGKILLed and
 * reaped and that read fails closed; the next read spawns a fresh child. The child is
 * single-threaded and does one NVML read at a time, so a wedged driver call wedges only it.
 *
 * The protocol, both ways one line: the parent writes "state\n"; the child writes the same
 * JSON the one-shot `state` child writes (collect_state_json), then "\n". The child exits 0 at
 * EOF on its stdin (the parent's free), 2 on anything else.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/child.h"
#include "collect/internal.h"
#include "collect/testing.h"
#include "core/cleanup.h"
#include "dga/util.h"
#define STATE_REQUEST "state\n"
#define STATE_REQUEST_MAX 16
/* The longest answer: an error object with every string at its cap, escaped (\u00XX). */
#define STATE_REPLY_MAX 4096
/* How long the free waits for the child to exit on its own before it kills it. */
#define STATE_EXIT_GRACE_MS 1000

struct dga_nvml_state_reader {
    char nvml[PATH_MAX];
    unsigned timeout_ms;
    pid_t pid;    /* the running child, -1: none */
    int req_fd;   /* the write end of its stdin */
    int reply_fd; /* the read end of its stdout */
};

/* ---- the child ---- */

/* One request line: 1 "state", 0 EOF before any byte, -1 anything else. */
static int read_request(int fd)
{
    char line[STATE_REQUEST_MAX];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, line + len, sizeof line - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n == 0 && len == 0 ? 0 : -1;
        }
        len += (size_t)n;
        if (memchr(line, '\n', len) != NULL) {
            /* exactly the request: the parent never sends a second before the answer */
            return len == strlen(STATE_REQUEST) && memcmp(line, STATE_REQUEST, len) == 0 ? 1 : -1;
        }
        if (len == sizeof line) {
            return -1;
        }
    }
}

/* The answer line to fd 1. false when it cannot be made or written: the child then exits. */
static bool answer(const char *nvml_path, struct dga_nvml **nvml)
{
    _cleanup_(json_decrefp) json_t *j = collect_state_json(nvml_path, nvml);
    _cleanup_(freep) char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text == NULL) {
        return false;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps' NUL: the line's end (written by length) */
    return dga_write_all(STDOUT_FILENO, text, len + 1) == DGA_E_OK;
}

int state_server_main(int argc, char **argv)
{
    size_t path_len = argc == 3 ? strnlen(argv[2], PATH_MAX) : 0;
    if (path_len == 0 || path_len == PATH_MAX) {
        return 2;
    }
    struct dga_nvml *nvml = NULL; /* opened at the first request, kept while it answers */
    int rc = 0;
    for (;;) {
        int req = read_request(STDIN_FILENO);
        if (req != 1) {
            rc = req == 0 ? 0 : 2;
            break;
        }
        if (!answer(argv[2], &nvml)) {
            rc = 1;
            break;
        }
    }
    dga_nvml_close(nvml);
    return rc;
}

/* ---- the parent ---- */

dga_err dga_nvml_state_reader_new(const char *nvml_path, unsigned timeout_ms,
                                  struct dga_nvml_state_reader **ret)
{
    const char *path = nvml_path != NULL ? nvml_path : DGA_NVML_DEFAULT_PATH;
    size_t len = strnlen(path, PATH_MAX);
    if (len == 0 || len == PATH_MAX) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct dga_nvml_state_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return DGA_E_NOMEM;
    }
    memcpy(r->nvml, path, len + 1);
    r->timeout_ms = timeout_ms;
    r->pid = -1;
    r->req_fd = -1;
    r->reply_fd = -1;
    *ret = r;
    return DGA_E_OK;
}

pid_t dga_nvml_state_reader_pid(const struct dga_nvml_state_reader *r)
{
    return r->pid;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* posix_spawn()s the child: stdin from req[0], stdout to reply[1]. */
static dga_err spawn_server(const struct dga_nvml_state_reader *r, const char *program,
                            const int req[2], const int reply[2], pid_t *ret_pid,
                            struct dga_nvml_error *err)
{
    char name[] = "dstack-gpu-attest-nvml-child", command[] = DGA_COLLECT_CHILD_COMMAND,
         op[] = STATE_SERVER_OP, nvml[PATH_MAX];
    memcpy(nvml, r->nvml, sizeof nvml);
    char *argv[] = {name, command, op, nvml, NULL};
    return child_spawn(program, argv, req[0], reply[1], ret_pid, err);
}

/*
 * Starts a child. Both pipes are O_CLOEXEC, so no other spawned program (another NVML job)
 * holds an end: the child sees EOF when this reader closes its request end, and this reader
 * sees EOF when the child dies.
 */
static dga_err start(struct dga_nvml_state_reader *r, const char *program,
                     struct dga_nvml_error *err)
{
    int req[2], reply[2];
    if (pipe2(req, O_CLOEXEC) != 0) {
        return nvml_error_set(err, DGA_E_IO, CHILD_FUNCTION, -1);
    }
    if (pipe2(reply, O_CLOEXEC) != 0) {
        close(req[0]);
        close(req[1]);
        return nvml_error_set(err, DGA_E_IO, CHILD_FUNCTION, -1);
    }
    pid_t pid = -1;
    dga_err e = spawn_server(r, program, req, reply, &pid, err);
    close(req[0]);
    close(reply[1]);
    if (e != DGA_E_OK) {
        close(req[1]);
        close(reply[0]);
        return e;
    }
    r->pid = pid;
    r->req_fd = req[1];
    r->reply_fd = reply[0];
    return DGA_E_OK;
}

/* Kills (when kill_first) and reaps the child; its wait status, -1 if it could not be reaped. */
static int stop(struct dga_nvml_state_reader *r, bool kill_first)
{
    int status = -1;
    close_fd(&r->req_fd);
    close_fd(&r->reply_fd);
    if (r->pid > 0) {
        status = child_reap(r->pid, kill_first);
    }
    r->pid = -1;
    return status;
}

/* A read that failed closed: the child killed and reaped, e with function "collection child". */
static dga_err fail(struct dga_nvml_state_reader *r, dga_err e, struct dga_nvml_error *err)
{
    stop(r, true);
    return nvml_error_set(err, e, CHILD_FUNCTION, -1);
}

/* The child died before answering: its exit status, as deadline.c reports a child's. */
static dga_err died(struct dga_nvml_state_reader *r, struct dga_nvml_error *err)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL); /* it closed its stdout; it may not have exited yet */
    }
    return child_exit_failed(stop(r, false), err);
}

/*
 * Writes the request. A child that is gone makes the write fail with EPIPE: SIGPIPE is
 * blocked for this thread around it and the pending one taken, so the library never
 * kills its program. false when the child cannot take the request.
 */
static bool send_request(int fd)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    bool ok = dga_write_all(fd, STATE_REQUEST, strlen(STATE_REQUEST)) == DGA_E_OK;
    if (!ok && !sigismember(&old, SIGPIPE)) {
        const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}

/*
 * A running child that has the request. One that is gone (killed between reads: the write
 * fails, its end of the pipe closed at its death) never saw this request, so it is reaped and
 * replaced within this read; a fresh child that cannot take it has died.
 */
static dga_err ready_child(struct dga_nvml_state_reader *r, const char *program,
                           struct dga_nvml_error *err)
{
    if (r->pid > 0) {
        if (send_request(r->req_fd)) {
            return DGA_E_OK;
        }
        stop(r, true);
    }
    dga_err e = start(r, program, err);
    if (e != DGA_E_OK) {
        return e;
    }
    return send_request(r->req_fd) ? DGA_E_OK : died(r, err);
}

/* Reads the answer line into buf until its newline, EOF, the cap, or the deadline. */
static dga_err read_reply(int fd, int64_t deadline, char *buf, size_t *ret_len)
{
    size_t len = 0;
    for (;;) {
        dga_err e = child_wait_readable(fd, deadline);
        if (e != DGA_E_OK) {
            return e;
        }
        ssize_t got = read(fd, buf + len, STATE_REPLY_MAX - len);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return got == 0 ? DGA_E_NVML_CALL : DGA_E_IO; /* EOF: the child died */
        }
        len += (size_t)got;
        const char *nl = memchr(buf, '\n', len);
        if (nl != NULL) {
            /* one line and nothing after it: the child answers one request at a time */
            *ret_len = (size_t)(nl - buf);
            return nl == buf + len - 1 ? DGA_E_OK : DGA_E_BAD_JSON;
        }
        if (len == STATE_REPLY_MAX) {
            return DGA_E_TOO_LARGE;
        }
    }
}

dga_err dga_nvml_state_reader_read(struct dga_nvml_state_reader *r, struct dga_cc_settings *ret_cc,
                                   unsigned *ret_ready, struct dga_nvml_error *err)
{
    const char *program = collect_child_program();
    if (program == NULL) {
        /* no program to spawn (a single-threaded program that forks): one child per read */
        return dga_nvml_state_with_deadline(r->nvml, r->timeout_ms, ret_cc, ret_ready, err);
    }
    int64_t deadline = child_now_ms() + r->timeout_ms; /* a fresh child's start counts too */
    dga_err e = ready_child(r, program, err);
    if (e != DGA_E_OK) {
        return e;
    }
    char buf[STATE_REPLY_MAX];
    size_t len = 0;
    e = read_reply(r->reply_fd, deadline, buf, &len);
    if (e == DGA_E_NVML_CALL) {
        return died(r, err);
    }
    if (e != DGA_E_OK) {
        return fail(r, e, err);
    }
    struct dga_nvml_error parsed;
    e = collect_state_parse(buf, len, ret_cc, ret_ready, &parsed);
    if (e == DGA_E_BAD_JSON && strcmp(parsed.function, CHILD_FUNCTION) == 0) {
        return fail(r, e, err); /* not an answer: the child is not ours, or broken */
    }
    if (err != NULL && e != DGA_E_OK) {
        *err = parsed; /* NVML's error, answered: the child stays */
    }
    return e;
}

void dga_nvml_state_reader_free(struct dga_nvml_state_reader *r)
{
    if (r == NULL) {
        return;
    }
    if (r->pid > 0) {
        /* EOF on its requests: it shuts NVML down and exits; a wedged one is killed */
        close_fd(&r->req_fd);
        struct pollfd p = {.fd = r->reply_fd, .events = POLLIN};
        char sink[64];
        int64_t deadline = child_now_ms() + STATE_EXIT_GRACE_MS;
        while (child_now_ms() < deadline && poll(&p, 1, (int)(deadline - child_now_ms())) > 0 &&
               read(r->reply_fd, sink, sizeof sink) > 0) {
        }
        stop(r, true);
    }
    free(r);
}
