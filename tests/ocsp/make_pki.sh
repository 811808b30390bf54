#!/bin/sh
# Builds a private PKI for the OCSP tests with the openssl CLI only:
#   root CA -> intermediate CA -> leaf, revoked, held (certificateHold), unknown
#   intermediate -> ocsp (EKU OCSPSigning: a delegated responder)
#   intermediate -> rogue (no EKU: not authorised to sign OCSP responses)
#   root -> other (EKU OCSPSigning, but issued by the root: not the leaf's issuer)
# and an `openssl ocsp` index (index.txt) that marks revoked and held. unknown is
# issued but absent from the index, so the responder answers "unknown".
#   make_pki.sh DIR
# Keys are P-384, signatures ecdsa-with-SHA384, as on NVIDIA's chains.
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1.key" 2>/dev/null; }

# ext FILE: the extensions of one kind of certificate
cat >ext.cnf <<'CNF'
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ocsp]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

# A minimal `openssl ca` setup: it can backdate certificates (-startdate), so the
# tests can verify at times before a response's thisUpdate with valid certificates.
mkdir -p newcerts
: >ca-db.txt
printf '1000\n' >serial
cat >ca.cnf <<'CNF'
[ca]
default_ca = dga
[dga]
dir = .
database = ./ca-db.txt
new_certs_dir = ./newcerts
serial = ./serial
default_md = sha384
policy = any
unique_subject = no
email_in_dn = no
[any]
commonName = supplied
[req]
distinguished_name = dn
[dn]
CNF
start=20200101000000Z
end=20351231235959Z

# issue NAME CN ISSUER EXT (ISSUER "self": self-signed)
issue() {
    key "$1"
    openssl req -config ca.cnf -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
    if [ "$3" = self ]; then
        set -- "$1" "$2" "$1" "$4" -selfsign
    else
        set -- "$1" "$2" "$3" "$4" -cert "$3.pem"
    fi
    n=$1 ca=$3 ext=$4
    shift 4
    openssl ca -batch -config ca.cnf "$@" -keyfile "$ca.key" -in "$n.csr" -out "$n.pem" \
        -startdate $start -enddate $end -extfile ext.cnf -extensions "$ext" -notext 2>/dev/null
    rm -f "$n.csr"
}

issue root "DGA Test OCSP Root" self ca
issue inter "DGA Test OCSP Intermediate" root ca
issue leaf "DGA Test Leaf" inter leaf
issue revoked "DGA Test Revoked" inter leaf
issue held "DGA Test Held" inter leaf
issue unknown "DGA Test Unknown" inter leaf
issue ocsp "DGA Test OCSP Responder" inter ocsp
issue rogue "DGA Test Rogue Signer" inter leaf
issue other "DGA Test Root-issued Responder" root ocsp
# The root's own responder view of the intermediate (for a two-level check).
issue rootocsp "DGA Test Root OCSP Responder" root ocsp

# index.txt lines: status, expiry, revocation, serial (hex), file, subject
entry() { # NAME STATUS REVOCATION
    s=$(openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2)
    subj=$(openssl x509 -in "$1.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
    printf '%s\t%s\t%s\t%s\tunknown\t%s\n' "$2" 351231235959Z "$3" "$s" "$subj"
}
{
    entry leaf V ""
    entry revoked R "240101000000Z,keyCompromise"
    entry held R "240101000000Z,certificateHold,holdInstructionNone"
    entry ocsp V ""
    entry rogue V ""
} >index.txt
printf 'unique_subject = no\n' >index.txt.attr
{ entry inter V ""; } >root-index.txt
printf 'unique_subject = no\n' >root-index.txt.attr
# The chain as a verifier sees it: leaf, intermediate, root (PEM, leaf first).
cat leaf.pem inter.pem root.pem >chain.pem
