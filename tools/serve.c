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
#include "dga/collect.h"
#include "dga/rpc.h"
#include "server_cmd.h"

static void serve_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s serve --config GATE.json [--OPTION VALUE | --OPTION=VALUE]...\n"
            "\n"
            "Serves what the boot gate committed to the CVM's apps, on dstack's prpc\n"
            "conventions (JSON, or protobuf: proto/dstack_gpu_attest.proto): GET or POST\n"
            "/GpuInfo, /GetGpuAttestation, /EnsureGpuReady (re-attests a lost ready state),\n"
            "/AttestGpu (a caller's nonce). Call it with '%s rpc METHOD'.\n"
            "\n"
            "Options (durations take s/m/h/d, sizes K/M):\n"
            "%s"
            "  --help                                this text\n"
            "\n"
            "Under systemd socket activation (LISTEN_PID, LISTEN_FDS=1) it serves on the\n"
            "socket passed as fd 3 and --listen, --socket-mode and --socket-group are not\n"
            "used. One log line per request (peer pid, uid, gid) on stderr. Exit status: 0\n"
            "stopped by SIGINT/SIGTERM, 2 usage or configuration error, 3 cannot listen\n"
            "(another instance on the socket included).\n",
            PROGRAM, PROGRAM, dga_rpc_config_help());
}

static void log_line(void *cls, const char *line)
{
    (void)cls;
    fprintf(stderr, "%s serve: %s\n", PROGRAM, line);
}

/* Why serving could not start: configuration (2), or the socket itself (3). */
static int serve_error(const struct dga_rpc_config *c, dga_err e, const struct dga_diag *d)
{
    if (e == DGA_E_SERVICE_GROUP) {
        cli_error("serve: --socket-group %s: %s: %s", c->socket_group, dga_err_name(e),
                  dga_err_message(e));
        return EXIT_USAGE;
    }
    cli_error("serve: %s: %s: %s (%s)", c->listen, dga_err_name(e), dga_err_message(e),
              d->field != NULL ? d->field : "?");
    return e == DGA_E_BAD_ARGUMENT || e == DGA_E_SERVICE_ACTIVATION ? EXIT_USAGE : EXIT_IO;
}

int cmd_serve(int argc, char **argv)
{
    struct dga_rpc_config c;
    dga_rpc_config_defaults(&c);
    const struct server_command cmd = {.name = "serve",
                                       .options = dga_rpc_config_options(),
                                       .usage = serve_usage,
                                       .config_is_path = true};
    int rc = server_parse_args(argc, argv, &cmd, &c);
    if (rc != EXIT_VERIFIED) {
        return rc < 0 ? EXIT_VERIFIED : rc;
    }
    if (c.gate_config[0] == '\0') {
        cli_error("serve: --config GATE.json is required");
        return EXIT_USAGE;
    }
    struct dga_diag d = {0};
    if (dga_rpc_config_check(&c, &d) != DGA_E_OK) {
        cli_error("serve: %s: %s", d.field, dga_err_message(d.err));
        return EXIT_USAGE;
    }
    c.log = log_line;
    /*
     * Threads serve the requests, and a child forked from a threaded process must not run
     * library code: the NVML children are a fresh image of this very program (the running
     * binary even if the package was replaced on disk since).
     */
    if (dga_collect_set_child_program("/proc/self/exe") != DGA_E_OK) {
        cli_error("serve: cannot set the NVML child program");
        return EXIT_IO;
    }
    sigset_t stop;
    server_block_signals(&stop);
    _cleanup_(dga_rpc_freep) struct dga_rpc *r = NULL;
    dga_err e = dga_rpc_new(&c, c.gate_config, &r, &d);
    if (e != DGA_E_OK) {
        cli_error("serve: %s: %s: %s (key %s)", c.gate_config, dga_err_name(e), dga_err_message(e),
                  d.field != NULL ? d.field : "?");
        return e == DGA_E_NOMEM ? EXIT_IO : EXIT_USAGE;
    }
    e = dga_rpc_serve(r, &d);
    if (e != DGA_E_OK) {
        return serve_error(&c, e, &d);
    }
    server_wait("serve", &stop);
    return EXIT_VERIFIED;
}
