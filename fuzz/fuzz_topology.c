/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the PPCIe topology views and checker. The input is raw
 * opaque data (what follows OpaqueLength in a MEASUREMENTS response), parsed
 * as an NVSwitch's (TLV 22 own PDI, 24 position, 25 lock status, 26 GPU PDIs)
 * and as a GPU's (TLV 21/36 mode, 22 switch PDIs). The views that come out
 * go to the checker as a set of up to 8 GPUs and 4 NVSwitches (counts and
 * options from the first byte), and the result to JSON.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dga/error.h"
#include "dga/evidence.h"
#include "dga/topology.h"
#include "evidence/testing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dga_report report;
static struct dga_topology_gpu gpus[8];
static struct dga_topology_switch switches[4];
static struct dga_topology_result result;

/* One view per kind from the input; copies make the set, each a little different. */
static void make_views(const uint8_t *data, size_t size, size_t *ng, size_t *ns)
{
    memset(&report, 0, sizeof report);
    report.arch = DGA_ARCH_LS10;
    if (dga_opaque_parse(data, size, 0, DGA_ARCH_LS10, &report.opaque, NULL) == DGA_E_OK &&
        dga_topology_switch_view(&report, NULL, &switches[0], NULL) == DGA_E_OK) {
        for (*ns = 1; *ns < 4; (*ns)++) {
            switches[*ns] = switches[0];
            switches[*ns].position = (int)*ns;
        }
    }
    memset(&report, 0, sizeof report);
    report.arch = DGA_ARCH_HOPPER;
    if (dga_opaque_parse(data, size, 0, DGA_ARCH_HOPPER, &report.opaque, NULL) == DGA_E_OK &&
        dga_topology_gpu_view(&report, NULL, &gpus[0], NULL) == DGA_E_OK) {
        for (*ng = 1; *ng < 8; (*ng)++) {
            gpus[*ng] = gpus[0];
            gpus[*ng].has_cert_pdi = *ns > 0;
            memcpy(gpus[*ng].cert_pdi, switches[0].gpu_pdis[*ng], DGA_PDI_LEN);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t ng = 0, ns = 0;
    make_views(data, size, &ng, &ns);
    struct dga_topology_options opt;
    memset(&opt, 0, sizeof opt);
    uint8_t knobs = size > 0 ? data[0] : 0;
    opt.gpus = knobs & 0x0F;
    opt.switches = (knobs >> 4) & 0x07;
    opt.gpu_pdi_in_cert = (knobs & 0x80) != 0;
    opt.require_tnvl = (knobs & 0x01) != 0;
    if (dga_topology_check(gpus, ng, switches, ns, &opt, &result) == DGA_E_OK) {
        json_decref(dga_topology_json(gpus, ng, switches, ns, &opt, &result));
    }
    return 0;
}
