/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RIM signing chain (docs/formats.md §8): the certificates of the
 * document's ds:KeyInfo/ds:X509Data, validated to the pinned CoRIM root.
 *
 * Order of checks: arguments and count; the presented root (if any) equals
 * trust->root byte for byte and is then dropped; the signer is an end-entity
 * certificate; OpenSSL path validation with trust->root the only anchor and
 * the other presented certificates as untrusted intermediates; P-384 and
 * ecdsa-with-SHA384 on every presented certificate and on the built path;
 * only then are the signer's CN and the validity window read.
 *
 * The leaf (signer) is certificate 0 in document order, as in libnvat and
 * in every RIM NVIDIA publishes (leaf first, root last). We do not search the
 * set for a leaf the way xmlsec1 does (it takes the one certificate that
 * issued no other, in any order): dga_rim_signature_verify is handed the
 * signer by its caller, and the only signer a caller can name without
 * another output is sk_X509_value(rim->certs, 0). A document whose KeyInfo
 * lists the signer elsewhere is therefore rejected here (usually
 * DGA_E_CHAIN_INVALID) while xmlsec1 accepts it; X509Data is unsigned, so
 * this changes nothing about what content is accepted, only which
 * re-orderings of the certificates are.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/cleanup.h"
#include "dga/rim.h"
#include "dga/util.h"
#include "dga/x509.h"
#include "x509/internal.h"

static const char *const rim_cert_names[DGA_RIM_MAX_CERTS] = {
    "certificate 0 (signer)", "certificate 1", "certificate 2", "certificate 3",
    "certificate 4",          "certificate 5", "certificate 6", "certificate 7",
};

static dga_err fail_at(struct dga_diag *diag, dga_err e, int index)
{
    ERR_clear_error();
    if (index < 0 || index >= DGA_RIM_MAX_CERTS) {
        return dga_diag_set(diag, e, 0, "certificate chain");
    }
    return dga_diag_set(diag, e, (size_t)index, rim_cert_names[index]);
}

/* Issuer and subject names equal and the key identifiers (if any) agree; no signature check. */
static bool is_self_issued(X509 *x)
{
    return X509_self_signed(x, 0) == 1;
}

/*
 * A self-signed last certificate is the presented root: it must be the
 * pinned root itself and is never offered to OpenSSL. *ret_n is the number
 * of certificates left (the signer and the intermediates).
 */
static dga_err check_root(STACK_OF(X509) *certs, X509 *root, int *ret_n, struct dga_diag *diag)
{
    int n = sk_X509_num(certs);
    X509 *last = sk_X509_value(certs, n - 1);
    *ret_n = n;
    if (!is_self_issued(last)) {
        ERR_clear_error();
        return DGA_E_OK;
    }
    bool same = false;
    dga_err e = x509_der_equal(last, root, &same);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, n - 1);
    }
    if (!same) {
        return fail_at(diag, DGA_E_CHAIN_ROOT, n - 1);
    }
    if (n == 1) { /* the root alone: no signer */
        return dga_diag_set(diag, DGA_E_CHAIN_LENGTH, 1, "certificate count");
    }
    *ret_n = n - 1;
    return DGA_E_OK;
}

/* The signer signs documents: not a root, not a CA, digitalSignature if key usage is present. */
static dga_err check_signer(X509 *leaf, struct dga_diag *diag)
{
    uint32_t ku = X509_get_key_usage(leaf); /* UINT32_MAX when absent */
    if (is_self_issued(leaf) || X509_check_ca(leaf) != 0 || (ku & KU_DIGITAL_SIGNATURE) == 0) {
        return fail_at(diag, DGA_E_CHAIN_INVALID, 0);
    }
    ERR_clear_error();
    return DGA_E_OK;
}

