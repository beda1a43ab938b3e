/* lsl_view.h - the read-only view a policy sees of a test or canary.
 *
 * Provides sl_lua_push_view: builds the view's data in the policy's own Lua
 * state from the engine's public read API and wraps it in a proxy that
 * refuses writes and records every scalar read into a recorder table, so a
 * decision's event carries the numbers behind it (sl_lua_view_inputs turns
 * the record into path -> value, only when a decision is reported).
 * view:window(spec) computes windowed metrics on demand. Views and their
 * window method are valid only during their evaluate call (checked with a
 * serial number), since they reach the engine through a borrowed pointer.
 * Uses the Lua C API and sluice.h; see docs/policies.md for the fields. */
#ifndef SL_LSL_VIEW_H
#define SL_LSL_VIEW_H

#include <lua.h>
#include <stdint.h>

#include "sluice.h"

/* Push the view of test/canary id (kind enum sl_kind). recorder is the stack
 * index of the recorder table; serial identifies the call and *current must
 * equal it whenever the view's window method runs. May raise (memory).
 * [-0, +1, m] */
void sl_lua_push_view(lua_State *L, struct sl_engine *eng, int kind, const char *id, int recorder,
                      uint64_t serial, const uint64_t *current);

/* Push the inputs recorded in the recorder table at index recorder as a
 * table of path ("treatment.latency.p99") -> last value read, in at most
 * max bytes of JSON: fields that would not fit are left out, in read order,
 * and truncated = true says so. [-0, +1, m] */
void sl_lua_view_inputs(lua_State *L, int recorder, size_t max);

/* Parse a window spec ("30s", "5m", "1h", "2d" or a number of seconds).
 * Returns seconds, or -1 if malformed. */
double sl_lua_window_seconds(const char *spec);

#endif
