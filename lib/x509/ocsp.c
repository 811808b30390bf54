/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCSP requests and response verification on OpenSSL
 * (RFC 6960; docs/revocation.md). The checks libnvat makes (status,
 * OCSP_basic_verify, CertID, nonce), with three changes: the responder's
 * chain is verified at the caller's verification time (store parameters,
 * never the wall clock), a failed signature makes the response invalid
 * rather than a soft flag, and thisUpdate/nextUpdate/age are enforced
 * (which libnvat omits), so a host cannot replay an old "good" answer.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "core/cleanup.h"
#include "core/utc.h"
#include "dga/ocsp.h"
#include "dga/util.h"

DEFINE_FREEP(OCSP_RESPONSE, OCSP_RESPONSE_free)
DEFINE_FREEP(OCSP_BASICRESP, OCSP_BASICRESP_free)
DEFINE_FREEP(OCSP_CERTID, OCSP_CERTID_free)
DEFINE_FREEP(OCSP_REQUEST, OCSP_REQUEST_free)
DEFINE_FREEP(X509_VERIFY_PARAM, X509_VERIFY_PARAM_free)

struct dga_ocsp_request {
    OCSP_REQUEST *req;
    bool nonce;
};

const char *dga_ocsp_status_name(enum dga_ocsp_status s)
{
    switch (s) {
    case DGA_OCSP_STATUS_GOOD:
        return "good";
    case DGA_OCSP_STATUS_REVOKED:
        return "revoked";
    case DGA_OCSP_STATUS_UNKNOWN:
        return "unknown";
    case DGA_OCSP_STATUS_NONE:
        break;
    }
    return "none";
}

const char *dga_ocsp_chain_status_name(enum dga_ocsp_chain_status s)
{
    switch (s) {
    case DGA_OCSP_CHAIN_NOT_CHECKED:
        return "not-checked";
    case DGA_OCSP_CHAIN_GOOD:
        return "good";
    case DGA_OCSP_CHAIN_REVOKED:
        return "revoked";
    case DGA_OCSP_CHAIN_UNKNOWN:
        return "unknown";
    case DGA_OCSP_CHAIN_INVALID:
        return "invalid";
    }
    return "unknown";
}

const char *dga_ocsp_origin_name(enum dga_ocsp_origin o)
{
    switch (o) {
    case DGA_OCSP_ORIGIN_ONLINE:
        return "online";
    case DGA_OCSP_ORIGIN_CACHE:
        return "cache";
    case DGA_OCSP_ORIGIN_BUNDLE:
        return "bundle";
    case DGA_OCSP_ORIGIN_NONE:
        break;
    }
    return "not-checked";
}

/* ------------------------------------------------------------ requests */

dga_err dga_ocsp_request_new(X509 *subject, X509 *issuer, bool with_nonce,
                             struct dga_ocsp_request **ret)
{
    if (subject == NULL || issuer == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    _cleanup_(OCSP_REQUEST_freep) OCSP_REQUEST *req = OCSP_REQUEST_new();
    /* SHA-1 CertID: what NVIDIA's responder and libnvat use (docs/revocation.md). */
    _cleanup_(OCSP_CERTID_freep) OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), subject, issuer);
    if (req == NULL || id == NULL) {
        ERR_clear_error();
        return DGA_E_NOMEM;
    }
    if (OCSP_request_add0_id(req, id) == NULL) {
        ERR_clear_error();
        return DGA_E_NOMEM;
    }
    id = NULL; /* owned by req now */
    /* NULL value: OpenSSL draws DGA_OCSP_NONCE_LEN random bytes, non-critical. */
    if (with_nonce && OCSP_request_add1_nonce(req, NULL, DGA_OCSP_NONCE_LEN) != 1) {
        ERR_clear_error();
        return DGA_E_INTERNAL;
    }
    struct dga_ocsp_request *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return DGA_E_NOMEM;
    }
    r->req = TAKE_PTR(req);
    r->nonce = with_nonce;
    *ret = r;
    return DGA_E_OK;
}

