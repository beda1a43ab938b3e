#include "engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include <xxhash.h>
#include "judge.h"

double sl_clock_wall(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double sl_engine_now(const struct sl_engine *eng)
{
    /* A tick is one moment: every policy it asks sees the same now (and an
     * engine whose clock is a Lua function is not called back per policy). */
    return eng->in_tick ? eng->tick_now : eng->opts.clock(eng->opts.clock_ud);
}

/* ---- creation ------------------------------------------------------------------ */

void sl_engine_opts_default(struct sl_engine_opts *o)
{
    memset(o, 0, sizeof *o);
    o->clock = sl_clock_wall;
    o->max_tests = 100;
    o->max_canaries = 100;
    o->history = 100;
    o->shards = 1;
    o->window_seconds = 60;
    o->window_slots = 30;
    o->event_ring = 4096;
    o->sticky_capacity = 65536;
}

static int sl_opts_check(const struct sl_engine_opts *o, struct sl_err *err)
{
    if (o->max_tests < 1 || o->max_canaries < 1 || o->history < 0)
        return sl_err_set(err, SL_EINVAL, "max_tests and max_canaries must be >= 1, history >= 0");
    if (o->shards < 1 || o->shards > 64)
        return sl_err_set(err, SL_EINVAL, "shards: %d is outside 1..64", o->shards);
    if (!(o->window_seconds >= 0.001) || o->window_slots < 1 || o->window_slots > 100000)
        return sl_err_set(err, SL_EINVAL, "windows: need window_seconds > 0 and 1..100000 slots");
    if (o->event_ring < 16 || o->sticky_capacity < 0 || o->sticky_capacity > (1 << 26))
        return sl_err_set(err, SL_EINVAL, "event_ring >= 16 and sticky_capacity in 0..2^26");
    return 0;
}

struct sl_engine *sl_engine_new(const struct sl_engine_opts *opts, struct sl_err *err)
{
    struct sl_engine_opts o;
    if (opts)
        o = *opts;
    else
        sl_engine_opts_default(&o);
    if (!o.clock)
        o.clock = sl_clock_wall;
    if (sl_opts_check(&o, err))
        return NULL;
    struct sl_engine *eng = calloc(1, sizeof *eng);
    if (!eng) {
        sl_err_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    eng->opts = o;
    eng->next_id = 1;
    if (sl_events_init(&eng->events, (size_t)o.event_ring, o.sink, o.sink_ud) ||
        sl_router_init(&eng->router, o.shards)) {
        sl_events_destroy(&eng->events);
        free(eng);
        sl_err_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    return eng;
}

static void sl_engine_free_test(struct sl_test *t)
{
    if (t)
        sl_cell_delete(t->cell);
    sl_test_delete(t);
}

static void sl_engine_free_canary(struct sl_canary *k)
{
    if (k)
        sl_cell_delete(k->cell);
    sl_canary_delete(k);
}

void sl_engine_delete(struct sl_engine *eng)
{
    if (!eng)
        return;
    for (size_t i = 0; i < eng->ntests; i++)
        sl_engine_free_test(eng->tests[i]);
    for (size_t i = 0; i < eng->ncanaries; i++)
        sl_engine_free_canary(eng->canaries[i]);
    for (size_t i = 0; i < eng->nhist; i++) {
        if (eng->hist[i].kind == SL_KIND_TEST)
            sl_engine_free_test(eng->hist[i].obj);
        else
            sl_engine_free_canary(eng->hist[i].obj);
    }
    free(eng->tests);
    free(eng->canaries);
    free(eng->hist);
    free(eng->ids);
    free(eng->memo);
    sl_router_destroy(&eng->router);
    sl_events_destroy(&eng->events);
    sl_registry_destroy(&eng->reg);
    free(eng);
}

/* ---- lookups ------------------------------------------------------------------- */

static const struct sl_idslot *sl_engine_lookup(const struct sl_engine *eng, const char *id)
{
    if (!id || !eng->ids)
        return NULL;
    for (size_t i = XXH3_64bits(id, strlen(id)) & eng->idmask; eng->ids[i].id;
         i = (i + 1) & eng->idmask)
        if (strcmp(eng->ids[i].id, id) == 0)
            return &eng->ids[i];
    return NULL;
}

static void sl_idx_put(struct sl_idslot *ids, size_t mask, const char *id, void *obj, int kind)
{
    size_t i = XXH3_64bits(id, strlen(id)) & mask;
    while (ids[i].id)
        i = (i + 1) & mask;
    ids[i] = (struct sl_idslot){id, obj, kind};
}

/* After removals the index must not keep pointing at retired objects: if it
 * cannot be rebuilt (out of memory), drop it; lookups then find nothing
 * until the next successful rebuild, which is safe. */
static void sl_engine_reindex_or_drop(struct sl_engine *eng)
{
    if (sl_engine_reindex(eng) == 0)
        return;
    free(eng->ids);
    eng->ids = NULL;
    eng->idmask = 0;
}

int sl_engine_reindex(struct sl_engine *eng)
{
    size_t n = eng->ntests + eng->ncanaries + eng->nhist, size = 16;
    while (size < 2 * n + 2)
        size *= 2;
    struct sl_idslot *ids = calloc(size, sizeof *ids);
    if (!ids)
        return -1;
    for (size_t i = 0; i < eng->ntests; i++)
        sl_idx_put(ids, size - 1, eng->tests[i]->cfg.id, eng->tests[i], SL_KIND_TEST);
    for (size_t i = 0; i < eng->ncanaries; i++)
        sl_idx_put(ids, size - 1, eng->canaries[i]->cfg.id, eng->canaries[i], SL_KIND_CANARY);
    for (size_t i = 0; i < eng->nhist; i++) {
        struct sl_hist_item *h = &eng->hist[i];
        const char *id = h->kind == SL_KIND_TEST ? ((struct sl_test *)h->obj)->cfg.id
                                                 : ((struct sl_canary *)h->obj)->cfg.id;
        sl_idx_put(ids, size - 1, id, h->obj, h->kind);
    }
    free(eng->ids);
    eng->ids = ids;
    eng->idmask = size - 1;
    return 0;
}

struct sl_test *sl_engine_find_test(const struct sl_engine *eng, const char *id)
{
    const struct sl_idslot *s = sl_engine_lookup(eng, id);
    return s && s->kind == SL_KIND_TEST ? s->obj : NULL;
}

struct sl_canary *sl_engine_find_canary(const struct sl_engine *eng, const char *id)
{
    const struct sl_idslot *s = sl_engine_lookup(eng, id);
    return s && s->kind == SL_KIND_CANARY ? s->obj : NULL;
}

static bool sl_id_taken(const struct sl_engine *eng, const char *id)
{
    return sl_engine_find_test(eng, id) || sl_engine_find_canary(eng, id) ||
           sl_registry_find(&eng->reg, id);
}

/* Ids share one namespace with model ids: a route key is never ambiguous. */
/* The id of a new object into out, and in *next the engine's next_id once
 * the object exists: the caller stores it only then (a refused create uses
 * up no id). */
static int sl_pick_id(const struct sl_engine *eng, const char *given, const char *prefix, char *out,
                      uint64_t *next, struct sl_err *err)
{
    *next = eng->next_id;
    if (given) {
        if (sl_check_id(given, "id", err))
            return -1;
        if (sl_id_taken(eng, given))
            return sl_err_set(err, SL_EEXIST, "id '%s' is already used", given);
        snprintf(out, SL_ID_MAX + 1, "%s", given);
        return 0;
    }
    do
        snprintf(out, SL_ID_MAX + 1, "%s-%llu", prefix, (unsigned long long)(*next)++);
    while (sl_id_taken(eng, out));
    return 0;
}

static struct sl_cell *sl_object_cell(const struct sl_engine *eng, const char *id, int *kind)
{
    struct sl_test *t = sl_engine_find_test(eng, id);
    if (t) {
        *kind = SL_KIND_TEST;
        return t->cell;
    }
    struct sl_canary *k = sl_engine_find_canary(eng, id);
    *kind = k ? SL_KIND_CANARY : SL_KIND_NONE;
    return k ? k->cell : NULL;
}

/* ---- events --------------------------------------------------------------------- */

static void sl_note(struct sl_engine *eng, int kind, const char *subject, const char *actor,
                    const char *action, const char *from, const char *to, const char *reason,
                    double value)
{
    sl_events_append(&eng->events, sl_engine_now(eng), kind, subject, actor, action, from, to,
                     reason, NULL, value);
}

int sl_engine_emit(struct sl_engine *eng, int kind, const char *subject, const char *actor,
                   const char *action, const char *reason, const char *detail, double value,
                   struct sl_err *err)
{
    if (kind < SL_EVENT_MODEL || kind > SL_EVENT_POLICY)
        return sl_err_set(err, SL_EINVAL, "event kind %d is unknown", kind);
    if (!sl_events_append(&eng->events, sl_engine_now(eng), kind, subject, actor, action, "", "",
                          reason, detail, value))
        return sl_err_set(err, SL_ENOMEM, "out of memory copying the event detail");
    return 0;
}

size_t sl_engine_events(const struct sl_engine *eng, uint64_t since, const struct sl_event **out,
                        size_t max)
{
    return sl_events_since(&eng->events, since, out, max);
}

uint64_t sl_engine_last_seq(const struct sl_engine *eng)
{
    return eng->events.next_seq - 1;
}

/* ---- models ------------------------------------------------------------------------ */

int sl_engine_add_version(struct sl_engine *eng, const struct sl_version_config *cfg,
                          struct sl_err *err)
{
    if (!sl_registry_find(&eng->reg, cfg->model) &&
        (sl_engine_find_test(eng, cfg->model) || sl_engine_find_canary(eng, cfg->model)))
        return sl_err_set(err, SL_EEXIST, "model: '%s' is already a test or canary id", cfg->model);
    if (sl_registry_add(&eng->reg, cfg, sl_engine_now(eng), err))
        return -1;
    eng->dirty = true;
    if (sl_engine_republish(eng, err))
        return -1;
    sl_note(eng, SL_EVENT_MODEL, cfg->model, "user", "add_version", "", "", cfg->version, NAN);
    return 0;
}

int sl_engine_set_health(struct sl_engine *eng, const char *model, const char *version, int health,
                         struct sl_err *err)
{
    struct sl_version *v = sl_registry_require(&eng->reg, model, version, "model", err);
    if (!v)
        return -1;
    if (health < 0 || health > SL_HEALTH_FAILED)
        return sl_err_set(err, SL_EINVAL, "health: unknown value %d", health);
    if (v->health != health)
        sl_note(eng, SL_EVENT_MODEL, model, "user", "health", sl_health_name(v->health),
                sl_health_name(health), version, NAN);
    v->health = health;
    return 0;
}

static void sl_model_make_live(struct sl_engine *eng, struct sl_model *m, const char *version,
                               const char *actor, const char *why)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->versions[i].version, version) == 0 && m->live != i) {
            sl_note(eng, SL_EVENT_MODEL, m->id, actor, "live", m->versions[m->live].version,
                    version, why, NAN);
            m->live = i;
            eng->dirty = true;
        }
}

