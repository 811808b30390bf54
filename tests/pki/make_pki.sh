#!/bin/sh
# The test PKI generator: private CAs, certificates and CRLs made with the openssl CLI
# only, at test time, into a temporary directory (the keys are never committed).
#   make_pki.sh MODE DIR
# MODE ocsp (P-384, ecdsa-with-SHA384, as on NVIDIA's chains; tests/ocsp, test_ocsp,
# test_collateral):
#   root CA -> intermediate CA -> leaf, revoked, held (certificateHold), unknown
#   intermediate -> ocsp (EKU OCSPSigning: a delegated responder)
#   intermediate -> rogue (no EKU: not authorised to sign OCSP responses)
#   root -> other (EKU OCSPSigning, but issued by the root: not the leaf's issuer)
#   root -> rootocsp (the root's own responder, for a two-level check)
#   and an `openssl ocsp` index (index.txt) that marks revoked and held. unknown is
#   issued but absent from the index, so the responder answers "unknown".
# MODE tdx (P-256, ecdsa-with-SHA256, shaped like Intel's DCAP PKI; test_quote_verify):
#   root (CA, pathlen 1) -> tcb (TCB signing, CA:FALSE), tcbca (the same as a CA: wrong)
#   root -> pckca (PCK Platform CA, pathlen 0) -> pck (PCK leaf with an SGX extension),
#                                                pckrev (another, revoked), pckasca (CA:TRUE)
#   CRLs (DER): root.crl (root, 2020-01-01 .. 2035-12-31), pck.crl (pckca, same window),
#   pck-revoked.crl (lists pckrev), pck-expired.crl (nextUpdate 2024-12-31),
#   pck-future.crl (thisUpdate 2030-01-01), root-expired.crl (nextUpdate 2024-12-31);
#   certificates valid 2020-01-01 .. 2035-12-31, PEM chains chain-pck.pem (pck, pckca,
#   root), chain-tcb.pem (tcb, root), root.der.
#   The PCK leaves' SGX extension: PPID 00112233445566778899aabbccddeeff, components and
#   CPUSVN 03 03 02 02 04 01 00 05 00.., PCESVN 11, PCE-ID 0000, FMSPC 00906ED50000,
#   SGX type 0 (Standard), dynamicPlatform/cachedKeys/SMTEnabled TRUE.
set -eu
mode=$1
dir=$2
# shellcheck source=ca.sh
. "$(cd "$(dirname "$0")" && pwd)/ca.sh"
mkdir -p "$dir"
cd "$dir"

start=20200101000000Z
end=20351231235959Z
case $mode in
ocsp) pki_ca P-384 sha384 $start $end ;;
tdx) pki_ca P-256 sha256 $start $end ;;
*) echo "make_pki.sh: unknown mode $mode" >&2; exit 2 ;;
esac

ocsp_mode() {
    {
        ca_ext ca
        leaf_ext leaf digitalSignature
        leaf_ext ocsp digitalSignature OCSPSigning
    } >ext.cnf
    issue root "/CN=DGA Test OCSP Root" self ca
    issue inter "/CN=DGA Test OCSP Intermediate" root ca
    issue leaf "/CN=DGA Test Leaf" inter leaf
    issue revoked "/CN=DGA Test Revoked" inter leaf
    issue held "/CN=DGA Test Held" inter leaf
    issue unknown "/CN=DGA Test Unknown" inter leaf
    issue ocsp "/CN=DGA Test OCSP Responder" inter ocsp
    issue rogue "/CN=DGA Test Rogue Signer" inter leaf
    issue other "/CN=DGA Test Root-issued Responder" root ocsp
    issue rootocsp "/CN=DGA Test Root OCSP Responder" root ocsp

    entry() { index_entry "$1" "$2" 351231235959Z "$3"; } # NAME STATUS REVOCATION
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
}


