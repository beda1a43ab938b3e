#include "router.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "hash.h"

#define ACQ memory_order_acquire
#define REL memory_order_release
#define RLX memory_order_relaxed

static _Atomic uint64_t sl_router_uids = 1;

/* ---- thread-local reader slots ---------------------------------------------- */

struct sl_tls_slot {
    uint64_t uid;
    int reader;
};
#define SL_TLS_SLOTS 8
static _Thread_local struct sl_tls_slot sl_tls[SL_TLS_SLOTS];
static _Thread_local unsigned sl_tls_next;
static _Thread_local uint64_t sl_tls_rng;

/* A slot a detached thread left, or -1. Its stale `seen` is harmless: the
 * new reader only ever uses the current snapshot, which is never retired. */
static int sl_router_reuse(struct sl_router *r)
{
    int n = atomic_load(&r->nreaders);
    for (int i = 0; i < n && i < SL_MAX_READERS; i++) {
        int inactive = 0;
        if (atomic_compare_exchange_strong(&r->readers[i].active, &inactive, 1))
            return i;
    }
    return -1;
}

/* A never-used slot, or -1 (untracked) once all SL_MAX_READERS are taken.
 * The slot is taken with the same compare-and-swap as reuse, so a thread
 * scanning for reusable slots cannot take it between the two steps. */
static int sl_router_fresh(struct sl_router *r)
{
    for (;;) {
        int idx = atomic_fetch_add(&r->nreaders, 1);
        if (idx >= SL_MAX_READERS) {
            atomic_store(&r->untracked, 1);
            return -1;
        }
        int inactive = 0;
        if (atomic_compare_exchange_strong(&r->readers[idx].active, &inactive, 1))
            return idx;
    }
}

/* Live routers, so that a thread evicting one from its cache can release its
 * reader slot there (if that engine still exists): otherwise the stale slot
 * would hold reclamation back for good. Only touched on claims and
 * evictions, which are rare, so a mutex is fine. */
static pthread_mutex_t sl_routers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sl_router *sl_routers;

static void sl_router_release(uint64_t uid, int reader)
{
    pthread_mutex_lock(&sl_routers_lock);
    for (struct sl_router *r = sl_routers; r && reader >= 0; r = r->next_live)
        if (r->uid == uid) {
            atomic_store_explicit(&r->readers[reader].active, 0, REL);
            break;
        }
    pthread_mutex_unlock(&sl_routers_lock);
}

static int sl_router_claim(struct sl_router *r)
{
    int idx = sl_router_reuse(r);
    if (idx < 0)
        idx = sl_router_fresh(r);
    /* Pairs with the fence in sl_router_reclaim: either the writer sees this
     * reader active, or this reader loads a snapshot published after it. */
    atomic_thread_fence(memory_order_seq_cst);
    struct sl_tls_slot *slot = &sl_tls[sl_tls_next++ % SL_TLS_SLOTS];
    if (slot->uid) /* evicted: this thread is done with that engine's slot */
        sl_router_release(slot->uid, slot->reader);
    slot->uid = r->uid;
    slot->reader = idx;
    return idx;
}

int sl_router_reader(struct sl_router *r)
{
    for (int i = 0; i < SL_TLS_SLOTS; i++)
        if (sl_tls[i].uid == r->uid)
            return sl_tls[i].reader;
    return sl_router_claim(r);
}

int sl_router_shard(int reader, int nprivate)
{
    return reader >= 0 && reader < nprivate ? reader : nprivate;
}

void sl_router_detach(struct sl_router *r)
{
    for (int i = 0; i < SL_TLS_SLOTS; i++) {
        if (sl_tls[i].uid != r->uid)
            continue;
        if (sl_tls[i].reader >= 0)
            atomic_store_explicit(&r->readers[sl_tls[i].reader].active, 0, REL);
        sl_tls[i].uid = 0;
    }
}

/* ---- snapshots ----------------------------------------------------------------- */

static void sl_snap_free(void *p)
{
    struct sl_snap *s = p;
    if (!s)
        return;
    free(s->slots);
    free(s->entries);
    free(s->ov);
    free(s);
}

static struct sl_snap *sl_snap_build(const struct sl_rentry *entries, size_t n)
{
    size_t size = 8, nov = 0;
    while (size < 2 * n)
        size *= 2;
    for (size_t i = 0; i < n; i++)
        nov += entries[i].nov;
    struct sl_snap *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->mask = size - 1;
    s->n = n;
    s->slots = calloc(size, sizeof *s->slots);
    s->entries = calloc(n ? n : 1, sizeof *s->entries);
    s->ov = calloc(nov ? nov : 1, sizeof *s->ov);
    if (!s->slots || !s->entries || !s->ov) {
        sl_snap_free(s);
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        struct sl_rentry *e = &s->entries[i];
        *e = entries[i];
        e->keylen = strlen(e->key);
        e->keyhash = XXH3_64bits(e->key, e->keylen);
        if (e->nov)
            memcpy(&s->ov[o], entries[i].ov, e->nov * sizeof *s->ov);
        e->ov = &s->ov[o];
        o += e->nov;
        size_t j = e->keyhash & s->mask;
        while (s->slots[j])
            j = (j + 1) & s->mask;
        s->slots[j] = e;
    }
    return s;
}

