# shellcheck shell=sh
# The CA functions of the one test-PKI generator (sourced, never run; POSIX sh): an
# `openssl ca` setup in the current directory, keys, certificates issued with chosen
# serials and validity, and `openssl ocsp` index lines. Used by make_pki.sh (the PKIs
# made at test time), tests/proxy/pki.sh and tests/fixtures/testpki (committed fixtures).

# pki_ca CURVE MD START END: a minimal `openssl ca` setup, one database (ca-db.txt, empty)
# and serial 1000: it can backdate certificates (START, END: YYYYMMDDHHMMSSZ), revoke them
# and write CRLs with chosen times. Subjects keep CN, O, C, serialNumber, in that order.
pki_ca() {
    curve=$1 md=$2 start=$3 end=$4
    mkdir -p newcerts
    printf '1000\n' >serial
    printf '01\n' >crlnumber
    : >ca-db.txt
    cat >ca.cnf <<CNF
[ca]
default_ca = dga
[dga]
dir = .
database = ./ca-db.txt
new_certs_dir = ./newcerts
serial = ./serial
crlnumber = ./crlnumber
default_md = $md
default_crl_days = 30
policy = any
unique_subject = no
email_in_dn = no
copy_extensions = none
[any]
commonName = supplied
organizationName = optional
countryName = optional
serialNumber = optional
[req]
distinguished_name = dn
[dn]
CNF
}

# key NAME: NAME.key, a new EC key on the CURVE of pki_ca.
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:"$curve" -out "$1.key" 2>/dev/null; }

# issue NAME SUBJECT ISSUER EXT [OPENSSL-CA-ARGS...]: NAME.key and NAME.pem, issued by
# ISSUER.pem/ISSUER.key (ISSUER "self": self-signed) with the extension section EXT of
# ext.cnf, valid START .. END, with the serial in ./serial.
issue() {
    key "$1"
    openssl req -config ca.cnf -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
    pki_n=$1 pki_ca=$3 pki_ext=$4
    shift 4
    if [ "$pki_ca" = self ]; then
        pki_ca=$pki_n
        set -- -selfsign "$@"
    else
        set -- -cert "$pki_ca.pem" "$@"
    fi
    openssl ca -batch -config ca.cnf -name dga "$@" -keyfile "$pki_ca.key" -in "$pki_n.csr" \
        -out "$pki_n.pem" -startdate "$start" -enddate "$end" -extfile ext.cnf \
        -extensions "$pki_ext" -notext -md "$md" 2>/dev/null
    rm -f "$pki_n.csr"
}

# ext_section NAME BASIC USAGE [EKU]: the extension section NAME of ext.cnf on stdout:
# critical basicConstraints BASIC and keyUsage USAGE, extendedKeyUsage EKU when given,
# and the key identifiers (the subject's a hash of its key, the authority's the issuer's).
ext_section() {
    printf '[%s]\nbasicConstraints = critical, %s\nkeyUsage = critical, %s\n' "$1" "$2" "$3"
    if [ -n "${4-}" ]; then
        printf 'extendedKeyUsage = %s\n' "$4"
    fi
    printf 'subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n'
}

# ca_ext NAME [PATHLEN]: a CA's section (it signs certificates and CRLs).
ca_ext() { ext_section "$1" "CA:true${2:+, pathlen:$2}" "keyCertSign, cRLSign"; }

# leaf_ext NAME USAGE [EKU]: an end entity's section.
leaf_ext() { ext_section "$1" CA:false "$2" "${3-}"; }

# index_entry NAME STATUS EXPIRY REVOCATION: NAME.pem's `openssl ocsp` index line (status,
# expiry, revocation, serial (hex), file, subject; tab-separated).
index_entry() {
    s=$(openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2)
    subj=$(openssl x509 -in "$1.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
    printf '%s\t%s\t%s\t%s\tunknown\t%s\n' "$2" "$3" "$4" "$s" "$subj"
}
