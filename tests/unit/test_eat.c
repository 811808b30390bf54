/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Detached EAT tokens: build/verify round trips, every rejection with its
 * exact error, the real NRAS and nvattest tokens, strict base64url and key
 * loading.
 *
 * `test_eat --make KEY.pem DIR` writes tokens for tests/cli/test_eat_cli.sh
 * instead of running the tests (there is no token-building command yet).
 */
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "dga/eat.h"
#include "dga/util.h"

#define T0 ((time_t)1717200000) /* 2024-06-01T00:00:00Z */
#define LEEWAY 10
#define NRAS_FILE "gpu/h100_550.90.07/nras_detached_eat.json"
#define NVATTEST_FILE "dstack/nvattest_output_h100.json"
#define OTHER_NONCE "2222222222222222222222222222222222222222222222222222222222222222"

static EVP_PKEY *key_a; /* signs */
static EVP_PKEY *key_b; /* another P-384 key */
static EVP_PKEY *key_p256;

static int group_setup(void **state)
{
    (void)state;
    key_a = EVP_EC_gen("P-384");
    key_b = EVP_EC_gen("P-384");
    key_p256 = EVP_EC_gen("P-256");
    return key_a != NULL && key_b != NULL && key_p256 != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(key_a);
    EVP_PKEY_free(key_b);
    EVP_PKEY_free(key_p256);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------- */

static void nonce_n1(uint8_t out[DGA_NONCE_LEN])
{
    assert_int_equal(dga_hex_decode_exact(NONCE_N1, out, DGA_NONCE_LEN), DGA_E_OK);
}

static json_t *device(const char *type, const char *nonce_hex)
{
    json_t *d = json_pack("{s:s,s:s,s:s,s:b}", "x-nvidia-device-type", type, "hwmodel",
                          "GH100 A01 GSP BROM", "ueid", "4577234803490517191", "secboot", 1);
    assert_non_null(d);
    if (nonce_hex != NULL) {
        assert_int_equal(json_object_set_new(d, "eat_nonce", json_string(nonce_hex)), 0);
    }
    return d;
}

/* n_gpu GPUs then n_switch switches, interleaved when both are given. */
static json_t *claims_of(size_t n_gpu, size_t n_switch)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n_gpu || i < n_switch; i++) {
        if (i < n_gpu) {
            json_array_append_new(a, device("gpu", NONCE_N1));
        }
        if (i < n_switch) {
            json_array_append_new(a, device("nvswitch", NONCE_N1));
        }
    }
    return a;
}

static struct dga_eat_options options(EVP_PKEY *key)
{
    struct dga_eat_options o = {.key = key, .kid = "kid-1", .iat = T0, .overall_result = true};
    nonce_n1(o.nonce);
    return o;
}

/* Builds and serializes (compact); the text is malloc'd. */
static char *build_text(const json_t *claims, const struct dga_eat_options *o)
{
    json_t *eat = NULL;
    assert_int_equal(dga_eat_build(claims, o, &eat), DGA_E_OK);
    char *text = json_dumps(eat, JSON_COMPACT);
    assert_non_null(text);
    json_decref(eat);
    return text;
}

static char *build_signed(size_t n_gpu, size_t n_switch)
{
    json_t *claims = claims_of(n_gpu, n_switch);
    struct dga_eat_options o = options(key_a);
    char *text = build_text(claims, &o);
    json_decref(claims);
    return text;
}

static dga_err verify_at(const char *text, EVP_PKEY *key, time_t now, struct dga_diag *diag)
{
    return dga_eat_verify(text, strlen(text), key, now, LEEWAY, NULL, diag);
}

static dga_err verify(const char *text)
{
    return verify_at(text, key_a, T0, NULL);
}

static void expect_diag(const char *text, dga_err want, const char *field, size_t offset)
{
    struct dga_diag diag = {0};
    assert_int_equal(verify_at(text, key_a, T0, &diag), want);
    assert_int_equal(diag.err, want);
    assert_string_equal(diag.field, field);
    assert_int_equal(diag.offset, offset);
}

static json_t *decode_part(const char *compact, int index)
{
    const char *p = compact;
    for (int i = 0; i < index; i++) {
        p = strchr(p, '.') + 1;
    }
    const char *end = strchr(p, '.');
    size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
    uint8_t *bytes = NULL;
    size_t n = 0;
    assert_int_equal(dga_base64url_decode(p, len, &bytes, &n), DGA_E_OK);
    json_t *j = json_loadb((const char *)bytes, n, 0, NULL);
    free(bytes);
    assert_non_null(j);
    return j;
}

static char *b64url(const void *data, size_t n)
{
    char *s = NULL;
    assert_int_equal(dga_base64url_encode(data, n, &s), DGA_E_OK);
    return s;
}

static char *b64url_json(const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    char *s = b64url(text, strlen(text));
    free(text);
    return s;
}

/* ES384 raw r||s over msg; sig_len bytes of it kept (96 normally). */
static char *es384_b64(EVP_PKEY *key, const char *msg, size_t sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[160];
    size_t der_len = sizeof der;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(md, der, &der_len, (const unsigned char *)msg, strlen(msg)), 1);
    EVP_MD_CTX_free(md);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    assert_non_null(sig);
    uint8_t raw[97] = {0};
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 48), 48);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 48, 48), 48);
    ECDSA_SIG_free(sig);
    return b64url(raw, sig_len);
}

/* A compact JWS of header and payload (JSON text), signed with key unless sig_len is 0. */
static char *jws(EVP_PKEY *key, const char *header, const json_t *payload, size_t sig_len)
{
    char *h = b64url(header, strlen(header));
    char *p = b64url_json(payload);
    size_t n = strlen(h) + strlen(p) + 300;
    char *out = malloc(n);
    snprintf(out, n, "%s.%s", h, p);
    char *s = sig_len > 0 ? es384_b64(key, out, sig_len) : NULL;
    size_t used = strlen(out);
    snprintf(out + used, n - used, ".%s", s != NULL ? s : "");
    free(h);
    free(p);
    free(s);
    return out;
}

static const char ES384_HEADER[] = "{\"alg\":\"ES384\",\"typ\":\"JWT\"}";

static json_t *token_payload(const char *nonce_hex)
{
    json_t *p = json_pack("{s:I,s:I,s:s}", "iat", (json_int_t)T0, "exp", (json_int_t)T0 + 3600,
                          "iss", "test");
    assert_non_null(p);
    if (nonce_hex != NULL) {
        json_object_set_new(p, "eat_nonce", json_string(nonce_hex));
    }
    return p;
}

static json_t *digest_entry(const char *alg, const char *compact)
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    SHA256((const unsigned char *)compact, strlen(compact), md);
    dga_hex_encode(md, sizeof md, hex);
    return json_pack("[s,[s,s]]", "DIGEST", alg, hex);
}

