/* fuzz_api.c - libFuzzer target: JSON bodies (and query strings) of every
 * API route, straight into the route handlers of a fresh daemon whose
 * engine already holds two models, a running test t-1 (success metric
 * "clicks") and a running canary c-2, with the built-in policies loaded.
 *
 * Input: up to 16 requests separated by the byte 0x1e. A request is three
 * selector bytes and a payload: route (index into sl_api_routes; bit 7 set
 * first advances the clock by (byte & 0x7f) minutes and ticks the engine,
 * which runs the policies), {id} (t-1, c-2, t-3, c-3, t-4, c-4, nope), {verb} (the
 * verbs and two wrong ones); the payload is the body of a POST and the raw
 * query string of a GET.
 *
 * Checks beyond the sanitizers: no handler fails (-1, the server's 500), every
 * status is a real one and not 500, and every JSON answer is valid JSON. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define MAX_REQUESTS 16
#define MAX_QUERY    SL_HTTP_MAX_QUERY

static struct sl_daemon daemon_;

static const char *const ids[] = {"t-1", "c-2", "t-3", "c-3", "t-4", "c-4", "nope"};
static const char *const verbs[] = {"start",    "pause", "resume", "stop", "promote",
                                    "rollback", "retry", "fail",   "frob"};

struct fz_call {
    const struct sl_http_route *route;
    const char *id, *verb;
    const char *payload; /* NUL-terminated */
    size_t len;
};

/* Split a raw query into pairs (no decoding: the handlers see what the
 * server would hand them for a query without escapes). */
static size_t split_query(char *q, struct sl_http_kv *kv)
{
    size_t n = 0;
    for (char *save = NULL, *pair = strtok_r(q, "&", &save); pair && n < MAX_QUERY;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq)
            *eq++ = '\0';
        kv[n++] = (struct sl_http_kv){pair, eq ? eq : ""};
    }
    return n;
}

static void check_answer(const struct fz_call *c, int rc, const struct sl_http_response *res)
{
    if (rc != 0 || res->body.failed || res->headers.failed)
        fz_fail("%s %s failed (rc %d): the server would answer 500", c->route->method,
                c->route->pattern, rc);
    if (res->status < 200 || res->status > 599 || res->status == 500)
        fz_fail("%s %s answered %d: %.*s", c->route->method, c->route->pattern, res->status,
                (int)res->body.len, res->body.data ? res->body.data : "");
    if (res->content_type && strncmp(res->content_type, "application/json", 16) == 0) {
        cJSON *j = cJSON_ParseWithLength(res->body.data ? res->body.data : "", res->body.len);
        if (!j)
            fz_fail("%s %s: not JSON: %.*s", c->route->method, c->route->pattern,
                    (int)res->body.len, res->body.data ? res->body.data : "");
        cJSON_Delete(j);
    }
}

/* Make the call and check the answer; returns its status. */
static int call(const struct fz_call *c)
{
    static const struct sl_http_kv headers[] = {{"Content-Type", "application/json"}};
    struct sl_http_kv params[2] = {{"id", c->id}, {"verb", c->verb}};
    struct sl_http_kv queries[MAX_QUERY];
    bool get = strcmp(c->route->method, "GET") == 0;
    char *query = strdup(get ? c->payload : "");
    char path[128];
    if (!query)
        fz_fail("out of memory");
    snprintf(path, sizeof path, "%s", c->route->pattern); /* not read by the handlers */
    struct sl_http_request req = {
        .method = c->route->method,
        .path = path,
        .query = get ? c->payload : "",
        .body = get ? "" : c->payload,
        .body_len = get ? 0 : c->len,
        .keep_alive = true,
        .http_minor = 1,
        .headers = headers,
        .nheaders = 1,
        .queries = queries,
        .params = params,
        .nparams = 2,
    };
    req.nqueries = split_query(query, queries);
    struct sl_http_response res = {.status = 200, .content_type = "application/json"};
    int rc = c->route->fn(&daemon_, &req, &res);
    check_answer(c, rc, &res);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "%s %s [%s %s] -> %d %.*s\n", c->route->method, c->route->pattern, c->id,
                c->verb, res.status, (int)res.body.len, res.body.data ? res.body.data : "");
    free(res.body.data);
    free(res.headers.data);
    free(query);
    return res.status;
}

