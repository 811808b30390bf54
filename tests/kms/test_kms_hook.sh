#!/usr/bin/env bash
# The KMS authorization webhook (docs/kms.md) driven over HTTP with curl, as dstack's KMS
# drives auth-simple: each behaviour docs/kms.md lists for auth-simple (GET /, both
# endpoints, TCB status, advisories, OS images, devices and allowAnyDevice, compose hashes,
# unknown apps, hex normalisation, the configuration changed or broken between requests,
# malformed bodies), asserting isAllowed and the reason; the GPU rules on the forwarded
# payload; auth-simple's environment (PORT, AUTH_CONFIG_PATH); the limits and a slow client.
# Servers listen on 127.0.0.1 port 0 and the port is read back from their log.
#   test_kms_hook.sh BINARY
set -uo pipefail
bin=$1
# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
. "$(dirname "$0")/../lib/server.sh"
server_test_init

hex() { printf "%0${2}d" 0 | tr 0 "$1"; } # hex CHAR N: N copies of CHAR
OS=0x$(hex 1 64)
APP=0x$(hex a 40)
COMPOSE=0x$(hex c 64)
DEVICE=0x$(hex d 64)
MR=0x$(hex e 64)
POLICY=$(hex 5 64)
EVIDENCE=$(hex 9 64)
CFG=$tmp/auth-config.json

# server NAME ARGS...: the hook on 127.0.0.1 (any port); sets ${NAME}_port
server() {
    local name=$1
    shift
    start_server "$name" "$bin" kms-hook --listen 127.0.0.1:0 "$@"
}

# put_config JSON: replaces the configuration atomically, as an operator's editor would
put_config() {
    printf '%s' "$1" >"$CFG.tmp" && mv "$CFG.tmp" "$CFG"
}

# request [JQ_EDIT]: a BootInfo as dstack's KMS posts it, edited by a jq expression
request() {
    jq -c "${1:-.}" <<EOF
{"teeVariant":"dstack-tdx","mrAggregated":"${MR#0x}","osImageHash":"${OS#0x}",
 "mrSystem":"$(hex 2 64)","appId":"${APP#0x}","composeHash":"${COMPOSE#0x}",
 "instanceId":"$(hex 4 40)","deviceId":"${DEVICE#0x}","keyProviderInfo":"7b7d",
 "tcbStatus":"UpToDate","advisoryIds":[]}
EOF
}

# post NAME WANT_STATUS PATH BODY: the answer in $tmp/NAME.body (Content-Type $CT or JSON)
post() {
    local name=$1 want=$2 path=$3 body=$4 got
    printf '%s' "$body" >"$tmp/$name.req"
    got=$(curl -sS -o "$tmp/$name.body" -w '%{http_code}' -X POST \
        -H "Content-Type: ${CT:-application/json}" --data-binary "@$tmp/$name.req" \
        "http://127.0.0.1:$port$path" 2>"$tmp/$name.curl")
    if [ "$got" != "$want" ]; then
        fail "$name: HTTP $got, want $want: $(head -c 300 "$tmp/$name.body") $(cat "$tmp/$name.curl")"
        return 1
    fi
}

# decision NAME PATH BODY ALLOWED REASON: HTTP 200 with exactly that isAllowed and reason
decision() {
    local name=$1 path=$2 body=$3 allowed=$4 reason=$5 got
    post "$name" 200 "$path" "$body" || return 1
    got=$(jq -c '[.isAllowed, .reason]' "$tmp/$name.body" 2>&1)
    want=$(jq -nc --argjson a "$allowed" --arg r "$reason" '[$a, $r]')
    if [ "$got" = "$want" ]; then ok "$name: $got"; else fail "$name: $got, want $want"; fi
}
app() { decision "$1" /bootAuth/app "$2" "$3" "$4"; }
kms() { decision "$1" /bootAuth/kms "$2" "$3" "$4"; }

BASE='{"gatewayAppId":"gw-1","osImages":["'$OS'"],
 "kms":{"mrAggregated":["'$MR'"]},
 "apps":{"'$APP'":{"composeHashes":["'$COMPOSE'"]}}}'
put_config "$BASE"
server a --config "$CFG"
port=$a_port
R=$(request)

# ---- GET /: health and info, auth-simple's members
got=$(curl -sS "http://127.0.0.1:$port/")
want='{"status":"ok","kmsContractAddr":"0x0000000000000000000000000000000000000000","gatewayAppId":"gw-1","chainId":0,"appAuthImplementation":"0x0000000000000000000000000000000000000000","appImplementation":"0x0000000000000000000000000000000000000000"}'
[ "$got" = "$want" ] && ok "GET /" || fail "GET /: $got"
[ "$(curl -sS -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$port/")" = 200 ] &&
    ok "HEAD /" || fail "HEAD / is not 200"

