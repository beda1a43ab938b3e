#include "lsl_view.h"

#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsl_engine.h"
#include "stats.h"

#define SL_VIEW_MT "sluice.View"
/* Reads kept per call, repeats compacted (inputs are cut at 8 KiB anyway). */
#define SL_VIEW_READS_MAX 2048

/* ---- the proxy: userdata with user values (backing, parent, key, recorder) ---------- *
 *
 * A proxy knows its parent proxy and the key it was read under, not its
 * path: the path of a field ("treatment.latency.p99") is built only when a
 * decision's inputs are reported. Every scalar read appends (proxy, key,
 * value) to the recorder array; most calls decide nothing and never pay for
 * the strings. The root has no parent and no key; a window's view has no
 * parent and its key is "window(5m)". */

enum { SL_UV_BACKING = 1, SL_UV_PARENT, SL_UV_KEY, SL_UV_RECORDER, SL_UV_N = SL_UV_RECORDER };

static void sl_view_wrap(lua_State *L, int backing, int parent, int key, int recorder);
static bool sl_view_lazy_at(lua_State *L, int proxy, int backing, int key);
static void sl_view_lazy_all(lua_State *L, int proxy, int backing);

/* recorder[&sl_full_key] = true once compacting no longer frees half of it. */
static const char sl_full_key;

struct sl_path {
    char s[512];
    size_t n;
};

static void sl_view_path(lua_State *L, int idx, struct sl_path *p);
static void sl_path_key(lua_State *L, int idx, struct sl_path *p);

/* Push the path of the field recorded at entry i ("treatment.requests"), and
 * return it. [-0, +1, m] */
static const char *sl_push_entry_path(lua_State *L, int recorder, lua_Integer i)
{
    struct sl_path p;
    lua_rawgeti(L, recorder, i);
    sl_view_path(L, -1, &p);
    lua_rawgeti(L, recorder, i + 1);
    sl_path_key(L, -1, &p);
    lua_pop(L, 2);
    return lua_pushlstring(L, p.s, p.n);
}

/* Keep one entry per field read, holding its last value, in first-read
 * order; returns the new length. A field is its path: view.treatment makes
 * a new proxy at each read, so proxies are no names. A policy reading the
 * same few fields in a loop fills the recorder with repeats; this makes
 * room for the distinct fields it reads after. [-0, +0, m] */
static lua_Integer sl_view_compact(lua_State *L, int recorder, lua_Integer n)
{
    lua_createtable(L, 0, 64); /* path -> slot */
    int seen = lua_gettop(L);
    lua_Integer w = 0;
    for (lua_Integer i = 1; i + 2 <= n; i += 3) {
        sl_push_entry_path(L, recorder, i); /* STACK: path */
        lua_pushvalue(L, -1);
        lua_rawget(L, seen);
        lua_Integer slot = lua_tointeger(L, -1); /* 0: a field not seen yet */
        lua_pop(L, 1);
        if (slot == 0) { /* slot <= i: nothing unread is overwritten */
            slot = w + 1;
            w += 3;
            lua_pushinteger(L, slot);
            lua_rawset(L, seen); /* pops the path */
            lua_rawgeti(L, recorder, i);
            lua_rawseti(L, recorder, slot);
            lua_rawgeti(L, recorder, i + 1);
            lua_rawseti(L, recorder, slot + 1);
        } else {
            lua_pop(L, 1);
        }
        lua_rawgeti(L, recorder, i + 2);
        lua_rawseti(L, recorder, slot + 2); /* the last value read */
    }
    for (lua_Integer i = n; i > w; i--) { /* from the top: the border stays at w */
        lua_pushnil(L);
        lua_rawseti(L, recorder, i);
    }
    lua_pop(L, 1);
    return w;
}

