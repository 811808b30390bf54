#!/usr/bin/env bash
# shellcheck disable=SC1091,SC2154 # lib.sh, sourced, sets bin, fx and tmp
# scripts/hw-check.sh on the fake NVML: the fake's cc_off and cc_on_2gpu scenarios
# (tests/fake_nvml/scenarios/), with a ready-state file that outlives each NVML child
# as the driver's state does and a record of every ready-state call. Asserts the exit
# status, the summary's lines, the gate's named reason, the ready state read before
# and after, that no ready-state set was ever made (the fake's record holds only
# gets) unless --probe-ready-set on CC off, and the evidence files of the report.
# Usage: test_hw_check.sh PATH/TO/dstack-gpu-attest PATH/TO/libfake_nvml.so
set -u
. "$(dirname "$0")/lib.sh"
cli_init "$1"
fake=$2
fx=$(cd "$fx" && pwd)
script=$(cd "$(dirname "$0")/../.." && pwd)/scripts/hw-check.sh
scenarios=$(cd "$(dirname "$0")/../fake_nvml/scenarios" && pwd)

for a in 0000:18:00.0 0000:19:00.0; do
    mkdir -p "$tmp/pci/$a"
    echo 0x10de >"$tmp/pci/$a/vendor"
    echo 0x2330 >"$tmp/pci/$a/device"
    echo 0x030200 >"$tmp/pci/$a/class"
done
mkdir -p "$tmp/emptyrims"
export DGA_FAKE_NVML_SCENARIO=$tmp/scenario.json
# scenario NAME INITIAL-READY: the ready-made scenario, paths made absolute, plus the
# ready-state file and record
scenario() {
    sed -e "s|\.\./\.\./fixtures|$fx|g" -e "s|}\$|,\"ready_record\":\"$tmp/ready.txt\",\"ready_state_file\":\"$tmp/ready_state\"}|" \
        "$scenarios/$1.json" >"$tmp/scenario.json"
    printf '%s\n' "$2" >"$tmp/ready_state"
    rm -f "$tmp/ready.txt"
}
GATE_EXTRA='"test_device_root":"'$fx'/testpki/root.pem","verify_at":"2024-06-01T00:00:00Z"'
# hw WANT NAME ARGS...: the script with the fake NVML, the sysfs tree, the real RIMs, the
# offline policy and the test root (an on-time verification), report in $tmp/report
hw() {
    local want=$1 name=$2
    shift 2
    rm -rf "$tmp/report"
    bash "$script" --bin "$bin" --nvml "$fake" --sysfs "$tmp/pci" --out "$tmp/report" \
        --rim-dir "${RIMS:-$fx/gpu/h100_545.00/rims}" --policy "$fx/policies/offline_no_ocsp.json" \
        --gate-extra "$GATE_EXTRA" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL $name: exit $rc, want $want"
        sed 's/^/  /' "$tmp/out" "$tmp/err" | head -30
        failures=$((failures + 1))
        return 1
    fi
    echo "ok   $name"
}
bad() { echo "FAIL $1"; failures=$((failures + 1)); }
has_files() { # NAME FILE...: the report holds each file, non-empty
    local name=$1 f
    shift
    for f in "$@"; do
        [ -s "$tmp/report/$f" ] || bad "$name: report lacks $f"
    done
}
no_set() { # NAME: the fake saw no ready-state set
    if grep -q '^set' "$tmp/ready.txt" 2>/dev/null; then
        bad "$1: a ready-state set was made: $(tr '\n' ' ' <"$tmp/ready.txt")"
    fi
    grep -q '^get 0 0$' "$tmp/ready.txt" 2>/dev/null || bad "$1: the ready state was never read"
}
EVIDENCE_FILES=(summary.txt 01-uname.txt 02-cc-settings.txt 02-ready-before.txt 03-collect.txt
    evidence.json gate.json 04-gate-dry-run.txt 04-ready-after.txt gate-run/evidence.json)

# CC off: the gate refuses by name, no ready state before or after, nothing set.
scenario cc_off 0
hw 0 "cc off: as expected"
expect out "cc mode:    off (02-cc-settings.txt)" "cc off: mode"
expect out "gate:       exit 1: GPU-0 (0000:18:00.0): cc-mode: cc-off: confidential computing is off" \
    "cc off: the gate's reason"
