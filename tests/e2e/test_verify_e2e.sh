#!/usr/bin/env bash
# The end-to-end chain with no real TDX (issue 12, docs/verify.md): the gate runs on the
# fake NVML with the simulated register and the test device PKI; make_cvm.sh builds dstack's
# GetQuote response around it (a quote over that register, signed under the test Intel
# PKI, report_data the test's challenge) and the expectations; `verify` passes it with the
# bundle. Then each attack or misconfiguration, built from the generator with that one
# change, fails with its own named check and error: exit 1, `is_valid` false, the reason
# "<prefix>: <check>: <error>: <detail>", and the check's entry in details.checks.
# Before `verify` runs, every generated input is checked with the tools that exist: the
# quote verifies under the test Intel PKI with its collateral, its RTMR3 is the register
# the events were measured into, and `events replay` of the response agrees with the quote
# (and disagrees exactly where the case edits the log).
# A PPCIe CVM too: the gate in PPCIe mode on the fake 8 x 4 board (NVML and NSCQ fakes), its
# bundle re-appraised with the NVSwitches and the topology; each tampering fails by name.
#   test_verify_e2e.sh BINARY LIBFAKE_NVML MAKE_QUOTE LIBFAKE_NSCQ
set -uo pipefail
bin=$1
export DGA_BIN=$1 DGA_FAKE_NVML=$2 DGA_MAKE_QUOTE=$3 DGA_FAKE_NSCQ=$4
here=$(cd "$(dirname "$0")" && pwd)
export DGA_FIXTURES=${DGA_FIXTURES:-$here/../fixtures}
fx=$DGA_FIXTURES
mk=$here/make_cvm.sh
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

AT=2025-07-01T00:00:00Z # inside the synthetic collateral's window
DSTACK_UTIL_EVENTS=system-preparing,app-id,compose-hash,gpu-policy-hash,gpu-attestation,instance-id,boot-mr-done,key-provider,system-ready
EVENTS_DSTACK=system-preparing,app-id,compose-hash,instance-id,boot-mr-done,key-provider,system-ready
ATTEST_GPU_HASH=81f5d3ad40653341232238c4ca656bddddc297d6382ae2ab391e4bb36dd80b66 # {"attest_gpu":true}
# What the re-appraisal's failure is named (the callback's error: docs/verify.md).
hex_of() { od -An -v -tx1 | tr -d ' \n'; }

# ---- the CVMs --------------------------------------------------------------------------
"$mk" setup "$tmp" || { echo "FAIL make_cvm.sh setup"; exit 1; }
"$mk" gate "$tmp" a 2 || { echo "FAIL gate run a"; exit 1; }
"$mk" gate "$tmp" b 2 || { echo "FAIL gate run b (the copy attack's other CVM)"; exit 1; }
"$mk" gate "$tmp" one 1 || { echo "FAIL gate run with 1 GPU"; exit 1; }
"$mk" gate "$tmp" devtools 2 1 || { echo "FAIL gate run in DEVTOOLS mode"; exit 1; }
A=$tmp/a

# cvm NAME GATE [make_cvm.sh cvm options]: builds $tmp/cases/NAME and checks it with the
# existing tools: the quote verifies (UpToDate) under the test Intel PKI, and its RTMR3
# is the register the events went into. REPLAY_RC: what `events replay` of the response
# must give (0: every RTMR of the log equals the quote's; 1: the log was edited).
cvm() {
    local name=$1 gate=$2 d=$tmp/cases/$1
    shift 2
    "$mk" cvm "$tmp" "$gate" "$d" "$@" || { fail "$name: make_cvm.sh cvm"; return 1; }
    "$bin" quote verify "$d/quote.bin" --collateral "$tmp/collateral.json" \
        --trusted-root "$tmp/pki/root.der" --at $AT --json >"$d/quote_verify.json" 2>/dev/null ||
        fail "$name: quote verify: $(head -c 300 "$d/quote_verify.json")"
    [ "$(jq -r .status "$d/quote_verify.json")" = UpToDate ] || fail "$name: quote status"
    "$bin" quote inspect "$d/quote.bin" --json >"$d/quote_inspect.json" 2>/dev/null ||
        fail "$name: quote inspect"
    [ "$(jq -r .td_report.rt_mr3 "$d/quote_inspect.json")" = "$(hex_of <"$d/rtmr3.bin")" ] ||
        fail "$name: the quote's RTMR3 is not the register"
    [ "$(jq -r .td_report.report_data "$d/quote_inspect.json")" = "$(jq -r .report_data "$d/attestation.json")" ] ||
        fail "$name: the response's report_data is not the quote's"
    "$bin" events replay "$d/attestation.json" >"$d/replay.out" 2>&1
    local rc=$?
    [ "$rc" = "${REPLAY_RC:-0}" ] || fail "$name: events replay of the response: exit $rc, want ${REPLAY_RC:-0}: $(cat "$d/replay.out")"
}
names() { jq -r '.event_log | fromjson | map(select(.imr == 3) | .event) | join(",")' "$1"; }

