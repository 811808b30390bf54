/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attest output. JSON is a superset of nvattest's `attest --format json`
 * (result_code, result_message, claims, detached_eat; claims and token only
 * for result codes 0/11/12, {} otherwise) plus verdict, collateral, devices,
 * nonce, verified_at, policy and trust roots. Text is the operator's view.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest.h"
#include "dga/util.h"

static const char *mark(bool ok)
{
    return ok ? "pass" : "FAIL";
}

static void print_rim(const struct dga_appraisal *d, const struct dga_rim_use *u)
{
    const char *role = dga_rim_role(d, u);
    if (!u->fetched) {
        printf("  %-9s %s: FAIL: %s\n", role, u->id, dga_err_message(u->err));
        return;
    }
    char sha[65];
    dga_hex_encode(u->sha256, sizeof u->sha256, sha);
    printf("  %-9s %s (%zu issue%s in the store, used sha256 %.16s...)\n", role, u->id,
           u->n_candidates, u->n_candidates == 1 ? "" : "s", sha);
    printf("            signature %s, signer chain %s", mark(u->signature_verified),
           mark(u->chain_verified));
    if (u->chain_verified) {
        if (u->time_valid) {
            printf(" (valid until %s)", u->chain.expiration_date);
        } else {
            printf(" (NOT VALID at the verification time: %s, earliest notAfter %s)",
                   u->chain.expired ? "expired" : "not yet valid", u->chain.expiration_date);
        }
    }
    printf(", version %s\n", mark(u->version_match));
    if (u->err != DGA_E_OK) {
        printf("            reason: %s (%s)\n", dga_err_message(u->err), u->diag.field);
    }
}

static void print_mismatches(const struct dga_measure_result *m)
{
    for (size_t i = 0; i < m->n_mismatches; i++) {
        const struct dga_mismatch *mm = &m->mismatches[i];
        char golden[2 * DGA_DIGEST_LEN + 1], runtime[2 * DGA_DIGEST_LEN + 1];
        dga_hex_encode(mm->golden, DGA_DIGEST_LEN, golden);
        dga_hex_encode(mm->runtime, DGA_DIGEST_LEN, runtime);
        printf("    mismatch at RIM index %u (%s, report block %u)\n", mm->index,
               mm->source == DGA_SOURCE_DRIVER ? "Driver" : "Firmware", mm->index + 1);
        printf("      expected %s\n", golden);
        printf("      runtime  %s\n", mm->runtime_size > 0 ? runtime : "NA (no such block)");
    }
}

static void print_measurements(const struct dga_appraisal *d)
{
    if (!d->measured) {
        printf("  measurements not compared%s%s\n", d->measure_err != DGA_E_OK ? ": " : "",
               d->measure_err != DGA_E_OK ? dga_err_message(d->measure_err) : "");
        return;
    }
    printf("  measurements %zu of %zu golden values compared%s: %zu mismatch%s\n",
           d->measure.n_compared, d->measure.n_golden,
           d->measure.skipped_nvdec0 ? " (index 35 skipped: NVDEC0 off)" : "",
           d->measure.n_mismatches, d->measure.n_mismatches == 1 ? "" : "es");
    print_mismatches(&d->measure);
}

static void print_report(const struct dga_appraisal *d)
{
    const struct dga_device_result *r = &d->report;
    printf("  report    parsed %s, signature %s, chain %s, nonce %s, FWID %s\n", mark(r->parsed),
           mark(r->signature_verified), mark(r->chain_verified), mark(r->nonce_match),
           mark(r->fwid_match));
    if (r->err != DGA_E_OK) {
        printf("            reason: %s: %s (%s)\n", dga_check_name(r->failed_check),
               dga_err_message(r->err), r->diag.field);
    }
}

/* One chain's revocation line: status, source, and the first failed check. */
static void print_ocsp(const char *what, const struct dga_ocsp_chain_result *o)
{
    if (!o->checked) {
        printf("  ocsp      %s: not checked\n", what);
        return;
    }
    if (o->origin == DGA_OCSP_ORIGIN_NONE) {
        printf("  ocsp      %s: %s (no response obtained)\n", what, o->status);
    } else {
        printf("  ocsp      %s: %s%s%s (%s, %zu response%s, nonce %s, responses %s)\n", what,
               o->status, o->reason[0] != '\0' ? " " : "", o->reason,
               dga_ocsp_origin_name(o->origin), o->n, o->n == 1 ? "" : "s",
               o->nonce_matches ? "matched" : "not matched",
               o->response_valid ? "valid" : "NOT VALID");
    }
    if (o->failed >= 0) {
        const struct dga_ocsp_cert_result *c = &o->certs[o->failed];
        printf("            certificate %d \"%s\": %s [%s]\n", c->index, c->subject,
               cli_ocsp_failure_text(c, o->err), dga_err_name(o->err));
    }
}

