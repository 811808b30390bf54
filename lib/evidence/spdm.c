/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The attestation report: GET_MEASUREMENTS request (37 bytes) ||
 * MEASUREMENTS response || 96-byte signature, read in the order of the
 * tables in docs/formats.md §2-3. Strict: version and code bytes, declared
 * lengths, block indices and trailing bytes are each checked and named.
 */
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/cursor.h"
#include "dga/evidence.h"
#include "evidence/testing.h"

#define SPDM_VERSION_11 0x11
#define SPDM_GET_MEASUREMENTS 0xE0
#define SPDM_MEASUREMENTS 0x60
#define SPDM_PARAM1_SIGNATURE_REQUESTED 0x01
#define SPDM_PARAM2_ALL_MEASUREMENTS 0xFF
#define DMTF_MEASUREMENT_SPEC 0x01
#define DMTF_VALUE_TYPE_MUTABLE_FW 0x01
#define DMTF_HEADER_LEN 3

/*
 * A read's result, recorded in diag against the field it was reading when it
 * failed: a failed cursor read leaves the cursor where it was, so its
 * position is the field's offset.
 */
static dga_err read_field(dga_err e, const struct cursor *c, struct dga_diag *diag,
                          const char *field)
{
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, cursor_pos(c), field);
    }
    return DGA_E_OK;
}

static dga_err expect_byte(uint8_t got, uint8_t want, dga_err e, size_t at, struct dga_diag *diag,
                           const char *field)
{
    if (got != want) {
        return dga_diag_set(diag, e, at, field);
    }
    return DGA_E_OK;
}

/* Phase 1: the 37-byte GET_MEASUREMENTS request. */
static dga_err parse_request(struct cursor *c, struct dga_report *r, struct dga_diag *diag)
{
    dga_err e = read_field(cursor_u8(c, &r->req_version), c, diag, "request.SPDMVersion");
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_field(cursor_u8(c, &r->req_code), c, diag, "request.RequestResponseCode");
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_field(cursor_u8(c, &r->req_param1), c, diag, "request.Param1");
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_field(cursor_u8(c, &r->req_param2), c, diag, "request.Param2");
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_field(cursor_copy(c, r->nonce, DGA_NONCE_LEN), c, diag, "request.Nonce");
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_field(cursor_u8(c, &r->req_slot), c, diag, "request.SlotIDParam");
    if (e != DGA_E_OK) {
        return e;
    }

    e = expect_byte(r->req_version, SPDM_VERSION_11, DGA_E_REQUEST_VERSION, 0, diag,
                    "request.SPDMVersion");
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect_byte(r->req_code, SPDM_GET_MEASUREMENTS, DGA_E_REQUEST_CODE, 1, diag,
                    "request.RequestResponseCode");
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect_byte(r->req_param1, SPDM_PARAM1_SIGNATURE_REQUESTED, DGA_E_REQUEST_PARAM, 2, diag,
                    "request.Param1");
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect_byte(r->req_param2, SPDM_PARAM2_ALL_MEASUREMENTS, DGA_E_REQUEST_PARAM, 3, diag,
                    "request.Param2");
    if (e != DGA_E_OK) {
        return e;
    }
    return expect_byte(r->req_slot, 0, DGA_E_REQUEST_PARAM, 36, diag, "request.SlotIDParam");
}

