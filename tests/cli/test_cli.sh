#!/usr/bin/env bash
# The CLI as a user drives it: exit codes, the one-line reasons on stderr,
# and the key parts of text and JSON output.
# Usage: test_cli.sh PATH/TO/dstack-gpu-attest   (DGA_FIXTURES names the fixtures)
set -u
bin=$1
fx=${DGA_FIXTURES:-tests/fixtures}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

N1=931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb
N2=e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576
N580=5bb22e377702d4e1e8215a903ba094826b9ac7f731dee1fe8102958bf2840aca
AT=2024-06-01T00:00:00Z
PPCIE=$fx/gpu/h100_590.12_ppcie/evidence.json
H580=$fx/gpu/h100_580.159.03
LS10=$fx/nvswitch/ls10_96.10.55.00.01

. "$(dirname "$0")/lib.sh"

run 0 "help" -- --help && expect out "evidence verify" "help lists verify"
run 0 "version" -- --version && expect out "dstack-gpu-attest 0." "version"
run 2 "no arguments" --
run 2 "unknown command" -- evidence frobnicate
run 0 "verify help" -- evidence verify --help && expect out "--nonce HEX" "verify help"

run 0 "ppcie evidence passes" -- evidence verify --evidence "$PPCIE" --nonce $N2 --at $AT
expect out "GPU-0 (hopper): PASS" "text verdict per device"
expect out "verdict: PASS (1 device)" "text verdict"

run 0 "ppcie evidence JSON" -- evidence verify --evidence "$PPCIE" --nonce $N2 --at $AT --json
expect out '"result": "pass"' "json result"
expect out '"trust_roots": "nvidia"' "json trust roots"
expect out '"x-nvidia-gpu-attestation-report-signature-verified": true' "json claim"
expect out '"x-nvidia-gpu-switch-pdis": [' "json pdis"

run 1 "wrong nonce fails" -- evidence verify --evidence "$PPCIE" --nonce $N1 --at $AT
expect err "dstack-gpu-attest: GPU-0: nonce: nonce mismatch" "nonce reason on stderr"
expect out "verdict: FAIL" "text verdict fail"

run 0 "raw pair passes" -- evidence verify --report "$H580/report.hex" \
    --cert-chain "$H580/certchain.pem" --arch hopper --nonce $N580 --at $AT
run 0 "nvswitch passes" -- evidence verify --report "$LS10/report.hex" \
    --cert-chain "$LS10/certchain.pem" --arch ls10 --nonce $N1 --at $AT --json
expect out '"x-nvidia-switch-bios-version": "96.10.55.00.01"' "switch claim"
expect out '"label": "SWITCH-0"' "switch label"

run 1 "chain without BROM fails" -- evidence verify --report "$fx/gpu/h100_545.00/report.hex" \
    --cert-chain "$fx/gpu/invalid_certchain_missing_brom.pem" --arch hopper \
    --nonce 4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e --at $AT
expect err "GPU-0: cert-chain: certificate chain has the wrong number of certificates (a device chain holds 5)" "chain reason"

run 1 "custom root is reported and fails NVIDIA chains" -- evidence verify --evidence "$PPCIE" \
    --nonce $N2 --at $AT --trust-root "$fx/roots/nvidia_corim_signing_root_ca.pem" --json
expect out '"trust_roots": "custom"' "custom root marked"
expect out '"error": "chain-root"' "custom root error"

# A truncated report inside a JSON container: named check, offset, exit 1.
head -c 4000 "$H580/report.hex" >"$tmp/short.hex"
run 1 "truncated report" -- evidence verify --report "$tmp/short.hex" \
    --cert-chain "$H580/certchain.pem" --arch hopper --nonce $N580 --at $AT
expect err "GPU-0: report-parse: input is truncated" "truncated reason"

run 2 "bad nonce" -- evidence verify --evidence "$PPCIE" --nonce abc
run 2 "missing nonce" -- evidence verify --evidence "$PPCIE"
run 2 "bad time" -- evidence verify --evidence "$PPCIE" --nonce $N2 --at yesterday
run 2 "bad arch" -- evidence verify --report "$H580/report.hex" --cert-chain "$H580/certchain.pem" \
    --arch ampere --nonce $N580
