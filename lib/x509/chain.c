/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device identity chain verification (docs/formats.md §7). The checks run
 * in the order the header documents: length, pinned root, OpenSSL path
 * validation, built order, algorithms, architecture; only then are hwmodel,
 * ueid, FWID and the validity window read.
 *
 * The path building (x509_path_build), DER equality, CN and validity helpers
 * are shared with the RIM signing chain (rim_chain.c) through x509/internal.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>

#include "core/cleanup.h"
#include "core/utc.h"
#include "dga/util.h"
#include "dga/x509.h"
#include "x509/internal.h"

static const char *const cert_names[DGA_DEVICE_CHAIN_LEN] = {
    "certificate 0 (leaf)",        "certificate 1 (BROM)", "certificate 2 (provisioner ICA)",
    "certificate 3 (identity CA)", "certificate 4 (root)",
};

/* Certificates SUFFIX_START.. (ICA, identity CA, root) are shared by the GPUs of a model. */
#define SUFFIX_START 2
#define CHAIN_CACHE_MAX 16

/*
 * A chain suffix verified in full to a pinned root, keyed by its exact bytes:
 * a kind tag (device or RIM chain), then the DER of its certificates. The
 * anchor is the suffix's lowest certificate; a later chain with the same
 * suffix is verified only from its own lower certificates up to the anchor.
 */
struct verified_suffix {
    unsigned char *key;
    size_t len;
    X509 *anchor;
};

struct dga_chain_cache {
    size_t n;
    struct verified_suffix s[CHAIN_CACHE_MAX];
};

static const char *cert_name(int depth)
{
    if (depth < 0 || depth >= DGA_DEVICE_CHAIN_LEN) {
        return "certificate chain";
    }
    return cert_names[depth];
}

static dga_err fail_at(struct dga_diag *diag, dga_err e, int depth)
{
    ERR_clear_error();
    return dga_diag_set(diag, e, depth >= 0 ? (size_t)depth : 0, cert_name(depth));
}

static dga_err check_root(STACK_OF(X509) *chain, X509 *root, struct dga_diag *diag)
{
    bool same = false;
    dga_err e = x509_der_equal(sk_X509_value(chain, DGA_DEVICE_CHAIN_LEN - 1), root, &same);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, DGA_DEVICE_CHAIN_LEN - 1);
    }
    if (!same) {
        return fail_at(diag, DGA_E_CHAIN_ROOT, DGA_DEVICE_CHAIN_LEN - 1);
    }
    return DGA_E_OK;
}

/* The store trusts root alone. */
static dga_err store_new(X509 *root, X509_STORE **ret)
{
    _cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
    if (store == NULL) {
        return DGA_E_NOMEM;
    }
    if (X509_STORE_add_cert(store, root) != 1) {
        return DGA_E_INTERNAL;
    }
    *ret = TAKE_PTR(store);
    return DGA_E_OK;
}

/* Time checks are off: validity is reported, never enforced (docs/evidence.md). */
static dga_err ctx_setup(X509_STORE_CTX *ctx, X509_STORE *store, X509 *leaf,
                         STACK_OF(X509) *untrusted, unsigned long flags)
{
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        return DGA_E_INTERNAL;
    }
    /*
     * No X509_VERIFY_PARAM_set_time(param, at) here: it sets X509_V_FLAG_USE_CHECK_TIME,
     * which OpenSSL 3 honours before X509_V_FLAG_NO_CHECK_TIME, so validity would be
     * enforced at `at`. Time is read and reported by x509_read_validity() instead.
     */
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    if (param == NULL || X509_VERIFY_PARAM_set_flags(param, flags) != 1) {
        return DGA_E_INTERNAL;
    }
    return DGA_E_OK;
}

/*
 * Success counts (path length - 1) ECDSA verifications: OpenSSL checks each
 * certificate's signature with its issuer's key, but not the self-signed
 * root's own (only with X509_V_FLAG_CHECK_SS_SIGNATURE) nor a partial
 * chain's trusted top, which has no issuer in the path.
 */
