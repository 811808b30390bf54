/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one HTTP client of the project (libcurl), for the collateral fetches
 * and the proxy's upstream alike: one exchange (dga_http_exchange) with
 * connect and total timeouts, a hard body cap, no redirects, http/https
 * only, header values checked for CR/LF, credentials over https only unless
 * the caller allows http, and bounded retries with doubling
 * backoff on the failures libnvat retries (docs/revocation.md):
 * no connection, timeouts, and HTTP 408, 429, 500, 502, 503, 504.
 * dga_http_post and dga_http_get are that exchange where only 200 counts.
 * libcurl is loaded on the first request (collateral/curl_api.h): commands
 * that never fetch do not pay for it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "collateral/curl_api.h"
#include "core/buf.h"
#include "core/cleanup.h"
#include "dga/collateral.h"

#define HTTP_MAX_ATTEMPTS 10
#define HTTP_MAX_BACKOFF_MS 2000L
#define HTTP_HEADER_MAX 640 /* one request header line: "Authorization: Bearer <512>" */

void dga_http_options_init(struct dga_http_options *o)
{
    o->connect_timeout_ms = 5000;
    o->total_timeout_ms = 30000;
    o->max_body = DGA_OCSP_RESPONSE_MAX;
    o->max_attempts = 4;
    o->backoff_ms = 100;
}

dga_err dga_http_load(struct dga_diag *diag)
{
    return curl_api_load(NULL, diag);
}

struct sink {
    struct buf body;
    bool too_large;
    const char *const *capture;           /* the request's header names, or NULL */
    char *captured[DGA_HTTP_CAPTURE_MAX]; /* their values in the current answer */
    const char *bad_header;               /* one of them came twice or too long */
};

static void sink_forget_headers(struct sink *s)
{
    for (size_t i = 0; i < DGA_HTTP_CAPTURE_MAX; i++) {
        free(s->captured[i]);
        s->captured[i] = NULL;
    }
    s->bad_header = NULL;
}

static size_t on_data(char *p, size_t size, size_t n, void *userdata)
{
    struct sink *s = userdata;
    size_t len = size * n;
    if (buf_append(&s->body, p, len) != DGA_E_OK) {
        s->too_large = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    return len;
}

/* Keeps value (len bytes, blanks and CR LF around it dropped) as header i of the answer. */
static void capture_value(struct sink *s, size_t i, const char *v, size_t len)
{
    while (len > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    while (len > 0 && strchr(" \t\r\n", v[len - 1]) != NULL) {
        len--;
    }
    if (s->captured[i] != NULL || len > DGA_HTTP_HEADER_VALUE_MAX) {
        s->bad_header = s->capture[i]; /* twice is ambiguous: neither is taken */
        return;
    }
    /* curl's header bytes are not NUL-terminated: copy exactly len of them. */
    char *value = bytes_dup_text(v, len);
    if (value == NULL) {
        s->bad_header = s->capture[i];
        return;
    }
    s->captured[i] = value;
}

/*
 * libcurl hands every header line of every answer of a transfer here: a status
 * line starts a new answer (an interim 1xx one, or the next attempt), whose
 * headers replace what was kept.
 */
static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
    struct sink *s = userdata;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        sink_forget_headers(s);
        return len;
    }
    for (size_t i = 0; s->capture[i] != NULL; i++) {
        size_t name = strlen(s->capture[i]);
        if (len > name && p[name] == ':' && strncasecmp(p, s->capture[i], name) == 0) {
            capture_value(s, i, p + name + 1, len - name - 1);
        }
    }
    return len;
}

static bool retryable_status(long status)
{
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
           status == 504;
}

