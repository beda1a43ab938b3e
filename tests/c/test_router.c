/* test_router.c - routing through the public engine API (router.c, hash.c).
 *
 * Proves the hash strategy is uniform (chi-square over 10^5 units), follows
 * the documented formula, is monotone under ramps, sticky per unit and
 * independent across tests; that sticky routing remembers and honours
 * overrides, weighted round robin keeps exact shares, random keeps its share;
 * that keys resolve to the right test, paused tests send everyone to control,
 * and bad input is refused with a message. Fixed unit ids and test ids make
 * every figure reproducible. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "engine.h"
#include "sluice.h"
#include "tap.h"

#define NUNITS 100000

static double now_s = 1000;

static double test_clock(void *ud)
{
    (void)ud;
    return now_s;
}

static struct sl_engine *new_engine(int history)
{
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.clock = test_clock;
    o.clock_ud = &now_s;
    o.history = history;
    return sl_engine_new(&o, NULL);
}

/* Model with versions v1 (live) and v2, both healthy. */
static int add_model(struct sl_engine *e, const char *model)
{
    struct sl_version_config c = {.model = model, .version = "v1"};
    if (sl_engine_add_version(e, &c, NULL))
        return -1;
    c.version = "v2";
    return sl_engine_add_version(e, &c, NULL);
}

/* Create and start a test of v1 (control) vs v2 (treatment) on model. */
static int start_test(struct sl_engine *e, const char *id, const char *model, int routing,
                      double treatment)
{
    struct sl_ramp_step step = {.at_hours = 0, .treatment = treatment, .control = -1};
    struct sl_test_config c = {.id = id,
                               .name = id,
                               .model = model,
                               .control_version = "v1",
                               .treatment_version = "v2",
                               .ramp = &step,
                               .nramp = 1,
                               .routing = routing};
    struct sl_err err = {0};
    if (add_model(e, model) || sl_engine_create_test(e, &c, NULL, &err) ||
        sl_engine_act(e, id, SL_VERB_START, "test", NULL, &err)) {
        tap_diag("cannot start test %s: %s", id, err.msg);
        return -1;
    }
    struct sl_test_info info;
    return sl_engine_test(e, id, &info, NULL) || info.status != SL_TEST_RUNNING ? -1 : 0;
}

static const char *unit_id(int i)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "user-%d", i);
    return buf;
}

/* Arm of unit i under key (-1 live, -2 error). */
static int arm_of(struct sl_engine *e, const char *key, const char *unit)
{
    struct sl_route r;
    return sl_engine_route(e, key, unit, &r, NULL) ? -2 : r.arm;
}

/* p-value of a chi-square statistic with one degree of freedom. */
static double chi2_p1(double chi2)
{
    return erfc(sqrt(chi2 / 2));
}

/* ---- the hash strategy --------------------------------------------------- */

static void check_split(struct sl_engine *e, const char *id, const char *model, double pct)
{
    long treat = 0, bad = 0, formula = 0;
    for (int i = 0; i < NUNITS; i++) {
        struct sl_route r = {.arm = -2};
        const char *u = unit_id(i);
        if (sl_engine_route(e, model, u, &r, NULL) || r.kind != SL_KIND_TEST ||
            strcmp(r.id, id) != 0 || strcmp(r.version, r.arm ? "v2" : "v1") != 0)
            bad++;
        treat += r.arm == 1;
        /* The documented rule: treatment iff sl_bucket(salt = test id, unit) < pct/100. */
        formula += (r.arm == 1) == (sl_bucket(id, strlen(id), u, strlen(u)) < pct / 100);
    }
    double e1 = NUNITS * pct / 100, e0 = NUNITS - e1;
    double chi2 =
        (treat - e1) * (treat - e1) / e1 + (NUNITS - treat - e0) * (NUNITS - treat - e0) / e0;
    double p = chi2_p1(chi2);
    tap_diag("%g/%g split over %d units: %ld in treatment (expected %.0f), chi2 %.3f, p %.4f", pct,
             100 - pct, NUNITS, treat, e1, chi2, p);
    is_int(bad, 0, "every unit routes to the test with the version of its arm");
    is_int(formula, NUNITS, "every unit's arm follows the documented sl_bucket threshold rule");
    ok(p > 0.001, "%g/%g split is uniform: chi-square p-value %.4f > 0.001", pct, 100 - pct, p);
}

