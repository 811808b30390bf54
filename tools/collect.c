/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest collect: the PCI inventory from sysfs, then every GPU's
 * evidence from NVML for a nonce (in a child process with a deadline), the
 * inventory checked against NVML, and the result written as NVIDIA's
 * serialized evidence JSON (nvattest collect-evidence wrapper) that
 * `attest --evidence` reads. With --nscq, the NVSwitches' evidence from NSCQ too (the same
 * nonce, its own child and deadline), under "switches" as nvattest's switch evidence JSON.
 * It verifies nothing and sets no ready state.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "dga/cleanup.h"
#include "dga/collect.h"
#include "dga/util.h"

#define DEFAULT_TIMEOUT_MS 60000u
#define MAX_TIMEOUT_MS 600000ul

struct collect_args {
    const char *nonce;
    const char *nvml;
    const char *nscq;
    const char *sysfs;
    const char *out;
    unsigned timeout_ms;
};

static void collect_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s collect [--nonce HEX] [--nvml LIB] [--nscq LIB] [--sysfs DIR]\n"
            "                         [--out FILE] [--timeout-ms N]\n"
            "\n"
            "Reads the PCI inventory (NVIDIA GPUs and NVSwitches; any other display\n"
            "controller is an error), collects every GPU's attestation report for the\n"
            "nonce and its certificate chain from NVML, checks that NVML sees exactly the\n"
            "inventory's GPUs, and writes NVIDIA's serialized evidence JSON with the PCI\n"
            "address, UUID and CC settings of each device. Nothing is verified here:\n"
            "run 'attest --evidence FILE --nonce HEX' on the result. With --nscq, also\n"
            "every NVSwitch's report (same nonce) and chain from NSCQ, checked against the\n"
            "inventory's NVSwitch count, under \"switches\" (nvattest's switch evidence).\n"
            "\n"
            "  --nonce HEX       32-byte nonce (64 hex digits); default: fresh from getrandom\n"
            "  --nvml LIB        NVML library to load (default libnvidia-ml.so.1)\n"
            "  --nscq LIB        also collect NVSwitch evidence with this NSCQ library\n"
            "                    (e.g. libnvidia-nscq.so.2); default: no NVSwitch evidence\n"
            "  --sysfs DIR       PCI devices directory (default /sys/bus/pci/devices)\n"
            "  --out FILE        write the JSON here (atomically) instead of stdout\n"
            "  --timeout-ms N    deadline for the whole NVML collection, and again for\n"
            "                    the NSCQ one (default %u)\n",
            PROGRAM, DEFAULT_TIMEOUT_MS);
}

static int parse_timeout(const char *text, void *ret)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v == 0 || v > MAX_TIMEOUT_MS) {
        cli_error("--timeout-ms: expected 1..%lu", MAX_TIMEOUT_MS);
        return EXIT_USAGE;
    }
    *(unsigned *)ret = (unsigned)v;
    return EXIT_VERIFIED;
}

static int parse_args(int argc, char **argv, struct collect_args *a)
{
    const struct cli_option opts[] = {
        CLI_VALUE("nonce", &a->nonce),
        CLI_VALUE("nvml", &a->nvml),
        CLI_VALUE("nscq", &a->nscq),
        CLI_VALUE("sysfs", &a->sysfs),
        CLI_VALUE("out", &a->out),
        CLI_PARSED("timeout-ms", parse_timeout, &a->timeout_ms),
        CLI_END,
    };
    a->timeout_ms = DEFAULT_TIMEOUT_MS;
    int rc = cli_parse_options(argc, argv, opts, collect_usage);
    if (rc == EXIT_VERIFIED && optind != argc) {
        cli_error("collect: unexpected argument '%s'", argv[optind]);
        rc = EXIT_USAGE;
    }
    return rc;
}

static int get_nonce(const char *hex, uint8_t nonce[DGA_NONCE_LEN])
{
    if (hex == NULL) {
        if (dga_collect_nonce(nonce) != DGA_E_OK) {
            cli_error("collect: getrandom: no random bytes");
            return EXIT_IO;
        }
        return EXIT_VERIFIED;
    }
    if (dga_hex_decode_fixed(hex, nonce, DGA_NONCE_LEN) != DGA_E_OK) {
        cli_error("--nonce: expected 64 hexadecimal digits");
        return EXIT_USAGE;
    }
    return EXIT_VERIFIED;
}

static int scan_inventory(const char *root, struct dga_inventory *inv)
{
    struct dga_inventory_error err;
    memset(&err, 0, sizeof err);
    dga_err e = dga_inventory_scan(root, inv, &err);
    if (e == DGA_E_OK) {
        return EXIT_VERIFIED;
    }
    cli_error("collect: PCI inventory: %s: %s%s%s%s", dga_err_name(e), dga_err_message(e),
              err.entry[0] != '\0' ? " (" : "", err.entry, err.entry[0] != '\0' ? ")" : "");
    /* A foreign display device is a finding about the machine; the rest is I/O. */
    return e == DGA_E_PCI_FOREIGN_DISPLAY ? EXIT_REJECTED : EXIT_IO;
}

static void nvml_error_print(const struct dga_nvml_error *err)
{
    char text[512];
    cli_nvml_error_text(err, text, sizeof text);
    cli_error("collect: %s", text);
}

