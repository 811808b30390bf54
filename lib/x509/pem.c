/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Concatenated PEM certificates, strictly: whitespace between blocks, nothing
 * else; inside a block only the base64 alphabet and whitespace. Each block is
 * decoded by OpenSSL and must hold a certificate whose DER re-encoding is
 * exactly the decoded bytes.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "core/cleanup.h"
#include "dga/x509.h"

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"
#define PEM_BEGIN_LEN (sizeof PEM_BEGIN - 1)
#define PEM_END_LEN (sizeof PEM_END - 1)

/* A block's span in the input: [start, end) from the first '-' of BEGIN past END's last '-'. */
struct pem_block {
    size_t start;
    size_t end;
};

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static bool is_base64(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '+' || ch == '/' || ch == '=';
}

static bool has_at(const char *pem, size_t len, size_t pos, const char *s, size_t n)
{
    return n <= len - pos && memcmp(pem + pos, s, n) == 0;
}

/*
 * Finds the block that starts at *pos (whitespace skipped first). Sets
 * *ret_done when only whitespace remains. On failure *pos is the offending byte.
 */
static dga_err next_block(const char *pem, size_t len, size_t *pos, struct pem_block *ret,
                          bool *ret_done)
{
    size_t i = *pos;
    while (i < len && is_space(pem[i])) {
        i++;
    }
    *ret_done = i == len;
    if (*ret_done) {
        *pos = i;
        return DGA_E_OK;
    }
    if (!has_at(pem, len, i, PEM_BEGIN, PEM_BEGIN_LEN)) {
        *pos = i;
        return DGA_E_BAD_PEM;
    }
    ret->start = i;
    i += PEM_BEGIN_LEN;
    while (i < len && (is_space(pem[i]) || is_base64(pem[i]))) {
        i++;
    }
    if (!has_at(pem, len, i, PEM_END, PEM_END_LEN)) {
        *pos = i;
        return DGA_E_BAD_PEM;
    }
    ret->end = i + PEM_END_LEN;
    *pos = ret->end;
    return DGA_E_OK;
}

/* Base64 of one block via OpenSSL's PEM reader: the DER bytes (OPENSSL_malloc'd). */
static dga_err block_decode(const char *pem, const struct pem_block *b, unsigned char **ret,
                            long *ret_len)
{
    size_t n = b->end - b->start;
    _cleanup_(freep) char *text = malloc(n + 1);
    if (text == NULL) {
        return DGA_E_NOMEM;
    }
    memcpy(text, pem + b->start, n);
    text[n] = '\n';
    _cleanup_(BIO_free_allp) BIO *bio = BIO_new_mem_buf(text, (int)(n + 1));
    _cleanup_(OPENSSL_freep) char *name = NULL;
    _cleanup_(OPENSSL_freep) char *header = NULL;
    _cleanup_(OPENSSL_freep) unsigned char *data = NULL;
    long data_len = 0;
    if (bio == NULL) {
        return DGA_E_NOMEM;
    }
    if (PEM_read_bio(bio, &name, &header, &data, &data_len) != 1) {
        return DGA_E_BAD_PEM;
    }
    if (strcmp(name, "CERTIFICATE") != 0 || header[0] != '\0' || data_len <= 0) {
        return DGA_E_BAD_PEM;
    }
    *ret = TAKE_PTR(data);
    *ret_len = data_len;
    return DGA_E_OK;
}

/* d2i (or the pool) then i2d: the certificate must re-encode to exactly the decoded bytes. */
static dga_err cert_from_der(const unsigned char *der, long der_len, struct dga_cert_pool *pool,
                             bool device, X509 **ret)
{
    _cleanup_(X509_freep) X509 *x = NULL;
    _cleanup_(OPENSSL_freep) unsigned char *again = NULL;
    dga_err e = device ? dga_cert_pool_decode_device(pool, der, (size_t)der_len, &x)
                       : dga_cert_pool_decode(pool, der, (size_t)der_len, &x);
    if (e != DGA_E_OK) {
        return DGA_E_BAD_CERT;
    }
    int again_len = i2d_X509(x, &again);
    if (again_len <= 0 || (long)again_len != der_len || memcmp(again, der, (size_t)der_len) != 0) {
        return DGA_E_BAD_CERT;
    }
    *ret = TAKE_PTR(x);
    return DGA_E_OK;
}

