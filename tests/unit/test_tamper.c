/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exhaustive tampering on the H100 580.159.03 evidence: every single-bit flip
 * of the signed region, of the signature and of the leaf certificate must
 * make verification fail with the right error. Not sampled: every byte,
 * every bit.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dga/util.h"
#include "dga/verify.h"

#define DIR "gpu/h100_580.159.03/"

struct fixture {
    uint8_t *report;
    size_t report_len;
    char *pem;
    size_t pem_len;
    struct dga_trust trust;
    struct dga_verify_options opt;
    struct dga_device_result *res;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->report = fixture_report(DIR "report.hex", &f->report_len);
    f->pem = (char *)fixture_read(DIR "certchain.pem", &f->pem_len);
    assert_int_equal(dga_trust_nvidia_device(&f->trust), DGA_E_OK);
    f->opt.trust = &f->trust;
    assert_int_equal(dga_hex_decode_fixed(NONCE_580, f->opt.nonce, DGA_NONCE_LEN), DGA_E_OK);
    assert_int_equal(dga_time_parse("2024-06-01T00:00:00Z", &f->opt.at), DGA_E_OK);
    f->res = calloc(1, sizeof *f->res);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free(f->report);
    free(f->pem);
    free(f->res);
    dga_trust_clear(&f->trust);
    free(f);
    return 0;
}

static dga_err verify(struct fixture *f, uint8_t *report, char *pem, size_t pem_len)
{
    struct dga_device_evidence ev = {
        .arch = DGA_ARCH_HOPPER,
        .report = report,
        .report_len = f->report_len,
        .chain_pem = pem,
        .chain_pem_len = pem_len,
    };
    return dga_verify_device(&ev, &f->opt, f->res);
}

static void test_untampered_passes(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(verify(f, f->report, f->pem, f->pem_len), DGA_E_OK);
}

static bool is_parse_error(dga_err e)
{
    return e != DGA_E_OK && e != DGA_E_SIGNATURE_INVALID && e != DGA_E_NONCE_MISMATCH &&
           e != DGA_E_FWID_MISMATCH && e != DGA_E_CHAIN_INVALID;
}

/* Whether a tampered report is rejected for the right reason, given the check that failed. */
static bool right_report_error(size_t i, size_t signed_len, enum dga_check check, dga_err e)
{
    if (i >= signed_len) {
        return e == DGA_E_SIGNATURE_INVALID; /* the signature itself: always well-formed */
    }
    return check == DGA_CHECK_PARSE ? is_parse_error(e) : e == DGA_E_SIGNATURE_INVALID;
}

/*
 * Every bit of the report: a flip in the signed region either breaks the
 * structure (a named parse error) or leaves a well-formed report whose
 * signature no longer verifies under the (verified) leaf key; a flip in the
 * signature always fails the signature. This runs the pipeline's own parse
 * and signature steps with the chain verified once, so that all 33,040 flips
 * stay fast; the next test runs the whole pipeline once per byte.
 */
static void test_every_report_bit(void **state)
{
    struct fixture *f = *state;
    STACK_OF(X509) *chain = NULL;
    assert_int_equal(dga_pem_chain_parse(f->pem, f->pem_len, &chain, NULL), DGA_E_OK);
    X509 *leaf = sk_X509_value(chain, 0);
    struct dga_report *r = malloc(sizeof *r);
    struct dga_derived d;
    size_t signed_len = f->report_len - DGA_SIGNATURE_LEN;
    for (size_t i = 0; i < f->report_len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            f->report[i] ^= (uint8_t)(1u << bit);
            enum dga_check check = DGA_CHECK_PARSE;
            dga_err e = dga_report_parse(f->report, f->report_len, DGA_ARCH_HOPPER, r, NULL);
            if (e == DGA_E_OK) {
                e = dga_report_derive(r, &d, NULL);
            }
            if (e == DGA_E_OK) {
                check = DGA_CHECK_SIGNATURE;
                e = dga_report_signature_verify(leaf, f->report, r->signed_len, r->signature);
            }
            f->report[i] ^= (uint8_t)(1u << bit);
            if (!right_report_error(i, signed_len, check, e)) {
                fail_msg("report byte %zu bit %d: %s (%s)", i, bit, dga_err_name(e),
                         dga_check_name(check));
            }
        }
    }
    free(r);
    sk_X509_pop_free(chain, X509_free);
}

