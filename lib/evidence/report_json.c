/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The decoded report as JSON. "request" and "response" reproduce the shape
 * and value formats of NVIDIA's expected parses (attestation-sdk
 * unit-tests/testdata/spdm_parsed_output.json): hex strings with 0x, block map
 * keyed by index, and the NVSwitch per-field decodings of nvtrust's parser.
 */
#include <stdio.h>
#include <string.h>

#include "core/cursor.h"
#include "dga/evidence.h"
#include "dga/util.h"

#define PDI_LEN 8
#define SWITCH_GPU_PDI_COUNT 8
#define PORTS_PER_BIT 4

/* "0x" + lowercase hex. */
static json_t *hex0x(const uint8_t *p, size_t n)
{
    char buf[2 + 2 * 512 + 1];
    if (n > 512) {
        return NULL;
    }
    buf[0] = '0';
    buf[1] = 'x';
    dga_hex_encode(p, n, buf + 2);
    return json_string(buf);
}

static json_t *byte0x(uint8_t b)
{
    return hex0x(&b, 1);
}

static json_t *request_json(const struct dga_report *r)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "SPDMVersion", byte0x(r->req_version),
                     "RequestResponseCode", byte0x(r->req_code), "Param1", byte0x(r->req_param1),
                     "Param2", byte0x(r->req_param2), "Nonce", hex0x(r->nonce, DGA_NONCE_LEN),
                     "SlotIDParam", byte0x(r->req_slot));
}

static json_t *blocks_json(const struct dga_report *r)
{
    json_t *blocks = json_object();
    for (unsigned i = 0; blocks != NULL && i < r->n_blocks; i++) {
        const struct dga_block *b = &r->blocks[i];
        char key[8];
        snprintf(key, sizeof key, "%u", b->index);
        json_t *v = json_pack("{s:i,s:i,s:o}", "DMTFSpecMeasurementValueType", b->value_type,
                              "DMTFSpecMeasurementValueSize", b->value_size,
                              "DMTFSpecMeasurementValue", hex0x(b->value, DGA_DIGEST_LEN));
        if (json_object_set_new(blocks, key, v) != 0) {
            json_decref(blocks);
            return NULL;
        }
    }
    return json_pack("{s:i,s:o}", "NumberOfBlocks", r->n_blocks, "MeasurementBlocks", blocks);
}

static json_t *u32_list(const uint8_t *p, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i + 4 <= n; i += 4) {
        json_array_append_new(a, json_integer((json_int_t)load_le(p + i, 4)));
    }
    return a;
}

/* Each bit, most significant first, stands for 4 ports (nvtrust parse_floorswept_ports). */
static json_t *port_bits(const uint8_t *p, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        for (int bit = 7; bit >= 0; bit--) {
            for (int k = 0; k < PORTS_PER_BIT; k++) {
                json_array_append_new(a, json_integer((p[i] >> bit) & 1));
            }
        }
    }
    return a;
}

static json_t *chunk_list(const uint8_t *p, size_t n, size_t chunk)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i + chunk <= n; i += chunk) {
        json_array_append_new(a, hex0x(p + i, chunk));
    }
    return a;
}

/* NVSwitch TLV 26: 8 GPU PDIs, then one GPU id byte per port. */
static int add_switch_gpu_pdis(json_t *fields, const struct dga_tlv *t)
{
    size_t pdi_bytes = SWITCH_GPU_PDI_COUNT * PDI_LEN;
    int rc = json_object_set_new(fields, "OPAQUE_FIELD_ID_SWITCH_GPU_PDIS",
                                 chunk_list(t->data, pdi_bytes, PDI_LEN));
    rc |= json_object_set_new(fields, "OPAQUE_FIELD_ID_SWITCH_PORT",
                              chunk_list(t->data + pdi_bytes, t->len - pdi_bytes, 1));
    return rc;
}

