/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nvattest drop-in (docs/nvattest.md): `dstack-gpu-attest nvattest attest ...`, or
 * the program installed as /usr/bin/nvattest, so that an unmodified dstack-util runs the
 * gate's checks. It takes exactly the arguments dstack-util passes and the nvattest flags
 * an operator uses next to them (anything else is a usage error, never ignored), maps them
 * and /etc/dstack-gpu-attest/nvattest.json onto a gate config, runs the gate as a dry run
 * with the caller's nonce and the bundle in memory (dstack-util emits the event and sets
 * the ready state), and prints the bundle: a superset of `nvattest attest --format json`
 * whose exact bytes dstack-util hashes into its gpu-attestation event. Every outcome
 * prints one JSON object with result_code and result_message (dstack-util saves stdout
 * before it checks the exit status); the exit status is the result code's low 8 bits,
 * as nvattest's. nvattest's other runs, `attest --device nvswitch` and `collect-evidence`,
 * are in tools/nvattest_devices.c, on the same arguments and configuration.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cli.h"
#include "dga/cleanup.h"
#include "dga/gate.h"
#include "dga/util.h"
#include "nvattest.h"
#include "nvattest_policies.h"

#define DEFAULT_CONFIG "/etc/dstack-gpu-attest/nvattest.json"
#define CONFIG_ENV "DSTACK_GPU_ATTEST_NVATTEST_CONFIG"
#define REGO_MAX_BYTES (1u << 20)

/*
 * NVIDIA's example relying-party policies, by the SHA-256 of their exact text, and the
 * policy document (docs/policy.md) that expresses each (policies/nvattest/, compiled in).
 */
#define RP(sha, rego, doc, id)                                                                     \
    {                                                                                              \
        sha, rego, doc, policy_##id, sizeof policy_##id                                            \
    }

static const struct rp_policy rp_policies[] = {
    RP("aab586ae4260a269d0a9b3e1c65fd49dc4db252d9f0dde01d052f798022e700d",
       "allow_gpu_driver_rim_cert_expired.rego", "allow_gpu_driver_rim_cert_expired.json",
       allow_gpu_driver_rim_cert_expired),
    RP("d111a0e56828a150a45e82d88c89441f3ccd847587b9049efc82f126f139ae0f",
       "allow_gpu_driver_rim_cert_revoked.rego", "allow_gpu_driver_rim_cert_revoked.json",
       allow_gpu_driver_rim_cert_revoked),
    RP("e2b27c074e3d4f6347f722eb22245c7e89d4a04848539f150427a7550513b327",
       "allow_gpu_driver_rim_cert_unknown.rego", "allow_gpu_driver_rim_cert_unknown.json",
       allow_gpu_driver_rim_cert_unknown),
    RP("6abb26065f7b3bc3d4f6aace96aca4d4409bacc1f21fa3c176fd80927503518b",
       "allow_gpu_measurement_mismatch_index_7.rego", "allow_gpu_measurement_mismatch_index_7.json",
       allow_gpu_measurement_mismatch_index_7),
    RP("b7353af6d6dd672d8b3a89d0181c9410ca6c80215aa4b1e20976f0a5081ea9e1",
       "allow_trust_outpost_ocsp.rego", "trust_outpost.json", trust_outpost),
    RP("af723ef38c8b501c6277e9b19ec4330cf70f3d120ef253fe7d9fec3a10c7e718",
       "rp-policy-permissive.rego", "rp-policy-permissive.json", rp_policy_permissive),
    RP("f8cfe9cf1737fd63e7220d85dee08e67e4679507186d16af623656032083638b",
       "switch_relying_party_policy.rego", "switch_relying_party_policy.json",
       switch_relying_party_policy),
};

/* The gate config keys that have a meaning here; the rest configure measuring, not ours. */
static const char *const config_keys[] = {
    "version",
    "rim_dir",
    "policy",
    "ocsp",
    "ocsp_url",
    "collateral_dir",
    "ocsp_max_age",
    "nvml",
    "sysfs_pci",
    "test_device_root",
    "verify_at",
    "cc_timeout_ms",
    "collect_timeout_ms",
    "eat_key",
    "eat_kid",
};

