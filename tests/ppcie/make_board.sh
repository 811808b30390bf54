#!/usr/bin/env bash
# Writes the fakes' scenario pair for an HGX PPCIe board (8 H100 GPUs, 4 LS10 NVSwitches) and
# the PCI tree `collect --sysfs` reads, from a few knobs, so each end-to-end case of
# test_topology_board.sh is one call:
#   make_board.sh OUTDIR [KNOB...]
# writes OUTDIR/nvml.json (DGA_FAKE_NVML_SCENARIO), OUTDIR/nscq.json (DGA_FAKE_NSCQ_SCENARIO),
# OUTDIR/gpu_report.hex and OUTDIR/pci/. The GPUs re-sign the real H100 590.12 PPCIe report
# (tests/fixtures/gpu/h100_590.12_ppcie: the default 545.00 report has no TLV 21, 22 or 36)
# with the board's test chains (tests/fixtures/testpki/ppcie: GPU i's BROM carries its PDI
# P_i = 7e570c1e000000<ii>); the NVSwitches the real LS10 report with the switch test leaves.
# Switch j's own PDI is S_j = 5e57c0de000000<jj> (its TLV 22, as stored); each GPU's TLV 22 holds
# 18 links, S_j byte-reversed (as NVIDIA reads them), 5, 5, 4 and 4 links to switches 0..3;
# every switch names P_0..P_7 in TLV 26, sits at position j (TLV 24), lock 1 (TLV 25), TNVL 3.
# Knobs:
#   --gpus N               GPUs on the board (default 8)
#   --switches N           NVSwitches (default 4)
#   --gpu-links I J,J,..   GPU I links only to these switches (the other links are unused: zero)
#   --cc-gpu I             GPU I is CC-only: TLV 21 0x55, TLV 36 0
#   --switch-pdi J HEX     switch J's own PDI
#   --switch-gpus J "HEX.."  the 8 GPU PDIs switch J names (space-separated, as stored)
#   --gpu-pdis "HEX.."     the 8 GPU PDIs every switch names
#   --position J N         switch J's TLV 24
#   --lock J N             switch J's TLV 25
#   --tnvl J N             switch J's NSCQ TNVL status
#   --switch-nonce J HEX   switch J signs this nonce instead of the one asked for
#   --nscq-extra JSON      extra members for the NSCQ scenario (injections)
#   --gpu-report 545       the GPUs re-sign the H100 545.00 CC report instead (its RIMs exist, so
#                          the gate can appraise the board), with TLVs 21, 36 and 22 added by the
#                          fake NVML, under tests/fixtures/testpki/ppcie545 (leaves with its FWID)
#   --nvml-extra JSON      extra members for the NVML scenario (ready_record, injections)
#   --cc J,K               NVML's CC settings: ccFeature, multiGpuMode (default 0,1: PPCIe)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fx=${DGA_FIXTURES:-$here/../fixtures}
fx=$(cd "$fx" && pwd)
out=$1
shift
mkdir -p "$out"

gpu_pdi() { printf '7e570c1e000000%02x' "$1"; }
switch_pdi() { printf '5e57c0de000000%02x' "$1"; }
reverse() { echo "$1" | fold -w2 | tac | tr -d '\n'; }
# The switch each of a GPU's 18 links goes to: 5, 5, 4, 4 links.
link_to=(0 0 1 1 2 2 3 3 0 1 2 3 0 1 2 3 0 1)

gpus=8 switches=4 nscq_extra="" nvml_extra="" gpu_report=590 cc=0,1
declare -A gpu_links cc_gpu sw_pdi sw_gpus position lock tnvl sw_nonce
all_gpus=""
while [ $# -gt 0 ]; do
    case $1 in
    --gpus) gpus=$2; shift 2 ;;
    --switches) switches=$2; shift 2 ;;
    --gpu-links) gpu_links[$2]=$3; shift 3 ;;
    --cc-gpu) cc_gpu[$2]=1; shift 2 ;;
    --switch-pdi) sw_pdi[$2]=$3; shift 3 ;;
    --switch-gpus) sw_gpus[$2]=$3; shift 3 ;;
    --gpu-pdis) all_gpus=$2; shift 2 ;;
    --position) position[$2]=$3; shift 3 ;;
    --lock) lock[$2]=$3; shift 3 ;;
    --tnvl) tnvl[$2]=$3; shift 3 ;;
    --switch-nonce) sw_nonce[$2]=$3; shift 3 ;;
    --nscq-extra) nscq_extra=$2; shift 2 ;;
    --gpu-report) gpu_report=$2; shift 2 ;;
    --cc) cc=$2; shift 2 ;;
    --nvml-extra) nvml_extra=$2; shift 2 ;;
    *) echo "make_board.sh: unknown knob $1" >&2; exit 2 ;;
    esac
