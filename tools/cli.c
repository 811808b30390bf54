/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "dga/cleanup.h"
#include "dga/collect.h"
#include "dga/util.h"

void cli_nvml_error_text(const struct dga_nvml_error *err, char *out, size_t size)
{
    char where[32] = "";
    if (err->device >= 0) {
        snprintf(where, sizeof where, " (GPU %d)", err->device);
    }
    if (err->err == DGA_E_NVML_CALL || err->err == DGA_E_NVML_LOAD) {
        snprintf(out, size, "%s: %s%s: %s (NVML code %d)", dga_err_name(err->err), err->function,
                 where, err->nvml_message, err->nvml_rc);
    } else {
        snprintf(out, size, "%s: %s%s: %s", dga_err_name(err->err), err->function, where,
                 dga_err_message(err->err));
    }
}

void cli_nscq_error_text(const struct dga_nscq_error *err, char *out, size_t size)
{
    char where[96] = "";
    if (err->switch_index >= 0) {
        snprintf(where, sizeof where, " (NVSwitch %d%s%s)", err->switch_index,
                 err->label[0] != '\0' ? " " : "", err->label);
    }
    char code[32] = "";
    if (err->nscq_rc != 0) {
        snprintf(code, sizeof code, " (NSCQ code %d)", err->nscq_rc);
    }
    snprintf(out, size, "%s: %s%s%s%s: %s%s%s%s", dga_err_name(err->err), err->function,
             err->path[0] != '\0' ? " " : "", err->path, where, dga_err_message(err->err), code,
             err->message[0] != '\0' ? ": " : "", err->message);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PROGRAM ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_read_file(const char *path, size_t cap, uint8_t **ret, size_t *ret_len)
{
    errno = 0;
    dga_err e = dga_file_read(path, cap, ret, ret_len);
    if (e == DGA_E_OK) {
        return EXIT_VERIFIED;
    }
    return cli_file_error(path, e);
}

int cli_file_error(const char *path, dga_err e)
{
    if (e == DGA_E_IO && errno != 0) {
        cli_error("%s: %s", path, strerror(errno));
    } else {
        cli_error("%s: %s", path, dga_err_message(e));
    }
    return EXIT_IO;
}

static int load_json(const char *path, struct dga_evidence_set *ret)
{
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, DGA_EVIDENCE_JSON_MAX, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    struct dga_diag diag = {0};
    dga_err e = dga_evidence_json_parse((const char *)text, len, ret, &diag);
    if (e != DGA_E_OK) {
        cli_error("%s: evidence JSON: %s (device index / byte %zu)", path, dga_err_message(e),
                  diag.offset);
        return EXIT_REJECTED;
    }
    return EXIT_VERIFIED;
}

static int load_raw(const struct evidence_args *a, struct dga_evidence_set *ret)
{
    enum dga_arch arch;
    if (dga_arch_parse(a->arch, &arch) != DGA_E_OK) {
        cli_error("--arch: unknown architecture '%s' (hopper, blackwell, ls10)", a->arch);
        return EXIT_USAGE;
    }
    _cleanup_(freep) uint8_t *report = NULL;
    _cleanup_(freep) uint8_t *chain = NULL;
    size_t report_len = 0, chain_len = 0;
    int rc = cli_read_file(a->report, 2 * DGA_REPORT_MAX + 64, &report, &report_len);
    if (rc == EXIT_VERIFIED) {
        rc = cli_read_file(a->cert_chain, DGA_CHAIN_PEM_MAX, &chain, &chain_len);
    }
    if (rc == EXIT_VERIFIED) {
        dga_err e = dga_evidence_raw(report, report_len, (const char *)chain, chain_len, arch, ret);
        if (e != DGA_E_OK) {
            cli_error("%s: %s", a->report, dga_err_message(e));
            rc = e == DGA_E_NOMEM ? EXIT_IO : EXIT_REJECTED;
        }
    }
    return rc;
}

bool cli_evidence_option(int ch, const char *value, struct evidence_args *ev)
{
    switch (ch) {
    case 'e':
        ev->evidence = value;
        return true;
    case 'r':
        ev->report = value;
        return true;
    case 'c':
        ev->cert_chain = value;
        return true;
    case 'a':
        ev->arch = value;
        return true;
    default:
        return false;
    }
}

int cli_load_evidence(const struct evidence_args *a, struct dga_evidence_set *ret)
{
    bool raw = a->report != NULL || a->cert_chain != NULL;
    if (a->evidence != NULL && raw) {
        cli_error("--evidence cannot be combined with --report/--cert-chain");
        return EXIT_USAGE;
    }
    if (a->evidence != NULL) {
        return load_json(a->evidence, ret);
    }
    if (a->report == NULL || a->cert_chain == NULL || a->arch == NULL) {
        cli_error("give --evidence FILE, or --report FILE --cert-chain PEM --arch ARCH");
        return EXIT_USAGE;
    }
    return load_raw(a, ret);
}

int cli_print_json(json_t *j)
{
    if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(4) | JSON_SORT_KEYS) != 0) {
        cli_error("cannot write JSON output");
        return EXIT_IO;
    }
    fputc('\n', stdout);
    return EXIT_VERIFIED;
}

