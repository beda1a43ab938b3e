"""A sluiced under test, shared by the end-to-end and fault scripts.

Daemon(build) starts BUILD/sluiced on a temporary data dir (or the one given)
and an ephemeral loopback port, keeps draining its stderr into
DATA/sluiced.log, talks HTTP to it, and stops it by its PID. Also: register the
two-version model most tests use, page through the events, evaluate Lua over
the admin socket, and read a process's resident set size; wait_until polls a
condition. Timeouts scale with tap.SLOW (sanitizer builds)."""
import http.client
import json
import os
import re
import select
import socket
import subprocess
import tempfile
import threading
import time

from tap import SLOW

TICK_MS, CHECKPOINT_MS = 100, 200  # what every Daemon passes to sluiced


def wait_until(pred, seconds):
    """pred() until it is truthy (returned) or seconds (times tap.SLOW) pass (None)."""
    deadline = time.time() + seconds * SLOW
    while True:
        got = pred()
        if got or time.time() >= deadline:
            return got or None
        time.sleep(0.05)


class Daemon:
    def __init__(self, build, data=None, extra=(), policies=None):
        self.data = data or tempfile.mkdtemp(prefix="sluiced-")
        args = [os.path.join(build, "sluiced"), "--listen", "127.0.0.1:0", "--data", self.data,
                "--tick-ms", str(TICK_MS), "--checkpoint-ms", str(CHECKPOINT_MS),
                "--log-level", "info"]
        if policies:
            args += ["--policies", policies]
        self.log = open(os.path.join(self.data, "sluiced.log"), "ab")
        self.proc = subprocess.Popen(list(args) + list(extra), stderr=subprocess.PIPE)
        self.port = None
        deadline = time.time() + 10 * SLOW
        # select before each line: a daemon that hangs silently must not
        # outlast the deadline
        while self.port is None and select.select([self.proc.stderr], [], [],
                                                  max(deadline - time.time(), 0))[0]:
            line = self.proc.stderr.readline().decode()
            if not line:
                break
            self.log.write(line.encode())
            m = re.search(r"\(port (\d+)\)", line)
            if m:
                self.port = int(m.group(1))
        if self.port is None:
            self.proc.kill()  # the caller never gets this Daemon to stop it
            self.proc.wait()
            self.log.close()
            raise RuntimeError("sluiced did not start: " + open(self.log.name).read())
        # keep draining stderr so the daemon never blocks on a full pipe
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.write(line)
            self.log.flush()

    def request(self, method, path, body=None, headers=None, raw=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout * SLOW)
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        text = r.read().decode()
        conn.close()
        try:
            return r.status, json.loads(text) if text else None
        except ValueError:
            return r.status, text

    def events(self, since=0):
        """Every event after seq since, paging through /v1/events."""
        while True:
            s, body = self.request("GET", "/v1/events?since=%d&limit=1000" % since)
            if s != 200:
                raise RuntimeError("GET /v1/events: %s %s" % (s, body))
            if not body["events"]:
                return
            yield from body["events"]
            since = body["events"][-1]["seq"]

    def kill(self, sig):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=15 * SLOW)

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        return rss_kib(self.proc.pid)

    def socket_path(self):
        return os.path.join(self.data, "sluiced.sock")


def setup_models(d, headers=None):
    for v in ("v1", "v2"):
        s, _ = d.request("POST", "/v1/models", {"id": "ranker", "version": v}, headers=headers)
        if s != 201:
            return False
    return True


def rss_kib(pid):
    """VmRSS of a process in KiB (Linux /proc)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


class Admin:
    """One REPL session over the admin socket: frames are "<length>\\n<bytes>"
    each way; a reply is JSON with the chunk's printed output in "out"."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout * SLOW)
        self.sock.connect(path)
        self.buf = b""

    def eval(self, src):
        data = src.encode()
        self.sock.sendall(b"%d\n" % len(data) + data)
        while b"\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\n", 1)
        while len(self.buf) < int(head):
            self._more()
        body, self.buf = self.buf[:int(head)], self.buf[int(head):]
        return json.loads(body)

    def _more(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("admin socket closed")
        self.buf += chunk

    def close(self):
        self.sock.close()
