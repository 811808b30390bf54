/* SPDX-License-Identifier: Apache-2.0 */
/* Report and opaque-data parsing, derived values, and NVIDIA's expected parses. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dga/evidence.h"
#include "dga/util.h"

#define H100_580 "gpu/h100_580.159.03/report.hex"
#define LS10 "nvswitch/ls10_96.10.55.00.01/report.hex"

struct parsed {
    uint8_t *bytes;
    size_t len;
    struct dga_report r;
    struct dga_derived d;
};

static struct parsed *parse_fixture(const char *rel, enum dga_arch arch)
{
    struct parsed *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->bytes = fixture_report(rel, &p->len);
    struct dga_diag diag = {0};
    assert_int_equal(dga_report_parse(p->bytes, p->len, arch, &p->r, &diag), DGA_E_OK);
    assert_int_equal(dga_report_derive(&p->r, &p->d, &diag), DGA_E_OK);
    return p;
}

static void parsed_free(struct parsed *p)
{
    free(p->bytes);
    free(p);
}

static dga_err parse_bytes(const uint8_t *b, size_t n, enum dga_arch arch, struct dga_diag *diag)
{
    struct dga_report *r = malloc(sizeof *r);
    assert_non_null(r);
    dga_err e = dga_report_parse(b, n, arch, r, diag);
    free(r);
    return e;
}

/* NVIDIA's sample H100 580.159.03 report, decoded field by field (docs/formats.md §2-4). */
static void test_h100_580_layout(void **state)
{
    (void)state;
    struct parsed *p = parse_fixture(H100_580, DGA_ARCH_HOPPER);
    assert_int_equal(p->len, 4130);
    assert_int_equal(p->r.n_blocks, 64);
    assert_int_equal(p->r.record_len, 3520);
    assert_int_equal(p->r.opaque_offset, 3599);
    assert_int_equal(p->r.opaque_len, 435);
    assert_int_equal(p->r.signed_len, 4034);
    assert_int_equal(p->r.opaque.version, 1);
    assert_int_equal(p->r.opaque.n_unknown, 0);
    assert_string_equal(p->d.driver_version, "580.159.03");
    assert_string_equal(p->d.vbios_version, "96.00.74.00.20");
    assert_string_equal(p->d.driver_rim_id, "NV_GPU_DRIVER_GH100_580.159.03");
    assert_string_equal(p->d.vbios_rim_id, "NV_GPU_VBIOS_1010_0205_862_9600740020");
    assert_int_equal(p->d.nvdec0_enabled, 0);
    assert_int_equal(p->d.protected_pcie, 0);
    assert_int_equal(p->d.mode, DGA_MODE_MPT);
    assert_true(p->d.has_fwid);
    char fwid[97];
    dga_hex_encode(p->d.fwid, 48, fwid);
    assert_string_equal(fwid, "f1ae7d0093a3f5689cced58045c9744f94eb2aa4ddca88135197fb41a7be4557"
                              "6c2881cf920e2cbcc090b1cb921f7b2d");
    assert_false(p->d.has_pdis);
    parsed_free(p);
}

/*
 * Our "request"/"response" JSON must equal NVIDIA's expected parse field by
 * field. Fields NVIDIA's parser leaves out (opaque version, feature flag) are
 * the only extras allowed, and they are named here.
 */
static void compare_expected(const char *report, enum dga_arch arch, const char *expected,
                             const char *section, const char *const *extras)
{
    struct parsed *p = parse_fixture(report, arch);
    json_t *ours = dga_report_to_json(&p->r, &p->d);
    assert_non_null(ours);
    json_t *mine = json_deep_copy(json_object_get(ours, section));
    json_t *fields = json_object_get(json_object_get(mine, "OpaqueData"), "OpaqueDataField");
    for (size_t i = 0; extras != NULL && extras[i] != NULL; i++) {
        assert_non_null(json_object_get(fields, extras[i]));
        json_object_del(fields, extras[i]);
    }
    json_error_t err;
    json_t *theirs = json_load_file(fixture_path(expected), 0, &err);
    assert_non_null(theirs);
    const char *key;
    json_t *value;
    json_object_foreach(theirs, key, value)
    {
        if (!json_equal(value, json_object_get(mine, key))) {
            fail_msg("%s: field %s differs", expected, key);
        }
    }
    assert_int_equal(json_object_size(theirs), json_object_size(mine));
    json_decref(theirs);
    json_decref(mine);
    json_decref(ours);
    parsed_free(p);
}

