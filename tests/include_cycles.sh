#!/bin/sh
# tests/include_cycles.sh [DIR...]: lists the include cycles between the modules of src/ (a module is
# a .c file with its .h and its X_internal.h: src/console/repl.c and repl.h are one, a library
# module's public header include/smartty/X.h belongs to src/lib/PART/X, and a file that includes
# X_internal.h is one of X's: session_run.c is the session's), e.g. repl.c including
# dash_source.h while dash_source.c includes repl.h. Only `#include "..."` lines are read, of the
# files under the DIRs and of include/; a header is found under src/ or include/. With DIRs, only
# cycles among their modules count; without, the whole of src/ (as a test: none may come back).
# Exit 0 when there is none, 1 (with each cycle printed) otherwise.
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
[ $# -gt 0 ] || set -- src
find "$@" include -name '*.[ch]' | sort | while read -r f; do
    sed -n 's/^[ \t]*#[ \t]*include[ \t]*"\([^"]*\)".*/\1/p' "$f" | while read -r inc; do
        if [ -f "src/$inc" ]; then echo "$f src/$inc"
        elif [ -f "include/$inc" ]; then echo "$f include/$inc"
        elif [ -f "$(dirname "$f")/$inc" ]; then echo "$f $(dirname "$f")/$inc"
        fi
    done
done | awk -v dirs="$*" -v libmods="$(find src/lib -name '*.c' | sed 's/\.c$//' | sort)" '
# include/smartty/X.h belongs to the library module src/lib/PART/X
BEGIN { n = split(libmods, lm, "\n"); for (i = 1; i <= n; i++) { b = lm[i]; sub(/.*\//, "", b); libmod[b] = lm[i] } }
function mod(p,   b) { sub(/\.[ch]$/, "", p)
    if (p ~ /^include\/smartty\//) { b = p; sub(/^include\/smartty\//, "", b); p = (b in libmod) ? libmod[b] : "src/lib/" b }
    sub(/_internal$/, "", p); return p }
function inscope(p,   i, n, d) { n = split(dirs, d, " "); for (i = 1; i <= n; i++) if (index(p, d[i]) == 1) return 1; return 0 }
# a .c file that includes X_internal.h belongs to X (session_run.c to the session)
{ from[NR] = $1; to[NR] = $2; if ($1 ~ /\.c$/ && $2 ~ /_internal\.h$/ && !($1 in unit)) unit[$1] = mod($2) }
function modf(p) { return p in unit ? unit[p] : mod(p) }
function dfs(u,   n, v, i, list) {
    color[u] = 1; stack[++sp] = u
    n = split(adj[u], list, " ")
    for (i = 1; i <= n; i++) { v = list[i]
        if (color[v] == 1) { cyc = ""; for (k = sp; k >= 1 && stack[k] != v; k--) cyc = stack[k] " -> " cyc
                             print "cycle: " v " -> " cyc v; found = 1 }
        else if (!color[v]) dfs(v) }
    color[u] = 2; sp--
}
END { for (r = 1; r <= NR; r++) { a = modf(from[r]); b = modf(to[r])
          if (a != b && inscope(a) && inscope(b) && !((a SUBSEP b) in seen)) {
              seen[a, b] = 1; adj[a] = adj[a] " " b; nodes[a] = 1; nodes[b] = 1 } }
      for (u in nodes) if (!color[u]) dfs(u); exit found ? 1 : 0 }'
