/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scope-bound cleanup in the programs, the way the library does it: one line
 * per owned resource, `_cleanup_(dga_rim_freep) struct dga_rim *rim = NULL;`,
 * and the resource is released on every way out of the scope. The generic
 * helpers (_cleanup_, TAKE_PTR, freep, closep, OpenSSL and jansson types)
 * are the library's public ones (dga/cleanup.h); here are only those for
 * the library's own types that the programs own. Every helper
 * accepts NULL and resets the variable. jansson brings json_decrefp; a
 * struct a caller owns whose *_free(&s) clears it (dga_trust) takes that
 * function directly: `_cleanup_(dga_trust_clear) struct dga_trust t = {0};`.
 */
#ifndef DGA_TOOLS_CLEANUP_H
#define DGA_TOOLS_CLEANUP_H

#include <stdlib.h>

#include "dga/cleanup.h"
#include "dga/collect.h"
#include "dga/evidence.h"
#include "dga/measure.h"
#include "dga/rim.h"

/* fn##p for the library's public types a program owns. */
DEFINE_FREEP(struct dga_rim, dga_rim_free)
DEFINE_FREEP(struct dga_eventlog, dga_eventlog_free)
DEFINE_FREEP(struct dga_event_backend, dga_event_backend_free)

/* A heap evidence set: what it holds (dga_evidence_set_clear), then the set. */
static inline void evidence_set_freep(struct dga_evidence_set **p)
{
    if (*p != NULL) {
        dga_evidence_set_clear(*p);
        free(*p);
        *p = NULL;
    }
}

/* A heap collection: what it holds (dga_collection_clear), then the collection. */
static inline void collection_freep(struct dga_collection **p)
{
    if (*p != NULL) {
        dga_collection_clear(*p);
        free(*p);
        *p = NULL;
    }
}

#endif
