/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_cvm: the relying party's whole verification of a dstack CVM in
 * process (dga_cvm_run: the quote with its collateral, the event log, the
 * GPU binding and the re-appraisal of the bundle's raw evidence) for the
 * 1-GPU and the 8-GPU CVM that bench/bench_cvm.sh builds with
 * tests/e2e/make_cvm.sh, against the target issue 12 sets for the coming
 * verifier server (bench/README.md).
 *
 *   bench_cvm DIR [ITERATIONS]     (default 200)
 *   bench_cvm --count N DIR [1|8]  N dga_cvm_run calls of the 1-GPU (default) or
 *                                  8-GPU CVM and nothing timed, for
 *                                  bench_cvm_count.sh (callgrind)
 *
 * DIR: collateral.json and pki/root.der (the test Intel PKI), cvm1/ and,
 * optionally, cvm8/, each with attestation.json, bundle.json and
 * expect-bench.json. Everything is read, parsed and loaded once, before any
 * timing, and the reappraiser is created once per CVM: one dga_cvm_run call
 * is then what a server with the inputs already parsed does per request.
 * The reappraiser's verification cache is shared across calls (and warm
 * after the warm-up calls): RIM documents are read from the store and
 * hashed per call but neither parsed nor verified again, and each GPU's
 * device chain is verified from its leaf and BROM up to the cached ICA; the
 * collateral JSON is still parsed per call (the server's collateral cache is
 * not plugged in here). Figures are printed with the target as met/MISSED,
 * never asserted.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dga/cleanup.h"
#include "dga/cvm.h"
#include "dga/quote.h"
#include "dga/stats.h"
#include "dga/util.h"
#include "dga/x509.h"

#define AT "2025-07-01T00:00:00Z" /* inside the synthetic collateral's window */
#define TARGET_PER_SECOND 150.0   /* 1-GPU verifications per second per core */
#define TARGET_P99_MS 50.0
#define N_CVMS 2

#ifdef __clang__
#define COMPILER "clang " __clang_version__
#else
#define COMPILER "gcc " __VERSION__
#endif

/* One CVM's inputs, parsed once. */
struct cvm {
    const char *dir; /* "cvm1" */
    unsigned gpus;
    bool present;
    uint8_t *attestation; /* the raw texts, for the request row */
    size_t attestation_len;
    uint8_t *bundle;
    size_t bundle_len;
    struct dga_cvm_input in;
    struct dga_cvm_expect x;
    struct dga_cvm_reappraiser *reappraiser;
    struct dga_cvm_options opt;
    json_t *bundle_doc; /* for the re-appraisal row */
    struct dga_cvm_gpu_payload payload;
    time_t reappraise_at;
    unsigned long ecdsa;                /* the library's counter over the last dga_cvm_run */
    double first_wall_ms, first_cpu_ms; /* the untimed setup run (cvm1: the process's first) */
};

struct bench {
    uint8_t *collateral;
    size_t collateral_len;
    struct dga_trust root; /* the test Intel root */
    time_t at;
    EVP_PKEY *p256, *p384; /* baselines: a fresh key each, and a signature */
    uint8_t sig256[80], sig384[112], digest[48];
    size_t sig256_len, sig384_len;
    struct cvm cvm[N_CVMS];
    struct cvm *cur; /* the CVM the next operation runs on */
};

typedef dga_err (*bench_fn)(struct bench *b);

static struct dga_cvm_run_params params(const struct bench *b, const struct cvm *c)
{
    return (struct dga_cvm_run_params){
        .in = &c->in,
        .bundle = c->bundle,
        .bundle_len = c->bundle_len,
        .x = &c->x,
        .collateral = {.kind = DGA_CVM_COLLATERAL_JSON,
                       .json = (const char *)b->collateral,
                       .json_len = b->collateral_len},
        .root = &b->root,
        .opt = &c->opt,
    };
}

/* A verdict that is not the pass the generator built is a broken bench, not a figure. */
static dga_err check_run(const struct cvm *c, const struct dga_cvm_run *r)
{
    const struct dga_cvm_result *v = &r->result;
    if (!v->valid || !v->gpu_verified || !v->reappraisal.ran ||
        v->reappraisal.n_devices != c->gpus) {
        fprintf(stderr, "bench_cvm: %s: not the passing verdict: %s\n", c->dir, v->reason);
        return DGA_E_INTERNAL;
    }
    return DGA_E_OK;
}