dga_err dga_ocsp_request_der(const struct dga_ocsp_request *r, uint8_t **ret, size_t *ret_len)
{
    if (r == NULL || ret == NULL || ret_len == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    unsigned char *der = NULL;
    int n = i2d_OCSP_REQUEST(r->req, &der);
    if (n <= 0) {
        ERR_clear_error();
        return DGA_E_NOMEM;
    }
    uint8_t *out = malloc((size_t)n);
    if (out != NULL) {
        memcpy(out, der, (size_t)n);
    }
    OPENSSL_free(der);
    if (out == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = out;
    *ret_len = (size_t)n;
    return DGA_E_OK;
}

void dga_ocsp_request_free(struct dga_ocsp_request *r)
{
    if (r != NULL) {
        OCSP_REQUEST_free(r->req);
        free(r);
    }
}

/* ------------------------------------------------------------ collateral keys */

static dga_err certid_key(const OCSP_CERTID *id, char out[DGA_OCSP_KEY_LEN])
{
    unsigned char *der = NULL;
    int n = i2d_OCSP_CERTID(id, &der);
    uint8_t md[32];
    unsigned int md_len = 0;
    bool ok = n > 0 && EVP_Digest(der, (size_t)n, md, &md_len, EVP_sha256(), NULL) == 1 &&
              md_len == sizeof md;
    OPENSSL_free(der);
    if (!ok) {
        ERR_clear_error();
        return DGA_E_INTERNAL;
    }
    dga_hex_encode(md, sizeof md, out);
    return DGA_E_OK;
}

dga_err dga_ocsp_cert_key(X509 *subject, X509 *issuer, char out[DGA_OCSP_KEY_LEN])
{
    if (subject == NULL || issuer == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    _cleanup_(OCSP_CERTID_freep) OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), subject, issuer);
    if (id == NULL) {
        ERR_clear_error();
        return DGA_E_NOMEM;
    }
    return certid_key(id, out);
}

/* DER to a successful response's BasicOCSPResponse; errors as dga_ocsp_response_check. */
static dga_err parse_basic(const uint8_t *der, size_t len, OCSP_BASICRESP **ret,
                           struct dga_diag *diag)
{
    if (len > DGA_OCSP_RESPONSE_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, len, "OCSP response size");
    }
    const unsigned char *p = der;
    _cleanup_(OCSP_RESPONSE_freep) OCSP_RESPONSE *resp =
        len > 0 ? d2i_OCSP_RESPONSE(NULL, &p, (long)len) : NULL;
    if (resp == NULL) {
        ERR_clear_error();
        return dga_diag_set(diag, DGA_E_OCSP_MALFORMED, 0, "OCSPResponse");
    }
    if ((size_t)(p - der) != len) {
        return dga_diag_set(diag, DGA_E_OCSP_MALFORMED, (size_t)(p - der), "trailing bytes");
    }
    int status = OCSP_response_status(resp);
    if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        /* OpenSSL's static name: "internalerror", "trylater", "unauthorized", ... */
        return dga_diag_set(diag, DGA_E_OCSP_RESPONSE_STATUS, (size_t)status,
                            OCSP_response_status_str(status));
    }
    OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
    if (bs == NULL) {
        ERR_clear_error();
        return dga_diag_set(diag, DGA_E_OCSP_MALFORMED, 0, "BasicOCSPResponse");
    }
    *ret = bs;
    return DGA_E_OK;
}

