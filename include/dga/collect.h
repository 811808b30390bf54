/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Collection: GPU evidence and confidential-computing (CC) state from NVML
 * (loaded with dlopen, a hand-declared subset: docs/formats.md §18),
 * the PCI inventory from sysfs (docs/formats.md §18), and the
 * checks that tie them together. This layer collects and compares counts; it
 * verifies nothing cryptographically (that is lib/appraise). See docs/collect.md.
 */
#ifndef DGA_COLLECT_H
#define DGA_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "dga/error.h"
#include "dga/evidence.h"

#define DGA_NVML_DEFAULT_PATH "libnvidia-ml.so.1"
#define DGA_PCI_SYSFS_DEFAULT "/sys/bus/pci/devices"

/* NVML's own buffer sizes (nvml.h), which bound what it may return. */
#define DGA_NVML_UUID_MAX 80
#define DGA_NVML_VBIOS_MAX 32
#define DGA_NVML_DRIVER_MAX 80
#define DGA_NVML_BUS_ID_MAX 32
#define DGA_PCI_ADDR_MAX 16 /* "dddd:bb:dd.f" */

/* 32 fresh random bytes from getrandom(2). DGA_E_IO if the kernel cannot supply them. */
dga_err dga_collect_nonce(uint8_t out[DGA_NONCE_LEN]);

/* ---- NVML ---- */

/*
 * Why an NVML step failed: the error, the NVML function, NVML's return code
 * and message (when the failure was an NVML return code), and the device
 * index (-1 for system-wide calls).
 */
struct dga_nvml_error {
    dga_err err;
    char function[64];
    int nvml_rc;
    char nvml_message[128];
    int device;
};

/* System-wide CC settings: nvmlSystemGetConfComputeState + ...Settings (v1). */
struct dga_cc_settings {
    unsigned environment;    /* 0 unavailable, 1 SIM, 2 PROD */
    unsigned cc_feature;     /* 0 disabled, 1 enabled */
    unsigned devtools_mode;  /* 0 off, 1 on */
    unsigned multi_gpu_mode; /* 0 none, 1 protected PCIe, 2 NVLE */
};

/*
 * The CC check for a caller that does not attest NVSwitches, an allow-list of
 * every field it reads: the CC feature off (ccFeature 0) is DGA_E_CC_OFF, also
 * in protected-PCIe mode (libnvat accepts that; it needs the NVSwitches
 * attested: dga_cc_check_mode); then any field outside its allow-list
 * (ccFeature 1, environment 2 = production hardware, devToolsMode 0 or 1,
 * multiGpuMode 0, 1 or 2) is DGA_E_CC_UNKNOWN; then DEVTOOLS on (devToolsMode
 * 1) is DGA_E_CC_DEVTOOLS unless allow_devtools.
 */
dga_err dga_cc_check(const struct dga_cc_settings *cc, bool allow_devtools);
/*
 * The gate's check (docs/gate.md): as dga_cc_check, except that the CC feature
 * off with multiGpuMode 1 (protected PCIe) passes with *ret_ppcie true (the
 * caller must then attest the NVSwitches and the topology); the CC feature on
 * passes with *ret_ppcie false. The same allow-list and DEVTOOLS rule apply in
 * both modes. *ret_ppcie is untouched on failure.
 */
dga_err dga_cc_check_mode(const struct dga_cc_settings *cc, bool allow_devtools, bool *ret_ppcie);

/* One CC field outside its allow-list, as NVML names it. */
struct dga_cc_field {
    const char *name; /* "ccFeature", "environment", "devToolsMode", "multiGpuMode" */
    unsigned value;
    const char *allowed; /* e.g. "2 (production hardware)" */
};
/*
 * The first field (in the order above) whose value is outside its allow-list
 * into *ret and true; false (ret untouched) when every field is known.
 */
bool dga_cc_unknown_field(const struct dga_cc_settings *cc, struct dga_cc_field *ret);

/*
 * "off", "on", "devtools", "ppcie" (protected PCIe without the CC feature),
 * or "unknown" when the CC feature is not off and a field is outside its allow-list.
 */