static dga_err block_cert(const char *pem, const struct pem_block *b, struct dga_cert_pool *pool,
                          bool device, X509 **ret)
{
    _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
    long der_len = 0;
    dga_err e = block_decode(pem, b, &der, &der_len);
    if (e != DGA_E_OK) {
        return e;
    }
    return cert_from_der(der, der_len, pool, device, ret);
}

static dga_err parse_blocks(const char *pem, size_t len, struct dga_cert_pool *pool,
                            int shared_from, STACK_OF(X509) *out, struct dga_diag *diag)
{
    size_t pos = 0;
    for (;;) {
        struct pem_block b;
        bool done;
        dga_err e = next_block(pem, len, &pos, &b, &done);
        if (e != DGA_E_OK) {
            return dga_diag_set(diag, e, pos, "PEM text");
        }
        if (done) {
            break;
        }
        if (sk_X509_num(out) >= DGA_PEM_CHAIN_MAX_CERTS) {
            return dga_diag_set(diag, DGA_E_TOO_LARGE, b.start, "certificate count");
        }
        X509 *x = NULL;
        e = block_cert(pem, &b, pool, sk_X509_num(out) < shared_from, &x);
        if (e != DGA_E_OK) {
            return dga_diag_set(diag, e, b.start, "certificate");
        }
        if (sk_X509_push(out, x) <= 0) {
            X509_free(x);
            return dga_diag_set(diag, DGA_E_NOMEM, b.start, "certificate");
        }
    }
    if (sk_X509_num(out) == 0) {
        return dga_diag_set(diag, DGA_E_BAD_PEM, pos, "no certificate");
    }
    return DGA_E_OK;
}

dga_err dga_pem_chain_parse(const char *pem, size_t len, STACK_OF(X509) **ret,
                            struct dga_diag *diag)
{
    return dga_pem_chain_parse_pooled(pem, len, NULL, ret, diag);
}

dga_err dga_pem_chain_parse_pooled(const char *pem, size_t len, struct dga_cert_pool *pool,
                                   STACK_OF(X509) **ret, struct dga_diag *diag)
{
    return dga_pem_chain_parse_pooled_from(pem, len, pool, 0, ret, diag);
}

dga_err dga_pem_chain_parse_pooled_from(const char *pem, size_t len, struct dga_cert_pool *pool,
                                        int shared_from, STACK_OF(X509) **ret,
                                        struct dga_diag *diag)
{
    if (ret == NULL || (pem == NULL && len > 0)) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "arguments");
    }
    if (len > DGA_CHAIN_PEM_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, DGA_CHAIN_PEM_MAX, "PEM length");
    }
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *out = sk_X509_new_null();
    if (out == NULL) {
        return dga_diag_set(diag, DGA_E_NOMEM, 0, "certificate stack");
    }
    dga_err e = parse_blocks(pem != NULL ? pem : "", len, pool, shared_from, out, diag);
    if (e != DGA_E_OK) {
        ERR_clear_error();
        return e;
    }
    *ret = TAKE_PTR(out);
    return DGA_E_OK;
}

dga_err dga_pem_leaf_der(const char *pem, size_t len, unsigned char **ret, size_t *ret_len)
{
    if (pem == NULL || len > DGA_CHAIN_PEM_MAX) {
        return DGA_E_BAD_ARGUMENT;
    }
    size_t pos = 0;
    struct pem_block b;
    bool done = false;
    dga_err e = next_block(pem, len, &pos, &b, &done);
    if (e == DGA_E_OK && done) {
        e = DGA_E_BAD_PEM;
    }
    unsigned char *der = NULL;
    long der_len = 0;
    if (e == DGA_E_OK) {
        e = block_decode(pem, &b, &der, &der_len);
    }
    ERR_clear_error();
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = der;
    *ret_len = (size_t)der_len;
    return DGA_E_OK;
}
