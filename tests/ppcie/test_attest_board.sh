#!/usr/bin/env bash
# `attest --switch-evidence` on the fake HGX PPCIe board (make_board.sh, collected on the fake
# NVML and NSCQ as test_topology_board.sh does): the set's mode rule end to end. The board's
# GPUs re-sign NVIDIA's H100 590.12 PPCIe report, whose driver RIM is not public: every GPU
# fails its full appraisal at driver-rim (asserted), while the NVSwitches appraise whole
# against the real LS10 BIOS RIM (31/31). So the verdict fails on every run; what is asserted
# is the topology section, the per-device outcome and each mode or topology reason, exactly.
#   test_attest_board.sh BINARY LIBFAKE_NVML LIBFAKE_NSCQ
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cli/lib.sh"
. "$here/lib.sh"
board_init "$@"

N=$(printf 'b0a2d%.0s' $(seq 12))abcd
mkdir -p "$tmp/rims"
cp "$fx/nvswitch/ls10_96.10.55.00.01/rims/"*.xml "$tmp/rims/"
echo '{"version": 1, "ocsp": "not-required"}' >"$tmp/policy.json"
A=(attest --evidence "$tmp/gpus.json" --switch-evidence "$tmp/switches.json" --nonce "$N"
    --rim-dir "$tmp/rims" --trust-root "$fx/testpki/root.pem" --policy "$tmp/policy.json"
    --ocsp off --at 2026-06-01T00:00:00Z)
TLV21="mode-ppcie-evidence: TLV 21 (protected PCIe status) is 0xAA"

# no_reason PATTERN NAME: no verdict reason (stdout "  - ...") matches.
no_reason() {
    if grep -q -- "^  - .*$1" "$tmp/out"; then
        echo "FAIL $2: a reason matches '$1'"; failures=$((failures + 1))
    fi
}

# The board: the topology passes; the GPUs fail on their driver RIM, the switches appraise.
collect_board "board" || exit 1
run 1 "board, ppcie by default" -- "${A[@]}"
expect_line out "mode: ppcie" "ppcie mode line"
expect_line out "topology: expected 8 GPUs and 4 NVSwitches, seen 8 and 4: PASS" "topology passes"
expect_line out "GPU-7: PDI 7e570c1e00000007 (certificate), 18 NVLinks to 4 NVSwitches" "gpu view"
expect_line out "  -> 5e57c0de00000003 x4: SWITCH-3" "gpu link"
expect_line out "SWITCH-3: PDI 5e57c0de00000003, position 3, lock status 1" "switch view"
expect_line out "  names 7e570c1e00000005: GPU-5" "switch names gpu"
expect_line out "SWITCH-3 (ls10) BIOS 96.10.55.00.01: appraised" "switch appraised"
expect_line out "  measurements 31 of 31 golden values compared: 0 mismatches" "switch measurements"
expect_line out "GPU-0 (hopper) VBIOS 96.00.A5.00.01, driver 590.12: FAILED" "gpu fails"
expect_line out "  - GPU-7: driver-rim: RIM not found: NV_GPU_DRIVER_GH100_590.12" "gpu reason"
[ "$(grep -c ': appraised$' "$tmp/out")" = 4 ] || { echo "FAIL 4 switches appraised"; failures=$((failures + 1)); }
no_reason "topology" "board: no topology reason"
no_reason ": mode: " "board: no mode reason"
# the section is topology check's own, line for line
sed -n '/^GPU-0: PDI/,/^topology: expected/p' "$tmp/out" >"$tmp/attest_section"
run 0 "board: topology check" -- topology check --gpu-evidence "$tmp/gpus.json" \
    --switch-evidence "$tmp/switches.json" --nonce "$N" --trust-root "$fx/testpki/root.pem"
sed -n '/^GPU-0: PDI/,/^topology: expected/p' "$tmp/out" >"$tmp/check_section"
[ -s "$tmp/attest_section" ] && cmp -s "$tmp/attest_section" "$tmp/check_section" ||
    { echo "FAIL the topology sections differ"; diff "$tmp/attest_section" "$tmp/check_section" | head -5; failures=$((failures + 1)); }

