/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest collateral fetch: provisioning a collateral directory
 * for air-gapped verification (docs/revocation.md). Every RIM and OCSP
 * response the evidence needs, through NVIDIA's services or a proxy,
 * verified, stored atomically in DIR (DIR/rims: a RIM store for attest
 * --rim-dir; DIR/ocsp: for attest --ocsp cache --collateral-dir DIR).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509.h>

#include "cli.h"
#include "collateral.h"
#include "dga/cleanup.h"
#include "dga/collateral.h"
#include "dga/rim.h"

static void fetch_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s collateral fetch (--evidence JSON | --report FILE --cert-chain PEM\n"
            "                            --arch ARCH) --dir DIR [--rim-url URL]\n"
            "                            [--ocsp-url URL] [--at TIME] [--ocsp-max-age SECONDS]\n"
            "                            [--trust-root PEM] [--rim-trust-root PEM]\n"
            "\n"
            "Fetches every RIM (GET URL/v1/rim/<id>, default %s) and\n"
            "every OCSP response (POST to URL, default %s) the evidence\n"
            "needs, verifies them (RIM signature and signer chain to the CoRIM root, OCSP\n"
            "responses as attest does) and stores them atomically: RIMs in DIR/rims (use\n"
            "attest --rim-dir DIR/rims), OCSP responses in DIR/ocsp (use attest --ocsp cache\n"
            "--collateral-dir DIR). The device chain is verified to --trust-root, RIM signer\n"
            "chains to --rim-trust-root (default: NVIDIA's pinned roots); responses are\n"
            "held to --ocsp-max-age (default 604800; 0 = nextUpdate alone). The report is\n"
            "text only (--json is refused). Exit 0 when everything was fetched and verified.\n",
            PROGRAM, DGA_RIM_SERVICE_DEFAULT_URL, DGA_OCSP_DEFAULT_URL);
}

struct fetch_run {
    struct collateral_args args;
    time_t at;
    struct dga_trust device_root, rim_root;
    struct dga_ocsp_source ocsp;
    char rim_dir[4096];
    char done[2 * DGA_MAX_DEVICES][DGA_RIM_ID_MAX]; /* RIM ids handled already */
    size_t n_done;
    int failures;
};

static void report_chain(const char *what, const struct dga_ocsp_chain_result *o, dga_err e,
                         struct fetch_run *run)
{
    if (e != DGA_E_OK || o->err != DGA_E_OK || o->status != DGA_OCSP_CHAIN_GOOD) {
        run->failures++;
    }
    printf("  ocsp %-18s %s", what, dga_ocsp_chain_status_name(o->status));
    if (o->reason[0] != '\0') {
        printf(" (%s)", o->reason);
    }
    if (o->failed >= 0) {
        const struct dga_ocsp_cert_result *c = &o->certs[o->failed];
        printf(": certificate %d \"%s\": %s [%s]", c->index, c->subject,
               dga_ocsp_failure_text(c, o->err), dga_err_name(o->err));
    }
    printf("\n");
}

static bool rim_seen(struct fetch_run *run, const char *id)
{
    for (size_t i = 0; i < run->n_done; i++) {
        if (strcmp(run->done[i], id) == 0) {
            return true;
        }
    }
    if (run->n_done < sizeof run->done / sizeof run->done[0]) {
        snprintf(run->done[run->n_done++], DGA_RIM_ID_MAX, "%s", id);
    }
    return false;
}

/* Parse, signer chain, signature: only a sound document is stored. */
static dga_err verify_rim(const uint8_t *xml, size_t len, struct fetch_run *run,
                          struct dga_rim **ret, struct dga_diag *diag)
{
    struct dga_chain_info info;
    dga_err e = dga_rim_parse(xml, len, ret, diag);
    if (e == DGA_E_OK) {
        e = dga_rim_chain_verify(*ret, &run->rim_root, run->at, &info, diag);
    }
    if (e == DGA_E_OK) {
        e = dga_rim_signature_verify(*ret, sk_X509_value((*ret)->certs, 0), diag);
    }
    return e;
}

static void fetch_rim(const char *id, struct fetch_run *run)
{
    if (id[0] == '\0' || rim_seen(run, id)) {
        return;
    }
    _cleanup_(freep) uint8_t *xml = NULL;
    size_t len = 0;
    _cleanup_(dga_rim_freep) struct dga_rim *rim = NULL;
    struct dga_diag diag = {0};
    bool added = false;
    dga_err e = dga_collateral_rim_fetch(run->args.rim_url, id, &run->ocsp.http, &xml, &len, &diag);
    if (e == DGA_E_OK) {
        e = verify_rim(xml, len, run, &rim, &diag);
    }
    if (e == DGA_E_OK) {
        e = dga_collateral_rim_store(run->rim_dir, id, xml, len, &added);
    }
    if (e != DGA_E_OK) {
        run->failures++;
        printf("  rim  %s: FAIL: %s [%s] (%s)\n", id, dga_err_message(e), dga_err_name(e),
               diag.field != NULL ? diag.field : "store");
    } else {
        printf("  rim  %s: %s\n", id, added ? "stored" : "already stored");
        _cleanup_(dga_ocsp_chain_result_clearp) struct dga_ocsp_chain_result o = {0};
        dga_err oe = dga_ocsp_check_rim(&run->ocsp, rim, run->rim_root.root, run->at, &o);
        report_chain("RIM signer chain", &o, oe, run);
    }
}

