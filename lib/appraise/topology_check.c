/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PPCIe topology checker (docs/ppcie.md): NVIDIA's check
 * (validate_topology.py) with the counts from the caller, then the rules it
 * lacks. Every rule runs and every failure is recorded, so an operator sees
 * the whole picture at once; the first finding names the result's error.
 * Order: counts, nonce, GPU mode, GPU side, NVSwitch side (NVIDIA's), the
 * stricter NVSwitch rules, then the certificate-PDI rule.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dga/topology.h"
#include "dga/util.h"

#define FEATURE_FLAG_PPCIE 2
#define HEX_PDI (2 * DGA_PDI_LEN + 1)

struct check {
    const struct dga_topology_gpu *g;
    size_t ng;
    const struct dga_topology_switch *s;
    size_t ns;
    const struct dga_topology_options *opt;
    struct dga_topology_result *res;
};

__attribute__((format(printf, 3, 4))) static void finding(struct check *c, dga_err e,
                                                          const char *fmt, ...)
{
    struct dga_topology_result *r = c->res;
    if (r->n_findings == 0) {
        r->err = e;
    }
    r->pass = false;
    if (r->n_findings == DGA_TOPOLOGY_MAX_FINDINGS) {
        return;
    }
    struct dga_topology_finding *f = &r->findings[r->n_findings++];
    f->err = e;
    if (r->n_findings == DGA_TOPOLOGY_MAX_FINDINGS) {
        snprintf(f->text, sizeof f->text, "... more findings");
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->text, sizeof f->text, fmt, ap);
    va_end(ap);
}

static const char *hex(const uint8_t *pdi, char out[HEX_PDI])
{
    dga_hex_encode(pdi, DGA_PDI_LEN, out);
    return out;
}

static bool pdi_eq(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, DGA_PDI_LEN) == 0;
}

/* All-zero or all-0xFF: an unset or erased identifier, never a device's. */
static bool pdi_invalid(const uint8_t *p)
{
    bool zero = true, ones = true;
    for (size_t i = 0; i < DGA_PDI_LEN; i++) {
        zero = zero && p[i] == 0x00;
        ones = ones && p[i] == 0xFF;
    }
    return zero || ones;
}

/* ------------------------------------------------------------ counts, nonce */

static void check_counts(struct check *c)
{
    if (c->ng != c->opt->gpus) {
        finding(c, DGA_E_TOPOLOGY_GPU_COUNT, "GPUs attested: %zu, expected %zu", c->ng,
                c->opt->gpus);
    }
    if (c->ns != c->opt->switches) {
        finding(c, DGA_E_TOPOLOGY_SWITCH_COUNT, "NVSwitches attested: %zu, expected %zu", c->ns,
                c->opt->switches);
    }
}

static void nonce_finding(struct check *c, const char *label, const uint8_t *nonce)
{
    char got[2 * DGA_NONCE_LEN + 1], want[2 * DGA_NONCE_LEN + 1];
    dga_hex_encode(nonce, DGA_NONCE_LEN, got);
    dga_hex_encode(c->opt->nonce, DGA_NONCE_LEN, want);
    finding(c, DGA_E_TOPOLOGY_NONCE, "%s reports nonce %s, the set's nonce is %s", label, got,
            want);
}

static void check_nonce(struct check *c)
{
    for (size_t i = 0; i < c->ng; i++) {
        if (!dga_mem_equal(c->g[i].nonce, c->opt->nonce, DGA_NONCE_LEN)) {
            nonce_finding(c, c->g[i].label, c->g[i].nonce);
        }
    }
    for (size_t j = 0; j < c->ns; j++) {
        if (!dga_mem_equal(c->s[j].nonce, c->opt->nonce, DGA_NONCE_LEN)) {
            nonce_finding(c, c->s[j].label, c->s[j].nonce);
        }
    }
}

/* ------------------------------------------------------------ GPU mode */

