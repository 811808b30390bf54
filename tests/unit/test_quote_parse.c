/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TDX quote parsing (lib/quote/parse.c, input.c, pck.c): every real vector
 * with its exact field values, every truncation, one corruption per check,
 * the input forms, and the PCK certificate's SGX extension.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "dga/cleanup.h"
#include "dga/quote.h"
#include "dga/util.h"
#include "dga/x509.h"

#define ZERO48                                                                                     \
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "0000"
#define AUTH_0_1F "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define QE_MRSIGNER "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5"

/* tdx_quote offsets (v4): signed length 632, signature data at 636. */
#define V4_SIG_DATA_LEN 632
#define V4_OUTER_TYPE 764
#define V4_OUTER_SIZE 766
#define V4_AUTH_LEN 1218
#define V4_INNER_TYPE 1252
#define V4_END 4936

static void assert_hex(const uint8_t *p, size_t n, const char *want)
{
    char *hex = malloc(2 * n + 1);
    assert_non_null(hex);
    dga_hex_encode(p, n, hex);
    assert_string_equal(hex, want);
    free(hex);
}

/* A fixture in any input form, decoded to the quote bytes. */
static uint8_t *load_quote(const char *rel, size_t *ret_len, enum dga_quote_form *ret_form)
{
    size_t len = 0;
    uint8_t *in = fixture_read(rel, &len);
    uint8_t *q = NULL;
    struct dga_diag d = {0};
    assert_int_equal(dga_quote_input_decode(in, len, &q, ret_len, ret_form, &d), DGA_E_OK);
    free(in);
    return q;
}

static void parse_ok(const uint8_t *q, size_t len, struct dga_quote *ret)
{
    struct dga_diag d = {0};
    dga_err e = dga_quote_parse(q, len, ret, &d);
    if (e != DGA_E_OK) {
        fail_msg("parse: %s at %zu (%s)", dga_err_name(e), d.offset, d.field);
    }
}

static void parse_fails(const uint8_t *q, size_t len, dga_err want, size_t offset,
                        const char *field)
{
    struct dga_quote out;
    memset(&out, 0xa5, sizeof out);
    struct dga_quote before = out;
    struct dga_diag d = {0};
    dga_err e = dga_quote_parse(q, len, &out, &d);
    if (e != want) {
        fail_msg("want %s, got %s at %zu (%s)", dga_err_name(want), dga_err_name(e), d.offset,
                 d.field != NULL ? d.field : "-");
    }
    assert_int_equal(d.err, want);
    assert_int_equal(d.offset, offset);
    assert_string_equal(d.field, field);
    assert_memory_equal(&out, &before, sizeof out); /* ret untouched on failure */
}

/* The three certificates of an inner type-5 chain; the stack is the caller's. */
static STACK_OF(X509) *quote_chain(const struct dga_quote *q)
{
    STACK_OF(X509) *chain = NULL;
    struct dga_diag d = {0};
    assert_int_equal(dga_pem_chain_parse((const char *)q->inner_cert_data, q->pem_len, &chain, &d),
                     DGA_E_OK);
    return chain;
}

/* ---- the real vectors ---- */

struct vector {
    const char *path;
    enum dga_quote_form form;
    uint16_t version;
    enum dga_quote_body body;
    const char *tee_tcb_svn;
    const char *xfam;
    const char *mr_td_prefix; /* first 8 bytes */
    const char *rt_mr3_prefix;
    const char *report_data_prefix;
    const char *user_data;
    uint16_t qe_isv_svn;
    const char *qe_cpu_svn;
    size_t padding;
    /* PCK leaf (docs/formats.md table of the vectors) */
    const char *fmspc;
    uint16_t pce_svn;
    const char *cpu_svn;
};

