/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The binary TDX quote (docs/formats.md, TDX quote): header, v5 body
 * descriptor, TD report body, signature data, zero padding.
 *
 * Order of checks: every field is read, then its value checked, front to
 * back; the two length fields that cover later bytes (sig_data_len and the
 * outer certification data size) are compared with what was read only once
 * everything they cover has been read. So a prefix of a real quote can only
 * fail with DGA_E_TRUNCATED, whatever the length of the cut: its values are
 * all valid, and the read that runs past the end comes before any
 * comparison of a length with the input.
 */
#include <stddef.h>
#include <string.h>

#include "core/cursor.h"
#include "dga/quote.h"

#define QUOTE_VERSION_SGX 3
#define QUOTE_BODY_SGX 1
#define QUOTE_CERT_TYPE_MIN 1

/* A fixed-size byte field of struct dga_td_report, in quote order. */
struct td_field {
    const char *name;
    size_t off;
    size_t len;
};

#define TD_FIELD(name, member)                                                                     \
    {                                                                                              \
        (name), offsetof(struct dga_td_report, member),                                            \
            sizeof(((struct dga_td_report *)0)->member)                                            \
    }

static const struct td_field td10_fields[] = {
    TD_FIELD("tee_tcb_svn", tee_tcb_svn),
    TD_FIELD("mr_seam", mr_seam),
    TD_FIELD("mr_signer_seam", mr_signer_seam),
    TD_FIELD("seam_attributes", seam_attributes),
    TD_FIELD("td_attributes", td_attributes),
    TD_FIELD("xfam", xfam),
    TD_FIELD("mr_td", mr_td),
    TD_FIELD("mr_config_id", mr_config_id),
    TD_FIELD("mr_owner", mr_owner),
    TD_FIELD("mr_owner_config", mr_owner_config),
    TD_FIELD("rt_mr0", rt_mr[0]),
    TD_FIELD("rt_mr1", rt_mr[1]),
    TD_FIELD("rt_mr2", rt_mr[2]),
    TD_FIELD("rt_mr3", rt_mr[3]),
    TD_FIELD("report_data", report_data),
};

static const struct td_field td15_fields[] = {
    TD_FIELD("tee_tcb_svn2", tee_tcb_svn2),
    TD_FIELD("mr_service_td", mr_service_td),
};

#define N_FIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* Records where a read or a check failed: the field's offset and name. */
static dga_err fail(struct dga_diag *diag, dga_err e, size_t offset, const char *field)
{
    return dga_diag_set(diag, e, offset, field);
}

static dga_err read_u16(struct cursor *c, uint16_t *ret, const char *field, struct dga_diag *diag)
{
    size_t at = cursor_pos(c);
    dga_err e = cursor_u16le(c, ret);
    if (e != DGA_E_OK) {
        return fail(diag, e, at, field);
    }
    return DGA_E_OK;
}

static dga_err read_u32(struct cursor *c, uint32_t *ret, const char *field, struct dga_diag *diag)
{
    size_t at = cursor_pos(c);
    dga_err e = cursor_u32le(c, ret);
    if (e != DGA_E_OK) {
        return fail(diag, e, at, field);
    }
    return DGA_E_OK;
}

static dga_err read_copy(struct cursor *c, void *dst, size_t n, const char *field,
                         struct dga_diag *diag)
{
    size_t at = cursor_pos(c);
    dga_err e = cursor_copy(c, dst, n);
    if (e != DGA_E_OK) {
        return fail(diag, e, at, field);
    }
    return DGA_E_OK;
}

static dga_err read_ptr(struct cursor *c, size_t n, const uint8_t **ret, const char *field,
                        struct dga_diag *diag)
{
    size_t at = cursor_pos(c);
    dga_err e = cursor_bytes(c, n, ret);
    if (e != DGA_E_OK) {
        return fail(diag, e, at, field);
    }
    return DGA_E_OK;
}

