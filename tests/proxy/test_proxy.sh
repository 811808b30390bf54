#!/usr/bin/env bash
# The collateral proxy against local fake upstreams, over real sockets on 127.0.0.1:
# `openssl ocsp` as the OCSP responder over a private PKI (pki.sh) and fake_upstream
# as the RIM service. Every process is started and stopped here; ports are picked
# by the kernel (port 0) and read back from each program's output.
#   test_proxy.sh PROGRAM FAKE_UPSTREAM
set -uo pipefail

bin=$1
fake=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
. "$here/../lib/server.sh"
server_test_init /tmp/dga-proxy-test.XXXXXX

for tool in openssl curl perl; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is required"; exit 1; }
done

# ---- assertions ----

# eq NAME GOT WANT
eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi
}
# same NAME FILE1 FILE2: byte-identical files
same() {
    if cmp -s "$2" "$3"; then ok "$1"; else fail "$1: $2 and $3 differ"; fi
}
# contains NAME FILE TEXT
contains() {
    if grep -qF -- "$3" "$2"; then ok "$1"; else fail "$1: '$3' not in $2"; sed 's/^/  /' "$2" | head -5; fi
}
# between NAME VALUE LOW HIGH
between() {
    if [ -n "$2" ] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then ok "$1"; else
        fail "$1: '$2' not in [$3, $4]"
    fi
}

# ---- processes ----

# responder NAME ARGS...: an openssl OCSP responder; sets ${NAME}_port and ${NAME}_pid
responder() {
    local name=$1
    shift
    openssl ocsp -index "$pki/index.txt" -port 0 -rsigner "$pki/ocsp.pem" -rkey "$pki/ocsp.key" \
        -CA "$pki/inter.pem" "$@" >"$tmp/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    printf -v "${name}_pid" %s "$pid"
    printf -v "${name}_port" %s "$(wait_for "$tmp/$name.log" 'ACCEPT .*:(\d+)')"
}

start_fake() {
    mkdir -p "$tmp/rims"
    "$fake" "$tmp/rims" >"$tmp/fake.log" 2>&1 &
    fake_pid=$!
    pids+=("$fake_pid")
    fake_port=$(wait_for "$tmp/fake.log" '^port (\d+)')
}

# proxy NAME ARGS...: the proxy on 127.0.0.1 (any port); sets ${NAME}_port, ${NAME}_pid
proxy() {
    local name=$1
    shift
    start_server "$name" "$bin" proxy --listen 127.0.0.1:0 --refresh-interval 0 "$@"
}

# stop NAME: SIGTERM to a proxy; it must exit 0 (under ASan: also without leaks)
stop() {
    local name=$1 pid rc
    pid=${name}_pid
    pid=${!pid}
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    if [ "$rc" -ne 0 ] || grep -qE 'Sanitizer|runtime error' "$tmp/$name.log"; then
        fail "$name exited $rc"
        tail -n 30 "$tmp/$name.log" | sed 's/^/  /'
    fi
}

# ---- HTTP ----

# http OUT ARGS...: curl; body in $tmp/OUT.body, headers in $tmp/OUT.hdr, status in $code
http() {
    local out=$1
    shift
    code=$(curl -sS --max-time 20 -o "$tmp/$out.body" -D "$tmp/$out.hdr" -w '%{http_code}' "$@") ||
        code=000
}
# header OUT NAME: the value of a response header
header() {
    perl -ne 'if (/^\Q'"$2"'\E:\s*(.*?)\s*$/i) { print $1; exit }' "$tmp/$1.hdr"
}
post_ocsp() { # post_ocsp OUT PORT REQUEST_FILE
    http "$1" -H 'Content-Type: application/ocsp-request' --data-binary "@$3" \
        "http://127.0.0.1:$2/ocsp"
}
# OCSP status line of a response body for leafN ("good", "revoked", "unknown"), verified
ocsp_status() {
    openssl ocsp -respin "$tmp/$1.body" -issuer "$pki/inter.pem" -CAfile "$pki/chain.pem" \
        -cert "$pki/leaf$2.pem" -no_nonce 2>/dev/null | perl -ne 'if (/^\S+: (\w+)$/) { print $1; exit }'
}
fake_ctl() { curl -sS -o /dev/null "http://127.0.0.1:$fake_port/control/$1"; }
fake_count() { curl -sS "http://127.0.0.1:$fake_port/control/count"; }
rim_file() { echo "$tmp/cache$1/rim/$(printf %s "$2" | openssl dgst -sha256 -r | cut -c1-64)"; }

# ---- setup ----

pki=$tmp/pki
bash "$here/pki.sh" "$pki" || { echo "FAIL: pki.sh"; exit 1; }
responder ocsp1 -ndays 1
start_fake
printf '{"id":"NV_RIM_A","rim":"%s"}\n' "$(head -c 3000 /dev/urandom | base64 -w0)" >"$tmp/rims/NV_RIM_A"
for id in NV_RIM_B NV_RIM_C NV_RIM_D NV_RIM_E; do
    printf '{"id":"%s","rim":"eA=="}\n' "$id" >"$tmp/rims/$id"
done
ocsp_url=http://127.0.0.1:$ocsp1_port
rim_url=http://127.0.0.1:$fake_port
down_url=http://127.0.0.1:1 # nothing listens on port 1: connection refused

