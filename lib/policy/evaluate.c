/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A policy over a claims array (docs/policy.md, claims: docs/formats.md §11).
 * Every device is checked in full and every failed requirement becomes one
 * reason "<label>: <claim> is <found>, policy <allows|requires> <what>";
 * then the device counts. A missing or mistyped claim fails the requirement
 * that reads it.
 */
#include <stdio.h>
#include <string.h>

#include "dga/policy.h"
#include "policy/internal.h"

/* Room for a found value and for an allow-list in one reason. */
#define FOUND_LEN 80
#define LIST_LEN DGA_VERDICT_REASON_LEN

struct eval {
    const struct dga_policy *p;
    struct dga_verdict *v;
    const char *prefix; /* "x-nvidia-gpu-" or "x-nvidia-switch-" */
    bool gpu;
    char label[32]; /* GPU-<n>, SWITCH-<n> or DEVICE-<index> */
    long device;    /* the claims array index of the device being checked */
};

static bool is_string(const json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* s is one of the names selected by mask. */
static bool in_mask(const json_t *v, const char *const *names, size_t n, unsigned mask)
{
    for (size_t i = 0; i < n; i++) {
        if ((mask & (1u << i)) && is_string(v, names[i])) {
            return true;
        }
    }
    return false;
}

static bool in_strings(const json_t *v, const json_t *list)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (is_string(v, json_string_value(e))) {
            return true;
        }
    }
    return false;
}

/* "<obj>.<key>" or "<key>" must be true. */
static void require_true(struct eval *e, const json_t *obj, const char *parent, const char *key)
{
    char found[FOUND_LEN];
    const json_t *v = json_object_get(obj, key);
    if (json_is_true(v)) {
        return;
    }
    policy_describe(v, found, sizeof found);
    if (parent != NULL) {
        policy_reason(e->v, e->device, e->label, "%s.%s is %s, policy requires true", parent, key,
                      found);
    } else {
        policy_reason(e->v, e->device, e->label, "%s is %s, policy requires true", key, found);
    }
}

/* claim[key] must be the string `want`. */
static void require_string(struct eval *e, const json_t *claim, const char *key, const char *want)
{
    char found[FOUND_LEN];
    const json_t *v = json_object_get(claim, key);
    if (is_string(v, want)) {
        return;
    }
    policy_describe(v, found, sizeof found);
    policy_reason(e->v, e->device, e->label, "%s is %s, policy requires \"%s\"", key, found, want);
}

/* claim[key] must be a string in list (an allow-list of the policy; NULL: anything). */
static void require_listed(struct eval *e, const json_t *claim, const char *key, const json_t *list)
{
    char found[FOUND_LEN], allowed[LIST_LEN];
    const json_t *v = json_object_get(claim, key);
    if (list == NULL || in_strings(v, list)) {
        return;
    }
    policy_describe(v, found, sizeof found);
    policy_strings_list(list, allowed, sizeof allowed);
    policy_reason(e->v, e->device, e->label, "%s is %s, policy allows %s", key, found, allowed);
}

/* A claim key made of the device's prefix and a suffix. */
static const char *key_of(const struct eval *e, const char *suffix, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", e->prefix, suffix);
    return out;
}

/* ------------------------------------------------------------ certificate chains */

/* A "revoked" OCSP status the policy allows: the reason must be listed (if reasons are). */
static void check_revocation_reason(struct eval *e, const json_t *chain,
                                    const struct policy_chain_def *def,
                                    const struct policy_chain_rule *rule)
{
    char found[FOUND_LEN], allowed[LIST_LEN];
    const json_t *v = json_object_get(chain, "x-nvidia-cert-revocation-reason");
    if (rule->reasons == NULL || in_strings(v, rule->reasons)) {
        return;
    }
    policy_describe(v, found, sizeof found);
    policy_strings_list(rule->reasons, allowed, sizeof allowed);
    policy_reason(e->v, e->device, e->label,
                  "%s.x-nvidia-cert-revocation-reason is %s, policy allows %s", def->claim, found,
                  allowed);
}

static void ocsp_status_reason(struct eval *e, const json_t *v, const struct policy_chain_def *def,
                               const struct policy_chain_rule *rule)
{
    char found[FOUND_LEN], allowed[LIST_LEN];
    policy_describe(v, found, sizeof found);
    policy_names_list(policy_ocsp_names, POLICY_N_OCSP, rule->ocsp, allowed, sizeof allowed);
    policy_reason(e->v, e->device, e->label, "%s.x-nvidia-cert-ocsp-status is %s, policy allows %s",
                  def->claim, found, allowed);
}

