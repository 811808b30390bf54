#!/usr/bin/env bash
# The PPCIe board of the fakes (8 H100 GPUs + 4 LS10 NVSwitches, tests/ppcie/make_board.sh
# --gpu-report 545: the gate's passing configuration of tests/ppcie/test_gate_board.sh, whose
# 545.00 GPU RIMs and LS10 BIOS RIM exist, at 2026-11-01 under the expired-RIM-signers policy)
# through three whole processes, each run's exit status checked (0: everything passes):
#   - the boot gate in PPCIe mode, not a dry run (CC read, GPU collection, NSCQ collection of
#     the 4 NVSwitches in its child, the 12-device appraisal with the topology, bundle,
#     gpu-attestation event, ready state), from a fresh register, event log and run directory
#     each run, with config "jobs": 1 and "jobs": 0 (the online CPUs);
#   - `attest --evidence --switch-evidence` on the board's evidence (collected once with
#     `collect --nscq`), --jobs 1 and --jobs 0;
#   - `topology check` on the same evidence (report level, no RIMs).
# One untimed run of each, then RUNS runs, the five commands interleaved so that load drift
# hits all alike: medians of wall, user and sys CPU time (bash's `time`: the process and the
# children it waited for). With valgrind installed, one more run of each under callgrind
# counts its ECDSA verifications (bench/lib/ecdsa.sh; the process alone: the gate's
# collection children verify nothing). The load average at the start and the end.
# Never asserted.
#   bench/bench_ppcie.sh BUILD_DIR [RUNS]     (default 20)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: bench_ppcie.sh BUILD_DIR [RUNS]}
runs=${2:-20}
build=$(cd "$build" && pwd)
cli=$build/tools/dstack-gpu-attest
nvml=$build/tests/libfake_nvml.so
nscq=$build/tests/libfake_nscq.so
for f in "$cli" "$nvml" "$nscq"; do
    [ -e "$f" ] || { echo "bench_ppcie: build $build first ($f)" >&2; exit 1; }
done
fx=$here/tests/fixtures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=bench/lib/ecdsa.sh
. "$here/bench/lib/ecdsa.sh"
export DGA_FAKE_NVML_SCENARIO=$tmp/b/nvml.json DGA_FAKE_NSCQ_SCENARIO=$tmp/b/nscq.json

DGA_FIXTURES=$fx "$here/tests/ppcie/make_board.sh" "$tmp/b" --gpu-report 545 \
    --nvml-extra "\"ready_record\":\"$tmp/ready.txt\""
mkdir -p "$tmp/rims"
cp "$fx"/gpu/h100_545.00/rims/*.xml "$fx"/nvswitch/ls10_96.10.55.00.01/rims/*.xml "$tmp/rims/"
policy=$fx/policies/offline_expired_rim_signers.json
at=2026-11-01T00:00:00Z
for j in 1 0; do
    printf '{"rim_dir":"%s","nvml":"%s","nscq":"%s","sysfs_pci":"%s","run_dir":"%s","event_log_dir":"%s","tdx_sysfs_dir":"%s","tdx_device":"%s","event_backend":"sim:%s","test_device_root":"%s","verify_at":"%s","policy":"%s","jobs":%d}\n' \
        "$tmp/rims" "$nvml" "$nscq" "$tmp/b/pci" "$tmp/run" "$tmp/log" "$tmp/no-tdx" \
        "$tmp/no-tdx-dev" "$tmp/rtmr3.bin" "$fx/testpki/root.pem" "$at" "$policy" "$j" \
        >"$tmp/gate$j.json"
done
N=$(printf 'be%.0s' $(seq 32))
"$cli" collect --nvml "$nvml" --nscq "$nscq" --sysfs "$tmp/b/pci" --nonce "$N" --out "$tmp/ev.json"
jq '{evidences: .evidences}' "$tmp/ev.json" >"$tmp/gpus.json"
jq .switches "$tmp/ev.json" >"$tmp/switches.json"

attest=("$cli" attest --evidence "$tmp/gpus.json" --switch-evidence "$tmp/switches.json"
    --nonce "$N" --rim-dir "$tmp/rims" --trust-root "$fx/testpki/root.pem" --policy "$policy"
    --ocsp off --at "$at")
check=("$cli" topology check --gpu-evidence "$tmp/gpus.json" --switch-evidence
    "$tmp/switches.json" --nonce "$N" --trust-root "$fx/testpki/root.pem")
names=("gate, jobs 1" "gate, jobs 0" "attest --jobs 1" "attest --jobs 0" "topology check")
# cmd K: the K-th command of names, from a fresh boot for the gate.
cmd() {
    case $1 in
    0 | 1)
        rm -rf "$tmp/run" "$tmp/log" "$tmp/rtmr3.bin" "$tmp/ready.txt"
        "$cli" gate --config "$tmp/gate$((1 - $1)).json"
        ;;
    2) "${attest[@]}" --jobs 1 ;;
    3) "${attest[@]}" --jobs 0 ;;
    4) "${check[@]}" ;;
    esac
}
# once K: "wall user sys" in ms of one run of command K; a failing run stops the bench.
once() {
    local TIMEFORMAT='%R %U %S' t
    t=$({ time cmd "$1" >/dev/null 2>"$tmp/err"; } 2>&1) ||
        { echo "bench_ppcie: ${names[$1]} failed:" >&2; cat "$tmp/err" >&2; exit 1; }
    awk '{ printf "%d %d %d\n", $1 * 1000, $2 * 1000, $3 * 1000 }' <<<"$t"
}
for k in "${!names[@]}"; do once "$k" >/dev/null; done
grep -qF 'set 1 0' "$tmp/ready.txt" || { echo "bench_ppcie: the gate set no ready state" >&2; exit 1; }

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A wall user sys
for _ in $(seq "$runs"); do
    for k in "${!names[@]}"; do
        read -r w u s < <(once "$k")
        wall[$k]+="$w " user[$k]+="$u " sys[$k]+="$s "
    done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
# shellcheck disable=SC2086 # split on purpose: a list of numbers
median() { printf '%s\n' $1 | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "dstack-gpu-attest bench_ppcie: $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs"
echo "load average (1, 5, 15 min) $load_start at start, $load_end at end; $runs runs of each, interleaved"
echo "8 H100 GPUs + 4 LS10 NVSwitches, PPCIe; medians of wall, user and sys CPU time (ms):"
have_count=false
ecdsa_have && have_count=true
for k in "${!names[@]}"; do
    n="not counted (valgrind is not installed)"
    if $have_count; then
        if [ "$k" -le 1 ]; then rm -rf "$tmp/run" "$tmp/log" "$tmp/rtmr3.bin" "$tmp/ready.txt"; fi
        case $k in
        0 | 1) n=$(ecdsa_count "$tmp/cg.out" "$cli" gate --config "$tmp/gate$((1 - k)).json") ;;
        2) n=$(ecdsa_count "$tmp/cg.out" "${attest[@]}" --jobs 1) ;;
        3) n=$(ecdsa_count "$tmp/cg.out" "${attest[@]}" --jobs 0) ;;
        4) n=$(ecdsa_count "$tmp/cg.out" "${check[@]}") ;;
        esac
    fi
    printf '%-16s wall %6s  user %6s  sys %5s  ECDSA verifications %s\n' "${names[$k]}" \
        "$(median "${wall[$k]}")" "$(median "${user[$k]}")" "$(median "${sys[$k]}")" "$n"
done
