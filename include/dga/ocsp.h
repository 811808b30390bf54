/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCSP as NVIDIA uses it (RFC 6960; docs/revocation.md), with the freshness
 * rules NVIDIA's SDK lacks: requests with a SHA-1 CertID and a
 * 16-byte nonce, one certificate per request; responses verified against
 * the chain's own trust root at an explicit verification time; per-chain
 * aggregation into the claims v3 OCSP keys. Where the response bytes come
 * from (a responder, a collateral directory, a bundle) is lib/collateral's
 * business (dga/collateral.h). Everything cryptographic is OpenSSL.
 */
#ifndef DGA_OCSP_H
#define DGA_OCSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "dga/error.h"

/* The most bytes an OCSP response may have (NVIDIA's are about 2 KiB). */
#define DGA_OCSP_RESPONSE_MAX (64u << 10)
/* Nonce length OpenSSL (and so libnvat) uses by default. */
#define DGA_OCSP_NONCE_LEN 16
/* Default maximum age of a response (t - thisUpdate). */
#define DGA_OCSP_DEFAULT_MAX_AGE (7L * 24 * 3600)
/* Default clock skew allowed on thisUpdate and nextUpdate. */
#define DGA_OCSP_DEFAULT_SKEW 300L
/* Validity of a response without nextUpdate, as libnvat assumes (thisUpdate + 1 h). */
#define DGA_OCSP_NO_NEXT_UPDATE_TTL 3600L
/* Certificates checked per chain (device: 3, 2, 1; RIM: 2, 1, 0). */
#define DGA_OCSP_CHAIN_CHECKS 3
/* Lowercase hex SHA-256 of the DER CertID, with NUL: the collateral key of a certificate. */
#define DGA_OCSP_KEY_LEN 65

enum dga_ocsp_status {
    DGA_OCSP_STATUS_NONE, /* no valid answer */
    DGA_OCSP_STATUS_GOOD,
    DGA_OCSP_STATUS_REVOKED,
    DGA_OCSP_STATUS_UNKNOWN,
};

/* "good", "revoked", "unknown"; "none" for DGA_OCSP_STATUS_NONE. */
const char *dga_ocsp_status_name(enum dga_ocsp_status s);

/*
 * A chain's revocation status over its checked certificates (the claim
 * x-nvidia-cert-ocsp-status, dga_ocsp_chain_aggregate decides it). Switch on
 * the value; dga_ocsp_chain_status_name gives the stable names for output:
 * "not-checked", "good", "revoked", "unknown", "invalid".
 */
enum dga_ocsp_chain_status {
    DGA_OCSP_CHAIN_NOT_CHECKED, /* no response: OCSP did not run */
    DGA_OCSP_CHAIN_GOOD,        /* every response valid and good */
    DGA_OCSP_CHAIN_REVOKED,     /* a certificate is revoked (whatever the others say) */
    DGA_OCSP_CHAIN_UNKNOWN,     /* every response valid, one "unknown", none revoked */
    DGA_OCSP_CHAIN_INVALID,     /* a response failed verification, none revoked */
};

/* The status's stable name (above); "unknown" outside the enum. */
const char *dga_ocsp_chain_status_name(enum dga_ocsp_chain_status s);

/* ---- requests ---- */

struct dga_ocsp_request; /* opaque */

/*
 * One OCSPRequest for subject (issued by issuer): SHA-1 CertID as NVIDIA's
 * responder expects, and with_nonce a fresh random 16-byte non-critical
 * nonce. Free with dga_ocsp_request_free (NULL is fine).
 */
dga_err dga_ocsp_request_new(X509 *subject, X509 *issuer, bool with_nonce,
                             struct dga_ocsp_request **ret);
/* The request's DER; *ret is malloc'd (caller frees), untouched on failure. */
dga_err dga_ocsp_request_der(const struct dga_ocsp_request *r, uint8_t **ret, size_t *ret_len);
/* Frees r and everything it holds; NULL is fine. */
void dga_ocsp_request_free(struct dga_ocsp_request *r);
/* For _cleanup_: dga_ocsp_request_free(*p), then *p = NULL. */
static inline void dga_ocsp_request_freep(struct dga_ocsp_request **p)
{
    dga_ocsp_request_free(*p);
    *p = NULL;
}