/*
 * OCSP "not-required": nothing about OCSP is read except a claimed
 * revocation, which still fails unless the chain's ocsp_status allows it.
 */
static void check_ocsp_optional(struct eval *e, const json_t *chain,
                                const struct policy_chain_def *def,
                                const struct policy_chain_rule *rule)
{
    const json_t *v = json_object_get(chain, "x-nvidia-cert-ocsp-status");
    if (!is_string(v, "revoked")) {
        return;
    }
    if ((rule->ocsp & POLICY_OCSP_REVOKED) == 0) {
        ocsp_status_reason(e, v, def, rule);
        return;
    }
    check_revocation_reason(e, chain, def, rule);
}

/* Responses from the collateral directory or a bundle carry no nonce of ours. */
static bool stored_response(const json_t *chain)
{
    const json_t *v = json_object_get(chain, "x-dstack-cert-ocsp-source");
    return is_string(v, "cache") || is_string(v, "bundle");
}

/*
 * x-nvidia-cert-ocsp-nonce-matches must be true; unless "strict", a stored
 * response held to a positive maximum age (at most ocsp_max_age when the
 * policy sets it) stands in for the nonce: its freshness is bounded.
 */
static void check_nonce(struct eval *e, const json_t *chain, const struct policy_chain_def *def)
{
    const char *age_key = "x-dstack-cert-ocsp-max-age";
    char found[FOUND_LEN];
    if (!e->p->ocsp_nonce_required ||
        json_is_true(json_object_get(chain, "x-nvidia-cert-ocsp-nonce-matches"))) {
        return;
    }
    if (e->p->ocsp_nonce_strict || !stored_response(chain)) {
        require_true(e, chain, def->claim, "x-nvidia-cert-ocsp-nonce-matches");
        return;
    }
    const json_t *age = json_object_get(chain, age_key);
    json_int_t a = json_is_integer(age) ? json_integer_value(age) : 0;
    if (a > 0 && (e->p->ocsp_max_age == 0 || a <= (json_int_t)e->p->ocsp_max_age)) {
        return;
    }
    policy_describe(age, found, sizeof found);
    if (e->p->ocsp_max_age == 0) {
        policy_reason(e->v, e->device, e->label,
                      "%s.%s is %s, policy requires a stored OCSP response held to a "
                      "maximum age (or a matching nonce)",
                      def->claim, age_key, found);
    } else {
        policy_reason(e->v, e->device, e->label, "%s.%s is %s, policy allows 1 to %u seconds",
                      def->claim, age_key, found, e->p->ocsp_max_age);
    }
}

/*
 * "not-required" allows not checking at all, nothing more: a device identity
 * chain whose revocation was checked (a status other than "not-checked") is
 * held to the "required" rules whatever the policy, so an "unknown", invalid,
 * stale or unbounded answer fails (the parser allows only "good" for it).
 */
static void check_ocsp(struct eval *e, const json_t *chain, const struct policy_chain_def *def,
                       const struct policy_chain_rule *rule)
{
    const json_t *v = json_object_get(chain, "x-nvidia-cert-ocsp-status");
    bool checked_identity = def->identity && v != NULL && !is_string(v, "not-checked");
    if (!e->p->ocsp_required && !checked_identity) {
        check_ocsp_optional(e, chain, def, rule);
        return;
    }
    if (!in_mask(v, policy_ocsp_names, POLICY_N_OCSP, rule->ocsp)) {
        ocsp_status_reason(e, v, def, rule);
    } else if (is_string(v, "revoked")) {
        check_revocation_reason(e, chain, def, rule);
    }
    check_nonce(e, chain, def);
    require_true(e, chain, def->claim, "x-nvidia-cert-ocsp-response-valid");
}

static void check_chain(struct eval *e, const json_t *claim, enum policy_chain c)
{
    const struct policy_chain_def *def = &policy_chains[c];
    const struct policy_chain_rule *rule = &e->p->chains[c];
    char found[FOUND_LEN], allowed[LIST_LEN];
    const json_t *chain = json_object_get(claim, def->claim);
    const json_t *status;
    if (!json_is_object(chain)) {
        policy_describe(chain, found, sizeof found);
        policy_reason(e->v, e->device, e->label,
                      "%s is %s, policy requires a certificate-chain object", def->claim, found);
        return;
    }
    status = json_object_get(chain, "x-nvidia-cert-status");
    if (!in_mask(status, policy_status_names, POLICY_N_STATUS, rule->status)) {
        policy_describe(status, found, sizeof found);
        policy_names_list(policy_status_names, POLICY_N_STATUS, rule->status, allowed,
                          sizeof allowed);
        policy_reason(e->v, e->device, e->label, "%s.x-nvidia-cert-status is %s, policy allows %s",
                      def->claim, found, allowed);
    }
    check_ocsp(e, chain, def, rule);
}

