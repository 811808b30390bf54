/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where each OCSP response comes from, chosen explicitly by the caller:
 * online (a fresh request with a nonce; results filed in the collateral
 * directory when one is given, which is also the fallback when no
 * responder answers), cache (the directory only) or bundle (responses
 * embedded in an earlier result, for re-appraisal). Whatever the source,
 * the response is verified in full (dga_ocsp_response_check); a stored one
 * without a nonce, so its freshness rests on the window and maximum age.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "collateral/curl_api.h"
#include "core/cleanup.h"
#include "dga/collateral.h"
#include "dga/rim.h"
#include "dga/util.h"

static const char *const mode_names[] = {"off", "online", "cache", "bundle"};

const char *dga_ocsp_mode_name(enum dga_ocsp_mode m)
{
    return (size_t)m < sizeof mode_names / sizeof mode_names[0] ? mode_names[m] : "off";
}

dga_err dga_ocsp_mode_parse(const char *s, enum dga_ocsp_mode *ret)
{
    for (size_t i = 0; s != NULL && i < sizeof mode_names / sizeof mode_names[0]; i++) {
        if (strcmp(s, mode_names[i]) == 0) {
            *ret = (enum dga_ocsp_mode)i;
            return DGA_E_OK;
        }
    }
    return DGA_E_BAD_ARGUMENT;
}

void dga_ocsp_source_init(struct dga_ocsp_source *s)
{
    memset(s, 0, sizeof *s);
    s->mode = DGA_OCSP_MODE_OFF;
    dga_http_options_init(&s->http);
    s->skew = DGA_OCSP_DEFAULT_SKEW;
    s->max_age = DGA_OCSP_DEFAULT_MAX_AGE;
}

/* ------------------------------------------------------------ bundles */

dga_err dga_ocsp_bundle_add(struct dga_ocsp_bundle *b, const uint8_t *der, size_t len)
{
    char key[DGA_OCSP_KEY_LEN];
    if (b->n >= DGA_OCSP_BUNDLE_MAX) {
        return DGA_E_TOO_LARGE;
    }
    dga_err e = dga_ocsp_response_key(der, len, key);
    if (e != DGA_E_OK) {
        return e;
    }
    struct dga_ocsp_bundle_item *items = realloc(b->items, (b->n + 1) * sizeof *items);
    if (items == NULL) {
        return DGA_E_NOMEM;
    }
    b->items = items;
    uint8_t *copy = malloc(len);
    if (copy == NULL) {
        return DGA_E_NOMEM;
    }
    memcpy(copy, der, len);
    items[b->n].der = copy;
    items[b->n].len = len;
    memcpy(items[b->n].key, key, sizeof key);
    b->n++;
    return DGA_E_OK;
}

void dga_ocsp_bundle_clear(struct dga_ocsp_bundle *b)
{
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        free(b->items[i].der);
    }
    free(b->items);
    memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------ one certificate */

struct cert_ctx {
    const struct dga_ocsp_source *src;
    X509 *subject, *issuer;
    struct dga_ocsp_check check;
};

static void keep_response(struct dga_ocsp_cert_result *ret, uint8_t *der, size_t len,
                          enum dga_ocsp_origin origin)
{
    free(ret->der);
    ret->der = der;
    ret->der_len = len;
    ret->origin = origin;
}

/* A stored response (no nonce was sent for it): verify and keep it. */
static void check_stored(const struct cert_ctx *c, uint8_t *der, size_t len,
                         enum dga_ocsp_origin origin, struct dga_ocsp_cert_result *ret)
{
    dga_ocsp_response_check(der, len, c->subject, c->issuer, NULL, &c->check, &ret->r, &ret->diag);
    keep_response(ret, der, len, origin);
}

