#!/usr/bin/env bash
# The nvattest drop-in's `--device nvswitch`, `collect-evidence` and `attest --device gpu` in
# the gate's PPCIe mode (docs/nvattest.md) on the fake NVML and the fake NSCQ, on the HGX PPCIe
# board of tests/ppcie/make_board.sh (8 GPUs, 4 LS10 NVSwitches re-signing the real LS10
# report, whose measurements the real LS10 BIOS RIM in
# tests/fixtures/nvswitch/ls10_96.10.55.00.01/rims still matches: the fake patches only opaque
# fields). Every case asserts the exit status, the result code on stdout and the reason.
# Usage: test_nvattest_nvswitch.sh PATH/TO/dstack-gpu-attest LIBFAKE_NVML LIBFAKE_NSCQ
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../cli/lib.sh
. "$here/../cli/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../ppcie/lib.sh
. "$here/../ppcie/lib.sh"
board_init "$@"

N=$(printf '5c%.0s' $(seq 32))
OTHER=$(printf 'cd%.0s' $(seq 32))
RIMS=$fx/nvswitch/ls10_96.10.55.00.01/rims
RIM_ID=NV_SWITCH_BIOS_5612_0002_890_9610550001
export DSTACK_GPU_ATTEST_NVATTEST_CONFIG=$tmp/nvattest.json
printf '{"version":1,"ocsp":"not-required"}' >"$tmp/policy.json"
mkdir -p "$tmp/emptyrims"

bad() { echo "FAIL $*"; failures=$((failures + 1)); }
# [POLICY=F|builtin] [TIMEOUT=MS] [LIB=NSCQ] [EXTRA=MEMBERS] [RIM_DIR=D] [AT=TIME] config: the
# drop-in's configuration
config() {
    local policy=${POLICY:-$tmp/policy.json}
    [ "$policy" = builtin ] && policy="" || policy="\"policy\":\"$policy\","
    printf '{"rim_dir":"%s","nvml":"%s","nscq":"%s","sysfs_pci":"%s","test_device_root":"%s","verify_at":"%s",%s"collect_timeout_ms":%s%s}\n' \
        "${RIM_DIR:-$RIMS}" "$nvml" "${LIB:-$nscq}" "$tmp/b/pci" "$fx/testpki/root.pem" \
        "${AT:-2026-06-01T00:00:00Z}" "$policy" "${TIMEOUT:-20000}" "${EXTRA:+,$EXTRA}" >"$tmp/nvattest.json"
}
board() { rm -rf "$tmp/b" && "$here/../ppcie/make_board.sh" "$tmp/b" "$@" || bad "make_board.sh $*"; }
field() { jq -r "$1" "$tmp/out"; }
SW=(attest --device nvswitch --verifier local --nonce "$N" --format json)
LABEL0=SWITCH-505152535455565758595a5b5c5d5e00

# refused NAME CODE MESSAGE REASON: the exact result code, the message, the reason on stderr
refused() {
    [ "$(field .result_code)" = "$2" ] || bad "$1: result_code $(field .result_code), want $2"
    field .result_message | grep -qF -- "$3" || bad "$1: result_message '$(field .result_message)' lacks '$3'"
    expect err "nvattest: $4" "$1 reason"
    [ "$(grep -c '' "$tmp/err")" = 1 ] || bad "$1: stderr is not one line"
    [ "$(grep -c '' "$tmp/out")" = 1 ] || bad "$1: stdout is not one line"
}
# nscq_refused NAME CODE REASON: an NSCQ failure prints no evidence at all
nscq_refused() {
    refused "$1" "$2" "$3" "$3"
    [ "$(jq 'has("evidences") or has("evidence")' "$tmp/out")" = false ] || bad "$1: evidence printed"
    [ "$(jq -c '[.claims, .detached_eat]' "$tmp/out")" = '[{},{}]' ] || bad "$1: claims or token printed"
}

