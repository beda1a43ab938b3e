/* lsl_stats.c - the Lua binding of src/core/stats (sluice.stats).
 *
 * Every function checks its arguments and raises on misuse (a wrong type, a
 * NaN, n < 2, a negative variance, alpha outside (0, 1), ...) with the core's
 * message, prefixed by the Lua name. The one expected runtime failure,
 * welch_relative with a control mean of 0, returns nil and a message.
 * Results are plain tables whose field names are those of stats.h. */
#include "lsl_stats.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "core/stats.h"

#define SL_SEQ_MT "sluice.Sequential"

/* ---- helpers ----------------------------------------------------------- */

/* Raise the core's error message as a Lua error.  [-0, +0, v] */
static int sl_lua_fail(lua_State *L, const char *fn, const struct sl_err *err)
{
    return luaL_error(L, "sluice.stats.%s: %s", fn, err->msg);
}

/* One named number of a result table; integer fields are pushed as integers. */
struct sl_lua_field {
    const char *name;
    double value;
    bool integer;
};

/* Push a table {name = value, ...} of n fields.  [-0, +1, m] */
static void sl_lua_push_record(lua_State *L, const struct sl_lua_field *f, int n)
{
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        if (f[i].integer)
            lua_pushinteger(L, (lua_Integer)f[i].value);
        else
            lua_pushnumber(L, f[i].value);
        lua_setfield(L, -2, f[i].name);
    }
}

/* A number argument that is not NaN (infinities allowed).  [-0, +0, v] */
static double sl_lua_check_real(lua_State *L, int arg)
{
    double v = luaL_checknumber(L, arg);
    if (isnan(v))
        luaL_argerror(L, arg, "must not be NaN");
    return v;
}

/* A degrees-of-freedom argument: df > 0 (+inf allowed).  [-0, +0, v] */
static double sl_lua_check_df(lua_State *L, int arg)
{
    double df = luaL_checknumber(L, arg);
    if (!(df > 0))
        luaL_argerror(L, arg, "degrees of freedom must be > 0");
    return df;
}

/* A probability argument in [0, 1].  [-0, +0, v] */
static double sl_lua_check_prob(lua_State *L, int arg)
{
    double p = luaL_checknumber(L, arg);
    if (!(p >= 0 && p <= 1))
        luaL_argerror(L, arg, "probability must be in [0, 1]");
    return p;
}

/* Read the sequence at arg into a new userdata block of doubles, left on the
 * stack top (so an error raised later frees it with the rest of the stack).
 * *n receives the length.  [-0, +1, v] */
static double *sl_lua_check_numbers(lua_State *L, int arg, size_t *n)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    *n = (size_t)lua_rawlen(L, arg);
    double *v = lua_newuserdatauv(L, (*n ? *n : 1) * sizeof *v, 0);
    for (size_t i = 0; i < *n; i++) {
        int isnum;
        lua_rawgeti(L, arg, (lua_Integer)i + 1);
        v[i] = lua_tonumberx(L, -1, &isnum);
        if (!isnum || lua_type(L, -1) != LUA_TNUMBER)
            luaL_argerror(L, arg, lua_pushfstring(L, "element %d is not a number", (int)i + 1));
        lua_pop(L, 1);
    }
    return v;
}

/* As sl_lua_check_numbers, for bucket counts: non-negative integers.  [-0, +1, v] */
static uint64_t *sl_lua_check_counts(lua_State *L, int arg, size_t *n)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    *n = (size_t)lua_rawlen(L, arg);
    uint64_t *c = lua_newuserdatauv(L, (*n ? *n : 1) * sizeof *c, 0);
    for (size_t i = 0; i < *n; i++) {
        int isint;
        lua_rawgeti(L, arg, (lua_Integer)i + 1);
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        if (!isint || lua_type(L, -1) != LUA_TNUMBER || v < 0)
            luaL_argerror(L, arg,
                          lua_pushfstring(L, "count %d is not an integer >= 0", (int)i + 1));
        c[i] = (uint64_t)v;
        lua_pop(L, 1);
    }
    return c;
}

