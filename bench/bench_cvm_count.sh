#!/usr/bin/env bash
# Counts the ECDSA verifications of one relying-party verification of a CVM
# (dga_cvm_run: quote, collateral, event log, GPU binding, re-appraisal), by what
# each one verifies, rather than trusting a count written down: bench_cvm.sh
# --prepare builds the CVMs, then callgrind runs `bench_cvm --count N DIR GPUS`,
# collecting inside op_count only (one dga_cvm_run) with --separate-callers, so
# that each call of OpenSSL's ECDSA_do_verify (where every ECDSA verification
# ends: certificate, CRL or raw signature) carries its chain of callers. Each
# call is attributed to the nearest caller in the table below (the quote layer's
# steps, the GPU appraisal's functions), and whether it checked a certificate
# (X509_verify), a CRL (X509_CRL_verify) or a raw signature is read off the same
# chain. Counts are divided by N; a call no caller of the table explains is
# printed as "other" with its chain.
#   bench/bench_cvm_count.sh BUILD_DIR [N [GPUS]]     (default 3, 1; GPUS 1 or 8)
# Needs valgrind and python3; without valgrind it says so and exits 0.
set -euo pipefail
build=${1:?usage: bench_cvm_count.sh BUILD_DIR [N [GPUS]]}
n=${2:-3}
gpus=${3:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/bench/bench_cvm
[ -x "$bin" ] || { echo "bench_cvm_count: build $build first" >&2; exit 1; }
if ! command -v valgrind >/dev/null 2>&1; then
    echo "bench_cvm_count: valgrind is not installed (scripts/deps.sh); skipped"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/bench/bench_cvm.sh" --prepare "$build" "$tmp/cvm" >/dev/null
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" --toggle-collect=op_count \
    --separate-callers=40 "$bin" --count "$n" "$tmp/cvm" "$gpus" >"$tmp/out" 2>"$tmp/err" || {
    echo "bench_cvm_count: callgrind run failed:" >&2; cat "$tmp/out" "$tmp/err" >&2; exit 1
}
# callgrind's format: "cfn=(id) name" (the name only at an id's first use) names the
# callee of the next "calls=COUNT ..." line, whose following line ends with the call's
# inclusive instruction count. With --separate-callers a name is "f'caller'caller's caller...".
python3 - "$tmp/cg.out" "$n" "$gpus" <<'PY'
import re, sys
from collections import defaultdict
# The nearest caller decides what a verification was for (quote layer steps: lib/quote).
WHAT = [
    ('step_crls', 'quote', 'root CA CRL (step 0, collateral)'),
    ('step_tcb_info', 'quote', 'TCB info: signing chain, CRLs, signature'),
    ('step_qe_identity', 'quote', 'QE identity: signing chain, CRLs, signature'),
    ('step_pck_chain', 'quote', 'PCK chain: leaf, Platform CA, CRLs'),
    ('step_qe_report_signature', 'quote', 'QE report signature'),
    ('step_quote_signature', 'quote', 'quote signature'),
    ('dga_report_signature_verify', 'GPU', 'attestation report signature'),
    ('dga_device_chain_verify_cached', 'GPU', 'device certificate chain'),
    ('dga_device_chain_verify', 'GPU', 'device certificate chain'),
    ('dga_rim_signature_verify', 'GPU', 'RIM XML signatures'),
    ('dga_rim_chain_verify_cached', 'GPU', 'RIM certificate chains'),
    ('dga_rim_chain_verify', 'GPU', 'RIM certificate chains'),
]
names, callee = {}, None
calls, incl = defaultdict(int), defaultdict(int)
pending = None
ref = re.compile(r'^(c?fn)=\((\d+)\)(?: (.*))?$')
total = 0
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if pending is not None:
        incl[pending] += int(line.split()[-1])
        pending = None
        continue
    m = ref.match(line)
    if m:
        kind, i, name = m.groups()
        if name:
            names[i] = name
        callee = names.get(i) if kind == 'cfn' else None
    elif line.startswith('calls=') and callee is not None:
        calls[callee] += int(line.split()[0][len('calls='):])
        pending, callee = callee, None
    elif line.startswith('summary:') or line.startswith('totals:'):
        total = max(total, int(line.split()[1]))
