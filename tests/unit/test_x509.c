/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate layer: pinned roots, strict PEM chains, the DER reader, FWID
 * extensions, device chain verification and the report signature. Every
 * negative case asserts the exact error. Times are pinned, never the wall clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "testutil.h"

#include "core/cleanup.h"
#include "core/der.h"
#include "dga/stats.h"
#include "dga/util.h"
#include "dga/x509.h"
#include "x509/testing.h"

#define T_2024 "2024-06-01T00:00:00Z"
#define T_2026 "2026-06-01T00:00:00Z"

#define CHAIN_580 "gpu/h100_580.159.03/certchain.pem"
#define CHAIN_550 "gpu/h100_550.90.07/certchain.pem"
#define CHAIN_LS10 "nvswitch/ls10_96.10.55.00.01/certchain.pem"

#define FP_DEVICE                                                                                  \
    "10:2B:F6:59:D5:41:96:14:C9:D8:E6:AE:CE:BC:80:45:4E:B2:6B:1D:F6:A7:69:AC:72:0B:9A:69:0B:16:"   \
    "7B:48"
#define FP_CORIM                                                                                   \
    "12:97:7B:51:15:AC:B0:38:11:79:27:9F:FF:EB:5A:8C:4D:26:49:71:EB:B3:22:98:02:3A:46:5F:A4:1D:"   \
    "F5:D1"

#define FWID_580                                                                                   \
    "f1ae7d0093a3f5689cced58045c9744f94eb2aa4ddca88135197fb41a7be45576c2881cf920e2cbcc090b1cb921f" \
    "7b2d"
#define FWID_GB100                                                                                 \
    "d090cab1b6e6ffddca83d1781e25b3f040fa1f3c7608230cb5f41b1c1b99f5f748349e59d0ef8eb830c9bc79ccf7" \
    "7502"

/* ---------------------------------------------------------------- helpers */

static time_t at(const char *text)
{
    time_t t = 0;
    assert_int_equal(dga_time_parse(text, &t), DGA_E_OK);
    return t;
}

static STACK_OF(X509) *load_chain(const char *rel)
{
    size_t len;
    _cleanup_(freep) uint8_t *pem = fixture_read(rel, &len);
    STACK_OF(X509) *chain = NULL;
    struct dga_diag diag = {0};
    assert_int_equal(dga_pem_chain_parse((const char *)pem, len, &chain, &diag), DGA_E_OK);
    return chain;
}

static struct dga_trust device_trust(void)
{
    struct dga_trust t = {0};
    assert_int_equal(dga_trust_nvidia_device(&t), DGA_E_OK);
    return t;
}

static void unhex(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(dga_hex_decode_fixed(hex, out, n), DGA_E_OK);
}

/* PEM text of one certificate (malloc'd, NUL-terminated). */
static char *cert_pem(X509 *x, size_t *ret_len)
{
    _cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_X509(bio, x), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    assert_true(n > 0);
    char *out = malloc((size_t)n + 1);
    assert_non_null(out);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    *ret_len = (size_t)n;
    return out;
}

/* A new stack holding the same certificates (up-ref'd) with a and b swapped. */
static STACK_OF(X509) *chain_swapped(STACK_OF(X509) *chain, int a, int b)
{
    STACK_OF(X509) *out = sk_X509_new_null();
    assert_non_null(out);
    for (int i = 0; i < sk_X509_num(chain); i++) {
        int src = i == a ? b : (i == b ? a : i);
        X509 *x = sk_X509_value(chain, src);
        assert_int_equal(X509_up_ref(x), 1);
        assert_true(sk_X509_push(out, x) > 0);
    }
    return out;
}

/* Replaces certificate idx of chain by x (up-ref'd). */
static void chain_replace(STACK_OF(X509) *chain, int idx, X509 *x)
{
    X509 *old = sk_X509_value(chain, idx);
    assert_int_equal(X509_up_ref(x), 1);
    assert_ptr_equal(sk_X509_set(chain, idx, x), x); /* returns the new value */
    X509_free(old);
}

/* ------------------------------------------------- generated certificates */

struct gen_cert {
    const char *cn;
    EVP_PKEY *key;
    X509 *issuer;         /* NULL: self-signed */
    EVP_PKEY *issuer_key; /* NULL: self-signed */
    const EVP_MD *md;
    bool ca;
    const char *not_before;
    const char *not_after;
    const char *ext_oid; /* an extra extension, or NULL */
    const uint8_t *ext_der;
    size_t ext_len;
};

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

static void add_raw_ext(X509 *x, const char *oid, const uint8_t *der, size_t len)
{
    _cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
    assert_non_null(obj);
    assert_non_null(value);
    assert_int_equal(ASN1_OCTET_STRING_set(value, der, (int)len), 1);
    X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(value);
}

static X509 *make_cert(const struct gen_cert *g)
{
    static long serial = 1000;
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    assert_non_null(x);
    assert_non_null(name);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                (const unsigned char *)g->cn, -1, -1, 0),
                     1);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                                (const unsigned char *)"Test", -1, -1, 0),
                     1);
    assert_int_equal(X509_set_subject_name(x, name), 1);
    assert_int_equal(
        X509_set_issuer_name(x, g->issuer != NULL ? X509_get_subject_name(g->issuer) : name), 1);
    X509_NAME_free(name);
    assert_int_equal(ASN1_TIME_set_string_X509(X509_getm_notBefore(x),
                                               g->not_before ? g->not_before : "20200101000000Z"),
                     1);
    assert_int_equal(ASN1_TIME_set_string_X509(X509_getm_notAfter(x),
                                               g->not_after ? g->not_after : "99991231235959Z"),
                     1);
    assert_int_equal(X509_set_pubkey(x, g->key), 1);
    add_ext(x, g->issuer, NID_basic_constraints, g->ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, g->issuer, NID_key_usage,
            g->ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    if (g->ext_oid != NULL) {
        add_raw_ext(x, g->ext_oid, g->ext_der, g->ext_len);
    }
    EVP_PKEY *signer = g->issuer_key != NULL ? g->issuer_key : g->key;
    assert_true(X509_sign(x, signer, g->md != NULL ? g->md : EVP_sha384()) > 0);
    return x;
}

/* What to vary in a generated 5-certificate chain. */
struct gen_spec {
    const char *curve[DGA_DEVICE_CHAIN_LEN]; /* key of certificate i; NULL = P-384 */
    const EVP_MD *md[DGA_DEVICE_CHAIN_LEN];  /* digest signing certificate i; NULL = SHA-384 */
    const char *leaf_cn;
    const char *leaf_not_after;
    const char *ext_oid;
    const uint8_t *ext_der;
    size_t ext_len;
};

struct gen_chain {
    STACK_OF(X509) *chain;
    struct dga_trust trust;
};

static void gen_chain_make(const struct gen_spec *s, struct gen_chain *out)
{
    static const char *const cns[DGA_DEVICE_CHAIN_LEN] = {
        "GH100 A01 GSP FMC LF", "GH100 A01 GSP BROM", "Test Provisioner ICA", "Test Identity",
        "Test Root CA"};
    EVP_PKEY *keys[DGA_DEVICE_CHAIN_LEN];
    X509 *certs[DGA_DEVICE_CHAIN_LEN];
    for (int i = 0; i < DGA_DEVICE_CHAIN_LEN; i++) {
        keys[i] = EVP_EC_gen(s->curve[i] != NULL ? s->curve[i] : "P-384");
        assert_non_null(keys[i]);
    }
    for (int i = DGA_DEVICE_CHAIN_LEN - 1; i >= 0; i--) {
        bool root = i == DGA_DEVICE_CHAIN_LEN - 1;
        struct gen_cert g = {
            .cn = i == 0 && s->leaf_cn != NULL ? s->leaf_cn : cns[i],
            .key = keys[i],
            .issuer = root ? NULL : certs[i + 1],
            .issuer_key = root ? NULL : keys[i + 1],
            .md = s->md[i],
            .ca = i > 0,
            .not_after = i == 0 ? s->leaf_not_after : NULL,
            .ext_oid = i == 0 ? s->ext_oid : NULL,
            .ext_der = s->ext_der,
            .ext_len = s->ext_len,
        };
        certs[i] = make_cert(&g);
    }
    out->chain = sk_X509_new_null();
    assert_non_null(out->chain);
    for (int i = 0; i < DGA_DEVICE_CHAIN_LEN; i++) {
        assert_true(sk_X509_push(out->chain, certs[i]) > 0);
        EVP_PKEY_free(keys[i]);
    }
    /* The explicit custom trust root goes through dga_trust_from_pem. */
    size_t len;
    _cleanup_(freep) char *pem = cert_pem(certs[DGA_DEVICE_CHAIN_LEN - 1], &len);
    assert_int_equal(dga_trust_from_pem(pem, len, &out->trust), DGA_E_OK);
    assert_true(out->trust.custom);
}

static void gen_chain_free(struct gen_chain *g)
{
    sk_X509_pop_free(g->chain, X509_free);
    g->chain = NULL;
    dga_trust_clear(&g->trust);
}

/* A self-signed P-384 root that claims to be the NVIDIA Device Identity CA. */
static X509 *impostor_root(void)
{
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = EVP_EC_gen("P-384");
    assert_non_null(key);
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    assert_non_null(x);
    assert_non_null(name);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                (const unsigned char *)"NVIDIA Device Identity CA",
                                                -1, -1, 0),
                     1);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                                (const unsigned char *)"NVIDIA", -1, -1, 0),
                     1);
    assert_int_equal(X509_set_subject_name(x, name), 1);
    assert_int_equal(X509_set_issuer_name(x, name), 1);
    X509_NAME_free(name);
    assert_int_equal(ASN1_TIME_set_string_X509(X509_getm_notBefore(x), "20211105000000Z"), 1);
    assert_int_equal(ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "99991231235959Z"), 1);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
    assert_true(X509_sign(x, key, EVP_sha384()) > 0);
    return x;
}

