/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier server: what every request shares, loaded once at start, and
 * the HTTP handlers on the service layer. POST /verify answers 200 with the
 * verdict whether valid or not, as dstack-verifier does; 400 only for a
 * request that does not parse; 503 when no verdict could be reached (the
 * collateral source did not deliver: a check not carried out is not a
 * failed check); 500 only when out of memory.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "dga/cleanup.h"
#include "dga/util.h"
#include "verifier/internal.h"
#include "verifier/testing.h"

#define verifier_log(v, ...) dga_service_logf((v)->cfg.log, (v)->cfg.log_cls, __VA_ARGS__)

/* ---- start ---- */

static dga_err load_expect(struct dga_verifier *v, struct dga_diag *diag)
{
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    dga_err e = dga_file_read(v->cfg.expect, DGA_CVM_EXPECT_MAX, &text, &len);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "expect");
    }
    e = dga_cvm_expect_parse((const char *)text, len, &v->x, diag);
    if (e != DGA_E_OK || !v->x.gpu.required) {
        return e;
    }
    return dga_cvm_reappraiser_new(&v->x, &v->reappraiser, diag);
}

/* The test root: one PEM or DER certificate. */
static dga_err load_root(struct dga_verifier *v, struct dga_diag *diag)
{
    _cleanup_(freep) uint8_t *data = NULL;
    size_t len = 0;
    dga_err e = dga_file_read(v->cfg.test_trusted_root, 1u << 16, &data, &len);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "test-trusted-root");
    }
    if (len > 0 && data[0] == 0x30) {
        const unsigned char *p = data;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        if (x != NULL && p == data + len) {
            v->root = (struct dga_trust){.root = x, .custom = true};
            v->has_root = true;
            return DGA_E_OK;
        }
        X509_free(x);
    } else if (dga_trust_from_pem((const char *)data, len, &v->root) == DGA_E_OK) {
        v->has_root = true;
        return DGA_E_OK;
    }
    return dga_diag_set(diag, DGA_E_VERIFIER_CONFIG, 0, "test-trusted-root");
}

/* The collateral file, read and parsed once (a document that does not parse stops the start). */
static dga_err load_collateral(struct dga_verifier *v, struct dga_diag *diag)
{
    uint8_t *text = NULL;
    dga_err e =
        dga_file_read(v->cfg.collateral, DGA_QUOTE_COLLATERAL_MAX, &text, &v->collateral_len);
    if (e != DGA_E_OK) {
        return dga_diag_set(diag, e, 0, "collateral");
    }
    v->collateral = (char *)text;
    const struct dga_quote_collateral *c = NULL;
    struct coll_entry *entry = NULL;
    e = coll_cache_get(v->cache, v->collateral, v->collateral_len, &c, &entry, diag);
    coll_entry_put(entry);
    return e;
}

static dga_err load_all(struct dga_verifier *v, struct dga_diag *diag)
{
    dga_err e = load_expect(v, diag);
    if (e == DGA_E_OK && v->cfg.test_trusted_root[0] != '\0') {
        e = load_root(v, diag);
    }
    if (e == DGA_E_OK) {
        e = coll_cache_new(v->cfg.collateral_cache, &v->cache);
    }
    if (e == DGA_E_OK && v->cfg.collateral[0] != '\0') {
        e = load_collateral(v, diag);
    }
    return e;
}

dga_err dga_verifier_new(const struct dga_verifier_config *c, struct dga_verifier **ret,
                         struct dga_diag *diag)
{
    dga_err e = dga_verifier_config_check(c, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    struct dga_verifier *v = calloc(1, sizeof *v);
    if (v == NULL) {
        return DGA_E_NOMEM;
    }
    v->cfg = *c;
    e = load_all(v, diag);
    if (e != DGA_E_OK) {
        dga_verifier_free(v);
        return e;
    }
    if (v->has_root) {
        verifier_log(v, "WARNING: quotes are verified to the TEST root %s, not Intel's",
                     v->cfg.test_trusted_root);
    }
    if (v->cfg.has_at) {
        char t[21];
        dga_time_format(v->cfg.at, t);
        verifier_log(v, "WARNING: every request is verified at the fixed TEST time %s", t);
    }
    *ret = v;
    return DGA_E_OK;
}

void dga_verifier_free(struct dga_verifier *v)
{
    if (v == NULL) {
        return;
    }
    dga_service_stop(v->svc); /* no request runs past this */
    coll_cache_free(v->cache);
    free(v->collateral);
    dga_trust_clear(&v->root);
    dga_cvm_reappraiser_free(v->reappraiser);
    dga_cvm_expect_clear(&v->x);
    free(v);
}

void verifier_cache_counts(struct dga_verifier *v, size_t *ret_hits, size_t *ret_misses,
                           size_t *ret_entries)
{
    coll_cache_counts(v->cache, ret_hits, ret_misses, ret_entries);
}

/* ---- POST /verify ---- */

static dga_err dump(json_t *j, unsigned status, unsigned *ret_status, char **ret, size_t *ret_len)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL) {
        return DGA_E_NOMEM;
    }
    *ret_status = status;
    *ret_len = strlen(text);
    *ret = text;
    return DGA_E_OK;
}

