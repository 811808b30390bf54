/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the certificate layer's files; not part of the public API. */
#ifndef DGA_X509_INTERNAL_H
#define DGA_X509_INTERNAL_H

#include <stdbool.h>

#include <openssl/evp.h>

/* True when pkey is an EC key on secp384r1 (P-384). */
bool x509_key_is_p384(const EVP_PKEY *pkey);

#endif
