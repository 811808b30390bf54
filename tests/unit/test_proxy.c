/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The collateral proxy's parts without sockets: configuration (flags, file,
 * durations), request routing and parsing (status codes, cache keys), the
 * OCSP cache lifetime rule, and the on-disk store (atomic write, digest
 * check on read). tests/proxy/test_proxy.sh drives the whole program.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "dga/proxy.h"
#include "dga/util.h"
#include "proxy/internal.h"

/* thisUpdate of every response in tests/fixtures/proxy (PROVENANCE.md). */
#define FIXTURE_THIS_UPDATE "2026-11-28T09:04:36Z"
#define DAY 86400
#define OCSP_CT "application/ocsp-request"

static time_t this_update(void)
{
    time_t t;
    assert_int_equal(dga_time_parse(FIXTURE_THIS_UPDATE, &t), DGA_E_OK);
    return t;
}

/* ---- configuration ---- */

static void test_config_defaults(void **state)
{
    (void)state;
    struct dga_proxy_config c;
    dga_proxy_config_defaults(&c);
    assert_string_equal(c.listen, "0.0.0.0:8090");
    assert_string_equal(c.cache_dir, "/var/cache/dstack/nvidia-attest-proxy");
    assert_string_equal(c.ocsp_url, "https://ocsp.ndis.nvidia.com");
    assert_string_equal(c.rim_url, "https://rim.attestation.nvidia.com");
    assert_int_equal(c.ocsp_max_ttl, DAY);
    assert_int_equal(c.ocsp_default_ttl, 3600);
    assert_int_equal(c.ocsp_refresh_before, 300);
    assert_int_equal(c.rim_ttl, 30 * DAY);
    assert_int_equal(c.rim_max_stale, 7 * DAY);
    assert_int_equal(c.refresh_interval, 600);
    assert_int_equal(c.max_entries_per_kind, 10000);
    assert_int_equal(c.limits.max_request, 64 * 1024);
    assert_int_equal(c.max_ocsp_response, 1 << 20);
    assert_int_equal(c.max_rim_response, 16 << 20);
    assert_int_equal(c.limits.client_timeout, 10);
    assert_int_equal(c.limits.client_request_timeout, 30);
    assert_int_equal(c.limits.max_connections, 1024);
    assert_int_equal(c.limits.max_connections_per_client, 128);
    assert_false(c.allow_insecure_service_key);
    assert_int_equal(dga_proxy_config_check(&c, NULL), DGA_E_OK);
}

static void test_durations(void **state)
{
    (void)state;
    int64_t v = -1;
    assert_int_equal(dga_proxy_parse_duration("90", &v), DGA_E_OK);
    assert_int_equal(v, 90);
    assert_int_equal(dga_proxy_parse_duration("0", &v), DGA_E_OK);
    assert_int_equal(v, 0);
    assert_int_equal(dga_proxy_parse_duration("5m", &v), DGA_E_OK);
    assert_int_equal(v, 300);
    assert_int_equal(dga_proxy_parse_duration("24h", &v), DGA_E_OK);
    assert_int_equal(v, DAY);
    assert_int_equal(dga_proxy_parse_duration("30d", &v), DGA_E_OK);
    assert_int_equal(v, 30 * DAY);
    assert_int_equal(dga_proxy_parse_duration("10s", &v), DGA_E_OK);
    assert_int_equal(v, 10);
    static const char *bad[] = {
        "", "m", "-1", "+1", " 1", "1 ", "5x", "5mm", "1.5h", "99999999999999999999", "3661d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 7;
        assert_int_equal(dga_proxy_parse_duration(bad[i], &v), DGA_E_PROXY_CONFIG);
        assert_int_equal(v, 7);
    }
}

