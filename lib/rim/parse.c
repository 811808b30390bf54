/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RIM document parsing (docs/formats.md §8, docs/rim.md). Phases, each its own
 * function: bound the attributes per tag and the namespace declarations on
 * the bytes; read the XML safely as UTF-8 (no network, no DTD: the parser is
 * stopped at a DOCTYPE, nothing printed); reject DTD, entity and XInclude
 * nodes anywhere and bound depth, elements and namespaces;
 * find the root and its one Meta, Payload and Signature; read data only at
 * fixed paths below the root (never through descendant searches, so nothing
 * placed inside the unsigned Signature subtree is ever read as data);
 * decode the KeyInfo certificates. Nothing cryptographic is verified here.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/encoding.h>
#include <libxml/parser.h>
#include <libxml/xinclude.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "dga/rim.h"
#include "dga/util.h"
#include "rim/internal.h"

/*
 * Never XML_PARSE_NOENT, XML_PARSE_DTDLOAD or XML_PARSE_NOBLANKS (docs/rim.md).
 * The document is read as UTF-8 whatever it declares (XML_PARSE_IGNORE_ENC
 * and the encoding argument): every RIM is UTF-8, and the byte-level bounds
 * of check_shape_bytes() hold only for an ASCII-compatible encoding.
 */
#define RIM_XML_OPTIONS                                                                            \
    (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC)

/*
 * Shape limits. Every sample RIM has at most 22 attributes on an element, 6
 * namespace declarations, 6 levels of elements and about 90 elements; the
 * limits are far above that and keep libxml2's parser and C14N, which are
 * quadratic in attributes per tag and in in-scope namespaces per element,
 * within milliseconds on a 1 MiB document.
 */
#define RIM_MAX_ATTRIBUTES 64
#define RIM_MAX_NS_DECLS 64
#define RIM_MAX_DEPTH 16
#define RIM_MAX_ELEMENTS 4096

#define XINCLUDE_NS_2001 "http://www.w3.org/2001/XInclude"
#define XINCLUDE_NS_2003 "http://www.w3.org/2003/XInclude"

/* Base64 text of one certificate, whitespace removed (a certificate is about 1 KB). */
#define RIM_CERT_TEXT_CAP (64u * 1024)

static const char *const hash_names[DGA_RIM_MAX_ALTERNATIVES] = {
    "Hash0", "Hash1", "Hash2",  "Hash3",  "Hash4",  "Hash5",  "Hash6",  "Hash7",
    "Hash8", "Hash9", "Hash10", "Hash11", "Hash12", "Hash13", "Hash14", "Hash15",
};

/* ------------------------------------------------------------ shared helpers */

#if LIBXML_VERSION >= 21200
static void quiet_serror(void *ctx, const xmlError *err)
#else
static void quiet_serror(void *ctx, xmlErrorPtr err)
#endif
{
    (void)ctx;
    (void)err;
}

static void quiet_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

void rim_xml_quiet_begin(struct rim_xml_quiet *q)
{
    /* xmlInitParser ran with the load; never xmlCleanupParser in the library */
    q->serror = *rim_xml_api->structured_error_slot();
    q->serror_ctx = *rim_xml_api->structured_error_context_slot();
    q->gerror = *rim_xml_api->generic_error_slot();
    q->gerror_ctx = *rim_xml_api->generic_error_context_slot();
    rim_xml_api->set_structured_error_func(NULL, quiet_serror);
    rim_xml_api->set_generic_error_func(NULL, quiet_generic);
}

void rim_xml_quiet_end(const struct rim_xml_quiet *q)
{
    rim_xml_api->set_structured_error_func(q->serror_ctx, q->serror);
    rim_xml_api->set_generic_error_func(q->gerror_ctx, q->gerror);
}

