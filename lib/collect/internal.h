/* SPDX-License-Identifier: Apache-2.0 */
/* Shared inside lib/collect. */
#ifndef DGA_COLLECT_INTERNAL_H
#define DGA_COLLECT_INTERNAL_H

#include <stddef.h>

#include "dga/collect.h"

/*
 * "dddd:bb:dd.f" (sysfs) or "dddddddd:bb:dd.f" (NVML busId) to the normalized
 * lowercase "dddd:bb:dd.f". DGA_E_PCI_ADDRESS if it is anything else.
 */
dga_err pci_address_normalize(const char *in, size_t len, char out[DGA_PCI_ADDR_MAX]);

/* Records a failure in an optional error (function may be NULL). Returns e. */
dga_err nvml_error_set(struct dga_nvml_error *err, dga_err e, const char *function, int device);

/* The CC settings as JSON ({environment, cc_feature, devtools_mode, multi_gpu_mode, mode}) and
 * back. */
json_t *cc_json(const struct dga_cc_settings *cc);
dga_err cc_from_json(json_t *obj, struct dga_cc_settings *cc);

#endif
