#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# check_layers.sh on small fake trees: a clean one passes, and each kind of violation
# fails with exit 1 and the exact line naming the file, the line and the include.
set -u

check=$(cd "$(dirname "$0")" && pwd)/check_layers.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# A tree with three layers: low (low.h), mid (mid.h), high (high.h), and a core.
make_tree() {
    local t=$1
    mkdir -p "$t/lib/core" "$t/lib/low" "$t/lib/mid" "$t/lib/high" "$t/include/dga" "$t/tools"
    cat >"$t/lib/layers.txt" <<'EOF'
# layer  public headers
core     error.h
low      low.h
mid      mid.h
high     high.h
EOF
    printf '#include <stddef.h>\n' >"$t/include/dga/error.h"
    printf '#include "dga/error.h"\n' >"$t/include/dga/low.h"
    printf '#include "dga/low.h"\n' >"$t/include/dga/mid.h"
    printf '#include "dga/mid.h"\n#include "dga/low.h"\n' >"$t/include/dga/high.h"
    printf '#include "dga/error.h"\n' >"$t/lib/core/cursor.h"
    printf '#include "core/cursor.h"\n' >"$t/lib/core/cursor.c"
    printf '#include "dga/low.h"\n' >"$t/lib/low/internal.h"
    printf '#include "core/cursor.h"\n#include "low/internal.h"\n' >"$t/lib/low/a.c"
    printf '#include <string.h>\n#include "dga/low.h"\n#include "dga/mid.h"\n' >"$t/lib/mid/b.c"
    printf '#include "dga/high.h"\n#include "core/cursor.h"\n' >"$t/lib/high/c.c"
    printf '#include "cli.h"\n#include "dga/high.h"\n' >"$t/tools/main.c"
    printf '#include <stdio.h>\n' >"$t/tools/cli.h"
}

# expect <name> <exit status> <output>: runs the check on $tmp/<name>.
expect() {
    local name=$1 want_rc=$2 want=$3 got rc
    got=$("$check" "$tmp/$name" 2>&1)
    rc=$?
    if [[ $rc != "$want_rc" || $got != "$want" ]]; then
        printf 'FAIL %s: exit %s, want %s\n--- got\n%s\n--- want\n%s\n' "$name" "$rc" "$want_rc" \
            "$got" "$want"
        failures=$((failures + 1))
    else
        echo "ok   $name"
    fi
}

make_tree "$tmp/clean"
expect clean 0 "layers: ok (12 files)"

# A lower layer includes the public header of a layer above it (the RIM header from x509).
make_tree "$tmp/up_public"
printf '#include "dga/low.h"\n#include "dga/mid.h"\n' >"$tmp/up_public/lib/low/a.c"
expect up_public 1 "lib/low/a.c:2: includes dga/mid.h of layer mid, above layer low"

# A layer includes another layer's private header (x509/der.h from the proxy).
make_tree "$tmp/private"
printf '#include "dga/high.h"\n#include "low/internal.h"\n' >"$tmp/private/lib/high/c.c"
expect private 1 "lib/high/c.c:2: includes low/internal.h, a private header of layer low (use include/dga/)"

# The same with angle brackets and spacing after the hash.
make_tree "$tmp/angle"
printf '#  include <low/internal.h>\n' >"$tmp/angle/lib/mid/b.c"
expect angle 1 "lib/mid/b.c:1: includes low/internal.h, a private header of layer low (use include/dga/)"

# A public header includes a public header of a layer above it, and a private header.
make_tree "$tmp/public_up"
printf '#include "dga/high.h"\n#include "low/internal.h"\n' >"$tmp/public_up/include/dga/mid.h"
expect public_up 1 "include/dga/mid.h:1: includes dga/high.h of layer high, above layer mid
include/dga/mid.h:2: includes low/internal.h, a private header of layer low"

# A program includes a private header.
make_tree "$tmp/tool"
printf '#include "dga/high.h"\n#include "core/cursor.h"\n' >"$tmp/tool/tools/main.c"
expect tool 1 "tools/main.c:2: includes core/cursor.h, a private header of layer core (programs use include/dga/)"

# A new layer folder, a new public header, an include of an unlisted public header.
make_tree "$tmp/unlisted"
mkdir "$tmp/unlisted/lib/extra"
printf '#include "dga/error.h"\n' >"$tmp/unlisted/include/dga/extra.h"
printf '#include "dga/extra.h"\n' >"$tmp/unlisted/lib/high/c.c"
expect unlisted 1 "lib/extra: a layer missing from lib/layers.txt
include/dga/extra.h: a public header missing from lib/layers.txt
lib/high/c.c:1: includes dga/extra.h, a public header missing from lib/layers.txt"

mkdir "$tmp/empty"
expect empty 2 "check_layers: $tmp/empty: no lib/layers.txt, lib/ or include/dga/"

if ((failures > 0)); then
    echo "$failures case(s) failed"
    exit 1
fi