/* Push the sequence {v[1], ..., v[n]}.  [-0, +1, m] */
static void sl_lua_push_numbers(lua_State *L, const double *v, size_t n)
{
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushnumber(L, v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* The six summary statistics m1, v1, n1, m2, v2, n2 at arguments first..first+5. */
static void sl_lua_check_arms(lua_State *L, int first, double a[6])
{
    for (int i = 0; i < 6; i++)
        a[i] = luaL_checknumber(L, first + i);
}

/* ---- fixed-horizon tests --------------------------------------------------- */

static void sl_lua_push_welch(lua_State *L, const struct sl_welch *w)
{
    const struct sl_lua_field f[] = {
        {"diff", w->diff, false},      {"se", w->se, false}, {"t", w->t, false},
        {"df", w->df, false},          {"p", w->p, false},   {"ci_low", w->ci_low, false},
        {"ci_high", w->ci_high, false}};
    sl_lua_push_record(L, f, 7);
}

/* sluice.stats.welch(m1, v1, n1, m2, v2, n2 [, alpha = 0.05])
 *   -> {diff, se, t, df, p, ci_low, ci_high}                   [-(6|7), +1, v]
 * Welch's t-test, arm 1 control, diff = m2 - m1; v are sample variances. */
static int lsl_stats_welch(lua_State *L)
{
    double a[6];
    struct sl_welch w;
    struct sl_err err;
    sl_lua_check_arms(L, 1, a);
    if (sl_stats_welch(a[0], a[1], a[2], a[3], a[4], a[5], luaL_optnumber(L, 7, 0.05), &w, &err))
        return sl_lua_fail(L, "welch", &err);
    sl_lua_push_welch(L, &w);
    return 1;
}

/* sluice.stats.welch_relative(m1, v1, n1, m2, v2, n2 [, alpha = 0.05])
 *   -> {diff, se, t, df, p, ci_low, ci_high}  | nil, message  [-(6|7), +(1|2), v]
 * Relative lift (m2 - m1)/|m1| with its delta-method se (GrowthBook's).
 * Returns nil and a message when m1 = 0 (the lift is undefined). */
static int lsl_stats_welch_relative(lua_State *L)
{
    double a[6], alpha = luaL_optnumber(L, 7, 0.05);
    struct sl_welch w;
    struct sl_err err;
    sl_lua_check_arms(L, 1, a);
    /* Misuse raises even when m1 = 0: validate as the absolute test first. */
    if (sl_stats_welch(a[0], a[1], a[2], a[3], a[4], a[5], alpha, &w, &err))
        return sl_lua_fail(L, "welch_relative", &err);
    if (sl_stats_welch_relative(a[0], a[1], a[2], a[3], a[4], a[5], alpha, &w, &err)) {
        luaL_pushfail(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    sl_lua_push_welch(L, &w);
    return 1;
}

/* sluice.stats.proportions(s1, n1, s2, n2 [, alpha = 0.05])
 *   -> {p1, p2, diff, z, p, ci_low, ci_high}                   [-(4|5), +1, v]
 * Pooled two-proportion z-test and unpooled Wald CI of p2 - p1. */
static int lsl_stats_proportions(lua_State *L)
{
    struct sl_proportions r;
    struct sl_err err;
    if (sl_stats_proportions(luaL_checknumber(L, 1), luaL_checknumber(L, 2), luaL_checknumber(L, 3),
                             luaL_checknumber(L, 4), luaL_optnumber(L, 5, 0.05), &r, &err))
        return sl_lua_fail(L, "proportions", &err);
    const struct sl_lua_field f[] = {{"p1", r.p1, false},
                                     {"p2", r.p2, false},
                                     {"diff", r.diff, false},
                                     {"z", r.z, false},
                                     {"p", r.p, false},
                                     {"ci_low", r.ci_low, false},
                                     {"ci_high", r.ci_high, false}};
    sl_lua_push_record(L, f, 7);
    return 1;
}

/* sluice.stats.srm(observed_counts, expected_weights) -> {chi2, df, p}   [-2, +1, v]
 * Sample-ratio mismatch: chi-square of the counts against the weights
 * (which need not sum to 1). Both sequences must have the same length. */
static int lsl_stats_srm(lua_State *L)
{
    size_t k, kw;
    struct sl_srm r;
    struct sl_err err;
    const double *o = sl_lua_check_numbers(L, 1, &k);
    const double *w = sl_lua_check_numbers(L, 2, &kw);
    if (k != kw)
        return luaL_error(L, "sluice.stats.srm: %d counts but %d weights", (int)k, (int)kw);
    if (sl_stats_srm(o, w, k, &r, &err))
        return sl_lua_fail(L, "srm", &err);
    const struct sl_lua_field f[] = {
        {"chi2", r.chi2, false}, {"df", r.df, true}, {"p", r.p, false}};
    sl_lua_push_record(L, f, 3);
    return 1;
}

static void sl_lua_push_mw(lua_State *L, const struct sl_mann_whitney *r)
{
    const struct sl_lua_field f[] = {{"u", r->u, false}, {"z", r->z, false}, {"p", r->p, false}};
    sl_lua_push_record(L, f, 3);
}

/* sluice.stats.mann_whitney(x, y) -> {u, z, p}                        [-2, +1, v]
 * Two-sided Mann-Whitney U over two sequences of numbers; u is U of x. */
static int lsl_stats_mann_whitney(lua_State *L)
{
    size_t n1, n2;
    struct sl_mann_whitney r;
    struct sl_err err;
    const double *x = sl_lua_check_numbers(L, 1, &n1);
    const double *y = sl_lua_check_numbers(L, 2, &n2);
    if (sl_stats_mann_whitney(x, n1, y, n2, &r, &err))
        return sl_lua_fail(L, "mann_whitney", &err);
    sl_lua_push_mw(L, &r);
    return 1;
}

/* sluice.stats.mann_whitney_counts(counts1, counts2) -> {u, z, p}     [-2, +1, v]
 * The same test over two histograms with the same ordered buckets (a
 * latency sketch's bucket counts); each bucket is one tie group. */
static int lsl_stats_mann_whitney_counts(lua_State *L)
{
    size_t n1, n2;
    struct sl_mann_whitney r;
    struct sl_err err;
    const uint64_t *c1 = sl_lua_check_counts(L, 1, &n1);
    const uint64_t *c2 = sl_lua_check_counts(L, 2, &n2);
    if (n1 != n2)
        return luaL_error(L, "sluice.stats.mann_whitney_counts: %d buckets against %d", (int)n1,
                          (int)n2);
    if (sl_stats_mann_whitney_counts(c1, c2, n1, &r, &err))
        return sl_lua_fail(L, "mann_whitney_counts", &err);
    sl_lua_push_mw(L, &r);
    return 1;
}

/* ---- power ------------------------------------------------------------------ */

/* sluice.stats.power(delta, sd, n_per_arm [, alpha = 0.05]) -> number [-(3|4), +1, v]
 * Power of the two-sided two-sample z-test. */
static int lsl_stats_power(lua_State *L)
{
    double power;
    struct sl_err err;
    if (sl_stats_power(luaL_checknumber(L, 1), luaL_checknumber(L, 2), luaL_checknumber(L, 3),
                       luaL_optnumber(L, 4, 0.05), &power, &err))
        return sl_lua_fail(L, "power", &err);
    lua_pushnumber(L, power);
    return 1;
}

/* sluice.stats.sample_size(delta, sd, power [, alpha = 0.05]) -> integer
 *                                                                 [-(3|4), +1, v]
 * Units per arm for the two-sided z-test to reach power (rounded up, >= 2). */
static int lsl_stats_sample_size(lua_State *L)
{
    double n;
    struct sl_err err;
    if (sl_stats_sample_size(luaL_checknumber(L, 1), luaL_checknumber(L, 2), luaL_checknumber(L, 3),
                             luaL_optnumber(L, 4, 0.05), &n, &err))
        return sl_lua_fail(L, "sample_size", &err);
    if (n < 0x1p63)
        lua_pushinteger(L, (lua_Integer)n);
    else
        lua_pushnumber(L, n);
    return 1;
}

/* sluice.stats.mde(sd, n_per_arm, power [, alpha = 0.05]) -> number [-(3|4), +1, v]
 * Smallest |delta| the two-sided z-test detects with that power. */
static int lsl_stats_mde(lua_State *L)
{
    double mde;
    struct sl_err err;
    if (sl_stats_mde(luaL_checknumber(L, 1), luaL_checknumber(L, 2), luaL_checknumber(L, 3),
                     luaL_optnumber(L, 4, 0.05), &mde, &err))
        return sl_lua_fail(L, "mde", &err);
    lua_pushnumber(L, mde);
    return 1;
}

/* ---- always-valid inference -------------------------------------------------- */

/* sluice.stats.msprt(diff, s2, tau2 [, theta0 = 0, alpha = 0.05])
 *   -> {lambda, p, ci_low, ci_high}                          [-(3..5), +1, v]
 * One look of the mixture SPRT; s2 = v1/n1 + v2/n2. */
static int lsl_stats_msprt(lua_State *L)
{
    struct sl_msprt m;
    struct sl_err err;
    if (sl_stats_msprt(luaL_checknumber(L, 1), luaL_checknumber(L, 2), luaL_checknumber(L, 3),
                       luaL_optnumber(L, 4, 0), luaL_optnumber(L, 5, 0.05), &m, &err))
        return sl_lua_fail(L, "msprt", &err);
    const struct sl_lua_field f[] = {{"lambda", m.lambda, false},
                                     {"p", m.p, false},
                                     {"ci_low", m.ci_low, false},
                                     {"ci_high", m.ci_high, false}};
    sl_lua_push_record(L, f, 4);
    return 1;
}

/* Index = enum sl_seq_method. */
static const char *const sl_lua_seq_methods[] = {"msprt", "growthbook", NULL};
static const char *const sl_lua_seq_options[] = {"method", "alpha",    "tau2", "theta0",
                                                 "n_star", "relative", NULL};

static struct sl_seq *sl_lua_check_seq(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, SL_SEQ_MT);
}

/* Raise on a key of the options table at arg that is not a known option. */
static void sl_lua_reject_unknown(lua_State *L, int arg)
{
    lua_pushnil(L);
    while (lua_next(L, arg)) { /* STACK: key value */
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        int i = 0;
        while (sl_lua_seq_options[i] && strcmp(sl_lua_seq_options[i], key) != 0)
            i++;
        if (!sl_lua_seq_options[i])
            luaL_error(L, "sluice.stats.sequential: unknown option '%s'",
                       lua_type(L, -2) == LUA_TSTRING ? key : luaL_typename(L, -2));
        lua_pop(L, 1); /* STACK: key */
    }
}

/* Option name of the table at arg as a number, or dflt if absent.  [-0, +0, v] */
static double sl_lua_opt_field(lua_State *L, int arg, const char *name, double dflt)
{
    double v = dflt;
    if (lua_getfield(L, arg, name) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "sluice.stats.sequential: %s must be a number", name);
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

/* Fill *c from the options table at arg (method, relative, numbers). */
static void sl_lua_read_seq_config(lua_State *L, int arg, struct sl_seq_config *c)
{
    sl_stats_seq_config_init(c);
    sl_lua_reject_unknown(L, arg);
    c->alpha = sl_lua_opt_field(L, arg, "alpha", c->alpha);
    c->tau2 = sl_lua_opt_field(L, arg, "tau2", c->tau2);
    c->theta0 = sl_lua_opt_field(L, arg, "theta0", c->theta0);
    c->n_star = sl_lua_opt_field(L, arg, "n_star", c->n_star);
    if (lua_getfield(L, arg, "relative") != LUA_TNIL) {
        if (!lua_isboolean(L, -1))
            luaL_error(L, "sluice.stats.sequential: relative must be a boolean");
        c->relative = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, arg, "method") != LUA_TNIL) {
        const char *m = lua_tostring(L, -1);
        int i = 0;
        while (m && sl_lua_seq_methods[i] && strcmp(sl_lua_seq_methods[i], m) != 0)
            i++;
        if (!m || !sl_lua_seq_methods[i])
            luaL_error(L, "sluice.stats.sequential: method must be 'msprt' or 'growthbook'");
        c->method = i;
    }
    lua_pop(L, 1);
}

/* sluice.stats.sequential{tau2 =, alpha = 0.05, theta0 = 0, method = "msprt",
 *                         n_star = 5000, relative = false} -> Sequential
 *                                                                  [-(0|1), +1, v]
 * A new always-valid tracker. method "msprt" needs tau2 (the mixing
 * variance, on the squared scale of the difference); "growthbook" uses
 * GrowthBook's confidence sequence tuned by n_star. Unknown options raise. */
static int lsl_stats_sequential(lua_State *L)
{
    struct sl_seq_config c;
    struct sl_err err;
    lua_settop(L, 1);
    if (lua_isnil(L, 1)) {
        lua_newtable(L);
        lua_replace(L, 1);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    sl_lua_read_seq_config(L, 1, &c);
    struct sl_seq *s = lua_newuserdatauv(L, sizeof *s, 0); /* STACK: opts seq */
    if (sl_stats_seq_init(s, &c, &err))
        return sl_lua_fail(L, "sequential", &err);
    luaL_setmetatable(L, SL_SEQ_MT);
    return 1;
}

/* seq:update(m1, v1, n1, m2, v2, n2)
 *   -> {diff, se, lambda, p, ci_low, ci_high, looks}                 [-7, +1, v]
 * Feed one look of cumulative summary statistics; p and the CI are always
 * valid however often this is called. */
static int lsl_stats_seq_update(lua_State *L)
{
    struct sl_seq *s = sl_lua_check_seq(L, 1);
    double a[6];
    struct sl_seq_result r;
    struct sl_err err;
    sl_lua_check_arms(L, 2, a);
    if (sl_stats_seq_update(s, a[0], a[1], a[2], a[3], a[4], a[5], &r, &err))
        return sl_lua_fail(L, "Sequential:update", &err);
    const struct sl_lua_field f[] = {{"diff", r.diff, false},         {"se", r.se, false},
                                     {"lambda", r.lambda, false},     {"p", r.p, false},
                                     {"ci_low", r.ci_low, false},     {"ci_high", r.ci_high, false},
                                     {"looks", (double)r.looks, true}};
    sl_lua_push_record(L, f, 7);
    return 1;
}

/* seq:state() -> {method, alpha, tau2, theta0, n_star, relative, looks, p,
 *                 ci_low, ci_high}                                   [-1, +1, v] */
static int lsl_stats_seq_state(lua_State *L)
{
    const struct sl_seq *s = sl_lua_check_seq(L, 1);
    const struct sl_lua_field f[] = {
        {"alpha", s->cfg.alpha, false},    {"tau2", s->cfg.tau2, false},
        {"theta0", s->cfg.theta0, false},  {"n_star", s->cfg.n_star, false},
        {"looks", (double)s->looks, true}, {"p", s->p, false},
        {"ci_low", s->ci_low, false},      {"ci_high", s->ci_high, false}};
    sl_lua_push_record(L, f, 8);
    lua_pushstring(L, sl_lua_seq_methods[s->cfg.method]);
    lua_setfield(L, -2, "method");
    lua_pushboolean(L, s->cfg.relative);
    lua_setfield(L, -2, "relative");
    return 1;
}

/* tostring(seq) -> "sluice.Sequential(msprt, looks 3, p 0.012, ci [-0.1, 0.3])"
 *                                                                    [-1, +1, m] */
static int lsl_stats_seq_tostring(lua_State *L)
{
    const struct sl_seq *s = sl_lua_check_seq(L, 1);
    char buf[160];
    snprintf(buf, sizeof buf, "%s(%s, looks %llu, p %.4g, ci [%.6g, %.6g])", SL_SEQ_MT,
             sl_lua_seq_methods[s->cfg.method], (unsigned long long)s->looks, s->p, s->ci_low,
             s->ci_high);
    lua_pushstring(L, buf);
    return 1;
}

/* ---- distribution functions -------------------------------------------------- */

/* sluice.stats.normal_cdf(x) -> Phi(x)                                [-1, +1, v] */
static int lsl_stats_normal_cdf(lua_State *L)
{
    lua_pushnumber(L, sl_stats_normal_cdf(sl_lua_check_real(L, 1)));
    return 1;
}

/* sluice.stats.normal_ppf(p) -> Phi^-1(p), p in [0, 1]                [-1, +1, v] */
static int lsl_stats_normal_ppf(lua_State *L)
{
    lua_pushnumber(L, sl_stats_normal_ppf(sl_lua_check_prob(L, 1)));
    return 1;
}

/* sluice.stats.t_cdf(x, df) -> Student t cdf, df > 0                   [-2, +1, v] */
static int lsl_stats_t_cdf(lua_State *L)
{
    double x = sl_lua_check_real(L, 1);
    lua_pushnumber(L, sl_stats_t_cdf(x, sl_lua_check_df(L, 2)));
    return 1;
}

/* sluice.stats.t_ppf(p, df) -> Student t quantile, p in [0, 1], df > 0 [-2, +1, v] */
static int lsl_stats_t_ppf(lua_State *L)
{
    double p = sl_lua_check_prob(L, 1);
    lua_pushnumber(L, sl_stats_t_ppf(p, sl_lua_check_df(L, 2)));
    return 1;
}

/* sluice.stats.chi2_sf(x, df) -> chi-square upper tail, df > 0         [-2, +1, v] */
static int lsl_stats_chi2_sf(lua_State *L)
{
    double x = sl_lua_check_real(L, 1);
    lua_pushnumber(L, sl_stats_chi2_sf(x, sl_lua_check_df(L, 2)));
    return 1;
}

/* ---- multiple testing ------------------------------------------------------------ */

/* The shared body of holm and bh: adjusted p-values as a new sequence. */
static int sl_lua_adjust(lua_State *L, const char *fn,
                         int (*adjust)(const double *, size_t, double *, struct sl_err *))
{
    size_t k;
    struct sl_err err;
    double *p = sl_lua_check_numbers(L, 1, &k); /* adjusted in place */
    if (adjust(p, k, p, &err))
        return sl_lua_fail(L, fn, &err);
    sl_lua_push_numbers(L, p, k);
    return 1;
}

/* sluice.stats.holm(pvalues) -> adjusted pvalues (Holm-Bonferroni)     [-1, +1, v] */
static int lsl_stats_holm(lua_State *L)
{
    return sl_lua_adjust(L, "holm", sl_stats_holm);
}

/* sluice.stats.bh(pvalues) -> adjusted pvalues (Benjamini-Hochberg)    [-1, +1, v] */
static int lsl_stats_bh(lua_State *L)
{
    return sl_lua_adjust(L, "bh", sl_stats_bh);
}

/* ---- registration -------------------------------------------------------------- */

static const luaL_Reg sl_lua_stats_funcs[] = {
    {"welch", lsl_stats_welch},
    {"welch_relative", lsl_stats_welch_relative},
    {"proportions", lsl_stats_proportions},
    {"srm", lsl_stats_srm},
    {"mann_whitney", lsl_stats_mann_whitney},
    {"mann_whitney_counts", lsl_stats_mann_whitney_counts},
    {"power", lsl_stats_power},
    {"sample_size", lsl_stats_sample_size},
    {"mde", lsl_stats_mde},
    {"msprt", lsl_stats_msprt},
    {"sequential", lsl_stats_sequential},
    {"normal_cdf", lsl_stats_normal_cdf},
    {"normal_ppf", lsl_stats_normal_ppf},
    {"t_cdf", lsl_stats_t_cdf},
    {"t_ppf", lsl_stats_t_ppf},
    {"chi2_sf", lsl_stats_chi2_sf},
    {"holm", lsl_stats_holm},
    {"bh", lsl_stats_bh},
    {NULL, NULL},
};

static const luaL_Reg sl_lua_seq_methods_reg[] = {
    {"update", lsl_stats_seq_update},
    {"state", lsl_stats_seq_state},
    {NULL, NULL},
};

int sl_lua_push_stats(lua_State *L)
{
    if (luaL_newmetatable(L, SL_SEQ_MT)) { /* STACK: mt */
        luaL_newlib(L, sl_lua_seq_methods_reg);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, lsl_stats_seq_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, SL_SEQ_MT); /* getmetatable() cannot reach the shared table */
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    luaL_newlib(L, sl_lua_stats_funcs);
    return 1;
}
