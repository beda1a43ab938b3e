/* lsl_json.h - JSON values <-> Lua values, through cJSON.
 *
 * Provides the conversions the policy host and the binding need: policy
 * params and ctx.state travel as JSON text between the engine and each
 * policy's own Lua state. Only JSON-like Lua values convert (nil, booleans,
 * numbers, strings, tables with string keys or keys 1..n); anything else is
 * an error naming the path. Uses cJSON and the Lua C API. */
#ifndef SL_LSL_JSON_H
#define SL_LSL_JSON_H

#include <cjson/cJSON.h>
#include <lua.h>
#include <stddef.h>

#include "core/err.h"

/* Push j as a Lua value (objects and arrays become tables). Raises when the
 * nesting needs more stack than Lua can give. [-0, +1, e] */
void sl_lua_push_json(lua_State *L, const cJSON *j);

/* Convert the value at idx to a new cJSON tree (NULL with err on a value that
 * is not JSON-like, on cycles or nesting deeper than 32). Does not call
 * metamethods. [-0, +0, m] */
cJSON *sl_lua_to_json(lua_State *L, int idx, struct sl_err *err);

/* Parse text and push it; on a parse error push nothing and return -1.
 * Raises, like sl_lua_push_json, without leaking the parsed tree. [-0, +1, e] */
int sl_lua_push_json_text(lua_State *L, const char *text, struct sl_err *err);

#endif
