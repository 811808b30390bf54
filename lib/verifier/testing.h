/* SPDX-License-Identifier: Apache-2.0 */
/* Test-only entry points of the verifier server (not API). */
#ifndef DGA_VERIFIER_TESTING_H
#define DGA_VERIFIER_TESTING_H

#include <stddef.h>

#include "dga/verifier.h"

/* The collateral cache's lookups that hit, that parsed, and the entries held. */
void verifier_cache_counts(struct dga_verifier *v, size_t *ret_hits, size_t *ret_misses,
                           size_t *ret_entries);

#endif
