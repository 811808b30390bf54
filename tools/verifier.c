/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest verifier: the relying-party verifier as an HTTP server
 * (docs/verify.md, Server). Options come from, in increasing precedence:
 * built-in defaults, --config FILE, then flags. Runs until SIGINT/SIGTERM.
 */
#include <stdlib.h>

#include "cli.h"
#include "dga/cleanup.h"
#include "dga/verifier.h"
#include "server_cmd.h"

static void verifier_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s verifier [--config FILE] [--OPTION VALUE | --OPTION=VALUE]...\n"
            "\n"
            "Serves `verify` over HTTP, as dstack-verifier does: POST /verify takes its\n"
            "VerificationRequest JSON (quote, event_log, vm_config, report_data) plus an\n"
            "optional gpu_bundle string, and answers 200 with the verdict, valid or not;\n"
            "GET /health. The expectations and the collateral source are the server's.\n"
            "\n"
            "Options (durations take s/m/h/d, sizes K/M):\n"
            "  --config FILE                         'key = value' lines, keys as below\n"
            "%s"
            "  --help                                this text\n"
            "\n"
            "Logs go to stderr. Exit status: 0 stopped by SIGINT/SIGTERM, 2 usage or\n"
            "configuration error, 3 cannot listen or out of memory.\n",
            PROGRAM, dga_verifier_config_help());
}

static void log_line(void *cls, const char *line)
{
    (void)cls;
    fprintf(stderr, "%s verifier: %s\n", PROGRAM, line);
}

static int load_config(int argc, char **argv, struct dga_verifier_config *c)
{
    dga_verifier_config_defaults(c);
    const struct server_command cmd = {
        .name = "verifier", .options = dga_verifier_config_options(), .usage = verifier_usage};
    int rc = server_parse_args(argc, argv, &cmd, c);
    struct dga_diag d = {0};
    if (rc == 0 && dga_verifier_config_check(c, &d) != DGA_E_OK) {
        cli_error("verifier: %s: %s", d.field, dga_err_message(d.err));
        rc = EXIT_USAGE;
    }
    c->log = log_line;
    return rc;
}

/* What stopped the start: the relying party's files are configuration (2); else 3. */
static int start_error(const char *step, dga_err e, const struct dga_diag *d)
{
    cli_error("verifier: %s: %s: %s: %s", step, d->field != NULL ? d->field : "?", dga_err_name(e),
              dga_err_message(e));
    return server_start_exit(e);
}

int cmd_verifier(int argc, char **argv)
{
    struct dga_verifier_config c;
    int rc = load_config(argc, argv, &c);
    if (rc != 0) {
        return rc < 0 ? EXIT_VERIFIED : rc;
    }
    /* Block the stop signals in every thread; the main thread waits for them. */
    sigset_t stop;
    server_block_signals(&stop);

    _cleanup_(dga_verifier_freep) struct dga_verifier *v = NULL;
    struct dga_diag d = {0};
    dga_err e = dga_verifier_new(&c, &v, &d);
    if (e != DGA_E_OK) {
        return start_error("load", e, &d);
    }
    e = dga_verifier_serve(v, &d);
    if (e != DGA_E_OK) {
        return start_error("serve", e, &d);
    }
    server_wait("verifier", &stop);
    return EXIT_VERIFIED;
}
