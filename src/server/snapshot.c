#include "snapshot.h"

#include <math.h>
#include <stdio.h>

#include "policy.h"

/* NaN and infinities are not JSON: unknown numbers are left out. */
static void sl_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
}

static void sl_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
}

static cJSON *sl_strings(const char *const *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

cJSON *sl_snap_metrics(const struct sl_variant_metrics *m)
{
    static const char *const q[SL_NQUANTILES] = {"p50", "p90", "p95", "p99", "p999"};
    cJSON *o = cJSON_CreateObject(), *lat = cJSON_CreateObject(), *cm = cJSON_CreateObject();
    sl_num(o, "requests", (double)m->requests);
    sl_num(o, "successes", (double)m->successes);
    sl_num(o, "errors", (double)m->errors);
    sl_num(o, "error_rate", m->error_rate);
    sl_num(o, "success_rate", m->requests ? 1 - m->error_rate : 0);
    sl_num(o, "throughput", m->throughput);
    sl_num(o, "span_seconds", m->span_seconds);
    sl_num(lat, "mean", m->latency_mean);
    sl_num(lat, "var", m->latency_var);
    sl_num(lat, "sd", m->latency_var >= 0 ? sqrt(m->latency_var) : NAN);
    sl_num(lat, "min", m->latency_min);
    sl_num(lat, "max", m->latency_max);
    for (int i = 0; i < SL_NQUANTILES; i++)
        sl_num(lat, q[i], m->quantiles[i]);
    cJSON_AddItemToObject(o, "latency", lat);
    for (size_t j = 0; j < m->nmetrics; j++) {
        const struct sl_metric_stats *s = &m->metrics[j];
        cJSON *x = cJSON_CreateObject();
        sl_num(x, "count", (double)s->count);
        sl_num(x, "sum", s->sum);
        sl_num(x, "sumsq", s->sumsq);
        sl_num(x, "mean", s->count ? s->sum / (double)s->count : NAN);
        sl_num(x, "min", s->min);
        sl_num(x, "max", s->max);
        cJSON_AddItemToObject(cm, s->name ? s->name : "?", x);
    }
    cJSON_AddItemToObject(o, "metrics", cm);
    return o;
}

/* {a0: metrics, a1: metrics} over window (0 = cumulative); NULL before start. */
static cJSON *sl_snap_arms(struct sl_engine *eng, const char *id, double window, const char *a0,
                           const char *a1)
{
    struct sl_variant_metrics m;
    cJSON *o = cJSON_CreateObject();
    for (int arm = 0; arm < 2; arm++) {
        if (sl_engine_metrics(eng, id, arm, window, &m, NULL)) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, arm ? a1 : a0, sl_snap_metrics(&m));
    }
    return o;
}

static void sl_snap_add_metrics(cJSON *o, struct sl_engine *eng, const char *id, const char *a0,
                                const char *a1, const double *windows, size_t nwin)
{
    cJSON *all = sl_snap_arms(eng, id, 0, a0, a1);
    if (!all)
        return;
    cJSON_AddItemToObject(o, "metrics", all);
    cJSON *w = cJSON_AddObjectToObject(o, "windows");
    for (size_t i = 0; i < nwin; i++) {
        char key[32];
        snprintf(key, sizeof key, "%gs", windows[i]);
        cJSON *x = sl_snap_arms(eng, id, windows[i], a0, a1);
        if (x)
            cJSON_AddItemToObject(w, key, x);
    }
}

static cJSON *sl_snap_analysis(const struct sl_metric_analysis *m, bool proportion)
{
    cJSON *o = cJSON_CreateObject(), *seq = cJSON_CreateObject();
    sl_num(o, "n1", (double)m->n1);
    sl_num(o, "n2", (double)m->n2);
    if (m->valid) {
        sl_num(o, proportion ? "p1" : "mean1", m->mean1);
        sl_num(o, proportion ? "p2" : "mean2", m->mean2);
        sl_num(o, "diff", m->diff);
        sl_num(o, "se", m->se);
        sl_num(o, "p", m->p);
        sl_num(o, "ci_low", m->ci_low);
        sl_num(o, "ci_high", m->ci_high);
    }
    sl_num(seq, "p", m->seq_p);
    sl_num(seq, "ci_low", m->seq_ci_low);
    sl_num(seq, "ci_high", m->seq_ci_high);
    sl_num(seq, "looks", (double)m->looks);
    cJSON_AddItemToObject(o, "sequential", seq);
    sl_num(o, "power", m->power);
    sl_num(o, "needed", m->needed);
    return o;
}

