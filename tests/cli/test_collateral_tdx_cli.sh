#!/usr/bin/env bash
# collateral fetch-tdx and quote verify --collateral-dir, driven as a user would, against
# a fake PCCS on 127.0.0.1 (tests/quote/fake_pccs.py) serving the real collateral of
# tests/fixtures/tdx/tdx_quote split back into the PCCS answers it came from. Each case
# asserts the exit code and the exact error name and item; every refused fetch leaves the
# directory as it was.
#   test_collateral_tdx_cli.sh BINARY
set -uo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
fx=${DGA_FIXTURES:-$here/../fixtures}
tdx=$fx/tdx
pccs_py=$here/../quote/fake_pccs.py
tmp=$(mktemp -d)
srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }

Q=$tdx/tdx_quote
C=$tdx/tdx_quote_collateral.json
JUL1=2025-07-01T00:00:00Z
KEY=B0C06F000000-platform.json
P=$tmp/pccs

python3 "$pccs_py" split "$C" platform "$P" || { echo "FAIL split"; exit 1; }
cp -r "$P" "$tmp/pristine"
python3 "$pccs_py" serve "$P" "$tmp/port" "$tmp/log" 2>"$tmp/srv.err" &
srv=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "FAIL fake PCCS did not start: $(cat "$tmp/srv.err")"; exit 1; }
URL=http://127.0.0.1:$(cat "$tmp/port")

# restore the PCCS's files after a case edited them
reset_pccs() { rm -rf "$P" && cp -r "$tmp/pristine" "$P"; }

# fetch NAME WANT_RC DIR [ARGS...]: fetch-tdx of tdx_quote at JUL1 into DIR
fetch() {
    local name=$1 rc=$2 dir=$3
    shift 3
    "$bin" collateral fetch-tdx --quote "$Q" --pccs-url "$URL" --dir "$dir" --at $JUL1 "$@" \
        >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" != "$rc" ]; then
        fail "$name: rc $got (want $rc): $(head -c 400 "$tmp/err")"
        return 1
    fi
    return 0
}