/* ------------------------------------------------------------ measurements */

/* One mismatch record: {"index": n, "measurementSource": "Driver"|"Firmware", ...}. */
static void check_mismatch_record(struct eval *e, const json_t *rec, size_t i)
{
    const json_t *index = json_object_get(rec, "index");
    const json_t *source = json_object_get(rec, "measurementSource");
    json_int_t x = json_is_integer(index) ? json_integer_value(index) : -1;
    enum policy_source s = POLICY_SOURCE__COUNT;
    char allowed[LIST_LEN];
    if (is_string(source, "Driver")) {
        s = POLICY_SOURCE_DRIVER;
    } else if (is_string(source, "Firmware")) {
        s = POLICY_SOURCE_FIRMWARE;
    }
    if (s == POLICY_SOURCE__COUNT || x < 0 || x > POLICY_MAX_INDEX) {
        policy_reason(e->v, e->device, e->label,
                      "x-nvidia-mismatch-measurement-records[%zu] is malformed, policy "
                      "requires an index 0-255 and a measurementSource \"Driver\" or "
                      "\"Firmware\"",
                      i);
        return;
    }
    if (policy_bit(e->p->mismatch[s], (unsigned)x)) {
        return;
    }
    policy_index_list(e->p->mismatch[s], allowed, sizeof allowed);
    policy_reason(e->v, e->device, e->label,
                  "x-nvidia-mismatch-measurement-records[%zu].index is %d "
                  "(measurementSource \"%s\"), policy allows %s",
                  i, (int)x, s == POLICY_SOURCE_DRIVER ? "Driver" : "Firmware", allowed);
}

/* measres "fail" under allow_mismatch_indices: every record must be allowed. */
static void check_mismatches(struct eval *e, const json_t *claim)
{
    const char *key = "x-nvidia-mismatch-measurement-records";
    const json_t *recs = json_object_get(claim, key);
    char found[FOUND_LEN];
    size_t i;
    json_t *rec;
    if (!json_is_array(recs) || json_array_size(recs) == 0) {
        policy_describe(recs, found, sizeof found);
        if (json_is_array(recs)) {
            snprintf(found, sizeof found, "empty");
        }
        policy_reason(e->v, e->device, e->label,
                      "measres is \"fail\" and %s is %s, policy requires a non-empty list "
                      "of allowed mismatches",
                      key, found);
        return;
    }
    json_array_foreach(recs, i, rec)
    {
        check_mismatch_record(e, rec, i);
    }
}

/*
 * measres "success" with secboot true and dbgstat "disabled" (each knob
 * drops its check); or, for a GPU under allow_mismatch_indices, measres
 * "fail" with only allowed mismatches (secboot and dbgstat, functions of
 * measres, are then not read).
 */
static void check_measurements(struct eval *e, const json_t *claim)
{
    const json_t *measres = json_object_get(claim, "measres");
    if (e->gpu && e->p->mismatch_allowed && is_string(measres, "fail")) {
        check_mismatches(e, claim);
        return;
    }
    require_string(e, claim, "measres", "success");
    if (!e->p->allow_insecure_boot) {
        require_true(e, claim, NULL, "secboot");
    }
    if (!e->p->allow_debug) {
        require_string(e, claim, "dbgstat", "disabled");
    }
}

/* ------------------------------------------------------------ devices */

/* Hard failures earlier in verification; checked again so a claims file cannot skip them. */
static void check_report(struct eval *e, const json_t *claim)
{
    static const char *const suffixes[] = {
        "attestation-report-parsed", "attestation-report-nonce-match",
        "attestation-report-signature-verified", "attestation-report-cert-chain-fwid-match"};
    char key[96];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        require_true(e, claim, NULL, key_of(e, suffixes[i], key, sizeof key));
    }
}

static void check_gpu(struct eval *e, const json_t *claim)
{
    check_measurements(e, claim);
    for (int c = POLICY_CHAIN_GPU_AR; c <= POLICY_CHAIN_GPU_VBIOS_RIM; c++) {
        check_chain(e, claim, (enum policy_chain)c);
    }
    check_report(e, claim);
    require_listed(e, claim, "hwmodel", e->p->hwmodels);
    require_listed(e, claim, "x-nvidia-gpu-driver-version", e->p->driver_versions);
    require_listed(e, claim, "x-nvidia-gpu-vbios-version", e->p->vbios_versions);
    if (e->p->require_protected_pcie) {
        require_string(e, claim, "x-dstack-gpu-mode", "ppcie");
    }
}

