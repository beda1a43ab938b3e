/* simulate.c - `sluice simulate SCENARIO.json`: a rollout in virtual time.
 *
 * Builds a real in-memory engine with a virtual clock and the policy host
 * (built-in policies plus --policies DIR), registers the scenario's models,
 * creates and starts its test or canary, then steps the clock one tick at a
 * time: each tick routes the scenario's traffic through the engine, records
 * each served variant's simulated outcome (error rate, lognormal latency,
 * Bernoulli custom metrics, changing at given hours), and ticks the engine
 * so the policies decide. Every event is printed as the decision timeline;
 * the run ends when the rollout finishes or the scenario's hours are up,
 * with a verdict and the statistics. Same scenario and seed, same output:
 * the simulated traffic comes from a seeded splitmix64 and the engine only
 * sees the virtual clock. Nothing here talks to a daemon. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "codec.h"
#include "config.h"
#include "host.h"
#include "sluice.h"
#include "snapshot.h"

#define SL_SIM_MAX_CHANGES 16
#define SL_SIM_MAX_METRICS 8
#define SL_SIM_MAX_POINTS  20000

struct sl_behaviour {
    double at_hours;
    double error_rate, median_ms, sigma;
    double record_rate; /* share of served requests whose result is recorded (SRM) */
    double metric_p[SL_SIM_MAX_METRICS]; /* Bernoulli rate per declared metric */
};

struct sl_arm_sim {
    struct sl_behaviour steps[SL_SIM_MAX_CHANGES + 1]; /* [0] from hour 0 */
    int nsteps;
};

struct sl_point {
    double hours, alloc, err[2], p99[2];
};

/* --shadow: a candidate policy in a host of its own (its own ctx.state),
 * asked on every evaluation of its hook beside the configured policies, on
 * the same engine at the same moment; never applied. */
struct sl_shadow {
    const char *file;
    const cJSON *params; /* --shadow-params, else the configured entry's of the same name */
    struct sl_host *host;
    struct sl_evaluator inner; /* the configured policies' host */
    int hook;
    char name[64], version[32], entry[4096];
    bool asking; /* inside the candidate's call: its events are its own */
    long evaluations, differing, failures;
    char first_failure[512];
    cJSON *runs;    /* consecutive evaluations that differ the same way, merged */
    char last[256]; /* how the newest run differs, while it goes on */
    cJSON *run;     /* that run, or NULL after an evaluation that agreed */
};

struct sl_sim {
    double now, hours, tick_s, rps[64][2]; /* rps[i] = {at_hours, rps} */
    int nrps;
    unsigned units;
    uint64_t rng;
    struct sl_engine *eng;
    struct sl_host *host;
    char id[SL_ID_MAX + 1];
    int kind; /* SL_KIND_TEST or SL_KIND_CANARY */
    struct sl_arm_sim arm[2];
    const char *metric_names[SL_SIM_MAX_METRICS];
    int metric_index[SL_SIM_MAX_METRICS];
    int nmetrics;
    bool json;
    bool bar, bar_shown; /* a progress bar on a terminal's stderr */
    char last_actor[64], last_action[32], last_reason[512];
    const char *outcome; /* "promoted" or "rolled back", from the timeline */
    cJSON *timeline;
    struct sl_point *points;
    size_t npoints;
    struct sl_shadow shadow;
};

/* ---- randomness: splitmix64, so a seed means the same run everywhere ------------------- */

