#!/usr/bin/env bash
# The demo `make demo` runs: verify a bundled real H100 evidence sample (protected
# PCIe mode, driver 590.12), then a copy with one base64 character of its report
# changed, which must fail with a clear reason. Exits 0 only if both behave.
# Usage: scripts/demo.sh PATH/TO/dstack-gpu-attest
set -uo pipefail
bin=$1
evidence=tests/fixtures/gpu/h100_590.12_ppcie/evidence.json
nonce=e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== 1. the genuine sample: $evidence"
echo "\$ dstack-gpu-attest evidence verify --evidence $evidence --nonce $nonce"
if ! "$bin" evidence verify --evidence "$evidence" --nonce "$nonce"; then
    echo "demo: the genuine sample did not verify" >&2
    exit 1
fi

# Character 3020 of the base64 report is byte 2265: inside the digest of measurement block 41.
perl -pe 's/("evidence":\s*")(.{3019})(.)/$1 . $2 . ($3 eq "A" ? "B" : "A")/e' \
    "$evidence" >"$tmp/tampered.json"
echo
echo "== 2. the same evidence with one measurement byte changed: expect a failure"
echo "\$ dstack-gpu-attest evidence verify --evidence tampered.json --nonce $nonce"
"$bin" evidence verify --evidence "$tmp/tampered.json" --nonce "$nonce"
rc=$?
if [ "$rc" -ne 1 ]; then
    echo "demo: the tampered copy exited $rc, not 1" >&2
    exit 1
fi
echo "(exit status $rc: rejected, as it must be)"
