#!/usr/bin/env bash
# The nvattest drop-in (docs/nvattest.md) as dstack-util runs it: the fake NVML (scenario
# files), a PCI sysfs tree and nvattest.json, all built here. Every case asserts the exit
# status, the result code on stdout and the reason; a pass is put through dstack-util's
# own checks (dstack_util_checks.py) and measured the way dstack-util measures it (its
# gpu-attestation payload, evidence_sha256 of stdout, emitted into a simulated register
# and replayed). Every failure's stdout must still parse for dstack-util's error path.
# Usage: test_nvattest.sh PATH/TO/dstack-gpu-attest PATH/TO/libfake_nvml.so
set -u
bin=$1
fake=$2
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../rpc/lib.sh
. "$here/../rpc/lib.sh" # the fake NVML's world, as the RPC service's tests build it
rpc_test_init
checks() { python3 "$here/dstack_util_checks.py" "$@"; }

NONCE=4f1c2b3a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708
EMPTY_HASH=44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
pci_tree "$tmp/pci" 2
mkdir -p "$tmp/emptyrims" "$tmp/bin"
ln -s "$bin" "$tmp/bin/nvattest"
printf '{"version":1,"ocsp":"not-required"}' >"$tmp/policy.json"

export DGA_FAKE_NVML_SCENARIO=$tmp/scenario.json
export DSTACK_GPU_ATTEST_NVATTEST_CONFIG=$tmp/nvattest.json
config() { # EXTRA-JSON-MEMBERS (replacing none of the defaults)
    printf '{"rim_dir":"%s","nvml":"%s","sysfs_pci":"%s","test_device_root":"%s","verify_at":"2024-06-01T00:00:00Z"%s}\n' \
        "$H545/rims" "$fake" "$tmp/pci" "$fx/testpki/root.pem" "${1:+,$1}" >"$tmp/nvattest.json"
}
STDPOL="\"policy\":\"$tmp/policy.json\""
DSTACK=(attest --device gpu --verifier local --nonce "$NONCE" --format json)

# nv WANT NAME ARGS...: runs the drop-in; stdout in $tmp/out, stderr in $tmp/err
nv() {
    local want=$1 name=$2
    shift 2
    "$bin" nvattest "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        bad "$name: exit $rc, want $want: $(head -c 400 "$tmp/err")"
        return 1
    fi
    echo "ok   $name"
}
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[k]
print(json.dumps(d) if not isinstance(d,str) else d, end="")' "$tmp/out" "$@"; }
# refused NAME CODE MESSAGE [REASON]: the error path's JSON, the exact result code, the
# message in result_message and the reason (default: the message) on stderr
refused() {
    checks error "$tmp/out" || bad "$1: stdout does not parse for dstack-util's error path"
    [ "$(field result_code)" = "$2" ] || bad "$1: result_code $(field result_code), want $2"
    field result_message | grep -qF -- "$3" || bad "$1: result_message '$(field result_message)' lacks '$3'"
    grep -qF -- "${4:-$3}" "$tmp/err" || bad "$1: stderr lacks '${4:-$3}': $(head -c 300 "$tmp/err")"
    [ "$(tail -c 1 "$tmp/out" | od -An -c | tr -d ' ')" = '\n' ] || bad "$1: stdout does not end with a newline"
    [ -e "$tmp/ready.txt" ] && bad "$1: the ready state was touched"
    return 0
}

