/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificates: PEM chains, the pinned NVIDIA roots, device identity chain
 * verification, the FWID extension, hwmodel/ueid, the report signature
 * check, and the building blocks of any chain to a pinned root (the RIM
 * signing chain is built on them in lib/rim). Formats: docs/formats.md §6-8;
 * rules: docs/evidence.md. Everything cryptographic is OpenSSL.
 */
#ifndef DGA_X509_H
#define DGA_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dga/error.h"
#include "dga/evidence.h"

#define DGA_DEVICE_CHAIN_LEN 5
#define DGA_PDI_LEN 8 /* a platform device identifier (PDI) */
#define DGA_PEM_CHAIN_MAX_CERTS 16

/* A trust anchor: the compiled-in NVIDIA root unless the caller chose another explicitly. */
struct dga_trust {
    X509 *root;
    bool custom; /* true when not a compiled-in NVIDIA root: outputs must say so */
};

/* The compiled-in NVIDIA Device Identity CA (GPU and NVSwitch chains). */
dga_err dga_trust_nvidia_device(struct dga_trust *ret);
/* The compiled-in NVIDIA CoRIM signing Root CA (RIM chains). */
dga_err dga_trust_nvidia_rim(struct dga_trust *ret);
/* An explicitly chosen root from a PEM file holding exactly one certificate. */
dga_err dga_trust_from_pem(const char *pem, size_t len, struct dga_trust *ret);
/*
 * Frees what *t holds, not t itself (the caller's), and leaves it zeroed:
 * clearing twice is harmless. NULL is fine.
 */
void dga_trust_clear(struct dga_trust *t);
/* For _cleanup_ on a struct variable: dga_trust_clear(t). */
static inline void dga_trust_clearp(struct dga_trust *t)
{
    dga_trust_clear(t);
}

/*
 * Parses concatenated PEM certificates. Only whitespace may appear outside the
 * BEGIN/END CERTIFICATE blocks; at most DGA_PEM_CHAIN_MAX_CERTS. The stack
 * keeps the input order. diag->offset is the byte offset of the failure.
 */
dga_err dga_pem_chain_parse(const char *pem, size_t len, STACK_OF(X509) **ret,
                            struct dga_diag *diag);

/*
 * A pool of decoded certificates keyed by their exact DER bytes. OpenSSL
 * 3.0 decodes each certificate's key through its provider decoders (about a
 * sixth of a P-384 verification), and one run, or a server's requests, meet
 * the same CA certificates again and again: every GPU's chain above the
 * BROM, the L3 and L2 of both RIMs of a GPU, presented copies of the pinned
 * roots. A hit is the certificate decoded from the same bytes before (a
 * reference to the same X509, which threads then share: its OpenSSL
 * extension cache is filled before the pool holds it, so that threads only
 * read it; the compiled-in and loaded trust roots are filled alike).
 *
 * Two tiers, so that what one machine presents never crowds out what all
 * share: a long-running server meets a new GPU leaf and BROM, or a new
 * platform's PCK certificate, with every new machine, and a single table
 * filled with those would decode the CA certificates on every request once
 * full. The shared tier (at most 256) holds what dga_cert_pool_decode and
 * dga_cert_pool_add meet: CA certificates, RIM chain certificates (a RIM
 * signer is shared by every GPU of a model), roots. The per-device tier (at
 * most 1024) holds what dga_cert_pool_decode_device meets: a device chain's
 * leaf and BROM, a quote's PCK certificate, which repeat only when the same
 * machine attests again. A lookup searches both. Certificates are never
 * forgotten while the pool lives; a full tier stops remembering and later
 * ones are decoded as usual. Thread-safe: concurrent decodes and adds take
 * a lock around the lookup and the insertion, never around a decode (two
 * threads decoding the same new bytes at once both decode; the first entry
 * stays). Free with dga_cert_pool_free (NULL is fine), after every user.
 */