static json_t *inventory_json(const struct dga_inventory *inv)
{
    json_t *gpus = json_array(), *switches = json_array();
    for (size_t i = 0; i < inv->n_gpus; i++) {
        json_array_append_new(gpus, json_string(inv->gpu[i].address));
    }
    for (size_t i = 0; i < inv->n_switches; i++) {
        json_array_append_new(switches, json_string(inv->nvswitch[i].address));
    }
    return json_pack("{s:o,s:o}", "gpus", gpus, "nvswitches", switches);
}

/*
 * Writes text and a newline to path with core's atomic writer, so readers never
 * see half a file and the file survives a crash once written. The newline takes
 * the place of text's NUL while it is written.
 */
static int write_atomically(const char *path, char *text)
{
    size_t len = strlen(text);
    text[len] = '\n';
    errno = 0;
    dga_err e = dga_file_write_atomic(path, text, len + 1, 0644);
    text[len] = '\0';
    if (e == DGA_E_BAD_ARGUMENT) {
        cli_error("--out: path too long or without a file name");
        return EXIT_USAGE;
    }
    if (e != DGA_E_OK) {
        cli_error("%s: %s", path, errno != 0 ? strerror(errno) : dga_err_message(e));
        return EXIT_IO;
    }
    return EXIT_VERIFIED;
}

static int emit(const struct collect_args *a, const struct dga_collection *c,
                const struct dga_switch_collection *sw, const struct dga_inventory *inv)
{
    json_t *j = dga_collection_to_json(c);
    if (j == NULL || json_object_set_new(j, "inventory", inventory_json(inv)) != 0 ||
        (a->nscq != NULL &&
         json_object_set_new(j, "switches", dga_switch_collection_to_json(sw)) != 0)) {
        json_decref(j);
        cli_error("collect: out of memory");
        return EXIT_IO;
    }
    int rc;
    if (a->out == NULL) {
        rc = cli_print_json(j);
    } else {
        char *text = json_dumps(j, JSON_INDENT(4) | JSON_SORT_KEYS);
        rc = text != NULL ? write_atomically(a->out, text) : EXIT_IO;
        free(text);
    }
    json_decref(j);
    return rc;
}

static int check_inventory(const struct dga_inventory *inv, const struct dga_collection *c)
{
    struct dga_diag diag = {0};
    dga_err e = dga_inventory_check_collection(inv, c, &diag);
    if (e == DGA_E_OK) {
        return EXIT_VERIFIED;
    }
    if (strcmp(diag.field, "gpu-count") == 0) {
        cli_error("collect: %s: NVML sees %zu GPU(s), the PCI inventory %zu", dga_err_name(e), c->n,
                  inv->n_gpus);
    } else {
        cli_error("collect: %s: NVML GPU %zu at %s is not in the PCI inventory", dga_err_name(e),
                  diag.offset, c->gpu[diag.offset].pci_address);
    }
    return EXIT_REJECTED;
}

static void nscq_error_print(const struct dga_nscq_error *err)
{
    char text[768];
    cli_nscq_error_text(err, text, sizeof text);
    cli_error("collect: %s", text);
}

/* With --nscq: the switches, with the GPUs' nonce; NSCQ must see the inventory's NVSwitches. */
static int collect_switches(const struct collect_args *a, const uint8_t nonce[DGA_NONCE_LEN],
                            const struct dga_inventory *inv, struct dga_switch_collection *sw)
{
    struct dga_nscq_error err;
    memset(&err, 0, sizeof err);
    if (a->nscq == NULL) {
        return EXIT_VERIFIED;
    }
    if (dga_nscq_collect_with_deadline(a->nscq, nonce, a->timeout_ms, sw, &err) != DGA_E_OK) {
        nscq_error_print(&err);
        return EXIT_IO;
    }
    if (sw->n != inv->n_switches) {
        cli_error("collect: %s: NSCQ sees %zu NVSwitch(es), the PCI inventory %zu",
                  dga_err_name(DGA_E_INVENTORY_MISMATCH), sw->n, inv->n_switches);
        return EXIT_REJECTED;
    }
    return EXIT_VERIFIED;
}

int cmd_collect(int argc, char **argv)
{
    struct collect_args a = {0};
    uint8_t nonce[DGA_NONCE_LEN];
    int rc = parse_args(argc, argv, &a);
    if (rc == EXIT_VERIFIED) {
        rc = get_nonce(a.nonce, nonce);
    }
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    _cleanup_(freep) struct dga_inventory *inv = calloc(1, sizeof *inv);
    _cleanup_(dga_collection_freep) struct dga_collection *c = calloc(1, sizeof *c);
    _cleanup_(dga_switch_collection_freep) struct dga_switch_collection *sw = calloc(1, sizeof *sw);
    struct dga_nvml_error err;
    memset(&err, 0, sizeof err);
    if (inv == NULL || c == NULL || sw == NULL) {
        rc = EXIT_IO;
    }
    if (rc == EXIT_VERIFIED) {
        rc = scan_inventory(a.sysfs, inv);
    }
    if (rc == EXIT_VERIFIED &&
        dga_collect_with_deadline(a.nvml, nonce, a.timeout_ms, c, &err) != DGA_E_OK) {
        nvml_error_print(&err);
        rc = EXIT_IO;
    }
    if (rc == EXIT_VERIFIED) {
        rc = check_inventory(inv, c);
    }
    if (rc == EXIT_VERIFIED) {
        rc = collect_switches(&a, nonce, inv, sw);
    }
    if (rc == EXIT_VERIFIED) {
        rc = emit(&a, c, sw, inv);
    }
    return rc;
}
