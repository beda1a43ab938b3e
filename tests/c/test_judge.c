/* test_judge.c - how the tick applies judgement from an evaluator: guard
 * priority, the ramp holding while a guard fires, shadow decisions, auto flags
 * on recommendations, canary promotion/rollback, bad decisions, host failures.
 * The evaluator here is a scripted C fake: what it returns per hook is set by
 * each check. */
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

struct script {
    struct sl_decision d[SL_NHOOKS][4];
    size_t n[SL_NHOOKS];
    int configured[SL_NHOOKS];
    int calls[SL_NHOOKS];
    bool fail_host;
};

static int fake_evaluate(void *ud, struct sl_engine *eng, int kind, const char *id, int hook,
                         struct sl_decision *out, size_t max, size_t *nout, struct sl_err *err)
{
    (void)eng;
    (void)kind;
    (void)id;
    struct script *s = ud;
    s->calls[hook]++;
    if (s->fail_host)
        return sl_err_set(err, SL_EINTERNAL, "host broke");
    *nout = s->n[hook] < max ? s->n[hook] : max;
    memcpy(out, s->d[hook], *nout * sizeof *out);
    return s->configured[hook];
}

static struct sl_decision decide(int action, const char *policy, const char *reason)
{
    struct sl_decision d = {.action = action, .treatment = NAN};
    snprintf(d.policy, sizeof d.policy, "%s", policy);
    snprintf(d.version, sizeof d.version, "1");
    snprintf(d.reason, sizeof d.reason, "%s", reason);
    return d;
}

static void add(struct script *s, int hook, struct sl_decision d)
{
    s->d[hook][s->n[hook]++] = d;
    if (s->configured[hook] < (int)s->n[hook])
        s->configured[hook] = (int)s->n[hook];
}

static bool auto_rollback; /* for the next setup() */

static struct sl_engine *setup(struct script *s, char *id, bool auto_promote)
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
    struct sl_ramp_step ramp[] = {{0, 10, -1}, {1, 50, -1}};
    struct sl_test_config c = {.name = "t",
                               .model = "m",
                               .control_version = "v1",
                               .treatment_version = "v2",
                               .ramp = ramp,
                               .nramp = 2,
                               .auto_promote = auto_promote};
    c.auto_rollback = auto_rollback;
    sl_engine_create_test(e, &c, id, NULL);
    sl_engine_act(e, id, SL_VERB_START, "test", NULL, NULL);
    struct sl_evaluator ev = {.ud = s, .evaluate = fake_evaluate};
    sl_engine_set_evaluator(e, &ev);
    return e;
}

static const struct sl_event *last_event(struct sl_engine *e, int kind)
{
    const struct sl_event *evs[512];
    size_t n = sl_engine_events(e, 0, evs, 512);
    for (size_t i = n; i-- > 0;)
        if (evs[i]->kind == kind)
            return evs[i];
    return NULL;
}

static void check_guard_priority(void)
{
    struct script s = {0};
    char id[SL_ID_MAX + 1];
    struct sl_engine *e = setup(&s, id, false);
    add(&s, SL_HOOK_GUARD, decide(SL_DECIDE_ALERT, "latency", "p99 high"));
    add(&s, SL_HOOK_GUARD, decide(SL_DECIDE_PAUSE, "errors", "error rate 3%"));
    add(&s, SL_HOOK_GUARD, decide(SL_DECIDE_ROLLBACK, "srm", "sample ratio mismatch"));
    sl_engine_tick(e, NULL);
    struct sl_test_info t;
    sl_engine_test(e, id, &t, NULL);
    is_str(sl_test_status_name(t.status), "rolled_back", "rollback beats pause beats alert");
    const struct sl_event *ev = last_event(e, SL_EVENT_DECISION);
    ok(ev && strcmp(ev->action, "rollback") == 0 && strcmp(ev->actor, "policy:srm") == 0 &&
           strstr(ev->detail, "\"policy\":\"srm\"") && strstr(ev->detail, "\"hook\":\"guard\""),
       "the applied decision is an event naming policy, hook and reason");
    const struct sl_event *evs[64];
    size_t n = sl_engine_events(e, 0, evs, 64);
    bool overridden = false;
    for (size_t i = 0; i < n; i++)
        overridden |= strcmp(evs[i]->action, "pause/overridden") == 0;
    ok(overridden, "the weaker pause is logged as overridden, not applied");
    is_int(s.calls[SL_HOOK_RAMP], 0, "no ramp evaluation once the test is finished");
    sl_engine_delete(e);
}

