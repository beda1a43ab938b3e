/* api.c - the HTTP/JSON API of sluiced: one table of routes, one handler each.
 *
 * Handlers run on the loop thread. Mutating routes (every POST) need the
 * bearer token when one is configured, and are acknowledged only after the
 * store committed what they changed (sl_daemon_flush). Bad input is a 4xx
 * with {"error":{"code","message"}}; nothing is half-applied. The hot routes
 * (/v1/route, /v1/record) parse with cJSON but write their answers directly. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "daemon.h"
#include "snapshot.h"

#define SL_RECORD_BATCH_MAX 10000

/* ---- shared helpers ------------------------------------------------------------ */

/* The HTTP status for an engine error. */
static int sl_api_status(const struct sl_err *err)
{
    switch (err->code) {
    case SL_ENOTFOUND:
        return 404;
    case SL_EEXIST:
    case SL_ESTATE:
    case SL_ECONFLICT:
    case SL_ELIMIT:
        return 409;
    case SL_ENOMEM:
        return 503;
    case SL_EINVAL:
        return 422;
    default:
        return 500;
    }
}

static int sl_api_fail(struct sl_http_response *res, const struct sl_err *err)
{
    return sl_http_respond_error(res, sl_api_status(err), sl_err_name(err->code), "%s", err->msg);
}

static int sl_api_json(struct sl_http_response *res, int status, cJSON *j)
{
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        return sl_http_respond_error(res, 503, "no_memory", "out of memory");
    int rc = sl_http_respond_json(res, status, text);
    free(text);
    return rc;
}

/* Whether a JSON text holds a NUL, raw or escaped (\u0000) anywhere: cJSON
 * takes either into a C string that silently ends there ("a\u0000b" is "a"). */
static bool sl_api_has_nul(const char *s, size_t n)
{
    if (memchr(s, '\0', n))
        return true;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 5 < n && strncmp(s + i + 2, "0000", 4) == 0)
            return true;
        i++; /* skip the escaped character, so "\\\\u0000" is text */
    }
    return false;
}

/* Token, content type and NUL checks for mutating routes; 0 if the request may go on. */
static int sl_api_guard(struct sl_daemon *d, const struct sl_http_request *req,
                        struct sl_http_response *res)
{
    if (d->cfg.token[0] && !sl_http_bearer_ok(req, d->cfg.token)) {
        sl_http_add_header(res, "WWW-Authenticate", "Bearer");
        sl_http_respond_error(res, 401, "unauthorized", "missing or wrong bearer token");
        return -1;
    }
    /* JSON or no type; curl -d's default form type is taken as "unspecified"
     * so that the documented curl examples work without -H. */
    const char *ct = sl_http_header(req, "Content-Type");
    if (req->body_len && ct && !strstr(ct, "json") &&
        strncmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        sl_http_respond_error(res, 415, "unsupported_media_type", "send application/json, not %s",
                              ct);
        return -1;
    }
    if (req->body_len && sl_api_has_nul(req->body, req->body_len)) {
        sl_http_respond_error(res, 400, "bad_json", "strings must not contain NUL (\\u0000)");
        return -1;
    }
    return 0;
}

