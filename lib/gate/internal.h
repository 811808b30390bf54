/* SPDX-License-Identifier: Apache-2.0 */
/* The gate's run state, shared by gate.c (the steps) and bundle.c (what is written). */
#ifndef DGA_GATE_INTERNAL_H
#define DGA_GATE_INTERNAL_H

#include <openssl/evp.h>

#include "dga/collect.h"
#include "dga/gate.h"
#include "dga/measure.h"
#include "dga/x509.h"

struct gate_state {
    const struct dga_gate_config *cfg;
    const struct dga_gate_options *opt;
    struct dga_gate_result *res;
    time_t at; /* verification time */
    struct dga_trust device_root, rim_root;
    struct dga_policy *policy;
    struct dga_ocsp_source ocsp; /* revocation: the config's choice (setup_ocsp) */
    uint8_t policy_sha256[32];
    json_t *gpu_policy; /* the config's gpu_policy or the app-compose file's (a reference) */
    uint8_t gpu_policy_sha256[32];
    bool allow_devtools; /* policy document or gpu_policy says so */
    /* gpu_policy.rego and the policy document that stands in for it (rego_equivalents). */
    bool has_rego;
    uint8_t rego_sha256[32];
    const char *rego_policy_path; /* the config's */
    struct dga_policy *rego_policy;
    uint8_t rego_policy_sha256[32];
    struct dga_verdict *rego_verdict; /* NULL until evaluated */
    struct dga_event_backend *backend;
    EVP_PKEY *eat_key;
    struct dga_inventory *inv;
    bool inventory_read;
    struct dga_cc_settings cc;
    bool cc_read;
    /*
     * The CC settings put the machine in protected-PCIe mode (CC feature off, multiGpuMode
     * 1): the NVSwitches are collected through NSCQ and the set appraised with the topology.
     */
    bool ppcie;
    bool mode_decided; /* the CC settings passed: ppcie says which mode */
    uint8_t nonce[DGA_NONCE_LEN];
    bool has_nonce;
    struct dga_collection *col;
    bool collected;
    struct dga_switch_collection *sw; /* PPCIe mode: the NVSwitches, for the same nonce */
    bool switches_collected;
    struct dga_evidence_set *set;
    struct dga_verify_cache *cache;
    struct dga_set_appraisal *ap;
    bool appraised;
};

/* dstack's gpu_policy is an object; its depth is capped below JCS's own cap. */
#define GATE_GPU_POLICY_MAX_DEPTH 16
/* Depth of a JSON value (a scalar is 0), stopping early past the cap. */
size_t gate_json_depth(const json_t *v, size_t cap);

/*
 * The device as the reason names it: "GPU-0 (0000:41:00.0)"; in PPCIe mode the devices after
 * the GPUs are the NVSwitches, "SWITCH-0 (<NSCQ label>)".
 */
void gate_device_name(const struct gate_state *g, size_t index, char *out, size_t size);

/*
 * Serializes the bundle from what the run knows so far (compact, sorted keys,
 * one trailing newline) and writes it atomically, mode 0600, as
 * <run_dir>/evidence.json; its SHA-256 goes to g->res->bundle_sha256.
 */
dga_err gate_bundle_write(struct gate_state *g);

#endif
