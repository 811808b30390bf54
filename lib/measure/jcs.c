/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 8785 JSON Canonicalization Scheme over jansson values, and dstack's
 * gpu-policy-hash (docs/formats.md §15) on top of it.
 *
 *  - objects: members sorted by the UTF-16 code units of their names (§3.2.3);
 *  - strings: '"' and '\' escaped, \b \t \n \f \r, other controls as \u00xx,
 *    everything else (non-ASCII included) raw UTF-8 (§3.2.2.2);
 *  - numbers: ECMAScript Number::toString of the IEEE double (§3.2.2.3).
 *    jansson keeps integer literals exact; those beyond 2^53 are refused,
 *    because a strict JCS encoder rounds them to a double while serde-based
 *    encoders print them exactly, and the two hashes would differ.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/jsonconst.h"
#include "dga/measure.h"

#define JCS_MAX_OUTPUT (8u << 20)
#define INT53 ((json_int_t)1 << 53)

static dga_err encode(const json_t *v, struct buf *out, unsigned depth, struct dga_diag *diag);

/* ---- strings ------------------------------------------------------------------------------ */

static dga_err encode_string(const char *s, size_t n, struct buf *out)
{
    dga_err e = buf_append(out, "\"", 1);
    for (size_t i = 0; i < n && e == DGA_E_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        switch (c) {
        case '"':
            e = buf_append(out, "\\\"", 2);
            break;
        case '\\':
            e = buf_append(out, "\\\\", 2);
            break;
        case '\b':
            e = buf_append(out, "\\b", 2);
            break;
        case '\t':
            e = buf_append(out, "\\t", 2);
            break;
        case '\n':
            e = buf_append(out, "\\n", 2);
            break;
        case '\f':
            e = buf_append(out, "\\f", 2);
            break;
        case '\r':
            e = buf_append(out, "\\r", 2);
            break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                e = buf_append(out, esc, 6);
            } else {
                e = buf_append(out, &s[i], 1);
            }
        }
    }
    if (e != DGA_E_OK) {
        return e;
    }
    return buf_append(out, "\"", 1);
}

/* ---- numbers -------------------------------------------------------------------------------- */

/*
 * The shortest decimal digits that read back as d, and the decimal exponent n
 * with d = 0.digits * 10^n (ECMA-262 Number::toString, step 5). %.*e rounds
 * correctly, so the first precision that round-trips gives the shortest and
 * closest digits.
 */
static void shortest_digits(double d, char digits[24], int *ret_n)
{
    char text[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(text, sizeof text, "%.*e", prec - 1, d);
        if (strtod(text, NULL) == d) {
            break;
        }
    }
    size_t k = 0;
    const char *p = text;
    for (; *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9') {
            digits[k++] = *p;
        }
    }
    while (k > 1 && digits[k - 1] == '0') {
        k--;
    }
    digits[k] = '\0';
    *ret_n = atoi(p + 1) + 1;
}

static dga_err encode_double(double d, struct buf *out)
{
    char digits[24], text[64];
    int n;
    if (d == 0) {
        return buf_append(out, "0", 1); /* also -0 */
    }
    if (d < 0) {
        dga_err e = buf_append(out, "-", 1);
        if (e != DGA_E_OK) {
            return e;
        }
        return encode_double(-d, out);
    }
    shortest_digits(d, digits, &n);
    int k = (int)strlen(digits);
    if (k <= n && n <= 21) { /* integer: digits then n-k zeros */
        snprintf(text, sizeof text, "%s%0*d", digits, n - k, 0);
        if (n == k) {
            snprintf(text, sizeof text, "%s", digits);
        }
    } else if (0 < n && n <= 21) { /* point inside the digits */
        snprintf(text, sizeof text, "%.*s.%s", n, digits, digits + n);
    } else if (-6 < n && n <= 0) { /* 0.000ddd */
        snprintf(text, sizeof text, "0.%0*d%s", -n, 0, digits);
        if (n == 0) {
            snprintf(text, sizeof text, "0.%s", digits);
        }
    } else { /* exponent form: d[.ddd]e±x */
        snprintf(text, sizeof text, "%c%s%s%c%c%d", digits[0], k > 1 ? "." : "", digits + 1, 'e',
                 n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
    return buf_append_str(out, text);
}

static dga_err encode_number(const json_t *v, struct buf *out, struct dga_diag *diag)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i > INT53 || i < -INT53) {
            return dga_diag_set(diag, DGA_E_JCS_NUMBER, 0, "integer");
        }
        char text[32];
        snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, i);
        return buf_append_str(out, text);
    }
    double d = json_real_value(v);
    if (!isfinite(d)) {
        return dga_diag_set(diag, DGA_E_JCS_NUMBER, 0, "real");
    }
    return encode_double(d, out);
}

