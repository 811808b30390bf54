/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest collateral status: what a collateral directory
 * (docs/revocation.md) holds and until when each piece is fresh, by the
 * library's one freshness rule (dga_ocsp_fresh_at), the rule attest
 * applies: status never calls fresh what attest rejects. With evidence,
 * also what the directory still lacks for it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/x509.h>

#include "cli.h"
#include "collateral.h"
#include "dga/cleanup.h"
#include "dga/collateral.h"
#include "dga/quote.h"
#include "dga/rim.h"
#include "dga/util.h"

static void status_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s collateral status --dir DIR [--at TIME] [--ocsp-max-age SECONDS] [--json]\n"
            "                             [--rim-trust-root PEM]\n"
            "                             [--evidence JSON | --report FILE --cert-chain PEM\n"
            "                              --arch ARCH]\n"
            "\n"
            "Lists the OCSP responses (status, thisUpdate, nextUpdate, and when each stops\n"
            "being usable: min(nextUpdate, thisUpdate + max age)) and the RIMs (id,\n"
            "version, SHA-256, signer chain expiry under --rim-trust-root, default NVIDIA's\n"
            "CoRIM root) in DIR. A response is fresh by attest's own rule (thisUpdate and\n"
            "nextUpdate within 300 s of skew, nextUpdate not before thisUpdate, age at most\n"
            "--ocsp-max-age with no skew; 0 = nextUpdate alone); its signature is not\n"
            "checked here: attest verifies every piece when it uses it. Also the TDX\n"
            "collateral (DIR/tdx/<FMSPC>-<ca>.json): the windows of its TCB info, QE\n"
            "identity and both CRLs, and when the entry is usable (all four current), its\n"
            "signatures not checked either (quote verify checks them). With evidence, also\n"
            "what is missing for it: each RIM id, and each certificate of its device chain\n"
            "and of the stored RIMs' signer chains without a stored response. Exit 1 when a\n"
            "response or TDX entry is not usable at TIME (default now), an entry is\n"
            "unreadable or misnamed, or something is missing.\n"
            "--trust-root, --rim-url and --ocsp-url are refused: status fetches nothing and\n"
            "verifies no device chain.\n",
            PROGRAM);
}

/* Names in dir ending in suffix, sorted; NULL when dir is absent. */
static int list_dir(const char *dir, const char *suffix, struct dirent ***ret)
{
    int n = scandir(dir, ret, NULL, alphasort);
    size_t sl = strlen(suffix);
    int k = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen((*ret)[i]->d_name);
        if (l > sl && strcmp((*ret)[i]->d_name + l - sl, suffix) == 0 &&
            (*ret)[i]->d_name[0] != '.') {
            (*ret)[k++] = (*ret)[i];
        } else {
            free((*ret)[i]);
        }
    }
    return n < 0 ? (errno == ENOENT ? 0 : -1) : k;
}

/* The freshness parameters attest uses by default, with status's --at and --ocsp-max-age. */
static void freshness_at(time_t at, long max_age, struct dga_ocsp_check *c)
{
    dga_ocsp_check_init(c, at, NULL);
    c->max_age = max_age;
    c->unlimited_age = max_age == 0;
}

