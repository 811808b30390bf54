#!/usr/bin/env bash
# libcurl, libmicrohttpd, tpm2-tss and libxml2 are loaded on first use, not linked: the
# program does not list them as needed, commands that do not use them work
# without them, and those that do fail closed with [runtime-library] naming the
# file. DGA_TEST_LIB* are test-only overrides of the file names (core/dynlib.h).
# Usage: test_runtime_libs_cli.sh PATH/TO/dstack-gpu-attest PATH/TO/libfake_nvml.so
#        (DGA_FIXTURES names the fixtures; the fake NVML is a library lacking the functions)
set -u
bin=$1
nosym=$2
fx=${DGA_FIXTURES:-tests/fixtures}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
. "$(dirname "$0")/lib.sh"

AT=2024-06-01T00:00:00Z
H545=$fx/gpu/h100_545.00
N3=4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e
A545=(--report "$H545/report.hex" --cert-chain "$H545/certchain.pem" --arch hopper
      --nonce $N3 --rim-dir "$H545/rims" --at $AT)
OFFLINE=$fx/policies/offline_no_ocsp.json
NOFILE="cannot open shared object file"

# run, under a 10 s limit: a proxy that starts after all would otherwise serve until killed.
limited() {
    local real=$bin want=$1 name=$2 rc=0
    shift 3
    bin=timeout
    run "$want" "$name" -- 10 "$real" "$@" || rc=$?
    bin=$real
    return $rc
}

# Not linked: the dynamic section names none of them (nor what they pull in, gnutls).
if command -v readelf >/dev/null; then
    readelf -d "$bin" >"$tmp/dynamic" 2>&1
    if ! grep -q NEEDED "$tmp/dynamic"; then
        echo "FAIL readelf -d lists no NEEDED entries"; failures=$((failures + 1))
    elif grep -E "NEEDED.*(libcurl|libmicrohttpd|libtss2|libgnutls|libxml2|libicu|libstdc)" "$tmp/dynamic"; then
        echo "FAIL the program links a library it should load on first use"
        failures=$((failures + 1))
    else
        echo "ok   not linked: libcurl, libmicrohttpd, libtss2-*, libgnutls, libxml2, libicu*, libstdc++"
    fi
else
    echo "skip readelf not installed: the NEEDED check"
fi

# Without any of them: what does not need them works.
export DGA_TEST_LIBCURL=/nonexistent/libcurl.so.4
export DGA_TEST_LIBMICROHTTPD=/nonexistent/libmicrohttpd.so.12
export DGA_TEST_LIBTSS2_ESYS=/nonexistent/libtss2-esys.so.0
export DGA_TEST_LIBTSS2_TCTILDR=/nonexistent/libtss2-tctildr.so.0
run 0 "version without the libraries" -- --version
run 0 "offline attest without the libraries" -- attest "${A545[@]}" --policy "$OFFLINE"
expect out "verdict: PASS" "offline verdict"
run 0 "sim events without the libraries" -- events emit --name x --payload-hex 00 \
    --backend "sim:$tmp/r.bin" --log-dir "$tmp/simlog" --digest-version 1

# Online OCSP needs libcurl: each certificate names it, the verdict fails closed.
run 1 "attest --ocsp online without libcurl" -- attest "${A545[@]}" --policy "$OFFLINE" \
    --ocsp online --ocsp-url http://127.0.0.1:1/
expect err "GPU-0: ocsp-device-chain: certificate 3 \"NVIDIA GH100 Identity\": $DGA_TEST_LIBCURL: $NOFILE" \
    "attest reason names libcurl"
expect err "[runtime-library]" "attest error name"
expect out "verdict: FAIL" "attest verdict"
run 1 "collateral fetch without libcurl" -- collateral fetch --report "$H545/report.hex" \
    --cert-chain "$H545/certchain.pem" --arch hopper --dir "$tmp/coll" \
    --rim-url http://127.0.0.1:1 --ocsp-url http://127.0.0.1:1/ --at $AT
expect out "rim  NV_GPU_DRIVER_GH100_545.00: FAIL: a shared library this operation needs cannot be loaded [runtime-library] ($DGA_TEST_LIBCURL: $NOFILE" \
    "fetch names libcurl for the RIM"
