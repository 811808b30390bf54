#!/usr/bin/env bash
# The verifier server (docs/verify.md, Server) driven over HTTP with curl, as a relying
# party would: dstack's real GetQuote fixture (tests/fixtures/dstack/quote-report.json)
# POSTed to /verify with the collateral of its FMSPC at 2026-03-01 (as test_verify_cli.sh),
# each answer compared with what `verify --json` prints for the same input (the same
# verdict, byte for byte after jq's normalization); the routes, the limits and a slow
# client; and, given the e2e generator's programs, a generated CVM with its gpu_bundle
# under GPU-required expectations. Servers listen on 127.0.0.1 port 0 and the port is
# read back from their log.
#   test_verifier.sh BINARY [LIBFAKE_NVML MAKE_QUOTE]
set -uo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
fx=${DGA_FIXTURES:-$here/../fixtures}
# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
. "$here/../lib/server.sh"
server_test_init

ATT=$fx/dstack/quote-report.json
COLL=$fx/tdx/tdx_quote_outdated_collateral.json
AT=2026-03-01T00:00:00Z
echo '{}' >"$tmp/none.json"
echo "{\"gpu\":{\"required\":true,\"rim_dir\":\"$fx/gpu/h100_545.00/rims\"}}" >"$tmp/gpu.json"

# server NAME ARGS...: the verifier on 127.0.0.1 (any port); sets ${NAME}_port, ${NAME}_pid
server() {
    local name=$1
    shift
    start_server "$name" "$bin" verifier --listen 127.0.0.1:0 "$@"
}

# http NAME WANT_STATUS CURL_ARGS...: the body in $tmp/NAME.body
http() {
    local name=$1 want=$2 got
    shift 2
    got=$(curl -sS -o "$tmp/$name.body" -w '%{http_code}' "$@" 2>"$tmp/$name.curl")
    if [ "$got" != "$want" ]; then
        fail "$name: HTTP $got, want $want: $(head -c 300 "$tmp/$name.body") $(cat "$tmp/$name.curl")"
        return 1
    fi
    ok "$name: HTTP $want"
}
post() { # NAME WANT_STATUS PORT FILE
    http "$1" "$2" -X POST -H 'Content-Type: application/json' --data-binary "@$4" \
        "http://127.0.0.1:$3/verify"
}
jq_is() { # NAME FILTER WANT: jq -r FILTER of NAME's body is WANT
    local got
    got=$(jq -r "$2" "$tmp/$1.body" 2>&1)
    [ "$got" = "$3" ] || fail "$1: $2 is '$got', want '$3'"
}
# same_as_cli NAME ARGS...: NAME's body is `verify --json ARGS...`'s document (jq -S -c)
same_as_cli() {
    local name=$1
    shift
    "$bin" verify --json "$@" >"$tmp/$name.cli" 2>"$tmp/$name.clierr"
    if cmp -s <(jq -S -c . "$tmp/$name.cli") <(jq -S -c . "$tmp/$name.body"); then
        ok "$name: the verify command's document"
    else
        fail "$name: differs from verify --json: $(diff <(jq -S . "$tmp/$name.cli") <(jq -S . "$tmp/$name.body") | head -10)"
    fi
}

# ---- GPU not required: valid, dstack's response shape, the CLI's verdict
server a --expect "$tmp/none.json" --collateral "$COLL" --at $AT
grep -q "WARNING: every request is verified at the fixed TEST time $AT" "$tmp/a.log" ||
    fail "the test time is not logged loudly"
if post fixture 200 "$a_port" "$ATT"; then
    jq_is fixture .is_valid true
    jq_is fixture .reason null
    jq_is fixture .details.tcb_status UpToDate
    jq_is fixture .details.app_info.app_id 3763bc34552cf3a27ff71ad5f7a90471562a1a2d
    jq_is fixture .verified_at $AT
    jq_is fixture .expectations_sha256 "$(sha256sum <"$tmp/none.json" | cut -d' ' -f1)"
    same_as_cli fixture --attestation "$ATT" --expect "$tmp/none.json" --collateral "$COLL" --at $AT
fi
# The same request again (the collateral parse now cached): the same bytes.
post fixture2 200 "$a_port" "$ATT" && cmp -s "$tmp/fixture.body" "$tmp/fixture2.body" ||
    fail "a second identical request answers different bytes"

# A request carrying gpu_bundle (not required here: hashed and reported, not checked).
jq '. + {gpu_bundle: "{\"not\":\"a bundle\"}"}' "$ATT" >"$tmp/with-bundle.json"
if post with-bundle 200 "$a_port" "$tmp/with-bundle.json"; then
    jq_is with-bundle .is_valid true
    same_as_cli with-bundle --attestation "$tmp/with-bundle.json" --expect "$tmp/none.json" \
        --collateral "$COLL" --at $AT
