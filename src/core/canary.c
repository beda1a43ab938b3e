#include "canary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "abtest.h"

#define N_STATUS (SL_CANARY_FAILED + 1)
#define N_VERB   (SL_VERB_FAIL + 1)
#define X        -1

static const signed char sl_canary_table[N_STATUS][N_VERB] = {
    /*               start  pause resume stop  promote  rollback  retry  fail */
    [SL_CANARY_PREPARING] = {SL_CANARY_DEPLOYING, X, X, SL_CANARY_COMPLETED, X, X, X,
                             SL_CANARY_FAILED},
    [SL_CANARY_DEPLOYING] = {X, X, X, X, X, SL_CANARY_ROLLING_BACK, X, SL_CANARY_FAILED},
    [SL_CANARY_MONITORING] = {X, X, X, X, SL_CANARY_PROMOTING, SL_CANARY_ROLLING_BACK, X,
                              SL_CANARY_FAILED},
    [SL_CANARY_PROMOTING] = {X, X, X, X, X, X, X, SL_CANARY_FAILED},
    [SL_CANARY_ROLLING_BACK] = {X, X, X, X, X, X, X, SL_CANARY_FAILED},
    [SL_CANARY_COMPLETED] = {X, X, X, X, X, X, X, X},
    [SL_CANARY_FAILED] = {X, X, X, SL_CANARY_FAILED, X, X, SL_CANARY_DEPLOYING, X},
};

int sl_canary_next(int status, int verb)
{
    if (status < 0 || status >= N_STATUS || verb < 0 || verb >= N_VERB)
        return -1;
    return sl_canary_table[status][verb];
}

bool sl_canary_live(int status)
{
    return status >= SL_CANARY_DEPLOYING && status <= SL_CANARY_ROLLING_BACK;
}

static int sl_check_criteria(const struct sl_criterion *c, size_t n, struct sl_err *err)
{
    if (n > SL_MAX_CRITERIA)
        return sl_err_set(err, SL_EINVAL, "promotion_criteria: %zu criteria, the limit is %d", n,
                          SL_MAX_CRITERIA);
    for (size_t i = 0; i < n; i++) {
        if (sl_check_id(c[i].metric, "promotion_criteria.metric", err))
            return -1;
        if (c[i].op < 0 || c[i].op > SL_OP_NE)
            return sl_err_set(err, SL_EINVAL, "promotion_criteria[%zu].op: unknown operator",
                              i + 1);
        if (!isfinite(c[i].value))
            return sl_err_set(err, SL_EINVAL, "promotion_criteria[%zu].value: not a number", i + 1);
        if (!isfinite(c[i].for_minutes) || c[i].for_minutes < 0)
            return sl_err_set(err, SL_EINVAL, "promotion_criteria[%zu].for_minutes: must be >= 0",
                              i + 1);
    }
    return 0;
}

static int sl_check_unit(double x, const char *field, struct sl_err *err)
{
    if (!(x >= 0 && x <= 1))
        return sl_err_set(err, SL_EINVAL, "%s: %g is outside [0,1]", field, x);
    return 0;
}

static int sl_canary_check(const struct sl_canary_config *c, const char *id,
                           const struct sl_registry *reg, struct sl_err *err)
{
    if (sl_check_id(id, "id", err))
        return -1;
    if (!c->name || !*c->name)
        return sl_err_set(err, SL_EINVAL, "name: required");
    if (sl_check_text(c->name, "name", err) || sl_check_text(c->created_by, "created_by", err) ||
        sl_check_id(c->model, "model", err) ||
        !sl_registry_require(reg, c->model, c->stable, "stable", err) ||
        !sl_registry_require(reg, c->model, c->canary, "canary", err))
        return -1;
    if (strcmp(c->stable, c->canary) == 0)
        return sl_err_set(err, SL_EINVAL, "canary: '%s' is already the stable version", c->canary);
    if (!(c->traffic >= 0 && c->traffic <= 100))
        return sl_err_set(err, SL_EINVAL, "traffic: %g is outside [0,100]", c->traffic);
    if (!isfinite(c->duration_minutes) || c->duration_minutes < 0)
        return sl_err_set(err, SL_EINVAL, "duration_minutes: must be a number >= 0");
    if (!isfinite(c->health_check_interval_ms) ||
        (c->health_check_interval_ms != 0 && c->health_check_interval_ms < 100))
        return sl_err_set(err, SL_EINVAL, "health_check_interval_ms: must be >= 100");
    if (c->policies && strlen(c->policies) > 65536)
        return sl_err_set(err, SL_EINVAL, "policies: longer than 65536 bytes");
    return sl_check_unit(c->success_threshold, "success_threshold", err) ||
                   sl_check_unit(c->error_threshold, "error_threshold", err) ||
                   sl_check_criteria(c->criteria, c->ncriteria, err) ||
                   sl_check_metric_names(c->metrics, c->nmetrics, "metrics", err)
               ? -1
               : 0;
}

static int sl_canary_copy(struct sl_canary *k, const struct sl_canary_config *c, const char *id)
{
    struct sl_bag *b = &k->bag;
    int failed = 0;
    k->cfg = *c;
    k->cfg.id = sl_bag_strdup(b, id, &failed);
    k->cfg.name = sl_bag_strdup(b, c->name, &failed);
    k->cfg.model = sl_bag_strdup(b, c->model, &failed);
    k->cfg.stable = sl_bag_strdup(b, c->stable, &failed);
    k->cfg.canary = sl_bag_strdup(b, c->canary, &failed);
    k->cfg.created_by = sl_bag_strdup(b, c->created_by, &failed);
    k->cfg.policies = sl_bag_strdup(b, c->policies, &failed);
    k->cfg.metrics = sl_bag_strv(b, c->metrics, c->nmetrics, &failed);
    struct sl_criterion *cr =
        sl_bag_memdup(b, c->criteria, c->ncriteria * sizeof *c->criteria, &failed);
    for (size_t i = 0; cr && i < c->ncriteria; i++)
        cr[i].metric = sl_bag_strdup(b, c->criteria[i].metric, &failed);
    k->cfg.criteria = cr;
    if (k->cfg.traffic == 0)
        k->cfg.traffic = 10;
    if (k->cfg.health_check_interval_ms == 0)
        k->cfg.health_check_interval_ms = 10000;
    return failed ? -1 : 0;
}

struct sl_canary *sl_canary_new(const struct sl_canary_config *cfg, const char *id,
                                const struct sl_registry *reg, double now, struct sl_err *err)
{
    if (sl_canary_check(cfg, id, reg, err))
        return NULL;
    struct sl_canary *k = calloc(1, sizeof *k);
    if (!k || sl_canary_copy(k, cfg, id)) {
        sl_canary_delete(k);
        sl_err_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    k->status = SL_CANARY_PREPARING;
    k->created_at = now;
    return k;
}

void sl_canary_delete(struct sl_canary *k)
{
    if (!k)
        return;
    sl_bag_free(&k->bag);
    free(k->last_reason);
    free(k);
}

void sl_canary_note_check(struct sl_canary *k, const struct sl_health_check *check)
{
    if (k->nchecks == SL_CANARY_CHECKS) {
        memmove(&k->checks[0], &k->checks[1], (SL_CANARY_CHECKS - 1) * sizeof k->checks[0]);
        k->nchecks--;
    }
    k->checks[k->nchecks++] = *check;
}

void sl_canary_set_reason(struct sl_canary *k, const char *reason)
{
    free(k->last_reason);
    k->last_reason = reason ? strdup(reason) : NULL;
}
