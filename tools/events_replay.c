/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest events replay LOG (docs/measure.md): recompute RTMR3
 * (and RTMR0-2 from boot events) from a dstack event log; compare with the
 * quote it came with or with --expect.
 */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "dga/cleanup.h"
#include "dga/measure.h"
#include "dga/util.h"

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
    const struct cli_option opts[] = {
        CLI_VALUE("expect", &a->expect),
        CLI_FLAG("json", &a->json),
        CLI_END,
    };
    return cli_parse_one(argc, argv, opts, replay_usage, "events replay", "LOG", &a->file);
}

/* The quote of a GetQuote response, when the file is one. */
static bool response_quote(const char *text, size_t len, uint8_t quoted[4][DGA_EVENT_DIGEST_LEN],
                           dga_err *ret_err)
{
    _cleanup_(json_decrefp) json_t *j = json_loadb(text, len, 0, NULL);
    const char *hex = json_string_value(json_object_get(j, "quote"));
    bool found = json_is_object(j) && json_object_get(j, "event_log") != NULL && hex != NULL;
    *ret_err = DGA_E_OK;
    if (found) {
        _cleanup_(freep) uint8_t *quote = NULL;
        size_t qlen = 0;
        *ret_err = dga_hex_decode(hex, strlen(hex), &quote, &qlen);
        for (unsigned i = 0; i < 4 && *ret_err == DGA_E_OK; i++) {
            *ret_err = dga_tdx_quote_rtmr(quote, qlen, i, quoted[i]);
        }
    }
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
    _cleanup_(json_decrefp) json_t *j = json_loadb(text, len, 0, NULL);
    bool response = json_is_object(j) && json_object_get(j, "event_log") != NULL;
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
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    rc = cli_read_file(a.file, DGA_EVENTLOG_MAX_BYTES, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    _cleanup_(dga_eventlog_freep) struct dga_eventlog *log = NULL;
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
            _cleanup_(json_decrefp) json_t *j = replay_json(log, &o);
            int jrc = cli_print_json(j);
            rc = rc == EXIT_VERIFIED ? jrc : rc;
        } else {
            replay_text(log, &o);
        }
    }
    return rc;
}
