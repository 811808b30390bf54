/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for OCSP response handling: every input is read as a
 * DER OCSPResponse, keyed (dga_ocsp_response_key) and verified in full
 * (dga_ocsp_response_check) for the test PKI's leaf under its intermediate
 * and root (root.pem, inter.pem and leaf.pem of tests/fixtures/ocsp,
 * compiled in below), with and without a request nonce, at a fixed time.
 * Seeds: the genuine responses in tests/fixtures/ocsp (fuzz/run-smoke.sh),
 * so mutations start from correctly signed answers and reach the checks
 * after the signature. Inputs that start with '{' are also read as the
 * other collateral JSON we accept: a bundle's collateral.ocsp, and the RIM
 * service's answer.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "dga/collateral.h"
#include "dga/ocsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2026-11-28T09:30:00Z: half an hour after the seeds' thisUpdate; never the wall clock. */
#define FUZZ_TIME ((time_t)1795858200)

static const char pem_root[] = "-----BEGIN CERTIFICATE-----\n"
                               "MIIBqjCCAS+gAwIBAgICEAAwCgYIKoZIzj0EAwMwHTEbMBkGA1UEAwwSREdBIFRl\n"
                               "c3QgT0NTUCBSb290MB4XDTIwMDEwMTAwMDAwMFoXDTM1MTIzMTIzNTk1OVowHTEb\n"
                               "MBkGA1UEAwwSREdBIFRlc3QgT0NTUCBSb290MHYwEAYHKoZIzj0CAQYFK4EEACID\n"
                               "YgAElfRr2rJERQgtKjgLOwOwDD004+VZEXo4IDK5yGyV/B6q7dxIj7agbtVbDE24\n"
                               "7cd55W/QvKVr37fSTHWUlafKS2/BlNxEz6LSzCfcF8SWJOoN8REumN4D3rPF5sF5\n"
                               "HFHao0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4E\n"
                               "FgQUA5dnEeCWapnQCIa09MdIbhJp1F0wCgYIKoZIzj0EAwMDaQAwZgIxANKce78x\n"
                               "EO94VqyiZDswlfvFFDiMxQJosyjT2lXvzxpsC8vm4bebzLJB8wtpxkXIgQIxAPxA\n"
                               "LYteNp97Ni6nXf2S4Jj5Sg9ILNF4Wk5rOOZ/1dJLjPJzPc9ge6xQ054aZdT8VA==\n"
                               "-----END CERTIFICATE-----\n";

static const char pem_inter[] = "-----BEGIN CERTIFICATE-----\n"
                                "MIIB0jCCAVigAwIBAgICEAEwCgYIKoZIzj0EAwMwHTEbMBkGA1UEAwwSREdBIFRl\n"
                                "c3QgT0NTUCBSb290MB4XDTIwMDEwMTAwMDAwMFoXDTM1MTIzMTIzNTk1OVowJTEj\n"
                                "MCEGA1UEAwwaREdBIFRlc3QgT0NTUCBJbnRlcm1lZGlhdGUwdjAQBgcqhkjOPQIB\n"
                                "BgUrgQQAIgNiAAQ7X6XBePjPBA/r3FyW/Y1mP/pbfZ+6bWsodDrqVEev4dIlCKLm\n"
                                "vCB+8S7jaIuvwHVhHGSbqKEba94sjydTcxM/SoedXQxiqd7kcNHhlQWah+2EJpbQ\n"
                                "T4QaBmTqbcaNYcWjYzBhMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEG\n"
                                "MB0GA1UdDgQWBBQAgisE+SerjNLRFOPB1rFmckWQ9jAfBgNVHSMEGDAWgBQDl2cR\n"
                                "4JZqmdAIhrT0x0huEmnUXTAKBggqhkjOPQQDAwNoADBlAjB+PR/xsMbEGPFMXGXR\n"
                                "AjbUTnuE9Iw94SlIFJFkMjgbTZojwyzdpjU8Ct7FD+Jin4YCMQCh3Ifz2WstR9xw\n"
                                "zQTe68zZ2qx7V1scAMIbj9M2HBvh5GKlIZAaB6nvLjbIDs1Dnzc=\n"
                                "-----END CERTIFICATE-----\n";

