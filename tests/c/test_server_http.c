/* test_server_http.c - the HTTP/1.1 layer over real sockets on 127.0.0.1:
 * keep-alive, pipelining, routing (404, 405 + Allow, {param}s, the query),
 * limits (413, 431), malformed input (400, 411), timeouts (408, idle, silent
 * connections), Connection: close and HTTP/1.0, back-pressure, the
 * connection cap (503), 200 clients at once, and bearer tokens.
 *
 * Single-threaded: the test steps the server's loop (EVRUN_NOWAIT) while it
 * waits on its client sockets, and parses responses with http-parser. */
#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "tap.h"

#define BIG_N 262144 /* bytes per /big response */
#define NBIG  64     /* pipelined /big requests */

static struct ev_loop *loop;
static struct sl_http_server srv;

struct app {
    int calls;     /* handler calls of any kind */
    int big_calls; /* /big calls */
};
static struct app app;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- handlers ---- */

static int h_hello(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    (void)req;
    ((struct app *)ud)->calls++;
    return sl_http_respond_json(res, 200, "{\"hello\":\"world\"}");
}

static int h_echo(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    ((struct app *)ud)->calls++;
    res->content_type = "text/plain";
    return sl_http_append(res, req->body, req->body_len);
}

static int h_items(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    ((struct app *)ud)->calls++;
    bool post = strcmp(req->method, "POST") == 0;
    return sl_http_respond_json(res, post ? 201 : 200, post ? "{\"created\":true}" : "[]");
}

static int h_verb(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    const char *keys[] = {"name", "flag", "empty", "check"};
    ((struct app *)ud)->calls++;
    int rc = sl_http_appendf(res, "{\"path\":\"%s\",\"id\":", req->path);
    rc |= sl_http_append_json_string(res, sl_http_param(req, "id"));
    rc |= sl_http_appendf(res, ",\"verb\":");
    rc |= sl_http_append_json_string(res, sl_http_param(req, "verb"));
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = sl_http_query(req, keys[i]);
        rc |= sl_http_appendf(res, ",\"%s\":", keys[i]);
        rc |= v ? sl_http_append_json_string(res, v) : sl_http_appendf(res, "null");
    }
    rc |= sl_http_appendf(res, ",\"missing\":%s}", sl_http_query(req, "missing") ? "1" : "null");
    return rc;
}

static int h_err(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    (void)req;
    ((struct app *)ud)->calls++;
    return sl_http_respond_error(res, 422, "bad_input", "field \"%s\" is\nbad\t%c and \\ %s",
                                 "name", 1, "caf\xc3\xa9 \xff");
}

static int h_big(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    char chunk[4096];
    const char *n = sl_http_query(req, "n"), *tag = sl_http_query(req, "tag");
    ((struct app *)ud)->big_calls++;
    memset(chunk, tag ? tag[0] : '?', sizeof chunk);
    res->content_type = "text/plain";
    for (long left = n ? atol(n) : 0; left > 0; left -= (long)sizeof chunk)
        if (sl_http_append(res, chunk, left < (long)sizeof chunk ? (size_t)left : sizeof chunk))
            return -1;
    return 0;
}

static int h_secure(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    ((struct app *)ud)->calls++;
    if (!sl_http_bearer_ok(req, "s3cret"))
        return sl_http_respond_error(res, 401, "unauthorized", "missing or wrong bearer token");
    return sl_http_respond_json(res, 200, "{\"ok\":true}");
}

static int h_fail(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    (void)req;
    (void)res;
    ((struct app *)ud)->calls++;
    return -1;
}

static const struct sl_http_route routes[] = {
    {"GET", "/hello", h_hello},
    {"POST", "/echo", h_echo},
    {"GET", "/items", h_items},
    {"POST", "/items", h_items},
    {"GET", "/v1/tests/{id}/{verb}", h_verb},
    {"POST", "/v1/tests/{id}/{verb}", h_verb},
    {"GET", "/err", h_err},
    {"GET", "/big", h_big},
    {"GET", "/secure", h_secure},
    {"GET", "/fail", h_fail},
};

static struct sl_http_opts base_opts(void)
{
    struct sl_http_opts o;
    sl_http_opts_default(&o);
    o.listen = "127.0.0.1:0";
    o.routes = routes;
    o.nroutes = sizeof routes / sizeof routes[0];
    o.ud = &app;
    return o;
}

