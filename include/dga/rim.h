/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RIM documents (NVIDIA's signed SWID XML lists of golden measurements):
 * safe parsing with libxml2, NVIDIA's one XML-DSig profile verified on
 * libxml2's C14N 1.1 and OpenSSL, the signing chain to the CoRIM root, and
 * RIM stores. Formats: docs/formats.md §8; rules: docs/rim.md.
 */
#ifndef DGA_RIM_H
#define DGA_RIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "dga/error.h"
#include "dga/evidence.h"
#include "dga/x509.h"

#define DGA_RIM_MAX_BYTES (1u << 20)
#define DGA_RIM_MAX_MEASUREMENTS 256
#define DGA_RIM_MAX_ALTERNATIVES 16
#define DGA_RIM_MAX_CERTS 8

struct dga_rim_measurement {
    unsigned index;        /* 0-based RIM index; compared with SPDM block index + 1 */
    bool active;           /* active="True" (only "True"/"False" are accepted) */
    unsigned alternatives; /* number of HashK attributes, 1..DGA_RIM_MAX_ALTERNATIVES */
    uint8_t hash[DGA_RIM_MAX_ALTERNATIVES][DGA_DIGEST_LEN];
    unsigned size; /* the size attribute (48 in every sample) */
    char name[64];
};

struct rim_xml; /* internal: the parsed document, kept for signature verification */

struct dga_rim {
    char colloquial_version[64]; /* Meta/@colloquialVersion */
    char manufacturer_id[32];    /* Meta/@FirmwareManufacturerId (TCG namespace) */
    char product[64];            /* Meta/@product, informational */
    char edition[64];            /* Meta/@edition, informational */
    char tag_id[256];            /* SoftwareIdentity/@tagId, informational */
    size_t n_measurements;       /* every Resource of type Measurement, document order */
    struct dga_rim_measurement *measurements;
    uint8_t sha256[32];    /* SHA-256 of the document bytes as given */
    STACK_OF(X509) *certs; /* Signature/KeyInfo/X509Data/X509Certificate, document order */
    struct rim_xml *xml;
};

/*
 * Parses a RIM document: no network, no DTD, no entities (DGA_E_RIM_DTD),
 * data read only at fixed paths under the root (never inside Signature),
 * every Measurement Resource checked (DGA_E_RIM_ATTRIBUTE, duplicate active
 * index DGA_E_RIM_DUPLICATE_INDEX). Verifies nothing cryptographic.
 * diag->field names the element or attribute; diag->offset is its line.
 */
dga_err dga_rim_parse(const uint8_t *xml, size_t len, struct dga_rim **ret, struct dga_diag *diag);
/* Frees rim and everything it holds; NULL is fine. */
void dga_rim_free(struct dga_rim *rim);
/* For _cleanup_: dga_rim_free(*p), then *p = NULL. */
static inline void dga_rim_freep(struct dga_rim **p)
{
    dga_rim_free(*p);
    *p = NULL;
}
/* dga_rim_parse, decoding the KeyInfo certificates through `pool` (may be NULL). */
dga_err dga_rim_parse_pooled(const uint8_t *xml, size_t len, struct dga_cert_pool *pool,
                             struct dga_rim **ret, struct dga_diag *diag);

/*
 * The KeyInfo chain to the CoRIM root: trust->root is the only anchor (a
 * supplied root copy is never trusted); the leaf is the signer. Time never
 * fails the chain here: validity at `at` is reported in ret->expired /
 * ret->not_yet_valid and the expiration date is the minimum notAfter.
 * ret->hwmodel holds the signer's CN; ueid and FWID are unused.
 */
dga_err dga_rim_chain_verify(const struct dga_rim *rim, const struct dga_trust *trust, time_t at,
                             struct dga_chain_info *ret, struct dga_diag *diag);

/*
 * As dga_rim_chain_verify, with a chain cache (may be NULL) shared with
 * the device chains: when the certificates above the signer are byte for
 * byte those of a chain this cache verified in full to the same root (the
 * driver and VBIOS RIMs of one GPU share their L3 and L2), only the
 * signer's signature is checked, under the cached intermediate. Same
 * verdicts and outputs as without the cache.
 */
dga_err dga_rim_chain_verify_cached(const struct dga_rim *rim, const struct dga_trust *trust,
                                    time_t at, struct dga_chain_cache *cache,
                                    struct dga_chain_info *ret, struct dga_diag *diag);

/*
 * NVIDIA's XML-DSig profile (docs/rim.md): exactly one Signature, the last
 * element child of the root; SignedInfo with C14N 1.1, ecdsa-sha384, exactly
 * one Reference URI="" with exactly [enveloped-signature, c14n11] and
 * sha384; anything else DGA_E_RIM_SIGNATURE_PROFILE. The reference digest
 * (DGA_E_RIM_DIGEST_MISMATCH) and then the raw r||s signature over the
 * canonical SignedInfo with the public key of `signer`
 * (DGA_E_RIM_SIGNATURE_INVALID). The caller passes the leaf of a chain it has
 * verified with dga_rim_chain_verify.
 */
dga_err dga_rim_signature_verify(const struct dga_rim *rim, X509 *signer, struct dga_diag *diag);

/* The active measurement for a RIM index, or NULL. */
const struct dga_rim_measurement *dga_rim_active(const struct dga_rim *rim, unsigned index);

/* ---- RIM stores ---- */

/*
 * A directory laid out as nvattest's (<dir>/<RIM id>.xml), plus any number of
 * further accepted issues of the same id in <dir>/<RIM id>.d/ *.xml: NVIDIA
 * re-issues RIMs under the same id, and a verifier tries each.
 */
#define DGA_RIM_STORE_MAX_CANDIDATES 16
#define DGA_RIM_ID_PATTERN "[A-Za-z0-9_.-]{1,127}, not starting with '.'"

struct dga_rim_candidate {
    char *path;     /* where the document was read from */
    uint8_t *bytes; /* the document, NUL-terminated */
    size_t len;
};

struct dga_rim_candidates {
    size_t n;
    struct dga_rim_candidate c[DGA_RIM_STORE_MAX_CANDIDATES];
};

/* Whether a RIM id is safe to use as a file name (DGA_RIM_ID_PATTERN). */
bool dga_rim_id_valid(const char *rim_id);

/*
 * Reads every document the store holds for rim_id: <dir>/<id>.xml first, then
 * <dir>/<id>.d/ *.xml in name order. DGA_E_RIM_NOT_FOUND when there is none
 * (diag->field is the id), DGA_E_RIM_STORE when the store or a document
 * cannot be read, DGA_E_BAD_ARGUMENT for an unsafe id, DGA_E_TOO_LARGE past
 * DGA_RIM_STORE_MAX_CANDIDATES documents or DGA_RIM_MAX_BYTES per document.
 */
dga_err dga_rim_store_read(const char *dir, const char *rim_id, struct dga_rim_candidates *ret,
                           struct dga_diag *diag);
/*
 * Frees what *c holds, not c itself (the caller's), and leaves it zeroed:
 * clearing twice is harmless. NULL is fine.
 */
void dga_rim_candidates_clear(struct dga_rim_candidates *c);
/* For _cleanup_ on a struct variable: dga_rim_candidates_clear(c). */
static inline void dga_rim_candidates_clearp(struct dga_rim_candidates *c)
{
    dga_rim_candidates_clear(c);
}

#endif