const char *dga_cc_mode_name(const struct dga_cc_settings *cc);

/* One GPU as NVML reports it. */
struct dga_gpu_collected {
    unsigned index;
    enum dga_arch arch;
    unsigned nvml_arch; /* 9 Hopper, 10 Blackwell */
    unsigned board_id;
    char uuid[DGA_NVML_UUID_MAX];
    char vbios_version[DGA_NVML_VBIOS_MAX];
    char pci_address[DGA_PCI_ADDR_MAX]; /* normalized "dddd:bb:dd.f", lowercase */
    uint8_t *report;                    /* attestationReport[0 .. attestationReportSize) */
    size_t report_len;
    char *chain_pem; /* attestationCertChain, NUL-terminated */
    size_t chain_pem_len;
};

struct dga_collection {
    uint8_t nonce[DGA_NONCE_LEN];
    char driver_version[DGA_NVML_DRIVER_MAX];
    struct dga_cc_settings cc;
    size_t n;
    struct dga_gpu_collected gpu[DGA_MAX_DEVICES];
};

/*
 * Frees what *c holds, not c itself (the caller's), and leaves it zeroed:
 * clearing twice is harmless. NULL is fine.
 */
void dga_collection_clear(struct dga_collection *c);
/* For _cleanup_ on a struct variable: dga_collection_clear(c). */
static inline void dga_collection_clearp(struct dga_collection *c)
{
    dga_collection_clear(c);
}
/* For _cleanup_ on one allocated on the heap: dga_collection_clear(*p), free(*p), *p = NULL. */
static inline void dga_collection_freep(struct dga_collection **p)
{
    dga_collection_clear(*p);
    free(*p);
    *p = NULL;
}

/* An initialized NVML library. */
struct dga_nvml;

/*
 * dlopen(path, or DGA_NVML_DEFAULT_PATH when NULL), resolve every function of
 * the subset (DGA_E_NVML_SYMBOL naming the first missing one), nvmlInit_v2.
 * err (optional) says what failed.
 */
dga_err dga_nvml_open(const char *path, struct dga_nvml **ret, struct dga_nvml_error *err);
/* nvmlShutdown and dlclose, and frees nvml; NULL is fine. */
void dga_nvml_close(struct dga_nvml *nvml);
/* For _cleanup_: dga_nvml_close(*p), then *p = NULL. */
static inline void dga_nvml_closep(struct dga_nvml **p)
{
    dga_nvml_close(*p);
    *p = NULL;
}

dga_err dga_nvml_cc_settings(struct dga_nvml *nvml, struct dga_cc_settings *ret,
                             struct dga_nvml_error *err);

/*
 * Collects every GPU: CC settings, driver version, then per device the handle,
 * architecture, board id, UUID, VBIOS version, PCI address, the attestation
 * report for `nonce` and the attestation certificate chain. Every size NVML
 * returns is bounded by its buffer (DGA_E_NVML_SIZE); the chain must parse as
 * 5 PEM certificates (DGA_E_NVML_CHAIN). Zero GPUs is success with ret->n 0:
 * whether that is acceptable is the caller's policy. *ret is untouched on failure.
 */
dga_err dga_nvml_collect(struct dga_nvml *nvml, const uint8_t nonce[DGA_NONCE_LEN],
                         struct dga_collection *ret, struct dga_nvml_error *err);

/* nvmlSystemGetConfComputeGpusReadyState: 0 not ready, 1 ready. */
dga_err dga_nvml_ready_get(struct dga_nvml *nvml, unsigned *ret, struct dga_nvml_error *err);
/* nvmlSystemSetConfComputeGpusReadyState (system-wide): only 0 or 1. */
dga_err dga_nvml_ready_set(struct dga_nvml *nvml, unsigned state, struct dga_nvml_error *err);

