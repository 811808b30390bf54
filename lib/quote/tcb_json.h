/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Readers shared by the TCB info and QE identity parsers: one typed member of
 * a jansson object each, with the exact rules of docs/quote.md (Collateral):
 * integers in a stated range, hex of an exact length, Intel's UTC times, a
 * status with its advisory ids. Each reader fails with the parser's own
 * error (ctx->err) and the static key path it is given, with diag->offset the
 * index in the innermost array of that path (0 outside arrays).
 */
#ifndef DGA_QUOTE_TCB_JSON_H
#define DGA_QUOTE_TCB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "dga/quote.h"

struct tj_ctx {
    dga_err err; /* DGA_E_TCB_INFO_MALFORMED or DGA_E_QE_IDENTITY_MALFORMED */
    struct dga_diag *diag;
    size_t index; /* the current innermost array index, reported as diag->offset */
};

/* Records the failure of the key path `field`; returns ctx->err. */
dga_err tj_fail(const struct tj_ctx *c, const char *field);

/* The document's root object (jansson, duplicates refused), or the error. */
dga_err tj_load(const struct tj_ctx *c, const char *json, size_t len, json_t **ret);

/*
 * A whole document: its root object (tj_load), handed to read with a context
 * whose errors are err. What read fills in out is the caller's to clear on failure.
 */
typedef dga_err (*tj_read_fn)(struct tj_ctx *c, const json_t *root, void *out);
dga_err tj_parse(const char *json, size_t len, dga_err err, struct dga_diag *diag, tj_read_fn read,
                 void *out);

/* The members both documents start with, in order: id, version (u8), issueDate, nextUpdate. */
dga_err tj_header(const struct tj_ctx *c, const json_t *root, char *id, size_t id_cap,
                  unsigned *version, time_t *issue_date, time_t *next_update);

/* An array member of at most max entries; absent is *ret = NULL (no error) when optional. */
dga_err tj_array(const struct tj_ctx *c, const json_t *obj, const char *key, bool optional,
                 size_t max, const char *field, json_t **ret);
/* A required member that must exist with the given jansson type. */
dga_err tj_member(const struct tj_ctx *c, const json_t *obj, const char *key, json_type type,
                  const char *field, json_t **ret);
/* An integer member in [0, max]. */
dga_err tj_uint(const struct tj_ctx *c, const json_t *obj, const char *key, uint64_t max,
                const char *field, uint64_t *ret);
/* A hex string member of exactly 2 * n digits, either case. */
dga_err tj_hex(const struct tj_ctx *c, const json_t *obj, const char *key, size_t n,
               const char *field, uint8_t *out);
/* A string member copied into out (cap bytes, NUL included; longer is an error). */
dga_err tj_string(const struct tj_ctx *c, const json_t *obj, const char *key, size_t cap,
                  const char *field, char *out);
/* A UTC time member, exactly YYYY-MM-DDTHH:MM:SSZ. */
dga_err tj_time(const struct tj_ctx *c, const json_t *obj, const char *key, const char *field,
                time_t *ret);

/* Key paths of one TCB level's status members, for the three kinds of level. */
struct tj_level_fields {
    const char *tcb_date;
    const char *tcb_status;
    const char *advisory_ids;
};
/* tcbDate (a string, not interpreted), tcbStatus and the optional advisoryIDs of a level. */
dga_err tj_level_result(const struct tj_ctx *c, const json_t *level,
                        const struct tj_level_fields *f, struct dga_tcb_result *ret);

/* Parses "YYYY-MM-DDTHH:MM:SSZ" (exactly 20 characters) as seconds since the epoch. */
dga_err tj_parse_time(const char *s, size_t len, time_t *ret);

#endif