static void test_uniformity(void)
{
    struct sl_engine *e = new_engine(100);
    if (!ok(e && start_test(e, "split-50", "m-50", SL_ROUTING_HASH, 50) == 0 &&
                start_test(e, "split-1", "m-1", SL_ROUTING_HASH, 1) == 0,
            "two hash tests start"))
        return;
    check_split(e, "split-50", "m-50", 50);
    check_split(e, "split-1", "m-1", 1);
    sl_engine_delete(e);
}

static void test_monotone_ramp(void)
{
    static signed char arm[NUNITS];
    static const double steps[] = {10, 25, 50, 90};
    struct sl_engine *e = new_engine(100);
    if (!ok(e && start_test(e, "ramp", "m-ramp", SL_ROUTING_HASH, 0) == 0, "ramp test starts"))
        return;
    memset(arm, 0, sizeof arm);
    long back = 0, moved = 0, errors = 0;
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        sl_engine_set_allocation(e, "ramp", steps[s], "test", "ramp step", NULL);
        long treat = 0;
        for (int i = 0; i < NUNITS; i++) {
            int a = arm_of(e, "m-ramp", unit_id(i));
            errors += a < 0;
            back += arm[i] == 1 && a == 0;
            moved += arm[i] == 0 && a == 1;
            arm[i] = (signed char)a;
            treat += a == 1;
        }
        double share = steps[s] / 100, sigma = sqrt(share * (1 - share) / NUNITS);
        ok(fabs((double)treat / NUNITS - share) < 4 * sigma,
           "at %g%% treatment the measured share %.4f is within 4 sigma", steps[s],
           (double)treat / NUNITS);
    }
    is_int(errors, 0, "every route during the ramp succeeds");
    is_int(back, 0, "raising the share never moves a unit from treatment back to control");
    ok(moved > NUNITS / 2, "the ramp moved %ld units from control into treatment", moved);
    sl_engine_delete(e);
}

/* The ramp schedule, applied by ticks over virtual time, is monotone too. */
static void test_scheduled_ramp(void)
{
    enum { N = 20000 };
    static signed char arm[N];
    struct sl_ramp_step ramp[] = {{0, 5, -1}, {1, 20, -1}, {2, 60, -1}, {6, 100, -1}};
    struct sl_test_config c = {.id = "sched",
                               .name = "sched",
                               .model = "m-sched",
                               .control_version = "v1",
                               .treatment_version = "v2",
                               .ramp = ramp,
                               .nramp = 4};
    struct sl_engine *e = new_engine(100);
    now_s = 1000;
    if (!ok(e && add_model(e, "m-sched") == 0 && sl_engine_create_test(e, &c, NULL, NULL) == 0 &&
                sl_engine_act(e, "sched", SL_VERB_START, NULL, NULL, NULL) == 0,
            "scheduled ramp test starts"))
        return;
    long back = 0, treat = 0;
    double pct = 0;
    for (int hour = 0; hour <= 7; hour++) {
        now_s = 1000 + hour * 3600.0 + 1;
        sl_engine_tick(e, NULL);
        struct sl_test_info info;
        sl_engine_test(e, "sched", &info, NULL);
        pct = info.treatment_pct;
        treat = 0;
        for (int i = 0; i < N; i++) {
            int a = arm_of(e, "m-sched", unit_id(i));
            back += hour > 0 && arm[i] == 1 && a != 1;
            arm[i] = (signed char)a;
            treat += a == 1;
        }
    }
    is_int(back, 0, "no unit leaves treatment while ticks walk the ramp schedule");
    ok(pct == 100 && treat == N, "after the last step (%g%%) every unit is in treatment", pct);
    sl_engine_delete(e);
}

