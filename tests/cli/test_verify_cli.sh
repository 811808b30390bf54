#!/usr/bin/env bash
# verify, driven as a relying party would: dstack's real GetQuote fixture
# (tests/fixtures/dstack/quote-report.json) with the collateral of its FMSPC
# (tests/fixtures/tdx/tdx_quote_outdated_collateral.json, FMSPC 90C06F000000, current at
# 2026-03-01: the quote layer's own tests verify this quote UpToDate with it then), each
# outcome asserted by exit code and the exact reason, check or line.
#   test_verify_cli.sh BINARY
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cli_init "$1"
fx=${DGA_FIXTURES:-$here/../fixtures}

ATT=$fx/dstack/quote-report.json
COLL=$fx/tdx/tdx_quote_outdated_collateral.json
AT=2026-03-01T00:00:00Z
echo '{}' >"$tmp/none.json"
# GPUs required: the re-appraisal's RIM store must be named (it is loaded before the CVM's data).
echo "{\"gpu\":{\"required\":true,\"rim_dir\":\"$fx/gpu/h100_545.00/rims\"}}" >"$tmp/gpu.json"
echo '{"gpu":{"required":true}}' >"$tmp/gpu-no-rims.json"
echo '{"report_data":"5678"}' >"$tmp/challenge.json"

verify() { # WANT_RC NAME ARGS...: verify with the fixture's attestation and collateral
    local want=$1 name=$2
    shift 2
    run "$want" "$name" -- verify --attestation "$ATT" --collateral "$COLL" --at $AT "$@"
}
jq_is() { # FILTER WANT NAME: jq -r FILTER of out is WANT
    local got
    got=$(jq -r "$1" "$tmp/out" 2>&1)
    if [ "$got" != "$2" ]; then
        echo "FAIL $3: $1 is '$got', want '$2'"
        failures=$((failures + 1))
    fi
}

# The fixture's own values, taken from its event log (the payload of the first app-id,
# compose-hash and instance-id event before system-ready: dstack's find_event), to compare
# with what verify derives.
event() { jq -r '.event_log | fromjson | map(select(.imr == 3 and .event == "'"$1"'"))[0].event_payload' "$ATT"; }
APP_ID=$(event app-id)
COMPOSE=$(event compose-hash)
INSTANCE=$(event instance-id)
if [ "$APP_ID" != 3763bc34552cf3a27ff71ad5f7a90471562a1a2d ]; then
    echo "FAIL fixture app-id '$APP_ID'"
    failures=$((failures + 1))
fi

# ---- GPU not required: valid, with dstack's response shape
if verify 0 "fixture, GPU not required" --expect "$tmp/none.json" --json; then
    jq_is .is_valid true "is_valid"
    jq_is .reason null "reason"
    jq_is .details.quote_verified true "quote_verified"
    jq_is .details.event_log_verified true "event_log_verified"
    jq_is .details.tcb_status UpToDate "tcb_status"
    jq_is .details.app_info.app_id "$APP_ID" "app_id"
    jq_is .details.app_info.compose_hash "$COMPOSE" "compose_hash"
    jq_is .details.app_info.instance_id "$INSTANCE" "instance_id"
    jq_is .details.boot_info.appId "$APP_ID" "boot_info.appId"
    jq_is .details.boot_info.tcbStatus UpToDate "boot_info.tcbStatus"
    jq_is '.details.boot_info | has("gpuAttestation")' false "no gpuAttestation without the event"
    jq_is '.details.checks | map(.name + "=" + .status) | join(",")' \
        "quote=pass,tcb-status=pass,td-debug=pass,report-data=skipped,rtmr0-2-replay=pass,rtmr3-replay=pass,runtime-events=pass,boot-sequence=pass,registers=skipped,app=skipped,mr-system=skipped,mr-aggregated=skipped,os-image-hash=skipped,key-provider=skipped,gpu-attestation=skipped,gpu-policy-hash=skipped,gpu-bundle=skipped,gpu-reappraisal=skipped" \
        "check order"
    jq_is .details.quote.custom_root false "custom_root"
    jq_is .verified_at $AT "verified_at"
    jq_is .expectations_sha256 "$(sha256sum <"$tmp/none.json" | cut -d' ' -f1)" "expectations_sha256"
fi

# The same as the text view: one line per check, then the verdict.
if verify 0 "fixture, text view" --expect "$tmp/none.json"; then
    expect_count out 19 "text: 18 checks and a verdict"
    expect_line out "pass quote" "text: quote"
    expect_line out "pass rtmr3-replay" "text: rtmr3"
    expect_line out "skipped gpu-attestation" "text: gpu"
    expect_line out "valid" "text: verdict"
