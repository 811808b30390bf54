SUMMARY = "Offline NVIDIA GPU attestation for dstack confidential VMs"
DESCRIPTION = "dstack-gpu-attest: the boot gate that attests every GPU before the \
workload starts, the nvattest drop-in for dstack-util's own GPU step, and the guest \
RPC service. See docs/dstack.md for the two ways to put it in a dstack image."
LICENSE = "Apache-2.0"
# The sources carry SPDX tags and no license file of their own.
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

# Where the repository is served from, and the commit to build: set both in your layer
# (a .bbappend or local.conf); this repository does not know its own published URL.
DGA_GIT_URI ??= "git://git.example.invalid/dstack-gpu-attest.git;protocol=https;branch=main"
SRC_URI = "${DGA_GIT_URI}"
SRCREV ??= "${AUTOREV}"
PV = "0.1.0+git"
S = "${WORKDIR}/git"

inherit cmake pkgconfig systemd

# Linked: OpenSSL, jansson, libxml2. Their headers only (the libraries are dlopen'ed on
# first use, so they are runtime recommendations below): libcurl, libmicrohttpd,
# tpm2-tss. cmocka: configure requires it (the unit tests), nothing links it at runtime.
DEPENDS = "openssl jansson libxml2 curl libmicrohttpd tpm2-tss cmocka"

EXTRA_OECMAKE = "-DCMAKE_BUILD_TYPE=RelWithDebInfo -DDGA_SYSTEMD_UNIT_DIR=${systemd_system_unitdir}"

# Three packages, one per combination of docs/dstack.md; an image installs exactly one
# of the last two (they conflict: both together give two gpu-attestation events, and the
# relying-party verifier refuses such a log).
#  ${PN}          the program, the man page, the RPC units (not enabled by itself)
#  ${PN}-gate     the gate unit with the drop-ins that make dstack-prepare and
#                 app-compose Require= it (the gate beside dstack-util)
#  ${PN}-nvattest /usr/bin/nvattest -> dstack-gpu-attest (dstack-util's own GPU step
#                 runs the drop-in), and dstack-prepare's drop-in for its config
PACKAGES =+ "${PN}-gate ${PN}-nvattest"

SYSTEMD_PACKAGES = "${PN}-gate"
SYSTEMD_SERVICE:${PN}-gate = "dstack-gpu-attest.service"
SYSTEMD_AUTO_ENABLE:${PN}-gate = "enable"

do_install:append() {
    # The drop-in combination's unit drop-in (systemd/combos/nvattest-dropin/).
    install -d ${D}${systemd_system_unitdir}/dstack-prepare.service.d
    install -m 0644 ${S}/systemd/combos/nvattest-dropin/dstack-prepare.service.d/50-dstack-gpu-attest-nvattest.conf \
        ${D}${systemd_system_unitdir}/dstack-prepare.service.d/
    ln -sf dstack-gpu-attest ${D}${bindir}/nvattest
    install -d ${D}${sysconfdir}/dstack-gpu-attest
}

FILES:${PN} = "${bindir}/dstack-gpu-attest ${mandir} ${sysconfdir}/dstack-gpu-attest \
    ${systemd_system_unitdir}/dstack-gpu-attest-rpc.service \
    ${systemd_system_unitdir}/dstack-gpu-attest-rpc.socket"
FILES:${PN}-gate = "${systemd_system_unitdir}/dstack-gpu-attest.service \
    ${systemd_system_unitdir}/app-compose.service.d/50-dstack-gpu-attest.conf \
    ${systemd_system_unitdir}/dstack-prepare.service.d/50-dstack-gpu-attest.conf"
FILES:${PN}-nvattest = "${bindir}/nvattest \
    ${systemd_system_unitdir}/dstack-prepare.service.d/50-dstack-gpu-attest-nvattest.conf"

RDEPENDS:${PN}-gate = "${PN}"
RDEPENDS:${PN}-nvattest = "${PN}"
RCONFLICTS:${PN}-nvattest = "${PN}-gate"
RCONFLICTS:${PN}-gate = "${PN}-nvattest"
# NVIDIA's nvattest also installs /usr/bin/nvattest: the drop-in replaces it.
RCONFLICTS:${PN}-nvattest += "nvattest"
RREPLACES:${PN}-nvattest = "nvattest"

# dlopen'ed, so no automatic shlib dependency: libcurl (online OCSP, collateral fetch),
# libmicrohttpd (serve, proxy, verifier, kms-hook), tpm2-tss (the TPM event backend).
# NVML (libnvidia-ml.so.1) comes with the NVIDIA driver of the image (meta-nvidia).
RRECOMMENDS:${PN} = "libcurl libmicrohttpd libtss2 libtss2-tcti-device"
