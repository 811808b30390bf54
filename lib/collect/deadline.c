/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NVML work with a hard deadline. NVML is a synchronous C API with no
 * per-call timeout, and a wedged driver can block a call forever; a thread
 * cannot be cancelled safely inside it. So the whole job (dlopen, init,
 * collect or set the ready state, shutdown) runs in a forked child that
 * writes its result as JSON to a pipe; the parent waits at most the deadline, then SIGKILLs and
 * reaps the child and fails closed with DGA_E_NVML_TIMEOUT. The parent parses the child's bytes
 * with the capped, strict collection reader. The child runs ordinary library code after fork():
 * glibc keeps malloc and stdio usable in a child of a threaded process (the RPC service is
 * one), and a child that blocks on a lock a vanished thread held is killed at the deadline like
 * a wedged driver, so the parent still fails closed.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect/internal.h"
#include "core/cleanup.h"
#include "dga/util.h"

#define CHILD_FUNCTION "collection child"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *error_json(const struct dga_nvml_error *err)
{
    return json_pack("{s:s,s:s,s:i,s:s,s:i}", "error", dga_err_name(err->err), "function",
                     err->function, "nvml_rc", err->nvml_rc, "nvml_message", err->nvml_message,
                     "device", err->device);
}

/* What a child does: the job's arguments, and its result as JSON (NULL: out of memory). */
struct child_job {
    const char *nvml_path;
    const uint8_t *nonce; /* collect */
    unsigned ready_state; /* ready */
    json_t *(*run)(const struct child_job *job);
};

static json_t *child_collect(const struct child_job *job)
{
    struct dga_nvml_error err;
    struct dga_nvml *nvml = NULL;
    _cleanup_(freep) struct dga_collection *c = calloc(1, sizeof *c);
    memset(&err, 0, sizeof err);
    if (c == NULL) {
        return NULL;
    }
    dga_err e = dga_nvml_open(job->nvml_path, &nvml, &err);
    if (e == DGA_E_OK) {
        e = dga_nvml_collect(nvml, job->nonce, c, &err);
        dga_nvml_close(nvml);
    }
    if (e != DGA_E_OK) {
        return error_json(&err);
    }
    json_t *j = dga_collection_to_json(c);
    dga_collection_clear(c);
    return j;
}

static json_t *child_ready_set(const struct child_job *job)
{
    struct dga_nvml_error err;
    struct dga_nvml *nvml = NULL;
    memset(&err, 0, sizeof err);
    dga_err e = dga_nvml_open(job->nvml_path, &nvml, &err);
    if (e == DGA_E_OK) {
        e = dga_nvml_ready_set(nvml, job->ready_state, &err);
        dga_nvml_close(nvml);
    }
    return e != DGA_E_OK ? error_json(&err) : json_pack("{s:b}", "ok", 1);
}

static json_t *child_ready_get(const struct child_job *job)
{
    struct dga_nvml_error err;
    struct dga_nvml *nvml = NULL;
    unsigned state = 0;
    memset(&err, 0, sizeof err);
    dga_err e = dga_nvml_open(job->nvml_path, &nvml, &err);
    if (e == DGA_E_OK) {
        e = dga_nvml_ready_get(nvml, &state, &err);
        dga_nvml_close(nvml);
    }
    return e != DGA_E_OK ? error_json(&err) : json_pack("{s:i}", "ready", (int)state);
}

static json_t *child_cc_settings(const struct child_job *job)
{
    struct dga_nvml_error err;
    struct dga_nvml *nvml = NULL;
    struct dga_cc_settings cc;
    memset(&err, 0, sizeof err);
    dga_err e = dga_nvml_open(job->nvml_path, &nvml, &err);
    if (e == DGA_E_OK) {
        e = dga_nvml_cc_settings(nvml, &cc, &err);
        dga_nvml_close(nvml);
    }
    return e != DGA_E_OK ? error_json(&err) : json_pack("{s:o}", "cc", cc_json(&cc));
}

