#!/usr/bin/env bash
# `quote inspect` as an operator drives it: every real TDX quote in every input
# form (binary, hex, 0x-hex, GetQuote JSON, standard input), exact values and
# exit codes, and the named error with field and offset for malformed quotes.
# Usage: test_quote_cli.sh PATH/TO/dstack-gpu-attest. DGA_FIXTURES names the
# fixtures. Needs only coreutils, sed and perl.
set -u
. "$(dirname "$0")/lib.sh"
cli_init "$1"

ZERO48=$(printf '0%.0s' $(seq 96))
PLATFORM_CA="C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX PCK Platform CA"
PCK_CERT="C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX PCK Certificate"
q4=$fx/tdx/tdx_quote
q5=$fx/tdx/tdx_quote_outdated

# ---- usage --------------------------------------------------------------------------------------
run 0 "help lists quote inspect" -- --help && expect out "quote inspect" "help: quote inspect"
run 0 "inspect help" -- quote inspect --help && expect out "Usage: dstack-gpu-attest quote inspect QUOTE [--json]" "inspect usage"
run 2 "inspect without QUOTE" -- quote inspect
expect_line err "dstack-gpu-attest: quote inspect: exactly one QUOTE is required" "usage message"
run 2 "inspect two QUOTEs" -- quote inspect "$q4" "$q5"
run 2 "inspect unknown option" -- quote inspect --bogus "$q4"
run 3 "inspect missing file" -- quote inspect "$tmp/nope"
expect_line err "dstack-gpu-attest: $tmp/nope: No such file or directory" "missing file message"
run 3 "inspect a directory" -- quote inspect "$tmp"

# ---- v4 (TD10), binary: the text output, exactly ------------------------------------------------
run 0 "v4 binary" -- quote inspect "$q4"
expect_count out 38 "v4 line count"
expect_empty err "v4 stderr"
expect_line out "version: 4" "v4 version"
expect_line out "tee_type: TDX" "v4 tee type"
expect_line out "body: TD10" "v4 body"
expect_line out "input_form: binary" "v4 form"
expect_line out "header.att_key_type: 2" "v4 key type"
expect_line out "header.qe_vendor_id: 939a7233f79c4ca9940a0db3957f0607" "v4 vendor"
expect_line out "header.user_data: 889b7d6ff9df2405b240a830e73faf3d00000000" "v4 user data"
expect_line out "td_report.tee_tcb_svn: 06010300000000000000000000000000" "v4 tee_tcb_svn"
expect_line out "td_report.td_attributes: 0000001000000000" "v4 td attributes"
expect_line out "td_report.xfam: e702060000000000" "v4 xfam"
expect_line out "td_report.mr_td: 91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7" "v4 mr_td"
expect_line out "td_report.rt_mr3: $ZERO48" "v4 rtmr3"
expect_line out "td_report.report_data: 9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20" "v4 report data"
expect_line out "qe_report.cpu_svn: 0303191b04ff00060000000000000000" "v4 qe cpusvn"
expect_line out "qe_report.misc_select: 0" "v4 qe miscselect"
expect_line out "qe_report.attributes: 1500000000000000e700000000000000" "v4 qe attributes"
expect_line out "qe_report.mr_enclave: e5a3a7b5d830c2953b98534c6c59a3a34fdc34e933f7f5898f0a85cf08846bca" "v4 qe mrenclave"
expect_line out "qe_report.mr_signer: dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5" "v4 qe mrsigner"
expect_line out "qe_report.isv_prod_id: 2" "v4 qe prod id"
expect_line out "qe_report.isv_svn: 6" "v4 qe svn"
expect_line out "cert_data.type: 5" "v4 cert type"
expect_line out "cert_data.size: 3678" "v4 cert size"
expect_line out "cert_data.certificates: 3" "v4 cert count"
expect_line out "cert_data.pck_subject: $PCK_CERT" "v4 pck subject"
expect_line out "cert_data.pck_issuer: $PLATFORM_CA" "v4 pck issuer"
expect_line out "padding_len: 70" "v4 padding"
if grep -q 'tee_tcb_svn2\|mr_service_td' "$tmp/out"; then
    echo "FAIL v4: TD15 fields printed for a TD10 body"; failures=$((failures + 1))
fi