run 2 "evidence and report together" -- evidence verify --evidence "$PPCIE" \
    --report "$H580/report.hex" --nonce $N2
run 3 "missing file" -- evidence verify --evidence "$tmp/nope.json" --nonce $N2
expect err "nope.json: No such file or directory" "missing file reason"
echo '[{"arch":"HOPPER"' >"$tmp/bad.json"
run 1 "malformed evidence JSON" -- evidence verify --evidence "$tmp/bad.json" --nonce $N2
expect err "evidence JSON is malformed" "malformed reason"

run 0 "inspect raw report" -- evidence inspect "$H580/report.hex" --cert-chain "$H580/certchain.pem"
expect out '"vbios_rim_id": "NV_GPU_VBIOS_1010_0205_862_9600740020"' "inspect rim id"
expect out '"hwmodel": "GH100 A01 GSP BROM"' "inspect chain"
expect out '"arch_source": "guessed"' "inspect guessed arch"
run 0 "inspect guesses ls10" -- evidence inspect "$LS10/report.hex"
expect out '"arch": "ls10"' "ls10 guessed"
run 0 "inspect evidence json" -- evidence inspect "$PPCIE"
expect out '"mode": "ppcie"' "inspect ppcie mode"
run 1 "inspect truncated" -- evidence inspect "$tmp/short.hex" --arch hopper
expect out '"error": "truncated"' "inspect names error"

# RIM documents
R545=$fx/gpu/h100_545.00/rims/NV_GPU_DRIVER_GH100_545.00.xml
run 0 "rim verify inside the signer's window" -- rim verify "$R545" --at $AT
expect out "verdict: PASS" "rim pass verdict"
run 1 "rim verify after the signer expired" -- rim verify "$R545" --at 2026-11-28T00:00:00Z
expect err "[chain-expired] (expires 2025-06-26T06:10:12Z)" "rim expiry reason"
run 1 "rim with a debug root" -- rim verify "$fx/rims/debug_root_chain/incorrect_cert_chain_driver_rim.xml" --at $AT
expect err "signer chain: the chain's root is not the pinned trust root [chain-root]" "debug root reason"
expect out "XML signature        pass (with the first certificate's key; the chain is not trusted)" "debug root signature"
run 1 "rim with a bad signature" -- rim verify "$fx/rims/bad_signature/NV_GPU_DRIVER_GH100_550.144.03.xml" \
    --at 2026-06-01T00:00:00Z --json
expect out '"signature_error": "rim-signature-invalid"' "bad signature json"
expect out '"x-nvidia-cert-status": "valid"' "bad signature chain still valid"
run 1 "tampered rim" -- rim verify "$fx/rims/tampered_expired/NV_GPU_DRIVER_GH100_570.124.03.xml" \
    --at 2025-01-01T12:00:00Z
expect err "[rim-digest-mismatch]" "tampered reason"
printf '<!DOCTYPE x [<!ENTITY a "b">]><x/>' >"$tmp/dtd.xml"
run 1 "rim with a DTD" -- rim verify "$tmp/dtd.xml"
expect err "[rim-dtd]" "dtd reason"
run 0 "rim inspect" -- rim inspect "$LS10/rims/NV_SWITCH_BIOS_5612_0002_890_9610550001.xml"
expect out '"active_measurements": 31' "rim inspect counts"
expect out '"colloquialVersion": "96.10.55.00.01"' "rim inspect version"
expect out '"id_from_file_name": "NV_SWITCH_BIOS_5612_0002_890_9610550001"' "rim inspect id"
run 2 "rim verify without a file" -- rim verify
run 3 "rim verify of a missing file" -- rim verify "$tmp/none.xml"

# Full offline appraisal (attest)
H545=$fx/gpu/h100_545.00
N3=4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e
A545=(--report "$H545/report.hex" --cert-chain "$H545/certchain.pem" --arch hopper --nonce $N3
      --rim-dir "$H545/rims")
OFFLINE=$fx/policies/offline_no_ocsp.json
run 0 "attest 545.00 in the signers' window" -- attest "${A545[@]}" --at $AT --policy "$OFFLINE"
expect out "measurements 32 of 33 golden values compared (index 35 skipped: NVDEC0 off): 0 mismatches" "attest counts"
expect out "verdict: PASS (1 device)" "attest pass"
# Revocation: the default policy requires OCSP. NVIDIA's responder is not reachable from the
# tests, so: nothing stored (cache), and a responder that is down (online, 127.0.0.1:1).
mkdir -p "$tmp/collateral"
run 1 "attest 545.00, default policy, no stored OCSP response" -- attest "${A545[@]}" --at $AT \
    --ocsp cache --collateral-dir "$tmp/collateral"
