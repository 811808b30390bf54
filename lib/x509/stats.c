/* SPDX-License-Identifier: Apache-2.0 */
/* The ECDSA verification counter (dga/stats.h). */
#include <stdatomic.h>

#include "dga/stats.h"
#include "x509/internal.h"

static _Atomic unsigned long ecdsa_verifications;

void x509_stats_add(unsigned long n)
{
    atomic_fetch_add_explicit(&ecdsa_verifications, n, memory_order_relaxed);
}

unsigned long dga_stats_ecdsa_verifications(void)
{
    return atomic_load_explicit(&ecdsa_verifications, memory_order_relaxed);
}

void dga_stats_reset(void)
{
    atomic_store_explicit(&ecdsa_verifications, 0, memory_order_relaxed);
}
