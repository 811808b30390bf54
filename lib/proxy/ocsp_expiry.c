/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How long the proxy may serve an OCSP response (dstack's rule): never past
 * the earliest nextUpdate (or thisUpdate + default TTL when a SingleResponse
 * has none), never longer than max TTL from now, and never at all when the
 * response is unsuccessful, not fresh now (the library's one freshness rule,
 * dga_ocsp_fresh_at, with no skew and no age limit: the clients apply
 * theirs) or expiring this very second. The response is parsed by OpenSSL
 * only; the proxy does not verify signatures (clients do). OpenSSL's error
 * queue is left empty whatever the outcome.
 */
#include <limits.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "core/utc.h"
#include "dga/ocsp.h"
#include "dga/proxy.h"

static OCSP_BASICRESP *successful_basic(const uint8_t *der, size_t len, dga_err *ret_err)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    if (resp == NULL || p != der + len) {
        OCSP_RESPONSE_free(resp);
        ERR_clear_error();
        *ret_err = DGA_E_BAD_DER;
        return NULL;
    }
    OCSP_BASICRESP *basic = NULL;
    if (OCSP_response_status(resp) == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        basic = OCSP_response_get1_basic(resp);
    }
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    *ret_err = basic != NULL ? DGA_E_OK : DGA_E_PROXY_UNCACHEABLE;
    return basic;
}

/* One SingleResponse's end of validity; false when it is not fresh at now. */
static bool single_expiry(OCSP_SINGLERESP *s, time_t now, int64_t default_ttl, time_t *ret_end,
                          time_t *ret_this)
{
    ASN1_GENERALIZEDTIME *this_upd = NULL, *next_upd = NULL, *rev = NULL;
    int reason = 0;
    struct dga_ocsp_result r = {0};
    if (OCSP_single_get0_status(s, &reason, &rev, &this_upd, &next_upd) < 0 ||
        utc_from_asn1(this_upd, &r.this_update) != DGA_E_OK) {
        ERR_clear_error();
        return false;
    }
    r.next_update_present = next_upd != NULL;
    r.next_update = r.this_update + (time_t)default_ttl;
    if (next_upd != NULL && utc_from_asn1(next_upd, &r.next_update) != DGA_E_OK) {
        return false;
    }
    struct dga_ocsp_check c;
    dga_ocsp_check_init(&c, now, NULL);
    c.skew = 0;    /* never served before its thisUpdate or past its nextUpdate */
    c.max_age = 0; /* the age is each client's own bound (attest --ocsp-max-age) */
    c.unlimited_age = true;
    if (dga_ocsp_fresh_at(&c, &r, NULL) != DGA_E_OK) {
        return false;
    }
    *ret_end = dga_ocsp_usable_until(&c, &r);
    *ret_this = r.this_update;
    return true;
}

dga_err dga_proxy_ocsp_expiry(const uint8_t *der, size_t len, time_t now, int64_t max_ttl,
                              int64_t default_ttl, time_t *ret_expires, time_t *ret_this_update)
{
    if (der == NULL || len == 0 || len > (size_t)LONG_MAX) {
        return DGA_E_BAD_DER;
    }
    dga_err e;
    OCSP_BASICRESP *basic = successful_basic(der, len, &e);
    if (basic == NULL) {
        return e;
    }
    int n = OCSP_resp_count(basic);
    time_t expires = now + (time_t)max_ttl;
    time_t earliest_this = now;
    e = n > 0 ? DGA_E_OK : DGA_E_PROXY_UNCACHEABLE;
    for (int i = 0; i < n && e == DGA_E_OK; i++) {
        time_t end, this_upd;
        if (!single_expiry(OCSP_resp_get0(basic, i), now, default_ttl, &end, &this_upd)) {
            e = DGA_E_PROXY_UNCACHEABLE;
            break;
        }
        expires = end < expires ? end : expires;
        earliest_this = this_upd < earliest_this ? this_upd : earliest_this;
    }
    OCSP_BASICRESP_free(basic);
    if (e != DGA_E_OK) {
        return e;
    }
    if (expires <= now) {
        return DGA_E_PROXY_UNCACHEABLE; /* already expired: never stored, never served */
    }
    *ret_expires = expires;
    if (ret_this_update != NULL) {
        *ret_this_update = earliest_this;
    }
    return DGA_E_OK;
}

/* Every CertID of the request has a SingleResponse (OCSP_resp_find compares them). */
static bool answers_all(OCSP_REQUEST *req, OCSP_BASICRESP *basic)
{
    int n = OCSP_request_onereq_count(req);
    for (int i = 0; i < n; i++) {
        OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
        if (id == NULL || OCSP_resp_find(basic, id, -1) < 0) {
            return false;
        }
    }
    return n > 0;
}

dga_err dga_proxy_ocsp_answers(const uint8_t *req_der, size_t req_len, const uint8_t *resp_der,
                               size_t resp_len)
{
    if (req_der == NULL || resp_der == NULL || req_len == 0 || resp_len == 0 ||
        req_len > (size_t)LONG_MAX || resp_len > (size_t)LONG_MAX) {
        return DGA_E_BAD_DER;
    }
    dga_err e;
    OCSP_BASICRESP *basic = successful_basic(resp_der, resp_len, &e);
    if (basic == NULL) {
        return e;
    }
    const unsigned char *p = req_der;
    OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long)req_len);
    if (req == NULL || p != req_der + req_len) {
        ERR_clear_error();
        e = DGA_E_BAD_DER;
    } else if (!answers_all(req, basic)) {
        e = DGA_E_PROXY_UNCACHEABLE;
    }
    OCSP_REQUEST_free(req);
    OCSP_BASICRESP_free(basic);
    return e;
}
