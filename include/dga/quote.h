/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel TDX quotes (DCAP): the quote (v4, v5 with a TD report 1.0 or 1.5
 * body), its collateral (dcap-qvl's QuoteCollateralV3 JSON: CRLs, TCB info,
 * QE identity and their signing chain), and the verification of one against
 * the other at a given time, to the compiled-in Intel SGX Root CA.
 * Formats: docs/formats.md (TDX quote); rules and choices: docs/quote.md.
 * Everything cryptographic is OpenSSL; every input is read through the
 * bounded cursor (binary) or jansson (JSON) with explicit limits.
 *
 * Multi-byte integers of a quote are little-endian. Byte arrays below keep
 * the quote's byte order.
 */
#ifndef DGA_QUOTE_H
#define DGA_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "dga/error.h"
#include "dga/x509.h"

/* ---- Limits ---- */

#define DGA_QUOTE_MAX_LEN (1u << 20)        /* a whole quote, any input form */
#define DGA_QUOTE_PADDING_MAX 4096u         /* zero bytes accepted after the signature data */
#define DGA_QUOTE_COLLATERAL_MAX (1u << 20) /* a QuoteCollateralV3 JSON document */
#define DGA_TCB_ADVISORY_MAX 64             /* advisory ids in one status */
#define DGA_TCB_ADVISORY_LEN 32             /* bytes of one id, NUL included */
#define DGA_TCB_LEVELS_MAX 64               /* levels in a TCB info or identity */
#define DGA_TCB_COMPONENTS_MAX 32           /* components read per level (16 are required) */
#define DGA_TDX_MODULE_IDENTITIES_MAX 16

/* ---- Constants of the format ---- */

#define DGA_QUOTE_HEADER_LEN 48
#define DGA_QUOTE_TD10_LEN 584
#define DGA_QUOTE_TD15_LEN 648
#define DGA_QUOTE_BODY_DESCRIPTOR_LEN 6
#define DGA_QUOTE_TEE_TDX 0x00000081u
#define DGA_QUOTE_TEE_SGX 0x00000000u
#define DGA_QUOTE_KEY_ECDSA_P256 2
#define DGA_QUOTE_BODY_TD10 2 /* v5 body_type */
#define DGA_QUOTE_BODY_TD15 3
#define DGA_QUOTE_CERT_PCK_CHAIN 5 /* inner certification data: PEM chain */
#define DGA_QUOTE_CERT_QE_REPORT 6 /* outer certification data */
#define DGA_QUOTE_QE_AUTH_LEN 32   /* the only QE auth data length accepted */
#define DGA_QUOTE_SIG_LEN 64       /* raw ECDSA P-256 r||s, big-endian */
#define DGA_QUOTE_KEY_LEN 64       /* raw P-256 point X||Y */
#define DGA_SGX_REPORT_LEN 384

/* The Intel QE vendor id 939A7233-F79C-4CA9-940A-0DB3957F0607 as bytes. */
extern const uint8_t dga_quote_intel_qe_vendor_id[16];

/* ---- The quote ---- */

enum dga_quote_body {
    DGA_QUOTE_BODY_IS_TD10, /* TD report 1.0 (v4, or v5 body type 2) */
    DGA_QUOTE_BODY_IS_TD15, /* TD report 1.5 (v5 body type 3) */
};

/* The TD report body. tee_tcb_svn2 and mr_service_td are zero in a TD10 body. */
struct dga_td_report {
    uint8_t tee_tcb_svn[16]; /* [0] module ISVSVN, [1] module major version */
    uint8_t mr_seam[48];
    uint8_t mr_signer_seam[48];
    uint8_t seam_attributes[8];
    uint8_t td_attributes[8];
    uint8_t xfam[8];
    uint8_t mr_td[48];
    uint8_t mr_config_id[48];
    uint8_t mr_owner[48];
    uint8_t mr_owner_config[48];
    uint8_t rt_mr[4][48];
    uint8_t report_data[64];
    uint8_t tee_tcb_svn2[16];  /* TD15 only */
    uint8_t mr_service_td[48]; /* TD15 only */
};