# ---- collect-evidence: nvattest's wrapper, the library's serializers ----
board
config
run 0 "collect-evidence --device nvswitch: 4 switches" -- nvattest collect-evidence --device nvswitch \
    --nonce "$N" --format json && cp "$tmp/out" "$tmp/switches.json"
[ "$(jq '.evidences | length' "$tmp/switches.json")" = 4 ] || bad "4 switch items"
[ "$(jq -c '[.result_code, .result_message]' "$tmp/switches.json")" = '[0,"Ok"]' ] || bad "result_code/message"
[ "$(jq -r '[.evidences[] | [.arch, .nonce] | join(":")] | unique | join(",")' "$tmp/switches.json")" = "LS10:$N" ] ||
    bad "every item LS10 on the nonce"
[ "$(jq -r '[.evidences[] | (has("certificate") and has("evidence"))] | all' "$tmp/switches.json")" = true ] ||
    bad "items lack certificate or evidence"
expect_empty err "collect-evidence nvswitch stderr"
# the same items as collect --nscq (one serializer): all but the freshly signed report
run 0 "collect --nscq, for comparison" -- collect --nvml "$nvml" --nscq "$nscq" --sysfs "$tmp/b/pci" \
    --nonce "$N" --out "$tmp/collect.json"
[ "$(jq -c '[.evidences[] | del(.evidence)]' "$tmp/switches.json")" = \
    "$(jq -c '[.switches.evidences[] | del(.evidence)]' "$tmp/collect.json")" ] ||
    bad "collect-evidence's switch items differ from collect --nscq's"
run 0 "collect-evidence --device gpu: 8 GPUs" -- nvattest collect-evidence --device gpu --nonce "$N" &&
    cp "$tmp/out" "$tmp/gpus.json"
[ "$(jq '.evidences | length' "$tmp/gpus.json")" = 8 ] || bad "8 GPU items"
run 0 "evidence verify accepts the switch items" -- evidence verify --evidence "$tmp/switches.json" \
    --nonce "$N" --trust-root "$fx/testpki/root.pem"
run 0 "topology check accepts both" -- topology check --gpu-evidence "$tmp/gpus.json" \
    --switch-evidence "$tmp/switches.json" --nonce "$N" --trust-root "$fx/testpki/root.pem"
expect_line out "topology: expected 8 GPUs and 4 NVSwitches, seen 8 and 4: PASS" "topology pass"
run 0 "collect-evidence without --nonce: a fresh one" -- nvattest collect-evidence --device nvswitch
[ "$(field .nonce)" != "$N" ] && [ "$(field .nonce | wc -c)" = 65 ] || bad "fresh nonce $(field .nonce)"
jq '.multi_gpu_mode = 0' "$tmp/b/nvml.json" >"$tmp/b/cc_off.json"
DGA_FAKE_NVML_SCENARIO=$tmp/b/cc_off.json run 253 "collect-evidence --device gpu: neither CC nor PPCIe" -- \
    nvattest collect-evidence --device gpu --nonce "$N" &&
    refused "gpu mode" 509 "cc-mode: neither CC (ccFeature 0) nor protected PCIe (multiGpuMode 0)" \
        "cc-mode: neither CC (ccFeature 0) nor protected PCIe (multiGpuMode 0)"

# ---- attest --device nvswitch ----
run 0 "attest --device nvswitch passes" -- nvattest "${SW[@]}"
[ "$(field .result_code)" = 0 ] && [ "$(field .result_message)" = Ok ] || bad "pass result"
[ "$(jq -r '[.claims[] | .["x-nvidia-device-type"]] | join(",")' "$tmp/out")" = nvswitch,nvswitch,nvswitch,nvswitch ] ||
    bad "four nvswitch claims"