echo "== routes and malformed requests"
# 200 concurrent clients below all come from 127.0.0.1: above the default per-address cap
proxy p1 --cache-dir "$tmp/cache1" --ocsp-url "$ocsp_url" --rim-url "$rim_url" \
    --max-connections-per-client 256
P=http://127.0.0.1:$p1_port
http h "$P/healthz"
eq "healthz status" "$code" 200
eq "healthz body" "$(cat "$tmp/h.body")" ok
eq "healthz no-store" "$(header h Cache-Control)" no-store
http x "$P/nope"
eq "unknown path 404" "$code" 404
http x "$P/ocsp"
eq "GET /ocsp 405" "$code" 405
http x -X POST "$P/healthz"
eq "POST /healthz 405" "$code" 405
http x -X POST "$P/v1/rim/NV_RIM_A"
eq "POST /v1/rim 405" "$code" 405
http x "$P/v1/rim/bad%2Fid"
eq "RIM id with an escape 400" "$code" 400
http x "$P/v1/rim/.hidden"
eq "RIM id starting with a dot 400" "$code" 400
http x "$P/v1/rim/NV_RIM_A?x=1"
eq "RIM with a query 400" "$code" 400
http x "$P/v1/rim/$(printf 'A%.0s' $(seq 1 200))"
eq "RIM id too long 400" "$code" 400
http x "$P/v1/rim/$(head -c 9000 /dev/zero | tr '\0' A)"
eq "request target over 8 KiB 400" "$code" 400
http x -I "$P/healthz"
eq "HEAD /healthz 200" "$code" 200
eq "HEAD has no body" "$(curl -sS -I -o /dev/null -w '%{size_download}' "$P/healthz")" 0
http x -H 'Content-Type: text/plain' --data-binary "@$pki/req1.der" "$P/ocsp"
eq "POST /ocsp wrong content type 415" "$code" 415
http x --data-binary "@$pki/req1.der" -H 'Content-Type:' "$P/ocsp"
eq "POST /ocsp no content type 415" "$code" 415
head -c 70000 /dev/zero >"$tmp/big"
post_ocsp x "$p1_port" "$tmp/big"
eq "POST /ocsp 70000 bytes 413" "$code" 413
http x -H 'Content-Type: application/ocsp-request' -H 'Transfer-Encoding: chunked' \
    --data-binary "@$tmp/big" "$P/ocsp"
eq "POST /ocsp chunked 70000 bytes 413" "$code" 413
printf 'garbage' >"$tmp/garbage"
post_ocsp x "$p1_port" "$tmp/garbage"
eq "POST /ocsp garbage 400" "$code" 400
head -c 40 "$pki/req1.der" >"$tmp/trunc"
post_ocsp x "$p1_port" "$tmp/trunc"
eq "POST /ocsp truncated request 400" "$code" 400
{ cat "$pki/req1.der"; printf '\0'; } >"$tmp/trailing"
post_ocsp x "$p1_port" "$tmp/trailing"
eq "POST /ocsp trailing byte 400" "$code" 400
post_ocsp x "$p1_port" /dev/null
eq "POST /ocsp empty 400" "$code" 400
http x "$P/ocsp/!!!notbase64"
eq "GET /ocsp/<not base64> 400" "$code" 400
http x "$P/ocsp/$(printf garbage | base64 -w0)"
eq "GET /ocsp/<base64 garbage> 400" "$code" 400
eq "nothing reached upstream" "$(fake_count)" 0

echo "== OCSP: miss then hit, key without the nonce"
now=$(date +%s)
post_ocsp o1 "$p1_port" "$pki/req1.der"
eq "first POST 200" "$code" 200
eq "first POST MISS" "$(header o1 X-Dstack-Cache)" MISS
eq "response type" "$(header o1 Content-Type)" application/ocsp-response
eq "POST no-store" "$(header o1 Cache-Control)" no-store
eq "relayed answer verifies: good" "$(ocsp_status o1 1)" good
between "expires = nextUpdate (1 day)" "$(header o1 X-Dstack-Cache-Expires)" $((now + 86390)) $((now + 86402))
post_ocsp o2 "$p1_port" "$pki/req1.der"
eq "second POST HIT" "$(header o2 X-Dstack-Cache)" HIT
same "HIT body = MISS body" "$tmp/o1.body" "$tmp/o2.body"
between "Age" "$(header o2 Age)" 0 5
post_ocsp o3 "$p1_port" "$pki/req1-b.der"
eq "another nonce: HIT" "$(header o3 X-Dstack-Cache)" HIT
same "another nonce: same body" "$tmp/o1.body" "$tmp/o3.body"
post_ocsp o4 "$p1_port" "$pki/req1-nn.der"
eq "no nonce: HIT" "$(header o4 X-Dstack-Cache)" HIT
post_ocsp o5 "$p1_port" "$pki/req2.der"
eq "revoked cert: MISS (own key)" "$(header o5 X-Dstack-Cache)" MISS
eq "revoked cert relayed as revoked" "$(ocsp_status o5 2)" revoked
post_ocsp o6 "$p1_port" "$pki/req5.der"
eq "unknown cert relayed as unknown" "$(ocsp_status o6 5)" unknown