/* ------------------------------------------------------------------ roots */

static void assert_fingerprint(X509 *x, const char *want)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char text[3 * EVP_MAX_MD_SIZE + 1];
    assert_int_equal(X509_digest(x, EVP_sha256(), md, &n), 1);
    assert_int_equal(n, 32);
    for (unsigned int i = 0; i < n; i++) {
        snprintf(text + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
    }
    assert_string_equal(text, want);
}

/*
 * The digests fetched once per process: the same object on every call, and
 * hashing with them gives what the legacy EVP_sha256()/EVP_sha384() give.
 */
static void test_fetched_digests(void **state)
{
    (void)state;
    static const char msg[] = "abc";
    const EVP_MD *sha256 = dga_md_sha256();
    const EVP_MD *sha384 = dga_md_sha384();
    assert_non_null(sha256);
    assert_non_null(sha384);
    assert_ptr_equal(dga_md_sha256(), sha256);
    assert_ptr_equal(dga_md_sha384(), sha384);
    assert_int_equal(EVP_MD_get_size(sha256), 32);
    assert_int_equal(EVP_MD_get_size(sha384), 48);
    unsigned char got[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
    unsigned int got_len = 0, want_len = 0;
    assert_int_equal(EVP_Digest(msg, 3, got, &got_len, sha384, NULL), 1);
    assert_int_equal(EVP_Digest(msg, 3, want, &want_len, EVP_sha384(), NULL), 1);
    assert_int_equal(got_len, 48);
    assert_memory_equal(got, want, 48);
    assert_int_equal(EVP_Digest(msg, 3, got, &got_len, sha256, NULL), 1);
    assert_int_equal(EVP_Digest(msg, 3, want, &want_len, EVP_sha256(), NULL), 1);
    assert_int_equal(got_len, 32);
    assert_memory_equal(got, want, 32);
}

static void test_root_fingerprints(void **state)
{
    (void)state;
    struct dga_trust dev = {0}, rim = {0};
    assert_int_equal(dga_trust_nvidia_device(&dev), DGA_E_OK);
    assert_int_equal(dga_trust_nvidia_rim(&rim), DGA_E_OK);
    assert_false(dev.custom);
    assert_false(rim.custom);
    assert_fingerprint(dev.root, FP_DEVICE);
    assert_fingerprint(rim.root, FP_CORIM);
    dga_trust_clear(&dev);
    dga_trust_clear(&rim);
    assert_null(dev.root);
    dga_trust_clear(NULL);
}

static void test_trust_from_pem(void **state)
{
    (void)state;
    size_t len;
    _cleanup_(freep) uint8_t *pem = fixture_read("roots/nvidia_device_identity_ca.pem", &len);
    struct dga_trust custom = {0};
    struct dga_trust dev = device_trust();
    assert_int_equal(dga_trust_from_pem((const char *)pem, len, &custom), DGA_E_OK);
    assert_true(custom.custom);
    assert_int_equal(X509_cmp(custom.root, dev.root), 0);
    dga_trust_clear(&custom);
    dga_trust_clear(&dev);
}

static void test_trust_from_pem_rejects(void **state)
{
    (void)state;
    size_t len;
    _cleanup_(freep) uint8_t *chain = fixture_read(CHAIN_580, &len);
    struct dga_trust t = {.root = NULL, .custom = false};
    /* Five certificates: not exactly one. */
    assert_int_equal(dga_trust_from_pem((const char *)chain, len, &t), DGA_E_BAD_PEM);
    assert_null(t.root);
    assert_int_equal(dga_trust_from_pem("", 0, &t), DGA_E_BAD_PEM);
    assert_int_equal(dga_trust_from_pem("junk", 4, &t), DGA_E_BAD_PEM);
    assert_null(t.root);
}

/* -------------------------------------------------------------------- PEM */

static void test_pem_fixtures_parse(void **state)
{
    (void)state;
    static const char *const files[] = {"gpu/h100_535.86.09/certchain.pem",
                                        "gpu/h100_545.00/certchain.pem", CHAIN_550, CHAIN_580,
                                        CHAIN_LS10};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        STACK_OF(X509) *chain = load_chain(files[i]);
        assert_int_equal(sk_X509_num(chain), 5);
        sk_X509_pop_free(chain, X509_free);
    }
    STACK_OF(X509) *four = load_chain("gpu/invalid_certchain_missing_brom.pem");
    assert_int_equal(sk_X509_num(four), 4);
    sk_X509_pop_free(four, X509_free);
}

static void test_pem_keeps_order(void **state)
{
    (void)state;
    STACK_OF(X509) *chain = load_chain(CHAIN_580);
    char cn[128];
    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(sk_X509_value(chain, 0)),
                                          NID_commonName, cn, sizeof cn) > 0);
    assert_string_equal(cn, "GH100 A01 GSP FMC LF");
    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(sk_X509_value(chain, 4)),
                                          NID_commonName, cn, sizeof cn) > 0);
    assert_string_equal(cn, "NVIDIA Device Identity CA");
    sk_X509_pop_free(chain, X509_free);
}

static dga_err parse_text(const char *text, size_t len, struct dga_diag *diag, int *ret_count)
{
    STACK_OF(X509) *chain = NULL;
    dga_err e = dga_pem_chain_parse(text, len, &chain, diag);
    if (e == DGA_E_OK) {
        *ret_count = sk_X509_num(chain);
        sk_X509_pop_free(chain, X509_free);
    } else {
        assert_null(chain);
    }
    return e;
}

static void test_pem_empty(void **state)
{
    (void)state;
    struct dga_diag diag = {0};
    int n = -1;
    assert_int_equal(parse_text("", 0, &diag, &n), DGA_E_BAD_PEM);
    assert_int_equal(parse_text(NULL, 0, &diag, &n), DGA_E_BAD_PEM);
    assert_int_equal(parse_text(" \r\n\t\n", 5, &diag, &n), DGA_E_BAD_PEM);
    assert_int_equal(diag.err, DGA_E_BAD_PEM);
}

static void test_pem_junk_between_blocks(void **state)
{
    (void)state;
    size_t len;
    _cleanup_(freep) uint8_t *pem = fixture_read(CHAIN_580, &len);
    const char *end = strstr((const char *)pem, "-----END CERTIFICATE-----\n");
    assert_non_null(end);
    size_t cut = (size_t)(end - (const char *)pem) + strlen("-----END CERTIFICATE-----\n");
    _cleanup_(freep) char *text = malloc(len + 16);
    assert_non_null(text);
    memcpy(text, pem, cut);
    memcpy(text + cut, "junk\n", 5);
    memcpy(text + cut + 5, pem + cut, len - cut);
    struct dga_diag diag = {0};
    int n = -1;
    assert_int_equal(parse_text(text, len + 5, &diag, &n), DGA_E_BAD_PEM);
    assert_int_equal(diag.offset, cut);
    /* Junk before the first block and after the last one. */
    memcpy(text, "x", 1);
    memcpy(text + 1, pem, len);
    assert_int_equal(parse_text(text, len + 1, &diag, &n), DGA_E_BAD_PEM);
    assert_int_equal(diag.offset, 0);
    memcpy(text, pem, len);
    memcpy(text + len, "\n#", 2);
    assert_int_equal(parse_text(text, len + 2, &diag, &n), DGA_E_BAD_PEM);
    assert_int_equal(diag.offset, len + 1);
}

static void test_pem_corrupted_base64(void **state)
{
    (void)state;
    size_t len;
    _cleanup_(freep) uint8_t *pem = fixture_read(CHAIN_580, &len);
    size_t body = strlen("-----BEGIN CERTIFICATE-----\n");
    struct dga_diag diag = {0};
    int n = -1;
    /* A character outside the base64 alphabet: rejected by the PEM scan. */
    pem[body + 10] = '!';
    assert_int_equal(parse_text((const char *)pem, len, &diag, &n), DGA_E_BAD_PEM);
    assert_int_equal(diag.offset, body + 10);
    /* A valid base64 character that breaks the DER (first byte 0x30 becomes 0x00). */
    free(pem);
    pem = fixture_read(CHAIN_580, &len);
    assert_int_equal(pem[body], 'M');
    pem[body] = 'A';
    assert_int_equal(parse_text((const char *)pem, len, &diag, &n), DGA_E_BAD_CERT);
    assert_int_equal(diag.offset, 0);
}

static void test_pem_structure(void **state)
{
    (void)state;
    static const char no_end[] = "-----BEGIN CERTIFICATE-----\nMIIB\n";
    static const char other[] = "-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n";
    static const char headers[] =
        "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\nMIIB\n-----END CERTIFICATE-----\n";
    static const char garbage[] =
        "-----BEGIN CERTIFICATE-----\nQUJDRA==\n-----END CERTIFICATE-----\n";
    static const char bad_pad[] =
        "-----BEGIN CERTIFICATE-----\nQU=JDRA\n-----END CERTIFICATE-----\n";
    struct dga_diag diag = {0};
    int n = -1;
    assert_int_equal(parse_text(no_end, sizeof no_end - 1, &diag, &n), DGA_E_BAD_PEM);
    assert_int_equal(parse_text(other, sizeof other - 1, &diag, &n), DGA_E_BAD_PEM);
    assert_int_equal(parse_text(headers, sizeof headers - 1, &diag, &n), DGA_E_BAD_PEM);
    assert_int_equal(parse_text(garbage, sizeof garbage - 1, &diag, &n), DGA_E_BAD_CERT);
    assert_int_equal(parse_text(bad_pad, sizeof bad_pad - 1, &diag, &n), DGA_E_BAD_PEM);
}