static dga_err from_cache(const struct cert_ctx *c, struct dga_ocsp_cert_result *ret)
{
    uint8_t *der = NULL;
    size_t len = 0;
    if (c->src->dir == NULL) {
        return DGA_E_OCSP_NO_RESPONSE;
    }
    dga_err e = dga_collateral_ocsp_read(c->src->dir, ret->key, &der, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    check_stored(c, der, len, DGA_OCSP_ORIGIN_CACHE, ret);
    return DGA_E_OK;
}

/* The bundle's responses for this CertID: the first that verifies, else the first. */
static dga_err from_bundle(const struct cert_ctx *c, struct dga_ocsp_cert_result *ret)
{
    const struct dga_ocsp_bundle *b = c->src->bundle;
    const struct dga_ocsp_bundle_item *first = NULL;
    for (size_t i = 0; b != NULL && i < b->n; i++) {
        const struct dga_ocsp_bundle_item *it = &b->items[i];
        struct dga_ocsp_result r;
        if (strcmp(it->key, ret->key) != 0) {
            continue;
        }
        first = first != NULL ? first : it;
        if (dga_ocsp_response_check(it->der, it->len, c->subject, c->issuer, NULL, &c->check, &r,
                                    NULL) == DGA_E_OK) {
            first = it;
            break;
        }
    }
    if (first == NULL) {
        return DGA_E_OCSP_NO_RESPONSE;
    }
    uint8_t *copy = malloc(first->len);
    if (copy == NULL) {
        return DGA_E_NOMEM;
    }
    memcpy(copy, first->der, first->len);
    check_stored(c, copy, first->len, DGA_OCSP_ORIGIN_BUNDLE, ret);
    return DGA_E_OK;
}

/* POST a fresh request with a nonce; a valid answer is filed in the directory (if any). */
static dga_err from_responder(const struct cert_ctx *c, struct dga_ocsp_cert_result *ret)
{
    _cleanup_(dga_ocsp_request_freep) struct dga_ocsp_request *req = NULL;
    _cleanup_(freep) uint8_t *body = NULL;
    uint8_t *der = NULL;
    size_t body_len = 0, len = 0;
    dga_err e = dga_ocsp_request_new(c->subject, c->issuer, true, &req);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_ocsp_request_der(req, &body, &body_len);
    if (e != DGA_E_OK) {
        return e;
    }
    const char *url = c->src->url != NULL ? c->src->url : DGA_OCSP_DEFAULT_URL;
    e = dga_http_post(url, "application/ocsp-request", "application/ocsp-response", body, body_len,
                      &c->src->http, &der, &len, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    dga_ocsp_response_check(der, len, c->subject, c->issuer, req, &c->check, &ret->r, &ret->diag);
    keep_response(ret, der, len, DGA_OCSP_ORIGIN_ONLINE); /* ret owns der from here */
    if (ret->r.response_valid && c->src->dir != NULL) {
        return dga_collateral_ocsp_store(c->src->dir, der, len);
    }
    return DGA_E_OK;
}

static dga_err obtain(const struct cert_ctx *c, struct dga_ocsp_cert_result *ret)
{
    switch (c->src->mode) {
    case DGA_OCSP_MODE_CACHE:
        return from_cache(c, ret);
    case DGA_OCSP_MODE_BUNDLE:
        return from_bundle(c, ret);
    case DGA_OCSP_MODE_ONLINE:
        break;
    case DGA_OCSP_MODE_OFF:
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = from_responder(c, ret);
    /* No responder answered: a fresh stored response will do (it is verified like any). */
    if ((e == DGA_E_COLLATERAL_UNREACHABLE || e == DGA_E_COLLATERAL_HTTP) && c->src->dir != NULL &&
        from_cache(c, ret) == DGA_E_OK && ret->r.response_valid) {
        return DGA_E_OK;
    }
    return e;
}

static void subject_name(X509 *x, char *out, size_t cap)
{
    out[0] = '\0';
    X509_NAME *name = X509_get_subject_name(x);
    int i = name != NULL ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    const ASN1_STRING *cn = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)) : NULL;
    if (cn != NULL) {
        snprintf(out, cap, "%.*s", ASN1_STRING_length(cn), (const char *)ASN1_STRING_get0_data(cn));
    }
    for (char *p = out; *p != '\0'; p++) {
        *p = (*p < 0x20 || *p > 0x7e) ? '?' : *p; /* printable in messages */
    }
}

/* ------------------------------------------------------------ memo */

struct memo_entry {
    char key[DGA_OCSP_KEY_LEN];
    time_t at;
    dga_err e; /* what dga_ocsp_fetch_cert returned */
    struct dga_ocsp_cert_result x;
};

/* Certificates being fetched at once (claims); past that they are fetched unclaimed. */
#define MEMO_MAX_PENDING 64

struct memo_pending {
    char key[DGA_OCSP_KEY_LEN];
    time_t at;
};

/*
 * `lock` guards n, e[] and pending[]; never held during a fetch. An entry is
 * never changed once counted in n: read it unlocked.
 */
struct dga_ocsp_memo {
    pthread_mutex_t lock;
    pthread_cond_t released; /* a claim ended: waiters look again */
    size_t n;
    struct memo_entry e[DGA_OCSP_MEMO_MAX];
    size_t n_pending;
    struct memo_pending pending[MEMO_MAX_PENDING];
};

dga_err dga_ocsp_memo_new(struct dga_ocsp_memo **ret)
{
    struct dga_ocsp_memo *m = calloc(1, sizeof *m);
    if (m == NULL) {
        return DGA_E_NOMEM;
    }
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return DGA_E_NOMEM;
    }
    if (pthread_cond_init(&m->released, NULL) != 0) {
        pthread_mutex_destroy(&m->lock);
        free(m);
        return DGA_E_NOMEM;
    }
    *ret = m;
    return DGA_E_OK;
}

