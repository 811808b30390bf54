/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protobuf mode: protobuf-c messages to and from prpc's JSON mapping, by
 * their descriptors (rpc/pbjson.h). Nothing here knows a method: a field of
 * the .proto the walk does not support (enum, float, double, maps) fails
 * closed instead of being guessed at.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "dga/util.h"
#include "rpc/pbjson.h"

/* Where the walk is, for the detail of a failure: "verdict.devices[0].label". */
struct walk {
    char path[128];
    struct rpc_failure *f;
    dga_err err;
};

static dga_err walk_fail(struct walk *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static dga_err walk_fail(struct walk *w, const char *fmt, ...)
{
    char why[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    w->f->err = w->err;
    snprintf(w->f->detail, sizeof w->f->detail, "%s%s%s", w->path, w->path[0] != '\0' ? ": " : "",
             why);
    return w->err;
}

/* Appends ".name" (or "[i]" when name is NULL) to the path; returns the length to restore. */
static size_t walk_push(struct walk *w, const char *name, size_t i)
{
    size_t n = strlen(w->path);
    if (name != NULL) {
        snprintf(w->path + n, sizeof w->path - n, "%s%s", n > 0 ? "." : "", name);
    } else {
        snprintf(w->path + n, sizeof w->path - n, "[%zu]", i);
    }
    return n;
}

static void walk_pop(struct walk *w, size_t n)
{
    w->path[n] = '\0';
}

/* The length of the UTF-8 sequence lead byte b starts (RFC 3629), 0 for a byte none starts with. */
static size_t utf8_seq_len(uint8_t b)
{
    if (b < 0x80) {
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf) {
        return 2;
    }
    if ((b & 0xf0) == 0xe0) {
        return 3;
    }
    return b >= 0xf0 && b <= 0xf4 ? 4 : 0;
}

bool rpc_utf8_valid(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq_len(p[i]);
        if (k == 0 || k > n - i) {
            return false;
        }
        uint32_t cp = k == 1 ? p[i] : (uint32_t)(p[i] & (0x7f >> k));
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i + j] & 0x3f);
        }
        if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (k == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
            return false;
        }
        i += k;
    }
    return true;
}

/* The bytes one element of a field takes in its message (0: a type the walk does not support). */
static size_t elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return sizeof(uint32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 0;
    }
}

static bool is_signed(ProtobufCType t)
{
    return t == PROTOBUF_C_TYPE_INT32 || t == PROTOBUF_C_TYPE_SINT32 ||
           t == PROTOBUF_C_TYPE_SFIXED32 || t == PROTOBUF_C_TYPE_INT64 ||
           t == PROTOBUF_C_TYPE_SINT64 || t == PROTOBUF_C_TYPE_SFIXED64;
}

/* ---- protobuf to JSON ---- */

static json_t *message_json(const ProtobufCMessage *m, int depth, struct walk *w, dga_err *e);

/* One value of field fd at slot as JSON; NULL with *e set (DGA_E_NOMEM or w's error). */
static json_t *value_json(const ProtobufCFieldDescriptor *fd, const void *slot, int depth,
                          struct walk *w, dga_err *e)
{
    size_t size = elem_size(fd->type);
    json_t *v = NULL;
    if (fd->type == PROTOBUF_C_TYPE_BOOL) {
        v = json_boolean(*(const protobuf_c_boolean *)slot);
    } else if (fd->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(char *const *)slot;
        s = s != NULL ? s : "";
        if (!rpc_utf8_valid((const uint8_t *)s, strlen(s))) {
            *e = walk_fail(w, "not UTF-8");
            return NULL;
        }
        v = json_string(s);
    } else if (fd->type == PROTOBUF_C_TYPE_BYTES) {
        const ProtobufCBinaryData *b = slot;
        v = hex_json(b->data, b->len);
    } else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
        return sub != NULL ? message_json(sub, depth + 1, w, e) : json_null();
    } else if (size == sizeof(uint32_t)) {
        uint32_t u = *(const uint32_t *)slot;
        v = json_integer(is_signed(fd->type) ? (json_int_t)(int32_t)u : (json_int_t)u);
    } else if (size == sizeof(uint64_t)) {
        uint64_t u = *(const uint64_t *)slot;
        if (!is_signed(fd->type) && u > (uint64_t)INT64_MAX) {
            *e = walk_fail(w, "%" PRIu64 " does not fit a JSON integer", u);
            return NULL;
        }
        v = json_integer((json_int_t)u);
    } else {
        *e = walk_fail(w, "field type %d is not supported", (int)fd->type);
        return NULL;
    }
    *e = v != NULL ? DGA_E_OK : DGA_E_NOMEM;
    return v;
}

