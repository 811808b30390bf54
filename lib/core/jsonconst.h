/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a const JSON object with jansson's iterators. json_object_foreach
 * (json_object_iter, json_object_iter_next, ...) takes a json_t * even to read,
 * so a function that is handed a const json_t * must drop the const to walk its
 * members. This is the one place that does: the result is for iterating only,
 * and nothing may be written through it.
 */
#ifndef DGA_CORE_JSONCONST_H
#define DGA_CORE_JSONCONST_H

#include <jansson.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
static inline json_t *json_iterable(const json_t *v)
{
    return (json_t *)v;
}
#pragma GCC diagnostic pop

#endif
