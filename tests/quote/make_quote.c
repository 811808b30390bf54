/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Synthetic TDX quotes and collateral for the tests (never installed), signed
 * with the private PKI of tests/pki/make_pki.sh tdx:
 *
 *   make_quote quote OUT --pck-key K --pck-chain PEM [options]
 *     a v4 (or v5) quote: the QE report signed with the PCK key, the quote
 *     with a fresh attestation key, the PCK chain as type 5 certification data.
 *     Options (hex is the quote's byte order):
 *       --version 4|5 --body td10|td15 --key-type N --tee-type N --vendor HEX16B
 *       --tee-tcb-svn HEX16B --mr-signer-seam HEX48B --seam-attributes HEX8B
 *       --td-attributes HEX8B --mr-service-td HEX48B --report-data HEX64B
 *       --mrtd HEX48B --rtmr0 HEX48B --rtmr1 HEX48B --rtmr2 HEX48B --rtmr3 HEX48B
 *       (the TD's measurements: tests/e2e builds a CVM whose RTMR3 is the gate's register)
 *       --qe-mrsigner HEX32B --qe-isvprodid N --qe-isvsvn N --qe-attributes HEX16B
 *       --qe-miscselect N --qe-report-data-tail (a non-zero byte in report_data[32..])
 *       --inner-type N (no chain unless 5)
 *   make_quote collateral OUT --tcb-key K --tcb-chain PEM --root-crl DER --pck-crl DER
 *                         --tcb-info JSON --qe-identity JSON [--pck-chain PEM]
 *     QuoteCollateralV3 JSON: the two JSON files' exact text signed with the TCB
 *     signing key (raw r||s, hex), the CRLs as hex.
 * Exit 0 on success, 1 with a message otherwise.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define DIE(...)                                                                                   \
    do {                                                                                           \
        fprintf(stderr, "make_quote: " __VA_ARGS__);                                               \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        DIE("cannot open %s", path);
    }
    uint8_t *buf = NULL;
    size_t n = 0;
    size_t cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            buf = realloc(buf, cap);
            if (buf == NULL) {
                DIE("out of memory");
            }
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static void write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        DIE("cannot write %s", path);
    }
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        DIE("cannot open %s", path);
    }
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (k == NULL) {
        DIE("%s is not a PEM private key", path);
    }
    return k;
}

static void hex_to(const char *hex, uint8_t *out, size_t want, const char *what)
{
    if (strlen(hex) != want * 2) {
        DIE("%s: want %zu hex bytes", what, want);
    }
    for (size_t i = 0; i < want; i++) {
        unsigned v = 0;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            DIE("%s: not hex", what);
        }
        out[i] = (uint8_t)v;
    }
}

static char *to_hex(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (s == NULL) {
        DIE("out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(s + 2 * i, 3, "%02x", p[i]);
    }
    return s;
}

/* ECDSA P-256/SHA-256 over msg as raw r||s. */
static void sign_raw(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t der_len = sizeof der;
    if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
        EVP_DigestSign(md, der, &der_len, msg, len) != 1) {
        DIE("signing failed");
    }
    EVP_MD_CTX_free(md);
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (es == NULL || BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) != 32) {
        DIE("signature encoding failed");
    }
    ECDSA_SIG_free(es);
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

struct qopts {
    unsigned version, key_type, tee_type, qe_isvprodid, qe_isvsvn, inner_type;
    uint32_t qe_miscselect;
    bool td15, qe_report_data_tail;
    uint8_t vendor[16], tee_tcb_svn[16], mr_signer_seam[48], seam_attributes[8];
    uint8_t td_attributes[8], mr_service_td[48], report_data[64];
    uint8_t mr_td[48], rt_mr[4][48];
    uint8_t qe_mrsigner[32], qe_attributes[16];
    const char *pck_key, *pck_chain;
};

