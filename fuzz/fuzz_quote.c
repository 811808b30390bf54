/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the TDX quote: the input forms (binary, hex, GetQuote
 * JSON), the binary parser, and for an inner type-5 chain the PEM chain
 * parser and the PCK leaf's SGX extension. Seed corpus: the real quotes
 * under tests/fixtures (tdx/, dstack/quote-report.json).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dga/quote.h"
#include "dga/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_chain(const struct dga_quote *q)
{
    STACK_OF(X509) *chain = NULL;
    struct dga_diag diag = {0};
    if (dga_pem_chain_parse((const char *)q->inner_cert_data, q->pem_len, &chain, &diag) !=
        DGA_E_OK) {
        return;
    }
    struct dga_pck_ext ext;
    (void)dga_pck_ext_parse(sk_X509_value(chain, 0), &ext, &diag);
    sk_X509_pop_free(chain, X509_free);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    enum dga_quote_form form;
    struct dga_diag diag = {0};
    struct dga_quote q;
    /* The input as it arrives, and the same bytes taken as the binary quote. */
    if (dga_quote_input_decode(data, size, &bytes, &len, &form, &diag) == DGA_E_OK) {
        if (dga_quote_parse(bytes, len, &q, &diag) == DGA_E_OK &&
            q.inner_cert_type == DGA_QUOTE_CERT_PCK_CHAIN) {
            fuzz_chain(&q);
        }
        free(bytes);
    }
    if (dga_quote_parse(data, size, &q, &diag) == DGA_E_OK &&
        q.inner_cert_type == DGA_QUOTE_CERT_PCK_CHAIN) {
        fuzz_chain(&q);
    }
    return 0;
}