static dga_err path_build(X509 *leaf, STACK_OF(X509) *untrusted, X509 *root,
                          unsigned long flags, STACK_OF(X509) **ret_path, int *ret_depth)
{
    _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
    _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    *ret_depth = -1;
    if (ctx == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = store_new(root, &store);
    if (e == DGA_E_OK) {
        e = ctx_setup(ctx, store, leaf, untrusted, flags);
    }
    if (e == DGA_E_OK && X509_verify_cert(ctx) != 1) {
        *ret_depth = X509_STORE_CTX_get_error_depth(ctx);
        e = DGA_E_CHAIN_INVALID;
    }
    if (e == DGA_E_OK) {
        STACK_OF(X509) *path = X509_STORE_CTX_get1_chain(ctx);
        if (path == NULL) {
            e = DGA_E_NOMEM;
        } else {
            x509_stats_add(sk_X509_num(path) > 1 ? (unsigned long)(sk_X509_num(path) - 1) : 0);
            *ret_path = path;
        }
    }
    X509_STORE_CTX_cleanup(ctx);
    ERR_clear_error();
    return e;
}

dga_err x509_path_build(X509 *leaf, STACK_OF(X509) *untrusted, X509 *root,
                        STACK_OF(X509) **ret_path, int *ret_depth)
{
    return path_build(leaf, untrusted, root, X509_V_FLAG_NO_CHECK_TIME, ret_path, ret_depth);
}

dga_err x509_path_build_partial(X509 *leaf, STACK_OF(X509) *untrusted, X509 *anchor,
                                STACK_OF(X509) **ret_path, int *ret_depth)
{
    return path_build(leaf, untrusted, anchor,
                      X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_PARTIAL_CHAIN, ret_path, ret_depth);
}

/* Certificates 1..3 only: the presented root copy is never offered to OpenSSL. */
static dga_err untrusted_new(STACK_OF(X509) *chain, STACK_OF(X509) **ret)
{
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    if (untrusted == NULL) {
        return DGA_E_NOMEM;
    }
    for (int i = 1; i < DGA_DEVICE_CHAIN_LEN - 1; i++) {
        if (sk_X509_push(untrusted, sk_X509_value(chain, i)) <= 0) {
            sk_X509_free(untrusted);
            return DGA_E_NOMEM;
        }
    }
    *ret = untrusted;
    return DGA_E_OK;
}

/*
 * The path OpenSSL built must be the presented certificates 0..n-2, then
 * `top` (the pinned root for a full path, the cached ICA for a partial one).
 */
static dga_err check_order(STACK_OF(X509) *built, STACK_OF(X509) *chain, X509 *top, int n,
                           struct dga_diag *diag)
{
    int built_len = built != NULL ? sk_X509_num(built) : 0;
    for (int i = 0; i < n; i++) {
        X509 *want = i == n - 1 ? top : sk_X509_value(chain, i);
        if (i >= built_len || X509_cmp(sk_X509_value(built, i), want) != 0) {
            return fail_at(diag, DGA_E_CHAIN_ORDER, i); /* first position that differs */
        }
    }
    if (built_len != n) {
        return fail_at(diag, DGA_E_CHAIN_ORDER, n);
    }
    return DGA_E_OK;
}

static dga_err path_verify(STACK_OF(X509) *chain, X509 *root, struct dga_diag *diag)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *built = NULL;
    STACK_OF(X509) *untrusted = NULL;
    int depth = -1;
    dga_err e = untrusted_new(chain, &untrusted);
    if (e == DGA_E_OK) {
        e = x509_path_build(sk_X509_value(chain, 0), untrusted, root, &built, &depth);
    }
    sk_X509_free(untrusted);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, depth);
    }
    return check_order(built, chain, root, DGA_DEVICE_CHAIN_LEN, diag);
}

/*
 * Leaf and BROM only, under a provisioner ICA that this cache verified in
 * full to the pinned root: the built path must be leaf, BROM, that ICA.
 */
