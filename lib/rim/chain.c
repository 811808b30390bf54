/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RIM signing chain (docs/formats.md §8, docs/rim.md): the certificates
 * of the document's ds:KeyInfo/ds:X509Data, validated to the pinned CoRIM
 * root. The path and the chain cache are the certificate layer's generic
 * chain (struct dga_chain_path, dga/x509.h); what makes it a RIM chain (an
 * optional presented root, the signer's key usage, certificate names,
 * diagnostics) is here.
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
#include "dga/x509.h"

/* The chain cache tells RIM chains from device chains by this tag. */
#define CHAIN_KIND_RIM 'R'

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
    dga_err e = dga_cert_der_equal(last, root, &same);
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

/*
 * The full path: the presented order is not required (the intermediates are
 * candidates in any order). Under an intermediate that the cache verified
 * in full (with the same certificates above it) to the same pinned root,
 * the signer alone: one signature, and the built path must be exactly
 * signer, anchor.
 */
static dga_err path_verify(struct dga_chain_path *p, struct dga_diag *diag)
{
    dga_err e = dga_chain_path_verify(p);
    if (e == DGA_E_CHAIN_INVALID && !p->partial && p->depth > 0) {
        /* a depth in the path OpenSSL tried, not a document position */
        return dga_diag_set(diag, e, (size_t)p->depth, "certificate chain");
    }
    if (e != DGA_E_OK) {
        return fail_at(diag, e, e == DGA_E_CHAIN_INVALID ? 0 : -1);
    }
    if (p->partial &&
        (sk_X509_num(p->built) != 2 || X509_cmp(sk_X509_value(p->built, 1), p->top) != 0)) {
        return fail_at(diag, DGA_E_CHAIN_INVALID, 0);
    }
    return DGA_E_OK;
}

/* Every presented certificate and the pinned root: the built path is drawn from these. */
static dga_err check_algorithms(STACK_OF(X509) *certs, X509 *root, struct dga_diag *diag)
{
    for (int i = 0; i < sk_X509_num(certs); i++) {
        if (!dga_cert_algorithms_ok(sk_X509_value(certs, i))) {
            return fail_at(diag, DGA_E_CHAIN_ALGORITHM, i);
        }
    }
    if (!dga_cert_algorithms_ok(root)) {
        return dga_diag_set(diag, DGA_E_CHAIN_ALGORITHM, 0, "trust root");
    }
    return DGA_E_OK;
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
 * The signer's CN and the validity window of the path: the one OpenSSL
 * built, or for a partial one the presented certificates and the root
 * (the cached anchor stands for exactly those above it).
 */
static dga_err read_info(const struct dga_chain_path *p, time_t at, struct dga_chain_info *info,
                         struct dga_diag *diag)
{
    _cleanup_(sk_X509_freep) STACK_OF(X509) *presented = NULL;
    STACK_OF(X509) *path = p->built;
    if (p->partial) {
        dga_err e = presented_path(p->certs, p->n, p->root, &presented);
        if (e != DGA_E_OK) {
            return fail_at(diag, e, -1);
        }
        path = presented;
    }
    dga_err e = dga_cert_first_cn(sk_X509_value(path, 0), info->hwmodel, sizeof info->hwmodel);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, 0);
    }
    int bad = -1;
    e = dga_chain_validity(path, at, info, &bad);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, bad > 0 ? (size_t)bad : 0, "certificate chain");
    }
    return DGA_E_OK;
}

static dga_err check_shape(const struct dga_rim *rim, const struct dga_trust *trust,
                           const struct dga_chain_info *ret, struct dga_diag *diag)
{
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
    return DGA_E_OK;
}

dga_err dga_rim_chain_verify_cached(const struct dga_rim *rim, const struct dga_trust *trust,
                                    time_t at, struct dga_chain_cache *cache,
                                    struct dga_chain_info *ret, struct dga_diag *diag)
{
    struct dga_chain_info info;
    memset(&info, 0, sizeof info);
    int kept = 0;
    dga_err e = check_shape(rim, trust, ret, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_root(rim->certs, trust->root, &kept, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_signer(sk_X509_value(rim->certs, 0), diag);
    if (e != DGA_E_OK) {
        return e;
    }
    /* the cached suffix: every certificate above the signer, and the pinned root */
    _cleanup_(dga_chain_path_clearp) struct dga_chain_path p = {
        .certs = rim->certs,
        .n = kept,
        .root = trust->root,
        .cache = cache,
        .kind = CHAIN_KIND_RIM,
        .anchor = 1,
    };
    e = path_verify(&p, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_algorithms(rim->certs, trust->root, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_info(&p, at, &info, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    dga_chain_path_remember(&p); /* only a full path in the presented order is */
    *ret = info;
    return DGA_E_OK;
}

dga_err dga_rim_chain_verify(const struct dga_rim *rim, const struct dga_trust *trust, time_t at,
                             struct dga_chain_info *ret, struct dga_diag *diag)
{
    return dga_rim_chain_verify_cached(rim, trust, at, NULL, ret, diag);
}
