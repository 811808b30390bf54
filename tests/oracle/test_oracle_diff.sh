#!/usr/bin/env bash
# Differential test of TDX quote verification against the npm oracle
# @phala/dcap-qvl 0.3.9 (tests/oracle/package-lock.json; docs/quote.md,
# "Differential test").
#
#   tests/oracle/test_oracle_diff.sh BIN
#
# 1. tests/oracle/mutants.py writes the cases (the real vectors of
#    tests/fixtures/tdx and dstack, bit flips, truncations, padding,
#    collateral edits, times around every window, cross pairings);
# 2. tests/oracle/oracle.js runs all of them in one node process;
# 3. tests/oracle/compare.py runs `BIN quote verify ... --json` on each and
#    compares the verdict classes; disagreements listed in
#    tests/oracle/expected_disagreements.tsv (we stricter, never laxer) are
#    reported and do not fail.
# The oracle's own answers are checked too, where a case records the result
# the oracle gave when it was chosen.
#
# Until BIN has the `quote verify` command (its --help lists the commands),
# only steps 1, 2 and the oracle checks run, with a NOTE; once it has it, the
# comparison is mandatory.
#
# A missing oracle (node, or tests/oracle/node_modules: run scripts/deps.sh)
# FAILS the test; DGA_SKIP_ORACLE=1 skips it instead (exit 77).
# Environment: DGA_FIXTURES (fixtures dir), ORACLE_JOBS (parallel CLI runs,
# default nproc), ORACLE_KEEP (a directory to keep the cases and results in),
# ORACLE_SAMPLE=N (check only every Nth case; the sanitizer build sets 8).
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/difftest.sh
. "$(dirname "$0")/../lib/difftest.sh"

diff_init quote_oracle_diff ORACLE_JOBS "$@"
diff_skip_if DGA_SKIP_ORACLE
if ! command -v node >/dev/null 2>&1 ||
    [ ! -f "$here/node_modules/@phala/dcap-qvl/package.json" ]; then
    diff_fail "the oracle is not installed (node and" \
        "tests/oracle/node_modules/@phala/dcap-qvl); run scripts/deps.sh," \
        "or set DGA_SKIP_ORACLE=1 to skip this test"
fi
diff_need python3 "Debian package python3"
diff_start

if ! python3 "$here/mutants.py" "$fixtures" "$tmp"; then
    echo "quote_oracle_diff: mutant generation failed" >&2
    exit 1
fi
sample=${ORACLE_SAMPLE:-1}
case $sample in
"" | *[!0-9]* | 0) echo "quote_oracle_diff: ORACLE_SAMPLE must be a positive integer" >&2; exit 1 ;;
esac
if [ "$sample" -gt 1 ]; then
    awk -v n="$sample" '(NR - 1) % n == 0' "$tmp/cases.jsonl" >"$tmp/sampled.jsonl" &&
        mv "$tmp/sampled.jsonl" "$tmp/cases.jsonl" || exit 1
    echo "quote_oracle_diff: every ${sample}th case ($(wc -l <"$tmp/cases.jsonl") cases)"
fi
if ! node "$here/oracle.js" "$tmp/cases.jsonl" >"$tmp/oracle.jsonl"; then
    echo "quote_oracle_diff: oracle.js failed" >&2
    exit 1
fi

cmp_args=()
# The command table of BIN, as its --help prints it: "  quote verify  ...".
if "$bin" --help 2>/dev/null | grep -Eq '^[[:space:]]+quote[[:space:]]+verify([[:space:]]|$)'; then
    cmp_args=(--bin "$bin" --jobs "$jobs")
else
    echo "quote_oracle_diff: NOTE: $bin has no 'quote verify' command yet;" \
        "checking the oracle side only"
fi
# compare.py refuses fewer than 500 cases; a sample needs that many / N.
python3 "$here/compare.py" "$tmp" --min-cases $((500 / sample)) "${cmp_args[@]}"
status=$?
if [ -n "${ORACLE_KEEP:-}" ]; then
    mkdir -p "$ORACLE_KEEP" && cp -r "$tmp"/. "$ORACLE_KEEP"/
fi
echo "quote_oracle_diff: $(diff_elapsed)"
exit $status
