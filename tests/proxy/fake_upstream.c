/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small fake of NVIDIA's RIM service for the proxy tests, on libmicrohttpd:
 *   fake_upstream DIR [OCSP_RESPONSE]
 * serves GET /v1/rim/<id> from DIR/<id> (404 when absent), answers every POST
 * with the bytes of OCSP_RESPONSE when given (a counting OCSP responder), and
 * prints "port N" on stdout once it listens on 127.0.0.1 (any free port).
 * The tests steer it with control requests (not counted):
 *   GET /control/fail/<status>   answer every other request with <status> (0 = normal)
 *   GET /control/delay/<ms>      wait this long before answering
 *   GET /control/count           "<n>\n": requests served since start (control excluded)
 *   GET /control/last-auth       the last request's Authorization header ("" if none), "\n"
 *   GET /control/last-ua         the last request's User-Agent header, "\n"
 * Any other request, POST included, gets the fail status when one is set,
 * else 404: so it also stands in for an OCSP responder that returns 5xx.
 * It stops on SIGTERM or SIGINT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "dga/rim.h"
#include "dga/util.h"

static const char *dir;
static const char *ocsp_response;
static atomic_int fail_status;
static atomic_int delay_ms;
static atomic_ulong served;
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_auth[1024], last_ua[256]; /* of the last counted request, under last_lock */

/*
 * MHD_RESPMEM_MUST_COPY only reads the buffer, but MHD_create_response_from_buffer
 * takes a void *: the one place that drops the const for it.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
static struct MHD_Response *response_copy(const void *data, size_t len)
{
    return MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
}
#pragma GCC diagnostic pop

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const void *data,
                             size_t len, const char *type)
{
    struct MHD_Response *r = response_copy(data, len);
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The last request's header value, as a control answer. */
static enum MHD_Result last_header(struct MHD_Connection *c, const char *value)
{
    char text[sizeof last_auth + 1];
    pthread_mutex_lock(&last_lock);
    snprintf(text, sizeof text, "%s\n", value);
    pthread_mutex_unlock(&last_lock);
    return reply(c, 200, text, strlen(text), "text/plain");
}

static void remember_headers(struct MHD_Connection *c)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *ua = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent");
    pthread_mutex_lock(&last_lock);
    snprintf(last_auth, sizeof last_auth, "%s", auth != NULL ? auth : "");
    snprintf(last_ua, sizeof last_ua, "%s", ua != NULL ? ua : "");
    pthread_mutex_unlock(&last_lock);
}

static enum MHD_Result control(struct MHD_Connection *c, const char *what)
{
    char text[64];
    if (strcmp(what, "last-auth") == 0) {
        return last_header(c, last_auth);
    }
    if (strcmp(what, "last-ua") == 0) {
        return last_header(c, last_ua);
    }
    if (strncmp(what, "fail/", 5) == 0) {
        atomic_store(&fail_status, atoi(what + 5));
    } else if (strncmp(what, "delay/", 6) == 0) {
        atomic_store(&delay_ms, atoi(what + 6));
    } else if (strcmp(what, "count") != 0) {
        return reply(c, 404, "", 0, "text/plain");
    }
    snprintf(text, sizeof text, "%lu\n", atomic_load(&served));
    return reply(c, 200, text, strlen(text), "text/plain");
}

static enum MHD_Result serve_rim(struct MHD_Connection *c, const char *id)
{
    char path[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    if (!dga_rim_id_valid(id)) {
        return reply(c, 400, "bad id\n", 7, "text/plain");
    }
    snprintf(path, sizeof path, "%s/%s", dir, id);
    if (dga_file_read(path, (size_t)64 << 20, &data, &len) != DGA_E_OK) {
        return reply(c, 404, "{\"error\":\"not found\"}", 21, "application/json");
    }
    enum MHD_Result ret = reply(c, 200, data, len, "application/json");
    free(data);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) { /* first call: headers only */
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_data_size > 0) { /* a POSTed body is read and ignored */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strncmp(url, "/control/", 9) == 0) {
        return control(c, url + 9);
    }
    atomic_fetch_add(&served, 1);
    remember_headers(c);
    int ms = atomic_load(&delay_ms);
    if (ms > 0) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    int fail = atomic_load(&fail_status);
    if (fail > 0) {
        return reply(c, (unsigned)fail, "upstream failure\n", 17, "text/plain");
    }
    if (strcmp(method, "GET") == 0 && strncmp(url, "/v1/rim/", 8) == 0) {
        return serve_rim(c, url + 8);
    }
    if (strcmp(method, "POST") == 0 && ocsp_response != NULL) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (dga_file_read(ocsp_response, (size_t)1 << 20, &data, &len) != DGA_E_OK) {
            return reply(c, 500, "", 0, "text/plain");
        }
        enum MHD_Result ret = reply(c, 200, data, len, "application/ocsp-response");
        free(data);
        return ret;
    }
    return reply(c, 404, "", 0, "text/plain");
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: fake_upstream DIR [OCSP_RESPONSE]\n");
        return 2;
    }
    dir = argv[1];
    ocsp_response = argc == 3 ? argv[2] : NULL;
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO, 0, NULL,
        NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "fake_upstream: cannot listen\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("port %u\n", info != NULL ? info->port : 0);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    return 0;
}
