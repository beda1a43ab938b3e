/* lsl_engine.c - sluice.engine{...}: the in-memory engine as a Lua value.
 *
 *   local eng = sluice.engine{ clock = function() return t end }
 *   eng:add_model{ id = "ranker", version = "v1" }
 *   local id = eng:create_test{ name = "new ranker", model = "ranker",
 *                               control = "v1", treatment = "v2" }
 *   eng:start(id); local variant, version = eng:route("ranker", "user-42")
 *   eng:record(id, variant, true, 12.5); eng:tick(); print(eng:test(id).status)
 *
 * Shape errors (wrong types, unknown keys) raise; failures that depend on the
 * engine's state (unknown model, illegal transition) return nil, message.
 * Config parsing lives in lsl_config.c, snapshots in lsl_snapshot.c. */
#include <math.h>
#include <string.h>

#include "lsl.h"
#include "host.h"
#include "lsl_engine.h"

#define SL_ENGINE_MT "sluice.Engine"

/* ---- the userdata and its clock ------------------------------------------------ */

static double lsl_clock(void *ud)
{
    struct lsl_engine *u = ud;
    lua_State *L = u->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, u->clock_ref);
    if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
        snprintf(u->clock_err, sizeof u->clock_err, "clock failed: %s",
                 lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(non-string error)");
    } else if (!lua_isnumber(L, -1) || !isfinite(lua_tonumber(L, -1))) {
        snprintf(u->clock_err, sizeof u->clock_err, "clock returned a %s, not a finite number",
                 luaL_typename(L, -1));
    } else {
        double t = lua_tonumber(L, -1);
        if (t < u->last_time) /* time never goes backwards inside the engine */
            t = u->last_time;
        u->last_time = t;
    }
    lua_pop(L, 1);
    return isfinite(u->last_time) ? u->last_time : 0.0;
}

struct lsl_engine *lsl_check_engine(lua_State *L, int idx)
{
    struct lsl_engine *u = luaL_checkudata(L, idx, SL_ENGINE_MT);
    if (!u->eng)
        luaL_error(L, "engine is closed");
    u->L = L; /* the clock runs on the calling thread (coroutines included) */
    return u;
}

/* Raise if the clock failed during the last engine call. [-0, +0, v] */
void lsl_engine_after(lua_State *L, struct lsl_engine *u)
{
    if (u->clock_err[0]) {
        char msg[sizeof u->clock_err];
        memcpy(msg, u->clock_err, sizeof msg);
        u->clock_err[0] = '\0';
        luaL_error(L, "%s", msg);
    }
}

/* true, or nil + message, after checking the clock. [-0, +1|2, v] */
int lsl_engine_result(lua_State *L, struct lsl_engine *u, int rc, const struct sl_err *err)
{
    lsl_engine_after(L, u);
    if (rc)
        return sl_lua_fail(L, err);
    lua_pushboolean(L, 1);
    return 1;
}

static const char *const sl_engine_keys[] = {"clock",
                                             "max_tests",
                                             "max_canaries",
                                             "history",
                                             "shards",
                                             "window_seconds",
                                             "window_slots",
                                             "event_ring",
                                             "sticky_capacity",
                                             "policy_dirs",
                                             "policy_limits",
                                             "max_policy_failures",
                                             NULL};
static const char *const sl_limit_keys[] = {"memory_bytes", "instructions", "wall_ms", NULL};

/* Host options from engine{policy_dirs=, policy_limits=, max_policy_failures=};
 * the dirs stay borrowed from the options table (on the stack). Returns the
 * number of dirs. */
static size_t lsl_host_opts(lua_State *L, struct sl_host_opts *ho, const char **dirs, size_t max)
{
    sl_host_opts_default(ho);
    if (!lua_istable(L, 1))
        return 0;
    ho->max_failures =
        (int)sl_lua_field_number(L, 1, "engine", "max_policy_failures", ho->max_failures);
    if (lua_getfield(L, 1, "policy_limits") == LUA_TTABLE) {
        int t = lua_gettop(L);
        sl_lua_check_keys(L, t, "engine.policy_limits", sl_limit_keys);
        struct sl_sandbox_limits *l = &ho->limits;
        l->memory_bytes = (size_t)sl_lua_field_number(L, t, "policy_limits", "memory_bytes",
                                                      (double)l->memory_bytes);
        l->instructions = (long)sl_lua_field_number(L, t, "policy_limits", "instructions",
                                                    (double)l->instructions);
        l->wall_ms = sl_lua_field_number(L, t, "policy_limits", "wall_ms", l->wall_ms);
    }
    lua_pop(L, 1);
    size_t n = 0;
    if (lua_getfield(L, 1, "policy_dirs") != LUA_TNIL) {
        luaL_argcheck(L, lua_istable(L, -1), 1, "engine.policy_dirs must be a list of paths");
        for (n = 0; n < lua_rawlen(L, -1) && n < max; n++) {
            if (lua_rawgeti(L, -1, (lua_Integer)n + 1) != LUA_TSTRING)
                luaL_error(L, "engine.policy_dirs[%d]: expected a path", (int)n + 1);
            dirs[n] = lua_tostring(L, -1); /* held by the options table */
            lua_pop(L, 1);
        }
        if (n == 0)
            luaL_error(L, "engine.policy_dirs: empty list");
    }
    lua_pop(L, 1);
    return n;
}