# refused NAME ERROR_LINE [ARGS...]: the fetch fails (exit 1) with exactly this error line
# on stderr (a line ending in '*': this prefix, then libcurl's words), and the store that
# already held a good entry is byte for byte as it was
refused() {
    local name=$1 want=$2
    shift 2
    local before
    before=$(cd "$tmp/good" && find . -printf '%p %s %m\n' | sort && sha256sum tdx/*)
    if fetch "$name" 1 "$tmp/good" "$@" && fetch "$name (new dir)" 1 "$tmp/new" "$@"; then
        local line
        line=$(grep '^error: ' "$tmp/err")
        if [ "$line" != "$want" ] && ! { [ "${want%\*}" != "$want" ] && [ "${line#"${want%\*}"}" != "$line" ]; }; then
            fail "$name: stderr '$(cat "$tmp/err")', want '$want'"
        elif [ "$(cd "$tmp/good" && find . -printf '%p %s %m\n' | sort && sha256sum tdx/*)" != "$before" ]; then
            fail "$name: the directory changed"
        elif [ -e "$tmp/new" ]; then
            fail "$name: a directory was created"
        else
            ok "$name"
        fi
    fi
    reset_pccs
}

# ---- the fetch, and verification from the directory
if fetch "fetch tdx_quote" 0 "$tmp/good"; then
    printf 'stored: %s\nfmspc: B0C06F000000\npck_ca: platform\nstatus: UpToDate\n' \
        "$tmp/good/tdx/$KEY" | cmp -s - "$tmp/out" || fail "fetch output: $(cat "$tmp/out")"
    [ "$(ls -A "$tmp/good/tdx")" = "$KEY" ] || fail "store holds $(ls -A "$tmp/good/tdx")"
    for m in tcb_info qe_identity tcb_info_signature qe_identity_signature root_ca_crl pck_crl \
        tcb_info_issuer_chain qe_identity_issuer_chain pck_crl_issuer_chain; do
        cmp -s <(jq -j ".$m" "$tmp/good/tdx/$KEY") <(jq -j ".$m" "$C") ||
            fail "stored $m differs from the fixture's"
    done
    [ "$(jq -r 'keys_unsorted | join(",")' "$tmp/good/tdx/$KEY")" = \
        pck_crl_issuer_chain,root_ca_crl,pck_crl,tcb_info_issuer_chain,tcb_info,tcb_info_signature,qe_identity_issuer_chain,qe_identity,qe_identity_signature ] ||
        fail "stored members: $(jq -c keys_unsorted "$tmp/good/tdx/$KEY")"
    want_log='/sgx/certification/v4/pckcrl?ca=platform&encoding=der 200
/tdx/certification/v4/tcb?fmspc=B0C06F000000 200
/tdx/certification/v4/qe/identity?update=standard 200
/sgx/certification/v4/rootcacrl 200'
    [ "$(cat "$tmp/log")" = "$want_log" ] || fail "PCCS requests: $(cat "$tmp/log")"
    ok "fetch tdx_quote"
fi

"$bin" quote verify "$Q" --collateral-dir "$tmp/good" --at $JUL1 --json >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 0 ] && [ "$(jq -r '[.status, .fmspc, .pck_ca] | join(" ")' "$tmp/out")" = "UpToDate B0C06F000000 platform" ] &&
    ok "quote verify --collateral-dir" || fail "quote verify --collateral-dir: rc $rc $(head -c 300 "$tmp/out") $(cat "$tmp/err")"
# the same verdict as from the fixture itself
"$bin" quote verify "$Q" --collateral "$C" --at $JUL1 --json >"$tmp/ref" 2>/dev/null
cmp -s "$tmp/out" "$tmp/ref" && ok "same verdict as --collateral" || fail "verdicts differ from --collateral"

# ---- quote verify --collateral-dir: usage and refusals
"$bin" quote verify "$Q" --collateral "$C" --collateral-dir "$tmp/good" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 2 ] && grep -qF 'exactly one of --collateral FILE and --collateral-dir DIR is required' "$tmp/err" &&
    ok "both collateral options: usage" || fail "both options: rc $rc $(head -c 200 "$tmp/err")"
"$bin" quote verify "$Q" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 2 ] && grep -qF 'exactly one of --collateral FILE and --collateral-dir DIR is required' "$tmp/err" &&
    ok "no collateral option: usage" || fail "no option: rc $rc $(head -c 200 "$tmp/err")"

mkdir -p "$tmp/empty"
"$bin" quote verify "$Q" --collateral-dir "$tmp/empty" --at $JUL1 --json >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] && [ "$(jq -r '[.error, .field] | join(" ")' "$tmp/out")" = "quote-collateral-missing $tmp/empty/tdx/$KEY" ] &&
    ok "missing entry" || fail "missing entry: rc $rc $(cat "$tmp/out" "$tmp/err")"
"$bin" quote verify "$Q" --collateral-dir "$tmp/empty" --at $JUL1 >"$tmp/out" 2>"$tmp/err"
[ "$(cat "$tmp/err")" = "error: quote-collateral-missing: no TDX collateral is stored for the quote's platform (FMSPC and PCK CA) (field $tmp/empty/tdx/$KEY at offset 0)" ] &&
    ok "missing entry (text)" || fail "missing entry text: $(cat "$tmp/err")"

mkdir -p "$tmp/link/tdx"
ln -s "$C" "$tmp/link/tdx/$KEY"
"$bin" quote verify "$Q" --collateral-dir "$tmp/link" --at $JUL1 --json >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] && [ "$(jq -r '[.error, .field] | join(" ")' "$tmp/out")" = "not-regular-file $tmp/link/tdx/$KEY" ] &&
    ok "symlinked entry refused" || fail "symlinked entry: rc $rc $(cat "$tmp/out" "$tmp/err")"

# a quote of another platform does not find this one's entry
"$bin" quote verify "$tdx/tdx_quote_outdated" --collateral-dir "$tmp/good" --at $JUL1 --json >"$tmp/out" 2>/dev/null
[ "$(jq -r '.error + " " + (.field | sub(".*/"; ""))' "$tmp/out")" = "quote-collateral-missing 90C06F000000-platform.json" ] &&
    ok "another FMSPC's entry" || fail "other FMSPC: $(cat "$tmp/out")"

# ---- fetch-tdx refusals; nothing is stored
refused "PCCS down" \
    "error: collateral-unreachable: the collateral service (OCSP responder, RIM service) could not be reached (pck_crl: *" \
    --pccs-url http://127.0.0.1:1
# (a later --pccs-url wins: getopt keeps the last value)
sed -i '/ tcb$/d' "$P/routes"
refused "HTTP 404" \
    "error: collateral-http: the collateral service answered with an HTTP error (tcb_info: HTTP 404)"
echo 503 >"$P/qe.status"
refused "HTTP 503 after retries" \
    "error: collateral-http: the collateral service answered with an HTTP error (qe_identity: HTTP 503)"
sed -i 's/"tcbEvaluationDataNumber":17/"tcbEvaluationDataNumber":18/' "$P/tcb.body"
refused "tampered tcbInfo" \
    "error: tcb-info-signature: the TCB info signature does not verify (tcb_info_signature)"
sed -i 's/"isvprodid":2/"isvprodid":3/' "$P/qe.body"
refused "tampered enclaveIdentity" \
    "error: qe-identity-signature: the QE identity signature does not verify (qe_identity_signature)"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' >"$P/rootcacrl.body"
refused "oversized body" \
    "error: too-large: input exceeds its size limit (root_ca_crl)"
sed -i 's/^TCB-Info-Issuer-Chain: -/TCB-Info-Issuer-Chain: %ZZ-/' "$P/tcb.headers"
refused "bad header encoding" \
    "error: collateral-header: a collateral response header (an issuer chain) is missing, repeated or malformed (tcb_info_issuer_chain)"
: >"$P/qe.headers"
refused "missing header" \
    "error: collateral-header: a collateral response header (an issuer chain) is missing, repeated or malformed (qe_identity_issuer_chain)"
line=$(sed 's/^TCB-Info-Issuer-Chain/SGX-TCB-Info-Issuer-Chain/' "$P/tcb.headers") && echo "$line" >>"$P/tcb.headers"
refused "both TCB chain headers" \
    "error: collateral-header: a collateral response header (an issuer chain) is missing, repeated or malformed (tcb_info_issuer_chain)"
line=$(grep '^TCB-Info-Issuer-Chain' "$P/tcb.headers") && echo "$line" >>"$P/tcb.headers"
refused "same header twice" \
    "error: collateral-header: a collateral response header (an issuer chain) is missing, repeated or malformed (tcb_info)"
printf 'SGX-PCK-CRL-Issuer-Chain: %s\n' "$(printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' | jq -sRr @uri)" >"$P/pckcrl.headers"
refused "header not a PEM chain" \
    "error: collateral-header: a collateral response header (an issuer chain) is missing, repeated or malformed (pck_crl_issuer_chain)"
echo '{"tcbInfo":"x","signature":"00"}' >"$P/tcb.body"
refused "body not signed JSON" \
    "error: collateral-body: a collateral response body is not the CRL or signed JSON object expected (tcb_info)"
printf '30' >"$P/pckcrl.body"
refused "body not a CRL" \
    "error: collateral-body: a collateral response body is not the CRL or signed JSON object expected (pck_crl)"
refused "collateral expired at --at" \
    "error: tcb-info-expired: the TCB info nextUpdate is before the verification time (tcb_info)" \
    --at 2025-07-20T00:00:00Z

# ---- accepted variations of the PCCS's answers
rm -rf "$tmp/v"
python3 -c 'import sys; p = sys.argv[1]; d = bytes.fromhex(open(p).read()); open(p, "wb").write(d)' "$P/rootcacrl.body"
fetch "root CA CRL as DER" 0 "$tmp/v" && cmp -s <(jq -j .root_ca_crl "$tmp/v/tdx/$KEY") <(jq -j .root_ca_crl "$C") &&
    ok "root CA CRL as DER" || fail "root CA CRL as DER: $(cat "$tmp/err")"
reset_pccs
rm -rf "$tmp/v"
# members swapped and spaced out: the cut is still the signed text, byte for byte
python3 - "$C" "$P/tcb.body" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
open(sys.argv[2], "w").write('{ "signature" : "%s" ,\n  "tcbInfo" :\t%s ,"note":{"a":["}",1]} }\n'
                             % (c["tcb_info_signature"].upper(), c["tcb_info"]))
EOF
sed -i 's/^TCB-Info-Issuer-Chain/SGX-TCB-Info-Issuer-Chain/' "$P/tcb.headers"
fetch "reordered tcb body" 0 "$tmp/v" && cmp -s <(jq -j .tcb_info "$tmp/v/tdx/$KEY") <(jq -j .tcb_info "$C") &&
    ok "reordered tcb body, SGX- header" || fail "reordered tcb body: $(cat "$tmp/err")"
reset_pccs
rm -rf "$tmp/v"
"$bin" collateral fetch-tdx --quote "$Q" --pccs-url "$URL/tdx/certification/v4/" --dir "$tmp/v" --at $JUL1 >/dev/null 2>"$tmp/err" &&
    [ -f "$tmp/v/tdx/$KEY" ] && ok "base URL with the API prefix" || fail "API prefix: $(cat "$tmp/err")"
# a second fetch replaces the entry atomically and leaves no temporary file
fetch "refetch" 0 "$tmp/v" && [ "$(ls -A "$tmp/v/tdx")" = "$KEY" ] && ok "refetch" || fail "refetch: $(ls -A "$tmp/v/tdx")"

# ---- collateral status lists the entry with its windows (the PCK CRL ends it: expired at
# its nextUpdate 2025-07-19T10:00:35Z itself, as quote verify says)
# status_case NAME RC DIR AT WANT_LINE: the exit code and the exact TDX line of the text output
status_case() {
    "$bin" collateral status --dir "$3" --at "$4" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" != "$2" ]; then
        fail "$1: rc $rc (want $2): $(cat "$tmp/out" "$tmp/err" | head -c 400)"
    elif ! grep -qxF "$5" "$tmp/out"; then
        fail "$1: $(cat "$tmp/out")"
    else
        ok "$1"
    fi
}
status_case "status: usable" 0 "$tmp/v" $JUL1 \
    "  $KEY: usable from 2025-06-19T10:32:27Z until 2025-07-19T10:00:34Z"
status_case "status: last usable second" 0 "$tmp/v" 2025-07-19T10:00:34Z \
    "  $KEY: usable from 2025-06-19T10:32:27Z until 2025-07-19T10:00:34Z"
"$bin" quote verify "$Q" --collateral-dir "$tmp/v" --at 2025-07-19T10:00:34Z >/dev/null 2>&1 ||
    fail "quote verify at the last usable second"
status_case "status: PCK CRL expired" 1 "$tmp/v" 2025-07-19T10:00:35Z \
    "  $KEY: usable from 2025-06-19T10:32:27Z until 2025-07-19T10:00:34Z  STALE"
"$bin" quote verify "$Q" --collateral-dir "$tmp/v" --at 2025-07-19T10:00:35Z >/dev/null 2>"$tmp/err"
[ $? = 1 ] && grep -q '^error: crl-expired' "$tmp/err" || fail "quote verify at the PCK CRL's nextUpdate"
status_case "status: before the QE identity" 1 "$tmp/v" 2025-06-19T10:32:26Z \
    "  $KEY: usable from 2025-06-19T10:32:27Z until 2025-07-19T10:00:34Z  STALE"
mkdir -p "$tmp/s/tdx"
cp "$tmp/v/tdx/$KEY" "$tmp/s/tdx/B0C06F000000-processor.json"
status_case "status: misnamed entry" 1 "$tmp/s" $JUL1 \
    "  B0C06F000000-processor.json: usable from 2025-06-19T10:32:27Z until 2025-07-19T10:00:34Z  MISNAMED"
printf '{}' >"$tmp/s/tdx/B0C06F000000-processor.json"
status_case "status: unreadable entry" 1 "$tmp/s" $JUL1 \
    "  B0C06F000000-processor.json: UNREADABLE [quote-collateral]"
"$bin" collateral status --dir "$tmp/v" --at $JUL1 --json >"$tmp/out" 2>&1
[ "$(jq -c '.tdx[0] | [.fmspc, .pck_ca, .named_by_key, .fresh, .tcb_info, .qe_identity, .root_ca_crl, .pck_crl]' "$tmp/out")" = \
    '["B0C06F000000","platform",true,true,{"from":"2025-06-19T10:16:03Z","until":"2025-07-19T10:16:03Z"},{"from":"2025-06-19T10:32:27Z","until":"2025-07-19T10:32:27Z"},{"from":"2025-03-20T11:21:57Z","until":"2026-04-03T11:21:57Z"},{"from":"2025-06-19T10:00:35Z","until":"2025-07-19T10:00:35Z"}]' ] &&
    ok "status --json windows" || fail "status --json: $(cat "$tmp/out")"

# ---- usage
"$bin" collateral fetch-tdx --quote "$Q" --dir "$tmp/u" >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" = 2 ] && grep -qF 'collateral fetch-tdx: --pccs-url is required' "$tmp/err" && ok "usage: no --pccs-url" ||
    fail "no --pccs-url: rc $rc $(cat "$tmp/err")"
"$bin" collateral fetch-tdx --quote "$Q" --pccs-url ftp://x --dir "$tmp/u" >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" = 2 ] && grep -qF -- '--pccs-url: expected an http:// or https:// URL' "$tmp/err" && ok "usage: ftp URL" ||
    fail "ftp URL: rc $rc $(cat "$tmp/err")"
"$bin" collateral fetch-tdx --quote "$Q" --pccs-url "$URL" --dir "$tmp/u" --timeout 0 >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" = 2 ] && grep -qF -- '--timeout: expected seconds, 1 to 600' "$tmp/err" && ok "usage: --timeout 0" ||
    fail "--timeout 0: rc $rc $(cat "$tmp/err")"
[ ! -e "$tmp/u" ] || fail "usage errors created the directory"

[ "$failures" -eq 0 ] && echo "all passed" || echo "$failures failed"
exit $((failures > 0))
