#!/usr/bin/env python3
"""A small load generator for the sluiced demo (loopback only).

Registers model "ranker" (v1 live, v2 new), starts a canary of v2 with a gated
ramp, a latency guard and the promotion criteria, then routes and records
synthetic traffic while printing the decisions as they happen. v2 is healthy
except for a latency regression between virtual minutes 30 and 45.

Usage: loadgen.py [--port 7070] [--seconds 90]
The daemon runs in virtual time (clock_speed 120: two virtual minutes per second).
"""
import argparse
import http.client
import json
import math
import random
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=7070)
ap.add_argument("--seconds", type=float, default=90)
args = ap.parse_args()
random.seed(7)
conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)


def call(method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)


for v in ("v1", "v2"):
    call("POST", "/v1/models", {"id": "ranker", "version": v})
status, canary = call("POST", "/v1/canaries", {
    "name": "ranker v2", "model": "ranker", "canary": "v2", "traffic": 5,
    "auto_promote": True, "auto_rollback": True,
    "success_threshold": 0.97, "error_threshold": 0.05,
    "promotion_criteria": [
        {"metric": "success_rate", "op": ">=", "value": 0.99, "for_minutes": 40},
        {"metric": "latency_p99", "op": "<", "value": 150, "for_minutes": 40}],
    "policies": {
        "ramp": ["gated", {"steps": [5, 10, 25, 50], "min_samples": 300, "quiet_minutes": 8,
                           "window": "5m", "min_requests": 50, "max_p99_ratio": 1.5}],
        "guards": [["threshold", {"metric": "latency_p99", "type": "percentage", "value": 0.5,
                                  "action": "alert", "window": "5m", "min_requests": 50,
                                  "cooldown_minutes": 5}]],
        "promotion": ["criteria", {"max_latency_increase": 3, "window": "10m"}]}})
if status != 201:
    sys.exit("could not create the canary: %s" % canary)
cid = canary["id"]
call("POST", f"/v1/canaries/{cid}/start")
print(f"canary {cid}: ranker v1 -> v2, starting at 5% (virtual time runs 120x)\n")

t0, seq, virt0, unit = time.time(), 0, None, 0
batch = []
while time.time() - t0 < args.seconds:
    for _ in range(100):
        unit += 1
        _, r = call("POST", "/v1/route", {"model": "ranker", "unit": f"user-{unit % 50000}"})
        if r["test"] != cid:
            continue
        minute = (time.time() - t0) * 2  # virtual minutes since start
        slow = r["variant"] == "canary" and 30 <= minute < 45
        latency = math.exp(random.gauss(math.log(95 if slow else 40), 0.3))
        batch.append({"test": cid, "variant": r["variant"], "ok": random.random() > 0.003,
                      "latency_ms": latency})
    if batch:
        call("POST", "/v1/record", batch)
        batch = []
    _, ev = call("GET", f"/v1/events?since={seq}&limit=200")
    for e in ev["events"]:
        seq = e["seq"]
        if virt0 is None:
            virt0 = e["at"]
        if e["kind"] in ("model", "policy"):
            continue
        traffic = e["action"] == "set_traffic" and "value" in e
        what = e.get("to") or ("%g%%" % e["value"] if traffic else "")
        print("  %6.1f min  %-10s %-18s %-12s %s" % ((e["at"] - virt0) / 60, e["kind"],
                                                     e["actor"], e["action"], what))
        if e.get("reason"):
            print("                        " + e["reason"][:110])
    _, c = call("GET", f"/v1/canaries/{cid}")
    if c["status"] in ("completed", "failed"):
        print("\ncanary %s: %s (%s). ranker now serves %s." % (
            cid, c["status"], c.get("outcome"),
            call("POST", "/v1/route", {"model": "ranker", "unit": "anyone"})[1]["version"]))
        break
else:
    print("\nstopped after %g s; canary status: %s" % (args.seconds, c["status"]))
