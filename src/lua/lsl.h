/* lsl.h - shared pieces of the sluice Lua binding (src/lua).
 *
 * Provides the openers of each bound type (engine, sketch, stats) for
 * luaopen_sluice, and small argument helpers every binding file uses. Uses the
 * Lua 5.4 C API and the public core header sluice.h; knows nothing of libev,
 * HTTP or files. Functions marked "may raise" can longjmp (luaL_error). */
#ifndef SL_LSL_H
#define SL_LSL_H

#include <lauxlib.h>
#include <lua.h>

#include "sluice.h"

/* Register the metatables and push the constructor into the table at -1.
 * [-0, +0, m] */
void sl_lua_open_engine(lua_State *L);
void sl_lua_open_sketch(lua_State *L);

/* Push a sketch userdata copy of s. [-0, +1, m] */
struct sl_sketch;
void sl_lua_push_sketch(lua_State *L, const struct sl_sketch *s);
/* The sketch at idx or raise. [-0, +0, v] */
struct sl_sketch *sl_lua_check_sketch(lua_State *L, int idx);

/* Return nil, message (the expected-failure convention). [-0, +2, m] */
int sl_lua_fail(lua_State *L, const struct sl_err *err);

/* Raise unless every key of the table at idx is in the NULL-terminated
 * allowed list; what names the table in the message. May raise. */
void sl_lua_check_keys(lua_State *L, int idx, const char *what, const char *const *allowed);

/* Optional typed fields of the table at idx (absent or nil = default).
 * A present value of the wrong type raises, naming what.key. */
const char *sl_lua_field_string(lua_State *L, int idx, const char *what, const char *key);
double sl_lua_field_number(lua_State *L, int idx, const char *what, const char *key, double dflt);
int sl_lua_field_bool(lua_State *L, int idx, const char *what, const char *key, int dflt);

#endif
