#!/usr/bin/env bash
# quote verify, driven as a user would: the real TDX vectors (tests/fixtures/tdx, their
# outcomes in tests/fixtures/PROVENANCE.md), bit flips of tdx_quote, edited collateral,
# and synthetic quotes and collateral (tests/quote/make_quote) signed by a private P-256
# PKI (tests/pki/make_pki.sh tdx) for every rule the real vectors cannot reach. Each case
# asserts the exit code and the exact status or error name (and field).
#   test_quote_verify_cli.sh BINARY MAKE_QUOTE
set -uo pipefail
bin=$1
mkq=$2
here=$(cd "$(dirname "$0")" && pwd)
fx=${DGA_FIXTURES:-$here/../fixtures}
tdx=$fx/tdx
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# check NAME WANT_RC WANT (status or error name) [FIELD] -- ARGS...
check() {
    local name=$1 rc=$2 want=$3 field=${4:-}
    shift 4
    [ "${1:-}" = -- ] && shift
    "$bin" quote verify "$@" --json >"$tmp/out" 2>"$tmp/err"
    local got=$?
    local v
    v=$(jq -r 'if .verified then .status else .error end' "$tmp/out" 2>/dev/null)
    if [ "$got" != "$rc" ] || [ "$v" != "$want" ]; then
        fail "$name: rc $got (want $rc), got '$v' (want '$want'): $(head -c 300 "$tmp/out") $(head -c 200 "$tmp/err")"
        return 1
    fi
    if [ -n "$field" ] && [ "$(jq -r .field "$tmp/out")" != "$field" ]; then
        fail "$name: field $(jq -r .field "$tmp/out") (want $field)"
        return 1
    fi
    return 0
}

JUL1=2025-07-01T00:00:00Z
C=$tdx/tdx_quote_collateral.json
OUTC=$tdx/tdx_quote_outdated_collateral.json

# ---- real vectors
check "tdx_quote @2025-07-01" 0 UpToDate "" -- "$tdx/tdx_quote" --collateral "$C" --at $JUL1 &&
    [ "$(jq -c '[.advisory_ids, .qe_status.status, .platform_status.status, .fmspc, .pce_id, .ppid, .pck_ca, .custom_root, .at, .td_report.td_attributes]' "$tmp/out")" = \
        '[[],"UpToDate","UpToDate","B0C06F000000","0000","811dca2a26b952e85bb6448b097ba4fd","platform",false,"2025-07-01T00:00:00Z","0000001000000000"]' ] ||
    fail "tdx_quote JSON fields: $(jq -c . "$tmp/out" | head -c 600)"
check "tdx_quote @unix seconds" 0 UpToDate "" -- "$tdx/tdx_quote" --collateral "$C" --at @1751328000
check "first second of the window" 0 UpToDate "" -- "$tdx/tdx_quote" --collateral "$C" --at 2025-06-19T10:32:27Z
check "last second before the PCK CRL expires" 0 UpToDate "" -- "$tdx/tdx_quote" --collateral "$C" --at 2025-07-19T10:00:34Z
check "before the TCB info issueDate" 1 tcb-info-not-yet-valid tcb_info -- "$tdx/tdx_quote" --collateral "$C" --at 2025-06-19T10:00:00Z
# stricter than the npm oracle (UpToDate): the PCK CRL has expired
check "PCK CRL expired" 1 crl-expired pck_crl -- "$tdx/tdx_quote" --collateral "$C" --at 2025-07-19T10:05:00Z
# both expired: the TCB info (step 2) is checked before the PCK chain (step 4)
check "TCB info expired" 1 tcb-info-expired tcb_info -- "$tdx/tdx_quote" --collateral "$C" --at 2025-07-20T00:00:00Z
# and the root CRL (step 0) before everything
check "root CA CRL expired" 1 crl-expired root_ca_crl -- "$tdx/tdx_quote" --collateral "$C" --at 2026-04-04T00:00:00Z
check "v5 outdated" 1 tcb-no-matching-level tcb_info -- "$tdx/tdx_quote_outdated" --collateral "$OUTC" --at 2026-03-01T00:00:00Z
check "v5 after nextUpdate" 1 tcb-info-expired tcb_info -- "$tdx/tdx_quote_outdated" --collateral "$OUTC" --at 2026-03-21T00:00:00Z
check "NEAR" 0 UpToDate "" -- "$tdx/near_quote.hex" --collateral "$tdx/near_quote_collateral.json" --at 2025-09-15T00:00:00Z
for q in quote-from-tappd.hex tdx-quote.hex dstack_ra_tls_tdx_quote; do
    check "$q" 1 tcb-no-matching-level tcb_info -- "$tdx/$q" --collateral "$C" --at $JUL1