static _Noreturn void child_main(int fd, const struct child_job *job)
{
    json_t *j = job->run(job);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text != NULL) {
        /* A failed write needs no handling: the parent sees a short message and fails closed. */
        (void)dga_write_all(fd, text, strlen(text));
    }
    _exit(text != NULL ? 0 : 1);
}

/* Reads the child's message until EOF, the cap, or the deadline. */
static dga_err read_until(int fd, int64_t deadline, char *buf, size_t cap, size_t *ret_len)
{
    size_t len = 0;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            return DGA_E_NVML_TIMEOUT;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return DGA_E_IO;
        }
        if (r == 0) {
            continue; /* re-check the deadline */
        }
        if (len == cap) {
            return DGA_E_TOO_LARGE;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return DGA_E_IO;
        }
        if (n == 0) {
            *ret_len = len;
            return DGA_E_OK;
        }
        len += (size_t)n;
    }
}

static dga_err err_from_name(const char *name)
{
    for (int i = 0; i < (int)DGA_E__COUNT; i++) {
        if (strcmp(dga_err_name((dga_err)i), name) == 0 && i != (int)DGA_E_OK) {
            return (dga_err)i;
        }
    }
    return DGA_E_INTERNAL;
}

/* The child's {"error": ...} message back into a dga_nvml_error. */
static dga_err child_error(json_t *root, struct dga_nvml_error *err)
{
    const char *name = "", *function = "", *message = "";
    int rc = 0, device = -1;
    if (json_unpack(root, "{s:s,s:s,s:i,s:s,s:i}", "error", &name, "function", &function, "nvml_rc",
                    &rc, "nvml_message", &message, "device", &device) != 0) {
        return nvml_error_set(err, DGA_E_BAD_JSON, CHILD_FUNCTION, -1);
    }
    dga_err e = nvml_error_set(err, err_from_name(name), function, device);
    if (err != NULL) {
        err->nvml_rc = rc;
        snprintf(err->nvml_message, sizeof err->nvml_message, "%s", message);
    }
    return e;
}

static dga_err parse_child(const char *text, size_t len, struct dga_collection *ret,
                           struct dga_nvml_error *err)
{
    _cleanup_(json_decrefp) json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(root) && json_object_get(root, "error") != NULL) {
        return child_error(root, err);
    }
    dga_err e = dga_collection_from_json(text, len, ret, NULL);
    return e == DGA_E_OK ? e : nvml_error_set(err, e, CHILD_FUNCTION, -1);
}

/* Reaps the child; a child that crashed or failed to report is an NVML failure. */
static dga_err reap(pid_t pid, bool kill_first, struct dga_nvml_error *err)
{
    int status = 0;
    if (kill_first) {
        kill(pid, SIGKILL);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return nvml_error_set(err, DGA_E_IO, CHILD_FUNCTION, -1);
        }
    }
    if (!kill_first && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        nvml_error_set(err, DGA_E_NVML_CALL, CHILD_FUNCTION, -1);
        if (err != NULL) {
            err->nvml_rc = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
            snprintf(err->nvml_message, sizeof err->nvml_message, "%s %d",
                     WIFSIGNALED(status) ? "terminated by signal" : "exited with status",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        }
        return DGA_E_NVML_CALL;
    }
    return DGA_E_OK;
}

/*
 * Runs job in a child with the deadline; on success *ret_text (malloc'd, len
 * in *ret_len) is what the child wrote. Timeouts, crashes and I/O are errors.
 */
static dga_err run_child(const struct child_job *job, unsigned timeout_ms, char **ret_text,
                         size_t *ret_len, struct dga_nvml_error *err)
{
    int fds[2];
    _cleanup_(freep) char *buf = malloc(DGA_COLLECTION_JSON_MAX);
    if (buf == NULL) {
        return nvml_error_set(err, DGA_E_NOMEM, NULL, -1);
    }
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return nvml_error_set(err, DGA_E_IO, CHILD_FUNCTION, -1);
    }
    int64_t deadline = now_ms() + timeout_ms;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return nvml_error_set(err, DGA_E_IO, CHILD_FUNCTION, -1);
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], job);
    }
    close(fds[1]);
    size_t len = 0;
    dga_err e = read_until(fds[0], deadline, buf, DGA_COLLECTION_JSON_MAX, &len);
    close(fds[0]);
    dga_err reaped = reap(pid, e != DGA_E_OK, err);
    if (e != DGA_E_OK) {
        return nvml_error_set(err, e, CHILD_FUNCTION, -1);
    }
    if (reaped != DGA_E_OK) {
        return reaped;
    }
    *ret_text = TAKE_PTR(buf);
    *ret_len = len;
    return DGA_E_OK;
}

