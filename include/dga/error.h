/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One table of errors for the whole library. Each error has a stable name
 * (for logs, JSON output and tests) and a short message. The library never
 * prints; it returns one of these and, where useful, fills a dga_diag that
 * says where in the input the check failed.
 */
#ifndef DGA_ERROR_H
#define DGA_ERROR_H

#include <stddef.h>

/* X(enum suffix, stable name, message) */
#define DGA_ERROR_TABLE(X)                                                                         \
    X(OK, "ok", "success")                                                                         \
    /* core */                                                                                     \
    X(NOMEM, "out-of-memory", "out of memory")                                                     \
    X(INTERNAL, "internal", "internal error")                                                      \
    X(TRUNCATED, "truncated", "input is truncated")                                                \
    X(TRAILING_BYTES, "trailing-bytes", "unexpected bytes after the end of the structure")         \
    X(TOO_LARGE, "too-large", "input exceeds its size limit")                                      \
    X(BAD_HEX, "bad-hex", "invalid hexadecimal text")                                              \
    X(BAD_BASE64, "bad-base64", "invalid base64 text")                                             \
    X(IO, "io", "input/output error")                                                              \
    X(NOT_REGULAR_FILE, "not-regular-file",                                                        \
      "not a regular file (a FIFO, device, directory, or a refused symbolic link)")                \
    X(BAD_ARGUMENT, "bad-argument", "invalid argument")                                            \
    /* SPDM request (GET_MEASUREMENTS) */                                                          \
    X(REQUEST_VERSION, "request-version", "request SPDMVersion is not 0x11")                       \
    X(REQUEST_CODE, "request-code", "request code is not GET_MEASUREMENTS (0xE0)")                 \
    X(REQUEST_PARAM, "request-param", "request parameters are not 0x01/0xFF/slot 0")               \
    /* SPDM response (MEASUREMENTS) */                                                             \
    X(RESPONSE_VERSION, "response-version", "response SPDMVersion is not 0x11")                    \
    X(RESPONSE_CODE, "response-code", "response code is not MEASUREMENTS (0x60)")                  \
    X(NO_BLOCKS, "no-measurement-blocks", "NumberOfBlocks is zero")                                \
    X(RECORD_LENGTH, "record-length-mismatch",                                                     \
      "measurement blocks do not fill MeasurementRecordLength exactly")                            \
    X(BLOCK_COUNT, "block-count-mismatch",                                                         \
      "measurement record holds a different number of blocks than NumberOfBlocks")                 \
    X(BLOCK_INDEX, "block-index-out-of-range",                                                     \
      "measurement block index is 0 or greater than NumberOfBlocks")                               \
    X(DUPLICATE_BLOCK, "duplicate-block-index", "two measurement blocks share an index")           \
    X(BLOCK_SPEC, "block-spec", "measurement block is not a DMTF measurement (spec 0x01)")         \
    X(BLOCK_TYPE, "block-value-type", "measurement value type is not 0x01")                        \
    X(BLOCK_SIZE, "block-size-mismatch",                                                           \
      "measurement sizes disagree (MeasurementSize != 3 + ValueSize, or ValueSize != 48)")         \
    /* opaque data */                                                                              \
    X(OPAQUE_EMPTY, "opaque-empty", "OpaqueLength is zero")                                        \
    X(DUPLICATE_TLV, "duplicate-tlv", "an opaque-data field appears twice")                        \
    X(TLV_SIZE, "tlv-size", "an opaque-data field has an invalid size")                            \
    X(TLV_VALUE, "tlv-value", "an opaque-data field has an invalid value")                         \
    X(MISSING_TLV, "missing-tlv", "a required opaque-data field is absent")                        \
    X(UNSUPPORTED_FIRMWARE, "unsupported-firmware",                                                \
      "unsupported firmware: opaque data version is greater than 1")                               \
    /* containers */                                                                               \
    X(BAD_JSON, "bad-json", "evidence JSON is malformed")                                          \
    X(BAD_ARCH, "bad-arch", "unknown or unsupported architecture")                                 \
    X(TOO_MANY_DEVICES, "too-many-devices", "evidence lists too many devices")                     \
    X(NO_DEVICES, "no-devices", "evidence lists no devices")                                       \
    X(DUPLICATE_DEVICE, "duplicate-device",                                                        \
      "two devices of the set are one physical device (same report, leaf certificate, "            \
      "ueid or NVML UUID)")                                                                        \
    /* certificates */                                                                             \
    X(BAD_PEM, "bad-pem", "certificate chain is not a clean list of PEM certificates")             \
    X(BAD_CERT, "bad-certificate", "a certificate cannot be decoded")                              \
    X(CHAIN_LENGTH, "chain-length",                                                                \
      "certificate chain has the wrong number of certificates (a device chain holds 5)")           \
    X(CHAIN_ROOT, "chain-root", "the chain's root is not the pinned trust root")                   \
    X(CHAIN_INVALID, "chain-invalid", "certificate chain verification failed")                     \
    X(CHAIN_ORDER, "chain-order",                                                                  \
      "verified chain differs from the presented order leaf, BROM, ICA, identity, root")           \
    X(CHAIN_ALGORITHM, "chain-algorithm",                                                          \
      "a certificate key is not P-384 or its signature is not ecdsa-with-SHA384")                  \
    X(BAD_DER, "bad-der", "malformed DER")                                                         \
    X(FWID_NOT_FOUND, "fwid-not-found",                                                            \
      "the report carries a FWID but the leaf certificate has no FWID extension")                  \
    X(FWID_MISMATCH, "fwid-mismatch", "the report FWID differs from the leaf certificate FWID")    \
    /* report-level verification */                                                                \
    X(SIGNATURE_INVALID, "signature-invalid", "report signature verification failed")              \
    X(NONCE_MISMATCH, "nonce-mismatch", "nonce mismatch")                                          \
    X(CHAIN_EXPIRED, "chain-expired",                                                              \
      "a certificate of the chain is expired or not yet valid at the verification time")           \
    X(ARCH_MISMATCH, "arch-mismatch",                                                              \
      "the certificate chain belongs to another architecture than the one declared")               \
    /* RIM documents */                                                                            \
    X(RIM_XML, "rim-xml", "RIM document is not well-formed XML")                                   \
    X(RIM_DTD, "rim-dtd", "RIM document carries a DTD, entity or external reference")              \
    X(RIM_STRUCTURE, "rim-structure",                                                              \
      "RIM document structure is not SoftwareIdentity with one Meta, Payload and Signature")       \
    X(RIM_ATTRIBUTE, "rim-attribute", "a RIM attribute is missing or malformed")                   \
    X(RIM_DUPLICATE_INDEX, "rim-duplicate-index", "two active RIM measurements share an index")    \
    X(RIM_SIGNATURE_PROFILE, "rim-signature-profile",                                              \
      "the RIM signature is outside NVIDIA's XML-DSig profile")                                    \
    X(RIM_DIGEST_MISMATCH, "rim-digest-mismatch",                                                  \
      "the RIM reference digest does not match the document (content changed after signing)")      \
    X(RIM_SIGNATURE_INVALID, "rim-signature-invalid", "the RIM signature value does not verify")   \
    X(RIM_NOT_FOUND, "rim-not-found", "RIM not found")                                             \
    X(RIM_STORE, "rim-store", "the RIM store cannot be read")                                      \
    X(RIM_PINNED_ABSENT, "rim-pinned-absent",                                                      \
      "the RIM store has no document with the id and SHA-256 pinned for this device")              \
    X(RIM_VERSION_MISMATCH, "rim-version-mismatch",                                                \
      "the RIM version differs from the version in the report")                                    \
    X(RIM_CONFLICT, "rim-measurement-conflict",                                                    \
      "an index is active in both the driver and the VBIOS RIM")                                   \
    /* policy */                                                                                   \
    X(POLICY, "policy-invalid", "the policy document is malformed or has an unknown key")          \
    /* EAT tokens */                                                                               \
    X(EAT_MALFORMED, "eat-malformed", "the token is not a well-formed detached EAT")               \
    X(EAT_ALGORITHM, "eat-algorithm", "the token is not signed with ES384")                        \
    X(EAT_SIGNATURE, "eat-signature", "the token signature does not verify")                       \
    X(EAT_DIGEST, "eat-submod-digest", "a submodule token does not match its digest")              \
    X(EAT_TIME, "eat-time", "the token is expired or issued in the future")                        \
    X(EAT_NONCE, "eat-nonce", "the token nonces disagree")                                         \
    /* collection: NVML, sysfs PCI inventory, CC mode (lib/collect) */                             \
    X(NVML_LOAD, "nvml-load", "the NVML library cannot be loaded")                                 \
    X(NVML_SYMBOL, "nvml-symbol", "the NVML library lacks a required function")                    \
    X(NVML_CALL, "nvml-call", "an NVML call returned an error")                                    \
    X(NVML_SIZE, "nvml-size", "NVML returned an empty, short or overlong value for its buffer")    \
    X(NVML_CHAIN, "nvml-chain",                                                                    \
      "NVML returned a certificate chain that is not 5 PEM certificates")                          \
    X(NVML_ARCH, "nvml-arch", "the GPU architecture is neither Hopper nor Blackwell")              \
    X(NVML_TIMEOUT, "nvml-timeout", "NVML did not answer before the collection deadline")          \
    /* collection: NVSwitch evidence through NSCQ (lib/collect/nscq.c) */                          \
    X(NSCQ_LOAD, "nscq-load", "the NSCQ library cannot be loaded")                                 \
    X(NSCQ_SYMBOL, "nscq-symbol", "the NSCQ library lacks a required function")                    \
    X(NSCQ_NOT_IMPLEMENTED, "nscq-not-implemented", "NSCQ: not implemented (rc -1)")               \
    X(NSCQ_INVALID_UUID, "nscq-invalid-uuid", "NSCQ: invalid UUID (rc -2)")                        \
    X(NSCQ_NOT_MOUNTABLE, "nscq-not-mountable", "NSCQ: resource not mountable (rc -3)")            \
    X(NSCQ_OVERFLOW, "nscq-overflow", "NSCQ: overflow (rc -4)")                                    \
    X(NSCQ_UNEXPECTED_VALUE, "nscq-unexpected-value", "NSCQ: unexpected value (rc -5)")            \
    X(NSCQ_UNSUPPORTED_DRIVER, "nscq-unsupported-driver", "NSCQ: unsupported driver (rc -6)")      \
    X(NSCQ_DRIVER, "nscq-driver", "NSCQ: driver error (rc -7)")                                    \
    X(NSCQ_DRIVER_TIMEOUT, "nscq-driver-timeout", "NSCQ: the driver timed out (rc -8)")            \
    X(NSCQ_EXT, "nscq-ext", "NSCQ: external error (rc -127)")                                      \
    X(NSCQ_UNSPECIFIED, "nscq-unspecified", "NSCQ: unspecified error (rc -128)")                   \
    X(NSCQ_RC_UNKNOWN, "nscq-rc-unknown", "NSCQ returned an error code it does not define")        \
    X(NSCQ_WARNING, "nscq-warning", "NSCQ returned a warning (rc > 0), refused as a failure")      \
    X(NSCQ_CALLBACK, "nscq-callback",                                                              \
      "an NSCQ callback came for another device, came twice, or never came")                       \
    X(NSCQ_LABEL, "nscq-label",                                                                    \
      "an NVSwitch label is empty, unterminated, duplicated or contains a slash")                  \
    X(NSCQ_SIZE, "nscq-size", "NSCQ returned an empty or overlong report or certificate chain")    \
    X(NSCQ_CHAIN, "nscq-chain",                                                                    \
      "NSCQ returned a certificate chain that is not 5 PEM certificates")                          \
    X(NSCQ_ARCH, "nscq-arch", "the NVSwitch architecture is not LS10")                             \
    X(NSCQ_TIMEOUT, "nscq-timeout", "NSCQ did not answer before the collection deadline")          \
    X(CC_OFF, "cc-off", "confidential computing is off (the CC feature is not enabled)")           \
    X(CC_DEVTOOLS, "cc-devtools", "confidential computing is in DEVTOOLS mode")                    \
    X(CC_UNKNOWN, "cc-unknown",                                                                    \
      "a confidential-computing setting has a value outside the gate's allow-list")                \
    X(PCI_UNREADABLE, "pci-unreadable", "a PCI device entry in sysfs cannot be read")              \
    X(PCI_FOREIGN_DISPLAY, "pci-foreign-display",                                                  \
      "a display controller that is not an NVIDIA GPU is present")                                 \
    X(PCI_ADDRESS, "pci-address", "a PCI address is malformed")                                    \
    X(INVENTORY_MISMATCH, "inventory-mismatch",                                                    \
      "the PCI inventory, NVML and the evidence disagree on the devices present")                  \
    /* measure: runtime events, registers, event logs, canonical JSON */                           \
    X(EVENT_NAME, "event-name",                                                                    \
      "event name is empty, too long, or has a character the event formats cannot carry")          \
    X(EVENTLOG_SYNTAX, "eventlog-syntax", "an event-log line or element is not valid JSON")        \
    X(EVENTLOG_FIELD, "eventlog-field",                                                            \
      "an event-log member is missing, of the wrong type, or unknown")                             \
    X(EVENT_TYPE, "event-type", "a runtime event is not type 0x08000001 on RTMR3")                 \
    X(EVENT_VERSION, "event-version", "event digest version is not 1 or 2")                        \
    X(EVENT_DIGEST_MISMATCH, "event-digest-mismatch",                                              \
      "a recorded event digest differs from the digest of its name and payload")                   \
    X(EVENT_PREIMAGE, "event-preimage",                                                            \
      "a V2 event preimage is not the canonical JSON of its name and payload")                     \
    X(EVENT_VERSION_FILE, "event-version-file",                                                    \
      "the runtime-event version file is missing, malformed, or holds another version")            \
    X(EVENT_LOCK, "event-lock", "the runtime-event lock file cannot be opened or locked")          \
    X(REGISTER_UNAVAILABLE, "register-unavailable",                                                \
      "no measurement register interface (RTMR sysfs, TDX device, TPM) is available")              \
    X(REGISTER_PERMISSION, "register-permission",                                                  \
      "permission denied extending the measurement register")                                      \
    X(REGISTER_EXTEND, "register-extend", "extending the measurement register failed")             \
    X(REGISTER_STATE, "register-state",                                                            \
      "the simulated register file cannot be read or does not hold exactly 48 bytes")              \
    X(EVENT_LOG_WRITE, "event-log-write",                                                          \
      "the register was extended but the event-log line could not be appended")                    \
    X(RTMR_MISMATCH, "rtmr-mismatch", "the replayed register differs from the expected value")     \
    X(JCS_NUMBER, "jcs-number",                                                                    \
      "a number has no single canonical form (an integral value beyond 2^53)")                     \
    X(JCS_DEPTH, "jcs-depth", "JSON nesting exceeds the canonicalization depth limit")             \
    /* TDX quotes (Intel DCAP): the quote, its collateral, verification (lib/quote) */             \
    X(QUOTE_INPUT, "quote-input",                                                                  \
      "the quote input is neither a binary quote, hex text, nor JSON with a \"quote\" member")     \
    X(QUOTE_SGX, "quote-sgx", "the quote is an SGX quote; only TDX quotes are verified")           \
    X(QUOTE_VERSION, "quote-version", "the quote version is not 4 or 5")                           \
    X(QUOTE_TEE_TYPE, "quote-tee-type", "the quote's TEE type is not TDX (0x81)")                  \
    X(QUOTE_KEY_TYPE, "quote-key-type",                                                            \
      "the attestation key type is not 2 (ECDSA-256 with P-256)")                                  \
    X(QUOTE_VENDOR, "quote-vendor", "the QE vendor id is not Intel's")                             \
    X(QUOTE_BODY, "quote-body", "the v5 body type or size is not a TD report 1.0 or 1.5")          \
    X(QUOTE_CERT_DATA, "quote-cert-data",                                                          \
      "the certification data is not a QE report (type 6) over a type 1-5 inner certification "    \
      "data, or the PCK chain it needs is absent")                                                 \
    X(QUOTE_AUTH_DATA, "quote-auth-data", "the QE authentication data is not 32 bytes")            \
    X(QUOTE_PADDING, "quote-padding",                                                              \
      "bytes after the signature data are not zero padding within the bound")                      \
    X(QUOTE_COLLATERAL, "quote-collateral",                                                        \
      "the TDX collateral is not QuoteCollateralV3 JSON (a member is missing or malformed)")       \
    X(TCB_INFO_MALFORMED, "tcb-info-malformed", "the TCB info JSON is malformed")                  \
    X(QE_IDENTITY_MALFORMED, "qe-identity-malformed", "the QE identity JSON is malformed")         \
    X(TCB_INFO_NOT_YET_VALID, "tcb-info-not-yet-valid",                                            \
      "the TCB info issueDate is after the verification time")                                     \
    X(TCB_INFO_EXPIRED, "tcb-info-expired",                                                        \
      "the TCB info nextUpdate is before the verification time")                                   \
    X(QE_IDENTITY_NOT_YET_VALID, "qe-identity-not-yet-valid",                                      \
      "the QE identity issueDate is after the verification time")                                  \
    X(QE_IDENTITY_EXPIRED, "qe-identity-expired",                                                  \
      "the QE identity nextUpdate is before the verification time")                                \
    X(TCB_INFO_SIGNATURE, "tcb-info-signature", "the TCB info signature does not verify")          \
    X(QE_IDENTITY_SIGNATURE, "qe-identity-signature", "the QE identity signature does not verify") \
    X(TCB_INFO_TEE, "tcb-info-tee", "the TCB info is not id TDX, version 3 or later")              \
    X(QE_IDENTITY_TEE, "qe-identity-tee", "the QE identity is not TD_QE version 2 or 3")           \
    X(TCB_SIGNING_CHAIN, "tcb-signing-chain",                                                      \
      "the TCB signing chain does not verify to the Intel SGX Root CA")                            \
    X(PCK_CHAIN, "pck-chain",                                                                      \
      "the PCK certificate chain does not verify to the Intel SGX Root CA")                        \
    X(CRL_INVALID, "crl-invalid",                                                                  \
      "a CRL cannot be decoded, is not signed by its issuer, or is missing for a certificate")     \
    X(CRL_NOT_YET_VALID, "crl-not-yet-valid", "a CRL's thisUpdate is after the verification time") \
    X(CRL_EXPIRED, "crl-expired", "a CRL's nextUpdate is before the verification time")            \
    X(CERT_REVOKED, "cert-revoked", "a certificate of the chain is revoked by its CRL")            \
    X(PCK_EXTENSION, "pck-extension",                                                              \
      "the PCK certificate's SGX extension is missing, repeated or malformed")                     \
    X(QE_REPORT_SIGNATURE, "qe-report-signature",                                                  \
      "the QE report signature does not verify with the PCK key")                                  \
    X(QE_REPORT_DATA, "qe-report-data",                                                            \
      "the QE report data is not SHA-256(attestation key || QE auth data) and 32 zero bytes")      \
    X(QE_MRSIGNER, "qe-mrsigner", "the QE MRSIGNER differs from the QE identity")                  \
    X(QE_DEBUG, "qe-debug", "the quoting enclave runs in debug mode")                              \
    X(QE_ISVPRODID, "qe-isvprodid", "the QE ISVPRODID differs from the QE identity")               \
    X(QE_MISCSELECT, "qe-miscselect", "the QE MISCSELECT differs from the QE identity (masked)")   \
    X(QE_ATTRIBUTES, "qe-attributes", "the QE ATTRIBUTES differ from the QE identity (masked)")    \
    X(QE_ISVSVN, "qe-isvsvn", "the QE ISVSVN is below every QE identity TCB level")                \
    X(QUOTE_SIGNATURE, "quote-signature",                                                          \
      "the quote signature by the attestation key does not verify")                                \
    X(FMSPC_MISMATCH, "fmspc-mismatch", "the TCB info FMSPC differs from the PCK certificate's")   \
    X(PCE_ID_MISMATCH, "pce-id-mismatch",                                                          \
      "the TCB info pceId differs from the PCK certificate's PCE-ID")                              \
    X(TCB_COMPONENTS, "tcb-components", "a TCB level does not list 16 SGX (or 16 TDX) components") \
    X(TCB_NO_LEVEL, "tcb-no-matching-level", "no TCB level matches the platform's SVNs")           \
    X(TDX_MODULE_MISSING, "tdx-module-missing", "the TDX TCB info has no tdxModule")               \
    X(TDX_MODULE_IDENTITY, "tdx-module-identity",                                                  \
      "no TDX module identity matches the module's major version")                                 \
    X(TDX_MODULE_MRSIGNER, "tdx-module-mrsigner",                                                  \
      "the TDX module MRSIGNER differs from the TCB info")                                         \
    X(TDX_MODULE_ATTRIBUTES, "tdx-module-attributes",                                              \
      "the TDX module (SEAM) attributes differ from the TCB info (masked) or set unmasked bits")   \
    X(TDX_MODULE_ISVSVN, "tdx-module-isvsvn",                                                      \
      "the TDX module ISVSVN is below every level of its module identity")                         \
    X(TCB_REVOKED, "tcb-revoked", "the TCB status is Revoked")                                     \
    X(TD_DEBUG, "td-debug", "the TD is a debug TD")                                                \
    X(TD_RESERVED_ATTRIBUTES, "td-reserved-attributes", "reserved TD attribute bits are set")      \
    X(TD_SEPT_VE, "td-sept-ve-disabled", "SEPT_VE_DISABLE is not set in the TD attributes")        \
    X(TD_SERVICE_TD, "td-service-td", "the TD's mr_service_td is not zero")                        \
    X(TCB_NOT_UP_TO_DATE, "tcb-not-up-to-date",                                                    \
      "the TCB status is not UpToDate and UpToDate was required")                                  \
    /* collateral proxy */                                                                         \
    X(PROXY_CONFIG, "proxy-config", "proxy option unknown or its value invalid")                   \
    X(PROXY_UNCACHEABLE, "proxy-uncacheable",                                                      \
      "the OCSP response is not successful, not yet valid or already expired")                     \
    X(PROXY_UPSTREAM, "proxy-upstream", "the upstream service cannot be reached")                  \
    X(PROXY_CACHE_CORRUPT, "proxy-cache-corrupt",                                                  \
      "a cache entry is malformed or its body does not match its digest")                          \
    X(PROXY_LISTEN, "proxy-listen", "the proxy cannot listen on its address")                      \
    /* OCSP and collateral (revocation) */                                                         \
    X(OCSP_MALFORMED, "ocsp-malformed", "the OCSP response is not well-formed DER")                \
    X(OCSP_RESPONSE_STATUS, "ocsp-response-status",                                                \
      "the OCSP responder did not answer successfully (responseStatus)")                           \
    X(OCSP_SIGNATURE, "ocsp-signature",                                                            \
      "the OCSP response is not signed by the issuer or a responder the issuer authorised")        \
    X(OCSP_CERTID, "ocsp-certid", "the OCSP response does not answer for this certificate")        \
    X(OCSP_NONCE, "ocsp-nonce", "the OCSP response does not echo the request's nonce")             \
    X(OCSP_NOT_YET_VALID, "ocsp-not-yet-valid",                                                    \
      "the OCSP response's thisUpdate is after the verification time")                             \
    X(OCSP_EXPIRED, "ocsp-expired",                                                                \
      "the OCSP response's nextUpdate (or thisUpdate + 1h) is before the verification time")       \
    X(OCSP_TOO_OLD, "ocsp-too-old", "the OCSP response is older than the maximum age")             \
    X(COLLATERAL_UNREACHABLE, "collateral-unreachable",                                            \
      "the collateral service (OCSP responder, RIM service) could not be reached")                 \
    X(COLLATERAL_HTTP, "collateral-http", "the collateral service answered with an HTTP error")    \
    X(OCSP_NO_RESPONSE, "ocsp-no-response",                                                        \
      "no fresh OCSP response for the certificate in the chosen source")                           \
    X(COLLATERAL_STORE, "collateral-store", "the collateral directory cannot be read or written")  \
    X(COLLATERAL_HEADER, "collateral-header",                                                      \
      "a collateral response header (an issuer chain) is missing, repeated or malformed")          \
    X(COLLATERAL_BODY, "collateral-body",                                                          \
      "a collateral response body is not the CRL or signed JSON object expected")                  \
    X(QUOTE_COLLATERAL_MISSING, "quote-collateral-missing",                                        \
      "no TDX collateral is stored for the quote's platform (FMSPC and PCK CA)")                   \
    /* gate: the boot gate's own findings */                                                       \
    X(GATE_CONFIG, "gate-config",                                                                  \
      "the gate configuration is malformed, has an unknown key, or a value out of range")          \
    X(GATE_REJECTED, "gate-rejected", "the appraisal or the policy rejected the GPUs")             \
    /* relying-party verifier: a dstack CVM, its event log and its GPU bundle (lib/cvm) */         \
    X(CVM_INPUT, "cvm-input",                                                                      \
      "the attestation input is not a GetQuote response or verifier request")                      \
    X(CVM_EXPECT, "cvm-expectations",                                                              \
      "the expectations document is malformed, has an unknown key, or contradicts itself")         \
    X(CVM_BUNDLE_INPUT, "cvm-bundle-input",                                                        \
      "the GPU bundle input is not the bundle nor a GpuInfo response holding it")                  \
    X(CVM_QUOTE_UNVERIFIED, "quote-not-verified", "the quote was not verified")                    \
    X(CVM_TCB_STATUS, "tcb-status-not-allowed", "the quote's TCB status is not an allowed one")    \
    X(CVM_ADVISORY, "advisory-not-allowed", "the quote names an advisory that is not allowed")     \
    X(CVM_REPORT_DATA, "report-data-mismatch",                                                     \
      "the quote's report data is not the expected challenge (zero-padded)")                       \
    X(CVM_BOOT_EVENTS, "boot-events-missing",                                                      \
      "the event log has no boot events, so RTMR0-2 cannot be replayed")                           \
    X(CVM_EVENT_UNKNOWN, "event-unknown", "an event before system-ready is not one of dstack's")   \
    X(CVM_EVENT_DUPLICATE, "event-duplicate",                                                      \
      "an event before system-ready appears more often than allowed")                              \
    X(CVM_EVENT_ORDER, "event-order", "an event before system-ready is out of dstack's order")     \
    X(CVM_EVENT_MISSING, "event-missing", "a required event before system-ready is absent")        \
    X(CVM_EVENT_PAYLOAD, "event-payload", "a boot event's payload has the wrong length or form")   \
    X(CVM_NOT_ALLOWED, "value-not-allowed",                                                        \
      "a measured or derived value is not in the expectations' allow-list")                        \
    X(CVM_OS_IMAGE_UNBOUND, "os-image-unbound",                                                    \
      "no os image hash to compare: no os-image-hash event and none in vm_config")                 \
    X(CVM_GPU_EVENT_ABSENT, "gpu-event-absent", "no gpu-attestation event before system-ready")    \
    X(CVM_GPU_PAYLOAD, "gpu-payload", "the gpu-attestation payload is malformed or inconsistent")  \
    X(CVM_GPU_DEVICES, "gpu-devices", "the measured GPU or NVSwitch count is not the expected")    \
    X(CVM_GPU_CC_MODE, "gpu-cc-mode",                                                              \
      "the measured cc_mode is not one gpu.mode allows (on or ppcie with GPUs, none without)")     \
    X(CVM_GPU_DEVTOOLS, "gpu-devtools", "the GPUs ran in DEVTOOLS mode, which is not allowed")     \
    X(CVM_GPU_TRUST_ROOTS, "gpu-trust-roots",                                                      \
      "the GPUs were attested to a root the expectations do not trust")                            \
    X(CVM_BUNDLE_ABSENT, "gpu-bundle-absent", "no GPU evidence bundle was given")                  \
    X(CVM_BUNDLE_DIGEST, "gpu-bundle-digest",                                                      \
      "the bundle's SHA-256 is not the evidence_sha256 the event committed to")                    \
    X(CVM_BUNDLE_MISMATCH, "gpu-bundle-mismatch",                                                  \
      "the bundle's nonce, devices or verdict disagree with the event or each other")              \
    X(CVM_BUNDLE_AGE, "gpu-bundle-age", "the bundle is older than max_bundle_age")                 \
    X(CVM_NOT_RUN, "check-not-run",                                                                \
      "a check the verdict needs could not run (no quote verdict, no re-appraisal)")               \
    X(CVM_REAPPRAISAL, "gpu-reappraisal",                                                          \
      "the bundle's raw evidence does not re-appraise to a pass")                                  \
    X(CVM_BUNDLE_EVIDENCE, "gpu-bundle-evidence",                                                  \
      "the bundle's evidence, nonce or collateral lists are malformed or disagree with the event") \
    X(CVM_GPU_MODE, "gpu-mode",                                                                    \
      "the measured cc_mode and the committed bundle's mode (cc or ppcie) disagree")               \
    /* HTTP servers (lib/service) and the verifier server (lib/verifier) */                        \
    X(SERVICE_LISTEN, "server-listen", "the server cannot listen on its address")                  \
    X(SERVICE_IN_USE, "server-in-use",                                                             \
      "another instance is listening on the server's Unix socket")                                 \
    X(SERVICE_ACTIVATION, "server-activation",                                                     \
      "the sockets systemd passed (LISTEN_FDS) are not one listening Unix stream socket")          \
    X(SERVICE_GROUP, "server-group", "the Unix socket's group does not exist")                     \
    X(VERIFIER_CONFIG, "verifier-config", "verifier server option unknown or its value invalid")   \
    /* runtime libraries: libcurl, libmicrohttpd, tpm2-tss are loaded on first use */              \
    X(RUNTIME_LIBRARY, "runtime-library",                                                          \
      "a shared library this operation needs cannot be loaded")                                    \
    /* the KMS authorization webhook (lib/kms) */                                                  \
    X(KMS_CONFIG, "kms-config", "the KMS webhook's configuration is not valid auth-config JSON")   \
    X(KMS_REQUEST, "kms-request", "a boot authorization request is not a BootInfo JSON object")    \
    /* the guest RPC service (lib/rpc) */                                                          \
    X(RPC_METHOD, "rpc-method", "no such RPC method")                                              \
    X(RPC_HTTP_METHOD, "rpc-http-method", "RPC methods take GET or POST")                          \
    X(RPC_REQUEST, "rpc-request", "the RPC request is not the method's request message")           \
    X(RPC_RESPONSE, "rpc-response", "the RPC method's answer does not fit its response message")   \
    X(RPC_ARGUMENT, "rpc-argument", "an RPC argument is not FIELD=VALUE of the request message")   \
    X(RPC_CONNECT, "rpc-connect", "cannot reach the RPC service")                                  \
    X(RPC_ANSWER, "rpc-answer", "the RPC service's answer does not decode")                        \
    X(RPC_BUNDLE_UTF8, "rpc-bundle-utf8", "the evidence bundle is not valid UTF-8")                \
    X(RPC_BUNDLE_MISMATCH, "rpc-bundle-mismatch",                                                  \
      "the bundle's SHA-256 is not the gpu-attestation event's evidence_sha256")                   \
    X(RPC_BUNDLE_UNCOMMITTED, "rpc-bundle-uncommitted",                                            \
      "a bundle exists but no gpu-attestation event commits to it")                                \
    X(RPC_BUNDLE_MISSING, "rpc-bundle-missing",                                                    \
      "the gpu-attestation event commits to a bundle that is not there")                           \
    X(RPC_EVENTS, "rpc-events", "the runtime event log holds more than one gpu-attestation event") \
    X(RPC_EVENT_PAYLOAD, "rpc-event-payload",                                                      \
      "the gpu-attestation event's payload has no evidence_sha256")                                \
    X(RPC_BUNDLE_JSON, "rpc-bundle-json", "the committed bundle is not the JSON the gate writes")  \
    X(RPC_FIELD, "rpc-field", "an RPC request field is missing or invalid")                        \
    X(RPC_RATE_LIMITED, "rpc-rate-limited", "AttestGpu is over its rate limit")                    \
    X(RPC_ATTESTATION, "rpc-attestation", "the attestation could not be run")                      \
    /* PPCIe topology (lib/appraise/topology.c, docs/ppcie.md) */                                  \
    X(TOPOLOGY_GPU_COUNT, "topology-gpu-count",                                                    \
      "the PPCIe set has not the expected number of GPUs")                                         \
    X(TOPOLOGY_SWITCH_COUNT, "topology-switch-count",                                              \
      "the PPCIe set has not the expected number of NVSwitches")                                   \
    X(TOPOLOGY_NONCE, "topology-nonce", "a device of the PPCIe set reports another nonce")         \
    X(TOPOLOGY_GPU_MODE, "topology-gpu-mode",                                                      \
      "a GPU's signed mode signals are not consistently PPCIe")                                    \
    X(TOPOLOGY_MIXED_MODE, "topology-mixed-mode", "CC-only GPUs and PPCIe GPUs in one set")        \
    X(TOPOLOGY_GPU_SWITCH_COUNT, "topology-gpu-switch-count",                                      \
      "a GPU links to another number of NVSwitches than expected")                                 \
    X(TOPOLOGY_GPU_SWITCH_SET, "topology-gpu-switch-set",                                          \
      "a GPU links to other NVSwitches than the first GPU")                                        \
    X(TOPOLOGY_SWITCH_UNKNOWN, "topology-switch-unknown",                                          \
      "an NVSwitch's own PDI is absent or not one the GPUs link to")                               \
    X(TOPOLOGY_SWITCH_DUPLICATE, "topology-switch-duplicate",                                      \
      "two NVSwitches report the same PDI")                                                        \
    X(TOPOLOGY_SWITCH_POSITION, "topology-switch-position",                                        \
      "an NVSwitch position is absent, out of range or repeated")                                  \
    X(TOPOLOGY_SWITCH_LOCK, "topology-switch-not-locked", "an NVSwitch is not exactly LOCKED")     \
    X(TOPOLOGY_GPU_PDI_INVALID, "topology-gpu-pdi-invalid", "a GPU PDI is all-zero or all-0xFF")   \
    X(TOPOLOGY_SWITCH_GPU_COUNT, "topology-switch-gpu-count",                                      \
      "an NVSwitch names another number of GPUs than expected")                                    \
    X(TOPOLOGY_SWITCH_GPU_SET, "topology-switch-gpu-set",                                          \
      "an NVSwitch names other GPUs than the first NVSwitch")                                      \
    X(TOPOLOGY_UNKNOWN_GPU, "topology-unknown-gpu",                                                \
      "an NVSwitch names a GPU PDI that no attested GPU has")                                      \
    X(TOPOLOGY_GPU_CERT_PDI, "topology-gpu-cert-pdi",                                              \
      "a GPU's certificate names no PDI, or the same PDI as another GPU's")                        \
    X(TOPOLOGY_GPU_UNLISTED, "topology-gpu-unlisted", "an attested GPU is named by no NVSwitch")   \
    /* the set appraisal's mode rule (lib/appraise/set_mode.c, docs/ppcie.md) */                   \
    X(MODE_PPCIE_EVIDENCE, "mode-ppcie-evidence",                                                  \
      "a GPU's signed evidence is protected PCIe where single-GPU CC mode was expected")           \
    X(MODE_SWITCH_IN_CC, "mode-switch-in-cc",                                                      \
      "an NVSwitch is in a set appraised in single-GPU CC mode")

typedef enum {
#define DGA_X_ENUM(id, name, msg) DGA_E_##id,
    DGA_ERROR_TABLE(DGA_X_ENUM)
#undef DGA_X_ENUM
        DGA_E__COUNT
} dga_err;

/*
 * Where a check failed: the field being read and a position whose unit each
 * function documents (a byte offset for binary parsers, a line for RIM XML,
 * a device or certificate index for containers and chains).
 */
struct dga_diag {
    dga_err err;
    size_t offset;
    const char *field; /* static string, never NULL after dga_diag_set */
};

const char *dga_err_name(dga_err e);
const char *dga_err_message(dga_err e);

/* Record a failure in an optional diag; returns e so callers can `return dga_diag_set(...)`. */
dga_err dga_diag_set(struct dga_diag *d, dga_err e, size_t offset, const char *field);

#endif