echo "== OCSP: RFC 5019 GET"
b64=$(base64 -w0 <"$pki/req1-nn.der" | perl -pe 's/([+\/=])/sprintf("%%%02X", ord($1))/ge')
now=$(date +%s)
http g1 "$P/ocsp/$b64"
eq "GET /ocsp/<b64> 200" "$code" 200
eq "GET /ocsp/<b64> HIT (same key as POST)" "$(header g1 X-Dstack-Cache)" HIT
same "GET body = POST body" "$tmp/o1.body" "$tmp/g1.body"
cc=$(header g1 Cache-Control)
contains "GET Cache-Control public" <(echo "$cc") "public, max-age="
maxage=$(echo "$cc" | perl -ne 'print $1 if /max-age=(\d+)/')
between "max-age up to nextUpdate" "$maxage" 86300 86400
exp_epoch=$(date -d "$(header g1 Expires)" +%s 2>/dev/null || echo 0)
eq "Expires = X-Dstack-Cache-Expires" "$exp_epoch" "$(header g1 X-Dstack-Cache-Expires)"
[ -n "$(header g1 Last-Modified)" ] && ok "Last-Modified present" || fail "Last-Modified missing"
http g2 "$P/ocsp/$(base64 -w0 <"$pki/req1-nn.der" | tr '+/' '-_' | tr -d '=')"
eq "GET /ocsp/<base64url, unpadded> HIT" "$(header g2 X-Dstack-Cache)" HIT
http x -X POST "$P/ocsp/$b64"
eq "POST /ocsp/<b64> 405" "$code" 405
now=$(date +%s)
http g3 "$P/ocsp/$(base64 -w0 <"$pki/req6-nn.der")"
eq "cold GET /ocsp/<b64>: MISS" "$(header g3 X-Dstack-Cache)" MISS
eq "cold GET answer verifies: good" "$(ocsp_status g3 6)" good
contains "cold GET is HTTP-cacheable" <(header g3 Cache-Control) "public, max-age="
post_ocsp g4 "$p1_port" "$pki/req6.der"
eq "then POST (with a nonce): HIT" "$(header g4 X-Dstack-Cache)" HIT

echo "== RIM: miss then hit, 4xx passed through"
http r1 "$P/v1/rim/NV_RIM_A"
eq "RIM first GET 200" "$code" 200
eq "RIM first GET MISS" "$(header r1 X-Dstack-Cache)" MISS
same "RIM body relayed" "$tmp/rims/NV_RIM_A" "$tmp/r1.body"
http r2 "$P/v1/rim/NV_RIM_A"
eq "RIM second GET HIT" "$(header r2 X-Dstack-Cache)" HIT
same "RIM HIT body" "$tmp/rims/NV_RIM_A" "$tmp/r2.body"
eq "one upstream request for miss + hit" "$(fake_count)" 1
http r3 "$P/v1/rim/NV_RIM_MISSING"
eq "RIM upstream 404 passed through" "$code" 404
http r3 "$P/v1/rim/NV_RIM_MISSING"
eq "RIM 404 not cached" "$(fake_count)" 3
http i "$P/info"
contains "info ocsp" "$tmp/i.body" "ocsp: 4 fresh, 0 stale"
contains "info rim" "$tmp/i.body" "rim: 1 fresh, 0 stale"

echo "== upstream 5xx"
fake_ctl fail/503
http r4 "$P/v1/rim/NV_RIM_B"
eq "RIM cold miss, upstream 503 passed through" "$code" 503
http r5 "$P/v1/rim/NV_RIM_A"
eq "RIM fresh entry still HIT while upstream fails" "$(header r5 X-Dstack-Cache)" HIT
proxy p5 --cache-dir "$tmp/cache5" --ocsp-url "$rim_url" --rim-url "$rim_url"
post_ocsp x "$p5_port" "$pki/req1.der"
eq "OCSP cold miss, upstream 503 passed through" "$code" 503
fake_ctl fail/200
post_ocsp x "$p5_port" "$pki/req1.der"
eq "OCSP upstream 200 with a non-OCSP body: relayed, not cached" "$code" 200
eq "... and nothing cached" "$(find "$tmp/cache5/ocsp" -name '*.json' | wc -l)" 0
stop p5
fake_ctl fail/0

echo "== 200 concurrent clients (cold keys, slow upstream: one upstream request per key)"
fake_ctl delay/300
before=$(fake_count)
mkdir -p "$tmp/par"
each='write-out = "%{http_code}\n"
max-time = 30'
{
    for i in $(seq 1 100); do
        # per transfer: --next resets the local options (write-out, max-time)
        printf 'url = "%s/v1/rim/NV_RIM_C"\noutput = "%s/par/rim.%d"\n%s\nnext\n' "$P" "$tmp" "$i" "$each"
        printf 'url = "%s/ocsp"\noutput = "%s/par/ocsp.%d"\n%s\n' "$P" "$tmp" "$i" "$each"
        printf 'header = "Content-Type: application/ocsp-request"\ndata-binary = "@%s/req3.der"\n' "$pki"
        [ "$i" -lt 100 ] && printf 'next\n' # a trailing "next" would start a transfer without a URL
    done
} >"$tmp/par.cfg"
curl -sS --parallel --parallel-immediate --parallel-max 200 -K "$tmp/par.cfg" \
    >"$tmp/par.codes" 2>"$tmp/par.err"
eq "200 answers" "$(wc -l <"$tmp/par.codes")" 200
eq "all 200 OK" "$(grep -c '^200$' "$tmp/par.codes")" 200
bad=0
for i in $(seq 1 100); do
    cmp -s "$tmp/rims/NV_RIM_C" "$tmp/par/rim.$i" || bad=$((bad + 1))
    cmp -s "$tmp/par/ocsp.1" "$tmp/par/ocsp.$i" || bad=$((bad + 1))
