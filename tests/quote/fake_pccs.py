#!/usr/bin/env python3
# A fake PCCS for the collateral fetch-tdx tests (Python standard library only).
#
#   fake_pccs.py split COLLATERAL CA DIR
#       splits a QuoteCollateralV3 document back into the PCCS answers it was made
#       from, in DIR: <item>.body and <item>.headers ("Name: value" lines) for the
#       items pckcrl (DER), tcb and qe ({"tcbInfo": <the exact signed text>,
#       "signature": "<hex>"}, the issuer chain URL-encoded in a header), rootcacrl
#       (hex text, as a PCCS serves it), and DIR/routes: "<request target> <item>"
#       per line, with the FMSPC of the TCB info and the PCK CA type CA.
#   fake_pccs.py serve DIR PORTFILE LOG
#       serves GET <request target> from DIR/routes, reading DIR at each request
#       (tests edit it between requests): 200 with <item>.body and <item>.headers,
#       or <item>.status's code when that file exists; a target not in routes is
#       404. Listens on 127.0.0.1, an ephemeral port written to PORTFILE once
#       listening; one line per request to LOG: "<target> <status>". Runs until
#       killed.
import http.server
import json
import os
import sys
import urllib.parse


def split(collateral, ca, out):
    with open(collateral, encoding="utf-8") as f:
        c = json.load(f)
    os.makedirs(out, exist_ok=True)
    fmspc = json.loads(c["tcb_info"])["fmspc"].upper()

    def write(name, body, headers):
        with open(os.path.join(out, name + ".body"), "wb") as f:
            f.write(body)
        with open(os.path.join(out, name + ".headers"), "w", encoding="ascii") as f:
            for k, v in headers:
                f.write("%s: %s\n" % (k, urllib.parse.quote(v, safe="")))

    write("pckcrl", bytes.fromhex(c["pck_crl"]),
          [("SGX-PCK-CRL-Issuer-Chain", c["pck_crl_issuer_chain"])])
    # the signed text goes in as it is: never through json.dumps
    write("tcb", ('{"tcbInfo":%s,"signature":"%s"}' % (c["tcb_info"], c["tcb_info_signature"])).encode(),
          [("TCB-Info-Issuer-Chain", c["tcb_info_issuer_chain"])])
    write("qe", ('{"enclaveIdentity":%s,"signature":"%s"}' % (c["qe_identity"], c["qe_identity_signature"])).encode(),
          [("SGX-Enclave-Identity-Issuer-Chain", c["qe_identity_issuer_chain"])])
    write("rootcacrl", c["root_ca_crl"].encode(), [])
    with open(os.path.join(out, "routes"), "w", encoding="ascii") as f:
        f.write("/sgx/certification/v4/pckcrl?ca=%s&encoding=der pckcrl\n" % ca)
        f.write("/tdx/certification/v4/tcb?fmspc=%s tcb\n" % fmspc)
        f.write("/tdx/certification/v4/qe/identity?update=standard qe\n")
        f.write("/sgx/certification/v4/rootcacrl rootcacrl\n")


def read(path, mode="rb"):
    try:
        with open(path, mode) as f:
            return f.read()
    except FileNotFoundError:
        return None


def serve(root, portfile, log):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args):
            pass

        def answer(self, status, body=b"", headers=()):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with open(log, "a", encoding="ascii") as f:
                f.write("%s %d\n" % (self.path, status))

        def do_GET(self):
            routes = dict(line.split() for line in (read(os.path.join(root, "routes"), "r") or "").splitlines() if line.strip())
            item = routes.get(self.path)
            if item is None:
                return self.answer(404)
            base = os.path.join(root, item)
            headers = [tuple(h.split(": ", 1)) for h in (read(base + ".headers", "r") or "").splitlines() if h]
            status = int((read(base + ".status", "r") or "200").strip())
            self.answer(status, read(base + ".body") or b"", headers)

    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    with open(portfile + ".tmp", "w", encoding="ascii") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "split":
        split(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: fake_pccs.py split COLLATERAL CA DIR | serve DIR PORTFILE LOG")
