#!/usr/bin/env bash
# The guest RPC service (docs/rpc.md) end to end: a real gate run on the fake NVML
# (scenario file, PCI sysfs tree, simulated register, event log directory) leaves its
# bundle and log; `serve` reads the same gate config and answers on a temporary Unix
# socket, driven with curl --unix-socket. Every case asserts the status and the body.
# Usage: test_rpc.sh PATH/TO/dstack-gpu-attest PATH/TO/libfake_nvml.so
set -u
bin=$1
fake=$2
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
rpc_test_init
command -v curl >/dev/null || { echo "curl not installed: skipped"; exit 77; }

rpc_world

# ---- the gate never ran: nothing to serve ----
scenario "$tmp/scenario.json" '"ready_state":1'
start_serve "$tmp/gate.json" --max-request 1K
[ "$(stat -c %a "$sock")" = 600 ] || bad "socket mode $(stat -c %a "$sock")"
call "GpuInfo before the gate ran" 200 http://dstack/GpuInfo
[ "$(cat "$tmp/body")" = '{"attestation":""}' ] || bad "gate never ran: $(cat "$tmp/body")"
call "GetGpuAttestation before the gate ran" 200 http://dstack/GetGpuAttestation
body_has '"bundle":""' "no bundle"
body_has '"verdict":null' "no verdict"

# ---- a real gate run ----
"$bin" gate --config "$tmp/gate.json" >"$tmp/gate.out" 2>&1 || { bad "gate: $(cat "$tmp/gate.out")"; exit 1; }
sha=$(sha256sum "$tmp/run/evidence.json" | cut -d' ' -f1)
call "GpuInfo GET" 200 http://dstack/GpuInfo
field attestation >"$tmp/att"
[ "$(sha256sum <"$tmp/att" | cut -d' ' -f1)" = "$sha" ] || bad "GpuInfo is not the bundle byte for byte"
cmp -s "$tmp/att" "$tmp/run/evidence.json" || bad "GpuInfo differs from the bundle"
grep -q "evidence_sha256\":\"$sha\"" <(grep gpu-attestation "$tmp/log/runtime_events.log" | sed 's/.*"payload":"\([^"]*\)".*/\1/' | base64 -d) ||
    bad "the event does not commit to the bundle served"
grep -q 'pid=[0-9]* uid=[0-9]* gid=[0-9]* GET /GpuInfo 200' "$tmp/serve.err" || bad "peer credentials not logged"
cp "$tmp/body" "$tmp/get.json"
call "GpuInfo POST ?json" 200 -X POST http://dstack/GpuInfo?json
cmp -s "$tmp/body" "$tmp/get.json" || bad "POST ?json differs from GET"
call "GpuInfo POST application/json {}" 200 -H 'Content-Type: application/json' -d '{}' http://dstack/GpuInfo
cmp -s "$tmp/body" "$tmp/get.json" || bad "POST JSON differs from GET"
call "GpuInfo POST ?json=1" 200 -X POST 'http://dstack/GpuInfo?json=1'
call "GpuInfo POST protobuf" 200 -X POST -H 'Content-Type: application/octet-stream' http://dstack/GpuInfo
[ "$(head -c1 "$tmp/body" | od -An -tx1 | tr -d ' ')" = 0a ] || bad "protobuf mode: not a GpuInfoResponse (test_rpc_proto.sh checks it)"

call "GetGpuAttestation" 200 http://dstack/GetGpuAttestation
[ "$(field bundle_sha256)" = "$sha" ] || bad "bundle_sha256"
field bundle | cmp -s - "$tmp/run/evidence.json" || bad "bundle is not the file"
pl=$(grep gpu-attestation "$tmp/log/runtime_events.log" | sed 's/.*"payload":"\([^"]*\)".*/\1/' | base64 -d | od -An -tx1 | tr -d ' \n')
body_has "\"index\":2,\"name\":\"gpu-attestation\",\"payload\":\"$pl\"" "gpu-attestation event as in the log"
body_has '"index":1,"name":"gpu-policy-hash","payload":"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"' "gpu-policy-hash event"
# the digest: V1 SHA-384 of le32(type) ":" name ":" payload, recomputed here independently
dig=$( { printf '\x01\x00\x00\x08:gpu-attestation:'; grep gpu-attestation "$tmp/log/runtime_events.log" | sed 's/.*"payload":"\([^"]*\)".*/\1/' | base64 -d; } | openssl dgst -sha384 -r | cut -d' ' -f1)
body_has "\"digest\":\"$dig\",\"version\":1,\"before_system_ready\":true" "gpu-attestation digest"
body_has '"pass":true,"reasons":[],"devices":[{"label":"GPU-0","pci_address":"0000:18:00.0","uuid":"GPU-7e570000-0000-4000-8000-000000000000","ueid":"4100","arch":"hopper","driver_version":"545.00","vbios_version":"96.00.5E.00.01"}' "verdict devices"
body_has '"state":{"cc_mode":"on","ready":true,' "state read now"

# ---- errors: every one HTTP 400 {"error": ...} ----
call "unknown method" 400 http://dstack/NoSuchMethod
body_has '"error": "rpc-method: no such RPC method: NoSuchMethod"' "unknown method"
call "malformed body" 400 -H 'Content-Type: application/json' -d '{"a":' http://dstack/GpuInfo
body_has '"error": "rpc-request: the RPC request is not the method'"'"'s request message: GpuInfo: not a JSON object"' "malformed body"
call "body not an object" 400 -H 'Content-Type: application/json' -d '[1]' http://dstack/GpuInfo
head -c 2048 /dev/zero | tr '\0' ' ' >"$tmp/big"
call "oversize body" 400 -H 'Content-Type: application/json' --data-binary @"$tmp/big" http://dstack/GpuInfo
body_has '"error": "rpc-request: the request body is too large"' "oversize body"
call "PUT" 400 -X PUT http://dstack/GpuInfo

# ---- a bundle edited on disk is refused ----
sed -i 's/"pass":true/"pass":false/' "$tmp/run/evidence.json"
call "edited bundle: GpuInfo" 400 http://dstack/GpuInfo
body_has '"error": "rpc-bundle-mismatch: the bundle'"'"'s SHA-256 is not the gpu-attestation event'"'"'s evidence_sha256' "edited bundle"
call "edited bundle: GetGpuAttestation" 400 http://dstack/GetGpuAttestation
body_has 'rpc-bundle-mismatch' "edited bundle (GetGpuAttestation)"
printf '{"x":"\xff"}\n' >"$tmp/run/evidence.json"
call "non-UTF-8 bundle" 400 http://dstack/GpuInfo
body_has '"error": "rpc-bundle-utf8' "non-UTF-8 bundle"
rm "$tmp/run/evidence.json"
call "bundle removed" 400 http://dstack/GpuInfo
body_has '"error": "rpc-bundle-missing' "bundle removed"
stop_serve
[ -e "$sock" ] && bad "socket left after stop"
grep -q 'stopping (signal 15)' "$tmp/serve.err" || bad "serve did not stop on SIGTERM"
grep -E 'Sanitizer|runtime error' "$tmp/serve.err" && bad "sanitizer report from serve"

rpc_test_done "rpc tests"