/* Ramp step with control + treatment < 100: the rest is served the live version. */
static void test_partial_step(void)
{
    struct sl_ramp_step step = {0, 10, 10};
    struct sl_test_config c = {.id = "part",
                               .name = "part",
                               .model = "m-part",
                               .control_version = "v1",
                               .treatment_version = "v2",
                               .ramp = &step,
                               .nramp = 1};
    struct sl_engine *e = new_engine(100);
    if (!ok(e && add_model(e, "m-part") == 0 && sl_engine_create_test(e, &c, NULL, NULL) == 0 &&
                sl_engine_act(e, "part", SL_VERB_START, NULL, NULL, NULL) == 0,
            "10/10 test starts"))
        return;
    long wrong = 0, live = 0;
    for (int i = 0; i < NUNITS / 10; i++) {
        struct sl_route r;
        const char *u = unit_id(i);
        double f = sl_bucket("part", 4, u, strlen(u));
        int want = f < 0.1 ? 1 : f < 0.2 ? 0 : -1;
        sl_engine_route(e, "m-part", u, &r, NULL);
        wrong += r.arm != want || (want < 0 && (r.kind != SL_KIND_NONE || r.id != NULL ||
                                                strcmp(r.variant, "live") != 0));
        live += want < 0;
    }
    is_int(wrong, 0, "treatment below 10%, control below 20%, the live version above");
    ok(live > NUNITS / 20, "most units (%ld) are outside a 10/10 test", live);
    sl_engine_delete(e);
}

static void test_independence(void)
{
    struct sl_engine *e = new_engine(100);
    if (!ok(e && start_test(e, "salt-a", "m-a", SL_ROUTING_HASH, 50) == 0 &&
                start_test(e, "salt-b", "m-b", SL_ROUTING_HASH, 50) == 0,
            "two 50/50 tests on two models start"))
        return;
    double o[2][2] = {{0}};
    for (int i = 0; i < NUNITS; i++) {
        int a = arm_of(e, "m-a", unit_id(i)), b = arm_of(e, "m-b", unit_id(i));
        if (a >= 0 && b >= 0)
            o[a][b]++;
    }
    double chi2 = 0, rows[2] = {o[0][0] + o[0][1], o[1][0] + o[1][1]};
    double cols[2] = {o[0][0] + o[1][0], o[0][1] + o[1][1]};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            double exp_ab = rows[a] * cols[b] / NUNITS;
            chi2 += (o[a][b] - exp_ab) * (o[a][b] - exp_ab) / exp_ab;
        }
    double p = chi2_p1(chi2), overlap = o[1][1] / NUNITS;
    tap_diag("2x2 table: tt %.0f tc %.0f ct %.0f cc %.0f; overlap %.4f, chi2 %.3f, p %.4f", o[1][1],
             o[1][0], o[0][1], o[0][0], overlap, chi2, p);
    ok(o[0][0] + o[0][1] + o[1][0] + o[1][1] == NUNITS, "every unit routed in both tests");
    ok(fabs(overlap - 0.25) < 4 * sqrt(0.25 * 0.75 / NUNITS),
       "treatment sets of two tests overlap by ~25%% (%.4f, within 4 sigma)", overlap);
    ok(p > 0.001, "assignments under two salts are independent: 2x2 chi-square p %.4f > 0.001", p);
    sl_engine_delete(e);
}

static void test_stickiness(void)
{
    struct sl_engine *e = new_engine(100);
    struct sl_engine *e2 = new_engine(100);
    if (!ok(e && e2 && start_test(e, "stick", "m-stick", SL_ROUTING_HASH, 50) == 0 &&
                start_test(e2, "stick", "m-stick", SL_ROUTING_HASH, 50) == 0,
            "the same hash test starts in two engines"))
        return;
    long differ = 0;
    for (int i = 0; i < NUNITS / 10; i++) {
        const char *u = unit_id(i);
        int a = arm_of(e, "m-stick", u);
        for (int k = 0; k < 3; k++)
            differ += arm_of(e, "m-stick", u) != a;
        differ += arm_of(e, "stick", u) != a;    /* by test id */
        differ += arm_of(e2, "m-stick", u) != a; /* another engine, same salt */
    }
    is_int(differ, 0,
           "a unit gets the same arm on every route, by model or test id, in any engine");
    sl_engine_delete(e);
    sl_engine_delete(e2);
}

