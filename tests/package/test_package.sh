#!/usr/bin/env bash
# The built Debian packages (make deb, debian/), as a user gets them: unpacked with
# dpkg-deb into a throwaway root, each package's files exactly the expected list
# (tests/package/<package>.files: FHS places; the docs folder by pattern), conffiles the
# examples in /etc, no unit enabled or started by the maintainer scripts, Depends naming
# the package of every library the program links, the libraries it loads at run time
# (not linked) in Recommends/Suggests, the installed program run with LD_LIBRARY_PATH
# unset (--version, attest on a bundled H100 sample, the nvattest name),
# `systemd-analyze verify --root` on the installed units, and lintian on the .changes
# (no error or warning that debian/*.lintian-overrides does not justify).
# Usage: test_package.sh DEB_DIR   (make check-package)
set -euo pipefail

debdir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

packages=(dstack-gpu-attest dstack-gpu-attest-gate dstack-gpu-attest-host dstack-gpu-attest-nvattest)
changes=$(ls "$debdir"/dstack-gpu-attest_*.changes 2>/dev/null) || fail "no .changes in $debdir (make deb)"
[ "$(echo "$changes" | wc -l)" -eq 1 ] || fail "more than one .changes in $debdir"
deb() { # package: its one .deb
    local f
    f=$(ls "$debdir/$1"_*_*.deb 2>/dev/null) || fail "no $1 .deb in $debdir"
    [ "$(echo "$f" | wc -l)" -eq 1 ] || fail "more than one $1 .deb"
    echo "$f"
}

# Each package's files: exactly the expected list. The docs are a folder of the
# project's own documents, checked by pattern so that a new document needs no edit here.
root=$work/root
mkdir -p "$root"
for p in "${packages[@]}"; do
    f=$(deb "$p")
    dpkg-deb -x "$f" "$root"
    dpkg-deb -c "$f" | awk '{ print substr($6, 2) ($7 == "->" ? " -> " $8 : "") }' |
        grep -v '/$' | sed -E 's#^/usr/share/doc/dstack-gpu-attest/docs/[a-z0-9-]+\.md(\.gz)?$#/usr/share/doc/dstack-gpu-attest/docs/*.md#' |
        LC_ALL=C sort -u >"$work/$p.files"
    if ! diff -u "$here/$p.files" "$work/$p.files"; then
        fail "$p: the files differ from tests/package/$p.files"
    fi
done
[ -f "$root/usr/share/doc/dstack-gpu-attest/docs/architecture.md.gz" ] ||
    fail "the docs are not installed (docs/architecture.md)"

# Configuration: only examples, each a conffile (an admin's edit survives upgrades).
for p in "${packages[@]}"; do
    dpkg-deb -e "$(deb "$p")" "$work/ctl-$p"
    for c in $(cat "$work/ctl-$p/conffiles" 2>/dev/null); do
        case $c in
        /etc/dstack-gpu-attest/*.example) ;;
        *) fail "$p: conffile $c is not an example" ;;
        esac
    done
    for f in $(grep '^/etc/' "$work/$p.files" || true); do
        grep -qx "$f" "$work/ctl-$p/conffiles" || fail "$p: $f is not a conffile"
    done
    # Installing enables and starts nothing (dh_installsystemd --no-enable): the only
    # start is debhelper's `deb-systemd-invoke $_dh_action` (start on install, restart on
    # upgrade), which acts on enabled units only, so an upgrade restarts the servers an
    # admin enabled; every `enable` is guarded by `debian-installed` (re-creates the links
    # of a unit an admin enabled, on upgrade), where debhelper's default enables on the
    # first installation. The gate's unit is never stopped, started or restarted by a
    # maintainer script: the workload Requires= it (debian/rules).
    for script in "$work/ctl-$p/postinst" "$work/ctl-$p/prerm" "$work/ctl-$p/postrm"; do
        [ -f "$script" ] || continue
        if grep "deb-systemd-invoke" "$script" | grep -q "'dstack-gpu-attest.service'"; then
            fail "$p: $(basename "$script") stops or starts the gate's unit"
        fi
    done
    postinst=$work/ctl-$p/postinst
    [ -f "$postinst" ] || continue
    if grep -E 'systemctl .*(start|enable)' "$postinst" ||
        grep 'deb-systemd-invoke' "$postinst" | grep -v 'deb-systemd-invoke \$_dh_action '; then
        fail "$p: the postinst starts a unit"
    fi
    enables=$(grep -c "deb-systemd-helper enable " "$postinst" || true)
    guards=$(grep -c "if deb-systemd-helper debian-installed " "$postinst" || true)
    [ "$enables" -eq "$guards" ] || fail "$p: the postinst enables a unit on installation"
done

# Dependencies: every library the program links is in the main package's Depends, by
# the package that holds it here; the libraries it loads on first use are not linked
# and are in Recommends or Suggests, except libxml2 (every RIM check needs it): Depends.
field() { dpkg-deb -f "$(deb "$1")" "$2" | tr ',' '\n' | sed -E 's/^ *//; s/ .*//'; }
bin=$root/usr/bin/dstack-gpu-attest
for so in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    pkg=$(dpkg -S "*/$so" 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -n "$pkg" ] || fail "no installed package holds $so"
    field dstack-gpu-attest Depends | grep -qx "$pkg" || fail "Depends lacks $pkg ($so)"
