"""TAP output shared by the end-to-end scripts: check() records and prints one
result; run() runs the test functions (a crash is a failure, not a skip), prints
the plan and a closing "N passed, N failed" line, and exits non-zero on any
failure or when nothing was checked."""
import os
import sys

# Timeouts scale with this under sanitizers (tests/tests.cmake sets it): the
# binaries are several times slower there.
SLOW = float(os.environ.get("SLUICE_TEST_SLOW") or 1)

results = []


def check(cond, what):
    results.append(bool(cond))
    print(("ok" if cond else "not ok"), len(results), "-", what, flush=True)
    return cond


def run(tests):
    for t in tests:
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a skip
            check(False, "%s raised %r" % (t.__name__, e))
    passed, failed = results.count(True), results.count(False)
    print("1..%d" % len(results))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not results else 0)
