#!/usr/bin/env python3
"""Crash loop: kill -9 sluiced at random moments under load, restart, check.

One data directory for the whole run. While the daemon serves, three clients
work against it: a recorder posts batches of results to a running "load"
test (whose threshold guard decides "alert" on every tick), a lifecycle
client walks a fresh model and test through register, create, start, pause,
resume and stop, over and over, and a watcher reads /v1/events as it grows.
At a random moment (uniform in --min/--max seconds) the daemon gets SIGKILL;
it is restarted on the same data directory and, before the clients go on:

- PRAGMA integrity_check of the SQLite file (python sqlite3, daemon down) is ok;
- every model version and lifecycle change acknowledged (a 2xx received) is
  there: each object is in its last acknowledged state, or one step further
  when a request was in flight at the kill (sent, never answered), or gone
  when more than HISTORY tests finished after it (the engine's history);
  and no id handed out is ever handed out again for another test;
- every event a client had seen in /v1/events (lifecycle changes and policy
  decisions, which the API serves only once committed) is back, unchanged;
- the load test's request counter never goes backwards across restarts, is
  no more than what was sent, and is at least what had been acknowledged one
  checkpoint interval (plus one tick of timer slack) before the kill; the
  loss, as the time between the kill and the newest acknowledged batch
  that came back whole, is reported.

Usage: crash_loop.py BUILD_DIR SOURCE_DIR [--kills N] [--seed S]
"""
import argparse
import http.client
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from daemon import CHECKPOINT_MS, TICK_MS, Daemon  # noqa: E402
from tap import check, run  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("source")
ap.add_argument("--kills", type=int, default=5)
ap.add_argument("--min", type=float, default=0.5, help="shortest run before a kill (s)")
ap.add_argument("--max", type=float, default=3.0, help="longest run before a kill (s)")
ap.add_argument("--seed", type=int, default=None)
ARGS = ap.parse_args()

TICK, CHECKPOINT = TICK_MS / 1000, CHECKPOINT_MS / 1000
BATCH = 50
HISTORY = 100  # finished tests an engine keeps (sl_engine_opts.history)
NEXT = {"start": "running", "pause": "paused", "resume": "running", "stop": "completed"}


class World:
    """What clients were told, shared by the client threads and the killer."""

    def __init__(self):
        self.data = tempfile.mkdtemp(prefix="sluice-crash-")
        self.d = None
        self.up = threading.Event()
        self.done = False
        self.locks = [threading.Lock() for _ in range(3)]
        self.versions = set()        # (model, version) acknowledged
        self.objects = {}            # test id -> acknowledged status
        self.acked_ops = []          # (test id, verb) acknowledged
        self.doubt = {}              # test id -> status it may also be in (in flight at a kill)
        self.acks = []               # (time, cumulative results acknowledged)
        self.sent = 0                # results sent (acknowledged or in flight)
        self.events = {}             # seq -> (kind, subject, action, reason)
        self.since = 0
        self.lost = []               # seconds of acknowledged results lost, per kill
        self.floor = 0               # recovered request count after the last restart
        self.finished = []           # test ids in the order they finished
        self.reused = []             # ids handed out a second time (after a restart)
        self.batches = 0             # record batches acknowledged
        self.errors = []             # client failures other than the daemon dying


W = World()


def client(slot, step):
    """Run step() over and over, never while the daemon is being checked."""
    while not W.done:
        with W.locks[slot]:
            if W.up.is_set():
                try:
                    step()
                except (OSError, ValueError, http.client.HTTPException):
                    pass  # the daemon died under us: whatever was in flight is in doubt
                except Exception as e:  # a client that dies would leave nothing to check
                    W.errors.append("%s: %r" % (step.__name__, e))
        time.sleep(0.002)


def record_step():
    items = [{"test": W.load, "variant": "control" if i % 2 else "treatment",
              "ok": i % 5 != 0, "latency_ms": 5 + i % 20} for i in range(BATCH)]
    W.sent += BATCH
    s, body = W.d.request("POST", "/v1/record", items, timeout=5)
    if s == 202 and body["accepted"] == BATCH:
        W.batches += 1
        W.acks.append((time.time(), (W.acks[-1][1] if W.acks else 0) + BATCH))