/* ---- objects ------------------------------------------------------------------------------- */

struct member {
    const char *key;
    uint16_t *units; /* the name in UTF-16 code units */
    size_t n_units;
};

/* An object's members in JCS order. */
struct members {
    struct member *m;
    size_t n;
};

/* jansson keys are valid UTF-8; a supplementary code point becomes a surrogate pair. */
static uint16_t *utf16_of(const char *s, size_t *ret_n)
{
    size_t len = strlen(s), n = 0;
    uint16_t *u = malloc((len + 1) * sizeof *u);
    if (u == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t extra = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
        uint32_t cp = extra == 0   ? c
                      : extra == 1 ? (c & 0x1fu)
                      : extra == 2 ? (c & 0x0fu)
                                   : (c & 0x07u);
        for (size_t j = 1; j <= extra && i + j < len; j++) {
            cp = (cp << 6) | ((unsigned char)s[i + j] & 0x3fu);
        }
        i += extra + 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            u[n++] = (uint16_t)(0xd800 + (cp >> 10));
            u[n++] = (uint16_t)(0xdc00 + (cp & 0x3ff));
        } else {
            u[n++] = (uint16_t)cp;
        }
    }
    *ret_n = n;
    return u;
}

static int member_cmp(const void *pa, const void *pb)
{
    const struct member *a = pa, *b = pb;
    size_t n = a->n_units < b->n_units ? a->n_units : b->n_units;
    for (size_t i = 0; i < n; i++) {
        if (a->units[i] != b->units[i]) {
            return a->units[i] < b->units[i] ? -1 : 1;
        }
    }
    return a->n_units < b->n_units ? -1 : a->n_units > b->n_units ? 1 : 0;
}

static void members_clear(struct members *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        free(ms->m[i].units);
    }
    free(ms->m);
    *ms = (struct members){0};
}

static void members_clearp(struct members *ms)
{
    members_clear(ms);
}

/* On failure ret holds the members made so far, for the caller's _cleanup_. */
static dga_err sorted_members(const json_t *obj, struct members *ret)
{
    size_t n = json_object_size(obj);
    ret->m = calloc(n + 1, sizeof *ret->m);
    if (ret->m == NULL) {
        return DGA_E_NOMEM;
    }
    const char *key;
    const json_t *val;
    json_object_foreach(json_iterable(obj), key, val)
    {
        (void)val;
        struct member *m = &ret->m[ret->n++];
        m->key = key;
        m->units = utf16_of(key, &m->n_units);
        if (m->units == NULL) {
            return DGA_E_NOMEM;
        }
    }
    qsort(ret->m, ret->n, sizeof *ret->m, member_cmp);
    return DGA_E_OK;
}