static cJSON *sl_snap_stats(const struct sl_test_stats *s)
{
    cJSON *o = cJSON_CreateObject(), *srm = cJSON_CreateObject(), *ms = cJSON_CreateObject();
    sl_num(srm, "chi2", s->srm_chi2);
    sl_num(srm, "df", 1);
    sl_num(srm, "p", s->srm_p);
    sl_num(srm, "expected_treatment_share", s->expected_treatment_share);
    cJSON_AddItemToObject(o, "srm", srm);
    cJSON_AddItemToObject(o, "error_rate", sl_snap_analysis(&s->error_rate, true));
    cJSON_AddItemToObject(o, "latency", sl_snap_analysis(&s->latency, false));
    for (size_t j = 0; j < s->nmetrics; j++)
        cJSON_AddItemToObject(ms, s->metrics[j].name, sl_snap_analysis(&s->metrics[j], false));
    cJSON_AddItemToObject(o, "metrics", ms);
    if (s->nmetrics) {
        sl_num(o, "power", s->metrics[0].power);
        sl_num(o, "needed", s->metrics[0].needed);
    }
    return o;
}

static void sl_snap_test_config(cJSON *o, const struct sl_test_config *c)
{
    static const char *const types[] = {"maximum", "minimum", "percentage", "absolute"};
    static const char *const actions[] = {"pause", "rollback", "alert", "reduce_traffic"};
    sl_str(o, "id", c->id);
    sl_str(o, "name", c->name);
    sl_str(o, "description", c->description);
    sl_str(o, "model", c->model);
    cJSON *ctl = cJSON_AddObjectToObject(o, "control"),
          *trt = cJSON_AddObjectToObject(o, "treatment");
    sl_str(ctl, "model", c->model);
    sl_str(ctl, "version", c->control_version);
    sl_str(trt, "model", c->model);
    sl_str(trt, "version", c->treatment_version);
    sl_str(o, "routing", sl_routing_name(c->routing));
    sl_num(o, "duration_hours", c->duration_hours);
    sl_num(o, "target_sample_size", (double)c->target_sample_size);
    sl_num(o, "alpha", c->alpha);
    sl_num(o, "minimum_effect_size", c->minimum_effect_size);
    cJSON_AddBoolToObject(o, "auto_promote", c->auto_promote);
    cJSON_AddBoolToObject(o, "auto_rollback", c->auto_rollback);
    sl_str(o, "created_by", c->created_by);
    cJSON_AddItemToObject(o, "success_metrics", sl_strings(c->success_metrics, c->nsuccess));
    cJSON_AddItemToObject(o, "tags", sl_strings(c->tags, c->ntags));
    cJSON *ramp = cJSON_AddArrayToObject(o, "ramp");
    for (size_t i = 0; i < c->nramp; i++) {
        cJSON *s = cJSON_CreateObject();
        sl_num(s, "at_hours", c->ramp[i].at_hours);
        sl_num(s, "treatment", c->ramp[i].treatment);
        sl_num(s, "control", c->ramp[i].control);
        cJSON_AddItemToArray(ramp, s);
    }
    cJSON *g = cJSON_AddArrayToObject(o, "guard_metrics");
    for (size_t i = 0; i < c->nguards; i++) {
        cJSON *s = cJSON_CreateObject();
        sl_str(s, "metric", c->guards[i].metric);
        sl_str(s, "type", types[c->guards[i].type]);
        sl_num(s, "threshold", c->guards[i].threshold);
        sl_str(s, "action", actions[c->guards[i].action]);
        cJSON_AddItemToArray(g, s);
    }
    cJSON *p = c->policies ? cJSON_Parse(c->policies) : NULL;
    if (p)
        cJSON_AddItemToObject(o, "policies", p);
}

