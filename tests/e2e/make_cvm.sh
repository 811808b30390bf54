#!/usr/bin/env bash
# A dstack CVM without TDX, for the end-to-end verifier test (docs/verify.md): the gate
# runs on the fake NVML with the simulated register (sim:PATH) and the test device PKI;
# dstack's own runtime events are emitted after it on the same register with `events
# emit`; then dstack's GetQuote response is built around it: the event log in the array
# form dstack delivers (the boot events of dstack's recorded fixture on IMR 0-2, the
# runtime events on IMR 3 with their digests), a TDX quote (tests/quote/make_quote) whose
# RTMR0-2 are the replay of those boot events, whose RTMR3 is the register, and whose
# report_data is the test's challenge, signed under the test Intel PKI
# (tests/pki/make_pki.sh tdx) with matching collateral; and the relying party's
# expectations for it.
#
#   make_cvm.sh setup WORK
#       once: the Intel PKI and collateral, PCI trees, gate policies, the boot events and
#       their RTMR0-2, the challenge, the base expectations (WORK/expect-base.json).
#   make_cvm.sh gate WORK NAME [GPUS [DEVTOOLS]]
#       one boot's gate run (GPUS 1, 2 or 8, default 2; DEVTOOLS 1: the GPUs in DEVTOOLS
#       mode under a policy that allows it) into WORK/NAME: run/evidence.json (the
#       bundle), log/runtime_events.log, rtmr3.bin (the register), gph.hex and gpa.json
#       (the payloads of the gate's gpu-policy-hash and gpu-attestation events).
#   make_cvm.sh gate-ppcie WORK NAME [KNOB...]
#       one boot's gate run in PPCIe mode on the fake HGX board (tests/ppcie/make_board.sh
#       --gpu-report 545 and its KNOBs: 8 GPUs, 4 NVSwitches, the fake NVML and NSCQ, as
#       tests/ppcie/test_gate_board.sh runs it) into WORK/NAME, in the layout of `gate`;
#       WORK/NAME/rims holds the GPU and NVSwitch RIMs, and the gate appraises at
#       $PPCIE_AT under $PPCIE_POLICY (the RIM signer chains of the two are valid at no
#       common time).
#   make_cvm.sh dstack-util WORK NAME [GPUS]
#       one boot of unmodified dstack with the nvattest drop-in (docs/nvattest.md) into
#       WORK/NAME, in the layout of a gate run: dstack-util's steps 6-7 and its payloads.
#       The drop-in runs with dstack-util's exact arguments and a fresh random nonce on
#       the fake NVML; run/evidence.json is its stdout byte for byte (what GpuInfo serves),
#       gph.hex the gpu-policy-hash of gpu_policy {"attest_gpu":true}, and gpa.json
#       dstack-util's gpu-attestation payload (version 2, evidence_sha256 of the stdout).
#       No register is written: use it with `cvm --events` in dstack-util's order
#       ($DSTACK_UTIL_EVENTS).
#   make_cvm.sh cvm WORK GATE OUT [options]
#       OUT/attestation.json (the GetQuote response), OUT/bundle.json, OUT/expect.json,
#       OUT/quote.bin, OUT/event_log.json, OUT/rtmr3.bin. Options:
#         --events LIST       the runtime events measured into RTMR3, comma-separated, in
#                             order (default: $DEFAULT_EVENTS). `gate` (first only) is
#                             the gate's own register and log as it left them;
#                             gpu-policy-hash and gpu-attestation re-emit the gate's
#                             payloads; the dstack names get fixed test payloads.
#         --log-events LIST   the events the delivered log lists (default: --events);
#                             another list is a log edited after the boot
#         --gpa-payload FILE  the gpu-attestation payload to (re-)emit instead of the gate's
#         --bundle FILE       the bundle handed out instead of the gate's
#         --report-data HEX   the quote's report_data (default: the challenge)
#         --input-report-data HEX  the response's report_data (default: the quote's)
#   make_cvm.sh rehash BUNDLE GPA OUT
#       OUT: the gpu-attestation payload GPA with evidence_sha256 replaced by BUNDLE's.
#
# Environment: DGA_BIN (dstack-gpu-attest), DGA_FAKE_NVML (libfake_nvml.so), DGA_FAKE_NSCQ
# (libfake_nscq.so, for gate-ppcie),
# DGA_MAKE_QUOTE (make_quote), DGA_FIXTURES (default tests/fixtures). Needs jq, perl,
# openssl. Exit 0, or 1 with a message on stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fx=$(cd "${DGA_FIXTURES:-$here/../fixtures}" && pwd)
H545=$fx/gpu/h100_545.00
GATE_AT=2024-06-01T00:00:00Z # the real 545.00 RIMs' signers expired in 2025
PPCIE_AT=2026-11-01T00:00:00Z # as tests/ppcie/test_gate_board.sh
PPCIE_POLICY=$fx/policies/offline_expired_rim_signers.json
# dstack-util's boot sequence with the GPU step (no gate, no init scripts, no os-image-hash).
DSTACK_UTIL_EVENTS=system-preparing,app-id,compose-hash,gpu-policy-hash,gpu-attestation,instance-id,boot-mr-done,key-provider,system-ready
# SHA-256 of JCS({"attest_gpu":true}): dstack-util's gpu-policy-hash for that gpu_policy.
ATTEST_GPU_HASH=81f5d3ad40653341232238c4ca656bddddc297d6382ae2ab391e4bb36dd80b66
DEFAULT_EVENTS=gate,system-preparing,app-id,compose-hash,instance-id,boot-mr-done,key-provider,system-ready