done
check "dstack quote-report.json" 0 UpToDate "" -- "$fx/dstack/quote-report.json" --collateral "$OUTC" --at 2026-03-01T00:00:00Z
check "tdx_quote + NEAR collateral" 1 fmspc-mismatch tcb_info -- "$tdx/tdx_quote" --collateral "$tdx/near_quote_collateral.json" --at 2025-09-15T00:00:00Z
check "require-up-to-date, UpToDate" 0 UpToDate "" -- "$tdx/tdx_quote" --collateral "$C" --at $JUL1 --require-up-to-date

# ---- bit flips of tdx_quote (offset, bit mask, error)
flip() { # OFFSET MASK OUT
    cp "$tdx/tdx_quote" "$3"
    printf "$(printf '\\%03o' $(($(od -An -tu1 -j "$1" -N1 "$tdx/tdx_quote") ^ $2)))" |
        dd of="$3" bs=1 seek="$1" conv=notrunc status=none
}
while read -r off mask want field; do
    flip "$off" "$mask" "$tmp/flip"
    check "flip at $off" 1 "$want" "$field" -- "$tmp/flip" --collateral "$C" --at $JUL1
done <<'FLIPS'
40 1 quote-signature quote.signature
184 1 quote-signature quote.signature
520 1 quote-signature quote.signature
631 128 quote-signature quote.signature
168 1 quote-signature quote.signature
636 1 quote-signature quote.signature
700 1 qe-report-data quote.qe_report.report_data
1220 1 qe-report-data quote.qe_report.report_data
770 1 qe-report-signature quote.qe_report_signature
1154 1 qe-report-signature quote.qe_report_signature
1400 1 pck-chain quote.cert_data
4090 16 pck-chain quote.cert_data
4474 1 pck-chain quote.cert_data
4906 4 pck-chain quote.cert_data
4990 1 quote-padding padding
FLIPS
# the padding is not signed: zero bytes stay UpToDate, one more zero byte is fine too
{ cat "$tdx/tdx_quote"; printf '\0'; } >"$tmp/pad"
check "one more zero byte of padding" 0 UpToDate "" -- "$tmp/pad" --collateral "$C" --at $JUL1

# ---- edited collateral
jq '.tcb_info |= sub("\"tcbEvaluationDataNumber\":17"; "\"tcbEvaluationDataNumber\":18")' "$C" >"$tmp/c1.json"
check "tcb_info edited" 1 tcb-info-signature tcb_info_signature -- "$tdx/tdx_quote" --collateral "$tmp/c1.json" --at $JUL1
jq '.qe_identity |= sub("\"isvprodid\":2"; "\"isvprodid\":3")' "$C" >"$tmp/c2.json"
check "qe_identity edited" 1 qe-identity-signature qe_identity_signature -- "$tdx/tdx_quote" --collateral "$tmp/c2.json" --at $JUL1
jq '.tcb_info_signature |= (if startswith("0") then "1" else "0" end) + .[1:]' "$C" >"$tmp/c3.json"
check "tcb_info_signature flipped" 1 tcb-info-signature tcb_info_signature -- "$tdx/tdx_quote" --collateral "$tmp/c3.json" --at $JUL1
jq '.pck_crl = .root_ca_crl' "$C" >"$tmp/c4.json"
check "PCK CRL replaced by the root CRL" 1 crl-invalid pck_crl -- "$tdx/tdx_quote" --collateral "$tmp/c4.json" --at $JUL1

# ---- usage
"$bin" quote verify "$tdx/tdx_quote" >/dev/null 2>&1
[ $? = 2 ] || fail "no --collateral: want exit 2"
"$bin" quote verify "$tdx/tdx_quote" --collateral "$C" --at 2025-07-01 >/dev/null 2>&1
[ $? = 2 ] || fail "--at without time: want exit 2"
"$bin" quote verify "$tdx/tdx_quote" --collateral "$C" --at $JUL1 >"$tmp/text" 2>&1
grep -qx 'status: UpToDate' "$tmp/text" && grep -qx 'fmspc: B0C06F000000' "$tmp/text" ||
    fail "text output: $(cat "$tmp/text")"

