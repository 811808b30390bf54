/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCSP requests and response verification against a private PKI made with
 * the openssl CLI and answered by `openssl ocsp` (tests/ocsp/make_pki.sh).
 * Every case asserts the exact outcome: error name, status, reason, flags.
 * Times are relative to the responses' own thisUpdate, never "now" alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "ocsp_pki.h"
#include "testutil.h"

#include "dga/ocsp.h"
#include "dga/util.h"

static struct pki pki;

static X509 *load_fixture_cert(const char *rel)
{
    size_t len = 0;
    uint8_t *pem = fixture_read(rel, &len);
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    free(pem);
    assert_non_null(x);
    return x;
}

static int group_setup(void **state)
{
    (void)state;
    pki_make(&pki);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pki_free(&pki);
    return 0;
}

/* A request for subject (issued by the intermediate) and its DER. */
struct req {
    struct dga_ocsp_request *r;
    uint8_t *der;
    size_t len;
};

static void req_make(X509 *subject, bool nonce, struct req *q)
{
    assert_int_equal(dga_ocsp_request_new(subject, pki.inter, nonce, &q->r), DGA_E_OK);
    assert_int_equal(dga_ocsp_request_der(q->r, &q->der, &q->len), DGA_E_OK);
}

static void req_free(struct req *q)
{
    dga_ocsp_request_free(q->r);
    free(q->der);
}

/* Default checks at time `at`, the leaf's chain: inter untrusted, root trusted. */
static struct dga_ocsp_check check_at(time_t at)
{
    struct dga_ocsp_check c;
    dga_ocsp_check_init(&c, at, pki.root);
    c.untrusted = pki.above_leaf;
    return c;
}

/* The response's own thisUpdate (so times in tests are relative to it). */
static time_t this_update_of(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    assert_non_null(resp);
    OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
    assert_non_null(bs);
    ASN1_GENERALIZEDTIME *this_update = NULL;
    OCSP_single_get0_status(OCSP_resp_get0(bs, 0), NULL, NULL, &this_update, NULL);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    assert_int_equal(ASN1_TIME_to_tm(this_update, &tm), 1);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return timegm(&tm);
}

/* Answer a fresh request for subject with signer and args, then check it at thisUpdate + delta. */
struct outcome {
    dga_err err;
    struct dga_ocsp_result r;
    struct dga_diag diag;
    time_t this_update;
};

static struct outcome answer_and_check(X509 *subject, bool nonce, const char *signer,
                                       const char *args, long delta)
{
    struct req q = {0};
    struct outcome o;
    memset(&o, 0, sizeof o);
    req_make(subject, nonce, &q);
    size_t len = 0;
    uint8_t *resp = pki_respond(&pki, q.der, q.len, signer, args, &len);
    o.this_update = this_update_of(resp, len);
    struct dga_ocsp_check c = check_at(o.this_update + delta);
    o.err = dga_ocsp_response_check(resp, len, subject, pki.inter, q.r, &c, &o.r, &o.diag);
    assert_int_equal(o.err, o.r.err);
    free(resp);
    req_free(&q);
    return o;
}

/* ---------------------------------------------------------------- statuses */

static void test_good(void **state)
{
    (void)state;
    struct outcome o = answer_and_check(pki.leaf, true, "ocsp", "-ndays 1", 10);
    assert_int_equal(o.err, DGA_E_OK);
    assert_true(o.r.response_valid);
    assert_true(o.r.nonce_sent);
    assert_true(o.r.nonce_matches);
    assert_int_equal(o.r.status, DGA_OCSP_STATUS_GOOD);
    assert_string_equal(dga_ocsp_status_name(o.r.status), "good");
    assert_string_equal(o.r.reason, "");
    assert_true(o.r.next_update_present);
    assert_int_equal(o.r.next_update - o.r.this_update, 86400);
}

/* The issuer itself signing, with no certificates in the response: still authorised. */
static void test_good_signed_by_issuer_no_certs(void **state)
{
    (void)state;
    struct outcome o = answer_and_check(pki.leaf, true, "inter", "-ndays 1 -resp_no_certs", 0);
    assert_int_equal(o.err, DGA_E_OK);
    assert_int_equal(o.r.status, DGA_OCSP_STATUS_GOOD);
}

