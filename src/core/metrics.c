#include "metrics.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <xxhash.h>

#define RLX memory_order_relaxed

/* ---- hot path: one writer per private shard, so load + store suffices ---- */

static inline void sl_bump_u64(_Atomic uint64_t *p, uint64_t d, bool shared)
{
    if (shared)
        atomic_fetch_add_explicit(p, d, RLX);
    else
        atomic_store_explicit(p, atomic_load_explicit(p, RLX) + d, RLX);
}

static inline void sl_bump_f64(_Atomic double *p, double d, bool shared)
{
    double old = atomic_load_explicit(p, RLX);
    if (!shared) {
        atomic_store_explicit(p, old + d, RLX);
        return;
    }
    while (!atomic_compare_exchange_weak_explicit(p, &old, old + d, RLX, RLX))
        ;
}

/* Keep *p = min(*p, x) (sign = 1) or max (sign = -1). */
static inline void sl_bound_f64(_Atomic double *p, double x, int sign, bool shared)
{
    double old = atomic_load_explicit(p, RLX);
    while (sign * x < sign * old) {
        if (!shared) {
            atomic_store_explicit(p, x, RLX);
            return;
        }
        if (atomic_compare_exchange_weak_explicit(p, &old, x, RLX, RLX))
            return;
    }
}

static double sl_shard_shift(struct sl_mshard *s, double x)
{
    double k = atomic_load_explicit(&s->shift, RLX);
    if (!isnan(k))
        return k;
    /* First sample: it becomes the shift, which keeps the sums of squares small
     * relative to the variance (no catastrophic cancellation). */
    if (atomic_compare_exchange_strong_explicit(&s->shift, &k, x, RLX, RLX))
        return x;
    return k;
}

void sl_mshard_record(struct sl_mshard *s, bool ok, double latency_ms,
                      const struct sl_sample *samples, size_t nsamples)
{
    bool sh = s->shared;
    double d = latency_ms - sl_shard_shift(s, latency_ms);
    sl_bump_u64(&s->n, 1, sh);
    if (!ok)
        sl_bump_u64(&s->errors, 1, sh);
    sl_bump_f64(&s->s1, d, sh);
    sl_bump_f64(&s->s2, d * d, sh);
    sl_bound_f64(&s->min, latency_ms, 1, sh);
    sl_bound_f64(&s->max, latency_ms, -1, sh);
    sl_bump_u64(&s->hist[sl_sketch_index(latency_ms)], 1, sh);
    for (size_t i = 0; i < nsamples; i++) {
        struct sl_macc *m = &s->m[samples[i].metric];
        double x = samples[i].value;
        sl_bump_u64(&m->count, 1, sh);
        sl_bump_f64(&m->sum, x, sh);
        sl_bump_f64(&m->sumsq, x * x, sh);
        sl_bound_f64(&m->min, x, 1, sh);
        sl_bound_f64(&m->max, x, -1, sh);
    }
}

/* ---- allocation ------------------------------------------------------------ */

static size_t sl_shard_size(int nmetrics)
{
    return sizeof(struct sl_mshard) + (size_t)nmetrics * sizeof(struct sl_macc);
}

static void sl_shard_init(struct sl_mshard *s, int nmetrics, bool shared)
{
    s->shared = shared;
    atomic_init(&s->shift, NAN);
    atomic_init(&s->min, INFINITY);
    atomic_init(&s->max, -INFINITY);
    for (int i = 0; i < nmetrics; i++) {
        atomic_init(&s->m[i].min, INFINITY);
        atomic_init(&s->m[i].max, -INFINITY);
    }
}