/*
 * A detached EAT of one submod "GPU-0" = sub, with an overall token signed
 * by key_a over the right digest (label alg) and nonce N1.
 */
static char *wrap_one(const char *sub, const char *alg)
{
    json_t *payload = token_payload(NONCE_N1);
    json_object_set_new(payload, "submods", json_pack("{s:o}", "GPU-0", digest_entry(alg, sub)));
    char *overall = jws(key_a, ES384_HEADER, payload, 96);
    json_t *doc = json_pack("[[s,s],{s:s}]", "JWT", overall, "GPU-0", sub);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    json_decref(payload);
    free(overall);
    return text;
}

/* wrap_one around a submod with this header, signed by key (sig_len bytes). */
static dga_err verify_crafted_sub(const char *header, EVP_PKEY *key, size_t sig_len,
                                  const char *nonce_hex)
{
    json_t *payload = token_payload(nonce_hex);
    char *sub = jws(key, header, payload, sig_len);
    char *text = wrap_one(sub, "SHA256");
    dga_err e = verify(text);
    free(text);
    free(sub);
    json_decref(payload);
    return e;
}

/* The detached EAT text with its overall token replaced by `compact`. */
static char *replace_overall(const char *text, const char *compact)
{
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    json_array_set_new(json_array_get(doc, 0), 1, json_string(compact));
    char *out = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return out;
}

static const char *overall_of(json_t *doc)
{
    return json_string_value(json_array_get(json_array_get(doc, 0), 1));
}

/* ---- round trips --------------------------------------------------------------------- */

static void check_round_trip(size_t n_gpu, size_t n_switch)
{
    char *text = build_signed(n_gpu, n_switch);
    json_t *overall = NULL;
    assert_int_equal(dga_eat_verify(text, strlen(text), key_a, T0, LEEWAY, &overall, NULL),
                     DGA_E_OK);
    json_t *submods = json_object_get(overall, "submods");
    assert_int_equal(json_object_size(submods), n_gpu + n_switch);
    char label[32];
    for (size_t i = 0; i < n_gpu; i++) {
        snprintf(label, sizeof label, "GPU-%zu", i);
        assert_non_null(json_object_get(submods, label));
    }
    for (size_t i = 0; i < n_switch; i++) {
        snprintf(label, sizeof label, "SWITCH-%zu", i);
        assert_non_null(json_object_get(submods, label));
    }
    json_decref(overall);
    free(text);
}

static void test_round_trip_one_gpu(void **state)
{
    (void)state;
    check_round_trip(1, 0);
}

static void test_round_trip_eight_gpus(void **state)
{
    (void)state;
    check_round_trip(8, 0);
}

static void test_round_trip_gpus_and_switches(void **state)
{
    (void)state;
    check_round_trip(2, 2);
    check_round_trip(8, 4);
    /* interleaved order: GPU, SWITCH, GPU, SWITCH gets GPU-0 SWITCH-0 GPU-1 SWITCH-1 */
    char *text = build_signed(2, 2);
    json_t *doc = json_loads(text, 0, NULL);
    const char *key;
    json_t *value;
    const char *want[] = {"GPU-0", "SWITCH-0", "GPU-1", "SWITCH-1"};
    size_t i = 0;
    json_object_foreach(json_array_get(doc, 1), key, value)
    {
        assert_string_equal(key, want[i]);
        json_t *p = decode_part(json_string_value(value), 1);
        assert_string_equal(json_string_value(json_object_get(p, "x-nvidia-device-type")),
                            i % 2 == 0 ? "gpu" : "nvswitch");
        json_decref(p);
        i++;
    }
    assert_int_equal(i, 4);
    json_decref(doc);
    free(text);
}

static void test_built_token_contents(void **state)
{
    (void)state;
    char *text = build_signed(1, 0);
    json_t *doc = json_loads(text, 0, NULL);
    const char *compact = overall_of(doc);
    /* header: sorted compact JSON */
    const char *dot = strchr(compact, '.');
    uint8_t *hb = NULL;
    size_t hn = 0;
    assert_int_equal(dga_base64url_decode(compact, (size_t)(dot - compact), &hb, &hn), DGA_E_OK);
    assert_string_equal((char *)hb, "{\"alg\":\"ES384\",\"kid\":\"kid-1\",\"typ\":\"JWT\"}");
    free(hb);
    /* signature part: 96 bytes = 128 base64url characters */
    assert_int_equal(strlen(strrchr(compact, '.') + 1), 128);
    json_t *p = decode_part(compact, 1);
    assert_string_equal(json_string_value(json_object_get(p, "iss")), "dstack-gpu-attest");
    assert_string_equal(json_string_value(json_object_get(p, "sub")),
                        "NVIDIA-PLATFORM-ATTESTATION");
    assert_string_equal(json_string_value(json_object_get(p, "x-nvidia-ver")), "3.0");
    assert_string_equal(json_string_value(json_object_get(p, "eat_nonce")), NONCE_N1);
    assert_true(json_is_true(json_object_get(p, "x-nvidia-overall-att-result")));
    assert_int_equal(json_integer_value(json_object_get(p, "iat")), T0);
    assert_int_equal(json_integer_value(json_object_get(p, "exp")), T0 + DGA_EAT_LIFETIME);
    const char *jti = json_string_value(json_object_get(p, "jti"));
    assert_int_equal(strlen(jti), 64);
    assert_int_equal(strspn(jti, "0123456789abcdef"), 64);
    assert_null(json_object_get(p, "x-dstack-unsigned"));
    /* submods: ["DIGEST", ["SHA256", sha256(GPU-0 string)]] */
    const char *sub = json_string_value(json_object_get(json_array_get(doc, 1), "GPU-0"));
    json_t *want = digest_entry("SHA256", sub);
    assert_true(json_equal(json_object_get(json_object_get(p, "submods"), "GPU-0"), want));
    json_decref(want);
    json_t *sp = decode_part(sub, 1);
    assert_string_equal(json_string_value(json_object_get(sp, "hwmodel")), "GH100 A01 GSP BROM");
    assert_string_equal(json_string_value(json_object_get(sp, "eat_nonce")), NONCE_N1);
    assert_string_not_equal(json_string_value(json_object_get(sp, "jti")), jti);
    json_decref(sp);
    json_decref(p);
    json_decref(doc);
    free(text);
}

/* Claims without eat_nonce get the overall nonce; a custom issuer and no kid. */
static void test_build_defaults(void **state)
{
    (void)state;
    json_t *claims = json_pack("[o]", device("gpu", NULL));
    struct dga_eat_options o = options(key_a);
    o.kid = NULL;
    o.issuer = "https://verifier.example";
    o.overall_result = false;
    char *text = build_text(claims, &o);
    json_t *overall = NULL;
    assert_int_equal(dga_eat_verify(text, strlen(text), key_a, T0, 0, &overall, NULL), DGA_E_OK);
    assert_true(json_is_false(json_object_get(overall, "x-nvidia-overall-att-result")));
    assert_string_equal(json_string_value(json_object_get(overall, "iss")),
                        "https://verifier.example");
    json_t *doc = json_loads(text, 0, NULL);
    json_t *h = decode_part(overall_of(doc), 0);
    assert_null(json_object_get(h, "kid"));
    json_decref(h);
    json_decref(doc);
    json_decref(overall);
    json_decref(claims);
    free(text);
}