static void lsl_engine_opts(lua_State *L, struct sl_engine_opts *o)
{
    sl_engine_opts_default(o);
    if (lua_isnoneornil(L, 1))
        return;
    luaL_checktype(L, 1, LUA_TTABLE);
    sl_lua_check_keys(L, 1, "engine", sl_engine_keys);
    o->max_tests = (int)sl_lua_field_number(L, 1, "engine", "max_tests", o->max_tests);
    o->max_canaries = (int)sl_lua_field_number(L, 1, "engine", "max_canaries", o->max_canaries);
    o->history = (int)sl_lua_field_number(L, 1, "engine", "history", o->history);
    o->shards = (int)sl_lua_field_number(L, 1, "engine", "shards", o->shards);
    o->window_seconds = sl_lua_field_number(L, 1, "engine", "window_seconds", o->window_seconds);
    o->window_slots = (int)sl_lua_field_number(L, 1, "engine", "window_slots", o->window_slots);
    o->event_ring = (int)sl_lua_field_number(L, 1, "engine", "event_ring", o->event_ring);
    o->sticky_capacity =
        (int)sl_lua_field_number(L, 1, "engine", "sticky_capacity", o->sticky_capacity);
}

/* sluice.engine([opts]) -> Engine   [-0, +1, v] */
static int lsl_engine_new(lua_State *L)
{
    struct sl_engine_opts o;
    lsl_engine_opts(L, &o);
    struct lsl_engine *u = lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    u->clock_ref = LUA_NOREF;
    u->L = L;
    luaL_setmetatable(L, SL_ENGINE_MT);
    if (lua_istable(L, 1) && lua_getfield(L, 1, "clock") != LUA_TNIL) {
        luaL_argcheck(L, lua_isfunction(L, -1), 1, "engine.clock must be a function");
        u->clock_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        o.clock = lsl_clock;
        o.clock_ud = u;
        u->last_time = -INFINITY;
    } else if (lua_istable(L, 1)) {
        lua_pop(L, 1); /* the nil clock field: the engine must stay on top */
    }
    struct sl_err err;
    struct sl_host_opts ho;
    const char *dirs[64];
    size_t ndirs = lsl_host_opts(L, &ho, dirs, 64);
    if (!(u->eng = sl_engine_new(&o, &err)))
        return luaL_error(L, "engine: %s", err.msg);
    if (ndirs) {
        ho.dirs = dirs;
        ho.ndirs = ndirs;
        if (!(u->host = sl_host_new(u->eng, &ho, &err)))
            return luaL_error(L, "engine: policies: %s", err.msg);
    }
    lsl_engine_after(L, u);
    return 1;
}

static int lsl_engine_gc(lua_State *L)
{
    struct lsl_engine *u = luaL_checkudata(L, 1, SL_ENGINE_MT);
    sl_host_delete(u->host); /* before the engine it evaluates for */
    u->host = NULL;
    sl_engine_delete(u->eng);
    u->eng = NULL;
    luaL_unref(L, LUA_REGISTRYINDEX, u->clock_ref);
    u->clock_ref = LUA_NOREF;
    return 0;
}

static int lsl_engine_tostring(lua_State *L)
{
    struct lsl_engine *u = luaL_checkudata(L, 1, SL_ENGINE_MT);
    if (!u->eng)
        lua_pushliteral(L, "sluice.engine(closed)");
    else
        lua_pushfstring(L, "sluice.engine(%d tests, %d canaries)",
                        (int)sl_engine_test_count(u->eng), (int)sl_engine_canary_count(u->eng));
    return 1;
}

/* ---- lifecycle verbs -------------------------------------------------------------- */

