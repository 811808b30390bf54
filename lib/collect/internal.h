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

/*
 * The top of a collect-evidence document (GPUs: json.c, switches: nscq_json.c): at most cap
 * bytes of strict JSON (a duplicate key refused) that is an object, into *ret (the caller's
 * reference). DGA_E_TOO_LARGE (offset cap) or DGA_E_BAD_JSON (offset where parsing failed,
 * 0 for JSON that is not an object), field "collection" in diag.
 */
dga_err collection_json_root(const char *text, size_t len, size_t cap, json_t **ret,
                             struct dga_diag *diag);

/*
 * One collected device (a GPU or a switch) as evidence for the appraisal: copies of its report
 * and PEM chain, with the collection's nonce. DGA_E_NOMEM (d then holds what was copied: the
 * caller clears the set).
 */
dga_err collected_to_evidence(enum dga_arch arch, const uint8_t *nonce, const uint8_t *report,
                              size_t report_len, const char *chain_pem, size_t chain_pem_len,
                              struct dga_device_evidence *d);

/*
 * A collection of n devices as an evidence set, device i copied by copy (which calls
 * collected_to_evidence); all or nothing: DGA_E_NOMEM leaves *ret untouched.
 */
typedef dga_err (*collected_copy_fn)(const void *collection, size_t i,
                                     struct dga_device_evidence *d);
dga_err collected_set_to_evidence(const void *collection, size_t n, collected_copy_fn copy,
                                  struct dga_evidence_set *ret);

/* ---- the NVML state: one child per read (deadline.c) or the state reader (state_reader.c) ---- */

/* The child program set (dga_collect_set_child_program), NULL when children are forked. */
const char *collect_child_program(void);

/* The CC settings and the ready state as a child answers them (deadline.c has the details). */
json_t *collect_state_json(const char *nvml_path, struct dga_nvml **nvml);
dga_err collect_state_parse(const char *text, size_t len, struct dga_cc_settings *ret_cc,
                            unsigned *ret_ready, struct dga_nvml_error *err);

/* The state reader's child: `DGA_COLLECT_CHILD_COMMAND state-server NVML` (state_reader.c). */
#define STATE_SERVER_OP "state-server"
int state_server_main(int argc, char **argv);

#endif
