# shellcheck shell=bash
# What the benches of a server on loopback share (bench_proxy.sh, bench_kms.sh,
# bench_verifier.sh; sourced): a scratch directory and the processes they start, cleaned up
# at exit; waiting for a line in a log; wrk's Lua script for a POST; and wrk itself, run
# with --latency and read back into variables.

# bench_init NAME: die's prefix, $tmp (removed at exit) and pids=() (each killed at exit).
bench_init() {
    bench_name=$1
    tmp=$(mktemp -d)
    pids=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}

# die MESSAGE: "NAME: MESSAGE" on stderr, exit 1.
die() {
    echo "$bench_name: $*" >&2
    exit 1
}

# wait_for FILE REGEX: the first capture once the line appears (10 s at most, else die).
wait_for() {
    local v
    for _ in $(seq 100); do
        v=$(perl -ne "if (/$2/) { print \$1; exit }" "$1" 2>/dev/null || true)
        [ -n "$v" ] && { echo "$v"; return; }
        sleep 0.1
    done
    die "no '$2' in $1: $(cat "$1")"
}

# bench_host: the line that says where the figures were taken.
bench_host() {
    echo "$(uname -sr), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
}

# wrk_post_lua FILE CONTENT_TYPE [WANT]: prints wrk's Lua script that POSTs FILE's bytes.
# With WANT, every answer is checked as well (wrk itself counts only non-2xx): one that is
# not 200 or whose body does not contain WANT is counted, per thread, and the total is
# printed at the end as "unexpected answers: N" (wrk_run reads it into wrk_unexpected).
wrk_post_lua() {
    cat <<LUA
local f = assert(io.open("$1", "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "$2"
LUA
    [ $# -ge 3 ] || return 0
    cat <<LUA
local want = [==[$3]==]
local threads = {}
function setup(thread) table.insert(threads, thread) end
bad = 0
function response(status, headers, body)
    if status ~= 200 or not string.find(body, want, 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
    local n = 0
    for _, t in ipairs(threads) do n = n + t:get("bad") end
    io.write(string.format("unexpected answers: %d\n", n))
end
LUA
}

# wrk_run ARGS...: wrk --latency ARGS (threads, connections, duration, -s, the URL: the
# caller's); its output in wrk_out and its figures in wrk_requests, wrk_rps, wrk_p50, wrk_p90,
# wrk_p99 (wrk's own units: "1.23ms", "456.00us"), wrk_non2xx (0 when none), wrk_sockets
# (wrk's "Socket errors" text, empty when none), wrk_errors (both lines as wrk wrote them)
# and wrk_unexpected (wrk_post_lua's count, empty without WANT). A failed wrk is die.
# shellcheck disable=SC2034 # the figures are the caller's to read
wrk_run() {
    wrk_out=$(wrk --latency "$@") || die "wrk failed: $wrk_out"
    wrk_requests=$(awk '/requests in/ { print $1 }' <<<"$wrk_out")
    wrk_rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$wrk_out")
    wrk_p50=$(awk '$1 == "50%" { print $2 }' <<<"$wrk_out")
    wrk_p90=$(awk '$1 == "90%" { print $2 }' <<<"$wrk_out")
    wrk_p99=$(awk '$1 == "99%" { print $2 }' <<<"$wrk_out")
    wrk_non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$wrk_out")
    wrk_non2xx=${wrk_non2xx:-0}
    wrk_sockets=$(awk '/Socket errors/ { sub(/^ *Socket errors: /, ""); print }' <<<"$wrk_out")
    wrk_errors=$(awk '/Non-2xx|Socket errors/' <<<"$wrk_out")
    wrk_unexpected=$(awk '/^unexpected answers:/ { print $NF }' <<<"$wrk_out")
}

# wrk_row WIDTH LABEL: the row of the last wrk_run as the proxy's and the hook's benches
# print it: LABEL, requests/s, p50, p99 and wrk's error lines.
wrk_row() {
    printf "%-${1}s %10s req/s   p50 %-8s p99 %-8s %s\n" "$2" "$wrk_rps" "$wrk_p50" "$wrk_p99" \
        "$wrk_errors"
}