done
eq "every body correct" "$bad" 0
cp "$tmp/par/ocsp.1" "$tmp/par1.body"
eq "concurrent OCSP answer verifies" "$(ocsp_status par1 3)" good
eq "100 concurrent RIM misses: one upstream request" "$(($(fake_count) - before))" 1
fake_ctl delay/0
stop p1

echo "== 100 concurrent OCSP clients: one upstream request for a miss, one for a refresh"
# A second fake that answers every POST with one fixed response (made now, nextUpdate +1 day),
# so that upstream requests can be counted.
openssl ocsp -index "$pki/index.txt" -rsigner "$pki/ocsp.pem" -rkey "$pki/ocsp.key" \
    -CA "$pki/inter.pem" -reqin "$pki/req4.der" -respout "$tmp/fixed4.der" -ndays 1 >/dev/null
"$fake" "$tmp/rims" "$tmp/fixed4.der" >"$tmp/fake2.log" 2>&1 &
fake2_pid=$!
pids+=("$fake2_pid")
fake2_port=$(wait_for "$tmp/fake2.log" '^port (\d+)')
f2() { curl -sS "http://127.0.0.1:$fake2_port/control/$1"; }
f2 delay/1000 >/dev/null # every client is waiting before upstream answers
proxy p16 --cache-dir "$tmp/cache16" --ocsp-url "http://127.0.0.1:$fake2_port" \
    --rim-url "$rim_url"
ocsp_burst() { # ocsp_burst NAME: 100 concurrent POSTs of req4 (nonces differ: req4, req4-b)
    local i
    for i in $(seq 1 100); do
        [ "$i" -gt 1 ] && printf 'next\n'
        printf 'url = "http://127.0.0.1:%s/ocsp"\noutput = "%s/par/%s.%d"\n%s\n' \
            "$p16_port" "$tmp" "$1" "$i" "$each"
        printf 'header = "Content-Type: application/ocsp-request"\n'
        printf 'data-binary = "@%s/req4%s.der"\n' "$pki" "$([ $((i % 2)) -eq 0 ] && echo -b)"
    done >"$tmp/$1.cfg"
    curl -sS --parallel --parallel-immediate --parallel-max 100 -K "$tmp/$1.cfg" >"$tmp/$1.codes" 2>"$tmp/$1.err"
    eq "$1: 100 x 200" "$(grep -c '^200$' "$tmp/$1.codes")" 100
    bad=0
    for i in $(seq 1 100); do cmp -s "$tmp/fixed4.der" "$tmp/par/$1.$i" || bad=$((bad + 1)); done
    eq "$1: every body is upstream's answer" "$bad" 0
}
ocsp_burst miss
eq "100 concurrent OCSP misses: one upstream request" "$(f2 count)" 1
stop p16
# refresh-before longer than the answer's life: every request refreshes synchronously
proxy p16 --cache-dir "$tmp/cache16" --ocsp-url "http://127.0.0.1:$fake2_port" \
    --rim-url "$rim_url" --ocsp-refresh-before 2d
ocsp_burst refresh
eq "100 concurrent OCSP refreshes: one upstream request" "$(f2 count)" 2
stop p16
f2 fail/503 >/dev/null
proxy p16 --cache-dir "$tmp/cache16" --ocsp-url "http://127.0.0.1:$fake2_port" \
    --rim-url "$rim_url" --ocsp-refresh-before 2d
post_ocsp q1 "$p16_port" "$pki/req4.der"
eq "refresh answered 503, entry still valid: served (HIT)" "$(header q1 X-Dstack-Cache)" HIT
same "... upstream's earlier answer" "$tmp/fixed4.der" "$tmp/q1.body"
stop p16

echo "== restart keeps the cache; upstream down with and without an entry"
proxy p2 --cache-dir "$tmp/cache1" --ocsp-url "$down_url" --rim-url "$down_url"
P=http://127.0.0.1:$p2_port
post_ocsp a1 "$p2_port" "$pki/req1.der"
eq "after restart: OCSP HIT" "$(header a1 X-Dstack-Cache)" HIT
same "after restart: same OCSP body" "$tmp/o1.body" "$tmp/a1.body"
http a2 "$P/v1/rim/NV_RIM_A"
eq "after restart: RIM HIT" "$(header a2 X-Dstack-Cache)" HIT
same "after restart: same RIM body" "$tmp/rims/NV_RIM_A" "$tmp/a2.body"
post_ocsp a3 "$p2_port" "$pki/req4.der"
eq "upstream down, no OCSP entry: 502" "$code" 502
http a4 "$P/v1/rim/NV_RIM_E"
eq "upstream down, no RIM entry: 502" "$code" 502
stop p2

