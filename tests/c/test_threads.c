/* test_threads.c - route and record from two threads while the writer works.
 *
 * Two threads each route + record N times into one running test while the
 * main (writer) thread ticks, changes the allocation and pauses/resumes it in
 * a loop, publishing and retiring a routing snapshot at every step. Proves no
 * record is lost or double-counted (merged requests == 2N, errors and custom
 * sums exact, cumulative and over windows), once with two private shards and
 * once with one, so the second thread goes through the shared atomic shard;
 * and that retired snapshots are all freed once the threads detach. Two
 * regression tests pin reclamation bugs, since fixed (reader slots never reused, retired
 * cells freed one generation early). Meant to be run under ThreadSanitizer
 * too (-DSLUICE_SANITIZE=thread). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "sluice.h"
#include "tap.h"

#define N        200000L
#define NTHREADS 2

static double now_s; /* read and written by the writer thread only */

static double test_clock(void *ud)
{
    (void)ud;
    return now_s;
}

struct worker {
    pthread_t tid;
    struct sl_engine *eng;
    int idx;
    int metric;                 /* index of the custom metric "score" */
    long failures;              /* route or record calls that failed */
    long errors;                /* records with ok = false */
    long arms[2];               /* records per arm */
    double score;               /* sum of the custom samples recorded */
    const struct sl_cell *cell; /* of the last route, for the shard check */
    atomic_int *finished;
};

/* Route a unit by model id, then record: odd iterations through the route's
 * cell, even ones by test id and arm. */
static void *worker_main(void *p)
{
    struct worker *w = p;
    char unit[32];
    /* Looked up here, not by the writer: any hot-path call claims a reader
     * slot and the first `shards` claimants own the private shards. */
    w->metric = sl_engine_metric_index(w->eng, "thr", "score");
    for (long i = 0; i < N; i++) {
        snprintf(unit, sizeof unit, "w%d-u%ld", w->idx, i % 5000);
        struct sl_route r;
        if (sl_engine_route(w->eng, "m-thr", unit, &r, NULL) || r.kind != SL_KIND_TEST) {
            w->failures++;
            continue;
        }
        bool good = i % 13 != 0;
        struct sl_sample s = {w->metric, (double)(i % 10)};
        double latency = 1 + (double)(i % 1000) / 10;
        int rc = i & 1 ? sl_engine_record_route(w->eng, &r, good, latency, &s, 1, NULL)
                       : sl_engine_record(w->eng, r.id, r.arm, good, latency, &s, 1, NULL);
        if (rc) {
            w->failures++;
            continue;
        }
        w->errors += !good;
        w->arms[r.arm]++;
        w->score += s.value;
        w->cell = r.cell;
    }
    sl_engine_thread_detach(w->eng);
    atomic_fetch_add(w->finished, 1);
    return NULL;
}

static struct sl_engine *setup(int shards, int history)
{
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.clock = test_clock;
    o.clock_ud = &now_s;
    o.shards = shards;
    o.history = history;
    o.window_seconds = 10;
    o.window_slots = 600; /* 6000 s: the whole run stays inside one window */
    now_s = 1000;
    struct sl_engine *e = sl_engine_new(&o, NULL);
    static const char *const metrics[] = {"score"};
    struct sl_version_config v1 = {.model = "m-thr", .version = "v1"};
    struct sl_version_config v2 = {.model = "m-thr", .version = "v2"};
    struct sl_test_config c = {.id = "thr",
                               .name = "threads",
                               .model = "m-thr",
                               .control_version = "v1",
                               .treatment_version = "v2",
                               .success_metrics = metrics,
                               .nsuccess = 1};
    if (!e || sl_engine_add_version(e, &v1, NULL) || sl_engine_add_version(e, &v2, NULL) ||
        sl_engine_create_test(e, &c, NULL, NULL) ||
        sl_engine_act(e, "thr", SL_VERB_START, NULL, NULL, NULL)) {
        sl_engine_delete(e);
        return NULL;
    }
    return e;
}