/* One whole verification over the parsed inputs: what the benchmark is about. */
static dga_err op_run(struct bench *b)
{
    struct cvm *c = b->cur;
    const struct dga_cvm_run_params p = params(b, c);
    _cleanup_(dga_cvm_run_clearp) struct dga_cvm_run r = {0};
    struct dga_diag d = {0};
    unsigned long before = dga_stats_ecdsa_verifications();
    dga_err e = dga_cvm_run(&p, &r, &d);
    c->ecdsa = dga_stats_ecdsa_verifications() - before;
    return e == DGA_E_OK ? check_run(c, &r) : e;
}

/* A request as a server sees it: parse the attestation and bundle, run, write the JSON. */
static dga_err op_request(struct bench *b)
{
    struct cvm *c = b->cur;
    _cleanup_(dga_cvm_input_clearp) struct dga_cvm_input in = {0};
    _cleanup_(freep) uint8_t *bundle = NULL;
    _cleanup_(dga_cvm_run_clearp) struct dga_cvm_run r = {0};
    size_t bundle_len = 0;
    dga_err e = dga_cvm_input_parse((const char *)c->attestation, c->attestation_len, &in, NULL);
    if (e == DGA_E_OK) {
        e = dga_cvm_bundle_read(c->bundle, c->bundle_len, DGA_CVM_BUNDLE_AUTO, &bundle, &bundle_len,
                                NULL);
    }
    if (e == DGA_E_OK) {
        struct dga_cvm_run_params p = params(b, c);
        p.in = &in;
        p.bundle = bundle;
        p.bundle_len = bundle_len;
        e = dga_cvm_run(&p, &r, NULL);
    }
    if (e == DGA_E_OK) {
        e = check_run(c, &r);
    }
    if (e == DGA_E_OK) {
        _cleanup_(json_decrefp) json_t *j = dga_cvm_run_json(&r);
        _cleanup_(freep) char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
        e = text != NULL ? DGA_E_OK : DGA_E_NOMEM;
    }
    return e;
}

/* The re-appraisal alone (the gpu-reappraisal check's callback), as dga_cvm_run calls it. */
static dga_err op_reappraise(struct bench *b)
{
    struct cvm *c = b->cur;
    struct dga_cvm_reappraisal out = {0};
    char detail[DGA_CVM_DETAIL_LEN];
    dga_err e = dga_cvm_reappraise(c->reappraiser, c->bundle, c->bundle_len, c->bundle_doc, &c->x,
                                   &c->payload, c->reappraise_at, &out, detail);
    if (e == DGA_E_OK && out.n_devices != c->gpus) {
        e = DGA_E_INTERNAL;
    }
    free(out.devices);
    return e;
}

/* The quote alone as dga_cvm_run verifies it: collateral parse, quote parse and verify. */
static dga_err op_quote(struct bench *b)
{
    struct cvm *c = b->cur;
    _cleanup_(dga_quote_collateral_clearp) struct dga_quote_collateral coll = {0};
    struct dga_quote q;
    struct dga_quote_verdict v;
    const struct dga_quote_verify_opts o = {.at = b->at, .root = &b->root, .allow_debug = true};
    dga_err e =
        dga_quote_collateral_parse((const char *)b->collateral, b->collateral_len, &coll, NULL);
    if (e == DGA_E_OK) {
        e = dga_quote_parse(c->in.quote, c->in.quote_len, &q, NULL);
    }
    if (e == DGA_E_OK) {
        e = dga_quote_verify(&q, &coll, &o, &v, NULL);
    }
    return e == DGA_E_OK && v.status.status != DGA_TCB_UP_TO_DATE ? DGA_E_INTERNAL : e;
}

static dga_err pkey_verify(EVP_PKEY *k, const uint8_t *sig, size_t sig_len, const uint8_t *dg,
                           size_t dg_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
    int ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
             EVP_PKEY_verify(ctx, sig, sig_len, dg, dg_len) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? DGA_E_OK : DGA_E_SIGNATURE_INVALID;
}

static dga_err op_p256_verify(struct bench *b)
{
    return pkey_verify(b->p256, b->sig256, b->sig256_len, b->digest, 32);
}

