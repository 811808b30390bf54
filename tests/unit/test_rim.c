/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RIM layer: safe parsing, data read only at fixed paths, NVIDIA's XML-DSig
 * profile on libxml2 C14N 1.1 (canonical-form vectors of a real RIM), the signing chain to
 * the CoRIM root. Every negative case asserts the exact error; hand-made
 * documents are edits of a genuine RIM's text in memory. Times are pinned,
 * never the wall clock.
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/xmlerror.h>
#include <openssl/evp.h>

#include "testutil.h"

#include "core/buf.h"
#include "core/cleanup.h"
#include "dga/rim.h"
#include "dga/util.h"
#include "dga/x509.h"
#include "rim/internal.h"

#define T_2024 "2024-06-01T00:00:00Z"
#define T_2026 "2026-06-01T00:00:00Z"
#define T_2027 "2027-01-01T00:00:00Z"

#define RIM_DRIVER "rims/valid/NV_GPU_DRIVER_GH100_550.144.03.xml"
#define RIM_BAD_SIG "rims/bad_signature/NV_GPU_DRIVER_GH100_550.144.03.xml"
#define RIM_DEBUG "rims/debug_root_chain/incorrect_cert_chain_driver_rim.xml"
#define RIM_TAMPERED_EXPIRED "rims/tampered_expired/NV_GPU_DRIVER_GH100_570.124.03.xml"
#define RIM_545_DRIVER "gpu/h100_545.00/rims/NV_GPU_DRIVER_GH100_545.00.xml"
#define RIM_545_VBIOS "gpu/h100_545.00/rims/NV_GPU_VBIOS_1010_0200_882_96005E0001.xml"
#define RIM_535_VBIOS "gpu/h100_535.86.09/rims/NV_GPU_VBIOS_1010_0200_882_96005E0001.xml"
#define RIM_535_REISSUED                                                                           \
    "gpu/h100_535.86.09/rims_reissued/NV_GPU_VBIOS_1010_0200_882_96005E0001.xml"
#define RIM_535_TAMPERED "gpu/h100_535.86.09/rims_tampered/NV_GPU_DRIVER_GH100_535.86.09.xml"
#define RIM_LS10 "nvswitch/ls10_96.10.55.00.01/rims/NV_SWITCH_BIOS_5612_0002_890_9610550001.xml"
#define RIM_LS10_TAMPERED                                                                          \
    "nvswitch/ls10_96.10.55.00.01/rims_tampered/NV_SWITCH_BIOS_5612_0002_890_9610550001.xml"
#define WRONG_ROOT "rims/wrong_root_l4_signer.crt"
#define DEVICE_ROOT "roots/nvidia_device_identity_ca.pem"

static const char *const vbios_valid[] = {
    "rims/valid/NV_GPU_VBIOS_1010_0205_862_96005E0004.xml",
    "rims/valid/NV_GPU_VBIOS_1010_0205_862_9600740020.xml",
    "rims/valid/NV_GPU_VBIOS_G520_0200_885_9600740001.xml",
    "rims/valid/NV_GPU_VBIOS_G520_0202_885_96006D0008.xml",
};

