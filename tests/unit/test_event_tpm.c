/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TPM backend against a real TPM 2.0 implementation: swtpm (libtpms),
 * started by this test on 127.0.0.1 and reached through tpm2-tss's swtpm
 * TCTI. Events are emitted into PCR 14 (SHA-256 bank, dstack's GCP lane) and
 * PCR 15 (SHA-384 bank, the AWS lane); the PCR read back from the TPM must
 * equal the replay of the log that was written. Exits 77 (skipped) when
 * swtpm is not installed (scripts/deps.sh installs it).
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dga/measure.h"
#include "dga/util.h"

#define SKIPPED 77

static char dir[64];
static pid_t swtpm_pid = -1;
static char tcti[64];

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

static pid_t spawn_swtpm(int port)
{
    char state[128], server[96], ctrl[96];
    snprintf(state, sizeof state, "dir=%s", dir);
    snprintf(server, sizeof server, "type=tcp,port=%d,bindaddr=127.0.0.1", port);
    snprintf(ctrl, sizeof ctrl, "type=tcp,port=%d,bindaddr=127.0.0.1", port + 1);
    pid_t pid = fork();
    if (pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL ||
            freopen("/dev/null", "w", stderr) == NULL) {
            _exit(127);
        }
        execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", state, "--server", server,
               "--ctrl", ctrl, "--flags", "not-need-init,startup-clear", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits up to 5 s for swtpm to listen; false if it exited (port taken) or never did. */
static bool wait_listening(pid_t pid, int port)
{
    for (int i = 0; i < 100; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            return false;
        }
        if (port_open(port) && port_open(port + 1)) {
            return true;
        }
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return false;
}

static int start_swtpm(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dga-tpm-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    srand((unsigned)getpid());
    for (int attempt = 0; attempt < 8; attempt++) {
        int port = 20000 + 2 * (rand() % 10000);
        pid_t pid = spawn_swtpm(port);
        if (pid > 0 && wait_listening(pid, port)) {
            swtpm_pid = pid;
            snprintf(tcti, sizeof tcti, "swtpm:host=127.0.0.1,port=%d", port);
            return 0;
        }
    }
    return -1;
}

static int stop_swtpm(void **state)
{
    (void)state;
    if (swtpm_pid > 0) {
        kill(swtpm_pid, SIGTERM);
        waitpid(swtpm_pid, NULL, 0);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Emits events into one PCR and bank; the TPM's PCR must equal the log's replay. */
static void emit_and_compare(const char *spec, enum dga_event_version v, const char *sub)
{
    char log_dir[128], log_path[192];
    snprintf(log_dir, sizeof log_dir, "%s/%s", dir, sub);
    snprintf(log_path, sizeof log_path, "%s/%s", log_dir, DGA_EVENT_LOG_FILE);
    struct dga_event_paths paths = {.log_dir = log_dir, .tpm_tcti = tcti};
    struct dga_event_backend *b = NULL;
    assert_int_equal(dga_event_backend_open(spec, &paths, &b, NULL), DGA_E_OK);
    assert_int_equal(dga_event_version_set(b, v, NULL), DGA_E_OK);
    size_t n = dga_hash_len(dga_event_backend_alg(b));
    uint8_t pcr[48], zero[48] = {0};
    assert_int_equal(dga_event_backend_read(b, pcr, NULL), DGA_E_OK);
    assert_memory_equal(pcr, zero, n); /* fresh TPM: PCR 14/15 start at zero */
    static const uint8_t app_id[20] = {0x37, 0x63, 0xbc};
    static const char gpu[] = "{\"version\":2,\"provider\":\"nvidia\",\"devices\":1}";
    assert_int_equal(dga_event_emit(b, "app-id", app_id, sizeof app_id, NULL), DGA_E_OK);
    assert_int_equal(
        dga_event_emit(b, DGA_EVENT_GPU_ATTESTATION, (const uint8_t *)gpu, strlen(gpu), NULL),
        DGA_E_OK);
    assert_int_equal(dga_event_emit(b, "system-ready", NULL, 0, NULL), DGA_E_OK);

    uint8_t *text = NULL, replay[48];
    size_t len = 0;
    struct dga_eventlog *log = NULL;
    assert_int_equal(dga_file_read(log_path, 1u << 20, &text, &len), DGA_E_OK);
    assert_int_equal(dga_eventlog_parse((const char *)text, len, &log, NULL), DGA_E_OK);
    assert_int_equal(log->n, 3);
    assert_int_equal(dga_eventlog_replay_runtime(log, dga_event_backend_alg(b), replay), DGA_E_OK);
    assert_int_equal(dga_event_backend_read(b, pcr, NULL), DGA_E_OK);
    assert_memory_equal(pcr, replay, n);
    assert_memory_not_equal(pcr, zero, n);
    dga_eventlog_free(log);
    free(text);
    dga_event_backend_free(b);
}

static void test_pcr14_sha256_v1(void **state)
{
    (void)state;
    emit_and_compare("tpm:14:sha256", DGA_EVENT_V1, "gcp");
}

static void test_pcr15_sha384_v2(void **state)
{
    (void)state;
    emit_and_compare("tpm:15:sha384", DGA_EVENT_V2, "aws");
}

/* A PCR the TPM will not extend from locality 0 is a named refusal, and the log stays empty. */
static void test_pcr_refused(void **state)
{
    (void)state;
    char log_dir[128], log_path[192];
    snprintf(log_dir, sizeof log_dir, "%s/refused", dir);
    snprintf(log_path, sizeof log_path, "%s/%s", log_dir, DGA_EVENT_LOG_FILE);
    struct dga_event_paths paths = {.log_dir = log_dir, .tpm_tcti = tcti};
    struct dga_event_backend *b = NULL;
    assert_int_equal(dga_event_backend_open("tpm:17:sha256", &paths, &b, NULL), DGA_E_OK);
    assert_int_equal(dga_event_version_set(b, DGA_EVENT_V1, NULL), DGA_E_OK);
    struct dga_diag diag = {0};
    assert_int_equal(dga_event_emit(b, "app-id", NULL, 0, &diag), DGA_E_REGISTER_PERMISSION);
    struct stat st;
    assert_int_not_equal(stat(log_path, &st), 0);
    dga_event_backend_free(b);
}

static bool have_swtpm(void)
{
    return system("command -v swtpm >/dev/null 2>&1") == 0;
}

int main(void)
{
    if (!have_swtpm()) {
        fprintf(stderr, "SKIP: swtpm is not installed (scripts/deps.sh installs it)\n");
        return SKIPPED;
    }
    setenv("TSS2_LOG", "all+NONE", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcr14_sha256_v1),
        cmocka_unit_test(test_pcr15_sha384_v2),
        cmocka_unit_test(test_pcr_refused),
    };
    return cmocka_run_group_tests(tests, start_swtpm, stop_swtpm);
}
