#!/usr/bin/env bash
# The verifier server (dstack-gpu-attest verifier, docs/verify.md, Server) under load on
# loopback, with Debian's wrk: issue 12's target for the relying party.
#   bench/bench_verifier.sh BUILD_DIR [SECONDS]   (default 10 s per row)
# Inputs: bench_cvm.sh --prepare's CVMs (tests/e2e/make_cvm.sh: 1 and 8 H100s on the fake NVML,
# test device PKI, the real 545.00 RIMs, a quote under the test Intel PKI with its synthetic
# collateral). The server takes one expectations document, so one server per CVM, started from
# a config file: expect-bench.json (GPUs required, the count exact), the collateral file, the
# test root, at = 2025-07-01T00:00:00Z. The body of every request is dstack-verifier's request
# built from the CVM's attestation.json with gpu_bundle = the bundle's exact bytes.
# Before timing, one request with curl must answer 200, is_valid true, the GPUs verified and
# every device listed (else exit 1: failures are never timed); then a warm-up. Then per CVM and
# per concurrency, wrk -t2 -cN -dSECONDS --timeout 30s --latency, every answer checked by wrk's
# Lua (200 and "is_valid":true); any other answer is exit 1. The server's CPU time over each
# row is utime + stime from /proc/PID/stat (all its threads), in clock ticks (getconf
# CLK_TCK), from the server idle before the row to the server idle after it, so that it holds
# the N requests wrk left in flight (each connection has one outstanding when wrk stops, and
# the server finishes it unseen); verifications per second per core = (requests answered + N)
# / server CPU seconds. The target is printed as met/MISSED, never asserted.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/wrk.sh
. "$here/bench/lib/wrk.sh"
bench_init bench_verifier
AT=2025-07-01T00:00:00Z # inside make_cvm.sh's synthetic collateral window
CONCURRENCY=(2 16)
TARGET_PER_CORE=150 # issue 12: 1-GPU verifications per second per core, warm
TARGET_P99_MS=50    # issue 12: 1-GPU p99 latency

build=${1:?usage: bench_verifier.sh BUILD_DIR [SECONDS]}
seconds=${2:-10}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive integer, not '$seconds'"
build=$(cd "$build" && pwd)
cli=$build/tools/dstack-gpu-attest
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
command -v jq >/dev/null || die "jq is not installed"
[ -x "$cli" ] || die "build $build first"
ticks=$(getconf CLK_TCK)

# cpu_ticks PID: utime + stime of the whole process (every thread, live or exited), in ticks.
# Fields 14 and 15 of /proc/PID/stat, counted after the ')' that ends the command name.
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    awk '{ print $12 + $13 }' <<<"${stat##*) }"
}

# idle PID: waits until the process's CPU time stops growing (two readings 0.3 s apart agree;
# 60 s at most), so that the verifications still running when wrk stopped are finished.
idle() {
    local a b
    b=$(cpu_ticks "$1")
    for _ in $(seq 200); do
        sleep 0.3
        a=$b
        b=$(cpu_ticks "$1")
        [ "$a" = "$b" ] && return
    done
    die "the server did not go idle"
}

# ms VALUE: wrk's "1.23ms" / "456.00us" / "1.02s" in ms.
ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
        else { printf "?" } }'
}

# request N: dstack-verifier's request for CVM N, with the bundle's exact bytes as gpu_bundle
# (GpuInfo's "attestation" string when bundle.json is that response, else the file).
request() {
    local c=$tmp/cvm/cvm$1
    if jq -e 'type == "object" and keys == ["attestation"]' "$c/bundle.json" >/dev/null 2>&1; then
        jq --arg b "$(jq -j .attestation "$c/bundle.json")" '. + {gpu_bundle: $b}' \
            "$c/attestation.json"
    else
        jq --rawfile b "$c/bundle.json" '. + {gpu_bundle: $b}' "$c/attestation.json"
    fi
}

# serve N: one server for CVM N from a config file; sets port and pid.
serve() {
    local n=$1 conf=$tmp/verifier$1.conf
    cat >"$conf" <<EOF
listen = 127.0.0.1:0
expect = $tmp/cvm/cvm$n/expect-bench.json
collateral = $tmp/cvm/collateral.json
test-trusted-root = $tmp/cvm/pki/root.der
at = $AT
EOF
    "$cli" verifier --config "$conf" 2>"$tmp/server$n.log" &
    pid=$!
    pids+=("$pid")
    port=$(wait_for "$tmp/server$n.log" '\(port (\d+)\)')
}