/* ---- algorithm ----------------------------------------------------------------------- */

static void test_unsigned_is_algorithm(void **state)
{
    (void)state;
    json_t *claims = claims_of(2, 1);
    struct dga_eat_options o = options(NULL);
    o.allow_unsigned = true;
    char *text = build_text(claims, &o);
    json_t *doc = json_loads(text, 0, NULL);
    const char *compact = overall_of(doc);
    assert_int_equal(compact[strlen(compact) - 1], '.');
    json_t *h = decode_part(compact, 0);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "none");
    json_t *p = decode_part(compact, 1);
    assert_true(json_is_true(json_object_get(p, "x-dstack-unsigned")));
    expect_diag(text, DGA_E_EAT_ALGORITHM, "overall.header", 0);
    json_decref(p);
    json_decref(h);
    json_decref(doc);
    json_decref(claims);
    free(text);
}

static void test_header_algorithms(void **state)
{
    (void)state;
    /* a correct ES384 P-384 signature, but the header says otherwise */
    static const char *const bad[] = {
        "{\"alg\":\"ES256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"es384\"}",
        "{\"alg\":\"ES384 \"}",
        "{\"alg\":\"none\"}",
        "{\"alg\":\"HS384\"}",
        "{\"typ\":\"JWT\"}",
        "{\"alg\":384}",
        "{\"alg\":\"ES384\",\"crit\":[\"exp\"]}",
        "{\"alg\":\"ES384\",\"jku\":\"https://attacker.example/jwks\"}",
        "{\"alg\":\"ES384\",\"x5u\":\"https://attacker.example/cert\"}",
        "{\"alg\":\"ES384\",\"jwk\":{\"kty\":\"EC\"}}",
        "{\"alg\":\"ES384\",\"x5c\":[]}",
    };
    json_t *payload = token_payload(NONCE_N1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_object_set_new(payload, "submods", json_object());
        char *overall = jws(key_a, bad[i], payload, 96);
        char *text = replace_overall("[[\"JWT\",\"x\"],{\"GPU-0\":\"a.b.c\"}]", overall);
        expect_diag(text, DGA_E_EAT_ALGORITHM, "overall.header", 0);
        free(text);
        free(overall);
        /* and on a submod */
        assert_int_equal(verify_crafted_sub(bad[i], key_a, 96, NONCE_N1), DGA_E_EAT_ALGORITHM);
    }
    json_decref(payload);
    /* the same submod with the right header verifies */
    assert_int_equal(verify_crafted_sub(ES384_HEADER, key_a, 96, NONCE_N1), DGA_E_OK);
    assert_int_equal(verify_crafted_sub("{\"alg\":\"ES384\",\"kid\":\"k\"}", key_a, 96, NONCE_N1),
                     DGA_E_OK);
    /* an unsigned submod under a signed overall token */
    assert_int_equal(verify_crafted_sub("{\"alg\":\"none\"}", NULL, 0, NONCE_N1),
                     DGA_E_EAT_ALGORITHM);
}

/* ---- signatures ---------------------------------------------------------------------- */

static void test_tampered_payload(void **state)
{
    (void)state;
    char *text = build_signed(1, 0);
    json_t *doc = json_loads(text, 0, NULL);
    const char *compact = overall_of(doc);
    json_t *p = decode_part(compact, 1);
    json_object_set_new(p, "x-nvidia-overall-att-result", json_false());
    char *np = b64url_json(p);
    /* original header and signature around the altered payload */
    const char *d1 = strchr(compact, '.');
    const char *d2 = strchr(d1 + 1, '.');
    size_t n = strlen(compact) + strlen(np) + 1;
    char *forged = malloc(n);
    snprintf(forged, n, "%.*s.%s%s", (int)(d1 - compact), compact, np, d2);
    char *ftext = replace_overall(text, forged);
    expect_diag(ftext, DGA_E_EAT_SIGNATURE, "overall.signature", 0);
    free(ftext);
    /* a flipped character at the start of the payload: "eyJ" -> "fyJ", '{' is gone */
    char *flip = strdup(text);
    char *at = strchr(flip, '.') + 1;
    assert_int_equal(*at, 'e');
    *at = 'f';
    assert_int_equal(verify(flip), DGA_E_EAT_MALFORMED);
    free(flip);
    free(forged);
    free(np);
    json_decref(p);
    json_decref(doc);
    free(text);
}

static void test_signature_lengths(void **state)
{
    (void)state;
    json_t *claims = claims_of(1, 0);
    struct dga_eat_options o = options(key_a);
    char *text = build_text(claims, &o);
    json_t *doc = json_loads(text, 0, NULL);
    json_t *op = decode_part(overall_of(doc), 1);
    static const size_t lens[] = {95, 97, 64, 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char *overall = jws(key_a, ES384_HEADER, op, lens[i]);
        char *t = replace_overall(text, overall);
        expect_diag(t, DGA_E_EAT_SIGNATURE, "overall.signature", 0);
        free(t);
        free(overall);
        assert_int_equal(verify_crafted_sub(ES384_HEADER, key_a, lens[i], NONCE_N1),
                         DGA_E_EAT_SIGNATURE);
    }
    /* 96 bytes re-signed over the same payload verifies */
    char *overall = jws(key_a, ES384_HEADER, op, 96);
    char *t = replace_overall(text, overall);
    assert_int_equal(verify(t), DGA_E_OK);
    free(t);
    free(overall);
    json_decref(op);
    json_decref(doc);
    json_decref(claims);
    free(text);
}

static void test_wrong_key(void **state)
{
    (void)state;
    char *text = build_signed(2, 1);
    struct dga_diag diag = {0};
    assert_int_equal(verify_at(text, key_b, T0, &diag), DGA_E_EAT_SIGNATURE);
    assert_string_equal(diag.field, "overall.signature");
    free(text);
    /* the overall token is good, the submod was signed by another key */
    struct dga_diag d2 = {0};
    json_t *payload = token_payload(NONCE_N1);
    char *sub = jws(key_b, ES384_HEADER, payload, 96);
    char *t = wrap_one(sub, "SHA256");
    assert_int_equal(verify_at(t, key_a, T0, &d2), DGA_E_EAT_SIGNATURE);
    assert_string_equal(d2.field, "submod.signature");
    assert_int_equal(d2.offset, 1);
    free(t);
    free(sub);
    json_decref(payload);
    /* a P-256 verification key is an argument error */
    text = build_signed(1, 0);
    assert_int_equal(verify_at(text, key_p256, T0, NULL), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_eat_verify(text, strlen(text), key_a, T0, -1, NULL, NULL),
                     DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_eat_verify(NULL, 0, key_a, T0, 0, NULL, NULL), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_eat_verify(text, strlen(text), NULL, T0, 0, NULL, NULL),
                     DGA_E_BAD_ARGUMENT);
    free(text);
}

