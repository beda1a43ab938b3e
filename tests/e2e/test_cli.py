#!/usr/bin/env python3
"""The sluice command's own surface: help, version, unknown commands, usage
errors and their exit codes (repl and status included), and `policy check` over files and directories
(one level down, specs and dot-files skipped, missing paths reported).

Usage: test_cli.py BUILD_DIR SOURCE_DIR
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

from tap import SLOW, check, run

BUILD, SOURCE = sys.argv[1], sys.argv[2]
SLUICE = os.path.join(BUILD, "sluice")
FIXTURES = os.path.join(SOURCE, "tests", "fixtures", "policies")


def sluice(*args):
    p = subprocess.run([SLUICE, *args], capture_output=True, text=True, timeout=30 * SLOW)
    return p.returncode, p.stdout, p.stderr


def test_help_and_version():
    rc, out, _ = sluice("help")
    names = [line.split()[0] for line in out.splitlines()[3:] if line.strip()]
    check(rc == 0 and out.startswith("usage: sluice COMMAND [ARGS]"), "help prints the usage")
    check({"policy", "status", "repl", "simulate", "version", "help"} <= set(names),
          "help lists every command (%s)" % " ".join(names))
    check(sluice("--help") == (0, out, "") and sluice("-h")[1] == out,
          "--help and -h print the same list")
    rc2, out2, _ = sluice()
    check(rc2 == 2 and out2 == out, "no command prints the list and exits 2")
    rc, out, _ = sluice("version")
    check(rc == 0 and re.match(r"^sluice \d+\.\d+\.\d+\n$", out),
          "version prints the version (%r)" % out)
    check(sluice("--version")[1] == out, "--version prints the same")


def test_usage_errors():
    rc, out, err = sluice("frobnicate")
    check(rc == 2 and out == "" and "unknown command 'frobnicate'" in err,
          "an unknown command exits 2 naming it")
    rc, _, err = sluice("policy", "check")
    check(rc == 2 and "usage: sluice policy check" in err, "policy check without a path: usage, 2")
    rc, _, err = sluice("policy", "test")
    check(rc == 2 and "usage: sluice policy test DIR" in err, "policy test without a dir: usage, 2")
    rc, _, err = sluice("policy", "test", "a", "b")
    check(rc == 2 and "usage: sluice policy test DIR" in err, "policy test with two dirs: usage, 2")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_repl_and_status_errors():
    rc, out, err = sluice("repl", "--help")
    check(rc == 0 and out.startswith("usage: sluice repl") and "--offline" in out,
          "repl --help prints its usage on stdout")
    rc, out, err = sluice("repl", "--bogus")
    check(rc == 2 and out == "" and err.startswith("usage: sluice repl"),
          "repl with an unknown flag: usage on stderr, 2")
    rc, _, err = sluice("repl", "--offline")
    check(rc == 2 and "--offline needs --data DIR" in err, "repl --offline without --data is 2")
    tmp = tempfile.mkdtemp(prefix="repl-")
    try:
        missing = os.path.join(tmp, "no.sock")
        rc, _, err = sluice("repl", "--socket", missing)
        check(rc == 1 and "cannot connect to %s: No such file or directory" % missing in err,
              "repl on a missing socket names it (%r)" % err.strip())
        long = os.path.join(tmp, "x" * 200 + ".sock")
        rc, _, err = sluice("repl", "--socket", long)
        check(rc == 1 and "socket path too long (at most 107 bytes)" in err,
              "a socket path over sun_path is refused, not truncated")
        rc, _, err = sluice("repl", "--offline", "--data", tmp)
        check(rc == 1 and "sluice.db" in err, "repl --offline on a dir without a database: 1 (%r)"
              % err.strip()[:80])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    port = free_port()
    rc, _, err = sluice("status", "--url", "127.0.0.1:%d" % port)
    check(rc == 1 and "cannot reach sluiced at 127.0.0.1:%d" % port in err,
          "status with no daemon listening is 1 naming the address")
    rc, _, err = sluice("status", "--url", "[::1]:%d" % port)
    check(rc == 1 and "cannot reach sluiced at [::1]:%d" % port in err,
          "an IPv6 address in brackets is understood (%r)" % err.strip())
    for bad in ("ftp://127.0.0.1:7070", "https://127.0.0.1", "http://", "127.0.0.1:notaport",
                "127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:", "[::1", "[::1]x"):
        rc, _, err = sluice("status", "--url", bad)
        check(rc == 2 and "bad --url '%s'" % bad in err and "HOST[:PORT]" in err,
              "status --url %s is refused before connecting, with the expected form" % bad)
    rc, _, err = sluice("status", "--bogus")
    check(rc == 2 and err.startswith("usage: sluice status"), "status with an unknown flag: 2")
    # something else answering on the port: its answer is shown, exit 1
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def answer():
        c, _ = srv.accept()
        c.recv(4096)
        c.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 12\r\n"
                  b"Connection: close\r\n\r\nnot sluiced\n")
        c.close()

    th = threading.Thread(target=answer, daemon=True)
    th.start()
    rc, _, err = sluice("status", "--url", "127.0.0.1:%d" % srv.getsockname()[1])
    th.join(timeout=10)
    srv.close()
    check(rc == 1 and "answered: not sluiced" in err,
          "a non-200 answer is shown and the exit is 1 (%r)" % err.strip())


def test_policy_check_paths():
    tmp = tempfile.mkdtemp(prefix="policy-check-")
    try:
        os.makedirs(os.path.join(tmp, "guard", "deeper"))
        shutil.copy(os.path.join(FIXTURES, "good.lua"), os.path.join(tmp, "good.lua"))
        shutil.copy(os.path.join(FIXTURES, "good.lua"), os.path.join(tmp, "guard", "one.lua"))
        # not checked: a spec, a dot-file, a non-Lua file, anything two levels down
        for skipped in ("good_spec.lua", ".hidden.lua", "notes.txt",
                        os.path.join("guard", "deeper", "broken.lua")):
            with open(os.path.join(tmp, skipped), "w") as f:
                f.write("this is not Lua (")
        rc, out, err = sluice("policy", "check", tmp)
        check(rc == 0 and out.strip().endswith("2 checked, 0 failed"),
              "a directory: its policies and one level down, specs and others skipped (%r)"
              % out.strip().splitlines()[-1:])
        check(out.count("ok   guard") == 2 and "p99_budget" in out,
              "each checked policy is listed with kind and name")
        shutil.copy(os.path.join(FIXTURES, "syntax_error.lua"), os.path.join(tmp, "guard", "bad.lua"))
        missing = os.path.join(tmp, "missing.lua")
        rc, out, err = sluice("policy", "check", tmp, missing)
        check(rc == 1 and out.strip().endswith("3 checked, 2 failed"),
              "a broken policy and a missing path fail the run (%r)" % out.strip()[-40:])
        check("FAIL %s: No such file or directory" % missing in err and "bad.lua:" in err,
              "each failure is named (%r)" % err[:200])
        rc, out, err = sluice("policy", "check", os.path.join(FIXTURES, "good.lua"))
        check(rc == 0 and out.strip().endswith("1 checked, 0 failed"), "a single file")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run((test_help_and_version, test_usage_errors, test_repl_and_status_errors,
         test_policy_check_paths))
