/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Emitting runtime events through the register backends, on real files in a
 * fresh temporary directory per test: the simulated register (extend, replay
 * equals register, V1/V2, concurrent emitters under the lock), the version
 * file, failed extends that must leave the log untouched, the TDX sysfs file
 * and legacy ioctl paths redirected into the temporary tree, backend specs,
 * and the TPM backend's errors where no TPM exists (it is not exercised
 * against a TPM here).
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dga/measure.h"
#include "dga/util.h"

/*
 * fsync, interposed for this test program (the library is linked in
 * statically): the inodes flushed, in order, so a test can see a directory
 * flushed after the file renamed into it.
 */
static struct {
    ino_t ino[64];
    size_t n;
} flushed;

int fsync(int fd)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && flushed.n < sizeof flushed.ino / sizeof flushed.ino[0]) {
        flushed.ino[flushed.n++] = st.st_ino;
    }
    return (int)syscall(SYS_fsync, fd);
}

/* The file at path was flushed, and then the directory dir. */
static void assert_flushed_then_dir(const char *path, const char *dir)
{
    struct stat f, d;
    assert_int_equal(stat(path, &f), 0);
    assert_int_equal(stat(dir, &d), 0);
    size_t i = 0;
    while (i < flushed.n && flushed.ino[i] != f.st_ino) {
        i++;
    }
    assert_true(i < flushed.n); /* the file */
    while (i < flushed.n && flushed.ino[i] != d.st_ino) {
        i++;
    }
    assert_true(i < flushed.n); /* then its directory: the rename survives a crash */
}

struct env {
    char dir[64];
    char log_dir[128];
    char log[192];
    char reg[128];
    char spec[160];
    struct dga_event_paths paths;
};

static int setup(void **state)
{
    struct env *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return -1;
    }
    snprintf(t->dir, sizeof t->dir, "/tmp/dga-event-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        free(t);
        return -1;
    }
    snprintf(t->log_dir, sizeof t->log_dir, "%s/run/log/dstack", t->dir);
    snprintf(t->log, sizeof t->log, "%s/%s", t->log_dir, DGA_EVENT_LOG_FILE);
    snprintf(t->reg, sizeof t->reg, "%s/rtmr3.bin", t->dir);
    snprintf(t->spec, sizeof t->spec, "sim:%s", t->reg);
    t->paths.log_dir = t->log_dir;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct env *t = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    int rc = system(cmd);
    free(t);
    return rc == 0 ? 0 : -1;
}

/* ---- helpers ----------------------------------------------------------------------------------
 */

static struct dga_event_backend *open_backend(const char *spec, const struct dga_event_paths *paths)
{
    struct dga_event_backend *b = NULL;
    struct dga_diag diag = {0};
    dga_err e = dga_event_backend_open(spec, paths, &b, &diag);
    if (e != DGA_E_OK) {
        fail_msg("open %s: %s (%s)", spec, dga_err_name(e), diag.field);
    }
    return b;
}

