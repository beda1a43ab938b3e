/* test_metrics.c - per-variant metrics through the public engine API (metrics.c).
 *
 * Proves counters, error rate, latency mean and sample variance equal values
 * computed exactly here (also for data sitting on a large offset), that
 * rolling windows follow the virtual clock (slots fill, age out after
 * window_slots * window_seconds, throughput = requests / span), that custom
 * metrics keep count/sum/sumsq/min/max, and that every malformed record is
 * refused without changing a counter. Fixed seeds; virtual time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "sluice.h"
#include "tap.h"

static double now_s;

static double test_clock(void *ud)
{
    (void)ud;
    return now_s;
}

/* ---- deterministic random numbers (splitmix64 seeding xoshiro256**) ------ */

static double rng_lognormal(struct rng *r)
{
    double u = 1.0 - rng_unit(r), v = rng_unit(r);
    return exp(3.0 + sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/* ---- exact reference figures --------------------------------------------- */

struct exact {
    long n, errors;
    double mean, var, min, max;
};

/* Two-pass mean and sample variance in long double. */
static struct exact exact_of(const double *x, const bool *okv, long n)
{
    struct exact e = {.n = n, .min = INFINITY, .max = -INFINITY};
    long double s = 0, ss = 0;
    for (long i = 0; i < n; i++) {
        s += x[i];
        e.errors += !okv[i];
        e.min = fmin(e.min, x[i]);
        e.max = fmax(e.max, x[i]);
    }
    long double mean = s / n;
    for (long i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    e.mean = (double)mean;
    e.var = n > 1 ? (double)(ss / (n - 1)) : 0;
    return e;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- fixtures ------------------------------------------------------------ */

static const char *const metric_names[] = {"revenue", "tokens"};

static struct sl_engine *new_engine(double width, int slots)
{
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.clock = test_clock;
    o.clock_ud = &now_s;
    if (width > 0) {
        o.window_seconds = width;
        o.window_slots = slots;
    }
    now_s = 1000;
    return sl_engine_new(&o, NULL);
}

/* A running 50/50 test "id" on model "m-<id>" declaring revenue and tokens. */
static int start_test(struct sl_engine *e, const char *id)
{
    char model[64];
    snprintf(model, sizeof model, "m-%s", id);
    struct sl_version_config v = {.model = model, .version = "v1"};
    struct sl_test_config c = {.id = id,
                               .name = id,
                               .model = model,
                               .control_version = "v1",
                               .treatment_version = "v2",
                               .success_metrics = metric_names,
                               .nsuccess = 2};
    if (sl_engine_add_version(e, &v, NULL))
        return -1;
    v.version = "v2";
    if (sl_engine_add_version(e, &v, NULL) || sl_engine_create_test(e, &c, NULL, NULL))
        return -1;
    return sl_engine_act(e, id, SL_VERB_START, NULL, NULL, NULL);
}

static struct sl_variant_metrics metrics_of(struct sl_engine *e, const char *id, int arm,
                                            double window)
{
    struct sl_variant_metrics m;
    struct sl_err err = {0};
    if (sl_engine_metrics(e, id, arm, window, &m, &err)) {
        tap_diag("sl_engine_metrics(%s, %d, %g): %s", id, arm, window, err.msg);
        memset(&m, 0, sizeof m);
    }
    return m;
}

/* ---- counters and moments ------------------------------------------------ */

static void check_against(const struct sl_variant_metrics *m, const struct exact *x,
                          const char *what)
{
    char w[160];
    snprintf(w, sizeof w, "%s: requests", what);
    is_int((long long)m->requests, x->n, w);
    snprintf(w, sizeof w, "%s: errors and successes", what);
    ok(m->errors == (uint64_t)x->errors && m->successes == (uint64_t)(x->n - x->errors), "%s", w);
    snprintf(w, sizeof w, "%s: error rate", what);
    near(m->error_rate, (double)x->errors / (double)x->n, 1e-9, w);
    snprintf(w, sizeof w, "%s: latency mean", what);
    near(m->latency_mean, x->mean, 1e-9, w);
    snprintf(w, sizeof w, "%s: latency sample variance (n-1)", what);
    near(m->latency_var, x->var, 1e-9, w);
}

static void test_counters(void)
{
    enum { N = 20000 };
    static double lat[2][N];
    static bool okv[2][N];
    long n[2] = {0, 0};
    struct sl_engine *e = new_engine(0, 0);
    if (!ok(e && start_test(e, "cnt") == 0, "test cnt starts"))
        return;
    struct rng r;
    rng_seed(&r, 7);
    long failures = 0;
    for (int i = 0; i < N; i++) {
        /* Route for real; record half through the route's cell, half by id. */
        char unit[32];
        snprintf(unit, sizeof unit, "u%d", i);
        struct sl_route rt;
        double x = rng_lognormal(&r);
        bool good = rng_unit(&r) < 0.93;
        if (sl_engine_route(e, "m-cnt", unit, &rt, NULL)) {
            failures++;
            continue;
        }
        int rc = i % 2 ? sl_engine_record_route(e, &rt, good, x, NULL, 0, NULL)
                       : sl_engine_record(e, "cnt", rt.arm, good, x, NULL, 0, NULL);
        failures += rc != 0;
        lat[rt.arm][n[rt.arm]] = x;
        okv[rt.arm][n[rt.arm]++] = good;
    }
    is_int(failures, 0, "every route and record succeeds");
    for (int arm = 0; arm < 2; arm++) {
        struct exact x = exact_of(lat[arm], okv[arm], n[arm]);
        struct sl_variant_metrics m = metrics_of(e, "cnt", arm, 0);
        check_against(&m, &x, arm ? "treatment" : "control");
        ok(m.latency_min == x.min && m.latency_max == x.max, "%s: min and max are exact",
           arm ? "treatment" : "control");
        qsort(lat[arm], (size_t)n[arm], sizeof(double), cmp_double);
        double p99 = lat[arm][(long)ceil(0.99 * (double)n[arm]) - 1];
        near(m.quantiles[SL_Q99], p99, 0.01, "cumulative p99 within 1% of the exact p99");
        double q = NAN;
        sl_engine_latency_quantile(e, "cnt", arm, 0, 0.99, &q, NULL);
        ok(q == m.quantiles[SL_Q99], "sl_engine_latency_quantile agrees with the metrics' p99");
    }
    sl_engine_delete(e);
}

/* Naive sum/sum-of-squares loses every digit of a 1/12 variance on a 1e6
 * offset; shifted sums keep it. The second half sits in its own window slot
 * with a different spread, so the slot's moments come from inverting the
 * merge of the cumulative ones. */
static void test_large_offset(void)
{
    enum { N = 100000, H = N / 2 };
    static double lat[N];
    static bool okv[N];
    struct sl_engine *e = new_engine(10, 60);
    if (!ok(e && start_test(e, "off") == 0, "test off starts"))
        return;
    struct rng r;
    rng_seed(&r, 11);
    for (int i = 0; i < N; i++) {
        if (i == H) {
            sl_engine_tick(e, NULL); /* closes the first half into slot 100 */
            now_s += 10;
        }
        lat[i] = i < H ? 1e6 + rng_unit(&r) : 1e6 + 2 + 3 * rng_unit(&r);
        okv[i] = true;
        sl_engine_record(e, "off", 1, true, lat[i], NULL, 0, NULL);
    }
    sl_engine_tick(e, NULL);
    struct exact all = exact_of(lat, okv, N), second = exact_of(lat + H, okv + H, N - H);
    struct sl_variant_metrics m = metrics_of(e, "off", 1, 0);
    struct sl_variant_metrics w = metrics_of(e, "off", 1, 10);
    tap_diag("1e6 + noise: variance rel err cumulative %.3g, one window slot %.3g",
             fabs(m.latency_var - all.var) / all.var,
             fabs(w.latency_var - second.var) / second.var);
    check_against(&m, &all, "1e6 + noise, cumulative");
    check_against(&w, &second, "1e6 + noise, the second slot's window");
    sl_engine_delete(e);
}

/* ---- rolling windows ----------------------------------------------------- */

static void record_n(struct sl_engine *e, int n, int nerr, double latency)
{
    for (int i = 0; i < n; i++)
        sl_engine_record(e, "win", 0, i >= nerr, latency, NULL, 0, NULL);
}

static void test_windows(void)
{
    /* 6 slots of 10 s: a 60 s window. The test starts at t = 1000 (a slot edge). */
    struct sl_engine *e = new_engine(10, 6);
    if (!ok(e && start_test(e, "win") == 0, "test win starts"))
        return;
    now_s = 1001;
    record_n(e, 10, 2, 5.0);
    sl_engine_tick(e, NULL);
    now_s = 1015;
    record_n(e, 5, 0, 7.0);
    sl_engine_tick(e, NULL);

    struct sl_variant_metrics w60 = metrics_of(e, "win", 0, 60), w10 = metrics_of(e, "win", 0, 10);
    struct sl_variant_metrics cum = metrics_of(e, "win", 0, 0);
    ok(w60.requests == 15 && w60.errors == 2,
       "t+15s: the 60 s window holds both slots (15, 2 errors)");
    ok(w10.requests == 5 && w10.errors == 0,
       "t+15s: the 10 s window holds only the current slot (5)");
    ok(cum.requests == 15 && cum.errors == 2, "t+15s: cumulative holds everything (15)");
    near(w10.span_seconds, 5, 1e-12, "the 10 s window spans from the slot start to now (5 s)");
    near(w10.throughput, 1.0, 1e-12, "10 s window throughput = 5 requests / 5 s");
    near(w60.span_seconds, 15, 1e-12, "the 60 s window is clipped to the test start (15 s)");
    near(w60.throughput, 1.0, 1e-12, "60 s window throughput = 15 requests / 15 s");
    near(cum.throughput, 1.0, 1e-12, "cumulative throughput = 15 requests / 15 s");
    near(w60.latency_mean, (10 * 5.0 + 5 * 7.0) / 15, 1e-12, "window latency mean merges slots");
    near(w60.latency_var, 10.0 * 5 * 4 / 15 / 14, 1e-9, "window latency variance merges slots");
    near(w10.quantiles[SL_Q50], 7.0, 0.04, "window p50 within the 4% coarse bound");

    now_s = 1055; /* slot 105: slot 100 is the oldest of the six kept */
    sl_engine_tick(e, NULL);
    is_int((long long)metrics_of(e, "win", 0, 60).requests, 15,
           "t+55s: the first slot is still inside the 60 s window");
    now_s = 1060; /* slot 106: slot 100 drops out */
    sl_engine_tick(e, NULL);
    w60 = metrics_of(e, "win", 0, 60);
    ok(w60.requests == 5 && w60.errors == 0,
       "t+60s: the first slot has aged out of the window (5 left)");
    /* A window is ceil(window / width) slots counting the current partial one,
     * so at a slot edge the 60 s window covers slots 101..106 = 50 s. */
    near(w60.span_seconds, 50, 1e-12,
         "t+60s: the 60 s window spans its six slots (50 s at an edge)");
    near(w60.throughput, 5.0 / 50, 1e-12, "t+60s: throughput = 5 requests / 50 s span");
    is_int((long long)metrics_of(e, "win", 0, 1e6).requests, 5,
           "a window longer than the ring is clipped to window_slots * window_seconds");
    is_int((long long)metrics_of(e, "win", 0, 0).requests, 15, "t+60s: cumulative still holds 15");
    now_s = 1070;
    sl_engine_tick(e, NULL);
    w60 = metrics_of(e, "win", 0, 60);
    ok(w60.requests == 0 && w60.throughput == 0 && isnan(w60.latency_mean) &&
           isnan(w60.quantiles[SL_Q50]),
       "t+70s: everything has aged out; mean and quantiles are NaN");

    now_s = 1081;
    record_n(e, 3, 1, 9.0);
    sl_engine_tick(e, NULL);
    now_s = 1095;
    sl_engine_tick(e, NULL);
    ok(metrics_of(e, "win", 0, 10).requests == 0 && metrics_of(e, "win", 0, 20).requests == 3,
       "records ticked in slot 108 appear in the 20 s window at t+95 s, not in the 10 s one");
    double q = 0;
    int rc = sl_engine_latency_quantile(e, "win", 0, 20, 0.5, &q, NULL);
    ok(rc == 0 && fabs(q - 9) / 9 <= 0.04,
       "windowed sl_engine_latency_quantile within 4%% (%g for 9 ms)", q);
    struct sl_err err = {0};
    ok(sl_engine_metrics(e, "win", 0, NAN, &cum, &err) == -1 && err.code == SL_EINVAL,
       "a NaN window is refused");
    ok(sl_engine_metrics(e, "win", 0, -1, &cum, &err) == -1 && err.code == SL_EINVAL,
       "a negative window is refused");
    sl_engine_delete(e);
}

/* Bug: sketch.c sl_sketch_quantile_counts answers `max` whenever the rank
 * falls in the last coarse bucket, which holds fine bucket NB-2 (~129.7 s to
 * 131 s) as well as the overflow; windows pass max = +inf, so a window
 * quantile of 130 s latencies reads +inf. (The first coarse bucket once read
 * 0 for 0.125-0.135 ms for the mirror reason; checked here too.) */
static void test_bug_window_quantile_edges(void)
{
    struct sl_engine *e = new_engine(10, 6);
    if (!ok(e && start_test(e, "edge") == 0, "test edge starts"))
        return;
    for (int i = 0; i < 10; i++) {
        sl_engine_record(e, "edge", 0, true, 0.13, NULL, 0, NULL);
        sl_engine_record(e, "edge", 1, true, 130000.0, NULL, 0, NULL);
    }
    sl_engine_tick(e, NULL);
    double lo = NAN, hi = NAN;
    sl_engine_latency_quantile(e, "edge", 0, 60, 0.5, &lo, NULL);
    sl_engine_latency_quantile(e, "edge", 1, 60, 0.5, &hi, NULL);
    tap_diag("window p50 of 0.13 ms: %g; of 130 s: %g", lo, hi);
    ok(fabs(lo - 0.13) / 0.13 <= 0.04,
       "window p50 of 0.13 ms latencies (first coarse bucket) within 4%% (got %g)", lo);
    ok(fabs(hi - 130000) / 130000 <= 0.04,
       "window_quantile_infinite_near_131s: window p50 of 130 s latencies within 4%% (got %g)", hi);
    sl_engine_delete(e);
}

/* Found from the REPL: a constant 10 ms showed a window min, p50 and max of
 * 9.55 ms (a coarse bucket's midpoint), below every recorded value. Window
 * figures are now clamped to the lifetime extremes, which bound them. */
static void test_bug_window_below_min(void)
{
    struct sl_engine *e = new_engine(10, 6);
    if (!ok(e && start_test(e, "flat") == 0, "test flat starts"))
        return;
    for (int i = 0; i < 100; i++)
        sl_engine_record(e, "flat", 0, true, 10.0, NULL, 0, NULL);
    sl_engine_tick(e, NULL);
    struct sl_variant_metrics m = metrics_of(e, "flat", 0, 60);
    ok(m.latency_min == 10.0 && m.latency_max == 10.0 && m.quantiles[SL_Q50] == 10.0 &&
           m.quantiles[SL_Q99] == 10.0,
       "window_min_below_recorded: constant 10 ms reads 10 in a window (min %g p50 %g max %g)",
       m.latency_min, m.quantiles[SL_Q50], m.latency_max);
    sl_engine_delete(e);
}

/* ---- custom metrics ------------------------------------------------------ */

static void test_custom(void)
{
    struct sl_engine *e = new_engine(10, 6);
    if (!ok(e && start_test(e, "cm") == 0, "test cm starts"))
        return;
    int rev = sl_engine_metric_index(e, "cm", "revenue"),
        tok = sl_engine_metric_index(e, "cm", "tokens");
    ok(rev == 0 && tok == 1, "declared metrics have indices 0 and 1 in declaration order");
    ok(sl_engine_metric_index(e, "cm", "latency") == -1 &&
           sl_engine_metric_index(e, "cm", "nope") == -1 &&
           sl_engine_metric_index(e, "no-such", "revenue") == -1,
       "an undeclared metric or unknown test has index -1");
    struct rng r;
    rng_seed(&r, 3);
    long double s = 0, ss = 0;
    double mn = INFINITY, mx = -INFINITY;
    enum { N = 5000 };
    for (int i = 0; i < N; i++) {
        double v = 200 * rng_unit(&r) - 50; /* negative values are legal for custom metrics */
        struct sl_sample smp[2] = {{rev, v}, {tok, (double)(i % 7)}};
        sl_engine_record(e, "cm", 1, true, 10, smp, i % 3 ? 2 : 1, NULL);
        s += v;
        ss += (long double)v * v;
        mn = fmin(mn, v);
        mx = fmax(mx, v);
    }
    struct sl_variant_metrics m = metrics_of(e, "cm", 1, 0);
    ok(m.nmetrics == 2 && m.metrics[0].name && strcmp(m.metrics[0].name, "revenue") == 0 &&
           m.metrics[1].name && strcmp(m.metrics[1].name, "tokens") == 0,
       "metrics report both declared names");
    is_int((long long)m.metrics[0].count, N, "revenue count");
    near(m.metrics[0].sum, (double)s, 1e-9, "revenue sum");
    near(m.metrics[0].sumsq, (double)ss, 1e-9, "revenue sum of squares");
    ok(m.metrics[0].min == mn && m.metrics[0].max == mx, "revenue min and max are exact");
    long tcount = 0;
    double tsum = 0;
    for (int i = 0; i < N; i++)
        if (i % 3) {
            tcount++;
            tsum += i % 7;
        }
    ok(m.metrics[1].count == (uint64_t)tcount && m.metrics[1].sum == tsum,
       "tokens counts only the records that carried it (%ld)", tcount);
    struct sl_variant_metrics c = metrics_of(e, "cm", 0, 0);
    ok(c.metrics[0].count == 0 && isnan(c.metrics[0].min) && isnan(c.metrics[0].max),
       "the other arm's metrics are empty, min/max NaN");
    sl_engine_tick(e, NULL);
    struct sl_variant_metrics w = metrics_of(e, "cm", 1, 60);
    ok(w.metrics[0].count == N && fabs(w.metrics[0].sum - (double)s) <= 1e-9 * fabs((double)s),
       "the window holds the custom metric's count and sum");
    sl_engine_delete(e);
}

/* ---- refused records ----------------------------------------------------- */

/* Equal, NaN equal to NaN (an empty arm's mean and extremes are NaN). */
static int same(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* The figures a refused record must not move. */
static int same_figures(const struct sl_variant_metrics *a, const struct sl_variant_metrics *b)
{
    return a->requests == b->requests && a->errors == b->errors &&
           same(a->latency_mean, b->latency_mean) && same(a->latency_var, b->latency_var) &&
           same(a->latency_min, b->latency_min) && same(a->latency_max, b->latency_max) &&
           a->metrics[0].count == b->metrics[0].count &&
           same(a->metrics[0].sum, b->metrics[0].sum) && a->metrics[1].count == b->metrics[1].count;
}

static void check_refused(struct sl_engine *e, int arm, double latency, const struct sl_sample *smp,
                          size_t nsmp, int code, const char *what)
{
    struct sl_variant_metrics before[2] = {metrics_of(e, "rej", 0, 0), metrics_of(e, "rej", 1, 0)};
    struct sl_err err = {0};
    int rc = sl_engine_record(e, "rej", arm, true, latency, smp, nsmp, &err);
    struct sl_variant_metrics after[2] = {metrics_of(e, "rej", 0, 0), metrics_of(e, "rej", 1, 0)};
    ok(rc == -1 && err.code == code && err.msg[0] && same_figures(&before[0], &after[0]) &&
           same_figures(&before[1], &after[1]),
       "%s is refused (%s) and changes no counter", what, err.msg);
}

static void test_refused(void)
{
    struct sl_engine *e = new_engine(0, 0);
    if (!ok(e && start_test(e, "rej") == 0, "test rej starts"))
        return;
    struct sl_sample good = {0, 1.5};
    sl_engine_record(e, "rej", 1, true, 12, &good, 1, NULL); /* something to disturb */
    check_refused(e, 1, NAN, NULL, 0, SL_EINVAL, "a NaN latency");
    check_refused(e, 1, -1, NULL, 0, SL_EINVAL, "a negative latency");
    check_refused(e, 1, -INFINITY, NULL, 0, SL_EINVAL, "a -inf latency");
    check_refused(e, 1, INFINITY, NULL, 0, SL_EINVAL, "an infinite latency");
    check_refused(e, 1, nextafter(SL_LATENCY_MAX_MS, INFINITY), NULL, 0, SL_EINVAL,
                  "a latency just above SL_LATENCY_MAX_MS");
    struct sl_sample nan_s[2] = {{0, 1}, {1, NAN}}, inf_s = {0, INFINITY};
    check_refused(e, 1, 5, nan_s, 2, SL_EINVAL, "a NaN custom value after a good one");
    check_refused(e, 1, 5, &inf_s, 1, SL_EINVAL, "an infinite custom value");
    struct sl_sample undeclared[3] = {{0, 1}, {2, 1}, {-1, 1}};
    check_refused(e, 1, 5, &undeclared[1], 1, SL_EINVAL, "a sample for undeclared metric index 2");
    check_refused(e, 1, 5, &undeclared[2], 1, SL_EINVAL, "a sample for metric index -1");
    check_refused(e, 1, 5, undeclared, 2, SL_EINVAL, "a good sample followed by an undeclared one");
    check_refused(e, 1, 5, NULL, 1, SL_EINVAL, "one sample announced with no array");
    check_refused(e, 2, 5, NULL, 0, SL_EINVAL, "arm 2");
    check_refused(e, -1, 5, NULL, 0, SL_EINVAL, "arm -1");

    struct sl_err err = {0};
    ok(sl_engine_record(e, "no-such", 0, true, 5, NULL, 0, &err) == -1 && err.code == SL_ENOTFOUND,
       "recording to an unknown test is refused with SL_ENOTFOUND");
    ok(sl_engine_record(e, "m-rej", 0, true, 5, NULL, 0, &err) == -1 && err.code == SL_ENOTFOUND,
       "recording by model id (not a test id) is refused with SL_ENOTFOUND");
    struct sl_route live = {.kind = SL_KIND_NONE, .arm = -1};
    ok(sl_engine_record_route(e, &live, true, 5, NULL, 0, &err) == -1 && err.code == SL_EINVAL,
       "recording a live-version route is refused");
    struct sl_route rt;
    sl_engine_route(e, "m-rej", "u1", &rt, NULL);
    struct sl_variant_metrics before = metrics_of(e, "rej", rt.arm, 0);
    ok(sl_engine_record_route(e, &rt, true, NAN, NULL, 0, &err) == -1 && err.code == SL_EINVAL,
       "sl_engine_record_route refuses a NaN latency");
    struct sl_variant_metrics after = metrics_of(e, "rej", rt.arm, 0);
    ok(same_figures(&before, &after), "the refused route record changed no counter");

    ok(sl_engine_record(e, "rej", 0, true, 0.0, NULL, 0, NULL) == 0 &&
           sl_engine_record(e, "rej", 0, true, SL_LATENCY_MAX_MS, NULL, 0, NULL) == 0,
       "0 and exactly SL_LATENCY_MAX_MS are accepted");
    struct sl_variant_metrics c = metrics_of(e, "rej", 0, 0);
    ok(c.latency_min == 0 && c.latency_max == SL_LATENCY_MAX_MS &&
           c.quantiles[SL_Q999] == SL_LATENCY_MAX_MS,
       "the extremes are reported exactly");

    sl_engine_act(e, "rej", SL_VERB_STOP, NULL, NULL, NULL);
    ok(sl_engine_record(e, "rej", 0, true, 5, NULL, 0, &err) == -1 && err.code == SL_ESTATE,
       "recording to a completed test is refused with SL_ESTATE");
    sl_engine_delete(e);
}

static void test_bytes(void)
{
    struct sl_engine *e = new_engine(0, 0);
    if (!ok(e && start_test(e, "bytes") == 0, "test bytes starts"))
        return;
    size_t b0 = sl_engine_variant_bytes(e, "bytes", 0), b1 = sl_engine_variant_bytes(e, "bytes", 1);
    tap_diag("bytes per variant with default options (1 shard + shared, 60 x 30 s windows, 2 "
             "custom metrics): %zu (%.1f KiB; the issue's target is 32 KiB)",
             b0, b0 / 1024.0);
    ok(b0 > 0 && b0 < 64 * 1024 && b0 == b1, "a variant holds > 0 and < 64 KiB of metrics");
    is_int((long long)sl_engine_variant_bytes(e, "no-such", 0), 0, "an unknown test has 0 bytes");
    sl_engine_delete(e);
}

int main(void)
{
    test_counters();
    test_large_offset();
    test_windows();
    test_bug_window_quantile_edges();
    test_bug_window_below_min();
    test_custom();
    test_refused();
    test_bytes();
    return tap_done();
}