static double sl_sim_unit(struct sl_sim *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

static double sl_sim_lognormal(struct sl_sim *s, double median, double sigma)
{
    double u1 = 1 - sl_sim_unit(s), u2 = sl_sim_unit(s);
    return median * exp(sigma * sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}

/* ---- the scenario --------------------------------------------------------------------- */

__attribute__((format(printf, 1, 2))) static int sl_sim_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sluice simulate: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

static double sl_num_or(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* One behaviour object over a base: keys error_rate, latency {median_ms, sigma},
 * metrics {name: rate}. */
static int sl_sim_behaviour(struct sl_sim *s, const cJSON *o, struct sl_behaviour *b,
                            const char *where)
{
    b->error_rate = sl_num_or(o, "error_rate", b->error_rate);
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(o, "latency");
    b->median_ms = sl_num_or(lat, "median_ms", b->median_ms);
    b->sigma = sl_num_or(lat, "sigma", b->sigma);
    b->record_rate = sl_num_or(o, "record_rate", b->record_rate);
    if (!(b->error_rate >= 0 && b->error_rate <= 1) || !(b->median_ms > 0) || !(b->sigma >= 0) ||
        !(b->record_rate >= 0 && b->record_rate <= 1))
        return sl_sim_fail("%s: error_rate must be in [0,1], latency.median_ms > 0, "
                           "latency.sigma >= 0, record_rate in [0,1]",
                           where);
    static const char *const keys[] = {"at_hours",    "error_rate", "latency", "metrics",
                                       "record_rate", "changes",    NULL};
    for (const cJSON *k = o->child; k; k = k->next) {
        int i = 0;
        while (keys[i] && strcmp(keys[i], k->string) != 0)
            i++;
        if (!keys[i])
            return sl_sim_fail("%s: unknown key \"%s\"", where, k->string);
    }
    for (const cJSON *k = lat ? lat->child : NULL; k; k = k->next)
        if (strcmp(k->string, "median_ms") && strcmp(k->string, "sigma"))
            return sl_sim_fail("%s.latency: unknown key \"%s\" (median_ms, sigma)", where,
                               k->string);
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(o, "metrics"), *m;
    if (ms && !cJSON_IsObject(ms))
        return sl_sim_fail("%s.metrics: an object {name: rate}", where);
    cJSON_ArrayForEach(m, ms)
    {
        int j = 0;
        while (j < s->nmetrics && strcmp(s->metric_names[j], m->string) != 0)
            j++;
        if (j == s->nmetrics || !cJSON_IsNumber(m) || m->valuedouble < 0 || m->valuedouble > 1)
            return sl_sim_fail("%s: metrics must be declared metrics with a rate in [0,1]", where);
        b->metric_p[j] = m->valuedouble;
    }
    return 0;
}

static int sl_sim_arm(struct sl_sim *s, const cJSON *v, int arm, const char *name)
{
    struct sl_arm_sim *a = &s->arm[arm];
    struct sl_behaviour base = {
        .error_rate = 0.01, .median_ms = 50, .sigma = 0.3, .record_rate = 1};
    if (!cJSON_IsObject(v))
        return sl_sim_fail("behaviour.%s: missing (an object)", name);
    if (sl_sim_behaviour(s, v, &base, name))
        return -1;
    a->steps[a->nsteps++] = base;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "changes"))
    {
        if (a->nsteps > SL_SIM_MAX_CHANGES)
            return sl_sim_fail("behaviour.%s.changes: at most 16", name);
        struct sl_behaviour b = a->steps[a->nsteps - 1];
        b.at_hours = sl_num_or(c, "at_hours", -1);
        if (!(b.at_hours > a->steps[a->nsteps - 1].at_hours))
            return sl_sim_fail("behaviour.%s.changes: at_hours must increase", name);
        if (sl_sim_behaviour(s, c, &b, name))
            return -1;
        a->steps[a->nsteps++] = b;
    }
    return 0;
}

static double sl_sim_clock(void *ud)
{
    return ((const struct sl_sim *)ud)->now;
}

static void sl_shadow_failed(struct sl_shadow *w, const char *msg);

static void sl_sim_sink(void *ud, const struct sl_event *e)
{
    struct sl_sim *s = ud;
    if (s->shadow.asking) { /* never applied: not the rollout's story either */
        if (e->kind == SL_EVENT_ERROR)
            sl_shadow_failed(&s->shadow, e->reason);
        return;
    }
    /* model registrations, health checks and policy loads are not the rollout's story */
    if (e->kind == SL_EVENT_MODEL || e->kind == SL_EVENT_HEALTH || e->kind == SL_EVENT_POLICY)
        return;
    /* A policy's decision and the change it made carry the same words: keep one. */
    if (strcmp(e->actor, s->last_actor) == 0 && strcmp(e->action, s->last_action) == 0 &&
        strcmp(e->reason, s->last_reason) == 0)
        return;
    snprintf(s->last_actor, sizeof s->last_actor, "%s", e->actor);
    snprintf(s->last_action, sizeof s->last_action, "%s", e->action);
    snprintf(s->last_reason, sizeof s->last_reason, "%s", e->reason);
    if (strcmp(e->action, "promote") == 0 || strcmp(e->action, "rollback") == 0)
        s->outcome = e->action[0] == 'p' ? "promoted" : "rolled back";
    double h = e->at / 3600.0;
    cJSON *j = sl_snap_event(e);
    if (j) {
        cJSON_DeleteItemFromObject(j, "at");
        cJSON_AddNumberToObject(j, "hours", round(h * 1000) / 1000);
        cJSON_AddItemToArray(s->timeline, j);
    }
    if (s->json)
        return;
    if (s->bar_shown) { /* the timeline line replaces the bar; the next tick redraws it */
        fputs("\r\033[K", stderr);
        s->bar_shown = false;
    }
    printf("%7.2fh  %-20.20s %-14s %s", h, e->actor, e->action, e->reason);
    if (!isnan(e->value))
        printf(" [%g]", e->value);
    putchar('\n');
}

static int sl_sim_models(struct sl_sim *s, const cJSON *models)
{
    const cJSON *m;
    struct sl_err err;
    if (!cJSON_IsArray(models) || cJSON_GetArraySize(models) == 0)
        return sl_sim_fail("%s", "models: a non-empty array of {id, version} is required");
    cJSON_ArrayForEach(m, models)
    {
        struct sl_codec_version v;
        int rc = sl_codec_version_from(&v, m, &err) || sl_engine_add_version(s->eng, &v.cfg, &err);
        sl_codec_version_destroy(&v);
        if (rc)
            return sl_sim_fail("models: %s", err.msg);
    }
    return 0;
}

static int sl_sim_rollout(struct sl_sim *s, const cJSON *sc)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(sc, "test"),
                *k = cJSON_GetObjectItemCaseSensitive(sc, "canary"), *m;
    struct sl_err err = {0};
    if (!t == !k)
        return sl_sim_fail("%s", "the scenario needs exactly one of \"test\" or \"canary\"");
    s->kind = t ? SL_KIND_TEST : SL_KIND_CANARY;
    /* Behaviours first, so a bad one is refused before anything happens. */
    cJSON_ArrayForEach(
        m, cJSON_GetObjectItemCaseSensitive(t ? t : k, t ? "success_metrics" : "metrics"))
    {
        if (cJSON_IsString(m) && s->nmetrics < SL_SIM_MAX_METRICS)
            s->metric_names[s->nmetrics++] = strdup(m->valuestring);
    }
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(sc, "behaviour");
    const char *names[2] = {t ? "control" : "stable", t ? "treatment" : "canary"};
    for (int arm = 0; arm < 2; arm++)
        if (sl_sim_arm(s, cJSON_GetObjectItemCaseSensitive(b, names[arm]), arm, names[arm]))
            return -1;
    int rc;
    if (t) {
        struct sl_codec_test c;
        rc =
            sl_codec_test_from(&c, t, &err) ||
            (c.cfg.policies && sl_host_check_config(s->host, c.cfg.policies, SL_KIND_TEST, &err)) ||
            sl_engine_create_test(s->eng, &c.cfg, s->id, &err);
        sl_codec_test_destroy(&c);
    } else {
        struct sl_codec_canary c;
        rc = sl_codec_canary_from(&c, k, &err) ||
             (c.cfg.policies &&
              sl_host_check_config(s->host, c.cfg.policies, SL_KIND_CANARY, &err)) ||
             sl_engine_create_canary(s->eng, &c.cfg, s->id, &err);
        sl_codec_canary_destroy(&c);
    }
    if (rc)
        return sl_sim_fail(t ? "test: %s" : "canary: %s", err.msg);
    for (int j = 0; j < s->nmetrics; j++)
        s->metric_index[j] = sl_engine_metric_index(s->eng, s->id, s->metric_names[j]);
    return 0;
}

