/* SPDX-License-Identifier: Apache-2.0 */
/* JSON builders that never drop a member (core/json.h). */
#include <stdint.h>
#include <stdlib.h>

#include "core/cleanup.h"
#include "core/codec.h"
#include "core/json.h"
#include "dga/util.h"

void json_put(json_t *o, const char *key, json_t *v, dga_err *e)
{
    if (*e != DGA_E_OK || v == NULL) {
        json_decref(v);
        *e = *e != DGA_E_OK ? *e : DGA_E_NOMEM;
        return;
    }
    if (json_object_set_new(o, key, v) != 0) { /* jansson dropped v */
        *e = DGA_E_NOMEM;
    }
}

void json_push(json_t *a, json_t *v, dga_err *e)
{
    if (*e != DGA_E_OK || v == NULL) {
        json_decref(v);
        *e = *e != DGA_E_OK ? *e : DGA_E_NOMEM;
        return;
    }
    if (json_array_append_new(a, v) != 0) { /* jansson dropped v */
        *e = DGA_E_NOMEM;
    }
}

json_t *hex_json(const uint8_t *in, size_t n)
{
    _cleanup_(freep) char *text = n <= (SIZE_MAX - 1) / 2 ? malloc(2 * n + 1) : NULL;
    if (text == NULL) {
        return NULL;
    }
    dga_hex_encode(in, n, text);
    return json_string(text);
}

json_t *base64_json(const uint8_t *in, size_t n)
{
    _cleanup_(freep) char *text = NULL;
    if (base64_encode(in, n, &text) != DGA_E_OK) {
        return NULL;
    }
    return json_string(text);
}
