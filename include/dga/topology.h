/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The protected-PCIe (PPCIe) topology check (docs/ppcie.md): an HGX board's
 * GPUs and NVSwitches, each already verified at report level on one nonce,
 * must name each other consistently. First the views: what each device's
 * signed report (and certificate chain) says about the topology. Then the
 * checker: a pure function over the views, the expected counts and options,
 * that runs NVIDIA's check (nvtrust validate_topology.py) and the stricter
 * rules this project adds, and lists every finding with its own error name.
 */
#ifndef DGA_TOPOLOGY_H
#define DGA_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dga/error.h"
#include "dga/evidence.h"
#include "dga/verify.h"
#include "dga/x509.h"

/* A GPU report's TLV 22 holds one 8-byte entry per NVLink (18 on Hopper). */
#define DGA_TOPOLOGY_MAX_LINKS 64
/* An NVSwitch report's TLV 26 starts with 8 GPU PDIs. */
#define DGA_TOPOLOGY_SWITCH_GPUS 8
/* The signed SWITCH_LOCK_STATUS (TLV 25) of every locked PPCIe NVSwitch sample. */
#define DGA_TOPOLOGY_SWITCH_LOCKED 1
/* NSCQ's nscq_tnvl_status_t: -1 unknown, 0 disabled, 1 enabled, 2 failure, 3 locked. */
#define DGA_TOPOLOGY_TNVL_LOCKED 3

/* One distinct switch as a GPU sees it: the reversed TLV 22 entry and its link count. */
struct dga_topology_link {
    uint8_t pdi[DGA_PDI_LEN];
    unsigned links;
};

struct dga_topology_gpu {
    char label[16]; /* GPU-<n> */
    uint8_t nonce[DGA_NONCE_LEN];
    int protected_pcie; /* TLV 21: 1 (0xAA), 0 (0x55), -1 absent */
    bool has_feature_flag;
    uint64_t feature_flag; /* TLV 36: 2 is PPCIe */
    bool has_switch_pdis;  /* TLV 22 present */
    size_t n_links;        /* TLV 22 entries, all-zero (unused) ones included */
    /* The distinct non-zero entries, each byte-reversed as NVIDIA reads them, in first-seen order.
     */
    size_t n_switches;
    struct dga_topology_link switches[DGA_TOPOLOGY_MAX_LINKS];
    bool has_cert_pdi; /* the GPU's own PDI from its BROM certificate */
    uint8_t cert_pdi[DGA_PDI_LEN];
};

struct dga_topology_switch {
    char label[16]; /* SWITCH-<n> */
    uint8_t nonce[DGA_NONCE_LEN];
    bool has_pdi; /* TLV 22: its own PDI, as stored */
    uint8_t pdi[DGA_PDI_LEN];
    bool has_gpu_pdis; /* TLV 26: the first 8 entries, as stored */
    uint8_t gpu_pdis[DGA_TOPOLOGY_SWITCH_GPUS][DGA_PDI_LEN];
    int position;  /* TLV 24 (LE u16), -1 absent */
    int lock;      /* TLV 25 (LE u16), -1 absent */
    bool has_tnvl; /* the host-side NSCQ pcie_mode was collected (never in nvattest's JSON) */
    int tnvl;      /* its value when collected: -1..3 */
    bool has_cert_pdi;
    uint8_t cert_pdi[DGA_PDI_LEN];
};

/*
 * The views of one parsed GPU / NVSwitch report (dga_report_parse). chain
 * (may be NULL) is the verified chain's info: it gives the device's own PDI
 * (dga_cert_device_pdi). Bounded: a GPU TLV 22 that is empty or holds more
 * than DGA_TOPOLOGY_MAX_LINKS entries, a switch TLV 24 or 25 that is not 2
 * bytes, is DGA_E_TLV_SIZE naming the field; a report of the other kind is
 * DGA_E_BAD_ARCH. *ret is untouched on failure; its label is empty.
 */
