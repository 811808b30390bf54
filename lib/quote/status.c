/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCB statuses: Intel's names, their severity order, and the merge of a
 * status with advisories (platform level, module level, QE level) into one.
 */
#include <string.h>

#include "dga/quote.h"

const uint8_t dga_quote_intel_qe_vendor_id[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                  0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

/* Indexed by enum dga_tcb_status, whose order is the severity order. */
static const char *const status_names[] = {
    [DGA_TCB_UP_TO_DATE] = "UpToDate",
    [DGA_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
    [DGA_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
    [DGA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
    [DGA_TCB_OUT_OF_DATE] = "OutOfDate",
    [DGA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
    [DGA_TCB_REVOKED] = "Revoked",
};

#define STATUS_COUNT (sizeof status_names / sizeof status_names[0])

const char *dga_tcb_status_name(enum dga_tcb_status s)
{
    if ((size_t)s >= STATUS_COUNT) {
        return "invalid";
    }
    return status_names[s];
}

dga_err dga_tcb_status_from_name(const char *name, enum dga_tcb_status *ret)
{
    if (name == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    for (size_t i = 0; i < STATUS_COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *ret = (enum dga_tcb_status)i;
            return DGA_E_OK;
        }
    }
    return DGA_E_BAD_ARGUMENT;
}

static bool has_advisory(const struct dga_tcb_result *r, const char *id)
{
    for (size_t i = 0; i < r->n_advisories; i++) {
        if (strcmp(r->advisory_ids[i], id) == 0) {
            return true;
        }
    }
    return false;
}

dga_err dga_tcb_result_merge(struct dga_tcb_result *left, const struct dga_tcb_result *right)
{
    if (left == NULL || right == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    /* Count first, so that a merge that does not fit leaves left untouched. */
    size_t add = 0;
    for (size_t i = 0; i < right->n_advisories; i++) {
        bool seen_in_right = false;
        for (size_t j = 0; j < i; j++) {
            seen_in_right |= strcmp(right->advisory_ids[j], right->advisory_ids[i]) == 0;
        }
        if (!seen_in_right && !has_advisory(left, right->advisory_ids[i])) {
            add++;
        }
    }
    if (left->n_advisories + add > DGA_TCB_ADVISORY_MAX) {
        return DGA_E_TOO_LARGE;
    }
    for (size_t i = 0; i < right->n_advisories; i++) {
        if (!has_advisory(left, right->advisory_ids[i])) {
            memcpy(left->advisory_ids[left->n_advisories++], right->advisory_ids[i],
                   DGA_TCB_ADVISORY_LEN);
        }
    }
    if (right->status > left->status) {
        left->status = right->status;
    }
    return DGA_E_OK;
}

dga_err dga_tcb_result_converge(struct dga_tcb_result *platform, const struct dga_tcb_result *other)
{
    if (platform == NULL || other == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    enum dga_tcb_status before = platform->status;
    dga_err e = dga_tcb_result_merge(platform, other);
    if (e != DGA_E_OK) {
        return e;
    }
    /* Intel's convergeTcbStatusWithQeTcbStatus / ...WithTdxModuleStatus: OutOfDate on top of a
     * configuration status keeps both facts, where the worse of the two would drop one. */
    if (other->status == DGA_TCB_OUT_OF_DATE &&
        (before == DGA_TCB_CONFIGURATION_NEEDED ||
         before == DGA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)) {
        platform->status = DGA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    }
    return DGA_E_OK;
}
