/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the certificate layer's own files only (docs/layers.md): what
 * another layer needs from this one is in dga/x509.h.
 */
#ifndef DGA_X509_INTERNAL_H
#define DGA_X509_INTERNAL_H

/* Adds n to the ECDSA verification counter (dga/stats.h). */
void x509_stats_add(unsigned long n);

#endif
