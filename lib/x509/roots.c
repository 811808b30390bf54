/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pinned NVIDIA roots (docs/formats.md §7), compiled in. Copied from
 * tests/fixtures/roots/ (tests/fixtures/PROVENANCE.md says where they come from).
 */
#include <string.h>

#include "core/cleanup.h"
#include "dga/x509.h"
#include "x509/internal.h"

/* NVIDIA Device Identity CA. SHA-256 (DER)
 * 10:2B:F6:59:D5:41:96:14:C9:D8:E6:AE:CE:BC:80:45:4E:B2:6B:1D:F6:A7:69:AC:72:0B:9A:69:0B:16:7B:48
 */
static const char nvidia_device_root_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICCzCCAZCgAwIBAgIQLTZwscoQBBHB/sDoKgZbVDAKBggqhkjOPQQDAzA1MSIw\n"
    "IAYDVQQDDBlOVklESUEgRGV2aWNlIElkZW50aXR5IENBMQ8wDQYDVQQKDAZOVklE\n"
    "SUEwIBcNMjExMTA1MDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMDUxIjAgBgNVBAMM\n"
    "GU5WSURJQSBEZXZpY2UgSWRlbnRpdHkgQ0ExDzANBgNVBAoMBk5WSURJQTB2MBAG\n"
    "ByqGSM49AgEGBSuBBAAiA2IABA5MFKM7+KViZljbQSlgfky/RRnEQScW9NDZF8SX\n"
    "gAW96r6u/Ve8ZggtcYpPi2BS4VFu6KfEIrhN6FcHG7WP05W+oM+hxj7nyA1r1jkB\n"
    "2Ry70YfThX3Ba1zOryOP+MJ9vaNjMGEwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8B\n"
    "Af8EBAMCAQYwHQYDVR0OBBYEFFeF/4PyY8xlfWi3Olv0jUrL+0lfMB8GA1UdIwQY\n"
    "MBaAFFeF/4PyY8xlfWi3Olv0jUrL+0lfMAoGCCqGSM49BAMDA2kAMGYCMQCPeFM3\n"
    "TASsKQVaT+8S0sO9u97PVGCpE9d/I42IT7k3UUOLSR/qvJynVOD1vQKVXf0CMQC+\n"
    "EY55WYoDBvs2wPAH1Gw4LbcwUN8QCff8bFmV4ZxjCRr4WXTLFHBKjbfneGSBWwA=\n"
    "-----END CERTIFICATE-----\n";

/* NVIDIA CoRIM signing Root CA. SHA-256 (DER)
 * 12:97:7B:51:15:AC:B0:38:11:79:27:9F:FF:EB:5A:8C:4D:26:49:71:EB:B3:22:98:02:3A:46:5F:A4:1D:F5:D1
 */
static const char nvidia_rim_root_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICKTCCAbCgAwIBAgIQRdrjoA5QN73fh1N17LXicDAKBggqhkjOPQQDAzBFMQsw\n"
    "CQYDVQQGEwJVUzEPMA0GA1UECgwGTlZJRElBMSUwIwYDVQQDDBxOVklESUEgQ29S\n"
    "SU0gc2lnbmluZyBSb290IENBMCAXDTIzMDMxNjE1MzczNFoYDzIwNTMwMzA4MTUz\n"
    "NzM0WjBFMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGTlZJRElBMSUwIwYDVQQDDBxO\n"
    "VklESUEgQ29SSU0gc2lnbmluZyBSb290IENBMHYwEAYHKoZIzj0CAQYFK4EEACID\n"
    "YgAEuECyi9vNM+Iw2lfUzyBldHAwaC1HF7TCgp12QcEyUTm3Tagxwr48d55+K2VI\n"
    "lWYIDk7NlAIQdcV/Ff7euGLI+Qauj93HsSI4WX298PpW54RTgz9tC+Q684caR/BX\n"
    "WEeZo2MwYTAdBgNVHQ4EFgQUpaXrOPK4ZDAk08DBskn594zeZjAwHwYDVR0jBBgw\n"
    "FoAUpaXrOPK4ZDAk08DBskn594zeZjAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8B\n"
    "Af8EBAMCAQYwCgYIKoZIzj0EAwMDZwAwZAIwHGDyscDP6ihHqRvZlI3eqZ4YkvjE\n"
    "1duaN84tAHRVgxVMvNrp5Tnom3idHYGW/dskAjATvjIx6VzHm/4e2GiZAyZEIUBD\n"
    "OKPzp5ei/A0iUZpdvngenDwV8Qa/wGdiTmJ7Bp4=\n"
    "-----END CERTIFICATE-----\n";

/* Exactly one certificate in pem, else DGA_E_BAD_PEM (or the parser's error). */
static dga_err trust_load(const char *pem, size_t len, bool custom, struct dga_trust *ret)
{
    _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *certs = NULL;
    if (ret == NULL) {
        return DGA_E_BAD_ARGUMENT;
    }
    dga_err e = dga_pem_chain_parse(pem, len, &certs, NULL);
    if (e != DGA_E_OK) {
        return e;
    }
    if (sk_X509_num(certs) != 1) {
        return DGA_E_BAD_PEM;
    }
    ret->root = sk_X509_shift(certs);
    ret->custom = custom;
    x509_cache_extensions(ret->root); /* roots are shared by concurrent verifications */
    return DGA_E_OK;
}

dga_err dga_trust_nvidia_device(struct dga_trust *ret)
{
    return trust_load(nvidia_device_root_pem, sizeof nvidia_device_root_pem - 1, false, ret);
}

dga_err dga_trust_nvidia_rim(struct dga_trust *ret)
{
    return trust_load(nvidia_rim_root_pem, sizeof nvidia_rim_root_pem - 1, false, ret);
}

dga_err dga_trust_from_pem(const char *pem, size_t len, struct dga_trust *ret)
{
    return trust_load(pem, len, true, ret);
}

void dga_trust_clear(struct dga_trust *t)
{
    if (t != NULL) {
        X509_free(t->root);
        memset(t, 0, sizeof *t);
    }
}