static bool start(const struct sl_http_opts *o)
{
    struct sl_err err = {0};
    memset(&app, 0, sizeof app);
    if (sl_http_server_start(&srv, loop, o, &err) == 0)
        return true;
    tap_diag("start failed: %s", err.msg);
    return false;
}

static void pump_ms(int ms)
{
    double end = mono() + ms / 1e3;
    while (mono() < end) {
        ev_run(loop, EVRUN_NOWAIT);
        poll(NULL, 0, 1);
    }
}

/* ---- a client that parses responses with http-parser ---- */

struct resp {
    int status;
    char headers[1024]; /* "\nname: value" lines, names lower-cased */
    char body[4096];    /* the first bytes */
    size_t body_len;
    bool uniform; /* every body byte equals body[0] */
};

struct client {
    int fd;
    http_parser p;
    struct resp *r;
    int n, maxr;
    bool eof, err;
    bool head; /* responses answer HEAD: no body follows */
    int last;  /* 1 after a header name, 2 after a value */
};

static struct resp *cl_cur(http_parser *p)
{
    struct client *c = p->data;
    return c->n < c->maxr ? &c->r[c->n] : NULL;
}

static void cl_hdr_add(struct resp *r, const char *s, size_t n, bool lower)
{
    size_t len = strlen(r->headers);
    for (size_t i = 0; i < n && len + 1 < sizeof r->headers; i++)
        r->headers[len++] = lower && s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] | 0x20) : s[i];
    r->headers[len] = '\0';
}

static int cl_on_begin(http_parser *p)
{
    struct resp *r = cl_cur(p);
    if (r)
        *r = (struct resp){.uniform = true};
    ((struct client *)p->data)->last = 0;
    return 0;
}

static int cl_on_field(http_parser *p, const char *at, size_t n)
{
    struct client *c = p->data;
    struct resp *r = cl_cur(p);
    if (r && c->last != 1)
        cl_hdr_add(r, "\n", 1, false);
    if (r)
        cl_hdr_add(r, at, n, true);
    c->last = 1;
    return 0;
}

static int cl_on_value(http_parser *p, const char *at, size_t n)
{
    struct client *c = p->data;
    struct resp *r = cl_cur(p);
    if (r && c->last != 2)
        cl_hdr_add(r, ": ", 2, false);
    if (r)
        cl_hdr_add(r, at, n, false);
    c->last = 2;
    return 0;
}

static int cl_on_headers(http_parser *p)
{
    struct resp *r = cl_cur(p);
    if (r)
        r->status = (int)p->status_code;
    return ((struct client *)p->data)->head ? 1 : 0;
}

static int cl_on_body(http_parser *p, const char *at, size_t n)
{
    struct resp *r = cl_cur(p);
    for (size_t i = 0; r && i < n; i++) {
        if (r->body_len + i < sizeof r->body - 1)
            r->body[r->body_len + i] = at[i];
        if (at[i] != (r->body_len + i ? r->body[0] : at[0]))
            r->uniform = false;
    }
    if (r)
        r->body_len += n;
    return 0;
}

static int cl_on_complete(http_parser *p)
{
    ((struct client *)p->data)->n++;
    return 0;
}

static const http_parser_settings cl_settings = {
    .on_message_begin = cl_on_begin,
    .on_header_field = cl_on_field,
    .on_header_value = cl_on_value,
    .on_headers_complete = cl_on_headers,
    .on_body = cl_on_body,
    .on_message_complete = cl_on_complete,
};

/* The value of a response header (name in lower case), or NULL. */
static const char *hdr(const struct resp *r, const char *name)
{
    static char v[256];
    char key[64];
    snprintf(key, sizeof key, "\n%s: ", name);
    const char *p = strstr(r->headers, key);
    if (!p)
        return NULL;
    p += strlen(key);
    size_t n = strcspn(p, "\n");
    snprintf(v, sizeof v, "%.*s", (int)n, p);
    return v;
}

static struct client *cl_open_buf(int maxr, int rcvbuf)
{
    struct client *c = calloc(1, sizeof *c);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    c->r = calloc((size_t)maxr, sizeof *c->r);
    c->maxr = maxr;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0)
        c->err = true;
    http_parser_init(&c->p, HTTP_RESPONSE);
    c->p.data = c;
    return c;
}

static struct client *cl_open(int maxr)
{
    return cl_open_buf(maxr, 0);
}

static void cl_close(struct client *c)
{
    close(c->fd);
    free(c->r);
    free(c);
}

