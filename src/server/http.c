/* http.c - see http.h. One connection is one struct sl_http_conn: a read and a
 * write watcher, one timer, an http-parser, a fixed input buffer, an arena
 * for the strings of the request being parsed, and reused body, response and
 * output buffers. A connection is ACTIVE (reading and answering), CLOSING
 * (sending what it owes, input dropped) or LINGER (FIN sent, input drained so
 * the kernel never answers late client bytes with a RST that could destroy
 * the response in flight). */
#define _GNU_SOURCE /* accept4 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SL_HTTP_READ_SIZE    16384        /* one recv per readable event */
#define SL_HTTP_OUT_HIGH     (1u << 20)   /* unsent bytes past which a connection stops reading */
#define SL_HTTP_KEEP_BYTES   (256u << 10) /* larger buffers are freed once used */
#define SL_HTTP_LINGER       2.0          /* seconds to drain input after our FIN */
#define SL_HTTP_ACCEPT_BATCH 64           /* accepts per wakeup */
#define SL_HTTP_BACKOFF      0.1          /* seconds without accepting after EMFILE */
#define SL_HTTP_MSG_MAX      1024         /* error messages are cut here */

enum sl_conn_state {
    SL_CONN_ACTIVE = 0,
    SL_CONN_CLOSING,
    SL_CONN_LINGER,
};

/* What the parser is handing us: the target, a header name or a value. */
enum sl_piece { SL_PIECE_URL = 0, SL_PIECE_FIELD, SL_PIECE_VALUE };

struct sl_http_conn {
    ev_io rio;
    ev_io wio;
    ev_timer timer;
    struct sl_http_server *srv;
    struct sl_http_conn *prev, *next;
    http_parser parser;
    int fd;
    enum sl_conn_state state;
    bool in_request; /* between the first byte of a request and its end */
    bool blocked;    /* parsing paused until the output drains */
    bool peer_eof;   /* the client shut its side */
    unsigned long served;
    ev_tstamp last_io;      /* last read (while active) or write progress */
    ev_tstamp req_start;    /* first byte of the request being received */
    ev_tstamp linger_until; /* LINGER ends here */
    ev_tstamp deadline;     /* when the connection times out */
    ev_tstamp timer_at;     /* when the timer is set to fire (<= deadline) */
    /* the request being received: its strings live in the arena */
    enum sl_piece piece;
    size_t header_bytes;
    size_t nheaders;
    struct sl_http_kv headers[SL_HTTP_MAX_HEADERS];
    struct sl_http_kv queries[SL_HTTP_MAX_QUERY];
    struct sl_http_kv params[SL_HTTP_MAX_PARAMS];
    int fail_status; /* a parser callback refused the request with this */
    const char *fail_code;
    char fail_msg[160];
    char *arena; /* srv->arena_cap bytes, allocated with the struct */
    size_t alen;
    struct sl_http_buf body;
    struct sl_http_request req;
    struct sl_http_response res;
    struct sl_http_buf out;
    size_t out_off;
    size_t in_len, in_off;
    char in[SL_HTTP_READ_SIZE]; /* last: not cleared on creation */
};

struct sl_span {
    const char *p;
    size_t n;
};

static void sl_conn_close(struct sl_http_conn *c);
static void sl_conn_drive(struct sl_http_conn *c);

/* ---- buffers ---- */

static int sl_buf_reserve(struct sl_http_buf *b, size_t need)
{
    if (b->failed)
        return -1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need && cap <= SIZE_MAX / 2)
        cap *= 2;
    char *p = cap >= need ? realloc(b->data, cap) : NULL;
    if (!p) {
        b->failed = true;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

/* Append n bytes, keeping room for a terminating NUL. */
static int sl_buf_put(struct sl_http_buf *b, const void *p, size_t n)
{
    if (sl_buf_reserve(b, b->len + n + 1) < 0)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static int sl_buf_vappendf(struct sl_http_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static int sl_buf_vappendf(struct sl_http_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->cap ? b->data + b->len : NULL, room, fmt, ap);
    int rc = n < 0 || b->failed ? -1 : 0;
    if (rc == 0 && (size_t)n >= room) {
        rc = sl_buf_reserve(b, b->len + (size_t)n + 1);
        if (rc == 0)
            vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
    }
    va_end(again);
    if (rc == 0)
        b->len += (size_t)n;
    return rc;
}

static void sl_buf_free(struct sl_http_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void sl_buf_clear(struct sl_http_buf *b)
{
    if (b->cap > SL_HTTP_KEEP_BYTES)
        sl_buf_free(b);
    b->len = 0;
    b->failed = false;
}

/* Unchecked appends, for output whose room was reserved up front. */
static void sl_put(struct sl_http_buf *b, const char *s, size_t n)
{
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

#define SL_PUTS(b, lit) sl_put((b), (lit), sizeof(lit) - 1)

static void sl_put_uint(struct sl_http_buf *b, size_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sl_put(b, tmp + i, sizeof tmp - i);
}

/* ---- JSON strings ---- */

/* Length of the valid UTF-8 sequence at s (2..4 bytes), or 0. */
static size_t sl_utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] >= 0x90))
        return 0; /* overlong, surrogate or past U+10FFFF */
    return n;
}