static int add_field(json_t *fields, const struct dga_report *r, const struct dga_tlv *t)
{
    bool sw = dga_arch_is_switch(r->arch);
    const char *name = dga_tlv_name(r->arch, t->type);
    if (t->type == DGA_TLV_MSRSCNT) {
        return json_object_set_new(fields, name, u32_list(t->data, t->len));
    }
    if (sw && t->type == DGA_TLV_FLOORSWEPT_PORTS) {
        return json_object_set_new(fields, name, port_bits(t->data, t->len));
    }
    if (sw && t->type == DGA_TLV_SWITCH_GPU_PDIS) {
        return add_switch_gpu_pdis(fields, t);
    }
    return json_object_set_new(fields, name, hex0x(t->data, t->len));
}

static json_t *opaque_json(const struct dga_report *r)
{
    json_t *fields = json_object();
    for (unsigned id = 1; fields != NULL && id <= DGA_TLV_MAX_KNOWN; id++) {
        if (r->opaque.present[id] && add_field(fields, r, &r->opaque.known[id]) != 0) {
            json_decref(fields);
            return NULL;
        }
    }
    return json_pack("{s:o}", "OpaqueDataField", fields);
}

static json_t *response_json(const struct dga_report *r)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:i,s:i,s:o,s:i,s:o,s:o,s:o}", "SPDMVersion",
                     byte0x(r->resp_version), "RequestResponseCode", byte0x(r->resp_code), "Param1",
                     byte0x(r->resp_param1), "Param2", byte0x(r->resp_param2), "NumberOfBlocks",
                     r->n_blocks, "MeasurementRecordLength", (json_int_t)r->record_len, "Nonce",
                     hex0x(r->responder_nonce, DGA_NONCE_LEN), "OpaqueLength", r->opaque_len,
                     "Signature", hex0x(r->signature, DGA_SIGNATURE_LEN), "MeasurementRecord",
                     blocks_json(r), "OpaqueData", opaque_json(r));
}

static json_t *unknown_json(const struct dga_report *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < r->opaque.n_unknown; i++) {
        const struct dga_tlv *t = &r->opaque.unknown[i];
        json_array_append_new(a, json_pack("{s:i,s:i,s:I,s:o}", "type", t->type, "length", t->len,
                                           "offset", (json_int_t)t->offset, "value",
                                           hex0x(t->data, t->len)));
    }
    return a;
}

static json_t *string_list(const char (*items)[17], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        json_array_append_new(a, json_string(items[i]));
    }
    return a;
}

static json_t *derived_json(const struct dga_report *r, const struct dga_derived *d)
{
    char fwid[2 * DGA_DIGEST_LEN + 1] = "";
    if (d->has_fwid) {
        dga_hex_encode(d->fwid, DGA_DIGEST_LEN, fwid);
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:I,s:s}", "driver_version", d->driver_version,
                          "vbios_version", d->vbios_version, "driver_rim_id", d->driver_rim_id,
                          "vbios_rim_id", d->vbios_rim_id, "fwid",
                          d->has_fwid ? json_string(fwid) : json_null(), "opaque_data_version",
                          (json_int_t)r->opaque.version, "mode", dga_gpu_mode_name(d->mode));
    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "nvdec0_enabled",
                        d->nvdec0_enabled < 0 ? json_null() : json_boolean(d->nvdec0_enabled));
    json_object_set_new(o, "protected_pcie",
                        d->protected_pcie < 0 ? json_null() : json_boolean(d->protected_pcie));
    json_object_set_new(o, "feature_flag",
                        d->has_feature_flag ? json_integer((json_int_t)d->feature_flag)
                                            : json_null());
    json_object_set_new(o, "pdis", d->has_pdis ? string_list(d->pdis, d->n_pdis) : json_null());
    json_object_set_new(o, "own_pdi", d->has_own_pdi ? json_string(d->own_pdi) : json_null());
    return o;
}

json_t *dga_report_to_json(const struct dga_report *r, const struct dga_derived *d)
{
    json_t *o =
        json_pack("{s:s,s:I,s:I,s:o,s:o,s:o}", "arch", dga_arch_name(r->arch), "length",
                  (json_int_t)r->len, "signed_length", (json_int_t)r->signed_len, "request",
                  request_json(r), "response", response_json(r), "opaque_unknown", unknown_json(r));
    if (o != NULL && d != NULL && json_object_set_new(o, "derived", derived_json(r, d)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