# The pass case, checked in more depth: the register is the gate's, extended by dstack's
# events; the log's first two runtime lines are the gate's own; the delivered log lists the
# events in dstack's order with the gate's at the gate's position; the bundle is the one the
# event committed to.
cvm pass "$A"
P=$tmp/cases/pass
cmp -s <(head -2 "$P/boot/log/runtime_events.log") "$A/log/runtime_events.log" ||
    fail "pass: the gate's log lines are not the first two"
"$bin" events replay "$P/boot/log/runtime_events.log" --expect "$(hex_of <"$P/rtmr3.bin")" >/dev/null 2>&1 ||
    fail "pass: the register is not the replay of the gate's and dstack's log"
"$bin" events replay "$A/log/runtime_events.log" --expect "$(hex_of <"$A/rtmr3.bin")" >/dev/null 2>&1 ||
    fail "pass: the gate's register is not the replay of its log"
[ "$(names "$P/attestation.json")" = "gpu-policy-hash,gpu-attestation,$EVENTS_DSTACK" ] ||
    fail "pass: runtime events $(names "$P/attestation.json")"
[ "$(jq -r '.event_log | fromjson | map(select(.imr < 3)) | length' "$P/attestation.json")" = 20 ] ||
    fail "pass: boot events"
[ "$(jq -r .evidence_sha256 "$A/gpa.json")" = "$(sha256sum "$P/bundle.json" | cut -d' ' -f1)" ] ||
    fail "pass: evidence_sha256 is not the bundle's"
jq -e '.verdict.pass == true and .trust_roots.device == "test" and (.evidence | length) == 2' \
    "$P/bundle.json" >/dev/null || fail "pass: the bundle's own verdict"

# The gate's events at dstack's own position (a GPU step inside dstack's setup) pass too.
cvm dstack-position "$A" --events system-preparing,app-id,compose-hash,gpu-policy-hash,gpu-attestation,instance-id,boot-mr-done,key-provider,system-ready

# The bundle changed by one byte: its verified_at one second later (the JSON stays valid).
cvm byte "$A"
perl -0777 -pi -e 's/"verified_at":"2024-06-01T00:00:00Z"/"verified_at":"2024-06-01T00:00:01Z"/ or die' \
    "$tmp/cases/byte/bundle.json" || fail "byte: edit"
[ "$(cmp -l "$A/run/evidence.json" "$tmp/cases/byte/bundle.json" | wc -l)" = 1 ] ||
    fail "byte: not exactly one byte changed"

# Copy attack: CVM a's quote and log with the bundle of b, another boot's genuine gate run.
cvm copy "$A" --bundle "$tmp/b/run/evidence.json"
[ "$(jq -r .nonce "$tmp/b/run/evidence.json")" != "$(jq -r .nonce "$A/run/evidence.json")" ] ||
    fail "copy: the two gate runs drew the same nonce"
jq -e '.verdict.pass == true' "$tmp/b/run/evidence.json" >/dev/null || fail "copy: b's bundle is not a pass"