/* ---- sticky routing ------------------------------------------------------ */

static void test_sticky_memory(void)
{
    enum { N = 5000 };
    static signed char first[N];
    struct sl_engine *e = new_engine(100);
    if (!ok(e && start_test(e, "sticky", "m-sticky", SL_ROUTING_STICKY, 50) == 0,
            "sticky test starts"))
        return;
    for (int i = 0; i < N; i++)
        first[i] = (signed char)arm_of(e, "m-sticky", unit_id(i));
    sl_engine_set_allocation(e, "sticky", 10, "test", "lower", NULL);
    long kept = 0, first_treat = 0, hash_would_move = 0;
    for (int i = 0; i < N; i++) {
        const char *u = unit_id(i);
        first_treat += first[i] == 1;
        kept += arm_of(e, "m-sticky", u) == first[i] && arm_of(e, "sticky", u) == first[i];
        hash_would_move += first[i] == 1 && sl_bucket("sticky", 6, u, strlen(u)) >= 0.10;
    }
    is_int(kept, N, "after lowering treatment to 10% every unit keeps its first arm");
    ok(hash_would_move > first_treat / 2,
       "the check bites: %ld of %ld treatment units would have left under plain hashing",
       hash_would_move, first_treat);
    long fresh_treat = 0;
    for (int i = N; i < N + 20000; i++)
        fresh_treat += arm_of(e, "m-sticky", unit_id(i)) == 1;
    ok(fabs(fresh_treat / 20000.0 - 0.10) < 4 * sqrt(0.1 * 0.9 / 20000),
       "units first seen after the change follow the new 10%% share (%.4f)", fresh_treat / 20000.0);
    sl_engine_delete(e);
}

/* Find a unit among user-<from>... whose current arm under key is want. */
static int find_unit(struct sl_engine *e, const char *key, int want, int from)
{
    for (int i = from; i < from + 1000; i++)
        if (arm_of(e, key, unit_id(i)) == want)
            return i;
    return -1;
}

static void test_sticky_overrides(void)
{
    struct sl_engine *e = new_engine(100);
    if (!ok(e && start_test(e, "ovr", "m-ovr", SL_ROUTING_STICKY, 50) == 0, "sticky test starts"))
        return;
    int c = find_unit(e, "ovr", 0, 0), t = find_unit(e, "ovr", 1, 0);
    char uc[32], ut[32];
    snprintf(uc, sizeof uc, "%s", unit_id(c));
    snprintf(ut, sizeof ut, "%s", unit_id(t));
    ok(sl_engine_set_override(e, "ovr", uc, 1, NULL) == 0 &&
           sl_engine_set_override(e, "ovr", ut, 0, NULL) == 0,
       "overrides are accepted");
    ok(arm_of(e, "ovr", uc) == 1 && arm_of(e, "ovr", ut) == 0,
       "an override beats the remembered arm (routing by test id)");
    ok(sl_engine_set_override(e, "ovr", uc, -1, NULL) == 0 &&
           sl_engine_set_override(e, "ovr", ut, -1, NULL) == 0,
       "overrides are removed");
    ok(arm_of(e, "ovr", uc) == 0 && arm_of(e, "ovr", ut) == 1,
       "removing an override restores the remembered arm");

    struct sl_err err = {0};
    ok(sl_engine_set_override(e, "ovr", uc, 2, &err) == -1 && err.code == SL_EINVAL,
       "override arm 2 is refused with SL_EINVAL");
    ok(sl_engine_set_override(e, "no-such", uc, 1, &err) == -1 && err.code == SL_ENOTFOUND,
       "override on an unknown test is refused with SL_ENOTFOUND");
    ok(start_test(e, "hashed", "m-hashed", SL_ROUTING_HASH, 50) == 0 &&
           sl_engine_set_override(e, "hashed", uc, 1, &err) == -1 && err.code == SL_EINVAL,
       "override on a hash-routed test is refused with SL_EINVAL: %s", err.msg);
    sl_engine_delete(e);
}

