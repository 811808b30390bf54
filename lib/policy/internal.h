/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the policy layer's files (parse.c, evaluate.c, verdict.c); not
 * part of the public API. A policy is a struct of bitmasks, counts and
 * allow-lists (docs/policy.md); the string allow-lists
 * point into the parsed document, which the policy keeps.
 */
#ifndef DGA_POLICY_INTERNAL_H
#define DGA_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dga/policy.h"

/* The five certificate chains of claims v3 (docs/formats.md §11), GPU ones first. */
enum policy_chain {
    POLICY_CHAIN_GPU_AR,
    POLICY_CHAIN_GPU_DRIVER_RIM,
    POLICY_CHAIN_GPU_VBIOS_RIM,
    POLICY_CHAIN_SWITCH_AR,
    POLICY_CHAIN_SWITCH_BIOS_RIM,
    POLICY_CHAIN__COUNT
};

/* x-nvidia-cert-status values a policy may allow. */
#define POLICY_STATUS_VALID (1u << 0)
#define POLICY_STATUS_EXPIRED (1u << 1)
/* x-nvidia-cert-ocsp-status values a policy may allow. */
#define POLICY_OCSP_GOOD (1u << 0)
#define POLICY_OCSP_REVOKED (1u << 1)
#define POLICY_OCSP_UNKNOWN (1u << 2)

/* Names of the bits above, in bit order. */
#define POLICY_N_STATUS 2
#define POLICY_N_OCSP 3
extern const char *const policy_status_names[POLICY_N_STATUS];
extern const char *const policy_ocsp_names[POLICY_N_OCSP];

/* What the policy document and the claims call one chain; field names are diag fields. */
struct policy_chain_def {
    const char *name;  /* key under "chains" */
    const char *claim; /* claims v3 key of the chain object */
    bool gpu;          /* a GPU chain (else an NVSwitch chain) */
    bool identity;     /* the device identity chain: revocation is never tolerated */
    const char *f_chain, *f_status, *f_ocsp, *f_reasons;
};
extern const struct policy_chain_def policy_chains[POLICY_CHAIN__COUNT];

struct policy_chain_rule {
    unsigned status; /* POLICY_STATUS_* */
    unsigned ocsp;   /* POLICY_OCSP_* */
    /* Accepted x-nvidia-cert-revocation-reason strings when "revoked" is allowed; NULL: any. */
    const json_t *reasons;
};

/* A device count; max UINT32_MAX means unbounded. */
struct policy_count {
    bool set;
    uint32_t min, max;
};

/* Mismatch measurement sources, as measurementSource spells them. */
enum policy_source { POLICY_SOURCE_DRIVER, POLICY_SOURCE_FIRMWARE, POLICY_SOURCE__COUNT };
#define POLICY_MAX_INDEX 255

struct dga_policy {
    enum dga_policy_origin origin;
    json_t *doc; /* the parsed document (NULL for the built-in policy) */
    uint8_t sha256[32];

    bool attest_gpu, allow_devtools, allow_debug, allow_insecure_boot;
    bool ocsp_required, ocsp_nonce_required;
    /*
     * ocsp_nonce "strict": only a matching nonce will do. Otherwise ("required")
     * a stored response held to a maximum age (x-dstack-cert-ocsp-source
     * "cache"/"bundle", x-dstack-cert-ocsp-max-age > 0) stands in for it.
     */
    bool ocsp_nonce_strict;
    uint32_t ocsp_max_age; /* seconds: the largest such maximum age accepted; 0 = any */
    struct policy_chain_rule chains[POLICY_CHAIN__COUNT];

    /* allow_mismatch_indices (GPUs only): one bitmap of allowed indices per source. */
    bool mismatch_allowed;
    uint8_t mismatch[POLICY_SOURCE__COUNT][(POLICY_MAX_INDEX + 1) / 8];

    struct policy_count gpus, switches;
    /* The NVSwitches the gate's PCI inventory holds (dga_policy_set_nvswitch_inventory). */
    bool has_switch_inventory;
    size_t switch_inventory;
    /* Allow-lists (arrays of strings inside doc); NULL: not restricted. */
    const json_t *driver_versions, *vbios_versions, *switch_bios_versions, *hwmodels;
    bool require_protected_pcie;
    struct dga_policy_ppcie ppcie; /* the PPCIe topology check's counts and rules */
};

/* The built-in default: NVIDIA's default appraisal plus secboot and dbgstat (docs/policy.md). */
void policy_set_defaults(struct dga_policy *p);

/*
 * Appends one reason, "<subject>: <finding>", to the verdict (bounded; past
 * DGA_VERDICT_MAX_REASONS - 1 the last slot says "... more") with what it is
 * about (device: the claims array index, -1 for the set) and marks it failed.
 */
__attribute__((format(printf, 4, 5))) void policy_reason(struct dga_verdict *v, long device,
                                                         const char *subject, const char *fmt, ...);

/* Text for a claim value in a reason: "missing", "null", "\"expired\"", "false", "an object", ...
 */
void policy_describe(const json_t *v, char *out, size_t cap);
/* ["a", "b"] from a name bitmask, from an array of strings, or from an index bitmap. */
void policy_names_list(const char *const *names, size_t n, unsigned mask, char *out, size_t cap);
void policy_strings_list(const json_t *list, char *out, size_t cap);
void policy_index_list(const uint8_t *map, char *out, size_t cap);

static inline bool policy_bit(const uint8_t *map, unsigned i)
{
    return (((unsigned)map[i / 8] >> (i % 8)) & 1u) != 0;
}

#endif