fi

# ---- GPU required: the fixture has no gpu-attestation event
if verify 1 "fixture, GPU required" --expect "$tmp/gpu.json" --json; then
    jq_is .is_valid false "gpu: is_valid"
    jq_is .reason "GPU verification failed: gpu-attestation: gpu-event-absent: no gpu-attestation event before system-ready (0 after it, ignored)" "gpu: reason"
    jq_is '.details.checks[] | select(.name == "gpu-attestation") | .error' gpu-event-absent "gpu: check"
    jq_is .details.gpu.required true "gpu: required"
    jq_is .details.gpu.verified false "gpu: verified"
    jq_is .details.event_log_verified true "gpu: the log still verified"
fi
if verify 1 "fixture, GPU required, text view" --expect "$tmp/gpu.json"; then
    expect_line out "fail gpu-attestation: gpu-event-absent: no gpu-attestation event before system-ready (0 after it, ignored)" "gpu text: check"
    expect_line out "not-run gpu-reappraisal" "gpu text: re-appraisal not run"
    expect_line out "invalid: GPU verification failed: gpu-attestation: gpu-event-absent: no gpu-attestation event before system-ready (0 after it, ignored)" "gpu text: verdict"
fi

# ---- a wrong challenge
if verify 1 "wrong report_data challenge" --expect "$tmp/challenge.json" --json; then
    jq_is .reason "Quote verification failed: report-data: report-data-mismatch: the quote's report_data is not the expected challenge" "challenge: reason"
    jq_is '.details.checks[] | select(.status == "fail") | .name' report-data "challenge: the one failed check"
fi
echo '{"report_data":"1234"}' >"$tmp/right.json"
verify 0 "the right challenge" --expect "$tmp/right.json"

# ---- the quote fails: a verdict, with the quote layer's error, the log still checked
if verify 1 "collateral expired" --expect "$tmp/none.json" --json --at 2026-03-21T00:00:00Z; then
    jq_is .reason "Quote verification failed: quote: quote-not-verified: tcb-info-expired: the TCB info nextUpdate is before the verification time (tcb_info)" "expired: reason"
    jq_is .details.quote.error tcb-info-expired "expired: quote.error"
    jq_is .details.event_log_verified true "expired: event_log_verified"
fi

# ---- --trusted-root: the root used is recorded
if verify 0 "trusted root (Intel's, named)" --expect "$tmp/none.json" --json \
    --trusted-root "$fx/roots/intel_sgx_root_ca.der"; then
    jq_is .details.quote.custom_root true "trusted root: custom_root"
    jq_is .details.quote.trusted_root "$fx/roots/intel_sgx_root_ca.der" "trusted root: path"
fi
verify 1 "trusted root (another)" --expect "$tmp/none.json" \
    --trusted-root "$fx/roots/nvidia_device_identity_ca.pem"

# ---- collateral from a directory (collateral fetch-tdx's layout)
mkdir -p "$tmp/cdir/tdx"
cp "$COLL" "$tmp/cdir/tdx/90C06F000000-platform.json"
run 0 "collateral directory" -- verify --attestation "$ATT" --collateral-dir "$tmp/cdir" \
    --expect "$tmp/none.json" --at $AT
run 2 "collateral directory without the entry" -- verify --attestation "$ATT" \
    --collateral-dir "$tmp/none-dir" --expect "$tmp/none.json" --at $AT &&
    expect err "quote-collateral-missing" "missing entry: named" &&
    expect err "$tmp/none-dir/tdx/90C06F000000-platform.json" "missing entry: path"
# ---- collateral from a PCCS: a fake one on 127.0.0.1 serving the same collateral split back
# into the answers a PCCS gives (tests/quote/fake_pccs.py, as the collateral fetch-tdx tests)
srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"' EXIT
python3 "$here/../quote/fake_pccs.py" split "$COLL" platform "$tmp/pccs"
python3 "$here/../quote/fake_pccs.py" serve "$tmp/pccs" "$tmp/port" "$tmp/log" 2>"$tmp/srv.err" &
srv=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
if [ -s "$tmp/port" ]; then
    run 0 "collateral from a PCCS" -- verify --attestation "$ATT" \
        --pccs-url "http://127.0.0.1:$(cat "$tmp/port")" --expect "$tmp/none.json" --at $AT
    kill "$srv" 2>/dev/null
    wait "$srv" 2>/dev/null
    srv=
    run 2 "the PCCS down" -- verify --attestation "$ATT" \
        --pccs-url "http://127.0.0.1:$(cat "$tmp/port")" --expect "$tmp/none.json" --at $AT &&
        expect err "collateral: collateral-" "PCCS down: named"
