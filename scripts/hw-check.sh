#!/usr/bin/env bash
# The hardware checklist (docs/hardware-checklist.md) on a real GPU machine: the
# machine's facts, our `collect`, a dry `gate` run, the ready state before and
# after, and the checklist questions a machine can answer, every command and its
# output written into one report directory (summary.txt says what was expected and
# what was seen).
#
# Safe by construction: the gate runs with --dry-run (no event, no ready state), a
# simulated register and a run/log directory inside the report; nothing is fetched
# unless --fetch is given; the ready state is never set, except with
# --probe-ready-set on a GPU whose CC is off (then set to 1 and back to 0, to see
# whether the driver refuses it). On a CC-on GPU the ready state is never set by
# this script; --probe-nvidia-ocsp runs NVIDIA's nvattest, which is not ours, and
# reads the ready state after it.
#
# Usage: scripts/hw-check.sh [options]   (as root, on the machine with the driver)
#   --bin PATH         dstack-gpu-attest to use (default: the one in PATH)
#   --nvml PATH        NVML library (default libnvidia-ml.so.1)
#   --sysfs DIR        PCI device directory (default /sys/bus/pci/devices)
#   --out DIR          report directory, created; must not exist (default ./hw-check-<UTC time>)
#   --rim-dir DIR      RIM store for the dry gate run (default /var/lib/dstack-gpu-attest/rims)
#   --policy FILE      policy for the dry gate run (default: the built-in one, OCSP online)
#   --gate-extra JSON  more members for the dry run's gate.json, e.g. '"ocsp":"cache","collateral_dir":"/x"'
#   --fetch            also `collateral fetch` the evidence's RIMs and OCSP responses (network)
#                      into the report and list their windows (the nextUpdate question)
#   --probe-ready-set  on a CC-off GPU only: set the ready state to 1, read it, set it back to 0
#   --probe-nvidia-ocsp  on a CC-on GPU with NVIDIA's nvattest installed: run it with an OCSP
#                      responder that cannot be reached, and read the ready state after it
#
# Exit status: 0 everything as expected (CC on: collected, the dry gate passed, the
# ready state unchanged; CC off: the gate refused with cc-off and the ready state was 0
# before and after); 1 something unexpected (summary.txt says what); 2 usage; 3 the
# checks could not run (no binary, NVML not loadable, the report directory not writable).
set -uo pipefail

bin=$(command -v dstack-gpu-attest || true)
nvml=libnvidia-ml.so.1
sysfs=/sys/bus/pci/devices
out=./hw-check-$(date -u +%Y%m%dT%H%M%SZ)
rim_dir=/var/lib/dstack-gpu-attest/rims
policy=
gate_extra=
fetch=0
probe=0
probe_nv=0

usage() {
    sed -n '/^# Usage:/,/^# checks could not run/s/^# \{0,1\}//p' "$0" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --bin | --nvml | --sysfs | --out | --rim-dir | --policy | --gate-extra)
        if [ $# -lt 2 ] || [ -z "$2" ]; then usage; fi
        case $1 in
        --bin) bin=$2 ;;
        --nvml) nvml=$2 ;;
        --sysfs) sysfs=$2 ;;
        --out) out=$2 ;;
        --rim-dir) rim_dir=$2 ;;
        --policy) policy=$2 ;;
        --gate-extra) gate_extra=$2 ;;
        esac
        shift 2
        ;;
    --fetch) fetch=1; shift ;;
    --probe-ready-set) probe=1; shift ;;
    --probe-nvidia-ocsp) probe_nv=1; shift ;;
    -h | --help) usage ;;
    *) echo "hw-check: unknown argument '$1'" >&2; usage ;;
    esac
done

if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "hw-check: no dstack-gpu-attest program (give --bin PATH)" >&2
    exit 3
fi
if [ -e "$out" ] || ! mkdir -p "$out"; then
    echo "hw-check: cannot create the report directory $out (it must not exist)" >&2
    exit 3
fi
out=$(cd "$out" && pwd)
unexpected=0

note() { printf '%s\n' "$*" | tee -a "$out/summary.txt"; }
expect() { # OK-CONDITION(0/1) TEXT: a check of the run's expectations
    if [ "$1" = 1 ]; then
        note "ok:         $2"
    else
        note "UNEXPECTED: $2"
        unexpected=1
    fi
}
# rec FILE CMD...: run CMD, write "$ CMD", its stdout+stderr and its exit status to FILE
rec() {
    local file=$out/$1
    shift
    {
        printf '$'
        printf ' %q' "$@"
        printf '\n'
    } >"$file"
    "$@" >>"$file" 2>&1
    local rc=$?
    if [ -n "$(tail -c 1 "$file")" ]; then
        echo >>"$file"
    fi
    printf '[exit %d]\n' "$rc" >>"$file"
    return "$rc"
}
# The ready state through our binary: NVML's getter in a child, as the gate reads it.
ready_get() { # FILE: prints 0, 1 or "?" (NVML did not answer)
    rec "$1" "$bin" __nvml-child ready-get "$nvml" || true
    sed -n 's/.*"ready":\([01]\).*/\1/p' "$out/$1" | head -1 | grep . || echo '?'
}

