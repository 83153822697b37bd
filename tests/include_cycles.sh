#!/bin/sh
# include_cycles.sh: prints every include cycle among the files of src/ and include/ and exits 1 when
# there is one (0 when there is none). A file and its headers are one unit (session.c with
# include/smartty/session.h, repl.c with repl.h, model.c with model_internal.h), so "session.c uses
# checkpoint.h while checkpoint.c uses session.h" is a cycle. It reads only `#include "..."` lines, resolved as the compiler does (the
# including file's folder, then include/, then src/); system headers are not followed.
# Usage: sh tests/include_cycles.sh [TOP]   (TOP: the source tree, default the one holding this script)
set -u
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 2
files=$(find src include -name '*.[ch]' | LC_ALL=C sort)
[ -n "$files" ] || { echo "include_cycles: no sources under $top/src or $top/include" >&2; exit 2; }
# one line per edge: FROM TO (paths relative to top)
for f in $files; do
    d=$(dirname "$f")
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | while IFS= read -r inc; do
        for cand in "$d/$inc" "include/$inc" "src/$inc"; do
            if [ -f "$cand" ]; then
                # normalise a/./b and a/x/../b
                echo "$f $(echo "$cand" | sed -e 's|/\./|/|g' -e ':a' -e 's|[^/][^/]*/\.\./||' -e 'ta')"
                break
            fi
        done
    done
done | LC_ALL=C awk -v files="$files" '
# the unit of a file: NAME for NAME.c, NAME.h anywhere, and NAME_internal.h or NAME_private.h (a
# unit'"'"'s own private header); a header without a NAME.c is a unit by itself
function unit(p,   b) {
    b = p; sub(/.*\//, "", b); sub(/\.[ch]$/, "", b)
    if (!(b in src)) sub(/_(internal|private)$/, "", b)
    return (b in src) ? b : p
}
BEGIN {
    n = split(files, fl, "\n")
    for (i = 1; i <= n; i++) if (fl[i] ~ /\.c$/) { b = fl[i]; sub(/.*\//, "", b); sub(/\.c$/, "", b); src[b] = fl[i] }
}
{
    a = unit($1); b = unit($2)
    if (a == b) next
    key = a SUBSEP b
    if (!(key in edge)) { edge[key] = $1 " includes " $2; out[a] = out[a] " " b; nodes[a]; nodes[b] }
}
END {
    found = 0
    for (u in nodes) {
        # breadth-first from u; a path back to u is a cycle through u
        delete prev; delete seen
        qh = 1; qt = 0
        m = split(out[u], nb, " ")
        for (i = 1; i <= m; i++) if (!(nb[i] in seen)) { seen[nb[i]]; prev[nb[i]] = u; q[++qt] = nb[i] }
        hit = 0
        while (qh <= qt && !hit) {
            v = q[qh++]
            if (v == u) { hit = 1; break }
            m = split(out[v], nb, " ")
            for (i = 1; i <= m; i++) if (!(nb[i] in seen)) { seen[nb[i]]; prev[nb[i]] = v; q[++qt] = nb[i] }
        }
        if (!(u in seen)) continue
        # the cycle u -> ... -> u, named by its smallest unit so each is printed once
        k = 0; v = u
        do { path[++k] = v; v = prev[v] } while (v != u && k < 1000)
        least = u
        for (i = 1; i <= k; i++) if (path[i] < least) least = path[i]
        if (least != u) continue
        # forward: u, path[k], ..., path[2], back to u
        fw[1] = u; j = 1
        for (i = k; i >= 2; i--) fw[++j] = path[i]
        fw[++j] = u
        line = fw[1]
        for (i = 2; i <= j; i++) line = line " -> " fw[i]
        print "cycle: " line
        for (i = 1; i < j; i++) print "    " edge[fw[i] SUBSEP fw[i + 1]]
        found++
    }
    if (found) { print found " include cycle" (found == 1 ? "" : "s") " (a file and its header count as one)"; exit 1 }
    print "no include cycles"
}'
