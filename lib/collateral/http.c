/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one HTTP client of the library (libcurl): POST and GET with connect and total
 * timeouts, a hard body cap, no redirects, http/https only, and bounded
 * retries with doubling backoff on the failures libnvat retries
 * (reference/certificates.md §7.1): no connection, timeouts, and HTTP 408,
 * 429, 500, 502, 503, 504. libcurl is loaded on the first request
 * (collateral/curl_api.h): commands that never fetch do not pay for it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "collateral/curl_api.h"
#include "core/buf.h"
#include "dga/collateral.h"

#define HTTP_MAX_ATTEMPTS 10
#define HTTP_MAX_BACKOFF_MS 2000L

void dga_http_options_init(struct dga_http_options *o)
{
    o->connect_timeout_ms = 5000;
    o->total_timeout_ms = 30000;
    o->max_body = DGA_OCSP_RESPONSE_MAX;
    o->max_attempts = 4;
    o->backoff_ms = 100;
}

struct sink {
    struct buf body;
    bool too_large;
};

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

/* body NULL: GET; else POST of len bytes. */
static bool configure(const struct curl_api *cu, CURL *h, const char *url,
                      struct curl_slist *headers, const uint8_t *body, size_t len,
                      const struct dga_http_options *o, struct sink *s, char *errbuf)
{
    bool ok = cu->easy_setopt(h, CURLOPT_URL, url) == CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
    ok = ok && cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
#else
    ok = ok &&
         cu->easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) == CURLE_OK;
#endif
    if (body != NULL) {
        ok = ok && cu->easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK;
        ok = ok && cu->easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body) == CURLE_OK;
        ok = ok && cu->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) == CURLE_OK;
    } else {
        ok = ok && cu->easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    }
    ok = ok && cu->easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_TIMEOUT_MS, o->total_timeout_ms) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_WRITEDATA, s) == CURLE_OK;
    ok = ok && cu->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
    return ok;
}

/* One request; returns the transport code, the status in *status. */
static CURLcode attempt(const struct curl_api *cu, CURL *h, struct sink *s, long *status)
{
    buf_free(&s->body);
    s->too_large = false;
    *status = 0;
    CURLcode c = cu->easy_perform(h);
    if (c == CURLE_OK) {
        cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    }
    return c;
}

static dga_err options_ok(const char *url, const struct dga_http_options *o)
{
    if (url == NULL || o == NULL || o->max_attempts < 1 || o->max_attempts > HTTP_MAX_ATTEMPTS ||
        o->connect_timeout_ms <= 0 || o->total_timeout_ms <= 0 || o->max_body == 0 ||
        o->backoff_ms < 0) {
        return DGA_E_BAD_ARGUMENT;
    }
    return DGA_E_OK;
}

/* The outcome of the attempts: the body on 200, else the named failure. */
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
                 c == CURLE_OK ? "" : errbuf[0] != '\0' ? errbuf : cu->easy_strerror(c));
        if (s->too_large || c == CURLE_FILESIZE_EXCEEDED) {
            return DGA_E_TOO_LARGE;
        }
        bool retry = c == CURLE_OK ? retryable_status(status) : retryable_transport(c);
        if (c == CURLE_OK && status == 200) {
            return DGA_E_OK;
        }
        if (!retry || i >= o->max_attempts) {
            return c == CURLE_OK ? DGA_E_COLLATERAL_HTTP : DGA_E_COLLATERAL_UNREACHABLE;
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

static dga_err http_request(const char *url, const char *content_type, const char *accept,
                           const uint8_t *body, size_t len, const struct dga_http_options *o,
                           uint8_t **ret, size_t *ret_len, struct dga_http_info *info)
{
    struct dga_http_info local;
    info = info != NULL ? info : &local;
    memset(info, 0, sizeof *info);
    dga_err e = options_ok(url, o);
    if (e != DGA_E_OK || ret == NULL || ret_len == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    const struct curl_api *cu = NULL;
    if ((e = load_curl(&cu, info)) != DGA_E_OK) {
        return e;
    }
    char ct[128], ac[128], errbuf[CURL_ERROR_SIZE] = "";
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type != NULL ? content_type : "");
    snprintf(ac, sizeof ac, "Accept: %s", accept);
    struct curl_slist *headers = cu->slist_append(NULL, ac);
    struct curl_slist *all = headers;
    if (headers != NULL && body != NULL) {
        all = cu->slist_append(headers, ct);
    }
    struct sink s = {.body = buf_init(o->max_body)};
    CURL *h = all != NULL ? cu->easy_init() : NULL;
    if (h == NULL || !configure(cu, h, url, all, body, len, o, &s, errbuf)) {
        e = h == NULL ? DGA_E_NOMEM : DGA_E_BAD_ARGUMENT;
    } else {
        e = run_attempts(cu, h, o, &s, info, errbuf);
    }
    if (e == DGA_E_OK) {
        e = buf_terminate(&s.body);
    }
    if (e == DGA_E_OK) {
        *ret_len = s.body.len;
        *ret = buf_take(&s.body);
    }
    buf_free(&s.body);
    cu->easy_cleanup(h);
    cu->slist_free_all(all != NULL ? all : headers);
    return e;
}

dga_err dga_http_post(const char *url, const char *content_type, const char *accept,
                      const uint8_t *body, size_t len, const struct dga_http_options *o,
                      uint8_t **ret, size_t *ret_len, struct dga_http_info *info)
{
    if (body == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    return http_request(url, content_type, accept, body, len, o, ret, ret_len, info);
}

dga_err dga_http_get(const char *url, const char *accept, const struct dga_http_options *o,
                     uint8_t **ret, size_t *ret_len, struct dga_http_info *info)
{
    return http_request(url, NULL, accept, NULL, 0, o, ret, ret_len, info);
}
