/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Measurement comparison (docs/formats.md §9, libnvat generate_set_measurement_claims):
 * conflict check over the union of the GPU's two RIMs, the NVDEC0 rule for
 * RIM index 35, then every active golden index, driver RIM first, each in
 * ascending index order. Runtime blocks without an active golden value are
 * ignored. (lib/measure is another thing: it extends dstack's runtime events
 * into a register; this file only compares a report with its RIMs.)
 */
#include <stdlib.h>
#include <string.h>

#include "dga/appraise.h"
#include "dga/util.h"

#define NVDEC0_RIM_INDEX 35

static int cmp_measurement_index(const void *a, const void *b)
{
    const struct dga_rim_measurement *x = *(const struct dga_rim_measurement *const *)a;
    const struct dga_rim_measurement *y = *(const struct dga_rim_measurement *const *)b;
    return (x->index > y->index) - (x->index < y->index);
}

/* The active measurements of a RIM in ascending index order (pointers into the RIM). */
static size_t active_sorted(const struct dga_rim *rim, const struct dga_rim_measurement **out)
{
    size_t n = 0;
    for (size_t i = 0; i < rim->n_measurements && n < DGA_RIM_MAX_MEASUREMENTS; i++) {
        if (rim->measurements[i].active) {
            out[n++] = &rim->measurements[i];
        }
    }
    qsort(out, n, sizeof out[0], cmp_measurement_index);
    return n;
}

static bool conflict(const struct dga_rim *driver, const struct dga_rim *firmware)
{
    for (size_t i = 0; i < driver->n_measurements; i++) {
        const struct dga_rim_measurement *m = &driver->measurements[i];
        if (m->active && dga_rim_active(firmware, m->index) != NULL) {
            return true;
        }
    }
    return false;
}

static bool any_alternative_matches(const struct dga_rim_measurement *m, const struct dga_block *b)
{
    for (unsigned k = 0; k < m->alternatives; k++) {
        if (b->value_size == DGA_DIGEST_LEN &&
            dga_mem_equal(m->hash[k], b->value, DGA_DIGEST_LEN)) {
            return true;
        }
    }
    return false;
}

static void record_mismatch(struct dga_measure_result *res, const struct dga_rim_measurement *m,
                            const struct dga_block *b, enum dga_measurement_source source)
{
    if (res->n_mismatches == DGA_MAX_MISMATCHES) {
        return; /* cannot happen: at most two RIMs of DGA_RIM_MAX_MEASUREMENTS each */
    }
    struct dga_mismatch *mm = &res->mismatches[res->n_mismatches++];
    memset(mm, 0, sizeof *mm);
    mm->index = m->index;
    mm->source = source;
    mm->golden_size = m->size;
    memcpy(mm->golden, m->hash[0], DGA_DIGEST_LEN);
    if (b != NULL) {
        mm->runtime_size = b->value_size;
        memcpy(mm->runtime, b->value, DGA_DIGEST_LEN);
    }
}

static void compare_rim(const struct dga_report *r, const struct dga_rim *rim, bool skip_nvdec0,
                        enum dga_measurement_source source, struct dga_measure_result *res)
{
    const struct dga_rim_measurement *active[DGA_RIM_MAX_MEASUREMENTS];
    size_t n = active_sorted(rim, active);
    res->n_golden += n;
    for (size_t i = 0; i < n; i++) {
        const struct dga_rim_measurement *m = active[i];
        if (skip_nvdec0 && m->index == NVDEC0_RIM_INDEX) {
            res->skipped_nvdec0 = true;
            continue;
        }
        res->n_compared++;
        const struct dga_block *b = dga_report_block(r, m->index + 1);
        if (b == NULL || !any_alternative_matches(m, b)) {
            record_mismatch(res, m, b, source);
        }
    }
}

dga_err dga_measure_compare(const struct dga_report *r, const struct dga_derived *d,
                            const struct dga_rim *driver, const struct dga_rim *firmware,
                            struct dga_measure_result *ret)
{
    bool gpu = !dga_arch_is_switch(r->arch);
    if (firmware == NULL || (!gpu && driver != NULL)) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (gpu && d->nvdec0_enabled < 0) {
        return DGA_E_MISSING_TLV;
    }
    if (gpu && driver != NULL && conflict(driver, firmware)) {
        return DGA_E_RIM_CONFLICT;
    }
    struct dga_measure_result *res = ret;
    memset(res, 0, sizeof *res);
    bool skip = gpu && d->nvdec0_enabled == 0;
    if (driver != NULL) {
        compare_rim(r, driver, skip, DGA_SOURCE_DRIVER, res);
    }
    compare_rim(r, firmware, skip, DGA_SOURCE_FIRMWARE, res);
    return DGA_E_OK;
}

static json_t *mismatch_json(const struct dga_mismatch *m)
{
    char golden[2 * DGA_DIGEST_LEN + 1], runtime[2 * DGA_DIGEST_LEN + 1];
    dga_hex_encode(m->golden, DGA_DIGEST_LEN, golden);
    dga_hex_encode(m->runtime, DGA_DIGEST_LEN, runtime);
    return json_pack("{s:i,s:i,s:s,s:i,s:s,s:s}", "index", m->index, "goldenSize", m->golden_size,
                     "goldenValue", golden, "runtimeSize", m->runtime_size, "runtimeValue",
                     m->runtime_size > 0 ? runtime : "NA", "measurementSource",
                     m->source == DGA_SOURCE_DRIVER ? "Driver" : "Firmware");
}

json_t *dga_mismatch_records_json(const struct dga_measure_result *m)
{
    if (m->n_mismatches == 0) {
        return json_null();
    }
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < m->n_mismatches; i++) {
        json_array_append_new(a, mismatch_json(&m->mismatches[i]));
    }
    return a;
}