dga_err dga_ocsp_response_key(const uint8_t *der, size_t len, char out[DGA_OCSP_KEY_LEN])
{
    _cleanup_(OCSP_BASICRESP_freep) OCSP_BASICRESP *bs = NULL;
    dga_err e = parse_basic(der, len, &bs, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    OCSP_SINGLERESP *single = OCSP_resp_get0(bs, 0);
    if (single == NULL) {
        return DGA_E_OCSP_CERTID;
    }
    return certid_key(OCSP_SINGLERESP_get0_id(single), out);
}

/* ------------------------------------------------------------ response checks */

static dga_err single_times(OCSP_SINGLERESP *single, struct dga_ocsp_result *r, int *ret_status);

void dga_ocsp_check_init(struct dga_ocsp_check *c, time_t at, X509 *root)
{
    memset(c, 0, sizeof *c);
    c->at = at;
    c->skew = DGA_OCSP_DEFAULT_SKEW;
    c->max_age = DGA_OCSP_DEFAULT_MAX_AGE;
    c->root = root;
}

/*
 * The signature, by the issuer or a delegated responder it certified for
 * OCSPSigning (OpenSSL's OCSP_check_issuer), the signer chained to c->root
 * alone (the issuer and c->untrusted as intermediates), every certificate
 * checked at c->at.
 */
static dga_err check_signature(OCSP_BASICRESP *bs, X509 *issuer, const struct dga_ocsp_check *c,
                               struct dga_diag *diag)
{
    _cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
    _cleanup_(X509_VERIFY_PARAM_freep) X509_VERIFY_PARAM *param = X509_VERIFY_PARAM_new();
    if (store == NULL || param == NULL || X509_STORE_add_cert(store, c->root) != 1) {
        ERR_clear_error();
        return DGA_E_NOMEM;
    }
    X509_VERIFY_PARAM_set_time(param, c->at);
    if (X509_STORE_set1_param(store, param) != 1) {
        ERR_clear_error();
        return DGA_E_NOMEM;
    }
    /* The issuer is always a candidate (it signs, or it issued the delegated responder). */
    STACK_OF(X509) *candidates =
        c->untrusted != NULL ? sk_X509_dup(c->untrusted) : sk_X509_new_null();
    if (candidates == NULL || sk_X509_push(candidates, issuer) <= 0) {
        sk_X509_free(candidates);
        return DGA_E_NOMEM;
    }
    int ok = OCSP_basic_verify(bs, candidates, store, 0);
    sk_X509_free(candidates);
    ERR_clear_error();
    if (ok != 1) {
        return dga_diag_set(diag, DGA_E_OCSP_SIGNATURE, 0, "responder signature");
    }
    return DGA_E_OK;
}

static bool age_limited(const struct dga_ocsp_check *c)
{
    return !(c->unlimited_age && c->max_age == 0);
}

dga_err dga_ocsp_fresh_at(const struct dga_ocsp_check *c, const struct dga_ocsp_result *r,
                          struct dga_diag *diag)
{
    if (c == NULL || r == NULL || c->skew < 0 || c->max_age < 0 ||
        (c->max_age == 0 && !c->unlimited_age)) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "options");
    }
    int64_t at = (int64_t)c->at, this_update = (int64_t)r->this_update;
    int64_t next_update = (int64_t)r->next_update;
    if (this_update > at + c->skew) {
        return dga_diag_set(diag, DGA_E_OCSP_NOT_YET_VALID, 0, "thisUpdate");
    }
    if (next_update < this_update) {
        return dga_diag_set(diag, DGA_E_OCSP_EXPIRED, 0, "nextUpdate before thisUpdate");
    }
    if (next_update < at - c->skew) {
        return dga_diag_set(diag, DGA_E_OCSP_EXPIRED, 0,
                            r->next_update_present ? "nextUpdate" : "thisUpdate + 1h");
    }
    if (age_limited(c) && at - this_update > c->max_age) {
        return dga_diag_set(diag, DGA_E_OCSP_TOO_OLD, 0, "thisUpdate");
    }
    return DGA_E_OK;
}

time_t dga_ocsp_usable_until(const struct dga_ocsp_check *c, const struct dga_ocsp_result *r)
{
    int64_t until = (int64_t)r->next_update;
    int64_t aged = (int64_t)r->this_update + c->max_age;
    if (age_limited(c) && aged < until) {
        until = aged;
    }
    return (time_t)until;
}

/* Status, reason, thisUpdate and nextUpdate (thisUpdate + 1 h when absent) of one SingleResponse.
 */
static dga_err single_times(OCSP_SINGLERESP *single, struct dga_ocsp_result *r, int *ret_status)
{
    int reason = -1;
    ASN1_GENERALIZEDTIME *rev = NULL, *this_update = NULL, *next_update = NULL;
    int status = OCSP_single_get0_status(single, &reason, &rev, &this_update, &next_update);
    time_t t = 0;
    if (status < 0 || utc_from_asn1(this_update, &t) != DGA_E_OK) {
        ERR_clear_error();
        return DGA_E_OCSP_MALFORMED;
    }
    r->this_update = t;
    r->next_update_present = next_update != NULL;
    if (next_update == NULL) {
        t += DGA_OCSP_NO_NEXT_UPDATE_TTL; /* t is at most year 9999: no overflow */
    } else if (utc_from_asn1(next_update, &t) != DGA_E_OK) {
        return DGA_E_OCSP_MALFORMED;
    }
    r->next_update = t;
    if (status == V_OCSP_CERTSTATUS_REVOKED && reason >= 0) {
        snprintf(r->reason, sizeof r->reason, "%s", OCSP_crl_reason_str(reason));
    }
    *ret_status = status;
    return DGA_E_OK;
}