int sl_router_init(struct sl_router *r, int nprivate)
{
    memset(r, 0, sizeof *r);
    r->uid = atomic_fetch_add(&sl_router_uids, 1);
    r->nprivate = nprivate;
    struct sl_snap *s = sl_snap_build(NULL, 0);
    if (!s)
        return -1;
    s->gen = r->gen = 1;
    atomic_store_explicit(&r->snap, s, REL);
    pthread_mutex_lock(&sl_routers_lock); /* only a fully built router is listed */
    r->next_live = sl_routers;
    sl_routers = r;
    pthread_mutex_unlock(&sl_routers_lock);
    return 0;
}

void sl_router_destroy(struct sl_router *r)
{
    pthread_mutex_lock(&sl_routers_lock);
    for (struct sl_router **pp = &sl_routers; *pp; pp = &(*pp)->next_live)
        if (*pp == r) {
            *pp = r->next_live;
            break;
        }
    pthread_mutex_unlock(&sl_routers_lock);
    sl_snap_free(atomic_load_explicit(&r->snap, ACQ));
    while (r->retired) {
        struct sl_retired *it = r->retired;
        r->retired = it->next;
        it->fn(it->p);
        free(it);
    }
}

int sl_router_retire(struct sl_router *r, void (*fn)(void *), void *p)
{
    struct sl_retired *it = malloc(sizeof *it);
    if (!it)
        return -1;
    it->gen = r->gen + 1; /* the current snapshot may still point at it */
    it->fn = fn;
    it->p = p;
    it->next = r->retired;
    r->retired = it;
    return 0;
}

int sl_router_publish(struct sl_router *r, const struct sl_rentry *entries, size_t n,
                      struct sl_err *err)
{
    struct sl_snap *s = sl_snap_build(entries, n);
    struct sl_retired *it = malloc(sizeof *it);
    if (!s || !it) {
        sl_snap_free(s);
        free(it);
        return sl_err_set(err, SL_ENOMEM, "out of memory building the routing snapshot");
    }
    s->gen = ++r->gen;
    struct sl_snap *old = atomic_exchange_explicit(&r->snap, s, memory_order_acq_rel);
    *it = (struct sl_retired){.gen = r->gen, .fn = sl_snap_free, .p = old, .next = r->retired};
    r->retired = it;
    return 0;
}

size_t sl_router_reclaim(struct sl_router *r)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load(&r->untracked))
        return 0;
    uint64_t min = UINT64_MAX;
    int nr = atomic_load(&r->nreaders);
    for (int i = 0; i < nr && i < SL_MAX_READERS; i++)
        if (atomic_load(&r->readers[i].active)) {
            uint64_t seen = atomic_load_explicit(&r->readers[i].seen, ACQ);
            if (seen < min)
                min = seen;
        }
    size_t freed = 0;
    for (struct sl_retired **pp = &r->retired; *pp;) {
        struct sl_retired *it = *pp;
        if (it->gen > min) {
            pp = &it->next;
            continue;
        }
        *pp = it->next;
        it->fn(it->p);
        free(it);
        freed++;
    }
    return freed;
}

const struct sl_rentry *sl_router_find(struct sl_router *r, const char *key, size_t keylen,
                                       int *reader, const struct sl_snap **snap)
{
    *reader = sl_router_reader(r);
    const struct sl_snap *s = atomic_load_explicit(&r->snap, ACQ);
    *snap = s;
    uint64_t h = XXH3_64bits(key, keylen);
    for (size_t i = h & s->mask;; i = (i + 1) & s->mask) {
        const struct sl_rentry *e = s->slots[i];
        if (!e)
            return NULL;
        if (e->keyhash == h && e->keylen == keylen && memcmp(e->key, key, keylen) == 0)
            return e;
    }
}

void sl_router_done(struct sl_router *r, int reader, const struct sl_snap *snap)
{
    /* Store only when it changes: the line then stays shared with the writer
     * that reads it at ticks, instead of bouncing on every call. */
    if (reader >= 0 && atomic_load_explicit(&r->readers[reader].seen, RLX) != snap->gen)
        atomic_store_explicit(&r->readers[reader].seen, snap->gen, REL);
}

/* ---- strategies ------------------------------------------------------------------ */

static int sl_arm_of(const struct sl_rentry *e, uint64_t point)
{
    return point < e->t_thr ? 1 : point < e->tc_thr ? 0 : -1;
}

