#!/usr/bin/env bash
# Regenerates tests/fixtures/proxy/ (the unit tests' OCSP requests and responses) from a
# throw-away PKI made by pki.sh, with `openssl ocsp` as an offline responder. The unit
# tests hard-code the responses' thisUpdate (see PROVENANCE.md); update them if you rerun.
#   tests/proxy/make_fixtures.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../fixtures/proxy
pki=$(mktemp -d)
trap 'rm -rf "$pki"' EXIT
bash "$here/pki.sh" "$pki"
mkdir -p "$out"
cp "$pki/req1.der" "$out/req_leaf1.der"
cp "$pki/req1-b.der" "$out/req_leaf1_nonce2.der"
cp "$pki/req1-nn.der" "$out/req_leaf1_no_nonce.der"
cp "$pki/req2.der" "$out/req_leaf2.der"
openssl ocsp -issuer "$pki/inter.pem" -cert "$pki/leaf1.pem" -cert "$pki/leaf3.pem" \
    -reqout "$out/req_two_certs.der" >/dev/null
respond() { # respond REQUEST OUT ARGS...
    openssl ocsp -index "$pki/index.txt" -rsigner "$pki/ocsp.pem" -rkey "$pki/ocsp.key" \
        -CA "$pki/inter.pem" -reqin "$1" -respout "$2" "${@:3}" >/dev/null
}
respond "$pki/req1.der" "$out/resp_good_1day.der" -ndays 1
respond "$pki/req1.der" "$out/resp_no_next_update.der"
respond "$out/req_two_certs.der" "$out/resp_two_certs_1h.der" -nmin 60
# A non-successful OCSPResponse is only its status: SEQUENCE { ENUMERATED tryLater(3) }.
printf '\x30\x03\x0a\x01\x03' >"$out/resp_try_later.der"
for f in "$out"/resp_*.der; do
    printf '%s: ' "$(basename "$f")"
    openssl ocsp -respin "$f" -resp_text -noverify 2>/dev/null | grep -m1 'This Update' || echo
done