int sl_engine_set_live(struct sl_engine *eng, const char *model, const char *version,
                       const char *actor, struct sl_err *err)
{
    if (!sl_registry_require(&eng->reg, model, version, "model", err))
        return -1;
    struct sl_model *m = sl_registry_find(&eng->reg, model);
    if (m->claimed_by)
        return sl_err_set(err, SL_ECONFLICT, "model '%s' is claimed by '%s': finish it first",
                          model, m->claimed_by);
    sl_model_make_live(eng, m, version, actor ? actor : "user", "set live");
    return sl_engine_republish(eng, err);
}

size_t sl_engine_model_count(const struct sl_engine *eng)
{
    return eng->reg.n;
}

static void sl_model_fill(const struct sl_model *m, struct sl_model_info *out)
{
    out->id = m->id;
    out->live = m->versions[m->live].version;
    out->claimed_by = m->claimed_by;
    out->nversions = m->n;
}

int sl_engine_model_at(const struct sl_engine *eng, size_t i, struct sl_model_info *out)
{
    if (i >= eng->reg.n)
        return -1;
    sl_model_fill(eng->reg.models[i], out);
    return 0;
}

int sl_engine_model(const struct sl_engine *eng, const char *id, struct sl_model_info *out,
                    struct sl_err *err)
{
    const struct sl_model *m = sl_registry_find(&eng->reg, id);
    if (!m)
        return sl_err_set(err, SL_ENOTFOUND, "unknown model '%s'", id ? id : "");
    sl_model_fill(m, out);
    return 0;
}

int sl_engine_model_version_at(const struct sl_engine *eng, const char *model, size_t i,
                               struct sl_version_info *out)
{
    const struct sl_model *m = sl_registry_find(&eng->reg, model);
    if (!m || i >= m->n)
        return -1;
    const struct sl_version *v = &m->versions[i];
    *out = (struct sl_version_info){v->version, v->path, v->config, v->health, v->loaded_at};
    return 0;
}

/* ---- routing snapshot ---------------------------------------------------------------- */

struct sl_builder {
    struct sl_rentry *e;
    size_t n, cap;
    struct sl_override *ov;
    size_t nov, capov;
    bool failed;
};

static struct sl_rentry *sl_builder_add(struct sl_builder *b)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct sl_rentry *e = realloc(b->e, cap * sizeof *e);
        if (!e) {
            b->failed = true;
            return NULL;
        }
        b->e = e;
        b->cap = cap;
    }
    memset(&b->e[b->n], 0, sizeof b->e[0]);
    return &b->e[b->n++];
}

static int sl_ov_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct sl_override *)a)->hash, y = ((const struct sl_override *)b)->hash;
    return x < y ? -1 : x > y;
}

/* Overrides of t as a sorted array; the entry's ov is an offset until the end. */
static void sl_builder_overrides(struct sl_builder *b, const struct sl_test *t, uint64_t seed,
                                 struct sl_rentry *e)
{
    if (!t->nov)
        return;
    struct sl_override *ov = malloc(t->nov * sizeof *ov);
    if (!ov) {
        b->failed = true;
        return;
    }
    for (size_t i = 0; i < t->nov; i++) {
        ov[i].hash = sl_hash_unit(seed, t->ov[i].unit, strlen(t->ov[i].unit));
        ov[i].arm = t->ov[i].arm;
    }
    qsort(ov, t->nov, sizeof *ov, sl_ov_cmp);
    e->ov = ov;
    e->nov = t->nov;
}

static bool sl_test_routes(int status)
{
    return status == SL_TEST_RUNNING || status == SL_TEST_PAUSED;
}

static void sl_builder_test(struct sl_builder *b, const struct sl_engine *eng,
                            const struct sl_test *t, const char *key)
{
    struct sl_rentry *e = sl_builder_add(b);
    if (!e)
        return;
    const struct sl_model *m = sl_registry_find(&eng->reg, t->cfg.model);
    e->key = key;
    e->kind = SL_KIND_TEST;
    e->id = t->cfg.id;
    e->model = m->id;
    e->live = m->versions[m->live].version;
    e->version[0] = sl_model_version(m, t->cfg.control_version)->version;
    e->version[1] = sl_model_version(m, t->cfg.treatment_version)->version;
    e->variant[0] = "control";
    e->variant[1] = "treatment";
    e->routing = t->cfg.routing;
    e->seed = sl_hash_seed(t->cfg.id, strlen(t->cfg.id));
    e->cell = t->cell;
    if (!sl_test_routes(t->status) || t->in_history) {
        e->status_block = t->status + 1;
        e->status_name = sl_test_status_name(t->status);
        return;
    }
    bool paused = t->status == SL_TEST_PAUSED;
    e->paused = paused;
    e->t_thr = paused ? 0 : sl_hash_threshold(t->treatment_pct);
    e->tc_thr = paused ? SL_HASH_ONE : sl_hash_threshold(t->treatment_pct + t->control_pct);
    sl_builder_overrides(b, t, e->seed, e);
}

