/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TDX collateral from a PCCS (or Intel's PCS, same API v4 paths): four GETs
 * through the project's one HTTP client, assembled into QuoteCollateralV3
 * JSON. The signed objects (tcbInfo, enclaveIdentity) are cut out of the
 * response bodies as the exact text served: their signatures cover those
 * bytes, and re-serializing (as dcap-qvl does) only reproduces them while
 * Intel's JSON happens to be compact. The cut is checked against jansson's
 * own parse of the body, so a scanner slip is an error, never a wrong text.
 * Nothing here is trusted: the caller verifies the result before use.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "collateral/testing.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/json.h"
#include "dga/cleanup.h"
#include "dga/collateral.h"
#include "dga/util.h"
#include "dga/x509.h"

#define PCCS_URL_MAX 2048

/* What the four answers give, before it becomes one document. */
struct pccs_parts {
    char *pck_crl_chain;
    char *tcb_chain;
    char *qe_chain;
    uint8_t *pck_crl;
    size_t pck_crl_len;
    uint8_t *root_crl;
    size_t root_crl_len;
    char *tcb_info;
    size_t tcb_info_len;
    uint8_t tcb_sig[DGA_QUOTE_SIG_LEN];
    char *qe_identity;
    size_t qe_identity_len;
    uint8_t qe_sig[DGA_QUOTE_SIG_LEN];
};

static void pccs_parts_clear(struct pccs_parts *p)
{
    free(p->pck_crl_chain);
    free(p->tcb_chain);
    free(p->qe_chain);
    free(p->pck_crl);
    free(p->root_crl);
    free(p->tcb_info);
    free(p->qe_identity);
    memset(p, 0, sizeof *p);
}

/* ---- base URL ---- */

static bool strip_suffix(char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t k = strlen(suffix);
    if (n >= k && strcmp(s + n - k, suffix) == 0) {
        s[n - k] = '\0';
        return true;
    }
    return false;
}

static void strip_slashes(char *s)
{
    while (strip_suffix(s, "/")) {
    }
}

/* base without trailing slashes or API prefix (as dcap-qvl takes it), then path. */
static dga_err item_url(const char *base, const char *path, char *out, size_t cap)
{
    char b[PCCS_URL_MAX];
    if (base == NULL || strlen(base) >= sizeof b ||
        (strncasecmp(base, "https://", 8) != 0 && strncasecmp(base, "http://", 7) != 0)) {
        return DGA_E_BAD_ARGUMENT;
    }
    memcpy(b, base, strlen(base) + 1);
    strip_slashes(b);
    if (strip_suffix(b, "/sgx/certification/v4") || strip_suffix(b, "/tdx/certification/v4")) {
        strip_slashes(b);
    }
    int n = snprintf(out, cap, "%s%s", b, path);
    return n > 0 && (size_t)n < cap ? DGA_E_OK : DGA_E_BAD_ARGUMENT;
}

/* ---- issuer chain headers ---- */

/* Percent-decoding (%XX only: '+' is a base64 digit in PEM, never a space). */
static dga_err url_decode(const char *in, char **ret)
{
    size_t n = strlen(in);
    _cleanup_(freep) char *out = malloc(n + 1);
    size_t j = 0;
    if (out == NULL) {
        return DGA_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (in[i] != '%') {
            out[j++] = in[i];
            continue;
        }
        int hi = i + 2 < n ? hex_value(in[i + 1]) : -1;
        int lo = hi >= 0 ? hex_value(in[i + 2]) : -1;
        if (lo < 0 || (hi == 0 && lo == 0)) {
            return DGA_E_COLLATERAL_HEADER;
        }
        out[j++] = (char)(hi << 4 | lo);
        i += 2;
    }
    out[j] = '\0';
    *ret = out;
    out = NULL;
    return DGA_E_OK;
}

/*
 * The one header of names that came (two is ambiguous), URL-decoded, which
 * must be a PEM chain: field names the collateral member it fills.
 */
dga_err pccs_issuer_chain(const struct dga_http_response *r, size_t n_names, const char *field,
                          char **ret, struct dga_diag *diag)
{
    const char *value = NULL;
    for (size_t i = 0; i < n_names; i++) {
        if (r->captured[i] != NULL && value != NULL) {
            return dga_diag_set(diag, DGA_E_COLLATERAL_HEADER, 0, field);
        }
        value = r->captured[i] != NULL ? r->captured[i] : value;
    }
    if (value == NULL) {
        return dga_diag_set(diag, DGA_E_COLLATERAL_HEADER, 0, field);
    }
    _cleanup_(freep) char *pem = NULL;
    dga_err e = url_decode(value, &pem);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, field);
    }
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
    if (dga_pem_chain_parse(pem, strlen(pem), &chain, NULL) != DGA_E_OK) {
        return dga_diag_set(diag, DGA_E_COLLATERAL_HEADER, 0, field);
    }
    *ret = TAKE_PTR(pem);
    return DGA_E_OK;
}