static void test_revoked(void **state)
{
    (void)state;
    struct outcome o = answer_and_check(pki.revoked, true, "ocsp", "-ndays 1", 0);
    assert_int_equal(o.err, DGA_E_OK);
    assert_true(o.r.response_valid);
    assert_int_equal(o.r.status, DGA_OCSP_STATUS_REVOKED);
    assert_string_equal(o.r.reason, "keyCompromise");
}

static void test_certificate_hold(void **state)
{
    (void)state;
    struct outcome o = answer_and_check(pki.held, true, "ocsp", "-ndays 1", 0);
    assert_int_equal(o.err, DGA_E_OK);
    assert_int_equal(o.r.status, DGA_OCSP_STATUS_REVOKED);
    assert_string_equal(o.r.reason, "certificateHold");
}

static void test_unknown(void **state)
{
    (void)state;
    struct outcome o = answer_and_check(pki.unknown, true, "ocsp", "-ndays 1", 0);
    assert_int_equal(o.err, DGA_E_OK);
    assert_int_equal(o.r.status, DGA_OCSP_STATUS_UNKNOWN);
    assert_string_equal(dga_ocsp_status_name(o.r.status), "unknown");
}

/* ---------------------------------------------------------------- nonce */

/* The answer to one request checked against another (same CertID, other nonce). */
static void test_nonce_mismatch(void **state)
{
    (void)state;
    struct req asked = {0}, ours = {0};
    req_make(pki.leaf, true, &asked);
    req_make(pki.leaf, true, &ours);
    size_t len = 0;
    uint8_t *resp = pki_respond(&pki, asked.der, asked.len, "ocsp", "-ndays 1", &len);
    struct dga_ocsp_check c = check_at(this_update_of(resp, len));
    struct dga_ocsp_result r;
    struct dga_diag diag = {0};
    assert_int_equal(dga_ocsp_response_check(resp, len, pki.leaf, pki.inter, ours.r, &c, &r, &diag),
                     DGA_E_OCSP_NONCE);
    assert_true(r.response_valid); /* signed and fresh: only the nonce fails */
    assert_false(r.nonce_matches);
    assert_string_equal(diag.field, "nonce");
    /* The same response against the request it answers matches. */
    assert_int_equal(dga_ocsp_response_check(resp, len, pki.leaf, pki.inter, asked.r, &c, &r, NULL),
                     DGA_E_OK);
    assert_true(r.nonce_matches);
    free(resp);
    req_free(&asked);
    req_free(&ours);
}

/* A response without a nonce when we sent one: not a match (libnvat's -1 -> false). */
static void test_nonce_absent(void **state)
{
    (void)state;
    struct req plain = {0}, ours = {0};
    req_make(pki.leaf, false, &plain);
    req_make(pki.leaf, true, &ours);
    size_t len = 0;
    uint8_t *resp = pki_respond(&pki, plain.der, plain.len, "ocsp", "-ndays 1", &len);
    struct dga_ocsp_check c = check_at(this_update_of(resp, len));
    struct dga_ocsp_result r;
    assert_int_equal(dga_ocsp_response_check(resp, len, pki.leaf, pki.inter, ours.r, &c, &r, NULL),
                     DGA_E_OCSP_NONCE);
    /* A stored response checked without a request: valid, no nonce claimed. */
    assert_int_equal(dga_ocsp_response_check(resp, len, pki.leaf, pki.inter, NULL, &c, &r, NULL),
                     DGA_E_OK);
    assert_false(r.nonce_sent);
    assert_false(r.nonce_matches);
    assert_int_equal(r.status, DGA_OCSP_STATUS_GOOD);
    free(resp);
    req_free(&plain);
    req_free(&ours);
}

/* ---------------------------------------------------------------- signers */

static void test_unauthorised_signer(void **state)
{
    (void)state;
    /* Issued by the issuer, but without EKU OCSPSigning. */
    struct outcome o = answer_and_check(pki.leaf, true, "rogue", "-ndays 1", 0);
    assert_int_equal(o.err, DGA_E_OCSP_SIGNATURE);
    assert_false(o.r.response_valid);
    assert_int_equal(o.r.status, DGA_OCSP_STATUS_NONE);
    assert_string_equal(o.diag.field, "responder signature");
    /* EKU OCSPSigning, but issued by the root, not by the certificate's issuer. */
    o = answer_and_check(pki.leaf, true, "other", "-ndays 1", 0);
    assert_int_equal(o.err, DGA_E_OCSP_SIGNATURE);
    /* A revoked answer from an unauthorised signer is no answer either. */
    o = answer_and_check(pki.revoked, true, "rogue", "-ndays 1", 0);
    assert_int_equal(o.err, DGA_E_OCSP_SIGNATURE);
    assert_int_equal(o.r.status, DGA_OCSP_STATUS_NONE);
}