# The test CVM's identity: fixed values, so that the expectations can pin them.
MRTD=$(printf 'd7%.0s' $(seq 48))
APP_ID=7e570000000000000000000000000000000000a1
COMPOSE_HASH=$(printf '%s' 'dga e2e app-compose.json' | openssl dgst -sha256 -r | cut -d' ' -f1)
INSTANCE_ID=7e570000000000000000000000000000000000b2
KEY_PROVIDER='{"name":"kms","id":"7e57"}'

die() {
    echo "make_cvm.sh: $*" >&2
    exit 1
}
need() { [ -n "${!1:-}" ] || die "\$$1 is not set"; }
hex_of() { od -An -v -tx1 | tr -d ' \n'; }
sha256_file() { openssl dgst -sha256 -r "$1" | cut -d' ' -f1; }
reg_hex() { hex_of <"$1"; }

# ---- setup -------------------------------------------------------------------------------

pci_entry() { # DIR ADDR VENDOR DEVICE CLASS
    mkdir -p "$1/$2"
    printf '%s\n' "$3" >"$1/$2/vendor"
    printf '%s\n' "$4" >"$1/$2/device"
    printf '%s\n' "$5" >"$1/$2/class"
}

# The collateral of the synthetic quotes: the baseline of tests/cli/test_quote_verify_cli.sh
# (FMSPC 00906ED50000, every level UpToDate, valid 2025-01-01 .. 2026-01-01).
write_collateral() { # WORK
    local w=$1 z48 comps_sgx comps_tdx
    z48=$(printf '0%.0s' $(seq 96))
    comps_sgx=$(printf '{"svn":%s},' 3 3 2 2 4 1 0 5 0 0 0 0 0 0 0 0)
    comps_tdx=$(printf '{"svn":%s},' 5 0 3 0 0 0 0 0 0 0 0 0 0 0 0 0)
    printf '{"id":"TDX","version":3,"issueDate":"2025-01-01T00:00:00Z","nextUpdate":"2026-01-01T00:00:00Z","fmspc":"00906ED50000","pceId":"0000","tcbType":0,"tcbEvaluationDataNumber":17,"tdxModule":{"mrsigner":"%s","attributes":"0000000000000000","attributesMask":"FFFFFFFFFFFFFFFF"},"tdxModuleIdentities":[{"id":"TDX_01","mrsigner":"%s","attributes":"0000000000000000","attributesMask":"FFFFFFFFFFFFFFFF","tcbLevels":[{"tcb":{"isvsvn":4},"tcbDate":"2024-01-01T00:00:00Z","tcbStatus":"UpToDate","advisoryIDs":[]}]}],"tcbLevels":[{"tcb":{"sgxtcbcomponents":[%s],"pcesvn":11,"tdxtcbcomponents":[%s]},"tcbDate":"2024-01-01T00:00:00Z","tcbStatus":"UpToDate","advisoryIDs":[]}]}' \
        "$z48" "$z48" "${comps_sgx%,}" "${comps_tdx%,}" >"$w/tcb_info.json"
    printf '{"id":"TD_QE","version":2,"issueDate":"2025-01-01T00:00:00Z","nextUpdate":"2026-01-01T00:00:00Z","tcbEvaluationDataNumber":17,"miscselect":"00000000","miscselectMask":"FFFFFFFF","attributes":"11000000000000000000000000000000","attributesMask":"FBFFFFFFFFFFFFFF0000000000000000","mrsigner":"%s","isvprodid":2,"tcbLevels":[{"tcb":{"isvsvn":4},"tcbDate":"2024-01-01T00:00:00Z","tcbStatus":"UpToDate","advisoryIDs":[]}]}' \
        "$(printf 'dc%.0s' $(seq 32))" >"$w/qe_identity.json"
    "$DGA_MAKE_QUOTE" collateral "$w/collateral.json" --tcb-key "$w/pki/tcb.key" \
        --tcb-chain "$w/pki/chain-tcb.pem" --root-crl "$w/pki/root.crl" \
        --pck-crl "$w/pki/pck.crl" --tcb-info "$w/tcb_info.json" \
        --qe-identity "$w/qe_identity.json" || die "make_quote collateral"
}

