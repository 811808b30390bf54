/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack runtime events without a register: V1/V2 digest vectors
 * (docs/formats.md §14), log lines, parsing and replaying the
 * three log forms against dstack's recorded quote (RTMR0-3), tampering,
 * malformed logs with their named errors and line numbers, the TDX quote
 * reader, RFC 8785 canonical JSON and gpu-policy-hash.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "dga/measure.h"
#include "dga/util.h"

#define QUOTE_FILE "dstack/quote-report.json"
#define LINES_FILE "dstack/runtime_events.log"
#define RTMR3_HEX                                                                                  \
    "0f787c3877f3e95095d5a4d13dd0fe0233803b30120d8469866719dc28f519ce021fe1e53459121e7a5a44431471" \
    "85a8"
#define POLICY_EMPTY_SHA "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define POLICY_ATTEST_SHA "81f5d3ad40653341232238c4ca656bddddc297d6382ae2ab391e4bb36dd80b66"

/* ---- helpers ------------------------------------------------------------------------------ */

static void assert_hex(const uint8_t *bytes, size_t n, const char *want)
{
    char hex[2 * 64 + 1];
    assert_true(n <= 64);
    dga_hex_encode(bytes, n, hex);
    assert_string_equal(hex, want);
}

/* Parses text; asserts the error, and for failures the diag position and field. */
static struct dga_eventlog *parse_expect(const char *text, dga_err want, size_t where,
                                         const char *field)
{
    struct dga_eventlog *log = NULL;
    struct dga_diag diag = {0};
    dga_err e = dga_eventlog_parse(text, strlen(text), &log, &diag);
    if (e != want) {
        fail_msg("parse: got %s (%s, %zu), want %s", dga_err_name(e),
                 diag.field != NULL ? diag.field : "-", diag.offset, dga_err_name(want));
    }
    if (want != DGA_E_OK) {
        assert_null(log);
        assert_int_equal(diag.err, want);
        assert_int_equal(diag.offset, where);
        if (field != NULL) {
            assert_string_equal(diag.field, field);
        }
    }
    return log;
}

static void rtmr3_of(const char *text, uint8_t out[48])
{
    struct dga_eventlog *log = parse_expect(text, DGA_E_OK, 0, NULL);
    uint8_t rtmr[4][48];
    dga_eventlog_replay(log, rtmr);
    memcpy(out, rtmr[3], 48);
    dga_eventlog_free(log);
}

static char *lines_fixture(void)
{
    return (char *)fixture_read(LINES_FILE, NULL);
}

/* The event_log array text of the recorded GetQuote response. */
static char *array_fixture(void)
{
    char *text = (char *)fixture_read(QUOTE_FILE, NULL);
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    char *arr = strdup(json_string_value(json_object_get(j, "event_log")));
    assert_non_null(arr);
    json_decref(j);
    free(text);
    return arr;
}

static uint8_t *quote_fixture(size_t *ret_len)
{
    char *text = (char *)fixture_read(QUOTE_FILE, NULL);
    json_t *j = json_loads(text, 0, NULL);
    const char *hex = json_string_value(json_object_get(j, "quote"));
    assert_non_null(hex);
    uint8_t *q = NULL;
    assert_int_equal(dga_hex_decode(hex, strlen(hex), &q, ret_len), DGA_E_OK);
    json_decref(j);
    free(text);
    return q;
}

/* Replaces the first occurrence of `from` in text by `to` (a new string). */
static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t head = (size_t)(at - text), n = strlen(text) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    assert_non_null(out);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

/* ---- digests and lines ----------------------------------------------------------------------- */

static void test_digest_vectors(void **state)
{
    (void)state;
    static const uint8_t deadbeef[] = {0xde, 0xad, 0xbe, 0xef}, abcd[] = {0xab, 0xcd};
    uint8_t d[48];
    assert_int_equal(dga_event_digest(DGA_EVENT_V1, DGA_HASH_SHA384, "app-id", deadbeef, 4, d),
                     DGA_E_OK);
    assert_hex(d, 48,
               "67b4be4efed0893cfa2bb1d35dca209ad8348b4c97f980807bcde8b9a0f26398dd0923d6eccb"
               "5aa2096d98046da8740f");
    assert_int_equal(dga_event_digest(DGA_EVENT_V1, DGA_HASH_SHA384, "system-ready", NULL, 0, d),
                     DGA_E_OK);
    assert_hex(d, 48,
               "1a76b2a80a0be71eae59f80945d876351a7a3fb8e9fd1ff1cede5734aa84ea11fd72b4edfbb6"
               "f04e5a85edd114c751bd");
    assert_int_equal(dga_event_digest(DGA_EVENT_V2, DGA_HASH_SHA384, "compose-hash", abcd, 2, d),
                     DGA_E_OK);
    assert_hex(d, 48,
               "9dde1673f544faa94b921825209593ddde08d0baf9cd6990175dffaf3081f1bb10311d56de18"
               "9491feb33842a050ad7b");
    uint8_t *pre = NULL;
    size_t n = 0;
    assert_int_equal(dga_event_preimage(DGA_EVENT_V2, "compose-hash", abcd, 2, &pre, &n), DGA_E_OK);
    assert_int_equal(n,
                     strlen("{\"name\":\"compose-hash\",\"payload\":\"abcd\",\"type\":134217729}"));
    assert_memory_equal(pre, "{\"name\":\"compose-hash\",\"payload\":\"abcd\",\"type\":134217729}",
                        n);
    free(pre);
    assert_int_equal(dga_event_preimage(DGA_EVENT_V1, "app-id", deadbeef, 4, &pre, &n), DGA_E_OK);
    assert_int_equal(n, 4 + 1 + 6 + 1 + 4);
    assert_memory_equal(pre, "\x01\x00\x00\x08:app-id:\xde\xad\xbe\xef", n);
    free(pre);
}

