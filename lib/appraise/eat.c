/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Detached EAT tokens (docs/formats.md §12):
 *   [["JWT", "<overall>"], {"GPU-0": "<submod>", ...}]
 * Each token is a compact JWS, ES384 with raw r||s signatures (RFC 7518
 * §3.4). JSON is serialized compactly with sorted keys, so a token is a
 * function of its claims, iat and jti.
 *
 * Verification runs in four phases, each over every token (overall first,
 * then the submods in document order), so the first failing phase decides
 * the error:
 *   1. shape: document, compact form, strict base64url, header (alg pinned
 *      to ES384), payload object with integer iat/exp (EAT_MALFORMED,
 *      EAT_ALGORITHM)
 *   2. submod digests against the overall "submods" (EAT_DIGEST)
 *   3. signatures with the pinned key (EAT_SIGNATURE)
 *   4. iat/exp/nbf with leeway (EAT_TIME), then eat_nonce (EAT_NONCE)
 * diag->field is "<token>.<part>" (token "overall" or "submod"; part
 * header, payload, signature, submods, digest, time, eat_nonce, or
 * "document" for the outer JSON), diag->offset the token's position:
 * 0 for the overall token, k for the k-th submod in document order.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/cleanup.h"
#include "dga/eat.h"
#include "dga/util.h"
#include "dga/x509.h"

#define EAT_COORD_LEN (DGA_SIGNATURE_LEN / 2)
#define EAT_JTI_LEN 32
#define EAT_MAX_SUBMODS 64
#define EAT_LABEL_MAX 32
#define EAT_PEM_MAX (64u * 1024)
#define EAT_DEFAULT_ISSUER "dstack-gpu-attest"
#define EAT_SUB "NVIDIA-PLATFORM-ATTESTATION"
#define EAT_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)
#define HEX_LEN(n) (2 * (n) + 1)

/* ---- keys ---------------------------------------------------------------------------- */

/* Never prompt for a passphrase: an encrypted key simply fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static dga_err pem_bio(const char *pem, size_t len, BIO **ret)
{
    if (pem == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (len > EAT_PEM_MAX) {
        return DGA_E_TOO_LARGE;
    }
    if (len == 0) {
        return DGA_E_BAD_PEM;
    }
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (b == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = b;
    return DGA_E_OK;
}

/* Hands out key if it is EC P-384. */
static dga_err take_p384(EVP_PKEY **key, EVP_PKEY **ret)
{
    ERR_clear_error();
    if (*key == NULL) {
        return DGA_E_BAD_PEM;
    }
    if (!dga_key_is_p384(*key)) {
        ERR_clear_error();
        return DGA_E_BAD_ARGUMENT;
    }
    *ret = TAKE_PTR(*key);
    return DGA_E_OK;
}

dga_err dga_eat_key_from_pem(const char *pem, size_t len, EVP_PKEY **ret)
{
    _cleanup_(BIO_free_allp) BIO *b = NULL;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
    if (ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = pem_bio(pem, len, &b);
    if (e != DGA_E_OK) {
        return e;
    }
    key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
    return take_p384(&key, ret);
}

static EVP_PKEY *pubkey_from_cert(const char *pem, size_t len)
{
    _cleanup_(BIO_free_allp) BIO *b = NULL;
    _cleanup_(X509_freep) X509 *x = NULL;
    if (pem_bio(pem, len, &b) != DGA_E_OK) {
        return NULL;
    }
    x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
    return x != NULL ? X509_get_pubkey(x) : NULL;
}

dga_err dga_eat_pubkey_from_pem(const char *pem, size_t len, EVP_PKEY **ret)
{
    _cleanup_(BIO_free_allp) BIO *b = NULL;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
    if (ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = pem_bio(pem, len, &b);
    if (e != DGA_E_OK) {
        return e;
    }
    key = PEM_read_bio_PUBKEY(b, NULL, no_passphrase, NULL);
    if (key == NULL) {
        key = pubkey_from_cert(pem, len);
    }
    return take_p384(&key, ret);
}

/* True when key holds a private scalar (a public-only key cannot sign). */
static bool key_is_private(const EVP_PKEY *key)
{
    BIGNUM *priv = NULL;
    bool ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &priv) == 1;
    BN_clear_free(priv);
    ERR_clear_error();
    return ok;
}

/* ---- building ------------------------------------------------------------------------ */

/* DER ECDSA-Sig-Value to JWS raw r||s. */
static dga_err der_to_raw(const unsigned char *der, size_t len, uint8_t out[DGA_SIGNATURE_LEN])
{
    const unsigned char *p = der;
    if (len > LONG_MAX) {
        return DGA_E_INTERNAL;
    }
    _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (sig == NULL) {
        return DGA_E_INTERNAL;
    }
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_bn2binpad(r, out, EAT_COORD_LEN) != EAT_COORD_LEN ||
        BN_bn2binpad(s, out + EAT_COORD_LEN, EAT_COORD_LEN) != EAT_COORD_LEN) {
        return DGA_E_INTERNAL;
    }
    return DGA_E_OK;
}

