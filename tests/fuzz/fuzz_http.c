/* fuzz_http.c - libFuzzer target: bytes on one HTTP connection -> the
 * parser -> the router -> the API handlers, against a fresh daemon with an
 * in-memory engine and the built-in policies.
 *
 * Input: the byte stream a client sends. When the first byte is not an
 * upper-case letter it is taken as the size of the pieces the rest is sent
 * in (loop turns in between), so requests are also parsed in fragments.
 *
 * Checks beyond the sanitizers: what the server sends back parses as a
 * sequence of HTTP/1.1 responses (those to HEAD requests without bodies), no
 * response is a 500 (bad input is always a 4xx), and every application/json
 * body is valid JSON. */
#include <cjson/cJSON.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_common.h"

static struct sl_daemon daemon_;

#define FZ_MAX_REQS 256

struct fz_resp {
    char type[128];
    char field[32];
    bool in_type;
    char *body;
    size_t blen, bcap;
    int count;  /* responses seen */
    int finals; /* of them, final (not 1xx) responses: one per request */
    int nreqs;
    bool head[FZ_MAX_REQS]; /* whether the i-th request was a HEAD */
    bool noted;             /* the request being read is in head[] */
    bool bodyless;          /* the response being read answers a HEAD */
};

static int on_begin(http_parser *p)
{
    struct fz_resp *r = p->data;
    r->type[0] = '\0';
    r->blen = 0;
    return 0;
}

static int on_field(http_parser *p, const char *at, size_t n)
{
    struct fz_resp *r = p->data;
    r->in_type = n == 12 && strncasecmp(at, "Content-Type", 12) == 0;
    return 0;
}

static int on_value(http_parser *p, const char *at, size_t n)
{
    struct fz_resp *r = p->data;
    if (r->in_type)
        snprintf(r->type, sizeof r->type, "%.*s", (int)n, at);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct fz_resp *r = p->data;
    if (r->blen + n > r->bcap) {
        r->bcap = (r->blen + n) * 2;
        if (!(r->body = realloc(r->body, r->bcap)))
            fz_fail("out of memory");
    }
    memcpy(r->body + r->blen, at, n);
    r->blen += n;
    return 0;
}

/* A HEAD response announces a body it does not carry: tell the parser. */
static int on_headers_complete(http_parser *p)
{
    struct fz_resp *r = p->data;
    r->bodyless = p->status_code >= 200 && r->finals < r->nreqs && r->head[r->finals];
    return r->bodyless;
}

static int on_complete(http_parser *p)
{
    struct fz_resp *r = p->data;
    r->count++;
    r->finals += p->status_code >= 200;
    if (p->status_code == 500)
        fz_fail("response %d is a 500: %.*s", r->count, (int)r->blen, r->body ? r->body : "");
    if (!r->bodyless && strncmp(r->type, "application/json", 16) == 0) {
        cJSON *j = cJSON_ParseWithLength(r->body ? r->body : "", r->blen);
        if (!j)
            fz_fail("response %d (%u) has a JSON type but not a JSON body: %.*s", r->count,
                    p->status_code, (int)r->blen, r->body ? r->body : "");
        cJSON_Delete(j);
    }
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_begin,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

static void note_request(struct fz_resp *r, const http_parser *p)
{
    if (!r->noted && r->nreqs < FZ_MAX_REQS)
        r->head[r->nreqs++] = p->method == HTTP_HEAD;
    r->noted = true;
}

static int on_request_begin(http_parser *p)
{
    ((struct fz_resp *)p->data)->noted = false;
    return 0;
}

static int on_request_url(http_parser *p, const char *at, size_t n)
{
    (void)at, (void)n;
    note_request(p->data, p);
    return 0;
}

static const http_parser_settings request_settings = {.on_message_begin = on_request_begin,
                                                      .on_url = on_request_url};

/* Which requests are HEADs, read with the parser the server uses: the server
 * leaves out the body of any response to a request whose method it read as
 * HEAD (an error answered once the request line is in, too). Requests after
 * one the server refuses are noted but never answered: it closes. */
static void note_heads(struct fz_resp *r, const uint8_t *in, size_t inlen)
{
    http_parser p;
    http_parser_init(&p, HTTP_REQUEST);
    p.data = r;
    r->noted = true;
    (void)http_parser_execute(&p, &request_settings, (const char *)in, inlen);
    if (HTTP_PARSER_ERRNO(&p) != HPE_OK)
        note_request(r, &p); /* refused before its URL was whole: the method is read */
}

static void check_responses(const char *out, size_t n, const uint8_t *in, size_t inlen)
{
    struct fz_resp r = {0};
    note_heads(&r, in, inlen);
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = &r;
    size_t k = http_parser_execute(&p, &settings, out, n);
    if (HTTP_PARSER_ERRNO(&p) != HPE_OK || k != n)
        fz_fail("the responses do not parse (%s at byte %zu of %zu)",
                http_errno_name(HTTP_PARSER_ERRNO(&p)), k, n);
    free(r.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t piece = 0;
    if (size && !(data[0] >= 'A' && data[0] <= 'Z')) {
        piece = data[0];
        data++;
        size--;
    }
    fz_daemon_open(&daemon_, FZ_POLICIES);
    size_t n;
    char *out = fz_converse(&daemon_, false, data, size, piece, &n);
    if (getenv("FUZZ_VERBOSE"))
        fwrite(out, 1, n, stderr);
    check_responses(out, n, data, size);
    free(out);
    fz_daemon_close(&daemon_);
    return 0;
}