/* Parse the body as JSON (an empty body is an empty object). */
static cJSON *sl_api_body(const struct sl_http_request *req, struct sl_http_response *res)
{
    cJSON *j =
        req->body_len ? cJSON_ParseWithLength(req->body, req->body_len) : cJSON_CreateObject();
    if (!j)
        sl_http_respond_error(res, 400, "bad_json", "the body is not valid JSON (near '%.20s')",
                              cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
    return j;
}

/* Acknowledge only what the store holds: commit, then answer. */
static int sl_api_commit(struct sl_daemon *d, struct sl_http_response *res)
{
    struct sl_err err;
    if (sl_daemon_flush(d, &err) == 0)
        return 0;
    sl_http_respond_error(res, 503, "store", "not committed: %s", err.msg);
    return -1;
}

/* ---- health and metrics ------------------------------------------------------------- */

static int sl_api_healthz(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    struct sl_daemon *d = ud;
    (void)req;
    sl_http_appendf(res, "{\"status\":\"ok\",\"version\":\"%s\",\"uptime_seconds\":%.3f}",
                    SLUICE_VERSION, ev_now(d->loop) - d->started);
    return 0;
}

static void sl_api_emit(void *ud, const char *s, size_t n)
{
    sl_http_append(ud, s, n);
}

static int sl_api_metrics(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    struct sl_daemon *d = ud;
    (void)req;
    d->prom.http_requests = d->http.stats.requests;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    sl_prom_write(d->eng, &d->prom, sl_api_emit, res);
    return 0;
}

/* ---- models --------------------------------------------------------------------------- */

static int sl_api_models_post(void *ud, const struct sl_http_request *req,
                              struct sl_http_response *res)
{
    struct sl_daemon *d = ud;
    struct sl_codec_version v;
    struct sl_err err;
    if (sl_api_guard(d, req, res))
        return 0;
    if (sl_codec_version_decode(&v, req->body, req->body_len, &err)) {
        sl_codec_version_destroy(&v);
        return sl_http_respond_error(res, err.code == SL_EINVAL ? 400 : 422, "invalid", "%s",
                                     err.msg);
    }
    int rc = sl_engine_add_version(d->eng, &v.cfg, &err);
    if (rc == 0 && sl_api_commit(d, res) == 0) {
        res->status = 201;
        sl_http_append(res, "{\"model\":", 9);
        sl_http_append_json_string(res, v.cfg.model);
        sl_http_append(res, ",\"version\":", 11);
        sl_http_append_json_string(res, v.cfg.version);
        sl_http_append(res, "}", 1);
    } else if (rc)
        sl_api_fail(res, &err);
    sl_codec_version_destroy(&v);
    return 0;
}

static int sl_api_models_get(void *ud, const struct sl_http_request *req,
                             struct sl_http_response *res)
{
    struct sl_daemon *d = ud;
    (void)req;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "models", sl_snap_models(d->eng));
    return sl_api_json(res, 200, o);
}

/* ---- tests and canaries ------------------------------------------------------------------ */

static const double sl_api_windows[] = {300, 1800};

static cJSON *sl_api_snapshot(struct sl_daemon *d, const char *id)
{
    cJSON *j = sl_snap_test(d->eng, id, sl_api_windows, 2);
    return j ? j : sl_snap_canary(d->eng, id, sl_api_windows, 2);
}

static int sl_api_check_policies(struct sl_daemon *d, const char *policies, int kind,
                                 struct sl_err *err)
{
    return policies && d->host ? sl_host_check_config(d->host, policies, kind, err) : 0;
}

static int sl_api_tests_post(void *ud, const struct sl_http_request *req,
                             struct sl_http_response *res)
{
    struct sl_daemon *d = ud;
    struct sl_codec_test t;
    struct sl_err err;
    char id[SL_ID_MAX + 1];
    if (sl_api_guard(d, req, res))
        return 0;
    if (sl_codec_test_decode(&t, req->body, req->body_len, &err)) {
        sl_codec_test_destroy(&t);
        return sl_http_respond_error(res, 400, "invalid", "%s", err.msg);
    }
    if (sl_api_check_policies(d, t.cfg.policies, SL_KIND_TEST, &err) ||
        sl_engine_create_test(d->eng, &t.cfg, id, &err))
        sl_api_fail(res, &err);
    else if (sl_api_commit(d, res) == 0)
        sl_api_json(res, 201, sl_api_snapshot(d, id));
    sl_codec_test_destroy(&t);
    return 0;
}

