#!/usr/bin/env bash
# A server's systemd unit (the proxy's, the verifier's) passes `systemd-analyze verify`
# and keeps its hardening.
#   test_unit_file.sh UNIT PROGRAM [COMMAND [EXTRA_SETTING...]]
# COMMAND (default proxy) is the subcommand whose --help must know ExecStart's flags;
# each EXTRA_SETTING (default the proxy's CacheDirectory) must also be in the unit.
# verify checks that ExecStart's program exists, so the unit is checked with its path
# replaced by the freshly built program.
set -uo pipefail
unit=$1
bin=$2
command=${3:-proxy}
if [ $# -gt 3 ]; then
    extra=("${@:4}")
elif [ "$command" = proxy ]; then
    extra=(CacheDirectory=dstack/nvidia-attest-proxy)
else
    extra=()
fi
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze is required"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
sed "s#/usr/bin/dstack-gpu-attest#$bin#" "$unit" >"$tmp/$(basename "$unit")"
if SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/$(basename "$unit")" \
    >"$tmp/out" 2>&1 && ! grep -q "$(basename "$unit")" "$tmp/out"; then
    echo "ok   systemd-analyze verify"
else
    echo "FAIL systemd-analyze verify:"; sed 's/^/  /' "$tmp/out"
    failures=$((failures + 1))
fi
for want in NoNewPrivileges=yes ProtectSystem=strict DynamicUser=yes CapabilityBoundingSet= \
    PrivateDevices=yes SystemCallFilter=@system-service MemoryDenyWriteExecute=yes \
    RestrictAddressFamilies= DynamicUser=yes "${extra[@]}"; do
    if grep -q "^$want" "$unit"; then echo "ok   $want"; else
        echo "FAIL $want missing"; failures=$((failures + 1)); fi
done
# systemd's own exposure score (0 = locked down, 10 = none): at most 2.0 ("OK").
if systemd-analyze security --offline=true --threshold=20 "$tmp/$(basename "$unit")" >"$tmp/sec" 2>&1; then
    echo "ok   systemd-analyze security: $(grep -o 'exposure level.*' "$tmp/sec")"
else
    echo "FAIL systemd-analyze security above 2.0:"; tail -n 3 "$tmp/sec" | sed 's/^/  /'
    failures=$((failures + 1))
fi
# The command line in the unit is one the program accepts.
exec_args=$(sed -n 's#^ExecStart=/usr/bin/dstack-gpu-attest ##p' "$unit")
if [ -z "$exec_args" ]; then
    echo "FAIL no ExecStart"; failures=$((failures + 1))
fi
"$bin" "$command" --help >"$tmp/help"
for flag in $(printf '%s\n' "$exec_args" | grep -o -- '--[a-z-]*'); do
    if grep -q -- "  $flag " "$tmp/help"; then echo "ok   ExecStart flag $flag"; else
        echo "FAIL ExecStart flag $flag unknown to the program"; failures=$((failures + 1)); fi
done
[ "$failures" -eq 0 ] || exit 1