note "hw-check: report in $out"
note "binary: $bin ($("$bin" --version 2>&1 | head -1))"

# 1. The machine's facts.
rec 01-uname.txt uname -a || true
rec 01-driver.txt cat /proc/driver/nvidia/version || true
if command -v nvidia-smi >/dev/null; then
    rec 01-nvidia-smi.txt nvidia-smi --query-gpu=index,name,pci.bus_id,driver_version,vbios_version,serial \
        --format=csv || true
    # conf-compute's getters one by one (a driver without one fails alone); never -srs
    for flag in -f -e -grs; do
        rec "01-nvidia-smi-conf-compute$flag.txt" nvidia-smi conf-compute "$flag" || true
    done
else
    note "info:       nvidia-smi not installed: facts from NVML through our binary only"
fi

# 2. CC settings and the ready state before anything, through our binary.
rec 02-cc-settings.txt "$bin" __nvml-child cc-settings "$nvml"
cc_rc=$?
# the child answers {"cc":{...,"mode":"on"}} or {"error":"nvml-load",...}
cc_mode=$(sed -n 's/.*"mode":"\([a-z]*\)".*/\1/p' "$out/02-cc-settings.txt" | head -1)
if [ "$cc_rc" != 0 ] || [ -z "$cc_mode" ]; then
    note "hw-check: NVML could not be read through $bin (see 02-cc-settings.txt)"
    exit 3
fi
note "cc mode:    $cc_mode (02-cc-settings.txt)"
ready_before=$(ready_get 02-ready-before.txt)
note "ready:      $ready_before before the checks (02-ready-before.txt)"

# 3. collect: the evidence as attest reads it.
rec 03-collect.txt "$bin" collect --nvml "$nvml" --sysfs "$sysfs" --out "$out/evidence.json"
collect_rc=$?
note "collect:    exit $collect_rc (03-collect.txt, evidence.json)"
if [ -f "$out/evidence.json" ]; then
    note "driver:     $(sed -n 's/^    "driver_version": "\(.*\)",$/\1/p' "$out/evidence.json")"
    note "GPUs:       $(grep -o '"\(pci_address\|vbios_version\)": "[^"]*"' "$out/evidence.json" |
        sed 's/.*: "\(.*\)"/\1/' | paste -sd' ' -)"
fi

# 4. A dry gate run: everything but the event and the ready state, in the report.
mkdir -p "$out/gate-run" "$out/gate-log"
{
    printf '{"rim_dir":"%s","nvml":"%s","sysfs_pci":"%s","run_dir":"%s",' "$rim_dir" "$nvml" "$sysfs" \
        "$out/gate-run"
    printf '"event_backend":"sim:%s","event_log_dir":"%s"' "$out/gate-log/register.bin" "$out/gate-log"
    [ -n "$policy" ] && printf ',"policy":"%s"' "$policy"
    [ -n "$gate_extra" ] && printf ',%s' "$gate_extra"
    printf '}\n'
} >"$out/gate.json"
rec 04-gate-dry-run.txt "$bin" gate --config "$out/gate.json" --dry-run
gate_rc=$?
reason=$(sed -n 's/^dstack-gpu-attest: gate: \(.*\)/\1/p' "$out/04-gate-dry-run.txt" | grep -v '^bundle ' | head -1)
note "gate:       exit $gate_rc${reason:+: $reason} (04-gate-dry-run.txt, gate-run/evidence.json)"
ready_after=$(ready_get 04-ready-after.txt)
note "ready:      $ready_after after the dry run (04-ready-after.txt)"

# 5. What was expected of this machine.
case $cc_mode in
on)
    expect "$([ "$collect_rc" = 0 ] && echo 1)" "CC on: collect succeeded"
    expect "$([ "$gate_rc" = 0 ] && echo 1)" "CC on: the dry gate run passed"
    expect "$([ "$ready_after" = "$ready_before" ] && [ "$ready_after" != '?' ] && echo 1)" \
        "CC on: the dry run left the ready state as it was ($ready_before)"
    ;;
off)
    expect "$([ "$gate_rc" = 1 ] && case $reason in *": cc-mode: cc-off: "*) echo 1 ;; esac)" \
        "CC off: the gate refused with cc-off"
    expect "$([ "$ready_before" = 0 ] && echo 1)" "CC off: ready state 0 before the checks"
    expect "$([ "$ready_after" = 0 ] && echo 1)" "CC off: ready state 0 after the gate's refusal"
    ;;