static void test_h100_580_equals_nvidia_parse(void **state)
{
    (void)state;
    static const char *const extras[] = {"OPAQUE_FIELD_ID_OPAQUE_DATA_VERSION",
                                         "OPAQUE_FIELD_ID_FEATURE_FLAG", NULL};
    compare_expected(H100_580, DGA_ARCH_HOPPER, "gpu/h100_580.159.03/expected_parse.json",
                     "response", extras);
    compare_expected(H100_580, DGA_ARCH_HOPPER, "gpu/h100_580.159.03/expected_request_parse.json",
                     "request", NULL);
}

static void test_ls10_equals_nvidia_parse(void **state)
{
    (void)state;
    compare_expected(LS10, DGA_ARCH_LS10, "nvswitch/ls10_96.10.55.00.01/expected_parse.json",
                     "response", NULL);
}

static void test_ls10_derived(void **state)
{
    (void)state;
    struct parsed *p = parse_fixture(LS10, DGA_ARCH_LS10);
    assert_int_equal(p->len, 2168);
    assert_int_equal(p->r.n_blocks, 31);
    assert_int_equal(p->r.record_len, 1705);
    assert_int_equal(p->r.opaque_offset, 1784);
    assert_string_equal(p->d.vbios_version, "96.10.55.00.01");
    assert_string_equal(p->d.vbios_rim_id, "NV_SWITCH_BIOS_5612_0002_890_9610550001");
    assert_string_equal(p->d.driver_rim_id, "");
    assert_false(p->d.has_fwid);
    assert_true(p->d.has_own_pdi);
    assert_string_equal(p->d.own_pdi, "203EB31AD9ED0008");
    /* 8 PDIs with one duplicate: 7 unique, sorted. */
    assert_int_equal(p->d.n_pdis, 7);
    assert_string_equal(p->d.pdis[0], "1043C14E83599663");
    assert_string_equal(p->d.pdis[6], "FDB529F1473CB225");
    parsed_free(p);
}

static void test_other_gpu_fixtures(void **state)
{
    (void)state;
    struct parsed *p = parse_fixture("gpu/h100_535.86.09/report.hex", DGA_ARCH_HOPPER);
    assert_string_equal(p->d.driver_version, "535.86.09");
    assert_string_equal(p->d.vbios_rim_id, "NV_GPU_VBIOS_1010_0200_882_96005E0001");
    assert_false(p->d.has_fwid);
    assert_int_equal(p->d.mode, DGA_MODE_NONE);
    parsed_free(p);
    p = parse_fixture("gpu/h100_545.00/report.hex", DGA_ARCH_HOPPER);
    assert_string_equal(p->d.driver_rim_id, "NV_GPU_DRIVER_GH100_545.00");
    assert_string_equal(p->d.vbios_version, "96.00.5E.00.01");
    assert_int_equal(p->d.nvdec0_enabled, 0);
    assert_false(p->d.has_fwid);
    parsed_free(p);
    p = parse_fixture("gpu/h100_550.90.07/report.hex", DGA_ARCH_HOPPER);
    assert_string_equal(p->d.vbios_version, "96.00.9F.00.01");
    assert_true(p->d.has_fwid);
    parsed_free(p);
}

/* Every prefix of a report is "truncated", never anything else. */
static void test_every_truncation(void **state)
{
    (void)state;
    const char *fixtures[] = {H100_580, LS10};
    const enum dga_arch arches[] = {DGA_ARCH_HOPPER, DGA_ARCH_LS10};
    for (size_t f = 0; f < 2; f++) {
        size_t len;
        uint8_t *b = fixture_report(fixtures[f], &len);
        for (size_t n = 0; n < len; n++) {
            struct dga_diag diag = {0};
            dga_err e = parse_bytes(b, n, arches[f], &diag);
            if (e != DGA_E_TRUNCATED) {
                fail_msg("%s cut to %zu bytes: %s", fixtures[f], n, dga_err_name(e));
            }
        }
        free(b);
    }
}

