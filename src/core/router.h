/* router.h - request routing: immutable snapshots read without locks.
 *
 * Provides the routing snapshot (key -> entry, where a key is a model id or a
 * test/canary id), published through one atomic pointer (release) and read
 * with acquire; the four assignment strategies; per-test cells holding what the
 * hot path writes (metrics, sticky memory, round-robin counter); and the
 * reader registry that decides when a retired snapshot or cell can be freed
 * (a reader reports the generation of the snapshot its last call used; an
 * item retired at generation G is freed once every active reader reports >= G).
 * Uses hash.h and metrics.h; knows nothing of lifecycles (the engine builds
 * entries) nor of Lua, I/O or clocks. */
#ifndef SL_ROUTER_H
#define SL_ROUTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bag.h"
#include "metrics.h"
#include "sluice.h"

#define SL_MAX_READERS 256

/* Per test/canary state the hot path writes. Owns copies of its strings so
 * that it outlives the test object until retired. */
struct sl_cell {
    int kind; /* SL_KIND_TEST / SL_KIND_CANARY */
    const char *id;
    int nmetrics;
    const char **metric_names;
    struct sl_mvar *var[2]; /* arm 0 control/stable, arm 1 treatment/canary */
    char *shard0[2];        /* var[arm]->block: the hot path's one hop */
    size_t stride;
    _Atomic uint64_t wrr;     /* weighted round robin position */
    size_t sticky_mask;       /* remembered assignments: (hash | 1) << 1 | arm */
    _Atomic uint64_t *sticky; /* NULL unless routing is sticky */
    struct sl_bag bag;
};

struct sl_override {
    uint64_t hash; /* XXH3 of the unit under the test seed */
    int arm;
};

/* An immutable routing entry. Strings point into engine-owned objects that
 * live at least as long as the snapshot (model strings forever, cell strings
 * until the cell is retired). */
struct sl_rentry {
    const char *key;
    size_t keylen;
    uint64_t keyhash;
    int kind;         /* enum sl_kind; NONE: serve the live version */
    int status_block; /* non-routable test/canary: its status + 1, else 0 */
    const char *status_name;
    const char *id, *model, *live;
    const char *version[2];
    const char *variant[2];
    uint64_t t_thr, tc_thr; /* point < t_thr: arm 1; < tc_thr: arm 0; else live */
    int routing;
    bool paused; /* a paused test: everyone to control, overrides included */
    uint64_t seed;
    struct sl_cell *cell;
    const struct sl_override *ov; /* sorted by hash */
    size_t nov;
};

struct sl_snap {
    uint64_t gen;
    size_t mask;
    struct sl_rentry **slots;
    size_t n;
    struct sl_rentry *entries;
    struct sl_override *ov; /* all overrides, entries point into it */
};

/* One per reader thread, 64 bytes apart: each thread stores its own `seen`
 * on every call, and two threads must not write one cache line (measured:
 * 47 ns per route on two threads sharing a line, 24 ns apart). */
struct sl_reader {
    _Atomic uint64_t seen; /* gen of the snapshot the last completed call used */
    _Atomic int active;
    char pad[64 - sizeof(uint64_t) - sizeof(int)];
};

struct sl_retired {
    uint64_t gen;
    void (*fn)(void *);
    void *p;
    struct sl_retired *next;
};

struct sl_router {
    _Atomic(struct sl_snap *) snap;
    uint64_t gen; /* writer: last published generation */
    uint64_t uid; /* engine identity for thread-local caches */
    int nprivate; /* private shards */
    struct sl_reader readers[SL_MAX_READERS];
    _Atomic int nreaders;
    _Atomic int untracked; /* a thread beyond SL_MAX_READERS routed: never reclaim */
    struct sl_retired *retired;
    struct sl_router *next_live; /* the list of live routers (router.c) */
};

int sl_router_init(struct sl_router *r, int nprivate);
void sl_router_destroy(struct sl_router *r);

/* Writer: build a snapshot from n entries (copied; keys must be unique) and
 * overrides (copied), publish it, retire the previous one. */
int sl_router_publish(struct sl_router *r, const struct sl_rentry *entries, size_t n,
                      struct sl_err *err);
/* Writer: free p with fn once no reader can hold it: once every active reader
 * has used a snapshot newer than the current one (publish one after this). */
int sl_router_retire(struct sl_router *r, void (*fn)(void *), void *p);
/* Writer: free what no reader can still see. Returns how many were freed. */
size_t sl_router_reclaim(struct sl_router *r);

/* [any thread] Find the entry for key in the current snapshot; sets *reader
 * (this thread's reader slot, -1 if untracked) and *snap for sl_router_done. */
const struct sl_rentry *sl_router_find(struct sl_router *r, const char *key, size_t keylen,
                                       int *reader, const struct sl_snap **snap);
/* [any thread] This thread's reader slot (claimed on first use), -1 if untracked. */
int sl_router_reader(struct sl_router *r);
/* [any thread] Report the end of a call that used snap. */
void sl_router_done(struct sl_router *r, int reader, const struct sl_snap *snap);
/* [any thread] The shard this thread records into. */
int sl_router_shard(int reader, int nprivate);
/* [any thread] Choose an arm for unit under entry e: 1, 0, or -1 (live). */
int sl_router_assign(const struct sl_rentry *e, const char *unit, size_t unitlen);
void sl_router_detach(struct sl_router *r);

/* Cells. */
struct sl_cell *sl_cell_new(int kind, const char *id, const char *const *metrics, int nmetrics,
                            int nprivate, int nslots, double width, double now,
                            size_t sticky_capacity);
void sl_cell_delete(void *cell);
int sl_cell_metric(const struct sl_cell *c, const char *name);

#endif
