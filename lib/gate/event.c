/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gpu-attestation payload: dstack's v2 fields in dstack's struct order
 * (dstack-util setup's struct; not JCS), then this project's own (docs/formats.md §16).
 * Readers that know only dstack's fields find them where they expect them.
 */
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "dga/gate.h"
#include "dga/util.h"

static int set_hex(json_t *o, const char *key, const uint8_t sha[32])
{
    char hex[65];
    dga_hex_encode(sha, 32, hex);
    return json_object_set_new(o, key, json_string(hex));
}

dga_err dga_gate_event_payload(const struct dga_gate_event_fields *f, char **ret, size_t *ret_len)
{
    if (f->cc_mode == NULL || f->ocsp == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    _cleanup_(json_decrefp) json_t *o = json_object();
    int bad = o == NULL;
    bad = bad || json_object_set_new(o, "version", json_integer(2)) != 0;
    bad = bad || json_object_set_new(o, "provider", json_string("nvidia")) != 0;
    bad = bad || json_object_set_new(o, "devices", json_integer((json_int_t)f->devices)) != 0;
    bad = bad || json_object_set_new(o, "cc_mode", json_string(f->cc_mode)) != 0;
    bad = bad || json_object_set_new(o, "devtools", json_boolean(f->devtools)) != 0;
    bad = bad || set_hex(o, "evidence_sha256", f->evidence_sha256) != 0;
    bad = bad || json_object_set_new(o, "nvswitches", json_integer((json_int_t)f->nvswitches)) != 0;
    bad = bad || set_hex(o, "policy_sha256", f->policy_sha256) != 0;
    bad = bad || set_hex(o, "gpu_policy_sha256", f->gpu_policy_sha256) != 0;
    if (f->has_rego) {
        bad = bad || set_hex(o, "rego_sha256", f->rego_sha256) != 0;
        bad = bad || set_hex(o, "rego_policy_sha256", f->rego_policy_sha256) != 0;
    }
    bad = bad || json_object_set_new(o, "trust_roots",
                                     json_string(f->test_roots ? "test" : "nvidia")) != 0;
    bad = bad || json_object_set_new(o, "ocsp", json_string(f->ocsp)) != 0;
    char *text = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        return DGA_E_NOMEM;
    }
    *ret_len = strlen(text);
    *ret = text;
    return DGA_E_OK;
}