/*
 * The collateral key of a certificate: lowercase hex SHA-256 of the DER of
 * its SHA-1 CertID (issuer name hash, issuer key hash, serial).
 */
dga_err dga_ocsp_cert_key(X509 *subject, X509 *issuer, char out[DGA_OCSP_KEY_LEN]);
/* The same for the (first) SingleResponse of a response's DER, to file it unseen. */
dga_err dga_ocsp_response_key(const uint8_t *der, size_t len, char out[DGA_OCSP_KEY_LEN]);

/* ---- responses ---- */

struct dga_ocsp_check {
    time_t at;                 /* verification time: never the wall clock implicitly */
    long skew;                 /* seconds of clock skew allowed on thisUpdate / nextUpdate */
    long max_age;              /* seconds; t - thisUpdate must not exceed it. 0 = unlimited ... */
    bool unlimited_age;        /* ... only when this is set too (an explicit choice) */
    X509 *root;                /* the chain's trust root: the only trusted certificate */
    STACK_OF(X509) *untrusted; /* further certificates between issuer and root (may be NULL) */
};

/* at, the default skew and maximum age, root; no untrusted certificates. */
void dga_ocsp_check_init(struct dga_ocsp_check *c, time_t at, X509 *root);

struct dga_ocsp_result {
    dga_err err;         /* the first failed check; DGA_E_OK when all passed */
    bool response_valid; /* parse, responseStatus, signature, CertID, window and age passed */
    bool nonce_sent;     /* a nonce was in the request */
    bool nonce_matches;  /* the response echoes it (false when none was sent) */
    enum dga_ocsp_status status; /* NONE unless response_valid */
    char reason[32]; /* OpenSSL's name of the revocation reason ("certificateHold"), or "" */
    time_t this_update, next_update; /* next_update: thisUpdate + 1 h when absent */
    bool next_update_present;
};

/*
 * Verifies one DER OCSPResponse for subject (issued by issuer) at c->at, in
 * this order, each failure its own error:
 *   size (DGA_E_TOO_LARGE over DGA_OCSP_RESPONSE_MAX), DER (OCSP_MALFORMED:
 *   garbage, truncated, trailing bytes), responseStatus successful
 *   (OCSP_RESPONSE_STATUS), signature by the issuer or by a responder the
 *   issuer certified with EKU OCSPSigning, chained to c->root alone at c->at
 *   (OCSP_SIGNATURE), a SingleResponse for the SHA-1 CertID
 *   (OCSP_CERTID), freshness at c->at (dga_ocsp_fresh_at:
 *   OCSP_NOT_YET_VALID, OCSP_EXPIRED, OCSP_TOO_OLD); then, when req carries a
 *   nonce, the response must echo it (OCSP_NONCE: the response stays valid,
 *   nonce_matches is false). req may be NULL (a stored response: no nonce).
 * Always fills *ret (status only when response_valid) and returns ret->err;
 * diag->field says which check failed.
 */
dga_err dga_ocsp_response_check(const uint8_t *der, size_t len, X509 *subject, X509 *issuer,
                                const struct dga_ocsp_request *req, const struct dga_ocsp_check *c,
                                struct dga_ocsp_result *ret, struct dga_diag *diag);

/*
 * The freshness rule, the only one: dga_ocsp_response_check applies it, and
 * so do `collateral status` and the proxy's cache lifetime
 * (dga_proxy_ocsp_expiry). For a response's times r->this_update and
 * r->next_update (thisUpdate + 1 h when absent) at c->at:
 *   thisUpdate <= at + skew (OCSP_NOT_YET_VALID), nextUpdate >= thisUpdate
 *   and nextUpdate >= at - skew (OCSP_EXPIRED), at - thisUpdate <= max_age
 *   (OCSP_TOO_OLD; no skew here: max_age is the caller's own bound).
 * Reads c->at, skew, max_age and unlimited_age only; a negative skew or age,
 * or max_age 0 without unlimited_age, is DGA_E_BAD_ARGUMENT.
 */
dga_err dga_ocsp_fresh_at(const struct dga_ocsp_check *c, const struct dga_ocsp_result *r,
                          struct dga_diag *diag);