static dga_err digest_sign(EVP_PKEY *key, const char *msg, size_t len,
                           uint8_t out[DGA_SIGNATURE_LEN])
{
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
    _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
    size_t der_len = 0;
    if (md == NULL) {
        return DGA_E_NOMEM;
    }
    if (EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &der_len, (const unsigned char *)msg, len) != 1) {
        return DGA_E_INTERNAL;
    }
    der = OPENSSL_malloc(der_len);
    if (der == NULL) {
        return DGA_E_NOMEM;
    }
    if (EVP_DigestSign(md, der, &der_len, (const unsigned char *)msg, len) != 1) {
        return DGA_E_INTERNAL;
    }
    return der_to_raw(der, der_len, out);
}

/* ES384 over msg: raw r||s, base64url. */
static dga_err sign_es384(EVP_PKEY *key, const char *msg, size_t len, char **ret)
{
    uint8_t sig[DGA_SIGNATURE_LEN];
    dga_err e = digest_sign(key, msg, len, sig);
    if (e != DGA_E_OK) {
        ERR_clear_error();
        return e;
    }
    return dga_base64url_encode(sig, sizeof sig, ret);
}

static dga_err encode_json(const json_t *j, char **ret)
{
    _cleanup_(freep) char *text = json_dumps(j, EAT_JSON_FLAGS);
    if (text == NULL) {
        return DGA_E_NOMEM;
    }
    return dga_base64url_encode((const uint8_t *)text, strlen(text), ret);
}

