/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PPCIe topology views and checker (docs/ppcie.md). It sits in the
 * appraise layer, not in evidence, because a GPU's own PDI comes from its
 * certificate chain (lib/x509, above evidence) and the check judges a set of
 * devices verified at report level (dga/verify.h), as appraise_set.c does.
 *
 * The views read the signed opaque fields only: GPU TLV 21/36 (mode), 22
 * (switch PDIs, each entry byte-reversed as NVIDIA reads it); NVSwitch TLV
 * 22 (own PDI), 24 (position), 25 (lock status), 26 (GPU PDIs). The checker
 * is pure: the same views, counts and options give the same findings.
 */
#include <stdio.h>
#include <string.h>

#include "core/cursor.h"
#include "dga/topology.h"

#define STATUS_FIELD_LEN 2
#define FEATURE_FLAG_PPCIE 2

/* ------------------------------------------------------------ the views */

static dga_err size_error(const struct dga_report *r, const struct dga_tlv *t,
                          struct dga_diag *diag)
{
    return dga_diag_set(diag, DGA_E_TLV_SIZE, t->offset + 2, dga_tlv_name(r->arch, t->type));
}

static bool pdi_zero(const uint8_t *p)
{
    static const uint8_t zero[DGA_PDI_LEN];
    return memcmp(p, zero, DGA_PDI_LEN) == 0;
}

/* Adds one reversed entry to the GPU's distinct switches (first-seen order) or counts a link. */
static void add_link(struct dga_topology_gpu *g, const uint8_t *entry)
{
    uint8_t pdi[DGA_PDI_LEN];
    for (size_t k = 0; k < DGA_PDI_LEN; k++) {
        pdi[k] = entry[DGA_PDI_LEN - 1 - k];
    }
    for (size_t i = 0; i < g->n_switches; i++) {
        if (memcmp(g->switches[i].pdi, pdi, DGA_PDI_LEN) == 0) {
            g->switches[i].links++;
            return;
        }
    }
    memcpy(g->switches[g->n_switches].pdi, pdi, DGA_PDI_LEN);
    g->switches[g->n_switches++].links = 1;
}

static dga_err gpu_links(const struct dga_report *r, struct dga_topology_gpu *g,
                         struct dga_diag *diag)
{
    if (!r->opaque.present[DGA_TLV_SWITCH_PDI]) {
        return DGA_E_OK;
    }
    const struct dga_tlv *t = &r->opaque.known[DGA_TLV_SWITCH_PDI];
    size_t n = t->len / DGA_PDI_LEN;
    if (t->len == 0 || t->len % DGA_PDI_LEN != 0 || n > DGA_TOPOLOGY_MAX_LINKS) {
        return size_error(r, t, diag);
    }
    g->has_switch_pdis = true;
    g->n_links = n;
    for (size_t i = 0; i < n; i++) {
        if (!pdi_zero(t->data + i * DGA_PDI_LEN)) {
            add_link(g, t->data + i * DGA_PDI_LEN);
        }
    }
    return DGA_E_OK;
}

static int status_byte(const struct dga_report *r, unsigned id)
{
    if (!r->opaque.present[id]) {
        return -1;
    }
    return r->opaque.known[id].data[0] == 0xAA ? 1 : 0;
}

dga_err dga_topology_gpu_view(const struct dga_report *r, const struct dga_chain_info *chain,
                              struct dga_topology_gpu *ret, struct dga_diag *diag)
{
    if (r == NULL || ret == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "arguments");
    }
    if (dga_arch_is_switch(r->arch)) {
        return dga_diag_set(diag, DGA_E_BAD_ARCH, 0, "arch");
    }
    struct dga_topology_gpu g;
    memset(&g, 0, sizeof g);
    memcpy(g.nonce, r->nonce, DGA_NONCE_LEN);
    g.protected_pcie = status_byte(r, DGA_TLV_PROTECTED_PCIE_STATUS);
    if (r->opaque.present[DGA_TLV_FEATURE_FLAG]) {
        const struct dga_tlv *t = &r->opaque.known[DGA_TLV_FEATURE_FLAG];
        g.has_feature_flag = true;
        g.feature_flag = load_le(t->data, t->len); /* 1..8 bytes: the opaque parser's rule */
    }
    dga_err e = gpu_links(r, &g, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (chain != NULL && chain->has_device_pdi) {
        g.has_cert_pdi = true;
        memcpy(g.cert_pdi, chain->device_pdi, DGA_PDI_LEN);
    }
    *ret = g;
    return DGA_E_OK;
}

