#include "abtest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the state machine ------------------------------------------------------ */

#define N_STATUS (SL_TEST_PROMOTED + 1)
#define N_VERB   (SL_VERB_FAIL + 1)
#define X        -1

/* next[status][verb]; starting -> running happens on tick, not by a verb.
 * stop on failed archives the test and keeps "failed". */
static const signed char sl_test_table[N_STATUS][N_VERB] = {
    /*              start             pause           resume           stop
                    promote           rollback        retry            fail */
    [SL_TEST_DRAFT] = {SL_TEST_STARTING, X, X, X, X, X, X, X},
    [SL_TEST_STARTING] = {X, X, X, SL_TEST_COMPLETED, X, SL_TEST_ROLLED_BACK, X, SL_TEST_FAILED},
    [SL_TEST_RUNNING] = {X, SL_TEST_PAUSED, X, SL_TEST_COMPLETED, SL_TEST_PROMOTED,
                         SL_TEST_ROLLED_BACK, X, SL_TEST_FAILED},
    [SL_TEST_PAUSED] = {X, X, SL_TEST_RUNNING, SL_TEST_COMPLETED, SL_TEST_PROMOTED,
                        SL_TEST_ROLLED_BACK, X, SL_TEST_FAILED},
    [SL_TEST_COMPLETED] = {X, X, X, X, X, X, X, X},
    [SL_TEST_FAILED] = {X, X, X, SL_TEST_FAILED, X, X, SL_TEST_STARTING, X},
    [SL_TEST_ROLLED_BACK] = {X, X, X, X, X, X, X, X},
    [SL_TEST_PROMOTED] = {X, X, X, X, X, X, X, X},
};

int sl_test_next(int status, int verb)
{
    if (status < 0 || status >= N_STATUS || verb < 0 || verb >= N_VERB)
        return -1;
    return sl_test_table[status][verb];
}

bool sl_test_terminal(int status)
{
    return status == SL_TEST_COMPLETED || status == SL_TEST_ROLLED_BACK ||
           status == SL_TEST_PROMOTED;
}

/* ---- validation ----------------------------------------------------------------- */

static int sl_check_ramp(const struct sl_ramp_step *ramp, size_t n, struct sl_err *err)
{
    if (n > SL_MAX_RAMP)
        return sl_err_set(err, SL_EINVAL, "ramp: %zu steps, the limit is %d", n, SL_MAX_RAMP);
    for (size_t i = 0; i < n; i++) {
        const struct sl_ramp_step *s = &ramp[i];
        if (!isfinite(s->at_hours) || s->at_hours < 0)
            return sl_err_set(err, SL_EINVAL, "ramp[%zu].at_hours: must be a number >= 0", i + 1);
        if (i > 0 && s->at_hours <= ramp[i - 1].at_hours)
            return sl_err_set(err, SL_EINVAL,
                              "ramp[%zu].at_hours: steps must go forward in time (%g <= %g)", i + 1,
                              s->at_hours, ramp[i - 1].at_hours);
        if (!(s->treatment >= 0 && s->treatment <= 100))
            return sl_err_set(err, SL_EINVAL, "ramp[%zu].treatment: %g is outside [0,100]", i + 1,
                              s->treatment);
        double c = s->control < 0 ? 100 - s->treatment : s->control;
        if (!(c >= 0 && c <= 100) || s->treatment + c > 100 + 1e-9)
            return sl_err_set(err, SL_EINVAL,
                              "ramp[%zu]: control %g + treatment %g exceeds 100 percent", i + 1, c,
                              s->treatment);
    }
    return 0;
}

static bool sl_reserved_metric(const char *name)
{
    static const char *const reserved[] = {"requests",   "successes",    "errors",
                                           "error_rate", "success_rate", "throughput"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(name, reserved[i]) == 0)
            return true;
    return strncmp(name, "latency", 7) == 0;
}

