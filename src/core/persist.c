/* persist.c - what a store needs to save and restore an engine.
 *
 * Exports and restores the runtime state of tests and canaries (beyond their
 * configs, which sl_engine_test/canary already expose) and checkpoints of
 * their metric accumulators. Restoring sets state directly: no transitions
 * are replayed and no lifecycle events are logged, since the store restores
 * the event log itself. Implements the persistence part of sluice.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static struct sl_cell *sl_persist_cell(const struct sl_engine *eng, const char *id, int arm,
                                       struct sl_err *err)
{
    struct sl_test *t = sl_engine_find_test(eng, id);
    struct sl_canary *k = t ? NULL : sl_engine_find_canary(eng, id);
    struct sl_cell *c = t ? t->cell : k ? k->cell : NULL;
    if (!t && !k)
        sl_err_set(err, SL_ENOTFOUND, "unknown test or canary '%s'", id ? id : "");
    else if (!c)
        sl_err_set(err, SL_ESTATE, "'%s' has not started: no metrics", id);
    else if (arm != 0 && arm != 1)
        sl_err_set(err, SL_EINVAL, "arm %d is neither 0 nor 1", arm);
    return c && (arm == 0 || arm == 1) ? c : NULL;
}

size_t sl_engine_save_metrics(struct sl_engine *eng, const char *id, int arm, void *buf, size_t cap,
                              struct sl_err *err)
{
    struct sl_cell *c = sl_persist_cell(eng, id, arm, err);
    return c ? sl_mvar_save(c->var[arm], buf, cap) : 0;
}

int sl_engine_load_metrics(struct sl_engine *eng, const char *id, int arm, const void *buf,
                           size_t len, struct sl_err *err)
{
    struct sl_cell *c = sl_persist_cell(eng, id, arm, err);
    return c ? sl_mvar_load(c->var[arm], buf, len, err) : -1;
}

void sl_engine_set_next_seq(struct sl_engine *eng, uint64_t next)
{
    if (next > eng->events.next_seq)
        eng->events.next_seq = next;
}

void sl_engine_set_next_id(struct sl_engine *eng, uint64_t next)
{
    if (next > eng->next_id)
        eng->next_id = next;
}

/* ---- tests ------------------------------------------------------------------------ */

int sl_engine_test_state(const struct sl_engine *eng, const char *id, struct sl_test_state *out,
                         struct sl_err *err)
{
    const struct sl_test *t = sl_engine_find_test(eng, id);
    if (!t)
        return sl_err_set(err, SL_ENOTFOUND, "unknown test '%s'", id ? id : "");
    double now = sl_engine_now(eng);
    *out = (struct sl_test_state){
        .status = t->status,
        .created_at = t->created_at,
        .started_at = t->started_at,
        .ended_at = t->ended_at,
        .running_seconds = sl_test_running_seconds(t, t->ended_at ? t->ended_at : now),
        .treatment_pct = t->treatment_pct,
        .control_pct = t->control_pct,
        .ramp_step = t->ramp_step,
        .allocs = t->allocs,
        .nallocs = t->nallocs,
        .last_reason = t->last_reason,
        .recommendation = t->recommendation,
        .recommendation_reason = t->recommendation_reason,
        .in_history = t->in_history,
        .analysis = t->cell ? &t->analysis : NULL,
        .analysis_len = t->cell ? sizeof t->analysis : 0,
        .noverrides = t->nov,
    };
    return 0;
}

int sl_engine_override_at(const struct sl_engine *eng, const char *id, size_t i, const char **unit,
                          int *arm)
{
    const struct sl_test *t = sl_engine_find_test(eng, id);
    if (!t || i >= t->nov)
        return -1;
    *unit = t->ov[i].unit;
    *arm = t->ov[i].arm;
    return 0;
}

static int sl_state_check(const struct sl_test_state *st, struct sl_err *err)
{
    if (st->status < SL_TEST_DRAFT || st->status > SL_TEST_PROMOTED)
        return sl_err_set(err, SL_EINVAL, "state: unknown test status %d", st->status);
    if (st->in_history !=
        (sl_test_terminal(st->status) || (st->in_history && st->status == SL_TEST_FAILED)))
        return sl_err_set(err, SL_EINVAL, "state: a %s test %s in history",
                          sl_test_status_name(st->status),
                          st->in_history ? "cannot be" : "must be");
    if (!(st->treatment_pct >= 0 && st->treatment_pct <= 100) ||
        !(st->control_pct >= 0 && st->control_pct <= 100) || !(st->running_seconds >= 0))
        return sl_err_set(err, SL_EINVAL, "state: allocation or running time out of range");
    if (st->analysis && st->analysis_len != sizeof(struct sl_analysis))
        return sl_err_set(err, SL_EINVAL, "state: analysis blob of %zu bytes, expected %zu",
                          st->analysis_len, sizeof(struct sl_analysis));
    return 0;
}

