/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nvattest drop-in (docs/nvattest.md), shared by its files: tools/nvattest.c (arguments,
 * configuration, `attest --device gpu` through the gate) and tools/nvattest_devices.c
 * (`collect-evidence` for both devices, `attest --device nvswitch`).
 */
#ifndef DGA_TOOLS_NVATTEST_H
#define DGA_TOOLS_NVATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dga/evidence.h"
#include "dga/gate.h"

/* nvattest's result codes (attestation-sdk NVAT_RC_*) for what happens outside the appraisal. */
#define RC_INTERNAL 2
#define RC_BAD_ARGUMENT 4
#define RC_POLICY_EVALUATION_ERROR 301
#define RC_EVIDENCE_INVALID 503
#define RC_GPU_MODE_NOT_SUPPORTED 509
#define RC_NSCQ_INIT_FAILED 600
#define RC_NSCQ_ERROR 601
#define RC_SWITCH_ARCH_NOT_SUPPORTED 602

/* NVIDIA's example relying-party policy and the policy document that stands in for it. */
struct rp_policy {
    const char *rego_sha256;
    const char *rego; /* NVIDIA's file name */
    const char *document;
    const unsigned char *text;
    size_t len;
};

struct nv_args {
    const char *command; /* "attest" or "collect-evidence" */
    const char *device, *verifier, *nonce, *format, *ocsp_url, *rim_url, *rp_policy;
    const char *rim_store, *rim_dir, *log_level;
    uint8_t nonce_bytes[DGA_NONCE_LEN];
    bool quiet;              /* --log-level off */
    const char *config_path; /* nvattest.json, or $DSTACK_GPU_ATTEST_NVATTEST_CONFIG */
    /* the configuration's "nscq" (`--device nvswitch`; NULL: libnvidia-nscq.so.2) */
    char *nscq;
    /* --relying-party-policy: the example it is, and the SHA-256 of its text */
    const struct rp_policy *rp;
    uint8_t rp_sha256[32];
};

/* The result code's low 8 bits; a failure never exits 0, whatever its code. */
int nv_exit_status(int result_code);
/* A compact object with sorted keys and a newline (the bundle's own format) on stdout. */
void nv_print_object(json_t *o);
/*
 * A failure: the reason on stderr (unless --log-level off) and on stdout one JSON object with
 * result_code, result_message, claims {} and detached_eat {}. Returns the exit status.
 */
__attribute__((format(printf, 3, 4))) int nv_fail(const struct nv_args *a, int code,
                                                  const char *fmt, ...);

/* collect-evidence --device gpu|nvswitch: the exit status. */
int nv_collect_evidence(const struct nv_args *a, const struct dga_gate_config *cfg);
/* attest --device nvswitch: the exit status. */
int nv_attest_switches(const struct nv_args *a, const struct dga_gate_config *cfg);

#endif