/* `,"name":value`, without the comma for the first member. */
static dga_err encode_member(const json_t *obj, const struct member *m, bool first, struct buf *out,
                             unsigned depth, struct dga_diag *diag)
{
    dga_err e;
    if (!first) {
        e = buf_append(out, ",", 1);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    e = encode_string(m->key, strlen(m->key), out);
    if (e != DGA_E_OK) {
        return e;
    }
    e = buf_append(out, ":", 1);
    if (e != DGA_E_OK) {
        return e;
    }
    return encode(json_object_get(obj, m->key), out, depth + 1, diag);
}

static dga_err encode_object(const json_t *obj, struct buf *out, unsigned depth,
                             struct dga_diag *diag)
{
    _cleanup_(members_clearp) struct members ms = {0};
    dga_err e = sorted_members(obj, &ms);
    if (e != DGA_E_OK) {
        return e;
    }
    e = buf_append(out, "{", 1);
    if (e != DGA_E_OK) {
        return e;
    }
    for (size_t i = 0; i < ms.n; i++) {
        e = encode_member(obj, &ms.m[i], i == 0, out, depth, diag);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    return buf_append(out, "}", 1);
}

static dga_err encode_array(const json_t *arr, struct buf *out, unsigned depth,
                            struct dga_diag *diag)
{
    dga_err e = buf_append(out, "[", 1);
    if (e != DGA_E_OK) {
        return e;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if (i > 0) {
            e = buf_append(out, ",", 1);
            if (e != DGA_E_OK) {
                return e;
            }
        }
        e = encode(json_array_get(arr, i), out, depth + 1, diag);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    return buf_append(out, "]", 1);
}

static dga_err encode(const json_t *v, struct buf *out, unsigned depth, struct dga_diag *diag)
{
    if (depth > DGA_JCS_MAX_DEPTH) {
        return dga_diag_set(diag, DGA_E_JCS_DEPTH, depth, "depth");
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return encode_object(v, out, depth, diag);
    case JSON_ARRAY:
        return encode_array(v, out, depth, diag);
    case JSON_STRING:
        return encode_string(json_string_value(v), json_string_length(v), out);
    case JSON_INTEGER:
    case JSON_REAL:
        return encode_number(v, out, diag);
    case JSON_TRUE:
        return buf_append_str(out, "true");
    case JSON_FALSE:
        return buf_append_str(out, "false");
    case JSON_NULL:
        return buf_append_str(out, "null");
    }
    return DGA_E_INTERNAL;
}

/* The canonical text, NUL-terminated for the callers that print it. */
static dga_err encode_terminated(const json_t *value, struct buf *out, struct dga_diag *diag)
{
    dga_err e = encode(value, out, 0, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return buf_terminate(out);
}

dga_err dga_jcs_encode(const json_t *value, char **ret, size_t *ret_len, struct dga_diag *diag)
{
    if (value == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "value");
    }
    _cleanup_(buf_freep) struct buf out = buf_init(JCS_MAX_OUTPUT);
    dga_err e = encode_terminated(value, &out, diag);
    if (e != DGA_E_OK) {
        return e == DGA_E_TOO_LARGE ? dga_diag_set(diag, e, JCS_MAX_OUTPUT, "canonical JSON") : e;
    }
    *ret_len = out.len;
    *ret = (char *)buf_take(&out);
    return DGA_E_OK;
}

/* ---- gpu-policy-hash --------------------------------------------------------------------------
 */

/*
 * Strict parse: duplicate names refused (RFC 8785 needs I-JSON), nothing
 * after the value, \u0000 allowed in strings (JCS can carry it).
 */
static dga_err load_json(const char *text, size_t len, json_t **ret, struct dga_diag *diag)
{
    if (len > DGA_APP_COMPOSE_MAX_BYTES) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, DGA_APP_COMPOSE_MAX_BYTES, "document");
    }
    json_error_t err;
    json_t *j =
        json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (j == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_JSON, (size_t)err.position, "document");
    }
    *ret = j;
    return DGA_E_OK;
}

static dga_err hash_value(const json_t *v, uint8_t out[32], struct dga_diag *diag)
{
    char *canon = NULL;
    size_t n = 0;
    dga_err e = dga_jcs_encode(v, &canon, &n, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    SHA256((const unsigned char *)canon, n, out);
    free(canon);
    return DGA_E_OK;
}

dga_err dga_gpu_policy_hash_value(const char *policy_json, size_t len, uint8_t out[32],
                                  struct dga_diag *diag)
{
    _cleanup_(json_decrefp) json_t *v = NULL;
    dga_err e = load_json(policy_json, len, &v, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return hash_value(v, out, diag);
}

/* JSON pointer /requirements/gpu_policy: absent when any step is missing or not an object. */
dga_err dga_gpu_policy_hash_compose(const char *app_compose, size_t len, uint8_t out[32],
                                    struct dga_diag *diag)
{
    _cleanup_(json_decrefp) json_t *doc = NULL;
    dga_err e = load_json(app_compose, len, &doc, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    json_t *req = json_is_object(doc) ? json_object_get(doc, "requirements") : NULL;
    json_t *policy = json_is_object(req) ? json_object_get(req, "gpu_policy") : NULL;
    if (policy != NULL) {
        return hash_value(policy, out, diag);
    }
    _cleanup_(json_decrefp) json_t *empty = json_object();
    if (empty == NULL) {
        return DGA_E_NOMEM;
    }
    return hash_value(empty, out, diag);
}