/* A delegated responder whose certificate is not in the response cannot be found. */
static void test_delegated_without_certs(void **state)
{
    (void)state;
    struct outcome o = answer_and_check(pki.leaf, true, "ocsp", "-ndays 1 -resp_no_certs", 0);
    assert_int_equal(o.err, DGA_E_OCSP_SIGNATURE);
}

/* Another trust root: the responder's chain does not reach it. */
static void test_wrong_root(void **state)
{
    (void)state;
    struct req q = {0};
    req_make(pki.leaf, true, &q);
    size_t len = 0;
    uint8_t *resp = pki_respond(&pki, q.der, q.len, "ocsp", "-ndays 1", &len);
    struct dga_ocsp_check c = check_at(this_update_of(resp, len));
    c.root = pki.inter; /* not self-signed: no chain can be completed to it */
    struct dga_ocsp_result r;
    assert_int_equal(dga_ocsp_response_check(resp, len, pki.leaf, pki.inter, q.r, &c, &r, NULL),
                     DGA_E_OCSP_SIGNATURE);
    free(resp);
    req_free(&q);
}

/*
 * The responder's chain is checked at the verification time, not the wall
 * clock: in 2019 the PKI (valid from 2020) is not yet valid, so the
 * signature check fails before the thisUpdate check would.
 */
static void test_signer_chain_at_verification_time(void **state)
{
    (void)state;
    struct req q = {0};
    req_make(pki.leaf, true, &q);
    size_t len = 0;
    uint8_t *resp = pki_respond(&pki, q.der, q.len, "ocsp", "-ndays 1", &len);
    time_t t2019 = 0;
    assert_int_equal(dga_time_parse("2019-06-01T00:00:00Z", &t2019), DGA_E_OK);
    struct dga_ocsp_check c = check_at(t2019);
    struct dga_ocsp_result r;
    assert_int_equal(dga_ocsp_response_check(resp, len, pki.leaf, pki.inter, q.r, &c, &r, NULL),
                     DGA_E_OCSP_SIGNATURE);
    free(resp);
    req_free(&q);
}

/* A response for another certificate of the same issuer. */
static void test_other_certificate(void **state)
{
    (void)state;
    struct req q = {0};
    req_make(pki.revoked, false, &q);
    size_t len = 0;
    uint8_t *resp = pki_respond(&pki, q.der, q.len, "ocsp", "-ndays 1", &len);
    struct dga_ocsp_check c = check_at(this_update_of(resp, len));
    struct dga_ocsp_result r;
    struct dga_diag diag = {0};
    assert_int_equal(dga_ocsp_response_check(resp, len, pki.leaf, pki.inter, NULL, &c, &r, &diag),
                     DGA_E_OCSP_CERTID);
    assert_string_equal(diag.field, "CertID");
    assert_int_equal(r.status, DGA_OCSP_STATUS_NONE);
    free(resp);
    req_free(&q);
}

/* ---------------------------------------------------------------- freshness */

static void test_expired(void **state)
{
    (void)state;
    /* nextUpdate = thisUpdate + 10 min; checked 1 h later (skew 5 min). */
    struct outcome o = answer_and_check(pki.leaf, true, "ocsp", "-nmin 10", 3600);
    assert_int_equal(o.err, DGA_E_OCSP_EXPIRED);
    assert_false(o.r.response_valid);
    assert_int_equal(o.r.status, DGA_OCSP_STATUS_NONE);
    assert_string_equal(o.diag.field, "nextUpdate");
    /* Within the skew after nextUpdate: still valid. */
    o = answer_and_check(pki.leaf, true, "ocsp", "-nmin 10", 600 + DGA_OCSP_DEFAULT_SKEW - 5);
    assert_int_equal(o.err, DGA_E_OK);
    /* Just past the skew: expired. */
    o = answer_and_check(pki.leaf, true, "ocsp", "-nmin 10", 600 + DGA_OCSP_DEFAULT_SKEW + 5);
    assert_int_equal(o.err, DGA_E_OCSP_EXPIRED);
}