struct dga_cert_pool;
dga_err dga_cert_pool_new(struct dga_cert_pool **ret);
/* Frees p and everything it holds; NULL is fine. */
void dga_cert_pool_free(struct dga_cert_pool *p);
/* For _cleanup_: dga_cert_pool_free(*p), then *p = NULL. */
static inline void dga_cert_pool_freep(struct dga_cert_pool **p)
{
    dga_cert_pool_free(*p);
    *p = NULL;
}
/*
 * From now on p's shared tier only answers lookups: decoding a certificate
 * it does not hold leaves it unchanged, and dga_cert_pool_add does nothing
 * (for a pool whose shared tier should hold only what its owner put there,
 * such as the quote verifier's CA certificates, whatever the requests decode
 * through it). The per-device tier still remembers, within its bound.
 */
void dga_cert_pool_freeze(struct dga_cert_pool *p);
/* Remembers x (a new reference) unless a certificate with the same DER is there. */
dga_err dga_cert_pool_add(struct dga_cert_pool *p, X509 *x);
/*
 * d2i_X509 of exactly der[0..len) (every byte consumed, else DGA_E_BAD_CERT),
 * or the certificate decoded from the same bytes before; *ret is a new
 * reference. p may be NULL (a plain decode).
 */
dga_err dga_cert_pool_decode(struct dga_cert_pool *p, const unsigned char *der, size_t len,
                             X509 **ret);
/* dga_cert_pool_decode for a per-device certificate: remembered in the per-device tier. */
dga_err dga_cert_pool_decode_device(struct dga_cert_pool *p, const unsigned char *der, size_t len,
                                    X509 **ret);

/*
 * The DER bytes of the first certificate block of a PEM chain, decoded as
 * dga_pem_chain_parse decodes it but not parsed as a certificate (cheap: for
 * telling whether two chains share a leaf). *ret is OPENSSL_malloc'd.
 */
dga_err dga_pem_leaf_der(const char *pem, size_t len, unsigned char **ret, size_t *ret_len);

/* dga_pem_chain_parse, decoding through `pool` (may be NULL). */
dga_err dga_pem_chain_parse_pooled(const char *pem, size_t len, struct dga_cert_pool *pool,
                                   STACK_OF(X509) **ret, struct dga_diag *diag);
/*
 * The same, with certificates 0..shared_from-1 per-device (the pool's
 * per-device tier) and the others shared: DGA_DEVICE_CHAIN_SHARED_FROM for a
 * device chain, 1 for a chain whose leaf is one machine's.
 */
dga_err dga_pem_chain_parse_pooled_from(const char *pem, size_t len, struct dga_cert_pool *pool,
                                        int shared_from, STACK_OF(X509) **ret,
                                        struct dga_diag *diag);
/* A device chain's leaf and BROM are the GPU's own; the provisioner ICA up is its model's. */
#define DGA_DEVICE_CHAIN_SHARED_FROM 2

struct dga_chain_info {
    time_t not_after_min;     /* minimum notAfter over every certificate */
    time_t not_before_max;    /* maximum notBefore over every certificate */
    char expiration_date[21]; /* not_after_min as YYYY-MM-DDTHH:MM:SSZ */
    bool expired;             /* some certificate's notAfter <= at (dga_chain_info_at) */
    bool not_yet_valid;       /* some certificate's notBefore > at */
    char hwmodel[128];        /* device chain: CN of certificate 1 (BROM); RIM chain: signer CN */
    char ueid[64];            /* decimal serial number of certificate 0 */
    bool leaf_has_fwid;       /* leaf carries the arch's FWID extension */
    uint8_t leaf_fwid[DGA_DIGEST_LEN];
    bool has_device_pdi; /* certificate 1 (BROM) names the device's PDI (dga_cert_device_pdi) */
    uint8_t device_pdi[DGA_PDI_LEN];
};

/*
 * Verifies a device identity chain (leaf, BROM, provisioner ICA, identity CA,
 * root): exactly 5 certificates; the presented root equals trust->root byte
 * for byte; OpenSSL path validation with only trust->root trusted and
 * certificates 1..3 untrusted; the built path equals the presented order;
 * every key P-384 and every signature ecdsa-with-SHA384; the leaf's CN names
 * the declared architecture. Time never fails the chain here: validity at `at`
 * is reported in ret->expired / ret->not_yet_valid for the caller to decide.
 */
