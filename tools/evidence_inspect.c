/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest evidence inspect: decode a report (or every report of an
 * evidence JSON file) as JSON. Inspecting verifies nothing; the optional
 * chain is summarised and checked against the NVIDIA root for information.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "cli.h"
#include "dga/cleanup.h"
#include "dga/util.h"
#include "dga/x509.h"

struct inspect_args {
    const char *file;
    const char *cert_chain;
    const char *arch;
};

static void inspect_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s evidence inspect FILE [--cert-chain PEM] [--arch hopper|blackwell|ls10]\n"
            "\n"
            "FILE is an evidence JSON file, or a raw report as hex text or binary.\n"
            "Prints the decoded report(s) as JSON: request and response with NVIDIA's\n"
            "field names, unknown opaque-data fields, and derived values (versions, RIM\n"
            "ids, FWID, mode, PDIs). Without --arch a raw report's architecture is\n"
            "guessed (hopper or ls10) and marked so. Inspecting verifies nothing;\n"
            "the exit status is 1 when a report does not parse.\n",
            PROGRAM);
}

static int parse_args(int argc, char **argv, struct inspect_args *a)
{
    const struct cli_option opts[] = {
        CLI_VALUE("cert-chain", &a->cert_chain),
        CLI_VALUE("arch", &a->arch),
        CLI_END,
    };
    return cli_parse_one(argc, argv, opts, inspect_usage, "evidence inspect", "FILE", &a->file);
}

static json_t *chain_json(const char *pem, size_t len, enum dga_arch arch)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
    struct dga_diag diag = {0};
    dga_err e = dga_pem_chain_parse(pem, len, &chain, &diag);
    if (e != DGA_E_OK) {
        return json_pack("{s:s,s:s}", "error", dga_err_name(e), "message", dga_err_message(e));
    }
    json_t *subjects = json_array();
    for (int i = 0; i < sk_X509_num(chain); i++) {
        char *s = X509_NAME_oneline(X509_get_subject_name(sk_X509_value(chain, i)), NULL, 0);
        json_array_append_new(subjects, json_string(s != NULL ? s : "?"));
        OPENSSL_free(s);
    }
    _cleanup_(dga_trust_clearp) struct dga_trust trust = {0};
    struct dga_chain_info info;
    e = dga_trust_nvidia_device(&trust);
    if (e == DGA_E_OK) {
        e = dga_device_chain_verify(chain, arch, &trust, time(NULL), &info, &diag);
    }
    json_t *o = json_pack("{s:o,s:s}", "subjects", subjects, "verifies_to_nvidia_root_now",
                          e == DGA_E_OK ? "yes" : dga_err_name(e));
    if (e == DGA_E_OK) {
        char fwid[2 * DGA_DIGEST_LEN + 1] = "";
        dga_hex_encode(info.leaf_fwid, DGA_DIGEST_LEN, fwid);
        json_object_set_new(o, "hwmodel", json_string(info.hwmodel));
        json_object_set_new(o, "ueid", json_string(info.ueid));
        json_object_set_new(o, "expiration_date", json_string(info.expiration_date));
        json_object_set_new(o, "leaf_fwid", info.leaf_has_fwid ? json_string(fwid) : json_null());
    }
    return o;
}

/* One device: {report...} or {"error": ...} when it does not parse. */
static json_t *device_json(const struct dga_device_evidence *dev, bool arch_guessed)
{
    _cleanup_(freep) struct dga_report *r = malloc(sizeof *r);
    struct dga_derived d;
    struct dga_diag diag = {0};
    json_t *o = NULL;
    dga_err e = r != NULL ? dga_report_parse(dev->report, dev->report_len, dev->arch, r, &diag)
                          : DGA_E_NOMEM;
    if (e == DGA_E_OK) {
        dga_err de = dga_report_derive(r, &d, &diag);
        o = dga_report_to_json(r, de == DGA_E_OK ? &d : NULL);
        if (o != NULL && de != DGA_E_OK) {
            json_object_set_new(o, "derive_error",
                                json_pack("{s:s,s:s,s:s}", "error", dga_err_name(de), "message",
                                          dga_err_message(de), "field", diag.field));
        }
    } else {
        o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "arch", dga_arch_name(dev->arch), "error",
                      dga_err_name(e), "message", dga_err_message(e), "field",
                      diag.field != NULL ? diag.field : "", "offset", (json_int_t)diag.offset);
    }
    if (o != NULL) {
        json_object_set_new(o, "arch_source", json_string(arch_guessed ? "guessed" : "given"));
        if (dev->chain_pem != NULL) {
            json_object_set_new(o, "certificate_chain",
                                chain_json(dev->chain_pem, dev->chain_pem_len, dev->arch));
        }
    }
    return o;
}

