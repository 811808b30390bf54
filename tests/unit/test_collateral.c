/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCSP sources against real sockets on 127.0.0.1: `openssl ocsp -port` as
 * the responder (started and stopped here), and a small scripted HTTP
 * server (a thread) that forwards to `openssl ocsp` for the right CA or
 * misbehaves on purpose (503s, silence, oversized and garbage bodies) for
 * the client's retries, timeouts and caps. Also the collateral directory
 * (atomic writes, keys, corrupted files) and bundles. Exact errors throughout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include "ocsp_pki.h"
#include "testutil.h"

#include "dga/appraise.h"
#include "dga/collateral.h"
#include "dga/policy.h"
#include "dga/rim.h"
#include "dga/util.h"

static struct pki pki;
static char tmpdir[256];

static int group_setup(void **state)
{
    (void)state;
    pki_make(&pki);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pki_free(&pki);
    return 0;
}

/* A fresh empty collateral directory per test. */
static int test_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dga-collateral-XXXXXX");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int test_teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static char url_buf[64];
static const char *url_of(int port)
{
    snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%d/", port);
    return url_buf;
}

/* Fast retries and short timeouts: the tests wait for nothing real. */
static void source_init(struct dga_ocsp_source *s, enum dga_ocsp_mode mode, const char *url,
                        const char *dir)
{
    dga_ocsp_source_init(s);
    s->mode = mode;
    s->url = url;
    s->dir = dir;
    s->http.connect_timeout_ms = 1000;
    s->http.total_timeout_ms = 2000;
    s->http.backoff_ms = 10;
    s->http.max_attempts = 3;
}

/* The test PKI's leaf chain: leaf, intermediate, root. */
static STACK_OF(X509) *leaf_chain(X509 *leaf)
{
    STACK_OF(X509) *c = sk_X509_new_null();
    assert_non_null(c);
    sk_X509_push(c, leaf);
    sk_X509_push(c, pki.inter);
    sk_X509_push(c, pki.root);
    return c;
}

static dga_err fetch(const struct dga_ocsp_source *s, X509 *subject, time_t at,
                     struct dga_ocsp_cert_result *x)
{
    memset(x, 0, sizeof *x);
    return dga_ocsp_fetch_cert(s, subject, pki.inter, pki.root, NULL, at, x);
}

/* ---------------------------------------------------------------- scripted server */

enum act {
    ACT_FORWARD,
    ACT_STATUS_503,
    ACT_STATUS_404,
    ACT_SILENT,
    ACT_HUGE,
    ACT_GARBAGE,
    ACT_CANNED
};

struct server {
    int fd, port;
    pthread_t thread;
    enum act script[16];
    size_t n_script; /* past the end: ACT_FORWARD */
    size_t served;
    char args[64];      /* extra args for openssl ocsp */
    const char *canned; /* ACT_CANNED: this body with status 200 */
    char last_request_line[256];
    char last_authorization[256]; /* the value of the last request's Authorization header */
    char last_user_agent[128];
    bool last_expect; /* an Expect header came */
};

/* The value of header name in head ("" when absent). */
static void header_value(const char *head, const char *name, char *out, size_t cap)
{
    const char *h = strcasestr(head, name);
    out[0] = '\0';
    if (h != NULL) {
        h += strlen(name);
        h += strspn(h, " ");
        snprintf(out, cap, "%.*s", (int)strcspn(h, "\r\n"), h);
    }
}

static bool read_request(int c, uint8_t **body, size_t *body_len, struct server *s)
{
    char head[8192];
    size_t n = 0;
    char *end = NULL;
    while (end == NULL && n < sizeof head - 1) {
        ssize_t r = read(c, head + n, sizeof head - 1 - n);
        if (r <= 0) {
            return false;
        }
        n += (size_t)r;
        head[n] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    if (end == NULL) {
        return false;
    }
    snprintf(s->last_request_line, sizeof s->last_request_line, "%.*s", (int)strcspn(head, "\r\n"),
             head);
    header_value(head, "\r\nAuthorization:", s->last_authorization, sizeof s->last_authorization);
    header_value(head, "\r\nUser-Agent:", s->last_user_agent, sizeof s->last_user_agent);
    s->last_expect = strcasestr(head, "\r\nExpect:") != NULL;
    const char *cl = strcasestr(head, "Content-Length:");
    size_t want = cl != NULL ? strtoul(cl + 15, NULL, 10) : 0;
    size_t have = n - (size_t)(end + 4 - head);
    if (want > 65536 || have > want) {
        return false;
    }
    uint8_t *b = malloc(want + 1);
    memcpy(b, end + 4, have);
    while (have < want) {
        ssize_t r = read(c, b + have, want - have);
        if (r <= 0) {
            free(b);
            return false;
        }
        have += (size_t)r;
    }
    *body = b;
    *body_len = want;
    return true;
}

static void reply(int c, int status, const uint8_t *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/ocsp-response\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, len);
    if (write(c, head, (size_t)n) < 0 || (len > 0 && write(c, body, len) < 0)) {
        return;
    }
}

/* openssl ocsp for the CA that issued the requested certificate. */
static void forward(const struct server *s, int c, const uint8_t *req, size_t len)
{
    const unsigned char *p = req;
    OCSP_REQUEST *r = d2i_OCSP_REQUEST(NULL, &p, (long)len);
    OCSP_CERTID *by_root = OCSP_cert_to_id(EVP_sha1(), NULL, pki.root);
    bool root =
        r != NULL && by_root != NULL &&
        OCSP_id_issuer_cmp(OCSP_onereq_get0_id(OCSP_request_onereq_get0(r, 0)), by_root) == 0;
    size_t out_len = 0;
    uint8_t *out = root ? pki_respond_as(&pki, req, len, "root", "root-index.txt", "rootocsp",
                                         s->args, &out_len)
                        : pki_respond(&pki, req, len, "ocsp", s->args, &out_len);
    reply(c, 200, out, out_len);
    free(out);
    OCSP_CERTID_free(by_root);
    OCSP_REQUEST_free(r);
}

static void serve_one(struct server *s, int c)
{
    uint8_t *body = NULL;
    size_t len = 0;
    enum act a = s->served < s->n_script ? s->script[s->served] : ACT_FORWARD;
    s->served++;
    if (!read_request(c, &body, &len, s)) {
        return;
    }
    static uint8_t huge[DGA_OCSP_RESPONSE_MAX + 100];
    switch (a) {
    case ACT_FORWARD:
        forward(s, c, body, len);
        break;
    case ACT_STATUS_503:
        reply(c, 503, (const uint8_t *)"busy", 4);
        break;
    case ACT_STATUS_404:
        reply(c, 404, (const uint8_t *)"no", 2);
        break;
    case ACT_SILENT:
        sleep(3);
        break; /* past the client's total timeout */
    case ACT_HUGE:
        reply(c, 200, huge, sizeof huge);
        break;
    case ACT_GARBAGE:
        reply(c, 200, (const uint8_t *)"not an OCSP response", 20);
        break;
    case ACT_CANNED:
        reply(c, 200, (const uint8_t *)s->canned, strlen(s->canned));
        break;
    }
    free(body);
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) {
            return NULL; /* the listening socket was shut down */
        }
        serve_one(s, c);
        close(c);
    }
}