/*
 * dga_nvml_open + dga_nvml_collect + dga_nvml_close in a child process, with a
 * deadline. NVML's API is synchronous and a wedged driver can block a call
 * forever, so the parent waits at most timeout_ms, then kills the child and
 * fails with DGA_E_NVML_TIMEOUT. The child hands the collection back as
 * collected-evidence JSON (dga_collection_to_json), which the parent parses
 * with the same caps as any untrusted input. How the child starts (fork, or a
 * spawned program in a threaded process): dga_collect_set_child_program.
 */
dga_err dga_collect_with_deadline(const char *nvml_path, const uint8_t nonce[DGA_NONCE_LEN],
                                  unsigned timeout_ms, struct dga_collection *ret,
                                  struct dga_nvml_error *err);

/*
 * dga_nvml_ready_set in a child process with a deadline, as above. The ready
 * state is system-wide driver state: it outlives the child (dstack sets it
 * from a process that then exits). A timeout is DGA_E_NVML_TIMEOUT and then
 * whether NVML applied the state is unknown: the caller must treat the gate
 * as failed.
 */
dga_err dga_nvml_ready_set_with_deadline(const char *nvml_path, unsigned state, unsigned timeout_ms,
                                         struct dga_nvml_error *err);

/*
 * dga_nvml_ready_get in a child process with a deadline (the RPC service reads the state now),
 * its errors included (a state other than 0 or 1 is DGA_E_NVML_SIZE). *ret untouched on failure.
 */
dga_err dga_nvml_ready_get_with_deadline(const char *nvml_path, unsigned timeout_ms, unsigned *ret,
                                         struct dga_nvml_error *err);

/* dga_nvml_cc_settings in a child process with a deadline (the gate checks CC before collecting).
 */
dga_err dga_nvml_cc_settings_with_deadline(const char *nvml_path, unsigned timeout_ms,
                                           struct dga_cc_settings *ret, struct dga_nvml_error *err);

/*
 * How the *_with_deadline children start, process-wide. By default (NULL) the
 * child is fork()ed and runs the job in the copied process: right for a
 * single-threaded program (the gate CLI, collect). A child forked from a
 * threaded process may only call async-signal-safe functions: a lock another
 * thread held at fork time (malloc's, the dynamic loader's, NVML's own) stays
 * locked in the child forever, and the job would hang until its deadline. So
 * a threaded program (the RPC service) names a child program here, an image
 * of itself (/proc/self/exe), and the children are posix_spawn()ed as
 * `path DGA_COLLECT_CHILD_COMMAND OP ...`, whose main must call
 * dga_collect_child_main. Call it once at start, before any thread; path is
 * copied. DGA_E_BAD_ARGUMENT if path is empty or longer than PATH_MAX - 1.
 * A path that cannot be started is found at the first job: DGA_E_IO with
 * function "collection child" and the reason in nvml_message.
 */
dga_err dga_collect_set_child_program(const char *path);

/* The hidden subcommand a child program is started with (not for users). */
#define DGA_COLLECT_CHILD_COMMAND "__nvml-child"

/*
 * The main of a spawned child: argv[0] is DGA_COLLECT_CHILD_COMMAND, then one
 * of `collect NVML NONCE-HEX`, `ready-set NVML 0|1`, `ready-get NVML`,
 * `cc-settings NVML`, `state NVML` (NVML a library path, at most PATH_MAX - 1
 * bytes; the nonce exactly 64 hex digits). Runs the job and writes its JSON, as
 * a forked child would, to fd 1; returns the exit status: 0 written, 1 out of
 * memory, 2 arguments that are not exactly one of those (then nothing is
 * written and the parent fails closed). `state-server NVML` is the state
 * reader's long-lived child (dga_nvml_state_reader_new): it answers each
 * request line on fd 0 with one line on fd 1, and exits 0 at EOF, 2 on
 * anything that is not a request.
 */
int dga_collect_child_main(int argc, char **argv);

/*
 * dga_nvml_cc_settings and dga_nvml_ready_get in ONE child process with a
 * deadline (as dga_collect_with_deadline): the CC settings and the ready state
 * read now. The errors of both; the outputs untouched on failure.
 */