static dga_err path_verify_partial(STACK_OF(X509) *chain, X509 *ica, struct dga_diag *diag)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *built = NULL;
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int depth = -1;
    dga_err e = untrusted != NULL ? DGA_E_OK : DGA_E_NOMEM;
    if (e == DGA_E_OK && sk_X509_push(untrusted, sk_X509_value(chain, 1)) <= 0) {
        e = DGA_E_NOMEM;
    }
    if (e == DGA_E_OK) {
        e = x509_path_build_partial(sk_X509_value(chain, 0), untrusted, ica, &built, &depth);
    }
    sk_X509_free(untrusted);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, depth);
    }
    return check_order(built, chain, ica, SUFFIX_START + 1, diag);
}

static dga_err check_algorithms(STACK_OF(X509) *chain, struct dga_diag *diag)
{
    for (int i = 0; i < DGA_DEVICE_CHAIN_LEN; i++) {
        if (!x509_algorithms_ok(sk_X509_value(chain, i))) {
            return fail_at(diag, DGA_E_CHAIN_ALGORITHM, i);
        }
    }
    return DGA_E_OK;
}

bool x509_algorithms_ok(X509 *x)
{
    return x != NULL && x509_key_is_p384(X509_get0_pubkey(x)) &&
           X509_get_signature_nid(x) == NID_ecdsa_with_SHA384;
}

/* Full DER equality. */
dga_err x509_der_equal(X509 *a, X509 *b, bool *ret)
{
    _cleanup_(OPENSSL_freep) unsigned char *da = NULL;
    _cleanup_(OPENSSL_freep) unsigned char *db = NULL;
    int la = i2d_X509(a, &da);
    int lb = i2d_X509(b, &db);
    if (la <= 0 || lb <= 0) {
        ERR_clear_error();
        return DGA_E_BAD_CERT;
    }
    *ret = la == lb && memcmp(da, db, (size_t)la) == 0;
    return DGA_E_OK;
}

/* First CN of x's subject as a C string: bounded, no embedded NUL. */
dga_err x509_first_cn(X509 *x, char *out, size_t cap)
{
    const X509_NAME *name = X509_get_subject_name(x);
    int idx = name != NULL ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    const X509_NAME_ENTRY *entry = idx >= 0 ? X509_NAME_get_entry(name, idx) : NULL;
    const ASN1_STRING *cn = entry != NULL ? X509_NAME_ENTRY_get_data(entry) : NULL;
    if (cn == NULL || ASN1_STRING_length(cn) <= 0) {
        return DGA_E_BAD_CERT;
    }
    size_t len = (size_t)ASN1_STRING_length(cn);
    const unsigned char *data = ASN1_STRING_get0_data(cn);
    if (len >= cap || memchr(data, '\0', len) != NULL) {
        return DGA_E_BAD_CERT;
    }
    memcpy(out, data, len);
    out[len] = '\0';
    return DGA_E_OK;
}

static const char *arch_leaf_prefix(enum dga_arch arch)
{
    switch (arch) {
    case DGA_ARCH_HOPPER:
        return "GH100";
    case DGA_ARCH_BLACKWELL:
        return "GB100";
    case DGA_ARCH_LS10:
        return "LS_10";
    }
    return NULL;
}

static dga_err check_arch(X509 *leaf, enum dga_arch arch, struct dga_diag *diag)
{
    char cn[128];
    const char *prefix = arch_leaf_prefix(arch);
    dga_err e = x509_first_cn(leaf, cn, sizeof cn);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, 0);
    }
    if (prefix == NULL || strncmp(cn, prefix, strlen(prefix)) != 0) {
        return fail_at(diag, DGA_E_ARCH_MISMATCH, 0);
    }
    return DGA_E_OK;
}

