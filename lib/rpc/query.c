/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A GET request's arguments from its URL query, as dstack's prpc reads them
 * with serde_qs: "GET /AttestGpu?nonce=<hex>". The query is at most the
 * service's target cap (1K), and so is every decoded key and value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "rpc/internal.h"
#include "rpc/pbjson.h"

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* n bytes of p, '+' as a space and %XX decoded, into a new NUL-terminated string; false if bad. */
static bool unescape(const char *p, size_t n, char **ret, bool *ret_nomem)
{
    _cleanup_(freep) char *out = malloc(n + 1);
    *ret_nomem = out == NULL;
    if (out == NULL) {
        return false;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%') {
            int hi = i + 2 < n ? hex_digit(p[i + 1]) : -1;
            int lo = hi >= 0 ? hex_digit(p[i + 2]) : -1;
            if (lo < 0) {
                return false;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = p[i] == '+' ? ' ' : p[i];
        }
    }
    out[o] = '\0';
    /* a decoded NUL would cut the string short; anything but UTF-8 cannot be a JSON string */
    if (strlen(out) != o || !rpc_utf8_valid((const uint8_t *)out, o)) {
        return false;
    }
    *ret = TAKE_PTR(out);
    return true;
}

static dga_err query_fail(struct rpc_failure *f, const char *why)
{
    f->err = DGA_E_RPC_REQUEST;
    snprintf(f->detail, sizeof f->detail, "%s", why);
    return f->err;
}

/* One "key[=value]" of n bytes into args; seen holds every key so far, known or not. */
static dga_err query_pair(const ProtobufCMessageDescriptor *d, const char *p, size_t n,
                          json_t *args, json_t *seen, struct rpc_failure *f)
{
    size_t k = strcspn(p, "=");
    k = k < n ? k : n;
    _cleanup_(freep) char *key = NULL;
    _cleanup_(freep) char *value = NULL;
    bool nomem = false;
    bool ok =
        unescape(p, k, &key, &nomem) && unescape(p + k + (k < n), n - k - (k < n), &value, &nomem);
    if (!ok) {
        return nomem ? DGA_E_NOMEM : query_fail(f, "a bad %-escape, U+0000 or not UTF-8");
    }
    if (json_object_get(seen, key) != NULL) {
        return query_fail(f, "a key given twice");
    }
    if (json_object_set(seen, key, json_null()) != 0) {
        return DGA_E_NOMEM;
    }
    if (strcmp(key, "json") == 0) {
        return DGA_E_OK; /* prpc's encoding switch, not an argument */
    }
    return pbjson_arg(d, key, value, true, args, DGA_E_RPC_REQUEST, f);
}

dga_err rpc_query_args(const ProtobufCMessageDescriptor *d, const char *query, json_t **ret,
                       struct rpc_failure *f)
{
    _cleanup_(json_decrefp) json_t *args = json_object();
    _cleanup_(json_decrefp) json_t *seen = json_object();
    if (args == NULL || seen == NULL) {
        return DGA_E_NOMEM;
    }
    unsigned pairs = 0;
    for (const char *p = query; *p != '\0';) {
        size_t n = strcspn(p, "&");
        if (n > 0 && ++pairs > RPC_QUERY_PAIRS_MAX) {
            return query_fail(f, "too many arguments");
        }
        dga_err e = n > 0 ? query_pair(d, p, n, args, seen, f) : DGA_E_OK;
        if (e != DGA_E_OK) {
            return e;
        }
        p += n + (p[n] == '&');
    }
    *ret = TAKE_PTR(args);
    return DGA_E_OK;
}
