/* http.h - a small HTTP/1.1 server on a libev loop.
 *
 * Provides struct sl_http_server: a listening socket, keep-alive connections
 * with pipelining (answered in order), Content-Length request bodies, limits
 * on header and body size (431/413), a slow-client deadline (408), an idle
 * keep-alive deadline, a connection cap (503), buffered non-blocking writes
 * with back-pressure, and a route table whose patterns have literal and
 * {param} segments (404/405 + Allow). Handlers run synchronously on the loop
 * thread and fill a struct sl_http_response; JSON error bodies have the shape
 * {"error":{"code":"...","message":"..."}}.
 *
 * Uses loop.h (libev), err.h, and http-parser (only inside http.c). Knows
 * nothing of tests, models or policies: it talks back to its caller only
 * through the route handlers and their `ud`. */
#ifndef SL_HTTP_H
#define SL_HTTP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "loop.h"

#define SL_HTTP_MAX_HEADERS 64 /* more request headers than this: 431 */
#define SL_HTTP_MAX_QUERY   32 /* query parameters past this are ignored */
#define SL_HTTP_MAX_PARAMS  8  /* {param} segments per route pattern */

/* A growable byte buffer; `failed` is set (and sticks) when growth fails. */
struct sl_http_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
};

/* One name/value pair of a request: a header, a query parameter or a path
 * parameter. Both strings are NUL-terminated and decoded. */
struct sl_http_kv {
    const char *name;
    const char *value;
};

/* A parsed request. Every pointer is borrowed from the connection and valid
 * only during the handler call. */
struct sl_http_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* raw (not decoded) path, without the query: "/v1/tests/7" */
    const char *query;  /* raw query string without '?', or "" */
    const char *body;   /* body bytes, NUL-terminated for convenience; "" if none */
    size_t body_len;
    bool keep_alive; /* the client wants the connection kept open */
    int http_minor;  /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    /* Use the lookup functions below rather than these arrays. */
    const struct sl_http_kv *headers; /* names as sent; lookups ignore case */
    size_t nheaders;
    const struct sl_http_kv *queries; /* percent- and '+'-decoded */
    size_t nqueries;
    const struct sl_http_kv *params; /* {param} values, percent-decoded */
    size_t nparams;
};

/* The answer a handler builds. Reset before each handler call: status 200,
 * content type application/json, empty body and extra headers. */
struct sl_http_response {
    int status;
    const char *content_type;   /* borrowed: a literal or something that outlives the call */
    bool close;                 /* close the connection after this response */
    struct sl_http_buf body;    /* append with the sl_http_append* helpers */
    struct sl_http_buf headers; /* extra "Name: value\r\n" lines; use sl_http_add_header */
};

/* A route handler. ud is the server's opts.ud. Returns 0 when res holds the
 * answer (any status: a 4xx is a normal answer), -1 on an internal failure,
 * which the server turns into a 500 with a generic JSON error body. */
typedef int (*sl_http_handler_fn)(void *ud, const struct sl_http_request *req,
                                  struct sl_http_response *res);

/* One row of the route table. pattern: '/'-separated segments, each either a
 * literal (matched byte for byte against the raw path) or "{name}" (matches
 * one non-empty segment, available as sl_http_param(req, "name")). A GET
 * route also answers HEAD (the body is then not sent). */
struct sl_http_route {
    const char *method;
    const char *pattern;
    sl_http_handler_fn fn;
};

struct sl_http_opts {
    const char *listen;                 /* "127.0.0.1:7070", "[::1]:7070"; port 0 = ephemeral */
    size_t max_header_bytes;            /* request line + headers; default 8192, over it: 431 */
    size_t max_body_bytes;              /* default 1 MiB, over it: 413 */
    unsigned idle_timeout_ms;           /* keep-alive idle and stalled writes; default 30000 */
    unsigned request_timeout_ms;        /* a request must arrive whole within this; default 10000 */
    unsigned max_connections;           /* default 1024; beyond it: 503 and close */
    const struct sl_http_route *routes; /* borrowed, must outlive the server */
    size_t nroutes;
    void *ud; /* passed to every handler */
};

/* Counters, for /metrics and tests. */
struct sl_http_stats {
    unsigned long accepted; /* connections accepted and served */
    unsigned long refused;  /* connections answered 503 (over max_connections) */
    unsigned long requests; /* requests dispatched (including 404/405) */
    unsigned long rejected; /* requests refused by the HTTP layer: 400/408/411/413/431 */
    unsigned long timeouts; /* 408s sent */
    unsigned long failures; /* 500s: a handler returned -1 or memory ran out */
};