/* A TPM SHA-256 bank hashes the very same preimage. */
static void test_digest_sha256_bank(void **state)
{
    (void)state;
    static const uint8_t payload[] = {1, 2, 3};
    for (int v = DGA_EVENT_V1; v <= DGA_EVENT_V2; v++) {
        uint8_t *pre = NULL, want[32], got[32];
        size_t n = 0;
        assert_int_equal(
            dga_event_preimage((enum dga_event_version)v, "gpu-attestation", payload, 3, &pre, &n),
            DGA_E_OK);
        SHA256(pre, n, want);
        free(pre);
        assert_int_equal(dga_event_digest((enum dga_event_version)v, DGA_HASH_SHA256,
                                          "gpu-attestation", payload, 3, got),
                         DGA_E_OK);
        assert_memory_equal(got, want, 32);
    }
    assert_int_equal(dga_hash_len(DGA_HASH_SHA256), 32);
    assert_int_equal(dga_hash_len(DGA_HASH_SHA384), 48);
}

static void test_digest_rejections(void **state)
{
    (void)state;
    uint8_t d[48], *pre = NULL;
    size_t n;
    /* V1 with ':' in the name is ambiguous; V2 carries it safely inside JSON. */
    assert_int_equal(dga_event_digest(DGA_EVENT_V1, DGA_HASH_SHA384, "a:b", NULL, 0, d),
                     DGA_E_EVENT_NAME);
    assert_int_equal(dga_event_digest(DGA_EVENT_V2, DGA_HASH_SHA384, "a:b", NULL, 0, d), DGA_E_OK);
    assert_int_equal(dga_event_digest((enum dga_event_version)3, DGA_HASH_SHA384, "x", NULL, 0, d),
                     DGA_E_EVENT_VERSION);
    assert_int_equal(dga_event_digest(DGA_EVENT_V1, DGA_HASH_SHA384, "x", NULL, 1, d),
                     DGA_E_BAD_ARGUMENT);
    static uint8_t big[DGA_EVENT_PAYLOAD_MAX + 1];
    assert_int_equal(dga_event_preimage(DGA_EVENT_V1, "x", big, sizeof big, &pre, &n),
                     DGA_E_TOO_LARGE);
    assert_null(pre);
    assert_int_equal(dga_event_digest(DGA_EVENT_V2, DGA_HASH_SHA384, "bad\xff", NULL, 0, d),
                     DGA_E_EVENT_NAME);
}

static void test_log_line(void **state)
{
    (void)state;
    static const uint8_t p3[] = {1, 2, 3}, p1[] = {1};
    char *line = NULL;
    assert_int_equal(dga_event_log_line(DGA_EVENT_V1, "app-id", p3, 3, &line), DGA_E_OK);
    assert_string_equal(line, "{\"event\":\"app-id\",\"payload\":\"AQID\"}");
    free(line);
    assert_int_equal(dga_event_log_line(DGA_EVENT_V2, "test", p1, 1, &line), DGA_E_OK);
    assert_string_equal(line, "{\"event\":\"test\",\"payload\":\"AQ==\",\"version\":2}");
    free(line);
    assert_int_equal(dga_event_log_line(DGA_EVENT_V1, "system-ready", NULL, 0, &line), DGA_E_OK);
    assert_string_equal(line, "{\"event\":\"system-ready\",\"payload\":\"\"}");
    free(line);
    char long_name[DGA_EVENT_NAME_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    const char *bad[] = {"", "a:b", "a\"b", "a\\b", "a b", "tab\t", "caf\xc3\xa9", long_name};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        line = NULL;
        assert_int_equal(dga_event_log_line(DGA_EVENT_V1, bad[i], NULL, 0, &line),
                         DGA_E_EVENT_NAME);
        assert_null(line);
    }
    long_name[DGA_EVENT_NAME_MAX] = '\0';
    assert_int_equal(dga_event_name_check(long_name), DGA_E_OK);
    assert_int_equal(dga_event_log_line((enum dga_event_version)0, "x", NULL, 0, &line),
                     DGA_E_EVENT_VERSION);
}

