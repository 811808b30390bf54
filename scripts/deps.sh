#!/usr/bin/env bash
# Installs the Debian 12 packages that the build, the tests, the fuzzers and the
# benchmarks need, then the pinned npm oracle of the TDX quote differential
# test (tests/oracle). Idempotent: when every package and the oracle are
# already installed it does nothing (no apt-get update, no network), so `make`
# can call it every time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

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
    valgrind           # `make bench`: callgrind counts a quote's ECDSA verifications (bench/bench_quote_count.sh)
    xmlsec1            # `make test`: reference verifier for the RIM signature differential test
    curl               # `make test`: the proxy tests' HTTP client (parallel clients too)
    python3            # `make test`: the TDX quote differential test's mutants and comparison (stdlib only)
    perl               # `make test`: RIM mutations, the test OCSP responder
    protobuf-c-compiler # protoc-c: the RPC service's messages from proto/dstack_gpu_attest.proto
    libprotobuf-c-dev  # the RPC service's protobuf mode (protobuf-c runtime)
    python3-protobuf   # `make test`: the independent protobuf client of tests/rpc/test_rpc_proto.sh
    protobuf-compiler  # `make test`: protoc --python_out for that client
    dpkg-dev           # `make deb`: dpkg-buildpackage, dpkg-shlibdeps (debian/)
    debhelper          # `make deb`: dh with the cmake+ninja build system and dh_installsystemd
    fakeroot           # `make deb`: dpkg-buildpackage's gain-root tool (idle while debian/control says Rules-Requires-Root: no)
    lintian            # `make check-package`: the built packages must be lintian clean
)
# `make test`: node and npm run the TDX quote oracle (tests/oracle). A node
# that is already there (e.g. from nodesource, with its own npm) is used as
# is; Debian 12's nodejs (18.x) with its npm (9.x) works too.
if ! command -v node >/dev/null 2>&1; then
    packages+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
    packages+=(npm)
fi

# The oracle: `npm ci` of tests/oracle/package-lock.json, which pins
# @phala/dcap-qvl 0.3.9 and every dependency to an exact version and
# integrity hash (asn1.js 5.4.1, elliptic 6.6.1, bn.js 5.2.5,
# @peculiar/asn1-schema and asn1-x509 2.11.1, ...). Skipped when the installed
# tree was made from this very lock file (a stamp holds its SHA-256).
install_oracle() {
    local dir=$here/../tests/oracle stamp want
    stamp=$dir/node_modules/.dga-lock.sha256
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
        [ -f "$dir/node_modules/@phala/dcap-qvl/package.json" ]; then
        return 0
    fi
    echo "deps.sh: installing the TDX quote oracle (npm ci in tests/oracle)" >&2
    # --ignore-scripts: nothing of the package tree runs at install time.
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    echo "$want" >"$stamp"
}

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    install_oracle
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
install_oracle