static int sl_json_escape(struct sl_http_buf *b, unsigned char ch)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', (char)ch, 0, 0, 0, 0};
    switch (ch) {
    case '"':
    case '\\':
        return sl_buf_put(b, e, 2);
    case '\n':
        return sl_buf_put(b, "\\n", 2);
    case '\r':
        return sl_buf_put(b, "\\r", 2);
    case '\t':
        return sl_buf_put(b, "\\t", 2);
    default:
        memcpy(e, "\\u00", 4);
        e[4] = hex[ch >> 4];
        e[5] = hex[ch & 15];
        return sl_buf_put(b, e, 6);
    }
}

/* Append s quoted and escaped; invalid UTF-8 bytes become U+FFFD. */
static int sl_json_string(struct sl_http_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int rc = sl_buf_put(b, "\"", 1);
    while (rc == 0 && *p) {
        const unsigned char *run = p;
        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        rc = sl_buf_put(b, run, (size_t)(p - run));
        if (rc < 0 || !*p)
            break;
        if (*p < 0x80) {
            rc = sl_json_escape(b, *p++);
            continue;
        }
        size_t n = sl_utf8_len(p);
        rc = n ? sl_buf_put(b, p, n) : sl_buf_put(b, "\\ufffd", 6);
        p += n ? n : 1;
    }
    return rc < 0 ? -1 : sl_buf_put(b, "\"", 1);
}

/* ---- response builders ---- */

static void sl_response_reset(struct sl_http_response *res)
{
    res->status = 200;
    res->content_type = "application/json";
    res->close = false;
    sl_buf_clear(&res->body);
    sl_buf_clear(&res->headers);
}

int sl_http_append(struct sl_http_response *res, const char *p, size_t n)
{
    return sl_buf_put(&res->body, p, n);
}

int sl_http_appendf(struct sl_http_response *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sl_buf_vappendf(&res->body, fmt, ap);
    va_end(ap);
    return rc;
}

int sl_http_append_json_string(struct sl_http_response *res, const char *s)
{
    return sl_json_string(&res->body, s);
}

int sl_http_respond_json(struct sl_http_response *res, int status, const char *json)
{
    res->status = status;
    res->content_type = "application/json";
    res->body.len = 0;
    res->body.failed = false;
    return sl_buf_put(&res->body, json, strlen(json));
}