done
for pair in libcurl.so.4:libcurl4:Recommends libmicrohttpd.so.12:libmicrohttpd12:Recommends \
    libtss2-esys.so.0:libtss2-esys-3.0.2-0:Suggests libtss2-tctildr.so.0:libtss2-tctildr0:Suggests \
    libnvidia-ml.so.1:libnvidia-ml1:Suggests libxml2.so.2:libxml2:Depends; do
    IFS=: read -r so pkg fld <<<"$pair"
    if readelf -d "$bin" | grep -q "\[$so\]"; then
        fail "the program links $so: it is loaded on first use"
    fi
    field dstack-gpu-attest "$fld" | grep -qx "$pkg" || fail "$fld lacks $pkg ($so)"
done
for pkg in dstack-gpu-attest libmicrohttpd12 libcurl4; do
    field dstack-gpu-attest-host Depends | grep -qx "$pkg" || fail "the host package does not depend on $pkg"
done
field dstack-gpu-attest-nvattest Conflicts | grep -qx nvattest || fail "the nvattest package does not conflict with nvattest"
# One deployment at a time (docs/dstack.md): with the gate and the drop-in both, dstack-util
# and the gate would each measure a gpu-attestation event.
field dstack-gpu-attest-nvattest Conflicts | grep -qx dstack-gpu-attest-gate ||
    fail "the nvattest package does not conflict with the gate package"
field dstack-gpu-attest-gate Conflicts | grep -qx dstack-gpu-attest-nvattest ||
    fail "the gate package does not conflict with the nvattest package"

# The installed program, as a user runs it (no build tree on the library path).
out=$(env -u LD_LIBRARY_PATH "$bin" --version)
[ "$out" = "dstack-gpu-attest $(dpkg-deb -f "$(deb dstack-gpu-attest)" Version)" ] ||
    fail "--version printed '$out'"
h545=$repo/tests/fixtures/gpu/h100_545.00
rc=0
env -u LD_LIBRARY_PATH "$bin" attest --report "$h545/report.hex" --cert-chain "$h545/certchain.pem" \
    --arch hopper --nonce 4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e \
    --rim-dir "$h545/rims" --policy "$repo/tests/fixtures/policies/offline_no_ocsp.json" \
    --at 2024-06-01T00:00:00Z >"$work/attest.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$work/attest.out" >&2; fail "attest on the H100 sample exited $rc"; }
grep -qx 'verdict: PASS (1 device)' "$work/attest.out" || fail "attest did not print the PASS verdict"
[ "$(readlink "$root/usr/bin/nvattest")" = dstack-gpu-attest ] || fail "/usr/bin/nvattest is not the link"
env -u LD_LIBRARY_PATH "$root/usr/bin/nvattest" --help 2>&1 | head -1 | grep -q '^Usage: nvattest attest ' ||
    fail "invoked as nvattest the program is not the drop-in"

# The installed units, verified in the root: this system's own systemd units beside
# them (sysinit.target and the like), /bin/mkdir for the gate's ExecStartPre and
# stand-ins for dstack's units that the drop-ins extend.
mkdir -p "$root/usr/lib/systemd" "$root/bin"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp /bin/mkdir "$root/bin/"
for u in app-compose dstack-prepare; do
    printf '[Unit]\nDescription=stand-in for %s\n[Service]\nType=oneshot\nExecStart=/bin/mkdir -p /tmp/x\n' \
        "$u" >"$root/usr/lib/systemd/system/$u.service"
done
units=$(cd "$root/lib/systemd/system" && ls -- *.service *.socket)
[ "$(echo "$units" | wc -l)" -eq 6 ] || fail "expected 6 units, found: $units"
# shellcheck disable=SC2086 # one unit name a word
if ! systemd-analyze verify --man=no --root="$root" $units app-compose.service dstack-prepare.service \
    >"$work/verify.out" 2>&1; then
    cat "$work/verify.out" >&2
    fail "systemd-analyze verify rejected the installed units"
fi
if grep -E "dstack-gpu-attest|app-compose|dstack-prepare" "$work/verify.out"; then
    fail "systemd-analyze verify warned about the installed units"
fi

# lintian: no error and no warning left (each override in debian/ says why).
if ! lintian --fail-on error,warning --info "$changes" >"$work/lintian.out" 2>&1; then
    cat "$work/lintian.out" >&2
    fail "lintian"
fi
cat "$work/lintian.out"
echo "package: ${packages[*]} pass"
