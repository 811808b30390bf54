/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The report signature (docs/formats.md §6): ECDSA P-384 / SHA-384 over
 * report[0 .. len-96) with the leaf's key; the signature is raw r||s.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "core/cleanup.h"
#include "dga/x509.h"
#include "x509/internal.h"

#define ECDSA_P384_COORD_LEN (DGA_SIGNATURE_LEN / 2)

bool dga_key_is_p384(const EVP_PKEY *pkey)
{
    char group[64];
    size_t group_len = 0;
    if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
        return false;
    }
    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &group_len) != 1 ||
        group_len >= sizeof group) {
        return false;
    }
    group[group_len] = '\0';
    return OBJ_sn2nid(group) == NID_secp384r1;
}

/* Raw r||s to a DER ECDSA-Sig-Value (OPENSSL_malloc'd). */
static dga_err sig_to_der(const uint8_t sig[DGA_SIGNATURE_LEN], unsigned char **ret,
                          size_t *ret_len)
{
    _cleanup_(BN_freep) BIGNUM *r = BN_bin2bn(sig, ECDSA_P384_COORD_LEN, NULL);
    _cleanup_(BN_freep) BIGNUM *s =
        BN_bin2bn(sig + ECDSA_P384_COORD_LEN, ECDSA_P384_COORD_LEN, NULL);
    _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = ECDSA_SIG_new();
    unsigned char *der = NULL;
    if (r == NULL || s == NULL || es == NULL) {
        return DGA_E_NOMEM;
    }
    if (ECDSA_SIG_set0(es, r, s) != 1) {
        return DGA_E_SIGNATURE_INVALID;
    }
    r = NULL; /* owned by es now */
    s = NULL;
    int der_len = i2d_ECDSA_SIG(es, &der);
    if (der_len <= 0) {
        return DGA_E_SIGNATURE_INVALID;
    }
    *ret = der;
    *ret_len = (size_t)der_len;
    return DGA_E_OK;
}

static dga_err digest_verify(EVP_PKEY *pkey, const uint8_t *msg, size_t len,
                             const unsigned char *der, size_t der_len)
{
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL) {
        return DGA_E_NOMEM;
    }
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, pkey) != 1) {
        return DGA_E_SIGNATURE_INVALID;
    }
    if (EVP_DigestVerify(md, der, der_len, msg, len) != 1) {
        return DGA_E_SIGNATURE_INVALID;
    }
    return DGA_E_OK;
}

dga_err dga_p384_verify_raw(EVP_PKEY *pkey, const uint8_t *msg, size_t len,
                            const uint8_t sig[DGA_SIGNATURE_LEN])
{
    static const uint8_t empty[1] = {0};
    _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
    size_t der_len = 0;
    if (!dga_key_is_p384(pkey)) {
        ERR_clear_error();
        return DGA_E_CHAIN_ALGORITHM;
    }
    dga_err e = sig_to_der(sig, &der, &der_len);
    if (e == DGA_E_OK) {
        x509_stats_add(1);
        e = digest_verify(pkey, msg != NULL ? msg : empty, len, der, der_len);
    }
    if (e != DGA_E_OK) {
        ERR_clear_error();
    }
    return e;
}

dga_err dga_report_signature_verify(X509 *leaf, const uint8_t *msg, size_t len,
                                    const uint8_t sig[DGA_SIGNATURE_LEN])
{
    if (leaf == NULL || sig == NULL || (msg == NULL && len > 0)) {
        return DGA_E_BAD_ARGUMENT;
    }
    return dga_p384_verify_raw(X509_get0_pubkey(leaf), msg, len, sig);
}