expect out "[runtime-library]" "fetch error name"

# The proxy needs libmicrohttpd and libcurl: it does not start.
limited 3 "proxy without libmicrohttpd" -- proxy --listen 127.0.0.1:0 --cache-dir "$tmp/cache"
expect err "proxy: $DGA_TEST_LIBMICROHTTPD: $NOFILE" "proxy names libmicrohttpd"
DGA_TEST_LIBMICROHTTPD='' limited 3 "proxy without libcurl" -- proxy --listen 127.0.0.1:0 \
    --cache-dir "$tmp/cache"
expect err "proxy: $DGA_TEST_LIBCURL: $NOFILE" "proxy names libcurl"

# The TPM backend needs tpm2-tss: nothing is extended, nothing logged.
run 3 "tpm events without libtss2-esys" -- events emit --name x --payload-hex 00 \
    --backend tpm --log-dir "$tmp/tpmlog" --tcti swtpm:port=1
expect err "[runtime-library] ($DGA_TEST_LIBTSS2_ESYS: $NOFILE" "emit names libtss2-esys"
DGA_TEST_LIBTSS2_ESYS='' run 3 "tpm events without libtss2-tctildr" -- events emit --name x \
    --payload-hex 00 --backend tpm --log-dir "$tmp/tpmlog" --tcti swtpm:port=1
expect err "[runtime-library] ($DGA_TEST_LIBTSS2_TCTILDR: $NOFILE" "emit names libtss2-tctildr"
if [ -e "$tmp/tpmlog/runtime_events.log" ]; then
    echo "FAIL a failed tpm emit wrote the log"; failures=$((failures + 1))
fi

# RIMs need libxml2: without it the report-level checks still run, every RIM check fails
# closed naming the file, and a command that only parses a RIM cannot decide (exit 3).
export DGA_TEST_LIBXML2=/nonexistent/libxml2.so.2
run 0 "evidence verify without libxml2" -- evidence verify --report "$H545/report.hex" \
    --cert-chain "$H545/certchain.pem" --arch hopper --nonce $N3 --at $AT
run 1 "attest without libxml2" -- attest "${A545[@]}" --policy "$OFFLINE"
expect out "reason: a shared library this operation needs cannot be loaded ($DGA_TEST_LIBXML2: $NOFILE" \
    "attest names libxml2 for each RIM"
expect err "GPU-0: driver-rim: a shared library this operation needs cannot be loaded: NV_GPU_DRIVER_GH100_545.00" \
    "attest's reason"
expect out "verdict: FAIL" "attest verdict without libxml2"
run 3 "rim inspect without libxml2" -- rim inspect "$H545/rims/NV_GPU_DRIVER_GH100_545.00.xml"
expect err "[runtime-library] ($DGA_TEST_LIBXML2: $NOFILE" "rim inspect names libxml2"
unset DGA_TEST_LIBXML2

# A library that loads but lacks the functions: the missing one is named.
DGA_TEST_LIBMICROHTTPD=$nosym limited 3 "proxy with a libmicrohttpd lacking its functions" -- \
    proxy --listen 127.0.0.1:0 --cache-dir "$tmp/cache"
expect err "undefined symbol: MHD_start_daemon" "proxy names the missing function"
DGA_TEST_LIBTSS2_ESYS=$nosym run 3 "tpm events with a libtss2-esys lacking its functions" -- \
    events emit --name x --payload-hex 00 --backend tpm --log-dir "$tmp/tpmlog"
expect err "$nosym: undefined symbol: Esys_Initialize" "emit names the missing function"
DGA_TEST_LIBXML2=$nosym run 3 "rim inspect with a libxml2 lacking its functions" -- \
    rim inspect "$H545/rims/NV_GPU_DRIVER_GH100_545.00.xml"
expect err "$nosym: undefined symbol: xmlInitParser" "rim inspect names the missing function"

if [ "$failures" -ne 0 ]; then
    echo "$failures runtime-library check(s) failed"
    exit 1
fi
echo "all runtime-library checks passed"