/* An SGX enclave report (384 bytes): here always the quoting enclave's report. */
struct dga_sgx_report {
    uint8_t cpu_svn[16];
    uint32_t misc_select;
    uint8_t attributes[16];
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint8_t report_data[64];
};

/*
 * A parsed TDX quote. The pointers point into the caller's input buffer,
 * which must outlive the struct; nothing is allocated, so there is nothing
 * to free.
 */
struct dga_quote {
    /* header */
    uint16_t version; /* 4 or 5 */
    uint16_t att_key_type;
    uint32_t tee_type;
    uint16_t qe_svn;
    uint16_t pce_svn;
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
    /* body */
    uint16_t body_type; /* v5: from the descriptor; v4: DGA_QUOTE_BODY_TD10 */
    uint32_t body_size; /* v5: from the descriptor; v4: 584 */
    enum dga_quote_body body;
    struct dga_td_report td;
    /* the signed region: header (+ v5 descriptor) + body */
    const uint8_t *signed_data;
    size_t signed_len;
    /* signature data */
    uint32_t sig_data_len;
    uint8_t signature[DGA_QUOTE_SIG_LEN];
    uint8_t att_key[DGA_QUOTE_KEY_LEN];
    uint16_t outer_cert_type; /* always DGA_QUOTE_CERT_QE_REPORT once parsed */
    uint32_t outer_cert_size;
    const uint8_t *qe_report_raw; /* DGA_SGX_REPORT_LEN bytes, the signed QE report */
    struct dga_sgx_report qe_report;
    uint8_t qe_report_signature[DGA_QUOTE_SIG_LEN];
    const uint8_t *qe_auth_data;
    uint16_t qe_auth_len;
    uint16_t inner_cert_type; /* 1..5; only 5 carries the PCK chain */
    const uint8_t *inner_cert_data;
    uint32_t inner_cert_len; /* as the quote states it */
    size_t pem_len;          /* type 5: inner_cert_len without the terminating NUL bytes */
    size_t padding_len;      /* zero bytes after the signature data */
    size_t total_len;
};

/*
 * Parses a binary TDX quote v4 (TD10) or v5 (TD10 or TD15). Strict where
 * Intel's library is strict: attestation key type 2, outer certification
 * type 6, inner type 1..5, a v5 body size that matches its type, QE auth
 * data of 32 bytes, and after the signature data only zero bytes, at most
 * DGA_QUOTE_PADDING_MAX of them. An SGX quote (v3 or TEE type 0) is
 * DGA_E_QUOTE_SGX. Every field that runs past the input is DGA_E_TRUNCATED.
 * The QE vendor id is not checked here (verification does). diag->offset
 * is the byte offset of the failed field.
 */
dga_err dga_quote_parse(const uint8_t *quote, size_t len, struct dga_quote *ret,
                        struct dga_diag *diag);

enum dga_quote_form {
    DGA_QUOTE_FORM_BINARY,
    DGA_QUOTE_FORM_HEX,  /* hex text, optionally 0x-prefixed, surrounding whitespace ok */
    DGA_QUOTE_FORM_JSON, /* a JSON object whose "quote" member is such hex text */
};

/*
 * The quote bytes of an input in any accepted form (dstack's GetQuote JSON,
 * hex text, or binary), at most DGA_QUOTE_MAX_LEN. *ret is malloc'd.
 * DGA_E_QUOTE_INPUT when the form cannot be told or its content is invalid.
 */
dga_err dga_quote_input_decode(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len,
                               enum dga_quote_form *form, struct dga_diag *diag);

/* ---- The PCK certificate's SGX extension (OID 1.2.840.113741.1.13.1) ---- */

struct dga_pck_ext {
    uint8_t ppid[16];
    uint8_t comp_svn[16]; /* the 16 INTEGER components (...13.1.2.1 .. .16) */
    uint16_t pce_svn;
    uint8_t cpu_svn[16]; /* the CPUSVN octet string (...13.1.2.18) */
    uint8_t pce_id[2];
    uint8_t fmspc[6];
    unsigned sgx_type; /* 0 standard, 1 scalable, 2 scalable with integrity */
    bool has_platform_instance_id;
    uint8_t platform_instance_id[16];
    bool processor_ca; /* leaf issued by the PCK Processor CA (else Platform CA) */
};

