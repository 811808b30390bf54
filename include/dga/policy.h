/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verdict over a claims array (docs/policy.md):
 * a built-in default (NVIDIA's default appraisal plus secboot and dbgstat)
 * or a JSON policy document (schema: docs/policy.md) that can relax exactly
 * what NVIDIA's example Rego policies relax and add dstack's knobs, device
 * counts, version allow-lists and protected-PCIe mode.
 */
#ifndef DGA_POLICY_H
#define DGA_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dga/error.h"

#define DGA_POLICY_MAX_BYTES (64u << 10)
#define DGA_VERDICT_MAX_REASONS 64
#define DGA_VERDICT_REASON_LEN 192

struct dga_policy; /* opaque */

/* The built-in default policy. */
dga_err dga_policy_default(struct dga_policy **ret);
/*
 * A JSON policy document; unknown keys, wrong types and out-of-range values
 * are DGA_E_POLICY with diag->field naming the key (a static string).
 */
dga_err dga_policy_parse(const char *json, size_t len, struct dga_policy **ret,
                         struct dga_diag *diag);
/* Frees p and everything it holds; NULL is fine. */
void dga_policy_free(struct dga_policy *p);
/* For _cleanup_: dga_policy_free(*p), then *p = NULL. */
static inline void dga_policy_freep(struct dga_policy **p)
{
    dga_policy_free(*p);
    *p = NULL;
}

/* Where a policy came from: dga_policy_default() or a document (dga_policy_parse()). */
enum dga_policy_origin { DGA_POLICY_BUILTIN, DGA_POLICY_FILE };
/* NULL reads as DGA_POLICY_FILE, as it always has. */
enum dga_policy_origin dga_policy_origin(const struct dga_policy *p);
/* The origin's name for output: "builtin" or "file". */
const char *dga_policy_source(const struct dga_policy *p);
/* SHA-256 of the policy document's bytes as given (of "" for the built-in one). */
void dga_policy_sha256(const struct dga_policy *p, uint8_t out[32]);

/* dstack knobs the verdict over claims cannot see (the gate reads them). */
bool dga_policy_attest_gpu(const struct dga_policy *p);
bool dga_policy_allow_devtools(const struct dga_policy *p);
/* false only when the policy says "ocsp": "not-required" (attest --ocsp off needs that). */
bool dga_policy_ocsp_required(const struct dga_policy *p);

/*
 * The PPCIe topology check (docs/ppcie.md), from the document's "ppcie"
 * object: the expected GPU and NVSwitch counts (default 8 and 4, an HGX
 * board) and whether the GPUs the NVSwitches name must be the attested GPUs
 * by the PDI in each GPU's certificate (default true). NULL: the defaults.
 */
#define DGA_POLICY_PPCIE_MAX_DEVICES 64
struct dga_policy_ppcie {
    uint32_t gpus, switches;
    bool gpu_pdi_in_cert;
};
void dga_policy_ppcie(const struct dga_policy *p, struct dga_policy_ppcie *ret);

/*
 * What the gate adds to a policy it loaded (docs/gate.md), before evaluating it:
 * - dstack's gpu_policy relaxations: allow_debug drops the dbgstat requirement,
 *   allow_insecure_boot the secboot one (each ORed with the document's own);
 * - in CC mode, the NVSwitches of the PCI inventory, which are not attested there
 *   (in PPCIe mode the gate attests them and adds nothing: the claims count): from then
 *   on the policy's NVSwitch count is checked against that number, and against
 *   the NVSwitches in the claims too when the claims hold any.
 * The document's SHA-256 is unchanged: the gate measures what it added.
 */
void dga_policy_relax_measurements(struct dga_policy *p, bool allow_debug,
                                   bool allow_insecure_boot);
void dga_policy_set_nvswitch_inventory(struct dga_policy *p, size_t n);
bool dga_policy_allow_debug(const struct dga_policy *p);
bool dga_policy_allow_insecure_boot(const struct dga_policy *p);

/*
 * What a reason is about, so that a caller can reword it without parsing it
 * (the gate names the PCI address): device, the index in the claims array
 * of the device it names ("GPU-0: ..."), -1 when it names none ("devices:
 * ..." or "... more"); text_at, where the finding starts, past
 * "<subject>: " (0 when the reason has no subject).
 */
struct dga_verdict_about {
    long device;
    size_t text_at;
};

struct dga_verdict {
    bool pass;
    size_t n_reasons; /* every failed requirement, not just the first */
    char reasons[DGA_VERDICT_MAX_REASONS][DGA_VERDICT_REASON_LEN];
    struct dga_verdict_about about[DGA_VERDICT_MAX_REASONS]; /* one per reason */
};

/*
 * Evaluates the policy over a claims array (one claims v3 object per device,
 * GPUs labelled GPU-<n> and NVSwitches SWITCH-<n> in array order, as the
 * reasons name them). Missing or mistyped claims fail the requirement that
 * reads them. Returns DGA_E_OK with ret->pass false when the claims fail;
 * an error only when evaluation itself cannot run.
 */
dga_err dga_policy_evaluate(const struct dga_policy *p, const json_t *claims,
                            struct dga_verdict *ret);

/* {"result": "pass"|"fail", "reasons": [...]} New reference. */
json_t *dga_verdict_json(const struct dga_verdict *v);

#endif
