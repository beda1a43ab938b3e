/* lsl_policy.c - the engine's policy methods and the `policies` config key.
 *
 *   eng:policies()        -> list of {name, kind, version, file, generation} and
 *                            {file, error} for files whose last load failed
 *   eng:reload_policies() -> number of changes
 *   eng:policy_log([n])   -> the newest ctx.log lines
 */
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "lsl_engine.h"
#include "lsl_json.h"

static const char *const sl_hook_keys[] = {"ramp", "guards", "promotion", "recommend", NULL};

/* The cJSON tree under construction lives in a userdata whose __gc frees it,
 * so that a raise part-way (a malformed entry) cannot leak it; every node is
 * attached to the tree before it is filled. */
static int lsl_tree_gc(lua_State *L)
{
    cJSON **root = lua_touserdata(L, 1);
    cJSON_Delete(*root);
    *root = NULL;
    return 0;
}

static cJSON *lsl_tree_new(lua_State *L)
{
    cJSON **root = lua_newuserdatauv(L, sizeof *root, 0);
    *root = NULL;
    if (luaL_newmetatable(L, "sluice.JSONTree")) {
        lua_pushcfunction(L, lsl_tree_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    if (!(*root = cJSON_CreateObject()))
        luaL_error(L, "policies: out of memory");
    return *root;
}

/* One entry into e (already attached): "name", {"name", {params}, shadow=},
 * or {name=, params=, shadow=}. */
static void lsl_policy_entry(lua_State *L, int idx, const char *where, cJSON *e)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        cJSON_AddStringToObject(e, "name", lua_tostring(L, idx));
        return;
    }
    if (!lua_istable(L, idx))
        luaL_error(L, "%s: expected a policy name or {name, params}", where);
    lua_rawgeti(L, idx, 1);
    lua_rawgeti(L, idx, 2);
    lua_getfield(L, idx, "name");
    lua_getfield(L, idx, "params");
    lua_getfield(L, idx, "shadow"); /* STACK: [1] [2] name params shadow */
    const char *name = lua_isstring(L, -5) ? lua_tostring(L, -5) : lua_tostring(L, -3);
    int params = lua_istable(L, -4) ? -4 : lua_istable(L, -2) ? -2 : 0;
    if (!name)
        luaL_error(L, "%s: the policy name is missing", where);
    cJSON_AddStringToObject(e, "name", name);
    if (params) {
        struct sl_err err;
        cJSON *p = sl_lua_to_json(L, params, &err);
        if (!p)
            luaL_error(L, "%s.params: %s", where, err.msg);
        cJSON_AddItemToObject(e, "params", p);
    }
    if (!lua_isnil(L, -1))
        cJSON_AddBoolToObject(e, "shadow", lua_toboolean(L, -1));
    lua_pop(L, 5);
}

static void lsl_policy_hook(lua_State *L, const char *hook, cJSON *root)
{
    char where[64];
    snprintf(where, sizeof where, "policies.%s", hook);
    if (strcmp(hook, "guards") != 0) {
        lsl_policy_entry(L, -1, where, cJSON_AddObjectToObject(root, hook));
        return;
    }
    if (!lua_istable(L, -1))
        luaL_error(L, "policies.guards: expected a list");
    cJSON *list = cJSON_AddArrayToObject(root, hook);
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1); i++) {
        snprintf(where, sizeof where, "policies.guards[%d]", (int)i);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToArray(list, e);
        lua_rawgeti(L, -1, i);
        lsl_policy_entry(L, -1, where, e);
        lua_pop(L, 1);
    }
}

const char *lsl_policies_json(lua_State *L, struct lsl_engine *u, int idx, int kind,
                              struct sl_err *err)
{
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    sl_lua_check_keys(L, idx, "policies", sl_hook_keys);
    cJSON *root = lsl_tree_new(L); /* STACK: tree */
    for (int i = 0; sl_hook_keys[i]; i++) {
        if (lua_getfield(L, idx, sl_hook_keys[i]) != LUA_TNIL)
            lsl_policy_hook(L, sl_hook_keys[i], root);
        lua_pop(L, 1);
    }
    char *text = cJSON_PrintUnformatted(root);
    if (!text)
        luaL_error(L, "policies: out of memory");
    lua_pushstring(L, text);
    free(text);
    lua_remove(L, -2); /* the tree: collected, and freed, later */
    if (sl_host_check_config(u->host, lua_tostring(L, -1), kind, err))
        return NULL;
    return lua_tostring(L, -1);
}

static void lsl_set(lua_State *L, const char *k, const char *v)
{
    if (!v)
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

/* eng:policies() -> list (empty without policy_dirs) */
int lsl_engine_policies(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    lua_newtable(L);
    if (!u->host)
        return 1;
    struct sl_policyset *set = sl_host_policies(u->host);
    lua_Integer k = 0;
    for (size_t i = 0; i < sl_policyset_count(set); i++) {
        const struct sl_policy *p = sl_policyset_at(set, i);
        lua_createtable(L, 0, 6);
        lsl_set(L, "name", p->name);
        lsl_set(L, "kind", sl_policy_kind_name(p->kind));
        lsl_set(L, "version", p->version);
        lsl_set(L, "file", p->file);
        lua_pushinteger(L, p->generation);
        lua_setfield(L, -2, "generation");
        lsl_set(L, "error", sl_policyset_error(set, p->file));
        lua_rawseti(L, -2, ++k);
    }
    for (size_t i = 0; i < sl_policyset_error_count(set); i++) {
        const char *file, *msg = sl_policyset_error_at(set, i, &file);
        lua_createtable(L, 0, 2);
        lsl_set(L, "file", file);
        lsl_set(L, "error", msg);
        lua_rawseti(L, -2, ++k);
    }
    return 1;
}

/* eng:reload_policies() -> number of changes | nil, msg */
int lsl_engine_reload_policies(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    if (!u->host) {
        lua_pushnil(L);
        lua_pushliteral(L, "this engine was created without policy_dirs");
        return 2;
    }
    int n = sl_host_reload(u->host);
    lsl_engine_after(L, u);
    lua_pushinteger(L, n);
    return 1;
}

/* eng:policy_log([n]) -> the newest n (default 50) ctx.log lines, oldest first */
int lsl_engine_policy_log(lua_State *L)
{
    struct lsl_engine *u = lsl_check_engine(L, 1);
    lua_Integer want = luaL_optinteger(L, 2, 50);
    lua_newtable(L);
    if (!u->host)
        return 1;
    size_t n = sl_host_log_count(u->host);
    size_t from = want >= 0 && (size_t)want < n ? n - (size_t)want : 0;
    for (size_t i = from; i < n; i++) {
        lua_pushstring(L, sl_host_log_at(u->host, i));
        lua_rawseti(L, -2, (lua_Integer)(i - from + 1));
    }
    return 1;
}
