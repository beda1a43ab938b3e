/* lsl_module.c - luaopen_sluice: the `require "sluice"` entry point, plus the
 * argument helpers shared by the binding files. */
#include <string.h>

#include "lsl.h"
#include "lsl_stats.h"

int sl_lua_fail(lua_State *L, const struct sl_err *err)
{
    lua_pushnil(L);
    lua_pushstring(L, err->msg[0] ? err->msg : "unknown error");
    return 2;
}

void sl_lua_check_keys(lua_State *L, int idx, const char *what, const char *const *allowed)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* STACK: key value */
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s: keys must be strings (got a %s key)", what, luaL_typename(L, -1));
        const char *k = lua_tostring(L, -1);
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k) != 0)
            i++;
        if (!allowed[i])
            luaL_error(L, "%s: unknown key '%s'", what, k);
    }
}

/* Push t[key] and raise if it is neither nil nor of type want. [-0, +1, v] */
static int sl_lua_field(lua_State *L, int idx, const char *what, const char *key, int want)
{
    int t = lua_getfield(L, idx, key);
    if (t != LUA_TNIL && t != want)
        luaL_error(L, "%s.%s: expected a %s, got a %s", what, key, lua_typename(L, want),
                   luaL_typename(L, -1));
    return t != LUA_TNIL;
}

const char *sl_lua_field_string(lua_State *L, int idx, const char *what, const char *key)
{
    const char *s = sl_lua_field(L, idx, what, key, LUA_TSTRING) ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1); /* the table still holds the string */
    return s;
}

double sl_lua_field_number(lua_State *L, int idx, const char *what, const char *key, double dflt)
{
    double v = sl_lua_field(L, idx, what, key, LUA_TNUMBER) ? lua_tonumber(L, -1) : dflt;
    lua_pop(L, 1);
    return v;
}

int sl_lua_field_bool(lua_State *L, int idx, const char *what, const char *key, int dflt)
{
    int v = sl_lua_field(L, idx, what, key, LUA_TBOOLEAN) ? lua_toboolean(L, -1) : dflt;
    lua_pop(L, 1);
    return v;
}

/* sluice.bucket(salt, unit) -> number in [0,1)   [-0, +1, v] */
static int lsl_bucket(lua_State *L)
{
    size_t sl, ul;
    const char *salt = luaL_checklstring(L, 1, &sl);
    const char *unit = luaL_checklstring(L, 2, &ul);
    lua_pushnumber(L, sl_bucket(salt, sl, unit, ul));
    return 1;
}

static const luaL_Reg sl_lua_functions[] = {
    {"bucket", lsl_bucket},
    {NULL, NULL},
};

__attribute__((visibility("default"))) int luaopen_sluice(lua_State *L);
int luaopen_sluice(lua_State *L)
{
    luaL_newlib(L, sl_lua_functions);
    lua_pushliteral(L, SLUICE_VERSION);
    lua_setfield(L, -2, "version");
    sl_lua_open_sketch(L);
    sl_lua_open_engine(L);
    sl_lua_push_stats(L);
    lua_setfield(L, -2, "stats");
    return 1;
}