static size_t count_decisions(struct sl_engine *e, const char *action)
{
    const struct sl_event *evs[256];
    size_t n = sl_engine_events(e, 0, evs, 256), k = 0;
    for (size_t i = 0; i < n; i++)
        k += evs[i]->kind == SL_EVENT_DECISION && strcmp(evs[i]->action, action) == 0;
    return k;
}

/* A paused test whose pausing guard keeps firing: the repeated pause changes
 * nothing and is not logged; neither is the alert it beats (it was logged as
 * overridden every tick). */
static void check_repeated_guard_is_quiet(void)
{
    struct script s = {0};
    char id[SL_ID_MAX + 1];
    struct sl_engine *e = setup(&s, id, false);
    add(&s, SL_HOOK_GUARD, decide(SL_DECIDE_ALERT, "latency", "p99 high"));
    add(&s, SL_HOOK_GUARD, decide(SL_DECIDE_PAUSE, "errors", "error rate 3%"));
    for (int i = 0; i < 5; i++) {
        now_s += 60;
        sl_engine_tick(e, NULL);
    }
    struct sl_test_info t;
    sl_engine_test(e, id, &t, NULL);
    is_str(sl_test_status_name(t.status), "paused", "the guard paused the test");
    is_int((long long)count_decisions(e, "pause"), 1, "the pause is logged once, not every tick");
    is_int((long long)count_decisions(e, "alert/overridden"), 1,
           "the alert it beat is logged once, with it, not every tick");
    sl_engine_delete(e);
}

static void check_ramp_holds_while_guard_fires(void)
{
    struct script s = {0};
    char id[SL_ID_MAX + 1];
    struct sl_engine *e = setup(&s, id, false);
    add(&s, SL_HOOK_GUARD, decide(SL_DECIDE_ALERT, "latency", "p99 above 250 ms"));
    now_s = 2 * 3600;
    sl_engine_tick(e, NULL);
    struct sl_test_info t;
    sl_engine_test(e, id, &t, NULL);
    ok(t.treatment_pct == 10 && t.status == SL_TEST_RUNNING,
       "the built-in schedule holds at 10%% while a guard fires");
    s.n[SL_HOOK_GUARD] = 0;
    sl_engine_tick(e, NULL);
    sl_engine_test(e, id, &t, NULL);
    ok(t.treatment_pct == 50, "the ramp advances once the guard is quiet");

    struct sl_decision r = decide(SL_DECIDE_SET_TRAFFIC, "linear", "step 3 of 5");
    r.treatment = 30;
    add(&s, SL_HOOK_RAMP, r);
    sl_engine_tick(e, NULL);
    sl_engine_test(e, id, &t, NULL);
    ok(t.treatment_pct == 30, "a configured ramp policy replaces the built-in schedule");
    uint64_t seq = sl_engine_last_seq(e);
    sl_engine_tick(e, NULL);
    ok(sl_engine_last_seq(e) == seq, "repeating the same allocation logs nothing");
    sl_engine_delete(e);
}