static const struct vector vectors[] = {
    {"tdx/tdx_quote", DGA_QUOTE_FORM_BINARY, 4, DGA_QUOTE_BODY_IS_TD10,
     "06010300000000000000000000000000", "e702060000000000", "91eb2b44d141d4ec", "0000000000000000",
     "9a9d48e7f6799642", "889b7d6ff9df2405b240a830e73faf3d00000000", 6,
     "0303191b04ff00060000000000000000", 70, "b0c06f000000", 11,
     "03030202040100050000000000000000"},
    {"tdx/tdx_quote_outdated", DGA_QUOTE_FORM_BINARY, 5, DGA_QUOTE_BODY_IS_TD15,
     "07010300000000000000000000000000", "e718060000000000", "273828c46252fcbd", "0000000000000000",
     "d2142b643598eb5f", "dd130a3f3a9e91528dafeb58cc82c33b00000000", 7,
     "0303191b04ff00030000000000000000", 0, "90c06f000000", 13, "03030202040100030000000000000000"},
    {"tdx/near_quote.hex", DGA_QUOTE_FORM_HEX, 4, DGA_QUOTE_BODY_IS_TD10,
     "06010400000000000000000000000000", "0702000000000000", "f06dfda6dce1cf90", "287a9242edd8c842",
     "0001d579ba6e734a", "5fdd5ea20205694b1240ffe054cfd68300000000", 6,
     "0404090905ff00020000000000000000", 70, "20a06f000000", 13,
     "0404020205ff00020000000000000000"},
    {"tdx/quote-from-tappd.hex", DGA_QUOTE_FORM_HEX, 4, DGA_QUOTE_BODY_IS_TD10,
     "05010200000000000000000000000000", "e702060000000000", "c68518a0ebb42136", "a2d25bc888a93009",
     "7668c6b4eafb6230", "83fbfe61525f55581315cd9dc950f44700000000", 6,
     "0202191b03ff00060000000000000000", 70, "b0c06f000000", 11,
     "02020202030100030000000000000000"},
    {"tdx/tdx-quote.hex", DGA_QUOTE_FORM_HEX, 4, DGA_QUOTE_BODY_IS_TD10,
     "05010200000000000000000000000000", "e702060000000000", "7ba9e262ce697908", "547fcba4630bfb98",
     "7148f47ef58b475f", "83fbfe61525f55581315cd9dc950f44700000000", 6,
     "0202191b03ff00060000000000000000", 70, "b0c06f000000", 11,
     "02020202030100030000000000000000"},
    {"tdx/dstack_ra_tls_tdx_quote", DGA_QUOTE_FORM_BINARY, 4, DGA_QUOTE_BODY_IS_TD10,
     "05010200000000000000000000000000", "e702060000000000", "91eb2b44d141d4ec", "0000000000000000",
     "23207e2f2e626173", "83fbfe61525f55581315cd9dc950f44700000000", 6,
     "0202191b03ff00060000000000000000", 70, "b0c06f000000", 11,
     "02020202030100030000000000000000"},
    {"dstack/quote-report.json", DGA_QUOTE_FORM_JSON, 4, DGA_QUOTE_BODY_IS_TD10,
     "0b010400000000000000000000000000", "e702060000000000", "b24d3b24e9e3c160", "0f787c3877f3e950",
     "1234000000000000", "1eadadc7f30fb7f911d24aa522afc59000000000", 6,
     "0404191b04ff00060000000000000000", 70, "90c06f000000", 13,
     "04040202040100050000000000000000"},
};

static void check_common(const struct vector *v, const struct dga_quote *q, size_t len)
{
    assert_int_equal(q->version, v->version);
    assert_int_equal(q->att_key_type, 2);
    assert_int_equal(q->tee_type, 0x81);
    assert_int_equal(q->qe_svn, 0);
    assert_int_equal(q->pce_svn, 0);
    assert_memory_equal(q->qe_vendor_id, dga_quote_intel_qe_vendor_id, 16);
    assert_hex(q->user_data, 20, v->user_data);
    assert_int_equal(q->body, v->body);
    assert_hex(q->td.tee_tcb_svn, 16, v->tee_tcb_svn);
    assert_hex(q->td.td_attributes, 8, "0000001000000000");
    assert_hex(q->td.seam_attributes, 8, "0000000000000000");
    assert_hex(q->td.mr_signer_seam, 48, ZERO48);
    assert_hex(q->td.xfam, 8, v->xfam);
    assert_hex(q->td.mr_td, 8, v->mr_td_prefix);
    assert_hex(q->td.rt_mr[3], 8, v->rt_mr3_prefix);
    assert_hex(q->td.report_data, 8, v->report_data_prefix);
    assert_int_equal(q->sig_data_len, 4300);
    assert_int_equal(q->outer_cert_type, 6);
    assert_int_equal(q->outer_cert_size, 4166);
    assert_int_equal(q->qe_report.misc_select, 0);
    assert_int_equal(q->qe_report.isv_prod_id, 2);
    assert_int_equal(q->qe_report.isv_svn, v->qe_isv_svn);
    assert_hex(q->qe_report.mr_signer, 32, QE_MRSIGNER);
    assert_hex(q->qe_report.cpu_svn, 16, v->qe_cpu_svn);
    assert_memory_equal(q->qe_report.report_data + 32, (uint8_t[32]){0}, 32);
    assert_int_equal(q->qe_auth_len, 32);
    assert_hex(q->qe_auth_data, 32, AUTH_0_1F);
    assert_int_equal(q->inner_cert_type, 5);
    assert_int_equal(q->inner_cert_len, 3678);
    assert_int_equal(q->pem_len, 3677); /* one NUL byte ends the PEM text */
    assert_int_equal(q->padding_len, v->padding);
    assert_int_equal(q->total_len, len);
}