static void sl_view_record(lua_State *L, int recorder, int key, int value)
{
    int t = lua_type(L, value);
    if (t != LUA_TNUMBER && t != LUA_TSTRING && t != LUA_TBOOLEAN)
        return;
    lua_Integer n = (lua_Integer)lua_rawlen(L, recorder);
    if (n >= 3 * SL_VIEW_READS_MAX) {
        /* Full: compact while that frees at least half (so each compaction
         * is paid for by as many new reads); after that, the rest go
         * unrecorded. */
        bool full = lua_rawgetp(L, recorder, &sl_full_key) == LUA_TBOOLEAN;
        lua_pop(L, 1);
        if (full)
            return;
        n = sl_view_compact(L, recorder, n);
        if (n > 3 * SL_VIEW_READS_MAX / 2) {
            lua_pushboolean(L, 1);
            lua_rawsetp(L, recorder, &sl_full_key);
        }
        if (n >= 3 * SL_VIEW_READS_MAX)
            return;
    }
    lua_pushvalue(L, 1); /* the proxy read */
    lua_rawseti(L, recorder, n + 1);
    lua_pushvalue(L, key);
    lua_rawseti(L, recorder, n + 2);
    lua_pushvalue(L, value);
    lua_rawseti(L, recorder, n + 3);
}

/* Push the view of `value` found at key under the proxy at 1 (tables are
 * wrapped, scalars recorded). [-0, +1, m] */
static void sl_view_child(lua_State *L, int value, int key)
{
    lua_getiuservalue(L, 1, SL_UV_RECORDER);
    int recorder = lua_gettop(L);
    if (lua_istable(L, value)) {
        sl_view_wrap(L, value, 1, key, recorder);
    } else {
        sl_view_record(L, recorder, key, value);
        lua_pushvalue(L, value);
    }
    lua_remove(L, recorder);
}

static void sl_path_add(struct sl_path *p, const char *s, size_t n)
{
    if (p->n && p->n < sizeof p->s - 1)
        p->s[p->n++] = '.';
    if (n > sizeof p->s - 1 - p->n)
        n = sizeof p->s - 1 - p->n;
    memcpy(p->s + p->n, s, n);
    p->n += n;
    p->s[p->n] = '\0';
}

/* Add the key at idx. Integer keys are written as digits: converting the key
 * in place would turn it into a string in a table pairs() may be walking. */
static void sl_path_key(lua_State *L, int idx, struct sl_path *p)
{
    char digits[40];
    size_t n;
    if (lua_isinteger(L, idx)) {
        n = (size_t)snprintf(digits, sizeof digits, "%lld", (long long)lua_tointeger(L, idx));
        sl_path_add(p, digits, n);
    } else if (lua_type(L, idx) == LUA_TSTRING) {
        const char *k = lua_tolstring(L, idx, &n);
        sl_path_add(p, k, n);
    } else if (lua_type(L, idx) == LUA_TNUMBER) {
        n = (size_t)snprintf(digits, sizeof digits, "%.14g", lua_tonumber(L, idx));
        sl_path_add(p, digits, n);
    }
}

/* The path of the proxy at idx: its ancestors' keys from the root down. */
static void sl_view_path(lua_State *L, int idx, struct sl_path *p)
{
    int top = lua_gettop(L), depth = 0;
    p->n = 0;
    p->s[0] = '\0';
    lua_pushvalue(L, idx);
    while (depth < 32 && lua_checkstack(L, 2) &&
           lua_getiuservalue(L, -1, SL_UV_PARENT) == LUA_TUSERDATA)
        depth++; /* STACK: proxy parent grandparent ... root */
    lua_pop(L, 1);
    for (int i = lua_gettop(L); i > top; i--) {
        lua_getiuservalue(L, i, SL_UV_KEY);
        sl_path_key(L, -1, p);
        lua_pop(L, 1);
    }
    lua_settop(L, top);
}

/* Bytes of s as a JSON string, quotes included (as cJSON escapes it). */
static size_t sl_json_string_len(const char *s, size_t n)
{
    size_t len = 2;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        len +=
            c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t'
                ? 2
            : c < 0x20 ? 6
                       : 1;
    }
    return len;
}

/* At most the bytes of the scalar at idx as JSON. */
static size_t sl_json_value_len(lua_State *L, int idx)
{
    size_t n;
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char *s = lua_tolstring(L, idx, &n);
        return sl_json_string_len(s, n);
    }
    if (lua_type(L, idx) == LUA_TBOOLEAN)
        return 5;
    /* cJSON writes %d for whole numbers in int range, else %1.15g or
     * %1.17g (at most 24 bytes: sign, 17 digits, point, e-308), and null
     * for NaN and infinities. Counting digits, not printing: printf of a
     * double costs thousands of instructions. */
    double x = lua_tonumber(L, idx);
    if (!(x == x && x >= INT_MIN && x <= INT_MAX && x == (double)(int)x))
        return 24;
    size_t len = x < 0 ? 2 : 1;
    for (double a = fabs(x); a >= 10; a /= 10)
        len++;
    return len;
}