struct sl_mvar *sl_mvar_new(int nprivate, int nmetrics, int nslots, double width, double now)
{
    struct sl_mvar *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->nshards = nprivate + 1;
    v->nmetrics = nmetrics;
    v->nslots = nslots;
    v->width = width;
    v->started = now;
    v->stride = (sl_shard_size(nmetrics) + 63) / 64 * 64;
    v->block = aligned_alloc(64, v->stride * (size_t)v->nshards);
    v->shards = calloc((size_t)v->nshards, sizeof *v->shards);
    v->slots = calloc((size_t)nslots, sizeof *v->slots);
    v->slot_m = calloc((size_t)nslots * (size_t)nmetrics * 3 + 1, sizeof(double));
    v->prev_m = calloc((size_t)nmetrics * 3 + 1, sizeof(double));
    if (!v->block || !v->shards || !v->slots || !v->slot_m || !v->prev_m)
        goto fail;
    memset(v->block, 0, v->stride * (size_t)v->nshards);
    for (int i = 0; i < v->nshards; i++) {
        v->shards[i] = sl_mshard_at(v->block, v->stride, i);
        sl_shard_init(v->shards[i], nmetrics, i == nprivate);
    }
    for (int i = 0; i < nslots; i++)
        v->slots[i].period = INT64_MIN;
    return v;
fail:
    sl_mvar_delete(v);
    return NULL;
}

void sl_mvar_delete(struct sl_mvar *v)
{
    if (!v)
        return;
    free(v->block);
    free(v->shards);
    free(v->slots);
    free(v->slot_m);
    free(v->prev_m);
    free(v);
}

size_t sl_mvar_bytes(const struct sl_mvar *v)
{
    return sizeof *v + (size_t)v->nshards * (sizeof(void *) + v->stride) +
           (size_t)v->nslots * sizeof(struct sl_wslot) +
           ((size_t)v->nslots + 1) * (size_t)v->nmetrics * 3 * sizeof(double);
}

/* ---- merging (writer) -------------------------------------------------------- */

void sl_moments_merge(uint64_t *na, double *meana, double *m2a, uint64_t nb, double meanb,
                      double m2b)
{
    if (nb == 0)
        return;
    if (*na == 0) { /* the general formula would compute inf * 0 for a far-out mean */
        *na = nb;
        *meana = meanb;
        *m2a = m2b;
        return;
    }
    uint64_t n = *na + nb;
    double delta = meanb - *meana;
    *m2a += m2b + delta * delta * ((double)*na * (double)nb / (double)n);
    *meana += delta * ((double)nb / (double)n);
    *na = n;
}

/* The fine buckets a shard's records can be in: those of its lifetime
 * extremes and between (latencies are validated finite and >= 0 before they
 * are recorded). A reader that races a record may leave out that record's
 * bucket for once; the extremes only widen, so the next read includes it.
 * Scanning this range instead of all SL_SKETCH_NB buckets is what keeps a
 * roll cheap: real latencies span a few dozen buckets of the 742. */
static void sl_shard_range(const struct sl_mshard *s, int *lo, int *hi)
{
    double mn = atomic_load_explicit(&s->min, RLX), mx = atomic_load_explicit(&s->max, RLX);
    if (!(mn <= mx)) {
        *lo = 0;
        *hi = -1;
        return;
    }
    *lo = sl_sketch_index(mn);
    *hi = sl_sketch_index(mx);
}

static void sl_total_shard(struct sl_mtotal *t, const struct sl_mshard *s, int nmetrics, bool hist)
{
    uint64_t n = atomic_load_explicit(&s->n, RLX);
    if (n == 0) /* nothing recorded here yet (the shared shard, mostly): nothing to add */
        return;
    double k = atomic_load_explicit(&s->shift, RLX);
    double s1 = atomic_load_explicit(&s->s1, RLX), s2 = atomic_load_explicit(&s->s2, RLX);
    double m2 = fmax(0.0, s2 - s1 * s1 / (double)n);
    sl_moments_merge(&t->n, &t->mean, &t->m2, n, k + s1 / (double)n, m2);
    /* errors was loaded after n: a record in between could make it exceed n */
    uint64_t errors = atomic_load_explicit(&s->errors, RLX);
    t->errors += errors < n ? errors : n;
    t->min = fmin(t->min, atomic_load_explicit(&s->min, RLX));
    t->max = fmax(t->max, atomic_load_explicit(&s->max, RLX));
    if (hist) {
        int lo, hi;
        sl_shard_range(s, &lo, &hi);
        for (int i = lo; i <= hi; i++)
            t->hist[i] += atomic_load_explicit(&s->hist[i], RLX);
    }
    for (int j = 0; j < nmetrics; j++) {
        t->mcount[j] += atomic_load_explicit(&s->m[j].count, RLX);
        t->msum[j] += atomic_load_explicit(&s->m[j].sum, RLX);
        t->msumsq[j] += atomic_load_explicit(&s->m[j].sumsq, RLX);
        t->mmin[j] = fmin(t->mmin[j], atomic_load_explicit(&s->m[j].min, RLX));
        t->mmax[j] = fmax(t->mmax[j], atomic_load_explicit(&s->m[j].max, RLX));
    }
}

