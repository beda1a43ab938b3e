/* test_lifecycle.c - every legal and illegal transition of the test and canary
 * state machines, their side effects (claims, live versions, routing,
 * history), and bad input that must change nothing.
 *
 * The expected transitions are written out here independently of the tables in
 * abtest.c / canary.c, so a wrong table entry fails a test. */
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

static struct sl_engine *new_engine(int max_tests)
{
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.clock = test_clock;
    o.max_tests = max_tests;
    o.history = 1000;
    now_s = 1000;
    return sl_engine_new(&o, NULL);
}

static int add_version(struct sl_engine *e, const char *model, const char *v, int health)
{
    struct sl_version_config c = {.model = model, .version = v, .health = health};
    return sl_engine_add_version(e, &c, NULL);
}

static int model_seq;

/* A fresh model with v1 (healthy) and v2 (given health); returns its id. */
static const char *fresh_model(struct sl_engine *e, int v2_health)
{
    static char name[64];
    snprintf(name, sizeof name, "m%d", ++model_seq);
    add_version(e, name, "v1", SL_HEALTH_HEALTHY);
    add_version(e, name, "v2", v2_health);
    return name;
}

static int test_status(struct sl_engine *e, const char *id)
{
    struct sl_test_info t;
    return sl_engine_test(e, id, &t, NULL) ? -1 : t.status;
}

static int canary_status(struct sl_engine *e, const char *id)
{
    struct sl_canary_info k;
    return sl_engine_canary(e, id, &k, NULL) ? -1 : k.status;
}

/* ---- tests ------------------------------------------------------------------ */

/* Create a test and drive it into status s. id receives its id. */
static int reach_test(struct sl_engine *e, int s, char *id)
{
    int v2 = s == SL_TEST_STARTING ? SL_HEALTH_LOADING : SL_HEALTH_HEALTHY;
    const char *m = fresh_model(e, v2);
    struct sl_test_config c = {
        .name = "t", .model = m, .control_version = "v1", .treatment_version = "v2"};
    if (sl_engine_create_test(e, &c, id, NULL))
        return -1;
    static const int path[][3] = {
        [SL_TEST_DRAFT] = {-1, -1, -1},
        [SL_TEST_STARTING] = {SL_VERB_START, -1, -1},
        [SL_TEST_RUNNING] = {SL_VERB_START, -1, -1},
        [SL_TEST_PAUSED] = {SL_VERB_START, SL_VERB_PAUSE, -1},
        [SL_TEST_COMPLETED] = {SL_VERB_START, SL_VERB_STOP, -1},
        [SL_TEST_FAILED] = {SL_VERB_START, SL_VERB_FAIL, -1},
        [SL_TEST_ROLLED_BACK] = {SL_VERB_START, SL_VERB_ROLLBACK, -1},
        [SL_TEST_PROMOTED] = {SL_VERB_START, SL_VERB_PROMOTE, -1},
    };
    for (int i = 0; i < 3 && path[s][i] >= 0; i++)
        if (sl_engine_act(e, id, path[s][i], "test", NULL, NULL))
            return -1;
    return test_status(e, id) == s ? 0 : -1;
}

struct transition {
    int from, verb, to;
};

/* The A/B test lifecycle, as documented in sluice.h and DESIGN.md. */
static const struct transition test_legal[] = {
    {SL_TEST_DRAFT, SL_VERB_START, SL_TEST_RUNNING}, /* healthy versions: straight through */
    {SL_TEST_STARTING, SL_VERB_STOP, SL_TEST_COMPLETED},
    {SL_TEST_STARTING, SL_VERB_ROLLBACK, SL_TEST_ROLLED_BACK},
    {SL_TEST_STARTING, SL_VERB_FAIL, SL_TEST_FAILED},
    {SL_TEST_RUNNING, SL_VERB_PAUSE, SL_TEST_PAUSED},
    {SL_TEST_RUNNING, SL_VERB_STOP, SL_TEST_COMPLETED},
    {SL_TEST_RUNNING, SL_VERB_PROMOTE, SL_TEST_PROMOTED},
    {SL_TEST_RUNNING, SL_VERB_ROLLBACK, SL_TEST_ROLLED_BACK},
    {SL_TEST_RUNNING, SL_VERB_FAIL, SL_TEST_FAILED},
    {SL_TEST_PAUSED, SL_VERB_RESUME, SL_TEST_RUNNING},
    {SL_TEST_PAUSED, SL_VERB_STOP, SL_TEST_COMPLETED},
    {SL_TEST_PAUSED, SL_VERB_PROMOTE, SL_TEST_PROMOTED},
    {SL_TEST_PAUSED, SL_VERB_ROLLBACK, SL_TEST_ROLLED_BACK},
    {SL_TEST_PAUSED, SL_VERB_FAIL, SL_TEST_FAILED},
    {SL_TEST_FAILED, SL_VERB_RETRY, SL_TEST_RUNNING}, /* versions healthy again */
    {SL_TEST_FAILED, SL_VERB_STOP, SL_TEST_FAILED},   /* archived, keeps "failed" */
};

