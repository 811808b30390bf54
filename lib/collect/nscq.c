/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NVSwitch evidence through NSCQ (libnvidia-nscq.so.2, loaded with dlopen; the hand-declared
 * subset is lib/collect/nscq_api.h). NSCQ answers through callbacks that run inside
 * nscq_session_path_observe, one per matching device: each callback copies its payload, which
 * NSCQ passes by value, into a bounded context, after checking the size NSCQ states against
 * the buffer it describes and that the callback is for the switch asked for, and only once.
 * Every NSCQ return code other than 0, returned or handed to a callback, warnings included, is
 * its named error (fail closed: libnvat also refuses a session-create warning). The TNVL
 * status is kept raw: deciding what it allows is the caller's (a bit test would accept -1).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/internal.h"
#include "collect/nscq_api.h"
#include "core/buf.h"
#include "core/cleanup.h"
#include "core/dynlib.h"
#include "dga/x509.h"

#define FN_OBSERVE "nscq_session_path_observe"
#define FN_CALLBACK "nscq_session_path_observe callback"

struct nscq_lib {
    struct dynlib dl;
#define DGA_NSCQ_FIELD(name, rt, params) rt(*name) params;
    DGA_NSCQ_FUNCTIONS(DGA_NSCQ_FIELD)
#undef DGA_NSCQ_FIELD
};

/* What the callbacks of one observe write: bounded copies, and what went wrong first. */
struct observe_ctx {
    struct nscq_lib *lib;
    struct dga_switch_collection *c; /* enumeration, arch */
    bool arch_seen[DGA_NSCQ_MAX_SWITCHES];
    const uint8_t *want; /* the switch a per-switch path was observed for */
    unsigned calls;
    dga_err err;          /* the first failure a callback found */
    const char *function; /* ... in this function */
    int rc;               /* ... with this NSCQ code (0: not an NSCQ code) */
    int at;               /* ... for this switch (-1: the one observed) */
    int tnvl;
    size_t report_len, chain_len;
    uint8_t report[NSCQ_ATTESTATION_REPORT_SIZE];
    uint8_t chain[NSCQ_CERTIFICATE_CERT_CHAIN_MAX_SIZE + 1]; /* + the NUL the text gets */
};