/*
 * When a response stops being usable under c: min(nextUpdate, thisUpdate +
 * max_age), or nextUpdate alone when the age is unlimited. The skew is a
 * tolerance around it, not part of it.
 */
time_t dga_ocsp_usable_until(const struct dga_ocsp_check *c, const struct dga_ocsp_result *r);

/*
 * What a stored response says, UNVERIFIED (for listings such as
 * `collateral status`; never for a decision): status, reason and times of
 * its first SingleResponse; response_valid stays false.
 */
dga_err dga_ocsp_response_peek(const uint8_t *der, size_t len, struct dga_ocsp_result *ret);

/* ---- chains ---- */

enum dga_ocsp_chain_kind {
    DGA_OCSP_CHAIN_DEVICE, /* leaf, BROM, ICA, identity CA, root: subjects 3, 2, 1 */
    DGA_OCSP_CHAIN_RIM,    /* signer, ..., root: subjects 2, 1, 0 */
};

/*
 * The subject indices NVIDIA checks in a chain of n certificates (root
 * last), top down as libnvat walks them: device n-2 .. 1, RIM n-2 .. 0, at
 * most DGA_OCSP_CHAIN_CHECKS. Returns how many were written to out.
 */
size_t dga_ocsp_chain_subjects(enum dga_ocsp_chain_kind kind, int n_certs,
                               int out[DGA_OCSP_CHAIN_CHECKS]);

/* Where a response came from (a claim, and the bundle's collateral section). */
enum dga_ocsp_origin {
    DGA_OCSP_ORIGIN_NONE,   /* not checked */
    DGA_OCSP_ORIGIN_ONLINE, /* fetched now with a nonce */
    DGA_OCSP_ORIGIN_CACHE,  /* the collateral directory */
    DGA_OCSP_ORIGIN_BUNDLE, /* responses embedded in an evidence bundle */
};
/* "not-checked", "online", "cache", "bundle". */
const char *dga_ocsp_origin_name(enum dga_ocsp_origin o);

struct dga_ocsp_cert_result {
    int index;         /* subject's position in the chain */
    char subject[128]; /* the subject's CN, for messages */
    char key[DGA_OCSP_KEY_LEN];
    enum dga_ocsp_origin origin;
    struct dga_ocsp_result r;
    struct dga_diag diag;
    uint8_t *der; /* the response used (malloc'd), NULL if none */
    size_t der_len;
};

/* The chain's claims, aggregated over its checked certificates. */
struct dga_ocsp_chain_result {
    bool checked; /* OCSP ran (else the claims say "not-checked") */
    size_t n;
    struct dga_ocsp_cert_result certs[DGA_OCSP_CHAIN_CHECKS];
    dga_err err; /* the first failure, DGA_E_OK if none */
    int failed;  /* index into certs of that failure, -1 if none */
    /*
     * x-nvidia-cert-ocsp-status: GOOD when every response is valid and good;
     * else REVOKED when any certificate is revoked, INVALID when a response
     * failed verification, UNKNOWN; NOT_CHECKED when there was none.
     */
    enum dga_ocsp_chain_status status;
    char reason[32];             /* the first revoked certificate's reason, "" if none */
    bool nonce_matches;          /* AND over the responses */
    bool response_valid;         /* AND over the responses */
    enum dga_ocsp_origin origin; /* of the responses (the weakest if they differ) */
    long max_age;                /* the maximum age the responses were held to; 0 = unlimited */
};

/* Computes status, reason, nonce_matches, response_valid, err and failed from certs[0..n). */
void dga_ocsp_chain_aggregate(struct dga_ocsp_chain_result *c);
/*
 * Frees the stored responses, not c itself (the caller's), and leaves an
 * empty "not checked" result: zero but failed = -1 (no failure). Clearing
 * twice is harmless; NULL is fine.
 */
void dga_ocsp_chain_result_clear(struct dga_ocsp_chain_result *c);
/* For _cleanup_ on a struct variable: dga_ocsp_chain_result_clear(c). */
static inline void dga_ocsp_chain_result_clearp(struct dga_ocsp_chain_result *c)
{
    dga_ocsp_chain_result_clear(c);
}

#endif