static void check_shadow_and_recommendations(void)
{
    struct script s = {0};
    char id[SL_ID_MAX + 1];
    struct sl_engine *e = setup(&s, id, false);
    struct sl_decision sh = decide(SL_DECIDE_ROLLBACK, "candidate", "would roll back");
    sh.shadow = true;
    add(&s, SL_HOOK_GUARD, sh);
    struct sl_decision rec = decide(SL_DECIDE_NONE, "default", "significant lift");
    rec.recommendation = SL_REC_PROMOTE;
    add(&s, SL_HOOK_RECOMMEND, rec);
    sl_engine_tick(e, NULL);
    struct sl_test_info t;
    sl_engine_test(e, id, &t, NULL);
    ok(t.status == SL_TEST_RUNNING, "a shadow rollback is not applied");
    const struct sl_event *evs[64];
    size_t n = sl_engine_events(e, 0, evs, 64);
    bool shadow_logged = false;
    for (size_t i = 0; i < n; i++)
        shadow_logged |=
            evs[i]->kind == SL_EVENT_DECISION && strstr(evs[i]->detail, "\"shadow\":true");
    ok(shadow_logged, "a shadow decision is logged as shadow");
    ok(t.recommendation == SL_REC_PROMOTE &&
           strcmp(t.recommendation_reason, "significant lift") == 0,
       "without auto_promote the recommendation is only reported");
    uint64_t seq = sl_engine_last_seq(e);
    sl_engine_tick(e, NULL);
    ok(sl_engine_last_seq(e) == seq + 1, "an unchanged recommendation is not logged again (%llu)",
       (unsigned long long)(sl_engine_last_seq(e) - seq));
    sl_engine_delete(e);

    struct script s2 = {0};
    e = setup(&s2, id, true);
    add(&s2, SL_HOOK_RECOMMEND, rec);
    sl_engine_tick(e, NULL);
    sl_engine_test(e, id, &t, NULL);
    is_str(sl_test_status_name(t.status), "promoted", "with auto_promote the recommendation acts");
    struct sl_model_info m;
    sl_engine_model(e, "m", &m, NULL);
    is_str(m.live, "v2", "and the treatment is live");
    sl_engine_delete(e);
}

static void check_canary_judgement(void)
{
    struct script s = {0};
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.clock = test_clock;
    struct sl_engine *e = sl_engine_new(&o, NULL);
    struct sl_version_config v1 = {.model = "m", .version = "v1"};
    struct sl_version_config v2 = {.model = "m", .version = "v2"};
    sl_engine_add_version(e, &v1, NULL);
    sl_engine_add_version(e, &v2, NULL);
    struct sl_canary_config c = {.name = "c", .model = "m", .canary = "v2", .auto_rollback = true};
    char id[SL_ID_MAX + 1];
    sl_engine_create_canary(e, &c, id, NULL);
    sl_engine_act(e, id, SL_VERB_START, "u", NULL, NULL);
    struct sl_evaluator ev = {.ud = &s, .evaluate = fake_evaluate};
    sl_engine_set_evaluator(e, &ev);
    struct sl_decision p = decide(SL_DECIDE_PROMOTE, "criteria", "success rate 0.995 for 30 min");
    add(&s, SL_HOOK_PROMOTION, p);
    sl_engine_tick(e, NULL);
    struct sl_canary_info k;
    sl_engine_canary(e, id, &k, NULL);
    ok(k.status == SL_CANARY_MONITORING,
       "without auto_promote a promotion verdict is reported only");
    s.n[SL_HOOK_PROMOTION] = 0;
    struct sl_decision rb = decide(SL_DECIDE_ROLLBACK, "threshold", "error rate 5% > 2%");
    rb.trigger = SL_TRIGGER_ERROR_RATE;
    add(&s, SL_HOOK_GUARD, rb);
    sl_engine_tick(e, NULL);
    sl_engine_tick(e, NULL);
    sl_engine_canary(e, id, &k, NULL);
    ok(k.status == SL_CANARY_COMPLETED && strcmp(k.outcome, "rolled_back") == 0 &&
           k.rollback_trigger == SL_TRIGGER_ERROR_RATE,
       "a guard rolls the canary back with its trigger");
    sl_engine_delete(e);
}

