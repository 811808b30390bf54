/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the strict switch-collection JSON reader
 * (dga_switch_collection_from_json), what the NSCQ deadline child hands the parent and what
 * `collect --nscq` writes. The input is passed with its exact length and no terminating NUL.
 * A collection that parses is serialised again, read back (it must parse: the writer's output
 * is the reader's language), and freed, so LeakSanitizer checks ownership.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dga/collect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct dga_switch_collection *c)
{
    static struct dga_switch_collection again;
    json_t *j = dga_switch_collection_to_json(c);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL) {
        return; /* out of memory */
    }
    if (dga_switch_collection_from_json(text, strlen(text), &again, NULL) != DGA_E_OK) {
        abort();
    }
    dga_switch_collection_clear(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dga_switch_collection c;
    struct dga_diag diag = {0};
    if (dga_switch_collection_from_json((const char *)data, size, &c, &diag) == DGA_E_OK) {
        round_trip(&c);
        dga_switch_collection_clear(&c);
    }
    return 0;
}
