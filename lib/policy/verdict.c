/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verdict's reasons: bounded formatting of what was found and what the
 * policy allows, and the verdict as JSON.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "dga/policy.h"
#include "policy/internal.h"

/* Longest claim value quoted in a reason. */
#define DESCRIBE_MAX 64

void policy_reason(struct dga_verdict *v, long device, const char *subject, const char *fmt, ...)
{
    va_list ap;
    v->pass = false;
    if (v->n_reasons >= DGA_VERDICT_MAX_REASONS) {
        return;
    }
    size_t i = v->n_reasons++;
    char *text = v->reasons[i];
    if (i == DGA_VERDICT_MAX_REASONS - 1) {
        snprintf(text, DGA_VERDICT_REASON_LEN, "... more");
        v->about[i] = (struct dga_verdict_about){.device = -1, .text_at = 0};
        return;
    }
    int n = snprintf(text, DGA_VERDICT_REASON_LEN, "%s: ", subject);
    size_t at = n > 0 && (size_t)n < DGA_VERDICT_REASON_LEN ? (size_t)n : 0;
    v->about[i] = (struct dga_verdict_about){.device = device, .text_at = at};
    va_start(ap, fmt);
    vsnprintf(text + at, DGA_VERDICT_REASON_LEN - at, fmt, ap);
    va_end(ap);
}

void policy_describe(const json_t *v, char *out, size_t cap)
{
    _cleanup_(freep) char *text = NULL;
    if (v == NULL) {
        snprintf(out, cap, "missing");
        return;
    }
    if (json_is_object(v) || json_is_array(v)) {
        snprintf(out, cap, "%s", json_is_object(v) ? "an object" : "an array");
        return;
    }
    /* JSON text escapes control characters, so a claim cannot forge a reason line. */
    text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
    if (text == NULL) {
        snprintf(out, cap, "unprintable");
        return;
    }
    if (strlen(text) > DESCRIBE_MAX) {
        snprintf(out, cap, "%.*s...", DESCRIBE_MAX, text);
        return;
    }
    snprintf(out, cap, "%s", text);
}

/* Bounded appending: text past the end of out is dropped, out stays a string. */
struct sbuf {
    char *p;
    size_t cap, len;
};

__attribute__((format(printf, 2, 3))) static void sb_add(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (b->len + 1 >= b->cap) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        size_t add = (size_t)n;
        b->len = add >= b->cap - b->len ? b->cap - 1 : b->len + add;
    }
}

void policy_names_list(const char *const *names, size_t n, unsigned mask, char *out, size_t cap)
{
    struct sbuf b = {out, cap, 0};
    const char *sep = "";
    out[0] = '\0';
    sb_add(&b, "[");
    for (size_t i = 0; i < n; i++) {
        if (mask & (1u << i)) {
            sb_add(&b, "%s\"%s\"", sep, names[i]);
            sep = ", ";
        }
    }
    sb_add(&b, "]");
}

void policy_strings_list(const json_t *list, char *out, size_t cap)
{
    struct sbuf b = {out, cap, 0};
    size_t i;
    json_t *e;
    out[0] = '\0';
    sb_add(&b, "[");
    json_array_foreach(list, i, e)
    {
        char text[DESCRIBE_MAX + 8];
        policy_describe(e, text, sizeof text);
        sb_add(&b, "%s%s", i == 0 ? "" : ", ", text);
    }
    sb_add(&b, "]");
}

void policy_index_list(const uint8_t *map, char *out, size_t cap)
{
    struct sbuf b = {out, cap, 0};
    const char *sep = "";
    out[0] = '\0';
    sb_add(&b, "[");
    for (unsigned i = 0; i <= POLICY_MAX_INDEX; i++) {
        if (policy_bit(map, i)) {
            sb_add(&b, "%s%u", sep, i);
            sep = ", ";
        }
    }
    sb_add(&b, "]");
}

json_t *dga_verdict_json(const struct dga_verdict *v)
{
    json_t *reasons;
    if (v == NULL) {
        return NULL;
    }
    reasons = json_array();
    for (size_t i = 0; reasons != NULL && i < v->n_reasons && i < DGA_VERDICT_MAX_REASONS; i++) {
        if (json_array_append_new(reasons, json_string(v->reasons[i])) != 0) {
            json_decref(reasons);
            return NULL;
        }
    }
    if (reasons == NULL) {
        return NULL;
    }
    return json_pack("{s:s,s:o}", "result", v->pass ? "pass" : "fail", "reasons", reasons);
}