/* A 2-byte little-endian status field, -1 when absent. */
static dga_err u16_field(const struct dga_report *r, unsigned id, int *out, struct dga_diag *diag)
{
    *out = -1;
    if (!r->opaque.present[id]) {
        return DGA_E_OK;
    }
    const struct dga_tlv *t = &r->opaque.known[id];
    if (t->len != STATUS_FIELD_LEN) {
        return size_error(r, t, diag);
    }
    *out = (int)load_le(t->data, STATUS_FIELD_LEN);
    return DGA_E_OK;
}

/* TLV 22 and 26: the opaque parser already holds 22 to 8 bytes and 26 to at least 64. */
static dga_err switch_pdis(const struct dga_report *r, struct dga_topology_switch *s,
                           struct dga_diag *diag)
{
    if (r->opaque.present[DGA_TLV_SWITCH_PDI]) {
        const struct dga_tlv *t = &r->opaque.known[DGA_TLV_SWITCH_PDI];
        if (t->len != DGA_PDI_LEN) {
            return size_error(r, t, diag);
        }
        s->has_pdi = true;
        memcpy(s->pdi, t->data, DGA_PDI_LEN);
    }
    if (r->opaque.present[DGA_TLV_SWITCH_GPU_PDIS]) {
        const struct dga_tlv *t = &r->opaque.known[DGA_TLV_SWITCH_GPU_PDIS];
        if (t->len < sizeof s->gpu_pdis) {
            return size_error(r, t, diag);
        }
        s->has_gpu_pdis = true;
        memcpy(s->gpu_pdis, t->data, sizeof s->gpu_pdis);
    }
    return DGA_E_OK;
}

dga_err dga_topology_switch_view(const struct dga_report *r, const struct dga_chain_info *chain,
                                 struct dga_topology_switch *ret, struct dga_diag *diag)
{
    if (r == NULL || ret == NULL) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "arguments");
    }
    if (!dga_arch_is_switch(r->arch)) {
        return dga_diag_set(diag, DGA_E_BAD_ARCH, 0, "arch");
    }
    struct dga_topology_switch s;
    memset(&s, 0, sizeof s);
    memcpy(s.nonce, r->nonce, DGA_NONCE_LEN);
    s.tnvl = -1;
    dga_err e = switch_pdis(r, &s, diag);
    if (e == DGA_E_OK) {
        e = u16_field(r, DGA_TLV_POSITION_ID, &s.position, diag);
    }
    if (e == DGA_E_OK) {
        e = u16_field(r, DGA_TLV_LOCK_SWITCH_STATUS, &s.lock, diag);
    }
    if (e != DGA_E_OK) {
        return e;
    }
    if (chain != NULL && chain->has_device_pdi) {
        s.has_cert_pdi = true;
        memcpy(s.cert_pdi, chain->device_pdi, DGA_PDI_LEN);
    }
    *ret = s;
    return DGA_E_OK;
}

/* ------------------------------------------------------------ a set's views */

static dga_err add_gpu(struct dga_topology_views *v, const struct dga_device_result *r,
                       const struct dga_chain_info *chain, struct dga_diag *diag)
{
    if (v->n_gpus >= DGA_MAX_DEVICES) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, v->n_gpus, "gpus");
    }
    struct dga_topology_gpu *g = &v->gpus[v->n_gpus];
    dga_err e = dga_topology_gpu_view(&r->report, chain, g, diag);
    if (e == DGA_E_OK) {
        snprintf(g->label, sizeof g->label, "%s", r->label);
        v->n_gpus++;
    }
    return e;
}

static dga_err add_switch(struct dga_topology_views *v, const struct dga_device_result *r,
                          const struct dga_chain_info *chain, const struct dga_device_evidence *ev,
                          struct dga_diag *diag)
{
    if (v->n_switches >= DGA_MAX_DEVICES) {
        return dga_diag_set(diag, DGA_E_TOO_LARGE, v->n_switches, "switches");
    }
    struct dga_topology_switch *s = &v->switches[v->n_switches];
    dga_err e = dga_topology_switch_view(&r->report, chain, s, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    snprintf(s->label, sizeof s->label, "%s", r->label);
    if (ev != NULL && ev->has_tnvl) { /* host-side, unsigned: the checker's lock rule reads it */
        s->has_tnvl = true;
        s->tnvl = ev->tnvl;
    }
    v->n_switches++;
    return DGA_E_OK;
}

dga_err dga_topology_add_view(struct dga_topology_views *v, const struct dga_device_result *r,
                              const struct dga_device_evidence *ev, struct dga_diag *diag)
{
    if (v == NULL || r == NULL || !r->parsed) {
        return dga_diag_set(diag, DGA_E_BAD_ARGUMENT, 0, "arguments");
    }
    /* The chain's info is what dga_verify_device read once; nothing is verified here. */
    const struct dga_chain_info *chain = r->chain_verified ? &r->chain : NULL;
    return dga_arch_is_switch(r->arch) ? add_switch(v, r, chain, ev, diag)
                                       : add_gpu(v, r, chain, diag);
}
