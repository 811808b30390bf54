/* SPDX-License-Identifier: Apache-2.0 */
#include "core/der.h"

#include <stddef.h>

/* Longest long-form length we accept: 4 octets (values never come close). */
#define DER_MAX_LENGTH_OCTETS 4

static dga_err der_tag(struct cursor *c, uint8_t *ret)
{
    uint8_t tag;
    if (cursor_u8(c, &tag) != DGA_E_OK) {
        return DGA_E_BAD_DER;
    }
    if ((tag & 0x1F) == 0x1F) {
        return DGA_E_BAD_DER; /* high-tag-number form */
    }
    *ret = tag;
    return DGA_E_OK;
}

/* Long form: n length octets, minimal (no leading zero, value >= 0x80). */
static dga_err der_long_length(struct cursor *c, unsigned n, size_t *ret)
{
    size_t value = 0;
    if (n == 0 || n > DER_MAX_LENGTH_OCTETS) {
        return DGA_E_BAD_DER; /* 0x80 is the indefinite form */
    }
    for (unsigned i = 0; i < n; i++) {
        uint8_t b;
        if (cursor_u8(c, &b) != DGA_E_OK) {
            return DGA_E_BAD_DER;
        }
        if (i == 0 && b == 0) {
            return DGA_E_BAD_DER;
        }
        value = (value << 8) | b;
    }
    if (value < 0x80) {
        return DGA_E_BAD_DER;
    }
    *ret = value;
    return DGA_E_OK;
}

static dga_err der_length(struct cursor *c, size_t *ret)
{
    uint8_t first;
    if (cursor_u8(c, &first) != DGA_E_OK) {
        return DGA_E_BAD_DER;
    }
    if (first < 0x80) {
        *ret = first;
        return DGA_E_OK;
    }
    return der_long_length(c, (unsigned)(first & 0x7F), ret);
}

dga_err der_read(struct cursor *c, uint8_t *ret_tag, struct cursor *ret_value)
{
    struct cursor t = *c; /* work on a copy: a failure leaves c untouched */
    uint8_t tag;
    size_t len;
    struct cursor value;
    if (der_tag(&t, &tag) != DGA_E_OK || der_length(&t, &len) != DGA_E_OK) {
        return DGA_E_BAD_DER;
    }
    if (cursor_sub(&t, len, &value) != DGA_E_OK) {
        return DGA_E_BAD_DER; /* length past the end */
    }
    *c = t;
    *ret_tag = tag;
    *ret_value = value;
    return DGA_E_OK;
}

dga_err der_expect(struct cursor *c, uint8_t tag, struct cursor *ret_value)
{
    struct cursor t = *c;
    uint8_t got;
    struct cursor value;
    if (der_read(&t, &got, &value) != DGA_E_OK || got != tag) {
        return DGA_E_BAD_DER;
    }
    *c = t;
    *ret_value = value;
    return DGA_E_OK;
}

dga_err der_end(const struct cursor *c)
{
    return cursor_left(c) == 0 ? DGA_E_OK : DGA_E_BAD_DER;
}
