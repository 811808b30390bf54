/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel's enclaveIdentity JSON (the signed text of the collateral's
 * qe_identity): the quoting enclave's expected identity and its TCB levels,
 * kept in JSON order. Rules in docs/quote.md (Collateral).
 */
#include <stdlib.h>
#include <string.h>

#include "dga/quote.h"
#include "quote/tcb_json.h"

static const struct tj_level_fields qe_fields = {"tcbLevels[].tcbDate", "tcbLevels[].tcbStatus",
                                                 "tcbLevels[].advisoryIDs"};

/* The enclave's expected identity: miscselect, attributes (each with its mask), mrsigner. */
static dga_err identity(const struct tj_ctx *c, const json_t *root, struct dga_qe_identity *q)
{
    dga_err e = tj_hex(c, root, "miscselect", 4, "miscselect", q->miscselect);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_hex(c, root, "miscselectMask", 4, "miscselectMask", q->miscselect_mask);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_hex(c, root, "attributes", 16, "attributes", q->attributes);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_hex(c, root, "attributesMask", 16, "attributesMask", q->attributes_mask);
    if (e != DGA_E_OK) {
        return e;
    }
    return tj_hex(c, root, "mrsigner", 32, "mrsigner", q->mrsigner);
}

static dga_err header(const struct tj_ctx *c, const json_t *root, struct dga_qe_identity *q)
{
    uint64_t number = 0, prod = 0;
    dga_err e =
        tj_header(c, root, q->id, sizeof q->id, &q->version, &q->issue_date, &q->next_update);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_uint(c, root, "tcbEvaluationDataNumber", UINT32_MAX, "tcbEvaluationDataNumber", &number);
    if (e != DGA_E_OK) {
        return e;
    }
    q->tcb_evaluation_data_number = (uint32_t)number;
    e = identity(c, root, q);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_uint(c, root, "isvprodid", UINT16_MAX, "isvprodid", &prod);
    if (e != DGA_E_OK) {
        return e;
    }
    q->isv_prod_id = (uint16_t)prod;
    return DGA_E_OK;
}

static dga_err level(struct tj_ctx *c, const json_t *lv, struct dga_qe_level *ret)
{
    json_t *tcb = NULL;
    uint64_t isvsvn = 0;
    if (!json_is_object(lv)) {
        return tj_fail(c, "tcbLevels[]");
    }
    dga_err e = tj_member(c, lv, "tcb", JSON_OBJECT, "tcbLevels[].tcb", &tcb);
    if (e != DGA_E_OK) {
        return e;
    }
    e = tj_uint(c, tcb, "isvsvn", UINT16_MAX, "tcbLevels[].tcb.isvsvn", &isvsvn);
    if (e != DGA_E_OK) {
        return e;
    }
    ret->isv_svn = (uint16_t)isvsvn;
    return tj_level_result(c, lv, &qe_fields, &ret->result);
}

static dga_err levels(struct tj_ctx *c, const json_t *root, struct dga_qe_identity *q)
{
    json_t *a = NULL;
    dga_err e = tj_array(c, root, "tcbLevels", false, DGA_TCB_LEVELS_MAX, "tcbLevels", &a);
    if (e != DGA_E_OK) {
        return e;
    }
    q->levels = calloc(json_array_size(a) + 1, sizeof *q->levels);
    if (q->levels == NULL) {
        return DGA_E_NOMEM;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        c->index = i;
        e = level(c, json_array_get(a, i), &q->levels[i]);
        if (e != DGA_E_OK) {
            return e;
        }
        q->n_levels = i + 1;
    }
    c->index = 0;
    return DGA_E_OK;
}

static dga_err read_document(struct tj_ctx *c, const json_t *root, void *out)
{
    dga_err e = header(c, root, out);
    if (e != DGA_E_OK) {
        return e;
    }
    return levels(c, root, out);
}

dga_err dga_qe_identity_parse(const char *json, size_t len, struct dga_qe_identity *ret,
                              struct dga_diag *diag)
{
    if (ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    struct dga_qe_identity q;
    memset(&q, 0, sizeof q);
    dga_err e = tj_parse(json, len, DGA_E_QE_IDENTITY_MALFORMED, diag, read_document, &q);
    if (e != DGA_E_OK) {
        dga_qe_identity_clear(&q);
        return e;
    }
    *ret = q;
    return DGA_E_OK;
}

void dga_qe_identity_clear(struct dga_qe_identity *q)
{
    if (q == NULL) {
        return;
    }
    free(q->levels);
    memset(q, 0, sizeof *q);
}