/* base64 of der wrapped as one PEM block (malloc'd). */
static char *pem_of_der(const uint8_t *der, size_t len, size_t *ret_len)
{
    size_t b64_cap = 4 * ((len + 2) / 3) + 1;
    _cleanup_(freep) unsigned char *b64 = malloc(b64_cap);
    assert_non_null(b64);
    int n = EVP_EncodeBlock(b64, der, (int)len);
    assert_true(n > 0);
    char *out = malloc((size_t)n + 64);
    assert_non_null(out);
    int m =
        snprintf(out, (size_t)n + 64,
                 "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n", (const char *)b64);
    assert_true(m > 0);
    *ret_len = (size_t)m;
    return out;
}

/* A DER that OpenSSL decodes but does not re-encode identically: non-minimal outer length. */
static void test_pem_non_canonical_der(void **state)
{
    (void)state;
    struct dga_trust dev = device_trust();
    _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
    int len = i2d_X509(dev.root, &der);
    assert_true(len > 4);
    assert_int_equal(der[1], 0x82);
    _cleanup_(freep) uint8_t *odd = malloc((size_t)len + 1);
    assert_non_null(odd);
    odd[0] = 0x30;
    odd[1] = 0x83;
    odd[2] = 0x00;
    memcpy(odd + 3, der + 2, (size_t)len - 2);
    size_t pem_len;
    _cleanup_(freep) char *pem = pem_of_der(odd, (size_t)len + 1, &pem_len);
    struct dga_diag diag = {0};
    int n = -1;
    assert_int_equal(parse_text(pem, pem_len, &diag, &n), DGA_E_BAD_CERT);
    /* The canonical encoding of the same certificate is accepted. */
    _cleanup_(freep) char *good = pem_of_der(der, (size_t)len, &pem_len);
    assert_int_equal(parse_text(good, pem_len, &diag, &n), DGA_E_OK);
    assert_int_equal(n, 1);
    dga_trust_clear(&dev);
}

static char *repeat_chain(const uint8_t *pem, size_t len, int times, size_t *ret_len)
{
    char *out = malloc(len * (size_t)times + 1);
    assert_non_null(out);
    for (int i = 0; i < times; i++) {
        memcpy(out + len * (size_t)i, pem, len);
    }
    *ret_len = len * (size_t)times;
    return out;
}

static void test_pem_too_many(void **state)
{
    (void)state;
    size_t len, one_len, big_len;
    _cleanup_(freep) uint8_t *pem = fixture_read(CHAIN_580, &len); /* ends with "\n\n" */
    _cleanup_(freep) uint8_t *one = fixture_read("roots/nvidia_device_identity_ca.pem", &one_len);
    struct dga_diag diag = {0};
    int n = -1;
    /* 3 x 5 + 1 = 16: the limit. */
    _cleanup_(freep) char *big = repeat_chain(pem, len, 3, &big_len);
    _cleanup_(freep) char *text = malloc(big_len + 2 * one_len + 2);
    assert_non_null(text);
    memcpy(text, big, big_len);
    text[big_len] = '\n';
    memcpy(text + big_len + 1, one, one_len);
    assert_int_equal(parse_text(text, big_len + 1 + one_len, &diag, &n), DGA_E_OK);
    assert_int_equal(n, DGA_PEM_CHAIN_MAX_CERTS);
    /* 17: DGA_E_TOO_LARGE at the 17th block. */
    text[big_len + 1 + one_len] = '\n';
    memcpy(text + big_len + 2 + one_len, one, one_len);
    assert_int_equal(parse_text(text, big_len + 2 + 2 * one_len, &diag, &n), DGA_E_TOO_LARGE);
    assert_int_equal(diag.offset, big_len + 2 + one_len);
}

static void test_pem_too_long(void **state)
{
    (void)state;
    size_t len = DGA_CHAIN_PEM_MAX + 1;
    _cleanup_(freep) char *text = malloc(len);
    assert_non_null(text);
    memset(text, '\n', len);
    struct dga_diag diag = {0};
    int n = -1;
    assert_int_equal(parse_text(text, len, &diag, &n), DGA_E_TOO_LARGE);
    /* Exactly at the cap it is read (and has no certificate). */
    assert_int_equal(parse_text(text, len - 1, &diag, &n), DGA_E_BAD_PEM);
}

/* Every prefix shorter than the whole chain fails: in the parser, or as a short chain. */
static void test_pem_truncations(void **state)
{
    (void)state;
    size_t len;
    _cleanup_(freep) uint8_t *pem = fixture_read(CHAIN_580, &len);
    struct dga_trust dev = device_trust();
    const char *last = NULL;
    for (const char *p = (const char *)pem; (p = strstr(p, "-----END CERTIFICATE-----")) != NULL;
         p++) {
        last = p;
    }
    assert_non_null(last);
    size_t full = (size_t)(last - (const char *)pem) + strlen("-----END CERTIFICATE-----");
    for (size_t cut = 0; cut < full; cut++) {
        STACK_OF(X509) *chain = NULL;
        struct dga_chain_info info;
        dga_err e = dga_pem_chain_parse((const char *)pem, cut, &chain, NULL);
        if (e != DGA_E_OK) {
            assert_int_equal(e, DGA_E_BAD_PEM);
            assert_null(chain);
            continue;
        }
        assert_true(sk_X509_num(chain) < 5);
        assert_int_equal(
            dga_device_chain_verify(chain, DGA_ARCH_HOPPER, &dev, at(T_2024), &info, NULL),
            DGA_E_CHAIN_LENGTH);
        sk_X509_pop_free(chain, X509_free);
    }
    STACK_OF(X509) *chain = NULL;
    assert_int_equal(dga_pem_chain_parse((const char *)pem, full, &chain, NULL), DGA_E_OK);
    assert_int_equal(sk_X509_num(chain), 5);
    sk_X509_pop_free(chain, X509_free);
    dga_trust_clear(&dev);
}

/* ---------------------------------------------------------------- DER reader */

static dga_err der_one(const uint8_t *p, size_t len)
{
    struct cursor c = cursor_init(p, len);
    uint8_t tag = 0;
    struct cursor value;
    dga_err e = der_read(&c, &tag, &value);
    if (e != DGA_E_OK) {
        assert_int_equal(c.off, 0); /* a failed read does not move the cursor */
    }
    return e;
}

