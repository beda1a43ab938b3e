/* sketch.h - a mergeable, fixed-memory latency sketch with <= 1% relative error.
 *
 * Provides log-spaced buckets indexed with an IEEE-754 bit trick plus a
 * 1024-entry mantissa table (no log() on the hot path), quantiles, merging,
 * and a 5:1 "coarse" bucket view used by rolling windows (<= 4.7% relative
 * error, measured by the tests). Buckets:
 *   0                  underflow, [0, 2^SL_SKETCH_EMIN)  (reported as the exact min)
 *   1 .. NB-2          SL_SKETCH_SUB buckets per octave over [2^EMIN, 2^EMAX)
 *   NB-1               overflow, >= 2^SL_SKETCH_EMAX     (reported as the exact max)
 * With EMIN = -3 and EMAX = 17 and values in milliseconds, that is 0.125 ms to
 * 131 s at <= 1% relative error (the bucket bounds are checked by the tests).
 * Uses libc and libm only; knows nothing of metrics, threads or engines. */
#ifndef SL_SKETCH_H
#define SL_SKETCH_H

#include <stdint.h>
#include <string.h>

#define SL_SKETCH_SUB    37
#define SL_SKETCH_EMIN   (-3)
#define SL_SKETCH_EMAX   17
#define SL_SKETCH_NB     ((SL_SKETCH_EMAX - SL_SKETCH_EMIN) * SL_SKETCH_SUB + 2)
#define SL_SKETCH_COARSE 5 /* fine buckets per coarse bucket (windows) */
#define SL_SKETCH_NCB    ((SL_SKETCH_NB + SL_SKETCH_COARSE - 1) / SL_SKETCH_COARSE)

/* Mantissa table: top 10 mantissa bits -> sub-bucket within the octave. Filled
 * by a library constructor before main(). */
extern uint8_t sl_sketch_subtab[1024];

/* Bucket index of x (x >= 0, finite; the caller validates). Hot path. */
static inline int sl_sketch_index(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    int e = (int)(b >> 52) - 1023;
    if (e < SL_SKETCH_EMIN)
        return 0;
    if (e >= SL_SKETCH_EMAX)
        return SL_SKETCH_NB - 1;
    return 1 + (e - SL_SKETCH_EMIN) * SL_SKETCH_SUB + sl_sketch_subtab[(b >> 42) & 1023];
}

/* Bounds of bucket i ([lo, hi)) and the value reported for it: the point with
 * the smallest worst-case relative error, 2*lo*hi/(lo+hi). */
double sl_sketch_lower(int i);
double sl_sketch_upper(int i);
double sl_sketch_value(int i);
/* The same for coarse bucket c (fine buckets c*5 .. c*5+4), with its bounds
 * limited to the tracked range [2^EMIN, 2^EMAX). */
double sl_sketch_coarse_value(int c);

struct sl_sketch {
    uint64_t n;
    double sum;
    double min, max; /* exact; +inf/-inf when empty */
    uint64_t counts[SL_SKETCH_NB];
};

void sl_sketch_init(struct sl_sketch *s);
/* Add x (finite, >= 0; the caller validates). */
void sl_sketch_add(struct sl_sketch *s, double x);
/* s += other. */
void sl_sketch_merge(struct sl_sketch *s, const struct sl_sketch *other);
/* The q-quantile, q in [0,1], by nearest rank (the ceil(q*n)-th smallest value,
 * q = 0 gives the min); clamped to [min, max]. NaN when empty. */
double sl_sketch_quantile(const struct sl_sketch *s, double q);

/* Quantile over an array of counts (fine when ncounts == SL_SKETCH_NB, coarse
 * when SL_SKETCH_NCB), total n, clamped to [min, max]. */
double sl_sketch_quantile_counts(const uint64_t *counts, int ncounts, uint64_t n, double min,
                                 double max, double q);
/* The same for nq quantiles at once, into out: one pass over the counts when
 * qs ascend (any order is right, only slower). */
void sl_sketch_quantiles_counts(const uint64_t *counts, int ncounts, uint64_t n, double min,
                                double max, const double *qs, int nq, double *out);

#endif
