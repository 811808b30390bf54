#!/usr/bin/env bash
# Short fuzzing run of every libFuzzer target, for CI (`make fuzz-smoke`, `make check`).
#   fuzz/run-smoke.sh [BUILD_DIR]     (default build-fuzz, configured with -DDGA_FUZZ=ON)
# Env: FUZZ_SECONDS per target (default 30), FUZZ_TARGETS to run a subset.
# The targets are those of fuzz/targets.txt (fuzz/README.md).
# Seeds come from tests/fixtures and are written to BUILD_DIR/corpus/<target>/, which
# libFuzzer then grows; crash/leak/timeout/oom inputs land in BUILD_DIR/artifacts/<target>/.
# Fails if any target reports a crash, leak, timeout, OOM or sanitizer error.
set -euo pipefail

cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${FUZZ_SECONDS:-30}
# The target names: the first field of each line of fuzz/targets.txt that is not a comment.
all_targets=()
while read -r name _; do
    case $name in '' | '#'*) continue ;; esac
    all_targets+=("$name")
done <fuzz/targets.txt
# shellcheck disable=SC2206 # word splitting of FUZZ_TARGETS is intended
targets=(${FUZZ_TARGETS:-${all_targets[*]}})
fixtures=tests/fixtures
corpus=$build/corpus
artifacts=$build/artifacts
logs=$build/logs

die() {
    echo "run-smoke.sh: $*" >&2
    exit 1
}

# Hex text (whitespace ignored) on stdin to bytes on stdout; perl-base only.
unhex() {
    perl -e 'local $/; my $h = <STDIN>; $h =~ s/\s+//g; binmode STDOUT; print pack("H*", $h)'
}

# One byte with value $1 on stdout.
byte() {
    perl -e 'binmode STDOUT; print chr($ARGV[0])' "$1"
}

# The opaque data of a binary report on stdin: request (37 bytes), response
# header to MeasurementRecordLength (3-byte LE at 42), record, 32-byte nonce,
# OpaqueLength (2-byte LE), then the opaque data itself.
opaque_slice() {
    perl -e 'local $/; binmode STDIN; binmode STDOUT; my $r = <STDIN>;
        die "short report\n" if length($r) < 45;
        my $l1 = unpack("V", substr($r, 42, 3) . "\0");
        my $at = 45 + $l1 + 32;
        die "short report\n" if length($r) < $at + 2;
        my $ol = unpack("v", substr($r, $at, 2));
        die "short report\n" if length($r) < $at + 2 + $ol;
        print substr($r, $at + 2, $ol)'
}

