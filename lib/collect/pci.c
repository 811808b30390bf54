/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PCI inventory from sysfs (docs/formats.md §18): NVIDIA (0x10de)
 * display controllers of class 0x0300 (VGA) or 0x0302 (3D) are GPUs, NVIDIA
 * bridges of class 0x0680 are NVSwitches; any other display controller
 * (class 0x03xx) fails; any entry that cannot be read fails. The root is a
 * parameter so tests build the tree in a temporary directory.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/internal.h"
#include "collect/testing.h"
#include "core/cleanup.h"

#define SYSFS_ATTR_MAX 32       /* "0x030200\n" is 9 bytes */
#define SYSFS_MAX_ENTRIES 4096  /* PCI functions we are willing to look at */
#define PCI_CLASS_DISPLAY 0x03u /* base class */
#define PCI_CLASS_VGA 0x0300u
#define PCI_CLASS_3D 0x0302u
#define PCI_CLASS_BRIDGE_OTHER 0x0680u

dga_err dga_sysfs_hex_parse(const char *text, size_t len, uint32_t max, uint32_t *ret)
{
    if (len > 0 && text[len - 1] == '\n') {
        len--; /* sysfs ends every attribute with one newline */
    }
    if (len < 3 || len > 10 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
        return DGA_E_BAD_HEX;
    }
    uint32_t v = 0;
    for (size_t i = 2; i < len; i++) {
        if (!isxdigit((unsigned char)text[i])) {
            return DGA_E_BAD_HEX;
        }
        int d = isdigit((unsigned char)text[i]) ? text[i] - '0'
                                                : tolower((unsigned char)text[i]) - 'a' + 10;
        v = (v << 4) | (uint32_t)d;
    }
    if (v > max) {
        return DGA_E_TOO_LARGE;
    }
    *ret = v;
    return DGA_E_OK;
}

static bool hex_run(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

dga_err pci_address_normalize(const char *in, size_t len, char out[DGA_PCI_ADDR_MAX])
{
    /* domain (4 hex from sysfs, 8 from NVML) ':' bus(2) ':' device(2) '.' function(1) */
    size_t dom = len >= 8 ? len - 8 : 0;
    if ((dom != 4 && dom != 8) || !hex_run(in, dom) || in[dom] != ':' ||
        !hex_run(in + dom + 1, 2) || in[dom + 3] != ':' || !hex_run(in + dom + 4, 2) ||
        in[dom + 6] != '.' || !hex_run(in + dom + 7, 1)) {
        return DGA_E_PCI_ADDRESS;
    }
    if (dom == 8 && strncmp(in, "0000", 4) != 0) {
        return DGA_E_PCI_ADDRESS; /* a 32-bit domain beyond 16 bits: not a Linux PCI domain */
    }
    const char *p = in + dom - 4;
    for (size_t i = 0; i < 12; i++) {
        out[i] = (char)tolower((unsigned char)p[i]);
    }
    out[12] = '\0';
    return DGA_E_OK;
}

static dga_err scan_fail(struct dga_inventory_error *err, dga_err e, const char *entry,
                         const char *file)
{
    if (err != NULL) {
        err->err = e;
        snprintf(err->entry, sizeof err->entry, "%s", entry);
        err->file = file;
    }
    return e;
}

/* One attribute file of an entry, parsed as sysfs hex. */
static dga_err read_attr(int dirfd, const char *entry, const char *file, uint32_t max,
                         uint32_t *ret)
{
    char path[128], buf[SYSFS_ATTR_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", entry, file) >= sizeof path) {
        return DGA_E_PCI_UNREADABLE;
    }
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return DGA_E_PCI_UNREADABLE;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n <= 0 || (size_t)n >= sizeof buf) {
        return DGA_E_PCI_UNREADABLE;
    }
    return dga_sysfs_hex_parse(buf, (size_t)n, max, ret) == DGA_E_OK ? DGA_E_OK
                                                                     : DGA_E_PCI_UNREADABLE;
}

static dga_err add_device(struct dga_inventory *inv, const struct dga_pci_device *d)
{
    size_t *n = d->kind == DGA_PCI_GPU ? &inv->n_gpus : &inv->n_switches;
    struct dga_pci_device *list = d->kind == DGA_PCI_GPU ? inv->gpu : inv->nvswitch;
    if (*n >= DGA_MAX_DEVICES) {
        return DGA_E_TOO_LARGE;
    }
    list[(*n)++] = *d;
    return DGA_E_OK;
}

/* Classifies one entry; an entry that is neither GPU nor NVSwitch (and not a display) is skipped.
 */