static void sl_mvar_merge(const struct sl_mvar *v, struct sl_mtotal *t, bool hist)
{
    memset(t, 0, hist ? sizeof *t : offsetof(struct sl_mtotal, hist));
    if (!hist)
        memset(&t->mcount, 0, sizeof *t - offsetof(struct sl_mtotal, mcount));
    t->min = INFINITY;
    t->max = -INFINITY;
    for (int j = 0; j < SL_MAX_METRICS; j++) {
        t->mmin[j] = INFINITY;
        t->mmax[j] = -INFINITY;
    }
    for (int i = 0; i < v->nshards; i++)
        sl_total_shard(t, v->shards[i], v->nmetrics, hist);
}

void sl_mvar_total(const struct sl_mvar *v, struct sl_mtotal *t)
{
    sl_mvar_merge(v, t, true);
}

void sl_mvar_counts(const struct sl_mvar *v, struct sl_mtotal *t)
{
    sl_mvar_merge(v, t, false);
}

/* ---- windows (writer) --------------------------------------------------------- */

static int64_t sl_period(const struct sl_mvar *v, double t)
{
    return (int64_t)floor(t / v->width);
}

static struct sl_wslot *sl_slot_for(struct sl_mvar *v, int64_t period, double **m)
{
    int64_t i = ((period % v->nslots) + v->nslots) % v->nslots;
    struct sl_wslot *w = &v->slots[i];
    *m = &v->slot_m[i * v->nmetrics * 3];
    if (w->period != period) {
        memset(w, 0, sizeof *w);
        w->period = period;
        for (int j = 0; j < v->nmetrics * 3; j++)
            (*m)[j] = 0;
    }
    return w;
}

/* The moments of the records since the previous roll: the total minus the
 * previous total, by inverting Chan's combination. */
static void sl_roll_moments(struct sl_mvar *v, const struct sl_mtotal *t, struct sl_wslot *w)
{
    uint64_t nb = t->n - v->prev_n;
    if (nb == 0)
        return;
    double na = (double)v->prev_n, n = (double)t->n;
    double meanb = (n * t->mean - na * v->prev_mean) / (double)nb;
    double d = meanb - v->prev_mean;
    double m2b = fmax(0.0, t->m2 - v->prev_m2 - d * d * na * (double)nb / n);
    uint64_t wn = w->n;
    sl_moments_merge(&wn, &w->mean, &w->m2, nb, meanb, m2b);
    w->n = wn;
    w->errors += t->errors - v->prev_errors;
    v->prev_n = t->n;
    v->prev_errors = t->errors;
    v->prev_mean = t->mean;
    v->prev_m2 = t->m2;
}

/* The coarse buckets' counts since the previous roll, summed straight from
 * the shards' fine buckets (mod 2^32: the deltas stay exact). */
static void sl_roll_hist(struct sl_mvar *v, struct sl_wslot *w)
{
    uint64_t now64[SL_SKETCH_NCB] = {0};
    for (int k = 0; k < v->nshards; k++) {
        const struct sl_mshard *s = v->shards[k];
        int lo, hi;
        if (atomic_load_explicit(&s->n, RLX) == 0)
            continue;
        sl_shard_range(s, &lo, &hi);
        for (int i = lo; i <= hi; i++)
            now64[i / SL_SKETCH_COARSE] += atomic_load_explicit(&s->hist[i], RLX);
    }
    for (int c = 0; c < SL_SKETCH_NCB; c++) {
        uint32_t now32 = (uint32_t)now64[c];
        w->hist[c] += (uint32_t)(now32 - v->prev_hist[c]);
        v->prev_hist[c] = now32;
    }
}