echo "== a corrupted cache file is dropped, never served, and refetched"
rimA=$(rim_file 1 NV_RIM_A)
ocsp1_body=$(grep -lF "$(base64 -w0 <"$pki/req1.der")" "$tmp/cache1/ocsp/"*.json | sed 's/\.json$/.body/')
perl -i -pe 's/NV_RIM_A/NV_RIM_X/' "$rimA.body"
printf '\x01' | dd of="$ocsp1_body" bs=1 seek=60 conv=notrunc status=none
proxy p3 --cache-dir "$tmp/cache1" --ocsp-url "$down_url" --rim-url "$down_url"
http c1 "http://127.0.0.1:$p3_port/v1/rim/NV_RIM_A"
eq "corrupted RIM not served (upstream down): 502" "$code" 502
post_ocsp c2 "$p3_port" "$pki/req1.der"
eq "corrupted OCSP not served (upstream down): 502" "$code" 502
contains "drop logged" "$tmp/p3.log" "proxy-cache-corrupt"
[ ! -e "$rimA.body" ] && ok "corrupted files deleted" || fail "corrupted RIM body still on disk"
stop p3
cp "$tmp/rims/NV_RIM_A" "$tmp/rimA.orig"
echo '{"id":"NV_RIM_A","rim":"eQ=="}' >"$tmp/rims/NV_RIM_A"
proxy p4 --cache-dir "$tmp/cache1" --ocsp-url "$ocsp_url" --rim-url "$rim_url"
http c3 "http://127.0.0.1:$p4_port/v1/rim/NV_RIM_A"
eq "after a drop: refetched (MISS)" "$(header c3 X-Dstack-Cache)" MISS
same "after a drop: upstream's body" "$tmp/rims/NV_RIM_A" "$tmp/c3.body"
post_ocsp c4 "$p4_port" "$pki/req1.der"
eq "after a drop: OCSP refetched (MISS)" "$(header c4 X-Dstack-Cache)" MISS
eq "refetched OCSP answer verifies" "$(ocsp_status c4 1)" good
stop p4
cp "$tmp/rimA.orig" "$tmp/rims/NV_RIM_A"

echo "== OCSP: synchronous refresh near expiry, never an expired answer"
responder ocsp2 -nmin 1
proxy p6 --cache-dir "$tmp/cache6" --ocsp-url "http://127.0.0.1:$ocsp2_port" --rim-url "$rim_url" \
    --ocsp-refresh-before 2m
now=$(date +%s)
post_ocsp e1 "$p6_port" "$pki/req1.der"
eq "short-lived: MISS" "$(header e1 X-Dstack-Cache)" MISS
between "expires = nextUpdate (1 min)" "$(header e1 X-Dstack-Cache-Expires)" $((now + 50)) $((now + 62))
sleep 1.1 # a new thisUpdate second, so the refreshed answer differs
post_ocsp e2 "$p6_port" "$pki/req1.der"
eq "within refresh-before: REFRESH" "$(header e2 X-Dstack-Cache)" REFRESH
if cmp -s "$tmp/e1.body" "$tmp/e2.body"; then fail "REFRESH returned the old answer"; else ok "REFRESH returned a new answer"; fi
kill "$ocsp2_pid"; wait "$ocsp2_pid" 2>/dev/null
post_ocsp e3 "$p6_port" "$pki/req1.der"
eq "refresh fails, entry still valid: served (HIT)" "$(header e3 X-Dstack-Cache)" HIT
same "... the last good answer" "$tmp/e2.body" "$tmp/e3.body"
stop p6
proxy p7 --cache-dir "$tmp/cache7" --ocsp-url "$ocsp_url" --rim-url "$rim_url" --ocsp-max-ttl 2s \
    --ocsp-refresh-before 0
now=$(date +%s)
post_ocsp f1 "$p7_port" "$pki/req1.der"
between "expires capped by ocsp-max-ttl" "$(header f1 X-Dstack-Cache-Expires)" $((now + 1)) $((now + 3))
stop p7
sleep 2.2
proxy p7 --cache-dir "$tmp/cache7" --ocsp-url "$down_url" --rim-url "$down_url" --ocsp-max-ttl 2s
post_ocsp f2 "$p7_port" "$pki/req1.der"
eq "expired OCSP entry never served: 502" "$code" 502
stop p7

echo "== RIM: stale within the bound only on upstream failure"
# The stale bound is generous here (s1..s4 must fall inside it even on a loaded
# machine); p9 below tests the bound itself.
proxy p8 --cache-dir "$tmp/cache8" --ocsp-url "$ocsp_url" --rim-url "$rim_url" --rim-ttl 1s \
    --rim-max-stale 30s
P=http://127.0.0.1:$p8_port
http s1 "$P/v1/rim/NV_RIM_D"
eq "RIM MISS" "$(header s1 X-Dstack-Cache)" MISS
sleep 1.2
fake_ctl fail/503
http s2 "$P/v1/rim/NV_RIM_D"
eq "expired RIM, upstream 503: STALE" "$(header s2 X-Dstack-Cache)" STALE
eq "STALE status 200" "$code" 200
same "STALE body" "$tmp/rims/NV_RIM_D" "$tmp/s2.body"
fake_ctl fail/404
http s3 "$P/v1/rim/NV_RIM_D"
eq "expired RIM, upstream 404: passed through, not STALE" "$code" 404
fake_ctl fail/0
http s4 "$P/v1/rim/NV_RIM_D"
eq "expired RIM, upstream back: REFRESH" "$(header s4 X-Dstack-Cache)" REFRESH
stop p8
sleep 1.2
proxy p9 --cache-dir "$tmp/cache8" --ocsp-url "$down_url" --rim-url "$down_url" --rim-ttl 1s \
    --rim-max-stale 6s
http s5 "http://127.0.0.1:$p9_port/v1/rim/NV_RIM_D"
eq "expired RIM, upstream down: STALE" "$(header s5 X-Dstack-Cache)" STALE
sleep 6.2
http s6 "http://127.0.0.1:$p9_port/v1/rim/NV_RIM_D"
eq "past rim-max-stale, upstream down: 502" "$code" 502
stop p9