[ "$(jq -r '[.claims[] | .eat_nonce] | unique | join(",")' "$tmp/out")" = "$N" ] || bad "eat_nonce"
[ "$(jq -r '[.claims[] | .measres] | unique | join(",")' "$tmp/out")" = success ] || bad "measres"
[ "$(jq -r '[.claims[] | .["x-nvidia-switch-bios-rim-version-match"]] | all' "$tmp/out")" = true ] || bad "RIM version match"
[ "$(field .verdict.pass)" = true ] && [ "$(field .nonce)" = "$N" ] || bad "verdict or nonce"
[ "$(field '.evidence | length')" = 4 ] && [ "$(field '.evidence[0].label')" = "$LABEL0" ] || bad "raw evidence"
[ "$(field '.evidence[0].tnvl_status')" = 3 ] || bad "TNVL status recorded"
[ "$(field '.collateral.rims[0].id')" = "$RIM_ID" ] || bad "the RIM used: $(field '.collateral.rims[0].id')"
[ "$(field .trust_roots.device)" = test ] || bad "test device root"
[ "$(field .relying_party_policy)" = null ] || bad "no relying-party policy"
expect_empty err "attest pass stderr"
# TNVL is collected, never checked (as nvattest); the gate enforces LOCKED
board --tnvl 2 -1 --tnvl 3 0
run 0 "attest: TNVL unknown and disabled are not checked" -- nvattest "${SW[@]}"
[ "$(field '[.evidence[].tnvl_status] | join(",")')" = "3,3,-1,0" ] || bad "TNVL recorded as read"
board

run 104 "the BIOS RIM missing: 104" -- nvattest "${SW[@]}" --rim-store dir --rim-dir "$tmp/emptyrims" &&
    refused "missing RIM" 104 "RIM not found" \
        "SWITCH-0 ($LABEL0): bios-rim: rim-not-found: RIM not found: $RIM_ID"
run 105 "a tampered BIOS RIM: 105" -- nvattest "${SW[@]}" --rim-store dir \
    --rim-dir "$fx/nvswitch/ls10_96.10.55.00.01/rims_tampered" &&
    refused "tampered RIM" 105 "digest" "SWITCH-0 ($LABEL0): bios-rim: rim-digest-mismatch: the RIM reference digest does not match the document (content changed after signing): $RIM_ID"
board --switch-nonce 2 "$OTHER"
run 91 "a switch signs another nonce: 603" -- nvattest "${SW[@]}" &&
    refused "switch nonce" 603 "nonce" "SWITCH-2 (SWITCH-505152535455565758595a5b5c5d5e02): nonce: nonce-mismatch: nonce mismatch"
board
run 0 "switch_relying_party_policy.rego: its document, after the configured policy" -- \
    nvattest "${SW[@]}" --relying-party-policy "$fx/policies/switch_relying_party_policy.rego"
[ "$(field .relying_party_policy.equivalent_policy.path)" = builtin:switch_relying_party_policy.json ] ||
    bad "equivalent not recorded"
[ "$(field .relying_party_policy.equivalent_policy.verdict.result)" = pass ] || bad "equivalent verdict"
[ "$(field .relying_party_policy.sha256)" = "$(sha256sum "$fx/policies/switch_relying_party_policy.rego" | cut -d' ' -f1)" ] ||
    bad "the Rego's SHA-256"
run 11 "rp-policy-permissive.rego admits no NVSwitch: 11" -- \
    nvattest "${SW[@]}" --relying-party-policy "$fx/policies/rp-policy-permissive.rego" &&
    refused "GPU-only RP policy" 11 "Relying party policy mismatch" \
        "relying-party policy rp-policy-permissive.rego (builtin:rp-policy-permissive.json): devices: NVSwitch count is 4, policy requires exactly 0"