enum gpu_kind { KIND_PPCIE, KIND_CC, KIND_INCONSISTENT };

static enum gpu_kind gpu_kind(const struct dga_topology_gpu *g)
{
    bool ff_ppcie = g->has_feature_flag && g->feature_flag == FEATURE_FLAG_PPCIE;
    bool positive = g->protected_pcie == 1 || ff_ppcie;
    bool negative =
        (g->protected_pcie != 1 && g->protected_pcie != -1) || (g->has_feature_flag && !ff_ppcie);
    if (!positive) {
        return KIND_CC;
    }
    return !negative && g->has_switch_pdis ? KIND_PPCIE : KIND_INCONSISTENT;
}

static void describe_mode(const struct dga_topology_gpu *g, char *out, size_t cap)
{
    char ff[24] = "absent";
    if (g->has_feature_flag) {
        snprintf(ff, sizeof ff, "%llu", (unsigned long long)g->feature_flag);
    }
    const char *status = g->protected_pcie == 1    ? "0xAA"
                         : g->protected_pcie == 0  ? "0x55"
                         : g->protected_pcie == -1 ? "absent"
                                                   : "invalid";
    snprintf(out, cap, "protected PCIe status %s, feature flag %s, %s", status, ff,
             g->has_switch_pdis ? "switch PDIs present" : "no switch PDIs");
}

static void check_mode(struct check *c)
{
    size_t n_ppcie = 0;
    for (size_t i = 0; i < c->ng; i++) {
        n_ppcie += gpu_kind(&c->g[i]) == KIND_PPCIE;
    }
    for (size_t i = 0; i < c->ng; i++) {
        char why[128];
        enum gpu_kind k = gpu_kind(&c->g[i]);
        describe_mode(&c->g[i], why, sizeof why);
        if (k == KIND_INCONSISTENT) {
            finding(c, DGA_E_TOPOLOGY_GPU_MODE, "%s mode signals disagree (%s)", c->g[i].label,
                    why);
        } else if (k == KIND_CC && n_ppcie > 0) {
            finding(c, DGA_E_TOPOLOGY_MIXED_MODE, "%s is CC-only (%s) among %zu PPCIe GPUs",
                    c->g[i].label, why, n_ppcie);
        } else if (k == KIND_CC) {
            finding(c, DGA_E_TOPOLOGY_GPU_MODE, "%s is not in PPCIe mode (%s)", c->g[i].label, why);
        }
    }
}

/* ------------------------------------------------------------ GPU side (NVIDIA) */

static bool gpu_links_to(const struct dga_topology_gpu *g, const uint8_t *pdi)
{
    for (size_t k = 0; k < g->n_switches; k++) {
        if (pdi_eq(g->switches[k].pdi, pdi)) {
            return true;
        }
    }
    return false;
}

/* The first switch of a that b does not link to, or NULL when a is a subset of b. */
static const uint8_t *switch_not_in(const struct dga_topology_gpu *a,
                                    const struct dga_topology_gpu *b)
{
    for (size_t k = 0; k < a->n_switches; k++) {
        if (!gpu_links_to(b, a->switches[k].pdi)) {
            return a->switches[k].pdi;
        }
    }
    return NULL;
}

static void check_gpu_side(struct check *c)
{
    char h[HEX_PDI];
    for (size_t i = 0; i < c->ng; i++) {
        const struct dga_topology_gpu *g = &c->g[i];
        if (g->n_switches != c->opt->switches) {
            finding(c, DGA_E_TOPOLOGY_GPU_SWITCH_COUNT,
                    "%s links to %zu distinct NVSwitches, expected %zu", g->label, g->n_switches,
                    c->opt->switches);
            continue;
        }
        if (i == 0) {
            continue;
        }
        const uint8_t *extra = switch_not_in(g, &c->g[0]);
        const uint8_t *missing = switch_not_in(&c->g[0], g);
        if (extra != NULL) {
            finding(c, DGA_E_TOPOLOGY_GPU_SWITCH_SET, "%s links to NVSwitch PDI 0x%s, %s does not",
                    g->label, hex(extra, h), c->g[0].label);
        } else if (missing != NULL) {
            finding(c, DGA_E_TOPOLOGY_GPU_SWITCH_SET,
                    "%s does not link to NVSwitch PDI 0x%s, %s does", g->label, hex(missing, h),
                    c->g[0].label);
        }
    }
}