static void check_bad_decisions_and_host_failure(void)
{
    struct script s = {0};
    char id[SL_ID_MAX + 1];
    struct sl_engine *e = setup(&s, id, false);
    struct sl_decision bad = decide(SL_DECIDE_SET_TRAFFIC, "broken", "oops");
    bad.treatment = 150;
    struct sl_err err;
    ok(sl_engine_apply(e, id, &bad, &err) == -1 && err.code == SL_EINVAL,
       "a decision with traffic over 100%% is rejected");
    bad.treatment = 20;
    bad.action = 99;
    ok(sl_engine_apply(e, id, &bad, &err) == -1, "an unknown action is rejected");
    struct sl_test_info t;
    sl_engine_test(e, id, &t, NULL);
    ok(t.treatment_pct == 10 && t.status == SL_TEST_RUNNING, "and nothing changed");
    s.fail_host = true;
    sl_engine_tick(e, NULL);
    const struct sl_event *ev = last_event(e, SL_EVENT_ERROR);
    ok(ev && strstr(ev->reason, "host broke"), "a failing evaluator becomes an error event");
    sl_engine_test(e, id, &t, NULL);
    ok(t.status == SL_TEST_RUNNING, "and the test keeps running");
    sl_engine_delete(e);
}

/* Regression: with auto_rollback set, a shadow "rollback" recommendation
 * changed the test's recommendation and was never logged. */
static void check_shadow_recommendation_under_auto_flags(void)
{
    struct script s = {0};
    char id[SL_ID_MAX + 1];
    auto_rollback = true;
    struct sl_engine *e = setup(&s, id, false);
    auto_rollback = false;
    struct sl_decision rec = decide(SL_DECIDE_NONE, "candidate", "candidate says roll back");
    rec.recommendation = SL_REC_ROLLBACK;
    rec.shadow = true;
    add(&s, SL_HOOK_RECOMMEND, rec);
    uint64_t seq = sl_engine_last_seq(e);
    sl_engine_tick(e, NULL);
    struct sl_test_info t;
    sl_engine_test(e, id, &t, NULL);
    const struct sl_event *ev = last_event(e, SL_EVENT_DECISION);
    ok(t.status == SL_TEST_RUNNING && t.recommendation != SL_REC_ROLLBACK,
       "a shadow recommendation neither acts nor becomes the test's recommendation");
    ok(ev && ev->seq > seq && strstr(ev->detail, "\"shadow\":true"), "and it is logged as shadow");
    sl_engine_delete(e);
}

/* During a tick the reads of the test being judged are memoised: every
 * policy of the tick sees the same figures, even when results arrive in
 * between (as from other threads); after the tick, reads are live again. */
struct memo_probe {
    char id[SL_ID_MAX + 1];
    struct sl_variant_metrics first, second, window1, window2, counts1, counts2;
    struct sl_test_stats s1, s2;
    int calls;
};

static int memo_evaluate(void *ud, struct sl_engine *eng, int kind, const char *id, int hook,
                         struct sl_decision *out, size_t max, size_t *nout, struct sl_err *err)
{
    (void)kind, (void)out, (void)max, (void)err;
    struct memo_probe *p = ud;
    *nout = 0;
    if (hook != SL_HOOK_GUARD)
        return 0;
    p->calls++;
    sl_engine_counts(eng, id, 1, 60, &p->counts1, NULL); /* memoised without quantiles */
    sl_engine_metrics(eng, id, 1, 0, &p->first, NULL);
    sl_engine_metrics(eng, id, 1, 60, &p->window1, NULL); /* the same read, with them */
    sl_engine_test_stats(eng, id, &p->s1, NULL);
    for (int i = 0; i < 50; i++) /* a burst of results mid-judgement */
        sl_engine_record(eng, id, 1, false, 500, NULL, 0, NULL);
    sl_engine_metrics(eng, id, 1, 0, &p->second, NULL);
    sl_engine_metrics(eng, id, 1, 60, &p->window2, NULL);
    sl_engine_counts(eng, id, 1, 60, &p->counts2, NULL);
    sl_engine_test_stats(eng, id, &p->s2, NULL);
    return 1;
}

