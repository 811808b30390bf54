/* SPDX-License-Identifier: Apache-2.0 */
/* Evidence containers: NVIDIA's serialized evidence JSON and the raw pair. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dga/evidence.h"
#include "dga/util.h"

#define PPCIE "gpu/h100_590.12_ppcie/evidence.json"

static dga_err parse_text(const char *text, struct dga_diag *diag)
{
    struct dga_evidence_set *s = calloc(1, sizeof *s);
    dga_err e = dga_evidence_json_parse(text, strlen(text), s, diag);
    dga_evidence_set_clear(s);
    free(s);
    return e;
}

static void test_ppcie_evidence(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)fixture_read(PPCIE, &len);
    struct dga_evidence_set *s = calloc(1, sizeof *s);
    assert_int_equal(dga_evidence_json_parse(text, len, s, NULL), DGA_E_OK);
    assert_int_equal(s->n, 1);
    assert_int_equal(s->dev[0].arch, DGA_ARCH_HOPPER);
    assert_true(s->dev[0].has_nonce);
    uint8_t n2[32];
    assert_int_equal(dga_hex_decode_fixed(NONCE_N2, n2, 32), DGA_E_OK);
    assert_memory_equal(s->dev[0].nonce, n2, 32);
    assert_true(strncmp(s->dev[0].chain_pem, "-----BEGIN CERTIFICATE-----", 27) == 0);
    assert_int_equal(s->dev[0].chain_pem[s->dev[0].chain_pem_len], '\0');
    /* The report decodes and derives PPCIe mode and 18 switch PDIs. */
    struct dga_report *r = malloc(sizeof *r);
    struct dga_derived d;
    assert_int_equal(
        dga_report_parse(s->dev[0].report, s->dev[0].report_len, DGA_ARCH_HOPPER, r, NULL),
        DGA_E_OK);
    assert_int_equal(dga_report_derive(r, &d, NULL), DGA_E_OK);
    assert_string_equal(d.driver_version, "590.12");
    assert_string_equal(d.vbios_version, "96.00.A5.00.01");
    assert_int_equal(d.mode, DGA_MODE_PPCIE);
    assert_int_equal(d.protected_pcie, 1);
    assert_true(d.has_pdis);
    assert_true(d.n_pdis > 0 && d.n_pdis <= 18);
    for (size_t i = 1; i < d.n_pdis; i++) {
        assert_true(strcmp(d.pdis[i - 1], d.pdis[i]) < 0);
    }
    free(r);
    dga_evidence_set_clear(s);
    free(s);
    free(text);
}

/* {"evidences": [...]} as nvattest collect-evidence --format json writes it. */
static void test_wrapper_form(void **state)
{
    (void)state;
    size_t len;
    char *inner = (char *)fixture_read(PPCIE, &len);
    size_t cap = len + 64;
    char *text = malloc(cap);
    snprintf(text, cap, "{\"evidences\": %s, \"result_code\": 0}", inner);
    struct dga_evidence_set *s = calloc(1, sizeof *s);
    assert_int_equal(dga_evidence_json_parse(text, strlen(text), s, NULL), DGA_E_OK);
    assert_int_equal(s->n, 1);
    dga_evidence_set_clear(s);
    free(s);
    free(text);
    free(inner);
}

#define DEV(arch, nonce, ev, cert)                                                                 \
    "{\"arch\":\"" arch "\",\"nonce\":\"" nonce "\",\"evidence\":\"" ev                            \
    "\",\"certificate\":\"" cert "\"}"

static void test_malformed(void **state)
{
    (void)state;
    struct dga_diag diag = {0};
    assert_int_equal(parse_text("[]", &diag), DGA_E_NO_DEVICES);
    assert_int_equal(parse_text("{}", &diag), DGA_E_BAD_JSON);
    assert_int_equal(parse_text("[1]", &diag), DGA_E_BAD_JSON);
    assert_int_equal(parse_text("[{\"arch\":\"HOPPER\"}]", &diag), DGA_E_BAD_JSON);
    assert_int_equal(parse_text("[" DEV("AMPERE", NONCE_N1, "AAAA", "AAAA") "]", &diag),
                     DGA_E_BAD_ARCH);
    assert_int_equal(parse_text("[" DEV("hopper", "00", "AAAA", "AAAA") "]", &diag), DGA_E_BAD_HEX);
    assert_int_equal(parse_text("[" DEV("LS10", NONCE_N1, "AA!A", "AAAA") "]", &diag),
                     DGA_E_BAD_BASE64);
    assert_int_equal(parse_text("[" DEV("BLACKWELL", NONCE_N1, "AAAA", "AA=A") "]", &diag),
                     DGA_E_BAD_BASE64);
    /* PEM text with an embedded NUL ("AAAA" decodes to three zero bytes). */
    assert_int_equal(parse_text("[" DEV("HOPPER", NONCE_N1, "AAAA", "AAAA") "]", &diag),
                     DGA_E_BAD_PEM);
    /* The second device is the bad one: the diag names index 1. */
    assert_int_equal(parse_text("[" DEV("HOPPER", NONCE_N1, "AAAA",
                                        "QUJD") "," DEV("HOPPER", NONCE_N1, "AAAA", "QUJ") "]",
                                &diag),
                     DGA_E_BAD_BASE64);
    assert_int_equal(diag.offset, 1);
    assert_int_equal(parse_text("[{\"arch\":\"HOPPER\",\"arch\":\"HOPPER\"}]", &diag),
                     DGA_E_BAD_JSON);
}

