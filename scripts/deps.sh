#!/usr/bin/env bash
# Installs the Debian 12 packages that the build, the tests, the fuzzers and the
# benchmarks need. Idempotent: when every package is already installed it does
# nothing (no apt-get update, no network), so `make` can call it every time.
set -euo pipefail

packages=(
    build-essential    # gcc (+ libasan/libubsan for `make asan`), make
    cmake
    ninja-build
    pkg-config
    clang              # `make fuzz`: libFuzzer targets
    clang-format       # `make check`: scripts/check-format.sh (clang-format 14, .clang-format)
    libclang-rt-14-dev # libFuzzer and sanitizer runtimes for clang 14
    libssl-dev         # OpenSSL 3: X.509, ECDSA P-384, OCSP
    openssl
    libjansson-dev     # JSON
    libcmocka-dev      # unit tests
    libxml2-dev        # RIM XML
    libcurl4-openssl-dev # collateral fetch (OCSP, RIMs) from NVIDIA or the proxy
    libmicrohttpd-dev  # the collateral proxy
    libtss2-dev        # TPM PCR backend for the measured event (tpm2-tss ESYS)
    swtpm              # `make test`: a TPM 2.0 that tests/unit/test_event_tpm.c starts and extends
    systemd            # `make test`: systemd-analyze verify of the units
    wrk                # `make bench`: load on the collateral proxy (bench/bench_proxy.sh)
    xmlsec1            # `make test`: reference verifier for the RIM signature differential test
    curl               # `make test`: the proxy tests' HTTP client (parallel clients too)
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps.sh: missing packages (${missing[*]}) and apt-get is not available;" \
        "install them by hand (Debian 12 names)" >&2
    exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "deps.sh: missing packages (${missing[*]}); run as root or install sudo" >&2
        exit 1
    fi
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
