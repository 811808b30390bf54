/* SPDX-License-Identifier: Apache-2.0 */
/* A parsed TDX quote as JSON: what `quote inspect` prints and `quote verify` reuses. */
#ifndef DGA_TOOLS_QUOTE_JSON_H
#define DGA_TOOLS_QUOTE_JSON_H

#include <time.h>

#include <jansson.h>

#include "dga/quote.h"

/*
 * Every field of the quote (byte arrays as lowercase hex) and, for an inner
 * type-5 chain, the number of certificates and the leaf's subject and
 * issuer. NULL when out of memory.
 */
json_t *quote_json(const struct dga_quote *q, enum dga_quote_form form);

/* "binary", "hex", "json". */
const char *quote_form_name(enum dga_quote_form form);

/* Shared by quote verify and verify (tools/quote_verify.c); each returns an exit code. */

/* --at: RFC 3339 (UTC, seconds) or @<unix seconds>; NULL: now (the only clock read). */
int quote_parse_at(const char *text, time_t *ret);
/* --trusted-root: a root certificate from a PEM (one certificate) or DER file (tests). */
int quote_load_root(const char *path, struct dga_trust *ret);

#endif