void sl_mvar_roll(struct sl_mvar *v, double now)
{
    struct sl_mtotal t;
    double *m;
    sl_mvar_counts(v, &t); /* the histogram is summed coarse, below */
    struct sl_wslot *w = sl_slot_for(v, sl_period(v, now), &m);
    sl_roll_hist(v, w);
    sl_roll_moments(v, &t, w);
    for (int j = 0; j < v->nmetrics; j++) {
        double now3[3] = {(double)t.mcount[j], t.msum[j], t.msumsq[j]};
        for (int k = 0; k < 3; k++) {
            m[j * 3 + k] += now3[k] - v->prev_m[j * 3 + k];
            v->prev_m[j * 3 + k] = now3[k];
        }
    }
}

/* Merge the slots of the last window seconds into a slot-shaped total.
 * Returns the span in seconds they cover. */
static double sl_window_merge(struct sl_mvar *v, double now, double window, struct sl_wslot *acc,
                              double *macc)
{
    int64_t cur = sl_period(v, now);
    int64_t k = (int64_t)ceil(window / v->width);
    if (k < 1)
        k = 1;
    if (k > v->nslots)
        k = v->nslots;
    memset(acc, 0, sizeof *acc);
    for (int j = 0; j < v->nmetrics * 3; j++)
        macc[j] = 0;
    for (int64_t p = cur - k + 1; p <= cur; p++) {
        const struct sl_wslot *w = &v->slots[((p % v->nslots) + v->nslots) % v->nslots];
        if (w->period != p)
            continue;
        const double *m = &v->slot_m[(((p % v->nslots) + v->nslots) % v->nslots) * v->nmetrics * 3];
        uint64_t n = acc->n;
        sl_moments_merge(&n, &acc->mean, &acc->m2, w->n, w->mean, w->m2);
        acc->n = n;
        acc->errors += w->errors;
        for (int c = 0; c < SL_SKETCH_NCB; c++)
            acc->hist[c] += w->hist[c];
        for (int j = 0; j < v->nmetrics * 3; j++)
            macc[j] += m[j];
    }
    double from = fmax(v->started, (double)(cur - k + 1) * v->width);
    return fmax(0.0, now - from);
}

static void sl_fill_common(struct sl_variant_metrics *out, uint64_t n, uint64_t errors, double mean,
                           double m2, double span)
{
    out->requests = n;
    out->errors = errors;
    out->successes = n - errors;
    out->error_rate = n ? (double)errors / (double)n : 0.0;
    out->span_seconds = span;
    out->throughput = span > 0 ? (double)n / span : 0.0;
    out->latency_mean = n ? mean : NAN;
    out->latency_var = n > 1 ? m2 / (double)(n - 1) : (n ? 0.0 : NAN);
}

static const double sl_qs[SL_NQUANTILES] = {0.5, 0.9, 0.95, 0.99, 0.999};

static void sl_read_cumulative(struct sl_mvar *v, double now, const char *const *names,
                               bool quantiles, struct sl_variant_metrics *out)
{
    struct sl_mtotal t;
    sl_mvar_merge(v, &t, quantiles); /* the histogram only for quantiles */
    sl_fill_common(out, t.n, t.errors, t.mean, t.m2, fmax(0.0, now - v->started));
    out->latency_min = t.n ? t.min : NAN;
    out->latency_max = t.n ? t.max : NAN;
    if (quantiles)
        sl_sketch_quantiles_counts(t.hist, SL_SKETCH_NB, t.n, t.min, t.max, sl_qs, SL_NQUANTILES,
                                   out->quantiles);
    else
        for (int q = 0; q < SL_NQUANTILES; q++)
            out->quantiles[q] = NAN;
    for (int j = 0; j < v->nmetrics; j++) {
        struct sl_metric_stats *m = &out->metrics[j];
        m->name = names ? names[j] : NULL;
        m->count = t.mcount[j];
        m->sum = t.msum[j];
        m->sumsq = t.msumsq[j];
        m->min = t.mcount[j] ? t.mmin[j] : NAN;
        m->max = t.mcount[j] ? t.mmax[j] : NAN;
    }
}

