/* bench_core.c - ns/op of the sluice hot path (route, record) next to yardsticks
 * measured in the same run, plus metric memory per variant.
 *
 * Prints one tab-separated record per line; tests/bench/run.sh turns them into
 * the README's performance table (it computes "met?" and the ratios):
 *   kind  key  what  threads  tests  median  min  max  target  yardsticks
 * kind Y is a yardstick (target "-"), R a measured row (ns/op), M a memory row
 * (bytes in median/min/max, target in bytes). yardsticks is a comma list of Y
 * keys the row is compared with, or "-".
 *
 * Method: every operation reads its inputs from arrays generated before timing
 * (unit ids "user-" + zero-padded digits, 16..24 bytes, 2^20 distinct, streamed in
 * order; a hot set of 16; test indices, arms, outcomes and log-normal latencies
 * from a fixed-seed PRNG). Each figure is one rep of `ops` calls timed with
 * CLOCK_MONOTONIC, repeated `reps` times after an untimed warm-up; the median
 * and min..max across reps are reported. The two worker threads claim the
 * engine's reader slots in a fixed order, so with shards = 2 each owns
 * a private shard and with shards = 1 the second thread records into the shared
 * atomic shard. For two threads, a rep's figure is the slower thread's ns/op.
 *
 * Uses the public API (sluice.h), the sketch's bucket index (sketch.h) for the
 * record floor, and libxxhash for the hashing floor.
 *
 * Usage: bench_core [reps [ops-per-rep]]   (defaults 7, 2097152) */
#define _POSIX_C_SOURCE 200809L /* pthread barriers, clock_gettime */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "sketch.h"
#include "sluice.h"

#define NUNITS      (1u << 20) /* distinct unit ids */
#define UNIT_STRIDE 32
#define NHOT        16         /* the hot set: fits in L1 */
#define NSEQ        (1u << 16) /* pre-generated test index / arm / outcome / latency */
#define MAXTESTS    1000
#define MAXREPS     31
#define NWORKERS    2

/* ---- inputs ------------------------------------------------------------------------ */

static char *g_units;       /* NUNITS ids, UNIT_STRIDE bytes apart */
static uint8_t g_arm[NSEQ]; /* 0/1 */
static bool g_ok[NSEQ];     /* ~1% errors */
static double g_lat[NSEQ];  /* milliseconds, log-normal around 20 ms */
static uint64_t g_rng = 0x9E3779B97F4A7C15ULL;

static uint64_t rng_next(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545F4914F6CDD1DULL;
}

static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * 0x1.0p-53;
}

static const char *unit_at(uint32_t i)
{
    return g_units + (size_t)i * UNIT_STRIDE;
}

/* "user-" + the index zero-padded to 11..19 digits: 16..24 bytes, all distinct. */
static void inputs_make(void)
{
    g_units = malloc((size_t)NUNITS * UNIT_STRIDE);
    if (!g_units) {
        fprintf(stderr, "bench_core: out of memory\n");
        exit(1);
    }
    for (uint32_t i = 0; i < NUNITS; i++)
        snprintf(g_units + (size_t)i * UNIT_STRIDE, UNIT_STRIDE, "user-%0*u", 11 + (int)(i % 9), i);
    for (uint32_t i = 0; i < NSEQ; i++) {
        g_arm[i] = (uint8_t)(rng_next() >> 63);
        g_ok[i] = rng_unit() >= 0.01;
        double z = sqrt(-2 * log(1 - rng_unit())) * cos(6.283185307179586 * rng_unit());
        g_lat[i] = exp(log(20.0) + 0.6 * z);
    }
}

/* ---- a world: an engine with n running hash-routed tests --------------------------- */

struct world {
    struct sl_engine *eng;
    int ntests, shards;
    char model[MAXTESTS][24];
    char test[MAXTESTS][24];
    uint16_t tseq[NSEQ]; /* which test each operation addresses */
};

static double g_clock_now = 1000.0;