static json_t *repeated_json(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd,
                             int depth, struct walk *w, dga_err *e)
{
    size_t n = *(const size_t *)((const char *)m + fd->quantifier_offset);
    const char *arr = *(char *const *)((const char *)m + fd->offset);
    _cleanup_(json_decrefp) json_t *a = json_array();
    if (a == NULL) {
        *e = DGA_E_NOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        size_t mark = walk_push(w, NULL, i);
        json_t *v = value_json(fd, arr + i * elem_size(fd->type), depth, w, e);
        if (v == NULL) {
            return NULL;
        }
        walk_pop(w, mark);
        json_push(a, v, e);
        if (*e != DGA_E_OK) {
            return NULL;
        }
    }
    return TAKE_PTR(a);
}

static json_t *message_json(const ProtobufCMessage *m, int depth, struct walk *w, dga_err *e)
{
    if (depth > PBJSON_DEPTH_MAX) {
        *e = walk_fail(w, "nested deeper than %d", PBJSON_DEPTH_MAX);
        return NULL;
    }
    const ProtobufCMessageDescriptor *d = m->descriptor;
    _cleanup_(json_decrefp) json_t *o = json_object();
    if (o == NULL) {
        *e = DGA_E_NOMEM;
        return NULL;
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        size_t mark = walk_push(w, fd->name, 0);
        json_t *v = fd->label == PROTOBUF_C_LABEL_REPEATED
                        ? repeated_json(m, fd, depth, w, e)
                        : value_json(fd, (const char *)m + fd->offset, depth, w, e);
        if (v == NULL) {
            return NULL;
        }
        walk_pop(w, mark);
        json_put(o, fd->name, v, e);
        if (*e != DGA_E_OK) {
            return NULL;
        }
    }
    return TAKE_PTR(o);
}

static void message_freep(ProtobufCMessage **m)
{
    if (*m != NULL) {
        protobuf_c_message_free_unpacked(*m, NULL);
        *m = NULL;
    }
}

dga_err pbjson_decode(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, json_t **ret,
                      struct rpc_failure *f)
{
    struct walk w = {.f = f, .err = DGA_E_RPC_REQUEST};
    /* protobuf-c cannot tell running out of memory from bad bytes: both are the request's fault */
    _cleanup_(message_freep) ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, n, p);
    if (m == NULL) {
        return walk_fail(&w, "not a protobuf %s message", d->short_name);
    }
    dga_err e = DGA_E_OK;
    json_t *o = message_json(m, 0, &w, &e);
    if (o == NULL) {
        return e;
    }
    *ret = o;
    return DGA_E_OK;
}

/* ---- JSON to protobuf ---- */

static dga_err message_fill(const ProtobufCMessageDescriptor *d, json_t *o, int depth,
                            struct walk *w, ProtobufCMessage **ret);

static dga_err integer_put(const ProtobufCFieldDescriptor *fd, const json_t *v, void *slot,
                           struct walk *w)
{
    if (!json_is_integer(v)) {
        return walk_fail(w, "not an integer");
    }
    json_int_t x = json_integer_value(v);
    bool wide = elem_size(fd->type) == sizeof(uint64_t);
    bool sig = is_signed(fd->type);
    json_int_t lo = !sig ? 0 : wide ? INT64_MIN : INT32_MIN;
    json_int_t hi = wide ? INT64_MAX : sig ? INT32_MAX : (json_int_t)UINT32_MAX;
    if (x < lo || x > hi) {
        return walk_fail(w, "%lld is out of range", (long long)x);
    }
    if (wide) {
        *(uint64_t *)slot = (uint64_t)x;
    } else {
        *(uint32_t *)slot = (uint32_t)x;
    }
    return DGA_E_OK;
}

/* Lowercase hex of an even length into b (malloc'd; 1 byte for "" so free() stays simple). */
static dga_err bytes_put(const json_t *v, ProtobufCBinaryData *b, struct walk *w)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (s == NULL || n % 2 != 0 || strspn(s, "0123456789abcdef") != n) {
        return walk_fail(w, "not lowercase hex of whole bytes");
    }
    uint8_t *data = malloc(n / 2 + 1);
    if (data == NULL) {
        return DGA_E_NOMEM;
    }
    if (n > 0 && dga_hex_decode_exact(s, data, n / 2) != DGA_E_OK) {
        free(data);
        return walk_fail(w, "not lowercase hex of whole bytes");
    }
    b->data = data;
    b->len = n / 2;
    return DGA_E_OK;
}

