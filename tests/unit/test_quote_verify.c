/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TDX quote verification: the pinned Intel root, P-256 signatures, Intel's
 * chains with their CRLs (pki.c) over a private P-256 PKI made at test time
 * (tests/pki/make_pki.sh tdx), and dga_quote_verify over synthetic quotes and
 * collateral (tests/quote/make_quote) for every rule the real vectors cannot
 * reach. Every case asserts the exact error and the input diag names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "testutil.h"

#include "core/cleanup.h"
#include "dga/quote.h"
#include "dga/util.h"
#include "dga/x509.h"
#include "quote/testing.h"

#define T_2025 "2025-07-01T00:00:00Z"

static char pki_dir[64];

static time_t at(const char *text)
{
    time_t t = 0;
    assert_int_equal(dga_time_parse(text, &t), DGA_E_OK);
    return t;
}

static const char *pki_path(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", pki_dir, name);
    return path;
}

static uint8_t *pki_read(const char *name, size_t *ret_len)
{
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(dga_file_read(pki_path(name), 1u << 20, &data, &len), DGA_E_OK);
    *ret_len = len;
    return data;
}

static int pki_setup(void **state)
{
    (void)state;
    const char *script = getenv("DGA_PKI_SCRIPT");
    snprintf(pki_dir, sizeof pki_dir, "/tmp/dga-qpki-XXXXXX");
    if (script == NULL || mkdtemp(pki_dir) == NULL) {
        return -1;
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sh '%s' tdx '%s'", script, pki_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int pki_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pki_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The test root as a custom trust anchor. */
static void test_root(struct dga_trust *t)
{
    size_t len = 0;
    _cleanup_(freep) uint8_t *pem = pki_read("root.pem", &len);
    assert_int_equal(dga_trust_from_pem((const char *)pem, len, t), DGA_E_OK);
}

/* ---------------------------------------------------------------- the pinned root */

static void test_intel_root_pinned(void **state)
{
    (void)state;
    static const char want[] = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";
    uint8_t digest[32];
    char hex[65];
    assert_int_equal(EVP_Digest(dga_intel_sgx_root_der, dga_intel_sgx_root_der_len, digest, NULL,
                                EVP_sha256(), NULL),
                     1);
    dga_hex_encode(digest, sizeof digest, hex);
    assert_string_equal(hex, want);
    /* the same bytes as the fixture the provenance table describes */
    size_t len = 0;
    _cleanup_(freep) uint8_t *fix = fixture_read("roots/intel_sgx_root_ca.der", &len);
    assert_int_equal(len, dga_intel_sgx_root_der_len);
    assert_memory_equal(fix, dga_intel_sgx_root_der, len);

    struct dga_trust t = {0};
    assert_int_equal(dga_trust_intel_sgx_root(&t), DGA_E_OK);
    assert_false(t.custom);
    char cn[64];
    X509_NAME_get_text_by_NID(X509_get_subject_name(t.root), NID_commonName, cn, sizeof cn);
    assert_string_equal(cn, "Intel SGX Root CA");
    dga_trust_clear(&t);
    assert_int_equal(dga_trust_intel_sgx_root(NULL), DGA_E_BAD_ARGUMENT);
}

/* ---------------------------------------------------------------- P-256 signatures */

static EVP_PKEY *keygen(const char *curve)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    assert_non_null(k);
    return k;
}

/* ECDSA P-256/SHA-256 over msg as raw r||s. */
static void sign_raw(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t der_len = sizeof der;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(md, der, &der_len, msg, len), 1);
    const unsigned char *p = der;
    _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    assert_non_null(es);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32), 32);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32), 32);
}

static void raw_point(EVP_PKEY *k, uint8_t xy[64])
{
    uint8_t pt[65];
    size_t len = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", pt, sizeof pt, &len), 1);
    assert_int_equal(len, 65);
    assert_int_equal(pt[0], 0x04);
    memcpy(xy, pt + 1, 64);
}