static void check_pck(const struct vector *v, const struct dga_quote *q)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = quote_chain(q);
    assert_int_equal(sk_X509_num(chain), 3);
    struct dga_pck_ext ext;
    struct dga_diag d = {0};
    assert_int_equal(dga_pck_ext_parse(sk_X509_value(chain, 0), &ext, &d), DGA_E_OK);
    assert_hex(ext.fmspc, 6, v->fmspc);
    assert_int_equal(ext.pce_svn, v->pce_svn);
    assert_hex(ext.cpu_svn, 16, v->cpu_svn);
    assert_memory_equal(ext.comp_svn, ext.cpu_svn, 16); /* the components spell the CPUSVN */
    assert_hex(ext.pce_id, 2, "0000");
    assert_false(ext.processor_ca);
    assert_true(ext.has_platform_instance_id); /* Platform CA leaves carry one */
}

static void test_real_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const struct vector *v = &vectors[i];
        size_t len = 0;
        enum dga_quote_form form;
        uint8_t *bytes = load_quote(v->path, &len, &form);
        assert_int_equal(form, v->form);
        assert_int_equal(len, 5006);
        struct dga_quote q;
        parse_ok(bytes, len, &q);
        check_common(v, &q, len);
        check_pck(v, &q);
        free(bytes);
    }
}

/* The v4 sample field by field (the worked example of docs/formats.md). */
static void test_v4_sample(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *bytes = load_quote("tdx/tdx_quote", &len, NULL);
    struct dga_quote q;
    parse_ok(bytes, len, &q);
    assert_int_equal(q.body_type, DGA_QUOTE_BODY_TD10);
    assert_int_equal(q.body_size, 584);
    assert_ptr_equal(q.signed_data, bytes);
    assert_int_equal(q.signed_len, 632);
    assert_hex(q.td.mr_td, 48,
               "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f2742"
               "8b2538873118b7");
    assert_hex(q.td.rt_mr[3], 48, ZERO48);
    assert_hex(q.td.report_data, 64,
               "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c16"
               "3cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20");
    assert_hex(q.td.tee_tcb_svn2, 16, "00000000000000000000000000000000");
    assert_ptr_equal(q.qe_report_raw, bytes + 770);
    assert_hex(q.qe_report.attributes, 16, "1500000000000000e700000000000000");
    assert_hex(q.qe_report.mr_enclave, 32,
               "e5a3a7b5d830c2953b98534c6c59a3a34fdc34e933f7f5898f0a85cf08846bca");
    assert_hex(q.qe_report.report_data, 32,
               "c936492a774946af9b588f6b3bd8beddc5957d1761ded2c0bb61d7b64de5b324");
    assert_ptr_equal(q.qe_auth_data, bytes + 1220);
    assert_ptr_equal(q.inner_cert_data, bytes + 1258);
    assert_memory_equal(q.signature, bytes + 636, 64);
    assert_memory_equal(q.att_key, bytes + 700, 64);
    assert_memory_equal(q.qe_report_signature, bytes + 1154, 64);

    struct dga_pck_ext ext;
    struct dga_diag d = {0};
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = quote_chain(&q);
    assert_int_equal(dga_pck_ext_parse(sk_X509_value(chain, 0), &ext, &d), DGA_E_OK);
    assert_hex(ext.ppid, 16, "811dca2a26b952e85bb6448b097ba4fd");
    assert_int_equal(ext.pce_svn, 11);
    assert_hex(ext.cpu_svn, 16, "03030202040100050000000000000000");
    assert_hex(ext.fmspc, 6, "b0c06f000000");
    assert_hex(ext.pce_id, 2, "0000");
    assert_int_equal(ext.sgx_type, 1);
    free(bytes);
}

static void test_v5_sample(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *bytes = load_quote("tdx/tdx_quote_outdated", &len, NULL);
    struct dga_quote q;
    parse_ok(bytes, len, &q);
    assert_int_equal(q.body_type, DGA_QUOTE_BODY_TD15);
    assert_int_equal(q.body_size, 648);
    assert_int_equal(q.signed_len, 702);
    assert_hex(q.td.tee_tcb_svn2, 16, "0d010300000000000000000000000000");
    assert_hex(q.td.mr_service_td, 48, ZERO48);
    assert_hex(q.td.report_data, 64,
               "d2142b643598eb5fae2bc8529dd79a558b29f868ccbb6531cb28dab9dce47728000000000000000000"
               "0000000000000000000000000000000000000000000000");
    assert_ptr_equal(q.qe_report_raw, bytes + 840);
    assert_ptr_equal(q.inner_cert_data, bytes + 1328);
    free(bytes);
}

/* ---- truncation ---- */

/*
 * Every cut before the end of the signature data is DGA_E_TRUNCATED; a cut
 * inside the padding is a valid quote with less padding.
 */
static void truncate_all(const char *rel)
{
    size_t len = 0;
    uint8_t *full = load_quote(rel, &len, NULL);
    struct dga_quote q;
    parse_ok(full, len, &q);
    size_t end = len - q.padding_len;
    for (size_t cut = 0; cut <= len; cut++) {
        uint8_t *p = malloc(cut > 0 ? cut : 1); /* exact size: ASan sees any over-read */
        assert_non_null(p);
        memcpy(p, full, cut);
        struct dga_quote out;
        struct dga_diag d = {0};
        dga_err e = dga_quote_parse(p, cut, &out, &d);
        if (cut < end && e != DGA_E_TRUNCATED) {
            fail_msg("%s cut at %zu: %s (%s)", rel, cut, dga_err_name(e), d.field);
        }
        if (cut < end) {
            assert_true(d.offset <= cut);
        } else {
            assert_int_equal(e, DGA_E_OK);
            assert_int_equal(out.padding_len, cut - end);
        }
        free(p);
    }
    free(full);
}

