/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dstack-gpu-attest rim inspect: a RIM document as JSON (version,
 * manufacturer, measurements, signer chain). Inspecting verifies nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "dga/cleanup.h"
#include "dga/rim.h"
#include "dga/util.h"

static void inspect_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s rim inspect FILE\n"
            "\n"
            "Prints a RIM document as JSON: its id (from the file name <id>.xml, as a\n"
            "RIM store binds them), version (colloquialVersion), firmware\n"
            "manufacturer id, product, tagId, SHA-256, every Measurement resource\n"
            "(index, active, alternatives, hashes, size, name) and the certificates of its\n"
            "signer chain. Inspecting verifies nothing: see 'rim verify'.\n",
            PROGRAM);
}

static json_t *measurement_json(const struct dga_rim_measurement *m)
{
    json_t *hashes = json_array();
    for (unsigned k = 0; hashes != NULL && k < m->alternatives; k++) {
        char hex[2 * DGA_DIGEST_LEN + 1];
        dga_hex_encode(m->hash[k], DGA_DIGEST_LEN, hex);
        json_array_append_new(hashes, json_string(hex));
    }
    return json_pack("{s:i,s:b,s:i,s:o,s:i,s:s}", "index", m->index, "active", m->active,
                     "alternatives", m->alternatives, "hashes", hashes, "size", m->size, "name",
                     m->name);
}

/*
 * A RIM document does not name its own id: a store binds id and document by
 * the file name (<id>.xml), so that is where the id comes from here.
 */
static json_t *id_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    size_t n = strlen(base);
    char id[DGA_RIM_ID_MAX];
    if (n <= 4 || n - 4 >= sizeof id || strcmp(base + n - 4, ".xml") != 0) {
        return json_null();
    }
    memcpy(id, base, n - 4);
    id[n - 4] = '\0';
    return dga_rim_id_valid(id) ? json_string(id) : json_null();
}

static json_t *rim_json(const char *path, const struct dga_rim *rim)
{
    char sha[65];
    dga_hex_encode(rim->sha256, sizeof rim->sha256, sha);
    json_t *ms = json_array();
    size_t active = 0;
    for (size_t i = 0; ms != NULL && i < rim->n_measurements; i++) {
        active += rim->measurements[i].active;
        json_array_append_new(ms, measurement_json(&rim->measurements[i]));
    }
    json_t *certs = json_array();
    for (int i = 0; certs != NULL && i < sk_X509_num(rim->certs); i++) {
        json_array_append_new(certs, cli_cert_json(sk_X509_value(rim->certs, i)));
    }
    return json_pack("{s:s,s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:o}", "file", path,
                     "id_from_file_name", id_from_path(path), "colloquialVersion",
                     rim->colloquial_version, "FirmwareManufacturerId", rim->manufacturer_id,
                     "product", rim->product, "edition", rim->edition, "tagId", rim->tag_id,
                     "sha256", sha, "active_measurements", (json_int_t)active, "measurements", ms,
                     "signer_chain", certs);
}

int cmd_rim_inspect(int argc, char **argv)
{
    const struct cli_option opts[] = {CLI_END};
    const char *file = NULL;
    int rc = cli_parse_one(argc, argv, opts, inspect_usage, "rim inspect", "FILE", &file);
    if (rc != EXIT_VERIFIED) {
        return rc;
    }
    _cleanup_(dga_rim_freep) struct dga_rim *rim = NULL;
    rc = cli_load_rim(file, &rim);
    if (rc == EXIT_VERIFIED) {
        _cleanup_(json_decrefp) json_t *j = rim_json(file, rim);
        rc = cli_print_json(j);
    }
    return rc;
}
