/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack event logs and their replay (docs/formats.md §14, docs/measure.md).
 * Three forms, told apart by content:
 *   JSON lines   runtime_events.log, {"event","payload"(base64)[,"version"]}
 *   array        GetQuote's event_log, [{"imr","event_type","digest","event",
 *                "event_payload"(hex)[,"version"][,"preimage"]}, ...]
 *   response     a GetQuote response object carrying that array as the
 *                string member "event_log"
 * Runtime event digests are recomputed from name, payload and version, as
 * dstack's verifier does; a recorded digest or preimage must agree with them.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/cleanup.h"
#include "dga/util.h"
#include "measure/internal.h"

struct parser {
    struct dga_eventlog *log;
    size_t cap; /* allocated events */
    struct dga_diag *diag;
};

void dga_eventlog_free(struct dga_eventlog *log)
{
    if (log == NULL) {
        return;
    }
    for (size_t i = 0; i < log->n; i++) {
        free(log->events[i].name);
        free(log->events[i].payload);
    }
    free(log->events);
    free(log);
}

static dga_err fail(struct parser *p, dga_err e, size_t where, const char *field)
{
    return dga_diag_set(p->diag, e, where, field);
}

static dga_err push_event(struct parser *p, size_t where, struct dga_event **ret)
{
    struct dga_eventlog *log = p->log;
    if (log->n >= DGA_EVENTLOG_MAX_EVENTS) {
        return fail(p, DGA_E_TOO_LARGE, where, "events");
    }
    if (log->n == p->cap) {
        size_t cap = p->cap == 0 ? 16 : 2 * p->cap;
        struct dga_event *ev = realloc(log->events, cap * sizeof *ev);
        if (ev == NULL) {
            return DGA_E_NOMEM;
        }
        log->events = ev;
        p->cap = cap;
    }
    struct dga_event *e = &log->events[log->n++];
    memset(e, 0, sizeof *e);
    e->where = where;
    *ret = e;
    return DGA_E_OK;
}

/* ---- members -------------------------------------------------------------------------------- */

/* Every member of obj must be one of the names in `allowed` (NULL-terminated). */
static dga_err only_known(struct parser *p, json_t *obj, const char *const *allowed, size_t where)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        (void)val;
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL && !known; i++) {
            known = strcmp(key, allowed[i]) == 0;
        }
        if (!known) {
            return fail(p, DGA_E_EVENTLOG_FIELD, where, "unknown member");
        }
    }
    return DGA_E_OK;
}

static dga_err get_string(struct parser *p, json_t *obj, const char *name, size_t where,
                          const char **ret, size_t *ret_len)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_string(v)) {
        return fail(p, DGA_E_EVENTLOG_FIELD, where, name);
    }
    *ret = json_string_value(v);
    *ret_len = json_string_length(v);
    if (strlen(*ret) != *ret_len) {
        return fail(p, DGA_E_EVENTLOG_FIELD, where, name); /* an embedded NUL */
    }
    return DGA_E_OK;
}

/* An integer member in [0, max]. */
static dga_err get_uint(struct parser *p, json_t *obj, const char *name, json_int_t max,
                        size_t where, uint32_t *ret)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
        return fail(p, DGA_E_EVENTLOG_FIELD, where, name);
    }
    *ret = (uint32_t)json_integer_value(v);
    return DGA_E_OK;
}

/* "version": absent means V1 (dstack omits it); otherwise exactly 1 or 2. */
static dga_err get_version(struct parser *p, json_t *obj, size_t where, enum dga_event_version *ret)
{
    json_t *v = json_object_get(obj, "version");
    if (v == NULL) {
        *ret = DGA_EVENT_V1;
        return DGA_E_OK;
    }
    if (!json_is_integer(v)) {
        return fail(p, DGA_E_EVENTLOG_FIELD, where, "version");
    }
    if (json_integer_value(v) != 1 && json_integer_value(v) != 2) {
        return fail(p, DGA_E_EVENT_VERSION, where, "version");
    }
    *ret = json_integer_value(v) == 2 ? DGA_EVENT_V2 : DGA_EVENT_V1;
    return DGA_E_OK;
}

/* A name from the log: any UTF-8 (jansson checked it), bounded, no ':' under V1. */
static dga_err take_name(struct parser *p, struct dga_event *ev, const char *name, size_t len)
{
    if (len > DGA_EVENT_NAME_MAX || (ev->event_type == DGA_EVENT_TYPE &&
                                     ev->version == DGA_EVENT_V1 && strchr(name, ':') != NULL)) {
        return fail(p, DGA_E_EVENT_NAME, ev->where, "event");
    }
    ev->name = strdup(name);
    return ev->name != NULL ? DGA_E_OK : DGA_E_NOMEM;
}

