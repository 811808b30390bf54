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
#include <openssl/x509.h>

#include "dga/error.h"
#include "dga/evidence.h"
#include "dga/util.h"
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
    struct dga_report rep; /* parsed once, for the signature step */
};

/* Scratch space for the operations (large structs: not on the stack). */
static struct dga_report scratch_rep;
static struct dga_derived scratch_der;

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

/* Everything a report-level verification does, from bytes and PEM text to a verdict. */
static dga_err op_pipeline(struct bench *b)
{
    STACK_OF(X509) *chain = NULL;
    struct dga_chain_info info;
    dga_err e = op_parse_derive(b);
    if (e != DGA_E_OK) {
        return e;
    }
    e = dga_pem_chain_parse(b->pem, b->pem_len, &chain, NULL);
    if (e == DGA_E_OK) {
        e = dga_device_chain_verify(chain, DGA_ARCH_HOPPER, &b->trust, b->at, &info, NULL);
    }
    if (e == DGA_E_OK && scratch_der.has_fwid &&
        (!info.leaf_has_fwid || !dga_mem_equal(info.leaf_fwid, scratch_der.fwid, DGA_DIGEST_LEN))) {
        e = DGA_E_FWID_MISMATCH;
    }
    if (e == DGA_E_OK) {
        e = dga_report_signature_verify(sk_X509_value(chain, 0), scratch_rep.bytes,
                                        scratch_rep.signed_len, scratch_rep.signature);
    }
    if (chain != NULL) {
        sk_X509_pop_free(chain, X509_free);
    }
    return e;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int run_op(struct bench *b, const char *name, bench_fn fn, long iterations)
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
    double t0 = now_ns();
    for (long i = 0; i < iterations; i++) {
        if (fn(b) != DGA_E_OK) {
            fprintf(stderr, "bench_verify: %s failed on iteration %ld\n", name, i);
            return -1;
        }
    }
    double elapsed = now_ns() - t0;
    double us_per_op = elapsed / 1e3 / (double)iterations;
    double ops_per_s = (double)iterations / (elapsed / 1e9);
    printf("%-32s %10ld %12.2f %12.1f\n", name, iterations, us_per_op, ops_per_s);
    return 0;
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
           "          µs/op = elapsed / iterations, ops/s = iterations / elapsed.\n"
           "          Inputs are in memory; the pinned NVIDIA root is loaded once.\n\n",
           iterations, iterations / 10 > 0 ? iterations / 10 : 1);
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
    return 0;
}

static void unload(struct bench *b)
{
    if (b->chain != NULL) {
        sk_X509_pop_free(b->chain, X509_free);
    }
    dga_trust_free(&b->trust);
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

int main(int argc, char **argv)
{
    static struct bench b; /* zeroed; holds a large struct */
    const struct {
        const char *name;
        bench_fn fn;
    } ops[] = {
        {"report parse + derive", op_parse_derive}, {"PEM chain parse (5 certs)", op_pem_parse},
        {"device chain verify", op_chain_verify},   {"report signature verify", op_signature},
        {"report-level pipeline", op_pipeline},
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
    if (load(&b, dir) != 0) {
        rc = 3;
    } else {
        print_header(dir, &b, iterations);
        /* "µ" is 2 bytes but 1 column: one more byte of width keeps the columns aligned. */
        printf("%-32s %10s %13s %12s\n", "operation", "iterations", "µs/op", "ops/s");
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            if (run_op(&b, ops[i].name, ops[i].fn, iterations) != 0) {
                rc = 1;
                break;
            }
        }
        printf(
            "\npipeline = parse + derive, PEM parse, chain verify, FWID match, signature verify\n");
    }
    unload(&b);
    return rc;
}
