#!/usr/bin/env bash
# `gate` end to end, as systemd runs it: the fake NVML (scenario files), a PCI
# sysfs tree, the simulated register and a log directory, all built here.
# Every case asserts the exit status, the one-line reason, the bundle's verdict,
# whether the gpu-attestation log line exists, the ready-state record of the
# fake, and (when events were emitted) that replaying the log gives the register.
# Usage: test_gate_cli.sh PATH/TO/dstack-gpu-attest PATH/TO/libfake_nvml.so
set -u
bin=$1
fake=$2
fx=$(cd "${DGA_FIXTURES:-tests/fixtures}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
. "$(dirname "$0")/lib.sh"

H545=$fx/gpu/h100_545.00
AT=2024-06-01T00:00:00Z
EMPTY_HASH=44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
bad() { echo "FAIL $1"; failures=$((failures + 1)); }

pci_entry() { # DIR ADDR VENDOR DEVICE CLASS
    mkdir -p "$1/$2"
    printf '%s\n' "$3" >"$1/$2/vendor"
    printf '%s\n' "$4" >"$1/$2/device"
    printf '%s\n' "$5" >"$1/$2/class"
}
pci_entry "$tmp/pci" 0000:00:00.0 0x8086 0x1237 0x060000
pci_entry "$tmp/pci" 0000:18:00.0 0x10de 0x2330 0x030200
pci_entry "$tmp/pci" 0000:19:00.0 0x10de 0x2330 0x030200
pci_entry "$tmp/pci0" 0000:00:00.0 0x8086 0x1237 0x060000
pci_entry "$tmp/pci1" 0000:18:00.0 0x10de 0x2330 0x030200
for i in 18 19 1a 1b 1c 1d 1e 1f; do
    pci_entry "$tmp/pci8" "0000:$i:00.0" 0x10de 0x2330 0x030200
done
cp -r "$tmp/pci" "$tmp/pcivga"
pci_entry "$tmp/pcivga" 0000:00:02.0 0x1234 0x1111 0x030000
mkdir -p "$tmp/emptyrims"

printf '{"version":1,"ocsp":"not-required"}' >"$tmp/policy.json"
printf '{"version":1,"ocsp":"not-required","allow_devtools":true}' >"$tmp/devtools.json"
printf '{"version":1,"ocsp":"not-required","devices":{"gpus":{"exact":0},"nvswitches":{"exact":0}}}' >"$tmp/none.json"
printf '{"version":1,"ocsp":"not-required","devices":{"gpus":{"exact":2}}}' >"$tmp/two.json"
printf '{"version":1,"ocsp":"not-required","driver_versions":["550.90.07"]}' >"$tmp/driver550.json"

export DGA_FAKE_NVML_SCENARIO=$tmp/scenario.json
scenario() { # EXTRA-JSON-MEMBERS
    printf '{"report":"%s","chain":"%s","key":"%s","gpus":2,"ready_record":"%s"%s}\n' \
        "$H545/report.hex" "$fx/testpki/certchain.pem" "$fx/testpki/leaf.key" \
        "$tmp/ready.txt" "${1:+,$1}" >"$tmp/scenario.json"
}
# config EXTRA-JSON-MEMBERS: the test defaults, then the case's own keys (which win: later
# duplicates are rejected, so the defaults below are only the ones a case never changes).
config() {
    printf '{"rim_dir":"%s","nvml":"%s","sysfs_pci":"%s","run_dir":"%s","event_log_dir":"%s","tdx_sysfs_dir":"%s","tdx_device":"%s"%s}\n' \
        "${RIMS:-$H545/rims}" "${NVML:-$fake}" "${PCI:-$tmp/pci}" "$tmp/run" "$tmp/log" "$tmp/no-tdx" "$tmp/no-tdx-dev" \
        "${1:+,$1}" >"$tmp/gate.json"
}
# The usual passing setup: sim register, test root, the policy above, 2024 verification time.
STD='"event_backend":"sim:'$tmp'/rtmr3.bin","test_device_root":"'$fx'/testpki/root.pem","verify_at":"'$AT'"'
reset() { rm -rf "$tmp/run" "$tmp/log" "$tmp/rtmr3.bin" "$tmp/ready.txt"; }
gate() { # WANT NAME ARGS...
    local want=$1 name=$2
    shift 2
    run "$want" "$name" -- gate --config "$tmp/gate.json" "$@"
}

bundle() { cat "$tmp/run/evidence.json" 2>/dev/null; }
expect_bundle() { # PATTERN NAME
    bundle | grep -qF -- "$1" || { bad "$2: '$1' not in the bundle"; bundle | head -c 300; echo; }
}
log_has() { grep -qF "\"event\":\"$1\"" "$tmp/log/runtime_events.log" 2>/dev/null; }
log_count() { grep -cF "\"event\":\"$1\"" "$tmp/log/runtime_events.log" 2>/dev/null || true; }
payload() { # the decoded gpu-attestation payload
    grep -F '"event":"gpu-attestation"' "$tmp/log/runtime_events.log" |
        sed 's/.*"payload":"\([^"]*\)".*/\1/' | base64 -d
}
replay_matches() { # NAME: the register equals the replay of the log
    local reg
    reg=$(od -An -tx1 "$tmp/rtmr3.bin" | tr -d ' \n')
    "$bin" events replay "$tmp/log/runtime_events.log" --expect "$reg" >/dev/null 2>&1 ||
        bad "$1: the register is not the replay of the log"
}
# refused NAME STEP: the common assertions of a refusal after the policy hash
refused() {
    log_has gpu-attestation && bad "$1: a gpu-attestation line was logged"
    grep -q '^set' "$tmp/ready.txt" 2>/dev/null && bad "$1: the ready state was set"
    expect_bundle '"verdict":{"pass":false' "$1"
    expect_bundle "\"step\":\"$2\"" "$1"
    [ "$(log_count gpu-policy-hash)" = 1 ] || bad "$1: gpu-policy-hash not logged once"
    [ -f "$tmp/rtmr3.bin" ] && replay_matches "$1"
}
passed() { # NAME DEVICES
    [ "$(log_count gpu-policy-hash)" = 1 ] || bad "$1: gpu-policy-hash not logged once"
    [ "$(log_count gpu-attestation)" = 1 ] || bad "$1: gpu-attestation not logged once"
    head -1 "$tmp/log/runtime_events.log" | grep -qF gpu-policy-hash || bad "$1: policy hash not first"
    expect_bundle '"verdict":{"pass":true' "$1"
    local sha
    sha=$(sha256sum "$tmp/run/evidence.json" | cut -d' ' -f1)
    payload | grep -qF "\"devices\":$2,\"cc_mode\":" || bad "$1: devices in the payload"
    payload | grep -qF "\"evidence_sha256\":\"$sha\"" || bad "$1: evidence_sha256 is not the bundle's"
    [ "$(stat -c %a "$tmp/run/evidence.json")" = 600 ] || bad "$1: bundle mode"
    replay_matches "$1"
}

# ---- passing runs ----
reset; scenario ""; config "$STD,\"policy\":\"$tmp/policy.json\""
gate 0 "2 GPUs pass under the test root" && passed "2 GPUs" 2
expect out "gate: PASS: 2 GPU(s)" "pass line"
[ "$(cat "$tmp/ready.txt")" = "set 1 0" ] || bad "ready state set exactly once: $(cat "$tmp/ready.txt")"
payload | grep -qF "{\"version\":2,\"provider\":\"nvidia\",\"devices\":2,\"cc_mode\":\"on\",\"devtools\":false,\"evidence_sha256\":" || bad "dstack field order"
payload | grep -qF ",\"nvswitches\":0,\"policy_sha256\":\"$(sha256sum "$tmp/policy.json" | cut -d' ' -f1)\",\"gpu_policy_sha256\":\"$EMPTY_HASH\",\"trust_roots\":\"test\"}" || bad "extra fields"
expect_bundle '"trust_roots":"test"' "bundle roots"
expect_bundle '"pci_address":"0000:19:00.0"' "bundle pci"
expect_bundle '"uuid":"GPU-7e570000-0000-4000-8000-000000000001"' "bundle uuid"
expect_bundle '"certificate_chain":"-----BEGIN CERTIFICATE-----' "bundle chain"
expect_bundle '"id":"NV_GPU_DRIVER_GH100_545.00","issues_in_store":1,"role":"driver-rim","sha256":"' "bundle collateral"
expect_bundle '"verified_at":"2024-06-01T00:00:00Z"' "bundle time"
expect_bundle '"measres":"success"' "bundle claims"
grep -q "^gpu-policy-hash\|RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=" "$tmp/log/runtime_events.log" || bad "gpu-policy-hash payload is SHA-256({})"

gate 0 "a second run on the same boot appends (same version file)"
[ "$(log_count gpu-attestation)" = 2 ] || bad "second run logs a second event"
replay_matches "second run"

# The ready state comes after the event: NVML's setter is slowed by 200 ms, so the ready record
# is written well after the log line; the other order would show the opposite.
reset; scenario '"hang":{"call":"nvmlSystemSetConfComputeGpusReadyState","ms":200}'
gate 0 "ready state set after the event" && passed "ready after event" 2
t_log=$(stat -c %.9Y "$tmp/log/runtime_events.log")
t_ready=$(stat -c %.9Y "$tmp/ready.txt")
perl -e 'exit !($ARGV[1] - $ARGV[0] > 0.1)' "$t_log" "$t_ready" ||
    bad "ready state not set after the event ($t_log vs $t_ready)"

reset; scenario '"gpus":1'; PCI=$tmp/pci1 config "$STD,\"policy\":\"$tmp/policy.json\""
gate 0 "1 GPU passes" && passed "1 GPU" 1

reset; scenario '"gpus":8'; PCI=$tmp/pci8 config "$STD,\"policy\":\"$tmp/policy.json\""
gate 0 "8 GPUs pass" && passed "8 GPUs" 8

reset; scenario ""; config "$STD,\"policy\":\"$tmp/policy.json\",\"event_version\":2"
gate 0 "event digest version 2" && passed "v2" 2
grep -qF '"version":2}' "$tmp/log/runtime_events.log" || bad "v2 log lines"

reset; scenario ""; config "\"event_backend\":\"sim:$tmp/rtmr3.bin\",\"test_device_root\":\"$fx/testpki/root.pem\",\"policy\":\"$fx/policies/offline_expired_rim_signers.json\""
gate 0 "now, with the expired-RIM-signer relaxation" && passed "now relaxed" 2
reset; config "\"event_backend\":\"sim:$tmp/rtmr3.bin\",\"test_device_root\":\"$fx/testpki/root.pem\",\"policy\":\"$tmp/policy.json\""
gate 1 "now, without it: the 2025-expired RIM signers fail the policy" && refused "now strict" policy
expect err "gate: GPU-0 (0000:18:00.0): policy: x-nvidia-gpu-driver-rim-cert-chain.x-nvidia-cert-status is \"expired\"" "expired reason"

# ---- CC mode ----
reset; scenario '"cc_feature":0'; config "$STD,\"policy\":\"$tmp/policy.json\""
gate 1 "CC off" && refused "CC off" cc-mode
expect err "dstack-gpu-attest: gate: GPU-0 (0000:18:00.0): cc-mode: cc-off: " "cc off reason"
expect_bundle '"mode":"off"' "cc off recorded"

reset; scenario '"devtools_mode":1'; config "$STD,\"policy\":\"$tmp/policy.json\""
gate 1 "DEVTOOLS under the default" && refused "DEVTOOLS" cc-mode
expect err "gate: GPU-0 (0000:18:00.0): cc-mode: cc-devtools: " "devtools reason"

reset; config "$STD,\"policy\":\"$tmp/devtools.json\""
gate 0 "DEVTOOLS allowed by the policy" && passed "DEVTOOLS policy" 2
payload | grep -qF '"cc_mode":"on","devtools":true' || bad "devtools recorded in the event"
expect_bundle '"devtools_allowed":true' "devtools recorded in the bundle"

reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"gpu_policy\":{\"allow_devtools\":true}"
gate 0 "DEVTOOLS allowed by the app's gpu_policy" && passed "DEVTOOLS gpu_policy" 2
payload | grep -qF '"devtools":true' || bad "devtools (gpu_policy) in the event"
payload | grep -qF "\"gpu_policy_sha256\":\"$EMPTY_HASH\"" && bad "gpu_policy hash still that of {}"

# Protected PCIe without the CC feature (NVIDIA's 8-GPU PPCIe) trusts the NVSwitches,
# which are not attested yet (no NSCQ collection): refused as cc-off (docs/collect.md).
reset; scenario '"cc_feature":0,"multi_gpu_mode":1'; config "$STD,\"policy\":\"$tmp/policy.json\""
gate 1 "protected PCIe without CC" && refused "ppcie" cc-mode
expect err "dstack-gpu-attest: gate: GPU-0 (0000:18:00.0): cc-mode: cc-off: " "ppcie reason"
expect_bundle '"mode":"ppcie"' "ppcie recorded"

# ---- NVML ----
reset; scenario '"fail":{"call":"nvmlDeviceGetUUID","rc":15,"device":1}'; config "$STD,\"policy\":\"$tmp/policy.json\""
gate 3 "NVML error" && refused "NVML error" collect
expect err "gate: GPU-1 (0000:19:00.0): collect: nvml-call: nvmlDeviceGetUUID: GPU is lost (NVML code 15)" "nvml reason"

for call in nvmlInit_v2 nvmlSystemGetConfComputeState nvmlSystemGetConfComputeSettings \
    nvmlSystemGetDriverVersion nvmlDeviceGetCount_v2 nvmlDeviceGetHandleByIndex_v2 \
    nvmlDeviceGetArchitecture nvmlDeviceGetBoardId nvmlDeviceGetUUID nvmlDeviceGetVbiosVersion \
    nvmlDeviceGetPciInfo_v3 nvmlDeviceGetConfComputeGpuAttestationReport \
    nvmlDeviceGetConfComputeGpuCertificate; do
    reset; scenario "\"fail\":{\"call\":\"$call\",\"rc\":999}"
    gate 3 "NVML error in $call" && refused "$call" "$(grep -o '"step":"[a-z-]*"' "$tmp/run/evidence.json" | cut -d'"' -f4)"
    expect err ": $call" "$call named"
    expect err "(NVML code 999)" "$call code"
done

reset; scenario '"hang":{"call":"nvmlDeviceGetConfComputeGpuAttestationReport","ms":20000}'
config "$STD,\"policy\":\"$tmp/policy.json\",\"collect_timeout_ms\":300"
gate 3 "NVML hangs in collection" && refused "collect hang" collect
expect err "collect: nvml-timeout" "timeout reason"
reset; scenario '"hang":{"call":"nvmlSystemGetConfComputeSettings","ms":20000}'
config "$STD,\"policy\":\"$tmp/policy.json\",\"cc_timeout_ms\":300"
gate 3 "NVML hangs reading CC" && refused "cc hang" cc-mode
expect err "cc-mode: nvml-timeout" "cc timeout reason"

reset; scenario ""; NVML=$tmp/none.so config "$STD,\"policy\":\"$tmp/policy.json\""
gate 3 "NVML missing" && refused "no NVML" cc-mode
expect err "nvml: cc-mode: nvml-load: dlopen" "nvml missing reason"

# ---- inventory ----
reset; scenario ""; NVML=$tmp/none.so PCI=$tmp/pci0 config "$STD,\"policy\":\"$tmp/none.json\""
gate 0 "no GPU present, none expected (NVML never loaded)" && passed "zero" 0
payload | grep -qF '"devices":0,"cc_mode":"none","devtools":false' || bad "zero-device payload"
[ -e "$tmp/ready.txt" ] && bad "zero GPUs: NVML was called"
expect out "ready state: not set (no GPU)" "zero ready line"

reset; PCI=$tmp/pci0 config "$STD,\"policy\":\"$tmp/two.json\""
gate 1 "no GPU present, two expected" && refused "zero but expected" policy
expect err "gate: devices: policy: GPU count is 0, policy requires exactly 2" "expected count reason"
reset; PCI=$tmp/pci0 config "$STD"
gate 1 "no GPU present under the built-in policy (at least one device)" && refused "zero default" policy

reset; scenario '"gpus":1'; config "$STD,\"policy\":\"$tmp/policy.json\""
gate 1 "sysfs 2 GPUs, NVML 1" && refused "missing from NVML" inventory-match
expect err "gate: devices: inventory-match: inventory-mismatch: NVML sees 1 GPU(s), the PCI inventory 2" "count reason"
reset; scenario '"gpus":3'
gate 1 "an extra GPU in NVML" && refused "extra" inventory-match
reset; scenario '"pci_bus_ids":["00000000:18:00.0","00000000:42:00.0"]'
gate 1 "NVML GPU at an address sysfs lacks" && refused "address" inventory-match
expect err "gate: GPU-1 (0000:42:00.0): inventory-match: inventory-mismatch" "address reason"

reset; scenario ""; PCI=$tmp/pcivga config "$STD,\"policy\":\"$tmp/policy.json\""
gate 1 "a foreign display device" && refused "foreign VGA" inventory
expect err "gate: 0000:00:02.0: inventory: pci-foreign-display" "foreign reason"
[ -e "$tmp/ready.txt" ] && bad "foreign display: NVML was called"

# ---- appraisal and policy ----
reset; scenario '"nonce_override":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"'
config "$STD,\"policy\":\"$tmp/policy.json\""
gate 1 "wrong nonce in the report" && refused "nonce" appraise
expect err "gate: GPU-0 (0000:18:00.0): nonce: nonce-mismatch: " "nonce reason"
expect_bundle '"result_code":504' "nonce result code"

reset; scenario '"corrupt_signature":true'
gate 1 "bad report signature" && refused "signature" appraise
expect err "gate: GPU-0 (0000:18:00.0): signature: signature-invalid: " "signature reason"

reset; scenario ""; config "\"event_backend\":\"sim:$tmp/rtmr3.bin\",\"verify_at\":\"$AT\",\"policy\":\"$tmp/policy.json\""
gate 1 "the test PKI without test_device_root" && refused "NVIDIA root" appraise
expect err "gate: GPU-0 (0000:18:00.0): cert-chain: chain-root: " "chain-root reason"
expect_bundle '"trust_roots":"nvidia"' "nvidia roots recorded"

reset; RIMS=$tmp/emptyrims config "$STD,\"policy\":\"$tmp/policy.json\""
gate 1 "missing RIM" && refused "RIM" appraise
expect err "gate: GPU-0 (0000:18:00.0): driver-rim: rim-not-found: " "rim reason"
expect err "NV_GPU_DRIVER_GH100_545.00" "rim id named"

reset; config "$STD,\"policy\":\"$tmp/driver550.json\""
gate 1 "policy rejects the driver version" && refused "policy" policy
expect err "gate: GPU-0 (0000:18:00.0): policy: x-nvidia-gpu-driver-version is \"545.00\"" "policy reason"
expect_bundle '"result_code":11' "policy result code"

# The built-in policy requires OCSP. From an empty collateral directory there is no
# response for the test chain's certificates: refused, naming the certificate.
mkdir -p "$tmp/collateral"
reset; config "$STD,\"ocsp\":\"cache\",\"collateral_dir\":\"$tmp/collateral\""
gate 1 "the built-in policy without stored OCSP responses" && refused "builtin" appraise
expect err "gate: GPU-0 (0000:18:00.0): ocsp-device-chain: ocsp-no-response: " "ocsp reason"
expect err ": certificate 3 \"" "the certificate without a response named"
expect_bundle '"ocsp_source":{"collateral_dir":"'"$tmp/collateral"'"' "ocsp source in the bundle"

# Online against a responder that is not there: fails closed, no event, no ready state.
reset; config "$STD,\"ocsp\":\"online\",\"ocsp_url\":\"http://127.0.0.1:1\""
gate 1 "the built-in policy, OCSP responder down" && refused "responder down" appraise
expect err "collateral-unreachable" "responder down named"

# OCSP off is a config error under a policy that requires it; cache needs a directory.
reset; config "$STD,\"ocsp\":\"off\""
gate 2 "ocsp off under the built-in policy"
expect err "ocsp: \"off\" needs a policy with \"ocsp\": \"not-required\"" "ocsp off refused"
[ -e "$tmp/log/runtime_events.log" ] && bad "ocsp off: something was logged"
reset; config "$STD,\"ocsp\":\"cache\""
gate 2 "ocsp cache without collateral_dir"
expect err "ocsp: \"cache\" needs collateral_dir" "cache without dir refused"
reset; config "$STD,\"ocsp\":\"bundle\""
gate 2 "ocsp bundle is not a gate mode"

# ---- the measured events and the ready state ----
reset; config "\"event_backend\":\"sim:$tmp/no-such-dir/rtmr3.bin\",\"test_device_root\":\"$fx/testpki/root.pem\",\"verify_at\":\"$AT\",\"policy\":\"$tmp/policy.json\""
gate 3 "register unusable: stops at gpu-policy-hash"
expect err "gate: event: gpu-policy-hash: register-" "policy-hash reason"
log_has gpu-attestation && bad "register failure: event logged"
[ -e "$tmp/ready.txt" ] && bad "register failure: NVML was called"
expect_bundle '"step":"gpu-policy-hash"' "register failure step"

reset; config "\"test_device_root\":\"$fx/testpki/root.pem\",\"verify_at\":\"$AT\",\"policy\":\"$tmp/policy.json\""
gate 3 "default tdx backend on a machine without TDX"
expect err "gate: event: gpu-policy-hash: register-unavailable" "tdx reason"

reset; mkdir -p "$tmp/log"; printf '2' >"$tmp/log/runtime_event_version"; config "$STD,\"policy\":\"$tmp/policy.json\""
gate 3 "an existing version file with another version"
expect err "event-version-file" "version file reason"

# The gpu-attestation extend fails after everything passed: the register file is broken while
# the fake NVML is slow to answer (after gpu-policy-hash was logged).
reset; scenario '"hang":{"call":"nvmlDeviceGetConfComputeGpuAttestationReport","ms":1500}'; config "$STD,\"policy\":\"$tmp/policy.json\""
( for _ in $(seq 100); do
      if log_has gpu-policy-hash; then printf 'short' >"$tmp/rtmr3.bin"; break; fi
      sleep 0.02
  done ) &
gate 3 "gpu-attestation extend fails"
wait
expect err "gate: event: gpu-attestation: register-state" "extend failure reason"
log_has gpu-attestation && bad "extend failure: event logged"
[ -e "$tmp/ready.txt" ] && bad "extend failure: the ready state was touched"
expect_bundle '"verdict":{"pass":false' "extend failure verdict"
expect_bundle '"step":"gpu-attestation"' "extend failure step"

reset; scenario '"fail":{"call":"nvmlSystemSetConfComputeGpusReadyState","rc":3}'
gate 3 "ready-state setter fails (after the event: the documented residual)"
expect err "gate: nvml: ready-state: nvml-call: nvmlSystemSetConfComputeGpusReadyState" "ready reason"
[ "$(cat "$tmp/ready.txt")" = "set 1 3" ] || bad "ready record: $(cat "$tmp/ready.txt")"
[ "$(log_count gpu-attestation)" = 1 ] || bad "ready failure: the event was emitted first"
expect_bundle '"verdict":{"pass":true' "ready failure keeps the bundle the event commits to"
replay_matches "ready failure"

# ---- dry run ----
reset; scenario ""; config "$STD,\"policy\":\"$tmp/policy.json\""
gate 0 "dry run" --dry-run
expect out "dry run: no event, no ready state" "dry run line"
[ -e "$tmp/log" ] && bad "dry run: the log directory was created"
[ -e "$tmp/rtmr3.bin" ] && bad "dry run: the register was extended"
[ -e "$tmp/ready.txt" ] && bad "dry run: the ready state was touched"
expect_bundle '"dry_run":true' "dry run bundle"
expect_bundle '"verdict":{"pass":true' "dry run verdict"
reset; scenario '"cc_feature":0'
gate 1 "dry run refuses CC off too" --dry-run
[ -e "$tmp/log" ] && bad "dry run refusal: log created"

# ---- the config ----
reset; scenario ""
config "$STD,\"policy\":\"$tmp/policy.json\",\"no_such_key\":1"
gate 2 "unknown config key"; expect err "gate-config" "unknown key error"
printf '{"nvml":"x"}' >"$tmp/gate.json"
gate 2 "rim_dir missing"; expect err "key rim_dir" "rim_dir named"
printf '{"rim_dir":"x",' >"$tmp/gate.json"
gate 2 "truncated config"
config "$STD,\"cc_timeout_ms\":0"
gate 2 "timeout 0"; expect err "key cc_timeout_ms" "timeout named"
config "$STD,\"event_version\":3"
gate 2 "event version 3"
config "$STD,\"verify_at\":\"yesterday\""
gate 2 "bad verify_at"
config "$STD,\"policy\":\"$tmp/policy.json\",\"gpu_policy\":{\"attest_gpu\":false}"
gate 2 "attest_gpu false is refused"; expect err "attest_gpu is false" "attest_gpu reason"
config "$STD,\"policy\":\"$tmp/policy.json\",\"gpu_policy\":{\"n\":9007199254740993}"
gate 2 "gpu_policy with a number JCS cannot canonicalize"; expect err "jcs-number" "jcs reason"
[ -e "$tmp/log" ] && bad "jcs failure: something was emitted"
config "$STD,\"policy\":\"$fx/policies/everything.json\",\"event_backend\":\"nonsense\""
gate 2 "bad event backend spec"
run 3 "config file missing" -- gate --config "$tmp/no-such-config.json"
run 2 "unexpected argument" -- gate --config "$tmp/gate.json" extra
run 0 "help" -- gate --help && expect out "--dry-run" "help text"

# ---- a signed EAT in the bundle ----
openssl ecparam -name secp384r1 -genkey -noout -out "$tmp/eat.pem" 2>/dev/null
reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"eat_key\":\"$tmp/eat.pem\",\"eat_kid\":\"gate-test\""
gate 0 "with an EAT key" && passed "eat" 2
expect_bundle '"detached_eat":[["JWT","ey' "signed EAT in the bundle"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