static int expected_test(int from, int verb)
{
    for (size_t i = 0; i < sizeof test_legal / sizeof test_legal[0]; i++)
        if (test_legal[i].from == from && test_legal[i].verb == verb)
            return test_legal[i].to;
    return -1;
}

static void check_test_matrix(void)
{
    struct sl_engine *e = new_engine(10000);
    for (int s = SL_TEST_DRAFT; s <= SL_TEST_PROMOTED; s++) {
        for (int v = SL_VERB_START; v <= SL_VERB_FAIL; v++) {
            char id[SL_ID_MAX + 1];
            if (!ok(reach_test(e, s, id) == 0, "test reaches %s", sl_test_status_name(s)))
                continue;
            struct sl_err err;
            uint64_t seq = sl_engine_last_seq(e);
            int rc = sl_engine_act(e, id, v, "test", "matrix", &err);
            int want = expected_test(s, v);
            if (want < 0) {
                ok(rc == -1 && err.code == SL_ESTATE && test_status(e, id) == s &&
                       sl_engine_last_seq(e) == seq && strstr(err.msg, sl_test_status_name(s)) &&
                       strstr(err.msg, sl_verb_name(v)),
                   "test %s: %s is illegal, names state and verb, changes nothing",
                   sl_test_status_name(s), sl_verb_name(v));
            } else {
                ok(rc == 0 && test_status(e, id) == want, "test %s --%s--> %s",
                   sl_test_status_name(s), sl_verb_name(v), sl_test_status_name(want));
            }
        }
    }
    sl_engine_delete(e);
}

