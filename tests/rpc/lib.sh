# shellcheck shell=bash
# What the guest RPC service's tests (and the nvattest drop-in's) share: the scratch
# directory and the failure count, the fake NVML's world (a PCI sysfs tree, a scenario
# file, the gate's config), `serve` on a Unix socket and curl calls to it. Sourced after
# `set -u`; the caller sets bin (dstack-gpu-attest) and, for gate_config, fake (the fake
# NVML library).

# shellcheck disable=SC2154 # bin and fake are the caller's (above)
true

# rpc_test_init: $tmp (removed at exit, the server stopped first), failures=0, srv (the
# running server's pid, or empty), sock ($tmp/rpc.sock), fx (the fixtures: $DGA_FIXTURES,
# else this tree's) and H545 (the H100 driver 545.00 fixture the scenarios use).
rpc_test_init() {
    tmp=$(mktemp -d)
    failures=0
    srv=
    sock=$tmp/rpc.sock
    fx=$(cd "${DGA_FIXTURES:-$(dirname "${BASH_SOURCE[0]}")/../fixtures}" && pwd)
    H545=$fx/gpu/h100_545.00
    trap rpc_test_cleanup EXIT
}

rpc_test_cleanup() {
    [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
    rm -rf "$tmp"
}

bad() {
    echo "FAIL $1"
    failures=$((failures + 1))
}
ok() { echo "ok   $1"; }

# rpc_test_done WHAT: "N failure(s)" and exit 1 if any, else "all WHAT passed".
rpc_test_done() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures failure(s)"
        exit 1
    fi
    echo "all $1 passed"
}

# pci_tree DIR N: a PCI sysfs tree of a host bridge and N H100s (0000:18:00.0, 0000:19:00.0...).
pci_tree() {
    pci_entry "$1" 0000:00:00.0 0x8086 0x1237 0x060000
    local i
    for ((i = 0; i < $2; i++)); do
        pci_entry "$1" "$(printf '0000:%02x:00.0' $((0x18 + i)))" 0x10de 0x2330 0x030200
    done
}
pci_entry() { # DIR ADDR VENDOR DEVICE CLASS
    mkdir -p "$1/$2"
    printf '%s\n' "$3" >"$1/$2/vendor"
    printf '%s\n' "$4" >"$1/$2/device"
    printf '%s\n' "$5" >"$1/$2/class"
}

# members [MEMBER...]: ",MEMBER" for each one not empty (the tail of a JSON object).
members() {
    local m
    for m in "$@"; do
        if [ -n "$m" ]; then printf ',%s' "$m"; fi
    done
}

# scenario FILE [MEMBER...]: the fake NVML's scenario: two H100s of driver 545.00 whose
# reports the test PKI signs, the ready state recorded in $tmp/ready.txt, and each MEMBER
# ('"key":value') added.
scenario() {
    local file=$1
    shift
    printf '{"report":"%s","chain":"%s","key":"%s","gpus":2,"ready_record":"%s"%s}\n' \
        "$H545/report.hex" "$fx/testpki/certchain.pem" "$fx/testpki/leaf.key" \
        "$tmp/ready.txt" "$(members "$@")" >"$file"
}

# gate_config FILE [MEMBER...]: the gate's config over the fake NVML and a $tmp/pci tree:
# the fixture's RIMs, the test PKI's root, run and event log directories under $tmp, no
# TDX, a simulated register ($tmp/rtmr3.bin), a fixed time and a policy without OCSP
# ($tmp/policy.json, written here); each MEMBER ('"key":value') added.
gate_config() {
    local file=$1
    shift
    printf '{"version":1,"ocsp":"not-required"}' >"$tmp/policy.json"
    printf '{"rim_dir":"%s","nvml":"%s","sysfs_pci":"%s","run_dir":"%s","event_log_dir":"%s","tdx_sysfs_dir":"%s","tdx_device":"%s","event_backend":"sim:%s","test_device_root":"%s","verify_at":"2024-06-01T00:00:00Z","policy":"%s"%s}\n' \
        "$H545/rims" "$fake" "$tmp/pci" "$tmp/run" "$tmp/log" "$tmp/no-tdx" "$tmp/no-tdx-dev" \
        "$tmp/rtmr3.bin" "$fx/testpki/root.pem" "$tmp/policy.json" "$(members "$@")" >"$file"
}

# rpc_world: the world most of these tests run the gate in: two H100s in $tmp/pci, the fake
# NVML reading $tmp/scenario.json (written by the test: scenario), the gate's $tmp/gate.json.
rpc_world() {
    pci_tree "$tmp/pci" 2
    export DGA_FAKE_NVML_SCENARIO=$tmp/scenario.json
    gate_config "$tmp/gate.json"
}

# start_serve CONFIG [FLAG...]: serve over the gate's CONFIG on $sock, mode 0600, its stderr
# in $tmp/serve.err, once the socket file is there; a server that does not start ends the
# test.
start_serve() {
    local config=$1
    shift
    "$bin" serve --config "$config" --listen "unix:$sock" --socket-mode 0600 "$@" \
        2>"$tmp/serve.err" &
    srv=$!
    for _ in $(seq 50); do [ -S "$sock" ] && return 0; sleep 0.1; done
    bad "serve did not start: $(cat "$tmp/serve.err")"
    exit 1
}
stop_serve() {
    kill "$srv" 2>/dev/null
    wait "$srv" 2>/dev/null
    srv=
}

# call NAME WANT_STATUS CURL-ARGS...: one request on $sock, the body in $tmp/body.
call() {
    local name=$1 want=$2
    shift 2
    local got
    got=$(curl -s -o "$tmp/body" -w '%{http_code}' --unix-socket "$sock" "$@")
    if [ "$got" != "$want" ]; then
        bad "$name: HTTP $got, want $want: $(head -c 400 "$tmp/body")"
        return 1
    fi
    ok "$name"
}
# is_body TEXT NAME, body_has TEXT NAME: the body is TEXT, or holds it.
is_body() { [ "$(cat "$tmp/body")" = "$1" ] || bad "$2: $(head -c 400 "$tmp/body"), want $1"; }
body_has() { grep -qF -- "$1" "$tmp/body" || bad "$2: '$1' not in $(head -c 400 "$tmp/body")"; }
# field NAME: a top-level member of the JSON body, a string as it is.
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]], end="")' "$tmp/body" "$1"; }