*)
    expect "$([ "$gate_rc" != 0 ] && echo 1)" "CC mode $cc_mode: the gate did not pass"
    ;;
esac

# 6. The checklist questions a machine answers (docs/hardware-checklist.md).
# Q5: does setting the ready state on a CC-off GPU fail, or is it a no-op?
if [ "$probe" = 1 ] && [ "$cc_mode" = off ] && [ "$ready_before" = 0 ]; then
    rec 06-q5-ready-set-1.txt "$bin" __nvml-child ready-set "$nvml" 1
    set_rc=$?
    ready_probe=$(ready_get 06-q5-ready-get.txt)
    rec 06-q5-ready-set-0.txt "$bin" __nvml-child ready-set "$nvml" 0 || true
    ready_restored=$(ready_get 06-q5-ready-restored.txt)
    note "Q5:         ready-set 1 on CC off: exit $set_rc, then read $ready_probe; restored to $ready_restored (06-q5-*.txt)"
    expect "$([ "$ready_restored" = 0 ] && echo 1)" "Q5: the ready state is 0 again after the probe"
elif [ "$probe" = 1 ]; then
    note "Q5:         not probed: only on a CC-off GPU whose ready state is 0 (cc $cc_mode, ready $ready_before)"
else
    note "Q5:         not probed (--probe-ready-set, on a CC-off GPU)"
fi
# Q6: does the driver expose an SPDM key-exchange key? NVML's exported names say what it offers.
nvml_file=$nvml
if [ ! -f "$nvml_file" ]; then
    nvml_file=$(ldconfig -p 2>/dev/null | awk -v n="$nvml" '$1 == n {print $NF; exit}')
fi
if [ -n "$nvml_file" ] && [ -f "$nvml_file" ] && command -v readelf >/dev/null; then
    rec 06-q6-nvml-symbols.txt sh -c "readelf -W --dyn-syms '$nvml_file' |
        grep -E -i 'ConfCompute|Spdm|KeyExchange|Attestation|Session' | awk '{print \$NF}' | sort -u"
    note "Q6:         NVML's confidential-computing and SPDM entry points: 06-q6-nvml-symbols.txt"
else
    note "Q6:         NVML's file or readelf not found: symbols not listed"
fi
# Q4: NVIDIA's nvattest, when installed beside ours: its options and environment names.
nv=$(command -v nvattest || true)
if [ -n "$nv" ] && [ "$(readlink -f "$nv")" != "$(readlink -f "$bin")" ]; then
    rec 06-q4-nvattest-help.txt "$nv" attest --help || true
    rec 06-q4-nvattest-env.txt sh -c "strings '$(readlink -f "$nv")' | grep -o -E '(NVAT|NV)_[A-Z0-9_]+' | sort -u"
    note "Q4:         NVIDIA's nvattest at $nv: 06-q4-nvattest-*.txt"
else
    nv=
    note "Q4:         NVIDIA's nvattest not installed here: nothing to read"
fi
# Q1: NVIDIA's verifier when its OCSP responder cannot be reached (nothing listens on port 9).
if [ "$probe_nv" = 1 ] && [ -n "$nv" ] && [ "$cc_mode" = on ]; then
    rec 06-q1-nvattest-ocsp-unreachable.txt "$nv" attest --device gpu --verifier local \
        --ocsp-url http://127.0.0.1:9/ --format json
    nv_rc=$?
    ready_nv=$(ready_get 06-q1-ready-after.txt)
    note "Q1:         NVIDIA's nvattest, OCSP unreachable: exit $nv_rc, ready state then $ready_nv (06-q1-*.txt)"
elif [ "$probe_nv" = 1 ]; then
    note "Q1:         not probed: needs NVIDIA's nvattest and CC on (cc $cc_mode)"
else
    note "Q1:         not probed (--probe-nvidia-ocsp, with NVIDIA's nvattest, CC on)"
fi
# Q3: the OCSP window of NVIDIA's real responses (network).
if [ "$fetch" = 1 ] && [ "$collect_rc" = 0 ]; then
    rec 06-q3-collateral-fetch.txt "$bin" collateral fetch --evidence "$out/evidence.json" \
        --dir "$out/collateral" || true
    rec 06-q3-collateral-status.txt "$bin" collateral status --dir "$out/collateral" --json || true
    note "Q3:         fetched collateral and its windows: 06-q3-collateral-*.txt"
else
    note "Q3:         not fetched (--fetch, with network, after a successful collect)"
fi

if [ "$unexpected" = 0 ]; then
    note "hw-check: as expected"
    exit 0
fi
note "hw-check: something was unexpected (the UNEXPECTED lines above)"
exit 1
