#include "host.h"

#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "lsl_json.h"
#include "lsl_view.h"

#define SL_STATE_MAX      65536 /* bytes of serialised ctx.state per (test, policy) */
#define SL_INPUTS_MAX     8192  /* bytes of recorded inputs attached to a decision */
#define SL_LOG_LINES      256
#define SL_LIVE_STATE_MAX 4096 /* bytes of JSON: larger states are parsed each call */

/* Per (test or canary id, policy name): ctx.state and the failure streak. */
struct sl_host_entry {
    char *key;   /* id '\x1f' policy */
    char *state; /* ctx.state as JSON: what the store saves, and the truth */
    /* The live ctx.state: a table kept in live's own Lua state between calls
     * (a cache of the text: a miss parses the text again), and the hash of
     * its contents when the text was last written from it. */
    const struct sl_policy *live;
    uint64_t hash;
    bool hashed;
    int failures;
    int last_shadow; /* last shadow verdict (action * 8 + recommendation + 1), 0 = none */
    bool dirty;      /* state changed since the store last saved it */
    bool missing;    /* guard_metrics: "threshold is not loaded" already said */
};

struct sl_host {
    struct sl_engine *eng;
    struct sl_host_opts opts;
    struct sl_policyset *set;
    struct sl_host_entry *map;
    size_t mask, n;
    char *log[SL_LOG_LINES];
    size_t log_next;
    uint64_t serial;         /* one per evaluate call: views must not outlive theirs */
    struct sl_call *current; /* the evaluate call in progress, or NULL */
    char *cfg_text;          /* the last policies config parsed: the hooks of one test */
    cJSON *cfg_json;         /* come one after another, so one entry saves most parses */
    size_t ndirty;           /* entries with dirty set */
};

void sl_host_opts_default(struct sl_host_opts *o)
{
    memset(o, 0, sizeof *o);
    sl_sandbox_limits_default(&o->limits);
    o->max_failures = 5;
}

/* ---- the (id, policy) map ----------------------------------------------------- */

static struct sl_host_entry *sl_host_entry(struct sl_host *h, const char *id, const char *policy,
                                           bool create)
{
    char key[SL_ID_MAX + 80];
    size_t ni = strnlen(id, SL_ID_MAX), np = strnlen(policy, sizeof key - ni - 2);
    memcpy(key, id, ni);
    key[ni] = '\x1f';
    memcpy(key + ni + 1, policy, np);
    key[ni + 1 + np] = '\0';
    if (create && (h->n + 1) * 2 > h->mask + 1) {
        size_t size = (h->mask + 1) * 2;
        struct sl_host_entry *m = calloc(size, sizeof *m);
        if (!m)
            return NULL;
        for (size_t i = 0; i <= h->mask && h->map; i++)
            if (h->map[i].key) {
                size_t j = XXH3_64bits(h->map[i].key, strlen(h->map[i].key)) & (size - 1);
                while (m[j].key)
                    j = (j + 1) & (size - 1);
                m[j] = h->map[i];
            }
        free(h->map);
        h->map = m;
        h->mask = size - 1;
    }
    if (!h->map)
        return NULL;
    size_t i = XXH3_64bits(key, strlen(key)) & h->mask;
    for (; h->map[i].key; i = (i + 1) & h->mask)
        if (strcmp(h->map[i].key, key) == 0)
            return &h->map[i];
    if (!create || !(h->map[i].key = strdup(key)))
        return NULL;
    h->n++;
    return &h->map[i];
}

const char *sl_host_state(const struct sl_host *h, const char *id, const char *policy)
{
    struct sl_host_entry *e = sl_host_entry((struct sl_host *)h, id, policy, false);
    return e ? e->state : NULL;
}

