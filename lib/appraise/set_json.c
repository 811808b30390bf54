/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON of an appraised set: one core that `attest --format json` prints
 * and the gate's evidence bundle extends (docs/formats.md §13). nvattest's
 * keys (result_code, result_message, claims, detached_eat; claims and token
 * only for result codes 0, 11 and 12) first, then ours: verdict, collateral,
 * devices, nonce, verified_at, policy, trust_roots.
 */
#include <stdlib.h>

#include "dga/appraise_set.h"
#include "dga/util.h"

/* nvattest fills claims and the token only for these codes: ok, policy mismatches. */
static bool filled(int code)
{
    return code == 0 || code == 11 || code == 12;
}

static json_t *device_json(const struct dga_set_appraisal *ap, size_t i)
{
    const struct dga_appraisal *d = &ap->dev[i];
    json_t *o =
        json_pack("{s:s,s:s,s:s}", "label", d->report.label, "arch", dga_arch_name(d->report.arch),
                  "result", d->err == DGA_E_OK ? "appraised" : "failed");
    if (o == NULL) {
        return NULL;
    }
    /* a member that cannot be built fails the whole object: never a silent omission */
    bool ok = true;
    if (d->err != DGA_E_OK) {
        ok = json_object_set_new(o, "failed_check",
                                 json_string(dga_appraisal_check_name(d->failed_check))) == 0 &&
             json_object_set_new(o, "error", json_string(dga_err_name(d->err))) == 0 &&
             json_object_set_new(o, "message", json_string(dga_err_message(d->err))) == 0;
    }
    if (ok && ap->dup[i].kind != DGA_DUPLICATE_NONE) {
        char what[96];
        dga_duplicate_text(ap, i, what, sizeof what);
        ok = json_object_set_new(o, "duplicate_of",
                                 json_pack("{s:s,s:s}", "device",
                                           ap->dev[ap->dup[i].of].report.label, "reason", what)) ==
             0;
    }
    /* the claims evaluated and signed for this device, not a second build of them */
    json_t *claims = json_array_get(ap->claims, i);
    ok = ok && claims != NULL && json_object_set(o, "claims", claims) == 0;
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *devices_json(const struct dga_set_appraisal *ap)
{
    json_t *a = json_array();
    for (size_t i = 0; ap != NULL && a != NULL && i < ap->n; i++) {
        if (json_array_append_new(a, device_json(ap, i)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* The set's verdict; the revocation source says how far revocation was checked. */
static json_t *verdict_json(const struct dga_set_appraisal *ap, const struct dga_ocsp_source *src)
{
    bool pass = ap != NULL && ap->verdict.pass;
    json_t *reasons = json_array();
    for (size_t i = 0; ap != NULL && reasons != NULL && i < ap->verdict.n_reasons; i++) {
        if (json_array_append_new(reasons, json_string(ap->verdict.reasons[i])) != 0) {
            json_decref(reasons);
            return NULL; /* a verdict without one of its reasons is not printed */
        }
    }
    return json_pack("{s:b,s:s,s:o,s:s}", "pass", pass, "result", pass ? "pass" : "fail", "reasons",
                     reasons, "revocation",
                     src->mode == DGA_OCSP_MODE_OFF
                         ? "not checked (--ocsp off, policy does not require OCSP)"
                         : dga_ocsp_mode_name(src->mode));
}

static json_t *policy_json(const struct dga_policy *p)
{
    uint8_t sha[32] = {0};
    char hex[65];
    if (p != NULL) {
        dga_policy_sha256(p, sha);
    }
    dga_hex_encode(sha, sizeof sha, hex);
    return json_pack("{s:s,s:s}", "source", p != NULL ? dga_policy_source(p) : "unloaded", "sha256",
                     hex);
}

static json_t *nonce_json(const uint8_t *nonce)
{
    char hex[2 * DGA_NONCE_LEN + 1];
    if (nonce == NULL) {
        return json_null();
    }
    dga_hex_encode(nonce, DGA_NONCE_LEN, hex);
    return json_string(hex);
}

/* "mode", and the topology check's JSON when it ran; a member that fails fails the object. */
static json_t *add_mode(json_t *out, const struct dga_set_appraisal *ap)
{
    enum dga_set_mode mode = ap != NULL ? ap->mode : DGA_SET_MODE_ANY;
    bool ok =
        out != NULL && json_object_set_new(out, "mode", json_string(dga_set_mode_name(mode))) == 0;
    if (ok && ap != NULL && ap->topology_checked) {
        ok = json_object_set(out, "topology", ap->topology_json) == 0;
    }
    if (!ok) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *dga_set_appraisal_json(const struct dga_set_appraisal *ap,
                               const struct dga_set_json_context *c)
{
    bool fill = ap != NULL && filled(ap->result_code);
    char at[21];
    dga_time_format(c->verified_at, at);
    json_t *claims = fill ? json_incref(ap->claims) : json_object();
    json_t *eat = fill && ap->detached_eat != NULL ? json_incref(ap->detached_eat) : json_object();
    json_t *collateral = ap != NULL ? dga_set_appraisal_collateral(ap, c->ocsp)
                                    : json_pack("{s:[],s:[]}", "rims", "ocsp");
    json_t *out = json_pack("{s:i,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:{s:s,s:s}}", "result_code",
                            ap != NULL ? ap->result_code : -1, "result_message",
                            ap != NULL ? ap->result_message : "not appraised", "claims", claims,
                            "detached_eat", eat, "verdict", verdict_json(ap, c->ocsp), "collateral",
                            collateral, "devices", devices_json(ap), "nonce", nonce_json(c->nonce),
                            "verified_at", at, "policy", policy_json(c->policy), "trust_roots",
                            "device", c->device_root, "rim", c->rim_root);
    return add_mode(out, ap);
}
