#!/usr/bin/env bash
# topology check, driven as an operator would, on the two real PPCIe vectors: the H100
# 590.12 PPCIe GPU (tests/fixtures/gpu/h100_590.12_ppcie, nonce N2) and the LS10 switch
# (tests/fixtures/nvswitch/ls10_96.10.55.00.01, nonce N1, as nvattest's switch evidence
# JSON built here from its report and chain). They are not one system (NVIDIA's own test
# data: the GPU links to the switches 03db.., 3a53.., 666e.., 9ae3..; the switch is
# 203eb31a.. and names 7 distinct GPUs, none of them this GPU), so every run must fail
# with the named topology error and exit 1; each outcome is asserted exactly.
#   test_topology.sh BINARY
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cli_init "$1"
fx=${DGA_FIXTURES:-$here/../fixtures}

GPU=$fx/gpu/h100_590.12_ppcie/evidence.json
LS10=$fx/nvswitch/ls10_96.10.55.00.01
N1=931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb
N2=e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576
AT=2026-06-01T00:00:00Z

# nvattest's switch evidence JSON (collect-evidence --device nvswitch --format json).
report_b64=$(xxd -r -p "$LS10/report.hex" | base64 -w0)
chain_b64=$(base64 -w0 <"$LS10/certchain.pem")
printf '{"evidences":[{"arch":"LS10","certificate":"%s","evidence":"%s","nonce":"%s"}]}\n' \
    "$chain_b64" "$report_b64" "$N1" >"$tmp/switch.json"
echo '{"ppcie": {"gpus": 1, "switches": 1}}' >"$tmp/one.json"
echo '{"ppcie": {"gpus": 1, "switches": 1, "gpu_pdi_in_cert": false}}' >"$tmp/one-nvidia.json"

topo() { # WANT_RC NAME ARGS...
    local want=$1 name=$2
    shift 2
    run "$want" "$name" -- topology check --gpu-evidence "$GPU" --switch-evidence \
        "$tmp/switch.json" --at $AT "$@"
}
jq_is() { # FILTER WANT NAME: jq -r FILTER of out is WANT
    local got
    got=$(jq -r "$1" "$tmp/out" 2>&1)
    if [ "$got" != "$2" ]; then
        echo "FAIL $3: $1 is '$got', want '$2'"
        failures=$((failures + 1))
    fi
}

# HGX counts (8, 4): the counts fail first; the switch is on N1, not the set's N2.
topo 1 "hgx counts" --nonce $N2
expect_line out "GPU-0 (hopper): report PASS" "gpu passes at report level"
expect_line out "SWITCH-0 (ls10): report FAIL (nonce: nonce-mismatch)" "switch nonce"
expect_line out "  topology-gpu-count: GPUs attested: 1, expected 8" "gpu count"
expect_line out "  topology-switch-count: NVSwitches attested: 1, expected 4" "switch count"
expect_line out "  topology-nonce: SWITCH-0 reports nonce $N1, the set's nonce is $N2" "nonce"
expect_line out "  -> 3a53b743d811e977 x5: no attested NVSwitch" "link 0 reversed"
expect_line out "SWITCH-0: PDI 203eb31ad9ed0008, position 2, lock status 1" "switch view"
expect_line out "verdict: FAIL" "verdict"
expect_line err "dstack-gpu-attest: topology: topology-gpu-count: GPUs attested: 1, expected 8 (13 findings)" "summary"

# Counts 1/1: still the PDI relation fails, with the exact reason (§5.2 of NVIDIA's data).
topo 1 "counts 1/1" --nonce $N2 --policy "$tmp/one.json"
expect_line out "topology: expected 1 GPUs and 1 NVSwitches, seen 1 and 1: FAIL" "1/1 counts"
expect_line out "  topology-switch-unknown: SWITCH-0 has PDI 0x203eb31ad9ed0008, which is not an NVSwitch GPU-0 links to" "pdi relation"
expect_line out "  topology-gpu-switch-count: GPU-0 links to 4 distinct NVSwitches, expected 1" "gpu sees 4"
expect_line out "  topology-switch-gpu-count: SWITCH-0 names 7 distinct GPUs, expected 1" "switch names 7"
expect_line out "  topology-unknown-gpu: SWITCH-0 names GPU PDI 0x40b9c6b3d748fd90 that no attested GPU has" "unknown gpu"
expect_line out "  topology-gpu-unlisted: GPU-0 (PDI 0x2921ce551e4eeda3 in its certificate) is named by no NVSwitch" "unlisted"
# The certificate-PDI rule off: its findings go; the relation stays, and the switch's
# position 2 is out of range for one NVSwitch.
topo 1 "counts 1/1 nvidia rules" --nonce $N2 --policy "$tmp/one-nvidia.json" --json
jq_is .result fail "json result"
jq_is .topology.error topology-nonce "json first error"
jq_is '[.topology.findings[].error] | join(",")' \
    "topology-nonce,topology-gpu-switch-count,topology-switch-unknown,topology-switch-gpu-count,topology-switch-position" \
    "json findings"
jq_is '.topology.rules.gpu_pdi_in_cert' false "json rule off"
jq_is '.topology.gpus[0].switches[0] | "\(.pdi) \(.links) \(.switch)"' "3a53b743d811e977 5 null" "json link"
jq_is '.topology.switches[0] | "\(.pdi) \(.position) \(.lock_status) \(.certificate_pdi)"' \
    "203eb31ad9ed0008 2 1 203eb31ad9ed0008" "json switch"
jq_is '.topology.gpus[0] | "\(.pdi) \(.protected_pcie) \(.feature_flag) \(.nvlinks)"' \
    "2921ce551e4eeda3 true 2 18" "json gpu"
jq_is '[.devices[] | "\(.label):\(.result)"] | join(",")' "GPU-0:pass,SWITCH-0:fail" "json devices"

# On the switch's nonce the GPU fails at report level instead.
topo 1 "switch nonce" --nonce $N1 --policy "$tmp/one.json"
expect_line out "GPU-0 (hopper): report FAIL (nonce: nonce-mismatch)" "gpu nonce"
expect_line out "SWITCH-0 (ls10): report PASS" "switch passes"

# Usage and input errors.
run 2 "no nonce" -- topology check --gpu-evidence "$GPU" --switch-evidence "$tmp/switch.json"
expect_line err "dstack-gpu-attest: topology check: --nonce is required" "nonce required"
run 2 "swapped files" -- topology check --gpu-evidence "$tmp/switch.json" \
    --switch-evidence "$GPU" --nonce $N2
expect_line err "dstack-gpu-attest: --gpu-evidence: item 0 is ls10 evidence, expected GPU" "swapped"
echo '{"ppcie": {"gpus": 0}}' >"$tmp/zero.json"
topo 2 "bad policy" --nonce $N2 --policy "$tmp/zero.json"
expect err "[policy-invalid] (ppcie.gpus)" "policy field"
run 3 "missing file" -- topology check --gpu-evidence "$tmp/none.json" \
    --switch-evidence "$tmp/switch.json" --nonce $N2
run 0 "help" -- topology check --help
expect out "Usage: dstack-gpu-attest topology check" "usage"

cli_done "topology CLI tests"