int cli_load_trust(const char *path, dga_err (*nvidia_root)(struct dga_trust *),
                   struct dga_trust *ret)
{
    if (path == NULL) {
        if (nvidia_root(ret) != DGA_E_OK) {
            cli_error("cannot load the compiled-in NVIDIA root");
            return EXIT_IO;
        }
        return EXIT_VERIFIED;
    }
    _cleanup_(freep) uint8_t *pem = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, DGA_CHAIN_PEM_MAX, &pem, &len);
    if (rc == EXIT_VERIFIED && dga_trust_from_pem((const char *)pem, len, ret) != DGA_E_OK) {
        cli_error("%s: not a single PEM certificate", path);
        rc = EXIT_USAGE;
    }
    return rc;
}

int cli_load_rim(const char *path, struct dga_rim **ret)
{
    _cleanup_(freep) uint8_t *xml = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, DGA_RIM_MAX_BYTES, &xml, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    struct dga_diag diag = {0};
    dga_err e = dga_rim_parse(xml, len, ret, &diag);
    if (e != DGA_E_OK) {
        cli_error("%s: %s [%s] (%s, line %zu)", path, dga_err_message(e), dga_err_name(e),
                  diag.field != NULL ? diag.field : "document", diag.offset);
        /* libxml2 missing says nothing about the document: the run could not decide */
        return e == DGA_E_NOMEM || e == DGA_E_RUNTIME_LIBRARY ? EXIT_IO : EXIT_REJECTED;
    }
    return EXIT_VERIFIED;
}

int cli_load_evidence_kind(const char *opt, const char *path, bool want_switch,
                           struct dga_evidence_set *set)
{
    struct evidence_args ev = {.evidence = path};
    int rc = cli_load_evidence(&ev, set);
    for (size_t i = 0; rc == EXIT_VERIFIED && i < set->n; i++) {
        if (dga_arch_is_switch(set->dev[i].arch) != want_switch) {
            cli_error("%s: item %zu is %s evidence, expected %s", opt, i,
                      dga_arch_name(set->dev[i].arch), want_switch ? "NVSwitch" : "GPU");
            rc = EXIT_USAGE;
        }
    }
    return rc;
}

int cli_load_policy(const char *path, struct dga_policy **ret)
{
    if (path == NULL) {
        return dga_policy_default(ret) == DGA_E_OK ? EXIT_VERIFIED : EXIT_IO;
    }
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, DGA_POLICY_MAX_BYTES, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    struct dga_diag diag = {0};
    dga_err e = dga_policy_parse((const char *)text, len, ret, &diag);
    if (e != DGA_E_OK) {
        cli_error("%s: %s [%s] (%s)", path, dga_err_message(e), dga_err_name(e),
                  diag.field != NULL ? diag.field : "document");
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

void cli_topology_options(const struct dga_policy *p, struct dga_topology_options *ret)
{
    struct dga_policy_ppcie pp;
    dga_policy_ppcie(p, &pp);
    ret->gpus = pp.gpus;
    ret->switches = pp.switches;
    ret->gpu_pdi_in_cert = pp.gpu_pdi_in_cert;
}

static json_t *asn1_time_json(const ASN1_TIME *t)
{
    struct tm tm;
    char out[32];
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        return json_null();
    }
    return json_string(out);
}

static json_t *name_json(const X509_NAME *name)
{
    char *s = X509_NAME_oneline(name, NULL, 0);
    json_t *j = json_string(s != NULL ? s : "?");
    OPENSSL_free(s);
    return j;
}

json_t *cli_cert_json(X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *serial = bn != NULL ? BN_bn2hex(bn) : NULL;
    json_t *j = json_pack(
        "{s:o,s:o,s:s,s:o,s:o}", "subject", name_json(X509_get_subject_name(x)), "issuer",
        name_json(X509_get_issuer_name(x)), "serial", serial != NULL ? serial : "?", "not_before",
        asn1_time_json(X509_get0_notBefore(x)), "not_after", asn1_time_json(X509_get0_notAfter(x)));
    OPENSSL_free(serial);
    BN_free(bn);
    return j;
}