/*
 * Reads the SGX extension of a PCK leaf certificate as DER (never by
 * offset): PPID, TCB (16 components, PCESVN, CPUSVN), PCE-ID, FMSPC and SGX
 * type are required; an extension present twice, a missing or
 * mis-sized value is DGA_E_PCK_EXTENSION (diag->field names it).
 */
dga_err dga_pck_ext_parse(X509 *leaf, struct dga_pck_ext *ret, struct dga_diag *diag);

/* ---- TCB status ---- */

/* Severity order: a higher value is worse; the merge keeps the worse one. */
enum dga_tcb_status {
    DGA_TCB_UP_TO_DATE,
    DGA_TCB_SW_HARDENING_NEEDED,
    DGA_TCB_CONFIGURATION_NEEDED,
    DGA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    DGA_TCB_OUT_OF_DATE,
    DGA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    DGA_TCB_REVOKED,
};

/* Intel's status string ("UpToDate", ...). */
const char *dga_tcb_status_name(enum dga_tcb_status s);
/* The exact (case-sensitive) status string; anything else is DGA_E_BAD_ARGUMENT. */
dga_err dga_tcb_status_from_name(const char *name, enum dga_tcb_status *ret);

/* A status with its advisory ids, in order, without duplicates. */
struct dga_tcb_result {
    enum dga_tcb_status status;
    size_t n_advisories;
    char advisory_ids[DGA_TCB_ADVISORY_MAX][DGA_TCB_ADVISORY_LEN];
};

/*
 * left := left merged with right: the worse status (left on a tie); the
 * advisory ids of left, then those of right not already present.
 * DGA_E_TOO_LARGE (left untouched) past DGA_TCB_ADVISORY_MAX ids.
 */
dga_err dga_tcb_result_merge(struct dga_tcb_result *left, const struct dga_tcb_result *right);

/*
 * Intel's convergence of the platform status with the QE's or the TDX
 * module's: as dga_tcb_result_merge, except that an OutOfDate other on a
 * ConfigurationNeeded or ConfigurationAndSWHardeningNeeded platform gives
 * OutOfDateConfigurationNeeded (where the worse status alone would say
 * OutOfDate and drop the configuration advice). Verification converges the
 * module status into the platform's, then the QE's into that.
 */
dga_err dga_tcb_result_converge(struct dga_tcb_result *platform,
                                const struct dga_tcb_result *other);

/* ---- TCB info (Intel's signed tcbInfo JSON object) ---- */

struct dga_tcb_level {
    size_t n_sgx;
    uint8_t sgx_svn[DGA_TCB_COMPONENTS_MAX];
    uint16_t pce_svn;
    size_t n_tdx; /* 0 when the level has no tdxtcbcomponents */
    uint8_t tdx_svn[DGA_TCB_COMPONENTS_MAX];
    struct dga_tcb_result result;
};

struct dga_tdx_module_level {
    uint8_t isv_svn;
    struct dga_tcb_result result;
};

struct dga_tdx_module_identity {
    char id[16]; /* "TDX_01", ... */
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    size_t n_levels;
    struct dga_tdx_module_level *levels; /* JSON order */
};

struct dga_tcb_info {
    char id[8]; /* "TDX" or "SGX" */
    unsigned version;
    time_t issue_date;
    time_t next_update;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    uint32_t tcb_type;
    uint32_t tcb_evaluation_data_number;
    bool has_tdx_module;
    uint8_t module_mrsigner[48];
    uint8_t module_attributes[8];
    uint8_t module_attributes_mask[8];
    size_t n_module_identities;
    struct dga_tdx_module_identity *module_identities;
    size_t n_levels;
    struct dga_tcb_level *levels; /* JSON order until dga_tcb_levels_sort */
};

/*
 * Parses the exact signed text of a tcbInfo object. Unknown keys are
 * ignored (Intel adds fields); a known key of the wrong type or length, an
 * unknown status string, more than the limits above is
 * DGA_E_TCB_INFO_MALFORMED with diag->field naming the key.
 */
dga_err dga_tcb_info_parse(const char *json, size_t len, struct dga_tcb_info *ret,
                           struct dga_diag *diag);