static void server_start(struct server *s)
{
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

/* ---------------------------------------------------------------- openssl ocsp -port */

/* The real responder: good, revoked, certificateHold, unknown, over HTTP with our nonce. */
static void test_online_openssl_responder(void **state)
{
    (void)state;
    int port = pki_free_port();
    pid_t pid = pki_responder_start(&pki, port, "-ndays 1");
    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_ONLINE, url_of(port), tmpdir);
    struct dga_ocsp_cert_result x;
    time_t now = time(NULL);

    assert_int_equal(fetch(&s, pki.leaf, now, &x), DGA_E_OK);
    assert_int_equal(x.r.err, DGA_E_OK);
    assert_int_equal(x.r.status, DGA_OCSP_STATUS_GOOD);
    assert_true(x.r.nonce_sent);
    assert_true(x.r.nonce_matches);
    assert_int_equal(x.origin, DGA_OCSP_ORIGIN_ONLINE);
    assert_string_equal(x.subject, "DGA Test Leaf");
    assert_non_null(x.der);
    free(x.der);

    assert_int_equal(fetch(&s, pki.revoked, now, &x), DGA_E_OK);
    assert_int_equal(x.r.status, DGA_OCSP_STATUS_REVOKED);
    assert_string_equal(x.r.reason, "keyCompromise");
    free(x.der);
    assert_int_equal(fetch(&s, pki.held, now, &x), DGA_E_OK);
    assert_int_equal(x.r.status, DGA_OCSP_STATUS_REVOKED);
    assert_string_equal(x.r.reason, "certificateHold");
    free(x.der);
    assert_int_equal(fetch(&s, pki.unknown, now, &x), DGA_E_OK);
    assert_int_equal(x.r.status, DGA_OCSP_STATUS_UNKNOWN);
    free(x.der);

    /* Valid online answers were filed: the leaf's is there under its key. */
    char key[DGA_OCSP_KEY_LEN], path[512];
    assert_int_equal(dga_ocsp_cert_key(pki.leaf, pki.inter, key), DGA_E_OK);
    assert_int_equal(dga_collateral_ocsp_path(tmpdir, key, path, sizeof path), DGA_E_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);

    pki_responder_stop(pid);

    /* Responder down: online falls back to the fresh stored response ... */
    assert_int_equal(fetch(&s, pki.leaf, now, &x), DGA_E_OK);
    assert_int_equal(x.origin, DGA_OCSP_ORIGIN_CACHE);
    assert_int_equal(x.r.status, DGA_OCSP_STATUS_GOOD);
    assert_false(x.r.nonce_matches); /* no nonce was sent for a stored response */
    free(x.der);
    /* ... but not to a stale one (8 days later: older than the maximum age). */
    assert_int_equal(fetch(&s, pki.leaf, now + 8 * 86400, &x), DGA_E_COLLATERAL_UNREACHABLE);
    free(x.der);
    /* Without a directory: fail closed. */
    s.dir = NULL;
    assert_int_equal(fetch(&s, pki.leaf, now, &x), DGA_E_COLLATERAL_UNREACHABLE);
    assert_int_equal(x.r.err, DGA_E_COLLATERAL_UNREACHABLE);
    assert_false(x.r.response_valid);
    assert_int_equal(x.r.status, DGA_OCSP_STATUS_NONE);
    free(x.der);
}

/* Responder down for a whole chain: the failure names the certificate. */
static void test_responder_down_names_certificate(void **state)
{
    (void)state;
    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_ONLINE, url_of(pki_free_port()), NULL);
    s.http.max_attempts = 2;
    STACK_OF(X509) *chain = leaf_chain(pki.leaf);
    struct dga_ocsp_chain_result r;
    assert_int_equal(dga_ocsp_check_chain(&s, chain, DGA_OCSP_CHAIN_RIM, pki.root, time(NULL), &r),
                     DGA_E_COLLATERAL_UNREACHABLE);
    assert_int_equal(r.err, DGA_E_COLLATERAL_UNREACHABLE);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.certs[0].index, 1);
    assert_string_equal(r.certs[0].subject, "DGA Test OCSP Intermediate");
    assert_string_equal(dga_ocsp_chain_status_name(r.status), "invalid");
    assert_false(r.response_valid);
    dga_ocsp_chain_result_clear(&r);
    sk_X509_free(chain);
}

/* ---------------------------------------------------------------- HTTP client behaviour */

static void test_chain_online_two_cas(void **state)
{
    (void)state;
    struct server srv = {.args = "-ndays 1"};
    server_start(&srv);
    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_ONLINE, url_of(srv.port), tmpdir);
    STACK_OF(X509) *chain = leaf_chain(pki.leaf);
    struct dga_ocsp_chain_result r;
    /* RIM kind over leaf, inter, root: subjects 1 (root's responder) then 0. */
    assert_int_equal(dga_ocsp_check_chain(&s, chain, DGA_OCSP_CHAIN_RIM, pki.root, time(NULL), &r),
                     DGA_E_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(dga_ocsp_chain_status_name(r.status), "good");
    assert_true(r.nonce_matches);
    assert_true(r.response_valid);
    assert_int_equal(r.origin, DGA_OCSP_ORIGIN_ONLINE);
    assert_int_equal(r.max_age, DGA_OCSP_DEFAULT_MAX_AGE);
    dga_ocsp_chain_result_clear(&r);
    sk_X509_free(chain);

    /* A held leaf: the chain is revoked with reason certificateHold. */
    chain = leaf_chain(pki.held);
    assert_int_equal(dga_ocsp_check_chain(&s, chain, DGA_OCSP_CHAIN_RIM, pki.root, time(NULL), &r),
                     DGA_E_OK);
    assert_string_equal(dga_ocsp_chain_status_name(r.status), "revoked");
    assert_string_equal(r.reason, "certificateHold");
    assert_true(r.response_valid);
    dga_ocsp_chain_result_clear(&r);

    /* Off: nothing asked, "not-checked". */
    s.mode = DGA_OCSP_MODE_OFF;
    size_t before = srv.served;
    assert_int_equal(dga_ocsp_check_chain(&s, chain, DGA_OCSP_CHAIN_RIM, pki.root, time(NULL), &r),
                     DGA_E_OK);
    assert_string_equal(dga_ocsp_chain_status_name(r.status), "not-checked");
    assert_false(r.response_valid);
    assert_int_equal(srv.served, before);
    dga_ocsp_chain_result_clear(&r);
    sk_X509_free(chain);

    /* The directory now answers the whole chain offline. */
    s.mode = DGA_OCSP_MODE_CACHE;
    chain = leaf_chain(pki.leaf);
    assert_int_equal(dga_ocsp_check_chain(&s, chain, DGA_OCSP_CHAIN_RIM, pki.root, time(NULL), &r),
                     DGA_E_OK);
    assert_string_equal(dga_ocsp_chain_status_name(r.status), "good");
    assert_false(r.nonce_matches);
    assert_true(r.response_valid);
    assert_int_equal(r.origin, DGA_OCSP_ORIGIN_CACHE);
    dga_ocsp_chain_result_clear(&r);
    sk_X509_free(chain);
    server_stop(&srv);
}

static void test_retries_then_success(void **state)
{
    (void)state;
    struct server srv = {
        .script = {ACT_STATUS_503, ACT_STATUS_503}, .n_script = 2, .args = "-ndays 1"};
    server_start(&srv);
    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_ONLINE, url_of(srv.port), NULL);
    struct dga_ocsp_cert_result x;
    assert_int_equal(fetch(&s, pki.leaf, time(NULL), &x), DGA_E_OK);
    assert_int_equal(x.r.status, DGA_OCSP_STATUS_GOOD);
    assert_int_equal(srv.served, 3);
    free(x.der);
    server_stop(&srv);
}

static void test_retries_are_bounded(void **state)
{
    (void)state;
    struct server srv = {.script = {ACT_STATUS_503, ACT_STATUS_503, ACT_STATUS_503, ACT_STATUS_503},
                         .n_script = 4};
    server_start(&srv);
    struct dga_http_options o;
    dga_http_options_init(&o);
    o.max_attempts = 3;
    o.backoff_ms = 1;
    uint8_t *body = NULL;
    size_t len = 0;
    struct dga_http_info info;
    assert_int_equal(dga_http_post(url_of(srv.port), "application/ocsp-request",
                                   "application/ocsp-response", (const uint8_t *)"x", 1, &o, &body,
                                   &len, &info),
                     DGA_E_COLLATERAL_HTTP);
    assert_int_equal(info.attempts, 3);
    assert_int_equal(info.status, 503);
    assert_null(body);
    server_stop(&srv);
    assert_int_equal(srv.served, 3);
}

static void test_no_retry_on_404(void **state)
{
    (void)state;
    struct server srv = {.script = {ACT_STATUS_404}, .n_script = 1};
    server_start(&srv);
    struct dga_http_options o;
    dga_http_options_init(&o);
    uint8_t *body = NULL;
    size_t len = 0;
    struct dga_http_info info;
    assert_int_equal(dga_http_post(url_of(srv.port), "a/b", "a/c", (const uint8_t *)"x", 1, &o,
                                   &body, &len, &info),
                     DGA_E_COLLATERAL_HTTP);
    assert_int_equal(info.attempts, 1);
    assert_int_equal(info.status, 404);
    server_stop(&srv);
}

