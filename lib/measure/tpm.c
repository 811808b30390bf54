/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A TPM PCR through tpm2-tss ESYS: TPM2_PCR_Extend with one digest in the
 * configured bank (dstack: PCR14 SHA-256 on GCP TDX, PCR14 SHA-384 on AWS
 * Nitro TPM), TPM2_PCR_Read for the current value. The context is opened for
 * each operation and closed after it, so nothing is held between events.
 *
 * Errors: no TCTI/TPM -> DGA_E_REGISTER_UNAVAILABLE; an authorization or
 * locality refusal -> DGA_E_REGISTER_PERMISSION; anything else the TPM says
 * -> DGA_E_REGISTER_EXTEND. diag->offset carries the TSS2_RC. tpm2-tss logs
 * on its own according to TSS2_LOG (the CLI silences it unless set).
 * tpm2-tss is loaded on the first operation (tss_api.h), not linked: a
 * missing library is DGA_E_RUNTIME_LIBRARY, diag->field naming the file.
 */
#include <string.h>

#include "measure/internal.h"
#include "measure/tss_api.h"

struct tpm {
    const struct tss_api *api;
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
};

static void tpm_close(struct tpm *t)
{
    if (t->esys != NULL) {
        t->api->esys_finalize(&t->esys);
    }
    if (t->tcti != NULL) {
        t->api->tctildr_finalize(&t->tcti);
    }
}

/* A NULL TCTI config lets ESYS search its defaults (tabrmd, /dev/tpmrm0, /dev/tpm0, mssim). */
static dga_err tpm_open(const struct dga_event_backend *b, struct tpm *t, struct dga_diag *diag)
{
    TSS2_RC rc;
    memset(t, 0, sizeof *t);
    dga_err e = tss_api_load(&t->api, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    if (b->tpm_tcti != NULL) {
        rc = t->api->tctildr_initialize(b->tpm_tcti, &t->tcti);
        if (rc != TSS2_RC_SUCCESS) {
            return dga_diag_set(diag, DGA_E_REGISTER_UNAVAILABLE, rc, "tpm tcti");
        }
    }
    rc = t->api->esys_initialize(&t->esys, t->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        tpm_close(t);
        return dga_diag_set(diag, DGA_E_REGISTER_UNAVAILABLE, rc, "tpm");
    }
    return DGA_E_OK;
}

static TPMI_ALG_HASH bank_alg(enum dga_hash_alg alg)
{
    return alg == DGA_HASH_SHA256 ? TPM2_ALG_SHA256 : TPM2_ALG_SHA384;
}

static dga_err map_rc(TSS2_RC rc, struct dga_diag *diag)
{
    TSS2_RC code = rc & 0xfffu; /* the TPM's own code, without the layer */
    bool refused = code == TPM2_RC_LOCALITY || (code & 0x0bfu) == (TPM2_RC_AUTH_FAIL & 0x0bfu) ||
                   (code & 0x0bfu) == (TPM2_RC_BAD_AUTH & 0x0bfu);
    if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER) {
        return dga_diag_set(diag, DGA_E_REGISTER_UNAVAILABLE, rc, "tpm tcti");
    }
    return dga_diag_set(diag, refused ? DGA_E_REGISTER_PERMISSION : DGA_E_REGISTER_EXTEND, rc,
                        "tpm");
}

dga_err tpm_extend(const struct dga_event_backend *b, const uint8_t *digest, struct dga_diag *diag)
{
    struct tpm t;
    dga_err e = tpm_open(b, &t, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    TPML_DIGEST_VALUES values;
    memset(&values, 0, sizeof values);
    values.count = 1;
    values.digests[0].hashAlg = bank_alg(b->alg);
    memcpy(&values.digests[0].digest, digest, dga_hash_len(b->alg));
    TSS2_RC rc = t.api->esys_pcr_extend(t.esys, (ESYS_TR)(ESYS_TR_PCR0 + b->pcr), ESYS_TR_PASSWORD,
                                        ESYS_TR_NONE, ESYS_TR_NONE, &values);
    tpm_close(&t);
    return rc == TSS2_RC_SUCCESS ? DGA_E_OK : map_rc(rc, diag);
}

dga_err tpm_read(const struct dga_event_backend *b, uint8_t *out, struct dga_diag *diag)
{
    struct tpm t;
    dga_err e = tpm_open(b, &t, diag);
    if (e != DGA_E_OK) {
        return e;
    }
    TPML_PCR_SELECTION sel;
    memset(&sel, 0, sizeof sel);
    sel.count = 1;
    sel.pcrSelections[0].hash = bank_alg(b->alg);
    sel.pcrSelections[0].sizeofSelect = 3;
    sel.pcrSelections[0].pcrSelect[b->pcr / 8] = (BYTE)(1u << (b->pcr % 8));
    UINT32 counter = 0;
    TPML_PCR_SELECTION *sel_out = NULL;
    TPML_DIGEST *values = NULL;
    TSS2_RC rc = t.api->esys_pcr_read(t.esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel,
                                      &counter, &sel_out, &values);
    tpm_close(&t);
    if (rc != TSS2_RC_SUCCESS) {
        return map_rc(rc, diag);
    }
    size_t n = dga_hash_len(b->alg);
    bool ok = values != NULL && values->count == 1 && values->digests[0].size == n;
    if (ok) {
        memcpy(out, values->digests[0].buffer, n);
    }
    t.api->esys_free(sel_out);
    t.api->esys_free(values);
    return ok ? DGA_E_OK : dga_diag_set(diag, DGA_E_REGISTER_EXTEND, 0, "tpm pcr read");
}
