#!/usr/bin/env bash
# EnsureGpuReady and AttestGpu (docs/rpc.md) end to end: real gate runs on the fake NVML
# (scenario file, PCI sysfs tree, simulated register, event log directory), `serve` over the
# same gate config on a temporary Unix socket, driven with curl --unix-socket. The fake keeps
# its ready state in a file (ready_state_file), so the state the gate sets from a child is
# the one the service reads, and writing 0 there is a driver reload; rewriting the scenario
# changes what NVML reports from the next call on. Every case asserts the status and the body.
# Usage: test_rpc_ensure.sh PATH/TO/dstack-gpu-attest PATH/TO/libfake_nvml.so
set -u
bin=$1
fake=$2
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
rpc_test_init
command -v curl >/dev/null || { echo "curl not installed: skipped"; exit 77; }

rpc_world
# nvml [MEMBER...]: what the fake NVML reports from its next call on; its ready state in a file
nvml() { scenario "$tmp/scenario.json" "\"ready_state_file\":\"$tmp/ready_state\"" "$@"; }
# NVML deadlines short enough for a test of a wedged driver (the defaults, 30 s, are for
# everything else: 20 concurrent children of a sanitizer build need time on a small machine)
gate_config "$tmp/gate-short.json" '"cc_timeout_ms":2000' '"ready_timeout_ms":2000'
log=$tmp/log/runtime_events.log

serve() { start_serve "${1:-$tmp/gate.json}" --attest-burst 3 --attest-interval 1h; } # [CONFIG]
new_boot() { # a fresh machine: no bundle, no log, register zero, ready state off
    rm -rf "$tmp/run" "$tmp/log" "$tmp/rtmr3.bin" "$tmp/ready.txt" "$tmp/ready_state"
}
count() { [ -e "$2" ] && grep -c -- "$1" "$2"; [ -e "$2" ] || echo 0; } # lines of FILE holding PATTERN
ensure() { call "$1" 200 -X POST 'http://dstack/EnsureGpuReady?json'; }
REFUSED='{"ready":false,"outcome":"refused","reason":"'

serve

# ---- boots that did not pass: refused, nothing re-attested, the ready state never set ----
nvml
ensure "EnsureGpuReady before the gate ran"
is_body "$REFUSED"'boot gate: the gate never ran (no bundle, no gpu-attestation event)","reattestation_sha256":""}' "gate never ran"

nvml '"cc_feature":0'
"$bin" gate --config "$tmp/gate.json" >"$tmp/gate.out" 2>&1 && bad "gate passed with CC off"
nvml # CC on again: only the boot's verdict stands in the way now
ensure "EnsureGpuReady after a failed gate"
is_body "$REFUSED"'boot gate: rpc-bundle-uncommitted: a bundle exists but no gpu-attestation event commits to it: '"$tmp"'/run/evidence.json","reattestation_sha256":""}' "failed gate"
[ "$(count '^set' "$tmp/ready.txt")" = 0 ] || bad "ready state set after a failed gate: $(cat "$tmp/ready.txt")"
[ "$(count gpu-reattestation "$log")" = 0 ] || bad "re-attested after a failed gate"
ls "$tmp/run" | grep -q reattestation && bad "re-attestation bundle after a failed gate"

# a gpu-attestation event after system-ready does not bind: not a boot that passed
new_boot
mkdir -p "$tmp/log"
"$bin" events emit --name system-ready --payload-hex '' --backend "sim:$tmp/rtmr3.bin" \
    --log-dir "$tmp/log" --digest-version 1 >/dev/null 2>&1 || bad "events emit system-ready"
"$bin" gate --config "$tmp/gate.json" >"$tmp/gate.out" 2>&1 || bad "gate: $(cat "$tmp/gate.out")"
echo 0 >"$tmp/ready_state"
ensure "EnsureGpuReady, gate event after system-ready"
is_body "$REFUSED"'boot gate: the gpu-attestation event (log line 3) is after system-ready (log line 1)","reattestation_sha256":""}' "event after system-ready"
[ "$(count gpu-reattestation "$log")" = 0 ] || bad "re-attested after system-ready"
[ "$(cat "$tmp/ready_state")" = 0 ] || bad "ready state set on a boot whose event came late"

# ---- a boot that passed ----
new_boot
"$bin" gate --config "$tmp/gate.json" >"$tmp/gate.out" 2>&1 || { bad "gate: $(cat "$tmp/gate.out")"; exit 1; }
[ "$(cat "$tmp/ready_state")" = 1 ] || bad "the gate did not set the ready state"
ensure "EnsureGpuReady, ready"
is_body '{"ready":true,"outcome":"already-ready","reason":"","reattestation_sha256":""}' "already-ready"
[ "$(count '^set' "$tmp/ready.txt")" = 1 ] || bad "already-ready set the state: $(cat "$tmp/ready.txt")"