/* The proxy's use: one attempt, any status comes back with its body and content type. */
static void test_exchange_passes_status_through(void **state)
{
    (void)state;
    struct server srv = {.script = {ACT_STATUS_503, ACT_STATUS_404}, .n_script = 2};
    server_start(&srv);
    struct dga_http_options o;
    dga_http_options_init(&o);
    o.max_attempts = 1;
    const struct dga_http_request post = {.url = url_of(srv.port),
                                          .body = (const uint8_t *)"x",
                                          .body_len = 1,
                                          .content_type = "application/ocsp-request",
                                          .accept = "application/ocsp-response",
                                          .authorization = "Bearer test-key",
                                          .authorization_over_http = true, /* a local test */
                                          .user_agent = "dga-test/1"};
    struct dga_http_response res;
    struct dga_http_info info;
    assert_int_equal(dga_http_exchange(&post, &o, &res, &info), DGA_E_OK);
    assert_int_equal(res.status, 503);
    assert_int_equal(res.len, 4);
    assert_memory_equal(res.body, "busy", 4);
    assert_string_equal(res.content_type, "application/ocsp-response");
    assert_int_equal(info.attempts, 1); /* 503 is retryable, but not with max_attempts 1 */
    assert_string_equal(srv.last_request_line, "POST / HTTP/1.1");
    assert_string_equal(srv.last_authorization, "Bearer test-key");
    assert_string_equal(srv.last_user_agent, "dga-test/1");
    assert_false(srv.last_expect);
    dga_http_response_clear(&res);
    assert_null(res.body);

    const struct dga_http_request get = {.url = url_of(srv.port), .accept = "application/json"};
    assert_int_equal(dga_http_exchange(&get, &o, &res, &info), DGA_E_OK);
    assert_int_equal(res.status, 404);
    assert_string_equal((const char *)res.body, "no");
    assert_string_equal(srv.last_request_line, "GET / HTTP/1.1");
    assert_string_equal(srv.last_authorization, ""); /* none asked for, none sent */
    dga_http_response_clear(&res);
    server_stop(&srv);
    assert_int_equal(srv.served, 2);
}

/* A header value with CR or LF could add headers of its own: refused before anything is sent. */
static void test_exchange_refuses_header_injection(void **state)
{
    (void)state;
    struct server srv = {.script = {ACT_STATUS_404}, .n_script = 1};
    server_start(&srv);
    struct dga_http_options o;
    dga_http_options_init(&o);
    struct dga_http_request r = {
        .url = url_of(srv.port), .accept = "a/b", .authorization_over_http = true};
    struct dga_http_response res;
    struct dga_http_info info;
    static const char *const bad[] = {"Bearer k\r\nX-Injected: 1", "Bearer k\nX-Injected: 1",
                                      "Bearer k\r"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r.authorization = bad[i];
        assert_int_equal(dga_http_exchange(&r, &o, &res, &info), DGA_E_BAD_ARGUMENT);
        assert_null(res.body);
        assert_int_equal(info.attempts, 0);
    }
    r.authorization = NULL;
    r.user_agent = "ua\r\nX-Injected: 1";
    assert_int_equal(dga_http_exchange(&r, &o, &res, &info), DGA_E_BAD_ARGUMENT);
    r.user_agent = NULL;
    r.accept = "a/b\nX-Injected: 1";
    assert_int_equal(dga_http_exchange(&r, &o, &res, &info), DGA_E_BAD_ARGUMENT);
    char long_value[1024];
    memset(long_value, 'k', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    r.accept = "a/b";
    r.authorization = long_value; /* would be cut short: refused instead */
    assert_int_equal(dga_http_exchange(&r, &o, &res, &info), DGA_E_BAD_ARGUMENT);
    server_stop(&srv);
    assert_int_equal(srv.served, 0);
}

/* A credential never goes out in clear text unless the caller asks for it. */
static void test_exchange_refuses_authorization_over_http(void **state)
{
    (void)state;
    struct server srv = {.script = {ACT_STATUS_404}, .n_script = 1};
    server_start(&srv);
    struct dga_http_options o;
    dga_http_options_init(&o);
    o.max_attempts = 1;
    struct dga_http_request r = {
        .url = url_of(srv.port), .accept = "a/b", .authorization = "Bearer secret"};
    struct dga_http_response res;
    struct dga_http_info info;
    assert_int_equal(dga_http_exchange(&r, &o, &res, &info), DGA_E_BAD_ARGUMENT);
    assert_null(res.body);
    assert_int_equal(info.attempts, 0);
    char upper[64];
    snprintf(upper, sizeof upper, "HTTP%s", url_of(srv.port) + 4); /* the scheme in capitals */
    r.url = upper;
    assert_int_equal(dga_http_exchange(&r, &o, &res, &info), DGA_E_BAD_ARGUMENT);
    r.url = url_of(srv.port);
    r.authorization_over_http = true;
    assert_int_equal(dga_http_exchange(&r, &o, &res, &info), DGA_E_OK);
    assert_int_equal(res.status, 404);
    assert_string_equal(srv.last_authorization, "Bearer secret");
    dga_http_response_clear(&res);
    server_stop(&srv);
    assert_int_equal(srv.served, 1);
}

static void test_timeout(void **state)
{
    (void)state;
    struct server srv = {.script = {ACT_SILENT, ACT_SILENT}, .n_script = 2};
    server_start(&srv);
    struct dga_http_options o;
    dga_http_options_init(&o);
    o.total_timeout_ms = 300;
    o.max_attempts = 2;
    o.backoff_ms = 1;
    uint8_t *body = NULL;
    size_t len = 0;
    struct dga_http_info info;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(dga_http_post(url_of(srv.port), "a/b", "a/c", (const uint8_t *)"x", 1, &o,
                                   &body, &len, &info),
                     DGA_E_COLLATERAL_UNREACHABLE);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(info.attempts, 2);
    assert_true(t1.tv_sec - t0.tv_sec < 3); /* two 300 ms attempts, not the server's 3 s each */
    server_stop(&srv);
}

static void test_oversized_body(void **state)
{
    (void)state;
    struct server srv = {.script = {ACT_HUGE}, .n_script = 1};
    server_start(&srv);
    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_ONLINE, url_of(srv.port), NULL);
    struct dga_ocsp_cert_result x;
    assert_int_equal(fetch(&s, pki.leaf, time(NULL), &x), DGA_E_TOO_LARGE);
    assert_int_equal(x.r.status, DGA_OCSP_STATUS_NONE);
    assert_int_equal(srv.served, 1); /* not retried */
    server_stop(&srv);
}

/* A 200 with garbage: obtained, but not valid, and never filed. */
static void test_garbage_body(void **state)
{
    (void)state;
    struct server srv = {.script = {ACT_GARBAGE}, .n_script = 1};
    server_start(&srv);
    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_ONLINE, url_of(srv.port), tmpdir);
    struct dga_ocsp_cert_result x;
    assert_int_equal(fetch(&s, pki.leaf, time(NULL), &x), DGA_E_OK);
    assert_int_equal(x.r.err, DGA_E_OCSP_MALFORMED);
    assert_false(x.r.response_valid);
    assert_int_equal(x.r.status, DGA_OCSP_STATUS_NONE);
    free(x.der);
    char sub[512];
    snprintf(sub, sizeof sub, "%s/ocsp", tmpdir);
    struct stat st;
    assert_int_equal(stat(sub, &st), -1);
    server_stop(&srv);
}

static void test_bad_urls(void **state)
{
    (void)state;
    struct dga_http_options o;
    dga_http_options_init(&o);
    uint8_t *body = NULL;
    size_t len = 0;
    /* Only http and https. */
    assert_int_not_equal(dga_http_post("file:///etc/passwd", "a/b", "a/c", (const uint8_t *)"x", 1,
                                       &o, &body, &len, NULL),
                         DGA_E_OK);
    assert_null(body);
    o.max_attempts = 0;
    assert_int_equal(dga_http_post("http://127.0.0.1:1/", "a/b", "a/c", (const uint8_t *)"x", 1, &o,
                                   &body, &len, NULL),
                     DGA_E_BAD_ARGUMENT);
}