/* Lifetime latency extremes, exact: bounds for any window's quantiles. */
static void sl_lifetime_bounds(const struct sl_mvar *v, double *lo, double *hi)
{
    struct sl_mtotal t;
    sl_mvar_merge(v, &t, false);
    *lo = t.n ? t.min : 0;
    *hi = t.n ? t.max : INFINITY;
}

static void sl_window_metrics(const struct sl_mvar *v, const char *const *names, const double *macc,
                              struct sl_variant_metrics *out)
{
    for (int j = 0; j < v->nmetrics; j++) {
        struct sl_metric_stats *m = &out->metrics[j];
        m->name = names ? names[j] : NULL;
        m->count = macc[j * 3] > 0 ? (uint64_t)macc[j * 3] : 0; /* sums of whole counts */
        m->sum = macc[j * 3 + 1];
        m->sumsq = macc[j * 3 + 2];
        m->min = m->max = NAN;
    }
}

void sl_mvar_read(struct sl_mvar *v, double now, double window, const char *const *names,
                  bool rolled, bool quantiles, struct sl_variant_metrics *out)
{
    memset(out, 0, sizeof *out);
    out->nmetrics = (size_t)v->nmetrics;
    if (window <= 0) {
        sl_read_cumulative(v, now, names, quantiles, out);
        return;
    }
    struct sl_wslot acc;
    double macc[SL_MAX_METRICS * 3];
    if (!rolled)
        sl_mvar_roll(v, now);
    double span = sl_window_merge(v, now, window, &acc, macc);
    sl_fill_common(out, acc.n, acc.errors, acc.mean, acc.m2, span);
    sl_window_metrics(v, names, macc, out);
    out->latency_min = out->latency_max = NAN;
    for (int q = 0; q < SL_NQUANTILES; q++)
        out->quantiles[q] = NAN;
    if (!quantiles)
        return;
    /* Windows keep no exact extremes: min/max come from the coarse buckets,
     * clamped to the lifetime extremes (a window's values lie within them). */
    uint64_t h[SL_SKETCH_NCB];
    double lo, hi;
    sl_lifetime_bounds(v, &lo, &hi);
    for (int c = 0; c < SL_SKETCH_NCB; c++)
        h[c] = acc.hist[c];
    /* min (the first rank), the quantiles, max: ascending, so one pass */
    double qs[SL_NQUANTILES + 2], qv[SL_NQUANTILES + 2];
    qs[0] = acc.n ? 1.0 / (double)acc.n : 0;
    memcpy(qs + 1, sl_qs, sizeof sl_qs);
    qs[SL_NQUANTILES + 1] = 1.0;
    sl_sketch_quantiles_counts(h, SL_SKETCH_NCB, acc.n, lo, hi, qs, SL_NQUANTILES + 2, qv);
    out->latency_min = qv[0];
    out->latency_max = qv[SL_NQUANTILES + 1];
    memcpy(out->quantiles, qv + 1, sizeof out->quantiles);
}

double sl_mvar_quantile(struct sl_mvar *v, double now, double window, double q)
{
    if (window <= 0) {
        struct sl_mtotal t;
        sl_mvar_total(v, &t);
        return sl_sketch_quantile_counts(t.hist, SL_SKETCH_NB, t.n, t.min, t.max, q);
    }
    struct sl_wslot acc;
    double macc[SL_MAX_METRICS * 3];
    sl_mvar_roll(v, now);
    sl_window_merge(v, now, window, &acc, macc);
    uint64_t h[SL_SKETCH_NCB];
    double lo, hi;
    sl_lifetime_bounds(v, &lo, &hi);
    for (int c = 0; c < SL_SKETCH_NCB; c++)
        h[c] = acc.hist[c];
    return sl_sketch_quantile_counts(h, SL_SKETCH_NCB, acc.n, lo, hi, q);
}

/* ---- checkpoints ---------------------------------------------------------------------- */

#define SL_MVAR_MAGIC   0x314d4c53u /* "SLM1" in native order: a byte-order check too */
#define SL_MVAR_VERSION 1u

struct sl_cursor {
    unsigned char *p;
    const unsigned char *r;
    size_t off, cap;
    bool bad;
};