/* Phase 2: the response header up to and including MeasurementRecordLength. */
static dga_err parse_response_header(struct cursor *c, struct dga_report *r, struct dga_diag *diag)
{
    size_t start = cursor_pos(c);
    dga_err e = read_field(cursor_u8(c, &r->resp_version), c, diag, "response.SPDMVersion");
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_field(cursor_u8(c, &r->resp_code), c, diag, "response.RequestResponseCode");
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_field(cursor_u8(c, &r->resp_param1), c, diag, "response.Param1");
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_field(cursor_u8(c, &r->resp_param2), c, diag, "response.Param2");
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_field(cursor_u8(c, &r->n_blocks), c, diag, "response.NumberOfBlocks");
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_field(cursor_u24le(c, &r->record_len), c, diag, "response.MeasurementRecordLength");
    if (e != DGA_E_OK) {
        return e;
    }

    e = expect_byte(r->resp_version, SPDM_VERSION_11, DGA_E_RESPONSE_VERSION, start, diag,
                    "response.SPDMVersion");
    if (e != DGA_E_OK) {
        return e;
    }
    e = expect_byte(r->resp_code, SPDM_MEASUREMENTS, DGA_E_RESPONSE_CODE, start + 1, diag,
                    "response.RequestResponseCode");
    if (e != DGA_E_OK) {
        return e;
    }
    if (r->n_blocks == 0) {
        return dga_diag_set(diag, DGA_E_NO_BLOCKS, start + 4, "response.NumberOfBlocks");
    }
    return DGA_E_OK;
}

/* One DMTF measurement block (DSP0274 SPDM 1.1 table 45). */
static dga_err parse_block(struct cursor *rec, struct dga_block *b, struct dga_diag *diag)
{
    size_t start = cursor_pos(rec);
    dga_err e = read_field(cursor_u8(rec, &b->index), rec, diag, "MeasurementBlock.Index");
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_field(cursor_u8(rec, &b->spec), rec, diag,
                   "MeasurementBlock.MeasurementSpecification");
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_field(cursor_u16le(rec, &b->size), rec, diag, "MeasurementBlock.MeasurementSize");
    if (e != DGA_E_OK) {
        return e;
    }

    struct cursor m;
    e = read_field(cursor_sub(rec, b->size, &m), rec, diag, "MeasurementBlock.Measurement");
    if (e != DGA_E_OK) {
        return e;
    }
    if (b->spec != DMTF_MEASUREMENT_SPEC) {
        return dga_diag_set(diag, DGA_E_BLOCK_SPEC, start + 1,
                            "MeasurementBlock.MeasurementSpecification");
    }
    e = read_field(cursor_u8(&m, &b->value_type), &m, diag, "DMTFSpecMeasurementValueType");
    if (e != DGA_E_OK) {
        return e;
    }
    e = read_field(cursor_u16le(&m, &b->value_size), &m, diag, "DMTFSpecMeasurementValueSize");
    if (e != DGA_E_OK) {
        return e;
    }
    if (b->value_type != DMTF_VALUE_TYPE_MUTABLE_FW) {
        return dga_diag_set(diag, DGA_E_BLOCK_TYPE, start + 4, "DMTFSpecMeasurementValueType");
    }
    if (b->value_size != DGA_DIGEST_LEN || b->size != DMTF_HEADER_LEN + b->value_size) {
        return dga_diag_set(diag, DGA_E_BLOCK_SIZE, start + 5, "DMTFSpecMeasurementValueSize");
    }
    e = read_field(cursor_copy(&m, b->value, DGA_DIGEST_LEN), &m, diag, "DMTFSpecMeasurementValue");
    if (e != DGA_E_OK) {
        return e;
    }
    return DGA_E_OK;
}

static dga_err check_block_index(const struct dga_report *r, unsigned i, size_t at,
                                 struct dga_diag *diag)
{
    unsigned idx = r->blocks[i].index;
    if (idx == 0 || idx > r->n_blocks) {
        return dga_diag_set(diag, DGA_E_BLOCK_INDEX, at, "MeasurementBlock.Index");
    }
    for (unsigned j = 0; j < i; j++) {
        if (r->blocks[j].index == idx) {
            return dga_diag_set(diag, DGA_E_DUPLICATE_BLOCK, at, "MeasurementBlock.Index");
        }
    }
    return DGA_E_OK;
}

