/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gen_errors_md ERROR_H: writes docs/errors.md to stdout from the error table.
 *
 * The names and messages come from the X-macro itself (compiled in), so the
 * reference cannot drift from what the library returns. The preprocessor drops
 * comments, so the table's section comments are read from the header's text
 * (ERROR_H): each `X(SUFFIX, ...` line is filed under the last comment line
 * before it. An entry the text does not place lands in "Other", so an error
 * added by hand with an unusual layout is still listed. Built in the tree, never
 * installed; the `docs_errors` ctest diffs its output against docs/errors.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dga/error.h"

struct entry {
    const char *suffix;
    const char *name;
    const char *message;
    const char *section; /* points into sections[], or NULL until placed */
};

#define ENTRY(id, name, message) {#id, name, message, NULL},
static struct entry entries[] = {DGA_ERROR_TABLE(ENTRY)};
#undef ENTRY
#define N_ENTRIES (sizeof entries / sizeof entries[0])

#define MAX_SECTIONS 128
#define SECTION_MAX 256
static char sections[MAX_SECTIONS][SECTION_MAX];
static size_t n_sections;

/*
 * The exit status class: what a command exits with when this error ends it by
 * itself. Where an error is met still decides (docs/errors.md says how); these
 * lists name the errors of the program's own inputs (2) and of the machine (3),
 * and everything else, including any error added later, is a finding (1).
 */
static const char *const usage_errors[] = {
    "bad-argument", "policy-invalid", "server-activation", "server-group", "rpc-argument", NULL,
};
static const char *const machine_errors[] = {
    "out-of-memory",
    "internal",
    "io",
    "runtime-library",
    "nvml-load",
    "nvml-symbol",
    "nvml-call",
    "nvml-timeout",
    "event-lock",
    "register-unavailable",
    "register-permission",
    "register-extend",
    "register-state",
    "event-log-write",
    "server-listen",
    "server-in-use",
    "proxy-listen",
    "rpc-connect",
    NULL,
};

static int listed(const char *const *list, const char *name)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

static int exit_class(const char *name)
{
    size_t len = strlen(name);
    const char *cfg = "-config";
    if (strcmp(name, "ok") == 0) {
        return 0;
    }
    if (listed(usage_errors, name) ||
        (len > strlen(cfg) && strcmp(name + len - strlen(cfg), cfg) == 0)) {
        return 2;
    }
    return listed(machine_errors, name) ? 3 : 1;
}

/* "    /" "* core *" "/  \" -> "core"; 0 when the line is not a one-line comment. */
static int comment_text(const char *line, char *out, size_t cap)
{
    const char *open = strstr(line, "/*");
    const char *close = open != NULL ? strstr(open + 2, "*/") : NULL;
    if (close == NULL || strstr(line, "X(") != NULL) {
        return 0;
    }
    const char *p = open + 2;
    while (p < close && *p == ' ') {
        p++;
    }
    const char *end = close;
    while (end > p && end[-1] == ' ') {
        end--;
    }
    size_t len = (size_t)(end - p);
    if (len == 0 || len >= cap) {
        return 0;
    }
    memcpy(out, p, len);
    out[len] = '\0';
    return 1;
}

static void place(const char *line, const char *section)
{
    const char *x = strstr(line, "X(");
    if (x == NULL || section == NULL) {
        return;
    }
    x += 2;
    size_t len = strcspn(x, ", ");
    for (size_t i = 0; i < N_ENTRIES; i++) {
        if (entries[i].section == NULL && strlen(entries[i].suffix) == len &&
            strncmp(entries[i].suffix, x, len) == 0) {
            entries[i].section = section;
            return;
        }
    }
}

/* Files every entry under its section comment; only lines inside the table's macro. */
static int read_sections(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    char line[1024];
    int in_table = 0;
    const char *current = NULL;
    while (fgets(line, sizeof line, f) != NULL) {
        if (!in_table) {
            in_table = strstr(line, "#define DGA_ERROR_TABLE(") != NULL;
            continue;
        }
        char text[SECTION_MAX];
        if (comment_text(line, text, sizeof text) && n_sections < MAX_SECTIONS) {
            memcpy(sections[n_sections], text, sizeof text);
            current = sections[n_sections++];
        } else {
            place(line, current);
        }
        if (strchr(line, '\\') == NULL) {
            break; /* the macro's last line */
        }
    }
    fclose(f);
    return in_table ? 0 : -1;
}

/* A message in a Markdown table cell: '|' would end the cell, '<' open an HTML tag. */
static void put_cell(const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|') {
            fputs("\\|", stdout);
        } else if (*s == '<') {
            fputs("&lt;", stdout);
        } else {
            putchar(*s);
        }
    }
}

/* The rows of one section; NULL: the entries no section comment placed, but "ok". */
static void put_rows(const char *section)
{
    printf("| name | exit | message |\n|---|---|---|\n");
    for (size_t i = 0; i < N_ENTRIES; i++) {
        const struct entry *e = &entries[i];
        if (e->section != section || (section == NULL && i == DGA_E_OK)) {
            continue;
        }
        printf("| `%s` | %d | ", e->name, exit_class(e->name));
        put_cell(e->message);
        printf(" |\n");
    }
}

static void put_header(void)
{
    printf("<!-- Generated by tools/gen_errors_md.c from include/dga/error.h: do not edit.\n"
           "     Regenerate: cmake --build build --target gen_errors_md &&\n"
           "     build/tests/gen_errors_md include/dga/error.h > docs/errors.md -->\n"
           "# Error reference\n"
           "\n"
           "Every error the library returns, by its stable name (the name in stderr\n"
           "lines, JSON output, bundles and reason lines) and its message, grouped as\n"
           "in the error table (`include/dga/error.h`). %zu entries.\n"
           "\n"
           "**exit** is the status of the `dstack-gpu-attest` program when the error\n"
           "ends a command by itself: 0 verified, 1 a check failed (a finding about the\n"
           "evidence, the collateral, the machine or an input document), 2 usage or\n"
           "configuration, 3 I/O or internal (memory, a file, a library, NVML, a\n"
           "register, a socket). Where the error is met can still change it: a command\n"
           "that cannot parse its own configuration file exits 2 whatever the error\n"
           "(`gate` with a malformed `gate.json`); an error inside a device's appraisal\n"
           "fails that device, so `attest` exits 1 even for `collateral-unreachable`;\n"
           "`gate` exits by the step that failed (docs/gate.md, the order of steps);\n"
           "`nvattest` has its own result codes (docs/nvattest.md). `out-of-memory`\n"
           "always exits 3.\n",
           N_ENTRIES);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s include/dga/error.h > docs/errors.md\n", argv[0]);
        return 2;
    }
    if (read_sections(argv[1]) != 0) {
        fprintf(stderr, "%s: no DGA_ERROR_TABLE found in %s\n", argv[0], argv[1]);
        return 3;
    }
    put_header();
    printf("\n## Success\n\n| name | exit | message |\n|---|---|---|\n| `%s` | 0 | %s |\n",
           entries[DGA_E_OK].name, entries[DGA_E_OK].message);
    for (size_t s = 0; s < n_sections; s++) {
        printf("\n## %s\n\n", sections[s]);
        put_rows(sections[s]);
    }
    size_t unplaced = 0;
    for (size_t i = 0; i < N_ENTRIES; i++) {
        unplaced += entries[i].section == NULL && i != DGA_E_OK;
    }
    if (unplaced > 0) {
        printf("\n## Other\n\n");
        put_rows(NULL);
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 3;
}
