/* test_persist.c - save an engine's tests, canaries and metrics, restore them
 * into a fresh engine, and get the same routing, metrics, statistics and
 * state back; damaged or mismatched checkpoints are refused and change
 * nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "sketch.h"
#include "sluice.h"
#include "tap.h"

static double now_s;
static double test_clock(void *ud)
{
    (void)ud;
    return now_s;
}

static struct sl_engine *new_engine(void)
{
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.clock = test_clock;
    struct sl_engine *e = sl_engine_new(&o, NULL);
    const char *versions[] = {"v1", "v2", "v3"};
    for (int i = 0; i < 3; i++) {
        struct sl_version_config v = {.model = "m", .version = versions[i]};
        sl_engine_add_version(e, &v, NULL);
        v.model = "k";
        sl_engine_add_version(e, &v, NULL);
    }
    return e;
}

static void *save_arm(struct sl_engine *e, const char *id, int arm, size_t *len)
{
    *len = sl_engine_save_metrics(e, id, arm, NULL, 0, NULL);
    void *buf = malloc(*len);
    size_t again = sl_engine_save_metrics(e, id, arm, buf, *len, NULL);
    return again == *len ? buf : NULL;
}

static void traffic(struct sl_engine *e, const char *key, const char *id, int n, int seed)
{
    char unit[32];
    for (int i = 0; i < n; i++) {
        struct sl_route r;
        snprintf(unit, sizeof unit, "u%d-%d", seed, i);
        if (sl_engine_route(e, key, unit, &r, NULL) || r.arm < 0)
            continue;
        struct sl_sample s = {0, (double)(i % 3)};
        sl_engine_record(e, id, r.arm, i % 17 != 0, 5.0 + (i % 50) * (r.arm ? 1.2 : 1.0), &s, 1,
                         NULL);
    }
}

int main(void)
{
    now_s = 1000;
    struct sl_engine *a = new_engine();
    static const char *metrics[] = {"clicks"};
    struct sl_ramp_step ramp[] = {{0, 20, -1}, {1, 40, -1}};
    struct sl_test_config c = {.id = "t1",
                               .name = "t",
                               .model = "m",
                               .control_version = "v1",
                               .treatment_version = "v2",
                               .ramp = ramp,
                               .nramp = 2,
                               .success_metrics = metrics,
                               .nsuccess = 1};
    sl_engine_create_test(a, &c, NULL, NULL);
    sl_engine_act(a, "t1", SL_VERB_START, "u", NULL, NULL);
    struct sl_canary_config kc = {.id = "c1", .name = "c", .model = "k", .canary = "v2"};
    sl_engine_create_canary(a, &kc, NULL, NULL);
    sl_engine_act(a, "c1", SL_VERB_START, "u", NULL, NULL);
    for (int k = 0; k < 10; k++) {
        traffic(a, "m", "t1", 2000, k);
        traffic(a, "k", "c1", 500, k);
        now_s += 600;
        sl_engine_tick(a, NULL);
    }
    traffic(a, "m", "t1", 300, 99); /* recorded after the last tick: in no window yet */

    /* save */
    struct sl_test_state ts;
    struct sl_test_info ti;
    sl_engine_test(a, "t1", &ti, NULL);
    ok(sl_engine_test_state(a, "t1", &ts, NULL) == 0, "test state exported");
    size_t len0, len1, lenk;
    void *m0 = save_arm(a, "t1", 0, &len0), *m1 = save_arm(a, "t1", 1, &len1);
    void *k1 = save_arm(a, "c1", 1, &lenk);
    ok(m0 && m1 && k1, "metrics checkpoints written (%zu bytes per arm)", len0);
    struct sl_canary_state ks;
    struct sl_canary_info ki;
    sl_engine_canary(a, "c1", &ki, NULL);
    sl_engine_canary_state(a, "c1", &ks, NULL);

    /* restore into a fresh engine */
    struct sl_engine *b = new_engine();
    struct sl_err err;
    ok(sl_engine_restore_test(b, ti.config, &ts, &err) == 0, "test restored (%s)",
       err.code ? err.msg : "ok");
    ok(sl_engine_load_metrics(b, "t1", 0, m0, len0, &err) == 0 &&
           sl_engine_load_metrics(b, "t1", 1, m1, len1, &err) == 0,
       "metrics restored");
    ok(sl_engine_restore_canary(b, ki.config, &ks, &err) == 0 &&
           sl_engine_load_metrics(b, "c1", 1, k1, lenk, &err) == 0,
       "canary restored");

    struct sl_test_info tb;
    sl_engine_test(b, "t1", &tb, NULL);
    ok(tb.status == SL_TEST_RUNNING && tb.treatment_pct == ti.treatment_pct &&
           tb.nalloc_history == ti.nalloc_history && tb.ramp_step == ti.ramp_step,
       "status, allocation and its history are back");
    struct sl_model_info mi;
    sl_engine_model(b, "m", &mi, NULL);
    is_str(mi.claimed_by, "t1", "the restored test claims its model again");
    bool same = true;
    for (int i = 0; i < 2000; i++) {
        char unit[32];
        struct sl_route ra, rb;
        snprintf(unit, sizeof unit, "x%d", i);
        sl_engine_route(a, "m", unit, &ra, NULL);
        sl_engine_route(b, "m", unit, &rb, NULL);
        same &= ra.arm == rb.arm;
    }
    ok(same, "every unit routes to the same arm after the restore");
    for (int arm = 0; arm < 2; arm++) {
        struct sl_variant_metrics x, y;
        sl_engine_metrics(a, "t1", arm, 0, &x, NULL);
        sl_engine_metrics(b, "t1", arm, 0, &y, NULL);
        ok(x.requests == y.requests && x.errors == y.errors &&
               x.quantiles[SL_Q99] == y.quantiles[SL_Q99] && x.metrics[0].sum == y.metrics[0].sum,
           "arm %d: counters, quantiles and custom metrics are back", arm);
        near(y.latency_var, x.latency_var, 1e-9, "latency variance is back");
        sl_engine_metrics(a, "t1", arm, 1800, &x, NULL);
        sl_engine_metrics(b, "t1", arm, 1800, &y, NULL);
        ok(x.requests == y.requests, "arm %d: the last 30 minutes are back (%llu)", arm,
           (unsigned long long)y.requests);
    }
    struct sl_test_stats sa, sb;
    sl_engine_test_stats(a, "t1", &sa, NULL);
    sl_engine_test_stats(b, "t1", &sb, NULL);
    ok(sa.metrics[0].seq_p == sb.metrics[0].seq_p && sa.metrics[0].looks == sb.metrics[0].looks &&
           fabs(sa.srm_p - sb.srm_p) < 1e-12,
       "sequential trackers and SRM bookkeeping are back");
    sl_engine_canary(b, "c1", &ki, NULL);
    ok(ki.status == SL_CANARY_MONITORING && ki.traffic_pct == 10 && ki.nchecks == ks.nchecks,
       "the canary monitors again with its traffic and health checks");

    /* the restored engine carries on */
    traffic(b, "m", "t1", 1000, 7);
    now_s += 3600;
    ok(sl_engine_tick(b, NULL) == 0, "the restored engine ticks");
    sl_engine_test(b, "t1", &tb, NULL);
    ok(tb.running_seconds > ti.running_seconds, "and keeps counting running time");

    /* damage */
    struct sl_variant_metrics before, after;
    sl_engine_metrics(b, "t1", 0, 0, &before, NULL);
    unsigned char *bad = malloc(len0);
    memcpy(bad, m0, len0);
    bad[len0 / 2] ^= 0x40;
    ok(sl_engine_load_metrics(b, "t1", 0, bad, len0, &err) == -1 && strstr(err.msg, "checksum"),
       "a corrupted checkpoint is refused (%s)", err.msg);
    ok(sl_engine_load_metrics(b, "t1", 0, m0, len0 - 9, &err) == -1,
       "a truncated checkpoint is refused");
    ok(sl_engine_load_metrics(b, "c1", 1, m0, len0, &err) == -1 && strstr(err.msg, "shape"),
       "a checkpoint of another shape (metrics declared) is refused");
    /* a good checksum over impossible figures (a crafted checkpoint: found by
     * fuzzing, a negative window count was later cast to an integer): the
     * last 24 bytes before the checksum are the last window slot's
     * {count, sum, sumsq} of the last metric */
    memcpy(bad, m0, len0);
    double neg = -27336.3;
    memcpy(bad + len0 - 8 - 24, &neg, sizeof neg);
    uint64_t sum = XXH3_64bits(bad, len0 - 8);
    memcpy(bad + len0 - 8, &sum, sizeof sum);
    ok(sl_engine_load_metrics(b, "t1", 0, bad, len0, &err) == -1 && strstr(err.msg, "out of range"),
       "a checksummed checkpoint with a negative window count is refused (%s)", err.msg);
    /* a count in a latency bucket beyond the recorded maximum: readers scan
     * only the buckets between the extremes, so it could never be read back
     * consistently (the histogram follows a 40-byte header and six totals) */
    memcpy(bad, m0, len0);
    uint64_t one = 1;
    memcpy(bad + 40 + 6 * 8 + (SL_SKETCH_NB - 1) * 8, &one, sizeof one);
    sum = XXH3_64bits(bad, len0 - 8);
    memcpy(bad + len0 - 8, &sum, sizeof sum);
    ok(sl_engine_load_metrics(b, "t1", 0, bad, len0, &err) == -1 &&
           strstr(err.msg, "outside the recorded extremes"),
       "a checksummed checkpoint with latencies beyond its maximum is refused (%s)", err.msg);
    sl_engine_metrics(b, "t1", 0, 0, &after, NULL);
    ok(before.requests == after.requests, "refused checkpoints changed nothing");
    struct sl_variant_metrics win;
    ok(sl_engine_metrics(b, "t1", 0, 3600, &win, NULL) == 0 && win.metrics[0].count < 1000000,
       "and windowed reads still work (clicks %llu)", (unsigned long long)win.metrics[0].count);
    ok(sl_engine_restore_test(b, ti.config, &ts, &err) == -1 && err.code == SL_EEXIST,
       "restoring an id twice is refused");
    struct sl_test_state weird = ts;
    weird.status = SL_TEST_COMPLETED; /* completed but not in history */
    struct sl_test_config c2 = *ti.config;
    c2.id = "t2";
    ok(sl_engine_restore_test(b, &c2, &weird, &err) == -1 && err.code == SL_EINVAL,
       "an inconsistent state is refused (%s)", err.msg);
    free(bad);
    free(m0);
    free(m1);
    free(k1);
    sl_engine_delete(a);
    sl_engine_delete(b);
    return tap_done();
}
