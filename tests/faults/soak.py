#!/usr/bin/env python3
"""Soak: steady load, a policy reload every second, a REPL session poking.

One sluiced (tick 100 ms, checkpoint 200 ms) with a user policy directory.
For --seconds: two clients route and record against a running test (each
over one keep-alive connection, back to back), a writer rewrites the test's
guard policy every second (a new version each time, so every rewrite is a
hot reload), and a REPL session over the admin socket evaluates a rotation of
chunks (tests(), test(id), route(), events(), policies(), stats) every 200 ms.
RSS is sampled every second.

Fails if any HTTP request or REPL chunk failed, if the reloads did not keep
up (the policy's version must follow the writes), or if the RSS slope (least
squares over the samples after a warm-up) exceeds --max-slope KiB/min.

Usage: soak.py BUILD_DIR SOURCE_DIR [--seconds N] [--max-slope KIB_PER_MIN]
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from daemon import Admin, Daemon, setup_models  # noqa: E402
from tap import SLOW, check, run  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("source")
ap.add_argument("--seconds", type=float, default=60)
ap.add_argument("--max-slope", type=float, default=512,
                help="largest RSS growth accepted after the warm-up, KiB per minute")
ap.add_argument("--warmup", type=float, default=None,
                help="seconds of samples left out of the slope (default: 10%%, at least 5)")
ARGS = ap.parse_args()

POLICY = """-- soak: rewritten every second (version {v})
return {{
  kind = "guard", name = "soak", version = "{v}",
  params = {{ limit = 0.5 }},
  evaluate = function(view, params, ctx)
    ctx.state.n = (ctx.state.n or 0) + 1
    local t = view.treatment
    if t.requests > 100 and t.error_rate > params.limit then
      return {{ action = "alert", reason = ("error rate %.3f"):format(t.error_rate) }}
    end
  end,
}}
"""

REPL_CHUNKS = ["#tests()", "test('{tid}').status", "route('ranker', 'u-' .. math.random(1000)).variant",
               "#events(50)", "#policies()", "stats.welch ~= nil",
               "local s = 0 for i = 1, 1e5 do s = s + i end return s"]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = 0
        self.failed = []

    def add(self, good, what):
        with self.lock:
            if good:
                self.ok += 1
            elif len(self.failed) < 20:
                self.failed.append(what)
            else:
                self.failed.append(None)


def load(d, tid, stats, stop, k):
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10 * SLOW)
    hdrs = {"Content-Type": "application/json"}
    i = 0
    while not stop.is_set():
        i += 1
        try:
            conn.request("POST", "/v1/route", json.dumps({"model": "ranker",
                                                          "unit": "c%d-%d" % (k, i)}), hdrs)
            r = conn.getresponse()
            body = json.loads(r.read())
            stats.add(r.status == 200 and body.get("test") == tid, ("route", r.status, body))
            items = [{"test": tid, "variant": body.get("variant", "control"), "ok": j % 9 != 0,
                      "latency_ms": 3 + (i + j) % 50, "metrics": {"clicks": j % 2}}
                     for j in range(20)]
            conn.request("POST", "/v1/record", json.dumps(items), hdrs)
            r = conn.getresponse()
            body = json.loads(r.read())
            stats.add(r.status == 202 and body.get("accepted") == 20, ("record", r.status, body))
        except Exception as e:  # every failure counts; reconnect and go on
            stats.add(False, repr(e))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10 * SLOW)


def writer(path, stop, written):
    v = 0
    while not stop.wait(1.0):
        v += 1
        with open(path + ".tmp", "w") as f:
            f.write(POLICY.format(v=v))
        os.replace(path + ".tmp", path)
        written.append(v)


def repl(d, tid, stats, stop):
    adm = Admin(d.socket_path())
    i = 0
    try:
        while not stop.wait(0.2):
            src = REPL_CHUNKS[i % len(REPL_CHUNKS)].format(tid=tid)
            i += 1
            try:
                r = adm.eval(src)
                stats.add(r.get("ok") and r.get("out", "").strip() not in ("", "nil"),
                          ("repl", src, r))
            except Exception as e:
                stats.add(False, ("repl", src, repr(e)))
                adm.close()
                adm = Admin(d.socket_path())
    finally:
        adm.close()


def slope_per_min(samples):
    """Least-squares slope of (seconds, KiB) pairs, in KiB per minute."""
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    mr = sum(r for _, r in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    return 60 * sum((t - mt) * (r - mr) for t, r in samples) / var if var else 0.0


def test_soak():
    pdir = tempfile.mkdtemp(prefix="sluice-soak-policies-")
    path = os.path.join(pdir, "soak.lua")
    with open(path, "w") as f:
        f.write(POLICY.format(v=0))
    d = Daemon(ARGS.build, policies=pdir)
    try:
        check(setup_models(d), "models registered")
        s, t = d.request("POST", "/v1/tests", {"name": "soak", "model": "ranker",
                                               "control": "v1", "treatment": "v2",
                                               "success_metrics": ["clicks"],
                                               "policies": {"guards": [["soak"]]}})
        tid = t["id"]
        check(d.request("POST", "/v1/tests/%s/start" % tid)[0] == 200, "the soak test runs")
        stop = threading.Event()
        http_stats, repl_stats, written, samples = Stats(), Stats(), [], []
        threads = [threading.Thread(target=load, args=(d, tid, http_stats, stop, k))
                   for k in range(2)]
        threads.append(threading.Thread(target=writer, args=(path, stop, written)))
        threads.append(threading.Thread(target=repl, args=(d, tid, repl_stats, stop)))
        t0 = time.time()
        for th in threads:
            th.start()
        while time.time() - t0 < ARGS.seconds and d.alive():
            samples.append((time.time() - t0, d.rss_kib()))
            time.sleep(1.0)
        stop.set()
        for th in threads:
            th.join(timeout=30)
        elapsed = time.time() - t0
        time.sleep(2.5)  # the periodic rescan catches the last write
        s, pol = d.request("GET", "/v1/policies")
        soak = [p for p in pol["policies"] if p.get("name") == "soak"]
        s, snap = d.request("GET", "/v1/tests/%s" % tid)
        errors = [e for e in d.events() if e["kind"] == "error"]
        warm = ARGS.warmup if ARGS.warmup is not None else max(5.0, 0.1 * ARGS.seconds)
        kept = [x for x in samples if x[0] >= warm]
        slope = slope_per_min(kept) if len(kept) >= 3 else float("inf")
        rss = [r for _, r in samples]
        print("# %.0f s: %d HTTP requests, %d REPL chunks, %d policy writes; RSS %d -> %d KiB "
              "(min %d, max %d), slope %.1f KiB/min over %d samples after %.0f s"
              % (elapsed, http_stats.ok + len(http_stats.failed), repl_stats.ok
                 + len(repl_stats.failed), len(written), rss[0], rss[-1], min(rss), max(rss),
                 slope, len(kept), warm))
        check(d.alive(), "the daemon is alive after %.0f s" % elapsed)
        check(http_stats.ok > 0 and not http_stats.failed,
              "%d HTTP requests, %d failed %r" % (http_stats.ok + len(http_stats.failed),
                                                  len(http_stats.failed), http_stats.failed[:3]))
        check(repl_stats.ok > 0 and not repl_stats.failed,
              "%d REPL chunks, %d failed %r" % (repl_stats.ok + len(repl_stats.failed),
                                                len(repl_stats.failed), repl_stats.failed[:3]))
        check(written and soak and soak[0]["version"] == str(written[-1]),
              "hot reload kept up: %d writes, the loaded version is %s"
              % (len(written), soak[0]["version"] if soak else None))
        check(snap["status"] == "running" and not errors,
              "the test still runs and no policy error was logged (%d errors)" % len(errors))
        if SLOW > 1:  # ASan's quarantine fills up to its cap: the slope is its, not ours
            print("# RSS slope not bounded under sanitizers (%.1f KiB/min)" % slope)
        else:
            check(slope <= ARGS.max_slope, "RSS slope %.1f KiB/min <= %.0f KiB/min"
                  % (slope, ARGS.max_slope))
        check(d.kill(signal.SIGTERM) == 0, "SIGTERM exits 0")
    finally:
        if d.alive():
            d.kill(signal.SIGKILL)
        shutil.rmtree(d.data, ignore_errors=True)
        shutil.rmtree(pdir, ignore_errors=True)


if __name__ == "__main__":
    run((test_soak,))
