/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RTMRs of a TDX quote, read by the quote layer's one parser
 * (dga_quote_parse, docs/formats.md §19): v4, or v5 with a TD report 1.0 or
 * 1.5 body, each malformed field refused with its own error. The signature
 * is not checked here: `quote verify` does that.
 */
#include <string.h>

#include "dga/measure.h"
#include "dga/quote.h"

dga_err dga_tdx_quote_rtmr(const uint8_t *quote, size_t len, unsigned index,
                           uint8_t out[DGA_EVENT_DIGEST_LEN])
{
    if (quote == NULL || index > 3) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct dga_quote q;
    dga_err e = dga_quote_parse(quote, len, &q, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    memcpy(out, q.td.rt_mr[index], DGA_EVENT_DIGEST_LEN);
    return DGA_E_OK;
}