/*
 * The NSCQ library: the gate's key (PPCIe mode, `--device gpu`), and the one `--device nvswitch`
 * loads, where its absence means nvattest's default.
 */
#define NSCQ_KEY "nscq"
#define NSCQ_DEFAULT "libnvidia-nscq.so.2"

/* One flag and where its value goes (exact names only: no abbreviations, as nvattest). */
struct nv_flag {
    const char *name;
    size_t offset; /* into struct nv_args */
};

#define FLAG(n, member)                                                                            \
    {                                                                                              \
        n, offsetof(struct nv_args, member)                                                        \
    }

static const struct nv_flag flags[] = {
    FLAG("--device", device),
    FLAG("--verifier", verifier),
    FLAG("--nonce", nonce),
    FLAG("--format", format),
    FLAG("--ocsp-url", ocsp_url),
    FLAG("--rim-url", rim_url),
    FLAG("--relying-party-policy", rp_policy),
    FLAG("--rim-store", rim_store),
    FLAG("--rim-dir", rim_dir),
    FLAG("--log-level", log_level),
};

static void nv_usage(FILE *out)
{
    fprintf(out,
            "Usage: nvattest attest --device gpu --verifier local [--nonce HEX64] [--format json]\n"
            "           [--ocsp-url URL] [--rim-url URL] [--relying-party-policy FILE]\n"
            "           [--rim-store dir --rim-dir DIR] [--log-level LEVEL]\n"
            "       nvattest attest --device nvswitch --verifier local [the same flags]\n"
            "       nvattest collect-evidence --device gpu|nvswitch [--nonce HEX64]\n"
            "           [--format json] [--log-level LEVEL]\n"
            "\n"
            "%s's drop-in for NVIDIA's nvattest (as dstack-util runs it): collects every\n"
            "GPU's evidence through NVML (--device nvswitch: every NVSwitch's through NSCQ)\n"
            "for the nonce, checks the CC mode (GPUs), appraises offline (config %s,\n"
            "or $%s) and prints the evidence bundle as JSON, a superset of\n"
            "nvattest's output; collect-evidence prints the evidence only. Exit status: the\n"
            "result code's low 8 bits. See docs/nvattest.md.\n",
            PROGRAM, DEFAULT_CONFIG, CONFIG_ENV);
}

/* ---- output: one JSON object on stdout whatever happens ---- */

int nv_exit_status(int result_code)
{
    int status = result_code & 0xff;
    return status != 0 ? status : 1; /* a failure never exits 0, whatever its code */
}

/* Prints a compact object with sorted keys and a newline: the bundle's own format. */
void nv_print_object(json_t *o)
{
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (text == NULL) {
        /* out of memory: still something dstack-util's parser reads */
        fputs("{\"claims\":{},\"detached_eat\":{},\"result_code\":2,\"result_message\":\"out of "
              "memory\"}\n",
              stdout);
        return;
    }
    printf("%s\n", text);
    free(text);
}

/*
 * A JSON string must be UTF-8, and a path from the environment or a flag need not be: such a
 * text goes into the JSON output with every byte outside printable ASCII as '?' (stderr keeps
 * the bytes), so the output keeps the run's result code and reason instead of failing to
 * serialize into nv_print_object's "out of memory".
 */
static void json_safe_text(char *s)
{
    json_t *probe = json_string(s); /* NULL: not UTF-8 */
    if (probe != NULL) {
        json_decref(probe);
        return;
    }
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c > 0x7e) {
            *s = '?';
        }
    }
}

int nv_fail(const struct nv_args *a, int code, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (a == NULL || !a->quiet) {
        fprintf(stderr, "nvattest: %s\n", message);
    }
    json_safe_text(message);
    _cleanup_(json_decrefp) json_t *o = json_pack("{s:{},s:{},s:i,s:s}", "claims", "detached_eat",
                                                  "result_code", code, "result_message", message);
    nv_print_object(o);
    return nv_exit_status(code);
}

/* ---- arguments ---- */

static const char **flag_slot(struct nv_args *a, const char *arg, size_t name_len)
{
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (strlen(flags[i].name) == name_len && strncmp(flags[i].name, arg, name_len) == 0) {
            return (const char **)((char *)a + flags[i].offset);
        }
    }
    return NULL;
}

