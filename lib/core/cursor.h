/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one bounded read cursor for untrusted bytes. Every read checks the
 * remaining length in one place (cursor_need); a failed read returns
 * DGA_E_TRUNCATED and leaves the cursor exactly where it was.
 */
#ifndef DGA_CORE_CURSOR_H
#define DGA_CORE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dga/error.h"

struct cursor {
    const uint8_t *p;
    size_t len;
    size_t off;
    size_t base; /* offset of p[0] in the outermost input, for diagnostics */
};

static inline struct cursor cursor_init(const uint8_t *p, size_t len)
{
    struct cursor c = {.p = p, .len = len, .off = 0, .base = 0};
    return c;
}

static inline size_t cursor_left(const struct cursor *c)
{
    return c->len - c->off;
}

/* Absolute offset of the next unread byte in the outermost input. */
static inline size_t cursor_pos(const struct cursor *c)
{
    return c->base + c->off;
}

/* Unsigned little-endian value of n <= 8 bytes already known to be in bounds. */
static inline uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) {
        v = (v << 8) | p[i - 1];
    }
    return v;
}

dga_err cursor_u8(struct cursor *c, uint8_t *ret);
dga_err cursor_u16le(struct cursor *c, uint16_t *ret);
dga_err cursor_u24le(struct cursor *c, uint32_t *ret);
dga_err cursor_u32le(struct cursor *c, uint32_t *ret);
/* Points *ret at the next n bytes (no copy). */
dga_err cursor_bytes(struct cursor *c, size_t n, const uint8_t **ret);
dga_err cursor_copy(struct cursor *c, void *dst, size_t n);
/* Splits off the next n bytes as a sub-cursor that the caller must consume exactly. */
dga_err cursor_sub(struct cursor *c, size_t n, struct cursor *ret);
/* DGA_E_OK if every byte was consumed, DGA_E_TRAILING_BYTES otherwise. */
dga_err cursor_end(const struct cursor *c);

#endif
