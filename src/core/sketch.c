#include "sketch.h"

#include <math.h>
#include <stdbool.h>

uint8_t sl_sketch_subtab[1024];

/* Each 1/1024 slice of the mantissa [1,2) goes to the log-spaced sub-bucket
 * holding its midpoint. Bucket bounds are therefore slice edges, which is what
 * makes sl_sketch_lower/upper exact. */
__attribute__((constructor(101))) static void sl_sketch_build_table(void)
{
    for (int g = 0; g < 1024; g++) {
        double mid = 1.0 + (g + 0.5) / 1024.0;
        int sub = (int)floor(log2(mid) * SL_SKETCH_SUB);
        sl_sketch_subtab[g] = (uint8_t)(sub < SL_SKETCH_SUB ? sub : SL_SKETCH_SUB - 1);
    }
}

/* First mantissa slice of sub-bucket sub (1024 when past the end). */
static int sl_sketch_first_slice(int sub)
{
    int g = 0;
    while (g < 1024 && sl_sketch_subtab[g] < sub)
        g++;
    return g;
}

/* Lower bounds of every bucket, computed once: quantiles ask for them often. */
static double sl_sketch_lows[SL_SKETCH_NB];

__attribute__((constructor(200))) static void sl_sketch_build_bounds(void)
{
    sl_sketch_lows[0] = 0.0;
    for (int i = 1; i < SL_SKETCH_NB - 1; i++) {
        int e = SL_SKETCH_EMIN + (i - 1) / SL_SKETCH_SUB;
        int sub = (i - 1) % SL_SKETCH_SUB;
        sl_sketch_lows[i] = ldexp(1.0 + sl_sketch_first_slice(sub) / 1024.0, e);
    }
    sl_sketch_lows[SL_SKETCH_NB - 1] = ldexp(1.0, SL_SKETCH_EMAX);
}

double sl_sketch_lower(int i)
{
    if (i <= 0)
        return 0.0;
    if (i >= SL_SKETCH_NB - 1)
        return ldexp(1.0, SL_SKETCH_EMAX);
    return sl_sketch_lows[i];
}

double sl_sketch_upper(int i)
{
    if (i <= 0)
        return ldexp(1.0, SL_SKETCH_EMIN);
    if (i >= SL_SKETCH_NB - 1)
        return INFINITY;
    return sl_sketch_lower(i + 1);
}

static double sl_sketch_best(double lo, double hi)
{
    return 2.0 * lo * hi / (lo + hi);
}

double sl_sketch_value(int i)
{
    return sl_sketch_best(sl_sketch_lower(i), sl_sketch_upper(i));
}

double sl_sketch_coarse_value(int c)
{
    int first = c * SL_SKETCH_COARSE;
    int last = first + SL_SKETCH_COARSE - 1;
    double lo = sl_sketch_lower(first > 0 ? first : 1);
    double hi = last >= SL_SKETCH_NB - 2 ? ldexp(1.0, SL_SKETCH_EMAX) : sl_sketch_upper(last);
    return sl_sketch_best(lo, hi);
}

void sl_sketch_init(struct sl_sketch *s)
{
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
}

void sl_sketch_add(struct sl_sketch *s, double x)
{
    s->counts[sl_sketch_index(x)]++;
    s->n++;
    s->sum += x;
    if (x < s->min)
        s->min = x;
    if (x > s->max)
        s->max = x;
}

void sl_sketch_merge(struct sl_sketch *s, const struct sl_sketch *other)
{
    for (int i = 0; i < SL_SKETCH_NB; i++)
        s->counts[i] += other->counts[i];
    s->n += other->n;
    s->sum += other->sum;
    s->min = fmin(s->min, other->min);
    s->max = fmax(s->max, other->max);
}

/* The value reported when the nearest rank falls in bucket i. */
static double sl_sketch_pick(int i, int ncounts, double min, double max)
{
    bool fine = ncounts == SL_SKETCH_NB;
    if (i >= ncounts || (fine && i == ncounts - 1))
        return max; /* the overflow bucket: the exact max is the best we know */
    if (fine && i == 0)
        return min; /* the underflow bucket: likewise the exact min */
    double v = fine ? sl_sketch_value(i) : sl_sketch_coarse_value(i);
    return fmin(fmax(v, min), max);
}

void sl_sketch_quantiles_counts(const uint64_t *counts, int ncounts, uint64_t n, double min,
                                double max, const double *qs, int nq, double *out)
{
    uint64_t seen = 0, last = 0; /* counts before bucket i; the previous rank */
    int i = 0;
    for (int k = 0; k < nq; k++) {
        double q = qs[k];
        if (n == 0 || !(q >= 0 && q <= 1)) {
            out[k] = NAN;
            continue;
        }
        uint64_t rank = (uint64_t)ceil(q * (double)n);
        if (rank == 0) {
            out[k] = min;
            continue;
        }
        if (rank < last) /* not ascending: start over */
            seen = 0, i = 0;
        last = rank;
        while (i < ncounts && seen + counts[i] < rank)
            seen += counts[i++];
        out[k] = sl_sketch_pick(i, ncounts, min, max);
    }
}

double sl_sketch_quantile_counts(const uint64_t *counts, int ncounts, uint64_t n, double min,
                                 double max, double q)
{
    double v;
    sl_sketch_quantiles_counts(counts, ncounts, n, min, max, &q, 1, &v);
    return v;
}

double sl_sketch_quantile(const struct sl_sketch *s, double q)
{
    return sl_sketch_quantile_counts(s->counts, SL_SKETCH_NB, s->n, s->min, s->max, q);
}
