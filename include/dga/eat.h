/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Detached EAT tokens (docs/formats.md §12): an overall JWT
 * whose "submods" hold the SHA-256 of each per-device JWT, as libnvat and
 * NRAS produce them. Signed ES384 (JWS, raw r||s) with a P-384 key, built on
 * OpenSSL and jansson. Unsigned ("alg":"none") tokens only on explicit
 * request, and verification never accepts them.
 */
#ifndef DGA_EAT_H
#define DGA_EAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "dga/error.h"
#include "dga/evidence.h"

#define DGA_EAT_MAX_BYTES (1u << 20)
#define DGA_EAT_LIFETIME 3600 /* exp = iat + 3600, as libnvat */

struct dga_eat_options {
    EVP_PKEY *key;       /* P-384 private key; NULL only with allow_unsigned */
    bool allow_unsigned; /* build "alg":"none" tokens (marked so) when key is NULL */
    const char *kid;     /* header "kid" when not NULL */
    const char *issuer;  /* "iss"; NULL = "dstack-gpu-attest" */
    time_t iat;
    uint8_t nonce[DGA_NONCE_LEN]; /* eat_nonce of the overall token */
    bool overall_result;          /* x-nvidia-overall-att-result: NVIDIA's default appraisal */
    /*
     * The verdict of the policy actually applied (may differ from NVIDIA's
     * default), as "x-dstack-verdict": "pass"/"fail", with the policy's SHA-256
     * as "x-dstack-policy-sha256". NULL: neither is added.
     */
    const char *verdict;
    const uint8_t *policy_sha256; /* 32 bytes, with verdict */
};

#define DGA_EAT_KEY_FILE_MAX (64u << 10) /* bytes of a key's PEM text */

/*
 * A P-384 private key from PEM text (PKCS#8 or SEC1, never encrypted: no
 * passphrase is asked for). DGA_E_BAD_PEM when there is no private key in
 * it, DGA_E_BAD_ARGUMENT when the key is not EC P-384.
 */
dga_err dga_eat_key_from_pem(const char *pem, size_t len, EVP_PKEY **ret);
/* A P-384 public key (or certificate) from PEM text; errors as above. */
dga_err dga_eat_pubkey_from_pem(const char *pem, size_t len, EVP_PKEY **ret);

/*
 * The EAT key loaders every program uses: a key file (a path, never the key
 * on argv) of at most DGA_EAT_KEY_FILE_MAX bytes, read with dga_file_read
 * (DGA_E_IO with errno set, DGA_E_TOO_LARGE) and then parsed as above; the
 * text is wiped before it is freed.
 */
dga_err dga_eat_key_load(const char *path, EVP_PKEY **ret);
dga_err dga_eat_pubkey_load(const char *path, EVP_PKEY **ret);

/*
 * Builds [["JWT", overall], {"GPU-0": submod, ...}] from a claims array
 * (labels GPU-<n>/SWITCH-<n> by x-nvidia-device-type, in array order).
 */
dga_err dga_eat_build(const json_t *claims, const struct dga_eat_options *opt, json_t **ret);

/*
 * Verifies a detached EAT: ES384 only (alg pinned; "none" is
 * DGA_E_EAT_ALGORITHM), every signature with `pubkey`, every submod's
 * SHA-256 digest and eat_nonce against the overall token, iat/exp at `now`
 * with `leeway` seconds. On success *ret_overall is the overall payload.
 */
dga_err dga_eat_verify(const char *text, size_t len, EVP_PKEY *pubkey, time_t now, long leeway,
                       json_t **ret_overall, struct dga_diag *diag);

/*
 * Whether a verified overall payload's eat_nonce is `nonce` (the relying
 * party's own challenge): dga_eat_verify checks that the tokens agree with each
 * other, this checks that they answer your challenge.
 */
bool dga_eat_nonce_is(const json_t *overall, const uint8_t nonce[DGA_NONCE_LEN]);

#endif
