/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The topology section of the text output, shared by `topology check` and
 * `attest`: printed from dga_topology_json, the one description of a
 * topology check, so that both commands show the same thing.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* A string member, or `absent` when it is null (no PDI, no attested device with it). */
static const char *str_or(const json_t *o, const char *key, const char *absent)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : absent;
}

/* A status member as the views hold it: -1 when null (absent from the report). */
static long long status_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static long long count_of(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void print_gpu(const json_t *g)
{
    const json_t *links = json_object_get(g, "switches");
    printf("%s: PDI %s (certificate), %lld NVLinks to %zu NVSwitches\n", str_or(g, "label", ""),
           str_or(g, "pdi", "unknown"), count_of(g, "nvlinks"), json_array_size(links));
    size_t k;
    const json_t *l;
    json_array_foreach(links, k, l)
    {
        printf("  -> %s x%lld: %s\n", str_or(l, "pdi", ""), count_of(l, "links"),
               str_or(l, "switch", "no attested NVSwitch"));
    }
}

static void print_switch(const json_t *s)
{
    printf("%s: PDI %s, position %lld, lock status %lld\n", str_or(s, "label", ""),
           str_or(s, "pdi", "absent"), status_of(s, "position"), status_of(s, "lock_status"));
    size_t k;
    const json_t *g;
    json_array_foreach(json_object_get(s, "gpus"), k, g)
    {
        printf("  names %s: %s\n", str_or(g, "pdi", ""), str_or(g, "gpu", "no attested GPU"));
    }
}

void cli_print_topology(const json_t *topology)
{
    size_t i;
    const json_t *d;
    json_array_foreach(json_object_get(topology, "gpus"), i, d)
    {
        print_gpu(d);
    }
    json_array_foreach(json_object_get(topology, "switches"), i, d)
    {
        print_switch(d);
    }
    const json_t *expected = json_object_get(topology, "expected");
    const json_t *seen = json_object_get(topology, "seen");
    bool pass = json_is_string(json_object_get(topology, "result")) &&
                strcmp(str_or(topology, "result", ""), "pass") == 0;
    printf("topology: expected %lld GPUs and %lld NVSwitches, seen %lld and %lld: %s\n",
           count_of(expected, "gpus"), count_of(expected, "switches"), count_of(seen, "gpus"),
           count_of(seen, "switches"), pass ? "PASS" : "FAIL");
    json_array_foreach(json_object_get(topology, "findings"), i, d)
    {
        printf("  %s: %s\n", str_or(d, "error", ""), str_or(d, "text", ""));
    }
}
