/* SPDX-License-Identifier: Apache-2.0 */
#include "core/cursor.h"

#include <string.h>

/* The only bounds check: written so that it cannot wrap. */
static bool cursor_need(const struct cursor *c, size_t n)
{
    return c->off <= c->len && n <= c->len - c->off;
}

dga_err cursor_bytes(struct cursor *c, size_t n, const uint8_t **ret)
{
    if (!cursor_need(c, n)) {
        return DGA_E_TRUNCATED;
    }
    *ret = c->p + c->off;
    c->off += n;
    return DGA_E_OK;
}

dga_err cursor_copy(struct cursor *c, void *dst, size_t n)
{
    const uint8_t *src;
    dga_err e = cursor_bytes(c, n, &src);
    if (e != DGA_E_OK) {
        return e;
    }
    if (n > 0) { /* src may be NULL for an empty cursor: memcpy must not see it */
        memcpy(dst, src, n);
    }
    return DGA_E_OK;
}

dga_err cursor_u8(struct cursor *c, uint8_t *ret)
{
    const uint8_t *b;
    dga_err e = cursor_bytes(c, 1, &b);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = b[0];
    return DGA_E_OK;
}

dga_err cursor_u16le(struct cursor *c, uint16_t *ret)
{
    const uint8_t *b;
    dga_err e = cursor_bytes(c, 2, &b);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = (uint16_t)(b[0] | (b[1] << 8));
    return DGA_E_OK;
}

dga_err cursor_u24le(struct cursor *c, uint32_t *ret)
{
    const uint8_t *b;
    dga_err e = cursor_bytes(c, 3, &b);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16);
    return DGA_E_OK;
}

dga_err cursor_u32le(struct cursor *c, uint32_t *ret)
{
    const uint8_t *b;
    dga_err e = cursor_bytes(c, 4, &b);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
    return DGA_E_OK;
}

dga_err cursor_sub(struct cursor *c, size_t n, struct cursor *ret)
{
    const uint8_t *b;
    size_t start = cursor_pos(c);
    dga_err e = cursor_bytes(c, n, &b);
    if (e != DGA_E_OK) {
        return e;
    }
    ret->p = b;
    ret->len = n;
    ret->off = 0;
    ret->base = start;
    return DGA_E_OK;
}

dga_err cursor_end(const struct cursor *c)
{
    return cursor_left(c) == 0 ? DGA_E_OK : DGA_E_TRAILING_BYTES;
}