# ---- synthetic: a private PKI, quotes and collateral built per case
pki=$tmp/pki
sh "$here/../pki/make_pki.sh" tdx "$pki" || { echo "FAIL make_pki.sh"; exit 1; }
Z48=$(printf '0%.0s' $(seq 96))
QE_MRSIGNER=$(printf 'dc%.0s' $(seq 32))
comps() { # 16 SVNs as TCB info components
    local out="" s
    for s in "$@"; do out="$out${out:+,}{\"svn\":$s}"; done
    printf '[%s]' "$out"
}
SGX_OK=$(comps 3 3 2 2 4 1 0 5 0 0 0 0 0 0 0 0)
TDX_OK=$(comps 5 0 3 0 0 0 0 0 0 0 0 0 0 0 0 0)
SGX_HIGH=$(comps 9 9 9 9 9 9 9 9 0 0 0 0 0 0 0 0)
level() { # SGX TDX PCESVN STATUS ADVISORIES(json array)
    printf '{"tcb":{"sgxtcbcomponents":%s,"pcesvn":%s,"tdxtcbcomponents":%s},"tcbDate":"2024-01-01T00:00:00Z","tcbStatus":"%s","advisoryIDs":%s}' \
        "$1" "$3" "$2" "$4" "$5"
}
modid() { # ID MRSIGNER ISVSVN STATUS ADVISORIES
    printf '{"id":"%s","mrsigner":"%s","attributes":"0000000000000000","attributesMask":"FFFFFFFFFFFFFFFF","tcbLevels":[{"tcb":{"isvsvn":%s},"tcbDate":"2024-01-01T00:00:00Z","tcbStatus":"%s","advisoryIDs":%s}]}' \
        "$1" "$2" "$3" "$4" "$5"
}
# tcb_info FMSPC LEVELS MODULE_IDENTITIES [ISSUE NEXT]
tcb_info() {
    printf '{"id":"TDX","version":3,"issueDate":"%s","nextUpdate":"%s","fmspc":"%s","pceId":"0000","tcbType":0,"tcbEvaluationDataNumber":17,"tdxModule":{"mrsigner":"%s","attributes":"0000000000000000","attributesMask":"FFFFFFFFFFFFFFFF"},"tdxModuleIdentities":[%s],"tcbLevels":[%s]}' \
        "${4:-2025-01-01T00:00:00Z}" "${5:-2026-01-01T00:00:00Z}" "$1" "$Z48" "$3" "$2"
}
# qe_identity QE_LEVELS [MRSIGNER ATTRIBUTES MISCSELECT ID]
qe_identity() {
    printf '{"id":"%s","version":2,"issueDate":"2025-01-01T00:00:00Z","nextUpdate":"2026-01-01T00:00:00Z","tcbEvaluationDataNumber":17,"miscselect":"%s","miscselectMask":"FFFFFFFF","attributes":"%s","attributesMask":"FBFFFFFFFFFFFFFF0000000000000000","mrsigner":"%s","isvprodid":2,"tcbLevels":[%s]}' \
        "${5:-TD_QE}" "${4:-00000000}" "${3:-11000000000000000000000000000000}" "${2:-$QE_MRSIGNER}" "$1"
}
qelevel() { printf '{"tcb":{"isvsvn":%s},"tcbDate":"2024-01-01T00:00:00Z","tcbStatus":"%s","advisoryIDs":%s}' "$1" "$2" "$3"; }

LEVELS_OK=$(level "$SGX_OK" "$TDX_OK" 11 UpToDate '[]')
MODS_OK=$(modid TDX_01 "$Z48" 4 UpToDate '[]')
QE_OK=$(qelevel 4 UpToDate '[]')

