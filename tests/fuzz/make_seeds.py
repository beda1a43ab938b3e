#!/usr/bin/env python3
"""Write the text seed corpora of the fuzz targets (tests/fuzz/<t>/seeds/):
real requests for every route of docs/api.md (HTTP and API-handler forms),
real config files, REPL frames, and the policies of policies/ and
tests/fixtures/policies/. The code-produced seeds (metric checkpoints and
encoded state) come from the targets themselves, run with FUZZ_SEEDGEN=dir
(see docs/fuzzing.md).
Run from anywhere; it rewrites the seeds it owns."""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

MODEL_V1 = {"id": "ranker", "version": "v1", "path": "s3://m/v1", "config": {"threads": 4}}
MODEL_V2 = {"id": "ranker", "version": "v2", "health": "loading"}
TEST = {"name": "ranker v2", "model": "ranker", "control": "v1", "treatment": "v2",
        "ramp": [{"at_hours": 0, "treatment": 10}, {"at_hours": 6, "treatment": 50}],
        "success_metrics": ["clicks"], "minimum_effect_size": 0.01, "auto_promote": True,
        "policies": {"guards": [["threshold", {"metric": "error_rate", "type": "maximum",
                                               "value": 0.02, "action": "rollback",
                                               "window": "5m"}], ["srm"]],
                     "recommend": ["default"]}}
SEARCH = [{"id": "search", "version": "s1"}, {"id": "search", "version": "s2"}]
CANARY = {"name": "v2 canary", "model": "search", "canary": "s2", "traffic": 5,
          "auto_promote": True, "auto_rollback": True, "error_threshold": 0.05,
          "promotion_criteria": [{"metric": "success_rate", "op": ">=", "value": 0.99,
                                  "for_minutes": 30}],
          "policies": {"ramp": ["gated"], "promotion": ["criteria"]}}
RECORD1 = {"test": "t-1", "variant": "treatment", "ok": True, "latency_ms": 31.5,
           "metrics": {"clicks": 1}}
RECORD2 = [{"test": "t-1", "variant": "control", "ok": False, "latency_ms": 120},
           {"test": "c-2", "variant": "canary", "ok": True, "latency_ms": 12}]


def j(v):
    return json.dumps(v, separators=(",", ":"))


def req(method, path, body=None, headers=()):
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost:7070"] + list(headers)
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body.encode())}"]
    return ("\r\n".join(lines) + "\r\n\r\n" + (body or "")).encode()


def write(target, name, data):
    d = os.path.join(HERE, target, "seeds")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def reset(target):
    shutil.rmtree(os.path.join(HERE, target, "seeds"), ignore_errors=True)


def http():
    reset("http")
    setup = [req("POST", "/v1/models", j(MODEL_V1)), req("POST", "/v1/models", j(MODEL_V2)),
             req("POST", "/v1/tests", j(TEST)), req("POST", "/v1/tests/t-1/start", ""),
             req("POST", "/v1/models", j(SEARCH[0])), req("POST", "/v1/models", j(SEARCH[1])),
             req("POST", "/v1/canaries", j(CANARY)), req("POST", "/v1/canaries/c-2/start")]
    singles = {
        "healthz": req("GET", "/healthz"), "metrics": req("GET", "/metrics"),
        "models_get": req("GET", "/v1/models"), "tests_get": req("GET", "/v1/tests?status=running"),
        "canaries_get": req("GET", "/v1/canaries"), "events": req("GET", "/v1/events?since=0&limit=100"),
        "policies": req("GET", "/v1/policies"), "head": req("HEAD", "/healthz"),
        "route_model": req("POST", "/v1/route", j({"model": "ranker", "unit": "user-42"})),
        "bad_json": req("POST", "/v1/tests", "{\"name\":"),
        "chunked": b"POST /v1/record HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "expect": req("POST", "/v1/models", j(MODEL_V1), ["Expect: 100-continue"]),
        "http10": b"GET /healthz HTTP/1.0\r\n\r\n",
        "query_escapes": req("GET", "/v1/tests?status=run%6Eing&x=%zz+y"),
        "bearer": req("POST", "/v1/route", "{}", ["Authorization: Bearer secret"]),
        "close": req("GET", "/v1/tests/t-1", None, ["Connection: close"]),
        "405": req("DELETE", "/v1/tests"),
    }
    for name, data in singles.items():
        write("http", name, data)
    write("http", "setup", b"".join(setup))
    flow = setup + [
        req("POST", "/v1/route", j({"test": "t-1", "unit": "user-42"})),
        req("POST", "/v1/record", j(RECORD1)), req("POST", "/v1/record", j(RECORD2)),
        req("POST", "/v1/tests/t-1/pause", j({"reason": "investigating"})),
        req("GET", "/v1/tests/t-1"), req("POST", "/v1/tests/t-1/resume"),
        req("POST", "/v1/canaries/c-2/rollback", j({"reason": "p99 +40%", "trigger": "latency_increase"})),
        req("GET", "/v1/canaries/c-2"), req("GET", "/v1/events?since=3&limit=5")]
    write("http", "flow", b"".join(flow))
    write("http", "flow_in_pieces", b"\x07" + b"".join(flow))