dga_err x509_read_validity(STACK_OF(X509) *certs, time_t at, struct dga_chain_info *info,
                           int *ret_index)
{
    int n = sk_X509_num(certs);
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(certs, i);
        time_t not_before, not_after;
        if (x == NULL || utc_from_asn1(X509_get0_notBefore(x), &not_before) != DGA_E_OK ||
            utc_from_asn1(X509_get0_notAfter(x), &not_after) != DGA_E_OK) {
            *ret_index = i;
            return DGA_E_BAD_CERT;
        }
        if (i == 0 || not_after < info->not_after_min) {
            info->not_after_min = not_after;
        }
        /*
         * The notAfter second itself counts as expired, as OpenSSL (and so xmlsec1)
         * counts it: one second stricter than RFC 5280's inclusive reading, so that
         * our verdict and theirs never differ at the boundary.
         */
        info->expired = info->expired || not_after <= at;
        info->not_yet_valid = info->not_yet_valid || not_before > at;
    }
    dga_time_format(info->not_after_min, info->expiration_date);
    return DGA_E_OK;
}

/* Decimal serial of the leaf (BN_bn2dec). */
static dga_err read_ueid(X509 *leaf, char *out, size_t cap)
{
    _cleanup_(BN_freep) BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
    if (bn == NULL) {
        return DGA_E_BAD_CERT;
    }
    _cleanup_(OPENSSL_freep) char *dec = BN_bn2dec(bn);
    if (dec == NULL) {
        return DGA_E_NOMEM;
    }
    size_t len = strlen(dec);
    if (len >= cap) {
        return DGA_E_BAD_CERT;
    }
    memcpy(out, dec, len + 1);
    return DGA_E_OK;
}

static dga_err read_info(STACK_OF(X509) *chain, enum dga_arch arch, time_t at,
                         struct dga_chain_info *info, struct dga_diag *diag)
{
    X509 *leaf = sk_X509_value(chain, 0);
    dga_err e = x509_first_cn(sk_X509_value(chain, 1), info->hwmodel, sizeof info->hwmodel);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, 1);
    }
    e = read_ueid(leaf, info->ueid, sizeof info->ueid);
    if (e == DGA_E_OK) {
        e = dga_cert_fwid(leaf, arch, &info->leaf_has_fwid, info->leaf_fwid);
    }
    if (e != DGA_E_OK) {
        return fail_at(diag, e, 0);
    }
    int bad = -1;
    e = x509_read_validity(chain, at, info, &bad);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, bad);
    }
    return DGA_E_OK;
}

dga_err dga_chain_cache_new(struct dga_chain_cache **ret)
{
    struct dga_chain_cache *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = c;
    return DGA_E_OK;
}

void dga_chain_cache_free(struct dga_chain_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        free(c->s[i].key);
        X509_free(c->s[i].anchor);
    }
    free(c);
}

dga_err x509_suffix_key(char kind, STACK_OF(X509) *certs, int from, int to, X509 *extra,
                        unsigned char **ret, size_t *ret_len)
{
    size_t total = 1;
    for (int i = from; i <= to; i++) {
        X509 *x = i < to ? sk_X509_value(certs, i) : extra;
        int len = x != NULL ? i2d_X509(x, NULL) : 0;
        if (x != NULL && len <= 0) {
            ERR_clear_error();
            return DGA_E_BAD_CERT;
        }
        total += (size_t)len;
    }
    unsigned char *key = malloc(total);
    if (key == NULL) {
        return DGA_E_NOMEM;
    }
    unsigned char *p = key;
    *p++ = (unsigned char)kind;
    for (int i = from; i <= to; i++) {
        X509 *x = i < to ? sk_X509_value(certs, i) : extra;
        if (x != NULL && i2d_X509(x, &p) <= 0) {
            ERR_clear_error();
            free(key);
            return DGA_E_BAD_CERT;
        }
    }
    *ret = key;
    *ret_len = total;
    return DGA_E_OK;
}

X509 *x509_chain_cache_find(const struct dga_chain_cache *c, const unsigned char *key, size_t len)
{
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        if (c->s[i].len == len && memcmp(c->s[i].key, key, len) == 0) {
            return c->s[i].anchor;
        }
    }
    return NULL;
}

/*
 * A partial path under the anchor checks everything a full one does about
 * the certificates below it, except constraints that the certificates above
 * the anchor could put on them: only a suffix whose certificates above the
 * anchor carry no path length, name or policy constraint is reused.
 */