# syn NAME RC WANT FIELD [VAR=VALUE...] -- make_quote options
#   variables: TCB (tcb_info text), QE (qe_identity text), PCKCRL, ROOTCRL, CHAIN (PCK chain
#   in the quote), KEY (its key), TCBCHAIN, TCBKEY, COLLCHAIN (pck_certificate_chain), EXTRA
#   (more quote verify options)
syn() {
    local name=$1 rc=$2 want=$3 field=$4
    shift 4
    local TCB QE PCKCRL=pck.crl ROOTCRL=root.crl CHAIN=chain-pck.pem KEY=pck.key
    local TCBCHAIN=chain-tcb.pem TCBKEY=tcb.key COLLCHAIN="" EXTRA=""
    TCB=$(tcb_info 00906ED50000 "$LEVELS_OK" "$MODS_OK")
    QE=$(qe_identity "$QE_OK")
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        local "$1"
        shift
    done
    [ "${1:-}" = -- ] && shift
    printf '%s' "$TCB" >"$tmp/tcb.json"
    printf '%s' "$QE" >"$tmp/qe.json"
    "$mkq" quote "$tmp/syn.bin" --pck-key "$pki/$KEY" --pck-chain "$pki/$CHAIN" "$@" ||
        { fail "$name: make_quote quote"; return; }
    local cc=()
    [ -n "$COLLCHAIN" ] && cc=(--pck-chain "$pki/$COLLCHAIN")
    "$mkq" collateral "$tmp/syn.json" --tcb-key "$pki/$TCBKEY" --tcb-chain "$pki/$TCBCHAIN" \
        --root-crl "$pki/$ROOTCRL" --pck-crl "$pki/$PCKCRL" --tcb-info "$tmp/tcb.json" \
        --qe-identity "$tmp/qe.json" "${cc[@]}" || { fail "$name: make_quote collateral"; return; }
    # shellcheck disable=SC2086
    check "$name" "$rc" "$want" "$field" -- "$tmp/syn.bin" --collateral "$tmp/syn.json" \
        --at $JUL1 --trusted-root "$pki/root.der" $EXTRA
}

syn "synthetic baseline" 0 UpToDate ""
[ "$(jq -c '[.custom_root, .fmspc, .ppid]' "$tmp/out")" = '[true,"00906ED50000","00112233445566778899aabbccddeeff"]' ] ||
    fail "synthetic verdict fields: $(jq -c . "$tmp/out" | head -c 400)"
grep -q 'warning: verifying to a custom root' "$tmp/err" || fail "custom root warning missing"
check "synthetic quote without --trusted-root" 1 crl-invalid root_ca_crl -- "$tmp/syn.bin" --collateral "$tmp/syn.json" --at $JUL1
syn "v5 TD15 quote" 0 UpToDate "" -- --version 5 --body td15
syn "v5 TD10 quote" 0 UpToDate "" -- --version 5 --body td10
# TD attributes
syn "debug TD" 1 td-debug quote.td.td_attributes -- --td-attributes 0100001000000000
syn "debug TD, --allow-debug" 0 UpToDate "" EXTRA=--allow-debug -- --td-attributes 0100001000000000
syn "reserved TD attribute bit 1" 1 td-reserved-attributes quote.td.td_attributes -- --td-attributes 0200001000000000
syn "reserved bit with --allow-debug" 1 td-reserved-attributes quote.td.td_attributes EXTRA=--allow-debug -- --td-attributes 0300001000000000
syn "SEPT_VE_DISABLE clear" 1 td-sept-ve-disabled quote.td.td_attributes -- --td-attributes 0000000000000000
syn "PKS, KL, PERFMON allowed" 0 UpToDate "" -- --td-attributes 000000d000000080
syn "non-zero mr_service_td" 1 td-service-td quote.td.mr_service_td -- --version 5 --body td15 --mr-service-td "01${Z48:2}"
# header
syn "wrong QE vendor" 1 quote-vendor quote.qe_vendor_id -- --vendor 00000000000000000000000000000000
# QE report and identity
syn "QE report data second half" 1 qe-report-data quote.qe_report.report_data -- --qe-report-data-tail
syn "QE MRSIGNER" 1 qe-mrsigner qe_identity -- --qe-mrsigner "$(printf 'ab%.0s' $(seq 32))"
syn "QE debug" 1 qe-debug qe_identity -- --qe-attributes 17000000000000000000000000000000
syn "QE attributes (masked)" 1 qe-attributes qe_identity -- --qe-attributes 15010000000000000000000000000000
syn "QE miscselect" 1 qe-miscselect qe_identity -- --qe-miscselect 1
syn "QE ISVPRODID" 1 qe-isvprodid qe_identity -- --qe-isvprodid 3
syn "QE below minimum" 1 qe-isvsvn qe_identity -- --qe-isvsvn 3
syn "QE identity of SGX" 1 qe-identity-tee qe_identity QE="$(qe_identity "$QE_OK" "" "" "" QE)"
syn "QE OutOfDate with advisory" 0 OutOfDate "" \
    QE="$(qe_identity "$(qelevel 8 UpToDate '[]'),$(qelevel 4 OutOfDate '["INTEL-SA-00615"]')")"
