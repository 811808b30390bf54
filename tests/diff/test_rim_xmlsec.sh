#!/usr/bin/env bash
# Differential test of the RIM signature verdict against xmlsec1.
#
#   tests/diff/test_rim_xmlsec.sh BIN
#
# For every RIM under $DGA_FIXTURES (default tests/fixtures) and its mutants
# (tests/diff/mutate_rims.pl), the verdict of `BIN rim verify FILE --at T`
# must equal the verdict of
#
#   xmlsec1 --verify --enabled-key-data x509 --trusted-pem ROOT \
#           --verification-gmt-time "YYYY-MM-DD HH:MM:SS" FILE
#
# with ROOT = the NVIDIA CoRIM signing Root CA and the same time T. Exit 0
# (accept) against exit 1 (reject); any other exit status of either tool
# (usage, I/O, crash, timeout) is a disagreement too. Prints one line per
# disagreement and a summary; exits 1 on any disagreement, if fewer than 300
# mutants were produced, or if xmlsec1 is missing.
#
# A disagreement whose mutation kind and verdict pair (ours/xmlsec1) are listed
# in tests/diff/expected_disagreements.tsv, and where our rejection carries the
# error name listed there, is reported as by design and does not fail the test.
#
# Environment: DGA_FIXTURES (fixtures dir), DIFF_JOBS (parallel workers,
# default nproc), DIFF_TIMEOUT (seconds per call, default 20), DIFF_KEEP (a
# directory to copy the disagreeing mutants into, with the manifest lines).
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/difftest.sh
. "$(dirname "$0")/../lib/difftest.sh"

diff_init rim_xmlsec_diff DIFF_JOBS "$@"
root_pem=$fixtures/roots/nvidia_corim_signing_root_ca.pem
per_call=${DIFF_TIMEOUT:-20}
min_mutants=300

diff_need xmlsec1 "install it with scripts/deps.sh (Debian package xmlsec1: apt-get install xmlsec1)"
if [ ! -f "$root_pem" ]; then
    diff_fail "$root_pem missing (set DGA_FIXTURES)"
fi
diff_start
if ! perl "$here/mutate_rims.pl" "$fixtures" "$tmp/m" 2>"$tmp/gen.log"; then
    cat "$tmp/gen.log" >&2
    echo "rim_xmlsec_diff: mutant generation failed" >&2
    exit 1
fi
manifest=$tmp/m/manifest.tsv
total=$(wc -l <"$manifest")

# verdict RC: accept, reject, or error(RC) (timeout = 124, signal = 128+N)
verdict() {
    case $1 in
        0) printf accept ;;
        1) printf reject ;;
        *) printf 'error(%s)' "$1" ;;
    esac
}

# The first non-empty stderr line; xmlsec1's "func=F:file=...:error=N:msg"
# is shortened to "F: error=N:msg".
first_line() {
    local l
    l=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | sed -n -e '1p' -e '/^| /p' | head -2 |
        sed -e 's/^func=\([^:]*\):file=.*:error=/\1: error=/' | tr '\n' ' ' | cut -c1-240)
    printf '%s' "${l:-<no stderr>}"
}

# worker CHUNK OUT: one result line per manifest line:
# mutation file at ours xmlsec ours-stderr xmlsec-stderr
worker() {
    local chunk=$1 out=$2 file at mutation rc_o rc_x e=$2.err
    while IFS=$'\t' read -r file at mutation _; do
        timeout "$per_call" "$bin" rim verify "$tmp/m/$file" --at "$at" >"$e.so" 2>"$e.o" </dev/null
        rc_o=$?
        local gmt=${at/T/ }
        gmt=${gmt%Z}
        timeout "$per_call" xmlsec1 --verify --enabled-key-data x509 --trusted-pem "$root_pem" \
            --verification-gmt-time "$gmt" "$tmp/m/$file" >/dev/null 2>"$e.x" </dev/null
        rc_x=$?
        local v_o v_x m_o=- m_x=- names=-
        v_o=$(verdict $rc_o)
        v_x=$(verdict $rc_x)
        if [ "$v_o" != "$v_x" ] || [ "${v_o#error}" != "$v_o" ]; then
            # ours: the stderr line without the temp path, then the first FAIL line of stdout
            sed -i -e "s|$tmp/m/$file: ||" -e "s|$tmp/m/||g" "$e.o"
            # the stable error names our program prints in brackets, e.g. [rim-dtd]
            names=$(grep -o '\[[a-z0-9-]*\]' "$e.o" | tr -d '\n')
            names=${names:--}
            grep -m1 'FAIL' "$e.so" | sed -e 's/^ */| /' >>"$e.o"
            m_o=$(first_line "$e.o")
            m_x=$(first_line "$e.x")
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mutation" "$file" "$at" "$v_o" "$v_x" "$m_o" \
            "$m_x" "$names"
    done <"$chunk" >"$out"
}