/* ------------------------------------------------------------ NVSwitch side (NVIDIA) */

static bool listed(const uint8_t (*list)[DGA_PDI_LEN], size_t n, const uint8_t *pdi)
{
    for (size_t k = 0; k < n; k++) {
        if (pdi_eq(list[k], pdi)) {
            return true;
        }
    }
    return false;
}

static size_t distinct_gpus(const struct dga_topology_switch *s)
{
    size_t n = 0;
    for (size_t k = 0; k < DGA_TOPOLOGY_SWITCH_GPUS; k++) {
        n += !listed(s->gpu_pdis, k, s->gpu_pdis[k]);
    }
    return n;
}

/* Set equality of two switches' GPU PDIs: the first entry of a that b lacks, or NULL. */
static const uint8_t *gpu_not_in(const struct dga_topology_switch *a,
                                 const struct dga_topology_switch *b)
{
    for (size_t k = 0; k < DGA_TOPOLOGY_SWITCH_GPUS; k++) {
        if (!listed(b->gpu_pdis, DGA_TOPOLOGY_SWITCH_GPUS, a->gpu_pdis[k])) {
            return a->gpu_pdis[k];
        }
    }
    return NULL;
}

static void check_own_pdi(struct check *c, const struct dga_topology_switch *s)
{
    char h[HEX_PDI];
    if (!s->has_pdi) {
        finding(c, DGA_E_TOPOLOGY_SWITCH_UNKNOWN, "%s reports no PDI of its own (TLV 22)",
                s->label);
    } else if (c->ng == 0 || !gpu_links_to(&c->g[0], s->pdi)) {
        finding(c, DGA_E_TOPOLOGY_SWITCH_UNKNOWN,
                "%s has PDI 0x%s, which is not an NVSwitch %s links to", s->label, hex(s->pdi, h),
                c->ng > 0 ? c->g[0].label : "any GPU");
    }
}

/* The first switch with GPU PDIs: the reference set (NVIDIA's unique_gpus). */
static const struct dga_topology_switch *first_with_gpus(const struct check *c)
{
    for (size_t j = 0; j < c->ns; j++) {
        if (c->s[j].has_gpu_pdis) {
            return &c->s[j];
        }
    }
    return NULL;
}

static void check_switch_gpus(struct check *c, const struct dga_topology_switch *s)
{
    char h[HEX_PDI];
    const struct dga_topology_switch *ref = first_with_gpus(c);
    if (!s->has_gpu_pdis) {
        finding(c, DGA_E_TOPOLOGY_SWITCH_GPU_COUNT, "%s names no GPUs (TLV 26)", s->label);
        return;
    }
    size_t n = distinct_gpus(s);
    if (n != c->opt->gpus) {
        finding(c, DGA_E_TOPOLOGY_SWITCH_GPU_COUNT, "%s names %zu distinct GPUs, expected %zu",
                s->label, n, c->opt->gpus);
        return;
    }
    const uint8_t *extra = ref != s ? gpu_not_in(s, ref) : NULL;
    const uint8_t *missing = ref != s ? gpu_not_in(ref, s) : NULL;
    if (extra != NULL) {
        finding(c, DGA_E_TOPOLOGY_SWITCH_GPU_SET, "%s names GPU PDI 0x%s, %s does not", s->label,
                hex(extra, h), ref->label);
    } else if (missing != NULL) {
        finding(c, DGA_E_TOPOLOGY_SWITCH_GPU_SET, "%s does not name GPU PDI 0x%s, %s does",
                s->label, hex(missing, h), ref->label);
    }
}

