/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A load client for the guest RPC service over its Unix socket (bench/README.md,
 * bench_rpc.sh): wrk cannot connect to a Unix socket. HTTP/1.1 keep-alive GETs of one
 * method on CONNECTIONS connections, one request in flight on each, in one of two modes:
 *
 *   rate R: open loop. Request i is due at start + i/R and goes to connection i mod
 *     CONNECTIONS; its latency is counted from when it was due, not from when it could
 *     be sent, so a stall delays every request scheduled behind it and shows in the
 *     percentiles (no coordinated omission).
 *   max: closed loop. Each connection sends its next request as soon as the answer
 *     to the last one is in; latency from the send.
 *
 * Every answer is checked: HTTP 200 and, with --same-body, a body byte-equal to the
 * first one. Any other answer, a short read or a closed connection ends the run with
 * exit 1. Prints one line: requests, seconds, achieved req/s, p50, p99, max (ms).
 *
 *   bench_rpc_load SOCKET PATH (--rate R | --max) [--seconds S] [--connections N]
 *                  [--same-body]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 64
#define RESPONSE_MAX (1u << 20)

struct options {
    const char *socket_path, *path;
    double rate; /* 0: max */
    double seconds;
    unsigned connections;
    bool same_body;
};

struct worker {
    const struct options *o;
    unsigned index;
    int64_t start_ns;
    int64_t *lat_ns; /* one per request completed */
    size_t n, cap;
    int64_t last_ns; /* when the last answer came in */
    const char *error;
    char *buf;
};

/* The first answer's body, which every later one must equal (--same-body). */
static pthread_mutex_t first_mu = PTHREAD_MUTEX_INITIALIZER;
static char *first_body;
static size_t first_len;

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void sleep_until(int64_t ns)
{
    struct timespec t = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {
    }
}

static int connect_unix(const char *path)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof un.sun_path) {
        return -1;
    }
    strcpy(un.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&un, sizeof un) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* The body must equal the first one seen (which it becomes when there is none yet). */
static bool same_as_first(const char *body, size_t len)
{
    pthread_mutex_lock(&first_mu);
    bool ok = true;
    if (first_body == NULL) {
        first_body = malloc(len + 1);
        if (first_body != NULL) {
            memcpy(first_body, body, len);
            first_len = len;
        }
        ok = first_body != NULL;
    } else {
        ok = len == first_len && memcmp(body, first_body, len) == 0;
    }
    pthread_mutex_unlock(&first_mu);
    return ok;
}

/* Reads one whole response (headers, then Content-Length bytes); its check's error or NULL. */
static const char *read_response(struct worker *w, int fd)
{
    size_t have = 0;
    char *end = NULL;
    while (end == NULL) {
        if (have >= RESPONSE_MAX - 1) {
            return "response headers too long";
        }
        ssize_t r = recv(fd, w->buf + have, RESPONSE_MAX - 1 - have, 0);
        if (r <= 0) {
            return "connection closed before a response";
        }
        have += (size_t)r;
        w->buf[have] = '\0';
        end = strstr(w->buf, "\r\n\r\n");
    }
    if (strncmp(w->buf, "HTTP/1.1 200 ", 13) != 0) {
        return "status is not 200";
    }
    const char *cl = strcasestr(w->buf, "\r\ncontent-length:");
    if (cl == NULL || cl > end) {
        return "no Content-Length";
    }
    size_t len = strtoul(cl + 17, NULL, 10), head = (size_t)(end + 4 - w->buf);
    if (len > RESPONSE_MAX - 1 - head) {
        return "body too large";
    }
    while (have < head + len) {
        ssize_t r = recv(fd, w->buf + have, head + len - have, 0);
        if (r <= 0) {
            return "connection closed in the body";
        }
        have += (size_t)r;
    }
    if (have != head + len) {
        return "more than one response";
    }
    if (w->o->same_body && !same_as_first(w->buf + head, len)) {
        return "body differs from the first answer";
    }
    return NULL;
}

