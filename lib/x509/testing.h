/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The FWID extension value parsers: entry points of lib/x509 that are not API. The layer's own
 * files use them; tests/unit and fuzz/ call them directly to reach one parser
 * on its own (through the dga_testing CMake target, which puts lib/ on their
 * include path). Programs and other layers never include this header.
 */
#ifndef DGA_X509_TESTING_H
#define DGA_X509_TESTING_H

#include <stddef.h>
#include <stdint.h>

#include "dga/error.h"
#include "dga/evidence.h" /* DGA_DIGEST_LEN */

/*
 * The FWID extension values themselves (the OCTET STRING contents that
 * dga_cert_fwid finds): TCG 2.23.133.5.4.1 and DICE TcbInfo's [6] fwids.
 */
dga_err dga_fwid_parse_tcg(const uint8_t *der, size_t len, uint8_t out[DGA_DIGEST_LEN]);
dga_err dga_fwid_parse_dice(const uint8_t *der, size_t len, uint8_t out[DGA_DIGEST_LEN]);

#endif