int sl_host_set_state(struct sl_host *h, const char *id, const char *policy, const char *json,
                      struct sl_err *err)
{
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    if (json && (!j || !cJSON_IsObject(j))) {
        cJSON_Delete(j);
        return sl_err_set(err, SL_EINVAL, "ctx.state must be a JSON object");
    }
    cJSON_Delete(j);
    if (json && strlen(json) > SL_STATE_MAX)
        return sl_err_set(err, SL_EINVAL, "ctx.state is over %d bytes", SL_STATE_MAX);
    struct sl_host_entry *e = sl_host_entry(h, id, policy, true);
    char *copy = json ? strdup(json) : NULL;
    if (!e || (json && !copy)) {
        free(copy);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    free(e->state);
    e->state = copy;
    e->live = NULL; /* the next call parses the new text */
    e->hashed = false;
    return 0;
}

/* ---- ctx.log ------------------------------------------------------------------------ */

static void sl_host_log_line(struct sl_host *h, const char *line)
{
    char *copy = strdup(line);
    if (!copy)
        return;
    free(h->log[h->log_next % SL_LOG_LINES]);
    h->log[h->log_next++ % SL_LOG_LINES] = copy;
}

int sl_host_dirty_states(struct sl_host *h,
                         int (*fn)(void *ud, const char *id, const char *policy, const char *json),
                         void *ud)
{
    for (size_t i = 0; h->map && i <= h->mask; i++) {
        struct sl_host_entry *e = &h->map[i];
        if (!e->key || !e->dirty)
            continue;
        char id[SL_ID_MAX + 1];
        const char *sep = strchr(e->key, '\x1f');
        snprintf(id, sizeof id, "%.*s", (int)(sep - e->key), e->key);
        int rc = fn(ud, id, sep + 1, e->state);
        if (rc)
            return rc;
        e->dirty = false;
        h->ndirty--;
    }
    return 0;
}

bool sl_host_states_dirty(const struct sl_host *h)
{
    return h->ndirty > 0;
}

size_t sl_host_log_count(const struct sl_host *h)
{
    return h->log_next < SL_LOG_LINES ? h->log_next : SL_LOG_LINES;
}

const char *sl_host_log_at(const struct sl_host *h, size_t i)
{
    size_t n = sl_host_log_count(h);
    return i < n ? h->log[(h->log_next - n + i) % SL_LOG_LINES] : NULL;
}

/* ---- the policies config ----------------------------------------------------------- */

static const char *sl_hook_key(int hook)
{
    static const char *const keys[SL_NHOOKS] = {"guards", "promotion", "recommend", "ramp"};
    return keys[hook];
}

static int sl_hook_policy_kind(int hook)
{
    static const int kinds[SL_NHOOKS] = {SL_POLICY_GUARD, SL_POLICY_PROMOTION, SL_POLICY_RECOMMEND,
                                         SL_POLICY_RAMP};
    return kinds[hook];
}

static int sl_check_entry(struct sl_host *h, const cJSON *e, int hook, const char *where,
                          struct sl_err *err)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(e, "params");
    const cJSON *shadow = cJSON_GetObjectItemCaseSensitive(e, "shadow");
    if (!cJSON_IsObject(e) || !cJSON_IsString(name))
        return sl_err_set(err, SL_EINVAL, "%s: expected {name, params?, shadow?}", where);
    for (const cJSON *c = e->child; c; c = c->next)
        if (strcmp(c->string, "name") && strcmp(c->string, "params") && strcmp(c->string, "shadow"))
            return sl_err_set(err, SL_EINVAL, "%s: unknown key '%s'", where, c->string);
    if ((params && !cJSON_IsObject(params)) || (shadow && !cJSON_IsBool(shadow)))
        return sl_err_set(err, SL_EINVAL, "%s: params must be an object, shadow a boolean", where);
    int kind = sl_hook_policy_kind(hook);
    if (h && !sl_policyset_find(h->set, kind, name->valuestring))
        return sl_err_set(err, SL_ENOTFOUND, "%s: no %s policy named '%s' is loaded", where,
                          sl_policy_kind_name(kind), name->valuestring);
    return 0;
}

static int sl_check_hook(struct sl_host *h, const cJSON *v, int hook, struct sl_err *err)
{
    char where[64];
    if (hook != SL_HOOK_GUARD) {
        snprintf(where, sizeof where, "policies.%s", sl_hook_key(hook));
        return sl_check_entry(h, v, hook, where, err);
    }
    if (!cJSON_IsArray(v))
        return sl_err_set(err, SL_EINVAL, "policies.guards: expected a list");
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next) {
        snprintf(where, sizeof where, "policies.guards[%d]", ++i);
        if (sl_check_entry(h, e, hook, where, err))
            return -1;
    }
    return 0;
}

int sl_host_check_config(struct sl_host *h, const char *json, int kind, struct sl_err *err)
{
    cJSON *root = cJSON_Parse(json);
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        rc = sl_err_set(err, SL_EINVAL, "policies: expected an object");
        goto done;
    }
    for (const cJSON *c = root->child; c && rc == 0; c = c->next) {
        int hook = -1;
        for (int k = 0; k < SL_NHOOKS; k++)
            if (strcmp(c->string, sl_hook_key(k)) == 0)
                hook = k;
        bool wrong = (hook == SL_HOOK_PROMOTION && kind == SL_KIND_TEST) ||
                     (hook == SL_HOOK_RECOMMEND && kind == SL_KIND_CANARY);
        if (hook < 0 || wrong)
            rc = sl_err_set(err, SL_EINVAL, "policies: unknown key '%s' for a %s", c->string,
                            kind == SL_KIND_TEST ? "test" : "canary");
        else
            rc = sl_check_hook(h, c, hook, err);
    }