dga_err dga_nvml_state_with_deadline(const char *nvml_path, unsigned timeout_ms,
                                     struct dga_cc_settings *ret_cc, unsigned *ret_ready,
                                     struct dga_nvml_error *err);

/*
 * The NVML state reader: the CC settings and the ready state read now, fast,
 * for a service that answers them on every request. A child per read costs a
 * program image, a dlopen and an nvmlInit (~15 ms); the reader keeps ONE
 * long-lived, single-threaded child (`DGA_COLLECT_CHILD_COMMAND state-server
 * NVML`, spawned from the child program) that opens NVML once and answers a
 * request line with one line of JSON. Every read still has its own deadline
 * (timeout_ms from the request, the child's start included on the first read):
 * a child that does not answer in time, answers anything but one well-formed
 * line, or dies, is SIGKILLed and reaped and that read fails closed
 * (DGA_E_NVML_TIMEOUT, DGA_E_BAD_JSON, DGA_E_TOO_LARGE, or DGA_E_NVML_CALL
 * with the child's exit status), all with function "collection child"; the
 * next read spawns a fresh child. A child found dead before its request was
 * sent (killed between reads) is replaced at once, within that read. An NVML
 * error is the child's answer and the child stays (it reopens NVML at the next
 * read). The child starts at the first read, not here. Each read asks the
 * driver again: nothing is cached. When no child program is set (a forked,
 * single-threaded program) a read is dga_nvml_state_with_deadline.
 * Not thread-safe: the caller serialises reads (and the reader's free).
 */
struct dga_nvml_state_reader;

/* nvml_path NULL: DGA_NVML_DEFAULT_PATH. DGA_E_BAD_ARGUMENT for an empty or too long path. */
dga_err dga_nvml_state_reader_new(const char *nvml_path, unsigned timeout_ms,
                                  struct dga_nvml_state_reader **ret);

/* One read, as above; the outputs untouched on failure, err (optional) says what failed. */
dga_err dga_nvml_state_reader_read(struct dga_nvml_state_reader *r, struct dga_cc_settings *ret_cc,
                                   unsigned *ret_ready, struct dga_nvml_error *err);

/*
 * Ends the child (EOF on its requests: it shuts NVML down and exits; SIGKILL if
 * it has not within a second) and frees r. NULL is fine.
 */
void dga_nvml_state_reader_free(struct dga_nvml_state_reader *r);
/* For _cleanup_: dga_nvml_state_reader_free(*p), then *p = NULL. */
static inline void dga_nvml_state_reader_freep(struct dga_nvml_state_reader **p)
{
    dga_nvml_state_reader_free(*p);
    *p = NULL;
}

/* ---- output ---- */

/*
 * NVIDIA's serialized evidence JSON (docs/formats.md §1), one object per
 * GPU with arch, nonce, evidence, certificate, plus what the collection saw:
 * pci_address, uuid, board_id, vbios_version, driver_version and "cc"
 * {environment, cc_feature, devtools_mode, multi_gpu_mode, mode}. Readers of
 * NVIDIA's format ignore the extra keys. New reference, NULL on allocation failure.
 */
json_t *dga_collection_to_json(const struct dga_collection *c);

/* Parses what dga_collection_to_json wrote (strictly; capped). diag->offset = device index. */
#define DGA_COLLECTION_JSON_MAX (2u << 20)
dga_err dga_collection_from_json(const char *text, size_t len, struct dga_collection *ret,
                                 struct dga_diag *diag);

/* The collection as an evidence set for verification (owned copies). */
dga_err dga_collection_to_evidence(const struct dga_collection *c, struct dga_evidence_set *ret);

/* ---- sysfs PCI inventory ---- */

#define DGA_PCI_VENDOR_NVIDIA 0x10de

enum dga_pci_kind {
    DGA_PCI_GPU,      /* NVIDIA, class 0x0300xx (VGA) or 0x0302xx (3D) */
    DGA_PCI_NVSWITCH, /* NVIDIA, class 0x0680xx (other bridge) */
};

