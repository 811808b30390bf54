/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_verify: time per operation of the report-level verification steps on
 * one real H100 vector (tests/fixtures/gpu/h100_580.159.03).
 *
 *   bench_verify [ITERATIONS]          (default 2000)
 *   DGA_FIXTURES=DIR bench_verify      (default tests/fixtures, relative to the cwd)
 *
 * Each operation runs ITERATIONS times in a loop timed with CLOCK_MONOTONIC,
 * after a short warm-up; every call's result is checked, so a broken step
 * fails the run instead of timing an early error path. Speed is reported,
 * never asserted (bench/README.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dga/error.h"
#include "dga/evidence.h"
#include "dga/util.h"
#include "dga/verify.h"
#include "dga/x509.h"

#define FIXTURE "gpu/h100_580.159.03"
#define DEFAULT_ITERATIONS 2000L
#define MAX_ITERATIONS 100000000L
/* A time inside every certificate of the fixture chain; time never fails the chain anyway. */
#define VERIFY_AT "2025-06-01T00:00:00Z"

#ifdef __clang__
#define COMPILER "clang " __clang_version__
#else
#define COMPILER "gcc " __VERSION__
#endif

struct bench {
    uint8_t *report; /* raw report bytes */
    size_t report_len;
    char *pem; /* NUL-terminated chain text */
    size_t pem_len;
    STACK_OF(X509) *chain; /* parsed once, for the steps that take a parsed chain */
    struct dga_trust trust;
    time_t at;
    struct dga_report rep;         /* parsed once, for the signature step */
    struct dga_device_evidence ev; /* the same evidence, for the whole pipeline */
    struct dga_verify_options opt;
    /* The primitive baseline: one P-384 key and a signature over a SHA-384 digest. */
    EVP_PKEY *p384;
    uint8_t digest[48];
    uint8_t sig[160];
    size_t sig_len;
};

/* Scratch space for the operations (large structs: not on the stack). */
static struct dga_report scratch_rep;
static struct dga_derived scratch_der;
static struct dga_device_result scratch_res;

typedef dga_err (*bench_fn)(struct bench *b);

static dga_err op_parse_derive(struct bench *b)
{
    dga_err e = dga_report_parse(b->report, b->report_len, DGA_ARCH_HOPPER, &scratch_rep, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    return dga_report_derive(&scratch_rep, &scratch_der, NULL);
}

static dga_err op_pem_parse(struct bench *b)
{
    STACK_OF(X509) *chain = NULL;
    dga_err e = dga_pem_chain_parse(b->pem, b->pem_len, &chain, NULL);
    if (chain != NULL) {
        sk_X509_pop_free(chain, X509_free);
    }
    return e;
}

static dga_err op_chain_verify(struct bench *b)
{
    struct dga_chain_info info;
    return dga_device_chain_verify(b->chain, DGA_ARCH_HOPPER, &b->trust, b->at, &info, NULL);
}

static dga_err op_signature(struct bench *b)
{
    return dga_report_signature_verify(sk_X509_value(b->chain, 0), b->rep.bytes, b->rep.signed_len,
                                       b->rep.signature);
}

/* The real report-level pipeline (dga_verify_device): parse, chain, signature, nonce, FWID. */
static dga_err op_pipeline(struct bench *b)
{
    return dga_verify_device(&b->ev, &b->opt, &scratch_res);
}

/* One ECDSA P-384 verification of a SHA-384 digest: what `openssl speed ecdsap384` times. */
static dga_err op_p384_verify(struct bench *b)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(b->p384, NULL);
    int ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
             EVP_PKEY_verify(ctx, b->sig, b->sig_len, b->digest, sizeof b->digest) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? DGA_E_OK : DGA_E_SIGNATURE_INVALID;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs fn `iterations` times, timing each call; returns the median in µs, or -1. */
static double run_op(struct bench *b, const char *name, bench_fn fn, long iterations)
{
    long warmup = iterations / 10 > 0 ? iterations / 10 : 1;
    for (long i = 0; i < warmup; i++) {
        dga_err e = fn(b);
        if (e != DGA_E_OK) {
            fprintf(stderr, "bench_verify: %s: %s (%s)\n", name, dga_err_name(e),
                    dga_err_message(e));
            return -1;
        }
    }
    double *t = malloc((size_t)iterations * sizeof *t);
    if (t == NULL) {
        return -1;
    }
    double total = 0;
    for (long i = 0; i < iterations; i++) {
        double t0 = now_ns();
        dga_err e = fn(b);
        t[i] = now_ns() - t0;
        total += t[i];
        if (e != DGA_E_OK) {
            fprintf(stderr, "bench_verify: %s failed on iteration %ld\n", name, i);
            free(t);
            return -1;
        }
    }
    qsort(t, (size_t)iterations, sizeof *t, cmp_double);
    double median = t[iterations / 2] / 1e3;
    printf("%-34s %10ld %12.2f %12.2f %12.1f\n", name, iterations, median,
           total / 1e3 / (double)iterations, 1e6 / median);
    free(t);
    return median;
}

static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (f == NULL) {
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "model name", 10) == 0 || strncmp(line, "Model", 5) == 0) {
            const char *v = strchr(line, ':');
            if (v != NULL) {
                v++;
                while (*v == ' ' || *v == '\t') {
                    v++;
                }
                snprintf(out, cap, "%.*s", (int)strcspn(v, "\n"), v);
                break;
            }
        }
    }
    fclose(f);
}

