/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dga/util.h"

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
    if (e == DGA_E_IO && errno != 0) {
        cli_error("%s: %s", path, strerror(errno));
    } else {
        cli_error("%s: %s", path, dga_err_message(e));
    }
    return EXIT_IO;
}

static int load_json(const char *path, struct dga_evidence_set *ret)
{
    uint8_t *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, DGA_EVIDENCE_JSON_MAX, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    struct dga_diag diag = {0};
    dga_err e = dga_evidence_json_parse((const char *)text, len, ret, &diag);
    free(text);
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
    uint8_t *report = NULL, *chain = NULL;
    size_t report_len = 0, chain_len = 0;
    int rc = cli_read_file(a->report, 2 * DGA_REPORT_MAX + 64, &report, &report_len);
    if (rc == EXIT_VERIFIED) {
        rc = cli_read_file(a->cert_chain, DGA_CHAIN_PEM_MAX, &chain, &chain_len);
    }
    if (rc == EXIT_VERIFIED) {
        dga_err e = dga_evidence_raw(report, report_len, (const char *)chain, chain_len, arch,
                                     ret);
        if (e != DGA_E_OK) {
            cli_error("%s: %s", a->report, dga_err_message(e));
            rc = e == DGA_E_NOMEM ? EXIT_IO : EXIT_REJECTED;
        }
    }
    free(report);
    free(chain);
    return rc;
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
