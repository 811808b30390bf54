/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Report-level verification of one device's evidence and its claims (NVIDIA
 * claims v3 key names): parse, signature, certificate chain, nonce, FWID.
 * Measurements against RIMs are not part of this step.
 */
#ifndef DGA_VERIFY_H
#define DGA_VERIFY_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "dga/error.h"
#include "dga/evidence.h"
#include "dga/x509.h"

struct dga_verify_options {
    uint8_t nonce[DGA_NONCE_LEN];        /* the caller's expected nonce */
    time_t at;                           /* verification time */
    const struct dga_trust *trust;       /* device identity root */
    struct dga_chain_cache *chain_cache; /* optional (NULL: every chain verified in full) */
    struct dga_cert_pool *cert_pool;     /* optional (NULL: every certificate decoded) */
};

/* The checks, in the order they run; a later check still runs when it can. */
enum dga_check {
    DGA_CHECK_NONE,
    DGA_CHECK_PARSE,     /* report structure and derived values */
    DGA_CHECK_CHAIN,     /* certificate chain to the trust root */
    DGA_CHECK_SIGNATURE, /* report signature with the leaf key */
    DGA_CHECK_NONCE,     /* request nonce (and container nonce) == expected */
    DGA_CHECK_FWID,      /* FWID TLV == leaf certificate FWID */
    DGA_CHECK_VALIDITY,  /* every certificate valid at the verification time */
};
const char *dga_check_name(enum dga_check c);

struct dga_device_result {
    enum dga_arch arch;
    char label[16]; /* GPU-0, SWITCH-0, ... */
    bool parsed, chain_verified, signature_verified, nonce_match, fwid_match, time_valid;
    dga_err err; /* first failure in check order; DGA_E_OK if all passed */
    enum dga_check failed_check;
    struct dga_diag diag;        /* where the first failure was found */
    struct dga_report report;    /* valid when parsed; points into the evidence */
    struct dga_derived derived;  /* valid when parsed */
    struct dga_chain_info chain; /* valid when chain_verified */
    bool custom_root;
};

/*
 * Runs every report-level check on one device. Always fills *ret (so claims
 * can be produced for a failed device) and returns ret->err.
 */
dga_err dga_verify_device(const struct dga_device_evidence *ev,
                          const struct dga_verify_options *opt, struct dga_device_result *ret);

/* Labels devices GPU-<n> / SWITCH-<n>, numbered per type in evidence order. */
void dga_label_devices(struct dga_device_result *results, size_t n);

/* Report-level claims v3 for one device (GPU or NVSwitch key names). New reference. */
json_t *dga_claims_report_level(const struct dga_device_result *r);

#endif