# the ready state lost (a driver reload): re-attested, set once, recorded
echo 0 >"$tmp/ready_state"
ensure "EnsureGpuReady, state lost"
sha=$(sha256sum "$tmp/run/reattestation-1.json" 2>/dev/null | cut -d' ' -f1)
is_body '{"ready":true,"outcome":"reattested","reason":"","reattestation_sha256":"'"$sha"'"}' "reattested"
[ "$(cat "$tmp/ready_state")" = 1 ] || bad "re-attestation did not set the ready state"
[ "$(count '^set 1 0' "$tmp/ready.txt")" = 2 ] || bad "sets after re-attestation: $(cat "$tmp/ready.txt")"
[ "$(count gpu-reattestation "$log")" = 1 ] || bad "gpu-reattestation events: $(count gpu-reattestation "$log")"
[ "$(count gpu-policy-hash "$log")" = 1 ] || bad "a second gpu-policy-hash"
grep gpu-reattestation "$log" | sed 's/.*"payload":"\([^"]*\)".*/\1/' | base64 -d | grep -q "\"evidence_sha256\":\"$sha\"" ||
    bad "the gpu-reattestation event does not commit to reattestation-1.json"
grep -q '"pass":true' "$tmp/run/reattestation-1.json" || bad "re-attestation bundle is not a pass"
# the state reader's child reads the driver on every request: it sees the state the
# re-attestation set from another child, and the same child answers request after request
state_child() { ps --ppid "$srv" -o pid=,args= | grep -F -- '__nvml-child state-server' | awk '{ print $1 }'; }
call "GetGpuAttestation after the re-attestation" 200 http://dstack/GetGpuAttestation
body_has '"state":{"cc_mode":"on","ready":true,' "the state the re-attestation set"
reader=$(state_child)
[ -n "$reader" ] || bad "no state-server child: $(ps --ppid "$srv" -o args=)"
for i in 1 2 3; do call "GetGpuAttestation $i, the same state child" 200 http://dstack/GetGpuAttestation; done
[ "$(state_child)" = "$reader" ] || bad "state child $reader replaced by $(state_child)"
call "GpuInfo still the boot's bundle" 200 http://dstack/GpuInfo
field attestation | cmp -s - "$tmp/run/evidence.json" || bad "GpuInfo changed by the re-attestation"
ensure "EnsureGpuReady after the re-attestation"
is_body '{"ready":true,"outcome":"already-ready","reason":"","reattestation_sha256":""}' "already-ready again"

# lost again, and NVML now reports CC off: refused, nothing set, nothing measured
echo 0 >"$tmp/ready_state"
nvml '"cc_feature":0'
ensure "EnsureGpuReady, CC off now"
is_body "$REFUSED"'cc-mode: off (ccFeature 0, environment 2, devToolsMode 0, multiGpuMode 0)","reattestation_sha256":""}' "CC off"
[ "$(cat "$tmp/ready_state")" = 0 ] || bad "ready state set with CC off"
[ "$(count '^set' "$tmp/ready.txt")" = 2 ] || bad "a set with CC off: $(cat "$tmp/ready.txt")"
[ "$(count gpu-reattestation "$log")" = 1 ] || bad "re-attested with CC off"

# NVML reports protected PCIe now: a CC boot attested no NVSwitches and no topology; refused
nvml '"cc_feature":0' '"multi_gpu_mode":1'
ensure "EnsureGpuReady, CC boot, PPCIe now"
is_body "$REFUSED"'cc-mode: ppcie (ccFeature 0, environment 2, devToolsMode 0, multiGpuMode 1)","reattestation_sha256":""}' "PPCIe after a CC boot"
[ "$(cat "$tmp/ready_state")" = 0 ] || bad "ready state set in PPCIe mode after a CC boot"
[ "$(count gpu-reattestation "$log")" = 1 ] || bad "re-attested in PPCIe mode after a CC boot"

# a re-attestation that fails (the device's signature is bad now): refused, the state stays off
nvml '"corrupt_signature":true'
ensure "EnsureGpuReady, re-attestation fails"
body_has "$REFUSED"'re-attestation failed (reattestation-2.json): ' "failed re-attestation"
body_has '"reattestation_sha256":""}' "failed re-attestation has no sha"
[ "$(cat "$tmp/ready_state")" = 0 ] || bad "ready state set by a failed re-attestation"
[ "$(count '^set' "$tmp/ready.txt")" = 2 ] || bad "a set by a failed re-attestation"
[ "$(count gpu-reattestation "$log")" = 1 ] || bad "an event for a failed re-attestation"
grep -q '"pass":false' "$tmp/run/reattestation-2.json" || bad "the failed re-attestation's bundle is not recorded"

