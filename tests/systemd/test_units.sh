#!/usr/bin/env bash
# The shipped units parse and reference what they should, as systemd sees them
# (`systemd-analyze verify`), and the drop-ins make the workload and the
# system-ready emitter Require= and follow the gate. The guest RPC service's
# socket and service units: socket activation on serve's default socket, after
# the gate, and every allowance the gate's unit makes for NVML and the event
# backend kept. With BUILD, the install rules put the guest's units in place.
# Needs no running systemd.
# Usage: test_units.sh CLI [BUILD]
set -euo pipefail

cli=$1
build=${2:-}
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (scripts/deps.sh installs systemd)"

# The unit as installed, with ExecStart pointing at the binary under test
# (verify checks that the executable exists).
units=$work/units
mkdir -p "$units"
for u in dstack-gpu-attest.service dstack-gpu-attest-rpc.service dstack-gpu-attest-rpc.socket; do
    sed -e "s#/usr/bin/dstack-gpu-attest#$cli#" "$here/systemd/$u" >"$units/$u"
done
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
        "$units/dstack-prepare.service" "$units/dstack-gpu-attest-rpc.socket" \
        "$units/dstack-gpu-attest-rpc.service" >"$out" 2>&1; then
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

# The RPC service: activated by its socket on serve's default path, after a gate that passed.
default=$("$cli" serve --help | sed -n 's/.*where to listen (unix:\(.*\))$/\1/p')
[ -n "$default" ] && [ "$(prop dstack-gpu-attest-rpc.socket ListenStream)" = "$default" ] ||
    fail "rpc socket is not serve's default socket '$default'"
[ "$(prop dstack-gpu-attest-rpc.socket Accept)" = no ] || fail "rpc socket is not Accept=no"
prop dstack-gpu-attest-rpc.socket WantedBy | grep -qw sockets.target || fail "rpc socket WantedBy"
for dep in dstack-gpu-attest.service dstack-gpu-attest-rpc.socket; do
    prop dstack-gpu-attest-rpc.service Requires | grep -qw "$dep" || fail "rpc service does not Require= $dep"
    prop dstack-gpu-attest-rpc.service After | grep -qw "$dep" || fail "rpc service is not After= $dep"
done
[ "$(prop dstack-gpu-attest-rpc.service ExecStart)" = "$cli serve --config /etc/dstack-gpu-attest/gate.json" ] ||
    fail "rpc ExecStart: the gate's own config, no --listen (activation)"
# Everything the gate's unit says about sandboxing, the rpc service says the same:
# re-attestation needs the gate's device, /sys and event-log allowances.
for key in ProtectSystem ProtectHome PrivateTmp NoNewPrivileges ProtectKernelModules \
        ProtectKernelLogs ProtectControlGroups ProtectClock ProtectHostname \
        RestrictAddressFamilies RestrictNamespaces RestrictRealtime RestrictSUIDSGID \
        LockPersonality SystemCallArchitectures PrivateDevices ProtectKernelTunables \
        MemoryDenyWriteExecute DevicePolicy DeviceAllow CapabilityBoundingSet UMask; do
    [ "$(prop dstack-gpu-attest-rpc.service "$key")" = "$(prop dstack-gpu-attest.service "$key")" ] ||
        fail "rpc service $key='$(prop dstack-gpu-attest-rpc.service "$key")', the gate's '$(prop dstack-gpu-attest.service "$key")'"
done
for path in $(prop dstack-gpu-attest.service ReadWritePaths) /run/dstack-gpu-attest; do
    prop dstack-gpu-attest-rpc.service ReadWritePaths | tr ' ' '\n' | grep -qx "$path" ||
        fail "rpc service cannot write $path as the gate can"
done

# The other combinations of docs/dstack.md (systemd/combos/<name>/): each with its own
# stand-ins, verified by systemd-analyze like the default (the gate with dstack-util).
combo() { # NAME UNIT...: a directory with the combination's drop-ins for stand-in UNITs
    local name=$1 u
    shift
    mkdir -p "$work/$name"
    for u in "$@"; do
        printf '[Unit]\nDescription=stand-in for %s\n[Service]\nType=oneshot\nExecStart=/bin/true\n' \
            "$u" >"$work/$name/$u.service"
        cp -r "$here/systemd/combos/$name/$u.service.d" "$work/$name/"
    done
}
verify_combo() { # NAME UNIT-FILE...
    local name=$1
    shift
    if ! systemd-analyze verify --man=no "$@" >"$out" 2>&1; then
        cat "$out" >&2
        fail "systemd-analyze verify rejected combination $name"
    fi
    if grep -E "dstack-gpu-attest|50-dstack-gpu-attest" "$out"; then
        fail "systemd-analyze verify warned about combination $name"
    fi
}
# The drop-in only: dstack-prepare asserts (fails, never skips) on the drop-in's config and
# does not pull in the gate, whose second gpu-attestation would make the log unverifiable.
combo nvattest-dropin dstack-prepare
verify_combo nvattest-dropin "$work/nvattest-dropin/dstack-prepare.service"
cat "$work/nvattest-dropin/dstack-prepare.service.d/"*.conf >"$work/dropin.conf"
grep -qx "AssertFileNotEmpty=/etc/dstack-gpu-attest/nvattest.json" "$work/dropin.conf" ||
    fail "drop-in combination does not assert the nvattest config"
grep -q "^Condition" "$work/dropin.conf" && fail "drop-in combination skips (Condition) instead of failing"
grep -q "dstack-gpu-attest.service" "$work/dropin.conf" && fail "drop-in combination pulls in the gate"
# The gate alone: the workload (docker) Requires= and follows the gate.
combo gate-alone docker
sed -e "s#/usr/bin/dstack-gpu-attest#$cli#" "$here/systemd/dstack-gpu-attest.service" \
    >"$work/gate-alone/dstack-gpu-attest.service"
verify_combo gate-alone "$work/gate-alone/dstack-gpu-attest.service" "$work/gate-alone/docker.service"
for key in Requires After; do
    sed -n "s/^$key=//p" "$work/gate-alone/docker.service.d/"*.conf | grep -qw dstack-gpu-attest.service ||
        fail "gate-alone: docker.service lacks $key=dstack-gpu-attest.service"
done

# A unit that breaks the rules is caught: drop the oneshot type.
sed -e 's/^Type=oneshot/Type=bogus/' "$units/dstack-gpu-attest.service" >"$work/bad.service"
mv "$work/bad.service" "$units/dstack-gpu-attest.service"
if systemd-analyze verify --man=no "$units/dstack-gpu-attest.service" \
        >"$out" 2>&1 && ! grep -q "Failed to parse service type" "$out"; then
    fail "systemd-analyze verify accepted Type=bogus"
fi

# The install rules put the guest's units where systemd looks.
if [ -n "$build" ]; then
    cmake --install "$build" --prefix "$work/prefix" >"$out" 2>&1 || { cat "$out" >&2; fail "cmake --install"; }
    for f in dstack-gpu-attest.service dstack-gpu-attest-rpc.socket dstack-gpu-attest-rpc.service \
            app-compose.service.d/50-dstack-gpu-attest.conf \
            dstack-prepare.service.d/50-dstack-gpu-attest.conf; do
        cmp -s "$here/systemd/$f" "$work/prefix/lib/systemd/system/$f" || fail "not installed: $f"
    done
fi
echo "units: ok"