done:
    cJSON_Delete(root);
    return rc;
}

/* ---- one evaluate call ---------------------------------------------------------------- */

struct sl_call {
    struct sl_host *h;
    int kind, hook;
    const char *id;
    struct sl_policy *p;
    const cJSON *params; /* the test's params for this policy, or NULL */
    bool shadow;
    uint64_t serial;
    bool sole;                   /* its hook's only configured policy */
    struct sl_host_entry *entry; /* its (id, policy) entry; NULL when out of memory */
    struct sl_decision *out;
    bool decided;
    char *state;   /* new ctx.state JSON (malloc'd), or NULL when it did not change */
    uint64_t hash; /* of the state's contents, when hashed */
    bool hashed;
    char *inputs; /* recorded inputs JSON (malloc'd) */
    struct sl_err err;
};

/* The number of keys of the table at idx. */
static int sl_count_keys(lua_State *L, int idx)
{
    int n = 0;
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        n++;
    }
    return n;
}

/* Push a deep copy of the table at idx (the policy's defaults: policies
 * cannot mutate them across calls), to depth 16, with room for extra more
 * keys: sized once, never rehashed as it fills. [-0, +1, m] */
static void sl_copy_table(lua_State *L, int idx, int depth, int extra)
{
    /* 3 slots stay taken per level (copy, key, value), 3 more while counting
     * and copying: a C function is only promised 20 (policy files choose
     * how deep their params nest; this runs inside the protected call) */
    luaL_checkstack(L, 6, "params nested too deep");
    idx = lua_absindex(L, idx);
    lua_createtable(L, 0, sl_count_keys(L, idx) + extra);
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* STACK: copy key value */
        if (lua_istable(L, -1) && depth < 16) {
            sl_copy_table(L, -1, depth + 1, 0);
            lua_replace(L, -2);
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
}

/* params = copy(defaults) overlaid with the test's params. [-0, +1, m] */
static void sl_push_params(lua_State *L, const struct sl_call *c)
{
    int given = c->params ? cJSON_GetArraySize(c->params) : 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->p->params_ref);
    if (lua_istable(L, -1))
        sl_copy_table(L, -1, 0, given);
    else
        lua_createtable(L, 0, given);
    lua_remove(L, -2);
    for (const cJSON *e = c->params ? c->params->child : NULL; e; e = e->next) {
        sl_lua_push_json(L, e);
        lua_setfield(L, -2, e->string);
    }
}

/* ctx.log(...): the upvalues are the host (which outlives every policy
 * state) and the call's serial; the call itself is reached through the host
 * only while that serial is current, so a stashed ctx.log cannot touch a
 * finished call. */
static int sl_ctx_log(lua_State *L)
{
    struct sl_host *h = lua_touserdata(L, lua_upvalueindex(1));
    if (h->serial != (uint64_t)lua_tointeger(L, lua_upvalueindex(2)) || !h->current)
        return luaL_error(L, "ctx.log used outside its evaluate call");
    struct sl_call *c = h->current;
    char line[512];
    int n = snprintf(line, sizeof line, "%s %s: ", c->id, c->p->name);
    for (int i = 1; i <= lua_gettop(L) && n > 0 && (size_t)n < sizeof line; i++) {
        int t = lua_type(L, i);
        const char *s = t == LUA_TSTRING || t == LUA_TNUMBER ? lua_tostring(L, i)
                        : t == LUA_TBOOLEAN ? (lua_toboolean(L, i) ? "true" : "false")
                                            : luaL_typename(L, i);
        n += snprintf(line + n, sizeof line - (size_t)n, "%s%s", i > 1 ? " " : "", s);
    }
    sl_host_log_line(c->h, line);
    return 0;
}

/* ---- the live ctx.state ----------------------------------------------------------------
 *
 * A policy's state object lives on in the policy's own Lua state between
 * calls (registry[&sl_states_key][id]), so a call neither parses it from
 * JSON nor prints it back: after the call a hash of its contents says
 * whether it changed, and only then is the JSON written (and checked: types,
 * size). The JSON text stays the truth. A miss (a reload, a restored state,
 * a failed call, the cache cleared) parses it again. */

static const char sl_states_key;

/* The cache table of this Lua state, created on first use. [-0, +1, m] */
static void sl_push_states(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &sl_states_key) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &sl_states_key);
}

/* Keep the table on top, whose JSON text is bytes long, as the call's live
 * state (it stays on the stack). The cache lives inside the policy's memory
 * cap, so it is bounded: a large state is not kept (it is parsed each call,
 * as it was before there was a cache), and when the cache holds more than
 * 2 x the engine's objects + 64 states, or more JSON text than a sixteenth
 * of the memory cap, it starts over (states of finished tests are dropped;
 * the rest parse again). Its [1] counts the states, [2] their bytes.
 * [-0, +0, m] */
