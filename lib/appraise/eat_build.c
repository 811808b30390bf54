/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building detached EATs (dga_eat_build): one submod token per device's
 * claims, labelled GPU-<n>/SWITCH-<n>, then the overall token that carries
 * each submod's SHA-256 and the nonce. Signed ES384 with the caller's key, or
 * "alg":"none" (marked x-dstack-unsigned) only when the caller asks for it.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "appraise/eat_internal.h"
#include "core/cleanup.h"
#include "dga/eat.h"
#include "dga/util.h"
#include "dga/x509.h"

#define EAT_COORD_LEN (DGA_SIGNATURE_LEN / 2)
#define EAT_JTI_LEN 32
#define EAT_DEFAULT_ISSUER "dstack-gpu-attest"
#define EAT_SUB "NVIDIA-PLATFORM-ATTESTATION"
#define EAT_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

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
    if (opt->key != NULL && (!dga_key_is_p384(opt->key) || !eat_key_is_private(opt->key))) {
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