static void test_p256_verify_raw(void **state)
{
    (void)state;
    static const uint8_t msg[] = "the signed region of a quote";
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = keygen("P-256");
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *k384 = keygen("P-384");
    uint8_t sig[64];
    sign_raw(k, msg, sizeof msg, sig);
    assert_int_equal(dga_p256_verify_raw(k, msg, sizeof msg, sig), DGA_E_OK);
    /* one bit anywhere: the message, r, s */
    uint8_t bad[sizeof msg];
    memcpy(bad, msg, sizeof msg);
    bad[3] ^= 1;
    assert_int_equal(dga_p256_verify_raw(k, bad, sizeof bad, sig), DGA_E_SIGNATURE_INVALID);
    sig[0] ^= 0x80;
    assert_int_equal(dga_p256_verify_raw(k, msg, sizeof msg, sig), DGA_E_SIGNATURE_INVALID);
    sig[0] ^= 0x80;
    sig[63] ^= 1;
    assert_int_equal(dga_p256_verify_raw(k, msg, sizeof msg, sig), DGA_E_SIGNATURE_INVALID);
    sig[63] ^= 1;
    assert_int_equal(dga_p256_verify_raw(k384, msg, sizeof msg, sig), DGA_E_CHAIN_ALGORITHM);
    assert_int_equal(dga_p256_verify_raw(k, NULL, 4, sig), DGA_E_BAD_ARGUMENT);

    /* the same key from its raw point X||Y (a quote's attestation key) */
    uint8_t xy[64];
    raw_point(k, xy);
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *from_raw = NULL;
    assert_int_equal(dga_p256_key_from_raw(xy, &from_raw), DGA_E_OK);
    assert_int_equal(dga_p256_verify_raw(from_raw, msg, sizeof msg, sig), DGA_E_OK);
    /* a point off the curve is refused, and *ret untouched */
    xy[63] ^= 1;
    EVP_PKEY *off = NULL;
    assert_int_equal(dga_p256_key_from_raw(xy, &off), DGA_E_SIGNATURE_INVALID);
    assert_null(off);
}

/* ---------------------------------------------------------------- CRLs (step 0) */

struct crl_case {
    const char *root_crl;
    const char *pck_crl;
    const char *at;
    dga_err want;
    const char *field;
};

static void run_crls(const struct dga_trust *root, const struct crl_case *c)
{
    size_t rl = 0;
    size_t pl = 0;
    _cleanup_(freep) uint8_t *r = pki_read(c->root_crl, &rl);
    _cleanup_(freep) uint8_t *p = pki_read(c->pck_crl, &pl);
    struct quote_crls crls = {0};
    struct dga_diag diag = {0};
    dga_err e = quote_crls_load(r, rl, p, pl, root, at(c->at), &crls, &diag);
    assert_string_equal(dga_err_name(e), dga_err_name(c->want));
    if (e == DGA_E_OK) {
        assert_non_null(crls.root_ca_crl);
        assert_non_null(crls.pck_crl);
    } else {
        assert_string_equal(diag.field, c->field);
        assert_null(crls.root_ca_crl);
    }
    quote_crls_clear(&crls);
}

