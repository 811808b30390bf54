/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One device's appraisal in parts that may run on different threads
 * (dga_appraise_set's pool). Once the report is parsed (appraise_begin,
 * cheap and bounded; the RIM ids come from it) three parts are independent:
 * the report (its chain, signature and the chain's OCSP), the driver RIM
 * and the VBIOS (or NVSwitch BIOS) RIM, each with its own chain and OCSP.
 * Each part writes only its own fields; appraise_finish then applies their
 * failures in the serial order (report, device OCSP, driver RIM, its OCSP,
 * firmware RIM, its OCSP, measurements), so the appraisal is the same
 * whichever thread ran which part, and when. begin, every part, finish in a
 * row is dga_appraise_device.
 */
#ifndef DGA_APPRAISE_PARTS_H
#define DGA_APPRAISE_PARTS_H

#include "dga/appraise.h"

enum appraise_part {
    APPRAISE_PART_REPORT,       /* chain, signature, nonce, FWID, validity; device-chain OCSP */
    APPRAISE_PART_DRIVER_RIM,   /* nothing on an NVSwitch */
    APPRAISE_PART_FIRMWARE_RIM, /* the VBIOS RIM, or an NVSwitch's BIOS RIM */
    APPRAISE_PARTS,
};

/* What the parts of one device share, and the failures finish applies in order. */
struct appraise_parts {
    struct dga_appraise_options opt; /* the device's, its verify with the cache's tiers */
    bool ready;                      /* the options were accepted: the parts run */
    dga_err ocsp_device, ocsp_driver, ocsp_firmware;
};

/*
 * Checks the options and parses the report into a (zeroed first). A failure
 * of the options fails the device at "options": the parts then do nothing.
 * parts->opt is a copy of opt: what opt points to must outlive the parts.
 */
void appraise_begin(const struct dga_device_evidence *ev, const struct dga_appraise_options *opt,
                    struct dga_appraisal *a, struct appraise_parts *parts);

/* One part; the RIM parts do nothing when the report did not parse. */
void appraise_part(const struct dga_device_evidence *ev, struct dga_appraisal *a,
                   struct appraise_parts *parts, enum appraise_part part);

/* After every part: the failures in the serial order, the measurements; returns a->err. */
dga_err appraise_finish(struct dga_appraisal *a, const struct appraise_parts *parts);

#endif
