/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verifying detached EATs (dga_eat_verify). Verification runs in four
 * phases, each over every token (overall first, then the submods in
 * document order), so the first failing phase decides the error:
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
#include <string.h>

#include <openssl/err.h>
#include <openssl/sha.h>

#include "appraise/eat_internal.h"
#include "core/cleanup.h"
#include "dga/eat.h"
#include "dga/util.h"
#include "dga/x509.h"

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
        dga_err e = dga_p384_verify_raw(pubkey, (const uint8_t *)t->compact, t->signed_len, t->sig);
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
