# Shared by the CLI test scripts (sourced): run the program as a user would
# and check its exit status and output. Needs $bin, $tmp and failures=0
# (cli_init sets them).

# cli_init BIN: $bin, $fx (DGA_FIXTURES, else tests/fixtures), $tmp (a directory removed
# at exit) and failures=0.
cli_init() {
    bin=$1
    fx=${DGA_FIXTURES:-tests/fixtures}
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    failures=0
}

# cli_done WHAT: the count of failures and exit 1 if any, else "all WHAT passed".
cli_done() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures failure(s)"
        exit 1
    fi
    echo "all $1 passed"
}

# run WANT_RC NAME -- ARGS...: runs the program, keeps stdout/stderr in $tmp
run() {
    local want=$1 name=$2
    shift 3
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL $name: exit $rc, want $want"; sed 's/^/  stderr: /' "$tmp/err" | head -5
        failures=$((failures + 1))
        return 1
    fi
    echo "ok   $name"
}

# expect FILE PATTERN NAME: grep -F the pattern in out or err
expect() {
    if ! grep -qF -- "$2" "$tmp/$1"; then
        echo "FAIL $3: '$2' not in $1"; head -20 "$tmp/$1" | sed 's/^/  /'
        failures=$((failures + 1))
    fi
}

# expect_line FILE LINE NAME: LINE is a whole line of out or err
expect_line() {
    if ! grep -qxF -- "$2" "$tmp/$1"; then
        echo "FAIL $3: line '$2' not in $1"; head -5 "$tmp/$1" | sed 's/^/  /'
        failures=$((failures + 1))
    fi
}

# expect_count FILE N NAME: FILE has exactly N lines
expect_count() {
    local n
    n=$(wc -l <"$tmp/$1")
    if [ "$n" -ne "$2" ]; then
        echo "FAIL $3: $1 has $n lines, want $2"; failures=$((failures + 1))
    fi
}

# expect_empty FILE NAME
expect_empty() {
    if [ -s "$tmp/$1" ]; then
        echo "FAIL $2: $1 is not empty"; head -3 "$tmp/$1" | sed 's/^/  /'
        failures=$((failures + 1))
    fi
}