/* Phase 3: exactly NumberOfBlocks blocks consuming exactly MeasurementRecordLength bytes. */
static dga_err parse_record(struct cursor *c, struct dga_report *r, struct dga_diag *diag)
{
    struct cursor rec;
    dga_err e = read_field(cursor_sub(c, r->record_len, &rec), c, diag, "MeasurementRecord");
    if (e != DGA_E_OK) {
        return e;
    }
    for (unsigned i = 0; i < r->n_blocks; i++) {
        size_t at = cursor_pos(&rec);
        if (cursor_left(&rec) == 0) {
            return dga_diag_set(diag, DGA_E_BLOCK_COUNT, at, "MeasurementRecord");
        }
        e = parse_block(&rec, &r->blocks[i], diag);
        if (e == DGA_E_TRUNCATED) {
            /* The input holds the whole record; the blocks overrun its declared length. */
            return dga_diag_set(diag, DGA_E_RECORD_LENGTH, at, "MeasurementRecordLength");
        }
        if (e != DGA_E_OK) {
            return e;
        }
        e = check_block_index(r, i, at, diag);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    if (cursor_end(&rec) != DGA_E_OK) {
        return dga_diag_set(diag, DGA_E_RECORD_LENGTH, cursor_pos(&rec), "MeasurementRecordLength");
    }
    return DGA_E_OK;
}

/* Phase 4: responder nonce, opaque data and the signature, then nothing. */
static dga_err parse_tail(struct cursor *c, struct dga_report *r, struct dga_diag *diag)
{
    dga_err e =
        read_field(cursor_copy(c, r->responder_nonce, DGA_NONCE_LEN), c, diag, "response.Nonce");
    if (e != DGA_E_OK) {
        return e;
    }
    size_t len_at = cursor_pos(c);
    e = read_field(cursor_u16le(c, &r->opaque_len), c, diag, "response.OpaqueLength");
    if (e != DGA_E_OK) {
        return e;
    }
    struct cursor opaque;
    r->opaque_offset = cursor_pos(c);
    e = read_field(cursor_sub(c, r->opaque_len, &opaque), c, diag, "response.OpaqueData");
    if (e != DGA_E_OK) {
        return e;
    }
    if (r->opaque_len == 0) {
        return dga_diag_set(diag, DGA_E_OPAQUE_EMPTY, len_at, "response.OpaqueLength");
    }
    e = dga_opaque_parse(opaque.p, opaque.len, opaque.base, r->arch, &r->opaque, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    r->signed_len = cursor_pos(c);
    e = read_field(cursor_copy(c, r->signature, DGA_SIGNATURE_LEN), c, diag, "Signature");
    if (e != DGA_E_OK) {
        return e;
    }
    if (cursor_end(c) != DGA_E_OK) {
        return dga_diag_set(diag, DGA_E_TRAILING_BYTES, cursor_pos(c), "Signature");
    }
    return DGA_E_OK;
}

dga_err dga_report_parse(const uint8_t *bytes, size_t len, enum dga_arch arch,
                         struct dga_report *ret, struct dga_diag *diag)
{
    if (len > DGA_REPORT_MAX) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, DGA_REPORT_MAX, "report");
    }
    struct dga_report *r = ret;
    memset(r, 0, sizeof *r);
    r->arch = arch;
    r->bytes = bytes;
    r->len = len;

    struct cursor c = cursor_init(bytes, len);
    dga_err e = parse_request(&c, r, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = parse_response_header(&c, r, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = parse_record(&c, r, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    return parse_tail(&c, r, diag);
}

const struct dga_block *dga_report_block(const struct dga_report *r, unsigned k)
{
    for (unsigned i = 0; i < r->n_blocks; i++) {
        if (r->blocks[i].index == k) {
            return &r->blocks[i];
        }
    }
    return NULL;
}

dga_err dga_report_guess_arch(const uint8_t *bytes, size_t len, enum dga_arch *ret)
{
    _cleanup_(freep) struct dga_report *r = malloc(sizeof *r);
    if (r == NULL) {
        return DGA_E_NOMEM;
    }
    dga_err e = dga_report_parse(bytes, len, DGA_ARCH_HOPPER, r, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    bool gpu_vbios =
        r->opaque.present[DGA_TLV_VBIOS_VERSION] && r->opaque.known[DGA_TLV_VBIOS_VERSION].len == 8;
    *ret = gpu_vbios ? DGA_ARCH_HOPPER : DGA_ARCH_LS10;
    return DGA_E_OK;
}
