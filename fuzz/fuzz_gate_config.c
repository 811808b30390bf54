/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the gate's configuration file: dga_gate_config_parse
 * on the input and, when it succeeds, what the gate derives from it before
 * any I/O: the RFC 8785 form of gpu_policy (gpu-policy-hash) and a
 * gpu-attestation payload. Seed corpus: the JSON files in tests/gate/configs and
 * systemd/gate*.example.json.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dga/gate.h"
#include "dga/measure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dga_gate_config *c = NULL;
    if (dga_gate_config_parse((const char *)data, size, &c, NULL) != DGA_E_OK) {
        return 0;
    }
    char *jcs = NULL;
    size_t len = 0;
    if (dga_jcs_encode(c->gpu_policy, &jcs, &len, NULL) == DGA_E_OK) {
        free(jcs);
    }
    struct dga_gate_event_fields f = {
        .devices = c->event_version, .cc_mode = "on", .test_roots = c->test_device_root != NULL};
    char *payload = NULL;
    if (dga_gate_event_payload(&f, &payload, &len) == DGA_E_OK) {
        free(payload);
    }
    dga_gate_config_free(c);
    return 0;
}