# ---- /bootAuth/app, each check in auth-simple's order
app allowed "$R" true ""
post shape 200 /bootAuth/app "$R"
[ "$(jq -c 'keys' "$tmp/shape.body")" = '["gatewayAppId","isAllowed","reason"]' ] &&
    [ "$(jq -r .gatewayAppId "$tmp/shape.body")" = gw-1 ] && ok "response shape" ||
    fail "response shape: $(cat "$tmp/shape.body")"
app tcb "$(request '.tcbStatus = "OutOfDate"')" false "TCB status is not allowed"
app tcb-absent "$(request 'del(.tcbStatus)')" false "TCB status is not allowed"
app advisory "$(request '.advisoryIds = ["INTEL-SA-00837"]')" false "advisory ID is not allowed"
app os-image "$(request '.osImageHash = "00"')" false "OS image is not allowed"
app unknown-app "$(request '.appId = "0102"')" false "app not registered"
app compose "$(request '.composeHash = "00"')" false "compose hash not allowed"
app order "$(request '.tcbStatus = "Revoked" | .osImageHash = "00" | .appId = "00"')" \
    false "TCB status is not allowed"
app hex-case "$(request ".appId = \"0X$(hex A 40)\" | .composeHash = \"$(hex C 64)\"")" true ""
app unknown-keys "$(request '.futureKey = {"x": [1]} | .attestationMode = "dstack-tdx"')" true ""

# ---- /bootAuth/kms
kms kms-allowed "$R" true ""
kms kms-mr "$(request '.mrAggregated = "00"')" false "aggregated MR not allowed"
kms kms-os "$(request '.osImageHash = "00"')" false "OS image is not allowed"

# ---- configuration changes take effect on the next request
put_config "$(jq -c '.allowedTcbStatuses = ["UpToDate","OutOfDate"]
    | .allowedAdvisoryIds = ["INTEL-SA-00837"]' <<<"$BASE")"
app tcb-allowed "$(request '.tcbStatus = "OutOfDate" | .advisoryIds = ["INTEL-SA-00837"]')" true ""
app tcb-default-gone "$R" true ""
put_config "$(jq -c '.apps[.apps | keys[0]].devices = ["0x01"]
    | .kms.devices = ["0x01"]' <<<"$BASE")"
app device "$R" false "app is not allowed to boot on this device"
kms kms-device "$R" false "KMS is not allowed to boot on this device"
app device-listed "$(request '.deviceId = "01"')" true ""
put_config "$(jq -c '.apps[.apps | keys[0]].devices = ["0x01"]
    | .apps[.apps | keys[0]].allowAnyDevice = true
    | .kms.devices = ["0x01"] | .kms.allowAnyDevice = true' <<<"$BASE")"
