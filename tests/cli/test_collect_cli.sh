#!/usr/bin/env bash
# `collect` as a user drives it, on the fake NVML and a sysfs tree built here:
# collect, then `attest --evidence` on the result (passes only under the
# explicit test root), and every refusal with its exit code and named reason.
# Usage: test_collect_cli.sh PATH/TO/dstack-gpu-attest PATH/TO/libfake_nvml.so
set -u
bin=$1
fake=$2
fx=$(cd "${DGA_FIXTURES:-tests/fixtures}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
. "$(dirname "$0")/lib.sh"

N=6e6f6e63652d666f722d636f6c6c6563742d636c692d746573742d2d2d2d2d21
AT=2024-06-01T00:00:00Z
H545=$fx/gpu/h100_545.00
OFFLINE=$fx/policies/offline_no_ocsp.json

# sysfs: a host bridge and two NVIDIA GPUs where the fake puts its first two
pci_entry() { # ADDR VENDOR DEVICE CLASS
    mkdir -p "$tmp/pci/$1"
    printf '%s\n' "$2" >"$tmp/pci/$1/vendor"
    printf '%s\n' "$3" >"$tmp/pci/$1/device"
    printf '%s\n' "$4" >"$tmp/pci/$1/class"
}
pci_entry 0000:00:00.0 0x8086 0x1237 0x060000
pci_entry 0000:18:00.0 0x10de 0x2330 0x030200
pci_entry 0000:19:00.0 0x10de 0x2330 0x030200

scenario() { # EXTRA-JSON-MEMBERS
    printf '{"report":"%s","chain":"%s","key":"%s","gpus":2%s}\n' "$H545/report.hex" \
        "$fx/testpki/certchain.pem" "$fx/testpki/leaf.key" "${1:+,$1}" >"$tmp/scenario.json"
}
export DGA_FAKE_NVML_SCENARIO=$tmp/scenario.json
C=(collect --nvml "$fake" --sysfs "$tmp/pci")

scenario ""
run 0 "collect help" -- collect --help && expect out "--nvml LIB" "collect help"
run 0 "collect two GPUs" -- "${C[@]}" --nonce $N --out "$tmp/ev.json"
grep -q '"pci_address": "0000:19:00.0"' "$tmp/ev.json" || { echo "FAIL pci address in output"; failures=$((failures + 1)); }
grep -q '"mode": "on"' "$tmp/ev.json" || { echo "FAIL cc mode in output"; failures=$((failures + 1)); }
grep -q '"uuid": "GPU-7e570000-0000-4000-8000-000000000001"' "$tmp/ev.json" || { echo "FAIL uuid in output"; failures=$((failures + 1)); }
grep -q "\"nonce\": \"$N\"" "$tmp/ev.json" || { echo "FAIL nonce in output"; failures=$((failures + 1)); }
# --out: one newline-terminated document, mode 0644, no temporary file left beside it
[ "$(tail -c 1 "$tmp/ev.json" | od -An -c | tr -d ' ')" = '\n' ] || { echo "FAIL --out ends with a newline"; failures=$((failures + 1)); }
[ "$(stat -c %a "$tmp/ev.json")" = 644 ] || { echo "FAIL --out mode 0644"; failures=$((failures + 1)); }
[ -z "$(find "$tmp" -maxdepth 1 -name '.ev.json.*')" ] || { echo "FAIL --out left a temporary file"; failures=$((failures + 1)); }
run 3 "--out in a missing folder" -- "${C[@]}" --nonce $N --out "$tmp/missing/ev.json"
expect err "$tmp/missing/ev.json: No such file or directory" "--out error names the path"

A=(attest --evidence "$tmp/ev.json" --nonce $N --rim-dir "$H545/rims" --at $AT --policy "$OFFLINE")
run 0 "attest the collected evidence under the test root" -- "${A[@]}" --trust-root "$fx/testpki/root.pem" --format json
expect out '"device": "custom"' "trust root marked custom"
expect out '"measres": "success"' "real RIMs match the re-signed report"
run 1 "attest the collected evidence under NVIDIA's root" -- "${A[@]}"
run 1 "attest with another nonce" -- attest --evidence "$tmp/ev.json" --nonce ${N/6e/00} \
    --rim-dir "$H545/rims" --at $AT --policy "$OFFLINE" --trust-root "$fx/testpki/root.pem"

run 0 "collect to stdout with a fresh nonce" -- "${C[@]}"
expect out '"result_code": 0' "wrapper"
run 2 "bad nonce" -- "${C[@]}" --nonce abcd
run 2 "bad timeout" -- "${C[@]}" --timeout-ms 0

scenario '"cc_feature":0'
run 0 "CC off is collected and reported (the gate refuses it)" -- "${C[@]}" --nonce $N
expect out '"mode": "off"' "cc off in output"

scenario '"gpus":1'
run 1 "NVML sees fewer GPUs than sysfs" -- "${C[@]}" --nonce $N
expect err "dstack-gpu-attest: collect: inventory-mismatch: NVML sees 1 GPU(s), the PCI inventory 2" "count reason"

scenario '"pci_bus_ids":["00000000:18:00.0","00000000:42:00.0"]'
run 1 "NVML GPU not in sysfs" -- "${C[@]}" --nonce $N
expect err "NVML GPU 1 at 0000:42:00.0 is not in the PCI inventory" "address reason"

scenario '"fail":{"call":"nvmlDeviceGetUUID","rc":15,"device":1}'
run 3 "NVML error" -- "${C[@]}" --nonce $N
expect err "dstack-gpu-attest: collect: nvml-call: nvmlDeviceGetUUID (GPU 1): GPU is lost (NVML code 15)" "nvml reason"

scenario '"hang":{"call":"nvmlDeviceGetConfComputeGpuAttestationReport","ms":20000}'
run 3 "NVML hangs" -- "${C[@]}" --nonce $N --timeout-ms 300
expect err "collect: nvml-timeout" "timeout reason"

scenario ""
run 3 "NVML missing" -- collect --nvml "$tmp/none.so" --sysfs "$tmp/pci" --nonce $N
expect err "collect: nvml-load: dlopen" "load reason"

pci_entry 0000:00:02.0 0x1234 0x1111 0x030000
run 1 "a non-NVIDIA VGA device" -- "${C[@]}" --nonce $N --out "$tmp/refused.json"
expect err "collect: PCI inventory: pci-foreign-display: a display controller that is not an NVIDIA GPU is present (0000:00:02.0)" "foreign display reason"
[ ! -e "$tmp/refused.json" ] || { echo "FAIL a refused collection wrote its output"; failures=$((failures + 1)); }

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all collect CLI tests passed"