static bool sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

static void print_header(const char *dir, const struct bench *b, long iterations)
{
    struct utsname u;
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("dstack-gpu-attest bench_verify\n");
    if (uname(&u) == 0) {
        printf("machine:  %s %s %s (%s)\n", u.sysname, u.release, u.machine, u.nodename);
    }
    printf("cpu:      %s, %ld online\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    printf("software: %s, jansson %s, compiler %s%s%s\n", OpenSSL_version(OPENSSL_VERSION),
           JANSSON_VERSION, COMPILER,
#ifdef __OPTIMIZE__
           ", optimized",
#else
           ", NOT optimized",
#endif
           sanitized() ? ", WITH SANITIZERS (numbers not representative)" : "");
    printf("fixture:  %s/%s (report %zu bytes, chain %d certificates)\n", dir, FIXTURE,
           b->report_len, sk_X509_num(b->chain));
    printf("method:   one thread; each operation runs %ld times (after %ld warm-up runs) in a\n"
           "          loop timed with clock_gettime(CLOCK_MONOTONIC); every result is checked.\n"
           "          each call timed alone; median and mean per call, ops/s = 1 / median.\n"
           "          Inputs are in memory; the pinned NVIDIA root is loaded once.\n\n",
           iterations, iterations / 10 > 0 ? iterations / 10 : 1);
}

/* A fresh P-384 key and one signature over a fixed digest, for the primitive baseline. */
static int load_baseline(struct bench *b)
{
    memset(b->digest, 0xA5, sizeof b->digest);
    b->p384 = EVP_EC_gen("P-384");
    EVP_PKEY_CTX *ctx = b->p384 != NULL ? EVP_PKEY_CTX_new(b->p384, NULL) : NULL;
    b->sig_len = sizeof b->sig;
    int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
             EVP_PKEY_sign(ctx, b->sig, &b->sig_len, b->digest, sizeof b->digest) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        fprintf(stderr, "bench_verify: cannot make the P-384 baseline key\n");
        return -1;
    }
    return 0;
}

