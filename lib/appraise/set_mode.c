/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The set appraisal's mode rule (docs/ppcie.md, "The set appraisal's
 * mode"): in single-GPU CC mode a GPU whose signed report says protected
 * PCIe, and any NVSwitch, is refused, as NVIDIA's standalone verifier
 * refuses PPCIe evidence; in PPCIe mode the topology check runs over every
 * device whose report parsed. Each refusal is a hard failure of the set.
 * The views come from the appraisal's parsed reports and verified chains:
 * no signature is verified twice.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "set_mode.h"

static const char *const mode_names[] = {
    [DGA_SET_MODE_ANY] = "any",
    [DGA_SET_MODE_CC] = "cc",
    [DGA_SET_MODE_PPCIE] = "ppcie",
};

#define N_MODES (sizeof mode_names / sizeof mode_names[0])

const char *dga_set_mode_name(enum dga_set_mode m)
{
    return (size_t)m < N_MODES ? mode_names[m] : "unknown";
}

dga_err dga_set_mode_parse(const char *s, enum dga_set_mode *ret)
{
    for (size_t m = 0; s != NULL && m < N_MODES; m++) {
        if (strcmp(s, mode_names[m]) == 0) {
            *ret = (enum dga_set_mode)m;
            return DGA_E_OK;
        }
    }
    return DGA_E_BAD_ARGUMENT;
}