static void test_truncation(void **state)
{
    (void)state;
    truncate_all("tdx/tdx_quote");
    truncate_all("tdx/tdx_quote_outdated");
}

/* Field names and offsets of a truncated read. */
static void test_truncation_diag(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *q = load_quote("tdx/tdx_quote", &len, NULL);
    parse_fails(q, 0, DGA_E_TRUNCATED, 0, "version");
    parse_fails(q, 100, DGA_E_TRUNCATED, 64, "mr_seam");
    parse_fails(q, 633, DGA_E_TRUNCATED, 632, "sig_data_len");
    parse_fails(q, 1000, DGA_E_TRUNCATED, 770, "qe_report");
    parse_fails(q, 1300, DGA_E_TRUNCATED, 1258, "inner_cert_data");
    parse_fails(q, V4_END - 1, DGA_E_TRUNCATED, 1258, "inner_cert_data");
    free(q);
}

/* ---- one corruption per check ---- */

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

struct corruption {
    const char *name;
    size_t off;
    unsigned width; /* 2 or 4 */
    uint32_t value;
    long delta; /* when not 0: added to the stored value, and value is ignored */
    dga_err want;
    size_t want_off;
    const char *field;
};

static void apply(uint8_t *q, const struct corruption *c)
{
    uint32_t v = c->value;
    if (c->delta != 0) {
        uint32_t stored = 0;
        for (unsigned i = c->width; i > 0; i--) {
            stored = (stored << 8) | q[c->off + i - 1];
        }
        v = (uint32_t)((long)stored + c->delta);
    }
    if (c->width == 2) {
        put_u16(q + c->off, (uint16_t)v);
    } else {
        put_u32(q + c->off, v);
    }
}

static const struct corruption v4_cases[] = {
    {"version 3", 0, 2, 3, 0, DGA_E_QUOTE_SGX, 0, "version"},
    {"version 6", 0, 2, 6, 0, DGA_E_QUOTE_VERSION, 0, "version"},
    {"version 65535", 0, 2, 0xffff, 0, DGA_E_QUOTE_VERSION, 0, "version"},
    {"tee type SGX", 4, 4, 0, 0, DGA_E_QUOTE_SGX, 4, "tee_type"},
    {"tee type 0x82", 4, 4, 0x82, 0, DGA_E_QUOTE_TEE_TYPE, 4, "tee_type"},
    {"key type 3", 2, 2, 3, 0, DGA_E_QUOTE_KEY_TYPE, 2, "att_key_type"},
    {"outer type 5", V4_OUTER_TYPE, 2, 5, 0, DGA_E_QUOTE_CERT_DATA, V4_OUTER_TYPE,
     "outer_cert_type"},
    {"outer size +1", V4_OUTER_SIZE, 4, 0, 1, DGA_E_QUOTE_CERT_DATA, V4_OUTER_SIZE,
     "outer_cert_size"},
    {"outer size -1", V4_OUTER_SIZE, 4, 0, -1, DGA_E_QUOTE_CERT_DATA, V4_OUTER_SIZE,
     "outer_cert_size"},
    {"auth len 31", V4_AUTH_LEN, 2, 31, 0, DGA_E_QUOTE_AUTH_DATA, V4_AUTH_LEN, "qe_auth_len"},
    {"auth len 33", V4_AUTH_LEN, 2, 33, 0, DGA_E_QUOTE_AUTH_DATA, V4_AUTH_LEN, "qe_auth_len"},
    {"inner type 0", V4_INNER_TYPE, 2, 0, 0, DGA_E_QUOTE_CERT_DATA, V4_INNER_TYPE,
     "inner_cert_type"},
    {"inner type 7", V4_INNER_TYPE, 2, 7, 0, DGA_E_QUOTE_CERT_DATA, V4_INNER_TYPE,
     "inner_cert_type"},
    {"sig_data_len +1", V4_SIG_DATA_LEN, 4, 0, 1, DGA_E_QUOTE_CERT_DATA, V4_SIG_DATA_LEN,
     "sig_data_len"},
    {"sig_data_len -1", V4_SIG_DATA_LEN, 4, 0, -1, DGA_E_QUOTE_CERT_DATA, V4_SIG_DATA_LEN,
     "sig_data_len"},
    {"inner size past the end", V4_INNER_TYPE + 2, 4, 0, 71, DGA_E_TRUNCATED, 1258,
     "inner_cert_data"},
};

