#!/usr/bin/env bash
# `events replay | emit | policy-hash` as an operator drives them: exit codes,
# the named reasons on stderr, replay of dstack's recorded quote and event log,
# emission into a simulated register and a redirected TDX sysfs tree, and
# replaying what was emitted. Usage: test_events_cli.sh PATH/TO/dstack-gpu-attest
# DGA_FIXTURES names the fixtures. Needs only coreutils, sed and perl.
set -u
bin=$1
fx=${DGA_FIXTURES:-tests/fixtures}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
RTMR3=0f787c3877f3e95095d5a4d13dd0fe0233803b30120d8469866719dc28f519ce021fe1e53459121e7a5a4443147185a8
ZERO48=$(printf '0%.0s' $(seq 96))

. "$(dirname "$0")/lib.sh"

# lowercase hex of a file, one line
hexof() { od -An -tx1 -v "$1" | tr -d ' \n'; }
# expect_same NAME FILE1 FILE2: byte-identical files (or both absent)
expect_same() {
    if [ -e "$2" ] || [ -e "$3" ]; then
        if ! cmp -s "$2" "$3"; then
            echo "FAIL $1: $2 and $3 differ"; failures=$((failures + 1))
        fi
    fi
}

q=$fx/dstack/quote-report.json
lines=$fx/dstack/runtime_events.log

# ---- usage -------------------------------------------------------------------------------------
run 0 "help lists events" -- --help && expect out "events replay" "help: replay" &&
    expect out "events policy-hash" "help: policy-hash"
run 0 "replay help" -- events replay --help && expect out "--expect HEX" "replay help text"
run 0 "emit help" -- events emit --help && expect out "--digest-version 1|2" "emit help text"
run 2 "replay without LOG" -- events replay
run 2 "replay short --expect" -- events replay "$lines" --expect abcd
run 3 "replay missing file" -- events replay "$tmp/nope.log"

# ---- replay against dstack's recorded data -------------------------------------------------------
run 0 "replay GetQuote response" -- events replay "$q"
expect out "RTMR3 $RTMR3" "response RTMR3"
expect out "quote: every replayed RTMR matches" "response matches its quote"
expect out "events: 28 (8 runtime on RTMR3, 20 boot)" "response counts"
run 0 "replay runtime_events.log" -- events replay "$lines" --expect "$RTMR3"
expect out "expected RTMR3: match" "lines match"
run 0 "replay --json" -- events replay "$lines" --json
expect out "\"rtmr3\": \"$RTMR3\"" "json rtmr3"
expect out '"event": "LIUM_MINER_HOTKEY"' "json lists events"
run 1 "replay wrong --expect" -- events replay "$lines" --expect "$ZERO48"
expect err "[rtmr-mismatch]" "mismatch named"
# the array form alone (GetQuote's event_log string)
perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); print $j->{event_log}' <"$q" \
    >"$tmp/array.json" 2>/dev/null ||
    perl -e 'local $/; $_ = <STDIN>; /"event_log":"((?:[^"\\]|\\.)*)"/ or die; $a = $1;
        $a =~ s/\\"/"/g; $a =~ s/\\\\/\\/g; print $a' <"$q" >"$tmp/array.json"
run 0 "replay array" -- events replay "$tmp/array.json" --expect "$RTMR3"

# ---- tampering ---------------------------------------------------------------------------------
sed 's/N2O8NFUs86J/N2O8NFUs86K/' "$lines" >"$tmp/tampered.log"
run 1 "tampered payload changes RTMR3" -- events replay "$tmp/tampered.log" --expect "$RTMR3"
sed '/boot-mr-done/d' "$lines" >"$tmp/dropped.log"
run 1 "dropped event changes RTMR3" -- events replay "$tmp/dropped.log" --expect "$RTMR3"
sed 's/837c2dd72f8a/937c2dd72f8a/' "$q" >"$tmp/digest.json"
run 1 "recorded digest disagrees" -- events replay "$tmp/digest.json"
expect err "element 22: " "digest mismatch position" && expect err "[event-digest-mismatch]" "digest mismatch named"
# the quote's RTMR3 (offset 520) altered: replay no longer matches it
perl -pe 's/("quote":"[0-9a-f]{1040})0f787c38/${1}0f787c39/' "$q" >"$tmp/quote.json"
cmp -s "$q" "$tmp/quote.json" && { echo "FAIL quote edit did not apply"; failures=$((failures + 1)); }
run 1 "quote RTMR3 altered" -- events replay "$tmp/quote.json"
expect out "quote: MISMATCH" "quote mismatch shown"
# the quote's last padding byte made non-zero: the quote parser's named error
perl -pe 's/("quote":"[0-9a-f]*)00"/${1}01"/' "$q" >"$tmp/padding.json"
cmp -s "$q" "$tmp/padding.json" && { echo "FAIL padding edit did not apply"; failures=$((failures + 1)); }
run 1 "quote padding not zero" -- events replay "$tmp/padding.json"
expect err "quote: " "quote error shown" && expect err "[quote-padding]" "quote error named"

# ---- malformed logs ----------------------------------------------------------------------------------
printf '{"event":"a","payload":""}\n{"event":"b"}\n' >"$tmp/missing.log"
run 1 "missing payload" -- events replay "$tmp/missing.log"
expect err "line 2: " "missing payload line" && expect err "[eventlog-field] (payload)" "missing payload named"
printf '{"event":"a","payload":""}\n\n{"event":"b","payload":"AQ"\n' >"$tmp/syntax.log"
run 1 "bad JSON line" -- events replay "$tmp/syntax.log"
expect err "line 3: " "syntax line" && expect err "[eventlog-syntax]" "syntax named"
printf '{"event":"a:b","payload":""}\n' >"$tmp/colon.log"
run 1 "V1 name with colon" -- events replay "$tmp/colon.log"
expect err "[event-name]" "colon named"