[ "$(jq -c '[.advisory_ids, .qe_status.status, .platform_status.status]' "$tmp/out")" = '[["INTEL-SA-00615"],"OutOfDate","UpToDate"]' ] ||
    fail "QE OutOfDate fields: $(jq -c . "$tmp/out" | head -c 300)"
syn "require-up-to-date with OutOfDate" 1 tcb-not-up-to-date status EXTRA=--require-up-to-date \
    QE="$(qe_identity "$(qelevel 8 UpToDate '[]'),$(qelevel 4 OutOfDate '["INTEL-SA-00615"]')")"
# platform TCB levels
syn "FMSPC mismatch" 1 fmspc-mismatch tcb_info TCB="$(tcb_info 00906ED50001 "$LEVELS_OK" "$MODS_OK")"
syn "no matching level" 1 tcb-no-matching-level tcb_info \
    TCB="$(tcb_info 00906ED50000 "$(level "$SGX_HIGH" "$TDX_OK" 11 UpToDate '[]')" "$MODS_OK")"
syn "Revoked platform level" 1 tcb-revoked tcb_info \
    TCB="$(tcb_info 00906ED50000 "$(level "$SGX_OK" "$TDX_OK" 11 Revoked '["INTEL-SA-00001"]')" "$MODS_OK")"
syn "Revoked QE level" 1 tcb-revoked qe_identity QE="$(qe_identity "$(qelevel 4 Revoked '[]')")"
syn "OutOfDate level, advisories merged" 0 OutOfDate "" \
    TCB="$(tcb_info 00906ED50000 "$(level "$SGX_HIGH" "$TDX_OK" 11 UpToDate '[]'),$(level "$SGX_OK" "$TDX_OK" 11 OutOfDate '["INTEL-SA-00100","INTEL-SA-00200"]')" \
        "$(modid TDX_01 "$Z48" 4 SWHardeningNeeded '["INTEL-SA-00200","INTEL-SA-00300"]')")" \
    QE="$(qe_identity "$(qelevel 4 SWHardeningNeeded '["INTEL-SA-00400"]')")"
[ "$(jq -c '[.advisory_ids, .platform_status.status, .platform_status.advisory_ids, .qe_status.status]' "$tmp/out")" = \
    '[["INTEL-SA-00100","INTEL-SA-00200","INTEL-SA-00300","INTEL-SA-00400"],"OutOfDate",["INTEL-SA-00100","INTEL-SA-00200","INTEL-SA-00300"],"SWHardeningNeeded"]' ] ||
    fail "merged advisories: $(jq -c . "$tmp/out" | head -c 400)"