# Two gpu-attestation events: the gate's, and the same payload again at dstack's position.
cvm two-events "$A" --events gate,system-preparing,app-id,compose-hash,gpu-attestation,instance-id,boot-mr-done,key-provider,system-ready

# The gpu-attestation event only after system-ready (the policy hash still at the gate's place).
cvm after-ready "$A" --events gpu-policy-hash,$EVENTS_DSTACK,gpu-attestation

# The event present in the log, but the log edited: the boot measured no gate events (the
# gate never ran), the delivered log lists them; the recorded digests are right, the replay
# is not the quoted RTMR3.
REPLAY_RC=1 cvm edited "$A" --events $EVENTS_DSTACK --log-events gpu-policy-hash,gpu-attestation,$EVENTS_DSTACK
grep -qF 'rtmr-mismatch' "$tmp/cases/edited/replay.out" || fail "edited: events replay: $(cat "$tmp/cases/edited/replay.out")"

# The same CVM as pass under other expectations (the gpu_policy hash, the trust roots).
cvm policy "$A"
cvm roots "$A"
cvm nobundle "$A"

# One GPU where two are expected; DEVTOOLS on (the gate allowed it, the relying party not).
cvm one-gpu "$tmp/one"
cvm devtools "$tmp/devtools"
jq -e '.devices == 1' "$tmp/one/gpa.json" >/dev/null || fail "one-gpu: the event's devices"
jq -e '.devtools == true' "$tmp/devtools/gpa.json" >/dev/null || fail "devtools: the event's devtools"

