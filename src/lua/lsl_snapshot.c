/* lsl_snapshot.c - engine state -> plain Lua tables (copies, never live views).
 *
 * eng:test(id), eng:tests(), eng:canary(id), eng:canaries(), eng:history(n),
 * eng:models(), eng:events(n | {since=, limit=}), eng:metrics(id, variant [, s]).
 * Field names match the HTTP API's JSON. */
#include <math.h>
#include <string.h>

#include "lsl_engine.h"

static void lsl_set_str(lua_State *L, const char *k, const char *v)
{
    if (!v)
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void lsl_set_num(lua_State *L, const char *k, double v)
{
    if (isnan(v))
        return; /* absent rather than NaN: easier to test for in policies */
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void lsl_set_int(lua_State *L, const char *k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

static void lsl_set_bool(lua_State *L, const char *k, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

static void lsl_push_strings(lua_State *L, const char *const *v, size_t n)
{
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* ---- metrics ------------------------------------------------------------------------- */

void lsl_push_latency(lua_State *L, const struct sl_variant_metrics *m)
{
    static const char *const qnames[SL_NQUANTILES] = {"p50", "p90", "p95", "p99", "p999"};
    lua_createtable(L, 0, 10);
    lsl_set_num(L, "mean", m->latency_mean);
    lsl_set_num(L, "var", m->latency_var);
    lsl_set_num(L, "sd", m->latency_var >= 0 ? sqrt(m->latency_var) : NAN);
    lsl_set_num(L, "min", m->latency_min);
    lsl_set_num(L, "max", m->latency_max);
    for (int q = 0; q < SL_NQUANTILES; q++)
        lsl_set_num(L, qnames[q], m->quantiles[q]);
}

void lsl_push_custom(lua_State *L, const struct sl_variant_metrics *m)
{
    lua_createtable(L, 0, (int)m->nmetrics);
    for (size_t j = 0; j < m->nmetrics; j++) {
        const struct sl_metric_stats *s = &m->metrics[j];
        lua_createtable(L, 0, 6);
        lsl_set_int(L, "count", (lua_Integer)s->count);
        lsl_set_num(L, "sum", s->sum);
        lsl_set_num(L, "sumsq", s->sumsq);
        lsl_set_num(L, "mean", s->count ? s->sum / (double)s->count : NAN);
        lsl_set_num(L, "min", s->min);
        lsl_set_num(L, "max", s->max);
        lua_setfield(L, -2, s->name);
    }
}

const char *const lsl_count_names[LSL_NCOUNTS] = {
    "requests", "successes", "errors", "error_rate", "success_rate", "throughput", "span_seconds"};

bool lsl_push_variant_count(lua_State *L, const struct sl_variant_metrics *m, const char *key)
{
    double v;
    if (strcmp(key, "requests") == 0)
        lua_pushinteger(L, (lua_Integer)m->requests);
    else if (strcmp(key, "successes") == 0)
        lua_pushinteger(L, (lua_Integer)m->successes);
    else if (strcmp(key, "errors") == 0)
        lua_pushinteger(L, (lua_Integer)m->errors);
    else {
        v = strcmp(key, "error_rate") == 0     ? m->error_rate
            : strcmp(key, "success_rate") == 0 ? (m->requests ? 1 - m->error_rate : 0)
            : strcmp(key, "throughput") == 0   ? m->throughput
            : strcmp(key, "span_seconds") == 0 ? m->span_seconds
                                               : NAN;
        if (isnan(v))
            return false; /* absent rather than NaN, as lsl_set_num */
        lua_pushnumber(L, v);
    }
    return true;
}

static void lsl_push_variant_counts(lua_State *L, const struct sl_variant_metrics *m)
{
    lua_createtable(L, 0, 10);
    for (int i = 0; i < LSL_NCOUNTS; i++)
        if (lsl_push_variant_count(L, m, lsl_count_names[i]))
            lua_setfield(L, -2, lsl_count_names[i]);
}

/* Push {requests, successes, errors, error_rate, success_rate, throughput,
 * span_seconds, latency = {...}, metrics = {...}}. [-0, +1, m] */
void lsl_push_variant_metrics(lua_State *L, const struct sl_variant_metrics *m)
{
    lsl_push_variant_counts(L, m);
    lsl_push_latency(L, m);
    lua_setfield(L, -2, "latency");
    lsl_push_custom(L, m);
    lua_setfield(L, -2, "metrics");
}

/* {control = {...}, treatment = {...}} (or stable/canary), cumulative. */
static void lsl_push_arms(lua_State *L, struct sl_engine *eng, const char *id, const char *a0,
                          const char *a1)
{
    struct sl_variant_metrics m;
    lua_createtable(L, 0, 2);
    for (int arm = 0; arm < 2; arm++) {
        if (sl_engine_metrics(eng, id, arm, 0, &m, NULL))
            return; /* not started: no metrics */
        lsl_push_variant_metrics(L, &m);
        lua_setfield(L, -2, arm ? a1 : a0);
    }
}

/* eng:metrics(id, variant [, window_seconds]) -> table | nil, msg */
int lsl_engine_metrics(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    const char *id = luaL_checkstring(L, 2);
    const char *v = luaL_checkstring(L, 3);
    double window = luaL_optnumber(L, 4, 0);
    int arm = strcmp(v, "treatment") == 0 || strcmp(v, "canary") == 0 ? 1
              : strcmp(v, "control") == 0 || strcmp(v, "stable") == 0 ? 0
                                                                      : -1;
    luaL_argcheck(L, arm >= 0, 3, "variant must be control, treatment, stable or canary");
    struct sl_variant_metrics m;
    struct sl_err err;
    int rc = sl_engine_metrics(u->eng, id, arm, window, &m, &err);
    lsl_engine_after(L, u);
    if (rc)
        return sl_lua_fail(L, &err);
    lsl_push_variant_metrics(L, &m);
    return 1;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void lsl_push_ramp(lua_State *L, const struct sl_test_config *c)
{
    lua_createtable(L, (int)c->nramp, 0);
    for (size_t i = 0; i < c->nramp; i++) {
        lua_createtable(L, 0, 3);
        lsl_set_num(L, "at_hours", c->ramp[i].at_hours);
        lsl_set_num(L, "treatment", c->ramp[i].treatment);
        lsl_set_num(L, "control", c->ramp[i].control);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static void lsl_push_alloc_history(lua_State *L, const struct sl_test_info *t)
{
    lua_createtable(L, (int)t->nalloc_history, 0);
    for (size_t i = 0; i < t->nalloc_history; i++) {
        lua_createtable(L, 0, 2);
        lsl_set_num(L, "at", t->alloc_history[i].at);
        lsl_set_num(L, "treatment", t->alloc_history[i].treatment);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static void lsl_push_guards(lua_State *L, const struct sl_test_config *c)
{
    static const char *const types[] = {"maximum", "minimum", "percentage", "absolute"};
    static const char *const actions[] = {"pause", "rollback", "alert", "reduce_traffic"};
    lua_createtable(L, (int)c->nguards, 0);
    for (size_t i = 0; i < c->nguards; i++) {
        lua_createtable(L, 0, 4);
        lsl_set_str(L, "metric", c->guards[i].metric);
        lsl_set_str(L, "type", types[c->guards[i].type]);
        lsl_set_num(L, "threshold", c->guards[i].threshold);
        lsl_set_str(L, "action", actions[c->guards[i].action]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static void lsl_push_test_config(lua_State *L, const struct sl_test_config *c)
{
    lsl_set_str(L, "id", c->id);
    lsl_set_str(L, "name", c->name);
    lsl_set_str(L, "description", c->description);
    lsl_set_str(L, "model", c->model);
    lsl_set_str(L, "routing", sl_routing_name(c->routing));
    lsl_set_num(L, "duration_hours", c->duration_hours);
    lsl_set_int(L, "target_sample_size", (lua_Integer)c->target_sample_size);
    lsl_set_num(L, "alpha", c->alpha);
    lsl_set_num(L, "minimum_effect_size", c->minimum_effect_size);
    lsl_set_bool(L, "auto_promote", c->auto_promote);
    lsl_set_bool(L, "auto_rollback", c->auto_rollback);
    lsl_set_str(L, "created_by", c->created_by);
    lsl_push_strings(L, c->success_metrics, c->nsuccess);
    lua_setfield(L, -2, "success_metrics");
    lsl_push_strings(L, c->tags, c->ntags);
    lua_setfield(L, -2, "tags");
    lsl_push_ramp(L, c);
    lua_setfield(L, -2, "ramp");
    lsl_push_guards(L, c);
    lua_setfield(L, -2, "guard_metrics");
}

static void lsl_push_version_pair(lua_State *L, const char *k, const char *model,
                                  const char *version)
{
    lua_createtable(L, 0, 2);
    lsl_set_str(L, "model", model);
    lsl_set_str(L, "version", version);
    lua_setfield(L, -2, k);
}

static void lsl_push_test(lua_State *L, struct sl_engine *eng, const struct sl_test_info *t)
{
    const struct sl_test_config *c = t->config;
    lua_createtable(L, 0, 32);
    lsl_set_str(L, "kind", "test");
    lsl_push_test_config(L, c);
    lsl_push_version_pair(L, "control", c->model, c->control_version);
    lsl_push_version_pair(L, "treatment", c->model, c->treatment_version);
    lsl_set_str(L, "status", sl_test_status_name(t->status));
    lsl_set_num(L, "created_at", t->created_at);
    if (t->started_at)
        lsl_set_num(L, "started_at", t->started_at);
    if (t->ended_at)
        lsl_set_num(L, "ended_at", t->ended_at);
    lsl_set_num(L, "running_seconds", t->running_seconds);
    lsl_set_num(L, "age_hours", t->running_seconds / 3600.0);
    lsl_set_int(L, "ramp_step", t->ramp_step + 1);
    lua_createtable(L, 0, 2);
    lsl_set_num(L, "treatment", t->treatment_pct);
    lsl_set_num(L, "control", t->status == SL_TEST_PAUSED ? 100 : 100 - t->treatment_pct);
    lua_setfield(L, -2, "allocation");
    lsl_push_alloc_history(L, t);
    lua_setfield(L, -2, "allocation_history");
    lsl_set_str(L, "last_reason", t->last_reason);
    lsl_set_bool(L, "in_history", t->in_history);
    lsl_push_arms(L, eng, c->id, "control", "treatment");
    lua_setfield(L, -2, "metrics");
    struct sl_test_stats st;
    if (sl_engine_test_stats(eng, c->id, &st, NULL) == 0) {
        lsl_push_test_stats(L, &st);
        lua_setfield(L, -2, "stats");
    }
    if (t->recommendation) {
        lsl_set_str(L, "recommendation", sl_recommendation_name(t->recommendation));
        lsl_set_str(L, "recommendation_reason", t->recommendation_reason);
    }
}

/* eng:test(id) -> table | nil, msg */
int lsl_engine_test(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    const char *id = luaL_checkstring(L, 2);
    struct sl_test_info t;
    struct sl_err err;
    int rc = sl_engine_test(u->eng, id, &t, &err);
    if (rc == 0)
        lsl_push_test(L, u->eng, &t);
    lsl_engine_after(L, u);
    return rc ? sl_lua_fail(L, &err) : 1;
}

/* eng:tests() -> array of test tables (active tests, creation order) */
int lsl_engine_tests(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    size_t n = sl_engine_test_count(u->eng);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        struct sl_test_info t;
        sl_engine_test_at(u->eng, i, &t);
        lsl_push_test(L, u->eng, &t);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lsl_engine_after(L, u);
    return 1;
}

/* ---- canaries -------------------------------------------------------------------------------- */

static void lsl_push_criteria(lua_State *L, const struct sl_canary_config *c)
{
    lua_createtable(L, (int)c->ncriteria, 0);
    for (size_t i = 0; i < c->ncriteria; i++) {
        lua_createtable(L, 0, 4);
        lsl_set_str(L, "metric", c->criteria[i].metric);
        lsl_set_str(L, "op", sl_op_name(c->criteria[i].op));
        lsl_set_num(L, "value", c->criteria[i].value);
        lsl_set_num(L, "for_minutes", c->criteria[i].for_minutes);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static void lsl_push_checks(lua_State *L, const struct sl_canary_info *k)
{
    lua_createtable(L, (int)k->nchecks, 0);
    for (size_t i = 0; i < k->nchecks; i++) {
        lua_createtable(L, 0, 4);
        lsl_set_num(L, "at", k->checks[i].at);
        lsl_set_str(L, "health", sl_health_name(k->checks[i].health));
        lsl_set_num(L, "error_rate", k->checks[i].error_rate);
        lsl_set_bool(L, "passed", k->checks[i].passed);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static void lsl_push_canary(lua_State *L, struct sl_engine *eng, const struct sl_canary_info *k)
{
    const struct sl_canary_config *c = k->config;
    lua_createtable(L, 0, 28);
    lsl_set_str(L, "kind", "canary");
    lsl_set_str(L, "id", c->id);
    lsl_set_str(L, "name", c->name);
    lsl_set_str(L, "model", c->model);
    lsl_set_str(L, "stable", c->stable);
    lsl_set_str(L, "canary", c->canary);
    lsl_set_num(L, "traffic", k->traffic_pct);
    lsl_set_num(L, "configured_traffic", c->traffic);
    lsl_set_num(L, "duration_minutes", c->duration_minutes);
    lsl_set_num(L, "success_threshold", c->success_threshold);
    lsl_set_num(L, "error_threshold", c->error_threshold);
    lsl_set_bool(L, "auto_promote", c->auto_promote);
    lsl_set_bool(L, "auto_rollback", c->auto_rollback);
    lsl_set_num(L, "health_check_interval_ms", c->health_check_interval_ms);
    lsl_set_str(L, "created_by", c->created_by);
    lsl_push_criteria(L, c);
    lua_setfield(L, -2, "promotion_criteria");
    lsl_push_strings(L, c->metrics, c->nmetrics);
    lua_setfield(L, -2, "metrics_declared");
    lsl_set_str(L, "status", sl_canary_status_name(k->status));
    lsl_set_num(L, "created_at", k->created_at);
    if (k->started_at)
        lsl_set_num(L, "started_at", k->started_at);
    if (k->ended_at)
        lsl_set_num(L, "ended_at", k->ended_at);
    lsl_push_checks(L, k);
    lua_setfield(L, -2, "health_checks");
    if (k->rollback_trigger)
        lsl_set_str(L, "rollback_trigger", sl_trigger_name(k->rollback_trigger));
    lsl_set_str(L, "outcome", k->outcome);
    lsl_set_str(L, "last_reason", k->last_reason);
    lsl_set_bool(L, "in_history", k->in_history);
    lsl_push_arms(L, eng, c->id, "stable", "canary");
    lua_setfield(L, -2, "metrics");
}

/* eng:canary(id) -> table | nil, msg */
int lsl_engine_canary(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    const char *id = luaL_checkstring(L, 2);
    struct sl_canary_info k;
    struct sl_err err;
    int rc = sl_engine_canary(u->eng, id, &k, &err);
    if (rc == 0)
        lsl_push_canary(L, u->eng, &k);
    lsl_engine_after(L, u);
    return rc ? sl_lua_fail(L, &err) : 1;
}

/* eng:canaries() -> array of canary tables (not finished) */
int lsl_engine_canaries(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    size_t n = sl_engine_canary_count(u->eng);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        struct sl_canary_info k;
        sl_engine_canary_at(u->eng, i, &k);
        lsl_push_canary(L, u->eng, &k);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lsl_engine_after(L, u);
    return 1;
}

/* eng:history([n]) -> array of finished tests and canaries, newest first */
int lsl_engine_history(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    lua_Integer want = luaL_optinteger(L, 2, 20);
    luaL_argcheck(L, want >= 0, 2, "count must be >= 0");
    size_t n = sl_engine_history_count(u->eng);
    if ((size_t)want < n)
        n = (size_t)want;
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        int kind;
        const char *id = sl_engine_history_at(u->eng, i, &kind);
        struct sl_test_info t;
        struct sl_canary_info k;
        if (kind == SL_KIND_TEST && sl_engine_test(u->eng, id, &t, NULL) == 0)
            lsl_push_test(L, u->eng, &t);
        else if (sl_engine_canary(u->eng, id, &k, NULL) == 0)
            lsl_push_canary(L, u->eng, &k);
        else
            lua_pushnil(L);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lsl_engine_after(L, u);
    return 1;
}

/* ---- models and events ------------------------------------------------------------------------
 */

/* eng:models() -> array of {id, live, claimed_by, versions = {...}} */
int lsl_engine_models(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    size_t n = sl_engine_model_count(u->eng);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        struct sl_model_info m;
        sl_engine_model_at(u->eng, i, &m);
        lua_createtable(L, 0, 4);
        lsl_set_str(L, "id", m.id);
        lsl_set_str(L, "live", m.live);
        lsl_set_str(L, "claimed_by", m.claimed_by);
        lua_createtable(L, (int)m.nversions, 0);
        for (size_t j = 0; j < m.nversions; j++) {
            struct sl_version_info v;
            sl_engine_model_version_at(u->eng, m.id, j, &v);
            lua_createtable(L, 0, 5);
            lsl_set_str(L, "version", v.version);
            lsl_set_str(L, "path", v.path);
            lsl_set_str(L, "config", v.config);
            lsl_set_str(L, "health", sl_health_name(v.health));
            lsl_set_num(L, "loaded_at", v.loaded_at);
            lua_rawseti(L, -2, (lua_Integer)j + 1);
        }
        lua_setfield(L, -2, "versions");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static void lsl_push_event(lua_State *L, const struct sl_event *e)
{
    static const char *const kinds[] = {"model",  "lifecycle", "allocation", "decision",
                                        "health", "error",     "policy"};
    lua_createtable(L, 0, 10);
    lsl_set_int(L, "seq", (lua_Integer)e->seq);
    lsl_set_num(L, "at", e->at);
    lsl_set_str(L, "kind", kinds[e->kind]);
    lsl_set_str(L, "subject", e->subject);
    lsl_set_str(L, "actor", e->actor);
    lsl_set_str(L, "action", e->action);
    if (e->from[0])
        lsl_set_str(L, "from", e->from);
    if (e->to[0])
        lsl_set_str(L, "to", e->to);
    lsl_set_num(L, "value", e->value);
    if (e->reason[0])
        lsl_set_str(L, "reason", e->reason);
    lsl_set_str(L, "detail", e->detail);
}

/* eng:events([n]) -> the last n events (default 50), oldest first;
 * eng:events{since = seq, limit = n} -> events after seq. */
int lsl_engine_events(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    uint64_t last = sl_engine_last_seq(u->eng), since;
    lua_Integer limit;
    if (lua_istable(L, 2)) {
        static const char *const keys[] = {"since", "limit", NULL};
        sl_lua_check_keys(L, 2, "events", keys);
        since = (uint64_t)sl_lua_field_number(L, 2, "events", "since", 0);
        limit = (lua_Integer)sl_lua_field_number(L, 2, "events", "limit", 1000);
    } else {
        limit = luaL_optinteger(L, 2, 50);
        since = last > (uint64_t)(limit > 0 ? limit : 0) ? last - (uint64_t)limit : 0;
    }
    luaL_argcheck(L, limit >= 0 && limit <= 100000, 2, "limit must be in 0..100000");
    const struct sl_event *buf[256];
    lua_newtable(L);
    lua_Integer k = 0;
    while (k < limit) {
        size_t want = (size_t)(limit - k) < 256 ? (size_t)(limit - k) : 256;
        size_t got = sl_engine_events(u->eng, since, buf, want);
        for (size_t i = 0; i < got; i++) {
            lsl_push_event(L, buf[i]);
            lua_rawseti(L, -2, ++k);
        }
        if (got < want)
            break;
        since = buf[got - 1]->seq;
    }
    return 1;
}

/* ---- statistics ------------------------------------------------------------------- */

static void lsl_push_analysis(lua_State *L, const struct sl_metric_analysis *m, bool proportion)
{
    lua_createtable(L, 0, 14);
    lsl_set_int(L, "n1", (lua_Integer)m->n1);
    lsl_set_int(L, "n2", (lua_Integer)m->n2);
    if (m->valid) {
        lsl_set_num(L, proportion ? "p1" : "mean1", m->mean1);
        lsl_set_num(L, proportion ? "p2" : "mean2", m->mean2);
        lsl_set_num(L, "diff", m->diff);
        lsl_set_num(L, "se", m->se);
        lsl_set_num(L, "p", m->p);
        lsl_set_num(L, "ci_low", m->ci_low);
        lsl_set_num(L, "ci_high", m->ci_high);
    }
    lua_createtable(L, 0, 4);
    lsl_set_num(L, "p", m->seq_p);
    lsl_set_num(L, "ci_low", isinf(m->seq_ci_low) ? NAN : m->seq_ci_low);
    lsl_set_num(L, "ci_high", isinf(m->seq_ci_high) ? NAN : m->seq_ci_high);
    lsl_set_int(L, "looks", (lua_Integer)m->looks);
    lua_setfield(L, -2, "sequential");
    lsl_set_num(L, "power", m->power);
    lsl_set_num(L, "needed", m->needed);
}

const char *const lsl_stats_parts[LSL_NSTATS_PARTS] = {"srm", "error_rate", "latency", "metrics"};

bool lsl_push_stats_part(lua_State *L, const struct sl_test_stats *s, const char *key)
{
    if (strcmp(key, "srm") == 0) {
        lua_createtable(L, 0, 4);
        lsl_set_num(L, "chi2", s->srm_chi2);
        lsl_set_int(L, "df", 1);
        lsl_set_num(L, "p", s->srm_p);
        lsl_set_num(L, "expected_treatment_share", s->expected_treatment_share);
    } else if (strcmp(key, "error_rate") == 0) {
        lsl_push_analysis(L, &s->error_rate, true);
    } else if (strcmp(key, "latency") == 0) {
        lsl_push_analysis(L, &s->latency, false);
    } else if (strcmp(key, "metrics") == 0) {
        lua_createtable(L, 0, (int)s->nmetrics);
        for (size_t j = 0; j < s->nmetrics; j++) {
            lsl_push_analysis(L, &s->metrics[j], false);
            lua_setfield(L, -2, s->metrics[j].name);
        }
    } else {
        return false;
    }
    return true;
}

void lsl_push_stats_top(lua_State *L, const struct sl_test_stats *s)
{
    lua_createtable(L, 0, 6);
    if (s->nmetrics) { /* the primary success metric's power, at the top level too */
        lsl_set_num(L, "power", s->metrics[0].power);
        lsl_set_num(L, "needed", s->metrics[0].needed);
    }
}

void lsl_push_test_stats(lua_State *L, const struct sl_test_stats *s)
{
    lsl_push_stats_top(L, s);
    for (int i = 0; i < LSL_NSTATS_PARTS; i++) {
        lsl_push_stats_part(L, s, lsl_stats_parts[i]);
        lua_setfield(L, -2, lsl_stats_parts[i]);
    }
}
