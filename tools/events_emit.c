/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest events emit (docs/measure.md): extend a register and
 * append the log line, as dstack's emit_runtime_event does.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "dga/cleanup.h"
#include "dga/measure.h"
#include "dga/util.h"

struct emit_args {
    const char *name;
    const char *payload_file;
    const char *payload_hex;
    const char *backend;
    const char *digest_version;
    struct dga_event_paths paths;
};

static void emit_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s events emit --name NAME (--payload-file F | --payload-hex HEX)\n"
            "           [--backend sim:PATH|tdx|tpm[:PCR[:BANK]]] [--log-dir DIR]\n"
            "           [--lock-file PATH] [--digest-version 1|2] [--tcti CONF]\n"
            "           [--tdx-sysfs DIR] [--tdx-device PATH]\n"
            "\n"
            "Emits one dstack runtime event: takes the lock dstack uses, reads the\n"
            "digest version file, extends the register, and only then appends the JSON\n"
            "line to <log-dir>/runtime_events.log. A failed extend leaves the log as it was.\n"
            "\n"
            "  --name NAME            event name (printable ASCII, no ':', '\"' or '\\')\n"
            "  --payload-file F       payload bytes (at most 64 KiB)\n"
            "  --payload-hex HEX      payload as hex instead\n"
            "  --backend SPEC         sim:PATH (a file holding the 48-byte register),\n"
            "                         tdx (RTMR3: sysfs, else the legacy ioctl; default),\n"
            "                         tpm[:PCR[:BANK]] (default PCR 14, bank sha256|sha384)\n"
            "  --log-dir DIR          default /run/log/dstack\n"
            "  --lock-file PATH       default <log-dir>/runtime_event.lock\n"
            "  --digest-version 1|2   write the version file first (once per boot, as\n"
            "                         dstack's setup does); without it the file must exist\n"
            "  --tcti CONF            tpm2-tss TCTI, e.g. device:/dev/tpmrm0 (default: search)\n"
            "  --tdx-sysfs DIR        default $DCAP_TDX_RTMR_SYSFS_PATH or\n"
            "                         /sys/devices/virtual/misc/tdx_guest/measurements\n"
            "  --tdx-device PATH      default /dev/tdx_guest\n"
            "\n"
            "Exit 0 emitted, 2 usage, 3 the register, lock, version file or log failed.\n",
            PROGRAM);
}

static int emit_parse_args(int argc, char **argv, struct emit_args *a)
{
    const struct cli_option opts[] = {
        CLI_VALUE("name", &a->name),
        CLI_VALUE("payload-file", &a->payload_file),
        CLI_VALUE("payload-hex", &a->payload_hex),
        CLI_VALUE("backend", &a->backend),
        CLI_VALUE("log-dir", &a->paths.log_dir),
        CLI_VALUE("lock-file", &a->paths.lock_path),
        CLI_VALUE("digest-version", &a->digest_version),
        CLI_VALUE("tcti", &a->paths.tpm_tcti),
        CLI_VALUE("tdx-sysfs", &a->paths.tdx_sysfs_dir),
        CLI_VALUE("tdx-device", &a->paths.tdx_device),
        CLI_END,
    };
    int rc = cli_parse_options(argc, argv, opts, emit_usage);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    if (optind != argc || a->name == NULL ||
        (a->payload_file == NULL) == (a->payload_hex == NULL)) {
        cli_error("events emit: --name and exactly one of --payload-file/--payload-hex are "
                  "required");
        return EXIT_USAGE;
    }
    if (dga_event_name_check(a->name) != DGA_E_OK) {
        cli_error("--name '%s': %s [%s]", a->name, dga_err_message(DGA_E_EVENT_NAME),
                  dga_err_name(DGA_E_EVENT_NAME));
        return EXIT_USAGE;
    }
    if (a->digest_version != NULL && strcmp(a->digest_version, "1") != 0 &&
        strcmp(a->digest_version, "2") != 0) {
        cli_error("--digest-version: 1 or 2");
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

static int load_payload(const struct emit_args *a, uint8_t **ret, size_t *ret_len)
{
    if (a->payload_file != NULL) {
        return cli_read_file(a->payload_file, DGA_EVENT_PAYLOAD_MAX, ret, ret_len);
    }
    if (strlen(a->payload_hex) > 2 * (size_t)DGA_EVENT_PAYLOAD_MAX ||
        dga_hex_decode(a->payload_hex, strlen(a->payload_hex), ret, ret_len) != DGA_E_OK) {
        cli_error("--payload-hex: at most %u bytes of hex", DGA_EVENT_PAYLOAD_MAX);
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

static void print_emit_error(const char *what, dga_err e, const struct dga_diag *d)
{
    cli_error("%s: %s [%s] (%s)", what, dga_err_message(e), dga_err_name(e),
              d->field != NULL && d->field[0] != '\0' ? d->field : "-");
}

/* Opens the backend, writes the version file if asked, emits; returns an exit code. */
static int emit_event(const struct emit_args *a, const uint8_t *payload, size_t len)
{
    _cleanup_(dga_event_backend_freep) struct dga_event_backend *b = NULL;
    struct dga_diag diag = {0};
    const char *spec = a->backend != NULL ? a->backend : "tdx";
    dga_err e = dga_event_backend_open(spec, &a->paths, &b, &diag);
    if (e != DGA_E_OK) {
        print_emit_error(spec, e, &diag);
        return e == DGA_E_BAD_ARGUMENT ? EXIT_USAGE : EXIT_IO;
    }
    if (a->digest_version != NULL) {
        e = dga_event_version_set(b, a->digest_version[0] == '2' ? DGA_EVENT_V2 : DGA_EVENT_V1,
                                  &diag);
    }
    if (e == DGA_E_OK) {
        e = dga_event_emit(b, a->name, payload, len, &diag);
    }
    if (e != DGA_E_OK) {
        print_emit_error(a->name, e, &diag);
    } else {
        printf("emitted %s (%zu bytes) to %s\n", a->name, len, spec);
    }
    return e == DGA_E_OK ? EXIT_VERIFIED : EXIT_IO;
}

int cmd_events_emit(int argc, char **argv)
{
    struct emit_args a = {0};
    int rc = emit_parse_args(argc, argv, &a);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    /* tpm2-tss prints its own errors unless TSS2_LOG says otherwise; ours are enough. */
    setenv("TSS2_LOG", "all+NONE", 0);
    _cleanup_(freep) uint8_t *payload = NULL;
    size_t len = 0;
    rc = load_payload(&a, &payload, &len);
    if (rc == EXIT_VERIFIED) {
        rc = emit_event(&a, payload, len);
    }
    return rc;
}