static double bench_clock(void *ud)
{
    (void)ud;
    return g_clock_now;
}

static void die_err(const char *what, const struct sl_err *err)
{
    fprintf(stderr, "bench_core: %s: %s\n", what, err->msg);
    exit(1);
}

static void world_add_test(struct world *w, int i)
{
    struct sl_err err;
    snprintf(w->model[i], sizeof w->model[i], "ranker-%04d", i);
    snprintf(w->test[i], sizeof w->test[i], "exp-%04d", i);
    struct sl_version_config v1 = {.model = w->model[i], .version = "v1"};
    struct sl_version_config v2 = {.model = w->model[i], .version = "v2"};
    if (sl_engine_add_version(w->eng, &v1, &err) || sl_engine_add_version(w->eng, &v2, &err))
        die_err("add_version", &err);
    struct sl_test_config tc = {.id = w->test[i],
                                .name = "bench",
                                .model = w->model[i],
                                .control_version = "v1",
                                .treatment_version = "v2",
                                .routing = SL_ROUTING_HASH};
    if (sl_engine_create_test(w->eng, &tc, NULL, &err) ||
        sl_engine_act(w->eng, w->test[i], SL_VERB_START, "bench", NULL, &err))
        die_err("create/start test", &err);
}

static struct world *world_new(int ntests, int shards)
{
    struct world *w = calloc(1, sizeof *w);
    struct sl_engine_opts o;
    struct sl_err err;
    sl_engine_opts_default(&o);
    o.clock = bench_clock;
    o.shards = shards;
    o.max_tests = ntests > o.max_tests ? ntests : o.max_tests;
    if (!w || !(w->eng = sl_engine_new(&o, &err)))
        die_err("engine", &err);
    w->ntests = ntests;
    w->shards = shards;
    for (int i = 0; i < ntests; i++) {
        world_add_test(w, i);
        if (i % 64 == 63 && sl_engine_tick(w->eng, &err)) /* frees retired snapshots */
            die_err("tick", &err);
    }
    if (sl_engine_tick(w->eng, &err))
        die_err("tick", &err);
    for (uint32_t i = 0; i < NSEQ; i++)
        w->tseq[i] = (uint16_t)(rng_next() % (uint64_t)ntests);
    return w;
}

/* Requests recorded across every test and arm (writer-side check of the run). */
static uint64_t world_requests(struct world *w)
{
    uint64_t n = 0;
    struct sl_variant_metrics m;
    struct sl_err err;
    for (int i = 0; i < w->ntests; i++)
        for (int a = 0; a < 2; a++) {
            if (sl_engine_metrics(w->eng, w->test[i], a, 0, &m, &err))
                die_err("metrics", &err);
            n += m.requests;
        }
    return n;
}

static void world_delete(struct world *w)
{
    sl_engine_delete(w->eng);
    free(w);
}

/* ---- workers ----------------------------------------------------------------------- */

struct worker;
typedef void (*loop_fn)(struct worker *wk, size_t n);

struct worker {
    int idx;
    pthread_t th;
    struct world *w;
    struct sl_route routes[MAXTESTS][2]; /* taken on this thread, for record_route */
    uint32_t uoff, soff;                 /* where this thread starts in the inputs */
    bool hot;
    double ns; /* the last rep */
    uint64_t fails, sink, ops_ok;
};

/* The floor for recording: what sl_mvar_record does, without atomics or lookups. */
struct floor_var {
    uint64_t n, errors;
    double sum, sumsq, min, max;
    uint64_t hist[SL_SKETCH_NB];
};
static struct floor_var *g_floor[NWORKERS]; /* one set per worker */

