#!/usr/bin/env bash
# Line coverage of the whole CTest suite (C unit tests, busted specs, the daemon
# end-to-end tests, the CLI) with gcc --coverage and lcov, from a fresh clone:
# installs what is missing, builds into build-cov/ (-O0 -g), zeroes the counters,
# runs every test, then writes build-cov/coverage/index.html and prints line
# coverage per layer. Exits non-zero when a test fails or a threshold is missed:
# src/core >= 90%, everything >= 80% (override with SLUICE_COV_CORE / SLUICE_COV_TOTAL).
#
# The daemon and the CLI run from build-cov/ too, so their lines count: sluiced
# leaves its loop on SIGTERM and returns from main(), which flushes the .gcda files.
# A source file that no test runs still counts, with zero lines hit (lcov --initial).
# Counters are updated atomically: the tests and the daemon run several threads.
#
#   scripts/coverage.sh [--readme]     --readme: also write the table into README.md
#                                      (between the coverage:begin/end markers)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
readme=""
[ "${1:-}" = --readme ] && readme=1
scripts/install-deps.sh
dir=build-cov
out=$dir/coverage
jobs=$(nproc)
core_min=${SLUICE_COV_CORE:-90}
total_min=${SLUICE_COV_TOTAL:-80}

echo "== build with --coverage into $dir/"
cmake -S . -B $dir -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O0 -g" \
      -DCMAKE_C_FLAGS="--coverage -fprofile-update=atomic" -DCMAKE_EXE_LINKER_FLAGS="--coverage" \
      -DCMAKE_SHARED_LINKER_FLAGS="--coverage" -DCMAKE_MODULE_LINKER_FLAGS="--coverage" \
      >/dev/null
cmake --build $dir -j"$jobs" >/dev/null

rm -rf "$out" && mkdir -p "$out"
lcov -q --zerocounters --directory $dir
lcov -q --capture --initial --directory $dir --base-directory "$root" \
     --output-file "$out/base.info" 2>"$out/lcov.log"

echo "== full suite under coverage"
tests_rc=0
ctest --test-dir $dir --output-on-failure -j"$jobs" || tests_rc=$?

echo "== lcov"
lcov -q --capture --directory $dir --base-directory "$root" \
     --output-file "$out/run.info" 2>>"$out/lcov.log"
lcov -q -a "$out/base.info" -a "$out/run.info" -o "$out/all.info" 2>>"$out/lcov.log"
lcov -q --remove "$out/all.info" '/usr/*' "$root/tests/*" "$root/$dir/*" '*/CMakeCCompilerId.c' \
     -o "$out/sluice.info" 2>>"$out/lcov.log"
genhtml -q --title "sluice line coverage" --prefix "$root" -o "$out" "$out/sluice.info" \
        2>>"$out/lcov.log"

# Per layer from the tracefile: LF = lines found, LH = lines hit, per source file.
awk -v root="$root/" -v core_min="$core_min" -v total_min="$total_min" '
  /^SF:/ { f = substr($0, 4); sub("^" root, "", f); layer = "other"
           if (match(f, /^src\/(core|lua|store|server|cli)\//)) layer = substr(f, 1, RLENGTH - 1) }
  /^LF:/ { lf[layer] += substr($0, 4); LF += substr($0, 4) }
  /^LH:/ { lh[layer] += substr($0, 4); LH += substr($0, 4) }
  function pct(h, f) { return f ? 100 * h / f : 0 }
  END {
    printf "\n| layer | lines | hit | line coverage |\n|---|---|---|---|\n"
    n = split("src/core src/lua src/store src/server src/cli other", order, " ")
    for (i = 1; i <= n; i++) {
      l = order[i]
      if (l in lf) printf "| %s | %d | %d | %.1f%% |\n", l, lf[l], lh[l], pct(lh[l], lf[l])
    }
    printf "| **total** | %d | %d | **%.1f%%** |\n\n", LF, LH, pct(LH, LF)
    bad = 0
    if (pct(lh["src/core"], lf["src/core"]) < core_min) {
      printf "coverage: src/core %.1f%% is below %s%%\n", pct(lh["src/core"], lf["src/core"]), core_min
      bad = 1
    }
    if (pct(LH, LF) < total_min) {
      printf "coverage: total %.1f%% is below %s%%\n", pct(LH, LF), total_min
      bad = 1
    }
    exit bad
  }' "$out/sluice.info" >"$out/summary.md" && cov_rc=0 || cov_rc=$?
cat "$out/summary.md"
echo "report: $dir/coverage/index.html (per file), table: $dir/coverage/summary.md"

if [ -n "$readme" ] && [ "$tests_rc" -eq 0 ]; then
  {
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`./scripts/coverage.sh --readme\` at commit" \
         "$(git rev-parse --short HEAD 2>/dev/null || echo '?'):"
    echo
    grep '^|' "$out/summary.md"
  } >"$out/readme.md"
  awk -v section="$out/readme.md" '
    /<!-- coverage:begin -->/ { print; while ((getline line < section) > 0) print line; skip = 1; next }
    /<!-- coverage:end -->/ { skip = 0 }
    !skip { print }' README.md >"$out/README.md" && mv "$out/README.md" README.md
  echo "README.md coverage table updated"
fi

if [ "$tests_rc" -ne 0 ]; then
  echo "coverage: some tests failed (ctest exit $tests_rc)" >&2
  exit 1
fi
exit "$cov_rc"