/* A line we write parses back to the same event and digest. */
static void test_log_line_round_trip(void **state)
{
    (void)state;
    static const uint8_t payload[] = {0xff, 0x00, 0x7f, 0x80, 0x01};
    for (int v = DGA_EVENT_V1; v <= DGA_EVENT_V2; v++) {
        char *line = NULL;
        assert_int_equal(dga_event_log_line((enum dga_event_version)v, "gpu-attestation", payload,
                                            sizeof payload, &line),
                         DGA_E_OK);
        struct dga_eventlog *log = parse_expect(line, DGA_E_OK, 0, NULL);
        assert_int_equal(log->n, 1);
        assert_string_equal(log->events[0].name, "gpu-attestation");
        assert_int_equal(log->events[0].version, v);
        assert_int_equal(log->events[0].payload_len, sizeof payload);
        assert_memory_equal(log->events[0].payload, payload, sizeof payload);
        uint8_t d[48];
        assert_int_equal(dga_event_digest((enum dga_event_version)v, DGA_HASH_SHA384,
                                          "gpu-attestation", payload, sizeof payload, d),
                         DGA_E_OK);
        assert_memory_equal(log->events[0].digest, d, 48);
        dga_eventlog_free(log);
        free(line);
    }
}

/* ---- replay against dstack's recorded quote
 * ---------------------------------------------------------- */

static void test_replay_getquote_response(void **state)
{
    (void)state;
    char *text = (char *)fixture_read(QUOTE_FILE, NULL);
    struct dga_eventlog *log = parse_expect(text, DGA_E_OK, 0, NULL);
    assert_int_equal(log->n, 28);
    assert_true(log->boot_events);
    uint8_t rtmr[4][48], quoted[48];
    dga_eventlog_replay(log, rtmr);
    assert_hex(rtmr[3], 48, RTMR3_HEX);
    size_t qlen = 0;
    uint8_t *quote = quote_fixture(&qlen);
    for (unsigned i = 0; i < 4; i++) { /* boot events replay RTMR0-2 from their digests */
        assert_int_equal(dga_tdx_quote_rtmr(quote, qlen, i, quoted), DGA_E_OK);
        assert_memory_equal(rtmr[i], quoted, 48);
    }
    /* The runtime-only replay with SHA-384 is RTMR3 again. */
    uint8_t pcr[48];
    assert_int_equal(dga_eventlog_replay_runtime(log, DGA_HASH_SHA384, pcr), DGA_E_OK);
    assert_memory_equal(pcr, rtmr[3], 48);
    free(quote);
    dga_eventlog_free(log);
    free(text);
}

static void test_replay_array_and_lines(void **state)
{
    (void)state;
    char *arr = array_fixture(), *lines = lines_fixture();
    uint8_t a[48], l[48];
    rtmr3_of(arr, a);
    rtmr3_of(lines, l);
    assert_hex(a, 48, RTMR3_HEX);
    assert_hex(l, 48, RTMR3_HEX);
    struct dga_eventlog *log = parse_expect(lines, DGA_E_OK, 0, NULL);
    assert_int_equal(log->n, 8);
    assert_false(log->boot_events);
    assert_string_equal(log->events[7].name, "LIUM_MINER_HOTKEY");
    assert_int_equal(log->events[7].where, 8);
    dga_eventlog_free(log);
    free(arr);
    free(lines);
}

/* dstack's stripped form: runtime events carry digest "" and are recomputed. */
static void test_replay_stripped(void **state)
{
    (void)state;
    char *arr = array_fixture();
    json_t *j = json_loads(arr, 0, NULL);
    size_t i;
    json_t *ev;
    json_array_foreach(j, i, ev)
    {
        if (json_integer_value(json_object_get(ev, "event_type")) == DGA_EVENT_TYPE) {
            json_object_set_new(ev, "digest", json_string(""));
        }
    }
    char *stripped = json_dumps(j, JSON_COMPACT);
    uint8_t r[48];
    rtmr3_of(stripped, r);
    assert_hex(r, 48, RTMR3_HEX);
    free(stripped);
    json_decref(j);
    free(arr);
}

/* An empty log replays to zero; blank lines are skipped but still counted. */
static void test_replay_empty_and_blank(void **state)
{
    (void)state;
    uint8_t r[48], zero[48] = {0};
    rtmr3_of("", r);
    assert_memory_equal(r, zero, 48);
    rtmr3_of("\n  \n\t\n", r);
    assert_memory_equal(r, zero, 48);
    struct dga_eventlog *log =
        parse_expect("\n{\"event\":\"a\",\"payload\":\"\"}\n\n{\"event\":\"b\",\"payload\":\"\"}",
                     DGA_E_OK, 0, NULL);
    assert_int_equal(log->n, 2);
    assert_int_equal(log->events[0].where, 2);
    assert_int_equal(log->events[1].where, 4); /* no final newline is fine */
    dga_eventlog_free(log);
}

