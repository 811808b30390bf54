/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RTMRs of a TDX quote v4 (docs/formats.md §14): a 48-byte
 * header (version 4, attestation key type, TEE type 0x81), the TD 1.0 report
 * body with RTMR0..3 at 376, 424, 472, 520, then a 4-byte signature data
 * length and the signature data. Quotes read from configfs may carry zero
 * padding after the signature data; anything else there is refused. The
 * signature itself is not checked here (that is DCAP's job).
 */
#include <string.h>

#include "core/cursor.h"
#include "dga/measure.h"

#define QUOTE_HEADER_LEN 48
#define QUOTE_BODY_LEN 584 /* TD 1.0 report body */
#define QUOTE_RTMR0 376
#define QUOTE_TEE_TDX 0x81u

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

dga_err dga_tdx_quote_rtmr(const uint8_t *quote, size_t len, unsigned index,
                           uint8_t out[DGA_EVENT_DIGEST_LEN])
{
    if (quote == NULL || index > 3) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct cursor c = cursor_init(quote, len);
    uint16_t version, key_type;
    uint32_t tee_type, sig_len;
    const uint8_t *skip, *sig;
    if (cursor_u16le(&c, &version) != DGA_E_OK || cursor_u16le(&c, &key_type) != DGA_E_OK ||
        cursor_u32le(&c, &tee_type) != DGA_E_OK || version != 4 || tee_type != QUOTE_TEE_TDX) {
        return DGA_E_BAD_QUOTE;
    }
    if (cursor_bytes(&c, QUOTE_HEADER_LEN - 8 + QUOTE_BODY_LEN, &skip) != DGA_E_OK ||
        cursor_u32le(&c, &sig_len) != DGA_E_OK || cursor_bytes(&c, sig_len, &sig) != DGA_E_OK ||
        !all_zero(quote + cursor_pos(&c), cursor_left(&c))) {
        return DGA_E_BAD_QUOTE;
    }
    memcpy(out, quote + QUOTE_RTMR0 + (size_t)index * DGA_EVENT_DIGEST_LEN, DGA_EVENT_DIGEST_LEN);
    return DGA_E_OK;
}
