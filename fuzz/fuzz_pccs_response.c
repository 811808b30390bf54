/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the parsers of a PCCS's answers (lib/collateral/pccs.c,
 * through collateral/testing.h), which collateral fetch-tdx applies to what a
 * network peer sends. Byte 0 selects what the rest is:
 *   0  a response body: read as a CRL (DER or hex), and as the signed TCB info
 *      and QE identity bodies ({"tcbInfo"|"enclaveIdentity": {...}, "signature"});
 *   1  issuer chain header values, split at the first newline: read as the one
 *      value of a header, and as the two values a TCB info answer may carry.
 * Seeds (fuzz/run-smoke.sh): the PCCS answers tests/quote/fake_pccs.py derives
 * from tests/fixtures/tdx/tdx_quote_collateral.json.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collateral/testing.h"
#include "dga/collateral.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bodies(const uint8_t *body, size_t len)
{
    uint8_t *der = NULL;
    size_t der_len = 0;
    char *text = NULL;
    size_t text_len = 0;
    uint8_t sig[DGA_QUOTE_SIG_LEN];
    if (pccs_crl_body(body, len, &der, &der_len) == DGA_E_OK) {
        free(der);
    }
    if (pccs_signed_body(body, len, "tcbInfo", &text, &text_len, sig) == DGA_E_OK) {
        free(text);
    }
    if (pccs_signed_body(body, len, "enclaveIdentity", &text, &text_len, sig) == DGA_E_OK) {
        free(text);
    }
}

static void headers(const uint8_t *data, size_t len)
{
    /* header values are C strings: NUL-terminated copies, without embedded NULs */
    char *buf = malloc(len + 1);
    if (buf == NULL) {
        return;
    }
    memcpy(buf, data, len);
    buf[len] = '\0';
    char *second = strchr(buf, '\n');
    if (second != NULL) {
        *second++ = '\0';
    }
    struct dga_http_response r;
    memset(&r, 0, sizeof r);
    r.captured[0] = buf;
    char *pem = NULL;
    struct dga_diag diag = {0};
    if (pccs_issuer_chain(&r, 1, "pck_crl_issuer_chain", &pem, &diag) == DGA_E_OK) {
        free(pem);
    }
    r.captured[0] = second;
    r.captured[1] = buf; /* both names answered: ambiguous when second is there */
    if (pccs_issuer_chain(&r, 2, "tcb_info_issuer_chain", &pem, &diag) == DGA_E_OK) {
        free(pem);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if (data[0] == 0) {
        bodies(data + 1, size - 1);
    } else if (data[0] == 1) {
        headers(data + 1, size - 1);
    }
    return 0;
}
