/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest quote verify QUOTE (--collateral FILE | --collateral-dir DIR):
 * a TDX quote verified against its DCAP collateral (QuoteCollateralV3 JSON,
 * given, or the entry of a TDX collateral directory for the quote's FMSPC
 * and PCK CA) at a given time, to the compiled-in Intel SGX Root CA
 * (docs/quote.md, Verification).
 * The only place the clock is read is the default of --at.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "args.h"
#include "cli.h"
#include "dga/cleanup.h"
#include "dga/collateral.h"
#include "dga/quote.h"
#include "dga/util.h"
#include "dga/x509.h"
#include "quote_json.h"

struct qverify_args {
    const char *file;
    const char *collateral;
    const char *collateral_dir;
    const char *at;
    const char *trusted_root;
    bool json;
    bool allow_debug;
    bool require_up_to_date;
};

static void qverify_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s quote verify QUOTE (--collateral FILE | --collateral-dir DIR)\n"
            "          [--at TIME] [--json] [--allow-debug] [--require-up-to-date]\n"
            "          [--trusted-root FILE]\n"
            "\n"
            "Verifies an Intel TDX quote (v4 or v5; binary, hex text or dstack's GetQuote\n"
            "JSON; '-' for standard input) against its DCAP collateral (dcap-qvl's\n"
            "QuoteCollateralV3 JSON) to the compiled-in Intel SGX Root CA: CRLs, TCB info,\n"
            "QE identity, PCK chain, QE report, quote signature, TCB level, TD attributes.\n"
            "\n"
            "  --collateral FILE     the collateral JSON\n"
            "  --collateral-dir DIR  a TDX collateral directory (collateral fetch-tdx): the\n"
            "                        entry DIR/tdx/<FMSPC>-<platform|processor>.json of the\n"
            "                        quote's PCK certificate (exactly one of the two)\n"
            "  --at TIME             verification time: YYYY-MM-DDTHH:MM:SSZ or @UNIX_SECONDS\n"
            "                        (default: now)\n"
            "  --json                machine-readable output\n"
            "  --allow-debug         accept a debug TD\n"
            "  --require-up-to-date  fail (tcb-not-up-to-date) unless the status is UpToDate\n"
            "  --trusted-root FILE   verify to this root (PEM or DER) instead of Intel's (tests)\n"
            "\n"
            "Exit 0 verified (any status but Revoked, unless --require-up-to-date),\n"
            "1 a check failed, 2 usage, 3 I/O.\n",
            PROGRAM);
}

int quote_parse_at(const char *text, time_t *ret)
{
    if (text == NULL) {
        *ret = time(NULL);
        return EXIT_VERIFIED;
    }
    if (text[0] == '@') {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(text + 1, &end, 10);
        if (errno == 0 && end != text + 1 && *end == '\0' && v >= 0) {
            *ret = (time_t)v;
            return EXIT_VERIFIED;
        }
    } else if (dga_time_parse(text, ret) == DGA_E_OK) {
        return EXIT_VERIFIED;
    }
    cli_error("--at: '%s' is neither YYYY-MM-DDTHH:MM:SSZ nor @UNIX_SECONDS", text);
    return EXIT_USAGE;
}

/* The file's bytes, or standard input's for '-'. */
static int read_input(const char *file, size_t cap, uint8_t **ret, size_t *ret_len)
{
    if (strcmp(file, "-") != 0) {
        return cli_read_file(file, cap, ret, ret_len);
    }
    dga_err e = dga_fd_read(STDIN_FILENO, cap, ret, ret_len);
    return e == DGA_E_OK ? EXIT_VERIFIED : cli_file_error("standard input", e);
}

int quote_load_root(const char *path, struct dga_trust *ret)
{
    _cleanup_(freep) uint8_t *data = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, 1u << 16, &data, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    if (len > 0 && data[0] == 0x30) {
        const unsigned char *p = data;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        if (x != NULL && p == data + len) {
            *ret = (struct dga_trust){.root = x, .custom = true};
            return EXIT_VERIFIED;
        }
        X509_free(x);
    } else if (dga_trust_from_pem((const char *)data, len, ret) == DGA_E_OK) {
        return EXIT_VERIFIED;
    }
    cli_error("%s: not a single PEM or DER certificate", path);
    return EXIT_USAGE;
}

