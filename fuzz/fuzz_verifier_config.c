/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the verifier server's config file (docs/verify.md,
 * Server, Configuration): dga_verifier_config_load_text on the input over the
 * defaults, then dga_verifier_config_check on what it left (keys before a
 * failing line stay applied, so the check runs either way). Beyond the
 * sanitizers it traps when the result breaks what the server relies on:
 * every string NUL-terminated within its buffer, a failure naming a line
 * that exists, and a config that passes the check having exactly one
 * collateral source, an http(s) PCCS URL, and bounds in range. Seeds: a few
 * config files written by run-smoke.sh (verifier_config_seeds).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "dga/cvm.h"
#include "dga/verifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

static bool strings_terminated(const struct dga_verifier_config *c)
{
    return TERMINATED(c->listen) && TERMINATED(c->expect) && TERMINATED(c->collateral) &&
           TERMINATED(c->collateral_dir) && TERMINATED(c->pccs_url) &&
           TERMINATED(c->test_trusted_root);
}

static bool checked_config_sane(const struct dga_verifier_config *c)
{
    int sources =
        (c->collateral[0] != '\0') + (c->collateral_dir[0] != '\0') + (c->pccs_url[0] != '\0');
    bool url_ok = c->pccs_url[0] == '\0' || strncasecmp(c->pccs_url, "http://", 7) == 0 ||
                  strncasecmp(c->pccs_url, "https://", 8) == 0;
    return sources == 1 && url_ok && c->expect[0] != '\0' && c->limits.max_request > 0 &&
           c->limits.max_request <= DGA_CVM_INPUT_MAX && c->limits.max_connections > 0 &&
           c->limits.max_connections_per_client > 0 && c->collateral_cache > 0 &&
           c->limits.client_timeout > 0 && c->limits.client_request_timeout > 0;
}

/* Lines in the text as the loader counts them: one more per '\n' not at the very end. */
static size_t lines_in(const uint8_t *data, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < size; i++) {
        n += data[i] == '\n' && i + 1 < size;
    }
    return size > 0 ? n + 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dga_verifier_config c;
    dga_verifier_config_defaults(&c);
    struct dga_diag d = {0};
    dga_err e = dga_verifier_config_load_text(&c, (const char *)data, size, &d);
    if (e != DGA_E_OK && (e != DGA_E_VERIFIER_CONFIG || d.offset > lines_in(data, size))) {
        __builtin_trap();
    }
    if (!strings_terminated(&c)) {
        __builtin_trap();
    }
    struct dga_diag cd = {0};
    if (dga_verifier_config_check(&c, &cd) == DGA_E_OK && !checked_config_sane(&c)) {
        __builtin_trap();
    }
    return 0;
}