static void test_not_yet_valid(void **state)
{
    (void)state;
    struct outcome o = answer_and_check(pki.leaf, true, "ocsp", "-ndays 1", -3600);
    assert_int_equal(o.err, DGA_E_OCSP_NOT_YET_VALID);
    assert_string_equal(o.diag.field, "thisUpdate");
    /* Inside the skew: accepted. */
    o = answer_and_check(pki.leaf, true, "ocsp", "-ndays 1", -(DGA_OCSP_DEFAULT_SKEW - 5));
    assert_int_equal(o.err, DGA_E_OK);
    o = answer_and_check(pki.leaf, true, "ocsp", "-ndays 1", -(DGA_OCSP_DEFAULT_SKEW + 5));
    assert_int_equal(o.err, DGA_E_OCSP_NOT_YET_VALID);
}

static void test_older_than_max_age(void **state)
{
    (void)state;
    /* nextUpdate in 30 days, but 8 days old: past the default 7-day maximum age. */
    struct req q = {0};
    req_make(pki.leaf, false, &q);
    size_t len = 0;
    uint8_t *resp = pki_respond(&pki, q.der, q.len, "ocsp", "-ndays 30", &len);
    time_t t0 = this_update_of(resp, len);
    struct dga_ocsp_check c = check_at(t0 + 8 * 86400);
    struct dga_ocsp_result r;
    struct dga_diag diag = {0};
    assert_int_equal(dga_ocsp_response_check(resp, len, pki.leaf, pki.inter, NULL, &c, &r, &diag),
                     DGA_E_OCSP_TOO_OLD);
    assert_false(r.response_valid);
    /* A shorter maximum age is honoured too. */
    c = check_at(t0 + 3600);
    c.max_age = 1800;
    assert_int_equal(dga_ocsp_response_check(resp, len, pki.leaf, pki.inter, NULL, &c, &r, NULL),
                     DGA_E_OCSP_TOO_OLD);
    /* 0 means unlimited only when chosen explicitly ... */
    c = check_at(t0 + 8 * 86400);
    c.max_age = 0;
    assert_int_equal(dga_ocsp_response_check(resp, len, pki.leaf, pki.inter, NULL, &c, &r, &diag),
                     DGA_E_BAD_ARGUMENT);
    c.unlimited_age = true;
    assert_int_equal(dga_ocsp_response_check(resp, len, pki.leaf, pki.inter, NULL, &c, &r, NULL),
                     DGA_E_OK);
    /* ... and nextUpdate still bounds it. */
    c.at = t0 + 31 * 86400;
    assert_int_equal(dga_ocsp_response_check(resp, len, pki.leaf, pki.inter, NULL, &c, &r, NULL),
                     DGA_E_OCSP_EXPIRED);
    free(resp);
    req_free(&q);
}

/* Without nextUpdate the response is valid for thisUpdate + 1 h (libnvat's default). */
static void test_missing_next_update(void **state)
{
    (void)state;
    struct outcome o = answer_and_check(pki.leaf, true, "ocsp", "", 1800);
    assert_int_equal(o.err, DGA_E_OK);
    assert_false(o.r.next_update_present);
    assert_int_equal(o.r.next_update - o.r.this_update, DGA_OCSP_NO_NEXT_UPDATE_TTL);
    o = answer_and_check(pki.leaf, true, "ocsp", "", 2 * 3600);
    assert_int_equal(o.err, DGA_E_OCSP_EXPIRED);
    assert_string_equal(o.diag.field, "thisUpdate + 1h");
}

/* ---------------------------------------------------------------- malformed bytes */