/* Bug: engine.c sl_builder_test builds overrides only for the entry keyed by
 * the test id (`if (key == t->cfg.id)`), so the model's entry - the key real
 * traffic uses - carries none and every override is ignored there. */
static void test_bug_override_ignored_when_routing_by_model(void)
{
    struct sl_engine *e = new_engine(100);
    if (!ok(e && start_test(e, "ovm", "m-ovm", SL_ROUTING_STICKY, 50) == 0, "sticky test starts"))
        return;
    int c = find_unit(e, "m-ovm", 0, 0);
    char uc[32];
    snprintf(uc, sizeof uc, "%s", unit_id(c));
    sl_engine_set_override(e, "ovm", uc, 1, NULL);
    is_int(arm_of(e, "ovm", uc), 1, "override applies when routing by test id");
    is_int(arm_of(e, "m-ovm", uc), 1,
           "override_ignored_when_routing_by_model: override applies when routing by model id");
    /* A unit never routed before: the override must win from its first route. */
    const char *uf = "fresh-unit";
    int hash_arm = sl_bucket("ovm", 3, uf, strlen(uf)) < 0.5;
    sl_engine_set_override(e, "ovm", uf, !hash_arm, NULL);
    is_int(arm_of(e, "m-ovm", uf), !hash_arm,
           "override_ignored_when_routing_by_model: a new unit's override wins on the model key");
    sl_engine_delete(e);
}

/* ---- weighted round robin and random ------------------------------------- */

static void check_wrr(double pct)
{
    enum { N = 100000, W = 1000 };
    static int prefix[N + 1];
    char id[32], model[32];
    snprintf(id, sizeof id, "wrr-%g", pct);
    snprintf(model, sizeof model, "m-wrr-%g", pct);
    struct sl_engine *e = new_engine(100);
    if (!ok(e && start_test(e, id, model, SL_ROUTING_WRR, pct) == 0, "%s starts", id))
        return;
    prefix[0] = 0;
    for (int k = 0; k < N; k++)
        prefix[k + 1] = prefix[k] + (arm_of(e, model, "same-unit") == 1);
    double want = W * pct / 100, worst = 0;
    for (int k = 0; k + W <= N; k++)
        worst = fmax(worst, fabs(prefix[k + W] - prefix[k] - want));
    tap_diag("wrr %g%%: worst deviation over every run of %d consecutive requests: %.1f", pct, W,
             worst);
    ok(worst <= 2,
       "weighted round robin at %g%%: every run of %d consecutive requests has %g +-2 "
       "in treatment (worst %.1f)",
       pct, W, want, worst);
    sl_engine_delete(e);
}

static void test_random(void)
{
    enum { N = 100000 };
    struct sl_engine *e = new_engine(100);
    if (!ok(e && start_test(e, "rnd", "m-rnd", SL_ROUTING_RANDOM, 30) == 0, "random test starts"))
        return;
    long treat = 0;
    for (int k = 0; k < N; k++)
        treat += arm_of(e, "m-rnd", "same-unit") == 1;
    double sigma = sqrt(0.3 * 0.7 / N);
    tap_diag("random 30%%: %ld of %d requests of one unit in treatment", treat, N);
    ok(fabs((double)treat / N - 0.3) < 4 * sigma,
       "random at 30%%: the share %.4f is within 4 sigma, even for one unit", (double)treat / N);
    sl_engine_delete(e);
}

/* ---- the documented formula ---------------------------------------------- */

static double formula(const char *salt, const char *unit)
{
    XXH64_hash_t seed = XXH3_64bits(salt, strlen(salt));
    XXH64_hash_t h = XXH3_64bits_withSeed(unit, strlen(unit), seed);
    return (double)(h >> 11) * 0x1p-53;
}