static void copy_bounded(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

static dga_err nscq_error_set(struct dga_nscq_error *err, dga_err e, const char *function,
                              const char *path, int idx, const char *label)
{
    if (err != NULL) {
        memset(err, 0, sizeof *err);
        err->err = e;
        err->switch_index = idx;
        copy_bounded(err->function, sizeof err->function, function);
        copy_bounded(err->path, sizeof err->path, path);
        copy_bounded(err->label, sizeof err->label, label);
    }
    return e;
}

/* An NSCQ return code as its named error; 0 is DGA_E_OK. */
static dga_err rc_error(int rc)
{
    switch (rc) {
    case NSCQ_RC_SUCCESS:
        return DGA_E_OK;
    case NSCQ_RC_ERROR_NOT_IMPLEMENTED:
        return DGA_E_NSCQ_NOT_IMPLEMENTED;
    case NSCQ_RC_ERROR_INVALID_UUID:
        return DGA_E_NSCQ_INVALID_UUID;
    case NSCQ_RC_ERROR_RESOURCE_NOT_MOUNTABLE:
        return DGA_E_NSCQ_NOT_MOUNTABLE;
    case NSCQ_RC_ERROR_OVERFLOW:
        return DGA_E_NSCQ_OVERFLOW;
    case NSCQ_RC_ERROR_UNEXPECTED_VALUE:
        return DGA_E_NSCQ_UNEXPECTED_VALUE;
    case NSCQ_RC_ERROR_UNSUPPORTED_DRV:
        return DGA_E_NSCQ_UNSUPPORTED_DRIVER;
    case NSCQ_RC_ERROR_DRV:
        return DGA_E_NSCQ_DRIVER;
    case NSCQ_RC_ERROR_TIMEOUT:
        return DGA_E_NSCQ_DRIVER_TIMEOUT;
    case NSCQ_RC_ERROR_EXT:
        return DGA_E_NSCQ_EXT;
    case NSCQ_RC_ERROR_UNSPECIFIED:
        return DGA_E_NSCQ_UNSPECIFIED;
    default:
        return rc > 0 ? DGA_E_NSCQ_WARNING : DGA_E_NSCQ_RC_UNKNOWN;
    }
}

static dga_err rc_failed(struct dga_nscq_error *err, int rc, const char *function, const char *path,
                         int idx, const char *label)
{
    dga_err e = nscq_error_set(err, rc_error(rc), function, path, idx, label);
    if (err != NULL) {
        err->nscq_rc = rc;
    }
    return e;
}

/* Records the first failure a callback meets; later ones do not overwrite it. */
static void ctx_fail_at(struct observe_ctx *x, dga_err e, const char *function, int rc, int at)
{
    if (x->err == DGA_E_OK) {
        x->err = e;
        x->function = function;
        x->rc = rc;
        x->at = at;
    }
}

static void ctx_fail(struct observe_ctx *x, dga_err e, const char *function, int rc)
{
    ctx_fail_at(x, e, function, rc, -1);
}

static bool ctx_rc_ok(struct observe_ctx *x, nscq_rc_t rc)
{
    if (rc != NSCQ_RC_SUCCESS) {
        ctx_fail(x, rc_error(rc), FN_CALLBACK, rc);
        return false;
    }
    return true;
}

/* ---- enumeration: UUIDs to labels, then the architecture ---- */

static dga_err label_check(const struct dga_switch_collection *c, const nscq_label_t *label)
{
    size_t len = strnlen(label->data, sizeof label->data);
    if (len == 0 || len == sizeof label->data || memchr(label->data, '/', len) != NULL) {
        return DGA_E_NSCQ_LABEL;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->sw[i].label, label->data) == 0) {
            return DGA_E_NSCQ_LABEL;
        }
    }
    return DGA_E_OK;
}

static void on_uuid(const nscq_uuid_t *device, nscq_rc_t rc, const nscq_uuid_t *uuid, void *user)
{
    struct observe_ctx *x = user;
    (void)device; /* the third argument is the switch's UUID (libnvat, nvtrust) */
    if (x->err != DGA_E_OK || !ctx_rc_ok(x, rc)) {
        return;
    }
    if (x->c->n == DGA_NSCQ_MAX_SWITCHES) {
        ctx_fail(x, DGA_E_TOO_LARGE, FN_CALLBACK, 0);
        return;
    }
    nscq_label_t label;
    memset(&label, 0, sizeof label);
    nscq_rc_t lrc = x->lib->nscq_uuid_to_label(uuid, &label, 0);
    if (lrc != NSCQ_RC_SUCCESS) {
        ctx_fail_at(x, rc_error(lrc), "nscq_uuid_to_label", lrc, (int)x->c->n);
        return;
    }
    dga_err e = label_check(x->c, &label);
    if (e != DGA_E_OK) {
        ctx_fail_at(x, e, "nscq_uuid_to_label", 0, (int)x->c->n);
        return;
    }
    struct dga_switch_collected *s = &x->c->sw[x->c->n];
    s->index = (unsigned)x->c->n;
    memcpy(s->uuid, uuid->bytes, sizeof s->uuid);
    memcpy(s->label, label.data, strlen(label.data) + 1);
    s->tnvl_status = DGA_NSCQ_TNVL_UNKNOWN;
    x->c->n++;
}

