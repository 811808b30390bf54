/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The collateral an appraisal used, as `attest` prints it and the gate's
 * bundle carries it: the RIM documents (id and SHA-256), the OCSP responses
 * that decided each chain's revocation status (DER as base64, so that
 * `attest --ocsp bundle` can re-appraise later), and the OCSP source.
 */
#include "core/json.h"
#include "dga/appraise_set.h"
#include "dga/util.h"

static json_t *rim_collateral(const struct dga_appraisal *d, const struct dga_rim_use *u)
{
    char sha[65];
    dga_hex_encode(u->sha256, sizeof u->sha256, sha);
    return json_pack("{s:s,s:s,s:s,s:o,s:I}", "device", d->report.label, "role", dga_rim_role(d, u),
                     "id", u->id, "sha256",
                     u->fetched && u->rim != NULL ? json_string(sha) : json_null(),
                     "issues_in_store", (json_int_t)u->n_candidates);
}

/* Standard base64 of DER (RFC 4648 §4), as the bundle carries OCSP responses; null without one. */
static json_t *response_json(const uint8_t *der, size_t len)
{
    if (der == NULL || len == 0 || len > DGA_OCSP_RESPONSE_MAX) {
        return json_null();
    }
    return base64_json(der, len); /* NULL when it cannot be made: the entry then fails */
}

static json_t *time_json(bool have, time_t t)
{
    char text[21];
    dga_time_format(t, text);
    return have ? json_string(text) : json_null();
}

/* The responses that decided one chain's revocation status (for re-appraisal). */
static void ocsp_collateral(json_t *list, const char *device, const char *chain,
                            const struct dga_ocsp_chain_result *o, dga_err *err)
{
    for (size_t i = 0; o->checked && i < o->n; i++) {
        const struct dga_ocsp_cert_result *c = &o->certs[i];
        bool valid = c->r.response_valid;
        json_t *e = json_pack(
            "{s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "device", device, "chain", chain,
            "index", c->index, "subject", c->subject, "certid_sha256", c->key, "source",
            dga_ocsp_origin_name(c->origin), "status", dga_ocsp_status_name(c->r.status),
            "revocation_reason", c->r.reason[0] != '\0' ? json_string(c->r.reason) : json_null(),
            "error", c->r.err != DGA_E_OK ? json_string(dga_err_name(c->r.err)) : json_null(),
            "this_update", time_json(valid, c->r.this_update), "next_update",
            time_json(valid, c->r.next_update), "response", response_json(c->der, c->der_len));
        json_push(list, e, err);
    }
}

static json_t *ocsp_source_json(const struct dga_ocsp_source *s)
{
    return json_pack("{s:s,s:o,s:o,s:I}", "mode", dga_ocsp_mode_name(s->mode), "url",
                     s->mode == DGA_OCSP_MODE_ONLINE
                         ? json_string(s->url != NULL ? s->url : DGA_OCSP_DEFAULT_URL)
                         : json_null(),
                     "collateral_dir", s->dir != NULL ? json_string(s->dir) : json_null(),
                     "max_age", (json_int_t)(s->unlimited_age ? 0 : s->max_age));
}

/* Every RIM and OCSP response of the set; NULL when one of them cannot be recorded. */
json_t *dga_set_appraisal_collateral(const struct dga_set_appraisal *ap,
                                     const struct dga_ocsp_source *src)
{
    dga_err e = DGA_E_OK;
    json_t *ocsp = json_array(), *rims = json_array();
    for (size_t i = 0; ocsp != NULL && rims != NULL && i < ap->n; i++) {
        const struct dga_appraisal *d = &ap->dev[i];
        ocsp_collateral(ocsp, d->report.label, "device", &d->ocsp, &e);
        if (d->driver.wanted) {
            ocsp_collateral(ocsp, d->report.label, "driver-rim", &d->driver.ocsp, &e);
            json_push(rims, rim_collateral(d, &d->driver), &e);
        }
        if (d->firmware.wanted) {
            ocsp_collateral(ocsp, d->report.label, dga_rim_role(d, &d->firmware), &d->firmware.ocsp,
                            &e);
            json_push(rims, rim_collateral(d, &d->firmware), &e);
        }
    }
    if (e != DGA_E_OK) {
        json_decref(ocsp);
        json_decref(rims);
        return NULL;
    }
    /* json_pack fails on a NULL array, taking the other's reference */
    return json_pack("{s:o,s:o,s:o}", "rims", rims, "ocsp", ocsp, "ocsp_source",
                     ocsp_source_json(src));
}