bool rim_is_element(const xmlNode *n, const char *ns, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
           strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

size_t rim_line(const xmlNode *n)
{
    long line = n != NULL ? rim_xml_api->get_line_no(n) : -1;
    return line > 0 ? (size_t)line : 0;
}

static bool is_xml_space(xmlChar c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

dga_err rim_element_text_compact(const xmlNode *n, struct buf *out)
{
    for (const xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) {
            return DGA_E_RIM_STRUCTURE;
        }
        const xmlChar *s = c->content != NULL ? c->content : (const xmlChar *)"";
        while (*s != '\0') {
            size_t run = 0;
            while (s[run] != '\0' && !is_xml_space(s[run])) {
                run++;
            }
            if (run > 0) {
                dga_err e = buf_append(out, s, run);
                if (e != DGA_E_OK) {
                    return e;
                }
            }
            s += run;
            while (is_xml_space(*s)) {
                s++;
            }
        }
    }
    return buf_terminate(out);
}

/* ------------------------------------------------------------ reading the XML */

static size_t count_lines(const uint8_t *p, size_t n)
{
    size_t lines = 1;
    for (size_t i = 0; i < n; i++) {
        lines += p[i] == '\n' ? 1 : 0;
    }
    return lines;
}

/*
 * Bounds checked on the bytes, before libxml2 sees them (it would spend
 * quadratic time first). In UTF-8 a start tag begins at a '<' byte, and its
 * attributes, each with its '=', all lie before the next '<' byte: a raw '<'
 * cannot sit in an attribute value, and libxml2 ends the tag there. So at
 * most RIM_MAX_ATTRIBUTES '=' bytes after each '<' that does not open "<!" or
 * "<?" bounds the attributes of every tag. Every namespace declaration's name
 * is spelled "xmlns" in the bytes (there are no entities), so counting
 * "xmlns" bounds them. Text full of '=' or "xmlns" can trip these: no RIM has it.
 */
static dga_err check_shape_bytes(const uint8_t *p, size_t len, struct dga_diag *diag)
{
    static const char xmlns[] = "xmlns";
    unsigned eq = 0, ns = 0;
    bool in_tag = false;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '<') {
            in_tag = i + 1 >= len || (p[i + 1] != '!' && p[i + 1] != '?');
            eq = 0;
        } else if (p[i] == '=' && in_tag && ++eq > RIM_MAX_ATTRIBUTES) {
            return dga_diag_set(diag, DGA_E_TOO_LARGE, count_lines(p, i), "attributes");
        } else if (p[i] == 'x' && len - i >= sizeof xmlns - 1 &&
                   memcmp(p + i, xmlns, sizeof xmlns - 1) == 0 && ++ns > RIM_MAX_NS_DECLS) {
            return dga_diag_set(diag, DGA_E_TOO_LARGE, count_lines(p, i), "namespace declarations");
        }
    }
    return DGA_E_OK;
}

struct read_state {
    bool doctype;
    bool entity; /* a reference to an undeclared entity (there can be no declared one) */
};

#if LIBXML_VERSION >= 21200
static void on_error(void *ctx, const xmlError *err)
#else
static void on_error(void *ctx, xmlErrorPtr err)
#endif
{
    xmlParserCtxtPtr ctxt = ctx;
    if (err != NULL &&
        (err->code == XML_ERR_UNDECLARED_ENTITY || err->code == XML_WAR_UNDECLARED_ENTITY ||
         err->code == XML_ERR_ENTITY_LOOP)) {
        ((struct read_state *)ctxt->_private)->entity = true;
    }
}

/* SAX hook for <!DOCTYPE: stop before any declaration is read. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                       const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    (void)name;
    (void)external_id;
    (void)system_id;
    ((struct read_state *)ctxt->_private)->doctype = true;
    rim_xml_api->stop_parser(ctxt);
}

/*
 * Even when told UTF-8, libxml2 switches to UTF-16/32 or EBCDIC on a
 * byte-order mark or an EBCDIC "<?xm" in the first 4 bytes: refuse those.
 */
static bool is_utf8_start(const uint8_t *xml, size_t len)
{
    if (len < 4) {
        return true; /* libxml2 detects nothing in fewer than 4 bytes */
    }
    xmlCharEncoding enc = rim_xml_api->detect_char_encoding(xml, 4);
    return enc == XML_CHAR_ENCODING_NONE || enc == XML_CHAR_ENCODING_UTF8;
}

