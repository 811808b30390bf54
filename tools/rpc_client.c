/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest rpc METHOD [FIELD=VALUE]...: one call to the guest RPC
 * service (docs/rpc.md) over its Unix socket, for operators and scripts.
 * The answer is printed as JSON on stdout; the service's error on stderr.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "dga/cleanup.h"
#include "dga/rpc.h"

static void rpc_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s rpc METHOD [--socket PATH] [--json | --proto] [--compact]\n"
            "          [FIELD=VALUE]...\n"
            "\n"
            "Calls METHOD (GpuInfo, GetGpuAttestation, ...) of the guest RPC service and\n"
            "prints its response message as JSON (bytes as lowercase hex). FIELD=VALUE\n"
            "are the request message's fields as the JSON mapping has them: bytes in hex,\n"
            "bool true/false, integers in decimal (nonce=<64 hex digits>).\n"
            "\n"
            "  --socket PATH  the service's Unix socket (%s)\n"
            "  --json         JSON both ways (the default)\n"
            "  --proto        protobuf both ways (the .proto's messages, PrpcError)\n"
            "  --compact      one line, fields in message order (else indented, sorted)\n"
            "\n"
            "Exit 0 on an answer, 1 when the service refused (a check failed), 2 usage or\n"
            "a request the service calls malformed (rpc-method, rpc-request), 3 when the\n"
            "service cannot be reached or its answer does not decode.\n",
            PROGRAM, DGA_RPC_DEFAULT_SOCKET);
}

/* The exit status for an error the service answered. */
static int refused_status(dga_err e)
{
    switch (e) {
    case DGA_E_RPC_METHOD:
    case DGA_E_RPC_HTTP_METHOD:
    case DGA_E_RPC_REQUEST:
        return EXIT_USAGE;
    case DGA_E_NOMEM:
    case DGA_E_INTERNAL:
    case DGA_E_RPC_RESPONSE:
        return EXIT_IO;
    default:
        return EXIT_REJECTED;
    }
}

static int print_response(json_t *response, bool compact)
{
    if (!compact) {
        return cli_print_json(response);
    }
    if (json_dumpf(response, stdout, JSON_COMPACT) != 0 || fputc('\n', stdout) == EOF) {
        cli_error("cannot write JSON output");
        return EXIT_IO;
    }
    return EXIT_VERIFIED;
}

int cmd_rpc(int argc, char **argv)
{
    const char *sock = DGA_RPC_DEFAULT_SOCKET;
    bool json = false, proto = false, compact = false;
    const struct cli_option opts[] = {CLI_VALUE("socket", &sock), CLI_FLAG("json", &json),
                                      CLI_FLAG("proto", &proto), CLI_FLAG("compact", &compact),
                                      CLI_END};
    int rc = cli_parse_options(argc, argv, opts, rpc_usage);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    if (optind >= argc || (json && proto)) {
        cli_error("rpc: %s",
                  json && proto ? "--json and --proto exclude each other" : "a METHOD is required");
        return EXIT_USAGE;
    }
    const struct dga_rpc_client_request req = {.socket = sock,
                                               .method = argv[optind],
                                               .args = argv + optind + 1,
                                               .n_args = (size_t)(argc - optind - 1),
                                               .proto = proto};
    _cleanup_(dga_rpc_client_answer_clearp) struct dga_rpc_client_answer a = {0};
    char detail[DGA_RPC_DETAIL_MAX];
    dga_err e = dga_rpc_client_call(&req, &a, detail);
    if (e != DGA_E_OK) {
        cli_error("rpc: %s: %s: %s%s%s", req.method, dga_err_name(e), dga_err_message(e),
                  detail[0] != '\0' ? ": " : "", detail);
        return e == DGA_E_RPC_ARGUMENT ? EXIT_USAGE : EXIT_IO;
    }
    if (a.status != 200) {
        cli_error("rpc: %s: %s", req.method, a.error);
        return refused_status(a.err);
    }
    return print_response(a.response, compact);
}