int sl_http_respond_verror(struct sl_http_response *res, int status, const char *code,
                           const char *fmt, va_list ap)
{
    char msg[SL_HTTP_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int rc = sl_http_respond_json(res, status, "{\"error\":{\"code\":");
    rc |= sl_json_string(&res->body, code);
    rc |= sl_buf_put(&res->body, ",\"message\":", 11);
    rc |= sl_json_string(&res->body, msg);
    rc |= sl_buf_put(&res->body, "}}", 2);
    return rc ? -1 : 0;
}

int sl_http_respond_error(struct sl_http_response *res, int status, const char *code,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sl_http_respond_verror(res, status, code, fmt, ap);
    va_end(ap);
    return rc;
}

int sl_http_add_header(struct sl_http_response *res, const char *name, const char *value)
{
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return -1; /* would split the response */
    struct sl_http_buf *h = &res->headers;
    int rc = sl_buf_put(h, name, strlen(name));
    rc |= sl_buf_put(h, ": ", 2);
    rc |= sl_buf_put(h, value, strlen(value));
    rc |= sl_buf_put(h, "\r\n", 2);
    return rc ? -1 : 0;
}

/* ---- request lookups ---- */

static const char *sl_kv_find(const struct sl_http_kv *kv, size_t n, const char *name, bool nocase)
{
    for (size_t i = 0; i < n; i++)
        if ((nocase ? strcasecmp(kv[i].name, name) : strcmp(kv[i].name, name)) == 0)
            return kv[i].value;
    return NULL;
}

const char *sl_http_header(const struct sl_http_request *req, const char *name)
{
    return sl_kv_find(req->headers, req->nheaders, name, true);
}

const char *sl_http_query(const struct sl_http_request *req, const char *name)
{
    return sl_kv_find(req->queries, req->nqueries, name, false);
}

const char *sl_http_param(const struct sl_http_request *req, const char *name)
{
    return sl_kv_find(req->params, req->nparams, name, false);
}

/* Equal strings, in time that depends on the length of b (the secret) only. */
static bool sl_ct_equal(const char *a, size_t na, const char *b, size_t nb)
{
    volatile unsigned char d = na != nb;
    for (size_t i = 0; i < nb; i++)
        d |= (unsigned char)(b[i] ^ (i < na ? a[i] : 0));
    return d == 0;
}

bool sl_http_bearer_ok(const struct sl_http_request *req, const char *token)
{
    const char *h = sl_http_header(req, "Authorization");
    if (!h || !token || !*token || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *cred = h + 7;
    cred += strspn(cred, " \t");
    size_t n = strlen(cred);
    while (n && (cred[n - 1] == ' ' || cred[n - 1] == '\t'))
        n--;
    return sl_ct_equal(cred, n, token, strlen(token));
}

/* ---- request preparation: the arena, percent-decoding, the query ---- */

static char *sl_arena_take(struct sl_http_conn *c, size_t n)
{
    if (c->srv->arena_cap - c->alen < n)
        return NULL;
    char *p = c->arena + c->alen;
    c->alen += n;
    return p;
}

static int sl_hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
        return (ch | 0x20) - 'a' + 10;
    return -1;
}

/* Decode src[0..n) into dst (room for n + 1); '+' is a space when plus.
 * Fails on a malformed escape and on %00, which no id or value may hold. */
static int sl_pct_decode(char *dst, const char *src, size_t n, bool plus)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = src[i];
        if (ch == '%') {
            int hi = n - i >= 3 ? sl_hexval(src[i + 1]) : -1;
            int lo = n - i >= 3 ? sl_hexval(src[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return -1;
            ch = (char)(hi * 16 + lo);
            i += 2;
        } else if (ch == '+' && plus) {
            ch = ' ';
        }
        dst[j++] = ch;
    }
    dst[j] = '\0';
    return 0;
}

static const char *sl_arena_decode(struct sl_http_conn *c, const char *src, size_t n, bool plus)
{
    char *dst = sl_arena_take(c, n + 1);
    return dst && sl_pct_decode(dst, src, n, plus) == 0 ? dst : NULL;
}

static int sl_query_add(struct sl_http_conn *c, const char *pair, size_t n)
{
    const char *eq = memchr(pair, '=', n);
    size_t kn = eq ? (size_t)(eq - pair) : n;
    struct sl_http_kv *kv = &c->queries[c->req.nqueries];
    kv->name = sl_arena_decode(c, pair, kn, true);
    kv->value = eq ? sl_arena_decode(c, eq + 1, n - kn - 1, true) : "";
    if (!kv->name || !kv->value)
        return -1;
    c->req.nqueries++;
    return 0;
}

static int sl_query_parse(struct sl_http_conn *c, const char *q)
{
    while (*q) {
        size_t n = strcspn(q, "&");
        if (n && c->req.nqueries < SL_HTTP_MAX_QUERY && sl_query_add(c, q, n) < 0)
            return -1;
        q += n + (q[n] == '&');
    }
    return 0;
}

/* Fill c->req from the parsed request. On a bad target, answers 400 in
 * c->res and returns -1. */
static int sl_conn_prepare(struct sl_http_conn *c, bool keep)
{
    struct sl_http_request *req = &c->req;
    char *target = c->arena; /* the target is the arena's first string */
    target[strcspn(target, "#")] = '\0';
    char *q = strchr(target, '?');
    if (q)
        *q++ = '\0';
    *req = (struct sl_http_request){
        .method = http_method_str((enum http_method)c->parser.method),
        .path = target,
        .query = q ? q : "",
        .body = c->body.len ? c->body.data : "",
        .body_len = c->body.len,
        .keep_alive = keep,
        .http_minor = c->parser.http_minor,
        .headers = c->headers,
        .nheaders = c->nheaders,
        .queries = c->queries,
        .params = c->params,
    };
    const char *why = NULL;
    if (target[0] != '/')
        why = "the request target must be a path starting with '/'";
    else if (sl_query_parse(c, req->query) < 0)
        why = "malformed percent-encoding in the query string";
    if (!why)
        return 0;
    sl_http_respond_error(&c->res, 400, "bad_request", "%s", why);
    return -1;
}

/* ---- routing ---- */

/* Whether path matches pattern; on a match, names/vals hold the {param}s. */
static bool sl_route_match(const char *pat, const char *path, struct sl_span *names,
                           struct sl_span *vals, size_t *np)
{
    *np = 0;
    while (*pat) {
        if (*pat != '{') {
            if (*pat++ != *path++)
                return false;
            continue;
        }
        const char *end = strchr(pat, '}'); /* checked at start */
        size_t n = strcspn(path, "/");
        if (n == 0)
            return false;
        names[*np] = (struct sl_span){pat + 1, (size_t)(end - pat - 1)};
        vals[(*np)++] = (struct sl_span){path, n};
        pat = end + 1;
        path += n;
    }
    return *path == '\0';
}

static bool sl_method_ok(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

static size_t sl_method_add(const char **m, size_t n, size_t max, const char *method)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i], method) == 0)
            return n;
    if (n < max)
        m[n++] = method;
    return n;
}

/* The methods that some route accepts for path. */
static size_t sl_route_allowed(const struct sl_http_server *s, const char *path, const char **m,
                               size_t max)
{
    struct sl_span names[SL_HTTP_MAX_PARAMS], vals[SL_HTTP_MAX_PARAMS];
    size_t np, n = 0;
    for (size_t i = 0; i < s->opts.nroutes; i++) {
        const struct sl_http_route *r = &s->opts.routes[i];
        if (!sl_route_match(r->pattern, path, names, vals, &np))
            continue;
        n = sl_method_add(m, n, max, r->method);
        if (strcmp(r->method, "GET") == 0)
            n = sl_method_add(m, n, max, "HEAD");
    }
    return n;
}

/* No route for this method and path: 404, or 405 with Allow. */
static void sl_route_miss(struct sl_http_conn *c)
{
    const char *m[16];
    char allow[256] = "";
    size_t n = sl_route_allowed(c->srv, c->req.path, m, 16), len = 0;
    for (size_t i = 0; i < n && len < sizeof allow; i++)
        len += (size_t)snprintf(allow + len, sizeof allow - len, "%s%s", i ? ", " : "", m[i]);
    if (n == 0) {
        sl_http_respond_error(&c->res, 404, "not_found", "no route for %s %s", c->req.method,
                              c->req.path);
        return;
    }
    sl_http_respond_error(&c->res, 405, "method_not_allowed", "%s %s is not allowed; use %s",
                          c->req.method, c->req.path, allow);
    sl_http_add_header(&c->res, "Allow", allow);
}