/* One JSON value (not null) into the slot of field fd. */
static dga_err value_put(const ProtobufCFieldDescriptor *fd, json_t *v, void *slot, int depth,
                         struct walk *w)
{
    switch (fd->type) {
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v)) {
            return walk_fail(w, "not a boolean");
        }
        *(protobuf_c_boolean *)slot = json_is_true(v);
        return DGA_E_OK;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = json_string_value(v);
        if (s == NULL || strlen(s) != json_string_length(v)) {
            return walk_fail(w, s == NULL ? "not a string" : "holds U+0000");
        }
        char *copy = strdup(s);
        if (copy == NULL) {
            return DGA_E_NOMEM;
        }
        *(char **)slot = copy;
        return DGA_E_OK;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return bytes_put(v, slot, w);
    case PROTOBUF_C_TYPE_MESSAGE:
        return message_fill(fd->descriptor, v, depth + 1, w, slot);
    default:
        return elem_size(fd->type) != 0
                   ? integer_put(fd, v, slot, w)
                   : walk_fail(w, "field type %d is not supported", (int)fd->type);
    }
}

/* A JSON array into repeated field fd of m: the array is allocated first, counted as filled. */
static dga_err repeated_put(ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd, json_t *a,
                            int depth, struct walk *w)
{
    if (!json_is_array(a)) {
        return walk_fail(w, "not an array");
    }
    size_t n = json_array_size(a), size = elem_size(fd->type);
    if (n > PBJSON_REPEATED_MAX) {
        return walk_fail(w, "more than %u elements", PBJSON_REPEATED_MAX);
    }
    if (size == 0) {
        return walk_fail(w, "field type %d is not supported", (int)fd->type);
    }
    char *arr = n > 0 ? calloc(n, size) : NULL;
    if (n > 0 && arr == NULL) {
        return DGA_E_NOMEM;
    }
    *(char **)((char *)m + fd->offset) = arr;
    size_t *count = (size_t *)((char *)m + fd->quantifier_offset);
    for (size_t i = 0; i < n; i++) {
        size_t mark = walk_push(w, NULL, i);
        json_t *v = json_array_get(a, i);
        dga_err e = json_is_null(v) ? walk_fail(w, "null in a repeated field")
                                    : value_put(fd, v, arr + i * size, depth, w);
        *count = i + 1; /* what free_unpacked frees: the zeroed slots are safe too */
        if (e != DGA_E_OK) {
            return e;
        }
        walk_pop(w, mark);
    }
    return DGA_E_OK;
}

/* Member key of o into message m, by its field; a key d lacks is drift between method and .proto.
 */
static dga_err member_put(ProtobufCMessage *m, const char *key, json_t *v, int depth,
                          struct walk *w)
{
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, key);
    size_t mark = walk_push(w, key, 0);
    dga_err e = DGA_E_OK;
    if (fd == NULL) {
        e = walk_fail(w, "no such field in %s", m->descriptor->short_name);
    } else if (json_is_null(v)) {
        e = DGA_E_OK; /* unset: the proto3 default */
    } else if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
        e = repeated_put(m, fd, v, depth, w);
    } else {
        e = value_put(fd, v, (char *)m + fd->offset, depth, w);
    }
    if (e == DGA_E_OK) {
        walk_pop(w, mark);
    }
    return e;
}

static dga_err message_fill(const ProtobufCMessageDescriptor *d, json_t *o, int depth,
                            struct walk *w, ProtobufCMessage **ret)
{
    if (!json_is_object(o)) {
        return walk_fail(w, "not an object");
    }
    if (depth > PBJSON_DEPTH_MAX) {
        return walk_fail(w, "nested deeper than %d", PBJSON_DEPTH_MAX);
    }
    _cleanup_(message_freep) ProtobufCMessage *m = malloc(d->sizeof_message);
    if (m == NULL) {
        return DGA_E_NOMEM;
    }
    protobuf_c_message_init(d, m);
    const char *key = NULL;
    json_t *v = NULL;
    json_object_foreach(o, key, v)
    {
        dga_err e = member_put(m, key, v, depth, w);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    *ret = TAKE_PTR(m);
    return DGA_E_OK;
}

dga_err pbjson_encode(const ProtobufCMessageDescriptor *d, json_t *o, uint8_t **ret,
                      size_t *ret_len, struct rpc_failure *f)
{
    struct walk w = {.f = f, .err = DGA_E_RPC_RESPONSE};
    _cleanup_(message_freep) ProtobufCMessage *m = NULL;
    dga_err e = message_fill(d, o, 0, &w, &m);
    if (e != DGA_E_OK) {
        return e;
    }
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > PBJSON_PACKED_MAX) {
        return walk_fail(&w, "%zu bytes packed, more than %u", n, PBJSON_PACKED_MAX);
    }
    uint8_t *out = malloc(n + 1);
    if (out == NULL) {
        return DGA_E_NOMEM;
    }
    if (protobuf_c_message_pack(m, out) != n) {
        free(out);
        return walk_fail(&w, "packing failed");
    }
    *ret = out;
    *ret_len = n;
    return DGA_E_OK;
}