static bool retryable_transport(CURLcode c)
{
    return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
           c == CURLE_COULDNT_RESOLVE_PROXY || c == CURLE_OPERATION_TIMEDOUT ||
           c == CURLE_SEND_ERROR || c == CURLE_RECV_ERROR || c == CURLE_GOT_NOTHING ||
           c == CURLE_PARTIAL_FILE;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Appends "name: value" to *list; a value with CR or LF could inject headers: refused. */
static dga_err add_header(const struct curl_api *cu, struct curl_slist **list, const char *name,
                          const char *value)
{
    char line[HTTP_HEADER_MAX];
    if (strpbrk(value, "\r\n") != NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    int n = snprintf(line, sizeof line, "%s: %s", name, value);
    if (n < 0 || (size_t)n >= sizeof line) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct curl_slist *t = cu->slist_append(*list, line);
    if (t == NULL) {
        return DGA_E_NOMEM;
    }
    *list = t;
    return DGA_E_OK;
}

/* The request's headers; "Expect:" stops libcurl's 100-continue round trip on larger POSTs. */
static dga_err build_headers(const struct curl_api *cu, const struct dga_http_request *r,
                             struct curl_slist **ret)
{
    dga_err e = add_header(cu, ret, "Accept", r->accept);
    if (e != DGA_E_OK) {
        return e;
    }
    if (r->body != NULL && r->content_type != NULL) {
        e = add_header(cu, ret, "Content-Type", r->content_type);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    if (r->authorization != NULL) {
        e = add_header(cu, ret, "Authorization", r->authorization);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    if (r->user_agent != NULL) {
        e = add_header(cu, ret, "User-Agent", r->user_agent);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    struct curl_slist *t = cu->slist_append(*ret, "Expect:");
    if (t == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = t;
    return DGA_E_OK;
}

/* A credential goes over TLS only, unless the caller says otherwise. */
static bool authorization_allowed(const struct dga_http_request *r)
{
    return r->authorization == NULL || r->authorization_over_http ||
           strncasecmp(r->url, "https://", 8) == 0;
}

static bool configure(const struct curl_api *cu, CURL *h, const struct dga_http_request *r,
                      struct curl_slist *headers, const struct dga_http_options *o, struct sink *s,
                      char *errbuf)
{
    bool ok = cu->easy_setopt(h, CURLOPT_URL, r->url) == CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
    ok = ok && cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
#else
    ok = ok && cu->easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) ==
                   CURLE_OK;
#endif
    if (r->body != NULL) {
        ok = ok && cu->easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK;
        ok = ok && cu->easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)r->body) == CURLE_OK;
        ok = ok &&
             cu->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len) == CURLE_OK;
    } else {
        ok = ok && cu->easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    }
    ok = ok && cu->easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
    if (r->unix_socket != NULL) {
        ok = ok && cu->easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, r->unix_socket) == CURLE_OK;
    }
    ok = ok && cu->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_TIMEOUT_MS, o->total_timeout_ms) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_WRITEDATA, s) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
    if (r->capture != NULL) {
        ok = ok && cu->easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
        ok = ok && cu->easy_setopt(h, CURLOPT_HEADERDATA, s) == CURLE_OK;
    }
    return ok;
}

/* One request; returns the transport code, the status in *status. */
static CURLcode attempt(const struct curl_api *cu, CURL *h, struct sink *s, long *status)
{
    buf_free(&s->body);
    s->too_large = false;
    sink_forget_headers(s);
    *status = 0;
    CURLcode c = cu->easy_perform(h);
    if (c == CURLE_OK) {
        cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    }
    return c;
}

static size_t capture_count(const struct dga_http_request *r)
{
    size_t n = 0;
    while (r->capture != NULL && n <= DGA_HTTP_CAPTURE_MAX && r->capture[n] != NULL) {
        n++;
    }
    return n;
}

static dga_err request_ok(const struct dga_http_request *r, const struct dga_http_options *o)
{
    /* max_body goes to libcurl as a curl_off_t: one that would turn negative is refused */
    if (r == NULL || r->url == NULL || r->accept == NULL || o == NULL || o->max_attempts < 1 ||
        o->max_attempts > HTTP_MAX_ATTEMPTS || o->connect_timeout_ms <= 0 ||
        o->total_timeout_ms <= 0 || o->max_body == 0 || (uint64_t)o->max_body > INT64_MAX ||
        o->backoff_ms < 0 || !authorization_allowed(r) || capture_count(r) > DGA_HTTP_CAPTURE_MAX) {
        return DGA_E_BAD_ARGUMENT;
    }
    return DGA_E_OK;
}

/* The outcome of the attempts: an answer (any status), or the named failure. */
static dga_err run_attempts(const struct curl_api *cu, CURL *h, const struct dga_http_options *o,
                            struct sink *s, struct dga_http_info *info, const char *errbuf)
{
    long backoff = o->backoff_ms;
    for (unsigned i = 1;; i++) {
        long status = 0;
        CURLcode c = attempt(cu, h, s, &status);
        info->attempts = i;
        info->status = status;
        snprintf(info->error, sizeof info->error, "%s",
                 c == CURLE_OK       ? ""
                 : errbuf[0] != '\0' ? errbuf
                                     : cu->easy_strerror(c));
        if (s->too_large || c == CURLE_FILESIZE_EXCEEDED) {
            return DGA_E_TOO_LARGE;
        }
        if (c == CURLE_OK && s->bad_header != NULL) {
            snprintf(info->error, sizeof info->error, "header %s repeated or too long",
                     s->bad_header);
            return DGA_E_COLLATERAL_HEADER;
        }
        bool retry = c == CURLE_OK ? retryable_status(status) : retryable_transport(c);
        if (!retry || i >= o->max_attempts) {
            return c == CURLE_OK ? DGA_E_OK : DGA_E_COLLATERAL_UNREACHABLE;
        }
        sleep_ms(backoff);
        backoff = backoff * 2 > HTTP_MAX_BACKOFF_MS ? HTTP_MAX_BACKOFF_MS : backoff * 2;
    }
}

/* libcurl, loaded on first use; when it cannot be, info->error names the file. */
static dga_err load_curl(const struct curl_api **ret, struct dga_http_info *info)
{
    struct dga_diag diag = {0};
    dga_err e = curl_api_load(ret, &diag);
    if (e != DGA_E_OK) {
        snprintf(info->error, sizeof info->error, "%s", diag.field);
    }
    return e;
}

