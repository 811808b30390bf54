# Shared by the CLI test scripts (sourced): run the program as a user would
# and check its exit status and output. Needs $bin, $tmp and failures=0.

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
