/* test_analysis.c - the statistics the engine keeps per test: error-rate and
 * latency comparisons, the sequential always-valid p fed once per tick, power
 * and remaining sample, and a sample-ratio check that stays quiet while the
 * ramp moves but catches a real mismatch. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sluice.h"
#include "tap.h"

static double now_s;
static double test_clock(void *ud)
{
    (void)ud;
    return now_s;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double uniform(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53;
}

static double normal(double mean, double sd)
{
    double u1 = 1 - uniform(), u2 = uniform();
    return mean + sd * sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static struct sl_engine *setup(char *id, const struct sl_ramp_step *ramp, size_t nramp, double mes)
{
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.clock = test_clock;
    now_s = 0;
    struct sl_engine *e = sl_engine_new(&o, NULL);
    struct sl_version_config v1 = {.model = "m", .version = "v1"};
    struct sl_version_config v2 = {.model = "m", .version = "v2"};
    sl_engine_add_version(e, &v1, NULL);
    sl_engine_add_version(e, &v2, NULL);
    static const char *metrics[] = {"revenue"};
    struct sl_test_config c = {.name = "t",
                               .model = "m",
                               .control_version = "v1",
                               .treatment_version = "v2",
                               .ramp = ramp,
                               .nramp = nramp,
                               .success_metrics = metrics,
                               .nsuccess = 1,
                               .minimum_effect_size = mes};
    sl_engine_create_test(e, &c, id, NULL);
    sl_engine_act(e, id, SL_VERB_START, "test", NULL, NULL);
    return e;
}

/* Route n fresh units through the model and record per arm: errors with
 * probability err[arm], revenue ~ N(rev[arm], 1). */
static void traffic(struct sl_engine *e, const char *id, int n, const double err[2],
                    const double rev[2])
{
    static int unit;
    char u[32];
    for (int i = 0; i < n; i++) {
        struct sl_route r;
        snprintf(u, sizeof u, "user-%d", unit++);
        sl_engine_route(e, "m", u, &r, NULL);
        if (r.kind != SL_KIND_TEST)
            continue;
        struct sl_sample s = {.metric = 0, .value = normal(rev[r.arm], 1)};
        sl_engine_record(e, id, r.arm, uniform() >= err[r.arm], 20 + 5 * uniform(), &s, 1, NULL);
    }
}

static void check_srm_through_a_ramp(void)
{
    char id[SL_ID_MAX + 1];
    struct sl_ramp_step ramp[] = {{0, 10, -1}, {1, 30, -1}, {2, 50, -1}};
    struct sl_engine *e = setup(id, ramp, 3, 0);
    const double err[2] = {0.01, 0.01}, rev[2] = {1, 1};
    for (int h = 0; h < 3; h++) {
        for (int k = 0; k < 6; k++) {
            traffic(e, id, 2000, err, rev);
            now_s += 600;
            sl_engine_tick(e, NULL);
        }
    }
    struct sl_test_stats st;
    sl_engine_test_stats(e, id, &st, NULL);
    struct sl_variant_metrics a, b;
    sl_engine_metrics(e, id, 0, 0, &a, NULL);
    sl_engine_metrics(e, id, 1, 0, &b, NULL);
    double expected = (10 + 30 + 50) / 300.0;
    tap_diag("observed treatment share %.4f, expected %.4f, srm p %.3g",
             (double)b.requests / (double)(a.requests + b.requests), st.expected_treatment_share,
             st.srm_p);
    near(st.expected_treatment_share, expected, 0.02, "expected share follows the ramp");
    ok(st.srm_p > 0.001, "a ramp that moved 10->30->50%% shows no sample-ratio mismatch");
    sl_engine_delete(e);
}

static void check_srm_catches_a_mismatch(void)
{
    char id[SL_ID_MAX + 1];
    struct sl_engine *e = setup(id, NULL, 0, 0); /* 50/50 */
    for (int i = 0; i < 6000; i++)               /* a broken client logs treatment 1.5x as often */
        sl_engine_record(e, id, i % 5 < 3 ? 1 : 0, true, 10, NULL, 0, NULL);
    sl_engine_tick(e, NULL);
    struct sl_test_stats st;
    sl_engine_test_stats(e, id, &st, NULL);
    ok(st.srm_p < 1e-6, "a 60/40 split under a 50/50 allocation is a mismatch (p %.3g)", st.srm_p);
    sl_engine_delete(e);
}

static void check_effect_detected(void)
{
    char id[SL_ID_MAX + 1];
    struct sl_engine *e = setup(id, NULL, 0, 0.1);
    const double err[2] = {0.02, 0.05}, rev[2] = {1.0, 1.15};
    for (int k = 0; k < 20; k++) {
        traffic(e, id, 1000, err, rev);
        now_s += 60;
        sl_engine_tick(e, NULL);
    }
    struct sl_test_stats st;
    sl_engine_test_stats(e, id, &st, NULL);
    const struct sl_metric_analysis *m = &st.metrics[0];
    tap_diag("revenue diff %.4f [%.4f, %.4f] p %.3g seq p %.3g [%.4f, %.4f] looks %llu", m->diff,
             m->ci_low, m->ci_high, m->p, m->seq_p, m->seq_ci_low, m->seq_ci_high,
             (unsigned long long)m->looks);
    ok(m->valid && m->diff > 0.1 && m->diff < 0.2, "revenue lift estimated near 0.15");
    ok(m->seq_p < 0.01 && m->seq_ci_low > 0, "the always-valid test detects the lift");
    is_int((long long)m->looks, 20, "one sequential look per tick");
    ok(m->power > 0.99 && m->needed == 0, "power for the 0.1 effect is reached (%.3f)", m->power);
    const struct sl_metric_analysis *er = &st.error_rate;
    ok(er->valid && er->mean2 > er->mean1 && er->p < 0.001 && er->seq_p < 0.05,
       "the error-rate increase is significant (%.4f vs %.4f)", er->mean2, er->mean1);
    is_str(st.latency.name, "latency", "latency is analysed too");
    ok(st.latency.valid && st.latency.p > 0.001, "equal latencies are not significant (p %.3g)",
       st.latency.p);
    sl_engine_delete(e);
}

static void check_no_effect_no_alarm(void)
{
    char id[SL_ID_MAX + 1];
    struct sl_engine *e = setup(id, NULL, 0, 0.02);
    const double err[2] = {0.02, 0.02}, rev[2] = {1.0, 1.0};
    for (int k = 0; k < 30; k++) {
        traffic(e, id, 500, err, rev);
        now_s += 60;
        sl_engine_tick(e, NULL);
    }
    struct sl_test_stats st;
    sl_engine_test_stats(e, id, &st, NULL);
    const struct sl_metric_analysis *m = &st.metrics[0];
    ok(m->seq_p > 0.05 && m->seq_ci_low < 0 && m->seq_ci_high > 0,
       "an A/A test peeked at 30 times stays inconclusive (seq p %.3g)", m->seq_p);
    ok(m->needed > 0, "and more sample is still needed for a 0.02 effect (%.0f more per arm)",
       m->needed);
    struct sl_err errs;
    ok(sl_engine_test_stats(e, "nope", &st, &errs) == -1 && errs.code == SL_ENOTFOUND,
       "unknown test: not found");
    sl_engine_delete(e);
}

int main(void)
{
    check_srm_through_a_ramp();
    check_srm_catches_a_mismatch();
    check_effect_detected();
    check_no_effect_no_alarm();
    return tap_done();
}
