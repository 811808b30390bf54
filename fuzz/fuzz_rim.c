/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the RIM layer: dga_rim_parse (libxml2 with the DTD,
 * entity and structure checks, attribute and certificate decoding) and, when
 * it succeeds, the XML-DSig profile, both canonicalizations and the
 * signature with certificate 0, then the signing chain to the compiled-in
 * CoRIM root at a fixed time. Seed corpus: every tests/fixtures/ XML file.
 */
#include <stddef.h>
#include <stdint.h>

#include "dga/rim.h"
#include "dga/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2026-06-01T00:00:00Z: a fixed time, never the wall clock. */
#define FUZZ_TIME ((time_t)1780272000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dga_trust trust;
    static bool trust_loaded;
    struct dga_rim *rim = NULL;
    struct dga_diag diag = {0};
    if (!trust_loaded) {
        trust_loaded = dga_trust_nvidia_rim(&trust) == DGA_E_OK;
    }
    if (dga_rim_parse(data, size, &rim, &diag) != DGA_E_OK) {
        return 0;
    }
    for (unsigned i = 0; i < DGA_RIM_MAX_MEASUREMENTS; i++) {
        (void)dga_rim_active(rim, i);
    }
    if (sk_X509_num(rim->certs) > 0) {
        (void)dga_rim_signature_verify(rim, sk_X509_value(rim->certs, 0), &diag);
    }
    if (trust_loaded) {
        struct dga_chain_info info;
        (void)dga_rim_chain_verify(rim, &trust, FUZZ_TIME, &info, &diag);
    }
    dga_rim_free(rim);
    return 0;
}
