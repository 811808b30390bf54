/* SPDX-License-Identifier: Apache-2.0 */
/* What the subcommands share: exit codes, error printing, evidence loading. */
#ifndef DGA_TOOLS_CLI_H
#define DGA_TOOLS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "dga/evidence.h"
#include "dga/ocsp.h"
#include "dga/policy.h"
#include "dga/rim.h"
#include "dga/topology.h"
#include "dga/verify.h"

#define PROGRAM "dstack-gpu-attest"

enum exit_code {
    EXIT_VERIFIED = 0, /* every device passed */
    EXIT_REJECTED = 1, /* a check failed */
    EXIT_USAGE = 2,
    EXIT_IO = 3, /* I/O or internal error */
};

struct command {
    const char *group; /* "evidence" */
    const char *verb;  /* "verify", or NULL for a one-word command */
    int (*run)(int argc, char **argv);
    const char *summary;
};

int cmd_evidence_inspect(int argc, char **argv);
int cmd_evidence_verify(int argc, char **argv);
int cmd_rim_inspect(int argc, char **argv);
int cmd_rim_verify(int argc, char **argv);
int cmd_eat_verify(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_verifier(int argc, char **argv);
int cmd_kms_hook(int argc, char **argv);
int cmd_collateral_fetch(int argc, char **argv);
int cmd_collateral_fetch_tdx(int argc, char **argv);
int cmd_collateral_status(int argc, char **argv);
int cmd_events_replay(int argc, char **argv);
int cmd_events_emit(int argc, char **argv);
int cmd_events_policy_hash(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_quote_inspect(int argc, char **argv);
int cmd_quote_verify(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_rpc(int argc, char **argv);
int cmd_nvattest(int argc, char **argv);
int cmd_topology_check(int argc, char **argv);

struct dga_nvml_error;
/* Why an NVML collection failed, in one line (`collect` and the nvattest drop-in). */
void cli_nvml_error_text(const struct dga_nvml_error *err, char *out, size_t size);

struct dga_nscq_error;
/*
 * Why an NSCQ collection failed, in one line that names the error, the NSCQ function (and
 * path, switch, NSCQ's code): what `collect --nscq` and the nvattest drop-in print.
 */
void cli_nscq_error_text(const struct dga_nscq_error *err, char *out, size_t size);

/* "dstack-gpu-attest: <what>: <why>" on stderr. */
__attribute__((format(printf, 1, 2))) void cli_error(const char *fmt, ...);

/* Where a command's evidence comes from (--evidence, or --report/--cert-chain/--arch). */
struct evidence_args {
    const char *evidence;
    const char *report;
    const char *cert_chain;
    const char *arch;
};

/*
 * The four evidence options as getopt_long entries, for a command that still
 * runs its own getopt loop (attest); the others list CLI_EVIDENCE_VALUES in
 * their option table (tools/args.h).
 */
#define CLI_EVIDENCE_OPTIONS                                                                       \
    {"evidence", required_argument, NULL, 'e'}, {"report", required_argument, NULL, 'r'},          \
        {"cert-chain", required_argument, NULL, 'c'},                                              \
    {                                                                                              \
        "arch", required_argument, NULL, 'a'                                                       \
    }

/* Takes an evidence option's value (ch from CLI_EVIDENCE_OPTIONS); false for any other ch. */
bool cli_evidence_option(int ch, const char *value, struct evidence_args *ev);

/*
 * Loads the evidence the arguments name. Returns an exit code: EXIT_VERIFIED
 * on success, EXIT_USAGE for a bad combination, EXIT_IO if a file cannot be
 * read, EXIT_REJECTED if the container itself is malformed (untrusted input).
 */
int cli_load_evidence(const struct evidence_args *a, struct dga_evidence_set *ret);

/*
 * One nvattest evidence file (the option named opt) whose every item must be
 * of one kind: NVSwitch (want_switch) or GPU. An item of the other kind is
 * "<opt>: item <i> is <arch> evidence, expected GPU|NVSwitch", EXIT_USAGE.
 */
int cli_load_evidence_kind(const char *opt, const char *path, bool want_switch,
                           struct dga_evidence_set *set);

/* Reads a file whole, capped; prints the error itself. Returns an exit code. */
int cli_read_file(const char *path, size_t cap, uint8_t **ret, size_t *ret_len);
/*
 * Prints why a file could not be read (errno for DGA_E_IO when the failed call
 * set it, else the error's message) and returns EXIT_IO: cli_read_file's
 * message, for files a library function reads (the EAT key loaders).
 */
int cli_file_error(const char *path, dga_err e);

/*
 * The trust anchor: the compiled-in root that nvidia_root() loads, or the PEM
 * file the user named explicitly (then marked custom). Returns an exit code.
 */
int cli_load_trust(const char *path, dga_err (*nvidia_root)(struct dga_trust *),
                   struct dga_trust *ret);

/* Reads and parses a RIM document; prints the error itself. Returns an exit code. */
int cli_load_rim(const char *path, struct dga_rim **ret);

/*
 * The policy document at path, or the built-in default when path is NULL;
 * prints the error itself ("<path>: <message> [<name>] (<field>)", exit 2).
 * `attest` and `topology check` (its "ppcie" object) read it alike.
 */
int cli_load_policy(const char *path, struct dga_policy **ret);

/* The topology options of a policy's "ppcie" object: counts and gpu_pdi_in_cert. */
void cli_topology_options(const struct dga_policy *p, struct dga_topology_options *ret);

/*
 * The topology section of the text output, from dga_topology_json: each GPU's
 * links, each NVSwitch's PDI, position, lock status and named GPUs, the
 * expected and seen counts with the outcome, and every finding
 * (tools/topology_text.c). `topology check` and `attest` print the same.
 */
void cli_print_topology(const json_t *topology);

/* Subject, issuer, serial and validity of a certificate, for JSON output. */
json_t *cli_cert_json(X509 *x);

/* Dumps JSON to stdout with 4-space indentation and sorted keys, then a newline. */
int cli_print_json(json_t *j);

#endif