static void sl_canary_thresholds(const struct sl_canary *k, struct sl_rentry *e)
{
    e->tc_thr = SL_HASH_ONE;
    switch (k->status) {
    case SL_CANARY_MONITORING:
        e->t_thr = sl_hash_threshold(k->traffic_pct);
        break;
    case SL_CANARY_PROMOTING:
        e->t_thr = SL_HASH_ONE;
        break;
    default: /* deploying, rolling back: everything stays on stable */
        e->t_thr = 0;
    }
}

static void sl_builder_canary(struct sl_builder *b, const struct sl_engine *eng,
                              const struct sl_canary *k, const char *key)
{
    struct sl_rentry *e = sl_builder_add(b);
    if (!e)
        return;
    const struct sl_model *m = sl_registry_find(&eng->reg, k->cfg.model);
    e->key = key;
    e->kind = SL_KIND_CANARY;
    e->id = k->cfg.id;
    e->model = m->id;
    e->live = m->versions[m->live].version;
    e->version[0] = sl_model_version(m, k->cfg.stable)->version;
    e->version[1] = sl_model_version(m, k->cfg.canary)->version;
    e->variant[0] = "stable";
    e->variant[1] = "canary";
    e->routing = SL_ROUTING_HASH;
    e->seed = sl_hash_seed(k->cfg.id, strlen(k->cfg.id));
    e->cell = k->cell;
    if (!sl_canary_live(k->status) || k->in_history) {
        e->status_block = k->status + 1;
        e->status_name = sl_canary_status_name(k->status);
        return;
    }
    sl_canary_thresholds(k, e);
}

/* The model's own entry: the claiming test/canary if it routes, else live. */
static void sl_builder_model(struct sl_builder *b, const struct sl_engine *eng,
                             const struct sl_model *m)
{
    const struct sl_test *t = m->claim_kind == SL_KIND_TEST ? m->claim : NULL;
    const struct sl_canary *k = m->claim_kind == SL_KIND_CANARY ? m->claim : NULL;
    if (t && sl_test_routes(t->status)) {
        sl_builder_test(b, eng, t, m->id);
        return;
    }
    if (k && sl_canary_live(k->status)) {
        sl_builder_canary(b, eng, k, m->id);
        return;
    }
    struct sl_rentry *e = sl_builder_add(b);
    if (!e)
        return;
    e->key = m->id;
    e->kind = SL_KIND_NONE;
    e->model = m->id;
    e->live = m->versions[m->live].version;
}

static void sl_builder_history(struct sl_builder *b, const struct sl_engine *eng)
{
    for (size_t i = 0; i < eng->nhist; i++) {
        if (eng->hist[i].kind == SL_KIND_TEST) {
            const struct sl_test *t = eng->hist[i].obj;
            sl_builder_test(b, eng, t, t->cfg.id);
        } else {
            const struct sl_canary *k = eng->hist[i].obj;
            sl_builder_canary(b, eng, k, k->cfg.id);
        }
    }
}

int sl_engine_republish(struct sl_engine *eng, struct sl_err *err)
{
    /* A tick publishes once, at its end, whatever its decisions changed: a
     * tick in which every ramp stepped rebuilt the whole table once per test
     * (N^2: 0.42 s for a tick of 1,000 tests). */
    if (eng->in_tick) {
        eng->dirty = true;
        return 0;
    }
    struct sl_builder b = {0};
    for (size_t i = 0; i < eng->reg.n; i++)
        sl_builder_model(&b, eng, eng->reg.models[i]);
    for (size_t i = 0; i < eng->ntests; i++)
        sl_builder_test(&b, eng, eng->tests[i], eng->tests[i]->cfg.id);
    for (size_t i = 0; i < eng->ncanaries; i++)
        sl_builder_canary(&b, eng, eng->canaries[i], eng->canaries[i]->cfg.id);
    sl_builder_history(&b, eng);
    int rc = b.failed ? sl_err_set(err, SL_ENOMEM, "out of memory building the routing table")
                      : sl_router_publish(&eng->router, b.e, b.n, err);
    for (size_t i = 0; i < b.n; i++)
        if (b.e[i].nov)
            free((void *)b.e[i].ov);
    free(b.e);
    if (rc == 0) {
        eng->dirty = false;
        /* Free the snapshots no reader can still see now, not only at the
         * next tick: starting N tests between ticks kept N snapshots of up to
         * N entries each (RSS grew with N^2: 2.8 GiB for 2,000 tests). */
        sl_router_reclaim(&eng->router);
    }
    return rc;
}

/* ---- history ------------------------------------------------------------------------ */

static void sl_retired_test(void *p)
{
    sl_engine_free_test(p);
}

static void sl_retired_canary(void *p)
{
    sl_engine_free_canary(p);
}

/* Routing entries point into the object (ids) and its cell (metrics), and
 * readers may still hold an older snapshot: evicted objects are retired, not
 * freed. If even that allocation fails the object leaks: better than freeing
 * it under a reader. */
static void sl_history_evict(struct sl_engine *eng)
{
    if (eng->in_tick)
        return; /* the tick evicts once it no longer holds object pointers */
    while (eng->nhist > (size_t)eng->opts.history) {
        struct sl_hist_item *it = &eng->hist[--eng->nhist];
        /* Said, so a store forgets it too (the object is retired, not freed:
         * its id is still readable here). */
        bool test = it->kind == SL_KIND_TEST;
        const char *id =
            test ? ((struct sl_test *)it->obj)->cfg.id : ((struct sl_canary *)it->obj)->cfg.id;
        int status =
            test ? ((struct sl_test *)it->obj)->status : ((struct sl_canary *)it->obj)->status;
        char why[64];
        snprintf(why, sizeof why, "history keeps the newest %d", eng->opts.history);
        sl_note(eng, SL_EVENT_LIFECYCLE, id, "engine", "evict",
                test ? sl_test_status_name(status) : sl_canary_status_name(status), "", why, NAN);
        (void)sl_router_retire(
            &eng->router, it->kind == SL_KIND_TEST ? sl_retired_test : sl_retired_canary, it->obj);
        eng->dirty = true;
    }
    sl_engine_reindex_or_drop(eng);
}

static int sl_history_push(struct sl_engine *eng, int kind, void *obj)
{
    struct sl_hist_item *h = realloc(eng->hist, (eng->nhist + 1) * sizeof *h);
    if (!h)
        return -1;
    eng->hist = h;
    memmove(&h[1], &h[0], eng->nhist * sizeof *h);
    h[0] = (struct sl_hist_item){kind, obj};
    eng->nhist++;
    eng->dirty = true;
    return 0;
}

static void sl_archive_test(struct sl_engine *eng, struct sl_test *t)
{
    for (size_t i = 0; i < eng->ntests; i++)
        if (eng->tests[i] == t) {
            memmove(&eng->tests[i], &eng->tests[i + 1], (eng->ntests - i - 1) * sizeof t);
            eng->ntests--;
            break;
        }
    t->in_history = true;
    if (sl_history_push(eng, SL_KIND_TEST, t)) { /* out of memory: drop it, safely */
        (void)sl_router_retire(&eng->router, sl_retired_test, t);
        sl_engine_reindex_or_drop(eng);
    }
}

static void sl_archive_canary(struct sl_engine *eng, struct sl_canary *k)
{
    for (size_t i = 0; i < eng->ncanaries; i++)
        if (eng->canaries[i] == k) {
            memmove(&eng->canaries[i], &eng->canaries[i + 1], (eng->ncanaries - i - 1) * sizeof k);
            eng->ncanaries--;
            break;
        }
    k->in_history = true;
    if (sl_history_push(eng, SL_KIND_CANARY, k)) {
        (void)sl_router_retire(&eng->router, sl_retired_canary, k);
        sl_engine_reindex_or_drop(eng);
    }
}

