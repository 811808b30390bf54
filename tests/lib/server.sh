# shellcheck shell=bash
# Helpers for the tests that start a server of this project (proxy, verifier, kms-hook)
# and wait for it. Sourced; server_test_init sets up what the others use: $tmp (a scratch
# directory) and the array pids (every process the test starts, killed at exit).

# server_test_init [MKTEMP_TEMPLATE]: $tmp (removed at exit unless KEEP_TMP is set),
# pids=() (each killed, then waited for, at exit) and failures=0 (counted by fail).
server_test_init() {
    tmp=$(mktemp -d ${1:+"$1"})
    pids=()
    failures=0
    trap server_test_cleanup EXIT
}

server_test_cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}

ok() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

# server_test_done LINE: the count of failures and exit 1 if any, else LINE.
server_test_done() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures failure(s)"
        exit 1
    fi
    echo "$1"
}

# wait_for FILE PERL_REGEX: prints the first capture once the file has a matching line
# (10 s at most; then the file goes to stderr and the status is 1).
wait_for() {
    local v
    for _ in $(seq 1 200); do
        v=$(perl -ne "if (/$2/) { print \$1; exit }" "$1" 2>/dev/null)
        if [ -n "$v" ]; then
            echo "$v"
            return 0
        fi
        sleep 0.05
    done
    echo "wait_for: no /$2/ in $1" >&2
    cat "$1" >&2
    return 1
}

# start_server NAME COMMAND...: runs COMMAND in the background with its stderr (and stdout)
# in $tmp/NAME.log, records it in pids, and sets ${NAME}_pid and ${NAME}_port from the
# service layer's "listening on ... (port N)" line.
# shellcheck disable=SC2154 # tmp and pids are the caller's (above)
start_server() {
    local name=$1
    shift
    "$@" >"$tmp/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    printf -v "${name}_pid" %s "$pid"
    printf -v "${name}_port" %s "$(wait_for "$tmp/$name.log" '\(port (\d+)\)')"
}