/* ---------------------------------------------------------------- directory */

static uint8_t *leaf_response(const char *args, size_t *len)
{
    struct dga_ocsp_request *r = NULL;
    uint8_t *req = NULL;
    size_t req_len = 0;
    assert_int_equal(dga_ocsp_request_new(pki.leaf, pki.inter, false, &r), DGA_E_OK);
    assert_int_equal(dga_ocsp_request_der(r, &req, &req_len), DGA_E_OK);
    uint8_t *resp = pki_respond(&pki, req, req_len, "ocsp", args, len);
    free(req);
    dga_ocsp_request_free(r);
    return resp;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

static void test_directory(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *resp = leaf_response("-ndays 1", &len);
    assert_int_equal(dga_collateral_ocsp_store(tmpdir, resp, len), DGA_E_OK);
    assert_int_equal(dga_collateral_ocsp_store(tmpdir, resp, len), DGA_E_OK); /* overwrite */
    char sub[512];
    snprintf(sub, sizeof sub, "%s/ocsp", tmpdir);
    assert_int_equal(count_entries(sub), 1); /* no temporary file left behind */

    char key[DGA_OCSP_KEY_LEN];
    uint8_t *back = NULL;
    size_t back_len = 0;
    assert_int_equal(dga_ocsp_cert_key(pki.leaf, pki.inter, key), DGA_E_OK);
    assert_int_equal(dga_collateral_ocsp_read(tmpdir, key, &back, &back_len), DGA_E_OK);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, resp, len);
    free(back);

    /* Missing, bad keys, garbage refused for filing, unwritable directory. */
    assert_int_equal(dga_ocsp_cert_key(pki.held, pki.inter, key), DGA_E_OK);
    assert_int_equal(dga_collateral_ocsp_read(tmpdir, key, &back, &back_len),
                     DGA_E_OCSP_NO_RESPONSE);
    assert_int_equal(dga_collateral_ocsp_read(tmpdir, "../../etc/passwd", &back, &back_len),
                     DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_collateral_ocsp_store(tmpdir, (const uint8_t *)"junk", 4),
                     DGA_E_OCSP_MALFORMED);
    assert_int_equal(dga_collateral_ocsp_store("/proc/no/such/dir", resp, len),
                     DGA_E_COLLATERAL_STORE);
    free(resp);
}

/*
 * lstat, seen by the library (linked statically into this test): a look at a stored
 * response by path before it is opened is a check that can go stale (the entry
 * replaced, removed or made a link in between). Counted, then answered as lstat would.
 */
static int ocsp_entry_lstats;
int lstat(const char *path, struct stat *st)
{
    if (strstr(path, "/ocsp/") != NULL) {
        ocsp_entry_lstats++;
    }
    return fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

/* A stored response is read through one O_NOFOLLOW open and fstat, nothing by path first. */
static void test_directory_one_open(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *resp = leaf_response("-ndays 1", &len);
    assert_int_equal(dga_collateral_ocsp_store(tmpdir, resp, len), DGA_E_OK);
    char key[DGA_OCSP_KEY_LEN], path[512];
    uint8_t *back = NULL;
    size_t back_len = 0;
    assert_int_equal(dga_ocsp_cert_key(pki.leaf, pki.inter, key), DGA_E_OK);
    ocsp_entry_lstats = 0;
    assert_int_equal(dga_collateral_ocsp_read(tmpdir, key, &back, &back_len), DGA_E_OK);
    assert_int_equal(ocsp_entry_lstats, 0);
    assert_int_equal(back_len, len);
    free(back);
    /* a symbolic link planted as the entry is refused at that open, not followed */
    assert_int_equal(dga_collateral_ocsp_path(tmpdir, key, path, sizeof path), DGA_E_OK);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("/etc/hostname", path), 0);
    assert_int_equal(dga_collateral_ocsp_read(tmpdir, key, &back, &back_len),
                     DGA_E_NOT_REGULAR_FILE);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(dga_collateral_ocsp_read(tmpdir, key, &back, &back_len),
                     DGA_E_OCSP_NO_RESPONSE);
    assert_int_equal(ocsp_entry_lstats, 0);
    free(resp);
}

/* A corrupted stored file is never "good": the chain shows it invalid. */
static void test_corrupted_cache_file(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *resp = leaf_response("-ndays 1", &len);
    assert_int_equal(dga_collateral_ocsp_store(tmpdir, resp, len), DGA_E_OK);
    char key[DGA_OCSP_KEY_LEN], path[512];
    assert_int_equal(dga_ocsp_cert_key(pki.leaf, pki.inter, key), DGA_E_OK);
    assert_int_equal(dga_collateral_ocsp_path(tmpdir, key, path, sizeof path), DGA_E_OK);
    resp[len - 2] ^= 0x55; /* inside the signature */
    assert_int_equal(dga_collateral_write_atomic(path, resp, len), DGA_E_OK);
    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_CACHE, NULL, tmpdir);
    struct dga_ocsp_cert_result x;
    assert_int_equal(fetch(&s, pki.leaf, time(NULL), &x), DGA_E_OK);
    assert_false(x.r.response_valid);
    assert_true(x.r.err == DGA_E_OCSP_SIGNATURE || x.r.err == DGA_E_OCSP_MALFORMED);
    assert_int_equal(x.r.status, DGA_OCSP_STATUS_NONE);
    free(x.der);
    /* Truncated on disk. */
    assert_int_equal(dga_collateral_write_atomic(path, resp, len / 2), DGA_E_OK);
    assert_int_equal(fetch(&s, pki.leaf, time(NULL), &x), DGA_E_OK);
    assert_int_equal(x.r.err, DGA_E_OCSP_MALFORMED);
    free(x.der);
    free(resp);
}

/* Cache mode with nothing stored: a named failure, nothing asked of any network. */
static void test_cache_missing(void **state)
{
    (void)state;
    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_CACHE, "http://127.0.0.1:1/", tmpdir);
    STACK_OF(X509) *chain = leaf_chain(pki.leaf);
    struct dga_ocsp_chain_result r;
    assert_int_equal(dga_ocsp_check_chain(&s, chain, DGA_OCSP_CHAIN_RIM, pki.root, time(NULL), &r),
                     DGA_E_OCSP_NO_RESPONSE);
    assert_int_equal(r.failed, 0);
    assert_string_equal(r.certs[0].subject, "DGA Test OCSP Intermediate");
    assert_int_equal(r.certs[1].r.err, DGA_E_OCSP_NO_RESPONSE);
    assert_string_equal(r.certs[1].subject, "DGA Test Leaf");
    assert_string_equal(dga_ocsp_chain_status_name(r.status), "invalid");
    dga_ocsp_chain_result_clear(&r);
    sk_X509_free(chain);
}

/* Freshness of stored responses: nextUpdate and the maximum age still bound them. */
static void test_cache_freshness(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *resp = leaf_response("-ndays 30", &len);
    assert_int_equal(dga_collateral_ocsp_store(tmpdir, resp, len), DGA_E_OK);
    free(resp);
    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_CACHE, NULL, tmpdir);
    struct dga_ocsp_cert_result x;
    time_t now = time(NULL);
    assert_int_equal(fetch(&s, pki.leaf, now + 86400, &x), DGA_E_OK);
    assert_int_equal(x.r.err, DGA_E_OK);
    free(x.der);
    assert_int_equal(fetch(&s, pki.leaf, now + 8 * 86400, &x), DGA_E_OK);
    assert_int_equal(x.r.err, DGA_E_OCSP_TOO_OLD);
    free(x.der);
    s.max_age = 3600;
    assert_int_equal(fetch(&s, pki.leaf, now + 7200, &x), DGA_E_OK);
    assert_int_equal(x.r.err, DGA_E_OCSP_TOO_OLD);
    free(x.der);
    s.max_age = 0;
    s.unlimited_age = true;
    assert_int_equal(fetch(&s, pki.leaf, now + 20 * 86400, &x), DGA_E_OK);
    assert_int_equal(x.r.err, DGA_E_OK);
    free(x.der);
    assert_int_equal(fetch(&s, pki.leaf, now + 31 * 86400, &x), DGA_E_OK);
    assert_int_equal(x.r.err, DGA_E_OCSP_EXPIRED);
    free(x.der);
}