static void sl_keep_state(lua_State *L, struct sl_call *c, size_t bytes)
{
    if (!c->entry)
        return;
    if (bytes > SL_LIVE_STATE_MAX) {
        c->entry->live = NULL;
        sl_push_states(L); /* drop a smaller one kept before */
        lua_pushnil(L);
        lua_setfield(L, -2, c->id);
        lua_pop(L, 1);
        return;
    }
    c->entry->live = c->p;
    sl_push_states(L); /* STACK: state cache */
    int had = lua_getfield(L, -1, c->id);
    bool same = had == LUA_TTABLE && lua_rawequal(L, -1, -3);
    lua_pop(L, 1);
    if (same) {
        lua_pop(L, 1);
        return;
    }
    lua_Integer n = lua_rawgeti(L, -1, 1) == LUA_TNUMBER ? lua_tointeger(L, -1) : 0;
    lua_Integer total = lua_rawgeti(L, -2, 2) == LUA_TNUMBER ? lua_tointeger(L, -1) : 0;
    lua_pop(L, 2);
    size_t live = sl_engine_test_count(c->h->eng) + sl_engine_canary_count(c->h->eng);
    lua_Integer cap = (lua_Integer)(c->h->opts.limits.memory_bytes / 16);
    if ((had == LUA_TNIL && (size_t)n >= 2 * live + 64) || total >= cap) {
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &sl_states_key);
        sl_push_states(L);
        n = total = 0;
        had = LUA_TNIL;
    }
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, c->id);
    lua_pushinteger(L, n + (had == LUA_TNIL));
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, total + (lua_Integer)bytes); /* a replaced state's old bytes stay counted */
    lua_rawseti(L, -2, 2);
    lua_pop(L, 1);
}

static bool sl_state_hash(lua_State *L, int idx, int depth, uint64_t *out);

/* Push the call's ctx.state: the kept table when its contents are still what
 * the text says (the policy may have kept a reference to it, or given the
 * same table to two tests), else the text parsed again. [-0, +1, m] */
static void sl_push_state(lua_State *L, struct sl_call *c)
{
    struct sl_host_entry *e = c->entry;
    uint64_t h;
    if (e && e->live == c->p && e->hashed) {
        sl_push_states(L);
        if (lua_getfield(L, -1, c->id) == LUA_TTABLE && sl_state_hash(L, -1, 0, &h) &&
            h == e->hash) {
            lua_remove(L, -2);
            return;
        }
        lua_pop(L, 2);
    }
    if (!e || !e->state || sl_lua_push_json_text(L, e->state, NULL))
        lua_newtable(L);
}

static uint64_t sl_mix(uint64_t a, uint64_t b)
{
    uint64_t v[2] = {a, b};
    return XXH3_64bits(v, sizeof v);
}

/* A hash of the JSON-like contents of the value at idx, the same for equal
 * contents whatever the order of a table's keys; false for anything the
 * JSON writer should judge (other types, deep nesting, non-finite numbers):
 * then the state is written, and refused, as without the hash. */
static bool sl_state_hash(lua_State *L, int idx, int depth, uint64_t *out)
{
    size_t n;
    double d;
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        *out = sl_mix(1, (uint64_t)lua_toboolean(L, idx));
        return true;
    case LUA_TNUMBER:
        d = lua_tonumber(L, idx);
        if (!isfinite(d))
            return false;
        memcpy(out, &d, sizeof d);
        *out = sl_mix(2, *out);
        return true;
    case LUA_TSTRING: {
        const char *s = lua_tolstring(L, idx, &n);
        *out = sl_mix(3, XXH3_64bits(s, n));
        return true;
    }
    case LUA_TTABLE:
        break;
    default:
        return false;
    }
    if (depth >= 16 || !lua_checkstack(L, 4))
        return false;
    idx = lua_absindex(L, idx);
    uint64_t sum = 0, count = 0, hk, hv;
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* STACK: key value */
        int kt = lua_type(L, -2);
        if ((kt != LUA_TSTRING && kt != LUA_TNUMBER) || !sl_state_hash(L, -2, depth + 1, &hk) ||
            !sl_state_hash(L, -1, depth + 1, &hv)) {
            lua_pop(L, 2);
            return false;
        }
        sum += sl_mix(hk, hv); /* a sum: the order of next() does not matter */
        count++;
        lua_pop(L, 1);
    }
    *out = sl_mix(sl_mix(4, count), sum);
    return true;
}

