#!/usr/bin/env bash
# `eat verify` as a user drives it: exit codes, the one-line reasons on stderr
# and the key parts of text and JSON output.
# Usage: test_eat_cli.sh PATH/TO/dstack-gpu-attest PATH/TO/test_eat
# Tokens come from `test_eat --make KEY DIR` (no command builds them yet), signed
# with a key made here by `openssl ecparam`. DGA_FIXTURES names the fixtures.
set -u
bin=$1
maker=$2
fx=${DGA_FIXTURES:-tests/fixtures}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
AT=2024-06-01T00:00:00Z # the tokens' iat; they expire an hour later

. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || { echo "FAIL: openssl not found (scripts/deps.sh installs it)"; exit 1; }
k=$tmp/keys
mkdir -p "$k"
make_keys() {
    openssl ecparam -name secp384r1 -genkey -noout -out "$k/key.pem" 2>/dev/null &&
        openssl ec -in "$k/key.pem" -pubout -out "$k/pub.pem" 2>/dev/null &&
        openssl req -x509 -new -key "$k/key.pem" -subj /CN=eat-test -days 1 -sha384 \
            -out "$k/cert.pem" 2>/dev/null &&
        openssl ecparam -name secp384r1 -genkey -noout 2>/dev/null |
        openssl ec -pubout -out "$k/other.pem" 2>/dev/null &&
        openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
        openssl ec -pubout -out "$k/p256.pem" 2>/dev/null
}
if ! make_keys; then
    echo "FAIL: cannot make keys with openssl"
    exit 1
fi
"$maker" --make "$k/key.pem" "$tmp" || { echo "FAIL: test_eat --make"; exit 1; }

run 0 "help" -- --help && expect out "verify a detached EAT token" "help lists eat verify"
run 0 "eat verify help" -- eat verify --help && expect out "--pubkey FILE" "verify help"
run 2 "no token" -- eat verify --pubkey "$k/pub.pem"
run 2 "no pubkey" -- eat verify "$tmp/good.json"
run 2 "two tokens" -- eat verify "$tmp/good.json" "$tmp/good.json" --pubkey "$k/pub.pem"
run 2 "bad --at" -- eat verify "$tmp/good.json" --pubkey "$k/pub.pem" --at yesterday
run 2 "P-256 key" -- eat verify "$tmp/good.json" --pubkey "$k/p256.pem" --at $AT
expect err "[bad-argument]" "P-256 key reason"
run 2 "private key as pubkey" -- eat verify "$tmp/good.json" --pubkey "$k/key.pem" --at $AT
run 3 "missing token file" -- eat verify "$tmp/nope.json" --pubkey "$k/pub.pem"
run 3 "missing key file" -- eat verify "$tmp/good.json" --pubkey "$k/nope.pem"

run 0 "signed token verifies" -- eat verify "$tmp/good.json" --pubkey "$k/pub.pem" --at $AT
expect out "detached EAT verified (ES384, 3 submods)" "text summary"
expect out "GPU-0           gpu" "GPU-0 with its type"
expect out "SWITCH-0        nvswitch" "SWITCH-0 with its type"
expect out "result          pass (x-nvidia-overall-att-result)" "overall result"
expect out "verdict: PASS" "text verdict"
run 0 "certificate as key" -- eat verify "$tmp/good.json" --pubkey "$k/cert.pem" --at $AT
run 0 "attest output wrapper" -- eat verify "$tmp/attest.json" --pubkey "$k/pub.pem" --at $AT
run 0 "within leeway" -- eat verify "$tmp/good.json" --pubkey "$k/pub.pem" \
    --at 2024-06-01T01:00:10Z
run 0 "json" -- eat verify "$tmp/good.json" --pubkey "$k/pub.pem" --at $AT --json
expect out '"result": "pass"' "json result"
expect out '"token_verified": true' "json token verified"
expect out '"x-nvidia-overall-att-result": true' "json overall result"
expect out '"label": "SWITCH-0"' "json submod label"

run 1 "expired" -- eat verify "$tmp/good.json" --pubkey "$k/pub.pem" --at 2024-06-01T01:00:11Z
expect err "good.json: overall time: the token is expired or issued in the future [eat-time]" \
    "expired reason"
expect out "verdict: FAIL" "text verdict fail"
run 1 "issued in the future" -- eat verify "$tmp/good.json" --pubkey "$k/pub.pem" \
    --at 2024-05-31T23:59:49Z
run 1 "wrong key" -- eat verify "$tmp/good.json" --pubkey "$k/other.pem" --at $AT
expect err "[eat-signature]" "wrong key reason"
run 1 "overall result false" -- eat verify "$tmp/false.json" --pubkey "$k/pub.pem" --at $AT
expect err "the token verifies, but its verdict is not a pass" "false result reason"
expect out "result          fail (x-nvidia-overall-att-result)" "false result shown"
run 1 "unsigned" -- eat verify "$tmp/unsigned.json" --pubkey "$k/pub.pem" --at $AT
expect err "[eat-algorithm]" "unsigned reason"

# GPU-0 replaced by GPU-1 of the same token: its digest fails, named by its label
perl -0pe 's/("GPU-0":")[^"]*(".*"GPU-1":")([^"]*)"/$1$3$2$3"/s' "$tmp/good.json" >"$tmp/swap.json"
run 1 "replaced submod" -- eat verify "$tmp/swap.json" --pubkey "$k/pub.pem" --at $AT --json
expect err "swap.json: GPU-0 digest: a submodule token does not match its digest [eat-submod-digest]" \
    "digest reason names the label"
expect out '"error": "eat-submod-digest"' "json error"
expect out '"error_at": "GPU-0 digest"' "json error location"

run 1 "nvattest unsigned token" -- eat verify "$fx/dstack/nvattest_output_h100.json" \
    --pubkey "$k/pub.pem"
expect err "overall header: the token is not signed with ES384 [eat-algorithm]" "nvattest reason"
run 1 "NRAS token, not our key" -- eat verify "$fx/gpu/h100_550.90.07/nras_detached_eat.json" \
    --pubkey "$k/pub.pem" --at 2025-06-11T00:30:58Z
expect err "overall signature: the token signature does not verify [eat-signature]" "NRAS reason"
printf '[["JWT","a.b.c"]' >"$tmp/trunc.json"
run 1 "malformed" -- eat verify "$tmp/trunc.json" --pubkey "$k/pub.pem"
expect err "document: the token is not a well-formed detached EAT [eat-malformed]" "malformed reason"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all eat CLI checks passed"
