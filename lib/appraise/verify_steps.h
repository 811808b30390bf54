/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dga_verify_device in its two steps, for the appraisal's parts
 * (appraise_parts.h): the parse, whose report and derived values the RIM
 * parts need, and the checks after it (chain, signature, nonce, FWID,
 * validity). The two in a row are dga_verify_device.
 */
#ifndef DGA_APPRAISE_VERIFY_STEPS_H
#define DGA_APPRAISE_VERIFY_STEPS_H

#include "dga/verify.h"

/* Zeroes *r and parses the report (check "report-parse"); r->parsed says how it went. */
void verify_device_parse(const struct dga_device_evidence *ev, const struct dga_verify_options *opt,
                         struct dga_device_result *r);

/* The checks after verify_device_parse; returns r->err, the first failure of both steps. */
dga_err verify_device_checks(const struct dga_device_evidence *ev,
                             const struct dga_verify_options *opt, struct dga_device_result *r);

#endif