static void test_der_reader(void **state)
{
    (void)state;
    static const uint8_t short_form[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    static const uint8_t non_minimal_81[] = {0x30, 0x81, 0x03, 0x02, 0x01, 0x05};
    static const uint8_t non_minimal_82[] = {0x30, 0x82, 0x00, 0x03, 0x02, 0x01, 0x05};
    static const uint8_t indefinite[] = {0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00};
    static const uint8_t past_end[] = {0x30, 0x05, 0x02, 0x01, 0x05};
    static const uint8_t past_end_long[] = {0x04, 0x82, 0x01, 0x00, 0x00};
    static const uint8_t high_tag[] = {0x1F, 0x81, 0x00, 0x00};
    static const uint8_t high_tag_ctx[] = {0xBF, 0x22, 0x00};
    static const uint8_t too_many_len_octets[] = {0x04, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t no_length[] = {0x30};
    assert_int_equal(der_one(short_form, sizeof short_form), DGA_E_OK);
    assert_int_equal(der_one(non_minimal_81, sizeof non_minimal_81), DGA_E_BAD_DER);
    assert_int_equal(der_one(non_minimal_82, sizeof non_minimal_82), DGA_E_BAD_DER);
    assert_int_equal(der_one(indefinite, sizeof indefinite), DGA_E_BAD_DER);
    assert_int_equal(der_one(past_end, sizeof past_end), DGA_E_BAD_DER);
    assert_int_equal(der_one(past_end_long, sizeof past_end_long), DGA_E_BAD_DER);
    assert_int_equal(der_one(high_tag, sizeof high_tag), DGA_E_BAD_DER);
    assert_int_equal(der_one(high_tag_ctx, sizeof high_tag_ctx), DGA_E_BAD_DER);
    assert_int_equal(der_one(too_many_len_octets, sizeof too_many_len_octets), DGA_E_BAD_DER);
    assert_int_equal(der_one(no_length, sizeof no_length), DGA_E_BAD_DER);
    assert_int_equal(der_one(NULL, 0), DGA_E_BAD_DER);
}

static void test_der_long_form_and_expect(void **state)
{
    (void)state;
    uint8_t buf[3 + 0x80 + 1];
    memset(buf, 0, sizeof buf);
    buf[0] = 0x04;
    buf[1] = 0x81;
    buf[2] = 0x80;
    struct cursor c = cursor_init(buf, sizeof buf);
    struct cursor value;
    uint8_t tag;
    assert_int_equal(der_read(&c, &tag, &value), DGA_E_OK);
    assert_int_equal(tag, 0x04);
    assert_int_equal(value.len, 0x80);
    assert_int_equal(value.base, 3);
    assert_int_equal(der_end(&c), DGA_E_BAD_DER); /* one byte left */
    c = cursor_init(buf, sizeof buf - 1);
    assert_int_equal(der_expect(&c, DER_SEQUENCE, &value), DGA_E_BAD_DER);
    assert_int_equal(c.off, 0);
    assert_int_equal(der_expect(&c, DER_OCTET_STRING, &value), DGA_E_OK);
    assert_int_equal(der_end(&c), DGA_E_OK);
}

/* ------------------------------------------------------------------ FWID */

/* SEQUENCE { OID sha384, OCTET STRING (n) } into out; returns bytes written. */
static size_t fwid_entry(uint8_t *out, const uint8_t *oid, size_t oid_len, const uint8_t *digest,
                         size_t n)
{
    size_t i = 0;
    out[i++] = 0x30;
    out[i++] = (uint8_t)(2 + oid_len + 2 + n);
    out[i++] = 0x06;
    out[i++] = (uint8_t)oid_len;
    memcpy(out + i, oid, oid_len);
    i += oid_len;
    out[i++] = 0x04;
    out[i++] = (uint8_t)n;
    memcpy(out + i, digest, n);
    return i + n;
}

static const uint8_t OID_SHA384[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
static const uint8_t OID_SHA256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};

/* The Hopper layout with a 2-byte SPKI stand-in; `inner_extra` / `outer_extra` add trailing bytes.
 */
static size_t tcg_vector(uint8_t *out, const uint8_t *oid, const uint8_t *digest, size_t n,
                         bool inner_extra, bool outer_extra)
{
    uint8_t entry[80];
    size_t e = fwid_entry(entry, oid, sizeof OID_SHA384, digest, n);
    if (inner_extra) {
        entry[1]++;
        entry[e++] = 0x00;
    }
    size_t body = 3 + 2 + e;
    size_t i = 0;
    out[i++] = 0x30;
    out[i++] = (uint8_t)body;
    static const uint8_t head[] = {0x02, 0x01, 0x01, 0x30, 0x00};
    memcpy(out + i, head, sizeof head);
    i += sizeof head;
    memcpy(out + i, entry, e);
    i += e;
    if (outer_extra) {
        out[i++] = 0x00;
    }
    return i;
}

static void test_fwid_tcg(void **state)
{
    (void)state;
    uint8_t digest[DGA_DIGEST_LEN], got[DGA_DIGEST_LEN];
    uint8_t v[128];
    for (size_t i = 0; i < sizeof digest; i++) {
        digest[i] = (uint8_t)(0xA0 + i);
    }
    size_t n = tcg_vector(v, OID_SHA384, digest, DGA_DIGEST_LEN, false, false);
    assert_int_equal(dga_fwid_parse_tcg(v, n, got), DGA_E_OK);
    assert_memory_equal(got, digest, DGA_DIGEST_LEN);

    memset(got, 0x5A, sizeof got);
    n = tcg_vector(v, OID_SHA256, digest, DGA_DIGEST_LEN, false, false);
    assert_int_equal(dga_fwid_parse_tcg(v, n, got), DGA_E_BAD_DER);
    n = tcg_vector(v, OID_SHA384, digest, DGA_DIGEST_LEN - 1, false, false);
    assert_int_equal(dga_fwid_parse_tcg(v, n, got), DGA_E_BAD_DER);
    n = tcg_vector(v, OID_SHA384, digest, DGA_DIGEST_LEN, false, true);
    assert_int_equal(dga_fwid_parse_tcg(v, n, got), DGA_E_BAD_DER);
    n = tcg_vector(v, OID_SHA384, digest, DGA_DIGEST_LEN, true, false);
    assert_int_equal(dga_fwid_parse_tcg(v, n, got), DGA_E_BAD_DER);
    /* Every truncation fails. */
    n = tcg_vector(v, OID_SHA384, digest, DGA_DIGEST_LEN, false, false);
    for (size_t cut = 0; cut < n; cut++) {
        assert_int_equal(dga_fwid_parse_tcg(v, cut, got), DGA_E_BAD_DER);
    }
    /* Failures leave out untouched. */
    for (size_t i = 0; i < sizeof got; i++) {
        assert_int_equal(got[i], 0x5A);
    }
}

/* DiceTcbInfo as in docs/formats.md §7; with_fwids = false drops [6]. */
static size_t dice_vector(uint8_t *out, bool with_fwids, const uint8_t *second_oid)
{
    static const uint8_t before[] = {
        0x80, 0x06, 'N',  'V', 'I', 'D', 'I', 'A', /* [0] vendor */
        0x81, 0x0D, 'G',  'B', '1', '0', '0', ' ', 'A', '0', '1', ' ', 'G', 'S', 'P', /* [1] */
        0x82, 0x02, '0',  '1', /* [2] version */
        0x83, 0x01, 0x01,      /* [3] svn */
        0x84, 0x01, 0x00,      /* [4] layer */
        0x85, 0x01, 0x00,      /* [5] index */
    };
    static const uint8_t after[] = {
        0x87, 0x05, 0x00, 0x80, 0x00, 0x00, 0x01, /* [7] flags */
        0x88, 0x01, 0xC0,                         /* [8] vendorInfo */
        0x89, 0x01, 0x00,                         /* [9] type */
    };
    uint8_t fwid0[DGA_DIGEST_LEN], zero[DGA_DIGEST_LEN];
    uint8_t list[2 * 64];
    unhex(FWID_GB100, fwid0, sizeof fwid0);
    memset(zero, 0, sizeof zero);
    size_t l = fwid_entry(list, OID_SHA384, sizeof OID_SHA384, fwid0, sizeof fwid0);
    l += fwid_entry(list + l, second_oid, sizeof OID_SHA384, zero, sizeof zero);
    size_t body = sizeof before + sizeof after + (with_fwids ? 2 + l : 0);
    assert_true(body <= 0xFF);
    size_t i = 0;
    out[i++] = 0x30;
    if (body >= 0x80) {
        out[i++] = 0x81; /* long form only where the short form cannot hold it */
    }
    out[i++] = (uint8_t)body;
    memcpy(out + i, before, sizeof before);
    i += sizeof before;
    if (with_fwids) {
        assert_true(l < 0x80); /* short-form length: the long form would not be minimal */
        out[i++] = 0xA6;
        out[i++] = (uint8_t)l;
        memcpy(out + i, list, l);
        i += l;
    }
    memcpy(out + i, after, sizeof after);
    return i + sizeof after;
}

static void test_fwid_dice(void **state)
{
    (void)state;
    uint8_t v[256], got[DGA_DIGEST_LEN], want[DGA_DIGEST_LEN];
    unhex(FWID_GB100, want, sizeof want);
    size_t n = dice_vector(v, true, OID_SHA384);
    assert_int_equal(dga_fwid_parse_dice(v, n, got), DGA_E_OK);
    assert_memory_equal(got, want, DGA_DIGEST_LEN);
    /* No [6]. */
    n = dice_vector(v, false, OID_SHA384);
    assert_int_equal(dga_fwid_parse_dice(v, n, got), DGA_E_BAD_DER);
    /* Every entry's shape is checked, not only the first. */
    n = dice_vector(v, true, OID_SHA256);
    assert_int_equal(dga_fwid_parse_dice(v, n, got), DGA_E_BAD_DER);
    /* Trailing byte after the SEQUENCE. */
    n = dice_vector(v, true, OID_SHA384);
    v[n] = 0x00;
    assert_int_equal(dga_fwid_parse_dice(v, n + 1, got), DGA_E_BAD_DER);
    for (size_t cut = 0; cut < n; cut++) {
        assert_int_equal(dga_fwid_parse_dice(v, cut, got), DGA_E_BAD_DER);
    }
    /* The TCG parser does not accept the DICE layout, and vice versa. */
    assert_int_equal(dga_fwid_parse_tcg(v, n, got), DGA_E_BAD_DER);
}

static void test_fwid_dice_shapes(void **state)
{
    (void)state;
    static const uint8_t empty6[] = {0x30, 0x02, 0xA6, 0x00};
    static const uint8_t universal[] = {0x30, 0x05, 0x02, 0x01, 0x00, 0xA6, 0x00};
    static const uint8_t primitive6[] = {0x30, 0x02, 0x86, 0x00};
    uint8_t got[DGA_DIGEST_LEN], digest[DGA_DIGEST_LEN];
    memset(digest, 0x11, sizeof digest);
    assert_int_equal(dga_fwid_parse_dice(empty6, sizeof empty6, got), DGA_E_BAD_DER);
    assert_int_equal(dga_fwid_parse_dice(universal, sizeof universal, got), DGA_E_BAD_DER);
    assert_int_equal(dga_fwid_parse_dice(primitive6, sizeof primitive6, got), DGA_E_BAD_DER);
    /* [6] twice. */
    uint8_t v[160];
    uint8_t e[64];
    size_t l = fwid_entry(e, OID_SHA384, sizeof OID_SHA384, digest, sizeof digest);
    size_t i = 0;
    v[i++] = 0x30;
    v[i++] = (uint8_t)(2 * (2 + l)); /* 126: short form */
    for (int k = 0; k < 2; k++) {
        v[i++] = 0xA6;
        v[i++] = (uint8_t)l;
        memcpy(v + i, e, l);
        i += l;
    }
    assert_int_equal(dga_fwid_parse_dice(v, i, got), DGA_E_BAD_DER);
    /* Once is fine. */
    v[1] = (uint8_t)(2 + l);
    assert_int_equal(dga_fwid_parse_dice(v, 2 + 2 + l, got), DGA_E_OK);
    assert_memory_equal(got, digest, DGA_DIGEST_LEN);
}

static void test_cert_fwid_580(void **state)
{
    (void)state;
    STACK_OF(X509) *chain = load_chain(CHAIN_580);
    X509 *leaf = sk_X509_value(chain, 0);
    uint8_t fwid[DGA_DIGEST_LEN];
    char hex[2 * DGA_DIGEST_LEN + 1];
    bool present = false;
    assert_int_equal(dga_cert_fwid(leaf, DGA_ARCH_HOPPER, &present, fwid), DGA_E_OK);
    assert_true(present);
    dga_hex_encode(fwid, sizeof fwid, hex);
    assert_string_equal(hex, FWID_580);
    /* The leaf has no Blackwell extension: absent, not an error, out untouched. */
    memset(fwid, 0x77, sizeof fwid);
    assert_int_equal(dga_cert_fwid(leaf, DGA_ARCH_BLACKWELL, &present, fwid), DGA_E_OK);
    assert_false(present);
    assert_int_equal(fwid[0], 0x77);
    /* The root has no FWID extension at all. */
    present = true;
    assert_int_equal(dga_cert_fwid(sk_X509_value(chain, 4), DGA_ARCH_LS10, &present, fwid),
                     DGA_E_OK);
    assert_false(present);
    sk_X509_pop_free(chain, X509_free);
}

/* ------------------------------------------------------- chain verification */

struct chain_case {
    const char *file;
    enum dga_arch arch;
};

static void verify_ok(STACK_OF(X509) *chain, enum dga_arch arch, const char *when,
                      struct dga_chain_info *info)
{
    struct dga_trust dev = device_trust();
    struct dga_diag diag = {0};
    assert_int_equal(dga_device_chain_verify(chain, arch, &dev, at(when), info, &diag), DGA_E_OK);
    dga_trust_clear(&dev);
}

static void test_fixture_chains_verify(void **state)
{
    (void)state;
    static const struct chain_case cases[] = {
        {"gpu/h100_535.86.09/certchain.pem", DGA_ARCH_HOPPER},
        {"gpu/h100_545.00/certchain.pem", DGA_ARCH_HOPPER},
        {CHAIN_550, DGA_ARCH_HOPPER},
        {CHAIN_580, DGA_ARCH_HOPPER},
        {CHAIN_LS10, DGA_ARCH_LS10},
    };
    static const char *const times[] = {T_2024, T_2026};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        STACK_OF(X509) *chain = load_chain(cases[i].file);
        for (size_t t = 0; t < 2; t++) {
            struct dga_chain_info info;
            verify_ok(chain, cases[i].arch, times[t], &info);
            assert_false(info.expired);
            assert_false(info.not_yet_valid);
            assert_string_equal(info.expiration_date, "9999-12-31T23:59:59Z");
            /* Every fixture leaf, LS10 and drivers 535/545 included, carries 2.23.133.5.4.1. */
            assert_true(info.leaf_has_fwid);
        }
        sk_X509_pop_free(chain, X509_free);
    }
}

static void test_chain_580_info(void **state)
{
    (void)state;
    STACK_OF(X509) *chain = load_chain(CHAIN_580);
    struct dga_chain_info info;
    char hex[2 * DGA_DIGEST_LEN + 1];
    verify_ok(chain, DGA_ARCH_HOPPER, T_2024, &info);
    assert_string_equal(info.hwmodel, "GH100 A01 GSP BROM");
    assert_string_equal(info.ueid, "509096176156678437554566035365892618958504054724");
    assert_true(info.leaf_has_fwid);
    dga_hex_encode(info.leaf_fwid, DGA_DIGEST_LEN, hex);
    assert_string_equal(hex, FWID_580);
    assert_int_equal((long long)info.not_after_min, 253402300799LL);
    sk_X509_pop_free(chain, X509_free);
}

static void test_chain_550_and_ls10_info(void **state)
{
    (void)state;
    STACK_OF(X509) *chain = load_chain(CHAIN_550);
    struct dga_chain_info info;
    verify_ok(chain, DGA_ARCH_HOPPER, T_2024, &info);
    assert_string_equal(info.ueid, "478176379286082186618948445787393647364802107249");
    assert_string_equal(info.hwmodel, "GH100 A01 GSP BROM");
    sk_X509_pop_free(chain, X509_free);
    chain = load_chain(CHAIN_LS10);
    verify_ok(chain, DGA_ARCH_LS10, T_2026, &info);
    assert_string_equal(info.hwmodel, "LS_10 A01 FSP BROM");
    assert_true(info.leaf_has_fwid);
    sk_X509_pop_free(chain, X509_free);
}

/* Before the leaf's notBefore (2020-10-17): reported, not enforced. */
static void test_chain_time_reported(void **state)
{
    (void)state;
    STACK_OF(X509) *chain = load_chain(CHAIN_580);
    struct dga_chain_info info;
    verify_ok(chain, DGA_ARCH_HOPPER, "2019-01-01T00:00:00Z", &info);
    assert_true(info.not_yet_valid);
    assert_false(info.expired);
    sk_X509_pop_free(chain, X509_free);
}

/* gpu/h100_590.12_ppcie/evidence.json carries its chain as base64 PEM. */
static void test_chain_ppcie(void **state)
{
    (void)state;
    size_t len;
    _cleanup_(freep) uint8_t *text = fixture_read("gpu/h100_590.12_ppcie/evidence.json", &len);
    json_error_t err;
    json_t *root = json_loadb((const char *)text, len, 0, &err);
    assert_non_null(root);
    const char *b64 = json_string_value(json_object_get(json_array_get(root, 0), "certificate"));
    assert_non_null(b64);
    uint8_t *pem = NULL;
    size_t pem_len = 0;
    assert_int_equal(dga_base64_decode(b64, strlen(b64), &pem, &pem_len), DGA_E_OK);
    json_decref(root);
    STACK_OF(X509) *chain = NULL;
    assert_int_equal(dga_pem_chain_parse((const char *)pem, pem_len, &chain, NULL), DGA_E_OK);
    free(pem);
    struct dga_chain_info info;
    verify_ok(chain, DGA_ARCH_HOPPER, T_2026, &info);
    assert_string_equal(info.hwmodel, "GH100 A01 GSP BROM");
    assert_true(info.leaf_has_fwid);
    sk_X509_pop_free(chain, X509_free);
}

static void test_chain_missing_brom(void **state)
{
    (void)state;
    STACK_OF(X509) *chain = load_chain("gpu/invalid_certchain_missing_brom.pem");
    struct dga_trust dev = device_trust();
    struct dga_chain_info info;
    struct dga_diag diag = {0};
    memset(&info, 0xEE, sizeof info);
    assert_int_equal(
        dga_device_chain_verify(chain, DGA_ARCH_HOPPER, &dev, at(T_2024), &info, &diag),
        DGA_E_CHAIN_LENGTH);
    assert_int_equal(diag.offset, 4);
    assert_int_equal(info.hwmodel[0], (char)0xEE); /* untouched on failure */
    sk_X509_pop_free(chain, X509_free);
    dga_trust_clear(&dev);
}

static void test_chain_foreign_root(void **state)
{
    (void)state;
    STACK_OF(X509) *chain = load_chain(CHAIN_580);
    _cleanup_(X509_freep) X509 *fake = impostor_root();
    struct dga_trust dev = device_trust();
    struct dga_trust rim = {0};
    struct dga_trust custom = {0};
    struct dga_chain_info info;
    struct dga_diag diag = {0};
    assert_int_equal(dga_trust_nvidia_rim(&rim), DGA_E_OK);

    /* The genuine chain against the CoRIM root: presented root is not the trust root. */
    assert_int_equal(
        dga_device_chain_verify(chain, DGA_ARCH_HOPPER, &rim, at(T_2024), &info, &diag),
        DGA_E_CHAIN_ROOT);
    assert_int_equal(diag.offset, 4);

    /* Root replaced by an impostor: not the pinned root. */
    chain_replace(chain, 4, fake);
    assert_int_equal(
        dga_device_chain_verify(chain, DGA_ARCH_HOPPER, &dev, at(T_2024), &info, &diag),
        DGA_E_CHAIN_ROOT);

    /* Root replaced by the CoRIM root: not the pinned root either. */
    chain_replace(chain, 4, rim.root);
    assert_int_equal(
        dga_device_chain_verify(chain, DGA_ARCH_HOPPER, &dev, at(T_2024), &info, &diag),
        DGA_E_CHAIN_ROOT);

    /* The impostor as an explicit custom root: the presented root matches it, but the identity CA
       was not signed by it, so path validation fails at depth 3. */
    chain_replace(chain, 4, fake);
    size_t len;
    _cleanup_(freep) char *pem = cert_pem(fake, &len);
    assert_int_equal(dga_trust_from_pem(pem, len, &custom), DGA_E_OK);
    assert_int_equal(
        dga_device_chain_verify(chain, DGA_ARCH_HOPPER, &custom, at(T_2024), &info, &diag),
        DGA_E_CHAIN_INVALID);
    assert_int_equal(diag.offset, 3);
    assert_string_equal(diag.field, "certificate 3 (identity CA)");

    /* Same with the CoRIM root as the custom trust and the chain's root. */
    chain_replace(chain, 4, rim.root);
    assert_int_equal(
        dga_device_chain_verify(chain, DGA_ARCH_HOPPER, &rim, at(T_2024), &info, &diag),
        DGA_E_CHAIN_INVALID);
    assert_int_equal(diag.offset, 3);

    sk_X509_pop_free(chain, X509_free);
    dga_trust_clear(&dev);
    dga_trust_clear(&rim);
    dga_trust_clear(&custom);
}

static void test_chain_reordered(void **state)
{
    (void)state;
    STACK_OF(X509) *chain = load_chain(CHAIN_580);
    struct dga_trust dev = device_trust();
    struct dga_chain_info info;
    struct dga_diag diag = {0};
    /*
     * BROM and ICA swapped: the untrusted set (certificates 1..3) is the same set, so OpenSSL
     * still builds leaf -> BROM -> ICA -> identity -> root and X509_verify_cert succeeds; the
     * built path then differs from the presented order at position 1: DGA_E_CHAIN_ORDER.
     */
    STACK_OF(X509) *swapped = chain_swapped(chain, 1, 2);
    assert_int_equal(
        dga_device_chain_verify(swapped, DGA_ARCH_HOPPER, &dev, at(T_2024), &info, &diag),
        DGA_E_CHAIN_ORDER);
    assert_int_equal(diag.offset, 1);
    sk_X509_pop_free(swapped, X509_free);
    /* Identity CA in position 1: same set again, order differs at 1. */
    swapped = chain_swapped(chain, 1, 3);
    assert_int_equal(
        dga_device_chain_verify(swapped, DGA_ARCH_HOPPER, &dev, at(T_2024), &info, &diag),
        DGA_E_CHAIN_ORDER);
    sk_X509_pop_free(swapped, X509_free);
    /* Leaf and BROM swapped: the BROM is now the target and the leaf is untrusted; the path
       BROM -> ICA -> identity -> root verifies but is 4 long, not the presented 5. */
    swapped = chain_swapped(chain, 0, 1);
    assert_int_equal(
        dga_device_chain_verify(swapped, DGA_ARCH_HOPPER, &dev, at(T_2024), &info, &diag),
        DGA_E_CHAIN_ORDER);
    assert_int_equal(diag.offset, 1);
    sk_X509_pop_free(swapped, X509_free);
    /* Root moved into the middle: the presented certificate 4 is not the pinned root. */
    swapped = chain_swapped(chain, 3, 4);
    assert_int_equal(
        dga_device_chain_verify(swapped, DGA_ARCH_HOPPER, &dev, at(T_2024), &info, &diag),
        DGA_E_CHAIN_ROOT);
    sk_X509_pop_free(swapped, X509_free);
    sk_X509_pop_free(chain, X509_free);
    dga_trust_clear(&dev);
}

static void test_chain_missing_intermediate(void **state)
{
    (void)state;
    STACK_OF(X509) *chain = load_chain(CHAIN_580);
    STACK_OF(X509) *other = load_chain(CHAIN_550);
    struct dga_trust dev = device_trust();
    struct dga_chain_info info;
    struct dga_diag diag = {0};
    /* Another device's BROM in position 1: the leaf's issuer is missing. */
    chain_replace(chain, 1, sk_X509_value(other, 1));
    assert_int_equal(
        dga_device_chain_verify(chain, DGA_ARCH_HOPPER, &dev, at(T_2024), &info, &diag),
        DGA_E_CHAIN_INVALID);
    assert_int_equal(diag.offset, 0);
    assert_string_equal(diag.field, "certificate 0 (leaf)");
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(other, X509_free);
    dga_trust_clear(&dev);
}

static void test_chain_arch_mismatch(void **state)
{
    (void)state;
    STACK_OF(X509) *hopper = load_chain(CHAIN_580);
    STACK_OF(X509) *ls10 = load_chain(CHAIN_LS10);
    struct dga_trust dev = device_trust();
    struct dga_chain_info info;
    struct dga_diag diag = {0};
    assert_int_equal(
        dga_device_chain_verify(hopper, DGA_ARCH_BLACKWELL, &dev, at(T_2024), &info, &diag),
        DGA_E_ARCH_MISMATCH);
    assert_int_equal(dga_device_chain_verify(hopper, DGA_ARCH_LS10, &dev, at(T_2024), &info, &diag),
                     DGA_E_ARCH_MISMATCH);
    assert_int_equal(dga_device_chain_verify(ls10, DGA_ARCH_HOPPER, &dev, at(T_2024), &info, &diag),
                     DGA_E_ARCH_MISMATCH);
    assert_int_equal(
        dga_device_chain_verify(hopper, (enum dga_arch)7, &dev, at(T_2024), &info, &diag),
        DGA_E_ARCH_MISMATCH);
    sk_X509_pop_free(hopper, X509_free);
    sk_X509_pop_free(ls10, X509_free);
    dga_trust_clear(&dev);
}

static void test_chain_bad_arguments(void **state)
{
    (void)state;
    STACK_OF(X509) *chain = load_chain(CHAIN_580);
    struct dga_trust none = {.root = NULL, .custom = true};
    struct dga_chain_info info;
    assert_int_equal(dga_device_chain_verify(chain, DGA_ARCH_HOPPER, &none, 0, &info, NULL),
                     DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_device_chain_verify(NULL, DGA_ARCH_HOPPER, &none, 0, &info, NULL),
                     DGA_E_BAD_ARGUMENT);
    sk_X509_pop_free(chain, X509_free);
}

/* --------------------------------------------------- generated chains */

static void test_generated_chain(void **state)
{
    (void)state;
    struct gen_spec spec = {0};
    struct gen_chain g;
    struct dga_chain_info info;
    gen_chain_make(&spec, &g);
    assert_int_equal(
        dga_device_chain_verify(g.chain, DGA_ARCH_HOPPER, &g.trust, at(T_2024), &info, NULL),
        DGA_E_OK);
    assert_string_equal(info.hwmodel, "GH100 A01 GSP BROM");
    assert_false(info.leaf_has_fwid);
    /* The NVIDIA root does not accept it. */
    struct dga_trust dev = device_trust();
    assert_int_equal(
        dga_device_chain_verify(g.chain, DGA_ARCH_HOPPER, &dev, at(T_2024), &info, NULL),
        DGA_E_CHAIN_ROOT);
    dga_trust_clear(&dev);
    gen_chain_free(&g);
}

static void test_generated_expired_reported(void **state)
{
    (void)state;
    struct gen_spec spec = {.leaf_not_after = "20210101000000Z"};
    struct gen_chain g;
    struct dga_chain_info info;
    gen_chain_make(&spec, &g);
    assert_int_equal(
        dga_device_chain_verify(g.chain, DGA_ARCH_HOPPER, &g.trust, at(T_2024), &info, NULL),
        DGA_E_OK);
    assert_true(info.expired);
    assert_false(info.not_yet_valid);
    assert_string_equal(info.expiration_date, "2021-01-01T00:00:00Z");
    assert_int_equal(dga_device_chain_verify(g.chain, DGA_ARCH_HOPPER, &g.trust,
                                             at("2020-06-01T00:00:00Z"), &info, NULL),
                     DGA_E_OK);
    assert_false(info.expired);
    gen_chain_free(&g);
}

static void test_generated_algorithms(void **state)
{
    (void)state;
    struct gen_chain g;
    struct dga_chain_info info;
    struct dga_diag diag = {0};
    struct gen_spec sha256 = {.md = {[2] = EVP_sha256()}};
    gen_chain_make(&sha256, &g);
    assert_int_equal(
        dga_device_chain_verify(g.chain, DGA_ARCH_HOPPER, &g.trust, at(T_2024), &info, &diag),
        DGA_E_CHAIN_ALGORITHM);
    assert_int_equal(diag.offset, 2);
    gen_chain_free(&g);

    struct gen_spec p256 = {.curve = {[1] = "P-256"}};
    gen_chain_make(&p256, &g);
    assert_int_equal(
        dga_device_chain_verify(g.chain, DGA_ARCH_HOPPER, &g.trust, at(T_2024), &info, &diag),
        DGA_E_CHAIN_ALGORITHM);
    assert_int_equal(diag.offset, 1);
    /* A P-256 leaf cannot verify a report either. */
    uint8_t sig[DGA_SIGNATURE_LEN] = {1};
    assert_int_equal(dga_report_signature_verify(sk_X509_value(g.chain, 1), sig, 1, sig),
                     DGA_E_CHAIN_ALGORITHM);
    gen_chain_free(&g);
}

static void test_generated_blackwell_fwid(void **state)
{
    (void)state;
    uint8_t v[256], want[DGA_DIGEST_LEN];
    size_t n = dice_vector(v, true, OID_SHA384);
    unhex(FWID_GB100, want, sizeof want);
    struct gen_spec spec = {.leaf_cn = "GB100 A01 GSP FMC LF",
                            .ext_oid = "2.23.133.5.4.1.1",
                            .ext_der = v,
                            .ext_len = n};
    struct gen_chain g;
    struct dga_chain_info info;
    gen_chain_make(&spec, &g);
    assert_int_equal(
        dga_device_chain_verify(g.chain, DGA_ARCH_BLACKWELL, &g.trust, at(T_2024), &info, NULL),
        DGA_E_OK);
    assert_true(info.leaf_has_fwid);
    assert_memory_equal(info.leaf_fwid, want, DGA_DIGEST_LEN);
    gen_chain_free(&g);
}

static void test_generated_bad_fwid_extension(void **state)
{
    (void)state;
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01};
    struct gen_spec spec = {.ext_oid = "2.23.133.5.4.1", .ext_der = junk, .ext_len = sizeof junk};
    struct gen_chain g;
    struct dga_chain_info info;
    struct dga_diag diag = {0};
    gen_chain_make(&spec, &g);
    assert_int_equal(
        dga_device_chain_verify(g.chain, DGA_ARCH_HOPPER, &g.trust, at(T_2024), &info, &diag),
        DGA_E_BAD_DER);
    assert_int_equal(diag.offset, 0);
    gen_chain_free(&g);
}

