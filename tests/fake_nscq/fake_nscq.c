/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fake libnvidia-nscq.so.2 for tests: the subset the collector resolves
 * (lib/collect/nscq_api.h, so layouts and callback types cannot drift), driven by a JSON
 * scenario named by $DGA_FAKE_NSCQ_SCENARIO (keys: docs/collect.md "The fake NSCQ").
 * N switches (default 4), each with a UUID, a label "SWITCH-<uuid hex>", an architecture and a
 * raw TNVL status. An attestation request is answered as an LS10 answers it: the recorded report
 * (by default tests/fixtures/nvswitch/ls10_96.10.55.00.01/report.hex) with the nonce set by
 * nscq_session_set_input written at offset 4 (the GET_MEASUREMENTS request's nonce), the
 * switch's own PDI (opaque TLV 22, 8 bytes) and its 8 GPU PDIs (the first 64 bytes of TLV 26)
 * patched in place, same lengths, so the measurements and the RIM still match, then re-signed
 * (tests/fake_nvml/resign.c) with the switch's own test leaf: switch i signs with
 * leaves/switch<i mod 8>.{pem,key} (CN "LS_10 A01 FSP FMC LF", tests/fixtures/testpki/
 * make-leaves.sh), its chain that leaf then the test chain's BROM .. root, so it verifies under
 * the test root as an LS10 chain. "positions" and "locks" patch a switch's signed TLV 24
 * (SWITCH_POSITION_ID) and TLV 25 (SWITCH_LOCK_STATUS), both LE u16, and "nonces" makes a
 * switch sign another nonce than the one asked for (a value per switch: an array indexed by
 * switch, or one value for all).
 * Errors (returned, or handed to the callback), hangs and bad sizes can be injected at any call.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "collect/nscq_api.h"
#include "resign.h"
#include "scenario.h"

#define FAKE_PROTO(name, rt, params) rt name params;
DGA_NSCQ_FUNCTIONS(FAKE_PROTO)
#undef FAKE_PROTO

#define FAKE_MAX_SWITCHES 64
#define FAKE_PDI_LEN 8
#define FAKE_GPU_PDIS 8
#define TLV_DEVICE_PDI 22
#define TLV_SWITCH_GPU_PDIS 26
#define TLV_SWITCH_POSITION 24
#define TLV_SWITCH_LOCK 25

struct nscq_session_st {
    int unused;
};

struct fake_injection {
    char call[64];
    char path[64]; /* a substring of the observed path; "" any */
    long sw;       /* -1: any switch */
    int rc;
    bool callback; /* hand rc to the callback instead of returning it */
    long ms;       /* hangs */
};

struct fake_switch {
    nscq_uuid_t uuid;
    char label[64];
    int arch, tnvl;
    bool has_pdi, has_gpu_pdis;
    unsigned char pdi[FAKE_PDI_LEN];
    unsigned char gpu_pdis[FAKE_GPU_PDIS * FAKE_PDI_LEN];
    long position, lock; /* TLV 24, 25 values; -1: as recorded */
    bool has_nonce;      /* sign this nonce instead of the session's */
    unsigned char nonce[NSCQ_ATTESTATION_REPORT_NONCE_SIZE];
    char *chain;
    size_t chain_len;
    EVP_PKEY *key;
};

static struct {
    bool loaded;
    unsigned n;
    struct fake_switch sw[FAKE_MAX_SWITCHES];
    unsigned char *report;
    size_t report_len;
    size_t pdi_off, gpu_pdis_off;  /* of the TLV values in the report; 0: absent */
    size_t position_off, lock_off; /* of the 2-byte TLV 24 and 25 values; 0: absent */
    unsigned char nonce[NSCQ_ATTESTATION_REPORT_NONCE_SIZE];
    bool nonce_set;
    struct fake_injection fail, hang;
    long report_size, chain_size; /* overrides of the stated sizes; -1: none */
    bool twice;                   /* every per-switch callback fires twice */
    long set_inputs;              /* set_input calls so far: the switch the next one is for */
    struct nscq_session_st session;
} fake;

/* ---- scenario ---- */

static unsigned rd16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* Finds TLVs 22 and 26 in the report's opaque data (SPDM 1.1 MEASUREMENTS after 37 bytes). */
static void find_tlvs(void)
{
    const unsigned char *r = fake.report;
    size_t len = fake.report_len, p = 37 + 4;
    if (len < p + 4 + FAKE_SIG_LEN) {
        return;
    }
    size_t record = (size_t)r[p + 1] | (size_t)r[p + 2] << 8 | (size_t)r[p + 3] << 16;
    p += 4 + record + 32;
    if (p + 2 > len - FAKE_SIG_LEN) {
        return;
    }
    size_t end = p + 2 + rd16(r + p);
    for (p += 2; end <= len - FAKE_SIG_LEN && p + 4 <= end;) {
        unsigned type = rd16(r + p), tlen = rd16(r + p + 2);
        if (p + 4 + tlen > end) {
            return;
        }
        if (type == TLV_DEVICE_PDI && tlen == FAKE_PDI_LEN) {
            fake.pdi_off = p + 4;
        }
        if (type == TLV_SWITCH_GPU_PDIS && tlen >= FAKE_GPU_PDIS * FAKE_PDI_LEN) {
            fake.gpu_pdis_off = p + 4;
        }
        if (type == TLV_SWITCH_POSITION && tlen == 2) {
            fake.position_off = p + 4;
        }
        if (type == TLV_SWITCH_LOCK && tlen == 2) {
            fake.lock_off = p + 4;
        }
        p += 4 + tlen;
    }
}

/* Switch i's chain: leaves/switch<leaf>.pem, then the chain after its first certificate. */
static bool load_leaf(const char *dir, const char *chain, size_t chain_len, long leaf,
                      struct fake_switch *s)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/switch%ld.pem", dir, leaf);
    s->chain = fake_leaf_chain(path, chain, chain_len, &s->chain_len);
    if (s->chain == NULL) {
        return false;
    }
    snprintf(path, sizeof path, "%s/switch%ld.key", dir, leaf);
    s->key = fake_read_key(path);
    return s->chain != NULL && s->key != NULL;
}