static json_t *ocsp_entry(const char *dir, const char *name, time_t at, long max_age, bool *stale)
{
    char path[4096], key[DGA_OCSP_KEY_LEN], tu[21], nu[21], until[21];
    _cleanup_(freep) uint8_t *der = NULL;
    size_t len = 0;
    struct dga_ocsp_result r;
    snprintf(path, sizeof path, "%s/ocsp/%s", dir, name);
    dga_err e = dga_file_read_flags(path, DGA_OCSP_RESPONSE_MAX, DGA_FILE_NOFOLLOW, &der, &len);
    if (e == DGA_E_OK) {
        e = dga_ocsp_response_peek(der, len, &r);
    }
    if (e == DGA_E_OK) {
        e = dga_ocsp_response_key(der, len, key);
    }
    if (e != DGA_E_OK) {
        *stale = true;
        return json_pack("{s:s,s:s}", "file", name, "error", dga_err_name(e));
    }
    bool named_right = strncmp(name, key, 64) == 0 && strcmp(name + 64, ".der") == 0;
    struct dga_ocsp_check c;
    freshness_at(at, max_age, &c);
    dga_err why = dga_ocsp_fresh_at(&c, &r, NULL);
    bool fresh = named_right && why == DGA_E_OK;
    *stale = *stale || !fresh;
    dga_time_format(r.this_update, tu);
    dga_time_format(r.next_update, nu);
    dga_time_format(dga_ocsp_usable_until(&c, &r), until);
    return json_pack("{s:s,s:s,s:b,s:s,s:o,s:s,s:o,s:s,s:b,s:o}", "file", name, "certid_sha256",
                     key, "named_by_certid", named_right, "status", dga_ocsp_status_name(r.status),
                     "revocation_reason", r.reason[0] != '\0' ? json_string(r.reason) : json_null(),
                     "this_update", tu, "next_update",
                     r.next_update_present ? json_string(nu) : json_null(), "usable_until", until,
                     "fresh", fresh, "stale_reason",
                     why != DGA_E_OK ? json_string(dga_err_name(why)) : json_null());
}

static json_t *rim_entry(const char *dir, const char *name, const struct dga_trust *root, time_t at)
{
    char path[4096], sha[65];
    _cleanup_(freep) uint8_t *xml = NULL;
    size_t len = 0;
    _cleanup_(dga_rim_freep) struct dga_rim *rim = NULL;
    struct dga_chain_info info;
    snprintf(path, sizeof path, "%s/rims/%s", dir, name);
    dga_err e = dga_file_read_flags(path, DGA_RIM_MAX_BYTES, DGA_FILE_NOFOLLOW, &xml, &len);
    if (e == DGA_E_OK) {
        e = dga_rim_parse(xml, len, &rim, NULL);
    }
    if (e != DGA_E_OK) {
        return json_pack("{s:s,s:s}", "file", name, "error", dga_err_name(e));
    }
    dga_hex_encode(rim->sha256, sizeof rim->sha256, sha);
    bool chain_ok = dga_rim_chain_verify(rim, root, at, &info, NULL) == DGA_E_OK;
    return json_pack("{s:s,s:s,s:s,s:o,s:b}", "file", name, "version", rim->colloquial_version,
                     "sha256", sha, "signer_chain_expires",
                     chain_ok ? json_string(info.expiration_date) : json_null(),
                     "signer_chain_valid_now", chain_ok && !info.expired && !info.not_yet_valid);
}

/* ------------------------------------------------------------ TDX collateral */

/* An ASN1 time as "YYYY-MM-DDTHH:MM:SSZ" and, through the library's one parser, seconds. */
static bool asn1_time(const ASN1_TIME *t, char out[21], time_t *ret)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    return t != NULL && ASN1_TIME_to_tm(t, &tm) == 1 &&
           strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 20 &&
           dga_time_parse(out, ret) == DGA_E_OK;
}

/* One document's validity window, and the entry's (the intersection of all four) so far. */
struct tdx_window {
    time_t from, until;
};

/* last: the last second the document is usable (a CRL is expired at its nextUpdate itself). */
static json_t *window_json(time_t from, time_t until, time_t last, struct tdx_window *all)
{
    char f[21], u[21];
    dga_time_format(from, f);
    dga_time_format(until, u);
    all->from = from > all->from ? from : all->from;
    all->until = last < all->until ? last : all->until;
    return json_pack("{s:s,s:s}", "from", f, "until", u);
}

