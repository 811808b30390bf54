/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Measurement appraisal: a report's measurement blocks against the golden
 * values of its RIMs (docs/formats.md §9). RIM index i is compared with
 * SPDM block i+1; any alternative may match; mismatches are recorded as
 * NVIDIA records them.
 */
#ifndef DGA_APPRAISE_H
#define DGA_APPRAISE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "dga/collateral.h"
#include "dga/evidence.h"
#include "dga/ocsp.h"
#include "dga/rim.h"
#include "dga/topology.h"
#include "dga/verify.h"

enum dga_measurement_source {
    DGA_SOURCE_DRIVER,   /* "Driver" */
    DGA_SOURCE_FIRMWARE, /* "Firmware": GPU VBIOS and NVSwitch BIOS */
};

struct dga_mismatch {
    unsigned index; /* RIM index */
    enum dga_measurement_source source;
    unsigned golden_size;
    uint8_t golden[DGA_DIGEST_LEN]; /* Hash0, even when other alternatives exist */
    unsigned runtime_size;          /* 0 when the report has no block index+1 */
    uint8_t runtime[DGA_DIGEST_LEN];
};

#define DGA_MAX_MISMATCHES (2 * DGA_RIM_MAX_MEASUREMENTS)

struct dga_measure_result {
    size_t n_golden;     /* active golden measurements over both RIMs */
    size_t n_compared;   /* n_golden minus the skipped ones */
    bool skipped_nvdec0; /* RIM index 35 skipped because NVDEC0 is disabled (GPU) */
    size_t n_mismatches;
    struct dga_mismatch mismatches[DGA_MAX_MISMATCHES]; /* driver first, then firmware */
};

/*
 * Compares the report with its RIMs: for a GPU, driver and firmware = the
 * VBIOS RIM (driver NULL compares the VBIOS RIM alone, for diagnosis); for an
 * NVSwitch, driver = NULL and firmware = the BIOS RIM. An index active in both GPU RIMs is
 * DGA_E_RIM_CONFLICT (ret-> n_golden etc. are then not meaningful). A GPU without NVDEC0 status is
 * DGA_E_MISSING_TLV. Mismatches are not an error: ret->n_mismatches says.
 */
dga_err dga_measure_compare(const struct dga_report *r, const struct dga_derived *d,
                            const struct dga_rim *driver, const struct dga_rim *firmware,
                            struct dga_measure_result *ret);

/* x-nvidia-mismatch-measurement-records: null when there is no mismatch. New reference. */
json_t *dga_mismatch_records_json(const struct dga_measure_result *m);

/* ---- full offline appraisal of one device ---- */

/* The RIM used for one role (driver, or VBIOS/BIOS), chosen among the store's issues. */
struct dga_rim_use {
    bool wanted; /* this device needs a RIM in this role */
    char id[DGA_RIM_ID_MAX];
    bool fetched; /* the store holds at least one document */
    size_t n_candidates;
    dga_err err; /* why the chosen document is not usable; DGA_E_OK if it is */
    struct dga_diag diag;
    bool version_match, chain_verified, signature_verified, time_valid;
    struct dga_chain_info chain;       /* valid when chain_verified */
    uint8_t sha256[32];                /* of the chosen document */
    struct dga_rim *rim;               /* the chosen document, NULL if none parsed */
    bool rim_borrowed;                 /* rim belongs to a dga_verify_cache, not to this use */
    struct dga_ocsp_chain_result ocsp; /* revocation of the signer chain (docs/revocation.md) */
};