# ---- a pass, as dstack-util runs it ----
rm -f "$tmp/ready.txt"; scenario "$tmp/scenario.json" ""; config "$STDPOL"
if nv 0 "dstack-util's arguments: 2 GPUs pass" "${DSTACK[@]}"; then
    checks pass "$tmp/out" "$NONCE" 2 || bad "dstack-util's step-7 checks refuse the pass"
    [ "$(field nonce)" = "$NONCE" ] || bad "the bundle's nonce is not the caller's"
    [ "$(field gate dry_run)" = true ] || bad "not a dry run"
    [ "$(field verdict pass)" = true ] || bad "verdict"
    [ "$(field result_message)" = Ok ] || bad "result_message"
    [ "$(field gpu_policy_sha256)" = "$EMPTY_HASH" ] || bad "gpu_policy is not {}"
    [ "$(field gpu_policy_rego)" = null ] || bad "a rego without --relying-party-policy"
    [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["evidence"]))' "$tmp/out")" = 2 ] ||
        bad "raw evidence of 2 GPUs not in the output"
    [ -s "$tmp/err" ] && bad "stderr on a pass: $(cat "$tmp/err")"
    [ -e "$tmp/ready.txt" ] && bad "the drop-in touched the ready state (dstack-util sets it)"
    [ "$(tail -c 1 "$tmp/out" | od -An -c | tr -d ' ')" = '\n' ] || bad "no trailing newline"
    [ "$(grep -c '' "$tmp/out")" = 1 ] || bad "the bundle is not one line"
    cp "$tmp/out" "$tmp/pass.out"
fi

# dstack-util measures it: gpu-policy-hash ({} here), then gpu-attestation with its payload
if [ -f "$tmp/pass.out" ]; then
    checks payload "$tmp/pass.out" 2 >"$tmp/payload"
    sha=$(sha256sum "$tmp/pass.out" | cut -d' ' -f1)
    [ "$(cat "$tmp/payload")" = "{\"version\":2,\"provider\":\"nvidia\",\"devices\":2,\"cc_mode\":\"on\",\"devtools\":false,\"evidence_sha256\":\"$sha\"}" ] ||
        bad "dstack's payload: $(cat "$tmp/payload")"
    ev() { "$bin" events emit --backend "sim:$tmp/m/rtmr3.bin" --log-dir "$tmp/m/log" "$@" >/dev/null; }
    mkdir -p "$tmp/m/log"
    ev --digest-version 1 --name gpu-policy-hash --payload-hex "$EMPTY_HASH" || bad "emit gpu-policy-hash"
    ev --name gpu-attestation --payload-file "$tmp/payload" || bad "emit gpu-attestation"
    reg=$(od -An -tx1 "$tmp/m/rtmr3.bin" | tr -d ' \n')
    if "$bin" events replay "$tmp/m/log/runtime_events.log" --expect "$reg" >"$tmp/replay" 2>&1; then
        echo "ok   events replay of dstack's events over the drop-in's stdout"
    else
        bad "events replay: $(cat "$tmp/replay")"
    fi
    grep -F '"event":"gpu-attestation"' "$tmp/m/log/runtime_events.log" |
        sed 's/.*"payload":"\([^"]*\)".*/\1/' | base64 -d | grep -qF "\"evidence_sha256\":\"$sha\"" ||
        bad "the logged event does not commit to stdout"
fi

# collect-evidence --device gpu: nvattest's evidences wrapper, as collect serializes it
if nv 0 "collect-evidence --device gpu: 2 GPUs" collect-evidence --device gpu --nonce "$NONCE"; then
    [ "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["evidences"]), d["result_code"], d["result_message"], *sorted({e["nonce"] for e in d["evidences"]}))' "$tmp/out")" = "2 0 Ok $NONCE" ] ||
        bad "collect-evidence: $(head -c 300 "$tmp/out")"
    [ -s "$tmp/err" ] && bad "stderr on collect-evidence: $(cat "$tmp/err")"
fi

# the same program under the name nvattest (installed as /usr/bin/nvattest)
if "$tmp/bin/nvattest" "${DSTACK[@]}" >"$tmp/out" 2>"$tmp/err"; then
    checks pass "$tmp/out" "$NONCE" 2 && echo "ok   invoked as nvattest" || bad "invoked as nvattest: checks"
else
    bad "invoked as nvattest: exit $?: $(head -c 300 "$tmp/err")"
fi
"$tmp/bin/nvattest" attest --bogus >"$tmp/out" 2>"$tmp/err"
[ $? = 4 ] && refused "invoked as nvattest: unknown flag" 4 "unknown argument '--bogus'" ||
    bad "invoked as nvattest: unknown flag not exit 4"

# the nvattest flags and variables an operator uses, each honoured
nv 0 "--rim-store dir --rim-dir" "${DSTACK[@]}" --rim-store dir --rim-dir "$H545/rims" &&
    checks pass "$tmp/out" "$NONCE" 2