/* ------------------------------------------------------------ signature */

struct sig_case {
    const char *chain;
    const char *report;
};

static void test_report_signatures(void **state)
{
    (void)state;
    static const struct sig_case cases[] = {
        {CHAIN_580, "gpu/h100_580.159.03/report.hex"},
        {CHAIN_550, "gpu/h100_550.90.07/report.hex"},
        {"gpu/h100_545.00/certchain.pem", "gpu/h100_545.00/report.hex"},
        {"gpu/h100_535.86.09/certchain.pem", "gpu/h100_535.86.09/report.hex"},
        {CHAIN_LS10, "nvswitch/ls10_96.10.55.00.01/report.hex"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        STACK_OF(X509) *chain = load_chain(cases[i].chain);
        size_t len;
        _cleanup_(freep) uint8_t *report = fixture_report(cases[i].report, &len);
        assert_true(len > DGA_SIGNATURE_LEN);
        size_t msg_len = len - DGA_SIGNATURE_LEN;
        assert_int_equal(
            dga_report_signature_verify(sk_X509_value(chain, 0), report, msg_len, report + msg_len),
            DGA_E_OK);
        sk_X509_pop_free(chain, X509_free);
    }
}

static void test_report_signature_negative(void **state)
{
    (void)state;
    STACK_OF(X509) *chain = load_chain(CHAIN_580);
    X509 *leaf = sk_X509_value(chain, 0);
    size_t len;
    _cleanup_(freep) uint8_t *report = fixture_report("gpu/h100_580.159.03/report.hex", &len);
    size_t msg_len = len - DGA_SIGNATURE_LEN;
    uint8_t *sig = report + msg_len;

    report[40] ^= 0x01;
    assert_int_equal(dga_report_signature_verify(leaf, report, msg_len, sig),
                     DGA_E_SIGNATURE_INVALID);
    report[40] ^= 0x01;
    sig[95] ^= 0x80;
    assert_int_equal(dga_report_signature_verify(leaf, report, msg_len, sig),
                     DGA_E_SIGNATURE_INVALID);
    sig[95] ^= 0x80;
    sig[0] ^= 0x01;
    assert_int_equal(dga_report_signature_verify(leaf, report, msg_len, sig),
                     DGA_E_SIGNATURE_INVALID);
    sig[0] ^= 0x01;
    /* One byte short of the signed message. */
    assert_int_equal(dga_report_signature_verify(leaf, report, msg_len - 1, sig),
                     DGA_E_SIGNATURE_INVALID);
    /* The BROM's key did not sign the report. */
    assert_int_equal(dga_report_signature_verify(sk_X509_value(chain, 1), report, msg_len, sig),
                     DGA_E_SIGNATURE_INVALID);
    /* r = s = 0. */
    uint8_t zero[DGA_SIGNATURE_LEN];
    memset(zero, 0, sizeof zero);
    assert_int_equal(dga_report_signature_verify(leaf, report, msg_len, zero),
                     DGA_E_SIGNATURE_INVALID);
    /* Still good after all that. */
    assert_int_equal(dga_report_signature_verify(leaf, report, msg_len, sig), DGA_E_OK);
    assert_int_equal(dga_report_signature_verify(NULL, report, msg_len, sig), DGA_E_BAD_ARGUMENT);
    sk_X509_pop_free(chain, X509_free);
}

/* The pool returns the certificate decoded from the same bytes, and decodes nothing else. */
static void test_cert_pool(void **state)
{
    (void)state;
    size_t len;
    _cleanup_(freep) uint8_t *pem = fixture_read(CHAIN_580, &len);
    struct dga_cert_pool *pool = NULL;
    STACK_OF(X509) *a = NULL, *b = NULL, *plain = NULL;
    assert_int_equal(dga_cert_pool_new(&pool), DGA_E_OK);
    assert_int_equal(dga_pem_chain_parse_pooled((char *)pem, len, pool, &a, NULL), DGA_E_OK);
    assert_int_equal(dga_pem_chain_parse_pooled((char *)pem, len, pool, &b, NULL), DGA_E_OK);
    assert_int_equal(dga_pem_chain_parse((char *)pem, len, &plain, NULL), DGA_E_OK);
    for (int i = 0; i < sk_X509_num(a); i++) {
        assert_ptr_equal(sk_X509_value(a, i), sk_X509_value(b, i)); /* shared */
        assert_ptr_not_equal(sk_X509_value(a, i), sk_X509_value(plain, i));
        assert_int_equal(X509_cmp(sk_X509_value(a, i), sk_X509_value(plain, i)), 0);
    }
    /* The pooled stacks own their references: freeing one leaves the other whole. */
    sk_X509_pop_free(a, X509_free);
    assert_int_equal(X509_cmp(sk_X509_value(b, 0), sk_X509_value(plain, 0)), 0);

    unsigned char *der = NULL;
    int der_len = i2d_X509(sk_X509_value(plain, 0), &der);
    assert_true(der_len > 0);
    X509 *x = NULL;
    assert_int_equal(dga_cert_pool_decode(pool, der, (size_t)der_len, &x), DGA_E_OK);
    assert_ptr_equal(x, sk_X509_value(b, 0));
    X509_free(x);
    /* One byte short, one byte more, nothing, a flipped tag: never a pool hit. */
    assert_int_equal(dga_cert_pool_decode(pool, der, (size_t)der_len - 1, &x), DGA_E_BAD_CERT);
    unsigned char *more = malloc((size_t)der_len + 1);
    assert_non_null(more);
    memcpy(more, der, (size_t)der_len);
    more[der_len] = 0;
    assert_int_equal(dga_cert_pool_decode(pool, more, (size_t)der_len + 1, &x), DGA_E_BAD_CERT);
    assert_int_equal(dga_cert_pool_decode(pool, more, 0, &x), DGA_E_BAD_CERT);
    more[0] ^= 0x01;
    assert_int_equal(dga_cert_pool_decode(pool, more, (size_t)der_len, &x), DGA_E_BAD_CERT);
    free(more);
    /* Without a pool: a plain decode, every call its own certificate. */
    X509 *y = NULL;
    assert_int_equal(dga_cert_pool_decode(NULL, der, (size_t)der_len, &x), DGA_E_OK);
    assert_int_equal(dga_cert_pool_decode(NULL, der, (size_t)der_len, &y), DGA_E_OK);
    assert_ptr_not_equal(x, y);
    X509_free(x);
    X509_free(y);
    OPENSSL_free(der);
    assert_int_equal(dga_cert_pool_add(NULL, sk_X509_value(b, 0)), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_cert_pool_add(pool, NULL), DGA_E_BAD_ARGUMENT);
    sk_X509_pop_free(b, X509_free);
    sk_X509_pop_free(plain, X509_free);
    dga_cert_pool_free(pool);
    dga_cert_pool_free(NULL);
}

/*
 * Per-device certificates never crowd out shared ones: 1100 distinct leaves
 * (the 580 leaf with its signature's last two bytes varied) through the
 * per-device tier, which keeps 1024 of them, and the chain's CA certificates
 * are still pooled after (a single table of 64 would have been full).
 */
static void test_cert_pool_tiers(void **state)
{
    (void)state;
    enum { LEAVES = 1100, DEVICE_MAX = 1024 };
    size_t len;
    _cleanup_(freep) uint8_t *pem = fixture_read(CHAIN_580, &len);
    STACK_OF(X509) *plain = load_chain(CHAIN_580);
    struct dga_cert_pool *pool = NULL;
    assert_int_equal(dga_cert_pool_new(&pool), DGA_E_OK);
    unsigned char *der = NULL;
    int der_len = i2d_X509(sk_X509_value(plain, 0), &der);
    assert_true(der_len > 2);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < LEAVES; i++) {
            der[der_len - 1] = (unsigned char)(i & 0xff);
            der[der_len - 2] = (unsigned char)(i >> 8);
            X509 *x = NULL, *y = NULL;
            assert_int_equal(dga_cert_pool_decode_device(pool, der, (size_t)der_len, &x), DGA_E_OK);
            assert_int_equal(dga_cert_pool_decode_device(pool, der, (size_t)der_len, &y), DGA_E_OK);
            if (i < DEVICE_MAX) {
                assert_ptr_equal(x, y);
            } else {
                assert_ptr_not_equal(x, y); /* the tier is full: decoded as usual */
            }
            X509_free(x);
            X509_free(y);
        }
    }
    OPENSSL_free(der);
    /* A device chain: its leaf and BROM per-device, ICA up shared; both are pooled. */
    STACK_OF(X509) *a = NULL, *b = NULL;
    assert_int_equal(dga_pem_chain_parse_pooled_from((char *)pem, len, pool,
                                                     DGA_DEVICE_CHAIN_SHARED_FROM, &a, NULL),
                     DGA_E_OK);
    assert_int_equal(dga_pem_chain_parse_pooled((char *)pem, len, pool, &b, NULL), DGA_E_OK);
    for (int i = 0; i < sk_X509_num(a); i++) {
        if (i < DGA_DEVICE_CHAIN_SHARED_FROM) {
            assert_ptr_not_equal(sk_X509_value(a, i), sk_X509_value(b, i)); /* tier full */
        } else {
            assert_ptr_equal(sk_X509_value(a, i), sk_X509_value(b, i));
        }
        assert_int_equal(X509_cmp(sk_X509_value(a, i), sk_X509_value(plain, i)), 0);
    }
    sk_X509_pop_free(a, X509_free);
    sk_X509_pop_free(b, X509_free);
    /* A frozen pool's per-device tier still remembers; its shared tier does not. */
    struct dga_cert_pool *frozen = NULL;
    assert_int_equal(dga_cert_pool_new(&frozen), DGA_E_OK);
    dga_cert_pool_freeze(frozen);
    assert_int_equal(dga_pem_chain_parse_pooled_from((char *)pem, len, frozen, 1, &a, NULL),
                     DGA_E_OK);
    assert_int_equal(dga_pem_chain_parse_pooled_from((char *)pem, len, frozen, 1, &b, NULL),
                     DGA_E_OK);
    assert_ptr_equal(sk_X509_value(a, 0), sk_X509_value(b, 0));
    for (int i = 1; i < sk_X509_num(a); i++) {
        assert_ptr_not_equal(sk_X509_value(a, i), sk_X509_value(b, i));
    }
    sk_X509_pop_free(a, X509_free);
    sk_X509_pop_free(b, X509_free);
    dga_cert_pool_free(frozen);
    dga_cert_pool_free(pool);
    sk_X509_pop_free(plain, X509_free);
}

