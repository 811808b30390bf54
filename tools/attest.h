/* SPDX-License-Identifier: Apache-2.0 */
/* dstack-gpu-attest attest: the run's state, shared by attest.c and attest_output.c. */
#ifndef DGA_TOOLS_ATTEST_H
#define DGA_TOOLS_ATTEST_H

#include <stdbool.h>

#include <jansson.h>

#include "cli.h"
#include "dga/appraise.h"
#include "dga/appraise_set.h"
#include "dga/policy.h"

struct attest_args {
    struct evidence_args ev;
    const char *nonce;
    const char *rim_dir;
    const char *at;
    const char *policy;
    const char *trust_root;
    const char *rim_trust_root;
    const char *eat_key;
    const char *eat_kid;
    const char *eat_issuer;
    bool unsigned_eat;
    bool json;
    const char *ocsp; /* --ocsp online|cache|bundle|off (NULL: see docs/revocation.md) */
    const char *ocsp_url;
    const char *collateral_dir;
    const char *ocsp_max_age;
    const char *ocsp_bundle;
    unsigned jobs;               /* --jobs: opt.jobs (0: the online CPUs) */
    const char *switch_evidence; /* --switch-evidence: NVSwitches appended to the evidence */
    const char *mode;            /* --mode any|cc|ppcie (NULL: ppcie with switches, else any) */
};

struct attest_run {
    struct attest_args args;
    struct dga_trust device_root, rim_root;
    struct dga_appraise_options opt;
    struct dga_ocsp_source ocsp;   /* opt.ocsp points here */
    struct dga_ocsp_bundle bundle; /* --ocsp bundle: the responses of --ocsp-bundle FILE */
    struct dga_policy *policy;
    struct dga_evidence_set *set;
    struct dga_set_appraisal ap; /* devices, claims, verdict, result code, detached EAT */
};

int attest_print_text(const struct attest_run *run);
int attest_print_json(const struct attest_run *run);

#endif
