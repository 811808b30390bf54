/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TCB policy pieces of quote verification, one function per rule:
 * canonical level order, platform level, TDX module identity, QE identity,
 * TD attributes. Where dcap-qvl and Intel's QVL differ, docs/quote.md
 * (TCB status) says which one each rule follows and why.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "dga/quote.h"

#define TCB_COMPONENTS 16 /* SGX and TDX components a level must list */

static bool is_tdx_info(const struct dga_tcb_info *t)
{
    return strcmp(t->id, "TDX") == 0 && t->version >= 3;
}

/* Element by element; a vector that is a prefix of the other is the smaller. */
static int compare_vectors(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    for (size_t i = 0; i < na && i < nb; i++) {
        if (a[i] != b[i]) {
            return a[i] < b[i] ? -1 : 1;
        }
    }
    return na == nb ? 0 : (na < nb ? -1 : 1);
}

static int compare_levels(const struct dga_tcb_level *a, const struct dga_tcb_level *b, bool tdx)
{
    int c = compare_vectors(a->sgx_svn, a->n_sgx, b->sgx_svn, b->n_sgx);
    if (c != 0) {
        return c;
    }
    if (a->pce_svn != b->pce_svn) {
        return a->pce_svn < b->pce_svn ? -1 : 1;
    }
    return tdx ? compare_vectors(a->tdx_svn, a->n_tdx, b->tdx_svn, b->n_tdx) : 0;
}

/* Insertion sort: stable, and the list holds at most DGA_TCB_LEVELS_MAX levels. */
void dga_tcb_levels_sort(struct dga_tcb_info *t)
{
    if (t == NULL || t->levels == NULL) {
        return;
    }
    bool tdx = is_tdx_info(t);
    for (size_t i = 1; i < t->n_levels; i++) {
        struct dga_tcb_level cur = t->levels[i];
        size_t j = i;
        while (j > 0 && compare_levels(&t->levels[j - 1], &cur, tdx) < 0) {
            t->levels[j] = t->levels[j - 1];
            j--;
        }
        t->levels[j] = cur;
    }
}

static bool all_at_least(const uint8_t *have, const uint8_t *need)
{
    for (size_t i = 0; i < TCB_COMPONENTS; i++) {
        if (have[i] < need[i]) {
            return false;
        }
    }
    return true;
}

/*
 * One level against the platform, in dcap-qvl's order: PCESVN (skip), SGX
 * count (error), CPUSVN (skip), TDX count (error), all 16 TDX bytes (skip).
 */
static dga_err level_matches(const struct dga_tcb_level *lv, const struct dga_pck_ext *pck,
                             const uint8_t *tee_tcb_svn, bool *ret)
{
    *ret = false;
    if (pck->pce_svn < lv->pce_svn) {
        return DGA_E_OK;
    }
    if (lv->n_sgx != TCB_COMPONENTS) {
        return DGA_E_TCB_COMPONENTS;
    }
    if (!all_at_least(pck->cpu_svn, lv->sgx_svn)) {
        return DGA_E_OK;
    }
    if (tee_tcb_svn != NULL) {
        if (lv->n_tdx != TCB_COMPONENTS) {
            return DGA_E_TCB_COMPONENTS;
        }
        if (!all_at_least(tee_tcb_svn, lv->tdx_svn)) {
            return DGA_E_OK;
        }
    }
    *ret = true;
    return DGA_E_OK;
}