# ---- v5 (TD15) ----------------------------------------------------------------------------------
run 0 "v5 binary" -- quote inspect "$q5"
expect_count out 40 "v5 line count"
expect_line out "version: 5" "v5 version"
expect_line out "body: TD15" "v5 body"
expect_line out "td_report.tee_tcb_svn: 07010300000000000000000000000000" "v5 tee_tcb_svn"
expect_line out "td_report.tee_tcb_svn2: 0d010300000000000000000000000000" "v5 tee_tcb_svn2"
expect_line out "td_report.mr_service_td: $ZERO48" "v5 mr_service_td"
expect_line out "qe_report.isv_svn: 7" "v5 qe svn"
expect_line out "padding_len: 0" "v5 padding"

# ---- every input form of the same quote gives the same fields -----------------------------------
"$bin" quote inspect "$q4" | grep -v '^input_form:' >"$tmp/ref.txt"
od -An -tx1 -v "$q4" | tr -d ' \n' >"$tmp/q4.hex"
printf '0x%s\n' "$(cat "$tmp/q4.hex")" >"$tmp/q4-0x.hex"
printf '  0X%s\r\n\n' "$(tr 'a-f' 'A-F' <"$tmp/q4.hex")" >"$tmp/q4-upper.hex"
printf '{"event_log": "[]", "quote": "%s"}\n' "$(cat "$tmp/q4.hex")" >"$tmp/q4.json"
for f in q4.hex q4-0x.hex q4-upper.hex q4.json; do
    want=hex
    [ "$f" = q4.json ] && want=json
    run 0 "form $f" -- quote inspect "$tmp/$f"
    expect_line out "input_form: $want" "form $f named"
    grep -v '^input_form:' "$tmp/out" >"$tmp/got.txt"
    if ! cmp -s "$tmp/ref.txt" "$tmp/got.txt"; then
        echo "FAIL form $f: fields differ from the binary form"; failures=$((failures + 1))
    fi
done
run 0 "stdin binary" -- quote inspect - <"$q4"
expect_line out "input_form: binary" "stdin binary form"
expect_line out "padding_len: 70" "stdin binary padding"
run 0 "stdin json" -- quote inspect - --json <"$fx/dstack/quote-report.json"
expect_line out '    "input_form": "json",' "stdin json form"

# ---- the other real vectors ---------------------------------------------------------------------
run 0 "tdx-quote.hex (0x, no newline)" -- quote inspect "$fx/tdx/tdx-quote.hex"
expect_line out "input_form: hex" "tdx-quote.hex form"
expect_line out "td_report.rt_mr3: 547fcba4630bfb981169a8a1903b79c244933413409dd0387acbd8e3b985bcc9164cf52735cd31f60bf2c5d1220c113f" "tdx-quote.hex rtmr3"
run 0 "quote-from-tappd.hex" -- quote inspect "$fx/tdx/quote-from-tappd.hex"
expect_line out "td_report.rt_mr3: a2d25bc888a93009af5b70eadb410e9071d18387e4db39aae20fe767f5c4279d95e6519c5d797938a90694599c5bea7a" "tappd rtmr3"
run 0 "near_quote.hex" -- quote inspect "$fx/tdx/near_quote.hex"
expect_line out "td_report.tee_tcb_svn: 06010400000000000000000000000000" "near tee_tcb_svn"
expect_line out "qe_report.attributes: 15000000000000000700000000000000" "near qe attributes"
run 0 "dstack ra-tls quote" -- quote inspect "$fx/tdx/dstack_ra_tls_tdx_quote"
expect_line out "td_report.tee_tcb_svn: 05010200000000000000000000000000" "ra-tls tee_tcb_svn"
run 0 "dstack GetQuote JSON" -- quote inspect "$fx/dstack/quote-report.json"
expect_line out "input_form: json" "GetQuote form"
expect_line out "td_report.rt_mr3: 0f787c3877f3e95095d5a4d13dd0fe0233803b30120d8469866719dc28f519ce021fe1e53459121e7a5a4443147185a8" "GetQuote rtmr3"
expect_line out "td_report.tee_tcb_svn: 0b010400000000000000000000000000" "GetQuote tee_tcb_svn"