static int sl_api_canaries_post(void *ud, const struct sl_http_request *req,
                                struct sl_http_response *res)
{
    struct sl_daemon *d = ud;
    struct sl_codec_canary c;
    struct sl_err err;
    char id[SL_ID_MAX + 1];
    if (sl_api_guard(d, req, res))
        return 0;
    if (sl_codec_canary_decode(&c, req->body, req->body_len, &err)) {
        sl_codec_canary_destroy(&c);
        return sl_http_respond_error(res, 400, "invalid", "%s", err.msg);
    }
    if (sl_api_check_policies(d, c.cfg.policies, SL_KIND_CANARY, &err) ||
        sl_engine_create_canary(d->eng, &c.cfg, id, &err))
        sl_api_fail(res, &err);
    else if (sl_api_commit(d, res) == 0)
        sl_api_json(res, 201, sl_api_snapshot(d, id));
    sl_codec_canary_destroy(&c);
    return 0;
}

/* GET /v1/tests[?status=] and /v1/canaries[?status=]: active ones, and the
 * finished ones in history when a finished status is asked for. */
static int sl_api_list(struct sl_daemon *d, const struct sl_http_request *req,
                       struct sl_http_response *res, int kind)
{
    const char *want = sl_http_query(req, "status");
    cJSON *o = cJSON_CreateObject(),
          *a = cJSON_AddArrayToObject(o, kind == SL_KIND_TEST ? "tests" : "canaries");
    size_t n = kind == SL_KIND_TEST ? sl_engine_test_count(d->eng) : sl_engine_canary_count(d->eng);
    for (size_t i = 0; i < n + sl_engine_history_count(d->eng); i++) {
        const char *id;
        int hk = kind;
        if (i < n) {
            struct sl_test_info t;
            struct sl_canary_info k;
            id = kind == SL_KIND_TEST ? (sl_engine_test_at(d->eng, i, &t), t.config->id)
                                      : (sl_engine_canary_at(d->eng, i, &k), k.config->id);
        } else if (!want || !(id = sl_engine_history_at(d->eng, i - n, &hk)) || hk != kind) {
            continue;
        }
        cJSON *s = sl_api_snapshot(d, id);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(s, "status");
        if (want && (!cJSON_IsString(st) || strcmp(st->valuestring, want) != 0))
            cJSON_Delete(s);
        else
            cJSON_AddItemToArray(a, s);
    }
    return sl_api_json(res, 200, o);
}

static int sl_api_tests_get(void *ud, const struct sl_http_request *req,
                            struct sl_http_response *res)
{
    return sl_api_list(ud, req, res, SL_KIND_TEST);
}

static int sl_api_canaries_get(void *ud, const struct sl_http_request *req,
                               struct sl_http_response *res)
{
    return sl_api_list(ud, req, res, SL_KIND_CANARY);
}

static int sl_api_one(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    struct sl_daemon *d = ud;
    const char *id = sl_http_param(req, "id");
    cJSON *j = sl_api_snapshot(d, id);
    if (!j)
        return sl_http_respond_error(res, 404, "not_found", "no test or canary '%s'", id);
    return sl_api_json(res, 200, j);
}

/* A verb's body is an object with at most a string "reason" and "trigger":
 * anything else is a 400 before the verb runs (it used to be ignored, so
 * {"reason": 5} or "now" still paused or started). -1 with res filled. */
static int sl_api_verb_body_check(const cJSON *body, struct sl_http_response *res)
{
    if (!cJSON_IsObject(body))
        return sl_http_respond_error(res, 400, "invalid", "expected an object"), -1;
    for (const cJSON *k = body->child; k; k = k->next) {
        if (strcmp(k->string, "reason") != 0 && strcmp(k->string, "trigger") != 0)
            return sl_http_respond_error(res, 400, "invalid", "unknown key '%s'", k->string), -1;
        if (!cJSON_IsString(k))
            return sl_http_respond_error(res, 400, "invalid", "%s: expected a string", k->string),
                   -1;
    }
    return 0;
}

