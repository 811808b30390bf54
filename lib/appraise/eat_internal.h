/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the EAT files of lib/appraise share (eat_key.c, eat_build.c,
 * eat_verify.c). A detached EAT (docs/formats.md §12) is
 *   [["JWT", "<overall>"], {"GPU-0": "<submod>", ...}]
 * Each token is a compact JWS, ES384 with raw r||s signatures (RFC 7518
 * §3.4). JSON is serialized compactly with sorted keys, so a token is a
 * function of its claims, iat and jti.
 */
#ifndef DGA_APPRAISE_EAT_INTERNAL_H
#define DGA_APPRAISE_EAT_INTERNAL_H

#include <stdbool.h>

#include <openssl/evp.h>

#define EAT_MAX_SUBMODS 64
#define EAT_LABEL_MAX 32 /* a submod label and its NUL */
#define HEX_LEN(n) (2 * (n) + 1)

/* True when key holds a private scalar (a public-only key cannot sign). */
bool eat_key_is_private(const EVP_PKEY *key);

#endif
