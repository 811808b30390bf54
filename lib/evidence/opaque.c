/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opaque data: DataType (u16 LE) | DataSize (u16 LE) | Data, repeated until
 * exactly OpaqueLength bytes are consumed (docs/formats.md §4).
 * Known fields may appear once; fields with ids we do not know are kept and
 * reported, never silently dropped. Fields with a fixed encoding are checked
 * here; fields used to build RIM ids are checked in derive.c.
 */
#include <string.h>

#include "core/cursor.h"
#include "dga/evidence.h"
#include "evidence/testing.h"

#define TLV_ID_INVALID 255
#define MAX_OPAQUE_DATA_VERSION 1
#define NVDEC0_ENABLED 0xAA
#define NVDEC0_DISABLED 0x55

static const char *field_name(enum dga_arch arch, unsigned id)
{
    const char *n = dga_tlv_name(arch, id);
    return n != NULL ? n : "OpaqueData";
}

static bool size_ok(enum dga_arch arch, unsigned id, size_t len)
{
    bool sw = dga_arch_is_switch(arch);
    switch (id) {
    case DGA_TLV_FWID:
        return len == DGA_DIGEST_LEN;
    case DGA_TLV_NVDEC0_STATUS:
    case DGA_TLV_PROTECTED_PCIE_STATUS:
        return len == 1;
    case DGA_TLV_MSRSCNT:
        return len % 4 == 0;
    case DGA_TLV_OPAQUE_DATA_VERSION:
    case DGA_TLV_FEATURE_FLAG:
        return len >= 1 && len <= 8;
    case DGA_TLV_SWITCH_PDI:
        /* GPU: list of 8-byte NVLink switch PDIs; NVSwitch: its own PDI. */
        return sw ? len == 8 : len % 8 == 0;
    case DGA_TLV_SWITCH_GPU_PDIS:
        /* NVSwitch: 8 GPU PDIs followed by per-port GPU ids (nvtrust parse_pdis). */
        return !sw || len >= 64;
    default:
        return true;
    }
}

static bool status_byte_ok(uint8_t b)
{
    return b == NVDEC0_ENABLED || b == NVDEC0_DISABLED;
}

/* Value checks for fields whose meaning is fixed. */
static dga_err check_value(struct dga_opaque *o, const struct dga_tlv *t, enum dga_arch arch,
                           struct dga_diag *diag)
{
    const char *name = field_name(arch, t->type);
    switch (t->type) {
    case DGA_TLV_NVDEC0_STATUS:
    case DGA_TLV_PROTECTED_PCIE_STATUS:
        if (!status_byte_ok(t->data[0])) {
            return dga_diag_set(diag, DGA_E_TLV_VALUE, t->offset + 4, name);
        }
        return DGA_E_OK;
    case DGA_TLV_OPAQUE_DATA_VERSION:
        o->version = load_le(t->data, t->len);
        if (o->version > MAX_OPAQUE_DATA_VERSION) {
            return dga_diag_set(diag, DGA_E_UNSUPPORTED_FIRMWARE, t->offset + 4, name);
        }
        return DGA_E_OK;
    default:
        return DGA_E_OK;
    }
}

static dga_err keep_unknown(struct dga_opaque *o, const struct dga_tlv *t, struct dga_diag *diag)
{
    if (t->type == TLV_ID_INVALID) {
        return dga_diag_set(diag, DGA_E_TLV_VALUE, t->offset, "OPAQUE_FIELD_ID_INVALID");
    }
    if (o->n_unknown == DGA_MAX_UNKNOWN_TLVS) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, t->offset, "OpaqueData");
    }
    o->unknown[o->n_unknown++] = *t;
    return DGA_E_OK;
}

static dga_err keep_known(struct dga_opaque *o, const struct dga_tlv *t, enum dga_arch arch,
                          struct dga_diag *diag)
{
    const char *name = field_name(arch, t->type);
    if (o->present[t->type]) {
        return dga_diag_set(diag, DGA_E_DUPLICATE_TLV, t->offset, name);
    }
    if (!size_ok(arch, t->type, t->len)) {
        return dga_diag_set(diag, DGA_E_TLV_SIZE, t->offset + 2, name);
    }
    dga_err e = check_value(o, t, arch, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    o->present[t->type] = true;
    o->known[t->type] = *t;
    return DGA_E_OK;
}

static dga_err read_tlv(struct cursor *c, struct dga_tlv *t, struct dga_diag *diag)
{
    t->offset = cursor_pos(c);
    dga_err e = cursor_u16le(c, &t->type);
    if (e == DGA_E_OK) {
        e = cursor_u16le(c, &t->len);
    }
    if (e == DGA_E_OK) {
        e = cursor_bytes(c, t->len, &t->data);
    }
    if (e != DGA_E_OK) {
        /* A field that runs past OpaqueLength: the declared lengths disagree. */
        return dga_diag_set(diag, DGA_E_TLV_SIZE, t->offset, "OpaqueData");
    }
    return DGA_E_OK;
}

dga_err dga_opaque_parse(const uint8_t *bytes, size_t len, size_t base_offset, enum dga_arch arch,
                         struct dga_opaque *ret, struct dga_diag *diag)
{
    struct dga_opaque o;
    memset(&o, 0, sizeof o);
    struct cursor c = cursor_init(bytes, len);
    c.base = base_offset;
    while (cursor_left(&c) > 0) {
        struct dga_tlv t;
        dga_err e = read_tlv(&c, &t, diag);
        if (e == DGA_E_OK) {
            e = dga_tlv_name(arch, t.type) != NULL ? keep_known(&o, &t, arch, diag)
                                                   : keep_unknown(&o, &t, diag);
        }
        if (e != DGA_E_OK) {
            return e;
        }
    }
    *ret = o;
    return DGA_E_OK;
}