static dga_err xml_read(const uint8_t *xml, size_t len, xmlDocPtr *ret, struct dga_diag *diag)
{
    struct read_state st = {.doctype = false, .entity = false};
    struct rim_xml_quiet q;
    if (!is_utf8_start(xml, len)) {
        return dga_diag_set(diag, DGA_E_RIM_XML, 0, "encoding");
    }
    rim_xml_quiet_begin(&q);
    xmlParserCtxtPtr ctxt = rim_xml_api->new_parser_ctxt();
    if (ctxt == NULL || ctxt->sax == NULL) {
        rim_xml_api->free_parser_ctxt(ctxt);
        rim_xml_quiet_end(&q);
        return dga_diag_set(diag, DGA_E_NOMEM, 0, "document");
    }
    ctxt->_private = &st;
    ctxt->sax->internalSubset = on_doctype;
    ctxt->sax->serror = on_error; /* called with ctxt->userData, which is ctxt */
    xmlDocPtr doc = rim_xml_api->ctxt_read_memory(ctxt, (const char *)xml, (int)len, NULL, NULL,
                                                  RIM_XML_OPTIONS);
    bool ns_ok = ctxt->nsWellFormed != 0;
    int err_line = ctxt->lastError.line;
    rim_xml_api->free_parser_ctxt(ctxt);
    rim_xml_quiet_end(&q);
    if (st.doctype || st.entity) {
        rim_xml_api->free_doc(doc);
        return dga_diag_set(diag, DGA_E_RIM_DTD, err_line > 0 ? (size_t)err_line : 0,
                            st.doctype ? "DOCTYPE" : "entity reference");
    }
    if (doc == NULL || !ns_ok) {
        rim_xml_api->free_doc(doc);
        return dga_diag_set(diag, DGA_E_RIM_XML, err_line > 0 ? (size_t)err_line : 0,
                            ns_ok ? "document" : "namespaces");
    }
    *ret = doc;
    return DGA_E_OK;
}

static bool is_xinclude(const xmlNode *n)
{
    return n->ns != NULL && n->ns->href != NULL &&
           (strcmp((const char *)n->ns->href, XINCLUDE_NS_2001) == 0 ||
            strcmp((const char *)n->ns->href, XINCLUDE_NS_2003) == 0);
}

static bool is_dtd_kind(xmlElementType t)
{
    switch (t) {
    case XML_ENTITY_REF_NODE:
    case XML_ENTITY_NODE:
    case XML_ENTITY_DECL:
    case XML_DTD_NODE:
    case XML_DOCUMENT_TYPE_NODE:
    case XML_NOTATION_NODE:
    case XML_ELEMENT_DECL:
    case XML_ATTRIBUTE_DECL:
    case XML_XINCLUDE_START:
    case XML_XINCLUDE_END:
        return true;
    default:
        return false;
    }
}

/* Attribute values are node lists too: entity references could hide there. */
static bool attributes_have_entities(const xmlNode *n)
{
    for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
        for (const xmlNode *c = a->children; c != NULL; c = c->next) {
            if (c->type != XML_TEXT_NODE) {
                return true;
            }
        }
    }
    return false;
}

/* Next node in document order (preorder) with its depth, never leaving the document. */
static const xmlNode *preorder_next(const xmlNode *n, unsigned *depth)
{
    if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
        (*depth)++;
        return n->children;
    }
    while (n != NULL && n->next == NULL) {
        n = n->parent;
        if (n == NULL || n->type == XML_DOCUMENT_NODE) {
            return NULL;
        }
        (*depth)--;
    }
    return n != NULL ? n->next : NULL;
}

static unsigned count_ns_decls(const xmlNode *n)
{
    unsigned count = 0;
    for (const xmlNs *ns = n->nsDef; ns != NULL; ns = ns->next) {
        count++;
    }
    return count;
}

/*
 * No DTD, entity, notation or XInclude node anywhere (docs/rim.md), and the
 * tree within the shape limits.
 */
static dga_err check_nodes(xmlDocPtr doc, struct dga_diag *diag)
{
    unsigned depth = 1, elements = 0, ns = 0;
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        return dga_diag_set(diag, DGA_E_RIM_DTD, 0, "DOCTYPE");
    }
    for (const xmlNode *n = doc->children; n != NULL; n = preorder_next(n, &depth)) {
        if (is_dtd_kind(n->type)) {
            return dga_diag_set(diag, DGA_E_RIM_DTD, rim_line(n), "entity or DTD node");
        }
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (is_xinclude(n) || attributes_have_entities(n)) {
            return dga_diag_set(diag, DGA_E_RIM_DTD, rim_line(n),
                                is_xinclude(n) ? "XInclude" : "entity reference");
        }
        ns += count_ns_decls(n);
        if (++elements > RIM_MAX_ELEMENTS || depth > RIM_MAX_DEPTH || ns > RIM_MAX_NS_DECLS) {
            return dga_diag_set(diag, DGA_E_TOO_LARGE, rim_line(n),
                                elements > RIM_MAX_ELEMENTS ? "elements"
                                : depth > RIM_MAX_DEPTH     ? "element depth"
                                                            : "namespace declarations");
        }
    }
    return DGA_E_OK;
}

