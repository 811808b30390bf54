/* SPDX-License-Identifier: Apache-2.0 */
/* The set appraisal's mode rule (set_mode.c), private to lib/appraise. */
#ifndef DGA_APPRAISE_SET_MODE_H
#define DGA_APPRAISE_SET_MODE_H

#include "dga/appraise_set.h"

/* The mode rule's refusals, in evidence order (CC) or finding order (PPCIe). */
struct set_mode_refusals {
    size_t n;
    dga_err err[DGA_VERDICT_MAX_REASONS];
    char text[DGA_VERDICT_MAX_REASONS][DGA_VERDICT_REASON_LEN];
    struct dga_verdict_about about[DGA_VERDICT_MAX_REASONS];
};

/*
 * Applies opt->mode to the appraised, labelled devices of set (a->dev[i]
 * read while set's report bytes live): records each refusal in *ret and
 * fills a->mode, the topology fields, mode_err and mode_failure. Only
 * DGA_E_NOMEM is an error.
 */
dga_err set_mode_check(const struct dga_evidence_set *set, const struct dga_appraise_options *opt,
                       struct dga_set_appraisal *a, struct set_mode_refusals *ret);

#endif
