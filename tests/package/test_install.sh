#!/usr/bin/env bash
# `cmake --install` with DESTDIR (docs/packaging.md): every file lands under DESTDIR, in
# the FHS places of tests/package/install.files for the configured prefix (the docs
# folder by pattern); no library, header or pkg-config file, no bin/nvattest.
# Usage: test_install.sh BUILD_DIR
set -euo pipefail

build=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
[ "$prefix" = /usr/local ] || { echo "skipped: prefix $prefix, not the default" >&2; exit 77; }
DESTDIR=$work/dest cmake --install "$build" >"$work/out" 2>&1 || { cat "$work/out" >&2; fail "cmake --install"; }
if grep -E '^-- (Installing|Up-to-date): ' "$work/out" | grep -v -- "-- [A-Za-z-]*: $work/dest/"; then
    fail "installed outside DESTDIR"
fi
(cd "$work/dest" && find . ! -type d | sed 's#^\.##') |
    sed -E 's#^(/usr/local/share/doc/dstack-gpu-attest/docs/)[a-z0-9-]+\.md$#\1*.md#' |
    LC_ALL=C sort -u >"$work/files"
diff -u "$here/install.files" "$work/files" || fail "the installed files differ from tests/package/install.files"
cmp -s "$work/dest/usr/local/etc/dstack-gpu-attest/gate.json.example" "$here/../../systemd/gate.example.json" ||
    fail "gate.json.example is not systemd/gate.example.json"
cmp -s "$work/dest/usr/local/etc/dstack-gpu-attest/gate-ppcie.json.example" "$here/../../systemd/gate-ppcie.example.json" ||
    fail "gate-ppcie.json.example is not systemd/gate-ppcie.example.json"
echo "install: pass"