static void qopts_default(struct qopts *o)
{
    static const uint8_t intel_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                             0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
    memset(o, 0, sizeof *o);
    o->version = 4;
    o->key_type = 2;
    o->tee_type = 0x81;
    o->qe_isvprodid = 2;
    o->qe_isvsvn = 4;
    o->inner_type = 5;
    memcpy(o->vendor, intel_vendor, 16);
    /* module ISVSVN 6, major version 1, then 3: a TDX_01 module above the default levels */
    o->tee_tcb_svn[0] = 6;
    o->tee_tcb_svn[1] = 1;
    o->tee_tcb_svn[2] = 3;
    o->td_attributes[3] = 0x10; /* SEPT_VE_DISABLE */
    memset(o->qe_mrsigner, 0xdc, sizeof o->qe_mrsigner);
    memset(o->mr_td, 0x22, sizeof o->mr_td);
    o->qe_attributes[0] = 0x15;
    for (int i = 0; i < 64; i++) {
        o->report_data[i] = (uint8_t)i;
    }
}

static void qopts_parse(struct qopts *o, int argc, char **argv)
{
    for (int i = 0; i < argc; i += 2) {
        const char *k = argv[i];
        if (strcmp(k, "--qe-report-data-tail") == 0) {
            o->qe_report_data_tail = true;
            i--;
            continue;
        }
        if (i + 1 >= argc) {
            DIE("%s needs a value", k);
        }
        const char *v = argv[i + 1];
        unsigned long n = strtoul(v, NULL, 0);
        if (strcmp(k, "--pck-key") == 0) {
            o->pck_key = v;
        } else if (strcmp(k, "--pck-chain") == 0) {
            o->pck_chain = v;
        } else if (strcmp(k, "--version") == 0) {
            o->version = (unsigned)n;
        } else if (strcmp(k, "--body") == 0) {
            o->td15 = strcmp(v, "td15") == 0;
        } else if (strcmp(k, "--key-type") == 0) {
            o->key_type = (unsigned)n;
        } else if (strcmp(k, "--tee-type") == 0) {
            o->tee_type = (unsigned)n;
        } else if (strcmp(k, "--vendor") == 0) {
            hex_to(v, o->vendor, 16, k);
        } else if (strcmp(k, "--tee-tcb-svn") == 0) {
            hex_to(v, o->tee_tcb_svn, 16, k);
        } else if (strcmp(k, "--mr-signer-seam") == 0) {
            hex_to(v, o->mr_signer_seam, 48, k);
        } else if (strcmp(k, "--seam-attributes") == 0) {
            hex_to(v, o->seam_attributes, 8, k);
        } else if (strcmp(k, "--td-attributes") == 0) {
            hex_to(v, o->td_attributes, 8, k);
        } else if (strcmp(k, "--mr-service-td") == 0) {
            hex_to(v, o->mr_service_td, 48, k);
        } else if (strcmp(k, "--report-data") == 0) {
            hex_to(v, o->report_data, 64, k);
        } else if (strcmp(k, "--mrtd") == 0) {
            hex_to(v, o->mr_td, 48, k);
        } else if (strncmp(k, "--rtmr", 6) == 0 && k[6] >= '0' && k[6] <= '3' && k[7] == '\0') {
            hex_to(v, o->rt_mr[k[6] - '0'], 48, k);
        } else if (strcmp(k, "--qe-mrsigner") == 0) {
            hex_to(v, o->qe_mrsigner, 32, k);
        } else if (strcmp(k, "--qe-isvprodid") == 0) {
            o->qe_isvprodid = (unsigned)n;
        } else if (strcmp(k, "--qe-isvsvn") == 0) {
            o->qe_isvsvn = (unsigned)n;
        } else if (strcmp(k, "--qe-attributes") == 0) {
            hex_to(v, o->qe_attributes, 16, k);
        } else if (strcmp(k, "--qe-miscselect") == 0) {
            o->qe_miscselect = (uint32_t)n;
        } else if (strcmp(k, "--inner-type") == 0) {
            o->inner_type = (unsigned)n;
        } else {
            DIE("unknown option %s", k);
        }
    }
    if (o->pck_key == NULL || o->pck_chain == NULL) {
        DIE("quote needs --pck-key and --pck-chain");
    }
}

