# tests/bench: the benchmarks themselves do not run under CTest (minutes long, and
# figures from a shared machine prove nothing); `tests/bench/run --quick` is the
# smoke run. Here only: every benchmark script parses, and `run --help` works.
# (One luac5.4 -p per file: Debian's luac 5.4.4 aborts with a double free on several.)
add_test(NAME bench.scripts_parse
  COMMAND sh -c "sh -n tests/bench/run.sh && sh -n tests/bench/readme.sh && bash -n tests/bench/daemon.sh \
&& python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' tests/bench/run \
&& tests/bench/run --help >/dev/null \
&& luac5.4 -p tests/bench/bench_lua.lua && luac5.4 -p tests/bench/bench_policy.lua \
&& luac5.4 -p tests/bench/bench_memory.lua \
&& { ! command -v node >/dev/null || node --check tests/bench/js/assign.js; }"
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
