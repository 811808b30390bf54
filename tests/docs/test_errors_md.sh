#!/usr/bin/env bash
# docs/errors.md is generated from the error table (tools/gen_errors_md.c): regenerate
# it into the build tree and fail, saying how to regenerate, when the committed copy
# differs (an error added, renamed, reworded or moved without regenerating the doc).
# Usage: test_errors_md.sh PATH/TO/gen_errors_md SOURCE_DIR OUT_FILE
set -u
gen=$1
src=$2
out=$3
if ! "$gen" "$src/include/dga/error.h" >"$out"; then
    echo "FAIL: $gen exited non-zero"
    exit 1
fi
if ! diff -u "$src/docs/errors.md" "$out"; then
    echo "FAIL: docs/errors.md is out of date with include/dga/error.h. Regenerate it:"
    echo "  cmake --build build --target gen_errors_md &&"
    echo "  build/tests/gen_errors_md include/dga/error.h > docs/errors.md"
    exit 1
fi
echo "ok: docs/errors.md matches the error table ($(grep -c '^| `' "$out") errors)"
