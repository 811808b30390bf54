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
openssl ecparam -name secp384r1 -genkey -noout -out "$tmp/eat.pem" 2>/dev/null
EAT="\"eat_key\":\"$tmp/eat.pem\",\"eat_kid\":\"gate-test\""

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
payload | grep -qF ",\"nvswitches\":0,\"policy_sha256\":\"$(sha256sum "$tmp/policy.json" | cut -d' ' -f1)\",\"gpu_policy_sha256\":\"$EMPTY_HASH\",\"trust_roots\":\"test\",\"ocsp\":\"off\"}" || bad "extra fields"
expect_bundle '"ocsp":"off"' "no revocation check recorded in the bundle"
bundle | grep -qF '"x-nvidia-cert-ocsp-status":"not-checked"' || bad "no revocation check in the claims"
expect_bundle '"trust_roots":{"device":"test","rim":"nvidia"}' "bundle roots"
expect_bundle '"revocation":"not checked (--ocsp off, policy does not require OCSP)"}' "bundle verdict: attest's shape"
expect_bundle '"pci_address":"0000:19:00.0"' "bundle pci"
expect_bundle '"uuid":"GPU-7e570000-0000-4000-8000-000000000001"' "bundle uuid"
expect_bundle '"certificate_chain":"-----BEGIN CERTIFICATE-----' "bundle chain"
expect_bundle '"id":"NV_GPU_DRIVER_GH100_545.00","issues_in_store":1,"role":"driver-rim","sha256":"' "bundle collateral"
expect_bundle '"verified_at":"2024-06-01T00:00:00Z"' "bundle time"
expect_bundle '"measres":"success"' "bundle claims"
expect_bundle '"ueid":"4100"' "GPU-0 signs with its own leaf"
expect_bundle '"ueid":"8193"' "GPU-1 signs with its own leaf"
grep -q "^gpu-policy-hash\|RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=" "$tmp/log/runtime_events.log" || bad "gpu-policy-hash payload is SHA-256({})"

# A second run on the same boot would log a second gpu-attestation, which no strict
# verifier accepts: refused before anything is measured.
gate 1 "a second run on the same boot is refused" &&
    expect_line err "dstack-gpu-attest: gate: event: gpu-attestation: event 2 of the log is one already: a second would leave a log no verifier accepts (is dstack's GPU step active?)" "second run reason"
[ "$(log_count gpu-attestation)" = 1 ] || bad "second run logged a second event"
[ "$(log_count gpu-policy-hash)" = 1 ] || bad "second run logged a second policy hash"
replay_matches "second run"