static long switch_by_uuid(const struct dga_switch_collection *c, const nscq_uuid_t *device)
{
    for (size_t i = 0; device != NULL && i < c->n; i++) {
        if (memcmp(c->sw[i].uuid, device->bytes, DGA_NSCQ_UUID_LEN) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static void on_arch(const nscq_uuid_t *device, nscq_rc_t rc, nscq_arch_t arch, void *user)
{
    struct observe_ctx *x = user;
    if (x->err != DGA_E_OK || !ctx_rc_ok(x, rc)) {
        return;
    }
    long i = switch_by_uuid(x->c, device);
    if (i < 0 || x->arch_seen[i]) {
        ctx_fail_at(x, DGA_E_NSCQ_CALLBACK, FN_CALLBACK, 0, (int)i);
        return;
    }
    x->arch_seen[i] = true;
    if (arch != NSCQ_ARCH_LS10) {
        ctx_fail_at(x, DGA_E_NSCQ_ARCH, FN_CALLBACK, 0, (int)i);
        return;
    }
    x->c->sw[i].arch = DGA_ARCH_LS10;
}

/* ---- per switch: one callback, for that switch ---- */

static bool ctx_per_switch(struct observe_ctx *x, const nscq_uuid_t *device, nscq_rc_t rc)
{
    if (x->err != DGA_E_OK) {
        return false;
    }
    if (++x->calls > 1 || device == NULL ||
        memcmp(device->bytes, x->want, DGA_NSCQ_UUID_LEN) != 0) {
        ctx_fail(x, DGA_E_NSCQ_CALLBACK, FN_CALLBACK, 0);
        return false;
    }
    return ctx_rc_ok(x, rc);
}

static void on_tnvl(const nscq_uuid_t *device, nscq_rc_t rc, nscq_tnvl_status_t status, void *user)
{
    struct observe_ctx *x = user;
    if (ctx_per_switch(x, device, rc)) {
        x->tnvl = status;
    }
}

static void on_report(const nscq_uuid_t *device, nscq_rc_t rc, nscq_attestation_report_t report,
                      void *user)
{
    struct observe_ctx *x = user;
    if (!ctx_per_switch(x, device, rc)) {
        return;
    }
    if (report.report_size < DGA_REPORT_MIN || report.report_size > sizeof report.report) {
        ctx_fail(x, DGA_E_NSCQ_SIZE, FN_CALLBACK, 0);
        return;
    }
    memcpy(x->report, report.report, report.report_size);
    x->report_len = report.report_size;
}

static void on_cert(const nscq_uuid_t *device, nscq_rc_t rc, nscq_attestation_certificate_t cert,
                    void *user)
{
    struct observe_ctx *x = user;
    if (!ctx_per_switch(x, device, rc)) {
        return;
    }
    if (cert.cert_chain_size == 0 || cert.cert_chain_size > sizeof cert.cert_chain) {
        ctx_fail(x, DGA_E_NSCQ_SIZE, FN_CALLBACK, 0);
        return;
    }
    memcpy(x->chain, cert.cert_chain, cert.cert_chain_size);
    x->chain[cert.cert_chain_size] = '\0';
    x->chain_len = cert.cert_chain_size;
}

/* ---- the session ---- */

struct session {
    struct nscq_lib lib;
    nscq_session_t s;
    bool open;
};

static void session_close(struct session *ss)
{
    if (ss->open) {
        ss->lib.nscq_session_destroy(ss->s);
        ss->open = false;
    }
    if (ss->lib.dl.handle != NULL) {
        dlclose(ss->lib.dl.handle);
        ss->lib.dl.handle = NULL;
    }
}

static const struct dynlib_sym nscq_syms[] = {
#define DGA_NSCQ_SYM(name, rt, params) DYNLIB_SYM(struct nscq_lib, name, name),
    DGA_NSCQ_FUNCTIONS(DGA_NSCQ_SYM)
#undef DGA_NSCQ_SYM
};

static dga_err resolve(struct nscq_lib *l, struct dga_nscq_error *err)
{
    const char *missing = NULL;
    if (!dynlib_resolve_all(&l->dl, l, nscq_syms, DYNLIB_N(nscq_syms), &missing)) {
        return nscq_error_set(err, DGA_E_NSCQ_SYMBOL, missing, "", -1, "");
    }
    return DGA_E_OK;
}

static dga_err session_open(struct session *ss, const char *path, struct dga_nscq_error *err)
{
    struct dynlib dl = DYNLIB_INIT(path != NULL ? path : DGA_NSCQ_DEFAULT_PATH, NULL);
    ss->lib.dl = dl;
    if (!dynlib_open(&ss->lib.dl)) {
        nscq_error_set(err, DGA_E_NSCQ_LOAD, "dlopen", "", -1, "");
        if (err != NULL) {
            copy_bounded(err->message, sizeof err->message, ss->lib.dl.failure);
        }
        return DGA_E_NSCQ_LOAD;
    }
    dga_err e = resolve(&ss->lib, err);
    if (e != DGA_E_OK) {
        return e;
    }
    nscq_session_result_t r = ss->lib.nscq_session_create(NSCQ_SESSION_CREATE_MOUNT_DEVICES);
    if (r.rc != NSCQ_RC_SUCCESS) {
        return rc_failed(err, r.rc, "nscq_session_create", "", -1, "");
    }
    ss->s = r.session;
    ss->open = true;
    return DGA_E_OK;
}

/* Observes path with cb; the call's rc first, then what a callback found. */
static dga_err observe(struct session *ss, const char *path, nscq_fn_t cb, struct observe_ctx *x,
                       int idx, struct dga_nscq_error *err)
{
    const char *label = idx >= 0 ? x->c->sw[idx].label : "";
    nscq_rc_t rc = ss->lib.nscq_session_path_observe(ss->s, path, cb, x, 0);
    if (rc != NSCQ_RC_SUCCESS) {
        return rc_failed(err, rc, FN_OBSERVE, path, idx, label);
    }
    if (x->err != DGA_E_OK) {
        int at = x->at >= 0 ? x->at : idx;
        label = at >= 0 && (size_t)at < x->c->n ? x->c->sw[at].label : "";
        dga_err e = nscq_error_set(err, x->err, x->function, path, at, label);
        if (err != NULL) {
            err->nscq_rc = x->rc;
        }
        return e;
    }
    return DGA_E_OK;
}

static dga_err enumerate(struct session *ss, struct observe_ctx *x, struct dga_nscq_error *err)
{
    dga_err e = observe(ss, NSCQ_PATH_DEVICE_UUID, (nscq_fn_t)on_uuid, x, -1, err);
    if (e != DGA_E_OK || x->c->n == 0) {
        return e;
    }
    e = observe(ss, NSCQ_PATH_ARCH, (nscq_fn_t)on_arch, x, -1, err);
    for (size_t i = 0; e == DGA_E_OK && i < x->c->n; i++) {
        if (!x->arch_seen[i]) { /* a switch whose architecture NSCQ never told */
            e = nscq_error_set(err, DGA_E_NSCQ_ARCH, FN_CALLBACK, NSCQ_PATH_ARCH, (int)i,
                               x->c->sw[i].label);
        }
    }
    return e;
}

/* One per-switch path: "/" LABEL SUFFIX, a fresh callback count. */
static dga_err observe_switch(struct session *ss, size_t i, const char *suffix, nscq_fn_t cb,
                              struct observe_ctx *x, struct dga_nscq_error *err)
{
    char path[DGA_NSCQ_LABEL_MAX + 64];
    snprintf(path, sizeof path, "/%s%s", x->c->sw[i].label, suffix);
    x->want = x->c->sw[i].uuid;
    x->calls = 0;
    dga_err e = observe(ss, path, cb, x, (int)i, err);
    if (e == DGA_E_OK && x->calls == 0) {
        return nscq_error_set(err, DGA_E_NSCQ_CALLBACK, FN_CALLBACK, path, (int)i,
                              x->c->sw[i].label);
    }
    return e;
}

/* The chain must be PEM text that parses as exactly the 5 device certificates. */
static dga_err check_chain(const struct observe_ctx *x, size_t i, struct dga_nscq_error *err)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
    const char *pem = (const char *)x->chain;
    if (memchr(pem, 0, x->chain_len) != NULL ||
        dga_pem_chain_parse(pem, x->chain_len, &chain, NULL) != DGA_E_OK ||
        sk_X509_num(chain) != DGA_DEVICE_CHAIN_LEN) {
        return nscq_error_set(err, DGA_E_NSCQ_CHAIN, FN_CALLBACK, NSCQ_PATH_CERTIFICATE_SUFFIX,
                              (int)i, x->c->sw[i].label);
    }
    return DGA_E_OK;
}

/* set_input(nonce), then the report, the chain and the TNVL status (libnvat's order). */
static dga_err collect_switch(struct session *ss, size_t i, const uint8_t nonce[DGA_NONCE_LEN],
                              struct observe_ctx *x, struct dga_nscq_error *err)
{
    struct dga_switch_collected *s = &x->c->sw[i];
    uint8_t input[NSCQ_ATTESTATION_REPORT_NONCE_SIZE];
    memcpy(input, nonce, sizeof input);
    nscq_rc_t rc = ss->lib.nscq_session_set_input(ss->s, 0, input, sizeof input);
    if (rc != NSCQ_RC_SUCCESS) {
        return rc_failed(err, rc, "nscq_session_set_input", "", (int)i, s->label);
    }
    dga_err e = observe_switch(ss, i, NSCQ_PATH_REPORT_SUFFIX, (nscq_fn_t)on_report, x, err);
    e = e != DGA_E_OK
            ? e
            : observe_switch(ss, i, NSCQ_PATH_CERTIFICATE_SUFFIX, (nscq_fn_t)on_cert, x, err);
    e = e != DGA_E_OK ? e : check_chain(x, i, err);
    x->tnvl = DGA_NSCQ_TNVL_UNKNOWN;
    e = e != DGA_E_OK
            ? e
            : observe_switch(ss, i, NSCQ_PATH_PCIE_MODE_SUFFIX, (nscq_fn_t)on_tnvl, x, err);
    if (e != DGA_E_OK) {
        return e;
    }
    s->tnvl_status = x->tnvl;
    s->report = malloc(x->report_len);
    s->chain_pem = bytes_dup_text(x->chain, x->chain_len);
    if (s->report == NULL || s->chain_pem == NULL) {
        return nscq_error_set(err, DGA_E_NOMEM, NULL, "", (int)i, s->label);
    }
    memcpy(s->report, x->report, x->report_len);
    s->report_len = x->report_len;
    s->chain_pem_len = x->chain_len;
    return DGA_E_OK;
}

void dga_switch_collection_clear(struct dga_switch_collection *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n && i < DGA_NSCQ_MAX_SWITCHES; i++) {
        free(c->sw[i].report);
        free(c->sw[i].chain_pem);
    }
    memset(c, 0, sizeof *c);
}

static void observe_ctx_freep(struct observe_ctx **p)
{
    if (*p != NULL) {
        dga_switch_collection_clear((*p)->c);
        free((*p)->c);
        free(*p);
        *p = NULL;
    }
}

static dga_err collect_all(struct session *ss, const uint8_t nonce[DGA_NONCE_LEN],
                           struct observe_ctx *x, struct dga_nscq_error *err)
{
    dga_err e = enumerate(ss, x, err);
    for (size_t i = 0; e == DGA_E_OK && i < x->c->n; i++) {
        e = collect_switch(ss, i, nonce, x, err);
    }
    return e;
}

dga_err dga_nscq_collect(const char *path, const uint8_t nonce[DGA_NONCE_LEN],
                         struct dga_switch_collection *ret, struct dga_nscq_error *err)
{
    _cleanup_(observe_ctx_freep) struct observe_ctx *x = calloc(1, sizeof *x);
    if (x == NULL || (x->c = calloc(1, sizeof *x->c)) == NULL) {
        return nscq_error_set(err, DGA_E_NOMEM, NULL, "", -1, "");
    }
    struct session ss;
    memset(&ss, 0, sizeof ss);
    x->lib = &ss.lib;
    memcpy(x->c->nonce, nonce, DGA_NONCE_LEN);
    dga_err e = session_open(&ss, path, err);
    if (e == DGA_E_OK) {
        e = collect_all(&ss, nonce, x, err);
    }
    session_close(&ss);
    if (e != DGA_E_OK) {
        return e;
    }
    *ret = *x->c;
    memset(x->c, 0, sizeof *x->c); /* ownership moved to *ret */
    return DGA_E_OK;
}