/* The SingleResponse for the SHA-1 CertID of subject: status, reason, times. */
static dga_err read_single(OCSP_BASICRESP *bs, X509 *subject, X509 *issuer,
                           struct dga_ocsp_result *r, int *ret_status, struct dga_diag *diag)
{
    _cleanup_(OCSP_CERTID_freep) OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), subject, issuer);
    if (id == NULL) {
        ERR_clear_error();
        return DGA_E_NOMEM;
    }
    int i = OCSP_resp_find(bs, id, -1);
    OCSP_SINGLERESP *single = i >= 0 ? OCSP_resp_get0(bs, i) : NULL;
    if (single == NULL) {
        ERR_clear_error();
        return dga_diag_set(diag, DGA_E_OCSP_CERTID, 0, "CertID");
    }
    if (single_times(single, r, ret_status) != DGA_E_OK) {
        return dga_diag_set(diag, DGA_E_OCSP_MALFORMED, 0, "thisUpdate/nextUpdate");
    }
    return DGA_E_OK;
}

static enum dga_ocsp_status status_of(int v_ocsp_status)
{
    switch (v_ocsp_status) {
    case V_OCSP_CERTSTATUS_GOOD:
        return DGA_OCSP_STATUS_GOOD;
    case V_OCSP_CERTSTATUS_REVOKED:
        return DGA_OCSP_STATUS_REVOKED;
    default:
        return DGA_OCSP_STATUS_UNKNOWN;
    }
}

