/* SPDX-License-Identifier: Apache-2.0 */
#include "ocsp_pki.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "testutil.h"

#include "dga/util.h"

/* The responder this process started and has not stopped (one at a time), for pki_free. */
static pid_t running_responder;

static const char *scripts_dir(void)
{
    const char *d = getenv("DGA_OCSP_SCRIPTS");
    return d != NULL ? d : "tests/ocsp";
}

X509 *pki_cert(const struct pki *p, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.pem", p->dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    return x;
}

void pki_make(struct pki *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "/tmp/dga-ocsp-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh '%s/make_pki.sh' '%s'", scripts_dir(), p->dir);
    assert_int_equal(system(cmd), 0);
    p->root = pki_cert(p, "root");
    p->inter = pki_cert(p, "inter");
    p->leaf = pki_cert(p, "leaf");
    p->revoked = pki_cert(p, "revoked");
    p->held = pki_cert(p, "held");
    p->unknown = pki_cert(p, "unknown");
    p->above_leaf = sk_X509_new_null();
    assert_non_null(p->above_leaf);
    X509_up_ref(p->inter);
    sk_X509_push(p->above_leaf, p->inter);
}

void pki_free(struct pki *p)
{
    pki_responder_stop(running_responder); /* a test that failed midway left it running */
    X509 *all[] = {p->root, p->inter, p->leaf, p->revoked, p->held, p->unknown};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        X509_free(all[i]);
    }
    sk_X509_pop_free(p->above_leaf, X509_free);
    if (p->dir[0] != '\0') {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", p->dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "cannot remove %s\n", p->dir);
        }
    }
    memset(p, 0, sizeof *p);
}

uint8_t *pki_respond_as(const struct pki *p, const uint8_t *req, size_t len, const char *ca,
                        const char *index, const char *signer, const char *args, size_t *ret_len)
{
    char cmd[2048], path[512], name[64];
    static unsigned seq;
    /* Unique file names: the fake responder thread may call this while a test does. */
    snprintf(name, sizeof name, "q%u-%ld", __atomic_fetch_add(&seq, 1, __ATOMIC_SEQ_CST),
             (long)getpid());
    char reqname[80];
    snprintf(reqname, sizeof reqname, "%s.req", name);
    test_write_file(p->dir, reqname, req, len);
    snprintf(path, sizeof path, "%s/%s.resp", p->dir, name);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl ocsp -index %s -CA %s.pem -rsigner %s.pem "
             "-rkey %s.key -reqin %s.req -respout %s.resp %s >/dev/null 2>&1",
             p->dir, index, ca, signer, signer, name, name, args != NULL ? args : "");
    assert_int_equal(system(cmd), 0);
    uint8_t *resp = NULL;
    assert_int_equal(dga_file_read(path, 1u << 20, &resp, ret_len), DGA_E_OK);
    return resp;
}

uint8_t *pki_respond(const struct pki *p, const uint8_t *req, size_t len, const char *signer,
                     const char *args, size_t *ret_len)
{
    return pki_respond_as(p, req, len, "inter", "index.txt", signer, args, ret_len);
}

int pki_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    close(s);
    return ntohs(a.sin_port);
}

/*
 * The responder says it is ready in its log once it listens. (A connect()
 * probe would not do: OpenSSL 3.0's responder then waits forever on the
 * probe's empty connection and serves nobody else.)
 */
static bool responder_ready(const struct pki *p)
{
    char path[512], line[256];
    snprintf(path, sizeof path, "%s/responder.log", p->dir);
    FILE *f = fopen(path, "r");
    bool ready = false;
    while (f != NULL && !ready && fgets(line, sizeof line, f) != NULL) {
        ready = strstr(line, "waiting for OCSP client connections") != NULL;
    }
    if (f != NULL) {
        fclose(f);
    }
    return ready;
}

pid_t pki_responder_start(const struct pki *p, int port, const char *args)
{
    char cmd[2048];
    /* OpenSSL 3.0's -port takes a number only: it listens on every interface; we use 127.0.0.1. */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && exec openssl ocsp -index index.txt -CA inter.pem -rsigner ocsp.pem "
             "-rkey ocsp.key -port %d %s >responder.log 2>&1",
             p->dir, port, args != NULL ? args : "");
    char log[512];
    snprintf(log, sizeof log, "%s/responder.log", p->dir);
    remove(log);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) {
        running_responder = pid;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the test */
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* Wait up to 5 s for it to listen. */
    for (int i = 0; i < 500 && !responder_ready(p); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_true(responder_ready(p));
    return pid;
}

void pki_responder_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    if (pid == running_responder) {
        running_responder = 0;
    }
}
