/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest events: dstack runtime events (docs/measure.md).
 *   events replay LOG     recompute RTMR3 (and RTMR0-2 from boot events) from
 *                         an event log; compare with the quote it came with
 *                         or with --expect
 *   events emit           extend a register and append the log line, as
 *                         dstack's emit_runtime_event does
 *   events policy-hash    dstack's gpu-policy-hash of an app-compose.json
 */
#include "events.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dga/measure.h"
#include "dga/util.h"

/* ---- replay -----------------------------------------------------------------------------------
 */

struct replay_args {
    const char *file;
    const char *expect; /* hex RTMR3 */
    bool json;
};

struct replay_outcome {
    uint8_t rtmr[4][DGA_EVENT_DIGEST_LEN];
    bool has_quote; /* the log came inside a GetQuote response holding the quote */
    uint8_t quoted[4][DGA_EVENT_DIGEST_LEN];
    bool quote_match;
    bool has_expect;
    bool expect_match;
};

static void replay_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s events replay LOG [--expect HEX] [--json]\n"
            "\n"
            "Recomputes RTMR3 from a dstack event log: runtime_events.log (JSON lines),\n"
            "the GetQuote event_log array, or a GetQuote response object (quote +\n"
            "event_log). Runtime event digests are recomputed from name, payload and\n"
            "version; recorded digests must agree. With the array forms, boot events\n"
            "replay RTMR0-2 from their recorded digests. When the file holds the quote,\n"
            "every replayed RTMR must equal the quote's.\n"
            "\n"
            "  --expect HEX  RTMR3 must equal this value (96 hex digits)\n"
            "  --json        machine-readable output\n"
            "\n"
            "Exit 0 when the log parses and every comparison asked for holds, 1 when the\n"
            "log is malformed or a value differs, 2 usage, 3 I/O.\n",
            PROGRAM);
}

static int replay_parse_args(int argc, char **argv, struct replay_args *a)
{
    static const struct option opts[] = {
        {"expect", required_argument, NULL, 'x'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'x':
            a->expect = optarg;
            break;
        case 'j':
            a->json = true;
            break;
        case 'h':
            replay_usage(stdout);
            exit(EXIT_VERIFIED);
        default:
            replay_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        cli_error("events replay: exactly one LOG is required");
        return EXIT_USAGE;
    }
    a->file = argv[optind];
    return EXIT_VERIFIED;
}

/* The quote of a GetQuote response, when the file is one. */
static bool response_quote(const char *text, size_t len, uint8_t quoted[4][DGA_EVENT_DIGEST_LEN],
                           dga_err *ret_err)
{
    json_t *j = json_loadb(text, len, 0, NULL);
    const char *hex = json_string_value(json_object_get(j, "quote"));
    bool found = json_is_object(j) && json_object_get(j, "event_log") != NULL && hex != NULL;
    *ret_err = DGA_E_OK;
    if (found) {
        uint8_t *quote = NULL;
        size_t qlen = 0;
        *ret_err = dga_hex_decode(hex, strlen(hex), &quote, &qlen);
        for (unsigned i = 0; i < 4 && *ret_err == DGA_E_OK; i++) {
            *ret_err = dga_tdx_quote_rtmr(quote, qlen, i, quoted[i]);
        }
        free(quote);
    }
    json_decref(j);
    return found;
}

/* Positions count lines in runtime_events.log, elements in the two GetQuote forms. */
static const char *position_unit(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", text[i]) != NULL) {
        i++;
    }
    if (i < len && text[i] == '[') {
        return "element";
    }
    json_t *j = json_loadb(text, len, 0, NULL);
    bool response = json_is_object(j) && json_object_get(j, "event_log") != NULL;
    json_decref(j);
    return response ? "element" : "line";
}

static void print_parse_error(const char *file, const char *text, size_t len,
                              const struct dga_diag *d, dga_err e)
{
    cli_error("%s: %s %zu: %s [%s] (%s)", file, position_unit(text, len), d->offset,
              dga_err_message(e), dga_err_name(e), d->field != NULL ? d->field : "log");
}

