/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device identity chain verification (docs/formats.md §7). The checks run
 * in the order the header documents: length, pinned root, OpenSSL path
 * validation, built order, algorithms, architecture; only then are hwmodel,
 * ueid, FWID, the device PDI and the validity window read.
 *
 * The path itself, the chain cache, DER equality, CN and validity come from
 * the generic chain API (path.c, struct dga_chain_path in dga/x509.h), on
 * which the RIM signing chain (lib/rim/chain.c) is built too.
 */
#include <string.h>

#include <openssl/err.h>

#include "core/cleanup.h"
#include "dga/x509.h"

static const char *const cert_names[DGA_DEVICE_CHAIN_LEN] = {
    "certificate 0 (leaf)",        "certificate 1 (BROM)", "certificate 2 (provisioner ICA)",
    "certificate 3 (identity CA)", "certificate 4 (root)",
};

/*
 * Certificates SUFFIX_START.. (ICA, identity CA, root) are shared by the GPUs
 * of a model: the chain cache's suffix. 'D' keeps device chains apart from
 * the RIM chains in the same cache.
 */
#define SUFFIX_START DGA_DEVICE_CHAIN_SHARED_FROM
#define CHAIN_KIND_DEVICE 'D'

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
    dga_err e = dga_cert_der_equal(sk_X509_value(chain, DGA_DEVICE_CHAIN_LEN - 1), root, &same);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, DGA_DEVICE_CHAIN_LEN - 1);
    }
    if (!same) {
        return fail_at(diag, DGA_E_CHAIN_ROOT, DGA_DEVICE_CHAIN_LEN - 1);
    }
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

/*
 * OpenSSL's path for certificates 0..3 (the presented root copy is never
 * offered to it), then the built order: leaf, BROM, ICA, identity CA, root
 * (for a whole chain the cache holds, that presented order itself); or,
 * under a provisioner ICA that the cache verified in full to the pinned
 * root, leaf, BROM, that ICA.
 */
static dga_err path_verify(struct dga_chain_path *p, STACK_OF(X509) *chain, struct dga_diag *diag)
{
    dga_err e = dga_chain_path_verify(p);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, p->depth);
    }
    return check_order(p->built, chain, p->top,
                       p->partial ? SUFFIX_START + 1 : DGA_DEVICE_CHAIN_LEN, diag);
}

static dga_err check_algorithms(STACK_OF(X509) *chain, struct dga_diag *diag)
{
    for (int i = 0; i < DGA_DEVICE_CHAIN_LEN; i++) {
        if (!dga_cert_algorithms_ok(sk_X509_value(chain, i))) {
            return fail_at(diag, DGA_E_CHAIN_ALGORITHM, i);
        }
    }
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
    dga_err e = dga_cert_first_cn(leaf, cn, sizeof cn);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, 0);
    }
    if (prefix == NULL || strncmp(cn, prefix, strlen(prefix)) != 0) {
        return fail_at(diag, DGA_E_ARCH_MISMATCH, 0);
    }
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
    dga_err e = dga_cert_first_cn(sk_X509_value(chain, 1), info->hwmodel, sizeof info->hwmodel);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, 1);
    }
    e = read_ueid(leaf, info->ueid, sizeof info->ueid);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, 0);
    }
    e = dga_cert_fwid(leaf, arch, &info->leaf_has_fwid, info->leaf_fwid);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, 0);
    }
    e = dga_cert_device_pdi(sk_X509_value(chain, 1), arch, &info->has_device_pdi, info->device_pdi);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, 1);
    }
    int bad = -1;
    e = dga_chain_validity(chain, at, info, &bad);
    if (e != DGA_E_OK) {
        return fail_at(diag, e, bad);
    }
    return DGA_E_OK;
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
    memset(&info, 0, sizeof info);
    dga_err e = check_shape(chain, trust, ret, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_root(chain, trust->root, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    _cleanup_(dga_chain_path_clearp) struct dga_chain_path p = {
        .certs = chain,
        .n = DGA_DEVICE_CHAIN_LEN - 1, /* the root copy equals trust->root: not a candidate */
        .root = trust->root,
        .cache = cache,
        .kind = CHAIN_KIND_DEVICE,
        .anchor = SUFFIX_START,
    };
    e = path_verify(&p, chain, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_algorithms(chain, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = check_arch(sk_X509_value(chain, 0), arch, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_info(chain, arch, at, &info, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    dga_chain_path_remember(&p); /* whole, and its suffix when verified in full just now */
    *ret = info;
    return DGA_E_OK;
}

dga_err dga_device_chain_verify(STACK_OF(X509) *chain, enum dga_arch arch,
                                const struct dga_trust *trust, time_t at,
                                struct dga_chain_info *ret, struct dga_diag *diag)
{
    return dga_device_chain_verify_cached(chain, arch, trust, at, NULL, ret, diag);
}