static bool load_blobs(json_t *s, const char *scenario)
{
    char path[4096], dir[4096];
    fake_path_join(scenario, fake_get_str(s, "report", "report.hex"), path, sizeof path);
    size_t len = 0;
    char *text = fake_read_file(path, &len);
    fake.report = malloc(NSCQ_ATTESTATION_REPORT_SIZE);
    long n = text != NULL && fake.report != NULL
                 ? fake_unhex(text, len, fake.report, NSCQ_ATTESTATION_REPORT_SIZE)
                 : -1;
    free(text);
    if (n < FAKE_SIG_LEN + 37) {
        return false;
    }
    fake.report_len = (size_t)n;
    find_tlvs();
    fake_path_join(scenario, fake_get_str(s, "chain", "certchain.pem"), path, sizeof path);
    size_t chain_len = 0;
    char *chain = fake_read_file(path, &chain_len);
    const char *leaves = fake_get_str(s, "leaves", NULL);
    fake_path_join(leaves != NULL ? scenario : path, leaves != NULL ? leaves : "leaves", dir,
                   sizeof dir);
    bool ok = chain != NULL;
    for (unsigned i = 0; ok && i < fake.n; i++) {
        ok = load_leaf(dir, chain, chain_len, (long)(i % 8), &fake.sw[i]);
    }
    free(chain);
    return ok;
}

static void load_injection(json_t *o, struct fake_injection *inj)
{
    memset(inj, 0, sizeof *inj);
    if (!json_is_object(o)) {
        return;
    }
    snprintf(inj->call, sizeof inj->call, "%s", fake_get_str(o, "call", ""));
    snprintf(inj->path, sizeof inj->path, "%s", fake_get_str(o, "path", ""));
    inj->sw = fake_get_long(o, "switch", -1);
    inj->rc = (int)fake_get_long(o, "rc", NSCQ_RC_ERROR_UNSPECIFIED);
    inj->callback = json_is_true(json_object_get(o, "callback"));
    inj->ms = fake_get_long(o, "ms", 0);
}

/* An 8-byte PDI from 16 hex digits at arr[i]; false (out untouched) if absent or malformed. */
static bool pdi_at(json_t *arr, size_t i, unsigned char *out)
{
    const char *h = json_string_value(json_array_get(arr, i));
    unsigned char tmp[FAKE_PDI_LEN];
    if (h == NULL || strlen(h) != 2 * FAKE_PDI_LEN ||
        fake_unhex(h, strlen(h), tmp, sizeof tmp) != FAKE_PDI_LEN) {
        return false;
    }
    memcpy(out, tmp, sizeof tmp);
    return true;
}

/* key's value for switch i: the array's element i, or the value itself when it is no array. */
static json_t *per_switch_value(json_t *s, const char *key, unsigned i)
{
    json_t *v = json_object_get(s, key);
    return json_is_array(v) ? json_array_get(v, i) : v;
}

