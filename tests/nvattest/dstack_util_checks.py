#!/usr/bin/env python3
"""dstack-util's checks on nvattest's stdout, re-implemented from dstack's source as
recorded for this project (dstack-util setup, `mod gpu`, steps 7 and 9), and the
gpu-attestation payload it builds from that stdout.

Usage:
  dstack_util_checks.py pass FILE NONCE DEVICES   step 7 and the basic policy of step 9
                                                  (defaults: no allow_debug,
                                                  no allow_insecure_boot); exit 0 iff
                                                  dstack-util would accept the output
  dstack_util_checks.py error FILE                the error path: dstack-util saved the
                                                  bytes; they must still be one JSON
                                                  object with an integer, non-zero
                                                  result_code and a result_message
  dstack_util_checks.py payload FILE DEVICES      prints dstack's gpu-attestation payload
                                                  (struct field order, compact, no newline)
"""
import hashlib
import json
import sys


def fail(msg):
    print("dstack-util would refuse: " + msg, file=sys.stderr)
    sys.exit(1)


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        fail("stdout is not JSON: %s" % e)
    if not isinstance(doc, dict):
        fail("stdout is not a JSON object")
    return raw, doc


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_claim(i, c, nonce):
    if not isinstance(c, dict):
        fail("claim %d is not an object" % i)
    # step 7: serde types of the fields dstack-util reads
    if not isinstance(c.get("measres"), str):
        fail("claim %d: measres is not a string" % i)
    if not isinstance(c.get("secboot"), bool):
        fail("claim %d: secboot is not a bool" % i)
    if c.get("dbgstat") not in ("disabled", "enabled"):
        fail("claim %d: dbgstat %r" % (i, c.get("dbgstat")))
    if c.get("x-nvidia-device-type") != "gpu":
        fail("claim %d: x-nvidia-device-type %r" % (i, c.get("x-nvidia-device-type")))
    if c.get("eat_nonce") != nonce:
        fail("claim %d: eat_nonce %r is not the nonce" % (i, c.get("eat_nonce")))
    if c.get("x-nvidia-gpu-attestation-report-nonce-match") is not True:
        fail("claim %d: report nonce match is not true" % i)
    # step 9, the basic policy with the gpu_policy defaults
    if c["measres"] != "success":
        fail("claim %d: measres %r" % (i, c["measres"]))
    if not c["secboot"]:
        fail("claim %d: secboot false" % i)
    if c["dbgstat"] != "disabled":
        fail("claim %d: dbgstat %r" % (i, c["dbgstat"]))


def check_pass(path, nonce, devices):
    _, doc = load(path)
    if not is_int(doc.get("result_code")):
        fail("result_code is not an integer")
    if doc["result_code"] != 0:
        fail("result_code %d" % doc["result_code"])
    claims = doc.get("claims")
    if not isinstance(claims, list):
        fail("claims is not an array")
    if len(claims) != devices:
        fail("%d claims for %d GPUs" % (len(claims), devices))
    for i, c in enumerate(claims):
        check_claim(i, c, nonce)


def check_error(path):
    _, doc = load(path)
    rc = doc.get("result_code")
    if not is_int(rc) or rc == 0:
        fail("result_code %r on a failure" % rc)
    if not isinstance(doc.get("result_message"), str):
        fail("result_message is not a string")
    if not isinstance(doc.get("claims"), (list, dict)):
        fail("claims is neither an array nor {}")


def payload(path, devices):
    raw, _ = load(path)
    # dstack's GpuAttestationPayload v2: struct field order, not JCS; cc_mode always "on"
    p = {
        "version": 2,
        "provider": "nvidia",
        "devices": devices,
        "cc_mode": "on",
        "devtools": False,
        "evidence_sha256": hashlib.sha256(raw).hexdigest(),
    }
    sys.stdout.write(json.dumps(p, separators=(",", ":")))


def main(argv):
    if len(argv) == 5 and argv[1] == "pass":
        check_pass(argv[2], argv[3], int(argv[4]))
    elif len(argv) == 3 and argv[1] == "error":
        check_error(argv[2])
    elif len(argv) == 4 and argv[1] == "payload":
        payload(argv[2], int(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