static dga_err check_payload_size(struct parser *p, const struct dga_event *ev)
{
    if (ev->event_type == DGA_EVENT_TYPE && ev->payload_len > DGA_EVENT_PAYLOAD_MAX) {
        return fail(p, DGA_E_TOO_LARGE, ev->where, "payload");
    }
    return DGA_E_OK;
}

static dga_err recompute(struct parser *p, struct dga_event *ev)
{
    dga_err e = dga_event_digest(ev->version, DGA_HASH_SHA384, ev->name, ev->payload,
                                 ev->payload_len, ev->digest);
    if (e != DGA_E_OK) {
        return fail(p, e, ev->where, "event");
    }
    return DGA_E_OK;
}

/* ---- JSON lines (runtime_events.log)
 * ------------------------------------------------------------- */

/*
 * Standard padded base64 whose unused trailing bits are zero, as Rust's
 * base64 STANDARD engine (dstack) demands: "AR==" and "AQ==" must not both
 * read as 0x01, or two different lines would carry one measured event.
 */
static bool base64_canonical(const char *text, size_t len, uint8_t **ret, size_t *ret_len)
{
    if (dga_base64_decode(text, len, ret, ret_len) != DGA_E_OK) {
        return false;
    }
    char *again = malloc(len + 1);
    bool same = again != NULL &&
                (size_t)EVP_EncodeBlock((unsigned char *)again, *ret, (int)*ret_len) == len &&
                memcmp(again, text, len) == 0;
    free(again);
    if (!same) {
        free(*ret);
        *ret = NULL;
        *ret_len = 0;
    }
    return same;
}

/* A line's name and base64 payload, bounded, into ev. */
static dga_err line_name_payload(struct parser *p, json_t *obj, struct dga_event *ev)
{
    const char *name, *b64;
    size_t name_len, b64_len;
    dga_err e = get_string(p, obj, "event", ev->where, &name, &name_len);
    if (e != DGA_E_OK) {
        return e;
    }
    e = take_name(p, ev, name, name_len);
    if (e != DGA_E_OK) {
        return e;
    }
    e = get_string(p, obj, "payload", ev->where, &b64, &b64_len);
    if (e != DGA_E_OK) {
        return e;
    }
    if (b64_len > (DGA_EVENT_PAYLOAD_MAX + 2) / 3 * 4) {
        return fail(p, DGA_E_TOO_LARGE, ev->where, "payload");
    }
    if (!base64_canonical(b64, b64_len, &ev->payload, &ev->payload_len)) {
        return fail(p, DGA_E_BAD_BASE64, ev->where, "payload");
    }
    return check_payload_size(p, ev);
}

static dga_err parse_line(struct parser *p, const char *line, size_t len, size_t lineno)
{
    static const char *const allowed[] = {"event", "payload", "version", NULL};
    json_error_t err;
    _cleanup_(json_decrefp) json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(obj)) {
        return fail(p, DGA_E_EVENTLOG_SYNTAX, lineno, "line");
    }
    struct dga_event *ev;
    dga_err e = only_known(p, obj, allowed, lineno);
    if (e != DGA_E_OK) {
        return e;
    }
    e = push_event(p, lineno, &ev);
    if (e != DGA_E_OK) {
        return e;
    }
    ev->imr = DGA_EVENT_IMR;
    ev->event_type = DGA_EVENT_TYPE;
    e = get_version(p, obj, lineno, &ev->version);
    if (e != DGA_E_OK) {
        return e;
    }
    e = line_name_payload(p, obj, ev);
    if (e != DGA_E_OK) {
        return e;
    }
    return recompute(p, ev);
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') {
            return false;
        }
    }
    return true;
}

static dga_err parse_lines(struct parser *p, const char *text, size_t len)
{
    size_t lineno = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
        lineno++;
        if (n > DGA_EVENTLOG_MAX_LINE) {
            return fail(p, DGA_E_TOO_LARGE, lineno, "line");
        }
        if (!blank(text + at, n)) {
            dga_err e = parse_line(p, text + at, n, lineno);
            if (e != DGA_E_OK) {
                return e;
            }
        }
        at += n + 1;
    }
    return DGA_E_OK;
}

/* ---- the GetQuote array -------------------------------------------------------------------------
 */

static dga_err decode_hex_member(struct parser *p, json_t *obj, const char *name, size_t where,
                                 uint8_t **ret, size_t *ret_len)
{
    const char *hex;
    size_t hex_len;
    dga_err e = get_string(p, obj, name, where, &hex, &hex_len);
    if (e != DGA_E_OK) {
        return e;
    }
    if (dga_hex_decode(hex, hex_len, ret, ret_len) != DGA_E_OK) {
        return fail(p, DGA_E_BAD_HEX, where, name);
    }
    return DGA_E_OK;
}