static dga_err op_p384_verify(struct bench *b)
{
    return pkey_verify(b->p384, b->sig384, b->sig384_len, b->digest, 48);
}

/*
 * The function callgrind collects in (bench_cvm_count.sh): one dga_cvm_run
 * of b->cur. noinline and called through a volatile pointer, so that it
 * keeps its name.
 */
__attribute__((noinline)) static dga_err op_count(struct bench *b)
{
    return op_run(b);
}

/* ---- timing ---------------------------------------------------------------------------- */

static double clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *x, const void *y)
{
    double p = *(const double *)x, q = *(const double *)y;
    return (p > q) - (p < q);
}

/* The q-quantile (nearest rank) of n sorted values. */
static double quantile(const double *v, long n, double q)
{
    long rank = (long)(q * (double)n + 0.999999);
    return v[rank < 1 ? 0 : (rank > n ? n - 1 : rank - 1)];
}

struct figures {
    double p50_ms, p99_ms, max_ms; /* wall time per call */
    double cpu_ms;                 /* median CPU time per call */
    double per_s_wall;             /* calls / wall seconds of the whole loop */
    double per_s_cpu;              /* calls / CPU seconds of the whole loop */
};

/* n calls of fn after `warm` untimed ones, each timed alone: wall clock and thread CPU time. */
static int time_calls(struct bench *b, const char *name, bench_fn fn, long warm, long n,
                      struct figures *f)
{
    double *wall = malloc((size_t)n * sizeof *wall), *cpu = malloc((size_t)n * sizeof *cpu);
    double w_start = 0, c_start = 0;
    int rc = wall != NULL && cpu != NULL ? 0 : -1;
    for (long i = -warm; rc == 0 && i < n; i++) {
        if (i == 0) {
            w_start = clock_ns(CLOCK_MONOTONIC);
            c_start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        }
        double w0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        dga_err e = fn(b);
        double c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID), w1 = clock_ns(CLOCK_MONOTONIC);
        if (e != DGA_E_OK) {
            fprintf(stderr, "bench_cvm: %s: %s\n", name, dga_err_name(e));
            rc = -1;
        } else if (i >= 0) {
            wall[i] = w1 - w0;
            cpu[i] = c1 - c0;
        }
    }
    if (rc == 0) {
        double w_total = clock_ns(CLOCK_MONOTONIC) - w_start;
        double c_total = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c_start;
        qsort(wall, (size_t)n, sizeof *wall, cmp_double);
        qsort(cpu, (size_t)n, sizeof *cpu, cmp_double);
        *f = (struct figures){
            quantile(wall, n, 0.5) / 1e6, quantile(wall, n, 0.99) / 1e6, wall[n - 1] / 1e6,
            quantile(cpu, n, 0.5) / 1e6,  (double)n * 1e9 / w_total,     (double)n * 1e9 / c_total};
    }
    free(wall);
    free(cpu);
    return rc;
}

static int row(struct bench *b, struct cvm *c, const char *name, bench_fn fn, long n,
               struct figures *ret)
{
    struct figures f;
    b->cur = c;
    if (time_calls(b, name, fn, n / 10 + 1, n, &f) != 0) {
        return -1;
    }
    printf("%-40s %6ld %9.3f %9.3f %9.3f %9.3f %9.1f %9.1f\n", name, n, f.p50_ms, f.p99_ms,
           f.max_ms, f.cpu_ms, f.per_s_wall, f.per_s_cpu);
    if (ret != NULL) {
        *ret = f;
    }
    return 0;
}

/* ---- setup ----------------------------------------------------------------------------- */

static dga_err read_in(const char *dir, const char *name, size_t cap, uint8_t **ret,
                       size_t *ret_len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    dga_err e = dga_file_read(path, cap, ret, ret_len);
    if (e != DGA_E_OK) {
        fprintf(stderr, "bench_cvm: %s: %s\n", path, dga_err_name(e));
    }
    return e;
}

static dga_err load_root(const char *dir, struct dga_trust *ret)
{
    _cleanup_(freep) uint8_t *der = NULL;
    size_t len = 0;
    dga_err e = read_in(dir, "pki/root.der", 1u << 16, &der, &len);
    if (e != DGA_E_OK) {
        return e;
    }
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL) {
        return DGA_E_BAD_DER;
    }
    *ret = (struct dga_trust){.root = x, .custom = true};
    return DGA_E_OK;
}