/* Every check but the nonce. */
static dga_err check_response(const uint8_t *der, size_t len, X509 *subject, X509 *issuer,
                              const struct dga_ocsp_check *c, struct dga_ocsp_result *r,
                              OCSP_BASICRESP **ret_bs, struct dga_diag *diag)
{
    _cleanup_(OCSP_BASICRESP_freep) OCSP_BASICRESP *bs = NULL;
    int status = -1;
    dga_err e = parse_basic(der, len, &bs, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_signature(bs, issuer, c, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_single(bs, subject, issuer, r, &status, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_ocsp_fresh_at(c, r, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    r->response_valid = true;
    r->status = status_of(status);
    *ret_bs = TAKE_PTR(bs);
    return DGA_E_OK;
}

dga_err dga_ocsp_response_check(const uint8_t *der, size_t len, X509 *subject, X509 *issuer,
                                const struct dga_ocsp_request *req, const struct dga_ocsp_check *c,
                                struct dga_ocsp_result *ret, struct dga_diag *diag)
{
    memset(ret, 0, sizeof *ret);
    if ((der == NULL && len > 0) || subject == NULL || issuer == NULL || c == NULL ||
        c->root == NULL || c->skew < 0 || c->max_age < 0 ||
        (c->max_age == 0 && !c->unlimited_age)) {
        ret->err = dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "options");
        return ret->err;
    }
    _cleanup_(OCSP_BASICRESP_freep) OCSP_BASICRESP *bs = NULL;
    ret->err = check_response(der, len, subject, issuer, c, ret, &bs, diag);
    if (ret->err != DGA_E_OK) {
        ret->reason[0] = '\0';
        return ret->err;
    }
    ret->nonce_sent = req != NULL && req->nonce;
    if (ret->nonce_sent) {
        /* 1: both present and equal; 0: unequal; -1: the response has none. */
        ret->nonce_matches = OCSP_check_nonce(req->req, bs) == 1;
        ERR_clear_error();
        if (!ret->nonce_matches) {
            ret->err = dga_diag_set(diag, DGA_E_OCSP_NONCE, 0, "nonce");
        }
    }
    return ret->err;
}

/* ------------------------------------------------------------ chains */

size_t dga_ocsp_chain_subjects(enum dga_ocsp_chain_kind kind, int n_certs,
                               int out[DGA_OCSP_CHAIN_CHECKS])
{
    /* The leaf (attestation key) of a device chain is not checked; a RIM signer is. */
    int lowest = kind == DGA_OCSP_CHAIN_DEVICE ? 1 : 0;
    size_t n = 0;
    for (int i = n_certs - 2; i >= lowest && n < DGA_OCSP_CHAIN_CHECKS; i--) {
        out[n++] = i;
    }
    return n;
}

/* Online only when every response is; else the first stored origin. */
static enum dga_ocsp_origin weakest_origin(const struct dga_ocsp_chain_result *c)
{
    enum dga_ocsp_origin o = DGA_OCSP_ORIGIN_NONE;
    for (size_t i = 0; i < c->n; i++) {
        enum dga_ocsp_origin x = c->certs[i].origin;
        if (o == DGA_OCSP_ORIGIN_NONE || o == DGA_OCSP_ORIGIN_ONLINE) {
            o = x;
        }
    }
    return o;
}

/*
 * Status priority: a revocation from a valid response always shows (and its
 * reason: the first revoked certificate's, not libnvat's quirk of dropping
 * it); then an invalid or missing response; then "unknown"; else "good".
 */
void dga_ocsp_chain_aggregate(struct dga_ocsp_chain_result *c)
{
    bool revoked = false, invalid = false, unknown = false;
    c->err = DGA_E_OK;
    c->failed = -1;
    c->reason[0] = '\0';
    c->nonce_matches = c->checked && c->n > 0;
    c->response_valid = c->checked && c->n > 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct dga_ocsp_cert_result *x = &c->certs[i];
        if (x->r.err != DGA_E_OK && c->err == DGA_E_OK) {
            c->err = x->r.err;
            c->failed = (int)i;
        }
        c->nonce_matches = c->nonce_matches && x->r.nonce_matches;
        c->response_valid = c->response_valid && x->r.response_valid;
        invalid = invalid || !x->r.response_valid;
        unknown = unknown || x->r.status == DGA_OCSP_STATUS_UNKNOWN;
        if (x->r.status == DGA_OCSP_STATUS_REVOKED && !revoked) {
            revoked = true;
            snprintf(c->reason, sizeof c->reason, "%s", x->r.reason);
        }
    }
    c->origin = c->checked ? weakest_origin(c) : DGA_OCSP_ORIGIN_NONE;
    if (!c->checked || c->n == 0) {
        c->status = DGA_OCSP_CHAIN_NOT_CHECKED;
    } else if (revoked) {
        c->status = DGA_OCSP_CHAIN_REVOKED;
    } else if (invalid) {
        c->status = DGA_OCSP_CHAIN_INVALID;
    } else {
        c->status = unknown ? DGA_OCSP_CHAIN_UNKNOWN : DGA_OCSP_CHAIN_GOOD;
    }
}

void dga_ocsp_chain_result_clear(struct dga_ocsp_chain_result *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n && i < DGA_OCSP_CHAIN_CHECKS; i++) {
        free(c->certs[i].der);
    }
    memset(c, 0, sizeof *c);
    c->failed = -1;
    c->status = DGA_OCSP_CHAIN_NOT_CHECKED;
}

static dga_err peek(const uint8_t *der, size_t len, struct dga_ocsp_result *r)
{
    _cleanup_(OCSP_BASICRESP_freep) OCSP_BASICRESP *bs = NULL;
    dga_err e = parse_basic(der, len, &bs, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    OCSP_SINGLERESP *single = OCSP_resp_get0(bs, 0);
    if (single == NULL) {
        return DGA_E_OCSP_CERTID;
    }
    int status = -1;
    e = single_times(single, r, &status);
    if (e != DGA_E_OK) {
        return e;
    }
    r->status = status_of(status);
    return DGA_E_OK;
}

dga_err dga_ocsp_response_peek(const uint8_t *der, size_t len, struct dga_ocsp_result *ret)
{
    memset(ret, 0, sizeof *ret);
    dga_err e = peek(der, len, ret);
    if (e != DGA_E_OK) {
        ret->reason[0] = '\0'; /* a reason half read is none */
    }
    ret->err = e; /* the result says how it was made, success or not */
    return e;
}