static void sl_snap_test_state(cJSON *o, const struct sl_test_info *t)
{
    sl_str(o, "kind", "test");
    sl_str(o, "status", sl_test_status_name(t->status));
    sl_num(o, "created_at", t->created_at);
    if (t->started_at)
        sl_num(o, "started_at", t->started_at);
    if (t->ended_at)
        sl_num(o, "ended_at", t->ended_at);
    sl_num(o, "running_seconds", t->running_seconds);
    sl_num(o, "ramp_step", t->ramp_step + 1);
    cJSON *a = cJSON_AddObjectToObject(o, "allocation");
    bool paused = t->status == SL_TEST_PAUSED;
    sl_num(a, "treatment", paused ? 0 : t->treatment_pct);
    sl_num(a, "control", paused ? 100 : 100 - t->treatment_pct);
    cJSON *h = cJSON_AddArrayToObject(o, "allocation_history");
    for (size_t i = 0; i < t->nalloc_history; i++) {
        cJSON *p = cJSON_CreateObject();
        sl_num(p, "at", t->alloc_history[i].at);
        sl_num(p, "treatment", t->alloc_history[i].treatment);
        cJSON_AddItemToArray(h, p);
    }
    sl_str(o, "last_reason", t->last_reason);
    if (t->recommendation) {
        sl_str(o, "recommendation", sl_recommendation_name(t->recommendation));
        sl_str(o, "recommendation_reason", t->recommendation_reason);
    }
    cJSON_AddBoolToObject(o, "in_history", t->in_history);
}

cJSON *sl_snap_test(struct sl_engine *eng, const char *id, const double *windows, size_t nwin)
{
    struct sl_test_info t;
    if (sl_engine_test(eng, id, &t, NULL))
        return NULL;
    cJSON *o = cJSON_CreateObject();
    sl_snap_test_config(o, t.config);
    sl_snap_test_state(o, &t);
    sl_snap_add_metrics(o, eng, id, "control", "treatment", windows, nwin);
    struct sl_test_stats st;
    if (sl_engine_test_stats(eng, id, &st, NULL) == 0)
        cJSON_AddItemToObject(o, "stats", sl_snap_stats(&st));
    return o;
}

static void sl_snap_canary_config(cJSON *o, const struct sl_canary_config *c)
{
    sl_str(o, "id", c->id);
    sl_str(o, "name", c->name);
    sl_str(o, "model", c->model);
    sl_str(o, "stable", c->stable);
    sl_str(o, "canary", c->canary);
    sl_num(o, "configured_traffic", c->traffic);
    sl_num(o, "duration_minutes", c->duration_minutes);
    sl_num(o, "success_threshold", c->success_threshold);
    sl_num(o, "error_threshold", c->error_threshold);
    cJSON_AddBoolToObject(o, "auto_promote", c->auto_promote);
    cJSON_AddBoolToObject(o, "auto_rollback", c->auto_rollback);
    sl_num(o, "health_check_interval_ms", c->health_check_interval_ms);
    sl_str(o, "created_by", c->created_by);
    cJSON_AddItemToObject(o, "metrics_declared", sl_strings(c->metrics, c->nmetrics));
    cJSON *cr = cJSON_AddArrayToObject(o, "promotion_criteria");
    for (size_t i = 0; i < c->ncriteria; i++) {
        cJSON *x = cJSON_CreateObject();
        sl_str(x, "metric", c->criteria[i].metric);
        sl_str(x, "op", sl_op_name(c->criteria[i].op));
        sl_num(x, "value", c->criteria[i].value);
        sl_num(x, "for_minutes", c->criteria[i].for_minutes);
        cJSON_AddItemToArray(cr, x);
    }
    cJSON *p = c->policies ? cJSON_Parse(c->policies) : NULL;
    if (p)
        cJSON_AddItemToObject(o, "policies", p);
}

