#!/usr/bin/env bash
# The boot gate on an HGX PPCIe board (8 H100 GPUs, 4 LS10 NVSwitches) on the fake NVML and the
# fake NSCQ (scenarios from make_board.sh): the CC settings say protected PCIe, the gate collects
# the NVSwitches through NSCQ for the GPUs' nonce, appraises all 12 devices in one set with the
# topology, and only then emits gpu-attestation and sets the ready state. The GPUs re-sign the
# 545.00 report (whose RIMs exist) with the PPCIe TLVs added by the fake NVML; the NVSwitches
# the LS10 96.10.55 report (its RIM in tests/fixtures/nvswitch). The RIM signer chains of the
# two are valid at no common time: the verification time is 2026-11-01 under the policy that
# accepts the GPU RIMs' expired signers (tests/fixtures/policies/offline_expired_rim_signers.json,
# which also says "ocsp": "not-required": the test PKI has no responder here).
# Every refusal asserts the exit status, the exact reason line, the bundle's step and verdict,
# no gpu-attestation event and no ready state.
#   test_gate_board.sh BINARY LIBFAKE_NVML LIBFAKE_NSCQ
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cli/lib.sh"
. "$here/lib.sh"
board_init "$@"
bad() { echo "FAIL $1"; failures=$((failures + 1)); }

mkdir -p "$tmp/rims"
cp "$fx"/gpu/h100_545.00/rims/*.xml "$fx"/nvswitch/ls10_96.10.55.00.01/rims/*.xml "$tmp/rims/"
POLICY=$fx/policies/offline_expired_rim_signers.json
OTHER=$(printf 'cd%.0s' $(seq 32))
LABEL=SWITCH-505152535455565758595a5b5c5d5e0

# config [EXTRA-MEMBERS] [nscq]: the board's gate config; "-" as the second argument leaves
# out the nscq key.
config() {
    local nscq_key="\"nscq\":\"$nscq\","
    [ "${2:-}" = - ] && nscq_key=""
    printf '{"rim_dir":"%s","nvml":"%s",%s"sysfs_pci":"%s","run_dir":"%s","event_log_dir":"%s","tdx_sysfs_dir":"%s","tdx_device":"%s","event_backend":"sim:%s","test_device_root":"%s","verify_at":"2026-11-01T00:00:00Z","policy":"%s","nscq_timeout_ms":%s%s}\n' \
        "$tmp/rims" "$nvml" "$nscq_key" "$tmp/b/pci" "$tmp/run" "$tmp/log" "$tmp/no-tdx" \
        "$tmp/no-tdx-dev" "$tmp/rtmr3.bin" "$fx/testpki/root.pem" "$POLICY" "${TIMEOUT:-60000}" \
        "${1:+,$1}" >"$tmp/gate.json"
}
# board WANT NAME [KNOB...]: a fresh board (make_board.sh on the 545.00 report), run dir and log,
# then the gate.
board() {
    local want=$1 name=$2
    shift 2
    rm -rf "$tmp/b" "$tmp/run" "$tmp/log" "$tmp/rtmr3.bin" "$tmp/ready.txt"
    "$here/make_board.sh" "$tmp/b" --gpu-report 545 --nvml-extra "\"ready_record\":\"$tmp/ready.txt\"" \
        "$@" || { bad "$name: make_board.sh"; return 1; }
    [ -f "$tmp/gate.json" ] || config
    run "$want" "$name" -- gate --config "$tmp/gate.json"
}
bundle() { cat "$tmp/run/evidence.json" 2>/dev/null; }
bq() { jq -r "$1" "$tmp/run/evidence.json" 2>/dev/null; }
log_has() { grep -qF "\"event\":\"$1\"" "$tmp/log/runtime_events.log" 2>/dev/null; }
payload() {
    grep -F '"event":"gpu-attestation"' "$tmp/log/runtime_events.log" |
        sed 's/.*"payload":"\([^"]*\)".*/\1/' | base64 -d
}
# refused NAME STEP REASON: the exact reason line, then nothing measured or set after it.
refused() {
    expect_line err "dstack-gpu-attest: gate: $3" "$1 reason"
    log_has gpu-attestation && bad "$1: a gpu-attestation line was logged"
    [ -s "$tmp/ready.txt" ] && bad "$1: the ready state was touched: $(cat "$tmp/ready.txt")"
    [ "$(bq .verdict.pass)" = false ] || bad "$1: bundle verdict not false"
    [ "$(bq .gate.step)" = "$2" ] || bad "$1: bundle step $(bq .gate.step), want $2"
    [ "$(bq .gate.reason)" = "$3" ] || bad "$1: bundle reason $(bq .gate.reason)"
}