static uint64_t sl_random_point(void)
{
    if (!sl_tls_rng) { /* seed from the thread's own address: distinct per thread */
        uintptr_t a = (uintptr_t)&sl_tls_rng;
        sl_tls_rng = XXH3_64bits(&a, sizeof a) | 1;
    }
    sl_tls_rng ^= sl_tls_rng >> 12; /* xorshift64* */
    sl_tls_rng ^= sl_tls_rng << 25;
    sl_tls_rng ^= sl_tls_rng >> 27;
    return (sl_tls_rng * 0x2545F4914F6CDD1DULL) >> 11;
}

static int sl_override_find(const struct sl_rentry *e, uint64_t h)
{
    size_t lo = 0, hi = e->nov;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->ov[mid].hash == h)
            return e->ov[mid].arm;
        if (e->ov[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -2;
}

/* Remembered assignment for h, inserting arm if absent. Slots hold
 * (h with the low two bits replaced by arm << 1 | occupied). */
static int sl_sticky_remember(struct sl_cell *c, uint64_t h, int arm, bool insert)
{
    uint64_t mine = (h & ~(uint64_t)3) | ((uint64_t)arm << 1) | 1;
    size_t i = h & c->sticky_mask;
    for (int probe = 0; probe < 16; probe++, i = (i + 1) & c->sticky_mask) {
        uint64_t v = atomic_load_explicit(&c->sticky[i], RLX);
        if (v == 0 && !insert)
            return arm;
        if (v == 0 && atomic_compare_exchange_strong_explicit(&c->sticky[i], &v, mine, RLX, RLX))
            return arm;
        if ((v >> 2) == (h >> 2))
            return (int)((v >> 1) & 1);
    }
    return arm; /* neighbourhood full: fall back to the hash assignment */
}

/* Overrides first (docs/routing.md), then the remembered first assignment,
 * else the hash. A paused test sends everyone to control. At 0% or 100% only
 * existing memories are honoured: remembering everyone's one-sided arm there
 * would pin them for every later ramp. */
static int sl_sticky_assign(const struct sl_rentry *e, const char *unit, size_t len)
{
    uint64_t h = XXH3_64bits_withSeed(unit, len, e->seed);
    int arm = sl_arm_of(e, h >> 11);
    if (e->paused)
        return arm;
    int ov = sl_override_find(e, h);
    if (ov >= -1)
        return ov;
    if (!e->cell->sticky || arm < 0)
        return arm;
    bool one_sided = e->t_thr == 0 || e->t_thr == SL_HASH_ONE;
    return sl_sticky_remember(e->cell, h, arm, !one_sided);
}

int sl_router_assign(const struct sl_rentry *e, const char *unit, size_t unitlen)
{
    switch (e->routing) {
    case SL_ROUTING_RANDOM:
        return sl_arm_of(e, sl_random_point());
    case SL_ROUTING_WRR: {
        /* Golden-ratio sequence: request k goes to frac(k * phi), so any run of
         * consecutive requests splits within O(log n) of the exact shares. */
        uint64_t k = atomic_fetch_add_explicit(&e->cell->wrr, 1, RLX);
        return sl_arm_of(e, (k * 0x9E3779B97F4A7C15ULL) >> 11);
    }
    case SL_ROUTING_STICKY:
        return sl_sticky_assign(e, unit, unitlen);
    default:
        return sl_arm_of(e, sl_hash_point(e->seed, unit, unitlen));
    }
}

/* ---- cells ------------------------------------------------------------------------ */

struct sl_cell *sl_cell_new(int kind, const char *id, const char *const *metrics, int nmetrics,
                            int nprivate, int nslots, double width, double now,
                            size_t sticky_capacity)
{
    struct sl_cell *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    int failed = 0;
    c->kind = kind;
    c->nmetrics = nmetrics;
    c->id = sl_bag_strdup(&c->bag, id, &failed);
    c->metric_names = sl_bag_strv(&c->bag, metrics, (size_t)nmetrics, &failed);
    for (int a = 0; a < 2; a++)
        if (!(c->var[a] = sl_mvar_new(nprivate, nmetrics, nslots, width, now)))
            failed = 1;
        else
            c->shard0[a] = c->var[a]->block;
    c->stride = c->var[0] ? c->var[0]->stride : 0;
    if (sticky_capacity) {
        size_t cap = 16;
        while (cap < sticky_capacity)
            cap *= 2;
        c->sticky_mask = cap - 1;
        if (!(c->sticky = calloc(cap, sizeof *c->sticky)))
            failed = 1;
    }
    if (failed) {
        sl_cell_delete(c);
        return NULL;
    }
    return c;
}

void sl_cell_delete(void *p)
{
    struct sl_cell *c = p;
    if (!c)
        return;
    sl_mvar_delete(c->var[0]);
    sl_mvar_delete(c->var[1]);
    free(c->sticky);
    sl_bag_free(&c->bag);
    free(c);
}

int sl_cell_metric(const struct sl_cell *c, const char *name)
{
    for (int i = 0; name && i < c->nmetrics; i++)
        if (strcmp(c->metric_names[i], name) == 0)
            return i;
    return -1;
}
