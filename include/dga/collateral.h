/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Collateral: where OCSP responses come from, chosen explicitly
 * (docs/revocation.md): a responder over HTTP (libcurl, with timeouts, a body
 * cap and bounded retries), a collateral directory of responses keyed by
 * CertID (written atomically), or responses embedded in an evidence bundle
 * for re-appraisal. Every response is verified by dga/ocsp.h whatever its
 * source; no source and no fresh stored response is a named failure. Also
 * Intel TDX DCAP collateral: fetched from a PCCS, and its directory keyed by
 * a quote's platform (docs/quote.md).
 */
#ifndef DGA_COLLATERAL_H
#define DGA_COLLATERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "dga/error.h"
#include "dga/ocsp.h"
#include "dga/quote.h"

/* NVIDIA's OCSP responder (docs/formats.md §10). */
#define DGA_OCSP_DEFAULT_URL "https://ocsp.ndis.nvidia.com"

/* ---- HTTP ---- */

struct dga_http_options {
    long connect_timeout_ms; /* per attempt; default 5000 */
    long total_timeout_ms;   /* per attempt; default 30000 */
    size_t max_body;         /* response body cap; default DGA_OCSP_RESPONSE_MAX */
    unsigned max_attempts;   /* 1..10; default 4 (three retries) */
    long backoff_ms;         /* before the first retry, doubling, at most 2000; default 100 */
};
void dga_http_options_init(struct dga_http_options *o);

/*
 * Loads libcurl now (once per process, thread-safe) rather than at the first
 * request: a server checks at start that it can fetch. DGA_E_RUNTIME_LIBRARY
 * (diag->field names the file and what failed) when it cannot be loaded or
 * initialized.
 */
dga_err dga_http_load(struct dga_diag *diag);

struct dga_http_info {
    long status;       /* last HTTP status, 0 if none was received */
    unsigned attempts; /* how many requests were made */
    char error[128];   /* libcurl's message for the last transport failure, or "" (or
                        * which library failed to load, with DGA_E_RUNTIME_LIBRARY) */
};

/* One request: body NULL is a GET, else a POST of body_len bytes. */
struct dga_http_request {
    const char *url;     /* http:// or https:// (libcurl refuses any other scheme) */
    const uint8_t *body; /* NULL: GET */
    size_t body_len;
    const char *content_type;     /* of body; optional */
    const char *accept;           /* required */
    const char *authorization;    /* optional header value, e.g. "Bearer <key>"; never logged */
    bool authorization_over_http; /* send authorization to an http:// URL too (else refused) */
    const char *user_agent;       /* optional; libcurl sends none otherwise */
    const char *unix_socket;      /* optional: connect to this Unix socket (the `rpc` client) */
    /*
     * Optional: names of response headers to keep (case-insensitive), NULL-terminated, at
     * most DGA_HTTP_CAPTURE_MAX. Each value comes back in dga_http_response.captured.
     */
    const char *const *capture;
};

#define DGA_HTTP_CAPTURE_MAX 4
#define DGA_HTTP_HEADER_VALUE_MAX (64u << 10) /* one captured header value */

#define DGA_HTTP_CONTENT_TYPE_MAX 128

struct dga_http_response {
    long status;   /* the final attempt's HTTP status */
    uint8_t *body; /* malloc'd, NUL-terminated (not counted in len) */
    size_t len;
    /* the answer's Content-Type, or "" (none, too long, or with CR/LF) */
    char content_type[DGA_HTTP_CONTENT_TYPE_MAX];
    /* the value of request.capture[i] (malloc'd, without surrounding blanks), NULL if absent */
    char *captured[DGA_HTTP_CAPTURE_MAX];
};

