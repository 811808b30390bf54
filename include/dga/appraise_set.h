/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Appraisal of a whole evidence set, the work `attest` and the boot gate
 * share (lib/appraise/appraise_set.c): every device appraised, labelled,
 * checked for duplicates, the policy's verdict, nvattest's result code, the
 * detached EAT, and the collateral used (lib/appraise/set_collateral.c). It
 * sits in the appraise layer, above policy: it evaluates the policy over the
 * claims it builds (docs/layers.md).
 */
#ifndef DGA_APPRAISE_SET_H
#define DGA_APPRAISE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "dga/appraise.h"
#include "dga/collateral.h"
#include "dga/eat.h"
#include "dga/error.h"
#include "dga/evidence.h"
#include "dga/policy.h"
#include "dga/topology.h"

/*
 * Why a device of a set is an earlier device of the same set counted again:
 * a set of devices must be a set of distinct physical devices.
 */
enum dga_duplicate_kind {
    DGA_DUPLICATE_NONE,
    DGA_DUPLICATE_REPORT, /* the same report bytes */
    DGA_DUPLICATE_LEAF,   /* the same leaf certificate (its DER) */
    DGA_DUPLICATE_UEID,   /* the same ueid (leaf serial) on two devices of one architecture */
};

struct dga_duplicate {
    enum dga_duplicate_kind kind;
    size_t of; /* the earliest device it repeats (an index below its own) */
};

/*
 * Everything one appraisal of an evidence set produces. The gate and
 * `attest` compute the same thing: every device appraised with one
 * verification cache, labelled GPU-n / SWITCH-n in evidence order, claims v3,
 * duplicate devices, the verdict (the gate's order: each device's own hard
 * failures, then duplicates, then the mode rule's and topology's refusals,
 * then every policy reason), nvattest's result code, and the detached EAT.
 */
struct dga_set_appraisal {
    size_t n;
    struct dga_appraisal *dev; /* n of them (about 80 KiB each: allocated, never 64 up front) */
    /*
     * Per device: the earlier device of the set it repeats (report, else leaf
     * certificate, else ueid), or kind NONE. A duplicate is a hard failure of
     * the set ("GPU-1: duplicate-device: same leaf certificate as GPU-0"),
     * result code 503, and x-nvidia-overall-att-result false.
     */
    struct dga_duplicate dup[DGA_MAX_DEVICES];
    size_t n_duplicates;
    json_t *claims;             /* array, one claims v3 object per device */
    struct dga_verdict verdict; /* devices, duplicates, mode/topology, then the policy */
    bool nvidia_default_pass;   /* x-nvidia-overall-att-result */
    int result_code;            /* nvattest's numbering */
    const char *result_message;
    json_t *detached_eat; /* {} when no token was asked for */
    /*
     * The mode rule (opt->mode). CC: each GPU whose signed report says PPCIe
     * (mode-ppcie-evidence) and each NVSwitch (mode-switch-in-cc) is a hard
     * failure of the set. PPCIe: the topology check over every device whose
     * report parsed, its views built from the verified chains (no signature
     * verified again); a failing topology is a hard failure of the set.
     * Either way the verdict fails, x-nvidia-overall-att-result is false and
     * the result code is 503 unless a device failed first.
     */
    enum dga_set_mode mode;
    bool topology_checked; /* PPCIe mode: the check ran */
    struct dga_topology_result topology;
    json_t *topology_json; /* dga_topology_json of that check; NULL when not run */
    dga_err mode_err;      /* the first mode or topology refusal's error; DGA_E_OK when none */
    char mode_failure[DGA_VERDICT_REASON_LEN]; /* its verdict reason; "" when none */
    struct dga_verdict_about mode_about;       /* the device it names and where its text starts */
    /*
     * Who each refusal is about, so that a device's entry can say its own cause: the first
     * refusal naming device i (mode_device_err[i], DGA_E_OK when none) and the first refusal
     * of the set as a whole (mode_set_err: a topology finding, an unknown mode), each with the
     * check its reason names, "mode" or "topology" (NULL when none).
     */
    dga_err mode_device_err[DGA_MAX_DEVICES];
    const char *mode_device_check[DGA_MAX_DEVICES];
    dga_err mode_set_err;
    const char *mode_set_check;
};

/*
 * Appraises every device of set with opt (opt->cache must be set, for speed,
 * or NULL), on dga_appraise_jobs(opt->jobs, 3 * set->n) threads (the
 * caller's among them; a device's report and its two RIMs are separate work
 * items, combined in the serial order), then, serially and in evidence order, labels, duplicates,
 * claims and the verdict: the result does not depend on the thread count.
 * Then evaluates policy. policy_is_file selects result code 11
 * (relying-party policy) over 12 when the policy alone says no. Fills *ret
 * (free with dga_set_appraisal_clear) even when devices fail; returns an
 * error only when the verdict could not be computed (DGA_E_NOMEM).
 */