fi

# ---- malformed requests, routes, limits
printf '{"quote":"zz","event_log":"[]"}' >"$tmp/bad.json"
if post bad 400 "$a_port" "$tmp/bad.json"; then
    jq_is bad .is_valid false
    jq_is bad .error cvm-input
    jq_is bad .field quote
    jq_is bad .reason "Input verification failed: attestation: cvm-input: the attestation input is not a GetQuote response or verifier request (field quote)"
fi
jq '. + {unknown_member: 1}' "$ATT" >"$tmp/unknown.json"
post unknown 400 "$a_port" "$tmp/unknown.json" && jq_is unknown .field 'unknown member'
post empty 400 "$a_port" /dev/null
head -c $((8 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$tmp/big.json"
post oversize 413 "$a_port" "$tmp/big.json" && jq_is oversize .error "payload too large"
http health 200 "http://127.0.0.1:$a_port/health" && jq_is health .status ok
http get-verify 405 "http://127.0.0.1:$a_port/verify"
http post-health 405 -X POST -d x "http://127.0.0.1:$a_port/health"
http unknown-path 404 "http://127.0.0.1:$a_port/v1/verify"
http query 404 -X POST --data-binary "@$ATT" "http://127.0.0.1:$a_port/verify?x=1"

# ---- GPU required: the fixture has no gpu-attestation event: 200, not valid
server g --expect "$tmp/gpu.json" --collateral "$COLL" --at $AT
if post gpu 200 "$g_port" "$ATT"; then
    jq_is gpu .is_valid false
    jq_is gpu .reason "GPU verification failed: gpu-attestation: gpu-event-absent: no gpu-attestation event before system-ready (0 after it, ignored)"
    same_as_cli gpu --attestation "$ATT" --expect "$tmp/gpu.json" --collateral "$COLL" --at $AT
fi

# ---- collateral from a directory (parsed once per document), and an expired window
mkdir -p "$tmp/cdir/tdx"
cp "$COLL" "$tmp/cdir/tdx/90C06F000000-platform.json"
server d --expect "$tmp/none.json" --collateral-dir "$tmp/cdir" --at $AT
if post dir 200 "$d_port" "$ATT"; then
    jq_is dir .is_valid true
    same_as_cli dir --attestation "$ATT" --expect "$tmp/none.json" --collateral-dir "$tmp/cdir" --at $AT
fi
post dir2 200 "$d_port" "$ATT" && cmp -s "$tmp/dir.body" "$tmp/dir2.body" ||
    fail "directory source: a second identical request answers different bytes"
server late --expect "$tmp/none.json" --collateral-dir "$tmp/cdir" --at 2026-03-21T00:00:00Z
if post expired 200 "$late_port" "$ATT"; then
    jq_is expired .reason "Quote verification failed: quote: quote-not-verified: tcb-info-expired: the TCB info nextUpdate is before the verification time (tcb_info)"
fi
# A verification that could not be carried out is not a verdict: 503, not valid, the source's
# error named (the expired window above is a verdict: 200). The directory without the
# quote's entry; an entry that does not parse; a PCCS that cannot be reached.
mkdir -p "$tmp/empty/tdx"
server e --expect "$tmp/none.json" --collateral-dir "$tmp/empty" --at $AT
if post no-entry 503 "$e_port" "$ATT"; then
    jq_is no-entry 'keys | join(",")' error,field,is_valid,reason
    jq_is no-entry .is_valid false
    jq_is no-entry .error quote-collateral-missing
    jq_is no-entry .field collateral_dir
    jq_is no-entry .reason "Verification could not be carried out: collateral: quote-collateral-missing: no TDX collateral is stored for the quote's platform (FMSPC and PCK CA) (field collateral_dir)"
fi
grep -q "no verdict: collateral: quote-collateral-missing (collateral_dir $tmp/empty/tdx/90C06F000000-platform.json)" \
    "$tmp/e.log" || fail "no-entry: the missing entry is not logged"
mkdir -p "$tmp/junk/tdx"
echo '{}' >"$tmp/junk/tdx/90C06F000000-platform.json"
server j --expect "$tmp/none.json" --collateral-dir "$tmp/junk" --at $AT
post junk-entry 503 "$j_port" "$ATT" && jq_is junk-entry .error quote-collateral
server p --expect "$tmp/none.json" --pccs-url http://127.0.0.1:1 --at $AT
post no-pccs 503 "$p_port" "$ATT" && jq_is no-pccs .error collateral-unreachable

# ---- the time is each request's arrival when no test time is set
server now --expect "$tmp/none.json" --collateral "$COLL"
if post now 200 "$now_port" "$ATT"; then
    v=$(jq -r .verified_at "$tmp/now.body")
    t=$(date -u -d "$v" +%s 2>/dev/null || echo 0)
    [ $(($(date +%s) - t)) -le 60 ] || fail "now: verified_at $v is not the request's time"
fi

# ---- a slow client is cut at client-request-timeout; others are served meanwhile
server s --expect "$tmp/none.json" --collateral "$COLL" --at $AT --client-request-timeout 2
slow_client "$s_port" $'POST /verify HTTP/1.1\r\nHost: v\r\nContent-Length: 1000\r\n\r\n' x
sleep 0.5
post during-slow 200 "$s_port" "$ATT"
slow_client_cut "$tmp/s.log"

# ---- configuration: a file, strict
cat >"$tmp/v.conf" <<EOF
# the verifier's own config
listen = 127.0.0.1:0
expect = $tmp/none.json
collateral = $COLL
at = @1772323200
EOF
server c --config "$tmp/v.conf"
post config 200 "$c_port" "$ATT" && jq_is config .verified_at $AT
printf 'expect = %s\nno-such-key = 1\n' "$tmp/none.json" >"$tmp/bad.conf"
"$bin" verifier --config "$tmp/bad.conf" --collateral "$COLL" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q "bad.conf: line 2: config line" "$tmp/err" && ok "unknown config key refused" ||
    fail "unknown config key: exit $rc, $(cat "$tmp/err")"
"$bin" verifier --expect "$tmp/none.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q "exactly one of collateral, collateral-dir, pccs-url" "$tmp/err" &&
    ok "no collateral source refused" || fail "no collateral source: exit $rc, $(cat "$tmp/err")"
"$bin" verifier --expect "$tmp/none.json" --collateral "$COLL" --collateral-dir "$tmp/cdir" \
    >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] && ok "two collateral sources refused" || fail "two collateral sources accepted"
echo '{"nope":1}' >"$tmp/bad-expect.json"
"$bin" verifier --expect "$tmp/bad-expect.json" --collateral "$COLL" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q "cvm-expectations" "$tmp/err" && ok "bad expectations refused at start" ||
    fail "bad expectations: exit $rc, $(cat "$tmp/err")"
"$bin" verifier --expect "$tmp/gpu.json" --collateral "$COLL" --max-request 9M >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] && ok "max-request above 8M refused" || fail "max-request 9M accepted"

