/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Measurement comparison (lib/appraise/compare.c) on real reports and real
 * RIMs, with the outcomes of tests/fixtures/PROVENANCE.md and docs/formats.md
 * §9. Signatures are not this module's business (test_rim.c), so tampered
 * RIMs can be compared too.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "dga/appraise.h"
#include "dga/util.h"

struct subject {
    uint8_t *bytes;
    size_t len;
    struct dga_report r;
    struct dga_derived d;
    struct dga_measure_result m;
};

static struct subject *subject_new(const char *report, enum dga_arch arch)
{
    struct subject *s = calloc(1, sizeof *s);
    s->bytes = fixture_report(report, &s->len);
    assert_int_equal(dga_report_parse(s->bytes, s->len, arch, &s->r, NULL), DGA_E_OK);
    assert_int_equal(dga_report_derive(&s->r, &s->d, NULL), DGA_E_OK);
    return s;
}

static void subject_free(struct subject *s)
{
    free(s->bytes);
    free(s);
}

static struct dga_rim *rim(const char *rel)
{
    size_t len;
    uint8_t *xml = fixture_read(rel, &len);
    struct dga_rim *out = NULL;
    struct dga_diag diag = {0};
    if (dga_rim_parse(xml, len, &out, &diag) != DGA_E_OK) {
        fail_msg("%s: %s (%s)", rel, dga_err_name(diag.err), diag.field);
    }
    free(xml);
    return out;
}

/* The mismatch indices, in record order, as "7,21,...". */
static void indices(const struct dga_measure_result *m, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < m->n_mismatches; i++) {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%u", i == 0 ? "" : ",", m->mismatches[i].index);
    }
}

/* 545.00: 33 active golden values, index 35 skipped (NVDEC0 off), no mismatch. */
static void test_h100_545_all_match(void **state)
{
    (void)state;
    struct subject *s = subject_new("gpu/h100_545.00/report.hex", DGA_ARCH_HOPPER);
    struct dga_rim *drv = rim("gpu/h100_545.00/rims/NV_GPU_DRIVER_GH100_545.00.xml");
    struct dga_rim *vb = rim("gpu/h100_545.00/rims/NV_GPU_VBIOS_1010_0200_882_96005E0001.xml");
    assert_string_equal(drv->colloquial_version, s->d.driver_version);
    assert_string_equal(vb->colloquial_version, s->d.vbios_version);
    assert_int_equal(dga_measure_compare(&s->r, &s->d, drv, vb, &s->m), DGA_E_OK);
    assert_int_equal(s->m.n_golden, 33);
    assert_true(s->m.skipped_nvdec0);
    assert_int_equal(s->m.n_compared, 32);
    assert_int_equal(s->m.n_mismatches, 0);
    json_t *j = dga_mismatch_records_json(&s->m);
    assert_true(json_is_null(j));
    json_decref(j);
    dga_rim_free(drv);
    dga_rim_free(vb);
    subject_free(s);
}

/*
 * 535.86.09: the genuine VBIOS RIM matches 12/12; its re-issue mismatches at
 * index 9 only; the tampered driver RIM mismatches at exactly 15 indices.
 */
static void test_h100_535(void **state)
{
    (void)state;
    struct subject *s = subject_new("gpu/h100_535.86.09/report.hex", DGA_ARCH_HOPPER);
    struct dga_rim *genuine =
        rim("gpu/h100_535.86.09/rims/NV_GPU_VBIOS_1010_0200_882_96005E0001.xml");
    struct dga_rim *reissued =
        rim("gpu/h100_535.86.09/rims_reissued/NV_GPU_VBIOS_1010_0200_882_96005E0001.xml");
    struct dga_rim *tampered =
        rim("gpu/h100_535.86.09/rims_tampered/NV_GPU_DRIVER_GH100_535.86.09.xml");
    char list[512];

    assert_int_equal(dga_measure_compare(&s->r, &s->d, NULL, genuine, &s->m), DGA_E_OK);
    assert_int_equal(s->m.n_golden, 12);
    assert_int_equal(s->m.n_mismatches, 0);

    assert_int_equal(dga_measure_compare(&s->r, &s->d, NULL, reissued, &s->m), DGA_E_OK);
    indices(&s->m, list, sizeof list);
    assert_string_equal(list, "9");
    const struct dga_mismatch *mm = &s->m.mismatches[0];
    assert_int_equal(mm->source, DGA_SOURCE_FIRMWARE);
    assert_int_equal(mm->golden_size, 48);
    assert_int_equal(mm->runtime_size, 48);
    char hex[97];
    dga_hex_encode(mm->runtime, 48, hex);
    assert_true(strncmp(hex, "7f3e9382", 8) == 0);
    dga_hex_encode(mm->golden, 48, hex);
    assert_true(strncmp(hex, "059b32e7", 8) == 0);

    assert_int_equal(dga_measure_compare(&s->r, &s->d, tampered, genuine, &s->m), DGA_E_OK);
    indices(&s->m, list, sizeof list);
    assert_string_equal(list, "7,21,22,25,26,27,29,30,31,32,34,37,39,40,41");
    for (size_t i = 0; i < s->m.n_mismatches; i++) {
        assert_int_equal(s->m.mismatches[i].source, DGA_SOURCE_DRIVER);
    }
    /* Driver records come first, then firmware ones. */
    assert_int_equal(dga_measure_compare(&s->r, &s->d, tampered, reissued, &s->m), DGA_E_OK);
    indices(&s->m, list, sizeof list);
    assert_string_equal(list, "7,21,22,25,26,27,29,30,31,32,34,37,39,40,41,9");

    json_t *j = dga_mismatch_records_json(&s->m);
    json_t *last = json_array_get(j, 15);
    assert_int_equal(json_integer_value(json_object_get(last, "index")), 9);
    assert_string_equal(json_string_value(json_object_get(last, "measurementSource")), "Firmware");
    assert_int_equal(json_integer_value(json_object_get(last, "goldenSize")), 48);
    assert_int_equal(json_integer_value(json_object_get(last, "runtimeSize")), 48);
    assert_int_equal(strlen(json_string_value(json_object_get(last, "goldenValue"))), 96);
    json_decref(j);
    dga_rim_free(genuine);
    dga_rim_free(reissued);
    dga_rim_free(tampered);
    subject_free(s);
}