static void test_corruptions_v4(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *orig = load_quote("tdx/tdx_quote", &len, NULL);
    for (size_t i = 0; i < sizeof v4_cases / sizeof v4_cases[0]; i++) {
        const struct corruption *c = &v4_cases[i];
        uint8_t *q = malloc(len);
        memcpy(q, orig, len);
        apply(q, c);
        print_message("case %s\n", c->name);
        parse_fails(q, len, c->want, c->want_off, c->field);
        free(q);
    }
    free(orig);
}

/* Version 0, and a v4 quote of the SGX TEE. */
static void test_version_zero_and_sgx_v4(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *q = load_quote("tdx/tdx_quote", &len, NULL);
    put_u16(q, 0);
    parse_fails(q, len, DGA_E_QUOTE_VERSION, 0, "version");
    put_u16(q, 4);
    put_u32(q + 4, 0); /* a v4 SGX quote */
    put_u16(q + 2, 3); /* its key type is not looked at: the TEE type decides first */
    parse_fails(q, len, DGA_E_QUOTE_SGX, 4, "tee_type");
    free(q);
}

static const struct corruption v5_cases[] = {
    {"body type 1", 48, 2, 1, 0, DGA_E_QUOTE_SGX, 48, "body_type"},
    {"body type 4", 48, 2, 4, 0, DGA_E_QUOTE_BODY, 48, "body_type"},
    {"body type 0", 48, 2, 0, 0, DGA_E_QUOTE_BODY, 48, "body_type"},
    {"TD15 with size 584", 50, 4, 584, 0, DGA_E_QUOTE_BODY, 50, "body_size"},
    {"TD15 with size 649", 50, 4, 649, 0, DGA_E_QUOTE_BODY, 50, "body_size"},
    {"TD10 with size 648", 48, 2, 2, 0, DGA_E_QUOTE_BODY, 50, "body_size"},
};

static void test_corruptions_v5(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *orig = load_quote("tdx/tdx_quote_outdated", &len, NULL);
    for (size_t i = 0; i < sizeof v5_cases / sizeof v5_cases[0]; i++) {
        const struct corruption *c = &v5_cases[i];
        uint8_t *q = malloc(len);
        memcpy(q, orig, len);
        apply(q, c);
        print_message("case %s\n", c->name);
        parse_fails(q, len, c->want, c->want_off, c->field);
        free(q);
    }
    /*
     * A v5 quote relabelled v4: the descriptor is read as body, so everything
     * after it shifts; the outer type is then read from inside the signature.
     */
    put_u16(orig, 4);
    parse_fails(orig, len, DGA_E_QUOTE_CERT_DATA, V4_OUTER_TYPE, "outer_cert_type");
    free(orig);
}

/* A v5 TD10 body (type 2, 584 bytes): the v4 quote with a descriptor inserted. */
static void test_v5_td10(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *v4 = load_quote("tdx/tdx_quote", &len, NULL);
    uint8_t *q = malloc(len + 6);
    memcpy(q, v4, 48);
    put_u16(q, 5);
    put_u16(q + 48, 2);
    put_u32(q + 50, 584);
    memcpy(q + 54, v4 + 48, len - 48);
    struct dga_quote out;
    parse_ok(q, len + 6, &out);
    assert_int_equal(out.body, DGA_QUOTE_BODY_IS_TD10);
    assert_int_equal(out.signed_len, 638);
    assert_int_equal(out.padding_len, 70);
    assert_hex(out.td.mr_td, 8, "91eb2b44d141d4ec");
    free(q);
    free(v4);
}

static void test_padding(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *orig = load_quote("tdx/tdx_quote", &len, NULL);
    /* a non-zero byte in the padding (the last one, and the first one) */
    orig[len - 1] = 1;
    parse_fails(orig, len, DGA_E_QUOTE_PADDING, len - 1, "padding");
    orig[len - 1] = 0;
    orig[V4_END] = 0x80;
    parse_fails(orig, len, DGA_E_QUOTE_PADDING, V4_END, "padding");
    orig[V4_END] = 0;

    /* exactly DGA_QUOTE_PADDING_MAX zero bytes, then one more */
    size_t big = V4_END + DGA_QUOTE_PADDING_MAX + 1;
    uint8_t *q = calloc(1, big);
    memcpy(q, orig, V4_END);
    struct dga_quote out;
    parse_ok(q, big - 1, &out);
    assert_int_equal(out.padding_len, DGA_QUOTE_PADDING_MAX);
    parse_fails(q, big, DGA_E_QUOTE_PADDING, V4_END + DGA_QUOTE_PADDING_MAX, "padding");
    free(q);
    free(orig);
}

/* Inner types other than 5 carry no PEM; the parser accepts 1..5 and leaves pem_len 0. */
static void test_inner_type_not_pem(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *q = load_quote("tdx/tdx_quote", &len, NULL);
    put_u16(q + V4_INNER_TYPE, 3);
    struct dga_quote out;
    parse_ok(q, len, &out);
    assert_int_equal(out.inner_cert_type, 3);
    assert_int_equal(out.pem_len, 0);
    free(q);
}

