/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building JSON output with jansson without ever dropping a member: jansson's
 * setters return -1 (and json_string NULL) when memory runs out, and a caller
 * that ignores that prints an object with a key silently missing. These
 * helpers keep the first failure in *e, so a builder sets every member and
 * checks once, and standard base64 as a JSON string.
 */
#ifndef DGA_CORE_JSON_H
#define DGA_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dga/error.h"

/*
 * o[key] = v, taking v's reference in every case. When *e already holds a
 * failure nothing is set; a NULL v (a value that could not be made) or a set
 * that fails makes *e DGA_E_NOMEM.
 */
void json_put(json_t *o, const char *key, json_t *v, dga_err *e);
/* Appends v to the array a, as json_put sets a member. */
void json_push(json_t *a, json_t *v, dga_err *e);
/* Standard base64 with padding (RFC 4648 §4) of n bytes as a JSON string; NULL on failure. */
json_t *base64_json(const uint8_t *in, size_t n);
/* Lowercase hex of n bytes as a JSON string; NULL on failure. */
json_t *hex_json(const uint8_t *in, size_t n);

#endif