static const char pem_leaf[] = "-----BEGIN CERTIFICATE-----\n"
                               "MIIByzCCAVCgAwIBAgICEAIwCgYIKoZIzj0EAwMwJTEjMCEGA1UEAwwaREdBIFRl\n"
                               "c3QgT0NTUCBJbnRlcm1lZGlhdGUwHhcNMjAwMTAxMDAwMDAwWhcNMzUxMjMxMjM1\n"
                               "OTU5WjAYMRYwFAYDVQQDDA1ER0EgVGVzdCBMZWFmMHYwEAYHKoZIzj0CAQYFK4EE\n"
                               "ACIDYgAEseZ66V/740mVaASOrQaqOsmz1IEUdnLBJ9iR1P7LKLaN3j+a5ww53wrq\n"
                               "eWGKklofhCOCNdhOVPP1/GT0cyucieU6Pi3isBp9HLVVDbHpnKoky4n5Aby71V5Y\n"
                               "+fKaHelro2AwXjAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIHgDAdBgNVHQ4E\n"
                               "FgQUmtNgKn0jzbGUqoiHUiyS1RKhinIwHwYDVR0jBBgwFoAUAIIrBPknq4zS0RTj\n"
                               "wdaxZnJFkPYwCgYIKoZIzj0EAwMDaQAwZgIxANqzq0OYmH/eijc6y0P2uBS1jGUF\n"
                               "5RVKKx5MZvt6fhhNzbKl35VMHXyGgeAbhv/ooAIxAOjrUp1xm+EQwT/D2G3wVhGv\n"
                               "jLOBxrnj6I31BOsi6f3Y5uf4JInmsGMUOMsmF9oLfA==\n"
                               "-----END CERTIFICATE-----\n";

static X509 *pem_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (x == NULL) {
        abort();
    }
    return x;
}

struct fuzz_pki {
    X509 *root, *inter, *leaf;
    STACK_OF(X509) *untrusted;
    struct dga_ocsp_request *req;
};

static const struct fuzz_pki *pki(void)
{
    static struct fuzz_pki p;
    if (p.root == NULL) {
        p.root = pem_cert(pem_root);
        p.inter = pem_cert(pem_inter);
        p.leaf = pem_cert(pem_leaf);
        p.untrusted = sk_X509_new_null();
        if (p.untrusted == NULL || sk_X509_push(p.untrusted, p.inter) <= 0 ||
            dga_ocsp_request_new(p.leaf, p.inter, true, &p.req) != DGA_E_OK) {
            abort();
        }
    }
    return &p;
}

/* The JSON collateral parsers: bundles and RIM service answers. */
static void fuzz_json(const uint8_t *data, size_t size)
{
    struct dga_ocsp_bundle b = {0};
    (void)dga_ocsp_bundle_from_json((const char *)data, size, &b, NULL);
    dga_ocsp_bundle_clear(&b);
    uint8_t *xml = NULL;
    size_t len = 0;
    if (dga_collateral_rim_answer(data, size, "NV_GPU_DRIVER_GH100_545.00", &xml, &len, NULL) ==
            DGA_E_OK &&
        len > (1u << 20)) {
        abort();
    }
    free(xml);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct fuzz_pki *p = pki();
    if (size > 0 && data[0] == '{') {
        fuzz_json(data, size);
    }
    char key[DGA_OCSP_KEY_LEN];
    (void)dga_ocsp_response_key(data, size, key);
    struct dga_ocsp_check c;
    dga_ocsp_check_init(&c, FUZZ_TIME, p->root);
    c.untrusted = p->untrusted;
    struct dga_ocsp_result r;
    struct dga_diag diag = {0};
    dga_err e = dga_ocsp_response_check(data, size, p->leaf, p->inter, NULL, &c, &r, &diag);
    /* Invariants: a status only with a valid response; an error always named. */
    if ((r.status != DGA_OCSP_STATUS_NONE) != r.response_valid || e != r.err ||
        (e != DGA_E_OK && diag.field == NULL)) {
        abort();
    }
    e = dga_ocsp_response_check(data, size, p->leaf, p->inter, p->req, &c, &r, NULL);
    /* Our request's nonce is random: no stored input can echo it. */
    if (r.nonce_matches || (r.response_valid && e != DGA_E_OCSP_NONCE)) {
        abort();
    }
    return 0;
}