static void check_switch(struct eval *e, const json_t *claim)
{
    check_measurements(e, claim);
    for (int c = POLICY_CHAIN_SWITCH_AR; c <= POLICY_CHAIN_SWITCH_BIOS_RIM; c++) {
        check_chain(e, claim, (enum policy_chain)c);
    }
    check_report(e, claim);
    require_listed(e, claim, "hwmodel", e->p->hwmodels);
    require_listed(e, claim, "x-nvidia-switch-bios-version", e->p->switch_bios_versions);
}

struct tally {
    size_t gpus, switches;
};

static void check_device(struct eval *e, const json_t *claim, size_t index, struct tally *t)
{
    const json_t *type = json_object_get(claim, "x-nvidia-device-type");
    char found[FOUND_LEN];
    e->device = (long)index;
    if (is_string(type, "gpu")) {
        snprintf(e->label, sizeof e->label, "GPU-%zu", t->gpus++);
        e->gpu = true;
        e->prefix = "x-nvidia-gpu-";
        check_gpu(e, claim);
    } else if (is_string(type, "nvswitch")) {
        snprintf(e->label, sizeof e->label, "SWITCH-%zu", t->switches++);
        e->gpu = false;
        e->prefix = "x-nvidia-switch-";
        check_switch(e, claim);
    } else {
        snprintf(e->label, sizeof e->label, "DEVICE-%zu", index);
        if (!json_is_object(claim)) {
            policy_reason(e->v, e->device, e->label, "the claims are not an object");
            return;
        }
        policy_describe(type, found, sizeof found);
        policy_reason(e->v, e->device, e->label,
                      "x-nvidia-device-type is %s, policy allows [\"gpu\", \"nvswitch\"]", found);
    }
}

/* ------------------------------------------------------------ counts */

/* Returns false (with a reason) when n is outside c; `what` is "GPU count" or the like. */
static bool check_count(struct eval *e, const char *what, size_t n, const struct policy_count *c)
{
    if (!c->set || (n >= c->min && n <= c->max)) {
        return true;
    }
    if (c->min == c->max) {
        policy_reason(e->v, -1, "devices", "%s is %zu, policy requires exactly %u", what, n,
                      c->min);
    } else if (c->max == UINT32_MAX) {
        policy_reason(e->v, -1, "devices", "%s is %zu, policy requires at least %u", what, n,
                      c->min);
    } else if (c->min == 0) {
        policy_reason(e->v, -1, "devices", "%s is %zu, policy requires at most %u", what, n,
                      c->max);
    } else {
        policy_reason(e->v, -1, "devices", "%s is %zu, policy requires between %u and %u", what, n,
                      c->min, c->max);
    }
    return false;
}

/*
 * An empty array passes only when both counts are given and both admit zero.
 * In the gate's CC mode NVSwitches are not attested: with its PCI inventory known, the
 * NVSwitch count applies to the inventory, and to the claims only when they
 * hold NVSwitches (an empty claims array must not satisfy "exactly 0" while
 * one sits on the bus, nor fail "exactly 1" because none was attested).
 */
static void check_counts(struct eval *e, const struct tally *t, size_t n_claims)
{
    const struct dga_policy *p = e->p;
    bool ok = check_count(e, "GPU count", t->gpus, &p->gpus);
    if (p->has_switch_inventory) {
        ok = check_count(e, "NVSwitch count in the PCI inventory", p->switch_inventory,
                         &p->switches) &&
             ok;
    }
    if (!p->has_switch_inventory || t->switches > 0) {
        ok = check_count(e, "NVSwitch count", t->switches, &p->switches) && ok;
    }
    if (ok && n_claims == 0 &&
        !(p->gpus.set && p->gpus.min == 0 && p->switches.set && p->switches.min == 0)) {
        policy_reason(e->v, -1, "devices",
                      "the claims array is empty, policy requires at least one "
                      "device");
    }
}

dga_err dga_policy_evaluate(const struct dga_policy *p, const json_t *claims,
                            struct dga_verdict *ret)
{
    struct eval e = {.p = p, .v = ret};
    struct tally t = {0, 0};
    size_t i;
    json_t *claim;
    if (p == NULL || ret == NULL || !json_is_array(claims)) {
        return DGA_E_BAD_ARGUMENT;
    }
    memset(ret, 0, sizeof *ret);
    ret->pass = true;
    json_array_foreach(claims, i, claim)
    {
        check_device(&e, claim, i, &t);
    }
    check_counts(&e, &t, json_array_size(claims));
    return DGA_E_OK;
}
