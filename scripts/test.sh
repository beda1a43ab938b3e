#!/usr/bin/env bash
# Every test, from a fresh clone: install what is missing, build (with -Werror
# under CI), run the concurrency tests under ThreadSanitizer, the whole suite
# under ASan+UBSan (tests/tests.cmake preloads the runtimes where the plain
# lua5.4 loads the module), each libFuzzer target for 30 s, then the whole
# suite again in the release build (C unit tests, busted specs, end-to-end
# daemon tests, fault injection, CLI, lint and layering checks) through CTest.
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

echo "== AddressSanitizer + UndefinedBehaviorSanitizer: the whole suite (lint and layering aside)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=address,undefined \
      -DSLUICE_WERROR=$werror >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -E '^(lint|layering|bench|fuzz)\.' -j"$jobs" --output-on-failure

echo "== libFuzzer (clang-14, ASan+UBSan): each target 30 s, two at a time (tests/fuzz/run.sh)"
tests/fuzz/run.sh 30

echo "== full suite"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_WERROR=$werror >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