static void check_test_side_effects(void)
{
    struct sl_engine *e = new_engine(2);
    char a[SL_ID_MAX + 1], b[SL_ID_MAX + 1], c3[SL_ID_MAX + 1];
    struct sl_err err;
    add_version(e, "ranker", "v1", SL_HEALTH_HEALTHY);
    add_version(e, "ranker", "v2", SL_HEALTH_LOADING);
    struct sl_test_config c = {
        .name = "t", .model = "ranker", .control_version = "v1", .treatment_version = "v2"};
    sl_engine_create_test(e, &c, a, NULL);
    sl_engine_create_test(e, &c, b, NULL);
    ok(sl_engine_act(e, a, SL_VERB_START, "u", NULL, NULL) == 0 &&
           test_status(e, a) == SL_TEST_STARTING,
       "a test whose treatment is loading waits in starting");
    ok(sl_engine_act(e, b, SL_VERB_START, "u", NULL, &err) == -1 && err.code == SL_ECONFLICT &&
           test_status(e, b) == SL_TEST_DRAFT,
       "a second test on a claimed model is a conflict and stays draft");
    struct sl_route r;
    sl_engine_route(e, "ranker", "u1", &r, NULL);
    ok(r.kind == SL_KIND_NONE && strcmp(r.version, "v1") == 0,
       "a starting test does not route yet: live version served");
    sl_engine_set_health(e, "ranker", "v2", SL_HEALTH_HEALTHY, NULL);
    sl_engine_tick(e, NULL);
    is_int(test_status(e, a), SL_TEST_RUNNING, "tick moves starting to running once healthy");
    sl_engine_act(e, a, SL_VERB_PROMOTE, "u", "won", NULL);
    struct sl_model_info m;
    sl_engine_model(e, "ranker", &m, NULL);
    ok(strcmp(m.live, "v2") == 0 && m.claimed_by == NULL,
       "promote makes the treatment live and frees the model");
    sl_engine_route(e, "ranker", "u1", &r, NULL);
    ok(r.kind == SL_KIND_NONE && strcmp(r.version, "v2") == 0, "after promotion v2 serves");
    ok(sl_engine_history_count(e) == 1 && strcmp(sl_engine_history_at(e, 0, NULL), a) == 0,
       "the promoted test moved to history");

    /* rollback leaves the live version alone */
    sl_engine_act(e, b, SL_VERB_START, "u", NULL, NULL);
    sl_engine_act(e, b, SL_VERB_ROLLBACK, "u", "bad", NULL);
    sl_engine_model(e, "ranker", &m, NULL);
    ok(strcmp(m.live, "v2") == 0, "rollback leaves the live version as it was");

    /* the concurrency bound */
    add_version(e, "x", "v1", SL_HEALTH_HEALTHY);
    add_version(e, "y", "v1", SL_HEALTH_HEALTHY);
    add_version(e, "z", "v1", SL_HEALTH_HEALTHY);
    struct sl_test_config cx = {
        .name = "x", .model = "x", .control_version = "v1", .treatment_version = "v1"};
    char x[SL_ID_MAX + 1], y[SL_ID_MAX + 1];
    sl_engine_create_test(e, &cx, x, NULL);
    cx.model = "y";
    sl_engine_create_test(e, &cx, y, NULL);
    cx.model = "z";
    sl_engine_create_test(e, &cx, c3, NULL);
    sl_engine_act(e, x, SL_VERB_START, "u", NULL, NULL);
    sl_engine_act(e, y, SL_VERB_START, "u", NULL, NULL);
    ok(sl_engine_act(e, c3, SL_VERB_START, "u", NULL, &err) == -1 && err.code == SL_ELIMIT &&
           test_status(e, c3) == SL_TEST_DRAFT,
       "max_tests is enforced and the refused test stays draft");
    sl_engine_act(e, x, SL_VERB_STOP, "u", NULL, NULL);
    ok(sl_engine_act(e, c3, SL_VERB_START, "u", NULL, NULL) == 0, "a finished test frees a slot");
    sl_engine_delete(e);
}

static void check_ramp_over_virtual_time(void)
{
    struct sl_engine *e = new_engine(10);
    add_version(e, "m", "a", SL_HEALTH_HEALTHY);
    add_version(e, "m", "b", SL_HEALTH_HEALTHY);
    struct sl_ramp_step ramp[] = {{0, 5, -1}, {1, 25, -1}, {6, 50, -1}, {24, 100, -1}};
    struct sl_test_config c = {.name = "ramp",
                               .model = "m",
                               .control_version = "a",
                               .treatment_version = "b",
                               .ramp = ramp,
                               .nramp = 4};
    char id[SL_ID_MAX + 1];
    sl_engine_create_test(e, &c, id, NULL);
    sl_engine_act(e, id, SL_VERB_START, "u", NULL, NULL);
    struct sl_test_info t;
    double want[] = {5, 25, 25, 25, 25, 25, 50, 50};
    bool all = true;
    for (int h = 0; h < 8; h++) {
        now_s = 1000 + h * 3600.0 + 1;
        sl_engine_tick(e, NULL);
        sl_engine_test(e, id, &t, NULL);
        all &= t.treatment_pct == want[h];
    }
    ok(all, "the ramp schedule advances hour by hour in virtual time");
    sl_engine_act(e, id, SL_VERB_PAUSE, "u", NULL, NULL);
    now_s += 100 * 3600.0;
    sl_engine_tick(e, NULL);
    sl_engine_act(e, id, SL_VERB_RESUME, "u", NULL, NULL);
    sl_engine_tick(e, NULL);
    sl_engine_test(e, id, &t, NULL);
    ok(t.treatment_pct == 50 && t.running_seconds < 8 * 3600.0,
       "paused time does not count towards the ramp");
    now_s += 17 * 3600.0;
    sl_engine_tick(e, NULL);
    sl_engine_test(e, id, &t, NULL);
    is_int((long long)t.treatment_pct, 100, "the last step applies at 24 running hours");
    ok(t.nalloc_history == 4, "allocation history holds every change (%zu)", t.nalloc_history);
    sl_engine_delete(e);
}

