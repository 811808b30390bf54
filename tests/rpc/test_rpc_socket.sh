#!/usr/bin/env bash
# The guest RPC service's socket (docs/rpc.md, The socket): --socket-mode and
# --socket-group, a socket file left by an earlier run (replaced) against one a running
# instance listens on (refused, left alone), and systemd socket activation without
# systemd: a python3 helper binds the socket, puts it on fd 3, sets LISTEN_FDS and
# LISTEN_PID to its own pid and execs serve (same pid), as systemd does. The gate never
# ran here: GpuInfo answers {"attestation":""}. Every case asserts the exit status and
# the message, or the HTTP status and the body.
# Usage: test_rpc_socket.sh PATH/TO/dstack-gpu-attest
set -u
bin=$1
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
rpc_test_init
command -v curl >/dev/null || { echo "curl not installed: skipped"; exit 77; }
command -v python3 >/dev/null || { echo "python3 not installed: skipped"; exit 77; }

# The gate's config: only where the bundle and the log would be matter here.
printf '{"rim_dir":"%s/rims","nvml":"%s/no-nvml.so","sysfs_pci":"%s/pci","run_dir":"%s/run","event_log_dir":"%s/log","event_backend":"sim:%s/rtmr3.bin","verify_at":"2024-06-01T00:00:00Z","policy":"%s/policy.json"}\n' \
    "$tmp" "$tmp" "$tmp" "$tmp" "$tmp" "$tmp" "$tmp" >"$tmp/gate.json"

# start SOCKET CMD...: CMD in the background until something answers on SOCKET
start() {
    local s=$1
    shift
    "$@" 2>"$tmp/serve.err" &
    srv=$!
    for _ in $(seq 50); do
        curl -s -o /dev/null --unix-socket "$s" http://dstack/GpuInfo 2>/dev/null && return 0
        kill -0 "$srv" 2>/dev/null || break
        sleep 0.1
    done
    bad "serve did not start on $s: $(cat "$tmp/serve.err")"
    exit 1
}
serve_on() { # SOCKET [FLAGS...]
    local s=$1
    shift
    start "$s" "$bin" serve --config "$tmp/gate.json" --listen "unix:$s" "$@"
}
# answers NAME SOCKET: GpuInfo answers 200 {"attestation":""} there
answers() {
    local got
    got=$(curl -s -o "$tmp/body" -w '%{http_code}' --unix-socket "$2" http://dstack/GpuInfo)
    if [ "$got" = 200 ] && [ "$(cat "$tmp/body")" = '{"attestation":""}' ]; then
        ok "$1"
    else
        bad "$1: HTTP $got: $(head -c 300 "$tmp/body" 2>/dev/null)"
    fi
}
# refused NAME WANT_RC WANT_STDERR CMD...: exits WANT_RC with exactly that one line
refused() {
    local name=$1 want_rc=$2 want=$3
    shift 3
    timeout 10 "$@" >"$tmp/out" 2>"$tmp/err" # (one that serves instead is a failure, not a hang)
    local rc=$?
    if [ "$rc" != "$want_rc" ] || [ "$(cat "$tmp/err")" != "$want" ] || [ -s "$tmp/out" ]; then
        bad "$name: exit $rc, want $want_rc; stderr: $(cat "$tmp/err"); want: $want"
        return
    fi
    ok "$name"
}

# ---- mode and group ----
group=$(id -gn)
serve_on "$sock" --socket-mode 0660 --socket-group "$group"
[ "$(stat -c '%a %G' "$sock")" = "660 $group" ] || bad "socket mode and group: $(stat -c '%a %G' "$sock")"
answers "serves with --socket-group $group" "$sock"

# ---- a running instance's socket is refused and left alone ----
refused "second instance on a live socket" 3 \
    "dstack-gpu-attest: serve: unix:$sock: server-in-use: another instance is listening on the server's Unix socket (socket path)" \
    "$bin" serve --config "$tmp/gate.json" --listen "unix:$sock"
[ -S "$sock" ] || bad "the live socket was removed"
answers "the first instance still answers" "$sock"

# ---- an earlier run's socket (nothing listens: ECONNREFUSED) is replaced ----
kill -KILL "$srv"
wait "$srv" 2>/dev/null
srv=
[ -S "$sock" ] || bad "SIGKILL left no socket file to test with"
curl -s -o /dev/null --unix-socket "$sock" http://dstack/GpuInfo && bad "the killed instance still answers"
serve_on "$sock"
answers "stale socket replaced" "$sock"
[ "$(stat -c %a "$sock")" = 666 ] || bad "replaced socket mode $(stat -c %a "$sock")"
stop_serve
[ -e "$sock" ] && bad "socket left after stop"

# ---- refusals before listening ----
refused "unknown --socket-group" 2 \
    "dstack-gpu-attest: serve: --socket-group dga-no-such-group: server-group: the Unix socket's group does not exist" \
    "$bin" serve --config "$tmp/gate.json" --listen "unix:$sock" --socket-group dga-no-such-group
[ -e "$sock" ] && bad "unknown group: a socket file was made"
: >"$tmp/file"
refused "a regular file at the path" 3 \
    "dstack-gpu-attest: serve: unix:$tmp/file: server-listen: the server cannot listen on its address (socket path)" \
    "$bin" serve --config "$tmp/gate.json" --listen "unix:$tmp/file"
[ -f "$tmp/file" ] || bad "the regular file was removed"
refused "no --config" 2 "dstack-gpu-attest: serve: --config GATE.json is required" \
    "$bin" serve --listen "unix:$sock"
# the limits: the servers' one check, naming the option
for key in max-connections client-timeout client-request-timeout max-request; do
    refused "--$key 0" 2 "dstack-gpu-attest: serve: $key: invalid argument" \
        "$bin" serve --config "$tmp/gate.json" --listen "unix:$sock" "--$key" 0
done
[ -e "$sock" ] && bad "a refused limit: a socket file was made"

# ---- socket activation, as systemd does it ----
# activate KIND LISTEN_FDS CMD...: fd 3 = a KIND socket (unix: listening at $tmp/act.sock;
# unix-bound: bound there, not listening; tcp: listening on 127.0.0.1), LISTEN_PID = the
# pid that then execs CMD.
cat >"$tmp/activate.py" <<'EOF'
import os, socket, sys
kind, fds, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
if kind == "tcp":
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(os.environ["ACT_SOCK"])
if kind != "unix-bound":
    s.listen(16)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)  # (dup2 onto itself would leave it close-on-exec)