int sl_check_metric_names(const char *const *names, size_t n, const char *field, struct sl_err *err)
{
    if (n > SL_MAX_METRICS)
        return sl_err_set(err, SL_EINVAL, "%s: %zu metrics, the limit is %d", field, n,
                          SL_MAX_METRICS);
    for (size_t i = 0; i < n; i++) {
        if (sl_check_id(names[i], field, err))
            return -1;
        if (sl_reserved_metric(names[i]))
            return sl_err_set(err, SL_EINVAL, "%s: '%s' is a built-in metric, not a custom one",
                              field, names[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return sl_err_set(err, SL_EINVAL, "%s: '%s' is listed twice", field, names[i]);
    }
    return 0;
}

static int sl_check_guards(const struct sl_guard_config *g, size_t n, struct sl_err *err)
{
    if (n > 32)
        return sl_err_set(err, SL_EINVAL, "guard_metrics: %zu guards, the limit is 32", n);
    for (size_t i = 0; i < n; i++) {
        if (sl_check_id(g[i].metric, "guard_metrics.metric", err))
            return -1;
        if (g[i].type < 0 || g[i].type > SL_GUARD_ABSOLUTE)
            return sl_err_set(err, SL_EINVAL, "guard_metrics[%zu].type: unknown", i + 1);
        if (g[i].action < 0 || g[i].action > SL_ACTION_REDUCE)
            return sl_err_set(err, SL_EINVAL, "guard_metrics[%zu].action: unknown", i + 1);
        if (!isfinite(g[i].threshold))
            return sl_err_set(err, SL_EINVAL, "guard_metrics[%zu].threshold: not a number", i + 1);
    }
    return 0;
}

static int sl_check_tags(const char *const *tags, size_t n, struct sl_err *err)
{
    if (n > SL_MAX_TAGS)
        return sl_err_set(err, SL_EINVAL, "tags: %zu tags, the limit is %d", n, SL_MAX_TAGS);
    for (size_t i = 0; i < n; i++)
        if (!tags[i] || !*tags[i] || strlen(tags[i]) > SL_ID_MAX)
            return sl_err_set(err, SL_EINVAL, "tags[%zu]: must be 1..%d bytes", i + 1, SL_ID_MAX);
    return 0;
}

static int sl_check_numbers(const struct sl_test_config *c, struct sl_err *err)
{
    if (c->routing < 0 || c->routing > SL_ROUTING_WRR)
        return sl_err_set(err, SL_EINVAL, "routing: unknown strategy %d", c->routing);
    if (!isfinite(c->duration_hours) || c->duration_hours < 0)
        return sl_err_set(err, SL_EINVAL, "duration_hours: must be a number >= 0");
    if (c->alpha != 0 && !(c->alpha > 0 && c->alpha < 1))
        return sl_err_set(err, SL_EINVAL, "alpha: %g is not a significance level in (0,1)",
                          c->alpha);
    if (!isfinite(c->minimum_effect_size) || c->minimum_effect_size < 0)
        return sl_err_set(err, SL_EINVAL, "minimum_effect_size: must be a number >= 0");
    return 0;
}

static int sl_test_check(const struct sl_test_config *c, const char *id,
                         const struct sl_registry *reg, struct sl_err *err)
{
    if (sl_check_id(id, "id", err))
        return -1;
    if (!c->name || !*c->name)
        return sl_err_set(err, SL_EINVAL, "name: required");
    if (sl_check_text(c->name, "name", err) || sl_check_text(c->description, "description", err) ||
        sl_check_text(c->created_by, "created_by", err))
        return -1;
    if (c->policies && strlen(c->policies) > 65536)
        return sl_err_set(err, SL_EINVAL, "policies: longer than 65536 bytes");
    if (sl_check_id(c->model, "model", err) ||
        !sl_registry_require(reg, c->model, c->control_version, "control", err) ||
        !sl_registry_require(reg, c->model, c->treatment_version, "treatment", err))
        return -1;
    return sl_check_numbers(c, err) || sl_check_ramp(c->ramp, c->nramp, err) ||
                   sl_check_metric_names(c->success_metrics, c->nsuccess, "success_metrics", err) ||
                   sl_check_guards(c->guards, c->nguards, err) ||
                   sl_check_tags(c->tags, c->ntags, err)
               ? -1
               : 0;
}

/* ---- construction ------------------------------------------------------------------- */

static int sl_test_copy(struct sl_test *t, const struct sl_test_config *c, const char *id)
{
    static const struct sl_ramp_step default_ramp = {.at_hours = 0, .treatment = 50, .control = -1};
    struct sl_bag *b = &t->bag;
    int failed = 0;
    t->cfg = *c;
    t->cfg.id = sl_bag_strdup(b, id, &failed);
    t->cfg.name = sl_bag_strdup(b, c->name, &failed);
    t->cfg.description = sl_bag_strdup(b, c->description, &failed);
    t->cfg.model = sl_bag_strdup(b, c->model, &failed);
    t->cfg.control_version = sl_bag_strdup(b, c->control_version, &failed);
    t->cfg.treatment_version = sl_bag_strdup(b, c->treatment_version, &failed);
    t->cfg.created_by = sl_bag_strdup(b, c->created_by, &failed);
    t->cfg.policies = sl_bag_strdup(b, c->policies, &failed);
    t->cfg.success_metrics = sl_bag_strv(b, c->success_metrics, c->nsuccess, &failed);
    t->cfg.tags = sl_bag_strv(b, c->tags, c->ntags, &failed);
    if (c->nramp == 0) {
        t->cfg.ramp = &default_ramp;
        t->cfg.nramp = 1;
    }
    t->ramp = sl_bag_memdup(b, t->cfg.ramp, t->cfg.nramp * sizeof *t->ramp, &failed);
    for (size_t i = 0; t->ramp && i < t->cfg.nramp; i++)
        if (t->ramp[i].control < 0)
            t->ramp[i].control = 100 - t->ramp[i].treatment;
    t->cfg.ramp = t->ramp;
    struct sl_guard_config *g =
        sl_bag_memdup(b, c->guards, c->nguards * sizeof *c->guards, &failed);
    for (size_t i = 0; g && i < c->nguards; i++)
        g[i].metric = sl_bag_strdup(b, c->guards[i].metric, &failed);
    t->cfg.guards = g;
    if (t->cfg.alpha == 0)
        t->cfg.alpha = 0.05;
    return failed ? -1 : 0;
}

struct sl_test *sl_test_new(const struct sl_test_config *cfg, const char *id,
                            const struct sl_registry *reg, double now, struct sl_err *err)
{
    if (sl_test_check(cfg, id, reg, err))
        return NULL;
    struct sl_test *t = calloc(1, sizeof *t);
    if (!t || sl_test_copy(t, cfg, id)) {
        sl_test_delete(t);
        sl_err_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    t->status = SL_TEST_DRAFT;
    t->created_at = now;
    t->running_since = -1;
    t->ramp_step = -1;
    return t;
}

void sl_test_delete(struct sl_test *t)
{
    if (!t)
        return;
    sl_bag_free(&t->bag);
    free(t->allocs);
    free(t->last_reason);
    free(t->recommendation_reason);
    for (size_t i = 0; i < t->nov; i++)
        free(t->ov[i].unit);
    free(t->ov);
    free(t);
}

/* ---- running state --------------------------------------------------------------------- */

double sl_test_running_seconds(const struct sl_test *t, double now)
{
    return t->running_accum + (t->running_since >= 0 ? now - t->running_since : 0);
}

#define SL_ALLOC_HISTORY 512

void sl_test_note_alloc(struct sl_test *t, double now, double pct)
{
    if (t->nallocs == SL_ALLOC_HISTORY) { /* keep the first point, drop the oldest after it */
        memmove(&t->allocs[1], &t->allocs[2], (t->nallocs - 2) * sizeof *t->allocs);
        t->nallocs--;
    }
    if (t->nallocs == t->capallocs) {
        size_t cap = t->capallocs ? t->capallocs * 2 : 8;
        struct sl_alloc_point *a = realloc(t->allocs, cap * sizeof *a);
        if (!a)
            return; /* history is best effort; the allocation itself is applied */
        t->allocs = a;
        t->capallocs = cap;
    }
    t->allocs[t->nallocs++] = (struct sl_alloc_point){.at = now, .treatment = pct};
}

int sl_test_ramp_step(const struct sl_test *t, double running_seconds)
{
    int step = -1;
    for (size_t i = 0; i < t->cfg.nramp; i++)
        if (t->ramp[i].at_hours * 3600.0 <= running_seconds + 1e-9)
            step = (int)i;
    return step;
}

void sl_test_set_reason(struct sl_test *t, const char *reason)
{
    free(t->last_reason);
    t->last_reason = reason ? strdup(reason) : NULL;
}
