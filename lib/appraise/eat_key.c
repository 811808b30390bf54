/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EAT keys: the one place that turns PEM text or a key file into the P-384
 * key that signs (dga_eat_build) or verifies (dga_eat_verify) detached EATs.
 * The gate, `attest --eat-key`, `eat verify --pubkey` and the tests all load
 * through here, so they accept and refuse the same files.
 */
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "appraise/eat_internal.h"
#include "core/cleanup.h"
#include "dga/eat.h"
#include "dga/util.h"
#include "dga/x509.h"

/* Never prompt for a passphrase: an encrypted key simply fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static dga_err pem_bio(const char *pem, size_t len, BIO **ret)
{
    if (pem == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (len > DGA_EAT_KEY_FILE_MAX) {
        return DGA_E_TOO_LARGE;
    }
    if (len == 0) {
        return DGA_E_BAD_PEM;
    }
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (b == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = b;
    return DGA_E_OK;
}

/* Hands out key if it is EC P-384. */
static dga_err take_p384(EVP_PKEY **key, EVP_PKEY **ret)
{
    ERR_clear_error();
    if (*key == NULL) {
        return DGA_E_BAD_PEM;
    }
    if (!dga_key_is_p384(*key)) {
        ERR_clear_error();
        return DGA_E_BAD_ARGUMENT;
    }
    *ret = TAKE_PTR(*key);
    return DGA_E_OK;
}

dga_err dga_eat_key_from_pem(const char *pem, size_t len, EVP_PKEY **ret)
{
    _cleanup_(BIO_free_allp) BIO *b = NULL;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
    if (ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = pem_bio(pem, len, &b);
    if (e != DGA_E_OK) {
        return e;
    }
    key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
    return take_p384(&key, ret);
}

static EVP_PKEY *pubkey_from_cert(const char *pem, size_t len)
{
    _cleanup_(BIO_free_allp) BIO *b = NULL;
    _cleanup_(X509_freep) X509 *x = NULL;
    if (pem_bio(pem, len, &b) != DGA_E_OK) {
        return NULL;
    }
    x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
    return x != NULL ? X509_get_pubkey(x) : NULL;
}

dga_err dga_eat_pubkey_from_pem(const char *pem, size_t len, EVP_PKEY **ret)
{
    _cleanup_(BIO_free_allp) BIO *b = NULL;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
    if (ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = pem_bio(pem, len, &b);
    if (e != DGA_E_OK) {
        return e;
    }
    key = PEM_read_bio_PUBKEY(b, NULL, no_passphrase, NULL);
    if (key == NULL) {
        key = pubkey_from_cert(pem, len);
    }
    return take_p384(&key, ret);
}

bool eat_key_is_private(const EVP_PKEY *key)
{
    BIGNUM *priv = NULL;
    bool ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &priv) == 1;
    BN_clear_free(priv);
    ERR_clear_error();
    return ok;
}

typedef dga_err (*key_from_pem_fn)(const char *pem, size_t len, EVP_PKEY **ret);

/* Reads path (capped), parses it with from_pem, and wipes the text either way. */
static dga_err key_load(const char *path, key_from_pem_fn from_pem, EVP_PKEY **ret)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    if (path == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = dga_file_read(path, DGA_EAT_KEY_FILE_MAX, &pem, &len);
    if (e != DGA_E_OK) {
        return e; /* errno still says why, for the caller's message */
    }
    e = from_pem((const char *)pem, len, ret);
    OPENSSL_cleanse(pem, len);
    free(pem);
    return e;
}

dga_err dga_eat_key_load(const char *path, EVP_PKEY **ret)
{
    return key_load(path, dga_eat_key_from_pem, ret);
}

dga_err dga_eat_pubkey_load(const char *path, EVP_PKEY **ret)
{
    return key_load(path, dga_eat_pubkey_from_pem, ret);
}