/* ---- digests ------------------------------------------------------------------------- */

static char *with_submods(const char *text, json_t *subs)
{
    json_t *doc = json_loads(text, 0, NULL);
    json_array_set_new(doc, 1, subs);
    char *out = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return out;
}

static void test_swapped_submods(void **state)
{
    (void)state;
    char *text = build_signed(2, 0);
    json_t *doc = json_loads(text, 0, NULL);
    json_t *subs = json_array_get(doc, 1);
    json_t *swapped = json_pack("{s:O,s:O}", "GPU-0", json_object_get(subs, "GPU-1"), "GPU-1",
                                json_object_get(subs, "GPU-0"));
    char *t = with_submods(text, swapped);
    expect_diag(t, DGA_E_EAT_DIGEST, "submod.digest", 1);
    free(t);
    /* GPU-1 missing */
    t = with_submods(text, json_pack("{s:O}", "GPU-0", json_object_get(subs, "GPU-0")));
    expect_diag(t, DGA_E_EAT_DIGEST, "overall.submods", 0);
    free(t);
    /* an extra submod */
    t = with_submods(text, json_pack("{s:O,s:O,s:O}", "GPU-0", json_object_get(subs, "GPU-0"),
                                     "GPU-1", json_object_get(subs, "GPU-1"), "GPU-2",
                                     json_object_get(subs, "GPU-1")));
    expect_diag(t, DGA_E_EAT_DIGEST, "overall.submods", 0);
    free(t);
    /* the right number under another name */
    t = with_submods(text, json_pack("{s:O,s:O}", "GPU-0", json_object_get(subs, "GPU-0"),
                                     "SWITCH-0", json_object_get(subs, "GPU-1")));
    expect_diag(t, DGA_E_EAT_DIGEST, "submod.digest", 2);
    free(t);
    /* GPU-0 from another, equally valid token */
    char *other = build_signed(2, 0);
    json_t *odoc = json_loads(other, 0, NULL);
    t = with_submods(text, json_pack("{s:O,s:O}", "GPU-0",
                                     json_object_get(json_array_get(odoc, 1), "GPU-0"), "GPU-1",
                                     json_object_get(subs, "GPU-1")));
    expect_diag(t, DGA_E_EAT_DIGEST, "submod.digest", 1);
    free(t);
    json_decref(odoc);
    free(other);
    json_decref(doc);
    free(text);
}

static void test_digest_forms(void **state)
{
    (void)state;
    json_t *payload = token_payload(NONCE_N1);
    char *sub = jws(key_a, ES384_HEADER, payload, 96);
    char *t = wrap_one(sub, "SHA-256"); /* as NRAS spells it */
    assert_int_equal(verify(t), DGA_E_OK);
    free(t);
    static const char *const bad_algs[] = {"SHA384", "sha256", "SHA-384", ""};
    for (size_t i = 0; i < sizeof bad_algs / sizeof bad_algs[0]; i++) {
        t = wrap_one(sub, bad_algs[i]);
        expect_diag(t, DGA_E_EAT_DIGEST, "submod.digest", 1);
        free(t);
    }
    /* entries of the wrong shape, each in a freshly signed overall token */
    static const char *const bad_entries[] = {
        "[\"DIGEST\"]",
        "[\"HASH\",[\"SHA256\",\"00\"]]",
        "[\"DIGEST\",[\"SHA256\"]]",
        "[\"DIGEST\",[\"SHA256\",\"00\"]]",
        "\"x\"",
        /* one entry, split for width (the parentheses tell clang the concatenation is meant) */
        ("[\"DIGEST\",[\"SHA256\","
         "\"0000000000000000000000000000000000000000000000000000000000000000\"]]"),
    };
    for (size_t i = 0; i < sizeof bad_entries / sizeof bad_entries[0]; i++) {
        json_t *op = token_payload(NONCE_N1);
        json_t *entry = json_loads(bad_entries[i], JSON_DECODE_ANY, NULL);
        assert_non_null(entry);
        json_object_set_new(op, "submods", json_pack("{s:o}", "GPU-0", entry));
        char *overall = jws(key_a, ES384_HEADER, op, 96);
        json_t *doc = json_pack("[[s,s],{s:s}]", "JWT", overall, "GPU-0", sub);
        char *text = json_dumps(doc, JSON_COMPACT);
        expect_diag(text, DGA_E_EAT_DIGEST, "submod.digest", 1);
        free(text);
        json_decref(doc);
        free(overall);
        json_decref(op);
    }
    /* no submods claim at all */
    json_t *op = token_payload(NONCE_N1);
    char *overall = jws(key_a, ES384_HEADER, op, 96);
    json_t *doc = json_pack("[[s,s],{s:s}]", "JWT", overall, "GPU-0", sub);
    char *text = json_dumps(doc, JSON_COMPACT);
    expect_diag(text, DGA_E_EAT_DIGEST, "overall.submods", 0);
    free(text);
    json_decref(doc);
    free(overall);
    json_decref(op);
    free(sub);
    json_decref(payload);
}

/* ---- time and nonce ------------------------------------------------------------------ */

