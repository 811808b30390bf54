/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Base64url without padding (RFC 7515 §2, RFC 4648 §5), as JWS compact
 * serialization uses it. The decoder is strict: alphabet A-Z a-z 0-9 - _
 * only, no '=', no whitespace, no length of 4n+1, and the unused low bits
 * of the last character must be zero, so every byte string has exactly one
 * accepted encoding.
 */
#include <stdlib.h>

#include "dga/util.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }
    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }
    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }
    if (ch == '-') {
        return 62;
    }
    if (ch == '_') {
        return 63;
    }
    return -1;
}

dga_err dga_base64url_encode(const uint8_t *in, size_t n, char **ret)
{
    if ((in == NULL && n > 0) || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (n > (SIZE_MAX - 1) / 4 * 3 - 3) {
        return DGA_E_TOO_LARGE;
    }
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (out == NULL) {
        return DGA_E_NOMEM;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t left = n - i;
        if (left > 1) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        if (left > 2) {
            v |= in[i + 2];
        }
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (left > 1) {
            out[o++] = alphabet[(v >> 6) & 63];
        }
        if (left > 2) {
            out[o++] = alphabet[v & 63];
        }
    }
    out[o] = '\0';
    *ret = out;
    return DGA_E_OK;
}

/* Decodes `len` (2..4) characters into len-1 bytes; the unused bits must be zero. */
static dga_err decode_group(const char *text, size_t len, uint8_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++) {
        int d = i < len ? b64url_value(text[i]) : 0;
        if (d < 0) {
            return DGA_E_BAD_BASE64;
        }
        v = (v << 6) | (uint32_t)d;
    }
    uint8_t bytes[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    size_t nbytes = len - 1;
    if ((len == 2 && (v & 0xFFFF) != 0) || (len == 3 && (v & 0xFF) != 0)) {
        return DGA_E_BAD_BASE64; /* non-canonical: unused bits set */
    }
    for (size_t i = 0; i < nbytes; i++) {
        out[i] = bytes[i];
    }
    return DGA_E_OK;
}

dga_err dga_base64url_decode(const char *text, size_t text_len, uint8_t **ret, size_t *ret_len)
{
    if ((text == NULL && text_len > 0) || ret == NULL || ret_len == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (text_len % 4 == 1) {
        return DGA_E_BAD_BASE64;
    }
    size_t n = text_len / 4 * 3 + (text_len % 4 == 0 ? 0 : text_len % 4 - 1);
    uint8_t *out = malloc(n + 1);
    if (out == NULL) {
        return DGA_E_NOMEM;
    }
    size_t o = 0;
    for (size_t i = 0; i < text_len; i += 4) {
        size_t group = text_len - i < 4 ? text_len - i : 4;
        dga_err e = decode_group(text + i, group, out + o);
        if (e != DGA_E_OK) {
            free(out);
            return e;
        }
        o += group - 1;
    }
    out[n] = 0;
    *ret = out;
    *ret_len = n;
    return DGA_E_OK;
}
