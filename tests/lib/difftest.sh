# shellcheck shell=bash
# Shared by the differential tests (sourced, bash): tests/diff/test_rim_xmlsec.sh
# and tests/oracle/test_oracle_diff.sh. Their conventions, kept here once:
#   - one argument, BIN (the program); anything else is a usage error, exit 2;
#   - a tool or input they need that is missing FAILS the test (exit 1, one line
#     "NAME: why" on stderr): a differential test that cannot run must not pass;
#   - exit 77 (ctest's SKIP_RETURN_CODE) only when the user asked for a skip.

# diff_init NAME JOBS_VAR "$@": $diff_name, $bin, $here (the calling script's
# directory), $fixtures (DGA_FIXTURES, else tests/fixtures beside it) and $jobs
# (the environment variable JOBS_VAR, else nproc).
diff_init() {
    diff_name=$1
    local jobs_var=$2
    shift 2
    if [ $# -ne 1 ]; then
        echo "usage: $0 BIN" >&2
        exit 2
    fi
    bin=$1
    here=$(cd "$(dirname "$0")" && pwd)
    # shellcheck disable=SC2034 # for the calling script
    fixtures=${DGA_FIXTURES:-$here/../fixtures}
    # shellcheck disable=SC2034 # for the calling script
    jobs=${!jobs_var:-$(nproc 2>/dev/null || echo 2)}
}

# diff_fail WHY: "NAME: WHY" on stderr, exit 1.
diff_fail() {
    echo "$diff_name: $*" >&2
    exit 1
}

# diff_skip_if VAR: exit 77 when the environment variable VAR is 1.
diff_skip_if() {
    if [ "${!1:-}" = 1 ]; then
        echo "$diff_name: SKIPPED ($1=1)"
        exit 77
    fi
}

# diff_need TOOL HINT: fails unless TOOL is on PATH; HINT says how to install it.
diff_need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        diff_fail "$1 not found; $2"
    fi
}

# diff_start: fails unless BIN is an executable; then $tmp (a scratch directory,
# removed at exit) and $start (the time, for diff_elapsed).
diff_start() {
    if [ ! -x "$bin" ]; then
        diff_fail "$bin is not an executable"
    fi
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/$diff_name.XXXXXX") || exit 1
    trap 'rm -rf "$tmp"' EXIT
    start=$(date +%s)
}

# diff_elapsed: the seconds since diff_start, as "Ns".
diff_elapsed() {
    printf '%ss' $(($(date +%s) - start))
}