struct sl_http_conn; /* one client connection, private to http.c */

/* Lives in caller memory; never move or free it while started. */
struct sl_http_server {
    struct ev_loop *loop;
    struct sl_http_opts opts;
    int fd;
    int port; /* the bound port, also when opts.listen asked for port 0 */
    ev_io accept_w;
    ev_timer backoff_w;         /* pauses accepting for a moment after EMFILE and friends */
    struct sl_http_conn *conns; /* every open connection */
    unsigned nconns;
    size_t arena_cap; /* per-connection scratch for one request's strings */
    struct sl_http_stats stats;
    long date_sec; /* second that `date` was formatted for */
    char date[64]; /* IMF-fixdate for the Date header (room for any year) */
};

/* Fill *o with the defaults above; listen "127.0.0.1:7070", no routes. */
void sl_http_opts_default(struct sl_http_opts *o);

/* Bind, listen and start accepting on loop. o is copied (o->routes and
 * o->ud are borrowed); NULL means the defaults. Fails with SL_EINVAL on a bad
 * or unusable address (the message names the errno: in use, ...), a zero
 * limit or a malformed route pattern; with SL_EINTERNAL if no socket can be
 * made. On failure nothing is left open. */
int sl_http_server_start(struct sl_http_server *s, struct ev_loop *loop,
                         const struct sl_http_opts *o, struct sl_err *err);

/* Like sl_http_server_start without the listener (o->listen is not used):
 * connections come only through sl_http_server_adopt. Tests and the fuzz
 * targets drive the server over a socketpair this way. */
int sl_http_server_init(struct sl_http_server *s, struct ev_loop *loop,
                        const struct sl_http_opts *o, struct sl_err *err);

/* Serve fd, a connected non-blocking stream socket (accepted, or one end of
 * a socketpair), as a new connection. fd is taken: it is closed with the
 * connection, or at once after a 503 when the server is at max_connections
 * or out of memory (then -1). */
int sl_http_server_adopt(struct sl_http_server *s, int fd);

/* Close every connection (pending output is dropped) and the listener.
 * Never from inside a handler: the connection being served would be freed. */
void sl_http_server_stop(struct sl_http_server *s);

/* The bound port (useful with port 0). */
int sl_http_server_port(const struct sl_http_server *s);

/* Whether a listen address ("host:port") names a loopback address
 * (127.0.0.0/8 or ::1). False also when it does not parse. */
bool sl_http_addr_is_loopback(const char *addr);

/* Request lookups; each returns a borrowed NUL-terminated string or NULL. */
const char *sl_http_header(const struct sl_http_request *req, const char *name); /* any case */
const char *sl_http_query(const struct sl_http_request *req, const char *name);
const char *sl_http_param(const struct sl_http_request *req, const char *name);

/* True when req carries "Authorization: Bearer <token>" with exactly this
 * token (scheme in any case; compared in time independent of where the
 * tokens differ). A NULL or empty token never matches: decide whether auth
 * applies before calling. */
bool sl_http_bearer_ok(const struct sl_http_request *req, const char *token);

/* Response builders. Each returns 0, or -1 when memory ran out (the server
 * then answers 500), so a handler can `return sl_http_respond_json(...)`. */

/* Set status and the application/json type, and replace the body by json. */
int sl_http_respond_json(struct sl_http_response *res, int status, const char *json);
/* Set status and replace the body by {"error":{"code":code,"message":msg}}
 * where msg is formatted from fmt and JSON-escaped (invalid UTF-8 becomes
 * U+FFFD); the message is cut at 1 KiB. */
int sl_http_respond_error(struct sl_http_response *res, int status, const char *code,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int sl_http_respond_verror(struct sl_http_response *res, int status, const char *code,
                           const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
/* Append bytes, printf output, or s as a quoted, escaped JSON string. */
int sl_http_append(struct sl_http_response *res, const char *p, size_t n);
int sl_http_appendf(struct sl_http_response *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int sl_http_append_json_string(struct sl_http_response *res, const char *s);
/* Add a response header line; name and value must not contain CR or LF
 * (returns -1 and adds nothing if they do). */
int sl_http_add_header(struct sl_http_response *res, const char *name, const char *value);

#endif