/* What `verify --json` prints for a CVM input that does not parse. */
static json_t *refused(const char *what, dga_err e, const struct dga_diag *d, const char *prefix)
{
    const char *field = d->field != NULL ? d->field : what;
    char reason[512];
    snprintf(reason, sizeof reason, "%s: %s: %s: %s (field %s)", prefix, what, dga_err_name(e),
             dga_err_message(e), field);
    return json_pack("{s:b,s:s,s:s,s:s}", "is_valid", 0, "reason", reason, "error", dga_err_name(e),
                     "field", field);
}

/*
 * dga_cvm_run reached no verdict: every evidence failure (a quote that does not
 * parse or verify, one without a PCK chain to key its collateral by, any
 * check) is a verdict there, so what it returns besides DGA_E_NOMEM is the
 * collateral source not delivering (an entry missing, unreadable or not
 * parsing, a PCCS unreachable or answering an error). 503 says so: not
 * valid, and nothing said about the CVM; the same request may pass later.
 * The operator's log names the entry a directory lacked.
 */
static dga_err not_carried_out(const struct dga_verifier *v, const struct dga_cvm_run *r, dga_err e,
                               const struct dga_diag *d, unsigned *ret_status, char **ret_body,
                               size_t *ret_len)
{
    verifier_log(v, "no verdict: collateral: %s (%s%s%s)", dga_err_name(e),
                 d->field != NULL ? d->field : "?", r->collateral_path[0] != '\0' ? " " : "",
                 r->collateral_path);
    json_t *j = refused("collateral", e, d, "Verification could not be carried out");
    return dump(j, 503, ret_status, ret_body, ret_len);
}

dga_err dga_verifier_verify(struct dga_verifier *v, const uint8_t *body, size_t len, time_t at,
                            unsigned *ret_status, char **ret_body, size_t *ret_len)
{
    _cleanup_(dga_cvm_input_clearp) struct dga_cvm_input in = {0};
    struct dga_diag d = {0};
    dga_err e = dga_cvm_input_parse((const char *)(body != NULL ? body : (const uint8_t *)""), len,
                                    &in, &d);
    if (e == DGA_E_NOMEM) {
        return e;
    }
    if (e != DGA_E_OK) {
        return dump(refused("attestation", e, &d, "Input verification failed"), 400, ret_status,
                    ret_body, ret_len);
    }
    _cleanup_(dga_cvm_run_clearp) struct dga_cvm_run r = {0};
    struct dga_diag rd = {0};
    e = verifier_run(v, &in, at, &r, &rd);
    if (e == DGA_E_NOMEM) {
        return e;
    }
    if (e != DGA_E_OK) {
        return not_carried_out(v, &r, e, &rd, ret_status, ret_body, ret_len);
    }
    return dump(dga_cvm_run_json(&r), 200, ret_status, ret_body, ret_len);
}

/* ---- HTTP ---- */

enum route { ROUTE_VERIFY, ROUTE_HEALTH };

/* 0 and the route, or the status for a path we do not serve or a method it does not take. */
static unsigned route_of(const char *method, const char *uri, enum route *ret)
{
    if (strcmp(uri, "/verify") == 0) {
        *ret = ROUTE_VERIFY;
        return strcmp(method, "POST") == 0 ? 0 : 405;
    }
    if (strcmp(uri, "/health") == 0) {
        *ret = ROUTE_HEALTH;
        return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ? 0 : 405;
    }
    return 404;
}

static unsigned on_head(void *cls, const struct dga_service_request *r)
{
    (void)cls;
    enum route route;
    return route_of(r->method, r->uri, &route);
}

static dga_err on_request(void *cls, const struct dga_service_request *r,
                          struct dga_service_response *ret)
{
    struct dga_verifier *v = cls;
    enum route route;
    unsigned status = route_of(r->method, r->uri, &route);
    if (status != 0) {
        dga_service_response_json(ret, status, dga_service_status_json(status));
        return DGA_E_OK;
    }
    if (route == ROUTE_HEALTH) {
        dga_service_response_json(ret, 200, "{\"status\":\"ok\"}");
        return DGA_E_OK;
    }
    time_t at = v->cfg.has_at ? v->cfg.at : time(NULL); /* the request's arrival */
    char *body = NULL;
    size_t len = 0;
    dga_err e = dga_verifier_verify(v, r->body, r->body_len, at, &status, &body, &len);
    dga_service_answer_owned(ret, e, status, body, len);
    return DGA_E_OK;
}

static void log_line(void *cls, const char *line)
{
    verifier_log((const struct dga_verifier *)cls, "%s", line);
}

dga_err dga_verifier_serve(struct dga_verifier *v, struct dga_diag *diag)
{
    const struct dga_service_config sc = {
        .listen = v->cfg.listen,
        .limits = v->cfg.limits,
        .max_uri = 1024,
        .log = log_line,
        .log_cls = v,
    };
    const struct dga_service_handlers h = {
        .head = on_head, .handle = on_request, .error = dga_service_error_json, .cls = v};
    dga_err e = dga_service_start(&sc, &h, &v->svc, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    verifier_log(v, "listening on %s (port %u), expectations %s", v->cfg.listen,
                 dga_service_port(v->svc), v->cfg.expect);
    return DGA_E_OK;
}

unsigned dga_verifier_port(const struct dga_verifier *v)
{
    return v->svc != NULL ? dga_service_port(v->svc) : 0;
}