static int load(struct bench *b, const char *dir)
{
    char path[4096];
    uint8_t *content = NULL;
    size_t len = 0;
    dga_err e;

    snprintf(path, sizeof path, "%s/%s/report.hex", dir, FIXTURE);
    e = dga_file_read(path, 2 * DGA_REPORT_MAX + 64, &content, &len);
    if (e == DGA_E_OK) {
        e = dga_report_bytes_from_file(content, len, &b->report, &b->report_len);
        free(content);
    }
    if (e != DGA_E_OK) {
        fprintf(stderr, "bench_verify: %s: %s\n", path, dga_err_message(e));
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s/certchain.pem", dir, FIXTURE);
    e = dga_file_read(path, DGA_CHAIN_PEM_MAX, &content, &len);
    if (e != DGA_E_OK) {
        fprintf(stderr, "bench_verify: %s: %s\n", path, dga_err_message(e));
        return -1;
    }
    b->pem = (char *)content;
    b->pem_len = len;

    e = dga_time_parse(VERIFY_AT, &b->at);
    if (e == DGA_E_OK) {
        e = dga_trust_nvidia_device(&b->trust);
    }
    if (e == DGA_E_OK) {
        e = dga_pem_chain_parse(b->pem, b->pem_len, &b->chain, NULL);
    }
    if (e == DGA_E_OK) {
        e = dga_report_parse(b->report, b->report_len, DGA_ARCH_HOPPER, &b->rep, NULL);
    }
    if (e != DGA_E_OK) {
        fprintf(stderr, "bench_verify: setup: %s (%s)\n", dga_err_name(e), dga_err_message(e));
        return -1;
    }
    b->ev = (struct dga_device_evidence){.arch = DGA_ARCH_HOPPER,
                                         .report = b->report,
                                         .report_len = b->report_len,
                                         .chain_pem = b->pem,
                                         .chain_pem_len = b->pem_len};
    memcpy(b->opt.nonce, b->rep.nonce, DGA_NONCE_LEN);
    b->opt.at = b->at;
    b->opt.trust = &b->trust;
    return load_baseline(b);
}

static void unload(struct bench *b)
{
    if (b->chain != NULL) {
        sk_X509_pop_free(b->chain, X509_free);
    }
    dga_trust_clear(&b->trust);
    EVP_PKEY_free(b->p384);
    free(b->report);
    free(b->pem);
}

static long parse_iterations(int argc, char **argv)
{
    if (argc < 2) {
        return DEFAULT_ITERATIONS;
    }
    char *end = NULL;
    errno = 0;
    long n = strtol(argv[1], &end, 10);
    if (argc > 2 || errno != 0 || end == argv[1] || *end != '\0' || n < 1 || n > MAX_ITERATIONS) {
        return -1;
    }
    return n;
}

/* Chain (4: leaf, BROM, ICA, identity by their issuers) + report signature. */
#define PIPELINE_ECDSA_VERIFIES 5
#define TARGET_RATIO 1.5
#define TARGET_PARSE_US 50.0

enum { OP_PARSE, OP_PEM, OP_CHAIN, OP_SIGNATURE, OP_PIPELINE, OP_P384, OP_COUNT };

static void print_targets(const double *median)
{
    double budget = PIPELINE_ECDSA_VERIFIES * median[OP_P384];
    printf("\ntargets (medians):\n");
    printf("  report-level pipeline %.1f µs vs %d x one P-384 verify (%.1f µs) = %.1f µs:"
           " ratio %.2f (target <= %.1f) %s\n",
           median[OP_PIPELINE], PIPELINE_ECDSA_VERIFIES, median[OP_P384], budget,
           median[OP_PIPELINE] / budget, TARGET_RATIO,
           median[OP_PIPELINE] <= TARGET_RATIO * budget ? "met" : "MISSED");
    printf("  report parse + checks, no signatures %.2f µs (target < %.0f µs) %s\n",
           median[OP_PARSE], TARGET_PARSE_US,
           median[OP_PARSE] < TARGET_PARSE_US ? "met" : "MISSED");
}

int main(int argc, char **argv)
{
    static struct bench b; /* zeroed; holds a large struct */
    const struct {
        const char *name;
        bench_fn fn;
    } ops[OP_COUNT] = {
        [OP_PARSE] = {"report parse + derive", op_parse_derive},
        [OP_PEM] = {"PEM chain parse (5 certs)", op_pem_parse},
        [OP_CHAIN] = {"device chain verify", op_chain_verify},
        [OP_SIGNATURE] = {"report signature verify", op_signature},
        [OP_PIPELINE] = {"report-level pipeline (1 device)", op_pipeline},
        [OP_P384] = {"one ECDSA P-384 verify (baseline)", op_p384_verify},
    };
    long iterations = parse_iterations(argc, argv);
    if (iterations < 0) {
        fprintf(stderr, "usage: bench_verify [ITERATIONS (1..%ld, default %ld)]\n", MAX_ITERATIONS,
                DEFAULT_ITERATIONS);
        return 2;
    }
    const char *dir = getenv("DGA_FIXTURES");
    if (dir == NULL || *dir == '\0') {
        dir = "tests/fixtures";
    }
    int rc = 0;
    double median[OP_COUNT];
    if (load(&b, dir) != 0) {
        rc = 3;
    } else {
        print_header(dir, &b, iterations);
        /* "µ" is 2 bytes but 1 column: one more byte of width keeps the columns aligned. */
        printf("%-34s %10s %13s %13s %12s\n", "operation", "iterations", "median µs", "mean µs",
               "ops/s");
        for (size_t i = 0; i < OP_COUNT && rc == 0; i++) {
            median[i] = run_op(&b, ops[i].name, ops[i].fn, iterations);
            rc = median[i] < 0 ? 1 : 0;
        }
        if (rc == 0) {
            printf("\npipeline = dga_verify_device: parse + derive, PEM parse, chain verify,\n"
                   "signature verify, nonce, FWID match, validity (what `evidence verify` runs "
                   "per device)\n");
            print_targets(median);
        }
    }
    unload(&b);
    return rc;
}
