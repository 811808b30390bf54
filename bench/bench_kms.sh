#!/usr/bin/env bash
# The KMS authorization webhook on loopback, with Debian's wrk (bench/README.md).
#   bench/bench_kms.sh BUILD_DIR [SECONDS]    (env BENCH_KMS_CONNECTIONS, default 32)
# Starts `kms-hook --quiet` on docs/auth-config.example.json's shape with 100 apps, then
# times POST /bootAuth/app (wrk: 2 threads, 32 keep-alive connections by default) for an app without
# a GPU rule and for one with a GPU rule whose request forwards gpuPolicyHash and a
# gpu-attestation payload (parsed per request). Each row first checks, with curl, that its
# request is allowed, so the rows time full decisions, not early denials. Prints
# requests/s and latency percentiles (wrk --latency). Never asserted.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/wrk.sh
. "$(dirname "$0")/lib/wrk.sh"
build=${1:?usage: bench_kms.sh BUILD_DIR [SECONDS]}
seconds=${2:-5}
connections=${BENCH_KMS_CONNECTIONS:-32}
cli=$build/tools/dstack-gpu-attest
bench_init bench_kms
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
[ -x "$cli" ] || die "build $build first"

hex() { printf "%0${2}d" 0 | tr 0 "$1"; }
OS=$(hex 1 64) COMPOSE=$(hex c 64) POLICY=$(hex 5 64)
# 100 apps, 4 compose hashes each; the benchmarked apps are the last two (a full scan).
perl -e '
    my ($os, $compose, $policy) = @ARGV;
    my @apps;
    for my $i (0 .. 97) {
        push @apps, sprintf("\"0x%040x\":{\"composeHashes\":[%s]}", $i,
            join(",", map { sprintf("\"0x%064x\"", $i * 4 + $_) } 0 .. 3));
    }
    push @apps, "\"0x" . ("a" x 40) . "\":{\"composeHashes\":[\"0x$compose\"]}";
    push @apps, "\"0x" . ("b" x 40) . "\":{\"composeHashes\":[\"0x$compose\"],\"gpu\":{"
        . "\"required\":true,\"gpus\":{\"exact\":8},\"gpuPolicyHashes\":[\"0x$policy\"]}}";
    print "{\"gatewayAppId\":\"gw\",\"osImages\":[\"0x$os\"],\"apps\":{" . join(",", @apps) . "}}\n";
' "$OS" "$COMPOSE" "$POLICY" >"$tmp/auth-config.json"

payload='{"version":2,"provider":"nvidia","devices":8,"cc_mode":"on","devtools":false,"evidence_sha256":"'$(hex 9 64)'"}'
request() { # APP [GPU]
    jq -c --arg app "$1" --arg p "$payload" --arg gpu "${2:-}" '
        .appId = $app | if $gpu == "" then . else .gpuAttestation = $p | .gpuPolicyHash = $gpu end' <<EOF
{"teeVariant":"dstack-tdx","mrAggregated":"$(hex e 64)","osImageHash":"$OS","mrSystem":"$(hex 2 64)",
 "appId":"","composeHash":"$COMPOSE","instanceId":"$(hex 4 40)","deviceId":"$(hex d 64)",
 "keyProviderInfo":"7b226e616d65223a226b6d73227d","tcbStatus":"UpToDate","advisoryIds":[]}
EOF
}
request "$(hex a 40)" >"$tmp/plain.json"
request "$(hex b 40)" "$POLICY" >"$tmp/gpu.json"

"$cli" kms-hook --listen 127.0.0.1:0 --config "$tmp/auth-config.json" --quiet >"$tmp/hook.log" 2>&1 &
pids+=($!)
port=$(wait_for "$tmp/hook.log" '\(port (\d+)\)')
url=http://127.0.0.1:$port/bootAuth/app
# A file written within the last 2 s is re-read and hashed on every request (docs/kms.md,
# Configuration changes): time the steady state, as a configuration is rarely written.
sleep 2.5

echo "dstack-gpu-attest bench_kms: $(bench_host)"
echo "wrk -t2 -c${connections} -d${seconds}s --latency, POST /bootAuth/app on loopback, 100 apps configured"
for kind in plain gpu; do
    allowed=$(curl -sf -H 'Content-Type: application/json' --data-binary "@$tmp/$kind.json" "$url" |
        jq -r .isAllowed)
    [ "$allowed" = true ] || die "the $kind request is not allowed"
    wrk_post_lua "$tmp/$kind.json" application/json >"$tmp/$kind.lua"
    case $kind in
    plain) label="without GPU rules" ;;
    gpu) label="with a GPU rule" ;;
    esac
    wrk_run -t2 -c"$connections" -d"${seconds}s" -s "$tmp/$kind.lua" "$url"
    wrk_row 18 "$label"
done
echo "target (issue 13): >= 5000 req/s with p99 < 5 ms"