static dga_err make_baseline(EVP_PKEY **key, const char *curve, const uint8_t *dg, size_t dg_len,
                             uint8_t *sig, size_t *sig_len)
{
    *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    EVP_PKEY_CTX *ctx = *key != NULL ? EVP_PKEY_CTX_new(*key, NULL) : NULL;
    bool ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
              EVP_PKEY_sign(ctx, sig, sig_len, dg, dg_len) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? DGA_E_OK : DGA_E_INTERNAL;
}

/*
 * What the re-appraisal row needs, taken from one real run (payload, time) and
 * the bundle. That run is timed: for cvm1 it is the process's first, with
 * OpenSSL's and libxml2's lazy initialisation in it, as in the verify command.
 */
static dga_err load_reappraisal(struct bench *b, struct cvm *c)
{
    const struct dga_cvm_run_params p = params(b, c);
    _cleanup_(dga_cvm_run_clearp) struct dga_cvm_run r = {0};
    double w0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    dga_err e = dga_cvm_run(&p, &r, NULL);
    c->first_cpu_ms = (clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e6;
    c->first_wall_ms = (clock_ns(CLOCK_MONOTONIC) - w0) / 1e6;
    if (e == DGA_E_OK) {
        e = check_run(c, &r);
    }
    if (e != DGA_E_OK) {
        return e;
    }
    c->payload = r.result.gpu;
    c->reappraise_at = r.result.reappraisal.at;
    c->bundle_doc = json_loadb((const char *)c->bundle, c->bundle_len, 0, NULL);
    return c->bundle_doc != NULL ? DGA_E_OK : DGA_E_INTERNAL;
}

static dga_err load_cvm(struct bench *b, const char *top, struct cvm *c)
{
    char dir[4200];
    _cleanup_(freep) uint8_t *expect = NULL;
    size_t expect_len = 0;
    snprintf(dir, sizeof dir, "%s/%s", top, c->dir);
    dga_err e =
        read_in(dir, "attestation.json", DGA_CVM_INPUT_MAX, &c->attestation, &c->attestation_len);
    if (e == DGA_E_OK) {
        e = read_in(dir, "bundle.json", DGA_CVM_BUNDLE_MAX, &c->bundle, &c->bundle_len);
    }
    if (e == DGA_E_OK) {
        e = read_in(dir, "expect-bench.json", DGA_CVM_EXPECT_MAX, &expect, &expect_len);
    }
    if (e == DGA_E_OK) {
        e = dga_cvm_input_parse((const char *)c->attestation, c->attestation_len, &c->in, NULL);
    }
    if (e == DGA_E_OK) {
        e = dga_cvm_expect_parse((const char *)expect, expect_len, &c->x, NULL);
    }
    if (e == DGA_E_OK) {
        e = dga_cvm_reappraiser_new(&c->x, &c->reappraiser, NULL);
    }
    if (e == DGA_E_OK) {
        c->opt = (struct dga_cvm_options){
            .at = b->at, .reappraise = dga_cvm_reappraise, .reappraise_ctx = c->reappraiser};
        e = load_reappraisal(b, c);
    }
    if (e != DGA_E_OK) {
        fprintf(stderr, "bench_cvm: setup of %s: %s\n", dir, dga_err_name(e));
    }
    c->present = e == DGA_E_OK;
    return e;
}

/* The 8-GPU CVM is optional: a generator without an 8-GPU tree builds only cvm1. */
static bool eight_built(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/cvm8/attestation.json", dir);
    return access(path, R_OK) == 0;
}

static int load(struct bench *b, const char *dir, bool need_eight)
{
    b->cvm[0] = (struct cvm){.dir = "cvm1", .gpus = 1};
    b->cvm[1] = (struct cvm){.dir = "cvm8", .gpus = 8};
    memset(b->digest, 0x5a, sizeof b->digest);
    b->sig256_len = sizeof b->sig256;
    b->sig384_len = sizeof b->sig384;
    dga_err e = dga_time_parse(AT, &b->at);
    if (e == DGA_E_OK) {
        e = read_in(dir, "collateral.json", DGA_QUOTE_COLLATERAL_MAX, &b->collateral,
                    &b->collateral_len);
    }
    if (e == DGA_E_OK) {
        e = load_root(dir, &b->root);
    }
    if (e == DGA_E_OK) {
        e = load_cvm(b, dir, &b->cvm[0]); /* first: its setup run is the process's first */
    }
    if (e == DGA_E_OK && need_eight && eight_built(dir)) {
        e = load_cvm(b, dir, &b->cvm[1]);
    }
    if (e == DGA_E_OK) {
        e = make_baseline(&b->p256, "P-256", b->digest, 32, b->sig256, &b->sig256_len);
    }
    if (e == DGA_E_OK) {
        e = make_baseline(&b->p384, "P-384", b->digest, 48, b->sig384, &b->sig384_len);
    }
    return e == DGA_E_OK ? 0 : -1;
}

static void unload(struct bench *b)
{
    for (size_t i = 0; i < N_CVMS; i++) {
        struct cvm *c = &b->cvm[i];
        free(c->attestation);
        free(c->bundle);
        dga_cvm_input_clear(&c->in);
        dga_cvm_expect_clear(&c->x);
        dga_cvm_reappraiser_free(c->reappraiser);
        json_decref(c->bundle_doc);
    }
    free(b->collateral);
    dga_trust_clear(&b->root);
    EVP_PKEY_free(b->p256);
    EVP_PKEY_free(b->p384);
}

/* ---- report ---------------------------------------------------------------------------- */

static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (f == NULL) {
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        const char *v = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && v != NULL) {
            v += strspn(v + 1, " \t") + 1;
            snprintf(out, cap, "%.*s", (int)strcspn(v, "\n"), v);
            break;
        }
    }
    fclose(f);
}