# mr_system as dstack derives it: SHA-256(MRTD || RTMR0 || RTMR1 || RTMR2 || SHA-256(key-provider)).
mr_system() { # RTMR0 RTMR1 RTMR2
    local kp
    kp=$(printf '%s' "$KEY_PROVIDER" | openssl dgst -sha256 -r | cut -d' ' -f1)
    printf '%s%s%s%s%s' "$MRTD" "$1" "$2" "$3" "$kp" | xxd -r -p | openssl dgst -sha256 -r | cut -d' ' -f1
}

cmd_setup() {
    local w=$1
    need DGA_BIN
    need DGA_MAKE_QUOTE
    mkdir -p "$w"
    sh "$here/../pki/make_pki.sh" tdx "$w/pki" >/dev/null || die "make_pki.sh tdx"
    write_collateral "$w"
    pci_entry "$w/pci2" 0000:00:00.0 0x8086 0x1237 0x060000
    pci_entry "$w/pci2" 0000:18:00.0 0x10de 0x2330 0x030200
    pci_entry "$w/pci2" 0000:19:00.0 0x10de 0x2330 0x030200
    pci_entry "$w/pci1" 0000:00:00.0 0x8086 0x1237 0x060000
    pci_entry "$w/pci1" 0000:18:00.0 0x10de 0x2330 0x030200
    # 8 GPUs (bench/bench_cvm.sh): the tree of an 8-GPU HGX board, NVSwitches left out.
    pci_entry "$w/pci8" 0000:00:00.0 0x8086 0x1237 0x060000
    local i
    for i in 0 1 2 3 4 5 6 7; do
        pci_entry "$w/pci8" "$(printf '0000:%02x:00.0' $((0x18 + i)))" 0x10de 0x2330 0x030200
    done
    printf '{"version":1,"ocsp":"not-required"}' >"$w/policy.json"
    printf '{"version":1,"ocsp":"not-required","allow_devtools":true}' >"$w/devtools.json"
    # The boot (CCEL) events of dstack's recorded GetQuote response: a real firmware's
    # IMR 0-2 events, which RTMR0-2 of every test CVM replay.
    jq -c '.event_log | fromjson | map(select(.imr < 3))' "$fx/dstack/quote-report.json" \
        >"$w/boot_events.json" || die "boot events"
    "$DGA_BIN" events replay "$w/boot_events.json" --json >"$w/boot_replay.json" ||
        die "events replay of the boot events"
    local r0 r1 r2
    r0=$(jq -r '.rtmr[0]' "$w/boot_replay.json")
    r1=$(jq -r '.rtmr[1]' "$w/boot_replay.json")
    r2=$(jq -r '.rtmr[2]' "$w/boot_replay.json")
    # The relying party's challenge (64 bytes).
    printf '%s' 'dga e2e challenge' | openssl dgst -sha512 -r | cut -d' ' -f1 >"$w/challenge.hex"
    jq -n --arg rd "$(cat "$w/challenge.hex")" --arg mrtd "$MRTD" --arg r0 "$r0" --arg r1 "$r1" \
        --arg r2 "$r2" --arg app "$APP_ID" --arg compose "$COMPOSE_HASH" \
        --arg mrs "$(mr_system "$r0" "$r1" "$r2")" --arg rims "$H545/rims" \
        --arg policy "$w/policy.json" --arg root "$fx/testpki/root.pem" '{
          report_data: $rd, mrtd: [$mrtd], rtmr0: [$r0], rtmr1: [$r1], rtmr2: [$r2],
          mr_system: [$mrs], app_id: [$app], compose_hash: [$compose], key_provider: ["kms"],
          gpu: {required: true, gpus: {exact: 2}, nvswitches: {exact: 0},
                gpu_policy_hashes: ["44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"],
                allow_devtools: false, trust_roots: ["test"], rim_dir: $rims, policy: $policy,
                test_device_root: $root}}' >"$w/expect-base.json"
}