static void load_patches(json_t *s, unsigned i)
{
    struct fake_switch *w = &fake.sw[i];
    json_t *pos = per_switch_value(s, "positions", i);
    json_t *lock = per_switch_value(s, "locks", i);
    const char *nonce = json_string_value(per_switch_value(s, "nonces", i));
    w->position = json_is_integer(pos) ? (long)json_integer_value(pos) : -1;
    w->lock = json_is_integer(lock) ? (long)json_integer_value(lock) : -1;
    w->has_nonce = nonce != NULL && fake_unhex(nonce, strlen(nonce), w->nonce, sizeof w->nonce) ==
                                        (long)sizeof w->nonce;
}

static void load_switch(json_t *s, unsigned i)
{
    struct fake_switch *w = &fake.sw[i];
    json_t *tnvl = json_object_get(s, "tnvl");
    json_t *arch = json_object_get(s, "arch");
    for (unsigned b = 0; b < 16; b++) {
        w->uuid.bytes[b] = (unsigned char)(b < 15 ? 0x50 + b : i);
    }
    const char *label = json_string_value(json_array_get(json_object_get(s, "labels"), i));
    if (label != NULL) {
        snprintf(w->label, sizeof w->label, "%s", label);
    } else {
        snprintf(w->label, sizeof w->label, "SWITCH-505152535455565758595a5b5c5d5e%02x", i);
    }
    w->arch = json_is_array(arch) ? (int)json_integer_value(json_array_get(arch, i))
                                  : (int)fake_get_long(s, "arch", NSCQ_ARCH_LS10);
    w->tnvl = json_is_array(tnvl) ? (int)json_integer_value(json_array_get(tnvl, i))
                                  : (int)fake_get_long(s, "tnvl", NSCQ_DEVICE_TNVL_MODE_LOCKED);
    w->has_pdi = pdi_at(json_object_get(s, "pdis"), i, w->pdi);
    json_t *gpus = json_array_get(json_object_get(s, "gpu_pdis"), i);
    w->has_gpu_pdis = json_array_size(gpus) == FAKE_GPU_PDIS;
    for (size_t g = 0; w->has_gpu_pdis && g < FAKE_GPU_PDIS; g++) {
        w->has_gpu_pdis = pdi_at(gpus, g, w->gpu_pdis + g * FAKE_PDI_LEN);
    }
    load_patches(s, i);
}

static void unload(void)
{
    free(fake.report);
    for (unsigned i = 0; i < FAKE_MAX_SWITCHES; i++) {
        free(fake.sw[i].chain);
        EVP_PKEY_free(fake.sw[i].key);
    }
    memset(&fake, 0, sizeof fake);
}

static bool load(void)
{
    const char *scenario = getenv("DGA_FAKE_NSCQ_SCENARIO");
    unload();
    json_t *s = scenario != NULL ? json_load_file(scenario, 0, NULL) : NULL;
    if (!json_is_object(s)) {
        json_decref(s);
        return false;
    }
    long n = fake_get_long(s, "switches", 4);
    fake.n = n < 0 ? 0 : n > FAKE_MAX_SWITCHES ? FAKE_MAX_SWITCHES : (unsigned)n;
    for (unsigned i = 0; i < fake.n; i++) {
        load_switch(s, i);
    }
    load_injection(json_object_get(s, "fail"), &fake.fail);
    load_injection(json_object_get(s, "hang"), &fake.hang);
    fake.report_size = fake_get_long(s, "report_size", -1);
    fake.chain_size = fake_get_long(s, "chain_size", -1);
    fake.twice = json_is_true(json_object_get(s, "callback_twice"));
    bool ok = load_blobs(s, scenario);
    json_decref(s);
    if (!ok) {
        unload();
    }
    fake.loaded = ok;
    return ok;
}

/* ---- injection ---- */

static bool matches(const struct fake_injection *inj, const char *call, const char *path, long sw)
{
    return inj->call[0] != '\0' && strcmp(inj->call, call) == 0 &&
           (inj->path[0] == '\0' || (path != NULL && strstr(path, inj->path) != NULL)) &&
           (inj->sw < 0 || sw < 0 || inj->sw == sw);
}

/* Hangs if asked; the injected rc for the call (0: none). *to_callback: hand it over instead. */
static nscq_rc_t injected(const char *call, const char *path, long sw, bool *to_callback)
{
    if (matches(&fake.hang, call, path, sw)) {
        fake_sleep_ms(fake.hang.ms);
    }
    if (to_callback != NULL) {
        *to_callback = false;
    }
    if (!matches(&fake.fail, call, path, sw)) {
        return NSCQ_RC_SUCCESS;
    }
    if (fake.fail.callback && to_callback != NULL) {
        *to_callback = true;
    }
    return (nscq_rc_t)fake.fail.rc;
}