static void print_load(const char *when)
{
    double load[3];
    if (getloadavg(load, 3) == 3) {
        printf("load average %s: %.2f %.2f %.2f\n", when, load[0], load[1], load[2]);
    }
}

static void print_header(const char *dir, long iterations)
{
    struct utsname u;
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("dstack-gpu-attest bench_cvm\n");
    if (uname(&u) == 0) {
        printf("machine:  %s %s %s\n", u.sysname, u.release, u.machine);
    }
    printf("cpu:      %s, %ld online\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    printf("software: %s, compiler %s%s\n", OpenSSL_version(OPENSSL_VERSION), COMPILER,
#ifdef __OPTIMIZE__
           ", optimized"
#else
           ", NOT optimized (numbers not representative)"
#endif
    );
    printf("inputs:   %s (tests/e2e/make_cvm.sh: test Intel PKI quote, test device PKI,\n"
           "          545.00 RIMs, GPUs required, re-appraised at the bundle's time), at %s\n",
           dir, AT);
    printf("method:   one thread; inputs parsed, root and reappraiser loaded once; each call\n"
           "          timed alone (CLOCK_MONOTONIC and the thread's CPU time) after n/10\n"
           "          warm-up calls, %ld calls per row; per s = calls / total time of the loop\n",
           iterations);
    print_load("at start");
    printf("\n%-40s %6s %9s %9s %9s %9s %9s %9s\n", "operation", "calls", "p50 ms", "p99 ms",
           "max ms", "CPU ms", "/s wall", "/s CPU");
}

static const char *verdict(bool met)
{
    return met ? "met" : "MISSED";
}

static void print_target(const struct figures *one, unsigned long ecdsa)
{
    printf("\nlibrary ECDSA counter per warm 1-GPU dga_cvm_run: %lu (raw signatures and path\n"
           "  validations the GPU side counts, with the reappraiser's verification cache\n"
           "  shared across calls: per GPU the report (its chain cached whole); the quote's 4 raw\n"
           "  signatures; the quote's path validations are not counted: bench_cvm_count.sh\n"
           "  counts every verification with callgrind)\n",
           ecdsa);
    printf("target (issue 12, set for the verifier server with warm caches): this in-process\n"
           "  figure is the upper bound of a server that runs dga_cvm_run per request with\n"
           "  the reappraiser's cache warm (HTTP, parsing and the JSON answer only add; see\n"
           "  the request row; the server's collateral cache would take the collateral parse\n"
           "  off):\n"
           "  1-GPU dga_cvm_run %.1f/s per core on CPU time (%.1f/s wall), target >= %.0f: %s;\n"
           "  p99 %.2f ms, target < %.0f ms: %s\n",
           one->per_s_cpu, one->per_s_wall, TARGET_PER_SECOND,
           verdict(one->per_s_cpu >= TARGET_PER_SECOND), one->p99_ms, TARGET_P99_MS,
           verdict(one->p99_ms < TARGET_P99_MS));
}

