/* lsl_config.c - Lua tables -> core configuration structs.
 *
 * The keys are the same as the HTTP API's JSON keys. Unknown keys and wrong
 * types raise; value rules (ranges, registered versions) are the core's and
 * come back as nil, message. Temporary arrays live in userdata boxes on the
 * Lua stack so that a raise cannot leak them; strings are borrowed from the
 * caller's table, which stays on the stack for the whole call. */
#include <string.h>

#include "lsl_engine.h"

/* Push t[key] if it is an array (a sequence), return its length; push nothing
 * and return 0 if absent. Raises otherwise. [-0, +(0|1), v] */
static size_t lsl_array(lua_State *L, int idx, const char *what, const char *key)
{
    if (lua_getfield(L, idx, key) == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1))
        luaL_error(L, "%s.%s: expected an array, got a %s", what, key, luaL_typename(L, -1));
    size_t n = lua_rawlen(L, -1), pairs = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        pairs++;
    }
    if (pairs != n)
        luaL_error(L, "%s.%s: expected an array (keys 1..n)", what, key);
    if (n == 0)
        lua_pop(L, 1);
    return n;
}

static void *lsl_box(lua_State *L, size_t n, size_t size)
{
    return lua_newuserdatauv(L, n ? n * size : 1, 0);
}

/* Array of strings at t[key]; the box is left on the stack. */
static const char **lsl_strings(lua_State *L, int idx, const char *what, const char *key, size_t *n)
{
    *n = lsl_array(L, idx, what, key);
    if (*n == 0)
        return NULL;
    const char **v = lsl_box(L, *n, sizeof *v);
    for (size_t i = 0; i < *n; i++) {
        if (lua_rawgeti(L, -2, (lua_Integer)i + 1) != LUA_TSTRING)
            luaL_error(L, "%s.%s[%d]: expected a string", what, key, (int)i + 1);
        v[i] = lua_tostring(L, -1); /* held by the array */
        lua_pop(L, 1);
    }
    return v;
}

/* Look name up in a NULL-terminated list; raise naming the choices. */
static int lsl_choice(lua_State *L, const char *what, const char *name, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return luaL_error(L, "%s: unknown value '%s'", what, name);
}

/* ---- models --------------------------------------------------------------------------- */

static const char *const sl_model_keys[] = {"id",     "version", "path", "config",
                                            "health", "live",    NULL};
static const char *const sl_health_list[] = {"healthy", "degraded", "unhealthy",
                                             "loading", "failed",   NULL};

/* eng:add_model{id=, version=, path=, config=, health=, live=} -> true | nil, msg */
int lsl_engine_add_model(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    sl_lua_check_keys(L, 2, "model", sl_model_keys);
    struct sl_version_config c = {0};
    c.model = sl_lua_field_string(L, 2, "model", "id");
    c.version = sl_lua_field_string(L, 2, "model", "version");
    c.path = sl_lua_field_string(L, 2, "model", "path");
    c.config = sl_lua_field_string(L, 2, "model", "config");
    const char *health = sl_lua_field_string(L, 2, "model", "health");
    c.health = health ? lsl_choice(L, "model.health", health, sl_health_list) : 0;
    c.live = sl_lua_field_bool(L, 2, "model", "live", 0);
    struct sl_err err;
    int rc = sl_engine_add_version(u->eng, &c, &err);
    return lsl_engine_result(L, u, rc, &err);
}

/* eng:set_health(model, version, health) -> true | nil, msg */
int lsl_engine_set_health(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    const char *model = luaL_checkstring(L, 2);
    const char *version = luaL_checkstring(L, 3);
    int h = lsl_choice(L, "health", luaL_checkstring(L, 4), sl_health_list);
    struct sl_err err;
    int rc = sl_engine_set_health(u->eng, model, version, h, &err);
    return lsl_engine_result(L, u, rc, &err);
}