LIFE = {"n": 0, "tid": None, "verbs": []}


def lifecycle_step():
    if not LIFE["verbs"]:
        LIFE["n"] += 1
        model = "lc-%d" % (LIFE["n"] % 4)  # a stopped test frees its model for the next
        for v in ("v1", "v2"):
            if (model, v) in W.versions:
                continue
            s, _ = W.d.request("POST", "/v1/models", {"id": model, "version": v}, timeout=5)
            if s not in (201, 409):
                return
            W.versions.add((model, v))
        s, t = W.d.request("POST", "/v1/tests", {"name": model, "model": model, "control": "v1",
                                                 "treatment": "v2"}, timeout=5)
        if s != 201:
            return
        if t["id"] in W.objects:
            W.reused.append(t["id"])  # an acknowledged id now names another test
        W.objects[t["id"]] = "draft"
        LIFE["tid"], LIFE["verbs"] = t["id"], ["start", "pause", "resume", "stop"]
        return
    tid, verb = LIFE["tid"], LIFE["verbs"][0]
    W.doubt[tid] = NEXT[verb]
    s, body = W.d.request("POST", "/v1/tests/%s/%s" % (tid, verb), {"reason": "crash loop"},
                          timeout=5)
    W.doubt.pop(tid, None)
    if s == 200 and body["status"] == NEXT[verb]:
        W.objects[tid] = NEXT[verb]
        W.acked_ops.append((tid, verb))
        LIFE["verbs"].pop(0)
        if verb == "stop":
            W.finished.append(tid)


def watch_step():
    s, body = W.d.request("GET", "/v1/events?since=%d&limit=1000" % W.since, timeout=5)
    if s != 200:
        raise RuntimeError("GET /v1/events: %s" % s)
    for e in body["events"]:
        W.events[e["seq"]] = (e["kind"], e["subject"], e["action"], e.get("reason"))
        W.since = e["seq"]
    time.sleep(0.05)


def requests_of(tid):
    s, snap = W.d.request("GET", "/v1/tests/%s" % tid)
    m = snap["metrics"]
    return m["control"]["requests"] + m["treatment"]["requests"]


def stored_events():
    return {e["seq"]: (e["kind"], e["subject"], e["action"], e.get("reason"))
            for e in W.d.events()}


def integrity():
    con = sqlite3.connect(os.path.join(W.data, "sluice.db"))
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def start_load():
    W.d = Daemon(ARGS.build, data=W.data)
    for v in ("v1", "v2"):
        W.d.request("POST", "/v1/models", {"id": "ranker", "version": v})
        W.versions.add(("ranker", v))
    s, t = W.d.request("POST", "/v1/tests", {
        "name": "load", "model": "ranker", "control": "v1", "treatment": "v2",
        "policies": {"guards": [["threshold", {"metric": "error_rate", "type": "maximum",
                                               "value": 0.01, "action": "alert",
                                               "min_requests": 10}]]}})
    W.load = t["id"]
    s, _ = W.d.request("POST", "/v1/tests/%s/start" % W.load)
    W.objects[W.load] = "running"
    return s == 200


