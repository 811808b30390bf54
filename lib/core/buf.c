/* SPDX-License-Identifier: Apache-2.0 */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

static dga_err buf_reserve(struct buf *b, size_t need)
{
    if (need <= b->alloc) {
        return DGA_E_OK;
    }
    size_t n = b->alloc < 256 ? 256 : b->alloc;
    while (n < need) {
        n = n > SIZE_MAX / 2 ? need : n * 2;
    }
    uint8_t *p = realloc(b->data, n);
    if (p == NULL) {
        return DGA_E_NOMEM;
    }
    b->data = p;
    b->alloc = n;
    return DGA_E_OK;
}

dga_err buf_append(struct buf *b, const void *p, size_t n)
{
    /* Written as a subtraction so that it cannot wrap. */
    if (b->len > b->cap || n > b->cap - b->len) {
        return DGA_E_TOO_LARGE;
    }
    dga_err e = buf_reserve(b, b->len + n);
    if (e != DGA_E_OK) {
        return e;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    return DGA_E_OK;
}

dga_err buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

dga_err buf_terminate(struct buf *b)
{
    dga_err e = buf_reserve(b, b->len + 1);
    if (e != DGA_E_OK) {
        return e;
    }
    b->data[b->len] = 0;
    return DGA_E_OK;
}

uint8_t *buf_take(struct buf *b)
{
    uint8_t *p = b->data;
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

char *bytes_dup_text(const void *p, size_t len)
{
    if (len == SIZE_MAX) {
        return NULL; /* no room for the NUL */
    }
    char *text = malloc(len + 1);
    if (text == NULL) {
        return NULL;
    }
    if (len > 0) {
        memcpy(text, p, len);
    }
    text[len] = '\0';
    return text;
}