# ---- emit into a simulated register, then replay what was written ------------------------------------
reg=$tmp/rtmr3.bin
logd=$tmp/run/log/dstack
printf 'hello' >"$tmp/payload"
run 3 "emit without version file" -- events emit --name app-id --payload-hex 0102 \
    --backend "sim:$reg" --log-dir "$logd"
expect err "[event-version-file]" "version file named"
[ ! -e "$reg" ] && [ ! -e "$logd/runtime_events.log" ] || { echo "FAIL: something written"; failures=$((failures + 1)); }
run 0 "emit app-id" -- events emit --name app-id --payload-hex 0102 --backend "sim:$reg" \
    --log-dir "$logd" --digest-version 1
run 0 "emit from file" -- events emit --name gpu-attestation --payload-file "$tmp/payload" \
    --backend "sim:$reg" --log-dir "$logd"
run 3 "other digest version refused" -- events emit --name x --payload-hex 00 \
    --backend "sim:$reg" --log-dir "$logd" --digest-version 2
expect err "[event-version-file]" "version change named"
printf '{"event":"app-id","payload":"AQI="}\n{"event":"gpu-attestation","payload":"aGVsbG8="}\n' \
    >"$tmp/want.log"
expect_same "log lines as dstack writes them" "$tmp/want.log" "$logd/runtime_events.log"
run 0 "replay equals the register" -- events replay "$logd/runtime_events.log" --expect "$(hexof "$reg")"
# a failed extend leaves the log untouched
cp "$logd/runtime_events.log" "$tmp/before.log"
run 3 "failed extend" -- events emit --name x --payload-hex 00 \
    --backend "sim:$tmp/missing/rtmr3.bin" --log-dir "$logd"
expect err "[register-extend]" "failed extend named"
expect_same "log untouched by failed extend" "$tmp/before.log" "$logd/runtime_events.log"
head -c 47 "$reg" >"$tmp/short.bin"
run 3 "corrupt register" -- events emit --name x --payload-hex 00 --backend "sim:$tmp/short.bin" \
    --log-dir "$logd"
expect err "[register-state]" "corrupt register named"
expect_same "log untouched by corrupt register" "$tmp/before.log" "$logd/runtime_events.log"

# ---- TDX through a redirected sysfs tree; TPM without a TPM --------------------------------------------
mkdir -p "$tmp/sysfs"
: >"$tmp/sysfs/rtmr3:sha384"
run 0 "emit to TDX sysfs" -- events emit --name app-id --payload-hex 0102 --backend tdx \
    --log-dir "$tmp/tdxlog" --digest-version 1 --tdx-sysfs "$tmp/sysfs" --tdx-device "$tmp/none"
[ "$(wc -c <"$tmp/sysfs/rtmr3:sha384")" -eq 48 ] || { echo "FAIL: sysfs got no 48-byte digest"; failures=$((failures + 1)); }
# the digest written is the first app-id line's digest in the replay JSON
run 0 "replay of the TDX log" -- events replay "$tmp/tdxlog/runtime_events.log" --json
expect out "\"digest\": \"$(hexof "$tmp/sysfs/rtmr3:sha384")\"" "sysfs received the event digest"
run 3 "TDX absent" -- events emit --name app-id --payload-hex 00 --backend tdx \
    --log-dir "$tmp/tdxlog" --tdx-sysfs "$tmp/none" --tdx-device "$tmp/none"
expect err "[register-unavailable]" "tdx absent named"
run 3 "TPM absent" -- events emit --name app-id --payload-hex 00 --backend tpm:14:sha384 \
    --tcti device:/nonexistent/tpmrm0 --log-dir "$tmp/tdxlog"
expect err "[register-unavailable]" "tpm absent named"
run 2 "bad backend" -- events emit --name x --payload-hex 00 --backend tpm:99 --log-dir "$logd"
run 2 "bad name" -- events emit --name 'a:b' --payload-hex 00 --backend "sim:$reg" --log-dir "$logd"
run 2 "two payloads" -- events emit --name x --payload-hex 00 --payload-file "$tmp/payload"
run 2 "bad digest version" -- events emit --name x --payload-hex 00 --digest-version 3

# ---- gpu-policy-hash ---------------------------------------------------------------------------------
printf '{"manifest_version":"3","requirements":{"gpu_policy":{"attest_gpu":true}}}' >"$tmp/c1.json"
run 0 "policy-hash attest_gpu" -- events policy-hash "$tmp/c1.json"
expect out "81f5d3ad40653341232238c4ca656bddddc297d6382ae2ab391e4bb36dd80b66" "attest_gpu hash"
printf '{"name":"app"}' >"$tmp/c2.json"
run 0 "policy-hash absent" -- events policy-hash "$tmp/c2.json"
expect out "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" "absent hash"
printf '{ }\n' >"$tmp/v.json"
run 0 "policy-hash --value" -- events policy-hash --value "$tmp/v.json"
expect out "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" "value hash"
printf '{"requirements":' >"$tmp/bad.json"
run 1 "policy-hash bad JSON" -- events policy-hash "$tmp/bad.json"
expect err "[bad-json]" "bad json named"
printf '{"requirements":{"gpu_policy":{"n":9007199254740993}}}' >"$tmp/big.json"
run 1 "policy-hash big integer" -- events policy-hash "$tmp/big.json"
expect err "[jcs-number]" "big integer named"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all events CLI checks passed"