# Intel's status convergence: OutOfDate (QE or TDX module) on a configuration status
QE_OOD=$(qe_identity "$(qelevel 8 UpToDate '[]'),$(qelevel 4 OutOfDate '["INTEL-SA-00615"]')")
MODS_OOD=$(modid TDX_01 "$Z48" 4 OutOfDate '["INTEL-SA-00700"]')
for cfg in ConfigurationNeeded ConfigurationAndSWHardeningNeeded; do
    TCB_CFG=$(tcb_info 00906ED50000 "$(level "$SGX_OK" "$TDX_OK" 11 $cfg '["INTEL-SA-00500"]')" "$MODS_OK")
    syn "QE OutOfDate on $cfg" 0 OutOfDateConfigurationNeeded "" TCB="$TCB_CFG" QE="$QE_OOD"
    [ "$(jq -c '[.advisory_ids, .platform_status.status, .qe_status.status]' "$tmp/out")" = \
        "[[\"INTEL-SA-00500\",\"INTEL-SA-00615\"],\"$cfg\",\"OutOfDate\"]" ] ||
        fail "QE OutOfDate on $cfg fields: $(jq -c . "$tmp/out" | head -c 300)"
    TCB_CFG=$(tcb_info 00906ED50000 "$(level "$SGX_OK" "$TDX_OK" 11 $cfg '["INTEL-SA-00500"]')" "$MODS_OOD")
    syn "module OutOfDate on $cfg" 0 OutOfDateConfigurationNeeded "" TCB="$TCB_CFG"
    [ "$(jq -c '[.advisory_ids, .platform_status.status, .qe_status.status]' "$tmp/out")" = \
        '[["INTEL-SA-00500","INTEL-SA-00700"],"OutOfDateConfigurationNeeded","UpToDate"]' ] ||
        fail "module OutOfDate on $cfg fields: $(jq -c . "$tmp/out" | head -c 300)"
done
syn "module OutOfDate on SWHardeningNeeded" 0 OutOfDate "" \
    TCB="$(tcb_info 00906ED50000 "$(level "$SGX_OK" "$TDX_OK" 11 SWHardeningNeeded '[]')" "$MODS_OOD")"
# TDX module identity
syn "module MRSIGNER" 1 tdx-module-mrsigner tcb_info -- --mr-signer-seam "01${Z48:2}"
syn "module attributes" 1 tdx-module-attributes tcb_info -- --seam-attributes 0100000000000000
syn "module TDX_02 missing" 1 tdx-module-identity tcb_info -- --tee-tcb-svn 06020300000000000000000000000000
syn "module ISVSVN below" 1 tdx-module-isvsvn tcb_info \
    TCB="$(tcb_info 00906ED50000 "$LEVELS_OK" "$(modid TDX_01 "$Z48" 7 UpToDate '[]')")"
# CRLs and chains
syn "revoked PCK" 1 cert-revoked quote.cert_data PCKCRL=pck-revoked.crl CHAIN=chain-pckrev.pem KEY=pckrev.key
syn "PCK CRL expired" 1 crl-expired pck_crl PCKCRL=pck-expired.crl
syn "PCK CRL not yet valid" 1 crl-not-yet-valid pck_crl PCKCRL=pck-future.crl
syn "root CRL expired" 1 crl-expired root_ca_crl ROOTCRL=root-expired.crl
syn "PCK chain too short" 1 pck-chain quote.cert_data CHAIN=pck.pem
syn "PCK leaf is a CA" 1 pck-chain quote.cert_data CHAIN=chain-pckasca.pem KEY=pckasca.key
syn "TCB signing chain too short" 1 tcb-signing-chain tcb_info_issuer_chain TCBCHAIN=tcb.pem
syn "TCB signing cert is a CA" 1 tcb-signing-chain tcb_info_issuer_chain TCBCHAIN=chain-tcbca.pem TCBKEY=tcbca.key
syn "TCB info signed by another key" 1 tcb-info-signature tcb_info_signature TCBKEY=pck.key
syn "collateral PCK chain preferred" 1 cert-revoked pck_certificate_chain PCKCRL=pck-revoked.crl COLLCHAIN=chain-pckrev.pem
syn "inner type 3 with the collateral chain" 0 UpToDate "" COLLCHAIN=chain-pck.pem -- --inner-type 3
syn "inner type 3 without a chain" 1 quote-cert-data quote.cert_data -- --inner-type 3
# the time window of the TCB info, bounds inclusive
syn "TCB info issued at the time" 0 UpToDate "" \
    TCB="$(tcb_info 00906ED50000 "$LEVELS_OK" "$MODS_OK" $JUL1 2026-01-01T00:00:00Z)"
syn "TCB info expiring at the time" 0 UpToDate "" \
    TCB="$(tcb_info 00906ED50000 "$LEVELS_OK" "$MODS_OK" 2025-01-01T00:00:00Z $JUL1)"
syn "TCB info expired a second before" 1 tcb-info-expired tcb_info \
    TCB="$(tcb_info 00906ED50000 "$LEVELS_OK" "$MODS_OK" 2025-01-01T00:00:00Z 2025-06-30T23:59:59Z)"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "quote verify CLI: all passed"
