/* SPDX-License-Identifier: Apache-2.0 */
/* What the KMS webhook's modules share: auth-simple's hex normalisation. */
#ifndef DGA_KMS_INTERNAL_H
#define DGA_KMS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "dga/kms.h"

/*
 * auth-simple's normalizeHex (lowercase, then "0x" prepended unless present)
 * makes two values equal when they agree after ASCII lowercasing and removing
 * one leading "0x". This is the stored form: s lowercased, "0x" removed;
 * malloc'd, NULL when out of memory.
 */
char *kms_hex_norm(const char *s, size_t len);

/* Whether the request's raw value s normalises to the stored form norm. */
bool kms_hex_eq(const char *norm, const char *s);

/* Whether any entry of the hex list equals s once s is normalised. */
bool kms_hex_listed(const struct dga_kms_strings *l, const char *s);

/* Whether any entry of the list equals s exactly (TCB statuses, advisory IDs). */
bool kms_listed(const struct dga_kms_strings *l, const char *s);

#endif