echo "== background half-life refresh"
# No fixed sleeps against the refresher's ticks: the proxy reads the wall clock in whole
# seconds, so a 2 s TTL left a refreshed entry less than a second of life, and a loaded
# machine that delayed one tick saw it expire (REFRESH). Instead: wait (bounded) until the
# refresher has fetched, then ask once the first answer's own expiry has passed. Only a
# refreshed, stored entry can then be a HIT, and it expires expires(b1) + 3 s at the
# earliest (fetched at half-life, ttl 6 s): three seconds of slack, not a fraction of one.
proxy p10 --cache-dir "$tmp/cache10" --ocsp-url "$ocsp_url" --rim-url "$rim_url" --rim-ttl 6s \
    --refresh-interval 1s
http b1 "http://127.0.0.1:$p10_port/v1/rim/NV_RIM_E"
eq "RIM MISS" "$(header b1 X-Dstack-Cache)" MISS
expires1=$(header b1 X-Dstack-Cache-Expires)
before=$(fake_count)
after=$before
for _ in $(seq 100); do # 20 s at most; the half-life is 3 s
    after=$(fake_count)
    [ "$after" -gt "$before" ] && break
    sleep 0.2
done
[ "$after" -gt "$before" ] && ok "refresher fetched without a client ($before -> $after)" ||
    fail "refresher did not fetch ($before -> $after)"
while [ "$(date +%s)" -lt "$expires1" ]; do sleep 0.1; done
http b2 "http://127.0.0.1:$p10_port/v1/rim/NV_RIM_E"
eq "refreshed entry, first answer's expiry passed: HIT" "$(header b2 X-Dstack-Cache)" HIT
expires2=$(header b2 X-Dstack-Cache-Expires)
[ "${expires2:-0}" -gt "$expires1" ] && ok "... a later expiry ($expires1 -> $expires2)" ||
    fail "refreshed entry's expiry: got '$expires2', want after $expires1"
contains "refresh logged" "$tmp/p10.log" "refresh rim: REFRESH (HTTP 200)"
stop p10

echo "== bounds: entries per kind"
proxy p11 --cache-dir "$tmp/cache11" --ocsp-url "$ocsp_url" --rim-url "$rim_url" \
    --max-cache-entries-per-kind 2
for id in NV_RIM_A NV_RIM_B NV_RIM_C; do
    http x "http://127.0.0.1:$p11_port/v1/rim/$id"
done
eq "two RIM entries kept" "$(find "$tmp/cache11/rim" -name '*.json' | wc -l)" 2
eq "two RIM bodies kept" "$(find "$tmp/cache11/rim" -name '*.body' | wc -l)" 2
stop p11
proxy p14 --cache-dir "$tmp/cache14" --ocsp-url "$ocsp_url" --rim-url "$rim_url" \
    --max-cache-bytes 70 # each of these RIMs is 31 bytes
for id in NV_RIM_B NV_RIM_C NV_RIM_D NV_RIM_E; do
    http x "http://127.0.0.1:$p14_port/v1/rim/$id"
done
eq "bodies within max-cache-bytes" "$(cat "$tmp/cache14/rim/"*.body | wc -c)" 62
http x "http://127.0.0.1:$p14_port/v1/rim/NV_RIM_A"
eq "a body over max-cache-bytes is served" "$code" 200
eq "... but not kept" "$(header x X-Dstack-Cache)" MISS
http x "http://127.0.0.1:$p14_port/v1/rim/NV_RIM_A"
eq "... so it is fetched again" "$(header x X-Dstack-Cache)" MISS
stop p14

echo "== a FIFO or a symbolic link in the cache: dropped at start, never waited on or followed"
proxy p20 --cache-dir "$tmp/cache20" --ocsp-url "$ocsp_url" --rim-url "$rim_url"
http x "http://127.0.0.1:$p20_port/v1/rim/NV_RIM_B"
http x "http://127.0.0.1:$p20_port/v1/rim/NV_RIM_C"
stop p20
rimB=$(rim_file 20 NV_RIM_B)
rimC=$(rim_file 20 NV_RIM_C)
rm "$rimB.json"
mkfifo "$rimB.json"
mv "$rimC.body" "$tmp/rimC.body.real" # the same bytes, reached through a link
ln -s "$tmp/rimC.body.real" "$rimC.body"
"$bin" proxy --listen 127.0.0.1:0 --refresh-interval 0 --cache-dir "$tmp/cache20" \
    --ocsp-url "$down_url" --rim-url "$down_url" >"$tmp/p21.log" 2>&1 &
p21_pid=$!
pids+=("$p21_pid")
p21_port=$(wait_for "$tmp/p21.log" '\(port (\d+)\)')
[ -n "$p21_port" ] && ok "proxy starts with a FIFO as a cache metadata file" ||
    fail "proxy did not start with a FIFO in the cache"
http x "http://127.0.0.1:$p21_port/v1/rim/NV_RIM_B"
eq "entry with a FIFO for metadata: dropped (upstream down: 502)" "$code" 502
http x "http://127.0.0.1:$p21_port/v1/rim/NV_RIM_C"
eq "entry whose body is a symbolic link: dropped (upstream down: 502)" "$code" 502
contains "FIFO drop logged" "$tmp/p21.log" "dropping rim/$(basename "$rimB").json: proxy-cache-corrupt"
[ ! -e "$rimB.json" ] && [ ! -L "$rimC.body" ] && ok "FIFO and link removed" ||
    fail "FIFO or link still in the cache"