static void check_reads_memoised_within_a_tick(void)
{
    struct script s = {0};
    struct memo_probe p = {0};
    struct sl_engine *e = setup(&s, p.id, false);
    for (int i = 0; i < 100; i++)
        sl_engine_record(e, p.id, i % 2, true, 20, NULL, 0, NULL);
    struct sl_evaluator ev = {.ud = &p, .evaluate = memo_evaluate};
    sl_engine_set_evaluator(e, &ev);
    now_s = 10;
    sl_engine_tick(e, NULL);
    is_int(p.calls, 1, "the guard hook ran once");
    is_int((long long)p.first.requests, 50, "the treatment had 50 results at the tick");
    is_int((long long)p.second.requests, 50, "a second cumulative read in the tick: the same");
    is_int((long long)p.window2.requests, (long long)p.window1.requests,
           "a second windowed read in the tick: the same");
    ok(p.s1.error_rate.n2 == p.s2.error_rate.n2 && p.s1.srm_p == p.s2.srm_p,
       "statistics read twice in the tick: the same");
    ok(p.counts1.requests == p.window1.requests && isnan(p.counts1.quantiles[0]) &&
           isnan(p.counts1.latency_max),
       "a counts read: the same figures, no quantiles (%llu requests)",
       (unsigned long long)p.counts1.requests);
    ok(p.window1.quantiles[0] >= 19 && p.window1.quantiles[0] <= 21 && p.window1.latency_max <= 21,
       "a full read after a counts read has its quantiles (p50 %g)", p.window1.quantiles[0]);
    ok(p.counts2.requests == p.window1.requests && p.counts2.quantiles[0] == p.window1.quantiles[0],
       "a counts read after it is served from the memo");
    struct sl_variant_metrics live;
    sl_engine_metrics(e, p.id, 1, 0, &live, NULL);
    is_int((long long)live.requests, 100, "after the tick, reads see the burst (live again)");
    sl_engine_metrics(e, p.id, 1, 60, &live, NULL);
    is_int((long long)live.requests, 100, "and so do windowed reads");
    sl_engine_delete(e);
}

/* Among several verdicts the judge acts on the first its auto flags act on,
 * else the last; sl_engine_verdict_pick says which (simulate --shadow). */
static void check_verdict_pick(void)
{
    struct script s = {0};
    char id[SL_ID_MAX + 1];
    struct sl_engine *e = setup(&s, id, true); /* auto_promote */
    struct sl_decision d[3] = {
        {.hook = SL_HOOK_RECOMMEND, .recommendation = SL_REC_CONTINUE},
        {.hook = SL_HOOK_RECOMMEND, .recommendation = SL_REC_PROMOTE},
        {.hook = SL_HOOK_RECOMMEND, .recommendation = SL_REC_EXTEND},
    };
    is_int(sl_engine_verdict_pick(e, SL_KIND_TEST, id, d, 3), 1,
           "the first verdict the auto flags act on is the one acted on");
    d[1].recommendation = SL_REC_CONTINUE;
    is_int(sl_engine_verdict_pick(e, SL_KIND_TEST, id, d, 3), 2,
           "when none acts, the last is the test's recommendation");
    d[2].shadow = true;
    is_int(sl_engine_verdict_pick(e, SL_KIND_TEST, id, d, 3), 1, "a shadow verdict is never it");
    is_int(sl_engine_verdict_pick(e, SL_KIND_TEST, "nope", d, 3), -1, "an unknown test: none");
    sl_engine_delete(e);
}

int main(void)
{
    check_verdict_pick();
    check_reads_memoised_within_a_tick();
    check_shadow_recommendation_under_auto_flags();
    check_guard_priority();
    check_repeated_guard_is_quiet();
    check_ramp_holds_while_guard_fires();
    check_shadow_and_recommendations();
    check_canary_judgement();
    check_bad_decisions_and_host_failure();
    return tap_done();
}