struct dga_pci_device {
    char address[DGA_PCI_ADDR_MAX];
    uint16_t vendor, device;
    uint32_t class_code; /* 24 bits: base, sub, prog-if */
    enum dga_pci_kind kind;
};

struct dga_inventory {
    size_t n_gpus, n_switches;
    struct dga_pci_device gpu[DGA_MAX_DEVICES]; /* sorted by address */
    struct dga_pci_device nvswitch[DGA_MAX_DEVICES];
};

/* Where a scan failed: the entry (device directory name) and the attribute file. */
struct dga_inventory_error {
    dga_err err;
    char entry[64];
    const char *file; /* "vendor", "class", "device", or "" for the directory itself */
};

/*
 * Scans root (DGA_PCI_SYSFS_DEFAULT when NULL): every entry's vendor and
 * class, and device for NVIDIA ones. Any unreadable entry is
 * DGA_E_PCI_UNREADABLE; a display controller (class 0x03xxxx) that is not
 * an NVIDIA GPU is DGA_E_PCI_FOREIGN_DISPLAY; more than DGA_MAX_DEVICES of a
 * kind is DGA_E_TOO_LARGE. *ret is untouched on failure.
 */
dga_err dga_inventory_scan(const char *root, struct dga_inventory *ret,
                           struct dga_inventory_error *err);

/*
 * NVML agrees with the inventory: the same number of GPUs, and every NVML
 * PCI address is an inventory GPU. DGA_E_INVENTORY_MISMATCH otherwise;
 * diag->offset is the NVML index of the first unknown address (or the count).
 */
dga_err dga_inventory_check_collection(const struct dga_inventory *inv,
                                       const struct dga_collection *c, struct dga_diag *diag);

/*
 * The evidence agrees with the inventory: as many GPU entries as GPUs and,
 * when with_switches, as many NVSwitch entries as NVSwitches (switch
 * evidence comes from NSCQ, which this layer does not collect).
 */
dga_err dga_inventory_check_evidence(const struct dga_inventory *inv,
                                     const struct dga_evidence_set *ev, bool with_switches,
                                     struct dga_diag *diag);

/* ---- NVSwitch evidence through NSCQ (docs/collect.md "NSCQ") ---- */

#define DGA_NSCQ_DEFAULT_PATH "libnvidia-nscq.so.2"
#define DGA_NSCQ_LABEL_MAX 64      /* nscq_label_t */
#define DGA_NSCQ_UUID_LEN 16       /* nscq_uuid_t */
#define DGA_NSCQ_REPORT_MAX 0x2000 /* nscq_attestation_report_t's buffer */
#define DGA_NSCQ_CHAIN_MAX 0x1400  /* nscq_attestation_certificate_t's buffer */
#define DGA_NSCQ_MAX_SWITCHES 16   /* a PPCIe system has 4 */
/* NSCQ's "status unknown" (NSCQ_DEVICE_TNVL_MODE_UNKNOWN): also what a switch reads as when
 * pcie_mode was never delivered. */
#define DGA_NSCQ_TNVL_UNKNOWN (-1)

/*
 * Why an NSCQ step failed: the error, the NSCQ function (or "collection child"), the observe
 * path (when the function is nscq_session_path_observe, or a callback's path), NSCQ's return
 * code (0 when the failure was not one), the switch index (-1 for session-wide steps) and
 * label (when known), and a message.
 */
struct dga_nscq_error {
    dga_err err;
    char function[64];
    char path[128];
    int nscq_rc;
    int switch_index;
    char label[DGA_NSCQ_LABEL_MAX];
    char message[256]; /* dlerror's text for nscq-load; a child's exit for "collection child" */
};

