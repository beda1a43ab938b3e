#!/bin/sh
# tests/bench/readme.sh - run the benchmarks and write their output into the
# README's performance section (between the bench:begin/bench:end markers), so
# the figures there always come from a run, never from typing.
#
#   tests/bench/readme.sh [--quick]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tests/bench/run.sh --markdown "$tmp/core.md" ${1:+"$1"} >/dev/null
{
    sed -e 's/^## Performance$/### The hot path/' \
        -e 's|`tests/bench/run.sh --markdown [^`]*`|`tests/bench/run.sh` (run by `tests/bench/readme.sh`)|' "$tmp/core.md"
    echo
    echo "### Policies"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`LUA_CPATH='build/?.so' lua5.4 tests/bench/bench_policy.lua${1:+ $1}\`"
    echo "(virtual clock; each test has 200 recorded results; os.clock CPU time, median of the ticks)."
    echo
    LUA_CPATH='build/?.so' lua5.4 tests/bench/bench_policy.lua ${1:+"$1"}
    echo
    echo "Hot reload, file saved -> new version applied, under a real libev loop with inotify"
    echo "(\`build/test_server_reload\`; target ≤ 1.5 s):"
    echo
    cmake --build build --target test_server_reload >/dev/null
    build/test_server_reload | sed -n 's/^ok [0-9]* - \(.*applied.*\)$/- \1/p'
    echo
    echo "### The daemon"
    echo
    tests/bench/daemon.sh ${1:+"$1"}
} >"$tmp/section.md"
awk -v section="$tmp/section.md" '
    /<!-- bench:begin -->/ { print; while ((getline line < section) > 0) print line; skip = 1; next }
    /<!-- bench:end -->/ { skip = 0 }
    !skip { print }
' README.md >"$tmp/README.md"
mv "$tmp/README.md" README.md
echo "README.md performance section updated" >&2
