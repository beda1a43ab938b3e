/* lsl_engine.h - the engine userdata shared by the engine binding files:
 * lsl_engine.c (object, verbs, hot path), lsl_config.c (tables -> configs),
 * lsl_snapshot.c (engine state -> plain tables). Uses lsl.h. */
#ifndef SL_LSL_ENGINE_H
#define SL_LSL_ENGINE_H

#include <stdbool.h>

#include "lsl.h"

struct sl_host;

struct lsl_engine {
    struct sl_engine *eng;
    struct sl_host *host; /* NULL unless policy_dirs were given */
    lua_State *L;         /* the thread of the current call: the clock runs there */
    int clock_ref;        /* registry ref of the clock function, or LUA_NOREF */
    double last_time;
    char clock_err[SL_ERR_MSG_MAX];
};

/* The engine at idx (raises if not an open engine); records L for the clock. */
struct lsl_engine *lsl_check_engine(lua_State *L, int idx);
/* Raise if the clock failed during the last call. [-0, +0, v] */
void lsl_engine_after(lua_State *L, struct lsl_engine *u);
/* Push true or nil, message. [-0, +1|2, v] */
int lsl_engine_result(lua_State *L, struct lsl_engine *u, int rc, const struct sl_err *err);

/* lsl_config.c */
/* Convert the `policies` table at idx into canonical JSON text, pushed as a
 * Lua string (validated against u's loaded policies when it has a host);
 * kind is SL_KIND_TEST or SL_KIND_CANARY. Raises on shape errors; returns
 * NULL with err when a named policy is not loaded. [-0, +1, v] */
const char *lsl_policies_json(lua_State *L, struct lsl_engine *u, int idx, int kind,
                              struct sl_err *err);
int lsl_engine_policies(lua_State *L);
int lsl_engine_reload_policies(lua_State *L);
int lsl_engine_policy_log(lua_State *L);
int lsl_engine_add_model(lua_State *L);
int lsl_engine_set_health(lua_State *L);
int lsl_engine_set_live(lua_State *L);
int lsl_engine_create_test(lua_State *L);
int lsl_engine_create_canary(lua_State *L);

/* lsl_snapshot.c */
/* Push one arm's metrics as a plain table (also used to build policy views,
 * in a policy's own state). [-0, +1, m] */
void lsl_push_variant_metrics(lua_State *L, const struct sl_variant_metrics *m);
/* Its parts: one of the counts and rates by name (lsl_count_names; false,
 * nothing pushed, for another name or a NaN figure), the latency table, the
 * custom metrics table. [-0, +1, m] */
#define LSL_NCOUNTS 7
extern const char *const lsl_count_names[LSL_NCOUNTS];
bool lsl_push_variant_count(lua_State *L, const struct sl_variant_metrics *m, const char *key);
void lsl_push_latency(lua_State *L, const struct sl_variant_metrics *m);
void lsl_push_custom(lua_State *L, const struct sl_variant_metrics *m);
/* Push a test's statistics (docs/policies.md, view.stats). [-0, +1, m] */
void lsl_push_test_stats(lua_State *L, const struct sl_test_stats *s);
/* The same in parts, for a view that builds them on first read: the table
 * with the top-level scalars, and one of lsl_stats_parts (false, nothing
 * pushed, for any other key). */
#define LSL_NSTATS_PARTS 4
extern const char *const lsl_stats_parts[LSL_NSTATS_PARTS]; /* srm error_rate latency metrics */
void lsl_push_stats_top(lua_State *L, const struct sl_test_stats *s);
bool lsl_push_stats_part(lua_State *L, const struct sl_test_stats *s, const char *key);
int lsl_engine_models(lua_State *L);
int lsl_engine_test(lua_State *L);
int lsl_engine_tests(lua_State *L);
int lsl_engine_canary(lua_State *L);
int lsl_engine_canaries(lua_State *L);
int lsl_engine_history(lua_State *L);
int lsl_engine_events(lua_State *L);
int lsl_engine_metrics(lua_State *L);

#endif