def api():
    """Selector bytes: route index, id index, verb index; see fuzz_api.c."""
    reset("api")
    routes = ["GET /healthz", "GET /metrics", "POST /v1/models", "GET /v1/models",
              "POST /v1/tests", "GET /v1/tests", "GET /v1/tests/{id}", "POST /v1/tests/{id}/{verb}",
              "POST /v1/canaries", "GET /v1/canaries", "GET /v1/canaries/{id}",
              "POST /v1/canaries/{id}/{verb}", "POST /v1/route", "POST /v1/record",
              "GET /v1/events", "GET /v1/policies"]
    r = {name: i for i, name in enumerate(routes)}
    ids = {"t-1": 0, "c-2": 1, "t-3": 2}
    verbs = {"start": 0, "pause": 1, "resume": 2, "stop": 3, "promote": 4, "rollback": 5, "retry": 6}

    def one(route, payload="", id="t-1", verb="start", tick=0):
        b0 = r[route] | (0x80 if tick else 0)
        return bytes([b0, ids[id], verbs[verb]]) + payload.encode()

    cases = {
        "models": [one("POST /v1/models", j({"id": "ranker", "version": "v3", "live": True}))],
        "tests": [one("POST /v1/tests", j(dict(TEST, name="second"))),
                  one("POST /v1/tests/{id}/{verb}", "", "t-3", "start")],
        "canaries": [one("POST /v1/canaries", j(dict(CANARY, model="ranker", canary="v2")))],
        "verb": [one("POST /v1/tests/{id}/{verb}", j({"reason": "investigating"}), "t-1", "pause")],
        "rollback": [one("POST /v1/canaries/{id}/{verb}",
                         j({"reason": "p99 +40%", "trigger": "latency_increase"}), "c-2", "rollback")],
        "route": [one("POST /v1/route", j({"model": "ranker", "unit": "user-42"})),
                  one("POST /v1/route", j({"test": "t-1", "unit": "user-7"}))],
        "record": [one("POST /v1/record", j(RECORD1)), one("POST /v1/record", j(RECORD2)),
                   one("GET /v1/tests/{id}", "", "t-1", "start", tick=1)],
        "events": [one("GET /v1/events", "since=0&limit=100")],
        "lists": [one("GET /v1/tests", "status=running"), one("GET /v1/canaries", "status=rolled_back"),
                  one("GET /v1/models"), one("GET /healthz"), one("GET /metrics"), one("GET /v1/policies")],
        "snapshot": [one("GET /v1/canaries/{id}", "", "c-2")],
    }
    for name, reqs in cases.items():
        write("api", name, b"\x1e".join(reqs))


def config():
    reset("config")
    full = {"listen": "127.0.0.1:7070", "data_dir": "./sluice-data", "policy_dirs": ["./policies"],
            "tick_ms": 1000, "checkpoint_ms": 1000, "token": "secret", "max_body_bytes": 1048576,
            "max_header_bytes": 8192, "idle_timeout_ms": 30000, "log_level": "info",
            "allow_remote": False, "clock_speed": 1}
    write("config", "full.json", json.dumps(full, indent=2))
    write("config", "remote.json", j({"listen": "0.0.0.0:80", "allow_remote": True}))
    write("config", "empty.json", "{}")
    write("config", "unknown_key.json", j({"listn": "x"}))


def admin():
    reset("admin")

    def frames(*chunks):
        return b"".join(str(len(c.encode())).encode() + b"\n" + c.encode() for c in chunks)

    write("admin", "expr", frames("1 + 1"))
    write("admin", "helpers", frames("tests()", "test('t-1')", "canaries()", "models()",
                                     "events(5)", "policies()", "route('ranker', 'user-42')"))
    write("admin", "verbs", frames("pause('t-1', 'look')", "resume('t-1')", "stop('t-1')"))
    write("admin", "incomplete", frames("for i = 1, 3 do", "print(i) end"))
    write("admin", "print_table", frames("print({a = 1, b = {c = 'x'}})", "x = {}; x.self = x; return x"))
    write("admin", "stats", frames("stats.two_proportion and 1"))
    write("admin", "runaway", frames("while true do end", "1"))


def policy():
    reset("policy")
    for d in ("policies", os.path.join("tests", "fixtures", "policies")):
        for dirpath, _, files in os.walk(os.path.join(ROOT, d)):
            for f in sorted(files):
                if f.endswith(".lua"):
                    with open(os.path.join(dirpath, f), "rb") as src:
                        prefix = os.path.basename(dirpath)
                        # no .lua suffix: luacheck lints the tree, and some are broken on purpose
                        write("policy", f"{prefix}_{f[:-4]}", src.read())


for gen in (http, api, config, admin, policy):
    gen()