static void test_garbage_and_truncated(void **state)
{
    (void)state;
    struct req q = {0};
    req_make(pki.leaf, true, &q);
    size_t len = 0;
    uint8_t *resp = pki_respond(&pki, q.der, q.len, "ocsp", "-ndays 1", &len);
    struct dga_ocsp_check c = check_at(this_update_of(resp, len));
    struct dga_ocsp_result r;
    struct dga_diag diag = {0};
    static const uint8_t garbage[] = "this is not DER at all";
    assert_int_equal(
        dga_ocsp_response_check(garbage, sizeof garbage, pki.leaf, pki.inter, q.r, &c, &r, &diag),
        DGA_E_OCSP_MALFORMED);
    assert_false(r.response_valid);
    assert_int_equal(dga_ocsp_response_check(resp, 0, pki.leaf, pki.inter, q.r, &c, &r, NULL),
                     DGA_E_OCSP_MALFORMED);
    /* Every truncation fails as malformed, never as anything better. */
    for (size_t cut = 1; cut < len; cut++) {
        dga_err e = dga_ocsp_response_check(resp, cut, pki.leaf, pki.inter, q.r, &c, &r, NULL);
        if (e != DGA_E_OCSP_MALFORMED) {
            fail_msg("truncated at %zu of %zu: %s", cut, len, dga_err_name(e));
        }
    }
    /* Trailing bytes after a complete response. */
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, resp, len);
    longer[len] = 0;
    assert_int_equal(
        dga_ocsp_response_check(longer, len + 1, pki.leaf, pki.inter, q.r, &c, &r, &diag),
        DGA_E_OCSP_MALFORMED);
    assert_string_equal(diag.field, "trailing bytes");
    /* A flipped byte in the signature: still DER, no longer signed. */
    memcpy(longer, resp, len);
    longer[len - 3] ^= 0x01;
    dga_err e = dga_ocsp_response_check(longer, len, pki.leaf, pki.inter, q.r, &c, &r, NULL);
    assert_true(e == DGA_E_OCSP_SIGNATURE || e == DGA_E_OCSP_MALFORMED);
    assert_false(r.response_valid);
    free(longer);
    free(resp);
    req_free(&q);
}

static void test_oversized(void **state)
{
    (void)state;
    size_t n = DGA_OCSP_RESPONSE_MAX + 1;
    uint8_t *big = calloc(1, n);
    assert_non_null(big);
    struct dga_ocsp_check c = check_at(0);
    struct dga_ocsp_result r;
    struct dga_diag diag = {0};
    assert_int_equal(dga_ocsp_response_check(big, n, pki.leaf, pki.inter, NULL, &c, &r, &diag),
                     DGA_E_TOO_LARGE);
    assert_int_equal(diag.offset, n);
    free(big);
}

/* OCSPResponse {responseStatus tryLater} and {unauthorized}: no body to verify. */
static void test_response_status(void **state)
{
    (void)state;
    static const uint8_t try_later[] = {0x30, 0x03, 0x0a, 0x01, 0x03};
    static const uint8_t unauthorized[] = {0x30, 0x03, 0x0a, 0x01, 0x06};
    struct dga_ocsp_check c = check_at(0);
    struct dga_ocsp_result r;
    struct dga_diag diag = {0};
    assert_int_equal(dga_ocsp_response_check(try_later, sizeof try_later, pki.leaf, pki.inter, NULL,
                                             &c, &r, &diag),
                     DGA_E_OCSP_RESPONSE_STATUS);
    assert_string_equal(diag.field, "trylater");
    assert_int_equal(dga_ocsp_response_check(unauthorized, sizeof unauthorized, pki.leaf, pki.inter,
                                             NULL, &c, &r, &diag),
                     DGA_E_OCSP_RESPONSE_STATUS);
    assert_string_equal(diag.field, "unauthorized");
}

/* ---------------------------------------------------------------- keys and requests */

