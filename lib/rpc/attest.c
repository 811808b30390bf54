/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AttestGpu: fresh evidence and the gate's whole appraisal for the relying
 * party's own 32-byte challenge, so that it can check freshness itself. The
 * gate runs dry with the bundle in memory: nothing is written, measured or
 * set. Each run drives NVML and appraises every device, so the calls are
 * rate-limited (a token bucket, --attest-burst and --attest-interval), and
 * one attestation at a time drives NVML (the re-attestation's lock).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/cleanup.h"
#include "dga/util.h"
#include "rpc/internal.h"

bool rpc_bucket_take(struct rpc_bucket *b, int64_t now_ms, int64_t *ret_wait_ms)
{
    if (b->interval_ms <= 0) {
        return true;
    }
    int64_t burst = b->burst > 0 ? b->burst : 1;
    int64_t full_at = b->full_at_ms > now_ms ? b->full_at_ms : now_ms;
    int64_t next = full_at + b->interval_ms; /* a token taken: full one interval later */
    int64_t over = next - now_ms - burst * b->interval_ms;
    if (over > 0) {
        *ret_wait_ms = over;
        return false;
    }
    b->full_at_ms = next;
    return true;
}

static bool is_hex_digit(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

dga_err rpc_attest_args(const json_t *args, uint8_t out[DGA_NONCE_LEN], char detail[128])
{
    const json_t *n = json_object_get(args, "nonce");
    const char *why = NULL;
    if (n == NULL || json_is_null(n)) {
        why = "missing (32 bytes as hex)";
    } else if (!json_is_string(n)) {
        why = "not a string (32 bytes as hex)";
    }
    const char *hex = json_string_value(n);
    size_t len = json_string_length(n);
    for (size_t i = 0; why == NULL && i < len; i++) {
        if (!is_hex_digit(hex[i])) {
            why = "not hex";
        }
    }
    if (why == NULL && len % 2 != 0) {
        why = "an odd number of hex digits";
    }
    if (why != NULL) {
        snprintf(detail, 128, "nonce: %s", why);
        return DGA_E_RPC_FIELD;
    }
    if (len != 2 * DGA_NONCE_LEN) {
        snprintf(detail, 128, "nonce: %zu bytes, want %u", len / 2, (unsigned)DGA_NONCE_LEN);
        return DGA_E_RPC_FIELD;
    }
    uint8_t tmp[DGA_NONCE_LEN];
    if (dga_hex_decode_exact(hex, tmp, DGA_NONCE_LEN) != DGA_E_OK) {
        snprintf(detail, 128, "nonce: not hex");
        return DGA_E_RPC_FIELD;
    }
    memcpy(out, tmp, DGA_NONCE_LEN);
    return DGA_E_OK;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One token, or DGA_E_RPC_RATE_LIMITED naming the whole seconds to wait. */
static dga_err take_token(struct dga_rpc *r, struct rpc_failure *f)
{
    int64_t wait_ms = 0;
    pthread_mutex_lock(&r->bucket_mu);
    bool ok = rpc_bucket_take(&r->bucket, now_ms(), &wait_ms);
    pthread_mutex_unlock(&r->bucket_mu);
    if (ok) {
        return DGA_E_OK;
    }
    return rpc_failed(f, DGA_E_RPC_RATE_LIMITED, "retry in %lld s",
                      (long long)((wait_ms + 999) / 1000));
}

dga_err rpc_attest_gpu(struct dga_rpc *r, const json_t *args, json_t **ret, struct rpc_failure *f)
{
    uint8_t nonce[DGA_NONCE_LEN];
    char detail[128];
    dga_err e = rpc_attest_args(args, nonce, detail);
    if (e != DGA_E_OK) {
        return rpc_failed(f, e, "%s", detail);
    }
    e = take_token(r, f); /* after the arguments: a malformed call costs no token */
    if (e != DGA_E_OK) {
        return e;
    }
    const struct dga_gate_options opt = {.dry_run = true, .nonce = nonce, .bundle_in_memory = true};
    _cleanup_(dga_gate_result_clearp) struct dga_gate_result res = {0};
    pthread_mutex_lock(&r->attest_mu);
    dga_gate_run(r->gate, &opt, &res);
    pthread_mutex_unlock(&r->attest_mu);
    /* A finding about the GPUs is an answer (pass false, the bundle says why); anything else
     * means no appraisal was made. */
    bool answered = res.outcome == DGA_GATE_OUTCOME_PASS || res.outcome == DGA_GATE_OUTCOME_REFUSED;
    if (!answered || res.bundle == NULL) {
        return rpc_failed(f, DGA_E_RPC_ATTESTATION, "%s",
                          res.reason[0] != '\0' ? res.reason : "no bundle");
    }
    char sha_hex[65];
    dga_hex_encode(res.bundle_sha256, 32, sha_hex);
    json_t *o = json_pack("{s:s%,s:s,s:b}", "bundle", res.bundle, res.bundle_len, "bundle_sha256",
                          sha_hex, "pass", res.err == DGA_E_OK);
    if (o == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = o;
    return DGA_E_OK;
}