/* A CRL's thisUpdate .. nextUpdate (a CRL without nextUpdate has no window: refused). */
static json_t *crl_window(const uint8_t *der, size_t len, struct tdx_window *all, bool *processor)
{
    char f[21], u[21], cn[128] = "";
    time_t from = 0, until = 0;
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    bool ok = crl != NULL && asn1_time(X509_CRL_get0_lastUpdate(crl), f, &from) &&
              asn1_time(X509_CRL_get0_nextUpdate(crl), u, &until);
    if (ok && processor != NULL) {
        X509_NAME_get_text_by_NID(X509_CRL_get_issuer(crl), NID_commonName, cn, sizeof cn);
        *processor = strstr(cn, "Processor") != NULL;
    }
    X509_CRL_free(crl);
    /* OpenSSL (quote verify): thisUpdate <= at < nextUpdate */
    return ok ? window_json(from, until, until - 1, all) : NULL;
}

/* The four windows of a collateral document, as out's members; false if one cannot be read. */
static bool tdx_windows(const struct dga_quote_collateral *c, json_t *out, struct tdx_window *all,
                        char fmspc[13], bool *processor)
{
    _cleanup_(dga_tcb_info_clearp) struct dga_tcb_info tcb = {0};
    _cleanup_(dga_qe_identity_clearp) struct dga_qe_identity qe = {0};
    if (dga_tcb_info_parse(c->tcb_info, c->tcb_info_len, &tcb, NULL) != DGA_E_OK ||
        dga_qe_identity_parse(c->qe_identity, c->qe_identity_len, &qe, NULL) != DGA_E_OK) {
        return false;
    }
    dga_hex_encode_upper(tcb.fmspc, sizeof tcb.fmspc, fmspc);
    /* quote verify: issueDate <= at <= nextUpdate, both bounds inclusive */
    json_object_set_new(out, "tcb_info",
                        window_json(tcb.issue_date, tcb.next_update, tcb.next_update, all));
    json_object_set_new(out, "qe_identity",
                        window_json(qe.issue_date, qe.next_update, qe.next_update, all));
    json_t *root = crl_window(c->root_ca_crl, c->root_ca_crl_len, all, NULL);
    json_t *pck = crl_window(c->pck_crl, c->pck_crl_len, all, processor);
    json_object_set_new(out, "root_ca_crl", root != NULL ? root : json_null());
    json_object_set_new(out, "pck_crl", pck != NULL ? pck : json_null());
    return root != NULL && pck != NULL;
}

/*
 * One entry of <dir>/tdx: its documents' windows and the entry's (all four current), read
 * without checking any signature (quote verify checks every piece when it uses it). It is
 * named right when its name is the FMSPC of its TCB info and the CA of its PCK CRL, the
 * key quote verify --collateral-dir looks it up by.
 */
static json_t *tdx_entry(const char *dir, const char *name, time_t at, bool *stale)
{
    char path[4096], fmspc[13] = "", want[32], f[21], u[21];
    _cleanup_(freep) uint8_t *json = NULL;
    _cleanup_(dga_quote_collateral_clearp) struct dga_quote_collateral c = {0};
    size_t len = 0;
    bool processor = false;
    snprintf(path, sizeof path, "%s/tdx/%s", dir, name);
    dga_err e = dga_file_read_flags(path, DGA_QUOTE_COLLATERAL_MAX, DGA_FILE_NOFOLLOW, &json, &len);
    if (e == DGA_E_OK) {
        e = dga_quote_collateral_parse((const char *)json, len, &c, NULL);
    }
    struct tdx_window all = {0, (time_t)INT64_MAX};
    json_t *out = json_pack("{s:s}", "file", name);
    if (e == DGA_E_OK && !tdx_windows(&c, out, &all, fmspc, &processor)) {
        e = DGA_E_QUOTE_COLLATERAL;
    }
    if (e != DGA_E_OK) {
        *stale = true;
        json_decref(out);
        return json_pack("{s:s,s:s}", "file", name, "error", dga_err_name(e));
    }
    snprintf(want, sizeof want, "%s-%s.json", fmspc, dga_tdx_collateral_ca_name(processor));
    bool named_right = strcmp(name, want) == 0;
    bool fresh = named_right && all.from <= at && at <= all.until;
    *stale = *stale || !fresh;
    dga_time_format(all.from, f);
    dga_time_format(all.until, u);
    json_object_set_new(out, "fmspc", json_string(fmspc));
    json_object_set_new(out, "pck_ca", json_string(dga_tdx_collateral_ca_name(processor)));
    json_object_set_new(out, "named_by_key", json_boolean(named_right));
    json_object_set_new(out, "usable_from", json_string(f));
    json_object_set_new(out, "usable_until", json_string(u));
    json_object_set_new(out, "fresh", json_boolean(fresh));
    return out;
}