static const char *const all_rims[] = {
    RIM_DRIVER,
    RIM_BAD_SIG,
    RIM_DEBUG,
    RIM_TAMPERED_EXPIRED,
    RIM_545_DRIVER,
    RIM_545_VBIOS,
    RIM_535_VBIOS,
    RIM_535_REISSUED,
    RIM_535_TAMPERED,
    RIM_LS10,
    RIM_LS10_TAMPERED,
    "rims/valid/NV_GPU_VBIOS_1010_0205_862_96005E0004.xml",
    "rims/valid/NV_GPU_VBIOS_1010_0205_862_9600740020.xml",
    "rims/valid/NV_GPU_VBIOS_G520_0200_885_9600740001.xml",
    "rims/valid/NV_GPU_VBIOS_G520_0202_885_96006D0008.xml",
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- helpers */

static time_t at(const char *text)
{
    time_t t = 0;
    assert_int_equal(dga_time_parse(text, &t), DGA_E_OK);
    return t;
}

static struct dga_rim *parse_ok(const char *text, size_t len)
{
    struct dga_rim *rim = NULL;
    struct dga_diag diag = {0};
    dga_err e = dga_rim_parse((const uint8_t *)text, len, &rim, &diag);
    if (e != DGA_E_OK) {
        fail_msg("parse: %s at %s line %zu", dga_err_name(e), diag.field, diag.offset);
    }
    return rim;
}

static struct dga_rim *load(const char *rel)
{
    size_t len;
    _cleanup_(freep) uint8_t *xml = fixture_read(rel, &len);
    return parse_ok((const char *)xml, len);
}

static char *load_text(const char *rel)
{
    return (char *)fixture_read(rel, NULL);
}

/* Parse expected to fail with e; returns the diag. */
static struct dga_diag parse_fails(const char *text, dga_err e)
{
    struct dga_rim *rim = NULL;
    struct dga_diag diag = {0};
    dga_err got = dga_rim_parse((const uint8_t *)text, strlen(text), &rim, &diag);
    if (got != e) {
        fail_msg("expected %s, got %s (%s line %zu)", dga_err_name(e), dga_err_name(got),
                 diag.field != NULL ? diag.field : "-", diag.offset);
    }
    assert_null(rim);
    assert_int_equal(diag.err, e);
    return diag;
}

/* doc with the first occurrence of `find` replaced by `repl` (malloc'd). */
static char *edit(const char *doc, const char *find, const char *repl)
{
    const char *hit = strstr(doc, find);
    if (hit == NULL) {
        fail_msg("edit: '%s' not found", find);
    }
    size_t head = (size_t)(hit - doc), flen = strlen(find), rlen = strlen(repl);
    size_t tail = strlen(hit + flen);
    char *out = malloc(head + rlen + tail + 1);
    assert_non_null(out);
    memcpy(out, doc, head);
    memcpy(out + head, repl, rlen);
    memcpy(out + head + rlen, hit + flen, tail + 1);
    return out;
}

/* Every occurrence replaced. */
static char *edit_all(const char *doc, const char *find, const char *repl)
{
    char *cur = strdup(doc);
    assert_non_null(cur);
    size_t from = 0;
    for (;;) {
        const char *hit = strstr(cur + from, find);
        if (hit == NULL) {
            return cur;
        }
        size_t pos = (size_t)(hit - cur);
        char *tmp = malloc(strlen(cur) - strlen(find) + strlen(repl) + 1);
        assert_non_null(tmp);
        memcpy(tmp, cur, pos);
        strcpy(tmp + pos, repl);
        strcat(tmp, cur + pos + strlen(find));
        free(cur);
        cur = tmp;
        from = pos + strlen(repl);
    }
}

static size_t active_count(const struct dga_rim *rim)
{
    size_t n = 0;
    for (size_t i = 0; i < rim->n_measurements; i++) {
        n += rim->measurements[i].active ? 1 : 0;
    }
    return n;
}

static X509 *signer_of(const struct dga_rim *rim)
{
    assert_true(sk_X509_num(rim->certs) > 0);
    return sk_X509_value(rim->certs, 0);
}

static dga_err verify_sig(const struct dga_rim *rim, struct dga_diag *diag)
{
    return dga_rim_signature_verify(rim, signer_of(rim), diag);
}

static struct dga_trust rim_trust(void)
{
    struct dga_trust t = {0};
    assert_int_equal(dga_trust_nvidia_rim(&t), DGA_E_OK);
    return t;
}

static dga_err chain_at(const struct dga_rim *rim, const char *when, struct dga_chain_info *info,
                        struct dga_diag *diag)
{
    struct dga_trust t = rim_trust();
    dga_err e = dga_rim_chain_verify(rim, &t, at(when), info, diag);
    dga_trust_clear(&t);
    return e;
}

static void sha384_hex(const uint8_t *p, size_t n, char out[97])
{
    uint8_t md[48];
    unsigned md_len = 0;
    assert_int_equal(EVP_Digest(p, n, md, &md_len, EVP_sha384(), NULL), 1);
    assert_int_equal(md_len, 48);
    dga_hex_encode(md, 48, out);
}

/* A fully valid document: parses, signature verifies, chain valid at `when`. */
static void assert_valid(const char *rel, const char *when, size_t active)
{
    _cleanup_(dga_rim_freep) struct dga_rim *rim = load(rel);
    struct dga_diag diag = {0};
    struct dga_chain_info info;
    assert_int_equal(active_count(rim), active);
    assert_int_equal(verify_sig(rim, &diag), DGA_E_OK);
    assert_int_equal(chain_at(rim, when, &info, &diag), DGA_E_OK);
    assert_false(info.expired);
    assert_false(info.not_yet_valid);
    assert_string_equal(info.ueid, "");
    assert_false(info.leaf_has_fwid);
}

/* The 550.144.03 driver RIM edited; signature verification expected to fail with e. */
static struct dga_diag driver_edit_sig_fails(const char *find, const char *repl, dga_err e)
{
    _cleanup_(freep) char *doc = load_text(RIM_DRIVER);
    _cleanup_(freep) char *bad = edit(doc, find, repl);
    _cleanup_(dga_rim_freep) struct dga_rim *rim = parse_ok(bad, strlen(bad));
    struct dga_diag diag = {0};
    dga_err got = verify_sig(rim, &diag);
    if (got != e) {
        fail_msg("expected %s, got %s (%s)", dga_err_name(e), dga_err_name(got),
                 diag.field != NULL ? diag.field : "-");
    }
    return diag;
}

static struct dga_diag driver_edit_parse_fails(const char *find, const char *repl, dga_err e)
{
    _cleanup_(freep) char *doc = load_text(RIM_DRIVER);
    _cleanup_(freep) char *bad = edit(doc, find, repl);
    return parse_fails(bad, e);
}

/* ---------------------------------------------------------------- parsing */

static void test_parse_driver(void **state)
{
    (void)state;
    size_t len;
    _cleanup_(freep) uint8_t *xml = fixture_read(RIM_DRIVER, &len);
    _cleanup_(dga_rim_freep) struct dga_rim *rim = parse_ok((const char *)xml, len);
    assert_string_equal(rim->colloquial_version, "550.144.03");
    assert_string_equal(rim->manufacturer_id, "5703");
    assert_string_equal(rim->product, "GH100");
    assert_string_equal(rim->edition, "GPU");
    assert_string_equal(rim->tag_id,
                        "8aa5c875798aecff29b7e3ca2e564ccbda4d47c37276f44f927ffc2ca17d84b1"
                        "ec3198c69854bbe1556270c1feb493cd");
    assert_int_equal(rim->n_measurements, 64);
    assert_int_equal(active_count(rim), 21);
    assert_int_equal(sk_X509_num(rim->certs), 4);
    for (size_t i = 0; i < rim->n_measurements; i++) {
        assert_int_equal(rim->measurements[i].index, i); /* document order */
        assert_int_equal(rim->measurements[i].size, 48);
    }

    const struct dga_rim_measurement *m = dga_rim_active(rim, 35);
    assert_non_null(m);
    assert_int_equal(m->alternatives, 4);
    assert_string_equal(m->name, "Measurement_35");
    char hex[97];
    dga_hex_encode(m->hash[0], 48, hex);
    assert_string_equal(hex, "909cabeb46f75ccde1d0a4b0f26c7f891b5daa2c3681b14cd7be9addc3266a0c"
                             "b93be11034e0b1fafe8dff7285e6acba");
    dga_hex_encode(m->hash[3], 48, hex);
    assert_string_equal(hex, "c0962ed90316ecea959dd0b6632d0c4f4d3bfbf72c4cd9031efe48154ed9ca59"
                             "b41cd20ce06a7f9ca5cd8b0687cf1258");
    assert_non_null(dga_rim_active(rim, 7));
    assert_null(dga_rim_active(rim, 0));   /* present but inactive */
    assert_null(dga_rim_active(rim, 41));  /* inactive */
    assert_null(dga_rim_active(rim, 200)); /* absent */
    assert_null(dga_rim_active(NULL, 7));

    uint8_t sha[32];
    assert_int_equal(EVP_Digest(xml, len, sha, NULL, EVP_sha256(), NULL), 1);
    assert_memory_equal(rim->sha256, sha, 32);
}

static void test_parse_counts(void **state)
{
    (void)state;
    static const struct {
        const char *rel;
        const char *version;
        size_t active;
    } cases[] = {
        {RIM_545_DRIVER, "545.00", 21},        {RIM_545_VBIOS, "96.00.5E.00.01", 12},
        {RIM_535_VBIOS, "96.00.5E.00.01", 12}, {RIM_535_REISSUED, "96.00.5E.00.01", 12},
        {RIM_LS10, "96.10.55.00.01", 31},      {RIM_DEBUG, "97.00.83.00.09", 20},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        _cleanup_(dga_rim_freep) struct dga_rim *rim = load(cases[i].rel);
        assert_string_equal(rim->colloquial_version, cases[i].version);
        assert_string_equal(rim->manufacturer_id, "5703");
        assert_int_equal(active_count(rim), cases[i].active);
    }
    _cleanup_(dga_rim_freep) struct dga_rim *ls10 = load(RIM_LS10);
    assert_string_equal(ls10->product, "LS10");
    assert_string_equal(ls10->edition, "SWITCH");
    for (unsigned i = 0; i < 31; i++) {
        assert_non_null(dga_rim_active(ls10, i));
    }
    assert_int_equal(dga_rim_active(ls10, 9)->alternatives, 4);
}

/* The re-issued VBIOS RIM differs from the original at index 9 only (docs/rim.md, Stores). */
static void test_reissued_differs_at_9(void **state)
{
    (void)state;
    _cleanup_(dga_rim_freep) struct dga_rim *a = load(RIM_535_VBIOS);
    _cleanup_(dga_rim_freep) struct dga_rim *b = load(RIM_535_REISSUED);
    assert_int_equal(a->n_measurements, b->n_measurements);
    assert_string_equal(a->tag_id, b->tag_id);
    size_t differing = 0;
    for (size_t i = 0; i < a->n_measurements; i++) {
        const struct dga_rim_measurement *x = &a->measurements[i], *y = &b->measurements[i];
        if (memcmp(x, y, sizeof *x) != 0) {
            differing++;
            assert_int_equal(x->index, 9);
            assert_true(x->active);
            char hex[97];
            dga_hex_encode(y->hash[0], 48, hex);
            assert_memory_equal(hex, "059b32e7", 8);
            dga_hex_encode(x->hash[0], 48, hex);
            assert_memory_equal(hex, "7f3e9382", 8);
        }
    }
    assert_int_equal(differing, 1);
    assert_memory_not_equal(a->sha256, b->sha256, 32);
}

static void test_parse_arguments(void **state)
{
    (void)state;
    struct dga_rim *rim = NULL;
    struct dga_diag diag = {0};
    assert_int_equal(dga_rim_parse(NULL, 5, &rim, &diag), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_rim_parse((const uint8_t *)"<a/>", 4, NULL, &diag), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_rim_parse((const uint8_t *)"", 0, &rim, &diag), DGA_E_RIM_XML);
    assert_null(rim);
    dga_rim_free(NULL);

    _cleanup_(freep) uint8_t *big = calloc(1, DGA_RIM_MAX_BYTES + 1);
    assert_non_null(big);
    memset(big, ' ', DGA_RIM_MAX_BYTES + 1);
    assert_int_equal(dga_rim_parse(big, DGA_RIM_MAX_BYTES + 1, &rim, &diag), DGA_E_TOO_LARGE);
    assert_null(rim);
}

static void test_not_xml(void **state)
{
    (void)state;
    parse_fails("hello", DGA_E_RIM_XML);
    parse_fails("<SoftwareIdentity", DGA_E_RIM_XML);
    parse_fails("<a><b></a>", DGA_E_RIM_XML);
    parse_fails("{\"rim\": \"x\"}", DGA_E_RIM_XML);
    /* an undefined prefix is a namespace error libxml2 would let through */
    driver_edit_parse_fails("<ns0:Entity ", "<zz:Entity ", DGA_E_RIM_XML);
    /* two attributes with one expanded name (both prefixes bound to the sha384 URI) */
    driver_edit_parse_fails("ns2:Hash0=", "SHA384:Hash0=\"00\" ns2:Hash0=", DGA_E_RIM_XML);
}

static void test_dtd_rejected(void **state)
{
    (void)state;
    _cleanup_(freep) char *doc = load_text(RIM_DRIVER);
    static const char *const prologs[] = {
        "<!DOCTYPE SoftwareIdentity>",
        "<!DOCTYPE SoftwareIdentity [<!ENTITY x \"y\">]>",
        "<!DOCTYPE SoftwareIdentity SYSTEM \"http://127.0.0.1/x.dtd\">",
        "<!DOCTYPE SoftwareIdentity SYSTEM \"file:///etc/passwd\">",
        "<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
        "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d "
        "\"&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>",
    };
    for (size_t i = 0; i < N_ELEMS(prologs); i++) {
        size_t n = strlen(prologs[i]) + strlen(doc) + 1;
        _cleanup_(freep) char *bad = malloc(n);
        assert_non_null(bad);
        snprintf(bad, n, "%s%s", prologs[i], doc);
        struct dga_diag d = parse_fails(bad, DGA_E_RIM_DTD);
        assert_string_equal(d.field, "DOCTYPE");
    }
    /* entity use with the declaration, and an undeclared entity without any DTD */
    _cleanup_(freep) char *with_ref = edit(doc, "name=\"GH100\"", "name=\"&x;\"");
    size_t n = strlen(with_ref) + 64;
    _cleanup_(freep) char *declared = malloc(n);
    assert_non_null(declared);
    snprintf(declared, n, "<!DOCTYPE SoftwareIdentity [<!ENTITY x \"y\">]>%s", with_ref);
    parse_fails(declared, DGA_E_RIM_DTD);
    parse_fails(with_ref, DGA_E_RIM_DTD);
    _cleanup_(freep) char *in_text = edit(doc, "</ns0:Payload>", "&x;</ns0:Payload>");
    parse_fails(in_text, DGA_E_RIM_DTD);
    /* XInclude is never processed: its element is rejected */
    struct dga_diag d =
        driver_edit_parse_fails("</ns0:Payload>",
                                "<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" "
                                "href=\"/etc/passwd\"/></ns0:Payload>",
                                DGA_E_RIM_DTD);
    assert_string_equal(d.field, "XInclude");
}

static void test_structure(void **state)
{
    (void)state;
    struct dga_diag d;
    d = driver_edit_parse_fails("<ns0:Payload", "<ns0:Meta colloquialVersion=\"1\"/><ns0:Payload",
                                DGA_E_RIM_STRUCTURE);
    assert_string_equal(d.field, "Meta");
    d = driver_edit_parse_fails("</ns0:Payload>", "</ns0:Payload><ns0:Payload/>",
                                DGA_E_RIM_STRUCTURE);
    assert_string_equal(d.field, "Payload");
    d = driver_edit_parse_fails("<ns0:Meta ", "<ns0:Metadata ", DGA_E_RIM_STRUCTURE);
    assert_string_equal(d.field, "Meta");
    /* a second Signature at the root */
    d = driver_edit_parse_fails("</SoftwareIdentity>",
                                "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/>"
                                "</SoftwareIdentity>",
                                DGA_E_RIM_STRUCTURE);
    assert_string_equal(d.field, "Signature");
    /* the root in another namespace, or another name */
    d = driver_edit_parse_fails(
        "<SoftwareIdentity xmlns=\"http://standards.iso.org/iso/19770/-2/2015/schema.xsd\"",
        "<SoftwareIdentity xmlns=\"urn:x\"", DGA_E_RIM_STRUCTURE);
    assert_string_equal(d.field, "SoftwareIdentity");
    /* Meta in the right namespace under another prefix is still Meta (match by URI) */
    _cleanup_(freep) char *doc = load_text(RIM_DRIVER);
    _cleanup_(freep) char *renamed = edit_all(doc, "ns0:", "swid:");
    _cleanup_(freep) char *renamed2 = edit(renamed, "xmlns:ns0=", "xmlns:swid=");
    _cleanup_(dga_rim_freep) struct dga_rim *rim = parse_ok(renamed2, strlen(renamed2));
    assert_int_equal(active_count(rim), 21);
    /* no certificate */
    _cleanup_(freep) char *no_certs = edit_all(doc, "ds:X509Certificate>", "ds:Other>");
    d = parse_fails(no_certs, DGA_E_RIM_STRUCTURE);
    assert_string_equal(d.field, "X509Certificate");
}

static void test_attributes(void **state)
{
    (void)state;
    static const struct {
        const char *find, *repl, *field;
    } cases[] = {
        {"index=\"7\" active=\"True\"", "index=\"7\" active=\"true\"", "active"},
        {"index=\"7\" active=\"True\"", "index=\"7\" active=\"1\"", "active"},
        {"index=\"7\" active=\"True\"", "index=\"7\"", "active"},
        {"index=\"7\" active", "index=\"-7\" active", "index"},
        {"index=\"7\" active", "index=\"+7\" active", "index"},
        {"index=\"7\" active", "index=\" 7\" active", "index"},
        {"index=\"7\" active", "index=\"0x7\" active", "index"},
        {"index=\"7\" active", "index=\"256\" active", "index"},
        {"index=\"7\" active", "index=\"99999999999999999999\" active", "index"},
        {"index=\"7\" active", "index=\"\" active", "index"},
        {"index=\"7\" active", "active", "index"},
        {"active=\"True\" alternatives=\"1\"", "active=\"True\" alternatives=\"0\"",
         "alternatives"},
        {"active=\"True\" alternatives=\"1\"", "active=\"True\" alternatives=\"17\"",
         "alternatives"},
        {"name=\"Measurement_7\"", "", "name"},
        {"name=\"Measurement_7\"",
         "name=\"0123456789012345678901234567890123456789012345678901234567890123\"", "name"},
        {"name=\"Measurement_7\" size=\"48\"", "name=\"Measurement_7\" size=\"4 8\"", "size"},
        {"name=\"Measurement_7\" size=\"48\"", "name=\"Measurement_7\"", "size"},
        {"colloquialVersion=\"550.144.03\"", "", "colloquialVersion"},
        {"colloquialVersion=\"550.144.03\"", "colloquialVersion=\"\"", "colloquialVersion"},
        {"ns1:FirmwareManufacturerId=\"5703\"", "FirmwareManufacturerId=\"5703\"",
         "FirmwareManufacturerId"},
        {"edition=\"GPU\"",
         "edition=\"0123456789012345678901234567890123456789012345678901234567890123456789\"",
         "edition"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        struct dga_diag d =
            driver_edit_parse_fails(cases[i].find, cases[i].repl, DGA_E_RIM_ATTRIBUTE);
        assert_string_equal(d.field, cases[i].field);
    }
    /* diag->offset is the line of the element (the driver RIM: one Resource per line) */
    struct dga_diag d = driver_edit_parse_fails("index=\"7\" active=\"True\"",
                                                "index=\"7\" active=\"true\"", DGA_E_RIM_ATTRIBUTE);
    assert_int_equal(d.offset,
                     12); /* line 1 root, 2 Entity, 3 Meta, 4 Payload, 5.. Resources 0.. */
}

static void test_hash_attributes(void **state)
{
    (void)state;
    _cleanup_(freep) char *doc = load_text(RIM_DRIVER);
    /* index 23 has alternatives="2": drop its Hash1 */
    const char *r23 = strstr(doc, "index=\"23\"");
    assert_non_null(r23);
    const char *h1 = strstr(r23, " ns2:Hash1=\"");
    assert_non_null(h1);
    char hash1_attr[128];
    memcpy(hash1_attr, h1, 12 + 96 + 1);
    hash1_attr[12 + 96 + 1] = '\0';
    _cleanup_(freep) char *no_h1 = edit(doc, hash1_attr, "");
    struct dga_diag d = parse_fails(no_h1, DGA_E_RIM_ATTRIBUTE);
    assert_string_equal(d.field, "Hash1");

    /* a Hash in no namespace, or in another one, is not a Hash */
    d = driver_edit_parse_fails("ns2:Hash0=\"909c", "Hash0=\"909c", DGA_E_RIM_ATTRIBUTE);
    assert_string_equal(d.field, "Hash0");
    /* 95 and 97 hex characters, a non-hex character */
    d = driver_edit_parse_fails("ns2:Hash0=\"909c", "ns2:Hash0=\"09c", DGA_E_RIM_ATTRIBUTE);
    assert_string_equal(d.field, "Hash0");
    driver_edit_parse_fails("ns2:Hash0=\"909c", "ns2:Hash0=\"9909c", DGA_E_RIM_ATTRIBUTE);
    driver_edit_parse_fails("ns2:Hash0=\"909c", "ns2:Hash0=\"g09c", DGA_E_RIM_ATTRIBUTE);
    driver_edit_parse_fails("ns2:Hash0=\"909c", "ns2:Hash0=\" 09c", DGA_E_RIM_ATTRIBUTE);

    /* upper case accepted; the SHA384 prefix (same URI, declared on Payload) works too */
    _cleanup_(freep) char *upper = edit(doc, "ns2:Hash0=\"909cabeb", "SHA384:Hash0=\"909CABEB");
    _cleanup_(dga_rim_freep) struct dga_rim *rim = parse_ok(upper, strlen(upper));
    _cleanup_(dga_rim_freep) struct dga_rim *orig = parse_ok(doc, strlen(doc));
    assert_memory_equal(dga_rim_active(rim, 35)->hash, dga_rim_active(orig, 35)->hash,
                        sizeof orig->measurements[0].hash);
}

static void test_duplicate_index(void **state)
{
    (void)state;
    /* index 21 is active, as is 7 */
    struct dga_diag d = driver_edit_parse_fails(
        "index=\"21\" active=\"True\"", "index=\"7\" active=\"True\"", DGA_E_RIM_DUPLICATE_INDEX);
    assert_string_equal(d.field, "index");
    /* duplicate inactive indices are not an error, nor inactive + active */
    _cleanup_(freep) char *doc = load_text(RIM_DRIVER);
    _cleanup_(freep) char *inactive =
        edit(doc, "index=\"1\" active=\"False\"", "index=\"0\" active=\"False\"");
    _cleanup_(dga_rim_freep) struct dga_rim *rim = parse_ok(inactive, strlen(inactive));
    assert_non_null(rim);
    _cleanup_(freep) char *mixed =
        edit(doc, "index=\"0\" active=\"False\"", "index=\"7\" active=\"False\"");
    _cleanup_(dga_rim_freep) struct dga_rim *rim2 = parse_ok(mixed, strlen(mixed));
    assert_true(dga_rim_active(rim2, 7)->active);
}

static void test_too_many(void **state)
{
    (void)state;
    _cleanup_(freep) char *doc = load_text(RIM_DRIVER);
    /* 64 Resources; add 193 more (inactive, distinct text) to reach 257 */
    struct buf extra = buf_init(1u << 20);
    for (int i = 0; i < 193; i++) {
        char line[512];
        snprintf(
            line, sizeof line,
            "<ns0:Resource type=\"Measurement\" index=\"%d\" active=\"False\" alternatives=\"1\" "
            "ns2:Hash0=\"%096d\" name=\"x\" size=\"48\"/>\n",
            i % 256, 0);
        assert_int_equal(buf_append_str(&extra, line), DGA_E_OK);
    }
    assert_int_equal(buf_append_str(&extra, "</ns0:Payload>"), DGA_E_OK);
    assert_int_equal(buf_terminate(&extra), DGA_E_OK);
    _cleanup_(freep) char *many = edit(doc, "</ns0:Payload>", (const char *)extra.data);
    struct dga_diag d = parse_fails(many, DGA_E_TOO_LARGE);
    assert_string_equal(d.field, "Resource");
    /* 192 more (256 in all) is fine; other Resource types are not counted */
    _cleanup_(freep) char *fewer = edit(
        many,
        "<ns0:Resource type=\"Measurement\" index=\"0\" active=\"False\" alternatives=\"1\" "
        "ns2:Hash0",
        "<ns0:Resource type=\"File\" index=\"0\" active=\"False\" alternatives=\"1\" ns2:Hash0");
    _cleanup_(dga_rim_freep) struct dga_rim *rim = parse_ok(fewer, strlen(fewer));
    assert_int_equal(rim->n_measurements, 256);
    buf_free(&extra);

    /* nine certificates */
    const char *c0 = strstr(doc, "<ds:X509Certificate>");
    const char *c0_end = strstr(doc, "</ds:X509Certificate>") + strlen("</ds:X509Certificate>");
    size_t one = (size_t)(c0_end - c0);
    struct buf certs = buf_init(1u << 20);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(buf_append(&certs, c0, one), DGA_E_OK);
    }
    assert_int_equal(buf_append_str(&certs, "</ds:X509Data>"), DGA_E_OK);
    assert_int_equal(buf_terminate(&certs), DGA_E_OK);
    _cleanup_(freep) char *nine = edit(doc, "</ds:X509Data>", (const char *)certs.data);
    d = parse_fails(nine, DGA_E_TOO_LARGE);
    assert_string_equal(d.field, "X509Certificate");
    buf_free(&certs);
}

static void test_bad_certificates(void **state)
{
    (void)state;
    struct dga_diag d;
    d = driver_edit_parse_fails("<ds:X509Certificate>MIICmjCC", "<ds:X509Certificate>!IICmjCC",
                                DGA_E_BAD_CERT);
    assert_string_equal(d.field, "X509Certificate");
    /* valid base64, not a certificate */
    driver_edit_parse_fails(
        "<ds:X509Certificate>MIICmjCC",
        "<ds:X509Certificate>AAAA</ds:X509Certificate><ds:X509Certificate>MIICmjCC",
        DGA_E_BAD_CERT);
    /* DER with a trailing byte: d2i must consume everything */
    _cleanup_(freep) char *doc = load_text(RIM_DRIVER);
    const char *start =
        strstr(doc, "<ds:X509Certificate>MIICKTCC") + strlen("<ds:X509Certificate>");
    const char *stop = strstr(start, "</ds:X509Certificate>");
    struct buf b64 = buf_init(4096);
    for (const char *c = start; c < stop; c++) {
        if (*c != '\n') {
            assert_int_equal(buf_append(&b64, c, 1), DGA_E_OK);
        }
    }
    _cleanup_(freep) uint8_t *der = NULL;
    size_t der_len = 0;
    assert_int_equal(dga_base64_decode((const char *)b64.data, b64.len, &der, &der_len), DGA_E_OK);
    buf_free(&b64);
    uint8_t longer[2048];
    assert_true(der_len + 1 <= sizeof longer);
    memcpy(longer, der, der_len);
    longer[der_len] = 0;
    char text[4096] = "<ds:X509Certificate>";
    size_t pre = strlen(text);
    EVP_EncodeBlock((unsigned char *)text + pre, longer, (int)der_len + 1);
    _cleanup_(freep) char *old_cert = strndup(start - pre, (size_t)(stop - start) + pre);
    assert_non_null(old_cert);
    _cleanup_(freep) char *trailing = edit(doc, old_cert, text);
    struct dga_diag d2 = parse_fails(trailing, DGA_E_BAD_CERT);
    assert_string_equal(d2.field, "X509Certificate");
    /* an element inside X509Certificate */
    driver_edit_parse_fails("<ds:X509Certificate>MIICmjCC", "<ds:X509Certificate><x/>MIICmjCC",
                            DGA_E_BAD_CERT);
}

/* Signed data is read only at fixed paths: nothing placed inside ds:Signature is extracted. */
static void test_wrapping_not_extracted(void **state)
{
    (void)state;
    static const char injected[] =
        "<ns0:Resource type=\"Measurement\" index=\"5\" active=\"True\" alternatives=\"1\" "
        "ns2:Hash0=\"111111111111111111111111111111111111111111111111111111111111111111111111111"
        "111111111111111111111\" name=\"evil\" size=\"48\"/>";
    _cleanup_(freep) char *doc = load_text(RIM_DRIVER);

    /* a Resource inside the Signature, and a Payload with a Resource inside KeyInfo */
    size_t n = strlen(injected) + 64;
    _cleanup_(freep) char *in_sig = malloc(n);
    assert_non_null(in_sig);
    snprintf(in_sig, n, "%s<ds:SignedInfo>", injected);
    _cleanup_(freep) char *a = edit(doc, "<ds:SignedInfo>", in_sig);
    _cleanup_(freep) char *in_ki = malloc(n + 64);
    assert_non_null(in_ki);
    snprintf(in_ki, n + 64, "<ns0:Payload>%s</ns0:Payload><ds:X509Data>", injected);
    _cleanup_(freep) char *b = edit(a, "<ds:X509Data>", in_ki);
    _cleanup_(freep) char *c = edit(b, "</ds:KeyInfo>",
                                    "<ns0:Meta colloquialVersion=\"evil\" "
                                    "xmlns:t=\"https://trustedcomputinggroup.org/resource/"
                                    "tcg-reference-integrity-manifest-rim-information-model/\" "
                                    "t:FirmwareManufacturerId=\"1\"/></ds:KeyInfo>");
    _cleanup_(dga_rim_freep) struct dga_rim *rim = parse_ok(c, strlen(c));
    assert_int_equal(rim->n_measurements, 64);
    assert_int_equal(active_count(rim), 21);
    assert_null(dga_rim_active(rim, 5));
    assert_string_equal(rim->colloquial_version, "550.144.03");
    assert_string_equal(rim->manufacturer_id, "5703");
    struct dga_diag d = {0};
    assert_int_equal(verify_sig(rim, &d), DGA_E_RIM_SIGNATURE_PROFILE);

    /* a second Signature inside Payload: parse reads root-level data only; the profile fails */
    _cleanup_(freep) char *second = edit(
        doc, "</ns0:Payload>",
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:KeyInfo><ds:X509Data>"
        "<ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"
        "</ns0:Payload>");
    _cleanup_(dga_rim_freep) struct dga_rim *rim2 = parse_ok(second, strlen(second));
    assert_int_equal(rim2->n_measurements, 64);
    assert_int_equal(sk_X509_num(rim2->certs), 4);
    d = (struct dga_diag){0};
    assert_int_equal(verify_sig(rim2, &d), DGA_E_RIM_SIGNATURE_PROFILE);
    assert_string_equal(d.field, "Signature");

    /* Measurements under a nested Payload inside Payload are not read either */
    _cleanup_(freep) char *nested_doc = malloc(n + 64);
    assert_non_null(nested_doc);
    snprintf(nested_doc, n + 64, "<ns0:Payload>%s</ns0:Payload></ns0:Payload>", injected);
    _cleanup_(freep) char *nested = edit(doc, "</ns0:Payload>", nested_doc);
    _cleanup_(dga_rim_freep) struct dga_rim *rim3 = parse_ok(nested, strlen(nested));
    assert_null(dga_rim_active(rim3, 5));
    d = (struct dga_diag){0};
    assert_int_equal(verify_sig(rim3, &d), DGA_E_RIM_DIGEST_MISMATCH);
}

/* Shape limits that keep libxml2's quadratic corners out of reach (parse.c). */
static void test_shape_limits(void **state)
{
    (void)state;
    _cleanup_(freep) char *doc = load_text(RIM_DRIVER);
    struct buf b = buf_init(1u << 20);
    struct dga_diag d;

    /* 65 attributes on one element; 64 is fine (Payload has one namespace declaration) */
    for (int i = 0; i < 63; i++) {
        char a[32];
        snprintf(a, sizeof a, " a%d=\"\"", i);
        assert_int_equal(buf_append_str(&b, a), DGA_E_OK);
    }
    assert_int_equal(buf_terminate(&b), DGA_E_OK);
    size_t n = b.len + 64;
    _cleanup_(freep) char *attrs64 = malloc(n);
    assert_non_null(attrs64);
    snprintf(attrs64, n, "<ns0:Payload%s ", (const char *)b.data);
    _cleanup_(freep) char *ok64 = edit(doc, "<ns0:Payload ", attrs64);
    _cleanup_(dga_rim_freep) struct dga_rim *rim = parse_ok(ok64, strlen(ok64));
    assert_non_null(rim);
    snprintf(attrs64, n, "<ns0:Payload%s b=\"\" ", (const char *)b.data);
    _cleanup_(freep) char *bad65 = edit(doc, "<ns0:Payload ", attrs64);
    d = parse_fails(bad65, DGA_E_TOO_LARGE);
    assert_string_equal(d.field, "attributes");
    buf_free(&b);

    /* 65 namespace declarations (the document has 6) */
    b = buf_init(1u << 20);
    for (int i = 0; i < 59; i++) {
        char a[64];
        snprintf(a, sizeof a, "<ns0:Entity xmlns:p%d=\"urn:p\"/>", i);
        assert_int_equal(buf_append_str(&b, a), DGA_E_OK);
    }
    assert_int_equal(buf_append_str(&b, "</ns0:Payload>"), DGA_E_OK);
    assert_int_equal(buf_terminate(&b), DGA_E_OK);
    _cleanup_(freep) char *many_ns = edit(doc, "</ns0:Payload>", (const char *)b.data);
    d = parse_fails(many_ns, DGA_E_TOO_LARGE);
    assert_string_equal(d.field, "namespace declarations");
    buf_free(&b);

    /* 17 levels of elements (Payload is level 2) */
    b = buf_init(1u << 20);
    for (int i = 0; i < 15; i++) {
        assert_int_equal(buf_append_str(&b, "<ns0:x>"), DGA_E_OK);
    }
    for (int i = 0; i < 15; i++) {
        assert_int_equal(buf_append_str(&b, "</ns0:x>"), DGA_E_OK);
    }
    assert_int_equal(buf_append_str(&b, "</ns0:Payload>"), DGA_E_OK);
    assert_int_equal(buf_terminate(&b), DGA_E_OK);
    _cleanup_(freep) char *deep = edit(doc, "</ns0:Payload>", (const char *)b.data);
    d = parse_fails(deep, DGA_E_TOO_LARGE);
    assert_string_equal(d.field, "element depth");
    _cleanup_(freep) char *deep16 = edit(deep, "<ns0:x></ns0:x>", "");
    _cleanup_(dga_rim_freep) struct dga_rim *rim16 = parse_ok(deep16, strlen(deep16));
    assert_non_null(rim16);
    buf_free(&b);

    /* more than 4096 elements */
    b = buf_init(1u << 20);
    for (int i = 0; i < 4096; i++) {
        assert_int_equal(buf_append_str(&b, "<ns0:x/>"), DGA_E_OK);
    }
    assert_int_equal(buf_append_str(&b, "</ns0:Payload>"), DGA_E_OK);
    assert_int_equal(buf_terminate(&b), DGA_E_OK);
    _cleanup_(freep) char *wide = edit(doc, "</ns0:Payload>", (const char *)b.data);
    d = parse_fails(wide, DGA_E_TOO_LARGE);
    assert_string_equal(d.field, "elements");
    buf_free(&b);
}

/* Read as UTF-8 whatever the document says; other encodings are refused. */
static void test_encodings(void **state)
{
    (void)state;
    _cleanup_(freep) char *doc = load_text(RIM_DRIVER);
    size_t len = strlen(doc);
    /* UTF-16LE with a byte-order mark */
    _cleanup_(freep) uint8_t *u16 = malloc(2 * len + 2);
    assert_non_null(u16);
    u16[0] = 0xFF;
    u16[1] = 0xFE;
    for (size_t i = 0; i < len; i++) {
        u16[2 + 2 * i] = (uint8_t)doc[i];
        u16[3 + 2 * i] = 0;
    }
    struct dga_rim *rim = NULL;
    struct dga_diag d = {0};
    assert_int_equal(dga_rim_parse(u16, 2 * len + 2, &rim, &d), DGA_E_RIM_XML);
    assert_string_equal(d.field, "encoding");
    /* EBCDIC's "<?xm" */
    static const uint8_t ebcdic[] = {0x4C, 0x6F, 0xA7, 0x94, 0x93, 0x40};
    assert_int_equal(dga_rim_parse(ebcdic, sizeof ebcdic, &rim, &d), DGA_E_RIM_XML);
    assert_string_equal(d.field, "encoding");
    /* a declared Latin-1 is ignored: ASCII parses, a Latin-1 byte is invalid UTF-8 */
    size_t n = len + 64;
    _cleanup_(freep) char *latin1 = malloc(n);
    assert_non_null(latin1);
    snprintf(latin1, n, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>%s", doc);
    _cleanup_(dga_rim_freep) struct dga_rim *ok = parse_ok(latin1, strlen(latin1));
    assert_int_equal(verify_sig(ok, &d), DGA_E_OK); /* the declaration is outside C14N */
    _cleanup_(freep) char *byte = edit(latin1, "NVIDIA Corporation", "NVIDIA Corporati\xf3n");
    parse_fails(byte, DGA_E_RIM_XML);
    /* a UTF-8 byte-order mark is fine */
    _cleanup_(freep) char *bom = malloc(len + 4);
    assert_non_null(bom);
    snprintf(bom, len + 4, "\xef\xbb\xbf%s", doc);
    _cleanup_(dga_rim_freep) struct dga_rim *ok2 = parse_ok(bom, strlen(bom));
    assert_int_equal(verify_sig(ok2, &d), DGA_E_OK);
}

/* Every truncation at a stride of 97 bytes fails cleanly. */
static void test_truncations(void **state)
{
    (void)state;
    size_t len;
    _cleanup_(freep) uint8_t *xml = fixture_read(RIM_DRIVER, &len);
    for (size_t cut = 0; cut < len; cut += 97) {
        struct dga_rim *rim = NULL;
        struct dga_diag d = {0};
        _cleanup_(freep) uint8_t *copy = malloc(cut + 1);
        assert_non_null(copy);
        memcpy(copy, xml, cut);
        assert_int_equal(dga_rim_parse(copy, cut, &rim, &d), DGA_E_RIM_XML);
        assert_null(rim);
    }
}

/* ------------------------------------------------------- canonicalization */

static void test_c14n_vectors(void **state)
{
    (void)state;
    _cleanup_(dga_rim_freep) struct dga_rim *rim = load(RIM_DRIVER);
    struct buf doc = buf_init(1u << 24);
    struct buf si = buf_init(1u << 20);
    char hex[97];

    assert_int_equal(rim_c14n_buf(rim, RIM_C14N_REFERENCE, &doc), DGA_E_OK);
    assert_int_equal(doc.len, 17667);
    sha384_hex(doc.data, doc.len, hex);
    assert_string_equal(hex, "06a3687f23c4c91e4141cc75a6701352959bc9e1f671d8de4afdca3f5df31280"
                             "e2493d97138635d23d0ab5d2a1d92631");
    static const char head[] = "<SoftwareIdentity xmlns=\"";
    static const char tail[] = "</ns0:Payload>\n</SoftwareIdentity>";
    assert_memory_equal(doc.data, head, strlen(head));
    assert_memory_equal(doc.data + doc.len - strlen(tail), tail, strlen(tail));

    assert_int_equal(rim_c14n_buf(rim, RIM_C14N_SIGNED_INFO, &si), DGA_E_OK);
    assert_int_equal(si.len, 896);
    sha384_hex(si.data, si.len, hex);
    assert_string_equal(hex, "51789d2556af1aae0de3100544e2372854bef8f102ebca04696199e8b7eea359"
                             "d5b71a2e670b9400c8015137b3ed2e60");
    static const char si_head[] =
        "<ds:SignedInfo xmlns=\"http://standards.iso.org/iso/19770/-2/2015/schema.xsd\" "
        "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" "
        "xmlns:ns0=\"http://standards.iso.org/iso/19770/-2/2015/schema.xsd\" "
        "xmlns:ns2=\"http://www.w3.org/2001/04/xmlenc#sha384\">";
    assert_memory_equal(si.data, si_head, strlen(si_head));
    assert_non_null(memmem(si.data, si.len, "></ds:Transform>", 16)); /* empty elements expanded */

    /* the sink's cap is honoured */
    struct buf small = buf_init(100);
    assert_int_equal(rim_c14n_buf(rim, RIM_C14N_REFERENCE, &small), DGA_E_TOO_LARGE);
    buf_free(&small);
    buf_free(&doc);
    buf_free(&si);
}

/* ------------------------------------------------------------- signatures */

static void test_valid_rims(void **state)
{
    (void)state;
    assert_valid(RIM_DRIVER, T_2026, 21);
    for (size_t i = 0; i < N_ELEMS(vbios_valid); i++) {
        assert_valid(vbios_valid[i], T_2024, 12);
    }
    assert_valid(RIM_545_DRIVER, T_2024, 21);
    assert_valid(RIM_545_VBIOS, T_2024, 12);
    assert_valid(RIM_535_VBIOS, T_2024, 12);
    assert_valid(RIM_535_REISSUED, T_2024, 12);
    assert_valid(RIM_LS10, T_2026, 31);
}

static void test_driver_chain_info(void **state)
{
    (void)state;
    _cleanup_(dga_rim_freep) struct dga_rim *rim = load(RIM_DRIVER);
    struct dga_chain_info info;
    struct dga_diag d = {0};
    assert_int_equal(chain_at(rim, T_2026, &info, &d), DGA_E_OK);
    assert_string_equal(info.hwmodel, "HCC RIM L4 Signer");
    assert_string_equal(info.expiration_date, "2026-12-30T16:56:50Z");
    assert_int_equal(info.not_after_min, at("2026-12-30T16:56:50Z"));
    assert_false(info.expired);
    assert_false(info.not_yet_valid);

    /* expired at 2027-01-01: reported, not an error */
    assert_int_equal(chain_at(rim, T_2027, &info, &d), DGA_E_OK);
    assert_true(info.expired);
    assert_false(info.not_yet_valid);
    /* not yet valid at 2024-06-01 (the L4 signer dates from 2024-12-30) */
    assert_int_equal(chain_at(rim, T_2024, &info, &d), DGA_E_OK);
    assert_false(info.expired);
    assert_true(info.not_yet_valid);
    /* the pinned root counts for the window: far in the future everything has expired */
    assert_int_equal(chain_at(rim, "2060-01-01T00:00:00Z", &info, &d), DGA_E_OK);
    assert_true(info.expired);

    /* LS10: its chain runs to 2028-05-19 (its L4 signer's notAfter) */
    _cleanup_(dga_rim_freep) struct dga_rim *ls10 = load(RIM_LS10);
    assert_int_equal(chain_at(ls10, T_2026, &info, &d), DGA_E_OK);
    assert_string_equal(info.expiration_date, "2027-11-02T23:59:59Z"); /* the L3 ends first */
    assert_string_equal(info.hwmodel, "NVIDIA Reference Value L4 LS10");
}

static void test_bad_signature(void **state)
{
    (void)state;
    _cleanup_(dga_rim_freep) struct dga_rim *rim = load(RIM_BAD_SIG);
    struct dga_diag d = {0};
    struct dga_chain_info info;
    assert_int_equal(verify_sig(rim, &d), DGA_E_RIM_SIGNATURE_INVALID);
    assert_string_equal(d.field, "SignatureValue");
    assert_int_equal(chain_at(rim, T_2026, &info, &d), DGA_E_OK);
    /* the digest is intact: the canonical document matches the genuine one */
    _cleanup_(dga_rim_freep) struct dga_rim *good = load(RIM_DRIVER);
    struct buf a = buf_init(1u << 24), b = buf_init(1u << 24);
    assert_int_equal(rim_c14n_buf(rim, RIM_C14N_REFERENCE, &a), DGA_E_OK);
    assert_int_equal(rim_c14n_buf(good, RIM_C14N_REFERENCE, &b), DGA_E_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    buf_free(&a);
    buf_free(&b);
    /* another document's signer key does not verify this one */
    _cleanup_(dga_rim_freep) struct dga_rim *ls10 = load(RIM_LS10);
    assert_int_equal(dga_rim_signature_verify(good, signer_of(ls10), &d),
                     DGA_E_RIM_SIGNATURE_INVALID);
    /* nor does the root's */
    assert_int_equal(dga_rim_signature_verify(good, sk_X509_value(good->certs, 3), &d),
                     DGA_E_RIM_SIGNATURE_INVALID);
}

static void test_tampered(void **state)
{
    (void)state;
    static const char *const tampered[] = {RIM_535_TAMPERED, RIM_LS10_TAMPERED,
                                           RIM_TAMPERED_EXPIRED};
    for (size_t i = 0; i < N_ELEMS(tampered); i++) {
        _cleanup_(dga_rim_freep) struct dga_rim *rim = load(tampered[i]);
        struct dga_diag d = {0};
        assert_int_equal(verify_sig(rim, &d), DGA_E_RIM_DIGEST_MISMATCH);
        assert_string_equal(d.field, "DigestValue");
    }
    /* one changed hex digit of the genuine document */
    driver_edit_sig_fails("ns2:Hash0=\"909c", "ns2:Hash0=\"909d", DGA_E_RIM_DIGEST_MISMATCH);
    /* text outside the Signature is signed; whitespace inside KeyInfo is not */
    driver_edit_sig_fails("    <ns0:Payload", "     <ns0:Payload", DGA_E_RIM_DIGEST_MISMATCH);
    driver_edit_sig_fails("</ds:X509Certificate></ds:X509Data>",
                          "</ds:X509Certificate>\n  </ds:X509Data>", DGA_E_OK);
    /* the SignatureValue may be wrapped */
    driver_edit_sig_fails("TM4DnjO+vWfG", "TM4D\n njO+vWfG", DGA_E_OK);
}

static void test_debug_root_chain(void **state)
{
    (void)state;
    _cleanup_(dga_rim_freep) struct dga_rim *rim = load(RIM_DEBUG);
    struct dga_diag d = {0};
    struct dga_chain_info info;
    assert_int_equal(sk_X509_num(rim->certs), 2);
    /* the XML signature is genuine for its own leaf ... */
    assert_int_equal(verify_sig(rim, &d), DGA_E_OK);
    /* ... but the chain ends in the debug root, not the pinned CoRIM root */
    memset(&info, 0x5a, sizeof info);
    struct dga_chain_info before = info;
    assert_int_equal(chain_at(rim, T_2026, &info, &d), DGA_E_CHAIN_ROOT);
    assert_int_equal(d.offset, 1);
    assert_memory_equal(&info, &before, sizeof info); /* ret untouched on failure */
}

static struct dga_trust trust_file(const char *rel)
{
    size_t len;
    _cleanup_(freep) uint8_t *pem = fixture_read(rel, &len);
    struct dga_trust t = {0};
    assert_int_equal(dga_trust_from_pem((const char *)pem, len, &t), DGA_E_OK);
    assert_true(t.custom);
    return t;
}

static void test_wrong_roots(void **state)
{
    (void)state;
    struct dga_trust wrong = trust_file(WRONG_ROOT);
    struct dga_trust device = trust_file(DEVICE_ROOT);
    for (size_t i = 0; i < N_ELEMS(all_rims); i++) {
        _cleanup_(dga_rim_freep) struct dga_rim *rim = load(all_rims[i]);
        struct dga_chain_info info;
        struct dga_diag d = {0};
        assert_int_equal(dga_rim_chain_verify(rim, &wrong, at(T_2024), &info, &d),
                         DGA_E_CHAIN_ROOT);
        assert_int_equal(dga_rim_chain_verify(rim, &device, at(T_2024), &info, &d),
                         DGA_E_CHAIN_ROOT);
    }
    /* without the root copy in KeyInfo the chain is built to the anchor: only the right one works
     */
    _cleanup_(freep) char *doc = load_text(RIM_DRIVER);
    const char *last = strstr(doc, "<ds:X509Certificate>MIICKTCC");
    assert_non_null(last);
    const char *end = strstr(last, "</ds:X509Certificate>") + strlen("</ds:X509Certificate>");
    char *cut = malloc(strlen(doc) + 1);
    assert_non_null(cut);
    memcpy(cut, doc, (size_t)(last - doc));
    strcpy(cut + (last - doc), end);
    _cleanup_(dga_rim_freep) struct dga_rim *rim = parse_ok(cut, strlen(cut));
    free(cut);
    assert_int_equal(sk_X509_num(rim->certs), 3);
    struct dga_chain_info info;
    struct dga_diag d = {0};
    assert_int_equal(dga_rim_chain_verify(rim, &wrong, at(T_2026), &info, &d), DGA_E_CHAIN_INVALID);
    assert_int_equal(dga_rim_chain_verify(rim, &device, at(T_2026), &info, &d),
                     DGA_E_CHAIN_INVALID);
    assert_int_equal(chain_at(rim, T_2026, &info, &d), DGA_E_OK);
    assert_string_equal(info.expiration_date, "2026-12-30T16:56:50Z");
    assert_int_equal(verify_sig(rim, &d), DGA_E_OK); /* KeyInfo is not signed */
    dga_trust_clear(&wrong);
    dga_trust_clear(&device);
}

/* Certificate 0 in document order is the signer (see rim_chain.c). */
static void test_chain_order(void **state)
{
    (void)state;
    _cleanup_(dga_rim_freep) struct dga_rim *rim = load(RIM_DRIVER);
    struct dga_chain_info info;
    struct dga_diag d = {0};
    /* L3 listed first: a CA is not a signer */
    X509 *l4 = sk_X509_value(rim->certs, 0);
    X509 *l3 = sk_X509_value(rim->certs, 1);
    (void)sk_X509_set(rim->certs, 0, l3);
    (void)sk_X509_set(rim->certs, 1, l4);
    assert_int_equal(chain_at(rim, T_2026, &info, &d), DGA_E_CHAIN_INVALID);
    assert_string_equal(d.field, "certificate 0 (signer)");
    /* intermediates in any order are fine: they are an untrusted pool */
    (void)sk_X509_set(rim->certs, 0, l4);
    X509 *ca = sk_X509_value(rim->certs, 2);
    (void)sk_X509_set(rim->certs, 1, ca);
    (void)sk_X509_set(rim->certs, 2, l3);
    assert_int_equal(chain_at(rim, T_2026, &info, &d), DGA_E_OK);
    /* the root first: the signer would be the root itself */
    X509 *root = sk_X509_value(rim->certs, 3);
    (void)sk_X509_set(rim->certs, 3, l4);
    (void)sk_X509_set(rim->certs, 0, root);
    assert_int_equal(chain_at(rim, T_2026, &info, &d), DGA_E_CHAIN_INVALID);
    /* missing intermediate */
    (void)sk_X509_set(rim->certs, 0, l4);
    (void)sk_X509_set(rim->certs, 1, root);
    (void)sk_X509_set(rim->certs, 2, l3);
    (void)sk_X509_set(rim->certs, 3, ca);
    X509 *popped = sk_X509_delete(rim->certs, 3); /* l4, root, l3 : the GH100 CA is gone */
    (void)sk_X509_set(rim->certs, 1, l3);
    (void)sk_X509_set(rim->certs, 2, root);
    assert_int_equal(chain_at(rim, T_2026, &info, &d), DGA_E_CHAIN_INVALID);
    X509_free(popped);
}

static void test_chain_arguments(void **state)
{
    (void)state;
    _cleanup_(dga_rim_freep) struct dga_rim *rim = load(RIM_DRIVER);
    struct dga_trust t = rim_trust();
    struct dga_trust empty = {0};
    struct dga_chain_info info;
    struct dga_diag d = {0};
    assert_int_equal(dga_rim_chain_verify(NULL, &t, 0, &info, &d), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_rim_chain_verify(rim, NULL, 0, &info, &d), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_rim_chain_verify(rim, &empty, 0, &info, &d), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_rim_chain_verify(rim, &t, 0, NULL, &d), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_rim_signature_verify(NULL, signer_of(rim), &d), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_rim_signature_verify(rim, NULL, &d), DGA_E_BAD_ARGUMENT);
    /* the root alone is no chain */
    X509 *root = sk_X509_value(rim->certs, 3);
    STACK_OF(X509) *saved = rim->certs;
    rim->certs = sk_X509_new_null();
    assert_true(sk_X509_push(rim->certs, root) > 0);
    assert_int_equal(dga_rim_chain_verify(rim, &t, 0, &info, &d), DGA_E_CHAIN_LENGTH);
    sk_X509_free(rim->certs);
    rim->certs = saved;
    dga_trust_clear(&t);
}

/* ------------------------------------------------------- signature profile */

static void test_profile(void **state)
{
    (void)state;
    static const struct {
        const char *find, *repl, *field;
    } cases[] = {
        {"<ds:Reference URI=\"\">", "<ds:Reference URI=\"#x\">", "Reference"},
        {"<ds:Reference URI=\"\">", "<ds:Reference>", "Reference"},
        {"<ds:Reference URI=\"\">", "<ds:Reference URI=\"\" Id=\"r\">", "Reference"},
        {"<ds:Reference URI=\"\">", "<ds:Reference URI=\"\" Type=\"t\">", "Reference"},
        {"<ds:Reference URI=\"\">", "<ds:Reference URI=\"http://x/\">", "Reference"},
        {"</ds:Reference></ds:SignedInfo>",
         "</ds:Reference><ds:Reference URI=\"\"><ds:Transforms><ds:Transform "
         "Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><ds:Transform "
         "Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/></ds:Transforms><ds:DigestMethod "
         "Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#sha384\"/><ds:DigestValue>"
         "BqNofyPEyR5BQcx1pnATUpWbyeH2cdjeSv3KP13zEoDiST2XE4Y10j0KtdKh2SYx</ds:DigestValue>"
         "</ds:Reference></ds:SignedInfo>",
         "Reference"},
        {"<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>",
         "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
         "CanonicalizationMethod"},
        {"<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>",
         "<ds:CanonicalizationMethod "
         "Algorithm=\"http://www.w3.org/2006/12/xml-c14n11#WithComments\"/>",
         "CanonicalizationMethod"},
        {"<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>",
         "<ds:CanonicalizationMethod "
         "Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>",
         "CanonicalizationMethod"},
        {"Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#sha384\"",
         "Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"", "DigestMethod"},
        {"Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384\"/>",
         "Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"/>", "SignatureMethod"},
        {"Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384\"/>",
         "Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#hmac-sha384\"/>", "SignatureMethod"},
        {"Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384\"/>",
         "Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384\">"
         "<ds:HMACOutputLength>8</ds:HMACOutputLength></ds:SignatureMethod>",
         "SignatureMethod"},
        {"</ds:Transforms>",
         "<ds:Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/></ds:Transforms>",
         "Transform"},
        {"<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>", "",
         "Transform"},
        {"<ds:Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>",
         "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>", "Transform"},
        {"<ds:Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>",
         "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath>1"
         "</ds:XPath></ds:Transform>",
         "Transform"},
        /* SignatureValue of 95 bytes (the last base64 group holds 2 bytes instead of 3) */
        {"2Si1MZ65lEdg3q5qjFQFitUTwOEuzf2GjmcGn4lHufkvDPZ1</ds:SignatureValue>",
         "2Si1MZ65lEdg3q5qjFQFitUTwOEuzf2GjmcGn4lHufkvDPY=</ds:SignatureValue>", "SignatureValue"},
        {"TM4DnjO+vWfG", "TM4DnjO+vWf!", "SignatureValue"},
        {"BqNofyPEyR5BQcx1pnATUpWbyeH2cdjeSv3KP13zEoDiST2XE4Y10j0KtdKh2SYx",
         "BqNofyPEyR5BQcx1pnATUpWbyeH2cdjeSv3KP13zEoDiST2XE4Y10j0KtdKh", "DigestValue"},
        {"<ds:SignedInfo>", "<ds:SignedInfo><!-- c -->", "CanonicalizationMethod"},
        {"<ds:SignedInfo>", "<ds:SignedInfo Id=\"s\">", "SignedInfo"},
        {"<ds:SignatureValue>", "<ds:Object/><ds:SignatureValue>", "SignatureValue"},
        {"</ds:KeyInfo>", "</ds:KeyInfo><ds:Object/>", "Signature"},
        {"<ds:X509Data>", "<ds:KeyValue/><ds:X509Data>", "X509Data"},
        {"</ds:X509Data>", "</ds:X509Data><ds:X509Data/>", "X509Data"},
        {"</ds:X509Data>", "<ds:X509SubjectName>x</ds:X509SubjectName></ds:X509Data>",
         "X509Certificate"},
        {"</ds:SignedInfo>", "</ds:SignedInfo>text", "SignatureValue"},
        {"</ds:Signature></SoftwareIdentity>", "</ds:Signature><ns0:Entity/></SoftwareIdentity>",
         "Signature"},
        {"<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
         "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Id=\"sig\">", "Signature"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        struct dga_diag d =
            driver_edit_sig_fails(cases[i].find, cases[i].repl, DGA_E_RIM_SIGNATURE_PROFILE);
        if (strcmp(d.field, cases[i].field) != 0) {
            fail_msg("case %zu: field %s, expected %s", i, d.field, cases[i].field);
        }
    }
    /* the ds prefix is not significant to the profile (namespace by URI) ... */
    _cleanup_(freep) char *doc = load_text(RIM_DRIVER);
    _cleanup_(freep) char *renamed = edit_all(doc, "ds:", "dsig:");
    _cleanup_(freep) char *renamed2 = edit(renamed, "xmlns:ds=", "xmlns:dsig=");
    _cleanup_(dga_rim_freep) struct dga_rim *rim = parse_ok(renamed2, strlen(renamed2));
    struct dga_diag d = {0};
    /* ... but it is part of the canonical SignedInfo, so only the signature fails */
    assert_int_equal(verify_sig(rim, &d), DGA_E_RIM_SIGNATURE_INVALID);
}

/* A document that C14N refuses (relative namespace URI) is outside the profile. */
static void test_c14n_refused(void **state)
{
    (void)state;
    driver_edit_sig_fails("<ns0:Entity ", "<ns0:Entity xmlns:rel=\"relative/uri\" ",
                          DGA_E_RIM_SIGNATURE_PROFILE);
}

/* --------------------------------------------------------------- libxml2 */

static int counted_errors;

#if LIBXML_VERSION >= 21200
static void counting_handler(void *ctx, const xmlError *err)
#else
static void counting_handler(void *ctx, xmlErrorPtr err)
#endif
{
    (void)ctx;
    (void)err;
    counted_errors++;
}

/* Nothing printed, the caller's handler neither called nor replaced. */
static void test_never_prints(void **state)
{
    (void)state;
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    xmlSetStructuredErrorFunc(NULL, counting_handler);

    parse_fails("<a><b></a>", DGA_E_RIM_XML);
    parse_fails("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", DGA_E_RIM_DTD);
    parse_fails("<a>&undeclared;</a>", DGA_E_RIM_DTD);
    parse_fails("<a xmlns:p=\"rel\"><p:b/></a>", DGA_E_RIM_STRUCTURE);
    driver_edit_sig_fails("<ns0:Entity ", "<ns0:Entity xmlns:rel=\"relative/uri\" ",
                          DGA_E_RIM_SIGNATURE_PROFILE);
    _cleanup_(dga_rim_freep) struct dga_rim *rim = load(RIM_DRIVER);
    struct dga_diag d = {0};
    assert_int_equal(verify_sig(rim, &d), DGA_E_OK);

    assert_ptr_equal(xmlStructuredError, counting_handler);
    xmlSetStructuredErrorFunc(NULL, NULL);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    long printed = ftell(tmp);
    fclose(tmp);
    assert_int_equal(printed, 0);
    assert_int_equal(counted_errors, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_driver),
        cmocka_unit_test(test_parse_counts),
        cmocka_unit_test(test_reissued_differs_at_9),
        cmocka_unit_test(test_parse_arguments),
        cmocka_unit_test(test_not_xml),
        cmocka_unit_test(test_dtd_rejected),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_attributes),
        cmocka_unit_test(test_hash_attributes),
        cmocka_unit_test(test_duplicate_index),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_bad_certificates),
        cmocka_unit_test(test_wrapping_not_extracted),
        cmocka_unit_test(test_shape_limits),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_c14n_vectors),
        cmocka_unit_test(test_valid_rims),
        cmocka_unit_test(test_driver_chain_info),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_debug_root_chain),
        cmocka_unit_test(test_wrong_roots),
        cmocka_unit_test(test_chain_order),
        cmocka_unit_test(test_chain_arguments),
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_c14n_refused),
        cmocka_unit_test(test_never_prints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
