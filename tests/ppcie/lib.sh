# shellcheck shell=bash
# What the PPCIe board tests share, sourced after tests/cli/lib.sh; they call board_init first
# and set $N (the nonce). board_init needs $here to be a folder of tests/ (the board tests',
# or tests/nvattest for the drop-in's NVSwitch test); collect_board needs it to be this one.

# board_init BINARY LIBFAKE_NVML LIBFAKE_NSCQ: cli_init, $nvml and $nscq (the fakes), $fx (the
# fixtures, absolute, exported as DGA_FIXTURES), the fakes' scenarios exported as
# $tmp/b/nvml.json and $tmp/b/nscq.json (where make_board.sh writes them).
board_init() {
    cli_init "$1"
    nvml=$2
    nscq=$3
    fx=${DGA_FIXTURES:-$here/../fixtures}
    fx=$(cd "$fx" && pwd)
    export DGA_FIXTURES=$fx
    export DGA_FAKE_NVML_SCENARIO=$tmp/b/nvml.json DGA_FAKE_NSCQ_SCENARIO=$tmp/b/nscq.json
}

# collect_board NAME [KNOB...]: make_board.sh's board into $tmp/b, `collect --nscq` on the fakes
# into $tmp/ev.json, split into nvattest's GPU ($tmp/gpus.json) and NVSwitch
# ($tmp/switches.json) evidence JSON. Returns 1 (the failure counted) when either step fails.
collect_board() {
    local name=$1
    shift
    rm -rf "$tmp/b" "$tmp/ev.json"
    "$here/make_board.sh" "$tmp/b" "$@" || { echo "FAIL $name: make_board.sh"; failures=$((failures + 1)); return 1; }
    run 0 "$name: collect" -- collect --nvml "$nvml" --nscq "$nscq" --sysfs "$tmp/b/pci" \
        --nonce "$N" --out "$tmp/ev.json" || return 1
    jq '{evidences: .evidences}' "$tmp/ev.json" >"$tmp/gpus.json"
    jq .switches "$tmp/ev.json" >"$tmp/switches.json"
}