# 20 concurrent calls share one re-attestation. Callers whose state read came before it
# completed get its outcome (reattested, the same sha256); a caller whose read came after
# it completed sees the state set (already-ready). Nothing else is a right answer.
nvml
pids=
for i in $(seq 20); do
    curl -s -o "$tmp/c$i" -w '%{http_code}' -X POST --unix-socket "$sock" 'http://dstack/EnsureGpuReady?json' >"$tmp/s$i" &
    pids="$pids $!"
done
wait $pids # not a bare wait: the service is a background job too
sha=$(sha256sum "$tmp/run/reattestation-3.json" 2>/dev/null | cut -d' ' -f1)
n_re=0
for i in $(seq 20); do
    [ "$(cat "$tmp/s$i")" = 200 ] || bad "concurrent call $i: HTTP $(cat "$tmp/s$i")"
    case "$(cat "$tmp/c$i")" in
    '{"ready":true,"outcome":"reattested","reason":"","reattestation_sha256":"'"$sha"'"}') n_re=$((n_re + 1)) ;;
    '{"ready":true,"outcome":"already-ready","reason":"","reattestation_sha256":""}') ;;
    *) bad "concurrent call $i: $(cat "$tmp/c$i")" ;;
    esac
done
[ "$n_re" -ge 1 ] || bad "no concurrent call reports the re-attestation"
[ "$(count gpu-reattestation "$log")" = 2 ] || bad "concurrent calls: $(($(count gpu-reattestation "$log") - 1)) re-attestations, want 1"
[ "$(count '^set 1 0' "$tmp/ready.txt")" = 3 ] || bad "concurrent calls: sets $(cat "$tmp/ready.txt")"
[ -e "$tmp/run/reattestation-4.json" ] && bad "a second concurrent re-attestation"
ok "20 concurrent calls: one re-attestation ($n_re reattested, $((20 - n_re)) already-ready)"

# a wedged driver costs a request its deadline, never the service a thread
stop_serve
serve "$tmp/gate-short.json"
nvml '"hang":{"call":"nvmlSystemGetConfComputeGpusReadyState","ms":20000}'
# the service's NVML children are exec'd images of the program, never forked copies of it
# (a forked child of a threaded process can hang on a lock another thread held)
watch_child() { # WANT-ARGS: polls the service's children for one whose command line is WANT-ARGS
    for _ in $(seq 100); do
        ps --ppid "$srv" -o args= | grep -qxF -- "$1" && return 0
        sleep 0.05
    done
    return 1
}
# the state reader's one long-lived child (started by the first read after serve started)
watch_child "dstack-gpu-attest-nvml-child __nvml-child state-server $fake" &
watcher=$!
start=$(date +%s)
call "GetGpuAttestation, NVML hangs" 200 http://dstack/GetGpuAttestation
body_has '"state":{"error":"nvml-timeout: collection child (NVML 0)"}' "state read timed out"
wait "$watcher" || bad "no spawned state-server child: $(ps --ppid "$srv" -o args=)"
call "EnsureGpuReady, NVML hangs" 400 -X POST 'http://dstack/EnsureGpuReady?json'
is_body '{
  "error": "nvml-timeout: NVML did not answer before the collection deadline: collection child (NVML 0)"
}' "EnsureGpuReady timed out"
[ $(($(date +%s) - start)) -lt 15 ] || bad "the state reads were not cut at their 2 s deadline"
nvml
# the killed child is replaced at the next read
call "GetGpuAttestation after the hang" 200 http://dstack/GetGpuAttestation
body_has '"state":{"cc_mode":"on","ready":true,' "state read by a fresh child after the hang"
stop_serve
serve

