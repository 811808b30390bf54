/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A growing byte buffer with a hard cap chosen at each use (after curl's dynbuf):
 * appends past the cap fail with DGA_E_TOO_LARGE and leave the buffer unchanged.
 * And the one copy of length-bounded bytes into a fresh string.
 */
#ifndef DGA_CORE_BUF_H
#define DGA_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "dga/error.h"

struct buf {
    uint8_t *data;
    size_t len;
    size_t alloc;
    size_t cap; /* the most bytes this buffer may ever hold */
};

static inline struct buf buf_init(size_t cap)
{
    struct buf b = {.data = NULL, .len = 0, .alloc = 0, .cap = cap};
    return b;
}

dga_err buf_append(struct buf *b, const void *p, size_t n);
dga_err buf_append_str(struct buf *b, const char *s);
/* Adds a NUL after the data (not counted in len, not counted against cap). */
dga_err buf_terminate(struct buf *b);
/* Hands out the data; the buffer is empty afterwards. */
uint8_t *buf_take(struct buf *b);
void buf_free(struct buf *b);
/* _cleanup_(buf_freep) struct buf b = buf_init(cap); */
static inline void buf_freep(struct buf *b)
{
    buf_free(b);
}

/*
 * A malloc'd copy of the len bytes at p with a NUL after them (p may be NULL when
 * len is 0). It reads exactly len bytes: p need not be NUL-terminated, which is
 * why strndup (that looks for a NUL) is not used. The copy holds any NUL bytes of
 * p as they are. NULL when out of memory.
 */
char *bytes_dup_text(const void *p, size_t len);

#endif