static struct worker g_wk[NWORKERS];
static pthread_barrier_t g_start, g_done;
static loop_fn g_job;
static unsigned g_active; /* bitmask of workers that run g_job */
static size_t g_ops;
static bool g_quit;
static volatile uint64_t g_sink;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *worker_main(void *p)
{
    struct worker *wk = p;
    /* Not pinned: on a shared machine the scheduler can move a lone benchmark
     * thread off a CPU another process is busy on; two threads still spread. */
    for (;;) {
        pthread_barrier_wait(&g_start);
        if (g_quit)
            return NULL;
        if (g_active & (1u << wk->idx)) {
            double t0 = now_ns();
            g_job(wk, g_ops);
            wk->ns = (now_ns() - t0) / (double)g_ops;
        }
        pthread_barrier_wait(&g_done);
    }
}

/* Run job once on the workers in mask; n operations each. */
static void run_once(loop_fn job, unsigned mask, size_t n)
{
    g_job = job;
    g_active = mask;
    g_ops = n;
    pthread_barrier_wait(&g_start);
    pthread_barrier_wait(&g_done);
}

/* ---- the measured loops ------------------------------------------------------------ */

static const char *unit_for(struct worker *wk, size_t i)
{
    return wk->hot ? unit_at((uint32_t)(i & (NHOT - 1)))
                   : unit_at((uint32_t)((wk->uoff + i) & (NUNITS - 1)));
}

static void loop_route(struct worker *wk, size_t n)
{
    struct world *w = wk->w;
    struct sl_route r;
    uint64_t fails = 0, sink = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key = w->model[w->tseq[(wk->soff + i) & (NSEQ - 1)]];
        if (sl_engine_route(w->eng, key, unit_for(wk, i), &r, NULL))
            fails++;
        sink += (uint64_t)r.arm;
    }
    wk->fails += fails;
    wk->sink += sink;
}

static void loop_record(struct worker *wk, size_t n)
{
    struct world *w = wk->w;
    uint64_t fails = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = (wk->soff + i) & (NSEQ - 1);
        if (sl_engine_record(w->eng, w->test[w->tseq[j]], g_arm[j], g_ok[j], g_lat[j], NULL, 0,
                             NULL))
            fails++;
    }
    wk->fails += fails;
    wk->ops_ok += n - fails;
}

static void loop_record_route(struct worker *wk, size_t n)
{
    struct world *w = wk->w;
    uint64_t fails = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = (wk->soff + i) & (NSEQ - 1);
        if (sl_engine_record_route(w->eng, &wk->routes[w->tseq[j]][g_arm[j]], g_ok[j], g_lat[j],
                                   NULL, 0, NULL))
            fails++;
    }
    wk->fails += fails;
    wk->ops_ok += n - fails;
}

/* One whole request: route, then record its outcome through the route result. */
static void loop_route_record(struct worker *wk, size_t n)
{
    struct world *w = wk->w;
    struct sl_route r;
    uint64_t fails = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = (wk->soff + i) & (NSEQ - 1);
        if (sl_engine_route(w->eng, w->model[w->tseq[j]], unit_for(wk, i), &r, NULL) ||
            sl_engine_record_route(w->eng, &r, g_ok[j], g_lat[j], NULL, 0, NULL))
            fails++;
    }
    wk->fails += fails;
    wk->ops_ok += n - fails;
}

/* Yardstick (a)/(b): the least hash routing can do for a C string id. */
static void loop_xxh3(struct worker *wk, size_t n)
{
    const uint64_t thr = (uint64_t)1 << 52; /* 50% of 2^53 */
    uint64_t sink = 0;
    for (size_t i = 0; i < n; i++) {
        const char *u = unit_for(wk, i);
        sink += (XXH3_64bits(u, strlen(u)) >> 11) < thr;
    }
    wk->sink += sink;
}

/* Yardstick (c)/(d): plain increments into the variant's own histogram. */
static void loop_floor(struct worker *wk, size_t n)
{
    const uint16_t *tseq = wk->w->tseq;
    for (size_t i = 0; i < n; i++) {
        size_t j = (wk->soff + i) & (NSEQ - 1);
        struct floor_var *v = &g_floor[wk->idx][tseq[j] * 2 + g_arm[j]];
        double x = g_lat[j];
        v->n++;
        v->errors += !g_ok[j];
        v->sum += x;
        v->sumsq += x * x;
        v->min = x < v->min ? x : v->min;
        v->max = x > v->max ? x : v->max;
        v->hist[sl_sketch_index(x)]++;
    }
}

