/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Measurement appraisal: a report's measurement blocks against the golden
 * values of its RIMs (reference/rim.md §6). RIM index i is compared with
 * SPDM block i+1; any alternative may match; mismatches are recorded as
 * NVIDIA records them.
 */
#ifndef DGA_APPRAISE_H
#define DGA_APPRAISE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "dga/evidence.h"
#include "dga/rim.h"

enum dga_measurement_source {
    DGA_SOURCE_DRIVER,   /* "Driver" */
    DGA_SOURCE_FIRMWARE, /* "Firmware": GPU VBIOS and NVSwitch BIOS */
};

struct dga_mismatch {
    unsigned index; /* RIM index */
    enum dga_measurement_source source;
    unsigned golden_size;
    uint8_t golden[DGA_DIGEST_LEN]; /* Hash0, even when other alternatives exist */
    unsigned runtime_size;          /* 0 when the report has no block index+1 */
    uint8_t runtime[DGA_DIGEST_LEN];
};

#define DGA_MAX_MISMATCHES (2 * DGA_RIM_MAX_MEASUREMENTS)

struct dga_measure_result {
    size_t n_golden;   /* active golden measurements over both RIMs */
    size_t n_compared; /* n_golden minus the skipped ones */
    bool skipped_nvdec0; /* RIM index 35 skipped because NVDEC0 is disabled (GPU) */
    size_t n_mismatches;
    struct dga_mismatch mismatches[DGA_MAX_MISMATCHES]; /* driver first, then firmware */
};

/*
 * Compares the report with its RIMs: for a GPU, driver and firmware = the
 * VBIOS RIM (driver NULL compares the VBIOS RIM alone, for diagnosis); for an
 * NVSwitch, driver = NULL and firmware = the BIOS RIM. An index active in both GPU RIMs is DGA_E_RIM_CONFLICT (ret->
 * n_golden etc. are then not meaningful). A GPU without NVDEC0 status is
 * DGA_E_MISSING_TLV. Mismatches are not an error: ret->n_mismatches says.
 */
dga_err dga_measure_compare(const struct dga_report *r, const struct dga_derived *d,
                            const struct dga_rim *driver, const struct dga_rim *firmware,
                            struct dga_measure_result *ret);

/* x-nvidia-mismatch-measurement-records: null when there is no mismatch. New reference. */
json_t *dga_mismatch_records_json(const struct dga_measure_result *m);

#endif