/* ---------------------------------------------------------------- bundles */

static void test_bundle(void **state)
{
    (void)state;
    struct dga_ocsp_bundle b = {0};
    size_t len = 0;
    uint8_t *stale = leaf_response("-nmin 1", &len);
    assert_int_equal(dga_ocsp_bundle_add(&b, stale, len), DGA_E_OK);
    free(stale);
    uint8_t *fresh = leaf_response("-ndays 1", &len);
    assert_int_equal(dga_ocsp_bundle_add(&b, fresh, len), DGA_E_OK);
    assert_int_equal(dga_ocsp_bundle_add(&b, (const uint8_t *)"junk", 4), DGA_E_OCSP_MALFORMED);
    assert_int_equal(b.n, 2);

    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_BUNDLE, NULL, NULL);
    s.bundle = &b;
    struct dga_ocsp_cert_result x;
    /* An hour on, the 1-minute response is expired: the bundle's valid one is chosen. */
    time_t at = time(NULL) + 3600;
    assert_int_equal(fetch(&s, pki.leaf, at, &x), DGA_E_OK);
    assert_int_equal(x.r.err, DGA_E_OK);
    assert_int_equal(x.origin, DGA_OCSP_ORIGIN_BUNDLE);
    assert_int_equal(x.der_len, len);
    assert_memory_equal(x.der, fresh, len);
    free(x.der);
    /* No response for this certificate in the bundle. */
    assert_int_equal(fetch(&s, pki.revoked, at, &x), DGA_E_OCSP_NO_RESPONSE);
    free(x.der);
    /* Two days on neither is valid: the first is reported, invalid. */
    assert_int_equal(fetch(&s, pki.leaf, at + 2 * 86400, &x), DGA_E_OK);
    assert_int_equal(x.r.err, DGA_E_OCSP_EXPIRED);
    free(x.der);
    dga_ocsp_bundle_clear(&b);

    /* The same response read back from a bundle's JSON (collateral.ocsp[].response). */
    char *b64 = malloc(4 * ((len + 2) / 3) + 1);
    assert_non_null(b64);
    EVP_EncodeBlock((unsigned char *)b64, fresh, (int)len);
    json_t *doc = json_pack("{s:{s:[{s:s}]}}", "collateral", "ocsp", "response", b64);
    char *text = json_dumps(doc, JSON_COMPACT);
    struct dga_diag diag = {0};
    assert_int_equal(dga_ocsp_bundle_from_json(text, strlen(text), &b, &diag), DGA_E_OK);
    assert_int_equal(b.n, 1);
    assert_int_equal(fetch(&s, pki.leaf, at, &x), DGA_E_OK);
    assert_int_equal(x.r.err, DGA_E_OK);
    free(x.der);
    dga_ocsp_bundle_clear(&b);
    static const char *const bad[] = {"{}", "{\"collateral\": {\"ocsp\": {}}}",
                                      "{\"collateral\": {\"ocsp\": [{\"response\": 1}]}}", "[", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(dga_ocsp_bundle_from_json(bad[i], strlen(bad[i]), &b, &diag),
                         DGA_E_BAD_JSON);
    }
    const char *junk = "{\"collateral\": {\"ocsp\": [{\"response\": \"AAAA\"}]}}";
    assert_int_equal(dga_ocsp_bundle_from_json(junk, strlen(junk), &b, &diag),
                     DGA_E_OCSP_MALFORMED);
    assert_int_equal(b.n, 0);
    dga_ocsp_bundle_clear(&b);
    free(text);
    json_decref(doc);
    free(b64);
    free(fresh);
}

/* The TDX collateral directory: the key from tdx_quote's PCK leaf, entries by that key. */
static void test_tdx_directory(void **state)
{
    (void)state;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    struct dga_quote q;
    struct dga_tdx_collateral_key k;
    assert_int_equal(
        dga_file_read(fixture_path("tdx/tdx_quote"), DGA_QUOTE_MAX_LEN, &raw, &raw_len), DGA_E_OK);
    assert_int_equal(dga_quote_parse(raw, raw_len, &q, NULL), DGA_E_OK);
    assert_int_equal(dga_tdx_collateral_key(&q, &k, NULL), DGA_E_OK);
    assert_string_equal(k.fmspc, "B0C06F000000");
    assert_false(k.processor_ca);
    char path[512], want[512], sub[512];
    snprintf(want, sizeof want, "%s/tdx/B0C06F000000-platform.json", tmpdir);
    snprintf(sub, sizeof sub, "%s/tdx", tmpdir);
    assert_int_equal(dga_tdx_collateral_path(tmpdir, &k, path, sizeof path), DGA_E_OK);
    assert_string_equal(path, want);

    char *back = NULL;
    size_t back_len = 0;
    assert_int_equal(dga_tdx_collateral_read(tmpdir, &k, &back, &back_len),
                     DGA_E_QUOTE_COLLATERAL_MISSING);
    assert_int_equal(dga_tdx_collateral_store(tmpdir, &k, "{\"a\":1}", 7), DGA_E_OK);
    assert_int_equal(dga_tdx_collateral_store(tmpdir, &k, "{\"b\":22}", 8), DGA_E_OK);
    assert_int_equal(count_entries(sub), 1); /* replaced, no temporary file left */
    assert_int_equal(dga_tdx_collateral_read(tmpdir, &k, &back, &back_len), DGA_E_OK);
    assert_int_equal(back_len, 8);
    assert_string_equal(back, "{\"b\":22}");
    free(back);

    /* a link planted as the entry is refused; so is a tdx/ that is a link, for writing */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("/etc/hostname", path), 0);
    assert_int_equal(dga_tdx_collateral_read(tmpdir, &k, &back, &back_len), DGA_E_NOT_REGULAR_FILE);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(symlink("/tmp", sub), 0);
    assert_int_equal(dga_tdx_collateral_store(tmpdir, &k, "{}", 2), DGA_E_COLLATERAL_STORE);
    assert_int_equal(unlink(sub), 0);

    /* keys outside the directory's names, and a quote without a PCK chain */
    struct dga_tdx_collateral_key bad = k;
    memcpy(bad.fmspc, "b0c06f000000", 13);
    assert_int_equal(dga_tdx_collateral_path(tmpdir, &bad, path, sizeof path), DGA_E_BAD_ARGUMENT);
    memcpy(bad.fmspc, "../../etc/pa", 13);
    assert_int_equal(dga_tdx_collateral_read(tmpdir, &bad, &back, &back_len), DGA_E_BAD_ARGUMENT);
    q.inner_cert_type = 4;
    assert_int_equal(dga_tdx_collateral_key(&q, &k, NULL), DGA_E_QUOTE_CERT_DATA);
    k.processor_ca = true;
    assert_int_equal(dga_tdx_collateral_path(tmpdir, &k, path, sizeof path), DGA_E_OK);
    assert_non_null(strstr(path, "/tdx/B0C06F000000-processor.json"));
    free(raw);
}

static void test_mode_names(void **state)
{
    (void)state;
    enum dga_ocsp_mode m;
    assert_int_equal(dga_ocsp_mode_parse("online", &m), DGA_E_OK);
    assert_int_equal(m, DGA_OCSP_MODE_ONLINE);
    assert_int_equal(dga_ocsp_mode_parse("cache", &m), DGA_E_OK);
    assert_int_equal(m, DGA_OCSP_MODE_CACHE);
    assert_int_equal(dga_ocsp_mode_parse("off", &m), DGA_E_OK);
    assert_int_equal(m, DGA_OCSP_MODE_OFF);
    assert_int_equal(dga_ocsp_mode_parse("sometimes", &m), DGA_E_BAD_ARGUMENT);
    assert_string_equal(dga_ocsp_mode_name(DGA_OCSP_MODE_BUNDLE), "bundle");
}

/* ---------------------------------------------------------------- appraisal and policy */

