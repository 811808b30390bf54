/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A device's own PDI from its BROM certificate (docs/ppcie.md). NVIDIA
 * documents no such field and no NVIDIA verifier reads it; it is the only
 * place a GPU's own PDI appears in its evidence (the GPU report names its
 * switches, never itself), and the PPCIe topology check needs it to tie the
 * GPUs the NVSwitches name to the GPUs that were attested. Anything but the
 * exact pattern reads as "no PDI": the topology check then refuses the GPU.
 */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "dga/util.h"
#include "dga/x509.h"

#define PDI_PREFIX_GPU 0x41
#define PDI_PREFIX_SWITCH 0x50
#define SERIAL_LEN (1 + DGA_PDI_LEN)

/* The subject's serialNumber: exactly one, exactly 18 upper-case hex digits. */
static bool subject_serial(X509 *x, uint8_t out[SERIAL_LEN])
{
    const X509_NAME *name = X509_get_subject_name(x);
    int at = X509_NAME_get_index_by_NID(name, NID_serialNumber, -1);
    if (at < 0 || X509_NAME_get_index_by_NID(name, NID_serialNumber, at) >= 0) {
        return false;
    }
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
    if (s == NULL || ASN1_STRING_length(s) != 2 * SERIAL_LEN) {
        return false;
    }
    char text[2 * SERIAL_LEN + 1];
    memcpy(text, ASN1_STRING_get0_data(s), 2 * SERIAL_LEN);
    text[2 * SERIAL_LEN] = '\0';
    for (size_t i = 0; i < 2 * SERIAL_LEN; i++) {
        if (text[i] >= 'a' && text[i] <= 'f') {
            return false;
        }
    }
    return dga_hex_decode_exact(text, out, SERIAL_LEN) == DGA_E_OK;
}

/* The certificate's serial number is the same 9 bytes (a positive INTEGER). */
static bool serial_matches(X509 *x, const uint8_t want[SERIAL_LEN])
{
    const ASN1_INTEGER *n = X509_get0_serialNumber(x);
    return n != NULL && ASN1_STRING_type(n) == V_ASN1_INTEGER &&
           ASN1_STRING_length(n) == SERIAL_LEN &&
           memcmp(ASN1_STRING_get0_data(n), want, SERIAL_LEN) == 0;
}

dga_err dga_cert_device_pdi(X509 *brom, enum dga_arch arch, bool *present, uint8_t out[DGA_PDI_LEN])
{
    if (brom == NULL || present == NULL || out == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    uint8_t serial[SERIAL_LEN];
    uint8_t prefix = dga_arch_is_switch(arch) ? PDI_PREFIX_SWITCH : PDI_PREFIX_GPU;
    *present = subject_serial(brom, serial) && serial[0] == prefix && serial_matches(brom, serial);
    if (*present) {
        memcpy(out, serial + 1, DGA_PDI_LEN);
    }
    return DGA_E_OK;
}