static int print_error(const struct qverify_args *a, dga_err e, const struct dga_diag *d)
{
    const char *field = d->field != NULL ? d->field : "input";
    if (a->json) {
        _cleanup_(json_decrefp) json_t *j =
            json_pack("{s:b,s:s,s:s,s:s,s:I}", "verified", 0, "error", dga_err_name(e), "message",
                      dga_err_message(e), "field", field, "offset", (json_int_t)d->offset);
        int rc = cli_print_json(j);
        return rc == EXIT_VERIFIED ? EXIT_REJECTED : rc;
    }
    fprintf(stderr, "error: %s: %s (field %s at offset %zu)\n", dga_err_name(e), dga_err_message(e),
            field, d->offset);
    return EXIT_REJECTED;
}

static json_t *advisories_json(const struct dga_tcb_result *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < r->n_advisories; i++) {
        json_array_append_new(a, json_string(r->advisory_ids[i]));
    }
    return a;
}

static json_t *status_json(const struct dga_tcb_result *r)
{
    return json_pack("{s:s,s:o}", "status", dga_tcb_status_name(r->status), "advisory_ids",
                     advisories_json(r));
}

static json_t *verdict_json(const struct dga_quote_verdict *v, const struct dga_quote *q,
                            enum dga_quote_form form, time_t at)
{
    char fmspc[13];
    char pce_id[5];
    char ppid[33];
    char when[21];
    dga_hex_encode_upper(v->pck.fmspc, sizeof v->pck.fmspc, fmspc);
    dga_hex_encode_upper(v->pck.pce_id, sizeof v->pck.pce_id, pce_id);
    dga_hex_encode(v->pck.ppid, sizeof v->pck.ppid, ppid);
    dga_time_format(at, when);
    _cleanup_(json_decrefp) json_t *quote = quote_json(q, form);
    json_t *td = quote != NULL ? json_object_get(quote, "td_report") : NULL;
    return json_pack("{s:b,s:s,s:o,s:o,s:o,s:s,s:s,s:s,s:s,s:b,s:s,s:O?}", "verified", 1, "status",
                     dga_tcb_status_name(v->status.status), "advisory_ids",
                     advisories_json(&v->status), "qe_status", status_json(&v->qe),
                     "platform_status", status_json(&v->platform), "fmspc", fmspc, "pce_id", pce_id,
                     "ppid", ppid, "pck_ca", v->pck.processor_ca ? "processor" : "platform",
                     "custom_root", v->custom_root, "at", when, "td_report", td);
}

static void print_advisories(const char *key, const struct dga_tcb_result *r)
{
    printf("%s:", key);
    for (size_t i = 0; i < r->n_advisories; i++) {
        printf("%s%s", i == 0 ? " " : ",", r->advisory_ids[i]);
    }
    printf("\n");
}

static void print_text(const struct dga_quote_verdict *v, time_t at)
{
    char fmspc[13];
    char ppid[33];
    char when[21];
    dga_hex_encode_upper(v->pck.fmspc, sizeof v->pck.fmspc, fmspc);
    dga_hex_encode(v->pck.ppid, sizeof v->pck.ppid, ppid);
    dga_time_format(at, when);
    printf("status: %s\n", dga_tcb_status_name(v->status.status));
    print_advisories("advisory_ids", &v->status);
    printf("platform_status: %s\n", dga_tcb_status_name(v->platform.status));
    printf("qe_status: %s\n", dga_tcb_status_name(v->qe.status));
    printf("fmspc: %s\n", fmspc);
    printf("ppid: %s\n", ppid);
    printf("pck_ca: %s\n", v->pck.processor_ca ? "processor" : "platform");
    printf("custom_root: %s\n", v->custom_root ? "true" : "false");
    printf("at: %s\n", when);
}

/* The verdict's output, or the not-up-to-date failure when the caller asked for UpToDate. */
static int report(const struct qverify_args *a, const struct dga_quote_verdict *v,
                  const struct dga_quote *q, enum dga_quote_form form, time_t at)
{
    if (a->require_up_to_date && v->status.status != DGA_TCB_UP_TO_DATE) {
        return print_error(a, DGA_E_TCB_NOT_UP_TO_DATE, &(struct dga_diag){.field = "status"});
    }
    if (a->json) {
        _cleanup_(json_decrefp) json_t *j = verdict_json(v, q, form, at);
        return cli_print_json(j);
    }
    print_text(v, at);
    return EXIT_VERIFIED;
}

/*
 * The collateral directory's entry for the quote's platform. A missing or
 * refused entry is a failed check (exit 1) whose field is the path that was
 * expected.
 */