/* ctx = {now, state, hook, policy, log}. [-0, +1, m] */
static void sl_push_ctx(lua_State *L, struct sl_call *c)
{
    lua_createtable(L, 0, 5);
    lua_pushnumber(L, sl_engine_now(c->h->eng));
    lua_setfield(L, -2, "now");
    sl_push_state(L, c);
    lua_setfield(L, -2, "state");
    lua_pushstring(L, sl_hook_name(c->hook));
    lua_setfield(L, -2, "hook");
    lua_pushstring(L, c->p->name);
    lua_setfield(L, -2, "policy");
    lua_pushlightuserdata(L, c->h);
    lua_pushinteger(L, (lua_Integer)c->serial);
    lua_pushcclosure(L, sl_ctx_log, 2);
    lua_setfield(L, -2, "log");
}

static const char *const sl_actions[] = {"none",   "alert",    "set_traffic", "pause",
                                         "resume", "rollback", "promote",     NULL};

/* Which actions each hook may return. */
static bool sl_action_allowed(int hook, int action)
{
    switch (hook) {
    case SL_HOOK_GUARD:
        return action >= SL_DECIDE_ALERT && action <= SL_DECIDE_ROLLBACK;
    case SL_HOOK_RAMP:
        return action == SL_DECIDE_SET_TRAFFIC;
    case SL_HOOK_PROMOTION:
        return action == SL_DECIDE_PROMOTE || action == SL_DECIDE_ROLLBACK;
    default:
        return true;
    }
}

static const char *sl_raw_string(lua_State *L, int t, const char *k)
{
    lua_pushstring(L, k);
    const char *s = lua_rawget(L, t) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1); /* the table still references s */
    return s;
}

/* snprintf(dst, size, "%s", src) without the format machinery: every
 * decided call copies three strings. */
static void sl_text_copy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Read a decision table with raw access only (no metamethods run here). */
static int sl_read_decision(lua_State *L, int t, struct sl_call *c)
{
    struct sl_decision *d = c->out;
    memset(d, 0, sizeof *d);
    d->treatment = NAN;
    d->hook = c->hook;
    d->shadow = c->shadow;
    const char *reason = sl_raw_string(L, t, "reason");
    const char *action = sl_raw_string(L, t, "action");
    const char *rec = sl_raw_string(L, t, "recommendation");
    const char *trig = sl_raw_string(L, t, "trigger");
    if (!reason || !*reason)
        return luaL_error(L, "decision has no reason (a non-empty string)");
    sl_text_copy(d->reason, sizeof d->reason, reason);
    sl_text_copy(d->policy, sizeof d->policy, c->p->name);
    sl_text_copy(d->version, sizeof d->version, c->p->version);
    if (c->hook == SL_HOOK_RECOMMEND) {
        if ((d->recommendation = rec ? sl_recommendation_parse(rec) : -1) <= 0)
            return luaL_error(L, "recommend: unknown recommendation '%s'", rec ? rec : "nil");
        return 0;
    }
    d->action = -1;
    for (int i = 0; action && sl_actions[i]; i++)
        if (strcmp(action, sl_actions[i]) == 0)
            d->action = i;
    if (d->action < 0 || !sl_action_allowed(c->hook, d->action))
        return luaL_error(L, "%s: action '%s' is not allowed here", sl_hook_name(c->hook),
                          action ? action : "nil");
    lua_pushliteral(L, "treatment");
    if (lua_rawget(L, t) == LUA_TNUMBER)
        d->treatment = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (d->action == SL_DECIDE_SET_TRAFFIC && !(d->treatment >= 0 && d->treatment <= 100))
        return luaL_error(L, "set_traffic: treatment must be a number in [0,100]");
    d->trigger = trig ? sl_trigger_parse(trig) : 0;
    if (d->trigger < 0)
        return luaL_error(L, "unknown trigger '%s'", trig);
    return 0;
}

static char *sl_json_text(lua_State *L, int idx, size_t max, const char *what)
{
    struct sl_err err;
    cJSON *j = sl_lua_to_json(L, idx, &err);
    if (!j)
        luaL_error(L, "%s: %s", what, err.msg);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s)
        luaL_error(L, "%s: out of memory", what);
    if (strlen(s) > max) {
        free(s);
        luaL_error(L, "%s: over %d bytes when serialised", what, (int)max);
    }
    return s;
}

/* A recommendation the judge will not log (see sl_engine_recommendation_logged):
 * its inputs would be serialised every tick, for every test, and thrown away.
 * Only when its policy is the hook's sole one: with several, the test's
 * current recommendation may be another policy's. */
static bool sl_call_unreported(const struct sl_call *c)
{
    return c->hook == SL_HOOK_RECOMMEND && c->kind == SL_KIND_TEST && !c->shadow && c->sole &&
           !sl_engine_recommendation_logged(c->h->eng, c->id, c->out->recommendation);
}

