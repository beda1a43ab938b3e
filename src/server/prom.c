#include "prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sl_prom {
    sl_prom_emit_fn emit;
    void *ud;
};

static void sl_prom_printf(struct sl_prom *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sl_prom_printf(struct sl_prom *p, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->emit(p->ud, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* A label value with \ " and newline escaped (exposition format 0.0.4). */
static const char *sl_prom_label(const char *s, char *buf, size_t size)
{
    size_t o = 0;
    for (; s && *s && o + 3 < size; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n') {
            buf[o++] = '\\';
            buf[o++] = *s == '\n' ? 'n' : *s;
        } else {
            buf[o++] = *s;
        }
    }
    buf[o] = '\0';
    return buf;
}

void sl_prom_count_event(struct sl_prom_counters *c, const struct sl_event *e)
{
    if (e->kind == SL_EVENT_ERROR && strncmp(e->actor, "policy:", 7) == 0)
        c->policy_errors++;
    if (e->kind == SL_EVENT_POLICY && strcmp(e->action, "load") == 0)
        c->policy_loads++;
    if (e->kind != SL_EVENT_DECISION)
        return;
    size_t i = 0;
    while (i < c->nactions && strcmp(c->action_names[i], e->action) != 0)
        i++;
    if (i == c->nactions && c->nactions < SL_PROM_ACTIONS) {
        static const char *const known[] = {
            "alert",   "set_traffic", "pause",  "resume",           "rollback",
            "promote", "continue",    "extend", "increase_traffic", "decrease_traffic"};
        const char *name = "other";
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            if (strcmp(known[k], e->action) == 0)
                name = known[k];
        for (i = 0; i < c->nactions && strcmp(c->action_names[i], name) != 0; i++)
            ;
        if (i == c->nactions)
            c->action_names[c->nactions++] = name;
    }
    if (i < c->nactions)
        c->actions[i]++;
}

static void sl_prom_header(struct sl_prom *p, const char *name, const char *type, const char *help)
{
    sl_prom_printf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct sl_prom_arm {
    const char *id, *kind, *variant;
    struct sl_variant_metrics m;
};

/* Visit every started test and canary arm. */
static size_t sl_prom_arms(struct sl_engine *eng, struct sl_prom_arm *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < sl_engine_test_count(eng); i++) {
        struct sl_test_info t;
        sl_engine_test_at(eng, i, &t);
        for (int a = 0; a < 2 && n < max; a++)
            if (sl_engine_metrics(eng, t.config->id, a, 0, &out[n].m, NULL) == 0) {
                out[n].id = t.config->id;
                out[n].kind = "test";
                out[n++].variant = a ? "treatment" : "control";
            }
    }
    for (size_t i = 0; i < sl_engine_canary_count(eng); i++) {
        struct sl_canary_info k;
        sl_engine_canary_at(eng, i, &k);
        for (int a = 0; a < 2 && n < max; a++)
            if (sl_engine_metrics(eng, k.config->id, a, 0, &out[n].m, NULL) == 0) {
                out[n].id = k.config->id;
                out[n].kind = "canary";
                out[n++].variant = a ? "canary" : "stable";
            }
    }
    return n;
}

static void sl_prom_arm_series(struct sl_prom *p, const struct sl_prom_arm *arms, size_t n)
{
    static const char *const q[SL_NQUANTILES] = {"0.5", "0.9", "0.95", "0.99", "0.999"};
    char id[600];
    sl_prom_header(p, "sluice_requests_total", "counter", "Results recorded per variant.");
    for (size_t i = 0; i < n; i++)
        sl_prom_printf(p, "sluice_requests_total{id=\"%s\",kind=\"%s\",variant=\"%s\"} %llu\n",
                       sl_prom_label(arms[i].id, id, sizeof id), arms[i].kind, arms[i].variant,
                       (unsigned long long)arms[i].m.requests);
    sl_prom_header(p, "sluice_errors_total", "counter", "Failed results recorded per variant.");
    for (size_t i = 0; i < n; i++)
        sl_prom_printf(p, "sluice_errors_total{id=\"%s\",kind=\"%s\",variant=\"%s\"} %llu\n",
                       sl_prom_label(arms[i].id, id, sizeof id), arms[i].kind, arms[i].variant,
                       (unsigned long long)arms[i].m.errors);
    sl_prom_header(p, "sluice_latency_milliseconds", "summary",
                   "Latency per variant since the start (sketch quantiles, <= 1% error).");
    for (size_t i = 0; i < n; i++) {
        const struct sl_variant_metrics *m = &arms[i].m;
        sl_prom_label(arms[i].id, id, sizeof id);
        for (int k = 0; k < SL_NQUANTILES && m->requests; k++)
            sl_prom_printf(p,
                           "sluice_latency_milliseconds{id=\"%s\",kind=\"%s\",variant=\"%s\","
                           "quantile=\"%s\"} %.17g\n",
                           id, arms[i].kind, arms[i].variant, q[k], m->quantiles[k]);
        sl_prom_printf(p,
                       "sluice_latency_milliseconds_sum{id=\"%s\",kind=\"%s\",variant=\"%s\"} "
                       "%.17g\n",
                       id, arms[i].kind, arms[i].variant,
                       m->requests ? m->latency_mean * (double)m->requests : 0.0);
        sl_prom_printf(p,
                       "sluice_latency_milliseconds_count{id=\"%s\",kind=\"%s\",variant=\"%s\"} "
                       "%llu\n",
                       id, arms[i].kind, arms[i].variant, (unsigned long long)m->requests);
    }
}

static void sl_prom_allocation(struct sl_prom *p, struct sl_engine *eng)
{
    char id[600];
    sl_prom_header(p, "sluice_allocation_percent", "gauge",
                   "Traffic share of the treatment (tests) or canary (canaries).");
    for (size_t i = 0; i < sl_engine_test_count(eng); i++) {
        struct sl_test_info t;
        sl_engine_test_at(eng, i, &t);
        sl_prom_printf(p, "sluice_allocation_percent{id=\"%s\",kind=\"test\"} %.17g\n",
                       sl_prom_label(t.config->id, id, sizeof id),
                       t.status == SL_TEST_PAUSED ? 0 : t.treatment_pct);
    }
    for (size_t i = 0; i < sl_engine_canary_count(eng); i++) {
        struct sl_canary_info k;
        sl_engine_canary_at(eng, i, &k);
        sl_prom_printf(p, "sluice_allocation_percent{id=\"%s\",kind=\"canary\"} %.17g\n",
                       sl_prom_label(k.config->id, id, sizeof id), k.traffic_pct);
    }
}

static void sl_prom_statuses(struct sl_prom *p, struct sl_engine *eng)
{
    int tests[SL_TEST_PROMOTED + 1] = {0}, canaries[SL_CANARY_FAILED + 1] = {0};
    for (size_t i = 0; i < sl_engine_test_count(eng); i++) {
        struct sl_test_info t;
        sl_engine_test_at(eng, i, &t);
        tests[t.status]++;
    }
    for (size_t i = 0; i < sl_engine_canary_count(eng); i++) {
        struct sl_canary_info k;
        sl_engine_canary_at(eng, i, &k);
        canaries[k.status]++;
    }
    sl_prom_header(p, "sluice_tests", "gauge", "Active (not finished) tests by status.");
    for (int s = 0; s <= SL_TEST_PROMOTED; s++)
        sl_prom_printf(p, "sluice_tests{status=\"%s\"} %d\n", sl_test_status_name(s), tests[s]);
    sl_prom_header(p, "sluice_canaries", "gauge", "Active (not finished) canaries by status.");
    for (int s = 0; s <= SL_CANARY_FAILED; s++)
        sl_prom_printf(p, "sluice_canaries{status=\"%s\"} %d\n", sl_canary_status_name(s),
                       canaries[s]);
}

static void sl_prom_counters(struct sl_prom *p, struct sl_engine *eng,
                             const struct sl_prom_counters *c)
{
    sl_prom_header(p, "sluice_decisions_total", "counter", "Policy decisions by action.");
    for (size_t i = 0; c && i < c->nactions; i++)
        sl_prom_printf(p, "sluice_decisions_total{action=\"%s\"} %llu\n", c->action_names[i],
                       (unsigned long long)c->actions[i]);
    sl_prom_header(p, "sluice_policy_errors_total", "counter",
                   "Policy evaluations that failed (errors, budgets).");
    sl_prom_printf(p, "sluice_policy_errors_total %llu\n",
                   (unsigned long long)(c ? c->policy_errors : 0));
    sl_prom_header(p, "sluice_policy_reloads_total", "counter", "Policy versions loaded.");
    sl_prom_printf(p, "sluice_policy_reloads_total %llu\n",
                   (unsigned long long)(c ? c->policy_loads : 0));
    sl_prom_header(p, "sluice_http_requests_total", "counter", "HTTP requests served.");
    sl_prom_printf(p, "sluice_http_requests_total %llu\n",
                   (unsigned long long)(c ? c->http_requests : 0));
    sl_prom_header(p, "sluice_events_total", "counter", "Events appended to the log.");
    sl_prom_printf(p, "sluice_events_total %llu\n", (unsigned long long)sl_engine_last_seq(eng));
    sl_prom_header(p, "sluice_build_info", "gauge", "Build information.");
    sl_prom_printf(p, "sluice_build_info{version=\"%s\"} 1\n", SLUICE_VERSION);
}

void sl_prom_write(struct sl_engine *eng, const struct sl_prom_counters *c, sl_prom_emit_fn emit,
                   void *ud)
{
    struct sl_prom p = {emit, ud};
    size_t max = 2 * (sl_engine_test_count(eng) + sl_engine_canary_count(eng)) + 2;
    struct sl_prom_arm *arms = calloc(max, sizeof *arms);
    size_t n = arms ? sl_prom_arms(eng, arms, max) : 0;
    sl_prom_arm_series(&p, arms, n);
    free(arms);
    sl_prom_allocation(&p, eng);
    sl_prom_statuses(&p, eng);
    sl_prom_counters(&p, eng, c);
}
