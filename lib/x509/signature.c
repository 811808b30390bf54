/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The report signature (docs/formats.md §6): ECDSA P-384 / SHA-384 over
 * report[0 .. len-96) with the leaf's key; the signature is raw r||s. And its
 * P-256 / SHA-256 sibling, which Intel's TDX quotes and collateral use.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "core/cleanup.h"
#include "dga/x509.h"
#include "x509/internal.h"

#define ECDSA_P384_COORD_LEN (DGA_SIGNATURE_LEN / 2)
#define ECDSA_P256_COORD_LEN (DGA_P256_SIGNATURE_LEN / 2)

DEFINE_FREEP(EVP_PKEY_CTX, EVP_PKEY_CTX_free)

static bool key_is_curve(const EVP_PKEY *pkey, int nid)
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
    return OBJ_sn2nid(group) == nid;
}

bool dga_key_is_p384(const EVP_PKEY *pkey)
{
    return key_is_curve(pkey, NID_secp384r1);
}

/* Raw r||s to a DER ECDSA-Sig-Value (OPENSSL_malloc'd). */
static dga_err sig_to_der(const uint8_t *sig, size_t coord_len, unsigned char **ret,
                          size_t *ret_len)
{
    _cleanup_(BN_freep) BIGNUM *r = BN_bin2bn(sig, (int)coord_len, NULL);
    _cleanup_(BN_freep) BIGNUM *s = BN_bin2bn(sig + coord_len, (int)coord_len, NULL);
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

/*
 * SHA-256 and SHA-384, fetched from the default provider once per process and
 * kept for its lifetime. A legacy EVP_sha384() has no provider, so every
 * EVP_DigestInit_ex with it fetches the implementation again (a method-store
 * lookup under a lock), and OpenSSL 3.0's EVP_DigestVerifyInit re-fetches its
 * digest by name even when given a fetched one. Hashing with the fetched
 * digest and verifying the hash (EVP_PKEY_verify: ECDSA_verify, as
 * EVP_DigestVerify's final step calls it) does neither. Fetched EVP_MD
 * objects are immutable and documented as shareable between threads
 * (openssl-threads(7)); every EVP_MD_CTX and EVP_PKEY_CTX stays per call.
 */
struct fetched_md {
    pthread_once_t once;
    EVP_MD *md;
};

/* Each on first use: a process that never hashes with SHA-256 does not fetch it. */
static struct fetched_md sha256 = {.once = PTHREAD_ONCE_INIT};
static struct fetched_md sha384 = {.once = PTHREAD_ONCE_INIT};

static void fetch_sha256(void)
{
    sha256.md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    ERR_clear_error(); /* a failed fetch shows as NULL: the caller fails closed */
}

static void fetch_sha384(void)
{
    sha384.md = EVP_MD_fetch(NULL, "SHA2-384", NULL);
    ERR_clear_error();
}

const EVP_MD *dga_md_sha256(void)
{
    pthread_once(&sha256.once, fetch_sha256);
    return sha256.md;
}

const EVP_MD *dga_md_sha384(void)
{
    pthread_once(&sha384.once, fetch_sha384);
    return sha384.md;
}

static dga_err digest_verify(EVP_PKEY *pkey, const EVP_MD *digest, const uint8_t *msg, size_t len,
                             const unsigned char *der, size_t der_len)
{
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int hash_len = 0;
    if (digest == NULL) {
        return DGA_E_INTERNAL;
    }
    if (EVP_Digest(msg, len, hash, &hash_len, digest, NULL) != 1) {
        return DGA_E_NOMEM;
    }
    _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL) {
        return DGA_E_NOMEM;
    }
    if (EVP_PKEY_verify_init(ctx) != 1 || EVP_PKEY_verify(ctx, der, der_len, hash, hash_len) != 1) {
        return DGA_E_SIGNATURE_INVALID;
    }
    return DGA_E_OK;
}

/* ECDSA with the curve's coordinate length and digest; counts one verification. */
static dga_err ecdsa_verify_raw(EVP_PKEY *pkey, int nid, const EVP_MD *digest, size_t coord_len,
                                const uint8_t *msg, size_t len, const uint8_t *sig)
{
    static const uint8_t empty[1] = {0};
    _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
    size_t der_len = 0;
    if (!key_is_curve(pkey, nid)) {
        ERR_clear_error();
        return DGA_E_CHAIN_ALGORITHM;
    }
    dga_err e = sig_to_der(sig, coord_len, &der, &der_len);
    if (e == DGA_E_OK) {
        x509_stats_add(1);
        e = digest_verify(pkey, digest, msg != NULL ? msg : empty, len, der, der_len);
    }
    if (e != DGA_E_OK) {
        ERR_clear_error();
    }
    return e;
}

dga_err dga_p384_verify_raw(EVP_PKEY *pkey, const uint8_t *msg, size_t len,
                            const uint8_t sig[DGA_SIGNATURE_LEN])
{
    return ecdsa_verify_raw(pkey, NID_secp384r1, dga_md_sha384(), ECDSA_P384_COORD_LEN, msg, len,
                            sig);
}

dga_err dga_p256_verify_raw(EVP_PKEY *pkey, const uint8_t *msg, size_t len,
                            const uint8_t sig[DGA_P256_SIGNATURE_LEN])
{
    if (sig == NULL || (msg == NULL && len > 0)) {
        return DGA_E_BAD_ARGUMENT;
    }
    return ecdsa_verify_raw(pkey, NID_X9_62_prime256v1, dga_md_sha256(), ECDSA_P256_COORD_LEN, msg,
                            len, sig);
}

/*
 * Imported from its parameters (group and uncompressed point) rather than
 * decoded from a SubjectPublicKeyInfo: OpenSSL 3.0's decoder framework costs
 * more than the verification the key is for, the import a fraction of it.
 * The import checks that the point is on the curve (EC_POINT_oct2point).
 */
dga_err dga_p256_key_from_raw(const uint8_t xy[DGA_P256_POINT_LEN], EVP_PKEY **ret)
{
    uint8_t point[1 + DGA_P256_POINT_LEN];
    char group[] = "P-256";
    if (xy == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    point[0] = 0x04; /* uncompressed */
    memcpy(point + 1, xy, DGA_P256_POINT_LEN);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
        OSSL_PARAM_construct_end(),
    };
    _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        ERR_clear_error();
        return ctx == NULL ? DGA_E_NOMEM : DGA_E_SIGNATURE_INVALID;
    }
    *ret = pkey;
    return DGA_E_OK;
}

dga_err dga_report_signature_verify(X509 *leaf, const uint8_t *msg, size_t len,
                                    const uint8_t sig[DGA_SIGNATURE_LEN])
{
    if (leaf == NULL || sig == NULL || (msg == NULL && len > 0)) {
        return DGA_E_BAD_ARGUMENT;
    }
    return dga_p384_verify_raw(X509_get0_pubkey(leaf), msg, len, sig);
}