/* POST /v1/{tests,canaries}/{id}/{verb} with an optional {"reason", "trigger"}. */
static int sl_api_verb(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    struct sl_daemon *d = ud;
    const char *id = sl_http_param(req, "id"), *vname = sl_http_param(req, "verb");
    int verb = sl_verb_parse(vname);
    struct sl_err err;
    if (sl_api_guard(d, req, res))
        return 0;
    if (verb < 0 || verb == SL_VERB_FAIL)
        return sl_http_respond_error(res, 404, "not_found",
                                     "unknown action '%s' (start, pause, resume, stop, promote, "
                                     "rollback, retry)",
                                     vname);
    cJSON *body = sl_api_body(req, res);
    if (!body)
        return 0;
    if (sl_api_verb_body_check(body, res)) {
        cJSON_Delete(body);
        return 0;
    }
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(body, "reason");
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(body, "trigger");
    const char *reason = cJSON_IsString(r) ? r->valuestring : NULL;
    int trigger = cJSON_IsString(tr) ? sl_trigger_parse(tr->valuestring) : SL_TRIGGER_MANUAL;
    struct sl_canary_info k;
    int rc = trigger < 0 ? sl_err_set(&err, SL_EINVAL, "trigger: unknown '%s'", tr->valuestring)
             : verb == SL_VERB_ROLLBACK && sl_engine_canary(d->eng, id, &k, NULL) == 0
                 ? sl_engine_rollback_canary(d->eng, id, trigger, "api", reason, &err)
                 : sl_engine_act(d->eng, id, verb, "api", reason, &err);
    if (rc)
        sl_api_fail(res, &err);
    else if (sl_api_commit(d, res) == 0)
        sl_api_json(res, 200, sl_api_snapshot(d, id));
    cJSON_Delete(body);
    return 0;
}

/* ---- the hot path ----------------------------------------------------------------------- */

static const char *sl_api_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int sl_api_route(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    struct sl_daemon *d = ud;
    struct sl_route r;
    struct sl_err err;
    cJSON *b = sl_api_body(req, res);
    if (!b)
        return 0;
    const char *key = sl_api_str(b, "model") ? sl_api_str(b, "model") : sl_api_str(b, "test");
    const char *unit = sl_api_str(b, "unit");
    if (!key || !unit)
        sl_http_respond_error(res, 400, "invalid", "send {\"model\": ..., \"unit\": ...}");
    else if (sl_engine_route(d->eng, key, unit, &r, &err))
        sl_api_fail(res, &err);
    else {
        sl_http_append(res, "{\"test\":", 8);
        if (r.id)
            sl_http_append_json_string(res, r.id);
        else
            sl_http_append(res, "null", 4);
        sl_http_appendf(res, ",\"kind\":\"%s\",\"variant\":\"%s\",\"model\":",
                        r.kind == SL_KIND_TEST     ? "test"
                        : r.kind == SL_KIND_CANARY ? "canary"
                                                   : "live",
                        r.variant);
        sl_http_append_json_string(res, r.model);
        sl_http_append(res, ",\"version\":", 11);
        sl_http_append_json_string(res, r.version);
        sl_http_append(res, "}", 1);
    }
    cJSON_Delete(b);
    return 0;
}

struct sl_api_record {
    const char *id;
    int arm;
    bool ok;
    double latency;
    struct sl_sample samples[SL_MAX_METRICS];
    size_t nsamples;
};

static int sl_api_arm(const char *v)
{
    if (!v)
        return -1;
    if (strcmp(v, "control") == 0 || strcmp(v, "stable") == 0)
        return 0;
    return strcmp(v, "treatment") == 0 || strcmp(v, "canary") == 0 ? 1 : -1;
}

/* Check one record item into *r without applying it; -1 with err, and *shape
 * set when the item is malformed (a wrong type or key: 400) rather than a
 * value refused (422). */
