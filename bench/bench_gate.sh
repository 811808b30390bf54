#!/usr/bin/env bash
# Wall time of the whole boot gate (`dstack-gpu-attest gate`) with 8 GPUs on the
# fake NVML (no collection latency: the fake answers at once), a PCI sysfs tree,
# the simulated register and a temporary log directory, as tests/cli/test_gate_cli.sh
# builds them: gpu-policy-hash, inventory, CC read, nonce, collection, appraisal of
# 8 devices against the real 545.00 RIMs (test device root, verification time
# 2024-06-01, policy offline_no_ocsp), bundle, gpu-attestation event, ready state.
#   bench/bench_gate.sh BUILD_DIR [RUNS] [GPUS]
# Each run starts from a fresh register and log. Prints the median and the
# extremes; never asserted (target from issue 5: 8 GPUs under 150 ms).
set -euo pipefail
build=${1:?usage: bench_gate.sh BUILD_DIR [RUNS] [GPUS]}
runs=${2:-30}
gpus=${3:-8}
here=$(cd "$(dirname "$0")/.." && pwd)
cli=$build/tools/dstack-gpu-attest
fake=$build/tests/libfake_nvml.so
fx=$here/tests/fixtures
[ -x "$cli" ] && [ -f "$fake" ] || { echo "bench_gate: build $build first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for i in $(seq 0 $((gpus - 1))); do
    d=$tmp/pci/$(printf '0000:%02x:00.0' $((0x18 + i)))
    mkdir -p "$d"
    printf '0x10de\n' >"$d/vendor"; printf '0x2330\n' >"$d/device"; printf '0x030200\n' >"$d/class"
done
printf '{"report":"%s","chain":"%s","key":"%s","gpus":%d,"ready_record":"%s"}\n' \
    "$fx/gpu/h100_545.00/report.hex" "$fx/testpki/certchain.pem" "$fx/testpki/leaf.key" "$gpus" \
    "$tmp/ready.txt" >"$tmp/scenario.json"
printf '{"rim_dir":"%s","policy":"%s","nvml":"%s","sysfs_pci":"%s","run_dir":"%s","event_log_dir":"%s","event_backend":"sim:%s","test_device_root":"%s","verify_at":"2024-06-01T00:00:00Z"}\n' \
    "$fx/gpu/h100_545.00/rims" "$fx/policies/offline_no_ocsp.json" "$fake" "$tmp/pci" "$tmp/run" \
    "$tmp/log" "$tmp/rtmr3.bin" "$fx/testpki/root.pem" >"$tmp/gate.json"
export DGA_FAKE_NVML_SCENARIO=$tmp/scenario.json

times=()
for _ in $(seq "$runs"); do
    rm -rf "$tmp/run" "$tmp/log" "$tmp/rtmr3.bin" "$tmp/ready.txt"
    start=$(date +%s%N)
    "$cli" gate --config "$tmp/gate.json" >/dev/null 2>"$tmp/err" || {
        echo "bench_gate: the gate refused:" >&2; cat "$tmp/err" >&2; exit 1
    }
    times+=($(( ($(date +%s%N) - start) / 1000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
median=${sorted[$((runs / 2))]}
echo "dstack-gpu-attest bench_gate: $(uname -sr), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
awk -v g="$gpus" -v r="$runs" -v m="$median" -v lo="${sorted[0]}" -v hi="${sorted[$((runs - 1))]}" \
    'BEGIN { printf "gate, %d GPUs on the fake NVML, %d runs: median %.1f ms (min %.1f, max %.1f)\n", g, r, m / 1000, lo / 1000, hi / 1000 }'
echo "target (issue 5): 8 GPUs under 150 ms"
