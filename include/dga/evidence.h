/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GPU and NVSwitch attestation reports (SPDM 1.1 GET_MEASUREMENTS request ||
 * MEASUREMENTS response || 96-byte signature) and the containers they travel
 * in. Layout: docs/formats.md §1-5; rules: docs/evidence.md. This layer
 * parses and derives; it does no cryptography and no I/O.
 */
#ifndef DGA_EVIDENCE_H
#define DGA_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "dga/error.h"

enum dga_arch {
    DGA_ARCH_HOPPER,
    DGA_ARCH_BLACKWELL,
    DGA_ARCH_LS10,
};

/* "hopper", "blackwell", "ls10" */
const char *dga_arch_name(enum dga_arch a);
/* Case-insensitive: HOPPER, BLACKWELL, LS10. DGA_E_BAD_ARCH otherwise. */
dga_err dga_arch_parse(const char *s, enum dga_arch *ret);
static inline bool dga_arch_is_switch(enum dga_arch a)
{
    return a == DGA_ARCH_LS10;
}

#define DGA_NONCE_LEN 32
#define DGA_SIGNATURE_LEN 96
#define DGA_DIGEST_LEN 48
#define DGA_REQUEST_LEN 37
#define DGA_REPORT_MAX 0x2000 /* NVML's report buffer */
/* request + response header + responder nonce + OpaqueLength + signature */
#define DGA_REPORT_MIN (DGA_REQUEST_LEN + 8 + 32 + 2 + DGA_SIGNATURE_LEN)

/* Opaque-data TLV ids (NVIDIA's numbering, shared by GPU and NVSwitch). */
enum dga_tlv_id {
    DGA_TLV_CERT_ISSUER_NAME = 1,
    DGA_TLV_CERT_AUTHORITY_KEY_IDENTIFIER = 2,
    DGA_TLV_DRIVER_VERSION = 3,
    DGA_TLV_GPU_INFO = 4,
    DGA_TLV_SKU = 5,
    DGA_TLV_VBIOS_VERSION = 6,
    DGA_TLV_MANUFACTURER_ID = 7,
    DGA_TLV_TAMPER_DETECTION = 8,
    DGA_TLV_SMC = 9,
    DGA_TLV_VPR = 10,
    DGA_TLV_NVDEC0_STATUS = 11,
    DGA_TLV_MSRSCNT = 12,
    DGA_TLV_CPRINFO = 13,
    DGA_TLV_BOARD_ID = 14,
    DGA_TLV_CHIP_SKU = 15,
    DGA_TLV_CHIP_SKU_MOD = 16,
    DGA_TLV_PROJECT = 17,
    DGA_TLV_PROJECT_SKU = 18,
    DGA_TLV_PROJECT_SKU_MOD = 19,
    DGA_TLV_FWID = 20,
    DGA_TLV_PROTECTED_PCIE_STATUS = 21,
    DGA_TLV_SWITCH_PDI = 22, /* GPU: NVLink switch PDIs; NVSwitch: its own DEVICE_PDI */
    DGA_TLV_FLOORSWEPT_PORTS = 23,
    DGA_TLV_POSITION_ID = 24,
    DGA_TLV_LOCK_SWITCH_STATUS = 25,
    DGA_TLV_SWITCH_GPU_PDIS = 26,
    DGA_TLV_SWITCH_PORTS = 27,
    DGA_TLV_GPU_LINK_CONN = 32,
    DGA_TLV_SYS_ENABLE_STATUS = 33,
    DGA_TLV_OPAQUE_DATA_VERSION = 34,
    DGA_TLV_CHIP_INFO = 35,
    DGA_TLV_FEATURE_FLAG = 36,
    DGA_TLV_MAX_KNOWN = 36,
};

/* NVIDIA's name for a TLV id on this kind of device ("OPAQUE_FIELD_ID_..."), NULL if unknown. */
const char *dga_tlv_name(enum dga_arch arch, unsigned id);

struct dga_tlv {
    uint16_t type;
    uint16_t len;
    size_t offset; /* of the TLV header within the report */
    const uint8_t *data;
};

