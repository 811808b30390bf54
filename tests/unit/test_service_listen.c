/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The servers' Unix sockets (lib/service/listen.h): the socket file's mode and
 * group, a stale file from an earlier run told apart from a running
 * instance's, and socket activation as sd_listen_fds(3) reads it (fd 3 set up
 * here by hand, no systemd). Each case asserts the exact error and its field.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dga/service.h"
#include "service/listen.h"
#include "testutil.h"

#define NO_SUCH_GROUP "dga-test-no-such-group"

static char dir[64];
static char path[128];
static struct sockaddr_un un;
static socklen_t un_len;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dga-listen-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(path, sizeof path, "%s/s.sock", dir);
    struct sockaddr_storage ss;
    char text[160];
    snprintf(text, sizeof text, "unix:%s", path);
    if (dga_service_parse_listen(text, &ss, &un_len) != DGA_E_OK) {
        return -1;
    }
    memcpy(&un, &ss, sizeof un);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    return 0;
}

/* A Unix stream socket bound at path; listening when asked. */
static int bound_socket(int type, bool listening)
{
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (const struct sockaddr *)&un, un_len), 0);
    if (listening) {
        assert_int_equal(listen(fd, 4), 0);
    }
    return fd;
}

/* Whether something accepts connections at path now. */
static bool connects(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    bool ok = connect(fd, (const struct sockaddr *)&un, un_len) == 0;
    close(fd);
    return ok;
}

static const char *own_group(void)
{
    struct group *g = getgrgid(getegid());
    assert_non_null(g);
    return g->gr_name;
}

static void test_group_lookup(void **state)
{
    (void)state;
    gid_t gid = 12345;
    struct dga_diag d = {0};
    assert_int_equal(service_group_lookup(own_group(), &gid, &d), DGA_E_OK);
    assert_int_equal(gid, getegid());
    gid = 12345;
    assert_int_equal(service_group_lookup(NO_SUCH_GROUP, &gid, &d), DGA_E_SERVICE_GROUP);
    assert_string_equal(d.field, "socket-group");
    assert_int_equal(gid, 12345); /* ret_ untouched */
}

/* A fresh path: the file gets the mode and the group before anyone can connect. */
static void test_listen_mode_and_group(void **state)
{
    (void)state;
    int fd = -1;
    struct dga_diag d = {0};
    assert_int_equal(service_unix_listen(&un, un_len, 0640, own_group(), &fd, &d), DGA_E_OK);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_gid, getegid());
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_true(connects());
    close(fd);
}

/* An earlier run's socket file (nothing listens: ECONNREFUSED) is replaced. */
static void test_stale_socket_replaced(void **state)
{
    (void)state;
    close(bound_socket(SOCK_STREAM, false));
    assert_int_equal(chmod(path, 0600), 0);
    assert_false(connects());
    int fd = -1;
    struct dga_diag d = {0};
    assert_int_equal(service_unix_listen(&un, un_len, 0, NULL, &fd, &d), DGA_E_OK);
    struct stat after;
    assert_int_equal(lstat(path, &after), 0);
    assert_int_equal(after.st_mode & 07777, 0666); /* (the inode number may be reused) */
    assert_true(connects());
    close(fd);
}

