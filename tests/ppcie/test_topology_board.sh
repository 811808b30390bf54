#!/usr/bin/env bash
# An HGX PPCIe board (8 H100 GPUs, 4 LS10 NVSwitches) end to end on the fakes: `collect --nscq`
# on the fake NVML and the fake NSCQ (scenarios from make_board.sh), the output split into
# nvattest's GPU and NVSwitch evidence JSON, then `topology check` under the test root. The
# board passes; each failure pattern fails with its own error and reason, asserted exactly;
# an NSCQ error and an NSCQ hang fail the collection (exit 3, no output file).
#   test_topology_board.sh BINARY LIBFAKE_NVML LIBFAKE_NSCQ
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cli/lib.sh"
. "$here/lib.sh"
board_init "$@"

N=$(printf 'b0a2d%.0s' $(seq 12))abcd
OTHER=$(printf 'cd%.0s' $(seq 32))
P=(7e570c1e00000000 7e570c1e00000001 7e570c1e00000002 7e570c1e00000003
    7e570c1e00000004 7e570c1e00000005 7e570c1e00000006 7e570c1e00000007)

# board WANT_RC NAME [--policy FILE] [KNOB...]: the board (make_board.sh), collected and checked.
board() {
    local want=$1 name=$2 policy=()
    shift 2
    if [ "${1:-}" = --policy ]; then
        policy=(--policy "$2")
        shift 2
    fi
    collect_board "$name" "$@" || return
    run "$want" "$name" -- topology check --gpu-evidence "$tmp/gpus.json" \
        --switch-evidence "$tmp/switches.json" --nonce "$N" --trust-root "$fx/testpki/root.pem" \
        "${policy[@]}"
}
# fails ERROR TEXT NAME: the summary line on stderr names the first finding exactly.
fails() {
    expect_line out "  $1: $2" "$3 finding"
    expect err "dstack-gpu-attest: topology: $1: $2 (" "$3 summary"
    expect_line out "verdict: FAIL (CUSTOM trust root, not NVIDIA's)" "$3 verdict"
}

board 0 "8x4 board passes"
expect_line out "topology: expected 8 GPUs and 4 NVSwitches, seen 8 and 4: PASS" "pass counts"
expect_line out "verdict: PASS (CUSTOM trust root, not NVIDIA's)" "pass verdict"
expect_line out "GPU-7: PDI 7e570c1e00000007 (certificate), 18 NVLinks to 4 NVSwitches" "gpu pdi"
expect_line out "  -> 5e57c0de00000000 x5: SWITCH-0" "link 0"
expect_line out "  -> 5e57c0de00000003 x4: SWITCH-3" "link 3"
expect_line out "SWITCH-3: PDI 5e57c0de00000003, position 3, lock status 1" "switch view"
expect_line out "  names 7e570c1e00000005: GPU-5" "switch names gpu"
[ "$(grep -c 'report PASS$' "$tmp/out")" = 12 ] || { echo "FAIL 12 devices pass"; failures=$((failures + 1)); }
[ "$(grep -c '^  -> ' "$tmp/out")" = 32 ] || { echo "FAIL 32 links"; failures=$((failures + 1)); }
[ "$(grep -c '^  names ' "$tmp/out")" = 32 ] || { echo "FAIL 32 named GPUs"; failures=$((failures + 1)); }
[ "$(jq -r '.switches.evidences[0].tnvl_status' "$tmp/ev.json")" = 3 ] || { echo "FAIL tnvl 3"; failures=$((failures + 1)); }

board 1 "4 copies of one switch" --switch-pdi 1 5e57c0de00000000 --switch-pdi 2 5e57c0de00000000 \
    --switch-pdi 3 5e57c0de00000000 --position 1 0 --position 2 0 --position 3 0
fails topology-switch-duplicate "SWITCH-1 has PDI 0x5e57c0de00000000, as SWITCH-0 does" copies
expect_line out "  topology-switch-position: SWITCH-3 has position 0, as SWITCH-0 does" "copies position"

board 1 "switches name a GPU not attested" --gpu-pdis "${P[*]:0:7} 0badc0de00000008"
fails topology-unknown-gpu "SWITCH-0 names GPU PDI 0x0badc0de00000008 that no attested GPU has" unknown
expect_line out "  topology-gpu-unlisted: GPU-7 (PDI 0x7e570c1e00000007 in its certificate) is named by no NVSwitch" "unknown unlisted"

board 1 "one switch names a GPU not attested" --switch-gpus 2 "${P[*]:0:7} 0badc0de00000008"
fails topology-switch-gpu-set "SWITCH-2 names GPU PDI 0x0badc0de00000008, SWITCH-0 does not" one-unknown
expect_line out "  topology-unknown-gpu: SWITCH-2 names GPU PDI 0x0badc0de00000008 that no attested GPU has" "one-unknown cert rule"

