#!/usr/bin/env bash
# The guest RPC service's protobuf mode and the `rpc` client (docs/rpc.md), end to end:
# the same real gate run on the fake NVML as test_rpc.sh, then `serve` on a temporary
# Unix socket, driven by an independent protobuf client (Python's protobuf runtime on
# the messages protoc makes from proto/dstack_gpu_attest.proto: tests/rpc/pbclient.py)
# and by `dstack-gpu-attest rpc` in both modes. Every case asserts the exit status and
# the output.
# Usage: test_rpc_proto.sh PATH/TO/dstack-gpu-attest PATH/TO/libfake_nvml.so
set -u
bin=$1
fake=$2
here=$(cd "$(dirname "$0")" && pwd)
proto=$here/../../proto
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
rpc_test_init
# Python from the distribution: its protobuf runtime (python3-protobuf), not a pyenv shim's
py=/usr/bin/python3
"$py" -c 'import google.protobuf' 2>/dev/null || { echo "python3-protobuf not installed: skipped"; exit 77; }
command -v protoc >/dev/null || { echo "protoc not installed: skipped"; exit 77; }
protoc --python_out="$tmp" -I"$proto" "$proto/dstack_gpu_attest.proto" || { bad "protoc"; exit 1; }

# ---- the gate's world, as test_rpc.sh builds it ----
rpc_world
scenario "$tmp/scenario.json" '"ready_state":1'
"$bin" gate --config "$tmp/gate.json" >"$tmp/gate.out" 2>&1 || { bad "gate: $(cat "$tmp/gate.out")"; exit 1; }
start_serve "$tmp/gate.json"

# ---- an independent protobuf client ----
"$py" "$here/pbclient.py" "$tmp" "$sock" "$tmp/run/evidence.json" >"$tmp/py.out" 2>&1
rc=$?
cat "$tmp/py.out"
[ "$rc" -eq 0 ] || bad "protobuf client: $rc failure(s)"
grep -c '^ok ' "$tmp/py.out" | grep -qx 15 || bad "protobuf client: not every check ran"

# ---- the rpc client: rpc NAME WANT-EXIT ARGS... (stdout in $tmp/out, stderr in $tmp/err) ----
rpc() {
    local name=$1 want=$2
    shift 2
    "$bin" rpc "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        bad "$name: exit $got, want $want: $(head -c 300 "$tmp/err")"
        return 1
    fi
    ok "$name"
}
err_is() { [ "$(cat "$tmp/err")" = "$1" ] || bad "$2: stderr '$(cat "$tmp/err")', want '$1'"; }
jfield() { "$py" -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))[sys.argv[2]])' "$tmp/out" "$1"; }

rpc "rpc GpuInfo (JSON)" 0 GpuInfo --socket "$sock" --compact
jfield attestation | cmp -s - "$tmp/run/evidence.json" || bad "rpc GpuInfo is not the bundle"
cp "$tmp/out" "$tmp/info.json"
rpc "rpc GpuInfo --proto" 0 GpuInfo --socket "$sock" --proto --compact
cmp -s "$tmp/out" "$tmp/info.json" || bad "rpc GpuInfo: --proto and --json differ"
rpc "rpc GpuInfo pretty" 0 --socket="$sock" GpuInfo
[ "$(head -1 "$tmp/out")" = "{" ] && sed -n 2p "$tmp/out" | grep -q '^    "attestation": "{' ||
    bad "pretty output: $(head -c 80 "$tmp/out")"
jfield attestation | cmp -s - "$tmp/run/evidence.json" || bad "rpc GpuInfo (pretty) is not the bundle"

rpc "rpc GetGpuAttestation (JSON)" 0 GetGpuAttestation --socket "$sock" --compact
cp "$tmp/out" "$tmp/att.json"
rpc "rpc GetGpuAttestation --proto" 0 GetGpuAttestation --socket "$sock" --proto --compact
# protobuf has every field (state.error ""); the rest is the same answer
"$py" - "$tmp/att.json" "$tmp/out" <<'PY' || bad "rpc GetGpuAttestation: --proto differs from --json"
import json, sys
j, p = (json.load(open(f)) for f in sys.argv[1:3])
assert p["state"].pop("error") == "", p["state"]
assert j == p, (j, p)
assert len(j["events"]) == 2 and j["verdict"]["pass"] is True and j["state"]["ready"] is True
PY
grep -q "\"bundle_sha256\":\"$(sha256sum "$tmp/run/evidence.json" | cut -d' ' -f1)\"" "$tmp/out" ||
    bad "rpc --proto: bundle_sha256 is not the bundle's"

# errors: the service's on stderr, the exit status by what refused
for mode in --json --proto; do
    rpc "unknown method $mode" 2 NoSuchMethod --socket "$sock" $mode
    err_is "dstack-gpu-attest: rpc: NoSuchMethod: rpc-method: no such RPC method: NoSuchMethod" "unknown method $mode"
    [ -s "$tmp/out" ] && bad "unknown method $mode: output on stdout"
done
rpc "argument the message lacks" 2 GpuInfo --socket "$sock" nonce=00
err_is "dstack-gpu-attest: rpc: GpuInfo: rpc-argument: an RPC argument is not FIELD=VALUE of the request message: nonce: no such field in Empty" "argument the message lacks"
rpc "argument without =" 2 GpuInfo --socket "$sock" nonce
err_is "dstack-gpu-attest: rpc: GpuInfo: rpc-argument: an RPC argument is not FIELD=VALUE of the request message: nonce" "argument without ="
rpc "bad method name" 2 'Gpu/Info' --socket "$sock"
rpc "--json --proto" 2 GpuInfo --socket "$sock" --json --proto
rpc "no method" 2 --socket "$sock"
rpc "no service" 3 GpuInfo --socket "$tmp/none.sock"
grep -q '^dstack-gpu-attest: rpc: GpuInfo: rpc-connect: cannot reach the RPC service: ' "$tmp/err" || bad "no service: $(cat "$tmp/err")"
rpc "rpc --help" 0 --help
grep -q 'Usage: dstack-gpu-attest rpc METHOD' "$tmp/out" || bad "rpc --help"

# a bundle edited on disk: the service refuses, a check failed (exit 1), in both modes
sed -i 's/"pass":true/"pass":false/' "$tmp/run/evidence.json"
for mode in --json --proto; do
    rpc "edited bundle $mode" 1 GpuInfo --socket "$sock" $mode
    grep -q "^dstack-gpu-attest: rpc: GpuInfo: rpc-bundle-mismatch: the bundle's SHA-256 is not the gpu-attestation event's evidence_sha256: " "$tmp/err" ||
        bad "edited bundle $mode: $(cat "$tmp/err")"
done

stop_serve
grep -E 'Sanitizer|runtime error' "$tmp/serve.err" && bad "sanitizer report from serve"
rpc_test_done "rpc protobuf tests"