static void sl_put(struct sl_cursor *c, const void *v, size_t n)
{
    if (c->p && c->off + n <= c->cap)
        memcpy(c->p + c->off, v, n);
    c->off += n;
}

static void sl_get(struct sl_cursor *c, void *v, size_t n)
{
    if (c->off + n > c->cap) {
        c->bad = true;
        memset(v, 0, n);
        return;
    }
    memcpy(v, c->r + c->off, n);
    c->off += n;
}

#define PUT(c, x) sl_put((c), &(x), sizeof(x))
#define GET(c, x) sl_get((c), &(x), sizeof(x))

/* The shape both sides must agree on. */
struct sl_mvar_header {
    uint32_t magic, version, nb, ncb, nmetrics, nslots;
    double width, started;
};

static struct sl_mvar_header sl_mvar_shape(const struct sl_mvar *v)
{
    return (struct sl_mvar_header){
        SL_MVAR_MAGIC,         SL_MVAR_VERSION,     SL_SKETCH_NB, SL_SKETCH_NCB,
        (uint32_t)v->nmetrics, (uint32_t)v->nslots, v->width,     v->started};
}

static void sl_mvar_put_total(struct sl_cursor *c, const struct sl_mtotal *t, int nmetrics)
{
    PUT(c, t->n);
    PUT(c, t->errors);
    PUT(c, t->mean);
    PUT(c, t->m2);
    PUT(c, t->min);
    PUT(c, t->max);
    sl_put(c, t->hist, sizeof t->hist);
    for (int j = 0; j < nmetrics; j++) {
        PUT(c, t->mcount[j]);
        PUT(c, t->msum[j]);
        PUT(c, t->msumsq[j]);
        PUT(c, t->mmin[j]);
        PUT(c, t->mmax[j]);
    }
}

static void sl_mvar_put_windows(struct sl_cursor *c, const struct sl_mvar *v)
{
    size_t mbytes = (size_t)v->nmetrics * 3 * sizeof(double);
    PUT(c, v->prev_n);
    PUT(c, v->prev_errors);
    PUT(c, v->prev_mean);
    PUT(c, v->prev_m2);
    sl_put(c, v->prev_hist, sizeof v->prev_hist);
    sl_put(c, v->prev_m, mbytes);
    sl_put(c, v->slots, (size_t)v->nslots * sizeof *v->slots);
    sl_put(c, v->slot_m, (size_t)v->nslots * mbytes);
}

size_t sl_mvar_save(const struct sl_mvar *v, void *buf, size_t cap)
{
    struct sl_mtotal t;
    sl_mvar_total(v, &t);
    struct sl_mvar_header h = sl_mvar_shape(v);
    struct sl_cursor c = {.p = buf, .cap = cap};
    PUT(&c, h);
    sl_mvar_put_total(&c, &t, v->nmetrics);
    sl_mvar_put_windows(&c, v);
    size_t need = c.off + sizeof(uint64_t);
    if (buf && need <= cap) {
        uint64_t sum = XXH3_64bits(buf, c.off);
        memcpy((unsigned char *)buf + c.off, &sum, sizeof sum);
    }
    return need;
}

static void sl_mvar_get_total(struct sl_cursor *c, struct sl_mtotal *t, int nmetrics)
{
    GET(c, t->n);
    GET(c, t->errors);
    GET(c, t->mean);
    GET(c, t->m2);
    GET(c, t->min);
    GET(c, t->max);
    sl_get(c, t->hist, sizeof t->hist);
    for (int j = 0; j < nmetrics; j++) {
        GET(c, t->mcount[j]);
        GET(c, t->msum[j]);
        GET(c, t->msumsq[j]);
        GET(c, t->mmin[j]);
        GET(c, t->mmax[j]);
    }
}