static void test_config_set(void **state)
{
    (void)state;
    struct dga_proxy_config c;
    dga_proxy_config_defaults(&c);
    assert_int_equal(dga_proxy_config_set(&c, "listen", "127.0.0.1:9000"), DGA_E_OK);
    assert_string_equal(c.listen, "127.0.0.1:9000");
    assert_int_equal(dga_proxy_config_set(&c, "rim-ttl", "2d"), DGA_E_OK);
    assert_int_equal(c.rim_ttl, 2 * DAY);
    assert_int_equal(dga_proxy_config_set(&c, "max-request", "32K"), DGA_E_OK);
    assert_int_equal(c.limits.max_request, 32 * 1024);
    assert_int_equal(dga_proxy_config_set(&c, "max-cache-bytes", "2G"), DGA_E_OK);
    assert_int_equal(c.max_cache_bytes, (size_t)2 << 30);
    assert_int_equal(dga_proxy_config_set(&c, "max-connections", "64"), DGA_E_OK);
    assert_int_equal(c.limits.max_connections, 64);
    assert_int_equal(dga_proxy_config_set(&c, "max-connections-per-client", "8"), DGA_E_OK);
    assert_int_equal(c.limits.max_connections_per_client, 8);
    assert_int_equal(dga_proxy_config_set(&c, "client-request-timeout", "2m"), DGA_E_OK);
    assert_int_equal(c.limits.client_request_timeout, 120);
    /* a switch: "true" or "false" only */
    assert_true(dga_proxy_config_is_switch("allow-insecure-service-key"));
    assert_false(dga_proxy_config_is_switch("listen"));
    assert_false(dga_proxy_config_is_switch("no-such-option"));
    assert_int_equal(dga_proxy_config_set(&c, "allow-insecure-service-key", "true"), DGA_E_OK);
    assert_true(c.allow_insecure_service_key);
    assert_int_equal(dga_proxy_config_set(&c, "allow-insecure-service-key", "yes"),
                     DGA_E_PROXY_CONFIG);
    assert_true(c.allow_insecure_service_key);
    assert_int_equal(dga_proxy_config_set(&c, "allow-insecure-service-key", "false"), DGA_E_OK);
    assert_false(c.allow_insecure_service_key);
    /* unknown keys and bad values change nothing */
    assert_int_equal(dga_proxy_config_set(&c, "no-such-option", "1"), DGA_E_PROXY_CONFIG);
    assert_false(dga_proxy_config_known("no-such-option"));
    assert_true(dga_proxy_config_known("ocsp-refresh-before"));
    assert_int_equal(dga_proxy_config_set(&c, "rim-ttl", "2w"), DGA_E_PROXY_CONFIG);
    assert_int_equal(c.rim_ttl, 2 * DAY);
    assert_int_equal(dga_proxy_config_set(&c, "listen", ""), DGA_E_PROXY_CONFIG);
    assert_string_equal(c.listen, "127.0.0.1:9000");
    char long_url[DGA_PROXY_URL_MAX + 10];
    memset(long_url, 'a', sizeof long_url - 1);
    long_url[sizeof long_url - 1] = '\0';
    assert_int_equal(dga_proxy_config_set(&c, "ocsp-url", long_url), DGA_E_PROXY_CONFIG);
    assert_int_equal(dga_proxy_config_set(&c, "service-key-file", "/nonexistent/key"),
                     DGA_E_PROXY_CONFIG);
}

static void test_config_file(void **state)
{
    (void)state;
    struct dga_proxy_config c;
    dga_proxy_config_defaults(&c);
    static const char good[] = "# the proxy\n"
                               "\n"
                               "listen = 127.0.0.1:8091\n"
                               "  cache-dir=/tmp/x  \n"
                               "ocsp-max-ttl = 12h\n";
    struct dga_diag d = {0};
    assert_int_equal(dga_proxy_config_load_text(&c, good, strlen(good), &d), DGA_E_OK);
    assert_string_equal(c.listen, "127.0.0.1:8091");
    assert_string_equal(c.cache_dir, "/tmp/x");
    assert_int_equal(c.ocsp_max_ttl, 12 * 3600);

    static const char unknown[] = "listen = 127.0.0.1:1\n# ok\nbogus = 1\n";
    assert_int_equal(dga_proxy_config_load_text(&c, unknown, strlen(unknown), &d),
                     DGA_E_PROXY_CONFIG);
    assert_int_equal(d.offset, 3);
    static const char no_eq[] = "listen 127.0.0.1:1\n";
    assert_int_equal(dga_proxy_config_load_text(&c, no_eq, strlen(no_eq), &d), DGA_E_PROXY_CONFIG);
    assert_int_equal(d.offset, 1);
    static const char bad_value[] = "\n\nrim-ttl = forever\n";
    assert_int_equal(dga_proxy_config_load_text(&c, bad_value, strlen(bad_value), &d),
                     DGA_E_PROXY_CONFIG);
    assert_int_equal(d.offset, 3);
    static const char nul[] = "listen = 1\0x\n";
    assert_int_equal(dga_proxy_config_load_text(&c, nul, sizeof nul - 1, &d), DGA_E_PROXY_CONFIG);
    assert_int_equal(dga_proxy_config_load_file(&c, "/nonexistent/proxy.conf", &d), DGA_E_IO);
}

