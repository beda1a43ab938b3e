/* metrics.h - per-variant metric accumulation: hot-path shards, writer-side windows.
 *
 * Provides struct sl_mvar, everything recorded for one variant of a test or
 * canary: a private shard per recording thread (relaxed atomic load + store,
 * one writer each, race-free under TSan), one shared shard for threads beyond
 * them (atomic read-modify-write), and a ring of rolling-window slots that the
 * writer thread fills at each roll from the difference between the merged
 * cumulative totals and those at the previous roll. Each slot holds counters,
 * latency moments and a 5:1 coarse latency histogram; cumulative quantiles use
 * the full sketch. Uses sketch.h; knows nothing of tests, routing or time
 * sources (time is passed in). */
#ifndef SL_METRICS_H
#define SL_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sketch.h"
#include "sluice.h"

struct sl_macc { /* one custom metric in a shard */
    _Atomic uint64_t count;
    _Atomic double sum, sumsq, min, max;
};

struct sl_mshard {
    bool shared; /* written by many threads: use atomic RMW */
    _Atomic uint64_t n, errors;
    _Atomic double shift;  /* latency shift K (first value seen), NaN until then */
    _Atomic double s1, s2; /* sum of (x-K), sum of (x-K)^2 */
    _Atomic double min, max;
    _Atomic uint64_t hist[SL_SKETCH_NB];
    struct sl_macc m[]; /* nmetrics */
};

/* Merged totals (writer side). Latency moments as (count, mean, M2). */
struct sl_mtotal {
    uint64_t n, errors;
    double mean, m2, min, max;
    uint64_t hist[SL_SKETCH_NB];
    uint64_t mcount[SL_MAX_METRICS];
    double msum[SL_MAX_METRICS], msumsq[SL_MAX_METRICS];
    double mmin[SL_MAX_METRICS], mmax[SL_MAX_METRICS];
};

struct sl_wslot {
    int64_t period; /* floor(time / width); INT64_MIN when unused */
    uint64_t n, errors;
    double mean, m2; /* latency moments of the slot */
    uint32_t hist[SL_SKETCH_NCB];
};

struct sl_mvar {
    int nshards; /* private shards + 1 shared */
    int nmetrics;
    struct sl_mshard **shards; /* into block: shard i at block + i * stride */
    char *block;
    size_t stride; /* bytes per shard, a multiple of 64 */
    double width;  /* window slot seconds */
    int nslots;
    struct sl_wslot *slots;
    double *slot_m; /* nslots * nmetrics * 3: count, sum, sumsq */
    /* totals at the previous roll */
    uint64_t prev_n, prev_errors;
    double prev_mean, prev_m2;
    uint32_t prev_hist[SL_SKETCH_NCB]; /* coarse, mod 2^32: deltas stay exact */
    double *prev_m;                    /* nmetrics * 3: count, sum, sumsq */
    double started;                    /* time of creation, for spans */
};

/* Allocate a variant with nprivate private shards + 1 shared, nmetrics custom
 * metrics, nslots windows of width seconds. NULL on allocation failure. */
struct sl_mvar *sl_mvar_new(int nprivate, int nmetrics, int nslots, double width, double now);
void sl_mvar_delete(struct sl_mvar *v);
size_t sl_mvar_bytes(const struct sl_mvar *v);

/* [any thread] Record into shard s (the caller owns it, or it is the shared
 * one). Values are validated by the caller. */
void sl_mshard_record(struct sl_mshard *s, bool ok, double latency_ms,
                      const struct sl_sample *samples, size_t nsamples);

/* [any thread] Shard i of a variant whose block starts at base. */
static inline struct sl_mshard *sl_mshard_at(char *base, size_t stride, int i)
{
    return (struct sl_mshard *)(void *)(base + (size_t)i * stride);
}

/* Writer: merge every shard into *t. */
void sl_mvar_total(const struct sl_mvar *v, struct sl_mtotal *t);
/* Writer: the same without the histogram (t->hist is left unset): counters,
 * latency moments and custom metrics only, for the statistics each tick. */
void sl_mvar_counts(const struct sl_mvar *v, struct sl_mtotal *t);
/* Writer: attribute everything recorded since the previous roll to the slot of
 * the period containing now. */
void sl_mvar_roll(struct sl_mvar *v, double now);

/* Writer: fill *out with cumulative (window <= 0) or windowed figures.
 * names: the metric names (nmetrics). A windowed read first rolls, unless
 * rolled says the caller has just rolled at now (a tick judging what it
 * rolled: the roll merges every shard's histogram). Without quantiles the
 * histogram is not read: quantiles (and a window's min and max) are NaN. */
void sl_mvar_read(struct sl_mvar *v, double now, double window, const char *const *names,
                  bool rolled, bool quantiles, struct sl_variant_metrics *out);
/* Writer: latency quantile over the same spans. */
double sl_mvar_quantile(struct sl_mvar *v, double now, double window, double q);

/* Writer: serialise the accumulators (merged over shards) and the window
 * ring into buf. Returns the bytes needed; writes only if cap is enough.
 * The format is host-local (native byte order, checked by a marker) and
 * ends with an XXH3 checksum. */
size_t sl_mvar_save(const struct sl_mvar *v, void *buf, size_t cap);
/* Writer, before any other thread records: replace everything from buf.
 * Rejects (changing nothing) a wrong marker, version, shape or checksum. */
int sl_mvar_load(struct sl_mvar *v, const void *buf, size_t len, struct sl_err *err);

/* Chan et al. parallel combination of (n, mean, M2) moments: a += b. */
void sl_moments_merge(uint64_t *na, double *meana, double *m2a, uint64_t nb, double meanb,
                      double m2b);

#endif
