/* fuzz_http.c - libFuzzer target: bytes on one HTTP connection -> the
 * parser -> the router -> the API handlers, against a fresh daemon with an
 * in-memory engine and the built-in policies.
 *
 * Input: the byte stream a client sends. When the first byte is not an
 * upper-case letter it is taken as the size of the pieces the rest is sent
 * in (loop turns in between), so requests are also parsed in fragments.
 *
 * Checks beyond the sanitizers: what the server sends back parses as a
 * sequence of HTTP/1.1 responses, no response is a 500 (bad input is
 * always a 4xx), and every application/json body is valid JSON. */
#define _GNU_SOURCE /* memmem */
#include <cjson/cJSON.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_common.h"

static struct sl_daemon daemon_;

struct fz_resp {
    char type[128];
    char field[32];
    bool in_type;
    char *body;
    size_t blen, bcap;
    int count;
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

static int on_complete(http_parser *p)
{
    struct fz_resp *r = p->data;
    r->count++;
    if (p->status_code == 500)
        fz_fail("response %d is a 500: %.*s", r->count, (int)r->blen, r->body ? r->body : "");
    if (strncmp(r->type, "application/json", 16) == 0) {
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
    .on_body = on_body,
    .on_message_complete = on_complete,
};

/* A HEAD response announces a body it does not carry, which a response
 * parser cannot know; the stream is then only checked by the sanitizers. */
static void check_responses(const char *out, size_t n, const uint8_t *in, size_t inlen)
{
    if (memmem(in, inlen, "HEAD", 4))
        return;
    struct fz_resp r = {0};
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
    fz_daemon_open(&daemon_, true);
    size_t n;
    char *out = fz_converse(&daemon_, false, data, size, piece, &n);
    if (getenv("FUZZ_VERBOSE"))
        fwrite(out, 1, n, stderr);
    check_responses(out, n, data, size);
    free(out);
    fz_daemon_close(&daemon_);
    return 0;
}
