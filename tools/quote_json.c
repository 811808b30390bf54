/* SPDX-License-Identifier: Apache-2.0 */
/* A parsed TDX quote as JSON (docs/quote.md, Parsing). */
#include "quote_json.h"

#include <stdlib.h>

#include <openssl/x509.h>

#include "dga/cleanup.h"
#include "dga/util.h"
#include "dga/x509.h"

const char *quote_form_name(enum dga_quote_form form)
{
    switch (form) {
    case DGA_QUOTE_FORM_BINARY:
        return "binary";
    case DGA_QUOTE_FORM_HEX:
        return "hex";
    case DGA_QUOTE_FORM_JSON:
        return "json";
    }
    return "unknown";
}

/* Sets key to the lowercase hex of n bytes. */
static void set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char *hex = malloc(2 * n + 1);
    if (hex != NULL) {
        dga_hex_encode(p, n, hex);
        json_object_set_new(o, key, json_string(hex));
        free(hex);
    }
}

static json_t *header_json(const struct dga_quote *q)
{
    json_t *o = json_object();
    json_object_set_new(o, "att_key_type", json_integer(q->att_key_type));
    json_object_set_new(o, "qe_svn", json_integer(q->qe_svn));
    json_object_set_new(o, "pce_svn", json_integer(q->pce_svn));
    set_hex(o, "qe_vendor_id", q->qe_vendor_id, sizeof q->qe_vendor_id);
    set_hex(o, "user_data", q->user_data, sizeof q->user_data);
    return o;
}

static json_t *td_json(const struct dga_quote *q)
{
    const struct dga_td_report *td = &q->td;
    json_t *o = json_object();
    set_hex(o, "tee_tcb_svn", td->tee_tcb_svn, sizeof td->tee_tcb_svn);
    set_hex(o, "mr_seam", td->mr_seam, sizeof td->mr_seam);
    set_hex(o, "mr_signer_seam", td->mr_signer_seam, sizeof td->mr_signer_seam);
    set_hex(o, "seam_attributes", td->seam_attributes, sizeof td->seam_attributes);
    set_hex(o, "td_attributes", td->td_attributes, sizeof td->td_attributes);
    set_hex(o, "xfam", td->xfam, sizeof td->xfam);
    set_hex(o, "mr_td", td->mr_td, sizeof td->mr_td);
    set_hex(o, "mr_config_id", td->mr_config_id, sizeof td->mr_config_id);
    set_hex(o, "mr_owner", td->mr_owner, sizeof td->mr_owner);
    set_hex(o, "mr_owner_config", td->mr_owner_config, sizeof td->mr_owner_config);
    static const char *const rt[4] = {"rt_mr0", "rt_mr1", "rt_mr2", "rt_mr3"};
    for (unsigned i = 0; i < 4; i++) {
        set_hex(o, rt[i], td->rt_mr[i], sizeof td->rt_mr[i]);
    }
    set_hex(o, "report_data", td->report_data, sizeof td->report_data);
    if (q->body == DGA_QUOTE_BODY_IS_TD15) {
        set_hex(o, "tee_tcb_svn2", td->tee_tcb_svn2, sizeof td->tee_tcb_svn2);
        set_hex(o, "mr_service_td", td->mr_service_td, sizeof td->mr_service_td);
    }
    return o;
}

static json_t *qe_json(const struct dga_sgx_report *r)
{
    json_t *o = json_object();
    set_hex(o, "cpu_svn", r->cpu_svn, sizeof r->cpu_svn);
    json_object_set_new(o, "misc_select", json_integer(r->misc_select));
    set_hex(o, "attributes", r->attributes, sizeof r->attributes);
    set_hex(o, "mr_enclave", r->mr_enclave, sizeof r->mr_enclave);
    set_hex(o, "mr_signer", r->mr_signer, sizeof r->mr_signer);
    json_object_set_new(o, "isv_prod_id", json_integer(r->isv_prod_id));
    json_object_set_new(o, "isv_svn", json_integer(r->isv_svn));
    set_hex(o, "report_data", r->report_data, sizeof r->report_data);
    return o;
}

/* One line of a name in OpenSSL's RFC 2253 form. */
static json_t *name_json(const X509_NAME *name)
{
    _cleanup_(BIO_free_allp) BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    if (b == NULL || X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) < 0) {
        return json_null();
    }
    long n = BIO_get_mem_data(b, &p);
    return n >= 0 ? json_stringn(p, (size_t)n) : json_null();
}

/*
 * The inner certification data: its type, and for a PEM chain the number of
 * certificates and the leaf's names, or the reason it does not parse
 * (inspecting reports; verification refuses).
 */
static json_t *cert_json(const struct dga_quote *q)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_integer(q->inner_cert_type));
    json_object_set_new(o, "size", json_integer(q->inner_cert_len));
    if (q->inner_cert_type != DGA_QUOTE_CERT_PCK_CHAIN) {
        return o;
    }
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
    struct dga_diag d = {0};
    dga_err e = dga_pem_chain_parse((const char *)q->inner_cert_data, q->pem_len, &chain, &d);
    if (e != DGA_E_OK) {
        json_object_set_new(o, "error", json_string(dga_err_name(e)));
        return o;
    }
    X509 *leaf = sk_X509_value(chain, 0);
    json_object_set_new(o, "certificates", json_integer(sk_X509_num(chain)));
    json_object_set_new(o, "pck_subject", name_json(X509_get_subject_name(leaf)));
    json_object_set_new(o, "pck_issuer", name_json(X509_get_issuer_name(leaf)));
    return o;
}

json_t *quote_json(const struct dga_quote *q, enum dga_quote_form form)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "version", json_integer(q->version));
    json_object_set_new(o, "tee_type", json_string("TDX"));
    json_object_set_new(o, "body",
                        json_string(q->body == DGA_QUOTE_BODY_IS_TD15 ? "TD15" : "TD10"));
    json_object_set_new(o, "input_form", json_string(quote_form_name(form)));
    json_object_set_new(o, "header", header_json(q));
    json_object_set_new(o, "td_report", td_json(q));
    json_object_set_new(o, "qe_report", qe_json(&q->qe_report));
    json_object_set_new(o, "cert_data", cert_json(q));
    json_object_set_new(o, "padding_len", json_integer((json_int_t)q->padding_len));
    return o;
}