static int sl_sim_traffic(struct sl_sim *s, const cJSON *sc)
{
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(sc, "traffic"), *p;
    s->hours = sl_num_or(sc, "hours", 24);
    s->tick_s = sl_num_or(sc, "tick_seconds", 60);
    double units = sl_num_or(sc, "units", 100000);
    if (!(s->hours > 0 && s->hours <= 24 * 90) || !(s->tick_s >= 1 && s->tick_s <= 3600) ||
        !(units >= 1 && units <= 1e9) || s->hours * 3600 < s->tick_s)
        return sl_sim_fail("%s", "hours must be in (0, 2160] and at least one tick, "
                                 "tick_seconds in [1, 3600], units in [1, 1e9]");
    s->units = (unsigned)units;
    cJSON_ArrayForEach(p, tr)
    {
        double at = sl_num_or(p, "at_hours", -1), rps = sl_num_or(p, "rps", -1);
        if (s->nrps == 64 || !(at >= 0) || !(rps >= 0 && rps <= 100000) ||
            (s->nrps && !(at > s->rps[s->nrps - 1][0])))
            return sl_sim_fail("%s", "traffic: up to 64 {at_hours, rps} with increasing "
                                     "at_hours and rps in [0, 100000]");
        s->rps[s->nrps][0] = at;
        s->rps[s->nrps++][1] = rps;
    }
    if (s->nrps == 0 || s->rps[0][0] != 0)
        return sl_sim_fail("%s", "traffic: the first point must be at_hours 0");
    return 0;
}

/* ---- running it ----------------------------------------------------------------------- */

static const struct sl_behaviour *sl_sim_now(const struct sl_arm_sim *a, double hours)
{
    int i = a->nsteps - 1;
    while (i > 0 && a->steps[i].at_hours > hours)
        i--;
    return &a->steps[i];
}

static void sl_sim_serve(struct sl_sim *s, double hours)
{
    int r = s->nrps - 1;
    while (r > 0 && s->rps[r][0] > hours)
        r--;
    long n = lround(s->rps[r][1] * s->tick_s);
    for (long i = 0; i < n; i++) {
        char unit[24];
        snprintf(unit, sizeof unit, "u%u", (unsigned)(sl_sim_unit(s) * s->units));
        struct sl_route rt;
        if (sl_engine_route(s->eng, s->id, unit, &rt, NULL) || rt.kind == SL_KIND_NONE)
            continue;
        const struct sl_behaviour *b = sl_sim_now(&s->arm[rt.arm], hours);
        if (b->record_rate < 1 && sl_sim_unit(s) >= b->record_rate)
            continue;
        bool ok = sl_sim_unit(s) >= b->error_rate;
        struct sl_sample smp[SL_SIM_MAX_METRICS];
        size_t ns = 0;
        for (int j = 0; j < s->nmetrics; j++)
            if (s->metric_index[j] >= 0)
                smp[ns++] = (struct sl_sample){s->metric_index[j],
                                               ok && sl_sim_unit(s) < b->metric_p[j] ? 1 : 0};
        sl_engine_record_route(s->eng, &rt, ok, sl_sim_lognormal(s, b->median_ms, b->sigma), smp,
                               ns, NULL);
    }
}

static cJSON *sl_sim_snapshot(struct sl_sim *s)
{
    const double win[1] = {s->tick_s * 5};
    return s->kind == SL_KIND_TEST ? sl_snap_test(s->eng, s->id, win, 1)
                                   : sl_snap_canary(s->eng, s->id, win, 1);
}