split -n "r/$jobs" -d "$manifest" "$tmp/chunk."
pids=()
for c in "$tmp"/chunk.*; do
    worker "$c" "$c.res" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
cat "$tmp"/chunk.*.res | sort >"$tmp/results.tsv"

# Disagreements decided to be by design:
# "mutation<TAB>ours<TAB>xmlsec1<TAB>our error name<TAB>why". Our rejection must
# carry that error name, so that it is rejected for the reason we designed.
declare -A expected=() expected_err=() expected_why=() expected_n=()
if [ -f "$here/expected_disagreements.tsv" ]; then
    while IFS=$'\t' read -r k o x err why; do
        case $k in '#'* | '') continue ;; esac
        expected[$k]="$o/$x"
        expected_err[$k]=$err
        expected_why[$k]=$why
    done <"$here/expected_disagreements.tsv"
fi

done_n=$(wc -l <"$tmp/results.tsv")
agree_accept=0 agree_reject=0 disagree=0 by_design=0
declare -A dis_kind=()
while IFS=$'\t' read -r mutation file at v_o v_x e_o e_x names; do
    if [ "$v_o" = "$v_x" ] && [ "${v_o#error}" = "$v_o" ]; then
        if [ "$v_o" = accept ]; then
            agree_accept=$((agree_accept + 1))
        else
            agree_reject=$((agree_reject + 1))
        fi
        continue
    fi
    if [ "${expected[$mutation]:-}" = "$v_o/$v_x" ] &&
        [[ "$names" == *"[${expected_err[$mutation]}]"* ]]; then
        by_design=$((by_design + 1))
        expected_n[$mutation]=$((${expected_n[$mutation]:-0} + 1))
        continue
    fi
    disagree=$((disagree + 1))
    dis_kind[$mutation]=$((${dis_kind[$mutation]:-0} + 1))
    echo "DISAGREE $mutation $file at=$at ours=$v_o xmlsec1=$v_x"
    echo "    ours:    $e_o"
    echo "    xmlsec1: $e_x"
    if [ -n "${expected[$mutation]:-}" ]; then
        echo "    listed as by design with [${expected_err[$mutation]}], but ours said: $names"
    fi
    if [ -n "${DIFF_KEEP:-}" ]; then
        mkdir -p "$DIFF_KEEP"
        cp "$tmp/m/$file" "$DIFF_KEEP/"
        grep -F "$file" "$manifest" >>"$DIFF_KEEP/manifest.tsv"
    fi
done <"$tmp/results.tsv"

status=0
if [ "$by_design" -ne 0 ]; then
    echo "disagreements listed in expected_disagreements.tsv (not failures):"
    for k in "${!expected_n[@]}"; do
        printf '  %4d %s (%s, [%s]): %s\n' "${expected_n[$k]}" "$k" "${expected[$k]}" \
            "${expected_err[$k]}" "${expected_why[$k]}"
    done | sort -k2
fi
if [ "$disagree" -ne 0 ]; then
    echo "disagreements by mutation kind:"
    for k in "${!dis_kind[@]}"; do printf '  %4d %s\n' "${dis_kind[$k]}" "$k"; done | sort -k2
    status=1
fi
grep -v 'does not apply' "$tmp/gen.log"
echo "rim_xmlsec_diff: $total mutants ($done_n checked), agree-accept $agree_accept," \
    "agree-reject $agree_reject, disagreements $disagree (+ $by_design by design)," \
    "$(diff_elapsed)"
if [ "$total" -lt "$min_mutants" ] || [ "$done_n" -ne "$total" ]; then
    echo "rim_xmlsec_diff: expected at least $min_mutants mutants, all checked" >&2
    status=1
fi
exit $status