/*
 * A verification cache, owned by the caller: RIM documents (keyed by the
 * SHA-256 of their bytes: parsed once, chain and XML signature verified
 * once), device and RIM chain suffixes (dga_device_chain_verify_cached) and
 * decoded certificates, so that GPUs of one model sharing RIMs and CAs cost
 * one report signature and two chain signatures each after the first, in
 * one run or across a server's requests. Bound to one RIM root: an
 * appraisal with another is DGA_E_BAD_ARGUMENT (failed check "options").
 * Time-free: it keeps nothing that depends on the verification time (a RIM
 * chain's validity window is kept and read at each appraisal's verify.at),
 * so appraisals at any times may share it and get exactly what an uncached
 * appraisal at their time gets. Thread-safe: concurrent dga_appraise_device
 * and dga_appraise_set calls may share it. Bounded: at most 256 RIM
 * documents, 16 chain suffixes, 1024 whole chains, 256 shared and 1024
 * per-device certificates (dga/x509.h), never evicted while the cache
 * lives; past that it stops remembering (those verify per use).
 * Appraisals made with it borrow its RIMs: free them (dga_appraisal_clear)
 * before the cache.
 */
struct dga_verify_cache;
dga_err dga_verify_cache_new(const struct dga_trust *rim_trust, struct dga_verify_cache **ret);
/* Frees c and everything it holds; NULL is fine. */
void dga_verify_cache_free(struct dga_verify_cache *c);
/* For _cleanup_: dga_verify_cache_free(*p), then *p = NULL. */
static inline void dga_verify_cache_freep(struct dga_verify_cache **p)
{
    dga_verify_cache_free(*p);
    *p = NULL;
}

/*
 * The one RIM document a role may use: its id and the SHA-256 of its bytes
 * (the re-appraisal of an evidence bundle uses the documents the bundle names,
 * never another issue of the same id that a store happens to hold).
 */
struct dga_rim_pin {
    bool set;
    char id[DGA_RIM_ID_MAX];
    uint8_t sha256[32];
};

struct dga_rim_pins {
    struct dga_rim_pin driver;   /* GPUs */
    struct dga_rim_pin firmware; /* VBIOS (GPU) or BIOS (NVSwitch) */
};

/*
 * The mode a set of devices must be in (dga_appraise_set; docs/ppcie.md,
 * "The set appraisal's mode"). Checked after every device is appraised; a
 * refusal is a hard failure of the set.
 */
enum dga_set_mode {
    DGA_SET_MODE_ANY,   /* no mode rule: nvattest's attest takes CC and PPCIe GPUs alike */
    DGA_SET_MODE_CC,    /* single-GPU CC: a GPU whose signed evidence says PPCIe, or any NVSwitch,
                           is refused */
    DGA_SET_MODE_PPCIE, /* protected PCIe: the topology check over the set's GPUs and NVSwitches */
};

/* "any", "cc", "ppcie" ("unknown" outside the enum). */
const char *dga_set_mode_name(enum dga_set_mode m);
/* The inverse, exact and lowercase; DGA_E_BAD_ARGUMENT otherwise. */
dga_err dga_set_mode_parse(const char *s, enum dga_set_mode *ret);

struct dga_appraise_options {
    struct dga_verify_options verify;  /* nonce, verification time, device root */
    const struct dga_trust *rim_trust; /* CoRIM root */
    const char *rim_dir;               /* filesystem RIM store */
    struct dga_verify_cache *cache;    /* optional: NULL verifies everything per device */
    /*
     * Revocation: where OCSP responses come from (dga/collateral.h). NULL or
     * mode off: not checked, every chain claims "not-checked". Otherwise the
     * device chain (certificates 3, 2, 1) and each RIM signer chain (2, 1, 0)
     * are checked at verify.at against their own roots.
     */
    const struct dga_ocsp_source *ocsp;
    /*
     * Optional RIM pins: NULL lets every issue of an id in the store compete
     * (above). Otherwise only the store's issue whose bytes have the pinned
     * SHA-256 is a candidate, and a role that is not pinned, pinned to another
     * id, or whose pinned document the store lacks is DGA_E_RIM_PINNED_ABSENT.
     * dga_appraise_device reads rim_pins[0]; dga_appraise_set reads
     * rim_pins[i] for device i. n_rim_pins is the array's length: fewer than
     * the devices is DGA_E_BAD_ARGUMENT (failed check "options").
     */
    const struct dga_rim_pins *rim_pins;
    size_t n_rim_pins;
    /*
     * Threads dga_appraise_set appraises the devices of a set with. Each
     * device's report is parsed first; then its three parts (the report's
     * chain and signature, the driver RIM, the VBIOS or BIOS RIM, each with
     * its OCSP) are the units of work, so one GPU can use three threads.
     * 0 (DGA_APPRAISE_JOBS_AUTO) the online CPUs; always capped at three
     * per device and at DGA_APPRAISE_MAX_JOBS. 1 is the serial path: no
     * thread is created. The output is the same for every value (each
     * device's parts are combined in the serial order, and what must stay
     * ordered across devices is done after them, in evidence order), and
     * with a cache every signature is still verified once per run.
     * dga_appraise_device ignores it.
     */
    unsigned jobs;
    /*
     * The set's mode rule (dga_appraise_set; dga_appraise_device ignores
     * both). Zeroed options are DGA_SET_MODE_ANY, today's behaviour.
     */
    enum dga_set_mode mode;
    /*
     * PPCIe: the expected counts, gpu_pdi_in_cert and require_tnvl. Its
     * nonce is ignored: dga_appraise_set takes verify.nonce.
     */
    struct dga_topology_options topology;
};