/* On a terminal: "[#####.....]  42%  2.5 h" on stderr, redrawn in place. */
static void sl_sim_bar(struct sl_sim *s, double done)
{
    char bar[41];
    int full = (int)(done * 40);
    for (int i = 0; i < 40; i++)
        bar[i] = i < full ? '#' : '.';
    bar[40] = '\0';
    fprintf(stderr, "\r[%s] %3.0f%%  %.1f h\033[K", bar, done * 100, s->now / 3600.0);
    fflush(stderr);
    s->bar_shown = true;
}

static double sl_jnum(const cJSON *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save, *k = strtok_r(buf, ".", &save); o && k; k = strtok_r(NULL, ".", &save))
        o = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(o) ? o->valuedouble : NAN;
}

static void sl_sim_sample(struct sl_sim *s, cJSON *snap, double hours)
{
    if (s->npoints == SL_SIM_MAX_POINTS)
        return;
    char wname[32];
    snprintf(wname, sizeof wname, "%gs", s->tick_s * 5);
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(snap, "windows"), wname);
    const char *arms[2] = {s->kind == SL_KIND_TEST ? "control" : "stable",
                           s->kind == SL_KIND_TEST ? "treatment" : "canary"};
    struct sl_point p = {.hours = hours,
                         .alloc = s->kind == SL_KIND_TEST ? sl_jnum(snap, "allocation.treatment")
                                                          : sl_jnum(snap, "traffic")};
    for (int a = 0; a < 2; a++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(w, arms[a]);
        p.err[a] = sl_jnum(m, "error_rate");
        p.p99[a] = sl_jnum(m, "latency.p99");
    }
    s->points[s->npoints++] = p;
}

static bool sl_sim_finished(const cJSON *snap)
{
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(snap, "status"));
    static const char *const done[] = {"completed", "failed", "rolled_back", "promoted", NULL};
    for (int i = 0; st && done[i]; i++)
        if (strcmp(st, done[i]) == 0)
            return true;
    return false;
}

/* ---- the picture ---------------------------------------------------------------------- */

static void sl_sim_series(FILE *f, const struct sl_sim *s, int panel, int arm, double ymax,
                          const char *colour, const char *name)
{
    const double x0 = 60, w = 840, h = 160, y0 = 40 + panel * 200.0;
    fprintf(f,
            "<polyline class=\"series\" data-series=\"%s\" fill=\"none\" stroke=\"%s\" points=\"",
            name, colour);
    for (size_t i = 0; i < s->npoints; i++) {
        const struct sl_point *p = &s->points[i];
        double v = panel == 0 ? p->alloc : panel == 1 ? p->err[arm] * 100 : p->p99[arm];
        if (isnan(v))
            continue;
        fprintf(f, "%.1f,%.1f ", x0 + w * p->hours / (s->now / 3600.0),
                y0 + h - h * fmin(v / ymax, 1));
    }
    fputs("\"/>\n", f);
}

static int sl_sim_svg(const struct sl_sim *s, const char *path, const cJSON *decisions)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return sl_sim_fail("cannot write %s", path);
    double emax = 0.1, pmax = 1;
    for (size_t i = 0; i < s->npoints; i++)
        for (int a = 0; a < 2; a++) {
            if (!isnan(s->points[i].err[a]))
                emax = fmax(emax, s->points[i].err[a] * 100);
            if (!isnan(s->points[i].p99[a]))
                pmax = fmax(pmax, s->points[i].p99[a]);
        }
    const char *panel[3] = {"allocation %", "error rate %", "p99 ms"};
    double ymax[3] = {100, emax * 1.1, pmax * 1.1};
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"660\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"960\" height=\"660\" fill=\"white\"/>\n");
    for (int p = 0; p < 3; p++) {
        double y0 = 40 + p * 200.0;
        fprintf(f,
                "<rect x=\"60\" y=\"%.0f\" width=\"840\" height=\"160\" fill=\"none\" "
                "stroke=\"#ccc\"/>\n<text x=\"60\" y=\"%.0f\">%s (max %.3g)</text>\n",
                y0, y0 - 6, panel[p], ymax[p]);
        if (p == 0) {
            sl_sim_series(f, s, 0, 1, ymax[0], "#1f77b4", "allocation");
            continue;
        }
        const char *names[2][2] = {{"error_rate_base", "error_rate_candidate"},
                                   {"p99_base", "p99_candidate"}};
        sl_sim_series(f, s, p, 0, ymax[p], "#7f7f7f", names[p - 1][0]);
        sl_sim_series(f, s, p, 1, ymax[p], "#d62728", names[p - 1][1]);
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, decisions)
    {
        double x = 60 + 840 * sl_num_or(e, "hours", 0) / (s->now / 3600.0);
        fprintf(f,
                "<line class=\"decision\" x1=\"%.1f\" x2=\"%.1f\" y1=\"40\" y2=\"600\" "
                "stroke=\"#2ca02c\" stroke-dasharray=\"3,3\"><title>",
                x, x);
        for (const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(e, "action")); c && *c; c++)
            fputc(*c == '<' || *c == '&' ? ' ' : *c, f);
        fputs("</title></line>\n", f);
    }
    fprintf(f,
            "<text x=\"60\" y=\"640\">hours 0 to %g; grey: %s, red: %s; green: decisions</text>\n"
            "</svg>\n",
            s->now / 3600.0, s->kind == SL_KIND_TEST ? "control" : "stable",
            s->kind == SL_KIND_TEST ? "treatment" : "canary");
    return fclose(f) == 0 ? 0 : sl_sim_fail("cannot write %s", path);
}