dga_err dga_device_chain_verify(STACK_OF(X509) *chain, enum dga_arch arch,
                                const struct dga_trust *trust, time_t at,
                                struct dga_chain_info *ret, struct dga_diag *diag);

/*
 * A cache of verified chains, in two tables. Suffixes: for device chains
 * certificates 2..4 (provisioner ICA, identity CA, root), which the GPUs of
 * one model share; for RIM chains the certificates above the signer, which
 * the driver and VBIOS RIMs of a GPU share (struct dga_chain_path says how
 * an entry is keyed); at most 16. Whole chains: every certificate and the
 * pinned root, byte for byte (a GPU attesting again, a RIM chain met
 * again); at most 1024, each the DER of its certificates (about 3.5 KiB for
 * a device chain: about 4 MiB in all). An entry says only that a path was
 * valid, which no time changes (time is never checked on a path), so one
 * cache serves every verification time. Entries are never forgotten while
 * the cache lives; a full table stops remembering. Thread-safe: a lock
 * around the lookup and the insertion, never around a path validation; and
 * once per key: a thread that misses a whole chain or a suffix another thread
 * is verifying right now waits for that verification (dga_chain_path_remember
 * or dga_chain_path_clear ends it) instead of repeating it, so concurrent
 * appraisals count the ECDSA verifications a serial run counts.
 * Free with dga_chain_cache_free (NULL is fine), after every user.
 */
struct dga_chain_cache;
dga_err dga_chain_cache_new(struct dga_chain_cache **ret);
/* Frees c and everything it holds; NULL is fine. */
void dga_chain_cache_free(struct dga_chain_cache *c);
/* For _cleanup_: dga_chain_cache_free(*p), then *p = NULL. */
static inline void dga_chain_cache_freep(struct dga_chain_cache **p)
{
    dga_chain_cache_free(*p);
    *p = NULL;
}

/*
 * dga_device_chain_verify with an optional cache (NULL: the same as it).
 * When the whole chain (certificates 0..3 and the pinned root) is
 * byte-identical to one this cache saw verified, no path validation runs;
 * else when certificates 2..4 are byte-identical to a suffix this cache saw
 * verified in full to the pinned root, OpenSSL validates only leaf and BROM
 * under that ICA (X509_V_FLAG_PARTIAL_CHAIN; the built path must be leaf,
 * BROM, ICA). Every other check (root, order, algorithms, architecture,
 * FWID, validity at `at`) runs on every call. A chain that passed every
 * check is remembered whole; one verified in full also as a suffix (at most
 * a few; suffixes whose identity CA or root carry path length, name or
 * policy constraints never are).
 */
dga_err dga_device_chain_verify_cached(STACK_OF(X509) *chain, enum dga_arch arch,
                                       const struct dga_trust *trust, time_t at,
                                       struct dga_chain_cache *cache, struct dga_chain_info *ret,
                                       struct dga_diag *diag);

/*
 * FWID from the leaf certificate: Hopper/LS10 extension 2.23.133.5.4.1,
 * Blackwell 2.23.133.5.4.1.1 ([6] fwids, first entry), both parsed as DER.
 * *present is false (and DGA_E_OK returned) when the extension is absent.
 */
dga_err dga_cert_fwid(X509 *leaf, enum dga_arch arch, bool *present, uint8_t out[DGA_DIGEST_LEN]);

/*
 * The device's PDI from a device chain's BROM certificate (certificate 1), a
 * convention seen on every NVIDIA GPU and NVSwitch sample but documented
 * nowhere (docs/ppcie.md): the subject's one serialNumber attribute is 18
 * upper-case hex digits, a prefix byte (0x41 for a GPU, 0x50 for an NVSwitch)
 * then the 8-byte PDI, and the certificate's serial number is the same 9
 * bytes as a positive integer. *present is false (DGA_E_OK returned) when the
 * certificate does not follow that pattern exactly; out is then untouched.
 */
dga_err dga_cert_device_pdi(X509 *brom, enum dga_arch arch, bool *present,
                            uint8_t out[DGA_PDI_LEN]);