/* ------------------------------------------------------------ what evidence still needs */

/* A store entry is there (lstat: opening a FIFO planted in the store would block). */
static bool file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The certificates of chain (root last) that OCSP checks and DIR has no response for. */
static void missing_ocsp(const char *dir, STACK_OF(X509) *chain, enum dga_ocsp_chain_kind kind,
                         const char *what, json_t *missing)
{
    int subjects[DGA_OCSP_CHAIN_CHECKS];
    size_t n = dga_ocsp_chain_subjects(kind, sk_X509_num(chain), subjects);
    for (size_t k = 0; k < n; k++) {
        char key[DGA_OCSP_KEY_LEN], path[4096], cn[128] = "";
        X509 *subject = sk_X509_value(chain, subjects[k]);
        if (dga_ocsp_cert_key(subject, sk_X509_value(chain, subjects[k] + 1), key) != DGA_E_OK ||
            dga_collateral_ocsp_path(dir, key, path, sizeof path) != DGA_E_OK ||
            file_exists(path)) {
            continue;
        }
        X509_NAME_get_text_by_NID(X509_get_subject_name(subject), NID_commonName, cn, sizeof cn);
        json_array_append_new(missing,
                              json_pack("{s:s,s:s,s:i,s:s,s:s}", "kind", "ocsp", "chain", what,
                                        "index", subjects[k], "subject", cn, "certid_sha256", key));
    }
}

/* A stored RIM's signer chain, as OCSP walks it (the CoRIM root last). */
static void missing_for_rim(const char *dir, const char *id, const struct dga_trust *root,
                            json_t *missing)
{
    char path[4096];
    _cleanup_(freep) uint8_t *xml = NULL;
    size_t len = 0;
    _cleanup_(dga_rim_freep) struct dga_rim *rim = NULL;
    snprintf(path, sizeof path, "%s/rims/%s.xml", dir, id);
    if (!file_exists(path)) {
        json_array_append_new(missing, json_pack("{s:s,s:s}", "kind", "rim", "id", id));
        return;
    }
    if (dga_file_read_flags(path, DGA_RIM_MAX_BYTES, DGA_FILE_NOFOLLOW, &xml, &len) == DGA_E_OK &&
        dga_rim_parse(xml, len, &rim, NULL) == DGA_E_OK) {
        _cleanup_(sk_X509_freep) STACK_OF(X509) *chain = sk_X509_dup(rim->certs);
        int n = chain != NULL ? sk_X509_num(chain) : 0;
        if (n > 0 && X509_self_signed(sk_X509_value(chain, n - 1), 0) == 1) {
            (void)sk_X509_pop(chain);
        }
        if (chain != NULL && sk_X509_push(chain, root->root) > 0) {
            missing_ocsp(dir, chain, DGA_OCSP_CHAIN_RIM, id, missing);
        }
    }
}

static void missing_for_device(const char *dir, const struct dga_device_evidence *ev,
                               const struct dga_trust *rim_root, json_t *missing)
{
    struct dga_report r;
    struct dga_derived d;
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
    if (dga_report_parse(ev->report, ev->report_len, ev->arch, &r, NULL) != DGA_E_OK ||
        dga_report_derive(&r, &d, NULL) != DGA_E_OK ||
        dga_pem_chain_parse(ev->chain_pem, ev->chain_pem_len, &chain, NULL) != DGA_E_OK) {
        json_array_append_new(missing, json_pack("{s:s}", "kind", "unreadable-evidence"));
        return;
    }
    missing_ocsp(dir, chain, DGA_OCSP_CHAIN_DEVICE, "device", missing);
    if (!dga_arch_is_switch(ev->arch)) {
        missing_for_rim(dir, d.driver_rim_id, rim_root, missing);
    }
    missing_for_rim(dir, d.vbios_rim_id, rim_root, missing);
}