static int sl_conn_set_params(struct sl_http_conn *c, const struct sl_span *names,
                              const struct sl_span *vals, size_t np)
{
    for (size_t i = 0; i < np; i++) {
        char *name = sl_arena_take(c, names[i].n + 1);
        const char *val = sl_arena_decode(c, vals[i].p, vals[i].n, false);
        if (!name || !val)
            return -1;
        memcpy(name, names[i].p, names[i].n);
        name[names[i].n] = '\0';
        c->params[i] = (struct sl_http_kv){name, val};
    }
    c->req.nparams = np;
    return 0;
}

static void sl_conn_call(struct sl_http_conn *c, const struct sl_http_route *r)
{
    struct sl_http_response *res = &c->res;
    int rc = r->fn(c->srv->opts.ud, &c->req, res);
    if (rc == 0 && !res->body.failed && !res->headers.failed && res->status >= 200 &&
        res->status <= 599)
        return;
    c->srv->stats.failures++;
    sl_buf_clear(&res->headers);
    sl_http_respond_error(res, 500, "internal", "the request could not be completed");
}

static void sl_conn_route(struct sl_http_conn *c)
{
    const struct sl_http_server *s = c->srv;
    struct sl_span names[SL_HTTP_MAX_PARAMS], vals[SL_HTTP_MAX_PARAMS];
    size_t np = 0;
    for (size_t i = 0; i < s->opts.nroutes; i++) {
        const struct sl_http_route *r = &s->opts.routes[i];
        if (!sl_method_ok(r->method, c->req.method) ||
            !sl_route_match(r->pattern, c->req.path, names, vals, &np))
            continue;
        if (sl_conn_set_params(c, names, vals, np) < 0)
            sl_http_respond_error(&c->res, 400, "bad_request",
                                  "malformed percent-encoding in the path");
        else
            sl_conn_call(c, r);
        return;
    }
    sl_route_miss(c);
}

/* ---- writing responses ---- */

static const char *sl_srv_date(struct sl_http_server *s)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = (time_t)ev_now(s->loop);
    struct tm tm;
    if ((long)now == s->date_sec || !gmtime_r(&now, &tm))
        return s->date;
    snprintf(s->date, sizeof s->date, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    s->date_sec = (long)now;
    return s->date;
}

/* Serialize c->res onto the output. Written by hand: this runs per request. */
static int sl_conn_emit(struct sl_http_conn *c, bool keep)
{
    struct sl_http_response *res = &c->res;
    struct sl_http_buf *o = &c->out;
    const char *reason = http_status_str((enum http_status)res->status);
    const char *type = res->content_type ? res->content_type : "application/octet-stream";
    const char *date = sl_srv_date(c->srv);
    bool has_body = res->status != 204 && res->status != 304;
    size_t blen = has_body && c->parser.method != HTTP_HEAD ? res->body.len : 0;
    if (sl_buf_reserve(o, o->len + 192 + strlen(reason) + strlen(date) + strlen(type) +
                              res->headers.len + blen) < 0)
        return -1;
    SL_PUTS(o, "HTTP/1.1 ");
    sl_put_uint(o, (size_t)res->status);
    SL_PUTS(o, " ");
    sl_put(o, reason, strlen(reason));
    SL_PUTS(o, "\r\nDate: ");
    sl_put(o, date, strlen(date));
    if (has_body) {
        SL_PUTS(o, "\r\nContent-Type: ");
        sl_put(o, type, strlen(type));
        SL_PUTS(o, "\r\nContent-Length: ");
        sl_put_uint(o, res->body.len);
    }
    SL_PUTS(o, "\r\n");
    if (res->headers.len)
        sl_put(o, res->headers.data, res->headers.len);
    if (!keep)
        SL_PUTS(o, "Connection: close\r\n");
    else if (c->parser.http_minor == 0)
        SL_PUTS(o, "Connection: keep-alive\r\n");
    SL_PUTS(o, "\r\n");
    if (blen)
        sl_put(o, res->body.data, blen);
    return 0;
}

/* Queue c->res; without keep, stop reading requests and close once sent. */
static void sl_conn_answer(struct sl_http_conn *c, bool keep)
{
    if (sl_conn_emit(c, keep) < 0) {
        c->srv->stats.failures++;
        keep = false;
        c->peer_eof = true; /* out of memory: close without lingering */
    }
    if (!keep)
        c->state = SL_CONN_CLOSING;
    if (c->res.body.cap > SL_HTTP_KEEP_BYTES)
        sl_buf_free(&c->res.body);
}

static void sl_conn_dispatch(struct sl_http_conn *c, bool keep)
{
    c->srv->stats.requests++;
    sl_response_reset(&c->res);
    if (sl_conn_prepare(c, keep) == 0)
        sl_conn_route(c);
    sl_conn_answer(c, keep && !c->res.close);
}

/* ---- http-parser callbacks: they only record; nothing closes in here ---- */

static int sl_conn_refuse(struct sl_http_conn *c, int status, const char *code, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));

static int sl_conn_refuse(struct sl_http_conn *c, int status, const char *code, const char *fmt,
                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->fail_msg, sizeof c->fail_msg, fmt, ap);
    va_end(ap);
    c->fail_status = status;
    c->fail_code = code;
    return -1;
}

static int sl_http_on_begin(http_parser *p)
{
    struct sl_http_conn *c = p->data;
    c->in_request = true;
    c->req_start = ev_now(c->srv->loop);
    c->alen = 0;
    c->piece = SL_PIECE_URL;
    c->header_bytes = 0;
    c->nheaders = 0;
    sl_buf_clear(&c->body);
    return 0;
}