/* A recorded runtime digest may be empty (the stripped form) or must equal ours. */
static dga_err check_recorded(struct parser *p, const struct dga_event *ev, const uint8_t *digest,
                              size_t digest_len)
{
    if (digest_len == 0) {
        return DGA_E_OK;
    }
    if (digest_len != DGA_EVENT_DIGEST_LEN ||
        !dga_mem_equal(digest, ev->digest, DGA_EVENT_DIGEST_LEN)) {
        return fail(p, DGA_E_EVENT_DIGEST_MISMATCH, ev->where, "digest");
    }
    return DGA_E_OK;
}

/* A supplied preimage must be byte for byte the one we hash (it hashes to the digest then). */
static dga_err check_preimage(struct parser *p, json_t *obj, const struct dga_event *ev)
{
    if (json_object_get(obj, "preimage") == NULL) {
        return DGA_E_OK;
    }
    _cleanup_(freep) uint8_t *given = NULL;
    _cleanup_(freep) uint8_t *ours = NULL;
    size_t given_len = 0, ours_len = 0;
    dga_err e = decode_hex_member(p, obj, "preimage", ev->where, &given, &given_len);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_event_preimage(ev->version, ev->name, ev->payload, ev->payload_len, &ours, &ours_len);
    if (e != DGA_E_OK) {
        return fail(p, e, ev->where, "preimage");
    }
    if (given_len != ours_len || memcmp(given, ours, ours_len) != 0) {
        return fail(p, DGA_E_EVENT_PREIMAGE, ev->where, "preimage");
    }
    return DGA_E_OK;
}

static dga_err runtime_element(struct parser *p, json_t *obj, struct dga_event *ev,
                               const uint8_t *digest, size_t digest_len)
{
    if (ev->imr != DGA_EVENT_IMR) {
        return fail(p, DGA_E_EVENT_TYPE, ev->where, "imr");
    }
    dga_err e = check_payload_size(p, ev);
    if (e != DGA_E_OK) {
        return e;
    }
    e = recompute(p, ev);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_recorded(p, ev, digest, digest_len);
    if (e != DGA_E_OK) {
        return e;
    }
    return check_preimage(p, obj, ev);
}

/*
 * Boot (CCEL) events keep their recorded digest. They may not sit on RTMR3:
 * dstack's verifier replays RTMR3 from runtime events only, so one there
 * would make our replay and theirs disagree.
 */
static dga_err boot_element(struct parser *p, json_t *obj, struct dga_event *ev,
                            const uint8_t *digest, size_t digest_len)
{
    if (ev->imr == DGA_EVENT_IMR) {
        return fail(p, DGA_E_EVENT_TYPE, ev->where, "imr");
    }
    if (json_object_get(obj, "version") != NULL || json_object_get(obj, "preimage") != NULL) {
        return fail(p, DGA_E_EVENTLOG_FIELD, ev->where, "version");
    }
    if (digest_len != DGA_EVENT_DIGEST_LEN) {
        return fail(p, DGA_E_EVENTLOG_FIELD, ev->where, "digest");
    }
    memcpy(ev->digest, digest, DGA_EVENT_DIGEST_LEN);
    p->log->boot_events = true;
    return DGA_E_OK;
}

/* An element's imr, event_type, version, name and hex payload, into ev. */
static dga_err element_fields(struct parser *p, json_t *obj, struct dga_event *ev)
{
    const char *name;
    size_t name_len;
    dga_err e = get_uint(p, obj, "imr", 3, ev->where, &ev->imr);
    if (e != DGA_E_OK) {
        return e;
    }
    e = get_uint(p, obj, "event_type", 0xffffffff, ev->where, &ev->event_type);
    if (e != DGA_E_OK) {
        return e;
    }
    e = get_version(p, obj, ev->where, &ev->version);
    if (e != DGA_E_OK) {
        return e;
    }
    e = get_string(p, obj, "event", ev->where, &name, &name_len);
    if (e != DGA_E_OK) {
        return e;
    }
    e = take_name(p, ev, name, name_len);
    if (e != DGA_E_OK) {
        return e;
    }
    return decode_hex_member(p, obj, "event_payload", ev->where, &ev->payload, &ev->payload_len);
}

