#include "lsl_json.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include <lauxlib.h>

void sl_lua_push_json(lua_State *L, const cJSON *j)
{
    if (cJSON_IsBool(j)) {
        lua_pushboolean(L, cJSON_IsTrue(j));
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            lua_pushinteger(L, (lua_Integer)d); /* counts stay integers in 5.4 */
        else
            lua_pushnumber(L, d);
    } else if (cJSON_IsString(j)) {
        lua_pushstring(L, j->valuestring);
    } else if (cJSON_IsArray(j) || cJSON_IsObject(j)) {
        bool array = cJSON_IsArray(j);
        /* Each level holds a table and a child: nesting up to cJSON's limit
         * outgrows the LUA_MINSTACK slots a C function is given. */
        luaL_checkstack(L, 3, "JSON nested too deeply");
        lua_createtable(L, array ? cJSON_GetArraySize(j) : 0, array ? 0 : 4);
        lua_Integer i = 0;
        for (const cJSON *c = j->child; c; c = c->next) {
            sl_lua_push_json(L, c);
            if (array)
                lua_rawseti(L, -2, ++i);
            else
                lua_setfield(L, -2, c->string);
        }
    } else {
        lua_pushnil(L);
    }
}

static int sl_json_tree_close(lua_State *L)
{
    cJSON **tree = lua_touserdata(L, 1);
    cJSON_Delete(*tree);
    *tree = NULL;
    return 0;
}

static const char sl_json_tree_mt;

int sl_lua_push_json_text(lua_State *L, const char *text, struct sl_err *err)
{
    /* The parsed tree is malloc'd outside the Lua state (and a policy's
     * memory cap): a to-be-closed slot frees it even when pushing it raises. */
    cJSON **tree = lua_newuserdatauv(L, sizeof *tree, 0);
    *tree = NULL;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &sl_json_tree_mt) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 1);
        lua_pushcfunction(L, sl_json_tree_close);
        lua_setfield(L, -2, "__close");
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &sl_json_tree_mt);
    }
    lua_setmetatable(L, -2);
    lua_toclose(L, -1);
    if (!(*tree = cJSON_Parse(text))) {
        sl_err_set(err, SL_EINVAL, "invalid JSON near '%.20s'",
                   cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
        lua_pop(L, 1);
        return -1;
    }
    sl_lua_push_json(L, *tree);
    lua_closeslot(L, -2);
    lua_remove(L, -2);
    return 0;
}

/* The length n if the table at idx has exactly the keys 1..n (n may be 0),
 * else -1. Empty tables count as arrays of length 0. */
static lua_Integer sl_json_array_len(lua_State *L, int idx)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n) {
            lua_pop(L, 1);
            return -1;
        }
        count++;
    }
    return count == n ? n : -1;
}

static cJSON *sl_json_from(lua_State *L, int idx, int depth, struct sl_err *err);

static cJSON *sl_json_table(lua_State *L, int idx, int depth, struct sl_err *err)
{
    /* A level holds a key and a value while the next one is converted: 33
     * levels outgrow the LUA_MINSTACK slots a C function is given. */
    if (!lua_checkstack(L, 4)) {
        sl_err_set(err, SL_ENOMEM, "Lua stack exhausted");
        return NULL;
    }
    lua_Integer n = sl_json_array_len(L, idx);
    cJSON *out = n > 0 ? cJSON_CreateArray() : cJSON_CreateObject();
    if (!out)
        return NULL;
    for (lua_Integer i = 1; n > 0 && i <= n; i++) {
        lua_rawgeti(L, idx, i);
        cJSON *c = sl_json_from(L, lua_gettop(L), depth + 1, err);
        lua_pop(L, 1);
        if (!c || !cJSON_AddItemToArray(out, c))
            goto fail;
    }
    if (n > 0)
        return out;
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* STACK: key value */
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            sl_err_set(err, SL_EINVAL, "table keys must be strings or 1..n");
            goto fail;
        }
        cJSON *c = sl_json_from(L, lua_gettop(L), depth + 1, err);
        if (!c || !cJSON_AddItemToObject(out, lua_tostring(L, -2), c)) {
            lua_pop(L, 2);
            goto fail;
        }
        lua_pop(L, 1);
    }
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

static cJSON *sl_json_from(lua_State *L, int idx, int depth, struct sl_err *err)
{
    if (depth > 32) {
        sl_err_set(err, SL_EINVAL, "nested deeper than 32 levels (a cycle?)");
        return NULL;
    }
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return cJSON_CreateNull();
    case LUA_TBOOLEAN:
        return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        if (!isfinite(d)) {
            sl_err_set(err, SL_EINVAL, "numbers must be finite");
            return NULL;
        }
        return cJSON_CreateNumber(d);
    }
    case LUA_TSTRING:
        return cJSON_CreateString(lua_tostring(L, idx));
    case LUA_TTABLE:
        return sl_json_table(L, idx, depth, err);
    default:
        sl_err_set(err, SL_EINVAL, "a %s is not a JSON value", luaL_typename(L, idx));
        return NULL;
    }
}

cJSON *sl_lua_to_json(lua_State *L, int idx, struct sl_err *err)
{
    sl_err_clear(err);
    cJSON *j = sl_json_from(L, lua_absindex(L, idx), 0, err);
    if (!j && err && !err->msg[0])
        sl_err_set(err, SL_ENOMEM, "out of memory");
    return j;
}
