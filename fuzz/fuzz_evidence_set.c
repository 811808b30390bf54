/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the set appraisal (dga_appraise_set, what `attest` and the
 * gate run) over evidence sets with duplicated, reordered and mixed devices.
 * Input: one byte n (taken mod 16), then n plan bytes, then NVIDIA's evidence
 * JSON. With n = 0 the parsed set is appraised as it is; otherwise the set is
 * rebuilt from the plan, device plan[k] mod count at position k, so one
 * device can appear many times, in any order, among others. Devices are
 * appraised under the pinned NVIDIA roots at 2024-06-01 with the first
 * device's stated nonce and an empty RIM store (the report-level checks, the
 * duplicate checks, claims, the verdict and the result code all run).
 * Checked on every input: a device whose report bytes equal an earlier
 * device's is always marked a duplicate of an earlier device, every duplicate
 * points backwards, and any duplicate fails the verdict, NVIDIA's overall
 * result and the result code. Seeds (fuzz/run-smoke.sh): the fixtures' GPU
 * and NVSwitch evidence, alone, all together, the same device four times, and
 * with plans that repeat and reorder them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dga/appraise_set.h"
#include "dga/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PLAN_MAX 16
#define AT_2024_06_01 1717200000
#define EMPTY_RIM_STORE "/nonexistent/dga-fuzz-rims"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

/* Moves the parsed devices into the planned order (copies for repeats); frees the rest. */
static bool apply_plan(struct dga_evidence_set *set, const uint8_t *plan, size_t n)
{
    static struct dga_evidence_set out;
    memset(&out, 0, sizeof out);
    bool ok = true;
    for (size_t k = 0; k < n && set->n > 0; k++) {
        const struct dga_device_evidence *src = &set->dev[plan[k] % set->n];
        struct dga_device_evidence *d = &out.dev[out.n];
        *d = *src;
        d->report = malloc(src->report_len > 0 ? src->report_len : 1);
        d->chain_pem = malloc(src->chain_pem_len + 1);
        if (d->report == NULL || d->chain_pem == NULL) {
            free(d->report);
            free(d->chain_pem);
            ok = false;
            break;
        }
        memcpy(d->report, src->report, src->report_len);
        memcpy(d->chain_pem, src->chain_pem, src->chain_pem_len + 1);
        out.n++;
    }
    dga_evidence_set_clear(set);
    *set = out;
    return ok;
}

static bool same_report(const struct dga_device_evidence *x, const struct dga_device_evidence *y)
{
    return x->report_len > 0 && x->report_len == y->report_len &&
           memcmp(x->report, y->report, x->report_len) == 0;
}

static void check_duplicates(const struct dga_evidence_set *set, const struct dga_set_appraisal *a)
{
    size_t marked = 0;
    for (size_t i = 0; i < a->n; i++) {
        char text[96];
        dga_duplicate_text(a, i, text, sizeof text);
        if (a->dup[i].kind == DGA_DUPLICATE_NONE) {
            check(text[0] == '\0');
            for (size_t j = 0; j < i; j++) {
                check(!same_report(&set->dev[i], &set->dev[j]));
            }
            continue;
        }
        check(a->dup[i].of < i && text[0] != '\0');
        marked++;
    }
    check(marked == a->n_duplicates);
    if (a->n_duplicates > 0) {
        check(!a->verdict.pass && !a->nvidia_default_pass && a->result_code != 0);
    }
}

static void appraise(const struct dga_evidence_set *set, const struct dga_policy *policy,
                     const struct dga_trust *dev, const struct dga_trust *rim)
{
    struct dga_verify_cache *cache = NULL;
    if (dga_verify_cache_new(rim, &cache) != DGA_E_OK) {
        return;
    }
    struct dga_appraise_options opt = {
        .rim_trust = rim, .rim_dir = EMPTY_RIM_STORE, .cache = cache};
    opt.verify.at = AT_2024_06_01;
    opt.verify.trust = dev;
    if (set->n > 0 && set->dev[0].has_nonce) {
        memcpy(opt.verify.nonce, set->dev[0].nonce, DGA_NONCE_LEN);
    }
    static struct dga_set_appraisal a;
    if (dga_appraise_set(set, &opt, policy, &a) == DGA_E_OK) {
        check_duplicates(set, &a);
    }
    dga_set_appraisal_clear(&a);
    dga_verify_cache_free(cache);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dga_trust dev, rim;
    static struct dga_policy *policy;
    static const char policy_text[] = "{\"ocsp\":\"not-required\"}";
    if (policy == NULL &&
        (dga_trust_nvidia_device(&dev) != DGA_E_OK || dga_trust_nvidia_rim(&rim) != DGA_E_OK ||
         dga_policy_parse(policy_text, sizeof policy_text - 1, &policy, NULL) != DGA_E_OK)) {
        abort();
    }
    if (size < 1) {
        return 0;
    }
    size_t n = data[0] % PLAN_MAX;
    if (size < 1 + n) {
        return 0;
    }
    static struct dga_evidence_set set;
    const char *json = (const char *)data + 1 + n;
    if (dga_evidence_json_parse(json, size - 1 - n, &set, NULL) != DGA_E_OK) {
        return 0;
    }
    if (n == 0 || apply_plan(&set, data + 1, n)) {
        appraise(&set, policy, &dev, &rim);
    }
    dga_evidence_set_clear(&set);
    return 0;
}
