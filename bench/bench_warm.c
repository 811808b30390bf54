/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_warm: the steady state of a long-running process (issue 18): the
 * h100_545.00 sample (its two RIMs, at 2024-06-01, policy offline_no_ocsp)
 * appraised again and again in one process with dga_appraise_set on one
 * thread (jobs 1), in two ways:
 *
 *   fresh cache  a new dga_verify_cache per appraisal, as the relying-party
 *                verifier's one-shot path and the CLI have (every chain,
 *                RIM and certificate decoded and verified again);
 *   warm cache   one dga_verify_cache for every appraisal, as a long-running
 *                process keeps it (the verifier's reappraiser shares one
 *                across requests; what it may skip: bench/README.md).
 *
 * Each mode runs SECONDS of appraisals after a 1 s warm-up; it reports the
 * appraisals, their wall and process CPU time (CLOCK_PROCESS_CPUTIME_ID),
 * appraisals per second per core (appraisals / CPU seconds), the median
 * latency, and the ECDSA verifications per appraisal (dga/stats.h). Every
 * appraisal must pass, else the run stops (exit 1): failures are never timed.
 *
 *   bench_warm [SECONDS]           (default 5)
 *   DGA_FIXTURES=DIR bench_warm
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dga/appraise.h"
#include "dga/appraise_set.h"
#include "dga/policy.h"
#include "dga/stats.h"
#include "dga/util.h"

#define FIXTURE "gpu/h100_545.00"
#define NONCE "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e"
#define AT "2024-06-01T00:00:00Z"
#define MAX_SAMPLES 1000000

struct warm {
    char rim_dir[4200];
    struct dga_evidence_set set;
    struct dga_trust device_root, rim_root;
    struct dga_appraise_options opt;
    struct dga_policy *policy;
    double *lat; /* ns per appraisal of the current mode */
};

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *x, const void *y)
{
    double p = *(const double *)x, q = *(const double *)y;
    return (p > q) - (p < q);
}

static double load_average(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &l) != 1) {
            l = -1;
        }
        fclose(f);
    }
    return l;
}

static dga_err load(struct warm *w, const char *fixtures)
{
    char dir[4096], path[4200];
    uint8_t *hex = NULL, *pem = NULL, *pol = NULL;
    size_t hex_len = 0, pem_len = 0, pol_len = 0;
    snprintf(dir, sizeof dir, "%s/%s", fixtures, FIXTURE);
    snprintf(path, sizeof path, "%s/report.hex", dir);
    dga_err e = dga_file_read(path, 2 * DGA_REPORT_MAX + 64, &hex, &hex_len);
    snprintf(path, sizeof path, "%s/certchain.pem", dir);
    if (e == DGA_E_OK) {
        e = dga_file_read(path, DGA_CHAIN_PEM_MAX, &pem, &pem_len);
    }
    snprintf(path, sizeof path, "%s/policies/offline_no_ocsp.json", fixtures);
    if (e == DGA_E_OK) {
        e = dga_file_read(path, DGA_POLICY_MAX_BYTES, &pol, &pol_len);
    }
    if (e == DGA_E_OK) {
        e = dga_evidence_raw(hex, hex_len, (const char *)pem, pem_len, DGA_ARCH_HOPPER, &w->set);
    }
    if (e == DGA_E_OK) {
        e = dga_policy_parse((const char *)pol, pol_len, &w->policy, NULL);
    }
    free(hex);
    free(pem);
    free(pol);
    if (e == DGA_E_OK) {
        e = dga_trust_nvidia_device(&w->device_root);
    }
    if (e == DGA_E_OK) {
        e = dga_trust_nvidia_rim(&w->rim_root);
    }
    if (e == DGA_E_OK) {
        e = dga_hex_decode_fixed(NONCE, w->opt.verify.nonce, DGA_NONCE_LEN);
    }
    if (e == DGA_E_OK) {
        e = dga_time_parse(AT, &w->opt.verify.at);
    }
    snprintf(w->rim_dir, sizeof w->rim_dir, "%s/rims", dir);
    w->opt.rim_dir = w->rim_dir;
    w->opt.verify.trust = &w->device_root;
    w->opt.rim_trust = &w->rim_root;
    w->opt.jobs = 1;
    return e;
}

static void unload(struct warm *w)
{
    dga_evidence_set_clear(&w->set);
    dga_policy_free(w->policy);
    dga_trust_clear(&w->device_root);
    dga_trust_clear(&w->rim_root);
}