os.environ["LISTEN_FDS"] = fds
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["LISTEN_FDNAMES"] = "dstack-gpu-attest-rpc.socket"
os.execv(argv[0], argv)
EOF
act=$tmp/act.sock
export ACT_SOCK=$act
# (an array, not a function: `CMD &` then runs python3, and serve, as the pid in $srv)
activate=(python3 "$tmp/activate.py")
start "$act" "${activate[@]}" unix 1 "$bin" serve --config "$tmp/gate.json" --listen "unix:$tmp/ignored.sock"
answers "serves on the socket passed as fd 3" "$act"
[ -e "$tmp/ignored.sock" ] && bad "--listen was bound under socket activation"
grep -qF "dstack-gpu-attest serve: listening on the socket systemd passed (fd 3; --listen unix:$tmp/ignored.sock not used)" \
    "$tmp/serve.err" || bad "activation not logged: $(cat "$tmp/serve.err")"
grep -q 'pid=[0-9]* uid=[0-9]* gid=[0-9]* GET /GpuInfo 200' "$tmp/serve.err" ||
    bad "peer credentials not logged on the activated socket"
stop_serve
grep -q 'stopping (signal 15)' "$tmp/serve.err" || bad "activated serve did not stop on SIGTERM"
[ -S "$act" ] || bad "the activated socket's file was removed (systemd owns it)"
rm -f "$act"

refused "LISTEN_FDS=2" 2 \
    "dstack-gpu-attest: serve: unix:$sock: server-activation: the sockets systemd passed (LISTEN_FDS) are not one listening Unix stream socket (LISTEN_FDS)" \
    "${activate[@]}" unix 2 "$bin" serve --config "$tmp/gate.json" --listen "unix:$sock"
rm -f "$act"
refused "fd 3 a TCP socket" 2 \
    "dstack-gpu-attest: serve: unix:$sock: server-activation: the sockets systemd passed (LISTEN_FDS) are not one listening Unix stream socket (fd 3)" \
    "${activate[@]}" tcp 1 "$bin" serve --config "$tmp/gate.json" --listen "unix:$sock"
refused "fd 3 not listening" 2 \
    "dstack-gpu-attest: serve: unix:$sock: server-activation: the sockets systemd passed (LISTEN_FDS) are not one listening Unix stream socket (fd 3)" \
    "${activate[@]}" unix-bound 1 "$bin" serve --config "$tmp/gate.json" --listen "unix:$sock"
rm -f "$act"
[ -e "$sock" ] && bad "a refused activation bound --listen"
# LISTEN_PID naming another process: not ours, --listen is bound as usual
LISTEN_PID=1 LISTEN_FDS=1 serve_on "$sock"
answers "LISTEN_PID of another process: --listen used" "$sock"
grep -qF "listening on unix:$sock," "$tmp/serve.err" || bad "--listen not logged: $(cat "$tmp/serve.err")"
stop_serve

grep -E 'Sanitizer|runtime error' "$tmp"/*.err && bad "sanitizer report from serve"
rpc_test_done "rpc socket tests"