/* Fill the call's decision, new state and inputs from ctx (1), the
 * recorder (2) and evaluate's result (3). */
static void sl_call_extract(lua_State *L, struct sl_call *c)
{
    lua_pushliteral(L, "state");
    lua_rawget(L, 1);
    if (!lua_istable(L, -1))
        luaL_error(L, "ctx.state must stay a table");
    struct sl_host_entry *e = c->entry;
    c->hashed = sl_state_hash(L, -1, 0, &c->hash);
    if (!(c->hashed && e && e->hashed && e->hash == c->hash && e->state))
        c->state = sl_json_text(L, -1, SL_STATE_MAX, "ctx.state"); /* NULL: unchanged */
    /* ctx.state may be a new table now */
    const char *text = c->state ? c->state : e ? e->state : NULL;
    sl_keep_state(L, c, text ? strlen(text) : 2);
    lua_pop(L, 1);
    if (lua_isnil(L, 3))
        return;
    if (!lua_istable(L, 3))
        luaL_error(L, "evaluate must return nil or a table, not a %s", luaL_typename(L, 3));
    sl_read_decision(L, 3, c);
    c->decided = true;
    if (sl_call_unreported(c))
        return; /* c->inputs stays NULL: nobody will read them */
    sl_lua_view_inputs(L, 2, SL_INPUTS_MAX);
    cJSON *in = sl_lua_to_json(L, -1, NULL);
    char *s = in ? cJSON_PrintUnformatted(in) : NULL;
    cJSON_Delete(in);
    c->inputs = s && strlen(s) <= SL_INPUTS_MAX ? s : strdup("{\"truncated\":true}");
    if (c->inputs != s)
        free(s);
}

/* Protected, under the call's budget: push ctx and the recorder, call
 * evaluate(view, params, ctx), extract. One protected call, not one for each
 * of the three steps: each costs a clock read and a hook to arm. */
static int sl_call_body(lua_State *L)
{
    struct sl_call *c = lua_touserdata(L, 1);
    lua_settop(L, 0);
    sl_push_ctx(L, c);         /* 1 */
    lua_createtable(L, 48, 0); /* 2: the recorder of every field read (lsl_view.h) */
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->p->evaluate_ref);
    sl_lua_push_view(L, c->h->eng, c->kind, c->id, 2, c->serial, &c->h->serial);
    sl_push_params(L, c);
    lua_pushvalue(L, 1);
    lua_call(L, 3, 1); /* 3: the result */
    sl_call_extract(L, c);
    return 0;
}

/* Run the call through the gateway. 0 or -1 with c->err. */
static int sl_call_run(struct sl_call *c)
{
    lua_State *L = sl_sandbox_state(c->p->sb);
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 16))
        return sl_err_set(&c->err, SL_ENOMEM, "Lua stack exhausted");
    lua_pushcfunction(L, sl_call_body);
    lua_pushlightuserdata(L, c);
    int rc = sl_sandbox_call(c->p->sb, 1, 0, &c->err) == SL_CALL_OK ? 0 : -1;
    lua_settop(L, top);
    return rc;
}

/* ---- the evaluator --------------------------------------------------------------------- */

static void sl_host_failed(struct sl_host *h, struct sl_call *c)
{
    char actor[96], reason[512];
    snprintf(actor, sizeof actor, "policy:%s", c->p->name);
    snprintf(reason, sizeof reason, "%s failed: %s", sl_hook_name(c->hook), c->err.msg);
    sl_engine_emit(h->eng, SL_EVENT_ERROR, c->id, actor, "evaluate", reason, NULL, NAN, NULL);
    struct sl_host_entry *e = c->entry;
    struct sl_test_info t;
    if (!e || ++e->failures < h->opts.max_failures || h->opts.max_failures <= 0 ||
        c->kind != SL_KIND_TEST || sl_engine_test(h->eng, c->id, &t, NULL) ||
        t.status != SL_TEST_RUNNING)
        return; /* (guards still run while paused: a streak there pauses nothing) */
    snprintf(reason, sizeof reason, "policy %s failed %d times in a row; last: %s", c->p->name,
             e->failures, c->err.msg);
    e->failures = 0; /* a new streak after an operator resumes pauses again */
    (void)sl_engine_act(h->eng, c->id, SL_VERB_PAUSE, "host", reason, NULL);
}

static void sl_host_succeeded(struct sl_host *h, struct sl_call *c)
{
    struct sl_host_entry *e = c->entry;
    if (e) {
        e->failures = 0;
        e->hash = c->hash;
        e->hashed = c->hashed;
        if (!c->state)
            return; /* the state did not change */
        if (!e->dirty && (!e->state || strcmp(e->state, c->state) != 0)) {
            e->dirty = true;
            h->ndirty++;
        }
        free(e->state);
        e->state = c->state;
        c->state = NULL;
    }
}

