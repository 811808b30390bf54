/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NVIDIA's one XML-DSig profile (docs/formats.md §8, docs/rim.md), on libxml2's
 * C14N 1.1 and OpenSSL, without xmlsec. Three phases, in this order:
 *   1. profile: exactly one ds:Signature in the whole document, the last
 *      element child of the root, with exactly the elements, attributes and
 *      algorithm URIs of the profile (anything else DGA_E_RIM_SIGNATURE_PROFILE,
 *      diag->field naming what is off);
 *   2. the reference digest: SHA-384 of the canonical document minus the
 *      Signature subtree equals DigestValue (DGA_E_RIM_DIGEST_MISMATCH);
 *   3. the signature: raw r||s over the canonical SignedInfo with the
 *      caller's signer key (DGA_E_RIM_SIGNATURE_INVALID).
 */
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/xmlIO.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "dga/rim.h"
#include "dga/util.h"
#include "dga/x509.h"
#include "rim/internal.h"

#define ALG_C14N11 "http://www.w3.org/2006/12/xml-c14n11"
#define ALG_ECDSA_SHA384 "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
#define ALG_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define ALG_SHA384 "http://www.w3.org/2001/04/xmldsig-more#sha384"

/* Base64 text of DigestValue / SignatureValue, whitespace removed. */
#define VALUE_TEXT_CAP 1024
/*
 * Canonical SignedInfo: about 900 bytes in every RIM. C14N expands at most
 * about 6x (escapes, empty elements) plus the in-scope namespaces rendered on
 * SignedInfo, all bounded by the 1 MiB document.
 */
#define SIGNED_INFO_CAP (8u * DGA_RIM_MAX_BYTES)

static dga_err profile_fail(const xmlNode *n, const char *field, struct dga_diag *diag)
{
    return dga_diag_set(diag, DGA_E_RIM_SIGNATURE_PROFILE, rim_line(n), field);
}

/* ------------------------------------------------------------ profile */

static bool is_blank_text(const xmlNode *n)
{
    if (n->type != XML_TEXT_NODE) {
        return false;
    }
    for (const xmlChar *s = n->content; s != NULL && *s != '\0'; s++) {
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') {
            return false;
        }
    }
    return true;
}

/* Walks the element children of one element; only whitespace text may sit between them. */
struct kids {
    const xmlNode *parent;
    const xmlNode *next;
};

static struct kids kids_of(const xmlNode *parent)
{
    struct kids k = {.parent = parent, .next = parent->children};
    return k;
}

/* The next element child (NULL at the end); false when another kind of node is met. */
static bool kids_next(struct kids *k, const xmlNode **ret)
{
    for (const xmlNode *n = k->next; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE) {
            k->next = n->next;
            *ret = n;
            return true;
        }
        if (!is_blank_text(n)) {
            return false;
        }
    }
    k->next = NULL;
    *ret = NULL;
    return true;
}

/* The next element child must be ds:<name>. */
static dga_err expect(struct kids *k, const char *name, const xmlNode **ret, struct dga_diag *diag)
{
    const xmlNode *n = NULL;
    if (!kids_next(k, &n) || !rim_is_element(n, RIM_NS_DSIG, name)) {
        return profile_fail(n != NULL ? n : k->parent, name, diag);
    }
    *ret = n;
    return DGA_E_OK;
}

/* No further element child (and nothing but whitespace). */
static dga_err expect_end(struct kids *k, const char *field, struct dga_diag *diag)
{
    const xmlNode *n = NULL;
    if (!kids_next(k, &n) || n != NULL) {
        return profile_fail(n != NULL ? n : k->parent, field, diag);
    }
    return DGA_E_OK;
}

/* Attributes: none but those listed (no namespace), in any order. */
static dga_err only_attributes(const xmlNode *n, const char *allowed, const char *field,
                               struct dga_diag *diag)
{
    for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
        if (a->ns != NULL || allowed == NULL || strcmp((const char *)a->name, allowed) != 0) {
            return profile_fail(n, field, diag);
        }
    }
    return DGA_E_OK;
}

/* An attribute without namespace equal to `want` byte for byte. */
static dga_err attribute_is(const xmlNode *n, const char *name, const char *want, const char *field,
                            struct dga_diag *diag)
{
    _cleanup_(rim_xml_freep) xmlChar *v = rim_xml_api->get_no_ns_prop(n, (const xmlChar *)name);
    if (v == NULL || strcmp((const char *)v, want) != 0) {
        return profile_fail(n, field, diag);
    }
    return DGA_E_OK;
}