/*
 * The one HTTP exchange every online fetch goes through (http or https only,
 * no redirects, o's timeouts and body cap). Retries, with backoff, on
 * connection failures and timeouts and on HTTP 408, 429, 500, 502, 503,
 * 504, up to o->max_attempts (1: a single attempt). DGA_E_OK with whatever
 * status the final attempt got, and its body (*ret to free with
 * dga_http_response_clear). DGA_E_COLLATERAL_UNREACHABLE when no attempt got
 * an answer, DGA_E_TOO_LARGE past o->max_body (not retried),
 * DGA_E_BAD_ARGUMENT for a header value with CR or LF or too long, or an
 * authorization for a URL that is not https:// without
 * authorization_over_http (nothing is sent), DGA_E_RUNTIME_LIBRARY
 * (info->error naming the file) when libcurl cannot be loaded,
 * DGA_E_COLLATERAL_HEADER (not retried; info->error names it) when a header
 * of r->capture comes twice in the final answer or is longer than
 * DGA_HTTP_HEADER_VALUE_MAX. info is optional.
 */
dga_err dga_http_exchange(const struct dga_http_request *r, const struct dga_http_options *o,
                          struct dga_http_response *ret, struct dga_http_info *info);
/*
 * Frees what *r holds, not r itself (the caller's), and leaves it zeroed:
 * clearing twice is harmless. NULL is fine.
 */
void dga_http_response_clear(struct dga_http_response *r);
/* For _cleanup_ on a struct variable: dga_http_response_clear(r). */
static inline void dga_http_response_clearp(struct dga_http_response *r)
{
    dga_http_response_clear(r);
}

/*
 * POST body to url through dga_http_exchange (same retries), where only 200
 * gives the body (*ret malloc'd).
 * DGA_E_COLLATERAL_UNREACHABLE when no attempt got an answer,
 * DGA_E_COLLATERAL_HTTP for any other final status, DGA_E_TOO_LARGE past
 * o->max_body (not retried). info is optional. libcurl is loaded on the
 * first request: DGA_E_RUNTIME_LIBRARY, info->error naming the file, when it
 * cannot be.
 */
dga_err dga_http_post(const char *url, const char *content_type, const char *accept,
                      const uint8_t *body, size_t len, const struct dga_http_options *o,
                      uint8_t **ret, size_t *ret_len, struct dga_http_info *info);

/* GET url with the same rules (a status other than 200 is final unless retryable). */
dga_err dga_http_get(const char *url, const char *accept, const struct dga_http_options *o,
                     uint8_t **ret, size_t *ret_len, struct dga_http_info *info);

/* ---- RIMs from NVIDIA's RIM service (or the collateral proxy) ---- */

#define DGA_RIM_SERVICE_DEFAULT_URL "https://rim.attestation.nvidia.com"
/* The service's JSON answer: the base64 RIM (at most DGA_RIM_MAX_BYTES) and a little more. */
#define DGA_RIM_RESPONSE_MAX (2u << 20)

/*
 * GET <base>/v1/rim/<id> (docs/formats.md §8): JSON {"id", "rim" (base64
 * XML), ...}; the id must be the one asked for. *ret is the XML document
 * (malloc'd), unverified. DGA_E_RIM_NOT_FOUND on 404, DGA_E_BAD_ARGUMENT
 * for an id outside DGA_RIM_ID_PATTERN, DGA_E_BAD_JSON for a malformed
 * answer (diag->field names the key), the HTTP errors of dga_http_get.
 */
dga_err dga_collateral_rim_fetch(const char *base_url, const char *id,
                                 const struct dga_http_options *o, uint8_t **ret, size_t *ret_len,
                                 struct dga_diag *diag);
/* The service's JSON answer alone (what dga_collateral_rim_fetch parses): the XML for id. */
dga_err dga_collateral_rim_answer(const uint8_t *body, size_t len, const char *id, uint8_t **ret,
                                  size_t *ret_len, struct dga_diag *diag);
/*
 * Files a RIM document in the store <dir> (dga/rim.h layout): <dir>/<id>.xml
 * when absent, nothing when that file holds the same bytes, else the other
 * issue as <dir>/<id>.d/<sha256>.xml. Atomic writes. *ret_added (optional)
 * says whether a file was written.
 */