static void test_time(void **state)
{
    (void)state;
    char *text = build_signed(1, 1);
    time_t exp = T0 + DGA_EAT_LIFETIME;
    assert_int_equal(verify_at(text, key_a, exp, NULL), DGA_E_OK);
    assert_int_equal(verify_at(text, key_a, exp + LEEWAY, NULL), DGA_E_OK);
    struct dga_diag diag = {0};
    assert_int_equal(verify_at(text, key_a, exp + LEEWAY + 1, &diag), DGA_E_EAT_TIME);
    assert_string_equal(diag.field, "overall.time");
    assert_int_equal(verify_at(text, key_a, T0 - LEEWAY, NULL), DGA_E_OK);
    assert_int_equal(verify_at(text, key_a, T0 - LEEWAY - 1, NULL), DGA_E_EAT_TIME);
    assert_int_equal(dga_eat_verify(text, strlen(text), key_a, exp + 1, 0, NULL, NULL),
                     DGA_E_EAT_TIME);
    free(text);
    /* only the submod expired */
    json_t *payload = token_payload(NONCE_N1);
    json_object_set_new(payload, "exp", json_integer((json_int_t)T0 - 100));
    char *sub = jws(key_a, ES384_HEADER, payload, 96);
    char *t = wrap_one(sub, "SHA256");
    expect_diag(t, DGA_E_EAT_TIME, "submod.time", 1);
    free(t);
    free(sub);
    /* nbf in the future (NRAS sets nbf) */
    json_object_set_new(payload, "exp", json_integer((json_int_t)T0 + 3600));
    json_object_set_new(payload, "nbf", json_integer((json_int_t)T0 + 60));
    sub = jws(key_a, ES384_HEADER, payload, 96);
    t = wrap_one(sub, "SHA256");
    expect_diag(t, DGA_E_EAT_TIME, "submod.time", 1);
    free(t);
    free(sub);
    /* extreme values never overflow */
    json_object_set_new(payload, "nbf", json_integer(INT64_MIN));
    json_object_set_new(payload, "iat", json_integer(INT64_MIN));
    json_object_set_new(payload, "exp", json_integer(INT64_MAX));
    sub = jws(key_a, ES384_HEADER, payload, 96);
    t = wrap_one(sub, "SHA256");
    assert_int_equal(verify(t), DGA_E_OK);
    assert_int_equal(dga_eat_verify(t, strlen(t), key_a, T0, LONG_MAX, NULL, NULL), DGA_E_OK);
    free(t);
    free(sub);
    /* a string iat is malformed */
    json_object_set_new(payload, "iat", json_string("1717200000"));
    sub = jws(key_a, ES384_HEADER, payload, 96);
    t = wrap_one(sub, "SHA256");
    expect_diag(t, DGA_E_EAT_MALFORMED, "submod.payload", 1);
    free(t);
    free(sub);
    json_decref(payload);
}

static void test_nonce(void **state)
{
    (void)state;
    json_t *claims = json_pack("[o,o,o]", device("gpu", NONCE_N1), device("gpu", OTHER_NONCE),
                               device("nvswitch", NONCE_N1));
    struct dga_eat_options o = options(key_a);
    char *text = build_text(claims, &o);
    expect_diag(text, DGA_E_EAT_NONCE, "submod.eat_nonce", 2);
    free(text);
    json_decref(claims);
    /* no eat_nonce, or not a string */
    assert_int_equal(verify_crafted_sub(ES384_HEADER, key_a, 96, NULL), DGA_E_EAT_NONCE);
    json_t *payload = token_payload(NULL);
    json_object_set_new(payload, "eat_nonce", json_null());
    char *sub = jws(key_a, ES384_HEADER, payload, 96);
    char *t = wrap_one(sub, "SHA256");
    assert_int_equal(verify(t), DGA_E_EAT_NONCE);
    free(t);
    free(sub);
    json_decref(payload);
    /* case matters: the nonce strings must be equal */
    char upper[65];
    uint8_t n[DGA_NONCE_LEN];
    nonce_n1(n);
    dga_hex_encode_upper(n, sizeof n, upper);
    assert_int_equal(verify_crafted_sub(ES384_HEADER, key_a, 96, upper), DGA_E_EAT_NONCE);
}

/* ---- malformed ----------------------------------------------------------------------- */

static void test_malformed_shapes(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        " ",
        "null",
        "{}",
        "[]",
        "[[\"JWT\",\"a.b.c\"]]",
        "[[\"JWT\",\"a.b.c\"],{}]",
        "[[\"JWS\",\"a.b.c\"],{\"GPU-0\":\"a.b.c\"}]",
        "[[\"JWT\"],{\"GPU-0\":\"a.b.c\"}]",
        "[[\"JWT\",\"a.b.c\",\"x\"],{\"GPU-0\":\"a.b.c\"}]",
        "[[\"JWT\",1],{\"GPU-0\":\"a.b.c\"}]",
        "[[\"JWT\",\"a.b.c\"],{\"GPU-0\":1}]",
        "[[\"JWT\",\"a.b.c\"],[\"a.b.c\"]]",
        "[[\"JWT\",\"a.b.c\"],{\"GPU-0\":\"a.b.c\"},1]",
        "[[\"JWT\",\"a.b.c\"],{\"GPU 0\":\"a.b.c\"}]",
        "[[\"JWT\",\"a.b.c\"],{\"\":\"a.b.c\"}]",
        "[[\"JWT\",\"a.b.c\"],{\"GPU-0\\n\":\"a.b.c\"}]",
        "[[\"JWT\",\"a.b.c\"],{\"GPU-0\":\"a.b.c\",\"GPU-0\":\"a.b.c\"}]",
        "[[\"JWT\",\"a.b.c\"],{\"GPU-0\":\"a.b.c\"}] x",
        "[[\"JWT\",\"a.b.c\"],{\"GPU-0\":\"a.b.c\"}",
        "[[\"JWT\",\"\"],{\"GPU-0\":\"a.b.c\"}]",
        "[[\"JWT\",\"a.b\"],{\"GPU-0\":\"a.b.c\"}]",
        "[[\"JWT\",\"a.b.c.d\"],{\"GPU-0\":\"a.b.c\"}]",
        "[[\"JWT\",\"..\"],{\"GPU-0\":\"a.b.c\"}]",
        "[[\"JWT\",\"e30.e30.\"],{\"GPU-0\":\"a.b.c\"}]", /* {} header: no alg */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dga_err want =
            i == sizeof bad / sizeof bad[0] - 1 ? DGA_E_EAT_ALGORITHM : DGA_E_EAT_MALFORMED;
        if (verify(bad[i]) != want) {
            fail_msg("case %zu (%s): %s", i, bad[i], dga_err_name(verify(bad[i])));
        }
    }
    /* an embedded NUL in the document */
    static const char nul[] = "[[\"JWT\",\"a.b.c\"],{\"GPU-0\":\"a.b.c\"}]\0";
    assert_int_equal(dga_eat_verify(nul, sizeof nul - 1, key_a, T0, 0, NULL, NULL),
                     DGA_E_EAT_MALFORMED);
}

/* Each part must be strict base64url of a JSON object. */
static void test_malformed_parts(void **state)
{
    (void)state;
    char *text = build_signed(1, 0);
    json_t *doc = json_loads(text, 0, NULL);
    const char *good = overall_of(doc);
    const char *d1 = strchr(good, '.');
    const char *d2 = strchr(d1 + 1, '.');
    int hl = (int)(d1 - good), pl = (int)(d2 - d1 - 1);
    char buf[8192];
    static const struct {
        int part; /* 0 header, 1 payload, 2 signature */
        const char *suffix;
        const char *field;
    } cases[] = {
        {0, "=", "overall.header"},    /* padding */
        {0, " ", "overall.header"},    /* space */
        {0, "+", "overall.header"},    /* base64, not base64url */
        {1, "=", "overall.payload"},   /* padding in the payload */
        {1, "A", "overall.payload"},   /* one character more */
        {2, "=", "overall.signature"}, /* padded signature */
        {2, "!", "overall.signature"}, /* junk */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *x[3] = {"", "", ""};
        x[cases[i].part] = cases[i].suffix;
        snprintf(buf, sizeof buf, "%.*s%s.%.*s%s%s%s", hl, good, x[0], pl, d1 + 1, x[1], d2, x[2]);
        char *t = replace_overall(text, buf);
        expect_diag(t, DGA_E_EAT_MALFORMED, cases[i].field, 0);
        free(t);
    }
    /* payloads that are not JSON objects, correctly signed */
    static const char *const payloads[] = {"[]", "1", "\"x\"", "{\"a\":1,\"a\":2}", "{"};
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        char *h = b64url(ES384_HEADER, strlen(ES384_HEADER));
        char *p = b64url(payloads[i], strlen(payloads[i]));
        snprintf(buf, sizeof buf, "%s.%s", h, p);
        char *s = es384_b64(key_a, buf, 96);
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof buf - used, ".%s", s);
        char *t = replace_overall(text, buf);
        expect_diag(t, DGA_E_EAT_MALFORMED, "overall.payload", 0);
        free(t);
        free(s);
        free(p);
        free(h);
    }
    json_decref(doc);
    free(text);
}