/* End the arena's current string and start one of another kind. */
static int sl_conn_next_piece(struct sl_http_conn *c, enum sl_piece kind)
{
    c->arena[c->alen++] = '\0'; /* sl_conn_piece kept room for it */
    c->header_bytes += 2;
    c->piece = kind;
    if (kind == SL_PIECE_VALUE && c->nheaders > 0) {
        c->headers[c->nheaders - 1].value = c->arena + c->alen;
        return 0;
    }
    if (c->nheaders == SL_HTTP_MAX_HEADERS)
        return sl_conn_refuse(c, 431, "headers_too_large", "more than %d request headers",
                              SL_HTTP_MAX_HEADERS);
    c->headers[c->nheaders++] = (struct sl_http_kv){c->arena + c->alen, ""};
    return 0;
}

/* Append a fragment of the target, a header name or a header value. */
static int sl_conn_piece(struct sl_http_conn *c, enum sl_piece kind, const char *at, size_t n)
{
    const struct sl_http_server *s = c->srv;
    if (kind != c->piece && sl_conn_next_piece(c, kind) < 0)
        return -1;
    c->header_bytes += n;
    if (c->header_bytes > s->opts.max_header_bytes || s->arena_cap - c->alen < n + 1)
        return sl_conn_refuse(c, 431, "headers_too_large",
                              "the request line and headers exceed %zu bytes",
                              s->opts.max_header_bytes);
    memcpy(c->arena + c->alen, at, n);
    c->alen += n;
    return 0;
}

static int sl_http_on_url(http_parser *p, const char *at, size_t n)
{
    return sl_conn_piece(p->data, SL_PIECE_URL, at, n);
}

static int sl_http_on_field(http_parser *p, const char *at, size_t n)
{
    return sl_conn_piece(p->data, SL_PIECE_FIELD, at, n);
}

static int sl_http_on_value(http_parser *p, const char *at, size_t n)
{
    return sl_conn_piece(p->data, SL_PIECE_VALUE, at, n);
}

static bool sl_conn_expects_continue(const struct sl_http_conn *c)
{
    const char *e = sl_kv_find(c->headers, c->nheaders, "Expect", true);
    return e && strcasecmp(e, "100-continue") == 0 && c->parser.http_minor >= 1 &&
           c->parser.content_length > 0;
}