static void test_request_and_keys(void **state)
{
    (void)state;
    struct req a = {0}, b = {0};
    req_make(pki.leaf, true, &a);
    req_make(pki.leaf, true, &b);
    /* Two requests for one certificate differ only by their random nonce. */
    assert_int_equal(a.len, b.len);
    assert_memory_not_equal(a.der, b.der, a.len);
    const unsigned char *p = a.der;
    OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long)a.len);
    assert_non_null(req);
    assert_int_equal(OCSP_request_onereq_count(req), 1);
    OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0));
    ASN1_OBJECT *md = NULL;
    assert_int_equal(OCSP_id_get0_info(NULL, &md, NULL, NULL, id), 1);
    assert_int_equal(OBJ_obj2nid(md), NID_sha1);
    int at = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
    assert_true(at >= 0);
    X509_EXTENSION *ext = OCSP_REQUEST_get_ext(req, at);
    assert_false(X509_EXTENSION_get_critical(ext));
    /* OCTET STRING { 16 random bytes } */
    assert_int_equal(ASN1_STRING_length(X509_EXTENSION_get_data(ext)), 2 + DGA_OCSP_NONCE_LEN);
    OCSP_REQUEST_free(req);

    /* The collateral key of a certificate equals the key read back from its response. */
    char k1[DGA_OCSP_KEY_LEN], k2[DGA_OCSP_KEY_LEN], k3[DGA_OCSP_KEY_LEN];
    assert_int_equal(dga_ocsp_cert_key(pki.leaf, pki.inter, k1), DGA_E_OK);
    size_t len = 0;
    uint8_t *resp = pki_respond(&pki, a.der, a.len, "ocsp", "-ndays 1", &len);
    assert_int_equal(dga_ocsp_response_key(resp, len, k2), DGA_E_OK);
    assert_string_equal(k1, k2);
    assert_int_equal(strlen(k1), 64);
    assert_int_equal(dga_ocsp_cert_key(pki.revoked, pki.inter, k3), DGA_E_OK);
    assert_string_not_equal(k1, k3);
    assert_int_equal(dga_ocsp_response_key(resp, len / 2, k2), DGA_E_OCSP_MALFORMED);
    free(resp);
    req_free(&a);
    req_free(&b);
}

/* ---------------------------------------------------------------- chains */

static void test_chain_subjects(void **state)
{
    (void)state;
    int s[DGA_OCSP_CHAIN_CHECKS];
    assert_int_equal(dga_ocsp_chain_subjects(DGA_OCSP_CHAIN_DEVICE, 5, s), 3);
    assert_int_equal(s[0], 3);
    assert_int_equal(s[1], 2);
    assert_int_equal(s[2], 1);
    assert_int_equal(dga_ocsp_chain_subjects(DGA_OCSP_CHAIN_RIM, 4, s), 3);
    assert_int_equal(s[0], 2);
    assert_int_equal(s[1], 1);
    assert_int_equal(s[2], 0);
    assert_int_equal(dga_ocsp_chain_subjects(DGA_OCSP_CHAIN_RIM, 3, s), 2);
    assert_int_equal(s[0], 1);
    assert_int_equal(s[1], 0);
    assert_int_equal(dga_ocsp_chain_subjects(DGA_OCSP_CHAIN_DEVICE, 1, s), 0);
}

static void cert_ok(struct dga_ocsp_cert_result *x, enum dga_ocsp_status st, const char *reason)
{
    memset(x, 0, sizeof *x);
    x->origin = DGA_OCSP_ORIGIN_ONLINE;
    x->r.response_valid = true;
    x->r.nonce_sent = x->r.nonce_matches = true;
    x->r.status = st;
    snprintf(x->r.reason, sizeof x->r.reason, "%s", reason);
}

/* The chain statuses' stable names, as the claims and `collateral status` print them. */
static void test_chain_status_names(void **state)
{
    (void)state;
    assert_string_equal(dga_ocsp_chain_status_name(DGA_OCSP_CHAIN_NOT_CHECKED), "not-checked");
    assert_string_equal(dga_ocsp_chain_status_name(DGA_OCSP_CHAIN_GOOD), "good");
    assert_string_equal(dga_ocsp_chain_status_name(DGA_OCSP_CHAIN_REVOKED), "revoked");
    assert_string_equal(dga_ocsp_chain_status_name(DGA_OCSP_CHAIN_UNKNOWN), "unknown");
    assert_string_equal(dga_ocsp_chain_status_name(DGA_OCSP_CHAIN_INVALID), "invalid");
    assert_string_equal(dga_ocsp_chain_status_name((enum dga_ocsp_chain_status)99), "unknown");
}