/* The whole pipeline, one flipped bit in every byte (bit position = byte index mod 8). */
static void test_every_report_byte_pipeline(void **state)
{
    struct fixture *f = *state;
    size_t signed_len = f->report_len - DGA_SIGNATURE_LEN;
    for (size_t i = 0; i < f->report_len; i++) {
        uint8_t mask = (uint8_t)(1u << (i % 8));
        f->report[i] ^= mask;
        dga_err e = verify(f, f->report, f->pem, f->pem_len);
        f->report[i] ^= mask;
        if (!right_report_error(i, signed_len, f->res->failed_check, e)) {
            fail_msg("report byte %zu: %s (%s)", i, dga_err_name(e),
                     dga_check_name(f->res->failed_check));
        }
    }
}

/* The leaf certificate's DER and where it sits in the PEM text. */
static uint8_t *leaf_der(const struct fixture *f, size_t *ret_len, size_t *ret_pem_end)
{
    const char *end_marker = "-----END CERTIFICATE-----";
    const char *begin = strchr(f->pem, '\n') + 1;
    const char *end = strstr(f->pem, end_marker);
    *ret_pem_end = (size_t)(end - f->pem) + strlen(end_marker);
    char *b64 = calloc(1, (size_t)(end - begin) + 1);
    size_t n = 0;
    for (const char *p = begin; p < end; p++) {
        if (*p != '\n') {
            b64[n++] = *p;
        }
    }
    uint8_t *der = NULL;
    assert_int_equal(dga_base64_decode(b64, n, &der, ret_len), DGA_E_OK);
    free(b64);
    return der;
}

/* The chain text with the leaf replaced by `der`. */
static char *chain_with_leaf(const struct fixture *f, const uint8_t *der, size_t der_len,
                             size_t pem_end, size_t *ret_len)
{
    size_t b64_cap = (der_len + 2) / 3 * 4 + 1;
    char *b64 = malloc(b64_cap);
    int n = EVP_EncodeBlock((unsigned char *)b64, der, (int)der_len);
    size_t cap = (size_t)n + f->pem_len + 128;
    char *out = malloc(cap);
    int len = snprintf(out, cap, "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----%s",
                       b64, f->pem + pem_end);
    free(b64);
    *ret_len = (size_t)len;
    return out;
}

/* Any flip in the leaf certificate breaks the certificate or its chain. */
static void test_every_leaf_bit(void **state)
{
    struct fixture *f = *state;
    size_t der_len, pem_end, pem_len;
    uint8_t *der = leaf_der(f, &der_len, &pem_end);
    /* Re-encoding the untouched leaf gives a chain that still verifies. */
    char *pem = chain_with_leaf(f, der, der_len, pem_end, &pem_len);
    assert_int_equal(verify(f, f->report, pem, pem_len), DGA_E_OK);
    free(pem);
    for (size_t i = 0; i < der_len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            der[i] ^= (uint8_t)(1u << bit);
            pem = chain_with_leaf(f, der, der_len, pem_end, &pem_len);
            dga_err e = verify(f, f->report, pem, pem_len);
            der[i] ^= (uint8_t)(1u << bit);
            free(pem);
            bool ok = f->res->failed_check == DGA_CHECK_CHAIN &&
                      (e == DGA_E_BAD_CERT || e == DGA_E_CHAIN_INVALID);
            if (!ok) {
                fail_msg("leaf byte %zu bit %d: %s (%s)", i, bit, dga_err_name(e),
                         dga_check_name(f->res->failed_check));
            }
        }
    }
    free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untampered_passes),
        cmocka_unit_test(test_every_report_bit),
        cmocka_unit_test(test_every_report_byte_pipeline),
        cmocka_unit_test(test_every_leaf_bit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