expect err 'GPU-0: ocsp-device-chain: certificate 3 "NVIDIA GH100 Identity": no fresh OCSP response for the certificate in the chosen source [ocsp-no-response]' "ocsp failure names the certificate"
expect out 'ocsp      driver RIM chain: invalid' "driver chain ocsp line"
expect out 'revocation: OCSP cache, maximum age 604800s' "revocation line"
run 1 "the same, JSON" -- attest "${A545[@]}" --at $AT --ocsp cache --collateral-dir "$tmp/collateral" \
    --format json
expect out '"result_code": 201' "ocsp no-response result code"
expect out '"x-dstack-cert-ocsp-error": "ocsp-no-response"' "ocsp error claim"
expect out '"x-nvidia-cert-ocsp-status": "invalid"' "ocsp status claim"
expect out '"mode": "cache"' "ocsp source in collateral"
run 1 "attest 545.00, OCSP responder down" -- attest "${A545[@]}" --at $AT \
    --ocsp-url http://127.0.0.1:1/ --format json
expect out '"result_code": 202' "ocsp unreachable result code"
expect err 'GPU-0: ocsp-device-chain: certificate 3 "NVIDIA GH100 Identity": the collateral service (OCSP responder, RIM service) could not be reached [collateral-unreachable]' "unreachable names the certificate"
# A stored file under the identity CA's key that NVIDIA did not sign (a test PKI response):
# refused (ocsp-signature, before any other check), and carried in the output as base64 DER.
key=$(sed -n 's/.*"certid_sha256": "\([0-9a-f]*\)".*/\1/p' "$tmp/out" | head -1)
mkdir -p "$tmp/collateral/ocsp"
cp "$fx/ocsp/leaf.der" "$tmp/collateral/ocsp/$key.der"
run 1 "attest 545.00, a stored response NVIDIA did not sign" -- attest "${A545[@]}" --at $AT \
    --ocsp cache --collateral-dir "$tmp/collateral" --format json
expect out '"error": "ocsp-signature"' "foreign stored response refused"
expect out "\"response\": \"$(base64 -w0 "$fx/ocsp/leaf.der")\"" "response carried as base64"
expect out '"x-dstack-cert-ocsp-error": "ocsp-signature"' "foreign stored response claim"
run 2 "--ocsp off needs a policy that does not require OCSP" -- attest "${A545[@]}" --at $AT --ocsp off
expect err '--ocsp off needs a policy with "ocsp": "not-required"' "ocsp off refused"
run 0 "--ocsp off with such a policy" -- attest "${A545[@]}" --at $AT --policy "$fx/policies/offline_no_ocsp.json" --ocsp off
expect out "revocation: NOT CHECKED (--ocsp off; the policy does not require OCSP)" "ocsp off visible"
expect out "ocsp      device chain: not checked" "ocsp off per chain"
run 0 "--ocsp off, JSON" -- attest "${A545[@]}" --at $AT --policy "$fx/policies/offline_no_ocsp.json" \
    --format json
expect out '"revocation": "not checked (--ocsp off, policy does not require OCSP)"' "ocsp off in verdict"
expect out '"x-nvidia-cert-ocsp-status": "not-checked"' "ocsp off claim"
expect out '"x-dstack-cert-ocsp-source": "not-checked"' "ocsp off source claim"
run 2 "--ocsp cache without a directory" -- attest "${A545[@]}" --ocsp cache
expect err "--ocsp cache needs --collateral-dir" "cache needs dir"
run 2 "--ocsp with an unknown mode" -- attest "${A545[@]}" --ocsp sometimes
run 2 "--ocsp-max-age negative" -- attest "${A545[@]}" --ocsp cache --collateral-dir "$tmp/collateral" \
    --ocsp-max-age -5
run 2 "--ocsp bundle without a bundle" -- attest "${A545[@]}" --ocsp bundle
run 2 "--jobs over 64" -- attest "${A545[@]}" --at $AT --policy "$fx/policies/offline_no_ocsp.json" \
    --jobs 65
