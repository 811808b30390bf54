/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy's upstream client: one libcurl easy handle per request, capped
 * body, timeouts, no redirects (as dstack), HTTP(S) only, and the optional
 * NVIDIA service key as a bearer token. libcurl is loaded once, by
 * dga_proxy_start (collateral/curl_api.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collateral/curl_api.h"
#include "core/buf.h"
#include "proxy/internal.h"

struct sink {
    struct buf b;
    bool too_large;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *cls)
{
    struct sink *s = cls;
    size_t n = size * nmemb;
    if (buf_append(&s->b, p, n) != DGA_E_OK) {
        s->too_large = true;
        return 0; /* aborts the transfer */
    }
    return n;
}

static struct curl_slist *headers_for(const struct curl_api *cu, const struct dga_proxy_config *c,
                                      const struct upstream_request *r)
{
    char line[600];
    struct curl_slist *h = NULL, *t;
    snprintf(line, sizeof line, "Accept: %s", r->accept);
    h = cu->slist_append(h, line);
    if (h != NULL && r->post != NULL) {
        snprintf(line, sizeof line, "Content-Type: %s", r->content_type);
        t = cu->slist_append(h, line);
        h = t != NULL ? t : (cu->slist_free_all(h), NULL);
    }
    if (h != NULL && c->service_key[0] != '\0') {
        snprintf(line, sizeof line, "Authorization: Bearer %s", c->service_key);
        t = cu->slist_append(h, line);
        h = t != NULL ? t : (cu->slist_free_all(h), NULL);
    }
    if (h != NULL) { /* libcurl would add "Expect: 100-continue" to larger POSTs */
        t = cu->slist_append(h, "Expect:");
        h = t != NULL ? t : (cu->slist_free_all(h), NULL);
    }
    return h;
}

static bool setup(const struct curl_api *cu, CURL *h, const struct dga_proxy_config *c,
                  const struct upstream_request *r, struct curl_slist *headers, struct sink *s)
{
    bool ok =
        cu->easy_setopt(h, CURLOPT_URL, r->url) == CURLE_OK &&
        cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
        cu->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
        cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        cu->easy_setopt(h, CURLOPT_TIMEOUT, (long)c->upstream_timeout) == CURLE_OK &&
        cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)c->connect_timeout) == CURLE_OK &&
        cu->easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->cap) == CURLE_OK &&
        cu->easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK &&
        cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK &&
        cu->easy_setopt(h, CURLOPT_WRITEDATA, s) == CURLE_OK &&
        cu->easy_setopt(h, CURLOPT_USERAGENT, "dstack-gpu-attest-proxy/" DGA_VERSION) == CURLE_OK;
    if (ok && r->post != NULL) {
        ok = cu->easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK &&
             cu->easy_setopt(h, CURLOPT_POSTFIELDS, r->post) == CURLE_OK &&
             cu->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->post_len) == CURLE_OK;
    }
    return ok;
}

static void copy_content_type(const struct curl_api *cu, CURL *h, struct upstream_response *ret)
{
    char *ct = NULL;
    if (cu->easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL &&
        strlen(ct) < sizeof ret->content_type && strpbrk(ct, "\r\n") == NULL) {
        memcpy(ret->content_type, ct, strlen(ct) + 1);
    }
}

/* The transfer and its outcome: the body (any HTTP status), or the named failure. */
static dga_err transfer(const struct curl_api *cu, CURL *h, struct sink *s,
                        struct upstream_response *ret)
{
    CURLcode rc = cu->easy_perform(h);
    if (s->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        buf_free(&s->b);
        return DGA_E_TOO_LARGE;
    }
    if (rc != CURLE_OK) {
        buf_free(&s->b);
        return DGA_E_PROXY_UPSTREAM;
    }
    cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
    copy_content_type(cu, h, ret);
    ret->len = s->b.len;
    ret->body = buf_take(&s->b);
    return DGA_E_OK;
}

dga_err upstream_fetch(const struct dga_proxy_config *c, const struct upstream_request *r,
                       struct upstream_response *ret)
{
    memset(ret, 0, sizeof *ret);
    const struct curl_api *cu = NULL;
    dga_err e = curl_api_load(&cu, NULL); /* loaded already by dga_proxy_start: no cost */
    if (e != DGA_E_OK) {
        return e;
    }
    CURL *h = cu->easy_init();
    struct curl_slist *headers = headers_for(cu, c, r);
    struct sink s = {.b = buf_init(r->cap), .too_large = false};
    if (h == NULL || headers == NULL || !setup(cu, h, c, r, headers, &s)) {
        e = DGA_E_NOMEM;
    } else {
        e = transfer(cu, h, &s, ret);
    }
    if (h != NULL) {
        cu->easy_cleanup(h);
    }
    cu->slist_free_all(headers);
    return e;
}

void upstream_response_free(struct upstream_response *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}