dga_err dga_collateral_rim_store(const char *dir, const char *id, const uint8_t *xml, size_t len,
                                 bool *ret_added);

/* ---- collateral directory ---- */

/*
 * Writes data to path atomically: a temporary file in the same directory,
 * fsync, rename over path, fsync of the directory. A reader sees the old
 * file or the new one, never a part. DGA_E_COLLATERAL_STORE on failure.
 */
dga_err dga_collateral_write_atomic(const char *path, const uint8_t *data, size_t len);

/* <dir>/ocsp/<key>.der, the response filed under a certificate's key (dga_ocsp_cert_key). */
dga_err dga_collateral_ocsp_path(const char *dir, const char *key, char *out, size_t cap);
/* Reads the stored response: DGA_E_OCSP_NO_RESPONSE when there is none. */
dga_err dga_collateral_ocsp_read(const char *dir, const char *key, uint8_t **ret, size_t *ret_len);
/* Files a response under the key its own SingleResponse names (creating <dir>/ocsp). */
dga_err dga_collateral_ocsp_store(const char *dir, const uint8_t *der, size_t len);

/* ---- TDX collateral (Intel DCAP): a directory of QuoteCollateralV3 documents ---- */

/*
 * What selects a platform's collateral: the FMSPC and the PCK CA that issued
 * the PCK leaf (they choose Intel's TCB info and PCK CRL; the QE identity and
 * root CA CRL are common to all). Entry: <dir>/tdx/<FMSPC>-<ca>.json.
 */
struct dga_tdx_collateral_key {
    char fmspc[13];    /* 12 upper-case hex digits */
    bool processor_ca; /* issued by the PCK Processor CA, else the Platform CA */
};
/* "processor" or "platform", as in the entry's name and PCS's ?ca= parameter. */
const char *dga_tdx_collateral_ca_name(bool processor_ca);
/*
 * The key of a parsed quote, from the SGX extension of the PCK leaf of its
 * type-5 chain (dga_pck_ext_parse). DGA_E_QUOTE_CERT_DATA when the quote
 * carries no chain; the errors of dga_pem_chain_parse and dga_pck_ext_parse.
 */
dga_err dga_tdx_collateral_key(const struct dga_quote *q, struct dga_tdx_collateral_key *ret,
                               struct dga_diag *diag);
/* <dir>/tdx/<FMSPC>-<ca>.json into out; DGA_E_BAD_ARGUMENT for a bad key or too long a path. */
dga_err dga_tdx_collateral_path(const char *dir, const struct dga_tdx_collateral_key *k, char *out,
                                size_t cap);
/*
 * The stored document (*ret malloc'd, NUL-terminated; at most
 * DGA_QUOTE_COLLATERAL_MAX), opened without following a link:
 * DGA_E_QUOTE_COLLATERAL_MISSING when there is no entry,
 * DGA_E_NOT_REGULAR_FILE for a link or anything but a file, DGA_E_TOO_LARGE,
 * DGA_E_COLLATERAL_STORE when it cannot be read. Unverified.
 */
dga_err dga_tdx_collateral_read(const char *dir, const struct dga_tdx_collateral_key *k, char **ret,
                                size_t *ret_len);
/* Writes the entry atomically, creating <dir> and <dir>/tdx (not a link); DGA_E_COLLATERAL_STORE.
 */
dga_err dga_tdx_collateral_store(const char *dir, const struct dga_tdx_collateral_key *k,
                                 const char *json, size_t len);

