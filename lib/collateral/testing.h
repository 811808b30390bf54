/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry points of lib/collateral that are not API: the parsers of a PCCS's
 * answers (pccs.c), which dga_tdx_collateral_fetch applies to each response.
 * fuzz/fuzz_pccs_response.c calls them directly. Programs and other layers
 * never include this header.
 */
#ifndef DGA_COLLATERAL_TESTING_H
#define DGA_COLLATERAL_TESTING_H

#include <stddef.h>
#include <stdint.h>

#include "dga/collateral.h"
#include "dga/error.h"
#include "dga/quote.h"

/*
 * The issuer chain header of a response: exactly one of r->captured[0 ..
 * n_names) present (two is ambiguous), percent-decoded (%XX only; %00
 * refused), and a PEM chain. *ret is malloc'd; DGA_E_COLLATERAL_HEADER with
 * diag->field = field.
 */
dga_err pccs_issuer_chain(const struct dga_http_response *r, size_t n_names, const char *field,
                          char **ret, struct dga_diag *diag);

/* A CRL body: DER, or its hex text; exactly one CRL. *ret malloc'd; DGA_E_COLLATERAL_BODY. */
dga_err pccs_crl_body(const uint8_t *body, size_t len, uint8_t **ret, size_t *ret_len);

/*
 * A signed body {"<name>": {...}, "signature": "<128 hex>"}: the exact text of
 * the member (checked against jansson's parse) and the signature bytes.
 * *ret malloc'd and NUL-terminated; DGA_E_COLLATERAL_BODY.
 */
dga_err pccs_signed_body(const uint8_t *body, size_t len, const char *name, char **ret,
                         size_t *ret_len, uint8_t sig[DGA_QUOTE_SIG_LEN]);

#endif
