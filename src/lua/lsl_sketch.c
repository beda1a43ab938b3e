/* lsl_sketch.c - sluice.sketch(): the latency sketch as a Lua value.
 *
 *   local s = sluice.sketch()
 *   s:add(12.5); s:quantile(0.99); s:count(); s:merge(other)
 */
#include <math.h>

#include "lsl.h"
#include "sketch.h"

#define SL_SKETCH_MT "sluice.Sketch"

struct sl_sketch *sl_lua_check_sketch(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, SL_SKETCH_MT);
}

void sl_lua_push_sketch(lua_State *L, const struct sl_sketch *s)
{
    struct sl_sketch *u = lua_newuserdatauv(L, sizeof *u, 0);
    *u = *s;
    luaL_setmetatable(L, SL_SKETCH_MT);
}

/* sluice.sketch() -> Sketch   [-0, +1, m] */
static int lsl_sketch_new(lua_State *L)
{
    struct sl_sketch s;
    sl_sketch_init(&s);
    sl_lua_push_sketch(L, &s);
    return 1;
}

/* s:add(x [, count]) -> s; x finite and >= 0   [-0, +1, v] */
static int lsl_sketch_add(lua_State *L)
{
    struct sl_sketch *s = sl_lua_check_sketch(L, 1);
    double x = luaL_checknumber(L, 2);
    lua_Integer n = luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, isfinite(x) && x >= 0, 2, "value must be a finite number >= 0");
    luaL_argcheck(L, n >= 0, 3, "count must be >= 0");
    for (lua_Integer i = 0; i < n; i++)
        sl_sketch_add(s, x);
    lua_settop(L, 1);
    return 1;
}

/* s:quantile(q) -> number or nil when empty; q in [0,1]   [-0, +1, v] */
static int lsl_sketch_quantile(lua_State *L)
{
    struct sl_sketch *s = sl_lua_check_sketch(L, 1);
    double q = luaL_checknumber(L, 2);
    luaL_argcheck(L, q >= 0 && q <= 1, 2, "quantile must be in [0,1]");
    if (s->n == 0)
        lua_pushnil(L);
    else
        lua_pushnumber(L, sl_sketch_quantile(s, q));
    return 1;
}

/* s:count() -> integer   [-0, +1, v] */
static int lsl_sketch_count(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)sl_lua_check_sketch(L, 1)->n);
    return 1;
}

/* s:sum(), s:min(), s:max(), s:mean() -> number (nil when empty)   [-0, +1, v] */
static int lsl_sketch_stat(lua_State *L, int which)
{
    struct sl_sketch *s = sl_lua_check_sketch(L, 1);
    double v[] = {s->sum, s->min, s->max, s->n ? s->sum / (double)s->n : 0};
    if (s->n == 0 && which != 0)
        lua_pushnil(L);
    else
        lua_pushnumber(L, v[which]);
    return 1;
}
static int lsl_sketch_sum(lua_State *L)
{
    return lsl_sketch_stat(L, 0);
}
static int lsl_sketch_min(lua_State *L)
{
    return lsl_sketch_stat(L, 1);
}
static int lsl_sketch_max(lua_State *L)
{
    return lsl_sketch_stat(L, 2);
}
static int lsl_sketch_mean(lua_State *L)
{
    return lsl_sketch_stat(L, 3);
}

/* s:merge(other) -> s   [-0, +1, v] */
static int lsl_sketch_merge(lua_State *L)
{
    struct sl_sketch *s = sl_lua_check_sketch(L, 1);
    sl_sketch_merge(s, sl_lua_check_sketch(L, 2));
    lua_settop(L, 1);
    return 1;
}

/* s:counts() -> array of the bucket counts (for sluice.stats.mann_whitney_counts) */
static int lsl_sketch_counts(lua_State *L)
{
    struct sl_sketch *s = sl_lua_check_sketch(L, 1);
    lua_createtable(L, SL_SKETCH_NB, 0);
    for (int i = 0; i < SL_SKETCH_NB; i++) {
        lua_pushinteger(L, (lua_Integer)s->counts[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int lsl_sketch_tostring(lua_State *L)
{
    struct sl_sketch *s = sl_lua_check_sketch(L, 1);
    if (s->n == 0)
        lua_pushliteral(L, "sluice.sketch(empty)");
    else
        lua_pushfstring(L, "sluice.sketch(n=%I, p50=%f, p99=%f)", (lua_Integer)s->n,
                        sl_sketch_quantile(s, 0.5), sl_sketch_quantile(s, 0.99));
    return 1;
}

static const luaL_Reg sl_sketch_methods[] = {
    {"add", lsl_sketch_add},       {"quantile", lsl_sketch_quantile},
    {"count", lsl_sketch_count},   {"sum", lsl_sketch_sum},
    {"min", lsl_sketch_min},       {"max", lsl_sketch_max},
    {"mean", lsl_sketch_mean},     {"merge", lsl_sketch_merge},
    {"counts", lsl_sketch_counts}, {NULL, NULL},
};

void sl_lua_open_sketch(lua_State *L)
{
    luaL_newmetatable(L, SL_SKETCH_MT);
    luaL_newlib(L, sl_sketch_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, lsl_sketch_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    lua_pushcfunction(L, lsl_sketch_new);
    lua_setfield(L, -2, "sketch");
}