/* base64url(header) "." base64url(payload) "." base64url(signature or nothing) */
static dga_err jws_compact(const json_t *header, const json_t *payload, EVP_PKEY *key, char **ret)
{
    _cleanup_(freep) char *h = NULL;
    _cleanup_(freep) char *p = NULL;
    _cleanup_(freep) char *s = NULL;
    dga_err e = encode_json(header, &h);
    if (e == DGA_E_OK) {
        e = encode_json(payload, &p);
    }
    if (e != DGA_E_OK) {
        return e;
    }
    size_t hl = strlen(h), pl = strlen(p);
    size_t n = hl + 1 + pl + 1 + HEX_LEN(DGA_SIGNATURE_LEN); /* room for 128 base64url chars */
    _cleanup_(freep) char *out = malloc(n);
    if (out == NULL) {
        return DGA_E_NOMEM;
    }
    snprintf(out, n, "%s.%s", h, p);
    if (key != NULL) {
        e = sign_es384(key, out, hl + 1 + pl, &s);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    snprintf(out + hl + 1 + pl, n - hl - 1 - pl, ".%s", s != NULL ? s : "");
    *ret = TAKE_PTR(out);
    return DGA_E_OK;
}

struct build_ctx {
    const struct dga_eat_options *opt;
    json_t *header;
    json_t *iss;
    char nonce_hex[HEX_LEN(DGA_NONCE_LEN)];
    size_t n_gpu, n_switch;
};

static dga_err random_jti(char out[HEX_LEN(EAT_JTI_LEN)])
{
    uint8_t b[EAT_JTI_LEN];
    if (RAND_bytes(b, sizeof b) != 1) {
        ERR_clear_error();
        return DGA_E_INTERNAL;
    }
    dga_hex_encode(b, sizeof b, out);
    return DGA_E_OK;
}

/* iat, exp, jti, iss: the claims every token carries. */
static dga_err set_token_claims(json_t *o, const struct build_ctx *c)
{
    char jti[HEX_LEN(EAT_JTI_LEN)];
    dga_err e = random_jti(jti);
    if (e != DGA_E_OK) {
        return e;
    }
    json_int_t iat = (json_int_t)c->opt->iat;
    if (json_object_set_new(o, "iat", json_integer(iat)) != 0 ||
        json_object_set_new(o, "exp", json_integer(iat + DGA_EAT_LIFETIME)) != 0 ||
        json_object_set_new(o, "jti", json_string(jti)) != 0 ||
        json_object_set(o, "iss", c->iss) != 0) {
        return DGA_E_NOMEM;
    }
    return DGA_E_OK;
}

/* "GPU-<n>" or "SWITCH-<n>" by x-nvidia-device-type, numbered per type. */
static dga_err device_label(const json_t *claims, struct build_ctx *c, char out[EAT_LABEL_MAX])
{
    const char *type = json_string_value(json_object_get(claims, "x-nvidia-device-type"));
    if (type != NULL && strcmp(type, "gpu") == 0) {
        snprintf(out, EAT_LABEL_MAX, "GPU-%zu", c->n_gpu++);
    } else if (type != NULL && strcmp(type, "nvswitch") == 0) {
        snprintf(out, EAT_LABEL_MAX, "SWITCH-%zu", c->n_switch++);
    } else {
        return DGA_E_BAD_ARGUMENT;
    }
    return DGA_E_OK;
}

/*
 * The device's claims with the token claims set over them. The device's own
 * eat_nonce (the nonce its report carried) is kept; when it has none the
 * overall nonce is used.
 */
static dga_err submod_payload(const json_t *claims, const struct build_ctx *c, json_t **ret)
{
    _cleanup_(json_decrefp) json_t *p = json_deep_copy(claims);
    if (p == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = set_token_claims(p, c);
    if (e != DGA_E_OK) {
        return e;
    }
    if (json_object_get(p, "eat_nonce") == NULL &&
        json_object_set_new(p, "eat_nonce", json_string(c->nonce_hex)) != 0) {
        return DGA_E_NOMEM;
    }
    *ret = TAKE_PTR(p);
    return DGA_E_OK;
}

static json_t *digest_entry(const char *compact)
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    char hex[HEX_LEN(SHA256_DIGEST_LENGTH)];
    SHA256((const unsigned char *)compact, strlen(compact), md);
    dga_hex_encode(md, sizeof md, hex);
    return json_pack("[s,[s,s]]", "DIGEST", "SHA256", hex);
}

/* One device: its submod token into `tokens` and its digest into `digests`. */
static dga_err build_submod(const json_t *claims, struct build_ctx *c, json_t *tokens,
                            json_t *digests)
{
    char label[EAT_LABEL_MAX];
    _cleanup_(json_decrefp) json_t *payload = NULL;
    _cleanup_(freep) char *compact = NULL;
    if (!json_is_object(claims)) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = device_label(claims, c, label);
    if (e == DGA_E_OK) {
        e = submod_payload(claims, c, &payload);
    }
    if (e == DGA_E_OK) {
        e = jws_compact(c->header, payload, c->opt->key, &compact);
    }
    if (e != DGA_E_OK) {
        return e;
    }
    if (json_object_set_new(digests, label, digest_entry(compact)) != 0 ||
        json_object_set_new(tokens, label, json_string(compact)) != 0) {
        return DGA_E_NOMEM;
    }
    return DGA_E_OK;
}

/* Our own verdict next to NVIDIA's default result, when the caller gives one. */
static dga_err set_verdict_claims(json_t *p, const struct dga_eat_options *opt)
{
    if (opt->verdict == NULL) {
        return DGA_E_OK;
    }
    if (strcmp(opt->verdict, "pass") != 0 && strcmp(opt->verdict, "fail") != 0) {
        return DGA_E_BAD_ARGUMENT;
    }
    char hex[65] = "";
    if (opt->policy_sha256 != NULL) {
        dga_hex_encode(opt->policy_sha256, 32, hex);
    }
    int rc = json_object_set_new(p, "x-dstack-verdict", json_string(opt->verdict));
    if (rc == 0 && opt->policy_sha256 != NULL) {
        rc = json_object_set_new(p, "x-dstack-policy-sha256", json_string(hex));
    }
    return rc == 0 ? DGA_E_OK : DGA_E_NOMEM;
}

static dga_err overall_payload(const struct build_ctx *c, json_t *digests, json_t **ret)
{
    _cleanup_(json_decrefp) json_t *p =
        json_pack("{s:s,s:s,s:b,s:s,s:O}", "sub", EAT_SUB, "x-nvidia-ver", "3.0",
                  "x-nvidia-overall-att-result", (int)c->opt->overall_result, "eat_nonce",
                  c->nonce_hex, "submods", digests);
    if (p == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = set_token_claims(p, c);
    if (e != DGA_E_OK) {
        return e;
    }
    if (c->opt->key == NULL && json_object_set_new(p, "x-dstack-unsigned", json_true()) != 0) {
        return DGA_E_NOMEM;
    }
    e = set_verdict_claims(p, c->opt);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = TAKE_PTR(p);
    return DGA_E_OK;
}

static dga_err build_header(const struct dga_eat_options *opt, json_t **ret)
{
    _cleanup_(json_decrefp) json_t *h = opt->key == NULL
                                            ? json_pack("{s:s}", "alg", "none")
                                            : json_pack("{s:s,s:s}", "alg", "ES384", "typ", "JWT");
    if (h == NULL) {
        return DGA_E_NOMEM;
    }
    if (opt->key != NULL && opt->kid != NULL) {
        json_t *kid = json_string(opt->kid);
        if (kid == NULL) {
            return DGA_E_BAD_ARGUMENT; /* not UTF-8 */
        }
        if (json_object_set_new(h, "kid", kid) != 0) {
            return DGA_E_NOMEM;
        }
    }
    *ret = TAKE_PTR(h);
    return DGA_E_OK;
}

static dga_err check_build_args(const json_t *claims, const struct dga_eat_options *opt,
                                json_t **ret)
{
    if (claims == NULL || opt == NULL || ret == NULL || !json_is_array(claims)) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (json_array_size(claims) == 0 || json_array_size(claims) > EAT_MAX_SUBMODS) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (opt->key == NULL && !opt->allow_unsigned) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (opt->key != NULL && (!dga_key_is_p384(opt->key) || !key_is_private(opt->key))) {
        ERR_clear_error();
        return DGA_E_BAD_ARGUMENT;
    }
    if ((long long)opt->iat > LLONG_MAX - DGA_EAT_LIFETIME) {
        return DGA_E_BAD_ARGUMENT;
    }
    return DGA_E_OK;
}

static void build_ctx_free(struct build_ctx *c)
{
    json_decref(c->header);
    json_decref(c->iss);
}

static dga_err build_ctx_init(const struct dga_eat_options *opt, struct build_ctx *c)
{
    c->opt = opt;
    dga_hex_encode(opt->nonce, DGA_NONCE_LEN, c->nonce_hex);
    c->iss = json_string(opt->issuer != NULL ? opt->issuer : EAT_DEFAULT_ISSUER);
    if (c->iss == NULL) {
        return DGA_E_BAD_ARGUMENT; /* not UTF-8 */
    }
    return build_header(opt, &c->header);
}

static dga_err build_all(const json_t *claims, struct build_ctx *c, json_t **ret)
{
    _cleanup_(json_decrefp) json_t *tokens = json_object();
    _cleanup_(json_decrefp) json_t *digests = json_object();
    _cleanup_(json_decrefp) json_t *payload = NULL;
    _cleanup_(freep) char *overall = NULL;
    if (tokens == NULL || digests == NULL) {
        return DGA_E_NOMEM;
    }
    for (size_t i = 0; i < json_array_size(claims); i++) {
        dga_err e = build_submod(json_array_get(claims, i), c, tokens, digests);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    dga_err e = overall_payload(c, digests, &payload);
    if (e == DGA_E_OK) {
        e = jws_compact(c->header, payload, c->opt->key, &overall);
    }
    if (e != DGA_E_OK) {
        return e;
    }
    json_t *eat = json_pack("[[s,s],O]", "JWT", overall, tokens);
    if (eat == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = eat;
    return DGA_E_OK;
}

dga_err dga_eat_build(const json_t *claims, const struct dga_eat_options *opt, json_t **ret)
{
    dga_err e = check_build_args(claims, opt, ret);
    if (e != DGA_E_OK) {
        return e;
    }
    struct build_ctx c = {0};
    e = build_ctx_init(opt, &c);
    if (e == DGA_E_OK) {
        e = build_all(claims, &c, ret);
    }
    build_ctx_free(&c);
    return e;
}

/* ---- verifying ----------------------------------------------------------------------- */

enum part {
    PART_DOCUMENT,
    PART_HEADER,
    PART_PAYLOAD,
    PART_SIGNATURE,
    PART_SUBMODS,
    PART_DIGEST,
    PART_TIME,
    PART_NONCE,
};

static const char *const overall_fields[] = {
    [PART_DOCUMENT] = "document",       [PART_HEADER] = "overall.header",
    [PART_PAYLOAD] = "overall.payload", [PART_SIGNATURE] = "overall.signature",
    [PART_SUBMODS] = "overall.submods", [PART_DIGEST] = "overall.digest",
    [PART_TIME] = "overall.time",       [PART_NONCE] = "overall.eat_nonce",
};

static const char *const submod_fields[] = {
    [PART_DOCUMENT] = "document",      [PART_HEADER] = "submod.header",
    [PART_PAYLOAD] = "submod.payload", [PART_SIGNATURE] = "submod.signature",
    [PART_SUBMODS] = "submod.submods", [PART_DIGEST] = "submod.digest",
    [PART_TIME] = "submod.time",       [PART_NONCE] = "submod.eat_nonce",
};

static dga_err fail(struct dga_diag *d, dga_err e, size_t index, enum part p)
{
    return dga_diag_set(d, e, index, index == 0 ? overall_fields[p] : submod_fields[p]);
}

struct token {
    const char *label;   /* NULL for the overall token */
    const char *compact; /* owned by the document */
    size_t signed_len;   /* length of "header.payload" */
    json_t *header;
    json_t *payload;
    uint8_t *sig;
    size_t sig_len;
};

struct eat {
    json_t *doc;
    size_t n; /* tokens: [0] overall, [1..n) submods */
    struct token t[1 + EAT_MAX_SUBMODS];
};

static void eat_free(struct eat *eat)
{
    for (size_t i = 0; i < eat->n; i++) {
        json_decref(eat->t[i].header);
        json_decref(eat->t[i].payload);
        free(eat->t[i].sig);
    }
    json_decref(eat->doc);
}

/* A submod label: 1..EAT_LABEL_MAX-1 characters of A-Z a-z 0-9 - _ (printed by programs). */
static bool label_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= EAT_LABEL_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool string_is(const json_t *j, const char *want)
{
    return json_is_string(j) && json_string_length(j) == strlen(want) &&
           memcmp(json_string_value(j), want, strlen(want)) == 0;
}

static void add_token(struct eat *eat, const char *label, const json_t *compact)
{
    struct token *t = &eat->t[eat->n++];
    t->label = label;
    t->compact = json_string_value(compact);
}

/* [["JWT", "<compact>"], {label: "<compact>", ...}] */
static dga_err parse_document(const char *text, size_t len, struct eat *eat, struct dga_diag *diag)
{
    json_error_t jerr;
    eat->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *first = json_array_get(eat->doc, 0);
    json_t *subs = json_array_get(eat->doc, 1);
    if (!json_is_array(eat->doc) || json_array_size(eat->doc) != 2 || !json_is_array(first) ||
        json_array_size(first) != 2 || !string_is(json_array_get(first, 0), "JWT") ||
        !json_is_string(json_array_get(first, 1)) || !json_is_object(subs) ||
        json_object_size(subs) == 0 || json_object_size(subs) > EAT_MAX_SUBMODS) {
        return fail(diag, DGA_E_EAT_MALFORMED, 0, PART_DOCUMENT);
    }
    add_token(eat, NULL, json_array_get(first, 1));
    const char *label;
    json_t *value;
    json_object_foreach(subs, label, value)
    {
        if (!label_ok(label) || !json_is_string(value)) {
            return fail(diag, DGA_E_EAT_MALFORMED, eat->n, PART_DOCUMENT);
        }
        add_token(eat, label, value);
    }
    return DGA_E_OK;
}

/* Strict base64url of `len` characters, then a JSON object. */
static json_t *decode_json_part(const char *text, size_t len)
{
    _cleanup_(freep) uint8_t *bytes = NULL;
    size_t n = 0;
    json_error_t jerr;
    if (dga_base64url_decode(text, len, &bytes, &n) != DGA_E_OK) {
        return NULL;
    }
    json_t *j = json_loadb((const char *)bytes, n, JSON_REJECT_DUPLICATES, &jerr);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* alg pinned to ES384; no header that names another key or demands extensions. */
static bool header_ok(const json_t *h)
{
    static const char *const refused[] = {"crit", "jku", "jwk", "x5u", "x5c", "b64"};
    if (!string_is(json_object_get(h, "alg"), "ES384")) {
        return false;
    }
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (json_object_get(h, refused[i]) != NULL) {
            return false;
        }
    }
    return true;
}

/* iat and exp must be integers; nbf, when present, too. */
static bool payload_times_ok(const json_t *p)
{
    const json_t *nbf = json_object_get(p, "nbf");
    return json_is_integer(json_object_get(p, "iat")) &&
           json_is_integer(json_object_get(p, "exp")) && (nbf == NULL || json_is_integer(nbf));
}

static dga_err parse_token(struct token *t, size_t index, struct dga_diag *diag)
{
    size_t len = strlen(t->compact);
    const char *d1 = memchr(t->compact, '.', len);
    const char *d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - t->compact)) : NULL;
    const char *end = t->compact + len;
    if (d2 == NULL || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)) != NULL) {
        return fail(diag, DGA_E_EAT_MALFORMED, index, PART_HEADER);
    }
    t->signed_len = (size_t)(d2 - t->compact);
    t->header = decode_json_part(t->compact, (size_t)(d1 - t->compact));
    if (t->header == NULL) {
        return fail(diag, DGA_E_EAT_MALFORMED, index, PART_HEADER);
    }
    if (!header_ok(t->header)) {
        return fail(diag, DGA_E_EAT_ALGORITHM, index, PART_HEADER);
    }
    t->payload = decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1));
    if (t->payload == NULL || !payload_times_ok(t->payload)) {
        return fail(diag, DGA_E_EAT_MALFORMED, index, PART_PAYLOAD);
    }
    if (dga_base64url_decode(d2 + 1, (size_t)(end - d2 - 1), &t->sig, &t->sig_len) != DGA_E_OK) {
        return fail(diag, DGA_E_EAT_MALFORMED, index, PART_SIGNATURE);
    }
    return DGA_E_OK;
}

