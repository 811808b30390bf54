/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest eat verify: exit 0 only if the detached EAT verifies
 * with the given P-384 public key (ES384 signatures on every token, submod
 * digests, eat_nonce agreement, iat/exp with 10 s leeway) and its
 * verdict is a pass (x-dstack-verdict, else x-nvidia-overall-att-result).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "cli.h"
#include "dga/cleanup.h"
#include "dga/eat.h"
#include "dga/util.h"

#define EAT_LEEWAY 10
#define EAT_FILE_MAX (4 * (size_t)DGA_EAT_MAX_BYTES) /* an attest output holds claims too */
#define TIME_MAX_FORMATTED 253402300799LL            /* 9999-12-31T23:59:59Z */

struct eat_verify_args {
    const char *file;
    const char *pubkey;
    const char *at;
    const char *nonce; /* the relying party's challenge, hex */
    bool json;
};

/* What the command learnt: the token's verdict, then (if it verified) its content. */
struct eat_outcome {
    dga_err err;
    struct dga_diag diag;
    char where[64];  /* "GPU-1 digest", "overall signature", "document" */
    json_t *overall; /* the overall payload when verified */
    json_t *submods; /* [{"label", "device_type"}] when verified */
    bool result;     /* x-dstack-verdict == "pass", else x-nvidia-overall-att-result */
};

static void verify_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s eat verify TOKEN --pubkey PEM [--nonce HEX] [--at YYYY-MM-DDTHH:MM:SSZ]\n"
            "                      [--json]\n"
            "\n"
            "Verifies a detached EAT: TOKEN is a file holding the detached EAT JSON\n"
            "([[\"JWT\", overall], {\"GPU-0\": submod, ...}]) or an attest JSON output with a\n"
            "\"detached_eat\" member. Exit 0 only if every token is ES384-signed by the key\n"
            "in PEM (a P-384 public key or a certificate holding one), every submod matches\n"
            "its digest in the overall token, all eat_nonce values agree, no token is\n"
            "expired or issued in the future (10 s leeway), and the result is a pass:\n"
            "x-dstack-verdict (the verdict of the policy attest applied) when the token\n"
            "carries it, else NVIDIA's x-nvidia-overall-att-result. Unsigned\n"
            "(\"alg\":\"none\") tokens never verify.\n"
            "\n"
            "  --pubkey FILE  the signer's public key or certificate (PEM), required\n"
            "  --nonce HEX    your challenge: the tokens' eat_nonce must be it (recommended;\n"
            "                 without it only their agreement with each other is checked)\n"
            "  --at TIME      verification time (default: now)\n"
            "  --json         machine-readable output\n"
            "\n"
            "Exit status: 0 verified, 1 rejected, 2 usage, 3 I/O or internal error.\n",
            PROGRAM);
}

static int parse_args(int argc, char **argv, struct eat_verify_args *a)
{
    const struct cli_option opts[] = {
        CLI_VALUE("pubkey", &a->pubkey),
        CLI_VALUE("at", &a->at),
        CLI_VALUE("nonce", &a->nonce),
        CLI_FLAG("json", &a->json),
        CLI_END,
    };
    int rc = cli_parse_one(argc, argv, opts, verify_usage, "eat verify", "TOKEN file", &a->file);
    if (rc == EXIT_VERIFIED && a->pubkey == NULL) {
        cli_error("eat verify: --pubkey PEM is required");
        rc = EXIT_USAGE;
    }
    return rc;
}

static int load_pubkey(const char *path, EVP_PKEY **ret)
{
    errno = 0;
    dga_err e = dga_eat_pubkey_load(path, ret);
    if (e == DGA_E_BAD_PEM || e == DGA_E_BAD_ARGUMENT) {
        cli_error("%s: not a P-384 public key or certificate [%s]", path, dga_err_name(e));
        return EXIT_USAGE;
    }
    return e == DGA_E_OK ? EXIT_VERIFIED : cli_file_error(path, e);
}

/*
 * The detached EAT text: the "detached_eat" member of an attest output
 * (re-serialized; the tokens inside are strings and keep their bytes), or
 * the file as it is, for the library to judge.
 */
static int load_token(const char *path, char **ret, size_t *ret_len)
{
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, EAT_FILE_MAX, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    _cleanup_(json_decrefp) json_t *doc =
        json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *eat = json_is_object(doc) ? json_object_get(doc, "detached_eat") : NULL;
    if (eat != NULL) {
        char *inner = json_dumps(eat, JSON_COMPACT | JSON_ENCODE_ANY);
        free(text);
        text = (uint8_t *)inner;
        len = inner != NULL ? strlen(inner) : 0;
    }
    if (text == NULL) {
        cli_error("%s: out of memory", path);
        return EXIT_IO;
    }
    *ret = (char *)TAKE_PTR(text);
    *ret_len = len;
    return EXIT_VERIFIED;
}