printf '{"version":1,"ocsp":"not-required","switch_bios_versions":["96.10.73.00.01"]}' >"$tmp/bios.json"
POLICY=$tmp/bios.json config
run 11 "the configured policy refuses: 11" -- nvattest "${SW[@]}" &&
    refused "policy" 11 "Relying party policy mismatch" \
        'policy: SWITCH-0: x-nvidia-switch-bios-version is "96.10.55.00.01", policy allows ["96.10.73.00.01"]'
config
# eat_key: the token is signed for a passing set only
openssl ecparam -name secp384r1 -genkey -noout -out "$tmp/eat.pem" 2>/dev/null
EXTRA="\"eat_key\":\"$tmp/eat.pem\",\"eat_kid\":\"switch-test\"" config
run 0 "eat_key: a signed detached EAT" -- nvattest "${SW[@]}"
[ "$(field '.detached_eat[0][0]')" = JWT ] && [ "$(field '.detached_eat | length')" = 2 ] ||
    bad "signed EAT: $(jq -c .detached_eat "$tmp/out" | head -c 200)"
run 104 "eat_key: no token for a refused set" -- nvattest "${SW[@]}" --rim-store dir --rim-dir "$tmp/emptyrims"
[ "$(jq -c .detached_eat "$tmp/out")" = '{}' ] || bad "a token for a refused set"
config
# OCSP as the GPU path: --ocsp-url asks that responder online (nothing listens on port 9)
POLICY=builtin config
run 202 "--ocsp-url under the built-in policy: asked, unreachable: 202" -- nvattest "${SW[@]}" \
    --ocsp-url http://127.0.0.1:9/ocsp &&
    refused "ocsp" 202 "could not be reached" "SWITCH-0 ($LABEL0): ocsp-device-chain: collateral-unreachable: "