#define DGA_MAX_UNKNOWN_TLVS 32

struct dga_opaque {
    bool present[DGA_TLV_MAX_KNOWN + 1];
    struct dga_tlv known[DGA_TLV_MAX_KNOWN + 1];
    /* Fields with ids this verifier does not know: kept in wire order and reported. */
    struct dga_tlv unknown[DGA_MAX_UNKNOWN_TLVS];
    size_t n_unknown;
    uint64_t version; /* OPAQUE_DATA_VERSION, 0 when absent */
};

struct dga_block {
    uint8_t index; /* 1-based; RIM index = index - 1 */
    uint8_t spec;
    uint16_t size;
    uint8_t value_type;
    uint16_t value_size;
    uint8_t value[DGA_DIGEST_LEN];
};

#define DGA_MAX_BLOCKS 255

struct dga_report {
    enum dga_arch arch;
    const uint8_t *bytes; /* the caller's buffer; must outlive the report */
    size_t len;
    /* GET_MEASUREMENTS request */
    uint8_t req_version, req_code, req_param1, req_param2, req_slot;
    uint8_t nonce[DGA_NONCE_LEN];
    /* MEASUREMENTS response */
    uint8_t resp_version, resp_code, resp_param1, resp_param2;
    uint8_t n_blocks;
    uint32_t record_len;
    struct dga_block blocks[DGA_MAX_BLOCKS]; /* in wire order */
    uint8_t responder_nonce[DGA_NONCE_LEN];
    uint16_t opaque_len;
    size_t opaque_offset;
    struct dga_opaque opaque;
    size_t signed_len; /* = len - 96 */
    uint8_t signature[DGA_SIGNATURE_LEN];
};

/*
 * Parses a report strictly (docs/evidence.md). On failure returns the
 * named error and fills *diag (if given) with the offset and field. *ret is
 * only meaningful on success; it points into `bytes`.
 */
dga_err dga_report_parse(const uint8_t *bytes, size_t len, enum dga_arch arch,
                         struct dga_report *ret, struct dga_diag *diag);

/*
 * For reports of unknown origin (inspect): parses as a GPU report and calls it
 * ls10 when the VBIOS field is ASCII text rather than the 8-byte GPU form.
 * Blackwell cannot be told from Hopper by the report alone; hopper is returned.
 */
dga_err dga_report_guess_arch(const uint8_t *bytes, size_t len, enum dga_arch *ret);

/* Block with 1-based index k, or NULL. */
const struct dga_block *dga_report_block(const struct dga_report *r, unsigned k);

/* Values derived from the opaque data (docs/formats.md §5). */
enum dga_gpu_mode {
    DGA_MODE_NONE,    /* opaque version 0: no feature flag */
    DGA_MODE_MPT,     /* 0 */
    DGA_MODE_SPT,     /* 1 */
    DGA_MODE_PPCIE,   /* 2 */
    DGA_MODE_INVALID, /* anything else */
};
const char *dga_gpu_mode_name(enum dga_gpu_mode m);

#define DGA_MAX_PDIS 64
#define DGA_VERSION_MAX 64
#define DGA_RIM_ID_MAX 128

struct dga_derived {
    char driver_version[DGA_VERSION_MAX]; /* "" for NVSwitch */
    char vbios_version[DGA_VERSION_MAX];  /* GPU VBIOS or NVSwitch BIOS */
    char driver_rim_id[DGA_RIM_ID_MAX];   /* "" for NVSwitch */
    char vbios_rim_id[DGA_RIM_ID_MAX];    /* VBIOS or switch BIOS RIM id */
    bool has_fwid;
    uint8_t fwid[DGA_DIGEST_LEN];
    int nvdec0_enabled; /* 1 enabled (0xAA), 0 disabled (0x55), -1 absent */
    int protected_pcie; /* 1 (0xAA), 0 (0x55), -1 absent */
    bool has_feature_flag;
    uint64_t feature_flag;
    enum dga_gpu_mode mode;
    /* GPU: x-nvidia-gpu-switch-pdis (reversed, sorted, unique). NVSwitch: attached GPU PDIs. */
    size_t n_pdis;
    char pdis[DGA_MAX_PDIS][17];
    bool has_pdis;
    bool has_own_pdi; /* NVSwitch only: x-nvidia-switch-pdi */
    char own_pdi[17];
};