/* ---- --shadow: a candidate beside the configured policies --------------------------- */

/* The candidate's error events are counted, the first kept (it names the
 * candidate's file: the host loads it where it is). */
static void sl_shadow_failed(struct sl_shadow *w, const char *msg)
{
    if (w->failures++ == 0)
        snprintf(w->first_failure, sizeof w->first_failure, "%s", msg);
}

static void sl_shadow_say(const struct sl_decision *d, char *buf, size_t n)
{
    if (!d)
        snprintf(buf, n, "none");
    else if (d->hook == SL_HOOK_RECOMMEND)
        snprintf(buf, n, "%s", sl_recommendation_name(d->recommendation));
    else if (d->action == SL_DECIDE_SET_TRAFFIC)
        snprintf(buf, n, "set_traffic %g%%", d->treatment);
    else
        snprintf(buf, n, "%s", sl_decide_name(d->action));
}

/* What the judge acts on among the configured decisions of one hook: the
 * strongest guard, the last ramp opinion, the verdict the judge picks. */
static const struct sl_decision *sl_shadow_pick(struct sl_engine *eng, int kind, const char *id,
                                                int hook, const struct sl_decision *d, size_t n)
{
    if (hook == SL_HOOK_RECOMMEND || hook == SL_HOOK_PROMOTION) {
        int i = sl_engine_verdict_pick(eng, kind, id, d, n);
        return i < 0 ? NULL : &d[i];
    }
    const struct sl_decision *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (d[i].shadow || d[i].action == SL_DECIDE_NONE)
            continue;
        if (hook != SL_HOOK_GUARD || !best ||
            sl_decide_rank(d[i].action) > sl_decide_rank(best->action))
            best = &d[i];
    }
    return best;
}

static cJSON *sl_shadow_side(const char *said, const struct sl_decision *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "decision", said);
    if (d) {
        cJSON_AddStringToObject(o, "policy", d->policy);
        cJSON_AddStringToObject(o, "reason", d->reason);
    }
    return o;
}

static void sl_shadow_compare(struct sl_sim *s, const struct sl_decision *configured,
                              const struct sl_decision *candidate)
{
    struct sl_shadow *w = &s->shadow;
    char a[96], b[96], key[256];
    sl_shadow_say(configured, a, sizeof a);
    sl_shadow_say(candidate, b, sizeof b);
    w->evaluations++;
    if (strcmp(a, b) == 0) {
        w->run = NULL;
        return;
    }
    w->differing++;
    double hours = s->now / 3600.0;
    snprintf(key, sizeof key, "%s|%s", a, b);
    if (w->run && strcmp(w->last, key) == 0) {
        cJSON_SetNumberValue(cJSON_GetObjectItem(w->run, "to_hours"), hours);
        cJSON *n = cJSON_GetObjectItem(w->run, "evaluations");
        cJSON_SetNumberValue(n, n->valuedouble + 1);
        return;
    }
    snprintf(w->last, sizeof w->last, "%s", key);
    cJSON *run = w->run = cJSON_CreateObject();
    cJSON_AddNumberToObject(run, "from_hours", hours);
    cJSON_AddNumberToObject(run, "to_hours", hours);
    cJSON_AddNumberToObject(run, "evaluations", 1);
    cJSON_AddItemToObject(run, "configured", sl_shadow_side(a, configured));
    cJSON_AddItemToObject(run, "candidate", sl_shadow_side(b, candidate));
    cJSON_AddItemToArray(w->runs, run);
}

/* The engine's evaluator during a --shadow run: the configured policies
 * decide; on the candidate's hook the candidate is asked too, and compared. */
static int sl_shadow_evaluate(void *ud, struct sl_engine *eng, int kind, const char *id, int hook,
                              struct sl_decision *out, size_t max, size_t *nout, struct sl_err *err)
{
    struct sl_sim *s = ud;
    struct sl_shadow *w = &s->shadow;
    int rc = w->inner.evaluate(w->inner.ud, eng, kind, id, hook, out, max, nout, err);
    if (hook != w->hook)
        return rc;
    struct sl_decision cand;
    struct sl_err e;
    w->asking = true;
    int got = sl_host_evaluate_entry(w->host, kind, id, hook, w->entry, &cand, &e);
    w->asking = false;
    sl_shadow_compare(s, rc >= 0 ? sl_shadow_pick(eng, kind, id, hook, out, *nout) : NULL,
                      got == 1 ? &cand : NULL);
    if (got == 1)
        free(cand.inputs);
    return rc;
}