void dga_ocsp_memo_free(struct dga_ocsp_memo *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].x.der);
    }
    pthread_cond_destroy(&m->released);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* A copy of x (its own response bytes); false when out of memory. */
static bool result_copy(const struct dga_ocsp_cert_result *x, struct dga_ocsp_cert_result *out)
{
    uint8_t *der = NULL;
    if (x->der != NULL) {
        der = malloc(x->der_len);
        if (der == NULL) {
            return false;
        }
        memcpy(der, x->der, x->der_len);
    }
    int index = out->index;
    free(out->der);
    *out = *x;
    out->index = index; /* the position in the caller's chain, not the first one's */
    out->der = der;
    return true;
}

/* Call with m->lock held. */
static const struct memo_entry *memo_find_locked(const struct dga_ocsp_memo *m, const char *key,
                                                 time_t at)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->e[i].at == at && strcmp(m->e[i].key, key) == 0) {
            return &m->e[i];
        }
    }
    return NULL;
}

/* The claim on (key, at), or -1. Call with m->lock held. */
static long memo_pending_locked(const struct dga_ocsp_memo *m, const char *key, time_t at)
{
    for (size_t i = 0; i < m->n_pending; i++) {
        if (m->pending[i].at == at && strcmp(m->pending[i].key, key) == 0) {
            return (long)i;
        }
    }
    return -1;
}

/*
 * The remembered answer, waiting while another thread fetches it; NULL when
 * this caller is to fetch it (*ret_claimed: for every waiter, until memo_add).
 */
static const struct memo_entry *memo_find(struct dga_ocsp_memo *m, const char *key, time_t at,
                                          bool *ret_claimed)
{
    *ret_claimed = false;
    if (m == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&m->lock);
    const struct memo_entry *seen = memo_find_locked(m, key, at);
    while (seen == NULL && memo_pending_locked(m, key, at) >= 0) {
        pthread_cond_wait(&m->released, &m->lock);
        seen = memo_find_locked(m, key, at);
    }
    if (seen == NULL && m->n_pending < MEMO_MAX_PENDING) {
        struct memo_pending *p = &m->pending[m->n_pending++];
        snprintf(p->key, sizeof p->key, "%s", key);
        p->at = at;
        *ret_claimed = true;
    }
    pthread_mutex_unlock(&m->lock);
    return seen;
}