# One bit of GPU-1's report flipped (a measurement byte, not the nonce or the signature), the
# bundle re-hashed into a re-emitted gpu-attestation: the bundle's verdict still says pass,
# and every binding holds, so only the re-appraisal of the raw evidence can catch it.
perl -0777 -pe 'my $n = 0;
    s{("report":")([0-9a-f]+)}{ my ($k, $h) = ($1, $2);
        if ($n++ == 1) { my $i = 2 * 200; substr($h, $i, 1) = sprintf("%x", hex(substr($h, $i, 1)) ^ 1) }
        $k . $h }ge; die "no second report\n" unless $n == 2' "$A/run/evidence.json" >"$tmp/flipped.json" ||
    fail "flip: edit"
[ "$(cmp -l "$A/run/evidence.json" "$tmp/flipped.json" | wc -l)" = 1 ] || fail "flip: not one hex digit"
"$mk" rehash "$tmp/flipped.json" "$A/gpa.json" "$tmp/flipped_gpa.json" || fail "flip: rehash"
cvm flip "$A" --events gpu-policy-hash,gpu-attestation,$EVENTS_DSTACK --bundle "$tmp/flipped.json" \
    --gpa-payload "$tmp/flipped_gpa.json"
# The flip is in the signed report: the genuine report verifies, the flipped one does not.
report_check() { # BUNDLE WANT_RC NAME
    jq -r '.evidence[1].report' "$1" >"$tmp/report.hex"
    jq -r '.evidence[1].certificate_chain' "$1" >"$tmp/chain.pem"
    "$bin" evidence verify --report "$tmp/report.hex" --cert-chain "$tmp/chain.pem" --arch hopper \
        --nonce "$(jq -r .nonce "$1")" --at 2024-06-01T00:00:00Z --trust-root "$fx/testpki/root.pem" \
        >/dev/null 2>&1
    local rc=$?
    [ "$rc" = "$2" ] || fail "$3: evidence verify of GPU-1's report: exit $rc, want $2"
}
report_check "$A/run/evidence.json" 0 "flip (genuine)"
report_check "$tmp/flipped.json" 1 "flip (flipped)"

# GPU facts in report_data and no gpu-attestation event: the bundle's SHA-256 and nonce as
# the application's report_data, which the relying party even expects; never read as GPU facts.
FACTS=$(jq -r .evidence_sha256 "$A/gpa.json")$(jq -r .nonce "$A/run/evidence.json")
cvm facts "$A" --events $EVENTS_DSTACK --report-data "$FACTS"

# Unmodified dstack with the nvattest drop-in as /usr/bin/nvattest (docs/nvattest.md): no
# gate; dstack-util runs the drop-in, commits SHA-256 of its stdout in its own payload
# (which names no trust root and counts no NVSwitches: the committed bundle's stand for
# them) and its own gpu-policy-hash, at its own place in the boot sequence.
"$mk" dstack-util "$tmp" du 2 || { echo "FAIL make_cvm.sh dstack-util"; exit 1; }
cvm du "$tmp/du" --events "$DSTACK_UTIL_EVENTS"
[ "$(names "$tmp/cases/du/attestation.json")" = "$DSTACK_UTIL_EVENTS" ] ||
    fail "du: runtime events $(names "$tmp/cases/du/attestation.json")"
jq -e --arg n "$(cat "$tmp/du/nonce.hex")" '.result_code == 0 and .nonce == $n and .verdict.pass == true
    and (.evidence | length) == 2 and .trust_roots.device == "test"' "$tmp/du/run/evidence.json" \
    >/dev/null || fail "du: the drop-in's stdout is not a passing bundle on dstack-util's nonce"
# The same JSON re-serialised as nvattest indents it (a relay that re-encodes what GpuInfo
# served): equal as JSON, not the bytes that were committed.
cvm du-reformatted "$tmp/du" --events "$DSTACK_UTIL_EVENTS"
jq --indent 4 . "$tmp/du/run/evidence.json" >"$tmp/cases/du-reformatted/bundle.json"
cmp -s "$tmp/du/run/evidence.json" "$tmp/cases/du-reformatted/bundle.json" &&
    fail "du-reformatted: the re-serialised bundle is byte-identical"
# NVIDIA's own nvattest behind unmodified dstack: its stdout (claims, no raw evidence) is
# committed correctly, but nothing in it can be re-appraised.
mkdir -p "$tmp/nv"
cp "$fx/dstack/nvattest_output_h100.json" "$tmp/nv/stdout.json"
printf '%s' "$ATTEST_GPU_HASH" >"$tmp/nv/gph.hex"
printf '{"version":2,"provider":"nvidia","devices":1,"cc_mode":"on","devtools":false,"evidence_sha256":"%s"}' \
    "$(sha256sum "$tmp/nv/stdout.json" | cut -d' ' -f1)" >"$tmp/nv/gpa.json"
cvm du-nvidia-nvattest "$tmp/nv" --events "$DSTACK_UTIL_EVENTS" --gpa-payload "$tmp/nv/gpa.json" \
    --bundle "$tmp/nv/stdout.json"

# A wrong challenge: the quote (and the response) carry another report_data.
cvm challenge "$A" --report-data "$(printf '%s' 'another challenge' | openssl dgst -sha512 -r | cut -d' ' -f1)"

# A PPCIe CVM: the gate in PPCIe mode on the fake 8 x 4 board, its bundle listing 8 GPUs then
# 4 NVSwitches (each with its NSCQ tnvl_status), its payload cc_mode "ppcie", nvswitches 4.
"$mk" gate-ppcie "$tmp" pp || { echo "FAIL gate run in PPCIe mode"; exit 1; }
PP=$tmp/pp
jq -e '.devices == 8 and .nvswitches == 4 and .cc_mode == "ppcie"' "$PP/gpa.json" >/dev/null ||
    fail "ppcie: the gate's payload: $(cat "$PP/gpa.json")"
jq -e '.gate.mode == "ppcie" and .mode == "ppcie" and .topology.result == "pass"
    and ([.evidence[8:][] | .tnvl_status] == [3, 3, 3, 3])' "$PP/run/evidence.json" >/dev/null ||
    fail "ppcie: the gate's bundle"
cvm ppcie "$PP"
# One hex digit of SWITCH-1's report flipped: not re-committed (the digest), then re-committed
# in a re-emitted gpu-attestation (only the re-appraisal of the switch's signature sees it).
perl -0777 -pe 's#("label":"SWITCH-1"[^}]*?"report":")([0-9a-f]{400})# my ($k, $h) = ($1, $2);
    substr($h, 399, 1) = sprintf("%x", hex(substr($h, 399, 1)) ^ 1); $k . $h #e or die' \
    "$PP/run/evidence.json" >"$tmp/pp_switch.json" || fail "ppcie-switch: edit"
[ "$(cmp -l "$PP/run/evidence.json" "$tmp/pp_switch.json" | wc -l)" = 1 ] || fail "ppcie-switch: not one hex digit"
cvm ppcie-switch "$PP" --bundle "$tmp/pp_switch.json"
"$mk" rehash "$tmp/pp_switch.json" "$PP/gpa.json" "$tmp/pp_switch_gpa.json" || fail "ppcie-switch: rehash"
cvm ppcie-switch-rehashed "$PP" --events gpu-policy-hash,gpu-attestation,$EVENTS_DSTACK \
    --bundle "$tmp/pp_switch.json" --gpa-payload "$tmp/pp_switch_gpa.json"
# The payload's NVSwitch count changed, re-measured: 3, the bundle lists 4.
perl -pe 's/"nvswitches":4,/"nvswitches":3,/ or die' "$PP/gpa.json" >"$tmp/pp_sw3_gpa.json" ||
    fail "ppcie-nvswitches: edit"
cvm ppcie-nvswitches "$PP" --events gpu-policy-hash,gpu-attestation,$EVENTS_DSTACK \
    --gpa-payload "$tmp/pp_sw3_gpa.json"
# SWITCH-2's tnvl_status -1 (NSCQ: unknown) in the bundle, re-committed consistently.
perl -0777 -pe 's#("label":"SWITCH-2"[^}]*?"tnvl_status":)3#${1}-1# or die' "$PP/run/evidence.json" \
    >"$tmp/pp_tnvl.json" || fail "ppcie-tnvl: edit"
"$mk" rehash "$tmp/pp_tnvl.json" "$PP/gpa.json" "$tmp/pp_tnvl_gpa.json" || fail "ppcie-tnvl: rehash"
cvm ppcie-tnvl "$PP" --events gpu-policy-hash,gpu-attestation,$EVENTS_DSTACK \
    --bundle "$tmp/pp_tnvl.json" --gpa-payload "$tmp/pp_tnvl_gpa.json"
# A CC payload ("on") committing to the PPCIe bundle, re-measured.
perl -pe 's/"cc_mode":"ppcie"/"cc_mode":"on"/ or die' "$PP/gpa.json" >"$tmp/pp_cc_gpa.json" ||
    fail "ppcie-cc-payload: edit"
cvm ppcie-cc-payload "$PP" --events gpu-policy-hash,gpu-attestation,$EVENTS_DSTACK \
    --gpa-payload "$tmp/pp_cc_gpa.json"

# ---- verify ----------------------------------------------------------------------------
if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s) in the generated inputs"
    exit 1
