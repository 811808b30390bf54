/* SPDX-License-Identifier: Apache-2.0 */
/* Typed readers for Intel's signed TCB info and QE identity JSON (quote/tcb_json.h). */
#include "quote/tcb_json.h"

#include <stdbool.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/codec.h"
#include "core/utc.h"

dga_err tj_fail(const struct tj_ctx *c, const char *field)
{
    return dga_diag_set(c->diag, c->err, c->index, field);
}

dga_err tj_load(const struct tj_ctx *c, const char *json, size_t len, json_t **ret)
{
    if (json == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        return dga_diag_set(c->diag, c->err, root == NULL ? (size_t)jerr.position : 0, "json");
    }
    *ret = root;
    return DGA_E_OK;
}

dga_err tj_parse(const char *json, size_t len, dga_err err, struct dga_diag *diag, tj_read_fn read,
                 void *out)
{
    struct tj_ctx c = {.err = err, .diag = diag, .index = 0};
    _cleanup_(json_decrefp) json_t *root = NULL;
    dga_err e = tj_load(&c, json, len, &root);
    if (e != DGA_E_OK) {
        return e;
    }
    return read(&c, root, out);
}

dga_err tj_array(const struct tj_ctx *c, const json_t *obj, const char *key, bool optional,
                 size_t max, const char *field, json_t **ret)
{
    json_t *a = json_object_get(obj, key);
    if (a == NULL && optional) {
        *ret = NULL;
        return DGA_E_OK;
    }
    if (!json_is_array(a) || json_array_size(a) > max) {
        return tj_fail(c, field);
    }
    *ret = a;
    return DGA_E_OK;
}

/* obj's member key if it has the given type, else NULL. */
static json_t *typed(const json_t *obj, const char *key, json_type type)
{
    json_t *v = json_object_get(obj, key);
    return v != NULL && json_typeof(v) == type ? v : NULL;
}

dga_err tj_member(const struct tj_ctx *c, const json_t *obj, const char *key, json_type type,
                  const char *field, json_t **ret)
{
    json_t *v = typed(obj, key, type);
    if (v == NULL) {
        return tj_fail(c, field);
    }
    *ret = v;
    return DGA_E_OK;
}

dga_err tj_uint(const struct tj_ctx *c, const json_t *obj, const char *key, uint64_t max,
                const char *field, uint64_t *ret)
{
    const json_t *v = typed(obj, key, JSON_INTEGER);
    json_int_t n = v != NULL ? json_integer_value(v) : -1;
    if (n < 0 || (uint64_t)n > max) {
        return tj_fail(c, field);
    }
    *ret = (uint64_t)n;
    return DGA_E_OK;
}

dga_err tj_hex(const struct tj_ctx *c, const json_t *obj, const char *key, size_t n,
               const char *field, uint8_t *out)
{
    const json_t *v = typed(obj, key, JSON_STRING);
    if (v == NULL || json_string_length(v) != 2 * n) {
        return tj_fail(c, field);
    }
    const char *s = json_string_value(v);
    uint8_t tmp[64];
    if (n > sizeof tmp) {
        return DGA_E_BAD_ARGUMENT;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(s[2 * i]);
        int lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return tj_fail(c, field);
        }
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(out, tmp, n);
    return DGA_E_OK;
}

dga_err tj_string(const struct tj_ctx *c, const json_t *obj, const char *key, size_t cap,
                  const char *field, char *out)
{
    const json_t *v = typed(obj, key, JSON_STRING);
    if (v == NULL || json_string_length(v) >= cap ||
        memchr(json_string_value(v), '\0', json_string_length(v)) != NULL) {
        return tj_fail(c, field);
    }
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return DGA_E_OK;
}

static bool digits(const char *s, size_t n, int *ret)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return true;
}

static int days_in_month(int year, int mon)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return mon == 2 && leap ? 29 : days[mon - 1];
}

/*
 * Intel's PCS writes every date as YYYY-MM-DDTHH:MM:SSZ. Only that form is
 * read: no fraction (which would need rounding toward the safe side of each
 * bound), no offset, no leap second, no lowercase 't' or 'z'.
 */
dga_err tj_parse_time(const char *s, size_t len, time_t *ret)
{
    int y, mo, d, h, mi, se;
    if (len != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[19] != 'Z') {
        return DGA_E_BAD_ARGUMENT;
    }
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se)) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || se > 59) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    return utc_from_tm(&tm, ret);
}

dga_err tj_time(const struct tj_ctx *c, const json_t *obj, const char *key, const char *field,
                time_t *ret)
{
    const json_t *v = typed(obj, key, JSON_STRING);
    time_t t;
    if (v == NULL || tj_parse_time(json_string_value(v), json_string_length(v), &t) != DGA_E_OK) {
        return tj_fail(c, field);
    }
    *ret = t;
    return DGA_E_OK;
}

dga_err tj_header(const struct tj_ctx *c, const json_t *root, char *id, size_t id_cap,
                  unsigned *version, time_t *issue_date, time_t *next_update)
{
    uint64_t v = 0;
    dga_err e = tj_string(c, root, "id", id_cap, "id", id);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_uint(c, root, "version", UINT8_MAX, "version", &v);
    if (e != DGA_E_OK) {
        return e;
    }
    *version = (unsigned)v;
    e = tj_time(c, root, "issueDate", "issueDate", issue_date);
    if (e != DGA_E_OK) {
        return e;
    }
    return tj_time(c, root, "nextUpdate", "nextUpdate", next_update);
}

static bool has_id(const struct dga_tcb_result *r, const char *id)
{
    for (size_t i = 0; i < r->n_advisories; i++) {
        if (strcmp(r->advisory_ids[i], id) == 0) {
            return true;
        }
    }
    return false;
}

/* advisoryIDs: optional; each a non-empty string that fits; a repeated id is kept once. */
static dga_err advisories(const struct tj_ctx *c, const json_t *level, const char *field,
                          struct dga_tcb_result *r)
{
    json_t *ids = json_object_get(level, "advisoryIDs");
    if (ids == NULL) {
        return DGA_E_OK;
    }
    if (!json_is_array(ids) || json_array_size(ids) > DGA_TCB_ADVISORY_MAX) {
        return tj_fail(c, field);
    }
    for (size_t i = 0; i < json_array_size(ids); i++) {
        json_t *id = json_array_get(ids, i);
        size_t len = json_is_string(id) ? json_string_length(id) : 0;
        if (len == 0 || len >= DGA_TCB_ADVISORY_LEN ||
            memchr(json_string_value(id), '\0', len) != NULL) {
            return tj_fail(c, field);
        }
        if (!has_id(r, json_string_value(id))) {
            memcpy(r->advisory_ids[r->n_advisories++], json_string_value(id), len + 1);
        }
    }
    return DGA_E_OK;
}

dga_err tj_level_result(const struct tj_ctx *c, const json_t *level,
                        const struct tj_level_fields *f, struct dga_tcb_result *ret)
{
    json_t *v = NULL;
    dga_err e = tj_member(c, level, "tcbDate", JSON_STRING, f->tcb_date, &v);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_member(c, level, "tcbStatus", JSON_STRING, f->tcb_status, &v);
    if (e != DGA_E_OK) {
        return e;
    }
    struct dga_tcb_result r;
    memset(&r, 0, sizeof r);
    if (memchr(json_string_value(v), '\0', json_string_length(v)) != NULL ||
        dga_tcb_status_from_name(json_string_value(v), &r.status) != DGA_E_OK) {
        return tj_fail(c, f->tcb_status);
    }
    e = advisories(c, level, f->advisory_ids, &r);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = r;
    return DGA_E_OK;
}