static void test_chain_aggregate(void **state)
{
    (void)state;
    struct dga_ocsp_chain_result c;
    memset(&c, 0, sizeof c);
    dga_ocsp_chain_aggregate(&c);
    assert_string_equal(dga_ocsp_chain_status_name(c.status), "not-checked");
    assert_false(c.response_valid);
    assert_false(c.nonce_matches);

    c.checked = true;
    c.n = 3;
    for (int i = 0; i < 3; i++) {
        cert_ok(&c.certs[i], DGA_OCSP_STATUS_GOOD, "");
    }
    dga_ocsp_chain_aggregate(&c);
    assert_string_equal(dga_ocsp_chain_status_name(c.status), "good");
    assert_true(c.response_valid);
    assert_true(c.nonce_matches);
    assert_int_equal(c.err, DGA_E_OK);
    assert_int_equal(c.failed, -1);
    assert_int_equal(c.origin, DGA_OCSP_ORIGIN_ONLINE);

    /* The first revoked certificate's reason, even when it is the first processed. */
    cert_ok(&c.certs[0], DGA_OCSP_STATUS_REVOKED, "certificateHold");
    cert_ok(&c.certs[2], DGA_OCSP_STATUS_UNKNOWN, "");
    dga_ocsp_chain_aggregate(&c);
    assert_string_equal(dga_ocsp_chain_status_name(c.status), "revoked");
    assert_string_equal(c.reason, "certificateHold");

    /* An invalid response makes the chain "invalid" (never "good"), a revocation still shows. */
    cert_ok(&c.certs[0], DGA_OCSP_STATUS_GOOD, "");
    c.certs[1].r.response_valid = false;
    c.certs[1].r.status = DGA_OCSP_STATUS_NONE;
    c.certs[1].r.err = DGA_E_OCSP_EXPIRED;
    dga_ocsp_chain_aggregate(&c);
    assert_string_equal(dga_ocsp_chain_status_name(c.status), "invalid");
    assert_false(c.response_valid);
    assert_int_equal(c.err, DGA_E_OCSP_EXPIRED);
    assert_int_equal(c.failed, 1);
    cert_ok(&c.certs[2], DGA_OCSP_STATUS_REVOKED, "keyCompromise");
    dga_ocsp_chain_aggregate(&c);
    assert_string_equal(dga_ocsp_chain_status_name(c.status), "revoked");
    assert_string_equal(c.reason, "keyCompromise");

    /* Nonces AND; a stored response makes the chain's origin "cache". */
    for (int i = 0; i < 3; i++) {
        cert_ok(&c.certs[i], DGA_OCSP_STATUS_GOOD, "");
    }
    c.certs[2].r.nonce_matches = false;
    c.certs[2].origin = DGA_OCSP_ORIGIN_CACHE;
    dga_ocsp_chain_aggregate(&c);
    assert_string_equal(dga_ocsp_chain_status_name(c.status), "good");
    assert_false(c.nonce_matches);
    assert_true(c.response_valid);
    assert_int_equal(c.origin, DGA_OCSP_ORIGIN_CACHE);
    assert_string_equal(dga_ocsp_origin_name(c.origin), "cache");
}

/* ---------------------------------------------------------------- stored fixtures */

/* The committed responses verify at a fixed time with no openssl run (and are the fuzz seeds). */
static void test_fixture_responses(void **state)
{
    (void)state;
    X509 *root = load_fixture_cert("ocsp/root.pem");
    X509 *inter = load_fixture_cert("ocsp/inter.pem");
    X509 *leaf = load_fixture_cert("ocsp/leaf.pem");
    STACK_OF(X509) *up = sk_X509_new_null();
    assert_non_null(up);
    sk_X509_push(up, inter);
    time_t t = 0;
    assert_int_equal(dga_time_parse("2026-11-28T09:30:00Z", &t), DGA_E_OK);
    struct dga_ocsp_check c;
    dga_ocsp_check_init(&c, t, root);
    c.untrusted = up;
    struct dga_ocsp_result r;
    size_t len = 0;
    uint8_t *der = fixture_read("ocsp/leaf.der", &len);
    assert_int_equal(dga_ocsp_response_check(der, len, leaf, inter, NULL, &c, &r, NULL), DGA_E_OK);
    assert_int_equal(r.status, DGA_OCSP_STATUS_GOOD);
    free(der);
    der = fixture_read("ocsp/leaf_by_issuer_no_certs_no_next_update.der", &len);
    assert_int_equal(dga_ocsp_response_check(der, len, leaf, inter, NULL, &c, &r, NULL), DGA_E_OK);
    c.at = t + 3600; /* thisUpdate 09:00:31 + 1 h + 300 s skew < 10:30 */
    assert_int_equal(dga_ocsp_response_check(der, len, leaf, inter, NULL, &c, &r, NULL),
                     DGA_E_OCSP_EXPIRED);
    free(der);
    c.at = t;
    der = fixture_read("ocsp/revoked.der", &len);
    assert_int_equal(dga_ocsp_response_check(der, len, leaf, inter, NULL, &c, &r, NULL),
                     DGA_E_OCSP_CERTID);
    free(der);
    der = fixture_read("ocsp/try_later.der", &len);
    assert_int_equal(dga_ocsp_response_check(der, len, leaf, inter, NULL, &c, &r, NULL),
                     DGA_E_OCSP_RESPONSE_STATUS);
    free(der);
    sk_X509_free(up);
    X509_free(root);
    X509_free(inter);
    X509_free(leaf);
}