static void test_config_env(void **state)
{
    (void)state;
    struct dga_proxy_config c;
    dga_proxy_config_defaults(&c);
    setenv("NVIDIA_ATTEST_PROXY_LISTEN", "127.0.0.1:7000", 1);
    setenv("NVIDIA_ATTEST_PROXY_RIM_URL", "http://rim.example", 1);
    setenv("GPU_ATTEST_PROXY_OCSP_REFRESH_BEFORE", "2m", 1);
    setenv("NV_ATTESTATION_SERVICE_KEY", "secret-key", 1);
    struct dga_diag d = {0};
    assert_int_equal(dga_proxy_config_from_env(&c, &d), DGA_E_OK);
    assert_string_equal(c.listen, "127.0.0.1:7000");
    assert_string_equal(c.rim_url, "http://rim.example");
    assert_int_equal(c.ocsp_refresh_before, 120);
    assert_string_equal(c.service_key, "secret-key");
    setenv("NVIDIA_ATTEST_PROXY_CACHE_DIR", "", 1);
    assert_int_equal(dga_proxy_config_from_env(&c, &d), DGA_E_PROXY_CONFIG);
    assert_string_equal(d.field, "NVIDIA_ATTEST_PROXY_CACHE_DIR");
    unsetenv("NVIDIA_ATTEST_PROXY_LISTEN");
    unsetenv("NVIDIA_ATTEST_PROXY_RIM_URL");
    unsetenv("GPU_ATTEST_PROXY_OCSP_REFRESH_BEFORE");
    unsetenv("NV_ATTESTATION_SERVICE_KEY");
    unsetenv("NVIDIA_ATTEST_PROXY_CACHE_DIR");
}

/* The key becomes "Authorization: Bearer <key>": CR/LF (or any control or space) cannot get in. */
static void test_service_key_header_injection(void **state)
{
    (void)state;
    struct dga_proxy_config c;
    dga_proxy_config_defaults(&c);
    struct dga_diag d = {0};
    setenv("NV_ATTESTATION_SERVICE_KEY", "key\r\nX-Injected: 1", 1);
    assert_int_equal(dga_proxy_config_from_env(&c, &d), DGA_E_PROXY_CONFIG);
    assert_string_equal(d.field, "NV_ATTESTATION_SERVICE_KEY");
    assert_string_equal(c.service_key, "");
    setenv("NV_ATTESTATION_SERVICE_KEY", "key\nX-Injected: 1", 1);
    assert_int_equal(dga_proxy_config_from_env(&c, &d), DGA_E_PROXY_CONFIG);
    unsetenv("NV_ATTESTATION_SERVICE_KEY");

    char path[] = "/tmp/dga-proxy-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char injected[] = "key\r\nX-Injected: 1\n";
    assert_int_equal(write(fd, injected, sizeof injected - 1), (ssize_t)(sizeof injected - 1));
    close(fd);
    assert_int_equal(dga_proxy_config_set(&c, "service-key-file", path), DGA_E_PROXY_CONFIG);
    assert_string_equal(c.service_key, "");
    unlink(path);

    /* a key set by a caller, not through the config, is checked too */
    snprintf(c.service_key, sizeof c.service_key, "key\r\nX-Injected: 1");
    assert_int_equal(dga_proxy_config_check(&c, &d), DGA_E_PROXY_CONFIG);
    memset(c.service_key, 'k', sizeof c.service_key); /* no terminator */
    assert_int_equal(dga_proxy_config_check(&c, &d), DGA_E_PROXY_CONFIG);
    snprintf(c.service_key, sizeof c.service_key, "good-key");
    assert_int_equal(dga_proxy_config_check(&c, &d), DGA_E_OK);
}

/* The key goes to the RIM service in clear text only when explicitly allowed. */
static void test_service_key_needs_https(void **state)
{
    (void)state;
    struct dga_proxy_config c;
    struct dga_diag d = {0};
    dga_proxy_config_defaults(&c);
    assert_int_equal(dga_proxy_config_set(&c, "rim-url", "http://rim.example"), DGA_E_OK);
    assert_int_equal(dga_proxy_config_check(&c, &d), DGA_E_OK); /* no key: nothing to leak */
    snprintf(c.service_key, sizeof c.service_key, "good-key");
    assert_int_equal(dga_proxy_config_check(&c, &d), DGA_E_PROXY_CONFIG);
    assert_non_null(strstr(d.field, "--allow-insecure-service-key"));
    c.allow_insecure_service_key = true;
    assert_int_equal(dga_proxy_config_check(&c, &d), DGA_E_OK);
    c.allow_insecure_service_key = false;
    /* the scheme is case-insensitive (RFC 3986), as the HTTP client compares it */
    assert_int_equal(dga_proxy_config_set(&c, "rim-url", "HTTPS://rim.example"), DGA_E_OK);
    assert_int_equal(dga_proxy_config_check(&c, &d), DGA_E_OK);
    assert_int_equal(dga_proxy_config_set(&c, "rim-url", "HTTP://rim.example"), DGA_E_OK);
    assert_int_equal(dga_proxy_config_check(&c, &d), DGA_E_PROXY_CONFIG);
    assert_non_null(strstr(d.field, "--allow-insecure-service-key"));
    assert_int_equal(dga_proxy_config_set(&c, "rim-url", "https://rim.example"), DGA_E_OK);
    assert_int_equal(dga_proxy_config_set(&c, "ocsp-url", "http://ocsp.example"), DGA_E_OK);
    assert_int_equal(dga_proxy_config_check(&c, &d), DGA_E_OK); /* OCSP never gets the key */
}