bool x509_suffix_reusable(STACK_OF(X509) *certs, int from, int to)
{
    static const int constraints[] = {NID_name_constraints, NID_policy_constraints,
                                      NID_inhibit_any_policy};
    for (int i = from; i < to; i++) {
        X509 *x = sk_X509_value(certs, i);
        if (X509_get_pathlen(x) != -1) {
            return false;
        }
        for (size_t k = 0; k < sizeof constraints / sizeof constraints[0]; k++) {
            if (X509_get_ext_by_NID(x, constraints[k], -1) >= 0) {
                return false;
            }
        }
    }
    return true;
}

void x509_chain_cache_add(struct dga_chain_cache *c, X509 *anchor, unsigned char *key, size_t len)
{
    if (c == NULL || c->n == CHAIN_CACHE_MAX || X509_up_ref(anchor) != 1) {
        free(key);
        return;
    }
    c->s[c->n++] = (struct verified_suffix){.key = key, .len = len, .anchor = anchor};
}

static dga_err check_shape(STACK_OF(X509) *chain, const struct dga_trust *trust,
                           struct dga_chain_info *ret, struct dga_diag *diag)
{
    if (chain == NULL || trust == NULL || trust->root == NULL || ret == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "arguments");
    }
    if (sk_X509_num(chain) != DGA_DEVICE_CHAIN_LEN) {
        int n = sk_X509_num(chain);
        return dga_diag_set(diag, DGA_E_CHAIN_LENGTH, n > 0 ? (size_t)n : 0, "certificate count");
    }
    for (int i = 0; i < DGA_DEVICE_CHAIN_LEN; i++) {
        if (sk_X509_value(chain, i) == NULL) {
            return fail_at(diag, DGA_E_BAD_ARGUMENT, i);
        }
    }
    return DGA_E_OK;
}

dga_err dga_device_chain_verify_cached(STACK_OF(X509) *chain, enum dga_arch arch,
                                       const struct dga_trust *trust, time_t at,
                                       struct dga_chain_cache *cache, struct dga_chain_info *ret,
                                       struct dga_diag *diag)
{
    struct dga_chain_info info;
    unsigned char *key = NULL;
    size_t key_len = 0;
    X509 *ica = NULL;
    memset(&info, 0, sizeof info);
    dga_err e = check_shape(chain, trust, ret, diag);
    if (e == DGA_E_OK) {
        e = check_root(chain, trust->root, diag);
    }
    if (e == DGA_E_OK && cache != NULL &&
        x509_suffix_key('D', chain, SUFFIX_START, DGA_DEVICE_CHAIN_LEN, NULL, &key, &key_len) ==
            DGA_E_OK) {
        ica = x509_chain_cache_find(cache, key, key_len);
    }
    if (e == DGA_E_OK) {
        e = ica != NULL ? path_verify_partial(chain, ica, diag)
                        : path_verify(chain, trust->root, diag);
    }
    if (e == DGA_E_OK) {
        e = check_algorithms(chain, diag);
    }
    if (e == DGA_E_OK) {
        e = check_arch(sk_X509_value(chain, 0), arch, diag);
    }
    if (e == DGA_E_OK) {
        e = read_info(chain, arch, at, &info, diag);
    }
    if (e == DGA_E_OK && ica == NULL && key != NULL &&
        x509_suffix_reusable(chain, SUFFIX_START + 1, DGA_DEVICE_CHAIN_LEN)) {
        /* verified in full just now */
        x509_chain_cache_add(cache, sk_X509_value(chain, SUFFIX_START), TAKE_PTR(key), key_len);
    }
    free(key);
    if (e == DGA_E_OK) {
        *ret = info;
    }
    return e;
}

dga_err dga_device_chain_verify(STACK_OF(X509) *chain, enum dga_arch arch,
                                const struct dga_trust *trust, time_t at,
                                struct dga_chain_info *ret, struct dga_diag *diag)
{
    return dga_device_chain_verify_cached(chain, arch, trust, at, NULL, ret, diag);
}
