/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the measure layer's parsers: dga_eventlog_parse on
 * the input (any of the three log forms) and, when it parses, both replays;
 * dga_gpu_policy_hash_compose and dga_gpu_policy_hash_value on the same
 * bytes (JSON pointer, RFC 8785 canonicalization); and dga_tdx_quote_rtmr on
 * the raw bytes. Seed corpus (fuzz/run-smoke.sh): dstack's recorded GetQuote
 * response, its event_log array, runtime_events.log, and small V2 and
 * app-compose documents.
 */
#include <stddef.h>
#include <stdint.h>

#include "dga/measure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dga_eventlog *log = NULL;
    if (dga_eventlog_parse((const char *)data, size, &log, NULL) == DGA_E_OK) {
        uint8_t rtmr[4][DGA_EVENT_DIGEST_LEN], pcr[DGA_EVENT_DIGEST_LEN];
        dga_eventlog_replay(log, rtmr);
        (void)dga_eventlog_replay_runtime(log, DGA_HASH_SHA256, pcr);
        dga_eventlog_free(log);
    }
    uint8_t hash[32], reg[DGA_EVENT_DIGEST_LEN];
    (void)dga_gpu_policy_hash_compose((const char *)data, size, hash, NULL);
    (void)dga_gpu_policy_hash_value((const char *)data, size, hash, NULL);
    (void)dga_tdx_quote_rtmr(data, size, 3, reg);
    return 0;
}
