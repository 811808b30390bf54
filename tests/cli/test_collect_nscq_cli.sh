#!/usr/bin/env bash
# `collect --nscq` as a user drives it, on the fake NVML, the fake NSCQ and a sysfs tree built
# here: the switches' evidence lands under "switches" next to the GPUs', `evidence verify`
# accepts it under the test root, and every refusal has its exit code and named reason.
# Usage: test_collect_nscq_cli.sh PATH/TO/dstack-gpu-attest PATH/TO/libfake_nvml.so
#        PATH/TO/libfake_nscq.so
set -u
. "$(dirname "$0")/lib.sh"
cli_init "$1"
nvml=$2
nscq=$3
fx=$(cd "$fx" && pwd)

N=6e6f6e63652d666f722d636f6c6c6563742d636c692d746573742d2d2d2d2d21

pci_entry() { # ADDR VENDOR DEVICE CLASS
    mkdir -p "$tmp/pci/$1"
    printf '%s\n' "$2" >"$tmp/pci/$1/vendor"
    printf '%s\n' "$3" >"$tmp/pci/$1/device"
    printf '%s\n' "$4" >"$tmp/pci/$1/class"
}
pci_entry 0000:18:00.0 0x10de 0x2330 0x030200
for b in 05 06 07 08; do
    pci_entry 0000:$b:00.0 0x10de 0x22a3 0x068000 # four LS10 NVSwitches
done

printf '{"report":"%s","chain":"%s","key":"%s","gpus":1}\n' "$fx/gpu/h100_545.00/report.hex" \
    "$fx/testpki/certchain.pem" "$fx/testpki/leaf.key" >"$tmp/nvml.json"
export DGA_FAKE_NVML_SCENARIO=$tmp/nvml.json
nscq_scenario() { # EXTRA-JSON-MEMBERS
    printf '{"report":"%s","chain":"%s"%s}\n' "$fx/nvswitch/ls10_96.10.55.00.01/report.hex" \
        "$fx/testpki/certchain.pem" "${1:+,$1}" >"$tmp/nscq.json"
}
export DGA_FAKE_NSCQ_SCENARIO=$tmp/nscq.json
C=(collect --nvml "$nvml" --nscq "$nscq" --sysfs "$tmp/pci" --nonce "$N")

nscq_scenario '"tnvl":[3,3,-1,3]'
run 0 "collect help names --nscq" -- collect --help && expect out "--nscq LIB" "help"
run 0 "collect a GPU and four NVSwitches" -- "${C[@]}" --out "$tmp/ev.json"
[ "$(jq '.switches.evidences | length' "$tmp/ev.json")" = 4 ] || { echo "FAIL four switches"; failures=$((failures + 1)); }
[ "$(jq -r '.switches.evidences[2].tnvl_status' "$tmp/ev.json")" = -1 ] || { echo "FAIL raw TNVL -1"; failures=$((failures + 1)); }
[ "$(jq -r '[.switches.evidences[].arch] | unique | join(",")' "$tmp/ev.json")" = LS10 ] || { echo "FAIL arch LS10"; failures=$((failures + 1)); }
[ "$(jq -r '.switches.nonce' "$tmp/ev.json")" = $N ] || { echo "FAIL switch nonce"; failures=$((failures + 1)); }
[ "$(jq '.evidences | length' "$tmp/ev.json")" = 1 ] || { echo "FAIL the GPU is still there"; failures=$((failures + 1)); }
jq .switches "$tmp/ev.json" >"$tmp/switches.json"
run 0 "evidence verify the switches under the test root" -- evidence verify \
    --evidence "$tmp/switches.json" --nonce $N --trust-root "$fx/testpki/root.pem" --json
expect out '"trust_roots": "custom"' "custom root"
run 1 "evidence verify the switches with another nonce" -- evidence verify \
    --evidence "$tmp/switches.json" --nonce "${N/6e/00}" --trust-root "$fx/testpki/root.pem"

run 0 "without --nscq there is no switches key" -- collect --nvml "$nvml" --sysfs "$tmp/pci" \
    --nonce $N --out "$tmp/gpu.json"
[ "$(jq 'has("switches")' "$tmp/gpu.json")" = false ] || { echo "FAIL no switches key"; failures=$((failures + 1)); }

nscq_scenario '"switches":3'
run 1 "NSCQ sees fewer switches than sysfs" -- "${C[@]}"
expect err "dstack-gpu-attest: collect: inventory-mismatch: NSCQ sees 3 NVSwitch(es), the PCI inventory 4" "count reason"

nscq_scenario '"fail":{"call":"nscq_session_path_observe","path":"certificate","rc":-7,"switch":2}'
run 3 "NSCQ error" -- "${C[@]}"
expect_line err "dstack-gpu-attest: collect: nscq-driver: nscq_session_path_observe /SWITCH-505152535455565758595a5b5c5d5e02/config/certificate (NVSwitch 2 SWITCH-505152535455565758595a5b5c5d5e02): NSCQ: driver error (rc -7) (NSCQ code -7)" "nscq reason"

nscq_scenario '"hang":{"call":"nscq_session_set_input","ms":20000}'
# 5 s: the GPU collection shares the deadline and must fit in it under a sanitizer too
run 3 "NSCQ hang" -- "${C[@]}" --timeout-ms 5000
expect err "collect: nscq-timeout: collection child" "timeout reason"

run 3 "missing NSCQ library" -- collect --nvml "$nvml" --nscq /nonexistent/libnvidia-nscq.so.2 \
    --sysfs "$tmp/pci" --nonce $N
expect err "collect: nscq-load: dlopen: the NSCQ library cannot be loaded: /nonexistent/libnvidia-nscq.so.2" "load reason"

cli_done "collect --nscq CLI tests"
