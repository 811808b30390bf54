#!/usr/bin/env bash
# A small private PKI for the proxy tests, made with the openssl CLI only:
#   pki.sh DIR
# root (self-signed CA) -> inter (issuing CA) -> ocsp (delegated responder, EKU OCSPSigning),
# leaf1, leaf3, leaf4, leaf6 (good), leaf2 (revoked, keyCompromise), leaf5 (not in the index:
# unknown).
# Also writes DIR/index.txt for `openssl ocsp -index` and OCSP requests:
#   reqN.der      for leafN with a random nonce (reqN-b.der: another nonce)
#   reqN-nn.der   for leafN without a nonce
set -euo pipefail

dir=$1
# shellcheck source=../pki/ca.sh
. "$(cd "$(dirname "$0")" && pwd)/../pki/ca.sh"
mkdir -p "$dir"
cd "$dir"

# Valid from now for 30 days, made with the test-PKI generator's CA functions (tests/pki/ca.sh).
pki_ca P-256 sha256 "$(date -u +%Y%m%d%H%M%SZ)" "$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)"
cat >ext.cnf <<'EOF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ocsp]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
EOF

issue root "/CN=proxy test root" self ca
# NAME ISSUER SECTION SERIAL(hex)
while read -r name issuer ext serial; do
    printf '%s\n' "$serial" >serial
    issue "$name" "/CN=proxy test $name" "$issuer" "$ext"
done <<'EOF'
inter root ca 0100
ocsp inter ocsp 0200
leaf1 inter leaf 1001
leaf2 inter leaf 1002
leaf3 inter leaf 1003
leaf4 inter leaf 1004
leaf5 inter leaf 1005
leaf6 inter leaf 1006
EOF
cat inter.pem root.pem >chain.pem

# index.txt: status, expiry, revocation (date,reason), serial, file, subject (tab-separated)
{
    printf 'V\t301231000000Z\t\t1001\tunknown\t/CN=proxy test leaf1\n'
    printf 'R\t301231000000Z\t240101000000Z,keyCompromise\t1002\tunknown\t/CN=proxy test leaf2\n'
    printf 'V\t301231000000Z\t\t1003\tunknown\t/CN=proxy test leaf3\n'
    printf 'V\t301231000000Z\t\t1004\tunknown\t/CN=proxy test leaf4\n'
    printf 'V\t301231000000Z\t\t1006\tunknown\t/CN=proxy test leaf6\n'
} >index.txt

for n in 1 2 3 4 5 6; do
    openssl ocsp -issuer inter.pem -cert "leaf$n.pem" -reqout "req$n.der" >/dev/null
    openssl ocsp -issuer inter.pem -cert "leaf$n.pem" -reqout "req$n-b.der" >/dev/null
    openssl ocsp -issuer inter.pem -cert "leaf$n.pem" -no_nonce -reqout "req$n-nn.der" >/dev/null
done
