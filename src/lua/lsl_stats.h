/* lsl_stats.h - sluice.stats: the statistics module as a Lua table.
 *
 * Provides sl_lua_push_stats(), which builds the table of Lua functions over
 * src/core/stats.h (tests, intervals, power, SRM, Mann-Whitney, always-valid
 * sequential inference, distribution functions, p-value adjustment) and
 * registers the "sluice.Sequential" metatable of the sequential tracker.
 * Uses the Lua 5.4 C API and core/stats.h only; knows nothing of engines,
 * tests or policies. luaopen_sluice stores the table as sluice.stats; the
 * functions are pure, so the table is safe to hand to sandboxed policies. */
#ifndef SL_LSL_STATS_H
#define SL_LSL_STATS_H

#include <lua.h>

/* Push a new table holding every sluice.stats function (and register the
 * tracker's metatable in this state if it is not there yet). Returns 1, the
 * number of values pushed.  [-0, +1, m] */
int sl_lua_push_stats(lua_State *L);

#endif