/* The 580 chain without its root copy through the generic path, under cache tag `kind`. */
static dga_err path_of(STACK_OF(X509) *chain, X509 *root, struct dga_chain_cache *cache, char kind,
                       bool remember, struct dga_chain_path *ret)
{
    *ret = (struct dga_chain_path){
        .certs = chain, .n = 4, .root = root, .cache = cache, .kind = kind, .anchor = 2};
    dga_err e = dga_chain_path_verify(ret);
    if (e == DGA_E_OK && remember) {
        dga_chain_path_remember(ret);
    }
    return e;
}

/*
 * The generic chain (struct dga_chain_path): a suffix is reused only after
 * dga_chain_path_remember, only under the same kind tag, and a reused one
 * validates only the certificates below the anchor.
 */
static void test_chain_path_cache(void **state)
{
    (void)state;
    STACK_OF(X509) *chain = load_chain(CHAIN_580);
    struct dga_trust t = device_trust();
    struct dga_chain_cache *cache = NULL;
    struct dga_chain_path p;
    assert_int_equal(dga_chain_cache_new(&cache), DGA_E_OK);

    dga_stats_reset();
    assert_int_equal(path_of(chain, t.root, cache, 'X', false, &p), DGA_E_OK);
    assert_false(p.partial);
    assert_ptr_equal(p.top, t.root);
    assert_int_equal(sk_X509_num(p.built), 5);
    assert_int_equal(dga_stats_ecdsa_verifications(), 4);
    dga_chain_path_clear(&p);
    /* not remembered: in full again, and remembered this time */
    assert_int_equal(path_of(chain, t.root, cache, 'X', true, &p), DGA_E_OK);
    assert_false(p.partial);
    assert_int_equal(dga_stats_ecdsa_verifications(), 8);
    dga_chain_path_clear(&p);
    /* the same whole chain and tag: no path validation, the presented chain then the root */
    assert_int_equal(path_of(chain, t.root, cache, 'X', true, &p), DGA_E_OK);
    assert_true(p.whole);
    assert_false(p.partial);
    assert_ptr_equal(p.top, t.root);
    assert_int_equal(sk_X509_num(p.built), 5);
    for (int i = 0; i < 4; i++) {
        assert_ptr_equal(sk_X509_value(p.built, i), sk_X509_value(chain, i));
    }
    assert_ptr_equal(sk_X509_value(p.built, 4), t.root);
    assert_int_equal(dga_stats_ecdsa_verifications(), 8);
    dga_chain_path_clear(&p);
    /* another GPU, the same suffix and tag: leaf and BROM under the cached ICA, then whole */
    STACK_OF(X509) *other = load_chain(CHAIN_550);
    assert_int_equal(path_of(other, t.root, cache, 'X', true, &p), DGA_E_OK);
    assert_true(p.partial);
    assert_false(p.whole);
    assert_int_equal(X509_cmp(p.top, sk_X509_value(other, 2)), 0);
    assert_int_equal(sk_X509_num(p.built), 3);
    assert_int_equal(dga_stats_ecdsa_verifications(), 10);
    dga_chain_path_clear(&p);
    assert_int_equal(path_of(other, t.root, cache, 'X', false, &p), DGA_E_OK);
    assert_true(p.whole);
    assert_int_equal(dga_stats_ecdsa_verifications(), 10);
    dga_chain_path_clear(&p);
    sk_X509_pop_free(other, X509_free);
    /* another tag never sees it */
    assert_int_equal(path_of(chain, t.root, cache, 'Y', false, &p), DGA_E_OK);
    assert_false(p.partial);
    assert_int_equal(dga_stats_ecdsa_verifications(), 14);
    dga_chain_path_clear(&p);
    /* no cache, or an anchor outside 1..n-1: always in full */
    assert_int_equal(path_of(chain, t.root, NULL, 'X', true, &p), DGA_E_OK);
    assert_false(p.partial);
    dga_chain_path_clear(&p);
    p = (struct dga_chain_path){
        .certs = chain, .n = 4, .root = t.root, .cache = cache, .kind = 'X', .anchor = 4};
    assert_int_equal(dga_chain_path_verify(&p), DGA_E_OK);
    assert_false(p.partial);
    dga_chain_path_clear(&p);
    /* a wrong root (the whole chain under the right one is cached): the depth OpenSSL failed
       at, nothing built */
    X509 *impostor = impostor_root();
    assert_int_equal(path_of(chain, impostor, cache, 'X', true, &p), DGA_E_CHAIN_INVALID);
    assert_false(p.whole);
    assert_int_equal(p.depth, 3);
    assert_null(p.built);
    dga_chain_path_clear(&p);
    X509_free(impostor);
    /* arguments */
    p = (struct dga_chain_path){.certs = chain, .n = 0, .root = t.root};
    assert_int_equal(dga_chain_path_verify(&p), DGA_E_BAD_ARGUMENT);
    p = (struct dga_chain_path){.certs = chain, .n = 6, .root = t.root};
    assert_int_equal(dga_chain_path_verify(&p), DGA_E_BAD_ARGUMENT);
    p = (struct dga_chain_path){.certs = chain, .n = 4, .root = NULL};
    assert_int_equal(dga_chain_path_verify(&p), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_chain_path_verify(NULL), DGA_E_BAD_ARGUMENT);
    dga_chain_path_clear(NULL);

    dga_chain_cache_free(cache);
    dga_trust_clear(&t);
    sk_X509_pop_free(chain, X509_free);
}

