/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The leaf certificate's FWID (docs/formats.md §7), parsed as DER rather than
 * "the last 48 bytes": Hopper/LS10 extension 2.23.133.5.4.1 (TCG composite
 * device ID) and Blackwell 2.23.133.5.4.1.1 (DICE TcbInfo, [6] fwids).
 */
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "core/cleanup.h"
#include "core/der.h"
#include "dga/x509.h"
#include "x509/testing.h"

#define OID_TCG_FWID "2.23.133.5.4.1"
#define OID_DICE_TCB_INFO "2.23.133.5.4.1.1"
#define DICE_FWIDS_TAG DER_CONTEXT_CONS(6)

/* DER contents of OID 2.16.840.1.101.3.4.2.2 (sha384). */
static const uint8_t oid_sha384[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};

/* Reads FWID ::= SEQUENCE { OID sha384, OCTET STRING (48) } from c into out (may be NULL). */
static dga_err fwid_entry(struct cursor *c, uint8_t out[DGA_DIGEST_LEN])
{
    struct cursor seq, oid, digest;
    if (der_expect(c, DER_SEQUENCE, &seq) != DGA_E_OK ||
        der_expect(&seq, DER_OID, &oid) != DGA_E_OK ||
        der_expect(&seq, DER_OCTET_STRING, &digest) != DGA_E_OK || der_end(&seq) != DGA_E_OK) {
        return DGA_E_BAD_DER;
    }
    if (oid.len != sizeof oid_sha384 || memcmp(oid.p, oid_sha384, sizeof oid_sha384) != 0) {
        return DGA_E_BAD_DER;
    }
    if (digest.len != DGA_DIGEST_LEN) {
        return DGA_E_BAD_DER;
    }
    if (out != NULL) {
        memcpy(out, digest.p, DGA_DIGEST_LEN);
    }
    return DGA_E_OK;
}

/* The value must be exactly one SEQUENCE; *ret is its contents. */
static dga_err outer_sequence(const uint8_t *der, size_t len, const uint8_t *out,
                              struct cursor *ret)
{
    if (der == NULL || out == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct cursor c = cursor_init(der, len);
    if (der_expect(&c, DER_SEQUENCE, ret) != DGA_E_OK || der_end(&c) != DGA_E_OK) {
        return DGA_E_BAD_DER;
    }
    return DGA_E_OK;
}

/* SEQUENCE { INTEGER, SubjectPublicKeyInfo, FWID } */
dga_err dga_fwid_parse_tcg(const uint8_t *der, size_t len, uint8_t out[DGA_DIGEST_LEN])
{
    struct cursor body, version, spki;
    uint8_t fwid[DGA_DIGEST_LEN];
    dga_err e = outer_sequence(der, len, out, &body);
    if (e != DGA_E_OK) {
        return e;
    }
    if (der_expect(&body, DER_INTEGER, &version) != DGA_E_OK || version.len == 0 ||
        der_expect(&body, DER_SEQUENCE, &spki) != DGA_E_OK || fwid_entry(&body, fwid) != DGA_E_OK ||
        der_end(&body) != DGA_E_OK) {
        return DGA_E_BAD_DER;
    }
    memcpy(out, fwid, DGA_DIGEST_LEN);
    return DGA_E_OK;
}

/* [6] contents: one or more FWIDs, each well formed; the first one is the FWID. */
static dga_err dice_fwids(struct cursor *list, uint8_t out[DGA_DIGEST_LEN])
{
    if (cursor_left(list) == 0 || fwid_entry(list, out) != DGA_E_OK) {
        return DGA_E_BAD_DER;
    }
    while (cursor_left(list) > 0) {
        if (fwid_entry(list, NULL) != DGA_E_OK) {
            return DGA_E_BAD_DER;
        }
    }
    return DGA_E_OK;
}

/* SEQUENCE { [0] vendor, [1] model, ..., [6] fwids, ... }: context-specific tags only, [6] once. */
dga_err dga_fwid_parse_dice(const uint8_t *der, size_t len, uint8_t out[DGA_DIGEST_LEN])
{
    struct cursor body;
    uint8_t fwid[DGA_DIGEST_LEN];
    bool found = false;
    dga_err e = outer_sequence(der, len, out, &body);
    if (e != DGA_E_OK) {
        return e;
    }
    while (cursor_left(&body) > 0) {
        uint8_t tag;
        struct cursor value;
        if (der_read(&body, &tag, &value) != DGA_E_OK || (tag & 0xC0) != 0x80) {
            return DGA_E_BAD_DER;
        }
        if (tag == DICE_FWIDS_TAG) {
            if (found || dice_fwids(&value, fwid) != DGA_E_OK) {
                return DGA_E_BAD_DER;
            }
            found = true;
        }
    }
    if (!found) {
        return DGA_E_BAD_DER;
    }
    memcpy(out, fwid, DGA_DIGEST_LEN);
    return DGA_E_OK;
}

/* The extension's OCTET STRING contents, or *ret_data = NULL when the leaf lacks it. */
static dga_err find_extension(X509 *leaf, const char *oid, const uint8_t **ret_data,
                              size_t *ret_len)
{
    _cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    if (obj == NULL) {
        return DGA_E_INTERNAL;
    }
    int idx = X509_get_ext_by_OBJ(leaf, obj, -1);
    if (idx < 0) {
        *ret_data = NULL;
        *ret_len = 0;
        return DGA_E_OK;
    }
    if (X509_get_ext_by_OBJ(leaf, obj, idx) >= 0) {
        return DGA_E_BAD_CERT; /* the extension appears twice */
    }
    X509_EXTENSION *ext = X509_get_ext(leaf, idx);
    ASN1_OCTET_STRING *value = ext != NULL ? X509_EXTENSION_get_data(ext) : NULL;
    if (value == NULL || ASN1_STRING_length(value) < 0) {
        return DGA_E_BAD_CERT;
    }
    *ret_data = ASN1_STRING_get0_data(value);
    *ret_len = (size_t)ASN1_STRING_length(value);
    return DGA_E_OK;
}

dga_err dga_cert_fwid(X509 *leaf, enum dga_arch arch, bool *present, uint8_t out[DGA_DIGEST_LEN])
{
    const bool dice = arch == DGA_ARCH_BLACKWELL;
    const uint8_t *data;
    size_t len;
    uint8_t fwid[DGA_DIGEST_LEN];
    if (leaf == NULL || present == NULL || out == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (arch != DGA_ARCH_HOPPER && arch != DGA_ARCH_BLACKWELL && arch != DGA_ARCH_LS10) {
        return DGA_E_BAD_ARCH;
    }
    dga_err e = find_extension(leaf, dice ? OID_DICE_TCB_INFO : OID_TCG_FWID, &data, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    if (data == NULL) {
        *present = false;
        return DGA_E_OK;
    }
    e = dice ? dga_fwid_parse_dice(data, len, fwid) : dga_fwid_parse_tcg(data, len, fwid);
    if (e != DGA_E_OK) {
        return e;
    }
    memcpy(out, fwid, DGA_DIGEST_LEN);
    *present = true;
    return DGA_E_OK;
}
