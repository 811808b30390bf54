#!/usr/bin/env bash
# The demo `make demo` runs, on bundled real NVIDIA data, no GPU needed:
#  1. full offline appraisal of an H100 (driver 545.00) with its driver and VBIOS
#     RIMs, at a time inside the RIM signers' validity: PASS;
#  2. the same today: the RIM signer certificates have expired: FAIL, with why;
#  3. a copy of another H100's evidence with one measurement byte changed: FAIL.
# The demo runs without network and without stored OCSP responses for NVIDIA's
# chains, so the policy used here says OCSP is not required
# (tests/fixtures/policies/offline_no_ocsp.json, hence attest's --ocsp off); the
# built-in policy refuses to pass without revocation. Exits 0 only if all three behave.
# Usage: scripts/demo.sh PATH/TO/dstack-gpu-attest
set -uo pipefail
bin=$1
fx=tests/fixtures
h545=$fx/gpu/h100_545.00
policy=$fx/policies/offline_no_ocsp.json
args=(attest --report "$h545/report.hex" --cert-chain "$h545/certchain.pem" --arch hopper
      --nonce 4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e
      --rim-dir "$h545/rims" --policy "$policy")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== 1. H100 545.00 with its RIMs, verified as of 2024-06-01 (policy: $policy)"
echo "\$ dstack-gpu-attest ${args[*]} --at 2024-06-01T00:00:00Z"
if ! "$bin" "${args[@]}" --at 2024-06-01T00:00:00Z; then
    echo "demo: the sample did not pass as of 2024-06-01" >&2
    exit 1
fi

echo
echo "== 2. the same evidence verified now: its RIM signers expired in 2025, expect FAIL"
"$bin" "${args[@]}" 2>/dev/null
rc=$?
if [ "$rc" -ne 1 ]; then
    echo "demo: verification today exited $rc, not 1" >&2
    exit 1
fi

evidence=$fx/gpu/h100_590.12_ppcie/evidence.json
nonce=e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576
# Character 3020 of the base64 report is byte 2265: inside the digest of measurement block 41.
perl -pe 's/("evidence":\s*")(.{3019})(.)/$1 . $2 . ($3 eq "A" ? "B" : "A")/e' \
    "$evidence" >"$tmp/tampered.json"
echo
echo "== 3. another H100's evidence with one measurement byte changed: expect FAIL"
echo "\$ dstack-gpu-attest evidence verify --evidence tampered.json --nonce $nonce"
"$bin" evidence verify --evidence "$tmp/tampered.json" --nonce "$nonce"
rc=$?
if [ "$rc" -ne 1 ]; then
    echo "demo: the tampered copy exited $rc, not 1" >&2
    exit 1
fi
echo "(exit status 1: rejected, as it must be)"