static bool sl_test_claims(int status, bool in_history)
{
    return !in_history && status >= SL_TEST_STARTING && status <= SL_TEST_PAUSED;
}

static int sl_restore_cell(struct sl_engine *eng, struct sl_test *t, const struct sl_test_state *st)
{
    if (st->status == SL_TEST_DRAFT)
        return 0;
    bool sticky = t->cfg.routing == SL_ROUTING_STICKY;
    t->cell = sl_cell_new(SL_KIND_TEST, t->cfg.id, t->cfg.success_metrics, (int)t->cfg.nsuccess,
                          eng->opts.shards, eng->opts.window_slots, eng->opts.window_seconds,
                          st->started_at, sticky ? (size_t)eng->opts.sticky_capacity : 0);
    if (!t->cell)
        return -1;
    if (st->analysis)
        memcpy(&t->analysis, st->analysis, sizeof t->analysis);
    else
        sl_analysis_init(&t->analysis, t->cfg.alpha, t->cfg.minimum_effect_size,
                         (int)t->cfg.nsuccess);
    return 0;
}

static int sl_restore_fields(struct sl_engine *eng, struct sl_test *t,
                             const struct sl_test_state *st)
{
    t->status = st->status;
    t->created_at = st->created_at;
    t->started_at = st->started_at;
    t->ended_at = st->ended_at;
    t->running_accum = st->running_seconds;
    t->running_since = st->status == SL_TEST_RUNNING && !st->in_history ? sl_engine_now(eng) : -1;
    t->treatment_pct = st->treatment_pct;
    t->control_pct = st->control_pct;
    t->ramp_step = st->ramp_step;
    t->recommendation = st->recommendation;
    t->in_history = st->in_history;
    t->last_reason = st->last_reason ? strdup(st->last_reason) : NULL;
    t->recommendation_reason = st->recommendation_reason ? strdup(st->recommendation_reason) : NULL;
    for (size_t i = 0; i < st->nallocs; i++)
        sl_test_note_alloc(t, st->allocs[i].at, st->allocs[i].treatment);
    return sl_restore_cell(eng, t, st);
}

static int sl_restore_place(struct sl_engine *eng, int kind, void *obj, bool in_history)
{
    if (in_history) {
        struct sl_hist_item *h = realloc(eng->hist, (eng->nhist + 1) * sizeof *h);
        if (!h)
            return -1;
        eng->hist = h;
        h[eng->nhist++] = (struct sl_hist_item){kind, obj};
        return 0;
    }
    void ***arr = kind == SL_KIND_TEST ? (void ***)&eng->tests : (void ***)&eng->canaries;
    size_t *n = kind == SL_KIND_TEST ? &eng->ntests : &eng->ncanaries;
    size_t *cap = kind == SL_KIND_TEST ? &eng->captests : &eng->capcanaries;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        void **a = realloc(*arr, c * sizeof *a);
        if (!a)
            return -1;
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = obj;
    return 0;
}

/* The id must be given and free, and a claiming status needs a free model. */
static int sl_restore_check_id(struct sl_engine *eng, const char *id, const char *model,
                               bool claims, struct sl_err *err)
{
    if (!id)
        return sl_err_set(err, SL_EINVAL, "restore: the id is required");
    if (sl_engine_find_test(eng, id) || sl_engine_find_canary(eng, id) ||
        sl_registry_find(&eng->reg, id))
        return sl_err_set(err, SL_EEXIST, "restore: id '%s' is already used", id);
    struct sl_model *m = sl_registry_find(&eng->reg, model);
    if (claims && m && m->claimed_by)
        return sl_err_set(err, SL_ECONFLICT, "restore: model '%s' is already claimed by '%s'",
                          model, m->claimed_by);
    return 0;
}

int sl_engine_restore_test(struct sl_engine *eng, const struct sl_test_config *cfg,
                           const struct sl_test_state *st, struct sl_err *err)
{
    bool claims = sl_test_claims(st->status, st->in_history);
    if (!cfg || sl_state_check(st, err) ||
        sl_restore_check_id(eng, cfg->id, cfg->model, claims, err))
        return -1;
    struct sl_test *t = sl_test_new(cfg, cfg->id, &eng->reg, st->created_at, err);
    if (!t)
        return -1;
    if (sl_restore_fields(eng, t, st) || sl_restore_place(eng, SL_KIND_TEST, t, st->in_history)) {
        sl_cell_delete(t->cell);
        sl_test_delete(t);
        return sl_err_set(err, SL_ENOMEM, "out of memory restoring test '%s'", cfg->id);
    }
    if (claims)
        sl_model_claim(sl_registry_find(&eng->reg, t->cfg.model), t->cfg.id, SL_KIND_TEST, t);
    (void)sl_engine_reindex(eng);
    eng->dirty = true;
    return sl_engine_republish(eng, err);
}