app any-device "$R" true ""
kms kms-any-device "$R" true ""
put_config "$(jq -c '.osImages = ["'"${OS^^}"'"] | .apps = {"'"${APP#0x}"'":
    {"composeHashes":["0X'"${COMPOSE#0x}"'"],"devices":[]}}' <<<"$BASE")"
app hex-config "$R" true ""
# in place, same size, same second: the bytes decide
put_config "$BASE"
app before-edit "$R" true ""
perl -pi -e 's/cccc"/cccd"/' "$CFG"
app same-size-edit "$R" false "compose hash not allowed"

# ---- a broken configuration denies everything, says why, and is logged; never the old one
put_config '{"osImages":["'$OS'"],"apps":{'
app broken "$R" false "configuration error: JSON: line 1 column 91: string or '}' expected near end of file"
kms broken-kms "$R" false "configuration error: JSON: line 1 column 91: string or '}' expected near end of file"
[ "$(jq -r .gatewayAppId "$tmp/broken.body")" = "" ] || fail "broken: gatewayAppId is not empty"
code=$(curl -sS -o "$tmp/info.body" -w '%{http_code}' "http://127.0.0.1:$port/")
[ "$code" = 500 ] && [ "$(jq -r .status "$tmp/info.body")" = error ] && ok "GET / while broken: 500" ||
    fail "GET / while broken: $code $(cat "$tmp/info.body")"
put_config '{"osImages":"'$OS'"}'
app wrong-type "$R" false "configuration error: osImages must be an array of strings"
put_config '{"osImages":["'$OS'"],"osImages":[]}'
app duplicate-key "$R" false \
    "configuration error: JSON: line 1 column 93: duplicate object key near '\"osImages\"'"
rm -f "$CFG"
post missing 200 /bootAuth/app "$R"
grep -q '"reason":"configuration error: cannot read .*: No such file or directory"' "$tmp/missing.body" &&
    ok "missing file: denied" || fail "missing file: $(cat "$tmp/missing.body")"
grep -q "osImages must be an array of strings; denying every request" "$tmp/a.log" &&
    ok "broken configuration logged" || fail "the broken configuration is not logged"
put_config "$BASE"
app fixed "$R" true ""

# ---- malformed requests: 400 with a reason, never an allow
bad() { # NAME BODY REASON
    local name=$1 body=$2 reason=$3
    post "$name" 400 /bootAuth/app "$body" || return 1
    got=$(jq -c '[.isAllowed, .reason]' "$tmp/$name.body")
    want=$(jq -nc --arg r "$reason" '[false, $r]')
    [ "$got" = "$want" ] && ok "$name: 400 $got" || fail "$name: $got, want $want"
}
bad not-json 'appId=1' "invalid request: the body is not one JSON object without duplicate keys"
bad array '[]' "invalid request: the body is not one JSON object without duplicate keys"
bad missing-field "$(request 'del(.composeHash)')" "invalid request: composeHash must be a string"
bad wrong-type "$(request '.deviceId = 7')" "invalid request: deviceId must be a string"
bad advisories "$(request '.advisoryIds = "x"')" "invalid request: advisoryIds must be an array of strings"
bad dup-key "${R%\}},\"appId\":\"00\"}" \
    "invalid request: the body is not one JSON object without duplicate keys"
CT=text/plain bad content-type "$R" "invalid request: Content-Type must be application/json"
post not-found 404 /bootAuth/other "$R" && ok "unknown path: 404"
code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/bootAuth/app")
[ "$code" = 405 ] && ok "GET /bootAuth/app: 405" || fail "GET /bootAuth/app: $code"
head -c 70000 /dev/zero | tr '\0' ' ' >"$tmp/big"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$tmp/big" "http://127.0.0.1:$port/bootAuth/app")
[ "$code" = 413 ] && ok "body over max-request: 413" || fail "big body: $code"

# ---- GPU rules on the payload a GPU-aware KMS forwards
PAYLOAD='{"version":2,"provider":"nvidia","devices":1,"cc_mode":"on","devtools":false,"evidence_sha256":"'$EVIDENCE'"}'
gpu() { # JQ_EDIT_OF_PAYLOAD [POLICY_HASH]: a request forwarding the edited payload
    local p
    p=$(jq -c "$1" <<<"$PAYLOAD")
    request ".gpuAttestation = $(jq -Rs . <<<"$p" | sed 's/\\n"$/"/') | .gpuPolicyHash = \"${2:-$POLICY}\""
}
put_config "$(jq -c '.apps[.apps | keys[0]].gpu = {"required": true, "gpus": {"exact": 1},
    "gpuPolicyHashes": ["0x'"$POLICY"'"]}' <<<"$BASE")"
app gpu-allowed "$(gpu .)" true ""
app gpu-missing "$R" false \
    "GPU attestation is required but the KMS did not forward gpuAttestation (a GPU-aware KMS adds it to BootInfo; see docs/kms.md)"
app gpu-two "$(gpu '.devices = 2')" false "GPU count 2 is not allowed (expected exactly 1)"
app gpu-devtools "$(gpu '.devtools = true')" false "GPUs in DevTools mode are not allowed"
app gpu-policy "$(gpu . "$(hex 6 64)")" false "GPU policy hash is not allowed"
app gpu-policy-case "$(gpu . "0X${POLICY^^}")" true ""
app gpu-test-root "$(gpu '.trust_roots = "test"')" false 'GPU trust root "test" is not allowed'
app gpu-version "$(gpu '.version = 3')" false "the GPU attestation payload is malformed (version)"
dup=$(request ".gpuAttestation = $(jq -Rs . <<<"${PAYLOAD%\}},\"devices\":1}" | sed 's/\\n"$/"/')
    | .gpuPolicyHash = \"$POLICY\"")
app gpu-duplicate "$dup" false "the GPU attestation payload is malformed (payload)"
kms gpu-kms-no-rule "$R" true "" # the app's rule does not reach the KMS endpoint
put_config "$(jq -c '.kms.gpu = {"required": true, "trustRoots": ["test"]}' <<<"$BASE")"
kms gpu-kms-test-root "$(gpu '.trust_roots = "test"')" true ""
kms gpu-kms-dstack "$(gpu .)" false 'GPU trust root "nvidia" is not allowed'

# ---- auth-simple's environment, and a configuration that is broken at start
PORT=0 AUTH_CONFIG_PATH=$CFG "$bin" kms-hook 2>"$tmp/env.log" &
pids+=($!)
port=$(wait_for "$tmp/env.log" '\(port (\d+)\)')
grep -q "listening on 127.0.0.1:0 (port $port), configuration $CFG" "$tmp/env.log" &&
    ok "PORT and AUTH_CONFIG_PATH" || fail "env: $(cat "$tmp/env.log")"