nv 0 "--rim-url: stated on stderr, RIMs from the store" "${DSTACK[@]}" --rim-url http://127.0.0.1:9 &&
    grep -qF "nvattest: RIM service http://127.0.0.1:9 not contacted: RIMs come from the store $H545/rims" "$tmp/err" ||
    bad "--rim-url note: $(cat "$tmp/err")"
NVAT_RIM_SERVICE_BASE_URL=http://127.0.0.1:7 nv 0 "NVAT_RIM_SERVICE_BASE_URL" "${DSTACK[@]}" &&
    grep -qF "RIM service http://127.0.0.1:7 not contacted" "$tmp/err" || bad "NVAT_RIM_SERVICE_BASE_URL note"
NV_ATTESTATION_SERVICE_KEY=secret nv 0 "NV_ATTESTATION_SERVICE_KEY accepted, unused" "${DSTACK[@]}" &&
    checks pass "$tmp/out" "$NONCE" 2
nv 0 "--log-level=debug, --flag=value form" attest --device=gpu --verifier=local "--nonce=$NONCE" --log-level=debug
nv 0 "no --nonce: a fresh one" attest --device gpu --verifier local
[ "$(field nonce | wc -c)" = 64 ] && [ "$(field nonce)" != "$NONCE" ] || bad "fresh nonce: $(field nonce)"
nv 0 "--help" --help
grep -qF "Usage: nvattest attest --device gpu --verifier local" "$tmp/out" || bad "--help text"

# --ocsp-url / NVAT_OCSP_BASE_URL: the responder the gate asks (online); nothing listens
# on port 9, so a policy that needs OCSP is refused for it (OCSP server error, 202)
config ""
nv 202 "--ocsp-url under the built-in policy: asked, unreachable" "${DSTACK[@]}" --ocsp-url http://127.0.0.1:9/ocsp
refused "--ocsp-url" 202 "could not be reached" \
    "nvattest: GPU-0 (0000:18:00.0): ocsp-device-chain: collateral-unreachable: "
