/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scope-bound cleanup for heap memory, file descriptors and OpenSSL/jansson
 * objects, one line per type (after systemd): `_cleanup_(X509_freep) X509 *x = NULL;`.
 * TAKE_PTR hands ownership out of the scope. Every helper accepts NULL and
 * resets the variable. Public, so that the library and the programs built on
 * it release resources one way. The helpers for the library's own types
 * (dga_rim_freep, dga_trust_clearp, ...) are declared next to their
 * destructors, in each type's header.
 */
#ifndef DGA_CLEANUP_H
#define DGA_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _tp = (p);                                                                   \
        (p) = NULL;                                                                                \
        _tp;                                                                                       \
    })

#define DEFINE_FREEP(type, fn)                                                                     \
    static inline void fn##p(type **p)                                                             \
    {                                                                                              \
        if (*p != NULL) {                                                                          \
            fn(*p);                                                                                \
            *p = NULL;                                                                             \
        }                                                                                          \
    }

static inline void freep(void *p)
{
    free(*(void **)p);
    *(void **)p = NULL;
}

/* A descriptor, -1 for none: `_cleanup_(closep) int fd = open(...);`. */
static inline void closep(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

DEFINE_FREEP(X509, X509_free)
DEFINE_FREEP(X509_STORE, X509_STORE_free)
DEFINE_FREEP(X509_STORE_CTX, X509_STORE_CTX_free)
DEFINE_FREEP(EVP_PKEY, EVP_PKEY_free)
DEFINE_FREEP(EVP_MD_CTX, EVP_MD_CTX_free)
DEFINE_FREEP(BIO, BIO_free_all)
DEFINE_FREEP(BIGNUM, BN_free)
DEFINE_FREEP(ECDSA_SIG, ECDSA_SIG_free)
DEFINE_FREEP(ASN1_OBJECT, ASN1_OBJECT_free)
/* jansson >= 2.9 already defines json_decrefp (for json_auto_t) under GNU C. */
#if JANSSON_VERSION_HEX < 0x020900
DEFINE_FREEP(json_t, json_decref)
#endif

static inline void sk_X509_pop_freep(STACK_OF(X509) **p)
{
    if (*p != NULL) {
        sk_X509_pop_free(*p, X509_free);
        *p = NULL;
    }
}

/* A shallow stack: frees the stack only, not the certificates it lists. */
static inline void sk_X509_freep(STACK_OF(X509) **p)
{
    if (*p != NULL) {
        sk_X509_free(*p);
        *p = NULL;
    }
}

static inline void OPENSSL_freep(void *p)
{
    OPENSSL_free(*(void **)p);
    *(void **)p = NULL;
}

#endif
