/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for what a CVM hands a relying party (lib/cvm): the input
 * as dga_cvm_input_parse reads it (GetQuote response / verifier request, with
 * its event log as delivered to verifiers) and, when it parses, the whole
 * verification over a TD report whose registers are the log's own replay (so
 * the boot-order and GPU checks are reached, not stopped at the replay),
 * with the request's gpu_bundle, else the same bytes, as the bundle, and the
 * verdict written as JSON and text (never refused: a NULL is a bug); then
 * the bundle reader and the gpu-attestation payload parser on the raw bytes. Seeds
 * (fuzz/run-smoke.sh): dstack's GetQuote fixture and a verifier request built from it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dga/cvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char expect_json[] = "{\"gpu\":{\"required\":true,\"gpus\":{\"min\":1},"
                                  "\"nvswitches\":{\"exact\":0},\"max_bundle_age\":86400}}";

/* Whatever the CVM's bytes, the verdict is written (no allocation fails here). */
static void output(const struct dga_cvm_run *run)
{
    json_t *j = dga_cvm_run_json(run);
    char *text = dga_cvm_run_text(run);
    if (j == NULL || text == NULL) {
        abort();
    }
    json_decref(j);
    free(text);
}

static void verify(const struct dga_cvm_input *in, const uint8_t *data, size_t size)
{
    struct dga_cvm_expect x;
    if (dga_cvm_expect_parse(expect_json, sizeof expect_json - 1, &x, NULL) != DGA_E_OK) {
        abort();
    }
    struct dga_td_report td;
    memset(&td, 0, sizeof td);
    uint8_t rtmr[4][DGA_EVENT_DIGEST_LEN];
    dga_eventlog_replay(in->log, rtmr);
    memcpy(td.rt_mr, rtmr, sizeof rtmr);
    struct dga_cvm_quote_facts q = {.td = &td, .verified = true};
    struct dga_cvm_options opt = {.at = 1767225600};
    struct dga_cvm_run run;
    memset(&run, 0, sizeof run);
    const uint8_t *bundle = in->gpu_bundle != NULL ? in->gpu_bundle : data;
    size_t len = in->gpu_bundle != NULL ? in->gpu_bundle_len : size;
    if (dga_cvm_verify(&q, in, bundle, len, &x, &opt, &run.result) == DGA_E_OK) {
        if (run.result.valid) {
            abort(); /* no re-appraisal callback: never valid with GPUs required */
        }
        output(&run);
    }
    dga_cvm_run_clear(&run);
    dga_cvm_expect_clear(&x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dga_cvm_input in;
    if (dga_cvm_input_parse((const char *)data, size, &in, NULL) == DGA_E_OK) {
        verify(&in, data, size);
        dga_cvm_input_clear(&in);
    }
    uint8_t *b = NULL;
    size_t n = 0;
    if (dga_cvm_bundle_read(data, size, DGA_CVM_BUNDLE_AUTO, &b, &n, NULL) == DGA_E_OK) {
        free(b);
    }
    struct dga_cvm_gpu_payload p;
    (void)dga_cvm_gpu_payload_parse(data, size, &p, NULL);
    return 0;
}