/* ds:<name> Algorithm="want" with no other attribute and no content but whitespace. */
static dga_err expect_algorithm(struct kids *k, const char *name, const char *want,
                                struct dga_diag *diag)
{
    const xmlNode *n = NULL;
    dga_err e = expect(k, name, &n, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = only_attributes(n, "Algorithm", name, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = attribute_is(n, "Algorithm", want, name, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    struct kids inner = kids_of(n);
    return expect_end(&inner, name, diag);
}

/* ds:<name> holding base64 of exactly `want` bytes, into out. */
static dga_err expect_value(struct kids *k, const char *name, uint8_t *out, size_t want,
                            struct dga_diag *diag)
{
    const xmlNode *n = NULL;
    _cleanup_(buf_free) struct buf text = buf_init(VALUE_TEXT_CAP);
    _cleanup_(freep) uint8_t *bytes = NULL;
    size_t len = 0;
    dga_err e = expect(k, name, &n, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = only_attributes(n, NULL, name, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (rim_element_text_compact(n, &text) != DGA_E_OK) {
        return profile_fail(n, name, diag);
    }
    if (dga_base64_decode((const char *)text.data, text.len, &bytes, &len) != DGA_E_OK ||
        len != want) {
        return profile_fail(n, name, diag);
    }
    memcpy(out, bytes, want);
    return DGA_E_OK;
}

/* Exactly one ds:Signature element in the whole document: the one parse found. */
static dga_err check_single_signature(const struct rim_xml *x, struct dga_diag *diag)
{
    size_t count = 0;
    const xmlNode *n = rim_xml_api->doc_get_root_element(x->doc);
    while (n != NULL) {
        if (rim_is_element(n, RIM_NS_DSIG, "Signature") && (++count > 1 || n != x->signature)) {
            return profile_fail(n, "Signature", diag);
        }
        if (n->children != NULL && n->type == XML_ELEMENT_NODE) {
            n = n->children;
            continue;
        }
        while (n != NULL && n->next == NULL) {
            n = n->parent;
            if (n != NULL && n->type == XML_DOCUMENT_NODE) {
                n = NULL;
            }
        }
        n = n != NULL ? n->next : NULL;
    }
    if (count != 1) {
        return profile_fail(x->signature, "Signature", diag);
    }
    /* the last element child of the root */
    for (const xmlNode *s = x->signature->next; s != NULL; s = s->next) {
        if (s->type == XML_ELEMENT_NODE) {
            return profile_fail(s, "Signature", diag);
        }
    }
    return DGA_E_OK;
}

/* Transforms: exactly [enveloped-signature, c14n11]. */
static dga_err check_transforms(const xmlNode *transforms, struct dga_diag *diag)
{
    struct kids k = kids_of(transforms);
    dga_err e = only_attributes(transforms, NULL, "Transforms", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect_algorithm(&k, "Transform", ALG_ENVELOPED, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect_algorithm(&k, "Transform", ALG_C14N11, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return expect_end(&k, "Transform", diag);
}

/* Reference URI="" (no Id, no Type): Transforms, DigestMethod sha384, DigestValue. */
static dga_err check_reference(const xmlNode *ref, uint8_t digest[DGA_DIGEST_LEN],
                               struct dga_diag *diag)
{
    struct kids k = kids_of(ref);
    const xmlNode *transforms = NULL;
    dga_err e = only_attributes(ref, "URI", "Reference", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = attribute_is(ref, "URI", "", "Reference", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect(&k, "Transforms", &transforms, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_transforms(transforms, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect_algorithm(&k, "DigestMethod", ALG_SHA384, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect_value(&k, "DigestValue", digest, DGA_DIGEST_LEN, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return expect_end(&k, "Reference", diag);
}

/* SignedInfo: CanonicalizationMethod c14n11, SignatureMethod ecdsa-sha384, one Reference. */
static dga_err check_signed_info(const xmlNode *si, uint8_t digest[DGA_DIGEST_LEN],
                                 struct dga_diag *diag)
{
    struct kids k = kids_of(si);
    const xmlNode *ref = NULL;
    dga_err e = only_attributes(si, NULL, "SignedInfo", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect_algorithm(&k, "CanonicalizationMethod", ALG_C14N11, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect_algorithm(&k, "SignatureMethod", ALG_ECDSA_SHA384, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect(&k, "Reference", &ref, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_reference(ref, digest, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return expect_end(&k, "Reference", diag);
}

/* X509Data's children: X509Certificate elements without attributes, at least one. */
static dga_err check_certificates(const xmlNode *data, struct dga_diag *diag)
{
    struct kids certs = kids_of(data);
    const xmlNode *c = NULL;
    size_t n = 0;
    for (;;) {
        if (!kids_next(&certs, &c)) { /* a comment, PI or non-blank text */
            return profile_fail(data, "X509Data", diag);
        }
        if (c == NULL) {
            break;
        }
        if (!rim_is_element(c, RIM_NS_DSIG, "X509Certificate") || c->properties != NULL) {
            return profile_fail(c, "X509Certificate", diag);
        }
        n++;
    }
    if (n == 0) {
        return profile_fail(data, "X509Certificate", diag);
    }
    return DGA_E_OK;
}

/* KeyInfo: exactly one X509Data holding only X509Certificate elements (at least one). */
static dga_err check_key_info(const xmlNode *ki, struct dga_diag *diag)
{
    struct kids k = kids_of(ki);
    const xmlNode *data = NULL;
    dga_err e = only_attributes(ki, NULL, "KeyInfo", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect(&k, "X509Data", &data, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect_end(&k, "X509Data", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = only_attributes(data, NULL, "X509Data", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return check_certificates(data, diag);
}

struct profile {
    uint8_t digest[DGA_DIGEST_LEN];
    uint8_t signature[DGA_SIGNATURE_LEN];
};

static dga_err check_profile(const struct rim_xml *x, struct profile *p, struct dga_diag *diag)
{
    const xmlNode *si = NULL;
    const xmlNode *ki = NULL;
    struct kids k = kids_of(x->signature);
    dga_err e = check_single_signature(x, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = only_attributes(x->signature, NULL, "Signature", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect(&k, "SignedInfo", &si, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_signed_info(si, p->digest, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect_value(&k, "SignatureValue", p->signature, DGA_SIGNATURE_LEN, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect(&k, "KeyInfo", &ki, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_key_info(ki, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return expect_end(&k, "Signature", diag);
}

/* ------------------------------------------------------------ canonicalization */

struct c14n_run {
    const xmlNode *subtree; /* Signature (excluded) or SignedInfo (the only part included) */
    rim_sink_fn sink;
    void *sink_ctx;
    dga_err err;
};

static bool within(const xmlNode *n, const xmlNode *top)
{
    for (; n != NULL; n = n->parent) {
        if (n == top) {
            return true;
        }
    }
    return false;
}

/*
 * For namespace nodes libxml2 passes the xmlNs itself as `node` (whose layout
 * is not an xmlNode past `type`) and the owning element as `parent`; for
 * attributes, the attribute and its element. Test the element then.
 */
static const xmlNode *owner(const xmlNode *node, const xmlNode *parent)
{
    if (node == NULL || node->type == XML_NAMESPACE_DECL || node->type == XML_ATTRIBUTE_NODE) {
        return parent;
    }
    return node;
}

static int visible_reference(void *user, xmlNodePtr node, xmlNodePtr parent)
{
    const struct c14n_run *run = user;
    return within(owner(node, parent), run->subtree) ? 0 : 1;
}

static int visible_signed_info(void *user, xmlNodePtr node, xmlNodePtr parent)
{
    const struct c14n_run *run = user;
    const xmlNode *n = owner(node, parent);
    return n != NULL && within(n, run->subtree) ? 1 : 0;
}

static int c14n_write(void *ctx, const char *buffer, int len)
{
    struct c14n_run *run = ctx;
    if (len < 0 || run->err != DGA_E_OK) {
        return -1;
    }
    dga_err e = run->sink(run->sink_ctx, (const uint8_t *)buffer, (size_t)len);
    if (e != DGA_E_OK) {
        run->err = e;
        return -1;
    }
    return len;
}

static int c14n_close(void *ctx)
{
    (void)ctx;
    return 0;
}

static const xmlNode *signed_info_of(const struct rim_xml *x)
{
    for (const xmlNode *c = x->signature->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            return rim_is_element(c, RIM_NS_DSIG, "SignedInfo") ? c : NULL;
        }
    }
    return NULL;
}

dga_err rim_c14n(const struct rim_xml *x, enum rim_c14n_part part, rim_sink_fn sink, void *ctx)
{
    struct c14n_run run = {.subtree = NULL, .sink = sink, .sink_ctx = ctx, .err = DGA_E_OK};
    if (x == NULL || x->doc == NULL || x->signature == NULL || sink == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    run.subtree = part == RIM_C14N_REFERENCE ? x->signature : signed_info_of(x);
    if (run.subtree == NULL) {
        return DGA_E_RIM_SIGNATURE_PROFILE;
    }
    struct rim_xml_quiet q;
    rim_xml_quiet_begin(&q);
    xmlOutputBufferPtr out =
        rim_xml_api->output_buffer_create_io(c14n_write, c14n_close, &run, NULL);
    if (out == NULL) {
        rim_xml_quiet_end(&q);
        return DGA_E_NOMEM;
    }
    int rc = rim_xml_api->c14n_execute(
        x->doc, part == RIM_C14N_REFERENCE ? visible_reference : visible_signed_info, &run,
        XML_C14N_1_1, NULL, 0, out);
    int closed = rim_xml_api->output_buffer_close(out);
    rim_xml_quiet_end(&q);
    if (run.err != DGA_E_OK) {
        return run.err;
    }
    if (rc < 0 || closed < 0) {
        return DGA_E_RIM_SIGNATURE_PROFILE; /* a document C14N 1.1 refuses */
    }
    return DGA_E_OK;
}

static dga_err sink_buf(void *ctx, const uint8_t *p, size_t n)
{
    return buf_append(ctx, p, n);
}

dga_err rim_c14n_buf(const struct dga_rim *rim, enum rim_c14n_part part, struct buf *out)
{
    if (rim == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    return rim_c14n(rim->xml, part, sink_buf, out);
}

static dga_err sink_digest(void *ctx, const uint8_t *p, size_t n)
{
    return EVP_DigestUpdate(ctx, p, n) == 1 ? DGA_E_OK : DGA_E_INTERNAL;
}

/* ------------------------------------------------------------ verification */

/* SHA-384 of the canonical document minus the Signature subtree; md is initialised. */
static dga_err reference_digest(const struct rim_xml *x, EVP_MD_CTX *md,
                                uint8_t ret[DGA_DIGEST_LEN])
{
    unsigned len = 0;
    dga_err e = rim_c14n(x, RIM_C14N_REFERENCE, sink_digest, md);
    if (e != DGA_E_OK) {
        return e;
    }
    if (EVP_DigestFinal_ex(md, ret, &len) != 1 || len != DGA_DIGEST_LEN) {
        return DGA_E_INTERNAL;
    }
    return DGA_E_OK;
}

static dga_err check_digest(const struct rim_xml *x, const uint8_t want[DGA_DIGEST_LEN],
                            struct dga_diag *diag)
{
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t got[DGA_DIGEST_LEN];
    if (md == NULL || EVP_DigestInit_ex(md, dga_md_sha384(), NULL) != 1) {
        ERR_clear_error();
        return dga_diag_set(diag, DGA_E_NOMEM, 0, "DigestValue");
    }
    dga_err e = reference_digest(x, md, got);
    if (e != DGA_E_OK) {
        ERR_clear_error();
        return dga_diag_set(diag, e, rim_line(x->signature), "canonical document");
    }
    if (!dga_mem_equal(got, want, DGA_DIGEST_LEN)) {
        return dga_diag_set(diag, DGA_E_RIM_DIGEST_MISMATCH, rim_line(x->signature), "DigestValue");
    }
    return DGA_E_OK;
}

static dga_err check_signature(const struct rim_xml *x, X509 *signer,
                               const uint8_t sig[DGA_SIGNATURE_LEN], struct dga_diag *diag)
{
    _cleanup_(buf_free) struct buf si = buf_init(SIGNED_INFO_CAP);
    dga_err e = rim_c14n(x, RIM_C14N_SIGNED_INFO, sink_buf, &si);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, rim_line(x->signature), "canonical SignedInfo");
    }
    e = dga_p384_verify_raw(X509_get0_pubkey(signer), si.data, si.len, sig);
    ERR_clear_error();
    if (e == DGA_E_SIGNATURE_INVALID) {
        return dga_diag_set(diag, DGA_E_RIM_SIGNATURE_INVALID, rim_line(x->signature),
                            "SignatureValue");
    }
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "signer key");
    }
    return DGA_E_OK;
}

dga_err dga_rim_signature_verify(const struct dga_rim *rim, X509 *signer, struct dga_diag *diag)
{
    struct profile p;
    if (rim == NULL || rim->xml == NULL || rim->xml->doc == NULL || rim->xml->signature == NULL ||
        signer == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "arguments");
    }
    dga_err e = check_profile(rim->xml, &p, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_digest(rim->xml, p.digest, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return check_signature(rim->xml, signer, p.signature, diag);
}
