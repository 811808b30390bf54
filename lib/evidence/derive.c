/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Values derived from the opaque data (docs/formats.md §5): versions, RIM
 * ids, FWID, NVDEC0 and protected-PCIe status, feature flag, PDIs.
 * RIM ids later become file names in a RIM store, so every text field that
 * goes into one is restricted to [0-9A-Za-z._-].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cursor.h"
#include "dga/evidence.h"
#include "dga/util.h"

#define PDI_LEN 8
#define SWITCH_GPU_PDI_COUNT 8
#define GPU_VBIOS_LEN 8
#define STATUS_ON 0xAA

static bool id_char_ok(uint8_t ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           ch == '.' || ch == '_' || ch == '-';
}

static const struct dga_tlv *need(const struct dga_report *r, unsigned id, struct dga_diag *diag,
                                  dga_err *err)
{
    if (!r->opaque.present[id]) {
        *err = dga_diag_set(diag, DGA_E_MISSING_TLV, r->opaque_offset, dga_tlv_name(r->arch, id));
        return NULL;
    }
    return &r->opaque.known[id];
}

/* ASCII text up to the first NUL, NUL padding only after it, id-safe characters. */
static dga_err ascii_field(const struct dga_report *r, unsigned id, char *out, size_t cap,
                           struct dga_diag *diag)
{
    dga_err e = DGA_E_OK;
    const struct dga_tlv *t = need(r, id, diag, &e);
    if (t == NULL) {
        return e;
    }
    size_t n = 0;
    while (n < t->len && t->data[n] != 0) {
        n++;
    }
    bool ok = n > 0 && n < cap;
    for (size_t i = 0; ok && i < t->len; i++) {
        ok = i < n ? id_char_ok(t->data[i]) : t->data[i] == 0;
    }
    if (!ok) {
        return dga_diag_set(diag, DGA_E_TLV_VALUE, t->offset + 4, dga_tlv_name(r->arch, id));
    }
    memcpy(out, t->data, n);
    out[n] = '\0';
    return DGA_E_OK;
}

static void strip_dots(const char *in, char *out, bool upper)
{
    for (; *in != '\0'; in++) {
        if (*in != '.') {
            *out++ = upper && *in >= 'a' && *in <= 'z' ? (char)(*in - 'a' + 'A') : *in;
        }
    }
    *out = '\0';
}

/* GPU VBIOS: b[3].b[2].b[1].b[0].b[4] in uppercase hex; b[5..7] are not part of it. */
static dga_err gpu_vbios(const struct dga_report *r, struct dga_derived *d, struct dga_diag *diag)
{
    dga_err e = DGA_E_OK;
    const struct dga_tlv *t = need(r, DGA_TLV_VBIOS_VERSION, diag, &e);
    if (t == NULL) {
        return e;
    }
    if (t->len != GPU_VBIOS_LEN) {
        return dga_diag_set(diag, DGA_E_TLV_SIZE, t->offset + 2,
                            dga_tlv_name(r->arch, DGA_TLV_VBIOS_VERSION));
    }
    const uint8_t *b = t->data;
    snprintf(d->vbios_version, sizeof d->vbios_version, "%02X.%02X.%02X.%02X.%02X", b[3], b[2],
             b[1], b[0], b[4]);
    return DGA_E_OK;
}