/* One NVSwitch as NSCQ reports it. */
struct dga_switch_collected {
    unsigned index;
    uint8_t uuid[DGA_NSCQ_UUID_LEN];
    char label[DGA_NSCQ_LABEL_MAX]; /* nscq_uuid_to_label: NUL-terminated, no '/' */
    enum dga_arch arch;             /* DGA_ARCH_LS10: the only one collected */
    /*
     * /L/config/pcie_mode as NSCQ gave it (nscq_tnvl_status_t: -1 unknown, 0 disabled,
     * 1 enabled, 2 failure, 3 locked), uninterpreted: not signed evidence, a host-side reading.
     */
    int tnvl_status;
    uint8_t *report; /* report[0 .. report_size) */
    size_t report_len;
    char *chain_pem; /* the PEM chain text, NUL-terminated */
    size_t chain_pem_len;
};

struct dga_switch_collection {
    uint8_t nonce[DGA_NONCE_LEN];
    size_t n;
    struct dga_switch_collected sw[DGA_NSCQ_MAX_SWITCHES];
};

/* Frees what *c holds, not c, and leaves it zeroed; NULL is fine. */
void dga_switch_collection_clear(struct dga_switch_collection *c);
static inline void dga_switch_collection_clearp(struct dga_switch_collection *c)
{
    dga_switch_collection_clear(c);
}
static inline void dga_switch_collection_freep(struct dga_switch_collection **p)
{
    dga_switch_collection_clear(*p);
    free(*p);
    *p = NULL;
}

/*
 * dlopen(path, or DGA_NSCQ_DEFAULT_PATH when NULL) (nscq-load; nscq-symbol naming the first
 * missing function), a session with the devices mounted, then: enumerate the switches
 * (/drv/nvswitch/{device}/uuid, each UUID to its label), their architecture (/{nvswitch}/id/arch,
 * only LS10: nscq-arch), and per switch the attestation report for `nonce` (set_input, then
 * /L/config/attestation_report), the certificate chain (/L/config/certificate) and the TNVL
 * status (/L/config/pcie_mode). Every NSCQ return code other than 0, returned or passed to a
 * callback, is its named error (nscq-*; warnings too); sizes are bounded in the callbacks
 * (nscq-size: report in [DGA_REPORT_MIN, 0x2000], chain in [1, 0x1400]); the chain must be 5
 * PEM certificates (nscq-chain); more than DGA_NSCQ_MAX_SWITCHES is too-large. Zero switches
 * is success with n 0 (the caller's policy). *ret untouched on failure; err optional.
 */
dga_err dga_nscq_collect(const char *path, const uint8_t nonce[DGA_NONCE_LEN],
                         struct dga_switch_collection *ret, struct dga_nscq_error *err);

/*
 * dga_nscq_collect in a child process with a deadline, as dga_collect_with_deadline (the
 * same child runner: forked, or spawned as `__nvml-child nscq-collect NSCQ NONCE-HEX`); a
 * timeout is nscq-timeout (the child killed and reaped). The child's JSON is read with
 * dga_switch_collection_from_json.
 */
dga_err dga_nscq_collect_with_deadline(const char *nscq_path, const uint8_t nonce[DGA_NONCE_LEN],
                                       unsigned timeout_ms, struct dga_switch_collection *ret,
                                       struct dga_nscq_error *err);

/*
 * nvattest's switch evidence JSON in its collect-evidence wrapper: {"evidences": [{arch
 * "LS10", nonce (hex), evidence (base64 report), certificate (base64 PEM)}, ...],
 * "result_code": 0, "result_message": "Ok"}, with added keys NVIDIA's readers ignore: per
 * switch uuid (32 hex), label, tnvl_status; at the top nonce. New reference; NULL on no memory.
 */
json_t *dga_switch_collection_to_json(const struct dga_switch_collection *c);

/* Parses what dga_switch_collection_to_json wrote, strictly and capped. diag->offset = switch. */
#define DGA_SWITCH_COLLECTION_JSON_MAX (1u << 20)
dga_err dga_switch_collection_from_json(const char *text, size_t len,
                                        struct dga_switch_collection *ret, struct dga_diag *diag);

/* The switches as an evidence set for verification (owned copies, arch LS10), each with its
 * tnvl_status as has_tnvl / tnvl. */
dga_err dga_switch_collection_to_evidence(const struct dga_switch_collection *c,
                                          struct dga_evidence_set *ret);

#endif