kill -TERM "$p21_pid" 2>/dev/null
for i in $(seq 1 50); do kill -0 "$p21_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$p21_pid" 2>/dev/null; then
    fail "proxy ignores SIGTERM"
    kill -KILL "$p21_pid"
else
    ok "proxy stops on SIGTERM"
fi
wait "$p21_pid" 2>/dev/null

echo "== a cached RIM is bound to its id: renamed or relabelled entries are not served"
proxy p22 --cache-dir "$tmp/cache22" --ocsp-url "$ocsp_url" --rim-url "$rim_url"
http x "http://127.0.0.1:$p22_port/v1/rim/NV_RIM_A"
http x "http://127.0.0.1:$p22_port/v1/rim/NV_RIM_B"
printf '{"id":"NV_RIM_A","rim":"eA=="}\n' >"$tmp/rims/NV_RIM_W" # upstream answers W with A's document
http w1 "http://127.0.0.1:$p22_port/v1/rim/NV_RIM_W"
eq "answer for another id: relayed" "$code" 200
eq "... as a MISS" "$(header w1 X-Dstack-Cache)" MISS
http w2 "http://127.0.0.1:$p22_port/v1/rim/NV_RIM_W"
eq "... and not cached (MISS again)" "$(header w2 X-Dstack-Cache)" MISS
stop p22
eq "two RIM entries cached" "$(find "$tmp/cache22/rim" -name '*.json' | wc -l)" 2
rimA=$(rim_file 22 NV_RIM_A)
rimZ=$(rim_file 22 NV_RIM_Z)
mv "$rimA.json" "$rimZ.json" # the pair renamed to Z's key, metadata untouched
mv "$rimA.body" "$rimZ.body"
rimB=$(rim_file 22 NV_RIM_B)
rimY=$(rim_file 22 NV_RIM_Y)
perl -pe 's/"rim_id":"NV_RIM_B"/"rim_id":"NV_RIM_Y"/' "$rimB.json" >"$rimY.json" # and relabelled
mv "$rimB.body" "$rimY.body"
rm "$rimB.json"
grep -q '"rim_id":"NV_RIM_Y"' "$rimY.json" && ok "metadata relabelled" || fail "relabel failed"
proxy p23 --cache-dir "$tmp/cache22" --ocsp-url "$down_url" --rim-url "$down_url"
http z1 "http://127.0.0.1:$p23_port/v1/rim/NV_RIM_Z"
eq "A's pair under Z's key: not served (upstream down: 502)" "$code" 502
http y1 "http://127.0.0.1:$p23_port/v1/rim/NV_RIM_Y"
eq "B's document relabelled Y: not served (upstream down: 502)" "$code" 502
contains "renamed entry dropped" "$tmp/p23.log" "dropping rim/$(basename "$rimZ").json: proxy-cache-corrupt"
contains "relabelled entry dropped" "$tmp/p23.log" "dropping rim/$(basename "$rimY").json: proxy-cache-corrupt"
stop p23
rm -f "$tmp/rims/NV_RIM_W"

echo "== slow clients: bounded request time, per-address cap, others still served"
# 12 slow clients from 127.0.0.2 (more than --max-connections 8) dribble a byte every 0.5 s
# for 10 s; client-timeout (idle) is long, so only the whole-request bound can cut them.
# Meanwhile a normal client on 127.0.0.1 makes 10 requests that must each succeed in 4 s.
proxy p24 --cache-dir "$tmp/cache24" --ocsp-url "$ocsp_url" --rim-url "$rim_url" \
    --max-connections 8 --max-connections-per-client 4 --client-timeout 60s \
    --client-request-timeout 2s
P=http://127.0.0.1:$p24_port
http x "$P/v1/rim/NV_RIM_A"
perl "$here/slow_clients.pl" "$p24_port" 127.0.0.2 12 10 >"$tmp/slow.out" 2>&1 &
slow_pid=$!
pids+=("$slow_pid")
sleep 1
good=0
t0=$(date +%s)
for i in $(seq 1 10); do
    code=$(curl -sS --max-time 4 -o /dev/null -w '%{http_code}' "$P/v1/rim/NV_RIM_A") || code=000
    [ "$code" = 200 ] && good=$((good + 1))
    sleep 0.5
done
t1=$(date +%s)
wait "$slow_pid"
eq "normal client during the attack: 10 of 10 answered" "$good" 10
between "normal client done within 30 s" $((t1 - t0)) 0 30
slow=$(cat "$tmp/slow.out")
longest=$(echo "$slow" | perl -ne 'print $1 if /longest_ms=(\d+)/')
cut=$(echo "$slow" | perl -ne 'print $1 if /cut=(\d+)/')
between "no slow connection outlives client-request-timeout 2s by much ($slow)" "$longest" 0 6000
between "slow connections closed by the proxy" "$cut" 12 100000
contains "cuts logged" "$tmp/p24.log" "past client-request-timeout"
stop p24