fi

# verify NAME [EXPECT-JQ-FILTER] [-- extra verify options]: runs verify --json on the case's
# files, the expectations being the case's own after the filter. --no-bundle: no --gpu-bundle.
verify() {
    local name=$1 filter=${2:-.} d=$tmp/cases/$1
    shift $(($# >= 2 ? 2 : 1))
    local bundle=(--gpu-bundle "$d/bundle.json")
    if [ "${1:-}" = --no-bundle ]; then
        bundle=()
        shift
    fi
    jq "$filter" "$d/expect.json" >"$d/expect-case.json" || { fail "$name: expectations filter"; return; }
    "$bin" verify --attestation "$d/attestation.json" "${bundle[@]}" --expect "$d/expect-case.json" \
        --collateral "$tmp/collateral.json" --trusted-root "$tmp/pki/root.der" --at $AT --json \
        "$@" >"$d/out.json" 2>"$d/err"
    echo $? >"$d/rc"
}

# passes NAME [FILTER]: exit 0, is_valid, no reason, every check passed or skipped, the
# GPU checks (re-appraisal included) passed.
passes() {
    local d=$tmp/cases/$1
    verify "$@"
    if [ "$(cat "$d/rc")" != 0 ] ||
        ! jq -e '.is_valid == true and .reason == null
            and all(.details.checks[]; .status == "pass" or .status == "skipped")
            and ([.details.checks[] | select(.name | startswith("gpu-")) | .status] | unique) == ["pass"]
            and ([.details.checks[] | select(.name | IN("gpu-attestation", "gpu-policy-hash", "gpu-bundle", "gpu-reappraisal"))] | length) == 4' \
            "$d/out.json" >/dev/null; then
        fail "$1: exit $(cat "$d/rc"), want 0: $(head -c 600 "$d/out.json") $(head -c 300 "$d/err")"
        return
    fi
    echo "ok   $1"
}

# fails NAME CHECK ERROR DETAIL [FILTER] [-- verify options]: exit 1, not valid, the reason
# "<dstack's prefix for the check>: CHECK: ERROR: DETAIL..." (DETAIL a prefix of the detail),
# and that check failed with that error in details.checks.
fails() {
    local name=$1 check=$2 err=$3 detail=$4 d=$tmp/cases/$1 prefix
    shift 4
    case $check in
    quote | tcb-status | td-debug | report-data) prefix="Quote verification failed" ;;
    registers | os-image-hash) prefix="OS image hash verification failed" ;;
    gpu-*) prefix="GPU verification failed" ;;
    *) prefix="Event log verification failed" ;;
    esac
    verify "$name" "$@"
    local rc reason
    rc=$(cat "$d/rc")
    reason=$(jq -r .reason "$d/out.json" 2>/dev/null)
    if [ "$rc" != 1 ] || [ "$(jq -r .is_valid "$d/out.json" 2>/dev/null)" != false ]; then
        fail "$name: exit $rc, want 1 and is_valid false: $(head -c 400 "$d/out.json") $(head -c 300 "$d/err")"
        return
    fi
    case $reason in
    "$prefix: $check: $err: $detail"*) ;;
    *)
        fail "$name: reason '$reason', want '$prefix: $check: $err: $detail...'"
        return
        ;;
    esac
    jq -e --arg c "$check" --arg e "$err" \
        '[.details.checks[] | select(.name == $c)] | length == 1 and .[0].status == "fail" and .[0].error == $e' \
        "$d/out.json" >/dev/null || {
        fail "$name: details.checks[$check]: $(jq -c --arg c "$check" '.details.checks[] | select(.name == $c)' "$d/out.json")"
        return
    }
    echo "ok   $name: $check: $err"
}