# ---- the board passes: 12 devices, the topology, then the event and the ready state ----
config
board 0 "8x4 board passes the gate"
expect_line out "gate: PASS: 8 GPU(s), 4 NVSwitch(es) attested (PPCIe, topology checked)" "pass line"
[ "$(bq '.evidence | length')" = 12 ] || bad "12 evidence entries: $(bq '.evidence | length')"
[ "$(bq '[.evidence[].label] | join(",")')" = "GPU-0,GPU-1,GPU-2,GPU-3,GPU-4,GPU-5,GPU-6,GPU-7,SWITCH-0,SWITCH-1,SWITCH-2,SWITCH-3" ] ||
    bad "evidence order: GPUs first"
[ "$(bq '[.evidence[8:][] | "\(.arch) \(.tnvl_status) \(.nscq_label)"] | .[3]')" = "ls10 3 ${LABEL}3" ] ||
    bad "switch evidence: arch, tnvl, label: $(bq '.evidence[11] | del(.report, .certificate_chain)')"
[ "$(bq '.evidence[8].uuid')" = 505152535455565758595a5b5c5d5e00 ] || bad "switch uuid"
[ "$(bq '[.devices[].result] | unique | join(",")')" = appraised ] || bad "every device appraised"
[ "$(bq '.devices | length')" = 12 ] || bad "12 appraised devices"
[ "$(bq .gate.mode)" = ppcie ] || bad "bundle mode: $(bq .gate.mode)"
[ "$(bq .topology.result)" = pass ] || bad "bundle topology: $(bq .topology.result)"
[ "$(bq .mode)" = ppcie ] || bad "the set appraised in PPCIe mode: $(bq .mode)"
[ "$(bq '.topology.seen | "\(.gpus) \(.switches)"')" = "8 4" ] || bad "topology counts: $(bq .topology.seen)"
[ "$(bq .verdict.pass)" = true ] || bad "bundle verdict"
payload | grep -qF '"devices":8,"cc_mode":"ppcie",' || bad "payload devices and cc_mode: $(payload)"
payload | grep -qF ',"nvswitches":4,' || bad "payload nvswitches 4: $(payload)"
sha=$(sha256sum "$tmp/run/evidence.json" | cut -d' ' -f1)
payload | grep -qF "\"evidence_sha256\":\"$sha\"" || bad "evidence_sha256 is the bundle's"
[ "$(cat "$tmp/ready.txt" 2>/dev/null)" = "set 1 0" ] || bad "ready state set once: $(cat "$tmp/ready.txt" 2>/dev/null)"

# ---- the topology (one line: "topology: <error>: <first finding>") ----
board 1 "4 copies of one switch" --switch-pdi 1 5e57c0de00000000 --switch-pdi 2 5e57c0de00000000 \
    --switch-pdi 3 5e57c0de00000000 --position 1 0 --position 2 0 --position 3 0 &&
    refused copies appraise "topology: topology-switch-duplicate: SWITCH-1 has PDI 0x5e57c0de00000000, as SWITCH-0 does"
P=(7e570c1e00000000 7e570c1e00000001 7e570c1e00000002 7e570c1e00000003
    7e570c1e00000004 7e570c1e00000005 7e570c1e00000006 7e570c1e00000007)
board 1 "a switch names a GPU that was not attested" --switch-gpus 2 "${P[*]:0:7} 0badc0de00000008" &&
    refused unknown-gpu appraise "topology: topology-switch-gpu-set: SWITCH-2 names GPU PDI 0x0badc0de00000008, SWITCH-0 does not"
board 1 "a GPU sees 3 switches" --gpu-links 5 0,1,2 &&
    refused three appraise "topology: topology-gpu-switch-count: GPU-5 links to 3 distinct NVSwitches, expected 4"
board 1 "a CC-only GPU among PPCIe GPUs" --cc-gpu 3 &&
    refused mixed appraise "topology: topology-mixed-mode: GPU-3 is CC-only (protected PCIe status 0x55, feature flag 0, switch PDIs present) among 7 PPCIe GPUs"
board 1 "7 GPUs" --gpus 7 &&
    refused seven appraise "topology: topology-gpu-count: GPUs attested: 7, expected 8"

[ "$(bq .topology.result)" = fail ] || bad "7 GPUs: the bundle's topology fails"
[ "$(bq '.topology.findings[0].error')" = topology-gpu-count ] || bad "7 GPUs: first finding $(bq '.topology.findings[0]')"

# ---- the policy's NVSwitch count applies to the attested NVSwitches ----
jq '. + {"devices": {"gpus": {"exact": 8}, "nvswitches": {"exact": 3}}}' "$POLICY" >"$tmp/sw3.json"
POLICY=$tmp/sw3.json config
board 1 "the policy requires 3 NVSwitches, 4 attested" &&
    refused policy-count policy "devices: policy: NVSwitch count is 4, policy requires exactly 3"
POLICY=$fx/policies/offline_expired_rim_signers.json config

# ---- a switch's own report: another nonce fails the device first ----
board 1 "switch evidence on another nonce" --switch-nonce 1 "$OTHER" &&
    refused nonce appraise "SWITCH-1 (${LABEL}1): nonce: nonce-mismatch: nonce mismatch"