static int sl_http_on_headers(http_parser *p)
{
    struct sl_http_conn *c = p->data;
    size_t max = c->srv->opts.max_body_bytes;
    c->arena[c->alen++] = '\0'; /* ends the last string */
    /* http-parser takes any one-digit version, and HTTP/0.9 "GET /x", and
     * keeps the blank in "Host : x" as part of the name (RFC 9112 5.1: a
     * server must answer 400, or requests get smuggled past a proxy that
     * reads them differently). */
    if (p->http_major != 1)
        return sl_conn_refuse(c, 505, "version_not_supported",
                              "HTTP/%d.%d is not supported: send HTTP/1.1 or HTTP/1.0",
                              p->http_major, p->http_minor);
    for (size_t i = 0; i < c->nheaders; i++)
        if (strpbrk(c->headers[i].name, " \t"))
            return sl_conn_refuse(c, 400, "bad_request", "whitespace in the header name \"%.40s\"",
                                  c->headers[i].name);
    if (p->flags & F_CHUNKED)
        return sl_conn_refuse(c, 411, "length_required",
                              "chunked request bodies are not supported: send Content-Length");
    if (!(p->flags & F_CONTENTLENGTH))
        return 0;
    if (p->content_length > max)
        return sl_conn_refuse(c, 413, "body_too_large",
                              "the request body of %llu bytes exceeds the limit of %zu bytes",
                              (unsigned long long)p->content_length, max);
    if (sl_buf_reserve(&c->body, (size_t)p->content_length + 1) < 0)
        return sl_conn_refuse(c, 500, "internal", "out of memory for the request body");
    if (sl_conn_expects_continue(c))
        (void)sl_buf_put(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return 0;
}

static int sl_http_on_body(http_parser *p, const char *at, size_t n)
{
    struct sl_http_conn *c = p->data;
    if (sl_buf_put(&c->body, at, n) < 0) /* room was reserved: cannot happen */
        return sl_conn_refuse(c, 500, "internal", "out of memory for the request body");
    return 0;
}

static int sl_http_on_complete(http_parser *p)
{
    struct sl_http_conn *c = p->data;
    c->in_request = false;
    c->served++;
    if (c->body.data)
        c->body.data[c->body.len] = '\0';
    sl_conn_dispatch(c, http_should_keep_alive(p) && !p->upgrade);
    if (c->state != SL_CONN_ACTIVE || c->out.len - c->out_off > SL_HTTP_OUT_HIGH)
        http_parser_pause(p, 1); /* answer what is queued first */
    return 0;
}

static const http_parser_settings sl_http_settings = {
    .on_message_begin = sl_http_on_begin,
    .on_url = sl_http_on_url,
    .on_header_field = sl_http_on_field,
    .on_header_value = sl_http_on_value,
    .on_headers_complete = sl_http_on_headers,
    .on_body = sl_http_on_body,
    .on_message_complete = sl_http_on_complete,
};

/* ---- connections ---- */

/* The parser failed: answer with the reason and close. Never a 500 for bad
 * input; the parser's own error name goes into the message. */
static void sl_conn_reject(struct sl_http_conn *c, enum http_errno e)
{
    struct sl_http_response *res = &c->res;
    sl_response_reset(res);
    if (c->fail_status)
        sl_http_respond_error(res, c->fail_status, c->fail_code, "%s", c->fail_msg);
    else if (e == HPE_HEADER_OVERFLOW)
        sl_http_respond_error(res, 431, "headers_too_large", "request headers too large (%s)",
                              http_errno_name(e));
    else
        sl_http_respond_error(res, 400, "bad_request", "malformed request: %s (%s)",
                              http_errno_name(e), http_errno_description(e));
    if (c->fail_status == 500)
        c->srv->stats.failures++;
    else
        c->srv->stats.rejected++;
    c->fail_status = 0;
    c->in_request = false;
    sl_conn_answer(c, false);
}

/* Feed buffered input to the parser until it is used up, or the parser
 * pauses (output to drain, or the connection is closing) or fails. */
static void sl_conn_parse(struct sl_http_conn *c)
{
    while (c->state == SL_CONN_ACTIVE && !c->blocked && c->in_off < c->in_len) {
        size_t n = http_parser_execute(&c->parser, &sl_http_settings, c->in + c->in_off,
                                       c->in_len - c->in_off);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        c->in_off += n;
        if (e == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            c->blocked = c->state == SL_CONN_ACTIVE;
        } else if (e != HPE_OK || n == 0) {
            sl_conn_reject(c, e);
        }
    }
    if (c->state != SL_CONN_ACTIVE || c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
}

static ev_tstamp sl_conn_deadline(const struct sl_http_conn *c)
{
    const struct sl_http_opts *o = &c->srv->opts;
    ev_tstamp idle = o->idle_timeout_ms / 1e3, req = o->request_timeout_ms / 1e3;
    if (c->state == SL_CONN_LINGER)
        return c->linger_until;
    if (c->out.len > c->out_off)
        return c->last_io + idle; /* a client that stopped reading */
    if (c->in_request)
        return c->req_start + req;
    if (!c->served)
        return c->last_io + (req < idle ? req : idle); /* connected, silent */
    return c->last_io + idle;
}

/* Set the deadline. A later one leaves the timer alone: it fires early and
 * re-arms, which is cheaper than moving it on every request. */
static void sl_conn_set_deadline(struct sl_http_conn *c, ev_tstamp at)
{
    struct ev_loop *loop = c->srv->loop;
    c->deadline = at;
    if (ev_is_active(&c->timer) && c->timer_at <= at)
        return;
    ev_timer_stop(loop, &c->timer);
    ev_tstamp after = at - ev_now(loop);
    ev_timer_set(&c->timer, after > 0 ? after : 0, 0.);
    ev_timer_start(loop, &c->timer);
    c->timer_at = at;
}

/* Align the read watcher and the deadline with the state. */
static void sl_conn_watch(struct sl_http_conn *c)
{
    struct ev_loop *loop = c->srv->loop;
    bool want = c->state == SL_CONN_LINGER || (c->state == SL_CONN_CLOSING && !c->peer_eof) ||
                (c->state == SL_CONN_ACTIVE && !c->blocked);
    if (want && !ev_is_active(&c->rio))
        ev_io_start(loop, &c->rio);
    else if (!want && ev_is_active(&c->rio))
        ev_io_stop(loop, &c->rio);
    sl_conn_set_deadline(c, sl_conn_deadline(c));
}

static void sl_conn_close(struct sl_http_conn *c)
{
    struct sl_http_server *s = c->srv;
    ev_io_stop(s->loop, &c->rio);
    ev_io_stop(s->loop, &c->wio);
    ev_timer_stop(s->loop, &c->timer);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    sl_buf_free(&c->body);
    sl_buf_free(&c->out);
    sl_buf_free(&c->res.body);
    sl_buf_free(&c->res.headers);
    free(c);
}

/* Everything owed is sent: close, or half-close and drain the input for a
 * moment, so that a client still sending does not turn our close into a RST
 * that destroys the response before it reads it. */
static void sl_conn_finish(struct sl_http_conn *c)
{
    if (c->peer_eof || shutdown(c->fd, SHUT_WR) < 0) {
        sl_conn_close(c);
        return;
    }
    c->state = SL_CONN_LINGER;
    c->linger_until = ev_now(c->srv->loop) + SL_HTTP_LINGER;
    sl_conn_watch(c);
}

/* Keep unsent output at the front once most of the buffer is sent. */
static void sl_conn_compact(struct sl_http_conn *c)
{
    struct sl_http_buf *o = &c->out;
    if (c->out_off < o->len / 2)
        return;
    memmove(o->data, o->data + c->out_off, o->len - c->out_off);
    o->len -= c->out_off;
    c->out_off = 0;
}

/* Write pending output: 1 when all is sent, 0 when the socket is full (the
 * write watcher is then armed), -1 when the connection failed and is closed. */
static int sl_conn_send(struct sl_http_conn *c)
{
    struct ev_loop *loop = c->srv->loop;
    struct sl_http_buf *o = &c->out;
    while (c->out_off < o->len) {
        ssize_t n = send(c->fd, o->data + c->out_off, o->len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            c->last_io = ev_now(loop);
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            sl_conn_compact(c);
            ev_io_start(loop, &c->wio);
            return 0;
        } else if (n == 0 || errno != EINTR) {
            sl_conn_close(c);
            return -1;
        }
    }
    c->out_off = 0;
    sl_buf_clear(o);
    ev_io_stop(loop, &c->wio);
    return 1;
}

/* After any progress: send, resume parsing a drained connection, finish a
 * closing one, and re-align watchers and deadline. */
static void sl_conn_drive(struct sl_http_conn *c)
{
    int r;
    while ((r = sl_conn_send(c)) == 1 && c->state == SL_CONN_ACTIVE && c->blocked) {
        c->blocked = false;
        sl_conn_parse(c);
    }
    if (r < 0)
        return;
    if (r == 1 && c->state == SL_CONN_CLOSING)
        sl_conn_finish(c);
    else
        sl_conn_watch(c);
}

static void sl_conn_on_eof(struct sl_http_conn *c, bool clean)
{
    if (!clean || c->state == SL_CONN_LINGER || c->out.len == c->out_off) {
        sl_conn_close(c);
        return;
    }
    c->peer_eof = true; /* half-closed: what is owed still goes out */
    c->state = SL_CONN_CLOSING;
    c->in_request = false;
    sl_conn_watch(c);
}

static void sl_conn_on_read(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct sl_http_conn *c = sl_container_of(w, struct sl_http_conn, rio);
    ssize_t n = recv(c->fd, c->in, sizeof c->in, 0); /* ACTIVE and reading: c->in is empty */
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        sl_conn_on_eof(c, n == 0);
        return;
    }
    if (c->state != SL_CONN_ACTIVE)
        return; /* closing: late input is dropped */
    c->last_io = ev_now(loop);
    c->in_off = 0;
    c->in_len = (size_t)n;
    sl_conn_parse(c);
    sl_conn_drive(c);
}

static void sl_conn_on_write(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    sl_conn_drive(sl_container_of(w, struct sl_http_conn, wio));
}

/* A request still arriving when its time is up gets a 408 and is closed. */
static void sl_conn_timeout(struct sl_http_conn *c)
{
    struct sl_http_server *s = c->srv;
    s->stats.timeouts++;
    s->stats.rejected++;
    sl_response_reset(&c->res);
    sl_http_respond_error(&c->res, 408, "request_timeout",
                          "the request did not arrive whole within %u ms",
                          s->opts.request_timeout_ms);
    c->in_request = false;
    sl_conn_answer(c, false);
    sl_conn_drive(c);
}

static void sl_conn_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct sl_http_conn *c = sl_container_of(w, struct sl_http_conn, timer);
    if (c->deadline - ev_now(loop) > 1e-3) {
        sl_conn_set_deadline(c, c->deadline);
        return;
    }
    if (c->state == SL_CONN_ACTIVE && c->in_request && c->out.len == c->out_off)
        sl_conn_timeout(c);
    else
        sl_conn_close(c); /* idle, stalled reader, or lingering too long */
}

