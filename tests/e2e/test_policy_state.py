#!/usr/bin/env python3
"""ctx.state across daemon restarts, end to end (loopback only).

A guard policy counts its evaluations in ctx.state. The count must survive a
SIGTERM and carry on in the next daemon (saved to policy_state, restored before
the first tick); a stored state that is not a JSON object (a corrupted row,
injected with sqlite3 while the daemon is down) is logged as not restored and
the policy starts afresh, without stopping the daemon.

Usage: test_policy_state.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import shutil
import signal
import sqlite3
import sys
import tempfile

import daemon
from daemon import setup_models, wait_until
from tap import check, run

BUILD, SOURCE = sys.argv[1], sys.argv[2]

COUNTER = """return { kind = 'guard', name = 'counter', version = '1',
  evaluate = function(view, params, ctx)
    ctx.state.n = (ctx.state.n or 0) + 1
  end }
"""


def stored_count(data, tid):
    """The counter saved for tid, or None (read-only; the daemon may be running)."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "sluice.db"), uri=True,
                         timeout=5)
    try:
        rows = db.execute("SELECT policy, state FROM policy_state WHERE id = ?", (tid,)).fetchall()
    finally:
        db.close()
    for policy, state in rows:
        if "counter" in policy:
            try:
                return json.loads(state).get("n")
            except (ValueError, AttributeError):
                return None
    return None


def wait_count(data, tid, pred, timeout=8):
    """The stored count once pred holds for it, else the last one read."""
    last = {}

    def holds():
        last["n"] = stored_count(data, tid)
        return last["n"] is not None and pred(last["n"]) and (last["n"],)
    got = wait_until(holds, timeout)
    return got[0] if got else last["n"]


def wait_log(data, text, timeout=5):
    """True once text is in DATA/sluiced.log (written by the test's drain thread)."""
    def logged():
        with open(os.path.join(data, "sluiced.log")) as f:
            return text in f.read()
    return bool(wait_until(logged, timeout))


def test_state_survives_restart():
    pdir = tempfile.mkdtemp(prefix="policies-")
    with open(os.path.join(pdir, "counter.lua"), "w") as f:
        f.write(COUNTER)
    d = daemon.Daemon(BUILD, policies=pdir)
    data = d.data
    try:
        setup_models(d)
        s, t = d.request("POST", "/v1/tests", {"name": "t", "model": "ranker", "control": "v1",
                                               "treatment": "v2",
                                               "policies": {"guards": [["counter"]]}})
        tid = t["id"]
        s, _ = d.request("POST", f"/v1/tests/{tid}/start")
        check(s == 200, "a test with the counting guard runs")
        n1 = wait_count(data, tid, lambda n: n >= 8)
        check(n1 is not None and n1 >= 8, "ctx.state is saved while running (n = %r)" % n1)
        check(d.kill(signal.SIGTERM) == 0, "SIGTERM exits 0")
        n1 = stored_count(data, tid)

        d = daemon.Daemon(BUILD, data=data, policies=pdir)
        n2 = wait_count(data, tid, lambda n: n != n1)
        check(n2 is not None and n2 > n1,
              "after a restart the count carries on from the stored state (%r -> %r)" % (n1, n2))
        check(d.kill(signal.SIGTERM) == 0, "SIGTERM exits 0 again")

        db = sqlite3.connect(os.path.join(data, "sluice.db"))
        db.execute("UPDATE policy_state SET state = '[1, 2, 3]' WHERE id = ?", (tid,))
        db.commit()
        db.close()
        d = daemon.Daemon(BUILD, data=data, policies=pdir)
        s, snap = d.request("GET", f"/v1/tests/{tid}")
        check(s == 200 and snap["status"] == "running",
              "a corrupted policy state does not stop the daemon or the test")
        n3 = wait_count(data, tid, lambda n: True)
        check(n3 is not None and n3 < n2,
              "the policy starts afresh from an empty state (n = %r)" % n3)
        check(d.kill(signal.SIGTERM) == 0, "SIGTERM exits 0 a third time")
        check(wait_log(data, "policy state %s/counter not restored: "
                             "ctx.state must be a JSON object" % tid),
              "the log names the state that was not restored")
    finally:
        if d.alive():
            d.kill(signal.SIGTERM)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(pdir, ignore_errors=True)


if __name__ == "__main__":
    run((test_state_survives_restart,))