static void test_truncations(void **state)
{
    (void)state;
    char *text = build_signed(2, 1);
    size_t len = strlen(text);
    assert_int_equal(dga_eat_verify(text, len, key_a, T0, LEEWAY, NULL, NULL), DGA_E_OK);
    for (size_t n = 0; n < len; n += n < 64 ? 1 : 13) {
        dga_err e = dga_eat_verify(text, n, key_a, T0, LEEWAY, NULL, NULL);
        if (e != DGA_E_EAT_MALFORMED) {
            fail_msg("truncated to %zu of %zu: %s", n, len, dga_err_name(e));
        }
    }
    assert_int_equal(dga_eat_verify(text, len - 1, key_a, T0, LEEWAY, NULL, NULL),
                     DGA_E_EAT_MALFORMED);
    free(text);
}

static void test_size_cap(void **state)
{
    (void)state;
    size_t n = DGA_EAT_MAX_BYTES + 1;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    assert_int_equal(dga_eat_verify(big, n, key_a, T0, 0, NULL, NULL), DGA_E_TOO_LARGE);
    assert_int_equal(dga_eat_verify(big, n - 1, key_a, T0, 0, NULL, NULL), DGA_E_EAT_MALFORMED);
    free(big);
    /* 65 submods: more than any platform has */
    json_t *subs = json_object();
    char label[16];
    for (int i = 0; i < 65; i++) {
        snprintf(label, sizeof label, "GPU-%d", i);
        json_object_set_new(subs, label, json_string("a.b.c"));
    }
    json_t *doc = json_pack("[[s,s],o]", "JWT", "a.b.c", subs);
    char *text = json_dumps(doc, JSON_COMPACT);
    assert_int_equal(verify(text), DGA_E_EAT_MALFORMED);
    free(text);
    json_decref(doc);
}

/* ---- real tokens --------------------------------------------------------------------- */

static void test_nvattest_unsigned(void **state)
{
    (void)state;
    uint8_t *file = fixture_read(NVATTEST_FILE, NULL);
    json_t *out = json_loads((const char *)file, 0, NULL);
    assert_non_null(out);
    char *text = json_dumps(json_object_get(out, "detached_eat"), JSON_COMPACT);
    assert_non_null(text);
    struct dga_diag diag = {0};
    assert_int_equal(verify_at(text, key_a, T0, &diag), DGA_E_EAT_ALGORITHM);
    assert_string_equal(diag.field, "overall.header");
    /* the raw file (an object, not a detached EAT) is malformed */
    assert_int_equal(verify((const char *)file), DGA_E_EAT_MALFORMED);
    free(text);
    json_decref(out);
    free(file);
}

static void test_nras_token(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *file = fixture_read(NRAS_FILE, &len);
    json_t *doc = json_loadb((const char *)file, len, 0, NULL);
    assert_non_null(doc);
    /* structure: ES384 with NVIDIA's kid, "SHA-256" digest that matches GPU-0 */
    json_t *h = decode_part(overall_of(doc), 0);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "ES384");
    assert_non_null(strstr(json_string_value(json_object_get(h, "kid")), "nv-eat-kid-prod-"));
    json_t *p = decode_part(overall_of(doc), 1);
    const char *sub = json_string_value(json_object_get(json_array_get(doc, 1), "GPU-0"));
    json_t *want = digest_entry("SHA-256", sub);
    assert_true(json_equal(json_object_get(json_object_get(p, "submods"), "GPU-0"), want));
    assert_string_equal(json_string_value(json_object_get(p, "eat_nonce")), NONCE_N1);
    json_t *sp = decode_part(sub, 1);
    assert_string_equal(json_string_value(json_object_get(sp, "eat_nonce")), NONCE_N1);
    /* digests are checked before signatures: NRAS's digest passes, our key does not */
    time_t iat = (time_t)json_integer_value(json_object_get(p, "iat"));
    struct dga_diag diag = {0};
    assert_int_equal(dga_eat_verify((const char *)file, len, key_a, iat, LEEWAY, NULL, &diag),
                     DGA_E_EAT_SIGNATURE);
    assert_string_equal(diag.field, "overall.signature");
    assert_int_equal(dga_eat_verify((const char *)file, len, key_a, T0, LEEWAY, NULL, NULL),
                     DGA_E_EAT_SIGNATURE);
    /* and a changed GPU-0 fails its digest first */
    json_t *tok = json_pack("{s:s}", "GPU-0", overall_of(doc));
    json_array_set_new(doc, 1, tok);
    char *t = json_dumps(doc, JSON_COMPACT);
    expect_diag(t, DGA_E_EAT_DIGEST, "submod.digest", 1);
    free(t);
    json_decref(sp);
    json_decref(want);
    json_decref(p);
    json_decref(h);
    json_decref(doc);
    free(file);
}

/* ---- the relying party's challenge ----------------------------------------------------- */

static void test_nonce_is(void **state)
{
    (void)state;
    uint8_t n1[DGA_NONCE_LEN], n2[DGA_NONCE_LEN];
    assert_int_equal(dga_hex_decode_fixed(NONCE_N1, n1, DGA_NONCE_LEN), DGA_E_OK);
    assert_int_equal(dga_hex_decode_fixed(NONCE_N2, n2, DGA_NONCE_LEN), DGA_E_OK);
    json_t *p = json_pack("{s:s}", "eat_nonce", NONCE_N1);
    assert_true(dga_eat_nonce_is(p, n1));
    assert_false(dga_eat_nonce_is(p, n2));
    json_object_set_new(p, "eat_nonce", json_string(" " NONCE_N1));
    assert_false(dga_eat_nonce_is(p, n1)); /* exact hex, nothing around it */
    json_object_set_new(p, "eat_nonce", json_integer(1));
    assert_false(dga_eat_nonce_is(p, n1));
    json_object_del(p, "eat_nonce");
    assert_false(dga_eat_nonce_is(p, n1));
    json_decref(p);
}