static int sl_shadow_hook(int policy_kind, int kind)
{
    switch (policy_kind) {
    case SL_POLICY_GUARD:
        return SL_HOOK_GUARD;
    case SL_POLICY_RAMP:
        return SL_HOOK_RAMP;
    case SL_POLICY_PROMOTION:
        return kind == SL_KIND_CANARY ? SL_HOOK_PROMOTION : -1;
    case SL_POLICY_RECOMMEND:
        return kind == SL_KIND_TEST ? SL_HOOK_RECOMMEND : -1;
    default:
        return -1;
    }
}

/* The params of the configured entry of the same name, if any: a candidate
 * is usually a new version of a configured policy. */
static const cJSON *sl_shadow_params(const cJSON *cfg, const char *name)
{
    const cJSON *hook;
    cJSON_ArrayForEach(hook, cfg)
    {
        bool list = cJSON_IsArray(hook);
        for (const cJSON *e = list ? hook->child : hook; e; e = list ? e->next : NULL) {
            const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
            if (n && strcmp(n, name) == 0)
                return cJSON_GetObjectItemCaseSensitive(e, "params");
        }
    }
    return NULL;
}

/* Load the candidate into a host of its own (a set of that one file, so its
 * directory's other files stay out) and wrap the evaluator. */
static int sl_shadow_start(struct sl_sim *s, const struct sl_host_opts *base)
{
    struct sl_shadow *w = &s->shadow;
    struct sl_err err = {0};
    struct stat st;
    errno = 0;
    if (stat(w->file, &st) != 0 || !S_ISREG(st.st_mode))
        return sl_sim_fail("--shadow: cannot read %s: %s", w->file,
                           errno ? strerror(errno) : "not a file");
    const char *dirs[1] = {w->file};
    struct sl_host_opts o = *base;
    o.dirs = dirs;
    o.ndirs = 1;
    o.max_failures = 0; /* a failing candidate never pauses the rollout */
    w->inner = sl_engine_evaluator(s->eng);
    w->host = sl_host_new(s->eng, &o, &err);
    sl_engine_set_evaluator(s->eng, &w->inner); /* back to the configured policies */
    struct sl_policyset *set = w->host ? sl_host_policies(w->host) : NULL;
    const char *why = set && sl_policyset_error_count(set) ? sl_policyset_error_at(set, 0, NULL)
                      : !set                               ? err.msg
                      : sl_policyset_count(set) == 0       ? "no policy loaded"
                                                           : NULL;
    if (why && strncmp(why, w->file, strlen(w->file)) == 0) /* it names the file itself */
        return sl_sim_fail("--shadow: %s", why);
    if (why)
        return sl_sim_fail("--shadow %s: %s", w->file, why);
    const struct sl_policy *p = sl_policyset_at(set, 0);
    snprintf(w->name, sizeof w->name, "%s", p->name);
    snprintf(w->version, sizeof w->version, "%s", p->version);
    w->hook = sl_shadow_hook(p->kind, s->kind);
    if (w->hook < 0)
        return sl_sim_fail("--shadow: %s is a %s policy, which a%s %s does not use", w->name,
                           sl_policy_kind_name(p->kind), s->kind == SL_KIND_TEST ? "n" : "",
                           s->kind == SL_KIND_TEST ? "A/B test" : "canary");
    struct sl_test_info t;
    struct sl_canary_info k;
    const char *cfg_text = NULL;
    if (s->kind == SL_KIND_TEST && sl_engine_test(s->eng, s->id, &t, NULL) == 0)
        cfg_text = t.config->policies;
    else if (s->kind == SL_KIND_CANARY && sl_engine_canary(s->eng, s->id, &k, NULL) == 0)
        cfg_text = k.config->policies;
    cJSON *cfg = cfg_text ? cJSON_Parse(cfg_text) : NULL;
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "name", w->name);
    const cJSON *params = w->params ? w->params : sl_shadow_params(cfg, w->name);
    if (params)
        cJSON_AddItemToObject(entry, "params", cJSON_Duplicate(params, true));
    char *text = cJSON_PrintUnformatted(entry);
    bool fits = text && strlen(text) < sizeof w->entry;
    if (fits)
        snprintf(w->entry, sizeof w->entry, "%s", text);
    free(text);
    cJSON_Delete(entry);
    cJSON_Delete(cfg);
    if (!fits)
        return sl_sim_fail("--shadow: the configured params of %s are too long", w->name);
    w->runs = cJSON_CreateArray();
    struct sl_evaluator ev = {.ud = s, .evaluate = sl_shadow_evaluate};
    sl_engine_set_evaluator(s->eng, &ev);
    return 0;
}

static void sl_shadow_print(const struct sl_sim *s)
{
    const struct sl_shadow *w = &s->shadow;
    printf("\nshadow: %s %s (%s) beside the configured %s policies: %ld of %ld evaluations "
           "differ\n",
           w->name, w->version, w->file, sl_hook_name(w->hook), w->differing, w->evaluations);
    if (w->failures)
        printf("  the candidate failed %ld times (an abstention each); first: %.*s\n", w->failures,
               (int)strcspn(w->first_failure, "\n"), w->first_failure);
    const cJSON *run;
    cJSON_ArrayForEach(run, w->runs)
    {
        double n = sl_jnum(run, "evaluations");
        printf("  %.2fh", sl_jnum(run, "from_hours"));
        if (n > 1)
            printf(" to %.2fh, %.0f evaluations", sl_jnum(run, "to_hours"), n);
        putchar('\n');
        static const char *const sides[2] = {"configured", "candidate"};
        for (int i = 0; i < 2; i++) {
            const cJSON *c = cJSON_GetObjectItem(run, sides[i]);
            const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(c, "reason"));
            printf("    %-11s %s%s%s\n", sides[i],
                   cJSON_GetStringValue(cJSON_GetObjectItem(c, "decision")), why ? ": " : "",
                   why ? why : "");
        }
    }
}