expect err "--jobs: expected 0 (the online CPUs) to 64" "jobs range"
run 2 "--jobs not a number" -- attest "${A545[@]}" --at $AT --policy "$fx/policies/offline_no_ocsp.json" \
    --jobs two
expect err "--jobs: expected 0 (the online CPUs) to 64" "jobs number"
run 0 "--jobs 1 is the serial path" -- attest "${A545[@]}" --at $AT \
    --policy "$fx/policies/offline_no_ocsp.json" --jobs 1
run 1 "attest 545.00 today: RIM signers expired" -- attest "${A545[@]}" --at 2026-11-28T00:00:00Z --policy "$OFFLINE"
expect err 'GPU-0: x-nvidia-gpu-driver-rim-cert-chain.x-nvidia-cert-status is "expired"' "expired driver signer"
expect err 'GPU-0: x-nvidia-gpu-vbios-rim-cert-chain.x-nvidia-cert-status is "expired"' "expired vbios signer"
run 0 "attest 545.00 today with the expired-signer relaxation" -- attest "${A545[@]}" \
    --at 2026-11-28T00:00:00Z --policy "$fx/policies/offline_expired_rim_signers.json"
run 0 "attest JSON" -- attest "${A545[@]}" --at $AT --policy "$OFFLINE" --format json
expect out '"result_code": 0' "attest result code"
expect out '"measres": "success"' "attest measres"
expect out '"sha256": "1b939fae0138ceda87c434820e1e118739861b070c0043677a68807049eae668"' "attest collateral"
expect out '"source": "file"' "attest policy source"
# The JSON core the gate's bundle extends: verdict {pass, result, reasons, revocation}, roots {device, rim}.
expect out '"pass": true,' "attest verdict pass"
expect out '"trust_roots": {' "attest trust roots object"
expect out '"rim": "nvidia"' "attest rim root"
# A signed detached EAT carries the verdict and verifies with the public key.
openssl ecparam -name secp384r1 -genkey -noout -out "$tmp/eat.key" 2>/dev/null
openssl ec -in "$tmp/eat.key" -pubout -out "$tmp/eat.pub" 2>/dev/null
run 0 "attest with a signed EAT" -- attest "${A545[@]}" --at $AT --policy "$OFFLINE" --format json \
    --eat-key "$tmp/eat.key" --eat-kid test-kid
cp "$tmp/out" "$tmp/attest.json"
run 0 "eat verify of attest's token" -- eat verify "$tmp/attest.json" --pubkey "$tmp/eat.pub"
expect out "result          pass (x-dstack-verdict)" "eat verdict claim"
run 0 "eat verify with the right challenge" -- eat verify "$tmp/attest.json" --pubkey "$tmp/eat.pub" \
    --nonce $N3
run 1 "eat verify with another challenge" -- eat verify "$tmp/attest.json" --pubkey "$tmp/eat.pub" \
    --nonce $N1
expect err "overall eat_nonce (not --nonce)" "challenge reason"
expect err "[eat-nonce]" "challenge error name"
run 1 "attest today, signed EAT" -- attest "${A545[@]}" --at 2026-11-28T00:00:00Z --policy "$OFFLINE" \
    --format json --eat-key "$tmp/eat.key"
cp "$tmp/out" "$tmp/attest-fail.json"
run 1 "eat verify of a failed verdict" -- eat verify "$tmp/attest-fail.json" --pubkey "$tmp/eat.pub"
expect err "the token verifies, but its verdict is not a pass" "eat fail reason"
run 0 "attest with an unsigned EAT, on request" -- attest "${A545[@]}" --at $AT --policy "$OFFLINE" \
    --format json --unsigned-eat
expect out '"detached_eat": [' "unsigned eat present"
cp "$tmp/out" "$tmp/attest-unsigned.json"
run 1 "an unsigned EAT never verifies" -- eat verify "$tmp/attest-unsigned.json" --pubkey "$tmp/eat.pub"
expect err "[eat-algorithm]" "unsigned eat reason"
run 1 "re-appraise with the OCSP responses of a bundle that has none" -- attest "${A545[@]}" --at $AT \
    --ocsp bundle --ocsp-bundle "$tmp/attest.json"