board 1 "a GPU sees 3 switches" --gpu-links 5 0,1,2
fails topology-gpu-switch-count "GPU-5 links to 3 distinct NVSwitches, expected 4" three
expect_line out "GPU-5: PDI 7e570c1e00000005 (certificate), 18 NVLinks to 3 NVSwitches" "three view"

board 1 "a switch not locked (TLV 25 0)" --lock 2 0
fails topology-switch-not-locked "SWITCH-2 signed lock status (TLV 25) is 0, expected 1" lock

# NSCQ's TNVL status is not in nvattest's files, so topology check cannot see it (docs/ppcie.md,
# Residuals): the collection records -1, the check passes on the signed lock and says so.
board 0 "NSCQ TNVL -1 is not seen by topology check" --tnvl 2 -1
[ "$(jq -r '.switches.evidences[2].tnvl_status' "$tmp/ev.json")" = -1 ] || { echo "FAIL tnvl -1 collected"; failures=$((failures + 1)); }
expect_line out "note: the NVSwitch TNVL/lock status from NSCQ is not in the evidence (nor signed); the signed lock status (TLV 25) is checked" "tnvl note"

board 1 "a CC-only GPU among PPCIe GPUs" --cc-gpu 3
fails topology-mixed-mode "GPU-3 is CC-only (protected PCIe status 0x55, feature flag 0, switch PDIs present) among 7 PPCIe GPUs" mixed

board 1 "switch evidence on another nonce" --switch-nonce 1 "$OTHER"
fails topology-nonce "SWITCH-1 reports nonce $OTHER, the set's nonce is $N" nonce
expect_line out "SWITCH-1 (ls10): report FAIL (nonce: nonce-mismatch)" "nonce report level"

board 1 "7 GPUs" --gpus 7
fails topology-gpu-count "GPUs attested: 7, expected 8" seven
expect_line out "  topology-unknown-gpu: SWITCH-0 names GPU PDI 0x7e570c1e00000007 that no attested GPU has" "seven unknown"

# The certificate-PDI rule: the switches agree on 8 GPU PDIs (NVIDIA's check passes), the
# GPUs' own PDIs byte-reversed, which are not the PDIs in the GPUs' certificates.
REV=$(for i in 0 1 2 3 4 5 6 7; do printf '%02x0000001e0c577e ' "$i"; done)
board 1 "switches name PDIs that are not the certificates' (rule on)" --gpu-pdis "$REV"
fails topology-unknown-gpu "SWITCH-0 names GPU PDI 0x000000001e0c577e that no attested GPU has" cert-rule
expect_line out "  topology-gpu-unlisted: GPU-7 (PDI 0x7e570c1e00000007 in its certificate) is named by no NVSwitch" "cert-rule unlisted"
echo '{"ppcie": {"gpu_pdi_in_cert": false}}' >"$tmp/rule-off.json"
board 0 "the same board with the rule off" --policy "$tmp/rule-off.json" --gpu-pdis "$REV"
expect_line out "topology: expected 8 GPUs and 4 NVSwitches, seen 8 and 4: PASS" "rule off passes"

# Collection failures: nothing written. The deadline leaves 8 GPUs time to answer under a
# sanitizer on a loaded machine; the hanging switch never does.
C=(collect --nvml "$nvml" --nscq "$nscq" --sysfs "$tmp/b/pci" --nonce "$N" --out "$tmp/ev.json")
rm -f "$tmp/ev.json"
"$here/make_board.sh" "$tmp/b" --nscq-extra '"fail":{"call":"nscq_session_path_observe","path":"attestation","rc":-7,"switch":3}'
run 3 "NSCQ error" -- "${C[@]}"
expect_line err "dstack-gpu-attest: collect: nscq-driver: nscq_session_path_observe /SWITCH-505152535455565758595a5b5c5d5e03/config/attestation_report (NVSwitch 3 SWITCH-505152535455565758595a5b5c5d5e03): NSCQ: driver error (rc -7) (NSCQ code -7)" "nscq error reason"
[ ! -e "$tmp/ev.json" ] || { echo "FAIL NSCQ error wrote $tmp/ev.json"; failures=$((failures + 1)); }
"$here/make_board.sh" "$tmp/b" --nscq-extra '"hang":{"call":"nscq_session_path_observe","path":"attestation","ms":60000,"switch":1}'
run 3 "NSCQ hang" -- "${C[@]}" --timeout-ms 8000
expect err "dstack-gpu-attest: collect: nscq-timeout: collection child" "nscq hang reason"
[ ! -e "$tmp/ev.json" ] || { echo "FAIL NSCQ hang wrote $tmp/ev.json"; failures=$((failures + 1)); }

cli_done "PPCIe board tests"