put_config "$BASE"
app env-served "$R" true ""
printf '{' >"$tmp/broken.json"
"$bin" kms-hook --listen 127.0.0.1:0 --config "$tmp/broken.json" 2>"$tmp/start.err"
rc=$?
[ $rc -eq 2 ] && grep -q "JSON: line 1 column 1" "$tmp/start.err" &&
    grep -q "kms-hook: start: config: kms-config" "$tmp/start.err" &&
    ok "broken at start: exit 2" || fail "broken at start: rc $rc $(cat "$tmp/start.err")"
"$bin" kms-hook --max-request 65M >/dev/null 2>&1
[ $? -eq 2 ] && ok "--max-request over 64K: exit 2" || fail "--max-request 65M accepted"
PORT=http "$bin" kms-hook >/dev/null 2>&1
[ $? -eq 2 ] && ok "PORT not a number: exit 2" || fail "PORT=http accepted"

# ---- the flags: each refusal exits 2 with exactly one line; the accepted values and bounds
# usage_error NAME 'MESSAGE' ARGS...: kms-hook ARGS exits 2, stderr is "PROGRAM: MESSAGE"
usage_error() {
    local name=$1 want=$2 err
    shift 2
    err=$("$bin" kms-hook "$@" 2>&1 >/dev/null)
    local rc=$?
    [ $rc -eq 2 ] && [ "$err" = "dstack-gpu-attest: $want" ] && ok "usage: $name" ||
        fail "usage: $name: rc $rc, stderr '$err'"
}
usage_error timeout-zero "kms-hook: --client-timeout: invalid value '0'" --client-timeout 0
usage_error timeout-unit "kms-hook: --client-request-timeout: invalid value '1w'" \
    --client-request-timeout 1w
usage_error timeout-over "kms-hook: --client-timeout: invalid value '2147483648'" \
    --client-timeout 2147483648
usage_error request-over "kms-hook: --max-request: invalid value '65537'" --max-request 65537
usage_error request-zero "kms-hook: --max-request: invalid value '0K'" --max-request=0K
usage_error conn-unit "kms-hook: --max-connections: invalid value '1K'" --max-connections 1K
usage_error conn-over "kms-hook: --max-connections-per-client: invalid value '1000001'" \
    --max-connections-per-client 1000001
usage_error config-empty "kms-hook: --config: invalid value ''" --config=
usage_error config-missing "kms-hook: --config: invalid value ''" --quiet --config
usage_error listen-empty "kms-hook: --listen: invalid value ''" --listen ''
usage_error unknown "kms-hook: unknown option '--bogus' (try --help)" --bogus 1
usage_error stray "kms-hook: unexpected argument 'stray' (try --help)" --quiet stray
PORT=70000 usage_error port-range "kms-hook: PORT: invalid value '70000'"
out=$(PORT=http "$bin" kms-hook --bogus --help 2>&1)
[ $? -eq 0 ] && [ "$(head -1 <<<"$out")" = \
    "Usage: dstack-gpu-attest kms-hook [--listen ADDR:PORT] [--config FILE] [OPTION VALUE]..." ] &&
    ok "--help wins over a bad PORT and a bad flag" || fail "--help: $out"
# every bound at its limit, either case of a unit; the flags win over the environment
PORT=1 AUTH_CONFIG_PATH=$tmp/none.json server bounds --config="$CFG" --client-timeout 1d \
    --client-request-timeout 35791M --max-request 64k --max-connections 1000000 \
    --max-connections-per-client 1 --quiet
grep -q "(port $bounds_port), configuration $CFG" "$tmp/bounds.log" &&
    ok "bounds accepted, flags over the environment" || fail "bounds: $(cat "$tmp/bounds.log")"

# ---- a slow client is cut at client-request-timeout; others are served meanwhile
server s --config "$CFG" --client-request-timeout 2 --quiet
port=$s_port
req_head=$'POST /bootAuth/app HTTP/1.1\r\nHost: k\r\nContent-Type: application/json\r\n'
slow_client "$port" "$req_head"$'Content-Length: 1000\r\n\r\n' ' '
sleep 0.5
app during-slow "$R" true ""
slow_client_cut "$tmp/s.log"
grep -q "app boot:" "$tmp/s.log" && fail "--quiet still logs decisions"
grep -q "app boot: appId=$APP.*: allowed" "$tmp/a.log" || grep -q "app boot: appId=${APP#0x}.*: allowed" "$tmp/a.log" ||
    fail "decisions are not logged"

server_test_done "kms-hook: all passed"
