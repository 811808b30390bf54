#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Compares our TDX quote verdicts with the npm oracle's, case by case.

    compare.py CASEDIR [--bin DSTACK_GPU_ATTEST] [--jobs N] [--min-cases N]

CASEDIR holds cases.jsonl (tests/oracle/mutants.py) and oracle.jsonl (the
output of tests/oracle/oracle.js on it). With --bin, every case is also run
through `BIN quote verify QUOTE --collateral FILE --at @NOW --json` and the
two verdicts are compared; without it only the oracle side is checked (the
harness self-test: every oracle message maps to a class, and the cases that
carry an "expect" give it).

Each side's verdict is mapped to a class (CLASSES, ORACLE_RULES): a pass
carries its status and advisory ids, which must be equal; a failure is
compared by class. A disagreement fails the run unless
  - the case lists several "faults" (it breaks several checks at once) and
    both classes are among them: each verifier reports the check it runs
    first, which is an order, not a verdict, difference; or
  - tests/oracle/expected_disagreements.tsv lists the case's kind (a glob),
    our exact error name and the oracle's class (or "pass"). Every line
    there has us rejecting: we may be stricter than the oracle, never
    laxer, and a line saying otherwise is refused.
Exit 0 when everything agrees, 1 on any disagreement or harness failure, 2
on usage or unreadable input.
"""

import argparse
import concurrent.futures
import fnmatch
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Verdict classes with more than one of our error names (include/dga/error.h);
# any other error name is a class of its own, named as the error.
CLASSES = {
    "parse": ["truncated", "too-large", "trailing-bytes", "quote-input", "quote-version",
              "quote-tee-type", "quote-sgx", "quote-key-type", "quote-body", "quote-cert-data",
              "quote-auth-data", "quote-padding"],
    "cert": ["bad-pem", "bad-certificate", "bad-der", "chain-length", "chain-root",
             "chain-invalid", "chain-order", "chain-algorithm", "pck-chain", "tcb-signing-chain",
             "pck-extension"],
    "cert-time": ["chain-expired"],
    "crl-time": ["crl-not-yet-valid", "crl-expired"],
    "td-attributes": ["td-debug", "td-reserved-attributes", "td-sept-ve-disabled",
                      "td-service-td"],
    "tdx-module": ["tdx-module-missing", "tdx-module-identity", "tdx-module-mrsigner",
                   "tdx-module-attributes", "tdx-module-isvsvn"],
}
CLASS_OF = {e: c for c, names in CLASSES.items() for e in names}

# The oracle's messages (@phala/dcap-qvl 0.3.9, src/verify.js, quote.js,
# utils.js; " <- " joins the cause chain) to classes. First match wins.
ORACLE_RULES = [
    (r"^Failed to decode quote( <- |$)", "parse"),
    (r"^Unsupported DCAP (quote version|TEE type|attestation key type)$", "parse"),
    (r"^(SGX|TDX) TEE quote must have version", "parse"),
    (r"^Unsupported DCAP PCK cert format: \d+\.", "parse"),
    (r"^Unsupported (cert type|auth data version)", "parse"),
    (r"^ISV enclave report signature is invalid$", "quote-signature"),
    (r"^Signature is invalid for qe_report in quote$", "qe-report-signature"),
    (r"^QE report hash mismatch$", "qe-report-data"),
    (r"^Signature is invalid for tcb_info$", "tcb-info-signature"),
    (r"^Signature is invalid for qe_identity$", "qe-identity-signature"),
    (r"^Failed to decode TcbInfo( <- |$)", "tcb-info-malformed"),
    (r"^Failed to decode QeIdentity( <- |$)", "qe-identity-malformed"),
    (r"^TCBInfo issue date is in the future$", "tcb-info-not-yet-valid"),
    (r"^TCBInfo expired$", "tcb-info-expired"),
    (r"^QE Identity issue date is in the future$", "qe-identity-not-yet-valid"),
    (r"^QE Identity expired$", "qe-identity-expired"),
    (r"^TDX quote with non-TDX TCB info", "tcb-info-tee"),
    (r"^Unsupported QE Identity id/version", "qe-identity-tee"),
    (r"^Fmspc mismatch$", "fmspc-mismatch"),
    (r"^No matching TCB level found$", "tcb-no-matching-level"),
    (r"^No (SGX|TDX) components in the TCB info$", "tcb-components"),
    (r"^TCB status is invalid: ", "tcb-revoked"),
    (r"^QE MRSIGNER mismatch", "qe-mrsigner"),
    (r"^QE ISVPRODID mismatch", "qe-isvprodid"),
    (r"^QE MISCSELECT mismatch", "qe-miscselect"),
    (r"^QE ATTRIBUTES mismatch", "qe-attributes"),
    (r"^(QE ISVSVN \d+ is below|No TCB levels found in QE Identity)", "qe-isvsvn"),
    (r"^(Debug mode is enabled|Reserved bits in TD attributes|SEPT_VE_DISABLE is not enabled|"
     r"Invalid mr service td)", "td-attributes"),
    (r"^Certificate is expired or not yet valid$", "cert-time"),
    (r"^Certificate is revoked$", "cert-revoked"),
    # certificates that do not decode, chain, or carry the SGX extension:
    # Node's OpenSSL ("error:XXXXXXXX:..."), asn1.js, dcap-qvl's own checks
    (r"^(Failed to verify certificate chain|Certificate chain is too short|CaUsedAsEndEntity$|"
     r"Failed to extract PCK certificates|Empty certificate chain|error:[0-9A-F]{8}:|"
     r"Intel extension (not found|ambiguity)|OID [0-9.]+ is missing|"
     r"(Fmspc|CpuSvn|PceSvn) length mismatch|Invalid certificate$)", "cert"),
    # a collateral member of the wrong type or length (Buffer.from(undefined),
    # a signature that is not 64 bytes)
    (r"^(The first argument must be of type string|Cannot read properties of (undefined|null)|"
     r"Key length is invalid: expected 64)", "quote-collateral"),
]


def oracle_class(msg):
    for rx, cls in ORACLE_RULES:
        if re.search(rx, msg):
            return cls
    return None


def our_class(err):
    return CLASS_OF.get(err, err)


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def load_expected(path):
    """kind glob, our error, oracle class or "pass", why."""
    rows, bad = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 4 or not all(c.strip() for c in cols):
                bad.append("%s:%d: want 4 tab-separated columns: kind ours oracle why" % (path, n))
                continue
            kind, ours, oracle, why = cols
            if ours == "pass" or ours not in KNOWN_ERRORS:
                bad.append("%s:%d: ours must be one of our error names (we are never laxer "
                           "than the oracle), not %r" % (path, n, ours))
                continue
            rows.append({"kind": kind, "ours": ours, "oracle": oracle, "why": why, "n": 0})
    return rows, bad


def known_errors():
    """The stable error names of include/dga/error.h."""
    path = os.path.join(HERE, "..", "..", "include", "dga", "error.h")
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return set()
    return set(re.findall(r'X\(\s*[A-Z0-9_]+\s*,\s*"([a-z0-9-]+)"', text))


KNOWN_ERRORS = known_errors()


def run_ours(binary, casedir, case, timeout):
    cmd = [binary, "quote", "verify", case["quote"], "--collateral", case["collateral"],
           "--at", "@%d" % case["now"], "--json"]
    try:
        p = subprocess.run(cmd, cwd=casedir, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"rc": 124, "raw": "timeout"}
    out = {"rc": p.returncode, "raw": (p.stdout.decode("utf-8", "replace").strip() or
                                       p.stderr.decode("utf-8", "replace").strip())[:300]}
    try:
        j = json.loads(p.stdout)
    except ValueError:
        return out
    if p.returncode == 0 and j.get("verified") is True:
        out.update(ok=True, status=j.get("status"), advisory_ids=j.get("advisory_ids"))
    elif p.returncode == 1 and j.get("verified") is False and isinstance(j.get("error"), str):
        out.update(ok=False, error=j["error"], message=j.get("message"))
    return out


def describe_ours(r):
    if r.get("ok") is True:
        return "pass %s %s" % (r["status"], json.dumps(r["advisory_ids"]))
    if r.get("ok") is False:
        return "fail [%s] %s" % (r["error"], r.get("message") or "")
    return "error(rc=%d) %s" % (r["rc"], r["raw"])


def describe_oracle(o):
    if o["ok"]:
        return "pass %s %s" % (o["status"], json.dumps(o["advisory_ids"]))
    return "fail %s" % o["error"]


def check_expect(case, o):
    e = case.get("expect")
    if not e:
        return None
    if e.get("ok"):
        if o["ok"] and o["status"] == e["status"]:
            return None
    elif not o["ok"] and o["error"].startswith(e["error"]):
        return None
    return "expected %s, oracle gave %s" % (json.dumps(e), describe_oracle(o))


def judge(case, o, r, expected):
    """(verdict, detail): verdict is agree, order, by-design or DISAGREE."""
    ocls = "pass" if o["ok"] else oracle_class(o["error"])
    if r.get("ok") is None:
        return "DISAGREE", "our CLI gave no verdict"
    if o["ok"] and r["ok"]:
        if o["status"] == r["status"] and o["advisory_ids"] == r["advisory_ids"]:
            return "agree", None
        return "DISAGREE", "status or advisories differ"
    if not o["ok"] and r["ok"]:
        return "DISAGREE", "we accept what the oracle rejects"
    ucls = our_class(r["error"])
    if ucls == ocls:
        return "agree", None
    faults = case.get("faults") or []
    if ucls in faults and ocls in faults:
        return "order", None
    for row in expected:
        if (fnmatch.fnmatchcase(case["kind"], row["kind"]) and row["ours"] == r["error"] and
                row["oracle"] == ocls):
            row["n"] += 1
            return "by-design", row
    return "DISAGREE", "classes differ: ours %s, oracle %s" % (ucls, ocls)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("casedir")
    ap.add_argument("--bin")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=int, default=30)
    ap.add_argument("--min-cases", type=int, default=500)
    ap.add_argument("--expected", default=os.path.join(HERE, "expected_disagreements.tsv"))
    a = ap.parse_args()

    try:
        cases = load_jsonl(os.path.join(a.casedir, "cases.jsonl"))
        oracle = load_jsonl(os.path.join(a.casedir, "oracle.jsonl"))
        expected, bad = load_expected(a.expected)
    except (OSError, ValueError) as e:
        print("compare.py: %s" % e, file=sys.stderr)
        return 2
    failures = list(bad)
    if not KNOWN_ERRORS:
        failures.append("cannot read the error names of include/dga/error.h")
    if len(oracle) != len(cases) or any(c["case"] != o["case"] for c, o in zip(cases, oracle)):
        failures.append("oracle.jsonl does not answer cases.jsonl line for line "
                        "(%d cases, %d answers)" % (len(cases), len(oracle)))
        oracle = []
    if len(cases) < a.min_cases:
        failures.append("only %d cases; at least %d expected" % (len(cases), a.min_cases))

    # the harness itself: expectations and message mapping
    n_expect = 0
    for c, o in zip(cases, oracle):
        if c.get("expect"):
            n_expect += 1
        msg = check_expect(c, o)
        if msg:
            failures.append("HARNESS %s: %s" % (c["case"], msg))
        if not o["ok"] and oracle_class(o["error"]) is None:
            failures.append("HARNESS %s: oracle message maps to no class: %s" % (c["case"], o["error"]))

    counts = {}
    if a.bin and oracle:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
            ours = list(ex.map(lambda c: run_ours(os.path.abspath(a.bin), a.casedir, c, a.timeout),
                               cases))
        for c, o, r in zip(cases, oracle, ours):
            verdict, detail = judge(c, o, r, expected)
            counts[verdict] = counts.get(verdict, 0) + 1
            if verdict == "DISAGREE":
                failures.append("DISAGREE %s kind=%s now=%d quote=%s collateral=%s: %s\n"
                                "    ours:   %s\n    oracle: %s" %
                                (c["case"], c["kind"], c["now"], c["quote"], c["collateral"],
                                 detail, describe_ours(r), describe_oracle(o)))

    for f in failures:
        print(f)
    used = [r for r in expected if r["n"]]
    if used:
        print("disagreements listed in expected_disagreements.tsv (not failures):")
        for r in used:
            print("  %4d %s ours=[%s] oracle=%s: %s" % (r["n"], r["kind"], r["ours"], r["oracle"],
                                                       r["why"]))
    by_class = {}
    for o in oracle:
        k = "pass:" + o["status"] if o["ok"] else oracle_class(o["error"]) or "?"
        by_class[k] = by_class.get(k, 0) + 1
    print("oracle verdicts: " + ", ".join("%s %d" % kv for kv in sorted(by_class.items())))
    print("compare.py: %d cases (%d with a recorded oracle result), %s, %d failures" %
          (len(cases), n_expect,
           ", ".join("%s %d" % kv for kv in sorted(counts.items())) if counts else
           "oracle side only (no --bin)", len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