/* eng:<verb>(id [, reason]) -> true | nil, msg   [-0, +1|2, v] */
static int lsl_engine_verb(lua_State *L, int verb)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    const char *id = luaL_checkstring(L, 2);
    const char *reason = luaL_optstring(L, 3, NULL);
    struct sl_err err;
    int rc = sl_engine_act(u->eng, id, verb, "user", reason, &err);
    return lsl_engine_result(L, u, rc, &err);
}
static int lsl_engine_start(lua_State *L)
{
    return lsl_engine_verb(L, SL_VERB_START);
}
static int lsl_engine_pause(lua_State *L)
{
    return lsl_engine_verb(L, SL_VERB_PAUSE);
}
static int lsl_engine_resume(lua_State *L)
{
    return lsl_engine_verb(L, SL_VERB_RESUME);
}
static int lsl_engine_stop(lua_State *L)
{
    return lsl_engine_verb(L, SL_VERB_STOP);
}
static int lsl_engine_promote(lua_State *L)
{
    return lsl_engine_verb(L, SL_VERB_PROMOTE);
}
static int lsl_engine_retry(lua_State *L)
{
    return lsl_engine_verb(L, SL_VERB_RETRY);
}
static int lsl_engine_fail(lua_State *L)
{
    return lsl_engine_verb(L, SL_VERB_FAIL);
}

/* eng:rollback(id [, reason [, trigger]]) -> true | nil, msg; trigger names a
 * canary rollback trigger ("error_rate", ..., default "manual"). */
static int lsl_engine_rollback(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    const char *id = luaL_checkstring(L, 2);
    const char *reason = luaL_optstring(L, 3, NULL);
    const char *tname = luaL_optstring(L, 4, "manual");
    int trigger = sl_trigger_parse(tname);
    luaL_argcheck(L, trigger >= 0, 4, "unknown rollback trigger");
    struct sl_err err;
    struct sl_canary_info ci;
    int rc = sl_engine_canary(u->eng, id, &ci, NULL) == 0
                 ? sl_engine_rollback_canary(u->eng, id, trigger, "user", reason, &err)
                 : sl_engine_act(u->eng, id, SL_VERB_ROLLBACK, "user", reason, &err);
    return lsl_engine_result(L, u, rc, &err);
}

/* eng:set_traffic(id, percent [, reason]) -> true | nil, msg */
static int lsl_engine_set_traffic(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    const char *id = luaL_checkstring(L, 2);
    double pct = luaL_checknumber(L, 3);
    const char *reason = luaL_optstring(L, 4, NULL);
    struct sl_err err;
    int rc = sl_engine_set_allocation(u->eng, id, pct, "user", reason, &err);
    return lsl_engine_result(L, u, rc, &err);
}

/* eng:tick() -> true | nil, msg */
static int lsl_engine_tick(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    struct sl_err err;
    int rc = sl_engine_tick(u->eng, &err);
    return lsl_engine_result(L, u, rc, &err);
}

/* eng:now() -> number (engine time, seconds) */
static int lsl_engine_now(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    double t = sl_engine_now(u->eng);
    lsl_engine_after(L, u);
    lua_pushnumber(L, t);
    return 1;
}

/* ---- routing and recording ----------------------------------------------------------- */

/* eng:route(model_or_id, unit) -> variant, version, id | nil, msg
 * variant is "control"/"treatment", "stable"/"canary", or "live" (id nil). */
static int lsl_engine_route(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    const char *key = luaL_checkstring(L, 2);
    const char *unit = luaL_checkstring(L, 3);
    struct sl_route r;
    struct sl_err err;
    if (sl_engine_route(u->eng, key, unit, &r, &err))
        return sl_lua_fail(L, &err);
    lua_pushstring(L, r.variant);
    lua_pushstring(L, r.version);
    if (r.id)
        lua_pushstring(L, r.id);
    else
        lua_pushnil(L);
    return 3;
}

static int lsl_arm(const char *variant)
{
    if (strcmp(variant, "control") == 0 || strcmp(variant, "stable") == 0)
        return SL_ARM_CONTROL;
    if (strcmp(variant, "treatment") == 0 || strcmp(variant, "canary") == 0)
        return SL_ARM_TREATMENT;
    return -1;
}

/* Collect {name = value} custom metrics into samples (boxed on the stack so a
 * raise cannot leak). Returns the count, or -1 with err for an undeclared name. */