/* Remembers the outcome (unless remember is false) and ends the caller's claim, if any. */
static void memo_add(struct dga_ocsp_memo *m, time_t at, dga_err e,
                     const struct dga_ocsp_cert_result *x, bool remember, bool claimed)
{
    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    long i = claimed ? memo_pending_locked(m, x->key, at) : -1;
    if (i >= 0) {
        m->pending[i] = m->pending[--m->n_pending];
        pthread_cond_broadcast(&m->released); /* they find the entry below, or fetch it */
    }
    struct memo_entry *n = &m->e[m->n];
    if (remember && m->n < DGA_OCSP_MEMO_MAX && memo_find_locked(m, x->key, at) == NULL) {
        memset(n, 0, sizeof *n);
        if (result_copy(x, &n->x)) {
            memcpy(n->key, x->key, sizeof n->key);
            n->at = at;
            n->e = e;
            m->n++;
        }
    }
    pthread_mutex_unlock(&m->lock);
}

/*
 * The outcome e of one certificate's fetch: a failure is recorded in ret, and the
 * outcome is remembered in the memo (not no-memory or a bad call: a retry may pass).
 */
static dga_err settle(const struct dga_ocsp_source *src, time_t at, dga_err e,
                      struct dga_ocsp_cert_result *ret, bool claimed)
{
    if (e != DGA_E_OK) {
        ret->r.err = e;
        if (e == DGA_E_RUNTIME_LIBRARY) {
            curl_api_load(NULL, &ret->diag); /* the same failure: diag->field names libcurl */
        } else {
            dga_diag_set(&ret->diag, e, 0, "OCSP source");
        }
    }
    memo_add(src->memo, at, e, ret, e != DGA_E_NOMEM && e != DGA_E_BAD_ARGUMENT, claimed);
    return e;
}