/* ["DIGEST", ["SHA256" or "SHA-256", "<64 hex>"]] equal to SHA-256 of the compact string. */
static bool digest_matches(const json_t *entry, const char *compact)
{
    const json_t *alg = json_array_get(entry, 1);
    const char *hex = json_string_value(json_array_get(alg, 1));
    uint8_t want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];
    if (json_array_size(entry) != 2 || !string_is(json_array_get(entry, 0), "DIGEST") ||
        json_array_size(alg) != 2 ||
        !(string_is(json_array_get(alg, 0), "SHA256") ||
          string_is(json_array_get(alg, 0), "SHA-256")) ||
        hex == NULL || dga_hex_decode_exact(hex, want, sizeof want) != DGA_E_OK) {
        return false;
    }
    SHA256((const unsigned char *)compact, strlen(compact), got);
    return dga_mem_equal(want, got, sizeof got);
}

/* The overall "submods" lists exactly the tokens present, each with its digest. */
static dga_err check_digests(const struct eat *eat, struct dga_diag *diag)
{
    const json_t *submods = json_object_get(eat->t[0].payload, "submods");
    if (!json_is_object(submods) || json_object_size(submods) != eat->n - 1) {
        return fail(diag, DGA_E_EAT_DIGEST, 0, PART_SUBMODS);
    }
    for (size_t i = 1; i < eat->n; i++) {
        const json_t *entry = json_object_get(submods, eat->t[i].label);
        if (entry == NULL || !digest_matches(entry, eat->t[i].compact)) {
            return fail(diag, DGA_E_EAT_DIGEST, i, PART_DIGEST);
        }
    }
    return DGA_E_OK;
}