static void test_too_large(void **state)
{
    (void)state;
    uint8_t *q = calloc(1, DGA_QUOTE_MAX_LEN + 1);
    q[0] = 4;
    parse_fails(q, DGA_QUOTE_MAX_LEN + 1, DGA_E_TOO_LARGE, DGA_QUOTE_MAX_LEN, "quote");
    free(q);
}

/* ---- input forms ---- */

static void decode_ok(const char *text, size_t len, enum dga_quote_form want_form,
                      const uint8_t *want, size_t want_len)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    enum dga_quote_form form = (enum dga_quote_form)99;
    struct dga_diag d = {0};
    assert_int_equal(dga_quote_input_decode((const uint8_t *)text, len, &out, &out_len, &form, &d),
                     DGA_E_OK);
    assert_int_equal(form, want_form);
    assert_int_equal(out_len, want_len);
    assert_memory_equal(out, want, want_len);
    free(out);
}

static void decode_fails(const void *in, size_t len, dga_err want)
{
    uint8_t *out = (uint8_t *)"untouched";
    size_t out_len = 7;
    enum dga_quote_form form = (enum dga_quote_form)99;
    struct dga_diag d = {0};
    assert_int_equal(dga_quote_input_decode(in, len, &out, &out_len, &form, &d), want);
    assert_int_equal(d.err, want);
    assert_string_equal((const char *)out, "untouched");
    assert_int_equal(out_len, 7);
    assert_int_equal(form, 99);
}

static char *hex_of(const uint8_t *p, size_t n)
{
    char *hex = malloc(2 * n + 1);
    dga_hex_encode(p, n, hex);
    return hex;
}

static void test_input_forms(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *bin = fixture_read("tdx/tdx_quote", &len);
    decode_ok((const char *)bin, len, DGA_QUOTE_FORM_BINARY, bin, len);
    char *hex = hex_of(bin, len);
    size_t hl = strlen(hex);
    char *text = malloc(hl + 16);

    decode_ok(hex, hl, DGA_QUOTE_FORM_HEX, bin, len);
    snprintf(text, hl + 16, "0x%s", hex);
    decode_ok(text, strlen(text), DGA_QUOTE_FORM_HEX, bin, len);
    snprintf(text, hl + 16, " \t0X%s\r\n\n", hex);
    decode_ok(text, strlen(text), DGA_QUOTE_FORM_HEX, bin, len);
    for (size_t i = 0; i < hl; i++) {
        text[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
    }
    decode_ok(text, hl, DGA_QUOTE_FORM_HEX, bin, len); /* upper case */
    free(text);

    size_t jl = hl + 64;
    char *json = malloc(jl);
    snprintf(json, jl, "\n {\"event_log\": \"[]\", \"quote\": \"%s\"}\n", hex);
    decode_ok(json, strlen(json), DGA_QUOTE_FORM_JSON, bin, len);
    snprintf(json, jl, "{\"quote\":\"0x%s\"}", hex);
    decode_ok(json, strlen(json), DGA_QUOTE_FORM_JSON, bin, len);
    free(json);
    free(hex);
    free(bin);
}

static void test_input_errors(void **state)
{
    (void)state;
    decode_fails("", 0, DGA_E_QUOTE_INPUT);
    decode_fails("   \n", 4, DGA_E_QUOTE_INPUT);
    decode_fails("hello", 5, DGA_E_QUOTE_INPUT);
    decode_fails("abc", 3, DGA_E_QUOTE_INPUT);          /* odd hex */
    decode_fails("0x", 2, DGA_E_QUOTE_INPUT);           /* no bytes */
    decode_fails("0x 0400", 7, DGA_E_QUOTE_INPUT);      /* space after the prefix */
    decode_fails("04 00", 5, DGA_E_QUOTE_INPUT);        /* spaces between digits */
    decode_fails("\x04", 1, DGA_E_QUOTE_INPUT);         /* one byte: no form */
    decode_fails("\x06\x00\x02", 3, DGA_E_QUOTE_INPUT); /* binary of another version */
    decode_fails("{}", 2, DGA_E_QUOTE_INPUT);           /* JSON without quote */
    decode_fails("{\"quote\": 4}", 12, DGA_E_QUOTE_INPUT);
    decode_fails("{\"quote\": \"abc\"}", 16, DGA_E_QUOTE_INPUT);
    decode_fails("{\"quote\": \"\"}", 13, DGA_E_QUOTE_INPUT);
    decode_fails("{\"quote\": \"00\", \"quote\": \"00\"}", 30, DGA_E_QUOTE_INPUT);
    decode_fails("{\"quote\": \"00\"", 14, DGA_E_QUOTE_INPUT); /* unterminated */
    decode_fails("[\"0400\"]", 8, DGA_E_QUOTE_INPUT);
    uint8_t *big = calloc(1, DGA_QUOTE_MAX_LEN + 1);
    big[0] = 4;
    decode_fails(big, DGA_QUOTE_MAX_LEN + 1, DGA_E_TOO_LARGE);
    free(big);
}

/* An SGX v3 binary quote is taken as binary; the parser then names it. */
static void test_input_sgx_binary(void **state)
{
    (void)state;
    const uint8_t v3[4] = {3, 0, 2, 0};
    uint8_t *out = NULL;
    size_t n = 0;
    enum dga_quote_form form;
    struct dga_diag d = {0};
    assert_int_equal(dga_quote_input_decode(v3, 4, &out, &n, &form, &d), DGA_E_OK);
    assert_int_equal(form, DGA_QUOTE_FORM_BINARY);
    parse_fails(out, n, DGA_E_QUOTE_SGX, 0, "version");
    free(out);
}

/* ---- the PCK extension ---- */

static X509 *der_cert(const char *rel)
{
    size_t len = 0;
    uint8_t *der = fixture_read(rel, &len);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);
    free(der);
    return x;
}