/* Certificates 1..n-1 (the presented root already excluded by n). */
static dga_err untrusted_new(STACK_OF(X509) *certs, int n, STACK_OF(X509) **ret)
{
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    if (untrusted == NULL) {
        return DGA_E_NOMEM;
    }
    for (int i = 1; i < n; i++) {
        if (sk_X509_push(untrusted, sk_X509_value(certs, i)) <= 0) {
            sk_X509_free(untrusted);
            return DGA_E_NOMEM;
        }
    }
    *ret = untrusted;
    return DGA_E_OK;
}

static dga_err path_verify(STACK_OF(X509) *certs, int n, X509 *root, STACK_OF(X509) **ret_path,
                           struct dga_diag *diag)
{
    STACK_OF(X509) *untrusted = NULL;
    int depth = -1;
    dga_err e = untrusted_new(certs, n, &untrusted);
    if (e == DGA_E_OK) {
        e = x509_path_build(sk_X509_value(certs, 0), untrusted, root, ret_path, &depth);
    }
    sk_X509_free(untrusted);
    if (e == DGA_E_CHAIN_INVALID && depth > 0) {
        /* a depth in the path OpenSSL tried, not a document position */
        return dga_diag_set(diag, e, (size_t)depth, "certificate chain");
    }
    if (e != DGA_E_OK) {
        return fail_at(diag, e, e == DGA_E_CHAIN_INVALID ? 0 : -1);
    }
    return DGA_E_OK;
}

/* Every presented certificate and the pinned root: the built path is drawn from these. */
static dga_err check_algorithms(STACK_OF(X509) *certs, X509 *root, struct dga_diag *diag)
{
    for (int i = 0; i < sk_X509_num(certs); i++) {
        if (!x509_algorithms_ok(sk_X509_value(certs, i))) {
            return fail_at(diag, DGA_E_CHAIN_ALGORITHM, i);
        }
    }
    if (!x509_algorithms_ok(root)) {
        return dga_diag_set(diag, DGA_E_CHAIN_ALGORITHM, 0, "trust root");
    }
    return DGA_E_OK;
}

static dga_err read_info(STACK_OF(X509) *path, time_t at, struct dga_chain_info *info,
                         struct dga_diag *diag)
{
    dga_err e = x509_first_cn(sk_X509_value(path, 0), info->hwmodel, sizeof info->hwmodel);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, 0);
    }
    int bad = -1;
    e = x509_read_validity(path, at, info, &bad);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, bad > 0 ? (size_t)bad : 0, "certificate chain");
    }
    return DGA_E_OK;
}

/* True when OpenSSL built exactly the presented certificates 0..n-1, then the root. */
static bool path_is_presented(STACK_OF(X509) *path, STACK_OF(X509) *certs, int n, X509 *root)
{
    if (sk_X509_num(path) != n + 1 || X509_cmp(sk_X509_value(path, n), root) != 0) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (X509_cmp(sk_X509_value(path, i), sk_X509_value(certs, i)) != 0) {
            return false;
        }
    }
    return true;
}

/* The presented certificates 0..n-1, then the root (shallow: no references taken). */
static dga_err presented_path(STACK_OF(X509) *certs, int n, X509 *root, STACK_OF(X509) **ret)
{
    STACK_OF(X509) *path = sk_X509_new_reserve(NULL, n + 1);
    if (path == NULL) {
        return DGA_E_NOMEM;
    }
    for (int i = 0; i <= n; i++) {
        if (sk_X509_push(path, i < n ? sk_X509_value(certs, i) : root) <= 0) {
            sk_X509_free(path);
            return DGA_E_NOMEM;
        }
    }
    *ret = path;
    return DGA_E_OK;
}

/*
 * The signer alone under an intermediate that this cache verified in full
 * (with the same certificates above it) to the same pinned root: one
 * signature. The built path must be exactly signer, anchor.
 */