/* `--name VALUE` or `--name=VALUE`; each flag once. Returns 0 or a usage failure. */
static int take_flag(struct nv_args *a, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    size_t name_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    const char **slot = flag_slot(a, arg, name_len);
    if (slot == NULL) {
        return nv_fail(a, RC_BAD_ARGUMENT, "unknown argument '%.*s' (see --help)", (int)name_len,
                       arg);
    }
    if (*slot != NULL) {
        return nv_fail(a, RC_BAD_ARGUMENT, "%.*s given twice", (int)name_len, arg);
    }
    if (eq == NULL && *i + 1 >= argc) {
        return nv_fail(a, RC_BAD_ARGUMENT, "%s needs a value", arg);
    }
    *slot = eq != NULL ? eq + 1 : argv[++*i];
    if ((*slot)[0] == '\0') {
        return nv_fail(a, RC_BAD_ARGUMENT, "%.*s: empty value", (int)name_len, arg);
    }
    return 0;
}

static bool one_of(const char *v, const char *const *allowed)
{
    for (size_t i = 0; allowed[i] != NULL; i++) {
        if (strcmp(v, allowed[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* attest's --verifier: required, and only the offline appraisal. */
static int check_attest_only(const struct nv_args *a)
{
    if (a->verifier == NULL || strcmp(a->verifier, "local") != 0) {
        return nv_fail(a, RC_BAD_ARGUMENT, "--verifier: only 'local' (offline appraisal)");
    }
    return 0;
}

/* collect-evidence collects and appraises nothing: the flags of an appraisal are not its. */
static int check_collect_only(const struct nv_args *a)
{
    const char *const *appraisal[] = {&a->verifier,  &a->ocsp_url,  &a->rim_url,
                                      &a->rp_policy, &a->rim_store, &a->rim_dir};
    static const char *const names[] = {"--verifier",  "--ocsp-url",
                                        "--rim-url",   "--relying-party-policy",
                                        "--rim-store", "--rim-dir"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (*appraisal[i] != NULL) {
            return nv_fail(a, RC_BAD_ARGUMENT, "%s: attest's, not collect-evidence's", names[i]);
        }
    }
    return 0;
}

/* The values this drop-in can honour; any other is refused, never approximated. */
static int check_values(struct nv_args *a)
{
    static const char *const levels[] = {"off", "error", "warn", "info", "debug", "trace", NULL};
    if (a->log_level != NULL && !one_of(a->log_level, levels)) {
        return nv_fail(a, RC_BAD_ARGUMENT,
                       "--log-level: '%s' is not one of off, error, warn, info, "
                       "debug, trace",
                       a->log_level);
    }
    a->quiet = a->log_level != NULL && strcmp(a->log_level, "off") == 0;
    static const char *const devices[] = {"gpu", "nvswitch", NULL};
    if (a->device == NULL || !one_of(a->device, devices)) {
        return nv_fail(a, RC_BAD_ARGUMENT, "--device: '%s' is not one of gpu, nvswitch",
                       a->device != NULL ? a->device : "");
    }
    int rc = strcmp(a->command, "attest") == 0 ? check_attest_only(a) : check_collect_only(a);
    if (rc != 0) {
        return rc;
    }
    if (a->format != NULL && strcmp(a->format, "json") != 0) {
        return nv_fail(a, RC_BAD_ARGUMENT, "--format: only 'json'");
    }
    if (a->nonce != NULL &&
        dga_hex_decode_exact(a->nonce, a->nonce_bytes, sizeof a->nonce_bytes) != DGA_E_OK) {
        return nv_fail(a, RC_BAD_ARGUMENT, "--nonce: not 64 hex digits");
    }
    if (a->rim_store != NULL && strcmp(a->rim_store, "dir") != 0) {
        return nv_fail(a, RC_BAD_ARGUMENT,
                       "--rim-store: only 'dir' (the drop-in reads RIMs from a local store)");
    }
    if ((a->rim_store != NULL) != (a->rim_dir != NULL)) {
        return nv_fail(a, RC_BAD_ARGUMENT, "--rim-store dir and --rim-dir DIR go together");
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct nv_args *a)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        nv_usage(stdout);
        exit(EXIT_VERIFIED);
    }
    static const char *const commands[] = {"attest", "collect-evidence", NULL};
    if (argc < 2 || !one_of(argv[1], commands)) {
        return nv_fail(a, RC_BAD_ARGUMENT,
                       "the commands are 'attest' and 'collect-evidence' (got '%s')",
                       argc >= 2 ? argv[1] : "");
    }
    a->command = argv[1];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            nv_usage(stdout);
            exit(EXIT_VERIFIED);
        }
        int rc = take_flag(a, argc, argv, &i);
        if (rc != 0) {
            return rc;
        }
    }
    return check_values(a);
}

/* nvattest's environment variables: the flag wins; an empty value is unset. */
static void take_env(const char **slot, const char *name)
{
    const char *v = getenv(name);
    if (*slot == NULL && v != NULL && v[0] != '\0') {
        *slot = v;
    }
}

/* ---- the configuration ---- */

static bool config_key_known(const char *k)
{
    if (strcmp(k, NSCQ_KEY) == 0) {
        return true;
    }
    for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++) {
        if (strcmp(config_keys[i], k) == 0) {
            return true;
        }
    }
    return false;
}

static int read_config(const struct nv_args *a, const char *path, json_t **ret)
{
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    errno = 0;
    dga_err e = dga_file_read(path, DGA_GATE_CONFIG_MAX_BYTES, &text, &len);
    if (e != DGA_E_OK) {
        return nv_fail(a, e == DGA_E_IO ? RC_INTERNAL : RC_BAD_ARGUMENT, "config %s: %s", path,
                       e == DGA_E_IO && errno != 0 ? strerror(errno) : dga_err_message(e));
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return nv_fail(a, RC_BAD_ARGUMENT, "config %s: not a JSON object (byte %d)", path,
                       jerr.position);
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (!config_key_known(k)) {
            /* k lives in root: report before freeing it */
            int rc = nv_fail(a, RC_BAD_ARGUMENT,
                             "config %s: key '%.64s' is not the drop-in's: it measures nothing and "
                             "applies no gpu_policy (dstack-util does both)",
                             path, k);
            json_decref(root);
            return rc;
        }
    }
    *ret = root;
    return 0;
}

static int set_string(const struct nv_args *a, json_t *cfg, const char *key, const char *v)
{
    if (json_object_set_new(cfg, key, json_string(v)) != 0) {
        return nv_fail(a, RC_BAD_ARGUMENT, "%s: not UTF-8", key);
    }
    return 0;
}

/*
 * An OCSP URL (the flag, else NVAT_OCSP_BASE_URL) means "ask this responder": the gate
 * asks it online. A configuration that says not to ask anyone contradicts it.
 */
static int apply_ocsp_url(const struct nv_args *a, json_t *cfg, const char *path)
{
    if (a->ocsp_url == NULL) {
        return 0;
    }
    const char *mode = json_string_value(json_object_get(cfg, "ocsp"));
    if (mode != NULL && strcmp(mode, "online") != 0) {
        return nv_fail(a, RC_BAD_ARGUMENT,
                       "--ocsp-url %s contradicts \"ocsp\": \"%s\" in %s: the drop-in does not "
                       "ignore a responder it was given",
                       a->ocsp_url, mode, path);
    }
    int rc = set_string(a, cfg, "ocsp_url", a->ocsp_url);
    return rc != 0 ? rc : set_string(a, cfg, "ocsp", "online");
}

/*
 * "nscq": the NSCQ library (as "nvml" names NVML's). It stays in the config for the gate's
 * PPCIe mode (`--device gpu` on a protected-PCIe board attests the NVSwitches through it);
 * a->nscq is what `--device nvswitch` loads.
 */
static int take_nscq(struct nv_args *a, json_t *cfg, const char *path)
{
    json_t *v = json_object_get(cfg, NSCQ_KEY);
    if (v == NULL) {
        return 0;
    }
    const char *lib = json_string_value(v);
    if (lib == NULL || lib[0] == '\0' || strlen(lib) > DGA_GATE_PATH_MAX) {
        return nv_fail(a, RC_BAD_ARGUMENT,
                       "config %s: key '%s': a library path (a non-empty string of at most %u "
                       "bytes)",
                       path, NSCQ_KEY, DGA_GATE_PATH_MAX);
    }
    a->nscq = strdup(lib);
    if (a->nscq == NULL) {
        return nv_fail(a, RC_INTERNAL, "out of memory");
    }
    return 0;
}

static const struct rp_policy *find_rp_policy(const uint8_t sha[32])
{
    char hex[65];
    dga_hex_encode(sha, 32, hex);
    for (size_t i = 0; i < sizeof rp_policies / sizeof rp_policies[0]; i++) {
        if (strcmp(rp_policies[i].rego_sha256, hex) == 0) {
            return &rp_policies[i];
        }
    }
    return NULL;
}

/*
 * --relying-party-policy: no Rego engine here, so only NVIDIA's example files are known,
 * by the SHA-256 of their text; each becomes the gate's gpu_policy "rego" with its
 * document as its built-in equivalent (dga_gate_config_add_rego_equivalent), evaluated after the
 * configured policy (both must pass: a caller's policy never relaxes the operator's). Any other
 * file is refused.
 */
static int apply_rp_policy(struct nv_args *a, json_t *cfg, const struct rp_policy **ret)
{
    if (a->rp_policy == NULL) {
        return 0;
    }
    _cleanup_(freep) uint8_t *text = NULL;
    size_t len = 0;
    errno = 0;
    dga_err e = dga_file_read(a->rp_policy, REGO_MAX_BYTES, &text, &len);
    if (e != DGA_E_OK) {
        return nv_fail(a, RC_POLICY_EVALUATION_ERROR, "relying-party policy %s: %s", a->rp_policy,
                       e == DGA_E_IO && errno != 0 ? strerror(errno) : dga_err_message(e));
    }
    uint8_t sha[32];
    char hex[65];
    if (EVP_Digest(text, len, sha, NULL, EVP_sha256(), NULL) != 1) {
        return nv_fail(a, RC_INTERNAL, "relying-party policy %s: SHA-256 failed", a->rp_policy);
    }
    dga_hex_encode(sha, 32, hex);
    const struct rp_policy *p = find_rp_policy(sha);
    if (p == NULL) {
        return nv_fail(
            a, RC_POLICY_EVALUATION_ERROR,
            "relying-party policy %s: not one of NVIDIA's example policies (SHA-256 %s); "
            "there is no Rego engine, so no other Rego is evaluated",
            a->rp_policy, hex);
    }
    json_t *gp = json_pack("{s:s%}", "rego", (const char *)text, len);
    if (gp == NULL || json_object_set_new(cfg, "gpu_policy", gp) != 0) {
        return nv_fail(a, RC_INTERNAL, "relying-party policy %s: out of memory", a->rp_policy);
    }
    *ret = p;
    a->rp = p;
    memcpy(a->rp_sha256, sha, sizeof a->rp_sha256);
    return 0;
}

/* The compiled-in document stands in for the Rego text, named as the bundle records it. */
static int add_rp_equivalent(const struct nv_args *a, struct dga_gate_config *c,
                             const struct rp_policy *p)
{
    uint8_t sha[32];
    char name[128];
    snprintf(name, sizeof name, "builtin:%s", p->document);
    dga_err e = dga_hex_decode_exact(p->rego_sha256, sha, 32);
    if (e == DGA_E_OK) {
        e = dga_gate_config_add_rego_equivalent(c, sha, name, p->text, p->len);
    }
    if (e != DGA_E_OK) {
        return nv_fail(a, e == DGA_E_NOMEM ? RC_INTERNAL : RC_BAD_ARGUMENT,
                       "relying-party policy %s: %s: %s (the config's rego_equivalents already "
                       "name a document for it, or are full)",
                       a->rp_policy, dga_err_name(e), dga_err_message(e));
    }
    return 0;
}

/*
 * --rim-url (or NVAT_RIM_SERVICE_BASE_URL) is not contacted: RIMs come from the local
 * store and are verified exactly as fetched ones would be, so the URL changes where a
 * RIM could come from, never what is accepted; a RIM the store lacks fails (104). Said
 * on stderr every run, so it is never silent.
 */
static void note_rim_url(const struct nv_args *a, const json_t *cfg)
{
    if (a->rim_url != NULL && !a->quiet) {
        fprintf(stderr, "nvattest: RIM service %s not contacted: RIMs come from the store %s\n",
                a->rim_url, json_string_value(json_object_get(cfg, "rim_dir")));
    }
}

/* nvattest.json with the flags applied, parsed by the gate's own parser. */
static int build_config(struct nv_args *a, struct dga_gate_config **ret)
{
    const struct rp_policy *rp = NULL;
    const char *path = getenv(CONFIG_ENV);
    path = path != NULL && path[0] != '\0' ? path : DEFAULT_CONFIG;
    a->config_path = path;
    _cleanup_(json_decrefp) json_t *cfg = NULL;
    int rc = read_config(a, path, &cfg);
    if (rc == 0) {
        rc = take_nscq(a, cfg, path);
    }
    if (rc == 0 && a->rim_dir != NULL) {
        rc = set_string(a, cfg, "rim_dir", a->rim_dir);
    }
    if (rc == 0) {
        rc = apply_ocsp_url(a, cfg, path);
    }
    if (rc == 0) {
        rc = apply_rp_policy(a, cfg, &rp);
    }
    if (rc != 0) {
        return rc;
    }
    _cleanup_(freep) char *text = json_dumps(cfg, JSON_COMPACT);
    struct dga_diag diag = {0};
    dga_err e = text != NULL ? dga_gate_config_parse(text, strlen(text), ret, &diag) : DGA_E_NOMEM;
    if (e != DGA_E_OK) {
        return nv_fail(a, e == DGA_E_NOMEM ? RC_INTERNAL : RC_BAD_ARGUMENT,
                       "config %s: %s: %s (key %s)", path, dga_err_name(e), dga_err_message(e),
                       diag.field != NULL ? diag.field : "config");
    }
    /* one deadline for NSCQ, as `--device nvswitch` has: nscq_timeout_ms is not a drop-in key */
    (*ret)->nscq_timeout_ms = (*ret)->collect_timeout_ms;
    if (rp != NULL) {
        rc = add_rp_equivalent(a, *ret, rp);
        if (rc != 0) {
            return rc; /* *ret is the caller's to free */
        }
    }
    note_rim_url(a, cfg);
    return 0;
}

/* ---- the run ---- */

/* The result code of a run that stopped before the appraisal gave one (as nvattest's). */
static int gate_result_code(const struct dga_gate_result *r)
{
    if (r->err == DGA_E_CC_OFF || r->err == DGA_E_CC_UNKNOWN || r->err == DGA_E_CC_DEVTOOLS) {
        return RC_GPU_MODE_NOT_SUPPORTED; /* libnvat: neither CC nor protected PCIe */
    }
    switch (r->outcome) {
    case DGA_GATE_OUTCOME_CONFIG:
        return RC_BAD_ARGUMENT;
    case DGA_GATE_OUTCOME_REFUSED:
        return RC_EVIDENCE_INVALID;
    default:
        return RC_INTERNAL;
    }
}

/*
 * The reason a refusal prints. The gate refuses a PPCIe machine without an NSCQ library in
 * its own words, naming a gate config; a drop-in user wrote nvattest.json, so the drop-in
 * names that file's key instead (the result code stays the gate's: a configuration's, 4).
 */
static const char *refusal_reason(const struct nv_args *a, const struct dga_gate_config *cfg,
                                  const struct dga_gate_result *r, char *buf, size_t size)
{
    if (r->step != DGA_GATE_STEP_CC || r->err != DGA_E_GATE_CONFIG || !r->ppcie ||
        cfg->nscq != NULL) {
        return r->reason;
    }
    snprintf(buf, size,
             "config %s: the CC settings put this machine in PPCIe mode (%zu GPU(s), %zu "
             "NVSwitch(es)), whose NVSwitches are attested through NSCQ: set \"%s\" to the NSCQ "
             "library (%s)",
             a->config_path, r->n_gpus, r->n_nvswitches, NSCQ_KEY, NSCQ_DEFAULT);
    json_safe_text(buf); /* stderr too: it is printed once, with the JSON's words */
    return buf;
}

/* The bundle's records of the gate's reason (gate.reason, verdict.reasons) say the drop-in's. */
static void replace_reason(json_t *b, const char *gate_reason, const char *reason)
{
    json_t *gate = json_object_get(b, "gate");
    if (json_is_object(gate)) {
        json_object_set_new(gate, "reason", json_string(reason));
    }
    json_t *reasons = json_object_get(json_object_get(b, "verdict"), "reasons");
    size_t i;
    json_t *v;
    json_array_foreach(reasons, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), gate_reason) == 0) {
            json_array_set_new(reasons, i, json_string(reason));
        }
    }
}