dga_err dga_collect_with_deadline(const char *nvml_path, const uint8_t nonce[DGA_NONCE_LEN],
                                  unsigned timeout_ms, struct dga_collection *ret,
                                  struct dga_nvml_error *err)
{
    const struct child_job job = {.nvml_path = nvml_path, .nonce = nonce, .run = child_collect};
    _cleanup_(freep) char *text = NULL;
    size_t len = 0;
    dga_err e = run_child(&job, timeout_ms, &text, &len, err);
    if (e != DGA_E_OK) {
        return e;
    }
    return parse_child(text, len, ret, err);
}

dga_err dga_nvml_ready_set_with_deadline(const char *nvml_path, unsigned state, unsigned timeout_ms,
                                         struct dga_nvml_error *err)
{
    if (state > 1) {
        return nvml_error_set(err, DGA_E_BAD_ARGUMENT, "nvmlSystemSetConfComputeGpusReadyState",
                              -1);
    }
    const struct child_job job = {
        .nvml_path = nvml_path, .ready_state = state, .run = child_ready_set};
    _cleanup_(freep) char *text = NULL;
    size_t len = 0;
    dga_err e = run_child(&job, timeout_ms, &text, &len, err);
    if (e != DGA_E_OK) {
        return e;
    }
    _cleanup_(json_decrefp) json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(root) && json_object_get(root, "error") != NULL) {
        return child_error(root, err);
    }
    if (!json_is_object(root) || !json_is_true(json_object_get(root, "ok"))) {
        return nvml_error_set(err, DGA_E_BAD_JSON, CHILD_FUNCTION, -1);
    }
    return DGA_E_OK;
}

dga_err dga_nvml_cc_settings_with_deadline(const char *nvml_path, unsigned timeout_ms,
                                           struct dga_cc_settings *ret, struct dga_nvml_error *err)
{
    const struct child_job job = {.nvml_path = nvml_path, .run = child_cc_settings};
    _cleanup_(freep) char *text = NULL;
    size_t len = 0;
    dga_err e = run_child(&job, timeout_ms, &text, &len, err);
    if (e != DGA_E_OK) {
        return e;
    }
    _cleanup_(json_decrefp) json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(root) && json_object_get(root, "error") != NULL) {
        return child_error(root, err);
    }
    struct dga_cc_settings cc;
    if (!json_is_object(root) || cc_from_json(json_object_get(root, "cc"), &cc) != DGA_E_OK) {
        return nvml_error_set(err, DGA_E_BAD_JSON, CHILD_FUNCTION, -1);
    }
    *ret = cc;
    return DGA_E_OK;
}

dga_err dga_nvml_ready_get_with_deadline(const char *nvml_path, unsigned timeout_ms, unsigned *ret,
                                         struct dga_nvml_error *err)
{
    const struct child_job job = {.nvml_path = nvml_path, .run = child_ready_get};
    _cleanup_(freep) char *text = NULL;
    size_t len = 0;
    dga_err e = run_child(&job, timeout_ms, &text, &len, err);
    if (e != DGA_E_OK) {
        return e;
    }
    _cleanup_(json_decrefp) json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(root) && json_object_get(root, "error") != NULL) {
        return child_error(root, err);
    }
    json_t *state = json_object_get(root, "ready");
    /* NVML defines 0 and 1; anything else is not a state this library knows */
    if (!json_is_integer(state) || json_integer_value(state) < 0 || json_integer_value(state) > 1) {
        return nvml_error_set(err, DGA_E_BAD_JSON, CHILD_FUNCTION, -1);
    }
    *ret = (unsigned)json_integer_value(state);
    return DGA_E_OK;
}
