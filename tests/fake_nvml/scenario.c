/* SPDX-License-Identifier: Apache-2.0 */
/* Scenario reading shared by the fakes (scenario.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scenario.h"

#define FAKE_FILE_MAX (1 << 20)

void fake_path_join(const char *scenario, const char *rel, char *out, size_t cap)
{
    if (rel[0] == '/') {
        snprintf(out, cap, "%s", rel);
        return;
    }
    const char *slash = strrchr(scenario, '/');
    int dir_len = slash != NULL ? (int)(slash - scenario) : 1;
    snprintf(out, cap, "%.*s/%s", dir_len, slash != NULL ? scenario : ".", rel);
}

char *fake_read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *buf = malloc(FAKE_FILE_MAX);
    size_t n = buf != NULL ? fread(buf, 1, FAKE_FILE_MAX - 1, f) : 0;
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        *ret_len = n;
    }
    return buf;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

long fake_unhex(const char *text, size_t len, unsigned char *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (size_t i = 0; i < len; i++) { /* in place: out[n] is written after text[2n + 1] is read */
        int v = hexval(text[i]);
        if (v < 0) {
            if (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t') {
                continue;
            }
            return -1;
        }
        if (hi < 0) {
            hi = v;
        } else if (n == cap) {
            return -1;
        } else {
            out[n++] = (unsigned char)(hi << 4 | v);
            hi = -1;
        }
    }
    return hi < 0 ? (long)n : -1;
}

long fake_get_long(json_t *s, const char *key, long dflt)
{
    json_t *v = json_object_get(s, key);
    return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

unsigned fake_get_uint(json_t *s, const char *key, unsigned dflt)
{
    json_t *v = json_object_get(s, key);
    return json_is_integer(v) ? (unsigned)json_integer_value(v) : dflt;
}

const char *fake_get_str(json_t *s, const char *key, const char *dflt)
{
    json_t *v = json_object_get(s, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

char *fake_leaf_chain(const char *leaf_path, const char *chain, size_t chain_len, size_t *ret_len)
{
    static const char end[] = "-----END CERTIFICATE-----\n";
    const char *rest = strstr(chain, end);
    size_t leaf_len = 0;
    char *leaf = rest != NULL ? fake_read_file(leaf_path, &leaf_len) : NULL;
    if (leaf == NULL) {
        return NULL;
    }
    rest += sizeof end - 1;
    size_t rest_len = chain_len - (size_t)(rest - chain);
    char *out = malloc(leaf_len + rest_len + 1);
    if (out != NULL) {
        memcpy(out, leaf, leaf_len);
        memcpy(out + leaf_len, rest, rest_len + 1);
        *ret_len = leaf_len + rest_len;
    }
    free(leaf);
    return out;
}

void fake_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}
