#!/usr/bin/env bash
# The whole `dstack-gpu-attest quote verify` process next to the whole process
# of the npm oracle @phala/dcap-qvl (tests/oracle, through
# bench/quote_oracle_once.js) on the same quote, collateral and time:
# tests/fixtures/tdx/tdx_quote with tdx_quote_collateral.json at
# 2025-07-01T00:00:00Z (UpToDate). The two alternate, RUNS times each, in one
# run; each process's wall time (bash's EPOCHREALTIME, no fork to read a clock)
# and, from `times`, the CPU time (user + sys) of all its threads.
#   bench/bench_quote.sh BUILD_DIR [RUNS]       (default 20)
# Prints medians and p90; never asserted (target from issue 11: ours at least
# 10 x faster). Without node or the oracle (scripts/deps.sh installs it, or
# set DCAP_QVL to its directory) the oracle half is skipped, saying so.
set -euo pipefail
build=${1:?usage: bench_quote.sh BUILD_DIR [RUNS]}
runs=${2:-20}
here=$(cd "$(dirname "$0")/.." && pwd)
cli=$build/tools/dstack-gpu-attest
quote=$here/tests/fixtures/tdx/tdx_quote
coll=$here/tests/fixtures/tdx/tdx_quote_collateral.json
at=2025-07-01T00:00:00Z
at_unix=1751328000
oracle_js=$here/bench/quote_oracle_once.js
[ -x "$cli" ] || { echo "bench_quote: build $build first" >&2; exit 1; }

ours=("$cli" quote verify "$quote" --collateral "$coll" --at "$at" --require-up-to-date)
theirs=(node "$oracle_js" "$quote" "$coll" "$at_unix")
oracle=yes
if ! command -v node >/dev/null 2>&1; then
    oracle="no: node is not installed"
elif ! node "$oracle_js" "$quote" "$coll" "$at_unix" >/dev/null 2>&1; then
    oracle="no: the oracle (tests/oracle/node_modules/@phala/dcap-qvl) is not installed or fails"
fi

# cpu_us := CPU time (user + sys) of all waited-for children so far, in µs. `times`
# must run in this shell (a command substitution would see no children), and is
# parsed without a subshell or a child process, whose own time would count.
children_cpu_us() {
    local u s
    times >"$tmp/times"
    { read -r _; read -r u s; } <"$tmp/times" # children: "0m1.234s 0m0.056s"
    to_us "$u"
    cpu_us=$us
    to_us "$s"
    cpu_us=$(( cpu_us + us ))
}

# us := "1m2.345s" (bash prints 3 decimals) in µs.
to_us() {
    local m=${1%%m*} sec=${1#*m}
    sec=${sec%s}
    us=$(( (10#$m * 60000 + 10#${sec/./}) * 1000 ))
}

# One timed run of "$@"; appends wall µs to the array named by $1, CPU µs to $2.
timed() {
    local -n wall_out=$1 cpu_out=$2
    shift 2
    local c0 w0 w1
    children_cpu_us
    c0=$cpu_us
    w0=$EPOCHREALTIME
    "$@" >/dev/null 2>"$tmp/err" || {
        echo "bench_quote: $* failed:" >&2; cat "$tmp/err" >&2; exit 1
    }
    w1=$EPOCHREALTIME
    children_cpu_us
    wall_out+=($(( ${w1/./} - ${w0/./} )))
    cpu_out+=($(( cpu_us - c0 )))
}

# "median p90" in ms of the µs values given.
stats() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
        m = v[int(NR / 2) + 1]; p = v[int((NR * 9 + 9) / 10)]
        printf "%.2f %.2f\n", m / 1000, p / 1000 }'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "dstack-gpu-attest bench_quote.sh: $(uname -sr), $(nproc) CPUs," \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(openssl version)"
echo "quote verify of tdx/tdx_quote (tdx_quote_collateral.json, $at), $runs runs each, alternating"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# one untimed run each: page cache, and the dynamic loader's first look at the libraries
"${ours[@]}" >/dev/null
[ "$oracle" != yes ] || "${theirs[@]}" >/dev/null

ours_wall=() ours_cpu=() node_wall=() node_cpu=()
for _ in $(seq "$runs"); do
    timed ours_wall ours_cpu "${ours[@]}"
    [ "$oracle" != yes ] || timed node_wall node_cpu "${theirs[@]}"
done

read -r ow_med ow_p90 <<<"$(stats "${ours_wall[@]}")"
read -r oc_med oc_p90 <<<"$(stats "${ours_cpu[@]}")"
printf '%-44s wall median %8.2f ms  p90 %8.2f ms   CPU median %8.2f ms  p90 %8.2f ms\n' \
    "dstack-gpu-attest quote verify" "$ow_med" "$ow_p90" "$oc_med" "$oc_p90"
if [ "$oracle" = yes ]; then
    read -r nw_med nw_p90 <<<"$(stats "${node_wall[@]}")"
    read -r nc_med nc_p90 <<<"$(stats "${node_cpu[@]}")"
    printf '%-44s wall median %8.2f ms  p90 %8.2f ms   CPU median %8.2f ms  p90 %8.2f ms\n' \
        "node @phala/dcap-qvl $(node --version)" "$nw_med" "$nw_p90" "$nc_med" "$nc_p90"
    awk -v o="$ow_med" -v n="$nw_med" -v oc="$oc_med" -v nc="$nc_med" 'BEGIN {
        r = n / o
        printf "target (issue 11): ours at least 10 x faster: %.1f x on wall medians %s; %.1f x on CPU\n",
            r, (r >= 10 ? "met" : "MISSED"), (oc > 0 ? nc / oc : 0) }'
else
    echo "oracle half skipped ($oracle)"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