static void test_trailing_and_oversize(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = fixture_report(H100_580, &len);
    uint8_t *big = calloc(1, DGA_REPORT_MAX + 1);
    memcpy(big, b, len);
    struct dga_diag diag = {0};
    assert_int_equal(parse_bytes(big, len + 1, DGA_ARCH_HOPPER, &diag), DGA_E_TRAILING_BYTES);
    assert_int_equal(diag.offset, len);
    assert_int_equal(parse_bytes(big, DGA_REPORT_MAX + 1, DGA_ARCH_HOPPER, &diag), DGA_E_TOO_LARGE);
    free(big);
    free(b);
}

/* Copy the fixture, apply one edit, expect one exact error at one offset. */
static void expect_edit(size_t at, uint8_t value, dga_err want, size_t want_offset)
{
    size_t len;
    uint8_t *b = fixture_report(H100_580, &len);
    b[at] = value;
    struct dga_diag diag = {0};
    dga_err e = parse_bytes(b, len, DGA_ARCH_HOPPER, &diag);
    if (e != want || diag.offset != want_offset) {
        fail_msg("byte %zu := 0x%02x: got %s at %zu, want %s at %zu", at, value, dga_err_name(e),
                 diag.offset, dga_err_name(want), want_offset);
    }
    free(b);
}

static void test_header_bytes(void **state)
{
    (void)state;
    expect_edit(0, 0x12, DGA_E_REQUEST_VERSION, 0);
    expect_edit(1, 0xE1, DGA_E_REQUEST_CODE, 1);
    expect_edit(2, 0x00, DGA_E_REQUEST_PARAM, 2);
    expect_edit(3, 0x01, DGA_E_REQUEST_PARAM, 3);
    expect_edit(36, 0x01, DGA_E_REQUEST_PARAM, 36);
    expect_edit(37, 0x10, DGA_E_RESPONSE_VERSION, 37);
    expect_edit(38, 0x61, DGA_E_RESPONSE_CODE, 38);
    expect_edit(41, 0x00, DGA_E_NO_BLOCKS, 41);
    /* One block fewer declared than present: 55 bytes of the record are left over. */
    expect_edit(41, 63, DGA_E_RECORD_LENGTH, 45 + 63 * 55);
    /* Block 64 renumbered 65 with 64 blocks declared: out of range. */
    expect_edit(45 + 63 * 55, 65, DGA_E_BLOCK_INDEX, 45 + 63 * 55);
    /* One block more declared than present: the record ends first. */
    expect_edit(41, 65, DGA_E_BLOCK_COUNT, 45 + 64 * 55);
}

static void test_record_length(void **state)
{
    (void)state;
    /* 3520 -> 3521: one byte past the blocks; the following fields shift by one. */
    expect_edit(42, 0xC1, DGA_E_RECORD_LENGTH, 45 + 3520);
    /* 3520 -> 3519: the last block overruns the record. */
    expect_edit(42, 0xBF, DGA_E_RECORD_LENGTH, 45 + 63 * 55);
}

static void test_block_fields(void **state)
{
    (void)state;
    size_t b2 = 45 + 55; /* second block */
    expect_edit(b2, 1, DGA_E_DUPLICATE_BLOCK, b2);
    expect_edit(b2, 0, DGA_E_BLOCK_INDEX, b2);
    expect_edit(b2 + 1, 0x02, DGA_E_BLOCK_SPEC, b2 + 1);
    expect_edit(b2 + 4, 0x81, DGA_E_BLOCK_TYPE, b2 + 4);
    expect_edit(b2 + 5, 0x2F, DGA_E_BLOCK_SIZE, b2 + 5);
    /* MeasurementSize 0x33 -> 0x34 overruns into the next block; its header then disagrees. */
    expect_edit(b2 + 2, 0x32, DGA_E_BLOCK_SIZE, b2 + 5);
}