passes pass
passes dstack-position
fails byte gpu-bundle gpu-bundle-digest "bundle sha256 "
fails copy gpu-bundle gpu-bundle-digest "bundle sha256 "
fails two-events boot-sequence event-duplicate "event 26: gpu-attestation more than 1 time(s)"
fails after-ready gpu-attestation gpu-event-absent "no gpu-attestation event before system-ready (1 after it, ignored)"
fails edited rtmr3-replay rtmr-mismatch "RTMR3 mismatch, quoted: $(hex_of <"$tmp/cases/edited/rtmr3.bin"), replayed: "
fails policy gpu-policy-hash value-not-allowed \
    "gpu-policy-hash 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a not allowed" \
    ".gpu.gpu_policy_hashes = [\"$ATTEST_GPU_HASH\"]"
fails one-gpu gpu-attestation gpu-devices "devices 1, expected exactly 2"
fails devtools gpu-attestation gpu-devtools "devtools true, not allowed"
fails roots gpu-attestation gpu-trust-roots 'trust roots "test" not allowed' \
    '.gpu.trust_roots = ["nvidia"] | del(.gpu.test_device_root)'
# The guest's bundle said pass; only our re-appraisal sees GPU-1's report signature fail.
fails flip gpu-reappraisal signature-invalid "GPU-1: signature: signature-invalid: "
grep -qF 'GPU-1' <(jq -r '.details.checks[] | select(.name == "gpu-reappraisal") | .detail' "$tmp/cases/flip/out.json") ||
    fail "flip: the re-appraisal's detail does not name GPU-1: $(jq -r .reason "$tmp/cases/flip/out.json")"