/* Read what has arrived, without waiting. */
static void cl_poll(struct client *c)
{
    char buf[65536];
    while (!c->eof && !c->err) {
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0 && http_parser_execute(&c->p, &cl_settings, buf, (size_t)n) != (size_t)n)
            c->err = true;
        if (n == 0)
            c->eof = true;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            c->err = true; /* ECONNRESET */
        if (n <= 0)
            return;
    }
}

/* Step the server and read until c has nresp responses or ms pass. */
static bool cl_wait(struct client *c, int nresp, int ms)
{
    double end = mono() + ms / 1e3;
    while (c->n < nresp && !c->eof && !c->err && mono() < end) {
        ev_run(loop, EVRUN_NOWAIT);
        cl_poll(c);
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        poll(&pfd, 1, 1);
    }
    return c->n >= nresp;
}

/* Step the server until the server closes c (EOF or reset), or ms pass. */
static bool cl_wait_eof(struct client *c, int ms)
{
    double end = mono() + ms / 1e3;
    while (!c->eof && !c->err && mono() < end) {
        ev_run(loop, EVRUN_NOWAIT);
        cl_poll(c);
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        poll(&pfd, 1, 1);
    }
    return c->eof || c->err;
}

static bool cl_send(struct client *c, const char *data, size_t len)
{
    double end = mono() + 5;
    size_t off = 0;
    while (off < len && mono() < end) {
        ssize_t n = send(c->fd, data + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return false;
        off += n > 0 ? (size_t)n : 0;
        ev_run(loop, EVRUN_NOWAIT);
    }
    return off == len;
}

static bool cl_sends(struct client *c, const char *s)
{
    return cl_send(c, s, strlen(s));
}

/* One request on a fresh connection; the client is returned for checks. */
static struct client *one_shot(const char *request)
{
    struct client *c = cl_open(2);
    cl_sends(c, request);
    cl_wait(c, 1, 2000);
    return c;
}

/* ---- tests ---- */

static void test_keepalive_serves_three_requests_on_one_connection(void)
{
    struct sl_http_opts o = base_opts();
    if (!start(&o))
        return;
    struct client *c = cl_open(4);
    for (int i = 0; i < 3; i++) {
        cl_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        ok(cl_wait(c, i + 1, 2000), "keep-alive: response %d arrives", i + 1);
    }
    is_int(c->r[2].status, 200, "keep-alive: third answer is 200");
    is_str(c->r[2].body, "{\"hello\":\"world\"}", "keep-alive: third body");
    is_str(hdr(&c->r[2], "content-type"), "application/json", "keep-alive: JSON type");
    is_str(hdr(&c->r[2], "content-length"), "17", "keep-alive: Content-Length");
    ok(hdr(&c->r[2], "connection") == NULL && !c->eof, "keep-alive: connection stays open");
    is_int((long long)srv.stats.accepted, 1, "keep-alive: one connection carried all three");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_pipelined_requests_are_answered_in_order(void)
{
    struct sl_http_opts o = base_opts();
    if (!start(&o))
        return;
    struct client *c = cl_open(4);
    cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfirst"
                "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nsecond"
                "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    ok(cl_wait(c, 3, 2000), "pipelining: three responses to one write");
    is_str(c->r[0].body, "first", "pipelining: first answer first");
    is_str(c->r[1].body, "second", "pipelining: second answer second");
    is_str(c->r[2].body, "{\"hello\":\"world\"}", "pipelining: third answer third");
    is_str(hdr(&c->r[0], "content-type"), "text/plain", "pipelining: handler's content type");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_request_sent_in_tiny_pieces_is_parsed(void)
{
    struct sl_http_opts o = base_opts();
    const char *req = "GET /v1/tests/abc/start?name=x HTTP/1.1\r\nHost: t\r\n"
                      "X-Long-Header-Name: some value\r\n\r\n";
    if (!start(&o))
        return;
    struct client *c = cl_open(2);
    for (size_t i = 0; i < strlen(req); i += 3) {
        cl_send(c, req + i, strlen(req + i) < 3 ? strlen(req + i) : 3);
        pump_ms(1);
    }
    ok(cl_wait(c, 1, 2000), "pieces: a request sent 3 bytes at a time is answered");
    ok(strstr(c->r[0].body, "\"id\":\"abc\",\"verb\":\"start\",\"name\":\"x\"") != NULL,
       "pieces: target reassembled across reads (%s)", c->r[0].body);
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_unknown_path_is_404_and_connection_survives(void)
{
    struct sl_http_opts o = base_opts();
    if (!start(&o))
        return;
    struct client *c = one_shot("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    is_int(c->r[0].status, 404, "404: unknown path");
    ok(strstr(c->r[0].body, "\"code\":\"not_found\"") != NULL, "404: error code not_found");
    cl_sends(c, "GET /hello HTTP/1.1\r\n\r\n");
    ok(cl_wait(c, 2, 2000) && c->r[1].status == 200, "404: same connection serves the next");
    cl_close(c);
    const char *misses[] = {"/v1/tests//start", "/hello/extra", "/v1/tests/a/b/c", "/hell"};
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
        char req[128];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n\r\n", misses[i]);
        c = one_shot(req);
        is_int(c->r[0].status, 404, misses[i]);
        cl_close(c);
    }
    sl_http_server_stop(&srv);
}

static void test_wrong_method_is_405_with_allow(void)
{
    struct sl_http_opts o = base_opts();
    if (!start(&o))
        return;
    struct client *c = one_shot("PUT /items HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    is_int(c->r[0].status, 405, "405: PUT on a GET/POST path");
    is_str(hdr(&c->r[0], "allow"), "GET, HEAD, POST", "405: Allow lists every method");
    ok(strstr(c->r[0].body, "method_not_allowed") != NULL, "405: error code");
    cl_close(c);
    c = one_shot("DELETE /v1/tests/7/start HTTP/1.1\r\n\r\n");
    is_str(hdr(&c->r[0], "allow"), "GET, HEAD, POST", "405: Allow for a {param} route");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_head_sends_headers_without_body(void)
{
    struct sl_http_opts o = base_opts();
    if (!start(&o))
        return;
    struct client *c = cl_open(4);
    c->head = true;
    cl_sends(c, "HEAD /hello HTTP/1.1\r\n\r\n");
    ok(cl_wait(c, 1, 2000) && c->r[0].status == 200, "HEAD: answered by the GET route");
    is_str(hdr(&c->r[0], "content-length"), "17", "HEAD: Content-Length of the GET body");
    c->head = false;
    cl_sends(c, "GET /hello HTTP/1.1\r\n\r\n");
    ok(cl_wait(c, 2, 2000) && strcmp(c->r[1].body, "{\"hello\":\"world\"}") == 0,
       "HEAD: no body bytes were sent (the next response parses)");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_body_over_limit_is_413_before_the_body_is_read(void)
{
    struct sl_http_opts o = base_opts();
    static char req[70000];
    o.max_body_bytes = 1024;
    if (!start(&o))
        return;
    int n = snprintf(req, sizeof req,
                     "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n");
    memset(req + n, 'a', 65536);
    struct client *c = cl_open(2);
    cl_send(c, req, (size_t)n + 65536); /* 64 KiB of a 10 MB body */
    ok(cl_wait(c, 1, 2000), "413: answered with the body still unsent");
    is_int(c->r[0].status, 413, "413: status");
    ok(strstr(c->r[0].body, "\"code\":\"body_too_large\"") != NULL, "413: error code (%s)",
       c->r[0].body);
    is_str(hdr(&c->r[0], "connection"), "close", "413: Connection: close");
    ok(cl_wait_eof(c, 2000) && c->eof && !c->err,
       "413: closed with a FIN, not a reset, though the client was still sending");
    is_int(app.calls, 0, "413: the handler never ran");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_huge_header_is_431(void)
{
    struct sl_http_opts o = base_opts();
    static char req[16384];
    if (!start(&o))
        return;
    int n = snprintf(req, sizeof req, "GET /hello HTTP/1.1\r\nX-Big: ");
    memset(req + n, 'h', 10000);
    memcpy(req + n + 10000, "\r\n\r\n", 5);
    struct client *c = one_shot(req);
    is_int(c->r[0].status, 431, "431: a 10000-byte header over the 8192 limit");
    ok(strstr(c->r[0].body, "headers_too_large") != NULL, "431: error code");
    ok(cl_wait_eof(c, 2000), "431: connection closed");
    cl_close(c);
    n = snprintf(req, sizeof req, "GET /hello HTTP/1.1\r\n");
    for (int i = 0; i < SL_HTTP_MAX_HEADERS + 1; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "X-H%d: v\r\n", i);
    snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    c = one_shot(req);
    is_int(c->r[0].status, 431, "431: more than SL_HTTP_MAX_HEADERS headers");
    cl_close(c);
    is_int(app.calls, 0, "431: the handler never ran");
    sl_http_server_stop(&srv);
}

static void test_garbage_is_400_with_the_parser_error_then_close(void)
{
    struct sl_http_opts o = base_opts();
    if (!start(&o))
        return;
    struct client *c = one_shot("\x01\x02 garbage\r\n\r\n");
    is_int(c->r[0].status, 400, "400: garbage request line");
    ok(strstr(c->r[0].body, "HPE_INVALID_METHOD") != NULL, "400: names the parser error (%s)",
       c->r[0].body);
    ok(cl_wait_eof(c, 2000), "400: connection closed");
    cl_close(c);
    c = one_shot("GET /hello HTTP/1.1\r\nBad Header\r\n\r\n");
    is_int(c->r[0].status, 400, "400: header without a colon");
    ok(strstr(c->r[0].body, "HPE_INVALID_HEADER_TOKEN") != NULL, "400: parser error name (%s)",
       c->r[0].body);
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_chunked_body_is_411(void)
{
    struct sl_http_opts o = base_opts();
    if (!start(&o))
        return;
    struct client *c = one_shot("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "5\r\nhello\r\n0\r\n\r\n");
    is_int(c->r[0].status, 411, "411: chunked request body refused");
    ok(strstr(c->r[0].body, "send Content-Length") != NULL, "411: says what to do (%s)",
       c->r[0].body);
    ok(cl_wait_eof(c, 2000), "411: connection closed");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_truncated_request_gets_408_after_request_timeout(void)
{
    struct sl_http_opts o = base_opts();
    o.request_timeout_ms = 150;
    if (!start(&o))
        return;
    struct client *c = cl_open(2);
    double t0 = mono();
    cl_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n"); /* no blank line: never finished */
    ok(cl_wait(c, 1, 3000), "408: a response comes");
    double dt = mono() - t0;
    is_int(c->r[0].status, 408, "408: status");
    ok(dt >= 0.14 && dt < 1.5, "408: after the request timeout (%.3f s)", dt);
    ok(cl_wait_eof(c, 2000), "408: connection closed");
    is_int(app.calls, 0, "408: the handler never ran");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_idle_keepalive_connection_is_closed_after_idle_timeout(void)
{
    struct sl_http_opts o = base_opts();
    o.idle_timeout_ms = 200;
    if (!start(&o))
        return;
    double t0 = mono(); /* the server's idle clock starts after this */
    struct client *c = one_shot("GET /hello HTTP/1.1\r\n\r\n");
    ok(c->n == 1 && c->r[0].status == 200, "idle: first request served");
    ok(cl_wait_eof(c, 3000), "idle: server closes the idle connection");
    double dt = mono() - t0;
    ok(dt >= 0.19 && dt < 1.5, "idle: after the idle timeout (%.3f s)", dt);
    is_int(c->n, 1, "idle: closed silently, no response");
    pump_ms(5);
    is_int(srv.nconns, 0, "idle: server dropped the connection");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_activity_postpones_the_idle_timeout(void)
{
    struct sl_http_opts o = base_opts();
    o.idle_timeout_ms = 300;
    o.request_timeout_ms = 300;
    if (!start(&o))
        return;
    struct client *c = cl_open(8);
    for (int i = 0; i < 6; i++) {
        cl_sends(c, "GET /hello HTTP/1.1\r\n\r\n");
        cl_wait(c, i + 1, 1000);
        pump_ms(100);
    }
    ok(c->n == 6 && !c->eof && !c->err,
       "idle: six requests 100 ms apart outlive a 300 ms idle timeout (%d answers)", c->n);
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_client_that_stops_reading_is_dropped(void)
{
    struct sl_http_opts o = base_opts();
    o.idle_timeout_ms = 200;
    if (!start(&o))
        return;
    struct client *c = cl_open_buf(1, 16384);
    double t0 = mono(); /* the last write progress comes after this */
    cl_sends(c, "GET /big?n=16777216&tag=z HTTP/1.1\r\n\r\n");
    while (srv.nconns > 0 && mono() < t0 + 3)
        pump_ms(1);
    double dt = mono() - t0;
    ok(srv.nconns == 0 && app.big_calls == 1 && dt >= 0.19 && dt < 2,
       "stalled: a client not reading a 16 MiB answer is dropped after the idle timeout "
       "(%.3f s)",
       dt);
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_silent_new_connection_is_closed_after_request_timeout(void)
{
    struct sl_http_opts o = base_opts();
    o.request_timeout_ms = 150;
    if (!start(&o))
        return;
    struct client *c = cl_open(1);
    double t0 = mono();
    ok(cl_wait_eof(c, 3000), "silent: a connection that sends nothing is closed");
    double dt = mono() - t0;
    ok(dt >= 0.13 && dt < 1.5, "silent: after the request timeout, not the idle one (%.3f s)", dt);
    is_int(c->n, 0, "silent: without a response");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_connection_close_is_honoured(void)
{
    struct sl_http_opts o = base_opts();
    if (!start(&o))
        return;
    struct client *c = cl_open(4);
    cl_sends(c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    ok(cl_wait(c, 1, 2000) && c->r[0].status == 200, "close: request answered");
    is_str(hdr(&c->r[0], "connection"), "close", "close: response says Connection: close");
    ok(cl_wait_eof(c, 2000), "close: server closes");
    is_int(c->n, 1, "close: the request after it is not answered");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_http10_closes_unless_keepalive_is_asked(void)
{
    struct sl_http_opts o = base_opts();
    if (!start(&o))
        return;
    struct client *c = one_shot("GET /hello HTTP/1.0\r\n\r\n");
    ok(c->n == 1 && cl_wait_eof(c, 2000), "1.0: answered, then closed");
    cl_close(c);
    c = cl_open(4);
    for (int i = 0; i < 2; i++) {
        cl_sends(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        cl_wait(c, i + 1, 2000);
    }
    is_int(c->n, 2, "1.0 keep-alive: two answers on one connection");
    is_str(hdr(&c->r[1], "connection"), "keep-alive", "1.0 keep-alive: says keep-alive");
    ok(!c->eof, "1.0 keep-alive: connection open");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_path_params_and_query_are_decoded(void)
{
    struct sl_http_opts o = base_opts();
    if (!start(&o))
        return;
    struct client *c = one_shot("GET /v1/tests/t%2D1%20x/start?name=a%20b+c&flag&empty="
                                "&check=%E2%9C%93&name=second HTTP/1.1\r\n\r\n");
    is_int(c->r[0].status, 200, "params: route with two {param}s matched");
    is_str(c->r[0].body,
           "{\"path\":\"/v1/tests/t%2D1%20x/start\",\"id\":\"t-1 x\",\"verb\":\"start\","
           "\"name\":\"a b c\",\"flag\":\"\",\"empty\":\"\",\"check\":\"\xe2\x9c\x93\","
           "\"missing\":null}",
           "params: %xx and + decoded, raw path kept, first duplicate wins");
    cl_close(c);
    c = one_shot("GET /v1/tests/x/y?name=%zz HTTP/1.1\r\n\r\n");
    is_int(c->r[0].status, 400, "query: a malformed %-escape is a 400");
    cl_close(c);
    c = one_shot("GET /v1/tests/a%00b/y HTTP/1.1\r\n\r\n");
    is_int(c->r[0].status, 400, "params: %00 in a segment is a 400");
    cl_close(c);
    c = one_shot("GET /v1/tests/a+b/y HTTP/1.1\r\n\r\n");
    ok(strstr(c->r[0].body, "\"id\":\"a+b\"") != NULL, "params: '+' stays '+' in a path");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_error_json_escapes_quotes_newlines_and_bad_utf8(void)
{
    struct sl_http_opts o = base_opts();
    if (!start(&o))
        return;
    struct client *c = one_shot("GET /err HTTP/1.1\r\n\r\n");
    is_int(c->r[0].status, 422, "error: handler status kept");
    is_str(c->r[0].body,
           "{\"error\":{\"code\":\"bad_input\",\"message\":\"field \\\"name\\\" is\\nbad\\t"
           "\\u0001 and \\\\ caf\xc3\xa9 \\ufffd\"}}",
           "error: quotes, newline, tab, control char, backslash escaped; bad UTF-8 replaced");
    cl_close(c);
    c = one_shot("GET /fail HTTP/1.1\r\n\r\n");
    is_int(c->r[0].status, 500, "error: a handler returning -1 is a 500");
    ok(strstr(c->r[0].body, "\"code\":\"internal\"") != NULL, "error: generic internal body");
    is_int((long long)srv.stats.failures, 1, "error: counted as a failure");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_expect_100_continue_is_answered(void)
{
    struct sl_http_opts o = base_opts();
    if (!start(&o))
        return;
    struct client *c = cl_open(4);
    cl_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    ok(cl_wait(c, 1, 2000) && c->r[0].status == 100, "expect: 100 Continue before the body");
    cl_sends(c, "hello");
    ok(cl_wait(c, 2, 2000) && strcmp(c->r[1].body, "hello") == 0, "expect: then the answer");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_many_connections_at_once(void)
{
    enum { N = 200 };
    struct client *cs[N];
    struct sl_http_opts o = base_opts();
    int done = 0;
    if (!start(&o))
        return;
    for (int i = 0; i < N; i++)
        cs[i] = cl_open(1);
    for (int i = 0; i < N; i++)
        cl_sends(cs[i], "GET /hello HTTP/1.1\r\n\r\n");
    for (double end = mono() + 5; done < N && mono() < end;) {
        ev_run(loop, EVRUN_NOWAIT);
        done = 0;
        for (int i = 0; i < N; i++) {
            cl_poll(cs[i]);
            done += cs[i]->n == 1 && cs[i]->r[0].status == 200;
        }
    }
    is_int(done, N, "many: 200 concurrent connections all answered");
    is_int(srv.nconns, N, "many: all 200 open at once");
    for (int i = 0; i < N; i++)
        cl_close(cs[i]);
    for (double end = mono() + 2; srv.nconns && mono() < end;)
        pump_ms(1);
    is_int(srv.nconns, 0, "many: server notices every close");
    sl_http_server_stop(&srv);
}

static void test_connections_over_the_cap_get_503(void)
{
    struct sl_http_opts o = base_opts();
    o.max_connections = 2;
    if (!start(&o))
        return;
    struct client *a = cl_open(2), *b = cl_open(2);
    for (double end = mono() + 2; srv.nconns < 2 && mono() < end;)
        pump_ms(1);
    struct client *c = one_shot("GET /hello HTTP/1.1\r\n\r\n");
    is_int(c->r[0].status, 503, "cap: third connection is answered 503");
    ok(strstr(c->r[0].body, "\"code\":\"unavailable\"") != NULL, "cap: JSON error body");
    ok(cl_wait_eof(c, 2000), "cap: and closed");
    is_int((long long)srv.stats.refused, 1, "cap: counted as refused");
    cl_sends(a, "GET /hello HTTP/1.1\r\n\r\n");
    ok(cl_wait(a, 1, 2000) && a->r[0].status == 200, "cap: connections within it still work");
    cl_close(a);
    cl_close(b);
    cl_close(c);
    sl_http_server_stop(&srv);
}

/* 64 pipelined 256 KiB answers that the client does not read: the server
 * must stop parsing (and so stop calling handlers) once its unsent output
 * passes 1 MiB, then answer the rest, in order, once the client reads. */
static void test_unread_output_pauses_parsing_until_drained(void)
{
    static const char tags[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static char req[NBIG * 64];
    struct sl_http_opts o = base_opts();
    size_t len = 0;
    int good = 0;
    if (!start(&o))
        return;
    for (int i = 0; i < NBIG; i++)
        len += (size_t)snprintf(req + len, sizeof req - len,
                                "GET /big?n=%d&tag=%c HTTP/1.1\r\n\r\n", BIG_N, tags[i]);
    struct client *c = cl_open_buf(NBIG, 16384);
    cl_send(c, req, len);
    pump_ms(300);
    int stalled = app.big_calls;
    ok(stalled > 0 && stalled < NBIG, "back-pressure: parsing stopped at %d of %d", stalled, NBIG);
    pump_ms(100);
    is_int(app.big_calls, stalled, "back-pressure: and stays stopped while nothing is read");
    ok(cl_wait(c, NBIG, 10000), "back-pressure: all %d answers arrive once read", NBIG);
    for (int i = 0; i < NBIG; i++)
        good += c->r[i].body_len == BIG_N && c->r[i].uniform && c->r[i].body[0] == tags[i];
    is_int(good, NBIG, "back-pressure: every answer whole and in order");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_bearer_token_check(void)
{
    struct sl_http_kv h = {"authorization", "Bearer s3cret"};
    struct sl_http_request req = {.headers = &h, .nheaders = 1};
    ok(sl_http_bearer_ok(&req, "s3cret"), "bearer: exact token");
    ok(!sl_http_bearer_ok(&req, "s3cre"), "bearer: a prefix of the token is not the token");
    ok(!sl_http_bearer_ok(&req, "s3cretX"), "bearer: a longer token is not the token");
    ok(!sl_http_bearer_ok(&req, "") && !sl_http_bearer_ok(&req, NULL), "bearer: empty never");
    h.value = "bearer   s3cret \t";
    ok(sl_http_bearer_ok(&req, "s3cret"), "bearer: scheme in any case, spaces trimmed");
    h.value = "Basic s3cret";
    ok(!sl_http_bearer_ok(&req, "s3cret"), "bearer: other schemes refused");
    req.nheaders = 0;
    ok(!sl_http_bearer_ok(&req, "s3cret"), "bearer: no header refused");
    struct sl_http_opts o = base_opts();
    if (!start(&o))
        return;
    struct client *c = one_shot("GET /secure HTTP/1.1\r\n\r\n");
    is_int(c->r[0].status, 401, "bearer: route without a token is 401");
    cl_sends(c, "GET /secure HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n\r\n");
    ok(cl_wait(c, 2, 2000) && c->r[1].status == 200, "bearer: route with the token is 200");
    cl_close(c);
    sl_http_server_stop(&srv);
}

static void test_start_rejects_bad_options(void)
{
    struct sl_http_opts o = base_opts();
    struct sl_err err = {0};
    const char *bad[] = {"/v1/{id", "/v1/x{id}", "v1/tests", "/v1/{}/x", "/a/{b}c"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sl_http_route r = {"GET", bad[i], h_hello};
        o.routes = &r;
        o.nroutes = 1;
        ok(sl_http_server_start(&srv, loop, &o, &err) < 0 && err.code == SL_EINVAL,
           "options: pattern \"%s\" refused (%s)", bad[i], err.msg);
    }
    o = base_opts();
    o.listen = "127.0.0.1";
    ok(sl_http_server_start(&srv, loop, &o, &err) < 0 && err.code == SL_EINVAL,
       "options: listen without a port refused (%s)", err.msg);
    o.listen = "::1:0";
    ok(sl_http_server_start(&srv, loop, &o, &err) < 0, "options: IPv6 needs brackets");
    o.listen = "127.0.0.1:0";
    o.max_body_bytes = 0;
    ok(sl_http_server_start(&srv, loop, &o, &err) < 0, "options: zero limit refused");
    ok(sl_http_addr_is_loopback("127.0.0.1:7070") && sl_http_addr_is_loopback("[::1]:1") &&
           sl_http_addr_is_loopback("localhost:80"),
       "options: loopback addresses recognised");
    ok(!sl_http_addr_is_loopback("0.0.0.0:7070") && !sl_http_addr_is_loopback("10.1.2.3:80") &&
           !sl_http_addr_is_loopback("junk"),
       "options: other addresses are not loopback");
}

static void test_ipv6_loopback_listens(void)
{
    struct sl_http_opts o = base_opts();
    struct sl_err err = {0};
    o.listen = "[::1]:0";
    if (sl_http_server_start(&srv, loop, &o, &err) < 0) {
        ok(true, "ipv6: [::1] # SKIP no IPv6 loopback here (%s)", err.msg);
        return;
    }
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6,
                             .sin6_port = htons((uint16_t)srv.port),
                             .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    ok(srv.port > 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0,
       "ipv6: [::1]:0 bound to port %d and accepts", sl_http_server_port(&srv));
    close(fd);
    sl_http_server_stop(&srv);
}

int main(void)
{
    loop = ev_loop_new(EVFLAG_AUTO);
    test_keepalive_serves_three_requests_on_one_connection();
    test_pipelined_requests_are_answered_in_order();
    test_request_sent_in_tiny_pieces_is_parsed();
    test_unknown_path_is_404_and_connection_survives();
    test_wrong_method_is_405_with_allow();
    test_head_sends_headers_without_body();
    test_body_over_limit_is_413_before_the_body_is_read();
    test_huge_header_is_431();
    test_garbage_is_400_with_the_parser_error_then_close();
    test_chunked_body_is_411();
    test_truncated_request_gets_408_after_request_timeout();
    test_idle_keepalive_connection_is_closed_after_idle_timeout();
    test_activity_postpones_the_idle_timeout();
    test_silent_new_connection_is_closed_after_request_timeout();
    test_client_that_stops_reading_is_dropped();
    test_connection_close_is_honoured();
    test_http10_closes_unless_keepalive_is_asked();
    test_path_params_and_query_are_decoded();
    test_error_json_escapes_quotes_newlines_and_bad_utf8();
    test_expect_100_continue_is_answered();
    test_many_connections_at_once();
    test_connections_over_the_cap_get_503();
    test_unread_output_pauses_parsing_until_drained();
    test_bearer_token_check();
    test_start_rejects_bad_options();
    test_ipv6_loopback_listens();
    ev_loop_destroy(loop);
    return tap_done();
}