/* ---- bodies ---- */

/* A CRL as a PCCS serves it: DER, or (the root CA CRL) its hex text. One CRL, nothing after. */
dga_err pccs_crl_body(const uint8_t *body, size_t len, uint8_t **ret, size_t *ret_len)
{
    uint8_t *der = NULL;
    size_t der_len = 0;
    if (len > 0 && body[0] == 0x30) {
        der = malloc(len);
        if (der == NULL) {
            return DGA_E_NOMEM;
        }
        memcpy(der, body, len);
        der_len = len;
    } else if (dga_hex_decode((const char *)body, len, &der, &der_len) != DGA_E_OK) {
        return DGA_E_COLLATERAL_BODY;
    }
    const unsigned char *p = der;
    X509_CRL *crl = der_len > 0 ? d2i_X509_CRL(NULL, &p, (long)der_len) : NULL;
    bool whole = crl != NULL && p == der + der_len;
    X509_CRL_free(crl);
    if (!whole) {
        free(der);
        return DGA_E_COLLATERAL_BODY;
    }
    *ret = der;
    *ret_len = der_len;
    return DGA_E_OK;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && is_ws(s[i])) {
        i++;
    }
    return i;
}

/* Just past the string that starts at s[i] ('"'). */
static size_t skip_string(const char *s, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\') {
            i++;
        } else if (s[i] == '"') {
            return i + 1;
        }
    }
    return n;
}

/* Just past the value that starts at s[i]; s is JSON jansson has accepted. */
static size_t skip_value(const char *s, size_t i, size_t n)
{
    size_t depth = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            i = skip_string(s, i, n);
            if (depth == 0) {
                return i;
            }
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) {
                return i;
            }
            if (--depth == 0) {
                return i + 1;
            }
        } else if (depth == 0 && (c == ',' || is_ws(c))) {
            return i;
        }
        i++;
    }
    return n;
}

/* The byte span of the top-level member `name` (written without escapes) of an object. */
static bool member_span(const char *s, size_t n, const char *name, size_t *start, size_t *end)
{
    size_t want = strlen(name);
    size_t i = skip_ws(s, 0, n);
    if (i >= n || s[i] != '{') {
        return false;
    }
    for (i++;;) {
        i = skip_ws(s, i, n);
        if (i >= n || s[i] != '"') {
            return false;
        }
        size_t key = i + 1;
        i = skip_string(s, i, n);
        bool hit = i - key - 1 == want && memcmp(s + key, name, want) == 0;
        i = skip_ws(s, i, n);
        if (i >= n || s[i] != ':') {
            return false;
        }
        size_t value = skip_ws(s, i + 1, n);
        i = skip_value(s, value, n);
        if (hit) {
            *start = value;
            *end = i;
            return true;
        }
        i = skip_ws(s, i, n);
        if (i >= n || s[i] != ',') {
            return false;
        }
        i++;
    }
}