/* Device chain 580 through `cache` (NULL: uncached) at `when`; info and diag zeroed first. */
static dga_err device_at(STACK_OF(X509) *chain, struct dga_chain_cache *cache, const char *when,
                         struct dga_chain_info *info, struct dga_diag *diag)
{
    struct dga_trust t = device_trust();
    memset(info, 0, sizeof *info);
    memset(diag, 0, sizeof *diag);
    dga_err e =
        dga_device_chain_verify_cached(chain, DGA_ARCH_HOPPER, &t, at(when), cache, info, diag);
    dga_trust_clear(&t);
    return e;
}

/* A copy of chain whose certificate idx has its last (signature) byte flipped. */
static STACK_OF(X509) *chain_corrupted(STACK_OF(X509) *chain, int idx)
{
    unsigned char *der = NULL;
    int len = i2d_X509(sk_X509_value(chain, idx), &der);
    assert_true(len > 0);
    der[len - 1] ^= 0x01;
    const unsigned char *p = der;
    X509 *bad = d2i_X509(NULL, &p, len);
    assert_non_null(bad);
    OPENSSL_free(der);
    STACK_OF(X509) *out = chain_swapped(chain, 0, 0);
    chain_replace(out, idx, bad);
    X509_free(bad);
    return out;
}

/*
 * The whole-chain cache never changes a verdict: once the 580 chain is cached
 * whole, a hit costs no ECDSA; the chain with one byte of the leaf's
 * signature changed fails as uncached (error, offset, field); the validity
 * flags at every time equal the uncached ones.
 */