/* The one freshness rule on bare times, its bounds exact, and its "usable until". */
static void test_fresh_at(void **state)
{
    (void)state;
    const time_t T = 1795856431; /* thisUpdate */
    struct dga_ocsp_check c;
    dga_ocsp_check_init(&c, T, NULL);
    struct dga_ocsp_result r = {
        .this_update = T, .next_update = T + 10 * 86400, .next_update_present = true};
    struct dga_diag diag = {0};
    const long max = DGA_OCSP_DEFAULT_MAX_AGE, skew = DGA_OCSP_DEFAULT_SKEW;
    assert_int_equal(dga_ocsp_usable_until(&c, &r), T + max);
    c.at = T + max;
    assert_int_equal(dga_ocsp_fresh_at(&c, &r, &diag), DGA_E_OK);
    /* The maximum age has no skew: one second over is too old. */
    c.at = T + max + 1;
    assert_int_equal(dga_ocsp_fresh_at(&c, &r, &diag), DGA_E_OCSP_TOO_OLD);
    assert_string_equal(diag.field, "thisUpdate");
    c.at = T - skew;
    assert_int_equal(dga_ocsp_fresh_at(&c, &r, &diag), DGA_E_OK);
    c.at = T - skew - 1;
    assert_int_equal(dga_ocsp_fresh_at(&c, &r, &diag), DGA_E_OCSP_NOT_YET_VALID);
    /* nextUpdate has the skew; unlimited age leaves it the only end. */
    c.max_age = 0;
    c.unlimited_age = true;
    assert_int_equal(dga_ocsp_usable_until(&c, &r), T + 10 * 86400);
    c.at = T + 10 * 86400 + skew;
    assert_int_equal(dga_ocsp_fresh_at(&c, &r, &diag), DGA_E_OK);
    c.at = T + 10 * 86400 + skew + 1;
    assert_int_equal(dga_ocsp_fresh_at(&c, &r, &diag), DGA_E_OCSP_EXPIRED);
    assert_string_equal(diag.field, "nextUpdate");
    /* nextUpdate before thisUpdate: never fresh, even inside both skews. */
    r.next_update = T - 60;
    c.at = T;
    assert_int_equal(dga_ocsp_fresh_at(&c, &r, &diag), DGA_E_OCSP_EXPIRED);
    assert_string_equal(diag.field, "nextUpdate before thisUpdate");
    /* Options as dga_ocsp_response_check takes them. */
    c.unlimited_age = false;
    assert_int_equal(dga_ocsp_fresh_at(&c, &r, &diag), DGA_E_BAD_ARGUMENT);
    c.max_age = max;
    c.skew = -1;
    assert_int_equal(dga_ocsp_fresh_at(&c, &r, &diag), DGA_E_BAD_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_good_signed_by_issuer_no_certs),
        cmocka_unit_test(test_revoked),
        cmocka_unit_test(test_certificate_hold),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_nonce_mismatch),
        cmocka_unit_test(test_nonce_absent),
        cmocka_unit_test(test_unauthorised_signer),
        cmocka_unit_test(test_delegated_without_certs),
        cmocka_unit_test(test_wrong_root),
        cmocka_unit_test(test_signer_chain_at_verification_time),
        cmocka_unit_test(test_other_certificate),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_not_yet_valid),
        cmocka_unit_test(test_older_than_max_age),
        cmocka_unit_test(test_fresh_at),
        cmocka_unit_test(test_missing_next_update),
        cmocka_unit_test(test_garbage_and_truncated),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_response_status),
        cmocka_unit_test(test_request_and_keys),
        cmocka_unit_test(test_chain_subjects),
        cmocka_unit_test(test_chain_status_names),
        cmocka_unit_test(test_chain_aggregate),
        cmocka_unit_test(test_fixture_responses),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