dga_err dga_ocsp_fetch_cert(const struct dga_ocsp_source *src, X509 *subject, X509 *issuer,
                            X509 *root, STACK_OF(X509) *untrusted, time_t at,
                            struct dga_ocsp_cert_result *ret)
{
    struct cert_ctx c = {.src = src, .subject = subject, .issuer = issuer};
    memset(&ret->r, 0, sizeof ret->r);
    ret->origin = DGA_OCSP_ORIGIN_NONE;
    if (src == NULL || subject == NULL || issuer == NULL || root == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    subject_name(subject, ret->subject, sizeof ret->subject);
    dga_ocsp_check_init(&c.check, at, root);
    c.check.skew = src->skew;
    c.check.max_age = src->max_age;
    c.check.unlimited_age = src->unlimited_age;
    c.check.untrusted = untrusted;
    dga_err e = dga_ocsp_cert_key(subject, issuer, ret->key);
    if (e != DGA_E_OK) {
        return settle(src, at, e, ret, false);
    }
    bool claimed = false;
    const struct memo_entry *seen = memo_find(src->memo, ret->key, at, &claimed);
    if (seen != NULL) {
        return result_copy(&seen->x, ret) ? seen->e : DGA_E_NOMEM;
    }
    return settle(src, at, obtain(&c, ret), ret, claimed);
}

/* ------------------------------------------------------------ chains */

/* The certificates strictly between subject i and the root (the store holds the root). */
static STACK_OF(X509) *above(STACK_OF(X509) *chain, int i)
{
    STACK_OF(X509) *s = sk_X509_new_null();
    int n = sk_X509_num(chain);
    for (int j = i + 1; s != NULL && j < n - 1; j++) {
        if (sk_X509_push(s, sk_X509_value(chain, j)) <= 0) {
            sk_X509_free(s);
            return NULL;
        }
    }
    return s;
}

dga_err dga_ocsp_check_chain(const struct dga_ocsp_source *src, STACK_OF(X509) *chain,
                             enum dga_ocsp_chain_kind kind, X509 *root, time_t at,
                             struct dga_ocsp_chain_result *ret)
{
    memset(ret, 0, sizeof *ret);
    int subjects[DGA_OCSP_CHAIN_CHECKS];
    dga_err first = DGA_E_OK;
    if (src == NULL || chain == NULL || root == NULL) {
        dga_ocsp_chain_aggregate(ret);
        return DGA_E_BAD_ARGUMENT;
    }
    ret->checked = src->mode != DGA_OCSP_MODE_OFF;
    ret->n = ret->checked ? dga_ocsp_chain_subjects(kind, sk_X509_num(chain), subjects) : 0;
    ret->max_age = src->unlimited_age ? 0 : src->max_age;
    for (size_t k = 0; k < ret->n; k++) {
        struct dga_ocsp_cert_result *x = &ret->certs[k];
        int i = subjects[k];
        STACK_OF(X509) *up = above(chain, i);
        x->index = i;
        dga_err e = up == NULL ? DGA_E_NOMEM
                               : dga_ocsp_fetch_cert(src, sk_X509_value(chain, i),
                                                     sk_X509_value(chain, i + 1), root, up, at, x);
        sk_X509_free(up);
        /* Every certificate is checked (the result lists each); the first failure is returned. */
        if (e != DGA_E_OK && first == DGA_E_OK) {
            first = e;
        }
    }
    dga_ocsp_chain_aggregate(ret);
    return first;
}

/* ------------------------------------------------------------ bundles from JSON */

/* One {"response": "<base64 DER>", ...} element of collateral.ocsp. */
static dga_err bundle_item(const json_t *item, struct dga_ocsp_bundle *b)
{
    const json_t *r = json_object_get(item, "response");
    if (!json_is_string(r)) {
        return DGA_E_BAD_JSON;
    }
    if (json_string_length(r) > 2 * DGA_OCSP_RESPONSE_MAX) {
        return DGA_E_TOO_LARGE;
    }
    _cleanup_(freep) uint8_t *der = NULL;
    size_t len = 0;
    dga_err e = dga_base64_decode(json_string_value(r), json_string_length(r), &der, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    return dga_ocsp_bundle_add(b, der, len);
}

dga_err dga_ocsp_bundle_from_json(const char *text, size_t len, struct dga_ocsp_bundle *b,
                                  struct dga_diag *diag)
{
    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *list = json_object_get(json_object_get(doc, "collateral"), "ocsp");
    if (doc == NULL || !json_is_array(list)) {
        return dga_diag_set(diag, DGA_E_BAD_JSON, doc == NULL ? (size_t)jerr.position : 0,
                            "collateral.ocsp");
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        dga_err e = bundle_item(json_array_get(list, i), b);
        if (e != DGA_E_OK) {
            return dga_diag_set(diag, e, i, "collateral.ocsp[].response");
        }
    }
    return DGA_E_OK;
}

/* ------------------------------------------------------------ RIM signer chains */

/* The document's certificates (a self-signed last one dropped), then the pinned root. */
static STACK_OF(X509) *rim_chain_to_root(const struct dga_rim *rim, X509 *root)
{
    STACK_OF(X509) *c = sk_X509_new_null();
    int n = sk_X509_num(rim->certs);
    if (n > 0 && X509_self_signed(sk_X509_value(rim->certs, n - 1), 0) == 1) {
        n--;
    }
    for (int i = 0; c != NULL && i <= n; i++) {
        if (sk_X509_push(c, i < n ? sk_X509_value(rim->certs, i) : root) <= 0) {
            sk_X509_free(c);
            c = NULL;
        }
    }
    return c;
}

dga_err dga_ocsp_check_rim(const struct dga_ocsp_source *src, const struct dga_rim *rim, X509 *root,
                           time_t at, struct dga_ocsp_chain_result *ret)
{
    STACK_OF(X509) *chain = rim != NULL && root != NULL ? rim_chain_to_root(rim, root) : NULL;
    if (chain == NULL) {
        memset(ret, 0, sizeof *ret);
        dga_ocsp_chain_aggregate(ret);
        return rim == NULL || root == NULL ? DGA_E_BAD_ARGUMENT : DGA_E_NOMEM;
    }
    dga_err e = dga_ocsp_check_chain(src, chain, DGA_OCSP_CHAIN_RIM, root, at, ret);
    sk_X509_free(chain); /* the certificates belong to the RIM and the caller */
    return e;
}

const char *dga_ocsp_failure_text(const struct dga_ocsp_cert_result *c, dga_err e)
{
    bool library =
        c->diag.err == DGA_E_RUNTIME_LIBRARY && c->diag.field != NULL && c->diag.field[0] != '\0';
    return library ? c->diag.field : dga_err_message(e);
}