#define H545 "gpu/h100_545.00/"
#define AT_2024 "2024-06-01T00:00:00Z"

struct appraisal_run {
    struct dga_evidence_set set;
    struct dga_trust device_root, rim_root;
    struct dga_appraise_options opt;
    struct dga_appraisal a;
    char rims[512];
};

/* The bundled H100 545.00 vector, appraised with its RIMs at 2024-06-01 through src. */
static struct appraisal_run *appraise_h545(const struct dga_ocsp_source *src)
{
    struct appraisal_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    fixture_evidence(H545, DGA_ARCH_HOPPER, NULL, &r->set);
    assert_int_equal(dga_trust_nvidia_device(&r->device_root), DGA_E_OK);
    assert_int_equal(dga_trust_nvidia_rim(&r->rim_root), DGA_E_OK);
    snprintf(r->rims, sizeof r->rims, "%s", fixture_path(H545 "rims"));
    r->opt.verify.trust = &r->device_root;
    assert_int_equal(dga_hex_decode_fixed(NONCE_N3, r->opt.verify.nonce, DGA_NONCE_LEN), DGA_E_OK);
    assert_int_equal(dga_time_parse(AT_2024, &r->opt.verify.at), DGA_E_OK);
    r->opt.rim_trust = &r->rim_root;
    r->opt.rim_dir = r->rims;
    r->opt.ocsp = src;
    dga_appraise_device(&r->set.dev[0], &r->opt, &r->a);
    dga_label_devices(&r->a.report, 1);
    return r;
}

static void appraisal_free(struct appraisal_run *r)
{
    dga_appraisal_clear(&r->a);
    dga_evidence_set_clear(&r->set);
    dga_trust_clear(&r->device_root);
    dga_trust_clear(&r->rim_root);
    free(r);
}

/* Cache mode, nothing stored: a hard failure naming the device chain's certificate 3. */
static void test_appraisal_no_response(void **state)
{
    (void)state;
    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_CACHE, NULL, tmpdir);
    struct appraisal_run *r = appraise_h545(&s);
    assert_int_equal(r->a.err, DGA_E_OCSP_NO_RESPONSE);
    assert_int_equal(r->a.failed_check, DGA_APPRAISAL_CHECK_OCSP_DEVICE_CHAIN);
    const struct dga_ocsp_chain_result *o = dga_appraisal_ocsp_failure(&r->a);
    assert_ptr_equal(o, &r->a.ocsp);
    assert_int_equal(o->failed, 0);
    assert_int_equal(o->certs[0].index, 3);
    assert_string_equal(o->certs[0].subject, "NVIDIA GH100 Identity");
    /* The RIM chains were checked too: signer chain certificates 2, 1, 0. */
    assert_int_equal(r->a.driver.ocsp.n, 3);
    assert_int_equal(r->a.driver.ocsp.certs[0].index, 2);
    assert_int_equal(r->a.driver.ocsp.certs[2].index, 0);
    assert_int_equal(r->a.driver.ocsp.err, DGA_E_OCSP_NO_RESPONSE);
    const char *msg = NULL;
    assert_int_equal(dga_appraisal_result_code(&r->a, &msg), 201);
    json_t *c = dga_claims_device(&r->a);
    json_t *drv = json_object_get(c, "x-nvidia-gpu-driver-rim-cert-chain");
    assert_string_equal(json_string_value(json_object_get(drv, "x-nvidia-cert-ocsp-status")),
                        "invalid");
    assert_string_equal(json_string_value(json_object_get(drv, "x-dstack-cert-ocsp-error")),
                        "ocsp-no-response");
    json_decref(c);
    appraisal_free(r);
}

/* An NVSwitch: its identity chain and its BIOS RIM's signer chain, switch claim names. */
static void test_appraisal_switch(void **state)
{
    (void)state;
    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_CACHE, NULL, tmpdir);
    struct appraisal_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    fixture_evidence("nvswitch/ls10_96.10.55.00.01/", DGA_ARCH_LS10, NULL, &r->set);
    assert_int_equal(dga_trust_nvidia_device(&r->device_root), DGA_E_OK);
    assert_int_equal(dga_trust_nvidia_rim(&r->rim_root), DGA_E_OK);
    snprintf(r->rims, sizeof r->rims, "%s", fixture_path("nvswitch/ls10_96.10.55.00.01/rims"));
    r->opt.verify.trust = &r->device_root;
    assert_int_equal(dga_hex_decode_fixed(NONCE_N1, r->opt.verify.nonce, DGA_NONCE_LEN), DGA_E_OK);
    assert_int_equal(dga_time_parse("2026-11-28T00:00:00Z", &r->opt.verify.at), DGA_E_OK);
    r->opt.rim_trust = &r->rim_root;
    r->opt.rim_dir = r->rims;
    r->opt.ocsp = &s;
    assert_int_equal(dga_appraise_device(&r->set.dev[0], &r->opt, &r->a), DGA_E_OCSP_NO_RESPONSE);
    assert_int_equal(r->a.failed_check, DGA_APPRAISAL_CHECK_OCSP_DEVICE_CHAIN);
    assert_false(r->a.driver.wanted);
    assert_int_equal(r->a.firmware.ocsp.n, 3);
    assert_int_equal(r->a.firmware.ocsp.err, DGA_E_OCSP_NO_RESPONSE);
    json_t *c = dga_claims_device(&r->a);
    json_t *dev = json_object_get(c, "x-nvidia-switch-attestation-report-cert-chain");
    json_t *bios = json_object_get(c, "x-nvidia-switch-bios-rim-cert-chain");
    assert_string_equal(json_string_value(json_object_get(dev, "x-dstack-cert-ocsp-error")),
                        "ocsp-no-response");
    assert_string_equal(json_string_value(json_object_get(bios, "x-nvidia-cert-ocsp-status")),
                        "invalid");
    assert_null(json_object_get(c, "x-nvidia-gpu-attestation-report-cert-chain"));
    json_decref(c);
    appraisal_free(r);
}

/* Off (or no source): the appraisal is as before, every chain "not-checked". */
static void test_appraisal_off(void **state)
{
    (void)state;
    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_OFF, NULL, NULL);
    struct appraisal_run *r = appraise_h545(&s);
    assert_int_equal(r->a.err, DGA_E_OK);
    json_t *c = dga_claims_device(&r->a);
    json_t *dev = json_object_get(c, "x-nvidia-gpu-attestation-report-cert-chain");
    assert_string_equal(json_string_value(json_object_get(dev, "x-nvidia-cert-ocsp-status")),
                        "not-checked");
    assert_true(json_is_false(json_object_get(dev, "x-nvidia-cert-ocsp-response-valid")));
    assert_string_equal(json_string_value(json_object_get(dev, "x-dstack-cert-ocsp-source")),
                        "not-checked");
    json_decref(c);
    appraisal_free(r);
}

/* A chain result as the sources would give it: n certificates, all with `status`. */
static void fake_chain(struct dga_ocsp_chain_result *o, enum dga_ocsp_origin origin,
                       enum dga_ocsp_status status, const char *reason, long max_age)
{
    dga_ocsp_chain_result_clear(o);
    o->checked = true;
    o->n = 3;
    o->max_age = max_age;
    for (size_t i = 0; i < 3; i++) {
        o->certs[i].origin = origin;
        o->certs[i].r.response_valid = true;
        o->certs[i].r.nonce_sent = origin == DGA_OCSP_ORIGIN_ONLINE;
        o->certs[i].r.nonce_matches = origin == DGA_OCSP_ORIGIN_ONLINE;
        o->certs[i].r.status = i == 2 ? status : DGA_OCSP_STATUS_GOOD;
        snprintf(o->certs[i].r.reason, sizeof o->certs[i].r.reason, "%s", i == 2 ? reason : "");
    }
    dga_ocsp_chain_aggregate(o);
}