static void test_bucket_formula(void)
{
    static const char *const salts[] = {"t-1", "exp-checkout", "c-7", "x"};
    static const char *const units[] = {"user-42", "u", "9f1c2e", "\xc3\xa9l\xc3\xa8ve"};
    int same = 1;
    for (size_t s = 0; s < 4; s++)
        for (size_t u = 0; u < 4; u++)
            same &= sl_bucket(salts[s], strlen(salts[s]), units[u], strlen(units[u])) ==
                    formula(salts[s], units[u]);
    ok(same, "sl_bucket equals (XXH3_64bits_withSeed(unit, XXH3_64bits(salt)) >> 11) * 2^-53");
    char long_unit[SL_ID_MAX + 1];
    memset(long_unit, 'z', SL_ID_MAX);
    long_unit[SL_ID_MAX] = '\0';
    ok(sl_bucket("t-1", 3, long_unit, SL_ID_MAX) == formula("t-1", long_unit),
       "sl_bucket follows the formula for a %d-byte unit", SL_ID_MAX);
    double lo = 1, hi = 0;
    for (int i = 0; i < NUNITS; i++) {
        const char *u = unit_id(i);
        double f = sl_bucket("range", 5, u, strlen(u));
        lo = fmin(lo, f);
        hi = fmax(hi, f);
    }
    ok(lo >= 0 && hi < 1 && lo < 0.001 && hi > 0.999, "sl_bucket spans [0,1) (min %.6f, max %.6f)",
       lo, hi);
}

/* ---- keys, states and several tests -------------------------------------- */

static void test_keys(void)
{
    struct sl_engine *e = new_engine(100);
    struct sl_route r;
    if (!ok(e && add_model(e, "idle") == 0 &&
                start_test(e, "ta", "m-ta", SL_ROUTING_HASH, 50) == 0 &&
                start_test(e, "tb", "m-tb", SL_ROUTING_HASH, 100) == 0,
            "one idle model and two tests start"))
        return;
    ok(sl_engine_route(e, "idle", "u1", &r, NULL) == 0 && r.kind == SL_KIND_NONE && r.arm == -1 &&
           r.id == NULL && strcmp(r.variant, "live") == 0 && strcmp(r.version, "v1") == 0 &&
           r.cell == NULL,
       "a model with nothing running routes to its live version with kind NONE");
    long wrong = 0;
    for (int i = 0; i < 2000; i++) {
        const char *u = unit_id(i);
        struct sl_route ra, rb, rt;
        sl_engine_route(e, "m-ta", u, &ra, NULL);
        sl_engine_route(e, "ta", u, &rt, NULL);
        sl_engine_route(e, "m-tb", u, &rb, NULL);
        wrong += strcmp(ra.id, "ta") != 0 || strcmp(ra.model, "m-ta") != 0;
        wrong += strcmp(rt.id, "ta") != 0 || rt.arm != ra.arm || strcmp(rt.model, "m-ta") != 0;
        wrong += strcmp(rb.id, "tb") != 0 || rb.arm != 1 || strcmp(rb.variant, "treatment") != 0;
    }
    is_int(wrong, 0, "each running test applies only to its own model; routing by test id agrees");
    ok(sl_engine_route(e, "tb", "u1", &r, NULL) == 0 && r.kind == SL_KIND_TEST &&
           strcmp(r.model, "m-tb") == 0 && strcmp(r.version, "v2") == 0,
       "routing by test id answers the test, its model and version");

    ok(sl_engine_act(e, "ta", SL_VERB_PAUSE, NULL, NULL, NULL) == 0, "test ta pauses");
    long not_control = 0;
    for (int i = 0; i < 2000; i++)
        not_control += arm_of(e, "m-ta", unit_id(i)) != 0 || arm_of(e, "ta", unit_id(i)) != 0;
    is_int(not_control, 0, "a paused test routes every unit to control");
    ok(sl_engine_act(e, "ta", SL_VERB_RESUME, NULL, NULL, NULL) == 0 &&
           find_unit(e, "m-ta", 1, 0) >= 0,
       "after resume units reach treatment again");
    sl_engine_delete(e);
}

static void check_refused(struct sl_engine *e, const char *key, const char *unit, int code,
                          const char *what)
{
    struct sl_err err = {0};
    struct sl_route r;
    int rc = sl_engine_route(e, key, unit, &r, &err);
    ok(rc == -1 && err.code == code && err.msg[0] != '\0', "%s is refused with %s (%s)", what,
       sl_err_name(code), err.msg);
}