static int run_rows(struct bench *b, long n)
{
    struct figures one;
    struct cvm *c1 = &b->cvm[0], *c8 = &b->cvm[1];
    printf("%-40s %6d %9.3f %9s %9s %9.3f\n", "1 GPU: first dga_cvm_run of the process", 1,
           c1->first_wall_ms, "", "", c1->first_cpu_ms);
    int rc = row(b, c1, "one P-256 verify (baseline)", op_p256_verify, n * 10, NULL);
    rc = rc != 0 ? rc : row(b, c1, "one P-384 verify (baseline)", op_p384_verify, n * 10, NULL);
    rc = rc != 0 ? rc : row(b, c1, "1 GPU: dga_cvm_run", op_run, n, &one);
    unsigned long ecdsa = c1->ecdsa;
    rc = rc != 0 ? rc : row(b, c1, "1 GPU:   quote alone (+ collateral)", op_quote, n, NULL);
    rc = rc != 0 ? rc : row(b, c1, "1 GPU:   re-appraisal alone", op_reappraise, n, NULL);
    rc = rc != 0 ? rc : row(b, c1, "1 GPU: request (parse, run, JSON)", op_request, n, NULL);
    if (rc == 0 && c8->present) {
        rc = row(b, c8, "8 GPUs: dga_cvm_run", op_run, n, NULL);
        rc = rc != 0 ? rc : row(b, c8, "8 GPUs:   re-appraisal alone", op_reappraise, n, NULL);
        rc = rc != 0 ? rc : row(b, c8, "8 GPUs: request (parse, run, JSON)", op_request, n, NULL);
    }
    if (rc == 0) {
        print_target(&one, ecdsa);
        if (c8->present) {
            printf("library ECDSA counter per warm 8-GPU dga_cvm_run: %lu\n", c8->ecdsa);
        } else {
            printf("no 8-GPU CVM in the directory (cvm8/): its rows are left out\n");
        }
    }
    return rc;
}

/* ---- main ------------------------------------------------------------------------------ */

static bool parse_count(const char *s, long *ret)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || n < 1 || n > 1000000) {
        return false;
    }
    *ret = n;
    return true;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_cvm DIR [ITERATIONS (1..1000000, default 200)]\n"
                    "       bench_cvm --count N DIR [1|8]\n");
    return 2;
}

/* --count: N runs of one CVM through op_count, nothing else after setup. */
static int run_count(struct bench *b, struct cvm *c, long n)
{
    bench_fn volatile fn = op_count;
    b->cur = c;
    for (long i = 0; i < n; i++) {
        if (fn(b) != DGA_E_OK) {
            return 1;
        }
    }
    printf("%ld %u-GPU verifications; library ECDSA counter per verification: %lu\n", n, c->gpus,
           c->ecdsa);
    return 0;
}

int main(int argc, char **argv)
{
    static struct bench b;
    long iterations = 200, count = 0;
    const char *dir = NULL;
    bool count_mode = argc > 1 && strcmp(argv[1], "--count") == 0;
    bool eight = argc == 5 && strcmp(argv[4], "8") == 0;
    if (count_mode) {
        if (argc < 4 || argc > 5 || !parse_count(argv[2], &count) ||
            (argc == 5 && !eight && strcmp(argv[4], "1") != 0)) {
            return usage();
        }
        dir = argv[3];
    } else {
        if (argc < 2 || argc > 3 || (argc == 3 && !parse_count(argv[2], &iterations))) {
            return usage();
        }
        dir = argv[1];
    }
    if (load(&b, dir, !count_mode || eight) != 0 || (eight && !b.cvm[1].present)) {
        unload(&b);
        return 3;
    }
    int rc = 0;
    if (count_mode) {
        rc = run_count(&b, &b.cvm[eight ? 1 : 0], count);
    } else {
        print_header(dir, iterations);
        rc = run_rows(&b, iterations) == 0 ? 0 : 1;
        print_load("at end");
    }
    unload(&b);
    return rc;
}