/* The TD report body (584 or 648 bytes) into p. */
static size_t put_body(const struct qopts *o, uint8_t *p)
{
    memcpy(p + 0, o->tee_tcb_svn, 16);
    memset(p + 16, 0x11, 48); /* mr_seam */
    memcpy(p + 64, o->mr_signer_seam, 48);
    memcpy(p + 112, o->seam_attributes, 8);
    memcpy(p + 120, o->td_attributes, 8);
    memset(p + 128, 0xe7, 1); /* xfam */
    memcpy(p + 136, o->mr_td, 48);
    memcpy(p + 328, o->rt_mr, sizeof o->rt_mr); /* after mr_config_id, mr_owner, mr_owner_config */
    memcpy(p + 520, o->report_data, 64);
    if (!o->td15) {
        return 584;
    }
    memcpy(p + 584, o->tee_tcb_svn, 16); /* tee_tcb_svn2 */
    memcpy(p + 600, o->mr_service_td, 48);
    return 648;
}

/* The QE report (384 bytes) binding the attestation key. */
static void put_qe_report(const struct qopts *o, const uint8_t att_key[64], const uint8_t auth[32],
                          uint8_t *p)
{
    memset(p, 0, 384);
    memset(p, 0x03, 16); /* cpu_svn */
    put32(p + 16, o->qe_miscselect);
    memcpy(p + 48, o->qe_attributes, 16);
    memset(p + 64, 0x44, 32); /* mr_enclave */
    memcpy(p + 128, o->qe_mrsigner, 32);
    put16(p + 256, o->qe_isvprodid);
    put16(p + 258, o->qe_isvsvn);
    uint8_t buf[96];
    memcpy(buf, att_key, 64);
    memcpy(buf + 64, auth, 32);
    unsigned len = 0;
    EVP_Digest(buf, sizeof buf, p + 320, &len, EVP_sha256(), NULL);
    if (o->qe_report_data_tail) {
        p[320 + 40] = 1;
    }
}

static int cmd_quote(const char *out, int argc, char **argv)
{
    struct qopts o;
    qopts_default(&o);
    qopts_parse(&o, argc, argv);
    EVP_PKEY *pck = read_key(o.pck_key);
    size_t pem_len = 0;
    uint8_t *pem = read_file(o.pck_chain, &pem_len);
    EVP_PKEY *att = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t pt[65];
    size_t pt_len = 0;
    if (att == NULL ||
        EVP_PKEY_get_octet_string_param(att, "encoded-pub-key", pt, sizeof pt, &pt_len) != 1 ||
        pt_len != 65) {
        DIE("attestation key");
    }
    size_t inner_len = o.inner_type == 5 ? pem_len + 1 : 16;
    size_t cap = 48 + 6 + 648 + 4 + 128 + 6 + 384 + 64 + 2 + 32 + 6 + inner_len;
    uint8_t *q = calloc(1, cap);
    if (q == NULL) {
        DIE("out of memory");
    }
    put16(q, o.version);
    put16(q + 2, o.key_type);
    put32(q + 4, o.tee_type);
    memcpy(q + 12, o.vendor, 16);
    memset(q + 28, 0x5a, 16); /* QE id */
    size_t n = 48;
    if (o.version == 5) {
        put16(q + n, o.td15 ? 3 : 2);
        put32(q + n + 2, o.td15 ? 648 : 584);
        n += 6;
    }
    n += put_body(&o, q + n);
    size_t signed_len = n;
    uint8_t auth[32];
    for (int i = 0; i < 32; i++) {
        auth[i] = (uint8_t)i;
    }
    size_t sig_data_len = 128 + 6 + 384 + 64 + 2 + 32 + 6 + inner_len;
    put32(q + n, (uint32_t)sig_data_len);
    n += 4;
    uint8_t *sig = q + n;
    memcpy(q + n + 64, pt + 1, 64);
    n += 128;
    put16(q + n, 6);
    put32(q + n + 2, (uint32_t)(384 + 64 + 2 + 32 + 6 + inner_len));
    n += 6;
    put_qe_report(&o, pt + 1, auth, q + n);
    sign_raw(pck, q + n, 384, q + n + 384);
    n += 384 + 64;
    put16(q + n, 32);
    memcpy(q + n + 2, auth, 32);
    n += 34;
    put16(q + n, o.inner_type);
    put32(q + n + 2, (uint32_t)inner_len);
    n += 6;
    if (o.inner_type == 5) {
        memcpy(q + n, pem, pem_len); /* and one NUL, as Intel's QE writes it */
    } else {
        memset(q + n, 0x77, inner_len);
    }
    n += inner_len;
    sign_raw(att, q, signed_len, sig);
    write_file(out, q, n);
    free(q);
    free(pem);
    EVP_PKEY_free(att);
    EVP_PKEY_free(pck);
    return 0;
}

