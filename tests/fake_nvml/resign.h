/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Re-signing recorded attestation reports for the fakes (tests/fake_nvml, tests/fake_nscq):
 * a device signs report[0 .. len-96) with ECDSA P-384/SHA-384 and appends the signature as raw
 * r||s (48 + 48 bytes, big-endian). The fakes patch a recorded report (the nonce, PDIs) and sign
 * it again with a test device key under the test root (tests/fixtures/testpki).
 */
#ifndef DGA_TESTS_FAKE_RESIGN_H
#define DGA_TESTS_FAKE_RESIGN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#define FAKE_SIG_LEN 96
#define FAKE_COORD_LEN 48

/* A PEM private key from path; NULL if it cannot be read. */
EVP_PKEY *fake_read_key(const char *path);

/* ECDSA P-384 / SHA-384 over msg[0 .. len) with key, as raw r||s into out. */
bool fake_sign_raw(EVP_PKEY *key, const unsigned char *msg, size_t len,
                   unsigned char out[FAKE_SIG_LEN]);

/* Signs report[0 .. len-96) in place into its last 96 bytes; false if len is too short. */
bool fake_resign(EVP_PKEY *key, unsigned char *report, size_t len);

#endif