dga_err dga_tcb_match_platform(const struct dga_tcb_info *t, const struct dga_pck_ext *pck,
                               const uint8_t *tee_tcb_svn, struct dga_tcb_result *ret)
{
    if (t == NULL || pck == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (memcmp(t->fmspc, pck->fmspc, sizeof t->fmspc) != 0) {
        return DGA_E_FMSPC_MISMATCH;
    }
    /* Intel's QVL compares the PCE too (dcap-qvl does not): the stricter rule. */
    if (memcmp(t->pce_id, pck->pce_id, sizeof t->pce_id) != 0) {
        return DGA_E_PCE_ID_MISMATCH;
    }
    bool tee_ok =
        tee_tcb_svn != NULL ? is_tdx_info(t) : strcmp(t->id, "SGX") == 0 && t->version >= 2;
    if (!tee_ok) {
        return DGA_E_TCB_INFO_TEE;
    }
    for (size_t i = 0; i < t->n_levels; i++) {
        bool match = false;
        dga_err e = level_matches(&t->levels[i], pck, tee_tcb_svn, &match);
        if (e != DGA_E_OK) {
            return e;
        }
        if (match) {
            *ret = t->levels[i].result;
            return DGA_E_OK;
        }
    }
    return DGA_E_TCB_NO_LEVEL;
}

/* The identity "TDX_%02X" of the module's major version, compared without case. */
static const struct dga_tdx_module_identity *find_identity(const struct dga_tcb_info *t,
                                                           uint8_t major)
{
    char want[8];
    snprintf(want, sizeof want, "TDX_%02X", major);
    for (size_t i = 0; i < t->n_module_identities; i++) {
        const char *id = t->module_identities[i].id;
        size_t k = 0;
        while (want[k] != '\0' && toupper((unsigned char)id[k]) == want[k]) {
            k++;
        }
        if (want[k] == '\0' && id[k] == '\0') {
            return &t->module_identities[i];
        }
    }
    return NULL;
}

/* Masked equality, and (dcap-qvl's defence in depth) no attribute bit outside the mask. */
static bool seam_attributes_ok(const uint8_t have[8], const uint8_t want[8], const uint8_t mask[8])
{
    for (size_t i = 0; i < 8; i++) {
        if ((have[i] & mask[i]) != (want[i] & mask[i]) || (have[i] & (uint8_t)~mask[i]) != 0) {
            return false;
        }
    }
    return true;
}

dga_err dga_tcb_match_tdx_module(const struct dga_tcb_info *t, const struct dga_td_report *td,
                                 bool *applied, struct dga_tcb_result *ret)
{
    if (t == NULL || td == NULL || applied == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (!is_tdx_info(t)) {
        return DGA_E_TCB_INFO_TEE;
    }
    if (!t->has_tdx_module) {
        return DGA_E_TDX_MODULE_MISSING;
    }
    uint8_t isv = td->tee_tcb_svn[0], major = td->tee_tcb_svn[1];
    const struct dga_tdx_module_identity *ident = NULL;
    if (major > 0 && t->n_module_identities > 0) {
        ident = find_identity(t, major);
        if (ident == NULL) {
            return DGA_E_TDX_MODULE_IDENTITY;
        }
    }
    const uint8_t *mrsigner = ident != NULL ? ident->mrsigner : t->module_mrsigner;
    const uint8_t *attrs = ident != NULL ? ident->attributes : t->module_attributes;
    const uint8_t *mask = ident != NULL ? ident->attributes_mask : t->module_attributes_mask;
    if (memcmp(td->mr_signer_seam, mrsigner, sizeof td->mr_signer_seam) != 0) {
        return DGA_E_TDX_MODULE_MRSIGNER;
    }
    if (!seam_attributes_ok(td->seam_attributes, attrs, mask)) {
        return DGA_E_TDX_MODULE_ATTRIBUTES;
    }
    if (ident == NULL) {
        *applied = false;
        return DGA_E_OK;
    }
    for (size_t i = 0; i < ident->n_levels; i++) {
        if (isv >= ident->levels[i].isv_svn) {
            *ret = ident->levels[i].result;
            *applied = true;
            return DGA_E_OK;
        }
    }
    return DGA_E_TDX_MODULE_ISVSVN;
}

static uint32_t le32(const uint8_t b[4])
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static bool qe_identity_fits_tee(const struct dga_qe_identity *q, bool tdx)
{
    if (tdx) {
        return strcmp(q->id, "TD_QE") == 0 && (q->version == 2 || q->version == 3);
    }
    return strcmp(q->id, "QE") == 0 && q->version == 2;
}

/* The identity checks of the QE report, in dcap-qvl's order (docs/quote.md). */
static dga_err qe_report_matches(const struct dga_qe_identity *q, const struct dga_sgx_report *qe)
{
    if (memcmp(qe->mr_signer, q->mrsigner, sizeof q->mrsigner) != 0) {
        return DGA_E_QE_MRSIGNER;
    }
    /* A debug QE is refused whatever the caller allows for the TD. */
    if ((qe->attributes[0] & 0x02) != 0) {
        return DGA_E_QE_DEBUG;
    }
    if (qe->isv_prod_id != q->isv_prod_id) {
        return DGA_E_QE_ISVPRODID;
    }
    uint32_t mask = le32(q->miscselect_mask);
    if ((qe->misc_select & mask) != (le32(q->miscselect) & mask)) {
        return DGA_E_QE_MISCSELECT;
    }
    for (size_t i = 0; i < sizeof q->attributes; i++) {
        if ((qe->attributes[i] & q->attributes_mask[i]) !=
            (q->attributes[i] & q->attributes_mask[i])) {
            return DGA_E_QE_ATTRIBUTES;
        }
    }
    return DGA_E_OK;
}

dga_err dga_qe_identity_match(const struct dga_qe_identity *q, const struct dga_sgx_report *qe,
                              bool tdx, struct dga_tcb_result *ret)
{
    if (q == NULL || qe == NULL || ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    if (!qe_identity_fits_tee(q, tdx)) {
        return DGA_E_QE_IDENTITY_TEE;
    }
    dga_err e = qe_report_matches(q, qe);
    if (e != DGA_E_OK) {
        return e;
    }
    for (size_t i = 0; i < q->n_levels; i++) {
        if (qe->isv_svn >= q->levels[i].isv_svn) {
            *ret = q->levels[i].result;
            return DGA_E_OK;
        }
    }
    return DGA_E_QE_ISVSVN;
}

/* TD attribute bits (docs/quote.md, TCB status): bit n is bit n % 8 of byte n / 8. */
#define TD_ATTR_DEBUG (UINT64_C(1) << 0)
#define TD_ATTR_SEPT_VE_DISABLE (UINT64_C(1) << 28)
/* Reserved: 1-27, 29, 32-62. Allowed besides DEBUG and SEPT_VE_DISABLE: PKS 30, KL 31, PERFMON 63.
 */
#define TD_ATTR_RESERVED (UINT64_C(0x0ffffffe) | UINT64_C(1) << 29 | UINT64_C(0x7fffffff) << 32)

static uint64_t le64(const uint8_t b[8])
{
    uint64_t v = 0;
    for (size_t i = 8; i > 0; i--) {
        v = v << 8 | b[i - 1];
    }
    return v;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

dga_err dga_td_attributes_check(const struct dga_quote *q, bool allow_debug, bool allow_service_td)
{
    if (q == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    uint64_t attrs = le64(q->td.td_attributes);
    /* Reserved first: a reserved bit is refused even where a debug TD is allowed. */
    if ((attrs & TD_ATTR_RESERVED) != 0) {
        return DGA_E_TD_RESERVED_ATTRIBUTES;
    }
    if ((attrs & TD_ATTR_DEBUG) != 0 && !allow_debug) {
        return DGA_E_TD_DEBUG;
    }
    if ((attrs & TD_ATTR_SEPT_VE_DISABLE) == 0) {
        return DGA_E_TD_SEPT_VE;
    }
    if (q->body == DGA_QUOTE_BODY_IS_TD15 && !allow_service_td &&
        !all_zero(q->td.mr_service_td, sizeof q->td.mr_service_td)) {
        return DGA_E_TD_SERVICE_TD;
    }
    return DGA_E_OK;
}