/* The writer's loop: tick, move the allocation, pause or resume. Returns
 * how many writer calls failed. */
static long writer_loop(struct sl_engine *e, atomic_int *finished, long *steps)
{
    static const double pcts[] = {10, 50, 90, 25, 75, 0, 100};
    long failed = 0, k = 0;
    bool paused = false;
    struct timespec pause_ns = {0, 50000};
    while (atomic_load(finished) < NTHREADS) {
        if (now_s < 5000)
            now_s += 0.5;
        failed += sl_engine_tick(e, NULL) != 0;
        failed += sl_engine_set_allocation(e, "thr", pcts[k % 7], "writer", NULL, NULL) != 0;
        if (k % 3 == 0) {
            failed += sl_engine_act(e, "thr", paused ? SL_VERB_RESUME : SL_VERB_PAUSE, "writer",
                                    NULL, NULL) != 0;
            paused = !paused;
        }
        k++;
        nanosleep(&pause_ns, NULL);
    }
    *steps = k;
    return failed;
}

/* Records in the shared (atomic) shard of both arms of a cell. */
static uint64_t shared_shard_records(const struct sl_cell *c)
{
    uint64_t n = 0;
    for (int a = 0; a < 2; a++) {
        const struct sl_mvar *v = c->var[a];
        n += atomic_load(&v->shards[v->nshards - 1]->n);
    }
    return n;
}

static void run(int shards)
{
    struct sl_engine *e = setup(shards, 100);
    if (!ok(e != NULL, "shards=%d: engine and running test set up", shards))
        return;
    atomic_int finished = 0;
    struct worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){.eng = e, .idx = i, .finished = &finished};
        pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
    }
    long steps = 0, wfailed = writer_loop(e, &finished, &steps);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(w[i].tid, NULL);
    now_s += 0.5;
    sl_engine_tick(e, NULL);

    long failures = 0, errors = 0, arms[2] = {0, 0};
    double score = 0;
    for (int i = 0; i < NTHREADS; i++) {
        failures += w[i].failures;
        errors += w[i].errors;
        arms[0] += w[i].arms[0];
        arms[1] += w[i].arms[1];
        score += w[i].score;
    }
    tap_diag("shards=%d: %ld writer steps; control %ld, treatment %ld records", shards, steps,
             arms[0], arms[1]);
    is_int(wfailed, 0, "every tick, allocation change, pause and resume succeeded");
    is_int(failures, 0, "every route and record on both threads succeeded");
    ok(steps > 10 && arms[0] > 0 && arms[1] > 0,
       "shards=%d: the writer changed state while both arms were being recorded", shards);

    struct sl_variant_metrics m[2], win[2];
    for (int a = 0; a < 2; a++) {
        sl_engine_metrics(e, "thr", a, 0, &m[a], NULL);
        sl_engine_metrics(e, "thr", a, 6000, &win[a], NULL);
    }
    char what[128];
    snprintf(what, sizeof what, "shards=%d: merged request count is exactly 2N", shards);
    is_int((long long)(m[0].requests + m[1].requests), 2 * N, what);
    ok(m[0].requests == (uint64_t)arms[0] && m[1].requests == (uint64_t)arms[1],
       "shards=%d: each arm counts exactly the records the threads made to it", shards);
    snprintf(what, sizeof what, "shards=%d: merged error count is exactly as recorded", shards);
    is_int((long long)(m[0].errors + m[1].errors), errors, what);
    ok(m[0].metrics[0].count + m[1].metrics[0].count == 2 * N &&
           m[0].metrics[0].sum + m[1].metrics[0].sum == score,
       "shards=%d: the custom metric's count and (integer) sum are exact", shards);
    ok(win[0].requests + win[1].requests == 2 * N &&
           win[0].errors + win[1].errors == (uint64_t)errors,
       "shards=%d: the rolling windows hold exactly the same requests and errors", shards);

    const struct sl_cell *cell = w[0].cell ? w[0].cell : w[1].cell;
    uint64_t shared = cell ? shared_shard_records(cell) : 0;
    tap_diag("shards=%d: %llu records went through the shared atomic shard", shards,
             (unsigned long long)shared);
    if (shards >= NTHREADS)
        ok(cell && shared == 0, "shards=%d: each thread recorded into its own private shard",
           shards);
    else
        ok(shared > 0, "shards=%d: the thread beyond the private shards used the shared shard",
           shards);

    sl_engine_tick(e, NULL);
    ok(e->router.retired == NULL,
       "shards=%d: once both threads detached, a tick frees every retired snapshot", shards);
    sl_engine_delete(e);
}

