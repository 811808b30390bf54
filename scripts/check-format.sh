#!/usr/bin/env bash
# Fails when a tracked C source or header differs from what clang-format makes of
# it under the repository's .clang-format (Debian 12's clang-format 14).
#   scripts/check-format.sh          check, list the files that differ
#   scripts/check-format.sh --fix    rewrite them in place
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
clang_format=${CLANG_FORMAT:-clang-format-14}
command -v "$clang_format" >/dev/null || clang_format=clang-format
mapfile -t files < <(git ls-files -- '*.c' '*.h' ':!:tests/fixtures/**')
if [ "${1:-}" = --fix ]; then
    "$clang_format" -i --style=file "${files[@]}"
    exit 0
fi
bad=()
for f in "${files[@]}"; do
    if ! "$clang_format" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
        bad+=("$f")
    fi
done
if [ ${#bad[@]} -gt 0 ]; then
    printf 'check-format: not formatted as .clang-format says: %s\n' "${bad[@]}" >&2
    echo "check-format: run scripts/check-format.sh --fix" >&2
    exit 1
fi
echo "check-format: ${#files[@]} files formatted"
