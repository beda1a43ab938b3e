#!/bin/sh
# tests/bench/run.sh - build, run the C and Lua benchmarks of the sluice hot path
# and print one self-contained markdown section (the README's performance table).
#
#   tests/bench/run.sh [--markdown FILE] [--tsv DIR] [--quick] [--wait-idle]
#
# --markdown FILE  also write the section to FILE
# --tsv DIR        also keep the raw records (core.tsv, lua.tsv; see bench_core.c) in DIR
# --quick          fewer repetitions and calls (a smoke run; not for the README)
# --wait-idle      first wait (up to 5 minutes) until other processes leave the CPUs idle
#
# Uses the existing build directory as it is ($BUILD_DIR, default build/; it is
# configured with the project's default RelWithDebInfo -O2 if absent) and only
# builds the two targets it needs. bench_core is compiled into $BUILD_DIR.
# Every figure, ratio and "met?" verdict is computed from the numbers of this run.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
md="" tsv="" wait_idle=""
reps=7 ops=2097152 lua_calls=1000000 lua_runs=5
cmd="tests/bench/run.sh${*:+ $*}"
while [ $# -gt 0 ]; do
    case $1 in
    --markdown) md=${2:?--markdown needs a file}; shift 2 ;;
    --tsv) tsv=${2:?--tsv needs a directory}; shift 2 ;;
    --quick) reps=3 ops=500000 lua_calls=300000 lua_runs=3; shift ;;
    --wait-idle) wait_idle=1; shift ;;
    *) echo "usage: $0 [--markdown FILE] [--tsv DIR] [--quick] [--wait-idle]" >&2; exit 2 ;;
    esac
done

# ---- build ---------------------------------------------------------------------------
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" >&2
fi
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")
sanitize=$(sed -n 's/^SLUICE_SANITIZE:[A-Z]*=//p' "$build/CMakeCache.txt")
case "$sanitize" in
"" | OFF) ;;
*) echo "run.sh: $build is a sanitizer build ($sanitize): timings would be meaningless;" \
        "point BUILD_DIR at a plain build" >&2; exit 1 ;;
esac
case "$btype" in
Release | RelWithDebInfo | MinSizeRel) ;;
*) echo "run.sh: $build is a '$btype' build, not optimised: point BUILD_DIR at a" \
        "RelWithDebInfo or Release build" >&2; exit 1 ;;
esac
cmake --build "$build" -j2 --target sluice_static sluice_module >&2
cc=${CC:-gcc}
$cc -O2 -std=c11 -Wall -Wextra -Isrc -Isrc/core tests/bench/bench_core.c \
    "$build/libsluice.a" -lxxhash -lm -lpthread -o "$build/bench_core"

# ---- run -----------------------------------------------------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# How much of the machine other processes took: CPU time used by everything
# (/proc/stat, USER_HZ = 100) minus what this script's children used (`times`,
# which must run in this shell, not in a $(...) subshell), per second of wall time.
snap() {
    times >"$tmp/times"
    s_all=$(awk '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / 100 }' /proc/stat)
    s_mine=$(awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] }
                            printf "%.2f", s }' "$tmp/times")
    s_wall=$(date +%s.%N)
}
others_since() { # $1 $2 $3: s_all s_mine s_wall of an earlier snap
    snap
    awk -v a0="$1" -v m0="$2" -v w0="$3" -v a1="$s_all" -v m1="$s_mine" -v w1="$s_wall" \
        'BEGIN { o = (a1 - a0) - (m1 - m0); if (o < 0) o = 0; printf "%.2f", o / (w1 - w0) }'
}
if [ -n "$wait_idle" ]; then
    i=0
    while [ $i -lt 150 ]; do
        snap; a=$s_all m=$s_mine w=$s_wall
        sleep 2
        others_since "$a" "$m" "$w" >"$tmp/share"
        share=$(cat "$tmp/share")
        awk -v x="$share" 'BEGIN { exit !(x < 0.05) }' && break
        [ $i -eq 0 ] && echo "run.sh: waiting for an idle machine (others use $share CPUs)" >&2
        i=$((i + 1))
    done
