/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1), read
 * as DER on the bounded cursor, never at fixed offsets: a SEQUENCE OF
 * SEQUENCE { OID, value }, where the TCB entry nests the same shape
 * (docs/formats.md, PCK certificate extension). Entries are found by their
 * OID; a known one present twice or of the wrong type or size is refused;
 * unknown entries (Intel may add some) and Configuration are skipped.
 */
#define _GNU_SOURCE /* memmem */
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "core/cleanup.h"
#include "core/der.h"
#include "dga/quote.h"

#define DER_ENUMERATED 0x0a
#define SGX_EXT_OID "1.2.840.113741.1.13.1"

/* DER content of 1.2.840.113741.1.13.1; entries add one arc, TCB components two. */
static const uint8_t sgx_arc[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};
#define SGX_ARC_LEN sizeof sgx_arc

enum entry {
    ENTRY_PPID = 1,
    ENTRY_TCB = 2,
    ENTRY_PCE_ID = 3,
    ENTRY_FMSPC = 4,
    ENTRY_SGX_TYPE = 5,
    ENTRY_PLATFORM_INSTANCE_ID = 6,
    ENTRY_MAX = 7,
};

#define TCB_PCESVN 17
#define TCB_CPUSVN 18
#define TCB_MAX 18

/* diag offsets are offsets in the extension's content (the OCTET STRING's value). */
struct ext_reader {
    struct dga_diag *diag;
};

static dga_err bad(const struct ext_reader *r, const struct cursor *at, const char *field)
{
    return dga_diag_set(r->diag, DGA_E_PCK_EXTENSION, cursor_pos(at), field);
}

/*
 * The last arc of an OID that is sgx_arc plus `depth` single-byte arcs (the
 * parent arcs, if depth 2, must equal `parent`); 0 for any other OID.
 */
static unsigned oid_arc(const struct cursor *oid, unsigned depth, unsigned parent)
{
    if (oid->len != SGX_ARC_LEN + depth || memcmp(oid->p, sgx_arc, SGX_ARC_LEN) != 0) {
        return 0;
    }
    const uint8_t *arcs = oid->p + SGX_ARC_LEN;
    if (depth == 2 && arcs[0] != parent) {
        return 0;
    }
    uint8_t last = arcs[depth - 1];
    return last < 0x80 ? last : 0;
}

/* One entry: SEQUENCE { OID, value } with the value as a tagged sub-cursor. */
static dga_err read_entry(const struct ext_reader *r, struct cursor *c, struct cursor *oid,
                          uint8_t *tag, struct cursor *value)
{
    struct cursor seq;
    struct cursor at = *c;
    if (der_expect(c, DER_SEQUENCE, &seq) != DGA_E_OK ||
        der_expect(&seq, DER_OID, oid) != DGA_E_OK || der_read(&seq, tag, value) != DGA_E_OK ||
        der_end(&seq) != DGA_E_OK) {
        return bad(r, &at, "entry");
    }
    return DGA_E_OK;
}

/* A fixed-size OCTET STRING value. */
static dga_err octets(const struct ext_reader *r, uint8_t tag, const struct cursor *v, void *dst,
                      size_t n, const char *field)
{
    if (tag != DER_OCTET_STRING || v->len != n) {
        return bad(r, v, field);
    }
    memcpy(dst, v->p, n);
    return DGA_E_OK;
}

/*
 * A non-negative INTEGER (or ENUMERATED) of 1..max_octets content bytes,
 * big-endian, at most `limit`.
 */
static dga_err small_uint(const struct ext_reader *r, uint8_t want_tag, uint8_t tag,
                          const struct cursor *v, size_t max_octets, unsigned limit,
                          const char *field, unsigned *ret)
{
    if (tag != want_tag || v->len == 0 || v->len > max_octets || (v->p[0] & 0x80) != 0) {
        return bad(r, v, field);
    }
    unsigned value = 0;
    for (size_t i = 0; i < v->len; i++) {
        value = (value << 8) | v->p[i];
    }
    if (value > limit) {
        return bad(r, v, field);
    }
    *ret = value;
    return DGA_E_OK;
}

static dga_err tcb_entry(const struct ext_reader *r, unsigned arc, uint8_t tag,
                         const struct cursor *v, struct dga_pck_ext *ext)
{
    unsigned value = 0;
    dga_err e;
    if (arc == TCB_CPUSVN) {
        return octets(r, tag, v, ext->cpu_svn, sizeof ext->cpu_svn, "cpu_svn");
    }
    if (arc == TCB_PCESVN) {
        e = small_uint(r, DER_INTEGER, tag, v, 2, 0xffff, "pce_svn", &value);
        ext->pce_svn = (uint16_t)value;
        return e;
    }
    e = small_uint(r, DER_INTEGER, tag, v, 2, 0xff, "tcb_comp_svn", &value);
    ext->comp_svn[arc - 1] = (uint8_t)value;
    return e;
}

