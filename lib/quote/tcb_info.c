/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel's tcbInfo JSON (the signed text of the collateral's tcb_info):
 * header fields, the TDX module and its identities, and the platform TCB
 * levels. The schema and each rule are in docs/quote.md (Collateral).
 */
#include <stdlib.h>
#include <string.h>

#include "dga/quote.h"
#include "quote/tcb_json.h"

static const struct tj_level_fields platform_fields = {
    "tcbLevels[].tcbDate", "tcbLevels[].tcbStatus", "tcbLevels[].advisoryIDs"};
static const struct tj_level_fields module_fields = {
    "tdxModuleIdentities[].tcbLevels[].tcbDate", "tdxModuleIdentities[].tcbLevels[].tcbStatus",
    "tdxModuleIdentities[].tcbLevels[].advisoryIDs"};

/* sgxtcbcomponents / tdxtcbcomponents: objects whose "svn" is a u8 (other keys ignored). */
static dga_err components(struct tj_ctx *c, const json_t *tcb, const char *key, bool optional,
                          const char *field, const char *svn_field, uint8_t *out, size_t *n)
{
    json_t *a = NULL;
    dga_err e = tj_array(c, tcb, key, optional, DGA_TCB_COMPONENTS_MAX, field, &a);
    if (e != DGA_E_OK || a == NULL) {
        *n = 0;
        return e;
    }
    size_t outer = c->index;
    for (size_t i = 0; i < json_array_size(a); i++) {
        c->index = i;
        json_t *comp = json_array_get(a, i);
        uint64_t svn = 0;
        if (!json_is_object(comp)) {
            return tj_fail(c, svn_field);
        }
        e = tj_uint(c, comp, "svn", UINT8_MAX, svn_field, &svn);
        if (e != DGA_E_OK) {
            return e;
        }
        out[i] = (uint8_t)svn;
    }
    c->index = outer;
    *n = json_array_size(a);
    return DGA_E_OK;
}

static dga_err platform_level(struct tj_ctx *c, const json_t *lv, struct dga_tcb_level *ret)
{
    json_t *tcb = NULL;
    uint64_t pcesvn = 0;
    if (!json_is_object(lv)) {
        return tj_fail(c, "tcbLevels[]");
    }
    dga_err e = tj_member(c, lv, "tcb", JSON_OBJECT, "tcbLevels[].tcb", &tcb);
    if (e != DGA_E_OK) {
        return e;
    }
    e = components(c, tcb, "sgxtcbcomponents", false, "tcbLevels[].tcb.sgxtcbcomponents",
                   "tcbLevels[].tcb.sgxtcbcomponents[].svn", ret->sgx_svn, &ret->n_sgx);
    if (e != DGA_E_OK) {
        return e;
    }
    e = components(c, tcb, "tdxtcbcomponents", true, "tcbLevels[].tcb.tdxtcbcomponents",
                   "tcbLevels[].tcb.tdxtcbcomponents[].svn", ret->tdx_svn, &ret->n_tdx);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_uint(c, tcb, "pcesvn", UINT16_MAX, "tcbLevels[].tcb.pcesvn", &pcesvn);
    if (e != DGA_E_OK) {
        return e;
    }
    ret->pce_svn = (uint16_t)pcesvn;
    return tj_level_result(c, lv, &platform_fields, &ret->result);
}

static dga_err platform_levels(struct tj_ctx *c, const json_t *root, struct dga_tcb_info *t)
{
    json_t *a = NULL;
    dga_err e = tj_array(c, root, "tcbLevels", false, DGA_TCB_LEVELS_MAX, "tcbLevels", &a);
    if (e != DGA_E_OK) {
        return e;
    }
    t->levels = calloc(json_array_size(a) + 1, sizeof *t->levels);
    if (t->levels == NULL) {
        return DGA_E_NOMEM;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        c->index = i;
        e = platform_level(c, json_array_get(a, i), &t->levels[i]);
        if (e != DGA_E_OK) {
            return e;
        }
        t->n_levels = i + 1;
    }
    c->index = 0;
    return DGA_E_OK;
}

static dga_err tdx_module(const struct tj_ctx *c, const json_t *root, struct dga_tcb_info *t)
{
    json_t *m = json_object_get(root, "tdxModule");
    if (m == NULL) {
        return DGA_E_OK;
    }
    if (!json_is_object(m)) {
        return tj_fail(c, "tdxModule");
    }
    dga_err e = tj_hex(c, m, "mrsigner", 48, "tdxModule.mrsigner", t->module_mrsigner);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_hex(c, m, "attributes", 8, "tdxModule.attributes", t->module_attributes);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_hex(c, m, "attributesMask", 8, "tdxModule.attributesMask", t->module_attributes_mask);
    if (e != DGA_E_OK) {
        return e;
    }
    t->has_tdx_module = true;
    return DGA_E_OK;
}