/* One short-lived thread: route once, then detach as the header asks. */
static void *route_once(void *p)
{
    struct sl_engine *e = p;
    struct sl_route r;
    static atomic_int failed;
    if (sl_engine_route(e, "m-thr", "u", &r, NULL))
        atomic_fetch_add(&failed, 1);
    sl_engine_thread_detach(e);
    return &failed;
}

/* Bug: router.c sl_router_claim always takes a fresh reader index and
 * sl_router_detach never gives it back, so after SL_MAX_READERS (256)
 * thread lifetimes the router marks itself untracked and sl_router_reclaim
 * frees nothing ever again: a daemon with a churning thread pool leaks every
 * later snapshot. */
static void test_bug_reader_slots_never_reused(void)
{
    struct sl_engine *e = setup(1, 100);
    if (!ok(e != NULL, "engine for the thread-churn check set up"))
        return;
    atomic_int *failed = NULL;
    for (int i = 0; i < SL_MAX_READERS + 44; i++) {
        pthread_t t;
        void *ret = NULL;
        pthread_create(&t, NULL, route_once, e);
        pthread_join(t, &ret);
        failed = ret;
    }
    is_int(failed ? atomic_load(failed) : -1, 0, "every short-lived thread routed");
    sl_engine_set_allocation(e, "thr", 30, "writer", NULL, NULL); /* retires a snapshot */
    sl_engine_tick(e, NULL);
    ok(e->router.retired == NULL,
       "reader_slots_never_reused: after %d detached routing threads a tick still frees "
       "retired snapshots",
       SL_MAX_READERS + 44);
    sl_engine_delete(e);
}

/* Bug: router.c sl_router_retire stamps an item with the generation still
 * published (r->gen), and sl_router_reclaim frees it once every reader has
 * reported that generation - which a reader also does when it is about to use
 * (or is using) that very snapshot again. So the cell sl_history_evict retires
 * is freed at the next tick while the published-then snapshot and this
 * thread's route result still point at it. Under load TSan reports it as
 * heap-use-after-free in sl_mvar_record (metrics.c). sl_router_publish stamps
 * the snapshot it replaces with the new generation; retire must likewise
 * stamp r->gen + 1. */
static void test_bug_retired_cell_freed_too_early(void)
{
    struct sl_engine *e = setup(1, 0); /* history 0: a finished test is evicted at once */
    struct sl_route r;
    if (!ok(e && sl_engine_route(e, "m-thr", "u1", &r, NULL) == 0 && r.cell,
            "engine for the retirement check routes to its test"))
        return;
    sl_engine_act(e, "thr", SL_VERB_STOP, "writer", NULL, NULL); /* archive + evict */
    sl_engine_tick(e, NULL);
    ok(e->router.retired != NULL, /* the evicted test, and with it its cell */
       "retired_cell_freed_too_early: the evicted test's cell outlives a tick while this "
       "thread's last route still holds it");
    sl_engine_thread_detach(e);
    sl_engine_tick(e, NULL);
    ok(e->router.retired == NULL, "after this thread detaches, the next tick frees it");
    sl_engine_delete(e);
}

int main(void)
{
    run(2);
    run(1);
    test_bug_reader_slots_never_reused();
    test_bug_retired_cell_freed_too_early();
    return tap_done();
}