static const struct sl_http_route *route_of(const char *method, const char *pattern)
{
    for (size_t i = 0; i < sl_api_nroutes; i++)
        if (strcmp(sl_api_routes[i].method, method) == 0 &&
            strcmp(sl_api_routes[i].pattern, pattern) == 0)
            return &sl_api_routes[i];
    fz_fail("no route %s %s", method, pattern);
}

static void setup_call(const char *pattern, const char *id, const char *verb, const char *body)
{
    struct fz_call c = {route_of("POST", pattern), id, verb, body, strlen(body)};
    int status = call(&c);
    if (status / 100 != 2) /* else every input would run against an empty engine */
        fz_fail("setup: POST %s [%s %s] answered %d", pattern, id, verb, status);
}

/* Two models each, t-1 and c-2 running, as a client would set them up. */
static void setup(void)
{
    setup_call("/v1/models", "", "", "{\"id\":\"ranker\",\"version\":\"v1\"}");
    setup_call("/v1/models", "", "", "{\"id\":\"ranker\",\"version\":\"v2\"}");
    setup_call("/v1/models", "", "", "{\"id\":\"search\",\"version\":\"s1\"}");
    setup_call("/v1/models", "", "", "{\"id\":\"search\",\"version\":\"s2\"}");
    setup_call("/v1/tests", "", "",
               "{\"name\":\"ranker v2\",\"model\":\"ranker\",\"control\":\"v1\","
               "\"treatment\":\"v2\",\"success_metrics\":[\"clicks\"],"
               "\"policies\":{\"guards\":[[\"threshold\",{\"metric\":\"error_rate\","
               "\"type\":\"maximum\",\"value\":0.02,\"action\":\"rollback\"}],[\"srm\"]],"
               "\"recommend\":[\"default\"]}}");
    setup_call("/v1/tests/{id}/{verb}", "t-1", "start", "");
    setup_call("/v1/canaries", "", "",
               "{\"name\":\"c\",\"model\":\"search\",\"canary\":\"s2\",\"traffic\":5,"
               "\"policies\":{\"ramp\":[\"gated\"],\"promotion\":[\"criteria\"]}}");
    setup_call("/v1/canaries/{id}/{verb}", "c-2", "start", "");
    struct sl_err err;
    if (sl_engine_tick(daemon_.eng, &err)) /* starting -> running */
        fz_fail("setup: %s", err.msg);
}

static void run_one(const uint8_t *p, size_t n)
{
    if (n < 3)
        return;
    if (p[0] & 0x80) {
        struct sl_err err;
        daemon_.virt0 += 60.0 * (p[0] & 0x7f);
        (void)sl_engine_tick(daemon_.eng, &err);
    }
    char *payload = malloc(n - 3 + 1);
    if (!payload)
        fz_fail("out of memory");
    memcpy(payload, p + 3, n - 3);
    payload[n - 3] = '\0';
    struct fz_call c = {
        .route = &sl_api_routes[(p[0] & 0x7f) % sl_api_nroutes],
        .id = ids[p[1] % (sizeof ids / sizeof ids[0])],
        .verb = verbs[p[2] % (sizeof verbs / sizeof verbs[0])],
        .payload = payload,
        .len = n - 3,
    };
    call(&c);
    free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_daemon_open(&daemon_, FZ_POLICIES);
    setup();
    const uint8_t *end = data + size;
    for (int i = 0; i < MAX_REQUESTS && data < end; i++) {
        const uint8_t *sep = memchr(data, 0x1e, (size_t)(end - data));
        size_t n = sep ? (size_t)(sep - data) : (size_t)(end - data);
        run_one(data, n);
        data += n + (sep != NULL);
    }
    fz_daemon_close(&daemon_);
    return 0;
}