static bool record(struct worker *w, int64_t lat)
{
    if (w->n == w->cap) {
        size_t cap = w->cap != 0 ? w->cap * 2 : 4096;
        int64_t *p = realloc(w->lat_ns, cap * sizeof *p);
        if (p == NULL) {
            return false;
        }
        w->lat_ns = p;
        w->cap = cap;
    }
    w->lat_ns[w->n++] = lat;
    return true;
}

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    const struct options *o = w->o;
    char req[512];
    int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: dstack\r\n\r\n", o->path);
    int fd = connect_unix(o->socket_path);
    if (fd < 0) {
        w->error = "cannot connect";
        return NULL;
    }
    int64_t end = w->start_ns + (int64_t)(o->seconds * 1e9);
    for (uint64_t i = w->index;; i += o->connections) {
        int64_t due = o->rate > 0 ? w->start_ns + (int64_t)((double)i * 1e9 / o->rate) : now_ns();
        if (due >= end) {
            break;
        }
        if (o->rate > 0) {
            sleep_until(due);
        }
        if (!send_all(fd, req, (size_t)rl)) {
            w->error = "send failed";
            break;
        }
        if ((w->error = read_response(w, fd)) != NULL) {
            break;
        }
        w->last_ns = now_ns();
        if (!record(w, w->last_ns - due)) {
            w->error = "out of memory";
            break;
        }
    }
    close(fd);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct_ms(const int64_t *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_rpc_load SOCKET PATH (--rate R | --max) [--seconds S] "
                    "[--connections N] [--same-body]\n");
    return 2;
}

/* One "--name VALUE" option; false for an unknown name or a bad value. */
static bool parse_option(struct options *o, const char *name, const char *value)
{
    if (strcmp(name, "--rate") == 0) {
        o->rate = atof(value);
        return o->rate > 0;
    }
    if (strcmp(name, "--seconds") == 0) {
        o->seconds = atof(value);
        return o->seconds > 0;
    }
    if (strcmp(name, "--connections") == 0) {
        int n = atoi(value);
        o->connections = n > 0 && n <= MAX_CONNECTIONS ? (unsigned)n : 0;
        return o->connections > 0;
    }
    return false;
}

static bool parse_args(int argc, char **argv, struct options *o)
{
    if (argc < 4) {
        return false;
    }
    *o = (struct options){.socket_path = argv[1], .path = argv[2], .seconds = 10, .connections = 1};
    bool max = false;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--max") == 0) {
            max = true;
        } else if (strcmp(argv[i], "--same-body") == 0) {
            o->same_body = true;
        } else if (i + 1 >= argc || !parse_option(o, argv[i], argv[i + 1])) {
            return false;
        } else {
            i++;
        }
    }
    return max != (o->rate > 0); /* exactly one mode */
}

int main(int argc, char **argv)
{
    struct options o;
    if (!parse_args(argc, argv, &o)) {
        return usage();
    }
    struct worker w[MAX_CONNECTIONS];
    pthread_t t[MAX_CONNECTIONS];
    int64_t start = now_ns() + 50000000; /* every connection open before the first is due */
    for (unsigned i = 0; i < o.connections; i++) {
        w[i] = (struct worker){.o = &o, .index = i, .start_ns = start, .buf = malloc(RESPONSE_MAX)};
        if (w[i].buf == NULL || pthread_create(&t[i], NULL, run_worker, &w[i]) != 0) {
            fprintf(stderr, "bench_rpc_load: cannot start connection %u\n", i);
            return 1;
        }
    }
    size_t n = 0;
    int64_t last = start;
    const char *error = NULL;
    for (unsigned i = 0; i < o.connections; i++) {
        pthread_join(t[i], NULL);
        n += w[i].n;
        last = w[i].last_ns > last ? w[i].last_ns : last;
        error = error != NULL ? error : w[i].error;
    }
    if (error != NULL || n == 0) {
        fprintf(stderr, "bench_rpc_load: %s %s: %s\n", o.socket_path, o.path,
                error != NULL ? error : "no request completed");
        return 1;
    }
    int64_t *all = malloc(n * sizeof *all);
    if (all == NULL) {
        fprintf(stderr, "bench_rpc_load: out of memory\n");
        return 1;
    }
    size_t k = 0;
    for (unsigned i = 0; i < o.connections; i++) {
        memcpy(all + k, w[i].lat_ns, w[i].n * sizeof *all);
        k += w[i].n;
        free(w[i].lat_ns);
        free(w[i].buf);
    }
    qsort(all, n, sizeof *all, cmp_i64);
    double secs = (double)(last - start) / 1e9;
    printf("requests %zu  seconds %.2f  req/s %.0f  p50 %.3f ms  p99 %.3f ms  max %.3f ms\n", n,
           secs, (double)n / secs, pct_ms(all, n, 0.50), pct_ms(all, n, 0.99),
           (double)all[n - 1] / 1e6);
    free(all);
    free(first_body);
    return 0;
}