/* The submod object of a detached EAT (document order), or NULL. */
static json_t *load_submods(const char *text, size_t len)
{
    _cleanup_(json_decrefp) json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *subs = json_incref(json_array_get(doc, 1));
    if (!json_is_object(subs)) {
        json_decref(subs);
        return NULL;
    }
    return subs;
}

/* "GPU-1 digest": the token the diag names (offset k = k-th submod) and the part. */
static void describe_failure(const char *text, size_t len, struct eat_outcome *o)
{
    const char *field = o->diag.field != NULL ? o->diag.field : "document";
    const char *dot = strchr(field, '.');
    const char *part = dot != NULL ? dot + 1 : field;
    if (dot == NULL) {
        snprintf(o->where, sizeof o->where, "%s", field);
        return;
    }
    if (o->diag.offset == 0) {
        snprintf(o->where, sizeof o->where, "overall %s", part);
        return;
    }
    _cleanup_(json_decrefp) json_t *subs = load_submods(text, len);
    const char *label = NULL;
    json_t *value;
    size_t k = 0;
    json_object_foreach(subs, label, value)
    {
        if (++k == o->diag.offset) {
            break;
        }
    }
    if (k == o->diag.offset && label != NULL) {
        snprintf(o->where, sizeof o->where, "%s %s", label, part);
    } else {
        snprintf(o->where, sizeof o->where, "submod %zu %s", o->diag.offset, part);
    }
}

/* A verified submod's x-nvidia-device-type, or "-" where it has none (NRAS). */
static json_t *device_type_of(const char *compact)
{
    const char *d1 = strchr(compact, '.');
    const char *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
    _cleanup_(freep) uint8_t *bytes = NULL;
    size_t n = 0;
    _cleanup_(json_decrefp) json_t *payload = NULL;
    if (d2 != NULL && dga_base64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &bytes, &n) == DGA_E_OK) {
        payload = json_loadb((const char *)bytes, n, 0, NULL);
    }
    const char *type = json_string_value(json_object_get(payload, "x-nvidia-device-type"));
    return json_string(type != NULL ? type : "-");
}

static json_t *submod_list(const char *text, size_t len)
{
    _cleanup_(json_decrefp) json_t *subs = load_submods(text, len);
    json_t *list = json_array();
    const char *label;
    json_t *value;
    json_object_foreach(subs, label, value)
    {
        json_array_append_new(list, json_pack("{s:s,s:o}", "label", label, "device_type",
                                              device_type_of(json_string_value(value))));
    }
    return list;
}

static void verify_token(const char *text, size_t len, EVP_PKEY *key, time_t at,
                         struct eat_outcome *o)
{
    o->err = dga_eat_verify(text, len, key, at, EAT_LEEWAY, &o->overall, &o->diag);
    if (o->err != DGA_E_OK) {
        describe_failure(text, len, o);
        return;
    }
    o->submods = submod_list(text, len);
    /* The verdict of the policy that was applied, else NVIDIA's default result. */
    const json_t *verdict = json_object_get(o->overall, "x-dstack-verdict");
    o->result = verdict != NULL
                    ? json_is_string(verdict) && strcmp(json_string_value(verdict), "pass") == 0
                    : json_is_true(json_object_get(o->overall, "x-nvidia-overall-att-result"));
}

static void format_time(const json_t *t, char out[32])
{
    json_int_t v = json_integer_value(t);
    if (v >= 0 && v <= TIME_MAX_FORMATTED) {
        dga_time_format((time_t)v, out);
    } else {
        snprintf(out, 32, "%lld", (long long)v);
    }
}