/* ------------------------------------------------------------ structure */

struct parts {
    xmlNodePtr root, meta, payload, signature;
};

static dga_err take_one(xmlNodePtr c, xmlNodePtr *slot, const char *field, struct dga_diag *diag)
{
    if (*slot != NULL) {
        return dga_diag_set(diag, DGA_E_RIM_STRUCTURE, rim_line(c), field);
    }
    *slot = c;
    return DGA_E_OK;
}

/* {SWID}SoftwareIdentity holding exactly one Meta, one Payload and one ds:Signature. */
static dga_err find_parts(xmlDocPtr doc, struct parts *p, struct dga_diag *diag)
{
    p->root = rim_xml_api->doc_get_root_element(doc);
    if (!rim_is_element(p->root, RIM_NS_SWID, "SoftwareIdentity")) {
        return dga_diag_set(diag, DGA_E_RIM_STRUCTURE, rim_line(p->root), "SoftwareIdentity");
    }
    for (xmlNodePtr c = p->root->children; c != NULL; c = c->next) {
        dga_err e = DGA_E_OK;
        if (rim_is_element(c, RIM_NS_SWID, "Meta")) {
            e = take_one(c, &p->meta, "Meta", diag);
        } else if (rim_is_element(c, RIM_NS_SWID, "Payload")) {
            e = take_one(c, &p->payload, "Payload", diag);
        } else if (rim_is_element(c, RIM_NS_DSIG, "Signature")) {
            e = take_one(c, &p->signature, "Signature", diag);
        }
        if (e != DGA_E_OK) {
            return e;
        }
    }
    if (p->meta == NULL || p->payload == NULL || p->signature == NULL) {
        return dga_diag_set(diag, DGA_E_RIM_STRUCTURE, rim_line(p->root),
                            p->meta == NULL      ? "Meta"
                            : p->payload == NULL ? "Payload"
                                                 : "Signature");
    }
    return DGA_E_OK;
}

/* ------------------------------------------------------------ attributes */

static dga_err attr_fail(const xmlNode *n, const char *field, struct dga_diag *diag)
{
    return dga_diag_set(diag, DGA_E_RIM_ATTRIBUTE, rim_line(n), field);
}

/*
 * The value of attribute `name` in namespace `ns` (NULL: no namespace);
 * *ret is NULL when it is absent. The caller xmlFree's it.
 */
static dga_err attr_get(xmlNodePtr n, const char *name, const char *ns, xmlChar **ret)
{
    const xmlChar *uri = (const xmlChar *)ns;
    *ret = ns != NULL ? rim_xml_api->get_ns_prop(n, (const xmlChar *)name, uri)
                      : rim_xml_api->get_no_ns_prop(n, (const xmlChar *)name);
    if (*ret == NULL && rim_xml_api->has_ns_prop(n, (const xmlChar *)name, uri) != NULL) {
        return DGA_E_NOMEM;
    }
    return DGA_E_OK;
}

/*
 * A bounded copy, never truncated: too long is DGA_E_RIM_ATTRIBUTE. A required
 * attribute must be present and non-empty.
 */
static dga_err attr_copy(xmlNodePtr n, const char *name, const char *ns, bool required, char *out,
                         size_t cap, struct dga_diag *diag)
{
    _cleanup_(rim_xml_freep) xmlChar *v = NULL;
    dga_err e = attr_get(n, name, ns, &v);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, rim_line(n), name);
    }
    out[0] = '\0';
    if (v == NULL) {
        return required ? attr_fail(n, name, diag) : DGA_E_OK;
    }
    size_t len = strlen((const char *)v);
    if (len >= cap || (required && len == 0)) {
        return attr_fail(n, name, diag);
    }
    memcpy(out, v, len + 1);
    return DGA_E_OK;
}

