/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The relying-party verifier as an HTTP server (docs/verify.md, Server):
 * dstack-verifier's POST /verify (its VerificationRequest, plus this
 * project's optional gpu_bundle string) answered with dga_cvm_run_json's
 * document, and GET /health, on the service layer (dga/service.h). The
 * expectations, the re-appraiser and the quote's collateral source are the
 * server's, loaded once at start; the verification time is each request's
 * arrival. The quote's collateral is parsed once per distinct document
 * (keyed by the SHA-256 of its bytes) and shared across requests: every
 * time window is still checked at each request's time, so the cache never
 * changes a verdict.
 */
#ifndef DGA_VERIFIER_H
#define DGA_VERIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dga/error.h"
#include "dga/service.h"

#define DGA_VERIFIER_PATH_MAX 4096
#define DGA_VERIFIER_CONFIG_FILE_MAX (64 * 1024)

struct dga_verifier_config {
    char listen[256];                              /* "ADDR:PORT" or "[ADDR6]:PORT"; port 0 = any */
    char expect[DGA_VERIFIER_PATH_MAX];            /* the expectations document (required) */
    char collateral[DGA_VERIFIER_PATH_MAX];        /* exactly one of these three: */
    char collateral_dir[DGA_VERIFIER_PATH_MAX];    /*   a QuoteCollateralV3 file, a TDX */
    char pccs_url[1024];                           /*   collateral directory, a PCCS */
    char test_trusted_root[DGA_VERIFIER_PATH_MAX]; /* tests only: the quote's root */
    bool has_at;                                   /* tests only: a fixed verification time */
    time_t at;
    /*
     * client-timeout (10 s), client-request-timeout (30 s), max-request (the
     * POST /verify body, at most DGA_CVM_INPUT_MAX: 8M), max-connections
     * (256), max-connections-per-client (64)
     */
    struct dga_service_limits limits;
    size_t collateral_cache; /* parsed collateral documents kept (64) */
    dga_service_log_fn log;  /* NULL = nowhere */
    void *log_cls;
};

void dga_verifier_config_defaults(struct dga_verifier_config *c);
/*
 * Sets one option by its long name without "--" ("listen", "expect",
 * "collateral-dir", ...; the list is in docs/verify.md and `verifier
 * --help`). Durations take s/m/h/d suffixes (bare numbers are seconds),
 * sizes K/M; "at" is YYYY-MM-DDTHH:MM:SSZ or @UNIX_SECONDS.
 * DGA_E_VERIFIER_CONFIG for an unknown key or a bad value; c is then unchanged.
 */
dga_err dga_verifier_config_set(struct dga_verifier_config *c, const char *key, const char *value);
bool dga_verifier_config_known(const char *key);
/* One line per option for usage text (static storage). */
const char *dga_verifier_config_help(void);
/*
 * The option table behind these functions, so that a program parses its
 * flags with the service layer's helpers (dga_service_options_*).
 */
const struct dga_service_options *dga_verifier_config_options(void);
/*
 * "key = value" lines, '#' comment lines, blank lines ignored; an unknown
 * key, a line without '=' or a bad value is DGA_E_VERIFIER_CONFIG with
 * diag->offset = the line (1-based). Keys before the failing line stay applied.
 */
dga_err dga_verifier_config_load_text(struct dga_verifier_config *c, const char *text, size_t len,
                                      struct dga_diag *diag);
dga_err dga_verifier_config_load_file(struct dga_verifier_config *c, const char *path,
                                      struct dga_diag *diag);
/* Cross-field checks: listen parses, expect set, exactly one collateral source, sane bounds. */
dga_err dga_verifier_config_check(const struct dga_verifier_config *c, struct dga_diag *diag);

struct dga_verifier;

/*
 * Checks the config and loads what every request shares: the expectations
 * (DGA_E_CVM_EXPECT and the file errors, diag->field naming the key), the
 * re-appraiser when they require GPUs (dga_cvm_reappraiser_new's errors),
 * the collateral file (parsed once: DGA_E_QUOTE_COLLATERAL) and the test
 * root (DGA_E_VERIFIER_CONFIG when not one PEM or DER certificate). Serves
 * nothing yet.
 */
dga_err dga_verifier_new(const struct dga_verifier_config *c, struct dga_verifier **ret,
                         struct dga_diag *diag);
/* Starts serving (dga_service_start's errors). */
dga_err dga_verifier_serve(struct dga_verifier *v, struct dga_diag *diag);
/* The bound TCP port once serving (useful with port 0). */
unsigned dga_verifier_port(const struct dga_verifier *v);
/* Stops serving, waits for the threads and frees everything. NULL is fine. */
void dga_verifier_free(struct dga_verifier *v);
static inline void dga_verifier_freep(struct dga_verifier **p)
{
    dga_verifier_free(*p);
    *p = NULL;
}

/*
 * POST /verify without HTTP: the request body verified at `at`. *ret_status
 * is 200 with the verdict document (valid or not), 400 for a request that
 * does not parse ({"is_valid": false, "reason": "Input verification failed:
 * ...", "error", "field"}), 503 when no verdict could be reached because the
 * collateral source did not deliver ({"is_valid": false, "reason":
 * "Verification could not be carried out: collateral: ...", "error",
 * "field"}); *ret_body is malloc'd JSON text. DGA_E_NOMEM otherwise
 * (nothing returned).
 */
dga_err dga_verifier_verify(struct dga_verifier *v, const uint8_t *body, size_t len, time_t at,
                            unsigned *ret_status, char **ret_body, size_t *ret_len);

#endif