/* Frees what the struct owns and zeroes it; NULL is fine. */
void dga_tcb_info_clear(struct dga_tcb_info *t);
/* For _cleanup_ on a struct variable: dga_tcb_info_clear(t). */
static inline void dga_tcb_info_clearp(struct dga_tcb_info *t)
{
    dga_tcb_info_clear(t);
}

/*
 * Stable sort of the levels, best first: descending by the SGX component
 * vector, then PCESVN, then (TDX TCB info, version >= 3) the TDX component
 * vector, each vector compared element by element, a shorter prefix smaller.
 */
void dga_tcb_levels_sort(struct dga_tcb_info *t);

/* ---- QE identity (Intel's signed enclaveIdentity JSON object) ---- */

struct dga_qe_level {
    uint16_t isv_svn;
    struct dga_tcb_result result;
};

struct dga_qe_identity {
    char id[8]; /* "TD_QE" or "QE" */
    unsigned version;
    time_t issue_date;
    time_t next_update;
    uint32_t tcb_evaluation_data_number;
    uint8_t miscselect[4];
    uint8_t miscselect_mask[4];
    uint8_t attributes[16];
    uint8_t attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isv_prod_id;
    size_t n_levels;
    struct dga_qe_level *levels; /* JSON order (never re-sorted) */
};

/* As dga_tcb_info_parse, for enclaveIdentity; DGA_E_QE_IDENTITY_MALFORMED. */
dga_err dga_qe_identity_parse(const char *json, size_t len, struct dga_qe_identity *ret,
                              struct dga_diag *diag);
void dga_qe_identity_clear(struct dga_qe_identity *q);
/* For _cleanup_ on a struct variable: dga_qe_identity_clear(q). */
static inline void dga_qe_identity_clearp(struct dga_qe_identity *q)
{
    dga_qe_identity_clear(q);
}

/* ---- Collateral (dcap-qvl QuoteCollateralV3 JSON) ---- */

/* What dga_quote_collateral_parse prepares once for every verification (lib/quote). */
struct dga_quote_prepared;

/*
 * The collateral as read: strings NUL-terminated and owned; the byte fields
 * (CRLs, signatures) hex-decoded. tcb_info and qe_identity keep the exact
 * signed text (never re-serialized).
 */
struct dga_quote_collateral {
    char *pck_crl_issuer_chain; /* carried, never used for verification */
    uint8_t *root_ca_crl;
    size_t root_ca_crl_len;
    uint8_t *pck_crl;
    size_t pck_crl_len;
    char *tcb_info_issuer_chain;
    char *tcb_info;
    size_t tcb_info_len;
    uint8_t tcb_info_signature[DGA_QUOTE_SIG_LEN];
    char *qe_identity_issuer_chain;
    char *qe_identity;
    size_t qe_identity_len;
    uint8_t qe_identity_signature[DGA_QUOTE_SIG_LEN];
    char *pck_certificate_chain; /* NULL when absent */
    /*
     * Owned; set by dga_quote_collateral_parse: the members above decoded
     * (CRLs, chains, the two JSON documents) and the checks that depend on
     * them alone (the TCB info and QE identity signatures), with a copy of
     * the bytes they were made from. Verification uses it only while every
     * member still has those exact bytes, and otherwise (or when NULL, as in
     * a struct filled by hand) prepares afresh for that call. Every check
     * that depends on the time or the quote runs at each verification.
     */
    struct dga_quote_prepared *prepared;
};

/*
 * Parses QuoteCollateralV3 JSON (at most DGA_QUOTE_COLLATERAL_MAX bytes):
 * the nine required members and the optional pck_certificate_chain; byte
 * fields as hex strings (or, as dcap-qvl's JS port accepts, arrays of
 * bytes). Unknown members are ignored. DGA_E_QUOTE_COLLATERAL with
 * diag->field naming the member. Then prepares ret->prepared: a member that
 * does not decode or verify is not an error here; dga_quote_verify reports
 * it at its step, exactly as it would without the preparation. A parsed
 * collateral may be verified against from several threads at once.
 */
dga_err dga_quote_collateral_parse(const char *json, size_t len, struct dga_quote_collateral *ret,
                                   struct dga_diag *diag);