/* Route until both arms of every test are seen: route results for record_route.
 * Run on each worker in turn right after a world is built, which also fixes the
 * order in which the workers claim the engine's reader slots. */
static void loop_take_routes(struct worker *wk, size_t n)
{
    (void)n;
    struct world *w = wk->w;
    uint32_t u = wk->uoff;
    for (int t = 0; t < w->ntests; t++) {
        bool have[2] = {false, false};
        for (int tries = 0; !(have[0] && have[1]); tries++, u = (u + 1) & (NUNITS - 1)) {
            struct sl_route r;
            struct sl_err err;
            if (tries > 1000 || sl_engine_route(w->eng, w->model[t], unit_at(u), &r, &err) ||
                r.kind != SL_KIND_TEST) {
                fprintf(stderr, "bench_core: routing %s does not reach its test\n", w->model[t]);
                exit(1);
            }
            wk->routes[t][r.arm] = r;
            have[r.arm] = true;
        }
    }
}

/* ---- measuring and reporting ------------------------------------------------------- */

static int g_reps = 7;
static size_t g_nops = 2097152;

struct figure {
    double median, min, max;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Time job on the workers in mask (the slower worker's ns/op per rep). */
static struct figure measure(loop_fn job, unsigned mask)
{
    double v[MAXREPS];
    for (int i = 0; i < NWORKERS; i++)
        g_wk[i].fails = 0;
    run_once(job, mask, g_nops / 4); /* warm-up */
    for (int r = 0; r < g_reps; r++) {
        run_once(job, mask, g_nops);
        v[r] = 0;
        for (int i = 0; i < NWORKERS; i++)
            if (mask & (1u << i) && g_wk[i].ns > v[r])
                v[r] = g_wk[i].ns;
    }
    for (int i = 0; i < NWORKERS; i++) {
        g_sink += g_wk[i].sink;
        if (g_wk[i].fails) {
            fprintf(stderr, "bench_core: %llu calls failed on worker %d\n",
                    (unsigned long long)g_wk[i].fails, i);
            exit(1);
        }
    }
    qsort(v, (size_t)g_reps, sizeof v[0], cmp_double);
    return (struct figure){v[g_reps / 2], v[0], v[g_reps - 1]};
}

/* Per-worker figures of a two-worker job (for the shared-shard case). */
static void measure_each(loop_fn job, struct figure out[NWORKERS])
{
    double v[NWORKERS][MAXREPS];
    for (int i = 0; i < NWORKERS; i++)
        g_wk[i].fails = 0;
    run_once(job, 3, g_nops / 4);
    for (int r = 0; r < g_reps; r++) {
        run_once(job, 3, g_nops);
        for (int i = 0; i < NWORKERS; i++)
            v[i][r] = g_wk[i].ns;
    }
    for (int i = 0; i < NWORKERS; i++) {
        if (g_wk[i].fails) {
            fprintf(stderr, "bench_core: calls failed on worker %d\n", i);
            exit(1);
        }
        qsort(v[i], (size_t)g_reps, sizeof v[i][0], cmp_double);
        out[i] = (struct figure){v[i][g_reps / 2], v[i][0], v[i][g_reps - 1]};
    }
}

static void emit(char kind, const char *key, const char *what, int threads, int tests,
                 struct figure f, const char *target, const char *yard)
{
    printf("%c\t%s\t%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%s\t%s\n", kind, key, what, threads, tests,
           f.median, f.min, f.max, target, yard);
    fflush(stdout);
}

static void workers_on(struct world *w0, struct world *w1, bool hot)
{
    g_wk[0].w = w0;
    g_wk[1].w = w1;
    for (int i = 0; i < NWORKERS; i++)
        g_wk[i].hot = hot;
}

/* Attach both workers to w; worker 0 claims reader slot 0, worker 1 slot 1. */
static void world_attach(struct world *w)
{
    workers_on(w, w, false);
    run_once(loop_take_routes, 1, 1);
    run_once(loop_take_routes, 2, 1);
}

static void floor_setup(int ntests)
{
    for (int k = 0; k < NWORKERS; k++) {
        free(g_floor[k]);
        g_floor[k] = calloc((size_t)ntests * 2, sizeof *g_floor[k]);
        if (!g_floor[k])
            exit(1);
        for (int i = 0; i < ntests * 2; i++) {
            g_floor[k][i].min = INFINITY;
            g_floor[k][i].max = -INFINITY;
        }
    }
}

/* Check the engine counted exactly the records the workers say succeeded. */
static void check_counts(struct world *w)
{
    uint64_t want = g_wk[0].ops_ok + g_wk[1].ops_ok, got = world_requests(w);
    if (want != got) {
        fprintf(stderr, "bench_core: recorded %llu, engine counts %llu\n", (unsigned long long)want,
                (unsigned long long)got);
        exit(1);
    }
}

/* Everything single-threaded, on a default engine (shards = 1). */
static void bench_one_thread(int ntests)
{
    struct world *w = world_new(ntests, 1);
    char key[32];
    world_attach(w);
    g_wk[0].ops_ok = g_wk[1].ops_ok = 0;

    floor_setup(ntests);
    workers_on(w, w, false);
    if (ntests == 1) {
        emit('Y', "a", "XXH3_64bits(unit, strlen(unit)) + compare, 1M distinct units", 1, 0,
             measure(loop_xxh3, 1), "-", "-");
        workers_on(w, w, true);
        emit('Y', "b", "XXH3_64bits(unit, strlen(unit)) + compare, 16 hot units", 1, 0,
             measure(loop_xxh3, 1), "-", "-");
        workers_on(w, w, false);
    }
    snprintf(key, sizeof key, "%s", ntests == 1 ? "c" : "d");
    emit('Y', key, "record floor: plain n/err/sum/sumsq/min/max + hist[sl_sketch_index(x)]++", 1,
         ntests, measure(loop_floor, 1), "-", "-");

    emit('R', "route", "route (model id, hash routing), 1M distinct units", 1, ntests,
         measure(loop_route, 1), "25", "a");
    workers_on(w, w, true);
    emit('R', "route-hot", "route (model id, hash routing), 16 hot units", 1, ntests,
         measure(loop_route, 1), "25", "b");
    workers_on(w, w, false);
    emit('R', "record", "record by test id (sl_engine_record)", 1, ntests, measure(loop_record, 1),
         "10", key);
    emit('R', "record-route", "record via sl_engine_record_route", 1, ntests,
         measure(loop_record_route, 1), "10", key);
    emit('R', "request", "one request: route + record_route, 1M units", 1, ntests,
         measure(loop_route_record, 1), "-", "a");
    check_counts(w);

    if (ntests == 1) {
        struct sl_engine_opts o;
        struct figure f;
        char what[128];
        sl_engine_opts_default(&o);
        snprintf(what, sizeof what,
                 "memory per variant, default engine (shards = 1, %d x %g s windows)",
                 o.window_slots, o.window_seconds);
        f.median = f.min = f.max = (double)sl_engine_variant_bytes(w->eng, w->test[0], 0);
        emit('M', "mem1", what, 1, 1, f, "32768", "-");
    }

    /* Two threads on one engine with shards = 1: thread 1 records into the
     * private shard, thread 2 into the shared one with atomic read-modify-writes. */
    struct figure each[NWORKERS];
    measure_each(loop_record, each);
    const char *fl = ntests == 1 ? "f" : "g"; /* the two-thread floor, measured later */
    emit('R', "record-2t-s1-private", "record, shards = 1: thread 1 (private shard)", 2, ntests,
         each[0], "30", fl);
    emit('R', "record-2t-s1-shared", "record, shards = 1: thread 2 (shared atomic shard)", 2,
         ntests, each[1], "30", fl);
    check_counts(w);
    world_delete(w);
}

/* Two threads, shards = 2: each thread owns a private shard. */
static void bench_two_threads(int ntests)
{
    struct world *w = world_new(ntests, 2);
    world_attach(w);
    g_wk[0].ops_ok = g_wk[1].ops_ok = 0;
    floor_setup(ntests);
    if (ntests == 1)
        emit('Y', "e", "XXH3_64bits(unit, strlen(unit)) + compare, 1M units, 2 threads (slower)", 2,
             0, measure(loop_xxh3, 3), "-", "-");
    const char *fl = ntests == 1 ? "f" : "g";
    emit('Y', fl, "record floor, 2 threads, each its own variants (slower)", 2, ntests,
         measure(loop_floor, 3), "-", "-");
    emit('R', "route-2t", "route, shards = 2, 1M distinct units (slower thread)", 2, ntests,
         measure(loop_route, 3), "25", ntests == 1 ? "e,h" : "e");
    emit('R', "record-2t", "record by test id, shards = 2 (slower thread)", 2, ntests,
         measure(loop_record, 3), "30", ntests == 1 ? "f,i" : "g");
    emit('R', "record-route-2t", "record via sl_engine_record_route, shards = 2 (slower thread)", 2,
         ntests, measure(loop_record_route, 3), "30", fl);
    check_counts(w);

    if (ntests == 1) {
        struct figure f;
        f.median = f.min = f.max = (double)sl_engine_variant_bytes(w->eng, w->test[0], 0);
        emit('M', "mem2", "memory per variant, shards = 2", 2, 1, f, "32768", "-");
        /* Control: the same two threads, each on an engine of its own, so no
         * cache line of an engine is written by both. */
        struct world *w2 = world_new(1, 2);
        workers_on(w2, w2, false);
        run_once(loop_take_routes, 2, 1); /* worker 1 becomes reader 0 of w2 */
        workers_on(w, w2, false);
        emit('Y', "h",
             "sluice route, 2 threads on two separate engines (nothing written is shared)", 2, 1,
             measure(loop_route, 3), "-", "-");
        emit('Y', "i",
             "sluice record, 2 threads on two separate engines (nothing written is shared)", 2, 1,
             measure(loop_record, 3), "-", "-");
        world_delete(w2);
    }
    world_delete(w);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_reps = atoi(argv[1]);
    if (argc > 2)
        g_nops = (size_t)strtoull(argv[2], NULL, 10);
    if (g_reps < 1 || g_reps > MAXREPS || g_nops < 1000) {
        fprintf(stderr, "usage: bench_core [reps (1..%d) [ops-per-rep (>= 1000)]]\n", MAXREPS);
        return 2;
    }
    inputs_make();
    pthread_barrier_init(&g_start, NULL, NWORKERS + 1);
    pthread_barrier_init(&g_done, NULL, NWORKERS + 1);
    for (int i = 0; i < NWORKERS; i++) {
        g_wk[i].idx = i;
        g_wk[i].uoff = i * (NUNITS / 2);
        g_wk[i].soff = i * (NSEQ / 2);
        if (pthread_create(&g_wk[i].th, NULL, worker_main, &g_wk[i])) {
            fprintf(stderr, "bench_core: pthread_create: %s\n", strerror(errno));
            return 1;
        }
    }
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    printf("#\treps=%d ops_per_rep=%zu units=%u hot=%d\n", g_reps, g_nops, NUNITS, NHOT);
    printf("#\twindows\t%d\t%g\n", o.window_slots, o.window_seconds);
    bench_one_thread(1);
    bench_one_thread(MAXTESTS);
    bench_two_threads(1);
    bench_two_threads(MAXTESTS);

    g_quit = true;
    pthread_barrier_wait(&g_start);
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(g_wk[i].th, NULL);
    for (int i = 0; i < NWORKERS; i++)
        free(g_floor[i]);
    free(g_units);
    return 0; /* g_sink is volatile: the loops' results cannot be optimised away */
}