static void print_device(const struct dga_appraisal *d)
{
    const struct dga_device_result *r = &d->report;
    printf("%s (%s)", r->label, dga_arch_name(r->arch));
    if (r->parsed) {
        printf(" %s %s%s%s", dga_arch_is_switch(r->arch) ? "BIOS" : "VBIOS", r->derived.vbios_version,
               dga_arch_is_switch(r->arch) ? "" : ", driver ", r->derived.driver_version);
    }
    printf(": %s\n", d->err == DGA_E_OK ? "appraised" : "FAILED");
    print_report(d);
    print_ocsp("device chain", &d->ocsp);
    if (d->driver.wanted) {
        print_rim(d, &d->driver);
        print_ocsp("driver RIM chain", &d->driver.ocsp);
    }
    if (d->firmware.wanted) {
        print_rim(d, &d->firmware);
        print_ocsp(dga_arch_is_switch(r->arch) ? "BIOS RIM chain" : "VBIOS RIM chain",
                   &d->firmware.ocsp);
    }
    if (r->parsed) {
        print_measurements(d);
    }
}

int attest_print_text(const struct attest_run *run)
{
    for (size_t i = 0; i < run->n; i++) {
        print_device(&run->dev[i]);
    }
    uint8_t sha[32];
    char hex[65];
    dga_policy_sha256(run->policy, sha);
    dga_hex_encode(sha, sizeof sha, hex);
    printf("policy: %s (sha256 %s)\n", dga_policy_source(run->policy), hex);
    if (run->ocsp.mode == DGA_OCSP_MODE_OFF) {
        printf("revocation: NOT CHECKED (--ocsp off; the policy does not require OCSP)\n");
    } else {
        printf("revocation: OCSP %s, maximum age %lds%s\n", dga_ocsp_mode_name(run->ocsp.mode),
               run->ocsp.unlimited_age ? 0L : run->ocsp.max_age,
               run->ocsp.unlimited_age ? " (unlimited)" : "");
    }
    printf("verdict: %s (%zu device%s)\n", run->verdict.pass ? "PASS" : "FAIL", run->n,
           run->n == 1 ? "" : "s");
    for (size_t i = 0; i < run->verdict.n_reasons; i++) {
        printf("  - %s\n", run->verdict.reasons[i]);
    }
    return EXIT_VERIFIED;
}

static json_t *rim_collateral(const struct dga_appraisal *d, const struct dga_rim_use *u)
{
    char sha[65];
    dga_hex_encode(u->sha256, sizeof u->sha256, sha);
    return json_pack("{s:s,s:s,s:s,s:o,s:I}", "device", d->report.label, "role", dga_rim_role(d, u),
                     "id", u->id, "sha256", u->fetched && u->rim != NULL ? json_string(sha) : json_null(),
                     "issues_in_store", (json_int_t)u->n_candidates);
}

/* Standard base64 of DER (RFC 4648 §4), as the bundle carries OCSP responses. */
static json_t *base64_json(const uint8_t *der, size_t len)
{
    if (der == NULL || len == 0 || len > DGA_OCSP_RESPONSE_MAX) {
        return json_null();
    }
    char *text = malloc(4 * ((len + 2) / 3) + 1);
    if (text == NULL) {
        return json_null();
    }
    EVP_EncodeBlock((unsigned char *)text, der, (int)len);
    json_t *j = json_string(text);
    free(text);
    return j;
}

static json_t *time_json(bool have, time_t t)
{
    char text[21];
    dga_time_format(t, text);
    return have ? json_string(text) : json_null();
}

/* The responses that decided one chain's revocation status (for re-appraisal). */
static void ocsp_collateral(json_t *list, const char *device, const char *chain,
                            const struct dga_ocsp_chain_result *o)
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
            time_json(valid, c->r.next_update), "response", base64_json(c->der, c->der_len));
        json_array_append_new(list, e);
    }
}

