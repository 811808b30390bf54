/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the policy layer: dga_policy_parse on the input and,
 * when it succeeds, dga_policy_evaluate over a small fixed claims array that
 * reaches every check (a good GPU, a GPU with a revoked driver RIM chain and
 * measurement mismatches, an NVSwitch with an expired chain and OCSP not
 * checked, and a device of no known type), then dga_verdict_json. The input
 * is also read as claims under the built-in default: a JSON array, or the
 * "claims" array of an nvattest output object. Seed corpus: the .json files
 * of tests/fixtures/policies and tests/fixtures/dstack/nvattest_output_h100.json.
 */
#include <stddef.h>
#include <stdint.h>

#include "dga/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHAIN_GOOD                                                                                 \
    "{\"x-nvidia-cert-status\": \"valid\", \"x-nvidia-cert-ocsp-status\": \"good\","               \
    " \"x-nvidia-cert-revocation-reason\": null, \"x-nvidia-cert-ocsp-nonce-matches\": true,"      \
    " \"x-nvidia-cert-ocsp-response-valid\": true}"
#define CHAIN_REVOKED                                                                              \
    "{\"x-nvidia-cert-status\": \"valid\", \"x-nvidia-cert-ocsp-status\": \"revoked\","            \
    " \"x-nvidia-cert-revocation-reason\": \"certificateHold\","                                   \
    " \"x-nvidia-cert-ocsp-nonce-matches\": false, \"x-nvidia-cert-ocsp-response-valid\": true}"
#define CHAIN_NOT_CHECKED                                                                          \
    "{\"x-nvidia-cert-status\": \"expired\", \"x-nvidia-cert-ocsp-status\": \"not-checked\","      \
    " \"x-nvidia-cert-revocation-reason\": null}"
#define GPU_REPORT(p)                                                                              \
    "\"" p "attestation-report-parsed\": true, \"" p                                               \
    "attestation-report-nonce-match\": true, \"" p                                                 \
    "attestation-report-signature-verified\": true, \"" p                                          \
    "attestation-report-cert-chain-fwid-match\": true"

static const char claims_text[] =
    "[{\"x-nvidia-device-type\": \"gpu\", \"measres\": \"success\", \"secboot\": true,"
    " \"dbgstat\": \"disabled\", \"hwmodel\": \"GH100 A01 GSP BROM\","
    " \"x-nvidia-gpu-driver-version\": \"580.159.03\", \"x-nvidia-gpu-vbios-version\":"
    " \"96.00.D9.00.01\", \"x-dstack-gpu-mode\": \"ppcie\","
    " \"x-nvidia-gpu-attestation-report-cert-chain\": " CHAIN_GOOD ","
    " \"x-nvidia-gpu-driver-rim-cert-chain\": " CHAIN_GOOD ","
    " \"x-nvidia-gpu-vbios-rim-cert-chain\": " CHAIN_GOOD ", " GPU_REPORT(
        "x-nvidia-gpu-") "},"
                         " {\"x-nvidia-device-type\": \"gpu\", \"measres\": \"fail\", \"secboot\": "
                         "null,"
                         " \"dbgstat\": null, \"hwmodel\": \"GH100 A01 GSP BROM\","
                         " \"x-nvidia-mismatch-measurement-records\": [{\"index\": 7, "
                         "\"measurementSource\":"
                         " \"Driver\"}, {\"index\": 9, \"measurementSource\": \"Firmware\"}, "
                         "{\"index\": 300}],"
                         " \"x-nvidia-gpu-driver-version\": \"570.124.06\","
                         " \"x-nvidia-gpu-attestation-report-cert-chain\": " CHAIN_GOOD ","
                         " \"x-nvidia-gpu-driver-rim-cert-chain\": " CHAIN_REVOKED ","
                         " \"x-nvidia-gpu-vbios-rim-cert-chain\": " CHAIN_NOT_CHECKED ","
                         " " GPU_REPORT(
                             "x-nvidia-gpu-") "},"
                                              " {\"x-nvidia-device-type\": \"nvswitch\", "
                                              "\"measres\": \"success\", \"secboot\": true,"
                                              " \"dbgstat\": \"enabled\", \"hwmodel\": \"LS_10 A01 "
                                              "FSP BROM\","
                                              " \"x-nvidia-switch-bios-version\": "
                                              "\"96.10.6D.00.01\","
                                              " \"x-nvidia-switch-attestation-report-cert-chain\":"
                                              " " CHAIN_GOOD ","
                                              " \"x-nvidia-switch-bios-rim-cert-chain\":"
                                              " " CHAIN_NOT_CHECKED ","
                                              " " GPU_REPORT(
                                                  "x-nvidia-switch-") "},"
                                                                      " {\"x-nvidia-device-type\": "
                                                                      "\"cpu\"}, 42]";

static void evaluate(const struct dga_policy *p, const json_t *claims)
{
    struct dga_verdict v;
    if (dga_policy_evaluate(p, claims, &v) == DGA_E_OK) {
        json_decref(dga_verdict_json(&v));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *claims;
    static struct dga_policy *builtin;
    struct dga_policy *p = NULL;
    json_t *as_claims;
    if (claims == NULL) {
        claims = json_loads(claims_text, 0, NULL);
        (void)dga_policy_default(&builtin);
    }
    if (dga_policy_parse((const char *)data, size, &p, NULL) == DGA_E_OK) {
        uint8_t sha[32];
        dga_policy_sha256(p, sha);
        (void)dga_policy_source(p);
        (void)dga_policy_attest_gpu(p);
        (void)dga_policy_allow_devtools(p);
        if (claims != NULL) {
            evaluate(p, claims);
        }
        dga_policy_free(p);
    }
    as_claims = json_loadb((const char *)data, size, 0, NULL);
    if (builtin != NULL && json_is_array(as_claims)) {
        evaluate(builtin, as_claims);
    } else if (builtin != NULL && json_is_object(as_claims)) {
        evaluate(builtin, json_object_get(as_claims, "claims"));
    }
    json_decref(as_claims);
    return 0;
}