/* Every missing piece, once (devices of one model need the same RIMs and CAs). */
static json_t *missing_json(const char *dir, const struct dga_evidence_set *set,
                            const struct dga_trust *rim_root)
{
    _cleanup_(json_decrefp) json_t *all = json_array();
    json_t *unique = json_array();
    size_t i, j;
    json_t *e, *u;
    for (i = 0; i < set->n; i++) {
        missing_for_device(dir, &set->dev[i], rim_root, all);
    }
    json_array_foreach(all, i, e)
    {
        bool dup = false;
        json_array_foreach(unique, j, u)
        {
            dup = dup || json_equal(e, u);
        }
        if (!dup) {
            json_array_append(unique, e);
        }
    }
    return unique;
}

static void print_status_text(const json_t *out)
{
    size_t i;
    json_t *e;
    printf("OCSP responses (%zu):\n", json_array_size(json_object_get(out, "ocsp")));
    json_array_foreach(json_object_get(out, "ocsp"), i, e)
    {
        const char *err = json_string_value(json_object_get(e, "error"));
        if (err != NULL) {
            printf("  %s: UNREADABLE [%s]\n", json_string_value(json_object_get(e, "file")), err);
            continue;
        }
        printf("  %.16s... %-7s thisUpdate %s, usable until %s%s\n",
               json_string_value(json_object_get(e, "file")),
               json_string_value(json_object_get(e, "status")),
               json_string_value(json_object_get(e, "this_update")),
               json_string_value(json_object_get(e, "usable_until")),
               json_is_true(json_object_get(e, "fresh"))             ? ""
               : json_is_true(json_object_get(e, "named_by_certid")) ? "  STALE"
                                                                     : "  MISNAMED");
    }
    printf("RIMs (%zu):\n", json_array_size(json_object_get(out, "rims")));
    json_array_foreach(json_object_get(out, "rims"), i, e)
    {
        const char *err = json_string_value(json_object_get(e, "error"));
        const char *exp = json_string_value(json_object_get(e, "signer_chain_expires"));
        printf("  %s: %s\n", json_string_value(json_object_get(e, "file")),
               err != NULL   ? err
               : exp != NULL ? exp
                             : "signer chain does not verify");
    }
    printf("TDX collateral (%zu):\n", json_array_size(json_object_get(out, "tdx")));
    json_array_foreach(json_object_get(out, "tdx"), i, e)
    {
        const char *err = json_string_value(json_object_get(e, "error"));
        if (err != NULL) {
            printf("  %s: UNREADABLE [%s]\n", json_string_value(json_object_get(e, "file")), err);
            continue;
        }
        printf("  %s: usable from %s until %s%s\n", json_string_value(json_object_get(e, "file")),
               json_string_value(json_object_get(e, "usable_from")),
               json_string_value(json_object_get(e, "usable_until")),
               json_is_true(json_object_get(e, "fresh"))          ? ""
               : json_is_true(json_object_get(e, "named_by_key")) ? "  STALE"
                                                                  : "  MISNAMED");
    }
    const json_t *missing = json_object_get(out, "missing");
    if (missing == NULL) {
        return;
    }
    printf("missing for the evidence (%zu):\n", json_array_size(missing));
    json_array_foreach(missing, i, e)
    {
        const char *kind = json_string_value(json_object_get(e, "kind"));
        if (strcmp(kind, "ocsp") == 0) {
            printf("  OCSP response: %s chain certificate %d \"%s\" (%.16s...)\n",
                   json_string_value(json_object_get(e, "chain")),
                   (int)json_integer_value(json_object_get(e, "index")),
                   json_string_value(json_object_get(e, "subject")),
                   json_string_value(json_object_get(e, "certid_sha256")));
        } else if (strcmp(kind, "rim") == 0) {
            printf("  RIM %s\n", json_string_value(json_object_get(e, "id")));
        } else {
            printf("  (the evidence cannot be read)\n");
        }
    }
}

