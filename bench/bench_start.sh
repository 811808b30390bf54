#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The CPU time of short-lived processes (issue 18): `--version`, `evidence verify` and
# `attest` (OCSP not required) of the h100_545.00 sample, each RUNS times under
# `perf stat -r`, which counts the process from its exec (the dynamic loader, relocations,
# constructors, main, exit). Prints task-clock (user + kernel CPU) per process, the user and
# kernel parts, the wall time, the load average before and after, and one P-384 verify's
# time in the same minutes (openssl speed). Without perf, the task-clock column is "-".
#
# Beside ours it times the floors under them, built with the benches (bench/floor_*.c): an
# empty C program; one linked with the libraries our program needs at start; that one reading
# one certificate (OpenSSL initialises on first use); that one loading libxml2 as a RIM parse
# does; and what one first touch of a memory page costs here. From them and the verify time
# it prints each command's floor (the floor process it cannot go under, plus its P-384
# verifications, nothing else) and how far above it the command is: what our code could
# still cut.
#
#   bench/bench_start.sh BUILD_DIR [RUNS]      # default 50
set -euo pipefail

build=${1:?usage: bench_start.sh BUILD_DIR [RUNS]}
runs=${2:-50}
root=$(cd "$(dirname "$0")/.." && pwd)
cli=$build/tools/dstack-gpu-attest
fx=$root/tests/fixtures/gpu/h100_545.00
nonce=4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e
at=2024-06-01T00:00:00Z

# Without perf (linux-perf) the task-clock column is left out ("-").
have_perf=0
command -v perf >/dev/null && have_perf=1
[ -x "$cli" ] || {
    echo "bench_start.sh: no $cli" >&2
    exit 1
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# CPU ms per run of each measured process, by key: task-clock, else user + sys.
declare -A cpu

# perf stat's summary of RUNS runs: task-clock ms, user s, sys s, elapsed s (means).
measure() { # KEY NAME COMMAND...
    local key=$1 name=$2
    shift 2
    "$@" >/dev/null || {
        echo "bench_start.sh: '$name' failed" >&2
        exit 1
    }
    local task=-
    if [ "$have_perf" = 1 ]; then
        task=$(perf stat -x, -e task-clock -r "$runs" "$@" 2>&1 >/dev/null |
            awk -F, '$3 == "task-clock" { printf "%.2f", $1 }')
    fi
    # -x leaves out the user/sys/elapsed lines; time them once more with the shell's
    # `times` over the same number of runs (children's user and system time, summed).
    local t0 t1
    t0=$(date +%s%N)
    local ut st
    # `times` in the subshell that ran them (a pipe would fork one without children)
    read -r ut st < <(
        (
            for ((i = 0; i < runs; i++)); do "$@" >/dev/null; done
            times
        ) | tail -1
    )
    t1=$(date +%s%N)
    local u k
    u=$(secs_ms "$ut")
    k=$(secs_ms "$st")
    printf '%-34s %9s %9.2f %9.2f %9.2f\n' "$name" "$task" "$u" "$k" \
        "$(((t1 - t0) / runs / 1000))e-3"
    if [ "$task" = - ]; then
        cpu[$key]=$(awk -v u="$u" -v k="$k" 'BEGIN { printf "%.2f", u + k }')
    else
        cpu[$key]=$task
    fi
}

# bash's `times` prints 0m0.123s: to ms per run
secs_ms() {
    awk -v t="$1" -v n="$runs" 'BEGIN { split(t, a, "m"); sub("s", "", a[2]);
        printf "%.2f", (a[1] * 60 + a[2]) * 1000 / n }'
}

echo "bench_start: $(uname -sr), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo |
    cut -d: -f2 | sed 's/^ //'), $(openssl version)"
echo "method: perf stat -r $runs (task-clock), then $runs runs under bash 'times'" \
    "(user, sys, wall per run); load average at start: $(loadavg)"
printf '%-34s %9s %9s %9s %9s\n' "process" "task ms" "user ms" "sys ms" "wall ms"
floor=$build/bench
[ -x "$floor/floor_empty" ] && [ -x "$floor/floor_libs" ] || {
    echo "bench_start.sh: no $floor/floor_empty or floor_libs (build the benches)" >&2
    exit 1
}
measure empty "floor: an empty C program" "$floor/floor_empty"
measure libs "floor: + our start-up libraries" "$floor/floor_libs"
measure init "floor: + OpenSSL initialised" "$floor/floor_libs" pem "$fx/certchain.pem"
measure xml "floor: + libxml2 loaded" "$floor/floor_libs" pem "$fx/certchain.pem" xml
measure version "--version" "$cli" --version
measure verify "evidence verify (1 GPU)" "$cli" evidence verify --report "$fx/report.hex" \
    --cert-chain "$fx/certchain.pem" --arch hopper --nonce "$nonce" --at "$at"
attest=("$cli" attest --report "$fx/report.hex" --cert-chain "$fx/certchain.pem" --arch HOPPER
    --nonce "$nonce" --rim-dir "$fx/rims" --at "$at"
    --policy "$root/tests/fixtures/policies/offline_no_ocsp.json" --format json)
measure attest "attest (1 GPU, OCSP not required)" "${attest[@]}"
measure attest1 "attest --jobs 1 (the serial path)" "${attest[@]}" --jobs 1
# The machine's speed in the same minutes: on a shared VM every CPU figure above moves with
# the load; one P-384 verify (what `evidence verify` does 5 times and `attest` 11) scales it.
verify_us=$(openssl speed -seconds 1 ecdsap384 2>/dev/null |
    awk '/ecdsa \(nistp384\)/ { printf "%.0f", 1e6 / $NF }')
echo "one P-384 verify in the same minutes (openssl speed ecdsap384): ${verify_us:-?} µs"
# The median of 5 first-touch timings of 2000 fresh pages.
touch_us=$(for _ in 1 2 3 4 5; do "$floor/floor_libs" touch 2000; done | sort -n | sed -n 3p)
echo "one first touch of a memory page (a page fault): $touch_us µs" \
    "(floor_libs touch 2000, median of 5)"
# Floor = its floor process + the verifications the command must do; above = the rest.
above() { # NAME KEY FLOOR_KEY VERIFIES
    awk -v n="$1" -v m="${cpu[$2]}" -v l="${cpu[$3]}" -v v="$4" -v us="${verify_us:-0}" 'BEGIN {
        f = l + v * us / 1000
        printf "%-16s floor %.2f ms (its floor process %.2f + %d verifies %.2f), measured %.2f: %.2f ms above it\n", n, f, l, v, v * us / 1000, m, m - f }'
}
above "--version" version libs 0
above "evidence verify" verify init 5
above "attest --jobs 1" attest1 xml 11
echo "load average at end: $(loadavg)"