static void test_crls_step0(void **state)
{
    (void)state;
    struct dga_trust root = {0};
    test_root(&root);
    static const struct crl_case cases[] = {
        {"root.crl", "pck.crl", T_2025, DGA_E_OK, NULL},
        /* the root CRL has expired: the root itself cannot be checked (CRL_CHECK_ALL) */
        {"root-expired.crl", "pck.crl", T_2025, DGA_E_CRL_EXPIRED, "root_ca_crl"},
        /* before the root CRL's thisUpdate */
        {"root.crl", "pck.crl", "2019-06-01T00:00:00Z", DGA_E_CRL_NOT_YET_VALID, "root_ca_crl"},
        /* the PCK CA's CRL where the root's belongs: no CRL covers the root */
        {"pck.crl", "pck.crl", T_2025, DGA_E_CRL_INVALID, "root_ca_crl"},
        /* not a CRL at all */
        {"root.der", "pck.crl", T_2025, DGA_E_CRL_INVALID, "root_ca_crl"},
        {"root.crl", "root.der", T_2025, DGA_E_CRL_INVALID, "pck_crl"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_crls(&root, &cases[i]);
    }
    /* the test CRLs against the Intel root: its CRL is missing */
    struct dga_trust intel = {0};
    assert_int_equal(dga_trust_intel_sgx_root(&intel), DGA_E_OK);
    run_crls(&intel,
             &(struct crl_case){"root.crl", "pck.crl", T_2025, DGA_E_CRL_INVALID, "root_ca_crl"});
    dga_trust_clear(&intel);
    dga_trust_clear(&root);
}

static void test_crl_strict_der(void **state)
{
    (void)state;
    struct dga_trust root = {0};
    test_root(&root);
    size_t rl = 0;
    size_t pl = 0;
    _cleanup_(freep) uint8_t *r = pki_read("root.crl", &rl);
    _cleanup_(freep) uint8_t *p = pki_read("pck.crl", &pl);
    _cleanup_(freep) uint8_t *longer = malloc(pl + 1);
    assert_non_null(longer);
    memcpy(longer, p, pl);
    longer[pl] = 0;
    struct quote_crls crls = {0};
    struct dga_diag diag = {0};
    /* a byte after the CRL */
    assert_int_equal(quote_crls_load(r, rl, longer, pl + 1, &root, at(T_2025), &crls, &diag),
                     DGA_E_CRL_INVALID);
    assert_string_equal(diag.field, "pck_crl");
    assert_int_equal(diag.offset, pl);
    /* empty */
    assert_int_equal(quote_crls_load(r, 0, p, pl, &root, at(T_2025), &crls, &diag),
                     DGA_E_CRL_INVALID);
    assert_string_equal(diag.field, "root_ca_crl");
    dga_trust_clear(&root);
}

/* ---------------------------------------------------------------- chains with CRLs */

struct chain_case {
    const char *chain;
    const char *pck_crl;
    const char *at;
    dga_err chain_err;
    dga_err want;
    const char *field;
    size_t depth;
};

static void run_chain(const struct dga_trust *root, const struct chain_case *c)
{
    size_t rl = 0;
    size_t pl = 0;
    size_t cl = 0;
    _cleanup_(freep) uint8_t *r = pki_read("root.crl", &rl);
    _cleanup_(freep) uint8_t *p = pki_read(c->pck_crl, &pl);
    _cleanup_(freep) uint8_t *pem = pki_read(c->chain, &cl);
    struct quote_crls crls = {0};
    assert_int_equal(quote_crls_load(r, rl, p, pl, root, at(T_2025), &crls, NULL), DGA_E_OK);
    const struct quote_chain_spec spec = {c->chain_err, "the-input", 0};
    struct dga_diag diag = {0};
    X509 *leaf = NULL;
    dga_err e =
        quote_chain_verify((const char *)pem, cl, &spec, root, &crls, at(c->at), &leaf, &diag);
    assert_string_equal(dga_err_name(e), dga_err_name(c->want));
    if (e == DGA_E_OK) {
        assert_non_null(leaf);
        X509_free(leaf);
    } else {
        assert_null(leaf);
        assert_string_equal(diag.field, c->field);
        assert_int_equal(diag.offset, c->depth);
    }
    quote_crls_clear(&crls);
}

static void test_chains(void **state)
{
    (void)state;
    struct dga_trust root = {0};
    test_root(&root);
    const dga_err P = DGA_E_PCK_CHAIN;
    const dga_err T = DGA_E_TCB_SIGNING_CHAIN;
    const struct chain_case cases[] = {
        {"chain-pck.pem", "pck.crl", T_2025, P, DGA_E_OK, NULL, 0},
        {"chain-tcb.pem", "pck.crl", T_2025, T, DGA_E_OK, NULL, 0},
        /* the PCK leaf is listed by its CA's CRL */
        {"chain-pckrev.pem", "pck-revoked.crl", T_2025, P, DGA_E_CERT_REVOKED, "the-input", 0},
        {"chain-pck.pem", "pck-revoked.crl", T_2025, P, DGA_E_OK, NULL, 0},
        /* the PCK CRL has expired, or is not yet valid */
        {"chain-pck.pem", "pck-expired.crl", T_2025, P, DGA_E_CRL_EXPIRED, "pck_crl", 0},
        {"chain-pck.pem", "pck-future.crl", T_2025, P, DGA_E_CRL_NOT_YET_VALID, "pck_crl", 0},
        /* the TCB signing chain needs only the root CRL: an expired PCK CRL is not its business */
        {"chain-tcb.pem", "pck-expired.crl", T_2025, T, DGA_E_OK, NULL, 0},
        /* a CA where an end entity belongs (webpki's CaUsedAsEndEntity) */
        {"chain-pckasca.pem", "pck.crl", T_2025, P, DGA_E_PCK_CHAIN, "the-input", 0},
        {"chain-tcbca.pem", "pck.crl", T_2025, T, DGA_E_TCB_SIGNING_CHAIN, "the-input", 0},
        /* a leaf alone */
        {"pck.pem", "pck.crl", T_2025, P, DGA_E_PCK_CHAIN, "the-input", 0},
        {"tcb.pem", "pck.crl", T_2025, T, DGA_E_TCB_SIGNING_CHAIN, "the-input", 0},
        /* the leaf and the root without the PCK CA: no path */
        {"pck-root.pem", "pck.crl", T_2025, P, DGA_E_PCK_CHAIN, "the-input", 0},
        /* not PEM */
        {"root.der", "pck.crl", T_2025, P, DGA_E_PCK_CHAIN, "the-input", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("chain case %zu: %s\n", i, cases[i].chain);
        run_chain(&root, &cases[i]);
    }
    dga_trust_clear(&root);
}

/* The test chains do not reach the Intel root, at the depth where the path ends. */
static void test_chain_wrong_root(void **state)
{
    (void)state;
    struct dga_trust root = {0};
    struct dga_trust intel = {0};
    test_root(&root);
    assert_int_equal(dga_trust_intel_sgx_root(&intel), DGA_E_OK);
    size_t rl = 0;
    size_t pl = 0;
    size_t cl = 0;
    _cleanup_(freep) uint8_t *r = pki_read("root.crl", &rl);
    _cleanup_(freep) uint8_t *p = pki_read("pck.crl", &pl);
    _cleanup_(freep) uint8_t *pem = pki_read("chain-pck.pem", &cl);
    struct quote_crls crls = {0};
    assert_int_equal(quote_crls_load(r, rl, p, pl, &root, at(T_2025), &crls, NULL), DGA_E_OK);
    const struct quote_chain_spec spec = {DGA_E_PCK_CHAIN, "quote.cert_data", 0};
    struct dga_diag diag = {0};
    X509 *leaf = NULL;
    assert_int_equal(
        quote_chain_verify((const char *)pem, cl, &spec, &intel, &crls, at(T_2025), &leaf, &diag),
        DGA_E_PCK_CHAIN);
    assert_string_equal(diag.field, "quote.cert_data");
    assert_int_equal(diag.offset, 2);
    assert_null(leaf);
    quote_crls_clear(&crls);
    dga_trust_clear(&intel);
    dga_trust_clear(&root);
}

/* ---------------------------------------------------------------- the prepared collateral */

struct outcome {
    dga_err err;
    const char *field;
    size_t offset;
    enum dga_tcb_status status;
};

static struct outcome verify_at(const struct dga_quote *q, const struct dga_quote_collateral *c,
                                const char *when)
{
    struct dga_quote_verify_opts opts = {.at = at(when)};
    struct dga_quote_verdict v;
    struct dga_diag d = {0};
    memset(&v, 0, sizeof v);
    struct outcome o = {.err = dga_quote_verify(q, c, &opts, &v, &d)};
    o.field = o.err != DGA_E_OK ? d.field : "";
    o.offset = d.offset;
    o.status = v.status.status;
    return o;
}

/* The same collateral without its preparation: everything decoded and checked in the call. */
static struct outcome verify_unprepared(const struct dga_quote *q,
                                        const struct dga_quote_collateral *c, const char *when)
{
    struct dga_quote_collateral bare = *c;
    bare.prepared = NULL;
    return verify_at(q, &bare, when);
}

static void assert_outcome(struct outcome got, struct outcome want)
{
    assert_string_equal(dga_err_name(got.err), dga_err_name(want.err));
    assert_string_equal(got.field, want.field);
    assert_int_equal(got.offset, want.offset);
    assert_int_equal(got.status, want.status);
}

/*
 * A parsed collateral's preparation never changes a verdict: the time is
 * judged at each call (one parsed collateral passes, then fails, then
 * passes again as the time moves), and a member changed after parsing is
 * verified as its new bytes, exactly as without a preparation.
 */
static void test_prepared_collateral(void **state)
{
    (void)state;
    size_t ql = 0;
    size_t cl = 0;
    _cleanup_(freep) uint8_t *qb = fixture_read("tdx/tdx_quote", &ql);
    _cleanup_(freep) uint8_t *cj = fixture_read("tdx/tdx_quote_collateral.json", &cl);
    struct dga_quote q;
    assert_int_equal(dga_quote_parse(qb, ql, &q, NULL), DGA_E_OK);
    _cleanup_(dga_quote_collateral_clearp) struct dga_quote_collateral c = {0};
    assert_int_equal(dga_quote_collateral_parse((const char *)cj, cl, &c, NULL), DGA_E_OK);
    assert_non_null(c.prepared);

    static const struct {
        const char *when;
        struct outcome want;
    } times[] = {
        {T_2025, {DGA_E_OK, "", 0, DGA_TCB_UP_TO_DATE}},
        /* after the PCK CRL's nextUpdate, before the TCB info's */
        {"2025-07-19T10:10:00Z", {DGA_E_CRL_EXPIRED, "pck_crl", 0, DGA_TCB_UP_TO_DATE}},
        {"2025-06-19T10:32:27Z", {DGA_E_OK, "", 0, DGA_TCB_UP_TO_DATE}},
        {"2025-06-19T10:32:26Z",
         {DGA_E_QE_IDENTITY_NOT_YET_VALID, "qe_identity", 0, DGA_TCB_UP_TO_DATE}},
        {"2026-05-01T00:00:00Z", {DGA_E_CRL_EXPIRED, "root_ca_crl", 0, DGA_TCB_UP_TO_DATE}},
        {T_2025, {DGA_E_OK, "", 0, DGA_TCB_UP_TO_DATE}},
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        struct outcome got = verify_at(&q, &c, times[i].when);
        struct outcome bare = verify_unprepared(&q, &c, times[i].when);
        if (got.err != DGA_E_OK) {
            got.status = bare.status = DGA_TCB_UP_TO_DATE; /* no verdict to compare */
        }
        assert_outcome(got, times[i].want);
        assert_outcome(bare, times[i].want);
    }

    /* Members changed in place after parsing: the preparation no longer matches them. */
    c.tcb_info_signature[5] ^= 0x01;
    assert_outcome(verify_at(&q, &c, T_2025),
                   (struct outcome){DGA_E_TCB_INFO_SIGNATURE, "tcb_info_signature", 0, 0});
    c.tcb_info_signature[5] ^= 0x01;
    c.qe_identity_signature[60] ^= 0x80;
    assert_outcome(verify_at(&q, &c, T_2025),
                   (struct outcome){DGA_E_QE_IDENTITY_SIGNATURE, "qe_identity_signature", 0, 0});
    c.qe_identity_signature[60] ^= 0x80;
    c.pck_crl[c.pck_crl_len - 1] ^= 0x01; /* inside the CRL's signature */
    struct outcome bare = verify_unprepared(&q, &c, T_2025);
    assert_outcome(verify_at(&q, &c, T_2025), bare);
    assert_int_equal(bare.err, DGA_E_CRL_INVALID);
    c.pck_crl[c.pck_crl_len - 1] ^= 0x01;
    char *tcb = strstr(c.tcb_info, "\"tcbEvaluationDataNumber\":");
    assert_non_null(tcb);
    tcb[2] = 'T'; /* "tTbEvaluationDataNumber": the text is no longer what Intel signed */
    assert_outcome(verify_at(&q, &c, T_2025), verify_unprepared(&q, &c, T_2025));
    assert_int_equal(verify_at(&q, &c, T_2025).err, DGA_E_TCB_INFO_MALFORMED);
    tcb[2] = 'c';
    assert_outcome(verify_at(&q, &c, T_2025), (struct outcome){DGA_E_OK, "", 0, 0});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intel_root_pinned),
        cmocka_unit_test(test_p256_verify_raw),
        cmocka_unit_test(test_crls_step0),
        cmocka_unit_test(test_crl_strict_der),
        cmocka_unit_test(test_chains),
        cmocka_unit_test(test_chain_wrong_root),
        cmocka_unit_test(test_prepared_collateral),
    };
    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