cJSON *sl_snap_canary(struct sl_engine *eng, const char *id, const double *windows, size_t nwin)
{
    struct sl_canary_info k;
    if (sl_engine_canary(eng, id, &k, NULL))
        return NULL;
    cJSON *o = cJSON_CreateObject();
    sl_snap_canary_config(o, k.config);
    sl_str(o, "kind", "canary");
    sl_str(o, "status", sl_canary_status_name(k.status));
    sl_num(o, "traffic", k.traffic_pct);
    sl_num(o, "created_at", k.created_at);
    if (k.started_at)
        sl_num(o, "started_at", k.started_at);
    if (k.ended_at)
        sl_num(o, "ended_at", k.ended_at);
    cJSON *hc = cJSON_AddArrayToObject(o, "health_checks");
    for (size_t i = 0; i < k.nchecks; i++) {
        cJSON *x = cJSON_CreateObject();
        sl_num(x, "at", k.checks[i].at);
        sl_str(x, "health", sl_health_name(k.checks[i].health));
        sl_num(x, "error_rate", k.checks[i].error_rate);
        cJSON_AddBoolToObject(x, "passed", k.checks[i].passed);
        cJSON_AddItemToArray(hc, x);
    }
    if (k.rollback_trigger)
        sl_str(o, "rollback_trigger", sl_trigger_name(k.rollback_trigger));
    sl_str(o, "outcome", k.outcome);
    sl_str(o, "last_reason", k.last_reason);
    cJSON_AddBoolToObject(o, "in_history", k.in_history);
    sl_snap_add_metrics(o, eng, id, "stable", "canary", windows, nwin);
    return o;
}

cJSON *sl_snap_models(struct sl_engine *eng)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < sl_engine_model_count(eng); i++) {
        struct sl_model_info m;
        sl_engine_model_at(eng, i, &m);
        cJSON *o = cJSON_CreateObject(), *vs = cJSON_CreateArray();
        sl_str(o, "id", m.id);
        sl_str(o, "live", m.live);
        sl_str(o, "claimed_by", m.claimed_by);
        for (size_t j = 0; j < m.nversions; j++) {
            struct sl_version_info v;
            sl_engine_model_version_at(eng, m.id, j, &v);
            cJSON *x = cJSON_CreateObject();
            sl_str(x, "version", v.version);
            sl_str(x, "path", v.path);
            cJSON *cfg = v.config ? cJSON_Parse(v.config) : NULL;
            if (cfg)
                cJSON_AddItemToObject(x, "config", cfg);
            else
                sl_str(x, "config", v.config);
            sl_str(x, "health", sl_health_name(v.health));
            sl_num(x, "loaded_at", v.loaded_at);
            cJSON_AddItemToArray(vs, x);
        }
        cJSON_AddItemToObject(o, "versions", vs);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

cJSON *sl_snap_event(const struct sl_event *e)
{
    static const char *const kinds[] = {"model",  "lifecycle", "allocation", "decision",
                                        "health", "error",     "policy"};
    cJSON *o = cJSON_CreateObject();
    sl_num(o, "seq", (double)e->seq);
    sl_num(o, "at", e->at);
    sl_str(o, "kind", e->kind >= 0 && e->kind <= SL_EVENT_POLICY ? kinds[e->kind] : "?");
    sl_str(o, "subject", e->subject);
    sl_str(o, "actor", e->actor);
    sl_str(o, "action", e->action);
    if (e->from[0])
        sl_str(o, "from", e->from);
    if (e->to[0])
        sl_str(o, "to", e->to);
    sl_num(o, "value", e->value);
    if (e->reason[0])
        sl_str(o, "reason", e->reason);
    cJSON *d = e->detail ? cJSON_Parse(e->detail) : NULL;
    if (d)
        cJSON_AddItemToObject(o, "detail", d);
    return o;
}

cJSON *sl_snap_policies(struct sl_policyset *set)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; set && i < sl_policyset_count(set); i++) {
        const struct sl_policy *p = sl_policyset_at(set, i);
        cJSON *o = cJSON_CreateObject();
        sl_str(o, "name", p->name);
        sl_str(o, "kind", sl_policy_kind_name(p->kind));
        sl_str(o, "version", p->version);
        sl_str(o, "file", p->file);
        sl_num(o, "generation", p->generation);
        sl_str(o, "error", sl_policyset_error(set, p->file));
        cJSON_AddItemToArray(a, o);
    }
    for (size_t i = 0; set && i < sl_policyset_error_count(set); i++) {
        const char *file, *msg = sl_policyset_error_at(set, i, &file);
        cJSON *o = cJSON_CreateObject();
        sl_str(o, "file", file);
        sl_str(o, "error", msg);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}