static dga_err scan_entry(int dirfd, const char *entry, struct dga_inventory *inv,
                          struct dga_inventory_error *err)
{
    struct dga_pci_device d;
    uint32_t vendor, class_code, device;
    memset(&d, 0, sizeof d);
    if (pci_address_normalize(entry, strlen(entry), d.address) != DGA_E_OK) {
        return scan_fail(err, DGA_E_PCI_ADDRESS, entry, "");
    }
    if (read_attr(dirfd, entry, "vendor", 0xffff, &vendor) != DGA_E_OK) {
        return scan_fail(err, DGA_E_PCI_UNREADABLE, entry, "vendor");
    }
    if (read_attr(dirfd, entry, "class", 0xffffff, &class_code) != DGA_E_OK) {
        return scan_fail(err, DGA_E_PCI_UNREADABLE, entry, "class");
    }
    uint32_t cls = class_code >> 8;
    bool nvidia = vendor == DGA_PCI_VENDOR_NVIDIA;
    bool gpu = nvidia && (cls == PCI_CLASS_VGA || cls == PCI_CLASS_3D);
    if ((class_code >> 16) == PCI_CLASS_DISPLAY && !gpu) {
        return scan_fail(err, DGA_E_PCI_FOREIGN_DISPLAY, entry, "class");
    }
    if (!gpu && !(nvidia && cls == PCI_CLASS_BRIDGE_OTHER)) {
        return DGA_E_OK;
    }
    if (read_attr(dirfd, entry, "device", 0xffff, &device) != DGA_E_OK) {
        return scan_fail(err, DGA_E_PCI_UNREADABLE, entry, "device");
    }
    d.vendor = (uint16_t)vendor;
    d.device = (uint16_t)device;
    d.class_code = class_code;
    d.kind = gpu ? DGA_PCI_GPU : DGA_PCI_NVSWITCH;
    dga_err e = add_device(inv, &d);
    return e == DGA_E_OK ? e : scan_fail(err, e, entry, "");
}

static int compare_address(const void *a, const void *b)
{
    return strcmp(((const struct dga_pci_device *)a)->address,
                  ((const struct dga_pci_device *)b)->address);
}

static inline void closedirp(DIR **d)
{
    if (*d != NULL) {
        closedir(*d);
        *d = NULL;
    }
}

static dga_err scan_dir(DIR *dir, struct dga_inventory *inv, struct dga_inventory_error *err)
{
    size_t seen = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        if (++seen > SYSFS_MAX_ENTRIES) {
            return scan_fail(err, DGA_E_TOO_LARGE, de->d_name, "");
        }
        dga_err e = scan_entry(dirfd(dir), de->d_name, inv, err);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    return DGA_E_OK;
}

dga_err dga_inventory_scan(const char *root, struct dga_inventory *ret,
                           struct dga_inventory_error *err)
{
    const char *path = root != NULL ? root : DGA_PCI_SYSFS_DEFAULT;
    _cleanup_(closedirp) DIR *dir = opendir(path);
    if (dir == NULL) {
        return scan_fail(err, DGA_E_PCI_UNREADABLE, "", "");
    }
    _cleanup_(freep) struct dga_inventory *inv = calloc(1, sizeof *inv);
    if (inv == NULL) {
        return scan_fail(err, DGA_E_NOMEM, "", "");
    }
    dga_err e = scan_dir(dir, inv, err);
    if (e != DGA_E_OK) {
        return e;
    }
    qsort(inv->gpu, inv->n_gpus, sizeof inv->gpu[0], compare_address);
    qsort(inv->nvswitch, inv->n_switches, sizeof inv->nvswitch[0], compare_address);
    *ret = *inv;
    return DGA_E_OK;
}

static bool inventory_has_gpu(const struct dga_inventory *inv, const char *address)
{
    for (size_t i = 0; i < inv->n_gpus; i++) {
        if (strcmp(inv->gpu[i].address, address) == 0) {
            return true;
        }
    }
    return false;
}

dga_err dga_inventory_check_collection(const struct dga_inventory *inv,
                                       const struct dga_collection *c, struct dga_diag *diag)
{
    if (c->n != inv->n_gpus) {
        return dga_diag_set(diag, DGA_E_INVENTORY_MISMATCH, c->n, "gpu-count");
    }
    for (size_t i = 0; i < c->n; i++) {
        /* Counts are equal and sysfs addresses unique: a missing one means a different set. */
        if (!inventory_has_gpu(inv, c->gpu[i].pci_address)) {
            return dga_diag_set(diag, DGA_E_INVENTORY_MISMATCH, i, "gpu-pci-address");
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->gpu[i].pci_address, c->gpu[j].pci_address) == 0) {
                return dga_diag_set(diag, DGA_E_INVENTORY_MISMATCH, i, "gpu-pci-address");
            }
        }
    }
    return DGA_E_OK;
}

dga_err dga_inventory_check_evidence(const struct dga_inventory *inv,
                                     const struct dga_evidence_set *ev, bool with_switches,
                                     struct dga_diag *diag)
{
    size_t gpus = 0, switches = 0;
    for (size_t i = 0; i < ev->n; i++) {
        if (dga_arch_is_switch(ev->dev[i].arch)) {
            switches++;
        } else {
            gpus++;
        }
    }
    if (gpus != inv->n_gpus) {
        return dga_diag_set(diag, DGA_E_INVENTORY_MISMATCH, gpus, "gpu-count");
    }
    if (with_switches && switches != inv->n_switches) {
        return dga_diag_set(diag, DGA_E_INVENTORY_MISMATCH, switches, "nvswitch-count");
    }
    if (!with_switches && switches != 0) {
        return dga_diag_set(diag, DGA_E_INVENTORY_MISMATCH, switches, "nvswitch-count");
    }
    return DGA_E_OK;
}