#define DGA_APPRAISE_JOBS_AUTO 0u
#define DGA_APPRAISE_MAX_JOBS 64u

/* The threads dga_appraise_set uses for n work items (3 per device) with jobs (above): 1..64. */
unsigned dga_appraise_jobs(unsigned jobs, size_t n);

/*
 * The check that failed a device (the first hard failure). Output names it
 * by dga_appraisal_check_name, a stable table: "report-parse", "cert-chain",
 * "signature", "nonce", "fwid", "cert-validity" (the report-level checks,
 * as dga_check_name), "options", "driver-rim", "vbios-rim", "bios-rim",
 * "measurements", and for a certificate whose OCSP response could not be
 * obtained "ocsp-device-chain", "ocsp-driver-rim-chain",
 * "ocsp-vbios-rim-chain" or "ocsp-bios-rim-chain". Never compare names:
 * switch on the value (dga_appraisal_failed_rim, dga_appraisal_ocsp_failure).
 */
enum dga_appraisal_check {
    DGA_APPRAISAL_CHECK_NONE, /* no hard failure */
    DGA_APPRAISAL_CHECK_OPTIONS,
    DGA_APPRAISAL_CHECK_REPORT_PARSE,
    DGA_APPRAISAL_CHECK_CERT_CHAIN,
    DGA_APPRAISAL_CHECK_SIGNATURE,
    DGA_APPRAISAL_CHECK_NONCE,
    DGA_APPRAISAL_CHECK_FWID,
    DGA_APPRAISAL_CHECK_CERT_VALIDITY,
    DGA_APPRAISAL_CHECK_OCSP_DEVICE_CHAIN,
    DGA_APPRAISAL_CHECK_DRIVER_RIM,
    DGA_APPRAISAL_CHECK_VBIOS_RIM, /* GPU */
    DGA_APPRAISAL_CHECK_BIOS_RIM,  /* NVSwitch */
    DGA_APPRAISAL_CHECK_OCSP_DRIVER_RIM_CHAIN,
    DGA_APPRAISAL_CHECK_OCSP_VBIOS_RIM_CHAIN,
    DGA_APPRAISAL_CHECK_OCSP_BIOS_RIM_CHAIN,
    DGA_APPRAISAL_CHECK_MEASUREMENTS,
    DGA_APPRAISAL_CHECK__COUNT
};

/* The check's stable name (above); "unknown" outside the enum. */
const char *dga_appraisal_check_name(enum dga_appraisal_check c);

struct dga_appraisal {
    struct dga_device_result report; /* report-level checks (label, arch, ...) */
    struct dga_rim_use driver;       /* GPUs only */
    struct dga_rim_use firmware;     /* VBIOS (GPU) or BIOS (NVSwitch) */
    bool measured;                   /* the comparison ran */
    dga_err measure_err;             /* e.g. DGA_E_RIM_CONFLICT */
    struct dga_measure_result measure;
    struct dga_ocsp_chain_result ocsp; /* revocation of the device identity chain */
    dga_err err; /* first hard failure: report, RIM, or comparison; DGA_E_OK otherwise */
    /* Which check that was; NONE when err is DGA_E_OK (dga_appraisal_ocsp_failure names the
     * certificate). */
    enum dga_appraisal_check failed_check;
};

