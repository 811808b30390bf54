/* SPDX-License-Identifier: Apache-2.0 */
/* The proxy's one log line: every module reports through the configured callback. */
#include <stdarg.h>
#include <stdio.h>

#include "proxy/internal.h"

void proxy_log(const struct dga_proxy_config *c, const char *fmt, ...)
{
    if (c->log == NULL) {
        return;
    }
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->log(c->log_cls, line);
}