# ---- one boot's gate run -----------------------------------------------------------------

log_payload() { # LOG NAME: the first NAME line's payload, decoded
    perl -MJSON::PP -MMIME::Base64 -e 'my $name = shift; while (<>) {
        my $j = decode_json($_); if ($j->{event} eq $name) { print decode_base64($j->{payload}); last } }' \
        "$2" "$1"
}

cmd_gate() {
    local w=$1 name=$2 gpus=${3:-2} devtools=${4:-0}
    local d=$w/$name policy=$w/policy.json scen_extra=""
    need DGA_BIN
    need DGA_FAKE_NVML
    rm -rf "$d"
    mkdir -p "$d"
    if [ "$devtools" = 1 ]; then
        policy=$w/devtools.json
        scen_extra=',"devtools_mode":1'
    fi
    printf '{"report":"%s","chain":"%s","key":"%s","gpus":%s,"ready_record":"%s"%s}\n' \
        "$H545/report.hex" "$fx/testpki/certchain.pem" "$fx/testpki/leaf.key" "$gpus" \
        "$d/ready.txt" "$scen_extra" >"$d/scenario.json"
    printf '{"rim_dir":"%s","nvml":"%s","sysfs_pci":"%s","run_dir":"%s","event_log_dir":"%s","event_backend":"sim:%s","test_device_root":"%s","verify_at":"%s","policy":"%s"}\n' \
        "$H545/rims" "$DGA_FAKE_NVML" "$w/pci$gpus" "$d/run" "$d/log" "$d/rtmr3.bin" \
        "$fx/testpki/root.pem" "$GATE_AT" "$policy" >"$d/gate.json"
    DGA_FAKE_NVML_SCENARIO=$d/scenario.json "$DGA_BIN" gate --config "$d/gate.json" \
        >"$d/gate.out" 2>"$d/gate.err" || die "gate $name failed: $(cat "$d/gate.err")"
    log_payload "$d/log/runtime_events.log" gpu-policy-hash | hex_of >"$d/gph.hex"
    log_payload "$d/log/runtime_events.log" gpu-attestation >"$d/gpa.json"
    if [ ! -s "$d/gph.hex" ] || [ ! -s "$d/gpa.json" ]; then
        die "gate $name: no gate events in the log"
    fi
}

# ---- one boot's gate run in PPCIe mode on the fake board ---------------------------------