/* The answer's Content-Type, when it fits and is one clean header value. */
static void copy_content_type(const struct curl_api *cu, CURL *h, struct dga_http_response *ret)
{
    char *ct = NULL;
    if (cu->easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL &&
        strlen(ct) < sizeof ret->content_type && strpbrk(ct, "\r\n") == NULL) {
        memcpy(ret->content_type, ct, strlen(ct) + 1);
    }
}

/* One exchange's handle, headers and sink (libcurl writes into it), freed on every exit. */
struct exchange {
    const struct curl_api *cu;
    struct curl_slist *headers;
    CURL *h;
    struct sink s;
};

static void exchange_clear(struct exchange *x)
{
    sink_forget_headers(&x->s);
    buf_free(&x->s.body);
    if (x->h != NULL) {
        x->cu->easy_cleanup(x->h);
    }
    x->cu->slist_free_all(x->headers);
}

/* The answer (any status) handed to ret: its body, content type and captured headers. */
static void take_answer(struct exchange *x, const struct dga_http_info *info,
                        struct dga_http_response *ret)
{
    ret->status = info->status;
    copy_content_type(x->cu, x->h, ret);
    ret->len = x->s.body.len;
    ret->body = buf_take(&x->s.body);
    memcpy(ret->captured, x->s.captured, sizeof ret->captured);
    memset(x->s.captured, 0, sizeof x->s.captured);
}

static dga_err perform(const struct curl_api *cu, const struct dga_http_request *r,
                       const struct dga_http_options *o, struct dga_http_response *ret,
                       struct dga_http_info *info)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    _cleanup_(exchange_clear) struct exchange x = {
        .cu = cu, .s = {.body = buf_init(o->max_body), .capture = r->capture}};
    dga_err e = build_headers(cu, r, &x.headers);
    if (e != DGA_E_OK) {
        return e;
    }
    x.h = cu->easy_init();
    if (x.h == NULL) {
        return DGA_E_NOMEM;
    }
    if (!configure(cu, x.h, r, x.headers, o, &x.s, errbuf)) {
        return DGA_E_BAD_ARGUMENT;
    }
    e = run_attempts(cu, x.h, o, &x.s, info, errbuf);
    if (e != DGA_E_OK) {
        return e;
    }
    e = buf_terminate(&x.s.body);
    if (e != DGA_E_OK) {
        return e;
    }
    take_answer(&x, info, ret);
    return DGA_E_OK;
}

dga_err dga_http_exchange(const struct dga_http_request *r, const struct dga_http_options *o,
                          struct dga_http_response *ret, struct dga_http_info *info)
{
    struct dga_http_info local;
    info = info != NULL ? info : &local;
    memset(info, 0, sizeof *info);
    if (ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    memset(ret, 0, sizeof *ret);
    dga_err e = request_ok(r, o);
    if (e != DGA_E_OK) {
        return e;
    }
    const struct curl_api *cu = NULL;
    e = load_curl(&cu, info);
    if (e != DGA_E_OK) {
        return e;
    }
    return perform(cu, r, o, ret, info);
}

void dga_http_response_clear(struct dga_http_response *r)
{
    if (r != NULL) {
        free(r->body);
        for (size_t i = 0; i < DGA_HTTP_CAPTURE_MAX; i++) {
            free(r->captured[i]);
        }
        memset(r, 0, sizeof *r);
    }
}

/* The exchange where only 200 gives a body; any other final status is DGA_E_COLLATERAL_HTTP. */
static dga_err fetch_200(const struct dga_http_request *r, const struct dga_http_options *o,
                         uint8_t **ret, size_t *ret_len, struct dga_http_info *info)
{
    if (ret == NULL || ret_len == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct dga_http_response res;
    dga_err e = dga_http_exchange(r, o, &res, info);
    if (e != DGA_E_OK) {
        return e;
    }
    if (res.status != 200) {
        dga_http_response_clear(&res);
        return DGA_E_COLLATERAL_HTTP;
    }
    *ret = res.body;
    *ret_len = res.len;
    return DGA_E_OK;
}

dga_err dga_http_post(const char *url, const char *content_type, const char *accept,
                      const uint8_t *body, size_t len, const struct dga_http_options *o,
                      uint8_t **ret, size_t *ret_len, struct dga_http_info *info)
{
    if (body == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    const struct dga_http_request r = {
        .url = url, .body = body, .body_len = len, .content_type = content_type, .accept = accept};
    return fetch_200(&r, o, ret, ret_len, info);
}

dga_err dga_http_get(const char *url, const char *accept, const struct dga_http_options *o,
                     uint8_t **ret, size_t *ret_len, struct dga_http_info *info)
{
    const struct dga_http_request r = {.url = url, .accept = accept};
    return fetch_200(&r, o, ret, ret_len, info);
}