/*
 * Derives versions, RIM ids, FWID, mode and PDIs. Fails with
 * DGA_E_MISSING_TLV / DGA_E_TLV_SIZE / DGA_E_TLV_VALUE naming the field.
 */
dga_err dga_report_derive(const struct dga_report *r, struct dga_derived *ret,
                          struct dga_diag *diag);

/*
 * The decoded report as JSON: "request" and "response" use NVIDIA's field
 * names and value formats (so that they compare with NVIDIA's expected
 * parses), "opaque_unknown" lists unknown fields, "derived" the derived values.
 * Returns a new reference or NULL on allocation failure.
 */
json_t *dga_report_to_json(const struct dga_report *r, const struct dga_derived *d);

/* ---- containers ---- */

#define DGA_MAX_DEVICES 64
#define DGA_EVIDENCE_JSON_MAX (4u << 20) /* bytes of JSON we accept */
#define DGA_CHAIN_PEM_MAX (64u << 10)

/* One device's evidence as carried by a container: owned copies. */
struct dga_device_evidence {
    enum dga_arch arch;
    bool has_nonce; /* the container stated a nonce */
    uint8_t nonce[DGA_NONCE_LEN];
    uint8_t *report; /* raw report bytes */
    size_t report_len;
    char *chain_pem; /* NUL-terminated PEM text */
    size_t chain_pem_len;
    /*
     * An NVSwitch's host-side NSCQ status, read with this evidence
     * (dga_switch_collection_to_evidence): unsigned, and never in nvattest's
     * evidence files, so has_tnvl is false for everything parsed from JSON.
     */
    bool has_tnvl; /* the NSCQ pcie_mode was read with this evidence */
    int tnvl;      /* its value: -1 unknown, 0 disabled, 1 enabled, 2 failure, 3 locked */
};

struct dga_evidence_set {
    size_t n;
    struct dga_device_evidence dev[DGA_MAX_DEVICES];
};

/*
 * Frees what *s holds, not s itself (the caller's), and leaves it zeroed:
 * clearing twice is harmless. NULL is fine.
 */
void dga_evidence_set_clear(struct dga_evidence_set *s);
/* For _cleanup_ on a struct variable: dga_evidence_set_clear(s). */
static inline void dga_evidence_set_clearp(struct dga_evidence_set *s)
{
    dga_evidence_set_clear(s);
}
/* For _cleanup_ on one allocated on the heap: dga_evidence_set_clear(*p), free(*p), *p = NULL. */
static inline void dga_evidence_set_freep(struct dga_evidence_set **p)
{
    dga_evidence_set_clear(*p);
    free(*p);
    *p = NULL;
}

/*
 * NVIDIA's serialized evidence JSON: an array of {arch, nonce, evidence
 * (base64 report), certificate (base64 PEM)}; also accepts the
 * collect-evidence wrapper {"evidences": [...]}. Extra keys are ignored.
 * diag->offset is the device index on failure.
 */
dga_err dga_evidence_json_parse(const char *text, size_t len, struct dga_evidence_set *ret,
                                struct dga_diag *diag);

/*
 * The raw pair: report text as hex (whitespace-trimmed) or binary bytes, and a
 * PEM chain. Binary is assumed when the input is not entirely hex text.
 */
dga_err dga_evidence_raw(const uint8_t *report_file, size_t report_file_len, const char *chain_pem,
                         size_t chain_pem_len, enum dga_arch arch, struct dga_evidence_set *ret);

/* Report bytes from a file's content: hex text or raw binary. *ret is malloc'd. */
dga_err dga_report_bytes_from_file(const uint8_t *content, size_t len, uint8_t **ret,
                                   size_t *ret_len);

#endif
