/* test_lua_json.c - JSON <-> Lua conversions (lsl_json.c) at their limits.
 *
 * Regression: converting a ctx.state that contains itself (or any table
 * nested 33 deep) used three Lua stack slots per level without asking Lua
 * for them, so it wrote past the end of the Lua stack and corrupted the
 * daemon's heap (a hostile policy crashed sluiced: tests/faults/hostile/
 * state_bomb.lua). The states here run on an allocator that guards the end
 * of every block, so a write past the stack shows up as a damaged guard. */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsl_json.h"
#include "tap.h"

#define GUARD      64 /* bytes after each block, filled with GUARD_BYTE */
#define GUARD_BYTE 0xA5

static int damaged; /* blocks found with a damaged guard */

static void guard_check(const unsigned char *block, size_t size)
{
    for (size_t i = 0; i < GUARD; i++)
        if (block[size + i] != GUARD_BYTE) {
            damaged++;
            return;
        }
}

/* Blocks are [size_t size][data...][GUARD bytes]. */
static void *guard_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    unsigned char *old = ptr ? (unsigned char *)ptr - sizeof(size_t) : NULL;
    if (old)
        guard_check(ptr, *(size_t *)old);
    if (nsize == 0) {
        free(old);
        return NULL;
    }
    unsigned char *p = realloc(old, sizeof(size_t) + nsize + GUARD);
    if (!p)
        return NULL;
    *(size_t *)p = nsize;
    memset(p + sizeof(size_t) + nsize, GUARD_BYTE, GUARD);
    return p + sizeof(size_t);
}

static lua_State *guarded_state(void)
{
    damaged = 0;
    return lua_newstate(guard_alloc, NULL);
}

/* Protected: sl_lua_to_json on the value at 1; pushes the error text or "ok". */
static int to_json(lua_State *L)
{
    struct sl_err err = {0};
    cJSON *j = sl_lua_to_json(L, 1, &err);
    lua_pushstring(L, j ? "ok" : err.msg);
    cJSON_Delete(j);
    return 1;
}

static const char *convert(lua_State *L, char *out, size_t n)
{
    lua_pushcfunction(L, to_json);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        snprintf(out, n, "raised: %s", lua_tostring(L, -1));
    else
        snprintf(out, n, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return out;
}

static void test_json_cycle_does_not_overflow_the_lua_stack(void)
{
    char msg[256];
    lua_State *L = guarded_state();
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "self"); /* t.self = t */
    ok(strstr(convert(L, msg, sizeof msg), "nested deeper than 32") != NULL,
       "a table holding itself is refused as too deep (%s)", msg);
    lua_close(L);
    is_int(damaged, 0, "no write past the end of the Lua stack (guards intact)");
}

static void test_json_32_levels_convert(void)
{
    char msg[256];
    lua_State *L = guarded_state();
    lua_newtable(L);
    for (int i = 0; i < 32; i++) { /* {a = {a = ... {}}}, 33 tables */
        lua_newtable(L);
        lua_insert(L, -2);
        lua_setfield(L, -2, "a");
    }
    is_str(convert(L, msg, sizeof msg), "ok", "32 levels of nesting convert");
    lua_close(L);
    is_int(damaged, 0, "guards intact after converting 32 levels");
}

static int push_json(lua_State *L)
{
    sl_lua_push_json(L, lua_touserdata(L, 1));
    return 1;
}

static void test_json_deep_document_pushes_within_the_stack(void)
{
    char text[2 * 900 + 1];
    memset(text, '[', 900);
    memset(text + 900, ']', 900);
    text[1800] = '\0';
    cJSON *j = cJSON_Parse(text); /* 900 nested arrays, under cJSON's limit of 1000 */
    ok(j != NULL, "cJSON parses 900 levels");
    lua_State *L = guarded_state();
    lua_pushcfunction(L, push_json);
    lua_pushlightuserdata(L, j);
    int rc = lua_pcall(L, 1, 1, 0);
    int depth = 0;
    while (rc == LUA_OK && lua_istable(L, -1) && depth < 2000) {
        lua_rawgeti(L, -1, 1);
        lua_remove(L, -2);
        depth++;
    }
    is_int(depth, 900, "a 900-level document becomes 900 nested tables");
    lua_close(L);
    cJSON_Delete(j);
    is_int(damaged, 0, "guards intact after pushing 900 levels");
}

int main(void)
{
    RUN(test_json_cycle_does_not_overflow_the_lua_stack);
    RUN(test_json_32_levels_convert);
    RUN(test_json_deep_document_pushes_within_the_stack);
    return tap_done();
}
