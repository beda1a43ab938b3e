#!/usr/bin/env python3
"""Canaries over the HTTP API, end to end (loopback only): create (201, the
defaults filled in) and the refusals (400 shape, 422 value), start, routing
through the canary, rollback with a named trigger (and an unknown trigger
refused), verbs on unknown ids and unknown verbs (404), listings, /v1/events
paging; then a restart restores the canary, and a stored row corrupted with
sqlite3 while the daemon is down is reported and skipped, the rest restored.

Usage: test_api_canary.py BUILD_DIR SOURCE_DIR
"""
import os
import shutil
import signal
import sqlite3
import sys

import daemon
from daemon import setup_models
from tap import check, run

BUILD, SOURCE = sys.argv[1], sys.argv[2]

CANARY = {"name": "v2 canary", "model": "ranker", "canary": "v2", "traffic": 5,
          "promotion_criteria": [{"metric": "error_rate", "op": "<", "value": 0.05,
                                  "for_minutes": 1}]}


def wait_status(d, cid, want, timeout=5):
    """The canary's snapshot once its status is want, else the last one read."""
    last = {}

    def reached():
        s, last["snap"] = d.request("GET", "/v1/canaries/" + cid)
        return s == 200 and last["snap"]["status"] == want and last["snap"]
    return daemon.wait_until(reached, timeout) or last["snap"]


def test_canary_api():
    d = daemon.Daemon(BUILD)
    data = d.data
    try:
        setup_models(d)
        s, k = d.request("POST", "/v1/canaries", CANARY)
        check(s == 201 and k["status"] == "preparing" and k["stable"] == "v1"
              and k["configured_traffic"] == 5 and k["health_check_interval_ms"] == 10000,
              "a canary is created preparing, stable = the live version (201)")
        cid = k["id"]
        s, body = d.request("POST", "/v1/canaries", {**CANARY, "canary": "v1"})
        check(s == 422 and "already the stable version" in body["error"]["message"],
              "a canary of the stable version is 422")
        s, body = d.request("POST", "/v1/canaries", {**CANARY, "traffic": "lots"})
        check(s == 400 and "traffic" in body["error"]["message"], "a wrong type is 400 naming it")
        s, body = d.request("POST", "/v1/canaries", {**CANARY, "model": "nope"})
        check(s == 404, "an unknown model is 404")
        s, other = d.request("POST", "/v1/canaries", {**CANARY, "name": "second"})
        check(s == 201, "a second canary of the same model may wait in preparing")

        s, k = d.request("POST", f"/v1/canaries/{cid}/start")
        check(s == 200 and k["status"] in ("deploying", "monitoring"), "start -> %s" % k["status"])
        k = wait_status(d, cid, "monitoring")
        check(k["status"] == "monitoring" and k["traffic"] == 5,
              "both versions healthy: monitoring at 5%% (%s, %s)" % (k["status"], k.get("traffic")))
        variants = {}
        for i in range(400):
            s, r = d.request("POST", "/v1/route", {"model": "ranker", "unit": "user-%d" % i})
            variants[r["variant"]] = variants.get(r["variant"], 0) + 1
            if r["test"] != cid or r["kind"] != "canary":
                break
        check(set(variants) == {"stable", "canary"} and 5 <= variants.get("canary", 0) <= 45,
              "routing splits about 5%% to the canary (%r)" % variants)
        s, body = d.request("POST", "/v1/route", {"model": "ranker"})
        check(s == 400, "a route without a unit is 400")

        s, body = d.request("POST", f"/v1/canaries/{cid}/rollback", {"trigger": "bogus"})
        check(s == 422 and "trigger: unknown 'bogus'" in body["error"]["message"],
              "an unknown rollback trigger is refused, naming it")
        s, body = d.request("POST", f"/v1/canaries/{cid}/fail")
        check(s == 404 and "unknown action 'fail'" in body["error"]["message"],
              "fail is not an API verb (404)")
        s, body = d.request("POST", "/v1/canaries/c-999/pause")
        check(s == 404 and "c-999" in body["error"]["message"], "a verb on an unknown id is 404")
        s, body = d.request("GET", "/v1/canaries/c-999")
        check(s == 404, "GET of an unknown canary is 404")
        s, k = d.request("POST", f"/v1/canaries/{cid}/rollback",
                         {"reason": "p99 +40%", "trigger": "latency_increase"})
        check(s == 200 and k["status"] in ("rolling_back", "completed", "failed"),
              "rollback with a trigger (%s)" % k["status"])
        s, r = d.request("POST", "/v1/route", {"model": "ranker", "unit": "user-1"})
        check(r["version"] == "v1", "after the rollback everything routes to stable")

        s, lst = d.request("GET", "/v1/canaries")
        ids = [c["id"] for c in lst["canaries"]]
        # the rolled-back one leaves the active list at the next tick (into history)
        s2, done = d.request("GET", "/v1/canaries?status=completed")
        ids += [c["id"] for c in done["canaries"]] if s2 == 200 else []
        check(s == 200 and cid in ids and other["id"] in ids,
              "GET /v1/canaries lists both (the finished one, once a tick has passed, under "
              "?status=completed)")
        s, lst = d.request("GET", "/v1/tests")
        check(s == 200 and lst["tests"] == [], "GET /v1/tests lists no canary")
        s, ev = d.request("GET", "/v1/events?since=0&limit=2")
        check(s == 200 and len(ev["events"]) == 2 and ev["last"] >= ev["events"][-1]["seq"],
              "events page by limit, with the last sequence number")
        s, ev2 = d.request("GET", "/v1/events?since=%d&limit=1000" % ev["events"][-1]["seq"])
        check(ev2["events"][0]["seq"] == ev["events"][-1]["seq"] + 1, "since= continues the page")
        rb = [e for e in ev2["events"] if e["subject"] == cid and e["action"] == "rollback"]
        check(rb and rb[0].get("reason") == "p99 +40%", "the rollback is in the log with its reason")
        for q in ("since=-1", "since=0&limit=0", "since=0&limit=10001"):
            s, body = d.request("GET", "/v1/events?" + q)
            check(s == 400, "/v1/events?%s is 400" % q)

        s, before = d.request("GET", "/v1/canaries/" + cid)
        check(d.kill(signal.SIGTERM) == 0, "SIGTERM exits 0")
        db = sqlite3.connect(os.path.join(data, "sluice.db"))
        db.execute("UPDATE objects SET config = '{\"name\": 5}' WHERE id = ?", (other["id"],))
        db.commit()
        db.close()
        d = daemon.Daemon(BUILD, data=data)
        s, k = d.request("GET", "/v1/canaries/" + cid)
        # a rollback in progress may finish on the first tick after the restart
        check(s == 200 and k["status"] in (before["status"], "completed")
              and k["created_at"] == before["created_at"] and k["traffic"] == before["traffic"],
              "the canary is restored after a restart (%s -> %s)"
              % (before["status"], k.get("status")))
        s, body = d.request("GET", "/v1/canaries/" + other["id"])
        check(s == 404, "the canary whose stored config was corrupted is skipped")
        check(d.kill(signal.SIGTERM) == 0, "SIGTERM exits 0 again")
        with open(os.path.join(data, "sluiced.log")) as f:
            log = f.read()
        check("could not restore %s (config)" % other["id"] in log,
              "the log names the row that could not be restored")
    finally:
        if d.alive():
            d.kill(signal.SIGTERM)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    run((test_canary_api,))