[ "$(field collateral ocsp_source url)" = http://127.0.0.1:9/ocsp ] || bad "--ocsp-url not the source: $(field collateral ocsp_source)"
NVAT_OCSP_BASE_URL=http://127.0.0.1:9/env nv 202 "NVAT_OCSP_BASE_URL" "${DSTACK[@]}"
[ "$(field collateral ocsp_source url)" = http://127.0.0.1:9/env ] || bad "NVAT_OCSP_BASE_URL not the source"
config "$STDPOL,\"ocsp\":\"off\""
nv 4 "--ocsp-url against \"ocsp\": \"off\"" "${DSTACK[@]}" --ocsp-url http://127.0.0.1:9/ocsp
refused "--ocsp-url vs off" 4 "--ocsp-url http://127.0.0.1:9/ocsp contradicts \"ocsp\": \"off\" in $tmp/nvattest.json"
NVAT_OCSP_BASE_URL=http://127.0.0.1:9/env nv 4 "NVAT_OCSP_BASE_URL against \"ocsp\": \"off\"" "${DSTACK[@]}"
refused "NVAT_OCSP_BASE_URL vs off" 4 "--ocsp-url http://127.0.0.1:9/env contradicts"

# ---- refusals: non-zero, nvattest's code, stdout still JSON ----
config "$STDPOL"
scenario "$tmp/scenario.json" '"cc_feature":0'
nv 253 "CC off: 509" "${DSTACK[@]}" && refused "CC off" 509 "cc-mode: cc-off"
[ "$(field gate step)" = cc-mode ] || bad "CC off: step $(field gate step)"
scenario "$tmp/scenario.json" '"devtools_mode":1'
nv 253 "DEVTOOLS: 509" "${DSTACK[@]}" && refused "DEVTOOLS" 509 "cc-mode: cc-devtools"
scenario "$tmp/scenario.json" '"nonce_override":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"'
nv 248 "a report for another nonce: 504" "${DSTACK[@]}" && refused "wrong nonce" 504 "nonce mismatch"
scenario "$tmp/scenario.json" ""
nv 104 "a RIM missing from the store: 104" "${DSTACK[@]}" --rim-store dir --rim-dir "$tmp/emptyrims" &&
    refused "missing RIM" 104 "RIM not found" \
        "nvattest: GPU-0 (0000:18:00.0): driver-rim: rim-not-found: RIM not found: NV_GPU_DRIVER_GH100_545.00"
printf '{"version":1,"ocsp":"not-required","driver_versions":["550.90.07"]}' >"$tmp/driver550.json"
config "\"policy\":\"$tmp/driver550.json\""
nv 11 "the configured policy refuses: 11" "${DSTACK[@]}" && refused "policy" 11 \
    "Relying party policy mismatch" 'policy: x-nvidia-gpu-driver-version is "545.00", policy allows ["550.90.07"]'
config "$STDPOL"

# ---- --relying-party-policy: NVIDIA's examples by SHA-256, nothing else ----
printf 'package policy\ndefault nv_match := true\n' >"$tmp/mine.rego"
nv 45 "an unknown Rego file: 301" "${DSTACK[@]}" --relying-party-policy "$tmp/mine.rego" &&
    refused "unknown Rego" 301 "relying-party policy $tmp/mine.rego: not one of NVIDIA's example policies (SHA-256 $(sha256sum "$tmp/mine.rego" | cut -d' ' -f1))"
nv 45 "a missing Rego file: 301" "${DSTACK[@]}" --relying-party-policy "$tmp/none.rego" &&
    refused "missing Rego" 301 "relying-party policy $tmp/none.rego: No such file or directory"
# A path that is not UTF-8 cannot be a JSON string: the output keeps the code and the reason,
# the byte as '?' (not "out of memory", code 2); stderr has the bytes as given.
nv 45 "a missing Rego file whose name is not UTF-8: 301" "${DSTACK[@]}" \
    --relying-party-policy "$tmp/none"$'\xff'".rego" &&
    refused "non-UTF-8 path" 301 "relying-party policy $tmp/none?.rego: No such file or directory" \
        "relying-party policy $tmp/none"$'\xff'".rego: No such file or directory"
rego=$fx/policies/rp-policy-permissive.rego
nv 0 "rp-policy-permissive.rego: its document, after the configured policy" "${DSTACK[@]}" --relying-party-policy "$rego" &&
    checks pass "$tmp/out" "$NONCE" 2
[ "$(field gpu_policy_rego sha256)" = "$(sha256sum "$rego" | cut -d' ' -f1)" ] || bad "the Rego's SHA-256 not recorded"
[ "$(field gpu_policy_rego equivalent_policy sha256)" = "$(sha256sum "$src/policies/nvattest/rp-policy-permissive.json" | cut -d' ' -f1)" ] ||
    bad "the equivalent document's SHA-256 not recorded"
[ "$(field gpu_policy_rego equivalent_policy verdict pass)" = true ] || bad "the equivalent's verdict"
[ "$(field gpu_policy_rego equivalent_policy path)" = builtin:rp-policy-permissive.json ] ||
    bad "the equivalent's name: $(field gpu_policy_rego equivalent_policy path)"
# every example is known (its document's SHA-256 recorded); --ocsp-url asks for OCSP
# online, and with the responder on a closed port each is refused for it (202)
for doc in allow_gpu_driver_rim_cert_expired allow_gpu_driver_rim_cert_revoked \
    allow_gpu_driver_rim_cert_unknown allow_gpu_measurement_mismatch_index_7 \
    allow_trust_outpost_ocsp:trust_outpost rp-policy-permissive switch_relying_party_policy; do
    r=${doc%%:*} j=${doc##*:}
    "$bin" nvattest "${DSTACK[@]}" --relying-party-policy "$fx/policies/$r.rego" \
        --ocsp-url http://127.0.0.1:9/ocsp >"$tmp/out" 2>"$tmp/err"
    rc=$?
    want=$(sha256sum "$src/policies/nvattest/$j.json" | cut -d' ' -f1)
    if [ "$(field gpu_policy_rego equivalent_policy sha256 2>/dev/null)" != "$want" ]; then
        bad "$r.rego (exit $rc): equivalent not $j.json: $(head -c 300 "$tmp/err")"
    elif [ "$rc" != 202 ]; then
        bad "$r.rego: exit $rc, want 202: $(head -c 300 "$tmp/err")"
    else
        echo "ok   $r.rego known: $j.json"
    fi
    cmp -s "$src/policies/nvattest/$j.json" "$fx/policies/$j.json" ||
        bad "policies/nvattest/$j.json differs from the fixture documented in docs/policy.md"
done

# ---- usage errors: result code 4 (bad argument), exit 4, stdout still JSON ----
usage() { # NAME MESSAGE ARGS...
    local name=$1 msg=$2
    shift 2
    nv 4 "usage: $name" "$@" && refused "$name" 4 "$msg"
}
usage "unknown flag" "unknown argument '--bogus'" "${DSTACK[@]}" --bogus x
usage "abbreviated flag" "unknown argument '--dev'" attest --dev gpu --verifier local
usage "an operand" "unknown argument 'extra'" "${DSTACK[@]}" extra
usage "another command" "the commands are 'attest' and 'collect-evidence' (got 'verify')" verify --device gpu
usage "no command" "the commands are 'attest' and 'collect-evidence' (got '')"
usage "--device foo" "--device: 'foo' is not one of gpu, nvswitch" attest --device foo --verifier local
usage "no --device" "--device: '' is not one of gpu, nvswitch" attest --verifier local
usage "collect-evidence --verifier" "--verifier: attest's, not collect-evidence's" collect-evidence --device gpu --verifier local
usage "--verifier remote" "--verifier: only 'local'" attest --device gpu --verifier remote
usage "--format text" "--format: only 'json'" attest --device gpu --verifier local --format text
usage "short nonce" "--nonce: not 64 hex digits" attest --device gpu --verifier local --nonce abcd
usage "non-hex nonce" "--nonce: not 64 hex digits" attest --device gpu --verifier local --nonce "${NONCE%?}g"
usage "--nonce twice" "--nonce given twice" "${DSTACK[@]}" --nonce "$NONCE"
usage "missing value" "--log-level needs a value" "${DSTACK[@]}" --log-level
usage "empty value" "--ocsp-url: empty value" "${DSTACK[@]}" --ocsp-url=
usage "--log-level loud" "--log-level: 'loud' is not one of off" "${DSTACK[@]}" --log-level loud
usage "--rim-store remote" "--rim-store: only 'dir'" "${DSTACK[@]}" --rim-store remote --rim-dir /x
usage "--rim-dir alone" "--rim-store dir and --rim-dir DIR go together" "${DSTACK[@]}" --rim-dir /x
config "$STDPOL,\"event_backend\":\"tdx\""
usage "a measuring key in nvattest.json" "config $tmp/nvattest.json: key 'event_backend' is not the drop-in's" "${DSTACK[@]}"
config "$STDPOL,\"gpu_policy\":{}"
usage "gpu_policy in nvattest.json" "key 'gpu_policy' is not the drop-in's" "${DSTACK[@]}"
config "$STDPOL,\"ocsp_max_age\":-1"
usage "a malformed value" "config $tmp/nvattest.json: gate-config" "${DSTACK[@]}"
printf '{"rim_dir":"a","rim_dir":"b"}' >"$tmp/nvattest.json"
usage "duplicate keys" "config $tmp/nvattest.json: not a JSON object" "${DSTACK[@]}"
DSTACK_GPU_ATTEST_NVATTEST_CONFIG=$tmp/absent.json nv 2 "no config file: 2" "${DSTACK[@]}" &&
    refused "no config" 2 "config $tmp/absent.json: No such file or directory"
config "$STDPOL"
nv 4 "--log-level off: nothing on stderr" "${DSTACK[@]}" --bogus --log-level off
nv 4 "--log-level off after the error" "${DSTACK[@]}" --log-level off --bogus
scenario "$tmp/scenario.json" '"cc_feature":0'
nv 253 "--log-level off: a refusal" "${DSTACK[@]}" --log-level off && [ ! -s "$tmp/err" ] ||
    bad "--log-level off: stderr $(cat "$tmp/err")"
checks error "$tmp/out" || bad "--log-level off: stdout"

rpc_test_done "nvattest drop-in cases"