static void test_whole_chain_verdicts(void **state)
{
    (void)state;
    static const char *const times[] = {T_2024, "2019-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                                        "2020-10-17T00:00:00Z", "2030-01-01T00:00:00Z"};
    STACK_OF(X509) *chain = load_chain(CHAIN_580);
    STACK_OF(X509) *bad = chain_corrupted(chain, 0);
    struct dga_chain_cache *cache = NULL;
    struct dga_chain_info plain, cached;
    struct dga_diag dp, dc;
    assert_int_equal(dga_chain_cache_new(&cache), DGA_E_OK);
    dga_stats_reset();
    assert_int_equal(device_at(chain, cache, T_2024, &cached, &dc), DGA_E_OK);
    assert_int_equal(dga_stats_ecdsa_verifications(), 4);
    assert_int_equal(device_at(chain, cache, T_2024, &cached, &dc), DGA_E_OK);
    assert_int_equal(dga_stats_ecdsa_verifications(), 4); /* whole: no path validation */

    dga_err want = device_at(bad, NULL, T_2024, &plain, &dp);
    assert_int_equal(want, DGA_E_CHAIN_INVALID);
    assert_int_equal(device_at(bad, cache, T_2024, &cached, &dc), want);
    assert_int_equal(dc.offset, dp.offset);
    assert_string_equal(dc.field, dp.field);
    assert_int_equal(device_at(bad, cache, T_2024, &cached, &dc), want); /* never remembered */

    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        assert_int_equal(device_at(chain, NULL, times[i], &plain, &dp), DGA_E_OK);
        dga_stats_reset();
        assert_int_equal(device_at(chain, cache, times[i], &cached, &dc), DGA_E_OK);
        assert_int_equal(dga_stats_ecdsa_verifications(), 0);
        assert_memory_equal(&plain, &cached, sizeof plain);
    }
    dga_chain_cache_free(cache);
    sk_X509_pop_free(bad, X509_free);
    sk_X509_pop_free(chain, X509_free);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetched_digests),
        cmocka_unit_test(test_root_fingerprints),
        cmocka_unit_test(test_trust_from_pem),
        cmocka_unit_test(test_trust_from_pem_rejects),
        cmocka_unit_test(test_pem_fixtures_parse),
        cmocka_unit_test(test_pem_keeps_order),
        cmocka_unit_test(test_pem_empty),
        cmocka_unit_test(test_pem_junk_between_blocks),
        cmocka_unit_test(test_pem_corrupted_base64),
        cmocka_unit_test(test_pem_structure),
        cmocka_unit_test(test_pem_non_canonical_der),
        cmocka_unit_test(test_pem_too_many),
        cmocka_unit_test(test_pem_too_long),
        cmocka_unit_test(test_pem_truncations),
        cmocka_unit_test(test_der_reader),
        cmocka_unit_test(test_der_long_form_and_expect),
        cmocka_unit_test(test_fwid_tcg),
        cmocka_unit_test(test_fwid_dice),
        cmocka_unit_test(test_fwid_dice_shapes),
        cmocka_unit_test(test_cert_fwid_580),
        cmocka_unit_test(test_fixture_chains_verify),
        cmocka_unit_test(test_chain_580_info),
        cmocka_unit_test(test_chain_550_and_ls10_info),
        cmocka_unit_test(test_chain_time_reported),
        cmocka_unit_test(test_chain_ppcie),
        cmocka_unit_test(test_chain_missing_brom),
        cmocka_unit_test(test_chain_foreign_root),
        cmocka_unit_test(test_chain_reordered),
        cmocka_unit_test(test_chain_missing_intermediate),
        cmocka_unit_test(test_chain_arch_mismatch),
        cmocka_unit_test(test_chain_bad_arguments),
        cmocka_unit_test(test_generated_chain),
        cmocka_unit_test(test_generated_expired_reported),
        cmocka_unit_test(test_generated_algorithms),
        cmocka_unit_test(test_generated_blackwell_fwid),
        cmocka_unit_test(test_generated_bad_fwid_extension),
        cmocka_unit_test(test_report_signatures),
        cmocka_unit_test(test_report_signature_negative),
        cmocka_unit_test(test_cert_pool),
        cmocka_unit_test(test_cert_pool_tiers),
        cmocka_unit_test(test_chain_path_cache),
        cmocka_unit_test(test_whole_chain_verdicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
