# shellcheck shell=bash
# Helpers for the tests that start a server of this project (proxy, verifier, kms-hook)
# and wait for it. Sourced; server_test_init sets up what the others use: $tmp (a scratch
# directory) and the array pids (every process the test starts, killed at exit).

# server_test_init [MKTEMP_TEMPLATE]: $tmp (removed at exit unless KEEP_TMP is set),
# pids=() (each killed, then waited for, at exit) and failures=0 (counted by fail).
server_test_init() {
    tmp=$(mktemp -d ${1:+"$1"})
    pids=()
    failures=0
    trap server_test_cleanup EXIT
}

server_test_cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}

ok() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

# server_test_done LINE: the count of failures and exit 1 if any, else LINE.
server_test_done() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures failure(s)"
        exit 1
    fi
    echo "$1"
}

# wait_for FILE PERL_REGEX: prints the first capture once the file has a matching line
# (10 s at most; then the file goes to stderr and the status is 1).
wait_for() {
    local v
    for _ in $(seq 1 200); do
        v=$(perl -ne "if (/$2/) { print \$1; exit }" "$1" 2>/dev/null)
        if [ -n "$v" ]; then
            echo "$v"
            return 0
        fi
        sleep 0.05
    done
    echo "wait_for: no /$2/ in $1" >&2
    cat "$1" >&2
    return 1
}

# start_server NAME COMMAND...: runs COMMAND in the background with its stderr (and stdout)
# in $tmp/NAME.log, records it in pids, and sets ${NAME}_pid and ${NAME}_port from the
# service layer's "listening on ... (port N)" line.
# shellcheck disable=SC2154 # tmp and pids are the caller's (above)
start_server() {
    local name=$1
    shift
    "$@" >"$tmp/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    printf -v "${name}_pid" %s "$pid"
    printf -v "${name}_port" %s "$(wait_for "$tmp/$name.log" '\(port (\d+)\)')"
}

# slow_client PORT HEAD FILLER: in the background (its pid in slow_pid), a client that sends
# HEAD (a request line and headers announcing a body), then FILLER, one byte every half
# second, until the server closes the connection (10 s at most); it writes how many seconds
# the connection lived to $tmp/slow.out.
slow_client() {
    perl -MIO::Socket::INET -MTime::HiRes=time,sleep -e '
        $SIG{PIPE} = "IGNORE";
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0]) or die;
        $s->autoflush(1);
        syswrite($s, $ARGV[1]);
        my $t0 = time;
        while (time - $t0 < 10) {
            last unless defined syswrite($s, $ARGV[2]);
            my $rin = ""; vec($rin, fileno($s), 1) = 1;
            if (select(my $r = $rin, undef, undef, 0.5) > 0) {
                my $n = sysread($s, my $buf, 4096);
                last if !defined $n || $n == 0;
            }
        }
        printf "%.1f\n", time - $t0;' "$1" "$2" "$3" >"$tmp/slow.out" 2>&1 &
    slow_pid=$!
}

# slow_client_cut LOG: waits for slow_client; ok when the server cut it after about 2 s (a
# client-request-timeout of 2) and said so in LOG, else fail.
slow_client_cut() {
    wait "$slow_pid"
    local life
    life=$(cat "$tmp/slow.out")
    if perl -e 'exit !($ARGV[0] >= 1.5 && $ARGV[0] < 5)' "$life" 2>/dev/null; then
        ok "slow client cut after ${life}s"
    else
        fail "slow client: connection lived '${life}'s, want about 2"
    fi
    grep -q "closed 1 connection(s) past client-request-timeout" "$1" ||
        fail "slow client: the cut is not logged"
}