expect_line out "ok:         CC off: the gate refused with cc-off" "cc off: refusal checked"
expect_line out "ok:         CC off: ready state 0 before the checks" "cc off: ready before"
expect_line out "ok:         CC off: ready state 0 after the gate's refusal" "cc off: ready after"
expect_line out "Q5:         not probed (--probe-ready-set, on a CC-off GPU)" "cc off: no probe"
expect_line out "Q1:         not probed (--probe-nvidia-ocsp, with NVIDIA's nvattest, CC on)" "cc off: no nvattest probe"
expect_line out "hw-check: as expected" "cc off: verdict"
has_files "cc off" "${EVIDENCE_FILES[@]}" 06-q6-nvml-symbols.txt
grep -qxF '{"ready":0}' "$tmp/report/02-ready-before.txt" || bad "cc off: ready-before file"
grep -qxF '{"ready":0}' "$tmp/report/04-ready-after.txt" || bad "cc off: ready-after file"
grep -qF '[exit 1]' "$tmp/report/04-gate-dry-run.txt" || bad "cc off: gate exit recorded"
grep -qF -- '--dry-run' "$tmp/report/04-gate-dry-run.txt" || bad "cc off: the gate ran dry"
grep -qF '"error":"cc-off"' "$tmp/report/gate-run/evidence.json" || bad "cc off: bundle error"
grep -qF nvmlSystemSetConfComputeGpusReadyState "$tmp/report/06-q6-nvml-symbols.txt" ||
    bad "cc off: NVML symbols listed"
diff -q "$tmp/report/summary.txt" "$tmp/out" >/dev/null || bad "cc off: summary.txt is the output"
no_set "cc off"
[ "$(cat "$tmp/ready_state")" = 0 ] || bad "cc off: ready state changed"

# CC off with a ready state already set: unexpected, and still not touched.
scenario cc_off 1
hw 1 "cc off, ready state already 1: unexpected"
expect_line out "UNEXPECTED: CC off: ready state 0 before the checks" "preset: before"
expect_line out "UNEXPECTED: CC off: ready state 0 after the gate's refusal" "preset: after"
expect_line out "hw-check: something was unexpected (the UNEXPECTED lines above)" "preset: verdict"
grep -q '^set' "$tmp/ready.txt" && bad "preset: a ready-state set was made"

# --probe-ready-set on CC off: set 1, read, set 0 (the fake accepts the set; a driver may not).
scenario cc_off 0
hw 0 "cc off, --probe-ready-set" --probe-ready-set
expect_line out "Q5:         ready-set 1 on CC off: exit 0, then read 1; restored to 0 (06-q5-*.txt)" \
    "probe: answer"
expect_line out "ok:         Q5: the ready state is 0 again after the probe" "probe: restored"
has_files "probe" 06-q5-ready-set-1.txt 06-q5-ready-get.txt 06-q5-ready-set-0.txt 06-q5-ready-restored.txt
[ "$(grep -c '^set' "$tmp/ready.txt")" = 2 ] || bad "probe: want exactly 2 sets: $(tr '\n' ' ' <"$tmp/ready.txt")"
if ! grep -q '^set 1 0$' "$tmp/ready.txt" || ! grep -q '^set 0 0$' "$tmp/ready.txt"; then
    bad "probe: set 1 then 0"
fi
[ "$(cat "$tmp/ready_state")" = 0 ] || bad "probe: ready state left at $(cat "$tmp/ready_state")"

# CC on: collected, the dry gate passes, the ready state untouched.
scenario cc_on_2gpu 0
hw 0 "cc on: as expected"
expect out "cc mode:    on (02-cc-settings.txt)" "cc on: mode"
expect_line out "gate:       exit 0 (04-gate-dry-run.txt, gate-run/evidence.json)" "cc on: gate line"
expect_line out "GPUs:       0000:18:00.0 96.00.5E.00.01 0000:19:00.0 96.00.5E.00.01" "cc on: facts"
expect_line out "ok:         CC on: the dry gate run passed" "cc on: gate passed"
expect_line out "ok:         CC on: the dry run left the ready state as it was (0)" "cc on: ready kept"
expect_line out "hw-check: as expected" "cc on: verdict"
has_files "cc on" "${EVIDENCE_FILES[@]}"
grep -qF 'gate: PASS: 2 GPU(s), 0 NVSwitch(es) (dry run: no event, no ready state)' \
    "$tmp/report/04-gate-dry-run.txt" || bad "cc on: the gate's PASS line"
