/* test_sketch.c - accuracy and algebra of the latency sketch (sketch.h).
 *
 * Proves the bucket layout keeps every bucket's worst-case relative error
 * within 1%, that quantiles of 200k-sample uniform, lognormal and bimodal data
 * land within 1% of the exact nearest-rank quantiles, that merging is exact,
 * and what the 4:1 coarse view used by rolling windows costs in accuracy.
 * Data come from a fixed-seed xoshiro256** so every run sees the same numbers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "sketch.h"
#include "sluice.h"
#include "tap.h"

#define NSAMPLES 200000

/* ---- deterministic random numbers ---------------------------------------- */

/* Standard normal (Box-Muller; 1 - u keeps the log argument in (0,1]). */
static double rng_normal(struct rng *r)
{
    double u = 1.0 - rng_unit(r), v = rng_unit(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* ---- data sets ----------------------------------------------------------- */

enum { DIST_UNIFORM = 0, DIST_LOGNORMAL, DIST_BIMODAL, NDIST };
static const char *const dist_name[NDIST] = {"uniform(1,1000)", "lognormal(3,1)",
                                             "bimodal(20+-2 | 200+-20)"};

static double draw(struct rng *r, int dist)
{
    switch (dist) {
    case DIST_UNIFORM:
        return 1.0 + 999.0 * rng_unit(r);
    case DIST_LOGNORMAL:
        return exp(3.0 + rng_normal(r));
    default: { /* 70% fast mode, 30% slow mode, never at or below 0.2 ms */
        double x = rng_unit(r) < 0.7 ? 20.0 + 2.0 * rng_normal(r) : 200.0 + 20.0 * rng_normal(r);
        return fmax(x, 0.21);
    }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank, the same definition the sketch documents: the ceil(q*n)-th
 * smallest value, q = 0 the minimum. */
static double exact_quantile(const double *sorted, size_t n, double q)
{
    size_t rank = (size_t)ceil(q * (double)n);
    return sorted[rank ? rank - 1 : 0];
}

static const double qs[] = {0.5, 0.9, 0.95, 0.99, 0.999};
#define NQ (sizeof qs / sizeof qs[0])

/* ---- bucket layout ------------------------------------------------------- */

static void test_bucket_bounds(void)
{
    double worst = 0;
    int worst_i = -1, contiguous = 1, indexed = 1, bad_i = -1;
    for (int i = 1; i <= SL_SKETCH_NB - 2; i++) {
        double lo = sl_sketch_lower(i), hi = sl_sketch_upper(i), v = sl_sketch_value(i);
        double err = (hi - lo) / (hi + lo);
        if (err > worst) {
            worst = err;
            worst_i = i;
        }
        if (!(lo < hi) || !(v >= lo && v < hi) || sl_sketch_lower(i + 1) != hi)
            contiguous = 0;
        /* The hot-path index must agree with the bounds at both edges. */
        if (sl_sketch_index(lo) != i || sl_sketch_index(nextafter(hi, 0)) != i) {
            indexed = 0;
            bad_i = i;
        }
    }
    tap_diag("worst bucket relative error %.5f%% (bucket %d of %d, [%g, %g))", 100 * worst, worst_i,
             SL_SKETCH_NB, sl_sketch_lower(worst_i), sl_sketch_upper(worst_i));
    ok(worst <= 0.01, "every tracked bucket has worst-case relative error (hi-lo)/(hi+lo) <= 1%%");
    ok(contiguous, "buckets are non-empty, contiguous, and report a value inside themselves");
    ok(indexed, "sl_sketch_index maps each bucket's lower bound and the double below its upper "
                "bound to that bucket");
    if (!indexed)
        tap_diag("first bucket whose bounds disagree with sl_sketch_index: %d", bad_i);
    ok(sl_sketch_lower(1) == ldexp(1, SL_SKETCH_EMIN) &&
           sl_sketch_upper(SL_SKETCH_NB - 2) == ldexp(1, SL_SKETCH_EMAX),
       "the tracked range is exactly [2^EMIN, 2^EMAX)");
    is_int(sl_sketch_index(0.0), 0, "0 ms goes to the underflow bucket");
    is_int(sl_sketch_index(nextafter(ldexp(1, SL_SKETCH_EMIN), 0)), 0,
           "just below 2^EMIN goes to the underflow bucket");
    is_int(sl_sketch_index(ldexp(1, SL_SKETCH_EMAX)), SL_SKETCH_NB - 1,
           "2^EMAX goes to the overflow bucket");
    is_int(sl_sketch_index(SL_LATENCY_MAX_MS), SL_SKETCH_NB - 1,
           "the largest accepted latency goes to the overflow bucket");
}

/* Rolling windows keep only coarse (4:1) counts and no exact extremes: they
 * ask for quantiles with min 0 and max +inf. The tests below do the same. */
#define COARSE_TOL 0.0475 /* 5 fine buckets: (2^(5/37)-1)/(2^(5/37)+1) = 4.69% */

/* The worst relative error of sl_sketch_coarse_value over the coarse buckets
 * lying wholly in the tracked range (the first and last hold underflow and
 * overflow). */
static double coarse_bucket_bound(void)
{
    double worst = 0;
    for (int c = 1; c < SL_SKETCH_NCB - 1; c++) {
        double lo = sl_sketch_lower(c * SL_SKETCH_COARSE);
        double hi = sl_sketch_upper(c * SL_SKETCH_COARSE + SL_SKETCH_COARSE - 1);
        double err = (hi - lo) / (hi + lo), v = sl_sketch_coarse_value(c);
        /* The reported value must balance the error at both ends. */
        if (fabs((v - lo) / lo - err) > 1e-12 || fabs((hi - v) / hi - err) > 1e-12)
            return INFINITY;
        worst = fmax(worst, err);
    }
    return worst;
}

/* ---- quantiles of generated data ----------------------------------------- */

static void coarse_counts(const struct sl_sketch *s, uint64_t *cc)
{
    memset(cc, 0, SL_SKETCH_NCB * sizeof *cc);
    for (int i = 0; i < SL_SKETCH_NB; i++)
        cc[i / SL_SKETCH_COARSE] += s->counts[i];
}

static void test_distribution(int dist, double *fine_worst, double *coarse_worst)
{
    static double data[NSAMPLES];
    static struct sl_sketch s;
    struct rng r;
    rng_seed(&r, 0x5EED0000u + (uint64_t)dist);
    sl_sketch_init(&s);
    for (size_t i = 0; i < NSAMPLES; i++) {
        data[i] = draw(&r, dist);
        sl_sketch_add(&s, data[i]);
    }
    qsort(data, NSAMPLES, sizeof data[0], cmp_double);
    uint64_t cc[SL_SKETCH_NCB];
    coarse_counts(&s, cc);
    double fw = 0, cw = 0;
    for (size_t k = 0; k < NQ; k++) {
        double want = exact_quantile(data, NSAMPLES, qs[k]);
        double got = sl_sketch_quantile(&s, qs[k]);
        double cgot = sl_sketch_quantile_counts(cc, SL_SKETCH_NCB, s.n, 0, INFINITY, qs[k]);
        fw = fmax(fw, fabs(got - want) / want);
        cw = fmax(cw, fabs(cgot - want) / want);
        char what[128];
        snprintf(what, sizeof what, "%s: p%g within 1%% of the exact quantile", dist_name[dist],
                 100 * qs[k]);
        near(got, want, 0.01, what);
        snprintf(what, sizeof what, "%s: coarse (window) p%g within 4.75%% of the exact quantile",
                 dist_name[dist], 100 * qs[k]);
        near(cgot, want, COARSE_TOL, what);
    }
    is_int((long long)s.n, NSAMPLES, "the sketch counted every sample");
    ok(s.min == data[0] && s.max == data[NSAMPLES - 1], "%s: min and max are exact",
       dist_name[dist]);
    tap_diag("%s: worst quantile error fine %.4f%%, coarse %.4f%%", dist_name[dist], 100 * fw,
             100 * cw);
    *fine_worst = fmax(*fine_worst, fw);
    *coarse_worst = fmax(*coarse_worst, cw);
}

static void test_quantiles(void)
{
    double bound = coarse_bucket_bound();
    /* The coarse buckets' midpoints are within ~4.7% of anything in them
     * (five fine buckets of ratio ~2^(1/37), widened by the 1/1024 mantissa
     * slices), so that bound holds for any data since window quantiles report
     * midpoints. (An earlier version interpolated inside the bucket: better on
     * smooth data, up to 7.9% off on a point mass; see the regression test.) */
    tap_diag("coarse bucket midpoint worst-case relative error %.4f%%", 100 * bound);
    ok(bound <= COARSE_TOL, "every coarse bucket's midpoint is within 4.75%% of anything in it");
    double fw = 0, cw = 0;
    for (int d = 0; d < NDIST; d++)
        test_distribution(d, &fw, &cw);
    tap_diag("over all data sets: worst fine %.4f%%, worst coarse %.4f%%", 100 * fw, 100 * cw);
}

/* Regression: interpolating inside a coarse bucket spread a point mass (a
 * timeout, a cached answer: every value equal) at a bucket's lower edge up
 * to 7.9% high. Windows cannot clamp to an exact min/max, so window p99
 * guards saw it. Midpoints keep every point mass within the bucket bound. */
static void test_bug_coarse_point_mass(void)
{
    double worst = 0, at = 0;
    for (int c = 1; c < SL_SKETCH_NCB - 1; c++) {
        double x = sl_sketch_lower(c * SL_SKETCH_COARSE);
        struct sl_sketch s;
        sl_sketch_init(&s);
        for (int i = 0; i < 1000; i++)
            sl_sketch_add(&s, x);
        uint64_t cc[SL_SKETCH_NCB];
        coarse_counts(&s, cc);
        for (size_t k = 0; k < NQ; k++) {
            double got = sl_sketch_quantile_counts(cc, SL_SKETCH_NCB, s.n, 0, INFINITY, qs[k]);
            if (fabs(got - x) / x > worst) {
                worst = fabs(got - x) / x;
                at = x;
            }
        }
    }
    tap_diag("point mass at a coarse bucket's lower edge: worst coarse quantile error %.4f%% "
             "(at %g ms)",
             100 * worst, at);
    ok(worst <= COARSE_TOL,
       "coarse_interpolation_misses_point_mass: every coarse quantile of a point mass is within "
       "4.75%% (worst %.2f%%)",
       100 * worst);
}

/* ---- algebra and edges --------------------------------------------------- */

static void test_merge(void)
{
    static struct sl_sketch a, b, all;
    struct rng r;
    rng_seed(&r, 42);
    sl_sketch_init(&a);
    sl_sketch_init(&b);
    sl_sketch_init(&all);
    for (int i = 0; i < 50000; i++) {
        double x = draw(&r, DIST_UNIFORM), y = draw(&r, DIST_LOGNORMAL) * 50;
        sl_sketch_add(&a, x);
        sl_sketch_add(&b, y);
        sl_sketch_add(&all, x);
        sl_sketch_add(&all, y);
    }
    sl_sketch_add(&b, 0.01); /* underflow */
    sl_sketch_add(&all, 0.01);
    sl_sketch_add(&a, 4e5); /* overflow */
    sl_sketch_add(&all, 4e5);
    sl_sketch_merge(&a, &b);
    ok(memcmp(a.counts, all.counts, sizeof a.counts) == 0,
       "merge(a, b) has exactly the bucket counts of one sketch fed everything");
    ok(a.n == all.n && a.min == all.min && a.max == all.max,
       "merge(a, b) has the same count, min and max");
    near(a.sum, all.sum, 1e-12, "merge(a, b) has the same sum (up to rounding order)");
    int same = 1;
    for (size_t k = 0; k < NQ; k++)
        same &= sl_sketch_quantile(&a, qs[k]) == sl_sketch_quantile(&all, qs[k]);
    ok(same, "merge(a, b) answers every quantile exactly as the single sketch");

    struct sl_sketch empty;
    sl_sketch_init(&empty);
    uint64_t before_n = a.n;
    double before_min = a.min;
    sl_sketch_merge(&a, &empty);
    ok(a.n == before_n && a.min == before_min && memcmp(a.counts, all.counts, sizeof a.counts) == 0,
       "merging an empty sketch changes nothing");
}

static void test_edges(void)
{
    struct sl_sketch s;
    sl_sketch_init(&s);
    ok(isnan(sl_sketch_quantile(&s, 0.5)) && isnan(sl_sketch_quantile(&s, 0)) &&
           isnan(sl_sketch_quantile(&s, 1)),
       "an empty sketch's quantiles are NaN");
    sl_sketch_add(&s, 10);
    ok(isnan(sl_sketch_quantile(&s, -0.1)) && isnan(sl_sketch_quantile(&s, 1.1)) &&
           isnan(sl_sketch_quantile(&s, NAN)),
       "q outside [0,1] answers NaN");

    sl_sketch_init(&s);
    sl_sketch_add(&s, 0.07);
    ok(sl_sketch_quantile(&s, 0.5) == 0.07, "a lone underflow value is reported exactly (min)");
    sl_sketch_init(&s);
    sl_sketch_add(&s, 3e5);
    ok(sl_sketch_quantile(&s, 0.5) == 3e5, "a lone overflow value is reported exactly (max)");

    sl_sketch_init(&s);
    sl_sketch_add(&s, 0.03);
    for (int i = 0; i < 98; i++)
        sl_sketch_add(&s, 10 + i);
    sl_sketch_add(&s, 5e5);
    ok(sl_sketch_quantile(&s, 0) == 0.03 && sl_sketch_quantile(&s, 0.01) == 0.03,
       "the lowest rank in the underflow bucket reports the exact min");
    ok(sl_sketch_quantile(&s, 1) == 5e5,
       "the top rank in the overflow bucket reports the exact max");
    near(sl_sketch_quantile(&s, 0.5), 58, 0.01, "a middle rank is unaffected by the extremes");
    sl_sketch_add(&s, 0.0);
    ok(sl_sketch_quantile(&s, 0) == 0.0, "0 ms is a legal value and becomes the min");
}

int main(void)
{
    test_bucket_bounds();
    test_quantiles();
    test_bug_coarse_point_mass();
    test_merge();
    test_edges();
    return tap_done();
}