/* The policy's verdict over the appraisal's claims (one device). */
static struct dga_verdict *verdict_of(const struct dga_appraisal *a, const char *policy_json)
{
    struct dga_policy *p = NULL;
    if (policy_json == NULL) {
        assert_int_equal(dga_policy_default(&p), DGA_E_OK);
    } else {
        assert_int_equal(dga_policy_parse(policy_json, strlen(policy_json), &p, NULL), DGA_E_OK);
    }
    json_t *claims = json_array();
    json_array_append_new(claims, dga_claims_device(a));
    struct dga_verdict *v = calloc(1, sizeof *v);
    assert_non_null(v);
    assert_int_equal(dga_policy_evaluate(p, claims, v), DGA_E_OK);
    json_decref(claims);
    dga_policy_free(p);
    return v;
}

static bool verdict_has(const struct dga_verdict *v, const char *text)
{
    for (size_t i = 0; i < v->n_reasons; i++) {
        if (strstr(v->reasons[i], text) != NULL) {
            return true;
        }
    }
    return false;
}

#define DRV "x-nvidia-gpu-driver-rim-cert-chain"
#define DEV "x-nvidia-gpu-attestation-report-cert-chain"

/*
 * Claims as the appraisal writes them, judged by the built-in policy and the
 * relaxations: online good passes; cached good (bounded age) passes without
 * a nonce; unbounded or "strict" does not; certificateHold passes only with
 * the driver-RIM relaxation, never on the device chain.
 */
static void test_policy_over_revocation_claims(void **state)
{
    (void)state;
    struct appraisal_run *r = appraise_h545(NULL);
    assert_int_equal(r->a.err, DGA_E_OK);
    struct dga_appraisal *a = &r->a;
    fake_chain(&a->ocsp, DGA_OCSP_ORIGIN_ONLINE, DGA_OCSP_STATUS_GOOD, "", 604800);
    fake_chain(&a->driver.ocsp, DGA_OCSP_ORIGIN_ONLINE, DGA_OCSP_STATUS_GOOD, "", 604800);
    fake_chain(&a->firmware.ocsp, DGA_OCSP_ORIGIN_ONLINE, DGA_OCSP_STATUS_GOOD, "", 604800);
    struct dga_verdict *v = verdict_of(a, NULL);
    assert_true(v->pass);
    free(v);

    /* Stored responses (no nonce) held to 7 days: accepted by default. */
    fake_chain(&a->driver.ocsp, DGA_OCSP_ORIGIN_CACHE, DGA_OCSP_STATUS_GOOD, "", 604800);
    v = verdict_of(a, NULL);
    assert_true(v->pass);
    free(v);
    /* ... not with "strict", nor beyond the policy's ocsp_max_age. */
    v = verdict_of(a, "{\"ocsp_nonce\": \"strict\"}");
    assert_false(v->pass);
    assert_true(verdict_has(v, "GPU-0: " DRV ".x-nvidia-cert-ocsp-nonce-matches is false, policy "
                               "requires true"));
    free(v);
    v = verdict_of(a, "{\"ocsp_max_age\": 86400}");
    assert_false(v->pass);
    assert_true(verdict_has(v, "GPU-0: " DRV ".x-dstack-cert-ocsp-max-age is 604800, policy allows "
                               "1 to 86400 seconds"));
    free(v);
    v = verdict_of(a, "{\"ocsp_nonce\": \"not-required\"}");
    assert_true(v->pass);
    free(v);
    /* Unlimited age (0): no freshness bound, so no stand-in for the nonce. */
    fake_chain(&a->driver.ocsp, DGA_OCSP_ORIGIN_CACHE, DGA_OCSP_STATUS_GOOD, "", 0);
    v = verdict_of(a, NULL);
    assert_false(v->pass);
    assert_true(verdict_has(v, "GPU-0: " DRV ".x-dstack-cert-ocsp-max-age is 0, policy requires a "
                               "stored OCSP response held to a maximum age"));
    free(v);

    /* certificateHold on the driver RIM chain: rejected by default ... */
    fake_chain(&a->driver.ocsp, DGA_OCSP_ORIGIN_ONLINE, DGA_OCSP_STATUS_REVOKED, "certificateHold",
               604800);
    v = verdict_of(a, NULL);
    assert_false(v->pass);
    assert_true(verdict_has(v, "GPU-0: " DRV ".x-nvidia-cert-ocsp-status is \"revoked\", policy "
                               "allows [\"good\"]"));
    free(v);
    /* ... accepted by the on-hold relaxation (tests/fixtures/policies) ... */
    size_t len = 0;
    char *hold = (char *)fixture_read("policies/allow_gpu_driver_rim_cert_on_hold.json", &len);
    v = verdict_of(a, hold);
    assert_true(v->pass);
    free(v);
    /* ... which does not accept keyCompromise ... */
    fake_chain(&a->driver.ocsp, DGA_OCSP_ORIGIN_ONLINE, DGA_OCSP_STATUS_REVOKED, "keyCompromise",
               604800);
    v = verdict_of(a, hold);
    assert_false(v->pass);
    assert_true(verdict_has(v, "GPU-0: " DRV ".x-nvidia-cert-revocation-reason is "
                               "\"keyCompromise\", policy allows [\"certificateHold\"]"));
    free(v);
    /* ... nor a hold on the device chain. */
    fake_chain(&a->driver.ocsp, DGA_OCSP_ORIGIN_ONLINE, DGA_OCSP_STATUS_GOOD, "", 604800);
    fake_chain(&a->ocsp, DGA_OCSP_ORIGIN_ONLINE, DGA_OCSP_STATUS_REVOKED, "certificateHold",
               604800);
    v = verdict_of(a, hold);
    assert_false(v->pass);
    assert_true(verdict_has(v, "GPU-0: " DEV ".x-nvidia-cert-ocsp-status is \"revoked\""));
    free(v);
    free(hold);
    /* A device-chain relaxation cannot even be written. */
    struct dga_policy *p = NULL;
    struct dga_diag d = {0};
    const char *bad = "{\"chains\": {\"gpu-attestation-report\": {\"ocsp_status\": [\"good\", "
                      "\"revoked\"]}}}";
    assert_int_equal(dga_policy_parse(bad, strlen(bad), &p, &d), DGA_E_POLICY);
    /* ocsp_max_age: 1 second to a year; ocsp_nonce: three words only. */
    static const char *const bad_docs[] = {"{\"ocsp_max_age\": 0}", "{\"ocsp_max_age\": -1}",
                                           "{\"ocsp_max_age\": 31622401}",
                                           "{\"ocsp_max_age\": \"1d\"}"};
    for (size_t i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++) {
        memset(&d, 0, sizeof d);
        assert_int_equal(dga_policy_parse(bad_docs[i], strlen(bad_docs[i]), &p, &d), DGA_E_POLICY);
        assert_string_equal(d.field, "ocsp_max_age");
    }
    const char *sloppy = "{\"ocsp_nonce\": \"lenient\"}";
    assert_int_equal(dga_policy_parse(sloppy, strlen(sloppy), &p, &d), DGA_E_POLICY);
    assert_string_equal(d.field, "ocsp_nonce");
    const char *year = "{\"ocsp_max_age\": 31622400}";
    assert_int_equal(dga_policy_parse(year, strlen(year), &p, NULL), DGA_E_OK);
    assert_true(dga_policy_ocsp_required(p));
    dga_policy_free(p);
    const char *off = "{\"ocsp\": \"not-required\"}";
    assert_int_equal(dga_policy_parse(off, strlen(off), &p, NULL), DGA_E_OK);
    assert_false(dga_policy_ocsp_required(p));
    dga_policy_free(p);
    appraisal_free(r);
}

/* ---------------------------------------------------------------- RIMs */

#define DRIVER_545 "NV_GPU_DRIVER_GH100_545.00"

/* {"id": id, "rim": base64(the fixture RIM)} as NVIDIA's RIM service answers. */
static char *rim_answer(const char *id, const char *rel)
{
    size_t len = 0;
    uint8_t *xml = fixture_read(rel, &len);
    char *b64 = malloc(4 * ((len + 2) / 3) + 1);
    assert_non_null(b64);
    EVP_EncodeBlock((unsigned char *)b64, xml, (int)len);
    json_t *j = json_pack("{s:s,s:s,s:s}", "id", id, "rim", b64, "sha256", "ignored");
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    free(b64);
    free(xml);
    return text;
}

