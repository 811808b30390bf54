/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hex and base64. Base64 is OpenSSL's: its decoder behind a strict length/padding check,
 * its encoder behind a length check.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/codec.h"
#include "dga/util.h"

int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

static void trim(const char **text, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)(*text)[0])) {
        (*text)++;
        (*len)--;
    }
    while (*len > 0 && isspace((unsigned char)(*text)[*len - 1])) {
        (*len)--;
    }
}

static dga_err hex_to(const char *text, size_t len, uint8_t *out)
{
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hex_value(text[2 * i]);
        int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return DGA_E_BAD_HEX;
        }
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return DGA_E_OK;
}

dga_err dga_hex_decode(const char *text, size_t text_len, uint8_t **ret, size_t *ret_len)
{
    trim(&text, &text_len);
    if (text_len % 2 != 0) {
        return DGA_E_BAD_HEX;
    }
    uint8_t *out = malloc(text_len / 2 + 1);
    if (out == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = hex_to(text, text_len, out);
    if (e != DGA_E_OK) {
        free(out);
        return e;
    }
    *ret = out;
    *ret_len = text_len / 2;
    return DGA_E_OK;
}

dga_err dga_hex_decode_fixed(const char *text, uint8_t *out, size_t want)
{
    size_t len = strlen(text);
    trim(&text, &len);
    if (len != 2 * want) {
        return DGA_E_BAD_HEX;
    }
    return hex_to(text, len, out);
}

dga_err dga_hex_decode_exact(const char *text, uint8_t *out, size_t want)
{
    size_t len = strlen(text);
    if (len != 2 * want) {
        return DGA_E_BAD_HEX;
    }
    return hex_to(text, len, out);
}

static void hex_encode_with(const uint8_t *in, size_t n, char *out, const char *digits)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

void dga_hex_encode(const uint8_t *in, size_t n, char *out)
{
    hex_encode_with(in, n, out, "0123456789abcdef");
}

void dga_hex_encode_upper(const uint8_t *in, size_t n, char *out)
{
    hex_encode_with(in, n, out, "0123456789ABCDEF");
}

static bool is_base64_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '+' || ch == '/';
}

/* Strict form: length a multiple of 4, alphabet only, '=' only as 1-2 final pad chars. */
static dga_err base64_check(const char *text, size_t len, size_t *ret_pad)
{
    if (len % 4 != 0) {
        return DGA_E_BAD_BASE64;
    }
    size_t pad = 0;
    while (pad < 2 && pad < len && text[len - 1 - pad] == '=') {
        pad++;
    }
    for (size_t i = 0; i < len - pad; i++) {
        if (!is_base64_char(text[i])) {
            return DGA_E_BAD_BASE64;
        }
    }
    *ret_pad = pad;
    return DGA_E_OK;
}

dga_err dga_base64_decode(const char *text, size_t text_len, uint8_t **ret, size_t *ret_len)
{
    size_t pad;
    dga_err e = base64_check(text, text_len, &pad);
    if (e != DGA_E_OK) {
        return e;
    }
    if (text_len > (size_t)INT32_MAX) {
        return DGA_E_TOO_LARGE;
    }
    uint8_t *out = malloc(text_len / 4 * 3 + 1);
    if (out == NULL) {
        return DGA_E_NOMEM;
    }
    int n = text_len == 0 ? 0 : EVP_DecodeBlock(out, (const unsigned char *)text, (int)text_len);
    if (n < 0 || (size_t)n < pad) {
        free(out);
        return DGA_E_BAD_BASE64;
    }
    /* EVP_DecodeBlock counts padding as zero bytes; drop them. */
    *ret_len = (size_t)n - pad;
    out[*ret_len] = 0;
    *ret = out;
    return DGA_E_OK;
}

bool dga_mem_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++) {
        diff |= (uint8_t)(a[i] ^ b[i]);
    }
    return diff == 0;
}

dga_err base64_encode(const uint8_t *in, size_t n, char **ret)
{
    if ((in == NULL && n > 0) || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (n > (size_t)INT_MAX / 4 * 3) { /* EVP_EncodeBlock takes an int */
        return DGA_E_TOO_LARGE;
    }
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (out == NULL) {
        return DGA_E_NOMEM;
    }
    out[0] = '\0'; /* EVP_EncodeBlock writes nothing at all for 0 bytes */
    if (n > 0) {
        EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    }
    *ret = out;
    return DGA_E_OK;
}