cmd_gate_ppcie() {
    local w=$1 name=$2
    shift 2
    local d=$w/$name
    need DGA_BIN
    need DGA_FAKE_NVML
    need DGA_FAKE_NSCQ
    rm -rf "$d"
    mkdir -p "$d/rims"
    cp "$H545"/rims/*.xml "$fx"/nvswitch/ls10_96.10.55.00.01/rims/*.xml "$d/rims/"
    "$here/../ppcie/make_board.sh" "$d/b" --gpu-report 545 \
        --nvml-extra "\"ready_record\":\"$d/ready.txt\"" "$@" || die "make_board.sh $name"
    printf '{"rim_dir":"%s","nvml":"%s","nscq":"%s","sysfs_pci":"%s","run_dir":"%s","event_log_dir":"%s","event_backend":"sim:%s","test_device_root":"%s","verify_at":"%s","policy":"%s"}\n' \
        "$d/rims" "$DGA_FAKE_NVML" "$DGA_FAKE_NSCQ" "$d/b/pci" "$d/run" "$d/log" "$d/rtmr3.bin" \
        "$fx/testpki/root.pem" "$PPCIE_AT" "$PPCIE_POLICY" >"$d/gate.json"
    DGA_FAKE_NVML_SCENARIO=$d/b/nvml.json DGA_FAKE_NSCQ_SCENARIO=$d/b/nscq.json \
        "$DGA_BIN" gate --config "$d/gate.json" >"$d/gate.out" 2>"$d/gate.err" ||
        die "gate $name failed: $(cat "$d/gate.err")"
    log_payload "$d/log/runtime_events.log" gpu-policy-hash | hex_of >"$d/gph.hex"
    log_payload "$d/log/runtime_events.log" gpu-attestation >"$d/gpa.json"
    if [ ! -s "$d/gph.hex" ] || [ ! -s "$d/gpa.json" ]; then
        die "gate $name: no gate events in the log"
    fi
}

# ---- one boot of unmodified dstack with the drop-in ----------------------------------------

cmd_dstack_util() {
    local w=$1 name=$2 gpus=${3:-2}
    local d=$w/$name nonce sha
    need DGA_BIN
    need DGA_FAKE_NVML
    rm -rf "$d"
    mkdir -p "$d/run"
    printf '{"report":"%s","chain":"%s","key":"%s","gpus":%s,"ready_record":"%s"}\n' \
        "$H545/report.hex" "$fx/testpki/certchain.pem" "$fx/testpki/leaf.key" "$gpus" \
        "$d/ready.txt" >"$d/scenario.json"
    printf '{"rim_dir":"%s","nvml":"%s","sysfs_pci":"%s","test_device_root":"%s","verify_at":"%s","policy":"%s"}\n' \
        "$H545/rims" "$DGA_FAKE_NVML" "$w/pci$gpus" "$fx/testpki/root.pem" "$GATE_AT" \
        "$w/policy.json" >"$d/nvattest.json"
    nonce=$(openssl rand -hex 32)
    # Step 7: stdout is saved before the exit status is looked at.
    DGA_FAKE_NVML_SCENARIO=$d/scenario.json DSTACK_GPU_ATTEST_NVATTEST_CONFIG=$d/nvattest.json \
        "$DGA_BIN" nvattest attest --device gpu --verifier local --nonce "$nonce" --format json \
        >"$d/run/evidence.json" 2>"$d/nvattest.err" ||
        die "nvattest drop-in $name failed: $(cat "$d/nvattest.err")"
    # The drop-in is a dry run: dstack-util sets the ready state itself (step 11).
    [ ! -e "$d/ready.txt" ] || die "dstack-util $name: the drop-in touched the ready state"
    printf '%s' "$nonce" >"$d/nonce.hex"
    printf '%s' "$ATTEST_GPU_HASH" >"$d/gph.hex"
    sha=$(sha256_file "$d/run/evidence.json")
    printf '{"version":2,"provider":"nvidia","devices":%s,"cc_mode":"on","devtools":false,"evidence_sha256":"%s"}' \
        "$gpus" "$sha" >"$d/gpa.json"
}

# ---- the CVM -----------------------------------------------------------------------------

# emit_seq LIST GATE DIR GPA: the runtime events into DIR/rtmr3.bin and DIR/log. The same
# sequence of the same gate run and payload is emitted once per WORK and copied after that
# (several cases differ from the passing CVM only in the expectations or the bundle).
emit_seq() {
    local list=$1 gate=$2 d=$3 gpa=$4 key
    key=$(printf '%s|%s|%s' "$list" "$gate" "$(sha256_file "$gpa")" | openssl dgst -sha256 -r | cut -d' ' -f1)
    if [ ! -d "$work/seq/$key" ]; then
        emit_seq_fresh "$list" "$gate" "$work/seq/$key.tmp" "$gpa"
        mv "$work/seq/$key.tmp" "$work/seq/$key"
    fi
    cp -r "$work/seq/$key" "$d"
}

emit_seq_fresh() {
    local list=$1 gate=$2 d=$3 gpa=$4 first=1 ev hex version=(--digest-version 1)
    rm -rf "$d"
    mkdir -p "$d/log"
    local IFS=,
    for ev in $list; do
        if [ "$ev" = gate ]; then
            [ "$first" = 1 ] || die "gate must come first in an event list"
            cp "$gate/rtmr3.bin" "$d/rtmr3.bin"
            cp "$gate/log/runtime_events.log" "$gate/log/runtime_event_version" "$d/log/"
            version=()
            first=0
            continue
        fi
        case $ev in
        gpu-policy-hash) hex=$(cat "$gate/gph.hex") ;;
        gpu-attestation) hex=$(hex_of <"$gpa") ;;
        system-preparing | boot-mr-done | system-ready) hex="" ;;
        app-id) hex=$APP_ID ;;
        compose-hash) hex=$COMPOSE_HASH ;;
        instance-id) hex=$INSTANCE_ID ;;
        key-provider) hex=$(printf '%s' "$KEY_PROVIDER" | hex_of) ;;
        *) die "unknown event $ev" ;;
        esac
        "$DGA_BIN" events emit --backend "sim:$d/rtmr3.bin" --log-dir "$d/log" "${version[@]}" \
            --name "$ev" --payload-hex "$hex" >/dev/null || die "events emit $ev"
        version=()
        first=0
    done
}

# to_array LOG BOOT REPLAY OUT: the boot events, then each runtime_events.log line as the
# GetQuote array element dstack delivers (imr 3, type 0x08000001, digest, name, hex payload).
to_array() {
    perl -MJSON::PP -MMIME::Base64 -e '
        my ($log, $boot, $replay) = @ARGV;
        local $/;
        open my $b, "<", $boot or die; my $events = decode_json(<$b>);
        open my $r, "<", $replay or die; my @digests = grep { $_->{imr} == 3 } @{decode_json(<$r>)->{events}};
        open my $l, "<", $log or die; my @lines = grep { /\S/ } split /\n/, <$l>;
        die "replay and log disagree\n" unless @lines == @digests;
        for my $i (0 .. $#lines) {
            my $j = decode_json($lines[$i]);
            die "v1 only\n" if exists $j->{version};
            push @$events, {imr => 3, event_type => 134217729, digest => $digests[$i]{digest},
                            event => $j->{event}, event_payload => unpack("H*", decode_base64($j->{payload}))};
        }
        print JSON::PP->new->canonical->encode($events);' "$1" "$2" "$3" >"$4" || die "event log array"
}

cmd_cvm() {
    local w=$1 gate=$2 out=$3
    shift 3
    local events=$DEFAULT_EVENTS log_events="" gpa=$gate/gpa.json bundle=$gate/run/evidence.json
    local rd="" in_rd=""
    work=$w
    while [ $# -gt 0 ]; do
        case $1 in
        --events) events=$2 ;;
        --log-events) log_events=$2 ;;
        --gpa-payload) gpa=$2 ;;
        --bundle) bundle=$2 ;;
        --report-data) rd=$2 ;;
        --input-report-data) in_rd=$2 ;;
        *) die "cvm: unknown option $1" ;;
        esac
        shift 2
    done
    need DGA_BIN
    need DGA_MAKE_QUOTE
    [ -n "$rd" ] || rd=$(cat "$w/challenge.hex")
    [ -n "$in_rd" ] || in_rd=$rd
    rm -rf "$out"
    mkdir -p "$out"
    # What the boot measured (the quote's RTMR3), and what the log says it measured.
    emit_seq "$events" "$gate" "$out/boot" "$gpa"
    local logd=$out/boot
    if [ -n "$log_events" ] && [ "$log_events" != "$events" ]; then
        emit_seq "$log_events" "$gate" "$out/edited" "$gpa"
        logd=$out/edited
    fi
    cp "$out/boot/rtmr3.bin" "$out/rtmr3.bin"
    "$DGA_BIN" events replay "$logd/log/runtime_events.log" --json >"$out/runtime_replay.json" ||
        die "events replay of the runtime log"
    to_array "$logd/log/runtime_events.log" "$w/boot_events.json" "$out/runtime_replay.json" \
        "$out/event_log.json"
    local r=() i
    for i in 0 1 2; do
        r[i]=$(jq -r ".rtmr[$i]" "$w/boot_replay.json")
    done
    r[3]=$(reg_hex "$out/rtmr3.bin")
    local rd64
    rd64=$(printf "%-128s" "$rd" | tr " " 0) # zero-padded to 64 bytes, as dstack compares it
    "$DGA_MAKE_QUOTE" quote "$out/quote.bin" --pck-key "$w/pki/pck.key" \
        --pck-chain "$w/pki/chain-pck.pem" --mrtd "$MRTD" --rtmr0 "${r[0]}" --rtmr1 "${r[1]}" \
        --rtmr2 "${r[2]}" --rtmr3 "${r[3]}" --report-data "$rd64" || die "make_quote quote"
    # dstack's GetQuote response: event_log and vm_config are JSON strings.
    jq -n --arg quote "$(hex_of <"$out/quote.bin")" --rawfile log "$out/event_log.json" \
        --arg rd "$in_rd" \
        '{quote: $quote, event_log: ($log | rtrimstr("\n")), report_data: $rd,
          vm_config: ({spec_version: 1, cpu_count: 4, memory_size: 8589934592} | tojson)}' \
        >"$out/attestation.json" || die "attestation.json"
    cp "$bundle" "$out/bundle.json"
    # mr_aggregated: SHA-256(MRTD || RTMR0 || RTMR1 || RTMR2 || RTMR3), MRCONFIGID,
    # MROWNER and MROWNERCONFIG being zero in these quotes.
    local mra
    mra=$(printf '%s%s%s%s%s' "$MRTD" "${r[0]}" "${r[1]}" "${r[2]}" "${r[3]}" | xxd -r -p |
        openssl dgst -sha256 -r | cut -d' ' -f1)
    jq --arg mra "$mra" '. + {mr_aggregated: [$mra]}' "$w/expect-base.json" >"$out/expect.json"
}

# The payload's bytes kept as the gate wrote them but for the one value.
cmd_rehash() { # BUNDLE GPA OUT
    local sha
    sha=$(sha256_file "$1")
    perl -0777 -pe 's/"evidence_sha256":"[0-9a-f]{64}"/"evidence_sha256":"'"$sha"'"/ or die' \
        "$2" >"$3" || die "rehash"
}

[ $# -ge 2 ] || die "usage: make_cvm.sh setup|gate|gate-ppcie|dstack-util|cvm|rehash ..."
cmd=$1
shift
case $cmd in
setup) cmd_setup "$@" ;;
gate) cmd_gate "$@" ;;
gate-ppcie) cmd_gate_ppcie "$@" ;;
dstack-util) cmd_dstack_util "$@" ;;
cvm) cmd_cvm "$@" ;;
rehash) cmd_rehash "$@" ;;
*) die "unknown command $cmd" ;;
esac