expect err "[ocsp-no-response]" "bundle without responses"
echo '{"collateral": {"ocsp": [{"response": "not base64!"}]}}' >"$tmp/bad-bundle.json"
run 2 "a bundle with a malformed response" -- attest "${A545[@]}" --at $AT --ocsp bundle \
    --ocsp-bundle "$tmp/bad-bundle.json"
expect err "[bad-base64]" "bad bundle reason"
# collateral fetch / status (NVIDIA's services are not reachable from the tests: the fetch
# path with a live server is in unit_collateral; here the CLI's failures and the listing).
# --dir need not exist: it is made, as a RIM store inside it would need (DIR/rims).
run 1 "collateral fetch with no service reachable" -- collateral fetch --report "$H545/report.hex" \
    --cert-chain "$H545/certchain.pem" --arch hopper --dir "$tmp/coll" \
    --rim-url http://127.0.0.1:1 --ocsp-url http://127.0.0.1:1/ --at $AT
expect out 'ocsp device chain       invalid: certificate 3 "NVIDIA GH100 Identity"' "fetch names the certificate"
expect out "rim  NV_GPU_DRIVER_GH100_545.00: FAIL" "fetch rim failure"
expect err "collateral fetch: 3 items not fetched or not verified" "fetch failure count"
if [ -d "$tmp/coll" ]; then echo "ok   fetch made --dir"; else echo "FAIL fetch did not make --dir"; failures=$((failures + 1)); fi
run 3 "collateral fetch into a --dir that cannot be made" -- collateral fetch --report "$H545/report.hex" \
    --cert-chain "$H545/certchain.pem" --arch hopper --dir "$tmp/nonexistent/parent/coll" \
    --rim-url http://127.0.0.1:1 --ocsp-url http://127.0.0.1:1/ --at $AT
expect err "collateral fetch: --dir $tmp/nonexistent/parent/coll: No such file or directory" "fetch names --dir"
run 2 "collateral fetch without --dir" -- collateral fetch --evidence "$PPCIE"
mkdir -p "$tmp/coll/ocsp" "$tmp/coll/rims"
cp "$fx/ocsp/leaf.der" "$tmp/coll/ocsp/misnamed.der"
cp "$H545/rims/NV_GPU_DRIVER_GH100_545.00.xml" "$tmp/coll/rims/"
run 1 "collateral status: a misnamed response is not usable" -- collateral status --dir "$tmp/coll" \
    --at 2026-11-28T09:30:00Z --json
expect out '"named_by_certid": false' "misnamed flagged"
key=$(sed -n 's/.*"certid_sha256": "\([0-9a-f]*\)".*/\1/p' "$tmp/out")
mv "$tmp/coll/ocsp/misnamed.der" "$tmp/coll/ocsp/$key.der"
run 0 "collateral status: fresh" -- collateral status --dir "$tmp/coll" --at 2026-11-28T09:30:00Z
expect out "good    thisUpdate 2026-11-28T09:00:31Z, usable until 2026-12-05T09:00:31Z" "status times"
expect out "NV_GPU_DRIVER_GH100_545.00.xml: 2025-06-26T06:10:12Z" "status rim expiry"
run 1 "collateral status: stale 8 days later" -- collateral status --dir "$tmp/coll" \
    --at 2026-12-06T09:30:00Z
expect out "STALE" "stale flagged"
run 0 "collateral status with a longer max age" -- collateral status --dir "$tmp/coll" \
    --at 2026-12-06T09:30:00Z --ocsp-max-age 864000
# status judges freshness by attest's own rule (dga_ocsp_fresh_at): the maximum age has no
# skew (2 minutes over is ocsp-too-old, as attest says), and a nextUpdate before thisUpdate
# is never fresh (the copy below has its nextUpdate moved to 1 minute before thisUpdate; status
# reads times without checking the signature, so the edit is all it sees).
run 1 "collateral status: 120 s past the maximum age" -- collateral status --dir "$tmp/coll" \
    --at 2026-12-05T09:02:31Z --json
expect out '"fresh": false,' "too old by 120 s is not fresh"
expect out '"stale_reason": "ocsp-too-old"' "too old by 120 s: why"
run 0 "collateral status: at the maximum age" -- collateral status --dir "$tmp/coll" \
    --at 2026-12-05T09:00:31Z --json
