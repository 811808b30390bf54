/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The limits every server puts on its clients (struct dga_service_limits):
 * the defaults they share and the one check of them, so that a server's own
 * check says the same thing for the same mistake.
 */
#include "dga/service.h"

void dga_service_limits_defaults(struct dga_service_limits *l, unsigned max_connections,
                                 unsigned max_connections_per_client, size_t max_request)
{
    *l = (struct dga_service_limits){
        .max_connections = max_connections,
        .max_connections_per_client = max_connections_per_client,
        .client_timeout = 10,
        .client_request_timeout = 30,
        .max_request = max_request,
    };
}

dga_err dga_service_limits_check(const struct dga_service_limits *l, size_t request_cap,
                                 dga_err err, struct dga_diag *diag)
{
    /* 0 is never "off": an idle or slow client would hold its thread for ever */
    const char *bad = NULL;
    if (l->max_request == 0 || l->max_request > request_cap) {
        bad = "max-request";
    } else if (l->client_timeout <= 0) {
        bad = "client-timeout";
    } else if (l->client_request_timeout <= 0) {
        bad = "client-request-timeout";
    } else if (l->max_connections == 0) {
        bad = "max-connections";
    } else if (l->max_connections_per_client == 0) {
        bad = "max-connections-per-client";
    }
    return bad != NULL ? dga_diag_set(diag, err, 0, bad) : DGA_E_OK;
}