fi
snap; a0=$s_all m0=$s_mine w0=$s_wall
"$build/bench_core" "$reps" "$ops" >"$tmp/core.tsv"
lua_failed=""
if ! LUA_CPATH="$build/?.so" lua5.4 tests/bench/bench_lua.lua "$lua_calls" "$lua_runs" \
    >"$tmp/lua.tsv" 2>"$tmp/lua.err"; then
    cat "$tmp/lua.err" >&2
    lua_failed=$(grep -m 1 . "$tmp/lua.err" || echo "exit status != 0")
fi
others_since "$a0" "$m0" "$w0" >"$tmp/share"
others=$(cat "$tmp/share")
commas() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
ops_c=$(commas "$ops") lua_calls_c=$(commas "$lua_calls")
windows=$(awk -F'\t' '$2 == "windows" { m = $3 * $4 / 60; print $3 " × " $4 " s = " m " minutes" }' \
    "$tmp/core.tsv")

# ---- report --------------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
gccv=$($cc -dumpfullversion 2>/dev/null || $cc -dumpversion)
xxh=$(dpkg-query -W -f '${Version}' libxxhash0 2>/dev/null || echo "?")
luav=$(lua5.4 -v 2>&1 | cut -d' ' -f1-2)
rev=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
dirty=$(git status --porcelain -- src 2>/dev/null | head -n 1)
[ -n "$dirty" ] && rev="$rev (+ uncommitted changes in src/)"

