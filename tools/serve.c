/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest serve: the guest RPC service (docs/rpc.md) on a Unix
 * socket. --config is the GATE's JSON config (where the bundle, the event log
 * and NVML are); the other flags are the service's own. Runs until
 * SIGINT/SIGTERM.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dga/cleanup.h"
#include "dga/rpc.h"
#include "server_cmd.h"

static void serve_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s serve --config GATE.json [--OPTION VALUE | --OPTION=VALUE]...\n"
            "\n"
            "Serves what the boot gate committed to the CVM's apps, on dstack's prpc\n"
            "conventions (JSON mode): GET or POST /GpuInfo, /GetGpuAttestation,\n"
            "/EnsureGpuReady (re-attests a lost ready state), /AttestGpu (a caller's nonce).\n"
            "\n"
            "Options (durations take s/m/h/d, sizes K/M):\n"
            "  --config GATE.json                    the gate's config file (required)\n"
            "%s"
            "  --help                                this text\n"
            "\n"
            "One log line per request (peer pid, uid, gid) on stderr. Exit status: 0\n"
            "stopped by SIGINT/SIGTERM, 2 usage or configuration error, 3 cannot listen.\n",
            PROGRAM, dga_rpc_config_help());
}

static void log_line(void *cls, const char *line)
{
    (void)cls;
    fprintf(stderr, "%s serve: %s\n", PROGRAM, line);
}

/* Takes --config GATE.json out of argv (server_parse_args reads "key = value" files). */
static int take_config(int *argc, char **argv, const char **ret)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < *argc) {
            *ret = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            *ret = argv[i] + 9;
        } else if (strcmp(argv[i], "--config") == 0) {
            cli_error("serve: --config needs a FILE");
            return EXIT_USAGE;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    return EXIT_VERIFIED;
}

int cmd_serve(int argc, char **argv)
{
    struct dga_rpc_config c;
    dga_rpc_config_defaults(&c);
    const char *gate_config = NULL;
    int rc = take_config(&argc, argv, &gate_config);
    const struct server_command cmd = {
        .name = "serve", .options = dga_rpc_config_options(), .usage = serve_usage};
    if (rc == EXIT_VERIFIED) {
        rc = server_parse_args(argc, argv, &cmd, &c);
    }
    if (rc != EXIT_VERIFIED) {
        return rc < 0 ? EXIT_VERIFIED : rc;
    }
    if (gate_config == NULL) {
        cli_error("serve: --config GATE.json is required");
        return EXIT_USAGE;
    }
    c.log = log_line;
    sigset_t stop;
    server_block_signals(&stop);
    _cleanup_(dga_rpc_freep) struct dga_rpc *r = NULL;
    struct dga_diag d = {0};
    dga_err e = dga_rpc_new(&c, gate_config, &r, &d);
    if (e != DGA_E_OK) {
        cli_error("serve: %s: %s: %s (key %s)", gate_config, dga_err_name(e), dga_err_message(e),
                  d.field != NULL ? d.field : "?");
        return e == DGA_E_NOMEM ? EXIT_IO : EXIT_USAGE;
    }
    e = dga_rpc_serve(r, &d);
    if (e != DGA_E_OK) {
        cli_error("serve: %s: %s: %s", c.listen, dga_err_name(e), dga_err_message(e));
        return e == DGA_E_BAD_ARGUMENT ? EXIT_USAGE : EXIT_IO;
    }
    server_wait("serve", &stop);
    return EXIT_VERIFIED;
}