/*
 * A refused run: the bundle with its result code, or, where the run stopped before the
 * appraisal (result_code -1), nvattest's code for the step and the reason. Nothing commits
 * to a refused run's bytes, so it is re-serialized (same format) when changed.
 */
static int print_refusal(const struct nv_args *a, const struct dga_gate_config *cfg,
                         const struct dga_gate_result *r)
{
    char own[DGA_GATE_REASON_LEN + DGA_GATE_PATH_MAX];
    const char *reason = refusal_reason(a, cfg, r, own, sizeof own);
    if (!a->quiet) {
        fprintf(stderr, "nvattest: %s\n", reason);
    }
    _cleanup_(json_decrefp) json_t *b =
        r->bundle != NULL ? json_loadb(r->bundle, r->bundle_len, 0, NULL) : NULL;
    json_t *code = json_object_get(b, "result_code");
    if (!json_is_integer(code)) {
        struct nv_args q = *a;
        q.quiet = true; /* the reason is on stderr already */
        return nv_fail(&q, gate_result_code(r), "%s", reason);
    }
    json_int_t rc = json_integer_value(code);
    if (rc > 0 && reason == r->reason) {
        fwrite(r->bundle, 1, r->bundle_len, stdout);
        return nv_exit_status((int)rc);
    }
    if (reason != r->reason) {
        replace_reason(b, r->reason, reason);
    }
    if (rc <= 0) {
        rc = gate_result_code(r);
        if (json_object_set_new(b, "result_code", json_integer(rc)) != 0 ||
            json_object_set_new(b, "result_message", json_string(reason)) != 0) {
            b = NULL;
        }
    }
    nv_print_object(b);
    return nv_exit_status((int)rc);
}