{
    cat <<EOF
## Performance

Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`$cmd\` on $(uname -m), $cpu, $(nproc) CPUs.
gcc $gccv, libxxhash $xxh, $luav; library built $btype in \`$build/\` at commit $rev.
Other processes used $others of the $(nproc) CPUs during the run (from \`/proc/stat\`; 0 = idle machine).

EOF
    grep -hv '^#' "$tmp/core.tsv" "$tmp/lua.tsv" | awk -F'\t' -v OFS='\t' '
        # Order: route, record, one request, Lua, memory, then the yardsticks.
        {
            g = 3
            if ($2 ~ /^route/) g = 1
            if ($2 ~ /^record/) g = 2
            if ($2 ~ /^lua/) g = 4
            if ($1 == "M") g = 5
            if ($1 == "Y") g = 9
            if (g == 9) print g, 0, 0, $2, $0
            else print g, $4, $5, sprintf("%06d", NR), $0
        }' | sort -t"$(printf '\t')" -k1,1n -k2,2n -k3,3n -k4,4 | cut -f5- | awk -F'\t' '
    function commas(x,   s) {
        s = sprintf("%d", x)
        while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
        return s
    }
    function ns(x) { return x >= 100 ? sprintf("%.0f", x) : sprintf("%.1f", x) }
    { n++; kind[n] = $1; key[n] = $2; what[n] = $3; thr[n] = $4; tests[n] = $5
      med[n] = $6; lo[n] = $7; hi[n] = $8; target[n] = $9; yard[n] = $10
      if ($1 == "Y") { ymed[$2] = $6 } }
    END {
        print "| what | threads | tests | ns/op (median) | range | target | met? | vs yardstick |"
        print "|---|---|---|---|---|---|---|---|"
        nmiss = 0; nt = 0
        for (i = 1; i <= n; i++) {
            t = tests[i] == 0 ? "—" : commas(tests[i])
            if (kind[i] == "M") {
                val = sprintf("%s B = %.1f KiB", commas(med[i]), med[i] / 1024)
                rng = "—"; tgt = sprintf("≤ %g KiB", target[i] / 1024)
            } else {
                val = "**" ns(med[i]) "**"; rng = ns(lo[i]) "–" ns(hi[i])
                tgt = target[i] == "-" ? "—" : "≤ " target[i] " ns"
            }
            met = "—"
            if (target[i] != "-") {
                nt++
                met = med[i] + 0 <= target[i] + 0 ? "yes" : "**no**"
                if (met != "yes") nmiss++
            }
            vs = ""
            if (yard[i] != "-") {
                m = split(yard[i], ys, ",")
                for (j = 1; j <= m; j++)
                    if (ys[j] in ymed)
                        vs = vs (vs == "" ? "" : ", ") sprintf("%.1f× (%s)", med[i] / ymed[ys[j]], ys[j])
            }
            label = kind[i] == "Y" ? "(" key[i] ") " what[i] : what[i]
            if (kind[i] == "Y" && !shown) {
                print "| *yardsticks, same run* | | | | | | | |"; shown = 1
            }
            printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", label,
                   kind[i] == "M" ? "—" : thr[i], t, val, rng, tgt,
                   met, vs == "" ? "—" : vs
        }
        print ""
        if (nmiss == 0) printf "All %d targets met in this run.\n", nt
        else printf "%d of %d targets met in this run; the rows marked **no** miss theirs.\n", nt - nmiss, nt
        # Two threads doing private work should each run as fast as one alone;
        # when they do not, something else had the CPUs.
        if (("a" in ymed) && ("e" in ymed) && ymed["e"] > 1.3 * ymed["a"])
            printf "\n**Warning:** the two-thread hashing floor (e) ran %.1f× slower than the one-thread " \
                   "floor (a): other processes competed for the CPUs, so the two-thread rows overstate " \
                   "the cost of sluice. Compare them with (e)–(i), or re-run on an idle machine.\n",
                   ymed["e"] / ymed["a"]
    }'
    cat <<EOF

How it was measured (\`tests/bench/bench_core.c\`, \`tests/bench/bench_lua.lua\`):
- ns/op is wall time per call on one thread (\`CLOCK_MONOTONIC\`); median and min–max over $reps
  repetitions of $ops_c calls after a warm-up (Lua: \`os.clock\`, $lua_runs runs of $lua_calls_c calls).
  Ratios compare medians with the yardsticks at the bottom, measured in the same run.
- Engines use an injected clock and the defaults (\`shards = 1\`, windows $windows) unless a
  row names \`shards = 2\`; each test routes by \`hash\` at 50/50. With 1,000 tests there are 1,000
  models, each claimed by a running test, and each call addresses a model (route) or test
  (record) drawn from a fixed pseudo-random sequence.
- Unit ids are \`user-\` plus zero-padded digits, 16–24 bytes, 2^20 distinct, read in order
  (the hot rows cycle 16 ids); latencies are log-normal around 20 ms with 1% errors. A record
  row's id, arm, outcome and latency come from pre-generated arrays, so a row measures the call.
- Two threads run at the same time (not pinned; the scheduler spreads them); a repetition counts the slower
  thread. With \`shards = 2\` each thread owns a private shard; with \`shards = 1\` the second
  thread records into the shared shard (atomic read-modify-writes), reported per thread.
  Two-thread figures depend on what else the machine runs (see the CPU share above).
- \`sl_engine_record_route\` rows record through route results taken once per test and arm on
  the recording thread (no lifecycle change happens during the run).
- Memory is \`sl_engine_variant_bytes\` for one variant: shards with their cumulative sketch,
  the rolling-window ring ($windows) and bookkeeping.
EOF
    if awk -v x="$others" 'BEGIN { exit !(x > 0.1) }'; then
        printf '\n**Warning:** other processes used %s CPUs during this run, so the figures may be\n' \
            "$others"
        # shellcheck disable=SC2016 # literal markdown backticks
        printf 'inflated. Re-run on an idle machine (`--wait-idle`) before quoting them.\n'
    fi
    if [ -n "$lua_failed" ]; then
        # shellcheck disable=SC2016 # literal markdown backticks
        printf '\n**The Lua benchmark failed, its rows are missing:** `%s`\n' "$lua_failed"
    fi
} >"$tmp/section.md"

cat "$tmp/section.md"
if [ -n "$lua_failed" ]; then
    echo "run.sh: the Lua benchmark failed; ${md:-no file} not written" >&2
    exit 1
fi
if [ -n "$md" ]; then
    cp "$tmp/section.md" "$md"
fi
if [ -n "$tsv" ]; then
    cp "$tmp/core.tsv" "$tmp/lua.tsv" "$tsv"/
fi
