/* SPDX-License-Identifier: Apache-2.0 */
/* dstack-gpu-attest: one program, subcommands from a table (after wg). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dga/collect.h"

static const struct command commands[] = {
    {"evidence", "inspect", cmd_evidence_inspect, "decode an attestation report as JSON"},
    {"evidence", "verify", cmd_evidence_verify,
     "verify report signature, certificate chain, nonce and FWID"},
    {"attest", NULL, cmd_attest, "appraise evidence offline with RIMs and a policy"},
    {"rim", "inspect", cmd_rim_inspect, "decode a RIM document as JSON"},
    {"rim", "verify", cmd_rim_verify, "verify a RIM's XML signature and signer chain"},
    {"eat", "verify", cmd_eat_verify, "verify a detached EAT token"},
    {"collect", NULL, cmd_collect, "collect GPU evidence from NVML and the PCI inventory"},
    {"events", "replay", cmd_events_replay, "recompute RTMR3 from a dstack event log"},
    {"events", "emit", cmd_events_emit, "extend RTMR3/a PCR and log a dstack runtime event"},
    {"events", "policy-hash", cmd_events_policy_hash, "dstack's gpu-policy-hash of an app"},
    {"proxy", NULL, cmd_proxy, "serve NVIDIA OCSP and RIM collateral from a cache"},
    {"collateral", "fetch", cmd_collateral_fetch,
     "fetch and verify the RIMs and OCSP responses evidence needs"},
    {"collateral", "status", cmd_collateral_status,
     "list a collateral directory and its freshness"},
    {"collateral", "fetch-tdx", cmd_collateral_fetch_tdx,
     "fetch, verify and store a TDX quote's DCAP collateral from a PCCS"},
    {"quote", "inspect", cmd_quote_inspect, "decode an Intel TDX quote (verifies nothing)"},
    {"quote", "verify", cmd_quote_verify, "verify a TDX quote against its DCAP collateral"},
    {"gate", NULL, cmd_gate, "boot gate: attest the GPUs, measure the result, set ready"},
    {"serve", NULL, cmd_serve,
     "guest RPC service: GpuInfo, GetGpuAttestation, EnsureGpuReady, AttestGpu"},
    {"rpc", NULL, cmd_rpc, "call a method of the guest RPC service (JSON or protobuf)"},
    {"verify", NULL, cmd_verify, "verify a dstack CVM and its GPUs as a relying party"},
    {"verifier", NULL, cmd_verifier, "serve verify over HTTP (dstack-verifier's POST /verify)"},
    {"kms-hook", NULL, cmd_kms_hook, "KMS authorization webhook (auth-simple, with GPU rules)"},
    {"topology", "check", cmd_topology_check,
     "verify GPU and NVSwitch evidence and their PPCIe topology"},
    {"nvattest", NULL, cmd_nvattest, "nvattest drop-in for dstack-util: attest, print the bundle"},
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: %s <command> [options]\n\nCommands:\n", PROGRAM);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const struct command *c = &commands[i];
        char name[32];
        snprintf(name, sizeof name, "%s%s%s", c->group, c->verb != NULL ? " " : "",
                 c->verb != NULL ? c->verb : "");
        fprintf(out, "  %-18s %s\n", name, c->summary);
    }
    fprintf(out,
            "\nRun '%s <command> --help' for a command's options.\n"
            "Exit status: 0 verified, 1 verification failed, 2 usage, 3 I/O or internal "
            "error.\nSee dstack-gpu-attest(1).\n",
            PROGRAM);
}

/* Installed as /usr/bin/nvattest (a link or a copy), the program is the drop-in. */
static bool called_nvattest(const char *argv0)
{
    const char *slash = argv0 != NULL ? strrchr(argv0, '/') : NULL;
    const char *base = slash != NULL ? slash + 1 : argv0;
    return base != NULL && strcmp(base, "nvattest") == 0;
}

int main(int argc, char **argv)
{
    /*
     * Internal, not in the help: the NVML children the service spawns, the long-lived state
     * reader's included (`__nvml-child state-server NVML`: docs/collect.md).
     */
    if (argc >= 2 && strcmp(argv[1], DGA_COLLECT_CHILD_COMMAND) == 0) {
        return dga_collect_child_main(argc - 1, argv + 1);
    }
    if (argc >= 1 && called_nvattest(argv[0])) {
        return cmd_nvattest(argc, argv);
    }
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return EXIT_VERIFIED;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s %s\n", PROGRAM, DGA_VERSION);
        return EXIT_VERIFIED;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const struct command *c = &commands[i];
        if (strcmp(argv[1], c->group) != 0) {
            continue;
        }
        if (c->verb == NULL) {
            return c->run(argc - 1, argv + 1); /* a one-word command: attest */
        }
        if (argc >= 3 && strcmp(argv[2], c->verb) == 0) {
            return c->run(argc - 2, argv + 2);
        }
    }
    cli_error("unknown command '%s%s%s' (try --help)", argv[1], argc >= 3 ? " " : "",
              argc >= 3 ? argv[2] : "");
    return EXIT_USAGE;
}