dga_err dga_topology_gpu_view(const struct dga_report *r, const struct dga_chain_info *chain,
                              struct dga_topology_gpu *ret, struct dga_diag *diag);
dga_err dga_topology_switch_view(const struct dga_report *r, const struct dga_chain_info *chain,
                                 struct dga_topology_switch *ret, struct dga_diag *diag);

/* The views of a set's devices: GPUs and NVSwitches apart, each kind in evidence order. */
struct dga_topology_views {
    size_t n_gpus, n_switches;
    struct dga_topology_gpu gpus[DGA_MAX_DEVICES];
    struct dga_topology_switch switches[DGA_MAX_DEVICES];
};

/*
 * Adds the view of one device checked at report level (dga_verify_device;
 * r->parsed, else DGA_E_BAD_ARGUMENT), labelled as r is: from its parsed
 * report and, when its chain verified, that chain's info, so no signature
 * is verified again. ev (may be NULL) gives an NVSwitch its host-side NSCQ
 * status (has_tnvl, tnvl). A field the view cannot read is the view's error
 * (diag names it) and nothing is added; more than DGA_MAX_DEVICES of a kind
 * is DGA_E_TOO_LARGE.
 */
dga_err dga_topology_add_view(struct dga_topology_views *v, const struct dga_device_result *r,
                              const struct dga_device_evidence *ev, struct dga_diag *diag);

struct dga_topology_options {
    uint8_t nonce[DGA_NONCE_LEN]; /* every device's report must carry it */
    size_t gpus, switches;        /* expected counts (HGX: 8 and 4) */
    /*
     * Rule of the certificate PDIs (docs/ppcie.md): the GPUs the switches
     * name are exactly the attested GPUs, by the PDI in each GPU's BROM
     * certificate. On unless the policy turns it off.
     */
    bool gpu_pdi_in_cert;
    /* The host-side NSCQ lock status must have been collected (has_tnvl). */
    bool require_tnvl;
};

#define DGA_TOPOLOGY_MAX_FINDINGS 48
#define DGA_TOPOLOGY_FINDING_LEN 224

struct dga_topology_finding {
    dga_err err;                         /* one of the topology-* errors */
    char text[DGA_TOPOLOGY_FINDING_LEN]; /* "SWITCH-2 names GPU PDI 0x... that no attested GPU has"
                                          */
};

struct dga_topology_result {
    bool pass;
    dga_err err;       /* the first finding's error, DGA_E_OK when none */
    size_t n_findings; /* every finding, not only the first; the last slot may say "... more" */
    struct dga_topology_finding findings[DGA_TOPOLOGY_MAX_FINDINGS];
};

/*
 * Runs every rule over the views (docs/ppcie.md lists them in order) and
 * records each failure. Returns DGA_E_OK when the check could run (then
 * ret->pass says the outcome), DGA_E_BAD_ARGUMENT on NULL arrays with a
 * non-zero count or more than DGA_MAX_DEVICES of either kind.
 */
dga_err dga_topology_check(const struct dga_topology_gpu *gpus, size_t n_gpus,
                           const struct dga_topology_switch *switches, size_t n_switches,
                           const struct dga_topology_options *opt, struct dga_topology_result *ret);

/*
 * The check as JSON: result, expected and seen counts, rules ("nvidia",
 * "strict", "gpu_pdi_in_cert"), every GPU with its switch links (each linked
 * switch's PDI, link count and which attested switch has that PDI), every
 * switch with its PDI, position, lock status and GPU PDIs (and which
 * attested GPU has each), and the findings. New reference or NULL.
 */
json_t *dga_topology_json(const struct dga_topology_gpu *gpus, size_t n_gpus,
                          const struct dga_topology_switch *switches, size_t n_switches,
                          const struct dga_topology_options *opt,
                          const struct dga_topology_result *res);

#endif