run 1 "board, json" -- "${A[@]}" --format json
[ "$(jq -r '[.mode, .topology.result, .topology.seen.gpus, .topology.seen.switches, .result_code] | join(" ")' "$tmp/out")" = "ppcie pass 8 4 104" ] ||
    { echo "FAIL board json"; jq -c '[.mode, .topology.result, .result_code]' "$tmp/out"; failures=$((failures + 1)); }

# Any: no mode rule, no topology (today's attest).
run 1 "board, --mode any" -- "${A[@]}" --mode any
if grep -q '^mode: \|^topology: expected' "$tmp/out"; then echo "FAIL any: mode or topology printed"; failures=$((failures + 1)); fi
no_reason ": mode: " "any: no mode reason"
run 1 "board, --mode any json" -- "${A[@]}" --mode any --format json
[ "$(jq -r '[.mode, (.topology == null)] | join(" ")' "$tmp/out")" = "any true" ] || { echo "FAIL any json"; failures=$((failures + 1)); }

# CC: every GPU's signed evidence is PPCIe, every switch is refused.
run 1 "board, --mode cc" -- "${A[@]}" --mode cc
expect_line out "mode: cc" "cc mode line"
expect_line out "  - GPU-3: mode: $TLV21" "cc gpu reason"
expect_line out "  - SWITCH-2: mode: mode-switch-in-cc: an NVSwitch in a single-GPU CC set" "cc switch reason"
expect_line err "dstack-gpu-attest: GPU-0: mode: $TLV21" "cc stderr"
[ "$(grep -c '^  - .*: mode: ' "$tmp/out")" = 12 ] || { echo "FAIL cc: 12 mode reasons"; failures=$((failures + 1)); }
if grep -q '^topology: expected' "$tmp/out"; then echo "FAIL cc: topology printed"; failures=$((failures + 1)); fi

# A failing topology is a hard failure of the set, with each finding as a reason.
collect_board "copies" --switch-pdi 1 5e57c0de00000000 --switch-pdi 2 5e57c0de00000000 \
    --switch-pdi 3 5e57c0de00000000 --position 1 0 --position 2 0 --position 3 0 || exit 1
run 1 "4 copies of one switch" -- "${A[@]}"
expect_line out "  - topology: topology-switch-duplicate: SWITCH-1 has PDI 0x5e57c0de00000000, as SWITCH-0 does" "copies reason"
expect_line out "  - topology: topology-switch-position: SWITCH-3 has position 0, as SWITCH-0 does" "copies position"
expect_line out "  topology-switch-duplicate: SWITCH-1 has PDI 0x5e57c0de00000000, as SWITCH-0 does" "copies finding"
run 1 "4 copies, json" -- "${A[@]}" --format json
[ "$(jq -r '[.topology.result, .topology.error] | join(" ")' "$tmp/out")" = "fail topology-switch-duplicate" ] ||
    { echo "FAIL copies json"; failures=$((failures + 1)); }
jq -e '.verdict.reasons | index("topology: topology-switch-duplicate: SWITCH-1 has PDI 0x5e57c0de00000000, as SWITCH-0 does") != null' "$tmp/out" >/dev/null ||
    { echo "FAIL copies json reason"; failures=$((failures + 1)); }

collect_board "seven" --gpus 7 || exit 1
run 1 "7 GPUs" -- "${A[@]}"
expect_line out "  - topology: topology-gpu-count: GPUs attested: 7, expected 8" "seven reason"
echo '{"version": 1, "ocsp": "not-required", "ppcie": {"gpus": 7}}' >"$tmp/seven.json"
run 1 "7 GPUs, policy counts 7" -- "${A[@]}" --policy "$tmp/seven.json"
expect_line out "topology: expected 7 GPUs and 4 NVSwitches, seen 7 and 4: FAIL" "policy counts"
expect_line out "  - topology: topology-unknown-gpu: SWITCH-0 names GPU PDI 0x7e570c1e00000007 that no attested GPU has" "seven unknown"

# Usage.
run 2 "bad mode" -- "${A[@]}" --mode PPCIe
expect_line err "dstack-gpu-attest: --mode: expected any, cc or ppcie" "bad mode"
run 2 "gpus as switch evidence" -- "${A[@]}" --switch-evidence "$tmp/gpus.json"
expect_line err "dstack-gpu-attest: --switch-evidence: item 0 is hopper evidence, expected NVSwitch" "swapped"

cli_done "PPCIe board attest tests"