/* The OCSP responses, RIMs and TDX collateral in DIR, listed into out; -1 when DIR cannot be read.
 */
static int list_store(const struct collateral_args *a, time_t at, const struct dga_trust *rim_root,
                      json_t *out, bool *stale)
{
    char sub[4096];
    struct dirent **ocsp = NULL, **rims = NULL, **tdx = NULL;
    snprintf(sub, sizeof sub, "%s/tdx", a->dir);
    int n_tdx = list_dir(sub, ".json", &tdx);
    for (int i = 0; i < n_tdx; i++) {
        json_array_append_new(json_object_get(out, "tdx"),
                              tdx_entry(a->dir, tdx[i]->d_name, at, stale));
        free(tdx[i]);
    }
    free(tdx);
    snprintf(sub, sizeof sub, "%s/ocsp", a->dir);
    int n_ocsp = list_dir(sub, ".der", &ocsp);
    snprintf(sub, sizeof sub, "%s/rims", a->dir);
    int n_rims = list_dir(sub, ".xml", &rims);
    for (int i = 0; i < n_ocsp; i++) {
        json_array_append_new(json_object_get(out, "ocsp"),
                              ocsp_entry(a->dir, ocsp[i]->d_name, at, a->max_age, stale));
        free(ocsp[i]);
    }
    for (int i = 0; i < n_rims; i++) {
        json_array_append_new(json_object_get(out, "rims"),
                              rim_entry(a->dir, rims[i]->d_name, rim_root, at));
        free(rims[i]);
    }
    free(ocsp);
    free(rims);
    return n_ocsp < 0 || n_rims < 0 || n_tdx < 0 ? -1 : 0;
}

/* With evidence: what DIR still lacks for it, as out.missing. Returns an exit code. */
static int list_missing(struct collateral_args *a, const struct dga_trust *rim_root, json_t *out,
                        bool *stale)
{
    _cleanup_(dga_evidence_set_freep) struct dga_evidence_set *set = calloc(1, sizeof *set);
    int rc = set != NULL ? cli_load_evidence(&a->ev, set) : EXIT_IO;
    if (rc == EXIT_VERIFIED) {
        json_t *m = missing_json(a->dir, set, rim_root);
        *stale = *stale || json_array_size(m) > 0;
        json_object_set_new(out, "missing", m);
    }
    return rc;
}

int cmd_collateral_status(int argc, char **argv)
{
    struct collateral_args a = {0};
    _cleanup_(dga_trust_clearp) struct dga_trust rim_root = {0};
    time_t at = 0;
    int rc = collateral_parse_args(argc, argv, false, status_usage, &a);
    if (rc == EXIT_VERIFIED) {
        rc = collateral_parse_time(a.at, &at);
    }
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_trust(a.rim_trust_root, dga_trust_nvidia_rim, &rim_root);
    }
    bool stale = false;
    _cleanup_(json_decrefp) json_t *out =
        rc == EXIT_VERIFIED ? json_pack("{s:[],s:[],s:[]}", "ocsp", "rims", "tdx") : NULL;
    if (rc == EXIT_VERIFIED && (out == NULL || list_store(&a, at, &rim_root, out, &stale) != 0)) {
        cli_error("%s: cannot be read", a.dir);
        rc = EXIT_IO;
    }
    if (rc == EXIT_VERIFIED && (a.ev.evidence != NULL || a.ev.report != NULL)) {
        rc = list_missing(&a, &rim_root, out, &stale);
    }
    if (rc == EXIT_VERIFIED) {
        char at_text[21];
        dga_time_format(at, at_text);
        json_object_set_new(out, "at", json_string(at_text));
        json_object_set_new(out, "fresh", json_boolean(!stale));
        rc = a.json ? cli_print_json(out) : (print_status_text(out), EXIT_VERIFIED);
        rc = rc == EXIT_VERIFIED && stale ? EXIT_REJECTED : rc;
    }
    return rc;
}
