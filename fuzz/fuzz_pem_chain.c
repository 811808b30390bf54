/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the PEM chain parser and, when it yields five
 * certificates, the device chain verification (FWID DER parsing included).
 * Seed corpus: the certchain.pem files under tests/fixtures.
 */
#include <stddef.h>
#include <stdint.h>

#include "dga/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2024-06-01T00:00:00Z: a fixed time, never the wall clock. */
#define FUZZ_TIME ((time_t)1717200000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    STACK_OF(X509) *chain = NULL;
    struct dga_diag diag = {0};
    if (dga_pem_chain_parse((const char *)data, size, &chain, &diag) != DGA_E_OK) {
        return 0;
    }
    if (sk_X509_num(chain) == DGA_DEVICE_CHAIN_LEN) {
        struct dga_trust trust = {0};
        if (dga_trust_nvidia_device(&trust) == DGA_E_OK) {
            struct dga_chain_info info;
            static const enum dga_arch arches[] = {DGA_ARCH_HOPPER, DGA_ARCH_BLACKWELL,
                                                   DGA_ARCH_LS10};
            for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++) {
                (void)dga_device_chain_verify(chain, arches[i], &trust, FUZZ_TIME, &info, &diag);
            }
            dga_trust_clear(&trust);
        }
    }
    /* The FWID parsers see the leaf's extensions whatever the chain length. */
    bool present;
    uint8_t fwid[DGA_DIGEST_LEN];
    (void)dga_cert_fwid(sk_X509_value(chain, 0), DGA_ARCH_HOPPER, &present, fwid);
    (void)dga_cert_fwid(sk_X509_value(chain, 0), DGA_ARCH_BLACKWELL, &present, fwid);
    sk_X509_pop_free(chain, X509_free);
    return 0;
}