def check_after(k, t_kill):
    ok_db = integrity()
    W.d = Daemon(ARGS.build, data=W.data)
    s, body = W.d.request("GET", "/v1/models")
    have = {(m["id"], v["version"]) for m in body["models"] for v in m["versions"]}
    missing_v = W.versions - have
    wrong = {}
    # The engine keeps the newest HISTORY finished tests; older ones are evicted.
    evictable = set(W.finished[:max(len(W.finished) - HISTORY + 1, 0)])
    for tid, want in W.objects.items():
        s, snap = W.d.request("GET", "/v1/tests/%s" % tid)
        got = snap.get("status") if s == 200 else s
        if got == 404 and tid in evictable:
            continue
        if got != want and got != W.doubt.get(tid):
            wrong[tid] = (want, got)
        elif got != want:
            W.objects[tid] = got  # the in-flight change was committed: it is the state now
            if LIFE["verbs"].pop(0) == "stop":
                W.finished.append(tid)
    W.doubt.clear()
    stored = stored_events()
    gone = {q: e for q, e in W.events.items() if stored.get(q) != e}
    acts = {(e[1], e[2]) for e in stored.values() if e[0] == "lifecycle"}
    no_event = [op for op in W.acked_ops if op not in acts]
    decisions = sum(1 for e in W.events.values() if e[0] == "decision")
    n = requests_of(W.load)
    acked = W.acks[-1][1] if W.acks else 0
    due = max([c for (t, c) in W.acks if t <= t_kill - CHECKPOINT - TICK] or [0])
    whole = [t for (t, c) in W.acks if c <= n]
    lost = t_kill - whole[-1] if whole and acked > n else 0.0
    W.lost.append(lost)
    check(ok_db == "ok" and not missing_v and not wrong and not gone and not no_event,
          "kill %d: integrity %s; %d versions, %d tests, %d acknowledged changes and %d seen "
          "events (%d decisions) all back (missing %r %r %r %r)"
          % (k, ok_db, len(W.versions), len(W.objects), len(W.acked_ops), len(W.events),
             decisions, sorted(missing_v)[:2], dict(list(wrong.items())[:2]),
             list(gone.items())[:2], no_event[:2]))
    check(W.floor <= n <= W.sent and n >= due,
          "kill %d: requests %d: >= last restart's %d, <= %d sent, >= %d acknowledged by "
          "kill - %.1f s; %d acknowledged lost (%.3f s)"
          % (k, n, W.floor, W.sent, due, CHECKPOINT + TICK, max(acked - n, 0), lost))
    W.floor = n
    # Counting goes on from what came back: results lost here are not lost again.
    W.acks, W.sent = [(time.time(), n)], n


def test_crash_loop():
    rng = random.Random(ARGS.seed)
    seed = ARGS.seed if ARGS.seed is not None else "random"
    print("# %d kills, seed %s, checkpoint %.1f s, tick %.1f s" % (ARGS.kills, seed, CHECKPOINT,
                                                                   TICK))
    check(start_load(), "the load test runs")
    threads = [threading.Thread(target=client, args=(i, f), daemon=True)
               for i, f in enumerate((record_step, lifecycle_step, watch_step))]
    for t in threads:
        t.start()
    W.up.set()
    for k in range(1, ARGS.kills + 1):
        time.sleep(rng.uniform(ARGS.min, ARGS.max))
        W.up.clear()
        t_kill = time.time()
        W.d.kill(signal.SIGKILL)
        for lock in W.locks:  # every client is out of its step
            lock.acquire()
        try:
            check_after(k, t_kill)
        finally:
            W.up.set()
            for lock in W.locks:
                lock.release()
    check(all(t.is_alive() for t in threads) and not W.errors,
          "every client ran to the end (errors: %s)" % W.errors[:3])
    W.done = True
    time.sleep(0.5)
    check(not W.reused, "no test id was handed out twice (%d reused: %s)"
          % (len(W.reused), W.reused[:5]))
    check(W.d.kill(signal.SIGTERM) == 0 and integrity() == "ok",
          "the last daemon stops with SIGTERM (exit 0), database intact")
    worst = max(W.lost or [0])
    check(worst <= CHECKPOINT + TICK and W.batches > 0 and W.acked_ops,
          "worst loss of acknowledged results: %.3f s (bound: checkpoint %.1f s + tick %.1f s); "
          "%d batches acknowledged, %d lifecycle changes, %d events seen"
          % (worst, CHECKPOINT, TICK, W.batches, len(W.acked_ops), len(W.events)))


def main():
    try:
        run((test_crash_loop,))
    finally:
        W.done = True
        if W.d and W.d.alive():
            W.d.kill(signal.SIGKILL)
        if os.environ.get("SLUICE_FAULT_KEEP"):
            print("# data kept in", W.data)
        else:
            shutil.rmtree(W.data, ignore_errors=True)


if __name__ == "__main__":
    main()
