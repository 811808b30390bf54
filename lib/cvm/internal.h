/* SPDX-License-Identifier: Apache-2.0 */
/* Private to lib/cvm: the steps dga_cvm_verify runs, one file each. */
#ifndef DGA_CVM_INTERNAL_H
#define DGA_CVM_INTERNAL_H

#include <stdarg.h>

#include "dga/cvm.h"

/* The runtime events up to and including the first system-ready, as the sequence check read them.
 */
struct cvm_events {
    const struct dga_event *gpu_event;   /* the one pre-boundary gpu-attestation, or NULL */
    const struct dga_event *policy_hash; /* the one pre-boundary gpu-policy-hash, or NULL */
    size_t n_gpu_events_after;           /* gpu-attestation events after system-ready (ignored) */
};

/* Records a check's outcome; FAIL also needs err and a printf-style detail. */
void cvm_pass(struct dga_cvm_result *r, enum dga_cvm_check_id c);
void cvm_skip(struct dga_cvm_result *r, enum dga_cvm_check_id c);
void cvm_fail(struct dga_cvm_result *r, enum dga_cvm_check_id c, dga_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Is the value one of the list's entries (list->len bytes)? */
bool cvm_list_has(const struct dga_cvm_list *l, const uint8_t *v);

/*
 * dstack's boot order up to the first system-ready (events.c); fills the
 * derived values (app id, compose hash, instance id, key provider, init
 * scripts, os-image-hash, gpu-policy-hash) into r and the GPU events into ev.
 */
void cvm_check_sequence(const struct dga_eventlog *log, struct dga_cvm_result *r,
                        struct cvm_events *ev);
/* mr_system, mr_aggregated and device_id from the quote's registers (events.c). */
dga_err cvm_derive(const struct dga_td_report *td, struct dga_cvm_result *r);

/* The GPU checks (gpu.c): event, gpu-policy-hash, bundle, re-appraisal. */
dga_err cvm_check_gpu(const struct cvm_events *ev, const uint8_t *bundle, size_t bundle_len,
                      const struct dga_cvm_expect *x, const struct dga_cvm_options *opt,
                      struct dga_cvm_result *r);

#endif