/* TCB: SEQUENCE of 18 entries, components 1..16, PCESVN, CPUSVN, each exactly once. */
static dga_err parse_tcb(const struct ext_reader *r, uint8_t tag, struct cursor *v,
                         struct dga_pck_ext *ext)
{
    bool seen[TCB_MAX + 1] = {false};
    if (tag != DER_SEQUENCE) {
        return bad(r, v, "tcb");
    }
    while (cursor_left(v) > 0) {
        struct cursor oid, value;
        uint8_t vtag;
        dga_err e = read_entry(r, v, &oid, &vtag, &value);
        if (e != DGA_E_OK) {
            return e;
        }
        unsigned arc = oid_arc(&oid, 2, ENTRY_TCB);
        if (arc == 0 || arc > TCB_MAX) {
            continue;
        }
        if (seen[arc]) {
            return bad(r, &oid, "tcb");
        }
        seen[arc] = true;
        e = tcb_entry(r, arc, vtag, &value, ext);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    for (unsigned i = 1; i <= TCB_MAX; i++) {
        if (!seen[i]) {
            return bad(r, v, i == TCB_PCESVN ? "pce_svn" : i == TCB_CPUSVN ? "cpu_svn" : "tcb");
        }
    }
    return DGA_E_OK;
}

static dga_err top_entry(const struct ext_reader *r, unsigned arc, uint8_t tag, struct cursor *v,
                         struct dga_pck_ext *ext)
{
    unsigned value = 0;
    dga_err e;
    switch (arc) {
    case ENTRY_PPID:
        return octets(r, tag, v, ext->ppid, sizeof ext->ppid, "ppid");
    case ENTRY_TCB:
        return parse_tcb(r, tag, v, ext);
    case ENTRY_PCE_ID:
        return octets(r, tag, v, ext->pce_id, sizeof ext->pce_id, "pce_id");
    case ENTRY_FMSPC:
        return octets(r, tag, v, ext->fmspc, sizeof ext->fmspc, "fmspc");
    case ENTRY_SGX_TYPE:
        e = small_uint(r, DER_ENUMERATED, tag, v, 2, 2, "sgx_type", &value);
        ext->sgx_type = value;
        return e;
    case ENTRY_PLATFORM_INSTANCE_ID:
        ext->has_platform_instance_id = true;
        return octets(r, tag, v, ext->platform_instance_id, sizeof ext->platform_instance_id,
                      "platform_instance_id");
    default:
        return DGA_E_OK; /* Configuration (.7) and anything newer: not used */
    }
}

static const char *const entry_names[ENTRY_MAX] = {
    [ENTRY_PPID] = "ppid",         [ENTRY_TCB] = "tcb",
    [ENTRY_PCE_ID] = "pce_id",     [ENTRY_FMSPC] = "fmspc",
    [ENTRY_SGX_TYPE] = "sgx_type", [ENTRY_PLATFORM_INSTANCE_ID] = "platform_instance_id",
};

static dga_err parse_content(const struct ext_reader *r, const uint8_t *p, size_t len,
                             struct dga_pck_ext *ext)
{
    struct cursor c = cursor_init(p, len);
    struct cursor seq;
    if (der_expect(&c, DER_SEQUENCE, &seq) != DGA_E_OK || der_end(&c) != DGA_E_OK) {
        return bad(r, &c, "extension");
    }
    bool seen[ENTRY_MAX] = {false};
    while (cursor_left(&seq) > 0) {
        struct cursor oid, value;
        uint8_t tag;
        dga_err e = read_entry(r, &seq, &oid, &tag, &value);
        if (e != DGA_E_OK) {
            return e;
        }
        unsigned arc = oid_arc(&oid, 1, 0);
        if (arc > 0 && arc < ENTRY_MAX && seen[arc]) {
            return bad(r, &oid, entry_names[arc]);
        }
        if (arc > 0 && arc < ENTRY_MAX) {
            seen[arc] = true;
        }
        e = top_entry(r, arc, tag, &value, ext);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    for (unsigned i = ENTRY_PPID; i < ENTRY_PLATFORM_INSTANCE_ID; i++) {
        if (!seen[i]) {
            return bad(r, &seq, entry_names[i]);
        }
    }
    return DGA_E_OK;
}

/* Which PCK CA issued the leaf, from the issuer's common name. */
static dga_err issuer_kind(X509 *leaf, bool *ret_processor, struct dga_diag *diag)
{
    X509_NAME *issuer = X509_get_issuer_name(leaf);
    int i = issuer != NULL ? X509_NAME_get_index_by_NID(issuer, NID_commonName, -1) : -1;
    const ASN1_STRING *cn =
        i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(issuer, i)) : NULL;
    if (cn == NULL) {
        return dga_diag_set(diag, DGA_E_PCK_EXTENSION, 0, "issuer");
    }
    const unsigned char *s = ASN1_STRING_get0_data(cn);
    size_t n = (size_t)ASN1_STRING_length(cn);
    bool processor = memmem(s, n, "Processor", 9) != NULL;
    if (!processor && memmem(s, n, "Platform", 8) == NULL) {
        return dga_diag_set(diag, DGA_E_PCK_EXTENSION, 0, "issuer");
    }
    *ret_processor = processor;
    return DGA_E_OK;
}

dga_err dga_pck_ext_parse(X509 *leaf, struct dga_pck_ext *ret, struct dga_diag *diag)
{
    if (leaf == NULL || ret == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "leaf");
    }
    _cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *obj = OBJ_txt2obj(SGX_EXT_OID, 1);
    if (obj == NULL) {
        return dga_diag_set(diag, DGA_E_NOMEM, 0, "extension");
    }
    int at = X509_get_ext_by_OBJ(leaf, obj, -1);
    if (at < 0 || X509_get_ext_by_OBJ(leaf, obj, at) >= 0) {
        return dga_diag_set(diag, DGA_E_PCK_EXTENSION, 0, "extension");
    }
    const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(X509_get_ext(leaf, at));
    if (data == NULL) {
        return dga_diag_set(diag, DGA_E_PCK_EXTENSION, 0, "extension");
    }
    struct dga_pck_ext ext;
    memset(&ext, 0, sizeof ext);
    struct ext_reader r = {.diag = diag};
    dga_err e =
        parse_content(&r, ASN1_STRING_get0_data(data), (size_t)ASN1_STRING_length(data), &ext);
    if (e != DGA_E_OK) {
        return e;
    }
    e = issuer_kind(leaf, &ext.processor_ca, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = ext;
    return DGA_E_OK;
}