static int lsl_samples(lua_State *L, struct lsl_engine *u, int idx, const char *id,
                       struct sl_sample *out, struct sl_err *err)
{
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* STACK: name value */
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "record: metrics must map names to numbers");
        if (n == SL_MAX_METRICS)
            luaL_error(L, "record: more than %d metrics", SL_MAX_METRICS);
        out[n].metric = sl_engine_metric_index(u->eng, id, lua_tostring(L, -2));
        out[n].value = lua_tonumber(L, -1);
        if (out[n].metric < 0) {
            sl_err_set(err, SL_EINVAL, "metric '%s' is not declared by '%s'", lua_tostring(L, -2),
                       id);
            lua_pop(L, 2);
            return -1;
        }
        n++;
        lua_pop(L, 1);
    }
    return n;
}

/* eng:record(id, variant, ok, latency_ms [, metrics]) -> true | nil, msg */
static int lsl_engine_record(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    const char *id = luaL_checkstring(L, 2);
    const char *variant = luaL_checkstring(L, 3);
    luaL_checktype(L, 4, LUA_TBOOLEAN);
    double latency = luaL_checknumber(L, 5);
    struct sl_sample samples[SL_MAX_METRICS];
    struct sl_err err;
    int n = 0, arm = lsl_arm(variant);
    if (!lua_isnoneornil(L, 6)) {
        luaL_checktype(L, 6, LUA_TTABLE);
        if ((n = lsl_samples(L, u, 6, id, samples, &err)) < 0)
            return sl_lua_fail(L, &err);
    }
    if (arm < 0) {
        sl_err_set(&err, SL_EINVAL, "unknown variant '%s'", variant);
        return sl_lua_fail(L, &err);
    }
    int rc =
        sl_engine_record(u->eng, id, arm, lua_toboolean(L, 4), latency, samples, (size_t)n, &err);
    return lsl_engine_result(L, u, rc, &err);
}

/* eng:override(test_id, unit, variant_or_nil) -> true | nil, msg (sticky tests) */
static int lsl_engine_override(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    const char *id = luaL_checkstring(L, 2);
    const char *unit = luaL_checkstring(L, 3);
    int arm = -1;
    if (!lua_isnoneornil(L, 4)) {
        arm = lsl_arm(luaL_checkstring(L, 4));
        luaL_argcheck(L, arm >= 0, 4, "variant must be control or treatment");
    }
    struct sl_err err;
    int rc = sl_engine_set_override(u->eng, id, unit, arm, &err);
    return lsl_engine_result(L, u, rc, &err);
}

/* eng:variant_bytes(id, variant) -> integer: metric memory held for it */
static int lsl_engine_variant_bytes(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    const char *id = luaL_checkstring(L, 2);
    int arm = lsl_arm(luaL_checkstring(L, 3));
    luaL_argcheck(L, arm >= 0, 3, "unknown variant");
    lua_pushinteger(L, (lua_Integer)sl_engine_variant_bytes(u->eng, id, arm));
    return 1;
}

/* ---- registration ---------------------------------------------------------------------- */

static const luaL_Reg sl_engine_methods[] = {
    {"add_model", lsl_engine_add_model},
    {"set_health", lsl_engine_set_health},
    {"set_live", lsl_engine_set_live},
    {"models", lsl_engine_models},
    {"create_test", lsl_engine_create_test},
    {"create_canary", lsl_engine_create_canary},
    {"start", lsl_engine_start},
    {"pause", lsl_engine_pause},
    {"resume", lsl_engine_resume},
    {"stop", lsl_engine_stop},
    {"promote", lsl_engine_promote},
    {"rollback", lsl_engine_rollback},
    {"retry", lsl_engine_retry},
    {"fail", lsl_engine_fail},
    {"set_traffic", lsl_engine_set_traffic},
    {"override", lsl_engine_override},
    {"route", lsl_engine_route},
    {"record", lsl_engine_record},
    {"tick", lsl_engine_tick},
    {"now", lsl_engine_now},
    {"test", lsl_engine_test},
    {"tests", lsl_engine_tests},
    {"canary", lsl_engine_canary},
    {"canaries", lsl_engine_canaries},
    {"history", lsl_engine_history},
    {"events", lsl_engine_events},
    {"metrics", lsl_engine_metrics},
    {"variant_bytes", lsl_engine_variant_bytes},
    {"policies", lsl_engine_policies},
    {"reload_policies", lsl_engine_reload_policies},
    {"policy_log", lsl_engine_policy_log},
    {NULL, NULL},
};

void sl_lua_open_engine(lua_State *L)
{
    luaL_newmetatable(L, SL_ENGINE_MT);
    luaL_newlib(L, sl_engine_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, lsl_engine_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, lsl_engine_gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, lsl_engine_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    lua_pushcfunction(L, lsl_engine_new);
    lua_setfield(L, -2, "engine");
}