/* ---- the API ---- */

nscq_session_result_t nscq_session_create(uint32_t flags)
{
    nscq_session_result_t r = {.rc = NSCQ_RC_ERROR_DRV, .session = NULL};
    if (!load()) {
        return r;
    }
    r.rc = flags == NSCQ_SESSION_CREATE_MOUNT_DEVICES ? NSCQ_RC_SUCCESS
                                                      : NSCQ_RC_ERROR_RESOURCE_NOT_MOUNTABLE;
    nscq_rc_t rc = injected("nscq_session_create", NULL, -1, NULL);
    r.rc = rc != NSCQ_RC_SUCCESS ? rc : r.rc;
    if (r.rc == NSCQ_RC_SUCCESS) {
        r.session = &fake.session;
    } else {
        unload();
    }
    return r;
}

void nscq_session_destroy(nscq_session_t s)
{
    if (fake.loaded && s == &fake.session) {
        (void)injected("nscq_session_destroy", NULL, -1, NULL);
        unload();
    }
}

static long switch_by_uuid(const nscq_uuid_t *uuid)
{
    for (unsigned i = 0; uuid != NULL && i < fake.n; i++) {
        if (memcmp(fake.sw[i].uuid.bytes, uuid->bytes, 16) == 0) {
            return (long)i;
        }
    }
    return -1;
}

nscq_rc_t nscq_uuid_to_label(const nscq_uuid_t *uuid, nscq_label_t *label, uint32_t flags)
{
    long i = switch_by_uuid(uuid);
    if (!fake.loaded || i < 0 || label == NULL || flags != 0) {
        return NSCQ_RC_ERROR_INVALID_UUID;
    }
    nscq_rc_t rc = injected("nscq_uuid_to_label", NULL, i, NULL);
    if (rc != NSCQ_RC_SUCCESS) {
        return rc;
    }
    memcpy(label->data, fake.sw[i].label, sizeof label->data);
    return NSCQ_RC_SUCCESS;
}

nscq_rc_t nscq_session_set_input(nscq_session_t s, uint32_t flags, void *input, uint32_t size)
{
    if (!fake.loaded || s != &fake.session || flags != 0 || input == NULL ||
        size != NSCQ_ATTESTATION_REPORT_NONCE_SIZE) {
        return NSCQ_RC_ERROR_UNEXPECTED_VALUE;
    }
    /* the collector asks per switch in order: call k is for switch k */
    nscq_rc_t rc = injected("nscq_session_set_input", NULL, fake.set_inputs++, NULL);
    if (rc != NSCQ_RC_SUCCESS) {
        return rc;
    }
    memcpy(fake.nonce, input, sizeof fake.nonce);
    fake.nonce_set = true;
    return NSCQ_RC_SUCCESS;
}

/* A 2-byte LE TLV value at off, when the scenario sets one and the report has the field. */
static void put16(long v, size_t off, unsigned char *report)
{
    if (v >= 0 && off != 0) {
        report[off] = (unsigned char)(v & 0xff);
        report[off + 1] = (unsigned char)(v >> 8 & 0xff);
    }
}

/* Switch i's report for the session's nonce, patched and re-signed. */
static nscq_rc_t make_report(unsigned i, nscq_attestation_report_t *r)
{
    const struct fake_switch *w = &fake.sw[i];
    memset(r, 0, sizeof *r);
    if (!fake.nonce_set) {
        return NSCQ_RC_ERROR_UNEXPECTED_VALUE;
    }
    memcpy(r->report, fake.report, fake.report_len);
    memcpy(r->report + 4, w->has_nonce ? w->nonce : fake.nonce, sizeof fake.nonce);
    if (w->has_pdi && fake.pdi_off != 0) {
        memcpy(r->report + fake.pdi_off, w->pdi, FAKE_PDI_LEN);
    }
    if (w->has_gpu_pdis && fake.gpu_pdis_off != 0) {
        memcpy(r->report + fake.gpu_pdis_off, w->gpu_pdis, sizeof w->gpu_pdis);
    }
    put16(w->position, fake.position_off, r->report);
    put16(w->lock, fake.lock_off, r->report);
    if (!fake_resign(w->key, r->report, fake.report_len)) {
        return NSCQ_RC_ERROR_UNSPECIFIED;
    }
    r->report_size = fake.report_size >= 0 ? (uint32_t)fake.report_size : (uint32_t)fake.report_len;
    return NSCQ_RC_SUCCESS;
}

