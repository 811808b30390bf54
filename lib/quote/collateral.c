/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dcap-qvl's QuoteCollateralV3 JSON: nine required members and an optional
 * PCK chain. Strings are kept byte for byte (tcb_info and qe_identity are
 * the signed text, never re-serialized); the byte members are hex strings
 * or arrays of byte values. Rules in docs/quote.md (Collateral). A parsed
 * collateral is then prepared for verification (prepare.c).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/codec.h"
#include "dga/quote.h"
#include "quote/testing.h"

static dga_err fail(struct dga_diag *diag, const char *member)
{
    return dga_diag_set(diag, DGA_E_QUOTE_COLLATERAL, 0, member);
}

/* A string member as an owned NUL-terminated copy; an embedded NUL is refused. */
static dga_err take_string(const json_t *root, const char *member, struct dga_diag *diag,
                           char **ret, size_t *ret_len)
{
    json_t *v = json_object_get(root, member);
    if (!json_is_string(v)) {
        return fail(diag, member);
    }
    size_t len = json_string_length(v);
    if (memchr(json_string_value(v), '\0', len) != NULL) {
        return fail(diag, member);
    }
    char *s = malloc(len + 1);
    if (s == NULL) {
        return DGA_E_NOMEM;
    }
    memcpy(s, json_string_value(v), len + 1);
    *ret = s;
    if (ret_len != NULL) {
        *ret_len = len;
    }
    return DGA_E_OK;
}

/* Hex digits only, either case, an even non-zero count; no prefix, no whitespace. */
static bool from_hex(const char *s, size_t len, uint8_t *out)
{
    if (len == 0 || len % 2 != 0) {
        return false;
    }
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hex_value(s[2 * i]);
        int lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* A non-empty array of integers 0..255 (the JS port's form of a byte member). */
static bool from_array(const json_t *a, uint8_t *out)
{
    if (json_array_size(a) == 0) {
        return false;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *b = json_array_get(a, i);
        if (!json_is_integer(b) || json_integer_value(b) < 0 || json_integer_value(b) > 255) {
            return false;
        }
        out[i] = (uint8_t)json_integer_value(b);
    }
    return true;
}

/* A byte member; want is the exact length, or 0 for any. *ret is malloc'd. */
static dga_err take_bytes(const json_t *root, const char *member, size_t want,
                          struct dga_diag *diag, uint8_t **ret, size_t *ret_len)
{
    json_t *v = json_object_get(root, member);
    size_t n;
    if (json_is_string(v)) {
        n = json_string_length(v) / 2;
    } else if (json_is_array(v)) {
        n = json_array_size(v);
    } else {
        return fail(diag, member);
    }
    if (want != 0 && n != want) {
        return fail(diag, member);
    }
    _cleanup_(freep) uint8_t *out = malloc(n + 1);
    if (out == NULL) {
        return DGA_E_NOMEM;
    }
    bool ok = json_is_string(v) ? from_hex(json_string_value(v), json_string_length(v), out)
                                : from_array(v, out);
    if (!ok) {
        return fail(diag, member);
    }
    *ret = TAKE_PTR(out);
    *ret_len = n;
    return DGA_E_OK;
}

static dga_err take_signature(const json_t *root, const char *member, struct dga_diag *diag,
                              uint8_t out[DGA_QUOTE_SIG_LEN])
{
    _cleanup_(freep) uint8_t *sig = NULL;
    size_t len = 0;
    dga_err e = take_bytes(root, member, DGA_QUOTE_SIG_LEN, diag, &sig, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    memcpy(out, sig, DGA_QUOTE_SIG_LEN);
    return DGA_E_OK;
}

/* pck_certificate_chain: absent or null is no chain; otherwise a string. */
static dga_err take_pck_chain(const json_t *root, struct dga_diag *diag, char **ret)
{
    json_t *v = json_object_get(root, "pck_certificate_chain");
    if (v == NULL || json_is_null(v)) {
        return DGA_E_OK;
    }
    return take_string(root, "pck_certificate_chain", diag, ret, NULL);
}

/* pck_crl_issuer_chain, root_ca_crl, pck_crl. */
static dga_err crl_members(const json_t *root, struct dga_quote_collateral *c,
                           struct dga_diag *diag)
{
    dga_err e = take_string(root, "pck_crl_issuer_chain", diag, &c->pck_crl_issuer_chain, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    e = take_bytes(root, "root_ca_crl", 0, diag, &c->root_ca_crl, &c->root_ca_crl_len);
    if (e != DGA_E_OK) {
        return e;
    }
    return take_bytes(root, "pck_crl", 0, diag, &c->pck_crl, &c->pck_crl_len);
}

/* tcb_info_issuer_chain, tcb_info, tcb_info_signature. */
static dga_err tcb_info_members(const json_t *root, struct dga_quote_collateral *c,
                                struct dga_diag *diag)
{
    dga_err e = take_string(root, "tcb_info_issuer_chain", diag, &c->tcb_info_issuer_chain, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    e = take_string(root, "tcb_info", diag, &c->tcb_info, &c->tcb_info_len);
    if (e != DGA_E_OK) {
        return e;
    }
    return take_signature(root, "tcb_info_signature", diag, c->tcb_info_signature);
}

/* qe_identity_issuer_chain, qe_identity, qe_identity_signature. */
static dga_err qe_identity_members(const json_t *root, struct dga_quote_collateral *c,
                                   struct dga_diag *diag)
{
    dga_err e =
        take_string(root, "qe_identity_issuer_chain", diag, &c->qe_identity_issuer_chain, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    e = take_string(root, "qe_identity", diag, &c->qe_identity, &c->qe_identity_len);
    if (e != DGA_E_OK) {
        return e;
    }
    return take_signature(root, "qe_identity_signature", diag, c->qe_identity_signature);
}

/* The members in the order dcap-qvl declares them; the first failure is reported. */
static dga_err members(const json_t *root, struct dga_quote_collateral *c, struct dga_diag *diag)
{
    dga_err e = crl_members(root, c, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tcb_info_members(root, c, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = qe_identity_members(root, c, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return take_pck_chain(root, diag, &c->pck_certificate_chain);
}

dga_err dga_quote_collateral_parse(const char *json, size_t len, struct dga_quote_collateral *ret,
                                   struct dga_diag *diag)
{
    if (json == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (len > DGA_QUOTE_COLLATERAL_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, DGA_QUOTE_COLLATERAL_MAX, "collateral");
    }
    /* JSON_ALLOW_NUL: a member with "\u0000" is then refused by name, not as bad JSON. */
    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *root =
        json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (root == NULL || !json_is_object(root)) {
        return dga_diag_set(diag, DGA_E_QUOTE_COLLATERAL, root == NULL ? (size_t)jerr.position : 0,
                            "collateral");
    }
    _cleanup_(dga_quote_collateral_clearp) struct dga_quote_collateral c;
    memset(&c, 0, sizeof c);
    dga_err e = members(root, &c, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = quote_prepare(&c, &c.prepared);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = c;
    memset(&c, 0, sizeof c);
    return DGA_E_OK;
}

void dga_quote_collateral_clear(struct dga_quote_collateral *c)
{
    if (c == NULL) {
        return;
    }
    free(c->pck_crl_issuer_chain);
    free(c->root_ca_crl);
    free(c->pck_crl);
    free(c->tcb_info_issuer_chain);
    free(c->tcb_info);
    free(c->qe_identity_issuer_chain);
    free(c->qe_identity);
    free(c->pck_certificate_chain);
    quote_prepared_free(c->prepared);
    memset(c, 0, sizeof *c);
}