fails facts gpu-attestation gpu-event-absent "no gpu-attestation event before system-ready (0 after it, ignored)" \
    ".report_data = \"$FACTS\""
fails challenge report-data report-data-mismatch ""
fails nobundle gpu-bundle gpu-bundle-absent "no GPU evidence bundle given" . --no-bundle
DU_POLICY=".gpu.gpu_policy_hashes = [\"$ATTEST_GPU_HASH\"]"
passes du "$DU_POLICY"
jq -e '.details.gpu.devices | length == 2' "$tmp/cases/du/out.json" >/dev/null ||
    fail "du: the re-appraisal's devices: $(jq -c .details.gpu "$tmp/cases/du/out.json")"
fails du-reformatted gpu-bundle gpu-bundle-digest "bundle sha256 " "$DU_POLICY"
fails du-nvidia-nvattest gpu-bundle gpu-trust-roots \
    "neither the event nor the bundle names a device trust root" "$DU_POLICY | .gpu.gpus.exact = 1"

# The PPCIe CVM: its RIMs (GPUs and NVSwitches), the gate's policy, 8 GPUs and 4 NVSwitches.
PPX=".gpu.mode = \"ppcie\" | .gpu.gpus = {exact: 8} | .gpu.nvswitches = {exact: 4}
    | .gpu.rim_dir = \"$PP/rims\"
    | .gpu.policy = \"$fx/policies/offline_expired_rim_signers.json\""
passes ppcie "$PPX"
jq -e '.details.gpu.mode == "ppcie" and .details.gpu.topology.result == "pass"
    and .details.gpu.topology.gpus == 8 and .details.gpu.topology.nvswitches == 4
    and .details.gpu.payload.nvswitches == 4 and .details.gpu.payload.cc_mode == "ppcie"
    and ([.details.gpu.devices[] | select(.pass) | .label] | length) == 12
    and ([.details.gpu.devices[] | select(.arch == "ls10")] | length) == 4' \
    "$tmp/cases/ppcie/out.json" >/dev/null ||
    fail "ppcie: details.gpu: $(jq -c '.details.gpu | del(.devices)' "$tmp/cases/ppcie/out.json")"
# The same CVM refused under the default gpu.mode (cc): PPCIe only when the relying party asks.
fails ppcie gpu-attestation gpu-cc-mode "cc_mode \"ppcie\" is not allowed (gpu.mode cc)" \
    "$PPX | del(.gpu.mode)"
# The same CVM refused under expectations of a CC board (no NVSwitch).
fails ppcie gpu-attestation gpu-devices "nvswitches 4, expected exactly 0" \
    "$PPX | .gpu.nvswitches = {exact: 0}"
fails ppcie-switch gpu-bundle gpu-bundle-digest "bundle sha256 " "$PPX"
fails ppcie-switch-rehashed gpu-reappraisal signature-invalid "SWITCH-1" "$PPX"
fails ppcie-nvswitches gpu-bundle gpu-bundle-mismatch \
    "the bundle's device lists are not the event's device count" "$PPX | del(.gpu.nvswitches)"
fails ppcie-tnvl gpu-reappraisal topology-switch-not-locked \
    "topology: topology-switch-not-locked: SWITCH-2 NSCQ pcie_mode is -1, expected 3 (LOCKED)" "$PPX"
# Each device passed its own appraisal: its entry names the set's topology, not "policy".
jq -e '[.details.gpu.devices[] | select(.pass == false and .failed_check == "topology"
    and .error == "topology-switch-not-locked")] | length == 12' \
    "$tmp/cases/ppcie-tnvl/out.json" >/dev/null ||
    fail "ppcie-tnvl: devices: $(jq -c '[.details.gpu.devices[] | [.label, .failed_check, .error]]' \
        "$tmp/cases/ppcie-tnvl/out.json")"
fails ppcie-cc-payload gpu-bundle gpu-mode \
    "the event says cc_mode \"on\", the bundle was appraised in PPCIe mode" "$PPX | .gpu.mode = \"any\""

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "verify end to end: all passed"