tdx_mode() {
    s() { printf '1.2.840.113741.1.13.1.%s' "$1"; }
    sgx='1.2.840.113741.1.13.1 = ASN1:SEQUENCE:sgx'
    # the 16 components and PCESVN (.1 .. .17, INTEGERs), then CPUSVN (.18, the
    # components as bytes)
    cpusvn="3 3 2 2 4 1 0 5 0 0 0 0 0 0 0 0"
    : >sgx_c.cnf # their sections, which follow the list
    {
        ca_ext root 1
        ca_ext pckca 0
        leaf_ext tcb "digitalSignature, nonRepudiation"
        # a TCB signer made a CA, and a PCK leaf made a CA: both wrong on purpose
        ext_section tcbca CA:true "digitalSignature, keyCertSign, cRLSign"
        leaf_ext pck "digitalSignature, nonRepudiation"
        echo "$sgx"
        ext_section pckasca CA:true "digitalSignature, keyCertSign"
        echo "$sgx"
        cat <<CNF
[sgx]
ppid = SEQUENCE:sgx_ppid
tcb = SEQUENCE:sgx_tcb
pceid = SEQUENCE:sgx_pceid
fmspc = SEQUENCE:sgx_fmspc
type = SEQUENCE:sgx_type
config = SEQUENCE:sgx_config
[sgx_ppid]
oid = OID:$(s 1)
v = FORMAT:HEX,OCTETSTRING:00112233445566778899aabbccddeeff
[sgx_pceid]
oid = OID:$(s 3)
v = FORMAT:HEX,OCTETSTRING:0000
[sgx_fmspc]
oid = OID:$(s 4)
v = FORMAT:HEX,OCTETSTRING:00906ED50000
[sgx_type]
oid = OID:$(s 5)
v = ENUMERATED:0
[sgx_config]
oid = OID:$(s 7)
v = SEQUENCE:sgx_config_v
[sgx_config_v]
a = SEQUENCE:sgx_cfg1
b = SEQUENCE:sgx_cfg2
c = SEQUENCE:sgx_cfg3
CNF
        # dynamicPlatform, cachedKeys, SMTEnabled
        for n in 1 2 3; do
            printf '[sgx_cfg%d]\noid = OID:%s\nv = BOOLEAN:TRUE\n' $n "$(s 7.$n)"
        done
        printf '[sgx_tcb]\noid = OID:%s\nv = SEQUENCE:sgx_tcb_v\n[sgx_tcb_v]\n' "$(s 2)"
        i=1
        for svn in $cpusvn 11; do
            printf 'c%d = SEQUENCE:sgx_c%d\n' $i $i
            printf '[sgx_c%d]\noid = OID:%s\nv = INTEGER:%d\n' $i "$(s 2.$i)" "$svn" >>sgx_c.cnf
            i=$((i + 1))
        done
        printf 'c18 = SEQUENCE:sgx_c18\n'
        # shellcheck disable=SC2086 # one byte a component
        printf '[sgx_c18]\noid = OID:%s\nv = FORMAT:HEX,OCTETSTRING:%s\n' "$(s 2.18)" \
            "$(printf '%02x' $cpusvn)" >>sgx_c.cnf
        cat sgx_c.cnf
        printf '[crl_ext]\nauthorityKeyIdentifier = keyid\n'
    } >ext.cnf
    rm -f sgx_c.cnf

    o="/O=DGA TEST Corporation"
    issue root "/CN=DGA TEST SGX Root CA$o" self root
    issue tcb "/CN=DGA TEST SGX TCB Signing$o" root tcb
    issue tcbca "/CN=DGA TEST SGX TCB Signing CA$o" root tcbca
    issue pckca "/CN=DGA TEST SGX PCK Platform CA$o" root pckca
    cp ca-db.txt root.db
    : >ca-db.txt
    issue pck "/CN=DGA TEST SGX PCK Certificate$o" pckca pck
    issue pckrev "/CN=DGA TEST SGX PCK Certificate$o" pckca pck
    issue pckasca "/CN=DGA TEST SGX PCK Certificate$o" pckca pckasca
    cp ca-db.txt pckca.db

    gen() { # CA DB OUT LAST NEXT
        cp "$2" ca-db.txt
        openssl ca -batch -config ca.cnf -name dga -gencrl -cert "$1.pem" -keyfile "$1.key" \
            -crl_lastupdate "$4" -crl_nextupdate "$5" -md $md -out "$3.pem" 2>/dev/null
        openssl crl -in "$3.pem" -outform DER -out "$3"
        rm -f "$3.pem"
    }
    gen root root.db root.crl $start $end
    gen root root.db root-expired.crl $start 20241231000000Z
    gen pckca pckca.db pck.crl $start $end
    gen pckca pckca.db pck-expired.crl $start 20241231000000Z
    gen pckca pckca.db pck-future.crl 20300101000000Z $end
    cp pckca.db ca-db.txt
    openssl ca -batch -config ca.cnf -name dga -revoke pckrev.pem -keyfile pckca.key \
        -cert pckca.pem -crl_reason keyCompromise 2>/dev/null
    cp ca-db.txt pckca-rev.db
    gen pckca pckca-rev.db pck-revoked.crl $start $end

    cat pck.pem pckca.pem root.pem >chain-pck.pem
    cat pckrev.pem pckca.pem root.pem >chain-pckrev.pem
    cat pckasca.pem pckca.pem root.pem >chain-pckasca.pem
    cat tcb.pem root.pem >chain-tcb.pem
    cat tcbca.pem root.pem >chain-tcbca.pem
    cat pck.pem root.pem >pck-root.pem
    openssl x509 -in root.pem -outform DER -out root.der
}

${mode}_mode