static cJSON *sl_shadow_json(const struct sl_sim *s)
{
    const struct sl_shadow *w = &s->shadow;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "policy", w->name);
    cJSON_AddStringToObject(o, "version", w->version);
    cJSON_AddStringToObject(o, "hook", sl_hook_name(w->hook));
    cJSON_AddNumberToObject(o, "evaluations", (double)w->evaluations);
    cJSON_AddNumberToObject(o, "differing", (double)w->differing);
    cJSON_AddNumberToObject(o, "failures", (double)w->failures);
    if (w->failures)
        cJSON_AddStringToObject(o, "first_failure", w->first_failure);
    cJSON_AddItemReferenceToObject(o, "differences", w->runs);
    return o;
}

/* ---- the command ---------------------------------------------------------------------- */

static const char *sl_sim_usage =
    "usage: sluice simulate SCENARIO.json [--policies DIR] [--seed N] [--svg FILE] [--json]\n"
    "                       [--shadow FILE [--shadow-params JSON]]\n"
    "  Runs the scenario's test or canary on an in-memory engine in virtual time with the\n"
    "  built-in policies (and DIR's), prints the decision timeline, the verdict and the\n"
    "  statistics. Same scenario and seed, same output. With --shadow, the policy in FILE\n"
    "  is asked beside the configured ones at every evaluation of its hook, never applied,\n"
    "  and the evaluations where their decisions differ are listed; it gets the params of\n"
    "  the configured policy of its name, or --shadow-params. See docs/simulate.md.\n";

static int sl_sim_keys(const cJSON *sc)
{
    static const char *const known[] = {"description", "seed",      "hours", "tick_seconds",
                                        "units",       "models",    "test",  "canary",
                                        "traffic",     "behaviour", NULL};
    const cJSON *k;
    cJSON_ArrayForEach(k, sc)
    {
        int i = 0;
        while (known[i] && strcmp(known[i], k->string) != 0)
            i++;
        if (!known[i])
            return sl_sim_fail("unknown scenario key \"%s\" (see docs/simulate.md)", k->string);
    }
    return 0;
}

static int sl_sim_run(struct sl_sim *s, const cJSON *sc, const char *svg,
                      const struct sl_host_opts *ho)
{
    struct sl_err err = {0};
    if (sl_sim_keys(sc))
        return 2;
    if (sl_sim_models(s, cJSON_GetObjectItemCaseSensitive(sc, "models")) || sl_sim_traffic(s, sc) ||
        sl_sim_rollout(s, sc))
        return 2;
    if (s->shadow.file && sl_shadow_start(s, ho))
        return 2;
    if (sl_engine_act(s->eng, s->id, SL_VERB_START, "simulate", "scenario start", &err))
        return sl_sim_fail("start: %s", err.msg), 2;
    s->points = calloc(SL_SIM_MAX_POINTS, sizeof *s->points);
    cJSON *snap = NULL;
    long ticks = lround(s->hours * 3600 / s->tick_s);
    for (long i = 0; i < ticks; i++) {
        sl_sim_serve(s, s->now / 3600.0);
        s->now += s->tick_s;
        if (sl_engine_tick(s->eng, &err))
            fprintf(stderr, "sluice simulate: tick: %s\n", err.msg);
        cJSON_Delete(snap);
        snap = sl_sim_snapshot(s);
        if (s->points)
            sl_sim_sample(s, snap, s->now / 3600.0);
        if (!snap || sl_sim_finished(snap))
            break;
        if (s->bar && (i % (ticks / 100 + 1) == 0 || i == ticks - 1))
            sl_sim_bar(s, (double)(i + 1) / (double)ticks);
    }
    if (s->bar_shown)
        fputs("\r\033[K", stderr);
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(snap, "status"));
    const char *rec = cJSON_GetStringValue(cJSON_GetObjectItem(snap, "recommendation"));
    double p = sl_jnum(snap, "stats.error_rate.sequential.p"), srm = sl_jnum(snap, "stats.srm.p");
    int rc = 0;
    if (s->json) {
        cJSON *out = cJSON_CreateObject();
        cJSON_AddItemReferenceToObject(out, "timeline", s->timeline);
        cJSON_AddNumberToObject(out, "hours", s->now / 3600.0);
        cJSON_AddStringToObject(out, "outcome", s->outcome ? s->outcome : "none");
        cJSON_AddItemReferenceToObject(out, "final", snap);
        if (s->shadow.host)
            cJSON_AddItemToObject(out, "shadow", sl_shadow_json(s));
        char *text = cJSON_PrintUnformatted(out);
        puts(text ? text : "{}");
        free(text);
        cJSON_Delete(out);
    } else {
        printf("\nverdict after %.2fh: %s%s%s%s%s%s\n", s->now / 3600.0, status ? status : "?",
               s->outcome ? " (" : "", s->outcome ? s->outcome : "", s->outcome ? ")" : "",
               rec && strcmp(rec, "none") ? ", recommendation " : "",
               rec && strcmp(rec, "none") ? rec : "");
        if (!isnan(p) || !isnan(srm))
            printf("statistics: error-rate sequential p %.4g, SRM p %.4g\n", p, srm);
        const char *arms[2] = {s->kind == SL_KIND_TEST ? "control" : "stable",
                               s->kind == SL_KIND_TEST ? "treatment" : "canary"};
        for (int a = 0; a < 2; a++) {
            const cJSON *m =
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(snap, "metrics"), arms[a]);
            printf("%-9s %9.0f requests  %6.3f%% errors  p99 %7.1f ms\n", arms[a],
                   sl_jnum(m, "requests"), 100 * sl_jnum(m, "error_rate"),
                   sl_jnum(m, "latency.p99"));
        }
        if (s->shadow.host)
            sl_shadow_print(s);
    }
    if (svg && sl_sim_svg(s, svg, s->timeline))
        rc = 1;
    cJSON_Delete(snap);
    return rc;
}