/* A running instance's socket (a connection is accepted) is left alone. */
static void test_live_socket_refused(void **state)
{
    (void)state;
    int live = bound_socket(SOCK_STREAM, true);
    struct stat before;
    assert_int_equal(lstat(path, &before), 0);
    int fd = -7;
    struct dga_diag d = {0};
    assert_int_equal(service_unix_listen(&un, un_len, 0, NULL, &fd, &d), DGA_E_SERVICE_IN_USE);
    assert_string_equal(d.field, "socket path");
    assert_int_equal(fd, -7);
    struct stat after;
    assert_int_equal(lstat(path, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_true(connects());
    close(live);
}

/* A live socket whose backlog is full still counts as running (EAGAIN, not ECONNREFUSED). */
static void test_live_socket_full_backlog_refused(void **state)
{
    (void)state;
    int live = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(live, (const struct sockaddr *)&un, un_len), 0);
    assert_int_equal(listen(live, 0), 0);
    int held[4];
    for (size_t i = 0; i < 4; i++) { /* fill the backlog; later ones would block */
        held[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        (void)connect(held[i], (const struct sockaddr *)&un, un_len);
    }
    int fd = -1;
    struct dga_diag d = {0};
    assert_int_equal(service_unix_listen(&un, un_len, 0, NULL, &fd, &d), DGA_E_SERVICE_IN_USE);
    for (size_t i = 0; i < 4; i++) {
        close(held[i]);
    }
    close(live);
}

static void test_other_file_refused(void **state)
{
    (void)state;
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    int fd = -1;
    struct dga_diag d = {0};
    assert_int_equal(service_unix_listen(&un, un_len, 0, NULL, &fd, &d), DGA_E_SERVICE_LISTEN);
    assert_string_equal(d.field, "socket path");
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

/* An unknown group fails before the path is touched: the stale file is still there. */
static void test_unknown_group_touches_nothing(void **state)
{
    (void)state;
    close(bound_socket(SOCK_STREAM, false));
    struct stat before, after;
    assert_int_equal(lstat(path, &before), 0);
    int fd = -1;
    struct dga_diag d = {0};
    assert_int_equal(service_unix_listen(&un, un_len, 0, NO_SUCH_GROUP, &fd, &d),
                     DGA_E_SERVICE_GROUP);
    assert_string_equal(d.field, "socket-group");
    assert_int_equal(lstat(path, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
}

/* ---- socket activation ---- */

/* fd 3 as it was before a case (the test runner may hold it): moved aside and put back. */
static int saved_fd3 = -1;

static void fd3_take(int fd)
{
    if (fd == SERVICE_LISTEN_FDS_START) {
        return; /* the socket got fd 3 itself: 3 was free */
    }
    saved_fd3 = fcntl(SERVICE_LISTEN_FDS_START, F_DUPFD_CLOEXEC, 10);
    if (fd >= 0) {
        assert_int_equal(dup2(fd, SERVICE_LISTEN_FDS_START), SERVICE_LISTEN_FDS_START);
        close(fd);
    } else {
        close(SERVICE_LISTEN_FDS_START);
    }
}

static void fd3_restore(void)
{
    if (saved_fd3 >= 0) {
        dup2(saved_fd3, SERVICE_LISTEN_FDS_START);
        close(saved_fd3);
        saved_fd3 = -1;
    } else {
        close(SERVICE_LISTEN_FDS_START);
    }
}

static void set_env(const char *pid, const char *fds)
{
    char own[32];
    snprintf(own, sizeof own, "%ld", (long)getpid());
    assert_int_equal(setenv("LISTEN_PID", pid != NULL ? pid : own, 1), 0);
    if (fds != NULL) {
        assert_int_equal(setenv("LISTEN_FDS", fds, 1), 0);
    } else {
        unsetenv("LISTEN_FDS");
    }
    assert_int_equal(setenv("LISTEN_FDNAMES", "rpc", 1), 0);
}

static void assert_env_unset(void)
{
    assert_null(getenv("LISTEN_PID"));
    assert_null(getenv("LISTEN_FDS"));
    assert_null(getenv("LISTEN_FDNAMES"));
}

/* service_listen_fds with fd 3 = fd (-1: closed); its error, and *ret in fd_out. */
static dga_err activate(int fd, int *fd_out, struct dga_diag *d)
{
    fd3_take(fd);
    *fd_out = -7;
    dga_err e = service_listen_fds(fd_out, d);
    assert_env_unset();
    return e;
}

static void test_activation_not_ours(void **state)
{
    (void)state;
    int fd = -7;
    struct dga_diag d = {0};
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    assert_int_equal(service_listen_fds(&fd, &d), DGA_E_OK);
    assert_int_equal(fd, -1);
    /* LISTEN_PID names another process: its sockets, not ours; still unset */
    set_env("1", "1");
    assert_int_equal(activate(-1, &fd, &d), DGA_E_OK);
    assert_int_equal(fd, -1);
    fd3_restore();
}

static void test_activation_ok(void **state)
{
    (void)state;
    int fd = -7;
    struct dga_diag d = {0};
    set_env(NULL, "1");
    assert_int_equal(activate(bound_socket(SOCK_STREAM, true), &fd, &d), DGA_E_OK);
    assert_int_equal(fd, SERVICE_LISTEN_FDS_START);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC); /* not passed on to children either */
    assert_true(connects());
    fd3_restore();
}

/* Each refusal: its field, *ret untouched, the environment unset all the same. */
static void expect_refused(const char *pid, const char *fds, int fd3, const char *field)
{
    int fd = -7;
    struct dga_diag d = {0};
    set_env(pid, fds);
    assert_int_equal(activate(fd3, &fd, &d), DGA_E_SERVICE_ACTIVATION);
    assert_string_equal(d.field, field);
    assert_int_equal(fd, -7);
    fd3_restore();
    unlink(path);
}

static void test_activation_refused(void **state)
{
    (void)state;
    expect_refused("12x", "1", bound_socket(SOCK_STREAM, true), "LISTEN_PID");
    expect_refused("", "1", bound_socket(SOCK_STREAM, true), "LISTEN_PID");
    expect_refused(NULL, "2", bound_socket(SOCK_STREAM, true), "LISTEN_FDS");
    expect_refused(NULL, "0", bound_socket(SOCK_STREAM, true), "LISTEN_FDS");
    expect_refused(NULL, " 1", bound_socket(SOCK_STREAM, true), "LISTEN_FDS");
    expect_refused(NULL, NULL, bound_socket(SOCK_STREAM, true), "LISTEN_FDS");
    expect_refused(NULL, "1", -1, "fd 3");                               /* closed */
    expect_refused(NULL, "1", bound_socket(SOCK_STREAM, false), "fd 3"); /* not listening */
    expect_refused(NULL, "1", bound_socket(SOCK_DGRAM, false), "fd 3");  /* not a stream */
    int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);            /* not a Unix socket */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(tcp, (const struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(tcp, 1), 0);
    expect_refused(NULL, "1", tcp, "fd 3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_mode_and_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_socket_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_socket_full_backlog_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_group_touches_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activation_not_ours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activation_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activation_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
