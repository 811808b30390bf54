/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The topology check as JSON (docs/ppcie.md): who links to whom, as each
 * device's signed report says it, resolved against the attested devices,
 * with the expected and seen counts and every finding.
 */
#include <string.h>

#include "dga/topology.h"
#include "dga/util.h"

#define HEX_PDI (2 * DGA_PDI_LEN + 1)

static json_t *pdi_json(const uint8_t *pdi)
{
    char h[HEX_PDI];
    dga_hex_encode(pdi, DGA_PDI_LEN, h);
    return json_string(h);
}

/* The attested switch with this own PDI (first one), as its label, or null. */
static json_t *switch_named(const struct dga_topology_switch *s, size_t n, const uint8_t *pdi)
{
    for (size_t j = 0; j < n; j++) {
        if (s[j].has_pdi && memcmp(s[j].pdi, pdi, DGA_PDI_LEN) == 0) {
            return json_string(s[j].label);
        }
    }
    return json_null();
}

/* The attested GPU whose certificate names this PDI (first one), as its label, or null. */
static json_t *gpu_named(const struct dga_topology_gpu *g, size_t n, const uint8_t *pdi)
{
    for (size_t i = 0; i < n; i++) {
        if (g[i].has_cert_pdi && memcmp(g[i].cert_pdi, pdi, DGA_PDI_LEN) == 0) {
            return json_string(g[i].label);
        }
    }
    return json_null();
}

static json_t *status_json(int v)
{
    return v < 0 ? json_null() : json_integer(v);
}

static json_t *gpu_json(const struct dga_topology_gpu *g, const struct dga_topology_switch *s,
                        size_t ns)
{
    json_t *links = json_array();
    for (size_t k = 0; links != NULL && k < g->n_switches; k++) {
        json_array_append_new(links, json_pack("{s:o,s:I,s:o}", "pdi", pdi_json(g->switches[k].pdi),
                                               "links", (json_int_t)g->switches[k].links, "switch",
                                               switch_named(s, ns, g->switches[k].pdi)));
    }
    json_t *pp = g->protected_pcie < 0 ? json_null() : json_boolean(g->protected_pcie == 1);
    json_t *ff = g->has_feature_flag ? json_integer((json_int_t)g->feature_flag) : json_null();
    return json_pack("{s:s,s:o,s:o,s:o,s:I,s:o}", "label", g->label, "pdi",
                     g->has_cert_pdi ? pdi_json(g->cert_pdi) : json_null(), "protected_pcie", pp,
                     "feature_flag", ff, "nvlinks", (json_int_t)g->n_links, "switches", links);
}

static json_t *switch_json(const struct dga_topology_switch *s, const struct dga_topology_gpu *g,
                           size_t ng)
{
    json_t *gpus = json_array();
    for (size_t k = 0; gpus != NULL && s->has_gpu_pdis && k < DGA_TOPOLOGY_SWITCH_GPUS; k++) {
        json_array_append_new(gpus, json_pack("{s:o,s:o}", "pdi", pdi_json(s->gpu_pdis[k]), "gpu",
                                              gpu_named(g, ng, s->gpu_pdis[k])));
    }
    return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "label", s->label, "pdi",
                     s->has_pdi ? pdi_json(s->pdi) : json_null(), "certificate_pdi",
                     s->has_cert_pdi ? pdi_json(s->cert_pdi) : json_null(), "position",
                     status_json(s->position), "lock_status", status_json(s->lock), "pcie_mode",
                     s->has_tnvl ? json_integer(s->tnvl) : json_null(), "gpus", gpus);
}

static json_t *findings_json(const struct dga_topology_result *res)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < res->n_findings; i++) {
        json_array_append_new(a, json_pack("{s:s,s:s}", "error", dga_err_name(res->findings[i].err),
                                           "text", res->findings[i].text));
    }
    return a;
}

json_t *dga_topology_json(const struct dga_topology_gpu *gpus, size_t n_gpus,
                          const struct dga_topology_switch *switches, size_t n_switches,
                          const struct dga_topology_options *opt,
                          const struct dga_topology_result *res)
{
    json_t *ga = json_array(), *sa = json_array();
    for (size_t i = 0; ga != NULL && i < n_gpus; i++) {
        json_array_append_new(ga, gpu_json(&gpus[i], switches, n_switches));
    }
    for (size_t j = 0; sa != NULL && j < n_switches; j++) {
        json_array_append_new(sa, switch_json(&switches[j], gpus, n_gpus));
    }
    json_t *out = json_pack("{s:s,s:{s:I,s:I},s:{s:I,s:I},s:{s:b,s:b,s:b},s:o,s:o,s:o}", "result",
                            res->pass ? "pass" : "fail", "expected", "gpus", (json_int_t)opt->gpus,
                            "switches", (json_int_t)opt->switches, "seen", "gpus",
                            (json_int_t)n_gpus, "switches", (json_int_t)n_switches, "rules",
                            "nvidia", 1, "strict", 1, "gpu_pdi_in_cert", opt->gpu_pdi_in_cert,
                            "gpus", ga, "switches", sa, "findings", findings_json(res));
    if (out != NULL && !res->pass) {
        json_object_set_new(out, "error", json_string(dga_err_name(res->err)));
    }
    return out;
}