/* The exact text of body's member `name`, which must parse to what jansson read there. */
static dga_err cut_member(const char *body, size_t len, const char *name, json_t *parsed,
                          char **ret, size_t *ret_len)
{
    size_t start = 0;
    size_t end = 0;
    if (!member_span(body, len, name, &start, &end) || end <= start) {
        return DGA_E_COLLATERAL_BODY;
    }
    _cleanup_(json_decrefp) json_t *cut =
        json_loadb(body + start, end - start, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    if (cut == NULL || !json_equal(cut, parsed)) {
        return DGA_E_COLLATERAL_BODY;
    }
    char *text = bytes_dup_text(body + start, end - start);
    if (text == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = text;
    *ret_len = end - start;
    return DGA_E_OK;
}

/*
 * {"<name>": {...}, "signature": "<128 hex>"}: the exact text of the object
 * and the 64 signature bytes. Other members are ignored.
 */
dga_err pccs_signed_body(const uint8_t *body, size_t len, const char *name, char **ret,
                         size_t *ret_len, uint8_t sig[DGA_QUOTE_SIG_LEN])
{
    const char *text = (const char *)body;
    _cleanup_(json_decrefp) json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *object = json_object_get(doc, name);
    const char *hex = json_string_value(json_object_get(doc, "signature"));
    uint8_t s[DGA_QUOTE_SIG_LEN];
    if (!json_is_object(object) || hex == NULL ||
        dga_hex_decode_exact(hex, s, sizeof s) != DGA_E_OK) {
        return DGA_E_COLLATERAL_BODY;
    }
    dga_err e = cut_member(text, len, name, object, ret, ret_len);
    if (e != DGA_E_OK) {
        return e;
    }
    memcpy(sig, s, sizeof s);
    return DGA_E_OK;
}

/* ---- the requests ---- */

/* One GET; only 200 counts. diag->field is the item on failure. */
static dga_err get(const char *base, const char *path, const char *accept,
                   const char *const *capture, const struct dga_http_options *o, const char *field,
                   struct dga_http_response *ret, struct dga_http_info *info, struct dga_diag *diag)
{
    char url[PCCS_URL_MAX + 128];
    dga_err e = item_url(base, path, url, sizeof url);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, field);
    }
    const struct dga_http_request r = {.url = url, .accept = accept, .capture = capture};
    e = dga_http_exchange(&r, o, ret, info);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, field);
    }
    if (ret->status != 200) {
        dga_http_response_clear(ret);
        return dga_diag_set(diag, DGA_E_COLLATERAL_HTTP, 0, field);
    }
    return DGA_E_OK;
}

static const char *const pck_crl_headers[] = {"SGX-PCK-CRL-Issuer-Chain", NULL};
static const char *const tcb_headers[] = {"SGX-TCB-Info-Issuer-Chain", "TCB-Info-Issuer-Chain",
                                          NULL};
static const char *const qe_headers[] = {"SGX-Enclave-Identity-Issuer-Chain", NULL};

#define ACCEPT_CRL "application/pkix-crl, application/octet-stream, text/plain, */*"
#define ACCEPT_JSON "application/json"

static dga_err fetch_pck_crl(const char *base, const struct dga_tdx_collateral_key *k,
                             const struct dga_http_options *o, struct pccs_parts *p,
                             struct dga_http_info *info, struct dga_diag *diag)
{
    char path[96];
    snprintf(path, sizeof path, "/sgx/certification/v4/pckcrl?ca=%s&encoding=der",
             dga_tdx_collateral_ca_name(k->processor_ca));
    _cleanup_(dga_http_response_clearp) struct dga_http_response r = {0};
    dga_err e = get(base, path, ACCEPT_CRL, pck_crl_headers, o, "pck_crl", &r, info, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = pccs_crl_body(r.body, r.len, &p->pck_crl, &p->pck_crl_len);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "pck_crl");
    }
    return pccs_issuer_chain(&r, 1, "pck_crl_issuer_chain", &p->pck_crl_chain, diag);
}

static dga_err fetch_tcb_info(const char *base, const struct dga_tdx_collateral_key *k,
                              const struct dga_http_options *o, struct pccs_parts *p,
                              struct dga_http_info *info, struct dga_diag *diag)
{
    char path[96];
    snprintf(path, sizeof path, "/tdx/certification/v4/tcb?fmspc=%s", k->fmspc);
    _cleanup_(dga_http_response_clearp) struct dga_http_response r = {0};
    dga_err e = get(base, path, ACCEPT_JSON, tcb_headers, o, "tcb_info", &r, info, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = pccs_signed_body(r.body, r.len, "tcbInfo", &p->tcb_info, &p->tcb_info_len, p->tcb_sig);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "tcb_info");
    }
    return pccs_issuer_chain(&r, 2, "tcb_info_issuer_chain", &p->tcb_chain, diag);
}

