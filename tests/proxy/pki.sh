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
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

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

# issue NAME ISSUER SECTION SERIAL
issue() {
    key "$1"
    openssl req -new -key "$1.key" -subj "/CN=proxy test $1" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "$4" -days 30 \
        -extfile ext.cnf -extensions "$3" -out "$1.pem" 2>/dev/null
}

key root
openssl req -x509 -new -key root.key -subj "/CN=proxy test root" -days 30 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out root.pem
issue inter root ca 0x100
issue ocsp inter ocsp 0x200
issue leaf1 inter leaf 0x1001
issue leaf2 inter leaf 0x1002
issue leaf3 inter leaf 0x1003
issue leaf4 inter leaf 0x1004
issue leaf5 inter leaf 0x1005
issue leaf6 inter leaf 0x1006
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