static json_t *replay_json(const struct dga_eventlog *log, const struct replay_outcome *o)
{
    char hex[2 * DGA_EVENT_DIGEST_LEN + 1];
    json_t *events = json_array();
    for (size_t i = 0; i < log->n; i++) {
        const struct dga_event *ev = &log->events[i];
        dga_hex_encode(ev->digest, DGA_EVENT_DIGEST_LEN, hex);
        json_t *e =
            json_pack("{s:I,s:I,s:I,s:s,s:s,s:I}", "index", (json_int_t)ev->where, "imr",
                      (json_int_t)ev->imr, "event_type", (json_int_t)ev->event_type, "event",
                      ev->name, "digest", hex, "payload_len", (json_int_t)ev->payload_len);
        if (e != NULL && ev->event_type == DGA_EVENT_TYPE) {
            json_object_set_new(e, "version", json_integer(ev->version));
        }
        json_array_append_new(events, e);
    }
    json_t *rtmr = json_array();
    for (unsigned i = 0; i < 4; i++) {
        dga_hex_encode(o->rtmr[i], DGA_EVENT_DIGEST_LEN, hex);
        json_array_append_new(rtmr, log->boot_events || i == 3 ? json_string(hex) : json_null());
    }
    dga_hex_encode(o->rtmr[3], DGA_EVENT_DIGEST_LEN, hex);
    json_t *j = json_pack("{s:s,s:o,s:o}", "rtmr3", hex, "rtmr", rtmr, "events", events);
    if (j != NULL && o->has_quote) {
        json_object_set_new(j, "quote_match", json_boolean(o->quote_match));
    }
    if (j != NULL && o->has_expect) {
        json_object_set_new(j, "expect_match", json_boolean(o->expect_match));
    }
    return j;
}

static void replay_text(const struct dga_eventlog *log, const struct replay_outcome *o)
{
    size_t runtime = 0;
    for (size_t i = 0; i < log->n; i++) {
        runtime += log->events[i].event_type == DGA_EVENT_TYPE;
    }
    printf("events: %zu (%zu runtime on RTMR3, %zu boot)\n", log->n, runtime, log->n - runtime);
    char hex[2 * DGA_EVENT_DIGEST_LEN + 1];
    for (unsigned i = log->boot_events ? 0 : 3; i < 4; i++) {
        dga_hex_encode(o->rtmr[i], DGA_EVENT_DIGEST_LEN, hex);
        printf("RTMR%u %s\n", i, hex);
    }
    if (o->has_quote) {
        printf("quote: %s\n", o->quote_match ? "every replayed RTMR matches" : "MISMATCH");
    }
    if (o->has_expect) {
        printf("expected RTMR3: %s\n", o->expect_match ? "match" : "MISMATCH");
    }
}

/* Compares what was replayed with the quote (if the file holds one) and --expect. */
static int replay_compare(const struct replay_args *a, const struct dga_eventlog *log,
                          struct replay_outcome *o)
{
    uint8_t want[DGA_EVENT_DIGEST_LEN];
    if (a->expect != NULL) {
        o->has_expect = true;
        o->expect_match = dga_hex_decode_exact(a->expect, want, sizeof want) == DGA_E_OK &&
                          dga_mem_equal(o->rtmr[3], want, sizeof want);
    }
    o->quote_match = o->has_quote;
    for (unsigned i = log->boot_events ? 0 : 3; o->has_quote && i < 4; i++) {
        o->quote_match = o->quote_match && dga_mem_equal(o->rtmr[i], o->quoted[i], sizeof want);
    }
    if ((o->has_quote && !o->quote_match) || (o->has_expect && !o->expect_match)) {
        cli_error("%s: %s [%s]", a->file, dga_err_message(DGA_E_RTMR_MISMATCH),
                  dga_err_name(DGA_E_RTMR_MISMATCH));
        return EXIT_REJECTED;
    }
    return EXIT_VERIFIED;
}

