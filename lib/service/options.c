/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A server's configuration through one table of options (dga/service.h):
 * the "key = value" config file reader, the help text and the value parsers
 * the proxy, the verifier server and the KMS hook share. The text is the
 * operator's, read whole under a cap; nothing here prints.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dga/cleanup.h"
#include "dga/service.h"
#include "dga/util.h"

const struct dga_service_option *dga_service_options_find(const struct dga_service_options *t,
                                                          const char *name)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->options[i].name, name) == 0) {
            return &t->options[i];
        }
    }
    return NULL;
}

bool dga_service_option_is_switch(const struct dga_service_option *o)
{
    return o->metavar[0] == '\0';
}

dga_err dga_service_options_set(const struct dga_service_options *t, void *config, const char *name,
                                const char *value)
{
    const struct dga_service_option *o = dga_service_options_find(t, name);
    if (o == NULL || value == NULL || o->set(config, o, value) != DGA_E_OK) {
        return t->err;
    }
    return DGA_E_OK;
}

const uint64_t dga_service_duration_mult[8] = {1, 60, 3600, 86400, 1, 60, 3600, 86400};
const uint64_t dga_service_size_mult[4] = {1u << 10, 1u << 20, 1u << 10, 1u << 20};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        s[--n] = '\0';
    }
    return s;
}

/* One line of a config file; line is modified in place. */
static dga_err load_line(const struct dga_service_options *t, void *config, char *line)
{
    char *s = trim(line);
    if (s[0] == '\0' || s[0] == '#') {
        return DGA_E_OK;
    }
    char *eq = strchr(s, '=');
    if (eq == NULL) {
        return t->err;
    }
    *eq = '\0';
    return dga_service_options_set(t, config, trim(s), trim(eq + 1));
}

dga_err dga_service_options_load_text(const struct dga_service_options *t, void *config,
                                      const char *text, size_t len, struct dga_diag *diag)
{
    if (len > t->file_max || memchr(text, '\0', len) != NULL) {
        return dga_diag_set(diag, t->err, 0, "config file");
    }
    char line[DGA_SERVICE_CONFIG_LINE_MAX];
    size_t limit = t->line_limit < sizeof line ? t->line_limit : sizeof line;
    size_t line_no = 0;
    size_t at = 0;
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
        line_no++;
        if (n >= limit) {
            return dga_diag_set(diag, t->err, line_no, "config line too long");
        }
        memcpy(line, text + at, n);
        line[n] = '\0';
        if (load_line(t, config, line) != DGA_E_OK) {
            return dga_diag_set(diag, t->err, line_no, "config line");
        }
        at += n + 1;
    }
    return DGA_E_OK;
}

dga_err dga_service_options_load_file(const struct dga_service_options *t, void *config,
                                      const char *path, struct dga_diag *diag)
{
    _cleanup_(freep) uint8_t *data = NULL;
    size_t len = 0;
    dga_err e = dga_file_read(path, t->file_max, &data, &len);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "config file");
    }
    return dga_service_options_load_text(t, config, (const char *)data, len, diag);
}

dga_err dga_service_options_help(const struct dga_service_options *t, char *buf, size_t size)
{
    size_t at = 0;
    if (size > 0) {
        buf[0] = '\0';
    }
    for (size_t i = 0; i < t->n; i++) {
        const struct dga_service_option *o = &t->options[i];
        char flag[64];
        snprintf(flag, sizeof flag, "%s%s%s", o->name, o->metavar[0] != '\0' ? " " : "",
                 o->metavar);
        int n = snprintf(buf + at, size - at, "  --%-35s %s\n", flag, o->help);
        if (n < 0 || (size_t)n >= size - at) {
            return DGA_E_TOO_LARGE;
        }
        at += (size_t)n;
    }
    return DGA_E_OK;
}

bool dga_service_parse_number(const char *text, const struct dga_service_scale *scale,
                              uint64_t *ret)
{
    if (!isdigit((unsigned char)text[0])) {
        return false;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0) {
        return false;
    }
    uint64_t m = 1;
    if (*end != '\0') {
        const char *u = strchr(scale->units, *end);
        if (u == NULL || end[1] != '\0') {
            return false;
        }
        m = scale->mult[u - scale->units];
    }
    if (v > UINT64_MAX / m || (uint64_t)v * m > scale->max) {
        return false;
    }
    *ret = (uint64_t)v * m;
    return true;
}

dga_err dga_service_set_string(void *config, const struct dga_service_option *o, const char *value)
{
    size_t n = strlen(value);
    if (n == 0 || n >= o->size) {
        return DGA_E_BAD_ARGUMENT;
    }
    memcpy(dga_service_option_field(config, o), value, n + 1);
    return DGA_E_OK;
}

/* The C types of the number setters' fields. */
enum number_field { FIELD_INT64, FIELD_SIZE, FIELD_UNSIGNED };

/* A number as o->scale says into o's field, which holds it whatever the scale allows. */
static dga_err set_number(void *config, const struct dga_service_option *o, const char *value,
                          enum number_field type)
{
    static const uint64_t type_max[] = {INT64_MAX, SIZE_MAX, UINT_MAX};
    uint64_t v = 0;
    if (!dga_service_parse_number(value, o->scale, &v) || v > type_max[type]) {
        return DGA_E_BAD_ARGUMENT;
    }
    void *field = dga_service_option_field(config, o);
    switch (type) {
    case FIELD_INT64:
        *(int64_t *)field = (int64_t)v;
        break;
    case FIELD_SIZE:
        *(size_t *)field = (size_t)v;
        break;
    case FIELD_UNSIGNED:
        *(unsigned *)field = (unsigned)v;
        break;
    }
    return DGA_E_OK;
}

dga_err dga_service_set_int64(void *config, const struct dga_service_option *o, const char *value)
{
    return set_number(config, o, value, FIELD_INT64);
}

dga_err dga_service_set_size(void *config, const struct dga_service_option *o, const char *value)
{
    return set_number(config, o, value, FIELD_SIZE);
}

dga_err dga_service_set_unsigned(void *config, const struct dga_service_option *o,
                                 const char *value)
{
    return set_number(config, o, value, FIELD_UNSIGNED);
}

dga_err dga_service_set_bool(void *config, const struct dga_service_option *o, const char *value)
{
    bool b = strcmp(value, "true") == 0;
    if (!b && strcmp(value, "false") != 0) {
        return DGA_E_BAD_ARGUMENT;
    }
    *(bool *)dga_service_option_field(config, o) = b;
    return DGA_E_OK;
}
