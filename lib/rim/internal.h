/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the RIM layer's files (parse.c, dsig.c) and its unit tests; not
 * part of the public API. The parsed libxml2 document lives here so that
 * nothing outside lib/rim needs libxml2's headers.
 */
#ifndef DGA_RIM_INTERNAL_H
#define DGA_RIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "core/buf.h"
#include "dga/error.h"
#include "dga/rim.h"
#include "rim/xml_api.h"

/* Namespaces, matched by URI (never by prefix). */
#define RIM_NS_SWID "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
#define RIM_NS_TCG                                                                                 \
    "https://trustedcomputinggroup.org/resource/"                                                  \
    "tcg-reference-integrity-manifest-rim-information-model/"
#define RIM_NS_SHA384 "http://www.w3.org/2001/04/xmlenc#sha384"
#define RIM_NS_DSIG "http://www.w3.org/2000/09/xmldsig#"

/* The parsed document, kept by dga_rim_parse for dga_rim_signature_verify. */
struct rim_xml {
    xmlDocPtr doc;
    xmlNodePtr signature; /* the one ds:Signature element child of the root */
};

/*
 * libxml2 reports errors through thread-local handlers that print to stderr
 * by default. Every libxml2 call of this layer runs between quiet_begin and
 * quiet_end, which install no-op handlers and then restore the caller's.
 */
struct rim_xml_quiet {
    xmlStructuredErrorFunc serror;
    void *serror_ctx;
    xmlGenericErrorFunc gerror;
    void *gerror_ctx;
};
void rim_xml_quiet_begin(struct rim_xml_quiet *q);
void rim_xml_quiet_end(const struct rim_xml_quiet *q);

static inline void rim_xml_freep(xmlChar **p)
{
    if (*p != NULL) {
        rim_xml_api->free(*p);
        *p = NULL;
    }
}

/* n is an element named `name` in namespace `ns`. */
bool rim_is_element(const xmlNode *n, const char *ns, const char *name);

/* xmlGetLineNo as a diag offset (0 when unknown). */
size_t rim_line(const xmlNode *n);

/*
 * The character data of element n with every ASCII whitespace character
 * removed, NUL-terminated, into out (whose cap bounds it: DGA_E_TOO_LARGE).
 * n may hold only text and CDATA children: anything else DGA_E_RIM_STRUCTURE.
 */
dga_err rim_element_text_compact(const xmlNode *n, struct buf *out);

/* Which node-set to canonicalize: the reference's or SignedInfo (docs/formats.md §8). */
enum rim_c14n_part {
    RIM_C14N_REFERENCE,   /* the whole document minus the Signature subtree */
    RIM_C14N_SIGNED_INFO, /* SignedInfo with its descendants, attributes and namespaces */
};

/* Receives canonical bytes in order; an error stops the canonicalization. */
typedef dga_err (*rim_sink_fn)(void *ctx, const uint8_t *p, size_t n);

/*
 * C14N 1.1 without comments of one node-set, streamed to sink. SignedInfo is
 * the first element child of the Signature. DGA_E_RIM_SIGNATURE_PROFILE when
 * there is no SignedInfo or libxml2 refuses the document (e.g. relative
 * namespace URIs); the sink's own error otherwise.
 */
dga_err rim_c14n(const struct rim_xml *x, enum rim_c14n_part part, rim_sink_fn sink, void *ctx);

/* The same into a buffer (its cap applies): for the unit tests' vectors. */
dga_err rim_c14n_buf(const struct dga_rim *rim, enum rim_c14n_part part, struct buf *out);

#endif