static void print_text(const struct eat_verify_args *a, const struct eat_outcome *o, bool pass)
{
    if (o->err != DGA_E_OK) {
        printf("%s: detached EAT: FAIL (%s: %s)\nverdict: FAIL\n", a->file, o->where,
               dga_err_message(o->err));
        return;
    }
    char iat[32], exp[32];
    format_time(json_object_get(o->overall, "iat"), iat);
    format_time(json_object_get(o->overall, "exp"), exp);
    const char *iss = json_string_value(json_object_get(o->overall, "iss"));
    const char *nonce = json_string_value(json_object_get(o->overall, "eat_nonce"));
    printf("%s: detached EAT verified (ES384, %zu submods)\n", a->file,
           json_array_size(o->submods));
    printf("  issuer          %s\n  issued          %s\n  expires         %s\n",
           iss != NULL ? iss : "-", iat, exp);
    printf("  eat_nonce       %s\n", nonce != NULL ? nonce : "-");
    size_t i;
    json_t *s;
    json_array_foreach(o->submods, i, s)
    {
        printf("  %-15s %s\n", json_string_value(json_object_get(s, "label")),
               json_string_value(json_object_get(s, "device_type")));
    }
    const json_t *v = json_object_get(o->overall, "x-dstack-verdict");
    printf("  result          %s (%s)\nverdict: %s\n", o->result ? "pass" : "fail",
           v != NULL ? "x-dstack-verdict" : "x-nvidia-overall-att-result", pass ? "PASS" : "FAIL");
}

static json_t *outcome_json(const struct eat_verify_args *a, const struct eat_outcome *o, bool pass,
                            time_t at)
{
    char when[21];
    dga_time_format(at, when);
    json_t *j = json_pack("{s:s,s:s,s:s,s:b}", "result", pass ? "pass" : "fail", "file", a->file,
                          "verified_at", when, "token_verified", o->err == DGA_E_OK);
    if (j == NULL) {
        return NULL;
    }
    if (o->err != DGA_E_OK) {
        json_object_set_new(j, "error", json_string(dga_err_name(o->err)));
        json_object_set_new(j, "error_at", json_string(o->where));
        return j;
    }
    json_object_set_new(j, "x-nvidia-overall-att-result", json_boolean(o->result));
    json_object_set(j, "submods", o->submods);
    json_object_set(j, "overall", o->overall);
    return j;
}

static void report_failure(const struct eat_verify_args *a, const struct eat_outcome *o)
{
    if (o->err != DGA_E_OK) {
        cli_error("%s: %s: %s [%s]", a->file, o->where, dga_err_message(o->err),
                  dga_err_name(o->err));
    } else if (!o->result) {
        cli_error("%s: the token verifies, but its verdict is not a pass", a->file);
    }
}

/* The tokens agree with each other; with --nonce they must also answer our challenge. */
static void check_challenge(const uint8_t *nonce, struct eat_outcome *o)
{
    if (nonce == NULL || o->err != DGA_E_OK || dga_eat_nonce_is(o->overall, nonce)) {
        return;
    }
    o->err = DGA_E_EAT_NONCE;
    snprintf(o->where, sizeof o->where, "overall eat_nonce (not --nonce)");
    json_decref(o->overall);
    json_decref(o->submods);
    o->overall = NULL;
    o->submods = NULL;
}

static int run_verify(const struct eat_verify_args *a, const uint8_t *nonce, EVP_PKEY *key,
                      time_t at)
{
    _cleanup_(freep) char *text = NULL;
    size_t len = 0;
    int rc = load_token(a->file, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    struct eat_outcome o = {0};
    verify_token(text, len, key, at, &o);
    check_challenge(nonce, &o);
    bool pass = o.err == DGA_E_OK && o.result;
    if (!pass) {
        report_failure(a, &o);
    }
    if (a->json) {
        _cleanup_(json_decrefp) json_t *j = outcome_json(a, &o, pass, at);
        rc = cli_print_json(j);
    } else {
        print_text(a, &o, pass);
    }
    json_decref(o.overall);
    json_decref(o.submods);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    if (o.err == DGA_E_NOMEM) {
        return EXIT_IO;
    }
    return pass ? EXIT_VERIFIED : EXIT_REJECTED;
}

int cmd_eat_verify(int argc, char **argv)
{
    struct eat_verify_args a = {0};
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
    time_t at = time(NULL);
    uint8_t nonce[DGA_NONCE_LEN];
    int rc = parse_args(argc, argv, &a);
    if (rc == EXIT_VERIFIED && a.at != NULL && dga_time_parse(a.at, &at) != DGA_E_OK) {
        cli_error("--at: expected YYYY-MM-DDTHH:MM:SSZ");
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_VERIFIED && a.nonce != NULL &&
        dga_hex_decode_fixed(a.nonce, nonce, DGA_NONCE_LEN) != DGA_E_OK) {
        cli_error("--nonce: expected 64 hexadecimal digits");
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_VERIFIED) {
        rc = load_pubkey(a.pubkey, &key);
    }
    if (rc == EXIT_VERIFIED) {
        rc = run_verify(&a, a.nonce != NULL ? nonce : NULL, key, at);
    }
    return rc;
}