static dga_err gpu_rim_ids(const struct dga_report *r, struct dga_derived *d, struct dga_diag *diag)
{
    char project[16], sku[16], chip[16], chip_info[32], vbios[DGA_VERSION_MAX];
    dga_err e = ascii_field(r, DGA_TLV_PROJECT, project, sizeof project, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = ascii_field(r, DGA_TLV_PROJECT_SKU, sku, sizeof sku, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = ascii_field(r, DGA_TLV_CHIP_SKU, chip, sizeof chip, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    strip_dots(d->vbios_version, vbios, false);
    snprintf(d->vbios_rim_id, sizeof d->vbios_rim_id, "NV_GPU_VBIOS_%s_%s_%s_%s", project, sku,
             chip, vbios);
    if (r->arch == DGA_ARCH_HOPPER) {
        snprintf(d->driver_rim_id, sizeof d->driver_rim_id, "NV_GPU_DRIVER_GH100_%s",
                 d->driver_version);
        return DGA_E_OK;
    }
    /* Blackwell: the chip name from CHIP_INFO, GB100 when firmware does not send it. */
    strcpy(chip_info, "GB100");
    if (r->opaque.present[DGA_TLV_CHIP_INFO]) {
        e = ascii_field(r, DGA_TLV_CHIP_INFO, chip_info, sizeof chip_info, diag);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    snprintf(d->driver_rim_id, sizeof d->driver_rim_id, "NV_GPU_CC_DRIVER_%s_%s", chip_info,
             d->driver_version);
    return DGA_E_OK;
}

static int status_of(const struct dga_report *r, unsigned id)
{
    if (!r->opaque.present[id]) {
        return -1;
    }
    return r->opaque.known[id].data[0] == STATUS_ON ? 1 : 0;
}

/* Feature flag only exists from opaque version 1 on (docs/formats.md §4-5). */
static dga_err gpu_mode(const struct dga_report *r, struct dga_derived *d, struct dga_diag *diag)
{
    if (r->opaque.version < 1) {
        d->mode = DGA_MODE_NONE;
        return DGA_E_OK;
    }
    dga_err e = DGA_E_OK;
    const struct dga_tlv *t = need(r, DGA_TLV_FEATURE_FLAG, diag, &e);
    if (t == NULL) {
        return e;
    }
    d->has_feature_flag = true;
    d->feature_flag = load_le(t->data, t->len);
    static const enum dga_gpu_mode modes[] = {DGA_MODE_MPT, DGA_MODE_SPT, DGA_MODE_PPCIE};
    d->mode = d->feature_flag < 3 ? modes[d->feature_flag] : DGA_MODE_INVALID;
    return DGA_E_OK;
}

static int cmp_pdi(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Splits n 8-byte PDIs into uppercase hex (reversed if asked), sorted and de-duplicated. */
static void collect_pdis(const uint8_t *p, size_t n, bool reverse, struct dga_derived *d)
{
    d->has_pdis = true;
    d->n_pdis = 0;
    for (size_t i = 0; i < n && d->n_pdis < DGA_MAX_PDIS; i++) {
        uint8_t item[PDI_LEN];
        for (size_t k = 0; k < PDI_LEN; k++) {
            item[k] = reverse ? p[i * PDI_LEN + PDI_LEN - 1 - k] : p[i * PDI_LEN + k];
        }
        dga_hex_encode_upper(item, PDI_LEN, d->pdis[d->n_pdis++]);
    }
    qsort(d->pdis, d->n_pdis, sizeof d->pdis[0], cmp_pdi);
    size_t w = 0;
    for (size_t i = 0; i < d->n_pdis; i++) {
        if (w == 0 || strcmp(d->pdis[w - 1], d->pdis[i]) != 0) {
            memmove(d->pdis[w++], d->pdis[i], sizeof d->pdis[0]);
        }
    }
    d->n_pdis = w;
}

static dga_err derive_gpu(const struct dga_report *r, struct dga_derived *d, struct dga_diag *diag)
{
    dga_err e =
        ascii_field(r, DGA_TLV_DRIVER_VERSION, d->driver_version, sizeof d->driver_version, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = gpu_vbios(r, d, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    e = gpu_rim_ids(r, d, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (need(r, DGA_TLV_NVDEC0_STATUS, diag, &e) == NULL) {
        return e;
    }
    e = gpu_mode(r, d, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (r->opaque.present[DGA_TLV_SWITCH_PDI]) {
        const struct dga_tlv *t = &r->opaque.known[DGA_TLV_SWITCH_PDI];
        collect_pdis(t->data, t->len / PDI_LEN, true, d);
    }
    return DGA_E_OK;
}

static dga_err derive_switch(const struct dga_report *r, struct dga_derived *d,
                             struct dga_diag *diag)
{
    dga_err e =
        ascii_field(r, DGA_TLV_VBIOS_VERSION, d->vbios_version, sizeof d->vbios_version, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    char bios[DGA_VERSION_MAX];
    strip_dots(d->vbios_version, bios, true);
    /* Project 5612, SKU 0002 and chip SKU 890 are fixed for LS10 (SwitchArchitectureData). */
    snprintf(d->vbios_rim_id, sizeof d->vbios_rim_id, "NV_SWITCH_BIOS_5612_0002_890_%s", bios);
    d->mode = DGA_MODE_NONE;
    if (r->opaque.present[DGA_TLV_SWITCH_PDI]) {
        d->has_own_pdi = true;
        dga_hex_encode_upper(r->opaque.known[DGA_TLV_SWITCH_PDI].data, PDI_LEN, d->own_pdi);
    }
    if (r->opaque.present[DGA_TLV_SWITCH_GPU_PDIS]) {
        collect_pdis(r->opaque.known[DGA_TLV_SWITCH_GPU_PDIS].data, SWITCH_GPU_PDI_COUNT, false, d);
    }
    return DGA_E_OK;
}

dga_err dga_report_derive(const struct dga_report *r, struct dga_derived *ret,
                          struct dga_diag *diag)
{
    struct dga_derived d;
    memset(&d, 0, sizeof d);
    d.nvdec0_enabled = status_of(r, DGA_TLV_NVDEC0_STATUS);
    d.protected_pcie = status_of(r, DGA_TLV_PROTECTED_PCIE_STATUS);
    if (r->opaque.present[DGA_TLV_FWID]) {
        d.has_fwid = true;
        memcpy(d.fwid, r->opaque.known[DGA_TLV_FWID].data, DGA_DIGEST_LEN);
    }
    dga_err e = dga_arch_is_switch(r->arch) ? derive_switch(r, &d, diag) : derive_gpu(r, &d, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = d;
    return DGA_E_OK;
}