static dga_err parse_element(struct parser *p, json_t *obj, size_t where)
{
    static const char *const allowed[] = {"imr",           "event_type", "digest",   "event",
                                          "event_payload", "version",    "preimage", NULL};
    if (!json_is_object(obj)) {
        return fail(p, DGA_E_EVENTLOG_FIELD, where, "element");
    }
    struct dga_event *ev;
    size_t digest_len = 0;
    _cleanup_(freep) uint8_t *digest = NULL;
    dga_err e = only_known(p, obj, allowed, where);
    if (e != DGA_E_OK) {
        return e;
    }
    e = push_event(p, where, &ev);
    if (e != DGA_E_OK) {
        return e;
    }
    e = element_fields(p, obj, ev);
    if (e != DGA_E_OK) {
        return e;
    }
    e = decode_hex_member(p, obj, "digest", where, &digest, &digest_len);
    if (e != DGA_E_OK) {
        return e;
    }
    return ev->event_type == DGA_EVENT_TYPE ? runtime_element(p, obj, ev, digest, digest_len)
                                            : boot_element(p, obj, ev, digest, digest_len);
}

static dga_err parse_array(struct parser *p, json_t *arr)
{
    if (json_array_size(arr) > DGA_EVENTLOG_MAX_EVENTS) {
        return fail(p, DGA_E_TOO_LARGE, json_array_size(arr), "events");
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        dga_err e = parse_element(p, json_array_get(arr, i), i + 1);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    return DGA_E_OK;
}

/* The "event_log" string of a GetQuote response holds the array as JSON text. */
static dga_err parse_response(struct parser *p, json_t *obj)
{
    const char *inner;
    size_t inner_len;
    dga_err e = get_string(p, obj, "event_log", 0, &inner, &inner_len);
    if (e != DGA_E_OK) {
        return e;
    }
    json_error_t err;
    _cleanup_(json_decrefp) json_t *arr =
        json_loadb(inner, inner_len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_array(arr)) {
        return fail(p, DGA_E_EVENTLOG_SYNTAX, (size_t)err.position, "event_log");
    }
    return parse_array(p, arr);
}

/* ---- entry point --------------------------------------------------------------------------------
 */

static dga_err parse_any(struct parser *p, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) {
        i++;
    }
    json_error_t err;
    if (i < len && text[i] == '[') {
        _cleanup_(json_decrefp) json_t *arr = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_array(arr)) {
            return fail(p, DGA_E_EVENTLOG_SYNTAX, (size_t)err.position, "array");
        }
        return parse_array(p, arr);
    }
    /* A whole-text object holding "event_log" is a GetQuote response; anything else is lines. */
    _cleanup_(json_decrefp) json_t *whole = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (json_is_object(whole) && json_object_get(whole, "event_log") != NULL) {
        return parse_response(p, whole);
    }
    return parse_lines(p, text, len);
}

dga_err dga_eventlog_parse(const char *text, size_t len, struct dga_eventlog **ret,
                           struct dga_diag *diag)
{
    if (text == NULL && len > 0) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "text");
    }
    if (len > DGA_EVENTLOG_MAX_BYTES) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, len, "log");
    }
    struct parser p = {.log = calloc(1, sizeof *p.log), .diag = diag};
    if (p.log == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = parse_any(&p, text != NULL ? text : "", len);
    if (e != DGA_E_OK) {
        dga_eventlog_free(p.log);
        return e;
    }
    *ret = p.log;
    return DGA_E_OK;
}

/* ---- replay -------------------------------------------------------------------------------------
 */

static void extend(uint8_t *reg, size_t reg_len, enum dga_hash_alg alg, const uint8_t *digest)
{
    uint8_t in[2 * DGA_EVENT_DIGEST_LEN];
    memcpy(in, reg, reg_len);
    memcpy(in + reg_len, digest, reg_len);
    (void)measure_hash(alg, in, 2 * reg_len, reg);
}

void dga_eventlog_replay(const struct dga_eventlog *log, uint8_t rtmr[4][DGA_EVENT_DIGEST_LEN])
{
    memset(rtmr, 0, 4 * DGA_EVENT_DIGEST_LEN);
    for (size_t i = 0; i < log->n; i++) {
        const struct dga_event *ev = &log->events[i];
        extend(rtmr[ev->imr], DGA_EVENT_DIGEST_LEN, DGA_HASH_SHA384, ev->digest);
    }
}

dga_err dga_eventlog_replay_runtime(const struct dga_eventlog *log, enum dga_hash_alg alg,
                                    uint8_t *out)
{
    size_t n = dga_hash_len(alg);
    uint8_t digest[DGA_EVENT_DIGEST_LEN];
    memset(out, 0, n);
    for (size_t i = 0; i < log->n; i++) {
        const struct dga_event *ev = &log->events[i];
        if (ev->event_type != DGA_EVENT_TYPE) {
            continue;
        }
        dga_err e =
            dga_event_digest(ev->version, alg, ev->name, ev->payload, ev->payload_len, digest);
        if (e != DGA_E_OK) {
            return e;
        }
        extend(out, n, alg, digest);
    }
    return DGA_E_OK;
}