[ "$(field .collateral.ocsp_source.url)" = http://127.0.0.1:9/ocsp ] || bad "--ocsp-url not the source"
config

# ---- the PCI inventory: NSCQ must see exactly its NVSwitches ----
board --nscq-extra '"switches":3'
jq '.switches = 3' "$tmp/b/nscq.json" >"$tmp/b/n3.json"
DGA_FAKE_NSCQ_SCENARIO=$tmp/b/n3.json run 247 "NSCQ sees 3 of 4: 503" -- nvattest "${SW[@]}" &&
    nscq_refused "count" 503 "collect: inventory-mismatch: NSCQ sees 3 NVSwitch(es), the PCI inventory 4"
jq '.switches = 0' "$tmp/b/nscq.json" >"$tmp/b/n0.json"
DGA_FAKE_NSCQ_SCENARIO=$tmp/b/n0.json run 89 "NSCQ sees none: 601" -- nvattest "${SW[@]}" &&
    nscq_refused "none" 601 "collect: NSCQ found no NVSwitch (nscq_session_path_observe /drv/nvswitch/{device}/uuid)"

# ---- NSCQ failures: 600 (init) / 601, the function and code named, no evidence ----
# nscq_case EXIT CODE NAME INJECTION REASON: both commands refuse alike
nscq_case() {
    local want=$1 code=$2 name=$3 inj=$4 reason=$5
    board --nscq-extra "$inj"
    run "$want" "attest: $name: $code" -- nvattest "${SW[@]}" && nscq_refused "attest $name" "$code" "$reason"
    run "$want" "collect-evidence: $name: $code" -- nvattest collect-evidence --device nvswitch --nonce "$N" &&
        nscq_refused "collect-evidence $name" "$code" "$reason"
}
OBS="nscq_session_path_observe"
nscq_case 88 600 "session create fails" '"fail":{"call":"nscq_session_create","rc":-6}' \
    "collect: nscq-unsupported-driver: nscq_session_create: NSCQ: unsupported driver (rc -6) (NSCQ code -6)"
nscq_case 89 601 "UUID enumeration fails" '"fail":{"call":"nscq_session_path_observe","path":"/uuid","rc":-7}' \
    "collect: nscq-driver: $OBS /drv/nvswitch/{device}/uuid: NSCQ: driver error (rc -7) (NSCQ code -7)"
nscq_case 89 601 "a label fails" '"fail":{"call":"nscq_uuid_to_label","rc":-2,"switch":1}' \
    "collect: nscq-invalid-uuid: nscq_uuid_to_label /drv/nvswitch/{device}/uuid (NVSwitch 1): NSCQ: invalid UUID (rc -2) (NSCQ code -2)"
nscq_case 89 601 "arch fails" '"fail":{"call":"nscq_session_path_observe","path":"arch","rc":-5}' \
    "collect: nscq-unexpected-value: $OBS /{nvswitch}/id/arch: NSCQ: unexpected value (rc -5) (NSCQ code -5)"
nscq_case 89 601 "set_input fails" '"fail":{"call":"nscq_session_set_input","rc":-4,"switch":3}' \
    "collect: nscq-overflow: nscq_session_set_input (NVSwitch 3 SWITCH-505152535455565758595a5b5c5d5e03): NSCQ: overflow (rc -4) (NSCQ code -4)"
nscq_case 89 601 "the report fails" '"fail":{"call":"nscq_session_path_observe","path":"attestation_report","rc":-8,"switch":0}' \
    "collect: nscq-driver-timeout: $OBS /$LABEL0/config/attestation_report (NVSwitch 0 $LABEL0): NSCQ: the driver timed out (rc -8) (NSCQ code -8)"
nscq_case 89 601 "the certificate fails in its callback" '"fail":{"call":"nscq_session_path_observe","path":"certificate","rc":-7,"switch":2,"callback":true}' \
    "collect: nscq-driver: $OBS callback /SWITCH-505152535455565758595a5b5c5d5e02/config/certificate (NVSwitch 2 SWITCH-505152535455565758595a5b5c5d5e02): NSCQ: driver error (rc -7) (NSCQ code -7)"
nscq_case 89 601 "pcie_mode fails" '"fail":{"call":"nscq_session_path_observe","path":"pcie_mode","rc":-128,"switch":1}' \
    "collect: nscq-unspecified: $OBS /SWITCH-505152535455565758595a5b5c5d5e01/config/pcie_mode (NVSwitch 1 SWITCH-505152535455565758595a5b5c5d5e01): NSCQ: unspecified error (rc -128) (NSCQ code -128)"
nscq_case 90 602 "an LR10 switch" '"arch":1' \
    "collect: nscq-arch: $OBS callback /{nvswitch}/id/arch (NVSwitch 0 $LABEL0): the NVSwitch architecture is not LS10"
TIMEOUT=2000 config
nscq_case 89 601 "a hang times out" '"hang":{"call":"nscq_session_set_input","ms":30000}' \
    "collect: nscq-timeout: collection child: NSCQ did not answer before the collection deadline"
config
board
LIB=/nonexistent/libnvidia-nscq.so.2 config
run 88 "the NSCQ library missing: 600" -- nvattest "${SW[@]}" &&
    nscq_refused "missing library" 600 "collect: nscq-load: dlopen: the NSCQ library cannot be loaded: /nonexistent/libnvidia-nscq.so.2"
config
jq 'del(.nscq)' "$tmp/nvattest.json" >"$tmp/nonscq.json"
DSTACK_GPU_ATTEST_NVATTEST_CONFIG=$tmp/nonscq.json LD_LIBRARY_PATH=/nonexistent run 88 \
    "no \"nscq\": libnvidia-nscq.so.2, as nvattest" -- nvattest "${SW[@]}" &&
    expect err "nscq-load: dlopen: the NSCQ library cannot be loaded: libnvidia-nscq.so.2" "default library"
jq '.nscq = 7' "$tmp/nvattest.json" >"$tmp/bad.json"
DSTACK_GPU_ATTEST_NVATTEST_CONFIG=$tmp/bad.json run 4 "\"nscq\" not a path: 4" -- nvattest "${SW[@]}" &&
    refused "nscq key" 4 "key 'nscq': a library path" "config $tmp/bad.json: key 'nscq': a library path (a non-empty string of at most 4096 bytes)"
config

# ---- attest --device gpu on the PPCIe board: the gate's PPCIe mode, through "nscq" ----
# As tests/ppcie/test_gate_board.sh: the GPUs re-sign the 545.00 report (whose RIMs exist),
# appraised with the switches' RIM at 2026-11-01 under the policy that accepts the GPU RIMs'
# expired signers (and needs no OCSP).
mkdir -p "$tmp/gpurims"
cp "$fx"/gpu/h100_545.00/rims/*.xml "$RIMS"/*.xml "$tmp/gpurims/"
GPU=(attest --device gpu --verifier local --nonce "$N" --format json)
gpu_config() {
    RIM_DIR=$tmp/gpurims AT=2026-11-01T00:00:00Z POLICY=$fx/policies/offline_expired_rim_signers.json config
}
# gpu_board WANT NAME [KNOB...]: a fresh 545.00 board, then `attest --device gpu`
gpu_board() {
    local want=$1 name=$2
    shift 2
    board --gpu-report 545 "$@"
    run "$want" "$name" -- nvattest "${GPU[@]}"
}
# gpu_refused NAME CODE STEP MESSAGE REASON: the exact result code and message, the one reason
# line on stderr, the refused bundle at the gate's step
gpu_refused() {
    [ "$(field .result_code)" = "$2" ] || bad "$1: result_code $(field .result_code), want $2"
    [ "$(field .result_message)" = "$4" ] || bad "$1: result_message '$(field .result_message)', want '$4'"
    expect_line err "nvattest: $5" "$1 reason"
    [ "$(grep -c '' "$tmp/err")" = 1 ] || bad "$1: stderr is not one line"
    [ "$(grep -c '' "$tmp/out")" = 1 ] || bad "$1: stdout is not one line"
    [ "$(field .gate.step)" = "$3" ] || bad "$1: gate.step $(field .gate.step), want $3"
    [ "$(field .verdict.pass)" = false ] || bad "$1: verdict not false"
}
gpu_config
gpu_board 0 "attest --device gpu on the PPCIe board: GPUs and NVSwitches pass"
[ "$(field .result_code)" = 0 ] && [ "$(field .result_message)" = Ok ] || bad "gpu pass result"
[ "$(field '.evidence | length')" = 12 ] || bad "12 evidence entries: $(field '.evidence | length')"
[ "$(field '[.evidence[].label] | join(",")')" = "GPU-0,GPU-1,GPU-2,GPU-3,GPU-4,GPU-5,GPU-6,GPU-7,SWITCH-0,SWITCH-1,SWITCH-2,SWITCH-3" ] ||
    bad "evidence order: GPUs first"
[ "$(field '[.evidence[8:][] | .tnvl_status] | join(",")')" = 3,3,3,3 ] || bad "switch TNVL recorded"
[ "$(field .gate.mode)" = ppcie ] && [ "$(field .mode)" = ppcie ] || bad "mode: $(field .gate.mode) $(field .mode)"
[ "$(field .topology.result)" = pass ] || bad "topology: $(field .topology.result)"
[ "$(field '[.devices[].result] | unique | join(",")')" = appraised ] || bad "every device appraised"
[ "$(field '[.claims[] | .["x-nvidia-device-type"]] | join(",")')" = gpu,gpu,gpu,gpu,gpu,gpu,gpu,gpu,nvswitch,nvswitch,nvswitch,nvswitch ] ||
    bad "claims: 8 GPUs, 4 NVSwitches"
[ "$(field .nonce)" = "$N" ] && [ "$(field .gate.dry_run)" = true ] && [ "$(field .verdict.pass)" = true ] ||
    bad "nonce, dry run, verdict"
[ "$(grep -c '' "$tmp/out")" = 1 ] || bad "the bundle is not one line"
expect_empty err "gpu pass stderr"
# without "nscq" the PPCIe board is refused, naming nvattest.json's key, not the gate's config
jq 'del(.nscq)' "$tmp/nvattest.json" >"$tmp/gpu_nonscq.json"
NO_NSCQ="config $tmp/gpu_nonscq.json: the CC settings put this machine in PPCIe mode (8 GPU(s), 4 NVSwitch(es)), whose NVSwitches are attested through NSCQ: set \"nscq\" to the NSCQ library (libnvidia-nscq.so.2)"
DSTACK_GPU_ATTEST_NVATTEST_CONFIG=$tmp/gpu_nonscq.json run 4 "attest --device gpu without \"nscq\": 4" -- \
    nvattest "${GPU[@]}" && gpu_refused "no nscq" 4 cc-mode "$NO_NSCQ" "$NO_NSCQ"
[ "$(field .gate.reason)" = "$NO_NSCQ" ] && [ "$(field '.verdict.reasons | join("|")')" = "$NO_NSCQ" ] ||
    bad "no nscq: the bundle's reasons are not the drop-in's: $(field .gate.reason)"
grep -qF "gate config" "$tmp/out" "$tmp/err" && bad "no nscq: the gate's config is named"
[ "$(field '.evidence | length')" = 0 ] || bad "no nscq: evidence collected"
# a switch not LOCKED: refused before the appraisal, naming the switch (as the gate)
gpu_board 247 "attest --device gpu: a switch TNVL -1: 503" --tnvl 2 -1 &&
    gpu_refused "tnvl -1" 503 nscq \
        "SWITCH-2 (SWITCH-505152535455565758595a5b5c5d5e02): nscq: topology-switch-not-locked: NSCQ TNVL status is -1 (unknown), the gate requires exactly 3 (locked)" \
        "SWITCH-2 (SWITCH-505152535455565758595a5b5c5d5e02): nscq: topology-switch-not-locked: NSCQ TNVL status is -1 (unknown), the gate requires exactly 3 (locked)"
gpu_board 247 "attest --device gpu: NSCQ sees 3 of 4 NVSwitches: 503" --nscq-extra '"switches":3' &&
    gpu_refused "nscq count" 503 nscq \
        "devices: nscq: inventory-mismatch: NSCQ sees 3 NVSwitch(es), the PCI inventory 4" \
        "devices: nscq: inventory-mismatch: NSCQ sees 3 NVSwitch(es), the PCI inventory 4"
gpu_board 247 "attest --device gpu: a GPU links to 3 NVSwitches: 503" --gpu-links 5 0,1,2 &&
    gpu_refused "gpu links" 503 appraise "a GPU links to another number of NVSwitches than expected" \
        "topology: topology-gpu-switch-count: GPU-5 links to 3 distinct NVSwitches, expected 4"
[ "$(field .topology.result)" = fail ] || bad "gpu links: the bundle's topology $(field .topology.result)"
board
config

# ---- usage ----
run 4 "--device foo refused by attest" -- nvattest attest --device foo --verifier local &&
    refused "attest foo" 4 "--device: 'foo' is not one of gpu, nvswitch" "--device: 'foo' is not one of gpu, nvswitch"
run 4 "--device foo refused by collect-evidence" -- nvattest collect-evidence --device foo &&
    refused "collect foo" 4 "--device: 'foo' is not one of gpu, nvswitch" "--device: 'foo' is not one of gpu, nvswitch"
run 4 "collect-evidence takes no --rim-dir" -- nvattest collect-evidence --device nvswitch --rim-store dir --rim-dir /x &&
    refused "collect rim-dir" 4 "--rim-store: attest's, not collect-evidence's" "--rim-store: attest's, not collect-evidence's"

cli_done "nvattest --device nvswitch cases"