static void test_opaque_fields(void **state)
{
    (void)state;
    /* OpaqueLength 435 -> 434: the last field (FEATURE_FLAG at 4028) overruns. */
    expect_edit(3597, 0xb2, DGA_E_TLV_SIZE, 4028);
    /* First TLV VBIOS_VERSION (type 6 at 3599) -> type 14 duplicates BOARD_ID. */
    expect_edit(3599, 14, DGA_E_DUPLICATE_TLV, 3611);
    /* NVDEC0_STATUS value (3960 + 4) must be 0xAA or 0x55. */
    expect_edit(3964, 0x00, DGA_E_TLV_VALUE, 3964);
    /* OPAQUE_DATA_VERSION 1 -> 2 is unsupported firmware. */
    expect_edit(4026, 0x02, DGA_E_UNSUPPORTED_FIRMWARE, 4026);
    /* FWID size 48 -> 47 (its size field at 3965 + 2). */
    expect_edit(3967, 47, DGA_E_TLV_SIZE, 3967);
    /* Type 255 is NVIDIA's INVALID id. */
    expect_edit(3599, 255, DGA_E_TLV_VALUE, 3599);
}

static void test_opaque_zero_length(void **state)
{
    (void)state;
    /* A minimal report: 1 block, empty opaque data. */
    uint8_t b[DGA_REPORT_MIN + 55];
    memset(b, 0, sizeof b);
    uint8_t head[] = {0x11, 0xE0, 0x01, 0xFF};
    memcpy(b, head, 4);
    uint8_t resp[] = {0x11, 0x60, 0, 0, 1, 55, 0, 0, 1, 1, 0x33, 0, 1, 0x30, 0};
    memcpy(b + 37, resp, sizeof resp);
    struct dga_diag diag = {0};
    assert_int_equal(parse_bytes(b, sizeof b, DGA_ARCH_HOPPER, &diag), DGA_E_OPAQUE_EMPTY);
    assert_int_equal(diag.offset, 37 + 8 + 55 + 32);
}

/* Unknown ids are kept and reported; the parse still succeeds. */
static void test_unknown_tlv_preserved(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = fixture_report(H100_580, &len);
    b[3952] = 30; /* CPRINFO (13) -> unnamed id 30 */
    struct dga_report *r = malloc(sizeof *r);
    struct dga_diag diag = {0};
    assert_int_equal(dga_report_parse(b, len, DGA_ARCH_HOPPER, r, &diag), DGA_E_OK);
    assert_int_equal(r->opaque.n_unknown, 1);
    assert_int_equal(r->opaque.unknown[0].type, 30);
    assert_int_equal(r->opaque.unknown[0].len, 4);
    assert_int_equal(r->opaque.unknown[0].offset, 3952);
    assert_false(r->opaque.present[DGA_TLV_CPRINFO]);
    json_t *j = dga_report_to_json(r, NULL);
    json_t *u = json_array_get(json_object_get(j, "opaque_unknown"), 0);
    assert_int_equal(json_integer_value(json_object_get(u, "type")), 30);
    assert_string_equal(json_string_value(json_object_get(u, "value")), "0x00c00100");
    json_decref(j);
    free(r);
    free(b);
}

static dga_err derive_edit(size_t at, uint8_t value, struct dga_diag *diag)
{
    size_t len;
    uint8_t *b = fixture_report(H100_580, &len);
    b[at] = value;
    struct dga_report *r = malloc(sizeof *r);
    struct dga_derived d;
    dga_err e = dga_report_parse(b, len, DGA_ARCH_HOPPER, r, diag);
    if (e == DGA_E_OK) {
        e = dga_report_derive(r, &d, diag);
    }
    free(r);
    free(b);
    return e;
}

static void test_derive_failures(void **state)
{
    (void)state;
    struct dga_diag diag = {0};
    /* DRIVER_VERSION (type at 3665) renamed to an unknown id: missing. */
    assert_int_equal(derive_edit(3665, 31, &diag), DGA_E_MISSING_TLV);
    assert_string_equal(diag.field, "OPAQUE_FIELD_ID_DRIVER_VERSION");
    /* A '/' in the driver version would reach a file name: rejected. */
    assert_int_equal(derive_edit(3669 + 3, '/', &diag), DGA_E_TLV_VALUE);
    assert_string_equal(diag.field, "OPAQUE_FIELD_ID_DRIVER_VERSION");
    /* Text after the NUL terminator of CHIP_SKU. */
    assert_int_equal(derive_edit(3623 + 5, 'x', &diag), DGA_E_TLV_VALUE);
    assert_string_equal(diag.field, "OPAQUE_FIELD_ID_CHIP_SKU");
    /* FEATURE_FLAG (type at 4028) gone while opaque version is 1. */
    assert_int_equal(derive_edit(4028, 31, &diag), DGA_E_MISSING_TLV);
    assert_string_equal(diag.field, "OPAQUE_FIELD_ID_FEATURE_FLAG");
    /* NVDEC0_STATUS (type at 3960) gone. */
    assert_int_equal(derive_edit(3960, 31, &diag), DGA_E_MISSING_TLV);
    assert_string_equal(diag.field, "OPAQUE_FIELD_ID_NVDEC0_STATUS");
}