static json_t *ocsp_source_json(const struct attest_run *run)
{
    const struct dga_ocsp_source *s = &run->ocsp;
    return json_pack("{s:s,s:o,s:o,s:I}", "mode", dga_ocsp_mode_name(s->mode), "url",
                     s->mode == DGA_OCSP_MODE_ONLINE
                         ? json_string(s->url != NULL ? s->url : DGA_OCSP_DEFAULT_URL)
                         : json_null(),
                     "collateral_dir", s->dir != NULL ? json_string(s->dir) : json_null(),
                     "max_age", (json_int_t)(s->unlimited_age ? 0 : s->max_age));
}

static json_t *collateral_json(const struct attest_run *run)
{
    json_t *ocsp = json_array();
    for (size_t i = 0; ocsp != NULL && i < run->n; i++) {
        const struct dga_appraisal *d = &run->dev[i];
        ocsp_collateral(ocsp, d->report.label, "device", &d->ocsp);
        if (d->driver.wanted) {
            ocsp_collateral(ocsp, d->report.label, "driver-rim", &d->driver.ocsp);
        }
        if (d->firmware.wanted) {
            ocsp_collateral(ocsp, d->report.label, dga_rim_role(d, &d->firmware),
                            &d->firmware.ocsp);
        }
    }
    json_t *rims = json_array();
    for (size_t i = 0; i < run->n; i++) {
        const struct dga_appraisal *d = &run->dev[i];
        if (d->driver.wanted) {
            json_array_append_new(rims, rim_collateral(d, &d->driver));
        }
        if (d->firmware.wanted) {
            json_array_append_new(rims, rim_collateral(d, &d->firmware));
        }
    }
    return json_pack("{s:o,s:o,s:o}", "rims", rims, "ocsp", ocsp, "ocsp_source",
                     ocsp_source_json(run));
}

static json_t *devices_json(const struct attest_run *run)
{
    json_t *a = json_array();
    for (size_t i = 0; i < run->n; i++) {
        const struct dga_appraisal *d = &run->dev[i];
        json_t *o = json_pack("{s:s,s:s,s:s}", "label", d->report.label, "arch",
                              dga_arch_name(d->report.arch), "result",
                              d->err == DGA_E_OK ? "appraised" : "failed");
        if (d->err != DGA_E_OK) {
            json_object_set_new(o, "failed_check", json_string(d->failed_check));
            json_object_set_new(o, "error", json_string(dga_err_name(d->err)));
            json_object_set_new(o, "message", json_string(dga_err_message(d->err)));
        }
        json_object_set_new(o, "claims", dga_claims_device(d));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *policy_json(const struct dga_policy *p)
{
    uint8_t sha[32];
    char hex[65];
    dga_policy_sha256(p, sha);
    dga_hex_encode(sha, sizeof sha, hex);
    return json_pack("{s:s,s:s}", "source", dga_policy_source(p), "sha256", hex);
}

int attest_print_json(const struct attest_run *run)
{
    bool filled = run->result_code == 0 || run->result_code == 11 || run->result_code == 12;
    char at[21];
    dga_time_format(run->opt.verify.at, at);
    json_t *verdict = json_pack("{s:s,s:o,s:s}", "result", run->verdict.pass ? "pass" : "fail",
                                "reasons", json_array(), "revocation",
                                run->ocsp.mode == DGA_OCSP_MODE_OFF
                                    ? "not checked (--ocsp off, policy does not require OCSP)"
                                    : dga_ocsp_mode_name(run->ocsp.mode));
    for (size_t i = 0; verdict != NULL && i < run->verdict.n_reasons; i++) {
        json_array_append_new(json_object_get(verdict, "reasons"),
                              json_string(run->verdict.reasons[i]));
    }
    json_t *claims = filled ? json_incref(run->claims) : json_object();
    json_t *eat = filled ? json_incref(run->detached_eat) : json_object();
    json_t *out = json_pack(
        "{s:i,s:s,s:o,s:o,s:o,s:o,s:o,s:s,s:s,s:o,s:{s:s,s:s}}", "result_code", run->result_code,
        "result_message", run->result_message, "claims", claims, "detached_eat", eat,
        "verdict", verdict,
        "collateral", collateral_json(run), "devices", devices_json(run), "nonce",
        run->args.nonce, "verified_at", at, "policy", policy_json(run->policy), "trust_roots",
        "device", run->device_root.custom ? "custom" : "nvidia", "rim",
        run->rim_root.custom ? "custom" : "nvidia");
    int rc = cli_print_json(out);
    json_decref(out);
    return rc;
}