/* ---- build arguments and keys -------------------------------------------------------- */

static void test_build_arguments(void **state)
{
    (void)state;
    json_t *claims = claims_of(1, 0);
    json_t *eat = NULL;
    struct dga_eat_options o = options(NULL);
    assert_int_equal(dga_eat_build(claims, &o, &eat), DGA_E_BAD_ARGUMENT);
    o = options(key_p256);
    assert_int_equal(dga_eat_build(claims, &o, &eat), DGA_E_BAD_ARGUMENT);
    o.allow_unsigned = true; /* a key that is given must still be P-384 */
    assert_int_equal(dga_eat_build(claims, &o, &eat), DGA_E_BAD_ARGUMENT);
    /* a public key cannot sign */
    EVP_PKEY *pub = NULL;
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(b, key_a), 1);
    char *pem = NULL;
    long n = BIO_get_mem_data(b, &pem);
    assert_int_equal(dga_eat_pubkey_from_pem(pem, (size_t)n, &pub), DGA_E_OK);
    o = options(pub);
    assert_int_equal(dga_eat_build(claims, &o, &eat), DGA_E_BAD_ARGUMENT);
    EVP_PKEY_free(pub);
    BIO_free(b);
    o = options(key_a);
    json_t *empty = json_array();
    assert_int_equal(dga_eat_build(empty, &o, &eat), DGA_E_BAD_ARGUMENT);
    json_t *bad_type = json_pack("[o]", device("cpu", NONCE_N1));
    assert_int_equal(dga_eat_build(bad_type, &o, &eat), DGA_E_BAD_ARGUMENT);
    json_t *not_obj = json_pack("[i]", 1);
    assert_int_equal(dga_eat_build(not_obj, &o, &eat), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_eat_build(json_object_get(claims, "x"), &o, &eat), DGA_E_BAD_ARGUMENT);
    json_t *too_many = claims_of(65, 0);
    assert_int_equal(dga_eat_build(too_many, &o, &eat), DGA_E_BAD_ARGUMENT);
    o.issuer = "\xff\xfe";
    assert_int_equal(dga_eat_build(claims, &o, &eat), DGA_E_BAD_ARGUMENT);
    o.issuer = NULL;
    o.verdict = "maybe"; /* only "pass" or "fail" */
    assert_int_equal(dga_eat_build(claims, &o, &eat), DGA_E_BAD_ARGUMENT);
    assert_null(eat);
    json_decref(too_many);
    json_decref(not_obj);
    json_decref(bad_type);
    json_decref(empty);
    json_decref(claims);
}

static char *pem_of(int (*write)(BIO *, EVP_PKEY *), EVP_PKEY *key, size_t *ret_len)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(write(b, key), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *out = malloc((size_t)n + 1);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
    *ret_len = (size_t)n;
    return out;
}

static int write_pkcs8(BIO *b, EVP_PKEY *k)
{
    return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

static int write_sec1(BIO *b, EVP_PKEY *k)
{
    return PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL);
}

static int write_encrypted(BIO *b, EVP_PKEY *k)
{
    return PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), "secret", 6, NULL, NULL);
}

static int write_pub(BIO *b, EVP_PKEY *k)
{
    return PEM_write_bio_PUBKEY(b, k);
}

static int write_cert(BIO *b, EVP_PKEY *k)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"eat test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    int ok = X509_sign(x, k, EVP_sha384()) > 0 && PEM_write_bio_X509(b, x) == 1;
    X509_free(x);
    return ok ? 1 : 0;
}

static dga_err load(dga_err (*fn)(const char *, size_t, EVP_PKEY **),
                    int (*write)(BIO *, EVP_PKEY *), EVP_PKEY *key)
{
    size_t n = 0;
    char *pem = pem_of(write, key, &n);
    EVP_PKEY *got = NULL;
    dga_err e = fn(pem, n, &got);
    assert_true((e == DGA_E_OK) == (got != NULL));
    if (got != NULL) {
        assert_int_equal(EVP_PKEY_eq(got, key), 1);
    }
    EVP_PKEY_free(got);
    free(pem);
    return e;
}

static void test_keys_from_pem(void **state)
{
    (void)state;
    assert_int_equal(load(dga_eat_key_from_pem, write_pkcs8, key_a), DGA_E_OK);
    assert_int_equal(load(dga_eat_key_from_pem, write_sec1, key_a), DGA_E_OK);
    assert_int_equal(load(dga_eat_key_from_pem, write_encrypted, key_a), DGA_E_BAD_PEM);
    assert_int_equal(load(dga_eat_key_from_pem, write_pub, key_a), DGA_E_BAD_PEM);
    assert_int_equal(load(dga_eat_key_from_pem, write_pkcs8, key_p256), DGA_E_BAD_ARGUMENT);
    assert_int_equal(load(dga_eat_pubkey_from_pem, write_pub, key_a), DGA_E_OK);
    assert_int_equal(load(dga_eat_pubkey_from_pem, write_cert, key_a), DGA_E_OK);
    assert_int_equal(load(dga_eat_pubkey_from_pem, write_pub, key_p256), DGA_E_BAD_ARGUMENT);
    assert_int_equal(load(dga_eat_pubkey_from_pem, write_cert, key_p256), DGA_E_BAD_ARGUMENT);
    assert_int_equal(load(dga_eat_pubkey_from_pem, write_pkcs8, key_a), DGA_E_BAD_PEM);
    EVP_PKEY *k = NULL;
    assert_int_equal(dga_eat_key_from_pem("", 0, &k), DGA_E_BAD_PEM);
    assert_int_equal(dga_eat_key_from_pem("garbage", 7, &k), DGA_E_BAD_PEM);
    assert_int_equal(dga_eat_pubkey_from_pem("garbage", 7, &k), DGA_E_BAD_PEM);
    assert_int_equal(dga_eat_key_from_pem(NULL, 0, &k), DGA_E_BAD_ARGUMENT);
    char *big = calloc(1, 70000);
    memset(big, 'A', 69999);
    assert_int_equal(dga_eat_pubkey_from_pem(big, 69999, &k), DGA_E_TOO_LARGE);
    free(big);
    assert_null(k);
}

static void write_pem_file(const char *dir, const char *name, int (*write)(BIO *, EVP_PKEY *))
{
    size_t n = 0;
    char *pem = pem_of(write, key_a, &n);
    test_write_file(dir, name, pem, n);
    free(pem);
}

static dga_err load_file(dga_err (*fn)(const char *, EVP_PKEY **), const char *dir,
                         const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    EVP_PKEY *got = NULL;
    errno = 0;
    dga_err e = fn(path, &got);
    assert_true((e == DGA_E_OK) == (got != NULL));
    if (got != NULL) {
        assert_int_equal(EVP_PKEY_eq(got, key_a), 1);
    }
    EVP_PKEY_free(got);
    return e;
}