expect out '"stale_reason": null' "fresh at the last second"
mkdir -p "$tmp/coll-backwards/ocsp"
perl -0777 -pe 's/20361125090031Z/20261128085931Z/' "$fx/ocsp/leaf.der" \
    >"$tmp/coll-backwards/ocsp/$key.der"
run 1 "collateral status: nextUpdate before thisUpdate" -- collateral status \
    --dir "$tmp/coll-backwards" --at 2026-11-28T09:01:00Z
expect out "usable until 2026-11-28T08:59:31Z  STALE" "backwards window is stale"
run 1 "collateral status: nextUpdate before thisUpdate, JSON" -- collateral status \
    --dir "$tmp/coll-backwards" --at 2026-11-28T09:01:00Z --json
expect out '"stale_reason": "ocsp-expired"' "backwards window: why"
# --rim-trust-root is honoured (RIM signer chains), options status has no use for are refused.
run 0 "collateral status under another CoRIM root" -- collateral status --dir "$tmp/coll" \
    --at 2026-11-28T09:30:00Z --rim-trust-root "$fx/ocsp/root.pem"
expect out "NV_GPU_DRIVER_GH100_545.00.xml: signer chain does not verify" "status uses --rim-trust-root"
run 2 "collateral status --trust-root" -- collateral status --dir "$tmp/coll" \
    --trust-root "$fx/ocsp/root.pem"
expect err "collateral status: --trust-root (status verifies no device chain) is not supported" "status refuses --trust-root"
run 2 "collateral status --ocsp-url" -- collateral status --dir "$tmp/coll" --ocsp-url http://127.0.0.1:1/
expect err "collateral status: --ocsp-url (status fetches nothing) is not supported" "status refuses --ocsp-url"
run 2 "collateral fetch --json" -- collateral fetch --evidence "$PPCIE" --dir "$tmp/coll" --json
expect err "collateral fetch: --json (the report is text only) is not supported" "fetch refuses --json"
run 1 "collateral status: what the evidence still needs" -- collateral status --dir "$tmp/coll" \
    --at 2026-11-28T09:30:00Z --report "$H545/report.hex" --cert-chain "$H545/certchain.pem" \
    --arch hopper
expect out "missing for the evidence (7):" "missing count"
expect out 'OCSP response: device chain certificate 3 "NVIDIA GH100 Identity"' "missing device ocsp"
expect out 'OCSP response: NV_GPU_DRIVER_GH100_545.00 chain certificate 0 "HCC RIM L4 Signer"' "missing rim-chain ocsp"
expect out "RIM NV_GPU_VBIOS_1010_0200_882_96005E0001" "missing vbios rim"
run 1 "collateral status JSON: what is missing" -- collateral status --dir "$tmp/coll" --json \
    --at 2026-11-28T09:30:00Z --report "$H545/report.hex" --cert-chain "$H545/certchain.pem" \
    --arch hopper
expect out '"certid_sha256": "94baddca557ac16bce1c139bca44fe8bb0872b75618be922c8ae6aba15533a60"' "missing key"
mkdir -p "$tmp/empty-store"
run 1 "attest without RIMs" -- attest --report "$H545/report.hex" --cert-chain "$H545/certchain.pem" \
    --arch hopper --nonce $N3 --rim-dir "$tmp/empty-store" --at $AT --policy "$OFFLINE" --format json
expect out '"result_code": 104' "rim not found code"
expect err "GPU-0: driver-rim: RIM not found: NV_GPU_DRIVER_GH100_545.00" "rim not found reason"
# A FIFO named like a RIM in the store is refused at once (it used to hang attest until killed).
mkdir -p "$tmp/fifo-store"
cp "$H545/rims/NV_GPU_VBIOS_1010_0200_882_96005E0001.xml" "$tmp/fifo-store/"
mkfifo "$tmp/fifo-store/NV_GPU_DRIVER_GH100_545.00.xml"
bin_real=$bin
bin="$tmp/bin-with-timeout"
printf '#!/bin/sh\nexec timeout 20 "%s" "$@"\n' "$bin_real" >"$bin"
chmod +x "$bin"
run 1 "attest with a FIFO in the RIM store: refused, not waited on" -- attest \
    --report "$H545/report.hex" --cert-chain "$H545/certchain.pem" --arch hopper --nonce $N3 \
    --rim-dir "$tmp/fifo-store" --at $AT --policy "$OFFLINE"