/*
 * Fetches the collateral for key k from a PCCS (Intel's API v4 paths under
 * base_url, e.g. https://pccs.phala.network; a trailing /sgx/certification/v4
 * or /tdx/certification/v4 is dropped), through dga_http_exchange with o:
 * the PCK CRL (?ca= from the key), the TDX TCB info for the FMSPC, the TDX
 * QE identity, the root CA CRL (hex text, as a PCCS serves it, or DER), and
 * the issuer chains from the response headers (URL-encoded PEM). Builds
 * QuoteCollateralV3 JSON (*ret malloc'd, NUL-terminated) holding the exact
 * text of the signed tcbInfo and enclaveIdentity values as served, never
 * re-serialized. Nothing is verified here: verify before using or storing.
 * diag->field names the item or header that failed ("pck_crl",
 * "tcb_info", "qe_identity", "root_ca_crl", "pck_crl_issuer_chain", ...).
 * Errors: those of dga_http_exchange, DGA_E_COLLATERAL_HTTP (a status other
 * than 200; info->status), DGA_E_COLLATERAL_HEADER (an issuer chain header
 * missing, repeated, not URL-encoded PEM), DGA_E_COLLATERAL_BODY (a body that
 * is not a CRL or {"<name>": {...}, "signature": "<128 hex>"}),
 * DGA_E_TOO_LARGE (a body past o->max_body, or a document past
 * DGA_QUOTE_COLLATERAL_MAX). info (optional) is the last exchange's.
 */
dga_err dga_tdx_collateral_fetch(const char *base_url, const struct dga_tdx_collateral_key *k,
                                 const struct dga_http_options *o, char **ret, size_t *ret_len,
                                 struct dga_http_info *info, struct dga_diag *diag);

/* ---- responses embedded in a bundle ---- */

struct dga_ocsp_bundle {
    size_t n;
    struct dga_ocsp_bundle_item {
        uint8_t *der;
        size_t len;
        char key[DGA_OCSP_KEY_LEN];
    } * items;
};
#define DGA_OCSP_BUNDLE_MAX 256

/* Adds a copy of a response (DGA_E_TOO_LARGE past DGA_OCSP_BUNDLE_MAX; malformed DER is refused).
 */
dga_err dga_ocsp_bundle_add(struct dga_ocsp_bundle *b, const uint8_t *der, size_t len);
/*
 * Frees what *b holds, not b itself (the caller's), and leaves it zeroed:
 * clearing twice is harmless. NULL is fine.
 */
void dga_ocsp_bundle_clear(struct dga_ocsp_bundle *b);
/* For _cleanup_ on a struct variable: dga_ocsp_bundle_clear(b). */
static inline void dga_ocsp_bundle_clearp(struct dga_ocsp_bundle *b)
{
    dga_ocsp_bundle_clear(b);
}
/*
 * The responses of an evidence bundle (attest's JSON output): every
 * collateral.ocsp[].response (base64 DER) added to b. DGA_E_BAD_JSON when
 * the document or the list is malformed, or a response's error (diag->offset
 * is its position in the list).
 */
dga_err dga_ocsp_bundle_from_json(const char *text, size_t len, struct dga_ocsp_bundle *b,
                                  struct dga_diag *diag);

/* ---- sources ---- */

enum dga_ocsp_mode {
    DGA_OCSP_MODE_OFF,    /* nothing is checked: the chains say "not-checked" */
    DGA_OCSP_MODE_ONLINE, /* ask the responder (with a nonce); dir, if set, is written and, when no
                             responder answers, read */
    DGA_OCSP_MODE_CACHE,  /* only the collateral directory */
    DGA_OCSP_MODE_BUNDLE, /* only the responses of a bundle */
};
/* "off", "online", "cache", "bundle"; parse: DGA_E_BAD_ARGUMENT for anything else. */
const char *dga_ocsp_mode_name(enum dga_ocsp_mode m);
dga_err dga_ocsp_mode_parse(const char *s, enum dga_ocsp_mode *ret);

/*
 * A per-run memo of answers by certificate (CertID key), so that GPUs of one
 * model sharing CAs and RIM signers cost one request per certificate, not
 * one per device: at most DGA_OCSP_MEMO_MAX certificates, one verification
 * time. Thread-safe and once per certificate: a thread that needs a
 * certificate another thread is fetching waits for that answer (the
 * parallel appraisal of a set asks for each certificate once, as the serial one).
 */
