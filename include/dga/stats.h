/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process-wide counters: they say how much work was done, never whether
 * anything verified. Atomic, so they may be read while other threads verify,
 * but a reset races with those threads.
 *
 * Public API, not a test hook: a program that embeds the library (bench/ is
 * one, and links only the public API) may measure what an appraisal costs,
 * and reading a counter changes nothing. Hooks that reach inside a layer are
 * in lib/<layer>/testing.h instead.
 */
#ifndef DGA_STATS_H
#define DGA_STATS_H

/*
 * ECDSA signature verifications performed since the last reset: each raw
 * P-384 check (report, RIM XML signature, EAT) counts one; each successful
 * OpenSSL path validation counts (built path length - 1), the signatures it
 * checked (the self-signed root's own signature is not checked by OpenSSL,
 * nor is a partial chain's trusted top). A failed path validation adds nothing.
 */
unsigned long dga_stats_ecdsa_verifications(void);
void dga_stats_reset(void);

#endif
