#!/usr/bin/env bash
# Cached answers of the collateral proxy on loopback, with Debian's wrk.
#   bench/bench_proxy.sh BUILD_DIR [SECONDS]
# Upstream: tests/proxy/fake_upstream (RIM service, and an OCSP responder that
# answers every POST with one response made here by `openssl ocsp` over the
# private PKI of tests/proxy/pki.sh, valid for a day). One warming request per
# kind fills the cache; then wrk (2 threads, 32 keep-alive connections) times
# GET /v1/rim/<id>, POST /ocsp and the RFC 5019 GET /ocsp/<base64>, each a HIT.
# Prints requests/s and latency percentiles (wrk --latency). Never asserted.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/wrk.sh
. "$here/bench/lib/wrk.sh"
build=${1:?usage: bench_proxy.sh BUILD_DIR [SECONDS]}
seconds=${2:-5}
cli=$build/tools/dstack-gpu-attest
fake=$build/tests/fake_upstream
bench_init bench_proxy
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
[ -x "$cli" ] || die "build $build first"
[ -x "$fake" ] || die "build $build first"

bash "$here/tests/proxy/pki.sh" "$tmp/pki" >/dev/null
openssl ocsp -index "$tmp/pki/index.txt" -rsigner "$tmp/pki/ocsp.pem" -rkey "$tmp/pki/ocsp.key" \
    -CA "$tmp/pki/inter.pem" -reqin "$tmp/pki/req1.der" -respout "$tmp/resp1.der" -ndays 1 >/dev/null 2>&1
mkdir -p "$tmp/rims"
# The RIM service's answer: {"id": <the id asked for>, "rim": <base64 of the XML>}; the
# proxy caches only an answer that names the id asked for.
printf '{"id":"NV_GPU_DRIVER_GH100_545.00","rim":"%s"}\n' \
    "$(base64 -w0 "$here/tests/fixtures/gpu/h100_545.00/rims/NV_GPU_DRIVER_GH100_545.00.xml")" \
    >"$tmp/rims/NV_GPU_DRIVER_GH100_545.00"
"$fake" "$tmp/rims" "$tmp/resp1.der" >"$tmp/fake.log" 2>&1 &
pids+=($!)
up=$(wait_for "$tmp/fake.log" '^port (\d+)')
"$cli" proxy --listen 127.0.0.1:0 --cache-dir "$tmp/cache" --ocsp-url "http://127.0.0.1:$up" \
    --rim-url "http://127.0.0.1:$up" >"$tmp/proxy.log" 2>&1 &
pids+=($!)
port=$(wait_for "$tmp/proxy.log" '\(port (\d+)\)')
base=http://127.0.0.1:$port

b64=$(base64 -w0 <"$tmp/pki/req1.der" | tr '+/' '-_' | tr -d '=')
wrk_post_lua "$tmp/pki/req1.der" application/ocsp-request >"$tmp/post.lua"
curl -sf -o /dev/null "$base/v1/rim/NV_GPU_DRIVER_GH100_545.00"
# Every row must time cached answers: a relayed miss would time the fake upstream.
hit=$(curl -sf -D - -o /dev/null "$base/v1/rim/NV_GPU_DRIVER_GH100_545.00" | tr -d '\r' |
    sed -n 's/^X-Dstack-Cache: //ip')
[ "$hit" = HIT ] || die "a second RIM request is $hit, not HIT"
curl -sf -o /dev/null -H 'Content-Type: application/ocsp-request' --data-binary "@$tmp/pki/req1.der" "$base/ocsp"
curl -sf -o /dev/null "$base/ocsp/$b64" || b64=$(base64 -w0 <"$tmp/pki/req1.der") # standard alphabet

echo "dstack-gpu-attest bench_proxy: $(bench_host)"
echo "wrk -t2 -c32 -d${seconds}s --latency, cached (HIT) answers on loopback"
for kind in rim post get; do
    case $kind in
    rim) args=("$base/v1/rim/NV_GPU_DRIVER_GH100_545.00") label="GET /v1/rim/<id>" ;;
    post) args=(-s "$tmp/post.lua" "$base/ocsp") label="POST /ocsp" ;;
    get) args=("$base/ocsp/$b64") label="GET /ocsp/<base64>" ;;
    esac
    wrk_run -t2 -c32 -d"${seconds}s" "${args[@]}"
    wrk_row 22 "$label"
done
echo "target (issue 4): >= 5000 req/s with p99 < 5 ms"