# arch name of a fixture directory
arch_of() {
    case "$1" in
    */nvswitch/*) echo LS10 ;;
    *) echo HOPPER ;;
    esac
}

# One device object of NVIDIA's serialized evidence JSON from a fixture directory.
device_json() {
    local dir=$1 hex nonce
    hex=$(tr -d ' \n\r\t' <"$dir/report.hex")
    nonce=${hex:8:64} # request: version, code, param1, param2, then the nonce
    printf '{"arch":"%s","nonce":"%s","evidence":"%s","certificate":"%s"}' \
        "$(arch_of "$dir")" "$nonce" "$(unhex <"$dir/report.hex" | base64 -w0)" \
        "$(base64 -w0 <"$dir/certchain.pem")"
}

# One top-level member (4-space indented, as nvattest prints it) of a JSON object file.
json_member() {
    perl -e 'local $/; my $t = <STDIN>;
        $t =~ /\n  "\Q$ARGV[0]\E": (\[.*?\n  \])/s or die "no $ARGV[0]\n";
        print $1' "$1"
}

# fuzz_eat: NRAS's signed token, nvattest's unsigned one, and device claims arrays
# (the target also builds a token from an input that is a JSON array).
eat_seeds() {
    local nras=$fixtures/gpu/h100_550.90.07/nras_detached_eat.json
    local nvattest=$fixtures/dstack/nvattest_output_h100.json
    local n=931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb
    cp "$nras" "$corpus/fuzz_eat/seed-nras"
    json_member detached_eat <"$nvattest" >"$corpus/fuzz_eat/seed-nvattest" ||
        die "no detached_eat in $nvattest"
    json_member claims <"$nvattest" >"$corpus/fuzz_eat/seed-nvattest-claims" ||
        die "no claims in $nvattest"
    {
        printf '[{"x-nvidia-device-type":"gpu","eat_nonce":"%s"},' "$n"
        printf '{"x-nvidia-device-type":"nvswitch"},'
        printf '{"x-nvidia-device-type":"gpu","eat_nonce":null}]\n'
    } >"$corpus/fuzz_eat/seed-claims-mixed"
    printf '[{"x-nvidia-device-type":"gpu","secboot":true}]\n' >"$corpus/fuzz_eat/seed-claims-plain"
}

# fuzz_collect: selector byte 0 + the collection JSON of tests/fake_nvml/seeds, and
# selector byte 1 + sysfs attribute texts
collect_seeds() {
    local f
    for f in tests/fake_nvml/seeds/*.json; do
        [ -e "$f" ] || die "no tests/fake_nvml/seeds/*.json"
        { byte 0; cat "$f"; } >"$corpus/fuzz_collect/seed-$(basename "$f")"
    done
    { byte 1; printf '0x10de\n'; } >"$corpus/fuzz_collect/seed-vendor"
    { byte 1; printf '0x030200\n'; } >"$corpus/fuzz_collect/seed-class"
}

# fuzz_switch_collection: switch collections written by the NSCQ collector over the fake NSCQ
switch_collection_seeds() {
    local f
    for f in tests/fake_nscq/seeds/*.json; do
        [ -e "$f" ] || die "no tests/fake_nscq/seeds/*.json"
        cp "$f" "$corpus/fuzz_switch_collection/seed-$(basename "$f")"
    done
}

# fuzz_eventlog: dstack's recorded GetQuote response, its event_log array alone,
# runtime_events.log, a V2 array element with its preimage, and app-compose documents.
# fuzz_quote_collateral: the TDX collateral files, and their signed TCB info and QE identity text
quote_collateral_seeds() {
    local c=$corpus/fuzz_quote_collateral f name
    for f in "$fixtures"/tdx/*_collateral.json; do
        [ -e "$f" ] || die "no tdx/*_collateral.json under $fixtures"
        name=$(basename "$f" .json)
        cp "$f" "$c/seed-$name"
        perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{tcb_info}' <"$f" >"$c/seed-$name-tcb-info" ||
            die "no tcb_info in $f"
        perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{qe_identity}' <"$f" >"$c/seed-$name-qe-identity" ||
            die "no qe_identity in $f"
    done
}

# fuzz_pccs_response: byte 0 + each PCCS body, byte 1 + each issuer chain header value, as
# tests/quote/fake_pccs.py serves the TDX collateral of tdx_quote
pccs_response_seeds() {
    local c=$corpus/fuzz_pccs_response p=$corpus/.pccs f
    rm -rf "$p"
    python3 tests/quote/fake_pccs.py split "$fixtures/tdx/tdx_quote_collateral.json" platform "$p" ||
        die "fake_pccs.py split failed"
    for f in "$p"/*.body; do
        { byte 0; cat "$f"; } >"$c/seed-$(basename "$f" .body)"
    done
    for f in "$p"/*.headers; do
        [ -s "$f" ] || continue
        { byte 1; sed -n 's/^[^:]*: //p' "$f" | head -n 1; } >"$c/seed-$(basename "$f" .headers)-header"
    done
    rm -rf "$p"
}

eventlog_seeds() {
    local c=$corpus/fuzz_eventlog q=$fixtures/dstack/quote-report.json
    cp "$q" "$c/seed-quote-report"
    perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{event_log}' <"$q" >"$c/seed-array" ||
        die "no event_log in $q"
    cp "$fixtures/dstack/runtime_events.log" "$c/seed-runtime-events"
    printf '%s\n' '{"event":"test","payload":"AQ==","version":2}' >"$c/seed-line-v2"
    printf '[{"imr":3,"event_type":134217729,"digest":"","event":"compose-hash","event_payload":"abcd","version":2,"preimage":"%s"}]\n' \
        "$(printf '%s' '{"name":"compose-hash","payload":"abcd","type":134217729}' | od -An -tx1 -v | tr -d ' \n')" \
        >"$c/seed-array-v2"
    printf '%s\n' '{"manifest_version":"3","requirements":{"gpu_policy":{"attest_gpu":true,"rego":"package policy\n","n":[1.5e-7,1e21,-0.0]}}}' \
        >"$c/seed-app-compose"
}

# fuzz_evidence_set: plan length byte, plan bytes, evidence JSON (fuzz/fuzz_evidence_set.c).
# Each fixture device alone; every device together and in a plan that repeats and
# reorders them; the same device four times; a GPU twice with another between them; the
# same GPU with a flipped signature byte (another report, the same leaf); the PPCIe file.
evidence_set_seeds() { # DEVICE-JSON...
    local c=$corpus/fuzz_evidence_set h545=$fixtures/gpu/h100_545.00 d545 dflip i=0 d
    for d in "$@"; do
        { byte 0; printf '[%s]\n' "$d"; } >"$c/seed-device-$i"
        i=$((i + 1))
    done
    local IFS=,
    { byte 0; printf '[%s]\n' "$*"; } >"$c/seed-all"
    { byte 6; byte 2; byte 0; byte 2; byte 1; byte 0; byte 3; printf '[%s]\n' "$*"; } >"$c/seed-all-plan"
    unset IFS
    d545=$(device_json "$h545")
    { byte 0; printf '[%s,%s,%s,%s]\n' "$d545" "$d545" "$d545" "$d545"; } >"$c/seed-545-four-times"
    { byte 0; printf '{"evidences":[%s,%s,%s]}\n' "$d545" "$1" "$d545"; } >"$c/seed-545-mixed"
    dflip=$(printf '{"arch":"HOPPER","nonce":"%s","evidence":"%s","certificate":"%s"}' \
        "$(tr -d ' \n\r\t' <"$h545/report.hex" | cut -c9-72)" \
        "$(unhex <"$h545/report.hex" | perl -e 'local $/; binmode STDIN; binmode STDOUT;
            my $b = <STDIN>; substr($b, -1, 1) ^= "\x01"; print $b' | base64 -w0)" \
        "$(base64 -w0 <"$h545/certchain.pem")")
    { byte 0; printf '[%s,%s]\n' "$d545" "$dflip"; } >"$c/seed-545-same-leaf"
    { byte 0; cat "$fixtures/gpu/h100_590.12_ppcie/evidence.json"; } >"$c/seed-ppcie"
}

# fuzz_proxy_request: mode byte (0 POST, 1 GET, 2 HEAD, 3 PUT, 4 config), then
# "<target>\n<content type>\n<body>" or the config text.
proxy_seeds() {
    local c=$corpus/fuzz_proxy_request f name
    for f in "$fixtures"/proxy/req_*.der; do
        name=$(basename "$f" .der)
        { byte 0; printf '/ocsp\napplication/ocsp-request\n'; cat "$f"; } >"$c/seed-post-$name"
        { byte 1; printf '/ocsp/%s\n\n' "$(base64 -w0 <"$f")"; } >"$c/seed-get-$name"
    done
    for f in "$fixtures"/proxy/resp_*.der; do # the body is also read as a response
        { byte 0; printf '/ocsp\ntext/plain\n'; cat "$f"; } >"$c/seed-$(basename "$f" .der)"
    done
    { byte 1; printf '/v1/rim/NV_GPU_DRIVER_GH100_545.00\n\n'; } >"$c/seed-rim"
    { byte 2; printf '/healthz\n\n'; } >"$c/seed-healthz"
    { byte 3; printf '/info?x=1\n\n'; } >"$c/seed-put-info"
    { byte 4; cat docs/proxy.conf.example; } >"$c/seed-config"
}

# fuzz_quote: every real TDX quote in the form it ships in (binary, hex, GetQuote JSON)
quote_seeds() {
    local f
    for f in "$fixtures"/tdx/tdx_quote "$fixtures"/tdx/tdx_quote_outdated \
        "$fixtures"/tdx/dstack_ra_tls_tdx_quote "$fixtures"/tdx/*.hex \
        "$fixtures"/dstack/quote-report.json; do
        [ -e "$f" ] || die "no $f"
        cp "$f" "$corpus/fuzz_quote/seed-$(basename "$f")"
    done
}

# fuzz_cvm_input: dstack's GetQuote fixture, and it as a verifier request with "debug" and
# a gpu_bundle.
# fuzz_expectations: documents that use every key.
cvm_seeds() {
    local c=$corpus/fuzz_cvm_input e=$corpus/fuzz_expectations q=$fixtures/dstack/quote-report.json
    cp "$q" "$c/seed-quote-report"
    perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); $j->{debug} = JSON::PP::true;
        $j->{gpu_bundle} = "{\"bundle_version\":1}\n";
        print JSON::PP->new->canonical->encode($j)' <"$q" >"$c/seed-request" || die "bad $q"
    printf '%s\n' '{"attestation":"{\"bundle_version\":1}\n"}' >"$c/seed-gpuinfo"
    printf '%s\n' '{}' >"$e/seed-empty"
    printf '%s\n' '{"report_data":"1234","mrtd":["'"$(printf '%096d' 0)"'"],"rtmr0":["'"$(printf '%096d' 0)"'"],"rtmr1":["'"$(printf '%096d' 0)"'"],"rtmr2":["'"$(printf '%096d' 0)"'"],"mr_system":["'"$(printf '%064d' 0)"'"],"mr_aggregated":["'"$(printf '%064d' 0)"'"],"os_image_hash":["'"$(printf '%064d' 0)"'"],"app_id":["'"$(printf '%040d' 0)"'"],"compose_hash":["'"$(printf '%064d' 0)"'"],"key_provider":["kms","local-sgx"],"tcb_statuses":["UpToDate","OutOfDate"],"advisory_ids":["INTEL-SA-00837"],"allow_debug":false,"gpu":{"required":true,"gpus":{"exact":8},"nvswitches":{"min":0},"gpu_policy_hashes":["'"$(printf '%064d' 0)"'"],"allow_devtools":false,"trust_roots":["nvidia"],"max_bundle_age":3600,"reappraise_at":"now","rim_dir":"rims","collateral_dir":"coll","policy":"policy.json"}}' \
        >"$e/seed-every-key"
}

# fuzz_cvm_bundle: a gate bundle of the fake NVML (1 GPU), as written and as dstack's GpuInfo
# response, and an empty GpuInfo attestation.
cvm_bundle_seeds() {
    local c=$corpus/fuzz_cvm_bundle b=$fixtures/gate/bundle_1gpu.json
    cp "$b" "$c/seed-bundle-1gpu"
    perl -MJSON::PP -e 'local $/; print JSON::PP->new->encode({attestation => <STDIN>})' <"$b" \
        >"$c/seed-gpuinfo-1gpu" || die "bad $b"
    printf '%s\n' '{"attestation":""}' >"$c/seed-gpuinfo-empty"
}

# fuzz_kms: selector 1 + the example configuration; selector 0 + a request it allows
# (dstack's gpu-attestation payload forwarded) and one without the GPU fields.
kms_seeds() {
    local c=$corpus/fuzz_kms x=docs/auth-config.example.json
    { byte 1; cat "$x"; } >"$c/seed-config-example"
    { byte 1; printf '{}'; } >"$c/seed-config-empty"
    perl -MJSON::PP -e 'local $/; my $x = decode_json(<STDIN>); my ($app) = keys %{$x->{apps}};
        my $p = "{\"version\":2,\"provider\":\"nvidia\",\"devices\":8,\"cc_mode\":\"on\","
            . "\"devtools\":false,\"evidence_sha256\":\"" . ("9" x 64) . "\"}";
        my %r = (mrAggregated => $x->{kms}{mrAggregated}[0], osImageHash => $x->{osImages}[0],
            appId => $app, composeHash => $x->{apps}{$app}{composeHashes}[0], instanceId => "",
            deviceId => "", tcbStatus => "UpToDate", advisoryIds => [],
            gpuPolicyHash => $x->{apps}{$app}{gpu}{gpuPolicyHashes}[0], gpuAttestation => $p);
        print JSON::PP->new->canonical->encode(\%r)' <"$x" >"$c/request.json" || die "bad $x"
    { byte 0; cat "$c/request.json"; } >"$c/seed-request-gpu"
    { byte 0; perl -MJSON::PP -e 'local $/; my $r = decode_json(<STDIN>);
        delete @$r{qw(gpuPolicyHash gpuAttestation)}; print encode_json($r)' <"$c/request.json"; } \
        >"$c/seed-request-plain"
    rm -f "$c/request.json"
}
# fuzz_rpc: "METHOD\nURI\nCONTENT-TYPE\nBODY" after a selector byte (bit 0: the body is also
# the committed bundle; bit 1: the body is also converted to every response message): each
# method in GET (with query arguments), POST ?json and POST JSON, an unknown method,
# protobuf requests, a bundle shaped as the gate writes it, and a GetGpuAttestation answer.
rpc_seeds() {
    local c=$corpus/fuzz_rpc
    { byte 0; printf 'GET\n/GpuInfo\n\n'; } >"$c/seed-get"
    { byte 0; printf 'POST\n/GetGpuAttestation?json\n\n{}'; } >"$c/seed-post-query"
    { byte 0; printf 'POST\n/GpuInfo\napplication/json; charset=utf-8\n{"a":1}'; } >"$c/seed-post-json"
    { byte 0; printf 'POST\n/Nope\napplication/octet-stream\n\x0a\x00'; } >"$c/seed-unknown"
    { byte 1; printf 'GET\n/GetGpuAttestation\n\n'
      printf '{"devices":[{"claims":{"ueid":"4100","x-nvidia-gpu-driver-version":"545.00"}}],'
      printf '"evidence":[{"label":"GPU-0","pci_address":"0000:18:00.0","uuid":"GPU-1","arch":"hopper"}],'
      printf '"verdict":{"pass":true,"reasons":[]}}\n'; } >"$c/seed-bundle"
    { byte 0; printf 'GET\n/GpuInfo?nonce=%%41b&json&x=a+b\n\n'; } >"$c/seed-get-query"
    { byte 1; printf 'POST\n/GpuInfo\napplication/octet-stream\n\x0a\x02ab'; } >"$c/seed-protobuf"
    { byte 2; printf 'POST\n/GetGpuAttestation\n\n'
      printf '{"bundle":"x","bundle_sha256":"00ff","events":[{"index":1,"name":"n","payload":"ab",'
      printf '"digest":"cd","version":1,"before_system_ready":true}],"verdict":{"pass":true,'
      printf '"reasons":["r"],"devices":[{"label":"GPU-0"}]},"state":{"cc_mode":"on","ready":true,'
      printf '"cc":{"environment":2}}}'; } >"$c/seed-answer"
}
# fuzz_verifier_config: config files of the verifier server: every key (as in
# tests/verifier/test_verifier.sh, with each unit and an IPv6 listen), a PCCS source
# with a comment and CRLF line ends, an unknown key after good lines, and a line without '='.
verifier_config_seeds() {
    local c=$corpus/fuzz_verifier_config
    cat >"$c/seed-every-key" <<'CONF'
# the verifier's own config
listen = [::1]:8443
expect = /etc/dstack-gpu-attest/expect.json
collateral-dir = /var/lib/dstack-gpu-attest/collateral
test-trusted-root = /tmp/root.der
at = 2025-07-01T00:00:00Z
client-timeout = 2m
client-request-timeout = 30s
max-request = 512K
max-connections = 256
max-connections-per-client = 64
collateral-cache = 64
CONF
    printf 'listen = 127.0.0.1:0\r\n# PCCS\r\npccs-url = https://pccs.example:8081\r\nexpect = e.json\r\nat = @1772323200\r\nclient-timeout = 1d\r\n' \
        >"$c/seed-pccs-crlf"
    printf 'expect = e.json\ncollateral = c.json\nno-such-key = 1\n' >"$c/seed-unknown-key"
    printf 'expect = e.json\nmax-request 8M\n' >"$c/seed-no-equals"
}

make_seeds() {
    local d name dir arch_byte
    for t in "${all_targets[@]}"; do
        mkdir -p "$corpus/$t"
        rm -f "$corpus/$t"/seed-*
    done

    mapfile -t reports < <(find "$fixtures" -name report.hex | sort)
    [ ${#reports[@]} -gt 0 ] || die "no report.hex under $fixtures"
    local all=()
    for f in "${reports[@]}"; do
        dir=$(dirname "$f")
        name=$(basename "$dir")
        # fuzz_report: arch byte (0 Hopper, 1 Blackwell, 2 LS10) then the report
        if [ "$(arch_of "$dir")" = LS10 ]; then arch_byte=2; else arch_byte=0; fi
        { byte "$arch_byte"; unhex <"$f"; } >"$corpus/fuzz_report/seed-$name"
        if [ "$arch_byte" = 0 ]; then # the same GPU report read as Blackwell
            { byte 1; unhex <"$f"; } >"$corpus/fuzz_report/seed-$name-as-blackwell"
        fi
        # fuzz_opaque: the opaque-data slice
        unhex <"$f" | opaque_slice >"$corpus/fuzz_opaque/seed-$name"
        # fuzz_topology: the same slices (the LS10 one holds TLV 22/24/25/26)
        cp "$corpus/fuzz_opaque/seed-$name" "$corpus/fuzz_topology/seed-$name"
        # fuzz_evidence_json: one device per fixture, plus all together below
        if [ -f "$dir/certchain.pem" ]; then
            d=$(device_json "$dir")
            all+=("$d")
            printf '[%s]\n' "$d" >"$corpus/fuzz_evidence_json/seed-$name"
        fi
    done
    local IFS=,
    printf '[%s]\n' "${all[*]}" >"$corpus/fuzz_evidence_json/seed-all"
    printf '{"evidences":[%s]}\n' "${all[*]}" >"$corpus/fuzz_evidence_json/seed-all-wrapped"
    unset IFS
    evidence_set_seeds "${all[@]}"
    cp "$fixtures/gpu/h100_590.12_ppcie/evidence.json" \
        "$corpus/fuzz_evidence_json/seed-h100_590.12_ppcie"
    # fuzz_topology: the PPCIe GPU's opaque data (TLV 21 0xAA, 22 with 18 links, 36 = 2)
    perl -MJSON::PP -0777 -ne 'print decode_json($_)->[0]{evidence}' \
        "$fixtures/gpu/h100_590.12_ppcie/evidence.json" | base64 -d |
        opaque_slice >"$corpus/fuzz_topology/seed-h100_590.12_ppcie"
    # fuzz_pem_chain: every PEM file (device chains, the broken chain, the roots)
    while IFS= read -r f; do
        name=${f#"$fixtures"/}
        cp "$f" "$corpus/fuzz_pem_chain/seed-${name//\//_}"
    done < <(find "$fixtures" -name '*.pem' | sort)
    # fuzz_rim: every RIM document (genuine, re-issued, tampered, badly signed, debug root)
    while IFS= read -r f; do
        name=${f#"$fixtures"/}
        cp "$f" "$corpus/fuzz_rim/seed-${name//\//_}"
    done < <(find "$fixtures" -name '*.xml' | sort)
    [ -n "$(ls "$corpus/fuzz_rim")" ] || die "no *.xml under $fixtures"
    eat_seeds
    eventlog_seeds
    proxy_seeds
    # fuzz_policy: every JSON policy document, and nvattest output (its claims are evaluated)
    for f in "$fixtures"/policies/*.json; do
        [ -e "$f" ] || die "no policies/*.json under $fixtures"
        cp "$f" "$corpus/fuzz_policy/seed-$(basename "$f")"
    done
    cp "$fixtures/dstack/nvattest_output_h100.json" "$corpus/fuzz_policy/seed-nvattest_output_h100"
    collect_seeds
    switch_collection_seeds
    # fuzz_ocsp: the test PKI's genuine OCSP responses (good, revoked, held, unknown, ...)
    for f in "$fixtures"/ocsp/*.der; do
        [ -e "$f" ] || die "no ocsp/*.der under $fixtures"
        cp "$f" "$corpus/fuzz_ocsp/seed-$(basename "$f")"
    done
    {
        printf '{"collateral": {"ocsp": [{"response": "'
        base64 -w0 <"$fixtures/ocsp/leaf.der"
        printf '"}]}}\n'
    } >"$corpus/fuzz_ocsp/seed-bundle"
    printf '{"id": "NV_GPU_DRIVER_GH100_545.00", "rim": "PFN3aWRUYWcvPg==", "sha256": ""}\n' \
        >"$corpus/fuzz_ocsp/seed-rim-answer"
    quote_seeds
    # fuzz_gate_config: the test configs and the shipped examples
    cp tests/gate/configs/*.json systemd/gate*.example.json "$corpus/fuzz_gate_config/" &&
        for f in "$corpus"/fuzz_gate_config/*.json; do mv "$f" "${f%/*}/seed-${f##*/}"; done
    quote_collateral_seeds
    pccs_response_seeds
    cvm_seeds
    cvm_bundle_seeds
    kms_seeds
    verifier_config_seeds
    rpc_seeds
}

