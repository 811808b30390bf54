#!/usr/bin/env bash
# The shipped units parse and reference what they should, as systemd sees them
# (`systemd-analyze verify`), and the drop-ins make the workload and the
# system-ready emitter Require= and follow the gate. Needs no running systemd.
# Usage: test_units.sh CLI
set -euo pipefail

cli=$1
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (scripts/deps.sh installs systemd)"

# The unit as installed, with ExecStart pointing at the binary under test
# (verify checks that the executable exists).
units=$work/units
mkdir -p "$units"
sed -e "s#/usr/bin/dstack-gpu-attest#$cli#" "$here/systemd/dstack-gpu-attest.service" \
    >"$units/dstack-gpu-attest.service"
# Stand-ins for dstack's own units, which the drop-ins extend.
for u in app-compose dstack-prepare; do
    printf '[Unit]\nDescription=stand-in for %s\n[Service]\nType=oneshot\nExecStart=/bin/true\n' \
        "$u" >"$units/$u.service"
    mkdir -p "$units/$u.service.d"
    cp "$here/systemd/$u.service.d/50-dstack-gpu-attest.conf" "$units/$u.service.d/"
done

out=$work/verify.out
if ! systemd-analyze verify --man=no \
        "$units/dstack-gpu-attest.service" "$units/app-compose.service" \
        "$units/dstack-prepare.service" >"$out" 2>&1; then
    cat "$out" >&2
    fail "systemd-analyze verify rejected the units"
fi
# verify exits 0 on some warnings; any line that names our files is a finding.
if grep -E "dstack-gpu-attest|50-dstack-gpu-attest" "$out"; then
    fail "systemd-analyze verify warned about our units"
fi

# The properties that make the gate fail closed, as systemd parsed them.
prop() { # unit file, key: every value of key= in the file and its drop-ins
    local unit=$1 key=$2 f
    for f in "$units/$unit" "$units/$unit.d/"*.conf; do
        [ -f "$f" ] && sed -n "s/^$key=//p" "$f"
    done
    return 0
}
[ "$(prop dstack-gpu-attest.service Type)" = oneshot ] || fail "gate is not Type=oneshot"
[ "$(prop dstack-gpu-attest.service RemainAfterExit)" = yes ] || fail "gate lacks RemainAfterExit=yes"
for u in app-compose.service dstack-prepare.service; do
    prop "$u" Requires | grep -qw dstack-gpu-attest.service || fail "$u does not Require= the gate"
    prop "$u" After | grep -qw dstack-gpu-attest.service || fail "$u is not ordered After= the gate"
done
prop dstack-gpu-attest.service Before | grep -qw dstack-prepare.service ||
    fail "gate is not ordered before the system-ready emitter"
prop dstack-gpu-attest.service After | grep -qw nvidia-persistenced.service ||
    fail "gate is not ordered after nvidia-persistenced"
prop dstack-gpu-attest.service ExecStart | grep -q " gate --config " || fail "gate ExecStart"

# A unit that breaks the rules is caught: drop the oneshot type.
sed -e 's/^Type=oneshot/Type=bogus/' "$units/dstack-gpu-attest.service" >"$work/bad.service"
mv "$work/bad.service" "$units/dstack-gpu-attest.service"
if systemd-analyze verify --man=no "$units/dstack-gpu-attest.service" \
        >"$out" 2>&1 && ! grep -q "Failed to parse service type" "$out"; then
    fail "systemd-analyze verify accepted Type=bogus"
fi
echo "units: ok"