static int load_from_dir(const struct qverify_args *a, const struct dga_quote *q, char *path,
                         size_t cap, uint8_t **ret, size_t *ret_len)
{
    struct dga_tdx_collateral_key k;
    char *text = NULL;
    struct dga_diag d = {0};
    dga_err e = dga_tdx_collateral_key(q, &k, &d);
    if (e == DGA_E_OK &&
        (e = dga_tdx_collateral_path(a->collateral_dir, &k, path, cap)) != DGA_E_OK) {
        cli_error("--collateral-dir: path too long");
        return EXIT_USAGE;
    }
    if (e == DGA_E_OK) {
        e = dga_tdx_collateral_read(a->collateral_dir, &k, &text, ret_len);
        d = (struct dga_diag){.field = path};
    }
    if (e == DGA_E_OK) {
        *ret = (uint8_t *)text;
        return EXIT_VERIFIED;
    }
    if (e == DGA_E_NOMEM || e == DGA_E_COLLATERAL_STORE) {
        cli_error("%s: %s [%s]", path, dga_err_message(e), dga_err_name(e));
        return EXIT_IO;
    }
    return print_error(a, e, &d);
}

int cmd_quote_verify(int argc, char **argv)
{
    struct qverify_args a = {0};
    const struct cli_option opts[] = {CLI_VALUE("collateral", &a.collateral),
                                      CLI_VALUE("collateral-dir", &a.collateral_dir),
                                      CLI_VALUE("at", &a.at),
                                      CLI_VALUE("trusted-root", &a.trusted_root),
                                      CLI_FLAG("json", &a.json),
                                      CLI_FLAG("allow-debug", &a.allow_debug),
                                      CLI_FLAG("require-up-to-date", &a.require_up_to_date),
                                      CLI_END};
    int rc = cli_parse_one(argc, argv, opts, qverify_usage, "quote verify", "QUOTE", &a.file);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    if ((a.collateral == NULL) == (a.collateral_dir == NULL)) {
        cli_error("quote verify: exactly one of --collateral FILE and --collateral-dir DIR "
                  "is required");
        qverify_usage(stderr);
        return EXIT_USAGE;
    }
    struct dga_quote_verify_opts vo = {.allow_debug = a.allow_debug};
    _cleanup_(dga_trust_clearp) struct dga_trust root = {0};
    if ((rc = quote_parse_at(a.at, &vo.at)) != EXIT_VERIFIED) {
        return rc;
    }
    if (a.trusted_root != NULL) {
        if ((rc = quote_load_root(a.trusted_root, &root)) != EXIT_VERIFIED) {
            return rc;
        }
        fprintf(stderr, "warning: verifying to a custom root (%s), not the Intel SGX Root CA\n",
                a.trusted_root);
        vo.root = &root;
    }
    _cleanup_(freep) uint8_t *in = NULL;
    _cleanup_(freep) uint8_t *cjson = NULL;
    size_t in_len = 0;
    size_t cjson_len = 0;
    if ((rc = read_input(a.file, DGA_QUOTE_MAX_LEN, &in, &in_len)) != EXIT_VERIFIED ||
        (a.collateral != NULL && (rc = cli_read_file(a.collateral, DGA_QUOTE_COLLATERAL_MAX, &cjson,
                                                     &cjson_len)) != EXIT_VERIFIED)) {
        return rc;
    }
    _cleanup_(freep) uint8_t *bytes = NULL;
    _cleanup_(dga_quote_collateral_clearp) struct dga_quote_collateral coll = {0};
    size_t len = 0;
    enum dga_quote_form form = DGA_QUOTE_FORM_BINARY;
    struct dga_quote q;
    struct dga_quote_verdict v;
    struct dga_diag d = {0};
    dga_err e = dga_quote_input_decode(in, in_len, &bytes, &len, &form, &d);
    if (e == DGA_E_OK) {
        e = dga_quote_parse(bytes, len, &q, &d);
    }
    char path[4096] = "";
    if (e == DGA_E_OK && a.collateral_dir != NULL &&
        (rc = load_from_dir(&a, &q, path, sizeof path, &cjson, &cjson_len)) != EXIT_VERIFIED) {
        return rc;
    }
    if (e == DGA_E_OK) {
        e = dga_quote_collateral_parse((const char *)cjson, cjson_len, &coll, &d);
    }
    if (e == DGA_E_OK) {
        e = dga_quote_verify(&q, &coll, &vo, &v, &d);
    }
    if (e == DGA_E_NOMEM) {
        cli_error("%s", dga_err_message(e));
        return EXIT_IO;
    }
    if (e != DGA_E_OK) {
        return print_error(&a, e, &d);
    }
    return report(&a, &v, &q, form, vo.at);
}