/* The file loaders every program uses: the PEM rules above, plus the file's own errors. */
static void mkdir_in(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(mkdir(path, 0700), 0);
}

static void test_keys_from_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/dga-eat-key-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_pem_file(dir, "key.pem", write_sec1);
    write_pem_file(dir, "pub.pem", write_pub);
    write_pem_file(dir, "cert.pem", write_cert);
    char *big = calloc(1, DGA_EAT_KEY_FILE_MAX + 1);
    memset(big, 'A', DGA_EAT_KEY_FILE_MAX + 1);
    test_write_file(dir, "big.pem", big, DGA_EAT_KEY_FILE_MAX + 1);
    free(big);
    mkdir_in(dir, "sub");

    assert_int_equal(load_file(dga_eat_key_load, dir, "key.pem"), DGA_E_OK);
    assert_int_equal(load_file(dga_eat_pubkey_load, dir, "pub.pem"), DGA_E_OK);
    assert_int_equal(load_file(dga_eat_pubkey_load, dir, "cert.pem"), DGA_E_OK);
    assert_int_equal(load_file(dga_eat_key_load, dir, "pub.pem"), DGA_E_BAD_PEM);
    assert_int_equal(load_file(dga_eat_pubkey_load, dir, "key.pem"), DGA_E_BAD_PEM);
    assert_int_equal(load_file(dga_eat_key_load, dir, "big.pem"), DGA_E_TOO_LARGE);
    assert_int_equal(load_file(dga_eat_key_load, dir, "missing.pem"), DGA_E_IO);
    assert_int_equal(errno, ENOENT); /* kept for the caller's message */
    assert_int_equal(load_file(dga_eat_pubkey_load, dir, "sub"),
                     DGA_E_NOT_REGULAR_FILE); /* a directory is not a key file */
    EVP_PKEY *k = NULL;
    assert_int_equal(dga_eat_key_load(NULL, &k), DGA_E_BAD_ARGUMENT);
    assert_null(k);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- base64url ----------------------------------------------------------------------- */

static void expect_b64url(const char *text, const char *want, size_t want_len)
{
    uint8_t *out = NULL;
    size_t n = 0;
    assert_int_equal(dga_base64url_decode(text, strlen(text), &out, &n), DGA_E_OK);
    assert_int_equal(n, want_len);
    assert_memory_equal(out, want, n);
    char *back = b64url(out, n);
    assert_string_equal(back, text);
    free(back);
    free(out);
}

static void test_base64url(void **state)
{
    (void)state;
    expect_b64url("", "", 0);
    expect_b64url("Zg", "f", 1);
    expect_b64url("Zm8", "fo", 2);
    expect_b64url("Zm9v", "foo", 3);
    expect_b64url("Zm9vYg", "foob", 4);
    expect_b64url("-_8", "\xfb\xff", 2);
    expect_b64url("AP8A", "\x00\xff\x00", 3);
    static const char *const bad[] = {"Z",      "Zg=",   "Zg==",  "Zh",    "Zm9",   "Zm+v", "Zm/v",
                                      "Zm9v\n", " Zm9v", "Zm 9v", "Zm9vY", "Zm9v=", "\x80g"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *out = NULL;
        size_t n = 0;
        if (dga_base64url_decode(bad[i], strlen(bad[i]), &out, &n) != DGA_E_BAD_BASE64) {
            fail_msg("accepted '%s'", bad[i]);
        }
        assert_null(out);
    }
    /* every length round-trips */
    uint8_t data[70];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 37 + 11);
    }
    for (size_t len = 0; len <= sizeof data; len++) {
        char *s = b64url(data, len);
        assert_int_equal(strlen(s), (len * 4 + 2) / 3);
        assert_null(strpbrk(s, "+/="));
        uint8_t *out = NULL;
        size_t n = 0;
        assert_int_equal(dga_base64url_decode(s, strlen(s), &out, &n), DGA_E_OK);
        assert_int_equal(n, len);
        assert_memory_equal(out, data, len);
        free(out);
        free(s);
    }
}

/* ---- token maker for the CLI test ---------------------------------------------------- */

static int write_text(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fputc('\n', f) == EOF) {
        if (f != NULL) {
            fclose(f);
        }
        return 1;
    }
    return fclose(f) == 0 ? 0 : 1;
}

static int make_one(const char *dir, const char *name, json_t *claims,
                    const struct dga_eat_options *o, bool wrap)
{
    json_t *eat = NULL;
    if (dga_eat_build(claims, o, &eat) != DGA_E_OK) {
        return 1;
    }
    json_t *doc = wrap ? json_pack("{s:O,s:o,s:i,s:s}", "claims", claims, "detached_eat", eat,
                                   "result_code", 0, "result_message", "Ok")
                       : eat;
    char *text = json_dumps(doc, wrap ? JSON_INDENT(4) | JSON_SORT_KEYS : JSON_COMPACT);
    int rc = text != NULL ? write_text(dir, name, text) : 1;
    free(text);
    json_decref(doc);
    return rc;
}

/* test_eat --make KEY.pem DIR: good.json, attest.json, false.json, unsigned.json at T0. */
static int make_tokens(const char *key_path, const char *dir)
{
    EVP_PKEY *key = NULL;
    if (dga_eat_key_load(key_path, &key) != DGA_E_OK) {
        fprintf(stderr, "test_eat --make: cannot load %s\n", key_path);
        return 1;
    }
    json_t *claims = claims_of(2, 1);
    struct dga_eat_options o = options(key);
    int rc = make_one(dir, "good.json", claims, &o, false);
    rc |= make_one(dir, "attest.json", claims, &o, true);
    o.overall_result = false;
    rc |= make_one(dir, "false.json", claims, &o, false);
    o.key = NULL;
    o.allow_unsigned = true;
    rc |= make_one(dir, "unsigned.json", claims, &o, false);
    json_decref(claims);
    EVP_PKEY_free(key);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--make") == 0) {
        return make_tokens(argv[2], argv[3]);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_one_gpu),
        cmocka_unit_test(test_round_trip_eight_gpus),
        cmocka_unit_test(test_round_trip_gpus_and_switches),
        cmocka_unit_test(test_built_token_contents),
        cmocka_unit_test(test_build_defaults),
        cmocka_unit_test(test_unsigned_is_algorithm),
        cmocka_unit_test(test_header_algorithms),
        cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_signature_lengths),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_swapped_submods),
        cmocka_unit_test(test_digest_forms),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_nonce),
        cmocka_unit_test(test_malformed_shapes),
        cmocka_unit_test(test_malformed_parts),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_nvattest_unsigned),
        cmocka_unit_test(test_nras_token),
        cmocka_unit_test(test_nonce_is),
        cmocka_unit_test(test_build_arguments),
        cmocka_unit_test(test_keys_from_pem),
        cmocka_unit_test(test_keys_from_file),
        cmocka_unit_test(test_base64url),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
