"""Malformed and hostile HTTP for sluiced, one case per row.

Each case is (name, request bytes, expected) where expected is an HTTP status
the daemon must answer with (and then, for a broken request, close), or
CLOSED: the connection ends without a response (the request never arrived
whole). {auth} in the bytes becomes the bearer token header line, {port} the
daemon's port, {tid} the id of the draft test the runner created, and
{len} the length of what follows the blank line (after the others are
filled in). None of
these may change state: the runner compares the models, the tests and the
events before and after each.

Slow clients (slowloris and friends) are in SLOW: (name, pieces, gap seconds,
expected) where the pieces are sent one by one, gap apart.
"""

CLOSED = "closed"

J = "Content-Type: application/json\r\n"


def post(path, body, extra=""):
    """A whole POST with the token, a JSON type and a correct length."""
    if isinstance(body, str):
        body = body.encode()
    head = "POST %s HTTP/1.1\r\nHost: x\r\n{auth}%s%sContent-Length: {len}\r\n\r\n" % (
        path, J, extra)
    return head.encode() + body


def deep(n):
    return "[" * n + "]" * n


CASES = [
    # -- truncated ------------------------------------------------------------
    ("request line cut, then EOF", b"GET /v1/tes", CLOSED),
    ("headers cut, then EOF", b"POST /v1/models HTTP/1.1\r\nHost: x\r\nContent-Le", CLOSED),
    ("body cut, then EOF", post("/v1/models", '{"id":"cut","version":"v1"}')[:-8], 400),
    ("chunked body cut, then EOF",
     b"POST /v1/models HTTP/1.1\r\nHost: x\r\n{auth}Transfer-Encoding: chunked\r\n\r\n"
     b"1b\r\n{\"id\":\"cut\",\"ver", 411),
    # -- garbage and protocol abuse --------------------------------------------
    ("garbage request line", b"GARBAGE\r\n\r\n", 400),
    ("binary noise", bytes(range(256)) * 4, 400),
    ("HTTP/0.9 request", b"GET /v1/tests\r\n\r\n", 505),
    ("unknown HTTP version", b"GET /v1/tests HTTP/7.3\r\nHost: x\r\n\r\n", 505),
    ("bare LF line endings with a body",
     b"POST /v1/models HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}", 401),
    ("space before the header colon",
     b"GET /v1/tests HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("NUL in a header value", b"GET /v1/tests HTTP/1.1\r\nHost: a\x00b\r\n\r\n", 400),
    ("two Content-Lengths (smuggling)",
     b"POST /v1/models HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 27\r\nContent-Length: 5\r\n"
     b"\r\n{\"id\":\"sm\",\"version\":\"v1\"}", 400),
    ("Content-Length and chunked (smuggling)",
     b"POST /v1/models HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 4\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n1b\r\n{\"id\":\"sm\",\"version\":\"v1\"}\r\n0\r\n\r\n", 400),
    ("negative Content-Length",
     b"POST /v1/models HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: -1\r\n\r\n", 400),
    ("Content-Length past 2^64",
     b"POST /v1/models HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 99999999999999999999999\r\n\r\n",
     400),
    ("chunked body (unsupported)",
     b"POST /v1/models HTTP/1.1\r\nHost: x\r\n{auth}Transfer-Encoding: chunked\r\n\r\n"
     b"1b\r\n{\"id\":\"ch\",\"version\":\"v1\"}\r\n0\r\n\r\n", 411),
    ("unknown method", b"BREW /v1/tests HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("wrong method on a route", b"DELETE /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    ("pipelined garbage after a good request",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n", 200),
    # -- oversize --------------------------------------------------------------
    ("64 KiB header", b"GET /v1/tests HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n",
     431),
    ("100 headers", b"GET /v1/tests HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(100))
     + b"\r\n", 431),
    ("16 KiB URL", b"GET /v1/tests/" + b"a" * 16384 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    ("2 MiB declared body",
     b"POST /v1/models HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 2097152\r\n\r\n", 413),
    ("2 MiB body sent", post("/v1/models", "x" * (2 << 20)), 413),
    ("Expect: 100-continue over the limit",
     b"POST /v1/models HTTP/1.1\r\nHost: x\r\n{auth}Expect: 100-continue\r\n"
     b"Content-Length: 2097152\r\n\r\n", 413),
    ("10,001 results in one batch",
     post("/v1/record", "[" + ",".join(['{"test":"{tid}","variant":"control","ok":true,'
                                         '"latency_ms":1}'] * 10001) + "]"), 413),
    # -- auth ----------------------------------------------------------------
    ("no token", b"POST /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", 401),
    ("empty bearer", b"POST /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \r\n"
     b"Content-Length: 2\r\n\r\n{}", 401),
    ("token prefix only", b"POST /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cre\r\n"
     b"Content-Length: {len}\r\n\r\n{\"id\":\"tok\",\"version\":\"v1\"}", 401),
    ("token with a suffix", b"POST /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cretX"
     b"\r\nContent-Length: {len}\r\n\r\n{\"id\":\"tok\",\"version\":\"v1\"}", 401),
    # -- bodies that are not JSON, or the wrong JSON -----------------------------
    ("not JSON", post("/v1/models", "{not json"), 400),
    ("JSON with trailing garbage", post("/v1/models", '{"id":"tg","version":"v1"} x'), 400),
    ("XML content type", post("/v1/models", "<a/>").replace(b"application/json",
                                                           b"application/xml"), 415),
    ("invalid UTF-8 in a string", post("/v1/models", b'{"id":"\xff\xfe","version":"v1"}'), 422),
    ("overlong UTF-8 encoding of '/'", post("/v1/models", b'{"id":"a\xc0\xafb","version":"v1"}'),
     422),
    ("UTF-16 surrogate escape alone", post("/v1/models", '{"id":"\\ud800","version":"v1"}'), 400),
    ("NUL escape in an id", post("/v1/models", '{"id":"a\\u0000b","version":"v1"}'), 400),
    ("raw NUL byte in an id", post("/v1/models", b'{"id":"a\x00b","version":"v1"}'), 400),
    ("invalid UTF-8 in the path", b"GET /v1/tests/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    ("percent-encoded NUL in the path", b"GET /v1/tests/t%00x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("JSON nested 100,000 deep", post("/v1/models", deep(100000)), 400),
    ("JSON nested 2,000 deep in config",
     post("/v1/models", '{"id":"dp","version":"v1","config":' + deep(2000) + "}"), 400),
    ("params nested 2,000 deep",
     post("/v1/tests", '{"name":"x","model":"ranker","control":"v1","treatment":"v2",'
          '"policies":{"guards":[["threshold",{"value":' + deep(2000) + "}]]}}"), 400),
    ("array where an object belongs", post("/v1/models", '["id","version"]'), 400),
    ("id is a number", post("/v1/models", '{"id":5,"version":"v1"}'), 400),
    ("version is a list", post("/v1/models", '{"id":"m","version":["v1"]}'), 400),
    # /v1/record: a malformed item is 400 like any wrong type (it was 422, against the docs)
    ("ok is a string", post("/v1/record", '{"test":"{tid}","variant":"control","ok":"yes",'
                                          '"latency_ms":1}'), 400),
    ("metrics is a list", post("/v1/record", '{"test":"{tid}","variant":"control","ok":true,'
                                             '"latency_ms":1,"metrics":[1]}'), 400),
    ("a metric value is a string", post("/v1/record", '{"test":"{tid}","variant":"control",'
                                                      '"ok":true,"latency_ms":1,'
                                                      '"metrics":{"clicks":"1"}}'), 400),
    ("an undeclared metric", post("/v1/record", '{"test":"{tid}","variant":"control","ok":true,'
                                                '"latency_ms":1,"metrics":{"nope":1}}'), 422),
    ("unit is an object", post("/v1/route", '{"model":"ranker","unit":{"a":1}}'), 400),
    ("unknown key", post("/v1/models", '{"id":"m","version":"v1","colour":"red"}'), 400),
    ("duplicate keys", post("/v1/models", '{"id":"d1","id":"d2","version":"v1"}'), 400),
    ("empty id", post("/v1/models", '{"id":"","version":"v1"}'), 422),
    ("verb body is a string", post("/v1/tests/{tid}/start", '"now"'), 400),
    ("verb reason is a number", post("/v1/tests/{tid}/start", '{"reason":5}'), 400),
    ("verb with an unknown key", post("/v1/tests/{tid}/start", '{"reason":"x","force":true}'),
     400),
    # -- numbers out of range ----------------------------------------------------
    ("latency 1e309 (infinite)", post("/v1/record", '{"test":"{tid}","variant":"control",'
                                                    '"ok":true,"latency_ms":1e309}'), 422),
    ("latency negative", post("/v1/record", '{"test":"{tid}","variant":"control","ok":true,'
                                            '"latency_ms":-1}'), 422),
    ("traffic 101 %", post("/v1/tests", '{"name":"x","model":"ranker","control":"v1",'
                                        '"treatment":"v2","ramp":[{"at_hours":0,'
                                        '"treatment":101}]}'), 422),
    ("alpha 2", post("/v1/tests", '{"name":"x","model":"ranker","control":"v1","treatment":"v2",'
                                  '"alpha":2}'), 422),
    ("duration -5 hours", post("/v1/tests", '{"name":"x","model":"ranker","control":"v1",'
                                            '"treatment":"v2","duration_hours":-5}'), 422),
    ("sample size 1e300", post("/v1/tests", '{"name":"x","model":"ranker","control":"v1",'
                                            '"treatment":"v2","target_sample_size":1e300}'), 400),
    ("NaN literal", post("/v1/record", '{"test":"{tid}","variant":"control","ok":true,'
                                       '"latency_ms":NaN}'), 400),
    ("events since=-1", b"GET /v1/events?since=-1 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("events limit past 2^64",
     b"GET /v1/events?limit=99999999999999999999999 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("record to a draft test", post("/v1/record", '{"test":"{tid}","variant":"control",'
                                                  '"ok":true,"latency_ms":1}'), 409),
]

SLOW = [
    # A silent client, a slowloris dribbling headers, and a body that stalls:
    # each must be cut off by the request deadline (10 s by default), well
    # before it has sent what it promised.
    ("connect and say nothing", [], 1.0, CLOSED),
    ("slowloris: one header byte per second",
     [bytes([c]) for c in b"GET /v1/tests HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200], 1.0, 408),
    ("body dribbled one byte per second",
     [b"POST /v1/models HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n"
      b"Content-Length: 100\r\n\r\n"] + [b" "] * 99, 1.0, 408),
]