static dga_err path_verify_partial(STACK_OF(X509) *certs, int n, X509 *anchor, X509 *root,
                                   STACK_OF(X509) **ret_path, struct dga_diag *diag)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *built = NULL;
    int depth = -1;
    dga_err e = x509_path_build_partial(sk_X509_value(certs, 0), NULL, anchor, &built, &depth);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, e == DGA_E_CHAIN_INVALID ? 0 : -1);
    }
    if (sk_X509_num(built) != 2 || X509_cmp(sk_X509_value(built, 1), anchor) != 0) {
        return fail_at(diag, DGA_E_CHAIN_INVALID, 0);
    }
    return presented_path(certs, n, root, ret_path);
}

/*
 * The cache key of this chain's certificates above the signer, with the
 * pinned root: NULL when there is no cache or no intermediate to anchor at.
 */
static X509 *suffix_lookup(const struct dga_rim *rim, int n, X509 *root,
                           struct dga_chain_cache *cache, unsigned char **ret_key,
                           size_t *ret_len)
{
    if (cache == NULL || n < 2 ||
        x509_suffix_key('R', rim->certs, 1, n, root, ret_key, ret_len) != DGA_E_OK) {
        return NULL;
    }
    return x509_chain_cache_find(cache, *ret_key, *ret_len);
}

dga_err dga_rim_chain_verify_cached(const struct dga_rim *rim, const struct dga_trust *trust,
                                    time_t at, struct dga_chain_cache *cache,
                                    struct dga_chain_info *ret, struct dga_diag *diag)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *path = NULL;
    _cleanup_(sk_X509_freep) STACK_OF(X509) *presented = NULL;
    _cleanup_(freep) unsigned char *key = NULL;
    size_t key_len = 0;
    struct dga_chain_info info;
    memset(&info, 0, sizeof info);
    if (rim == NULL || rim->certs == NULL || trust == NULL || trust->root == NULL || ret == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "arguments");
    }
    int n = sk_X509_num(rim->certs);
    if (n < 1 || n > DGA_RIM_MAX_CERTS) {
        return dga_diag_set(diag, DGA_E_CHAIN_LENGTH, n > 0 ? (size_t)n : 0, "certificate count");
    }
    for (int i = 0; i < n; i++) {
        if (sk_X509_value(rim->certs, i) == NULL) {
            return fail_at(diag, DGA_E_BAD_ARGUMENT, i);
        }
    }
    int kept = n;
    dga_err e = check_root(rim->certs, trust->root, &kept, diag);
    if (e == DGA_E_OK) {
        e = check_signer(sk_X509_value(rim->certs, 0), diag);
    }
    X509 *anchor = e == DGA_E_OK ? suffix_lookup(rim, kept, trust->root, cache, &key, &key_len)
                                 : NULL;
    if (e == DGA_E_OK) {
        e = anchor != NULL
                ? path_verify_partial(rim->certs, kept, anchor, trust->root, &presented, diag)
                : path_verify(rim->certs, kept, trust->root, &path, diag);
    }
    if (e == DGA_E_OK) {
        e = check_algorithms(rim->certs, trust->root, diag);
    }
    if (e == DGA_E_OK) {
        e = read_info(anchor != NULL ? presented : path, at, &info, diag);
    }
    if (e == DGA_E_OK && anchor == NULL && key != NULL &&
        path_is_presented(path, rim->certs, kept, trust->root) &&
        x509_suffix_reusable(path, 2, kept + 1)) {
        /* verified in full just now, in the presented order */
        x509_chain_cache_add(cache, sk_X509_value(path, 1), TAKE_PTR(key), key_len);
    }
    if (e == DGA_E_OK) {
        *ret = info;
    }
    return e;
}

dga_err dga_rim_chain_verify(const struct dga_rim *rim, const struct dga_trust *trust, time_t at,
                             struct dga_chain_info *ret, struct dga_diag *diag)
{
    return dga_rim_chain_verify_cached(rim, trust, at, NULL, ret, diag);
}
