/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The forms a quote arrives in: the binary quote itself, hex text (what
 * dcap-qvl's samples and `0x`-prefixed tools print), or the JSON object of
 * dstack's GetQuote response, whose "quote" member is that hex. The form is
 * told from the first bytes: a binary quote starts with its little-endian
 * version (3, 4 or 5 then a zero byte), which no text starts with.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/cleanup.h"
#include "dga/quote.h"
#include "dga/util.h"

static bool is_space(uint8_t ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

static bool is_binary(const uint8_t *in, size_t len)
{
    return len >= 2 && in[1] == 0 && (in[0] == 3 || in[0] == 4 || in[0] == 5);
}

/* Hex text with surrounding whitespace and an optional 0x/0X prefix; at least one byte. */
static dga_err hex_quote(const char *text, size_t len, uint8_t **ret, size_t *ret_len)
{
    while (len > 0 && is_space((uint8_t)text[0])) {
        text++;
        len--;
    }
    if (len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        text += 2;
        len -= 2;
    }
    uint8_t *bytes = NULL;
    size_t n = 0;
    if (len == 0 || is_space((uint8_t)text[0]) ||
        dga_hex_decode(text, len, &bytes, &n) != DGA_E_OK) {
        return DGA_E_QUOTE_INPUT;
    }
    if (n == 0) {
        free(bytes);
        return DGA_E_QUOTE_INPUT;
    }
    *ret = bytes;
    *ret_len = n;
    return DGA_E_OK;
}

/* dstack's GetQuote response: an object whose "quote" member is hex text. */
static dga_err json_quote(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len,
                          struct dga_diag *diag)
{
    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *j =
        json_loadb((const char *)in, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(j)) {
        size_t at = j == NULL && jerr.position > 0 ? (size_t)jerr.position : 0;
        return dga_diag_set(diag, DGA_E_QUOTE_INPUT, at, "json");
    }
    json_t *quote = json_object_get(j, "quote");
    if (!json_is_string(quote)) {
        return dga_diag_set(diag, DGA_E_QUOTE_INPUT, 0, "quote");
    }
    if (hex_quote(json_string_value(quote), json_string_length(quote), ret, ret_len) != DGA_E_OK) {
        return dga_diag_set(diag, DGA_E_QUOTE_INPUT, 0, "quote");
    }
    return DGA_E_OK;
}

static dga_err binary_quote(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len)
{
    uint8_t *copy = malloc(len);
    if (copy == NULL) {
        return DGA_E_NOMEM;
    }
    memcpy(copy, in, len);
    *ret = copy;
    *ret_len = len;
    return DGA_E_OK;
}

dga_err dga_quote_input_decode(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len,
                               enum dga_quote_form *form, struct dga_diag *diag)
{
    if (len > DGA_QUOTE_MAX_LEN) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, DGA_QUOTE_MAX_LEN, "input");
    }
    if (in == NULL || len == 0) {
        return dga_diag_set(diag, DGA_E_QUOTE_INPUT, 0, "input");
    }
    uint8_t *bytes = NULL;
    size_t n = 0;
    enum dga_quote_form f;
    dga_err e;
    size_t first = 0;
    while (first < len && is_space(in[first])) {
        first++;
    }
    if (is_binary(in, len)) {
        f = DGA_QUOTE_FORM_BINARY;
        e = binary_quote(in, len, &bytes, &n);
    } else if (first < len && in[first] == '{') {
        f = DGA_QUOTE_FORM_JSON;
        e = json_quote(in, len, &bytes, &n, diag);
    } else {
        f = DGA_QUOTE_FORM_HEX;
        e = hex_quote((const char *)in, len, &bytes, &n);
    }
    if (e != DGA_E_OK && f != DGA_QUOTE_FORM_JSON) { /* json_quote named the member */
        return dga_diag_set(diag, e, 0, f == DGA_QUOTE_FORM_HEX ? "hex" : "input");
    }
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = bytes;
    *ret_len = n;
    if (form != NULL) {
        *form = f;
    }
    return DGA_E_OK;
}