[ -e "$tmp/report/gate-log/runtime_events.log" ] && bad "cc on: the dry run emitted an event"
no_set "cc on"

# CC on with --probe-ready-set: never set on a CC-on GPU.
scenario cc_on_2gpu 0
hw 0 "cc on, --probe-ready-set is refused" --probe-ready-set
expect_line out "Q5:         not probed: only on a CC-off GPU whose ready state is 0 (cc on, ready 0)" \
    "cc on probe: refused"
no_set "cc on probe"

# --probe-nvidia-ocsp on CC on, with a stand-in for NVIDIA's nvattest first in PATH (it
# prints its arguments and answers 202, OCSP server error): its exit and the ready state.
mkdir -p "$tmp/nvbin"
printf '#!/bin/sh\necho "NVAT_OCSP_BASE_URL NV_ATTESTATION_SERVICE_KEY $*"\nexit 202\n' >"$tmp/nvbin/nvattest"
chmod +x "$tmp/nvbin/nvattest"
scenario cc_on_2gpu 0
PATH=$tmp/nvbin:$PATH hw 0 "cc on, --probe-nvidia-ocsp" --probe-nvidia-ocsp
expect_line out "Q4:         NVIDIA's nvattest at $tmp/nvbin/nvattest: 06-q4-nvattest-*.txt" "nv probe: found"
expect_line out "Q1:         NVIDIA's nvattest, OCSP unreachable: exit 202, ready state then 0 (06-q1-*.txt)" \
    "nv probe: answer"
grep -qF 'attest --device gpu --verifier local --ocsp-url http://127.0.0.1:9/ --format json' \
    "$tmp/report/06-q1-nvattest-ocsp-unreachable.txt" || bad "nv probe: nvattest's arguments"
grep -qxF NVAT_OCSP_BASE_URL "$tmp/report/06-q4-nvattest-env.txt" || bad "nv probe: environment names"
no_set "nv probe"

# CC on without the VBIOS RIM: the dry gate refuses: unexpected, with the reason.
scenario cc_on_2gpu 0
mkdir -p "$tmp/partial"
cp "$fx/gpu/h100_545.00/rims/NV_GPU_DRIVER_GH100_545.00.xml" "$tmp/partial/"
RIMS=$tmp/partial hw 1 "cc on, a RIM missing: unexpected"
expect out "gate:       exit 1: GPU-0 (0000:18:00.0): vbios-rim: rim-not-found: RIM not found: NV_GPU_VBIOS_1010_0200_882_96005E0001" \
    "rim missing: reason"
expect_line out "UNEXPECTED: CC on: the dry gate run passed" "rim missing: flagged"
no_set "rim missing"

# The script cannot run: no NVML, no binary, an existing report directory; usage.
scenario cc_off 0
hw 3 "NVML not loadable: 3" --nvml "$tmp/no-such-nvml.so"
expect out "hw-check: NVML could not be read through $bin (see 02-cc-settings.txt)" "no nvml: said"
grep -qF '"error":"nvml-load"' "$tmp/report/02-cc-settings.txt" || bad "no nvml: the child's answer kept"
mkdir -p "$tmp/exists"
if bash "$script" --bin "$bin" --out "$tmp/exists" >"$tmp/out" 2>"$tmp/err"; then
    bad "existing report dir accepted"
fi
expect err "hw-check: cannot create the report directory $tmp/exists (it must not exist)" "existing dir: said"
bash "$script" --bin "$tmp/nothing" --out "$tmp/r9" >"$tmp/out" 2>"$tmp/err"
[ $? = 3 ] || bad "missing binary: want exit 3"
expect err "hw-check: no dstack-gpu-attest program (give --bin PATH)" "missing binary: said"
bash "$script" --frobnicate >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] || bad "unknown option: want exit 2"
expect err "hw-check: unknown argument '--frobnicate'" "unknown option: said"
expect err "Usage: scripts/hw-check.sh [options]" "unknown option: usage"

cli_done "hw-check tests"