# dstack coexistence (docs/dstack.md): the gpu_policy read from dstack's app-compose.json as
# dstack-util reads it (/requirements/gpu_policy, {} when absent), so gpu-policy-hash equals
# dstack's own value (its vectors: {} and {"attest_gpu":true}, whitespace and all).
ATTEST_TRUE_HASH=81f5d3ad40653341232238c4ca656bddddc297d6382ae2ab391e4bb36dd80b66
AC=$fx/dstack/app-compose
logged_policy_hash() {
    grep -F '"event":"gpu-policy-hash"' "$tmp/log/runtime_events.log" |
        sed 's/.*"payload":"\([^"]*\)".*/\1/' | base64 -d | od -An -tx1 | tr -d ' \n'
}
for c in no-policy:$EMPTY_HASH empty-requirements:$EMPTY_HASH empty-policy:$EMPTY_HASH \
    attest-gpu-true:$ATTEST_TRUE_HASH; do
    f=${c%%:*} want=${c#*:}
    reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"app_compose\":\"$AC/$f.json\""
    gate 0 "app_compose $f" && passed "app_compose $f" 2
    [ "$(logged_policy_hash)" = "$want" ] || bad "app_compose $f: gpu-policy-hash $(logged_policy_hash), dstack's is $want"
    payload | grep -qF "\"gpu_policy_sha256\":\"$want\"" || bad "app_compose $f: payload hash"
    expect_bundle '"policy_hash_event":"emit"' "app_compose $f: emit recorded"
done

# policy_hash_event "dstack": dstack-util emits gpu-policy-hash; the gate emits none, writes
# the version file, and records the value dstack-util will emit.
DSTACK_MODE="$STD,\"policy\":\"$tmp/policy.json\",\"app_compose\":\"$AC/attest-gpu-true.json\",\"policy_hash_event\":\"dstack\""
reset; config "$DSTACK_MODE"
gate 0 "policy_hash_event dstack"
[ "$(log_count gpu-policy-hash)" = 0 ] || bad "dstack mode: the gate emitted gpu-policy-hash"
[ "$(log_count gpu-attestation)" = 1 ] || bad "dstack mode: gpu-attestation not logged once"
[ "$(cat "$tmp/log/runtime_event_version" 2>/dev/null)" = 1 ] || bad "dstack mode: version file"
payload | grep -qF "\"gpu_policy_sha256\":\"$ATTEST_TRUE_HASH\"" || bad "dstack mode: payload hash"
expect_bundle "\"gpu_policy_sha256\":\"$ATTEST_TRUE_HASH\"" "dstack mode: bundle hash"
expect_bundle '"policy_hash_event":"dstack"' "dstack mode recorded"
replay_matches "dstack mode"
# A gpu-policy-hash already in the log: dstack mode checks it is the gate's value; emit mode
# refuses a second one.
policy_line() { # HEX: a log line for gpu-policy-hash with that payload
    printf '{"event":"gpu-policy-hash","payload":"%s"}\n' "$(printf '%s' "$1" | xxd -r -p | base64 -w0)"
}
reset; mkdir -p "$tmp/log"; policy_line "$ATTEST_TRUE_HASH" >"$tmp/log/runtime_events.log"
gate 0 "dstack mode: dstack-util's equal gpu-policy-hash already logged"
[ "$(log_count gpu-policy-hash)" = 1 ] || bad "dstack mode: a second gpu-policy-hash"
reset; mkdir -p "$tmp/log"; policy_line "$EMPTY_HASH" >"$tmp/log/runtime_events.log"
gate 1 "dstack mode: another gpu-policy-hash already logged" &&
    expect_line err "dstack-gpu-attest: gate: event: gpu-policy-hash: event 1 of the log is not the gate's gpu_policy hash: dstack-util read another policy" "dstack mode mismatch reason"
log_has gpu-attestation && bad "dstack mode mismatch: gpu-attestation logged"
config "$STD,\"policy\":\"$tmp/policy.json\",\"app_compose\":\"$AC/no-policy.json\""
reset; mkdir -p "$tmp/log"; policy_line "$EMPTY_HASH" >"$tmp/log/runtime_events.log"
gate 1 "emit mode: a gpu-policy-hash already logged" &&
    expect_line err "dstack-gpu-attest: gate: event: gpu-policy-hash: event 1 of the log is one already: set policy_hash_event \"dstack\" when dstack-util emits it" "emit mode duplicate reason"
[ "$(log_count gpu-policy-hash)" = 1 ] || bad "emit mode: a second gpu-policy-hash"
# The app-compose's event_log_version must be the gate's event_version (dstack-util refuses
# a version file that differs); the two gpu_policy sources together are a config error.
reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"app_compose\":\"$AC/attest-gpu-true-v2.json\""
gate 2 "app_compose event_log_version 2, event_version 1" &&
    expect_line err "dstack-gpu-attest: gate: app_compose: $AC/attest-gpu-true-v2.json: event_log_version 2 but event_version 1: dstack-util would refuse the digest-version file the gate writes" "event_log_version reason"
log_has gpu-policy-hash && bad "event_log_version mismatch: something was measured"
reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"app_compose\":\"$AC/attest-gpu-true-v2.json\",\"event_version\":2"
gate 0 "app_compose event_log_version 2, event_version 2" && passed "event_log_version 2" 2
reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"app_compose\":\"$AC/no-policy.json\",\"gpu_policy\":{}"
gate 2 "app_compose and gpu_policy together"
reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"app_compose\":\"$tmp/absent.json\""
gate 3 "app_compose missing" && expect err "app_compose: $tmp/absent.json: io" "app_compose missing reason"
config "$STD,\"policy\":\"$tmp/policy.json\""

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

# Protected PCIe without the CC feature (NVIDIA's 8-GPU PPCIe) trusts the NVSwitches, which
# the gate attests through NSCQ (tests/ppcie/test_gate_board.sh): without an nscq library in
# the config it is a configuration error, before anything is collected.
reset; scenario '"cc_feature":0,"multi_gpu_mode":1'; config "$STD,\"policy\":\"$tmp/policy.json\""
gate 2 "protected PCIe without nscq in the config" && refused "ppcie" cc-mode
expect_line err "dstack-gpu-attest: gate: GPU-0 (0000:18:00.0): cc-mode: gate-config: PPCIe mode needs the nscq library in the gate config (ccFeature 0, devToolsMode 0, multiGpuMode 1; system-wide, 2 GPU(s))" "ppcie reason"
expect_bundle '"mode":"ppcie"' "ppcie recorded"
# The CC settings are read again with the reports: a machine whose mode changed between the
# two reads (CC on at the CC read, PPCIe at the collection's) is refused, nothing emitted.
reset; rm -f "$tmp/cc_reads"
scenario '"cc_settings_later":{"reads_file":"'"$tmp"'/cc_reads","cc_feature":0,"multi_gpu_mode":1}'
config "$STD,\"policy\":\"$tmp/policy.json\""
gate 1 "mode changed from CC to PPCIe during collection" && refused "mode changed" collect
expect_line err "dstack-gpu-attest: gate: GPU-0 (0000:18:00.0): cc-mode: gate-rejected: the mode changed during collection, from CC to PPCIe (ccFeature 0, devToolsMode 0, multiGpuMode 1; system-wide, 2 GPU(s))" "mode changed reason"
[ "$(wc -c <"$tmp/cc_reads")" = 2 ] || bad "mode changed: the CC settings were not read twice"
# The reverse: PPCIe at the CC read, CC on at the collection's (refused before NSCQ is loaded).
reset; rm -f "$tmp/cc_reads"
scenario '"cc_feature":0,"multi_gpu_mode":1,"cc_settings_later":{"reads_file":"'"$tmp"'/cc_reads","cc_feature":1,"multi_gpu_mode":0}'
config "$STD,\"policy\":\"$tmp/policy.json\",\"nscq\":\"$tmp/no-nscq.so\""
gate 1 "mode changed from PPCIe to CC during collection" && refused "mode changed back" collect
expect_line err "dstack-gpu-attest: gate: GPU-0 (0000:18:00.0): cc-mode: gate-rejected: the mode changed during collection, from PPCIe to CC (ccFeature 1, devToolsMode 0, multiGpuMode 0; system-wide, 2 GPU(s))" "mode changed back reason"

# Every CC field the gate reads is allow-listed (issue 9, finding 5): any other value is
# cc-unknown naming the field and the value, DEVTOOLS allowed or not; nothing is emitted.
CC_UNKNOWN="cc-mode: cc-unknown: a confidential-computing setting has a value outside the gate's allow-list"
cc_unknown() { # SCENARIO-MEMBERS POLICY FIELD-TEXT
    reset; scenario "$1"; config "$STD,\"policy\":\"$2\""
    gate 1 "CC $1" && refused "CC $1" cc-mode
    expect err "dstack-gpu-attest: gate: GPU-0 (0000:18:00.0): $CC_UNKNOWN: $3 (" "CC $1 reason"
    expect_bundle '"mode":"unknown"' "CC $1 recorded"
}
cc_unknown '"devtools_mode":2' "$tmp/devtools.json" "devToolsMode is 2, allowed 0 (or 1 where DEVTOOLS is allowed)"
cc_unknown '"devtools_mode":4294967295' "$tmp/devtools.json" "devToolsMode is 4294967295, allowed 0 (or 1 where DEVTOOLS is allowed)"
cc_unknown '"devtools_mode":2' "$tmp/policy.json" "devToolsMode is 2, allowed 0 (or 1 where DEVTOOLS is allowed)"
cc_unknown '"environment":1' "$tmp/policy.json" "environment is 1, allowed 2 (production hardware)"
cc_unknown '"environment":0' "$tmp/devtools.json" "environment is 0, allowed 2 (production hardware)"
cc_unknown '"cc_feature":2' "$tmp/policy.json" "ccFeature is 2, allowed 1 (enabled)"
cc_unknown '"multi_gpu_mode":3' "$tmp/policy.json" "multiGpuMode is 3, allowed 0, 1 or 2"
# The known values still pass: NVLink encryption (multiGpuMode 2) with the CC feature on.
reset; scenario '"multi_gpu_mode":2'; config "$STD,\"policy\":\"$tmp/policy.json\""
gate 0 "CC on with multiGpuMode 2" && passed "multiGpuMode 2" 2
payload | grep -qF '"cc_mode":"on","devtools":false' || bad "multiGpuMode 2: cc_mode in the event"

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

# NVSwitches are counted, not attested: the policy's NVSwitch count applies to the PCI
# inventory (issue 9, finding 4), not to the claims, which hold none.
cp -r "$tmp/pci" "$tmp/pcisw"
pci_entry "$tmp/pcisw" 0000:05:00.0 0x10de 0x22a3 0x068000
printf '{"version":1,"ocsp":"not-required","devices":{"nvswitches":{"exact":0}}}' >"$tmp/sw0.json"
printf '{"version":1,"ocsp":"not-required","devices":{"nvswitches":{"exact":1}}}' >"$tmp/sw1.json"
reset; scenario ""; PCI=$tmp/pcisw config "$STD,\"policy\":\"$tmp/sw0.json\""
gate 1 "one NVSwitch present, the policy requires exactly 0" && refused "NVSwitch, exactly 0" policy
expect err "dstack-gpu-attest: gate: devices: policy: NVSwitch count in the PCI inventory is 1, policy requires exactly 0" "NVSwitch exactly 0 reason"
expect_bundle '"nvswitches":["0000:05:00.0"]' "NVSwitch in the bundle's inventory"
reset; PCI=$tmp/pcisw config "$STD,\"policy\":\"$tmp/sw1.json\""
gate 0 "one NVSwitch present, the policy requires exactly 1" && passed "NVSwitch, exactly 1" 2
payload | grep -qF '"nvswitches":1,' || bad "NVSwitch, exactly 1: the event's count"
expect out "gate: PASS: 2 GPU(s), 1 NVSwitch(es)" "NVSwitch pass line"
reset; config "$STD,\"policy\":\"$tmp/sw1.json\""
gate 1 "no NVSwitch present, the policy requires exactly 1" && refused "no NVSwitch, exactly 1" policy
expect err "dstack-gpu-attest: gate: devices: policy: NVSwitch count in the PCI inventory is 0, policy requires exactly 1" "NVSwitch exactly 1 reason"

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
expect_bundle '"trust_roots":{"device":"nvidia","rim":"nvidia"}' "nvidia roots recorded"

reset; RIMS=$tmp/emptyrims config "$STD,\"policy\":\"$tmp/policy.json\""
gate 1 "missing RIM" && refused "RIM" appraise
expect err "gate: GPU-0 (0000:18:00.0): driver-rim: rim-not-found: " "rim reason"
expect err "NV_GPU_DRIVER_GH100_545.00" "rim id named"

reset; config "$STD,\"policy\":\"$tmp/driver550.json\""
gate 1 "policy rejects the driver version" && refused "policy" policy
expect err "gate: GPU-0 (0000:18:00.0): policy: x-nvidia-gpu-driver-version is \"545.00\"" "policy reason"
expect_bundle '"result_code":11' "policy result code"

# ---- one device counted as many ----
# The fake gives every GPU its own leaf; here two NVML GPUs are one: the same NVML UUID
# (refused at collection), one leaf for both (every report verifies, the set does not), and
# GPU 0's leaf re-issued to GPU 1 under another key (the same ueid).
reset; scenario '"uuids":["GPU-7e570000-0000-4000-8000-000000000000","GPU-7E570000-0000-4000-8000-000000000000"]'
config "$STD,\"policy\":\"$tmp/two.json\""
gate 1 "two GPUs with one NVML UUID" && refused "duplicate uuid" collect
expect err "gate: GPU-1 (0000:19:00.0): collect: duplicate-device: same NVML UUID GPU-7E570000-0000-4000-8000-000000000000 as GPU-0 (0000:18:00.0)" "uuid reason"
reset; scenario '"shared_leaf":true'
gate 1 "two GPUs with one leaf" && refused "shared leaf" appraise
expect err "gate: GPU-1 (0000:19:00.0): duplicate-device: same leaf certificate as GPU-0 (0000:18:00.0)" "leaf reason"
expect_bundle '"result_code":503,' "duplicate result code"
expect_bundle '"reasons":["GPU-1: duplicate-device: same leaf certificate as GPU-0"]' "duplicate in the verdict"
reset; scenario "\"leaves\":\"$fx/testpki/leaves-same-ueid\""
gate 1 "two GPUs with one ueid" && refused "same ueid" appraise
expect err "gate: GPU-1 (0000:19:00.0): duplicate-device: same ueid 4100 as GPU-0 (0000:18:00.0)" "ueid reason"

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

# ---- revocation of the device chain (issue 5) ----
# The test PKI's CAs answer OCSP (tests/fixtures/testpki: make-testpki.sh keeps their
# keys and an index per CA; make-ocsp-responses.sh made the stored responses, all with
# thisUpdate THIS_UPDATE and nextUpdate 30 days later). Certificates 3, 2, 1 of the chain
# are checked, each under the next. NVIDIA's RIM signer chains can get no response in any
# test (no NVIDIA responder, no stored NVIDIA response): they fail as ocsp-no-response after
# the device chain, so a run whose device chain passes names a RIM chain certificate.
THIS_UPDATE=2026-11-28T09:44:32Z
FRESH=2026-11-28T12:00:00Z  # 2h15m after thisUpdate: fresh under the 7-day default
STALE=2026-12-06T12:00:00Z  # 8 days after: older than the maximum age, before nextUpdate
EXPIRED=2027-01-05T12:00:00Z # after nextUpdate (2026-12-28)
ocspfx=$fx/testpki/ocsp
mkdir -p "$tmp/dev"
awk -v d="$tmp/dev" '/BEGIN CERTIFICATE/{n++} n{print >(d "/cert" (n - 1) ".pem")}' "$fx/testpki/certchain.pem"
# certid_key N: SHA-256 of the DER SHA-1 CertID of chain certificate N under N+1, computed
# here with openssl (a request's first CertID, cut out by asn1parse's offsets): the name a
# stored response must have (docs/revocation.md), independent of dga_ocsp_cert_key.
certid_key() {
    local l off hl len
    openssl ocsp -issuer "$tmp/dev/cert$(($1 + 1)).pem" -cert "$tmp/dev/cert$1.pem" -no_nonce \
        -reqout "$tmp/certid.req" >/dev/null 2>&1
    l=$(openssl asn1parse -inform DER -in "$tmp/certid.req" | grep -m1 ':d=4 ')
    off=$(echo "$l" | sed 's/^ *\([0-9]*\):.*/\1/')
    hl=$(echo "$l" | sed 's/.*hl= *\([0-9]*\).*/\1/')
    len=$(echo "$l" | sed 's/.* l= *\([0-9]*\).*/\1/')
    tail -c +$((off + 1)) "$tmp/certid.req" | head -c $((hl + len)) | sha256sum | cut -d' ' -f1
}
KEY1=$(certid_key 1) KEY2=$(certid_key 2) KEY3=$(certid_key 3)
# stored NAME R1 R2 R3: a collateral directory holding those responses for certificates 1-3
stored() {
    local d=$tmp/col-$1
    rm -rf "$d"; mkdir -p "$d/ocsp"
    cp "$ocspfx/responses/$2.der" "$d/ocsp/$KEY1.der"
    cp "$ocspfx/responses/$3.der" "$d/ocsp/$KEY2.der"
    cp "$ocspfx/responses/$4.der" "$d/ocsp/$KEY3.der"
}
# ocsp_entry NAME KEY FIELDS: the bundle's collateral.ocsp entry for GPU-0's device chain
# certificate with that CertID key holds FIELDS (jansson sorts the keys), and its response
ocsp_entry() {
    bundle | grep -qF -- "{\"certid_sha256\":\"$2\",\"chain\":\"device\",\"device\":\"GPU-0\",$3" ||
        { bad "$1: collateral.ocsp lacks {$2 ... $3}"; bundle | grep -o '"ocsp":\[{[^]]*' | head -c 600; echo; }
}
RIM_REFUSED='ocsp-driver-rim-chain: ocsp-no-response: no fresh OCSP response for the certificate in the chosen source: certificate 2 "NVIDIA Reference Value GH100 CA"'
DEVICE_POLICY='GPU-0: x-nvidia-gpu-attestation-report-cert-chain.x-nvidia-cert-ocsp-status is'
stored good cert1-good cert2-good cert3-good
stored revoked cert1-good cert2-revoked cert3-good
stored hold cert1-hold cert2-good cert3-good
stored unknown cert1-good cert2-good cert3-unknown
cachecfg() { # NAME VERIFY_AT EXTRA
    config "\"event_backend\":\"sim:$tmp/rtmr3.bin\",\"test_device_root\":\"$fx/testpki/root.pem\",\"verify_at\":\"$2\",\"ocsp\":\"cache\",\"collateral_dir\":\"$tmp/col-$1\"${3:+,$3}"
}

# The control: fresh good responses pass the device chain (status good, from the cache);
# the run is refused at the RIM chains, which nothing can answer.
reset; scenario ""; cachecfg good "$FRESH"
gate 1 "device chain fresh and good: refused at the RIM chains only" && refused "fresh" appraise
expect err "gate: GPU-0 (0000:18:00.0): $RIM_REFUSED" "fresh: the RIM chain named, not the device chain"
for k in "$KEY3" "$KEY2" "$KEY1"; do
    ocsp_entry "fresh" "$k" '"error":null,'
done
ocsp_entry "fresh" "$KEY3" '"error":null,"index":3,"next_update":"2026-12-28T09:44:32Z","response":"'"$(base64 -w0 "$ocspfx/responses/cert3-good.der")"'","revocation_reason":null,"source":"cache","status":"good","subject":"DGA TEST GH100 Identity","this_update":"'$THIS_UPDATE'"}'
bundle | grep -qF "$DEVICE_POLICY" && bad "fresh: the device chain's OCSP status in the verdict"

# (a) Stale: the same responses, verified 8 days after thisUpdate (the 7-day default
# maximum age): refused at the device chain, certificate 3 first (top down).
reset; cachecfg good "$STALE"
gate 1 "device chain: stored responses older than the maximum age" && refused "stale" appraise
expect err "gate: GPU-0 (0000:18:00.0): ocsp-device-chain: ocsp-too-old: the OCSP response is older than the maximum age: certificate 3 \"DGA TEST GH100 Identity\"" "stale reason"
[ "$(grep -c . "$tmp/err")" = 2 ] || bad "stale: not exactly the reason and the bundle line"
expect_bundle '"error":"ocsp-too-old"' "stale: error in the bundle"
for k in "$KEY3" "$KEY2" "$KEY1"; do
    ocsp_entry "stale" "$k" '"error":"ocsp-too-old",'
done
ocsp_entry "stale" "$KEY3" '"error":"ocsp-too-old","index":3,"next_update":null,"response":"'"$(base64 -w0 "$ocspfx/responses/cert3-good.der")"'","revocation_reason":null,"source":"cache","status":"none","subject":"DGA TEST GH100 Identity"'
expect_bundle "$DEVICE_POLICY \\\"invalid\\\", policy allows [\\\"good\\\"]" "stale: the device chain in the verdict"
expect_bundle '"ocsp_source":{"collateral_dir":"'"$tmp/col-good"'","max_age":604800,"mode":"cache"' "stale: source"

# The config's ocsp_max_age applies: one hour is exceeded 2h15m after thisUpdate.
reset; cachecfg good "$FRESH" '"ocsp_max_age":3600'
gate 1 "device chain: ocsp_max_age 3600 exceeded" && refused "max age 3600" appraise
expect err "gate: GPU-0 (0000:18:00.0): ocsp-device-chain: ocsp-too-old: " "max age 3600 reason"
expect_bundle '"max_age":3600' "max age 3600 in the source"

# Past nextUpdate, even with an unlimited maximum age (ocsp_max_age 0).
reset; cachecfg good "$EXPIRED" '"ocsp_max_age":0'
gate 1 "device chain: stored responses past nextUpdate (unlimited age)" && refused "expired" appraise
expect err "gate: GPU-0 (0000:18:00.0): ocsp-device-chain: ocsp-expired: the OCSP response's nextUpdate (or thisUpdate + 1h) is before the verification time: certificate 3 \"DGA TEST GH100 Identity\"" "expired reason"

# (b) Revoked: the identity CA's responder says the ICA (certificate 2) is revoked.
reset; cachecfg revoked "$FRESH"
gate 1 "device chain: certificate 2 revoked" && refused "revoked" appraise
expect err "gate: GPU-0 (0000:18:00.0): ocsp-device-chain: revoked (keyCompromise): certificate 2 \"DGA TEST GH100 Provisioner ICA 1\"" "revoked reason"
ocsp_entry "revoked" "$KEY2" '"error":null,"index":2,"next_update":"2026-12-28T09:44:32Z","response":"'"$(base64 -w0 "$ocspfx/responses/cert2-revoked.der")"'","revocation_reason":"keyCompromise","source":"cache","status":"revoked"'
ocsp_entry "revoked" "$KEY3" '"error":null,"index":3,'
expect_bundle "$DEVICE_POLICY \\\"revoked\\\"" "revoked: the device chain in the verdict"

# The root's responder does not know the identity CA (certificate 3): "unknown".
reset; cachecfg unknown "$FRESH"
gate 1 "device chain: certificate 3 unknown to its responder" && refused "unknown" appraise
expect err "gate: GPU-0 (0000:18:00.0): ocsp-device-chain: unknown: certificate 3 \"DGA TEST GH100 Identity\"" "unknown reason"
ocsp_entry "unknown" "$KEY3" '"error":null,"index":3,"next_update":"2026-12-28T09:44:32Z","response":"'"$(base64 -w0 "$ocspfx/responses/cert3-unknown.der")"'","revocation_reason":null,"source":"cache","status":"unknown"'
expect_bundle "$DEVICE_POLICY \\\"unknown\\\"" "unknown: the device chain in the verdict"

# "ocsp": "not-required" allows not checking at all, nothing more (issue 9, finding 9):
# a device chain that was checked must have a fresh "good" answer, whatever the policy.
reset; cachecfg unknown "$FRESH" "\"policy\":\"$tmp/policy.json\""
gate 1 "not-required, device chain checked: unknown" && refused "not-required unknown" appraise
expect err "gate: GPU-0 (0000:18:00.0): ocsp-device-chain: unknown: certificate 3 \"DGA TEST GH100 Identity\"" "not-required unknown reason"
expect_bundle "$DEVICE_POLICY \\\"unknown\\\", policy allows [\\\"good\\\"]" "not-required unknown: the device chain in the verdict"
expect_bundle '"ocsp":"cache"' "not-required unknown: the source in the bundle's gate"
reset; cachecfg good "$STALE" "\"policy\":\"$tmp/policy.json\""
gate 1 "not-required, device chain checked: stale" && refused "not-required stale" appraise
expect err "gate: GPU-0 (0000:18:00.0): ocsp-device-chain: ocsp-too-old: " "not-required stale reason"
expect_bundle "$DEVICE_POLICY \\\"invalid\\\", policy allows [\\\"good\\\"]" "not-required stale: the device chain in the verdict"
expect_bundle 'x-nvidia-gpu-attestation-report-cert-chain.x-nvidia-cert-ocsp-response-valid is false, policy requires true' "not-required stale: response not valid"
# The RIM chains stay relaxed under "not-required": no OCSP reason names them.
bundle | grep -qF 'x-nvidia-gpu-driver-rim-cert-chain.x-nvidia-cert-ocsp' && bad "not-required: a RIM chain's OCSP in the verdict"

# (c) certificateHold on the BROM certificate (1), under a policy that accepts a hold
# on both RIM chains (and their 2025 expiry): the device chain is never relaxed.
printf '{"version":1,"chains":{"gpu-driver-rim":{"status":["valid","expired"],"ocsp_status":["good","revoked"],"revocation_reasons":["certificateHold"]},"gpu-vbios-rim":{"status":["valid","expired"],"ocsp_status":["good","revoked"],"revocation_reasons":["certificateHold"]}}}' >"$tmp/rimhold.json"
reset; cachecfg hold "$FRESH" "\"policy\":\"$tmp/rimhold.json\""
gate 1 "device chain: certificateHold under a RIM-chain hold relaxation" && refused "hold" appraise
expect err "gate: GPU-0 (0000:18:00.0): ocsp-device-chain: revoked (certificateHold): certificate 1 \"GH100 A01 GSP BROM\"" "hold reason"
ocsp_entry "hold" "$KEY1" '"error":null,"index":1,"next_update":"2026-12-28T09:44:32Z","response":"'"$(base64 -w0 "$ocspfx/responses/cert1-hold.der")"'","revocation_reason":"certificateHold","source":"cache","status":"revoked"'
expect_bundle "$DEVICE_POLICY \\\"revoked\\\", policy allows [\\\"good\\\"]" "hold: the policy still refuses the device chain"
bundle | grep -qF 'x-nvidia-gpu-driver-rim-cert-chain.x-nvidia-cert-status' && bad "hold: the RIM relaxation was not applied"
# ... and a policy that tries to relax the device chain is a configuration error.
printf '{"version":1,"chains":{"gpu-attestation-report":{"ocsp_status":["good","revoked"],"revocation_reasons":["certificateHold"]}}}' >"$tmp/devhold.json"
reset; cachecfg hold "$FRESH" "\"policy\":\"$tmp/devhold.json\""
gate 2 "a policy relaxing a hold on the device chain"
[ -e "$tmp/log" ] && bad "device hold policy: something was emitted"

# (d) Online: an OCSP responder on 127.0.0.1 that knows only the test CAs (one
# `openssl ocsp -reqin` per request, chosen by the request's issuerKeyHash; 404 for
# any other issuer, so NVIDIA's RIM chains get collateral-http). The device chain passes
# with fresh answers (filed in the collateral directory); the run fails at a RIM chain.
resp_args=()
for ca in root identity ica; do
    h=$(openssl ocsp -issuer "$ocspfx/$ca.pem" -serial 1 -no_nonce -req_text -reqout /dev/null 2>/dev/null |
        awk '/Issuer Key Hash:/{print $4}')
    resp_args+=("$ca=$h:$ocspfx/$ca.index.txt:$ocspfx/$ca.pem:$ocspfx/$ca-responder.pem:$ocspfx/$ca-responder.key")
done
mkdir -p "$tmp/responder"
perl "$(dirname "$0")/../gate/ocsp-responder.pl" "$tmp/responder/port" "$tmp/responder" \
    "$tmp/responder/log" "${resp_args[@]}" >"$tmp/responder/out" 2>&1 &
responder=$!
trap 'kill "$responder" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/responder/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/responder/port" 2>/dev/null)
[ -n "$port" ] || bad "online: the responder did not start: $(cat "$tmp/responder/out")"
rm -rf "$tmp/col-online"; mkdir -p "$tmp/col-online"
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1 # libcurl must not send 127.0.0.1 to a proxy
reset; scenario ""
config "\"event_backend\":\"sim:$tmp/rtmr3.bin\",\"test_device_root\":\"$fx/testpki/root.pem\",\"ocsp\":\"online\",\"ocsp_url\":\"http://127.0.0.1:$port\",\"collateral_dir\":\"$tmp/col-online\""
gate 1 "online: the device chain passes OCSP, the RIM chains do not" && refused "online" appraise
expect err "gate: GPU-0 (0000:18:00.0): ocsp-driver-rim-chain: collateral-http: " "online: a RIM chain named"
expect err ": certificate 2 \"NVIDIA Reference Value GH100 CA\"" "online: the RIM chain certificate named"
for k in "$KEY3" "$KEY2" "$KEY1"; do
    ocsp_entry "online" "$k" '"error":null,'
    [ -s "$tmp/col-online/ocsp/$k.der" ] || bad "online: the answer for $k was not filed"
done
bundle | grep -qF '"chain":"device","device":"GPU-0","error":null,"index":2,' || bad "online: certificate 2"
[ "$(bundle | grep -o '"chain":"device","device":"GPU-[01]","error":null,"index":[123],"next_update":"[^"]*","response":"[^"]*","revocation_reason":null,"source":"online","status":"good"' | wc -l)" = 6 ] ||
    bad "online: not 3 good online answers for each GPU's device chain"
# One question per certificate per run (the memo): each test CA was asked once.
for ca in root identity ica; do
    [ "$(grep -c "^$ca 200$" "$tmp/responder/log")" = 1 ] || bad "online: $ca asked $(grep -c "^$ca 200$" "$tmp/responder/log") times"
done
grep -q '^- 404$' "$tmp/responder/log" || bad "online: the RIM chains were not asked"
kill "$responder" 2>/dev/null; wait "$responder" 2>/dev/null
trap 'rm -rf "$tmp"' EXIT

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

# ---- the app's gpu_policy (issue 9, finding 2) ----
# There is no Rego engine: a gpu_policy "rego" is refused (exit 2, before anything is
# measured) unless rego_equivalents names, for the SHA-256 of its exact text, a policy
# document that stands in for it; the bundle and the event then record both hashes.
REGO='package policy\ndefault nv_match := false'
REGO_SHA=$(printf "$REGO" | sha256sum | cut -d' ' -f1)
REGO_GP="\"gpu_policy\":{\"rego\":\"$REGO\"}"
printf '{"version":1,"ocsp":"not-required","devices":{"gpus":{"exact":2},"nvswitches":{"exact":0}},"hwmodels":["GH100 A01 GSP BROM"]}' >"$tmp/rego-two.json"
printf '{"version":1,"ocsp":"not-required","devices":{"gpus":{"exact":1}}}' >"$tmp/rego-one.json"
REGO_TWO_SHA=$(sha256sum "$tmp/rego-two.json" | cut -d' ' -f1)
norego() { # NAME: refused at setup, nothing measured, NVML never asked
    [ -e "$tmp/log" ] && bad "$1: something was logged"
    [ -e "$tmp/ready.txt" ] && bad "$1: NVML was called"
    expect_bundle '"step":"setup"' "$1"
}
reset; scenario ""; config "$STD,\"policy\":\"$tmp/policy.json\",$REGO_GP"
gate 2 "gpu_policy.rego without an equivalent policy" && norego "rego refused"
expect err "dstack-gpu-attest: gate: config: gpu_policy.rego needs a Rego engine; give the equivalent policy document (rego_equivalents has none for its SHA-256 $REGO_SHA)" "rego reason"
expect_bundle "\"gpu_policy_rego\":{\"equivalent_policy\":null,\"sha256\":\"$REGO_SHA\"}" "rego refused: its hash in the bundle"
reset; config "$STD,\"policy\":\"$tmp/policy.json\",$REGO_GP,\"rego_equivalents\":{\"$EMPTY_HASH\":\"$tmp/rego-two.json\"}"
gate 2 "gpu_policy.rego whose text has no equivalent (another text has)" && norego "rego other"
expect err "config: gpu_policy.rego needs a Rego engine; give the equivalent policy document" "rego other reason"

reset; config "$STD,\"policy\":\"$tmp/policy.json\",$REGO_GP,\"rego_equivalents\":{\"$REGO_SHA\":\"$tmp/rego-two.json\"}"
gate 0 "gpu_policy.rego with its equivalent policy" && passed "rego equivalent" 2
payload | grep -qF "\"gpu_policy_sha256\":\"$(printf '{"rego":"%s"}' "$REGO" | sha256sum | cut -d' ' -f1)\",\"rego_sha256\":\"$REGO_SHA\",\"rego_policy_sha256\":\"$REGO_TWO_SHA\",\"trust_roots\":\"test\"," || bad "rego: both hashes in the event"
expect_bundle "\"gpu_policy_rego\":{\"equivalent_policy\":{\"path\":\"$tmp/rego-two.json\",\"sha256\":\"$REGO_TWO_SHA\",\"verdict\":{\"pass\":true,\"reasons\":[]}},\"sha256\":\"$REGO_SHA\"}" "rego: both hashes in the bundle"
# Without a rego, the event carries neither.
reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"rego_equivalents\":{\"$REGO_SHA\":\"$tmp/rego-two.json\"}"
gate 0 "rego_equivalents but no gpu_policy.rego" && passed "no rego" 2
payload | grep -qF '"rego_' && bad "no rego: rego hashes in the event"
expect_bundle '"gpu_policy_rego":null' "no rego: null in the bundle"

# The equivalent refuses: exit 1 at the policy step, nothing emitted after the policy hash.
reset; config "$STD,\"policy\":\"$tmp/policy.json\",$REGO_GP,\"rego_equivalents\":{\"$REGO_SHA\":\"$tmp/rego-one.json\"}"
gate 1 "gpu_policy.rego's equivalent refuses" && refused "rego refuses" policy
expect err "dstack-gpu-attest: gate: devices: gpu_policy.rego: GPU count is 2, policy requires exactly 1" "rego refusal reason"
expect_bundle '"verdict":{"pass":false,"reasons":["devices: GPU count is 2, policy requires exactly 1"]}' "rego refusal: the equivalent's verdict"
[ -e "$tmp/ready.txt" ] && bad "rego refusal: the ready state was touched"
# The document is evaluated before the EAT is signed: a refusal is nvattest's 11 (relying
# party policy mismatch), with the claims, and no token; so is the policy's own refusal.
reset; config "$STD,\"policy\":\"$tmp/policy.json\",$REGO_GP,\"rego_equivalents\":{\"$REGO_SHA\":\"$tmp/rego-one.json\"},$EAT"
gate 1 "gpu_policy.rego's equivalent refuses, with an EAT key" && refused "rego refuses (eat)" policy
expect_bundle '"result_code":11,"result_message":"Relying party policy mismatch"' "rego refusal: result code 11"
expect_bundle '"detached_eat":{}' "rego refusal: no token"
expect_bundle '"claims":[{' "rego refusal: the claims kept"
reset; config "$STD,\"policy\":\"$tmp/driver550.json\",$EAT"
gate 1 "the policy refuses, with an EAT key" && refused "policy refuses (eat)" policy
expect_bundle '"result_code":11,' "policy refusal: result code 11"
expect_bundle '"detached_eat":{}' "policy refusal: no token"
# A document standing in for the rego that requires OCSP contradicts "ocsp": "off": refused
# at setup, before anything is measured or collected.
printf '{"version":1,"devices":{"gpus":{"exact":2}}}' >"$tmp/rego-ocsp.json"
reset; config "$STD,\"policy\":\"$tmp/policy.json\",$REGO_GP,\"rego_equivalents\":{\"$REGO_SHA\":\"$tmp/rego-ocsp.json\"},\"ocsp\":\"off\""
gate 2 "gpu_policy.rego's equivalent requires OCSP, ocsp off" && norego "rego ocsp off"
expect err "dstack-gpu-attest: gate: ocsp: \"off\" contradicts rego_equivalents: the document standing in for gpu_policy.rego ($tmp/rego-ocsp.json) requires OCSP" "rego ocsp off reason"
expect_bundle '"error":"gate-config"' "rego ocsp off: gate-config"

# A malformed equivalent is a config error; so are malformed rego_equivalents entries.
printf '{"version":1,"rego":"x"}' >"$tmp/rego-bad.json"
reset; config "$STD,\"policy\":\"$tmp/policy.json\",$REGO_GP,\"rego_equivalents\":{\"$REGO_SHA\":\"$tmp/rego-bad.json\"}"
gate 2 "gpu_policy.rego's equivalent is not a policy document" && norego "rego bad equivalent"
expect err "gate: config: gpu_policy.rego: equivalent policy $tmp/rego-bad.json: policy-invalid: " "rego bad equivalent reason"
reset; config "$STD,\"policy\":\"$tmp/policy.json\",$REGO_GP,\"rego_equivalents\":{\"$REGO_SHA\":\"$tmp/no-such.json\"}"
gate 3 "gpu_policy.rego's equivalent is missing"
expect err "gate: config: gpu_policy.rego: equivalent policy $tmp/no-such.json: io: " "rego missing equivalent reason"
for bad_entry in "\"$(echo "$REGO_SHA" | tr a-f A-F)\":\"$tmp/rego-two.json\"" \
    "\"${REGO_SHA%?}\":\"$tmp/rego-two.json\"" "\"${REGO_SHA}0\":\"$tmp/rego-two.json\"" \
    "\"${REGO_SHA%?}g\":\"$tmp/rego-two.json\"" "\"$REGO_SHA\":\"\"" "\"$REGO_SHA\":7"; do
    reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"rego_equivalents\":{$bad_entry}"
    gate 2 "malformed rego_equivalents entry {$bad_entry}"
    expect err "gate-config: the gate configuration is malformed, has an unknown key, or a value out of range (key rego_equivalents" "rego_equivalents named"
done
for bad_map in '{}' '[]' '"x"'; do
    reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"rego_equivalents\":$bad_map"
    gate 2 "malformed rego_equivalents $bad_map"; expect err "(key rego_equivalents" "rego_equivalents $bad_map named"
done

# A gpu_policy key the gate does not understand is a check it would not run: refused,
# as is a known key of the wrong type (dstack's GpuPolicy denies both).
reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"gpu_policy\":{\"allow_devtools\":false,\"require_h200\":true}"
gate 2 "unknown gpu_policy key" && norego "unknown gpu_policy key"
expect err "dstack-gpu-attest: gate: config: gpu_policy.require_h200: unknown key: the gate does not run a check it does not understand" "unknown gpu_policy key reason"
reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"gpu_policy\":{\"x\\ny\":1}"
gate 2 "unknown gpu_policy key with a newline" && expect err "gate: config: gpu_policy.x?y: unknown key" "newline key printable"
[ "$(grep -c . "$tmp/err")" = 2 ] || bad "newline key: not one reason line and the bundle line"
for typed in '"attest_gpu":"false"' '"allow_devtools":1' '"allow_debug":null' '"allow_insecure_boot":"yes"'; do
    reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"gpu_policy\":{$typed}"
    gate 2 "gpu_policy {$typed}" && norego "gpu_policy {$typed}"
    expect err "gate: config: gpu_policy.$(echo "$typed" | cut -d'"' -f2): must be a boolean" "gpu_policy {$typed} reason"
done
reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"gpu_policy\":{\"rego\":true}"
gate 2 "gpu_policy rego not a string"; expect err "gate: config: gpu_policy.rego: must be a string" "rego type reason"

# allow_debug and allow_insecure_boot are honoured as docs/policy.md says: they drop the
# dbgstat / secboot requirement of the policy (shown on claims in unit_policy
# test_relax_measurements), and the bundle records it.
reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"gpu_policy\":{\"allow_debug\":true,\"allow_insecure_boot\":true}"
gate 0 "gpu_policy allow_debug and allow_insecure_boot" && passed "debug knobs" 2
expect_bundle '"debug_allowed":true,' "allow_debug recorded"
expect_bundle '"insecure_boot_allowed":true,' "allow_insecure_boot recorded"
reset; config "$STD,\"policy\":\"$tmp/policy.json\",\"gpu_policy\":{\"allow_debug\":false}"
gate 0 "gpu_policy allow_debug false" && passed "debug knobs off" 2
expect_bundle '"debug_allowed":false,' "allow_debug false recorded"
expect_bundle '"insecure_boot_allowed":false,' "allow_insecure_boot absent recorded"

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
reset; config "$STD,\"policy\":\"$tmp/policy.json\",$EAT"
gate 0 "with an EAT key" && passed "eat" 2
expect_bundle '"detached_eat":[["JWT","ey' "signed EAT in the bundle"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