else
    echo "FAIL the fake PCCS did not start: $(cat "$tmp/srv.err")"
    failures=$((failures + 1))
fi
echo '{}' >"$tmp/coll-bad.json"
run 2 "collateral that does not parse" -- verify --attestation "$ATT" --collateral "$tmp/coll-bad.json" \
    --expect "$tmp/none.json" --at $AT && expect err "quote-collateral" "bad collateral: named"

# ---- the bundle: from a request's gpu_bundle or --gpu-bundle (RAW or GpuInfo), never both
printf '{}' >"$tmp/bundle"
BSHA=$(sha256sum <"$tmp/bundle" | cut -d' ' -f1)
jq -c '. + {gpu_bundle: "{}"}' "$ATT" >"$tmp/request.json"
jq -nc '{attestation: "{}"}' >"$tmp/gpuinfo.json"
run 1 "request with gpu_bundle" -- verify --attestation "$tmp/request.json" --collateral "$COLL" \
    --at $AT --expect "$tmp/gpu.json" --json && jq_is .details.gpu.bundle_sha256 "$BSHA" "request bundle sha"
verify 1 "--gpu-bundle RAW" --expect "$tmp/gpu.json" --json --gpu-bundle "$tmp/bundle" &&
    jq_is .details.gpu.bundle_sha256 "$BSHA" "raw bundle sha"
verify 1 "--gpu-bundle GpuInfo" --expect "$tmp/gpu.json" --json --gpu-bundle "$tmp/gpuinfo.json" &&
    jq_is .details.gpu.bundle_sha256 "$BSHA" "GpuInfo bundle sha"
run 2 "gpu_bundle and --gpu-bundle" -- verify --attestation "$tmp/request.json" --collateral "$COLL" \
    --at $AT --expect "$tmp/none.json" --gpu-bundle "$tmp/bundle" && expect err "--gpu-bundle" "both: said"

# ---- the CVM's input malformed: invalid
jq -c '. + {extra: 1}' "$ATT" >"$tmp/extra.json"
run 1 "attestation with an unknown member" -- verify --attestation "$tmp/extra.json" \
    --collateral "$COLL" --at $AT --expect "$tmp/none.json" --json &&
    jq_is .reason "Input verification failed: attestation: cvm-input: the attestation input is not a GetQuote response or verifier request (field unknown member)" "extra: reason"

# ---- usage and configuration: exit 2
run 2 "no options" -- verify
run 2 "no --expect" -- verify --attestation "$ATT" --collateral "$COLL"
run 2 "no collateral source" -- verify --attestation "$ATT" --expect "$tmp/none.json"
run 2 "two collateral sources" -- verify --attestation "$ATT" --expect "$tmp/none.json" \
    --collateral "$COLL" --collateral-dir "$tmp/cdir"
run 2 "an operand" -- verify --attestation "$ATT" --expect "$tmp/none.json" --collateral "$COLL" extra
run 2 "bad --at" -- verify --attestation "$ATT" --expect "$tmp/none.json" --collateral "$COLL" --at tomorrow
echo '{"colour":1}' >"$tmp/unknown.json"
verify 2 "expectations with an unknown key" --expect "$tmp/unknown.json" &&
    expect err "cvm-expectations" "unknown key: named"
verify 2 "GPUs required without a RIM store" --expect "$tmp/gpu-no-rims.json" &&
    expect err "gpu.rim_dir" "no RIM store: the key named"
echo "{\"gpu\":{\"required\":true,\"rim_dir\":\"$fx/gpu/h100_545.00/rims\",\"policy\":\"$tmp/absent.json\"}}" \
    >"$tmp/gpu-no-policy.json"
verify 2 "GPUs required, the policy unreadable" --expect "$tmp/gpu-no-policy.json" &&
    expect err "gpu.policy" "no policy: the key named"
run 2 "unknown option" -- verify --bogus
run 0 "--help" -- verify --help && expect out "Usage: dstack-gpu-attest verify" "help text"

# ---- I/O: exit 3
run 3 "attestation missing" -- verify --attestation "$tmp/missing.json" --expect "$tmp/none.json" \
    --collateral "$COLL"

cli_done "verify CLI tests"