static struct sl_http_conn *sl_conn_new(struct sl_http_server *s, int fd)
{
    struct sl_http_conn *c = malloc(sizeof *c + s->arena_cap);
    if (!c)
        return NULL;
    memset(c, 0, offsetof(struct sl_http_conn, in));
    c->arena = (char *)(c + 1);
    c->srv = s;
    c->fd = fd;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    ev_io_init(&c->rio, sl_conn_on_read, fd, EV_READ);
    ev_io_init(&c->wio, sl_conn_on_write, fd, EV_WRITE);
    ev_init(&c->timer, sl_conn_on_timer);
    c->last_io = ev_now(s->loop);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->stats.accepted++;
    int one = 1; /* one send per response batch: never wait for Nagle */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sl_conn_watch(c);
    return c;
}

/* ---- the listener ---- */

/* Over max_connections: a canned 503, then close. */
static void sl_srv_refuse(struct sl_http_server *s, int fd)
{
    static const char body[] =
        "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many connections\"}}";
    char msg[256];
    int n = snprintf(msg, sizeof msg,
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s",
                     sizeof body - 1, body);
    (void)send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)shutdown(fd, SHUT_WR);
    close(fd);
    s->stats.refused++;
}

static void sl_srv_on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct sl_http_server *s = sl_container_of(w, struct sl_http_server, accept_w);
    for (int i = 0; i < SL_HTTP_ACCEPT_BATCH; i++) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
            /* The connection stays queued and would wake us at once: pause. */
            ev_io_stop(loop, &s->accept_w);
            ev_timer_set(&s->backoff_w, SL_HTTP_BACKOFF, 0.);
            ev_timer_start(loop, &s->backoff_w);
            return;
        }
        if (fd < 0)
            continue; /* ECONNABORTED, EINTR, ... */
        (void)sl_http_server_adopt(s, fd);
    }
}

int sl_http_server_adopt(struct sl_http_server *s, int fd)
{
    if (s->nconns < s->opts.max_connections && sl_conn_new(s, fd))
        return 0;
    sl_srv_refuse(s, fd);
    return -1;
}

static void sl_srv_on_backoff(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct sl_http_server *s = sl_container_of(w, struct sl_http_server, backoff_w);
    ev_io_start(loop, &s->accept_w);
}

static int sl_port_parse(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > 5 || strspn(p, "0123456789") != n)
        return -1;
    long v = strtol(p, NULL, 10);
    return v <= 65535 ? (int)v : -1;
}

static int sl_addr_fill(const char *host, bool v6, int port, struct sockaddr_storage *ss,
                        socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *len = sizeof *a;
        return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *len = sizeof *a;
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

/* "a.b.c.d:port", "localhost:port" or "[v6]:port" into a socket address. */
static int sl_addr_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    if (!addr)
        return -1;
    bool v6 = addr[0] == '[';
    const char *start = addr + v6;
    const char *end = v6 ? strchr(addr, ']') : strrchr(addr, ':'); /* end of the host */
    const char *colon = v6 && end ? end + 1 : end;
    if (!end || *colon != ':' || (size_t)(end - start) >= sizeof host)
        return -1;
    int port = sl_port_parse(colon + 1);
    memcpy(host, start, (size_t)(end - start));
    host[end - start] = '\0';
    return port < 0 ? -1 : sl_addr_fill(host, v6, port, ss, len);
}

