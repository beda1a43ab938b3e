#!/usr/bin/env python3
"""`sluice simulate` on the shipped scenarios: golden timelines, verdicts, the SVG.

Each scenario in examples/scenarios/ is run twice (same output: the seed fixes
the run), compared with its golden timeline in tests/fixtures/simulate/
(UPDATE_GOLDEN=1 rewrites them after a deliberate change), and its verdict is
checked against what the scenario is about. Prints TAP; exits non-zero on any
failure.

Usage: test_simulate.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

from tap import check, run

BUILD, SOURCE = sys.argv[1], sys.argv[2]
SLUICE = os.path.join(BUILD, "sluice")
SCEN = os.path.join(SOURCE, "examples", "scenarios")
GOLD = os.path.join(SOURCE, "tests", "fixtures", "simulate")


def simulate(*args):
    return subprocess.run([SLUICE, "simulate"] + list(args), capture_output=True, text=True,
                          timeout=120)


def scenario(name):
    return os.path.join(SCEN, name + ".json")


def test_golden():
    names = sorted(f[:-5] for f in os.listdir(SCEN) if f.endswith(".json"))
    check(len(names) >= 4, "four or more scenarios ship (%s)" % ", ".join(names))
    for name in names:
        a, b = simulate(scenario(name)), simulate(scenario(name))
        check(a.returncode == 0 and a.stdout == b.stdout and a.stdout,
              "%s: runs and repeats itself exactly" % name)
        gold = os.path.join(GOLD, name + ".txt")
        if os.environ.get("UPDATE_GOLDEN"):
            open(gold, "w").write(a.stdout)
        want = open(gold).read() if os.path.exists(gold) else None
        check(a.stdout == want, "%s: matches its golden timeline" % name)


def verdict(name):
    out = simulate(scenario(name), "--json")
    return json.loads(out.stdout) if out.returncode == 0 else {}


def test_verdicts():
    v = verdict("healthy-canary")
    check(v.get("outcome") == "promoted", "healthy canary: promoted")
    v = verdict("error-spike-rollback")
    acts = [(e["actor"], e["action"]) for e in v.get("timeline", [])]
    check(v.get("outcome") == "rolled back" and ("policy:threshold", "rollback") in acts,
          "error spike: rolled back by the threshold guard")
    v = verdict("latency-regression")
    holds = [e for e in v.get("timeline", []) if e["reason"].startswith("hold: canary p99")]
    check(v.get("outcome") == "promoted" and holds and holds[0]["hours"] >= 0.4,
          "latency regression: caught after hour 0.4 (stepped back), promoted after recovery")
    v = verdict("srm-holds-ramp")
    acts = [(e["actor"], e["action"]) for e in v.get("timeline", [])]
    check(v.get("final", {}).get("status") == "paused" and ("policy:srm", "pause") in acts,
          "lost treatment results: the SRM guard pauses the ramp")


def test_svg_and_errors():
    with tempfile.TemporaryDirectory() as tmp:
        svg = os.path.join(tmp, "out.svg")
        out = simulate(scenario("latency-regression"), "--svg", svg)
        try:
            root = ET.parse(svg).getroot()
        except (ET.ParseError, OSError) as e:
            root = None
            print("# " + repr(e))
        ns = "{http://www.w3.org/2000/svg}"
        series = {p.get("data-series"): p.get("points", "").split()
                  for p in (root.iter(ns + "polyline") if root is not None else [])}
        want = {"allocation", "error_rate_base", "error_rate_candidate", "p99_base",
                "p99_candidate"}
        check(out.returncode == 0 and set(series) == want and all(len(v) > 100
                                                                  for v in series.values()),
              "--svg writes XML with the five series, each with its points")
        marks = list(root.iter(ns + "line")) if root is not None else []
        check(len(marks) >= 3, "--svg marks the decisions (%d)" % len(marks))
        bad = os.path.join(tmp, "bad.json")
        open(bad, "w").write(json.dumps({"models": [{"id": "m", "version": "v1"},
                                                    {"id": "m", "version": "v2"}],
                                         "test": {"name": "t", "model": "m", "control": "v1",
                                                  "treatment": "v2"},
                                         "traffic": [{"at_hours": 0, "rps": 5}],
                                         "behaviour": {"control": {"error_rate": 2}}}))
        out = simulate(bad)
        check(out.returncode == 2 and "error_rate must be in [0,1]" in out.stderr,
              "a bad behaviour is refused naming the rule (%r)" % out.stderr.strip())
        base = json.load(open(scenario("srm-holds-ramp")))
        for what, arm, want in (("metrics as a list", {"metrics": [0.5]},
                                 "metrics: an object"),
                                ("a misspelt latency key", {"latency": {"median": 100}},
                                 'unknown key "median"')):
            base["behaviour"]["control"] = arm
            open(bad, "w").write(json.dumps(base))
            out = simulate(bad)
            check(out.returncode == 2 and want in out.stderr and out.stdout == "",
                  "%s is refused before anything runs (%r)" % (what, out.stderr.strip()))
        open(bad, "w").write(json.dumps({"behavior": {}}))
        out = simulate(bad)
        check(out.returncode == 2 and 'unknown scenario key "behavior"' in out.stderr,
              "a misspelt key is refused, not ignored")
    import pty
    master, slave = pty.openpty()
    out = subprocess.run([SLUICE, "simulate", scenario("srm-holds-ramp")], stdout=subprocess.PIPE,
                         stderr=slave, text=True, timeout=120)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    check(b"[#" in shown and b"100%" in shown and
          out.stdout == open(os.path.join(GOLD, "srm-holds-ramp.txt")).read(),
          "on a terminal a progress bar runs on stderr; stdout is unchanged")
    a = simulate(scenario("healthy-canary"), "--seed", "1")
    b = simulate(scenario("healthy-canary"), "--seed", "2")
    check(a.returncode == 0 and a.stdout != b.stdout, "--seed changes the simulated traffic")
    out = simulate("/nonexistent.json")
    check(out.returncode == 2 and "cannot read" in out.stderr, "a missing scenario is named")


def strict_threshold(builtin):
    """A candidate new version of guard/threshold: the built-in file with half
    the configured tolerance (it fires earlier), written to a temp dir."""
    text = open(builtin).read()
    edits = [("limit = params.value", "limit = params.value / 2"),
             ('version = "1.0.0"', 'version = "2.0.0-strict"')]
    for old, new in edits:
        if text.count(old) != 1:
            raise RuntimeError("guard/threshold.lua changed: %r is not there once" % old)
        text = text.replace(old, new)
    path = os.path.join(tempfile.mkdtemp(prefix="shadow-"), "threshold_strict.lua")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_shadow():
    """--shadow: a candidate asked beside the configured policies, never applied."""
    spike = scenario("error-spike-rollback")
    builtin = os.path.join(SOURCE, "policies", "guard", "threshold.lua")
    strict = strict_threshold(builtin)
    plain = simulate(spike)
    same = simulate(spike, "--shadow", builtin)
    timeline = same.stdout.split("\nshadow: ")[0]
    check(same.returncode == 0 and timeline == plain.stdout,
          "a shadow candidate changes nothing in the rollout's timeline")
    check("threshold 1.0.0" in same.stdout and "0 of " in same.stdout and
          "0 of 0 " not in same.stdout,
          "the configured policy's own file as candidate: evaluated, never differs")
    out = simulate(spike, "--shadow", strict, "--json")
    sh = json.loads(out.stdout).get("shadow", {}) if out.returncode == 0 else {}
    runs = sh.get("differences", [])
    rollback = [e["hours"] for e in json.loads(out.stdout)["timeline"]
                if e["action"] == "rollback"] if runs else []
    check(sh.get("version") == "2.0.0-strict" and sh.get("hook") == "guard" and
          sh.get("evaluations", 0) > 0 and sh.get("differing", 0) > 0 and runs,
          "a stricter candidate differs (%s of %s)" % (sh.get("differing"), sh.get("evaluations")))
    first = runs[0] if runs else {}
    check(first.get("configured", {}).get("decision") == "none" and
          first.get("candidate", {}).get("decision") == "rollback" and
          "limit 2.50%" in first.get("candidate", {}).get("reason", "") and
          rollback and first["from_hours"] < rollback[0],
          "it would have rolled back earlier, with its own reason (limit halved)")
    check(sum(r["evaluations"] for r in runs) == sh.get("differing"),
          "the listed runs add up to the differing evaluations")
    srm = scenario("srm-holds-ramp")
    out = simulate(srm, "--shadow", builtin)
    check(out.returncode == 0 and "failed" in out.stdout and "params.value" in out.stdout and
          "/tmp/sluice-shadow" not in out.stdout,
          "a failing candidate is reported (under its own path), not in the timeline")
    out = simulate(srm, "--shadow", builtin, "--shadow-params", '{"value": 0.015}', "--json")
    sh = json.loads(out.stdout).get("shadow", {}) if out.returncode == 0 else {}
    check(sh.get("failures") == 0 and sh.get("differing", 0) > 0,
          "--shadow-params gives a candidate that has no configured namesake its params")
    bad = [(["--shadow", os.path.join(SOURCE, "policies", "promotion", "criteria.lua")],
            "A/B test does not use"),
           (["--shadow", os.path.join(SOURCE, "tests", "fixtures", "policies", "syntax_error.lua")],
            "syntax_error.lua:"),
           (["--shadow", "/nonexistent.lua"], "cannot read"),
           (["--shadow", builtin, "--shadow-params", "[1]"], "JSON object"),
           (["--shadow-params", "{}"], "usage")]
    for args, words in bad:
        out = simulate(srm, *args)
        check(out.returncode == 2 and words in out.stderr,
              "refused with exit 2: %s (%s)" % (" ".join(a.replace(SOURCE + "/", "") for a in args),
                                                words))


def main():
    run((test_golden, test_verdicts, test_svg_and_errors, test_shadow))


if __name__ == "__main__":
    main()
