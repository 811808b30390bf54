#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Layers point one way (docs/layers.md): reads the layer order from lib/layers.txt and
# checks every #include of lib/<layer>/, include/dga/ and tools/ against it. Prints one
# line per offending include, "<file>:<line>: <why>", and exits 1; exits 0 with
# "layers: ok (<n> files)" when there is none; 2 when the tree or the order file cannot
# be read.
#
# usage: check_layers.sh [source root]   (default: the repository holding this script)
set -u

root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
order=$root/lib/layers.txt
if [[ ! -r $order || ! -d $root/lib || ! -d $root/include/dga ]]; then
    echo "check_layers: $root: no lib/layers.txt, lib/ or include/dga/" >&2
    exit 2
fi

declare -A rank=()   # layer -> position in the order, lowest first
declare -A owner=()  # public header file name -> layer
n=0
while read -r layer headers; do
    [[ -z $layer || $layer == \#* ]] && continue
    rank[$layer]=$n
    n=$((n + 1))
    for h in $headers; do
        owner[$h]=$layer
    done
done <"$order"

status=0
fail() {
    echo "$1"
    status=1
}

# Every folder of lib/ and every public header has a place in the order.
for d in "$root"/lib/*/; do
    d=${d%/}
    d=${d##*/}
    [[ -n ${rank[$d]+x} ]] || fail "lib/$d: a layer missing from lib/layers.txt"
done
for h in "$root"/include/dga/*.h; do
    [[ -e $h ]] || continue
    h=${h##*/}
    [[ -n ${owner[$h]+x} ]] || fail "include/dga/$h: a public header missing from lib/layers.txt"
done

# The includes under a folder, one per line: "<file>\t<line>\t<included path>", quoted or
# angle-bracketed, in a stable order. One grep per folder: no process per file. (A source
# path with a colon in it would be misread; the tree has none.)
include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([^">]+)[">]'
includes() {
    local file line text
    while IFS=: read -r file line text; do
        [[ $text =~ $include_re ]] && printf '%s\t%s\t%s\n' "$file" "$line" "${BASH_REMATCH[1]}"
    done < <(grep -rnHE --include='*.c' --include='*.h' "$include_re" "$@" | LC_ALL=C sort -t: -k1,1 -k2,2n)
}

# A public header included by a file of layer $3 ($1 file:line, $2 the include).
check_public() {
    local where=$1 inc=$2 layer=$3
    local h=${inc#dga/}
    if [[ -z ${owner[$h]+x} ]]; then
        fail "$where: includes $inc, a public header missing from lib/layers.txt"
    elif ((rank[${owner[$h]}] > rank[$layer])); then
        fail "$where: includes $inc of layer ${owner[$h]}, above layer $layer"
    fi
}

# True when the first path component names a layer of lib/ (a private header); sets
# $other to it. A variable, not $(...): no subshell per include.
private_layer() {
    other=${1%%/*}
    [[ $1 == */* && -n ${rank[$other]+x} ]]
}

# lib/<layer>/: public headers of its layer and below; private headers of its own layer
# and of core.
check_lib_dir() {
    local layer=$1 f line inc rel
    while IFS=$'\t' read -r f line inc; do
        rel=${f#"$root"/}
        if [[ $inc == dga/* ]]; then
            check_public "$rel:$line" "$inc" "$layer"
        elif private_layer "$inc"; then
            if [[ $other != "$layer" && $other != core ]]; then
                fail "$rel:$line: includes $inc, a private header of layer $other (use include/dga/)"
            fi
        fi
    done < <(includes "$root/lib/$layer")
}

# include/dga/: public headers of its layer and below, never a private header.
check_public_headers() {
    local f line inc rel layer
    while IFS=$'\t' read -r f line inc; do
        rel=${f#"$root"/}
        layer=${owner[${f##*/}]:-}
        [[ -n $layer ]] || continue # reported above
        if [[ $inc == dga/* ]]; then
            check_public "$rel:$line" "$inc" "$layer"
        elif private_layer "$inc"; then
            fail "$rel:$line: includes $inc, a private header of layer $other"
        fi
    done < <(includes "$root/include/dga")
}

# tools/: any public header, never a private one.
check_tools() {
    local f line inc
    while IFS=$'\t' read -r f line inc; do
        if private_layer "$inc"; then
            fail "${f#"$root"/}:$line: includes $inc, a private header of layer $other (programs use include/dga/)"
        fi
    done < <(includes "$root/tools")
}

for d in "$root"/lib/*/; do
    d=${d%/}
    layer=${d##*/}
    [[ -n ${rank[$layer]+x} ]] && check_lib_dir "$layer" # else reported above
done
check_public_headers
[[ -d $root/tools ]] && check_tools
checked=$(find "$root/lib" "$root/include/dga" "$root/tools" -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | wc -l)

if ((status == 0)); then
    echo "layers: ok ($checked files)"
fi
exit $status
