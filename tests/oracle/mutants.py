#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Mutants of the real TDX quote vectors for the oracle differential test.

    mutants.py FIXTURES OUTDIR

Writes OUTDIR/cases.jsonl (one case per line) and the quotes and collaterals
the cases name (relative paths, under OUTDIR). A case:

    case        unique id
    kind        the mutation kind (expected_disagreements.tsv matches it)
    quote       quote file (binary, hex text or {"quote": hex} JSON)
    collateral  QuoteCollateralV3 JSON file
    now         verification time, Unix seconds
    faults      optional: verdict classes (compare.py) this input violates
                when it violates several at once; each verifier reports the
                one it checks first, so any of them is an agreement
    expect      optional: the oracle's result as tests/oracle/README recorded
                it ({"ok":true,"status":S} or {"error": prefix}); a harness
                self-check, compared by compare.py

Deterministic: a fixed seed, no clock, no network; Python standard library
only. Every time is computed from the collateral itself.
"""

import datetime
import json
import os
import random
import sys

SEED = 20251107
T_JUL1 = 1751328000  # 2025-07-01T00:00:00Z
T_OUT = 1772323200  # 2026-03-01T00:00:00Z
T_NEAR = 1757894400  # 2025-09-15T00:00:00Z

COLL_MEMBERS = [
    "pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain", "tcb_info",
    "tcb_info_signature", "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature",
]


# ---- inputs ----

def load_quote(path):
    raw = open(path, "rb").read()
    s = raw.decode("latin1").strip()
    if s.startswith("{"):
        return bytes.fromhex(json.loads(s)["quote"])
    if s.startswith("0x"):
        s = s[2:]
    try:
        return bytes.fromhex(s)
    except ValueError:
        return raw


# ---- a minimal DER reader: enough for certificate and CRL times ----

def der_tlv(buf, off):
    tag = buf[off]
    n = buf[off + 1]
    off += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[off:off + k], "big")
        off += k
    return tag, off, off + n  # tag, value start, value end


def der_children(buf, start, end):
    out = []
    while start < end:
        tag, vs, ve = der_tlv(buf, start)
        out.append((tag, vs, ve))
        start = ve
    return out


def der_time(buf, tag, vs, ve):
    s = buf[vs:ve].decode("ascii")
    fmt = "%y%m%d%H%M%SZ" if tag == 0x17 else "%Y%m%d%H%M%SZ"
    dt = datetime.datetime.strptime(s, fmt).replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp())


def cert_validity(der):
    _, vs, ve = der_tlv(der, 0)
    tbs = der_children(der, vs, ve)[0]
    kids = der_children(der, tbs[1], tbs[2])
    i = 1 if kids[0][0] == 0xA0 else 0  # optional [0] version
    validity = kids[i + 3]
    nb, na = der_children(der, validity[1], validity[2])
    return der_time(der, *nb), der_time(der, *na)


def crl_window(der):
    _, vs, ve = der_tlv(der, 0)
    tbs = der_children(der, vs, ve)[0]
    kids = der_children(der, tbs[1], tbs[2])
    i = 1 if kids[0][0] == 0x02 else 0  # optional version
    this_u, next_u = kids[i + 2], kids[i + 3]
    return der_time(der, *this_u), der_time(der, *next_u)


def pem_certs(text):
    import base64
    out = []
    for block in text.split("-----BEGIN CERTIFICATE-----")[1:]:
        b64 = block.split("-----END CERTIFICATE-----")[0]
        out.append(base64.b64decode("".join(b64.split())))
    return out


def iso_secs(s):
    return int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp())


# ---- quote layout ----

def layout(q):
    """Field name -> (start, end) for a v4 or v5 TDX quote with a type-6 outer
    and a type-5 inner certification data, as the real vectors are."""
    f = {}
    f["header.version"] = (0, 2)
    f["header.key_type"] = (2, 4)
    f["header.tee_type"] = (4, 8)
    f["header.qe_svn"] = (8, 10)
    f["header.pce_svn"] = (10, 12)
    f["header.qe_vendor_id"] = (12, 28)
    f["header.user_data"] = (28, 48)
    ver = int.from_bytes(q[0:2], "little")
    b = 48
    if ver == 5:
        f["body_descriptor.type"] = (48, 50)
        f["body_descriptor.size"] = (50, 54)
        b = 54
        blen = int.from_bytes(q[50:54], "little")
    else:
        blen = 584
    body = [("tee_tcb_svn", 16), ("mr_seam", 48), ("mr_signer_seam", 48),
            ("seam_attributes", 8), ("td_attributes", 8), ("xfam", 8), ("mr_td", 48),
            ("mr_config_id", 48), ("mr_owner", 48), ("mr_owner_config", 48), ("rt_mr0", 48),
            ("rt_mr1", 48), ("rt_mr2", 48), ("rt_mr3", 48), ("report_data", 64)]
    if blen == 648:
        body += [("tee_tcb_svn2", 16), ("mr_service_td", 48)]
    off = b
    for name, n in body:
        f["body." + name] = (off, off + n)
        off += n
    s = off
    f["sig_data_len"] = (s, s + 4)
    d = s + 4
    f["quote_signature"] = (d, d + 64)
    f["attestation_key"] = (d + 64, d + 128)
    f["outer_cert_type"] = (d + 128, d + 130)
    f["outer_cert_size"] = (d + 130, d + 134)
    r = d + 134
    f["qe_report.body"] = (r, r + 320)
    f["qe_report.report_data_hash"] = (r + 320, r + 352)
    f["qe_report.report_data_zero"] = (r + 352, r + 384)
    f["qe_report_signature"] = (r + 384, r + 448)
    f["qe_auth_len"] = (r + 448, r + 450)
    a = int.from_bytes(q[r + 448:r + 450], "little")
    f["qe_auth_data"] = (r + 450, r + 450 + a)
    c = r + 450 + a
    f["inner_cert_type"] = (c, c + 2)
    f["inner_cert_size"] = (c + 2, c + 6)
    p = int.from_bytes(q[c + 2:c + 6], "little")
    f["pem"] = (c + 6, c + 6 + p)
    end = d + int.from_bytes(q[s:s + 4], "little")
    f["padding"] = (end, len(q))
    return f


SIZE_FIELDS = {"header.version", "header.key_type", "header.tee_type", "body_descriptor.type",
               "body_descriptor.size", "sig_data_len", "outer_cert_type", "outer_cert_size",
               "qe_auth_len", "inner_cert_type", "inner_cert_size"}

# Fields flipped at every byte even in the densest mode.
DENSE_ALWAYS = SIZE_FIELDS | {"header.qe_vendor_id", "header.user_data", "header.qe_svn",
                              "header.pce_svn", "body.tee_tcb_svn", "body.td_attributes",
                              "body.seam_attributes", "qe_report.report_data_hash",
                              "qe_report.report_data_zero", "qe_auth_data", "padding"}

# Which verdict classes a flip in each field can legitimately give (several
# when the flip breaks more than one check: each verifier reports its first).
FIELD_FAULTS = {
    "header.qe_vendor_id": ["quote-vendor", "quote-signature"],
    "qe_report.report_data_zero": ["qe-report-signature", "qe-report-data"],
    "qe_report.report_data_hash": ["qe-report-signature", "qe-report-data"],
    # the v5 descriptor is signed: a size that no longer matches its type
    # breaks our parser (quote-body) and the quote signature
    "body_descriptor.size": ["parse", "quote-signature"],
}


class Gen:
    def __init__(self, fixtures, outdir):
        self.fx = fixtures
        self.out = outdir
        self.rng = random.Random(SEED)
        self.cases = []
        self.files = {}
        os.makedirs(os.path.join(outdir, "q"), exist_ok=True)
        os.makedirs(os.path.join(outdir, "c"), exist_ok=True)

    def fixture(self, rel):
        return os.path.join(self.fx, rel)

    def put_quote(self, data):
        name = "q/%05d.bin" % len(self.files)
        self.files[name] = data
        with open(os.path.join(self.out, name), "wb") as f:
            f.write(data)
        return name

    def put_coll(self, obj=None, text=None):
        name = "c/%05d.json" % len(self.files)
        self.files[name] = True
        if text is None:
            text = json.dumps(obj, separators=(",", ":"))
        with open(os.path.join(self.out, name), "w", encoding="utf-8") as f:
            f.write(text)
        return name

    def add(self, kind, quote, coll, now, faults=None, expect=None, label=None):
        c = {"case": "%04d:%s" % (len(self.cases), label or kind), "kind": kind,
             "quote": quote, "collateral": coll, "now": now}
        if faults:
            c["faults"] = sorted(set(faults))
        if expect:
            c["expect"] = expect
        self.cases.append(c)

    def write(self):
        with open(os.path.join(self.out, "cases.jsonl"), "w") as f:
            for c in self.cases:
                f.write(json.dumps(c) + "\n")


def flip(data, off, bit):
    b = bytearray(data)
    b[off] ^= 1 << bit
    return bytes(b)


UP = {"ok": True, "status": "UpToDate"}


def gen_bitflips(g, vec, q, coll, now, fields_dense, stride_sparse, all_bits=True):
    """One bit per byte position: every byte of the fields in fields_dense
    (all 8 bits of every byte of size/type fields), every stride_sparse-th
    byte elsewhere."""
    lay = layout(q)
    for field, (a, b) in sorted(lay.items(), key=lambda kv: kv[1]):
        dense = fields_dense is None or field in fields_dense
        step = 1 if dense else stride_sparse
        if dense and fields_dense is None and field not in DENSE_ALWAYS:
            # long uniform fields (measurements, signatures, keys, the QE
            # report's body, the PEM text): a byte in every STRIDE
            step = 48 if field == "pem" else (3 if b - a > 64 else 2 if b - a >= 48 else 1)
        for off in range(a, b, step):
            bits = range(8) if field in SIZE_FIELDS and all_bits else [g.rng.randrange(8)]
            for bit in bits:
                g.add("flip.%s.%s" % (vec, field), g.put_quote(flip(q, off, bit)), coll, now,
                      faults=FIELD_FAULTS.get(field), label="flip.%s.%s@%d/%d" % (vec, field, off, bit))


def gen_structure(g, vec, q, coll, now):
    lay = layout(q)
    pad_a, _ = lay["padding"]
    # truncations at and around every field boundary
    cuts = sorted({0, 1} | {x for (a, b) in lay.values() for x in (a, b - 1)})
    for n in cuts:
        if 0 <= n < len(q):
            kind = "truncate.%s.%s" % (vec, "padding" if n >= pad_a else "data")
            g.add(kind, g.put_quote(q[:n]), coll, now, label="%s@%d" % (kind, n))
    # padding: more zeros (within and past our bound), non-zero bytes appended
    for extra, byte in ((1, 0), (100, 0), (4096 - (len(q) - pad_a), 0), (4097, 0), (8192, 0),
                        (1, 0xFF), (16, 0x20)):
        kind = "pad.%s.%s" % (vec, "zeros" if byte == 0 else "nonzero")
        g.add(kind, g.put_quote(q + bytes([byte]) * extra), coll, now,
              label="%s+%d" % (kind, extra))


def edit(coll, **kv):
    c = dict(coll)
    for k, v in kv.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def hexflip(h, pos):
    ch = h[pos]
    new = "0" if ch != "0" else "1"
    return h[:pos] + new + h[pos + 1:]


def gen_collateral(g, vec, qname, coll, coll_text, now, base_ok):
    expect_ok = UP if base_ok else None
    add = lambda kind, c, faults=None, expect=None, label=None, text=None: g.add(
        kind, qname, g.put_coll(c, text=text), now, faults=faults, expect=expect, label=label)
    ti, qi = coll["tcb_info"], coll["qe_identity"]
    # tcb_info text edits (the signature covers the exact text)
    ti_edits = [
        ("eval+1", ti.replace('"tcbEvaluationDataNumber":', '"tcbEvaluationDataNumber":1', 1)),
        ("status", ti.replace('"OutOfDate"', '"UpToDate"', 1)),
        ("fmspc_case", ti.replace('"fmspc":"' + json.loads(ti)["fmspc"],
                                  '"fmspc":"' + json.loads(ti)["fmspc"].swapcase(), 1)),
        ("space", ti.replace("{", "{ ", 1)),
        ("newline", ti + "\n"),
        ("pcesvn", ti.replace('"pcesvn":', '"pcesvn":1', 1)),
        ("nextUpdate", ti.replace('"nextUpdate":"20', '"nextUpdate":"21', 1)),
    ]
    for name, t in ti_edits:
        exp = {"error": "Signature is invalid for tcb_info"} if name == "eval+1" and base_ok else None
        add("coll.tcb_info.edit", edit(coll, tcb_info=t), expect=exp, label="coll.tcb_info." + name)
    for name, t in (("truncated", ti[:-1]), ("empty_object", "{}"), ("not_json", "tcb")):
        add("coll.tcb_info.broken", edit(coll, tcb_info=t),
            faults=["tcb-info-malformed", "tcb-info-signature"], label="coll.tcb_info." + name)
    qi_edits = [
        ("isvprodid", qi.replace('"isvprodid":2', '"isvprodid":3', 1)),
        ("space", qi.replace("{", "{ ", 1)),
        ("mrsigner", qi.replace('"mrsigner":"D', '"mrsigner":"E', 1)),
    ]
    for name, t in qi_edits:
        exp = {"error": "Signature is invalid for qe_identity"} if name == "isvprodid" and base_ok else None
        add("coll.qe_identity.edit", edit(coll, qe_identity=t), expect=exp,
            label="coll.qe_identity." + name)
    for name, t in (("truncated", qi[:-1]), ("empty_object", "{}")):
        add("coll.qe_identity.broken", edit(coll, qe_identity=t),
            faults=["qe-identity-malformed", "qe-identity-signature"],
            label="coll.qe_identity." + name)
    # signature flips (hex digits), case, length
    for member in ("tcb_info_signature", "qe_identity_signature"):
        sig = coll[member]
        for pos in (0, 1, 31, 63, 64, 65, 100, 127):
            exp = ({"error": "Signature is invalid for tcb_info"}
                   if member == "tcb_info_signature" and pos == 0 and base_ok else None)
            add("coll.%s.flip" % member, edit(coll, **{member: hexflip(sig, pos)}), expect=exp,
                label="coll.%s.flip@%d" % (member, pos))
        add("coll.%s.upper" % member, edit(coll, **{member: sig.upper()}), expect=expect_ok,
            label="coll.%s.upper" % member)
        for name, v in (("short", sig[:-2]), ("long", sig + "00"), ("empty", "")):
            add("coll.%s.length" % member, edit(coll, **{member: v}),
                label="coll.%s.%s" % (member, name))
    # CRLs: swapped, duplicated, flipped, truncated, bad hex, as byte arrays
    r, p = coll["root_ca_crl"], coll["pck_crl"]
    add("coll.crl.swap", edit(coll, root_ca_crl=p, pck_crl=r), expect=expect_ok)
    add("coll.crl.dup_root", edit(coll, pck_crl=r), expect=expect_ok)
    add("coll.crl.dup_pck", edit(coll, root_ca_crl=p), expect=expect_ok)
    for member in ("root_ca_crl", "pck_crl"):
        h = coll[member]
        for pos in sorted({10, 40, len(h) // 2, len(h) - 20, len(h) - 2}):
            add("coll.crl.flip", edit(coll, **{member: hexflip(h, pos)}),
                label="coll.%s.flip@%d" % (member, pos))
        add("coll.crl.truncated", edit(coll, **{member: h[:len(h) // 2]}),
            label="coll.%s.truncated" % member)
        add("coll.crl.bad_hex", edit(coll, **{member: "zz" + h}), label="coll.%s.bad_hex" % member)
        add("coll.crl.byte_array", edit(coll, **{member: list(bytes.fromhex(h))}),
            expect=expect_ok, label="coll.%s.byte_array" % member)
    # missing members, null members
    for m in COLL_MEMBERS:
        add("coll.missing.%s" % m, edit(coll, **{m: None}), label="coll.missing." + m)
    add("coll.null.tcb_info", dict(coll, tcb_info=None), label="coll.null.tcb_info")
    add("coll.not_object", None, text="[]", label="coll.not_object")
    # member order and layout must not matter
    keys = list(coll.keys())
    orders = [list(reversed(keys)), sorted(keys)]
    for _ in range(3):
        k = keys[:]
        g.rng.shuffle(k)
        orders.append(k)
    for i, order in enumerate(orders):
        text = json.dumps({k: coll[k] for k in order}, indent=2 if i == 1 else None)
        add("coll.reorder", None, text=text, expect=expect_ok, label="coll.reorder.%d" % i)
    add("coll.original_text", None, text=coll_text, expect=expect_ok)
    add("coll.unknown_member", dict(coll, zz_extra="x"), expect=expect_ok)
    # issuer chains
    tcb_chain = coll["tcb_info_issuer_chain"]
    certs = tcb_chain.split("-----END CERTIFICATE-----")
    leaf_only = certs[0] + "-----END CERTIFICATE-----\n"
    reversed_chain = "-----END CERTIFICATE-----".join([certs[1].lstrip("\n"), "\n" + certs[0].lstrip("\n"), certs[2]])
    add("coll.chain.leaf_only", edit(coll, tcb_info_issuer_chain=leaf_only),
        label="coll.tcb_info_issuer_chain.leaf_only")
    add("coll.chain.leaf_only", edit(coll, qe_identity_issuer_chain=leaf_only),
        label="coll.qe_identity_issuer_chain.leaf_only")
    add("coll.chain.reversed", edit(coll, tcb_info_issuer_chain=reversed_chain),
        label="coll.tcb_info_issuer_chain.reversed")
    add("coll.chain.wrong_signer", edit(coll, tcb_info_issuer_chain=coll["pck_crl_issuer_chain"]),
        label="coll.tcb_info_issuer_chain.pck_ca")
    add("coll.chain.wrong_signer", edit(coll, qe_identity_issuer_chain=coll["pck_crl_issuer_chain"]),
        label="coll.qe_identity_issuer_chain.pck_ca")
    add("coll.chain.unused_member_edit", edit(coll, pck_crl_issuer_chain="x"), expect=expect_ok,
        label="coll.pck_crl_issuer_chain.garbage")
    # flips in the base64 of the TCB signing certificate (one bit of a
    # character that stays base64), a sample
    body_start = tcb_chain.index("\n", tcb_chain.index("BEGIN")) + 1
    for pos in range(body_start + 40, body_start + 40 + 600, 50):
        ch = tcb_chain[pos]
        if ch == "\n":
            continue
        alt = "B" if ch != "B" else "C"
        add("coll.chain.tcb_flip", edit(coll, tcb_info_issuer_chain=tcb_chain[:pos] + alt + tcb_chain[pos + 1:]),
            label="coll.tcb_info_issuer_chain.b64@%d" % pos)


def gen_pck_chain_member(g, vec, qname, q, coll, now, base_ok):
    lay = layout(q)
    a, b = lay["pem"]
    pem = q[a:b].rstrip(b"\0").decode()
    add = lambda kind, c, expect=None, label=None: g.add(kind, qname, g.put_coll(c), now,
                                                         expect=expect, label=label)
    add("coll.pck_chain.same", dict(coll, pck_certificate_chain=pem),
        expect=UP if base_ok else None)
    # the TCB signing chain: no SGX extension in its leaf, whose key did not
    # sign the QE report; each verifier reports the check it runs first
    g.add("coll.pck_chain.wrong", qname,
          g.put_coll(dict(coll, pck_certificate_chain=coll["tcb_info_issuer_chain"])), now,
          faults=["cert", "qe-report-signature"])
    leaf = pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    add("coll.pck_chain.leaf_only", dict(coll, pck_certificate_chain=leaf))


def windows(coll, q):
    """Boundaries (name, seconds) of every time window the verification
    depends on, and a function giving the classes a time violates."""
    ti, qi = json.loads(coll["tcb_info"]), json.loads(coll["qe_identity"])
    w = {
        "tcb_info": (iso_secs(ti["issueDate"]), iso_secs(ti["nextUpdate"])),
        "qe_identity": (iso_secs(qi["issueDate"]), iso_secs(qi["nextUpdate"])),
        "root_ca_crl": crl_window(bytes.fromhex(coll["root_ca_crl"])),
        "pck_crl": crl_window(bytes.fromhex(coll["pck_crl"])),
    }
    lay = layout(q)
    a, b = lay["pem"]
    # the chains' certificates except the root (the pinned anchor, 2018..2049)
    certs = pem_certs(q[a:b].decode("latin1"))[:-1] + pem_certs(coll["tcb_info_issuer_chain"])[:-1]
    for i, der in enumerate(certs):
        w["cert%d" % i] = cert_validity(der)

    def faults(t):
        out = set()
        # +-1 s around each bound: the two verifiers need not agree on
        # whether a bound itself is inside
        for name, (lo, hi) in w.items():
            if t <= lo:
                out.add({"tcb_info": "tcb-info-not-yet-valid", "qe_identity": "qe-identity-not-yet-valid"}
                        .get(name, "crl-time" if "crl" in name else "cert-time"))
            if t >= hi:
                out.add({"tcb_info": "tcb-info-expired", "qe_identity": "qe-identity-expired"}
                        .get(name, "crl-time" if "crl" in name else "cert-time"))
        return out

    return w, faults


def gen_times(g, vec, qname, cname, coll, q, base_ok):
    w, faults = windows(coll, q)
    bounds = sorted({t for lo_hi in w.values() for t in lo_hi})
    times = set()
    for t in bounds:
        times |= {t - 1, t, t + 1}
    for lo, hi in zip(bounds, bounds[1:]):
        times.add((lo + hi) // 2)
    times |= {bounds[0] - 86400 * 400, bounds[-1] + 86400 * 400}
    for t in sorted(times):
        names = [n for n, (lo, hi) in w.items() if t in (lo - 1, lo, lo + 1, hi - 1, hi, hi + 1)]
        where = "+".join(sorted(n if not n.startswith("cert") else "cert" for n in names)) or "between"
        f = faults(t)
        kind = "time.%s.%s" % (vec, ",".join(sorted(f)) or "inside")
        g.add(kind, qname, cname, t, faults=f or None,
              label="time.%s.%s@%d" % (vec, where, t))


def gen_reference(g, loaded):
    """The oracle runs recorded when the oracle was chosen (docs/quote.md,
    "Differential test"), with their recorded results as "expect": a
    self-check that the installed oracle is the one we compared against."""
    q4, _, t4, _ = loaded["v4"]
    c4 = g.put_coll(text=t4)
    sig = "ISV enclave report signature is invalid"
    flips = [(0, 1, "Failed to decode quote <- Unsupported quote version"), (40, 0, sig),
             (184, 0, sig), (520, 0, sig), (631, 7, sig), (168, 0, sig), (636, 0, sig),
             (700, 0, "QE report hash mismatch"),
             (770, 0, "Signature is invalid for qe_report in quote"),
             (1154, 0, "Signature is invalid for qe_report in quote"),
             (1220, 0, "QE report hash mismatch"),
             (1400, 0, "error:068000A8:asn1 encoding routines::wrong tag"), (4990, 0, None)]
    for off, bit, err in flips:
        exp = {"error": err} if err else UP
        kind = "reference.flip" if err else "reference.flip.padding"
        g.add(kind, g.put_quote(flip(q4, off, bit)), c4, T_JUL1, expect=exp,
              label="reference.flip@%d/%d" % (off, bit))
    times = [(1752919234, UP), (1750329147, UP),
             (1750327200, {"error": "TCBInfo issue date is in the future"}),
             (1752919500, UP),  # the PCK CRL has expired, the TCB info not
             (1752920164, {"error": "TCBInfo expired"}), (1752969600, {"error": "TCBInfo expired"})]
    qn = g.put_quote(q4)
    for t, exp in times:
        g.add("reference.time", qn, c4, t, expect=exp, label="reference.time@%d" % t)
    g.add("reference.truncate", g.put_quote(q4[:4000]), c4, T_JUL1,
          expect={"error": "Failed to decode quote <- Not enough data to fill buffer"})
    g.add("reference.truncate", g.put_quote(q4[:632]), c4, T_JUL1,
          expect={"error": "Failed to decode quote <- Not enough data to fill buffer"})
    q5, _, t5, _ = loaded["v5"]
    c5 = g.put_coll(text=t5)
    g.add("reference.time", g.put_quote(q5), c5, 1774051200, expect={"error": "TCBInfo expired"})
    g.add("reference.v5_as_v4", g.put_quote(b"\x04" + q5[1:]), c5, T_OUT,
          expect={"error": "Failed to decode quote <- Not enough data to fill buffer"})
    g.add("reference.flip", g.put_quote(flip(q5, 654, 0)), c5, T_OUT, expect={"error": sig})


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: mutants.py FIXTURES OUTDIR\n")
        return 2
    fx, out = sys.argv[1], sys.argv[2]
    g = Gen(fx, out)
    tdx = lambda n: os.path.join("tdx", n)
    vectors = {
        # name: (quote file, collateral file, now, oracle result)
        "v4": (tdx("tdx_quote"), tdx("tdx_quote_collateral.json"), T_JUL1, UP),
        "v5": (tdx("tdx_quote_outdated"), tdx("tdx_quote_outdated_collateral.json"), T_OUT,
               {"error": "No matching TCB level found"}),
        "near": (tdx("near_quote.hex"), tdx("near_quote_collateral.json"), T_NEAR, UP),
        "dstack": (os.path.join("dstack", "quote-report.json"),
                   tdx("tdx_quote_outdated_collateral.json"), T_OUT, UP),
    }
    loaded = {}
    for vec, (qf, cf, now, exp) in vectors.items():
        q = load_quote(g.fixture(qf))
        text = open(g.fixture(cf), encoding="utf-8").read()
        coll = json.loads(text)
        loaded[vec] = (q, coll, text, now)
        # the vector as it ships (its own input form) and as binary
        qname = g.put_quote(open(g.fixture(qf), "rb").read())
        cname = g.put_coll(text=text)
        g.add("vector.%s" % vec, qname, cname, now, expect=exp, label="vector.%s.as_shipped" % vec)
        g.add("vector.%s" % vec, g.put_quote(q), cname, now, expect=exp,
              label="vector.%s.binary" % vec)
        g.add("vector.%s" % vec, g.put_quote(q.hex().encode() + b"\n"), cname, now, expect=exp,
              label="vector.%s.hex" % vec)
    # more real quotes of FMSPC B0C06F000000 with the collateral of that FMSPC
    for name in ("quote-from-tappd.hex", "tdx-quote.hex", "dstack_ra_tls_tdx_quote"):
        g.add("vector.b0c06f", g.put_quote(open(g.fixture(tdx(name)), "rb").read()),
              g.put_coll(text=loaded["v4"][2]), T_JUL1,
              expect={"error": "No matching TCB level found"}, label="vector.b0c06f." + name)

    gen_reference(g, loaded)
    q4, c4, t4, _ = loaded["v4"]
    qname4 = g.put_quote(q4)
    # bit flips: the v4 vector densely (every byte of everything but the
    # PEM text, which is sampled); the others sparsely
    gen_bitflips(g, "v4", q4, g.put_coll(text=loaded["v4"][2]), T_JUL1, None, 1)
    q5, c5, _, _ = loaded["v5"]
    gen_bitflips(g, "v5", q5, g.put_coll(text=loaded["v5"][2]), T_OUT,
                 {"header.version", "body_descriptor.type", "body_descriptor.size",
                  "body.tee_tcb_svn2", "sig_data_len", "outer_cert_type", "outer_cert_size",
                  "qe_auth_len", "inner_cert_type", "inner_cert_size"}, 61, all_bits=False)
    qn, cn, _, _ = loaded["near"]
    gen_bitflips(g, "near", qn, g.put_coll(text=loaded["near"][2]), T_NEAR, set(), 97, all_bits=False)
    gen_structure(g, "v4", q4, g.put_coll(text=loaded["v4"][2]), T_JUL1)
    gen_structure(g, "v5", q5, g.put_coll(text=loaded["v5"][2]), T_OUT)
    # collateral mutations on the passing v4 vector and the dstack one
    gen_collateral(g, "v4", qname4, c4, loaded["v4"][2], T_JUL1, True)
    gen_pck_chain_member(g, "v4", qname4, q4, c4, T_JUL1, True)
    qd, cd, td_, _ = loaded["dstack"]
    gen_collateral(g, "dstack", g.put_quote(qd), cd, loaded["dstack"][2], T_OUT, True)
    # times before, inside and after every window
    for vec in ("v4", "near", "dstack"):
        q, coll, text, _ = loaded[vec]
        gen_times(g, vec, g.put_quote(q), g.put_coll(text=text), coll, q, vec != "v5")
    # cross pairings: collateral of another FMSPC, and times where both are valid
    cross = [("v4", "near", T_NEAR, {"error": "Fmspc mismatch"}), ("v4", "v5", T_OUT, None),
             ("near", "v4", T_JUL1, None), ("dstack", "v4", T_JUL1, None),
             ("v5", "v4", T_JUL1, None), ("near", "v5", T_OUT, None)]
    for qv, cv, now, exp in cross:
        g.add("cross.fmspc", g.put_quote(loaded[qv][0]), g.put_coll(text=loaded[cv][2]), now,
              faults=["fmspc-mismatch", "cert-time", "tcb-no-matching-level"], expect=exp,
              label="cross.%s+%s_collateral" % (qv, cv))
    g.write()
    sys.stderr.write("mutants.py: %d cases in %s\n" % (len(g.cases), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
