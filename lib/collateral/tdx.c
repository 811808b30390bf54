/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TDX collateral directory: one QuoteCollateralV3 document per platform
 * kind, <dir>/tdx/<FMSPC>-<ca>.json, FMSPC in upper-case hex and ca
 * "platform" or "processor" (the PCK CA that issued the quote's PCK leaf):
 * the two values that select Intel's TCB info and PCK CRL. The QE identity
 * and the root CA CRL are the same for every platform, so a document is
 * complete on its own. Entries are read with the store's no-follow open
 * (a link planted in the directory is refused) and written atomically; what
 * an entry holds is never trusted: quote verification checks all of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509.h>

#include "dga/cleanup.h"
#include "dga/collateral.h"
#include "dga/util.h"
#include "dga/x509.h"

const char *dga_tdx_collateral_ca_name(bool processor_ca)
{
    return processor_ca ? "processor" : "platform";
}

dga_err dga_tdx_collateral_key(const struct dga_quote *q, struct dga_tdx_collateral_key *ret,
                               struct dga_diag *diag)
{
    if (q == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (q->inner_cert_type != DGA_QUOTE_CERT_PCK_CHAIN) {
        return dga_diag_set(diag, DGA_E_QUOTE_CERT_DATA, 0, "quote.cert_data.type");
    }
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
    struct dga_pck_ext ext;
    dga_err e = dga_pem_chain_parse((const char *)q->inner_cert_data, q->pem_len, &chain, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_pck_ext_parse(sk_X509_value(chain, 0), &ext, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    dga_hex_encode_upper(ext.fmspc, sizeof ext.fmspc, ret->fmspc);
    ret->processor_ca = ext.processor_ca;
    return DGA_E_OK;
}

/* 12 upper-case hex digits: the only names the directory holds. */
static bool fmspc_ok(const char *fmspc)
{
    if (strlen(fmspc) != 12) {
        return false;
    }
    for (const char *p = fmspc; *p != '\0'; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F'))) {
            return false;
        }
    }
    return true;
}

dga_err dga_tdx_collateral_path(const char *dir, const struct dga_tdx_collateral_key *k, char *out,
                                size_t cap)
{
    if (dir == NULL || k == NULL || !fmspc_ok(k->fmspc)) {
        return DGA_E_BAD_ARGUMENT;
    }
    int n = snprintf(out, cap, "%s/tdx/%s-%s.json", dir, k->fmspc,
                     dga_tdx_collateral_ca_name(k->processor_ca));
    return n > 0 && (size_t)n < cap ? DGA_E_OK : DGA_E_BAD_ARGUMENT;
}

dga_err dga_tdx_collateral_read(const char *dir, const struct dga_tdx_collateral_key *k, char **ret,
                                size_t *ret_len)
{
    char path[4096];
    dga_err e = dga_tdx_collateral_path(dir, k, path, sizeof path);
    if (e != DGA_E_OK) {
        return e;
    }
    /* One O_NOFOLLOW open and fstat of that descriptor, as the OCSP store reads. */
    uint8_t *data = NULL;
    e = dga_file_read_flags(path, DGA_QUOTE_COLLATERAL_MAX, DGA_FILE_NOFOLLOW, &data, ret_len);
    if (e == DGA_E_IO) {
        return errno == ENOENT ? DGA_E_QUOTE_COLLATERAL_MISSING : DGA_E_COLLATERAL_STORE;
    }
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = (char *)data;
    return DGA_E_OK;
}

/* The directory the user named may be a link; the store's own tdx/ inside it may not. */
static dga_err ensure_dir(const char *path, bool follow)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        int rc = follow ? stat(path, &st) : lstat(path, &st);
        return rc == 0 && S_ISDIR(st.st_mode) ? DGA_E_OK : DGA_E_COLLATERAL_STORE;
    }
    return DGA_E_COLLATERAL_STORE;
}

dga_err dga_tdx_collateral_store(const char *dir, const struct dga_tdx_collateral_key *k,
                                 const char *json, size_t len)
{
    char sub[4096];
    char path[4096];
    dga_err e = dga_tdx_collateral_path(dir, k, path, sizeof path);
    if (e != DGA_E_OK) {
        return e;
    }
    if (json == NULL || len == 0 || len > DGA_QUOTE_COLLATERAL_MAX) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (snprintf(sub, sizeof sub, "%s/tdx", dir) >= (int)sizeof sub) {
        return DGA_E_BAD_ARGUMENT;
    }
    e = ensure_dir(dir, true);
    if (e != DGA_E_OK) {
        return e;
    }
    e = ensure_dir(sub, false);
    if (e != DGA_E_OK) {
        return e;
    }
    return dga_collateral_write_atomic(path, (const uint8_t *)json, len);
}