/* One appraisal of the set with `cache` (NULL: a fresh one for this call); it must pass. */
static dga_err appraise_once(struct warm *w, struct dga_verify_cache *cache)
{
    struct dga_appraise_options opt = w->opt;
    struct dga_set_appraisal *ap = calloc(1, sizeof *ap);
    dga_err e = ap != NULL ? DGA_E_OK : DGA_E_NOMEM;
    opt.cache = cache;
    if (e == DGA_E_OK && cache == NULL) {
        e = dga_verify_cache_new(&w->rim_root, &opt.cache);
    }
    if (e == DGA_E_OK) {
        e = dga_appraise_set(&w->set, &opt, w->policy, ap);
    }
    if (e == DGA_E_OK && !ap->verdict.pass) {
        e = DGA_E_INTERNAL; /* the genuine sample passes offline_no_ocsp */
    }
    if (ap != NULL) {
        dga_set_appraisal_clear(ap);
    }
    free(ap);
    if (cache == NULL) {
        dga_verify_cache_free(opt.cache);
    }
    return e;
}

/*
 * Appraisals for `seconds` (after 1 s untimed): count, wall and CPU seconds,
 * median latency, ECDSA verifications per appraisal. -1 on a failure.
 */
static int run_mode(struct warm *w, const char *name, struct dga_verify_cache *cache,
                    double seconds)
{
    for (double end = clock_s(CLOCK_MONOTONIC) + 1.0; clock_s(CLOCK_MONOTONIC) < end;) {
        if (appraise_once(w, cache) != DGA_E_OK) {
            fprintf(stderr, "bench_warm: %s: the warm-up appraisal failed\n", name);
            return -1;
        }
    }
    unsigned long ecdsa0 = dga_stats_ecdsa_verifications();
    double wall0 = clock_s(CLOCK_MONOTONIC), cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    long n = 0;
    for (double now = wall0; now < wall0 + seconds && n < MAX_SAMPLES; n++) {
        dga_err e = appraise_once(w, cache);
        double t = clock_s(CLOCK_MONOTONIC);
        if (e != DGA_E_OK) {
            fprintf(stderr, "bench_warm: %s: %s\n", name, dga_err_name(e));
            return -1;
        }
        w->lat[n] = (t - now) * 1e9;
        now = t;
    }
    double wall = clock_s(CLOCK_MONOTONIC) - wall0;
    double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    unsigned long ecdsa = dga_stats_ecdsa_verifications() - ecdsa0;
    qsort(w->lat, (size_t)n, sizeof *w->lat, cmp_double);
    printf("%-12s %8ld %8.2f %8.2f %12.1f %12.1f %10.2f %8.1f\n", name, n, wall, cpu,
           (double)n / cpu, (double)n / wall, w->lat[n / 2] / 1e6, (double)ecdsa / (double)n);
    return 0;
}

static int parse_seconds(int argc, char **argv, double *ret)
{
    *ret = 5;
    if (argc < 2) {
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long s = strtol(argv[1], &end, 10);
    if (argc > 2 || errno != 0 || *end != '\0' || s < 1 || s > 3600) {
        fprintf(stderr, "usage: bench_warm [SECONDS (1..3600, default 5)]\n");
        return -1;
    }
    *ret = (double)s;
    return 0;
}

int main(int argc, char **argv)
{
    static struct warm w;
    double seconds = 0;
    if (parse_seconds(argc, argv, &seconds) != 0) {
        return 2;
    }
    const char *fixtures = getenv("DGA_FIXTURES");
    if (fixtures == NULL || *fixtures == '\0') {
        fixtures = "tests/fixtures";
    }
    w.lat = malloc(MAX_SAMPLES * sizeof *w.lat);
    struct dga_verify_cache *cache = NULL;
    if (w.lat == NULL || load(&w, fixtures) != DGA_E_OK ||
        dga_verify_cache_new(&w.rim_root, &cache) != DGA_E_OK) {
        fprintf(stderr, "bench_warm: setup failed (run from the repository root or set "
                        "DGA_FIXTURES)\n");
        unload(&w);
        free(w.lat);
        return 3;
    }
    printf("dstack-gpu-attest bench_warm: %s at %s, policy offline_no_ocsp, dga_appraise_set "
           "jobs 1\n%ld online CPUs, load average %.2f at start; %.0f s per mode after a 1 s "
           "warm-up\n\n",
           FIXTURE, AT, sysconf(_SC_NPROCESSORS_ONLN), load_average(), seconds);
    printf("%-12s %8s %8s %8s %12s %12s %10s %8s\n", "cache", "n", "wall s", "cpu s", "/s per core",
           "/s wall", "median ms", "ECDSA");
    int rc = run_mode(&w, "fresh", NULL, seconds) == 0 && run_mode(&w, "warm", cache, seconds) == 0
                 ? 0
                 : 1;
    printf("\nload average %.2f at end\n", load_average());
    dga_verify_cache_free(cache);
    unload(&w);
    free(w.lat);
    return rc;
}