static int sl_api_record_item(struct sl_daemon *d, const cJSON *it, struct sl_api_record *r,
                              bool *shape, struct sl_err *err)
{
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(it, "ok");
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(it, "latency_ms");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "metrics");
    r->id = sl_api_str(it, "test");
    r->arm = sl_api_arm(sl_api_str(it, "variant"));
    *shape = true;
    if (!cJSON_IsObject(it) || !r->id || r->arm < 0 || !cJSON_IsBool(ok) || !cJSON_IsNumber(lat))
        return sl_err_set(err, SL_EINVAL,
                          "expected {\"test\", \"variant\" (control, treatment, "
                          "stable or canary), \"ok\" (bool), \"latency_ms\"}");
    if (m && !cJSON_IsObject(m))
        return sl_err_set(err, SL_EINVAL, "metrics: expected an object of name: number");
    *shape = false;
    r->ok = cJSON_IsTrue(ok);
    r->latency = lat->valuedouble;
    if (!(r->latency >= 0 && r->latency <= SL_LATENCY_MAX_MS))
        return sl_err_set(err, SL_EINVAL, "latency_ms: %g is not in [0, %g]", r->latency,
                          SL_LATENCY_MAX_MS);
    r->nsamples = 0;
    for (const cJSON *s = m ? m->child : NULL; s; s = s->next) {
        if (!cJSON_IsNumber(s)) {
            *shape = true;
            return sl_err_set(err, SL_EINVAL, "metrics.%s: expected a number", s->string);
        }
        if (r->nsamples == SL_MAX_METRICS)
            return sl_err_set(err, SL_EINVAL, "metrics: expected at most %d name: number pairs",
                              SL_MAX_METRICS);
        int idx = sl_engine_metric_index(d->eng, r->id, s->string);
        if (idx < 0)
            return sl_err_set(err, SL_EINVAL, "metrics.%s: not declared by '%s'", s->string, r->id);
        r->samples[r->nsamples++] = (struct sl_sample){idx, s->valuedouble};
    }
    return 0;
}

/* POST /v1/record: one item or an array; checked whole before any is applied. */
static int sl_api_record(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    struct sl_daemon *d = ud;
    struct sl_err err;
    if (sl_api_guard(d, req, res))
        return 0;
    cJSON *b = sl_api_body(req, res);
    if (!b)
        return 0;
    bool many = cJSON_IsArray(b), shape = false;
    int n = many ? cJSON_GetArraySize(b) : 1, bad = -1;
    struct sl_api_record *items =
        n > 0 && n <= SL_RECORD_BATCH_MAX ? calloc((size_t)n, sizeof *items) : NULL;
    if (!items) {
        sl_http_respond_error(res, n > SL_RECORD_BATCH_MAX ? 413 : 400, "invalid",
                              "send 1..%d results", SL_RECORD_BATCH_MAX);
        goto done;
    }
    int i = 0;
    for (const cJSON *it = many ? b->child : b; it && bad < 0; it = many ? it->next : NULL, i++)
        if (sl_api_record_item(d, it, &items[i], &shape, &err) == 0) {
            struct sl_test_info t;
            struct sl_canary_info k;
            bool test = sl_engine_test(d->eng, items[i].id, &t, NULL) == 0;
            bool canary = !test && sl_engine_canary(d->eng, items[i].id, &k, NULL) == 0;
            bool live =
                test ? !t.in_history && (t.status == SL_TEST_RUNNING || t.status == SL_TEST_PAUSED)
                     : canary && !k.in_history && k.status >= SL_CANARY_DEPLOYING &&
                           k.status <= SL_CANARY_ROLLING_BACK;
            if (!test && !canary)
                bad = i, sl_err_set(&err, SL_ENOTFOUND, "no test or canary '%s'", items[i].id);
            else if (!live)
                bad = i,
                sl_err_set(&err, SL_ESTATE, "'%s' is %s: it does not record", items[i].id,
                           test ? sl_test_status_name(t.status) : sl_canary_status_name(k.status));
        } else {
            bad = i;
        }
    if (bad >= 0) {
        sl_http_respond_error(res,
                              shape                      ? 400
                              : err.code == SL_ENOTFOUND ? 404
                              : err.code == SL_ESTATE    ? 409
                                                         : 422,
                              "invalid", "item %d: %s (nothing was recorded)", bad, err.msg);
        goto done;
    }
    int accepted = 0;
    for (i = 0; i < n; i++)
        accepted +=
            sl_engine_record(d->eng, items[i].id, items[i].arm, items[i].ok, items[i].latency,
                             items[i].samples, items[i].nsamples, &err) == 0;
    res->status = 202;
    sl_http_appendf(res, "{\"accepted\":%d,\"rejected\":%d}", accepted, n - accepted);
done:
    free(items);
    cJSON_Delete(b);
    return 0;
}