/* ---- canaries --------------------------------------------------------------- */

static int reach_canary(struct sl_engine *e, int s, char *id)
{
    int v2 = s == SL_CANARY_DEPLOYING ? SL_HEALTH_LOADING : SL_HEALTH_HEALTHY;
    const char *m = fresh_model(e, v2);
    struct sl_canary_config c = {.name = "c", .model = m, .canary = "v2", .traffic = 10};
    if (sl_engine_create_canary(e, &c, id, NULL))
        return -1;
    static const int path[][3] = {
        [SL_CANARY_PREPARING] = {-1, -1, -1},
        [SL_CANARY_DEPLOYING] = {SL_VERB_START, -1, -1},
        [SL_CANARY_MONITORING] = {SL_VERB_START, -1, -1},
        [SL_CANARY_PROMOTING] = {SL_VERB_START, SL_VERB_PROMOTE, -1},
        [SL_CANARY_ROLLING_BACK] = {SL_VERB_START, SL_VERB_ROLLBACK, -1},
        [SL_CANARY_COMPLETED] = {SL_VERB_START, SL_VERB_PROMOTE, -1},
        [SL_CANARY_FAILED] = {SL_VERB_START, SL_VERB_FAIL, -1},
    };
    for (int i = 0; i < 3 && path[s][i] >= 0; i++)
        if (sl_engine_act(e, id, path[s][i], "test", NULL, NULL))
            return -1;
    if (s == SL_CANARY_COMPLETED)
        sl_engine_tick(e, NULL);
    return canary_status(e, id) == s ? 0 : -1;
}

static const struct transition canary_legal[] = {
    {SL_CANARY_PREPARING, SL_VERB_START, SL_CANARY_MONITORING}, /* healthy: through deploying */
    {SL_CANARY_PREPARING, SL_VERB_STOP, SL_CANARY_COMPLETED},
    {SL_CANARY_PREPARING, SL_VERB_FAIL, SL_CANARY_FAILED},
    {SL_CANARY_DEPLOYING, SL_VERB_ROLLBACK, SL_CANARY_ROLLING_BACK},
    {SL_CANARY_DEPLOYING, SL_VERB_FAIL, SL_CANARY_FAILED},
    {SL_CANARY_MONITORING, SL_VERB_PROMOTE, SL_CANARY_PROMOTING},
    {SL_CANARY_MONITORING, SL_VERB_ROLLBACK, SL_CANARY_ROLLING_BACK},
    {SL_CANARY_MONITORING, SL_VERB_FAIL, SL_CANARY_FAILED},
    {SL_CANARY_PROMOTING, SL_VERB_FAIL, SL_CANARY_FAILED},
    {SL_CANARY_ROLLING_BACK, SL_VERB_FAIL, SL_CANARY_FAILED},
    {SL_CANARY_FAILED, SL_VERB_RETRY, SL_CANARY_MONITORING},
    {SL_CANARY_FAILED, SL_VERB_STOP, SL_CANARY_FAILED}, /* archived, keeps "failed" */
};

static int expected_canary(int from, int verb)
{
    for (size_t i = 0; i < sizeof canary_legal / sizeof canary_legal[0]; i++)
        if (canary_legal[i].from == from && canary_legal[i].verb == verb)
            return canary_legal[i].to;
    return -1;
}

static void check_canary_matrix(void)
{
    struct sl_engine *e = new_engine(10);
    for (int s = SL_CANARY_PREPARING; s <= SL_CANARY_FAILED; s++) {
        for (int v = SL_VERB_START; v <= SL_VERB_FAIL; v++) {
            char id[SL_ID_MAX + 1];
            if (!ok(reach_canary(e, s, id) == 0, "canary reaches %s", sl_canary_status_name(s)))
                continue;
            struct sl_err err;
            int rc = sl_engine_act(e, id, v, "test", NULL, &err);
            int want = expected_canary(s, v);
            if (want < 0)
                ok(rc == -1 && err.code == SL_ESTATE && canary_status(e, id) == s &&
                       strstr(err.msg, sl_canary_status_name(s)),
                   "canary %s: %s is illegal and changes nothing", sl_canary_status_name(s),
                   sl_verb_name(v));
            else
                ok(rc == 0 && canary_status(e, id) == want, "canary %s --%s--> %s",
                   sl_canary_status_name(s), sl_verb_name(v), sl_canary_status_name(want));
        }
    }
    sl_engine_delete(e);
}

