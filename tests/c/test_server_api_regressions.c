/* test_server_api_regressions.c - API handler bugs found by fuzzing
 * (tests/fuzz/), each pinned by a test named for the bug. The handlers are
 * called straight from the route table with a hand-built request, against a
 * daemon struct holding only an engine (no store, no sockets). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "tap.h"

static struct sl_daemon d;

static const struct sl_http_route *route(const char *method, const char *pattern)
{
    for (size_t i = 0; i < sl_api_nroutes; i++)
        if (strcmp(sl_api_routes[i].method, method) == 0 &&
            strcmp(sl_api_routes[i].pattern, pattern) == 0)
            return &sl_api_routes[i];
    return NULL;
}

/* GET /v1/events with one query parameter; returns the status. */
static int get_events(const char *name, const char *value)
{
    struct sl_http_kv q[] = {{name, value}};
    struct sl_http_request req = {.method = "GET",
                                  .path = "/v1/events",
                                  .query = "",
                                  .body = "",
                                  .queries = q,
                                  .nqueries = 1};
    struct sl_http_response res = {.status = 200, .content_type = "application/json"};
    const struct sl_http_route *r = route("GET", "/v1/events");
    int rc = r ? r->fn(&d, &req, &res) : -1;
    free(res.body.data);
    free(res.headers.data);
    return rc == 0 ? res.status : -1;
}

/* `since` was converted to uint64_t unchecked: 1e300 or nan was undefined
 * behaviour (UBSan: outside the range of representable values). */
static void test_events_since_out_of_uint64_range_is_400(void)
{
    is_int(get_events("since", "1e300"), 400, "since=1e300");
    is_int(get_events("since", "18446744073709551616"), 400, "since=2^64");
    is_int(get_events("since", "nan"), 400, "since=nan");
    is_int(get_events("since", "-1"), 400, "since=-1");
    is_int(get_events("since", "18446744073709549568"), 200, "since just below 2^64");
    is_int(get_events("since", "0"), 200, "since=0");
}

int main(void)
{
    struct sl_err err;
    sl_config_default(&d.cfg, NULL);
    d.cfg.log_level = -1;
    d.eng = sl_engine_new(NULL, &err);
    if (!d.eng) {
        fprintf(stderr, "engine: %s\n", err.msg);
        return 1;
    }
    RUN(test_events_since_out_of_uint64_range_is_400);
    sl_engine_delete(d.eng);
    return tap_done();
}
