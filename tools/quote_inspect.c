/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest quote inspect QUOTE: a TDX quote (binary, hex, or
 * dstack's GetQuote JSON) parsed and printed field by field. Inspecting
 * verifies nothing: no signature, chain or TCB level is looked at.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cleanup.h"
#include "cli.h"
#include "dga/quote.h"
#include "dga/util.h"
#include "quote_json.h"

struct inspect_args {
    const char *file;
    bool json;
};

static void inspect_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s quote inspect QUOTE [--json]\n"
            "\n"
            "Parses an Intel TDX quote (v4, or v5 with a TD report 1.0 or 1.5 body) and\n"
            "prints its header, TD report, QE report and certification data, one\n"
            "'key: value' per line. QUOTE is a file ('-' for standard input) holding the\n"
            "binary quote, its hex text (optionally 0x-prefixed), or dstack's GetQuote\n"
            "JSON response. Inspecting verifies nothing.\n"
            "\n"
            "  --json  machine-readable output\n"
            "\n"
            "Exit 0 when the quote parses, 1 when it is malformed, 2 usage, 3 I/O.\n",
            PROGRAM);
}

/* The file's bytes, or standard input's for '-'; same cap either way. */
static int read_input(const char *file, uint8_t **ret, size_t *ret_len)
{
    if (strcmp(file, "-") != 0) {
        return cli_read_file(file, DGA_QUOTE_MAX_LEN, ret, ret_len);
    }
    dga_err e = dga_fd_read(STDIN_FILENO, DGA_QUOTE_MAX_LEN, ret, ret_len);
    return e == DGA_E_OK ? EXIT_VERIFIED : cli_file_error("standard input", e);
}

static int print_error(const struct inspect_args *a, dga_err e, const struct dga_diag *d)
{
    const char *field = d->field != NULL ? d->field : "input";
    if (a->json) {
        _cleanup_(json_decrefp) json_t *j =
            json_pack("{s:s,s:s,s:s,s:I}", "error", dga_err_name(e), "message", dga_err_message(e),
                      "field", field, "offset", (json_int_t)d->offset);
        int rc = cli_print_json(j);
        return rc == EXIT_VERIFIED ? EXIT_REJECTED : rc;
    }
    fprintf(stderr, "error: %s: %s (field %s at offset %zu)\n", dga_err_name(e), dga_err_message(e),
            field, d->offset);
    return EXIT_REJECTED;
}

/* "key: value" lines, nested objects as dotted keys, in the JSON's insertion order. */
static void print_text(const char *prefix, json_t *o)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        char name[128];
        snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", key);
        if (json_is_object(v)) {
            print_text(name, v);
        } else if (json_is_string(v)) {
            printf("%s: %s\n", name, json_string_value(v));
        } else if (json_is_integer(v)) {
            printf("%s: %" JSON_INTEGER_FORMAT "\n", name, json_integer_value(v));
        }
    }
}

int cmd_quote_inspect(int argc, char **argv)
{
    struct inspect_args a = {0};
    const struct cli_option opts[] = {CLI_FLAG("json", &a.json), CLI_END};
    int rc = cli_parse_one(argc, argv, opts, inspect_usage, "quote inspect", "QUOTE", &a.file);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    _cleanup_(freep) uint8_t *in = NULL;
    size_t in_len = 0;
    if ((rc = read_input(a.file, &in, &in_len)) != EXIT_VERIFIED) {
        return rc;
    }
    _cleanup_(freep) uint8_t *bytes = NULL;
    size_t len = 0;
    enum dga_quote_form form;
    struct dga_diag d = {0};
    dga_err e = dga_quote_input_decode(in, in_len, &bytes, &len, &form, &d);
    struct dga_quote q;
    if (e == DGA_E_OK) {
        e = dga_quote_parse(bytes, len, &q, &d);
    }
    if (e == DGA_E_NOMEM) {
        cli_error("%s", dga_err_message(e));
        return EXIT_IO;
    }
    if (e != DGA_E_OK) {
        return print_error(&a, e, &d);
    }
    _cleanup_(json_decrefp) json_t *j = quote_json(&q, form);
    if (a.json || j == NULL) {
        return cli_print_json(j);
    }
    print_text("", j);
    return EXIT_VERIFIED;
}