n, gpus = int(sys.argv[2]), int(sys.argv[3])
runs = sum(v for k, v in calls.items() if k.split("'")[0] == 'dga_cvm_run')
if runs != n:
    sys.exit('bench_cvm_count: callgrind saw %d calls of dga_cvm_run, not %d' % (runs, n))

def base_calls(fn):
    return sum(v for k, v in calls.items() if k.split("'")[0] == fn)

def base_incl(fn):
    return sum(v for k, v in incl.items() if k.split("'")[0] == fn)

rows = defaultdict(lambda: [0, 0, 0, 0])  # cert, CRL, raw, instructions
order, other = [], []
for ctx, count in calls.items():
    chain = ctx.split("'")
    if chain[0] != 'ECDSA_do_verify':
        continue
    key = next(((side, what) for f in chain[1:] for (g, side, what) in WHAT if f == g), None)
    if key is None and any('ocsp' in f.lower() for f in chain[1:]):
        key = ('GPU', 'OCSP responses')
    if key is None:
        other.append((count, ' <- '.join(chain[1:12])))
        continue
    if key not in order:
        order.append(key)
    kind = 0 if 'X509_verify' in chain else 1 if 'X509_CRL_verify' in chain else 2
    rows[key][kind] += count
    rows[key][3] += incl[ctx]
labels = [(side, what) for _, side, what in WHAT] + [('GPU', 'OCSP responses')]
order.sort(key=labels.index)
print('ECDSA verifications per %d-GPU dga_cvm_run (callgrind, %d runs, inside op_count):' % (gpus, n))
print('  %-5s %-44s %5s %5s %5s %6s %9s' % ('side', 'what', 'cert', 'CRL', 'raw', 'total', 'M instr'))
sums = defaultdict(lambda: [0, 0, 0, 0])
for key in order:
    r = rows[key]
    print('  %-5s %-44s %5g %5g %5g %6g %9.2f' % (key[0], key[1], r[0] / n, r[1] / n, r[2] / n,
                                                  sum(r[:3]) / n, r[3] / n / 1e6))
    for i in range(4):
        sums[key[0]][i] += r[i]
for side in ('quote', 'GPU'):
    s = sums[side]
    print('  %-5s %-44s %5g %5g %5g %6g %9.2f' % (side, 'subtotal', s[0] / n, s[1] / n, s[2] / n,
                                                  sum(s[:3]) / n, s[3] / n / 1e6))
for count, chain in other:
    print('  other: %g per run: %s' % (count / n, chain))
every = base_calls('ECDSA_do_verify')
print('  all ECDSA_do_verify calls: %g per run (%.2f M instructions)' % (every / n, base_incl('ECDSA_do_verify') / n / 1e6))
if ('GPU', 'OCSP responses') not in rows:
    print('  OCSP responses: 0 (the policy does not require OCSP; the bundle carries none)')
print('instructions per run: %.1f M in all; inclusive:' % (total / n / 1e6))
for fn, what in (('dga_quote_collateral_parse', 'collateral JSON parse'),
                 ('dga_quote_verify', 'quote verification (quote layer)'),
                 ('dga_cvm_reappraise', 're-appraisal of the bundle'),
                 ('dga_cvm_verify', 'dga_cvm_verify (event log, binding, re-appraisal)')):
    print('  %-32s %-50s %7.2f M' % (fn, what, base_incl(fn) / n / 1e6))
for fn, what in (('d2i_X509', 'certificates decoded'),
                 ('OSSL_DECODER_CTX_new_for_pkey', 'public-key decoder set-ups'),
                 ('xmlCtxtReadMemory', 'XML documents parsed (libxml2)')):
    print('  %-32s %-50s %7g calls' % (fn, what, base_calls(fn) / n))
PY
grep -h 'library ECDSA counter' "$tmp/out" | sed 's/^/  bench_cvm: /'
