/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the TDX collateral: dga_quote_collateral_parse on the
 * input; when it succeeds, dga_tcb_info_parse and dga_qe_identity_parse of
 * its two signed strings, then the canonical sort. The input is also read
 * directly as a TCB info and as a QE identity, so that the inner parsers are
 * reached without a valid outer document. Seed corpus: the *_collateral.json
 * files of tests/fixtures/tdx.
 */
#include <stddef.h>
#include <stdint.h>

#include "dga/quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void tcb_info(const char *text, size_t len)
{
    struct dga_tcb_info t;
    if (dga_tcb_info_parse(text, len, &t, NULL) == DGA_E_OK) {
        dga_tcb_levels_sort(&t);
        dga_tcb_info_clear(&t);
    }
}

static void qe_identity(const char *text, size_t len)
{
    struct dga_qe_identity q;
    if (dga_qe_identity_parse(text, len, &q, NULL) == DGA_E_OK) {
        dga_qe_identity_clear(&q);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dga_quote_collateral c;
    if (dga_quote_collateral_parse((const char *)data, size, &c, NULL) == DGA_E_OK) {
        tcb_info(c.tcb_info, c.tcb_info_len);
        qe_identity(c.qe_identity, c.qe_identity_len);
        dga_quote_collateral_clear(&c);
    }
    tcb_info((const char *)data, size);
    qe_identity((const char *)data, size);
    return 0;
}
