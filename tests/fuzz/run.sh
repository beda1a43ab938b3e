#!/usr/bin/env bash
# Build the libFuzzer targets with clang-14 and ASan+UBSan into build-fuzz/
# and run each for SECONDS (default 60) on its corpus, two at a time.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# A target's corpus is its checked-in seeds (tests/fuzz/<t>/seeds/) and
# reproducers (tests/fuzz/<t>/crashes/) plus what earlier runs found, kept in
# build-fuzz/corpus/<t>/ (out of git). Any crash, leak, timeout, out-of-memory
# or UBSan report fails the run; its input is copied to
# tests/fuzz/<t>/crashes/ and the log kept in build-fuzz/logs/<t>.log.
# Reproduce one with: build-fuzz/fuzz/fuzz_<t> tests/fuzz/<t>/crashes/<file>
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
all=(http api config admin policy metrics state)
targets=("$@")
[ $# -gt 0 ] || targets=("${all[@]}")
build=build-fuzz
jobs=2

if [ ! -f $build/CMakeCache.txt ]; then
  CC=clang-14 cmake -S . -B $build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_FUZZ=ON \
    -DSLUICE_SANITIZE=address,undefined >/dev/null
fi
cmake --build $build -j"$(nproc)" --target fuzz_all >/dev/null
mkdir -p $build/logs

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Run one target; 0 when it ran its time out clean.
run_one() {
  local t=$1 corpus=$build/corpus/$1 art=$build/artifacts/$1/
  rm -rf "$art"
  mkdir -p "$corpus" "$art" tests/fuzz/"$t"/crashes
  local dict=()
  [ -f tests/fuzz/"$t"/dict ] && dict=(-dict=tests/fuzz/"$t"/dict)
  if "$build"/fuzz/fuzz_"$t" "${dict[@]}" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 \
      -max_len=16384 -print_final_stats=1 -artifact_prefix="$art" \
      "$corpus" tests/fuzz/"$t"/seeds tests/fuzz/"$t"/crashes >$build/logs/"$t".log 2>&1; then
    echo "fuzz: $t: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' $build/logs/"$t".log |
      grep -o '[0-9]*$' | tail -1) runs in ${secs}s)"
    return 0
  fi
  echo "fuzz: $t: FAILED; log: $build/logs/$t.log" >&2
  for f in "$art"*; do
    [ -f "$f" ] || continue
    cp "$f" tests/fuzz/"$t"/crashes/ && echo "fuzz: $t: reproducer tests/fuzz/$t/crashes/$(basename "$f")" >&2
  done
  grep -m1 -A12 'ERROR: \|runtime error\|fuzz: ' $build/logs/"$t".log >&2 || tail -20 $build/logs/"$t".log >&2
  return 1
}

# Two at a time (a small machine), each pair waited for together.
fail=0
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
  pids=()
  for t in "${targets[@]:i:jobs}"; do
    run_one "$t" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do
    wait "$p" || fail=1
  done
done
exit $fail