/*
 * ECDSA P-384/SHA-384 over msg with the leaf's key; sig is raw r||s (48+48,
 * big-endian). DGA_E_SIGNATURE_INVALID on any mismatch; DGA_E_CHAIN_ALGORITHM
 * if the key is not EC P-384.
 */
dga_err dga_report_signature_verify(X509 *leaf, const uint8_t *msg, size_t len,
                                    const uint8_t sig[DGA_SIGNATURE_LEN]);

/* ---- Keys and signatures (the report, RIM XML-DSig and EAT signatures) ---- */

/*
 * SHA-256 and SHA-384 as fetched from the default provider, once per process
 * (thread-safe) and kept for its lifetime: hashing with them skips the
 * implicit fetch a legacy EVP_sha256()/EVP_sha384() costs every
 * EVP_DigestInit_ex. Shareable between threads; never free them. NULL only if
 * the provider has no such digest (then every use must fail closed).
 */
const EVP_MD *dga_md_sha256(void);
const EVP_MD *dga_md_sha384(void);

/* True when pkey is an EC key on secp384r1 (P-384). */
bool dga_key_is_p384(const EVP_PKEY *pkey);

/*
 * As dga_report_signature_verify with the key itself: ECDSA P-384/SHA-384
 * over msg (NULL with len 0 is the empty message), raw r||s. Counts one
 * verification (dga/stats.h). Leaves no OpenSSL error queued.
 */
dga_err dga_p384_verify_raw(EVP_PKEY *pkey, const uint8_t *msg, size_t len,
                            const uint8_t sig[DGA_SIGNATURE_LEN]);

#define DGA_P256_SIGNATURE_LEN 64 /* raw r||s, each 32 bytes big-endian */
#define DGA_P256_POINT_LEN 64     /* raw public point X||Y, each 32 bytes big-endian */

/*
 * The P-256 sibling (Intel's TDX quotes and collateral): ECDSA P-256/SHA-256
 * over msg, raw r||s. DGA_E_CHAIN_ALGORITHM if the key is not EC P-256,
 * DGA_E_SIGNATURE_INVALID on any mismatch. Counts one verification.
 */
dga_err dga_p256_verify_raw(EVP_PKEY *pkey, const uint8_t *msg, size_t len,
                            const uint8_t sig[DGA_P256_SIGNATURE_LEN]);

/*
 * The P-256 public key of a raw point X||Y (no 0x04 prefix).
 * DGA_E_SIGNATURE_INVALID when the point is not on the curve.
 */
dga_err dga_p256_key_from_raw(const uint8_t xy[DGA_P256_POINT_LEN], EVP_PKEY **ret);

/* ---- Building blocks of a chain to a pinned root ---- */

/* True when x has a P-384 key and an ecdsa-with-SHA384 signature. */
bool dga_cert_algorithms_ok(X509 *x);

/* Full DER equality of two certificates (DGA_E_BAD_CERT when one cannot be encoded). */
dga_err dga_cert_der_equal(X509 *a, X509 *b, bool *ret);

/* First CN of x's subject as a C string: bounded, no embedded NUL (else DGA_E_BAD_CERT). */
dga_err dga_cert_first_cn(X509 *x, char *out, size_t cap);

/*
 * Validity of every certificate of `certs` (at least one) at `at`: sets
 * info->not_after_min, not_before_max, expiration_date, and through
 * dga_chain_info_at expired and not_yet_valid. DGA_E_BAD_CERT with
 * *ret_index at the certificate whose times cannot be read (or 0 for none).
 */
dga_err dga_chain_validity(STACK_OF(X509) *certs, time_t at, struct dga_chain_info *info,
                           int *ret_index);

/*
 * The validity flags of a chain whose window dga_chain_validity read, at
 * another time: expired when not_after_min <= at (the notAfter second itself
 * counts as expired, as OpenSSL, and so xmlsec1, counts it), not_yet_valid
 * when not_before_max > at. The window is time-free: a verdict computed once
 * (a cached RIM chain) answers for any time through this.
 */
void dga_chain_info_at(struct dga_chain_info *info, time_t at);