void sl_lua_view_inputs(lua_State *L, int recorder, size_t max)
{
    static const char more[] = ",\"truncated\":true";
    recorder = lua_absindex(L, recorder);
    lua_Integer n = (lua_Integer)lua_rawlen(L, recorder);
    lua_createtable(L, 0, (int)(n / 3));
    size_t used = 2, budget = max > sizeof more + 2 ? max - sizeof more : 0; /* "{}" */
    bool dropped = false;
    for (lua_Integer i = 1; i + 2 <= n; i += 3) {
        const char *path = sl_push_entry_path(L, recorder, i);
        size_t path_len = lua_rawlen(L, -1);
        lua_pushvalue(L, -1);
        /* A field read twice keeps its last value (its first, if the last
         * would not fit the budget). */
        bool again = lua_rawget(L, -3) != LUA_TNIL;
        size_t was = again ? sl_json_value_len(L, -1) : 0;
        lua_pop(L, 1);
        lua_rawgeti(L, recorder, i + 2);
        size_t len = sl_json_value_len(L, -1);
        size_t cost =
            again ? (len > was ? len - was : 0) : sl_json_string_len(path, path_len) + 2 + len;
        if (used + cost > budget) {
            lua_pop(L, 2);
            dropped = true;
            continue;
        }
        used += cost;
        lua_rawset(L, -3);
    }
    if (dropped) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "truncated");
    }
}

static int sl_view_index(lua_State *L)
{
    lua_settop(L, 2);
    lua_getiuservalue(L, 1, SL_UV_BACKING);
    lua_pushvalue(L, 2);
    lua_rawget(L, 3); /* STACK: proxy key backing value */
    if (lua_isnil(L, 4) && sl_view_lazy_at(L, 1, 3, 2)) {
        lua_pop(L, 1);
        lua_pushvalue(L, 2);
        lua_rawget(L, 3);
    }
    if (lua_isfunction(L, 4))
        return 1;
    sl_view_child(L, 4, 2);
    return 1;
}

