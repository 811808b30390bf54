/* SPDX-License-Identifier: Apache-2.0 */
/* Re-signing a patched report with a test device key (resign.h). */
#include "resign.h"

#include <stdio.h>

#include <openssl/ecdsa.h>
#include <openssl/pem.h>

EVP_PKEY *fake_read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

bool fake_sign_raw(EVP_PKEY *key, const unsigned char *msg, size_t len,
                   unsigned char out[FAKE_SIG_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[160];
    size_t der_len = sizeof der;
    bool ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) == 1 &&
              EVP_DigestSign(md, der, &der_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    const unsigned char *p = der;
    ECDSA_SIG *sig = ok ? d2i_ECDSA_SIG(NULL, &p, (long)der_len) : NULL;
    ok =
        sig != NULL && BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, FAKE_COORD_LEN) == FAKE_COORD_LEN &&
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + FAKE_COORD_LEN, FAKE_COORD_LEN) == FAKE_COORD_LEN;
    ECDSA_SIG_free(sig);
    return ok;
}

bool fake_resign(EVP_PKEY *key, unsigned char *report, size_t len)
{
    if (key == NULL || len <= FAKE_SIG_LEN) {
        return false;
    }
    return fake_sign_raw(key, report, len - FAKE_SIG_LEN, report + len - FAKE_SIG_LEN);
}
