#!/usr/bin/env bash
# EnsureGpuReady on the HGX PPCIe board of the fakes (8 H100 GPUs, 4 LS10 NVSwitches;
# tests/ppcie/make_board.sh, the gate's passing configuration of tests/ppcie/test_gate_board.sh):
# a boot that passed in PPCIe mode is ready while NVML reports protected PCIe and the ready
# state set; a lost ready state is re-attested with the NVSwitches collected again through the
# gate config's nscq (12 devices and the topology in the re-attestation bundle, 4 NVSwitches
# in its event); NVML reporting single-GPU CC mode now is refused, nothing re-attested.
# The other direction (a CC boot, NVML reporting PPCIe now) is in test_rpc_ensure.sh.
# Usage: test_rpc_ensure_ppcie.sh PATH/TO/dstack-gpu-attest LIBFAKE_NVML LIBFAKE_NSCQ
set -u
bin=$1
fake=$2
nscq=$3
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
rpc_test_init
command -v curl >/dev/null || { echo "curl not installed: skipped"; exit 77; }
command -v jq >/dev/null || { echo "jq not installed: skipped"; exit 77; }
board=$(cd "$(dirname "$0")/../ppcie" && pwd)/make_board.sh
export DGA_FIXTURES=$fx
export DGA_FAKE_NVML_SCENARIO=$tmp/b/nvml.json DGA_FAKE_NSCQ_SCENARIO=$tmp/b/nscq.json
log=$tmp/log/runtime_events.log

# The gate's passing configuration on the board (test_gate_board.sh): the 545.00 GPU RIMs and
# the LS10 RIM, at a time both RIM signer chains allow under the expired-signers policy.
mkdir -p "$tmp/rims"
cp "$fx"/gpu/h100_545.00/rims/*.xml "$fx"/nvswitch/ls10_96.10.55.00.01/rims/*.xml "$tmp/rims/"
printf '{"rim_dir":"%s","nvml":"%s","nscq":"%s","sysfs_pci":"%s","run_dir":"%s","event_log_dir":"%s","tdx_sysfs_dir":"%s","tdx_device":"%s","event_backend":"sim:%s","test_device_root":"%s","verify_at":"2026-11-01T00:00:00Z","policy":"%s"}\n' \
    "$tmp/rims" "$fake" "$nscq" "$tmp/b/pci" "$tmp/run" "$tmp/log" "$tmp/no-tdx" "$tmp/no-tdx-dev" \
    "$tmp/rtmr3.bin" "$fx/testpki/root.pem" "$fx/policies/offline_expired_rim_signers.json" \
    >"$tmp/gate.json"
# make_board [KNOB...]: the board's scenarios, the fake NVML's ready state in a file (so the
# state the gate sets from a child is the one the service reads) and its sets recorded.
make_board() {
    "$board" "$tmp/b" --gpu-report 545 \
        --nvml-extra "\"ready_record\":\"$tmp/ready.txt\",\"ready_state_file\":\"$tmp/ready_state\"" \
        "$@" || { bad "make_board.sh $*"; exit 1; }
}
count() { [ -e "$2" ] && grep -c -- "$1" "$2"; [ -e "$2" ] || echo 0; } # lines of FILE holding PATTERN
ensure() { call "$1" 200 -X POST 'http://dstack/EnsureGpuReady?json'; }
reatt_payload() { grep -F '"event":"gpu-reattestation"' "$log" | sed 's/.*"payload":"\([^"]*\)".*/\1/' | base64 -d; }

make_board
"$bin" gate --config "$tmp/gate.json" >"$tmp/gate.out" 2>&1 || { bad "gate: $(cat "$tmp/gate.out")"; exit 1; }
grep -qF 'gate: PASS: 8 GPU(s), 4 NVSwitch(es) attested (PPCIe, topology checked)' "$tmp/gate.out" ||
    bad "the boot gate's pass line: $(cat "$tmp/gate.out")"
[ "$(cat "$tmp/ready_state")" = 1 ] || bad "the boot gate did not set the ready state"
start_serve "$tmp/gate.json"

ensure "EnsureGpuReady, PPCIe boot, ready"
is_body '{"ready":true,"outcome":"already-ready","reason":"","reattestation_sha256":""}' "already-ready in PPCIe mode"
call "GetGpuAttestation, the state in PPCIe mode" 200 http://dstack/GetGpuAttestation
body_has '"state":{"cc_mode":"ppcie","ready":true,' "the state reads ppcie"