static void fetch_device(const struct dga_device_evidence *ev, size_t index, struct fetch_run *run)
{
    struct dga_report r;
    struct dga_derived d;
    struct dga_chain_info info;
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
    printf("device %zu (%s)\n", index, dga_arch_name(ev->arch));
    dga_err e = dga_report_parse(ev->report, ev->report_len, ev->arch, &r, NULL);
    if (e == DGA_E_OK) {
        e = dga_report_derive(&r, &d, NULL);
    }
    if (e == DGA_E_OK) {
        e = dga_pem_chain_parse(ev->chain_pem, ev->chain_pem_len, &chain, NULL);
    }
    if (e == DGA_E_OK) {
        e = dga_device_chain_verify(chain, ev->arch, &run->device_root, run->at, &info, NULL);
    }
    if (e != DGA_E_OK) {
        run->failures++;
        printf("  evidence: FAIL: %s [%s]\n", dga_err_message(e), dga_err_name(e));
        return;
    }
    _cleanup_(dga_ocsp_chain_result_clearp) struct dga_ocsp_chain_result o = {0};
    dga_err oe = dga_ocsp_check_chain(&run->ocsp, chain, DGA_OCSP_CHAIN_DEVICE,
                                      run->device_root.root, run->at, &o);
    report_chain("device chain", &o, oe, run);
    if (!dga_arch_is_switch(ev->arch)) {
        fetch_rim(d.driver_rim_id, run);
    }
    fetch_rim(d.vbios_rim_id, run);
}

/* A run and what it holds: the two trust roots and the OCSP memo. */
static void fetch_run_freep(struct fetch_run **p)
{
    if (*p != NULL) {
        dga_trust_clear(&(*p)->device_root);
        dga_trust_clear(&(*p)->rim_root);
        dga_ocsp_memo_freep(&(*p)->ocsp.memo);
        free(*p);
        *p = NULL;
    }
}

static int fetch_setup(struct fetch_run *run)
{
    struct collateral_args *a = &run->args;
    int rc = collateral_parse_time(a->at, &run->at);
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_trust(a->trust_root, dga_trust_nvidia_device, &run->device_root);
    }
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_trust(a->rim_trust_root, dga_trust_nvidia_rim, &run->rim_root);
    }
    dga_ocsp_source_init(&run->ocsp);
    run->ocsp.mode = DGA_OCSP_MODE_ONLINE;
    run->ocsp.url = a->ocsp_url;
    run->ocsp.max_age = a->max_age;
    run->ocsp.unlimited_age = a->max_age == 0;
    run->ocsp.dir = a->dir;
    if (rc == EXIT_VERIFIED && dga_ocsp_memo_new(&run->ocsp.memo) != DGA_E_OK) {
        rc = EXIT_IO;
    }
    snprintf(run->rim_dir, sizeof run->rim_dir, "%s/rims", a->dir);
    /* DIR itself, as the OCSP store would create it: the RIM store only makes DIR/rims */
    if (rc == EXIT_VERIFIED && mkdir(a->dir, 0755) != 0 && errno != EEXIST) {
        cli_error("collateral fetch: --dir %s: %s", a->dir, strerror(errno));
        rc = EXIT_IO;
    }
    return rc;
}

int cmd_collateral_fetch(int argc, char **argv)
{
    _cleanup_(fetch_run_freep) struct fetch_run *run = calloc(1, sizeof *run);
    _cleanup_(dga_evidence_set_freep) struct dga_evidence_set *set = calloc(1, sizeof *set);
    int rc = run != NULL && set != NULL
                 ? collateral_parse_args(argc, argv, true, fetch_usage, &run->args)
                 : EXIT_IO;
    if (rc == EXIT_VERIFIED) {
        rc = fetch_setup(run);
    }
    if (rc == EXIT_VERIFIED) {
        rc = cli_load_evidence(&run->args.ev, set);
    }
    for (size_t i = 0; rc == EXIT_VERIFIED && i < set->n; i++) {
        fetch_device(&set->dev[i], i, run);
    }
    if (rc == EXIT_VERIFIED && run->failures > 0) {
        cli_error("collateral fetch: %d item%s not fetched or not verified", run->failures,
                  run->failures == 1 ? "" : "s");
        rc = EXIT_REJECTED;
    }
    return rc;
}