static double canary_share(struct sl_engine *e, const char *model)
{
    int n = 0;
    char unit[32];
    for (int i = 0; i < 20000; i++) {
        struct sl_route r;
        snprintf(unit, sizeof unit, "user-%d", i);
        sl_engine_route(e, model, unit, &r, NULL);
        n += r.kind == SL_KIND_CANARY && r.arm == 1;
    }
    return n / 20000.0;
}

static void check_canary_routing(void)
{
    struct sl_engine *e = new_engine(10);
    add_version(e, "ranker", "v1", SL_HEALTH_HEALTHY);
    add_version(e, "ranker", "v2", SL_HEALTH_HEALTHY);
    struct sl_canary_config c = {.name = "c", .model = "ranker", .canary = "v2", .traffic = 10};
    char id[SL_ID_MAX + 1];
    sl_engine_create_canary(e, &c, id, NULL);
    ok(canary_share(e, "ranker") == 0, "a preparing canary takes no traffic");
    sl_engine_act(e, id, SL_VERB_START, "u", NULL, NULL);
    double share = canary_share(e, "ranker");
    ok(fabs(share - 0.10) < 0.01, "a monitoring canary takes its traffic share (%.4f)", share);
    sl_engine_act(e, id, SL_VERB_PROMOTE, "u", NULL, NULL);
    ok(canary_share(e, "ranker") == 1.0, "promoting moves all traffic to the canary at once");
    sl_engine_tick(e, NULL);
    struct sl_model_info m;
    sl_engine_model(e, "ranker", &m, NULL);
    ok(canary_status(e, id) == SL_CANARY_COMPLETED && strcmp(m.live, "v2") == 0 && !m.claimed_by,
       "the next tick completes the promotion: v2 is live, model free");

    add_version(e, "ranker", "v3", SL_HEALTH_HEALTHY);
    struct sl_canary_config c3 = {.name = "c3", .model = "ranker", .canary = "v3"};
    sl_engine_create_canary(e, &c3, id, NULL);
    sl_engine_act(e, id, SL_VERB_START, "u", NULL, NULL);
    ok(sl_engine_rollback_canary(e, id, SL_TRIGGER_ERROR_RATE, "policy:guard", "errors 5%", NULL) ==
               0 &&
           canary_share(e, "ranker") == 0,
       "rolling back moves all traffic back to stable at once");
    sl_engine_tick(e, NULL);
    struct sl_canary_info k;
    sl_engine_canary(e, id, &k, NULL);
    sl_engine_model(e, "ranker", &m, NULL);
    ok(k.status == SL_CANARY_COMPLETED && strcmp(k.outcome, "rolled_back") == 0 &&
           k.rollback_trigger == SL_TRIGGER_ERROR_RATE && strcmp(m.live, "v2") == 0,
       "a rolled-back canary completes with its trigger and leaves v2 live");
    sl_engine_delete(e);
}

/* ---- bad input ----------------------------------------------------------------- */