#define DGA_OCSP_MEMO_MAX 256
struct dga_ocsp_memo;
dga_err dga_ocsp_memo_new(struct dga_ocsp_memo **ret);
/* Frees m and everything it holds; NULL is fine. */
void dga_ocsp_memo_free(struct dga_ocsp_memo *m);
/* For _cleanup_: dga_ocsp_memo_free(*p), then *p = NULL. */
static inline void dga_ocsp_memo_freep(struct dga_ocsp_memo **p)
{
    dga_ocsp_memo_free(*p);
    *p = NULL;
}

struct dga_ocsp_source {
    struct dga_ocsp_memo *memo; /* optional (NULL: every certificate fetched each time) */
    enum dga_ocsp_mode mode;
    const char *url;                      /* online; NULL: DGA_OCSP_DEFAULT_URL */
    const char *dir;                      /* cache (required), online (optional) */
    const struct dga_ocsp_bundle *bundle; /* bundle */
    struct dga_http_options http;
    long skew;    /* seconds; default DGA_OCSP_DEFAULT_SKEW */
    long max_age; /* seconds; default DGA_OCSP_DEFAULT_MAX_AGE; 0 with unlimited_age */
    bool unlimited_age;
};
/* Mode off, defaults for the rest. */
void dga_ocsp_source_init(struct dga_ocsp_source *s);

/*
 * What to tell a user about a certificate whose response could not be had:
 * the runtime library that failed to load, by file name, when that was the
 * cause (c->diag.field), else dga_err_message(e).
 */
const char *dga_ocsp_failure_text(const struct dga_ocsp_cert_result *c, dga_err e);

/*
 * One certificate: a response for subject (issued by issuer) from the
 * source, verified at `at` against root with untrusted (the certificates
 * between issuer and root) as candidates. Fills ret (ret->der keeps the
 * response; *ret must be zeroed or hold an earlier result, whose response
 * is freed). With src->memo, a certificate answered before at the same time
 * is not asked again (the same outcome is copied). Returns a failure to obtain a response
 * (DGA_E_COLLATERAL_UNREACHABLE, DGA_E_COLLATERAL_HTTP, DGA_E_OCSP_NO_RESPONSE,
 * DGA_E_TOO_LARGE, DGA_E_COLLATERAL_STORE), DGA_E_OK otherwise: whether the
 * response passed is in ret->r.
 */
dga_err dga_ocsp_fetch_cert(const struct dga_ocsp_source *src, X509 *subject, X509 *issuer,
                            X509 *root, STACK_OF(X509) *untrusted, time_t at,
                            struct dga_ocsp_cert_result *ret);

/*
 * The certificates NVIDIA checks in chain (root last; root is the pinned
 * anchor the chain was verified to), each through dga_ocsp_fetch_cert,
 * aggregated (dga_ocsp_chain_aggregate). Mode off leaves ret "not-checked".
 * Returns the first failure to obtain a response, naming the certificate in
 * ret->certs[ret->failed].subject; invalid responses are no error here
 * (they are in the claims and ret->err).
 */
dga_err dga_ocsp_check_chain(const struct dga_ocsp_source *src, STACK_OF(X509) *chain,
                             enum dga_ocsp_chain_kind kind, X509 *root, time_t at,
                             struct dga_ocsp_chain_result *ret);

/*
 * A RIM's signer chain, verified already (dga_rim_chain_verify), as
 * dga_ocsp_check_chain with kind RIM: the document's certificates, a
 * presented root replaced by root (the pinned CoRIM root).
 */
struct dga_rim;
dga_err dga_ocsp_check_rim(const struct dga_ocsp_source *src, const struct dga_rim *rim, X509 *root,
                           time_t at, struct dga_ocsp_chain_result *ret);

#endif