# ---- the NSCQ TNVL status: exactly LOCKED (3), refused before the appraisal ----
board 1 "a switch TNVL -1 (unknown)" --tnvl 2 -1 &&
    refused tnvl-1 nscq "SWITCH-2 (${LABEL}2): nscq: topology-switch-not-locked: NSCQ TNVL status is -1 (unknown), the gate requires exactly 3 (locked)"
board 1 "a switch TNVL 2 (failure)" --tnvl 0 2 &&
    refused tnvl2 nscq "SWITCH-0 (${LABEL}0): nscq: topology-switch-not-locked: NSCQ TNVL status is 2 (failure), the gate requires exactly 3 (locked)"

# ---- NSCQ's count against the PCI inventory ----
board 1 "NSCQ sees 3 NVSwitches, the inventory 4" --nscq-extra '"switches":3' &&
    refused count nscq "devices: nscq: inventory-mismatch: NSCQ sees 3 NVSwitch(es), the PCI inventory 4"

# ---- the mode ----
config "" -
board 2 "PPCIe mode without nscq in the config" &&
    refused no-nscq cc-mode "GPU-0 (0000:18:00.0): cc-mode: gate-config: PPCIe mode needs the nscq library in the gate config (ccFeature 0, devToolsMode 0, multiGpuMode 1; system-wide, 8 GPU(s))"
[ "$(bq .gate.mode)" = ppcie ] || bad "no-nscq: the mode is recorded"
config
# CC on: NVSwitches are not collected, and a GPU whose signed report says PPCIe is refused.
board 1 "CC mode with PPCIe GPU reports" --cc 1,0
expect_line err "dstack-gpu-attest: gate: GPU-0 (0000:18:00.0): mode: mode-ppcie-evidence: TLV 21 (protected PCIe status) is 0xAA" "cc-ppcie reason"
[ "$(bq .result_code)" = 503 ] || bad "cc-ppcie result code $(bq .result_code)"
log_has gpu-attestation && bad "cc-ppcie: a gpu-attestation line was logged"
[ -s "$tmp/ready.txt" ] && bad "cc-ppcie: the ready state was touched"
[ "$(bq .gate.step)" = appraise ] || bad "cc-ppcie step $(bq .gate.step)"
[ "$(bq .gate.mode)" = cc ] || bad "cc-ppcie mode $(bq .gate.mode)"
[ "$(bq '.evidence | length')" = 8 ] || bad "cc-ppcie: no NVSwitch collected"

# ---- NSCQ errors and hangs, at each call: exit 3 at step nscq, nothing measured ----
nscq_fails() { # CALL PATH REASON-START
    local what="NSCQ error at $1${2:+ $2}"
    board 3 "$what" --nscq-extra "\"fail\":{\"call\":\"$1\",\"path\":\"$2\",\"rc\":-7}" || return
    expect err "dstack-gpu-attest: gate: nvswitch: nscq: $3" "$what reason"
    log_has gpu-attestation && bad "$what: a gpu-attestation line was logged"
    [ -s "$tmp/ready.txt" ] && bad "$what: the ready state was touched"
    [ "$(bq .gate.step)" = nscq ] || bad "$what: step $(bq .gate.step)"
}
nscq_fails nscq_session_create "" "nscq-driver: nscq_session_create"
nscq_fails nscq_uuid_to_label "" "nscq-driver: nscq_uuid_to_label"
nscq_fails nscq_session_set_input "" "nscq-driver: nscq_session_set_input"
for p in uuid arch attestation certificate pcie_mode; do
    nscq_fails nscq_session_path_observe "$p" "nscq-driver: nscq_session_path_observe /"
done
expect_line err "dstack-gpu-attest: gate: nvswitch: nscq: nscq-driver: nscq_session_path_observe /${LABEL}0/config/pcie_mode (NVSwitch 0 ${LABEL}0): NSCQ: driver error (rc -7) (NSCQ code -7)" "pcie_mode error, exact"

TIMEOUT=3000 config
nscq_hangs() { # CALL PATH
    local what="NSCQ hang at $1${2:+ $2}"
    board 3 "$what" --nscq-extra "\"hang\":{\"call\":\"$1\",\"path\":\"$2\",\"ms\":60000}" || return
    expect err "dstack-gpu-attest: gate: nvswitch: nscq: nscq-timeout: collection child" "$what reason"
    log_has gpu-attestation && bad "$what: a gpu-attestation line was logged"
    [ -s "$tmp/ready.txt" ] && bad "$what: the ready state was touched"
    [ "$(bq .gate.step)" = nscq ] || bad "$what: step $(bq .gate.step)"
}
for c in nscq_session_create nscq_uuid_to_label nscq_session_set_input; do
    nscq_hangs "$c" ""
done
for p in uuid arch attestation certificate pcie_mode; do
    nscq_hangs nscq_session_path_observe "$p"
done

cli_done "gate PPCIe board tests"