# the ready state lost: the whole PPCIe gate again, NSCQ included, under a fresh nonce
echo 0 >"$tmp/ready_state"
ensure "EnsureGpuReady, PPCIe, state lost"
re=$tmp/run/reattestation-1.json
sha=$(sha256sum "$re" 2>/dev/null | cut -d' ' -f1)
is_body '{"ready":true,"outcome":"reattested","reason":"","reattestation_sha256":"'"$sha"'"}' "reattested in PPCIe mode"
[ "$(cat "$tmp/ready_state")" = 1 ] || bad "the PPCIe re-attestation did not set the ready state"
[ "$(count '^set 1 0' "$tmp/ready.txt")" = 2 ] || bad "sets after the re-attestation: $(cat "$tmp/ready.txt")"
[ "$(jq -r '[.evidence[].label] | join(",")' "$re" 2>/dev/null)" = "GPU-0,GPU-1,GPU-2,GPU-3,GPU-4,GPU-5,GPU-6,GPU-7,SWITCH-0,SWITCH-1,SWITCH-2,SWITCH-3" ] ||
    bad "re-attestation evidence: 8 GPUs then 4 NVSwitches: $(jq -c '[.evidence[].label]' "$re" 2>/dev/null)"
[ "$(jq -r '"\(.gate.mode) \(.mode) \(.topology.result) \(.verdict.pass)"' "$re" 2>/dev/null)" = "ppcie ppcie pass true" ] ||
    bad "re-attestation bundle mode, topology, verdict: $(jq -c '[.gate.mode, .mode, .topology.result, .verdict]' "$re" 2>/dev/null)"
boot_nonce=$(jq -r '.nonce' "$tmp/run/evidence.json")
if [ -z "$boot_nonce" ] || [ "$boot_nonce" = null ] || [ "$(jq -r '.nonce' "$re")" = "$boot_nonce" ]; then
    bad "re-attestation nonce: boot $boot_nonce, re-attestation $(jq -r '.nonce' "$re")"
fi
[ "$(count gpu-reattestation "$log")" = 1 ] || bad "gpu-reattestation events: $(count gpu-reattestation "$log")"
reatt_payload | grep -qF '"devices":8,"cc_mode":"ppcie",' || bad "re-attestation payload devices, cc_mode: $(reatt_payload)"
reatt_payload | grep -qF ',"nvswitches":4,' || bad "re-attestation payload nvswitches 4: $(reatt_payload)"
reatt_payload | grep -qF "\"evidence_sha256\":\"$sha\"" || bad "the gpu-reattestation event does not commit to reattestation-1.json"

# lost again, and NVML now reports single-GPU CC mode: not what the PPCIe boot attested
echo 0 >"$tmp/ready_state"
make_board --cc 1,0
ensure "EnsureGpuReady, PPCIe boot, CC mode now"
is_body '{"ready":false,"outcome":"refused","reason":"cc-mode: on (ccFeature 1, environment 2, devToolsMode 0, multiGpuMode 0)","reattestation_sha256":""}' "CC mode after a PPCIe boot"
[ "$(cat "$tmp/ready_state")" = 0 ] || bad "ready state set in CC mode after a PPCIe boot"
[ "$(count gpu-reattestation "$log")" = 1 ] || bad "re-attested in CC mode after a PPCIe boot"
[ -e "$tmp/run/reattestation-2.json" ] && bad "a re-attestation bundle in CC mode after a PPCIe boot"

# protected PCIe again, and the re-attestation's NVSwitch collection fails (NSCQ refuses the
# attestation report): refused with the gate's reason, the state stays off
make_board --nscq-extra '"fail":{"call":"nscq_session_path_observe","path":"attestation","rc":-7,"switch":3}'
ensure "EnsureGpuReady, PPCIe, NSCQ fails in the re-attestation"
body_has '{"ready":false,"outcome":"refused","reason":"re-attestation failed (reattestation-2.json): nvswitch: nscq: nscq-driver: nscq_session_path_observe /' "NSCQ failure refused"
[ "$(jq -r '"\(.gate.step) \(.verdict.pass)"' "$tmp/run/reattestation-2.json" 2>/dev/null)" = "nscq false" ] ||
    bad "the failed re-attestation's bundle: $(jq -c '[.gate.step, .verdict.pass]' "$tmp/run/reattestation-2.json" 2>/dev/null)"
[ "$(cat "$tmp/ready_state")" = 0 ] || bad "ready state set by a re-attestation whose NSCQ failed"
[ "$(count gpu-reattestation "$log")" = 1 ] || bad "an event for a re-attestation whose NSCQ failed"

rpc_test_done "EnsureGpuReady PPCIe tests"
