/* SPDX-License-Identifier: Apache-2.0 */
/* What the measure layer's files share: the backend object and its register operations. */
#ifndef DGA_MEASURE_INTERNAL_H
#define DGA_MEASURE_INTERNAL_H

#include <stdint.h>

#include "dga/measure.h"

enum backend_kind { BACKEND_SIM, BACKEND_TDX, BACKEND_TPM };

struct dga_event_backend {
    enum backend_kind kind;
    enum dga_hash_alg alg;
    uint32_t pcr;   /* tpm */
    char *sim_path; /* sim */
    char *log_dir;  /* log and version file */
    char *lock_path;
    char *tdx_sysfs_dir; /* resolved at open: argument, environment or default */
    char *tdx_device;
    char *tpm_tcti; /* NULL: the TSS's default search */
};

/* Each backend extends its register with a digest of dga_hash_len(b->alg) bytes. */
dga_err sim_extend(const struct dga_event_backend *b, const uint8_t *digest, struct dga_diag *diag);
dga_err sim_read(const struct dga_event_backend *b, uint8_t *out, struct dga_diag *diag);
dga_err tdx_extend(const struct dga_event_backend *b, const uint8_t *digest, struct dga_diag *diag);
dga_err tpm_extend(const struct dga_event_backend *b, const uint8_t *digest, struct dga_diag *diag);
dga_err tpm_read(const struct dga_event_backend *b, uint8_t *out, struct dga_diag *diag);

/* An errno from a register write as a named error. */
dga_err register_errno(int err);

/* EVP digest of one buffer; false only on an OpenSSL failure. */
int measure_hash(enum dga_hash_alg alg, const uint8_t *in, size_t len, uint8_t *out);

#endif