# ---- AttestGpu ----
NONCE=$(python3 -c 'print(bytes(range(0xc0, 0xe0)).hex(), end="")') # 32 distinct bytes
files_before=$(ls "$tmp/run" | tr '\n' ' ')
events_before=$(wc -l <"$log")
sets_before=$(count '^set' "$tmp/ready.txt")
call "AttestGpu, no nonce" 400 -X POST -H 'Content-Type: application/json' -d '{}' http://dstack/AttestGpu
is_body '{
  "error": "rpc-field: an RPC request field is missing or invalid: nonce: missing (32 bytes as hex)"
}' "missing nonce"
call "AttestGpu GET" 400 http://dstack/AttestGpu
body_has 'rpc-field: an RPC request field is missing or invalid: nonce: missing' "GET has no nonce"
call "AttestGpu, not hex" 400 -H 'Content-Type: application/json' -d "{\"nonce\":\"$(printf 'zz%.0s' $(seq 32))\"}" http://dstack/AttestGpu
body_has '"error": "rpc-field: an RPC request field is missing or invalid: nonce: not hex"' "not hex"
call "AttestGpu, 31 bytes" 400 -H 'Content-Type: application/json' -d "{\"nonce\":\"${NONCE:2}\"}" http://dstack/AttestGpu
body_has '"error": "rpc-field: an RPC request field is missing or invalid: nonce: 31 bytes, want 32"' "31 bytes"
call "AttestGpu, 33 bytes" 400 -H 'Content-Type: application/json' -d "{\"nonce\":\"${NONCE}00\"}" http://dstack/AttestGpu
body_has '"error": "rpc-field: an RPC request field is missing or invalid: nonce: 33 bytes, want 32"' "33 bytes"
call "AttestGpu, a number" 400 -H 'Content-Type: application/json' -d '{"nonce":1}' http://dstack/AttestGpu
body_has '"error": "rpc-field: an RPC request field is missing or invalid: nonce: not a string' "number"

# the caller's nonce is in every device's report (the evidence) and every appraisal (claims)
call "AttestGpu" 200 -H 'Content-Type: application/json' -d "{\"nonce\":\"$NONCE\"}" http://dstack/AttestGpu
cp "$tmp/body" "$tmp/attest1.json"
python3 - "$tmp/attest1.json" "$NONCE" <<'EOF' || bad "AttestGpu's bundle does not carry the caller's nonce"
import hashlib, json, sys
r = json.load(open(sys.argv[1]))
nonce = sys.argv[2]
assert r["pass"] is True, r["pass"]
assert hashlib.sha256(r["bundle"].encode()).hexdigest() == r["bundle_sha256"], "bundle_sha256"
b = json.loads(r["bundle"])
assert b["nonce"] == nonce, b["nonce"]
assert len(b["evidence"]) == 2 and len(b["devices"]) == 2 and len(b["claims"]) == 2
for ev in b["evidence"]:
    # the signed report itself: the SPDM GET_MEASUREMENTS request's nonce at offset 4
    assert ev["report"][8:72] == nonce, ev["report"][:80]
for claims in b["claims"] + [d["claims"] for d in b["devices"]]:
    assert claims["eat_nonce"] == nonce, claims.get("eat_nonce")
    assert claims["x-nvidia-gpu-attestation-report-nonce-match"] is True
EOF
[ "$(ls "$tmp/run" | tr '\n' ' ')" = "$files_before" ] || bad "AttestGpu wrote a file: $(ls "$tmp/run")"
[ "$(wc -l <"$log")" = "$events_before" ] || bad "AttestGpu measured an event"
[ "$(count '^set' "$tmp/ready.txt")" = "$sets_before" ] || bad "AttestGpu set the ready state"

# a finding about the GPUs is still an answer: pass false, the bundle says why
nvml '"cc_feature":0'
call "AttestGpu, CC off" 200 -H 'Content-Type: application/json' -d "{\"nonce\":\"$NONCE\"}" http://dstack/AttestGpu
body_has '"pass":false}' "CC off: pass false"
field bundle | grep -q 'cc-off' || bad "CC off: the bundle does not say why"
nvml
call "AttestGpu, third" 200 -X POST "http://dstack/AttestGpu?json" -d "{\"nonce\":\"$NONCE\"}"
# over the rate (--attest-burst 3, one more per hour)
call "AttestGpu, over the rate" 400 -H 'Content-Type: application/json' -d "{\"nonce\":\"$NONCE\"}" http://dstack/AttestGpu
# the wait: an hour from the first call, less the seconds this test took since
grep -qE '^  "error": "rpc-rate-limited: AttestGpu is over its rate limit: retry in (3[5-9][0-9][0-9]|3600) s"$' "$tmp/body" ||
    bad "rate limited: $(cat "$tmp/body")"
# a malformed call is refused before the rate: it names the field, not the rate
call "AttestGpu, bad nonce over the rate" 400 -H 'Content-Type: application/json' -d '{"nonce":"00"}' http://dstack/AttestGpu
body_has 'nonce: 1 bytes, want 32' "bad nonce over the rate"
# EnsureGpuReady is not rate-limited by AttestGpu's bucket
ensure "EnsureGpuReady while AttestGpu is limited"
is_body '{"ready":true,"outcome":"already-ready","reason":"","reattestation_sha256":""}' "EnsureGpuReady not limited"

stop_serve
grep -E 'Sanitizer|runtime error' "$tmp/serve.err" && bad "sanitizer report from serve"

rpc_test_done "EnsureGpuReady/AttestGpu tests"
