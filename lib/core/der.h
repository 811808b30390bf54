/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny DER reader on struct cursor: single-byte tags (the high-tag-number
 * form is refused), definite lengths only, long form only when it is minimal.
 * Every malformation, including a length that runs past its enclosing
 * value, is DGA_E_BAD_DER. A failed read leaves the cursor where it was.
 */
#ifndef DGA_CORE_DER_H
#define DGA_CORE_DER_H

#include <stdint.h>

#include "core/cursor.h"
#include "dga/error.h"

#define DER_INTEGER 0x02
#define DER_BIT_STRING 0x03
#define DER_OCTET_STRING 0x04
#define DER_OID 0x06
#define DER_SEQUENCE 0x30
/* Context-specific, constructed [n]. */
#define DER_CONTEXT_CONS(n) ((uint8_t)(0xA0 | (n)))

/* Reads one TLV of any tag: *ret_tag and the value as a sub-cursor. */
dga_err der_read(struct cursor *c, uint8_t *ret_tag, struct cursor *ret_value);
/* Reads one TLV that must carry `tag`. */
dga_err der_expect(struct cursor *c, uint8_t tag, struct cursor *ret_value);
/* DGA_E_OK when every byte of c was read, DGA_E_BAD_DER otherwise. */
dga_err der_end(const struct cursor *c);

#endif
