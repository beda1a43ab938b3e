#!/usr/bin/env python3
"""Malformed and hostile HTTP against a live sluiced (tests/faults/bad_http/).

One daemon with a bearer token. For each case of bad_http/cases.py: open a
raw socket, send the bytes, read until the daemon closes (or 5 s pass), and
check the answer: the expected status (after which a broken request must see
the connection closed) or a connection closed without a response. After each
case: the daemon is alive, answers /healthz, and the models, the tests and
the event log are exactly as before. The slow clients of SLOW run side by
side in threads and must be cut off by the request deadline.

Usage: bad_http.py BUILD_DIR SOURCE_DIR [--only SUBSTRING]
"""
import argparse
import os
import re
import select
import shutil
import signal
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "bad_http"))
from cases import CASES, CLOSED, SLOW  # noqa: E402
from daemon import Daemon, setup_models  # noqa: E402
from tap import check, run  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("source")
ap.add_argument("--only", help="run the cases whose name contains this")
ARGS = ap.parse_args()

TOKEN = "s3cret"
AUTH = {"Authorization": "Bearer " + TOKEN}
REQUEST_TIMEOUT = 10.0  # http.c's default request deadline
D = None


def fill(data, tid):
    data = (data.replace(b"{auth}", b"Authorization: Bearer " + TOKEN.encode() + b"\r\n")
            .replace(b"{tid}", tid.encode()).replace(b"{port}", str(D.port).encode()))
    head, sep, body = data.partition(b"\r\n\r\n")
    return head.replace(b"{len}", str(len(body)).encode()) + sep + body


def exchange(data, pieces=(), gap=0.0, wait=5.0):
    """Send data (then EOF), or send pieces gap seconds apart until the daemon
    answers or closes; read to EOF. Returns (status or CLOSED, seconds, bytes)."""
    s = socket.create_connection(("127.0.0.1", D.port), timeout=wait)
    t0 = time.time()
    got = b""
    try:
        if data is not None:
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the daemon may stop reading early: its answer still counts
        for p in pieces:
            if select.select([s], [], [], gap)[0]:
                break  # answered or closed: stop dribbling
            s.sendall(p)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", got)
    return (int(m.group(1)) if m else CLOSED), time.time() - t0, got


def state():
    models = D.request("GET", "/v1/models")
    tests = D.request("GET", "/v1/tests")
    events = list(D.events())
    return models, tests, events


def setup():
    global D
    D = Daemon(ARGS.build, extra=["--token", TOKEN])
    check(setup_models(D, headers=AUTH), "models registered")
    s, t = D.request("POST", "/v1/tests", {"name": "t", "model": "ranker", "control": "v1",
                                           "treatment": "v2"}, headers=AUTH)
    check(s == 201, "a draft test exists")
    return t["id"]


def slow_client(case, tid, out):
    name, pieces, gap, want = case
    got, secs, raw = exchange(None, [fill(p, tid) for p in pieces], gap,
                              wait=REQUEST_TIMEOUT + 10)
    out[name] = (got, secs)


def test_cases():
    tid = setup()
    slow = [c for c in SLOW if not ARGS.only or ARGS.only in c[0]]
    results = {}
    threads = [threading.Thread(target=slow_client, args=(c, tid, results)) for c in slow]
    for th in threads:
        th.start()
    before = state()
    for name, data, want in CASES:
        if ARGS.only and ARGS.only not in name:
            continue
        got, secs, raw = exchange(fill(data, tid))
        first = raw.split(b"\r\n", 1)[0].decode(errors="replace")
        check(got == want, "%s: %s (%s, %.2f s)" % (name, want, first or "closed", secs))
        s, _ = D.request("GET", "/healthz")
        after = state()
        check(D.alive() and s == 200 and after == before,
              "%s: daemon alive, nothing changed" % name)
    for th in threads:
        th.join()
    for name, pieces, gap, want in slow:
        got, secs = results.get(name, (None, 0))
        sent = len(pieces) * gap
        check(got == want and secs < REQUEST_TIMEOUT + 3 and (not pieces or secs < sent),
              "%s: cut off after %.1f s with %s (deadline %.0f s; it wanted %.0f s)"
              % (name, secs, got, REQUEST_TIMEOUT, sent))
    check(state() == before, "after the slow clients nothing changed either")


def main():
    try:
        run((test_cases,))
    finally:
        if D:
            if D.alive():
                D.kill(signal.SIGTERM)
            shutil.rmtree(D.data, ignore_errors=True)


if __name__ == "__main__":
    main()