expect err "GPU-0: driver-rim: not a regular file (a FIFO, device, directory, or a refused symbolic link): NV_GPU_DRIVER_GH100_545.00" "fifo named in the reason"
bin=$bin_real
run 0 "attest LS10 today" -- attest --report "$LS10/report.hex" --cert-chain "$LS10/certchain.pem" \
    --arch ls10 --nonce $N1 --rim-dir "$LS10/rims" --policy "$OFFLINE"
expect out "measurements 31 of 31 golden values compared: 0 mismatches" "ls10 31/31"
echo '{"ocsp": "sometimes"}' >"$tmp/bad-policy.json"
run 2 "attest with a malformed policy" -- attest "${A545[@]}" --policy "$tmp/bad-policy.json"
expect err "[policy-invalid]" "policy error name"
run 2 "attest without --rim-dir" -- attest --evidence "$PPCIE" --nonce $N2

# One device counted as many: the same H100's evidence four times under a policy that wants
# exactly four GPUs (each copy alone verifies); then a copy with one signature byte flipped
# (another report, the same leaf certificate), mixed in after another GPU.
device_json() { # REPORT.HEX CERTCHAIN.PEM [FLIP-LAST-BYTE]
    local report
    report=$(perl -e 'local $/; my $h = <STDIN>; $h =~ s/\s+//g; my $b = pack("H*", $h);
        substr($b, -1, 1) ^= "\x01" if $ARGV[0]; print $b' "${3:-}" <"$1" | base64 -w0)
    printf '{"arch":"HOPPER","nonce":"%s","evidence":"%s","certificate":"%s"}' $N3 "$report" \
        "$(base64 -w0 <"$2")"
}
d545=$(device_json "$H545/report.hex" "$H545/certchain.pem")
printf '[%s,%s,%s,%s]\n' "$d545" "$d545" "$d545" "$d545" >"$tmp/four.json"
printf '{"version":1,"ocsp":"not-required","devices":{"gpus":{"exact":4}}}' >"$tmp/four-gpus.json"
run 1 "one GPU's evidence four times is not four GPUs" -- attest --evidence "$tmp/four.json" \
    --nonce $N3 --rim-dir "$H545/rims" --at $AT --policy "$tmp/four-gpus.json"
expect out "verdict: FAIL (4 devices)" "duplicates: verdict"
expect err "dstack-gpu-attest: GPU-1: duplicate-device: same report as GPU-0" "duplicates: GPU-1"
expect err "dstack-gpu-attest: GPU-3: duplicate-device: same report as GPU-0" "duplicates: GPU-3"
run 1 "the same, JSON" -- attest --evidence "$tmp/four.json" --nonce $N3 --rim-dir "$H545/rims" \
    --at $AT --policy "$tmp/four-gpus.json" --format json
expect out '"result_code": 503' "duplicates: result code"
expect out '"result_message": "two devices of the set are one physical device' "duplicates: message"
expect out '"reason": "same report"' "duplicates: device entry"
d535=$(device_json "$fx/gpu/h100_535.86.09/report.hex" "$fx/gpu/h100_535.86.09/certchain.pem")
printf '[%s,%s,%s]\n' "$d535" "$d545" "$(device_json "$H545/report.hex" "$H545/certchain.pem" 1)" \
    >"$tmp/mixed.json"
printf '{"version":1,"ocsp":"not-required","devices":{"gpus":{"exact":3}}}' >"$tmp/three-gpus.json"
run 1 "a copy of a GPU's leaf under another report" -- attest --evidence "$tmp/mixed.json" \
    --nonce $N3 --rim-dir "$H545/rims" --at $AT --policy "$tmp/three-gpus.json"
expect err "dstack-gpu-attest: GPU-2: duplicate-device: same leaf certificate as GPU-1" "duplicate leaf"
grep -qF "duplicate-device: same leaf certificate as GPU-0" "$tmp/err" &&
    { echo "FAIL two distinct GPUs taken as one"; failures=$((failures + 1)); }

if [ "$failures" -ne 0 ]; then
    echo "$failures CLI check(s) failed"
    exit 1
fi
echo "all CLI checks passed"