static struct dga_event_backend *sim_with_version(struct env *t, enum dga_event_version v)
{
    struct dga_event_backend *b = open_backend(t->spec, &t->paths);
    assert_int_equal(dga_event_version_set(b, v, NULL), DGA_E_OK);
    return b;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The file's content (NUL-terminated), or NULL when it does not exist. */
static char *slurp(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    return dga_file_read(path, 16u << 20, &data, &len) == DGA_E_OK ? (char *)data : NULL;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Replays the log file and returns RTMR3. */
static void replay_log(const char *path, uint8_t out[48])
{
    char *text = slurp(path);
    assert_non_null(text);
    struct dga_eventlog *log = NULL;
    assert_int_equal(dga_eventlog_parse(text, strlen(text), &log, NULL), DGA_E_OK);
    uint8_t rtmr[4][48];
    dga_eventlog_replay(log, rtmr);
    memcpy(out, rtmr[3], 48);
    dga_eventlog_free(log);
    free(text);
}

static void assert_register_is_replay(struct env *t, const struct dga_event_backend *b)
{
    uint8_t reg[48], replayed[48];
    assert_int_equal(dga_event_backend_read(b, reg, NULL), DGA_E_OK);
    replay_log(t->log, replayed);
    assert_memory_equal(reg, replayed, 48);
}

/* Emits and asserts the error; on failure also that the log did not change. */
static void emit_expect(struct env *t, const struct dga_event_backend *b, const char *name,
                        dga_err want)
{
    char *before = slurp(t->log);
    static const uint8_t payload[] = {0xca, 0xfe};
    struct dga_diag diag = {0};
    dga_err e = dga_event_emit(b, name, payload, sizeof payload, &diag);
    if (e != want) {
        fail_msg("emit %s: got %s (%s), want %s", name, dga_err_name(e),
                 diag.field != NULL ? diag.field : "-", dga_err_name(want));
    }
    if (want != DGA_E_OK) {
        assert_int_equal(diag.err, want);
        char *after = slurp(t->log);
        if (before == NULL) {
            assert_null(after);
        } else {
            assert_non_null(after);
            assert_string_equal(after, before);
        }
        free(after);
    }
    free(before);
}

/* ---- the simulated register -------------------------------------------------------------------
 */

static void test_sim_emit_and_replay(void **state)
{
    struct env *t = *state;
    struct dga_event_backend *b = sim_with_version(t, DGA_EVENT_V1);
    uint8_t reg[48], zero[48] = {0};
    assert_int_equal(dga_event_backend_read(b, reg, NULL), DGA_E_OK); /* no file yet: zero */
    assert_memory_equal(reg, zero, 48);
    static const uint8_t app_id[] = {1, 2, 3};
    assert_int_equal(dga_event_emit(b, "app-id", app_id, 3, NULL), DGA_E_OK);
    assert_int_equal(dga_event_emit(b, "system-ready", NULL, 0, NULL), DGA_E_OK);
    char *log = slurp(t->log);
    assert_string_equal(log, "{\"event\":\"app-id\",\"payload\":\"AQID\"}\n"
                             "{\"event\":\"system-ready\",\"payload\":\"\"}\n");
    free(log);
    /* the register equals SHA-384 chaining by hand, and the replay of the log */
    uint8_t d[48], in[96], want[48];
    memset(in, 0, 48);
    assert_int_equal(dga_event_digest(DGA_EVENT_V1, DGA_HASH_SHA384, "app-id", app_id, 3, d),
                     DGA_E_OK);
    memcpy(in + 48, d, 48);
    assert_int_equal(EVP_Digest(in, 96, want, NULL, EVP_sha384(), NULL), 1);
    memcpy(in, want, 48);
    assert_int_equal(dga_event_digest(DGA_EVENT_V1, DGA_HASH_SHA384, "system-ready", NULL, 0, d),
                     DGA_E_OK);
    memcpy(in + 48, d, 48);
    assert_int_equal(EVP_Digest(in, 96, want, NULL, EVP_sha384(), NULL), 1);
    assert_int_equal(dga_event_backend_read(b, reg, NULL), DGA_E_OK);
    assert_memory_equal(reg, want, 48);
    assert_register_is_replay(t, b);
    /* dstack's modes: log 0600 */
    struct stat st;
    assert_int_equal(stat(t->log, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    dga_event_backend_free(b);
}

/* The version file and each new register value are renamed into place, then the directory flushed.
 */
static void test_renames_are_durable(void **state)
{
    struct env *t = *state;
    struct dga_event_backend *b = open_backend(t->spec, &t->paths);
    char version[192];
    snprintf(version, sizeof version, "%s/%s", t->log_dir, DGA_EVENT_VERSION_FILE);
    flushed.n = 0;
    assert_int_equal(dga_event_version_set(b, DGA_EVENT_V2, NULL), DGA_E_OK);
    assert_flushed_then_dir(version, t->log_dir);
    flushed.n = 0;
    assert_int_equal(dga_event_emit(b, "system-ready", NULL, 0, NULL), DGA_E_OK);
    assert_flushed_then_dir(t->reg, t->dir);
    dga_event_backend_free(b);
}

static void test_sim_emit_v2(void **state)
{
    struct env *t = *state;
    struct dga_event_backend *b = sim_with_version(t, DGA_EVENT_V2);
    static const uint8_t p[] = {1};
    assert_int_equal(dga_event_emit(b, "test", p, 1, NULL), DGA_E_OK);
    char *log = slurp(t->log);
    assert_string_equal(log, "{\"event\":\"test\",\"payload\":\"AQ==\",\"version\":2}\n");
    free(log);
    assert_register_is_replay(t, b);
    dga_event_backend_free(b);
}

/* The version file is written once; a different value later is refused. */
static void test_version_file(void **state)
{
    struct env *t = *state;
    struct dga_event_backend *b = open_backend(t->spec, &t->paths);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", t->log_dir, DGA_EVENT_VERSION_FILE);
    /* no version file: emission refused before anything is touched */
    emit_expect(t, b, "app-id", DGA_E_EVENT_VERSION_FILE);
    assert_false(exists(t->reg));
    assert_int_equal(dga_event_version_set(b, DGA_EVENT_V2, NULL), DGA_E_OK);
    char *text = slurp(path);
    assert_string_equal(text, "2");
    free(text);
    assert_int_equal(dga_event_version_set(b, DGA_EVENT_V2, NULL), DGA_E_OK);
    struct dga_diag diag = {0};
    assert_int_equal(dga_event_version_set(b, DGA_EVENT_V1, &diag), DGA_E_EVENT_VERSION_FILE);
    assert_string_equal(diag.field, DGA_EVENT_VERSION_FILE);
    assert_int_equal(dga_event_version_set(b, (enum dga_event_version)3, NULL),
                     DGA_E_EVENT_VERSION);
    /* dstack's own file may end in a newline */
    write_file(path, "1\n", 2);
    emit_expect(t, b, "app-id", DGA_E_OK);
    write_file(path, "v1", 2);
    emit_expect(t, b, "app-id", DGA_E_EVENT_VERSION_FILE);
    write_file(path, "12", 2);
    emit_expect(t, b, "app-id", DGA_E_EVENT_VERSION_FILE);
    dga_event_backend_free(b);
}

/* The gate's gpu-policy-hash event: the 32 raw hash bytes as payload, replayable. */
static void test_emit_gpu_policy_hash(void **state)
{
    struct env *t = *state;
    struct dga_event_backend *b = sim_with_version(t, DGA_EVENT_V1);
    const char *compose = "{\"requirements\":{\"gpu_policy\":{\"attest_gpu\":true}}}";
    uint8_t h[32];
    assert_int_equal(dga_gpu_policy_hash_compose(compose, strlen(compose), h, NULL), DGA_E_OK);
    assert_int_equal(dga_event_emit(b, DGA_EVENT_GPU_POLICY_HASH, h, sizeof h, NULL), DGA_E_OK);
    char *log = slurp(t->log);
    assert_string_equal(log, "{\"event\":\"gpu-policy-hash\","
                             "\"payload\":\"gfXTrUBlM0EjIjjEymVr3d3Cl9Y4KuKrOR5Ls23YC2Y=\"}\n");
    free(log);
    assert_register_is_replay(t, b);
    dga_event_backend_free(b);
}

/* ---- failed extends leave the log untouched -----------------------------------------------------
 */

static void test_failed_extend_sim(void **state)
{
    struct env *t = *state;
    struct dga_event_backend *b = sim_with_version(t, DGA_EVENT_V1);
    emit_expect(t, b, "first", DGA_E_OK);
    uint8_t before[48];
    assert_int_equal(dga_event_backend_read(b, before, NULL), DGA_E_OK);
    /* a register file of the wrong size: the extend fails, nothing is written */
    write_file(t->reg, before, 47);
    emit_expect(t, b, "second", DGA_E_REGISTER_STATE);
    /* a register that is a directory */
    assert_int_equal(unlink(t->reg), 0);
    assert_int_equal(mkdir(t->reg, 0700), 0);
    emit_expect(t, b, "second", DGA_E_REGISTER_STATE);
    dga_event_backend_free(b);
    /* a register whose directory does not exist: the atomic replace cannot be made */
    char spec[256];
    snprintf(spec, sizeof spec, "sim:%s/missing/rtmr3.bin", t->dir);
    b = open_backend(spec, &t->paths);
    emit_expect(t, b, "second", DGA_E_REGISTER_EXTEND);
    char *log = slurp(t->log);
    assert_string_equal(log, "{\"event\":\"first\",\"payload\":\"yv4=\"}\n");
    free(log);
    dga_event_backend_free(b);
}

/* Invalid events are refused before the lock: not even the log directory appears. */
static void test_invalid_event(void **state)
{
    struct env *t = *state;
    struct dga_event_backend *b = open_backend(t->spec, &t->paths);
    emit_expect(t, b, "a:b", DGA_E_EVENT_NAME);
    emit_expect(t, b, "", DGA_E_EVENT_NAME);
    emit_expect(t, b, NULL, DGA_E_EVENT_NAME);
    static uint8_t big[DGA_EVENT_PAYLOAD_MAX + 1];
    assert_int_equal(dga_event_emit(b, "big", big, sizeof big, NULL), DGA_E_TOO_LARGE);
    assert_int_equal(dga_event_emit(b, "x", NULL, 3, NULL), DGA_E_BAD_ARGUMENT);
    assert_false(exists(t->log_dir));
    assert_false(exists(t->reg));
    dga_event_backend_free(b);
}

/* A log that cannot be appended after a good extend is the one named post-extend failure. */
static void test_log_write_failure(void **state)
{
    struct env *t = *state;
    struct dga_event_backend *b = sim_with_version(t, DGA_EVENT_V1);
    assert_int_equal(mkdir(t->log, 0700), 0); /* the log path is a directory */
    struct dga_diag diag = {0};
    assert_int_equal(dga_event_emit(b, "app-id", NULL, 0, &diag), DGA_E_EVENT_LOG_WRITE);
    assert_string_equal(diag.field, DGA_EVENT_LOG_FILE);
    assert_true(exists(t->reg)); /* extended: the register now disagrees with the log */
    dga_event_backend_free(b);
}

/* ---- the lock
 * ------------------------------------------------------------------------------------ */

/* An emitter waits while another process holds dstack's lock. */
static void test_lock_is_honoured(void **state)
{
    struct env *t = *state;
    struct dga_event_backend *b = sim_with_version(t, DGA_EVENT_V1);
    char lock[256], marker[256];
    snprintf(lock, sizeof lock, "%s/%s", t->log_dir, DGA_EVENT_LOCK_FILE);
    snprintf(marker, sizeof marker, "%s/released", t->dir);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int fd = open(lock, O_RDWR);
        if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(ready[1], "x", 1) != 1) {
            _exit(1);
        }
        usleep(200 * 1000);
        FILE *f = fopen(marker, "w"); /* written while still holding the lock */
        _exit(f != NULL && fclose(f) == 0 ? 0 : 1);
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(dga_event_emit(b, "after-lock", NULL, 0, NULL), DGA_E_OK);
    assert_true(exists(marker)); /* the emit could only finish after the holder let go */
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(ready[0]);
    close(ready[1]);
    dga_event_backend_free(b);
}

/* Four processes emitting at once: every line logged once, and the replay equals the register. */
static void test_concurrent_emitters(void **state)
{
    struct env *t = *state;
    struct dga_event_backend *b = sim_with_version(t, DGA_EVENT_V1);
    enum { PROCS = 4, EACH = 25 };
    pid_t kids[PROCS];
    for (int k = 0; k < PROCS; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            char name[32];
            for (int i = 0; i < EACH; i++) {
                snprintf(name, sizeof name, "p%d-e%d", k, i);
                if (dga_event_emit(b, name, (const uint8_t *)name, strlen(name), NULL) !=
                    DGA_E_OK) {
                    _exit(1);
                }
            }
            _exit(0);
        }
    }
    for (int k = 0; k < PROCS; k++) {
        int status;
        assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    char *text = slurp(t->log);
    struct dga_eventlog *log = NULL;
    assert_int_equal(dga_eventlog_parse(text, strlen(text), &log, NULL), DGA_E_OK);
    assert_int_equal(log->n, PROCS * EACH);
    dga_eventlog_free(log);
    free(text);
    assert_register_is_replay(t, b);
    dga_event_backend_free(b);
}

/* ---- TDX RTMR3 ---------------------------------------------------------------------------------
 */

static void tdx_paths(struct env *t, char sysfs[256], char device[256])
{
    snprintf(sysfs, 256, "%s/measurements", t->dir);
    snprintf(device, 256, "%s/tdx_guest", t->dir);
    t->paths.tdx_sysfs_dir = sysfs;
    t->paths.tdx_device = device;
}

/* The sysfs file receives exactly the 48 digest bytes, then the log gets the line. */
static void test_tdx_sysfs(void **state)
{
    struct env *t = *state;
    char sysfs[256], device[256], rtmr[300];
    tdx_paths(t, sysfs, device);
    assert_int_equal(mkdir(sysfs, 0700), 0);
    snprintf(rtmr, sizeof rtmr, "%s/rtmr3:sha384", sysfs);
    write_file(rtmr, "", 0);
    struct dga_event_backend *b = open_backend("tdx", &t->paths);
    assert_int_equal(dga_event_version_set(b, DGA_EVENT_V1, NULL), DGA_E_OK);
    assert_int_equal(dga_event_backend_alg(b), DGA_HASH_SHA384);
    emit_expect(t, b, "gpu-attestation", DGA_E_OK);
    uint8_t want[48], *got = NULL;
    size_t n = 0;
    static const uint8_t payload[] = {0xca, 0xfe};
    assert_int_equal(
        dga_event_digest(DGA_EVENT_V1, DGA_HASH_SHA384, "gpu-attestation", payload, 2, want),
        DGA_E_OK);
    assert_int_equal(dga_file_read(rtmr, 1024, &got, &n), DGA_E_OK);
    assert_int_equal(n, 48);
    assert_memory_equal(got, want, 48);
    free(got);
    char *log = slurp(t->log);
    assert_string_equal(log, "{\"event\":\"gpu-attestation\",\"payload\":\"yv4=\"}\n");
    free(log);
    /* the register cannot be read back here (a quote carries it) */
    uint8_t r[48];
    assert_int_equal(dga_event_backend_read(b, r, NULL), DGA_E_BAD_ARGUMENT);
    dga_event_backend_free(b);
}

/* With the sysfs directory present, a failed write never falls back to the ioctl. */
static void test_tdx_sysfs_failures(void **state)
{
    struct env *t = *state;
    char sysfs[256], device[256], rtmr[300];
    tdx_paths(t, sysfs, device);
    assert_int_equal(mkdir(sysfs, 0700), 0);
    write_file(device, "", 0); /* an ioctl here would fail differently (ENOTTY) */
    struct dga_event_backend *b = open_backend("tdx", &t->paths);
    assert_int_equal(dga_event_version_set(b, DGA_EVENT_V1, NULL), DGA_E_OK);
    emit_expect(t, b, "gpu-attestation", DGA_E_REGISTER_UNAVAILABLE); /* no rtmr3 file */
    snprintf(rtmr, sizeof rtmr, "%s/rtmr3:sha384", sysfs);
    assert_int_equal(mkdir(rtmr, 0700), 0); /* EISDIR */
    emit_expect(t, b, "gpu-attestation", DGA_E_REGISTER_EXTEND);
    assert_false(exists(t->log));
    dga_event_backend_free(b);
}

/* Without sysfs the legacy device is tried; one that rejects the ioctl fails the extend. */
static void test_tdx_ioctl_fallback(void **state)
{
    struct env *t = *state;
    char sysfs[256], device[256];
    tdx_paths(t, sysfs, device);
    struct dga_event_backend *b = open_backend("tdx", &t->paths);
    assert_int_equal(dga_event_version_set(b, DGA_EVENT_V1, NULL), DGA_E_OK);
    emit_expect(t, b, "gpu-attestation", DGA_E_REGISTER_UNAVAILABLE); /* neither exists */
    write_file(device, "", 0); /* a regular file: ENOTTY from the ioctl */
    struct dga_diag diag = {0};
    assert_int_equal(dga_event_emit(b, "gpu-attestation", NULL, 0, &diag), DGA_E_REGISTER_EXTEND);
    assert_string_equal(diag.field, "TDX_CMD_EXTEND_RTMR");
    assert_int_equal(diag.offset, ENOTTY);
    assert_false(exists(t->log));
    dga_event_backend_free(b);
    /* the request code is the driver's _IOR('T', 3, 49) */
    assert_int_equal(DGA_TDX_CMD_EXTEND_RTMR, (2u << 30) | (49u << 16) | ('T' << 8) | 3u);
}

/* DCAP_TDX_RTMR_SYSFS_PATH redirects sysfs when no path is given, as in dstack. */
static void test_tdx_sysfs_env(void **state)
{
    struct env *t = *state;
    struct dga_event_backend *b = NULL;
    struct dga_diag diag = {0};
    assert_int_equal(setenv(DGA_TDX_RTMR_SYSFS_ENV, "relative/dir", 1), 0);
    assert_int_equal(dga_event_backend_open("tdx", &t->paths, &b, &diag), DGA_E_BAD_ARGUMENT);
    assert_string_equal(diag.field, DGA_TDX_RTMR_SYSFS_ENV);
    char sysfs[256], rtmr[300];
    snprintf(sysfs, sizeof sysfs, "%s/env-measurements", t->dir);
    assert_int_equal(mkdir(sysfs, 0700), 0);
    snprintf(rtmr, sizeof rtmr, "%s/rtmr3:sha384", sysfs);
    write_file(rtmr, "", 0);
    assert_int_equal(setenv(DGA_TDX_RTMR_SYSFS_ENV, sysfs, 1), 0);
    b = open_backend("tdx", &t->paths);
    assert_int_equal(unsetenv(DGA_TDX_RTMR_SYSFS_ENV), 0);
    assert_int_equal(dga_event_version_set(b, DGA_EVENT_V1, NULL), DGA_E_OK);
    emit_expect(t, b, "app-id", DGA_E_OK);
    struct stat st;
    assert_int_equal(stat(rtmr, &st), 0);
    assert_int_equal(st.st_size, 48);
    dga_event_backend_free(b);
}

/* ---- backend specs and the TPM without a TPM
 * ------------------------------------------------------ */

static void test_backend_specs(void **state)
{
    struct env *t = *state;
    struct {
        const char *spec;
        dga_err err;
        const char *field;
    } bad[] = {
        {"", DGA_E_BAD_ARGUMENT, "backend"},      {"sim:", DGA_E_BAD_ARGUMENT, "sim path"},
        {"tdx:3", DGA_E_BAD_ARGUMENT, "backend"}, {"tpmx", DGA_E_BAD_ARGUMENT, "backend"},
        {"tpm:", DGA_E_BAD_ARGUMENT, "pcr"},      {"tpm:24", DGA_E_BAD_ARGUMENT, "pcr"},
        {"tpm:1x", DGA_E_BAD_ARGUMENT, "pcr"},    {"tpm:014", DGA_E_BAD_ARGUMENT, "pcr"},
        {"tpm:-1", DGA_E_BAD_ARGUMENT, "pcr"},    {"tpm:14:sha1", DGA_E_BAD_ARGUMENT, "bank"},
        {"tpm:14:", DGA_E_BAD_ARGUMENT, "bank"},  {"vtpm", DGA_E_BAD_ARGUMENT, "backend"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct dga_event_backend *b = NULL;
        struct dga_diag diag = {0};
        assert_int_equal(dga_event_backend_open(bad[i].spec, &t->paths, &b, &diag), bad[i].err);
        assert_null(b);
        assert_string_equal(diag.field, bad[i].field);
    }
    assert_int_equal(dga_event_backend_open(NULL, NULL, &(struct dga_event_backend *){NULL}, NULL),
                     DGA_E_BAD_ARGUMENT);
    struct {
        const char *spec;
        enum dga_hash_alg alg;
    } good[] = {{"tpm", DGA_HASH_SHA256},          {"tpm:14", DGA_HASH_SHA256},
                {"tpm:0:sha384", DGA_HASH_SHA384}, {"tpm:23:sha256", DGA_HASH_SHA256},
                {"tdx", DGA_HASH_SHA384},          {"sim:/x", DGA_HASH_SHA384}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct dga_event_backend *b = open_backend(good[i].spec, NULL); /* default paths */
        assert_int_equal(dga_event_backend_alg(b), good[i].alg);
        dga_event_backend_free(b);
    }
    dga_event_backend_free(NULL);
}

/* No TPM here: every TCTI that points nowhere is register-unavailable, and the log stays empty. */
static void test_tpm_without_tpm(void **state)
{
    struct env *t = *state;
    const char *tctis[] = {"device:/nonexistent/tpmrm0", "no-such-tcti-library",
                           "mssim:host=127.0.0.1,port=1"};
    for (size_t i = 0; i < sizeof tctis / sizeof tctis[0]; i++) {
        t->paths.tpm_tcti = tctis[i];
        struct dga_event_backend *b = open_backend("tpm:14:sha384", &t->paths);
        assert_int_equal(dga_event_version_set(b, DGA_EVENT_V1, NULL), DGA_E_OK);
        emit_expect(t, b, "gpu-attestation", DGA_E_REGISTER_UNAVAILABLE);
        uint8_t r[48];
        struct dga_diag diag = {0};
        assert_int_equal(dga_event_backend_read(b, r, &diag), DGA_E_REGISTER_UNAVAILABLE);
        assert_true(diag.offset != 0); /* the TSS2_RC */
        dga_event_backend_free(b);
    }
    assert_false(exists(t->log));
}

int main(void)
{
    /* tpm2-tss logs its own errors to stderr unless told otherwise. */
    setenv("TSS2_LOG", "all+NONE", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sim_emit_and_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renames_are_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_emit_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emit_gpu_policy_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_extend_sim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_write_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_is_honoured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_emitters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tdx_sysfs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tdx_sysfs_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tdx_ioctl_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tdx_sysfs_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_specs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tpm_without_tpm, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