/* Put the merged totals into the first shard, zero the others. */
static void sl_mvar_set_shards(struct sl_mvar *v, const struct sl_mtotal *t)
{
    for (int i = 0; i < v->nshards; i++) {
        bool shared = v->shards[i]->shared;
        struct sl_mshard *s = v->shards[i];
        memset(s, 0, sizeof *s + (size_t)v->nmetrics * sizeof(struct sl_macc));
        s->shared = shared;
        atomic_init(&s->shift, i == 0 && t->n ? t->mean : NAN);
        atomic_init(&s->min, i == 0 ? t->min : INFINITY);
        atomic_init(&s->max, i == 0 ? t->max : -INFINITY);
        for (int j = 0; j < v->nmetrics; j++) {
            atomic_init(&s->m[j].min, i == 0 ? t->mmin[j] : INFINITY);
            atomic_init(&s->m[j].max, i == 0 ? t->mmax[j] : -INFINITY);
        }
    }
    struct sl_mshard *s = v->shards[0];
    atomic_init(&s->n, t->n);
    atomic_init(&s->errors, t->errors);
    atomic_init(&s->s1, 0.0); /* shift = mean: sum of (x - mean) is 0, of squares M2 */
    atomic_init(&s->s2, t->m2);
    for (int i = 0; i < SL_SKETCH_NB; i++)
        atomic_init(&s->hist[i], t->hist[i]);
    for (int j = 0; j < v->nmetrics; j++) {
        atomic_init(&s->m[j].count, t->mcount[j]);
        atomic_init(&s->m[j].sum, t->msum[j]);
        atomic_init(&s->m[j].sumsq, t->msumsq[j]);
    }
}

struct sl_mvar_prev { /* the totals at the previous roll, as checkpointed */
    uint64_t n, errors;
    double mean, m2;
    uint32_t hist[SL_SKETCH_NCB];
};

static bool sl_count_ok(double x)
{
    return x >= 0 && x <= 9007199254740992.0; /* [0, 2^53]: exact, castable; NaN fails */
}

/* Why the figures of a checkpoint cannot be taken, or NULL. */
static const char *sl_mvar_insane(const struct sl_mvar *v, const struct sl_mtotal *t,
                                  const struct sl_mvar_prev *p, const double *prev_m,
                                  const struct sl_wslot *slots, const double *slot_m)
{
    const uint64_t exact = 1ull << 53; /* the statistics count in doubles */
    if (t->n > exact)
        return "more requests than the statistics can count exactly (2^53)";
    if (t->errors > t->n || p->errors > p->n || !isfinite(t->mean) || !(t->m2 >= 0) ||
        !isfinite(p->mean) || !(p->m2 >= 0) || isnan(t->min) || isnan(t->max))
        return "totals out of range (errors over requests, or a moment not finite)";
    double lmax = SL_LATENCY_MAX_MS;
    if (t->n && !(t->mean >= 0 && t->mean <= lmax && t->min >= 0 && t->min <= t->max &&
                  t->max <= lmax && t->m2 <= (double)t->n * lmax * lmax))
        return "latency totals outside what can be recorded";
    if (p->n > t->n || p->errors > t->errors) /* the next roll would subtract */
        return "totals at the last roll exceed the totals";
    for (int j = 0; j < v->nmetrics; j++)
        if (!(prev_m[j * 3] <= (double)t->mcount[j]))
            return "a custom metric's count at the last roll exceeds its total";
    if (p->n && !(p->mean >= 0 && p->mean <= lmax && p->m2 <= (double)p->n * lmax * lmax))
        return "latency totals at the last roll outside what can be recorded";
    if (t->n) { /* the readers scan only the buckets between the extremes */
        int lo = sl_sketch_index(t->min), hi = sl_sketch_index(t->max);
        for (int i = 0; i < SL_SKETCH_NB; i++)
            if ((i < lo || i > hi) && t->hist[i])
                return "latency histogram outside the recorded extremes";
    }
    bool empty = t->mean == 0 && t->m2 == 0 && t->min == INFINITY && t->max == -INFINITY;
    for (int i = 0; empty && i < SL_SKETCH_NB; i++)
        empty = t->hist[i] == 0;
    for (int j = 0; empty && j < v->nmetrics; j++)
        empty = t->mcount[j] == 0 && t->msum[j] == 0 && t->msumsq[j] == 0;
    if (t->n == 0 && !empty) /* a variant with no results has nothing else either */
        return "totals out of range (figures without any request)";
    for (int j = 0; j < v->nmetrics; j++)
        if (t->mcount[j] > exact || !isfinite(t->msum[j]) || !(t->msumsq[j] >= 0) ||
            isnan(t->mmin[j]) || isnan(t->mmax[j]))
            return "a custom metric's totals are not finite";
    for (int i = 0; i < v->nslots; i++) {
        const struct sl_wslot *w = &slots[i];
        if (w->n > exact || w->errors > w->n || !(w->mean >= 0 && w->mean <= lmax) ||
            !(w->m2 >= 0) || w->m2 > (double)w->n * lmax * lmax)
            return "a window slot is out of range";
    }
    for (int i = 0; i < (v->nslots + 1) * v->nmetrics; i++) {
        const double *m = i < v->nmetrics ? &prev_m[i * 3] : &slot_m[(i - v->nmetrics) * 3];
        if (!sl_count_ok(m[0]) || !isfinite(m[1]) || !(m[2] >= 0))
            return "a custom metric's window counts are out of range";
    }
    return NULL;
}