/*
 * Appraises one device offline: the report-level checks, then each RIM from
 * the store (every issue of the id is tried: the first whose chain,
 * signature and version are sound, is valid at the verification time and
 * matches this report wins; failing that the first sound one), then the
 * measurement comparison; with opt->ocsp, the revocation of each verified
 * chain. Expired RIM signers, measurement mismatches and OCSP answers
 * (revoked, unknown, invalid) are not hard failures: they are claims for the
 * policy. A certificate for which no OCSP response can be obtained is. Always fills *ret (free
 * with dga_appraisal_clear) and returns ret->err.
 */
dga_err dga_appraise_device(const struct dga_device_evidence *ev,
                            const struct dga_appraise_options *opt, struct dga_appraisal *ret);
/*
 * Frees what *a holds, not a itself (the caller's), and leaves it zeroed:
 * clearing twice is harmless. NULL is fine.
 */
void dga_appraisal_clear(struct dga_appraisal *a);
/* For _cleanup_ on a struct variable: dga_appraisal_clear(a). */
static inline void dga_appraisal_clearp(struct dga_appraisal *a)
{
    dga_appraisal_clear(a);
}

/*
 * The chain whose OCSP response could not be obtained when the device failed
 * for that reason (failed_check DGA_APPRAISAL_CHECK_OCSP_*), else NULL; its
 * certs[failed].subject names the certificate.
 */
const struct dga_ocsp_chain_result *dga_appraisal_ocsp_failure(const struct dga_appraisal *a);

/*
 * The RIM the device's hard failure is about: &a->driver for the driver RIM
 * or its signer chain's OCSP, &a->firmware for the VBIOS / BIOS RIM or its
 * chain's OCSP, else (or when the device did not fail) NULL.
 */
const struct dga_rim_use *dga_appraisal_failed_rim(const struct dga_appraisal *a);

/*
 * The device's hard failure as "<check>: <error>: <message>", followed by
 * ": certificate <n> \"<subject>\"" when an OCSP response for that certificate
 * could not be used, or ": <RIM id>" when the failure is about a RIM; "" when
 * the device did not fail. The caller puts the device's name in front.
 */
void dga_appraisal_failure_text(const struct dga_appraisal *a, char *out, size_t size);

/* The label's role name: "driver-rim", "vbios-rim" or "bios-rim". */
const char *dga_rim_role(const struct dga_appraisal *a, const struct dga_rim_use *u);

/*
 * A certificate chain's x-nvidia-cert-status: INVALID when it did not verify,
 * else VALID or EXPIRED (outside its validity at the verification time, not
 * yet valid included, as NVIDIA's claim has no other word). Stable names for
 * output: "invalid", "valid", "expired".
 */
enum dga_cert_status {
    DGA_CERT_STATUS_INVALID,
    DGA_CERT_STATUS_VALID,
    DGA_CERT_STATUS_EXPIRED,
};
enum dga_cert_status dga_cert_status_of(bool verified, bool time_valid);
/* The status's stable name (above); "unknown" outside the enum. */
const char *dga_cert_status_name(enum dga_cert_status s);

/* Full claims v3 for one appraised device (GPU or NVSwitch key names). New reference. */
json_t *dga_claims_device(const struct dga_appraisal *a);

/*
 * nvattest's result code and message for the device's hard failure (0/"Ok"
 * when there is none), as libnvat numbers them: 504 nonce mismatch, 508
 * report signature, 802 chain, 104 RIM not found, 105 RIM signature, 505/506
 * driver/VBIOS RIM version, 108 conflict, ...; NVSwitch codes where they differ.
 */
int dga_appraisal_result_code(const struct dga_appraisal *a, const char **ret_message);

#endif