echo "== configuration"
"$bin" proxy --help >"$tmp/help" 2>&1
eq "--help exit 0" "$?" 0
contains "--help lists --cache-dir" "$tmp/help" "--cache-dir"
"$bin" proxy --bogus 1 >"$tmp/cfg.out" 2>&1
eq "unknown flag exit 2" "$?" 2
contains "unknown flag named" "$tmp/cfg.out" "unknown option '--bogus'"
"$bin" proxy --rim-ttl 5x >"$tmp/cfg.out" 2>&1
eq "bad duration exit 2" "$?" 2
printf '# comment\nlisten = 127.0.0.1:0\nno-such-key = 1\n' >"$tmp/bad.conf"
"$bin" proxy --config "$tmp/bad.conf" >"$tmp/cfg.out" 2>&1
eq "unknown config key exit 2" "$?" 2
contains "config line named" "$tmp/cfg.out" "line 3"
printf 'listen = 127.0.0.1:0\ncache-dir = %s\nocsp-url = %s\nrim-url = %s\nrefresh-interval = 0\n' \
    "$tmp/cache12" "$ocsp_url" "$rim_url" >"$tmp/good.conf"
"$bin" proxy --config "$tmp/good.conf" >"$tmp/p12.log" 2>&1 &
p12_pid=$!
pids+=("$p12_pid")
p12_port=$(wait_for "$tmp/p12.log" '\(port (\d+)\)')
http k1 "http://127.0.0.1:$p12_port/v1/rim/NV_RIM_B"
eq "config file applied (cache-dir, rim-url)" "$(find "$tmp/cache12/rim" -name '*.json' | wc -l)" 1
stop p12
"$bin" proxy --config "$here/../../docs/proxy.conf.example" --listen 127.0.0.1:0 \
    --cache-dir "$tmp/cache13" >"$tmp/p13.log" 2>&1 &
p13_pid=$!
pids+=("$p13_pid")
p13_port=$(wait_for "$tmp/p13.log" '\(port (\d+)\)')
http k2 "http://127.0.0.1:$p13_port/healthz"
eq "docs/proxy.conf.example loads, flags override it" "$code" 200
stop p13
NVIDIA_ATTEST_PROXY_LISTEN=127.0.0.1:0 NVIDIA_ATTEST_PROXY_CACHE_DIR=$tmp/cache15 \
    NVIDIA_ATTEST_PROXY_RIM_URL=$down_url "$bin" proxy --rim-url "$rim_url" >"$tmp/p15.log" 2>&1 &
p15_pid=$!
pids+=("$p15_pid")
p15_port=$(wait_for "$tmp/p15.log" '\(port (\d+)\)')
http k3 "http://127.0.0.1:$p15_port/v1/rim/NV_RIM_B"
eq "environment applied, flags override it" "$code" 200
eq "... cache in NVIDIA_ATTEST_PROXY_CACHE_DIR" "$(find "$tmp/cache15/rim" -name '*.json' | wc -l)" 1
stop p15
echo "== upstream request headers: service key to the RIM service only, User-Agent"
NV_ATTESTATION_SERVICE_KEY=test-service-key timeout 10 "$bin" proxy --listen 127.0.0.1:0 \
    --cache-dir "$tmp/cache16" --rim-url "$rim_url" >"$tmp/p16.out" 2>&1
eq "service key with an http:// rim-url: refused at start, exit 2" "$?" 2
contains "... naming the switch" "$tmp/p16.out" "--allow-insecure-service-key"
# the fake upstream stands in for both services; its OCSP side answers 404
NV_ATTESTATION_SERVICE_KEY=test-service-key proxy p16 --cache-dir "$tmp/cache16" \
    --rim-url "$rim_url" --ocsp-url "$rim_url" --allow-insecure-service-key
http k5 "http://127.0.0.1:$p16_port/v1/rim/NV_RIM_C"
eq "RIM through a proxy with a service key" "$code" 200
eq "RIM service got Authorization: Bearer <key>" \
    "$(curl -sS "http://127.0.0.1:$fake_port/control/last-auth")" "Bearer test-service-key"
contains "upstream got the proxy's User-Agent" <(curl -sS "http://127.0.0.1:$fake_port/control/last-ua") \
    "dstack-gpu-attest-proxy/"
before=$(fake_count)
post_ocsp k7 "$p16_port" "$pki/req1.der"
eq "OCSP request reached the upstream" "$(($(fake_count) - before))" 1
eq "OCSP upstream got no Authorization" \
    "$(curl -sS "http://127.0.0.1:$fake_port/control/last-auth")" ""
stop p16
NV_ATTESTATION_SERVICE_KEY=test-service-key proxy p19 --cache-dir "$tmp/cache19" \
    --rim-url https://127.0.0.1:1 --ocsp-url "$ocsp_url"
http x "http://127.0.0.1:$p19_port/healthz"
eq "service key with an https:// rim-url: starts" "$code" 200
stop p19
proxy p17 --cache-dir "$tmp/cache17" --rim-url "$rim_url"
http k6 "http://127.0.0.1:$p17_port/v1/rim/NV_RIM_C"
eq "no service key: no Authorization upstream" \
    "$(curl -sS "http://127.0.0.1:$fake_port/control/last-auth")" ""
stop p17
NV_ATTESTATION_SERVICE_KEY=$'key\r\nX-Injected: 1' timeout 10 "$bin" proxy --listen 127.0.0.1:0 \
    --cache-dir "$tmp/cache18" >"$tmp/p18.out" 2>&1
eq "service key with CR/LF: refused at start, exit 2" "$?" 2
"$bin" proxy --listen 127.0.0.1:99999 >"$tmp/cfg.out" 2>&1
eq "bad listen address exit 2" "$?" 2

server_test_done "proxy: all checks passed"