/* One refusal; the first one is also the set's mode_err / mode_failure. */
static void refuse(struct set_mode_refusals *r, struct dga_set_appraisal *a, dga_err err,
                   const char *check, struct dga_verdict_about about, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The first refusal about device i, or about the set (device -1), for that one's entry. */
static void note_about(struct dga_set_appraisal *a, dga_err err, const char *check,
                       struct dga_verdict_about about)
{
    if (about.device < 0 && a->mode_set_err == DGA_E_OK) {
        a->mode_set_err = err;
        a->mode_set_check = check;
    } else if (about.device >= 0 && (size_t)about.device < DGA_MAX_DEVICES &&
               a->mode_device_err[about.device] == DGA_E_OK) {
        a->mode_device_err[about.device] = err;
        a->mode_device_check[about.device] = check;
    }
}

static void refuse(struct set_mode_refusals *r, struct dga_set_appraisal *a, dga_err err,
                   const char *check, struct dga_verdict_about about, const char *fmt, ...)
{
    char text[DGA_VERDICT_REASON_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (a->mode_err == DGA_E_OK) {
        a->mode_err = err;
        snprintf(a->mode_failure, sizeof a->mode_failure, "%s", text);
        a->mode_about = about;
    }
    note_about(a, err, check, about);
    if (r->n < DGA_VERDICT_MAX_REASONS) {
        r->err[r->n] = err;
        r->about[r->n] = about;
        snprintf(r->text[r->n++], DGA_VERDICT_REASON_LEN, "%s", text);
    }
}

static struct dga_verdict_about about_device(const struct dga_set_appraisal *a, size_t i)
{
    return (struct dga_verdict_about){.device = (long)i,
                                      .text_at = strlen(a->dev[i].report.label) + 2};
}

/* A view's own error: "<label>: topology: <error>: <field>: <message>". */
static void view_refusal(struct set_mode_refusals *r, struct dga_set_appraisal *a, size_t i,
                         dga_err e, const struct dga_diag *diag)
{
    refuse(r, a, e, "topology", about_device(a, i), "%s: topology: %s: %s: %s",
           a->dev[i].report.label, dga_err_name(e), diag->field != NULL ? diag->field : "report",
           dga_err_message(e));
}

/* ---- single-GPU CC ---- */

/* What in a GPU's signed report says PPCIe ("TLV 21 is 0xAA"), or NULL. */
static const char *ppcie_signal(const struct dga_topology_gpu *g)
{
    if (g->protected_pcie == 1) {
        return "TLV 21 (protected PCIe status) is 0xAA";
    }
    if (g->has_feature_flag && g->feature_flag == 2) {
        return "TLV 36 (feature flag) is 2 (PPCIe)";
    }
    return NULL;
}

static void check_cc_device(struct set_mode_refusals *r, struct dga_set_appraisal *a, size_t i)
{
    const struct dga_device_result *d = &a->dev[i].report;
    if (dga_arch_is_switch(d->arch)) {
        refuse(r, a, DGA_E_MODE_SWITCH_IN_CC, "mode", about_device(a, i),
               "%s: mode: %s: an NVSwitch in a single-GPU CC set", d->label,
               dga_err_name(DGA_E_MODE_SWITCH_IN_CC));
        return;
    }
    if (!d->parsed) {
        return; /* the device's own failure already says why */
    }
    struct dga_topology_gpu g;
    struct dga_diag diag = {0};
    dga_err e = dga_topology_gpu_view(&d->report, NULL, &g, &diag);
    if (e != DGA_E_OK) {
        view_refusal(r, a, i, e, &diag);
        return;
    }
    const char *signal = ppcie_signal(&g);
    if (signal != NULL) {
        refuse(r, a, DGA_E_MODE_PPCIE_EVIDENCE, "mode", about_device(a, i), "%s: mode: %s: %s",
               d->label, dga_err_name(DGA_E_MODE_PPCIE_EVIDENCE), signal);
    }
}

/* ---- protected PCIe ---- */

static dga_err check_ppcie(const struct dga_evidence_set *set,
                           const struct dga_appraise_options *opt, struct dga_set_appraisal *a,
                           struct set_mode_refusals *r)
{
    struct dga_topology_views *v = calloc(1, sizeof *v);
    if (v == NULL) {
        return DGA_E_NOMEM;
    }
    for (size_t i = 0; i < a->n; i++) {
        struct dga_diag diag = {0};
        dga_err e = a->dev[i].report.parsed
                        ? dga_topology_add_view(v, &a->dev[i].report, &set->dev[i], &diag)
                        : DGA_E_OK; /* unparsed: a device failure; the counts show it missing */
        if (e != DGA_E_OK) {
            view_refusal(r, a, i, e, &diag);
        }
    }
    struct dga_topology_options topt = opt->topology;
    memcpy(topt.nonce, opt->verify.nonce, DGA_NONCE_LEN);
    dga_err e =
        dga_topology_check(v->gpus, v->n_gpus, v->switches, v->n_switches, &topt, &a->topology);
    if (e != DGA_E_OK) { /* more of a kind than the set can hold: cannot happen, fail closed */
        a->topology.pass = false;
        a->topology.err = e;
    }
    a->topology_checked = true;
    a->topology_json =
        dga_topology_json(v->gpus, v->n_gpus, v->switches, v->n_switches, &topt, &a->topology);
    free(v);
    if (a->topology_json == NULL) {
        return DGA_E_NOMEM;
    }
    const struct dga_verdict_about set_wide = {.device = -1, .text_at = 0};
    if (e != DGA_E_OK) {
        refuse(r, a, e, "topology", set_wide, "topology: %s: %s", dga_err_name(e),
               dga_err_message(e));
    }
    for (size_t k = 0; k < a->topology.n_findings; k++) {
        const struct dga_topology_finding *f = &a->topology.findings[k];
        refuse(r, a, f->err, "topology", set_wide, "topology: %s: %s", dga_err_name(f->err),
               f->text);
    }
    return DGA_E_OK;
}

dga_err set_mode_check(const struct dga_evidence_set *set, const struct dga_appraise_options *opt,
                       struct dga_set_appraisal *a, struct set_mode_refusals *ret)
{
    memset(ret, 0, sizeof *ret);
    a->mode = opt->mode;
    switch (opt->mode) {
    case DGA_SET_MODE_ANY:
        return DGA_E_OK;
    case DGA_SET_MODE_CC:
        for (size_t i = 0; i < a->n; i++) {
            check_cc_device(ret, a, i);
        }
        return DGA_E_OK;
    case DGA_SET_MODE_PPCIE:
        return check_ppcie(set, opt, a, ret);
    }
    /* a mode this build does not know: refuse the set rather than skip the rule */
    refuse(ret, a, DGA_E_BAD_ARGUMENT, "mode", (struct dga_verdict_about){.device = -1},
           "mode: %s: unknown set mode %d", dga_err_name(DGA_E_BAD_ARGUMENT), (int)opt->mode);
    return DGA_E_OK;
}

bool dga_set_appraisal_mode_failure(const struct dga_set_appraisal *ap, char *out, size_t size,
                                    dga_err *err)
{
    bool refused = ap != NULL && ap->mode_err != DGA_E_OK;
    if (err != NULL) {
        *err = refused ? ap->mode_err : DGA_E_OK;
    }
    if (out != NULL && size > 0) {
        snprintf(out, size, "%s", refused ? ap->mode_failure : "");
    }
    return refused;
}