# ---- the e2e generator's CVM with its gpu_bundle, GPUs required (when given its programs)
if [ $# -ge 3 ]; then
    export DGA_BIN=$bin DGA_FAKE_NVML=$2 DGA_MAKE_QUOTE=$3 DGA_FIXTURES=$fx
    mk=$here/../e2e/make_cvm.sh
    E2E_AT=2025-07-01T00:00:00Z
    if "$mk" setup "$tmp/e2e" >/dev/null 2>&1 && "$mk" gate "$tmp/e2e" a 2 >/dev/null 2>&1 &&
        "$mk" cvm "$tmp/e2e" "$tmp/e2e/a" "$tmp/e2e/cvm" >/dev/null 2>&1; then
        C=$tmp/e2e/cvm
        # the bundle's exact bytes as the request's string: GpuInfo's "attestation" or the file
        if jq -e 'type == "object" and keys == ["attestation"]' "$C/bundle.json" >/dev/null 2>&1; then
            jq --arg b "$(jq -j .attestation "$C/bundle.json")" '. + {gpu_bundle: $b}' \
                "$C/attestation.json" >"$C/request.json"
        else
            jq --rawfile b "$C/bundle.json" '. + {gpu_bundle: $b}' "$C/attestation.json" >"$C/request.json"
        fi
        server x --expect "$C/expect.json" --collateral "$tmp/e2e/collateral.json" \
            --test-trusted-root "$tmp/e2e/pki/root.der" --at $E2E_AT
        grep -q "WARNING: quotes are verified to the TEST root" "$tmp/x.log" ||
            fail "the test root is not logged loudly"
        if post e2e 200 "$x_port" "$C/request.json"; then
            jq_is e2e .is_valid true
            jq_is e2e .details.gpu.verified true
            jq_is e2e .details.quote.custom_root true
            jq_is e2e .details.quote.trusted_root "$tmp/e2e/pki/root.der"
            jq_is e2e '[.details.checks[] | select(.name | startswith("gpu-")) | .status] | unique | join(",")' pass
            same_as_cli e2e --attestation "$C/attestation.json" --gpu-bundle "$C/bundle.json" \
                --expect "$C/expect.json" --collateral "$tmp/e2e/collateral.json" \
                --trusted-root "$tmp/e2e/pki/root.der" --at $E2E_AT
        fi
    else
        fail "e2e: make_cvm.sh could not build the CVM"
    fi
fi

server_test_done "verifier server: all passed"
