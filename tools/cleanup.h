/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scope-bound cleanup in the programs, the way the library does it: one line
 * per owned resource, `_cleanup_(dga_rim_freep) struct dga_rim *rim = NULL;`,
 * and the resource is released on every way out of the scope. The
 * library's own helpers (lib/core/cleanup.h) are private to it, so the
 * programs keep theirs here, for the public types they own. Every helper
 * accepts NULL and resets the variable. jansson brings json_decrefp; a
 * struct a caller owns whose *_free(&s) clears it (dga_trust) takes that
 * function directly: `_cleanup_(dga_trust_free) struct dga_trust t = {0};`.
 */
#ifndef DGA_TOOLS_CLEANUP_H
#define DGA_TOOLS_CLEANUP_H

#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dga/collect.h"
#include "dga/evidence.h"
#include "dga/measure.h"
#include "dga/rim.h"

#define _cleanup_(f) __attribute__((cleanup(f)))

/* Hands ownership out of the scope: the value, the variable left NULL. */
#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _tp = (p);                                                                   \
        (p) = NULL;                                                                                \
        _tp;                                                                                       \
    })

/* For a pointer of any type that malloc gave. */
static inline void freep(void *p)
{
    free(*(void **)p);
    *(void **)p = NULL;
}

/* fn##p for a destructor fn that accepts NULL. */
#define CLI_FREEP(type, fn)                                                                        \
    static inline void fn##p(type **p)                                                             \
    {                                                                                              \
        fn(*p);                                                                                    \
        *p = NULL;                                                                                 \
    }

CLI_FREEP(EVP_PKEY, EVP_PKEY_free)
CLI_FREEP(struct dga_rim, dga_rim_free)
CLI_FREEP(struct dga_eventlog, dga_eventlog_free)
CLI_FREEP(struct dga_event_backend, dga_event_backend_free)

/* A certificate stack and the certificates in it. */
static inline void sk_X509_pop_freep(STACK_OF(X509) **p)
{
    sk_X509_pop_free(*p, X509_free);
    *p = NULL;
}

/* A shallow stack: the stack only, not the certificates it lists. */
static inline void sk_X509_freep(STACK_OF(X509) **p)
{
    sk_X509_free(*p);
    *p = NULL;
}

/* A heap evidence set: what it holds (dga_evidence_set_free), then the set. */
static inline void evidence_set_freep(struct dga_evidence_set **p)
{
    if (*p != NULL) {
        dga_evidence_set_free(*p);
        free(*p);
        *p = NULL;
    }
}

/* A heap collection: what it holds (dga_collection_free), then the collection. */
static inline void collection_freep(struct dga_collection **p)
{
    if (*p != NULL) {
        dga_collection_free(*p);
        free(*p);
        *p = NULL;
    }
}

#endif
