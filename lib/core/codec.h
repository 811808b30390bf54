/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Codec pieces the library's layers share but programs do not need (the public
 * codecs are in dga/util.h): one hex digit reader, so that every hex parser in
 * the library agrees on which characters are digits, and the one base64 encoder.
 */
#ifndef DGA_CORE_CODEC_H
#define DGA_CORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "dga/error.h"

/* The value of one hex digit (0-9, a-f, A-F), or -1 for any other character. */
int hex_value(char ch);

/*
 * Standard base64 with padding (RFC 4648 §4), no line breaks (OpenSSL's
 * EVP_EncodeBlock), of n bytes: *ret is a malloc'd NUL-terminated string,
 * untouched on failure. DGA_E_BAD_ARGUMENT, DGA_E_TOO_LARGE (more than
 * EVP_EncodeBlock takes), DGA_E_NOMEM.
 */
dga_err base64_encode(const uint8_t *in, size_t n, char **ret);

#endif