# check N: one request with curl: 200 and the passing verdict, else exit 1.
check() {
    local n=$1 code
    code=$(curl -sS -o "$tmp/answer$n.json" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' --data-binary "@$tmp/request$n.json" \
        "http://127.0.0.1:$port/verify") || die "cvm$n: curl failed"
    [ "$code" = 200 ] || die "cvm$n: HTTP $code: $(head -c 400 "$tmp/answer$n.json")"
    jq -e --argjson n "$n" '.is_valid == true and .details.gpu.verified == true
        and (.details.gpu.devices | length) == $n' "$tmp/answer$n.json" >/dev/null ||
        die "cvm$n: not the passing verdict: $(head -c 400 "$tmp/answer$n.json")"
}

# row N C: wrk at concurrency C against CVM N's server; prints the row, keeps the 1-GPU verdicts.
row() {
    local n=$1 c=$2 t0 t1 reqs rps p50 p90 p99 non2xx sock cpu per_core
    idle "$pid"
    t0=$(cpu_ticks "$pid")
    wrk_run -t2 -c"$c" -d"${seconds}s" --timeout 30s -s "$tmp/post$n.lua" \
        "http://127.0.0.1:$port/verify"
    idle "$pid"
    t1=$(cpu_ticks "$pid")
    reqs=$wrk_requests rps=$wrk_rps non2xx=$wrk_non2xx sock=$wrk_sockets
    p50=$(ms "$wrk_p50")
    p90=$(ms "$wrk_p90")
    p99=$(ms "$wrk_p99")
    if [ -z "$reqs" ] || [ "$reqs" -eq 0 ]; then
        die "cvm$n -c$c: no requests completed: $wrk_out"
    fi
    [ "$non2xx" = 0 ] || die "cvm$n -c$c: $non2xx non-2xx answers: $wrk_out"
    [ "$wrk_unexpected" = 0 ] ||
        die "cvm$n -c$c: $wrk_unexpected answers not 200 with is_valid true: $wrk_out"
    cpu=$(awk -v t=$((t1 - t0)) -v k="$ticks" 'BEGIN { printf "%.2f", t / k }')
    # the server's work: every answer wrk counted, and the c requests still in flight when it
    # stopped (each connection always has one outstanding), which the server finishes unseen
    per_core=$(awk -v r=$((reqs + c)) -v c="$cpu" 'BEGIN { printf "%.1f", (c > 0 ? r / c : 0) }')
    printf '  %-6s %4d %8s %8s %8s %8s %8d %9.2f %6.2f %8s %7s %s\n' "$n GPU" "$c" "$rps" "$p50" \
        "$p90" "$p99" "$reqs" "$cpu" "$(awk -v c="$cpu" -v s="$seconds" 'BEGIN { printf "%.2f", c / s }')" \
        "$per_core" "$non2xx" "$sock"
    if [ "$n" = 1 ]; then
        verdicts+=("$(awk -v c="$c" -v pc="$per_core" -v p99="$p99" -v tp="$TARGET_PER_CORE" \
            -v tl="$TARGET_P99_MS" 'BEGIN {
            printf "  1 GPU -c%d: %s verifications/s per core (target >= %d): %s; p99 %s ms (target < %d): %s",
                c, pc, tp, (pc >= tp ? "met" : "MISSED"), p99, tl, (p99 < tl ? "met" : "MISSED") }')")
    fi
}

echo "dstack-gpu-attest bench_verifier.sh: $(uname -srm), $(hostname), nproc $(nproc)," \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(openssl version)," \
    "$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "building the CVMs (bench_cvm.sh --prepare: 1 and 8 GPUs on the fake NVML) ..."
"$here/bench/bench_cvm.sh" --prepare "$build" "$tmp/cvm" >"$tmp/prepare.log" 2>&1 ||
    die "bench_cvm.sh --prepare: $(tail -20 "$tmp/prepare.log")"
verdicts=()
echo "method: one server per CVM (config file: expect-bench.json, collateral file, test root," \
    "at $AT), POST /verify on loopback; curl checks one verdict, a 2 s warm-up" \
    "(wrk -t2 -c2 -d2s), then wrk -t2 -cN -d${seconds}s --timeout 30s --latency, every answer" \
    "checked; server CPU = utime + stime of its /proc/PID/stat from idle before the row to idle" \
    "after it (CLK_TCK $ticks); per core = (requests + the N left in flight) / server CPU seconds"
printf '  %-6s %4s %8s %8s %8s %8s %8s %9s %6s %8s %7s %s\n' CVM -c req/s 'p50 ms' 'p90 ms' \
    'p99 ms' requests 'CPU s' cores /s/core non-2xx 'socket errors (wrk)'
for n in 1 8; do
    request "$n" >"$tmp/request$n.json"
    # every answer checked: 200 and the passing verdict at the document's start
    wrk_post_lua "$tmp/request$n.json" application/json '{"is_valid":true,' >"$tmp/post$n.lua"
    serve "$n"
    check "$n"
    wrk_run -t2 -c2 -d2s -s "$tmp/post$n.lua" "http://127.0.0.1:$port/verify"
    [ "$wrk_unexpected" = 0 ] || die "warm-up: $wrk_out"
    for c in "${CONCURRENCY[@]}"; do
        row "$n" "$c"
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "target (issue 12): >= $TARGET_PER_CORE 1-GPU verifications per second per core, p99 < ${TARGET_P99_MS} ms" \
    "(8 GPUs reported, no target); never asserted:"
printf '%s\n' "${verdicts[@]}"