static void make_cert(unsigned i, nscq_attestation_certificate_t *c)
{
    const struct fake_switch *w = &fake.sw[i];
    size_t n = w->chain_len < sizeof c->cert_chain ? w->chain_len : sizeof c->cert_chain;
    memset(c, 0, sizeof *c);
    memcpy(c->cert_chain, w->chain, n);
    c->cert_chain_size = fake.chain_size >= 0 ? (uint32_t)fake.chain_size : (uint32_t)n;
}

/* One per-switch path's callback, by value as NSCQ calls it (twice when "callback_twice"). */
static void answer(unsigned i, const char *what, nscq_fn_t cb, nscq_rc_t rc, void *user)
{
    static nscq_attestation_report_t report;
    static nscq_attestation_certificate_t cert;
    const nscq_uuid_t *dev = &fake.sw[i].uuid;
    for (int k = 0; k < (fake.twice ? 2 : 1); k++) {
        if (strcmp(what, NSCQ_PATH_REPORT_SUFFIX) == 0) {
            nscq_rc_t mrc = rc != NSCQ_RC_SUCCESS ? rc : make_report(i, &report);
            ((nscq_report_cb_t)cb)(dev, mrc, report, user);
        } else if (strcmp(what, NSCQ_PATH_CERTIFICATE_SUFFIX) == 0) {
            make_cert(i, &cert);
            ((nscq_cert_cb_t)cb)(dev, rc, cert, user);
        } else {
            ((nscq_tnvl_cb_t)cb)(dev, rc, (nscq_tnvl_status_t)fake.sw[i].tnvl, user);
        }
    }
}

static nscq_rc_t observe_all(const char *path, nscq_fn_t cb, void *user)
{
    bool to_cb = false;
    for (unsigned i = 0; i < fake.n; i++) {
        nscq_rc_t rc = injected("nscq_session_path_observe", path, (long)i, &to_cb);
        if (rc != NSCQ_RC_SUCCESS && !to_cb) {
            return rc;
        }
        if (strcmp(path, NSCQ_PATH_DEVICE_UUID) == 0) {
            ((nscq_uuid_cb_t)cb)(&fake.sw[i].uuid, rc, &fake.sw[i].uuid, user);
        } else {
            ((nscq_arch_cb_t)cb)(&fake.sw[i].uuid, rc, (nscq_arch_t)fake.sw[i].arch, user);
        }
    }
    return NSCQ_RC_SUCCESS;
}

static const char *const per_switch[] = {
    NSCQ_PATH_REPORT_SUFFIX,
    NSCQ_PATH_CERTIFICATE_SUFFIX,
    NSCQ_PATH_PCIE_MODE_SUFFIX,
};

/* "/" LABEL SUFFIX: the switch and the suffix, or false. */
static bool split_path(const char *path, unsigned *ret_i, const char **ret_what)
{
    for (unsigned i = 0; i < fake.n; i++) {
        size_t l = strlen(fake.sw[i].label);
        if (path[0] != '/' || strncmp(path + 1, fake.sw[i].label, l) != 0) {
            continue;
        }
        for (size_t k = 0; k < sizeof per_switch / sizeof per_switch[0]; k++) {
            if (strcmp(path + 1 + l, per_switch[k]) == 0) {
                *ret_i = i;
                *ret_what = per_switch[k];
                return true;
            }
        }
    }
    return false;
}

nscq_rc_t nscq_session_path_observe(nscq_session_t s, const char *path, nscq_fn_t cb, void *user,
                                    uint32_t flags)
{
    if (!fake.loaded || s != &fake.session || path == NULL || cb == NULL || flags != 0) {
        return NSCQ_RC_ERROR_UNEXPECTED_VALUE;
    }
    if (strcmp(path, NSCQ_PATH_DEVICE_UUID) == 0 || strcmp(path, NSCQ_PATH_ARCH) == 0) {
        return observe_all(path, cb, user);
    }
    unsigned i = 0;
    const char *what = NULL;
    if (!split_path(path, &i, &what)) {
        return NSCQ_RC_ERROR_NOT_IMPLEMENTED;
    }
    bool to_cb = false;
    nscq_rc_t rc = injected("nscq_session_path_observe", path, (long)i, &to_cb);
    if (rc != NSCQ_RC_SUCCESS && !to_cb) {
        return rc;
    }
    answer(i, what, cb, rc, user);
    return NSCQ_RC_SUCCESS;
}
