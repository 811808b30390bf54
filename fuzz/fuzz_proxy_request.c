/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for what the collateral proxy reads from clients and
 * from its config file. The first byte picks the mode:
 *   0-3  a request: method POST/GET/HEAD/PUT, then "<target>\n<content type>\n<body>"
 *        through dga_proxy_parse (routing, content type, size limit, OCSP request
 *        validation and cache key, RFC 5019 base64, RIM ids), with the body also
 *        read as an upstream OCSP response by dga_proxy_ocsp_expiry;
 *   4    a config file through dga_proxy_config_load_text.
 * A request that parses must satisfy the parser's own promises (checked here).
 * Seeds (fuzz/run-smoke.sh): the OCSP requests of tests/fixtures/proxy as POST
 * bodies and RFC 5019 GETs, RIM paths, and docs/proxy.conf.example.
 */
#include <stdlib.h>
#include <string.h>

#include "dga/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next '\n'-terminated field as a NUL-terminated copy (rest of input if no '\n'). */
static char *field(const uint8_t **p, size_t *left)
{
    const uint8_t *nl = memchr(*p, '\n', *left);
    size_t n = nl != NULL ? (size_t)(nl - *p) : *left;
    char *s = malloc(n + 1);
    if (s == NULL) {
        abort();
    }
    memcpy(s, *p, n);
    s[n] = '\0';
    *p += n + (nl != NULL);
    *left -= n + (nl != NULL);
    return s;
}

static void check_request(const struct dga_proxy_request *r)
{
    uint8_t key[32];
    switch (r->route) {
    case DGA_PROXY_ROUTE_OCSP_POST:
    case DGA_PROXY_ROUTE_OCSP_GET:
        /* a parsed OCSP request is within the limit and its key is reproducible */
        if (r->ocsp == NULL || r->ocsp_len > DGA_PROXY_REQUEST_MAX ||
            dga_proxy_ocsp_key(r->ocsp, r->ocsp_len, key) != DGA_E_OK ||
            memcmp(key, r->key, 32) != 0) {
            abort();
        }
        break;
    case DGA_PROXY_ROUTE_RIM:
        if (r->rim_id[0] == '\0' || strchr(r->rim_id, '/') != NULL) {
            abort();
        }
        break;
    case DGA_PROXY_ROUTE_HEALTHZ:
    case DGA_PROXY_ROUTE_INFO:
        break;
    }
}

static void fuzz_request(const char *method, const uint8_t *p, size_t left)
{
    char *uri = field(&p, &left);
    char *ct = field(&p, &left);
    struct dga_proxy_request r;
    int status =
        dga_proxy_parse(method, uri, ct[0] != '\0' ? ct : NULL, p, left, DGA_PROXY_REQUEST_MAX, &r);
    if (status == 0) {
        check_request(&r);
        dga_proxy_request_clear(&r);
    } else if (status < 400 || status > 599) {
        abort();
    }
    time_t expires;
    dga_proxy_ocsp_expiry(p, left, 1800000000, 86400, 3600, &expires, NULL);
    free(uri);
    free(ct);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *methods[] = {"POST", "GET", "HEAD", "PUT"};
    if (size == 0 || size > 2 * DGA_PROXY_REQUEST_MAX) {
        return 0;
    }
    unsigned mode = data[0] % 5;
    if (mode < 4) {
        fuzz_request(methods[mode], data + 1, size - 1);
        return 0;
    }
    struct dga_proxy_config c;
    dga_proxy_config_defaults(&c);
    struct dga_diag d = {0};
    if (dga_proxy_config_load_text(&c, (const char *)data + 1, size - 1, &d) == DGA_E_OK) {
        dga_proxy_config_check(&c, &d);
    }
    return 0;
}