dga_err dga_appraise_set(const struct dga_evidence_set *set, const struct dga_appraise_options *opt,
                         const struct dga_policy *policy, struct dga_set_appraisal *ret);
/*
 * Frees what *a holds, not a itself (the caller's), and leaves it zeroed:
 * clearing twice is harmless. NULL is fine.
 */
void dga_set_appraisal_clear(struct dga_set_appraisal *a);
/* For _cleanup_ on a struct variable: dga_set_appraisal_clear(a). */
static inline void dga_set_appraisal_clearp(struct dga_set_appraisal *a)
{
    dga_set_appraisal_clear(a);
}

/*
 * What device i shares with the device it repeats: "same report", "same leaf
 * certificate" or "same ueid <decimal serial>" ("" when it repeats none).
 */
void dga_duplicate_text(const struct dga_set_appraisal *a, size_t i, char *out, size_t size);

/*
 * The first mode or topology refusal of the set, as its verdict reason says
 * it: "<label>: mode: <error-name>: <text>" ("GPU-3: mode:
 * mode-ppcie-evidence: TLV 21 is 0xAA") or "topology: <error-name>:
 * <finding>" ("topology: topology-switch-duplicate: SWITCH-1 ..."), into out
 * and its error into *err (may be NULL). False (out "", *err DGA_E_OK) when
 * the mode rule refused nothing. The gate's and `attest`'s one-line reason.
 */
bool dga_set_appraisal_mode_failure(const struct dga_set_appraisal *ap, char *out, size_t size,
                                    dga_err *err);

/*
 * Records that a second relying-party policy refused a set its own policy passed
 * (the gate's document standing in for a gpu_policy Rego): the verdict fails and
 * the result code is 11, "Relying party policy mismatch", as when the set's own
 * policy document refuses. Call it before dga_set_appraisal_eat.
 */
void dga_set_appraisal_rp_refused(struct dga_set_appraisal *ap);

/*
 * The detached EAT over ap->claims into ap->detached_eat: the overall
 * token's nonce, NVIDIA's default result (x-nvidia-overall-att-result) and
 * the applied policy's verdict and SHA-256 come from the appraisal; key,
 * allow_unsigned, kid, issuer and iat from `o` (its other fields are
 * ignored). With neither a key nor allow_unsigned: {} (no token asked for).
 */
dga_err dga_set_appraisal_eat(struct dga_set_appraisal *ap, const struct dga_policy *policy,
                              const uint8_t nonce[DGA_NONCE_LEN], const struct dga_eat_options *o);

/*
 * The collateral the appraisal used: {"rims": [{device, role, id, sha256,
 * issues_in_store}], "ocsp": [{device, chain, index, subject, certid_sha256,
 * source, status, revocation_reason, error, this_update, next_update,
 * response (DER, base64)}], "ocsp_source": {mode, url, collateral_dir,
 * max_age}}. The "ocsp" list is what `attest --ocsp bundle` re-reads. New
 * reference, NULL on allocation failure.
 */
json_t *dga_set_appraisal_collateral(const struct dga_set_appraisal *ap,
                                     const struct dga_ocsp_source *src);

/* What the JSON of an appraised set says besides the appraisal itself. */
struct dga_set_json_context {
    const struct dga_policy *policy;    /* NULL: none loaded ("source": "unloaded") */
    const struct dga_ocsp_source *ocsp; /* the revocation source (required) */
    const uint8_t *nonce;               /* DGA_NONCE_LEN bytes; NULL: none yet (null) */
    time_t verified_at;
    const char *device_root, *rim_root; /* "nvidia", or "custom" (attest) / "test" (gate) */
};

/*
 * The one JSON core of an appraised set (docs/formats.md §13), which `attest
 * --format json` prints and the gate's evidence bundle extends: nvattest's
 * result_code, result_message, claims and detached_eat (claims and token only
 * for result codes 0, 11 and 12, {} otherwise), then verdict {pass, result,
 * reasons, revocation}, collateral (dga_set_appraisal_collateral), devices
 * [{label, arch, result, failed_check, error, message, duplicate_of, claims}],
 * nonce (lowercase hex), verified_at, policy {source, sha256}, trust_roots
 * {device, rim}, mode ("any", "cc", "ppcie") and, when the PPCIe topology
 * check ran, topology (ap->topology_json). ap NULL (not appraised yet): result_code -1, "not
 * appraised", empty lists. New reference, NULL on allocation failure.
 */
json_t *dga_set_appraisal_json(const struct dga_set_appraisal *ap,
                               const struct dga_set_json_context *c);

#endif