/* Blackwell driver RIM ids: CHIP_INFO names the chip; without it, GB100. */
static void test_blackwell_rim_ids(void **state)
{
    (void)state;
    struct parsed *p = parse_fixture(H100_580, DGA_ARCH_BLACKWELL);
    assert_string_equal(p->d.driver_rim_id, "NV_GPU_CC_DRIVER_GB100_580.159.03");
    assert_string_equal(p->d.vbios_rim_id, "NV_GPU_VBIOS_1010_0205_862_9600740020");
    parsed_free(p);

    /* CHIP_SKU_MOD (id 16 at 3632, 5 bytes) turned into CHIP_INFO "GB202". */
    size_t len;
    uint8_t *b = fixture_report(H100_580, &len);
    b[3632] = DGA_TLV_CHIP_INFO;
    memcpy(b + 3636, "GB202", 5);
    struct dga_report *r = malloc(sizeof *r);
    struct dga_derived d;
    assert_int_equal(dga_report_parse(b, len, DGA_ARCH_BLACKWELL, r, NULL), DGA_E_OK);
    assert_int_equal(dga_report_derive(r, &d, NULL), DGA_E_OK);
    assert_string_equal(d.driver_rim_id, "NV_GPU_CC_DRIVER_GB202_580.159.03");
    /* On Hopper the same field does not change the driver RIM id. */
    assert_int_equal(dga_report_parse(b, len, DGA_ARCH_HOPPER, r, NULL), DGA_E_OK);
    assert_int_equal(dga_report_derive(r, &d, NULL), DGA_E_OK);
    assert_string_equal(d.driver_rim_id, "NV_GPU_DRIVER_GH100_580.159.03");
    /* A CHIP_INFO that would escape a RIM store directory is rejected. */
    memcpy(b + 3636, "../x\0", 5);
    assert_int_equal(dga_report_parse(b, len, DGA_ARCH_BLACKWELL, r, NULL), DGA_E_OK);
    struct dga_diag diag = {0};
    assert_int_equal(dga_report_derive(r, &d, &diag), DGA_E_TLV_VALUE);
    assert_string_equal(diag.field, "OPAQUE_FIELD_ID_CHIP_INFO");
    free(r);
    free(b);
}

static void test_guess_arch(void **state)
{
    (void)state;
    size_t len;
    enum dga_arch a;
    uint8_t *b = fixture_report(LS10, &len);
    assert_int_equal(dga_report_guess_arch(b, len, &a), DGA_E_OK);
    assert_int_equal(a, DGA_ARCH_LS10);
    free(b);
    b = fixture_report(H100_580, &len);
    assert_int_equal(dga_report_guess_arch(b, len, &a), DGA_E_OK);
    assert_int_equal(a, DGA_ARCH_HOPPER);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h100_580_layout),
        cmocka_unit_test(test_h100_580_equals_nvidia_parse),
        cmocka_unit_test(test_ls10_equals_nvidia_parse),
        cmocka_unit_test(test_ls10_derived),
        cmocka_unit_test(test_other_gpu_fixtures),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_trailing_and_oversize),
        cmocka_unit_test(test_header_bytes),
        cmocka_unit_test(test_record_length),
        cmocka_unit_test(test_block_fields),
        cmocka_unit_test(test_opaque_fields),
        cmocka_unit_test(test_opaque_zero_length),
        cmocka_unit_test(test_unknown_tlv_preserved),
        cmocka_unit_test(test_derive_failures),
        cmocka_unit_test(test_blackwell_rim_ids),
        cmocka_unit_test(test_guess_arch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
