#!/usr/bin/python3
# An independent protobuf client of the guest RPC service (docs/rpc.md), for
# test_rpc_proto.sh: Python's http.client over the Unix socket and the
# messages protoc --python_out made from proto/dstack_gpu_attest.proto (the
# module dir is argv[1]). Every check prints "ok NAME" or "FAIL NAME: why";
# the exit status is the number of failures (at most 100).
# Usage: pbclient.py PB2-DIR SOCKET BUNDLE-FILE
import http.client
import json
import socket
import sys

sys.path.insert(0, sys.argv[1])
import dstack_gpu_attest_pb2 as pb  # noqa: E402

sock_path, bundle_path = sys.argv[2], sys.argv[3]
failures = 0


class UnixConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock_path)


def request(method, path, body=b"", content_type="application/octet-stream"):
    c = UnixConnection("localhost")
    headers = {"Content-Type": content_type} if content_type else {}
    c.request(method, path, body=body if method == "POST" else None, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("Content-Type"), data


def request_refused_early(path, body, content_type="application/octet-stream"):
    """A POST the server may answer and close before it has read the whole body (a body over
    its limit): write what the socket takes, then read the answer it sent."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    head = ("POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\n\r\n" % (path, content_type, len(body))).encode()
    try:
        s.sendall(head + body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the answer came before the end of the body: it is still there to read
    r = http.client.HTTPResponse(s)
    r.begin()
    data = r.read()
    s.close()
    return r.status, r.getheader("Content-Type"), data


def check(name, cond, why=""):
    global failures
    if cond:
        print("ok   " + name)
    else:
        print("FAIL %s: %s" % (name, why))
        failures += 1


def prpc_error(data):
    e = pb.PrpcError()
    e.ParseFromString(data)
    return e.message


bundle = open(bundle_path, "rb").read()

# GpuInfo: the bundle byte for byte, in a GpuInfoResponse
status, ctype, data = request("POST", "/GpuInfo")
check("GpuInfo protobuf status", status == 200, "HTTP %d %r" % (status, data[:200]))
check("GpuInfo protobuf content type", ctype == "application/octet-stream", ctype)
info = pb.GpuInfoResponse()
info.ParseFromString(data)
check("GpuInfo protobuf is the bundle", info.attestation.encode() == bundle,
      "%d bytes, bundle %d" % (len(info.attestation.encode()), len(bundle)))
# the same with no Content-Type at all (prpc: protobuf unless JSON is asked for)
status, _, data2 = request("POST", "/GpuInfo", content_type=None)
check("GpuInfo protobuf without Content-Type", status == 200 and data2 == data, "HTTP %d" % status)

# GetGpuAttestation: every field equal to the JSON answer's
status, _, data = request("POST", "/GetGpuAttestation")
check("GetGpuAttestation protobuf status", status == 200, "HTTP %d %r" % (status, data[:200]))
got = pb.GetGpuAttestationResponse()
got.ParseFromString(data)
status, _, jdata = request("GET", "/GetGpuAttestation", content_type=None)
want = json.loads(jdata)
check("bundle", got.bundle == want["bundle"])
check("bundle_sha256", got.bundle_sha256.hex() == want["bundle_sha256"], got.bundle_sha256.hex())
events = [{"index": e.index, "name": e.name, "payload": e.payload.hex(), "digest": e.digest.hex(),
           "version": e.version, "before_system_ready": e.before_system_ready} for e in got.events]
check("events", events == want["events"], "%r != %r" % (events, want["events"]))
check("two events", len(events) == 2, repr(events))
v = got.verdict
devices = [{"label": d.label, "pci_address": d.pci_address, "uuid": d.uuid, "ueid": d.ueid,
            "arch": d.arch, "driver_version": d.driver_version,
            "vbios_version": d.vbios_version} for d in v.devices]
check("verdict", got.HasField("verdict") and
      {"pass": getattr(v, "pass"), "reasons": list(v.reasons), "devices": devices}
      == want["verdict"], repr(v))
s = got.state
check("state", {"cc_mode": s.cc_mode, "ready": s.ready,
                "cc": {"environment": s.cc.environment, "cc_feature": s.cc.cc_feature,
                       "devtools_mode": s.cc.devtools_mode, "multi_gpu_mode": s.cc.multi_gpu_mode}}
      == want["state"] and s.error == "", "%r vs %r" % (s, want["state"]))

# errors: HTTP 400 and a PrpcError
status, ctype, data = request("POST", "/NoSuchMethod")
check("unknown method", status == 400 and ctype == "application/octet-stream" and
      prpc_error(data) == "rpc-method: no such RPC method: NoSuchMethod",
      "HTTP %d %r" % (status, data))
status, _, data = request("POST", "/GpuInfo", body=b"\x0a\x05ab")
check("corrupt body", status == 400 and prpc_error(data) ==
      "rpc-request: the RPC request is not the method's request message: GpuInfo: "
      "not a protobuf Empty message", "HTTP %d %r" % (status, data))
# a body over --max-request (64K): the server refuses it before reading it, in binary mode too
status, ctype, data = request_refused_early("/GpuInfo", b"\x0a" + b"\x00" * 70000)
check("oversize body", status == 400 and ctype == "application/octet-stream" and
      prpc_error(data) == "rpc-request: the request body is too large",
      "HTTP %d %r %r" % (status, ctype, data[:200]))
# a field Empty does not have, well formed: ignored as prost ignores it
status, _, data = request("POST", "/GpuInfo", body=pb.AttestGpuRequest(nonce=b"\x01" * 32)
                          .SerializeToString())
check("unknown field ignored", status == 200, "HTTP %d %r" % (status, data[:200]))
sys.exit(min(failures, 100))