int sl_mvar_load(struct sl_mvar *v, const void *buf, size_t len, struct sl_err *err)
{
    size_t need = sl_mvar_save(v, NULL, 0);
    struct sl_mvar_header h, want = sl_mvar_shape(v);
    struct sl_cursor c = {.r = buf, .cap = len};
    GET(&c, h);
    if (c.bad || h.magic != want.magic || h.version != want.version)
        return sl_err_set(err, SL_EINVAL,
                          "metrics checkpoint: not a version %u checkpoint of this "
                          "byte order",
                          SL_MVAR_VERSION);
    if (h.nb != want.nb || h.ncb != want.ncb || h.nmetrics != want.nmetrics ||
        h.nslots != want.nslots || h.width != want.width || len != need)
        return sl_err_set(err, SL_EINVAL,
                          "metrics checkpoint: shape differs (buckets, metrics or "
                          "windows changed since it was written)");
    uint64_t sum;
    memcpy(&sum, (const unsigned char *)buf + len - sizeof sum, sizeof sum);
    if (sum != XXH3_64bits(buf, len - sizeof sum))
        return sl_err_set(err, SL_EINVAL, "metrics checkpoint: checksum mismatch (corrupt)");
    /* Read into scratch, check, then replace: a checkpoint with a good
     * checksum may still carry values the readers cannot take (a crafted
     * one, say: a negative count would later be cast to an integer). */
    struct sl_mtotal t;
    memset(&t, 0, sizeof t);
    sl_mvar_get_total(&c, &t, v->nmetrics);
    size_t mbytes = (size_t)v->nmetrics * 3 * sizeof(double);
    size_t sbytes = (size_t)v->nslots * sizeof *v->slots;
    struct sl_mvar_prev p;
    GET(&c, p.n);
    GET(&c, p.errors);
    GET(&c, p.mean);
    GET(&c, p.m2);
    sl_get(&c, p.hist, sizeof p.hist);
    char *scratch = malloc(mbytes + sbytes + (size_t)v->nslots * mbytes + 1);
    if (!scratch)
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    double *prev_m = (double *)scratch;
    struct sl_wslot *slots = (struct sl_wslot *)(scratch + mbytes);
    double *slot_m = (double *)(scratch + mbytes + sbytes);
    sl_get(&c, prev_m, mbytes);
    sl_get(&c, slots, sbytes);
    sl_get(&c, slot_m, (size_t)v->nslots * mbytes);
    const char *bad = sl_mvar_insane(v, &t, &p, prev_m, slots, slot_m);
    if (!bad) {
        v->prev_n = p.n;
        v->prev_errors = p.errors;
        v->prev_mean = p.mean;
        v->prev_m2 = p.m2;
        memcpy(v->prev_hist, p.hist, sizeof p.hist);
        memcpy(v->prev_m, prev_m, mbytes);
        memcpy(v->slots, slots, sbytes);
        memcpy(v->slot_m, slot_m, (size_t)v->nslots * mbytes);
        v->started = h.started;
        sl_mvar_set_shards(v, &t);
    }
    free(scratch);
    return bad ? sl_err_set(err, SL_EINVAL, "metrics checkpoint: %s", bad) : 0;
}