static int sl_view_newindex(lua_State *L)
{
    return luaL_error(L, "the view is read-only (tried to set '%s')",
                      lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
}

static int sl_view_len(lua_State *L)
{
    lua_getiuservalue(L, 1, SL_UV_BACKING);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    return 1;
}

/* The iterator of pairs(view): next over the backing table, values viewed. */
static int sl_view_next(lua_State *L)
{
    lua_settop(L, 2);
    lua_getiuservalue(L, 1, SL_UV_BACKING);
    lua_pushvalue(L, 2);
    if (!lua_next(L, 3)) /* STACK: proxy key backing [nextkey value] */
        return 0;
    if (lua_islightuserdata(L, 4)) { /* an arm's or the statistics' hidden figures (below) */
        lua_pop(L, 1);
        if (!lua_next(L, 3))
            return 0;
    }
    if (!lua_isfunction(L, 5))
        sl_view_child(L, 5, 4);
    else
        lua_pushvalue(L, 5);
    lua_pushvalue(L, 4);
    lua_insert(L, -2);
    return 2;
}

static int sl_view_pairs(lua_State *L)
{
    lua_settop(L, 1);
    lua_getiuservalue(L, 1, SL_UV_BACKING);
    sl_view_lazy_all(L, 1, 2); /* every section or part, so pairs sees them */
    lua_settop(L, 1);
    lua_pushcfunction(L, sl_view_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int sl_view_tostring(lua_State *L)
{
    struct sl_path p;
    sl_view_path(L, 1, &p);
    lua_pushfstring(L, "sluice.view(%s)", p.n ? p.s : "root");
    return 1;
}

static const char sl_view_mt_key; /* the metatable, by address: no name to hash */

static void sl_view_metatable(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &sl_view_mt_key) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    static const luaL_Reg mt[] = {
        {"__index", sl_view_index}, {"__newindex", sl_view_newindex}, {"__len", sl_view_len},
        {"__pairs", sl_view_pairs}, {"__tostring", sl_view_tostring}, {NULL, NULL}};
    lua_createtable(L, 0, 7);
    luaL_setfuncs(L, mt, 0);
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pushliteral(L, SL_VIEW_MT);
    lua_setfield(L, -2, "__name");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &sl_view_mt_key);
}

/* Set the proxy on top's user values and metatable (parent, key: 0 = none). */
static void sl_view_uservalues(lua_State *L, int backing, int parent, int key, int recorder)
{
    lua_pushvalue(L, backing);
    lua_setiuservalue(L, -2, SL_UV_BACKING);
    if (parent) {
        lua_pushvalue(L, parent);
        lua_setiuservalue(L, -2, SL_UV_PARENT);
    }
    if (key) {
        lua_pushvalue(L, key);
        lua_setiuservalue(L, -2, SL_UV_KEY);
    }
    lua_pushvalue(L, recorder);
    lua_setiuservalue(L, -2, SL_UV_RECORDER);
    sl_view_metatable(L);
    lua_setmetatable(L, -2);
}

/* Wrap the table at backing, read under key of the proxy at parent (0: none). */
static void sl_view_wrap(lua_State *L, int backing, int parent, int key, int recorder)
{
    backing = lua_absindex(L, backing);
    parent = parent ? lua_absindex(L, parent) : 0;
    key = key ? lua_absindex(L, key) : 0;
    recorder = lua_absindex(L, recorder);
    lua_newuserdatauv(L, 0, SL_UV_N);
    sl_view_uservalues(L, backing, parent, key, recorder);
}

/* ---- data --------------------------------------------------------------------------- */

static void sl_set_num(lua_State *L, const char *k, double v)
{
    if (isnan(v))
        return;
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void sl_set_str(lua_State *L, const char *k, const char *v)
{
    if (!v)
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void sl_set_bool(lua_State *L, const char *k, bool v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

static void sl_push_strings(lua_State *L, const char *const *v, size_t n)
{
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* An arm's fields (counts, rates, the latency and metrics tables) are built
 * on first read from a copy of the figures kept under a light userdata key,
 * which pairs() skips: most policies read two or three of them. The figures
 * are read without the latency histogram (sl_engine_counts): the latency
 * table reads the arm again, with it, while the view's call lasts. */
static const char sl_arm_key;

/* The call a hidden block belongs to: its parts (whose names point into the
 * engine) are built only while that call lasts. */
struct sl_view_call {
    const uint64_t *current;
    uint64_t serial;
};

static void sl_view_call_check(lua_State *L, const struct sl_view_call *c)
{
    if (*c->current != c->serial)
        luaL_error(L, "view used outside its evaluate call");
}

struct sl_view_arm {
    struct sl_view_call call; /* first: the hidden blocks share this header */
    struct sl_engine *eng;
    int arm;
    double window;
    const char *id;              /* the engine's own id string: good while the call lasts */
    struct sl_variant_metrics m; /* only its first nmetrics metrics are copied */
};

static void sl_view_arm_push(lua_State *L, const struct sl_view_arm *a)
{
    lua_createtable(L, 0, 4);
    lua_pushlightuserdata(L, (void *)&sl_arm_key);
    size_t size = offsetof(struct sl_view_arm, m.metrics) + a->m.nmetrics * sizeof a->m.metrics[0];
    memcpy(lua_newuserdatauv(L, size, 0), a, size);
    lua_rawset(L, -3);
}

/* The arm's latency table, with the quantiles read now. [-0, +1, m] */
static void sl_view_arm_latency(lua_State *L, const struct sl_view_arm *a)
{
    struct sl_variant_metrics m;
    if (sl_engine_metrics(a->eng, a->id, a->arm, a->window, &m, NULL) == 0)
        lsl_push_latency(L, &m);
    else
        lsl_push_latency(L, &a->m);
}

/* A test's statistics likewise: the table holds the top-level scalars, and
 * srm, error_rate, latency and metrics are built on first read. */
static const char sl_stats_key;

struct sl_view_stats {
    struct sl_view_call call;
    struct sl_test_stats st;
};

/* Build part key of the table at b if b is an arm or a test's statistics and
 * key one of its parts; false otherwise. [-0, +0, m] */
static bool sl_view_part(lua_State *L, int b, const char *key)
{
    bool built = false;
    lua_pushlightuserdata(L, (void *)&sl_arm_key);
    if (lua_rawget(L, b) == LUA_TUSERDATA) {
        const struct sl_view_arm *a = lua_touserdata(L, -1);
        sl_view_call_check(L, &a->call);
        if ((built = strcmp(key, "latency") == 0))
            sl_view_arm_latency(L, a);
        else if ((built = strcmp(key, "metrics") == 0))
            lsl_push_custom(L, &a->m);
        else
            built = lsl_push_variant_count(L, &a->m, key);
    } else {
        lua_pop(L, 1);
        lua_pushlightuserdata(L, (void *)&sl_stats_key);
        if (lua_rawget(L, b) == LUA_TUSERDATA) {
            const struct sl_view_stats *v = lua_touserdata(L, -1);
            sl_view_call_check(L, &v->call);
            built = lsl_push_stats_part(L, &v->st, key);
        }
    }
    if (built)
        lua_setfield(L, b, key);
    lua_pop(L, 1);
    return built;
}

/* Read arm of id over window (0: all) and push its table; false if there
 * is no such arm. */
static bool sl_view_arm(lua_State *L, struct sl_engine *eng, const char *id, int arm, double window,
                        uint64_t serial, const uint64_t *current, double *span)
{
    struct sl_view_arm a = {
        .call = {current, serial}, .eng = eng, .arm = arm, .window = window, .id = id};
    if (sl_engine_counts(eng, id, arm, window, &a.m, NULL))
        return false;
    sl_view_arm_push(L, &a);
    *span = a.m.span_seconds;
    return true;
}

/* Both arms into the table at -1 under names a0/a1, over window. */
static void sl_view_arms(lua_State *L, struct sl_engine *eng, const char *id, double window,
                         uint64_t serial, const uint64_t *current, const char *a0, const char *a1)
{
    double span;
    for (int arm = 0; arm < 2; arm++) {
        if (!sl_view_arm(L, eng, id, arm, window, serial, current, &span))
            continue;
        lua_setfield(L, -2, arm ? a1 : a0);
        if (arm == 1)
            sl_set_num(L, "span_seconds", span);
    }
}

double sl_lua_window_seconds(const char *spec)
{
    char *end;
    double v = strtod(spec, &end);
    if (end == spec || !(v >= 0) || !isfinite(v))
        return -1;
    double unit = *end == '\0' || strcmp(end, "s") == 0 ? 1
                  : strcmp(end, "m") == 0               ? 60
                  : strcmp(end, "h") == 0               ? 3600
                  : strcmp(end, "d") == 0               ? 86400
                                                        : -1;
    return unit < 0 ? -1 : v * unit;
}

/* ---- the root: every field built on first read ------------------------------ */

/* What the root's fields are built from: the root proxy's own block (nested
 * proxies have none). The object's info is read once, when the view is made;
 * its pointers stay good for the call, in which the engine changes nothing. */
struct sl_view_ctx {
    struct sl_engine *eng;
    int kind;
    bool found;
    uint64_t serial;
    const uint64_t *current;
    union {
        struct sl_test_info t;
        struct sl_canary_info k;
    } info;
    const char *id; /* the engine's own id string (once found): good while the call lasts */
};

static const struct sl_view_ctx *sl_view_ctx_of(lua_State *L, int proxy);

/* view:window(spec) -> view of both arms over the last spec. The upvalue is
 * the root proxy. */
static int sl_view_window(lua_State *L)
{
    const struct sl_view_ctx *c = sl_view_ctx_of(L, lua_upvalueindex(1));
    double s = lua_type(L, 2) == LUA_TNUMBER ? lua_tonumber(L, 2)
                                             : sl_lua_window_seconds(luaL_checkstring(L, 2));
    luaL_argcheck(L, s > 0, 2, "window must be like \"30s\", \"5m\", \"1h\" or seconds > 0");
    lua_newtable(L);
    bool test = c->kind == SL_KIND_TEST;
    sl_view_arms(L, c->eng, c->id, s, c->serial, c->current, test ? "control" : "stable",
                 test ? "treatment" : "canary");
    lua_pushfstring(L, "window(%s)", lua_tostring(L, 2));
    lua_getiuservalue(L, lua_upvalueindex(1), SL_UV_RECORDER);
    sl_view_wrap(L, -3, 0, -2, -1);
    return 1;
}

static void sl_view_test_config(lua_State *L, const struct sl_test_config *c)
{
    lua_createtable(L, 0, 7);
    sl_set_num(L, "alpha", c->alpha);
    sl_set_num(L, "minimum_effect_size", c->minimum_effect_size);
    sl_set_num(L, "target_sample_size", (double)c->target_sample_size);
    sl_set_num(L, "duration_hours", c->duration_hours);
    sl_set_bool(L, "auto_promote", c->auto_promote);
    sl_set_bool(L, "auto_rollback", c->auto_rollback);
    sl_push_strings(L, c->success_metrics, c->nsuccess);
    lua_setfield(L, -2, "success_metrics");
}

static void sl_view_ramp(lua_State *L, const struct sl_test_config *c)
{
    lua_createtable(L, (int)c->nramp, 0);
    for (size_t i = 0; i < c->nramp; i++) {
        lua_createtable(L, 0, 3);
        sl_set_num(L, "at_hours", c->ramp[i].at_hours);
        sl_set_num(L, "treatment", c->ramp[i].treatment);
        sl_set_num(L, "control", c->ramp[i].control);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static void sl_view_history(lua_State *L, const struct sl_test_info *t)
{
    lua_createtable(L, (int)t->nalloc_history, 0);
    for (size_t i = 0; i < t->nalloc_history; i++) {
        lua_createtable(L, 0, 2);
        sl_set_num(L, "at", t->alloc_history[i].at);
        sl_set_num(L, "treatment", t->alloc_history[i].treatment);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* Push root field key of a test or canary; false if there is none. */
static bool sl_view_scalar(lua_State *L, const struct sl_view_ctx *c, const char *key)
{
    bool test = c->kind == SL_KIND_TEST;
    const struct sl_test_info *t = &c->info.t;
    const struct sl_canary_info *k = &c->info.k;
    const char *str = strcmp(key, "kind") == 0     ? (test ? "test" : "canary")
                      : strcmp(key, "id") == 0     ? (test ? t->config->id : k->config->id)
                      : strcmp(key, "name") == 0   ? (test ? t->config->name : k->config->name)
                      : strcmp(key, "model") == 0  ? (test ? t->config->model : k->config->model)
                      : strcmp(key, "status") == 0 ? (test ? sl_test_status_name(t->status)
                                                           : sl_canary_status_name(k->status))
                                                   : NULL;
    bool secs = strcmp(key, "age_seconds") == 0, hours = !secs && strcmp(key, "age_hours") == 0;
    if (str) {
        lua_pushstring(L, str);
    } else if (secs || hours) {
        double age =
            test ? t->running_seconds
            : k->status != SL_CANARY_PREPARING /* by status: a virtual clock may start at 0 */
                ? sl_engine_now(c->eng) - k->started_at
                : 0;
        lua_pushnumber(L, hours ? age / 3600.0 : age);
    } else if (test && strcmp(key, "ramp_step") == 0)
        lua_pushinteger(L, t->ramp_step + 1);
    else if (strcmp(key, "allocation") == 0) {
        double share = test ? (t->status == SL_TEST_PAUSED ? 0 : t->treatment_pct) : k->traffic_pct;
        lua_createtable(L, 0, 2);
        sl_set_num(L, test ? "treatment" : "canary", share);
        sl_set_num(L, test ? "control" : "stable", 100 - share);
    } else
        return false;
    return true;
}

static void sl_view_criteria(lua_State *L, const struct sl_canary_config *c)
{
    lua_createtable(L, (int)c->ncriteria, 0);
    for (size_t i = 0; i < c->ncriteria; i++) {
        lua_createtable(L, 0, 4);
        sl_set_str(L, "metric", c->criteria[i].metric);
        sl_set_str(L, "op", sl_op_name(c->criteria[i].op));
        sl_set_num(L, "value", c->criteria[i].value);
        sl_set_num(L, "for_minutes", c->criteria[i].for_minutes);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "promotion_criteria");
}

static void sl_view_canary_config(lua_State *L, const struct sl_canary_config *c)
{
    lua_createtable(L, 0, 8);
    sl_set_num(L, "traffic", c->traffic);
    sl_set_num(L, "duration_minutes", c->duration_minutes);
    sl_set_num(L, "success_threshold", c->success_threshold);
    sl_set_num(L, "error_threshold", c->error_threshold);
    sl_set_bool(L, "auto_promote", c->auto_promote);
    sl_set_bool(L, "auto_rollback", c->auto_rollback);
    sl_set_num(L, "health_check_interval_ms", c->health_check_interval_ms);
    sl_view_criteria(L, c);
}

static void sl_view_health(lua_State *L, const struct sl_canary_info *k)
{
    lua_createtable(L, (int)k->nchecks, 0);
    for (size_t i = 0; i < k->nchecks; i++) {
        lua_createtable(L, 0, 4);
        sl_set_num(L, "at", k->checks[i].at);
        sl_set_str(L, "health", sl_health_name(k->checks[i].health));
        sl_set_num(L, "error_rate", k->checks[i].error_rate);
        sl_set_bool(L, "passed", k->checks[i].passed);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* Canaries keep no sequential state: stable vs canary, fixed-horizon. */
static void sl_view_canary_stats(lua_State *L, struct sl_engine *eng, const char *id)
{
    struct sl_variant_metrics a, b;
    struct sl_proportions pr;
    struct sl_welch w;
    lua_newtable(L);
    if (sl_engine_metrics(eng, id, 0, 0, &a, NULL) || sl_engine_metrics(eng, id, 1, 0, &b, NULL))
        return;
    if (sl_stats_proportions((double)a.errors, (double)a.requests, (double)b.errors,
                             (double)b.requests, 0.05, &pr, NULL) == 0 &&
        a.requests >= 2 && b.requests >= 2) {
        lua_createtable(L, 0, 6);
        sl_set_num(L, "p1", pr.p1);
        sl_set_num(L, "p2", pr.p2);
        sl_set_num(L, "diff", pr.diff);
        sl_set_num(L, "p", pr.p);
        sl_set_num(L, "ci_low", pr.ci_low);
        sl_set_num(L, "ci_high", pr.ci_high);
        lua_setfield(L, -2, "error_rate");
    }
    if (a.requests >= 2 && b.requests >= 2 &&
        sl_stats_welch(a.latency_mean, a.latency_var, (double)a.requests, b.latency_mean,
                       b.latency_var, (double)b.requests, 0.05, &w, NULL) == 0) {
        lua_createtable(L, 0, 5);
        sl_set_num(L, "diff", w.diff);
        sl_set_num(L, "se", w.se);
        sl_set_num(L, "p", w.p);
        sl_set_num(L, "ci_low", w.ci_low);
        sl_set_num(L, "ci_high", w.ci_high);
        lua_setfield(L, -2, "latency");
    }
}

static void sl_view_stats(lua_State *L, struct sl_engine *eng, int kind, const char *id,
                          struct sl_view_call call)
{
    struct sl_view_stats v = {.call = call};
    if (kind == SL_KIND_CANARY)
        sl_view_canary_stats(L, eng, id);
    else if (sl_engine_test_stats(eng, id, &v.st, NULL) == 0) {
        lsl_push_stats_top(L, &v.st);
        lua_pushlightuserdata(L, (void *)&sl_stats_key);
        *(struct sl_view_stats *)lua_newuserdatauv(L, sizeof v, 0) = v;
        lua_rawset(L, -3);
    } else
        lua_newtable(L);
}

/* Build section key of the root view (ctx c) into the backing table at b;
 * false if key is not a section. [-0, +0, m] */
static bool sl_view_lazy(lua_State *L, const struct sl_view_ctx *c, const char *key, int b)
{
    bool test = c->kind == SL_KIND_TEST;
    if (!c->found)
        return false;
    const struct sl_test_info *t = &c->info.t;
    const struct sl_canary_info *k = &c->info.k;
    const char *a0 = test ? "control" : "stable", *a1 = test ? "treatment" : "canary";
    if (sl_view_scalar(L, c, key)) {
        /* pushed */
    } else if (strcmp(key, "window") == 0) {
        lua_pushvalue(L, 1); /* the root proxy (sl_view_index and pairs keep it at 1) */
        lua_pushcclosure(L, sl_view_window, 1);
    } else if (strcmp(key, a0) == 0 || strcmp(key, a1) == 0) {
        double span;
        if (!sl_view_arm(L, c->eng, c->id, strcmp(key, a1) == 0, 0, c->serial, c->current, &span))
            return false;
    } else if (strcmp(key, "stats") == 0) {
        sl_view_stats(L, c->eng, c->kind, c->id, (struct sl_view_call){c->current, c->serial});
    } else if (strcmp(key, "config") == 0) {
        if (test)
            sl_view_test_config(L, t->config);
        else
            sl_view_canary_config(L, k->config);
    } else if (test && strcmp(key, "ramp") == 0) {
        sl_view_ramp(L, t->config);
    } else if (test && strcmp(key, "allocation_history") == 0) {
        sl_view_history(L, t);
    } else if (!test && strcmp(key, "health") == 0) {
        sl_view_health(L, k);
    } else {
        return false;
    }
    lua_setfield(L, b, key);
    return true;
}

/* The root's context, checked to be of the current call, or NULL for a
 * nested proxy. Raises when the view outlived its call. */
static const struct sl_view_ctx *sl_view_ctx_of(lua_State *L, int proxy)
{
    const struct sl_view_ctx *c =
        lua_rawlen(L, proxy) == sizeof *c ? lua_touserdata(L, proxy) : NULL;
    if (c && *c->current != c->serial)
        luaL_error(L, "view used outside its evaluate call");
    return c;
}

static bool sl_view_lazy_at(lua_State *L, int proxy, int backing, int key)
{
    if (lua_type(L, key) != LUA_TSTRING)
        return false;
    const struct sl_view_ctx *c = sl_view_ctx_of(L, proxy);
    return c ? sl_view_lazy(L, c, lua_tostring(L, key), backing)
             : sl_view_part(L, backing, lua_tostring(L, key));
}

/* Whether the table at backing has no key k yet. [-0, +0, m] */
static bool sl_view_missing(lua_State *L, int backing, const char *k)
{
    bool missing = lua_getfield(L, backing, k) == LUA_TNIL;
    lua_pop(L, 1);
    return missing;
}

static void sl_view_lazy_all(lua_State *L, int proxy, int backing)
{
    static const char *const keys[] = {
        "kind",      "id",        "name",       "model",  "status",  "age_seconds",
        "age_hours", "ramp_step", "allocation", "window", "control", "treatment",
        "stable",    "canary",    "stats",      "config", "ramp",    "allocation_history",
        "health"};
    const struct sl_view_ctx *c = sl_view_ctx_of(L, proxy);
    if (c) {
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (sl_view_missing(L, backing, keys[i]))
                (void)sl_view_lazy(L, c, keys[i], backing);
        return;
    }
    static const char *const arm_parts[] = {"latency", "metrics"};
    lua_pushlightuserdata(L, (void *)&sl_arm_key);
    bool arm = lua_rawget(L, backing) == LUA_TUSERDATA;
    lua_pushlightuserdata(L, (void *)&sl_stats_key);
    bool stats = lua_rawget(L, backing) == LUA_TUSERDATA;
    lua_pop(L, 2);
    int n = arm ? LSL_NCOUNTS + 2 : stats ? LSL_NSTATS_PARTS : 0; /* else a plain section */
    for (int i = 0; i < n; i++) {
        const char *k = !arm              ? lsl_stats_parts[i]
                        : i < LSL_NCOUNTS ? lsl_count_names[i]
                                          : arm_parts[i - LSL_NCOUNTS];
        if (sl_view_missing(L, backing, k))
            (void)sl_view_part(L, backing, k);
    }
}

void sl_lua_push_view(lua_State *L, struct sl_engine *eng, int kind, const char *id, int recorder,
                      uint64_t serial, const uint64_t *current)
{
    recorder = lua_absindex(L, recorder);
    lua_createtable(L, 0, 8); /* the backing: filled as fields are read */
    struct sl_view_ctx *c = lua_newuserdatauv(L, sizeof *c, SL_UV_N);
    memset(c, 0, sizeof *c);
    c->eng = eng;
    c->kind = kind;
    c->serial = serial;
    c->current = current;
    c->found = kind == SL_KIND_TEST ? sl_engine_test(eng, id, &c->info.t, NULL) == 0
                                    : sl_engine_canary(eng, id, &c->info.k, NULL) == 0;
    if (c->found) /* else nothing reads it: no section is built */
        c->id = kind == SL_KIND_TEST ? c->info.t.config->id : c->info.k.config->id;
    sl_view_uservalues(L, lua_gettop(L) - 1, 0, 0, recorder);
    lua_remove(L, -2);
}