/* ---- canaries -------------------------------------------------------------------------- */

int sl_engine_canary_state(const struct sl_engine *eng, const char *id, struct sl_canary_state *out,
                           struct sl_err *err)
{
    const struct sl_canary *k = sl_engine_find_canary(eng, id);
    if (!k)
        return sl_err_set(err, SL_ENOTFOUND, "unknown canary '%s'", id ? id : "");
    *out = (struct sl_canary_state){
        .status = k->status,
        .created_at = k->created_at,
        .started_at = k->started_at,
        .ended_at = k->ended_at,
        .traffic_pct = k->traffic_pct,
        .last_check = k->last_check,
        .checks = k->checks,
        .nchecks = k->nchecks,
        .trigger = k->trigger,
        .outcome = k->outcome,
        .last_reason = k->last_reason,
        .in_history = k->in_history,
    };
    return 0;
}

static const char *sl_outcome(const char *s)
{
    static const char *const known[] = {"promoted", "rolled_back", "failed"};
    for (size_t i = 0; s && i < 3; i++)
        if (strcmp(s, known[i]) == 0)
            return known[i];
    return NULL;
}

static int sl_canary_state_check(const struct sl_canary_state *st, struct sl_err *err)
{
    if (st->status < SL_CANARY_PREPARING || st->status > SL_CANARY_FAILED)
        return sl_err_set(err, SL_EINVAL, "state: unknown canary status %d", st->status);
    if (st->in_history && st->status != SL_CANARY_COMPLETED && st->status != SL_CANARY_FAILED)
        return sl_err_set(err, SL_EINVAL, "state: a %s canary cannot be in history",
                          sl_canary_status_name(st->status));
    if (!(st->traffic_pct >= 0 && st->traffic_pct <= 100) || st->nchecks > SL_CANARY_CHECKS ||
        st->trigger < SL_TRIGGER_NONE || st->trigger > SL_TRIGGER_MANUAL)
        return sl_err_set(err, SL_EINVAL, "state: traffic, checks or trigger out of range");
    if (st->outcome && !sl_outcome(st->outcome))
        return sl_err_set(err, SL_EINVAL, "state: unknown outcome '%s'", st->outcome);
    return 0;
}

int sl_engine_restore_canary(struct sl_engine *eng, const struct sl_canary_config *cfg,
                             const struct sl_canary_state *st, struct sl_err *err)
{
    bool claims = !st->in_history && sl_canary_live(st->status);
    if (!cfg || sl_canary_state_check(st, err) ||
        sl_restore_check_id(eng, cfg->id, cfg->model, claims, err))
        return -1;
    struct sl_canary *k = sl_canary_new(cfg, cfg->id, &eng->reg, st->created_at, err);
    if (!k)
        return -1;
    k->status = st->status;
    k->started_at = st->started_at;
    k->ended_at = st->ended_at;
    k->traffic_pct = st->traffic_pct;
    k->last_check = st->last_check;
    k->nchecks = st->nchecks;
    if (st->nchecks)
        memcpy(k->checks, st->checks, st->nchecks * sizeof *k->checks);
    k->trigger = st->trigger;
    k->outcome = sl_outcome(st->outcome);
    k->in_history = st->in_history;
    k->last_reason = st->last_reason ? strdup(st->last_reason) : NULL;
    bool started = st->status != SL_CANARY_PREPARING || st->started_at > 0;
    if (started &&
        !(k->cell = sl_cell_new(SL_KIND_CANARY, k->cfg.id, k->cfg.metrics, (int)k->cfg.nmetrics,
                                eng->opts.shards, eng->opts.window_slots, eng->opts.window_seconds,
                                st->started_at, 0)))
        goto nomem;
    if (sl_restore_place(eng, SL_KIND_CANARY, k, st->in_history))
        goto nomem;
    if (claims)
        sl_model_claim(sl_registry_find(&eng->reg, k->cfg.model), k->cfg.id, SL_KIND_CANARY, k);
    (void)sl_engine_reindex(eng);
    eng->dirty = true;
    return sl_engine_republish(eng, err);
nomem:
    sl_cell_delete(k->cell);
    sl_canary_delete(k);
    return sl_err_set(err, SL_ENOMEM, "out of memory restoring canary '%s'", cfg->id);
}