bool sl_http_addr_is_loopback(const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (sl_addr_parse(addr, &ss, &len) < 0)
        return false;
    if (ss.ss_family == AF_INET)
        return ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24 == 127;
    return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
}

static int sl_srv_bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int sl_srv_listen(struct sl_http_server *s, struct sl_err *err)
{
    struct sockaddr_storage ss;
    socklen_t len;
    const char *where = s->opts.listen ? s->opts.listen : "(null)";
    if (sl_addr_parse(s->opts.listen, &ss, &len) < 0)
        return sl_err_set(err, SL_EINVAL,
                          "http: bad listen address \"%s\": want IPv4:port or [IPv6]:port", where);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sl_err_set(err, SL_EINTERNAL, "http: socket: %s", strerror(errno));
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, SOMAXCONN) < 0 ||
        (s->port = sl_srv_bound_port(fd)) < 0) {
        int e = errno;
        close(fd);
        return sl_err_set(err, SL_EINVAL, "http: cannot listen on %s: %s", where, strerror(e));
    }
    s->fd = fd;
    return 0;
}

/* A pattern is '/'-separated; a {param} is a whole, named segment. */
static int sl_route_check(const struct sl_http_route *r, struct sl_err *err)
{
    size_t np = 0;
    if (!r->method || !r->pattern || !r->fn || r->pattern[0] != '/')
        return sl_err_set(err, SL_EINVAL,
                          "http: a route needs a method, a pattern starting with '/', a handler");
    for (const char *p = strpbrk(r->pattern, "{}"); p; p = strpbrk(p + 1, "{}")) {
        const char *end = *p == '{' ? strchr(p, '}') : NULL;
        size_t n = end ? (size_t)(end - p - 1) : 0;
        if (!end || n == 0 || p[-1] != '/' || (end[1] != '/' && end[1] != '\0') ||
            strcspn(p + 1, "{/") < n || ++np > SL_HTTP_MAX_PARAMS)
            return sl_err_set(err, SL_EINVAL,
                              "http: route \"%s\": a {param} must be a whole, named segment, "
                              "at most %d per route",
                              r->pattern, SL_HTTP_MAX_PARAMS);
        p = end;
    }
    return 0;
}

static int sl_srv_check(struct sl_http_server *s, struct sl_err *err)
{
    const struct sl_http_opts *o = &s->opts;
    size_t longest = 0;
    if (!o->max_header_bytes || !o->max_body_bytes || !o->idle_timeout_ms ||
        !o->request_timeout_ms || !o->max_connections)
        return sl_err_set(err, SL_EINVAL, "http: limits and timeouts must be > 0");
    if (o->max_header_bytes > (64u << 20))
        return sl_err_set(err, SL_EINVAL, "http: max_header_bytes must be <= 64 MiB");
    if (o->nroutes && !o->routes)
        return sl_err_set(err, SL_EINVAL, "http: nroutes without routes");
    for (size_t i = 0; i < o->nroutes; i++) {
        if (sl_route_check(&o->routes[i], err) < 0)
            return -1;
        size_t n = strlen(o->routes[i].pattern);
        longest = n > longest ? n : longest;
    }
    /* The target and headers with a NUL each, then the decoded query and
     * params (never longer than their raw form) and the param names. */
    s->arena_cap = 2 * o->max_header_bytes + longest +
                   4 * (SL_HTTP_MAX_HEADERS + SL_HTTP_MAX_QUERY + SL_HTTP_MAX_PARAMS) + 64;
    return 0;
}

/* ---- the server ---- */

void sl_http_opts_default(struct sl_http_opts *o)
{
    *o = (struct sl_http_opts){
        .listen = "127.0.0.1:7070",
        .max_header_bytes = 8192,
        .max_body_bytes = 1u << 20,
        .idle_timeout_ms = 30000,
        .request_timeout_ms = 10000,
        .max_connections = 1024,
    };
}

int sl_http_server_init(struct sl_http_server *s, struct ev_loop *loop,
                        const struct sl_http_opts *o, struct sl_err *err)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->loop = loop;
    s->date_sec = -1;
    if (o)
        s->opts = *o;
    else
        sl_http_opts_default(&s->opts);
    ev_init(&s->accept_w, sl_srv_on_accept); /* stopping it is harmless before listening */
    ev_init(&s->backoff_w, sl_srv_on_backoff);
    return sl_srv_check(s, err);
}

int sl_http_server_start(struct sl_http_server *s, struct ev_loop *loop,
                         const struct sl_http_opts *o, struct sl_err *err)
{
    if (sl_http_server_init(s, loop, o, err) < 0 || sl_srv_listen(s, err) < 0)
        return -1;
    ev_io_set(&s->accept_w, s->fd, EV_READ);
    ev_io_start(loop, &s->accept_w);
    return 0;
}

void sl_http_server_stop(struct sl_http_server *s)
{
    while (s->conns)
        sl_conn_close(s->conns);
    ev_io_stop(s->loop, &s->accept_w);
    ev_timer_stop(s->loop, &s->backoff_w);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

int sl_http_server_port(const struct sl_http_server *s)
{
    return s->port;
}
