/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attest output. JSON is the library's core of an appraised set
 * (dga_set_appraisal_json): a superset of nvattest's `attest --format json`
 * (result_code, result_message, claims, detached_eat) plus verdict,
 * collateral, devices, nonce, verified_at, policy and trust roots; the gate's
 * bundle extends the same core. Text is the operator's view.
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
        printf("  ocsp      %s: %s (no response obtained)\n", what,
               dga_ocsp_chain_status_name(o->status));
    } else {
        printf("  ocsp      %s: %s%s%s (%s, %zu response%s, nonce %s, responses %s)\n", what,
               dga_ocsp_chain_status_name(o->status), o->reason[0] != '\0' ? " " : "", o->reason,
               dga_ocsp_origin_name(o->origin), o->n, o->n == 1 ? "" : "s",
               o->nonce_matches ? "matched" : "not matched",
               o->response_valid ? "valid" : "NOT VALID");
    }
    if (o->failed >= 0) {
        const struct dga_ocsp_cert_result *c = &o->certs[o->failed];
        printf("            certificate %d \"%s\": %s [%s]\n", c->index, c->subject,
               dga_ocsp_failure_text(c, o->err), dga_err_name(o->err));
    }
}

static void print_device(const struct dga_appraisal *d)
{
    const struct dga_device_result *r = &d->report;
    printf("%s (%s)", r->label, dga_arch_name(r->arch));
    if (r->parsed) {
        printf(" %s %s%s%s", dga_arch_is_switch(r->arch) ? "BIOS" : "VBIOS",
               r->derived.vbios_version, dga_arch_is_switch(r->arch) ? "" : ", driver ",
               r->derived.driver_version);
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
    for (size_t i = 0; i < run->ap.n; i++) {
        print_device(&run->ap.dev[i]);
    }
    if (run->ap.mode != DGA_SET_MODE_ANY) {
        printf("mode: %s\n", dga_set_mode_name(run->ap.mode));
    }
    if (run->ap.topology_checked) {
        cli_print_topology(run->ap.topology_json);
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
    printf("verdict: %s (%zu device%s)\n", run->ap.verdict.pass ? "PASS" : "FAIL", run->ap.n,
           run->ap.n == 1 ? "" : "s");
    for (size_t i = 0; i < run->ap.verdict.n_reasons; i++) {
        printf("  - %s\n", run->ap.verdict.reasons[i]);
    }
    return EXIT_VERIFIED;
}

/* The library's JSON core of an appraised set, as the gate's bundle carries it too. */
int attest_print_json(const struct attest_run *run)
{
    struct dga_set_json_context c = {
        .policy = run->policy,
        .ocsp = &run->ocsp,
        .nonce = run->opt.verify.nonce,
        .verified_at = run->opt.verify.at,
        .device_root = run->device_root.custom ? "custom" : "nvidia",
        .rim_root = run->rim_root.custom ? "custom" : "nvidia",
    };
    json_t *out = dga_set_appraisal_json(&run->ap, &c);
    int rc = cli_print_json(out);
    json_decref(out);
    return rc;
}