/* ---- "key=value" arguments ---- */

/* A value as the mapping types field fd; NULL when it does not read as one (*ret_nomem apart). */
static json_t *arg_value(const ProtobufCFieldDescriptor *fd, const char *value, bool *ret_nomem)
{
    json_t *v = NULL;
    if (fd->type == PROTOBUF_C_TYPE_STRING) {
        v = json_string(value); /* NULL also for text that is not UTF-8 */
        *ret_nomem = v == NULL && rpc_utf8_valid((const uint8_t *)value, strlen(value));
        return v;
    }
    if (fd->type == PROTOBUF_C_TYPE_BOOL) {
        bool t = strcmp(value, "true") == 0;
        v = t || strcmp(value, "false") == 0 ? json_boolean(t) : NULL;
        *ret_nomem = v == NULL && (t || strcmp(value, "false") == 0);
        return v;
    }
    if (fd->type == PROTOBUF_C_TYPE_BYTES) {
        size_t n = strlen(value);
        if (n % 2 != 0 || strspn(value, "0123456789abcdefABCDEF") != n) {
            return NULL;
        }
        char *lower = strdup(value);
        for (size_t i = 0; lower != NULL && i < n; i++) {
            lower[i] = lower[i] >= 'A' && lower[i] <= 'F' ? (char)(lower[i] - 'A' + 'a') : lower[i];
        }
        v = lower != NULL ? json_string(lower) : NULL;
        free(lower);
        *ret_nomem = v == NULL;
        return v;
    }
    if (elem_size(fd->type) == 0 || fd->type == PROTOBUF_C_TYPE_MESSAGE || value[0] == '\0' ||
        strspn(value, "-0123456789") != strlen(value)) {
        return NULL;
    }
    errno = 0;
    char *end = NULL;
    long long x = strtoll(value, &end, 10);
    if (errno != 0 || *end != '\0') {
        return NULL;
    }
    v = json_integer(x);
    *ret_nomem = v == NULL;
    return v;
}

dga_err pbjson_arg(const ProtobufCMessageDescriptor *d, const char *key, const char *value,
                   bool skip_unknown, json_t *args, dga_err err, struct rpc_failure *f)
{
    struct walk w = {.f = f, .err = err};
    walk_push(&w, key, 0);
    const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field_by_name(d, key);
    if (fd == NULL) {
        return skip_unknown ? DGA_E_OK : walk_fail(&w, "no such field in %s", d->short_name);
    }
    if (json_object_get(args, key) != NULL) {
        return walk_fail(&w, "given twice");
    }
    if (fd->label == PROTOBUF_C_LABEL_REPEATED || fd->type == PROTOBUF_C_TYPE_MESSAGE) {
        return walk_fail(&w, "a repeated or message field cannot be given as key=value");
    }
    bool nomem = false;
    json_t *v = arg_value(fd, value, &nomem);
    if (v == NULL) {
        return nomem ? DGA_E_NOMEM : walk_fail(&w, "not a value of its type");
    }
    /* the value must also fit the field as the response direction checks it: ranges */
    ProtobufCMessage *probe = NULL;
    json_t *one = json_pack("{s:o}", key, v);
    if (one == NULL) {
        return DGA_E_NOMEM;
    }
    struct walk pw = {.f = f, .err = err};
    dga_err e = message_fill(d, one, 0, &pw, &probe);
    message_freep(&probe);
    if (e == DGA_E_OK && json_object_set(args, key, json_object_get(one, key)) != 0) {
        e = DGA_E_NOMEM;
    }
    json_decref(one);
    return e;
}
