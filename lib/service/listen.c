/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The listen address, "ADDR:PORT" or "[ADDR6]:PORT": a config value that a
 * server's config check validates and the server binds, so it sits apart from
 * the server (dga_service_parse, no libmicrohttpd).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "dga/service.h"

/* "unix:PATH": the path must fit sun_path with its NUL (no abstract names: no NUL inside). */
static dga_err parse_unix(const char *path, struct sockaddr_storage *ret, socklen_t *ret_len)
{
    struct sockaddr_un *un = (struct sockaddr_un *)ret;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof un->sun_path) {
        return DGA_E_BAD_ARGUMENT;
    }
    memset(ret, 0, sizeof *ret);
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n + 1);
    *ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return DGA_E_OK;
}

dga_err dga_service_parse_listen(const char *text, struct sockaddr_storage *ret, socklen_t *ret_len)
{
    if (strncmp(text, "unix:", 5) == 0) {
        return parse_unix(text + 5, ret, ret_len);
    }
    char host[256];
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof host || colon[1] == '\0') {
        return DGA_E_BAD_ARGUMENT;
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port > 65535 || colon[1] < '0' || colon[1] > '9') {
        return DGA_E_BAD_ARGUMENT;
    }
    memset(ret, 0, sizeof *ret);
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ret;
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) {
            return DGA_E_BAD_ARGUMENT;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *ret_len = sizeof *a6;
        return DGA_E_OK;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ret;
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
        return DGA_E_BAD_ARGUMENT;
    }
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *ret_len = sizeof *a4;
    return DGA_E_OK;
}
