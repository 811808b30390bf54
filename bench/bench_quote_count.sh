#!/usr/bin/env bash
# Counts the P-256 verifications of one TDX quote verification, rather than
# trusting the count bench_quote.c states: callgrind runs `bench_quote --count
# N` collecting inside op_quote only (one dga_quote_parse + dga_quote_verify),
# and the call counts of OpenSSL's ECDSA_do_verify (every ECDSA verification,
# certificate, CRL or raw signature, ends there), X509_verify (certificates)
# and X509_CRL_verify (CRLs) are divided by N.
#   bench/bench_quote_count.sh BUILD_DIR [N]       (default 5)
# Needs valgrind (scripts/deps.sh) and python3; without valgrind it says so
# and exits 0 (the bench is not a test).
set -euo pipefail
build=${1:?usage: bench_quote_count.sh BUILD_DIR [N]}
n=${2:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/bench/bench_quote
[ -x "$bin" ] || { echo "bench_quote_count: build $build first" >&2; exit 1; }
if ! command -v valgrind >/dev/null 2>&1; then
    echo "bench_quote_count: valgrind is not installed (scripts/deps.sh); skipped"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DGA_FIXTURES=$here/tests/fixtures valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
    --toggle-collect=op_quote "$bin" --count "$n" >"$tmp/out" 2>"$tmp/err" || {
    echo "bench_quote_count: callgrind run failed:" >&2; cat "$tmp/out" "$tmp/err" >&2; exit 1
}
# callgrind's format: "cfn=(id) name" (the name only at an id's first use) names
# the callee of the next "calls=COUNT ..." line.
python3 - "$tmp/cg.out" "$n" <<'PY'
import re, sys
names, calls, callee = {}, {}, None
ref = re.compile(r'^(c?fn)=\((\d+)\)(?: (.*))?$')
for line in open(sys.argv[1]):
    m = ref.match(line.rstrip('\n'))
    if m:
        kind, i, name = m.groups()
        if name:
            names[i] = name
        callee = names.get(i) if kind == 'cfn' else None
    elif line.startswith('calls=') and callee is not None:
        calls[callee] = calls.get(callee, 0) + int(line.split()[0][len('calls='):])
        callee = None
n = int(sys.argv[2])
quotes = calls.get('op_quote', 0)
if quotes != n:
    sys.exit('bench_quote_count: callgrind saw %d calls of op_quote, not %d' % (quotes, n))
print('per quote verification (callgrind, %d verifications, inside op_quote):' % n)
for fn, what in (('ECDSA_do_verify', 'ECDSA verifications (all P-256)'),
                 ('X509_verify', 'certificate signatures'),
                 ('X509_CRL_verify', 'CRL signatures'),
                 ('d2i_X509', 'certificates decoded'),
                 ('OSSL_DECODER_CTX_new_for_pkey', 'key decoder set-ups')):
    print('  %-32s %-30s %6.2f' % (fn, what, calls.get(fn, 0) / n))
PY
grep -h 'library counter' "$tmp/out" | sed 's/^/  bench_quote: /'
