# shellcheck shell=bash
# The ECDSA verifications of one process run, counted under callgrind as the calls of
# OpenSSL's ECDSA_do_verify (where every ECDSA verification ends: certificate, CRL or raw
# signature), for benches of a whole CLI process, which reports no count itself
# (bench_topology.sh, bench_ppcie.sh; sourced). Only the process itself is counted: callgrind
# does not follow its children (the gate's NVML and NSCQ children verify nothing).

# ecdsa_have: valgrind is installed.
ecdsa_have() { command -v valgrind >/dev/null 2>&1; }

# ecdsa_count OUTFILE CMD...: CMD once under callgrind (its output discarded, its exit status
# not checked: the caller checked the same command untimed), then the ECDSA_do_verify calls.
ecdsa_count() {
    local out=$1
    shift
    valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>&1 || true
    # Every call site of ECDSA_do_verify: "cfn=(id) ECDSA_do_verify" (or "cfn=(id)" once
    # named), then "calls=N ...".
    awk '
        /^fn=\([0-9]+\) ECDSA_do_verify$/ || /^cfn=\([0-9]+\) ECDSA_do_verify$/ {
            match($0, /\([0-9]+\)/); id = substr($0, RSTART, RLENGTH) }
        /^cfn=/ { match($0, /\([0-9]+\)/); cur = substr($0, RSTART, RLENGTH) }
        /^calls=/ && id != "" && cur == id { split($0, a, /[= ]/); n += a[2] }
        END { print n + 0 }' "$out"
}
