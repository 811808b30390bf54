/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for detached EAT verification, with a P-384 key made
 * once per process. Every input is verified as a detached EAT. An input
 * that is a JSON array is also taken as device claims: a token built from
 * them with that key must verify (or fail on eat_nonce exactly when a
 * device carries its own, different eat_nonce), which reaches the checks
 * after the signatures. Seed corpus: NRAS's and nvattest's real tokens and
 * claims arrays (fuzz/run-smoke.sh).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>

#include "dga/eat.h"
#include "dga/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2024-06-01T00:00:00Z: a fixed time, never the wall clock. */
#define FUZZ_TIME ((time_t)1717200000)

static EVP_PKEY *fuzz_key(void)
{
    static EVP_PKEY *key;
    if (key == NULL) {
        key = EVP_EC_gen("P-384");
        if (key == NULL) {
            abort();
        }
    }
    return key;
}

/* What verifying a token built from these claims must return, or -1 to skip the input. */
static int expected(const json_t *claims, const char *nonce_hex)
{
    int want = DGA_E_OK;
    size_t i;
    const json_t *c;
    json_array_foreach(claims, i, c)
    {
        const json_t *n = json_object_get(c, "eat_nonce");
        if (json_object_get(c, "nbf") != NULL) {
            return -1; /* a device claim that is also a token time claim */
        }
        if (n != NULL && !(json_is_string(n) && strcmp(json_string_value(n), nonce_hex) == 0)) {
            want = DGA_E_EAT_NONCE;
        }
    }
    return want;
}

static void round_trip(const json_t *claims)
{
    struct dga_eat_options opt = {.key = fuzz_key(), .kid = "fuzz", .iat = FUZZ_TIME};
    char nonce_hex[2 * DGA_NONCE_LEN + 1];
    memset(opt.nonce, 0x5a, sizeof opt.nonce);
    dga_hex_encode(opt.nonce, sizeof opt.nonce, nonce_hex);
    int want = expected(claims, nonce_hex);
    json_t *eat = NULL;
    if (want < 0 || dga_eat_build(claims, &opt, &eat) != DGA_E_OK) {
        return;
    }
    char *text = json_dumps(eat, JSON_COMPACT);
    json_decref(eat);
    if (text == NULL) {
        return;
    }
    json_t *overall = NULL;
    dga_err e = dga_eat_verify(text, strlen(text), opt.key, FUZZ_TIME, 10, &overall, NULL);
    if ((int)e != want && e != DGA_E_TOO_LARGE && e != DGA_E_NOMEM) {
        abort(); /* a token we built does not verify as it should */
    }
    json_decref(overall);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *overall = NULL;
    struct dga_diag diag = {0};
    if (dga_eat_verify((const char *)data, size, fuzz_key(), FUZZ_TIME, 10, &overall, &diag) ==
        DGA_E_OK) {
        abort(); /* nothing signs with a key made in this process but round_trip */
    }
    json_decref(overall);
    json_t *claims = json_loadb((const char *)data, size, 0, NULL);
    if (json_is_array(claims)) {
        round_trip(claims);
    }
    json_decref(claims);
    return 0;
}
