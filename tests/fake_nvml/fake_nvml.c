/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fake libnvidia-ml for tests: the same hand-declared subset the collector
 * resolves (lib/collect/nvml_api.h, so the layouts cannot drift), driven by a
 * JSON scenario file named by $DGA_FAKE_NVML_SCENARIO (docs/collect.md lists
 * its keys). Attestation requests are answered the way a GPU answers them: a
 * real recorded report (by default tests/fixtures/gpu/h100_545.00) with the
 * requested nonce written at offset 4 and re-signed (resign.c), ECDSA P-384/SHA-384 over
 * report[0 .. len-96) as raw r||s, with the test device key whose chain ends
 * at the test root (tests/fixtures/testpki). Every GPU has its own leaf, as
 * real GPUs do: GPU 0 the chain's own leaf and key, GPU i the leaf
 * leaves/gpu<i>.pem and key leaves/gpu<i>.key under the rest of the chain
 * (BROM .. root); "shared_leaf" makes every GPU sign with GPU 0's leaf, and
 * "uuids" overrides NVML's UUIDs (both for duplicate-device tests).
 * "chains" names a directory of whole per-GPU chains instead (gpu<i>.pem, leaf .. root, and
 * gpu<i>.key): the PPCIe board's GPUs, each with its own BROM and PDI. "protected_pcie",
 * "feature_flag" and "switch_pdis" patch a GPU's signed opaque fields in place before it is
 * re-signed (TLV 21, 36 and 22; a value per GPU, an array indexed by GPU), so the report says
 * what a PPCIe GPU's says (docs/collect.md lists the keys): a field the report has keeps its
 * length; one it lacks (the 545.00 CC report has none of the three) is appended to the opaque
 * data (1, 4 and 8 x links bytes) with the SPDM opaque length rewritten to match.
 * Measurements are untouched, so the real RIMs still match. Every ready-state
 * call is appended to the scenario's "ready_record" file. The ready state is
 * per process, as the scenario sets it, unless "ready_state_file" names a file:
 * then a get reads the state from it (absent: "ready_state") and a set writes
 * it there, so it outlives the process as the driver's does (the gate sets it
 * from a child; a test clears it by writing 0, as a driver reload would). A process that
 * keeps NVML open (the RPC service's state reader) sees a rewritten scenario from its next
 * CC-state read on (nvmlSystemGetConfComputeState reloads a scenario file that changed), as
 * it would see the driver's state change. "cc_settings_later" makes the CC settings change
 * between two reads (a state call and the settings call after it), counted across processes
 * in a file (the gate's CC read, then its collection's). Errors, hangs and bad sizes can be
 * injected. Built with -DFAKE_OMIT_REPORT_SYMBOL it lacks one function (symbol tests).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "collect/nvml_api.h"
#include "resign.h"
#include "scenario.h"

/* Prototypes from the subset, so every definition here must match it. */
#define FAKE_PROTO(name, rt, params) rt name params;
DGA_NVML_FUNCTIONS(FAKE_PROTO)
#undef FAKE_PROTO

#define NVML_ERROR_UNINITIALIZED 1
#define FAKE_MAX_GPUS 64
#define FAKE_PDI_LEN 8
#define FAKE_MAX_LINKS 64
#define TLV_PROTECTED_PCIE 21
#define TLV_SWITCH_PDIS 22
#define TLV_FEATURE_FLAG 36

struct nvmlDevice_st {
    unsigned index;
};

/* The opaque fields a PPCIe scenario patches into GPU i's report before re-signing it. */
struct fake_patch {
    int protected_pcie; /* TLV 21 byte; -1: as recorded */
    long feature_flag;  /* TLV 36 (LE); -1: as recorded */
    bool has_links;     /* TLV 22: entries as stored, the rest zero */
    size_t n_links;
    unsigned char links[FAKE_MAX_LINKS][FAKE_PDI_LEN];
};

struct fake_fail {
    char call[96];
    int rc;
    long device; /* -1: any */
};

static struct {
    bool loaded;
    unsigned gpus, arch, board_id;
    unsigned environment, cc_feature, devtools_mode, multi_gpu_mode;
    unsigned ready_state;
    char driver_version[128], vbios_version[64];
    char bus_ids[FAKE_MAX_GPUS][NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
    char uuids[FAKE_MAX_GPUS][NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    unsigned char *report;
    size_t report_len;
    char *chain[FAKE_MAX_GPUS]; /* per GPU: its leaf, then BROM .. root */
    size_t chain_len[FAKE_MAX_GPUS];
    EVP_PKEY *key[FAKE_MAX_GPUS]; /* per GPU: its leaf key */
    struct fake_patch patch[FAKE_MAX_GPUS];
    struct fake_fail fail;
    char hang_call[96];
    long hang_ms;
    long report_size, chain_size; /* overrides of the returned sizes; -1: none */
    bool corrupt_signature;
    bool has_nonce_override;
    unsigned char nonce_override[32];
    char ready_record[4096];
    char ready_state_file[4096];
    /* "cc_settings_later": from read `after` on (counted across processes in reads_file), the
     * CC settings read return these values instead: a mode that changes between two children */
    char cc_reads_file[4096];
    unsigned cc_later_after, later_cc_feature, later_devtools_mode, later_multi_gpu_mode;
    bool cc_later_now; /* this process's last state read was a later one */
    struct nvmlDevice_st devices[FAKE_MAX_GPUS];
    struct stat scenario_stat; /* the scenario file as loaded */
} fake;

/* ---- scenario ---- */

/* GPU i's chain: leaves/gpu<i>.pem, then GPU 0's chain after its first certificate. */
static bool load_leaf(const char *dir, unsigned i)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/gpu%u.pem", dir, i);
    fake.chain[i] = fake_leaf_chain(path, fake.chain[0], fake.chain_len[0], &fake.chain_len[i]);
    if (fake.chain[i] == NULL) {
        return false;
    }
    snprintf(path, sizeof path, "%s/gpu%u.key", dir, i);
    fake.key[i] = fake_read_key(path);
    return fake.chain[i] != NULL && fake.key[i] != NULL;
}

/* "chains": GPU i's whole chain <dir>/gpu<i>.pem and its leaf key <dir>/gpu<i>.key. */
static bool load_chains(const char *dir)
{
    char path[4200];
    for (unsigned i = 0; i < fake.gpus; i++) {
        snprintf(path, sizeof path, "%s/gpu%u.pem", dir, i);
        fake.chain[i] = fake_read_file(path, &fake.chain_len[i]);
        snprintf(path, sizeof path, "%s/gpu%u.key", dir, i);
        fake.key[i] = fake_read_key(path);
        if (fake.chain[i] == NULL || fake.key[i] == NULL) {
            return false;
        }
    }
    return true;
}

static bool load_leaves(json_t *s, const char *scenario, const char *chain_path)
{
    bool shared = json_is_true(json_object_get(s, "shared_leaf"));
    char dir[4096];
    const char *leaves = fake_get_str(s, "leaves", NULL);
    if (leaves != NULL) {
        fake_path_join(scenario, leaves, dir, sizeof dir);
    } else {
        fake_path_join(chain_path, "leaves", dir, sizeof dir); /* next to the chain */
    }
    for (unsigned i = 1; i < fake.gpus; i++) {
        if (shared) {
            fake.chain[i] = strdup(fake.chain[0]);
            fake.chain_len[i] = fake.chain_len[0];
            fake.key[i] = fake.key[0];
            if (fake.chain[i] == NULL || EVP_PKEY_up_ref(fake.key[i]) != 1) {
                fake.key[i] = NULL;
                return false;
            }
        } else if (!load_leaf(dir, i)) {
            return false;
        }
    }
    return true;
}

static bool load_blobs(json_t *s, const char *scenario)
{
    char path[4096];
    fake_path_join(scenario, fake_get_str(s, "report", "report.hex"), path, sizeof path);
    size_t len = 0;
    char *text = fake_read_file(path, &len);
    long n = text != NULL ? fake_unhex(text, len, (unsigned char *)text, len) : -1;
    if (n < FAKE_SIG_LEN + 36) {
        free(text);
        return false;
    }
    fake.report = (unsigned char *)text;
    fake.report_len = (size_t)n;
    const char *chains = fake_get_str(s, "chains", NULL);
    if (chains != NULL) {
        fake_path_join(scenario, chains, path, sizeof path);
        return load_chains(path);
    }
    char chain_path[4096];
    fake_path_join(scenario, fake_get_str(s, "chain", "certchain.pem"), chain_path,
                   sizeof chain_path);
    fake.chain[0] = fake_read_file(chain_path, &fake.chain_len[0]);
    fake_path_join(scenario, fake_get_str(s, "key", "leaf.key"), path, sizeof path);
    fake.key[0] = fake_read_key(path);
    return fake.chain[0] != NULL && fake.key[0] != NULL && load_leaves(s, scenario, chain_path);
}

static void load_injections(json_t *s)
{
    json_t *fail = json_object_get(s, "fail");
    fake.fail.call[0] = '\0';
    if (json_is_object(fail)) {
        snprintf(fake.fail.call, sizeof fake.fail.call, "%s", fake_get_str(fail, "call", ""));
        fake.fail.rc = (int)fake_get_long(fail, "rc", NVML_ERROR_UNKNOWN);
        fake.fail.device = fake_get_long(fail, "device", -1);
    }
    json_t *hang = json_object_get(s, "hang");
    fake.hang_call[0] = '\0';
    if (json_is_object(hang)) {
        snprintf(fake.hang_call, sizeof fake.hang_call, "%s", fake_get_str(hang, "call", ""));
        fake.hang_ms = fake_get_long(hang, "ms", 0);
    }
    fake.report_size = fake_get_long(s, "report_size", -1);
    fake.chain_size = fake_get_long(s, "chain_size", -1);
    fake.corrupt_signature = json_is_true(json_object_get(s, "corrupt_signature"));
    const char *nonce = fake_get_str(s, "nonce_override", NULL);
    fake.has_nonce_override = false;
    if (nonce != NULL && strlen(nonce) == 64) {
        fake.has_nonce_override = fake_unhex(nonce, 64, fake.nonce_override, 32) == 32;
    }
}

/* key's value for GPU i: the array's element i, or the value itself when it is no array. */
static json_t *per_gpu(json_t *s, const char *key, unsigned i)
{
    json_t *v = json_object_get(s, key);
    return json_is_array(v) ? json_array_get(v, i) : v;
}

/* GPU i's TLV 22 entries (16 hex digits each, as stored); false if one is malformed. */
static bool load_links(json_t *links, struct fake_patch *p)
{
    size_t n = json_array_size(links);
    p->has_links = json_is_array(links);
    if (n > FAKE_MAX_LINKS) {
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        const char *h = json_string_value(json_array_get(links, k));
        if (h == NULL || strlen(h) != 2 * FAKE_PDI_LEN ||
            fake_unhex(h, 2 * FAKE_PDI_LEN, p->links[k], FAKE_PDI_LEN) != FAKE_PDI_LEN) {
            return false;
        }
    }
    p->n_links = n;
    return true;
}

static bool load_patches(json_t *s)
{
    for (unsigned i = 0; i < fake.gpus; i++) {
        struct fake_patch *p = &fake.patch[i];
        json_t *pp = per_gpu(s, "protected_pcie", i);
        json_t *ff = per_gpu(s, "feature_flag", i);
        p->protected_pcie = json_is_integer(pp) ? (int)json_integer_value(pp) : -1;
        p->feature_flag = json_is_integer(ff) ? (long)json_integer_value(ff) : -1;
        json_t *links = json_array_get(json_object_get(s, "switch_pdis"), i);
        if (links != NULL && !load_links(links, p)) {
            return false;
        }
    }
    return true;
}

static void load_identity(json_t *s)
{
    fake.gpus = fake_get_uint(s, "gpus", 1);
    if (fake.gpus > FAKE_MAX_GPUS) {
        fake.gpus = FAKE_MAX_GPUS;
    }
    fake.arch = fake_get_uint(s, "arch", NVML_DEVICE_ARCH_HOPPER);
    fake.board_id = fake_get_uint(s, "board_id", 0x1010);
    fake.environment = fake_get_uint(s, "environment", 2);
    fake.cc_feature = fake_get_uint(s, "cc_feature", 1);
    fake.devtools_mode = fake_get_uint(s, "devtools_mode", 0);
    fake.multi_gpu_mode = fake_get_uint(s, "multi_gpu_mode", 0);
    fake.ready_state = fake_get_uint(s, "ready_state", 0);
    snprintf(fake.driver_version, sizeof fake.driver_version, "%s",
             fake_get_str(s, "driver_version", "545.00"));
    snprintf(fake.vbios_version, sizeof fake.vbios_version, "%s",
             fake_get_str(s, "vbios_version", "96.00.5E.00.01"));
    json_t *ids = json_object_get(s, "pci_bus_ids");
    json_t *uuids = json_object_get(s, "uuids");
    for (unsigned i = 0; i < fake.gpus; i++) {
        fake.devices[i].index = i;
        const char *uuid = json_string_value(json_array_get(uuids, i));
        if (uuid != NULL) {
            snprintf(fake.uuids[i], sizeof fake.uuids[i], "%s", uuid);
        } else {
            snprintf(fake.uuids[i], sizeof fake.uuids[i], "GPU-7e570000-0000-4000-8000-%012x", i);
        }
        const char *id = json_string_value(json_array_get(ids, i));
        if (id != NULL) {
            snprintf(fake.bus_ids[i], sizeof fake.bus_ids[i], "%s", id);
        } else {
            snprintf(fake.bus_ids[i], sizeof fake.bus_ids[i], "00000000:%02X:00.0", 0x18 + i);
        }
    }
}

static void load_cc_later(json_t *s, const char *scenario)
{
    json_t *later = json_object_get(s, "cc_settings_later");
    const char *reads = fake_get_str(later, "reads_file", "");
    if (!json_is_object(later) || reads[0] == '\0') {
        return;
    }
    fake_path_join(scenario, reads, fake.cc_reads_file, sizeof fake.cc_reads_file);
    fake.cc_later_after = fake_get_uint(later, "after", 1);
    fake.later_cc_feature = fake_get_uint(later, "cc_feature", fake.cc_feature);
    fake.later_devtools_mode = fake_get_uint(later, "devtools_mode", fake.devtools_mode);
    fake.later_multi_gpu_mode = fake_get_uint(later, "multi_gpu_mode", fake.multi_gpu_mode);
}

static void unload(void)
{
    free(fake.report);
    for (unsigned i = 0; i < FAKE_MAX_GPUS; i++) {
        free(fake.chain[i]);
        EVP_PKEY_free(fake.key[i]);
    }
    memset(&fake, 0, sizeof fake);
}

static bool load(void)
{
    const char *scenario = getenv("DGA_FAKE_NVML_SCENARIO");
    unload();
    if (scenario == NULL) {
        return false;
    }
    struct stat st;
    memset(&st, 0, sizeof st);
    json_t *s = stat(scenario, &st) == 0 ? json_load_file(scenario, 0, NULL) : NULL;
    if (!json_is_object(s)) {
        json_decref(s);
        return false;
    }
    load_identity(s);
    load_injections(s);
    const char *record = fake_get_str(s, "ready_record", "");
    if (record[0] != '\0') {
        fake_path_join(scenario, record, fake.ready_record, sizeof fake.ready_record);
    }
    load_cc_later(s, scenario);
    const char *state_file = fake_get_str(s, "ready_state_file", "");
    if (state_file[0] != '\0') {
        fake_path_join(scenario, state_file, fake.ready_state_file, sizeof fake.ready_state_file);
    }
    bool ok = load_patches(s) && load_blobs(s, scenario);
    json_decref(s);
    if (!ok) {
        unload();
    }
    fake.loaded = ok;
    fake.scenario_stat = st;
    return ok;
}

/* The scenario file is not the one loaded (rewritten since): load it again. */
static void reload_if_changed(void)
{
    const char *scenario = getenv("DGA_FAKE_NVML_SCENARIO");
    struct stat st;
    if (!fake.loaded || scenario == NULL || stat(scenario, &st) != 0) {
        return;
    }
    const struct stat *was = &fake.scenario_stat;
    if (st.st_ino != was->st_ino || st.st_size != was->st_size ||
        st.st_mtim.tv_sec != was->st_mtim.tv_sec || st.st_mtim.tv_nsec != was->st_mtim.tv_nsec) {
        load();
    }
}

/* ---- injection ---- */

/* The injected result of `call` on device (-1 for system calls), or success. */
static nvmlReturn_t injected(const char *call, long device)
{
    if (strcmp(fake.hang_call, call) == 0) {
        fake_sleep_ms(fake.hang_ms);
    }
    if (strcmp(fake.fail.call, call) == 0 &&
        (fake.fail.device < 0 || device < 0 || fake.fail.device == device)) {
        return fake.fail.rc;
    }
    return NVML_SUCCESS;
}

#define ENTER(call, device)                                                                        \
    do {                                                                                           \
        if (!fake.loaded) {                                                                        \
            return NVML_ERROR_UNINITIALIZED;                                                       \
        }                                                                                          \
        nvmlReturn_t _rc = injected(call, device);                                                 \
        if (_rc != NVML_SUCCESS) {                                                                 \
            return _rc;                                                                            \
        }                                                                                          \
    } while (0)

static long device_index(nvmlDevice_t d)
{
    for (unsigned i = 0; i < fake.gpus; i++) {
        if (d == &fake.devices[i]) {
            return (long)i;
        }
    }
    return -1;
}

#define ENTER_DEVICE(call, d)                                                                      \
    long idx = device_index(d);                                                                    \
    if (!fake.loaded) {                                                                            \
        return NVML_ERROR_UNINITIALIZED;                                                           \
    }                                                                                              \
    if (idx < 0) {                                                                                 \
        return NVML_ERROR_INVALID_ARGUMENT;                                                        \
    }                                                                                              \
    ENTER(call, idx)

/* ---- the API ---- */

nvmlReturn_t nvmlInit_v2(void)
{
    if (!load()) {
        return NVML_ERROR_DRIVER_NOT_LOADED;
    }
    nvmlReturn_t rc = injected("nvmlInit_v2", -1);
    if (rc != NVML_SUCCESS) {
        unload(); /* a failed init leaves nothing to shut down */
    }
    return rc;
}

nvmlReturn_t nvmlShutdown(void)
{
    if (!fake.loaded) {
        return NVML_ERROR_UNINITIALIZED;
    }
    nvmlReturn_t rc = injected("nvmlShutdown", -1);
    unload();
    return rc;
}

const char *nvmlErrorString(nvmlReturn_t rc)
{
    switch (rc) {
    case NVML_SUCCESS:
        return "Success";
    case NVML_ERROR_UNINITIALIZED:
        return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT:
        return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED:
        return "Not Supported";
    case NVML_ERROR_INSUFFICIENT_SIZE:
        return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED:
        return "Driver Not Loaded";
    case 15:
        return "GPU is lost";
    default:
        return "Unknown Error";
    }
}

static nvmlReturn_t copy_string(char *buf, unsigned len, const char *s)
{
    if (buf == NULL || strlen(s) >= len) {
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    memcpy(buf, s, strlen(s) + 1);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *buf, unsigned int len)
{
    ENTER("nvmlSystemGetDriverVersion", -1);
    return copy_string(buf, len, fake.driver_version);
}

/*
 * Counts this CC read (a state call, which dga_nvml_cc_settings makes before the settings
 * call) in the reads file, one byte per read whichever process reads (the gate's CC child
 * first, its collection child next), and says whether `after` reads came before it.
 * Deterministic: the gate's children run one at a time.
 */
static bool cc_read_is_later(void)
{
    if (fake.cc_reads_file[0] == '\0') {
        return false;
    }
    struct stat st;
    long before = stat(fake.cc_reads_file, &st) == 0 ? (long)st.st_size : 0;
    FILE *f = fopen(fake.cc_reads_file, "a");
    if (f != NULL) {
        fputc('r', f);
        fclose(f);
    }
    return before >= (long)fake.cc_later_after;
}

nvmlReturn_t nvmlSystemGetConfComputeState(nvmlConfComputeSystemState_t *s)
{
    reload_if_changed();
    ENTER("nvmlSystemGetConfComputeState", -1);
    fake.cc_later_now = cc_read_is_later();
    s->environment = fake.environment;
    s->ccFeature = fake.cc_later_now ? fake.later_cc_feature : fake.cc_feature;
    s->devToolsMode = fake.cc_later_now ? fake.later_devtools_mode : fake.devtools_mode;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetConfComputeSettings(nvmlSystemConfComputeSettings_t *s)
{
    ENTER("nvmlSystemGetConfComputeSettings", -1);
    if (s->version != nvmlSystemConfComputeSettings_v1) {
        return 25; /* NVML_ERROR_ARGUMENT_VERSION_MISMATCH */
    }
    s->environment = fake.environment;
    s->ccFeature = fake.cc_feature;
    s->devToolsMode = fake.devtools_mode;
    s->multiGpuMode = fake.multi_gpu_mode;
    if (fake.cc_later_now) {
        s->ccFeature = fake.later_cc_feature;
        s->devToolsMode = fake.later_devtools_mode;
        s->multiGpuMode = fake.later_multi_gpu_mode;
    }
    return NVML_SUCCESS;
}

static void record(const char *what, unsigned state, nvmlReturn_t rc)
{
    if (fake.ready_record[0] == '\0') {
        return;
    }
    FILE *f = fopen(fake.ready_record, "a");
    if (f != NULL) {
        fprintf(f, "%s %u %d\n", what, state, rc);
        fclose(f);
    }
}

/* The state from "ready_state_file" when it names a readable file with a number in it. */
static void ready_state_load(void)
{
    FILE *f = fake.ready_state_file[0] != '\0' ? fopen(fake.ready_state_file, "r") : NULL;
    unsigned v = 0;
    if (f != NULL && fscanf(f, "%u", &v) == 1) {
        fake.ready_state = v;
    }
    if (f != NULL) {
        fclose(f);
    }
}

static void ready_state_store(void)
{
    FILE *f = fake.ready_state_file[0] != '\0' ? fopen(fake.ready_state_file, "w") : NULL;
    if (f != NULL) {
        fprintf(f, "%u\n", fake.ready_state);
        fclose(f);
    }
}

nvmlReturn_t nvmlSystemGetConfComputeGpusReadyState(unsigned int *state)
{
    if (!fake.loaded) {
        return NVML_ERROR_UNINITIALIZED;
    }
    ready_state_load();
    nvmlReturn_t rc = injected("nvmlSystemGetConfComputeGpusReadyState", -1);
    if (rc == NVML_SUCCESS) {
        *state = fake.ready_state;
    }
    record("get", fake.ready_state, rc);
    return rc;
}

nvmlReturn_t nvmlSystemSetConfComputeGpusReadyState(unsigned int state)
{
    if (!fake.loaded) {
        return NVML_ERROR_UNINITIALIZED;
    }
    nvmlReturn_t rc = injected("nvmlSystemSetConfComputeGpusReadyState", -1);
    if (rc == NVML_SUCCESS && state > NVML_CC_ACCEPTING_CLIENT_REQUESTS_TRUE) {
        rc = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (rc == NVML_SUCCESS) {
        fake.ready_state = state;
        ready_state_store();
    }
    record("set", state, rc);
    return rc;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
    ENTER("nvmlDeviceGetCount_v2", -1);
    *count = fake.gpus;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d)
{
    ENTER("nvmlDeviceGetHandleByIndex_v2", (long)i);
    if (i >= fake.gpus) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    *d = &fake.devices[i];
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t d, unsigned int *arch)
{
    ENTER_DEVICE("nvmlDeviceGetArchitecture", d);
    *arch = fake.arch;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetBoardId(nvmlDevice_t d, unsigned int *id)
{
    ENTER_DEVICE("nvmlDeviceGetBoardId", d);
    *id = fake.board_id + (unsigned)idx;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *buf, unsigned int len)
{
    ENTER_DEVICE("nvmlDeviceGetUUID", d);
    return copy_string(buf, len, fake.uuids[idx]);
}

nvmlReturn_t nvmlDeviceGetVbiosVersion(nvmlDevice_t d, char *buf, unsigned int len)
{
    ENTER_DEVICE("nvmlDeviceGetVbiosVersion", d);
    return copy_string(buf, len, fake.vbios_version);
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *pci)
{
    ENTER_DEVICE("nvmlDeviceGetPciInfo_v3", d);
    unsigned domain = 0, bus = 0, dev = 0, fn = 0;
    memset(pci, 0, sizeof *pci);
    snprintf(pci->busId, sizeof pci->busId, "%s", fake.bus_ids[idx]);
    if (sscanf(pci->busId, "%x:%x:%x.%x", &domain, &bus, &dev, &fn) == 4) {
        pci->domain = domain;
        pci->bus = bus;
        pci->device = dev;
    }
    snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04x:%02x:%02x.%x", domain & 0xffff,
             bus & 0xff, dev & 0xff, fn & 0xf);
    pci->pciDeviceId = 0x233010de; /* H100 SXM */
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetConfComputeGpuCertificate(nvmlDevice_t d,
                                                    nvmlConfComputeGpuCertificate_t *c)
{
    ENTER_DEVICE("nvmlDeviceGetConfComputeGpuCertificate", d);
    size_t n = fake.chain_len[idx] < sizeof c->attestationCertChain
                   ? fake.chain_len[idx]
                   : sizeof c->attestationCertChain;
    memcpy(c->attestationCertChain, fake.chain[idx], n);
    c->attestationCertChainSize = (unsigned)n;
    c->certChainSize = 0;
    if (fake.chain_size >= 0) {
        c->attestationCertChainSize = (unsigned)fake.chain_size;
    }
    return NVML_SUCCESS;
}

#ifndef FAKE_OMIT_REPORT_SYMBOL
/* ---- PPCIe patches ---- */

static unsigned rd16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* The offset of TLV type's value in the report's opaque data (after the SPDM 1.1
 * MEASUREMENTS record and nonce) and its length in *ret_len; 0 when absent. */
static size_t find_tlv(const unsigned char *r, size_t len, unsigned type, size_t *ret_len)
{
    size_t p = 37 + 4;
    if (len < p + 4 + FAKE_SIG_LEN) {
        return 0;
    }
    size_t rec = (size_t)r[p + 1] | (size_t)r[p + 2] << 8 | (size_t)r[p + 3] << 16;
    p += 4 + rec + 32;
    if (p + 2 > len - FAKE_SIG_LEN) {
        return 0;
    }
    size_t end = p + 2 + rd16(r + p);
    for (p += 2; end <= len - FAKE_SIG_LEN && p + 4 <= end;) {
        size_t tlen = rd16(r + p + 2);
        if (p + 4 + tlen > end) {
            return 0;
        }
        if (rd16(r + p) == type) {
            *ret_len = tlen;
            return p + 4;
        }
        p += 4 + tlen;
    }
    return 0;
}

/*
 * A TLV the recorded report lacks (the 545.00 CC report has no TLV 21, 22 or 36): appended to
 * the opaque data, zero-filled, with the opaque length rewritten and the report grown by
 * 4 + tlen (the signature after it is rewritten anyway). The value's offset; 0 if it cannot be.
 */
static size_t insert_tlv(unsigned char *r, size_t *len, size_t cap, unsigned type, size_t tlen)
{
    size_t p = 37 + 4;
    size_t rec = (size_t)r[p + 1] | (size_t)r[p + 2] << 8 | (size_t)r[p + 3] << 16;
    p += 4 + rec + 32; /* the opaque length */
    size_t end = *len - FAKE_SIG_LEN;
    size_t opaque = rd16(r + p);
    if (p + 2 + opaque != end || opaque + 4 + tlen > 0xffff || *len + 4 + tlen > cap) {
        return 0;
    }
    opaque += 4 + tlen;
    r[p] = (unsigned char)(opaque & 0xff);
    r[p + 1] = (unsigned char)(opaque >> 8);
    r[end] = (unsigned char)(type & 0xff);
    r[end + 1] = (unsigned char)(type >> 8);
    r[end + 2] = (unsigned char)(tlen & 0xff);
    r[end + 3] = (unsigned char)(tlen >> 8);
    memset(r + end + 4, 0, tlen + FAKE_SIG_LEN);
    *len += 4 + tlen;
    return end + 4;
}

/* TLV type's value of exactly want bytes (any length when want is 0), inserted if absent. */
static size_t field(unsigned char *r, size_t *len, size_t cap, unsigned type, size_t want,
                    size_t *ret_len)
{
    size_t at = find_tlv(r, *len, type, ret_len);
    if (at == 0) {
        *ret_len = want;
        at = want > 0 ? insert_tlv(r, len, cap, type, want) : 0;
    }
    return at;
}

/*
 * GPU idx's patches, each within the recorded field's length; a field the report lacks is
 * added (insert_tlv). False if one cannot be patched.
 */
static bool apply_patch(long idx, unsigned char *rep, size_t *len, size_t cap)
{
    const struct fake_patch *p = &fake.patch[idx];
    size_t tlen = 0, at = 0;
    if (p->protected_pcie >= 0) {
        at = field(rep, len, cap, TLV_PROTECTED_PCIE, 1, &tlen);
        if (at == 0 || tlen != 1) {
            return false;
        }
        rep[at] = (unsigned char)p->protected_pcie;
    }
    if (p->feature_flag >= 0) {
        at = field(rep, len, cap, TLV_FEATURE_FLAG, 4, &tlen);
        if (at == 0 || tlen == 0 || tlen > 8) {
            return false;
        }
        for (size_t k = 0; k < tlen; k++) {
            rep[at + k] = (unsigned char)((unsigned long)p->feature_flag >> (8 * k));
        }
    }
    if (p->has_links) {
        at = field(rep, len, cap, TLV_SWITCH_PDIS, p->n_links * FAKE_PDI_LEN, &tlen);
        if (at == 0 || tlen < p->n_links * FAKE_PDI_LEN) {
            return false;
        }
        memset(rep + at, 0, tlen);
        memcpy(rep + at, p->links, p->n_links * FAKE_PDI_LEN);
    }
    return true;
}

nvmlReturn_t nvmlDeviceGetConfComputeGpuAttestationReport(nvmlDevice_t d,
                                                          nvmlConfComputeGpuAttestationReport_t *r)
{
    ENTER_DEVICE("nvmlDeviceGetConfComputeGpuAttestationReport", d);
    unsigned char *rep = r->attestationReport;
    size_t len = fake.report_len;
    if (len > sizeof r->attestationReport) {
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    memcpy(rep, fake.report, len);
    memcpy(rep + 4, fake.has_nonce_override ? fake.nonce_override : r->nonce, 32);
    if (!apply_patch(idx, rep, &len, sizeof r->attestationReport) ||
        !fake_resign(fake.key[idx], rep, len)) {
        return NVML_ERROR_UNKNOWN;
    }
    if (fake.corrupt_signature) {
        rep[len - 1] ^= 0x01;
    }
    r->attestationReportSize = (unsigned)len;
    r->isCecAttestationReportPresent = 0;
    r->cecAttestationReportSize = 0;
    if (fake.report_size >= 0) {
        r->attestationReportSize = (unsigned)fake.report_size;
    }
    return NVML_SUCCESS;
}
#endif