static const char *opt(int argc, char **argv, const char *name, bool required)
{
    for (int i = 0; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], name) == 0) {
            return argv[i + 1];
        }
    }
    if (required) {
        DIE("collateral needs %s", name);
    }
    return NULL;
}

static void set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char *h = to_hex(p, n);
    json_object_set_new(o, key, json_string(h));
    free(h);
}

/* The exact text of a JSON file, signed; the text and its signature into the collateral. */
static void put_signed(json_t *coll, EVP_PKEY *k, const char *path, const char *key,
                       const char *sig_key)
{
    size_t len = 0;
    uint8_t *text = read_file(path, &len);
    uint8_t sig[64];
    sign_raw(k, text, len, sig);
    json_object_set_new(coll, key, json_stringn((const char *)text, len));
    set_hex(coll, sig_key, sig, sizeof sig);
    free(text);
}

static int cmd_collateral(const char *out, int argc, char **argv)
{
    EVP_PKEY *tcb = read_key(opt(argc, argv, "--tcb-key", true));
    size_t len = 0;
    json_t *c = json_object();
    uint8_t *chain = read_file(opt(argc, argv, "--tcb-chain", true), &len);
    json_object_set_new(c, "pck_crl_issuer_chain", json_string("unused"));
    uint8_t *crl = read_file(opt(argc, argv, "--root-crl", true), &len);
    set_hex(c, "root_ca_crl", crl, len);
    free(crl);
    crl = read_file(opt(argc, argv, "--pck-crl", true), &len);
    set_hex(c, "pck_crl", crl, len);
    free(crl);
    json_object_set_new(c, "tcb_info_issuer_chain", json_string((const char *)chain));
    put_signed(c, tcb, opt(argc, argv, "--tcb-info", true), "tcb_info", "tcb_info_signature");
    json_object_set_new(c, "qe_identity_issuer_chain", json_string((const char *)chain));
    put_signed(c, tcb, opt(argc, argv, "--qe-identity", true), "qe_identity",
               "qe_identity_signature");
    const char *pck_chain = opt(argc, argv, "--pck-chain", false);
    if (pck_chain != NULL) {
        uint8_t *p = read_file(pck_chain, &len);
        json_object_set_new(c, "pck_certificate_chain", json_string((const char *)p));
        free(p);
    }
    if (json_dump_file(c, out, JSON_INDENT(2)) != 0) {
        DIE("cannot write %s", out);
    }
    json_decref(c);
    free(chain);
    EVP_PKEY_free(tcb);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        DIE("usage: make_quote quote|collateral OUT options...");
    }
    if (strcmp(argv[1], "quote") == 0) {
        return cmd_quote(argv[2], argc - 3, argv + 3);
    }
    if (strcmp(argv[1], "collateral") == 0) {
        return cmd_collateral(argv[2], argc - 3, argv + 3);
    }
    DIE("unknown command %s", argv[1]);
}