static dga_err read_meta(const struct parts *p, struct dga_rim *rim, struct dga_diag *diag)
{
    dga_err e = attr_copy(p->meta, "colloquialVersion", NULL, true, rim->colloquial_version,
                          sizeof rim->colloquial_version, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = attr_copy(p->meta, "FirmwareManufacturerId", RIM_NS_TCG, true, rim->manufacturer_id,
                  sizeof rim->manufacturer_id, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = attr_copy(p->meta, "product", NULL, false, rim->product, sizeof rim->product, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = attr_copy(p->meta, "edition", NULL, false, rim->edition, sizeof rim->edition, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return attr_copy(p->root, "tagId", NULL, false, rim->tag_id, sizeof rim->tag_id, diag);
}

/* ASCII decimal digits only (no sign, space or prefix), value <= max. */
static bool parse_decimal(const xmlChar *s, uint64_t max, unsigned *ret)
{
    uint64_t v = 0;
    if (s == NULL || *s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max) {
            return false;
        }
    }
    *ret = (unsigned)v;
    return true;
}

static dga_err attr_decimal(xmlNodePtr n, const char *name, unsigned min, unsigned max,
                            unsigned *ret, struct dga_diag *diag)
{
    _cleanup_(rim_xml_freep) xmlChar *v = NULL;
    dga_err e = attr_get(n, name, NULL, &v);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, rim_line(n), name);
    }
    if (!parse_decimal(v, max, ret) || *ret < min) {
        return attr_fail(n, name, diag);
    }
    return DGA_E_OK;
}

/* Exactly 96 hex characters (either case), nothing around them. */
static bool parse_digest_hex(const xmlChar *s, uint8_t out[DGA_DIGEST_LEN])
{
    return s != NULL && dga_hex_decode_exact((const char *)s, out, DGA_DIGEST_LEN) == DGA_E_OK;
}

static dga_err read_active(xmlNodePtr n, bool *ret, struct dga_diag *diag)
{
    _cleanup_(rim_xml_freep) xmlChar *v = NULL;
    dga_err e = attr_get(n, "active", NULL, &v);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, rim_line(n), "active");
    }
    if (v != NULL && strcmp((const char *)v, "True") == 0) {
        *ret = true;
    } else if (v != NULL && strcmp((const char *)v, "False") == 0) {
        *ret = false;
    } else {
        return attr_fail(n, "active", diag);
    }
    return DGA_E_OK;
}

static dga_err read_hashes(xmlNodePtr n, struct dga_rim_measurement *m, struct dga_diag *diag)
{
    for (unsigned k = 0; k < m->alternatives; k++) {
        _cleanup_(rim_xml_freep) xmlChar *v = NULL;
        dga_err e = attr_get(n, hash_names[k], RIM_NS_SHA384, &v);
        if (e != DGA_E_OK) {
            return dga_diag_set(diag, e, rim_line(n), hash_names[k]);
        }
        if (!parse_digest_hex(v, m->hash[k])) {
            return attr_fail(n, hash_names[k], diag);
        }
    }
    return DGA_E_OK;
}