/* A shadow policy is never applied, so repeating its verdict every tick
 * would only flood the log: it is reported when it changes. */
static bool sl_host_shadow_repeats(const struct sl_call *c)
{
    struct sl_host_entry *e = c->entry;
    int verdict = c->out->action * 8 + c->out->recommendation + 1;
    if (!e || e->last_shadow == verdict)
        return e != NULL;
    e->last_shadow = verdict;
    return false;
}

/* Evaluate one configured entry {name, params, shadow}. Returns 1 if it
 * produced a decision in *out. */
static int sl_host_one(struct sl_host *h, int kind, const char *id, int hook, const cJSON *entry,
                       bool sole, struct sl_decision *out)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(entry, "name");
    struct sl_call c = {.h = h, .kind = kind, .hook = hook, .id = id, .sole = sole, .out = out};
    c.p = cJSON_IsString(name)
              ? sl_policyset_find(h->set, sl_hook_policy_kind(hook), name->valuestring)
              : NULL;
    if (!c.p) {
        sl_engine_emit(h->eng, SL_EVENT_ERROR, id, "host", "evaluate",
                       "a configured policy is not loaded (deleted or broken file?)", NULL, NAN,
                       NULL);
        return 0;
    }
    c.params = cJSON_GetObjectItemCaseSensitive(entry, "params");
    c.shadow = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(entry, "shadow"));
    c.serial = ++h->serial;
    c.entry = sl_host_entry(h, id, c.p->name, true); /* none is added until the call ends */
    h->current = &c;
    int rc = sl_call_run(&c);
    h->current = NULL;
    h->serial++; /* closes the view and ctx.log of this call */
    if (rc && c.entry)
        c.entry->live = NULL; /* what a failed call did to its state is not kept */
    if (rc)
        sl_host_failed(h, &c);
    else
        sl_host_succeeded(h, &c);
    free(c.state);
    if (rc || !c.decided || (c.shadow && sl_host_shadow_repeats(&c))) {
        free(c.inputs);
        return 0;
    }
    out->inputs = c.inputs;
    return 1;
}

static const char *sl_host_config(struct sl_engine *eng, int kind, const char *id)
{
    struct sl_test_info t;
    struct sl_canary_info k;
    if (kind == SL_KIND_TEST && sl_engine_test(eng, id, &t, NULL) == 0)
        return t.config->policies;
    if (kind == SL_KIND_CANARY && sl_engine_canary(eng, id, &k, NULL) == 0)
        return k.config->policies;
    return NULL;
}

/* The parsed config for json, from the one-entry cache when it matches. */
static const cJSON *sl_host_parsed(struct sl_host *h, const char *json)
{
    if (h->cfg_text && strcmp(h->cfg_text, json) == 0)
        return h->cfg_json;
    cJSON *j = cJSON_Parse(json);
    char *t = j ? strdup(json) : NULL;
    if (!t) {
        cJSON_Delete(j);
        return NULL;
    }
    free(h->cfg_text);
    cJSON_Delete(h->cfg_json);
    h->cfg_text = t;
    h->cfg_json = j;
    return j;
}

/* A test's guard_metrics run as the threshold guard with their own numbers,
 * beside any guards its policies name. (They were stored and never read.) */
static int sl_host_guard_metrics(struct sl_host *h, const char *id, struct sl_decision *out,
                                 size_t max, size_t *nout)
{
    static const char *const types[] = {"maximum", "minimum", "percentage", "absolute"};
    static const char *const actions[] = {"pause", "rollback", "alert", "reduce_traffic"};
    struct sl_test_info t;
    int configured = 0;
    if (sl_engine_test(h->eng, id, &t, NULL) != 0 || t.config->nguards == 0)
        return 0;
    if (!sl_policyset_find(h->set, SL_POLICY_GUARD, "threshold")) {
        struct sl_host_entry *e = sl_host_entry(h, id, "threshold", true);
        if (e && !e->missing) /* said once per test, not every tick */
            sl_engine_emit(h->eng, SL_EVENT_ERROR, id, "host", "evaluate",
                           "guard_metrics need the threshold guard policy, which is not loaded",
                           NULL, NAN, NULL);
        if (e)
            e->missing = true;
        return 0;
    }
    for (size_t i = 0; i < t.config->nguards; i++, configured++) {
        const struct sl_guard_config *g = &t.config->guards[i];
        cJSON *e = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(e, "params");
        cJSON_AddStringToObject(e, "name", "threshold");
        cJSON_AddStringToObject(p, "metric", g->metric);
        cJSON_AddStringToObject(p, "type", types[g->type & 3]);
        cJSON_AddNumberToObject(p, "value", g->threshold);
        cJSON_AddStringToObject(p, "action", actions[g->action & 3]);
        if (p && *nout < max)
            *nout += (size_t)sl_host_one(h, SL_KIND_TEST, id, SL_HOOK_GUARD, e, false, &out[*nout]);
        cJSON_Delete(e);
    }
    return configured;
}

