/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy's upstream: the project's one HTTP client (dga_http_exchange,
 * lib/collateral/http.c) with the proxy's settings: a single attempt (the
 * client asking the proxy decides whether to retry), any status passed back
 * with its body, timeouts from the config (seconds), the optional NVIDIA
 * service key as a bearer token where the request asks for it (NVIDIA
 * documents it for the RIM service, not for OCSP; https only unless
 * allow-insecure-service-key, which the client enforces again), and the
 * proxy's User-Agent. libcurl is
 * loaded once, by dga_proxy_start (collateral/curl_api.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dga/collateral.h"
#include "proxy/internal.h"

#define UPSTREAM_USER_AGENT "dstack-gpu-attest-proxy/" DGA_VERSION

/* Config seconds as the client's milliseconds, saturating instead of wrapping. */
static long seconds_to_ms(int64_t s)
{
    if (s <= 0) {
        return 0; /* refused by dga_http_exchange: the config check keeps this from happening */
    }
    return s > LONG_MAX / 1000 ? LONG_MAX : (long)s * 1000;
}

static dga_err upstream_error(dga_err e)
{
    switch (e) {
    case DGA_E_TOO_LARGE:
    case DGA_E_NOMEM:
    case DGA_E_RUNTIME_LIBRARY:
        return e;
    default:
        return DGA_E_PROXY_UPSTREAM; /* no answer: network error, timeout */
    }
}

dga_err upstream_fetch(const struct dga_proxy_config *c, const struct upstream_request *r,
                       struct upstream_response *ret)
{
    memset(ret, 0, sizeof *ret);
    struct dga_http_options o = {
        .connect_timeout_ms = seconds_to_ms(c->connect_timeout),
        .total_timeout_ms = seconds_to_ms(c->upstream_timeout),
        .max_body = r->cap,
        .max_attempts = 1,
        .backoff_ms = 0,
    };
    char bearer[sizeof "Bearer " + sizeof c->service_key];
    snprintf(bearer, sizeof bearer, "Bearer %s", c->service_key);
    const struct dga_http_request req = {
        .url = r->url,
        .body = r->post,
        .body_len = r->post_len,
        .content_type = r->content_type,
        .accept = r->accept,
        .authorization = r->service_key && c->service_key[0] != '\0' ? bearer : NULL,
        .authorization_over_http = c->allow_insecure_service_key,
        .user_agent = UPSTREAM_USER_AGENT,
    };
    struct dga_http_response res;
    dga_err e = dga_http_exchange(&req, &o, &res, NULL);
    if (e != DGA_E_OK) {
        return upstream_error(e);
    }
    _Static_assert(sizeof ret->content_type == sizeof res.content_type, "content type sizes");
    ret->status = res.status;
    memcpy(ret->content_type, res.content_type, sizeof ret->content_type);
    ret->body = res.body;
    ret->len = res.len;
    return DGA_E_OK;
}

void upstream_response_free(struct upstream_response *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}