static void test_bad_input(void)
{
    struct sl_engine *e = new_engine(100);
    if (!ok(e && start_test(e, "bad", "m-bad", SL_ROUTING_HASH, 50) == 0, "test starts"))
        return;
    char big[SL_ID_MAX + 2], max[SL_ID_MAX + 1];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memset(max, 'k', sizeof max - 1);
    max[sizeof max - 1] = '\0';
    check_refused(e, "m-bad", "", SL_EINVAL, "an empty unit");
    check_refused(e, "m-bad", NULL, SL_EINVAL, "a NULL unit");
    check_refused(e, "m-bad", big, SL_EINVAL, "a 257-byte unit");
    check_refused(e, "", "u1", SL_EINVAL, "an empty key");
    check_refused(e, big, "u1", SL_EINVAL, "a 257-byte key");
    check_refused(e, "no-such-model", "u1", SL_ENOTFOUND, "an unknown model");
    struct sl_route r;
    ok(sl_engine_route(e, "m-bad", max, &r, NULL) == 0 && r.kind == SL_KIND_TEST,
       "a unit of exactly %d bytes routes", SL_ID_MAX);
    struct sl_test_config c = {.id = "draft",
                               .name = "d",
                               .model = "m-bad",
                               .control_version = "v1",
                               .treatment_version = "v2"};
    sl_engine_create_test(e, &c, NULL, NULL);
    check_refused(e, "draft", "u1", SL_ESTATE, "routing to a draft test by id");
    sl_engine_delete(e);
}

/* Bug: sluice.h promises route strings stay valid until this thread's next
 * route/record call, but engine.c sl_builder_test/sl_builder_canary point the
 * entry's key and id at the test's own config copy (t->cfg.id), which
 * sl_history_evict frees at once - not at the cell's copy, which is retired
 * safely. The same dangling key is read by sl_router_find in any thread still
 * on the old snapshot. Run in a child so a crash or an ASan report is one
 * failed check. */
static void test_bug_route_id_dangles_after_eviction(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct sl_engine *e = new_engine(0); /* history 0: evicted when it finishes */
        struct sl_route r;
        if (!e || start_test(e, "evicted-test", "m-evict", SL_ROUTING_HASH, 50) ||
            sl_engine_route(e, "m-evict", "u1", &r, NULL))
            _exit(2);
        sl_engine_act(e, "evicted-test", SL_VERB_STOP, NULL, NULL, NULL);
        char copy[13];
        memcpy(copy, r.id, sizeof copy); /* reads freed memory when the bug is present */
        _exit(memcmp(copy, "evicted-test", sizeof copy) == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "route_id_dangles_after_eviction: the route's test id survives the test's eviction "
       "(child status %d)",
       status);
}

/* Each publish retires the previous routing snapshot; they were freed only at
 * a tick, so starting N tests between ticks kept N snapshots of up to N
 * entries (RSS grew with N^2). Now each publish frees what no reader sees. */
static void test_bug_snapshots_pile_up_between_ticks(void)
{
    struct sl_engine *e = new_engine(10);
    char id[32], model[32];
    bool started = true;
    for (int i = 0; i < 100 && started; i++) {
        snprintf(id, sizeof id, "pile-%d", i);
        snprintf(model, sizeof model, "pile-m%d", i);
        started = start_test(e, id, model, SL_ROUTING_HASH, 50) == 0;
    }
    ok(started, "snapshots_pile_up: 100 tests started without a tick");
    size_t left = sl_router_reclaim(&e->router);
    ok(left == 0, "snapshots_pile_up: no retired snapshot was left for the tick (%zu)", left);
    sl_engine_delete(e);
}

int main(void)
{
    test_bug_snapshots_pile_up_between_ticks();
    test_uniformity();
    test_monotone_ramp();
    test_scheduled_ramp();
    test_partial_step();
    test_independence();
    test_stickiness();
    test_sticky_memory();
    test_sticky_overrides();
    test_bug_override_ignored_when_routing_by_model();
    check_wrr(30);
    check_wrr(50);
    check_wrr(1);
    test_random();
    test_bucket_formula();
    test_keys();
    test_bad_input();
    test_bug_route_id_dangles_after_eviction();
    return tap_done();
}