size_t sl_engine_history_count(const struct sl_engine *eng)
{
    return eng->nhist;
}

const char *sl_engine_history_at(const struct sl_engine *eng, size_t i, int *kind)
{
    if (i >= eng->nhist)
        return NULL;
    if (kind)
        *kind = eng->hist[i].kind;
    return eng->hist[i].kind == SL_KIND_TEST ? ((struct sl_test *)eng->hist[i].obj)->cfg.id
                                             : ((struct sl_canary *)eng->hist[i].obj)->cfg.id;
}

/* ---- tests ----------------------------------------------------------------------------- */

static int sl_engine_grow(void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 8;
    void *a = realloc(*arr, c * size);
    if (!a)
        return -1;
    *arr = a;
    *cap = c;
    return 0;
}

int sl_engine_create_test(struct sl_engine *eng, const struct sl_test_config *cfg, char *id_out,
                          struct sl_err *err)
{
    char id[SL_ID_MAX + 1];
    if (!cfg)
        return sl_err_set(err, SL_EINVAL, "no test configuration");
    uint64_t next;
    if (sl_pick_id(eng, cfg->id, "t", id, &next, err))
        return -1;
    if (sl_engine_grow((void **)&eng->tests, eng->ntests, &eng->captests, sizeof(void *)))
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    struct sl_test *t = sl_test_new(cfg, id, &eng->reg, sl_engine_now(eng), err);
    if (!t)
        return -1;
    eng->tests[eng->ntests++] = t;
    if (sl_engine_reindex(eng) || sl_engine_republish(eng, err)) {
        eng->ntests--;
        sl_test_delete(t);
        sl_engine_reindex_or_drop(eng);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    eng->next_id = next;
    sl_note(eng, SL_EVENT_LIFECYCLE, id, cfg->created_by, "create", "", "draft", cfg->name, NAN);
    if (id_out)
        snprintf(id_out, SL_ID_MAX + 1, "%s", id);
    return 0;
}

static size_t sl_active_tests(const struct sl_engine *eng)
{
    size_t n = 0;
    for (size_t i = 0; i < eng->ntests; i++)
        n += eng->tests[i]->status >= SL_TEST_STARTING && eng->tests[i]->status <= SL_TEST_PAUSED;
    return n;
}

/* What must hold before a test may begin starting: the model is free, the
 * concurrency bound is not reached, and its cell exists. */
static int sl_test_may_start(struct sl_engine *eng, struct sl_test *t, struct sl_err *err)
{
    struct sl_model *m = sl_registry_find(&eng->reg, t->cfg.model);
    if (m->claimed_by && strcmp(m->claimed_by, t->cfg.id) != 0)
        return sl_err_set(err, SL_ECONFLICT, "model '%s' is already claimed by '%s'", m->id,
                          m->claimed_by);
    if (sl_active_tests(eng) >= (size_t)eng->opts.max_tests)
        return sl_err_set(err, SL_ELIMIT, "%d tests are already active (max_tests)",
                          eng->opts.max_tests);
    if (!t->cell) {
        bool sticky = t->cfg.routing == SL_ROUTING_STICKY;
        t->cell = sl_cell_new(SL_KIND_TEST, t->cfg.id, t->cfg.success_metrics, (int)t->cfg.nsuccess,
                              eng->opts.shards, eng->opts.window_slots, eng->opts.window_seconds,
                              sl_engine_now(eng), sticky ? (size_t)eng->opts.sticky_capacity : 0);
        if (!t->cell)
            return sl_err_set(err, SL_ENOMEM, "out of memory allocating metrics");
        sl_analysis_init(&t->analysis, t->cfg.alpha, t->cfg.minimum_effect_size,
                         (int)t->cfg.nsuccess);
    }
    return 0;
}

/* Credit the traffic since the last accounting to the shares in force until
 * now; called before every change of allocation or status, and on ticks. */
static void sl_test_account(struct sl_test *t)
{
    if (!t->cell)
        return;
    bool live = t->status == SL_TEST_RUNNING;
    bool paused = t->status == SL_TEST_PAUSED;
    sl_analysis_account(&t->analysis, t->cell->var,
                        live     ? t->control_pct
                        : paused ? 100
                                 : 0,
                        live ? t->treatment_pct : 0);
}

static void sl_test_apply_step(struct sl_engine *eng, struct sl_test *t, int step,
                               const char *actor)
{
    double now = sl_engine_now(eng);
    double pct = step >= 0 ? t->ramp[step].treatment : 0;
    sl_test_account(t);
    t->ramp_step = step;
    t->control_pct = step >= 0 ? t->ramp[step].control : 100;
    if (pct != t->treatment_pct || t->nallocs == 0) {
        char why[96];
        snprintf(why, sizeof why, "ramp step %d of %zu", step + 1, t->cfg.nramp);
        sl_note(eng, SL_EVENT_ALLOCATION, t->cfg.id, actor, "set_traffic", "", "", why, pct);
        t->treatment_pct = pct;
        sl_test_note_alloc(t, now, pct);
    }
    eng->dirty = true;
}

/* Move between states and keep the bookkeeping that goes with them. */
static void sl_test_enter(struct sl_engine *eng, struct sl_test *t, int to, const char *verb,
                          const char *actor, const char *reason)
{
    double now = sl_engine_now(eng);
    int from = t->status;
    sl_test_account(t);
    if (from == SL_TEST_RUNNING) {
        t->running_accum += now - t->running_since;
        t->running_since = -1;
    }
    if (to == SL_TEST_RUNNING)
        t->running_since = now;
    if (to == SL_TEST_STARTING && !t->started_at)
        t->started_at = now;
    t->status = to;
    sl_test_set_reason(t, reason);
    sl_note(eng, SL_EVENT_LIFECYCLE, t->cfg.id, actor, verb, sl_test_status_name(from),
            sl_test_status_name(to), reason, NAN);
    struct sl_model *m = sl_registry_find(&eng->reg, t->cfg.model);
    if (to == SL_TEST_STARTING)
        sl_model_claim(m, t->cfg.id, SL_KIND_TEST, t);
    else if (to >= SL_TEST_COMPLETED && m->claimed_by == t->cfg.id)
        sl_model_claim(m, NULL, 0, NULL);
    if (to == SL_TEST_PROMOTED)
        sl_model_make_live(eng, m, t->cfg.treatment_version, actor, "test promoted");
    if (to == SL_TEST_RUNNING && t->ramp_step < 0)
        sl_test_apply_step(eng, t, sl_test_ramp_step(t, 0), actor);
    if (sl_test_terminal(to) || to == SL_TEST_FAILED)
        t->ended_at = now;
    eng->dirty = true;
}

static bool sl_usable(int health)
{
    return health == SL_HEALTH_HEALTHY || health == SL_HEALTH_DEGRADED;
}

/* starting -> running once both versions can serve; -> failed if one cannot. */
static void sl_test_advance_start(struct sl_engine *eng, struct sl_test *t)
{
    const struct sl_model *m = sl_registry_find(&eng->reg, t->cfg.model);
    const struct sl_version *c = sl_model_version(m, t->cfg.control_version);
    const struct sl_version *v = sl_model_version(m, t->cfg.treatment_version);
    if (sl_usable(c->health) && sl_usable(v->health)) {
        sl_test_enter(eng, t, SL_TEST_RUNNING, "running", "engine", "both versions are serving");
        return;
    }
    const struct sl_version *bad = !sl_usable(c->health) ? c : v;
    if (bad->health == SL_HEALTH_LOADING)
        return;
    char why[SL_ID_MAX + 64];
    snprintf(why, sizeof why, "version '%s' is %s", bad->version, sl_health_name(bad->health));
    sl_test_enter(eng, t, SL_TEST_FAILED, "fail", "engine", why);
}

static int sl_test_act(struct sl_engine *eng, struct sl_test *t, int verb, const char *actor,
                       const char *reason, struct sl_err *err)
{
    int to = t->in_history ? -1 : sl_test_next(t->status, verb);
    if (to < 0)
        return sl_err_set(err, SL_ESTATE, "test '%s' is %s: cannot %s", t->cfg.id,
                          sl_test_status_name(t->status), sl_verb_name(verb));
    if (to == SL_TEST_STARTING && sl_test_may_start(eng, t, err))
        return -1;
    bool archive_failed = t->status == SL_TEST_FAILED && verb == SL_VERB_STOP;
    sl_test_enter(eng, t, to, sl_verb_name(verb), actor ? actor : "user", reason);
    if (to == SL_TEST_STARTING)
        sl_test_advance_start(eng, t);
    if (sl_test_terminal(to) || archive_failed) {
        sl_archive_test(eng, t);
        sl_history_evict(eng);
    }
    return sl_engine_republish(eng, err);
}

int sl_engine_set_allocation(struct sl_engine *eng, const char *id, double pct, const char *actor,
                             const char *reason, struct sl_err *err)
{
    struct sl_test *t = sl_engine_find_test(eng, id);
    if (!t) {
        struct sl_canary *k = sl_engine_find_canary(eng, id);
        if (k)
            return sl_engine_set_canary_traffic(eng, id, pct, actor, reason, err);
        return sl_err_set(err, SL_ENOTFOUND, "unknown test '%s'", id ? id : "");
    }
    if (!(pct >= 0 && pct <= 100))
        return sl_err_set(err, SL_EINVAL, "treatment: %g is outside [0,100]", pct);
    if (t->in_history || !sl_test_routes(t->status))
        return sl_err_set(err, SL_ESTATE, "test '%s' is %s: cannot set traffic", id,
                          sl_test_status_name(t->status));
    sl_note(eng, SL_EVENT_ALLOCATION, id, actor ? actor : "user", "set_traffic", "", "", reason,
            pct);
    sl_test_account(t);
    t->treatment_pct = pct;
    t->control_pct = 100 - pct;
    sl_test_note_alloc(t, sl_engine_now(eng), pct);
    eng->dirty = true;
    return sl_engine_republish(eng, err);
}

int sl_engine_set_override(struct sl_engine *eng, const char *test_id, const char *unit, int arm,
                           struct sl_err *err)
{
    struct sl_test *t = sl_engine_find_test(eng, test_id);
    if (!t || t->in_history)
        return sl_err_set(err, SL_ENOTFOUND, "unknown or finished test '%s'",
                          test_id ? test_id : "");
    if (t->cfg.routing != SL_ROUTING_STICKY)
        return sl_err_set(err, SL_EINVAL, "test '%s' routes by %s: overrides need sticky routing",
                          test_id, sl_routing_name(t->cfg.routing));
    if (sl_check_id(unit, "unit", err))
        return -1;
    if (arm < -1 || arm > 1)
        return sl_err_set(err, SL_EINVAL, "arm: %d is not control (0), treatment (1) or -1", arm);
    size_t i = 0;
    while (i < t->nov && strcmp(t->ov[i].unit, unit) != 0)
        i++;
    if (arm < 0) {
        if (i < t->nov) {
            free(t->ov[i].unit);
            t->ov[i] = t->ov[--t->nov];
        }
    } else if (i < t->nov) {
        t->ov[i].arm = arm;
    } else {
        void *ov = realloc(t->ov, (t->nov + 1) * sizeof *t->ov);
        char *u = strdup(unit);
        if (!ov || !u) {
            if (ov)
                t->ov = ov;
            free(u);
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        }
        t->ov = ov;
        t->ov[t->nov].unit = u;
        t->ov[t->nov++].arm = arm;
    }
    eng->dirty = true;
    return sl_engine_republish(eng, err);
}

/* ---- canaries ---------------------------------------------------------------------------- */

int sl_engine_create_canary(struct sl_engine *eng, const struct sl_canary_config *cfg, char *id_out,
                            struct sl_err *err)
{
    char id[SL_ID_MAX + 1];
    if (!cfg)
        return sl_err_set(err, SL_EINVAL, "no canary configuration");
    struct sl_canary_config c = *cfg;
    const struct sl_model *m = sl_registry_find(&eng->reg, c.model);
    if (!c.stable && m)
        c.stable = m->versions[m->live].version;
    uint64_t next;
    if (sl_pick_id(eng, c.id, "c", id, &next, err))
        return -1;
    if (sl_engine_grow((void **)&eng->canaries, eng->ncanaries, &eng->capcanaries, sizeof(void *)))
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    struct sl_canary *k = sl_canary_new(&c, id, &eng->reg, sl_engine_now(eng), err);
    if (!k)
        return -1;
    eng->canaries[eng->ncanaries++] = k;
    if (sl_engine_reindex(eng) || sl_engine_republish(eng, err)) {
        eng->ncanaries--;
        sl_canary_delete(k);
        sl_engine_reindex_or_drop(eng);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    eng->next_id = next;
    sl_note(eng, SL_EVENT_LIFECYCLE, id, c.created_by, "create", "", "preparing", c.name, NAN);
    if (id_out)
        snprintf(id_out, SL_ID_MAX + 1, "%s", id);
    return 0;
}

static size_t sl_live_canaries(const struct sl_engine *eng)
{
    size_t n = 0;
    for (size_t i = 0; i < eng->ncanaries; i++)
        n += sl_canary_live(eng->canaries[i]->status);
    return n;
}

static int sl_canary_may_start(struct sl_engine *eng, struct sl_canary *k, struct sl_err *err)
{
    struct sl_model *m = sl_registry_find(&eng->reg, k->cfg.model);
    if (m->claimed_by && strcmp(m->claimed_by, k->cfg.id) != 0)
        return sl_err_set(err, SL_ECONFLICT, "model '%s' is already claimed by '%s'", m->id,
                          m->claimed_by);
    if (sl_live_canaries(eng) >= (size_t)eng->opts.max_canaries)
        return sl_err_set(err, SL_ELIMIT, "%d canaries are already live (max_canaries)",
                          eng->opts.max_canaries);
    if (!k->cell) {
        k->cell = sl_cell_new(SL_KIND_CANARY, k->cfg.id, k->cfg.metrics, (int)k->cfg.nmetrics,
                              eng->opts.shards, eng->opts.window_slots, eng->opts.window_seconds,
                              sl_engine_now(eng), 0);
        if (!k->cell)
            return sl_err_set(err, SL_ENOMEM, "out of memory allocating metrics");
    }
    return 0;
}

static void sl_canary_enter(struct sl_engine *eng, struct sl_canary *k, int to, const char *verb,
                            const char *actor, const char *reason)
{
    double now = sl_engine_now(eng);
    int from = k->status;
    struct sl_model *m = sl_registry_find(&eng->reg, k->cfg.model);
    k->status = to;
    sl_canary_set_reason(k, reason);
    sl_note(eng, SL_EVENT_LIFECYCLE, k->cfg.id, actor, verb, sl_canary_status_name(from),
            sl_canary_status_name(to), reason, NAN);
    if (to == SL_CANARY_DEPLOYING) {
        sl_model_claim(m, k->cfg.id, SL_KIND_CANARY, k);
        k->started_at = k->started_at ? k->started_at : now;
    }
    if (to == SL_CANARY_MONITORING) {
        k->traffic_pct = k->cfg.traffic;
        sl_note(eng, SL_EVENT_ALLOCATION, k->cfg.id, actor, "set_traffic", "", "", "canary traffic",
                k->traffic_pct);
    }
    if (to == SL_CANARY_PROMOTING)
        k->outcome = "promoted";
    if (to == SL_CANARY_ROLLING_BACK)
        k->outcome = "rolled_back";
    if (to == SL_CANARY_COMPLETED || to == SL_CANARY_FAILED) {
        if (m->claimed_by == k->cfg.id)
            sl_model_claim(m, NULL, 0, NULL);
        k->ended_at = now;
        if (to == SL_CANARY_FAILED)
            k->outcome = "failed";
    }
    if (to == SL_CANARY_COMPLETED && k->outcome && strcmp(k->outcome, "promoted") == 0)
        sl_model_make_live(eng, m, k->cfg.canary, actor, "canary promoted");
    eng->dirty = true;
}

/* deploying -> monitoring once the canary version serves; -> failed if it cannot. */
static void sl_canary_advance_deploy(struct sl_engine *eng, struct sl_canary *k)
{
    const struct sl_model *m = sl_registry_find(&eng->reg, k->cfg.model);
    const struct sl_version *v = sl_model_version(m, k->cfg.canary);
    if (sl_usable(v->health)) {
        sl_canary_enter(eng, k, SL_CANARY_MONITORING, "monitoring", "engine",
                        "canary version is serving");
    } else if (v->health != SL_HEALTH_LOADING) {
        char why[SL_ID_MAX + 64];
        snprintf(why, sizeof why, "version '%s' is %s", v->version, sl_health_name(v->health));
        sl_canary_enter(eng, k, SL_CANARY_FAILED, "fail", "engine", why);
    }
}

static int sl_canary_act(struct sl_engine *eng, struct sl_canary *k, int verb, int trigger,
                         const char *actor, const char *reason, struct sl_err *err)
{
    int to = k->in_history ? -1 : sl_canary_next(k->status, verb);
    if (to < 0)
        return sl_err_set(err, SL_ESTATE, "canary '%s' is %s: cannot %s", k->cfg.id,
                          sl_canary_status_name(k->status), sl_verb_name(verb));
    if (to == SL_CANARY_DEPLOYING && sl_canary_may_start(eng, k, err))
        return -1;
    if (to == SL_CANARY_ROLLING_BACK)
        k->trigger = trigger;
    bool archive_failed = k->status == SL_CANARY_FAILED && verb == SL_VERB_STOP;
    sl_canary_enter(eng, k, to, sl_verb_name(verb), actor ? actor : "user", reason);
    if (to == SL_CANARY_DEPLOYING)
        sl_canary_advance_deploy(eng, k);
    if (k->status == SL_CANARY_COMPLETED || archive_failed) {
        sl_archive_canary(eng, k);
        sl_history_evict(eng);
    }
    return sl_engine_republish(eng, err);
}

int sl_engine_rollback_canary(struct sl_engine *eng, const char *id, int trigger, const char *actor,
                              const char *reason, struct sl_err *err)
{
    struct sl_canary *k = sl_engine_find_canary(eng, id);
    if (!k)
        return sl_err_set(err, SL_ENOTFOUND, "unknown canary '%s'", id ? id : "");
    if (trigger < SL_TRIGGER_NONE || trigger > SL_TRIGGER_MANUAL)
        return sl_err_set(err, SL_EINVAL, "trigger: unknown value %d", trigger);
    return sl_canary_act(eng, k, SL_VERB_ROLLBACK, trigger, actor, reason, err);
}

int sl_engine_set_canary_traffic(struct sl_engine *eng, const char *id, double pct,
                                 const char *actor, const char *reason, struct sl_err *err)
{
    struct sl_canary *k = sl_engine_find_canary(eng, id);
    if (!k)
        return sl_err_set(err, SL_ENOTFOUND, "unknown canary '%s'", id ? id : "");
    if (!(pct >= 0 && pct <= 100))
        return sl_err_set(err, SL_EINVAL, "traffic: %g is outside [0,100]", pct);
    if (k->status != SL_CANARY_MONITORING || k->in_history)
        return sl_err_set(err, SL_ESTATE, "canary '%s' is %s: cannot set traffic", id,
                          sl_canary_status_name(k->status));
    sl_note(eng, SL_EVENT_ALLOCATION, id, actor ? actor : "user", "set_traffic", "", "", reason,
            pct);
    k->traffic_pct = pct;
    eng->dirty = true;
    return sl_engine_republish(eng, err);
}

int sl_engine_act(struct sl_engine *eng, const char *id, int verb, const char *actor,
                  const char *reason, struct sl_err *err)
{
    if (verb < SL_VERB_START || verb > SL_VERB_FAIL)
        return sl_err_set(err, SL_EINVAL, "unknown verb %d", verb);
    if (sl_check_text(reason, "reason", err))
        return -1;
    struct sl_test *t = sl_engine_find_test(eng, id);
    if (t)
        return sl_test_act(eng, t, verb, actor, reason, err);
    struct sl_canary *k = sl_engine_find_canary(eng, id);
    if (k)
        return sl_canary_act(eng, k, verb, SL_TRIGGER_MANUAL, actor, reason, err);
    return sl_err_set(err, SL_ENOTFOUND, "unknown test or canary '%s'", id ? id : "");
}

/* ---- ticks ------------------------------------------------------------------------------ */

static void sl_cell_roll(struct sl_cell *c, double now)
{
    if (!c)
        return;
    sl_mvar_roll(c->var[0], now);
    sl_mvar_roll(c->var[1], now);
}

static void sl_memo_open(struct sl_engine *eng, const struct sl_cell *cell)
{
    if (!eng->evaluator.evaluate)
        return;
    if (!eng->memo && !(eng->memo = malloc(sizeof *eng->memo)))
        return; /* no memo: every read goes to the shards */
    eng->memo->cell = cell;
    eng->memo->n = 0;
    eng->memo->has_stats = false;
}

static void sl_memo_close(struct sl_engine *eng)
{
    if (eng->memo)
        eng->memo->cell = NULL;
}

static struct sl_memo *sl_memo_for(struct sl_engine *eng, const struct sl_cell *cell)
{
    return eng->memo && eng->memo->cell == cell && cell ? eng->memo : NULL;
}

static void sl_tick_test(struct sl_engine *eng, struct sl_test *t, double now)
{
    sl_cell_roll(t->cell, now);
    if (t->status == SL_TEST_STARTING)
        sl_test_advance_start(eng, t);
    if (t->status != SL_TEST_RUNNING && t->status != SL_TEST_PAUSED)
        return;
    sl_test_account(t);
    sl_analysis_look(&t->analysis, t->cell->var, (int)t->cfg.nsuccess);
    bool ramp_done;
    sl_memo_open(eng, t->cell);
    bool held = sl_judge_test(eng, t, &ramp_done);
    sl_memo_close(eng);
    if (held || ramp_done || t->in_history || t->status != SL_TEST_RUNNING)
        return;
    int step = sl_test_ramp_step(t, sl_test_running_seconds(t, now));
    if (step != t->ramp_step)
        sl_test_apply_step(eng, t, step, "engine");
}

/* Record a health check of the canary version when its interval has passed;
 * an event only when the verdict changes (not every interval). */
static void sl_tick_health(struct sl_engine *eng, struct sl_canary *k, double now)
{
    if (now - k->last_check < k->cfg.health_check_interval_ms / 1000.0 && k->nchecks)
        return;
    const struct sl_model *m = sl_registry_find(&eng->reg, k->cfg.model);
    struct sl_variant_metrics vm;
    sl_mvar_read(k->cell->var[1], now, eng->opts.window_seconds, NULL, true, false, &vm);
    struct sl_health_check c = {.at = now,
                                .health = sl_model_version(m, k->cfg.canary)->health,
                                .error_rate = vm.error_rate};
    c.passed = sl_usable(c.health) &&
               (k->cfg.error_threshold <= 0 || vm.error_rate <= k->cfg.error_threshold);
    bool changed = !k->nchecks || k->checks[k->nchecks - 1].passed != c.passed;
    sl_canary_note_check(k, &c);
    k->last_check = now;
    if (changed)
        sl_note(eng, SL_EVENT_HEALTH, k->cfg.id, "engine", c.passed ? "healthy" : "unhealthy", "",
                "", sl_health_name(c.health), c.error_rate);
}

static void sl_tick_canary(struct sl_engine *eng, struct sl_canary *k, double now)
{
    sl_cell_roll(k->cell, now);
    switch (k->status) {
    case SL_CANARY_DEPLOYING:
        sl_canary_advance_deploy(eng, k);
        break;
    case SL_CANARY_MONITORING:
        sl_tick_health(eng, k, now);
        sl_memo_open(eng, k->cell);
        sl_judge_canary(eng, k);
        sl_memo_close(eng);
        break;
    case SL_CANARY_PROMOTING:
    case SL_CANARY_ROLLING_BACK:
        sl_canary_enter(eng, k, SL_CANARY_COMPLETED, "complete", "engine",
                        k->status == SL_CANARY_PROMOTING ? "traffic moved to the canary"
                                                         : "traffic moved back to stable");
        break;
    default:
        break;
    }
}

/* Policies may finish a test or canary mid-loop (moving it out of the active
 * array), so the tick walks a copy and evicts history only at the end. */
int sl_engine_tick(struct sl_engine *eng, struct sl_err *err)
{
    double now = sl_engine_now(eng);
    size_t nt = eng->ntests, nk = eng->ncanaries;
    void **objs = malloc((nt + nk + 1) * sizeof *objs);
    if (!objs)
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    if (nt)
        memcpy(objs, eng->tests, nt * sizeof *objs);
    if (nk)
        memcpy(objs + nt, eng->canaries, nk * sizeof *objs);
    eng->tick_now = now;
    eng->in_tick = true;
    for (size_t i = 0; i < nt; i++)
        sl_tick_test(eng, objs[i], now);
    for (size_t i = 0; i < nk; i++)
        sl_tick_canary(eng, objs[nt + i], now);
    eng->in_tick = false;
    free(objs);
    /* Finished canaries move to history after the loop (it mutates the array). */
    for (size_t i = eng->ncanaries; i-- > 0;) {
        struct sl_canary *k = eng->canaries[i];
        if (k->status == SL_CANARY_COMPLETED)
            sl_archive_canary(eng, k);
    }
    sl_history_evict(eng);
    if (eng->dirty) /* which also frees the snapshots no reader can see */
        return sl_engine_republish(eng, err);
    sl_router_reclaim(&eng->router);
    return 0;
}

/* ---- hot path ------------------------------------------------------------------------------- */

static int sl_key_len(const char *s, const char *what, size_t *len, struct sl_err *err)
{
    if (!s || !*s)
        return sl_err_set(err, SL_EINVAL, "%s: empty", what);
    *len = strnlen(s, SL_ID_MAX + 1);
    if (*len > SL_ID_MAX)
        return sl_err_set(err, SL_EINVAL, "%s: longer than %d bytes", what, SL_ID_MAX);
    return 0;
}

static void sl_route_fill(const struct sl_rentry *e, int arm, struct sl_route *out)
{
    out->kind = arm < 0 ? SL_KIND_NONE : e->kind;
    out->arm = arm;
    out->model = e->model;
    out->cell = arm < 0 ? NULL : e->cell;
    out->id = arm < 0 ? NULL : e->id;
    out->variant = arm < 0 ? "live" : e->variant[arm];
    out->version = arm < 0 ? e->live : e->version[arm];
}

int sl_engine_route(struct sl_engine *eng, const char *key, const char *unit, struct sl_route *out,
                    struct sl_err *err)
{
    size_t klen, ulen;
    if (sl_key_len(key, "model", &klen, err) || sl_key_len(unit, "unit", &ulen, err))
        return -1;
    int reader;
    const struct sl_snap *snap;
    const struct sl_rentry *e = sl_router_find(&eng->router, key, klen, &reader, &snap);
    int rc = 0;
    if (!e)
        rc = sl_err_set(err, SL_ENOTFOUND, "unknown model, test or canary '%s'", key);
    else if (e->status_block)
        rc = sl_err_set(err, SL_ESTATE, "'%s' is %s: it does not route", key, e->status_name);
    else
        sl_route_fill(e, e->kind == SL_KIND_NONE ? -1 : sl_router_assign(e, unit, ulen), out);
    sl_router_done(&eng->router, reader, snap);
    return rc;
}

static int sl_record_check(const struct sl_cell *c, int arm, double latency_ms,
                           const struct sl_sample *samples, size_t n, struct sl_err *err)
{
    if (arm != 0 && arm != 1)
        return sl_err_set(err, SL_EINVAL, "variant: arm %d is neither 0 nor 1", arm);
    if (!(latency_ms >= 0 && latency_ms <= SL_LATENCY_MAX_MS))
        return sl_err_set(err, SL_EINVAL, "latency_ms: %g is not in [0, %g]", latency_ms,
                          SL_LATENCY_MAX_MS);
    if (n && !samples)
        return sl_err_set(err, SL_EINVAL, "metrics: %zu samples but no array", n);
    for (size_t i = 0; i < n; i++) {
        if (samples[i].metric < 0 || samples[i].metric >= c->nmetrics)
            return sl_err_set(err, SL_EINVAL, "metrics[%zu]: not a declared metric of '%s'", i + 1,
                              c->id);
        if (!isfinite(samples[i].value))
            return sl_err_set(err, SL_EINVAL, "metrics[%zu]: value is not a finite number", i + 1);
    }
    return 0;
}

int sl_engine_record(struct sl_engine *eng, const char *id, int arm, bool ok, double latency_ms,
                     const struct sl_sample *samples, size_t nsamples, struct sl_err *err)
{
    size_t klen;
    if (sl_key_len(id, "test", &klen, err))
        return -1;
    int reader;
    const struct sl_snap *snap;
    const struct sl_rentry *e = sl_router_find(&eng->router, id, klen, &reader, &snap);
    int rc = 0;
    if (!e || e->kind == SL_KIND_NONE || e->key != e->id)
        rc = sl_err_set(err, SL_ENOTFOUND, "unknown test or canary '%s'", id);
    else if (e->status_block)
        rc = sl_err_set(err, SL_ESTATE, "'%s' is %s: it does not record", id, e->status_name);
    else if (sl_record_check(e->cell, arm, latency_ms, samples, nsamples, err) == 0)
        sl_mshard_record(sl_mshard_at(e->cell->shard0[arm], e->cell->stride,
                                      sl_router_shard(reader, eng->router.nprivate)),
                         ok, latency_ms, samples, nsamples);
    else
        rc = -1;
    sl_router_done(&eng->router, reader, snap);
    return rc;
}

int sl_engine_record_route(struct sl_engine *eng, const struct sl_route *r, bool ok,
                           double latency_ms, const struct sl_sample *samples, size_t nsamples,
                           struct sl_err *err)
{
    if (!r || !r->cell)
        return sl_err_set(err, SL_EINVAL, "route: served the live version, nothing to record");
    if (sl_record_check(r->cell, r->arm, latency_ms, samples, nsamples, err))
        return -1;
    /* The cell stays alive until this thread's next route call: no lookup needed. */
    int reader = sl_router_reader(&eng->router);
    sl_mshard_record(sl_mshard_at(r->cell->shard0[r->arm], r->cell->stride,
                                  sl_router_shard(reader, eng->router.nprivate)),
                     ok, latency_ms, samples, nsamples);
    return 0;
}

int sl_engine_metric_index(struct sl_engine *eng, const char *id, const char *metric)
{
    size_t klen;
    if (sl_key_len(id, "test", &klen, NULL))
        return -1;
    int reader;
    const struct sl_snap *snap;
    const struct sl_rentry *e = sl_router_find(&eng->router, id, klen, &reader, &snap);
    int i = e && e->cell ? sl_cell_metric(e->cell, metric) : -1;
    sl_router_done(&eng->router, reader, snap);
    return i;
}

void sl_engine_thread_detach(struct sl_engine *eng)
{
    sl_router_detach(&eng->router);
}

/* ---- reading ----------------------------------------------------------------------------------
 */

static struct sl_mvar *sl_engine_var(const struct sl_engine *eng, const char *id, int arm,
                                     const char *const **names, const struct sl_cell **cell,
                                     struct sl_err *err)
{
    int kind;
    struct sl_cell *c = sl_object_cell(eng, id, &kind);
    if (kind == SL_KIND_NONE) {
        sl_err_set(err, SL_ENOTFOUND, "unknown test or canary '%s'", id ? id : "");
        return NULL;
    }
    if (!c) {
        sl_err_set(err, SL_ESTATE, "'%s' has not started: no metrics yet", id);
        return NULL;
    }
    if (arm != 0 && arm != 1) {
        sl_err_set(err, SL_EINVAL, "arm %d is neither 0 nor 1", arm);
        return NULL;
    }
    if (names)
        *names = c->metric_names;
    if (cell)
        *cell = c;
    return c->var[arm];
}

/* A read of one arm, from the tick's memo when it holds one with what is
 * asked (a read with quantiles serves one without, not the reverse). */
static int sl_engine_read(struct sl_engine *eng, const char *id, int arm, double window_seconds,
                          bool quantiles, struct sl_variant_metrics *out, struct sl_err *err)
{
    const char *const *names;
    const struct sl_cell *cell;
    struct sl_mvar *v = sl_engine_var(eng, id, arm, &names, &cell, err);
    if (!v)
        return -1;
    if (!(window_seconds >= 0) || !isfinite(window_seconds))
        return sl_err_set(err, SL_EINVAL, "window: %g is not a number of seconds >= 0",
                          window_seconds);
    struct sl_memo *mo = sl_memo_for(eng, cell);
    int slot = -1;
    for (int i = 0; mo && i < mo->n; i++)
        if (mo->read[i].arm == arm && mo->read[i].window == window_seconds) {
            if (mo->read[i].quantiles || !quantiles) {
                *out = mo->read[i].m;
                return 0;
            }
            slot = i; /* the same read, now with quantiles */
        }
    /* judging in a tick (mo), which rolled the cell at its own now: no second roll */
    sl_mvar_read(v, sl_engine_now(eng), window_seconds, names, mo != NULL, quantiles, out);
    if (mo && slot < 0 && mo->n < SL_MEMO_READS)
        slot = mo->n++;
    if (mo && slot >= 0) {
        mo->read[slot].arm = arm;
        mo->read[slot].window = window_seconds;
        mo->read[slot].quantiles = quantiles;
        mo->read[slot].m = *out;
    }
    return 0;
}

int sl_engine_metrics(struct sl_engine *eng, const char *id, int arm, double window_seconds,
                      struct sl_variant_metrics *out, struct sl_err *err)
{
    return sl_engine_read(eng, id, arm, window_seconds, true, out, err);
}

int sl_engine_counts(struct sl_engine *eng, const char *id, int arm, double window_seconds,
                     struct sl_variant_metrics *out, struct sl_err *err)
{
    return sl_engine_read(eng, id, arm, window_seconds, false, out, err);
}

int sl_engine_latency_quantile(struct sl_engine *eng, const char *id, int arm,
                               double window_seconds, double q, double *out, struct sl_err *err)
{
    struct sl_mvar *v = sl_engine_var(eng, id, arm, NULL, NULL, err);
    if (!v)
        return -1;
    if (!(q >= 0 && q <= 1))
        return sl_err_set(err, SL_EINVAL, "q: %g is outside [0,1]", q);
    *out = sl_mvar_quantile(v, sl_engine_now(eng), window_seconds, q);
    return 0;
}

int sl_engine_test_stats(struct sl_engine *eng, const char *id, struct sl_test_stats *out,
                         struct sl_err *err)
{
    struct sl_test *t = sl_engine_find_test(eng, id);
    if (!t)
        return sl_err_set(err, SL_ENOTFOUND, "unknown test '%s'", id ? id : "");
    if (!t->cell)
        return sl_err_set(err, SL_ESTATE, "test '%s' has not started: no statistics yet", id);
    struct sl_memo *mo = sl_memo_for(eng, t->cell);
    if (mo && mo->has_stats && mo->stats_status == t->status &&
        mo->stats_treatment == t->treatment_pct && mo->stats_control == t->control_pct) {
        *out = mo->stats;
        return 0;
    }
    if (!t->in_history)
        sl_test_account(t);
    sl_analysis_read(&t->analysis, t->cell->var, (int)t->cfg.nsuccess, t->cfg.success_metrics,
                     t->cfg.alpha, t->cfg.minimum_effect_size, out);
    if (mo) {
        mo->has_stats = true;
        mo->stats_status = t->status;
        mo->stats_treatment = t->treatment_pct;
        mo->stats_control = t->control_pct;
        mo->stats = *out;
    }
    return 0;
}

size_t sl_engine_variant_bytes(const struct sl_engine *eng, const char *id, int arm)
{
    struct sl_mvar *v = sl_engine_var(eng, id, arm, NULL, NULL, NULL);
    return v ? sl_mvar_bytes(v) : 0;
}

static void sl_test_fill(const struct sl_engine *eng, const struct sl_test *t,
                         struct sl_test_info *out)
{
    double now = sl_engine_now(eng);
    *out = (struct sl_test_info){
        .config = &t->cfg,
        .status = t->status,
        .created_at = t->created_at,
        .started_at = t->started_at,
        .ended_at = t->ended_at,
        .running_seconds = sl_test_running_seconds(t, t->ended_at ? t->ended_at : now),
        .treatment_pct = t->treatment_pct,
        .ramp_step = t->ramp_step,
        .alloc_history = t->allocs,
        .nalloc_history = t->nallocs,
        .last_reason = t->last_reason,
        .recommendation = t->recommendation,
        .recommendation_reason = t->recommendation_reason,
        .in_history = t->in_history,
    };
}

int sl_engine_test(const struct sl_engine *eng, const char *id, struct sl_test_info *out,
                   struct sl_err *err)
{
    const struct sl_test *t = sl_engine_find_test(eng, id);
    if (!t)
        return sl_err_set(err, SL_ENOTFOUND, "unknown test '%s'", id ? id : "");
    sl_test_fill(eng, t, out);
    return 0;
}

size_t sl_engine_test_count(const struct sl_engine *eng)
{
    return eng->ntests;
}

int sl_engine_test_at(const struct sl_engine *eng, size_t i, struct sl_test_info *out)
{
    if (i >= eng->ntests)
        return -1;
    sl_test_fill(eng, eng->tests[i], out);
    return 0;
}

static void sl_canary_fill(const struct sl_canary *k, struct sl_canary_info *out)
{
    *out = (struct sl_canary_info){
        .config = &k->cfg,
        .status = k->status,
        .created_at = k->created_at,
        .started_at = k->started_at,
        .ended_at = k->ended_at,
        .traffic_pct = k->traffic_pct,
        .checks = k->checks,
        .nchecks = k->nchecks,
        .rollback_trigger = k->trigger,
        .outcome = k->outcome,
        .last_reason = k->last_reason,
        .in_history = k->in_history,
    };
}

int sl_engine_canary(const struct sl_engine *eng, const char *id, struct sl_canary_info *out,
                     struct sl_err *err)
{
    const struct sl_canary *k = sl_engine_find_canary(eng, id);
    if (!k)
        return sl_err_set(err, SL_ENOTFOUND, "unknown canary '%s'", id ? id : "");
    sl_canary_fill(k, out);
    return 0;
}

size_t sl_engine_canary_count(const struct sl_engine *eng)
{
    return eng->ncanaries;
}

int sl_engine_canary_at(const struct sl_engine *eng, size_t i, struct sl_canary_info *out)
{
    if (i >= eng->ncanaries)
        return -1;
    sl_canary_fill(eng->canaries[i], out);
    return 0;
}
