/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One verdict over a dstack CVM (docs/verify.md): the quote layer's facts,
 * the event log against the quoted registers, dstack's boot order, the
 * derived values against the expectations, and the GPU binding. Every check
 * records its own outcome, so a relying party sees everything that failed,
 * and the first failure gives the reason with dstack-verifier's prefixes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/internal.h"
#include "dga/util.h"

static const char *const check_names[] = {
#define DGA_X_NAME(id, name) name,
    DGA_CVM_CHECKS(DGA_X_NAME)
#undef DGA_X_NAME
};

const char *dga_cvm_check_name(enum dga_cvm_check_id c)
{
    return (unsigned)c < DGA_CVM_CHECK__COUNT ? check_names[c] : "unknown";
}

const char *dga_cvm_status_name(enum dga_cvm_status s)
{
    static const char *const names[] = {"not-run", "skipped", "pass", "fail"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

void dga_cvm_result_clear(struct dga_cvm_result *r)
{
    if (r == NULL) {
        return;
    }
    free(r->key_provider_info);
    free(r->key_provider_id);
    free(r->gpu_event_payload);
    free(r->reappraisal.devices);
    memset(r, 0, sizeof *r);
}

void cvm_pass(struct dga_cvm_result *r, enum dga_cvm_check_id c)
{
    r->checks[c].status = DGA_CVM_PASS;
    r->checks[c].err = DGA_E_OK;
}

void cvm_skip(struct dga_cvm_result *r, enum dga_cvm_check_id c)
{
    r->checks[c].status = DGA_CVM_SKIPPED;
    r->checks[c].err = DGA_E_OK;
}

void cvm_fail(struct dga_cvm_result *r, enum dga_cvm_check_id c, dga_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->checks[c].detail, sizeof r->checks[c].detail, fmt, ap);
    va_end(ap);
    r->checks[c].status = DGA_CVM_FAIL;
    r->checks[c].err = e;
}

bool cvm_list_has(const struct dga_cvm_list *l, const uint8_t *v)
{
    bool found = false;
    for (size_t i = 0; i < l->n; i++) {
        found = dga_mem_equal(l->v + i * l->len, v, l->len) || found;
    }
    return found;
}

static bool name_listed(const struct dga_cvm_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- the quote's part ---------------------------------------------------------------------- */

static void check_quote(const struct dga_cvm_quote_facts *q, const struct dga_cvm_input *in,
                        const struct dga_cvm_expect *x, struct dga_cvm_result *r)
{
    if (q->verified) {
        cvm_pass(r, DGA_CVM_CHECK_QUOTE);
    } else {
        cvm_fail(r, DGA_CVM_CHECK_QUOTE, DGA_E_CVM_QUOTE_UNVERIFIED, "%s",
                 q->why != NULL ? q->why
                                : "the quote's signature and collateral were not verified");
    }
    if (!q->verified) {
        snprintf(r->checks[DGA_CVM_CHECK_TCB].detail, DGA_CVM_DETAIL_LEN, "quote not verified");
    } else if ((x->tcb_statuses & (1u << q->tcb.status)) == 0) {
        cvm_fail(r, DGA_CVM_CHECK_TCB, DGA_E_CVM_TCB_STATUS, "TCB status %s not allowed",
                 dga_tcb_status_name(q->tcb.status));
    } else {
        cvm_pass(r, DGA_CVM_CHECK_TCB);
        for (size_t i = 0; x->advisory_ids.present && i < q->tcb.n_advisories; i++) {
            if (!name_listed(&x->advisory_ids, q->tcb.advisory_ids[i])) {
                cvm_fail(r, DGA_CVM_CHECK_TCB, DGA_E_CVM_ADVISORY, "advisory %s not allowed",
                         q->tcb.advisory_ids[i]);
                break;
            }
        }
    }
    if ((q->td->td_attributes[0] & 1) != 0 && !x->allow_debug) {
        cvm_fail(r, DGA_CVM_CHECK_TD_DEBUG, DGA_E_TD_DEBUG, "the TD is a debug TD");
    } else {
        cvm_pass(r, DGA_CVM_CHECK_TD_DEBUG);
    }
    if (in->has_report_data && !dga_mem_equal(in->report_data, q->td->report_data, 64)) {
        cvm_fail(r, DGA_CVM_CHECK_REPORT_DATA, DGA_E_CVM_REPORT_DATA,
                 "the input's report_data is not the quote's");
    } else if (x->has_report_data && !dga_mem_equal(x->report_data, q->td->report_data, 64)) {
        cvm_fail(r, DGA_CVM_CHECK_REPORT_DATA, DGA_E_CVM_REPORT_DATA,
                 "the quote's report_data is not the expected challenge");
    } else if (x->has_report_data) {
        cvm_pass(r, DGA_CVM_CHECK_REPORT_DATA);
    } else {
        cvm_skip(r, DGA_CVM_CHECK_REPORT_DATA);
    }
}

/* ---- the event log against the registers --------------------------------------------------- */

static void check_replay(const struct dga_td_report *td, const struct dga_eventlog *log,
                         struct dga_cvm_result *r)
{
    dga_eventlog_replay(log, r->replayed);
    if (!log->boot_events) {
        cvm_fail(r, DGA_CVM_CHECK_BOOT_REPLAY, DGA_E_CVM_BOOT_EVENTS,
                 "the event log holds no boot events");
    } else {
        cvm_pass(r, DGA_CVM_CHECK_BOOT_REPLAY);
        for (unsigned i = 0; i < 3; i++) {
            if (!dga_mem_equal(r->replayed[i], td->rt_mr[i], DGA_EVENT_DIGEST_LEN)) {
                cvm_fail(r, DGA_CVM_CHECK_BOOT_REPLAY, DGA_E_RTMR_MISMATCH,
                         "RTMR%u does not replay", i);
                break;
            }
        }
    }
    if (!dga_mem_equal(r->replayed[3], td->rt_mr[3], DGA_EVENT_DIGEST_LEN)) {
        char q[97], l[97];
        dga_hex_encode(td->rt_mr[3], 48, q);
        dga_hex_encode(r->replayed[3], 48, l);
        cvm_fail(r, DGA_CVM_CHECK_RUNTIME_REPLAY, DGA_E_RTMR_MISMATCH,
                 "RTMR3 mismatch, quoted: %s, replayed: %s", q, l);
    } else {
        cvm_pass(r, DGA_CVM_CHECK_RUNTIME_REPLAY);
    }
    /* The parser already refuses both; checked here too, since the replay rests on it. */
    cvm_pass(r, DGA_CVM_CHECK_RUNTIME_EVENTS);
    for (size_t i = 0; i < log->n; i++) {
        const struct dga_event *e = &log->events[i];
        if ((e->imr == DGA_EVENT_IMR) != (e->event_type == DGA_EVENT_TYPE)) {
            cvm_fail(r, DGA_CVM_CHECK_RUNTIME_EVENTS, DGA_E_EVENT_TYPE,
                     "event %zu: imr %u, type 0x%08x", e->where, e->imr, e->event_type);
            break;
        }
    }
}

/* ---- derived values against the allow-lists ------------------------------------------------- */

static void check_list(struct dga_cvm_result *r, enum dga_cvm_check_id c,
                       const struct dga_cvm_list *l, const uint8_t *v, const char *what)
{
    if (r->checks[c].status == DGA_CVM_FAIL) {
        return; /* an earlier list of the same check already failed */
    }
    if (!l->present) {
        if (r->checks[c].status != DGA_CVM_PASS) {
            cvm_skip(r, c);
        }
        return;
    }
    if (!cvm_list_has(l, v)) {
        char hex[97];
        dga_hex_encode(v, l->len, hex);
        cvm_fail(r, c, DGA_E_CVM_NOT_ALLOWED, "%s %s not allowed", what, hex);
        return;
    }
    cvm_pass(r, c);
}

static void check_os_image(const struct dga_cvm_input *in, const struct dga_cvm_expect *x,
                           struct dga_cvm_result *r)
{
    if (r->has_os_image_hash && in->has_os_image_hash &&
        !dga_mem_equal(r->os_image_hash, in->os_image_hash, 32)) {
        cvm_fail(r, DGA_CVM_CHECK_OS_IMAGE, DGA_E_CVM_NOT_ALLOWED,
                 "vm_config's os_image_hash is not the os-image-hash event's");
        return;
    }
    if (!r->has_os_image_hash && in->has_os_image_hash) {
        memcpy(r->os_image_hash, in->os_image_hash, 32);
        r->has_os_image_hash = true; /* the host's word, bound by the pinned registers */
    }
    if (x->os_image_hash.present && !r->has_os_image_hash) {
        cvm_fail(r, DGA_CVM_CHECK_OS_IMAGE, DGA_E_CVM_OS_IMAGE_UNBOUND,
                 "no os-image-hash event and no vm_config os_image_hash");
        return;
    }
    check_list(r, DGA_CVM_CHECK_OS_IMAGE, &x->os_image_hash, r->os_image_hash, "os_image_hash");
}

static void check_derived(const struct dga_td_report *td, const struct dga_cvm_input *in,
                          const struct dga_cvm_expect *x, struct dga_cvm_result *r)
{
    check_list(r, DGA_CVM_CHECK_REGISTERS, &x->mrtd, td->mr_td, "mrtd");
    check_list(r, DGA_CVM_CHECK_REGISTERS, &x->rtmr0, td->rt_mr[0], "rtmr0");
    check_list(r, DGA_CVM_CHECK_REGISTERS, &x->rtmr1, td->rt_mr[1], "rtmr1");
    check_list(r, DGA_CVM_CHECK_REGISTERS, &x->rtmr2, td->rt_mr[2], "rtmr2");
    check_list(r, DGA_CVM_CHECK_MR_AGGREGATED, &x->mr_aggregated, r->mr_aggregated,
               "mr_aggregated");
    if (!r->has_app_info) {
        return; /* the boot sequence failed: app values and the key provider were not read */
    }
    check_list(r, DGA_CVM_CHECK_MR_SYSTEM, &x->mr_system, r->mr_system, "mr_system");
    check_list(r, DGA_CVM_CHECK_APP, &x->app_id, r->app_id, "app_id");
    check_list(r, DGA_CVM_CHECK_APP, &x->compose_hash, r->compose_hash, "compose_hash");
    check_os_image(in, x, r);
    if (!x->key_provider.present) {
        cvm_skip(r, DGA_CVM_CHECK_KEY_PROVIDER);
    } else if (!name_listed(&x->key_provider, r->key_provider_name)) {
        cvm_fail(r, DGA_CVM_CHECK_KEY_PROVIDER, DGA_E_CVM_NOT_ALLOWED,
                 "key provider \"%s\" not allowed", r->key_provider_name);
    } else {
        cvm_pass(r, DGA_CVM_CHECK_KEY_PROVIDER);
    }
}

/* ---- the verdict ------------------------------------------------------------------------------
 */

static bool group_ok(const struct dga_cvm_result *r, enum dga_cvm_check_id from,
                     enum dga_cvm_check_id to)
{
    for (int c = (int)from; c <= (int)to; c++) {
        enum dga_cvm_status s = r->checks[c].status;
        if (s != DGA_CVM_PASS && s != DGA_CVM_SKIPPED) {
            return false;
        }
    }
    return true;
}

/* dstack-verifier's reason prefixes, by the group the first failure belongs to. */
static const char *prefix_of(enum dga_cvm_check_id c)
{
    if (c <= DGA_CVM_CHECK_REPORT_DATA) {
        return "Quote verification failed";
    }
    if (c == DGA_CVM_CHECK_OS_IMAGE || c == DGA_CVM_CHECK_REGISTERS) {
        return "OS image hash verification failed";
    }
    if (c >= DGA_CVM_CHECK_GPU_EVENT) {
        return "GPU verification failed";
    }
    return "Event log verification failed";
}

static void verdict(const struct dga_cvm_expect *x, struct dga_cvm_result *r)
{
    r->quote_verified = group_ok(r, DGA_CVM_CHECK_QUOTE, DGA_CVM_CHECK_REPORT_DATA);
    r->event_log_verified = group_ok(r, DGA_CVM_CHECK_BOOT_REPLAY, DGA_CVM_CHECK_BOOT_SEQUENCE);
    r->gpu_verified =
        x->gpu.required && group_ok(r, DGA_CVM_CHECK_GPU_EVENT, DGA_CVM_CHECK_GPU_REAPPRAISE);
    r->valid = group_ok(r, DGA_CVM_CHECK_QUOTE, DGA_CVM_CHECK__COUNT - 1);
    r->err = DGA_E_OK;
    /* The first failure; without one, the first check that could not run. */
    int first = -1;
    for (int c = 0; c < (int)DGA_CVM_CHECK__COUNT && !r->valid && first < 0; c++) {
        first = r->checks[c].status == DGA_CVM_FAIL ? c : -1;
    }
    for (int c = 0; c < (int)DGA_CVM_CHECK__COUNT && !r->valid && first < 0; c++) {
        first = r->checks[c].status == DGA_CVM_NOT_RUN ? c : -1;
    }
    if (first < 0) {
        return;
    }
    const struct dga_cvm_check *k = &r->checks[first];
    r->err = k->status == DGA_CVM_FAIL ? k->err : DGA_E_CVM_NOT_RUN;
    snprintf(r->reason, sizeof r->reason, "%s: %s: %s: %s", prefix_of((enum dga_cvm_check_id)first),
             check_names[first], dga_err_name(r->err), k->detail);
}

/* Every check in order; a failure to compute (not a failed check) stops them. */
static dga_err check_all(const struct dga_cvm_quote_facts *q, const struct dga_cvm_input *in,
                         const uint8_t *bundle, size_t bundle_len, const struct dga_cvm_expect *x,
                         const struct dga_cvm_options *opt, struct dga_cvm_result *ret)
{
    struct cvm_events ev = {0};
    check_quote(q, in, x, ret);
    check_replay(q->td, in->log, ret);
    cvm_check_sequence(in->log, ret, &ev);
    dga_err e = cvm_derive(q->td, ret);
    if (e != DGA_E_OK) {
        return e;
    }
    check_derived(q->td, in, x, ret);
    return cvm_check_gpu(&ev, bundle, bundle_len, x, opt, ret);
}

dga_err dga_cvm_verify(const struct dga_cvm_quote_facts *q, const struct dga_cvm_input *in,
                       const uint8_t *bundle, size_t bundle_len, const struct dga_cvm_expect *x,
                       const struct dga_cvm_options *opt, struct dga_cvm_result *ret)
{
    if (q == NULL || q->td == NULL || in == NULL || in->log == NULL || x == NULL || opt == NULL ||
        ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_cvm_result_clear(ret);
    dga_err e = check_all(q, in, bundle, bundle_len, x, opt, ret);
    if (e != DGA_E_OK) {
        dga_cvm_result_clear(ret);
        return e;
    }
    verdict(x, ret);
    return DGA_E_OK;
}
