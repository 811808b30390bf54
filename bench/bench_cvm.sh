#!/usr/bin/env bash
# The relying party's verification of a dstack CVM (issue 12, docs/verify.md), on CVMs
# that tests/e2e/make_cvm.sh builds with no TDX: the gate on the fake NVML (1 and 8 H100s,
# test device PKI, the real 545.00 RIMs), a quote under the test Intel PKI, GPUs required
# and re-appraised. First the whole `dstack-gpu-attest verify --json` process, RUNS times
# per CVM, alternating (wall time from bash's EPOCHREALTIME, CPU time user + sys from
# `times`; each run's exit status and verdict checked); then build/bench/bench_cvm, the
# same verification in process (dga_cvm_run), ITERATIONS calls per row.
#   bench/bench_cvm.sh BUILD_DIR [RUNS [ITERATIONS]]   (default 50, 200)
#   bench/bench_cvm.sh --prepare BUILD_DIR DIR         only build the CVMs into DIR
# DIR (bench_cvm's input): collateral.json, pki/root.der, cvm1/ and cvm8/ with
# attestation.json, bundle.json and expect-bench.json (make_cvm.sh's expectations with
# gpu.gpus exact 1 or 8). Prints medians and p99; never asserted.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
AT=2025-07-01T00:00:00Z # inside make_cvm.sh's synthetic collateral window

die() {
    echo "bench_cvm: $*" >&2
    exit 1
}

# prepare BUILD_DIR DIR: a 1-GPU and an 8-GPU CVM, each its own gate run.
prepare() {
    local build=$1 dir=$2 n
    export DGA_BIN=$build/tools/dstack-gpu-attest DGA_FAKE_NVML=$build/tests/libfake_nvml.so
    export DGA_MAKE_QUOTE=$build/tests/make_quote DGA_FIXTURES=$here/tests/fixtures
    if [ ! -x "$DGA_BIN" ] || [ ! -f "$DGA_FAKE_NVML" ] || [ ! -x "$DGA_MAKE_QUOTE" ]; then
        die "build $build first (dstack-gpu-attest, tests/libfake_nvml.so, tests/make_quote)"
    fi
    local mk=$here/tests/e2e/make_cvm.sh
    "$mk" setup "$dir" || die "make_cvm.sh setup"
    for n in 1 8; do
        "$mk" gate "$dir" "gate$n" "$n" || die "make_cvm.sh gate with $n GPUs"
        "$mk" cvm "$dir" "$dir/gate$n" "$dir/cvm$n" || die "make_cvm.sh cvm with $n GPUs"
        jq ".gpu.gpus.exact = $n" "$dir/cvm$n/expect.json" >"$dir/cvm$n/expect-bench.json" ||
            die "expectations for $n GPUs"
    done
}

if [ "${1:-}" = --prepare ]; then
    [ $# = 3 ] || die "usage: bench_cvm.sh --prepare BUILD_DIR DIR"
    prepare "$2" "$3"
    exit 0
fi
build=${1:?usage: bench_cvm.sh BUILD_DIR [RUNS [ITERATIONS]]}
runs=${2:-50}
iterations=${3:-200}
build=$(cd "$build" && pwd)
cli=$build/tools/dstack-gpu-attest
[ -x "$build/bench/bench_cvm" ] || die "build $build first (bench/bench_cvm)"

# cpu_us := CPU time (user + sys) of all waited-for children so far, in µs; `times` runs
# in this shell (a command substitution would see no children), parsed without a child.
children_cpu_us() {
    local u s
    times >"$tmp/times"
    { read -r _; read -r u s; } <"$tmp/times"
    to_us "$u"
    cpu_us=$us
    to_us "$s"
    cpu_us=$((cpu_us + us))
}

# us := "1m2.345s" in µs.
to_us() {
    local m=${1%%m*} sec=${1#*m}
    sec=${sec%s}
    us=$(((10#$m * 60000 + 10#${sec/./}) * 1000))
}

# verify N: one timed `verify --json` of CVM N; appends to wall_N and cpu_N, checks the verdict.
verify() {
    local n=$1 d=$tmp/cvm/cvm$1 c0 w0 w1 rc=0
    local -n wall_out=wall_$1 cpu_out=cpu_$1
    children_cpu_us
    c0=$cpu_us
    w0=$EPOCHREALTIME
    "$cli" verify --attestation "$d/attestation.json" --gpu-bundle "$d/bundle.json" \
        --expect "$d/expect-bench.json" --collateral "$tmp/cvm/collateral.json" \
        --trusted-root "$tmp/cvm/pki/root.der" --at "$AT" --json >"$tmp/out" 2>"$tmp/err" || rc=$?
    w1=$EPOCHREALTIME
    children_cpu_us
    [ "$rc" = 0 ] || die "verify of cvm$n: exit $rc: $(head -c 400 "$tmp/out") $(cat "$tmp/err")"
    wall_out+=($((${w1/./} - ${w0/./})))
    cpu_out+=($((cpu_us - c0)))
}

# "median p99 max" in ms of the µs values given (nearest rank).
stats() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
        p = int((NR * 99 + 99) / 100); if (p > NR) p = NR
        printf "%.2f %.2f %.2f\n", v[int((NR + 1) / 2)] / 1000, v[p] / 1000, v[NR] / 1000 }'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "dstack-gpu-attest bench_cvm.sh: $(uname -sr), nproc $(nproc)," \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(openssl version)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "building the CVMs (tests/e2e/make_cvm.sh: 1 and 8 GPUs on the fake NVML) ..."
prepare "$build" "$tmp/cvm" >/dev/null
for n in 1 8; do # the verdict checked once in full: valid, GPUs verified, every device
    verify "$n"
    jq -e --argjson n "$n" '.is_valid == true and .details.gpu.verified == true
        and (.details.gpu.devices | length) == $n' "$tmp/out" >/dev/null ||
        die "cvm$n: not the passing verdict: $(head -c 400 "$tmp/out")"
done
# shellcheck disable=SC2034 # filled by verify through namerefs; the untimed runs dropped
wall_1=() cpu_1=() wall_8=() cpu_8=()
echo "load average before the timed runs: $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$runs"); do
    verify 1
    verify 8
done
echo "whole process: verify --json, $runs runs per CVM, alternating, after one untimed run each"
for n in 1 8; do
    declare -n w=wall_$n c=cpu_$n
    read -r med p99 max <<<"$(stats "${w[@]}")"
    read -r cmed _ _ <<<"$(stats "${c[@]}")"
    printf '  %d GPU%s: wall median %7.2f ms  p99 %7.2f ms  max %7.2f ms   CPU median %7.2f ms\n' \
        "$n" "$([ "$n" = 1 ] && echo ' ' || echo s)" "$med" "$p99" "$max" "$cmed"
    unset -n w c
done
echo
"$build/bench/bench_cvm" "$tmp/cvm" "$iterations"