run_target() {
    local t=$1 bin=$build/fuzz/$1 log=$logs/$1.log rc=0
    [ -x "$bin" ] || { echo "FAIL $t: $bin not built" >&2; return 1; }
    mkdir -p "$artifacts/$t"
    echo "== $t: ${seconds}s, corpus $corpus/$t ($(ls "$corpus/$t" | wc -l) files)"
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -detect_leaks=1 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$t/" "$corpus/$t" >"$log" 2>&1 ||
        rc=$?
    if [ "$rc" -ne 0 ] ||
        grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$log"; then
        echo "FAIL $t (exit $rc); last lines of $log:" >&2
        tail -n 60 "$log" >&2
        ls -l "$artifacts/$t" >&2 || true
        return 1
    fi
    grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" |
        sed 's/^/   /' || true
    echo "ok   $t"
}

command -v perl >/dev/null || die "perl is required"
command -v base64 >/dev/null || die "base64 (coreutils) is required"
mkdir -p "$logs"
make_seeds

failed=()
for t in "${targets[@]}"; do
    run_target "$t" || failed+=("$t")
done
if [ ${#failed[@]} -gt 0 ]; then
    die "failed: ${failed[*]}"
fi
echo "fuzz smoke: all ${#targets[@]} targets clean (${seconds}s each)"