static void check_switch_side(struct check *c)
{
    for (size_t j = 0; j < c->ns; j++) {
        check_own_pdi(c, &c->s[j]);
        check_switch_gpus(c, &c->s[j]);
    }
}

/* ------------------------------------------------------------ stricter NVSwitch rules */

static void check_distinct_switches(struct check *c, size_t j)
{
    char h[HEX_PDI];
    for (size_t k = 0; k < j; k++) {
        if (c->s[j].has_pdi && c->s[k].has_pdi && pdi_eq(c->s[j].pdi, c->s[k].pdi)) {
            finding(c, DGA_E_TOPOLOGY_SWITCH_DUPLICATE, "%s has PDI 0x%s, as %s does",
                    c->s[j].label, hex(c->s[j].pdi, h), c->s[k].label);
            return;
        }
    }
}

static void check_invalid_gpu_pdis(struct check *c, const struct dga_topology_switch *s)
{
    char h[HEX_PDI];
    for (size_t k = 0; s->has_gpu_pdis && k < DGA_TOPOLOGY_SWITCH_GPUS; k++) {
        if (pdi_invalid(s->gpu_pdis[k])) {
            finding(c, DGA_E_TOPOLOGY_GPU_PDI_INVALID, "%s names GPU PDI 0x%s (entry %zu)",
                    s->label, hex(s->gpu_pdis[k], h), k);
        }
    }
}

static void check_position(struct check *c, size_t j)
{
    const struct dga_topology_switch *s = &c->s[j];
    if (s->position < 0 || (size_t)s->position >= c->opt->switches) {
        char pos[16] = "absent";
        if (s->position >= 0) {
            snprintf(pos, sizeof pos, "%d", s->position);
        }
        finding(c, DGA_E_TOPOLOGY_SWITCH_POSITION, "%s position (TLV 24) is %s, expected 0..%zu",
                s->label, pos, c->opt->switches > 0 ? c->opt->switches - 1 : 0);
        return;
    }
    for (size_t k = 0; k < j; k++) {
        if (c->s[k].position == s->position) {
            finding(c, DGA_E_TOPOLOGY_SWITCH_POSITION, "%s has position %d, as %s does", s->label,
                    s->position, c->s[k].label);
            return;
        }
    }
}

/* Exactly the locked values: never a bit test, which would take -1 (unknown) as locked. */
static void check_lock(struct check *c, const struct dga_topology_switch *s)
{
    if (s->lock != DGA_TOPOLOGY_SWITCH_LOCKED) {
        char v[16] = "absent";
        if (s->lock >= 0) {
            snprintf(v, sizeof v, "%d", s->lock);
        }
        finding(c, DGA_E_TOPOLOGY_SWITCH_LOCK, "%s signed lock status (TLV 25) is %s, expected %d",
                s->label, v, DGA_TOPOLOGY_SWITCH_LOCKED);
    }
    if (s->has_tnvl && s->tnvl != DGA_TOPOLOGY_TNVL_LOCKED) {
        finding(c, DGA_E_TOPOLOGY_SWITCH_LOCK, "%s NSCQ pcie_mode is %d, expected %d (LOCKED)",
                s->label, s->tnvl, DGA_TOPOLOGY_TNVL_LOCKED);
    } else if (!s->has_tnvl && c->opt->require_tnvl) {
        finding(c, DGA_E_TOPOLOGY_SWITCH_LOCK, "%s NSCQ pcie_mode was not collected", s->label);
    }
}

static void check_strict(struct check *c)
{
    for (size_t j = 0; j < c->ns; j++) {
        check_distinct_switches(c, j);
        check_invalid_gpu_pdis(c, &c->s[j]);
        check_position(c, j);
        check_lock(c, &c->s[j]);
    }
}

/* ------------------------------------------------------------ certificate PDIs */