/* Frees what the struct owns and zeroes it; NULL is fine. */
void dga_quote_collateral_clear(struct dga_quote_collateral *c);
/* For _cleanup_ on a struct variable: dga_quote_collateral_clear(c). */
static inline void dga_quote_collateral_clearp(struct dga_quote_collateral *c)
{
    dga_quote_collateral_clear(c);
}

/* ---- Policy pieces (pure functions, one per rule; verification calls them in order) ---- */

/*
 * Platform TCB level for the PCK's values (and, for TDX, the quote's
 * TEE_TCB_SVN; NULL for SGX): the first level of the sorted list with
 * PCESVN and every CPUSVN (and all 16 TDX) components at or above the
 * level's. A level without 16 SGX (or, for TDX, 16 TDX) components is
 * DGA_E_TCB_COMPONENTS; none matching DGA_E_TCB_NO_LEVEL. The FMSPC, the
 * PCE-ID (Intel's QVL rule) and the TCB info id/version are checked here
 * too (DGA_E_FMSPC_MISMATCH, DGA_E_PCE_ID_MISMATCH, DGA_E_TCB_INFO_TEE).
 */
dga_err dga_tcb_match_platform(const struct dga_tcb_info *t, const struct dga_pck_ext *pck,
                               const uint8_t *tee_tcb_svn, struct dga_tcb_result *ret);

/*
 * TDX module identity: mr_signer_seam and seam_attributes against tdxModule
 * or the TDX_<major> identity, and that identity's level for the module
 * ISVSVN. *applied is false when no identity level applies (major version
 * 0, or no identities listed); then *ret is untouched.
 */
dga_err dga_tcb_match_tdx_module(const struct dga_tcb_info *t, const struct dga_td_report *td,
                                 bool *applied, struct dga_tcb_result *ret);

/*
 * QE identity policy on the QE report: MRSIGNER, not debug, ISVPRODID,
 * masked MISCSELECT and ATTRIBUTES, then the first level (JSON order) the
 * ISVSVN reaches. tdx selects which identity (TD_QE v2/v3 or QE v2) is
 * acceptable (DGA_E_QE_IDENTITY_TEE).
 */
dga_err dga_qe_identity_match(const struct dga_qe_identity *q, const struct dga_sgx_report *qe,
                              bool tdx, struct dga_tcb_result *ret);

/*
 * TD attribute rules: DEBUG (bit 0) refused unless allow_debug; reserved
 * bits (1-27, 29, 32-62) refused; SEPT_VE_DISABLE (bit 28) required; for
 * TD15 mr_service_td must be zero unless allow_service_td.
 */
dga_err dga_td_attributes_check(const struct dga_quote *q, bool allow_debug, bool allow_service_td);

/* ---- Verification ---- */

/* The compiled-in Intel SGX Root CA (SHA-256 of its DER 44a0196b...74d3). */
dga_err dga_trust_intel_sgx_root(struct dga_trust *ret);

struct dga_quote_verify_opts {
    time_t at;                    /* the verification time; the library never reads a clock */
    const struct dga_trust *root; /* NULL: the compiled-in Intel SGX Root CA */
    bool allow_debug;             /* accept a debug TD */
    bool allow_service_td;        /* accept a non-zero mr_service_td */
};

struct dga_quote_verdict {
    struct dga_tcb_result status;   /* platform merged with QE: the final status */
    struct dga_tcb_result platform; /* TCB level merged with the module identity level */
    struct dga_tcb_result qe;       /* QE identity level */
    struct dga_pck_ext pck;
    bool custom_root; /* verified to a root other than the compiled-in Intel root */
};

/*
 * Verifies a parsed quote against its collateral at opts->at, in the order
 * docs/quote.md gives (root CRL, header, TCB info, QE identity, PCK chain,
 * QE report signature and data, QE identity policy, quote signature,
 * platform TCB and module identity, merge, Revoked, TD attributes). The
 * first failed check returns its named error, with diag->field naming the
 * input (a collateral member or a quote field). A non-UpToDate status other
 * than Revoked is success: the caller decides.
 */
dga_err dga_quote_verify(const struct dga_quote *q, const struct dga_quote_collateral *c,
                         const struct dga_quote_verify_opts *opts, struct dga_quote_verdict *ret,
                         struct dga_diag *diag);

#endif
