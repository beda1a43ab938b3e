#!/usr/bin/env bash
# Every test, from a fresh clone: install what is missing, build (with -Werror
# under CI), run the concurrency tests under ThreadSanitizer, then the whole
# suite (C unit tests, busted specs, layering checks) through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
werror=OFF
[ "${CI:-}" = true ] && werror=ON
jobs=$(nproc)

echo "== ThreadSanitizer: route/record from two threads while the writer ticks"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=thread \
      -DSLUICE_WERROR=$werror >/dev/null
cmake --build build-tsan -j"$jobs" --target test_threads >/dev/null
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --test-dir build-tsan -R '^c\.test_threads$' --output-on-failure

echo "== full suite"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_WERROR=$werror >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
