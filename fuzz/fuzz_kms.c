/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the KMS webhook's two untrusted inputs (docs/kms.md):
 * the first byte selects. 0: the rest is a request body, parsed as BootInfo
 * and, when it parses, decided on both endpoints against a fixed
 * configuration with GPU rules (so the forwarded gpu-attestation payload is
 * parsed too). 1: the rest is a configuration, parsed and, when it parses,
 * deciding a fixed request that forwards a GPU payload on both endpoints.
 * Seeds (fuzz/run-smoke.sh): docs/auth-config.example.json and requests
 * built from it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dga/kms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char config_text[] =
    "{\"osImages\":[\"0x11\"],\"allowedAdvisoryIds\":[\"A\"],\"kms\":{\"mrAggregated\":[\"ee\"],"
    "\"devices\":[\"dd\"],\"gpu\":{\"required\":true,\"nvswitches\":{\"min\":0},"
    "\"trustRoots\":[\"nvidia\",\"test\"]}},\"apps\":{\"0xAA\":{\"composeHashes\":[\"cc\"],"
    "\"gpu\":{\"required\":true,\"gpus\":{\"exact\":1},\"gpuPolicyHashes\":[\"5555555555555555"
    "555555555555555555555555555555555555555555555555\"]}}}}";

static const char request_text[] =
    "{\"mrAggregated\":\"ee\",\"osImageHash\":\"11\",\"appId\":\"aa\",\"composeHash\":\"cc\","
    "\"instanceId\":\"\",\"deviceId\":\"dd\",\"tcbStatus\":\"UpToDate\",\"advisoryIds\":[],"
    "\"gpuPolicyHash\":\"5555555555555555555555555555555555555555555555555555555555555555\","
    "\"gpuAttestation\":\"{\\\"version\\\":2,\\\"provider\\\":\\\"nvidia\\\",\\\"devices\\\":1,"
    "\\\"cc_mode\\\":\\\"on\\\",\\\"devtools\\\":false,\\\"evidence_sha256\\\":\\\"9999999999999999"
    "999999999999999999999999999999999999999999999999\\\"}\"}";

static void decide_both(const struct dga_kms_config *c, const struct dga_kms_boot_info *b)
{
    struct dga_kms_decision d;
    dga_kms_decide(c, DGA_KMS_BOOT_APP, b, &d);
    dga_kms_decide(c, DGA_KMS_BOOT_KMS, b, &d);
}

static void fuzz_request(const uint8_t *data, size_t size)
{
    struct dga_kms_config c = {0};
    if (dga_kms_config_parse(config_text, strlen(config_text), &c, NULL, NULL, 0) != DGA_E_OK) {
        __builtin_trap(); /* the fixed configuration must parse */
    }
    struct dga_kms_boot_info b = {0};
    char msg[128];
    if (dga_kms_boot_info_parse(data, size, &b, NULL, msg, sizeof msg) == DGA_E_OK) {
        decide_both(&c, &b);
        dga_kms_boot_info_clear(&b);
    }
    dga_kms_config_clear(&c);
}

static void fuzz_config(const uint8_t *data, size_t size)
{
    struct dga_kms_config c = {0};
    char msg[DGA_KMS_REASON_LEN];
    if (dga_kms_config_parse((const char *)data, size, &c, NULL, msg, sizeof msg) != DGA_E_OK) {
        return;
    }
    struct dga_kms_boot_info b = {0};
    if (dga_kms_boot_info_parse((const uint8_t *)request_text, strlen(request_text), &b, NULL, NULL,
                                0) != DGA_E_OK) {
        __builtin_trap(); /* the fixed request must parse */
    }
    decide_both(&c, &b);
    dga_kms_boot_info_clear(&b);
    dga_kms_config_clear(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if (data[0] == 0) {
        fuzz_request(data + 1, size - 1);
    } else if (data[0] == 1) {
        fuzz_config(data + 1, size - 1);
    }
    return 0;
}