static void test_rim_fetch_and_store(void **state)
{
    (void)state;
    char *answer = rim_answer(DRIVER_545, H545 "rims/" DRIVER_545 ".xml");
    struct server srv = {.script = {ACT_CANNED, ACT_STATUS_404, ACT_CANNED, ACT_CANNED},
                         .n_script = 4,
                         .canned = answer};
    server_start(&srv);
    struct dga_http_options o;
    dga_http_options_init(&o);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/", srv.port);
    uint8_t *xml = NULL;
    size_t len = 0;
    struct dga_diag diag = {0};
    assert_int_equal(dga_collateral_rim_fetch(base, DRIVER_545, &o, &xml, &len, &diag), DGA_E_OK);
    assert_string_equal(srv.last_request_line, "GET /v1/rim/" DRIVER_545 " HTTP/1.1");
    size_t want_len = 0;
    uint8_t *want = fixture_read(H545 "rims/" DRIVER_545 ".xml", &want_len);
    assert_int_equal(len, want_len);
    assert_memory_equal(xml, want, len);

    /* Stored once; the same bytes again add nothing; another issue goes to <id>.d/. */
    char store[512];
    snprintf(store, sizeof store, "%s/rims", tmpdir);
    bool added = false;
    assert_int_equal(dga_collateral_rim_store(store, DRIVER_545, xml, len, &added), DGA_E_OK);
    assert_true(added);
    assert_int_equal(dga_collateral_rim_store(store, DRIVER_545, xml, len, &added), DGA_E_OK);
    assert_false(added);
    xml[len - 2] ^= 1;
    assert_int_equal(dga_collateral_rim_store(store, DRIVER_545, xml, len, &added), DGA_E_OK);
    assert_true(added);
    struct dga_rim_candidates *c = calloc(1, sizeof *c);
    assert_int_equal(dga_rim_store_read(store, DRIVER_545, c, NULL), DGA_E_OK);
    assert_int_equal(c->n, 2);
    dga_rim_candidates_clear(c);
    free(c);
    assert_int_equal(dga_collateral_rim_store(store, "../escape", xml, len, NULL),
                     DGA_E_BAD_ARGUMENT);
    free(xml);
    xml = NULL;

    /* 404: not found. An answer for another id: refused. A bad id: never requested. */
    assert_int_equal(dga_collateral_rim_fetch(base, DRIVER_545, &o, &xml, &len, &diag),
                     DGA_E_RIM_NOT_FOUND);
    assert_int_equal(
        dga_collateral_rim_fetch(base, "NV_GPU_DRIVER_GH100_545.01", &o, &xml, &len, &diag),
        DGA_E_BAD_JSON);
    assert_string_equal(diag.field, "id");
    assert_int_equal(dga_collateral_rim_fetch(base, "a/b", &o, &xml, &len, &diag),
                     DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_collateral_rim_fetch(base, ".hidden", &o, &xml, &len, &diag),
                     DGA_E_BAD_ARGUMENT);
    assert_null(xml);
    server_stop(&srv);
    assert_int_equal(srv.served, 3);

    /* The answer's parser alone: each malformation named. */
    static const struct {
        const char *body, *field;
        dga_err e;
    } bad[] = {
        {"not json", "answer", DGA_E_BAD_JSON},
        {"[]", "answer", DGA_E_BAD_JSON},
        {"{\"id\": \"" DRIVER_545 "\"}", "rim", DGA_E_BAD_JSON},
        {"{\"id\": \"" DRIVER_545 "\", \"rim\": 5}", "rim", DGA_E_BAD_JSON},
        {"{\"id\": \"" DRIVER_545 "\", \"rim\": \"***\"}", "rim", DGA_E_BAD_BASE64},
        {"{\"id\": \"" DRIVER_545 "\", \"id\": \"x\", \"rim\": \"\"}", "answer", DGA_E_BAD_JSON},
        {"{\"rim\": \"PHgvPg==\"}", "id", DGA_E_BAD_JSON},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&diag, 0, sizeof diag);
        assert_int_equal(dga_collateral_rim_answer((const uint8_t *)bad[i].body,
                                                   strlen(bad[i].body), DRIVER_545, &xml, &len,
                                                   &diag),
                         bad[i].e);
        assert_string_equal(diag.field, bad[i].field);
        assert_null(xml);
    }
    free(want);
    free(answer);
}

static void test_peek(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *resp = leaf_response("-ndays 2", &len);
    struct dga_ocsp_result r;
    assert_int_equal(dga_ocsp_response_peek(resp, len, &r), DGA_E_OK);
    assert_int_equal(r.status, DGA_OCSP_STATUS_GOOD);
    assert_false(r.response_valid); /* never verified */
    assert_int_equal(r.next_update - r.this_update, 2 * 86400);
    assert_int_equal(dga_ocsp_response_peek(resp, len / 2, &r), DGA_E_OCSP_MALFORMED);
    free(resp);
}

/* A memo asks each certificate once per run and gives every caller the same outcome. */
static void test_memo(void **state)
{
    (void)state;
    struct server srv = {.args = "-ndays 1"};
    server_start(&srv);
    struct dga_ocsp_source s;
    source_init(&s, DGA_OCSP_MODE_ONLINE, url_of(srv.port), NULL);
    assert_int_equal(dga_ocsp_memo_new(&s.memo), DGA_E_OK);
    STACK_OF(X509) *a = leaf_chain(pki.leaf), *b = leaf_chain(pki.held);
    struct dga_ocsp_chain_result r1, r2, r3;
    time_t now = time(NULL);
    assert_int_equal(dga_ocsp_check_chain(&s, a, DGA_OCSP_CHAIN_RIM, pki.root, now, &r1), DGA_E_OK);
    assert_int_equal(srv.served, 2);
    /* The held leaf shares the intermediate: one new request. */
    assert_int_equal(dga_ocsp_check_chain(&s, b, DGA_OCSP_CHAIN_RIM, pki.root, now, &r2), DGA_E_OK);
    assert_int_equal(srv.served, 3);
    assert_string_equal(dga_ocsp_chain_status_name(r2.status), "revoked");
    /* The first chain again: nothing asked, the same answer and response bytes. */
    assert_int_equal(dga_ocsp_check_chain(&s, a, DGA_OCSP_CHAIN_RIM, pki.root, now, &r3), DGA_E_OK);
    assert_int_equal(srv.served, 3);
    assert_string_equal(dga_ocsp_chain_status_name(r3.status), "good");
    assert_true(r3.nonce_matches);
    assert_int_equal(r3.certs[1].index, 0);
    assert_int_equal(r3.certs[1].der_len, r1.certs[1].der_len);
    assert_memory_equal(r3.certs[1].der, r1.certs[1].der, r1.certs[1].der_len);
    /* Another verification time is another question. */
    dga_ocsp_chain_result_clear(&r3);
    assert_int_equal(dga_ocsp_check_chain(&s, a, DGA_OCSP_CHAIN_RIM, pki.root, now + 1, &r3),
                     DGA_E_OK);
    assert_int_equal(srv.served, 5);
    dga_ocsp_chain_result_clear(&r1);
    dga_ocsp_chain_result_clear(&r2);
    dga_ocsp_chain_result_clear(&r3);
    sk_X509_free(a);
    sk_X509_free(b);
    dga_ocsp_memo_free(s.memo);
    server_stop(&srv);
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_online_openssl_responder),
        T(test_responder_down_names_certificate),
        T(test_chain_online_two_cas),
        T(test_retries_then_success),
        T(test_retries_are_bounded),
        T(test_no_retry_on_404),
        T(test_exchange_passes_status_through),
        T(test_exchange_refuses_header_injection),
        T(test_exchange_refuses_authorization_over_http),
        T(test_timeout),
        T(test_oversized_body),
        T(test_garbage_body),
        T(test_bad_urls),
        T(test_directory),
        T(test_directory_one_open),
        T(test_corrupted_cache_file),
        T(test_cache_missing),
        T(test_cache_freshness),
        T(test_bundle),
        T(test_mode_names),
        T(test_tdx_directory),
        T(test_appraisal_no_response),
        T(test_appraisal_off),
        T(test_appraisal_switch),
        T(test_policy_over_revocation_claims),
        T(test_rim_fetch_and_store),
        T(test_peek),
        T(test_memo),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
