/* SPDX-License-Identifier: Apache-2.0 */
/* dstack-gpu-attest events policy-hash: dstack's gpu-policy-hash of an app-compose.json. */
#include <stdlib.h>

#include "args.h"
#include "cli.h"
#include "dga/cleanup.h"
#include "dga/measure.h"
#include "dga/util.h"

static void policy_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s events policy-hash FILE [--value]\n"
            "\n"
            "Prints dstack's gpu-policy-hash: the SHA-256 of the RFC 8785 canonical JSON\n"
            "of /requirements/gpu_policy in the app-compose.json FILE, or of {} when it\n"
            "is absent. With --value, FILE is the gpu_policy value itself. Integers must\n"
            "lie within +-2^53 (beyond, implementations disagree: refused).\n"
            "\n"
            "Exit 0 printed, 1 malformed JSON, 2 usage, 3 I/O.\n",
            PROGRAM);
}

int cmd_events_policy_hash(int argc, char **argv)
{
    bool value = false;
    const char *file = NULL;
    const struct cli_option opts[] = {CLI_FLAG("value", &value), CLI_END};
    int rc = cli_parse_one(argc, argv, opts, policy_usage, "events policy-hash", "FILE", &file);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    _cleanup_(freep) uint8_t *text = NULL;
    uint8_t hash[32];
    size_t len = 0;
    rc = cli_read_file(file, DGA_APP_COMPOSE_MAX_BYTES, &text, &len);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    struct dga_diag diag = {0};
    dga_err e = value ? dga_gpu_policy_hash_value((const char *)text, len, hash, &diag)
                      : dga_gpu_policy_hash_compose((const char *)text, len, hash, &diag);
    if (e != DGA_E_OK) {
        cli_error("%s: %s [%s] (byte %zu)", file, dga_err_message(e), dga_err_name(e), diag.offset);
        return e == DGA_E_NOMEM ? EXIT_IO : EXIT_REJECTED;
    }
    char hex[65];
    dga_hex_encode(hash, sizeof hash, hex);
    printf("%s\n", hex);
    return EXIT_VERIFIED;
}