int cmd_events_replay(int argc, char **argv)
{
    struct replay_args a = {0};
    int rc = replay_parse_args(argc, argv, &a);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    if (a.expect != NULL && strlen(a.expect) != 2 * DGA_EVENT_DIGEST_LEN) {
        cli_error("--expect: %d hex digits required", 2 * DGA_EVENT_DIGEST_LEN);
        return EXIT_USAGE;
    }
    uint8_t *text = NULL;
    size_t len = 0;
    rc = cli_read_file(a.file, DGA_EVENTLOG_MAX_BYTES, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    struct dga_eventlog *log = NULL;
    struct dga_diag diag = {0};
    dga_err e = dga_eventlog_parse((const char *)text, len, &log, &diag);
    struct replay_outcome o = {0};
    dga_err qe = DGA_E_OK;
    if (e == DGA_E_OK) {
        o.has_quote = response_quote((const char *)text, len, o.quoted, &qe);
    }
    if (e != DGA_E_OK) {
        print_parse_error(a.file, (const char *)text, len, &diag, e);
        rc = e == DGA_E_NOMEM ? EXIT_IO : EXIT_REJECTED;
    } else if (qe != DGA_E_OK) {
        cli_error("%s: quote: %s [%s]", a.file, dga_err_message(qe), dga_err_name(qe));
        rc = EXIT_REJECTED;
    } else {
        dga_eventlog_replay(log, o.rtmr);
        rc = replay_compare(&a, log, &o);
        if (a.json) {
            json_t *j = replay_json(log, &o);
            int jrc = cli_print_json(j);
            json_decref(j);
            rc = rc == EXIT_VERIFIED ? jrc : rc;
        } else {
            replay_text(log, &o);
        }
    }
    dga_eventlog_free(log);
    free(text);
    return rc;
}

/* ---- emit ------------------------------------------------------------------------------------ */

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
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"payload-file", required_argument, NULL, 'p'},
        {"payload-hex", required_argument, NULL, 'x'},
        {"backend", required_argument, NULL, 'b'},
        {"log-dir", required_argument, NULL, 'l'},
        {"lock-file", required_argument, NULL, 'L'},
        {"digest-version", required_argument, NULL, 'v'},
        {"tcti", required_argument, NULL, 't'},
        {"tdx-sysfs", required_argument, NULL, 's'},
        {"tdx-device", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'n':
            a->name = optarg;
            break;
        case 'p':
            a->payload_file = optarg;
            break;
        case 'x':
            a->payload_hex = optarg;
            break;
        case 'b':
            a->backend = optarg;
            break;
        case 'l':
            a->paths.log_dir = optarg;
            break;
        case 'L':
            a->paths.lock_path = optarg;
            break;
        case 'v':
            a->digest_version = optarg;
            break;
        case 't':
            a->paths.tpm_tcti = optarg;
            break;
        case 's':
            a->paths.tdx_sysfs_dir = optarg;
            break;
        case 'd':
            a->paths.tdx_device = optarg;
            break;
        case 'h':
            emit_usage(stdout);
            exit(EXIT_VERIFIED);
        default:
            emit_usage(stderr);
            return EXIT_USAGE;
        }
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
    struct dga_event_backend *b = NULL;
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
    dga_event_backend_free(b);
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
    uint8_t *payload = NULL;
    size_t len = 0;
    rc = load_payload(&a, &payload, &len);
    if (rc == EXIT_VERIFIED) {
        rc = emit_event(&a, payload, len);
    }
    free(payload);
    return rc;
}

/* ---- policy-hash
 * ---------------------------------------------------------------------------------- */

static void policy_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s events policy-hash FILE [--value]\n"
            "\n"
            "Prints dstack's gpu-policy-hash: the SHA-256 of the RFC 8785 canonical JSON\n"
            "of /requirements/gpu_policy in the app-compose.json FILE, or of {} when it\n"
            "is absent. With --value, FILE is the gpu_policy value itself. Integers must\n"
            "lie within +-2^53 (beyond, implementations disagree: refused).\n"
            "\n"
            "Exit 0 printed, 1 malformed JSON, 2 usage, 3 I/O.\n",
            PROGRAM);
}

int cmd_events_policy_hash(int argc, char **argv)
{
    static const struct option opts[] = {
        {"value", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool value = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'v':
            value = true;
            break;
        case 'h':
            policy_usage(stdout);
            return EXIT_VERIFIED;
        default:
            policy_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        cli_error("events policy-hash: exactly one FILE is required");
        return EXIT_USAGE;
    }
    const char *file = argv[optind];
    uint8_t *text = NULL, hash[32];
    size_t len = 0;
    int rc = cli_read_file(file, DGA_APP_COMPOSE_MAX_BYTES, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    struct dga_diag diag = {0};
    dga_err e = value ? dga_gpu_policy_hash_value((const char *)text, len, hash, &diag)
                      : dga_gpu_policy_hash_compose((const char *)text, len, hash, &diag);
    free(text);
    if (e != DGA_E_OK) {
        cli_error("%s: %s [%s] (byte %zu)", file, dga_err_message(e), dga_err_name(e), diag.offset);
        return e == DGA_E_NOMEM ? EXIT_IO : EXIT_REJECTED;
    }
    char hex[65];
    dga_hex_encode(hash, sizeof hash, hex);
    printf("%s\n", hex);
    return EXIT_VERIFIED;
}