/* 580.159.03 against an older issue of its VBIOS RIM: index 9 only. */
static void test_h100_580_old_vbios(void **state)
{
    (void)state;
    struct subject *s = subject_new("gpu/h100_580.159.03/report.hex", DGA_ARCH_HOPPER);
    struct dga_rim *vb = rim("rims/valid/NV_GPU_VBIOS_1010_0205_862_9600740020.xml");
    assert_string_equal(vb->colloquial_version, "96.00.74.00.20");
    assert_int_equal(dga_measure_compare(&s->r, &s->d, NULL, vb, &s->m), DGA_E_OK);
    char list[64];
    indices(&s->m, list, sizeof list);
    assert_string_equal(list, "9");
    dga_rim_free(vb);
    subject_free(s);
}

static void test_ls10_all_match(void **state)
{
    (void)state;
    struct subject *s = subject_new("nvswitch/ls10_96.10.55.00.01/report.hex", DGA_ARCH_LS10);
    struct dga_rim *bios =
        rim("nvswitch/ls10_96.10.55.00.01/rims/NV_SWITCH_BIOS_5612_0002_890_9610550001.xml");
    assert_int_equal(dga_measure_compare(&s->r, &s->d, NULL, bios, &s->m), DGA_E_OK);
    assert_int_equal(s->m.n_golden, 31);
    assert_int_equal(s->m.n_compared, 31);
    assert_false(s->m.skipped_nvdec0);
    assert_int_equal(s->m.n_mismatches, 0);
    /* A switch takes no driver RIM. */
    assert_int_equal(dga_measure_compare(&s->r, &s->d, bios, bios, &s->m), DGA_E_BAD_ARGUMENT);
    dga_rim_free(bios);
    subject_free(s);
}

/* The same RIM as driver and VBIOS RIM: every active index conflicts. */
static void test_conflict(void **state)
{
    (void)state;
    struct subject *s = subject_new("gpu/h100_545.00/report.hex", DGA_ARCH_HOPPER);
    struct dga_rim *vb = rim("gpu/h100_545.00/rims/NV_GPU_VBIOS_1010_0200_882_96005E0001.xml");
    assert_int_equal(dga_measure_compare(&s->r, &s->d, vb, vb, &s->m), DGA_E_RIM_CONFLICT);
    dga_rim_free(vb);
    subject_free(s);
}

/* With NVDEC0 enabled, index 35 is compared; without NVDEC0 status a GPU cannot be appraised. */
static void test_nvdec0_enabled_compares_35(void **state)
{
    (void)state;
    struct subject *s = subject_new("gpu/h100_545.00/report.hex", DGA_ARCH_HOPPER);
    struct dga_rim *drv = rim("gpu/h100_545.00/rims/NV_GPU_DRIVER_GH100_545.00.xml");
    struct dga_rim *vb = rim("gpu/h100_545.00/rims/NV_GPU_VBIOS_1010_0200_882_96005E0001.xml");
    s->d.nvdec0_enabled = 1;
    assert_int_equal(dga_measure_compare(&s->r, &s->d, drv, vb, &s->m), DGA_E_OK);
    assert_false(s->m.skipped_nvdec0);
    assert_int_equal(s->m.n_compared, 33);
    s->d.nvdec0_enabled = -1;
    assert_int_equal(dga_measure_compare(&s->r, &s->d, drv, vb, &s->m), DGA_E_MISSING_TLV);
    dga_rim_free(drv);
    dga_rim_free(vb);
    subject_free(s);
}

/* A golden index with no runtime block: runtimeSize 0, runtimeValue "NA". */
static void test_missing_runtime_block(void **state)
{
    (void)state;
    struct subject *s = subject_new("nvswitch/ls10_96.10.55.00.01/report.hex", DGA_ARCH_LS10);
    struct dga_rim *bios =
        rim("nvswitch/ls10_96.10.55.00.01/rims/NV_SWITCH_BIOS_5612_0002_890_9610550001.xml");
    s->r.n_blocks = 30; /* hide block 31 (RIM index 30) */
    assert_int_equal(dga_measure_compare(&s->r, &s->d, NULL, bios, &s->m), DGA_E_OK);
    assert_int_equal(s->m.n_mismatches, 1);
    json_t *j = dga_mismatch_records_json(&s->m);
    json_t *rec = json_array_get(j, 0);
    assert_int_equal(json_integer_value(json_object_get(rec, "index")), 30);
    assert_int_equal(json_integer_value(json_object_get(rec, "runtimeSize")), 0);
    assert_string_equal(json_string_value(json_object_get(rec, "runtimeValue")), "NA");
    json_decref(j);
    dga_rim_free(bios);
    subject_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h100_545_all_match),
        cmocka_unit_test(test_h100_535),
        cmocka_unit_test(test_h100_580_old_vbios),
        cmocka_unit_test(test_ls10_all_match),
        cmocka_unit_test(test_conflict),
        cmocka_unit_test(test_nvdec0_enabled_compares_35),
        cmocka_unit_test(test_missing_runtime_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