static void check_bad_input(void)
{
    struct sl_engine *e = new_engine(10);
    struct sl_err err;
    char long_id[SL_ID_MAX + 2];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    struct sl_version_config v = {.model = "", .version = "v1"};
    ok(sl_engine_add_version(e, &v, &err) == -1 && err.code == SL_EINVAL &&
           strstr(err.msg, "model"),
       "empty model id is rejected naming the field");
    v.model = long_id;
    ok(sl_engine_add_version(e, &v, &err) == -1 && strstr(err.msg, "256"),
       "over-long id is rejected naming the limit");
    v.model = "has space";
    ok(sl_engine_add_version(e, &v, &err) == -1, "ids with spaces are rejected");
    add_version(e, "m", "v1", SL_HEALTH_HEALTHY);
    add_version(e, "m", "v2", SL_HEALTH_HEALTHY);
    ok(add_version(e, "m", "v1", SL_HEALTH_HEALTHY) == -1, "duplicate version is rejected");

    uint64_t seq = sl_engine_last_seq(e);
    struct sl_test_config c = {
        .name = "t", .model = "m", .control_version = "v1", .treatment_version = "v9"};
    ok(sl_engine_create_test(e, &c, NULL, &err) == -1 && err.code == SL_ENOTFOUND &&
           strstr(err.msg, "v9"),
       "unknown treatment version is rejected naming it");
    c.treatment_version = "v2";
    struct sl_ramp_step over[] = {{0, 60, 50}};
    c.ramp = over;
    c.nramp = 1;
    ok(sl_engine_create_test(e, &c, NULL, &err) == -1 && strstr(err.msg, "exceeds 100"),
       "ramp shares over 100 percent are rejected");
    struct sl_ramp_step back[] = {{2, 10, -1}, {1, 20, -1}};
    c.ramp = back;
    c.nramp = 2;
    ok(sl_engine_create_test(e, &c, NULL, &err) == -1 && strstr(err.msg, "forward in time"),
       "ramp steps going back in time are rejected");
    struct sl_ramp_step neg[] = {{0, -5, -1}};
    c.ramp = neg;
    c.nramp = 1;
    ok(sl_engine_create_test(e, &c, NULL, &err) == -1 && strstr(err.msg, "[0,100]"),
       "a negative percentage is rejected");
    c.ramp = NULL;
    c.nramp = 0;
    c.alpha = 1.5;
    ok(sl_engine_create_test(e, &c, NULL, &err) == -1 && strstr(err.msg, "alpha"),
       "alpha outside (0,1) is rejected");
    c.alpha = 0;
    const char *dup[] = {"clicks", "clicks"};
    c.success_metrics = dup;
    c.nsuccess = 2;
    ok(sl_engine_create_test(e, &c, NULL, &err) == -1 && strstr(err.msg, "twice"),
       "duplicate metric names are rejected");
    c.success_metrics = NULL;
    c.nsuccess = 0;
    ok(sl_engine_test_count(e) == 0 && sl_engine_last_seq(e) == seq,
       "rejected configs left no test and no event");

    c.id = "same";
    ok(sl_engine_create_test(e, &c, NULL, NULL) == 0, "a test with an explicit id");
    ok(sl_engine_create_test(e, &c, NULL, &err) == -1 && err.code == SL_EEXIST,
       "a duplicate test id is rejected");
    c.id = "m";
    ok(sl_engine_create_test(e, &c, NULL, &err) == -1 && err.code == SL_EEXIST,
       "a test id equal to a model id is rejected (route keys stay unambiguous)");
    ok(sl_engine_act(e, "nope", SL_VERB_START, "u", NULL, &err) == -1 && err.code == SL_ENOTFOUND,
       "an unknown test id is not found");
    ok(sl_engine_set_allocation(e, "same", 50, "u", NULL, &err) == -1 && err.code == SL_ESTATE,
       "setting traffic on a draft test is a state error");
    sl_engine_act(e, "same", SL_VERB_START, "u", NULL, NULL);
    ok(sl_engine_set_allocation(e, "same", 101, "u", NULL, &err) == -1 && err.code == SL_EINVAL,
       "traffic over 100 is rejected");
    ok(sl_engine_set_allocation(e, "same", NAN, "u", NULL, &err) == -1, "NaN traffic is rejected");
    ok(sl_engine_record(e, "same", 1, true, NAN, NULL, 0, &err) == -1 &&
           sl_engine_record(e, "same", 1, true, -1, NULL, 0, &err) == -1 &&
           sl_engine_record(e, "same", 1, true, 1e12, NULL, 0, &err) == -1 &&
           sl_engine_record(e, "same", 2, true, 1, NULL, 0, &err) == -1,
       "NaN, negative, absurd latencies and unknown arms are rejected");
    struct sl_variant_metrics m;
    sl_engine_metrics(e, "same", 1, 0, &m, NULL);
    is_int((long long)m.requests, 0, "rejected records left no trace");
    ok(sl_engine_record(e, "m", 1, true, 1, NULL, 0, &err) == -1,
       "recording by model id (not a test id) is rejected");
    sl_engine_delete(e);
}

int main(void)
{
    check_test_matrix();
    check_test_side_effects();
    check_ramp_over_virtual_time();
    check_canary_matrix();
    check_canary_routing();
    check_bad_input();
    return tap_done();
}