static void pck_fails(X509 *x, const char *field)
{
    struct dga_pck_ext ext;
    memset(&ext, 0x5a, sizeof ext);
    struct dga_pck_ext before = ext;
    struct dga_diag d = {0};
    assert_int_equal(dga_pck_ext_parse(x, &ext, &d), DGA_E_PCK_EXTENSION);
    assert_string_equal(d.field, field);
    assert_memory_equal(&ext, &before, sizeof ext);
}

static void test_pck_no_extension(void **state)
{
    (void)state;
    _cleanup_(X509_freep) X509 *root = der_cert("roots/intel_sgx_root_ca.der");
    pck_fails(root, "extension");
}

/* ---- synthetic extensions: a tiny DER writer ---- */

struct der {
    uint8_t b[1024];
    size_t n;
};

static void der_put(struct der *d, uint8_t tag, const uint8_t *content, size_t len)
{
    assert_true(len < 0x10000 && d->n + len + 4 <= sizeof d->b);
    d->b[d->n++] = tag;
    if (len < 0x80) {
        d->b[d->n++] = (uint8_t)len;
    } else if (len < 0x100) {
        d->b[d->n++] = 0x81;
        d->b[d->n++] = (uint8_t)len;
    } else {
        d->b[d->n++] = 0x82;
        d->b[d->n++] = (uint8_t)(len >> 8);
        d->b[d->n++] = (uint8_t)len;
    }
    if (len > 0) {
        memcpy(d->b + d->n, content, len);
    }
    d->n += len;
}

/* SEQUENCE { OID 1.2.840.113741.1.13.1.<arcs>, tag value } */
static void der_entry(struct der *d, const uint8_t *arcs, size_t n_arcs, uint8_t tag,
                      const uint8_t *v, size_t vlen)
{
    static const uint8_t base[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};
    struct der e = {.n = 0};
    uint8_t oid[16];
    memcpy(oid, base, sizeof base);
    memcpy(oid + sizeof base, arcs, n_arcs);
    der_put(&e, 0x06, oid, sizeof base + n_arcs);
    der_put(&e, tag, v, vlen);
    der_put(d, 0x30, e.b, e.n);
}

/* What to change in the otherwise valid synthetic extension. */
struct ext_spec {
    size_t fmspc_len; /* 6 */
    bool drop_ppid;
    bool twice_fmspc;
    const uint8_t *pcesvn; /* INTEGER content */
    size_t pcesvn_len;
    uint8_t comp5_tag; /* 0x02 */
    const uint8_t *comp5;
    size_t comp5_len;
    uint8_t sgx_type_tag; /* 0x0a */
};

static struct ext_spec valid_spec(void)
{
    static const uint8_t pcesvn[] = {0x00, 0xc8}; /* 200 */
    static const uint8_t comp5[] = {0x00, 0xff};  /* 255 */
    struct ext_spec s = {6, false, false, pcesvn, 2, 0x02, comp5, 2, 0x0a};
    return s;
}

static void ext_build(const struct ext_spec *s, struct der *out)
{
    static const uint8_t ppid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const uint8_t fmspc[6] = {0x90, 0xc0, 0x6f, 0, 0, 0};
    static const uint8_t cpusvn[16] = {7};
    static const uint8_t pceid[2] = {0, 0};
    static const uint8_t one = 1;
    struct der tcb = {.n = 0}, body = {.n = 0};
    for (uint8_t i = 1; i <= 16; i++) {
        uint8_t arcs[2] = {2, i};
        uint8_t v = i;
        if (i == 5) {
            der_entry(&tcb, arcs, 2, s->comp5_tag, s->comp5, s->comp5_len);
        } else {
            der_entry(&tcb, arcs, 2, 0x02, &v, 1);
        }
    }
    der_entry(&tcb, (const uint8_t[]){2, 17}, 2, 0x02, s->pcesvn, s->pcesvn_len);
    der_entry(&tcb, (const uint8_t[]){2, 18}, 2, 0x04, cpusvn, 16);
    if (!s->drop_ppid) {
        der_entry(&body, (const uint8_t[]){1}, 1, 0x04, ppid, 16);
    }
    der_entry(&body, (const uint8_t[]){2}, 1, 0x30, tcb.b, tcb.n);
    der_entry(&body, (const uint8_t[]){3}, 1, 0x04, pceid, 2);
    der_entry(&body, (const uint8_t[]){4}, 1, 0x04, fmspc, s->fmspc_len);
    if (s->twice_fmspc) {
        der_entry(&body, (const uint8_t[]){4}, 1, 0x04, fmspc, s->fmspc_len);
    }
    der_entry(&body, (const uint8_t[]){5}, 1, s->sgx_type_tag, &one, 1);
    der_entry(&body, (const uint8_t[]){99}, 1, 0x05, NULL, 0); /* unknown: skipped */
    out->n = 0;
    der_put(out, 0x30, body.b, body.n);
}