done
[ -n "$all_gpus" ] || all_gpus=$(for i in $(seq 0 7); do gpu_pdi "$i"; echo; done | tr '\n' ' ')
# A malformed PDI would leave the recorded one in place (the fakes skip it): refuse it here.
# shellcheck disable=SC2048,SC2086 # split on purpose: each is a list of PDIs
for p in $all_gpus ${sw_gpus[*]} ${sw_pdi[*]}; do
    [[ $p =~ ^[0-9a-f]{16}$ ]] || { echo "make_board.sh: bad PDI $p" >&2; exit 2; }
done

case $gpu_report in
590)
    jq -r '.[0].evidence' "$fx/gpu/h100_590.12_ppcie/evidence.json" | base64 -d | xxd -p -c 64 \
        >"$out/gpu_report.hex"
    chains=$fx/testpki/ppcie driver=590.12
    ;;
545)
    cp "$fx/gpu/h100_545.00/report.hex" "$out/gpu_report.hex"
    chains=$fx/testpki/ppcie545 driver=545.00
    ;;
*) echo "make_board.sh: --gpu-report 590 or 545" >&2; exit 2 ;;
esac

# GPU i's TLV 22 entries, as stored (pure bash: this runs 8 x 18 times per board).
rev=()
for j in 0 1 2 3; do rev[j]=$(reverse "$(switch_pdi "$j")"); done
gpu_entries() {
    local k j set=",${gpu_links[$1]:-0,1,2,3}," json="" sep=""
    for k in "${!link_to[@]}"; do
        j=${link_to[$k]}
        if [[ $set == *",$j,"* ]]; then
            json+="$sep\"${rev[j]}\""
        else
            json+="$sep\"0000000000000000\""
        fi
        sep=,
    done
    echo "[$json]"
}
{
    links="[" pp="[" ff="["
    for i in $(seq 0 $((gpus - 1))); do
        sep=,
        [ "$i" -gt 0 ] || sep=""
        links+="$sep$(gpu_entries "$i")"
        if [ -n "${cc_gpu[$i]:-}" ]; then pp+="${sep}85" ff+="${sep}0"; else pp+="${sep}170" ff+="${sep}2"; fi
    done
    printf '{"report":"gpu_report.hex","chains":"%s","gpus":%s,"cc_feature":%s,"multi_gpu_mode":%s,' \
        "$chains" "$gpus" "${cc%,*}" "${cc#*,}"
    printf '"driver_version":"%s","protected_pcie":%s],"feature_flag":%s],"switch_pdis":%s]%s}\n' \
        "$driver" "$pp" "$ff" "$links" "${nvml_extra:+,$nvml_extra}"
} >"$out/nvml.json"

{
    pdis="[" gl="[" pos="[" lk="[" tv="[" nn="["
    for j in $(seq 0 $((switches - 1))); do
        sep=,
        [ "$j" -gt 0 ] || sep=""
        pdis+="$sep\"${sw_pdi[$j]:-$(switch_pdi "$j")}\""
        gl+="$sep$(tr -s ' ' '\n' <<<"${sw_gpus[$j]:-$all_gpus}" | sed '/^$/d' | jq -R . | jq -sc .)"
        pos+="$sep${position[$j]:-$j}" lk+="$sep${lock[$j]:-1}" tv+="$sep${tnvl[$j]:-3}"
        nn+="$sep$([ -n "${sw_nonce[$j]:-}" ] && echo "\"${sw_nonce[$j]}\"" || echo null)"
    done
    printf '{"report":"%s","chain":"%s","switches":%s,' \
        "$fx/nvswitch/ls10_96.10.55.00.01/report.hex" "$fx/testpki/certchain.pem" "$switches"
    printf '"pdis":%s],"gpu_pdis":%s],"positions":%s],"locks":%s],"tnvl":%s],"nonces":%s]%s}\n' \
        "$pdis" "$gl" "$pos" "$lk" "$tv" "$nn" "${nscq_extra:+,$nscq_extra}"
} >"$out/nscq.json"
jq -e . "$out/nvml.json" "$out/nscq.json" >/dev/null
# The fake NSCQ patches TLV 26 only from exactly 8 PDIs: anything else is a mistake here.
jq -e '[.gpu_pdis[] | length == 8] | all' "$out/nscq.json" >/dev/null ||
    { echo "make_board.sh: a switch must name exactly 8 GPU PDIs" >&2; exit 2; }

pci_entry() { # ADDR VENDOR DEVICE CLASS
    mkdir -p "$out/pci/$1"
    printf '%s\n' "$2" >"$out/pci/$1/vendor"
    printf '%s\n' "$3" >"$out/pci/$1/device"
    printf '%s\n' "$4" >"$out/pci/$1/class"
}
rm -rf "$out/pci"
for i in $(seq 0 $((gpus - 1))); do
    pci_entry "$(printf '0000:%02x:00.0' $((0x18 + i)))" 0x10de 0x2330 0x030200
done
for j in $(seq 0 $((switches - 1))); do
    pci_entry "$(printf '0000:%02x:00.0' $((0x05 + j)))" 0x10de 0x22a3 0x068000
done
