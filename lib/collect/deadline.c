/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NVML work with a hard deadline. NVML is a synchronous C API with no
 * per-call timeout, and a wedged driver can block a call forever; a thread
 * cannot be cancelled safely inside it. So the whole job (dlopen, init,
 * collect or set the ready state, shutdown) runs in a child process that
 * writes its result as JSON to a pipe; the parent waits at most the deadline, then SIGKILLs and
 * reaps the child and fails closed with DGA_E_NVML_TIMEOUT. The parent parses the child's bytes
 * with the capped, strict collection reader.
 *
 * How the child starts: a single-threaded program (the gate CLI) fork()s and runs the job in
 * the copy. A child forked from a threaded process (the RPC service: a thread per connection)
 * may only call async-signal-safe functions, and the job is ordinary library code (dlopen,
 * malloc, jansson): a lock another thread held at fork time stays locked in the child, which
 * then hangs until its deadline (seen with the sanitizer allocator's lock). So a threaded
 * program names a child program (dga_collect_set_child_program: its own image) and the child
 * is posix_spawn()ed, a fresh process that runs the same job through dga_collect_child_main.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collect/child.h"
#include "collect/internal.h"
#include "core/cleanup.h"
#include "dga/util.h"

static json_t *error_json(const struct dga_nvml_error *err)
{
    return json_pack("{s:s,s:s,s:i,s:s,s:i}", "error", dga_err_name(err->err), "function",
                     err->function, "nvml_rc", err->nvml_rc, "nvml_message", err->nvml_message,
                     "device", err->device);
}

struct child_op;

/* What a child does: the job and its arguments. */
struct child_job {
    const struct child_op *op;
    const char *nvml_path;
    const uint8_t *nonce; /* collect */
    unsigned ready_state; /* ready */
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

/*
 * Opens NVML into *nvml unless it is open, then reads the CC settings and the ready state:
 * {"cc": {...}, "ready": 0|1}. On a failure the error object, and NVML closed (*nvml NULL),
 * so the next call starts it afresh (the state reader keeps *nvml across requests; a
 * driver that failed once is not trusted to answer again from the same session).
 * NULL on no memory.
 */
json_t *collect_state_json(const char *nvml_path, struct dga_nvml **nvml)
{
    struct dga_nvml_error err;
    struct dga_cc_settings cc;
    unsigned ready = 0;
    memset(&err, 0, sizeof err);
    dga_err e = *nvml != NULL ? DGA_E_OK : dga_nvml_open(nvml_path, nvml, &err);
    if (e == DGA_E_OK) {
        e = dga_nvml_cc_settings(*nvml, &cc, &err);
    }
    if (e == DGA_E_OK) {
        e = dga_nvml_ready_get(*nvml, &ready, &err);
    }
    if (e != DGA_E_OK) {
        dga_nvml_closep(nvml);
        return error_json(&err);
    }
    return json_pack("{s:o,s:i}", "cc", cc_json(&cc), "ready", (int)ready);
}

static json_t *child_state(const struct child_job *job)
{
    struct dga_nvml *nvml = NULL;
    json_t *j = collect_state_json(job->nvml_path, &nvml);
    dga_nvml_close(nvml);
    return j;
}

/* NSCQ: the switch collection, or its error as {error, function, path, nscq_rc, switch, label}. */
static json_t *child_nscq_collect(const struct child_job *job)
{
    struct dga_nscq_error err;
    _cleanup_(freep) struct dga_switch_collection *c = calloc(1, sizeof *c);
    memset(&err, 0, sizeof err);
    if (c == NULL) {
        return NULL;
    }
    dga_err e = dga_nscq_collect(job->nvml_path, job->nonce, c, &err);
    if (e != DGA_E_OK) {
        return json_pack("{s:s,s:s,s:s,s:i,s:i,s:s,s:s}", "error", dga_err_name(err.err),
                         "function", err.function, "path", err.path, "nscq_rc", err.nscq_rc,
                         "switch", err.switch_index, "label", err.label, "message", err.message);
    }
    json_t *j = dga_switch_collection_to_json(c);
    dga_switch_collection_clear(c);
    return j;
}

enum child_arg { ARG_NONE, ARG_NONCE, ARG_STATE };

/* The jobs, by the name a spawned child is given on its command line. run: NULL on no memory. */
static const struct child_op {
    const char *name;
    json_t *(*run)(const struct child_job *job);
    enum child_arg arg;
} child_ops[] = {
    {"collect", child_collect, ARG_NONCE},    {"ready-set", child_ready_set, ARG_STATE},
    {"ready-get", child_ready_get, ARG_NONE}, {"cc-settings", child_cc_settings, ARG_NONE},
    {"state", child_state, ARG_NONE},         {"nscq-collect", child_nscq_collect, ARG_NONCE},
};
enum { OP_COLLECT, OP_READY_SET, OP_READY_GET, OP_CC_SETTINGS, OP_STATE, OP_NSCQ_COLLECT };

/* Runs the job and writes its JSON to fd. Returns the child's exit status (1: no memory). */
static int child_write(int fd, const struct child_job *job)
{
    _cleanup_(json_decrefp) json_t *j = job->op->run(job);
    _cleanup_(freep) char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text == NULL) {
        return 1;
    }
    /* A failed write needs no handling: the parent sees a short message and fails closed. */
    (void)dga_write_all(fd, text, strlen(text));
    return 0;
}

int dga_collect_child_main(int argc, char **argv)
{
    const struct child_op *op = NULL;
    if (argc < 3 || argc > 4 || strcmp(argv[0], DGA_COLLECT_CHILD_COMMAND) != 0) {
        return 2;
    }
    if (strcmp(argv[1], STATE_SERVER_OP) == 0) {
        return state_server_main(argc, argv);
    }
    for (size_t i = 0; i < sizeof child_ops / sizeof child_ops[0]; i++) {
        if (strcmp(argv[1], child_ops[i].name) == 0) {
            op = &child_ops[i];
        }
    }
    size_t path_len = strnlen(argv[2], PATH_MAX);
    if (op == NULL || argc != (op->arg == ARG_NONE ? 3 : 4) || path_len == 0 ||
        path_len == PATH_MAX) {
        return 2;
    }
    uint8_t nonce[DGA_NONCE_LEN];
    struct child_job job = {.op = op, .nvml_path = argv[2], .nonce = nonce};
    if (op->arg == ARG_NONCE && dga_hex_decode_exact(argv[3], nonce, sizeof nonce) != DGA_E_OK) {
        return 2;
    }
    if (op->arg == ARG_STATE) {
        if (strcmp(argv[3], "0") != 0 && strcmp(argv[3], "1") != 0) {
            return 2;
        }
        job.ready_state = argv[3][0] == '1';
    }
    return child_write(STDOUT_FILENO, &job);
}

/* The program spawned for a job; "" forks instead (dga_collect_set_child_program). */
static char child_program[PATH_MAX];

dga_err dga_collect_set_child_program(const char *path)
{
    if (path == NULL) {
        child_program[0] = '\0';
        return DGA_E_OK;
    }
    size_t len = strnlen(path, sizeof child_program);
    if (len == 0 || len == sizeof child_program) {
        return DGA_E_BAD_ARGUMENT;
    }
    memcpy(child_program, path, len + 1);
    return DGA_E_OK;
}

const char *collect_child_program(void)
{
    return child_program[0] != '\0' ? child_program : NULL;
}

/* A spawned child's command line, in writable storage (posix_spawn takes char *const []). */
struct child_argv {
    char name[32], command[16], op[16], nvml[PATH_MAX], arg[2 * DGA_NONCE_LEN + 1];
    char *argv[6];
};

static dga_err child_argv_init(struct child_argv *a, const struct child_job *job)
{
    const char *nvml = job->nvml_path != NULL ? job->nvml_path : DGA_NVML_DEFAULT_PATH;
    size_t len = strnlen(nvml, sizeof a->nvml);
    if (len == 0 || len == sizeof a->nvml) {
        return DGA_E_BAD_ARGUMENT;
    }
    memcpy(a->nvml, nvml, len + 1);
    /* what `ps` shows: the program's name, then the hidden subcommand and the job */
    snprintf(a->name, sizeof a->name, "dstack-gpu-attest-nvml-child");
    snprintf(a->command, sizeof a->command, "%s", DGA_COLLECT_CHILD_COMMAND);
    snprintf(a->op, sizeof a->op, "%s", job->op->name);
    snprintf(a->arg, sizeof a->arg, "%s", job->ready_state == 1 ? "1" : "0");
    if (job->op->arg == ARG_NONCE) {
        dga_hex_encode(job->nonce, DGA_NONCE_LEN, a->arg);
    }
    char *argv[] = {a->name, a->command, a->op, a->nvml, job->op->arg != ARG_NONE ? a->arg : NULL,
                    NULL};
    memcpy(a->argv, argv, sizeof argv);
    return DGA_E_OK;
}

/* posix_spawn()s the child program on the job, its stdout the pipe's write end, stdin /dev/null. */
static dga_err spawn_child(const struct child_job *job, int out_fd, pid_t *ret_pid,
                           struct dga_nvml_error *err)
{
    _cleanup_(freep) struct child_argv *a = malloc(sizeof *a);
    if (a == NULL) {
        return nvml_error_set(err, DGA_E_NOMEM, NULL, -1);
    }
    if (child_argv_init(a, job) != DGA_E_OK) {
        return nvml_error_set(err, DGA_E_BAD_ARGUMENT, CHILD_FUNCTION, -1);
    }
    return child_spawn(child_program, a->argv, -1, out_fd, ret_pid, err);
}

/* Starts the job's child writing to fds[1]: spawned when a child program is set, else forked. */
static dga_err start_child(const struct child_job *job, const int fds[2], pid_t *ret_pid,
                           struct dga_nvml_error *err)
{
    if (child_program[0] != '\0') {
        return spawn_child(job, fds[1], ret_pid, err);
    }
    pid_t pid = fork();
    if (pid < 0) {
        return nvml_error_set(err, DGA_E_IO, CHILD_FUNCTION, -1);
    }
    if (pid == 0) {
        close(fds[0]);
        _exit(child_write(fds[1], job));
    }
    *ret_pid = pid;
    return DGA_E_OK;
}

/* Reads the child's message until EOF, the cap, or the deadline. */
static dga_err read_until(int fd, int64_t deadline, char *buf, size_t cap, size_t *ret_len)
{
    size_t len = 0;
    for (;;) {
        dga_err e = child_wait_readable(fd, deadline);
        if (e != DGA_E_OK) {
            return e;
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
    int status = child_reap(pid, kill_first);
    if (status == -1) {
        return nvml_error_set(err, DGA_E_IO, CHILD_FUNCTION, -1);
    }
    if (!kill_first && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        return child_exit_failed(status, err);
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
    int64_t deadline = child_now_ms() + timeout_ms;
    pid_t pid = -1;
    dga_err started = start_child(job, fds, &pid, err);
    close(fds[1]);
    if (started != DGA_E_OK) {
        close(fds[0]);
        return started;
    }
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
    const struct child_job job = {
        .nvml_path = nvml_path, .nonce = nonce, .op = &child_ops[OP_COLLECT]};
    _cleanup_(freep) char *text = NULL;
    size_t len = 0;
    dga_err e = run_child(&job, timeout_ms, &text, &len, err);
    if (e != DGA_E_OK) {
        return e;
    }
    return parse_child(text, len, ret, err);
}

/*
 * Runs job in a child with the deadline and reads its JSON answer into *ret_root (possibly
 * NULL or not an object: the caller checks the shape it expects). An {"error": ...} answer is
 * the child's error, returned.
 */
static dga_err run_child_answer(const struct child_job *job, unsigned timeout_ms, json_t **ret_root,
                                struct dga_nvml_error *err)
{
    _cleanup_(freep) char *text = NULL;
    size_t len = 0;
    dga_err e = run_child(job, timeout_ms, &text, &len, err);
    if (e != DGA_E_OK) {
        return e;
    }
    _cleanup_(json_decrefp) json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(root) && json_object_get(root, "error") != NULL) {
        return child_error(root, err);
    }
    *ret_root = TAKE_PTR(root);
    return DGA_E_OK;
}

dga_err dga_nvml_ready_set_with_deadline(const char *nvml_path, unsigned state, unsigned timeout_ms,
                                         struct dga_nvml_error *err)
{
    if (state > 1) {
        return nvml_error_set(err, DGA_E_BAD_ARGUMENT, "nvmlSystemSetConfComputeGpusReadyState",
                              -1);
    }
    const struct child_job job = {
        .nvml_path = nvml_path, .ready_state = state, .op = &child_ops[OP_READY_SET]};
    _cleanup_(json_decrefp) json_t *root = NULL;
    dga_err e = run_child_answer(&job, timeout_ms, &root, err);
    if (e != DGA_E_OK) {
        return e;
    }
    if (!json_is_object(root) || !json_is_true(json_object_get(root, "ok"))) {
        return nvml_error_set(err, DGA_E_BAD_JSON, CHILD_FUNCTION, -1);
    }
    return DGA_E_OK;
}

dga_err dga_nvml_cc_settings_with_deadline(const char *nvml_path, unsigned timeout_ms,
                                           struct dga_cc_settings *ret, struct dga_nvml_error *err)
{
    const struct child_job job = {.nvml_path = nvml_path, .op = &child_ops[OP_CC_SETTINGS]};
    _cleanup_(json_decrefp) json_t *root = NULL;
    dga_err e = run_child_answer(&job, timeout_ms, &root, err);
    if (e != DGA_E_OK) {
        return e;
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
    const struct child_job job = {.nvml_path = nvml_path, .op = &child_ops[OP_READY_GET]};
    _cleanup_(json_decrefp) json_t *root = NULL;
    dga_err e = run_child_answer(&job, timeout_ms, &root, err);
    if (e != DGA_E_OK) {
        return e;
    }
    json_t *state = json_object_get(root, "ready");
    /* NVML defines 0 and 1; anything else is not a state this library knows */
    if (!json_is_integer(state) || json_integer_value(state) < 0 || json_integer_value(state) > 1) {
        return nvml_error_set(err, DGA_E_BAD_JSON, CHILD_FUNCTION, -1);
    }
    *ret = (unsigned)json_integer_value(state);
    return DGA_E_OK;
}

/*
 * A state child's one line: {"cc": {...}, "ready": 0|1} exactly, or its error object. Anything
 * else is DGA_E_BAD_JSON ("collection child"); the outputs are untouched on failure.
 */
dga_err collect_state_parse(const char *text, size_t len, struct dga_cc_settings *ret_cc,
                            unsigned *ret_ready, struct dga_nvml_error *err)
{
    _cleanup_(json_decrefp) json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(root) && json_object_get(root, "error") != NULL) {
        return child_error(root, err);
    }
    struct dga_cc_settings cc;
    json_t *ready = json_object_get(root, "ready");
    if (!json_is_object(root) || json_object_size(root) != 2 ||
        cc_from_json(json_object_get(root, "cc"), &cc) != DGA_E_OK || !json_is_integer(ready) ||
        json_integer_value(ready) < 0 || json_integer_value(ready) > 1) {
        return nvml_error_set(err, DGA_E_BAD_JSON, CHILD_FUNCTION, -1);
    }
    *ret_cc = cc;
    *ret_ready = (unsigned)json_integer_value(ready);
    return DGA_E_OK;
}

dga_err dga_nvml_state_with_deadline(const char *nvml_path, unsigned timeout_ms,
                                     struct dga_cc_settings *ret_cc, unsigned *ret_ready,
                                     struct dga_nvml_error *err)
{
    const struct child_job job = {.nvml_path = nvml_path, .op = &child_ops[OP_STATE]};
    _cleanup_(freep) char *text = NULL;
    size_t len = 0;
    dga_err e = run_child(&job, timeout_ms, &text, &len, err);
    if (e != DGA_E_OK) {
        return e;
    }
    return collect_state_parse(text, len, ret_cc, ret_ready, err);
}

/* ---- NSCQ ---- */

/* The child's {"error": ...} message back into a dga_nscq_error. */
static dga_err nscq_child_error(json_t *root, struct dga_nscq_error *err)
{
    const char *name = "", *function = "", *path = "", *label = "", *message = "";
    int rc = 0, sw = -1;
    if (json_unpack(root, "{s:s,s:s,s:s,s:i,s:i,s:s,s:s}", "error", &name, "function", &function,
                    "path", &path, "nscq_rc", &rc, "switch", &sw, "label", &label, "message",
                    &message) != 0) {
        name = dga_err_name(DGA_E_BAD_JSON);
        function = CHILD_FUNCTION;
    }
    dga_err e = err_from_name(name);
    if (err != NULL) {
        memset(err, 0, sizeof *err);
        err->err = e;
        err->nscq_rc = rc;
        err->switch_index = sw;
        snprintf(err->function, sizeof err->function, "%s", function);
        snprintf(err->path, sizeof err->path, "%s", path);
        snprintf(err->label, sizeof err->label, "%s", label);
        snprintf(err->message, sizeof err->message, "%s", message);
    }
    return e;
}

/*
 * The runner's failure in NSCQ's terms: its deadline is nscq-timeout; a child that crashed or
 * exited non-zero (the runner's nvml-call) is nscq-unspecified; I/O and memory stay as they are.
 */
static dga_err nscq_runner_error(const struct dga_nvml_error *n, struct dga_nscq_error *err)
{
    dga_err e = n->err == DGA_E_NVML_TIMEOUT ? DGA_E_NSCQ_TIMEOUT
                : n->err == DGA_E_NVML_CALL  ? DGA_E_NSCQ_UNSPECIFIED
                                             : n->err;
    if (err != NULL) {
        memset(err, 0, sizeof *err);
        err->err = e;
        err->switch_index = -1;
        snprintf(err->function, sizeof err->function, "%s", n->function);
        snprintf(err->message, sizeof err->message, "%s", n->nvml_message);
    }
    return e;
}

dga_err dga_nscq_collect_with_deadline(const char *nscq_path, const uint8_t nonce[DGA_NONCE_LEN],
                                       unsigned timeout_ms, struct dga_switch_collection *ret,
                                       struct dga_nscq_error *err)
{
    /* never NULL: the spawned child's command line would name NVML's default instead */
    const struct child_job job = {.nvml_path =
                                      nscq_path != NULL ? nscq_path : DGA_NSCQ_DEFAULT_PATH,
                                  .nonce = nonce,
                                  .op = &child_ops[OP_NSCQ_COLLECT]};
    struct dga_nvml_error nerr;
    memset(&nerr, 0, sizeof nerr);
    _cleanup_(freep) char *text = NULL;
    size_t len = 0;
    dga_err e = run_child(&job, timeout_ms, &text, &len, &nerr);
    if (e != DGA_E_OK) {
        return nscq_runner_error(&nerr, err);
    }
    _cleanup_(json_decrefp) json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(root) && json_object_get(root, "error") != NULL) {
        return nscq_child_error(root, err);
    }
    e = dga_switch_collection_from_json(text, len, ret, NULL);
    if (e != DGA_E_OK && err != NULL) {
        memset(err, 0, sizeof *err);
        err->err = e;
        err->switch_index = -1;
        snprintf(err->function, sizeof err->function, "%s", CHILD_FUNCTION);
    }
    return e;
}