/* ---- tampering ---------------------------------------------------------------------------------
 */

/* Every change to any event of the JSON-lines log changes the replayed RTMR3. */
static void test_tamper_lines(void **state)
{
    (void)state;
    char *lines = lines_fixture();
    const char *edits[][2] = {
        {"\"system-preparing\"", "\"system-preparinG\""},
        {"N2O8NFUs86J/9xrV96kEcVYqGi0=", "N2O8NFUs86J/9xrV96kEcVYqGiE="}, /* app-id payload */
        {"Gi31Ut", "Gi31Uu"},                                             /* compose-hash */
        {"\"instance-id\"", "\"instance-ID\""},
        {"{\"event\":\"boot-mr-done\",\"payload\":\"\"}\n", ""}, /* drop an event */
        {"\"key-provider\"", "\"key-provider \""},
        {"{\"event\":\"system-ready\",\"payload\":\"\"}",
         "{\"event\":\"system-ready\",\"payload\":\"\",\"version\":2}"}, /* digest version */
        {"NUQzM1B0", "NUQzM1B1"},
        {"{\"event\":\"system-preparing\",\"payload\":\"\"}\n",
         "{\"event\":\"system-preparing\",\"payload\":\"AA==\"}\n"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *t = replace(lines, edits[i][0], edits[i][1]);
        uint8_t r[48];
        rtmr3_of(t, r);
        char hex[97];
        dga_hex_encode(r, 48, hex);
        if (strcmp(hex, RTMR3_HEX) == 0) {
            fail_msg("edit %zu did not change RTMR3", i);
        }
        free(t);
    }
    /* Swapping two events changes it too: order is measured. */
    char *swapped = replace(lines, "{\"event\":\"app-id\"", "{\"event\":\"APPID\"");
    char *t2 = replace(swapped, "{\"event\":\"instance-id\"", "{\"event\":\"app-id\"");
    char *t3 = replace(t2, "{\"event\":\"APPID\"", "{\"event\":\"instance-id\"");
    uint8_t r[48];
    rtmr3_of(t3, r);
    char hex[97];
    dga_hex_encode(r, 48, hex);
    assert_string_not_equal(hex, RTMR3_HEX);
    free(swapped);
    free(t2);
    free(t3);
    free(lines);
}

/* In the array form a recorded digest that disagrees is refused outright. */
static void test_tamper_array(void **state)
{
    (void)state;
    char *arr = array_fixture();
    /* the app-id event's recorded digest, first hex digit changed */
    char *t = replace(arr, "\"837c2dd72f8a", "\"937c2dd72f8a");
    parse_expect(t, DGA_E_EVENT_DIGEST_MISMATCH, 22, "digest");
    free(t);
    /* its payload changed: the recorded digest no longer matches the recomputed one */
    t = replace(arr, "\"3763bc34552cf3a27ff71ad5f7a90471562a1a2d\"",
                "\"3763bc34552cf3a27ff71ad5f7a90471562a1a2e\"");
    parse_expect(t, DGA_E_EVENT_DIGEST_MISMATCH, 22, "digest");
    free(t);
    /* a boot (RTMR0) digest changed: RTMR0 no longer equals the quote's */
    t = replace(arr, "8ae1e425351df799", "8ae1e425351df798");
    struct dga_eventlog *log = parse_expect(t, DGA_E_OK, 0, NULL);
    uint8_t rtmr[4][48], quoted[48];
    dga_eventlog_replay(log, rtmr);
    size_t qlen;
    uint8_t *quote = quote_fixture(&qlen);
    assert_int_equal(dga_tdx_quote_rtmr(quote, qlen, 0, quoted), DGA_E_OK);
    assert_memory_not_equal(rtmr[0], quoted, 48);
    assert_int_equal(dga_tdx_quote_rtmr(quote, qlen, 3, quoted), DGA_E_OK);
    assert_memory_equal(rtmr[3], quoted, 48);
    dga_eventlog_free(log);
    free(quote);
    free(t);
    /* a runtime event moved to RTMR2, or relabelled as a boot event on RTMR3 */
    t = replace(arr, "{\"imr\":3,\"event_type\":134217729", "{\"imr\":2,\"event_type\":134217729");
    parse_expect(t, DGA_E_EVENT_TYPE, 21, "imr");
    free(t);
    t = replace(arr, "{\"imr\":3,\"event_type\":134217729", "{\"imr\":3,\"event_type\":134217728");
    parse_expect(t, DGA_E_EVENT_TYPE, 21, "imr");
    free(t);
    free(arr);
}

/* ---- malformed logs ----------------------------------------------------------------------------
 */

static void test_malformed_lines(void **state)
{
    (void)state;
    const char *ok = "{\"event\":\"a\",\"payload\":\"\"}\n";
    char text[512];
    struct {
        const char *line;
        dga_err err;
        const char *field;
    } cases[] = {
        {"{\"event\":\"a\",\"payload\":\"\"", DGA_E_EVENTLOG_SYNTAX, "line"},
        {"[1,2]", DGA_E_EVENTLOG_SYNTAX, "line"},
        {"{\"event\":\"a\",\"payload\":\"\",\"event\":\"b\"}", DGA_E_EVENTLOG_SYNTAX, "line"},
        {"{\"payload\":\"\"}", DGA_E_EVENTLOG_FIELD, "event"},
        {"{\"event\":\"a\"}", DGA_E_EVENTLOG_FIELD, "payload"},
        {"{\"event\":1,\"payload\":\"\"}", DGA_E_EVENTLOG_FIELD, "event"},
        {"{\"event\":\"a\",\"payload\":\"\",\"extra\":1}", DGA_E_EVENTLOG_FIELD, "unknown member"},
        {"{\"event\":\"a\",\"payload\":\"\",\"version\":3}", DGA_E_EVENT_VERSION, "version"},
        {"{\"event\":\"a\",\"payload\":\"\",\"version\":\"2\"}", DGA_E_EVENTLOG_FIELD, "version"},
        {"{\"event\":\"a\",\"payload\":\"AQ=\"}", DGA_E_BAD_BASE64, "payload"},
        {"{\"event\":\"a\",\"payload\":\"AQID\\n\"}", DGA_E_BAD_BASE64, "payload"},
        {"{\"event\":\"a\",\"payload\":\"AR==\"}", DGA_E_BAD_BASE64, "payload"}, /* not canonical */
        {"{\"event\":\"a:b\",\"payload\":\"\"}", DGA_E_EVENT_NAME, "event"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "%s%s\n%s", ok, cases[i].line, ok);
        parse_expect(text, cases[i].err, 2, cases[i].field);
    }
    /* V2 names may hold ':' */
    dga_eventlog_free(
        parse_expect("{\"event\":\"a:b\",\"payload\":\"\",\"version\":2}", DGA_E_OK, 0, NULL));
    /* a log cut in the middle of its third line */
    char *lines = lines_fixture();
    lines[strchr(strchr(strchr(lines, '\n') + 1, '\n') + 1, '\n') - lines - 5] = '\0';
    parse_expect(lines, DGA_E_EVENTLOG_SYNTAX, 3, "line");
    free(lines);
}

static void test_malformed_caps(void **state)
{
    (void)state;
    /* a line longer than DGA_EVENTLOG_MAX_LINE */
    size_t n = DGA_EVENTLOG_MAX_LINE + 64;
    char *text = malloc(n + 1);
    assert_non_null(text);
    int head =
        snprintf(text, n, "{\"event\":\"a\",\"payload\":\"\"}\n{\"event\":\"a\",\"payload\":\"");
    memset(text + head, 'A', n - (size_t)head);
    text[n] = '\0';
    parse_expect(text, DGA_E_TOO_LARGE, 2, "line");
    free(text);
    /* a payload over DGA_EVENT_PAYLOAD_MAX in an otherwise valid line */
    size_t b64 = (DGA_EVENT_PAYLOAD_MAX + 3) / 3 * 4;
    text = malloc(b64 + 64);
    assert_non_null(text);
    head = snprintf(text, 64, "{\"event\":\"a\",\"payload\":\"");
    memset(text + head, 'A', b64);
    strcpy(text + head + b64, "\"}");
    parse_expect(text, DGA_E_TOO_LARGE, 1, "payload");
    free(text);
    /* more than DGA_EVENTLOG_MAX_EVENTS events */
    const char *line = "{\"event\":\"a\",\"payload\":\"\"}\n";
    text = malloc(strlen(line) * (DGA_EVENTLOG_MAX_EVENTS + 1) + 1);
    assert_non_null(text);
    text[0] = '\0';
    for (size_t i = 0, at = 0; i <= DGA_EVENTLOG_MAX_EVENTS; i++, at += strlen(line)) {
        memcpy(text + at, line, strlen(line) + 1);
    }
    parse_expect(text, DGA_E_TOO_LARGE, DGA_EVENTLOG_MAX_EVENTS + 1, "events");
    free(text);
    /* the whole log over DGA_EVENTLOG_MAX_BYTES */
    struct dga_eventlog *log = NULL;
    struct dga_diag diag = {0};
    assert_int_equal(dga_eventlog_parse("x", DGA_EVENTLOG_MAX_BYTES + 1, &log, &diag),
                     DGA_E_TOO_LARGE);
    assert_null(log);
}

static void test_malformed_array(void **state)
{
    (void)state;
    const char *rt = "{\"imr\":3,\"event_type\":134217729,\"digest\":\"\",\"event\":\"a\",\"event_"
                     "payload\":\"\"}";
    char text[1024];
    struct {
        const char *el;
        dga_err err;
        const char *field;
    } cases[] = {
        {"7", DGA_E_EVENTLOG_FIELD, "element"},
        {"{\"imr\":4,\"event_type\":1,\"digest\":\"\",\"event\":\"\",\"event_payload\":\"\"}",
         DGA_E_EVENTLOG_FIELD, "imr"},
        {"{\"imr\":-1,\"event_type\":1,\"digest\":\"\",\"event\":\"\",\"event_payload\":\"\"}",
         DGA_E_EVENTLOG_FIELD, "imr"},
        {"{\"imr\":0,\"event_type\":4294967296,\"digest\":\"\",\"event\":\"\",\"event_payload\":"
         "\"\"}",
         DGA_E_EVENTLOG_FIELD, "event_type"},
        {"{\"imr\":0,\"event_type\":1,\"digest\":\"00\",\"event\":\"\",\"event_payload\":\"\"}",
         DGA_E_EVENTLOG_FIELD, "digest"},
        {"{\"imr\":0,\"event_type\":1,\"digest\":\"zz\",\"event\":\"\",\"event_payload\":\"\"}",
         DGA_E_BAD_HEX, "digest"},
        {"{\"imr\":3,\"event_type\":134217729,\"digest\":\"\",\"event\":\"a\",\"event_payload\":"
         "\"0\"}",
         DGA_E_BAD_HEX, "event_payload"},
        {"{\"imr\":3,\"event_type\":134217729,\"digest\":\"\",\"event\":\"a\",\"event_payload\":"
         "\"\","
         "\"note\":1}",
         DGA_E_EVENTLOG_FIELD, "unknown member"},
        {"{\"imr\":3,\"event_type\":134217729,\"digest\":\"\",\"event\":\"a\",\"event_payload\":"
         "\"\","
         "\"version\":2,\"preimage\":\"00\"}",
         DGA_E_EVENT_PREIMAGE, "preimage"},
        {"{\"imr\":3,\"event_type\":134217729,\"digest\":\"\",\"event\":\"a\",\"event_payload\":"
         "\"\","
         "\"version\":0}",
         DGA_E_EVENT_VERSION, "version"},
        {"{\"imr\":3,\"event_type\":134217729,\"digest\":\"0102\",\"event\":\"a\",\"event_"
         "payload\":"
         "\"\"}",
         DGA_E_EVENT_DIGEST_MISMATCH, "digest"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "[%s,%s]", rt, cases[i].el);
        parse_expect(text, cases[i].err, 2, cases[i].field);
    }
    parse_expect("[1,", DGA_E_EVENTLOG_SYNTAX, 3, "array");
    parse_expect("{\"event_log\":7}", DGA_E_EVENTLOG_FIELD, 0, "event_log");
    parse_expect("{\"event_log\":\"[{\"}", DGA_E_EVENTLOG_SYNTAX, 2, "event_log");
}

/* A V2 event with the right preimage passes, and its digest is the preimage's SHA-384. */
static void test_array_v2_preimage(void **state)
{
    (void)state;
    const char *pre = "{\"name\":\"compose-hash\",\"payload\":\"abcd\",\"type\":134217729}";
    char pre_hex[256], text[1024];
    dga_hex_encode((const uint8_t *)pre, strlen(pre), pre_hex);
    snprintf(
        text, sizeof text,
        "[{\"imr\":3,\"event_type\":134217729,\"digest\":\"9dde1673f544faa94b921825209593ddde08d0"
        "baf9cd6990175dffaf3081f1bb10311d56de189491feb33842a050ad7b\",\"event\":\"compose-hash\","
        "\"event_payload\":\"abcd\",\"version\":2,\"preimage\":\"%s\"}]",
        pre_hex);
    struct dga_eventlog *log = parse_expect(text, DGA_E_OK, 0, NULL);
    assert_int_equal(log->events[0].version, DGA_EVENT_V2);
    dga_eventlog_free(log);
    /* the same event claimed as V1 no longer matches its recorded digest */
    char *v1 = replace(text, "\"version\":2,", "");
    parse_expect(v1, DGA_E_EVENT_DIGEST_MISMATCH, 1, "digest");
    free(v1);
}

/* ---- the TDX quote
 * -------------------------------------------------------------------------------- */

static void test_quote_rtmr(void **state)
{
    (void)state;
    size_t n;
    uint8_t *q = quote_fixture(&n), r[48];
    assert_int_equal(n, 5006);
    assert_int_equal(dga_tdx_quote_rtmr(q, n, 3, r), DGA_E_OK);
    assert_hex(r, 48, RTMR3_HEX);
    assert_int_equal(dga_tdx_quote_rtmr(q, n, 4, r), DGA_E_BAD_ARGUMENT);
    /* The quote layer's parser names each failure (before: one bad-quote for all). */
    assert_int_equal(dga_tdx_quote_rtmr(q, 631, 3, r), DGA_E_TRUNCATED); /* body cut */
    assert_int_equal(dga_tdx_quote_rtmr(q, 700, 3, r), DGA_E_TRUNCATED); /* signature cut */
    assert_int_equal(dga_tdx_quote_rtmr(q, 0, 3, r), DGA_E_TRUNCATED);
    q[n - 1] = 1; /* the padding after the signature data must be zero */
    assert_int_equal(dga_tdx_quote_rtmr(q, n, 3, r), DGA_E_QUOTE_PADDING);
    q[n - 1] = 0;
    q[0] = 5; /* a v4 body read as v5: its first bytes are no body descriptor */
    assert_int_equal(dga_tdx_quote_rtmr(q, n, 3, r), DGA_E_QUOTE_BODY);
    q[0] = 6;
    assert_int_equal(dga_tdx_quote_rtmr(q, n, 3, r), DGA_E_QUOTE_VERSION);
    q[0] = 4;
    q[2] = 3; /* attestation key type: only ECDSA P-256 (2) */
    assert_int_equal(dga_tdx_quote_rtmr(q, n, 3, r), DGA_E_QUOTE_KEY_TYPE);
    q[2] = 2;
    q[4] = 0; /* TEE type SGX */
    assert_int_equal(dga_tdx_quote_rtmr(q, n, 3, r), DGA_E_QUOTE_SGX);
    q[4] = 0x82;
    assert_int_equal(dga_tdx_quote_rtmr(q, n, 3, r), DGA_E_QUOTE_TEE_TYPE);
    q[4] = 0x81;
    assert_int_equal(dga_tdx_quote_rtmr(q, n, 3, r), DGA_E_OK);
    assert_hex(r, 48, RTMR3_HEX);
    free(q);
    /*
     * v5 with a TD report 1.5 body: header 48, body descriptor 6, RTMR0 at 54 + 328. The
     * sample's RTMRs are zero: each is given its own bytes (the signature is not read here).
     */
    q = fixture_read("tdx/tdx_quote_outdated", &n);
    assert_int_equal(q[0], 5);
    for (unsigned i = 0; i < 4; i++) {
        memset(q + 54 + 328 + 48 * i, 0xa0 + (int)i, 48);
    }
    for (unsigned i = 0; i < 4; i++) {
        uint8_t want[48];
        memset(want, 0xa0 + (int)i, sizeof want);
        assert_int_equal(dga_tdx_quote_rtmr(q, n, i, r), DGA_E_OK);
        assert_memory_equal(r, want, 48);
    }
    free(q);
}

/* ---- RFC 8785 and gpu-policy-hash
 * ---------------------------------------------------------------- */

static void assert_jcs(const char *json, const char *want)
{
    json_error_t err;
    json_t *j = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (j == NULL) {
        fail_msg("bad test JSON %s: %s", json, err.text);
    }
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(dga_jcs_encode(j, &out, &n, NULL), DGA_E_OK);
    assert_int_equal(n, strlen(want));
    assert_string_equal(out, want);
    free(out);
    json_decref(j);
}

static void test_jcs_rfc8785_examples(void **state)
{
    (void)state;
    /* RFC 8785 §3.2.2 */
    assert_jcs(
        "{\"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],"
        " \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\","
        " \"literals\": [null, true, false]}",
        "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
        "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
    /* RFC 8785 §3.2.3: sorting by UTF-16 code units (the emoji's surrogates sort before U+FB33) */
    assert_jcs(
        "{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\", \"\\ufb33\": \"Hebrew\","
        " \"1\": \"One\", \"\\ud83d\\ude00\": \"Emoji\", \"\\u0080\": \"Control\","
        " \"\\u00f6\": \"o\"}",
        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\",\"\xc3\xb6\":\"o\","
        "\"\xe2\x82\xac\":\"Euro Sign\",\"\xf0\x9f\x98\x80\":\"Emoji\",\"\xef\xac\xb3\":"
        "\"Hebrew\"}");
}

static void test_jcs_numbers(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"0", "0"},
        {"-0.0", "0"},
        {"1.0", "1"},
        {"-1.5", "-1.5"},
        {"1e20", "100000000000000000000"},
        {"1e21", "1e+21"},
        {"123e19", "1.23e+21"},
        {"0.000001", "0.000001"},
        {"1e-7", "1e-7"},
        {"1.5e-7", "1.5e-7"},
        {"0.1", "0.1"},
        {"100.25", "100.25"},
        {"5e-324", "5e-324"},
        {"1.7976931348623157e308", "1.7976931348623157e+308"},
        {"9007199254740992", "9007199254740992"},
        {"-9007199254740992", "-9007199254740992"},
        {"[1,{\"b\":[],\"a\":{}}]", "[1,{\"a\":{},\"b\":[]}]"},
        {"\"\\u0000\\u001f\\u007f\"", "\"\\u0000\\u001f\x7f\""},
        {"\"\\u2028\"", "\"\xe2\x80\xa8\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_jcs(cases[i][0], cases[i][1]);
    }
    /* an integral value beyond 2^53 has two answers in the wild: refused */
    json_t *j = json_loads("9007199254740993", JSON_DECODE_ANY, NULL);
    char *out = NULL;
    size_t n;
    struct dga_diag diag = {0};
    assert_int_equal(dga_jcs_encode(j, &out, &n, &diag), DGA_E_JCS_NUMBER);
    assert_null(out);
    json_decref(j);
}

static void assert_policy_hash(const char *compose, dga_err want, const char *want_hex)
{
    uint8_t h[32];
    struct dga_diag diag = {0};
    assert_int_equal(dga_gpu_policy_hash_compose(compose, strlen(compose), h, &diag), want);
    if (want_hex != NULL) {
        assert_hex(h, 32, want_hex);
    }
}

static void test_gpu_policy_hash(void **state)
{
    (void)state;
    assert_policy_hash("{\"manifest_version\":\"3\"}", DGA_E_OK, POLICY_EMPTY_SHA);
    assert_policy_hash("{\"requirements\":{}}", DGA_E_OK, POLICY_EMPTY_SHA);
    assert_policy_hash("{\"requirements\":{\"gpu_policy\":{}}}", DGA_E_OK, POLICY_EMPTY_SHA);
    assert_policy_hash("{\"requirements\":{\"gpu_policy\":{\"attest_gpu\":true}}}", DGA_E_OK,
                       POLICY_ATTEST_SHA);
    assert_policy_hash("{ \"requirements\" : {\n \"gpu_policy\" : { \"attest_gpu\" : true } } ,"
                       " \"name\": \"app\"}",
                       DGA_E_OK, POLICY_ATTEST_SHA);
    /* key order and whitespace do not matter, content does */
    uint8_t a[32], b[32];
    const char *p1 = "{\"allow_devtools\":false,\"attest_gpu\":true,\"rego\":\"package policy\"}";
    const char *p2 =
        "{ \"rego\": \"package policy\",\n\"attest_gpu\": true, \"allow_devtools\": false }";
    assert_int_equal(dga_gpu_policy_hash_value(p1, strlen(p1), a, NULL), DGA_E_OK);
    assert_int_equal(dga_gpu_policy_hash_value(p2, strlen(p2), b, NULL), DGA_E_OK);
    assert_memory_equal(a, b, 32);
    uint8_t want[32];
    SHA256((const unsigned char *)p1, strlen(p1), want); /* p1 is already canonical */
    assert_memory_equal(a, want, 32);
    assert_int_equal(dga_gpu_policy_hash_value("{}", 2, a, NULL), DGA_E_OK);
    assert_hex(a, 32, POLICY_EMPTY_SHA);
    /* malformed input gets a named error */
    assert_policy_hash("{\"requirements\":", DGA_E_BAD_JSON, NULL);
    assert_policy_hash("{\"a\":1,\"a\":2}", DGA_E_BAD_JSON, NULL);
    assert_policy_hash("{} {}", DGA_E_BAD_JSON, NULL);
    assert_policy_hash("{\"requirements\":{\"gpu_policy\":{\"n\":18446744073709551616}}}",
                       DGA_E_BAD_JSON, NULL);
    assert_policy_hash("{\"requirements\":{\"gpu_policy\":{\"n\":9007199254740993}}}",
                       DGA_E_JCS_NUMBER, NULL);
    char deep[300];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = '\0';
    assert_int_equal(dga_gpu_policy_hash_value(deep, 200, a, NULL), DGA_E_JCS_DEPTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_vectors),
        cmocka_unit_test(test_digest_sha256_bank),
        cmocka_unit_test(test_digest_rejections),
        cmocka_unit_test(test_log_line),
        cmocka_unit_test(test_log_line_round_trip),
        cmocka_unit_test(test_replay_getquote_response),
        cmocka_unit_test(test_replay_array_and_lines),
        cmocka_unit_test(test_replay_stripped),
        cmocka_unit_test(test_replay_empty_and_blank),
        cmocka_unit_test(test_tamper_lines),
        cmocka_unit_test(test_tamper_array),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_malformed_caps),
        cmocka_unit_test(test_malformed_array),
        cmocka_unit_test(test_array_v2_preimage),
        cmocka_unit_test(test_quote_rtmr),
        cmocka_unit_test(test_jcs_rfc8785_examples),
        cmocka_unit_test(test_jcs_numbers),
        cmocka_unit_test(test_gpu_policy_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
