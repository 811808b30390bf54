/* SPDX-License-Identifier: Apache-2.0 */
/*
 * floor_libs: the floors under our short processes (bench_start.sh), each a
 * cost our program pays that no code of ours can cut:
 *
 *   floor_libs             linked with the libraries dstack-gpu-attest needs at start
 *                          (libcrypto, jansson, protobuf-c), returns: what loading and
 *                          relocating them adds to an empty program; `--version`
 *                          cannot go under it
 *   floor_libs pem FILE    the same, then reads the first certificate of a PEM file:
 *                          OpenSSL initialises on first use (its configuration file,
 *                          the default provider, the key decoders), as it does in every
 *                          process of ours that verifies anything
 *   floor_libs pem FILE xml
 *                          the same, then loads libxml2 as lib/rim/xml_api.c does
 *                          (dlopen "libxml2.so.2", ICU and libstdc++ behind it,
 *                          xmlInitParser): what every process that parses a RIM adds
 *   floor_libs touch N     writes one byte to each of N fresh anonymous pages and
 *                          prints the microseconds per page: what a first touch of
 *                          memory (a page fault) costs on this machine, which every
 *                          heap page and relocated library page pays once per process
 *
 * Exit 1 if FILE holds no certificate, libxml2 cannot be loaded, or N is not 1 to 100000.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <protobuf-c/protobuf-c.h>

static int load_xml(void)
{
    void *h = dlopen("libxml2.so.2", RTLD_NOW | RTLD_LOCAL); /* as lib/core/dynlib.c */
    void (*init)(void) = NULL;
    if (h != NULL) {
        *(void **)&init = dlsym(h, "xmlInitParser");
    }
    if (init == NULL) {
        fprintf(stderr, "floor_libs: libxml2.so.2: %s\n", dlerror());
        return 1;
    }
    init();
    return 0;
}

static int read_pem(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *cert = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f != NULL) {
        fclose(f);
    }
    if (cert == NULL) {
        fprintf(stderr, "floor_libs: %s: no PEM certificate\n", path);
        return 1;
    }
    X509_free(cert);
    return 0;
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int touch(const char *arg)
{
    long n = strtol(arg, NULL, 10);
    if (n < 1 || n > 100000) {
        fprintf(stderr, "floor_libs: touch N: 1 to 100000 pages\n");
        return 1;
    }
    size_t page = 4096;
    volatile char *p =
        mmap(NULL, (size_t)n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("floor_libs: mmap");
        return 1;
    }
    double start = now_us();
    for (long i = 0; i < n; i++) {
        p[(size_t)i * page] = 1;
    }
    printf("%.2f\n", (now_us() - start) / (double)n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "touch") == 0) {
        return touch(argv[2]);
    }
    if (argc > 2 && strcmp(argv[1], "pem") == 0) {
        int rc = read_pem(argv[2]);
        return rc == 0 && argc > 3 && strcmp(argv[3], "xml") == 0 ? load_xml() : rc;
    }
    /* Referenced, never called with these arguments: keeps each library linked (--as-needed). */
    if (argc > 99) {
        return (int)OPENSSL_version_major() + (json_true() != NULL) +
               (protobuf_c_version() != NULL);
    }
    return 0;
}