static bool looks_like_json(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && isspace(p[i])) {
        i++;
    }
    return i < n && (p[i] == '[' || p[i] == '{');
}

static int inspect_json(const char *path, const uint8_t *text, size_t len)
{
    _cleanup_(dga_evidence_set_freep) struct dga_evidence_set *set = calloc(1, sizeof *set);
    if (set == NULL) {
        return EXIT_IO;
    }
    struct dga_diag diag = {0};
    dga_err e = dga_evidence_json_parse((const char *)text, len, set, &diag);
    int rc = EXIT_REJECTED;
    if (e != DGA_E_OK) {
        cli_error("%s: evidence JSON: %s", path, dga_err_message(e));
    } else {
        _cleanup_(json_decrefp) json_t *arr = json_array();
        bool all_parsed = true;
        for (size_t i = 0; i < set->n; i++) {
            json_t *d = device_json(&set->dev[i], false);
            all_parsed = all_parsed && json_object_get(d, "error") == NULL;
            json_array_append_new(arr, d);
        }
        rc = cli_print_json(arr);
        if (rc == EXIT_VERIFIED && !all_parsed) {
            rc = EXIT_REJECTED;
        }
    }
    return rc;
}

/* A device's evidence this command read itself: the report and chain it holds. */
static void device_evidence_clear(struct dga_device_evidence *dev)
{
    free(dev->report);
    free(dev->chain_pem);
}

static int inspect_raw(const struct inspect_args *a, const uint8_t *content, size_t len)
{
    _cleanup_(device_evidence_clear) struct dga_device_evidence dev = {0};
    bool guessed = a->arch == NULL;
    if (dga_report_bytes_from_file(content, len, &dev.report, &dev.report_len) != DGA_E_OK) {
        cli_error("%s: not a report (hex text or binary, at most %u bytes)", a->file,
                  DGA_REPORT_MAX);
        return EXIT_REJECTED;
    }
    int rc = EXIT_VERIFIED;
    if (!guessed && dga_arch_parse(a->arch, &dev.arch) != DGA_E_OK) {
        cli_error("--arch: unknown architecture '%s'", a->arch);
        rc = EXIT_USAGE;
    } else if (guessed &&
               dga_report_guess_arch(dev.report, dev.report_len, &dev.arch) != DGA_E_OK) {
        dev.arch = DGA_ARCH_HOPPER; /* does not parse either way; show the error as a GPU */
    }
    if (rc == EXIT_VERIFIED && a->cert_chain != NULL) {
        uint8_t *chain = NULL;
        rc = cli_read_file(a->cert_chain, DGA_CHAIN_PEM_MAX, &chain, &dev.chain_pem_len);
        dev.chain_pem = (char *)chain;
    }
    if (rc == EXIT_VERIFIED) {
        _cleanup_(json_decrefp) json_t *o = device_json(&dev, guessed);
        rc = cli_print_json(o);
        if (rc == EXIT_VERIFIED && json_object_get(o, "error") != NULL) {
            rc = EXIT_REJECTED; /* the report does not parse */
        }
    }
    return rc;
}

int cmd_evidence_inspect(int argc, char **argv)
{
    struct inspect_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    _cleanup_(freep) uint8_t *content = NULL;
    size_t len = 0;
    rc = cli_read_file(a.file, DGA_EVIDENCE_JSON_MAX, &content, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    rc = looks_like_json(content, len) ? inspect_json(a.file, content, len)
                                       : inspect_raw(&a, content, len);
    return rc;
}