/* 4 or 5; an SGX quote (version 3) is named as such. */
static dga_err parse_version(struct cursor *c, struct dga_quote *q, struct dga_diag *diag)
{
    dga_err e = read_u16(c, &q->version, "version", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (q->version == QUOTE_VERSION_SGX) {
        return fail(diag, DGA_E_QUOTE_SGX, 0, "version");
    }
    if (q->version != 4 && q->version != 5) {
        return fail(diag, DGA_E_QUOTE_VERSION, 0, "version");
    }
    return DGA_E_OK;
}

/* Both read before either is checked: the TEE type (SGX named as such), then the key type. */
static dga_err parse_key_and_tee(struct cursor *c, struct dga_quote *q, struct dga_diag *diag)
{
    dga_err e = read_u16(c, &q->att_key_type, "att_key_type", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_u32(c, &q->tee_type, "tee_type", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (q->tee_type == DGA_QUOTE_TEE_SGX) {
        return fail(diag, DGA_E_QUOTE_SGX, 4, "tee_type");
    }
    if (q->tee_type != DGA_QUOTE_TEE_TDX) {
        return fail(diag, DGA_E_QUOTE_TEE_TYPE, 4, "tee_type");
    }
    if (q->att_key_type != DGA_QUOTE_KEY_ECDSA_P256) {
        return fail(diag, DGA_E_QUOTE_KEY_TYPE, 2, "att_key_type");
    }
    return DGA_E_OK;
}

/* version, then the TEE type (an SGX quote is named as such), then the key type. */
static dga_err parse_header(struct cursor *c, struct dga_quote *q, struct dga_diag *diag)
{
    dga_err e = parse_version(c, q, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = parse_key_and_tee(c, q, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_u16(c, &q->qe_svn, "qe_svn", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_u16(c, &q->pce_svn, "pce_svn", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_copy(c, q->qe_vendor_id, sizeof q->qe_vendor_id, "qe_vendor_id", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return read_copy(c, q->user_data, sizeof q->user_data, "user_data", diag);
}

/* v4: always a TD report 1.0. v5: the descriptor names the body; its size must match. */
static dga_err parse_descriptor(struct cursor *c, struct dga_quote *q, struct dga_diag *diag)
{
    if (q->version == 4) {
        q->body_type = DGA_QUOTE_BODY_TD10;
        q->body_size = DGA_QUOTE_TD10_LEN;
        q->body = DGA_QUOTE_BODY_IS_TD10;
        return DGA_E_OK;
    }
    size_t at = cursor_pos(c);
    dga_err e = read_u16(c, &q->body_type, "body_type", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_u32(c, &q->body_size, "body_size", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (q->body_type == QUOTE_BODY_SGX) {
        return fail(diag, DGA_E_QUOTE_SGX, at, "body_type");
    }
    if (q->body_type != DGA_QUOTE_BODY_TD10 && q->body_type != DGA_QUOTE_BODY_TD15) {
        return fail(diag, DGA_E_QUOTE_BODY, at, "body_type");
    }
    q->body = q->body_type == DGA_QUOTE_BODY_TD15 ? DGA_QUOTE_BODY_IS_TD15 : DGA_QUOTE_BODY_IS_TD10;
    uint32_t want = q->body == DGA_QUOTE_BODY_IS_TD15 ? DGA_QUOTE_TD15_LEN : DGA_QUOTE_TD10_LEN;
    if (q->body_size != want) {
        return fail(diag, DGA_E_QUOTE_BODY, at + 2, "body_size");
    }
    return DGA_E_OK;
}

static dga_err parse_fields(struct cursor *c, const struct td_field *f, size_t n,
                            struct dga_td_report *td, struct dga_diag *diag)
{
    for (size_t i = 0; i < n; i++) {
        dga_err e = read_copy(c, (uint8_t *)td + f[i].off, f[i].len, f[i].name, diag);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    return DGA_E_OK;
}

static dga_err parse_body(struct cursor *c, struct dga_quote *q, struct dga_diag *diag)
{
    dga_err e = parse_fields(c, td10_fields, N_FIELDS(td10_fields), &q->td, diag);
    if (e != DGA_E_OK || q->body != DGA_QUOTE_BODY_IS_TD15) {
        return e;
    }
    return parse_fields(c, td15_fields, N_FIELDS(td15_fields), &q->td, diag);
}

/* The 384-byte SGX report, already known to be in bounds: reserved ranges are skipped. */
static void parse_sgx_report(const uint8_t *raw, struct dga_sgx_report *r)
{
    memcpy(r->cpu_svn, raw, 16);
    r->misc_select = (uint32_t)load_le(raw + 16, 4);
    memcpy(r->attributes, raw + 48, 16);
    memcpy(r->mr_enclave, raw + 64, 32);
    memcpy(r->mr_signer, raw + 128, 32);
    r->isv_prod_id = (uint16_t)load_le(raw + 256, 2);
    r->isv_svn = (uint16_t)load_le(raw + 258, 2);
    memcpy(r->report_data, raw + 320, 64);
}

/* Inner certification data: type 1..5, its bytes within the input. */
static dga_err parse_inner(struct cursor *c, struct dga_quote *q, struct dga_diag *diag)
{
    size_t at = cursor_pos(c);
    dga_err e = read_u16(c, &q->inner_cert_type, "inner_cert_type", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (q->inner_cert_type < QUOTE_CERT_TYPE_MIN || q->inner_cert_type > DGA_QUOTE_CERT_PCK_CHAIN) {
        return fail(diag, DGA_E_QUOTE_CERT_DATA, at, "inner_cert_type");
    }
    e = read_u32(c, &q->inner_cert_len, "inner_cert_size", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_ptr(c, q->inner_cert_len, &q->inner_cert_data, "inner_cert_data", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    q->pem_len = 0;
    if (q->inner_cert_type == DGA_QUOTE_CERT_PCK_CHAIN) {
        /* Real quotes end the PEM text with a NUL byte, which is not PEM. */
        size_t n = q->inner_cert_len;
        while (n > 0 && q->inner_cert_data[n - 1] == 0) {
            n--;
        }
        q->pem_len = n;
    }
    return DGA_E_OK;
}

/* The QE report and its signature. */
static dga_err parse_qe_report(struct cursor *c, struct dga_quote *q, struct dga_diag *diag)
{
    dga_err e = read_ptr(c, DGA_SGX_REPORT_LEN, &q->qe_report_raw, "qe_report", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_copy(c, q->qe_report_signature, DGA_QUOTE_SIG_LEN, "qe_report_signature", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    parse_sgx_report(q->qe_report_raw, &q->qe_report);
    return DGA_E_OK;
}

/* The QE authentication data: its length (always 32 in a real quote), then its bytes. */
static dga_err parse_qe_auth(struct cursor *c, struct dga_quote *q, struct dga_diag *diag)
{
    size_t at = cursor_pos(c);
    dga_err e = read_u16(c, &q->qe_auth_len, "qe_auth_len", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (q->qe_auth_len != DGA_QUOTE_QE_AUTH_LEN) {
        return fail(diag, DGA_E_QUOTE_AUTH_DATA, at, "qe_auth_len");
    }
    return read_ptr(c, q->qe_auth_len, &q->qe_auth_data, "qe_auth_data", diag);
}

/* QE report certification data (outer type 6): the QE report, its signature, auth data. */
static dga_err parse_qe_cert_data(struct cursor *c, struct dga_quote *q, struct dga_diag *diag)
{
    size_t at = cursor_pos(c);
    dga_err e = read_u16(c, &q->outer_cert_type, "outer_cert_type", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (q->outer_cert_type != DGA_QUOTE_CERT_QE_REPORT) {
        return fail(diag, DGA_E_QUOTE_CERT_DATA, at, "outer_cert_type");
    }
    size_t size_at = cursor_pos(c);
    e = read_u32(c, &q->outer_cert_size, "outer_cert_size", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    size_t start = cursor_pos(c);
    e = parse_qe_report(c, q, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = parse_qe_auth(c, q, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = parse_inner(c, q, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (cursor_pos(c) - start != q->outer_cert_size) {
        return fail(diag, DGA_E_QUOTE_CERT_DATA, size_at, "outer_cert_size");
    }
    return DGA_E_OK;
}

static dga_err parse_signature_data(struct cursor *c, struct dga_quote *q, struct dga_diag *diag)
{
    size_t len_at = cursor_pos(c);
    dga_err e = read_u32(c, &q->sig_data_len, "sig_data_len", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    size_t start = cursor_pos(c);
    e = read_copy(c, q->signature, DGA_QUOTE_SIG_LEN, "signature", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_copy(c, q->att_key, DGA_QUOTE_KEY_LEN, "att_key", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = parse_qe_cert_data(c, q, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (cursor_pos(c) - start != q->sig_data_len) {
        return fail(diag, DGA_E_QUOTE_CERT_DATA, len_at, "sig_data_len");
    }
    return DGA_E_OK;
}

/* Real dstack quotes carry zero bytes after the signature data: accept those, bounded. */
static dga_err parse_padding(struct cursor *c, struct dga_quote *q, struct dga_diag *diag)
{
    size_t at = cursor_pos(c);
    size_t n = cursor_left(c);
    const uint8_t *p;
    dga_err e = read_ptr(c, n, &p, "padding", diag);
    if (e != DGA_E_OK) {
        return e;
    }
    for (size_t i = 0; i < n; i++) {
        if (i >= DGA_QUOTE_PADDING_MAX || p[i] != 0) {
            return fail(diag, DGA_E_QUOTE_PADDING, at + i, "padding");
        }
    }
    q->padding_len = n;
    return DGA_E_OK;
}

/* The signed part: header, v5 descriptor, TD report body. */
static dga_err parse_signed(struct cursor *c, struct dga_quote *q, struct dga_diag *diag)
{
    dga_err e = parse_header(c, q, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = parse_descriptor(c, q, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return parse_body(c, q, diag);
}

dga_err dga_quote_parse(const uint8_t *quote, size_t len, struct dga_quote *ret,
                        struct dga_diag *diag)
{
    if (quote == NULL && len > 0) {
        return fail(diag, DGA_E_BAD_ARGUMENT, 0, "quote");
    }
    if (len > DGA_QUOTE_MAX_LEN) {
        return fail(diag, DGA_E_TOO_LARGE, DGA_QUOTE_MAX_LEN, "quote");
    }
    struct dga_quote q;
    memset(&q, 0, sizeof q);
    struct cursor c = cursor_init(quote, len);
    dga_err e = parse_signed(&c, &q, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    q.signed_data = quote;
    q.signed_len = cursor_pos(&c);
    e = parse_signature_data(&c, &q, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = parse_padding(&c, &q, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    q.total_len = len;
    *ret = q;
    return DGA_E_OK;
}