static dga_err read_measurement(xmlNodePtr n, struct dga_rim_measurement *m, struct dga_diag *diag)
{
    dga_err e = attr_decimal(n, "index", 0, DGA_RIM_MAX_MEASUREMENTS - 1, &m->index, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_active(n, &m->active, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = attr_decimal(n, "alternatives", 1, DGA_RIM_MAX_ALTERNATIVES, &m->alternatives, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = attr_copy(n, "name", NULL, true, m->name, sizeof m->name, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = attr_decimal(n, "size", 0, UINT_MAX, &m->size, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return read_hashes(n, m, diag);
}

/* A Payload child Resource with type="Measurement"; other Resources are not ours. */
static dga_err is_measurement(xmlNodePtr c, bool *ret)
{
    _cleanup_(rim_xml_freep) xmlChar *type = NULL;
    *ret = false;
    if (!rim_is_element(c, RIM_NS_SWID, "Resource")) {
        return DGA_E_OK;
    }
    dga_err e = attr_get(c, "type", NULL, &type);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = type != NULL && strcmp((const char *)type, "Measurement") == 0;
    return DGA_E_OK;
}

static dga_err count_measurements(xmlNodePtr payload, size_t *ret, struct dga_diag *diag)
{
    size_t n = 0;
    for (xmlNodePtr c = payload->children; c != NULL; c = c->next) {
        bool yes = false;
        dga_err e = is_measurement(c, &yes);
        if (e != DGA_E_OK) {
            return dga_diag_set(diag, e, rim_line(c), "Resource");
        }
        if (yes && ++n > DGA_RIM_MAX_MEASUREMENTS) {
            return dga_diag_set(diag, DGA_E_TOO_LARGE, rim_line(c), "Resource");
        }
    }
    *ret = n;
    return DGA_E_OK;
}

/* /SoftwareIdentity/Payload/Resource[@type="Measurement"], document order. */
static dga_err read_payload(const struct parts *p, struct dga_rim *rim, struct dga_diag *diag)
{
    size_t count = 0;
    uint8_t active_seen[DGA_RIM_MAX_MEASUREMENTS / 8] = {0};
    dga_err e = count_measurements(p->payload, &count, diag);
    if (e != DGA_E_OK || count == 0) {
        return e;
    }
    rim->measurements = calloc(count, sizeof *rim->measurements);
    if (rim->measurements == NULL) {
        return dga_diag_set(diag, DGA_E_NOMEM, 0, "Resource");
    }
    for (xmlNodePtr c = p->payload->children; c != NULL; c = c->next) {
        bool yes = false;
        e = is_measurement(c, &yes);
        if (e != DGA_E_OK) {
            return dga_diag_set(diag, e, rim_line(c), "Resource");
        }
        if (!yes) {
            continue;
        }
        struct dga_rim_measurement *m = &rim->measurements[rim->n_measurements];
        e = read_measurement(c, m, diag);
        if (e != DGA_E_OK) {
            return e;
        }
        if (m->active && (active_seen[m->index / 8] & (1u << (m->index % 8))) != 0) {
            return dga_diag_set(diag, DGA_E_RIM_DUPLICATE_INDEX, rim_line(c), "index");
        }
        if (m->active) {
            active_seen[m->index / 8] |= (uint8_t)(1u << (m->index % 8));
        }
        rim->n_measurements++;
    }
    return DGA_E_OK;
}

/* ------------------------------------------------------------ certificates */

/* A certificate that cannot be read: out of memory or too long as such, else BAD_CERT. */
static dga_err cert_fail(xmlNodePtr n, dga_err e, struct dga_diag *diag)
{
    if (e != DGA_E_TOO_LARGE && e != DGA_E_NOMEM) {
        e = DGA_E_BAD_CERT;
    }
    return dga_diag_set(diag, e, rim_line(n), "X509Certificate");
}

/* Whitespace-free base64 DER that d2i_X509 consumes exactly (or the pool's copy of it). */
static dga_err decode_cert(xmlNodePtr n, struct dga_cert_pool *pool, X509 **ret,
                           struct dga_diag *diag)
{
    _cleanup_(buf_free) struct buf text = buf_init(RIM_CERT_TEXT_CAP);
    _cleanup_(freep) uint8_t *der = NULL;
    size_t der_len = 0;
    dga_err e = rim_element_text_compact(n, &text);
    if (e != DGA_E_OK) {
        return cert_fail(n, e, diag);
    }
    e = dga_base64_decode((const char *)text.data, text.len, &der, &der_len);
    if (e != DGA_E_OK) {
        return cert_fail(n, e, diag);
    }
    if (der_len == 0 || der_len > LONG_MAX) {
        return cert_fail(n, DGA_E_BAD_CERT, diag);
    }
    if (dga_cert_pool_decode(pool, der, der_len, ret) != DGA_E_OK) {
        return cert_fail(n, DGA_E_BAD_CERT, diag);
    }
    return DGA_E_OK;
}

static dga_err push_cert(xmlNodePtr n, struct dga_cert_pool *pool, STACK_OF(X509) *certs,
                         struct dga_diag *diag)
{
    if (sk_X509_num(certs) >= DGA_RIM_MAX_CERTS) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, rim_line(n), "X509Certificate");
    }
    X509 *x = NULL;
    dga_err e = decode_cert(n, pool, &x, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (sk_X509_push(certs, x) <= 0) {
        X509_free(x);
        return dga_diag_set(diag, DGA_E_NOMEM, rim_line(n), "X509Certificate");
    }
    return DGA_E_OK;
}

/* Only /SoftwareIdentity/Signature/KeyInfo/X509Data/X509Certificate, document order. */
static dga_err read_certs(const struct parts *p, struct dga_cert_pool *pool, struct dga_rim *rim,
                          struct dga_diag *diag)
{
    rim->certs = sk_X509_new_null();
    if (rim->certs == NULL) {
        return dga_diag_set(diag, DGA_E_NOMEM, 0, "X509Certificate");
    }
    for (xmlNodePtr k = p->signature->children; k != NULL; k = k->next) {
        if (!rim_is_element(k, RIM_NS_DSIG, "KeyInfo")) {
            continue;
        }
        for (xmlNodePtr d = k->children; d != NULL; d = d->next) {
            if (!rim_is_element(d, RIM_NS_DSIG, "X509Data")) {
                continue;
            }
            for (xmlNodePtr c = d->children; c != NULL; c = c->next) {
                if (!rim_is_element(c, RIM_NS_DSIG, "X509Certificate")) {
                    continue;
                }
                dga_err e = push_cert(c, pool, rim->certs, diag);
                if (e != DGA_E_OK) {
                    return e;
                }
            }
        }
    }
    if (sk_X509_num(rim->certs) == 0) {
        return dga_diag_set(diag, DGA_E_RIM_STRUCTURE, rim_line(p->signature), "X509Certificate");
    }
    return DGA_E_OK;
}

/* ------------------------------------------------------------ public API */

static dga_err rim_new(const uint8_t *xml, size_t len, struct dga_rim **ret)
{
    static const uint8_t empty[1] = {0};
    struct dga_rim *rim = calloc(1, sizeof *rim);
    if (rim == NULL) {
        return DGA_E_NOMEM;
    }
    rim->xml = calloc(1, sizeof *rim->xml);
    if (rim->xml == NULL ||
        EVP_Digest(len > 0 ? xml : empty, len, rim->sha256, NULL, EVP_sha256(), NULL) != 1) {
        dga_rim_free(rim);
        ERR_clear_error();
        return DGA_E_NOMEM;
    }
    *ret = rim;
    return DGA_E_OK;
}

/* The phases after the byte checks, into a new rim (that the caller frees on failure). */
static dga_err read_document(const uint8_t *xml, size_t len, struct dga_cert_pool *pool,
                             struct dga_rim *rim, struct dga_diag *diag)
{
    struct parts p = {NULL, NULL, NULL, NULL};
    dga_err e = xml_read(xml, len, &rim->xml->doc, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_nodes(rim->xml->doc, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = find_parts(rim->xml->doc, &p, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    rim->xml->signature = p.signature;
    e = read_meta(&p, rim, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_payload(&p, rim, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return read_certs(&p, pool, rim, diag);
}

dga_err dga_rim_parse(const uint8_t *xml, size_t len, struct dga_rim **ret, struct dga_diag *diag)
{
    return dga_rim_parse_pooled(xml, len, NULL, ret, diag);
}

dga_err dga_rim_parse_pooled(const uint8_t *xml, size_t len, struct dga_cert_pool *pool,
                             struct dga_rim **ret, struct dga_diag *diag)
{
    _cleanup_(dga_rim_freep) struct dga_rim *rim = NULL;
    if (ret == NULL || (xml == NULL && len > 0)) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "arguments");
    }
    if (len > DGA_RIM_MAX_BYTES) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, DGA_RIM_MAX_BYTES, "document");
    }
    if (len == 0) {
        return dga_diag_set(diag, DGA_E_RIM_XML, 0, "document");
    }
    dga_err e = check_shape_bytes(xml, len, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = xml_api_load(NULL, diag); /* libxml2 on the first document, not at process start */
    if (e != DGA_E_OK) {
        return e;
    }
    e = rim_new(xml, len, &rim);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "document");
    }
    e = read_document(xml, len, pool, rim, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = TAKE_PTR(rim);
    return DGA_E_OK;
}

void dga_rim_free(struct dga_rim *rim)
{
    if (rim == NULL) {
        return;
    }
    if (rim->xml != NULL) {
        rim_xml_api->free_doc(rim->xml->doc);
        free(rim->xml);
    }
    free(rim->measurements);
    sk_X509_pop_free(rim->certs, X509_free);
    free(rim);
}

const struct dga_rim_measurement *dga_rim_active(const struct dga_rim *rim, unsigned index)
{
    if (rim == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < rim->n_measurements; i++) {
        if (rim->measurements[i].active && rim->measurements[i].index == index) {
            return &rim->measurements[i];
        }
    }
    return NULL;
}