/* ---- events and policies -------------------------------------------------------------------- */

struct sl_api_evlist {
    cJSON *array;
};

static int sl_api_stored_event(void *ud, const struct sl_event *e)
{
    struct sl_api_evlist *l = ud;
    cJSON_AddItemToArray(l->array, sl_snap_event(e));
    return 0;
}

/* GET /v1/events?since=SEQ&limit=N: from the store (the whole log, across
 * restarts) once everything pending is flushed; from the engine's ring when
 * there is no store. */
static int sl_api_events(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    struct sl_daemon *d = ud;
    const char *s = sl_http_query(req, "since"), *l = sl_http_query(req, "limit");
    char *end = NULL;
    double since = s ? strtod(s, &end) : 0, limit = l ? strtod(l, NULL) : 100;
    /* since becomes a uint64_t: NaN and 2^64 or more are refused, not converted. */
    if ((s && (*end || !(since >= 0 && since < 0x1p64))) || !(limit >= 1 && limit <= 10000))
        return sl_http_respond_error(res, 400, "invalid",
                                     "since must be in [0, 2^64), limit 1..10000");
    cJSON *o = cJSON_CreateObject();
    struct sl_api_evlist list = {cJSON_AddArrayToObject(o, "events")};
    struct sl_err err;
    if (d->have_store && sl_daemon_flush(d, &err) == 0 &&
        sl_store_events(&d->store, (uint64_t)since, (size_t)limit, sl_api_stored_event, &list,
                        &err) == 0) {
        cJSON_AddNumberToObject(o, "last", (double)sl_engine_last_seq(d->eng));
        return sl_api_json(res, 200, o);
    }
    const struct sl_event **evs = calloc((size_t)limit, sizeof *evs);
    size_t n = evs ? sl_engine_events(d->eng, (uint64_t)since, evs, (size_t)limit) : 0;
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(list.array, sl_snap_event(evs[i]));
    cJSON_AddNumberToObject(o, "last", (double)sl_engine_last_seq(d->eng));
    free(evs);
    return sl_api_json(res, 200, o);
}

static int sl_api_policies(void *ud, const struct sl_http_request *req,
                           struct sl_http_response *res)
{
    struct sl_daemon *d = ud;
    (void)req;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "policies",
                          sl_snap_policies(d->host ? sl_host_policies(d->host) : NULL));
    cJSON_AddNumberToObject(o, "reloads", (double)d->reload.rescans);
    return sl_api_json(res, 200, o);
}

const struct sl_http_route sl_api_routes[] = {
    {"GET", "/healthz", sl_api_healthz},
    {"GET", "/metrics", sl_api_metrics},
    {"POST", "/v1/models", sl_api_models_post},
    {"GET", "/v1/models", sl_api_models_get},
    {"POST", "/v1/tests", sl_api_tests_post},
    {"GET", "/v1/tests", sl_api_tests_get},
    {"GET", "/v1/tests/{id}", sl_api_one},
    {"POST", "/v1/tests/{id}/{verb}", sl_api_verb},
    {"POST", "/v1/canaries", sl_api_canaries_post},
    {"GET", "/v1/canaries", sl_api_canaries_get},
    {"GET", "/v1/canaries/{id}", sl_api_one},
    {"POST", "/v1/canaries/{id}/{verb}", sl_api_verb},
    {"POST", "/v1/route", sl_api_route},
    {"POST", "/v1/record", sl_api_record},
    {"GET", "/v1/events", sl_api_events},
    {"GET", "/v1/policies", sl_api_policies},
};

const size_t sl_api_nroutes = sizeof sl_api_routes / sizeof sl_api_routes[0];