static void test_device_limits(void **state)
{
    (void)state;
    size_t cap = 200 * (DGA_MAX_DEVICES + 2);
    char *text = malloc(cap);
    size_t off = (size_t)snprintf(text, cap, "[");
    for (int i = 0; i <= DGA_MAX_DEVICES; i++) {
        off += (size_t)snprintf(text + off, cap - off, "%s" DEV("HOPPER", NONCE_N1, "QUJD", "QUJD"),
                                i == 0 ? "" : ",");
    }
    snprintf(text + off, cap - off, "]");
    struct dga_diag diag = {0};
    assert_int_equal(parse_text(text, &diag), DGA_E_TOO_MANY_DEVICES);
    free(text);

    char *huge = calloc(1, DGA_EVIDENCE_JSON_MAX + 2);
    memset(huge, ' ', DGA_EVIDENCE_JSON_MAX + 1);
    struct dga_evidence_set *s = calloc(1, sizeof *s);
    assert_int_equal(dga_evidence_json_parse(huge, DGA_EVIDENCE_JSON_MAX + 1, s, &diag),
                     DGA_E_TOO_LARGE);
    free(s);
    free(huge);
}

/* Every prefix of the real evidence file is rejected, never accepted or crashed on. */
static void test_every_truncation(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)fixture_read(PPCIE, &len);
    /* Trailing whitespace can go without changing the document. */
    size_t end = len;
    while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == ' ')) {
        end--;
    }
    struct dga_evidence_set *s = calloc(1, sizeof *s);
    for (size_t n = 0; n < end; n++) {
        dga_err e = dga_evidence_json_parse(text, n, s, NULL);
        if (e != DGA_E_BAD_JSON) {
            fail_msg("evidence cut to %zu bytes: %s", n, dga_err_name(e));
        }
    }
    free(s);
    free(text);
}

static void test_raw_pair(void **state)
{
    (void)state;
    size_t hex_len, pem_len;
    uint8_t *hex = fixture_read("gpu/h100_580.159.03/report.hex", &hex_len);
    char *pem = (char *)fixture_read("gpu/h100_580.159.03/certchain.pem", &pem_len);
    struct dga_evidence_set *s = calloc(1, sizeof *s);
    assert_int_equal(dga_evidence_raw(hex, hex_len, pem, pem_len, DGA_ARCH_HOPPER, s), DGA_E_OK);
    assert_int_equal(s->n, 1);
    assert_false(s->dev[0].has_nonce);
    assert_int_equal(s->dev[0].report_len, 4130);
    /* The same report as binary gives the same bytes. */
    struct dga_evidence_set *b = calloc(1, sizeof *b);
    assert_int_equal(
        dga_evidence_raw(s->dev[0].report, s->dev[0].report_len, pem, pem_len, DGA_ARCH_HOPPER, b),
        DGA_E_OK);
    assert_memory_equal(b->dev[0].report, s->dev[0].report, 4130);
    dga_evidence_set_clear(b);
    free(b);
    /* Odd hex length is bad hex. */
    assert_int_equal(dga_evidence_raw(hex, hex_len - 1, pem, pem_len, DGA_ARCH_HOPPER, s),
                     DGA_E_BAD_HEX);
    dga_evidence_set_clear(s);
    free(s);
    free(hex);
    free(pem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ppcie_evidence),   cmocka_unit_test(test_wrapper_form),
        cmocka_unit_test(test_malformed),        cmocka_unit_test(test_device_limits),
        cmocka_unit_test(test_every_truncation), cmocka_unit_test(test_raw_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
