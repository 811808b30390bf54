#!/usr/bin/env bash
# `topology check` on the 8-GPU / 4-NVSwitch PPCIe board of the fakes (docs/ppcie.md): the
# board is collected once (tests/ppcie/make_board.sh, `collect --nscq` on the fake NVML and
# the fake NSCQ), split into nvattest's GPU and NVSwitch evidence JSON, then the whole
# `dstack-gpu-attest topology check` process runs RUNS times (after one untimed run; each
# run's exit status checked: 0, the board passes). Prints the median and p90 wall time
# (bash's EPOCHREALTIME) and, when valgrind is installed, the ECDSA verifications of one run
# (calls of OpenSSL's ECDSA_do_verify under callgrind; the CLI does not report a count).
# Never asserted.
#   bench/bench_topology.sh BUILD_DIR [RUNS]     (default 20)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: bench_topology.sh BUILD_DIR [RUNS]}
runs=${2:-20}
build=$(cd "$build" && pwd)
cli=$build/tools/dstack-gpu-attest
for f in "$cli" "$build/tests/libfake_nvml.so" "$build/tests/libfake_nscq.so"; do
    [ -e "$f" ] || { echo "bench_topology: build $build first ($f)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
N=$(printf 'be%.0s' $(seq 32))

DGA_FIXTURES=$here/tests/fixtures "$here/tests/ppcie/make_board.sh" "$tmp/b"
DGA_FAKE_NVML_SCENARIO=$tmp/b/nvml.json DGA_FAKE_NSCQ_SCENARIO=$tmp/b/nscq.json \
    "$cli" collect --nvml "$build/tests/libfake_nvml.so" --nscq "$build/tests/libfake_nscq.so" \
    --sysfs "$tmp/b/pci" --nonce "$N" --out "$tmp/ev.json"
jq '{evidences: .evidences}' "$tmp/ev.json" >"$tmp/gpus.json"
jq .switches "$tmp/ev.json" >"$tmp/switches.json"
check=("$cli" topology check --gpu-evidence "$tmp/gpus.json" --switch-evidence
    "$tmp/switches.json" --nonce "$N" --trust-root "$here/tests/fixtures/testpki/root.pem")

"${check[@]}" >/dev/null
walls=()
for _ in $(seq "$runs"); do
    w0=$EPOCHREALTIME
    "${check[@]}" >/dev/null || { echo "bench_topology: the board did not pass" >&2; exit 1; }
    w1=$EPOCHREALTIME
    walls+=($((10#${w1/./} - 10#${w0/./})))
done
mapfile -t sorted < <(printf '%s\n' "${walls[@]}" | sort -n)
median=${sorted[$((runs / 2))]}
p90=${sorted[$((runs * 9 / 10 < runs ? runs * 9 / 10 : runs - 1))]}
echo "machine: $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs"
echo "topology check, 8 GPUs + 4 NVSwitches, $runs process runs: median $((median / 1000)).$(printf '%03d' $((median % 1000))) ms, p90 $((p90 / 1000)).$(printf '%03d' $((p90 % 1000))) ms"

# shellcheck source=bench/lib/ecdsa.sh
. "$here/bench/lib/ecdsa.sh"
if ! ecdsa_have; then
    echo "ECDSA verifications: valgrind is not installed; not counted"
    exit 0
fi
ecdsa=$(ecdsa_count "$tmp/cg.out" "${check[@]}")
echo "ECDSA verifications (ECDSA_do_verify calls, one run under callgrind): $ecdsa"