static bool is_attested_gpu(const struct check *c, const uint8_t *pdi)
{
    for (size_t i = 0; i < c->ng; i++) {
        if (c->g[i].has_cert_pdi && pdi_eq(c->g[i].cert_pdi, pdi)) {
            return true;
        }
    }
    return false;
}

static bool named_by_switch(const struct check *c, size_t before, const uint8_t *pdi)
{
    for (size_t j = 0; j < before; j++) {
        if (c->s[j].has_gpu_pdis && listed(c->s[j].gpu_pdis, DGA_TOPOLOGY_SWITCH_GPUS, pdi)) {
            return true;
        }
    }
    return false;
}

static void check_gpu_cert_pdis(struct check *c)
{
    char h[HEX_PDI];
    for (size_t i = 0; i < c->ng; i++) {
        const struct dga_topology_gpu *g = &c->g[i];
        if (!g->has_cert_pdi) {
            finding(c, DGA_E_TOPOLOGY_GPU_CERT_PDI, "%s certificate names no PDI", g->label);
            continue;
        }
        if (pdi_invalid(g->cert_pdi)) {
            finding(c, DGA_E_TOPOLOGY_GPU_PDI_INVALID, "%s certificate names PDI 0x%s", g->label,
                    hex(g->cert_pdi, h));
        }
        for (size_t k = 0; k < i; k++) {
            if (c->g[k].has_cert_pdi && pdi_eq(c->g[k].cert_pdi, g->cert_pdi)) {
                finding(c, DGA_E_TOPOLOGY_GPU_CERT_PDI, "%s certificate names PDI 0x%s, as %s does",
                        g->label, hex(g->cert_pdi, h), c->g[k].label);
                break;
            }
        }
    }
}

static void check_cert_relation(struct check *c)
{
    char h[HEX_PDI];
    check_gpu_cert_pdis(c);
    for (size_t j = 0; j < c->ns; j++) {
        const struct dga_topology_switch *s = &c->s[j];
        for (size_t k = 0; s->has_gpu_pdis && k < DGA_TOPOLOGY_SWITCH_GPUS; k++) {
            const uint8_t *p = s->gpu_pdis[k];
            if (!is_attested_gpu(c, p) && !listed(s->gpu_pdis, k, p) && !named_by_switch(c, j, p)) {
                finding(c, DGA_E_TOPOLOGY_UNKNOWN_GPU,
                        "%s names GPU PDI 0x%s that no attested GPU has", s->label, hex(p, h));
            }
        }
    }
    for (size_t i = 0; i < c->ng; i++) {
        const struct dga_topology_gpu *g = &c->g[i];
        if (g->has_cert_pdi && !named_by_switch(c, c->ns, g->cert_pdi)) {
            finding(c, DGA_E_TOPOLOGY_GPU_UNLISTED,
                    "%s (PDI 0x%s in its certificate) is named by no NVSwitch", g->label,
                    hex(g->cert_pdi, h));
        }
    }
}

dga_err dga_topology_check(const struct dga_topology_gpu *gpus, size_t n_gpus,
                           const struct dga_topology_switch *switches, size_t n_switches,
                           const struct dga_topology_options *opt, struct dga_topology_result *ret)
{
    if ((gpus == NULL && n_gpus > 0) || (switches == NULL && n_switches > 0) || opt == NULL ||
        ret == NULL || n_gpus > DGA_MAX_DEVICES || n_switches > DGA_MAX_DEVICES) {
        return DGA_E_BAD_ARGUMENT;
    }
    memset(ret, 0, sizeof *ret);
    ret->pass = true;
    struct check c = {gpus, n_gpus, switches, n_switches, opt, ret};
    check_counts(&c);
    check_nonce(&c);
    check_mode(&c);
    check_gpu_side(&c);
    check_switch_side(&c);
    check_strict(&c);
    if (opt->gpu_pdi_in_cert) {
        check_cert_relation(&c);
    }
    return DGA_E_OK;
}