static dga_err module_level(struct tj_ctx *c, const json_t *lv, struct dga_tdx_module_level *ret)
{
    json_t *tcb = NULL;
    uint64_t isvsvn = 0;
    if (!json_is_object(lv)) {
        return tj_fail(c, "tdxModuleIdentities[].tcbLevels[]");
    }
    dga_err e = tj_member(c, lv, "tcb", JSON_OBJECT, "tdxModuleIdentities[].tcbLevels[].tcb", &tcb);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_uint(c, tcb, "isvsvn", UINT8_MAX, "tdxModuleIdentities[].tcbLevels[].tcb.isvsvn",
                &isvsvn);
    if (e != DGA_E_OK) {
        return e;
    }
    ret->isv_svn = (uint8_t)isvsvn;
    return tj_level_result(c, lv, &module_fields, &ret->result);
}

static dga_err module_levels(struct tj_ctx *c, const json_t *ident,
                             struct dga_tdx_module_identity *ret)
{
    json_t *a = NULL;
    dga_err e = tj_array(c, ident, "tcbLevels", false, DGA_TCB_LEVELS_MAX,
                         "tdxModuleIdentities[].tcbLevels", &a);
    if (e != DGA_E_OK) {
        return e;
    }
    ret->levels = calloc(json_array_size(a) + 1, sizeof *ret->levels);
    if (ret->levels == NULL) {
        return DGA_E_NOMEM;
    }
    size_t outer = c->index;
    for (size_t i = 0; i < json_array_size(a); i++) {
        c->index = i;
        e = module_level(c, json_array_get(a, i), &ret->levels[i]);
        if (e != DGA_E_OK) {
            return e;
        }
        ret->n_levels = i + 1;
    }
    c->index = outer;
    return DGA_E_OK;
}

static dga_err module_identity(struct tj_ctx *c, const json_t *ident,
                               struct dga_tdx_module_identity *ret)
{
    if (!json_is_object(ident)) {
        return tj_fail(c, "tdxModuleIdentities[]");
    }
    dga_err e = tj_string(c, ident, "id", sizeof ret->id, "tdxModuleIdentities[].id", ret->id);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_hex(c, ident, "mrsigner", 48, "tdxModuleIdentities[].mrsigner", ret->mrsigner);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_hex(c, ident, "attributes", 8, "tdxModuleIdentities[].attributes", ret->attributes);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_hex(c, ident, "attributesMask", 8, "tdxModuleIdentities[].attributesMask",
               ret->attributes_mask);
    if (e != DGA_E_OK) {
        return e;
    }
    return module_levels(c, ident, ret);
}

static dga_err module_identities(struct tj_ctx *c, const json_t *root, struct dga_tcb_info *t)
{
    json_t *a = NULL;
    dga_err e = tj_array(c, root, "tdxModuleIdentities", true, DGA_TDX_MODULE_IDENTITIES_MAX,
                         "tdxModuleIdentities", &a);
    if (e != DGA_E_OK || a == NULL) {
        return e;
    }
    t->module_identities = calloc(json_array_size(a) + 1, sizeof *t->module_identities);
    if (t->module_identities == NULL) {
        return DGA_E_NOMEM;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        c->index = i;
        /* Counted first, so that clear frees the levels of a half-read identity. */
        t->n_module_identities = i + 1;
        e = module_identity(c, json_array_get(a, i), &t->module_identities[i]);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    c->index = 0;
    return DGA_E_OK;
}

static dga_err header(const struct tj_ctx *c, const json_t *root, struct dga_tcb_info *t)
{
    uint64_t tcb_type = 0, number = 0;
    dga_err e =
        tj_header(c, root, t->id, sizeof t->id, &t->version, &t->issue_date, &t->next_update);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_hex(c, root, "fmspc", sizeof t->fmspc, "fmspc", t->fmspc);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_hex(c, root, "pceId", sizeof t->pce_id, "pceId", t->pce_id);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_uint(c, root, "tcbType", UINT32_MAX, "tcbType", &tcb_type);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_uint(c, root, "tcbEvaluationDataNumber", UINT32_MAX, "tcbEvaluationDataNumber", &number);
    if (e != DGA_E_OK) {
        return e;
    }
    t->tcb_type = (uint32_t)tcb_type;
    t->tcb_evaluation_data_number = (uint32_t)number;
    return DGA_E_OK;
}

static dga_err read_document(struct tj_ctx *c, const json_t *root, void *out)
{
    dga_err e = header(c, root, out);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tdx_module(c, root, out);
    if (e != DGA_E_OK) {
        return e;
    }
    e = module_identities(c, root, out);
    if (e != DGA_E_OK) {
        return e;
    }
    return platform_levels(c, root, out);
}

dga_err dga_tcb_info_parse(const char *json, size_t len, struct dga_tcb_info *ret,
                           struct dga_diag *diag)
{
    if (ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct dga_tcb_info t;
    memset(&t, 0, sizeof t);
    dga_err e = tj_parse(json, len, DGA_E_TCB_INFO_MALFORMED, diag, read_document, &t);
    if (e != DGA_E_OK) {
        dga_tcb_info_clear(&t);
        return e;
    }
    *ret = t;
    return DGA_E_OK;
}

void dga_tcb_info_clear(struct dga_tcb_info *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->n_module_identities; i++) {
        free(t->module_identities[i].levels);
    }
    free(t->module_identities);
    free(t->levels);
    memset(t, 0, sizeof *t);
}