int sl_cmd_simulate(int argc, char **argv)
{
    const char *path = NULL, *svg = NULL, *shadow = NULL, *shadow_params = NULL, *dirs[8];
    size_t ndirs = 0;
    uint64_t seed = 1;
    bool json = false, seeded = false;
    const char *builtin = getenv("SLUICE_POLICY_DIRS");
    dirs[ndirs++] = builtin && *builtin ? builtin : SLUICE_SOURCE_DIR "/policies";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--svg") == 0 && i + 1 < argc)
            svg = argv[++i];
        else if (strcmp(argv[i], "--shadow") == 0 && i + 1 < argc)
            shadow = argv[++i];
        else if (strcmp(argv[i], "--shadow-params") == 0 && i + 1 < argc)
            shadow_params = argv[++i];
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            seed = strtoull(argv[++i], &end, 10);
            if (errno || *end || !*argv[i])
                return fprintf(stderr, "sluice simulate: --seed takes a number\n"), 2;
            seeded = true;
        } else if (strcmp(argv[i], "--policies") == 0 && i + 1 < argc && ndirs < 8)
            dirs[ndirs++] = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return fputs(sl_sim_usage, stdout), 0;
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else
            return fputs(sl_sim_usage, stderr), 2;
    }
    if (!path || (shadow_params && !shadow))
        return fputs(sl_sim_usage, stderr), 2;
    cJSON *sparams = shadow_params ? cJSON_Parse(shadow_params) : NULL;
    if (shadow_params && !cJSON_IsObject(sparams)) {
        cJSON_Delete(sparams);
        return fprintf(stderr, "sluice simulate: --shadow-params takes a JSON object\n"), 2;
    }
    struct sl_err rerr = {0};
    char *text = sl_read_text(path, &rerr);
    if (!text) {
        cJSON_Delete(sparams);
        return fprintf(stderr, "sluice simulate: %s\n", rerr.msg), 2;
    }
    cJSON *sc = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(sc)) {
        cJSON_Delete(sc);
        cJSON_Delete(sparams);
        return fprintf(stderr, "sluice simulate: %s is not a JSON object\n", path), 2;
    }
    struct sl_sim s = {.json = json, .timeline = cJSON_CreateArray(), .bar = isatty(2) && !json};
    s.shadow.file = shadow;
    s.shadow.params = sparams;
    double sseed = sl_num_or(sc, "seed", 1);
    if (!seeded && !(sseed >= 0 && sseed <= 9007199254740992.0 && sseed == floor(sseed))) {
        cJSON_Delete(sc);
        cJSON_Delete(sparams);
        cJSON_Delete(s.timeline);
        return fprintf(stderr, "sluice simulate: seed must be a whole number >= 0\n"), 2;
    }
    s.rng = seeded ? seed : (uint64_t)sseed;
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.clock = sl_sim_clock;
    o.clock_ud = &s;
    o.sink = sl_sim_sink;
    o.sink_ud = &s;
    o.window_seconds = fmax(1, sl_num_or(sc, "tick_seconds", 60));
    o.window_slots = 30;
    struct sl_host_opts ho;
    sl_host_opts_default(&ho);
    ho.dirs = dirs;
    ho.ndirs = ndirs;
    struct sl_err err = {0};
    int rc = 2;
    s.eng = sl_engine_new(&o, &err);
    if (s.eng)
        s.host = sl_host_new(s.eng, &ho, &err);
    if (!s.eng || !s.host)
        fprintf(stderr, "sluice simulate: %s\n", err.msg);
    else
        rc = sl_sim_run(&s, sc, svg, &ho);
    sl_host_delete(s.shadow.host);
    cJSON_Delete(s.shadow.runs);
    cJSON_Delete(sparams);
    sl_host_delete(s.host);
    sl_engine_delete(s.eng);
    for (int j = 0; j < s.nmetrics; j++)
        free((char *)s.metric_names[j]);
    free(s.points);
    cJSON_Delete(s.timeline);
    cJSON_Delete(sc);
    return rc;
}