/* eng:set_live(model, version) -> true | nil, msg */
int lsl_engine_set_live(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    const char *model = luaL_checkstring(L, 2);
    const char *version = luaL_checkstring(L, 3);
    struct sl_err err;
    int rc = sl_engine_set_live(u->eng, model, version, "user", &err);
    return lsl_engine_result(L, u, rc, &err);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static const char *const sl_test_keys[] = {"id",
                                           "name",
                                           "description",
                                           "model",
                                           "control",
                                           "treatment",
                                           "ramp",
                                           "routing",
                                           "duration_hours",
                                           "target_sample_size",
                                           "alpha",
                                           "minimum_effect_size",
                                           "auto_promote",
                                           "auto_rollback",
                                           "success_metrics",
                                           "guard_metrics",
                                           "created_by",
                                           "tags",
                                           "policies",
                                           NULL};
static const char *const sl_step_keys[] = {"at_hours", "treatment", "control", NULL};
static const char *const sl_arm_keys[] = {"model", "version", NULL};
static const char *const sl_guard_keys[] = {"metric", "type", "threshold", "action", NULL};
static const char *const sl_routing_list[] = {"hash", "random", "sticky", "weighted_round_robin",
                                              NULL};
static const char *const sl_guard_types[] = {"maximum", "minimum", "percentage", "absolute", NULL};
static const char *const sl_guard_actions[] = {"pause", "rollback", "alert", "reduce_traffic",
                                               NULL};

/* control/treatment: "version" or {model=, version=}. Sets *model when given. */
static const char *lsl_arm_version(lua_State *L, int idx, const char *key, const char **model)
{
    int t = lua_getfield(L, idx, key);
    const char *v = NULL;
    if (t == LUA_TSTRING) {
        v = lua_tostring(L, -1);
    } else if (t == LUA_TTABLE) {
        sl_lua_check_keys(L, -1, key, sl_arm_keys);
        const char *m = sl_lua_field_string(L, lua_gettop(L), key, "model");
        v = sl_lua_field_string(L, lua_gettop(L), key, "version");
        if (m && *model && strcmp(m, *model) != 0)
            luaL_error(L,
                       "%s.model: '%s' differs from '%s'; control and treatment are versions "
                       "of one model",
                       key, m, *model);
        if (m)
            *model = m;
    } else if (t != LUA_TNIL) {
        luaL_error(L, "%s: expected a version string or {model=, version=}", key);
    }
    lua_pop(L, 1); /* the caller's table keeps the strings alive */
    return v;
}

static struct sl_ramp_step *lsl_ramp(lua_State *L, int idx, size_t *n)
{
    *n = lsl_array(L, idx, "test", "ramp");
    if (*n == 0)
        return NULL;
    struct sl_ramp_step *r = lsl_box(L, *n, sizeof *r);
    for (size_t i = 0; i < *n; i++) {
        if (lua_rawgeti(L, -2, (lua_Integer)i + 1) != LUA_TTABLE)
            luaL_error(L, "test.ramp[%d]: expected {at_hours=, treatment=}", (int)i + 1);
        int top = lua_gettop(L);
        sl_lua_check_keys(L, top, "test.ramp[]", sl_step_keys);
        r[i].at_hours = sl_lua_field_number(L, top, "test.ramp[]", "at_hours", 0);
        r[i].treatment = sl_lua_field_number(L, top, "test.ramp[]", "treatment", -1);
        r[i].control = sl_lua_field_number(L, top, "test.ramp[]", "control", -1);
        if (r[i].treatment < 0)
            luaL_error(L, "test.ramp[%d].treatment: required", (int)i + 1);
        lua_pop(L, 1);
    }
    return r;
}

static struct sl_guard_config *lsl_guards(lua_State *L, int idx, size_t *n)
{
    *n = lsl_array(L, idx, "test", "guard_metrics");
    if (*n == 0)
        return NULL;
    struct sl_guard_config *g = lsl_box(L, *n, sizeof *g);
    for (size_t i = 0; i < *n; i++) {
        if (lua_rawgeti(L, -2, (lua_Integer)i + 1) != LUA_TTABLE)
            luaL_error(L, "test.guard_metrics[%d]: expected a table", (int)i + 1);
        int top = lua_gettop(L);
        const char *w = "test.guard_metrics[]";
        sl_lua_check_keys(L, top, w, sl_guard_keys);
        g[i].metric = sl_lua_field_string(L, top, w, "metric");
        const char *type = sl_lua_field_string(L, top, w, "type");
        const char *action = sl_lua_field_string(L, top, w, "action");
        g[i].type = lsl_choice(L, "guard_metrics.type", type ? type : "maximum", sl_guard_types);
        g[i].action =
            lsl_choice(L, "guard_metrics.action", action ? action : "alert", sl_guard_actions);
        g[i].threshold = sl_lua_field_number(L, top, w, "threshold", 0);
        lua_pop(L, 1);
    }
    return g;
}

static void lsl_test_config(lua_State *L, int idx, struct sl_test_config *c)
{
    const char *w = "test";
    sl_lua_check_keys(L, idx, w, sl_test_keys);
    memset(c, 0, sizeof *c);
    c->id = sl_lua_field_string(L, idx, w, "id");
    c->name = sl_lua_field_string(L, idx, w, "name");
    c->description = sl_lua_field_string(L, idx, w, "description");
    c->model = sl_lua_field_string(L, idx, w, "model");
    c->control_version = lsl_arm_version(L, idx, "control", &c->model);
    c->treatment_version = lsl_arm_version(L, idx, "treatment", &c->model);
    const char *routing = sl_lua_field_string(L, idx, w, "routing");
    c->routing = routing ? lsl_choice(L, "test.routing", routing, sl_routing_list) : 0;
    c->duration_hours = sl_lua_field_number(L, idx, w, "duration_hours", 0);
    double target = sl_lua_field_number(L, idx, w, "target_sample_size", 0);
    if (!(target >= 0 && target < 1e18))
        luaL_error(L, "test.target_sample_size: must be a count >= 0");
    c->target_sample_size = (uint64_t)target;
    c->alpha = sl_lua_field_number(L, idx, w, "alpha", 0.05);
    c->minimum_effect_size = sl_lua_field_number(L, idx, w, "minimum_effect_size", 0);
    c->auto_promote = sl_lua_field_bool(L, idx, w, "auto_promote", 0);
    c->auto_rollback = sl_lua_field_bool(L, idx, w, "auto_rollback", 0);
    c->created_by = sl_lua_field_string(L, idx, w, "created_by");
    c->ramp = lsl_ramp(L, idx, &c->nramp);
    c->success_metrics = lsl_strings(L, idx, w, "success_metrics", &c->nsuccess);
    c->tags = lsl_strings(L, idx, w, "tags", &c->ntags);
    c->guards = lsl_guards(L, idx, &c->nguards);
}

/* eng:create_test{...} -> id | nil, msg */
int lsl_engine_create_test(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    struct sl_test_config c;
    lsl_test_config(L, 2, &c);
    char id[SL_ID_MAX + 1];
    struct sl_err err;
    if (lua_getfield(L, 2, "policies") != LUA_TNIL &&
        !(c.policies = lsl_policies_json(L, u, -1, SL_KIND_TEST, &err)))
        return sl_lua_fail(L, &err);
    int rc = sl_engine_create_test(u->eng, &c, id, &err);
    lsl_engine_after(L, u);
    if (rc)
        return sl_lua_fail(L, &err);
    lua_pushstring(L, id);
    return 1;
}

/* ---- canaries ---------------------------------------------------------------------------------
 */

static const char *const sl_canary_keys[] = {"id",
                                             "name",
                                             "model",
                                             "stable",
                                             "canary",
                                             "traffic",
                                             "duration_minutes",
                                             "success_threshold",
                                             "error_threshold",
                                             "auto_promote",
                                             "auto_rollback",
                                             "health_check_interval_ms",
                                             "promotion_criteria",
                                             "metrics",
                                             "created_by",
                                             "policies",
                                             NULL};
static const char *const sl_criterion_keys[] = {"metric", "op", "value", "for_minutes", NULL};
static const char *const sl_op_list[] = {">", "<", ">=", "<=", "==", "!=", NULL};

static struct sl_criterion *lsl_criteria(lua_State *L, int idx, size_t *n)
{
    *n = lsl_array(L, idx, "canary", "promotion_criteria");
    if (*n == 0)
        return NULL;
    struct sl_criterion *c = lsl_box(L, *n, sizeof *c);
    for (size_t i = 0; i < *n; i++) {
        if (lua_rawgeti(L, -2, (lua_Integer)i + 1) != LUA_TTABLE)
            luaL_error(L, "canary.promotion_criteria[%d]: expected a table", (int)i + 1);
        int top = lua_gettop(L);
        const char *w = "canary.promotion_criteria[]";
        sl_lua_check_keys(L, top, w, sl_criterion_keys);
        c[i].metric = sl_lua_field_string(L, top, w, "metric");
        const char *op = sl_lua_field_string(L, top, w, "op");
        c[i].op = lsl_choice(L, "promotion_criteria.op", op ? op : ">=", sl_op_list);
        c[i].value = sl_lua_field_number(L, top, w, "value", 0);
        c[i].for_minutes = sl_lua_field_number(L, top, w, "for_minutes", 0);
        lua_pop(L, 1);
    }
    return c;
}

static void lsl_canary_config(lua_State *L, int idx, struct sl_canary_config *c)
{
    const char *w = "canary";
    sl_lua_check_keys(L, idx, w, sl_canary_keys);
    memset(c, 0, sizeof *c);
    c->id = sl_lua_field_string(L, idx, w, "id");
    c->name = sl_lua_field_string(L, idx, w, "name");
    c->model = sl_lua_field_string(L, idx, w, "model");
    c->stable = sl_lua_field_string(L, idx, w, "stable");
    c->canary = sl_lua_field_string(L, idx, w, "canary");
    c->traffic = sl_lua_field_number(L, idx, w, "traffic", 10);
    c->duration_minutes = sl_lua_field_number(L, idx, w, "duration_minutes", 0);
    c->success_threshold = sl_lua_field_number(L, idx, w, "success_threshold", 0);
    c->error_threshold = sl_lua_field_number(L, idx, w, "error_threshold", 0);
    c->auto_promote = sl_lua_field_bool(L, idx, w, "auto_promote", 0);
    c->auto_rollback = sl_lua_field_bool(L, idx, w, "auto_rollback", 0);
    c->health_check_interval_ms = sl_lua_field_number(L, idx, w, "health_check_interval_ms", 10000);
    c->created_by = sl_lua_field_string(L, idx, w, "created_by");
    c->criteria = lsl_criteria(L, idx, &c->ncriteria);
    c->metrics = lsl_strings(L, idx, w, "metrics", &c->nmetrics);
}

/* eng:create_canary{...} -> id | nil, msg */
int lsl_engine_create_canary(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    struct sl_canary_config c;
    lsl_canary_config(L, 2, &c);
    char id[SL_ID_MAX + 1];
    struct sl_err err;
    if (lua_getfield(L, 2, "policies") != LUA_TNIL &&
        !(c.policies = lsl_policies_json(L, u, -1, SL_KIND_CANARY, &err)))
        return sl_lua_fail(L, &err);
    int rc = sl_engine_create_canary(u->eng, &c, id, &err);
    lsl_engine_after(L, u);
    if (rc)
        return sl_lua_fail(L, &err);
    lua_pushstring(L, id);
    return 1;
}