static dga_err fetch_qe_identity(const char *base, const struct dga_http_options *o,
                                 struct pccs_parts *p, struct dga_http_info *info,
                                 struct dga_diag *diag)
{
    _cleanup_(dga_http_response_clearp) struct dga_http_response r = {0};
    dga_err e = get(base, "/tdx/certification/v4/qe/identity?update=standard", ACCEPT_JSON,
                    qe_headers, o, "qe_identity", &r, info, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = pccs_signed_body(r.body, r.len, "enclaveIdentity", &p->qe_identity, &p->qe_identity_len,
                         p->qe_sig);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "qe_identity");
    }
    return pccs_issuer_chain(&r, 1, "qe_identity_issuer_chain", &p->qe_chain, diag);
}

static dga_err fetch_root_crl(const char *base, const struct dga_http_options *o,
                              struct pccs_parts *p, struct dga_http_info *info,
                              struct dga_diag *diag)
{
    _cleanup_(dga_http_response_clearp) struct dga_http_response r = {0};
    dga_err e = get(base, "/sgx/certification/v4/rootcacrl", ACCEPT_CRL, NULL, o, "root_ca_crl", &r,
                    info, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = pccs_crl_body(r.body, r.len, &p->root_crl, &p->root_crl_len);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "root_ca_crl");
    }
    return DGA_E_OK;
}

/* ---- the document ---- */

/* QuoteCollateralV3, members in dcap-qvl's order, the signed texts as served. */
static dga_err build(const struct pccs_parts *p, char **ret, size_t *ret_len)
{
    _cleanup_(json_decrefp) json_t *doc = json_object();
    dga_err e = doc != NULL ? DGA_E_OK : DGA_E_NOMEM;
    json_put(doc, "pck_crl_issuer_chain", json_string(p->pck_crl_chain), &e);
    json_put(doc, "root_ca_crl", hex_json(p->root_crl, p->root_crl_len), &e);
    json_put(doc, "pck_crl", hex_json(p->pck_crl, p->pck_crl_len), &e);
    json_put(doc, "tcb_info_issuer_chain", json_string(p->tcb_chain), &e);
    json_put(doc, "tcb_info", json_stringn(p->tcb_info, p->tcb_info_len), &e);
    json_put(doc, "tcb_info_signature", hex_json(p->tcb_sig, sizeof p->tcb_sig), &e);
    json_put(doc, "qe_identity_issuer_chain", json_string(p->qe_chain), &e);
    json_put(doc, "qe_identity", json_stringn(p->qe_identity, p->qe_identity_len), &e);
    json_put(doc, "qe_identity_signature", hex_json(p->qe_sig, sizeof p->qe_sig), &e);
    if (e != DGA_E_OK) {
        return e;
    }
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        return DGA_E_NOMEM;
    }
    size_t len = strlen(text);
    if (len > DGA_QUOTE_COLLATERAL_MAX) {
        free(text);
        return DGA_E_TOO_LARGE;
    }
    *ret = text;
    *ret_len = len;
    return DGA_E_OK;
}

dga_err dga_tdx_collateral_fetch(const char *base_url, const struct dga_tdx_collateral_key *k,
                                 const struct dga_http_options *o, char **ret, size_t *ret_len,
                                 struct dga_http_info *info, struct dga_diag *diag)
{
    char url[PCCS_URL_MAX + 128];
    if (k == NULL || o == NULL || ret == NULL || ret_len == NULL ||
        item_url(base_url, "", url, sizeof url) != DGA_E_OK) {
        return DGA_E_BAD_ARGUMENT;
    }
    _cleanup_(pccs_parts_clear) struct pccs_parts p = {0};
    dga_err e = fetch_pck_crl(base_url, k, o, &p, info, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = fetch_tcb_info(base_url, k, o, &p, info, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = fetch_qe_identity(base_url, o, &p, info, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = fetch_root_crl(base_url, o, &p, info, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = build(&p, ret, ret_len);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "collateral");
    }
    return DGA_E_OK;
}
