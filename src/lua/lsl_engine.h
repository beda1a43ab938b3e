/* lsl_engine.h - the engine userdata shared by the engine binding files:
 * lsl_engine.c (object, verbs, hot path), lsl_config.c (tables -> configs),
 * lsl_snapshot.c (engine state -> plain tables). Uses lsl.h. */
#ifndef SL_LSL_ENGINE_H
#define SL_LSL_ENGINE_H

#include <stdbool.h>

#include "lsl.h"

struct lsl_engine {
    struct sl_engine *eng;
    lua_State *L;        /* the thread of the current call: the clock runs there */
    int clock_ref;       /* registry ref of the clock function, or LUA_NOREF */
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
int lsl_engine_add_model(lua_State *L);
int lsl_engine_set_health(lua_State *L);
int lsl_engine_set_live(lua_State *L);
int lsl_engine_create_test(lua_State *L);
int lsl_engine_create_canary(lua_State *L);

/* lsl_snapshot.c */
int lsl_engine_models(lua_State *L);
int lsl_engine_test(lua_State *L);
int lsl_engine_tests(lua_State *L);
int lsl_engine_canary(lua_State *L);
int lsl_engine_canaries(lua_State *L);
int lsl_engine_history(lua_State *L);
int lsl_engine_events(lua_State *L);
int lsl_engine_metrics(lua_State *L);

#endif