/*
 * One OpenSSL path validation of a presented chain to a pinned root, through
 * an optional chain cache. The caller owns the chain's rules (shape, order,
 * key usage, diagnostics): dga_device_chain_verify_cached and the RIM
 * signing chain (dga_rim_chain_verify_cached) are both written on it.
 *
 *   struct dga_chain_path p = {.certs = ..., .n = ..., .root = ..., ...};
 *   e = dga_chain_path_verify(&p);      the path
 *   ... the caller's own checks on p.built ...
 *   if all passed: dga_chain_path_remember(&p);
 *   dga_chain_path_clear(&p);           always
 *
 * With a cache, a path holds a claim on the keys it missed from verify to
 * remember or clear: keep no other path of the same cache open meanwhile in
 * the same thread (it could wait for its own claim).
 *
 * Only the pinned root is trusted; certificates 1..n-1 are untrusted
 * candidates; time is never checked (validity is read with
 * dga_chain_validity). A chain has two cache entries. The whole chain: the
 * tag `kind`, the DER of certs[0..n), then the DER of root; when the cache
 * holds it, no path validation runs: p.whole is set, p.built is certs[0..n)
 * then root (new references), p.top is root, and no ECDSA is counted. Its
 * suffix: the tag, the DER of certs[anchor..n), then the DER of root; when
 * the cache holds that exact suffix (verified in full to this root before),
 * OpenSSL validates only certs[0..anchor-1] under the cached certs[anchor]
 * (X509_V_FLAG_PARTIAL_CHAIN): p.partial is set and p.top is that anchor.
 */
struct dga_chain_path {
    /* in */
    STACK_OF(X509) *certs;         /* certs[0] the leaf, then intermediates, presented order */
    int n;                         /* certificates used (1..): a presented root after them is not */
    X509 *root;                    /* the pinned root, the only anchor */
    struct dga_chain_cache *cache; /* optional (NULL: always a full path) */
    char kind;                     /* tells chains of different kinds apart in the cache */
    int anchor; /* first certificate of the cached suffix; 1..n-1, else no cache */
    /* out */
    STACK_OF(X509) *built; /* the path OpenSSL built: certs[0]..top (owned) */
    X509 *top;             /* its trusted top: root, or the cached anchor when partial */
    bool partial;          /* verified under a cached anchor */
    bool whole;            /* the whole chain was cached: no path validation, built presented */
    int depth;             /* on DGA_E_CHAIN_INVALID: the depth OpenSSL failed at; else -1 */
    /* private */
    unsigned char *key;
    size_t key_len;
    unsigned char *whole_key;
    size_t whole_len;
    uint64_t whole_hash;
    bool claimed_suffix; /* this path verifies key for the cache: others wait for it */
    bool claimed_whole;  /* the same for whole_key */
};

/*
 * The path: DGA_E_OK with p->built, DGA_E_CHAIN_INVALID (p->depth),
 * DGA_E_BAD_ARGUMENT, DGA_E_NOMEM or DGA_E_INTERNAL.
 */
dga_err dga_chain_path_verify(struct dga_chain_path *p);

/*
 * Call after every check of the caller passed. Remembers the whole chain
 * when the path was built in the presented order: in full (certs[0..n),
 * then root; OpenSSL saw every constraint), or partial (certs[0..anchor),
 * then the cached anchor, whose suffix was verified in full and constrains
 * nothing below it). Remembers the suffix when the path was verified in
 * full, in the presented order, and certs[anchor+1..n) and root carry no
 * path length, name or policy constraint (they constrain what is below the
 * anchor, which a partial path would no longer see). A full table just
 * stops remembering; a whole-chain hit remembers nothing more.
 */
void dga_chain_path_remember(struct dga_chain_path *p);

/*
 * Frees what dga_chain_path_verify allocated and resets the outputs; the
 * inputs are the caller's and stay. Clearing twice is harmless; NULL is fine.
 */
void dga_chain_path_clear(struct dga_chain_path *p);
/* For _cleanup_ on a struct variable: dga_chain_path_clear(p). */
static inline void dga_chain_path_clearp(struct dga_chain_path *p)
{
    dga_chain_path_clear(p);
}

#endif
