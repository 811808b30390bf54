/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request parsing for the proxy, with no I/O so that it can be fuzzed whole:
 * route (method + raw request target), content type, body limits, OCSP
 * request validation and the cache keys.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include "core/cleanup.h"
#include "core/codec.h"
#include "core/cursor.h"
#include "core/der.h"
#include "dga/collateral.h"
#include "dga/proxy.h"
#include "dga/rim.h"
#include "dga/util.h"

#define OCSP_PATH "/ocsp"
#define OCSP_GET_PREFIX "/ocsp/"
#define RIM_PREFIX "/v1/rim/"

static bool is_get(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A path that allows only `get` (GET/HEAD) or only POST: 0 or 405. */
static int allow(bool ok, enum dga_proxy_route route, enum dga_proxy_route *ret)
{
    if (!ok) {
        return 405;
    }
    *ret = route;
    return 0;
}

int dga_proxy_route(const char *method, const char *uri, enum dga_proxy_route *ret)
{
    if (method == NULL || uri == NULL || strlen(uri) > DGA_PROXY_URI_MAX) {
        return 400;
    }
    const char *q = strchr(uri, '?');
    size_t path_len = q != NULL ? (size_t)(q - uri) : strlen(uri);
    char path[DGA_PROXY_URI_MAX + 1];
    memcpy(path, uri, path_len);
    path[path_len] = '\0';

    if (strcmp(path, OCSP_PATH) == 0) {
        return allow(strcmp(method, "POST") == 0, DGA_PROXY_ROUTE_OCSP_POST, ret);
    }
    if (strcmp(path, "/healthz") == 0) {
        return allow(is_get(method), DGA_PROXY_ROUTE_HEALTHZ, ret);
    }
    if (strcmp(path, "/info") == 0) {
        return allow(is_get(method), DGA_PROXY_ROUTE_INFO, ret);
    }
    bool ocsp_get = has_prefix(path, OCSP_GET_PREFIX);
    bool rim = has_prefix(path, RIM_PREFIX);
    if (!ocsp_get && !rim) {
        return 404;
    }
    if (!is_get(method)) {
        return 405;
    }
    if (q != NULL) {
        return 400; /* dstack: a RIM id comes with no query; RFC 5019 GETs carry none */
    }
    *ret = ocsp_get ? DGA_PROXY_ROUTE_OCSP_GET : DGA_PROXY_ROUTE_RIM;
    return 0;
}

/* "application/ocsp-request", any case, optionally followed by parameters. */
static bool is_ocsp_request_type(const char *ct)
{
    static const char want[] = "application/ocsp-request";
    if (ct == NULL) {
        return false;
    }
    while (*ct == ' ' || *ct == '\t') {
        ct++;
    }
    if (strncasecmp(ct, want, sizeof want - 1) != 0) {
        return false;
    }
    const char *rest = ct + sizeof want - 1;
    while (*rest == ' ' || *rest == '\t') {
        rest++;
    }
    return *rest == '\0' || *rest == ';';
}

/*
 * OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT ... }
 * TBSRequest ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, requestorName [1] EXPLICIT
 *                           OPTIONAL, requestList SEQUENCE OF Request, requestExtensions [2] }
 * Points ret at the requestList TLV (header included), as dstack hashes it.
 */
static dga_err find_request_list(const uint8_t *der, size_t len, const uint8_t **ret,
                                 size_t *ret_len)
{
    struct cursor c = cursor_init(der, len);
    struct cursor req, tbs, skip;
    if (der_expect(&c, DER_SEQUENCE, &req) != DGA_E_OK ||
        der_expect(&req, DER_SEQUENCE, &tbs) != DGA_E_OK) {
        return DGA_E_BAD_DER;
    }
    for (uint8_t n = 0; n < 2; n++) { /* the optional [0] version and [1] requestorName */
        if (cursor_left(&tbs) > 0 && tbs.p[tbs.off] == DER_CONTEXT_CONS(n) &&
            der_read(&tbs, &(uint8_t){0}, &skip) != DGA_E_OK) {
            return DGA_E_BAD_DER;
        }
    }
    size_t start = tbs.off;
    struct cursor list;
    if (der_expect(&tbs, DER_SEQUENCE, &list) != DGA_E_OK || cursor_left(&list) == 0) {
        return DGA_E_BAD_DER;
    }
    *ret = tbs.p + start;
    *ret_len = tbs.off - start;
    return DGA_E_OK;
}

/* OpenSSL must accept the whole input as one OCSPRequest with nothing after it. */
static bool openssl_accepts(const uint8_t *der, size_t len)
{
    if (len > DGA_PROXY_REQUEST_MAX) {
        return false;
    }
    const unsigned char *p = der;
    OCSP_REQUEST *r = d2i_OCSP_REQUEST(NULL, &p, (long)len);
    bool ok = r != NULL && p == der + len && OCSP_request_onereq_count(r) > 0;
    OCSP_REQUEST_free(r);
    return ok;
}

dga_err dga_proxy_ocsp_key(const uint8_t *der, size_t len, uint8_t ret_key[32])
{
    const uint8_t *list = NULL;
    size_t list_len = 0;
    if (der == NULL || !openssl_accepts(der, len) ||
        find_request_list(der, len, &list, &list_len) != DGA_E_OK) {
        return DGA_E_BAD_DER;
    }
    if (EVP_Digest(list, list_len, ret_key, NULL, EVP_sha256(), NULL) != 1) {
        return DGA_E_INTERNAL;
    }
    return DGA_E_OK;
}

/*
 * The base64 of an RFC 5019 GET, percent-decoded, with the URL-safe alphabet
 * mapped back and missing padding restored (clients differ on both).
 * out holds at least strlen(in) + 3 bytes.
 */
static bool unescape_base64(const char *in, char *out)
{
    size_t n = 0;
    for (size_t i = 0; in[i] != '\0'; i++) {
        char ch = in[i];
        if (ch == '%') {
            int hi = hex_value(in[i + 1]);
            int lo = hi < 0 ? -1 : hex_value(in[i + 2]);
            if (lo < 0) {
                return false;
            }
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        out[n++] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
    }
    while (n % 4 != 0) {
        out[n++] = '=';
    }
    out[n] = '\0';
    return n > 0;
}

static int parse_ocsp_get(const char *uri, size_t max_body, struct dga_proxy_request *r)
{
    const char *b64 = uri + strlen(OCSP_GET_PREFIX);
    size_t n = strlen(b64);
    if (n / 4 > max_body) { /* base64 of max_body bytes, even fully percent-encoded */
        return 413;
    }
    char *text = malloc(n + 4);
    if (text == NULL) {
        return 503;
    }
    int status = 400;
    if (unescape_base64(b64, text) &&
        dga_base64_decode(text, strlen(text), &r->ocsp, &r->ocsp_len) == DGA_E_OK) {
        status = r->ocsp_len > max_body ? 413 : 0;
    }
    free(text);
    return status;
}

static int parse_ocsp_post(const char *content_type, const uint8_t *body, size_t body_len,
                           size_t max_body, struct dga_proxy_request *r)
{
    if (!is_ocsp_request_type(content_type)) {
        return 415;
    }
    if (body_len > max_body) {
        return 413;
    }
    if (body_len == 0) {
        return 400;
    }
    r->ocsp = malloc(body_len);
    if (r->ocsp == NULL) {
        return 503;
    }
    memcpy(r->ocsp, body, body_len);
    r->ocsp_len = body_len;
    return 0;
}

static int parse_rim(const char *uri, struct dga_proxy_request *r)
{
    const char *id = uri + strlen(RIM_PREFIX);
    if (strlen(id) >= sizeof r->rim_id || !dga_rim_id_valid(id)) {
        return 400;
    }
    memcpy(r->rim_id, id, strlen(id) + 1);
    if (EVP_Digest(id, strlen(id), r->key, NULL, EVP_sha256(), NULL) != 1) {
        return 503;
    }
    return 0;
}

static int parse_body(const char *uri, const char *content_type, const uint8_t *body,
                      size_t body_len, size_t max_body, struct dga_proxy_request *r)
{
    int status = 0;
    switch (r->route) {
    case DGA_PROXY_ROUTE_OCSP_POST:
        status = parse_ocsp_post(content_type, body, body_len, max_body, r);
        break;
    case DGA_PROXY_ROUTE_OCSP_GET:
        status = parse_ocsp_get(uri, max_body, r);
        break;
    case DGA_PROXY_ROUTE_RIM:
        return parse_rim(uri, r);
    case DGA_PROXY_ROUTE_HEALTHZ:
    case DGA_PROXY_ROUTE_INFO:
        return 0;
    }
    if (status == 0 && dga_proxy_ocsp_key(r->ocsp, r->ocsp_len, r->key) != DGA_E_OK) {
        status = 400;
    }
    return status;
}

int dga_proxy_parse(const char *method, const char *uri, const char *content_type,
                    const uint8_t *body, size_t body_len, size_t max_body,
                    struct dga_proxy_request *ret)
{
    struct dga_proxy_request r;
    memset(&r, 0, sizeof r);
    int status = dga_proxy_route(method, uri, &r.route);
    if (status == 0) {
        status = parse_body(uri, content_type, body, body_len, max_body, &r);
    }
    if (status != 0) {
        dga_proxy_request_clear(&r);
        return status;
    }
    *ret = r;
    return 0;
}

void dga_proxy_request_clear(struct dga_proxy_request *r)
{
    if (r != NULL) {
        free(r->ocsp);
        memset(r, 0, sizeof *r);
    }
}

dga_err dga_proxy_rim_answers(const uint8_t *body, size_t len, const char *rim_id)
{
    /* The client's own check (id, a decodable document), so the proxy caches what it accepts. */
    _cleanup_(freep) uint8_t *rim = NULL;
    size_t rim_len = 0;
    if (rim_id == NULL ||
        dga_collateral_rim_answer(body, len, rim_id, &rim, &rim_len, NULL) != DGA_E_OK) {
        return DGA_E_PROXY_UNCACHEABLE;
    }
    return DGA_E_OK;
}