static dga_err check_signatures(const struct eat *eat, EVP_PKEY *pubkey, struct dga_diag *diag)
{
    for (size_t i = 0; i < eat->n; i++) {
        const struct token *t = &eat->t[i];
        if (t->sig_len != DGA_SIGNATURE_LEN) {
            return fail(diag, DGA_E_EAT_SIGNATURE, i, PART_SIGNATURE);
        }
        dga_err e =
            dga_p384_verify_raw(pubkey, (const uint8_t *)t->compact, t->signed_len, t->sig);
        if (e == DGA_E_NOMEM) {
            return fail(diag, e, i, PART_SIGNATURE);
        }
        if (e != DGA_E_OK) {
            return fail(diag, DGA_E_EAT_SIGNATURE, i, PART_SIGNATURE);
        }
    }
    return DGA_E_OK;
}

/* a > b + leeway, without overflow (leeway >= 0). */
static bool later_than(json_int_t a, json_int_t b, long leeway)
{
    json_int_t limit;
    if (__builtin_add_overflow(b, (json_int_t)leeway, &limit)) {
        return false;
    }
    return a > limit;
}

static bool times_ok(const json_t *p, time_t now, long leeway)
{
    json_int_t t = (json_int_t)now;
    const json_t *nbf = json_object_get(p, "nbf");
    return !later_than(json_integer_value(json_object_get(p, "iat")), t, leeway) &&
           !later_than(t, json_integer_value(json_object_get(p, "exp")), leeway) &&
           (nbf == NULL || !later_than(json_integer_value(nbf), t, leeway));
}