# ---- JSON output --------------------------------------------------------------------------------
run 0 "v5 --json" -- quote inspect --json "$q5"
expect_line out '    "version": 5' "json version"
expect_line out '    "body": "TD15",' "json body"
expect_line out '    "tee_type": "TDX",' "json tee type"
expect_line out '    "padding_len": 0,' "json padding"
expect_line out '        "tee_tcb_svn2": "0d010300000000000000000000000000",' "json tee_tcb_svn2"
expect_line out '        "misc_select": 0,' "json misc_select is a number"
expect_line out '        "certificates": 3,' "json certificates"
expect_line out "        \"pck_issuer\": \"$PLATFORM_CA\"," "json pck issuer"
expect_empty err "json stderr"

# ---- malformed quotes ---------------------------------------------------------------------------
head -c 100 "$q4" >"$tmp/cut.bin"
run 1 "truncated" -- quote inspect "$tmp/cut.bin"
expect_line err "error: truncated: input is truncated (field mr_seam at offset 64)" "truncated message"
expect_empty out "truncated stdout"
run 1 "truncated --json" -- quote inspect "$tmp/cut.bin" --json
expect_line out '    "error": "truncated",' "json error name"
expect_line out '    "field": "mr_seam",' "json error field"
expect_line out '    "offset": 64' "json error offset"
expect_line out '    "message": "input is truncated",' "json error message"
run 1 "cut one byte before the padding" -- quote inspect - < <(head -c 4935 "$q4")
expect_line err "error: truncated: input is truncated (field inner_cert_data at offset 1258)" "cut message"
head -c 4936 "$q4" >"$tmp/nopad.bin"
run 0 "cut at the end of the signature data" -- quote inspect "$tmp/nopad.bin"
expect_line out "padding_len: 0" "no padding left"
# one byte patched: patch FILE OFFSET HEXBYTE OUT
patch_byte() { cp "$1" "$4"; printf "\\x$3" | dd of="$4" bs=1 seek="$2" conv=notrunc status=none; }
# a binary input is told by its version (3, 4 or 5): version 6 is no known form as binary...
patch_byte "$q4" 0 06 "$tmp/v6.bin"
run 1 "version 6, binary" -- quote inspect "$tmp/v6.bin"
expect err "error: quote-input:" "binary version 6 has no form"
# ...and the parser names it once the form is hex
printf '06%s\n' "$(cut -c3- "$tmp/q4.hex")" >"$tmp/v6.hex"
run 1 "version 6, hex" -- quote inspect "$tmp/v6.hex"
expect_line err "error: quote-version: the quote version is not 4 or 5 (field version at offset 0)" "version message"
patch_byte "$q4" 0 03 "$tmp/v3.bin"
run 1 "version 3 (SGX)" -- quote inspect "$tmp/v3.bin"
expect_line err "error: quote-sgx: the quote is an SGX quote; only TDX quotes are verified (field version at offset 0)" "sgx message"
patch_byte "$q4" 4 00 "$tmp/tee0.bin"
run 1 "tee type 0" -- quote inspect "$tmp/tee0.bin"
expect err "(field tee_type at offset 4)" "tee type field"
patch_byte "$q4" 4990 01 "$tmp/pad.bin"
run 1 "non-zero padding" -- quote inspect "$tmp/pad.bin"
expect_line err "error: quote-padding: bytes after the signature data are not zero padding within the bound (field padding at offset 4990)" "padding message"
patch_byte "$q4" 1218 1f "$tmp/auth.bin"
run 1 "auth len 31" -- quote inspect "$tmp/auth.bin" --json
expect_line out '    "error": "quote-auth-data",' "auth error"
expect_line out '    "offset": 1218' "auth offset"

# ---- inputs of no form --------------------------------------------------------------------------
printf 'hello\n' >"$tmp/garbage"
run 1 "garbage" -- quote inspect "$tmp/garbage"
expect err "error: quote-input:" "garbage named"
: >"$tmp/empty"
run 1 "empty" -- quote inspect "$tmp/empty"
expect err "error: quote-input:" "empty named"
printf '{"event_log": "[]"}' >"$tmp/noquote.json"
run 1 "JSON without quote" -- quote inspect "$tmp/noquote.json"
expect_line err "error: quote-input: the quote input is neither a binary quote, hex text, nor JSON with a \"quote\" member (field quote at offset 0)" "no quote member"
printf 'abc\n' >"$tmp/odd.hex"
run 1 "odd hex" -- quote inspect "$tmp/odd.hex"
expect err "error: quote-input:" "odd hex named"
head -c $((1024 * 1024 + 1)) /dev/zero >"$tmp/big"
run 3 "over the size cap" -- quote inspect "$tmp/big"

cli_done "quote CLI tests"