/* A certificate (unsigned: the parser never looks) with the given extension(s). */
static X509 *synthetic_leaf(const struct der *ext, int copies, const char *issuer_cn)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)issuer_cn, -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    X509_NAME_free(name);
    ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, ext->b, (int)ext->n);
    for (int i = 0; i < copies; i++) {
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return x;
}

static void test_pck_synthetic(void **state)
{
    (void)state;
    struct der ext;
    struct ext_spec s = valid_spec();
    ext_build(&s, &ext);
    {
        _cleanup_(X509_freep) X509 *x = synthetic_leaf(&ext, 1, "Intel SGX PCK Processor CA");
        struct dga_pck_ext out;
        struct dga_diag d = {0};
        assert_int_equal(dga_pck_ext_parse(x, &out, &d), DGA_E_OK);
        assert_true(out.processor_ca);
        assert_int_equal(out.pce_svn, 200);
        assert_int_equal(out.comp_svn[4], 255);
        assert_int_equal(out.comp_svn[15], 16);
        assert_hex(out.fmspc, 6, "90c06f000000");
        assert_int_equal(out.sgx_type, 1);
        assert_false(out.has_platform_instance_id);
    }
    {
        _cleanup_(X509_freep) X509 *twice = synthetic_leaf(&ext, 2, "Intel SGX PCK Platform CA");
        pck_fails(twice, "extension");
        _cleanup_(X509_freep) X509 *other = synthetic_leaf(&ext, 1, "Some Other CA");
        pck_fails(other, "issuer");
    }
    static const uint8_t three[] = {1, 0, 0};
    static const uint8_t neg[] = {0x80};
    static const uint8_t k256[] = {0x01, 0x00};
    struct {
        struct ext_spec s;
        const char *field;
    } bad[9];
    for (size_t i = 0; i < 9; i++) {
        bad[i].s = valid_spec();
    }
    bad[0].s.fmspc_len = 5, bad[0].field = "fmspc";
    bad[1].s.drop_ppid = true, bad[1].field = "ppid";
    bad[2].s.twice_fmspc = true, bad[2].field = "fmspc";
    bad[3].s.pcesvn = three, bad[3].s.pcesvn_len = 3, bad[3].field = "pce_svn";
    bad[4].s.pcesvn = neg, bad[4].s.pcesvn_len = 1, bad[4].field = "pce_svn";
    bad[5].s.comp5 = k256, bad[5].s.comp5_len = 2, bad[5].field = "tcb_comp_svn";
    bad[6].s.comp5_tag = 0x04, bad[6].field = "tcb_comp_svn";
    bad[7].s.sgx_type_tag = 0x02, bad[7].field = "sgx_type";
    bad[8].s.pcesvn_len = 0, bad[8].field = "pce_svn";
    for (size_t i = 0; i < 9; i++) {
        print_message("pck case %zu (%s)\n", i, bad[i].field);
        ext_build(&bad[i].s, &ext);
        _cleanup_(X509_freep) X509 *x = synthetic_leaf(&ext, 1, "Intel SGX PCK Platform CA");
        pck_fails(x, bad[i].field);
    }
    /* not DER at all */
    struct der junk = {.b = {0x30, 0x05, 0x01}, .n = 3};
    _cleanup_(X509_freep) X509 *x = synthetic_leaf(&junk, 1, "Intel SGX PCK Platform CA");
    pck_fails(x, "extension");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_vectors),
        cmocka_unit_test(test_v4_sample),
        cmocka_unit_test(test_v5_sample),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_truncation_diag),
        cmocka_unit_test(test_corruptions_v4),
        cmocka_unit_test(test_version_zero_and_sgx_v4),
        cmocka_unit_test(test_corruptions_v5),
        cmocka_unit_test(test_v5_td10),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_inner_type_not_pem),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_input_forms),
        cmocka_unit_test(test_input_errors),
        cmocka_unit_test(test_input_sgx_binary),
        cmocka_unit_test(test_pck_no_extension),
        cmocka_unit_test(test_pck_synthetic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