static dga_err check_claims(const struct eat *eat, time_t now, long leeway, struct dga_diag *diag)
{
    for (size_t i = 0; i < eat->n; i++) {
        if (!times_ok(eat->t[i].payload, now, leeway)) {
            return fail(diag, DGA_E_EAT_TIME, i, PART_TIME);
        }
    }
    const json_t *nonce = json_object_get(eat->t[0].payload, "eat_nonce");
    if (!json_is_string(nonce)) {
        return fail(diag, DGA_E_EAT_NONCE, 0, PART_NONCE);
    }
    for (size_t i = 1; i < eat->n; i++) {
        const json_t *sub = json_object_get(eat->t[i].payload, "eat_nonce");
        if (!json_is_string(sub) || !json_equal(sub, nonce)) {
            return fail(diag, DGA_E_EAT_NONCE, i, PART_NONCE);
        }
    }
    return DGA_E_OK;
}

static dga_err verify_parsed(struct eat *eat, EVP_PKEY *pubkey, time_t now, long leeway,
                             struct dga_diag *diag)
{
    for (size_t i = 0; i < eat->n; i++) {
        dga_err e = parse_token(&eat->t[i], i, diag);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    dga_err e = check_digests(eat, diag);
    if (e == DGA_E_OK) {
        e = check_signatures(eat, pubkey, diag);
    }
    if (e == DGA_E_OK) {
        e = check_claims(eat, now, leeway, diag);
    }
    return e;
}

dga_err dga_eat_verify(const char *text, size_t len, EVP_PKEY *pubkey, time_t now, long leeway,
                       json_t **ret_overall, struct dga_diag *diag)
{
    if (text == NULL || pubkey == NULL || leeway < 0 || !dga_key_is_p384(pubkey)) {
        ERR_clear_error();
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "arguments");
    }
    if (len > DGA_EAT_MAX_BYTES) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, 0, "document");
    }
    struct eat eat = {0};
    dga_err e = parse_document(text, len, &eat, diag);
    if (e == DGA_E_OK) {
        e = verify_parsed(&eat, pubkey, now, leeway, diag);
    }
    if (e == DGA_E_OK && ret_overall != NULL) {
        *ret_overall = json_incref(eat.t[0].payload);
    }
    eat_free(&eat);
    return e;
}

bool dga_eat_nonce_is(const json_t *overall, const uint8_t nonce[DGA_NONCE_LEN])
{
    const json_t *v = json_object_get(overall, "eat_nonce");
    uint8_t got[DGA_NONCE_LEN];
    return json_is_string(v) &&
           dga_hex_decode_exact(json_string_value(v), got, DGA_NONCE_LEN) == DGA_E_OK &&
           dga_mem_equal(got, nonce, DGA_NONCE_LEN);
}