static void test_config_check(void **state)
{
    (void)state;
    struct dga_proxy_config c;
    static const struct {
        const char *key, *value, *field;
    } bad[] = {
        {"listen", "localhost:80", "listen"},
        {"listen", "127.0.0.1", "listen"},
        {"listen", "127.0.0.1:65536", "listen"},
        {"listen", "[::1]", "listen"},
        {"listen", "1.2.3.4:-1", "listen"},
        {"ocsp-url", "ftp://x", "ocsp-url"},
        {"rim-url", "file:///etc", "rim-url"},
        {"cache-dir", "relative", "cache-dir (must be absolute)"},
        {"max-request", "0", "max-request"},
        {"upstream-timeout", "0", "a timeout or ttl is 0"},
        {"refresh-parallel", "65", "a bound is 0 or out of range"},
        {"max-request", "65537", "max-request"},
        {"client-request-timeout", "0", "client-request-timeout"},
        {"max-connections-per-client", "0", "max-connections-per-client"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dga_proxy_config_defaults(&c);
        assert_int_equal(dga_proxy_config_set(&c, bad[i].key, bad[i].value), DGA_E_OK);
        assert_int_equal(dga_proxy_config_check(&c, NULL), DGA_E_PROXY_CONFIG);
        struct dga_diag d = {0};
        assert_int_equal(dga_proxy_config_check(&c, &d), DGA_E_PROXY_CONFIG);
        assert_string_equal(d.field, bad[i].field);
    }
    dga_proxy_config_defaults(&c);
    assert_int_equal(dga_proxy_config_set(&c, "listen", "[::1]:8090"), DGA_E_OK);
    assert_int_equal(dga_proxy_config_check(&c, NULL), DGA_E_OK);
    assert_int_equal(dga_proxy_config_set(&c, "refresh-interval", "0"), DGA_E_OK);
    assert_int_equal(dga_proxy_config_check(&c, NULL), DGA_E_OK);
}

/* ---- routing and parsing ---- */

static void test_route(void **state)
{
    (void)state;
    static const struct {
        const char *method, *uri;
        int status;
        enum dga_proxy_route route;
    } cases[] = {
        {"POST", "/ocsp", 0, DGA_PROXY_ROUTE_OCSP_POST},
        {"POST", "/ocsp?x", 0, DGA_PROXY_ROUTE_OCSP_POST},
        {"GET", "/ocsp", 405, 0},
        {"PUT", "/ocsp", 405, 0},
        {"GET", "/ocsp/MAA=", 0, DGA_PROXY_ROUTE_OCSP_GET},
        {"HEAD", "/ocsp/MAA=", 0, DGA_PROXY_ROUTE_OCSP_GET},
        {"POST", "/ocsp/MAA=", 405, 0},
        {"GET", "/ocsp/MAA=?q", 400, 0},
        {"GET", "/v1/rim/NV_GPU_DRIVER_GH100_545.00", 0, DGA_PROXY_ROUTE_RIM},
        {"POST", "/v1/rim/x", 405, 0},
        {"GET", "/v1/rim/x?y=1", 400, 0},
        {"GET", "/healthz", 0, DGA_PROXY_ROUTE_HEALTHZ},
        {"DELETE", "/healthz", 405, 0},
        {"GET", "/info", 0, DGA_PROXY_ROUTE_INFO},
        {"GET", "/", 404, 0},
        {"GET", "/v1/rim", 404, 0},
        {"GET", "/v2/rim/x", 404, 0},
        {"GET", "/healthz/", 404, 0},
        {"GET", "", 404, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum dga_proxy_route r = (enum dga_proxy_route)99;
        int s = dga_proxy_route(cases[i].method, cases[i].uri, &r);
        if (s != cases[i].status) {
            fail_msg("%s %s: status %d, want %d", cases[i].method, cases[i].uri, s,
                     cases[i].status);
        }
        if (s == 0) {
            assert_int_equal(r, cases[i].route);
        }
    }
    char *huge = malloc(DGA_PROXY_URI_MAX + 2);
    assert_non_null(huge);
    memset(huge, 'a', DGA_PROXY_URI_MAX + 1);
    huge[0] = '/';
    huge[DGA_PROXY_URI_MAX + 1] = '\0';
    enum dga_proxy_route r;
    assert_int_equal(dga_proxy_route("GET", huge, &r), 400);
    free(huge);
}

static uint8_t *fixture(const char *name, size_t *len)
{
    char rel[128];
    snprintf(rel, sizeof rel, "proxy/%s", name);
    return fixture_read(rel, len);
}

static void key_of(const char *name, uint8_t key[32])
{
    size_t len;
    uint8_t *der = fixture(name, &len);
    assert_int_equal(dga_proxy_ocsp_key(der, len, key), DGA_E_OK);
    free(der);
}

static void test_ocsp_key_excludes_nonce(void **state)
{
    (void)state;
    uint8_t a[32], a2[32], nn[32], b[32], two[32];
    key_of("req_leaf1.der", a);
    key_of("req_leaf1_nonce2.der", a2);
    key_of("req_leaf1_no_nonce.der", nn);
    key_of("req_leaf2.der", b);
    key_of("req_two_certs.der", two);
    assert_memory_equal(a, a2, 32);
    assert_memory_equal(a, nn, 32);
    assert_memory_not_equal(a, b, 32);
    assert_memory_not_equal(a, two, 32);
    /* the requests themselves differ (the nonce) */
    size_t l1, l2;
    uint8_t *r1 = fixture("req_leaf1.der", &l1), *r2 = fixture("req_leaf1_nonce2.der", &l2);
    assert_int_equal(l1, l2);
    assert_memory_not_equal(r1, r2, l1);
    free(r1);
    free(r2);
}

static void test_ocsp_key_malformed(void **state)
{
    (void)state;
    size_t len;
    uint8_t *der = fixture("req_leaf1.der", &len);
    uint8_t key[32];
    for (size_t n = 0; n < len; n++) { /* every truncation */
        assert_int_equal(dga_proxy_ocsp_key(der, n, key), DGA_E_BAD_DER);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, der, len);
    longer[len] = 0;
    assert_int_equal(dga_proxy_ocsp_key(longer, len + 1, key), DGA_E_BAD_DER);
    free(longer);
    der[0] = 0x31; /* SET instead of SEQUENCE */
    assert_int_equal(dga_proxy_ocsp_key(der, len, key), DGA_E_BAD_DER);
    free(der);
    size_t rl;
    uint8_t *resp = fixture("resp_good_1day.der", &rl); /* a response is not a request */
    assert_int_equal(dga_proxy_ocsp_key(resp, rl, key), DGA_E_BAD_DER);
    free(resp);
    assert_int_equal(dga_proxy_ocsp_key(NULL, 0, key), DGA_E_BAD_DER);
}

static void test_parse_ocsp_post(void **state)
{
    (void)state;
    size_t len;
    uint8_t *der = fixture("req_leaf1.der", &len);
    struct dga_proxy_request r;
    assert_int_equal(dga_proxy_parse("POST", "/ocsp", OCSP_CT, der, len, 65536, &r), 0);
    assert_int_equal(r.route, DGA_PROXY_ROUTE_OCSP_POST);
    assert_int_equal(r.ocsp_len, len);
    assert_memory_equal(r.ocsp, der, len);
    uint8_t key[32];
    key_of("req_leaf1.der", key);
    assert_memory_equal(r.key, key, 32);
    dga_proxy_request_clear(&r);
    assert_int_equal(
        dga_proxy_parse("POST", "/ocsp", "Application/OCSP-Request; x=y", der, len, 65536, &r), 0);
    dga_proxy_request_clear(&r);
    assert_int_equal(dga_proxy_parse("POST", "/ocsp", "text/plain", der, len, 65536, &r), 415);
    assert_int_equal(dga_proxy_parse("POST", "/ocsp", NULL, der, len, 65536, &r), 415);
    assert_int_equal(
        dga_proxy_parse("POST", "/ocsp", "application/ocsp-requestx", der, len, 65536, &r), 415);
    assert_int_equal(dga_proxy_parse("POST", "/ocsp", OCSP_CT, der, len, len - 1, &r), 413);
    assert_int_equal(dga_proxy_parse("POST", "/ocsp", OCSP_CT, der, len - 1, 65536, &r), 400);
    assert_int_equal(dga_proxy_parse("POST", "/ocsp", OCSP_CT, der, 0, 65536, &r), 400);
    assert_int_equal(
        dga_proxy_parse("POST", "/ocsp", OCSP_CT, (const uint8_t *)"garbage", 7, 65536, &r), 400);
    assert_int_equal(dga_proxy_parse("GET", "/ocsp", OCSP_CT, der, len, 65536, &r), 405);
    free(der);
}

/* Percent-encodes the characters base64 shares with URLs. */
static void url_escape(const char *in, char *out)
{
    for (; *in != '\0'; in++) {
        if (*in == '+' || *in == '/' || *in == '=') {
            out += sprintf(out, "%%%02X", (unsigned char)*in);
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
}

static void test_parse_ocsp_get(void **state)
{
    (void)state;
    size_t len;
    uint8_t *der = fixture("req_leaf1_no_nonce.der", &len);
    char b64[256], esc[768], uri[1024];
    EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
    url_escape(b64, esc);
    uint8_t key[32];
    key_of("req_leaf1.der", key);
    struct dga_proxy_request r;
    /* as RFC 5019 asks (percent-encoded), raw, and base64url without padding */
    snprintf(uri, sizeof uri, "/ocsp/%s", esc);
    assert_int_equal(dga_proxy_parse("GET", uri, NULL, NULL, 0, 65536, &r), 0);
    assert_int_equal(r.route, DGA_PROXY_ROUTE_OCSP_GET);
    assert_memory_equal(r.key, key, 32);
    assert_int_equal(r.ocsp_len, len);
    dga_proxy_request_clear(&r);
    snprintf(uri, sizeof uri, "/ocsp/%s", b64);
    assert_int_equal(dga_proxy_parse("GET", uri, NULL, NULL, 0, 65536, &r), 0);
    dga_proxy_request_clear(&r);
    for (char *p = b64; *p != '\0'; p++) {
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }
    b64[strcspn(b64, "=")] = '\0';
    snprintf(uri, sizeof uri, "/ocsp/%s", b64);
    assert_int_equal(dga_proxy_parse("GET", uri, NULL, NULL, 0, 65536, &r), 0);
    assert_memory_equal(r.key, key, 32);
    dga_proxy_request_clear(&r);
    assert_int_equal(dga_proxy_parse("GET", "/ocsp/", NULL, NULL, 0, 65536, &r), 400);
    assert_int_equal(dga_proxy_parse("GET", "/ocsp/%zz", NULL, NULL, 0, 65536, &r), 400);
    assert_int_equal(dga_proxy_parse("GET", "/ocsp/%4", NULL, NULL, 0, 65536, &r), 400);
    assert_int_equal(dga_proxy_parse("GET", "/ocsp/!!!!", NULL, NULL, 0, 65536, &r), 400);
    assert_int_equal(dga_proxy_parse("GET", "/ocsp/Z2FyYmFnZQ==", NULL, NULL, 0, 65536, &r), 400);
    assert_int_equal(dga_proxy_parse("GET", uri, NULL, NULL, 0, len - 1, &r), 413);
    free(der);
}

static void test_parse_rim(void **state)
{
    (void)state;
    struct dga_proxy_request r;
    const char *id = "NV_GPU_DRIVER_GH100_545.00";
    assert_int_equal(
        dga_proxy_parse("GET", "/v1/rim/NV_GPU_DRIVER_GH100_545.00", NULL, NULL, 0, 65536, &r), 0);
    assert_string_equal(r.rim_id, id);
    uint8_t key[32];
    assert_int_equal(EVP_Digest(id, strlen(id), key, NULL, EVP_sha256(), NULL), 1);
    assert_memory_equal(r.key, key, 32);
    dga_proxy_request_clear(&r);
    static const char *bad[] = {"/v1/rim/",      "/v1/rim/a/b", "/v1/rim/..",  "/v1/rim/.x",
                                "/v1/rim/a%2Fb", "/v1/rim/a b", "/v1/rim/a\\b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(dga_proxy_parse("GET", bad[i], NULL, NULL, 0, 65536, &r), 400);
    }
    char uri[300] = "/v1/rim/";
    memset(uri + 8, 'A', 200);
    uri[208] = '\0';
    assert_int_equal(dga_proxy_parse("GET", uri, NULL, NULL, 0, 65536, &r), 400);
}

/* ---- OCSP lifetime ---- */

static dga_err expiry_of(const char *name, time_t now, int64_t max_ttl, int64_t default_ttl,
                         time_t *ret)
{
    size_t len;
    uint8_t *der = fixture(name, &len);
    time_t this_upd = 0;
    dga_err e = dga_proxy_ocsp_expiry(der, len, now, max_ttl, default_ttl, ret, &this_upd);
    if (e == DGA_E_OK) {
        assert_int_equal(this_upd, this_update());
    }
    free(der);
    return e;
}

static void test_ocsp_expiry(void **state)
{
    (void)state;
    time_t t = this_update(), exp = 0;
    /* nextUpdate = thisUpdate + 1 day, max TTL 24h from now: nextUpdate wins */
    assert_int_equal(expiry_of("resp_good_1day.der", t + 10, DAY, 3600, &exp), DGA_E_OK);
    assert_int_equal(exp, t + DAY);
    /* a small max TTL wins */
    assert_int_equal(expiry_of("resp_good_1day.der", t + 10, 60, 3600, &exp), DGA_E_OK);
    assert_int_equal(exp, t + 70);
    /* no nextUpdate: thisUpdate + default TTL */
    assert_int_equal(expiry_of("resp_no_next_update.der", t + 10, DAY, 3600, &exp), DGA_E_OK);
    assert_int_equal(exp, t + 3600);
    assert_int_equal(expiry_of("resp_no_next_update.der", t + 10, DAY, 600, &exp), DGA_E_OK);
    assert_int_equal(exp, t + 600);
    /* two SingleResponses, nextUpdate +1h each */
    assert_int_equal(expiry_of("resp_two_certs_1h.der", t, DAY, 60, &exp), DGA_E_OK);
    assert_int_equal(exp, t + 3600);
    /* not yet valid, expired, at the very end */
    exp = 1;
    assert_int_equal(expiry_of("resp_good_1day.der", t - 1, DAY, 3600, &exp),
                     DGA_E_PROXY_UNCACHEABLE);
    assert_int_equal(expiry_of("resp_good_1day.der", t + DAY, DAY, 3600, &exp),
                     DGA_E_PROXY_UNCACHEABLE);
    assert_int_equal(expiry_of("resp_good_1day.der", t + DAY + 1, DAY, 3600, &exp),
                     DGA_E_PROXY_UNCACHEABLE);
    assert_int_equal(expiry_of("resp_no_next_update.der", t + 3600, DAY, 3600, &exp),
                     DGA_E_PROXY_UNCACHEABLE);
    assert_int_equal(exp, 1); /* untouched on failure */
    /* not successful */
    assert_int_equal(expiry_of("resp_try_later.der", t, DAY, 3600, &exp), DGA_E_PROXY_UNCACHEABLE);
}

static void test_ocsp_expiry_malformed(void **state)
{
    (void)state;
    size_t len;
    uint8_t *der = fixture("resp_good_1day.der", &len);
    time_t exp, t = this_update();
    ERR_clear_error();
    for (size_t n = 0; n < len; n += 7) {
        assert_int_equal(dga_proxy_ocsp_expiry(der, n, t, DAY, 3600, &exp, NULL), DGA_E_BAD_DER);
        assert_int_equal(ERR_peek_error(), 0); /* a failed parse leaves no error behind */
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, der, len);
    longer[len] = 0;
    assert_int_equal(dga_proxy_ocsp_expiry(longer, len + 1, t, DAY, 3600, &exp, NULL),
                     DGA_E_BAD_DER);
    free(longer);
    free(der);
    size_t rl;
    uint8_t *req = fixture("req_leaf1.der", &rl);
    assert_int_equal(dga_proxy_ocsp_expiry(req, rl, t, DAY, 3600, &exp, NULL), DGA_E_BAD_DER);
    assert_int_equal(ERR_peek_error(), 0);
    /* A request that is not one: refused, the queue empty too. */
    size_t sl;
    uint8_t *resp = fixture("resp_good_1day.der", &sl);
    assert_int_equal(dga_proxy_ocsp_answers(resp, sl, resp, sl), DGA_E_BAD_DER);
    assert_int_equal(ERR_peek_error(), 0);
    free(resp);
    free(req);
}

static dga_err answers(const char *req_name, const char *resp_name)
{
    size_t ql, sl;
    uint8_t *q = fixture(req_name, &ql), *r = fixture(resp_name, &sl);
    dga_err e = dga_proxy_ocsp_answers(q, ql, r, sl);
    free(q);
    free(r);
    return e;
}

static void test_ocsp_answers(void **state)
{
    (void)state;
    /* the CertID decides, not the nonce */
    assert_int_equal(answers("req_leaf1.der", "resp_good_1day.der"), DGA_E_OK);
    assert_int_equal(answers("req_leaf1_no_nonce.der", "resp_good_1day.der"), DGA_E_OK);
    assert_int_equal(answers("req_two_certs.der", "resp_two_certs_1h.der"), DGA_E_OK);
    assert_int_equal(answers("req_leaf1.der", "resp_two_certs_1h.der"), DGA_E_OK);
    /* another certificate, or one of two missing */
    assert_int_equal(answers("req_leaf2.der", "resp_good_1day.der"), DGA_E_PROXY_UNCACHEABLE);
    assert_int_equal(answers("req_two_certs.der", "resp_good_1day.der"), DGA_E_PROXY_UNCACHEABLE);
    assert_int_equal(answers("req_leaf1.der", "resp_try_later.der"), DGA_E_PROXY_UNCACHEABLE);
    assert_int_equal(answers("resp_good_1day.der", "resp_good_1day.der"), DGA_E_BAD_DER);
    assert_int_equal(answers("req_leaf1.der", "req_leaf1.der"), DGA_E_BAD_DER);
}

/* ---- the on-disk store ---- */

static struct entry *sample_entry(const char *id, const char *text)
{
    struct entry *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->kind = DGA_PROXY_KIND_RIM;
    assert_int_equal(EVP_Digest(id, strlen(id), e->key, NULL, EVP_sha256(), NULL), 1);
    e->body = body_new((const uint8_t *)text, strlen(text));
    assert_int_equal(EVP_Digest(text, strlen(text), e->body_sha256, NULL, EVP_sha256(), NULL), 1);
    snprintf(e->content_type, sizeof e->content_type, "application/json");
    e->fetched_at = 1000;
    e->expires_at = 2000;
    e->source = strdup(id);
    return e;
}

static void entry_files(const char *dir, const struct entry *e, char *json, char *body,
                        char *json_name)
{
    char hex[65];
    dga_hex_encode(e->key, 32, hex);
    sprintf(json_name, "%s.json", hex);
    sprintf(json, "%s/rim/%s.json", dir, hex);
    sprintf(body, "%s/rim/%s.body", dir, hex);
}

/* A RIM answer is kept only under the id it names. */
static void test_rim_answers(void **state)
{
    (void)state;
    static const char ok[] = "{\"id\":\"NV_RIM_A\",\"rim\":\"eA==\"}";
    const uint8_t *b = (const uint8_t *)ok;
    assert_int_equal(dga_proxy_rim_answers(b, strlen(ok), "NV_RIM_A"), DGA_E_OK);
    assert_int_equal(dga_proxy_rim_answers(b, strlen(ok), "NV_RIM_Z"), DGA_E_PROXY_UNCACHEABLE);
    assert_int_equal(dga_proxy_rim_answers(b, strlen(ok), "NV_RIM_"), DGA_E_PROXY_UNCACHEABLE);
    static const char *const bad[] = {
        "{\"id\":\"NV_RIM_Z\",\"id\":\"NV_RIM_A\"}", /* duplicate key */
        "{\"id\":1}",
        "[\"NV_RIM_A\"]",
        "{\"rim\":\"eA==\"}",
        /* the id is right but the client would refuse the document: not cached either */
        "{\"id\":\"NV_RIM_A\"}",
        "{\"id\":\"NV_RIM_A\",\"rim\":\"not base64!\"}",
        "{\"id\":\"NV_RIM_A\",\"rim\":7}",
        "not json",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(dga_proxy_rim_answers((const uint8_t *)bad[i], strlen(bad[i]), "NV_RIM_A"),
                         DGA_E_PROXY_UNCACHEABLE);
    }
}

static void test_store_roundtrip_and_corruption(void **state)
{
    (void)state;
    char dir[] = "/tmp/dga-proxy-store-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(store_prepare(dir), DGA_E_OK);
    struct entry *e = sample_entry("NV_RIM_1", "{\"rim\":\"one\"}");
    assert_int_equal(store_write(dir, e), DGA_E_OK);
    char json[512], body[512], name[80];
    entry_files(dir, e, json, body, name);

    struct entry *back = NULL;
    assert_int_equal(store_read(dir, DGA_PROXY_KIND_RIM, name, 1 << 20, &back), DGA_E_OK);
    assert_memory_equal(back->key, e->key, 32);
    assert_int_equal(back->body->len, e->body->len);
    assert_memory_equal(back->body->data, e->body->data, e->body->len);
    assert_string_equal(back->source, "NV_RIM_1");
    assert_string_equal(back->content_type, "application/json");
    assert_int_equal(back->fetched_at, 1000);
    assert_int_equal(back->expires_at, 2000);
    entry_free(back);

    /* over the body cap */
    back = NULL;
    assert_int_equal(store_read(dir, DGA_PROXY_KIND_RIM, name, 4, &back),
                     DGA_E_PROXY_CACHE_CORRUPT);
    /* one changed byte in the body */
    FILE *f = fopen(body, "r+b");
    assert_non_null(f);
    fputc('X', f);
    fclose(f);
    assert_int_equal(store_read(dir, DGA_PROXY_KIND_RIM, name, 1 << 20, &back),
                     DGA_E_PROXY_CACHE_CORRUPT);
    assert_null(back);
    /* a rewrite repairs it; then broken metadata */
    assert_int_equal(store_write(dir, e), DGA_E_OK);
    assert_int_equal(store_read(dir, DGA_PROXY_KIND_RIM, name, 1 << 20, &back), DGA_E_OK);
    entry_free(back);
    back = NULL;
    f = fopen(json, "wb");
    assert_non_null(f);
    fputs("{\"content_type\":\"x\"}", f);
    fclose(f);
    assert_int_equal(store_read(dir, DGA_PROXY_KIND_RIM, name, 1 << 20, &back),
                     DGA_E_PROXY_CACHE_CORRUPT);
    /* names that are not <64 hex>.json */
    assert_int_equal(store_read(dir, DGA_PROXY_KIND_RIM, "x.json", 1 << 20, &back),
                     DGA_E_PROXY_CACHE_CORRUPT);
    store_remove(dir, DGA_PROXY_KIND_RIM, e->key);
    assert_int_not_equal(access(json, F_OK), 0);
    assert_int_not_equal(access(body, F_OK), 0);
    entry_free(e);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_config_set),
        cmocka_unit_test(test_config_file),
        cmocka_unit_test(test_config_env),
        cmocka_unit_test(test_service_key_header_injection),
        cmocka_unit_test(test_service_key_needs_https),
        cmocka_unit_test(test_config_check),
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_ocsp_key_excludes_nonce),
        cmocka_unit_test(test_ocsp_key_malformed),
        cmocka_unit_test(test_parse_ocsp_post),
        cmocka_unit_test(test_parse_ocsp_get),
        cmocka_unit_test(test_parse_rim),
        cmocka_unit_test(test_ocsp_expiry),
        cmocka_unit_test(test_ocsp_expiry_malformed),
        cmocka_unit_test(test_ocsp_answers),
        cmocka_unit_test(test_rim_answers),
        cmocka_unit_test(test_store_roundtrip_and_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