static int sl_host_evaluate(void *ud, struct sl_engine *eng, int kind, const char *id, int hook,
                            struct sl_decision *out, size_t max, size_t *nout, struct sl_err *err)
{
    struct sl_host *h = ud;
    *nout = 0;
    int implicit = kind == SL_KIND_TEST && hook == SL_HOOK_GUARD
                       ? sl_host_guard_metrics(h, id, out, max, nout)
                       : 0;
    const char *json = sl_host_config(eng, kind, id);
    if (!json)
        return implicit;
    const cJSON *root = sl_host_parsed(h, json);
    if (!root)
        return sl_err_set(err, SL_EINVAL, "%s: stored policies config is not JSON", id);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, sl_hook_key(hook));
    int configured = implicit;
    bool sole = implicit == 0 && (cJSON_IsObject(v) || cJSON_GetArraySize(v) == 1);
    if (cJSON_IsArray(v)) {
        for (const cJSON *e = v->child; e; e = e->next, configured++)
            if (*nout < max)
                *nout += (size_t)sl_host_one(h, kind, id, hook, e, sole, &out[*nout]);
    } else if (cJSON_IsObject(v)) {
        configured = 1;
        *nout += (size_t)sl_host_one(h, kind, id, hook, v, sole, &out[0]);
    }
    return configured;
}

int sl_host_evaluate_entry(struct sl_host *h, int kind, const char *id, int hook,
                           const char *entry_json, struct sl_decision *out, struct sl_err *err)
{
    cJSON *e = cJSON_Parse(entry_json);
    if (!cJSON_IsObject(e) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "name"))) {
        cJSON_Delete(e);
        return sl_err_set(err, SL_EINVAL, "a policy entry is an object with a \"name\"");
    }
    int rc = sl_host_one(h, kind, id, hook, e, false, out);
    cJSON_Delete(e);
    return rc;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void sl_host_on_change(void *ud, const char *file, const struct sl_policy *p,
                              const struct sl_err *err)
{
    struct sl_host *h = ud;
    char what[128];
    if (p) {
        snprintf(what, sizeof what, "%s %s %s (generation %u)", sl_policy_kind_name(p->kind),
                 p->name, p->version, p->generation);
        sl_engine_emit(h->eng, SL_EVENT_POLICY, p->name, "host", "load", what, NULL, NAN, NULL);
    } else if (err) {
        sl_engine_emit(h->eng, SL_EVENT_ERROR, file, "host", "load", err->msg, NULL, NAN, NULL);
    } else {
        sl_engine_emit(h->eng, SL_EVENT_POLICY, file, "host", "remove", "file removed", NULL, NAN,
                       NULL);
    }
}

struct sl_host *sl_host_new(struct sl_engine *eng, const struct sl_host_opts *o, struct sl_err *err)
{
    struct sl_host *h = calloc(1, sizeof *h);
    if (!h) {
        sl_err_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    h->eng = eng;
    if (o)
        h->opts = *o;
    else
        sl_host_opts_default(&h->opts);
    h->set =
        sl_policyset_new(h->opts.dirs, h->opts.ndirs, &h->opts.limits, sl_host_on_change, h, err);
    if (!h->set) {
        free(h);
        return NULL;
    }
    h->opts.dirs = NULL; /* borrowed only for the call; the set keeps copies */
    (void)sl_policyset_reload(h->set);
    struct sl_evaluator ev = {.ud = h, .evaluate = sl_host_evaluate};
    sl_engine_set_evaluator(eng, &ev);
    return h;
}

void sl_host_delete(struct sl_host *h)
{
    if (!h)
        return;
    sl_engine_set_evaluator(h->eng, NULL);
    sl_policyset_delete(h->set);
    for (size_t i = 0; h->map && i <= h->mask; i++) {
        free(h->map[i].key);
        free(h->map[i].state);
    }
    free(h->map);
    free(h->cfg_text);
    cJSON_Delete(h->cfg_json);
    for (size_t i = 0; i < SL_LOG_LINES; i++)
        free(h->log[i]);
    free(h);
}

int sl_host_reload(struct sl_host *h)
{
    return sl_policyset_reload(h->set);
}

int sl_host_reload_file(struct sl_host *h, const char *path)
{
    return sl_policyset_reload_file(h->set, path);
}

struct sl_policyset *sl_host_policies(struct sl_host *h)
{
    return h->set;
}