static int run(const struct nv_args *a, const struct dga_gate_config *cfg)
{
    _cleanup_(freep) struct dga_gate_result *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return nv_fail(a, RC_INTERNAL, "out of memory");
    }
    /* dstack-util emits gpu-attestation and sets the ready state itself: a dry run. */
    struct dga_gate_options opt = {
        .dry_run = true,
        .bundle_in_memory = true,
        .nonce = a->nonce != NULL ? a->nonce_bytes : NULL,
    };
    dga_gate_run(cfg, &opt, r);
    int rc;
    if (r->err == DGA_E_OK && r->bundle != NULL) {
        /* exactly the bundle's bytes (one trailing newline): dstack-util hashes them */
        rc = fwrite(r->bundle, 1, r->bundle_len, stdout) == r->bundle_len
                 ? EXIT_VERIFIED
                 : nv_exit_status(RC_INTERNAL);
    } else {
        rc = print_refusal(a, cfg, r);
    }
    dga_gate_result_clear(r);
    return rc;
}

int cmd_nvattest(int argc, char **argv)
{
    struct nv_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        return rc;
    }
    bool attest = strcmp(a.command, "attest") == 0;
    if (attest) {
        take_env(&a.ocsp_url, "NVAT_OCSP_BASE_URL");
        take_env(&a.rim_url, "NVAT_RIM_SERVICE_BASE_URL");
    }
    /* NV_ATTESTATION_SERVICE_KEY authenticates to NVIDIA's services, never contacted here. */
    _cleanup_(dga_gate_config_freep) struct dga_gate_config *cfg = NULL;
    rc = build_config(&a, &cfg);
    bool gpu = strcmp(a.device, "gpu") == 0;
    if (rc == 0) {
        rc = !attest ? nv_collect_evidence(&a, cfg)
             : gpu   ? run(&a, cfg)
                     : nv_attest_switches(&a, cfg);
    }
    free(a.nscq);
    return rc;
}
